"""codec= names with an embedded NUL are refused (ValueError, as hashlib
refuses such names) on every entry point that takes one; they used to
pass for the name before the NUL."""
import io

import pytest

import fastconc

BAD = ["zstd\x00junk", "gzip\x00", "\x00zstd", "lz4\x00\x00"]


def _calls(name):
    good = fastconc.compress(b"abc", "zstd")
    return {
        "compress": lambda: fastconc.compress(b"a", name),
        "compress kw": lambda: fastconc.compress(b"a", codec=name),
        "decompress": lambda: fastconc.decompress(good, name),
        "compress_many": lambda: fastconc.compress_many([b"a"], name),
        "decompress_many": lambda: fastconc.decompress_many([good], name),
        "Compressor": lambda: fastconc.Compressor(name),
        "Decompressor": lambda: fastconc.Decompressor(name),
        "open w": lambda: fastconc.open(io.BytesIO(), "wb", codec=name),
        "open r": lambda: fastconc.open(io.BytesIO(good), "rb", codec=name),
        "_decompression_error":
            lambda: fastconc._core._decompression_error(name, True),
    }


@pytest.mark.parametrize("name", BAD)
def test_embedded_nul_refused(name):
    for what, call in _calls(name).items():
        with pytest.raises(ValueError) as info:
            call()
        assert not isinstance(info.value, fastconc.DecompressionError), what


def test_message_says_why():
    with pytest.raises(ValueError, match="null character"):
        fastconc.compress(b"a", "zstd\x00junk")
