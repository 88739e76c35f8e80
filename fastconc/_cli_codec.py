"""``fastconc compress`` and ``fastconc decompress``.

    fastconc compress   [-c zstd|gzip|lz4|zlib|deflate] [-l N] [-T N]
                        [-k] [-f] [-o F] [-q] FILE...
    fastconc decompress [-c CODEC] [-T N] [-k] [-f] [-o F] [-q] FILE...

FILE ``-`` (or no FILE) reads stdin and writes stdout.  Output goes to a
temporary file in the output's directory that is renamed over the output
only once everything was written, so a failure never leaves a partial
output; the input is removed after success unless ``-k`` (as gzip does).
Exit status: 0 on success, 1 if any file failed (message on stderr naming
the file).
"""
from __future__ import annotations

import argparse
import io
import mmap
import os
import shutil
import stat
import sys
import tempfile
from typing import IO, Any, Callable

from . import _core
from ._open import _EXTENSIONS, CompressedFile

SUFFIX = {"gzip": ".gz", "zstd": ".zst", "lz4": ".lz4", "zlib": ".zz",
          "deflate": ".deflate"}
CODECS = tuple(SUFFIX)
CHUNK = 1 << 20
# Progress bars only for inputs at least this large.
PROGRESS_MIN = 8 << 20


class CliError(Exception):
    """A per-file failure reported as 'fastconc: FILE: message'."""


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help=f"files to {command} ('-' or none: stdin to "
                        "stdout)")
    parser.add_argument("-c", "--codec", choices=CODECS,
                        default="zstd" if command == "compress" else None,
                        help="codec (default: %s)" % (
                            "zstd" if command == "compress"
                            else "detected from the magic bytes"))
    if command == "compress":
        parser.add_argument("-l", "--level", type=int, default=None,
                            help="compression level (default: the codec's)")
        parser.add_argument("-T", "--threads", type=int, default=None,
                            help="compression threads (default: the pool "
                            "size for gzip/zstd/lz4, 1 for zlib/deflate)")
    else:
        parser.add_argument("-T", "--threads", type=int, default=None,
                            help="N > 1: decompress each file in one go on "
                            "N threads (fastconc's parallel layout; holds "
                            "the whole output in memory); default: stream "
                            "on one thread")
    parser.add_argument("-k", "--keep", action="store_true",
                        help="keep the input files")
    parser.add_argument("-f", "--force", action="store_true",
                        help="overwrite existing outputs")
    parser.add_argument("-o", "--output", metavar="F", default=None,
                        help="write to F ('-': stdout); one FILE only")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar")


def _progress(total: int, desc: str, quiet: bool) -> Callable[[int], None]:
    """An update(nbytes) callback drawing a bar on a terminal, else a
    no-op.  Uses tqdm or rich when installed."""
    if quiet or total < PROGRESS_MIN or not sys.stderr.isatty():
        return lambda n: None
    try:
        from tqdm import tqdm
    except ImportError:
        pass
    else:
        bar = tqdm(total=total, desc=desc, unit="B", unit_scale=True,
                   leave=False, file=sys.stderr)
        _open_bars.append(bar.close)
        update: Callable[[int], None] = bar.update
        return update
    try:
        from rich.console import Console
        from rich.progress import Progress
    except ImportError:
        return lambda n: None
    # On stderr: stdout may be carrying the data.
    prog = Progress(console=Console(file=sys.stderr), transient=True)
    prog.start()
    task = prog.add_task(desc, total=total)
    _open_bars.append(prog.stop)
    return lambda n: prog.update(task, advance=n)


_open_bars: list[Callable[[], Any]] = []


def _close_bars() -> None:
    while _open_bars:
        _open_bars.pop()()


class _CountingReader:
    """A file wrapper telling the progress bar how much was read."""

    def __init__(self, fp: IO[bytes], update: Callable[[int], None]) -> None:
        self._fp = fp
        self._update = update
        self.name = getattr(fp, "name", "")
        self.total = 0

    def read(self, n: int = -1) -> bytes:
        data = self._fp.read(n)
        self.total += len(data)
        self._update(len(data))
        return data


def _output_name(src: str, command: str, codec: str | None,
                 force: bool) -> str:
    if command == "compress":
        suffix = SUFFIX[codec]  # type: ignore[index]
        if src.endswith(suffix) and not force:
            raise CliError(f"already has {suffix} suffix -- unchanged "
                           "(use -f to compress it anyway)")
        return src + suffix
    base, ext = os.path.splitext(src)
    if ext.lower() not in _EXTENSIONS or not base:
        raise CliError("unknown suffix -- ignored (use -o to name the "
                       "output)")
    if ext.lower() == ".tgz":
        return base + ".tar"
    return base


def _copy(src: Any, dst: IO[bytes]) -> None:
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    while True:
        n = src.readinto(view)
        if not n:
            return
        dst.write(view[:n])


def _compress_stream(src: Any, dst: IO[bytes], args: argparse.Namespace,
                     threads: int) -> None:
    with CompressedFile(dst, "wb", args.codec, args.level, threads) as out:
        while True:
            data = src.read(CHUNK)
            if not data:
                break
            out.write(data)


def _decompress_stream(src: Any, dst: IO[bytes],
                       args: argparse.Namespace) -> None:
    with CompressedFile(src, "rb", args.codec) as inp:
        _copy(inp, dst)
    if src.total == 0:
        # open() reads an empty file as empty data (like gzip.open); a
        # command asked to decompress nothing reports it, like gzip -d.
        raise CliError("unexpected end of file: the input is empty")


def _decompress_parallel(src: Any, dst: IO[bytes], args: argparse.Namespace,
                         threads: int) -> None:
    """-T N: the whole input in memory (mmap for files), one parallel
    fastconc.decompress call."""
    fp = src._fp
    data: Any
    try:
        data = mmap.mmap(fp.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, io.UnsupportedOperation, AttributeError):
        data = fp.read()           # a pipe, or an empty file
    try:
        src.total = len(data)
        src._update(len(data))
        if not data:
            raise CliError("unexpected end of file: the input is empty")
        out = _core.decompress(data, args.codec, threads=threads)
        dst.write(out)
    finally:
        if isinstance(data, mmap.mmap):
            data.close()


def _convert(src: Any, dst: IO[bytes], args: argparse.Namespace,
             threads: int) -> None:
    if args.command == "compress":
        _compress_stream(src, dst, args, threads)
    elif threads > 1:
        _decompress_parallel(src, dst, args, threads)
    else:
        _decompress_stream(src, dst, args)


def _threads(args: argparse.Namespace) -> int:
    if args.threads is not None:
        if args.threads < 1:
            raise CliError("-T must be >= 1")
        return int(args.threads)
    if args.command == "decompress":
        return 1
    if args.codec in ("zlib", "deflate"):
        return 1
    return _core.get_threads()


def _process(src: str, args: argparse.Namespace) -> None:
    command = args.command
    threads = _threads(args)
    stdin = src == "-"
    dst = args.output
    if dst is None:
        dst = "-" if stdin else _output_name(src, command, args.codec,
                                             args.force)
    to_stdout = dst == "-"
    if to_stdout and command == "compress" and sys.stdout.isatty() \
            and not args.force:
        raise CliError("compressed data not written to a terminal (use -f "
                       "to force)")

    if stdin:
        in_fp: IO[bytes] = sys.stdin.buffer
        size = 0
    else:
        try:
            st = os.stat(src)
        except OSError as exc:
            raise CliError(exc.strerror or str(exc)) from None
        if stat.S_ISDIR(st.st_mode):
            raise CliError("is a directory -- ignored")
        if not to_stdout and os.path.exists(dst):
            if os.path.samefile(src, dst):
                raise CliError("input and output are the same file")
            if not args.force:
                raise CliError(f"{dst} already exists (use -f to "
                               "overwrite)")
        in_fp = open(src, "rb")  # noqa: SIM115 - closed in the finally below
        size = st.st_size

    update = _progress(size, os.path.basename(src), args.quiet)
    reader = _CountingReader(in_fp, update)
    tmp_path = None
    try:
        if to_stdout:
            out_fp = sys.stdout.buffer
            _convert(reader, out_fp, args, threads)
            out_fp.flush()
        else:
            directory = os.path.dirname(os.path.abspath(dst))
            fd, tmp_path = tempfile.mkstemp(
                dir=directory, prefix="." + os.path.basename(dst) + ".",
                suffix=".tmp")
            with os.fdopen(fd, "wb") as out_fp:
                _convert(reader, out_fp, args, threads)
                out_fp.flush()
                os.fsync(out_fp.fileno())
            if not stdin:
                shutil.copystat(src, tmp_path)
            os.replace(tmp_path, dst)
            tmp_path = None
    finally:
        _close_bars()
        if not stdin:
            in_fp.close()
        if tmp_path is not None:
            try:
                os.unlink(tmp_path)
            except OSError:
                pass
    # Success: only now may the input go.
    if not stdin and not to_stdout and not args.keep:
        os.unlink(src)


def run(args: argparse.Namespace) -> int:
    files = args.files or ["-"]
    if args.output is not None and len(files) > 1:
        print("fastconc: -o takes exactly one input FILE", file=sys.stderr)
        return 1
    if getattr(args, "level", None) is not None:
        try:
            _core.Compressor(args.codec, args.level)
        except ValueError as exc:
            print(f"fastconc: {exc}", file=sys.stderr)
            return 1
    status = 0
    for src in files:
        try:
            _process(src, args)
        except BrokenPipeError:
            raise
        except (CliError, OSError, ValueError) as exc:
            # ValueError covers DecompressionError and bad settings.
            msg = str(exc)
            if isinstance(exc, OSError) and exc.strerror:
                msg = exc.strerror + (f": {exc.filename}"
                                      if exc.filename else "")
            name = "(stdin)" if src == "-" else src
            print(f"fastconc: {name}: {msg}", file=sys.stderr)
            status = 1
    return status
