"""The cliffs and lost ground of issue 26 (items 5 and 1, AVX2 half), each
as a ratio in one run, best of interleaved rounds (not a pytest file).

    python3 benchmarks/ratio_cliffs.py [--rounds N] [--skip codec,executor,
                                        hash_many,xxh3]

- ``codec``: zlib-6 and deflate-6 (``threads=1``) against stdlib
  ``zlib.compress(d, 6)`` on 1, 8 and 64 MiB of the bench corpus, with the
  output sizes (target >= 1.9x at every size, size within 1%);
- ``executor``: ``submit(f).result()`` round trips, fastconc's
  ThreadPoolExecutor against the stdlib's, on a fresh executor and on one
  that has run a ``map()`` (target >= 1.5x in both states);
- ``hash_many``: ``hash_many("sha256")`` on 100 000 items of 64 B against
  a hashlib loop (target >= 5x);
- ``xxh3``: xxh3_64 and xxh3_128 at the avx2 SIMD level against
  python-xxhash at 1 MiB and 64 MiB (target >= 1.0x), CPU time.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import importlib
import os
import time
import zlib
from collections.abc import Callable
from typing import Any

import fastconc
from fastconc.bench.corpus import build_corpus
from fastconc.bench.timing import best_of


def _line(label: str, value: float, target: str, extra: str = "") -> None:
    print(f"  {label:<52} {value:6.2f}x   (target {target}){extra}")


def _std(d: bytes) -> Callable[[], object]:
    return lambda: zlib.compress(d, 6)


def _fc(d: bytes, c: str) -> Callable[[], object]:
    return lambda: fastconc.compress(d, c, 6, threads=1)


def codec(rounds: int) -> None:
    data = build_corpus(64 << 20)[0]
    print("zlib-6 / deflate-6, threads=1, against zlib.compress(d, 6):")
    for mib in (1, 8, 64):
        d = data[:mib << 20]
        r = max(3, rounds // (4 if mib == 64 else 1))
        t = best_of({"stdlib": _std(d), "zlib": _fc(d, "zlib"),
                     "deflate": _fc(d, "deflate")}, r)
        ref = len(zlib.compress(d, 6))
        for c in ("zlib", "deflate"):
            size = len(fastconc.compress(d, c, 6, threads=1))
            _line(f"{c}-6 at {mib} MiB", t["stdlib"] / t[c], ">= 1.9",
                  f"  size {size / ref:.4f} of stdlib's")


def _round_trips(ex: cf.Executor, n: int) -> Callable[[], object]:
    def f() -> int:
        return 1

    def run() -> None:
        for _ in range(n):
            ex.submit(f).result()
    return run


def executor(rounds: int) -> None:
    n = 2000
    print(f"submit(f).result(), {n} round trips, against the stdlib:")
    for state in ("fresh", "after map"):
        fx = fastconc.ThreadPoolExecutor()
        sx = cf.ThreadPoolExecutor()
        try:
            if state == "after map":
                list(fx.map(abs, range(10_000)))
                list(sx.map(abs, range(10_000)))
            else:
                # one round trip each, so neither pays a thread start
                fx.submit(int).result()
                sx.submit(int).result()
            t = best_of({"fc": _round_trips(fx, n),
                         "std": _round_trips(sx, n)}, rounds)
            _line(f"submit().result(), {state} "
                  f"({len(fx._threads)} vs {len(sx._threads)} workers)",
                  t["std"] / t["fc"], ">= 1.5",
                  f"  {t['fc'] / n * 1e6:.1f} vs {t['std'] / n * 1e6:.1f} "
                  "us a round trip")
        finally:
            fx.shutdown()
            sx.shutdown()


def hash_many(rounds: int) -> None:
    items = [os.urandom(64) for _ in range(100_000)]
    sha = hashlib.sha256

    t = best_of({
        "loop": lambda: [sha(x).digest() for x in items],
        "many": lambda: fastconc.hash_many("sha256", items),
        "many1": lambda: fastconc.hash_many("sha256", items, threads=1),
    }, rounds)
    print("hash_many('sha256'), 100 000 items of 64 B:")
    _line("hash_many vs hashlib loop", t["loop"] / t["many"], ">= 5")
    _line("(hash_many threads=1 vs hashlib loop)", t["loop"] / t["many1"],
          "-")


def xxh3(rounds: int) -> None:
    try:
        xxhash: Any = importlib.import_module("xxhash")
    except ImportError:
        print("xxh3: python-xxhash is not installed (skipped)")
        return
    levels = fastconc._core._simd_levels()
    if "avx2" not in levels:
        print(f"xxh3: no avx2 level on this CPU ({levels}) (skipped)")
        return
    old = fastconc._core._get_simd_level()
    fastconc._core._set_simd_level("avx2")
    try:
        print(f"xxh3 at the avx2 level against python-xxhash "
              f"{xxhash.VERSION} (libxxhash {xxhash.XXHASH_VERSION}), "
              "CPU time:")
        for size, calls in ((1 << 20, 64), (64 << 20, 1)):
            d = os.urandom(size)
            for name in ("xxh3_64", "xxh3_128"):
                px = getattr(xxhash, f"{name}_digest")

                def fc(name: str = name, d: bytes = d,
                       calls: int = calls) -> None:
                    for _ in range(calls):
                        fastconc.digest(name, d, release_gil=False)

                def peer(px: Any = px, d: bytes = d,
                         calls: int = calls) -> None:
                    for _ in range(calls):
                        px(d)
                t = best_of({"fc": fc, "px": peer}, rounds, time.thread_time)
                _line(f"{name} at {size >> 20} MiB", t["px"] / t["fc"],
                      ">= 1.0")
    finally:
        fastconc._core._set_simd_level(old)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--skip", default="")
    args = ap.parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    info = fastconc.info()
    print(f"fastconc {fastconc.__version__}, SIMD {info['simd_level']} "
          f"(best {info['simd_best']}), {os.cpu_count()} CPUs")
    for name, fn in (("codec", codec), ("executor", executor),
                     ("hash_many", hash_many), ("xxh3", xxh3)):
        if name not in skip:
            fn(args.rounds)


if __name__ == "__main__":
    main()
