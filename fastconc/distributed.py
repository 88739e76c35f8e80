"""Hash and compress file sets across a dask.distributed cluster.

Files are grouped into batches of about ``batch_bytes`` bytes; each batch is
one dask task that runs one fastconc call on a worker (which uses its own
native threads), so the scheduler sees few, large tasks.  Results come back
in input order.  If a worker dies, dask runs its batches again elsewhere;
each result is taken once, from the task that finished.

One argument convention for every function, as the command line behaves:

- what to do first, as the local function has it (``hash_files(name,
  paths)``, ``compress_files(paths, codec, level)``), everything else by
  keyword: ``client=`` (default: dask's current client,
  ``distributed.default_client()``), ``batch_bytes=``, ``progress=``;
- an output is never overwritten: an existing one raises FileExistsError
  before any work is sent (and a file that appears meanwhile is not
  replaced either), unless ``force=True``;
- the inputs are kept, unless ``remove=True``: then each input is removed
  once its output was completely written (as ``fastconc compress``
  without ``-k``);
- outputs are written to a temporary name and renamed, so no partial
  output is left behind.

Needs the ``distributed`` extra: ``pip install 'fastconc[distributed]'``.
"""
from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable, Sequence
from typing import Any

try:
    import distributed
except ImportError as exc:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        "fastconc.distributed needs dask.distributed; install it with "
        "pip install 'fastconc[distributed]'") from exc

from . import _core

__all__ = ["compress_files", "decompress_files", "hash_files"]

DEFAULT_BATCH_BYTES = 256 << 20
# Codec -> the suffix written, from the codec table in C.
SUFFIXES = {codec: suffixes[0]
            for codec, suffixes in _core._codec_suffixes().items()}


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0    # the worker reports the error, naming the file


def _batches(paths: Sequence[str], batch_bytes: int) -> list[list[int]]:
    """Indices of consecutive paths, grouped up to batch_bytes each."""
    batches: list[list[int]] = []
    current: list[int] = []
    size = 0
    for i, p in enumerate(paths):
        n = _size(p)
        if current and size + n > batch_bytes:
            batches.append(current)
            current, size = [], 0
        current.append(i)
        size += n
    if current:
        batches.append(current)
    return batches


def _worker_name() -> str:
    try:
        return str(distributed.get_worker().address)
    except ValueError:
        return "local"


def _reraise_naming_worker(exc: OSError) -> OSError:
    return type(exc)(exc.errno, f"{exc.strerror} (on dask worker "
                     f"{_worker_name()})", exc.filename)


def _hash_batch(name: str, paths: list[str]) -> list[bytes]:
    import fastconc

    try:
        return list(fastconc.hash_files(name, paths))
    except OSError as exc:
        raise _reraise_naming_worker(exc) from None


def _exists_error(dst: str) -> FileExistsError:
    return FileExistsError(errno.EEXIST, "output file exists (pass "
                           "force=True to overwrite it)", dst)


def _publish(tmp: str, dst: str, force: bool) -> None:
    """Rename the finished tmp to dst; without force, never replace a dst
    that exists (even one that appeared since the check before the run)."""
    if force:
        os.replace(tmp, dst)
        return
    try:
        os.link(tmp, dst)       # fails if dst exists, atomically
    except FileExistsError:
        raise _exists_error(dst) from None
    except OSError:
        # No hard links here: claim the name first, then replace our claim.
        try:
            os.close(os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                             0o600))
        except FileExistsError:
            raise _exists_error(dst) from None
        os.replace(tmp, dst)
        return
    os.unlink(tmp)


def _copy_stream(fin: Any, fout: Any) -> None:
    while True:
        block = fin.read(16 << 20)
        if not block:
            break
        fout.write(block)


def _compress_one(src: str, dst: str, codec: str, level: int | None,
                  force: bool, remove: bool) -> str:
    import fastconc

    tmp = f"{dst}.tmp-{os.getpid()}"
    try:
        with open(src, "rb") as fin, fastconc.open(tmp, "wb", codec=codec,
                                                   level=level) as fout:
            _copy_stream(fin, fout)
        _publish(tmp, dst, force)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if remove:
        os.unlink(src)
    return dst


def _decompress_one(src: str, dst: str, codec: str | None, force: bool,
                    remove: bool) -> str:
    import fastconc

    tmp = f"{dst}.tmp-{os.getpid()}"
    try:
        with fastconc.open(src, "rb", codec=codec) as fin, \
                open(tmp, "wb") as fout:
            _copy_stream(fin, fout)
        _publish(tmp, dst, force)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if remove:
        os.unlink(src)
    return dst


def _file_batch(fn: Callable[..., str], jobs: list[tuple[Any, ...]]
                ) -> list[str]:
    # One stream per file, the files of the batch spread over this worker's
    # native threads (a stream of a few MiB is one zstd frame or gzip
    # member: one core).  Reads, writes and compression release the GIL.
    import fastconc

    def run(job: tuple[Any, ...]) -> str:
        try:
            return fn(*job)
        except OSError as exc:
            raise _reraise_naming_worker(exc) from None

    return list(fastconc.parallel_map(run, jobs, threads=fastconc.get_threads(),
                                      chunksize=1))


def _client(client: distributed.Client | None) -> distributed.Client:
    if client is None:
        current: distributed.Client = distributed.default_client()
        return current          # (ValueError when there is none)
    return client


def _check_outputs(jobs: Sequence[tuple[Any, ...]], force: bool) -> None:
    """Before any work: outputs (jobs' second field) are distinct from each
    other and from the inputs, and new unless force."""
    seen: dict[str, str] = {}
    inputs = {os.path.abspath(j[0]) for j in jobs}
    for src, dst, *_ in jobs:
        key = os.path.abspath(dst)
        if key in seen:
            raise ValueError(f"{seen[key]} and {src} would both be written "
                             f"to {dst}")
        if key in inputs:
            raise ValueError(f"{dst} is both an input and an output")
        seen[key] = src
        if not force and os.path.lexists(dst):
            raise _exists_error(dst)


def _run(client: distributed.Client, paths: Sequence[str], batch_bytes: int,
         progress: bool,
         submit: Callable[[list[int]], distributed.Future[list[Any]]]
         ) -> list[Any]:
    if isinstance(batch_bytes, bool) or not isinstance(batch_bytes, int):
        raise TypeError("batch_bytes must be an int")
    if batch_bytes < 1:
        raise ValueError("batch_bytes must be >= 1")
    batches = _batches(paths, batch_bytes)
    futures = [submit(b) for b in batches]
    index = {f.key: b for f, b in zip(futures, batches)}
    results: list[Any] = [None] * len(paths)
    bar = _progress_bar(progress, sum(_size(p) for p in paths))
    try:
        for fut in distributed.as_completed(futures):
            batch = index[fut.key]
            values = fut.result()     # re-raises the worker's exception
            for i, v in zip(batch, values):
                results[i] = v
            if bar is not None:
                bar.update(sum(_size(paths[i]) for i in batch))
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        if bar is not None:
            bar.close()
    return results


def _progress_bar(progress: bool, total: int) -> Any:
    if not progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, disable=None)


def _check_codec(codec: str | None, allow_none: bool) -> None:
    if codec is None and allow_none:
        return
    if not isinstance(codec, str):
        what = "a str or None" if allow_none else "a str"
        raise TypeError(f"codec must be {what}, not "
                        f"{type(codec).__name__!r}")
    if "\0" in codec:
        raise ValueError("codec name contains an embedded null character")
    if codec not in SUFFIXES:
        raise ValueError(f"unknown codec {codec!r}; available: "
                         f"{', '.join(sorted(SUFFIXES))}")


def hash_files(name: str, paths: Iterable[str | os.PathLike[str]], *,
               client: distributed.Client | None = None,
               batch_bytes: int = DEFAULT_BATCH_BYTES,
               progress: bool = False) -> list[bytes]:
    """Digest of each file, computed on the cluster, in input order.

    client: the dask client (None: the current one).  A missing or
    unreadable file raises the OSError of the worker that met it, naming
    the file and the worker.
    """
    import fastconc

    if name not in fastconc.algorithms_available:
        raise ValueError(f"unknown algorithm {name!r}; available: "
                         f"{', '.join(sorted(fastconc.algorithms_available))}")
    names = [os.fspath(p) for p in paths]
    c = _client(client)
    return _run(c, names, batch_bytes, progress,
                lambda b: c.submit(_hash_batch, name,
                                   [names[i] for i in b], pure=False))


def compress_files(paths: Iterable[str | os.PathLike[str]],
                   codec: str = "zstd", level: int | None = None, *,
                   client: distributed.Client | None = None,
                   suffix: str | None = None, force: bool = False,
                   remove: bool = False,
                   batch_bytes: int = DEFAULT_BATCH_BYTES,
                   progress: bool = False) -> list[str]:
    """Compress each file to ``path + suffix`` (the codec's usual suffix by
    default) on the cluster; returns the output paths in input order.

    client: the dask client (None: the current one).  An existing output
    raises FileExistsError before any work, unless force=True; the inputs
    are kept unless remove=True (each removed once its output is
    complete).
    """
    _check_codec(codec, allow_none=False)
    suffix = SUFFIXES[codec] if suffix is None else suffix
    if not suffix:
        raise ValueError("suffix must not be empty: the output would "
                         "replace its input")
    names = [os.fspath(p) for p in paths]
    jobs = [(p, p + suffix, codec, level, force, remove) for p in names]
    _check_outputs(jobs, force)
    c = _client(client)
    return _run(c, names, batch_bytes, progress,
                lambda b: c.submit(_file_batch, _compress_one,
                                   [jobs[i] for i in b], pure=False))


def decompress_files(paths: Iterable[str | os.PathLike[str]],
                     codec: str | None = None, *,
                     client: distributed.Client | None = None,
                     suffix: str | None = None, force: bool = False,
                     remove: bool = False,
                     batch_bytes: int = DEFAULT_BATCH_BYTES,
                     progress: bool = False) -> list[str]:
    """Decompress each file on the cluster to its name without the suffix
    (``suffix``, or any codec's usual one); returns the output paths in
    input order.

    codec: None detects each file's codec from its first bytes.  client,
    force, remove: as for compress_files().
    """
    _check_codec(codec, allow_none=True)
    names = [os.fspath(p) for p in paths]
    jobs = []
    known = [suffix] if suffix else list(SUFFIXES.values())
    for p in names:
        ext = next((s for s in known if p.endswith(s) and len(p) > len(s)),
                   None)
        if ext is None:
            raise ValueError(f"{p}: no known suffix to strip "
                             f"({', '.join(known)})")
        jobs.append((p, p[: -len(ext)], codec, force, remove))
    _check_outputs(jobs, force)
    c = _client(client)
    return _run(c, names, batch_bytes, progress,
                lambda b: c.submit(_file_batch, _decompress_one,
                                   [jobs[i] for i in b], pure=False))
