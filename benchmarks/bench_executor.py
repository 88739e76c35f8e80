"""pytest-benchmark suite for the executor and the parallel map
(``pytest benchmarks/bench_executor.py --benchmark-only``).  The side-by-side
figures of BENCH.md items 7 and 8 are the executor and countdown tables of
``fastconc bench`` (fastconc.bench.executor), whose countdown kernel is
used here.
"""
import concurrent.futures as cf

import pytest

import fastconc
from fastconc.bench.executor import countdown_kernel

N = 100_000
DATA = list(range(N))


def identity(x):
    return x


def drain(it):
    for _ in it:
        pass


@pytest.fixture(scope="module")
def executors():
    std = cf.ThreadPoolExecutor(2)
    ours = fastconc.ThreadPoolExecutor(2)
    yield {"stdlib": std, "fastconc": ours}
    std.shutdown()
    ours.shutdown()


def test_plain_loop(benchmark):
    benchmark(lambda: drain(map(identity, DATA)))


@pytest.mark.parametrize("which", ["stdlib", "fastconc"])
def test_executor_map(benchmark, executors, which):
    ex = executors[which]
    benchmark.pedantic(lambda: drain(ex.map(identity, DATA)), rounds=3)


def test_parallel_map(benchmark):
    benchmark(lambda: drain(fastconc.parallel_map(identity, DATA,
                                                  threads=2)))


@pytest.mark.parametrize("which", ["stdlib", "fastconc"])
def test_submit_roundtrip(benchmark, executors, which):
    ex = executors[which]
    benchmark(lambda: ex.submit(abs, -1).result())


@pytest.mark.parametrize("threads", [1, 2])
def test_map_array_countdown(benchmark, threads):
    np = pytest.importorskip("numpy")
    kernel = countdown_kernel()
    work = np.full(2, 5_000_000, dtype=np.int64)
    benchmark(lambda: fastconc.map_array(kernel, work, threads=threads))
