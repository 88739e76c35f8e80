"""fastconc.aio: fastconc's heavy functions as coroutines.

``await fastconc.aio.compress(data, "zstd")`` returns what
``fastconc.compress(data, "zstd")`` returns, and raises what it raises, but
the work runs on fastconc's native pool while the event loop goes on: no
Python thread per call and no executor.  Works under ``asyncio.run``,
uvloop, ``asyncio.gather`` and ``asyncio.TaskGroup``.

How: the call is prepared on the loop's thread (arguments parsed, buffers
pinned), posted to the pool, and its result comes back through the loop's
own wake-up: pool threads queue finished calls without the GIL and write
once to an eventfd the loop watches (``loop.add_reader``) when the queue
was empty; the loop thread then completes every queued call in one
callback (see ``src/async/waker.c``).  crc32, crc32c, adler32, digest and
map_array run without the GIL from start to end; the others run their
synchronous form on a pool thread, which takes the GIL to start and end
the call.

The functions are plain functions returning an awaitable call object
(``inspect.iscoroutinefunction`` says True on 3.12+, and
``asyncio.iscoroutinefunction`` on every version).  It is a coroutine to
asyncio (``create_task``, ``TaskGroup``, ``asyncio.run``, ``wait_for``).
Made inside a running loop, the call starts at once (as
``loop.run_in_executor`` does) and is also an asyncio future, so
``asyncio.gather`` and ``ensure_future`` take it with no Task per call
(on 3.9 and 3.10, whose ``ensure_future`` tests for a coroutine first,
gather still wraps it in a Task).  Made with no running loop (e.g.
``asyncio.run(aio.crc32(b"x"))``), it starts when first awaited.  Bad
arguments raise at the await (or through gather), as a coroutine's would.

Cancelling the task that awaits a call (``task.cancel()``, a timeout, a
TaskGroup failing) stops the call's C work at its next chunk boundary; the
task raises ``CancelledError`` once that work has stopped and the call's
buffers are released.
"""
from __future__ import annotations

import asyncio
import collections.abc
import inspect
import os
import weakref
from typing import TYPE_CHECKING, Any, Coroutine, Iterable, Optional, TypeVar, Union, overload

from . import _core
from ._hashfiles import PathLike
from ._hashfiles import hash_files as _hash_files
from ._pmap import _map_array_args

if TYPE_CHECKING:
    from typing_extensions import Buffer

    _B = TypeVar("_B", bound=Buffer)

__all__ = [
    "adler32",
    "blake3",
    "compress",
    "compress_into",
    "compress_many",
    "crc32",
    "crc32c",
    "decompress",
    "decompress_into",
    "decompress_many",
    "digest",
    "hash_file",
    "hash_files",
    "hash_many",
    "map_array",
]

_StrOrBytesPath = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
_ZstdDictArg = Union["_core.ZstdDict", "Buffer", None]

# One waker per event loop; the waker holds its loop weakly.
_wakers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                   _core._LoopWaker] = weakref.WeakKeyDictionary()
# Private: wake the loop with call_soon_threadsafe instead of an eventfd
# (what a loop without add_reader gets; the benchmark compares both).
_USE_FD = True

if hasattr(os, "register_at_fork"):
    # A forked child gets new wakers (and new loops: asyncio loops do not
    # survive fork).
    os.register_at_fork(after_in_child=_wakers.clear)


def _waker_for(loop: asyncio.AbstractEventLoop) -> _core._LoopWaker:
    """The waker of loop, made (and registered with the loop) on first
    use.  Called by _core._aio_call when the running loop is not the one
    it saw last."""
    waker = _wakers.get(loop)
    if waker is not None:
        return waker
    waker = _core._LoopWaker(loop, use_fd=_USE_FD)
    if _USE_FD:
        try:
            loop.add_reader(waker.fileno(), waker._drain)
        except NotImplementedError:     # e.g. the Windows proactor loop
            waker = _core._LoopWaker(loop, use_fd=False)
    _wakers[loop] = waker
    return waker


_core._aio_setup(asyncio.events._get_running_loop, _waker_for,
                 asyncio.CancelledError)
# A call returns a _core._Job: asyncio takes it as a coroutine (create_task,
# TaskGroup, asyncio.run, wait_for, await), and once started (made in a
# running loop) also as a future, so that gather() and ensure_future() use
# it as it is, with no Task per call.
collections.abc.Coroutine.register(_core._Job)


def _seed(seed: Optional[int]) -> dict[str, int]:
    # The hash functions refuse seed=None for names without a seed: pass
    # it only when given.
    return {} if seed is None else {"seed": seed}


# --- checksums and map_array (native jobs: no GIL on the pool) --------------

def crc32(data: Buffer, value: int = 0, *, threads: Optional[int] = None,
          release_gil: Optional[bool] = None) -> Coroutine[Any, Any, int]:
    """``fastconc.crc32`` as a coroutine (release_gil is accepted and has no
    effect: the work never holds the GIL)."""
    return _core._aio_call(_core.crc32, data, value,
                           threads=threads,
                           release_gil=release_gil)


def crc32c(data: Buffer, value: int = 0, *, threads: Optional[int] = None,
           release_gil: Optional[bool] = None) -> Coroutine[Any, Any, int]:
    """``fastconc.crc32c`` as a coroutine."""
    return _core._aio_call(_core.crc32c, data, value,
                           threads=threads,
                           release_gil=release_gil)


def adler32(data: Buffer, value: int = 1, *,
            threads: Optional[int] = None,
            release_gil: Optional[bool] = None) -> Coroutine[Any, Any, int]:
    """``fastconc.adler32`` as a coroutine."""
    return _core._aio_call(_core.adler32, data, value,
                           threads=threads,
                           release_gil=release_gil)


def map_array(kernel: Any, array: Any, *, out: Any = None,
              threads: Optional[int] = None) -> Coroutine[Any, Any, Any]:
    """``fastconc.map_array`` as a coroutine: returns out (a new array when
    None)."""
    args = _map_array_args(kernel, array, out=out, threads=threads)
    return _core._aio_call(_core._map_array, *args)


# --- hashing -------------------------------------------------------------------

def digest(name: str, data: Buffer, *, seed: Optional[int] = None,
           release_gil: Optional[bool] = None) -> Coroutine[Any, Any, bytes]:
    """``fastconc.digest`` as a coroutine."""
    return _core._aio_call(
        _core.digest, name, data, release_gil=release_gil, **_seed(seed))


@overload
def hash_many(name: str, items: Iterable[Buffer], *,
              threads: Optional[int] = None, seed: Optional[int] = None,
              out: None = None) -> Coroutine[Any, Any, list[bytes]]: ...
@overload
def hash_many(name: str, items: Iterable[Buffer], *,
              threads: Optional[int] = None, seed: Optional[int] = None,
              out: _B) -> Coroutine[Any, Any, _B]: ...


def hash_many(name: str, items: Iterable[Buffer], *,
              threads: Optional[int] = None, seed: Optional[int] = None,
              out: Optional[Buffer] = None) -> Coroutine[Any, Any, Any]:
    """``fastconc.hash_many`` as a coroutine (with out=: out, filled)."""
    extra: dict[str, Any] = {} if out is None else {"out": out}
    return _core._aio_call(_core.hash_many, name, items,
                           threads=threads, **_seed(seed), **extra)


def hash_file(name: str, path: _StrOrBytesPath, *,
              threads: Optional[int] = None,
              seed: Optional[int] = None) -> Coroutine[Any, Any, bytes]:
    """``fastconc.hash_file`` as a coroutine."""
    return _core._aio_call(
        _core.hash_file, name, path, threads=threads, **_seed(seed))


def hash_files(name: str, paths: Iterable[PathLike], *,
               threads: Optional[int] = None,
               seed: Optional[int] = None,
               errors: str = "raise") -> Coroutine[Any, Any, list[Any]]:
    """``fastconc.hash_files`` as a coroutine (without executor= and
    progress=: the files are hashed on the pool).  With errors="return"
    a failed file's exception stands in its place."""
    return _core._aio_call(
        _hash_files, name, paths, threads=threads, errors=errors,
        **_seed(seed))


def blake3(data: Buffer = b"", *, key: Optional[Buffer] = None,
           derive_key_context: Union[str, Buffer, None] = None,
           threads: Optional[int] = None,
           release_gil: Optional[bool] = None,
           usedforsecurity: bool = True,
           max_threads: Optional[int] = None) -> Coroutine[Any, Any, _core.blake3]:
    """``fastconc.blake3(data, ...)`` as a coroutine: the hasher, with data
    hashed (``(await aio.blake3(data)).digest()``)."""
    return _core._aio_call(
        _core.blake3, data, key=key,
        derive_key_context=derive_key_context, threads=threads,
        release_gil=release_gil, usedforsecurity=usedforsecurity,
        max_threads=max_threads)


# --- compression ---------------------------------------------------------------

def compress(data: Buffer, codec: str = "zstd",
             level: Optional[int] = None, *,
             threads: Optional[int] = None,
             release_gil: Optional[bool] = None,
             zstd_dict: _ZstdDictArg = None) -> Coroutine[Any, Any, bytes]:
    """``fastconc.compress`` as a coroutine."""
    return _core._aio_call(
        _core.compress, data, codec, level, threads=threads,
        release_gil=release_gil, zstd_dict=zstd_dict)


def decompress(data: Buffer, codec: Optional[str] = None, *,
               threads: Optional[int] = None,
               max_output_size: Optional[int] = None,
               release_gil: Optional[bool] = None,
               zstd_dict: _ZstdDictArg = None) -> Coroutine[Any, Any, bytes]:
    """``fastconc.decompress`` as a coroutine."""
    return _core._aio_call(
        _core.decompress, data, codec, threads=threads,
        max_output_size=max_output_size, release_gil=release_gil,
        zstd_dict=zstd_dict)


def compress_into(data: Buffer, out: Buffer, codec: str = "zstd",
                  level: Optional[int] = None, *,
                  threads: Optional[int] = None,
                  release_gil: Optional[bool] = None,
                  zstd_dict: _ZstdDictArg = None) -> Coroutine[Any, Any, int]:
    """``fastconc.compress_into`` as a coroutine."""
    return _core._aio_call(
        _core.compress_into, data, out, codec, level, threads=threads,
        release_gil=release_gil, zstd_dict=zstd_dict)


def decompress_into(data: Buffer, out: Buffer,
                    codec: Optional[str] = None, *,
                    threads: Optional[int] = None,
                    release_gil: Optional[bool] = None,
                    zstd_dict: _ZstdDictArg = None) -> Coroutine[Any, Any, int]:
    """``fastconc.decompress_into`` as a coroutine (what a cancelled call
    wrote into out is unspecified, never past its end)."""
    return _core._aio_call(
        _core.decompress_into, data, out, codec, threads=threads,
        release_gil=release_gil, zstd_dict=zstd_dict)


def compress_many(items: Iterable[Buffer], codec: str = "zstd",
                  level: Optional[int] = None, *,
                  threads: Optional[int] = None,
                  release_gil: Optional[bool] = None,
                  zstd_dict: _ZstdDictArg = None) -> Coroutine[Any, Any, list[bytes]]:
    """``fastconc.compress_many`` as a coroutine."""
    return _core._aio_call(
        _core.compress_many, items, codec, level, threads=threads,
        release_gil=release_gil, zstd_dict=zstd_dict)


def decompress_many(items: Iterable[Buffer], codec: Optional[str] = None,
                    *, threads: Optional[int] = None,
                    max_output_size: Optional[int] = None,
                    release_gil: Optional[bool] = None,
                    zstd_dict: _ZstdDictArg = None) -> Coroutine[Any, Any, list[bytes]]:
    """``fastconc.decompress_many`` as a coroutine."""
    return _core._aio_call(
        _core.decompress_many, items, codec, threads=threads,
        max_output_size=max_output_size, release_gil=release_gil,
        zstd_dict=zstd_dict)


def _mark_coroutine_functions() -> None:
    # The functions are plain defs returning an awaitable: mark them, so that
    # inspect.iscoroutinefunction (3.12+) and asyncio.iscoroutinefunction
    # (every version) still say True.
    marker = getattr(asyncio.coroutines, "_is_coroutine", None)
    for name in __all__:
        fn = globals()[name]
        if hasattr(inspect, "markcoroutinefunction"):
            inspect.markcoroutinefunction(fn)
        if marker is not None:
            setattr(fn, "_is_coroutine", marker)  # noqa: B010


_mark_coroutine_functions()
