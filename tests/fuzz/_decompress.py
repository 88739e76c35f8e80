"""The decompressor harness, shared by fuzz_zlib/deflate/gzip/zstd/lz4.py.

Each input picks a mode:
  0  the payload is fed as compressed data (garbage, or a mutated seed);
  1  the payload is compressed by the reference library, then decoded;
  2  as 1, then one byte is changed or the stream is truncated;
  3  the payload is compressed by fastconc.compress (random level/threads)
     and decoded by the reference and by fastconc.
Every blob is decoded one-shot (random threads and max_output_size) and
streaming (random chunking, random max_length, draining with b"").

Rules: bad input raises fastconc.DecompressionError (OutputSizeError when
the bound is hit; EOFError for data fed after the end); nothing else.
When the reference library decodes a blob to its end with no data left
over, fastconc must give the same bytes, and a blob the reference rejects
must not decode.
"""
from __future__ import annotations

import gzip as _gzip
import zlib
from typing import Any, Optional

from _common import Input, chunks, import_fastconc, split_points

fastconc: Any = import_fastconc()

try:
    import zstandard
except ImportError:
    zstandard = None
try:
    import lz4.frame as lz4frame
except ImportError:
    lz4frame = None

WBITS = {"zlib": 15, "deflate": -15, "gzip": 31}
MAX_LENGTHS = (-1, 1, 7, 100, 4096, 65536)
# Outputs are bounded so one input cannot take the fuzzer's memory.
OUT_CAP = 8 << 20


def reference_available(codec: str) -> bool:
    if codec == "zstd":
        return zstandard is not None
    if codec == "lz4":
        return lz4frame is not None
    return True


def ref_compress(codec: str, data: bytes, level: int) -> bytes:
    if codec in WBITS:
        c = zlib.compressobj(level % 10, zlib.DEFLATED, WBITS[codec])
        return c.compress(data) + c.flush()
    if codec == "zstd":
        return bytes(zstandard.ZstdCompressor(level=1 + level % 19,
                                              write_checksum=bool(level & 1),
                                              write_content_size=bool(level & 2)
                                              ).compress(data))
    return bytes(lz4frame.compress(data, compression_level=level % 13,
                                   content_checksum=bool(level & 1),
                                   block_checksum=bool(level & 2),
                                   block_size=lz4frame.BLOCKSIZE_MAX64KB))


def ref_decompress(codec: str, blob: bytes) -> Optional[bytes]:
    """The reference's output when it decodes the whole blob as exactly one
    stream; None when it rejects it or data is left over (no comparison)."""
    try:
        if codec in WBITS:
            d = zlib.decompressobj(WBITS[codec])
            out = d.decompress(blob, OUT_CAP)
            if not d.eof or d.unused_data or d.unconsumed_tail:
                return None
            return out
        if codec == "zstd":
            zd = zstandard.ZstdDecompressor().decompressobj()
            out = zd.decompress(blob)
            if not zd.eof or zd.unused_data:
                return None
            return bytes(out)
        ld = lz4frame.LZ4FrameDecompressor()
        out = ld.decompress(blob, max_length=OUT_CAP)
        if not ld.eof or ld.unused_data:
            return None
        return bytes(out)
    except Exception:
        return None


def ref_rejects(codec: str, blob: bytes) -> bool:
    """True when the reference raises on the blob (corrupt, not merely
    truncated or followed by other data)."""
    try:
        if codec in WBITS:
            zlib.decompressobj(WBITS[codec]).decompress(blob, OUT_CAP)
        elif codec == "zstd":
            zstandard.ZstdDecompressor().decompressobj().decompress(blob)
        else:
            lz4frame.LZ4FrameDecompressor().decompress(blob, max_length=OUT_CAP)
    except Exception:
        return True
    return False


def one_shot(codec: Optional[str], blob: bytes, inp: Input,
             expect: Optional[bytes]) -> Optional[bytes]:
    threads = inp.pick((None, 1, 2, 4))
    bound = inp.pick((None, None, 0, 1, 100, 65536, OUT_CAP))
    if bound is None:
        bound = OUT_CAP   # never unbounded here
    try:
        out = fastconc.decompress(blob, codec, threads=threads,
                                  max_output_size=bound)
    except fastconc.OutputSizeError:
        assert expect is None or len(expect) > bound, (len(expect), bound)
        return None
    except fastconc.DecompressionError:
        assert expect is None, "valid stream rejected"
        return None
    except ValueError:
        # "cannot detect the codec" is a ValueError; anything fed to a
        # decoder must raise DecompressionError.
        assert codec is None and expect is None, "ValueError, not DecompressionError"
        return None
    assert isinstance(out, bytes)
    assert len(out) <= bound, (len(out), bound)
    if expect is not None:
        assert out == expect, (len(out), len(expect))
    return out


def streaming(codec: Optional[str], blob: bytes, inp: Input,
              expect: Optional[bytes], multi: bool = False) -> None:
    """Feed blob in random pieces with random max_length.  multi: the blob
    may be several members/frames: start a new Decompressor on what follows
    the end of each (as fastconc.open does)."""
    cuts = split_points(inp, len(blob), 12)
    lengths = [MAX_LENGTHS[inp.below(len(MAX_LENGTHS))] for _ in range(4)]
    pieces = chunks(blob, cuts)
    out = bytearray()
    d = fastconc.Decompressor(codec)
    k = 0
    try:
        while pieces:
            piece = pieces.pop(0)
            ml = lengths[k % 4]
            k += 1
            got = d.decompress(piece, max_length=ml)
            assert ml < 0 or len(got) <= ml, (len(got), ml)
            out += got
            # Drain what max_length held back.
            stall = 0
            while not d.eof and not d.needs_input and len(out) <= OUT_CAP:
                got = d.decompress(b"", max_length=ml)
                assert ml < 0 or len(got) <= ml
                out += got
                stall = 0 if got else stall + 1
                assert stall < 3, "no progress while needs_input is False"
            if len(out) > OUT_CAP:
                return
            if d.eof:
                try:
                    d.decompress(b"x")
                except (EOFError, ValueError):
                    # bz2/lzma raise EOFError; a ValueError is accepted too
                    # (fastconc's stream module chose it).
                    pass
                else:
                    raise AssertionError("data after the end accepted")
                rest = d.unused_data + b"".join(pieces)
                if not (multi and rest):
                    break
                d = fastconc.Decompressor(codec)
                pieces = [rest]
    except fastconc.DecompressionError:
        assert expect is None, "valid stream rejected (streaming)"
        return
    if expect is not None:
        assert d.eof, "valid stream not finished"
        assert bytes(out) == expect, (len(out), len(expect))
        assert d.unused_data == b""


def check(codec: str, blob: bytes, inp: Input,
          plain: Optional[bytes] = None, multi: bool = False) -> None:
    """plain: the blob is a valid encoding of these bytes."""
    expect = plain
    if plain is None and reference_available(codec):
        expect = ref_decompress(codec, blob)
    got = None
    if hasattr(fastconc, "decompress"):
        got = one_shot(codec, blob, inp, expect)
    if (got is not None and expect is None and reference_available(codec)
            and codec != "zstd"):
        # fastconc decoded something: the reference must not call it corrupt.
        # (Not for zstd: without a checksum, what counts as corrupt depends
        # on the libzstd version; the zstd 1.5.4 tool and the newer libzstd
        # bundled in zstandard disagree on some mutated frames.)
        assert not ref_rejects(codec, blob), "corrupt stream accepted"
    if hasattr(fastconc, "Decompressor"):
        streaming(codec, blob, inp, expect, multi)


def check_detect(blob: bytes, inp: Input, plain: Optional[bytes]) -> None:
    """codec=None: plain is the plaintext of a valid stream, else None (the
    blob may be anything: only the exception type is checked)."""
    if hasattr(fastconc, "decompress"):
        one_shot(None, blob, inp, plain)
    if hasattr(fastconc, "Decompressor"):
        streaming(None, blob, inp, plain)


def ref_decode_all(codec: str, blob: bytes) -> bytes:
    """Decode every member/frame with the reference (stdlib, zstandard,
    lz4): what any standard reader makes of fastconc's output."""
    if codec == "gzip":
        return _gzip.decompress(blob)
    if codec in WBITS:
        d = zlib.decompressobj(WBITS[codec])
        out = d.decompress(blob)
        assert d.eof and not d.unused_data, "not one complete stream"
        return out
    out = b""
    while blob:
        if codec == "zstd":
            zd = zstandard.ZstdDecompressor().decompressobj()
            out += zd.decompress(blob)
            assert zd.eof, "truncated zstd frame"
            blob = zd.unused_data
        else:
            ld = lz4frame.LZ4FrameDecompressor()
            out += ld.decompress(blob)
            assert ld.eof, "truncated lz4 frame"
            blob = ld.unused_data
    return out


def test_one_input(codec: str, data: bytes) -> None:
    inp = Input(data)
    mode = inp.below(4)
    level = inp.uint(1)
    edit_at, edit_kind = inp.uint(3), inp.below(3)
    header = inp.take(24)
    payload = inp.rest()
    if mode == 0 or not reference_available(codec):
        check(codec, payload, Input(header))
        return
    if mode == 3 and hasattr(fastconc, "compress"):
        threads = (None, 1, 2, 4)[level % 4]
        lev = None if level & 4 else (1, 3, 6, 9)[(level >> 4) % 4]
        if len(payload) < 50_000 and level & 8:
            payload = payload * (1 + 300_000 // (len(payload) + 1))
        blob = fastconc.compress(payload, codec, lev, threads=threads)
        assert ref_decode_all(codec, blob) == payload, "reference decodes wrongly"
        check(codec, blob, Input(header), plain=payload, multi=True)
        return
    blob = ref_compress(codec, payload, level)
    if mode == 2 and blob:
        pos = edit_at % len(blob)
        if edit_kind == 0:
            blob = blob[:pos]
        else:
            blob = blob[:pos] + bytes([blob[pos] ^ (1 + level % 255)]) + blob[pos + 1:]
        check(codec, blob, Input(header))
        return
    check(codec, blob, Input(header), plain=payload)


def seeds(codec: str) -> list[bytes]:
    texts = [b"", b"a", bytes(range(256)) * 64,
             b"the quick brown fox jumps over the lazy dog\n" * 500]
    out = []
    for mode in range(4):
        for i, t in enumerate(texts):
            head = bytes([mode, 6 + i, i, 0, 0, i % 3]) + bytes(24)
            out.append(head + t)
    if reference_available(codec):
        # raw mode with a real stream as the payload: mutations start valid
        for t in texts[1:]:
            out.append(bytes(30) + ref_compress(codec, t, 6))
    return out


def missing(codec: str) -> list[str]:
    """What this build lacks for the harness: it needs the one-shot or the
    streaming decompressor (and fuzzes whichever is there)."""
    if hasattr(fastconc, "decompress") or hasattr(fastconc, "Decompressor"):
        return []
    return ["decompress/Decompressor"]
