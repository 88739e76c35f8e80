"""Hash and compress file sets across a dask.distributed cluster.

Files are grouped into batches of about ``batch_bytes`` bytes; each batch is
one dask task that runs one fastconc call on a worker (which uses its own
native threads), so the scheduler sees few, large tasks.  Results come back
in input order.  If a worker dies, dask runs its batches again elsewhere;
each result is taken once, from the task that finished.

Needs the ``distributed`` extra: ``pip install 'fastconc[distributed]'``.
"""
from __future__ import annotations

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


def _compress_one(src: str, dst: str, codec: str, level: int | None) -> str:
    import fastconc

    tmp = f"{dst}.tmp-{os.getpid()}"
    try:
        with open(src, "rb") as fin, fastconc.open(tmp, "wb", codec=codec,
                                                   level=level) as fout:
            while True:
                block = fin.read(16 << 20)
                if not block:
                    break
                fout.write(block)
        os.replace(tmp, dst)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return dst


def _decompress_one(src: str, dst: str, codec: str | None) -> str:
    import fastconc

    tmp = f"{dst}.tmp-{os.getpid()}"
    try:
        with fastconc.open(src, "rb", codec=codec) as fin, \
                open(tmp, "wb") as fout:
            while True:
                block = fin.read(16 << 20)
                if not block:
                    break
                fout.write(block)
        os.replace(tmp, dst)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
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


def _run(client: distributed.Client, paths: Sequence[str], batch_bytes: int,
         progress: bool,
         submit: Callable[[list[int]], distributed.Future[list[Any]]]
         ) -> list[Any]:
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


def hash_files(name: str, paths: Iterable[str | os.PathLike[str]],
               client: distributed.Client, *,
               batch_bytes: int = DEFAULT_BATCH_BYTES,
               progress: bool = False) -> list[bytes]:
    """Digest of each file, computed on the cluster, in input order.

    A missing or unreadable file raises the OSError of the worker that met
    it, naming the file and the worker.
    """
    import fastconc

    if name not in fastconc.algorithms_available:
        raise ValueError(f"unknown algorithm {name!r}; available: "
                         f"{', '.join(sorted(fastconc.algorithms_available))}")
    names = [os.fspath(p) for p in paths]
    return _run(client, names, batch_bytes, progress,
                lambda b: client.submit(_hash_batch, name,
                                        [names[i] for i in b], pure=False))


def compress_files(paths: Iterable[str | os.PathLike[str]], codec: str,
                   level: int | None, client: distributed.Client,
                   suffix: str | None = None, *,
                   batch_bytes: int = DEFAULT_BATCH_BYTES,
                   progress: bool = False) -> list[str]:
    """Compress each file to ``path + suffix`` on the cluster (written to a
    temporary name and renamed, so no partial output is left).  Returns the
    output paths in input order."""
    if codec not in SUFFIXES:
        raise ValueError(f"unknown codec {codec!r}; available: "
                         f"{', '.join(sorted(SUFFIXES))}")
    suffix = SUFFIXES[codec] if suffix is None else suffix
    names = [os.fspath(p) for p in paths]
    jobs = [(p, p + suffix, codec, level) for p in names]
    return _run(client, names, batch_bytes, progress,
                lambda b: client.submit(_file_batch, _compress_one,
                                        [jobs[i] for i in b], pure=False))


def decompress_files(paths: Iterable[str | os.PathLike[str]],
                     client: distributed.Client, codec: str | None = None,
                     suffix: str | None = None, *,
                     batch_bytes: int = DEFAULT_BATCH_BYTES,
                     progress: bool = False) -> list[str]:
    """Decompress each file on the cluster to its name without the suffix
    (``suffix``, or the codec's usual one).  Returns the output paths."""
    names = [os.fspath(p) for p in paths]
    jobs = []
    known = [suffix] if suffix else list(SUFFIXES.values())
    for p in names:
        ext = next((s for s in known if p.endswith(s) and len(p) > len(s)),
                   None)
        if ext is None:
            raise ValueError(f"{p}: no known suffix to strip "
                             f"({', '.join(known)})")
        jobs.append((p, p[: -len(ext)], codec))
    return _run(client, names, batch_bytes, progress,
                lambda b: client.submit(_file_batch, _decompress_one,
                                        [jobs[i] for i in b], pure=False))
