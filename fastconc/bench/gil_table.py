"""The GIL table: one kernel at 1..N plain ``threading.Thread``s.

Every thread calls the kernel on its share of the 1 MiB chunks, and the
shares are alike: each thread goes through the same chunks in the same
order, so that no thread gets the harder chunks (the compressors' chunks
differ by up to 3x in cost, and dealing them out in turn left one thread
with 10 % more work than the other in a pass of 12 calls).  Checksums and
hashes go round CACHED_CHUNKS of them.  The threads are started once
and parked between passes (timing.run_parked), warm as the native pool's
threads are.  fastconc
runs twice with identical code, ``release_gil=False`` (the GIL stays held,
so the threads take turns) and ``release_gil=True`` (the threads run at the
same time), always with ``threads=1`` so that fastconc's own pool cannot
add parallelism of its own.  The stdlib or PyPI function that does the same
work runs in the same way, with whatever its authors chose for the GIL.
speed-up = time(1 thread) / time(N threads) for the same total work.

A row of the table is a :class:`Variant` (an implementation in one GIL
mode); each (variant, thread count) is one ``timing.Contender``, and all
of a kernel's contenders are measured together, interleaved.  A column is
one entry of :func:`columns`.  Something else measured in the same rounds
(say the native threads of a kernel's ``*_many`` call, beside each row) is
more contenders from :func:`contenders` under keys of their own, a field
that :func:`rows` fills from their samples, and a :class:`Column`.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .context import Bench
from .kernels import Kernel
from .report import Column, fmt_x, table
from .timing import (
    Contender,
    Samples,
    control_line,
    fmt_rate,
    measure,
    native_controls,
    threads_job,
    time_once,
)

CHUNK = 1 << 20
# Checksums and hashes go round this many chunks (8 MiB, which the caches
# of current server CPUs hold), so that their table measures the kernels
# and the GIL, not the memory: one large buffer read from memory has a
# table of its own.  Codecs, slower by far, go round all their chunks.
CACHED_CHUNKS = 8


@dataclass
class Variant:
    """One row: an implementation in one GIL mode, and the size of its
    passes (``calls`` calls on ``distinct`` different chunks)."""
    label: str
    gil: str                  # "held", "released", "stdlib", "peer"
    package: str
    fn: Callable[[Any], object]
    calls: int = 0
    distinct: int = 1


def _one_thread(fc: Callable[..., object], release: bool
                ) -> Callable[[Any], object]:
    """fastconc's call on one chunk: threads=1, the GIL as asked."""
    def call(d: Any) -> object:
        return fc(d, release, 1)
    return call


def variants(k: Kernel, out_size: int
             ) -> tuple[list[Variant], list[dict[str, str]]]:
    """The rows of kernel ``k`` that can run, plus skips."""
    out: list[Variant] = []
    skipped: list[dict[str, str]] = []
    for impl in k.impls:
        if not impl.single:
            if impl.threads_fn is None or impl.note:
                skipped.append({"kernel": k.name, "impl": impl.label,
                                "reason": impl.note or "not installed"})
            continue
        if impl.is_fastconc:
            assert impl.fn is not None
            for gil, release in (("held", False), ("released", True)):
                out.append(Variant(impl.label, gil, impl.package,
                                   _one_thread(impl.fn, release)))
        else:
            out.append(Variant(impl.label, impl.kind, impl.package,
                               impl.call(out_size)))
    return out, skipped


def _calibrate(k: Kernel, v: Variant, inputs: list[Any], lcm: int,
               budget: float) -> None:
    """Size one variant's passes so that a pass at one thread takes about
    ``budget`` seconds.  (Sizing every pass by the slowest one gave a fast
    kernel a few milliseconds per pass, where the second thread's wake-up
    is a visible part of the time.)  Every thread count divides the number
    of calls per pass, which is a whole number of rounds over the
    ``distinct`` chunks in use."""
    cost = min(time_once(lambda: v.fn(inputs[0])) for _ in range(2))
    calls = max(lcm, round(budget / max(cost, 1e-9)))
    calls = min(calls, 64 * len(inputs))
    d = max(1, min(len(inputs), calls // lcm,
                   CACHED_CHUNKS if k.family != "codec" else len(inputs)))
    v.calls = math.ceil(calls / (d * lcm)) * d * lcm
    v.distinct = d


# The key of the native contenders (with the thread count).
NATIVE = "native"
# The key of the control contenders (with native_controls()'s name).
CONTROL = "control"


def _native_job(native: Callable[[list[Any], int], object], work: list[Any],
                threads: int) -> Callable[[], object]:
    return lambda: native(work, threads)


def contenders(k: Kernel, inputs: list[Any], thread_counts: list[int],
               budget: float, skipped: list[dict[str, str]],
               control: dict[str, Callable[[], object]] | None = None
               ) -> tuple[list[Variant], list[Contender]]:
    """The calibrated rows of ``k`` and one self-timed contender per row and
    thread count (key ``(row index, threads)``).  A row whose calibration
    call fails (an API that changed, say) is reported, not fatal.
    ``control`` (native_controls()'s vector loop) joins the same rounds
    under ``(CONTROL, name)``: what the machine gave N threads while this
    kernel was measured."""
    rows, skips = variants(k, CHUNK)
    skipped += skips
    lcm = math.lcm(*thread_counts)
    working = []
    for v in rows:
        try:
            _calibrate(k, v, inputs, lcm, budget)
        except Exception as exc:  # noqa: BLE001 - reported as skipped
            skipped.append({"kernel": k.name, "impl": v.label,
                            "reason": f"failed: {type(exc).__name__}: {exc}"})
            continue
        working.append(v)
    out = []
    native = k.fastconc.native if k.impls else None
    for idx, v in enumerate(working):
        # d chunks spread over the inputs (the corpus's first chunks are
        # all Python sources, its last ones binaries)
        d = v.distinct
        picked = [inputs[i * len(inputs) // d] for i in range(d)]
        for t in thread_counts:
            share = picked * (v.calls // (d * t))
            out.append(Contender((idx, t), threads_job(v.fn, share, t),
                                 meta={"kernel": k.name, "impl": v.label,
                                       "gil": v.gil, "threads": t},
                                 self_timed=True))
        if native is not None and v.gil == "released":
            # the native column: the same chunks, as many calls, on the
            # kernel's own threads (hash_many, compress_many, threads=N)
            work = picked * (v.calls // d)
            for t in thread_counts:
                out.append(Contender(
                    (NATIVE, t), _native_job(native, work, t),
                    meta={"kernel": k.name, "impl": v.label,
                          "gil": "native", "threads": t}))
    if control and working:
        out += [Contender((CONTROL, name), fn,
                          meta={"kernel": k.name, "impl": "control"})
                for name, fn in control.items()]
    return working, out


def rows(k: Kernel, working: list[Variant], results: dict[Any, Samples],
         thread_counts: list[int], nbytes: int) -> list[dict[str, Any]]:
    out = []
    nat = {t: results[NATIVE, t] for t in thread_counts
           if (NATIVE, t) in results}
    native_speedup = ({str(t): nat[1].best / s.best for t, s in nat.items()}
                      if 1 in nat else None)
    # (CONTROL, "vector/2") -> "2"
    ctl = {key[1].split("/")[1]: s for key, s in results.items()
           if isinstance(key, tuple) and key[0] == CONTROL}
    control_speedup = ({t: ctl["1"].best / s.best for t, s in ctl.items()}
                       if "1" in ctl else None)
    for idx, v in enumerate(working):
        total = v.calls * nbytes
        per_t = {t: results[idx, t] for t in thread_counts}
        out.append({
            "kernel": k.name, "family": k.family, "impl": v.label,
            "gil": v.gil, "package": v.package, "calls": v.calls,
            "bytes_per_call": nbytes, "total_bytes": total,
            "threads": {str(t): s.as_json() for t, s in per_t.items()},
            "throughput": {str(t): total / s.best for t, s in per_t.items()},
            "speedup": {str(t): per_t[1].best / s.best
                        for t, s in per_t.items()},
            # the kernel's own threads on the same chunks (None: no batch
            # call for it)
            "native_speedup": native_speedup,
            "native": ({str(t): s.as_json() for t, s in nat.items()}
                       if nat else None),
            # a native loop that touches neither memory nor the
            # interpreter, in the same rounds (None without numpy)
            "control_speedup": control_speedup,
        })
    return out


def measure_kernel(k: Kernel, inputs: list[Any], nbytes: int,
                   thread_counts: list[int], repeat: int, budget: float,
                   tick: Callable[[], None] | None = None,
                   control: dict[str, Callable[[], object]] | None = None
                   ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The table rows of one kernel, and what was skipped."""
    skipped: list[dict[str, str]] = []
    working, cont = contenders(k, inputs, thread_counts, budget, skipped,
                               control)
    if not working:
        return [], skipped
    res = measure(cont, repeat, tick=tick)
    return rows(k, working, res, thread_counts, nbytes), skipped


# --- the Markdown table --------------------------------------------------------

_GIL_CELL = {"held": "held", "released": "**released**",
             "stdlib": "(stdlib)", "peer": "(peer)"}


def _rate_cell(t: str) -> Callable[[dict[str, Any]], str]:
    return lambda r: fmt_rate(r["total_bytes"], r["threads"][t]["min"])


def columns(counts: list[int]) -> list[Column]:
    n = max(counts)
    cols = [
        Column("kernel", "l", lambda r: r["kernel"], group=True),
        Column("implementation", "l",
               lambda r: f"**{r['impl']}**" if r["impl"] == "fastconc"
               else r["impl"]),
        Column("GIL", "l", lambda r: _GIL_CELL[r["gil"]]),
    ]
    for t in counts:
        cols.append(Column(f"{t} thread{'s' if t > 1 else ''}", "r",
                           _rate_cell(str(t))))
    cols.append(Column(f"speed-up {n}/1", "r",
                       lambda r: fmt_x(r["speedup"][str(n)])))
    cols.append(Column(f"native {n}/1", "r", _native_cell(n)))
    cols.append(Column("of native", "r", _of_native_cell(n)))
    cols.append(Column(f"control {n}/1", "r", _control_cell(n)))
    return cols


def _control_cell(n: int) -> Callable[[dict[str, Any]], str]:
    def cell(r: dict[str, Any]) -> str:
        cs = r.get("control_speedup")
        return fmt_x(cs[str(n)]) if cs and str(n) in cs else "–"
    return cell


def _native_cell(n: int) -> Callable[[dict[str, Any]], str]:
    def cell(r: dict[str, Any]) -> str:
        ns = r.get("native_speedup")
        return fmt_x(ns[str(n)]) if ns else "–"
    return cell


def _of_native_cell(n: int) -> Callable[[dict[str, Any]], str]:
    """The row's speed-up over the native one, for the rows whose threads
    can run at once (released, and the peers)."""
    def cell(r: dict[str, Any]) -> str:
        ns = r.get("native_speedup")
        if not ns or r["gil"] == "held":
            return "–"
        return f"{r['speedup'][str(n)] / ns[str(n)]:.2f}"
    return cell


def markdown(rows: list[dict[str, Any]], counts: list[int]) -> str:
    return table(columns(counts), rows)


# --- the section -------------------------------------------------------------

def units(b: Bench) -> int:
    return len(b.kernels) + 2


def section(b: Bench) -> None:
    from .corpus import chunks

    rows_: list[dict[str, Any]] = []
    rnd_chunks = chunks(b.rnd, CHUNK)
    cor_chunks = chunks(b.corpus, CHUNK)
    nthreads = b.nthreads
    ctl = native_controls(0.05, nthreads) if nthreads > 1 else None
    # the vector loop joins every kernel's rounds (the control column)
    row_ctl = ({name: fn for name, fn in ctl.items()
                if name.startswith("vector/")} if ctl else None)
    control: dict[str, dict[Any, Samples]] = {}
    if ctl:
        with b.step("native control, before"):
            control["before"] = measure(
                [Contender(k, fn) for k, fn in ctl.items()], b.repeat)
    for k in b.kernels:
        with b.step(f"GIL table: {k.name}"):
            base = cor_chunks if k.data == "corpus" else rnd_chunks
            try:
                # 16 chunks spread over the corpus (sources first,
                # binaries last) for the decompressors
                spread = base[::max(1, len(base) // 16)][:16]
                inputs = ([k.prepare(bytes(c)) for c in spread]
                          if k.prepare else base)
            except Exception as exc:  # noqa: BLE001 - reported
                b.skipped.append({"kernel": k.name, "impl": "all",
                                  "reason": "no way to make its input "
                                            f"({exc})"})
                continue
            r, s = measure_kernel(k, inputs, CHUNK, b.counts, b.repeat,
                                  b.budget, control=row_ctl)
            rows_ += r
            b.skipped += s
    if ctl:
        with b.step("native control, after"):
            control["after"] = measure(
                [Contender(k, fn) for k, fn in ctl.items()], b.repeat)
    b.results["gil_table"] = rows_
    usable = b.machine.get("usable_cpus")
    b.emit(f"## The GIL table: 1 MiB chunks shared by {nthreads} "
           f"Python threads")
    b.emit()
    b.emit("Each thread calls the function on the same chunks, in "
           "the same order (fastconc with `threads=1`): checksums and "
           f"hashes go round {CACHED_CHUNKS} chunks that stay "
           "in the cache (one buffer read from memory is the next "
           "table), codecs round chunks spread over the corpus. "
           "Throughput of the whole "
           "group; speed-up = time with 1 thread / time with "
           f"{nthreads}. Expected: ≈1× held; released, up to "
           f"{min(nthreads, usable or 1)}× "
           f"(there are {usable} cores). Native {nthreads}/1: the same "
           "chunks, as many calls, on fastconc's own threads "
           "(`crc32c(chunk, threads=N)`, `hash_many`, `compress_many`, "
           "`decompress_many`), measured in the same rounds: the "
           "machine's own ceiling for the row; of native = the row's "
           "speed-up / the native one; control: "
           f"{nthreads} copies of a native vector loop (no memory, no "
           "interpreter) at once against one after the other, in the same "
           "rounds as the row: below "
           f"{nthreads}×, the machine did not give the threads whole cores "
           "then. Python threads are started once and parked between "
           "passes, as the pool's are."
           + (" (--quick leaves out zlib and the hash variants.)"
              if b.quick and not b.args.only else ""))
    b.emit()
    b.emit(markdown(rows_, b.counts))
    b.emit()
    if control:
        b.results["gil_control"] = {
            when: {k: v.as_json() for k, v in res.items()}
            for when, res in control.items()}
        b.emit(f"What this machine gave {nthreads} threads at the time: "
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
        b.emit()
