"""``fastconc bench --distributed N``: hashing and compressing a real file
set on a dask.distributed LocalCluster (loopback) at 1 and N workers.

The file set is this machine's files (stdlib sources and binaries, cut into
files of 1-8 MiB), written to a temporary directory.  Each cluster size is
measured best of ``repeat`` after one warm-up; clusters cannot be
interleaved, so compare the two rows of one run, not across runs.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from typing import Any

from .corpus import build_corpus

MiB = 1 << 20


def _write_files(root: str, size: int) -> list[str]:
    data, _ = build_corpus(size)
    paths = []
    pos, k = 0, 0
    while pos < len(data):
        n = (1 + k % 8) * MiB
        path = os.path.join(root, f"file{k:04d}.dat")
        with open(path, "wb") as f:
            f.write(data[pos:pos + n])
        paths.append(path)
        pos += n
        k += 1
    return paths


def _best(fn: Any, repeat: int) -> float:
    fn()                                    # warm-up: workers import, pools
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure(n_workers: int, size: int, repeat: int) -> dict[str, Any]:
    import distributed

    from .. import distributed as fcd

    root = tempfile.mkdtemp(prefix="fastconc-bench-dist-")
    rows = []
    try:
        paths = _write_files(root, size)
        total = sum(os.path.getsize(p) for p in paths)
        for workers in sorted({1, n_workers}):
            with distributed.LocalCluster(
                    n_workers=workers, processes=True, threads_per_worker=1,
                    host="127.0.0.1", dashboard_address=None,
                    silence_logs=40) as lc, distributed.Client(lc) as client:
                def hash_all() -> None:
                    fcd.hash_files("sha256", paths, client=client,
                                   batch_bytes=32 * MiB)

                def compress_all() -> None:
                    outs = fcd.compress_files(paths, "zstd", 3,
                                              client=client,
                                              batch_bytes=32 * MiB)
                    for o in outs:
                        os.unlink(o)

                rows.append({"workers": workers,
                             "hash_seconds": _best(hash_all, repeat),
                             "compress_seconds": _best(compress_all, repeat)})
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {"bytes": total, "files": len(paths), "rows": rows,
            "worker_threads": "each worker uses fastconc's own pool "
                              f"({os.cpu_count()} native threads)"}


def markdown(res: dict[str, Any]) -> str:
    total = res["bytes"]
    lines = ["| workers | sha256 hash_files | zstd-3 compress_files |",
             "|---:|---:|---:|"]
    base = res["rows"][0]
    for r in res["rows"]:
        h = total / r["hash_seconds"] / 1e6
        c = total / r["compress_seconds"] / 1e6
        lines.append(
            f"| {r['workers']} | {h:,.0f} MB/s "
            f"({base['hash_seconds'] / r['hash_seconds']:.2f}x) | "
            f"{c:,.0f} MB/s "
            f"({base['compress_seconds'] / r['compress_seconds']:.2f}x) |")
    return "\n".join(lines)
