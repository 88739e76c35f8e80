"""One large buffer: a single call on the whole buffer.

fastconc runs with ``threads=1`` and with ``threads=N`` (its own pool
splits the buffer and merges the results), next to each installed peer
(and the peers' own threaded modes: pgzip, zstandard's workers, blake3's
``max_threads``).  The memory read bandwidth of the machine is measured in
the same run (a numpy sum at 1 and N threads): on a large buffer a fast
checksum is limited by memory, not by the CPU, so its share of that
bandwidth is printed.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .context import Bench
from .kernels import Kernel
from .report import Column, fmt_x, table
from .timing import Contender, fmt_rate, measure, run_threads

MiB = 1 << 20


def memory_bandwidth(size: int, nthreads: int, repeat: int,
                     tick: Callable[[], None] | None = None
                     ) -> dict[str, Any] | None:
    """Bytes/s of a numpy float64 sum over ``size`` bytes, 1 and N threads."""
    try:
        import numpy as np
    except ImportError:
        return None
    arr = np.full(size // 8, 1.0)
    parts = np.array_split(arr, nthreads)
    # cheap (milliseconds), so many more repeats than the kernels: the
    # bandwidth is the denominator of every share printed; the first call
    # also touches the pages
    res = measure([Contender("1", arr.sum, warm_up=True),
                   Contender("n", lambda: run_threads([p.sum for p in parts]),
                             self_timed=True)], 4 * repeat, tick=tick)
    one, many = res["1"], res["n"]
    return {"bytes": arr.nbytes, "threads": nthreads,
            "samples_1": one.as_json(),
            "samples_n": {"min": many.best, "samples": many.times},
            "bandwidth_1": arr.nbytes / one.best,
            "bandwidth_n": arr.nbytes / many.best}


def contenders(k: Kernel, data: Any, nthreads: int, raw: bytes | None,
               out_size: int, skipped: list[dict[str, str]]
               ) -> list[Contender]:
    """``data`` is the kernel's input; ``raw`` the uncompressed data that a
    decompression kernel's input was made from (``out_size`` bytes)."""
    out: list[Contender] = []

    def add(name: str, fn: Callable[[], object], label: str, pkg: str,
            threads: int) -> None:
        # the warm-up call also touches pages, fills lazy tables, starts pools
        out.append(Contender(name, fn, meta={
            "kernel": k.name, "impl": name, "label": label, "package": pkg,
            "threads": threads}, warm_up=True))

    fc = k.fastconc.fn
    if fc is not None:
        add("fastconc, threads=1", functools.partial(fc, data, None, 1),
            "fastconc", "fastconc", 1)
        if k.fastconc.splits and nthreads > 1:
            add(f"fastconc, threads={nthreads}",
                functools.partial(fc, data, None, nthreads), "fastconc",
                "fastconc", nthreads)
        if (k.prepare_parallel is not None and raw is not None
                and nthreads > 1):
            # input written by fastconc with N threads: its parallel layout
            name = f"fastconc, threads={nthreads}, parallel layout"
            try:
                pdata = k.prepare_parallel(raw, nthreads)
                add(name, functools.partial(fc, pdata, None, nthreads),
                    "fastconc", "fastconc", nthreads)
            except Exception as exc:  # noqa: BLE001 - reported as skipped
                skipped.append({"kernel": k.name, "impl": name, "reason":
                                f"failed: {type(exc).__name__}: {exc}"})
    for p in k.peers:
        if p.single:
            add(p.label, functools.partial(p.call(out_size), data), p.label,
                p.package, 1)
        if p.threads_fn is not None and nthreads > 1:
            add(f"{p.label.split(' (')[0]}, threads={nthreads}",
                functools.partial(p.threads_fn, data, nthreads), p.label,
                p.package, nthreads)
    return out


def measure_kernel(k: Kernel, data: Any, nbytes: int, nthreads: int,
                   repeat: int, tick: Callable[[], None] | None = None,
                   skipped: list[dict[str, str]] | None = None,
                   raw: bytes | None = None) -> list[dict[str, Any]]:
    skips: list[dict[str, str]] = [] if skipped is None else skipped
    out_size = len(raw) if raw is not None and k.prepare else nbytes
    cont = contenders(k, data, nthreads, raw, out_size, skips)
    res = measure(cont, repeat, tick=tick, skipped=skips)
    return [{"kernel": k.name, "family": k.family, "impl": c.key,
             "package": c.meta["package"], "threads": c.meta["threads"],
             "bytes": nbytes, "timing": res[c.key].as_json(),
             "throughput": nbytes / res[c.key].best}
            for c in cont if c.key in res]


# --- the Markdown table --------------------------------------------------------

def markdown(rows: list[dict[str, Any]], mem: dict[str, Any] | None) -> str:
    best_peer: dict[str, float] = {}
    for r in rows:
        if r["package"] != "fastconc":
            best_peer[r["kernel"]] = max(best_peer.get(r["kernel"], 0.0),
                                         r["throughput"])

    def vs_peer(r: dict[str, Any]) -> str:
        best = best_peer.get(r["kernel"])
        return fmt_x(r["throughput"] / best) if best else "–"

    def share(r: dict[str, Any]) -> str:
        if r["family"] != "checksum" or mem is None:
            return ""
        bw = mem["bandwidth_n"] if r["threads"] > 1 else mem["bandwidth_1"]
        return f"{100 * r['throughput'] / bw:.0f}%"

    cols = [
        Column("kernel", "l", lambda r: r["kernel"], group=True),
        Column("implementation", "l",
               lambda r: f"**{r['impl']}**" if r["package"] == "fastconc"
               else r["impl"]),
        Column("throughput", "r", lambda r: fmt_rate(r["throughput"], 1.0)),
        Column("vs fastest peer", "r", vs_peer),
    ]
    if mem:
        cols.append(Column("share of memory bandwidth", "r", share))
    return table(cols, rows)


# --- the section -------------------------------------------------------------

def _kernels(b: Bench) -> list[Kernel]:
    return [k for k in b.kernels
            if k.large and not (b.quick and k.family == "codec")]


def units(b: Bench) -> int:
    return len(_kernels(b)) + 1


def section(b: Bench) -> None:
    from .corpus import random_data

    size = b.size
    # Checksums and the bandwidth they are compared with read at least
    # 64 MiB, more than the caches of current CPUs hold.
    big = max(size, 64 * MiB)
    with b.step("memory bandwidth"):
        mem = memory_bandwidth(big, b.nthreads, b.repeat)
        rnd_big = b.rnd if big == size else random_data(big)
    b.results["memory"] = mem
    rows: list[dict[str, Any]] = []
    for k in _kernels(b):
        with b.step(f"large buffer: {k.name}"):
            nbytes = size
            if k.data == "corpus":
                try:
                    data: Any = (k.prepare(b.corpus) if k.prepare
                                 else b.corpus)
                except Exception:  # noqa: BLE001 - see the GIL table
                    continue
            elif k.family == "checksum":
                data, nbytes = rnd_big, big
            else:
                data = b.rnd
            rows += measure_kernel(k, data, nbytes, b.nthreads, b.repeat,
                                   skipped=b.skipped, raw=b.corpus)
    b.results["large"] = rows
    b.emit(f"## One large buffer ({size // MiB} MiB"
           + (f"; checksums {big // MiB} MiB" if big != size else "")
           + "), one call")
    b.emit()
    if mem:
        b.emit(f"Memory read bandwidth (numpy sum of {big // MiB} MiB):"
               f" {mem['bandwidth_1'] / 1e9:.1f} GB/s with 1 thread, "
               f"{mem['bandwidth_n'] / 1e9:.1f} GB/s with {b.nthreads}.")
    else:
        b.emit("Memory bandwidth not measured (numpy is not installed).")
    if b.quick:
        b.emit(" Codecs are left out with --quick.")
    elif any(k.prepare_parallel for k in b.kernels):
        b.emit(" Decompression reads what the stdlib/peer wrote; "
               "\"parallel layout\" rows read what fastconc wrote with "
               f"threads={b.nthreads} (independent blocks that fastconc "
               "can decompress in parallel).")
    b.emit()
    b.emit(markdown(rows, mem))
    b.emit()
