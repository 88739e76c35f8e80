"""Parallel single stream: threads>1 writes one valid stream (checked with
other readers), within 1% of the single-thread size, laid out so that
fastconc decodes it in parallel; decompress(threads=N) uses the layout."""
import gzip
import io
import os
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


def gzip_index(blob):
    """Our one gzip member: its header length and the block index in the
    'F','P' subfield [(compressed size, input size, CRC-32)]."""
    assert blob[:4] == b"\x1f\x8b\x08\x04"          # FLG = FEXTRA
    xlen = struct.unpack_from("<H", blob, 10)[0]
    assert blob[12:14] == b"FP"
    assert struct.unpack_from("<H", blob, 14)[0] == xlen - 4
    version, flags, block, n = struct.unpack_from("<BBII", blob, 16)
    assert (version, flags, block) == (1, 1, 1 << 20)
    assert xlen == 4 + 10 + 12 * n
    flat = struct.unpack_from(f"<{3 * n}I", blob, 26)
    return 12 + xlen, [flat[i:i + 3] for i in range(0, 3 * n, 3)]


def test_gzip_one_member_layout():
    data = mixed(5 << 20, seed=2)
    comp = fastconc.compress(data, "gzip", threads=2)
    head, index = gzip_index(comp)
    # Blocks of 1 MiB, the last 2 MiB of input in 256 KiB blocks (so that
    # threads finish together).
    assert [u for _, u, _ in index] == [1 << 20] * 3 + [256 << 10] * 8
    # One member: zlib ends exactly at the end of the input.
    d = zlib.decompressobj(31)
    assert d.decompress(comp) == data and d.eof and d.unused_data == b""
    assert struct.unpack("<II", comp[-8:]) == (zlib.crc32(data), len(data))
    # Each block is raw deflate of its own input alone (no dictionary from
    # the block before), ended by a sync flush but the last, which ends
    # the stream; the index holds its sizes and CRC-32.
    pos, upos = head, 0
    for k, (csize, usize, crc) in enumerate(index):
        piece, chunk = comp[pos:pos + csize], data[upos:upos + usize]
        assert zlib.crc32(chunk) == crc
        d = zlib.decompressobj(-15)
        assert d.decompress(piece) == chunk
        if k + 1 < len(index):
            assert piece.endswith(b"\x00\x00\xff\xff") and not d.eof
        else:
            assert d.eof and d.unused_data == b""
        pos += csize
        upos += usize
    assert pos == len(comp) - 8 and upos == len(data)


def test_zlib_pigz_style_is_one_stream():
    data = mixed(6 << 20, seed=3)
    for level in (1, 6):
        comp = fastconc.compress(data, "zlib", level, threads=2)
        d = zlib.decompressobj()
        assert d.decompress(comp) == data
        assert d.eof and d.unused_data == b""
        raw = fastconc.compress(data, "deflate", level, threads=2)
        assert zlib.decompress(raw, -15) == data


@pytest.mark.parametrize("codec", ["zlib", "deflate"])
def test_zlib_over_one_call_on_libdeflate_pieces(codec):
    """Above 16 MiB one thread compresses zlib/deflate in 1 MiB pieces
    (so that Ctrl-C is seen between them); at level 6 they are made by
    libdeflate, each on its own, as gzip's blocks (zlib with a preset
    dictionary ran at the stdlib's own speed there): the same bytes at
    any thread count, one stream the stdlib reads, and no bigger than
    zlib's own output by more than 1%."""
    if "libdeflate" not in fastconc.info()["backends"]["zlib/deflate pieces"]:
        pytest.skip("built without libdeflate")
    data = corpus(20 << 20)
    wbits = 15 if codec == "zlib" else -15
    one = fastconc.compress(data, codec, 6, threads=1)
    assert fastconc.compress(data, codec, 6, threads=2) == one
    d = zlib.decompressobj(wbits)
    assert d.decompress(one) == data and d.eof and d.unused_data == b""
    assert len(one) <= len(zlib.compress(data, 6)) * 1.01


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


def _forged(comp, head, index, entries):
    """comp with its index's entries replaced (same count)."""
    blob = bytearray(comp)
    flat = [v for e in entries for v in e]
    struct.pack_into(f"<{len(flat)}I", blob, 26, *flat)
    assert len(entries) == len(index)
    return bytes(blob)


def _same_as_zlib(blob):
    """fastconc (1 and 2 threads, one-shot, batch, stream) decodes blob
    as zlib does: the same bytes, or an error where zlib has one."""
    try:
        d = zlib.decompressobj(31)
        want = d.decompress(blob)
        if not d.eof or d.unused_data:
            want = None
    except zlib.error:
        want = None
    for threads in (1, 2):
        for decode in (lambda b, t=threads: fastconc.decompress(b,
                                                                threads=t),
                       lambda b, t=threads: fastconc.decompress_many(
                           [b], threads=t)[0],
                       lambda b: fastconc.Decompressor().decompress(b)):
            try:
                got = decode(blob)
            except fastconc.DecompressionError:
                got = None
            assert got == want


def test_forged_index_never_gives_wrong_data():
    """The index is a claim: the data is what the deflate stream says,
    whatever the index says (readers other than ours ignore it)."""
    data = mixed(3 << 20, seed=6)
    comp = fastconc.compress(data, "gzip", threads=2)
    head, index = gzip_index(comp)
    idx = [list(e) for e in index]
    forgeries = []
    for k in range(len(idx) - 1):
        for shift in (-5, -4, -1, 1, 3, 4):
            e = [list(x) for x in idx]
            e[k][0] += shift
            e[k + 1][0] -= shift
            forgeries.append(e)
        e = [list(x) for x in idx]
        e[k][1] += 1000
        e[k + 1][1] -= 1000
        forgeries.append(e)
        e = [list(x) for x in idx]
        e[k], e[k + 1] = e[k + 1], e[k]
        forgeries.append(e)
        e = [list(x) for x in idx]
        e[k][2] ^= 1
        forgeries.append(e)
    e = [list(x) for x in idx]
    e[0][1] += 1 << 32 - 1
    forgeries.append(e)
    e = [list(x) for x in idx]
    e[0][0] = 0
    e[1][0] += idx[0][0]
    forgeries.append(e)
    for e in forgeries:
        blob = _forged(comp, head, index, e)
        assert zlib.decompress(blob, 31) == data
        for threads in (1, 2):
            assert fastconc.decompress(blob, threads=threads) == data
        assert fastconc.decompress_many([blob], threads=2)[0] == data
        with fastconc.open(io.BytesIO(blob)) as f:
            f.seek(len(data) - 100)
            assert f.read() == data[-100:]
            f.seek(1 << 20)
            assert f.read(5000) == data[1 << 20:(1 << 20) + 5000]
    # The header fields around the index: count, block size, version.
    for at, value in ((22, 0), (22, len(index) + 1), (18, 0), (16, 2),
                      (17, 0)):
        blob = bytearray(comp)
        struct.pack_into("<I" if at in (18, 22) else "<B", blob, at, value)
        blob = bytes(blob)
        assert fastconc.decompress(blob, threads=2) == data


def test_forged_index_over_a_hostile_body():
    """Bodies that only a wrong reading of the index could accept: a
    final block inside, a piece that ends mid-block, data after the
    final block.  fastconc agrees with zlib on each."""
    a, b = mixed(1 << 20, seed=7), mixed(1 << 20, seed=8)

    def raw(x, flush):
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        return c.compress(x) + c.flush(flush)

    def member(pieces, sizes, crc, isize):
        n = len(pieces)
        payload = struct.pack("<BBII", 1, 1, 1 << 20, n) + b"".join(
            struct.pack("<III", len(p), u, zlib.crc32(x))
            for p, (u, x) in zip(pieces, sizes))
        extra = b"FP" + struct.pack("<H", len(payload)) + payload
        return (b"\x1f\x8b\x08\x04" + bytes(5) + b"\x03" +
                struct.pack("<H", len(extra)) + extra + b"".join(pieces) +
                struct.pack("<II", crc, isize))

    both = a + b
    whole = zlib.crc32(both), len(both) & 0xFFFFFFFF
    # Two complete streams (the first one final).
    _same_as_zlib(member([raw(a, zlib.Z_FINISH), raw(b, zlib.Z_FINISH)],
                         [(len(a), a), (len(b), b)], *whole))
    # A proper layout, then the same with a boundary moved into a block.
    p0, p1 = raw(a, zlib.Z_FULL_FLUSH), raw(b, zlib.Z_FINISH)
    _same_as_zlib(member([p0, p1], [(len(a), a), (len(b), b)], *whole))
    for cut in (len(p0) // 2, len(p0) - 4, len(p0) + 7):
        blob = bytearray(member([p0, p1], [(len(a), a), (len(b), b)],
                                *whole))
        body = 26 + 24
        struct.pack_into("<I", blob, 26, cut)
        struct.pack_into("<I", blob, 38, len(p0) + len(p1) - cut)
        assert blob[body:body + len(p0)] == p0
        _same_as_zlib(bytes(blob))
    # A stream that goes on after the final block's end (a dictionary
    # from the first piece: the second piece alone cannot decode).
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    q0 = c.compress(a) + c.flush(zlib.Z_SYNC_FLUSH)
    q1 = c.compress(a) + c.flush()
    _same_as_zlib(member([q0, q1], [(len(a), a), (len(a), a)],
                         zlib.crc32(a + a), 2 * len(a)))


def test_lying_isize_never_silent_nor_huge():
    """A forged ISIZE: an error (the trailer check), and the first output
    buffer is not sized from it (#24: 4 GiB were reserved for 5 MB)."""
    import tracemalloc
    data = os.urandom(5 << 20)
    theirs = zlib.compressobj(6, zlib.DEFLATED, 31)
    for comp in (fastconc.compress(data, "gzip", threads=2),
                 theirs.compress(data) + theirs.flush()):
        blob = bytearray(comp)
        struct.pack_into("<I", blob, len(blob) - 4, 0xFFFFFFFF)
        for threads in (1, 2):
            tracemalloc.start()
            try:
                with pytest.raises(fastconc.DecompressionError):
                    fastconc.decompress(bytes(blob), threads=threads)
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
            assert peak < 200 << 20


def test_wrong_header_crc_rejected_everywhere():
    """FHCRC set with a wrong CRC-16: an error on every path, as zlib and
    gzip(1) have it; right, the file decodes (#24 item 4)."""
    for size in (1000, 3 << 20, 40 << 20):
        data = mixed(size, seed=9)
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = c.compress(data) + c.flush() + struct.pack(
            "<II", zlib.crc32(data), len(data))
        head = b"\x1f\x8b\x08\x02" + bytes(5) + b"\x03"
        crc = zlib.crc32(head) & 0xFFFF
        good = head + struct.pack("<H", crc) + body
        bad = head + struct.pack("<H", crc ^ 0x100) + body
        assert zlib.decompress(good, 31) == data
        with pytest.raises(zlib.error):
            zlib.decompress(bad, 31)
        for threads in (1, 2):
            assert fastconc.decompress(good, threads=threads) == data
            with pytest.raises(fastconc.DecompressionError):
                fastconc.decompress(bad, threads=threads)
            with pytest.raises(fastconc.DecompressionError):
                fastconc.decompress_many([bad], threads=threads)
        with pytest.raises(fastconc.DecompressionError):
            fastconc.Decompressor().decompress(bad)
        with pytest.raises(fastconc.DecompressionError):
            fastconc.open(io.BytesIO(bad)).read()
        # The same in a second member.
        with pytest.raises(fastconc.DecompressionError):
            fastconc.decompress(good + bad, threads=2)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task"),
                    reason="needs Linux /proc for per-thread CPU times")
def test_our_gzip_really_decodes_on_the_pool():
    """The parallel path must not fall back to one thread unseen: the
    pool threads spend CPU decoding fastconc's gzip, with its index and
    without (open()'s, found by the flush markers), and none on a
    stdlib-made member (one piece: the calling thread)."""
    import threading

    def pool_ticks():
        me, ticks = threading.get_native_id(), 0
        for tid in os.listdir("/proc/self/task"):
            if int(tid) != me:
                with open(f"/proc/self/task/{tid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
        return ticks

    data = corpus(32 << 20)
    buf = io.BytesIO()
    with fastconc.open(buf, "wb", codec="gzip", threads=2) as f:
        f.write(data)
    blobs = {"index": fastconc.compress(data, "gzip", threads=2),
             "flush markers": buf.getvalue()}
    for kind, blob in blobs.items():
        assert fastconc.decompress(blob, threads=2) == data
        before, tries = pool_ticks(), 0
        while pool_ticks() == before and tries < 20:
            fastconc.decompress(blob, threads=2)
            tries += 1
        assert pool_ticks() > before, kind
    theirs = gzip.compress(data[:8 << 20], 1)
    fastconc.decompress(theirs, threads=2)
    before = pool_ticks()
    for _ in range(3):
        fastconc.decompress(theirs, threads=2)
    assert pool_ticks() == before


def test_index_claiming_4_gib_more_is_not_believed():
    """An index whose sizes add up to the real size + 2**32 (ISIZE is the
    size mod 2**32, so it agrees): no 4 GiB reserved from the claim, no
    OutputSizeError from it under max_output_size; the stream is what
    zlib says it is."""
    import tracemalloc
    data = os.urandom(5 << 20)
    comp = fastconc.compress(data, "gzip")
    body = comp[12 + struct.unpack_from("<H", comp, 10)[0]:-8]
    n = 150
    csizes = [len(body) // n] * n
    csizes[-1] += len(body) - sum(csizes)
    total = len(data) + (1 << 32)
    usizes = [total // n] * n
    usizes[-1] += total - sum(usizes)
    payload = struct.pack("<BBII", 1, 1, 1 << 20, n) + b"".join(
        struct.pack("<III", c, u, 0) for c, u in zip(csizes, usizes))
    extra = b"FP" + struct.pack("<H", len(payload)) + payload
    blob = (b"\x1f\x8b\x08\x04" + bytes(5) + b"\x03" +
            struct.pack("<H", len(extra)) + extra + body + comp[-8:])
    assert zlib.decompress(blob, 31) == data
    for kw in ({}, {"max_output_size": 64 << 20}):
        tracemalloc.start()
        try:
            assert fastconc.decompress(blob, threads=2, **kw) == data
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 200 << 20
    assert fastconc.decompress_many([blob], threads=2) == [data]
