"""Reading compressed input for ``fastconc decompress`` (and ``-t``,
``-l``): which codec, and the decoded bytes in bounded pieces.

The codec comes from ``--format``, else from the magic bytes (gzip, zstd,
lz4, zlib: fastconc's own detection, asked through a ``Decompressor``),
else from the file name's suffix: raw deflate has no magic, so a
``.deflate`` file is read as deflate (#24 item 3).

``decode()`` chains one ``Decompressor`` per gzip member / zstd or lz4
frame, as gzip and zstd do, skips the zero padding gzip allows after the
last member, and raises CliError with a message that names the codec and
an offset in the file, never the file itself (the caller prints it once).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ._cli_common import CliError
from ._core import DecompressionError, Decompressor
from ._open import codec_from_filename

CHUNK = 1 << 20          # compressed bytes read at a time
OUT_CHUNK = 4 << 20      # uncompressed bytes asked of one decompress call
# Codecs whose streams may follow one another in a file, and what one
# stream is called.
UNIT = {"gzip": "member", "zstd": "frame", "lz4": "frame"}
KNOWN = "gzip, zstd, lz4, zlib; raw deflate needs --format=deflate or " \
        "the .deflate suffix"


def sniff(head: bytes) -> str | None:
    """The codec the magic bytes at the start of ``head`` announce, or
    None (no magic: raw deflate, or not compressed)."""
    dec = Decompressor(None)
    try:
        dec.decompress(head[:64], 0)
    except DecompressionError:
        pass
    return dec.codec


def choose_codec(head: bytes, name: str | None, fmt: str | None) -> str:
    """The codec to read ``head``'s stream with: ``fmt`` when given, else
    the magic, else the suffix of ``name``."""
    if fmt is not None:
        return fmt
    by_name = codec_from_filename(name) if name else None
    magic = sniff(head)
    # A zlib header is only two bytes with a 1-in-31 check: a .deflate
    # file whose first bytes happen to pass it is still raw deflate.
    if magic is not None and not (magic == "zlib" and by_name == "deflate"):
        return magic
    if by_name is not None and len(head) > 0:
        return by_name
    if not head:
        raise CliError("unexpected end of file: the input is empty")
    raise CliError(f"not in a known compressed format ({KNOWN})")


@dataclass
class Decoded:
    """What decode() saw."""
    codec: str
    head: bytes = b""          # the first bytes of the input
    units: int = 0             # gzip members / zstd or lz4 frames
    skips: int = 0             # of which skippable frames (zstd, lz4)
    compressed: int = 0        # input bytes read
    uncompressed: int = 0      # output bytes produced
    starts: list[int] = field(default_factory=list)   # offset of each unit


def _where(codec: str, start: int) -> str:
    """Which member/frame, past the first one (a Decompressor counts its
    offsets from the start of its own member/frame); nothing for the first,
    whose offsets are the file's, nor for zlib/deflate, which have one
    stream."""
    if start == 0 or codec not in UNIT:
        return ""
    return (f" (offset within the {codec} {UNIT[codec]} that starts at "
            f"byte {start})")


def _in_unit(codec: str, start: int) -> str:
    if start == 0 or codec not in UNIT:
        return ""
    return f" of the {UNIT[codec]} that starts at byte {start}"


def decode(read: Callable[[int], bytes], codec: str, head: bytes,
           write: Callable[[bytes], object]) -> Decoded:
    """Decode the whole input: ``head`` (bytes already read) then
    ``read(n)`` until it returns b""; each piece of output goes to
    ``write``."""
    info = Decoded(codec, head=head[:1 << 16])
    data = head
    if not data:
        data = read(CHUNK)
        info.head = data[:1 << 16]
    if not data:
        raise CliError("unexpected end of file: the input is empty")
    info.compressed = len(data)
    dec = Decompressor(codec)
    start = 0        # file offset of the current member/frame
    info.starts.append(0)
    info.skips += _skippable(data)
    while True:
        try:
            out = dec.decompress(data, OUT_CHUNK)
        except DecompressionError as exc:
            raise CliError(f"{exc}{_where(codec, start)}") from None
        if out:
            info.uncompressed += len(out)
            write(out)
        if dec.eof:
            info.units += 1
            rest = _next_unit(read, codec, dec.unused_data, info)
            if not rest:
                return info
            start = info.compressed - len(rest)
            if codec not in UNIT:
                raise CliError(f"trailing data after the end of the {codec} "
                               f"stream, at byte {start}")
            if sniff(rest[:64]) != codec and len(rest) >= 4:
                raise CliError(f"trailing garbage at byte {start}: not a "
                               f"{codec} {UNIT[codec]}")
            info.starts.append(start)
            info.skips += _skippable(rest)
            dec = Decompressor(codec)
            data = rest
        elif dec.needs_input:
            data = read(CHUNK)
            if not data:
                raise CliError(
                    f"{codec}: unexpected end of file (truncated input: it "
                    f"ends after {info.compressed} bytes, inside the "
                    f"compressed data{_in_unit(codec, start)})")
            info.compressed += len(data)
        else:
            data = b""


def _skippable(data: bytes) -> int:
    """1 when ``data`` starts with a skippable frame (zstd and lz4 share
    the magic numbers 0x184D2A50 .. 0x184D2A5F), else 0."""
    return int(len(data) >= 4 and
               int.from_bytes(data[:4], "little") >> 4 == 0x184D2A5)


def _next_unit(read: Callable[[int], bytes], codec: str, rest: bytes,
               info: Decoded) -> bytes:
    """What follows a finished member/frame (b"" at the end of the input),
    with gzip's zero padding skipped and at least 4 bytes when there are."""
    while True:
        if codec == "gzip":
            rest = rest.lstrip(b"\0")
        if len(rest) >= 4:
            return rest
        more = read(CHUNK)
        if not more:
            return rest
        info.compressed += len(more)
        rest += more


def gzip_header_length(head: bytes) -> int | None:
    """Length of the gzip member header at the start of ``head`` (None if
    it is not all there); ``gzip -l`` leaves it and the 8-byte trailer out
    of its ratio."""
    try:
        if head[:2] != b"\x1f\x8b":
            return None
        flags, pos = head[3], 10
        if flags & 4:                          # FEXTRA
            pos += 2 + (head[pos] | head[pos + 1] << 8)
        for bit in (8, 16):                    # FNAME, FCOMMENT
            if flags & bit:
                pos = head.index(b"\0", pos) + 1
        if flags & 2:                          # FHCRC
            pos += 2
    except (IndexError, ValueError):
        return None
    return pos if pos <= len(head) else None


def zstd_check(head: bytes) -> str:
    """'XXH64' when the first zstd frame (past any skippable ones)
    carries a content checksum, else 'None' (zstd -l's Check column)."""
    pos = 0
    while _skippable(head[pos:pos + 4]) and len(head) >= pos + 8:
        pos += 8 + int.from_bytes(head[pos + 4:pos + 8], "little")
    if head[pos:pos + 4] == b"\x28\xb5\x2f\xfd" and len(head) > pos + 4:
        return "XXH64" if head[pos + 4] & 4 else "None"
    return "None"
