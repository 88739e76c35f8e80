"""What the command-line modules share: the per-file error type, the
``--version`` text, the thread count for ``-T 0`` and the progress bar.

Nothing here parses arguments or touches files; ``_cli_output`` decides
where results go, ``_cli_decode`` reads compressed input.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Callable

# Progress bars only for work of at least this many bytes.
PROGRESS_MIN = 8 << 20


class CliError(Exception):
    """A per-file failure, reported as 'fastconc: FILE: message' (exit 1);
    ``named=True`` when the message names its file itself (an output's
    name, say), so that only 'fastconc: message' is printed."""

    def __init__(self, message: str, *, named: bool = False) -> None:
        super().__init__(message)
        self.named = named


def version_text(prog: str) -> str:
    """What ``--version`` prints, in the GNU layout ('sha256sum (GNU
    coreutils) 9.1')."""
    from . import __version__
    return f"{prog} (fastconc) {__version__}"


def all_cores() -> int:
    """The thread count ``-T 0`` stands for: every core this process may
    run on, as ``zstd -T0``."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def progress_wanted(total: int, quiet: bool) -> bool:
    """A bar is drawn for long work, on a terminal, unless -q."""
    return not quiet and total >= PROGRESS_MIN and sys.stderr.isatty()


class Progress:
    """A progress bar on stderr (stdout may be carrying the data), drawn
    with tqdm or rich when installed; a no-op when not wanted.  Use as a
    context manager or call close()."""

    def __init__(self, total: int, desc: str, quiet: bool,
                 unit: str = "B") -> None:
        self._update: Callable[[int], Any] | None = None
        self._close: Callable[[], Any] | None = None
        if not progress_wanted(total, quiet):
            return
        try:
            from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            pass
        else:
            bar = tqdm(total=total, desc=desc, unit=unit, unit_scale=True,
                       leave=False, file=sys.stderr)
            self._update, self._close = bar.update, bar.close
            return
        try:
            from rich.console import Console
            from rich.progress import Progress as RichProgress
        except ImportError:
            return
        prog = RichProgress(console=Console(file=sys.stderr), transient=True)
        prog.start()
        task = prog.add_task(desc, total=total)
        self._update = lambda n: prog.update(task, advance=n)
        self._close = prog.stop

    @property
    def active(self) -> bool:
        return self._update is not None

    def update(self, n: int) -> None:
        if self._update is not None:
            self._update(n)

    def close(self) -> None:
        close, self._close, self._update = self._close, None, None
        if close is not None:
            close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
