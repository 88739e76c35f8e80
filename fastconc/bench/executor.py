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
import multiprocessing
import os
import subprocess
import sys
import sysconfig
import tempfile
import threading
from collections.abc import Callable
from typing import Any

import fastconc

from .timing import interleaved, time_once


def trivial(x: int) -> int:
    return x


def count(n: int) -> None:
    while n > 0:
        n -= 1


def overhead(nitems: int, nthreads: int, repeat: int,
             tick: Callable[[], None] | None = None
             ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    items = list(range(nitems))
    cont: dict[str, Callable[[], object]] = {
        "plain loop": lambda: [trivial(x) for x in items],
    }
    std = concurrent.futures.ThreadPoolExecutor(nthreads)
    cont["stdlib ThreadPoolExecutor.map"] = lambda: list(std.map(trivial, items))
    skipped = []
    fc_tpe = None
    if hasattr(fastconc, "ThreadPoolExecutor"):
        fc_tpe = fastconc.ThreadPoolExecutor(nthreads)
        cont["fastconc.ThreadPoolExecutor.map"] = (
            lambda: list(fc_tpe.map(trivial, items)))
    else:
        skipped.append({"kernel": "executor",
                        "impl": "fastconc.ThreadPoolExecutor",
                        "reason": "not built"})
    pmap = getattr(fastconc, "parallel_map", None)
    if pmap is not None:
        cont["fastconc.parallel_map"] = (
            lambda: list(pmap(trivial, items, threads=nthreads)))
    else:
        skipped.append({"kernel": "executor", "impl": "fastconc.parallel_map",
                        "reason": "not built"})
    ctx = _mp_context()
    pool = ctx.Pool(nthreads)
    cont["multiprocessing.Pool.map"] = lambda: pool.map(trivial, items)
    few = items[:2000]
    try:
        # warm up: threads and processes started before the timing
        list(std.map(trivial, few))
        if fc_tpe is not None:
            list(fc_tpe.map(trivial, few))
        if pmap is not None:
            list(pmap(trivial, few, threads=nthreads))
        pool.map(trivial, few)
        res = interleaved(cont, repeat, tick)
    finally:
        pool.terminate()
        pool.join()
        std.shutdown()
        if fc_tpe is not None:
            fc_tpe.shutdown()
    std_best = res["stdlib ThreadPoolExecutor.map"].best
    rows = [{"impl": name, "items": nitems, "timing": s.as_json(),
             "ns_per_item": s.best / nitems * 1e9,
             "vs_stdlib_executor": std_best / s.best}
            for name, s in res.items()]
    return rows, skipped


def _mp_context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods
                                       else methods[0])


# --- the countdown -----------------------------------------------------------

_COUNTDOWN_C = r"""
#include <stdint.h>
/* Block kernel for fastconc.map_array: out[i] = in[i] counted down to 0.
   The counter is volatile so the compiler cannot replace the loop by its
   result: this is the same work as the Python loop, one step at a time. */
void countdown(const int64_t *in, int64_t *out, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        volatile int64_t k = in[i];
        while (k > 0) {
            k = k - 1;
        }
        out[i] = k;
    }
}
"""


def native_countdown() -> tuple[Any, str]:
    """A native countdown kernel for map_array, or (None, why not).

    Uses the kernel of ``fastconc.bench.kernels_executor`` when it has one,
    otherwise compiles the C above with the system C compiler."""
    try:
        from . import kernels_executor
        k = getattr(kernels_executor, "countdown_kernel", None)
        if callable(k):
            return k(), ("fastconc's own native countdown kernel "
                         "(a register loop the compiler cannot fold)")
    except (ImportError, AttributeError):  # not built in: compile one
        pass
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    tmp = tempfile.mkdtemp(prefix="fastconc-bench-")
    src = os.path.join(tmp, "countdown.c")
    lib = os.path.join(tmp, "countdown.so")
    with open(src, "w") as f:
        f.write(_COUNTDOWN_C)
    try:
        subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", lib, src],
                       check=True, capture_output=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"no C compiler to build the native countdown ({exc})"
    dll = ctypes.CDLL(lib)
    fn = dll.countdown
    fn.argtypes = [ctypes.POINTER(ctypes.c_int64),
                   ctypes.POINTER(ctypes.c_int64), ctypes.c_int64]
    fn.restype = None
    fn._fastconc_keepalive = dll  # type: ignore[attr-defined]
    return fn, f"compiled at run time with {cc} -O2"


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

    cont: dict[str, Callable[[], object]] = {
        "Python loop, sequential": lambda: count(n),
        f"Python loop, {nthreads} threads": threads,
        f"Python loop, {nthreads} processes": processes,
    }
    skipped: list[dict[str, str]] = []
    note = ""
    map_array = getattr(fastconc, "map_array", None)
    if map_array is None:
        skipped.append({"kernel": "countdown", "impl": "fastconc.map_array",
                        "reason": "not built"})
    else:
        try:
            import numpy as np
        except ImportError:
            np = None  # type: ignore[assignment]
            skipped.append({"kernel": "countdown", "impl": "fastconc.map_array",
                            "reason": "numpy not installed"})
        kernel, note = native_countdown() if np is not None else (None, "")
        if np is not None and kernel is None:
            skipped.append({"kernel": "countdown",
                            "impl": "fastconc.map_array", "reason": note})
        elif np is not None:
            blocks = 64 * nthreads
            arr = np.full(blocks, n // blocks, dtype=np.int64)
            out = np.empty_like(arr)
            cont["native kernel, map_array threads=1"] = (
                lambda: map_array(kernel, arr, out=out, threads=1))
            cont[f"native kernel, map_array threads={nthreads}"] = (
                lambda: map_array(kernel, arr, out=out, threads=nthreads))
            time_once(cont["native kernel, map_array threads=1"])
    res = interleaved(cont, repeat, tick)
    seq = res["Python loop, sequential"].best
    rows = [{"impl": name, "n": n, "timing": s.as_json(),
             "vs_sequential": seq / s.best,
             "note": note if name.startswith("native") else ""}
            for name, s in res.items()]
    return rows, skipped


if __name__ == "__main__":  # pragma: no cover - manual check
    print(native_countdown())
    sys.exit(0)
