"""One-shot compress()/decompress(): round trips, interop both ways with
the stdlib, the PyPI peers and the command-line tools, levels, codec=None
detection and argument errors."""
import gzip
import shutil
import subprocess
import zlib

import pytest
from codec_data import corpus, mixed

import fastconc

CODECS = ["zlib", "deflate", "gzip", "zstd", "lz4"]
T = 2048   # GIL_THRESHOLD default
SIZES = [0, 1, 7, T - 1, T, T + 1, 65535, 65536, 1 << 20, (1 << 20) + 1,
         (3 << 20) + 12345]


def stdlib_decode(codec, data):
    if codec == "zlib":
        return zlib.decompress(data)
    if codec == "deflate":
        return zlib.decompress(data, -15)
    if codec == "gzip":
        return gzip.decompress(data)
    if codec == "zstd":
        zstandard = pytest.importorskip("zstandard")
        with zstandard.ZstdDecompressor().stream_reader(
                data, read_across_frames=True) as r:
            return r.read()
    lz4frame = pytest.importorskip("lz4.frame")
    return lz4frame.decompress(data)


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("size", SIZES)
def test_round_trip_and_peer_decodes(codec, size):
    data = mixed(size, seed=size)
    for threads in (1, 2):
        comp = fastconc.compress(data, codec, threads=threads)
        assert isinstance(comp, bytes)
        assert fastconc.decompress(comp, codec) == data
        assert fastconc.decompress(comp, codec, threads=2) == data
        assert stdlib_decode(codec, comp) == data


@pytest.mark.parametrize("codec", CODECS)
def test_levels(codec):
    data = corpus(300_000)
    lo, hi = {"zstd": (-5, 22), "lz4": (0, 12)}.get(codec, (-1, 9))
    for level in sorted({lo, 0, 1, 2, 3, 6, hi} & set(range(lo, hi + 1))):
        comp = fastconc.compress(data, codec, level)
        assert fastconc.decompress(comp, codec) == data
        assert stdlib_decode(codec, comp) == data
    # zstd's negative levels go down to -(1 << 17).
    for bad in ((1 << 17) * -1 - 1 if codec == "zstd" else lo - 1, hi + 1,
                1000):
        with pytest.raises(ValueError, match="level"):
            fastconc.compress(data, codec, bad)
    with pytest.raises(TypeError):
        fastconc.compress(data, codec, "3")


def test_level_changes_output():
    data = corpus(1 << 20)
    assert len(fastconc.compress(data, "gzip", 9)) < len(
        fastconc.compress(data, "gzip", 1))
    assert len(fastconc.compress(data, "zstd", 19)) < len(
        fastconc.compress(data, "zstd", 1))
    assert len(fastconc.compress(data, "lz4", 9)) < len(
        fastconc.compress(data, "lz4", 0))
    assert len(fastconc.compress(data, "gzip", 0)) > len(data)   # stored


@pytest.mark.parametrize("level", [1, 6, 9])
def test_size_close_to_stdlib(level):
    data = corpus(4 << 20)
    ours = len(fastconc.compress(data, "zlib", level, threads=1))
    ref = len(zlib.compress(data, level))
    assert ours <= ref * 1.02


@pytest.mark.parametrize("size", [0, 1, 1000, 200_000, 3 << 20])
def test_we_decode_stdlib(size):
    data = mixed(size, seed=3)
    for level in (0, 1, 6, 9):
        assert fastconc.decompress(zlib.compress(data, level)) == data
        assert fastconc.decompress(gzip.compress(data, level)) == data
        co = zlib.compressobj(level, zlib.DEFLATED, -15)
        raw = co.compress(data) + co.flush()
        assert fastconc.decompress(raw, "deflate") == data


@pytest.mark.parametrize("size", [0, 1, 1000, 200_000, 5 << 20])
def test_we_decode_peers(size):
    data = mixed(size, seed=4)
    zstandard = pytest.importorskip("zstandard")
    lz4frame = pytest.importorskip("lz4.frame")
    for level in (1, 3, 10):
        c = zstandard.ZstdCompressor(level=level, write_checksum=True)
        assert fastconc.decompress(c.compress(data)) == data
        # No content size in the header (streamed).
        cobj = c.compressobj()
        assert fastconc.decompress(cobj.compress(data) + cobj.flush()) == data
    for linked in (True, False):
        for bs in (lz4frame.BLOCKSIZE_MAX64KB, lz4frame.BLOCKSIZE_MAX4MB):
            comp = lz4frame.compress(data, block_size=bs, block_linked=linked,
                                     content_checksum=True,
                                     block_checksum=not linked,
                                     store_size=linked)
            assert fastconc.decompress(comp) == data
            assert fastconc.decompress(comp, threads=2) == data


TOOLS = {"gzip": ["gzip"], "zstd": ["zstd", "-q"], "lz4": ["lz4", "-q"]}


def have(tool):
    return shutil.which(tool) is not None


@pytest.mark.parametrize("codec", ["gzip", "zstd", "lz4"])
@pytest.mark.parametrize("threads", [1, 2])
def test_cli_tools_decode_ours(codec, threads):
    if not have(codec):
        pytest.skip(f"{codec} command not installed")
    data = mixed(6 << 20, seed=5)
    comp = fastconc.compress(data, codec, threads=threads)
    out = subprocess.run(TOOLS[codec] + ["-dc"], input=comp,
                         capture_output=True, check=True).stdout
    assert out == data
    if codec == "gzip":
        # gzip -t checks every member's CRC and size.
        subprocess.run(["gzip", "-t"], input=comp, check=True)
        if have("pigz"):
            out = subprocess.run(["pigz", "-dc"], input=comp,
                                 capture_output=True, check=True).stdout
            assert out == data


@pytest.mark.parametrize("codec", ["gzip", "zstd", "lz4"])
def test_we_decode_cli_tools(codec):
    if not have(codec):
        pytest.skip(f"{codec} command not installed")
    data = mixed(3 << 20, seed=6)
    for level in ("-1", "-9"):
        comp = subprocess.run(TOOLS[codec] + [level, "-c"], input=data,
                              capture_output=True, check=True).stdout
        assert fastconc.decompress(comp) == data
        assert fastconc.decompress(comp, threads=2) == data


def test_we_decode_pigz():
    if not have("pigz"):
        pytest.skip("pigz not installed")
    data = mixed(5 << 20, seed=7)
    for args in (["-p", "2"], ["-z", "-p", "2"]):
        comp = subprocess.run(["pigz", "-c", *args], input=data,
                              capture_output=True, check=True).stdout
        assert fastconc.decompress(comp) == data


def test_concatenated_members_and_frames():
    a, b, c = corpus(100_000), mixed(300_000, 1), b""
    g = gzip.compress(a) + gzip.compress(c) + fastconc.compress(b, "gzip")
    assert fastconc.decompress(g) == a + c + b
    z = b"".join(fastconc.compress(x, "zstd") for x in (a, c, b))
    assert fastconc.decompress(z) == a + c + b
    zstandard = pytest.importorskip("zstandard")
    z2 = zstandard.ZstdCompressor().compress(a) + fastconc.compress(b, "zstd")
    assert fastconc.decompress(z2) == a + b
    l4 = fastconc.compress(a, "lz4") + fastconc.compress(b, "lz4")
    assert fastconc.decompress(l4) == a + b


def test_detection():
    data = corpus(10_000)
    for codec in ("zlib", "gzip", "zstd", "lz4"):
        assert fastconc.decompress(fastconc.compress(data, codec)) == data
    raw = fastconc.compress(data, "deflate")
    with pytest.raises(fastconc.DecompressionError):
        fastconc.decompress(raw)
    for junk in (b"", b"\x1f", b"hello world"):
        with pytest.raises(fastconc.DecompressionError):
            fastconc.decompress(junk)


def test_buffer_types():
    data = corpus(50_000)
    comp = fastconc.compress(bytearray(data), "zstd")
    assert fastconc.decompress(memoryview(comp)) == data
    np = pytest.importorskip("numpy")
    arr = np.frombuffer(data, dtype=np.uint8)
    assert fastconc.decompress(fastconc.compress(arr, "gzip")) == data


def test_argument_errors():
    with pytest.raises(ValueError) as e:
        fastconc.compress(b"x", "brotli")
    for name in ("zlib", "deflate", "gzip", "zstd", "lz4"):
        assert name in str(e.value)
    with pytest.raises(ValueError, match="valid codecs"):
        fastconc.decompress(b"x", "xz")
    with pytest.raises(TypeError):
        fastconc.compress("text", "gzip")
    with pytest.raises(TypeError):
        fastconc.compress(b"x", 3)
    with pytest.raises(TypeError):
        fastconc.decompress(b"x", "gzip", max_output_size="1")
    with pytest.raises(ValueError):
        fastconc.decompress(b"x", "gzip", max_output_size=-1)
    with pytest.raises(ValueError):
        fastconc.compress(b"x", "gzip", threads=0)
    assert set(fastconc.codecs_available) == set(CODECS)


def test_release_gil_flag_same_output():
    data = corpus(200_000)
    for codec in CODECS:
        a = fastconc.compress(data, codec, release_gil=False)
        b = fastconc.compress(data, codec, release_gil=True)
        assert a == b
        assert fastconc.decompress(a, codec, release_gil=False) == data


def test_info_reports_codecs():
    info = fastconc.info()
    assert "libdeflate" in info["backends"]["gzip levels 0,2-9"] or \
        "zlib" in info["backends"]["gzip levels 0,2-9"]
    for codec in ("gzip", "zstd", "lz4"):
        assert info["parallel"][f"{codec} compress"] is True
        assert info["parallel"][f"{codec} decompress"] is True
    assert info["parallel"]["zlib decompress"] is False


def test_small_windows_names_and_dictionaries():
    data = mixed(300_000, seed=3)
    for wbits in range(9, 16):
        for base, codec in ((wbits, "zlib"), (16 + wbits, "gzip"),
                            (-wbits, "deflate")):
            co = zlib.compressobj(6, zlib.DEFLATED, base)
            comp = co.compress(data) + co.flush()
            assert fastconc.decompress(comp, codec) == data
    # gzip header with a file name and mtime (FNAME).
    import io
    buf = io.BytesIO()
    with gzip.GzipFile("name.txt", "wb", fileobj=buf, mtime=1) as f:
        f.write(data)
    assert fastconc.decompress(buf.getvalue()) == data
    # A zlib stream that needs a preset dictionary: a clear error.
    co = zlib.compressobj(6, zlib.DEFLATED, 15, zdict=b"hello world")
    comp = co.compress(data) + co.flush()
    with pytest.raises(fastconc.DecompressionError, match="dictionary"):
        fastconc.decompress(comp)
