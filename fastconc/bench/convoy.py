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

from .context import Bench
from .report import Column, table
from .timing import Contender, clock, fmt_time, measure, time_once


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


def run(corpus: bytes, repeat: int, target: float = 0.2,
        tick: Callable[[], None] | None = None) -> dict[str, Any]:
    name, fn = _pick_call(corpus)
    probe = memoryview(corpus)[:1 << 20]
    per_byte = min(time_once(lambda: fn(probe, True))
                   for _ in range(3)) / len(probe)
    want = int(target / max(per_byte, 1e-12))
    want = min(want, 256 << 20)
    if want <= len(corpus):
        data: Any = memoryview(corpus)[:want]
    else:  # a checksum this fast reads the corpus several times over
        data = (corpus * (want // len(corpus) + 1))[:want]
    out: dict[str, Any] = {"switch_interval": sys.getswitchinterval(),
                           "kernel": f"{name}, threads=1",
                           "call_bytes": len(data)}

    def one(rel: bool) -> Callable[[], tuple[float, dict[str, Any]]]:
        def go() -> tuple[float, dict[str, Any]]:
            r = _one(functools.partial(fn, data, rel))
            return r["call_seconds"], r
        return go

    res = measure([Contender(label, one(rel), self_timed=True)
                   for label, rel in (("held", False), ("released", True))],
                  repeat, tick=tick)
    for label, s in res.items():
        worst = sorted(r["worst_delay"] for r in s.records)
        out[str(label)] = {"runs": s.records, "call_seconds": s.best,
                           "worst_delay_median": worst[len(worst) // 2],
                           "worst_delay_max": worst[-1]}
    return out


def markdown(c: dict[str, Any]) -> str:
    return table([
        Column("GIL during the call", "l", lambda r: r["label"]),
        Column("call length", "r", lambda r: fmt_time(r["call_seconds"])),
        Column("worst wake-up delay (median run)", "r",
               lambda r: fmt_time(r["worst_delay_median"])),
        Column("worst of all runs", "r",
               lambda r: fmt_time(r["worst_delay_max"])),
    ], [{"label": label, **c[label]} for label in ("held", "released")])


def units(b: Bench) -> int:
    return 1


def section(b: Bench) -> None:
    with b.step("convoy effect"):
        cv = run(b.corpus, b.repeat)
    b.results["convoy"] = cv
    b.emit("## The convoy effect")
    b.emit()
    b.emit(f"A thread sleeps 1 ms in a loop while another makes one "
           f"{cv['kernel']} call of {cv['call_bytes'] / (1 << 20):.0f} MiB. "
           f"sys.getswitchinterval() = {cv['switch_interval'] * 1e3:g}"
           " ms, but a C call that holds the GIL is never interrupted.")
    b.emit()
    b.emit(markdown(cv))
    b.emit()
