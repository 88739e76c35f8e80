"""pytest-benchmark suite for compression (``pytest benchmarks/bench_codec.py
--benchmark-only``): the rows of fastconc.bench.kernels_codec on 1 MiB chunks
of the real corpus (GIL held / released, 1 and 2 Python threads, and each
installed peer), one 16 MiB buffer with threads=1 vs threads=2 (parallel
single stream), and compress_many over 4 KiB items."""
import threading

import pytest

import fastconc
from fastconc.bench.kernels_codec import KERNELS, _corpus

pytest.importorskip("pytest_benchmark")

DATA = _corpus(16 << 20)
CHUNKS = [DATA[i:i + (1 << 20)] for i in range(0, 8 << 20, 1 << 20)]
IDS = [k["name"] for k in KERNELS]


def threaded(fn, items, n):
    def run():
        ts = [threading.Thread(target=lambda part=items[i::n]:
                               [fn(x) for x in part]) for i in range(n)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    return run


def inputs(kernel):
    prep = kernel["prepare"]
    return [prep(c) for c in CHUNKS] if prep else CHUNKS


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
@pytest.mark.parametrize("nthreads", [1, 2])
@pytest.mark.parametrize("release", [False, True], ids=["held", "released"])
def test_fastconc_gil(benchmark, kernel, nthreads, release):
    fn = kernel["fastconc"]
    benchmark.group = f"{kernel['name']} 8 x 1 MiB"
    benchmark(threaded(lambda c: fn(c, release, 1), inputs(kernel), nthreads))


@pytest.mark.parametrize("kernel", KERNELS, ids=IDS)
@pytest.mark.parametrize("nthreads", [1, 2])
def test_peers(benchmark, kernel, nthreads):
    if not kernel["peers"]:
        pytest.skip("no peer installed")
    benchmark.group = f"{kernel['name']} 8 x 1 MiB"
    items = inputs(kernel)
    for label, fn in kernel["peers"].items():
        benchmark.extra_info[label] = "measured"
        benchmark(threaded(fn, items, nthreads))
        break


@pytest.mark.parametrize("codec,level", [("gzip", 1), ("gzip", 6),
                                         ("zstd", 3), ("lz4", None),
                                         ("zlib", 6)])
@pytest.mark.parametrize("threads", [1, 2])
def test_parallel_single_stream(benchmark, codec, level, threads):
    benchmark.group = f"{codec}-{level} 16 MiB one stream"
    benchmark(fastconc.compress, DATA, codec, level, threads=threads)


@pytest.mark.parametrize("codec", ["gzip", "zstd", "lz4"])
@pytest.mark.parametrize("threads", [1, 2])
def test_parallel_decompress(benchmark, codec, threads):
    comp = fastconc.compress(DATA, codec, threads=2)
    benchmark.group = f"{codec} decompress 16 MiB (fastconc layout)"
    benchmark(fastconc.decompress, comp, threads=threads)


@pytest.mark.parametrize("codec", ["zstd", "lz4", "gzip"])
def test_compress_many(benchmark, codec):
    items = [DATA[i:i + 4096] for i in range(0, 8 << 20, 4096)]
    benchmark.group = f"{codec} compress_many 2048 x 4 KiB"
    benchmark(fastconc.compress_many, items, codec)
