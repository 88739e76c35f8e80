"""``fastconc bench``: what the GIL costs and what releasing it buys.

Everything is measured in one run on this machine, interleaved and best of
N (see ``timing``), on data built from the files of this machine (see
``corpus``).  Sections:

- the GIL table (``gil_table``): each kernel at 1..N Python threads with the
  GIL held and released, next to the stdlib and installed peers;
- one large buffer (``large``), with the memory bandwidth of the machine;
- small items (``small_items``): per-call overhead at 64 B and 4 KiB;
- executor overhead and the countdown experiment (``executor``);
- pure Python on 1 and N threads, and which interpreter this is: what a
  free-threaded build buys (``freethreading``);
- the convoy effect (``convoy``);
- with ``--distributed N``: hash_files / compress_files on a local
  dask.distributed cluster at 1 and N workers (``distributed``).

What is measured is data: the kernels and their implementations are rows
(``kernels``), which each table turns into ``timing.Contender`` s, and one
runner (``timing.measure``) times every table.  A table is a module with
``units(b)`` and ``section(b)`` over the run's state (``context.Bench``),
listed in ``_sections``.  Markdown tables go to stdout, raw samples to
``--json``, bars to ``--plot``.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from .context import Bench, Progress

MiB = 1 << 20
# the tables, for --only (see _sections)
SECTIONS = ("gil", "large", "small", "executor", "countdown",
            "freethreading", "convoy")


def _size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+)\s*([kKmMgG]?)(i?[bB])?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(
            f"bad size {text!r}: use e.g. 64M, 512K, 1G")
    mult = {"": MiB, "k": 1 << 10, "m": MiB, "g": 1 << 30}[m.group(2).lower()]
    value = int(m.group(1)) * mult
    if value < MiB:
        raise argparse.ArgumentTypeError("size must be at least 1 MiB")
    return value


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="smaller data and fewer items (< 60 s on 2 cores)")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="measure 1..N Python threads (default 2)")
    parser.add_argument("--only", default=None, metavar="NAME,...",
                        help="only these kernels (crc32, sha256, zstd, ...)"
                             " and/or sections (" + ", ".join(SECTIONS) + ")")
    parser.add_argument("--json", default=None, metavar="FILE",
                        help="write every raw sample and the machine "
                             "description to FILE")
    parser.add_argument("--plot", default=None, metavar="FILE.png",
                        help="draw grouped bars (needs matplotlib)")
    parser.add_argument("--size", type=_size, default=None,
                        help="data size, e.g. 64M (default 64M, quick 16M)")
    parser.add_argument("--repeat", type=int, default=5,
                        help="repeats of each measurement, best kept "
                             "(default 5)")
    parser.add_argument("--distributed", type=int, default=None, metavar="N",
                        help="only hash and compress a real file set on a "
                             "local dask cluster at 1 and N worker processes"
                             " (needs fastconc[distributed])")
    parser.add_argument("--readme", default=None, metavar="README.md",
                        help="also rewrite the benchmark section of this "
                             "README (between <!-- bench:start/end -->)")


def _plan(args: argparse.Namespace) -> tuple[list[Any], set[str]]:
    from .kernels import all_kernels, select

    tokens = [t.strip() for t in (args.only or "").split(",") if t.strip()]
    sections = {t for t in tokens if t in SECTIONS}
    names = ",".join(t for t in tokens if t not in SECTIONS)
    kernels = select(all_kernels(), names or None)
    if args.quick and not names:
        kernels = [k for k in kernels if k.quick]
    if names:  # kernels named: their tables, plus any section named
        sections |= {"gil", "large"}
    elif not sections:
        sections = set(SECTIONS)
    return kernels, sections


def _sections() -> list[tuple[str, Callable[[Bench], int],
                              Callable[[Bench], None]]]:
    """Every table, in the order of the report: (name for --only, progress
    steps it takes, the function that measures and prints it).  A new
    table is a module with units() and section(), and a line here."""
    from . import convoy, executor, freethreading, gil_table, large, small_items

    def one(b: Bench) -> int:
        return 1

    return [
        ("gil", gil_table.units, gil_table.section),
        ("large", large.units, large.section),
        ("small", small_items.units, small_items.section),
        ("executor", one, executor.overhead_section),
        ("countdown", one, executor.countdown_section),
        ("freethreading", freethreading.units, freethreading.section),
        ("convoy", convoy.units, convoy.section),
    ]


def _setup(args: argparse.Namespace) -> Bench | int:
    """The run's settings from the command line, or an exit status."""
    try:
        kernels, sections = _plan(args)
    except ValueError as exc:
        print(f"fastconc bench: {exc}", file=sys.stderr)
        return 2
    nthreads = args.threads or 2
    if nthreads < 1:
        print("fastconc bench: --threads must be at least 1", file=sys.stderr)
        return 2
    quick = bool(args.quick)
    counts = list(range(1, nthreads + 1)) if nthreads <= 4 else sorted(
        {1, 2, nthreads // 2, nthreads})
    return Bench(
        args=args, kernels=kernels, sections=sections, quick=quick,
        nthreads=nthreads, counts=counts,
        size=args.size or (16 * MiB if quick else 64 * MiB),
        repeat=max(1, args.repeat), budget=0.02 if quick else 0.1,
        n_items=20_000 if quick else 100_000,
        n_tpe=5_000 if quick else 20_000,
        n_count=5_000_000 if quick else 50_000_000)


def _header(b: Bench) -> None:
    """The configuration and machine, at the top of the report."""
    from . import report
    from .gil_table import CHUNK

    b.results["config"] = {
        "quick": b.quick, "threads": b.nthreads, "thread_counts": b.counts,
        "size": b.size, "repeat": b.repeat, "chunk": CHUNK,
        "only": b.args.only, "gil_budget_seconds": b.budget,
        "small_items": b.n_items, "stdlib_executor_items": b.n_tpe,
        "countdown_n": b.n_count}
    m = b.machine = report.machine()
    b.results["machine"] = m
    b.results["machine_summary"] = report.describe_machine(m)
    b.emit(f"# fastconc bench{' --quick' if b.quick else ''}")
    b.emit()
    b.emit(f"Machine: {b.results['machine_summary']}.  ")
    b.emit(f"Threads: {', '.join(map(str, b.counts))}; best of {b.repeat} "
           f"interleaved runs (median in --json).")
    load = m.get("load_average") or [0.0]
    if load[0] > 0.5 * (m.get("usable_cpus") or 1):
        b.emit()
        b.emit(f"**This machine was busy** (load average {load[0]:.1f} on "
               f"{m.get('usable_cpus')} cores when the run started): "
               "other programs compete for the cores, so the multi-thread "
               "figures below are unreliable: released speed-ups come out "
               "low, and even threads that take turns on the GIL can look "
               "faster than one, because the scheduler favours threads that "
               "keep waking up. Rerun on an idle machine.")
    b.emit()


def _build_data(b: Bench) -> None:
    from .corpus import build_corpus, random_data

    with b.step("building the corpus"):
        b.corpus, cinfo = build_corpus(b.size)
        b.rnd = random_data(b.size)
    b.results["corpus"] = cinfo
    kinds: dict[str, int] = cinfo["bytes_by_kind"]  # type: ignore[assignment]
    size = b.size // MiB
    b.emit(f"Data: {size} MiB corpus of this machine's files "
           f"({', '.join(f'{v / MiB:.1f} MiB {k}' for k, v in kinds.items())};"
           f" {cinfo['files']} files) for the codecs, and {size} MiB"
           f" of os.urandom for hashes and checksums.")
    b.emit()


def _conclusions(b: Bench) -> None:
    from . import report

    b.results["skipped"] = b.skipped
    text = report.summary(b.results)
    if text:
        b.emit("## What this run shows")
        b.emit()
        b.emit(text)
        b.emit()
    if b.skipped:
        b.emit("## Skipped")
        b.emit()
        b.emit(report.skipped_markdown(b.skipped))
        b.emit()


def _outputs(b: Bench, started: float) -> None:
    """Total time, then the plot, the JSON and the README."""
    from . import report

    args = b.args
    try:
        b.results["load_average_end"] = list(os.getloadavg())
    except OSError:
        pass
    b.results["elapsed_seconds"] = time.time() - started
    assert b.progress is not None
    b.results["step_seconds"] = b.progress.seconds
    b.emit(f"Total time: {b.results['elapsed_seconds']:.0f} s.")
    plot_path = args.plot
    if args.readme and not plot_path:
        plot_path = os.path.join(os.path.dirname(args.readme) or ".",
                                 "docs", "bench.png")
        os.makedirs(os.path.dirname(plot_path), exist_ok=True)
    if plot_path:
        with b.step("plot"):
            why = report.plot(plot_path, b.results)
        if why:
            print(f"(plot skipped: {why})", file=sys.stderr)
        else:
            print(f"(plot written to {plot_path})", file=sys.stderr)
    if args.json:
        report.write_json(args.json, b.results)
    if args.readme:
        update_readme(args.readme, "\n".join(b.lines), plot_path)


def run(args: argparse.Namespace) -> int:
    if args.distributed is not None:
        try:
            _plan(args)
        except ValueError as exc:
            print(f"fastconc bench: {exc}", file=sys.stderr)
            return 2
        return _run_distributed(args)
    b = _setup(args)
    if isinstance(b, int):
        return b
    started = time.time()
    _header(b)
    chosen = [s for s in _sections() if s[0] in b.sections]
    units = 1 + sum(steps(b) for _, steps, _ in chosen) + 1
    with Progress(units) as b.progress:
        _build_data(b)
        for _, _, section in chosen:
            section(b)
        _conclusions(b)
        _outputs(b, started)
    return 0


def _run_distributed(args: argparse.Namespace) -> int:
    from . import report

    if args.distributed < 1:
        print("fastconc bench: --distributed must be at least 1",
              file=sys.stderr)
        return 2
    try:
        from .. import distributed as _needs_dask  # noqa: F401
        from . import distributed as bdist
    except ImportError as exc:
        print(f"fastconc bench: {exc}", file=sys.stderr)
        return 2
    size = args.size or (64 * MiB if args.quick else 256 * MiB)
    res = bdist.measure(args.distributed, size, max(1, args.repeat // 2))
    print(f"# fastconc bench --distributed {args.distributed}\n")
    print(f"Machine: {report.describe_machine(report.machine())}.  ")
    print(f"{res['files']} real files, {res['bytes'] / MiB:.0f} MiB; "
          f"{res['worker_threads']}.\n")
    print(bdist.markdown(res))
    if args.json:
        report.write_json(args.json, {"distributed": res})
    return 0


START = "<!-- bench:start -->"
END = "<!-- bench:end -->"


def update_readme(path: str, text: str, plot_path: str | None) -> None:
    """Replace what is between the bench markers of ``path``."""
    with open(path, encoding="utf-8") as f:
        doc = f.read()
    if START not in doc or END not in doc:
        raise SystemExit(f"{path}: no {START} ... {END} section")
    # tables only: the title line becomes a sentence in the README
    lines = text.splitlines()
    body = "\n".join(lines[1:]).strip().replace("\n## ", "\n#### ")
    body = body.replace("## ", "#### ", 1) if body.startswith("## ") else body
    img = ""
    if plot_path:
        rel = os.path.relpath(plot_path, os.path.dirname(os.path.abspath(path)))
        img = f"![held vs released, per kernel]({rel})\n\n"
    new = f"{START}\n{img}{body}\n{END}"
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    with open(path, "w", encoding="utf-8") as f:
        f.write(head + new + tail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fastconc.bench")
    add_arguments(parser, "bench")
    return run(parser.parse_args(argv))


