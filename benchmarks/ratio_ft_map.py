"""Issue 27's free-threading ratios, 2 threads against 1, in one run (best
of interleaved rounds; not a pytest file).  Meant for a free-threaded
interpreter with the GIL off:

    PYTHON_GIL=0 PYTHONPATH=. python3.13t benchmarks/ratio_ft_map.py [--rounds N]

Each row is the time of one thread over the time of two on the same work:

- ``countdown``: the pure-Python countdown split over ``threading.Thread``s
  (no shared object at all: what this machine gives two Python threads
  right now);
- ``hand split``: the cheap function of ``fastconc bench`` over 100,000
  items, the list cut in halves by hand, each ``threading.Thread`` mapping
  its half into a list of its own (the ceiling for the same work);
- ``parallel_map``, ``fastconc ThreadPoolExecutor.map``, ``stdlib
  ThreadPoolExecutor.map``: the same function over the same items, the
  results drained by the caller (the stdlib over 20,000 items: it costs
  far more per item).

Issue 27 asks >= 1.7x for the countdown and parallel_map; read the mapping
rows against the hand split measured beside them.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import sys
import threading
import time
from collections.abc import Callable, Iterable

import fastconc
from fastconc.bench.freethreading import cheap, count, interpreter

N_ITEMS = 100_000
N_FEW = 20_000
N_COUNT = 4_000_000


def _threads(work: list[Callable[[], object]]) -> None:
    ts = [threading.Thread(target=w) for w in work]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def _countdown(t: int) -> Callable[[], object]:
    return lambda: _threads([lambda: count(N_COUNT // t)] * t)


def _half(part: list[int], out: list[list[int]], k: int) -> None:
    f = cheap
    out[k] = [f(x) for x in part]


def _hand(items: list[int], t: int) -> Callable[[], object]:
    def run() -> None:
        step = (len(items) + t - 1) // t
        out: list[list[int]] = [[] for _ in range(t)]
        _threads([(lambda k=k: _half(items[k * step:(k + 1) * step], out, k))
                  for k in range(t)])
    return run


def _drain(it_fn: Callable[[], Iterable[object]]) -> Callable[[], object]:
    def run() -> None:
        for _ in it_fn():
            pass
    return run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    rounds = ap.parse_args().rounds
    items = list(range(N_ITEMS))
    few = items[:N_FEW]
    fx = {t: fastconc.ThreadPoolExecutor(t) for t in (1, 2)}
    sx = {t: cf.ThreadPoolExecutor(t) for t in (1, 2)}
    rows: dict[str, dict[int, Callable[[], object]]] = {
        "countdown": {t: _countdown(t) for t in (1, 2)},
        "hand split": {t: _hand(items, t) for t in (1, 2)},
        "parallel_map": {t: _drain(lambda t=t: fastconc.parallel_map(
            cheap, items, threads=t)) for t in (1, 2)},
        "fastconc ThreadPoolExecutor.map": {t: _drain(
            lambda t=t: fx[t].map(cheap, items)) for t in (1, 2)},
        "stdlib ThreadPoolExecutor.map": {t: _drain(
            lambda t=t: sx[t].map(cheap, few)) for t in (1, 2)},
    }
    best = {(name, t): float("inf") for name in rows for t in (1, 2)}
    try:
        for fns in rows.values():          # warm up: threads started
            for fn in fns.values():
                fn()
        for _ in range(rounds):
            for name, fns in rows.items():
                for t, fn in fns.items():
                    t0 = time.perf_counter()
                    fn()
                    best[(name, t)] = min(best[(name, t)],
                                          time.perf_counter() - t0)
    finally:
        for ex in (*fx.values(), *sx.values()):
            ex.shutdown()
    print(interpreter()["label"])
    print(f"2 threads against 1, best of {rounds} interleaved rounds:")
    for name in rows:
        one, two = best[(name, 1)], best[(name, 2)]
        print(f"  {name:<34} 1t {one * 1e3:8.2f} ms  2t {two * 1e3:8.2f} ms"
              f"  {one / two:5.2f}x")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
