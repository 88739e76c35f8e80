"""fastconc.open(): compressed files as file objects (like gzip.open).

Interop both ways with the stdlib and the gzip, pigz, zstd and lz4
commands; concatenated members/frames; truncated and corrupt files.
"""
import gzip
import io
import shutil
import subprocess
import threading

import pytest
from test_codec_stream import sample, stream_compress

import fastconc
from fastconc import DecompressionError

EXT = {"gzip": ".gz", "zstd": ".zst", "lz4": ".lz4", "zlib": ".zz",
       "deflate": ".deflate"}
CODECS = list(EXT)


def need(cmd):
    if shutil.which(cmd) is None:
        pytest.skip(f"{cmd} not installed")


def run(*cmd, data=None):
    need(cmd[0])
    return subprocess.run(list(cmd), input=data, capture_output=True,
                          check=True).stdout


@pytest.fixture(params=CODECS)
def codec(request):
    return request.param


# --- basics ------------------------------------------------------------------

def test_write_read_round_trip(tmp_path, codec):
    data = sample(1_000_000, 1)
    path = tmp_path / ("f" + EXT[codec])
    with fastconc.open(path, "wb") as f:
        # seekable() is True, as for gzip.GzipFile: forward only.
        assert f.writable() and not f.readable() and f.seekable()
        for i in range(0, len(data), 77_777):
            assert f.write(data[i:i + 77_777]) == len(data[i:i + 77_777])
        assert f.tell() == len(data)
        assert f.codec == codec and f.mode == "wb"
    assert f.closed
    rcodec = "deflate" if codec == "deflate" else None
    with fastconc.open(path, codec=rcodec) as f:
        assert isinstance(f, io.BufferedIOBase)
        assert f.readable() and not f.writable()
        assert f.read(10) == data[:10]
        assert f.tell() == 10
        assert f.peek(1)[:1] == data[10:11]
        got = f.read1(100)
        assert 0 < len(got) <= 100 and got == data[10:10 + len(got)]
    with fastconc.open(str(path), "rb", codec=rcodec) as f:
        assert f.read() == data
        assert f.read() == b""
        assert f.codec == codec


def test_readinto_and_readline(tmp_path):
    lines = [b"line %d %s\n" % (i, b"x" * (i % 50)) for i in range(20_000)]
    data = b"".join(lines)
    path = tmp_path / "lines.zst"
    with fastconc.open(path, "wb") as f:
        f.write(data)
    with fastconc.open(path) as f:
        assert list(f) == lines
    with fastconc.open(path) as f:
        assert f.readline() == lines[0]
        assert f.readline(3) == lines[1][:3]
        buf = bytearray(1000)
        n = f.readinto(buf)
        assert n > 0 and bytes(buf[:n]) == data[len(lines[0]) + 3:][:n]
        assert f.readlines()[-1] == lines[-1]


def test_text_mode(tmp_path):
    text = "h\u00e9llo w\u00f6rld\n" * 1000 + "end"
    path = tmp_path / "t.gz"
    with fastconc.open(path, "wt", encoding="utf-8") as f:
        f.write(text)
    with gzip.open(path, "rt", encoding="utf-8") as f:
        assert f.read() == text
    with fastconc.open(path, "rt", encoding="utf-8") as f:
        assert f.readline() == "h\u00e9llo w\u00f6rld\n"
        assert f.read() == text[len("h\u00e9llo w\u00f6rld\n"):]
    with fastconc.open(path, "rt", encoding="utf-8", newline="") as f:
        assert len(f.readlines()) == 1001
    with pytest.raises(ValueError):
        fastconc.open(path, "rb", encoding="utf-8")
    with pytest.raises(ValueError):
        fastconc.open(path, "rtb")


def test_modes(tmp_path):
    path = tmp_path / "m.lz4"
    with fastconc.open(path, "x") as f:
        f.write(b"one ")
    with pytest.raises(FileExistsError):
        fastconc.open(path, "xb")
    with fastconc.open(path, "a") as f:
        f.write(b"two ")
    with fastconc.open(path, "ab") as f:
        f.write(b"three")
    assert run("lz4", "-dcq", str(path)) == b"one two three"
    with fastconc.open(path, "r") as f:
        assert f.read() == b"one two three"
    with fastconc.open(path, "w") as f:
        f.write(b"new")
    assert fastconc.open(path).read() == b"new"
    for bad in ("rw", "b", "r+", "wx", "z"):
        with pytest.raises(ValueError, match="mode"):
            fastconc.open(path, bad)


def test_append_refused_for_single_stream_codecs(tmp_path):
    for ext in (".zz", ".deflate"):
        with pytest.raises(ValueError, match="mode 'a'"):
            fastconc.open(tmp_path / ("x" + ext), "ab")


def test_codec_from_extension(tmp_path):
    data = b"payload " * 1000
    for ext, codec in [(".gz", "gzip"), (".tgz", "gzip"), (".zst", "zstd"),
                       (".zstd", "zstd"), (".lz4", "lz4"), (".zz", "zlib"),
                       (".zlib", "zlib"), (".GZ", "gzip")]:
        path = tmp_path / ("f" + ext)
        with fastconc.open(path, "wb") as f:
            f.write(data)
        d = fastconc.Decompressor()
        assert d.decompress(path.read_bytes()) == data and d.codec == codec
    with pytest.raises(ValueError, match="codec"):
        fastconc.open(tmp_path / "plain.bin", "wb")
    with fastconc.open(tmp_path / "plain.bin", "wb", codec="gzip") as f:
        f.write(data)
    assert gzip.decompress((tmp_path / "plain.bin").read_bytes()) == data


def test_reading_detects_whatever_the_name(tmp_path):
    data = sample(50_000, 2)
    path = tmp_path / "really_zstd.gz"
    path.write_bytes(stream_compress(data, "zstd"))
    with fastconc.open(path) as f:
        assert f.read() == data and f.codec == "zstd"
    # An explicit codec is obeyed, so a mismatch is an error.
    with pytest.raises(DecompressionError, match="gzip"):
        fastconc.open(path, codec="gzip").read()


def test_file_objects(tmp_path):
    data = sample(300_000, 3)
    buf = io.BytesIO()
    with fastconc.open(buf, "wb", codec="gzip") as f:
        f.write(data)
    assert not buf.closed          # not ours to close
    assert gzip.decompress(buf.getvalue()) == data
    with fastconc.open(io.BytesIO(buf.getvalue())) as f:
        assert f.read() == data
    with open(tmp_path / "named.zst", "wb") as raw, \
            fastconc.open(raw, "wb") as f:     # codec from raw.name
        f.write(data)
        assert f.fileno() == raw.fileno()
        assert f.name == raw.name
    assert run("zstd", "-dcq", str(tmp_path / "named.zst")) == data
    with pytest.raises(TypeError):
        fastconc.open(12.5)


def test_closed_file(tmp_path):
    path = tmp_path / "c.zst"
    f = fastconc.open(path, "wb")
    f.write(b"abc")
    f.close()
    f.close()                              # idempotent
    with pytest.raises(ValueError, match="closed"):
        f.write(b"x")
    r = fastconc.open(path)
    r.close()
    with pytest.raises(ValueError, match="closed"):
        r.read()
    with pytest.raises(ValueError):
        r.readline()
    assert "closed" in repr(r)


def test_wrong_direction(tmp_path):
    path = tmp_path / "d.zst"
    with fastconc.open(path, "wb") as f, pytest.raises(io.UnsupportedOperation):
        f.read()
    with fastconc.open(path) as f:
        with pytest.raises(io.UnsupportedOperation):
            f.write(b"x")


def test_level_and_threads_arguments(tmp_path):
    data = sample(400_000, 4)
    sizes = []
    for level in (1, 19):
        path = tmp_path / f"l{level}.zst"
        with fastconc.open(path, "wb", level=level) as f:
            f.write(data)
        sizes.append(path.stat().st_size)
    assert sizes[1] < sizes[0]
    with pytest.raises(ValueError, match="level"):
        fastconc.open(tmp_path / "x.gz", "wb", level=42)
    with pytest.raises(ValueError, match="writing"):
        fastconc.open(tmp_path / "l1.zst", "rb", level=3)
    with pytest.raises(ValueError, match="writing only"):
        fastconc.open(tmp_path / "l1.zst", "rb", threads=2)
    with pytest.raises(ValueError, match="threads"):
        fastconc.open(tmp_path / "x.zz", "wb", threads=2)
    with pytest.raises(ValueError):
        fastconc.open(tmp_path / "x.gz", "wb", threads=0)
    with pytest.raises(TypeError):
        fastconc.open(tmp_path / "x.gz", "wb", threads="2")
    with pytest.raises(ValueError, match="codec"):
        fastconc.open(tmp_path / "x.gz", "wb", codec="rar")
    with pytest.raises(TypeError, match="codec"):
        fastconc.open(tmp_path / "x.gz", "wb", codec=3)


@pytest.mark.parametrize("codec", ["gzip", "zstd", "lz4"])
@pytest.mark.parametrize("threads", [2, 4])
def test_parallel_writing(tmp_path, codec, threads):
    data = sample(9 << 20, 5)
    path = tmp_path / ("p" + EXT[codec])
    with fastconc.open(path, "wb", threads=threads) as f:
        for i in range(0, len(data), 3 << 20):
            f.write(data[i:i + (3 << 20)])
    cmd = {"gzip": ["gzip", "-dc"], "zstd": ["zstd", "-dcq"],
           "lz4": ["lz4", "-dcq"]}[codec]
    assert run(*cmd, str(path)) == data
    with fastconc.open(path) as f:
        assert f.read() == data
    # Within 1% (+ a little framing) of the single-thread size.
    one = tmp_path / ("s" + EXT[codec])
    with fastconc.open(one, "wb") as f:
        f.write(data)
    assert path.stat().st_size <= one.stat().st_size * 1.01 + 4096
    # An empty file is still valid.
    with fastconc.open(tmp_path / ("e" + EXT[codec]), "wb",
                       threads=threads):
        pass
    assert run(*cmd, str(tmp_path / ("e" + EXT[codec]))) == b""


def test_threaded_writers_keep_order(tmp_path):
    """write() from several threads: each call's data stays whole."""
    path = tmp_path / "w.gz"
    pieces = [bytes([65 + i]) * 10_000 for i in range(8)]
    with fastconc.open(path, "wb") as f:
        barrier = threading.Barrier(8)

        def w(i):
            barrier.wait()
            for _ in range(20):
                f.write(pieces[i])

        ts = [threading.Thread(target=w, args=(i,)) for i in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    out = gzip.decompress(path.read_bytes())
    assert len(out) == 8 * 20 * 10_000
    for k in range(0, len(out), 10_000):
        assert out[k:k + 10_000] in pieces


# --- concatenation -----------------------------------------------------------

def test_concatenated_gzip_members(tmp_path):
    a, b, c = sample(100_000, 6), sample(1, 7), sample(70_000, 8)
    path = tmp_path / "cat.gz"
    path.write_bytes(gzip.compress(a) + stream_compress(b, "gzip")
                     + gzip.compress(c, 1) + gzip.compress(b""))
    with fastconc.open(path) as f:
        assert f.read() == a + b + c
    # And through the gzip command's own concatenation.
    one, two = tmp_path / "one", tmp_path / "two"
    one.write_bytes(a)
    two.write_bytes(c)
    both = run("gzip", "-c", str(one)) + run("gzip", "-c", str(two))
    assert fastconc.open(io.BytesIO(both)).read() == a + c
    assert gzip.decompress(both) == a + c


def test_gzip_zero_padding_ignored(tmp_path):
    data = sample(20_000, 9)
    path = tmp_path / "pad.gz"
    path.write_bytes(gzip.compress(data) + b"\0" * 1000)
    assert fastconc.open(path).read() == data


def test_concatenated_zstd_frames(tmp_path):
    parts = [sample(n, n) for n in (0, 10, 200_000, 3_000)]
    blob = b"".join(run("zstd", "-cq", data=p) for p in parts)
    blob += stream_compress(b"ours", "zstd")
    # A skippable frame in between is skipped.
    skippable = (0x184D2A50).to_bytes(4, "little") + (5).to_bytes(4,
                                                                  "little")
    blob += skippable + b"12345" + stream_compress(b"end", "zstd")
    with fastconc.open(io.BytesIO(blob)) as f:
        assert f.read() == b"".join(parts) + b"ours" + b"end"
    assert run("zstd", "-dcq", data=blob) == b"".join(parts) + b"oursend"


def test_concatenated_lz4_frames():
    parts = [sample(n, n) for n in (5, 500_000, 0)]
    blob = b"".join(stream_compress(p, "lz4") for p in parts)
    assert fastconc.open(io.BytesIO(blob)).read() == b"".join(parts)
    assert run("lz4", "-dcq", data=blob) == b"".join(parts)


def test_mixed_codec_concatenation():
    """Each member is detected on its own when codec=None."""
    blob = stream_compress(b"a", "gzip") + stream_compress(b"b", "zstd") + \
        stream_compress(b"c", "lz4")
    assert fastconc.open(io.BytesIO(blob)).read() == b"abc"


def test_empty_file(tmp_path):
    path = tmp_path / "empty.gz"
    path.write_bytes(b"")
    with fastconc.open(path) as f:   # as gzip.open: empty data
        assert f.read() == b""


# --- damage ------------------------------------------------------------------

@pytest.mark.parametrize("codec", ["gzip", "zstd", "lz4", "zlib"])
def test_truncated_file_raises(codec):
    data = sample(20_000, 10)
    blob = stream_compress(data, codec)
    step = max(1, len(blob) // 300)
    for n in list(range(1, len(blob), step)) + [len(blob) - 1]:
        with pytest.raises(DecompressionError), \
                fastconc.open(io.BytesIO(blob[:n])) as f:
            f.read()
    with fastconc.open(io.BytesIO(blob)) as f:
        assert f.read() == data


def test_truncated_second_member_raises():
    blob = gzip.compress(b"first") + gzip.compress(b"second")[:-3]
    with pytest.raises(DecompressionError, match="truncated"):
        fastconc.open(io.BytesIO(blob)).read()


def test_trailing_garbage_raises():
    blob = gzip.compress(b"data") + b"garbage that is not a member"
    with pytest.raises(DecompressionError):
        fastconc.open(io.BytesIO(blob)).read()
    blob = stream_compress(b"data", "zlib") + b"more"
    with pytest.raises(DecompressionError, match="after the end"):
        fastconc.open(io.BytesIO(blob)).read()


@pytest.mark.parametrize("codec", ["zlib", "deflate"])
def test_trailing_bytes_raise_when_read_in_pieces(codec):
    data = bytes(range(256)) * 4000
    blob = stream_compress(data, codec) + b"\0\0"
    with pytest.raises(DecompressionError, match="after the end"):
        fastconc.open(io.BytesIO(blob), codec=codec).read()
    with pytest.raises(DecompressionError, match="after the end"):
        with fastconc.open(io.BytesIO(blob), codec=codec) as f:
            while f.read1(70_000):
                pass


@pytest.mark.parametrize("codec", ["gzip", "zstd", "lz4", "zlib"])
def test_corrupt_file_raises_or_is_exact(codec, rng):
    data = sample(30_000, 11)
    blob = stream_compress(data, codec)
    caught = 0
    for _ in range(150):
        bad = bytearray(blob)
        bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
        try:
            out = fastconc.open(io.BytesIO(bytes(bad))).read()
        except DecompressionError as exc:
            assert isinstance(exc, ValueError)
            caught += 1
        else:
            assert out == data
    assert caught > 100


def test_error_mentions_file_and_offset(tmp_path):
    blob = bytearray(gzip.compress(sample(100_000, 12)))
    blob[len(blob) // 2] ^= 0x55
    path = tmp_path / "bad.gz"
    path.write_bytes(bytes(blob))
    with pytest.raises(DecompressionError, match=r"bad\.gz.*gzip.*offset"):
        fastconc.open(path).read()


# --- interop with the command-line tools -------------------------------------

@pytest.mark.parametrize("codec,cmd", [
    ("gzip", ["gzip", "-dc"]), ("gzip", ["pigz", "-dc"]),
    ("zlib", ["pigz", "-dzc"]), ("zstd", ["zstd", "-dcq"]),
    ("lz4", ["lz4", "-dcq"])])
def test_tools_read_our_files(tmp_path, codec, cmd):
    data = sample(2_000_000, 13)
    path = tmp_path / ("o" + EXT[codec])
    with fastconc.open(path, "wb") as f:
        f.write(data)
    assert run(*cmd, str(path)) == data


@pytest.mark.parametrize("cmd", [
    ["gzip", "-c"], ["pigz", "-c", "-p", "2"], ["pigz", "-zc"],
    ["zstd", "-cq"], ["zstd", "-cq", "-T2", "--long"],
    ["lz4", "-cq"], ["lz4", "-cq", "-BD"]])
def test_we_read_tool_files(tmp_path, cmd):
    data = sample(2_000_000, 14)
    src = tmp_path / "src"
    src.write_bytes(data)
    blob = run(*cmd, str(src))
    path = tmp_path / "in.bin"
    path.write_bytes(blob)
    with fastconc.open(path) as f:
        assert f.read() == data


@pytest.mark.parametrize("codec", ["gzip", "lz4"])
def test_parallel_writing_mixed_write_sizes(codec):
    """Blocks are cut the same whatever the write sizes: one big write,
    tiny writes and a numpy array give the same bytes."""
    data = sample(19 << 20, 15)
    outs = []
    # gzip: the header's time, now by default (as gzip.GzipFile), fixed.
    kw = {"mtime": 0} if codec == "gzip" else {}
    for pattern in ("one", "small", "mixed"):
        buf = io.BytesIO()
        with fastconc.open(buf, "wb", codec=codec, threads=2, **kw) as f:
            if pattern == "one":
                f.write(data)
            elif pattern == "small":
                for i in range(0, len(data), 777_777):
                    f.write(memoryview(data)[i:i + 777_777])
            else:
                f.write(data[:100])
                f.write(bytearray(data[100:(12 << 20)]))
                f.write(data[12 << 20:])
        outs.append(buf.getvalue())
    assert outs[0] == outs[1] == outs[2]
    assert fastconc.open(io.BytesIO(outs[0])).read() == data
    np = pytest.importorskip("numpy")
    arr = np.frombuffer(data[:(16 << 20)], dtype=np.int64).reshape(-1, 8)
    buf = io.BytesIO()
    with fastconc.open(buf, "wb", codec=codec, threads=2) as f:
        assert f.write(arr) == arr.nbytes
    assert fastconc.open(io.BytesIO(buf.getvalue())).read() == arr.tobytes()


@pytest.mark.parametrize("codec", CODECS)
def test_flush_makes_data_readable(tmp_path, codec):
    """f.flush(): what was written so far can be read back by another
    reader while the file stays open (like gzip.GzipFile.flush)."""
    path = tmp_path / ("log" + EXT[codec])
    rcodec = "deflate" if codec == "deflate" else None
    with fastconc.open(path, "wb") as f:
        f.write(b"first line\n")
        f.flush()
        d = fastconc.Decompressor(rcodec)
        assert d.decompress(path.read_bytes()) == b"first line\n"
        f.write(b"second line\n")
        f.flush()
        d = fastconc.Decompressor(rcodec)
        assert d.decompress(path.read_bytes()) == b"first line\nsecond line\n"
    assert fastconc.open(path, codec=rcodec).read() == \
        b"first line\nsecond line\n"


@pytest.mark.parametrize("codec", ["gzip", "zstd", "lz4"])
def test_flush_parallel_writer(tmp_path, codec):
    path = tmp_path / ("p" + EXT[codec])
    with fastconc.open(path, "wb", threads=2) as f:
        f.write(b"abc" * 1000)
        f.flush()
        if codec == "gzip":
            # One member, not ended yet (as gzip.GzipFile's after a
            # flush): everything written so far decodes.
            d = fastconc.Decompressor()
            assert d.decompress(path.read_bytes()) == b"abc" * 1000
            assert not d.eof
        else:
            assert fastconc.open(io.BytesIO(path.read_bytes())).read() == \
                b"abc" * 1000
        f.write(b"def")
    assert fastconc.open(path).read() == b"abc" * 1000 + b"def"


# --- gzip.GzipFile drop-in (#23 item 1) ---------------------------------------

def _gzip_head(blob):
    """(FLG, MTIME, XFL, OS, FNAME or None) of a gzip header."""
    import struct
    flg, mtime, xfl, os_ = struct.unpack_from("<BIBB", blob, 3)
    pos = 10
    if flg & 4:
        pos += 2 + struct.unpack_from("<H", blob, 10)[0]
    fname = None
    if flg & 8:
        end = blob.index(b"\0", pos)
        fname = blob[pos:end]
    return flg, mtime, xfl, os_, fname


@pytest.mark.parametrize("level,xfl", [(1, 4), (6, 0), (9, 2)])
@pytest.mark.parametrize("threads", [1, 2])
def test_gzip_header_as_gzipfile_writes_it(tmp_path, level, xfl, threads):
    """mtime=, the file name (without .gz), XFL by level, OS 255: the
    header gzip.GzipFile writes for the same arguments."""
    data = sample(3_000_000, 30)
    ours, theirs = tmp_path / "a" / "data.txt.gz", tmp_path / "data.txt.gz"
    ours.parent.mkdir()
    with fastconc.open(ours, "wb", compresslevel=level, mtime=1234567890,
                       threads=threads) as f:
        f.write(data)
        assert f.mtime == 1234567890
    with gzip.GzipFile(theirs, "wb", compresslevel=level,
                       mtime=1234567890) as g:
        g.write(data)
    head = _gzip_head(ours.read_bytes())
    assert head == _gzip_head(theirs.read_bytes())
    assert head == (8, 1234567890, xfl, 255, b"data.txt")
    with gzip.open(ours) as g:
        assert g.read() == data and g.mtime == 1234567890
    # mtime=None: now; a file object without a name: no FNAME.
    buf = io.BytesIO()
    with fastconc.open(buf, "wb", codec="gzip") as f:
        f.write(b"x")
    flg, mtime, _, _, fname = _gzip_head(buf.getvalue())
    import time
    assert fname is None and flg == 0 and abs(mtime - time.time()) < 100


def test_level_and_compresslevel(tmp_path):
    path = tmp_path / "c.gz"
    with fastconc.open(path, "wb", level=3, compresslevel=3) as f:
        f.write(b"x")
    with pytest.raises(TypeError):
        fastconc.open(path, "wb", level=3, compresslevel=4)
    with pytest.raises(ValueError):
        fastconc.open(tmp_path / "c.zst", "wb", mtime=5)
    for bad in (-1, 1 << 32):
        with pytest.raises(ValueError):
            fastconc.open(io.BytesIO(), "wb", codec="gzip", mtime=bad)


def test_mtime_after_reading(tmp_path):
    path = tmp_path / "m.gz"
    with gzip.GzipFile(path, "wb", mtime=987654321) as g:
        g.write(b"abc" * 1000)
    with fastconc.open(path) as f:
        assert f.mtime is None           # GzipFile's: not read yet
        f.read(1)
        assert f.mtime == 987654321
    with fastconc.open(path, "rb", codec="gzip") as f:
        f.read()
        assert f.mtime == 987654321


def _writers(codec, data, tmp_path):
    """The same data written every way fastconc and the tools write it."""
    out = {}
    for name, threads in (("open", 1), ("open-threads", 2)):
        if threads > 1 and codec in ("zlib", "deflate"):
            continue
        buf = io.BytesIO()
        with fastconc.open(buf, "wb", codec=codec, threads=threads) as f:
            for i in range(0, len(data), 700_001):
                f.write(data[i:i + 700_001])
        out[name] = buf.getvalue()
    out["oneshot"] = fastconc.compress(data, codec, threads=2)
    if codec == "gzip":
        out["gzip-module"] = gzip.compress(data, mtime=0)
        buf = io.BytesIO()
        with fastconc.open(buf, "wb", codec="gzip", threads=2) as f:
            f.write(data[:1_000_000])
            f.flush()
            f.write(data[1_000_000:])
        out["flushed"] = buf.getvalue()
    return out


@pytest.mark.parametrize("codec", ["gzip", "zstd", "lz4", "zlib"])
def test_seek_and_tell_when_reading(tmp_path, codec, rng):
    """seek()/tell() in read mode as GzipFile's: every way, whatever wrote
    the file, on a path, a file object and (forward only) a pipe-like
    object."""
    data = sample(5_000_000, 31)
    for kind, blob in _writers(codec, data, tmp_path).items():
        path = tmp_path / f"s-{kind}"
        path.write_bytes(blob)
        with fastconc.open(path, "rb", codec=codec) as f:
            assert f.seekable() and f.tell() == 0
            for _ in range(12):
                pos = rng.randrange(len(data) + 10)
                n = rng.randrange(1, 300_000)
                assert f.seek(pos) == min(pos, len(data)), kind
                assert f.tell() == min(pos, len(data))
                assert f.read(n) == data[pos:pos + n], (kind, pos, n)
            assert f.seek(-10, io.SEEK_END) == len(data) - 10
            assert f.read() == data[-10:]
            f.seek(100)
            assert f.seek(50, io.SEEK_CUR) == 150
            assert f.read(10) == data[150:160]
        with fastconc.open(io.BytesIO(blob), "rb") as f:
            f.seek(4_000_000)
            assert f.read(100) == data[4_000_000:4_000_100]
            f.seek(10)
            assert f.readline() == data[10:data.index(b"\n", 10) + 1]

    class Pipe(io.RawIOBase):
        def __init__(self, b):
            self._b = io.BytesIO(b)

        def readable(self):
            return True

        def readinto(self, m):
            return self._b.readinto(m)

    blob = fastconc.compress(data, codec)
    with fastconc.open(Pipe(blob), "rb", codec=codec) as f:
        f.seek(1000)
        assert f.read(10) == data[1000:1010]
        with pytest.raises(io.UnsupportedOperation):
            f.seek(0)


def test_seek_through_the_index_decodes_one_block(tmp_path):
    """A gzip file of compress(): a seek takes the verified index to the
    block that holds the target; the rest of the file is not decoded."""
    data = sample(12 << 20, 32)
    path = tmp_path / "i.gz"
    path.write_bytes(fastconc.compress(data, "gzip", threads=2))

    class Counting(io.FileIO):
        got = 0

        def read(self, n=-1):
            b = super().read(n)
            Counting.got += len(b)
            return b

    with fastconc.open(Counting(path, "rb")) as f:
        f.read(10)
        before = Counting.got
        f.seek(len(data) - 5000)
        assert f.read() == data[-5000:]
        f.seek(6 << 20)
        assert f.read(100) == data[6 << 20:(6 << 20) + 100]
        f.seek(0)
        assert f.read(100) == data[:100]
    # The index was walked on the mapped file, not read; the blocks read
    # are a small part of the file.
    assert Counting.got - before < path.stat().st_size // 4


@pytest.mark.parametrize("codec", ["gzip", "zstd", "lz4"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16",
                                      "utf-16-le", "utf-32", "latin-1"])
def test_text_mode_any_encoding(tmp_path, codec, encoding):
    """TextIOWrapper writes a BOM only on a seekable stream, and checks it
    on reading: with seek/tell, every encoding round-trips (and reads
    back with the stdlib where it has the codec)."""
    text = "h\u00e9llo\n" * 5000 + "end\n"
    path = tmp_path / ("t" + EXT[codec])
    with fastconc.open(path, "wt", encoding=encoding) as f:
        f.write(text[:100])
        f.write(text[100:])
    with fastconc.open(path, "rt", encoding=encoding) as f:
        assert f.read() == text
        f.seek(0)
        assert f.readline() == "h\u00e9llo\n"
        where = f.tell()
        f.readline()
        f.seek(where)
        assert f.readline() == "h\u00e9llo\n"
    if codec == "gzip":
        with gzip.open(path, "rt", encoding=encoding) as g:
            assert g.read() == text


@pytest.mark.parametrize("threads", [1, 2])
def test_gzip_tools_read_our_files_whole(tmp_path, threads):
    """gzip -l (the size and ratio from the one member's ISIZE), gzip -t,
    zcat and pigz -t on what open(), compress() and compress_many() write
    (#22 item 3)."""
    need("gzip")
    data = sample(6_000_000, 33)
    blobs = _writers("gzip", data, tmp_path)
    blobs["many"] = fastconc.compress_many([data], "gzip",
                                           threads=threads)[0]
    for kind, blob in blobs.items():
        path = tmp_path / f"{kind}.gz"
        path.write_bytes(blob)
        listed = run("gzip", "-l", str(path)).decode().splitlines()[1]
        assert listed.split()[:2] == [str(len(blob)), str(len(data))], kind
        run("gzip", "-t", str(path))
        assert run("zcat", str(path)) == data
        if shutil.which("pigz"):
            run("pigz", "-t", str(path))
        d = __import__("zlib").decompressobj(31)
        assert d.decompress(blob) == data and d.eof and not d.unused_data
        for t in (1, 2):
            assert fastconc.decompress(blob, threads=t) == data
