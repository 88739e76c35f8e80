"""One small call (issue 26.3): fastconc's one-shots on 64 bytes next to
python-xxhash, zlib and hashlib.

    pytest benchmarks/bench_small_call.py --benchmark-only
    PYTHONPATH=. python3 benchmarks/ratio_small_call.py   # the ratios

Under ``--benchmark-disable`` (make bench-check) every case runs once and
test_ratio_script runs the ratio script for one short round, so that it
cannot rot.
"""
from __future__ import annotations

import hashlib
import os
import sys
import zlib
from typing import Any, Callable, Dict, Optional

import pytest

import fastconc

try:
    import xxhash as _xxhash
except ImportError:     # a missing peer is skipped, never faked
    _xxhash = None

DATA = os.urandom(64)


def _cases() -> Dict[str, Optional[Callable[[bytes], Any]]]:
    x = _xxhash
    return {
        "fastconc.xxh3_64_intdigest": fastconc.xxh3_64_intdigest,
        "fastconc.digest(xxh3_64)": lambda b: fastconc.digest("xxh3_64", b),
        "xxhash.xxh3_64_intdigest": x.xxh3_64_intdigest if x else None,
        "fastconc.crc32": fastconc.crc32,
        "zlib.crc32": zlib.crc32,
        "fastconc.digest(sha256)": lambda b: fastconc.digest("sha256", b),
        "hashlib.sha256().digest()": lambda b: hashlib.sha256(b).digest(),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_small_call(benchmark: Any, name: str) -> None:
    fn = _cases()[name]
    if fn is None:
        pytest.skip("peer not installed")
    benchmark.group = "one call on 64 B"
    benchmark(fn, DATA)


def test_ratio_script(capsys: Any) -> None:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        import ratio_small_call
    finally:
        sys.path.pop(0)
    assert ratio_small_call.main(["--rounds", "2", "--calls", "50"]) == 0
    out = capsys.readouterr().out
    assert "fastconc.digest('sha256')" in out and "bars" in out
