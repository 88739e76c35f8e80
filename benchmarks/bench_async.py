"""pytest-benchmark cases for issue 25's calls: fastconc.aio under
asyncio.gather, decompress_into into a reused buffer, hash_many(out=).
The ratios of the issue come from ``python3 benchmarks/ratio_async.py``;
under ``make bench-check`` (``--benchmark-disable``) its quick mode runs
here too, as a correctness check of the script."""
from __future__ import annotations

import asyncio
import hashlib
import os
from typing import Any

import pytest
import ratio_async

import fastconc
import fastconc.aio as aio

MiB = 1 << 20


def test_ratio_script_quick(capsys: Any) -> None:
    ratio_async.main(["--quick"])
    out = capsys.readouterr().out
    for line in ("awaited sha256", "event-loop lag", "lz4: 2 chunks",
                 "zstd: 2 chunks", "hash_many out="):
        assert line in out


def test_aio_gather_sha256(benchmark: Any) -> None:
    items = [os.urandom(4096) for _ in range(64)]

    async def main() -> list[bytes]:
        return await asyncio.gather(*(aio.digest("sha256", items[i % 64])
                                      for i in range(1000)))
    got = benchmark(lambda: asyncio.run(main()))
    assert got[65] == hashlib.sha256(items[1]).digest()


@pytest.mark.parametrize("codec", ["lz4", "zstd"])
@pytest.mark.parametrize("into", [False, True], ids=["bytes", "into"])
def test_decompress_1mib(benchmark: Any, corpus_data: bytes, codec: str,
                         into: bool) -> None:
    chunk = corpus_data[:MiB]
    blob = fastconc.compress(chunk, codec)
    out = bytearray(MiB)
    if into:
        n = benchmark(fastconc.decompress_into, blob, out, codec)
        assert out[:n] == chunk
    else:
        assert benchmark(fastconc.decompress, blob, codec) == chunk


def test_hash_many_out_xxh3_64(benchmark: Any) -> None:
    items = [os.urandom(64) for _ in range(100_000)]
    buf = bytearray(8 * len(items))
    benchmark(fastconc.hash_many, "xxh3_64", items, out=buf)
    assert memoryview(buf).cast("Q")[3] \
        == fastconc.xxh3_64(items[3]).intdigest()
