"""Where a two-thread checksum speed-up goes, on one machine, in one run
(not a pytest file).

    python3 benchmarks/two_threads.py [--kernel crc32c] [--rounds 8]
                                      [--passes 3]

Per pass, interleaved in the same rounds, best of N, speed-up = 2 x
time(1 thread) / time(2 threads) for the same work per thread:

- ``1 MiB calls``: two Python threads call the kernel on a 1 MiB buffer
  (cache-resident), GIL released, as in the issue's bar;
- ``4 MiB calls``: the same with 4 MiB calls (a quarter of the calls);
- ``pool``: no Python threads, one call on 2 MiB with ``threads=2``
  against two 1 MiB calls with ``threads=1``;
- the native control (``fastconc.bench.timing.native_controls``).

Then the voluntary context switches of the two-thread 1 MiB run: a
thread that sleeps waiting for the GIL makes one.  Zero means the
threads never waited on each other, and any loss is in the execution.
"""
from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Callable

import fastconc
from fastconc.bench.timing import (
    control_line,
    interleaved,
    native_controls,
    run_threads,
    voluntary_switches,
)

TOTAL = 2560 << 20          # bytes per thread per pass


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kernel", default="crc32c",
                    choices=["crc32", "crc32c", "adler32"])
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--passes", type=int, default=3)
    args = ap.parse_args()
    f = getattr(fastconc, args.kernel)
    d1, d2, d4 = (os.urandom(n << 20) for n in (1, 2, 4))

    def calls(d: bytes) -> Callable[[], None]:
        n = TOTAL // len(d)

        def go() -> None:
            for _ in range(n):
                f(d, threads=1, release_gil=True)
        return go

    def pool(d: bytes, threads: int) -> Callable[[], None]:
        n = TOTAL // (1 << 20)

        def go() -> None:
            for _ in range(n):
                f(d, threads=threads)
        return go

    contenders: dict[object, Callable[[], object]] = {
        ("1 MiB calls", 1): lambda: run_threads([calls(d1)]),
        ("1 MiB calls", 2): lambda: run_threads([calls(d1)] * 2),
        ("4 MiB calls", 1): lambda: run_threads([calls(d4)]),
        ("4 MiB calls", 2): lambda: run_threads([calls(d4)] * 2),
        ("pool", 1): pool(d1, 1),
        ("pool", 2): pool(d2, 2),
    }
    controls = native_controls(0.08) or {}
    contenders.update({("control", k): v for k, v in controls.items()})
    print(f"{args.kernel}, {TOTAL >> 20} MiB per thread per pass, best of "
          f"{args.rounds}; 2 x time(1 thread) / time(2 threads):")
    for p in range(args.passes):
        r = interleaved(contenders, args.rounds)
        cells = "  ".join(
            f"{name} {2 * r[name, 1].best / r[name, 2].best:.2f}x"
            for name in ("1 MiB calls", "4 MiB calls", "pool"))
        print(f"  pass {p + 1}: {cells}  | control: "
              f"{control_line(r, ('control',))}")

    before = voluntary_switches()
    work = calls(d1)
    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    n = 2 * TOTAL // len(d1)
    print(f"two threads, {n} calls of 1 MiB: "
          f"{voluntary_switches() - before} voluntary context switches "
          "(a thread that slept for the GIL makes one)")


if __name__ == "__main__":
    main()
