"""The reference side of the differential harnesses: what Python's zlib,
zstandard and lz4.frame make of a blob, and blobs they write.

Verdicts (``Ref.status``):
  OK     the reference decoded it to the end; ``out`` and ``unused``;
  ERROR  the reference raised (``out``: what it gave before, ``msg``);
  SHORT  the input ended inside a stream, no error seen (``out``: so far);
  BIG    the output passed the cap: only the first ``cap`` bytes compared;
  UNDEF  the answer is not defined (the tools disagree): nothing compared.

Two readings of a blob:
  ``ref_stream``  one stream, as a streaming decompressor (``Decompressor``)
                  sees it: one zlib/deflate stream, one gzip member, one
                  zstd or lz4 frame (skippable frames are frames); what
                  follows its end is ``unused``;
  ``ref_whole``   the whole input, as one-shot ``decompress``,
                  ``decompress_many`` and ``open()`` read it (rules below).

Rules for the whole input, and why (each a decision, documented here):
  zlib, deflate  one stream and nothing after it: trailing bytes are an
                 error (fastconc's documented choice; zlib.decompress
                 agrees for zlib and deflate alike);
  gzip           members one after another, each as zlib(wbits=31) reads
                 it (so a wrong FHCRC or reserved FLG bits are errors:
                 zlib's rule, which #24 item 4 makes every path follow);
                 zero bytes after the last member are padding, accepted
                 (gzip(1) exits 0 silently, gzip.decompress and
                 gzip.GzipFile accept them); non-zero bytes after a member
                 must start a valid member (gzip.decompress raises
                 BadGzipFile; gzip(1) warns and exits 2): an error.
                 Not defined, so not compared: the empty input (gzip(1):
                 error, gzip.decompress: b"") and zero bytes followed by
                 more data (gzip(1) stops there with a warning,
                 gzip.decompress goes on);
  zstd, lz4      frames (skippable ones too) one after another to the end
                 of the input; anything else after a frame is an error
                 (lz4.frame.decompress() ignores what follows the first
                 frame: its one-shot is not the reference, its streaming
                 object is).  The empty input is not defined.
  zstd frames whose window is over 2**27 (zstandard's default limit; the
  format lets a decoder refuse large windows) are not defined either, and
  where zstandard (libzstd 1.5.7 bundled) and the zstd command line (the
  system libzstd fastconc links) disagree on a corrupt frame without a
  checksum, the blob is not defined (tie_break()).
"""
from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from typing import Any, NamedTuple, Optional

from _common import Input, chunks, split_points

try:
    import zstandard
except ImportError:
    zstandard = None
try:
    import lz4.frame as lz4frame
except ImportError:
    lz4frame = None

OK, ERROR, SHORT, BIG, UNDEF = "ok", "error", "short", "big", "undef"
WBITS = {"zlib": 15, "deflate": -15, "gzip": 31}
CODECS = ("zlib", "deflate", "gzip", "zstd", "lz4")
# Levels each codec takes in fastconc (zstd's negative levels included).
LEVELS = {"zlib": range(-1, 10), "deflate": range(-1, 10),
          "gzip": range(-1, 10), "zstd": range(-7, 23), "lz4": range(13)}
# Outputs are bounded so that one input cannot take the fuzzer's memory.
OUT_CAP = 8 << 20
ZSTD_WINDOW_LIMIT = 1 << 27
SKIPPABLE = (0x184D2A50).to_bytes(4, "little")


class Ref(NamedTuple):
    status: str
    out: bytes = b""
    unused: bytes = b""
    msg: str = ""
    padded: bool = False      # gzip: zero padding after the last member


def available(codec: str) -> bool:
    if codec == "zstd":
        return zstandard is not None
    if codec == "lz4":
        return lz4frame is not None
    return True


# --- decoding ----------------------------------------------------------------

def _zlib_stream(codec: str, blob: bytes, cap: int) -> Ref:
    d = zlib.decompressobj(WBITS[codec])
    out = bytearray()
    data = blob
    try:
        while True:
            got = d.decompress(data, cap + 1 - len(out))
            out += got
            if len(out) > cap:
                return Ref(BIG, bytes(out[:cap]))
            if d.eof:
                return Ref(OK, bytes(out), d.unused_data)
            data = d.unconsumed_tail
            if not data and not got:
                return Ref(SHORT, bytes(out))
    except zlib.error as exc:
        return Ref(ERROR, bytes(out), msg=str(exc))


def _zstd_window_too_large(blob: bytes) -> bool:
    try:
        return bool(zstandard.get_frame_parameters(blob).window_size
                    > ZSTD_WINDOW_LIMIT)
    except Exception:
        return False


def zstd_declared_size(frame: bytes) -> Optional[int]:
    """Frame_Content_Size from a zstd frame header, or None (not a zstd
    frame, or no size recorded)."""
    if len(frame) < 5 or frame[:4] != b"\x28\xb5\x2f\xfd":
        return None
    fhd = frame[4]
    single = fhd >> 5 & 1
    pos = 5 + (0 if single else 1) + (0, 1, 2, 4)[fhd & 3]
    size_len = (1 if single else 0, 2, 4, 8)[fhd >> 6]
    if size_len == 0 or len(frame) < pos + size_len:
        return None
    value = int.from_bytes(frame[pos:pos + size_len], "little")
    return value + 256 if size_len == 2 else value


def _zstd_stream(blob: bytes, cap: int, lenient: bool = False) -> Ref:
    # zstandard's decompressobj has no output bound: feed small slices
    # (a slice of 256 bytes holds at most ~85 blocks of 128 KiB).
    # lenient: the first slice is the magic alone (see _zstd_size_mismatch).
    d = zstandard.ZstdDecompressor().decompressobj()
    out = bytearray()
    pos = 0
    try:
        while pos < len(blob):
            piece = blob[pos:pos + (4 if lenient and pos == 0 else 256)]
            pos += len(piece)
            out += d.decompress(piece)
            if len(out) > cap:
                return Ref(BIG, bytes(out[:cap]))
            if d.eof:
                declared = zstd_declared_size(blob)
                if not lenient and declared is not None and declared != len(out):
                    # Output smaller than declared but no error: the frame
                    # is corrupt all the same (see _zstd_size_mismatch).
                    return Ref(ERROR, bytes(out),
                               msg=f"frame content size mismatch: declared "
                                   f"{declared}, decoded {len(out)}")
                return Ref(OK, bytes(out), d.unused_data + blob[pos:])
    except zstandard.ZstdError as exc:
        if _zstd_window_too_large(blob):
            return Ref(UNDEF, bytes(out))
        if lenient:
            return Ref(ERROR, bytes(out), msg=str(exc))
        return Ref(ERROR, bytes(out), msg=_zstd_size_mismatch(blob, cap) or str(exc))
    return Ref(SHORT, bytes(out))


def _zstd_size_mismatch(blob: bytes, cap: int) -> Optional[str]:
    """libzstd's streaming decoder checks Frame_Content_Size only when a
    whole frame comes in one call with room for all of its content; fed in
    pieces, a frame whose content differs from the declared size decodes
    without error.  The format makes such a frame corrupt (and libzstd's
    one-shot API rejects it): when that mismatch is the frame's only
    fault, say so, so that every path of fastconc is held to the same
    answer whatever the chunking."""
    declared = zstd_declared_size(blob)
    if declared is None:
        return None
    r = _zstd_stream(blob, cap, lenient=True)
    if r.status != OK or len(r.out) == declared:
        return None
    return f"frame content size mismatch: declared {declared}, decoded {len(r.out)}"


def _lz4_stream(blob: bytes, cap: int) -> Ref:
    d = lz4frame.LZ4FrameDecompressor()
    out = bytearray()
    data = blob
    try:
        while True:
            got = d.decompress(data, max_length=cap + 1 - len(out))
            data = b""
            out += got
            if len(out) > cap:
                return Ref(BIG, bytes(out[:cap]))
            if d.eof:
                return Ref(OK, bytes(out), d.unused_data or b"")
            if d.needs_input:
                return Ref(SHORT, bytes(out))
    except RuntimeError as exc:
        return Ref(ERROR, bytes(out), msg=str(exc))


def ref_stream(codec: str, blob: bytes, cap: int = OUT_CAP) -> Ref:
    """One stream (member, frame) from the start of blob."""
    if codec in WBITS:
        return _zlib_stream(codec, blob, cap)
    if codec == "zstd":
        return _zstd_stream(blob, cap)
    return _lz4_stream(blob, cap)


def ref_whole(codec: str, blob: bytes, cap: int = OUT_CAP) -> Ref:
    """The whole input, by the rules in this module's docstring."""
    if codec in ("zlib", "deflate"):
        r = ref_stream(codec, blob, cap)
        if r.status == OK and r.unused:
            return Ref(ERROR, r.out, r.unused, msg="trailing data after the stream")
        return r
    if not blob:
        return Ref(UNDEF)
    out = b""
    rest = blob
    while True:
        r = ref_stream(codec, rest, cap - len(out))
        out += r.out
        if r.status != OK:
            return r._replace(out=out)
        rest = r.unused
        if codec == "gzip" and rest[:1] == b"\0":
            stripped = rest.lstrip(b"\0")
            if stripped:
                return Ref(UNDEF, out)
            return Ref(OK, out, padded=True)
        if not rest:
            return Ref(OK, out)


def read_streams(codec: str, blob: bytes, complete: bool = True) -> bytes:
    """Everything in blob, decoded by the reference: complete streams one
    after another (zlib/deflate: exactly one); unless complete, the last
    may be unfinished (what a flush made decodable so far).  Raises
    AssertionError on anything else."""
    out = b""
    rest = blob
    while True:
        r = ref_stream(codec, rest, 1 << 30)
        if r.status == SHORT and not complete:
            return out + r.out
        assert r.status == OK, (codec, r.status, r.msg, len(out), len(rest))
        out += r.out
        rest = r.unused
        if not rest:
            return out
        assert codec in ("gzip", "zstd", "lz4"), \
            f"{codec}: data after the end of the stream"


def _cli_whole(codec: str, blob: bytes) -> Optional[Ref]:
    """The command-line tool's reading of the whole blob (OK or ERROR),
    or None without the tool."""
    tool = {"zstd": "zstd", "lz4": "lz4"}.get(codec)
    if tool is None or shutil.which(tool) is None:
        return None
    r = subprocess.run([tool, "-dcq"], input=blob, capture_output=True,
                       timeout=60)
    return Ref(OK, r.stdout) if r.returncode == 0 else Ref(ERROR, r.stdout)


def tie_break(codec: str, blob: bytes, fastconc_ok: bool) -> bool:
    """True when a disagreement on blob is a difference between library
    versions, not fastconc's: zstandard bundles libzstd 1.5.7, fastconc
    links the system's (the zstd command line's); on a corrupt frame without
    a checksum they may disagree.  Only for zstd, only when the command line
    agrees with fastconc's accept/reject answer."""
    if codec != "zstd":
        return False
    cli = _cli_whole(codec, blob)
    return cli is not None and (cli.status == OK) == fastconc_ok


# --- encoding ----------------------------------------------------------------

ZLIB_FLUSHES = (zlib.Z_NO_FLUSH, zlib.Z_SYNC_FLUSH, zlib.Z_FULL_FLUSH,
                zlib.Z_PARTIAL_FLUSH, zlib.Z_BLOCK)
ZLIB_STRATEGIES = (zlib.Z_DEFAULT_STRATEGY, zlib.Z_FILTERED,
                   zlib.Z_HUFFMAN_ONLY, zlib.Z_RLE, zlib.Z_FIXED)


def _deflate_with(payload: bytes, opts: Input, wbits: int) -> bytes:
    """payload through zlib.compressobj with options and flushes chosen by
    opts (wbits gives the wrapper and the window)."""
    level = opts.below(11) - 1
    mem = 1 + opts.below(9)
    strategy = ZLIB_STRATEGIES[opts.below(len(ZLIB_STRATEGIES))]
    c = zlib.compressobj(level, zlib.DEFLATED, wbits, mem, strategy)
    cuts = split_points(opts, len(payload), 4)
    out = []
    for piece in chunks(payload, cuts):
        out.append(c.compress(piece))
        out.append(c.flush(ZLIB_FLUSHES[opts.below(len(ZLIB_FLUSHES))]))
    out.append(c.flush())
    return b"".join(out)


def gzip_member(payload: bytes, opts: Input, honest: bool = False) -> bytes:
    """A gzip member with a header built by hand: any of FTEXT, FHCRC,
    FEXTRA (with fastconc's 'FC' and BGZF's 'BC' subfields among others),
    FNAME, FCOMMENT; the CRCs, ISIZE and size records right or (unless
    honest) wrong."""
    flags = opts.uint(1) & 0x1F
    mtime, xfl, os_ = opts.uint(4), opts.uint(1), opts.uint(1)
    lie = 0 if honest else opts.uint(1)     # bits: which field lies
    body = _deflate_with(payload, opts, -(9 + opts.below(7)))
    extra = b""
    sizes_at = []
    if flags & 4:
        for _ in range(1 + opts.below(3)):
            kind = opts.below(4)
            if kind == 0:
                sizes_at.append(("FC", len(extra) + 4))
                extra += b"FC" + struct.pack("<H", 4) + b"\0" * 4
            elif kind == 1:
                sizes_at.append(("BC", len(extra) + 4))
                extra += b"BC" + struct.pack("<H", 2) + b"\0" * 2
            else:
                n = opts.below(12)
                extra += b"AB" + struct.pack("<H", n) + opts.take(n).ljust(n, b"x")
    head = bytearray(b"\x1f\x8b\x08" + bytes([flags]) +
                     struct.pack("<I", mtime) + bytes([xfl, os_]))
    xoff = len(head) + 2
    if flags & 4:
        head += struct.pack("<H", len(extra)) + extra
    if flags & 8:
        head += opts.take(opts.below(8)).replace(b"\0", b"n") + b"\0"
    if flags & 16:
        head += opts.take(opts.below(8)).replace(b"\0", b"c") + b"\0"
    hcrc_len = 2 if flags & 2 else 0
    total = len(head) + hcrc_len + len(body) + 8
    for kind, at in sizes_at:
        claim = total if not lie & 8 else opts.uint(4)
        if kind == "FC":
            head[xoff + at:xoff + at + 4] = struct.pack("<I", claim & 0xFFFFFFFF)
        else:
            head[xoff + at:xoff + at + 2] = struct.pack("<H", (claim - 1) & 0xFFFF)
    if flags & 2:
        crc = zlib.crc32(head) & 0xFFFF
        head += struct.pack("<H", crc ^ (1 if lie & 1 else 0))
    crc = zlib.crc32(payload) ^ (0x10 if lie & 2 else 0)
    isize = len(payload) & 0xFFFFFFFF
    if lie & 4:
        isize = opts.uint(4)
    return bytes(head) + body + struct.pack("<II", crc, isize)


def ref_compress(codec: str, payload: bytes, opts: Input,
                 honest: bool = False) -> bytes:
    """payload compressed by the reference library, options from opts
    (honest: no forged field, a valid stream of payload)."""
    if codec == "gzip" and opts.flag():
        return gzip_member(payload, opts, honest)
    if codec in WBITS:
        window = 9 + opts.below(7)
        wbits = {"zlib": window, "deflate": -window, "gzip": 16 + window}[codec]
        return _deflate_with(payload, opts, wbits)
    if codec == "zstd":
        level = opts.below(30) - 7
        if level > 9 and len(payload) > 20_000:
            level = 3                       # the slow levels on big input
        kw: dict[str, Any] = dict(write_checksum=opts.flag(),
                                  write_content_size=opts.flag())
        if opts.flag():
            kw["compression_params"] = zstandard.ZstdCompressionParameters.from_level(
                level, source_size=len(payload), window_log=10 + opts.below(14),
                write_checksum=kw.pop("write_checksum"),
                write_content_size=kw.pop("write_content_size"))
        else:
            kw["level"] = level
        if opts.flag():
            return bytes(zstandard.ZstdCompressor(**kw).compress(payload))
        if "level" in kw:
            # A stream of unknown size sets up the level's whole window
            # and tables (hundreds of MB, seconds, at the top levels).
            kw["level"] = min(kw["level"], 6)
        co = zstandard.ZstdCompressor(**kw).compressobj()
        out = []
        for piece in chunks(payload, split_points(opts, len(payload), 4)):
            out.append(co.compress(piece))
            if opts.flag():
                out.append(co.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))
        out.append(co.flush())
        return b"".join(out)
    sizes = (lz4frame.BLOCKSIZE_DEFAULT, lz4frame.BLOCKSIZE_MAX64KB,
             lz4frame.BLOCKSIZE_MAX256KB, lz4frame.BLOCKSIZE_MAX1MB,
             lz4frame.BLOCKSIZE_MAX4MB)
    kw = dict(compression_level=opts.below(17),
              block_size=sizes[opts.below(len(sizes))],
              block_linked=opts.flag(), content_checksum=opts.flag(),
              block_checksum=opts.flag())
    if opts.flag():
        return bytes(lz4frame.compress(payload, store_size=opts.flag(), **kw))
    c = lz4frame.LZ4FrameCompressor(auto_flush=opts.flag(), **kw)
    out = [c.begin(len(payload) if opts.flag() else 0)]
    for piece in chunks(payload, split_points(opts, len(payload), 4)):
        out.append(c.compress(piece))
    out.append(c.flush())
    return b"".join(out)


def skippable(body: bytes) -> bytes:
    """A skippable frame (zstd and lz4 share the magic range)."""
    return SKIPPABLE + struct.pack("<I", len(body)) + body
