"""fastconc.submit(): one of fastconc's heavy calls on the native pool,
with a ``concurrent.futures.Future`` for its result and no Python thread
behind it.

The call is prepared on the calling thread (arguments parsed, buffers
pinned), its C work runs on the pool's native threads, and the pool thread
that finishes it attaches once to complete the Future (see
``src/async/job.h``).  Functions with a native job form (crc32, crc32c,
adler32, map_array) never take the GIL on the pool; the others run their
synchronous form on a pool thread, which releases the GIL around its work.

Cancelling
----------
The stdlib's ``Future.cancel()`` gives up on a running call.  The Future
returned here goes further: ``cancel()`` on a running call stops its C work
at the next chunk boundary (milliseconds), then moves the Future to the
cancelled state and returns True.  ``cancel()`` waits for that stop, so
that once it returns the CPU work has ended and every buffer the call held
is released; it returns False only when the call had already finished.
Waiters of ``concurrent.futures.wait()`` and ``as_completed()`` are told
when the Future is cancelled, as for a pending stdlib future.  The Future
is RUNNING from ``submit()`` on (``running()`` is True until it is done).

Done-callbacks run on the pool thread that completed the call, as the
stdlib executor runs them on its worker thread.
"""
from __future__ import annotations

import concurrent.futures
from concurrent.futures import _base
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from . import _core
from ._hashfiles import hash_files
from ._pmap import _map_array_args, map_array

if TYPE_CHECKING:
    from typing_extensions import ParamSpec

    _P = ParamSpec("_P")

__all__ = ["submit"]

_T = TypeVar("_T")

# The functions submit() accepts (the public objects).
_ACCEPTED: dict[object, str] = {
    fn: name for name, fn in [
        ("digest", _core.digest),
        ("hash_many", _core.hash_many),
        ("hash_file", _core.hash_file),
        ("hash_files", hash_files),
        ("crc32", _core.crc32),
        ("crc32c", _core.crc32c),
        ("adler32", _core.adler32),
        ("compress", _core.compress),
        ("decompress", _core.decompress),
        ("compress_into", _core.compress_into),
        ("decompress_into", _core.decompress_into),
        ("compress_many", _core.compress_many),
        ("decompress_many", _core.decompress_many),
        ("blake3", _core.blake3),
        ("map_array", map_array),
    ]
}
_ACCEPTED_NAMES = ", ".join(sorted(_ACCEPTED.values()))


class _Future(concurrent.futures.Future[_T]):
    """A Future whose cancel() also stops a running call (see the module
    docstring)."""

    def __init__(self) -> None:
        super().__init__()
        # Running from the start: the call is on the pool at once.
        self._state = _base.RUNNING
        self._fc_job: Any = None

    def cancel(self) -> bool:
        with self._condition:
            if self._state == _base.FINISHED:
                return False
            if self._state in (_base.CANCELLED, _base.CANCELLED_AND_NOTIFIED):
                return True
            job = self._fc_job
            if job is not None and not job.cancel():
                # Running: the pool thread that ends it completes this
                # Future (_fc_stopped, or set_result if it had finished).
                while self._state == _base.RUNNING:
                    self._condition.wait()
                return self._state != _base.FINISHED
            # Withdrawn before any of its work started.
            self._notify_cancelled()
        # (typeshed does not declare this private method of Future)
        self._invoke_callbacks()  # type: ignore[attr-defined]
        return True

    def _notify_cancelled(self) -> None:
        # (self._condition held)
        self._state = _base.CANCELLED_AND_NOTIFIED
        for waiter in self._waiters:
            waiter.add_cancelled(self)
        self._condition.notify_all()

    def _fc_stopped(self) -> None:
        """Called by the pool thread (GIL held) when a cancelled call's
        work has stopped."""
        with self._condition:
            self._notify_cancelled()
        self._invoke_callbacks()  # type: ignore[attr-defined]


def submit(func: Callable[_P, _T], /, *args: _P.args,
           **kwargs: _P.kwargs) -> concurrent.futures.Future[_T]:
    """Run ``func(*args, **kwargs)`` on fastconc's native pool and return a
    ``concurrent.futures.Future`` for its result.

    func must be one of fastconc's heavy functions: digest, hash_many,
    hash_file, hash_files, crc32, crc32c, adler32, compress, decompress,
    compress_into, decompress_into, compress_many, decompress_many, blake3
    (the constructor, which hashes its data) or map_array; anything else
    raises TypeError.  Bad arguments raise through the Future, with the
    exception the direct call raises.
    No Python thread is created.  ``cancel()`` stops a running call (see
    the module docstring).
    """
    if func not in _ACCEPTED:
        raise TypeError(f"fastconc.submit() runs fastconc's own heavy "
                        f"functions ({_ACCEPTED_NAMES}), not "
                        f"{getattr(func, '__qualname__', type(func).__name__)!r}")
    fut: _Future[_T] = _Future()
    try:
        if func is map_array:
            prepare: Any = _map_array_args    # (map_array's signature)
            call_args = prepare(*args, **kwargs)
            target: Any = _core._map_array
            kwargs = {}  # type: ignore[assignment]
        else:
            call_args, target = args, func
        # Under the Future's lock, so that a cancel() from another thread
        # always finds the job.
        with fut._condition:
            fut._fc_job = _core._submit(fut, target, *call_args, **kwargs)
    except Exception as exc:
        fut.set_exception(exc)
    return fut
