"""``fastconc hash``: print or check digests with the flags and formats of
coreutils ``sha256sum`` / ``md5sum`` (GNU coreutils 9) and, for blake3,
``b3sum`` (1.x).

Printing: ``<hex>  <name>`` (``<hex> *<name>`` with ``-b``), or with
``--tag`` the BSD form ``SHA256 (<name>) = <hex>``.  A name with a
backslash, newline or carriage return is escaped (``\\\\``, ``\\n``,
``\\r``) and its line starts with a backslash; ``-z`` ends lines with NUL
instead and escapes nothing.  ``-`` (or no FILE) reads standard input.
Files are hashed in parallel on the native pool (``-T``); output stays in
argument order.  ``-a blake3`` prints what ``b3sum`` prints (only
backslash and newline are escaped), and ``-l N`` gives N-byte digests.

Checking (``-c``): lines in any of those forms, with LF or CRLF endings,
or NUL-terminated (``-z`` output); prints ``<name>: OK`` / ``FAILED`` /
``FAILED open or read``, warnings on stderr, exit status 1 when anything
failed, as coreutils does, with ``--ignore-missing``, ``--quiet``,
``--status``, ``--strict`` and ``-w``.

Usage errors exit with 2 (argparse), where coreutils uses 1.
"""
from __future__ import annotations

import argparse
import errno
import os
import re
import sys
from collections.abc import Iterator
from typing import BinaryIO

from . import _core
from ._cli_common import Progress, all_cores, progress_wanted, version_text

PROG = "fastconc hash"
CHUNK = 1 << 18
BATCH = 256
# With a progress bar: a batch holds at most this many bytes, and a file
# this large is hashed alone, in pieces, so that the bar moves.
BATCH_BYTES = 256 << 20
STREAM_PIECE = 16 << 20
# The names of the BSD (--tag) form, as coreutils, b2sum and xxhsum write
# them.
TAGS = {"md5": "MD5", "sha1": "SHA1", "sha224": "SHA224",
        "sha256": "SHA256", "sha384": "SHA384", "sha512": "SHA512",
        "sha3_256": "SHA3-256", "sha3_512": "SHA3-512",
        "blake2b": "BLAKE2b", "blake2s": "BLAKE2s", "blake3": "BLAKE3",
        "xxh32": "XXH32", "xxh64": "XXH64", "xxh3_64": "XXH3",
        "xxh3_128": "XXH128"}
MAX_LENGTH = 1 << 16
CHECK_ONLY = ("ignore_missing", "strict")


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    parser.description = ("Print or check digests (sha256sum's flags and "
                          "formats; b3sum's for blake3).")
    parser.set_defaults(_parser=parser, report=None)
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help="files to hash, or with -c lists to check "
                        "(- or none: standard input)")
    parser.add_argument("-a", "--algorithm", default="sha256",
                        help="hash algorithm (default sha256); one of: "
                        + ", ".join(sorted(_core.algorithms_available)))
    parser.add_argument("-b", "--binary", dest="read_mode",
                        action="store_const", const="binary",
                        help="read in binary mode (no difference on Linux; "
                        "lines are marked '*' as coreutils does)")
    parser.add_argument("-t", "--text", dest="read_mode",
                        action="store_const", const="text",
                        help="read in text mode (the default; no "
                        "difference on Linux)")
    parser.add_argument("-c", "--check", action="store_true",
                        help="read checksums from the FILEs and check them")
    parser.add_argument("--tag", action="store_true",
                        help="BSD-style lines: SHA256 (FILE) = HEX")
    parser.add_argument("-z", "--zero", action="store_true",
                        help="end each output line with NUL, not newline, "
                        "and do not escape file names")
    parser.add_argument("-l", "--length", type=int, metavar="N",
                        default=None,
                        help="blake3 only (b3sum's flag): digests of N "
                        "bytes (default 32)")
    parser.add_argument("-T", "--threads", type=int, default=None,
                        help="threads used to hash files (default, or 0: "
                        "all)")
    group = parser.add_argument_group("with --check")
    group.add_argument("--ignore-missing", action="store_true",
                       help="don't fail or report status for missing files")
    # --quiet, --status and --warn each cancel the others (the last one
    # given counts), as in coreutils.
    group.add_argument("--quiet", dest="report", action="store_const",
                       const="quiet",
                       help="don't print OK for each good file")
    group.add_argument("--status", dest="report", action="store_const",
                       const="status",
                       help="print nothing, the exit status tells")
    group.add_argument("--strict", action="store_true",
                       help="exit non-zero for improperly formatted lines")
    group.add_argument("-w", "--warn", dest="report", action="store_const",
                       const="warn",
                       help="warn about improperly formatted lines")
    parser.add_argument("-V", "--version", action="version",
                        version=version_text(PROG))


def _warn(msg: str) -> None:
    sys.stdout.flush()
    sys.stderr.write(f"{PROG}: {msg}\n")
    sys.stderr.flush()


def _os_message(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _listing_name(listing: str) -> str:
    return "'standard input'" if listing == "-" else listing


# --- hashing ------------------------------------------------------------------

def _hasher(algo: str, threads: int | None) -> _core.Hash | _core.blake3 | \
        _core.XXHash:
    if algo == "blake3":
        return _core.blake3(threads=threads)
    return _core.new(algo)


def _final(h: _core.Hash | _core.blake3 | _core.XXHash,
           length: int | None) -> bytes:
    if isinstance(h, _core.blake3) and length is not None:
        return h.digest(length)
    return h.digest()


def _hash_stream(algo: str, f: BinaryIO, threads: int | None,
                 length: int | None, bar: Progress,
                 piece: int = CHUNK) -> bytes:
    h = _hasher(algo, threads)
    while True:
        block = f.read(piece)
        if not block:
            return _final(h, length)
        h.update(block)
        bar.update(len(block))


def _hash_alone(algo: str, name: str, threads: int | None,
                length: int | None, bar: Progress) -> bytes | OSError:
    """One file hashed in pieces (long blake3 digests; big files under a
    progress bar)."""
    try:
        with open(name, "rb") as f:
            return _hash_stream(algo, f, threads, length, bar, STREAM_PIECE)
    except OSError as exc:
        if exc.filename is None:
            exc.filename = name
        return exc


def _digests(algo: str, names: list[str], threads: int | None,
             lengths: list[int | None], bar: Progress,
             sizes: dict[str, int]) -> Iterator[tuple[str, bytes | OSError]]:
    """(name, digest or the OSError) for each name, in order; the files
    are hashed in batches on the pool.  ``lengths[i]``: blake3's digest
    length for names[i] (None: the algorithm's)."""
    size = _core.new(algo).digest_size

    def alone(k: int) -> bool:
        want = lengths[k]
        return (want is not None and want > size) or (
            bar.active and sizes.get(names[k], 0) >= BATCH_BYTES)

    i = 0
    while i < len(names):
        name, length = names[i], lengths[i]
        if name == "-":
            try:
                yield name, _hash_stream(algo, sys.stdin.buffer, threads,
                                         length, bar)
            except OSError as exc:
                yield name, exc
            i += 1
            continue
        if alone(i):
            yield name, _hash_alone(algo, name, threads, length, bar)
            i += 1
            continue
        j, nbytes = i, 0
        while (j < len(names) and j - i < BATCH and names[j] != "-"
               and not alone(j)
               and not (bar.active and nbytes >= BATCH_BYTES)):
            nbytes += sizes.get(names[j], 0)
            j += 1
        batch = names[i:j]
        # A file that fails gets its OSError in its place; the others are
        # still hashed.
        results: list[bytes | OSError] = []
        for result in _core.hash_files(algo, batch, threads=threads,
                                       errors="return"):
            if isinstance(result, Exception) and \
                    not isinstance(result, OSError):
                raise result
            results.append(result)
        bar.update(nbytes)
        for k, (one, result) in enumerate(zip(batch, results)):
            want = lengths[i + k]
            if isinstance(result, bytes) and want is not None:
                # A shorter BLAKE3 output is a prefix of the longer one.
                result = result[:want]
            yield one, result
        i = j


def _progress_for(names: list[str], quiet: bool
                  ) -> tuple[Progress, dict[str, int]]:
    """A bar over the total size of the regular files named, when one is
    wanted; sizes by name for the batching."""
    sizes: dict[str, int] = {}
    if quiet or not sys.stderr.isatty():
        return Progress(0, "", True), sizes
    for name in names:
        if name != "-" and name not in sizes:
            try:
                sizes[name] = os.stat(name).st_size
            except OSError:
                pass
    total = sum(sizes.values())
    if not progress_wanted(total, quiet):
        return Progress(0, "", True), {}
    return Progress(total, "hashing", quiet), sizes


# --- printing -------------------------------------------------------------------

def _escaped_chars(algo: str) -> str:
    """The characters that get a name escaped: coreutils 9 escapes CR
    too, b3sum does not."""
    return "\\\n" if algo == "blake3" else "\\\n\r"


def _escape(name: str, chars: str = "\\\n\r") -> str:
    name = name.replace("\\", "\\\\").replace("\n", "\\n")
    return name.replace("\r", "\\r") if "\r" in chars else name


def _unescape(name: str) -> str:
    out, i = [], 0
    while i < len(name):
        c = name[i]
        if c == "\\" and i + 1 < len(name):
            nxt = name[i + 1]
            out.append({"\\": "\\", "n": "\n", "r": "\r"}.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _write(line: str) -> None:
    # Names are file-system strings: write them back as the same bytes.
    sys.stdout.buffer.write(os.fsencode(line))


def _sum_line(args: argparse.Namespace, digest: bytes, name: str) -> str:
    chars = _escaped_chars(args.algorithm)
    prefix = ""
    if not args.zero and any(c in name for c in chars):
        prefix, name = "\\", _escape(name, chars)
    end = "\0" if args.zero else "\n"
    if args.tag:
        return f"{prefix}{TAGS[args.algorithm]} ({name}) = {digest.hex()}{end}"
    mark = "*" if args.read_mode == "binary" else " "
    return f"{prefix}{digest.hex()} {mark}{name}{end}"


def _print_sums(args: argparse.Namespace) -> int:
    status = 0
    names = args.files or ["-"]
    bar, sizes = _progress_for(names, False)
    with bar:
        for name, result in _digests(args.algorithm, names, args.threads,
                                     [args.length] * len(names), bar,
                                     sizes):
            if isinstance(result, OSError):
                _warn(f"{name}: {_os_message(result)}")
                status = 1
                continue
            _write(_sum_line(args, result, name))
    sys.stdout.flush()
    return status


# --- checking -------------------------------------------------------------------

def _parse_line(line: str, algo: str, size: int,
                zero: bool) -> tuple[str, str] | None:
    """(hex, name) from one line of a checksum list, or None.  In a
    NUL-terminated list (-z output) nothing is escaped."""
    escaped = not zero and line.startswith("\\")
    if escaped:
        line = line[1:]
    m = re.fullmatch(r"([0-9a-fA-F]+) [ *](.+)", line, re.DOTALL)
    if m is None:
        tags = {TAGS[algo], algo, algo.upper().replace("_", "-")}
        alt = "|".join(re.escape(t) for t in sorted(tags))
        m2 = re.fullmatch(rf"(?:{alt}) \((.+)\) = ([0-9a-fA-F]+)", line,
                          re.DOTALL)
        if m2 is None:
            return None
        hexdigest, name = m2.group(2), m2.group(1)
    else:
        hexdigest, name = m.group(1), m.group(2)
    if algo == "blake3":
        # b3sum -l N writes 2N hex digits; read any whole length back.
        if len(hexdigest) % 2 or not 2 <= len(hexdigest) <= 2 * MAX_LENGTH:
            return None
    elif len(hexdigest) != 2 * size:
        return None
    return hexdigest.lower(), _unescape(name) if escaped else name


def _read_listing(listing: str) -> bytes:
    if listing == "-":
        return sys.stdin.buffer.read()
    with open(listing, "rb") as f:
        return f.read()


def _split_lines(raw: bytes) -> tuple[list[bytes], bool]:
    """The lines of a checksum list and whether it is NUL-terminated.  A
    name never holds a NUL, so one NUL means -z output; otherwise lines
    end with LF, or CRLF as GNU accepts."""
    if b"\0" in raw:
        return raw.split(b"\0"), True
    lines = raw.split(b"\n")
    return [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines], False


def _check_file(args: argparse.Namespace, listing: str) -> int:
    algo = args.algorithm
    size = _core.new(algo).digest_size
    try:
        raw = _read_listing(listing)
    except OSError as exc:
        _warn(f"{listing}: {_os_message(exc)}")
        return 1
    lines, zero = _split_lines(raw)
    entries: list[tuple[str, str]] = []
    bad_lines = 0
    for number, bline in enumerate(lines, 1):
        if bline == b"" or bline.startswith(b"#"):
            continue
        parsed = _parse_line(os.fsdecode(bline), algo, size, zero)
        if parsed is None:
            bad_lines += 1
            if args.warn:
                _warn(f"{_listing_name(listing)}: {number}: improperly "
                      f"formatted {TAGS[algo]} checksum line")
        else:
            entries.append(parsed)
    if not entries:
        _warn(f"{_listing_name(listing)}: no properly formatted checksum "
              "lines found")
        return 1
    failed = unreadable = matched = 0
    names = [name for _, name in entries]
    lengths: list[int | None] = [
        len(hexd) // 2 if algo == "blake3" and len(hexd) != 2 * size
        else None for hexd, _ in entries]
    bar, sizes = _progress_for(names, args.status)
    with bar:
        results = _digests(algo, names, args.threads, lengths, bar, sizes)
        for (expected, name), (_, result) in zip(entries, results):
            shown = name
            # coreutils escapes a name with a newline; b3sum also one with
            # a backslash.
            if "\n" in name or (algo == "blake3" and "\\" in name):
                shown = "\\" + _escape(name, _escaped_chars(algo))
            if isinstance(result, OSError):
                if args.ignore_missing and result.errno == errno.ENOENT:
                    continue
                _warn(f"{name}: {_os_message(result)}")
                if not args.status:
                    _write(f"{shown}: FAILED open or read\n")
                unreadable += 1
            elif result.hex() != expected:
                if not args.status:
                    _write(f"{shown}: FAILED\n")
                failed += 1
            else:
                matched += 1
                if not args.quiet and not args.status:
                    _write(f"{shown}: OK\n")
    sys.stdout.flush()
    if not args.status:
        if bad_lines:
            _warn(f"WARNING: {bad_lines} line"
                  f"{' is' if bad_lines == 1 else 's are'} improperly "
                  "formatted")
        if unreadable:
            _warn(f"WARNING: {unreadable} listed file"
                  f"{'' if unreadable == 1 else 's'} could not be read")
        if failed:
            _warn(f"WARNING: {failed} computed checksum"
                  f"{'' if failed == 1 else 's'} did NOT match")
    if args.ignore_missing and not matched:
        _warn(f"{_listing_name(listing)}: no file was verified")
        return 1
    return 1 if failed or unreadable or (args.strict and bad_lines) else 0


# --- options ------------------------------------------------------------------

def _check_options(args: argparse.Namespace) -> None:
    parser: argparse.ArgumentParser = args._parser
    if args.check:
        if args.tag:
            parser.error("the --tag option is meaningless when verifying "
                         "checksums")
        if args.read_mode is not None:
            parser.error("the --binary and --text options are meaningless "
                         "when verifying checksums")
        if args.zero:
            parser.error("the --zero option is not supported when "
                         "verifying checksums (-c reads NUL-terminated "
                         "lists by itself)")
        if args.length is not None:
            parser.error("-l/--length is not used with -c (each line's "
                         "length is read from it)")
    else:
        for opt in (*CHECK_ONLY, args.report):
            if opt is not None and getattr(args, opt):
                flag = "--" + opt.replace("_", "-")
                parser.error(f"the {flag} option is meaningful only when "
                             "verifying checksums")
    if args.length is not None:
        if args.algorithm != "blake3":
            parser.error(f"-l/--length applies to blake3 only (b3sum's "
                         f"flag), not {args.algorithm}")
        if not 1 <= args.length <= MAX_LENGTH:
            parser.error(f"-l/--length must be 1 .. {MAX_LENGTH}")
    if args.threads is not None:
        if args.threads < 0:
            parser.error("-T N: N must be >= 0 (0: all cores)")
        if args.threads == 0:
            args.threads = all_cores()


def run(args: argparse.Namespace) -> int:
    if args.algorithm.lower() not in _core.algorithms_available:
        _warn(f"unknown algorithm {args.algorithm!r}; available: "
              + ", ".join(sorted(_core.algorithms_available)))
        return 2
    args.algorithm = args.algorithm.lower()
    args.quiet = args.report == "quiet"
    args.status = args.report == "status"
    args.warn = args.report == "warn"
    _check_options(args)
    if not args.check:
        return _print_sums(args)
    status = 0
    for listing in args.files or ["-"]:
        status |= _check_file(args, listing)
    return status
