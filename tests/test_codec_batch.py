"""compress_many / decompress_many: one C call over the pool."""
import gzip
import zlib

import pytest
from codec_data import corpus, mixed

import fastconc

CODECS = ["zlib", "deflate", "gzip", "zstd", "lz4"]


def items():
    base = mixed(1 << 20, seed=9)
    sizes = [0, 1, 64, 4096, 100_000, 1 << 20]
    return [base[i * 7:i * 7 + n] for i, n in enumerate(sizes)] + \
        [corpus(5 << 20)]


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("threads", [None, 1, 2, 4])
def test_round_trip(codec, threads):
    its = items()
    comp = fastconc.compress_many(its, codec, threads=threads)
    assert len(comp) == len(its)
    for c, x in zip(comp, its):
        assert fastconc.decompress(c, codec) == x
    assert fastconc.decompress_many(comp, codec, threads=threads) == its
    if codec != "deflate":
        assert fastconc.decompress_many(comp) == its


def test_batch_matches_stdlib():
    its = items()
    for c, x in zip(fastconc.compress_many(its, "gzip", 6), its):
        assert gzip.decompress(c) == x
    for c, x in zip(fastconc.compress_many(its, "zlib", 1), its):
        assert zlib.decompress(c) == x
    assert fastconc.decompress_many([zlib.compress(x) for x in its]) == its


def test_mixed_codecs_detected():
    its = items()
    blobs = [fastconc.compress(x, c) for x, c in
             zip(its, ["gzip", "zstd", "lz4", "zlib"] * 2)]
    assert fastconc.decompress_many(blobs) == its


def test_many_small_items():
    its = [corpus(5000)[i:i + 64] for i in range(2000)]
    comp = fastconc.compress_many(its, "zstd")
    assert fastconc.decompress_many(comp, "zstd") == its


def test_errors_name_the_item():
    good = fastconc.compress(b"hello" * 100, "zstd")
    with pytest.raises(fastconc.DecompressionError, match="item 1"):
        fastconc.decompress_many([good, good[:-3], good], "zstd")
    with pytest.raises(fastconc.OutputSizeError):
        fastconc.decompress_many([good], max_output_size=10)
    with pytest.raises(TypeError):
        fastconc.compress_many(b"not a list", "zstd")
    with pytest.raises(TypeError):
        fastconc.compress_many(["str"], "zstd")
    with pytest.raises(ValueError, match="valid codecs"):
        fastconc.compress_many([b"x"], "nope")
    assert fastconc.compress_many([], "gzip") == []
    assert fastconc.decompress_many([]) == []


def test_release_gil_false_same_output():
    its = items()
    a = fastconc.compress_many(its, "lz4", release_gil=False, threads=1)
    b = fastconc.compress_many(its, "lz4", release_gil=True, threads=2)
    assert a == b


@pytest.mark.parametrize("codec", ["gzip", "zstd", "lz4"])
def test_known_layouts_decode_in_place(codec):
    """Items whose sizes are in their headers (our parallel layouts) are
    decoded into bytes objects sized before the run: the results, the
    limit at exactly the size and one byte under, and a corrupt item,
    which falls back to the stream decoder and its precise error."""
    data = corpus(9 << 20)
    blob = fastconc.compress(data, codec, threads=2)
    small = fastconc.compress(data[:5000], codec)
    its = [blob, bytearray(blob), memoryview(blob), small]
    out = fastconc.decompress_many(its, codec, threads=2)
    assert out == [data, data, data, data[:5000]]
    assert all(type(o) is bytes for o in out)
    assert fastconc.decompress_many([blob], max_output_size=len(data)) == \
        [data]
    with pytest.raises(fastconc.OutputSizeError):
        fastconc.decompress_many([small, blob], max_output_size=len(data) - 1)
    # 4 KiB of 0xff inside the middle piece: not one byte, which lz4
    # (no block checksums) may decode into other bytes without an error;
    # as lz4 tokens these are literal lengths that run past the block.
    bad = bytearray(blob)
    bad[len(bad) // 2:len(bad) // 2 + 4096] = b"\xff" * 4096
    with pytest.raises(fastconc.DecompressionError, match="item 1"):
        fastconc.decompress_many([blob, bytes(bad)], codec, threads=2)
