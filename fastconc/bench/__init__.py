"""``fastconc bench``: what the GIL costs and what releasing it buys.

Everything is measured in one run on this machine, interleaved and best of
N (see ``timing``), on data built from the files of this machine (see
``corpus``).  Sections:

- the GIL table (``gil_table``): each kernel at 1..N Python threads with the
  GIL held and released, next to the stdlib and installed peers;
- one large buffer (``large``), with the memory bandwidth of the machine;
- small items (``small_items``): per-call overhead at 64 B and 4 KiB;
- executor overhead and the countdown experiment (``executor``);
- the convoy effect (``convoy``);
- with ``--distributed N``: hash_files / compress_files on a local
  dask.distributed cluster at 1 and N workers (``distributed``).

Markdown tables go to stdout, raw samples to ``--json``, bars to ``--plot``.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

MiB = 1 << 20
SECTIONS = ("gil", "large", "small", "executor", "countdown", "convoy")


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


class _Progress:
    """A rich progress bar on stderr when both stdout and stderr are a
    terminal; silent otherwise (piped output stays plain text)."""

    def __init__(self, total: int) -> None:
        self._bar: Any = None
        self._task: Any = None
        self.seconds: dict[str, float] = {}
        if not (sys.stdout.isatty() and sys.stderr.isatty()):
            return
        try:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
        except ImportError:
            return
        self._bar = Progress(TextColumn("{task.description:<28}"), BarColumn(),
                             TextColumn("{task.completed}/{task.total}"),
                             TimeElapsedColumn(),
                             console=Console(stderr=True), transient=True)
        self._task = self._bar.add_task("bench", total=total)

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        if self._bar is not None:
            self._bar.update(self._task, description=what)
        t0 = time.perf_counter()
        yield
        self.seconds[what] = time.perf_counter() - t0
        if self._bar is not None:
            self._bar.advance(self._task)


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


def run(args: argparse.Namespace) -> int:
    from . import convoy, executor, gil_table, large, report, small_items
    from .corpus import build_corpus, chunks, random_data
    from .timing import Samples, control_line, interleaved, native_controls

    try:
        kernels, sections = _plan(args)
    except ValueError as exc:
        print(f"fastconc bench: {exc}", file=sys.stderr)
        return 2
    quick = bool(args.quick)
    if args.distributed is not None:
        return _run_distributed(args)
    nthreads = args.threads or 2
    if nthreads < 1:
        print("fastconc bench: --threads must be at least 1", file=sys.stderr)
        return 2
    counts = list(range(1, nthreads + 1)) if nthreads <= 4 else sorted(
        {1, 2, nthreads // 2, nthreads})
    size = args.size or (16 * MiB if quick else 64 * MiB)
    repeat = max(1, args.repeat)
    budget = 0.02 if quick else 0.1
    n_items = 20_000 if quick else 100_000
    n_tpe = 5_000 if quick else 20_000
    n_count = 5_000_000 if quick else 50_000_000
    started = time.time()
    results: dict[str, Any] = {
        "config": {"quick": quick, "threads": nthreads,
                   "thread_counts": counts, "size": size, "repeat": repeat,
                   "chunk": gil_table.CHUNK, "only": args.only,
                   "gil_budget_seconds": budget, "small_items": n_items,
                   "stdlib_executor_items": n_tpe, "countdown_n": n_count},
    }
    m = report.machine()
    results["machine"] = m
    results["machine_summary"] = report.describe_machine(m)
    skipped: list[dict[str, str]] = []
    out: list[str] = []

    def emit(text: str = "") -> None:
        out.append(text)
        print(text, flush=True)

    emit(f"# fastconc bench{' --quick' if quick else ''}")
    emit()
    emit(f"Machine: {results['machine_summary']}.  ")
    emit(f"Threads: {', '.join(map(str, counts))}; best of {repeat} "
         f"interleaved runs (median in --json).")
    load = m.get("load_average") or [0.0]
    if load[0] > 0.5 * (m.get("usable_cpus") or 1):
        emit()
        emit(f"**This machine was busy** (load average {load[0]:.1f} on "
             f"{m.get('usable_cpus')} cores when the run started): "
             "other programs compete for the cores, so the multi-thread "
             "figures below are unreliable: released speed-ups come out "
             "low, and even threads that take turns on the GIL can look "
             "faster than one, because the scheduler favours threads that "
             "keep waking up. Rerun on an idle machine.")
    emit()

    n_large = sum(1 for k in kernels
                  if k.large and not (quick and k.family == "codec"))
    units = ((len(kernels) + 2) * ("gil" in sections)
             + n_large * ("large" in sections)
             + ("large" in sections) + 2 * ("small" in sections)
             + ("executor" in sections) + ("countdown" in sections)
             + ("convoy" in sections) + 1)
    with _Progress(units) as prog:
        with prog.step("building the corpus"):
            corpus, cinfo = build_corpus(size)
            rnd = random_data(size)
        results["corpus"] = cinfo
        kinds: dict[str, int] = cinfo["bytes_by_kind"]  # type: ignore[assignment]
        emit(f"Data: {size // MiB} MiB corpus of this machine's files "
             f"({', '.join(f'{v / MiB:.1f} MiB {k}' for k, v in kinds.items())};"
             f" {cinfo['files']} files) for the codecs, and {size // MiB} MiB"
             f" of os.urandom for hashes and checksums.")
        emit()

        if "gil" in sections:
            rows: list[dict[str, Any]] = []
            rnd_chunks = chunks(rnd, gil_table.CHUNK)
            cor_chunks = chunks(corpus, gil_table.CHUNK)
            ctl = native_controls(0.05, nthreads) if nthreads > 1 \
                else None
            control: dict[str, dict[str, Samples]] = {}
            if ctl:
                with prog.step("native control, before"):
                    control["before"] = interleaved(ctl, repeat)
            for k in kernels:
                with prog.step(f"GIL table: {k.name}"):
                    base = cor_chunks if k.data == "corpus" else rnd_chunks
                    try:
                        # 16 chunks spread over the corpus (sources
                        # first, binaries last) for the decompressors
                        spread = base[::max(1, len(base) // 16)][:16]
                        inputs = ([k.prepare(bytes(c)) for c in spread]
                                  if k.prepare else base)
                    except Exception as exc:  # noqa: BLE001 - reported
                        skipped.append({"kernel": k.name, "impl": "all",
                                        "reason": "no way to make its input "
                                                  f"({exc})"})
                        continue
                    r, s = gil_table.measure(k, inputs, gil_table.CHUNK,
                                             counts, repeat, budget)
                    rows += r
                    skipped += s
            if ctl:
                with prog.step("native control, after"):
                    control["after"] = interleaved(ctl, repeat)
            results["gil_table"] = rows
            emit(f"## The GIL table: 1 MiB chunks shared by {nthreads} "
                 f"Python threads")
            emit()
            emit("Each thread calls the function on the same chunks, in "
                 "the same order (fastconc with `threads=1`): checksums and "
                 f"hashes go round {gil_table.CACHED_CHUNKS} chunks that stay "
                 "in the cache (one buffer read from memory is the next "
                 "table), codecs round chunks spread over the corpus. "
                 "Throughput of the whole "
                 "group; speed-up = time with 1 thread / time with "
                 f"{nthreads}. Expected: ≈1× held; released, up to "
                 f"{min(nthreads, m.get('usable_cpus') or 1)}× "
                 f"(there are {m.get('usable_cpus')} cores)."
                 + (" (--quick leaves out zlib and the hash variants.)"
                    if quick and not args.only else ""))
            emit()
            emit(report.gil_markdown(rows, counts))
            emit()
            if control:
                results["gil_control"] = {
                    when: {k: v.as_json() for k, v in res.items()}
                    for when, res in control.items()}
                emit(f"What this machine gave {nthreads} threads at the time: "
                     f"{nthreads} copies of a native loop at once against one "
                     "after the other (through `map_array`), before the "
                     f"table: {control_line(control['before'], (), nthreads, '×')};"
                     f" after it: {control_line(control['after'], (), nthreads, '×')}"
                     ". Neither loop touches memory or the interpreter: where "
                     f"they fall short of {nthreads}×, the machine did not give "
                     "the threads whole cores (a shared VM's vCPUs can share "
                     "a core with each other or with other guests), and "
                     "released speed-ups measured at such moments fall short "
                     "with them.")
                emit()

        if "large" in sections:
            # Checksums and the bandwidth they are compared with read at
            # least 64 MiB, more than the caches of current CPUs hold.
            big = max(size, 64 * MiB)
            with prog.step("memory bandwidth"):
                mem = large.memory_bandwidth(big, nthreads, repeat)
                rnd_big = rnd if big == size else random_data(big)
            results["memory"] = mem
            lrows: list[dict[str, Any]] = []
            for k in kernels:
                if not k.large or (quick and k.family == "codec"):
                    continue
                with prog.step(f"large buffer: {k.name}"):
                    nbytes = size
                    if k.data == "corpus":
                        try:
                            data: Any = (k.prepare(corpus) if k.prepare
                                         else corpus)
                        except Exception:  # noqa: BLE001 - see GIL table
                            continue
                    elif k.family == "checksum":
                        data, nbytes = rnd_big, big
                    else:
                        data = rnd
                    lrows += large.measure(k, data, nbytes, nthreads, repeat,
                                           skipped=skipped, raw=corpus)
            results["large"] = lrows
            emit(f"## One large buffer ({size // MiB} MiB"
                 + (f"; checksums {big // MiB} MiB" if big != size else "")
                 + "), one call")
            emit()
            if mem:
                emit(f"Memory read bandwidth (numpy sum of {big // MiB} MiB):"
                     f" {mem['bandwidth_1'] / 1e9:.1f} GB/s with 1 thread, "
                     f"{mem['bandwidth_n'] / 1e9:.1f} GB/s with {nthreads}.")
            else:
                emit("Memory bandwidth not measured (numpy is not installed).")
            if quick:
                emit(" Codecs are left out with --quick.")
            elif any(k.prepare_parallel for k in kernels):
                emit(" Decompression reads what the stdlib/peer wrote; "
                     "\"parallel layout\" rows read what fastconc wrote with "
                     f"threads={nthreads} (independent blocks that fastconc "
                     "can decompress in parallel).")
            emit()
            emit(report.large_markdown(lrows, mem))
            emit()

        if "small" in sections:
            srows: list[dict[str, Any]] = []
            for sz in (64, 4096):
                with prog.step(f"small items: {sz} B"):
                    srows += small_items.measure(corpus, [sz], n_items,
                                                 n_tpe, nthreads, repeat)
            results["small_items"] = srows
            emit(f"## Small items: {n_items:,} items of 64 B and 4 KiB")
            emit()
            emit("Per-call overhead dominates. Batch functions take the whole"
                 " list in one call. The stdlib executor row ran on "
                 f"{n_tpe:,} items, the compression rows on a tenth of the "
                 "items (per-item costs stay comparable). Ratios: against "
                 "the first row of each kernel; the executor row against the "
                 "hashlib loop.")
            emit()
            emit(report.small_markdown(srows))
            emit()

        if "executor" in sections:
            with prog.step("executor overhead"):
                erows, s = executor.overhead(n_items, nthreads, repeat)
            skipped += s
            results["executor"] = erows
            emit(f"## Executor overhead: map of a trivial function over "
                 f"{n_items:,} items, {nthreads} workers")
            emit()
            emit(report.executor_markdown(erows))
            emit()

        if "countdown" in sections:
            with prog.step("countdown"):
                crows, s = executor.countdown(n_count, nthreads, repeat)
            skipped += s
            results["countdown"] = crows
            emit(f"## The countdown: `while n > 0: n -= 1`, n = {n_count:,}"
                 + (" (50,000,000 without --quick)" if quick else ""))
            emit()
            emit("Pure Python holds the GIL: threads take turns, processes "
                 "run in parallel. The same loop as a native kernel runs "
                 "without the GIL.")
            emit()
            emit(report.countdown_markdown(crows))
            notes = {r["note"] for r in crows if r.get("note")}
            if notes:
                emit()
                emit("Native kernel: " + "; ".join(sorted(notes)) + ".")
            emit()

        if "convoy" in sections:
            with prog.step("convoy effect"):
                cv = convoy.measure(corpus, repeat)
            results["convoy"] = cv
            emit("## The convoy effect")
            emit()
            emit(f"A thread sleeps 1 ms in a loop while another makes one "
                 f"{cv['kernel']} call of {cv['call_bytes'] / MiB:.0f} MiB. "
                 f"sys.getswitchinterval() = {cv['switch_interval'] * 1e3:g}"
                 " ms, but a C call that holds the GIL is never interrupted.")
            emit()
            emit(report.convoy_markdown(cv))
            emit()

        results["skipped"] = skipped
        text = report.summary(results)
        if text:
            emit("## What this run shows")
            emit()
            emit(text)
            emit()
        if skipped:
            emit("## Skipped")
            emit()
            emit(report.skipped_markdown(skipped))
            emit()

        try:
            results["load_average_end"] = list(os.getloadavg())
        except OSError:
            pass
        results["elapsed_seconds"] = time.time() - started
        results["step_seconds"] = prog.seconds
        emit(f"Total time: {results['elapsed_seconds']:.0f} s.")
        plot_path = args.plot
        if args.readme and not plot_path:
            plot_path = os.path.join(os.path.dirname(args.readme) or ".",
                                     "docs", "bench.png")
            os.makedirs(os.path.dirname(plot_path), exist_ok=True)
        if plot_path:
            with prog.step("plot"):
                why = report.plot(plot_path, results)
            if why:
                print(f"(plot skipped: {why})", file=sys.stderr)
            else:
                print(f"(plot written to {plot_path})", file=sys.stderr)
        if args.json:
            report.write_json(args.json, results)
        if args.readme:
            update_readme(args.readme, "\n".join(out), plot_path)

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


