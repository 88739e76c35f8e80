"""Interleaved best-of-N timing: the one runner of every measurement.

A :class:`Contender` is one thing to time, as data: a key, a callable that
makes one sample, and what the tables need to know about it (kernel,
implementation, GIL mode, threads, item size ...) in ``meta``.
:func:`measure` runs a group of contenders in turn, each round in another
order (a balanced design: see rotated()), so that a burst of load from
elsewhere on a shared machine hits all of them alike and none always runs
after the same other one; each keeps every sample and is summarised by its
minimum (the best estimate of what the code costs) and its median.

``fastconc bench`` measures every table with :func:`measure`, and the
scripts and pytest-benchmark suites of ``benchmarks/`` use the same helpers
(``interleaved``, ``best_of``, ``threads_job``, ``run_parked``,
``native_controls``).
"""
from __future__ import annotations

import glob
import statistics
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

K = TypeVar("K", bound=Hashable)

clock = time.perf_counter


@dataclass
class Samples:
    """Wall-clock seconds of each repeat of one measurement, and what a
    self-timed contender returned beside its time (one record a run)."""
    times: list[float] = field(default_factory=list)
    records: list[Any] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def as_json(self) -> dict[str, Any]:
        return {"min": self.best, "median": self.median,
                "samples": list(self.times)}


@dataclass
class Contender:
    """One measured thing.

    ``run()`` makes one sample.  With ``self_timed`` it returns its own
    seconds (e.g. from a barrier to the last join, leaving out thread
    start-up), or ``(seconds, record)``; otherwise the runner times the
    call.  With ``warm_up`` the runner first makes one untimed call; if that
    raises, the contender is reported as skipped, not measured.
    """
    key: Hashable
    run: Callable[[], object]
    meta: dict[str, Any] = field(default_factory=dict)
    self_timed: bool = False
    warm_up: bool = False


def rotated(names: Sequence[K], repeat: int) -> Iterator[K]:
    """The order of ``repeat`` interleaved rounds over ``names``: every
    round runs each name once, and the rounds follow a Williams design
    (a balanced Latin square: rows r of 0, 1, k-1, 2, k-2, ... plus r
    mod k, and for odd k their reverses too), so that within its first k
    rounds (2k for odd k) every contender runs right after every other.
    A fixed order favours or handicaps a contender by what runs just
    before it: on one machine google_crc32c left a 64 MiB buffer out of
    the L3 cache and halved the speed of whatever read it next."""
    k = len(names)
    base = [0] + [(j + 1) // 2 if j % 2 else k - j // 2 for j in range(1, k)]
    rows = [[(b + r) % k for b in base] for r in range(k)]
    if k % 2:
        rows += [row[::-1] for row in rows]
    for r in range(repeat):
        for i in rows[r % len(rows)]:
            yield names[i]


def skip_record(c: Contender, exc: BaseException) -> dict[str, str]:
    """The "skipped" entry of a contender whose call raised."""
    return {"kernel": str(c.meta.get("kernel", "")),
            "impl": str(c.meta.get("impl", c.key)),
            "reason": f"failed: {type(exc).__name__}: {exc}"}


def measure(contenders: Iterable[Contender], repeat: int, *,
            timer: Callable[[], float] | None = None,
            tick: Callable[[], None] | None = None,
            skipped: list[dict[str, str]] | None = None
            ) -> dict[Hashable, Samples]:
    """Run each contender ``repeat`` times, interleaved in the order of
    rotated(), and return its samples by key.

    ``timer`` (default ``clock``, wall time) times the contenders that do
    not time themselves; ``time.thread_time`` measures single-thread work
    in CPU time, which a busy machine disturbs much less.  ``tick`` is
    called after every sample (a progress bar).  A contender whose warm-up
    call raises goes to ``skipped`` (without that list, the error
    propagates)."""
    now = timer or clock
    live: dict[Hashable, Contender] = {}
    for c in contenders:
        if c.key in live:
            raise ValueError(f"two contenders named {c.key!r}")
        if c.warm_up:
            try:
                c.run()
            except Exception as exc:
                if skipped is None:
                    raise
                skipped.append(skip_record(c, exc))
                continue
        live[c.key] = c
    out = {key: Samples() for key in live}
    for key in rotated(list(live), repeat):
        c = live[key]
        if c.self_timed:
            got: Any = c.run()
            if isinstance(got, tuple):
                got, record = got
                out[key].records.append(record)
            seconds = float(got)
        else:
            t0 = now()
            c.run()
            seconds = now() - t0
        out[key].times.append(seconds)
        if tick is not None:
            tick()
    return out


def interleaved(contenders: dict[K, Callable[[], object]], repeat: int,
                tick: Callable[[], None] | None = None) -> dict[K, Samples]:
    """measure() over a plain {key: callable} dict."""
    res = measure([Contender(k, fn) for k, fn in contenders.items()],
                  repeat, tick=tick)
    return {k: res[k] for k in contenders}


def best_of(fns: dict[K, Callable[[], object]], repeat: int = 5,
            clock: Callable[[], float] = time.perf_counter) -> dict[K, float]:
    """Best (minimum) seconds of each callable over ``repeat`` interleaved
    rounds.  With ``clock=time.thread_time`` single-thread work is timed
    in CPU time."""
    res = measure([Contender(k, fn) for k, fn in fns.items()], repeat,
                  timer=clock)
    return {k: res[k].best for k in fns}


def time_once(fn: Callable[[], object]) -> float:
    t0 = clock()
    fn()
    return clock() - t0


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


class _Parked:
    """``n`` plain ``threading.Thread``s started once and parked between
    passes (daemon threads: they never hold up the interpreter's exit).

    The native side of a comparison runs on fastconc's pool, whose threads
    are started once and stay warm; Python threads started afresh for every
    pass (run_threads) pay for their start on the first calls of each pass
    (a new thread's stack and malloc arena, the first page faults of its
    output buffers), which the pool never does.  Parked threads make the
    two sides alike: both run on threads that have run the same calls
    before."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.start = threading.Barrier(n + 1)
        self.end = threading.Barrier(n + 1)
        self.work: Sequence[Callable[[], object]] = ()
        self.errors: list[BaseException] = []
        self.lock = threading.Lock()    # one pass at a time
        for i in range(n):
            threading.Thread(target=self._loop, args=(i,), daemon=True,
                             name=f"fastconc-bench-{n}-{i}").start()

    def _loop(self, i: int) -> None:
        while True:
            self.start.wait()
            try:
                self.work[i]()
            except BaseException as exc:  # re-raised on the caller
                self.errors.append(exc)
            self.end.wait()

    def run(self, work: Sequence[Callable[[], object]]) -> float:
        with self.lock:
            self.work, self.errors = work, []
            self.start.wait()
            t0 = clock()
            self.end.wait()
            elapsed = clock() - t0
            self.work = ()
            if self.errors:
                raise self.errors[0]
            return elapsed


_parked: dict[int, _Parked] = {}
_parked_lock = threading.Lock()


def run_parked(work: Sequence[Callable[[], object]]) -> float:
    """run_threads() on parked threads (started on the first call for
    that many callables, then reused): release them together and return
    the wall time until the last one finishes.  One callable runs on the
    calling thread, as in run_threads."""
    n = len(work)
    if n == 1:
        return time_once(work[0])
    with _parked_lock:
        group = _parked.get(n)
        if group is None:
            group = _parked[n] = _Parked(n)
    return group.run(work)


def threads_job(fn: Callable[[Any], object], share: Sequence[Any],
                nthreads: int) -> Callable[[], float]:
    """A self-timed job: ``nthreads`` plain threads each call ``fn`` on
    every item of ``share``, the same items in the same order (alike
    shares: no thread is dealt the harder items), released together; it
    returns the wall time until the last one finishes.  The threads are
    parked ones (run_parked), warm as the native pool's are."""
    def body() -> None:
        for item in share:
            fn(item)
    return lambda: run_parked([body] * nthreads)


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
