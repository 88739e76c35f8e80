"""Test data for the codec tests: real bytes from this machine (stdlib
sources and the interpreter binary), never one repeated string."""
from __future__ import annotations

import functools
import glob
import os
import sys
import sysconfig


@functools.cache
def corpus(size: int) -> bytes:
    """size bytes of stdlib .py sources followed by the python binary."""
    lib = sysconfig.get_paths()["stdlib"]
    files = sorted(glob.glob(os.path.join(lib, "*.py")))
    files += sorted(glob.glob(os.path.join(lib, "json", "*.py")))
    files.append(os.path.realpath(sys.executable))
    parts, n = [], 0
    while n < size:
        for f in files:
            with open(f, "rb") as fh:
                b = fh.read()
            parts.append(b)
            n += len(b)
            if n >= size:
                break
        parts.append(os.urandom(4096))  # never a verbatim repeat
        n += 4096
    return b"".join(parts)[:size]


def mixed(size: int, seed: int = 0) -> bytes:
    """Corpus with incompressible stretches, so stored blocks appear."""
    import random

    rnd = random.Random(seed)
    base = bytearray(corpus(size))
    for _ in range(max(1, size // (256 << 10))):
        if size < 2:
            break
        at = rnd.randrange(size)
        k = min(size - at, rnd.randrange(1, 64 << 10))
        base[at:at + k] = rnd.randbytes(k)
    return bytes(base)
