"""What a free-threaded interpreter buys: pure Python on 1 and N threads.

On a GIL build, threads that run Python take turns: the countdown and a
cheap Python function mapped over items run no faster on N threads than
on one (≈1.0×).  On a free-threaded build (3.13t, 3.14t) with the GIL
disabled they run at the same time.  The table measures, together and
interleaved (``timing.measure``):

- the pure-Python countdown, n steps on one thread against n / N steps on
  each of N ``threading.Thread``s;
- a cheap pure-Python function over the same items through
  ``fastconc.parallel_map``, ``fastconc.ThreadPoolExecutor.map`` and the
  stdlib ``ThreadPoolExecutor.map`` (fewer items: it costs far more per
  item), each at 1 and N threads, beside a plain list comprehension;
- the native add chain of ``timing.native_controls``: what this machine
  gives N threads right now, to read the others by.

It runs on every build, so that the same table on a GIL build shows what
the GIL costs; its title says which interpreter it is.
"""
from __future__ import annotations

import concurrent.futures
import functools
import sys
import sysconfig
from collections.abc import Callable
from typing import Any

import fastconc

from .context import Bench
from .report import Column, fmt_x, table
from .timing import Contender, control_line, fmt_time, measure, native_controls, run_threads


def cheap(x: int) -> int:
    """The cheap pure-Python function: a few arithmetic operations."""
    return (x * 2654435761 + 12345) % 1000003


def count(n: int) -> None:
    while n > 0:
        n -= 1


def interpreter() -> dict[str, Any]:
    """Which interpreter this is: free-threaded build or not, GIL on or
    off (a free-threaded build runs with the GIL when PYTHON_GIL=1, or when
    a module that does not declare itself safe re-enabled it)."""
    ft = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    gil = bool(getattr(sys, "_is_gil_enabled", lambda: True)())
    version = sys.version.split()[0]
    if not ft:
        label = f"Python {version}, GIL build: threads take turns"
    elif gil:
        label = (f"Python {version}, free-threaded build with the GIL "
                 "enabled (PYTHON_GIL=1, or re-enabled by a module)")
    else:
        label = f"Python {version}, free-threaded build, GIL disabled"
    return {"python": version, "free_threaded": ft, "gil_enabled": gil,
            "label": label}


def contenders(n_count: int, items: list[int], few: list[int],
               nthreads: int,
               executors: dict[tuple[str, int], concurrent.futures.Executor]
               ) -> list[Contender]:
    """Every (row, threads) of the table, as contenders.  ``executors``
    holds the pools by (row, threads), made by the caller (and shut down
    by it)."""
    counts = sorted({1, nthreads})
    out = [Contender(("plain loop", 1),
                     lambda: [cheap(x) for x in items],
                     meta={"items": len(items)})]
    for t in counts:
        share = n_count // t
        out.append(Contender(
            ("Python countdown", t),
            functools.partial(run_threads, [functools.partial(count, share)]
                              * t),
            meta={"items": n_count, "warm": False}))
        out.append(Contender(
            ("fastconc.parallel_map", t),
            functools.partial(_drain, fastconc.parallel_map, cheap, items,
                              threads=t),
            meta={"items": len(items)}))
        for name, data in (("fastconc.ThreadPoolExecutor.map", items),
                           ("stdlib ThreadPoolExecutor.map", few)):
            ex = executors[(name, t)]
            out.append(Contender((name, t),
                                 functools.partial(_drain, ex.map, cheap,
                                                   data),
                                 meta={"items": len(data)}))
    return out


def _drain(mapper: Callable[..., Any], *args: Any, **kw: Any) -> None:
    for _ in mapper(*args, **kw):
        pass


def run(n_count: int, n_items: int, n_few: int, nthreads: int, repeat: int
        ) -> dict[str, Any]:
    items = list(range(n_items))
    few = items[:n_few]
    executors: dict[tuple[str, int], concurrent.futures.Executor] = {}
    for t in sorted({1, nthreads}):
        executors[("fastconc.ThreadPoolExecutor.map", t)] = \
            fastconc.ThreadPoolExecutor(t)
        executors[("stdlib ThreadPoolExecutor.map", t)] = \
            concurrent.futures.ThreadPoolExecutor(t)
    cont = contenders(n_count, items, few, nthreads, executors)
    controls = native_controls(0.05, nthreads) if nthreads > 1 else None
    for key, fn in (controls or {}).items():
        cont.append(Contender(("control", key), fn))
    try:
        for c in cont:             # warm up: threads started, code run
            if c.meta.get("warm", True):
                c.run()
        res = measure(cont, repeat)
    finally:
        for ex in executors.values():
            ex.shutdown()
    rows = []
    names = ["Python countdown", "plain loop", "fastconc.parallel_map",
             "fastconc.ThreadPoolExecutor.map", "stdlib ThreadPoolExecutor.map"]
    for name in names:
        one = res[(name, 1)]
        many = res.get((name, nthreads)) if nthreads > 1 else None
        n = next(c.meta["items"] for c in cont if c.key == (name, 1))
        rows.append({
            "impl": name, "items": n,
            "one": one.as_json(), "per_item_one": one.best / n,
            "many": many.as_json() if many else None,
            "per_item_many": many.best / n if many else None,
            "speedup": one.best / many.best if many else None})
    ctl = {key[1]: v for key, v in res.items()
           if isinstance(key, tuple) and key[0] == "control"}
    return {"interpreter": interpreter(), "threads": nthreads,
            "countdown_n": n_count, "rows": rows,
            "control": {k: v.as_json() for k, v in ctl.items()},
            "control_line": control_line(ctl, threads=nthreads)}


def markdown(res: dict[str, Any]) -> str:
    n = res["threads"]

    def per(key: str) -> Callable[[dict[str, Any]], str]:
        return lambda r: "–" if r[key] is None else fmt_time(r[key])

    return table([
        Column("pure Python", "l", lambda r: r["impl"]),
        Column("items", "r", lambda r: f"{r['items']:,}"),
        Column("per item, 1 thread", "r", per("per_item_one")),
        Column(f"per item, {n} threads", "r", per("per_item_many")),
        Column(f"speed-up {n} threads vs 1", "r",
               lambda r: fmt_x(r["speedup"])),
    ], res["rows"])


def units(b: Bench) -> int:
    return 1


def section(b: Bench) -> None:
    with b.step("free-threading"):
        res = run(b.n_count // 10, b.n_items, b.n_tpe // 4, b.nthreads,
                  b.repeat)
    b.results["freethreading"] = res
    it = res["interpreter"]
    b.emit(f"## Pure Python on threads: {it['label']}")
    b.emit()
    if it["free_threaded"] and not it["gil_enabled"]:
        b.emit("Nothing serialises Python code here: the countdown and a "
               "cheap Python function run on all the threads at once, "
               "through fastconc.parallel_map and the executors alike.")
    else:
        b.emit("With the GIL, threads that run Python take turns: expect "
               "≈1.0× below (the countdown is n steps in all, split over "
               "the threads). On a free-threaded Python (3.13t, 3.14t) "
               "with the GIL disabled, the same rows scale with the "
               "threads.")
    b.emit()
    b.emit(markdown(res))
    if res["control_line"]:
        b.emit()
        b.emit(f"What this machine gave {res['threads']} threads meanwhile "
               f"(native loops): {res['control_line']}.")
    b.emit()
