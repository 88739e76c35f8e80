"""Executor overhead and the countdown experiment.

Overhead: nanoseconds per item to ``map`` a trivial function over many
items with a plain loop, the stdlib ``ThreadPoolExecutor``, fastconc's
``ThreadPoolExecutor`` and ``parallel_map``, and ``multiprocessing.Pool``.

Countdown: ``while n > 0: n -= 1`` is pure Python, so it holds the GIL the
whole time; two threads take turns and are no faster than one loop, two
processes each have their own GIL and are.  The same countdown as a native
kernel run by ``fastconc.map_array`` without the GIL scales with threads.
"""
from __future__ import annotations

import concurrent.futures
import ctypes
import functools
import multiprocessing
import threading
from collections.abc import Callable
from typing import Any

import fastconc

from .context import Bench
from .report import Column, fmt_x, table
from .timing import Contender, fmt_time, measure, time_once


def trivial(x: int) -> int:
    return x


def count(n: int) -> None:
    while n > 0:
        n -= 1


def _mp_context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods
                                       else methods[0])


def _not_built(kernel: str, impl: str, why: str = "not built"
               ) -> dict[str, str]:
    return {"kernel": kernel, "impl": impl, "reason": why}


def overhead(nitems: int, nthreads: int, repeat: int,
             tick: Callable[[], None] | None = None
             ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    items = list(range(nitems))
    few = items[:2000]
    std = concurrent.futures.ThreadPoolExecutor(nthreads)
    fc_tpe = getattr(fastconc, "ThreadPoolExecutor", None)
    ours = fc_tpe(nthreads) if fc_tpe is not None else None
    pmap = getattr(fastconc, "parallel_map", None)
    pool = _mp_context().Pool(nthreads)
    # (label, call on a list of items); None: not in this build
    rows: list[tuple[str, Callable[[list[int]], object] | None]] = [
        ("plain loop", lambda it: [trivial(x) for x in it]),
        ("stdlib ThreadPoolExecutor.map",
         lambda it: list(std.map(trivial, it))),
        ("fastconc.ThreadPoolExecutor.map",
         None if ours is None else lambda it: list(ours.map(trivial, it))),
        ("fastconc.parallel_map",
         None if pmap is None
         else lambda it: list(pmap(trivial, it, threads=nthreads))),
        ("multiprocessing.Pool.map", lambda it: pool.map(trivial, it)),
    ]
    skipped = []
    if ours is None:
        skipped.append(_not_built("executor", "fastconc.ThreadPoolExecutor"))
    if pmap is None:
        skipped.append(_not_built("executor", "fastconc.parallel_map"))
    live = [(label, fn) for label, fn in rows if fn is not None]
    try:
        # warm up: threads and processes started before the timing
        for label, fn in live:
            if label != "plain loop":
                fn(few)
        res = measure([Contender(label, functools.partial(fn, items),
                                 meta={"impl": label}) for label, fn in live],
                      repeat, tick=tick)
    finally:
        pool.terminate()
        pool.join()
        std.shutdown()
        if ours is not None:
            ours.shutdown()
    std_best = res["stdlib ThreadPoolExecutor.map"].best
    out = [{"impl": label, "items": nitems, "timing": res[label].as_json(),
            "ns_per_item": res[label].best / nitems * 1e9,
            "vs_stdlib_executor": std_best / res[label].best}
           for label, _ in live]
    return out, skipped


# --- the countdown -----------------------------------------------------------

NATIVE_NOTE = ("fastconc's own native countdown kernel "
               "(a register loop the compiler cannot fold)")


def countdown_kernel() -> Any:
    """The countdown as a native int64(int64) kernel: exported by _core (a
    register loop behind an empty asm barrier; a compiler, numba's
    included, would fold a plain countdown loop to nothing)."""
    addr = fastconc._core._countdown_kernel_address()
    return ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(addr)


def countdown(n: int, nthreads: int, repeat: int,
              tick: Callable[[], None] | None = None
              ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    share = n // nthreads
    ctx = _mp_context()

    def threads() -> None:
        ts = [threading.Thread(target=count, args=(share,))
              for _ in range(nthreads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    def processes() -> None:
        ps = [ctx.Process(target=count, args=(share,))
              for _ in range(nthreads)]
        for p in ps:
            p.start()
        for p in ps:
            p.join()

    cont = [Contender("Python loop, sequential", lambda: count(n)),
            Contender(f"Python loop, {nthreads} threads", threads),
            Contender(f"Python loop, {nthreads} processes", processes)]
    skipped: list[dict[str, str]] = []
    map_array = getattr(fastconc, "map_array", None)
    try:
        import numpy as np
    except ImportError:
        np = None  # type: ignore[assignment]
    if map_array is None:
        skipped.append(_not_built("countdown", "fastconc.map_array"))
    elif np is None:
        skipped.append(_not_built("countdown", "fastconc.map_array",
                                  "numpy not installed"))
    else:
        kernel = countdown_kernel()
        blocks = 64 * nthreads
        arr = np.full(blocks, n // blocks, dtype=np.int64)
        out = np.empty_like(arr)
        for t in sorted({1, nthreads}):
            cont.append(Contender(
                f"native kernel, map_array threads={t}",
                functools.partial(map_array, kernel, arr, out=out, threads=t),
                meta={"note": NATIVE_NOTE}))
        time_once(cont[3].run)
    res = measure(cont, repeat, tick=tick)
    seq = res["Python loop, sequential"].best
    rows = [{"impl": c.key, "n": n, "timing": res[c.key].as_json(),
             "vs_sequential": seq / res[c.key].best,
             "note": c.meta.get("note", "")} for c in cont]
    return rows, skipped


# --- the Markdown tables -------------------------------------------------------

def overhead_markdown(rows: list[dict[str, Any]]) -> str:
    return table([
        Column("map of a trivial function", "l", lambda r: r["impl"]),
        Column("per item", "r", lambda r: fmt_time(r["ns_per_item"] / 1e9)),
        Column("vs stdlib executor", "r",
               lambda r: fmt_x(r["vs_stdlib_executor"])),
    ], rows)


def countdown_markdown(rows: list[dict[str, Any]]) -> str:
    return table([
        Column("countdown", "l", lambda r: r["impl"]),
        Column("time (best)", "r", lambda r: fmt_time(r["timing"]["min"])),
        Column("median", "r", lambda r: fmt_time(r["timing"]["median"])),
        Column("speed-up vs sequential", "r",
               lambda r: fmt_x(r["vs_sequential"])),
    ], rows)


# --- the sections --------------------------------------------------------------

def overhead_section(b: Bench) -> None:
    with b.step("executor overhead"):
        rows, s = overhead(b.n_items, b.nthreads, b.repeat)
    b.skipped += s
    b.results["executor"] = rows
    b.emit(f"## Executor overhead: map of a trivial function over "
           f"{b.n_items:,} items, {b.nthreads} workers")
    b.emit()
    b.emit(overhead_markdown(rows))
    b.emit()


def countdown_section(b: Bench) -> None:
    with b.step("countdown"):
        rows, s = countdown(b.n_count, b.nthreads, b.repeat)
    b.skipped += s
    b.results["countdown"] = rows
    b.emit(f"## The countdown: `while n > 0: n -= 1`, n = {b.n_count:,}"
           + (" (50,000,000 without --quick)" if b.quick else ""))
    b.emit()
    b.emit("Pure Python holds the GIL: threads take turns, processes "
           "run in parallel. The same loop as a native kernel runs "
           "without the GIL.")
    b.emit()
    b.emit(countdown_markdown(rows))
    notes = {r["note"] for r in rows if r.get("note")}
    if notes:
        b.emit()
        b.emit("Native kernel: " + "; ".join(sorted(notes)) + ".")
    b.emit()
