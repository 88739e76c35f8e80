"""pytest-benchmark suite for what only the codecs have (``pytest
benchmarks/bench_codec.py --benchmark-only``): one 16 MiB buffer of the
real corpus with threads=1 vs threads=2 (parallel single stream, both
directions), and compress_many over 4 KiB items.  The codecs' GIL-table,
large-buffer and small-item rows are in bench_gil.py."""
from __future__ import annotations

from typing import Any

import pytest

import fastconc

MiB = 1 << 20


@pytest.fixture(scope="module")
def data(corpus_data: bytes) -> bytes:
    return corpus_data[:16 * MiB]


@pytest.mark.parametrize("codec,level", [("gzip", 1), ("gzip", 6),
                                         ("zstd", 3), ("lz4", None),
                                         ("zlib", 6)])
@pytest.mark.parametrize("threads", [1, 2])
def test_parallel_single_stream(benchmark: Any, data: bytes, codec: str,
                                level: int | None, threads: int) -> None:
    benchmark.group = f"{codec}-{level} {len(data) // MiB} MiB one stream"
    benchmark(fastconc.compress, data, codec, level, threads=threads)


@pytest.mark.parametrize("codec", ["gzip", "zstd", "lz4"])
@pytest.mark.parametrize("threads", [1, 2])
def test_parallel_decompress(benchmark: Any, data: bytes, codec: str,
                             threads: int) -> None:
    comp = fastconc.compress(data, codec, threads=2)
    benchmark.group = (f"{codec} decompress {len(data) // MiB} MiB "
                       "(fastconc layout)")
    result = benchmark(fastconc.decompress, comp, threads=threads)
    assert result == data


@pytest.mark.parametrize("codec", ["zstd", "lz4", "gzip"])
def test_compress_many(benchmark: Any, data: bytes, codec: str) -> None:
    items = [data[i:i + 4096] for i in range(0, 8 * MiB, 4096)]
    benchmark.group = f"{codec} compress_many {len(items)} x 4 KiB"
    benchmark(fastconc.compress_many, items, codec)
