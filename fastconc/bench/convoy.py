"""The convoy effect: what a long GIL-holding call does to other threads.

A "ticker" thread sleeps 1 ms in a loop and records how late each wake-up
is.  Meanwhile another thread makes one fastconc call that takes about
200 ms, once with the GIL held and once with it released.  A thread that
wakes up needs the GIL to run any Python; while a C call holds it, the
ticker waits for the whole call (the switch interval,
``sys.getswitchinterval()``, only applies between Python bytecodes), so its
worst delay is about the length of the call.  Released, the ticker is late
by no more than the scheduler's usual jitter.
"""
from __future__ import annotations

import functools
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import fastconc

from .timing import clock


def _ticker(stop: threading.Event, delays: list[float]) -> None:
    while not stop.is_set():
        t0 = clock()
        time.sleep(0.001)
        delays.append(clock() - t0 - 0.001)


def _one(call: Callable[[], object]) -> dict[str, Any]:
    stop = threading.Event()
    delays: list[float] = []
    t = threading.Thread(target=_ticker, args=(stop, delays))
    t.start()
    time.sleep(0.02)  # the ticker is in its loop
    before = len(delays)
    t0 = clock()
    call()
    elapsed = clock() - t0
    time.sleep(0.01)  # let the ticker record the wake-up the call delayed
    stop.set()
    t.join()
    during = delays[before:]
    return {"call_seconds": elapsed, "ticks": len(during),
            "worst_delay": max(during) if during else 0.0,
            "delays": during}


def _pick_call(corpus: bytes) -> tuple[str, Callable[[Any, bool], object]]:
    """The slowest-per-byte fastconc call available, so that a 200 ms call
    needs as little memory as possible."""
    compress = getattr(fastconc, "compress", None)
    if compress is not None:
        return "gzip-6 compress", lambda d, rel: compress(
            d, "gzip", 6, threads=1, release_gil=rel)
    digest = getattr(fastconc, "digest", None)
    avail = getattr(fastconc, "algorithms_available", ())
    if digest is not None and "sha3_256" in avail:
        return "sha3_256", lambda d, rel: digest("sha3_256", d,
                                                 release_gil=rel)
    return "crc32", lambda d, rel: fastconc.crc32(d, threads=1,
                                                  release_gil=rel)


def measure(corpus: bytes, repeat: int, target: float = 0.2,
            tick: Callable[[], None] | None = None) -> dict[str, Any]:
    name, fn = _pick_call(corpus)
    probe = memoryview(corpus)[:1 << 20]
    per_byte = min(_time(lambda: fn(probe, True)) for _ in range(3)) / len(probe)
    want = int(target / max(per_byte, 1e-12))
    want = min(want, 256 << 20)
    if want <= len(corpus):
        data: Any = memoryview(corpus)[:want]
    else:  # a checksum this fast reads the corpus several times over
        data = (corpus * (want // len(corpus) + 1))[:want]
    out: dict[str, Any] = {"switch_interval": sys.getswitchinterval(),
                           "kernel": f"{name}, threads=1",
                           "call_bytes": len(data)}
    for label, rel in (("held", False), ("released", True)):
        runs = []
        for _ in range(repeat):
            runs.append(_one(functools.partial(fn, data, rel)))
            if tick is not None:
                tick()
        worst = sorted(r["worst_delay"] for r in runs)
        out[label] = {"runs": runs,
                      "call_seconds": min(r["call_seconds"] for r in runs),
                      "worst_delay_median": worst[len(worst) // 2],
                      "worst_delay_max": worst[-1]}
    return out


def _time(fn: Callable[[], object]) -> float:
    t0 = clock()
    fn()
    return clock() - t0
