"""fastconc.Compressor / fastconc.Decompressor: the streaming objects.

Cross-checked against the stdlib (zlib, gzip), the zstd/lz4 command-line
tools and, when installed, the zstandard and lz4 packages; semantics follow
bz2/lzma's objects (max_length, eof, unused_data, needs_input).
"""
import functools
import gzip
import os
import pickle
import random
import shutil
import subprocess
import sys
import sysconfig
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest

import fastconc
from fastconc import (
    Compressor,
    DecompressionError,
    Decompressor,
    OutputSizeError,
)

# False on a free-threaded build running without the GIL (PYTHON_GIL=0)
GIL_ENABLED = getattr(sys, "_is_gil_enabled", lambda: True)()

CODECS = ["zlib", "deflate", "gzip", "zstd", "lz4"]
# Codecs the Decompressor recognises by magic.
DETECTED = ["zlib", "gzip", "zstd", "lz4"]
LEVELS = {
    "zlib": [0, 1, 6, 9],
    "deflate": [0, 1, 6, 9],
    "gzip": [0, 1, 6, 9],
    "zstd": [-5, 1, 3, 19],
    "lz4": [0, 1, 3, 12],
}
T = 2048    # GIL_THRESHOLD default


@functools.cache
def corpus():
    """Real text: the stdlib's own sources (about 8 MiB)."""
    root = sysconfig.get_paths()["stdlib"]
    parts, total = [], 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(".py"):
                try:
                    with open(os.path.join(dirpath, name), "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                parts.append(data)
                total += len(data)
                if total >= 9 << 20:
                    return b"".join(parts)
    return b"".join(parts)


def sample(n, seed=0):
    """n bytes mixing real text and random runs (incompressible parts)."""
    rng = random.Random(seed)
    text = corpus()
    out = bytearray()
    while len(out) < n:
        k = rng.randrange(1, 64 << 10)
        if rng.random() < 0.2:
            out += rng.randbytes(k)
        else:
            start = rng.randrange(0, max(1, len(text) - k))
            out += text[start:start + k]
    return bytes(out[:n])


def stream_compress(data, codec, level=None, threads=None, step=65536):
    c = Compressor(codec, level, threads)
    parts = [c.compress(data[i:i + step]) for i in range(0, len(data), step)]
    parts.append(c.flush())
    return b"".join(parts)


def stream_decompress(blob, codec=None, step=65536, max_length=-1):
    """Decompress one stream in pieces; require its end."""
    d = Decompressor(codec)
    out = []
    i = 0
    while not d.eof:
        if d.needs_input:
            if i >= len(blob):
                raise AssertionError("stream did not end")
            out.append(d.decompress(blob[i:i + step], max_length))
            i += step
        else:
            out.append(d.decompress(b"", max_length))
        if max_length >= 0:
            assert len(out[-1]) <= max_length
    return b"".join(out), d.unused_data + blob[i:]


def decode_all(blob, codec=None):
    """Decode every member/frame, as fastconc.open does."""
    out = []
    while blob:
        d = Decompressor(codec)
        out.append(d.decompress(blob))
        if not d.eof:
            raise DecompressionError("truncated")
        blob = d.unused_data
    return b"".join(out)


def stdlib_compress(data, codec, level=6):
    if codec == "gzip":
        return gzip.compress(data, level)
    wbits = {"zlib": 15, "deflate": -15}[codec]
    c = zlib.compressobj(level, zlib.DEFLATED, wbits)
    return c.compress(data) + c.flush()


def stdlib_decompress(blob, codec):
    if codec == "gzip":
        return gzip.decompress(blob)
    wbits = {"zlib": 15, "deflate": -15}[codec]
    d = zlib.decompressobj(wbits)
    out = d.decompress(blob)
    assert d.eof and not d.unused_data
    return out


def tool(*cmd, data):
    if shutil.which(cmd[0]) is None:
        pytest.skip(f"{cmd[0]} not installed")
    return subprocess.run(list(cmd), input=data, capture_output=True,
                          check=True).stdout


# --- round trips -------------------------------------------------------------

@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("size", [0, 1, T - 1, T, T + 1, 65536, 1 << 20])
def test_round_trip_sizes(codec, size):
    data = sample(size, size)
    blob = stream_compress(data, codec, step=7919)
    out, rest = stream_decompress(blob, codec, step=4099)
    assert out == data and rest == b""
    # One call each way too.
    d = Decompressor(codec)
    assert d.decompress(blob) == data
    assert d.eof and not d.needs_input and d.unused_data == b""


@pytest.mark.parametrize("codec", CODECS)
def test_levels(codec):
    data = sample(300_000, 3)
    sizes = {}
    for level in LEVELS[codec]:
        blob = stream_compress(data, codec, level)
        assert Decompressor(codec).decompress(blob) == data
        sizes[level] = len(blob)
    lo, hi = min(LEVELS[codec]), max(LEVELS[codec])
    assert sizes[hi] < sizes[lo]
    assert Compressor(codec, hi).level == hi


@pytest.mark.parametrize("codec", CODECS)
def test_bad_levels(codec):
    with pytest.raises(ValueError, match="level"):
        Compressor(codec, 1000)
    with pytest.raises(TypeError):
        Compressor(codec, "9")
    with pytest.raises(TypeError):
        Compressor(codec, 1.5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="zstd"):
        Compressor("brotli")
    with pytest.raises(ValueError, match="zstd"):
        Decompressor("bz2")
    with pytest.raises(TypeError):
        Compressor(b"zstd")
    with pytest.raises(TypeError):
        Compressor().compress("text")
    with pytest.raises(TypeError):
        Decompressor().decompress("text")
    with pytest.raises(TypeError):
        Decompressor().decompress(b"", "10")
    with pytest.raises(ValueError):
        Decompressor(max_output_size=-1)
    with pytest.raises(TypeError):
        Decompressor(max_output_size="1")
    with pytest.raises(TypeError):
        Decompressor("gzip", 10)       # max_output_size is keyword-only
    with pytest.raises(ValueError):
        Compressor("zstd", threads=0)


def test_defaults():
    c = Compressor()
    assert c.codec == "zstd" and c.level == 3 and c.threads == 1
    d = Decompressor()
    assert d.codec is None and d.needs_input and not d.eof
    assert d.unused_data == b""


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_buffer_types(kind):
    data = sample(10_000)
    blob = stream_compress(data, "zstd")
    c = Compressor("gzip")
    out = c.compress(kind(data)) + c.flush()
    assert gzip.decompress(out) == data
    assert Decompressor().decompress(kind(blob)) == data


def test_numpy_buffer():
    np = pytest.importorskip("numpy")
    arr = np.arange(100_000, dtype=np.int64)
    c = Compressor("lz4")
    blob = c.compress(arr) + c.flush()
    assert Decompressor().decompress(blob) == arr.tobytes()
    with pytest.raises(ValueError):
        Compressor().compress(arr[::2])   # not contiguous


# --- interop -----------------------------------------------------------------

@pytest.mark.parametrize("codec", ["zlib", "deflate", "gzip"])
@pytest.mark.parametrize("level", [1, 6, 9])
def test_stdlib_decodes_ours(codec, level):
    data = sample(500_000, level)
    assert stdlib_decompress(stream_compress(data, codec, level),
                             codec) == data


@pytest.mark.parametrize("codec", ["zlib", "deflate", "gzip"])
@pytest.mark.parametrize("level", [0, 1, 9])
def test_we_decode_stdlib(codec, level):
    data = sample(500_000, level + 10)
    blob = stdlib_compress(data, codec, level)
    out, rest = stream_decompress(blob, codec, step=10_000)
    assert out == data and rest == b""
    if codec != "deflate":
        assert Decompressor().decompress(blob) == data   # detected


def test_we_decode_stdlib_sync_flushes():
    data = sample(200_000, 5)
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    blob = b"".join([c.compress(data[:1000]), c.flush(zlib.Z_SYNC_FLUSH),
                     c.compress(data[1000:]), c.flush(zlib.Z_FULL_FLUSH),
                     c.flush()])
    assert Decompressor().decompress(blob) == data


@pytest.mark.parametrize("codec,cmd", [
    ("gzip", ["gzip", "-dc"]), ("gzip", ["pigz", "-dc"]),
    ("zlib", ["pigz", "-dzc"]),
    ("zstd", ["zstd", "-dcq"]), ("lz4", ["lz4", "-dcq"])])
def test_tools_decode_ours(codec, cmd):
    data = sample(1_500_000, 7)
    assert tool(*cmd, data=stream_compress(data, codec)) == data
    # An empty stream too.
    assert tool(*cmd, data=stream_compress(b"", codec)) == b""


@pytest.mark.parametrize("cmd,codec", [
    (["gzip", "-c"], "gzip"), (["gzip", "-1c"], "gzip"),
    (["pigz", "-c", "-p", "2", "-b", "128"], "gzip"),
    (["pigz", "-zc"], "zlib"),
    (["zstd", "-cq"], "zstd"), (["zstd", "-cq", "--no-check", "-19"], "zstd"),
    (["zstd", "-cq", "-T2", "-1"], "zstd"),
    (["lz4", "-cq"], "lz4"), (["lz4", "-cq", "-BD", "-B4"], "lz4"),
    (["lz4", "-cq", "--no-frame-crc", "-9"], "lz4"),
    (["lz4", "-cq", "--content-size"], "lz4")])
def test_we_decode_tools(cmd, codec):
    data = sample(1_200_000, 8)
    blob = tool(*cmd, data=data)
    out, rest = stream_decompress(blob, None, step=33_333)
    assert out == data and rest == b""
    d = Decompressor()
    assert d.decompress(blob) == data and d.codec == codec


def test_zstandard_package_interop():
    zstandard = pytest.importorskip("zstandard")
    data = sample(700_000, 9)
    assert zstandard.ZstdDecompressor().decompress(
        stream_compress(data, "zstd"), max_output_size=len(data)) == data
    blob = zstandard.ZstdCompressor(level=5).compress(data)
    assert Decompressor().decompress(blob) == data


def test_lz4_package_interop():
    lz4frame = pytest.importorskip("lz4.frame")
    data = sample(700_000, 10)
    assert lz4frame.decompress(stream_compress(data, "lz4")) == data
    assert Decompressor().decompress(lz4frame.compress(data)) == data


# --- bz2/lzma-style semantics ------------------------------------------------

@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("max_length", [0, 1, 100, 65536])
def test_max_length(codec, max_length):
    data = sample(300_000, 11)
    blob = stream_compress(data, codec)
    d = Decompressor(codec)
    out = [d.decompress(blob, max_length)]
    assert len(out[0]) <= max_length
    assert not d.needs_input
    for _ in range(10_000_000):
        if d.eof:
            break
        piece = d.decompress(b"", max_length)
        assert len(piece) <= max_length
        out.append(piece)
        if max_length == 0:
            break
    if max_length:
        assert b"".join(out) == data
        assert d.eof and d.unused_data == b""


def test_needs_input_transitions():
    data = sample(100_000, 12)
    blob = stream_compress(data, "zstd")
    d = Decompressor("zstd")
    assert d.needs_input
    first = d.decompress(blob[:100])
    assert d.needs_input and not d.eof
    # Stop on output: the rest of the input is kept internally.
    mid = d.decompress(blob[100:], 1000)
    assert len(mid) == 1000 and not d.needs_input
    rest = d.decompress(b"")
    assert first + mid + rest == data
    assert d.eof and not d.needs_input


@pytest.mark.parametrize("codec", ["gzip", "zstd", "lz4", "zlib", "deflate"])
def test_eof_and_unused_data(codec):
    data = sample(50_000, 13)
    blob = stream_compress(data, codec)
    tail = b"\x00junk after the stream" * 3
    d = Decompressor(codec)
    assert d.decompress(blob + tail) == data
    assert d.eof and d.unused_data == tail and not d.needs_input
    # Fed in pieces, the tail is collected across calls only up to the
    # end; afterwards the object refuses more data with a clear error.
    with pytest.raises(EOFError, match="end of stream"):
        d.decompress(b"more")
    d = Decompressor(codec)
    out, rest = stream_decompress(blob + tail, codec, step=1000)
    assert out == data and rest == tail


@pytest.mark.parametrize("codec", ["zlib", "deflate"])
def test_unused_data_after_max_length_drain(codec):
    data = bytes(range(256)) * 4
    tail = b"TRAILING-DATA"
    c = zlib.compressobj(6, zlib.DEFLATED, 15 if codec == "zlib" else -15)
    blob = c.compress(data) + c.flush()     # (compress(wbits=) is 3.11+)
    ref = zlib.decompressobj(15 if codec == "zlib" else -15)
    assert ref.decompress(blob + tail) == data and ref.unused_data == tail
    d = Decompressor(codec)
    out = d.decompress(blob + tail, 7)
    while not d.eof and not d.needs_input:
        out += d.decompress(b"", 7)
    assert out == data and d.eof
    assert d.unused_data == tail          # got b"ING-DATA" (deflate)


def test_stops_at_member_and_frame_ends():
    a, b = sample(40_000, 14), sample(30_000, 15)
    for codec in ["gzip", "zstd", "lz4"]:
        blob = stream_compress(a, codec) + stream_compress(b, codec)
        d = Decompressor(codec)
        assert d.decompress(blob) == a and d.eof
        assert decode_all(blob) == a + b
    # Members written by the stdlib and the gzip command.
    blob = gzip.compress(a) + gzip.compress(b)
    assert decode_all(blob) == a + b


def test_detection_needs_bytes_one_at_a_time():
    data = sample(20_000, 16)
    for codec in DETECTED:
        blob = stream_compress(data, codec)
        d = Decompressor()
        out = []
        for i in range(len(blob)):
            out.append(d.decompress(blob[i:i + 1]))
            if i < 1:
                assert d.needs_input
        assert d.codec == codec and d.eof
        assert b"".join(out) == data


def test_compressor_after_flush():
    for codec in CODECS:
        c = Compressor(codec)
        c.compress(b"abc")
        c.flush()
        with pytest.raises(ValueError, match="flush"):
            c.compress(b"x")
        with pytest.raises(ValueError, match="flush"):
            c.flush()


def test_compress_returns_what_is_ready():
    c = Compressor("zlib", 6)
    out = [c.compress(b"a" * 10) for _ in range(100)]
    out.append(c.flush())
    assert zlib.decompress(b"".join(out)) == b"a" * 1000


def test_not_picklable():
    for obj in (Compressor(), Decompressor()):
        with pytest.raises(TypeError, match="pickle"):
            pickle.dumps(obj)


def test_types_not_subclassable():
    with pytest.raises(TypeError):
        type("Sub", (Compressor,), {})


# --- threads -----------------------------------------------------------------

@pytest.mark.parametrize("threads", [2, 4])
def test_zstd_threads_honoured(threads):
    data = sample(6 << 20, 17)
    c = Compressor("zstd", 3, threads)
    assert c.threads == threads
    blob = stream_compress(data, "zstd", 3, threads, step=1 << 20)
    assert tool("zstd", "-dcq", data=blob) == data
    assert Decompressor().decompress(blob) == data
    info = fastconc.info()["parallel"]
    assert "zstd stream" in info


@pytest.mark.parametrize("codec", ["zlib", "deflate", "gzip", "lz4"])
def test_threads_refused_when_single_threaded(codec):
    with pytest.raises(ValueError, match="single-threaded"):
        Compressor(codec, threads=2)
    assert Compressor(codec, threads=1).threads == 1


@pytest.mark.timeout(120)
def test_many_threads_own_objects():
    """Objects used from several threads at once (GIL released around
    the library) give the single-thread results."""
    datas = [sample(400_000 + i * 1000, 20 + i) for i in range(5)]
    barrier = threading.Barrier(5)

    def work(i):
        codec = CODECS[i]
        barrier.wait()
        blob = stream_compress(datas[i], codec, step=50_000 + i * 999)
        out, _ = stream_decompress(blob, codec, step=30_000 + i * 777)
        return out

    with ThreadPoolExecutor(5) as ex:
        assert list(ex.map(work, range(5))) == datas


@pytest.mark.timeout(120)
def test_shared_object_hammered():
    """Five threads call one object at once, with chunk sizes around
    GIL_THRESHOLD: no crash, and the object stays usable.

    A compressor shared by five threads (GIL held, released and by size)
    behaves as if the calls were made one after the other: each round every
    thread compresses the same chunk, so the outputs of a round are those
    of the same number of calls in a row, in some order, and the flushed
    stream decodes.  A decompressor whose output five threads drain at
    once in pieces around the threshold gives every byte exactly once and
    ends at the end of the stream.  Five threads feeding one decompressor
    pieces in a scrambled order get output or a clean error."""
    flags = [False, True, None, False, True]
    sizes = [1, T - 1, T, T + 1, 100_000]
    for codec in CODECS:
        c = Compressor(codec)
        barrier = threading.Barrier(5)
        outs = {n: [] for n in sizes}

        def work(i, c=c, barrier=barrier, outs=outs):
            for n in sizes:
                chunk = b"x" * n
                barrier.wait()          # a round ends before the next one
                for _ in range(20):
                    outs[n].append(c.compress(chunk, release_gil=flags[i]))

        with ThreadPoolExecutor(5) as ex:
            list(ex.map(work, range(5)))
        tail = c.flush()
        ref = Compressor(codec)
        stream = []
        for n in sizes:
            want = [ref.compress(b"x" * n) for _ in range(100)]
            assert sorted(outs[n]) == sorted(want), (codec, n)
            stream += want
        stream.append(ref.flush())
        assert tail == stream[-1], codec
        assert decode_all(b"".join(stream), codec) == b"".join(
            b"x" * n * 100 for n in sizes)

        total = 1_000_000
        d = Decompressor(codec)
        first = d.decompress(stream_compress(b"y" * total, codec), 1000)
        barrier = threading.Barrier(5)
        pieces = [[] for _ in range(5)]

        def drain(i, d=d, barrier=barrier, pieces=pieces):
            barrier.wait()
            while not d.eof:
                try:
                    got = d.decompress(b"", sizes[i], release_gil=flags[i])
                except EOFError:        # another thread took the last piece
                    break
                assert len(got) <= sizes[i]
                pieces[i].append(got)

        with ThreadPoolExecutor(5) as ex:
            list(ex.map(drain, range(5)))
        out = first + b"".join(b"".join(p) for p in pieces)
        assert d.eof and len(out) == total and out == b"y" * total, codec

        blob = stream_compress(b"y" * 1_000_000, codec)
        d = Decompressor(codec)
        barrier = threading.Barrier(5)

        def scrambled(i, d=d, barrier=barrier, blob=blob):
            barrier.wait()
            for _ in range(50):
                try:
                    d.decompress(blob[i * 10: i * 10 + 10], 1000)
                except (ValueError, DecompressionError):
                    break

        with ThreadPoolExecutor(5) as ex:
            list(ex.map(scrambled, range(5)))


# --- corrupt input -----------------------------------------------------------

def corrupt_outcome(blob, codec, data):
    """Decode blob fully; return 'error' or 'ok', failing on wrong data."""
    try:
        out = decode_all(blob, codec)
    except DecompressionError:
        return "error"
    # Raw deflate has no checksum: a flip may decode to other data.  Every
    # other format checks its data (CRC-32, Adler-32, XXH64).
    assert out == data or codec == "deflate", \
        "corrupt input decoded silently to wrong data"
    return "ok"


@pytest.mark.parametrize("codec", CODECS)
def test_flipped_bytes(codec, rng):
    data = sample(5_000, 30)
    blob = stream_compress(data, codec)
    errors = 0
    positions = list(range(min(len(blob), 64))) + \
        [rng.randrange(len(blob)) for _ in range(200)]
    for pos in positions:
        for mask in (0x01, 0x80, 0xff):
            bad = bytearray(blob)
            bad[pos] ^= mask
            if corrupt_outcome(bytes(bad), codec, data) == "error":
                errors += 1
    assert errors > len(positions)     # most flips are caught


@pytest.mark.parametrize("codec", CODECS)
def test_truncated_at_every_offset(codec):
    data = sample(3_000, 31) + b"tail" * 500
    blob = stream_compress(data, codec)
    for n in range(len(blob)):
        d = Decompressor(codec)
        try:
            out = d.decompress(blob[:n])
        except DecompressionError:
            continue
        assert not d.eof, f"stream cut at {n}/{len(blob)} reported complete"
        assert data.startswith(out)


@pytest.mark.parametrize("codec", DETECTED)
def test_truncated_detected_codec(codec):
    data = sample(2_000, 32)
    blob = stream_compress(data, codec)
    for n in range(0, len(blob), 7):
        d = Decompressor()
        try:
            out = d.decompress(blob[:n])
        except DecompressionError:
            continue
        assert not d.eof and data.startswith(out)


@pytest.mark.parametrize("wrong", CODECS)
@pytest.mark.parametrize("right", ["gzip", "zstd", "lz4", "zlib"])
def test_wrong_codec(right, wrong):
    if right == wrong:
        return
    data = sample(10_000, 33)
    blob = stream_compress(data, right)
    d = Decompressor(wrong)
    with pytest.raises(DecompressionError) as info:
        d.decompress(blob)
        if not d.eof:
            raise DecompressionError("did not end")
    assert isinstance(info.value, ValueError)


def test_error_names_codec_and_offset():
    data = sample(100_000, 34)
    blob = bytearray(stream_compress(data, "gzip"))
    blob[5000] ^= 0xff
    with pytest.raises(DecompressionError, match=r"gzip.*offset \d+"):
        decode_all(bytes(blob))
    blob = bytearray(stream_compress(data, "zstd"))
    blob[3000] ^= 0xff
    with pytest.raises(DecompressionError, match=r"zstd.*offset \d+"):
        decode_all(bytes(blob))


def test_unknown_format():
    with pytest.raises(DecompressionError, match="magic"):
        Decompressor().decompress(b"PK\x03\x04 not ours")
    d = Decompressor()
    assert d.decompress(b"\x28") == b"" and d.needs_input   # maybe zstd
    with pytest.raises(DecompressionError):
        d.decompress(b"\x00\x00\x00")


def test_unusable_after_error():
    d = Decompressor("zstd")
    with pytest.raises(DecompressionError):
        d.decompress(b"\x28\xb5\x2f\xfd" + b"\xff" * 100)
    with pytest.raises(ValueError, match="earlier error"):
        d.decompress(b"")


# --- max_output_size ---------------------------------------------------------

@pytest.mark.parametrize("codec", CODECS)
def test_bomb_stopped(codec):
    bomb = stream_compress(b"\0" * (64 << 20), codec, 1, step=8 << 20)
    d = Decompressor(codec, max_output_size=1 << 20)
    with pytest.raises(OutputSizeError):
        d.decompress(bomb)
    assert issubclass(OutputSizeError, DecompressionError)
    # Exactly at the bound is fine; one byte more is not.
    data = sample(100_000, 35)
    blob = stream_compress(data, codec)
    d = Decompressor(codec, max_output_size=len(data))
    assert d.decompress(blob) == data and d.eof
    d = Decompressor(codec, max_output_size=len(data) - 1)
    with pytest.raises(OutputSizeError, match=codec):
        d.decompress(blob)


def test_bomb_bound_spans_calls():
    blob = stream_compress(b"\0" * (8 << 20), "zstd")
    d = Decompressor(max_output_size=3 << 20)
    got = 0
    with pytest.raises(OutputSizeError):
        for i in range(0, len(blob), 10):
            got += len(d.decompress(blob[i:i + 10]))
    assert got <= 3 << 20


def test_bomb_memory_bounded():
    tracemalloc = pytest.importorskip("tracemalloc")
    bomb = stream_compress(b"\0" * (256 << 20), "zstd", 1, step=16 << 20)
    tracemalloc.start()
    try:
        d = Decompressor(max_output_size=4 << 20)
        with pytest.raises(OutputSizeError):
            d.decompress(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Output bound plus the codec's window and buffers, nowhere near 256 MiB.
    assert peak < 32 << 20


# --- misc --------------------------------------------------------------------

@pytest.mark.skipif(not GIL_ENABLED, reason="no GIL to release: see "
                    "test_no_gil_held_calls_run_concurrently")
def test_gil_released_for_large_inputs():
    """Another Python thread runs while a long compress call is in C."""
    data = sample(4 << 20, 40)
    c = Compressor("gzip", 6)
    ticks = []
    done = threading.Event()

    def ticker():
        while not done.is_set():
            ticks.append(1)
            done.wait(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    before = len(ticks)
    try:
        c.compress(data)
    finally:
        after = len(ticks)
        done.set()
        t.join()
    assert after - before > 3


@pytest.mark.parametrize("codec", CODECS)
def test_release_gil_flag_same_output(codec):
    """release_gil=False runs the identical code with the GIL held."""
    data = sample(300_000, 41)
    outs = []
    for flag in (None, True, False):
        c = Compressor(codec)
        blob = c.compress(data, release_gil=flag) + c.flush(release_gil=flag)
        outs.append(blob)
        d = Decompressor(codec)
        assert d.decompress(blob, release_gil=flag) == data
    assert outs[0] == outs[1] == outs[2]
    with pytest.raises(TypeError):
        Compressor(codec).compress(data, release_gil=1)
    with pytest.raises(TypeError):
        Decompressor(codec).decompress(data, -1, release_gil="yes")


@pytest.mark.skipif(not GIL_ENABLED, reason="no GIL to hold: see "
                    "test_no_gil_held_calls_run_concurrently")
def test_gil_held_when_asked():
    """release_gil=False: no other Python thread runs during the call."""
    data = sample(4 << 20, 42)
    c = Compressor("gzip", 6)
    ticks = []
    started = threading.Event()
    done = threading.Event()

    def ticker():
        started.set()
        while not done.is_set():
            ticks.append(1)
            done.wait(0.001)

    t = threading.Thread(target=ticker)
    t.start()
    started.wait()
    try:
        before = len(ticks)
        c.compress(data, release_gil=False)
        after = len(ticks)
    finally:
        done.set()
        t.join()
    assert after - before <= 2      # at most a switch around the call


@pytest.mark.skipif(GIL_ENABLED, reason="needs the GIL disabled "
                    "(free-threaded build)")
@pytest.mark.parametrize("codec", ["gzip", "zstd"])
def test_no_gil_held_calls_run_concurrently(codec):
    """Without a GIL, release_gil=False holds nothing: another Python
    thread runs during the call, and two threads compressing and
    decompressing with objects of their own run at the same time (their
    spans overlap) and give the same bytes as a sequential run.  (The other
    thread spins: a thread that sleeps 1 ms at a time was seen to oversleep
    by tens of ms on 3.13t on a loaded machine, whatever the main thread
    did, pure Python included.)"""
    data = sample(4 << 20, 42)
    ref = Compressor(codec, 6)
    want = ref.compress(data) + ref.flush()
    counter = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        before = counter[0]
        c = Compressor(codec, 6)
        c.compress(data, release_gil=False)
        after = counter[0]
    finally:
        stop.set()
        t.join()
    assert after - before > 100

    barrier = threading.Barrier(2)
    spans = {}

    def work(i):
        barrier.wait()
        t0 = time.monotonic()
        c = Compressor(codec, 6)
        blob = (c.compress(data, release_gil=False)
                + c.flush(release_gil=False))
        out = Decompressor(codec).decompress(blob, release_gil=False)
        spans[i] = (t0, time.monotonic(), blob, out)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    (a0, a1, ba, oa), (b0, b1, bb, ob) = spans[0], spans[1]
    assert ba == bb == want
    assert oa == ob == data
    assert a0 < b1 and b0 < a1      # the two calls overlapped


def test_repr_and_module():
    assert Compressor.__module__ == "fastconc"
    assert Decompressor.__name__ == "Decompressor"
    assert "max_length" in Decompressor.decompress.__doc__


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("level", [1, None])
def test_block_flush(codec, level):
    """flush('block'): everything fed so far decodes; the stream goes on
    and stays one valid stream for the stdlib and the tools."""
    parts = [sample(n, n) for n in (0, 1, 5000, 300_000, 17)]
    c = Compressor(codec, level)
    d = Decompressor(codec)
    blob = []
    fed = b""
    for p in parts:
        out = c.compress(p) + c.flush("block")
        blob.append(out)
        fed += p
        assert d.decompress(out) == p
        assert not d.eof
        # A second flush in a row is harmless.
        extra = c.flush("block")
        blob.append(extra)
        assert d.decompress(extra) == b""
    blob.append(c.flush())
    assert d.decompress(blob[-1]) == b"" and d.eof
    whole = b"".join(blob)
    assert Decompressor(codec).decompress(whole) == fed
    if codec in ("zlib", "deflate", "gzip"):
        assert stdlib_decompress(whole, codec) == fed
    cmd = {"gzip": ["gzip", "-dc"], "zstd": ["zstd", "-dcq"],
           "lz4": ["lz4", "-dcq"]}.get(codec)
    if cmd:
        assert tool(*cmd, data=whole) == fed
    with pytest.raises(ValueError, match="mode"):
        Compressor(codec).flush("sync")
    with pytest.raises(TypeError):
        Compressor(codec).flush(2.0)    # (2 is zlib.Z_SYNC_FLUSH)


def gzip_with_header(data, flags, comment_len=300):
    """A gzip member with optional header fields (FEXTRA, FNAME, FCOMMENT,
    FHCRC) written by hand, as other tools may write them."""
    import struct
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw = c.compress(data) + c.flush()
    hdr = b"\x1f\x8b\x08" + bytes([flags]) + b"\0\0\0\0\0\x03"
    if flags & 0x04:
        hdr += struct.pack("<H", 6) + b"AB\x02\x00xy"
    if flags & 0x08:
        hdr += b"name.txt\0"
    if flags & 0x10:
        hdr += b"c" * comment_len + b"\0"
    if flags & 0x02:
        hdr += struct.pack("<H", zlib.crc32(hdr) & 0xffff)
    return hdr, raw + struct.pack("<II", zlib.crc32(data), len(data))


@pytest.mark.parametrize("flags", [0x02, 0x04, 0x08, 0x10, 0x1e, 0x12])
@pytest.mark.parametrize("step", [1, 7, 64, 1 << 20])
def test_gzip_optional_header_fields(flags, step):
    data = sample(20_000, flags)
    hdr, body = gzip_with_header(data, flags)
    blob = hdr + body
    assert gzip.decompress(blob) == data
    for codec in (None, "gzip"):
        d = Decompressor(codec)
        out = b"".join(d.decompress(blob[i:i + step])
                       for i in range(0, len(blob), step))
        assert out == data and d.eof
    if flags & 0x02:      # a wrong header CRC is caught
        bad = bytearray(blob)
        bad[len(hdr) - 1] ^= 0x01
        with pytest.raises(DecompressionError):
            Decompressor().decompress(bytes(bad))


@pytest.mark.parametrize("fields", [b"\x08n\0", b"\x08ab\0",
                                    b"\x10c\0", b"\x18x\0yz\0",
                                    b"\x04\x02\0AB", b"\x0c\x01\0Zn\0"])
@pytest.mark.parametrize("step", [1, 2, 3, 11])
def test_gzip_header_in_pieces(fields, step):
    """Short optional header fields (FEXTRA, FNAME, FCOMMENT) split over
    calls.  isa-l forgets a header's flags between calls, so the header is
    read whole or by zlib; a misread header shows as a corrupt block or a
    checksum error, depending on stale stack contents."""
    import struct
    data = sample(5_000, fields[0])
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    raw = c.compress(data) + c.flush()
    blob = (b"\x1f\x8b\x08" + fields[:1] + b"\0\0\0\0\0\x03" + fields[1:] +
            raw + struct.pack("<II", zlib.crc32(data), len(data)))
    assert gzip.decompress(blob) == data
    for codec in (None, "gzip"):
        d = Decompressor(codec)
        out = b"".join(d.decompress(blob[i:i + step])
                       for i in range(0, len(blob), step))
        assert out == data and d.eof and d.unused_data == b""


@pytest.mark.parametrize("codec,wbits", [("deflate", -15), ("zlib", 15),
                                         ("gzip", 31)])
def test_unused_data_exact_whatever_the_feeding(codec, wbits):
    """What follows the stream is unused_data to the byte, as zlib's
    decompressobj has it, whatever the input steps and max_length: isa-l
    reads up to 8 bytes ahead, which were lost when the stream ended in
    a later call than the one that fed them."""
    rng = random.Random(wbits)
    for _ in range(60):
        data = sample(rng.randrange(1, 200_000), rng.randrange(1000))
        tail = rng.randbytes(rng.randrange(1, 40))
        blob = fastconc.compress(data, codec, threads=1) + tail
        z = zlib.decompressobj(wbits)
        assert z.decompress(blob) == data and z.unused_data == tail
        step = rng.choice([1, 7, 1000, 65536, len(blob)])
        size = rng.choice([1, 1000, 65536, -1])
        d = Decompressor(codec)
        out, i = [], 0
        while not d.eof:
            if d.needs_input:
                assert i < len(blob)
                out.append(d.decompress(blob[i:i + step], size))
                i += step
            else:
                out.append(d.decompress(b"", size))
        assert b"".join(out) == data
        assert d.unused_data + blob[i:] == tail, (step, size)
