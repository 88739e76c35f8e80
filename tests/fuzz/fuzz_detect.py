"""Fuzz codec detection (codec=None): random bytes behind each known magic
number, and real streams of every codec (whole, truncated or with one byte
changed), through decompress(data) and Decompressor(), one-shot and
streaming.  A real stream must decode to its plaintext; anything else must
raise DecompressionError (never another exception, a crash or a hang)."""
from __future__ import annotations

import _decompress
import _reference as ref_lib
from _common import Input, main, require

fastconc = _decompress.fastconc
CODECS = ("zlib", "gzip", "zstd", "lz4")
MAGIC = (b"\x1f\x8b\x08", b"\x28\xb5\x2f\xfd", b"\x04\x22\x4d\x18",
         b"\x78\x9c", b"\x78\x01", b"\x78\xda", b"\x50\x2a\x4d\x18", b"")


def missing() -> list[str]:
    return _decompress.missing("zlib")


def test_one_input(data: bytes) -> None:
    inp = Input(data)
    mode = inp.below(3)
    codec = str(inp.pick(CODECS))
    opts = Input(inp.take(8))
    edit_at = inp.uint(2)
    header = Input(inp.take(24))
    magic = MAGIC[inp.below(len(MAGIC))]
    payload = inp.rest()
    if mode == 0 or not ref_lib.available(codec):
        _decompress.check_detect(magic + payload, header, None)
        return
    blob = ref_lib.ref_compress(codec, payload, opts)
    if mode == 2 and blob:
        blob = blob[:edit_at % len(blob)]
        _decompress.check_detect(blob, header, None)
        return
    _decompress.check_detect(blob, header, payload)


def seeds() -> list[bytes]:
    out = []
    for mode in range(3):
        for c in range(len(CODECS)):
            out.append(bytes([mode, c, 6]) + bytes(7 + 2 + 24 + 1) +
                       b"hello " * 50)
    return out


if __name__ == "__main__":
    require(fastconc, *missing())
    main(test_one_input, seeds)
