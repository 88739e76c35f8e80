"""Parallel single stream: threads>1 writes one valid stream (checked with
other readers), within 1% of the single-thread size, laid out so that
fastconc decodes it in parallel; decompress(threads=N) uses the layout."""
import gzip
import struct
import zlib

import pytest
from codec_data import corpus, mixed

import fastconc

CODECS = ["zlib", "deflate", "gzip", "zstd", "lz4"]


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("level", [1, 6])
def test_threads_size_within_one_percent(codec, level):
    data = corpus(12 << 20)
    one = fastconc.compress(data, codec, level, threads=1)
    for threads in (2, 4):
        many = fastconc.compress(data, codec, level, threads=threads)
        assert len(many) <= len(one) * 1.01
        assert fastconc.decompress(many, codec, threads=threads) == data


@pytest.mark.parametrize("codec", ["gzip", "zstd", "lz4"])
def test_output_does_not_depend_on_threads(codec):
    data = mixed(10 << 20, seed=1)
    outs = {fastconc.compress(data, codec, threads=t) for t in (1, 2, 4)}
    assert len(outs) == 1


def gzip_members(blob):
    """Walk our members through their FC subfield; return (size, isize)."""
    pos, out = 0, []
    while pos < len(blob):
        assert blob[pos:pos + 4] == b"\x1f\x8b\x08\x04"
        xlen = struct.unpack_from("<H", blob, pos + 10)[0]
        assert xlen == 8 and blob[pos + 12:pos + 14] == b"FC"
        size = struct.unpack_from("<I", blob, pos + 16)[0]
        isize = struct.unpack_from("<I", blob, pos + size - 4)[0]
        out.append((size, isize))
        pos += size
    assert pos == len(blob)
    return out


def test_gzip_member_layout():
    data = mixed(5 << 20, seed=2)
    comp = fastconc.compress(data, "gzip", threads=2)
    members = gzip_members(comp)
    # Members of 1 MiB, the last 2 MiB of input in 256 KiB members (so
    # that threads finish together).
    assert [i for _, i in members] == [1 << 20] * 3 + [256 << 10] * 8
    assert sum(i for _, i in members) == len(data)
    # Every member is a standalone gzip file.
    pos = 0
    for size, isize in members:
        assert len(gzip.decompress(comp[pos:pos + size])) == isize
        pos += size
    # zlib's multi-member reading (wbits 31 with unused_data) agrees.
    out, rest = b"", comp
    while rest:
        d = zlib.decompressobj(31)
        out += d.decompress(rest)
        rest = d.unused_data
    assert out == data


def test_zlib_pigz_style_is_one_stream():
    data = mixed(6 << 20, seed=3)
    for level in (1, 6):
        comp = fastconc.compress(data, "zlib", level, threads=2)
        d = zlib.decompressobj()
        assert d.decompress(comp) == data
        assert d.eof and d.unused_data == b""
        raw = fastconc.compress(data, "deflate", level, threads=2)
        assert zlib.decompress(raw, -15) == data


def test_zstd_independent_frames():
    zstandard = pytest.importorskip("zstandard")
    data = corpus(20 << 20)
    comp = fastconc.compress(data, "zstd", 3, threads=2)
    sizes, pos = [], 0
    while pos < len(comp):
        params = zstandard.get_frame_parameters(comp[pos:pos + 18])
        assert params.content_size > 0
        sizes.append(params.content_size)
        # Each frame decodes on its own (independent) to its size.
        d = zstandard.ZstdDecompressor().decompressobj()
        assert len(d.decompress(comp[pos:])) == params.content_size
        pos = len(comp) - len(d.unused_data)
    # 8 MiB frames (4x level 3's window), the last two blocks' worth in
    # halves; the same layout whatever the thread count.
    assert sizes == [8 << 20] + [4 << 20] * 3
    assert fastconc.compress(data, "zstd", 3, threads=1) == comp


def test_lz4_independent_blocks_flagged():
    data = corpus(9 << 20)
    comp = fastconc.compress(data, "lz4", threads=2)
    assert comp[:4] == b"\x04\x22\x4d\x18"
    flg = comp[4]
    assert flg & 0x20          # block independence
    assert flg & 0x08          # content size present
    assert struct.unpack_from("<Q", comp, 6)[0] == len(data)


@pytest.mark.parametrize("codec", ["gzip", "zstd", "lz4"])
def test_parallel_decompress_matches(codec):
    data = mixed(12 << 20, seed=4)
    comp = fastconc.compress(data, codec, threads=2)
    for threads in (1, 2, 4):
        assert fastconc.decompress(comp, threads=threads) == data


def test_threads_one_never_starts_the_pool():
    import subprocess
    import sys
    code = ("import fastconc\n"
            "from tests.codec_data import corpus\n"
            "d = corpus(8 << 20)\n"
            "for c in ('gzip', 'zstd', 'lz4', 'zlib'):\n"
            "    z = fastconc.compress(d, c, threads=1)\n"
            "    assert fastconc.decompress(z, threads=1) == d\n"
            "print(fastconc._core._pool_started())\n")
    import os
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], cwd=root,
                         capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"


@pytest.mark.timeout(120)
def test_concurrent_callers():
    from concurrent.futures import ThreadPoolExecutor
    data = [mixed(3 << 20, seed=s) for s in range(4)]

    def work(i):
        codec = CODECS[i % len(CODECS)]
        comp = fastconc.compress(data[i % 4], codec, threads=2)
        return fastconc.decompress(comp, codec, threads=2) == data[i % 4]

    with ThreadPoolExecutor(5) as ex:
        assert all(ex.map(work, range(20)))


def bgzf(data, block=65280):
    """BGZF as bgzip writes it: members with a 'BC' subfield holding the
    member size - 1, then the empty end-of-file member."""
    out = []
    for i in range(0, len(data), block):
        chunk = data[i:i + block]
        co = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = co.compress(chunk) + co.flush()
        size = 18 + len(body) + 8
        out.append(b"\x1f\x8b\x08\x04" + bytes(4) + b"\x00\xff" +
                   struct.pack("<H", 6) + b"BC" + struct.pack("<HH", 2,
                                                              size - 1) +
                   body + struct.pack("<II", zlib.crc32(chunk), len(chunk)))
    out.append(bytes.fromhex("1f8b08040000000000ff0600424302001b00"
                             "0300" "00000000" "00000000"))
    return b"".join(out)


def test_bgzf_decodes_in_parallel():
    data = mixed(3 << 20, seed=5)
    blob = bgzf(data)
    assert gzip.decompress(blob) == data
    for threads in (1, 2, 4):
        assert fastconc.decompress(blob, threads=threads) == data
    bad = bytearray(blob)
    bad[len(bad) // 2] ^= 0x55
    with pytest.raises(fastconc.DecompressionError):
        fastconc.decompress(bytes(bad), threads=2)


def test_lying_size_fields_never_silent():
    data = mixed(3 << 20, seed=6)
    comp = bytearray(fastconc.compress(data, "gzip", threads=2))
    # Claim a different member size / ISIZE: either decoded right (the
    # stream path takes over) or an error, never wrong bytes.
    for field_at, delta in ((16, 1), (16, -1)):
        blob = bytearray(comp)
        size = struct.unpack_from("<I", blob, field_at)[0]
        struct.pack_into("<I", blob, field_at, size + delta)
        try:
            out = fastconc.decompress(bytes(blob), threads=2)
        except fastconc.DecompressionError:
            continue
        assert out == data
    blob = bytearray(comp)
    first = struct.unpack_from("<I", blob, 16)[0]
    struct.pack_into("<I", blob, first - 4, 12345)      # ISIZE of member 0
    with pytest.raises(fastconc.DecompressionError):
        fastconc.decompress(bytes(blob), threads=2)
