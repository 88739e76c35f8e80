"""Decompression errors fit handlers written for the stdlib: truncation is
also an EOFError, corrupt zlib/deflate/gzip data also a zlib.error, a bad
gzip file also a gzip.BadGzipFile; DecompressionError (a ValueError)
catches every one, on every decode path (one-shot, parallel pieces, batch,
Decompressor; open() in tests/test_open_wiring.py), and the message names
the codec and the offset.  Each case is checked against what the stdlib
itself raises where it has the codec."""
import gzip
import pickle
import re
import zlib

import pytest
from codec_data import corpus

import fastconc

try:
    from tblib import pickling_support as tblib_pickling
except ImportError:         # only with the distributed extra
    tblib_pickling = None

DEFLATE = ("zlib", "deflate", "gzip")
CODECS = DEFLATE + ("zstd", "lz4")


def test_hierarchy():
    d = fastconc.DecompressionError
    assert issubclass(d, ValueError)
    assert issubclass(fastconc.OutputSizeError, d)
    assert issubclass(fastconc.TruncatedError, d)
    assert issubclass(fastconc.TruncatedError, EOFError)
    assert issubclass(fastconc.CorruptDeflateError, d)
    assert issubclass(fastconc.CorruptDeflateError, zlib.error)
    assert issubclass(fastconc.TruncatedDeflateError, fastconc.TruncatedError)
    assert issubclass(fastconc.TruncatedDeflateError, zlib.error)
    assert issubclass(fastconc.BadGzipFile, fastconc.CorruptDeflateError)
    assert issubclass(fastconc.BadGzipFile, gzip.BadGzipFile)
    assert issubclass(fastconc.BadGzipFile, OSError)
    # Truncation is not "corrupt" and a corrupt stream is not truncated.
    assert not issubclass(fastconc.TruncatedDeflateError,
                          fastconc.CorruptDeflateError)
    assert not issubclass(fastconc.CorruptDeflateError, EOFError)
    for name in ("TruncatedError", "CorruptDeflateError",
                 "TruncatedDeflateError", "BadGzipFile"):
        cls = getattr(fastconc, name)
        assert name in fastconc.__all__
        assert cls.__module__ == "fastconc" and cls.__doc__
        exc = cls("gzip: corrupt input at offset 3")
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is cls and str(back) == str(exc)
        # As dask ships a worker's exception (tblib's reducer calls
        # cls.__new__(cls, *args)): BadGzipFile failed there.
        assert type(cls.__new__(cls)) is cls
        if tblib_pickling is not None:
            fn, args = tblib_pickling.pickle_exception(exc)[:2]
            back = fn(*args)
            assert type(back) is cls and str(back) == str(exc)
    err = fastconc.BadGzipFile("gzip: x")
    assert err.errno is None and str(err) == "gzip: x"


def _data():
    return corpus(300_000)


def _truncated(codec):
    comp = fastconc.compress(_data(), codec)
    return comp[:len(comp) // 2]


def _corrupt(codec):
    """A stream whose middle is damaged; the codecs' checksums see it (raw
    deflate has none: its first block gets the reserved block type)."""
    comp = bytearray(fastconc.compress(_data(), codec))
    if codec == "deflate":
        comp[0] |= 0x06
        return bytes(comp)
    mid = len(comp) // 2
    comp[mid:mid + 16] = bytes(b ^ 0x55 for b in comp[mid:mid + 16])
    return bytes(comp)


def _bad_gzip_header():
    comp = bytearray(fastconc.compress(_data(), "gzip"))
    comp[2] = 7                 # compression method: not deflate
    return bytes(comp)


EXPECTED = {
    ("truncated", "zlib"): fastconc.TruncatedDeflateError,
    ("truncated", "deflate"): fastconc.TruncatedDeflateError,
    ("truncated", "gzip"): fastconc.TruncatedDeflateError,
    ("truncated", "zstd"): fastconc.TruncatedError,
    ("truncated", "lz4"): fastconc.TruncatedError,
    ("corrupt", "zlib"): fastconc.CorruptDeflateError,
    ("corrupt", "deflate"): fastconc.CorruptDeflateError,
    ("corrupt", "gzip"): fastconc.BadGzipFile,
    ("corrupt", "zstd"): fastconc.DecompressionError,
    ("corrupt", "lz4"): fastconc.DecompressionError,
}

# The stdlib handlers each failure must meet (besides DecompressionError
# and ValueError).
HANDLERS = {
    fastconc.TruncatedDeflateError: (EOFError, zlib.error),
    fastconc.TruncatedError: (EOFError,),
    fastconc.CorruptDeflateError: (zlib.error,),
    fastconc.BadGzipFile: (gzip.BadGzipFile, zlib.error, OSError),
    fastconc.DecompressionError: (),
}


def _message_ok(exc, codec):
    return re.search(rf"\b{codec}: .*offset \d+", str(exc)) is not None


def _paths(codec, data, tmp_path):
    """Each decode path as a callable."""
    def stream():
        d = fastconc.Decompressor(codec)
        d.decompress(data)
        if not d.eof:
            # A stream cannot know that its input is over (open(), which
            # sees the end of the file, says so).
            raise AssertionError("not at eof")

    paths = {
        "oneshot": lambda: fastconc.decompress(data, codec),
        "pieces": lambda: fastconc.decompress(data, codec, threads=2),
        "batch": lambda: fastconc.decompress_many([b"", data][1:], codec),
        "batch2": lambda: fastconc.decompress_many(
            [fastconc.compress(b"ok", codec), data], codec),
        "stream": stream,
    }
    if codec != "deflate":      # raw deflate has no magic to detect
        paths["oneshot_detect"] = lambda: fastconc.decompress(data)
    return paths


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("kind", ["truncated", "corrupt"])
def test_every_path_raises_the_matching_class(codec, kind, tmp_path):
    data = _truncated(codec) if kind == "truncated" else _corrupt(codec)
    expected = EXPECTED[kind, codec]
    for name, call in _paths(codec, data, tmp_path).items():
        if name == "stream" and kind == "truncated":
            # Not an error for a stream: it waits for more input.
            d = fastconc.Decompressor(codec)
            d.decompress(data)
            assert not d.eof and d.needs_input
            continue
        with pytest.raises(fastconc.DecompressionError) as info:
            call()
        exc = info.value
        assert type(exc) is expected, (name, type(exc), exc)
        for handler in HANDLERS[expected] + (ValueError,):
            assert isinstance(exc, handler), (name, handler)
        assert _message_ok(exc, codec), (name, str(exc))


# What the stdlib raises for each failure, as the handler code written
# for it would name it.
STDLIB = {
    "zlib": (zlib.decompress, zlib.error, zlib.error),
    "deflate": (lambda b: zlib.decompress(b, -15), zlib.error, zlib.error),
    "gzip": (gzip.decompress, (zlib.error, gzip.BadGzipFile), EOFError),
}


@pytest.mark.parametrize("codec", DEFLATE)
def test_stdlib_handlers_catch(codec):
    # The very code written for zlib/gzip: the stdlib call, then each of
    # fastconc's entry points, under the same handler; each must raise.
    stdlib, corrupt_handler, truncated_handler = STDLIB[codec]
    calls = {
        "stdlib": stdlib,
        "oneshot": lambda b: fastconc.decompress(b, codec),
        "pieces": lambda b: fastconc.decompress(b, codec, threads=2),
        "batch": lambda b: fastconc.decompress_many([b], codec),
        "stream": lambda b: fastconc.Decompressor(codec).decompress(b),
    }
    for name, fn in calls.items():
        for data, handler in ((_corrupt(codec), corrupt_handler),
                              (_truncated(codec), truncated_handler)):
            if name == "stream" and data == _truncated(codec):
                continue        # a stream waits for more: not an error
            try:
                fn(data)
            except handler as exc:
                if name != "stdlib":
                    assert isinstance(exc, fastconc.DecompressionError)
            else:
                pytest.fail(f"{name}: no {handler} for {codec}")


def test_bad_gzip_file_through_open(tmp_path):
    path = tmp_path / "bad.gz"
    path.write_bytes(_bad_gzip_header())
    # gzip itself raises BadGzipFile for this file...
    with pytest.raises(gzip.BadGzipFile), gzip.open(path) as f:
        f.read()
    # ... and so does fastconc, by codec or detected.
    for codec in ("gzip", None):
        try:
            with fastconc.open(path, "rb", codec=codec) as f:
                f.read()
        except gzip.BadGzipFile as exc:
            assert isinstance(exc, fastconc.BadGzipFile)
            assert "gzip" in str(exc) and "offset" in str(exc)
        else:
            pytest.fail("no BadGzipFile")
    for call in (lambda: fastconc.decompress(path.read_bytes()),
                 lambda: fastconc.decompress_many([path.read_bytes()]),
                 lambda: fastconc.Decompressor().decompress(
                     path.read_bytes())):
        with pytest.raises(gzip.BadGzipFile):
            call()


def test_gzip_trailing_garbage_is_bad_gzip_file(tmp_path):
    good = fastconc.compress(b"hello", "gzip")
    data = good + b"garbage!"
    with pytest.raises(gzip.BadGzipFile):
        gzip.decompress(data)
    with pytest.raises(fastconc.BadGzipFile):
        fastconc.decompress(data)
    with pytest.raises(fastconc.BadGzipFile):
        fastconc.decompress_many([data])


def test_too_short_to_detect_is_truncated():
    for data in (b"", b"\x1f"):
        with pytest.raises(fastconc.TruncatedError, match="too short"):
            fastconc.decompress(data)
    # No magic at all: neither truncated nor any codec's corruption.
    with pytest.raises(fastconc.DecompressionError) as info:
        fastconc.decompress(b"plain text, not compressed")
    assert type(info.value) is fastconc.DecompressionError


def test_output_size_error_unchanged():
    comp = fastconc.compress(bytes(1 << 20), "gzip")
    with pytest.raises(fastconc.OutputSizeError) as info:
        fastconc.decompress(comp, max_output_size=1000)
    assert not isinstance(info.value, (EOFError, zlib.error, OSError))
