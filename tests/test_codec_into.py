"""decompress_into() and compress_into(): output into the caller's buffer.

Round trips for every codec and thread count, checked against
decompress()/compress() and the stdlib or the reference packages; a
buffer too small raises OutputSizeError at every size from 0 to one byte
short, and never a byte is written past the buffer (guard bytes after a
memoryview slice); numpy and mmap targets; bad arguments raise clear
errors; submit() and aio carry the functions too."""
from __future__ import annotations

import asyncio
import gzip
import io
import mmap
import os
import time
import zlib
from typing import Any

import pytest
from codec_data import corpus

import fastconc
import fastconc.aio as aio

CODECS = ["zlib", "deflate", "gzip", "zstd", "lz4"]
THREADS = [None, 1, 2, 4]
GUARD = 64
SMALL = os.urandom(300) + b"fastconc " * 200 + os.urandom(77)
BIG = corpus(9 << 20)           # several blocks/frames: the parallel layout


def _guarded(size: int) -> tuple[bytearray, memoryview]:
    """A buffer of `size` bytes followed by GUARD bytes of 0xA5."""
    whole = bytearray(b"\xa5" * (size + GUARD))
    return whole, memoryview(whole)[:size]


def _ref_decompress(codec: str, blob: bytes) -> bytes:
    if codec == "zlib":
        return zlib.decompress(blob)
    if codec == "deflate":
        return zlib.decompress(blob, -15)
    if codec == "gzip":
        return gzip.decompress(blob)
    if codec == "zstd":
        zstandard = pytest.importorskip("zstandard")
        reader = zstandard.ZstdDecompressor().stream_reader(
            io.BytesIO(blob), read_across_frames=True)
        return bytes(reader.read())
    lz4frame = pytest.importorskip("lz4.frame")
    return lz4frame.decompress(blob)


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("threads", THREADS)
@pytest.mark.parametrize("data", [b"", SMALL, BIG], ids=["empty", "small",
                                                          "big"])
def test_round_trip(codec: str, threads: Any, data: bytes) -> None:
    blob = fastconc.compress(data, codec, threads=threads)
    whole, out = _guarded(len(data) + 100)
    n = fastconc.decompress_into(blob, out, codec, threads=threads)
    assert n == len(data)
    assert bytes(out[:n]) == data
    assert whole[len(data) + 100:] == b"\xa5" * GUARD
    # detection by magic bytes (raw deflate has none)
    if codec != "deflate":
        out2 = bytearray(len(data))
        assert fastconc.decompress_into(blob, out2, threads=threads) == n
        assert out2 == data
    # compress_into: the bytes compress() makes, checked by the reference
    whole, dst = _guarded(len(blob) + 10)
    m = fastconc.compress_into(data, dst, codec, threads=threads)
    assert bytes(dst[:m]) == blob
    assert whole[len(blob) + 10:] == b"\xa5" * GUARD
    assert _ref_decompress(codec, bytes(dst[:m])) == data


@pytest.mark.parametrize("codec", CODECS)
def test_every_too_small_size(codec: str) -> None:
    for data in (SMALL[:1], SMALL[:40], SMALL):
        blob = fastconc.compress(data, codec)
        for size in range(len(data) + 1):
            whole, out = _guarded(size)
            if size < len(data):
                with pytest.raises(fastconc.OutputSizeError,
                                   match="decompress_into"):
                    fastconc.decompress_into(blob, out, codec)
            else:
                assert fastconc.decompress_into(blob, out, codec) == size
                assert bytes(out) == data
            assert whole[size:] == b"\xa5" * GUARD, (codec, size)
        for size in range(len(blob) + 1):
            whole, out = _guarded(size)
            if size < len(blob):
                with pytest.raises(fastconc.OutputSizeError,
                                   match="compress_into"):
                    fastconc.compress_into(data, out, codec)
                assert whole == b"\xa5" * (size + GUARD)  # left as it was
            else:
                assert fastconc.compress_into(data, out, codec) == size
                assert bytes(out) == blob


def _foreign_streams() -> list[tuple[str, bytes, bytes]]:
    """Streams fastconc did not make (no parallel layout, sizes not in the
    headers): the sequential decoder path."""
    data = corpus(3 << 20)
    half = len(data) // 2
    out = [
        ("gzip members", gzip.compress(data[:half]) + gzip.compress(
            data[half:]), data),
        ("zlib", zlib.compress(data, 6), data),
    ]
    c = fastconc.Compressor("zstd")
    out.append(("zstd stream", c.compress(data) + c.flush(), data))
    try:
        import lz4.frame as lz4frame
        out.append(("lz4 package", lz4frame.compress(
            data, store_size=False), data))
    except ImportError:
        pass
    return out


@pytest.mark.parametrize("case", _foreign_streams(), ids=lambda c: c[0])
@pytest.mark.parametrize("threads", [1, 2])
def test_sequential_streams(case: tuple[str, bytes, bytes],
                            threads: int) -> None:
    _, blob, data = case
    out = bytearray(len(data))
    assert fastconc.decompress_into(blob, out, threads=threads) == len(data)
    assert out == data
    for size in (0, 1, len(data) // 2, len(data) - 1):
        whole, view = _guarded(size)
        with pytest.raises(fastconc.OutputSizeError):
            fastconc.decompress_into(blob, view, threads=threads)
        assert whole[size:] == b"\xa5" * GUARD


@pytest.mark.parametrize("codec", CODECS)
def test_parallel_layout_too_small(codec: str) -> None:
    blob = fastconc.compress(BIG, codec, threads=4)
    for size in (0, len(BIG) // 3, len(BIG) - 1):
        whole, view = _guarded(size)
        with pytest.raises(fastconc.OutputSizeError):
            fastconc.decompress_into(blob, view, codec, threads=4)
        assert whole[size:] == b"\xa5" * GUARD


def test_numpy_targets() -> None:
    np = pytest.importorskip("numpy")
    blob = fastconc.compress(BIG, "zstd", threads=2)
    arr = np.zeros(len(BIG), dtype=np.uint8)
    assert fastconc.decompress_into(blob, arr, threads=2) == len(BIG)
    assert arr.tobytes() == BIG
    # any item type: the room is the length in bytes
    floats = np.arange(1000, dtype=np.float64)
    packed = fastconc.compress(floats, "lz4")
    back = np.empty(1000, dtype=np.float64)
    assert fastconc.decompress_into(packed, back) == 8000
    assert np.array_equal(back, floats)
    two_d = np.zeros((10, 800), dtype=np.uint8)
    assert fastconc.decompress_into(packed, two_d) == 8000
    assert two_d.tobytes() == floats.tobytes()
    # a slice: writes stay inside it
    big = np.full(9000, 7, dtype=np.uint8)
    assert fastconc.decompress_into(packed, big[500:8500]) == 8000
    assert (big[:500] == 7).all() and (big[8500:] == 7).all()
    with pytest.raises(ValueError, match="C-contiguous"):
        fastconc.decompress_into(packed, np.zeros((800, 20),
                                                  dtype=np.uint8)[:, ::2])
    ro = np.zeros(8000, dtype=np.uint8)
    ro.flags.writeable = False
    with pytest.raises(TypeError, match="writable"):
        fastconc.decompress_into(packed, ro)
    dst = np.zeros(len(packed) + 5, dtype=np.uint8)
    n = fastconc.compress_into(floats, dst, "lz4")
    assert dst[:n].tobytes() == packed


def test_mmap_targets(tmp_path: Any) -> None:
    blob = fastconc.compress(BIG, "gzip", threads=2)
    with mmap.mmap(-1, len(BIG)) as m:
        assert fastconc.decompress_into(blob, m, threads=2) == len(BIG)
        assert m[:] == BIG
    p = tmp_path / "out.bin"
    p.write_bytes(b"\0" * (len(BIG) + 10))
    with open(p, "r+b") as f, mmap.mmap(f.fileno(), 0) as m:
        assert fastconc.decompress_into(blob, m) == len(BIG)
        m.flush()
    assert p.read_bytes()[:len(BIG)] == BIG
    with open(p, "rb") as f, mmap.mmap(f.fileno(), 0,
                                       access=mmap.ACCESS_READ) as m:
        with pytest.raises(TypeError, match="writable"):
            fastconc.decompress_into(blob, m)


def test_errors_match_decompress() -> None:
    blob = fastconc.compress(SMALL, "zstd")
    out = bytearray(len(SMALL))
    for bad, codec in ((b"garbage!", None), (blob[:-5], None),
                       (blob, "gzip"), (b"", "zstd"),
                       (blob[:20] + bytes(20) + blob[40:], "zstd")):
        with pytest.raises(Exception) as direct:
            fastconc.decompress(bad, codec)
        with pytest.raises(type(direct.value)):
            fastconc.decompress_into(bad, out, codec)
    with pytest.raises(TypeError, match="writable"):
        fastconc.decompress_into(blob, bytes(1000))
    with pytest.raises(TypeError, match="bytes-like"):
        fastconc.decompress_into(blob, [0] * 1000)
    with pytest.raises(TypeError):
        fastconc.decompress_into("text", out)
    with pytest.raises(ValueError):
        fastconc.decompress_into(blob, out, "nope")
    with pytest.raises(ValueError):
        fastconc.decompress_into(blob, out, threads=0)
    with pytest.raises(TypeError):
        fastconc.decompress_into(blob)          # type: ignore[call-arg]
    with pytest.raises(ValueError):
        fastconc.compress_into(SMALL, out, "zstd", 99)
    with pytest.raises(ValueError):
        fastconc.compress_into(SMALL, out, "nope")
    with pytest.raises(TypeError, match="writable"):
        fastconc.compress_into(SMALL, b"x" * 10000)


def test_reused_buffer_and_views_released() -> None:
    out = bytearray(1 << 20)
    for i in range(20):
        data = os.urandom(1000) * (i + 1)
        n = fastconc.decompress_into(fastconc.compress(data, "lz4"), out)
        assert out[:n] == data
    out.extend(b"x")            # BufferError if a view were still held


def test_submit_and_aio() -> None:
    blob = fastconc.compress(BIG, "zstd", threads=2)
    out = bytearray(len(BIG))
    f = fastconc.submit(fastconc.decompress_into, blob, out, threads=2)
    assert f.result(60) == len(BIG) and out == BIG
    small = bytearray(10)
    with pytest.raises(fastconc.OutputSizeError):
        fastconc.submit(fastconc.decompress_into, blob, small).result(60)

    async def main() -> tuple[int, int]:
        out2 = bytearray(len(BIG))
        dst = bytearray(len(blob) + 100)
        a, b = await asyncio.gather(aio.decompress_into(blob, out2),
                                    aio.compress_into(SMALL, dst, "gzip"))
        assert out2 == BIG and gzip.decompress(bytes(dst[:b])) == SMALL
        return a, b
    a, _ = asyncio.run(main())
    assert a == len(BIG)


@pytest.mark.parametrize("threads", [1, 2])
def test_cancelled_call_stays_inside_out(threads: int) -> None:
    # What a cancelled decompress_into wrote is unspecified, but never
    # past the buffer; the next call works.
    size = 256 << 20
    blob = fastconc.compress(bytes(size), "gzip", 1, threads=threads)
    whole = bytearray(size + GUARD)
    whole[size:] = b"\xa5" * GUARD
    out = memoryview(whole)[:size]
    f = fastconc.submit(fastconc.decompress_into, blob, out, threads=threads)
    time.sleep(0.05)
    if not f.cancel():
        assert f.result() == size
    assert whole[size:] == b"\xa5" * GUARD
    out.release()
    whole.extend(b"x")          # BufferError if a view were still held
    # (the pool counts the job until its completion callback returns)
    deadline = time.monotonic() + 5
    while fastconc._core._jobs_live() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fastconc._core._jobs_live() == 0
    small = bytearray(len(SMALL))
    assert fastconc.decompress_into(fastconc.compress(SMALL, "gzip"),
                                    small) == len(SMALL)


def test_zstd_dict() -> None:
    # A raw-content dictionary: the into forms take zstd_dict= as the
    # one-shots do, and give their bytes.
    zd = fastconc.ZstdDict(SMALL * 4, is_raw=True)
    data = SMALL[100:] + SMALL[:100]
    blob = fastconc.compress(data, "zstd", zstd_dict=zd)
    dst = bytearray(len(blob))
    assert fastconc.compress_into(data, dst, "zstd", zstd_dict=zd) \
        == len(blob)
    assert dst == blob
    out = bytearray(len(data))
    assert fastconc.decompress_into(blob, out, zstd_dict=zd) == len(data)
    assert out == data
    with pytest.raises(fastconc.DecompressionError):
        fastconc.decompress_into(blob, out)         # the dictionary missing
    with pytest.raises(ValueError):
        fastconc.decompress_into(blob, out, "gzip", zstd_dict=zd)
