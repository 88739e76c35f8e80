"""Benchmark kernels for BENCH.md items 7 (executor overhead) and 8 (the
countdown experiment).

Each function measures its contenders interleaved (A B C A B C ...) and
returns a dict of raw samples in seconds plus derived ns/item and ratios;
the bench command formats them.  ``python -m fastconc.bench.kernels_executor
[--quick]`` prints both as Markdown.
"""
from __future__ import annotations

import concurrent.futures as cf
import ctypes
import multiprocessing
import statistics
import sys
import threading
import time
from typing import Any, Callable, Dict, List

import fastconc
from fastconc.bench.timing import rotated


def _identity(x: Any) -> Any:
    return x


def _count(n: int) -> None:
    while n > 0:
        n -= 1


def _interleave(contenders: Dict[str, Callable[[], float]],
                repeat: int) -> Dict[str, List[float]]:
    samples: Dict[str, List[float]] = {k: [] for k in contenders}
    for name in rotated(list(contenders), repeat):
        samples[name].append(contenders[name]())
    return samples


def _summary(samples: Dict[str, List[float]], per: int) -> Dict[str, Any]:
    out = {}
    for name, s in samples.items():
        out[name] = {
            "samples_s": s,
            "min_s": min(s),
            "median_s": statistics.median(s),
            "ns_per_item_min": min(s) / per * 1e9,
            "ns_per_item_median": statistics.median(s) / per * 1e9,
        }
    return out


def executor_overhead(n: int = 100_000, repeat: int = 5, threads: int = 2,
                      roundtrips: int = 5_000,
                      processes: bool = True) -> Dict[str, Any]:
    """ns per item of mapping a trivial function over n items: a plain loop,
    the stdlib ThreadPoolExecutor.map, fastconc.ThreadPoolExecutor.map,
    fastconc.parallel_map, multiprocessing.Pool.map; and the submit().result()
    round trip of both executors."""
    data = list(range(n))
    fn = _identity
    std = cf.ThreadPoolExecutor(threads)
    ours = fastconc.ThreadPoolExecutor(threads)
    pool = multiprocessing.Pool(threads) if processes else None

    def timed(run: Callable[[], object]) -> Callable[[], float]:
        def go() -> float:
            t = time.perf_counter()
            run()
            return time.perf_counter() - t
        return go

    def drain(it: Any) -> None:
        for _ in it:
            pass

    contenders = {
        "plain loop": timed(lambda: drain(map(fn, data))),
        "stdlib ThreadPoolExecutor.map": timed(lambda: drain(
            std.map(fn, data))),
        "fastconc ThreadPoolExecutor.map": timed(lambda: drain(
            ours.map(fn, data))),
        "fastconc.parallel_map": timed(lambda: drain(
            fastconc.parallel_map(fn, data, threads=threads))),
    }
    if pool is not None:
        contenders["multiprocessing Pool.map"] = timed(
            lambda: pool.map(fn, data, chunksize=max(1, n // (threads * 4))))

    def rt(ex: cf.Executor) -> Callable[[], float]:
        def go() -> float:
            t = time.perf_counter()
            for i in range(roundtrips):
                ex.submit(abs, i).result()
            return time.perf_counter() - t
        return go

    try:
        for ex in (std, ours):      # start the workers
            ex.submit(abs, 0).result()
        drain(std.map(fn, range(100)))
        drain(ours.map(fn, range(100)))
        map_samples = _interleave(contenders, repeat)
        rt_samples = _interleave({"stdlib submit().result()": rt(std),
                                  "fastconc submit().result()": rt(ours)},
                                 repeat)
    finally:
        std.shutdown()
        ours.shutdown()
        if pool is not None:
            pool.close()
            pool.join()
    maps = _summary(map_samples, n)
    rts = _summary(rt_samples, roundtrips)
    std_map = maps["stdlib ThreadPoolExecutor.map"]["min_s"]
    return {
        "n": n,
        "threads": threads,
        "map": maps,
        "roundtrip": rts,
        "ratios": {
            "ThreadPoolExecutor.map vs stdlib":
                std_map / maps["fastconc ThreadPoolExecutor.map"]["min_s"],
            "parallel_map vs stdlib ThreadPoolExecutor.map":
                std_map / maps["fastconc.parallel_map"]["min_s"],
            "submit().result() vs stdlib":
                rts["stdlib submit().result()"]["min_s"]
                / rts["fastconc submit().result()"]["min_s"],
        },
    }


def countdown_kernel() -> Any:
    """The countdown as a native int64(int64) kernel: exported by _core (a
    register loop behind an empty asm barrier; a compiler, numba's
    included, would fold a plain countdown loop to nothing)."""
    addr = fastconc._core._countdown_kernel_address()
    return ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(addr)


def countdown(n: int = 50_000_000, repeat: int = 3,
              threads: int = 2) -> Dict[str, Any]:
    """BENCH.md item 8: count(n) in pure Python sequentially, in `threads`
    threads (n/threads each), in `threads` processes; then the same work as
    a native kernel through map_array at 1 and `threads` threads."""
    import numpy as np

    share = n // threads
    kernel = countdown_kernel()
    work = np.full(threads, share, dtype=np.int64)
    pool = multiprocessing.Pool(threads)

    def seq() -> float:
        t = time.perf_counter()
        _count(n)
        return time.perf_counter() - t

    def thr() -> float:
        ts = [threading.Thread(target=_count, args=(share,))
              for _ in range(threads)]
        t = time.perf_counter()
        for th in ts:
            th.start()
        for th in ts:
            th.join()
        return time.perf_counter() - t

    def procs() -> float:
        t = time.perf_counter()
        pool.map(_count, [share] * threads, chunksize=1)
        return time.perf_counter() - t

    def native(nthreads: int) -> Callable[[], float]:
        def go() -> float:
            t = time.perf_counter()
            fastconc.map_array(kernel, work, threads=nthreads)
            return time.perf_counter() - t
        return go

    try:
        pool.map(_count, [1] * threads)     # start the processes
        samples = _interleave({
            "python sequential": seq,
            f"python {threads} threads": thr,
            f"python {threads} processes": procs,
            "native map_array 1 thread": native(1),
            f"native map_array {threads} threads": native(threads),
        }, repeat)
    finally:
        pool.close()
        pool.join()
    res = _summary(samples, n)
    m = {k: v["min_s"] for k, v in res.items()}
    return {
        "n": n,
        "threads": threads,
        "kernel": "fastconc._core countdown (register loop)",
        "results": res,
        "speedups": {
            f"python {threads} threads vs sequential":
                m["python sequential"] / m[f"python {threads} threads"],
            f"python {threads} processes vs sequential":
                m["python sequential"] / m[f"python {threads} processes"],
            f"native {threads} threads vs 1 thread":
                m["native map_array 1 thread"]
                / m[f"native map_array {threads} threads"],
            "native 1 thread vs python sequential":
                m["python sequential"] / m["native map_array 1 thread"],
        },
    }


def _print_table(title: str, rows: Dict[str, Dict[str, Any]]) -> None:
    print(f"\n### {title}\n")
    print("| contender | ns/item (min) | ns/item (median) |")
    print("|---|---:|---:|")
    for name, r in rows.items():
        print(f"| {name} | {r['ns_per_item_min']:.1f} | "
              f"{r['ns_per_item_median']:.1f} |")


def main(argv: List[str] = sys.argv[1:]) -> int:
    quick = "--quick" in argv
    ov = executor_overhead(repeat=3 if quick else 5)
    _print_table(f"Executor overhead, map of a trivial function over "
                 f"{ov['n']} items", ov["map"])
    _print_table("submit(...).result() round trip", ov["roundtrip"])
    for k, v in ov["ratios"].items():
        print(f"- {k}: {v:.1f}x")
    cd = countdown(n=10_000_000 if quick else 50_000_000,
                   repeat=3)
    _print_table(f"Countdown, n = {cd['n']:,}", cd["results"])
    for k, v in cd["speedups"].items():
        print(f"- {k}: {v:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
