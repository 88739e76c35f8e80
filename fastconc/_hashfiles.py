"""hash_files(): many files hashed in parallel, on the native pool, on any
``concurrent.futures.Executor``, with an optional progress bar.

The C function ``_core.hash_files`` reads and hashes a list of files on the
pool with the GIL released.  This wrapper adds what needs Python: sending
batches of paths to an executor (each batch is one ``_core.hash_files``
call with ``threads=1`` on the worker) and a progress bar on a terminal.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor
from typing import Any, Literal, Union, overload

from . import _core

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

# Paths per call when sending work to an executor or updating a progress
# bar: enough to amortise a task's overhead, few enough to balance.
BATCH = 64


def _batches(paths: list[PathLike], size: int) -> Iterator[list[PathLike]]:
    for i in range(0, len(paths), size):
        yield paths[i:i + size]


class _Progress:
    """A progress bar on stderr when it is a terminal and tqdm or rich is
    installed; otherwise nothing."""

    def __init__(self, total: int, enabled: bool) -> None:
        self._bar: Any = None
        self._rich: Any = None
        if not enabled or not sys.stderr.isatty():
            return
        try:
            from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]
            self._bar = tqdm(total=total, unit="file", leave=False)
            return
        except ImportError:
            pass
        try:
            from rich.progress import Progress
            self._rich = Progress(transient=True)
            self._rich.start()
            self._bar = self._rich.add_task("hashing", total=total)
        except ImportError:
            self._bar = None

    def advance(self, n: int) -> None:
        if self._bar is None:
            return
        if self._rich is not None:
            self._rich.advance(self._bar, n)
        else:
            self._bar.update(n)

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
        elif self._bar is not None:
            self._bar.close()


@overload
def hash_files(name: str, paths: Iterable[PathLike], *,
               threads: int | None = None, executor: Executor | None = None,
               progress: bool = False, seed: int | None = None,
               errors: Literal["raise"] = "raise") -> list[bytes]: ...


@overload
def hash_files(name: str, paths: Iterable[PathLike], *,
               threads: int | None = None, executor: Executor | None = None,
               progress: bool = False, seed: int | None = None,
               errors: Literal["return"]) -> list[bytes | Exception]: ...


def hash_files(name: str, paths: Iterable[PathLike], *,
               threads: int | None = None, executor: Executor | None = None,
               progress: bool = False, seed: int | None = None,
               errors: Literal["raise", "return"] = "raise",
               ) -> list[bytes] | list[bytes | Exception]:
    """Return the digests of the files at ``paths`` (a list of bytes, in
    order).

    The files are read and hashed in parallel on fastconc's pool with the
    GIL released, or, with ``executor=``, in batches of paths on any
    ``concurrent.futures.Executor`` (each batch one native call on the
    worker).  ``errors="raise"`` (the default): a missing or unreadable
    file raises the usual ``OSError`` naming it.  ``errors="return"``: its
    exception object takes its place in the list and every other file is
    still hashed (a file that vanished from a live tree does not lose the
    whole manifest).  ``progress=True`` shows a progress bar when stderr
    is a terminal and tqdm or rich is installed.
    """
    if isinstance(paths, (str, bytes)):
        raise TypeError("paths must be an iterable of paths, not a single "
                        "path")
    if errors not in ("raise", "return"):
        raise ValueError(f"errors must be 'raise' or 'return', not "
                         f"{errors!r}")
    paths = list(paths)
    extra: dict[str, Any] = {"errors": errors}
    if seed is not None:
        extra["seed"] = seed
    if executor is None and not progress:
        return _core.hash_files(name, paths, threads=threads, **extra)
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError("executor must be a concurrent.futures.Executor, "
                        f"not {type(executor).__name__!r}")
    # Check the name and seed now rather than in every batch.
    _core.digest(name, b"", seed=seed)
    bar = _Progress(len(paths), progress)
    out: list[Any] = []
    try:
        if executor is None:
            for batch in _batches(paths, BATCH * max(1, _core.get_threads())):
                out += _core.hash_files(name, batch, threads=threads, **extra)
                bar.advance(len(batch))
            return out
        one_batch: Any = _core.hash_files
        futures = [executor.submit(one_batch, name, batch, threads=1, **extra)
                   for batch in _batches(paths, BATCH)]
        try:
            for fut in futures:
                digests = fut.result()
                out += digests
                bar.advance(len(digests))
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
        return out
    finally:
        bar.close()
