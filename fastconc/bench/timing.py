"""Interleaved best-of-N timing.

Contenders are run in turn, A B C A B C ..., so that a burst of load from
elsewhere on a shared machine hits all of them alike; each keeps every
sample and is summarised by its minimum (the best estimate of what the
code costs) and its median.
"""
from __future__ import annotations

import glob
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

clock = time.perf_counter


@dataclass
class Samples:
    """Wall-clock seconds of each repeat of one measurement."""
    times: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def as_json(self) -> dict[str, Any]:
        return {"min": self.best, "median": self.median,
                "samples": list(self.times)}


def time_once(fn: Callable[[], object]) -> float:
    t0 = clock()
    fn()
    return clock() - t0


def interleaved(contenders: dict[str, Callable[[], object]], repeat: int,
                tick: Callable[[], None] | None = None) -> dict[str, Samples]:
    """Run each contender ``repeat`` times, alternating; return samples."""
    out = {name: Samples() for name in contenders}
    for _ in range(repeat):
        for name, fn in contenders.items():
            out[name].times.append(time_once(fn))
            if tick is not None:
                tick()
    return out


def run_threads(work: Sequence[Callable[[], object]]) -> float:
    """Start one plain ``threading.Thread`` per callable, release them
    together and return the wall time until the last one finishes."""
    n = len(work)
    if n == 1:
        return time_once(work[0])
    barrier = threading.Barrier(n + 1)
    errors: list[BaseException] = []

    def body(fn: Callable[[], object]) -> None:
        barrier.wait()
        try:
            fn()
        except BaseException as exc:  # re-raised on the caller below
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(fn,)) for fn in work]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = clock()
    for t in threads:
        t.join()
    elapsed = clock() - t0
    if errors:
        raise errors[0]
    return elapsed


def fmt_rate(nbytes: float, seconds: float) -> str:
    """Throughput in MB/s or GB/s, three significant figures."""
    rate = nbytes / seconds
    if rate >= 1e9:
        return f"{rate / 1e9:.3g} GB/s"
    return f"{rate / 1e6:.3g} MB/s"


def fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.3g} µs"
    return f"{seconds * 1e9:.3g} ns"


def native_controls(seconds: float = 0.05, threads: int = 2
                    ) -> dict[str, Callable[[], object]] | None:
    """Contenders that tell what this machine gives N threads right now, to
    be interleaved with an N-thread measurement: N copies of a native loop
    through ``fastconc.map_array``, one after the other on one thread
    (``"<kind>/1"``) and at once on N (``"<kind>/N"``); speed-up =
    time(/1) / time(/N).  ``vector`` is bound by the throughput of the
    vector units (as the checksums are), ``scalar`` by the latency of one
    add (the countdown).  None without numpy or the kernels."""
    try:
        import ctypes

        import numpy as np

        import fastconc
        core = fastconc._core
        addrs = {"vector": core._vector_kernel_address(),
                 "scalar": core._countdown_kernel_address()}
    except (ImportError, AttributeError):
        return None
    proto = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)

    def run(kernel: Any, work: Any, threads: int) -> Callable[[], object]:
        return lambda: fastconc.map_array(kernel, work, threads=threads)

    out: dict[str, Callable[[], object]] = {}
    for kind, addr in addrs.items():
        kernel = proto(addr)
        probe = run(kernel, np.full(1, 1 << 16, dtype=np.int64), 1)
        cost = min(time_once(probe) for _ in range(3))
        n = max(1, int((1 << 16) * seconds / max(cost, 1e-9)))
        work = np.full(threads, n, dtype=np.int64)
        for t in sorted({1, threads}):
            out[f"{kind}/{t}"] = run(kernel, work, t)
    return out


def control_line(samples: dict[Any, Samples], prefix: Any = (),
                 threads: int = 2, times: str = "x") -> str:
    """'vector loop 1.93x, add chain 1.99x' from native_controls() samples."""
    def key(name: str) -> Any:
        return (*prefix, name) if prefix else name
    parts = []
    for kind, label in (("vector", "vector loop"), ("scalar", "add chain")):
        one = samples.get(key(f"{kind}/1"))
        two = samples.get(key(f"{kind}/{threads}"))
        if one is not None and two is not None:
            parts.append(f"{label} {one.best / two.best:.2f}{times}")
    return ", ".join(parts)


def voluntary_switches() -> int:
    """Voluntary context switches of this process's threads so far, from
    /proc (Linux): a thread that blocks (on a lock, the GIL, a condition
    variable) makes one; a thread that spins or runs does not."""
    n = 0
    for path in glob.glob("/proc/self/task/*/status"):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        n += int(line.split()[1])
        except OSError:           # a thread that just ended
            pass
    return n
