"""pytest-benchmark suite for hashing (``pytest benchmarks/bench_hash.py
--benchmark-only``): the kernels of fastconc.bench.kernels_hash on 1 MiB
chunks (GIL held / released, 1 and 2 threads, and the peers), and the small
item contenders (64 B and 4 KiB)."""
import os

import pytest

from fastconc.bench.kernels_hash import KERNELS, SMALL_ITEMS, threaded

pytest.importorskip("pytest_benchmark")

CHUNKS = [os.urandom(1 << 20) for _ in range(8)]
IDS = [k["name"] for k in KERNELS]


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
@pytest.mark.parametrize("nthreads", [1, 2])
@pytest.mark.parametrize("release", [False, True], ids=["held", "released"])
def test_fastconc_gil(benchmark, kernel, nthreads, release):
    fn = kernel["fastconc"]
    benchmark.group = f"{kernel['name']} 8 x 1 MiB"
    benchmark(threaded(lambda c: fn(c, release), CHUNKS, nthreads))


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
@pytest.mark.parametrize("nthreads", [1, 2])
def test_peers(benchmark, kernel, nthreads):
    if not kernel["peers"]:
        pytest.skip("no peer installed")
    (label, fn), = list(kernel["peers"].items())[:1]
    benchmark.group = f"{kernel['name']} 8 x 1 MiB"
    benchmark.extra_info["peer"] = label
    benchmark(threaded(fn, CHUNKS, nthreads))


@pytest.mark.parametrize("table", SMALL_ITEMS, ids=[t["name"] for t in
                                                   SMALL_ITEMS])
@pytest.mark.parametrize("size", [64, 4096])
@pytest.mark.parametrize("contender", ["loop", "fastconc.hash_many",
                                       "stdlib ThreadPoolExecutor.map"])
def test_small_items(benchmark, table, size, contender):
    fns = table["contenders"]
    key = next((k for k in fns if k.startswith(contender) or
                k.endswith(contender)), None)
    if key is None:
        pytest.skip(f"{contender} not available")
    items = [os.urandom(size) for _ in range(10_000)]
    benchmark.group = f"{table['name']} 10k x {size} B"
    benchmark(fns[key], items)
