"""pytest-benchmark suite: fastconc's CRC-32, CRC-32C and Adler-32 against
the installed peers, on 1 MiB and 64 MiB of random bytes.

    pytest benchmarks/bench_checksum.py --benchmark-only
    pytest benchmarks/bench_checksum.py --benchmark-only -k "crc32c and 1MiB"

Peers that are not installed are skipped.  fastconc runs single-threaded
("fastconc") and, for 64 MiB, on two threads ("fastconc-2t").  Compare
within one run (the ratio is what matters on a shared machine); `fastconc
bench` prints the full comparison.
"""
import importlib
import os
import zlib

import pytest

import fastconc

SIZES = {"1MiB": 1 << 20, "64MiB": 64 << 20}


def _peer(module, attr):
    """A peer's function, or None if its package is not installed."""
    def load():
        try:
            mod = importlib.import_module(module)
        except ImportError:
            return None
        return getattr(mod, attr)
    return load


def _fc(name, threads):
    return lambda: (lambda data: getattr(fastconc, name)(data,
                                                         threads=threads))


CONTENDERS = {
    "crc32": {
        "fastconc": _fc("crc32", 1),
        "fastconc-2t": _fc("crc32", 2),
        "zlib": lambda: zlib.crc32,
        "isal": _peer("isal.isal_zlib", "crc32"),
        "zlib_ng": _peer("zlib_ng.zlib_ng", "crc32"),
    },
    "crc32c": {
        "fastconc": _fc("crc32c", 1),
        "fastconc-2t": _fc("crc32c", 2),
        "crc32c": _peer("crc32c", "crc32c"),
        "google_crc32c": _peer("google_crc32c", "value"),
    },
    "adler32": {
        "fastconc": _fc("adler32", 1),
        "fastconc-2t": _fc("adler32", 2),
        "zlib": lambda: zlib.adler32,
        "isal": _peer("isal.isal_zlib", "adler32"),
        "zlib_ng": _peer("zlib_ng.zlib_ng", "adler32"),
    },
}

CASES = [
    pytest.param(kernel, who, size, id=f"{kernel}-{who}-{size}")
    for kernel, peers in CONTENDERS.items()
    for who in peers
    for size in SIZES
    if not (who == "fastconc-2t" and size == "1MiB")
]

_data = {}


def _input(size):
    if size not in _data:
        _data[size] = os.urandom(SIZES[size])
    return _data[size]


@pytest.mark.parametrize("kernel, who, size", CASES)
def test_checksum(benchmark, kernel, who, size):
    fn = CONTENDERS[kernel][who]()
    if fn is None:
        pytest.skip(f"{who} is not installed")
    data = _input(size)
    benchmark.group = f"{kernel} {size}"
    benchmark.extra_info["bytes"] = len(data)
    benchmark(fn, data)
