"""``fastconc hash``: print or check digests, in the format of coreutils
``sha256sum`` / ``md5sum`` (GNU coreutils 9).

Printing: ``<hex>  <name>``; a name with a backslash, newline or carriage
return is escaped (``\\\\``, ``\\n``, ``\\r``) and its line starts with a
backslash.  ``-`` (or no FILE) reads standard input.  Files are hashed in
parallel on the native pool (``-T``), output stays in argument order.

Checking (``-c``): lines ``<hex>  <name>``, ``<hex> *<name>`` or the BSD
form ``ALGO (<name>) = <hex>``; prints ``<name>: OK`` / ``FAILED`` /
``FAILED open or read``, warnings on stderr, exit status 1 when anything
failed, as coreutils does.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterator
from typing import BinaryIO

from . import _core

PROG = "fastconc hash"
CHUNK = 1 << 18
BATCH = 256


def add_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help="files to hash (- or none: standard input)")
    parser.add_argument("-a", "--algorithm", default="sha256",
                        help="hash algorithm (default sha256); one of: "
                        + ", ".join(sorted(_core.algorithms_available)))
    parser.add_argument("-c", "--check", action="store_true",
                        help="read checksums from the FILEs and check them")
    parser.add_argument("-T", "--threads", type=int, default=None,
                        help="threads used to hash files (default: all)")
    parser.add_argument("--quiet", action="store_true",
                        help="with -c: don't print OK for each good file")
    parser.add_argument("--status", action="store_true",
                        help="with -c: print nothing, the exit status tells")


def _warn(msg: str) -> None:
    sys.stdout.flush()
    sys.stderr.write(f"{PROG}: {msg}\n")
    sys.stderr.flush()


def _os_message(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _hash_stream(algo: str, f: BinaryIO) -> bytes:
    h = _core.new(algo)
    while True:
        block = f.read(CHUNK)
        if not block:
            return h.digest()
        h.update(block)


def _digests(algo: str, names: list[str],
             threads: int | None) -> Iterator[tuple[str, bytes | OSError]]:
    """(name, digest or the OSError) for each name, in order; the files
    are hashed in batches on the pool."""
    i = 0
    while i < len(names):
        if names[i] == "-":
            try:
                yield names[i], _hash_stream(algo, sys.stdin.buffer)
            except OSError as exc:
                yield names[i], exc
            i += 1
            continue
        j = i
        while j < len(names) and j - i < BATCH and names[j] != "-":
            j += 1
        batch = names[i:j]
        try:
            results: list[bytes | OSError] = list(
                _core.hash_files(algo, batch, threads=threads))
        except OSError:
            # Find which files failed, one by one.
            results = []
            for name in batch:
                try:
                    results.append(_core.hash_file(algo, name))
                except OSError as exc:
                    results.append(exc)
        yield from zip(batch, results)
        i = j


def _escape(name: str) -> str:
    return (name.replace("\\", "\\\\").replace("\n", "\\n")
            .replace("\r", "\\r"))


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


def _print_sums(args: argparse.Namespace) -> int:
    status = 0
    names = args.files or ["-"]
    for name, result in _digests(args.algorithm, names, args.threads):
        if isinstance(result, OSError):
            _warn(f"{name}: {_os_message(result)}")
            status = 1
            continue
        if any(c in name for c in "\\\n\r"):
            _write(f"\\{result.hex()}  {_escape(name)}\n")
        else:
            _write(f"{result.hex()}  {name}\n")
    sys.stdout.flush()
    return status


def _parse_line(line: str, algo: str,
                size: int) -> tuple[str, str] | None:
    """(hex, name) from one line of a checksum file, or None."""
    escaped = line.startswith("\\")
    if escaped:
        line = line[1:]
    m = re.fullmatch(r"([0-9a-fA-F]+) [ *](.+)", line, re.DOTALL)
    if m is None:
        tag = re.escape(algo.upper().replace("_", "-"))
        m2 = re.fullmatch(rf"(?i:{tag}|{re.escape(algo)}) \((.+)\) = "
                          r"([0-9a-fA-F]+)", line, re.DOTALL)
        if m2 is None:
            return None
        hexdigest, name = m2.group(2), m2.group(1)
    else:
        hexdigest, name = m.group(1), m.group(2)
    if len(hexdigest) != 2 * size:
        return None
    return hexdigest.lower(), _unescape(name) if escaped else name


def _check_file(args: argparse.Namespace, listing: str) -> int:
    algo = args.algorithm
    size = _core.new(algo).digest_size
    try:
        if listing == "-":
            raw = sys.stdin.buffer.read()
        else:
            with open(listing, "rb") as f:
                raw = f.read()
    except OSError as exc:
        _warn(f"{listing}: {_os_message(exc)}")
        return 1
    entries: list[tuple[str, str]] = []
    bad_lines = 0
    for bline in raw.split(b"\n"):
        if bline == b"" or bline.startswith(b"#"):
            continue
        parsed = _parse_line(os.fsdecode(bline), algo, size)
        if parsed is None:
            bad_lines += 1
        else:
            entries.append(parsed)
    if not entries:
        shown = "'standard input'" if listing == "-" else listing
        _warn(f"{shown}: no properly formatted checksum lines found")
        return 1
    failed = unreadable = 0
    names = [name for _, name in entries]
    results = _digests(algo, names, args.threads)
    for (expected, name), (_, result) in zip(entries, results):
        shown = name
        if "\n" in name:
            shown = "\\" + _escape(name)
        if isinstance(result, OSError):
            _warn(f"{name}: {_os_message(result)}")
            if not args.status:
                _write(f"{shown}: FAILED open or read\n")
            unreadable += 1
        elif result.hex() != expected:
            if not args.status:
                _write(f"{shown}: FAILED\n")
            failed += 1
        elif not args.quiet and not args.status:
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
    return 1 if failed or unreadable else 0


def run(args: argparse.Namespace) -> int:
    if args.algorithm.lower() not in _core.algorithms_available:
        _warn(f"unknown algorithm {args.algorithm!r}; available: "
              + ", ".join(sorted(_core.algorithms_available)))
        return 2
    args.algorithm = args.algorithm.lower()
    if args.threads is not None and args.threads < 1:
        _warn("-T must be >= 1")
        return 2
    if not args.check:
        return _print_sums(args)
    status = 0
    for listing in args.files or ["-"]:
        status |= _check_file(args, listing)
    return status
