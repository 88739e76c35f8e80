"""Property tests: any writer (one-shot, Compressor, open) and any reader
(one-shot, Decompressor, open, and the stdlib where it applies) agree, over
codecs, levels, sizes 0..8 MiB, threads 1..4, chunkings and max_length.

Examples per test: FASTCONC_HYPOTHESIS_EXAMPLES (default 25).
"""
import gzip
import io
import os
import zlib

import pytest
from test_codec_stream import sample

import fastconc
from fastconc import Compressor, Decompressor

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")
from hypothesis import HealthCheck, example, given, settings  # noqa: E402

EXAMPLES = int(os.environ.get("FASTCONC_HYPOTHESIS_EXAMPLES", "25"))
CODECS = ["zlib", "deflate", "gzip", "zstd", "lz4"]
# Every level each codec has (slow top levels only on small inputs).
LEVELS = {
    "zlib": range(-1, 10), "deflate": range(-1, 10), "gzip": range(-1, 10),
    "zstd": range(-7, 23), "lz4": range(13),
}
FAST_MAX = {"zlib": 9, "deflate": 9, "gzip": 9, "zstd": 9, "lz4": 9}

SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.data_too_large])

sizes = st.one_of(st.integers(0, 3), st.integers(0, 70_000),
                  st.integers(1 << 20, 8 << 20))


def write(how, data, codec, level, threads, step):
    if how == "oneshot":
        return fastconc.compress(data, codec, level, threads=threads)
    if how == "stream":
        c = Compressor(codec, level, threads if codec == "zstd" else None)
        parts = [c.compress(data[i:i + step])
                 for i in range(0, len(data), step)]
        return b"".join(parts) + c.flush()
    buf = io.BytesIO()
    t = 1 if codec in ("zlib", "deflate") else threads
    with fastconc.open(buf, "wb", codec, level, t) as f:
        for i in range(0, len(data), step):
            f.write(data[i:i + step])
    return buf.getvalue()


def read(how, blob, codec, threads, step, max_length):
    rcodec = "deflate" if codec == "deflate" else None
    if how == "oneshot":
        return fastconc.decompress(blob, rcodec, threads=threads)
    if how == "stream":
        out = []
        rest = blob
        while True:
            d = Decompressor(rcodec)
            i = 0
            while not d.eof:
                if d.needs_input:
                    if i >= len(rest):
                        raise fastconc.DecompressionError("did not end")
                    out.append(d.decompress(rest[i:i + step], max_length))
                    i += step
                else:
                    out.append(d.decompress(b"", max_length))
                if max_length >= 0:
                    assert len(out[-1]) <= max_length
            rest = d.unused_data + rest[i:]
            if not rest:
                return b"".join(out)
    with fastconc.open(io.BytesIO(blob), codec=rcodec) as f:
        if max_length <= 0:
            return f.read()
        out = []
        while True:
            piece = f.read(max_length)
            if not piece:
                return b"".join(out)
            out.append(piece)


def stdlib_read(blob, codec):
    if codec == "gzip":
        return gzip.decompress(blob)
    d = zlib.decompressobj(15 if codec == "zlib" else -15)
    out = d.decompress(blob) + d.flush()
    assert d.eof and not d.unused_data
    return out


@SETTINGS
@given(codec=st.sampled_from(CODECS), size=sizes,
       seed=st.integers(0, 2**32 - 1), threads=st.integers(1, 4),
       writer=st.sampled_from(["oneshot", "stream", "open"]),
       reader=st.sampled_from(["oneshot", "stream", "open"]),
       step=st.integers(1, 3 << 20), rstep=st.integers(1, 1 << 20),
       max_length=st.one_of(st.just(-1), st.integers(1, 1 << 20)),
       data=st.data())
@example(codec="gzip", size=8 << 20, seed=1, threads=4, writer="open",
         reader="oneshot", step=1 << 20, rstep=1 << 16, max_length=-1,
         data=None)
@example(codec="zstd", size=8 << 20, seed=2, threads=4, writer="stream",
         reader="open", step=3 << 20, rstep=1 << 16, max_length=100_000,
         data=None)
@example(codec="lz4", size=8 << 20, seed=3, threads=3, writer="oneshot",
         reader="stream", step=1 << 20, rstep=12345, max_length=77_777,
         data=None)
def test_round_trip(codec, size, seed, threads, writer, reader, step, rstep,
                    max_length, data):
    top = max(LEVELS[codec]) if size <= 70_000 else FAST_MAX[codec]
    level = None if data is None else data.draw(st.one_of(
        st.none(), st.sampled_from([v for v in LEVELS[codec] if v <= top])),
        label="level")
    payload = sample(size, seed)
    if size > 70_000:     # keep tiny chunkings for small inputs
        step = max(step, size // 64 + 1)
        rstep = max(rstep, 4096)
        if max_length > 0:
            max_length = max(max_length, 65536)
    blob = write(writer, payload, codec, level, threads, step)
    assert read(reader, blob, codec, threads, rstep, max_length) == payload
    if codec in ("zlib", "deflate", "gzip"):
        assert stdlib_read(blob, codec) == payload


@SETTINGS
@given(codec=st.sampled_from(["zlib", "gzip", "zstd", "lz4"]),
       size=st.integers(0, 20_000), seed=st.integers(0, 2**32 - 1),
       cut=st.floats(0, 1, exclude_max=True), flip=st.integers(0, 7))
def test_damage_never_silent(codec, size, seed, cut, flip):
    """A truncated or bit-flipped stream raises DecompressionError or (for
    a flip in an unchecked header field) decodes to the original data."""
    payload = sample(size, seed)
    # The stream writer's output: every codec with its checksum on
    # (zstd XXH64, lz4 content checksum), as the zstd and lz4 tools write.
    blob = write("stream", payload, codec, None, 1, 65536)
    n = int(len(blob) * cut)
    for reader in ("oneshot", "stream", "open"):
        if reader == "open" and n == 0:
            # An empty file reads as empty data, as with gzip.open.
            assert read(reader, b"", codec, 1, 4096, -1) == b""
            continue
        with pytest.raises(fastconc.DecompressionError):
            read(reader, blob[:n], codec, 1, 4096, -1)
    bad = bytearray(blob)
    bad[n] ^= 1 << flip
    for reader in ("oneshot", "stream", "open"):
        try:
            out = read(reader, bytes(bad), codec, 1, 4096, -1)
        except fastconc.DecompressionError:
            continue
        assert out == payload
