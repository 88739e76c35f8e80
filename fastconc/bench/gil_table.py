"""The GIL table: one kernel at 1..N plain ``threading.Thread``s.

Every thread calls the kernel on its share of the 1 MiB chunks, and the
shares are alike: each thread goes through the same chunks in the same
order, so that no thread gets the harder chunks (the compressors' chunks
differ by up to 3x in cost, and dealing them out in turn left one thread
with 10 % more work than the other in a pass of 12 calls).  Checksums and
hashes go round CACHED_CHUNKS of them.  fastconc
runs twice with identical code, ``release_gil=False`` (the GIL stays held,
so the threads take turns) and ``release_gil=True`` (the threads run at the
same time), always with ``threads=1`` so that fastconc's own pool cannot
add parallelism of its own.  The stdlib or PyPI function that does the same
work runs in the same way, with whatever its authors chose for the GIL.
speed-up = time(1 thread) / time(N threads) for the same total work.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

from .kernels import Kernel
from .timing import Samples, rotated, run_threads, time_once

CHUNK = 1 << 20
# Checksums and hashes go round this many chunks (8 MiB, which the caches
# of current server CPUs hold), so that their table measures the kernels
# and the GIL, not the memory: one large buffer read from memory has a
# table of its own.  Codecs, slower by far, go round all their chunks.
CACHED_CHUNKS = 8


def _impls(k: Kernel) -> tuple[list[tuple[str, str, str, Callable[[Any], object]]],
                               list[dict[str, str]]]:
    """(label, gil, package, fn) for everything measurable, plus skips."""
    out = []
    skipped = []
    if k.fc is None:
        skipped.append({"kernel": k.name, "impl": "fastconc",
                        "reason": k.fc_note or "not built"})
    else:
        fc = k.fc
        out.append(("fastconc", "held", "fastconc",
                    lambda d: fc(d, False, 1)))
        out.append(("fastconc", "released", "fastconc",
                    lambda d: fc(d, True, 1)))
    for p in k.peers:
        if p.fn is None:
            if p.threads_fn is None or p.note:
                skipped.append({"kernel": k.name, "impl": p.label,
                                "reason": p.note or "not installed"})
            continue
        out.append((p.label, "stdlib" if p.stdlib else "peer", p.package,
                    p.fn))
    return out, skipped


def measure(k: Kernel, inputs: list[Any], nbytes: int, thread_counts: list[int],
            repeat: int, budget: float,
            tick: Callable[[], None] | None = None) -> tuple[list[dict[str, Any]],
                                                             list[dict[str, str]]]:
    impls, skipped = _impls(k)
    # Calibrate each implementation on its own, so that one pass of it at
    # one thread takes about ``budget`` seconds.  (Sizing every pass by the
    # slowest one gave a fast kernel a few milliseconds per pass, where the
    # second thread's wake-up is a visible part of the time.)  An
    # implementation that fails (an API that changed, say) is reported, not
    # fatal.
    # Every thread count divides the number of calls per pass, which is a
    # whole number of rounds over the `distinct` chunks in use.
    lcm = math.lcm(*thread_counts)
    counts = []
    distinct = []
    working = []
    for impl in impls:
        try:
            call = functools.partial(impl[3], inputs[0])
            cost = min(time_once(call) for _ in range(2))
        except Exception as exc:  # noqa: BLE001 - reported as skipped
            skipped.append({"kernel": k.name, "impl": impl[0],
                            "reason": f"failed: {type(exc).__name__}: {exc}"})
            continue
        calls = max(lcm, round(budget / max(cost, 1e-9)))
        calls = min(calls, 64 * len(inputs))
        d = max(1, min(len(inputs), calls // lcm,
                       CACHED_CHUNKS if k.family != "codec" else len(inputs)))
        counts.append(math.ceil(calls / (d * lcm)) * d * lcm)
        distinct.append(d)
        working.append(impl)
    impls = working
    if not impls:
        return [], skipped

    def job(fn: Callable[[Any], object], calls: int, d: int,
            t: int) -> Callable[[], float]:
        # d chunks spread over the inputs (the corpus's first chunks are
        # all Python sources, its last ones binaries)
        picked = [inputs[i * len(inputs) // d] for i in range(d)]
        share = picked * (calls // (d * t))
        shares = [share] * t

        def one(share: list[Any]) -> Callable[[], None]:
            def body() -> None:
                for item in share:
                    fn(item)
            return body
        return lambda: run_threads([one(s) for s in shares])

    contenders: dict[str, Callable[[], float]] = {}
    for idx, (_, _, _, fn) in enumerate(impls):
        for t in thread_counts:
            contenders[f"{idx}/{t}"] = job(fn, counts[idx], distinct[idx], t)
    # run_threads returns the time between the barrier and the last join,
    # which leaves out thread creation; keep that, not the outer timing.
    results: dict[str, Samples] = {name: Samples() for name in contenders}
    for name in rotated(list(contenders), repeat):
        results[name].times.append(contenders[name]())
        if tick is not None:
            tick()
    rows = []
    for idx, (label, gil, pkg, _) in enumerate(impls):
        calls = counts[idx]
        total = calls * nbytes
        per_t = {t: results[f"{idx}/{t}"] for t in thread_counts}
        row = {
            "kernel": k.name, "family": k.family, "impl": label, "gil": gil,
            "package": pkg, "calls": calls, "bytes_per_call": nbytes,
            "total_bytes": total,
            "threads": {str(t): s.as_json() for t, s in per_t.items()},
            "throughput": {str(t): total / s.best for t, s in per_t.items()},
            "speedup": {str(t): per_t[1].best / s.best
                        for t, s in per_t.items()},
        }
        rows.append(row)
    return rows, skipped


