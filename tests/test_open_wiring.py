"""fastconc.open() raises the stdlib-fitting classes for what it detects
itself (a file that ends inside a member, data after the last member) and
passes zstd_dict= to every member it reads or writes."""
import gzip
import io
import zlib

import pytest
from codec_data import corpus

import fastconc

CODECS = ("zlib", "deflate", "gzip", "zstd", "lz4")
DEFLATE = ("zlib", "deflate", "gzip")


def _truncated(codec):
    comp = fastconc.compress(corpus(300_000), codec)
    return comp[:len(comp) // 2]


def _corrupt(codec):
    comp = bytearray(fastconc.compress(corpus(300_000), codec))
    if codec == "deflate":
        comp[0] |= 0x06             # reserved block type
        return bytes(comp)
    mid = len(comp) // 2
    comp[mid:mid + 16] = bytes(b ^ 0x55 for b in comp[mid:mid + 16])
    return bytes(comp)


def _read(data, codec, tmp_path):
    """open() by path with the codec named, then (where a magic tells)
    from a file object with the codec detected."""
    path = tmp_path / f"f.{codec}"
    path.write_bytes(data)
    yield lambda: fastconc.open(path, "rb", codec=codec).read()
    if codec != "deflate":
        yield lambda: fastconc.open(io.BytesIO(data), "rb").read()


@pytest.mark.parametrize("codec", CODECS)
def test_truncated_file_is_eof_error(codec, tmp_path):
    for call in _read(_truncated(codec), codec, tmp_path):
        with pytest.raises(EOFError) as info:
            call()
        exc = info.value
        assert isinstance(exc, fastconc.TruncatedError)
        assert isinstance(exc, zlib.error) == (codec in DEFLATE)
        assert f"{codec}: " in str(exc) and "offset" in str(exc)


@pytest.mark.parametrize("codec", CODECS)
def test_corrupt_file(codec, tmp_path):
    want = fastconc.BadGzipFile if codec == "gzip" else (
        fastconc.CorruptDeflateError if codec in DEFLATE
        else fastconc.DecompressionError)
    for call in _read(_corrupt(codec), codec, tmp_path):
        with pytest.raises(fastconc.DecompressionError) as info:
            call()
        assert type(info.value) is want, type(info.value)


def test_truncated_gzip_like_gzip_open(tmp_path):
    path = tmp_path / "t.gz"
    path.write_bytes(fastconc.compress(corpus(300_000), "gzip")[:-5])
    with pytest.raises(EOFError), gzip.open(path) as f:
        f.read()
    with pytest.raises(EOFError) as info, fastconc.open(path) as f:
        f.read()
    assert isinstance(info.value, fastconc.TruncatedDeflateError)


def test_trailing_garbage_is_bad_gzip_file(tmp_path):
    good = fastconc.compress(b"hello", "gzip")
    path = tmp_path / "junk.gz"
    path.write_bytes(good + b"garbage!")
    with pytest.raises(gzip.BadGzipFile), gzip.open(path) as f:
        f.read()
    with pytest.raises(gzip.BadGzipFile) as info, fastconc.open(path) as f:
        f.read()
    assert isinstance(info.value, fastconc.BadGzipFile)
    # Zero padding after the last member is accepted, as gzip does.
    path.write_bytes(good + bytes(100))
    with fastconc.open(path) as f:
        assert f.read() == b"hello"
    # Members of mixed codecs stay readable (a feature of open()).
    path.write_bytes(good + fastconc.compress(b" world", "zstd"))
    with fastconc.open(path) as f:
        assert f.read() == b"hello world"


@pytest.fixture(scope="module")
def zdict():
    samples = [(b'{"id":%d,"user":"user%d","event":"login","ok":%s}'
                % (i, i % 97, b"true" if i % 3 else b"false"))
               for i in range(3000)]
    return fastconc.train_zstd_dict(samples, 4096), samples


@pytest.mark.parametrize("threads", [None, 2])
@pytest.mark.parametrize("as_bytes", [False, True])
def test_zstd_dict_through_open(zdict, threads, as_bytes, tmp_path):
    d, samples = zdict
    arg = d.dict_content if as_bytes else d
    data = b"\n".join(samples)
    path = tmp_path / "r.zst"
    with fastconc.open(path, "wb", threads=threads, zstd_dict=arg) as f:
        f.write(data)
    packed = path.read_bytes()
    # Made with the dictionary: one-shot decoding needs it too.
    assert fastconc.decompress(packed, zstd_dict=d) == data
    with pytest.raises(fastconc.DecompressionError, match="dictionary"):
        fastconc.decompress(packed)
    with fastconc.open(path, "rb", zstd_dict=arg) as f:
        assert f.read() == data
    with pytest.raises(fastconc.DecompressionError, match="dictionary"), \
            fastconc.open(path, "rb") as f:
        f.read()
    with fastconc.open(path, "rt", zstd_dict=arg, encoding="ascii") as t:
        assert t.readline() == samples[0].decode() + "\n"


@pytest.mark.parametrize("codec", ["gzip", "zlib", "deflate", "lz4"])
def test_zstd_dict_refused_for_other_codecs(zdict, codec):
    with pytest.raises(ValueError, match="zstd_dict"):
        fastconc.open(io.BytesIO(), "wb", codec=codec, zstd_dict=zdict[0])
