"""The four figures of issue 25 ("Done means"), on one machine, in one run
(not a pytest file; benchmarks/bench_async.py runs it in --quick mode as
a correctness check):

    python3 benchmarks/ratio_async.py [--n 10000] [--rounds 5]
                                      [--skip gather,lag,into,hash_many]

1. N awaited calls on 4 KiB items under ``asyncio.gather`` (crc32c, a
   native job; sha256 through ``fastconc.digest``), best of ``--rounds``,
   interleaved:

   - ``aio``: ``gather(*(fastconc.aio.crc32c(d) for d in items))``; a
     call made in a running loop is started and is an asyncio future, so
     gather takes it with no Task (on 3.11+; 3.9 and 3.10 wrap it in one);
   - ``aio in tasks``: each call awaited in its own coroutine (one Task
     per call, as ``executor in tasks``);
   - ``aio call-soon``: the same with the loop woken by
     ``call_soon_threadsafe`` instead of the eventfd;
   - ``executor``: ``gather(*(loop.run_in_executor(ex, f, d) ...))`` with
     the stdlib ``ThreadPoolExecutor(2)``;
   - ``executor in tasks``: each ``run_in_executor`` awaited in its own
     coroutine, so that both sides pay for one Task per call (``gather``
     wraps a coroutine in a Task, but takes a future as it is);
   - ``to_thread``: ``asyncio.to_thread(f, d)``.

2. Event-loop lag: the worst wake-up delay of a task sleeping 1 ms in a
   loop while two compress calls of about 100 ms each are awaited, with
   ``fastconc.aio.compress`` and with the same calls made inline in a
   coroutine (which blocks the loop); with two controls: the sleeper
   alone, and two native ``fastconc.aio.crc32`` calls of the same length
   (no GIL at all: the lag CPU contention alone causes).

3. lz4 and zstd decompression of 1 MiB chunks (``--chunks`` of them, a
   corpus of this machine's files) into one reused buffer with
   ``decompress_into`` against ``decompress()`` returning new bytes, next
   to cramjam's ``decompress_into`` when it is installed; then 4 chunks of
   64 MiB (glibc recycles a freed 1 MiB block, so new 1 MiB bytes objects
   rarely page-fault; blocks past its largest mmap threshold always do).
   Both decode through the same code (codec/into.c and codec/oneshot.c
   share the scan, pieces and stream paths): what ``decompress_into``
   saves is the new object's page faults alone, so under glibc's defaults
   expect about 1.0x at 1 MiB.  Run it with ``MALLOC_MMAP_THRESHOLD_=131072``
   in the environment to see the case where every new 1 MiB object is
   fresh pages (other allocators, long-lived fragmented processes).

4. ``hash_many("xxh3_64", items, out=array)`` on 100,000 items of 64 B
   against a loop of python-xxhash's ``xxh3_64_intdigest`` (and
   ``hash_many`` returning its list, for context).

The machine's load is printed first: on a shared machine, compare the
ratios of one run, not the times of two.
"""
from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import fastconc
import fastconc.aio as aio


def _load() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def gather_cases(name: str, n: int) -> dict[str, Callable[[], Awaitable[Any]]]:
    items = [os.urandom(4096) for _ in range(64)]
    if name == "crc32c":
        sync: Callable[[bytes], Any] = fastconc.crc32c
        coro: Callable[[bytes], Awaitable[Any]] = aio.crc32c
    else:
        def sync(d: bytes) -> Any:
            return fastconc.digest("sha256", d)

        def coro(d: bytes) -> Awaitable[Any]:
            return aio.digest("sha256", d)
    ex = concurrent.futures.ThreadPoolExecutor(2)

    def data() -> Any:
        return (items[i % 64] for i in range(n))

    async def v_aio() -> Any:
        return await asyncio.gather(*(coro(d) for d in data()))

    async def v_aio_tasks() -> Any:
        async def one(d: bytes) -> Any:
            return await coro(d)
        return await asyncio.gather(*(one(d) for d in data()))

    async def v_aio_call_soon() -> Any:
        old = aio._USE_FD
        aio._USE_FD = False
        aio._wakers.clear()
        try:
            # a fresh loop each round, so the call-soon waker is made
            return await asyncio.gather(*(coro(d) for d in data()))
        finally:
            aio._USE_FD = old

    async def v_executor() -> Any:
        loop = asyncio.get_running_loop()
        return await asyncio.gather(*(loop.run_in_executor(ex, sync, d)
                                      for d in data()))

    async def v_executor_tasks() -> Any:
        loop = asyncio.get_running_loop()

        async def one(d: bytes) -> Any:
            return await loop.run_in_executor(ex, sync, d)
        return await asyncio.gather(*(one(d) for d in data()))

    async def v_to_thread() -> Any:
        return await asyncio.gather(*(asyncio.to_thread(sync, d)
                                      for d in data()))

    return {"aio": v_aio, "aio in tasks": v_aio_tasks,
            "aio call-soon": v_aio_call_soon,
            "executor": v_executor, "executor in tasks": v_executor_tasks,
            "to_thread": v_to_thread}


def best_of(cases: dict[str, Callable[[], Awaitable[Any]]],
            rounds: int) -> dict[str, float]:
    best = {k: float("inf") for k in cases}
    ref = None
    for _ in range(rounds):
        for k, fn in cases.items():
            t0 = time.perf_counter()
            out: Any = asyncio.run(fn())  # type: ignore[arg-type]
            best[k] = min(best[k], time.perf_counter() - t0)
            if ref is None:
                ref = out
            assert out == ref, k
    return best


def lag_case(seconds: float = 0.1) -> tuple[float, dict[str, float]]:
    """(call time, worst lag by case)."""
    base = os.urandom(1 << 16) * 16
    data = base
    # about `seconds` per call at zstd level 9 on this machine
    while True:
        t0 = time.perf_counter()
        fastconc.compress(data, "zstd", 9, threads=1)
        took = time.perf_counter() - t0
        if took >= seconds * 0.8 or len(data) > 1 << 30:
            break
        data = data * 2
    data = data[: int(len(data) * seconds / took)]

    async def measure(make: Callable[[], Awaitable[Any]]) -> float:
        worst = 0.0
        stop = False

        async def sleeper() -> None:
            nonlocal worst
            while not stop:
                t0 = time.perf_counter()
                await asyncio.sleep(0.001)
                worst = max(worst, time.perf_counter() - t0 - 0.001)

        s = asyncio.ensure_future(sleeper())
        await asyncio.sleep(0.01)
        worst = 0.0
        await asyncio.gather(make(), make())
        stop = True
        await s
        return worst

    async def inline() -> Any:
        return fastconc.compress(data, "zstd", 9, threads=1)

    def with_aio() -> Awaitable[Any]:
        return aio.compress(data, "zstd", 9, threads=1)

    # Controls: nothing but the sleeper (the machine's own wake-up lag),
    # and two native jobs of the same length, which never take the GIL
    # (what CPU contention alone costs the loop thread).
    cdata = bytes(1 << 20)
    t0 = time.perf_counter()
    fastconc.crc32(cdata, threads=1)
    cdata = bytes(int(len(cdata) * seconds / (time.perf_counter() - t0)))

    async def idle() -> None:
        await asyncio.sleep(seconds)

    def native() -> Awaitable[Any]:
        return aio.crc32(cdata, threads=1)

    cases: dict[str, Callable[[], Awaitable[Any]]] = {
        "aio compress": with_aio, "inline compress": inline,
        "idle (control)": idle, "aio crc32 (control)": native}
    lags = {k: float("inf") for k in cases}
    for _ in range(3):
        for k, make in cases.items():
            lags[k] = min(lags[k], asyncio.run(measure(make)))
    t0 = time.perf_counter()
    fastconc.compress(data, "zstd", 9, threads=1)
    return time.perf_counter() - t0, lags


def _best(cases: dict[str, Callable[[], Any]],
          rounds: int) -> dict[str, float]:
    """Best time of each case, the rounds interleaved (case after case in
    every round), so that a slow minute on a shared machine hits every
    case alike."""
    best = {k: float("inf") for k in cases}
    for _ in range(rounds):
        for k, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t0)
    return best


def into_cases(codec: str, nchunks: int,
               chunk: int = 1 << 20) -> dict[str, Callable[[], Any]]:
    """Decompressing nchunks chunks: new bytes each time, or into one
    reused buffer (fastconc, and cramjam when installed).  Each case
    checks its output once before it is timed."""
    from fastconc.bench.corpus import build_corpus, chunks

    data = build_corpus(nchunks * chunk)[0]
    parts = chunks(data, chunk)
    blobs = [fastconc.compress(p, codec, threads=1) for p in parts]
    out = bytearray(chunk)

    def v_decompress() -> None:
        for b in blobs:
            fastconc.decompress(b, codec, threads=1)

    def v_into() -> None:
        for b in blobs:
            fastconc.decompress_into(b, out, codec, threads=1)

    assert [fastconc.decompress(b, codec) for b in blobs[:2]] == parts[:2]
    n = fastconc.decompress_into(blobs[1], out, codec)
    assert out[:n] == parts[1]
    cases: dict[str, Callable[[], Any]] = {
        "decompress": v_decompress, "decompress_into": v_into}
    try:
        import cramjam
    except ImportError:     # a missing peer is skipped, never faked
        return cases
    mod = getattr(cramjam, codec)
    cout = bytearray(chunk)

    def v_cramjam() -> None:
        for b in blobs:
            mod.decompress_into(b, cout)

    n = mod.decompress_into(blobs[1], cout)
    assert cout[:n] == parts[1]
    cases["cramjam decompress_into"] = v_cramjam
    return cases


def hash_out_cases(n: int) -> dict[str, Callable[[], Any]]:
    """n items of 64 B: hash_many into a uint64 array, hash_many's list,
    and a loop of python-xxhash's xxh3_64_intdigest (when installed)."""
    items = [os.urandom(64) for _ in range(n)]
    cases: dict[str, Callable[[], Any]] = {}
    try:
        import numpy as np
        arr: Any = np.empty(n, dtype=np.uint64)
    except ImportError:
        arr = bytearray(8 * n)
    cases["hash_many out="] = lambda: fastconc.hash_many(
        "xxh3_64", items, out=arr)
    cases["hash_many list"] = lambda: fastconc.hash_many("xxh3_64", items)
    want = [fastconc.xxh3_64(x).intdigest() for x in items[:100]]
    fastconc.hash_many("xxh3_64", items, out=arr)
    got = memoryview(arr).cast("B").cast("Q")[:100].tolist()
    assert got == want
    try:
        import xxhash
    except ImportError:
        return cases
    f = xxhash.xxh3_64_intdigest
    assert [f(x) for x in items[:100]] == want
    cases["python-xxhash loop"] = lambda: [f(x) for x in items]
    return cases


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--chunks", type=int, default=64,
                    help="1 MiB chunks for the decompress_into figure")
    ap.add_argument("--items", type=int, default=100_000,
                    help="64 B items for the hash_many out= figure")
    ap.add_argument("--quick", action="store_true",
                    help="tiny sizes, one round: a correctness check")
    ap.add_argument("--skip", default="",
                    help="figures left out: gather,lag,into,hash_many")
    args = ap.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if args.quick:
        args.n, args.rounds, args.chunks, args.items = 200, 1, 2, 1000
    print(f"load average {_load()}, {os.cpu_count()} CPUs, "
          f"pool size {fastconc.get_threads()}, MALLOC_MMAP_THRESHOLD_="
          f"{os.environ.get('MALLOC_MMAP_THRESHOLD_', '(glibc default)')}")
    for name in () if "gather" in skip else ("crc32c", "sha256"):
        best = best_of(gather_cases(name, args.n), args.rounds)
        a = best["aio"]
        print(f"{args.n} awaited {name} of 4 KiB under gather (best of "
              f"{args.rounds}):")
        for k, v in best.items():
            print(f"  {k:18s} {v * 1e3:8.1f} ms   {v / a:5.2f}x aio")
    if "lag" not in skip:
        call, lags = lag_case(0.02 if args.quick else 0.1)
        print(f"event-loop lag, two {call * 1e3:.0f} ms calls awaited at once "
              f"(worst 1 ms-sleeper wake-up, best of 3):")
        for k, v in lags.items():
            print(f"  {k:20s} {v * 1e3:7.2f} ms")
    # 1 MiB: the figure; 64 MiB: past glibc's largest mmap
    # threshold, where every new bytes object is fresh pages.
    sizes = [(args.chunks, 1)] + ([] if args.quick else [(4, 64)])
    if "into" in skip:
        sizes = []
    for (nchunks, mib), codec in [(s, c) for s in sizes
                                  for c in ("lz4", "zstd")]:
        cases = into_cases(codec, nchunks, mib << 20)
        times = _best(cases, args.rounds)
        ref = times["decompress"]
        print(f"{codec}: {nchunks} chunks of {mib} MiB decompressed (best "
              f"of {args.rounds}):")
        for k, v in times.items():
            print(f"  {k:24s} {v * 1e3:8.1f} ms   {ref / v:5.2f}x "
                  f"decompress()")
    if "hash_many" in skip:
        return
    hcases = hash_out_cases(args.items)
    htimes = _best(hcases, args.rounds)
    ref = htimes["hash_many out="]
    print(f"xxh3_64 of {args.items} items of 64 B (best of {args.rounds}):")
    for k, v in htimes.items():
        print(f"  {k:20s} {v * 1e3:8.2f} ms   {v / ref:5.2f}x out=")


if __name__ == "__main__":
    main()
