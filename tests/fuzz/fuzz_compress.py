"""Fuzz fastconc's compressors against the reference decoders: whatever
fastconc writes, on any path, the reference must read back exactly.

Paths (random codec, level, threads 1-3, data, pieces, flush points):
  compress(data, codec, level, threads=, release_gil=);
  compress_many(pieces, ...)          every item reads back as its piece;
  Compressor(codec, level[, threads for zstd]) fed the pieces, with
      flush('block') at chosen points: after each, the reference must read
      everything written so far back to the data so far (a flushed block
      is complete), without the end of the stream;
  open(BytesIO(), 'wb', codec, level, threads) written in pieces with
      flush() at chosen points: the same rule (with threads > 1, every
      flush ends members/frames that readers decode in full).
References: zlib.decompressobj (zlib, deflate, gzip, plus gzip.decompress
for gzip, whose header parser is its own), zstandard and lz4.frame (see
_reference.py).  The payload sometimes grows past the size where the
parallel layouts start (2 MiB) so that threads > 1 splits it.
"""
from __future__ import annotations

import gzip
import io
from typing import Any

import _reference as ref_lib
from _common import Input, chunks, import_fastconc, main, require, split_points

fastconc: Any = import_fastconc()

GROW = (300_000, 2_300_000, 4_500_000)


def missing() -> list[str]:
    return [n for n in ("compress", "compress_many", "Compressor", "open")
            if not hasattr(fastconc, n)]


def check_blob(codec: str, blob: bytes, plain: bytes) -> None:
    if not ref_lib.available(codec):
        assert fastconc.decompress(blob, codec) == plain
        return
    got = ref_lib.read_streams(codec, blob)
    assert got == plain, (codec, len(got), len(plain))
    if codec == "gzip":
        assert gzip.decompress(blob) == plain


def check_prefix(codec: str, blob: bytes, plain: bytes) -> None:
    """blob is what was written up to a flush of plain."""
    if ref_lib.available(codec):
        got = ref_lib.read_streams(codec, blob, complete=False)
        assert got == plain, ("after flush", codec, len(got), len(plain))


def test_one_input(data: bytes) -> None:
    inp = Input(data)
    codec = str(inp.pick(ref_lib.CODECS))
    levels = ref_lib.LEVELS[codec]
    level = inp.pick((None, *levels))
    path = inp.below(4)
    threads = inp.pick((None, 1, 2, 3))
    release = inp.pick((None, True, False))
    flushes = inp.uint(2)
    grow = inp.below(64)
    cut_bytes = Input(inp.take(16))
    payload = inp.rest()
    if payload and grow < 3:
        size = GROW[grow]
        payload = (payload * (1 + size // len(payload)))[:size]
    if level is not None and level > 9 and len(payload) > 20_000:
        level = 3                        # the slow levels on big inputs
    if (codec == "zstd" and path >= 2 and level is not None and level > 5
            and grow % 16):
        # A zstd stream of unknown size sets up the level's whole window:
        # ~0.2-10 s from level 9 on; only now and then.
        level = 5
    pieces = chunks(payload, split_points(cut_bytes, len(payload), 10))

    if path == 0:
        blob = fastconc.compress(payload, codec, level, threads=threads,
                                 release_gil=release)
        check_blob(codec, blob, payload)
    elif path == 1:
        blobs = fastconc.compress_many(pieces, codec, level, threads=threads,
                                       release_gil=release)
        assert len(blobs) == len(pieces)
        for b, p in zip(blobs, pieces):
            check_blob(codec, b, p)
    elif path == 2:
        c = fastconc.Compressor(codec, level,
                                threads if codec == "zstd" else None)
        written = bytearray()
        done = 0
        for i, piece in enumerate(pieces):
            written += c.compress(piece, release_gil=release)
            done += len(piece)
            if flushes >> (i % 16) & 1:
                written += c.flush("block")
                check_prefix(codec, bytes(written), payload[:done])
        written += c.flush()
        check_blob(codec, bytes(written), payload)
        try:
            c.compress(b"x")
        except ValueError:
            pass
        else:
            raise AssertionError("compress() after the end accepted")
    else:
        t = threads if codec in ("gzip", "zstd", "lz4") else None
        buf = io.BytesIO()
        f = fastconc.open(buf, "wb", codec, level, t)
        done = 0
        for i, piece in enumerate(pieces):
            assert f.write(memoryview(piece) if i & 1 else piece) == len(piece)
            done += len(piece)
            assert f.tell() == done
            if flushes >> (i % 16) & 1:
                f.flush()
                check_prefix(codec, buf.getvalue(), payload[:done])
        f.close()
        check_blob(codec, buf.getvalue(), payload)


def seeds() -> list[bytes]:
    out = []
    text = b"the quick brown fox jumps over the lazy dog\n" * 40
    for c in range(len(ref_lib.CODECS)):
        for path in range(4):
            out.append(bytes([c, 4, path, 2, 0, 0xFF, 0x55, 9]) +
                       bytes(range(0, 160, 10)) + text)
            out.append(bytes([c, 0, path, 0, 1, 0, 0, 63]) + bytes(16) +
                       bytes(range(256)))
    return out


if __name__ == "__main__":
    require(fastconc, *missing())
    main(test_one_input, seeds)
