"""The differential decompressor harness, shared by
fuzz_zlib/deflate/gzip/zstd/lz4.py.

An input makes one blob, then decodes it on every fastconc path and
compares each answer with the reference library's (see _reference.py for
the references and for which answers the formats define).

Input: mode (1 byte), opts (24: how to compress), edits (12: how to
damage the blob), knobs (19: how to decode), then the payload.  Modes:
  0  raw: the payload is the blob (garbage, or a corpus entry);
  1  the payload compressed by the reference (random level, window,
     strategy, flushes; for gzip, hand-made headers with every optional
     field, fastconc's 'FC' and BGZF's 'BC' subfields, CRC/ISIZE right or
     forged; zstd checksums, content sizes, windows, flushed blocks; lz4
     block sizes, linked blocks, checksums, stored sizes);
  2  as 1, then 1-3 edits (byte flips, byte sets, truncation, cut range,
     inserted bytes, appended garbage or zeros, a second copy);
  3  the payload compressed by fastconc (one-shot with threads 1-3,
     compress_many, a Compressor fed in pieces with flush('block'), or
     open() for writing), the payload sometimes grown past the size where
     the parallel layouts start;
  4  as 3, then edits (this is what reaches the parallel layouts' size
     records: gzip 'FC' subfields, zstd frame sizes, lz4 block lengths);
  5  2-3 streams back to back (reference or fastconc, each on part of the
     payload; zstd/lz4 skippable frames, gzip zero padding), edits on a
     flag.

Paths, each against the reference's reading:
  decompress(blob, codec, threads=None|1|2|3, max_output_size=bound) and
  decompress_many([blob], ...)                      vs ref_whole;
  Decompressor(codec[, max_output_size]) fed in random pieces with random
  max_length, drained with b""                       vs ref_stream;
  open(BytesIO(blob), codec=codec) read with random read/read1/readline/
  readinto/peek calls                                vs ref_whole
  (the empty input reads as b"", as gzip.open does).

Failures: fastconc accepts what the reference rejects (or the reverse),
outputs differ, an output passes its bound, the bound is not enforced
(OutputSizeError iff the real output is larger), an exception other than
DecompressionError (EOFError for data after the end of a stream), a
crash or a hang.  Where fastconc wrote the blob (modes 3 and 5 unedited)
the plaintext is known: the reference must give it back too.
"""
from __future__ import annotations

import io
from typing import Any, Optional

import _reference as ref_lib
from _common import Input, chunks, import_fastconc, split_points
from _reference import BIG, ERROR, OK, OUT_CAP, SHORT, UNDEF, Ref

fastconc: Any = import_fastconc()

# Defects already filed, tolerated here so that fuzzing goes past them;
# set to False once fixed (the regression tests then guard them).
# #24 item 4: one-shot decompress (libdeflate's gzip path) does not check
# the header CRC (FHCRC) that zlib, Decompressor and open() check.
KNOWN_ONESHOT_FHCRC = True
# One-shot gzip decompress rejects zero padding after the last member,
# which gzip(1), gzip.decompress, fastconc.open and the CLI accept
# (tests/test_codec_safety.py::test_gzip_zero_padding_one_shot, xfail).
KNOWN_ONESHOT_GZIP_PADDING = True
# Decompressor("zlib"/"deflate") loses up to 8 bytes of unused_data (the
# bytes isa-l read ahead into its bit buffer) when the end of the stream
# is reached in a call given fewer bytes than that, as when max_length
# held output back and b"" drains it (test_codec_stream.py::
# test_unused_data_after_max_length_drain, xfail).
KNOWN_STREAM_UNUSED_LOST = True
# zstd: Decompressor, open() and decompress_many accept a frame whose
# Frame_Content_Size differs from its content unless the whole frame
# reaches libzstd in one call with room for the declared size (its
# streaming decoder checks only then; one-shot decompress rejects it):
# test_codec_safety.py::test_zstd_content_size_mismatch_everywhere, xfail.
KNOWN_ZSTD_CONTENT_SIZE = True
# isa-l's inflate (Decompressor, open(), one-shot and batch decoding of
# streams) accepts a dynamic block whose Huffman code is incomplete, which
# zlib and libdeflate reject ("invalid literal/lengths set"): test_codec_
# safety.py::test_incomplete_huffman_code_rejected, xfail.
KNOWN_INCOMPLETE_CODE = True
# #23 item 2: DecompressionError is not yet also an EOFError for
# truncation (nor a zlib.error for corrupt deflate data): checked when True.
CHECK_EXCEPTION_KINDS = False

MAX_LENGTHS = (-1, 0, 1, 7, 100, 4096, 65536)
HEAD = 56
# Sizes the payload grows to: past 256 KiB (multi-block lz4 frames, several
# zlib flush blocks) or, rarely, past the parallel layouts' thresholds.
GROW_SMALL = 300_000
GROW_PARALLEL = {"zlib": 2_600_000, "deflate": 2_600_000,
                 "gzip": 2_600_000, "zstd": 5_000_000, "lz4": 5_000_000}


def fail(codec: str, blob: bytes, path: str, ref: Ref, got: str,
         fastconc_ok: bool) -> None:
    if ref_lib.tie_break(codec, blob, fastconc_ok):
        return
    raise AssertionError(f"{codec} {path}: reference {ref.status} "
                       f"({len(ref.out)} bytes out{', ' + ref.msg if ref.msg else ''}"
                       f"), fastconc {got} (blob {len(blob)} bytes: "
                       f"{blob[:64].hex()}{'...' if len(blob) > 64 else ''})")


def prefix_consistent(a: bytes, b: bytes) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def tolerated(codec: str, ref: Ref, oneshot: bool) -> bool:
    """A difference that is a known, filed defect (see KNOWN_*): fastconc
    accepted (or, for the gzip padding, rejected) what ref says."""
    if (KNOWN_INCOMPLETE_CODE and codec in ("zlib", "deflate", "gzip")
            and ref.status == ERROR
            and any(m in ref.msg for m in ("invalid literal/lengths set",
                                           "invalid distances set",
                                           "invalid code lengths set"))):
        return True
    if (KNOWN_ZSTD_CONTENT_SIZE and codec == "zstd" and ref.status == ERROR
            and ref.msg.startswith("frame content size mismatch")):
        return True
    if (KNOWN_STREAM_UNUSED_LOST and codec in ("zlib", "deflate")
            and not oneshot and ref.status == ERROR
            and ref.msg.startswith("trailing data") and len(ref.unused) <= 8):
        return True
    if codec != "gzip" or not oneshot:
        return False
    if KNOWN_ONESHOT_FHCRC and ref.status == ERROR and "header crc" in ref.msg:
        return True
    return KNOWN_ONESHOT_GZIP_PADDING and ref.status == OK and ref.padded


# --- the fastconc paths --------------------------------------------------------

def check_oneshot(codec: Optional[str], blob: bytes, ref: Ref,
                  knobs: Input) -> None:
    threads = knobs.pick((None, 1, 2, 3))
    bound = knobs.pick((None, None, 0, 1, 100, 65536, OUT_CAP))
    bound = OUT_CAP if bound is None else bound
    many = knobs.flag()
    path = (f"{'decompress_many' if many else 'decompress'}"
            f"(threads={threads}, max_output_size={bound})")
    ref_codec = codec or "?"
    try:
        if many:
            [out] = fastconc.decompress_many([blob], codec, threads=threads,
                                             max_output_size=bound)
        else:
            out = fastconc.decompress(blob, codec, threads=threads,
                                      max_output_size=bound)
    except fastconc.OutputSizeError:
        if ref.status == OK and len(ref.out) <= bound:
            if not tolerated(ref_codec, ref, True):
                fail(ref_codec, blob, path, ref, "OutputSizeError", False)
        return
    except fastconc.DecompressionError as exc:
        if ref.status == OK and not tolerated(ref_codec, ref, True):
            fail(ref_codec, blob, path, ref, f"DecompressionError({exc})", False)
        if CHECK_EXCEPTION_KINDS and ref.status == SHORT:
            assert isinstance(exc, EOFError), f"truncation not an EOFError: {exc}"
        return
    assert isinstance(out, bytes), type(out)
    assert len(out) <= bound, (path, len(out), bound)
    if ref.status == OK:
        if len(ref.out) > bound:
            fail(ref_codec, blob, path, ref, f"{len(out)} bytes, no OutputSizeError", True)
        elif out != ref.out:
            fail(ref_codec, blob, path, ref, f"other output ({len(out)} bytes)", True)
    elif ref.status in (ERROR, SHORT, BIG):
        if not tolerated(ref_codec, ref, True):
            fail(ref_codec, blob, path, ref, f"accepted ({len(out)} bytes)", True)


def check_stream(codec: Optional[str], blob: bytes, ref: Ref,
                 knobs: Input, valid_prefix: bool = False) -> None:
    """Decompressor fed in random pieces; ref is ref_stream's verdict.
    valid_prefix: blob is a valid stream or its beginning."""
    cuts = split_points(knobs, len(blob), 12)
    lengths = [MAX_LENGTHS[knobs.below(len(MAX_LENGTHS))] for _ in range(4)]
    bound = knobs.pick((None, None, None, 0, 100, 65536))
    path = f"Decompressor(max_output_size={bound}) pieces={len(cuts) - 1} max_length={lengths}"
    ref_codec = codec or "?"
    d = (fastconc.Decompressor(codec) if bound is None
         else fastconc.Decompressor(codec, max_output_size=bound))
    pieces = chunks(blob, cuts)
    out = bytearray()
    rest = None
    error: Optional[BaseException] = None
    k = 0
    try:
        calls = 0
        while pieces and len(out) <= OUT_CAP:
            piece = pieces.pop(0)
            ml = lengths[k % 4]
            k += 1
            if ml < 0 and len(piece) > 256:
                # no max_length only on small pieces: a 20 KB bomb may
                # expand to a GB in one call
                ml = OUT_CAP + 1 - len(out)
            got = d.decompress(piece, ml)
            assert ml < 0 or len(got) <= ml, (len(got), ml)
            out += got
            stall = 0
            ml = ml or 1          # max_length=0 gives nothing, by design
            while not d.eof and not d.needs_input and len(out) <= OUT_CAP:
                calls += 1
                if calls > 2000 and 0 <= ml < 65536:
                    ml = 65536        # small max_length tried enough
                elif ml < 0:
                    ml = OUT_CAP + 1 - len(out)
                got = d.decompress(b"", ml)
                assert ml < 0 or len(got) <= ml, (len(got), ml)
                out += got
                stall = 0 if got else stall + 1
                assert stall < 3, "no progress while needs_input is False"
            if d.eof:
                rest = d.unused_data + b"".join(pieces)
                try:
                    d.decompress(b"x")
                except EOFError:
                    pass
                else:
                    raise AssertionError("data after the end of the stream accepted")
                break
    except fastconc.DecompressionError as exc:
        error = exc
    if bound is not None and error is None:
        assert len(out) <= bound, (path, len(out), bound)
    if ref.status == UNDEF:
        return
    if not prefix_consistent(bytes(out), ref.out):
        if not (ref.status == ERROR and error is not None):
            fail(ref_codec, blob, path, ref, "other output", error is None)
        return
    if len(out) > OUT_CAP or ref.status == BIG:
        return
    if ref.status == OK:
        if isinstance(error, fastconc.OutputSizeError):
            if bound is None or len(ref.out) <= bound:
                fail(ref_codec, blob, path, ref, "OutputSizeError", False)
            return
        if error is not None:
            fail(ref_codec, blob, path, ref, f"DecompressionError({error})", False)
            return
        if bound is not None and len(ref.out) > bound:
            fail(ref_codec, blob, path, ref, "no OutputSizeError", True)
            return
        if rest is None:
            fail(ref_codec, blob, path, ref, "not at eof", True)
            return
        if (KNOWN_STREAM_UNUSED_LOST and codec in ("zlib", "deflate")
                and bytes(out) == ref.out and len(rest) < len(ref.unused)
                and len(ref.unused) - len(rest) <= 8
                and ref.unused.endswith(rest)):
            return
        if bytes(out) != ref.out or rest != ref.unused:
            fail(ref_codec, blob, path, ref,
                 f"{len(out)} bytes out, {len(rest)} unused "
                 f"(reference {len(ref.unused)} unused)", True)
    elif ref.status == ERROR:
        # A streaming decoder may see an error later than the reference
        # (it may wait for a whole header, or for the next block): it must
        # not finish the stream, nor give output past the reference's.
        if error is None and rest is not None and not tolerated(ref_codec, ref, False):
            fail(ref_codec, blob, path, ref, "eof", True)
    elif ref.status == SHORT:
        # zlib is lazy: it may take bytes that no continuation can make
        # valid (an empty code-length code decodes as zeros until the
        # missing end-of-block code is noticed) where isa-l stops at once.
        # So an early error is wrong only on a known prefix of a valid
        # stream.
        if (error is not None and valid_prefix
                and not isinstance(error, fastconc.OutputSizeError)):
            fail(ref_codec, blob, path, ref, f"DecompressionError({error})", False)
        elif rest is not None:
            fail(ref_codec, blob, path, ref, "eof", True)


def check_open(codec: str, blob: bytes, ref: Ref, knobs: Input) -> None:
    """open(BytesIO(blob), codec=codec) read by random calls."""
    if not blob:
        ref = Ref(OK)         # as gzip.open: an empty file reads as b""
    sizes = [knobs.pick((-1, 0, 1, 5, 100, 8192, 70000)) for _ in range(4)]
    ops = [knobs.below(5) for _ in range(4)]
    path = f"open() ops={list(zip(ops, sizes))}"
    out = bytearray()
    error: Optional[BaseException] = None
    try:
        with fastconc.open(io.BytesIO(blob), "rb", codec) as f:
            for k in range(64):
                op, n = ops[k % 4], sizes[k % 4]
                if n < 0 and op != 2:
                    n = 1 << 20   # bounded: never the whole of a bomb
                if op == 0:
                    got = f.read(n)
                elif op == 1:
                    got = f.read1(n)
                elif op == 2:
                    got = f.readline(n if n >= 0 else 1 << 16)
                elif op == 3:
                    buf = bytearray(n)
                    got = bytes(buf[:f.readinto(buf)])
                else:
                    peeked = f.peek(n)
                    got = f.read(min(len(peeked), max(n, 1)))
                    assert peeked.startswith(got), "peek() and read() differ"
                out += got
                if (not got and n > 0) or len(out) > OUT_CAP:
                    break
            while len(out) <= OUT_CAP:
                got = f.read(1 << 20)
                if not got:
                    break
                out += got
    except fastconc.DecompressionError as exc:
        error = exc
    if ref.status == UNDEF:
        return
    if not prefix_consistent(bytes(out), ref.out):
        if not (ref.status == ERROR and error is not None):
            fail(codec, blob, path, ref, "other output", error is None)
        return
    if len(out) > OUT_CAP or ref.status == BIG:
        return
    if ref.status == OK:
        if error is not None:
            fail(codec, blob, path, ref, f"DecompressionError({error})", False)
        elif bytes(out) != ref.out:
            fail(codec, blob, path, ref, f"{len(out)} bytes", True)
    elif error is None and not tolerated(codec, ref, False):
        fail(codec, blob, path, ref, f"accepted ({len(out)} bytes)", True)


def check(codec: str, blob: bytes, knobs: Input,
          plain: Optional[bytes] = None, valid_prefix: bool = False) -> None:
    """Every path on blob.  plain: blob is fastconc's encoding of these
    bytes (the reference must read them back too).  valid_prefix: blob is
    a valid stream or its beginning."""
    if not ref_lib.available(codec):
        # Without the reference only the rules that need none are checked.
        whole = Ref(OK, plain) if plain is not None else Ref(UNDEF)
        stream = whole if plain is not None and codec in ("zlib", "deflate") else Ref(UNDEF)
    else:
        whole = ref_lib.ref_whole(codec, blob)
        stream = ref_lib.ref_stream(codec, blob)
        if plain is not None and len(plain) <= OUT_CAP:
            assert whole.status == OK and whole.out == plain, \
                f"the reference does not read fastconc's {codec} back: {whole.status} {whole.msg}"
    check_oneshot(codec, blob, whole, knobs)
    check_stream(codec, blob, stream, knobs, valid_prefix or plain is not None)
    check_open(codec, blob, whole, knobs)


def check_detect(blob: bytes, knobs: Input, plain: Optional[bytes]) -> None:
    """codec=None: plain is the plaintext of a valid stream, else None (the
    blob may be anything: only the answer's kind is checked)."""
    whole = Ref(OK, plain) if plain is not None else Ref(UNDEF)
    check_oneshot(None, blob, whole, knobs)
    check_stream(None, blob, whole, knobs)


# --- making blobs ---------------------------------------------------------------

def grow(codec: str, payload: bytes, opts: Input) -> bytes:
    how = opts.below(64)
    if not payload or how >= 6:
        return payload
    size = GROW_PARALLEL[codec] if how == 0 else GROW_SMALL
    return (payload * (1 + size // len(payload)))[:size]


def ours_compress(codec: str, payload: bytes, opts: Input) -> bytes:
    """payload compressed by one of fastconc's writers."""
    level = ref_lib.LEVELS[codec][opts.below(len(ref_lib.LEVELS[codec]))]
    if level > 9 and len(payload) > 20_000:
        level = 3                          # the slow levels on big input
    how = opts.below(4)
    threads = opts.pick((None, 1, 2, 3))
    if codec == "zstd" and how >= 2 and level > 5 and opts.below(16):
        # A zstd stream of unknown size sets up the level's whole window:
        # ~0.2-10 s from level 9 on; only now and then.
        level = 5
    if how == 0:
        return bytes(fastconc.compress(payload, codec, level, threads=threads))
    if how == 1:
        [out] = fastconc.compress_many([payload], codec, level, threads=threads)
        return bytes(out)
    cuts = split_points(opts, len(payload), 6)
    flushes = opts.uint(1)
    if how == 2:
        c = fastconc.Compressor(codec, level,
                                threads if codec == "zstd" else None)
        parts = []
        for i, piece in enumerate(chunks(payload, cuts)):
            parts.append(c.compress(piece))
            if flushes >> (i % 8) & 1:
                parts.append(c.flush("block"))
        parts.append(c.flush())
        return b"".join(parts)
    buf = io.BytesIO()
    t = threads if codec in ("gzip", "zstd", "lz4") else None
    with fastconc.open(buf, "wb", codec, level, t) as f:
        for i, piece in enumerate(chunks(payload, cuts)):
            f.write(piece)
            if flushes >> (i % 8) & 1:
                f.flush()
    return buf.getvalue()


def apply_edits(blob: bytes, edits: Input) -> tuple[bytes, bool]:
    """blob with 1-3 edits; and whether they only cut its end (then what
    is left is a prefix of a valid stream)."""
    out = bytearray(blob)
    truncated_only = True
    for _ in range(1 + edits.below(3)):
        kind = edits.below(9)
        raw = edits.uint(2)
        arg = edits.uint(1)
        if not out and kind < 5:
            truncated_only = truncated_only and kind == 2
            continue
        # half the edits land in the first 48 bytes: the headers
        pos = raw % min(len(out), 48) if raw & 1 and out else (
            raw * len(out) // 65536 if out else 0)
        if kind == 0:
            out[pos] ^= arg or 1
        elif kind == 1:
            out[pos] = arg
        elif kind == 2:
            del out[pos:]
        elif kind == 3:
            del out[pos:pos + 1 + arg % 16]
        elif kind == 4:
            out[pos:pos] = bytes([arg]) * (1 + arg % 7)
        elif kind == 5:
            out += bytes([arg, arg ^ 0x5A]) * (1 + arg % 5)
        elif kind == 6:
            out += bytes(1 + arg % 64)
        elif kind == 7:
            out += blob
        else:
            out[pos:pos + 4] = ((raw * 65537 + arg) & 0xFFFFFFFF).to_bytes(4, "little")
        truncated_only = truncated_only and kind == 2
    return bytes(out), truncated_only


def concat(codec: str, payload: bytes, opts: Input) -> tuple[bytes, bytes]:
    """2-3 streams one after another; returns (blob, plaintext)."""
    n = 2 + opts.below(2)
    cuts = sorted(opts.below(len(payload) + 1) for _ in range(n - 1))
    parts = chunks(payload, [0, *cuts, len(payload)])
    blob = b""
    for part in parts:
        if opts.flag() and ref_lib.available(codec):
            blob += ref_lib.ref_compress(codec, part, opts, honest=True)
        else:
            blob += ours_compress(codec, part, opts)
        if codec in ("zstd", "lz4") and opts.below(4) == 0:
            blob += ref_lib.skippable(opts.take(opts.below(6)))
    if codec == "gzip" and opts.flag():
        blob += bytes(1 + opts.below(40))
    return blob, b"".join(parts)


def test_one_input(codec: str, data: bytes) -> None:
    inp = Input(data)
    mode = inp.below(6)
    opts = Input(inp.take(24))
    edits = Input(inp.take(12))
    knobs = Input(inp.take(19))
    payload = inp.rest()
    if mode == 0 or (mode in (1, 2) and not ref_lib.available(codec)):
        check(codec, payload, knobs)
        return
    if mode in (1, 2):
        blob = ref_lib.ref_compress(codec, grow(codec, payload, opts), opts)
        if mode == 1:
            check(codec, blob, knobs, valid_prefix=True)
        else:
            edited, cut = apply_edits(blob, edits)
            check(codec, edited, knobs, valid_prefix=cut)
        return
    if mode in (3, 4):
        payload = grow(codec, payload, opts)
        blob = ours_compress(codec, payload, opts)
        if mode == 3:
            check(codec, blob, knobs, plain=payload)
        else:
            edited, cut = apply_edits(blob, edits)
            check(codec, edited, knobs, valid_prefix=cut)
        return
    if codec in ("zlib", "deflate"):
        # one stream only: concatenation is trailing data (an error)
        blob = ours_compress(codec, payload, opts) + ours_compress(codec, payload[:7], opts)
        check(codec, apply_edits(blob, edits)[0] if edits.flag() else blob, knobs)
        return
    blob, plain = concat(codec, payload, opts)
    if edits.flag():
        edited, cut = apply_edits(blob, edits)
        check(codec, edited, knobs, valid_prefix=cut)
    else:
        check(codec, blob, knobs, plain=plain)


def seeds(codec: str) -> list[bytes]:
    texts = [b"", b"a", bytes(range(256)) * 64,
             b"the quick brown fox jumps over the lazy dog\n" * 500]
    out = []
    for mode in range(6):
        for i, t in enumerate(texts):
            opts = bytes([6 + i, i, 0, 1, 0, 2, 3, i]) * 3
            edits = bytes([i, 7, 1, 2]) * 3
            knobs = bytes([i, 1, 2, 3, 0, 5, 9, 1]) * 2 + bytes(3)
            out.append(bytes([mode]) + opts + edits + knobs + t)
    if ref_lib.available(codec):
        # raw mode with a real stream as the payload: mutations start valid
        for t in texts[1:]:
            blob = ref_lib.ref_compress(codec, t, Input(bytes(8)))
            out.append(bytes(HEAD) + blob)
    return out


def missing(codec: str) -> list[str]:
    """What this build lacks for the harness."""
    return [n for n in ("decompress", "decompress_many", "Decompressor", "open")
            if not hasattr(fastconc, n)]
