"""Compressor.flush() takes zlib's flush constants as well as 'end' and
'block', as code written for zlib.compressobj() passes them: each mode
checked by what a reader can decode at the flush point, against zlib's
own compressobj."""
import zlib

import pytest
from codec_data import corpus

import fastconc

CODECS = ["zlib", "deflate", "gzip", "zstd", "lz4"]
WBITS = {"zlib": 15, "deflate": -15, "gzip": 31}


def _decode_prefix(codec, data):
    """What a streaming reader makes of data (no end of stream needed)."""
    if codec in WBITS:
        return zlib.decompressobj(WBITS[codec]).decompress(data)
    d = fastconc.Decompressor(codec)
    return d.decompress(data)


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("level", [1, None])
def test_sync_flush_makes_everything_decodable(codec, level):
    a, b = corpus(300_000)[:150_000], corpus(300_000)[150_000:]
    c = fastconc.Compressor(codec, level)
    head = c.compress(a) + c.flush(zlib.Z_SYNC_FLUSH)
    assert _decode_prefix(codec, head) == a
    more = c.compress(b) + c.flush(zlib.Z_SYNC_FLUSH)
    assert _decode_prefix(codec, head + more) == a + b
    assert c.flush(zlib.Z_NO_FLUSH) == b""
    tail = c.flush(zlib.Z_FINISH)
    assert fastconc.decompress(head + more + tail, codec) == a + b
    with pytest.raises(ValueError, match="finished"):
        c.flush(zlib.Z_SYNC_FLUSH)


@pytest.mark.parametrize("codec", ["zlib", "deflate", "gzip"])
@pytest.mark.parametrize("level", [1, 6])
def test_same_calls_as_zlib_compressobj(codec, level):
    # The calls of a zlib user, on both objects; both outputs decode the
    # same at every flush point, by zlib.
    wbits = WBITS[codec]
    parts = [corpus(200_000)[i:i + 20_000] for i in range(0, 200_000,
                                                          20_000)]
    ours = fastconc.Compressor(codec, level)
    theirs = zlib.compressobj(level, wbits=wbits)
    out_ours, out_theirs = b"", b""
    for k, part in enumerate(parts):
        mode = (zlib.Z_NO_FLUSH, zlib.Z_SYNC_FLUSH, zlib.Z_FULL_FLUSH)[k % 3]
        out_ours += ours.compress(part) + ours.flush(mode)
        out_theirs += theirs.compress(part) + theirs.flush(mode)
        if mode != zlib.Z_NO_FLUSH:
            want = b"".join(parts[:k + 1])
            assert zlib.decompressobj(wbits).decompress(out_ours) == want
            assert zlib.decompressobj(wbits).decompress(out_theirs) == want
            # A sync or full flush ends on the empty stored block.
            assert out_ours.endswith(b"\x00\x00\xff\xff")
    out_ours += ours.flush(zlib.Z_FINISH)
    out_theirs += theirs.flush(zlib.Z_FINISH)
    assert zlib.decompress(out_ours, wbits) == \
        zlib.decompress(out_theirs, wbits) == b"".join(parts)


@pytest.mark.parametrize("level", [1, 6])
def test_full_flush_starts_afresh(level):
    # After Z_FULL_FLUSH the rest of a raw deflate stream decodes alone:
    # no back-reference crosses the flush point (a sync flush does not
    # promise that, and with this data the rest does not decode alone).
    a = corpus(200_000)
    b = a[:100_000]                        # repeats a: back-references
    for mode, alone in ((zlib.Z_FULL_FLUSH, True),
                        (zlib.Z_SYNC_FLUSH, False)):
        c = fastconc.Compressor("deflate", level)
        c.compress(a)
        c.flush(mode)
        rest = c.compress(b) + c.flush(mode)
        try:
            ok = zlib.decompressobj(-15).decompress(rest) == b
        except zlib.error:
            ok = False
        assert ok is alone, (mode, level)


def test_full_flush_lz4_and_zstd():
    data = corpus(100_000)
    c = fastconc.Compressor("lz4")
    out = c.compress(data) + c.flush(zlib.Z_FULL_FLUSH)
    assert fastconc.Decompressor("lz4").decompress(out) == data
    c = fastconc.Compressor("zstd")
    c.compress(data)
    with pytest.raises(ValueError, match="Z_SYNC_FLUSH"):
        c.flush(zlib.Z_FULL_FLUSH)
    # The refusal leaves the stream usable.
    assert fastconc.decompress(c.flush(zlib.Z_FINISH)) == data


@pytest.mark.parametrize("codec", CODECS)
def test_refused_modes(codec):
    c = fastconc.Compressor(codec)
    for mode in (zlib.Z_PARTIAL_FLUSH, zlib.Z_BLOCK, zlib.Z_TREES):
        with pytest.raises(ValueError, match="Z_SYNC_FLUSH"):
            c.flush(mode)
    for mode in (-1, 7, 1 << 70, "sync", ""):
        with pytest.raises(ValueError, match="flush mode"):
            c.flush(mode)
    for mode in (2.0, True, b"end", None):
        with pytest.raises(TypeError, match="mode"):
            c.flush(mode)
    # Still usable: nothing was done.
    assert fastconc.decompress(c.compress(b"abc") + c.flush(), codec) == \
        b"abc"


def test_string_modes_unchanged():
    c = fastconc.Compressor("gzip")
    out = c.compress(b"x" * 1000) + c.flush("block")
    assert fastconc.Decompressor("gzip").decompress(out) == b"x" * 1000
    out += c.flush(mode="end")
    assert fastconc.decompress(out) == b"x" * 1000
