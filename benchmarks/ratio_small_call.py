"""The cost of one small call (issue 26.3), best of N interleaved rounds,
in one process (not a pytest file; bench_small_call.py runs it once as a
check).

    python3 benchmarks/ratio_small_call.py [--size 64] [--calls 20000]
                                           [--rounds 41] [--wall]

Each contender is one call on the same SIZE-byte bytes object, repeated
CALLS times in a loop that timeit compiles (the function and the data are
local variables, so the loop adds a few ns and no name lookups).  A round
times every contender once, in the rotated order of fastconc.bench.timing,
and the best round of each is kept.  Times are CPU time of this thread
(--wall: wall time), which a busy machine disturbs less.

Per call is the loop's time per iteration less that of an empty loop of
the same length (measured among the contenders); the ratio is fastconc's
per-call time over the peer's, next to its bar:

  xxh3_64    fastconc.xxh3_64_intdigest(b) and digest("xxh3_64", b)
             vs python-xxhash's xxh3_64_intdigest(b)        bar <= 1.0
  crc32      fastconc.crc32(b) vs zlib.crc32(b)             bar <= 0.5
  sha256     fastconc.digest("sha256", b)
             vs hashlib.sha256(b).digest()                  bar <= 0.5

Other rows (the other xxh one-shots, the gross ratios with the loop
included) are printed for information.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
import timeit
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import fastconc
from fastconc.bench.timing import best_of

try:
    import xxhash
except ImportError:  # a missing peer is skipped, never faked
    xxhash = None

# (row, contender, its statement, what f is).  In the statement, f is the
# function and b the data.
Row = tuple[str, str, str, Any]


def rows() -> list[Row]:
    fc = fastconc
    out: list[Row] = [
        ("empty loop", "", "pass", None),
        ("xxh3_64", "fastconc.xxh3_64_intdigest", "f(b)",
         fc.xxh3_64_intdigest),
        ("xxh3_64", "fastconc.digest('xxh3_64')", "f('xxh3_64', b)",
         fc.digest),
        ("xxh3_64", "fastconc.xxh3_64_digest", "f(b)", fc.xxh3_64_digest),
        ("crc32", "fastconc.crc32", "f(b)", fc.crc32),
        ("crc32", "zlib.crc32", "f(b)", zlib.crc32),
        ("sha256", "fastconc.digest('sha256')", "f('sha256', b)", fc.digest),
        ("sha256", "hashlib.sha256(b).digest()", "f(b).digest()",
         hashlib.sha256),
        ("sha256", "hashlib.sha256(b)", "f(b)", hashlib.sha256),
        ("xxh64", "fastconc.xxh64_intdigest", "f(b)", fc.xxh64_intdigest),
        ("xxh32", "fastconc.xxh32_intdigest", "f(b)", fc.xxh32_intdigest),
        ("xxh3_128", "fastconc.xxh3_128_intdigest", "f(b)",
         fc.xxh3_128_intdigest),
        ("crc32c", "fastconc.crc32c", "f(b)", fc.crc32c),
    ]
    if xxhash is not None:
        out += [
            ("xxh3_64", "xxhash.xxh3_64_intdigest", "f(b)",
             xxhash.xxh3_64_intdigest),
            ("xxh3_64", "xxhash.xxh3_64_digest", "f(b)",
             xxhash.xxh3_64_digest),
            ("xxh64", "xxhash.xxh64_intdigest", "f(b)",
             xxhash.xxh64_intdigest),
            ("xxh32", "xxhash.xxh32_intdigest", "f(b)",
             xxhash.xxh32_intdigest),
            ("xxh3_128", "xxhash.xxh3_128_intdigest", "f(b)",
             xxhash.xxh3_128_intdigest),
        ]
    return out


# (fastconc contender, peer contender, bar: the per-call ratio must be at
# most this).
BARS: list[tuple[str, str, float | None]] = [
    ("fastconc.xxh3_64_intdigest", "xxhash.xxh3_64_intdigest", 1.0),
    ("fastconc.digest('xxh3_64')", "xxhash.xxh3_64_intdigest", 1.0),
    ("fastconc.xxh3_64_digest", "xxhash.xxh3_64_digest", 1.0),
    ("fastconc.crc32", "zlib.crc32", 0.5),
    ("fastconc.digest('sha256')", "hashlib.sha256(b).digest()", 0.5),
    ("fastconc.xxh64_intdigest", "xxhash.xxh64_intdigest", None),
    ("fastconc.xxh32_intdigest", "xxhash.xxh32_intdigest", None),
    ("fastconc.xxh3_128_intdigest", "xxhash.xxh3_128_intdigest", None),
]


def loop(stmt: str, f: Any, b: bytes, calls: int) -> Callable[[], object]:
    timer = timeit.Timer(stmt, setup="f = _f; b = _b",
                         globals={"_f": f, "_b": b})
    return lambda: timer.timeit(calls)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=41)
    ap.add_argument("--wall", action="store_true",
                    help="wall time instead of this thread's CPU time")
    opts = ap.parse_args(argv)
    b = os.urandom(opts.size)
    # The same answers first: a fast wrong call is not faster.
    if xxhash is not None:
        assert fastconc.xxh3_64_intdigest(b) == xxhash.xxh3_64_intdigest(b)
        assert fastconc.digest("xxh3_64", b) == xxhash.xxh3_64_digest(b)
    assert fastconc.crc32(b) == zlib.crc32(b)
    assert fastconc.digest("sha256", b) == hashlib.sha256(b).digest()

    table = rows()
    fns = {name or row: loop(stmt, f, b, opts.calls)
           for row, name, stmt, f in table}
    clock = time.perf_counter if opts.wall else time.thread_time
    best = best_of(fns, opts.rounds, clock)
    ns = {k: v / opts.calls * 1e9 for k, v in best.items()}
    empty = ns["empty loop"]
    print(f"fastconc {fastconc.__version__}, python "
          f"{sys.version.split()[0]}, {opts.size} B, {opts.calls} calls a "
          f"round, best of {opts.rounds} interleaved rounds, "
          f"{'wall' if opts.wall else 'CPU'} time; SIMD "
          f"{fastconc.info().get('simd_level', '?')}")
    print(f"  empty loop: {empty:.1f} ns an iteration (taken off below)")
    for _row, name, _, _ in table[1:]:
        print(f"  {name:<32} {ns[name]:7.1f} ns  per call "
              f"{ns[name] - empty:7.1f} ns")
    print("ratios (fastconc / peer, per call; gross = loop included):")
    ok = True
    for fc_name, peer, bar in BARS:
        if fc_name not in ns or peer not in ns:
            print(f"  {fc_name} vs {peer}: skipped (peer not installed)")
            continue
        net = (ns[fc_name] - empty) / max(ns[peer] - empty, 1e-3)
        gross = ns[fc_name] / ns[peer]
        verdict = ""
        if bar is not None:
            good = net <= bar
            ok &= good
            verdict = f"(bar <= {bar:.2f}x, {'ok' if good else 'ABOVE'})"
        print(f"  {fc_name:<30} vs {peer:<28} {net:5.2f}x  "
              f"gross {gross:5.2f}x {verdict}")
    print("all bars met" if ok else "some bars not met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
