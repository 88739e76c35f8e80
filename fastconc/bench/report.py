"""Turn the benchmark results into Markdown tables, JSON and a PNG."""
from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .timing import fmt_time

# distributions whose versions go into the machine description
PACKAGES = ["numpy", "crc32c", "google-crc32c", "xxhash", "isal", "zlib-ng",
            "deflate", "zstandard", "lz4", "pgzip", "blake3", "matplotlib",
            "rich"]


def machine() -> dict[str, Any]:
    """CPU model and flags, cores, OS, Python and library versions."""
    import fastconc

    cpu_model = platform.processor() or platform.machine()
    flags: list[str] = []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and cpu_model in ("", platform.machine(),
                                                         platform.processor()):
                    cpu_model = value.strip()
                elif key == "flags" and not flags:
                    flags = value.split()
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    try:
        from importlib import metadata
        for name in PACKAGES:
            try:
                versions[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                versions[name] = None
    except ImportError:  # pragma: no cover - Python 3.9 has it
        pass
    import ssl
    import zlib
    versions["zlib (runtime)"] = zlib.ZLIB_RUNTIME_VERSION
    versions["openssl"] = ssl.OPENSSL_VERSION
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count() or 1
    try:
        info = fastconc.info()
    except Exception as exc:  # noqa: BLE001 - reported, not fatal
        info = {"error": repr(exc)}
    try:
        load = list(os.getloadavg())
    except OSError:
        load = []
    return {
        "load_average": load,
        "cpu_model": cpu_model,
        "cpu_flags": flags,
        "cpu_count": os.cpu_count(),
        "usable_cpus": affinity,
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "python_build": " ".join(platform.python_build()),
        "gil_enabled": getattr(sys, "_is_gil_enabled", lambda: True)(),
        "fastconc": getattr(fastconc, "__version__", "?"),
        "fastconc_info": info,
        "versions": versions,
    }


def describe_machine(m: dict[str, Any]) -> str:
    fc = m.get("fastconc_info", {})
    simd = fc.get("simd_level", "?") if isinstance(fc, dict) else "?"
    return (f"{m['cpu_model']}, {m['usable_cpus']} cores; "
            f"Python {m['python']} ({m['python_implementation']}); "
            f"{m['os']}; fastconc {m['fastconc']} (SIMD {simd})"
            + (f"; load average {m['load_average'][0]:.1f} at start"
               if m.get("load_average") else ""))


@dataclass
class Column:
    """One column of a Markdown table: header, alignment ("l" or "r") and
    the cell of a row.  Cells of ``group`` columns are printed only where
    the group (the text of all group cells) changes."""
    header: str
    align: str
    cell: Callable[[dict[str, Any]], str]
    group: bool = False


def table(columns: list[Column], rows: list[dict[str, Any]]) -> str:
    body = []
    last: tuple[str, ...] | None = None
    for r in rows:
        cells = [c.cell(r) for c in columns]
        key = tuple(x for c, x in zip(columns, cells) if c.group)
        if key and key == last:
            cells = ["" if c.group else x for c, x in zip(columns, cells)]
        last = key
        body.append(cells)
    return _table([c.header for c in columns], body,
                  "".join(c.align for c in columns))


def _table(header: list[str], rows: list[list[str]],
           align: str | None = None) -> str:
    align = align or "l" + "r" * (len(header) - 1)
    seps = [":--" if a == "l" else "--:" for a in align]
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(seps) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def fmt_x(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio:.2f}×"


def skipped_markdown(skipped: list[dict[str, str]]) -> str:
    seen: dict[tuple[str, str], list[str]] = {}
    for s in skipped:
        seen.setdefault((s["impl"], s["reason"]), []).append(s["kernel"])
    return "\n".join(f"- {impl}: {reason} ({', '.join(ks)})"
                     for (impl, reason), ks in seen.items())


def write_json(path: str, results: dict[str, Any]) -> None:
    with open(path, "w") as f:
        json.dump(results, f, indent=1, default=str)
        f.write("\n")


def plot(path: str, results: dict[str, Any]) -> str | None:
    """Grouped bars, held vs released (and the peer) per kernel; returns
    None when done or the reason it was not drawn."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return ("matplotlib is not installed (pip install 'fastconc[plot]'):"
                " no plot")
    rows = results.get("gil_table", [])
    counts = results["config"]["thread_counts"]
    n = str(max(counts))
    kernels: list[str] = []
    for r in rows:
        if r["kernel"] not in kernels:
            kernels.append(r["kernel"])
    if not kernels:
        return "no GIL-table rows to plot"

    def pick(kernel: str, gil: str) -> dict[str, Any] | None:
        cands = [r for r in rows if r["kernel"] == kernel and r["gil"] == gil]
        if gil == "peer":  # the fastest peer at N threads
            cands = sorted(cands, key=lambda r: -r["throughput"][n])
        return cands[0] if cands else None

    series = [("fastconc, GIL held", "held", "#c44e52"),
              ("fastconc, GIL released", "released", "#2a9d5c"),
              ("stdlib", "stdlib", "#8c8c8c"),
              ("fastest other peer", "peer", "#4c72b0")]
    fig, axes = plt.subplots(2, 1, figsize=(max(9.0, 0.5 * len(kernels) + 2), 7.2),
                             dpi=80)
    width = 0.8 / len(series)
    xs = range(len(kernels))
    top = float(n)
    for i, (label, gil, color) in enumerate(series):
        sp = []
        tp = []
        for k in kernels:
            r = pick(k, gil)
            sp.append(r["speedup"][n] if r else 0.0)
            tp.append(r["throughput"][n] / 1e9 if r else 0.0)
        top = max([top, *sp])
        pos = [x - 0.4 + width * (i + 0.5) for x in xs]
        axes[0].bar(pos, sp, width, label=label, color=color)
        axes[1].bar(pos, tp, width, label=label, color=color)
    axes[0].axhline(1.0, color="black", lw=0.8)
    ideal = min(int(n), results["machine"].get("usable_cpus") or int(n))
    axes[0].axhline(float(ideal), color="black", lw=0.8, ls="--")
    axes[0].set_ylim(0, top * 1.3)
    axes[0].set_ylabel(f"speed-up, {n} threads vs 1")
    m = results["machine"]
    busy = ""
    load = m.get("load_average") or [0.0]
    if load[0] > 0.5 * (m.get("usable_cpus") or 1):
        busy = (f" - BUSY machine (load average {load[0]:.1f}): multi-thread "
                "figures unreliable")
    axes[0].set_title(f"{n} Python threads, 1 MiB chunks: what releasing the "
                      f"GIL buys\n{m['cpu_model']}, {m['usable_cpus']} cores, "
                      f"Python {m['python']}{busy}", fontsize=9)
    axes[1].set_ylabel(f"GB/s with {n} threads")
    axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xticks(list(xs))
        ax.set_xticklabels(kernels, rotation=30, ha="right", fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8, ncol=4, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return None


def _span(values: list[float]) -> str:
    values = sorted(values)
    med = values[len(values) // 2]
    if len(values) == 1:
        return f"{med:.2f}×"
    return f"{values[0]:.2f}–{values[-1]:.2f}× (median {med:.2f}×)"


def summary(results: dict[str, Any]) -> str:
    """A few plain sentences with this run's numbers."""
    out: list[str] = []
    rows = results.get("gil_table") or []
    counts = results["config"]["thread_counts"]
    n = str(max(counts))
    if rows and int(n) > 1:
        held = [r["speedup"][n] for r in rows
                if r["impl"] == "fastconc" and r["gil"] == "held"]
        rel = [r["speedup"][n] for r in rows
               if r["impl"] == "fastconc" and r["gil"] == "released"]
        if held and rel:
            out.append(
                f"- With the GIL held, {n} Python threads ran fastconc's "
                f"kernels at {_span(held)} the speed of one thread: they took "
                f"turns. With the GIL released, the very same calls ran at "
                f"{_span(rel)}.")
        peers: dict[str, float] = {}
        for r in rows:
            if r["gil"] in ("stdlib", "peer"):
                short = r["kernel"].split()[0].split("-")[0]
                label = (r["impl"] if short in r["impl"]
                         else f"{r['impl']} ({r['kernel']})")
                peers[label] = r["speedup"][n]
        if peers:
            par = sorted(k for k, v in peers.items() if v >= 1.5)
            ser = sorted(k for k, v in peers.items() if v < 1.25)
            if par:
                out.append(f"- Peers that scaled ({n} threads ≥ 1.5× one): "
                           + ", ".join(par) + ".")
            if ser:
                out.append("- Peers that did not (< 1.25×; they hold the GIL"
                           " or were starved by other load): "
                           + ", ".join(ser) + ".")
    cd = {r["impl"]: r for r in results.get("countdown") or []}
    if cd:
        parts = [f"{name.replace('Python loop, ', '')} "
                 f"{r['vs_sequential']:.2f}×"
                 for name, r in cd.items() if "sequential" not in name]
        out.append("- The pure-Python countdown against one sequential loop: "
                   + "; ".join(parts) + ".")
    ft = results.get("freethreading")
    if ft and ft["threads"] > 1:
        parts = [f"{r['impl']} {fmt_x(r['speedup'])}" for r in ft["rows"]
                 if r["speedup"] is not None]
        out.append(f"- Pure Python on {ft['threads']} threads against one "
                   f"({ft['interpreter']['label']}): " + "; ".join(parts)
                   + ".")
    cv = results.get("convoy")
    if cv:
        out.append(
            f"- Convoy: while one thread made a "
            f"{fmt_time(cv['held']['call_seconds'])} call with the GIL held, "
            f"a thread sleeping 1 ms woke up to "
            f"{fmt_time(cv['held']['worst_delay_median'])} late; with the GIL"
            f" released, {fmt_time(cv['released']['worst_delay_median'])} "
            f"(switch interval {cv['switch_interval'] * 1e3:g} ms).")
    ex = {r["impl"]: r for r in results.get("executor") or []}
    for name in ("fastconc.ThreadPoolExecutor.map", "fastconc.parallel_map"):
        if name in ex:
            out.append(f"- `{name}` of a trivial function: "
                       f"{fmt_time(ex[name]['ns_per_item'] / 1e9)} per item, "
                       f"{ex[name]['vs_stdlib_executor']:.0f}× less than the "
                       f"stdlib executor's "
                       f"{fmt_time(ex['stdlib ThreadPoolExecutor.map']['ns_per_item'] / 1e9)}.")
    mem = results.get("memory")
    large = results.get("large") or []
    if mem and large:
        best: dict[str, tuple[float, str]] = {}
        for r in large:
            if r["family"] == "checksum" and r["package"] == "fastconc":
                bw = mem["bandwidth_n"] if r["threads"] > 1 else mem["bandwidth_1"]
                share = r["throughput"] / bw
                if share > best.get(r["kernel"], (0.0, ""))[0]:
                    best[r["kernel"]] = (share, r["impl"])
        if best:
            out.append("- On one large buffer, fastconc's checksums reached "
                       + ", ".join(f"{k} {100 * s:.0f}% ({impl})"
                                   for k, (s, impl) in best.items())
                       + " of the memory read bandwidth measured with the "
                         "same thread count.")
    load = results.get("machine", {}).get("load_average")
    if load and load[0] > 0.5 * (results["machine"].get("usable_cpus") or 1):
        end = results.get("load_average_end")
        out.append(f"- Note: the load average was {load[0]:.1f} when this run "
                   "started"
                   + (f" and {end[0]:.1f} when it ended" if end else "")
                   + ": other programs were using the cores, so the "
                   "multi-thread figures are not those of an idle machine.")
    return "\n".join(out)
