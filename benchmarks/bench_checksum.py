"""pytest-benchmark suite: fastconc's CRC-32, CRC-32C and Adler-32 against
the installed peers, on 1 MiB and 64 MiB of random bytes.

    pytest benchmarks/bench_checksum.py --benchmark-only
    pytest benchmarks/bench_checksum.py --benchmark-only -k "crc32c and 1MiB"

The rows are those of ``fastconc bench`` (fastconc.bench.kernels); peers
that are not installed are skipped.  fastconc runs single-threaded
("fastconc") and, for 64 MiB, on two threads ("fastconc-2t").  Compare
within one run (the ratio is what matters on a shared machine).
"""
from __future__ import annotations

import os
from typing import Any

import pytest

from fastconc.bench.kernels import Impl, Kernel, all_kernels

SIZES = {"1MiB": 1 << 20, "64MiB": 64 << 20}
KERNELS = [k for k in all_kernels() if k.family == "checksum"]


def _cases() -> list[Any]:
    cases = []
    for k in KERNELS:
        for impl in k.impls:
            for size in SIZES:
                cases.append(pytest.param(k, impl, 1, size,
                                          id=f"{k.name}-{impl.label}-{size}"))
                if impl.is_fastconc and size != "1MiB":
                    cases.append(pytest.param(
                        k, impl, 2, size, id=f"{k.name}-fastconc-2t-{size}"))
    return cases


_data: dict[str, bytes] = {}


def _input(size: str) -> bytes:
    if size not in _data:
        _data[size] = os.urandom(SIZES[size])
    return _data[size]


@pytest.mark.parametrize("kernel, impl, threads, size", _cases())
def test_checksum(benchmark: Any, kernel: Kernel, impl: Impl, threads: int,
                  size: str) -> None:
    if not impl.single:
        pytest.skip(f"{impl.label}: {impl.note}")
    data = _input(size)
    benchmark.group = f"{kernel.name} {size}"
    benchmark.extra_info["bytes"] = len(data)
    if impl.is_fastconc:
        assert impl.fn is not None
        benchmark(impl.fn, data, None, threads)
    else:
        benchmark(impl.call(len(data)), data)
