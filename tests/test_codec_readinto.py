"""CompressedFile.readinto and Decompressor._decompress_into (which it uses
to decode straight into the caller's buffer): the same bytes as read()
and as the reference libraries (gzip/zlib, zstandard, lz4) for every
codec, multi-member gzip and multi-frame zstd/lz4 files, buffers from 0
bytes to larger than the file, memoryview slices (nothing written past
them), numpy arrays and mmap targets."""
from __future__ import annotations

import gzip
import io
import mmap
import random
import zlib
from typing import Any

import pytest

import fastconc

RNG = random.Random(2025)
# Compressible but not trivial: words from a small vocabulary, plus noise.
_WORDS = [RNG.randbytes(RNG.randrange(2, 9)) for _ in range(300)]
PLAIN = b" ".join(RNG.choice(_WORDS) for _ in range(120_000)) + \
    RNG.randbytes(5000)
HALF = len(PLAIN) // 2


def _deflate_raw(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def _files() -> dict[str, tuple[str, bytes]]:
    """name -> (codec, file bytes), each made by the reference library."""
    zstandard = pytest.importorskip("zstandard")
    lz4_frame = pytest.importorskip("lz4.frame")
    zc = zstandard.ZstdCompressor(level=3)
    return {
        "gzip": ("gzip", gzip.compress(PLAIN)),
        "gzip members": ("gzip", gzip.compress(PLAIN[:HALF]) +
                         gzip.compress(b"") + gzip.compress(PLAIN[HALF:])),
        "gzip fastconc": ("gzip", fastconc.compress(PLAIN, "gzip",
                                                    threads=2)),
        "zstd frames": ("zstd", zc.compress(PLAIN[:HALF]) +
                        zc.compress(PLAIN[HALF:])),
        "lz4 frames": ("lz4", lz4_frame.compress(PLAIN[:HALF]) +
                       lz4_frame.compress(PLAIN[HALF:])),
        "zlib": ("zlib", zlib.compress(PLAIN)),
        "deflate": ("deflate", _deflate_raw(PLAIN)),
    }


FILES = ["gzip", "gzip members", "gzip fastconc", "zstd frames",
         "lz4 frames", "zlib", "deflate"]


def _open(name: str) -> Any:
    codec, blob = _files()[name]
    return fastconc.open(io.BytesIO(blob), "rb", codec=codec)


def _read_all_into(f: Any, make: Any, size: int) -> bytes:
    """The whole file by readinto() calls on buffers from make(size)."""
    parts = []
    while True:
        buf = make(size)
        n = f.readinto(buf)
        assert 0 <= n <= size
        if n == 0:
            return b"".join(parts)
        parts.append(bytes(memoryview(buf).cast("B")[:n]))


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("size", [
    # one byte a call: 4 s a codec here, minutes under ASan (7 bytes
    # covers the same paths there)
    pytest.param(1, marks=pytest.mark.slow),
    7, 4096, 100_000, 1 << 20, len(PLAIN) + 10])
def test_readinto_matches_read_and_reference(name: str, size: int) -> None:
    with _open(name) as f:
        want = f.read()
    assert want == PLAIN
    with _open(name) as f:
        assert _read_all_into(f, bytearray, size) == PLAIN


@pytest.mark.parametrize("name", FILES)
def test_raw_reader_readinto_alternating_with_read(name: str) -> None:
    """The raw reader (no BufferedReader in front): readinto and read in
    turns, at sizes that cut members and frames anywhere."""
    with _open(name) as f:
        raw = f._buffer.raw if hasattr(f, "_buffer") else None
        if raw is None:
            pytest.skip("no raw reader to reach")
        rng = random.Random(len(name))
        got = bytearray()
        turn = 0
        while True:
            size = rng.choice([1, 13, 999, 65536, 300_000])
            if turn % 2:
                data = raw.read(size)
                n = len(data)
                got += data
            else:
                buf = bytearray(size)
                n = raw.readinto(buf)
                got += buf[:n]
            turn += 1
            if n == 0:
                break
        assert bytes(got) == PLAIN


@pytest.mark.parametrize("name", ["gzip members", "zstd frames",
                                  "lz4 frames", "deflate"])
def test_readinto_memoryview_slice_writes_nothing_outside(name: str) -> None:
    whole = bytearray(b"\xee" * 3000)
    view = memoryview(whole)[1000:2000]
    with _open(name) as f:
        got = bytearray()
        while True:
            n = f.readinto(view)
            if n == 0:
                break
            got += view[:n]
            assert whole[:1000] == b"\xee" * 1000
            assert whole[2000:] == b"\xee" * 1000
    assert bytes(got) == PLAIN


@pytest.mark.parametrize("name", ["gzip", "zstd frames", "lz4 frames"])
def test_readinto_numpy_and_mmap(name: str) -> None:
    np = pytest.importorskip("numpy")
    with _open(name) as f:
        arr = np.zeros(len(PLAIN) // 8 + 1, dtype=np.uint64)
        n = f.readinto(arr)
        rest = f.read()
    assert arr.tobytes()[:n] + rest == PLAIN
    with _open(name) as f, mmap.mmap(-1, len(PLAIN) + 100) as mm:
        total = 0
        while True:
            with memoryview(mm) as mv:
                n = f.readinto(mv[total:])
            if n == 0:
                break
            total += n
        assert total == len(PLAIN)
        assert mm[:total] == PLAIN
        assert mm[total:] == b"\0" * 100


@pytest.mark.parametrize("name", FILES)
def test_readinto_empty_buffer(name: str) -> None:
    with _open(name) as f:
        assert f.readinto(bytearray(0)) == 0
        assert f.read(10) == PLAIN[:10]
        assert f.readinto(memoryview(bytearray(5))[:0]) == 0
        assert f.read() == PLAIN[10:]
        assert f.readinto(bytearray(10)) == 0     # at the end


def test_readinto_after_seek_uses_the_right_position() -> None:
    with _open("gzip fastconc") as f:
        f.seek(HALF + 3)
        buf = bytearray(5000)
        assert f.readinto(buf) == 5000
        assert bytes(buf) == PLAIN[HALF + 3:HALF + 5003]
        f.seek(10)
        assert f.readinto(buf) == 5000
        assert bytes(buf) == PLAIN[10:5010]


def test_readinto_truncated_and_corrupt_raise() -> None:
    blob = gzip.compress(PLAIN)
    f = fastconc.open(io.BytesIO(blob[:-20]), "rb", codec="gzip")
    with pytest.raises(EOFError), f:
        _read_all_into(f, bytearray, 1 << 16)
    bad = bytearray(zlib.compress(PLAIN))
    bad[100] ^= 0xFF
    f = fastconc.open(io.BytesIO(bytes(bad)), "rb", codec="zlib")
    with pytest.raises(zlib.error), f:
        _read_all_into(f, bytearray, 1 << 16)


# --- Decompressor._decompress_into itself -----------------------------------

@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("size", [0, 1, 1000, 1 << 20])
def test_decompress_into_matches_decompress(name: str, size: int) -> None:
    """Step for step the same as decompress(data, max_length=len(out)):
    the same output, and the same eof / needs_input / unused_data."""
    codec, blob = _files()[name]
    a = fastconc.Decompressor(codec)
    b = fastconc.Decompressor(codec)
    feed = [blob[i:i + 5000] for i in range(0, len(blob), 5000)]
    out = bytearray(size)
    for step in range(100_000):
        if a.eof:
            break
        chunk = feed.pop(0) if a.needs_input and feed else b""
        want = a.decompress(chunk, size)
        n = b._decompress_into(chunk, out)
        assert bytes(out[:n]) == want
        assert (a.eof, a.needs_input, a.unused_data) == \
            (b.eof, b.needs_input, b.unused_data)
        if size == 0 and step > 3:
            break
        if not feed and a.needs_input and not a.eof:
            break


def test_decompress_into_bad_arguments() -> None:
    d = fastconc.Decompressor("zlib")
    blob = zlib.compress(PLAIN)
    with pytest.raises(TypeError):
        d._decompress_into(blob, b"read-only bytes")
    with pytest.raises(TypeError):
        d._decompress_into(blob)        # type: ignore[call-arg]
    shared = bytearray(blob) + bytearray(1000)
    with pytest.raises(ValueError, match="overlaps"):
        d._decompress_into(memoryview(shared)[:len(blob)],
                           memoryview(shared)[100:])
    out = bytearray(len(PLAIN))
    n = d._decompress_into(blob, out)
    assert n == len(PLAIN) and out == PLAIN and d.eof
    with pytest.raises(EOFError):
        d._decompress_into(b"", out)
    bounded = fastconc.Decompressor("zlib", max_output_size=100)
    with pytest.raises(fastconc.OutputSizeError):
        bounded._decompress_into(blob, bytearray(1000))
