"""One large buffer: a single call on the whole buffer.

fastconc runs with ``threads=1`` and with ``threads=N`` (its own pool
splits the buffer and merges the results), next to each installed peer
(and the peers' own threaded modes: pgzip, zstandard's workers, blake3's
``max_threads``).  The memory read bandwidth of the machine is measured in
the same run (a numpy sum at 1 and N threads): on a large buffer a fast
checksum is limited by memory, not by the CPU, so its share of that
bandwidth is printed.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .kernels import Kernel
from .timing import Samples, interleaved, run_threads, time_once

MiB = 1 << 20


def memory_bandwidth(size: int, nthreads: int, repeat: int,
                     tick: Callable[[], None] | None = None
                     ) -> dict[str, Any] | None:
    """Bytes/s of a numpy float64 sum over ``size`` bytes, 1 and N threads."""
    try:
        import numpy as np
    except ImportError:
        return None
    arr = np.full(size // 8, 1.0)
    parts = np.array_split(arr, nthreads)

    def one() -> object:
        return arr.sum()

    def many() -> float:
        return run_threads([p.sum for p in parts])

    interleaved({"1": one}, 1)  # warm the pages
    # cheap (milliseconds), so many more repeats than the kernels: the
    # bandwidth is the denominator of every share printed
    samples = {"1": Samples()}
    threaded: list[float] = []
    for _ in range(4 * repeat):
        samples["1"].times.append(time_once(one))
        threaded.append(many())
        if tick is not None:
            tick()
    best1 = samples["1"].best
    bestn = min(threaded)
    return {"bytes": arr.nbytes, "threads": nthreads,
            "samples_1": samples["1"].as_json(),
            "samples_n": {"min": bestn, "samples": threaded},
            "bandwidth_1": arr.nbytes / best1,
            "bandwidth_n": arr.nbytes / bestn}


def measure(k: Kernel, data: Any, nbytes: int, nthreads: int, repeat: int,
            tick: Callable[[], None] | None = None,
            skipped: list[dict[str, str]] | None = None,
            raw: bytes | None = None) -> list[dict[str, Any]]:
    """``data`` is the kernel's input; ``raw`` the uncompressed data that a
    decompression kernel's input was made from."""
    contenders: dict[str, Callable[[], object]] = {}
    meta: dict[str, tuple[str, str, int]] = {}
    if k.fc is not None:
        fc = k.fc
        contenders["fastconc, threads=1"] = functools.partial(fc, data, None, 1)
        meta["fastconc, threads=1"] = ("fastconc", "fastconc", 1)
        if k.fc_threads and nthreads > 1:
            name = f"fastconc, threads={nthreads}"
            contenders[name] = functools.partial(fc, data, None, nthreads)
            meta[name] = ("fastconc", "fastconc", nthreads)
        if (k.prepare_parallel is not None and raw is not None
                and nthreads > 1):
            # input written by fastconc with N threads: its parallel layout
            name = f"fastconc, threads={nthreads}, parallel layout"
            try:
                pdata = k.prepare_parallel(raw, nthreads)
                contenders[name] = functools.partial(fc, pdata, None, nthreads)
                meta[name] = ("fastconc", "fastconc", nthreads)
            except Exception as exc:  # noqa: BLE001 - reported as skipped
                if skipped is not None:
                    skipped.append({"kernel": k.name, "impl": name, "reason":
                                    f"failed: {type(exc).__name__}: {exc}"})
    for p in k.peers:
        if p.fn is not None:
            contenders[p.label] = functools.partial(p.fn, data)
            meta[p.label] = (p.label, p.package, 1)
        if p.threads_fn is not None and nthreads > 1:
            name = f"{p.label.split(' (')[0]}, threads={nthreads}"
            contenders[name] = functools.partial(p.threads_fn, data, nthreads)
            meta[name] = (p.label, p.package, nthreads)
    for name in list(contenders):
        try:  # also warms up: first-touch of pages, lazy tables, pools
            contenders[name]()
        except Exception as exc:  # noqa: BLE001 - reported as skipped
            del contenders[name]
            if skipped is not None:
                skipped.append({"kernel": k.name, "impl": name, "reason":
                                f"failed: {type(exc).__name__}: {exc}"})
    if not contenders:
        return []
    res = interleaved(contenders, repeat, tick)
    rows = []
    for name, s in res.items():
        _, pkg, thr = meta[name]
        rows.append({"kernel": k.name, "family": k.family, "impl": name,
                     "package": pkg, "threads": thr, "bytes": nbytes,
                     "timing": s.as_json(), "throughput": nbytes / s.best})
    return rows
