"""The kernels of ``fastconc bench`` as pytest-benchmark cases.

Each kernel is timed on 1 MiB chunks (held and released GIL, 1 and 2
Python threads, and each installed peer), on one large buffer, and on
small items.  Useful to follow one change from commit to commit; the
user-facing comparison is ``fastconc bench``.
"""
from __future__ import annotations

from typing import Any

import pytest

import fastconc
from fastconc.bench.kernels import Kernel, all_kernels
from fastconc.bench.timing import run_threads

KERNELS = all_kernels()
CHUNKS_PER_ROUND = 8


def _inputs(k: Kernel, corpus_chunks: list[bytes],
            random_chunks: list[bytes]) -> list[Any]:
    base = corpus_chunks if k.data == "corpus" else random_chunks
    base = base[:CHUNKS_PER_ROUND]
    return [k.prepare(c) for c in base] if k.prepare else base


def _threaded(fn: Any, items: list[Any], nthreads: int) -> Any:
    shares = [items[i::nthreads] for i in range(nthreads)]

    def one(share: list[Any]) -> Any:
        return lambda: [fn(x) for x in share]
    return lambda: run_threads([one(s) for s in shares])


def _cases() -> list[Any]:
    cases = []
    for k in KERNELS:
        impls: list[tuple[str, Any]] = []
        if k.fc is not None:
            fc = k.fc
            impls.append(("fastconc-held", lambda d, f=fc: f(d, False, 1)))
            impls.append(("fastconc-released",
                          lambda d, f=fc: f(d, True, 1)))
        for p in k.peers:
            if p.fn is not None:
                impls.append((p.label, p.fn))
        for label, fn in impls:
            for t in (1, 2):
                cases.append(pytest.param(k, fn, t,
                                          id=f"{k.name}-{label}-{t}thr"))
    return cases


@pytest.mark.parametrize("kernel, fn, nthreads", _cases())
def test_chunks(benchmark: Any, kernel: Kernel, fn: Any, nthreads: int,
                corpus_chunks: list[bytes],
                random_chunks: list[bytes]) -> None:
    """1 MiB chunks shared by ``nthreads`` plain Python threads."""
    items = _inputs(kernel, corpus_chunks, random_chunks)
    benchmark.group = f"chunks: {kernel.name}"
    benchmark.extra_info["bytes"] = sum(len(bytes(c)) if kernel.prepare
                                        is None else 1 << 20 for c in items)
    benchmark(_threaded(fn, items, nthreads))


def _large_cases() -> list[Any]:
    cases = []
    for k in KERNELS:
        if k.fc is not None:
            cases.append(pytest.param(k, "fastconc-threads1", 1,
                                      id=f"{k.name}-fastconc-1"))
            if k.fc_threads:
                cases.append(pytest.param(k, "fastconc-threads2", 2,
                                          id=f"{k.name}-fastconc-2"))
        for p in k.peers:
            if p.fn is not None:
                cases.append(pytest.param(k, p.label, 0,
                                          id=f"{k.name}-{p.label}"))
    return cases


@pytest.mark.parametrize("kernel, label, threads", _large_cases())
def test_large_buffer(benchmark: Any, kernel: Kernel, label: str,
                      threads: int, corpus_data: bytes,
                      random_data: bytes) -> None:
    """One call on the whole buffer (FASTCONC_BENCH_SIZE, default 16 MiB)."""
    data: Any = corpus_data if kernel.data == "corpus" else random_data
    if kernel.prepare:
        data = kernel.prepare(data)
    benchmark.group = f"large: {kernel.name}"
    if threads:
        assert kernel.fc is not None
        fc = kernel.fc
        benchmark(lambda: fc(data, None, threads))
    else:
        fn = next(p.fn for p in kernel.peers if p.label == label)
        benchmark(fn, data)


@pytest.mark.parametrize("size", [64, 4096])
@pytest.mark.parametrize("how", ["hashlib-loop", "fastconc-hash_many"])
def test_small_items_sha256(benchmark: Any, how: str, size: int,
                            corpus_data: bytes) -> None:
    import hashlib

    items = [corpus_data[i * size:(i + 1) * size] for i in range(10_000)]
    benchmark.group = f"small items: sha256 x 10k, {size} B"
    if how == "hashlib-loop":
        benchmark(lambda: [hashlib.sha256(x).digest() for x in items])
    else:
        hash_many = getattr(fastconc, "hash_many", None)
        if hash_many is None:
            pytest.skip("fastconc.hash_many not built")
        benchmark(hash_many, "sha256", items)
