"""The tables of ``fastconc bench`` as pytest-benchmark cases.

The rows are the bench's own (fastconc.bench.kernels, gil_table, large,
small_items), so a kernel or peer added there is measured here too:

- ``test_chunks[KERNEL-IMPL-GIL-Nthr]``: 1 MiB chunks at N plain Python
  threads, alike shares as in the GIL table (every thread goes through the
  same chunks; the same total work at 1 and 2 threads);
- ``test_large_buffer[KERNEL-IMPL]``: one call on the whole buffer;
- ``test_small_items[KERNEL-IMPL-SIZE]``: 10,000 items of 64 B and 4 KiB.

Useful to follow one change from commit to commit; the user-facing
comparison is ``fastconc bench``.
"""
from __future__ import annotations

from typing import Any

import pytest

from fastconc.bench import gil_table, large, small_items
from fastconc.bench.kernels import Kernel, all_kernels
from fastconc.bench.timing import Contender, threads_job

KERNELS = all_kernels()
CHUNKS_PER_ROUND = 8
THREADS = (1, 2)
SMALL_COUNT = 10_000


def _inputs(k: Kernel, corpus_chunks: list[bytes],
            random_chunks: list[bytes]) -> list[Any]:
    base = corpus_chunks if k.data == "corpus" else random_chunks
    base = base[:CHUNKS_PER_ROUND]
    return [k.prepare(c) for c in base] if k.prepare else base


def _chunk_cases() -> list[Any]:
    cases = []
    for k in KERNELS:
        rows, _ = gil_table.variants(k, gil_table.CHUNK)
        for idx, v in enumerate(rows):
            for t in THREADS:
                cases.append(pytest.param(k, idx, t,
                                          id=f"{k.name}-{v.label}-{v.gil}-{t}thr"))
    return cases


@pytest.mark.parametrize("kernel, row, nthreads", _chunk_cases())
def test_chunks(benchmark: Any, kernel: Kernel, row: int, nthreads: int,
                corpus_chunks: list[bytes],
                random_chunks: list[bytes]) -> None:
    """1 MiB chunks shared by ``nthreads`` plain Python threads."""
    v = gil_table.variants(kernel, gil_table.CHUNK)[0][row]
    items = _inputs(kernel, corpus_chunks, random_chunks)
    share = items * (max(THREADS) // nthreads)
    benchmark.group = f"chunks: {kernel.name}"
    benchmark.extra_info["bytes"] = len(items) * max(THREADS) * gil_table.CHUNK
    benchmark(threads_job(v.fn, share, nthreads))


_LARGE: dict[str, dict[Any, Contender]] = {}


def _large_contenders(k: Kernel, data: Any, raw: bytes | None
                      ) -> dict[Any, Contender]:
    """The large-buffer table's contenders of ``k`` (prepared once)."""
    if k.name not in _LARGE:
        skipped: list[dict[str, str]] = []
        size = len(raw) if raw is not None and k.prepare else len(data)
        _LARGE[k.name] = {c.key: c for c in large.contenders(
            k, data, max(THREADS), raw, size, skipped)}
    return _LARGE[k.name]


def _large_cases() -> list[Any]:
    cases = []
    for k in KERNELS:
        # the names only: nothing is measured on this empty input
        for c in large.contenders(k, b"", max(THREADS), b"", 0, []):
            cases.append(pytest.param(k, c.key, id=f"{k.name}-{c.key}"))
    return cases


@pytest.mark.parametrize("kernel, name", _large_cases())
def test_large_buffer(benchmark: Any, kernel: Kernel, name: str,
                      corpus_data: bytes, random_data: bytes) -> None:
    """One call on the whole buffer (FASTCONC_BENCH_SIZE, default 16 MiB)."""
    raw: Any = corpus_data if kernel.data == "corpus" else random_data
    data = kernel.prepare(raw) if kernel.prepare else raw
    c = _large_contenders(kernel, data, raw)[name]
    benchmark.group = f"large: {kernel.name}"
    benchmark.extra_info["bytes"] = len(raw)
    benchmark(c.run)


def _small_cases() -> list[Any]:
    return [pytest.param(r, size, id=f"{r.kernel}-{r.label}-{size}B")
            for r in small_items.impls(max(THREADS))
            for size in small_items.SIZES]


@pytest.mark.parametrize("row, size", _small_cases())
def test_small_items(benchmark: Any, row: small_items.SmallImpl, size: int,
                     corpus_data: bytes) -> None:
    """The small-items table: 10,000 items (a tenth for compression, a
    fifth through the stdlib executor)."""
    items = small_items.make_items(corpus_data, size, SMALL_COUNT)
    items = {"all": items, "tenth": items[:SMALL_COUNT // 10],
             "executor": items[:SMALL_COUNT // 5]}[row.items]
    benchmark.group = f"small items: {row.kernel} x {len(items)}, {size} B"
    benchmark(row.make(items))
