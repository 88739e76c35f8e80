"""What one ``fastconc bench`` run knows: its settings, its data, its
results so far, and where its text goes.  Every section (a table) reads
and writes a :class:`Bench`."""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .kernels import Kernel

MiB = 1 << 20


class Progress:
    """A rich progress bar on stderr when both stdout and stderr are a
    terminal; silent otherwise (piped output stays plain text).  Records
    the seconds of every step."""

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

    def __enter__(self) -> Progress:
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


@dataclass
class Bench:
    """The state of one run."""
    args: argparse.Namespace
    kernels: list[Kernel]
    sections: set[str]
    quick: bool
    nthreads: int            # the most Python threads measured
    counts: list[int]        # the thread counts measured
    size: int                # bytes of corpus and of random data
    repeat: int              # interleaved rounds, best kept
    budget: float            # seconds of one GIL-table pass at 1 thread
    n_items: int             # small items, executor map
    n_tpe: int               # items through the stdlib executor
    n_count: int             # the countdown's n
    machine: dict[str, Any] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    corpus: bytes = b""
    rnd: bytes = b""
    progress: Progress | None = None

    def emit(self, text: str = "") -> None:
        """One piece of the Markdown report (stdout, and the README)."""
        self.lines.append(text)
        print(text, flush=True)

    @contextmanager
    def step(self, what: str) -> Iterator[None]:
        """One step of the progress bar, timed into step_seconds."""
        if self.progress is None:
            yield
            return
        with self.progress.step(what):
            yield
