"""The hashing ratios, best of N, interleaved, in one process (not a pytest
file).

    python3 benchmarks/ratio_hash.py [--repeat N]

Prints each ratio next to the bar it should reach: sha256 on 1 MiB chunks
at 1 and 2 Python threads with the GIL held and released, single-thread
speed against hashlib and python-xxhash (wall and CPU time), hash_many
against a hashlib loop and the stdlib executor, and hash_files against a
loop of hashlib.file_digest.  The kernels are those of ``fastconc bench``
(fastconc.bench.kernels), timed by fastconc.bench.timing.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import fastconc
from fastconc.bench.kernels import all_kernels
from fastconc.bench.timing import best_of, threads_job

try:
    import xxhash
except ImportError:  # a missing peer is skipped, never faked
    xxhash = None


def _fc(name: str) -> Callable[[Any, bool], object]:
    """The bench's fastconc row of hash ``name``: f(data, release_gil)."""
    k = next(k for k in all_kernels() if k.name == name)
    fn = k.fastconc.fn
    assert fn is not None, f"{name} is not built"
    return lambda data, release: fn(data, release, 1)


def _split(fn: Callable[[Any], object], chunks: Sequence[Any], n: int
           ) -> Callable[[], float]:
    """n threads share the chunks (the same total work at any n)."""
    return threads_job(fn, chunks[:len(chunks) // n], n)


def _report(label: str, ratio: float, bar: float) -> None:
    ok = "ok" if ratio >= bar else "BELOW"
    print(f"  {label:<58} {ratio:6.2f}x  (bar {bar:.2f}x, {ok})")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    repeat = ap.parse_args(argv).repeat
    cpu = time.thread_time
    rnd = os.urandom
    print(f"fastconc {fastconc.__version__}, {os.cpu_count()} CPUs, "
          f"python {sys.version.split()[0]}, best of {repeat}, interleaved")

    chunks = [rnd(1 << 20) for _ in range(64)]
    d = _fc("sha256")

    def rel(c: bytes) -> object:
        return d(c, True)

    def held(c: bytes) -> object:
        return d(c, False)

    def hl(c: bytes) -> object:
        return hashlib.sha256(c).digest()

    t = best_of({"rel1": _split(rel, chunks, 1), "rel2": _split(rel, chunks, 2),
                 "held1": _split(held, chunks, 1),
                 "held2": _split(held, chunks, 2),
                 "hashlib1": _split(hl, chunks, 1)}, repeat)
    print("sha256, 64 x 1 MiB chunks:")
    _report("released: 2 threads / 1 thread", t["rel1"] / t["rel2"], 1.85)
    print(f"  {'held: 2 threads / 1 thread':<58} "
          f"{t['held1'] / t['held2']:6.2f}x  (expected ~1.0x)")
    _report("single thread vs hashlib", t["hashlib1"] / t["rel1"], 0.95)
    t = best_of({"fc": lambda: [rel(c) for c in chunks],
                 "hl": lambda: [hl(c) for c in chunks]}, repeat, cpu)
    _report("single thread vs hashlib (CPU time)", t["hl"] / t["fc"], 0.95)

    if xxhash is not None:
        x = xxhash.xxh3_64_digest
        dx = _fc("xxh3_64")
        big = rnd(64 << 20)

        def fcx(c: bytes) -> object:
            return dx(c, True)

        t = best_of({"fc": _split(fcx, chunks, 1), "px": _split(x, chunks, 1),
                     "fcbig": lambda: fcx(big), "pxbig": lambda: x(big)},
                    repeat)
        print("xxh3_64, single thread:")
        _report("1 MiB chunks vs python-xxhash", t["px"] / t["fc"], 1.0)
        _report("one 64 MiB buffer vs python-xxhash", t["pxbig"] / t["fcbig"],
                1.0)
        t = best_of({"fc": lambda: [fcx(c) for c in chunks],
                     "px": lambda: [x(c) for c in chunks],
                     "fcbig": lambda: fcx(big), "pxbig": lambda: x(big)},
                    repeat, cpu)
        _report("1 MiB chunks vs python-xxhash (CPU time)", t["px"] / t["fc"],
                1.0)
        _report("one 64 MiB buffer vs python-xxhash (CPU time)",
                t["pxbig"] / t["fcbig"], 1.0)
        del big

    sha = hashlib.sha256
    for size, count, bars in ((64, 100_000, (5.0, 200.0)),
                              (4096, 10_000, (2.5, None))):
        items = [rnd(size) for _ in range(count)]

        def hashlib_loop(items: list[bytes] = items) -> list[bytes]:
            return [sha(x).digest() for x in items]

        def many(items: list[bytes] = items, threads: Any = None
                 ) -> list[bytes]:
            return fastconc.hash_many("sha256", items, threads=threads)

        t = best_of({"loop": hashlib_loop, "many": many,
                     "many1": lambda: many(threads=1)}, repeat)
        print(f"sha256, {count} items of {size} B:")
        _report("hash_many vs hashlib loop", t["loop"] / t["many"], bars[0])
        print(f"  {'(hash_many threads=1 vs hashlib loop)':<58} "
              f"{t['loop'] / t['many1']:6.2f}x")
        if bars[1] is not None:
            def tpe_map(items: list[bytes] = items) -> object:
                with ThreadPoolExecutor(os.cpu_count()) as ex:
                    return list(ex.map(lambda x: sha(x).digest(), items))
            tpe = best_of({"tpe": tpe_map}, 1)["tpe"]
            _report("hash_many vs stdlib ThreadPoolExecutor.map",
                    tpe / t["many"], bars[1])

    if sys.version_info >= (3, 11):
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for i in range(1000):
                p = os.path.join(tmp, f"f{i}")
                with open(p, "wb") as f:
                    f.write(rnd(64 << 10))
                paths.append(p)

            def loop() -> list[bytes]:
                out = []
                for p in paths:
                    with open(p, "rb") as f:
                        out.append(hashlib.file_digest(f, "sha256").digest())
                return out

            t = best_of({"loop": loop,
                         "files": lambda: fastconc.hash_files("sha256",
                                                              paths)},
                        repeat)
            print("sha256, 1000 files of 64 KiB:")
            _report("hash_files vs loop of hashlib.file_digest",
                    t["loop"] / t["files"], 1.8)
    return 0


if __name__ == "__main__":
    sys.exit(main())
