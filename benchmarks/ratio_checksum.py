"""Interleaved best-of-N ratios of fastconc's checksums to the fastest
installed peer, one process, as BENCH.md asks (not a pytest file).

    python3 benchmarks/ratio_checksum.py [--size MiB] [--rounds N]
                                         [--kernels crc32,crc32c,adler32]

Each round calls every contender in turn, each round in another order
(fastconc.bench.timing.measure: none always runs after the same other
one), and keeps each one's best time; the ratio is peer time / fastconc
time (> 1: fastconc is faster).  The peers are the rows of ``fastconc
bench`` (fastconc.bench.kernels).  Random (incompressible) input,
single-threaded unless noted.
"""
import argparse
import os
import zlib

import fastconc
from fastconc.bench.kernels import all_kernels
from fastconc.bench.timing import Contender, best_of, measure

KERNELS = {k.name: k for k in all_kernels() if k.family == "checksum"}


def peers(kernel):
    out = {}
    for p in KERNELS[kernel].peers:
        if p.single:
            out[p.label.split(".")[0]] = p.call(0)
        else:
            print(f"  ({p.label} {p.note}: skipped)")
    return out


def read_bandwidth(data, rounds):
    """The ceiling for a memory-bound checksum: one core reading the same
    buffer (numpy's vectorised sum of uint64 words), best of `rounds`."""
    try:
        import numpy as np
    except ImportError:
        print("  (numpy not installed: read bandwidth not measured)")
        return
    words = np.frombuffer(data, dtype=np.uint64, count=len(data) // 8)
    best = best_of({"sum": words.sum}, rounds)["sum"]
    print(f"memory read, one core (numpy sum): {len(data) / best / 1e9:.1f} GB/s")


def gil_scaling(kernel, data, rounds):
    """2 Python threads each make the same calls on the same buffer (cache
    resident from 1 MiB down), GIL held and released; speed-up = time of
    one thread doing one share / time of two threads doing two shares.  A
    share is 2.5 GiB (about 70 ms of crc32c): with a few milliseconds the
    second thread's wake-up is a large part of the time (64 calls of 1 MiB
    measured 0.9x where 2,560 calls measure 1.9x)."""
    calls = max(64, (2560 << 20) // len(data))
    from fastconc.bench.timing import control_line, interleaved, native_controls, run_threads
    f = getattr(fastconc, kernel)

    def share(release):
        for _ in range(calls):
            f(data, threads=1, release_gil=release)

    contenders = {(n, release): lambda n=n, r=release:
                  run_threads([lambda: share(r)] * n)
                  for n in (1, 2) for release in (False, True)}
    controls = native_controls() or {}
    contenders.update({("control", k): f for k, f in controls.items()})
    res = interleaved(contenders, rounds)
    for release, label in ((False, "held"), (True, "released")):
        print(f"  2 threads / 1 thread, GIL {label}: "
              f"{2 * min(res[1, release].times) / min(res[2, release].times):.2f}x")
    if controls:
        print("  same rounds, two native loops at once / one after the other"
              f" (what the machine gives now): "
              f"{control_line(res, ('control',))}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=float, default=1.0, help="MiB")
    ap.add_argument("--rounds", type=int, default=0,
                    help="rounds (default 40, 12 from 4 MiB on)")
    ap.add_argument("--kernels", default=",".join(KERNELS),
                    help="comma-separated subset of " + ",".join(KERNELS))
    args = ap.parse_args()
    kernels = [k for k in args.kernels.split(",") if k]
    bad = sorted(set(kernels) - set(KERNELS))
    if bad:
        ap.error(f"unknown kernel(s) {bad}; choose from {list(KERNELS)}")
    n = int(args.size * (1 << 20))
    data = os.urandom(n)
    reps = max(1, (4 << 20) // n)   # calls per timing, for small sizes
    rounds = args.rounds or (40 if n <= 4 << 20 else 12)
    print(f"{n} bytes, {rounds} rounds x {reps} calls, "
          f"backends {fastconc.info()['backends']}, zlib {zlib.ZLIB_VERSION}")
    if n >= 4 << 20:
        read_bandwidth(data, rounds)
    for kernel in kernels:
        ours = getattr(fastconc, kernel)
        who = {"fastconc": lambda d, f=ours: f(d, threads=1)}
        if n >= 4 << 20:
            who["fastconc-2t"] = lambda d, f=ours: f(d, threads=2)
        who.update(peers(kernel))
        res = measure([Contender(label, lambda fn=fn: [fn(data)
                                                        for _ in range(reps)])
                       for label, fn in who.items()], rounds)
        best = {label: res[label].best / reps for label in who}
        peer_best = min((t, label) for label, t in best.items()
                        if not label.startswith("fastconc"))
        cells = ", ".join(f"{label} {n / t / 1e9:.1f} GB/s"
                          for label, t in best.items())
        print(f"{kernel}: {cells}")
        for label in ("fastconc", "fastconc-2t"):
            if label in best:
                print(f"  {label} / {peer_best[1]}: "
                      f"{peer_best[0] / best[label]:.2f}x")
        if "zlib" in best:
            print(f"  fastconc / zlib: {best['zlib'] / best['fastconc']:.2f}x")
        if n <= 4 << 20:
            gil_scaling(kernel, data, max(5, rounds // 4))


if __name__ == "__main__":
    main()
