"""No leak on the zstd-dictionary, flush-mode and repr paths (good input
and every error path), measured as tests/test_reliability_leaks.py
measures the other public calls."""
import zlib

import pytest
from test_reliability_leaks import HEAP_BOUND, RSS_BOUND, measure

import fastconc

SAMPLES = [b'{"id":%d,"user":"user%d","ok":%s}' % (i, i % 31,
                                                  b"true" if i % 3 else
                                                  b"false")
           for i in range(1000)]


def _raises(exc, fn):
    try:
        fn()
    except exc:
        return
    raise AssertionError(f"no {exc.__name__}")


def _calls():
    d = fastconc.train_zstd_dict(SAMPLES, 2048)
    raw = d.dict_content
    packed = fastconc.compress(SAMPLES[5], zstd_dict=d)

    def dict_paths():
        for arg in (d, raw):
            p = fastconc.compress(SAMPLES[7], "zstd", 5, zstd_dict=arg)
            assert fastconc.decompress(p, zstd_dict=arg) == SAMPLES[7]
            many = fastconc.compress_many(SAMPLES[:4], zstd_dict=arg)
            assert fastconc.decompress_many(many, zstd_dict=arg) == \
                SAMPLES[:4]
            c = fastconc.Compressor("zstd", zstd_dict=arg)
            p = c.compress(SAMPLES[8]) + c.flush()
            dec = fastconc.Decompressor(zstd_dict=arg)
            assert dec.decompress(p) == SAMPLES[8]
            repr(c), repr(dec)

    def dict_errors():
        _raises(fastconc.DecompressionError,
                lambda: fastconc.decompress(packed))
        _raises(fastconc.DecompressionError,
                lambda: fastconc.Decompressor().decompress(packed))
        _raises(fastconc.DecompressionError,
                lambda: fastconc.decompress_many([packed]))
        _raises(ValueError, lambda: fastconc.ZstdDict(b"junk"))
        _raises(ValueError, lambda: fastconc.compress(b"a", "gzip",
                                                      zstd_dict=d))
        _raises(TypeError, lambda: fastconc.compress(b"a", zstd_dict=3))
        _raises(ValueError, lambda: fastconc.train_zstd_dict(
            SAMPLES[:3], 2048))

    def train():
        fastconc.train_zstd_dict(SAMPLES[:300], 1024)

    def flushes():
        for codec in ("zlib", "gzip", "zstd", "lz4"):
            c = fastconc.Compressor(codec)
            c.compress(b"abc" * 100)
            c.flush(zlib.Z_SYNC_FLUSH)
            c.flush(zlib.Z_NO_FLUSH)
            _raises(ValueError, lambda c=c: c.flush(zlib.Z_BLOCK))
            _raises(TypeError, lambda c=c: c.flush(2.0))
            c.flush(zlib.Z_FINISH)
            _raises(ValueError, lambda c=c: c.flush(zlib.Z_SYNC_FLUSH))
            repr(c)

    return [dict_paths, dict_errors, train, flushes]


@pytest.mark.timeout(600, method="thread")
def test_no_leak():
    heap, grown, top = measure(_calls(), rounds=200)
    assert heap < HEAP_BOUND, f"Python heap grew {heap} bytes; top: {top}"
    assert grown < RSS_BOUND, f"RSS grew {grown >> 20} MiB"
