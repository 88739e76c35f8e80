"""Benchmark data built at run time from what is on this machine.

The *corpus* is the Python standard library's ``.py`` sources followed by
the interpreter binary and the shared libraries it has loaded (and, when
that is not enough, other extension modules from the Python prefix),
concatenated up to the size asked.  Nothing is repeated: a repeated string
would flatter the compressors.  The *random* data (``os.urandom``) is
incompressible and is what the hashes and checksums read on large buffers.
"""
from __future__ import annotations

import itertools
import os
import sys
import sysconfig
from collections.abc import Iterator

MiB = 1 << 20


def _stdlib_sources() -> Iterator[str]:
    root = sysconfig.get_paths()["stdlib"]
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames
                             if d not in ("site-packages", "__pycache__"))
        for name in sorted(filenames):
            if name.endswith(".py"):
                yield os.path.join(dirpath, name)


def _loaded_libraries() -> Iterator[str]:
    """The interpreter and the shared objects mapped into this process."""
    yield os.path.realpath(sys.executable)
    seen = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and ".so" in parts[5]:
                    path = parts[5]
                    if path not in seen:
                        seen.add(path)
                        yield path
    except OSError:
        pass


def _more_binaries() -> Iterator[str]:
    for root in (sysconfig.get_paths()["platstdlib"], sys.prefix, "/usr/lib"):
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith(".so") or ".so." in name:
                    yield os.path.join(dirpath, name)


def _unique(paths: Iterator[str], seen: set[str]) -> Iterator[str]:
    for path in paths:
        real = os.path.realpath(path)
        if real in seen or not os.path.isfile(real):
            continue
        seen.add(real)
        yield real


def _read_into(paths: Iterator[str], want: int, parts: list[bytes]) -> int:
    """Append whole files (the last one cut) until ``want`` bytes; return
    how many bytes were added."""
    have = 0
    for path in paths:
        if have >= want:
            break
        try:
            with open(path, "rb") as f:
                blob = f.read(want - have)
        except OSError:
            continue
        parts.append(blob)
        have += len(blob)
    return have


def build_corpus(size: int) -> tuple[bytes, dict[str, object]]:
    """Return ``size`` bytes of real files (half Python sources, half
    binaries when there are enough) and a description of them."""
    seen: set[str] = set()
    parts: list[bytes] = []
    sources = _unique(_stdlib_sources(), seen)
    binaries = _unique(
        itertools.chain(_loaded_libraries(), _more_binaries()), seen)
    kinds = {}
    kinds["python sources"] = _read_into(sources, size // 2, parts)
    kinds["binaries"] = _read_into(binaries, size - kinds["python sources"],
                                   parts)
    kinds["python sources"] += _read_into(
        sources, size - sum(kinds.values()), parts)
    data = b"".join(parts)
    if len(data) < size:
        # Not enough files on this machine: top up with random bytes
        # rather than repeating what we have.
        kinds["random top-up"] = size - len(data)
        data += os.urandom(size - len(data))
    return data, {"size": len(data), "files": len(parts),
                  "bytes_by_kind": kinds}


def random_data(size: int) -> bytes:
    return os.urandom(size)


def chunks(data: bytes, chunk: int) -> list[bytes]:
    """Cut into ``bytes`` (some peers accept nothing else)."""
    return [data[i:i + chunk] for i in range(0, len(data) - chunk + 1, chunk)]
