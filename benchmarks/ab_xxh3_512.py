"""A/B of the XXH3 long-input loops at the avx2 level, in one run: the
AVX2 intrinsics loop (what fastconc.digest runs there), the 512-bit
generic-vector loop compiled for AVX2 (the test-only copy reached through
fastconc._core._xxh3_512; on an AVX-512 CPU at the avx512 level, the real
one) and python-xxhash.  Ratios of best-of-interleaved-rounds CPU times,
each against python-xxhash (> 1: faster than it).

    python3 benchmarks/ab_xxh3_512.py [--rounds N] [--level avx2|avx512]
"""
from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import xxhash

import fastconc


def best_of(fns: dict[str, Callable[[], object]],
            rounds: int) -> dict[str, float]:
    best = {k: float("inf") for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            t0 = time.thread_time()
            f()
            best[k] = min(best[k], time.thread_time() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--level", default="avx2")
    args = ap.parse_args()
    core = fastconc._core
    old = core._get_simd_level()
    core._set_simd_level(args.level)
    try:
        print(f"level {args.level}; python-xxhash {xxhash.VERSION} "
              f"(libxxhash {xxhash.XXHASH_VERSION}); ratio = peer / ours")
        for size, calls in ((1 << 20, 64), (64 << 20, 1)):
            d = os.urandom(size)
            for name, is128 in (("xxh3_64", False), ("xxh3_128", True)):
                px = getattr(xxhash, f"{name}_intdigest")
                assert core._xxh3_512(d, 0, is128) == px(d)

                def table(name: str = name, d: bytes = d,
                          calls: int = calls) -> None:
                    for _ in range(calls):
                        fastconc.digest(name, d, release_gil=False)

                def g512(is128: bool = is128, d: bytes = d,
                         calls: int = calls) -> None:
                    for _ in range(calls):
                        core._xxh3_512(d, 0, is128)

                def peer(px: Callable[[bytes], int] = px, d: bytes = d,
                         calls: int = calls) -> None:
                    for _ in range(calls):
                        px(d)
                t = best_of({"table": table, "g512": g512, "px": peer},
                            args.rounds)
                print(f"{name} {size >> 20:>3} MiB: table loop "
                      f"{t['px'] / t['table']:.2f}x  512-bit generic "
                      f"{t['px'] / t['g512']:.2f}x  (generic/table "
                      f"{t['table'] / t['g512']:.2f}x)")
    finally:
        core._set_simd_level(old)


if __name__ == "__main__":
    main()
