"""``fastconc compress`` and ``fastconc decompress``, with gzip's and
zstd's flags (see ``HELP`` below and the README's command-line section).

Per FILE (``-`` or none: stdin to stdout):
- the input is checked as gzip checks it: a directory, a FIFO or device,
  a symbolic link or a file with other hard links is refused unless the
  output goes to stdout (or ``-f`` for links);
- the output is opened by ``_cli_output.Output`` (regular file: temporary
  + rename; device, FIFO, symbolic link, stdout: written through);
- compressing goes through ``fastconc.compress`` (a regular file of up to
  ONESHOT_MAX bytes, in one call on ``-T`` threads) or ``fastconc.open``
  (larger files and pipes, in blocks), so the CLI writes whatever layout
  the library writes;
- decompressing, testing and listing read through ``_cli_decode``;
- the input is removed only after the output was completely written, and
  only when the output is a regular file (gzip's default), or with --rm.

Exit status: 0 success; 1 when any file failed or was refused (gzip
returns 2 for a file it skips with a warning, zstd 1); 2 for a usage
error (argparse; gzip and zstd return 1).
"""
from __future__ import annotations

import argparse
import mmap
import os
import stat
import sys
from typing import IO, Any, cast

from . import _core
from . import compress as fc_compress
from . import decompress as fc_decompress
from ._cli_common import CliError, Progress, all_cores, version_text
from ._cli_decode import (
    CHUNK,
    choose_codec,
    decode,
    gzip_header_length,
    zstd_check,
)
from ._cli_list import Row, gzip_table, zstd_table
from ._cli_output import Output
from ._open import _EXTENSIONS, CompressedFile

FORMATS = ("gzip", "zlib", "deflate", "zstd", "lz4")
SUFFIX = {"gzip": ".gz", "zstd": ".zst", "lz4": ".lz4", "zlib": ".zz",
          "deflate": ".deflate"}
# The levels each codec has at the command line (gzip -1..-9, zstd
# -1..-19 and --ultra -20..-22, lz4 -1..-12); anything else is refused,
# never clamped.
LEVELS = {"gzip": (1, 9), "zlib": (1, 9), "deflate": (1, 9),
          "zstd": (1, 19), "lz4": (1, 12)}
ULTRA_MAX = 22
DEFAULT_FORMAT = "zstd"
# A regular input up to this size is compressed by one fastconc.compress
# call (the input and output in memory; the library lays out the members
# or frames knowing the size).  Larger inputs and pipes are streamed
# through fastconc.open in blocks, with a progress bar on a terminal.
ONESHOT_MAX = 64 << 20

DESCRIPTION = {
    "compress": "Compress FILEs (gzip's and zstd's flags; -d decompresses).",
    "decompress": "Decompress FILEs (gzip's and zstd's flags).",
}
EPILOG = """\
levels: -1 .. -19 (zstd; -20 .. -22 with --ultra), -1 .. -9 (gzip, zlib,
  deflate), -1 .. -12 (lz4); --fast: the fastest (zstd: --fast=N is level
  -N), --best: the strongest; a level the format lacks is an error.
removal: as gzip, the input is removed once its output was written in
  full to a regular file; -k keeps it (zstd's default), --rm removes it
  even when the output is a device or FIFO; -c, -t and -l never remove.
  A symbolic link or a file with other hard links is refused unless -f
  (then the link itself is removed, never its target).
output: a new or regular output file is written to a temporary file and
  renamed, so a failure leaves neither a partial output nor a missing
  input; an existing output needs -f.  A character device, FIFO or
  symbolic link given to -o is written through and stays what it was.
exit status: 0 ok, 1 a file failed or was refused, 2 usage error."""


class _LevelAction(argparse.Action):
    """-1 .. -22: the level is the option's own number."""

    def __call__(self, parser: argparse.ArgumentParser,
                 namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        assert option_string is not None
        namespace.level = ("n", int(option_string[1:]))


class _FastAction(argparse.Action):
    """--fast[=N] (prepare_argv gives a bare --fast its =1)."""

    def __call__(self, parser: argparse.ArgumentParser,
                 namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        n = values
        if n < 1:
            parser.error(f"--fast={n}: N must be >= 1")
        namespace.level = ("fast", n)


class _LongLevelAction(argparse.Action):
    def __call__(self, parser: argparse.ArgumentParser,
                 namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        namespace.level = ("n", values)


def prepare_argv(argv: list[str]) -> list[str]:
    """A bare ``--fast`` becomes ``--fast=1``: zstd's ``--fast[=N]`` takes
    its number only after '=', so ``--fast FILE`` must not read FILE as
    N (argparse's optional values would)."""
    out: list[str] = []
    for i, arg in enumerate(argv):
        if arg == "--":
            return out + argv[i:]
        out.append("--fast=1" if arg == "--fast" else arg)
    return out


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    parser.description = DESCRIPTION[command]
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.set_defaults(level=None, remove=None, _parser=parser)
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help="files to process ('-' or none: stdin to "
                        "stdout)")
    mode = parser.add_argument_group("operation")
    if command == "compress":
        mode.add_argument("-d", "--decompress", "--uncompress",
                          action="store_true",
                          help="decompress (as the decompress command)")
    else:
        mode.add_argument("-d", "--decompress", "--uncompress",
                          action="store_true",
                          help="decompress (the default here; accepted as "
                          "gzip -d)")
    mode.add_argument("-t", "--test", action="store_true",
                      help="test the compressed files' integrity (nothing "
                      "is written)")
    mode.add_argument("-l", "--list", action="store_true",
                      help="list compressed and uncompressed sizes, ratio "
                      "and name (gzip -l's table; zstd -l's for zstd "
                      "files)")
    out = parser.add_argument_group("output")
    out.add_argument("-c", "--stdout", "--to-stdout", action="store_true",
                     help="write to stdout, keep the input files")
    out.add_argument("-o", metavar="FILE", dest="output", default=None,
                     help="write to FILE (one input FILE only; '-': "
                     "stdout)")
    out.add_argument("-k", "--keep", dest="remove", action="store_const",
                     const=False,
                     help="keep the input files (default: remove them "
                     "after success, as gzip)")
    out.add_argument("--rm", dest="remove", action="store_const",
                     const=True,
                     help="remove the input files after success, even "
                     "when the output is a device or FIFO (zstd's flag)")
    out.add_argument("-f", "--force", action="store_true",
                     help="overwrite existing outputs, follow symbolic "
                     "links and hard-linked inputs, read or write a "
                     "terminal")
    out.add_argument("-S", "--suffix", metavar="SUF", default=None,
                     help="suffix of compressed files (default: .gz .zst "
                     ".lz4 .zz .deflate by format)")
    codec = parser.add_argument_group("format and level")
    codec.add_argument("--format", "--codec", dest="format",
                       choices=FORMATS, default=None,
                       help="compressed format (compress default: "
                       f"{DEFAULT_FORMAT}; decompress: from the magic "
                       "bytes, else the suffix)")
    codec.add_argument(*[f"-{n}" for n in range(1, ULTRA_MAX + 1)],
                       action=_LevelAction, nargs=0, dest="level",
                       help=argparse.SUPPRESS)
    codec.add_argument("--level", action=_LongLevelAction, type=int,
                       metavar="N", dest="level",
                       help="or -1 .. -19: compression level (see "
                       "levels below)")
    codec.add_argument("--fast", action=_FastAction, type=int,
                       metavar="N", dest="level",
                       help="--fast[=N]: the fastest level (zstd: "
                       "--fast=N is level -N)")
    codec.add_argument("--best", action="store_const", const=("best", 0),
                       dest="level", help="strongest level")
    codec.add_argument("--ultra", action="store_true",
                       help="zstd: allow levels 20 .. 22")
    codec.add_argument("-T", "--threads", type=int, metavar="N",
                       default=None,
                       help="threads (0: all cores; compress default: the "
                       "pool size, 1 for zlib/deflate; decompress default "
                       "1 = streamed, N > 1 decodes each file in memory "
                       "in parallel)")
    misc = parser.add_argument_group("messages")
    misc.add_argument("-q", "--quiet", action="store_true",
                      help="no progress bar, no notes")
    misc.add_argument("-v", "--verbose", action="store_true",
                      help="a line per file: ratio and what was done")
    misc.add_argument("-V", "--version", action="version",
                      version=version_text(f"fastconc {command}"))


# --- options ------------------------------------------------------------------

class _Options:
    """The parsed options, checked and resolved once for all files."""

    def __init__(self, args: argparse.Namespace) -> None:
        parser: argparse.ArgumentParser = args._parser
        self.command: str = args.command
        mode = "decompress" if (args.command == "decompress"
                                or args.decompress) else "compress"
        if args.test and args.list:
            parser.error("-t and -l do not go together")
        if args.test:
            mode = "test"
        elif args.list:
            mode = "list"
        self.mode = mode
        self.files: list[str] = args.files or ["-"]
        self.force: bool = args.force
        self.quiet: bool = args.quiet
        self.verbose: bool = args.verbose and not args.quiet
        self.remove: bool | None = args.remove
        self.format: str | None = args.format
        output = args.output
        if output is not None and args.stdout and output != "-":
            parser.error("-c and -o do not go together")
        if output is not None and mode in ("test", "list"):
            parser.error(f"-o does not go with -{mode[0]} (nothing is "
                         "written)")
        if output is not None and len(self.files) > 1:
            parser.error("-o takes exactly one input FILE")
        self.stdout = args.stdout or output == "-"
        self.output: str | None = None if output == "-" else output
        if args.suffix is not None and (not args.suffix
                                        or "/" in args.suffix):
            parser.error(f"invalid suffix {args.suffix!r}")
        self.suffix: str | None = args.suffix
        if args.threads is not None and args.threads < 0:
            parser.error("-T N: N must be >= 0 (0: all cores)")
        self.threads_arg: int | None = args.threads
        self.codec = self.format or DEFAULT_FORMAT
        self.level: int | None = None
        if mode == "compress":
            self.level = _resolve_level(parser, args.level, self.codec,
                                        args.ultra)

    def threads(self) -> int:
        t = self.threads_arg
        if t is None:
            if self.mode != "compress" or self.codec in ("zlib", "deflate"):
                return 1
            return _core.get_threads()
        return all_cores() if t == 0 else t


def _resolve_level(parser: argparse.ArgumentParser,
                   spec: tuple[str, int] | None, codec: str,
                   ultra: bool) -> int | None:
    if spec is None:
        return None
    kind, n = spec
    lo, hi = LEVELS[codec]
    if kind == "best":
        return hi
    if kind == "fast":
        if codec == "zstd":
            return -n                     # zstd's ultra-fast levels
        if n != 1:
            parser.error(f"--fast={n}: --format={codec} has no level below "
                         f"{lo} (--fast=N is zstd's)")
        return lo
    if codec == "zstd" and hi < n <= ULTRA_MAX:
        if not ultra:
            parser.error(f"level {n} needs --ultra (zstd's levels 20 .. "
                         f"{ULTRA_MAX})")
        return n
    if not lo <= n <= hi:
        parser.error(f"--format={codec} has no level {n} (its levels are "
                     f"{lo} .. {hi}"
                     + (f", {hi + 1} .. {ULTRA_MAX} with --ultra)"
                        if codec == "zstd" else ")"))
    return n


# --- one file -----------------------------------------------------------------

def _removable_names(opts: _Options) -> list[str]:
    """The suffixes a decompress input may carry, -S first."""
    names = [opts.suffix] if opts.suffix else []
    return names + sorted(_EXTENSIONS, key=len, reverse=True)


def _output_name(src: str, opts: _Options) -> str:
    if opts.mode == "compress":
        suffix = opts.suffix or SUFFIX[opts.codec]
        if src.endswith(suffix) and not opts.force:
            raise _SkipNote(f"{src} already has {suffix} suffix -- unchanged")
        return src + suffix
    for suffix in _removable_names(opts):
        if src.lower().endswith(suffix.lower()) and \
                len(os.path.basename(src)) > len(suffix):
            base = src[:-len(suffix)]
            return base + ".tar" if suffix.lower() == ".tgz" else base
    raise CliError("unknown suffix -- ignored (use -o or -c to name the "
                   "output)")


class _SkipNote(Exception):  # noqa: N818 - a note, not an error
    """A file left alone with a note, not an error (gzip exits 0 for a
    file that already has the suffix)."""


def _check_input(src: str, opts: _Options, to_stdout: bool
                 ) -> os.stat_result:
    """lstat rules, as gzip's: returns the stat of what will be read."""
    try:
        lst = os.lstat(src)
    except OSError as exc:
        raise CliError(exc.strerror or str(exc)) from None
    reads_only = to_stdout or opts.mode in ("test", "list")
    if stat.S_ISLNK(lst.st_mode):
        if not (reads_only or opts.force):
            raise CliError("is not a directory or a regular file (a "
                           "symbolic link) -- ignored; -f follows it and "
                           "removes the link, not its target")
        try:
            st = os.stat(src)
        except OSError as exc:
            raise CliError(exc.strerror or str(exc)) from None
    else:
        st = lst
    if stat.S_ISDIR(st.st_mode):
        raise CliError("is a directory -- ignored")
    if not stat.S_ISREG(st.st_mode):
        # A FIFO or device is read only where nothing decides to remove
        # it: to stdout, to -o, or -t/-l.
        if not (reads_only or opts.output is not None):
            raise CliError("is not a directory or a regular file -- "
                           "ignored (use -c or -o)")
    elif st.st_nlink > 1 and not (reads_only or opts.force):
        others = st.st_nlink - 1
        raise CliError(f"has {others} other link{'s' if others > 1 else ''}"
                       " -- file ignored (use -f to process it and remove "
                       "this link)")
    return st


class _Sink:
    """The output file object as seen by the writers: counts bytes and
    keeps the first ones (for the ratio's gzip header length).  Seekable
    only over a fresh temporary file (``seekable``), where the gzip
    writer goes back to fill in its block index."""

    def __init__(self, fp: IO[bytes], seekable: bool = False) -> None:
        self._fp = fp
        self._seekable = seekable
        self._pos = 0
        self.name = ""
        self.count = 0
        self.head = b""

    def write(self, data: Any) -> int:
        n = self._fp.write(data)
        size = memoryview(data).nbytes
        if self._pos == len(self.head) < 256:
            self.head += bytes(memoryview(data)[:256 - len(self.head)])
        self._pos += size
        self.count = max(self.count, self._pos)
        return n if n is not None else size

    def seekable(self) -> bool:
        return self._seekable

    def tell(self) -> int:
        return self._pos

    def seek(self, pos: int, whence: int = os.SEEK_SET) -> int:
        if not self._seekable or whence != os.SEEK_SET:
            raise OSError("the output is not seekable")
        self._fp.seek(pos)
        self._pos = pos
        return pos

    def flush(self) -> None:
        self._fp.flush()


def _read_all(fp: IO[bytes]) -> Any:
    """The whole input for a parallel call: a map of a regular file, else
    the bytes read."""
    try:
        return mmap.mmap(fp.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError, AttributeError):
        return fp.read()                # a pipe, or an empty file


def _compress(inp: IO[bytes], st: os.stat_result | None, sink: _Sink,
              opts: _Options, name: str) -> int:
    """Returns the number of input bytes."""
    threads = opts.threads()
    if st is not None and stat.S_ISREG(st.st_mode) \
            and st.st_size <= ONESHOT_MAX:
        data = inp.read()
        sink.write(fc_compress(data, opts.codec, opts.level, threads=threads))
        return len(data)
    if opts.codec in ("zlib", "deflate"):
        threads = 1          # one zlib stream cannot be split in blocks
    total = 0
    size = st.st_size if st is not None else 0
    with Progress(size, name, opts.quiet) as bar, \
            CompressedFile(None, "wb", opts.codec, opts.level, threads,
                           fileobj=cast(IO[bytes], sink),
                           mtime=0 if opts.codec == "gzip" else None,
                           _expected_size=size if st is not None and
                           stat.S_ISREG(st.st_mode) else None) as out:
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        while True:
            n = inp.readinto(view)  # type: ignore[attr-defined]
            if not n:
                break
            out.write(view[:n])
            total += n
            bar.update(n)
    return total


def _decompress(inp: IO[bytes], st: os.stat_result | None, sink: _Sink | None,
                opts: _Options, src: str) -> tuple[int, Row]:
    """Decode ``inp`` into ``sink`` (None: test/list).  Returns the
    compressed size and the listing row."""
    name = None if src == "-" else src
    threads = opts.threads()
    size = st.st_size if st is not None else 0
    if threads > 1 and opts.mode != "list":
        data = _read_all(inp)
        try:
            if not len(data):
                raise CliError("unexpected end of file: the input is empty")
            codec = choose_codec(bytes(data[:64]), name, opts.format)
            out = fc_decompress(data, codec, threads=threads)
            if sink is not None:
                sink.write(out)
            row = Row("", codec, len(data), len(out))
            return len(data), row
        finally:
            if isinstance(data, mmap.mmap):
                data.close()
    with Progress(size, os.path.basename(src), opts.quiet) as bar:
        def read(n: int) -> bytes:
            data = inp.read(n)
            bar.update(len(data))
            return data

        head = read(CHUNK)
        codec = choose_codec(head, name, opts.format)
        info = decode(read, codec, head,
                      sink.write if sink is not None else _discard)
    hdr = gzip_header_length(info.head) if codec == "gzip" else None
    row = Row("", codec, info.compressed, info.uncompressed,
              overhead=(hdr + 8) if hdr is not None else 0,
              units=info.units, skips=info.skips,
              check=zstd_check(info.head))
    return info.compressed, row


def _discard(data: bytes) -> None:
    pass


def _ratio(smaller: int, larger: int) -> str:
    """gzip -v's percentage: how much smaller the compressed side is."""
    return f"{(100.0 * (larger - smaller) / larger) if larger else 0.0:5.1f}%"


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False


def _process(src: str, opts: _Options, rows: list[tuple[Row, str]]) -> None:
    stdin = src == "-"
    to_stdout = opts.stdout or (stdin and opts.output is None)
    writes = opts.mode in ("compress", "decompress")
    if opts.mode == "compress" and to_stdout and not opts.force \
            and _isatty(sys.stdout):
        raise CliError("compressed data not written to a terminal (use -f "
                       "to force)")
    if opts.mode != "compress" and stdin and not opts.force \
            and _isatty(sys.stdin):
        raise CliError("compressed data not read from a terminal (use -f "
                       "to force)")
    st: os.stat_result | None = None
    if not stdin:
        st = _check_input(src, opts, to_stdout)
    dst: str | None = None
    if writes:
        dst = "-" if to_stdout else (opts.output if opts.output is not None
                                     else _output_name(src, opts))
    inp: IO[bytes]
    if stdin:
        inp = sys.stdin.buffer
    else:
        inp = open(src, "rb")  # noqa: SIM115 - closed in the finally below
    out: Output | None = None
    landed_in_file = False
    try:
        if dst is not None:
            out = Output.open(dst, force=opts.force,
                              source=None if stdin else src)
        sink = _Sink(out.fp, seekable=out.fresh) if out is not None \
            else None
        if opts.mode == "compress":
            assert sink is not None
            n_in = _compress(inp, st, sink, opts, os.path.basename(src))
            n_out = sink.count
        else:
            n_in, row = _decompress(inp, st, sink, opts, src)
            n_out = row.uncompressed
            if opts.mode == "list":
                rows.append((row, src))
        if out is not None:
            landed_in_file = out.regular
            out.commit()
            out = None
    finally:
        if not stdin:
            inp.close()
        if out is not None:
            out.abort()
    # Success: only now may the input go.
    removed = False
    if not stdin and writes and not to_stdout and st is not None \
            and stat.S_ISREG(st.st_mode):
        if opts.remove or (opts.remove is None and landed_in_file):
            os.unlink(src)
            removed = True
    if opts.verbose:
        shown = "stdin" if stdin else src
        if opts.mode == "test":
            msg = f"{shown}:\t OK"
        elif opts.mode == "list":
            return
        else:
            small, big = (n_out, n_in) if opts.mode == "compress" \
                else (n_in, n_out)
            msg = f"{shown}:\t{_ratio(small, big)}"
            if not to_stdout:
                msg += f" -- {'replaced with' if removed else 'created'} " \
                       f"{dst}"
        print(msg, file=sys.stderr)


def _list_name(src: str, opts: _Options) -> str:
    if src == "-":
        return "stdout"          # gzip -l's name for standard input
    try:
        return _output_name(src, opts)
    except CliError:
        return src


def _print_list(rows: list[tuple[Row, str]], opts: _Options) -> None:
    if not rows:
        return
    header = not opts.quiet
    if all(r.codec == "zstd" for r, _ in rows):
        # zstd -l prints its header even with -q.
        lines = zstd_table([r for r, _ in rows],
                           ["stdin" if s == "-" else s for _, s in rows])
    else:
        for r, src in rows:
            r.name = _list_name(src, opts)
        lines = gzip_table([r for r, _ in rows], header)
    sys.stdout.write("".join(line + "\n" for line in lines))
    sys.stdout.flush()


def run(args: argparse.Namespace) -> int:
    opts = _Options(args)
    status = 0
    rows: list[tuple[Row, str]] = []
    for src in opts.files:
        try:
            _process(src, opts, rows)
        except BrokenPipeError:
            raise
        except _SkipNote as note:
            if not opts.quiet:
                print(f"fastconc: {note}", file=sys.stderr)
        except (CliError, OSError, ValueError) as exc:
            # ValueError covers DecompressionError and bad settings.
            if isinstance(exc, CliError) and exc.named:
                print(f"fastconc: {exc}", file=sys.stderr)
            else:
                print(f"fastconc: {_shown(src)}: {_message(exc)}",
                      file=sys.stderr)
            status = 1
    if opts.mode == "list":
        _print_list(rows, opts)
    return status


def _shown(src: str) -> str:
    return "(stdin)" if src == "-" else src


def _message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror + (f": {exc.filename}" if exc.filename else "")
    return str(exc)
