"""fastconc.open(): compressed files as binary (or text) file objects.

Like gzip.open / gzip.GzipFile (and bz2.open), for every fastconc codec.

Reading chains one ``Decompressor`` per gzip member / zstd frame / lz4
frame, so concatenated files are read in full; a file that ends inside a
stream raises an EOFError (DecompressionError), a bad gzip file a
gzip.BadGzipFile (nothing is ever silently truncated).  ``seek``/``tell``
work as in GzipFile: forward by decoding, backward by starting again from
the beginning, except in gzip files fastconc wrote in one call
(``compress``, the command line on a regular file): their index of
blocks (below) takes a seek to the block that holds the target, both
ways, so that random access costs at most one block's decoding.  ``mtime``
is the last gzip header's time (None before the first read).

Writing gzip makes one member, as gzip.GzipFile, gzip and pigz do, with
GzipFile's header (mtime=, the file name without .gz, XFL by level, OS
255); inside, the data is cut into blocks of 1 MiB compressed
independently and ended by a flush (the layout of
``fastconc.compress(..., "gzip")``), ``threads`` of them at a time, so
the bytes are the same for every thread count and
``fastconc.decompress(..., threads=N)`` decodes the file in parallel
(finding the blocks by their flush markers, a guess it checks).  Other
codecs feed a ``Compressor``, or with ``threads > 1`` (zstd, lz4)
compress blocks of threads x 4 MiB with ``fastconc.compress``, each a
complete frame.  (For one zstd stream with libzstd's workers, use
``Compressor("zstd", threads=N)``.)  In write mode ``seek`` goes forward
only (writing zeros) and ``seekable()`` is True, as in GzipFile, so that
a text wrapper writes the BOM of UTF-16 and UTF-32.

The gzip subfield 'F','P' (see src/codec/zlib.c) holds fastconc's block
layout: version 1, flags, the block size, and with flags bit 0 the index
(count, then per block its compressed size, input size and CRC-32;
little-endian, 4 bytes each).  Other readers skip it.

Codec from the file name when ``codec`` is None:
    .gz .gzip .tgz -> gzip, .zst .zstd -> zstd, .lz4 -> lz4,
    .zz .zlib -> zlib, .deflate -> deflate (raw).
Reading with codec=None detects gzip/zstd/lz4/zlib from the magic bytes
whatever the name (raw deflate must be named: codec="deflate").
"""
from __future__ import annotations

import bisect
import builtins
import gzip
import io
import mmap
import os
import struct
import sys
import threading
import time
from typing import IO, Any, Literal, NoReturn, Union, overload

from . import _core
from ._core import Compressor, DecompressionError, Decompressor

__all__ = ["CompressedFile", "codec_from_filename", "open"]

_StrPath = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
_BinaryMode = Literal["r", "rb", "w", "wb", "x", "xb", "a", "ab"]
_TextMode = Literal["rt", "wt", "xt", "at"]

# File name suffix -> codec, from the codec table in C.
_EXTENSIONS = {suffix: codec
               for codec, suffixes in _core._codec_suffixes().items()
               for suffix in suffixes}
_CODECS = ("zlib", "deflate", "gzip", "zstd", "lz4")
# Codecs whose streams may follow one another in a file (members/frames).
_CONCATENABLE = ("gzip", "zstd", "lz4")

_READ_CHUNK = 128 * 1024
_BUFFER_SIZE = 128 * 1024
# Uncompressed bytes per parallel compress() call, per thread.
_PARALLEL_BLOCK = 4 * 1024 * 1024
# Reading forward to a seek target: bytes per step.
_SKIP_CHUNK = 1 << 20

# gzip, as src/codec/zlib.c lays it out: blocks of this size (the size the
# decoder assumes when a header does not say), this many per thread per
# _compress_blocks() call; the 'F','P' subfield.
_GZIP_BLOCK = 1 << 20
_GZIP_BATCH = 4
_FP_ID = b"FP"
_FP_VERSION = 1
_FP_INDEX = 0x01
_FP_FIXED = 6           # version, flags, block size
_FP_ENTRY = 12          # compressed size, input size, CRC-32
# gzip FLG bits.
_FTEXT, _FHCRC, _FEXTRA, _FNAME, _FCOMMENT = 1, 2, 4, 8, 16
# Header bytes kept to parse a member's header (the index may be ~48 KiB).
_HEAD_MAX = 1 << 17


def _error_class(codec: str | None, truncated: bool) -> type[Exception]:
    """The exception for a file that ends early (truncated) or is corrupt:
    the C module's class for the codec, which also fits the stdlib's
    handlers (EOFError, zlib.error, gzip.BadGzipFile)."""
    cls: type[Exception] = _core._decompression_error(codec, truncated)
    return cls


def _gzip_error(exc: DecompressionError) -> Exception:
    """A gzip decoding error as gzip.GzipFile raises it: EOFError for a
    truncated file, gzip.BadGzipFile otherwise (both DecompressionError)."""
    if isinstance(exc, (gzip.BadGzipFile, EOFError)):
        return exc
    return _error_class("gzip", False)(str(exc))


def codec_from_filename(name: _StrPath) -> str | None:
    """The codec a file name's extension stands for, or None."""
    name = os.fspath(name)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    _, ext = os.path.splitext(name)
    return _EXTENSIONS.get(ext.lower())


def _check_codec(codec: str | None) -> None:
    if codec is not None and not isinstance(codec, str):
        raise TypeError("codec must be a str or None, not "
                        f"{type(codec).__name__!r}")
    if codec is not None and codec not in _CODECS:
        raise ValueError(f"unknown codec {codec!r}; valid codecs are "
                         + ", ".join(repr(c) for c in _CODECS))


def _check_threads(threads: int | None) -> int:
    if threads is None:
        return 1
    if not isinstance(threads, int) or isinstance(threads, bool):
        raise TypeError("threads must be an int or None, not "
                        f"{type(threads).__name__!r}")
    if threads < 1:
        raise ValueError("threads must be >= 1 or None")
    return threads


# --- gzip headers -----------------------------------------------------------

class _GzipHead:
    """What a gzip header says that the reader uses."""

    __slots__ = ("length", "mtime", "index")

    def __init__(self, length: int, mtime: int,
                 index: list[tuple[int, int, int]] | None) -> None:
        self.length = length
        self.mtime = mtime
        self.index = index


def _parse_gzip_head(buf: bytes) -> _GzipHead | None | Literal[False]:
    """The gzip header at the start of buf; None while buf does not hold
    all of it, False when it is no gzip header (the Decompressor then says
    what is wrong)."""
    if len(buf) < 10:
        return None if buf == b"\x1f\x8b\x08"[:len(buf)] else False
    if buf[:3] != b"\x1f\x8b\x08":
        return False
    flg = buf[3]
    mtime = struct.unpack_from("<I", buf, 4)[0]
    pos = 10
    index = None
    if flg & _FEXTRA:
        if len(buf) < pos + 2:
            return None
        xlen = struct.unpack_from("<H", buf, pos)[0]
        pos += 2
        if len(buf) < pos + xlen:
            return None
        index = _parse_fp(buf[pos:pos + xlen])
        pos += xlen
    for bit in (_FNAME, _FCOMMENT):
        if flg & bit:
            end = buf.find(b"\0", pos)
            if end < 0:
                return None
            pos = end + 1
    if flg & _FHCRC:
        pos += 2
        if len(buf) < pos:
            return None
    return _GzipHead(pos, mtime, index)


def _parse_fp(extra: bytes) -> list[tuple[int, int, int]] | None:
    """The block index in an extra field's 'F','P' subfield, if any."""
    pos = 0
    while len(extra) - pos >= 4:
        sid = extra[pos:pos + 2]
        n = struct.unpack_from("<H", extra, pos + 2)[0]
        body = extra[pos + 4:pos + 4 + n]
        if len(body) < n:
            return None
        pos += 4 + n
        if sid != _FP_ID or n < _FP_FIXED + 4 or body[0] != _FP_VERSION \
                or not body[1] & _FP_INDEX:
            continue
        count = struct.unpack_from("<I", body, _FP_FIXED)[0]
        if count == 0 or n != _FP_FIXED + 4 + count * _FP_ENTRY:
            return None
        flat = struct.unpack_from(f"<{3 * count}I", body, _FP_FIXED + 4)
        return [(flat[i], flat[i + 1], flat[i + 2])
                for i in range(0, 3 * count, 3)]
    return None


def _gzip_fname(name: Any) -> bytes:
    """The FNAME gzip.GzipFile writes for a file name: its base name in
    Latin-1 (none if it cannot be), without a .gz suffix."""
    if not isinstance(name, (str, bytes)):
        return b""
    base = os.path.basename(name)
    try:
        fname = base if isinstance(base, bytes) else base.encode("latin-1")
    except UnicodeEncodeError:
        return b""
    if fname.endswith(b".gz"):
        fname = fname[:-3]
    return fname


class _Indexed:
    """A gzip member with an index: where its blocks start and end, in the
    file and in the data."""

    __slots__ = ("cstart", "ustart", "head", "csize", "cend", "uend",
                 "crcs", "isize", "crc", "verified")

    def __init__(self, cstart: int, ustart: int, head: int,
                 index: list[tuple[int, int, int]]) -> None:
        self.cstart = cstart          # member start, from the file origin
        self.ustart = ustart          # its first byte's data position
        self.head = head              # header length
        self.csize = [c for c, _, _ in index]
        self.cend = []                # compressed end of block k (body)
        self.uend = []                # data end of block k (member)
        self.crcs = [c for _, _, c in index]
        c = u = 0
        for cs, us, _ in index:
            c += cs
            u += us
            self.cend.append(c)
            self.uend.append(u)
        self.isize = u & 0xFFFFFFFF
        # Whether the index holds (see _DecompressReader._index_holds);
        # None until checked.
        self.verified: bool | None = None
        crc = 0
        for (_, us, bc) in index:
            crc = _core.crc32_combine(crc, bc, us)
        self.crc = crc

    def block_of(self, pos: int) -> int | None:
        """The block that holds data position pos, or None."""
        rel = pos - self.ustart
        if rel < 0 or rel >= self.uend[-1]:
            return None
        return bisect.bisect_right(self.uend, rel)

    def block_start(self, k: int) -> tuple[int, int]:
        """(file offset from the origin, data position) of block k."""
        c = self.cend[k - 1] if k else 0
        u = self.uend[k - 1] if k else 0
        return self.cstart + self.head + c, self.ustart + u


class _Jump:
    """Reading a member from block k on, after a seek through its index:
    a raw deflate decoder, and the CRC of what it gave, checked against
    the index and the trailer at the member's end."""

    __slots__ = ("member", "block", "crc", "size")

    def __init__(self, member: _Indexed, block: int) -> None:
        self.member = member
        self.block = block
        self.crc = 0
        self.size = 0


# --- reading ----------------------------------------------------------------

class _DecompressReader(io.RawIOBase):
    """Raw reader under CompressedFile's BufferedReader: decompresses member
    after member until the compressed file ends."""

    def __init__(self, fp: IO[bytes], codec: str | None,
                 zstd_dict: Any = None) -> None:
        self._fp = fp
        self._codec = codec
        self._zstd_dict = zstd_dict
        self._first_codec: str | None = None     # of the first member
        self._origin: int | None
        try:
            self._origin = fp.tell() if fp.seekable() else None
        except (AttributeError, OSError, ValueError):
            self._origin = None
        self.mtime: int | None = None
        self._indexed: dict[int, _Indexed] = {}
        self._start()

    def _start(self) -> None:
        """State at the beginning of the file."""
        self._dec = Decompressor(self._codec, zstd_dict=self._zstd_dict)
        self._pos = 0                # uncompressed bytes returned
        self._member_start = 0       # compressed offset of this member
        self._member_in = 0          # compressed bytes fed to this member
        self._member_pos = 0         # data position where it starts
        self._head = b""             # its first bytes, until parsed
        self._head_done = self._codec not in (None, "gzip")
        self._jump: _Jump | None = None
        self._eof = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        # Decoded straight into b (Decompressor._decompress_into): no
        # bytes object in between.
        with memoryview(b) as view, view.cast("B") as out:
            size = len(out)
            if size == 0 or self._eof:
                return 0
            n = 0
            while not n:
                chunk = self._input()
                if chunk is None:
                    return 0
                n = self._feed_into(chunk, out)
            self._pos += n
            if self._jump is not None:
                self._jump.crc = _core.crc32(out[:n], self._jump.crc)
                self._jump.size += n
        return n

    def _codec_name(self) -> str | None:
        if self._jump is not None:
            return "gzip"
        return self._dec.codec or self._codec

    def _feed(self, data: bytes, size: int) -> bytes:
        self._member_in += len(data)
        if not self._head_done and data:
            self._read_head(data)
        try:
            return self._dec.decompress(data, size)
        except DecompressionError as exc:
            self._reraise(exc)

    def _feed_into(self, data: bytes, out: memoryview) -> int:
        """_feed(data, len(out)) written into out; the bytes written."""
        self._member_in += len(data)
        if not self._head_done and data:
            self._read_head(data)
        try:
            return self._dec._decompress_into(data, out)
        except DecompressionError as exc:
            self._reraise(exc)

    def _reraise(self, exc: DecompressionError) -> NoReturn:
        """exc again, with the file name and the member's offset."""
        name = getattr(self._fp, "name", None)
        where = f"{name}: " if isinstance(name, str) else ""
        msg = (f"{where}{exc} (in the member/frame starting at "
               f"compressed offset {self._member_start})")
        codec = self._codec_name()
        if codec is None and self._member_start:
            # No codec's magic after a member: trailing garbage (after
            # gzip members a BadGzipFile, as gzip.open raises).
            codec = self._first_codec
        if codec == "gzip":
            err = _gzip_error(exc)
            raise type(err)(msg) from exc
        raise type(exc)(msg) from exc

    def _read_head(self, data: bytes) -> None:
        """Parse a gzip member's header from its first bytes: mtime, and
        the block index of fastconc's layout."""
        self._head += data[:_HEAD_MAX - len(self._head)]
        head = _parse_gzip_head(self._head)
        if head is None and len(self._head) < _HEAD_MAX:
            return
        self._head_done = True
        self._head = b""
        if not head:
            return
        self.mtime = head.mtime
        if head.index is not None and self._origin is not None and \
                self._member_start not in self._indexed:
            self._indexed[self._member_start] = _Indexed(
                self._member_start, self._member_pos, head.length,
                head.index)

    def _end_of_jump(self) -> None:
        """The raw decoder of a jump ended: read and check the member's
        trailer (where the verified index puts it) against what was
        decoded and the index; the file is then at the member's end."""
        jump = self._jump
        assert jump is not None and self._origin is not None
        m = jump.member
        size = m.head + m.cend[-1] + 8
        self._fp.seek(self._origin + m.cstart + size - 8)
        rest = self._fp.read(8)
        if len(rest) < 8:
            raise _error_class("gzip", True)(
                "gzip: truncated input: the file ends inside the "
                f"trailer of the member at offset {m.cstart}")
        self._member_in = size
        crc, isize = struct.unpack_from("<II", rest)
        want = 0
        for k in range(jump.block, len(m.crcs)):
            want = _core.crc32_combine(want, m.crcs[k],
                                       m.uend[k] - (m.uend[k - 1] if k
                                                    else 0))
        done = m.uend[-1] - (m.uend[jump.block - 1] if jump.block else 0)
        if (jump.crc, jump.size) != (want, done) or \
                (m.crc, m.isize) != (crc, isize):
            raise _error_class("gzip", False)(
                "gzip: CRC check failed in the member at compressed offset "
                f"{m.cstart} (read from its block index)")
        self._jump = None

    def _next_member(self) -> bytes:
        """Start a new Decompressor on what follows the finished member;
        returns its first compressed bytes, or b"" at the end of the file."""
        rest = self._dec.unused_data
        codec = self._dec.codec
        if self._jump is not None:
            # Not the raw decoder's unused_data: the trailer is where the
            # index says.
            self._end_of_jump()
            rest = b""
            codec = "gzip"
        self._member_start += self._member_in - len(rest)
        self._member_in = 0
        if self._first_codec is None:
            self._first_codec = codec
        while True:
            if not rest:
                rest = self._fp.read(_READ_CHUNK)
                if not rest:
                    return b""
            if codec == "gzip":
                # gzip files may be padded with zeros after the last member
                # (tape blocks); gzip(1) ignores them, so do we.
                stripped = rest.lstrip(b"\0")
                self._member_start += len(rest) - len(stripped)
                rest = stripped
                if not rest:
                    continue
            break
        if codec not in _CONCATENABLE:
            raise _error_class(codec, False)(
                f"{codec}: unexpected data after the end of the stream at "
                f"compressed offset {self._member_start}")
        self._dec = Decompressor(self._codec, zstd_dict=self._zstd_dict)
        self._member_pos = self._pos
        self._head_done = self._codec not in (None, "gzip")
        return rest

    def _input(self) -> bytes | None:
        """The compressed bytes to feed next (b"" when the decoder has more
        output without input, the next member's first bytes after one
        ends), or None at the end of the file."""
        if self._dec.eof:
            rest = self._next_member()
            if not rest:
                self._eof = True
                return None
            return rest
        if not self._dec.needs_input:
            return b""
        chunk = self._fp.read(_READ_CHUNK)
        if not chunk:
            if self._member_in == 0 and self._member_start == 0:
                self._eof = True      # an empty file: no data
                return None
            codec = self._codec_name()
            raise _error_class(codec, True)(
                f"{codec or 'unknown codec'}: truncated input: the "
                "compressed file ends inside the member/frame "
                f"starting at offset {self._member_start} (after "
                f"{self._member_start + self._member_in} bytes)")
        return chunk

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        if size == 0 or self._eof:
            return b""
        data = b""
        while not data:
            chunk = self._input()
            if chunk is None:
                return b""
            data = self._feed(chunk, size)
        self._pos += len(data)
        if self._jump is not None:
            self._jump.crc = _core.crc32(data, self._jump.crc)
            self._jump.size += len(data)
        return data

    def readall(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            data = self.read(1 << 20)
            if not data:
                return b"".join(chunks)
            chunks.append(data)

    def tell(self) -> int:
        return self._pos

    # --- seeking ----------------------------------------------------------

    def _rewind(self) -> None:
        if self._origin is None:
            raise io.UnsupportedOperation(
                "cannot seek backward: the compressed file is not seekable")
        self._fp.seek(self._origin)
        self._start()

    def _jump_to(self, m: _Indexed, k: int) -> None:
        """Go to block k of an indexed member: its raw deflate data."""
        assert self._origin is not None
        where, pos = m.block_start(k)
        self._fp.seek(self._origin + where)
        self._dec = Decompressor("deflate")
        self._jump = _Jump(m, k)
        self._member_start = m.cstart
        self._member_in = where - m.cstart
        self._member_pos = m.ustart
        self._pos = pos
        self._head_done = True
        self._eof = False

    def _index_holds(self, m: _Indexed) -> bool:
        """Whether m's index may be used: checked once, on the whole
        member, by walking its deflate stream (_core._gzip_index_ok): a
        forged index must neither give other data than a serial reader
        nor fail where the file is good."""
        if m.verified is None:
            assert self._origin is not None
            size = m.head + m.cend[-1] + 8
            start = self._origin + m.cstart
            m.verified = False
            try:
                # A file: mapped, not read into memory.
                with mmap.mmap(self._fp.fileno(), 0,
                               access=mmap.ACCESS_READ) as mm:
                    if start + size <= len(mm):
                        with memoryview(mm) as view:
                            m.verified = _core._gzip_index_ok(
                                view[start:start + size])
                return m.verified
            except (AttributeError, OSError, ValueError):
                pass
            here = self._fp.tell()
            try:
                self._fp.seek(start)
                member = self._fp.read(size)
            finally:
                self._fp.seek(here)
            m.verified = len(member) == size and \
                _core._gzip_index_ok(member)
        return m.verified

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self._pos
        elif whence == io.SEEK_END:
            while self.read(_SKIP_CHUNK):
                pass
            offset += self._pos
        elif whence != io.SEEK_SET:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 "
                             "or 2)")
        for m in self._indexed.values():
            k = m.block_of(offset)
            if k is None:
                continue
            start = m.block_start(k)[1]
            # Back, or forward past the block being read: jump.
            if (offset < self._pos or start > self._pos) and \
                    self._index_holds(m):
                self._jump_to(m, k)
            break
        if offset < self._pos:
            self._rewind()
        while self._pos < offset:
            if not self.read(min(_SKIP_CHUNK, offset - self._pos)):
                break
        return self._pos


# --- writing ----------------------------------------------------------------

class _StreamWriter:
    """One Compressor: zlib, deflate, and zstd/lz4 on one thread."""

    def __init__(self, fp: IO[bytes], codec: str, level: int | None,
                 zstd_dict: Any = None) -> None:
        self._fp = fp
        self._c = Compressor(codec, level, zstd_dict=zstd_dict)

    def write(self, view: memoryview) -> None:
        out = self._c.compress(view)
        if out:
            self._fp.write(out)

    def flush(self) -> None:
        out = self._c.flush("block")
        if out:
            self._fp.write(out)

    def close(self) -> None:
        self._fp.write(self._c.flush())


class _FramesWriter:
    """zstd and lz4 on several threads: blocks of threads x 4 MiB, each
    compressed by fastconc.compress(threads=N) into complete frames."""

    def __init__(self, fp: IO[bytes], codec: str, level: int | None,
                 threads: int, zstd_dict: Any = None) -> None:
        Compressor(codec, level, zstd_dict=zstd_dict)   # check them now
        self._fp = fp
        self._zstd_dict = zstd_dict
        self._codec = codec
        self._level = level
        self._threads = threads
        self._pending = bytearray()
        self._written = False

    def write(self, view: memoryview) -> None:
        """Compress whole blocks straight from the caller's buffer; keep
        the rest for the next write."""
        size = self._threads * _PARALLEL_BLOCK
        pos = 0
        if self._pending:
            pos = min(size - len(self._pending), len(view))
            self._pending += view[:pos]
            if len(self._pending) < size:
                return
            self._compress(self._pending)
            self._pending = bytearray()
        while len(view) - pos >= size:
            self._compress(view[pos:pos + size])
            pos += size
        self._pending += view[pos:]

    def _compress(self, block: Any) -> None:
        if len(block):
            self._fp.write(_core.compress(block, self._codec, self._level,
                                          threads=self._threads,
                                          zstd_dict=self._zstd_dict))
            self._written = True

    def flush(self) -> None:
        self._compress(self._pending)
        self._pending = bytearray()

    def close(self) -> None:
        self.flush()
        if not self._written:
            # An empty file is still one valid stream.
            self._fp.write(_core.compress(b"", self._codec, self._level,
                                          zstd_dict=self._zstd_dict))


class _GzipWriter:
    """One gzip member with gzip.GzipFile's header; inside, blocks of
    _GZIP_BLOCK bytes compressed independently (fastconc.compress's
    layout, see the module docstring), threads x _GZIP_BATCH of them per
    call, so that the bytes do not depend on the thread count.

    A block is compressed once data follows it (so that the last one is
    the final block).  With expected_size and a seekable file, the header
    reserves room for the block index, filled in at close if the file had
    exactly that size and was never flushed.
    """

    def __init__(self, fp: IO[bytes], level: int, threads: int,
                 mtime: int | float | None, name: Any,
                 expected_size: int | None) -> None:
        self._fp = fp
        self._level = level
        self._batch = threads * _GZIP_BATCH * _GZIP_BLOCK
        self._threads = threads
        self._pending = bytearray()
        self._crc = 0
        self._size = 0
        self._entries: list[tuple[int, int, int]] = []
        self._flushed = False
        self._reserved = 0            # blocks the header has room for
        self._index_at = -1           # file offset of the 'F','P' payload
        if mtime is None:
            mtime = time.time()
        mtime = int(mtime)
        if not 0 <= mtime < 1 << 32:
            raise ValueError(f"mtime must be in 0 .. 2**32 - 1, not {mtime}")
        fname = _gzip_fname(name)
        flags = _FNAME if fname else 0
        extra = b""
        if expected_size is not None and expected_size >= 0:
            seekable = False
            try:
                seekable = fp.seekable()
            except (AttributeError, OSError, ValueError):
                pass
            if seekable:
                self._reserved = max(1, -(-expected_size // _GZIP_BLOCK))
                payload = struct.pack("<BBI", _FP_VERSION, 0, _GZIP_BLOCK) \
                    + bytes(4 + self._reserved * _FP_ENTRY)
                if len(payload) + 4 <= 0xFFFF:
                    extra = _FP_ID + struct.pack("<H", len(payload)) + \
                        payload
                    self._index_at = fp.tell() + 10 + 2 + 4
                else:
                    self._reserved = 0
        if extra:
            flags |= _FEXTRA
        xfl = 2 if level == 9 else 4 if level == 1 else 0
        head = b"\x1f\x8b\x08" + struct.pack("<BIBB", flags, mtime, xfl, 255)
        if extra:
            head += struct.pack("<H", len(extra)) + extra
        if fname:
            head += fname + b"\0"
        fp.write(head)
        self.mtime = mtime

    def _blocks(self, data: Any, last: bool) -> None:
        body, blocks = _core._compress_blocks(
            data, "gzip", self._level, block=_GZIP_BLOCK, last=last,
            threads=self._threads)
        self._fp.write(body)
        for _, size, crc in blocks:
            self._crc = _core.crc32_combine(self._crc, crc, size)
            self._size += size
        self._entries += blocks

    def write(self, view: memoryview) -> None:
        pos, n = 0, len(view)
        if self._pending:
            take = min(n, self._batch - len(self._pending))
            self._pending += view[:take]
            pos = take
            if len(self._pending) < self._batch or pos == n:
                return                  # full, but nothing after it yet
            self._blocks(self._pending, False)
            self._pending = bytearray()
        # Whole batches straight from the caller's buffer, while data
        # follows them.
        while n - pos > self._batch:
            self._blocks(view[pos:pos + self._batch], False)
            pos += self._batch
        self._pending += view[pos:]

    def flush(self) -> None:
        """What was written so far decodes (a flush ends the blocks)."""
        if self._pending:
            self._blocks(self._pending, False)
            self._pending = bytearray()
            self._flushed = True

    def close(self) -> None:
        self._blocks(self._pending, True)
        self._pending = bytearray()
        self._fp.write(struct.pack("<II", self._crc,
                                   self._size & 0xFFFFFFFF))
        if self._reserved and not self._flushed and \
                len(self._entries) == self._reserved:
            # The index, now that the blocks are known.
            end = self._fp.tell()
            self._fp.seek(self._index_at)
            flat = [v for e in self._entries for v in e]
            self._fp.write(
                struct.pack("<BBII", _FP_VERSION, _FP_INDEX, _GZIP_BLOCK,
                            len(self._entries))
                + struct.pack(f"<{len(flat)}I", *flat))
            self._fp.seek(end)


class CompressedFile(io.BufferedIOBase):
    """A compressed file as a binary file object (see fastconc.open); a
    drop-in for gzip.GzipFile, for every codec.

    Accepts gzip.GzipFile's arguments too: ``fileobj=`` (the file to use,
    then ``filename`` only names it), ``compresslevel=`` (an alias of
    ``level``), ``mtime=`` (gzip), and ``mode=None`` (the file object's
    mode, else 'rb').  Safe to share between threads: each read and each
    write is done whole under the object's lock (writes keep the
    compressed pieces in order).
    """

    def __init__(self, filename: _StrPath | IO[bytes] | None = None,
                 mode: str | None = None, codec: str | None = None,
                 level: int | None = None, threads: int | None = None, *,
                 compresslevel: int | None = None,
                 fileobj: IO[bytes] | None = None,
                 mtime: int | float | None = None,
                 zstd_dict: Any = None,
                 _expected_size: int | None = None) -> None:
        self._fp: IO[bytes] | None = None
        self._closefp = False
        self._buffer: io.BufferedReader | None = None
        self._writer: Any = None
        self._lock = threading.RLock()
        self._mtime: int | None = None
        _check_codec(codec)
        if fileobj is None and filename is not None and \
                not isinstance(filename, (str, bytes, os.PathLike)) and \
                (hasattr(filename, "read") or hasattr(filename, "write")):
            fileobj, filename = filename, None  # a file object
        if fileobj is None and filename is None:
            raise TypeError("give a file name or a file object (fileobj=)")
        if filename is not None and \
                not isinstance(filename, (str, bytes, os.PathLike)):
            raise TypeError("filename must be a str, bytes or os.PathLike "
                            "object, or a file object, not "
                            f"{type(filename).__name__!r}")
        if mode is None:
            # As gzip.GzipFile: the file object's mode, with its warning
            # when that means writing.
            mode = getattr(fileobj, "mode", "rb") if fileobj is not None \
                else "rb"
            if not isinstance(mode, str) or mode.startswith("r"):
                mode = "rb"
            elif mode[:1] in ("w", "a", "x"):
                mode = mode[0] + "b"
                import warnings
                warnings.warn(
                    "CompressedFile was opened for writing from its file "
                    "object's mode; pass mode= to say so (gzip.GzipFile "
                    "will read by default in future Python releases)",
                    FutureWarning, 2)
        if mode in ("r", "rb"):
            mode, self._writing = "rb", False
        elif mode in ("w", "wb", "x", "xb", "a", "ab"):
            mode, self._writing = mode[0] + "b", True
        else:
            raise ValueError(f"invalid mode: {mode!r} (expected one of r, "
                             "rb, w, wb, x, xb, a, ab)")
        if filename is not None:
            self._name: Any = os.fspath(filename)
        else:
            self._name = getattr(fileobj, "name", "")
            if not isinstance(self._name, (str, bytes)):
                self._name = ""
        if codec is None and self._writing and self._name:
            codec = codec_from_filename(self._name)
        if compresslevel is not None and self._writing:
            if level is not None and level != compresslevel:
                raise TypeError("give level= or compresslevel=, not both")
            level = compresslevel
        if self._writing:
            if codec is None:
                raise ValueError(
                    "cannot tell the codec from the file name "
                    f"{self._name!r}: pass codec= (or use one of the "
                    "extensions " + " ".join(sorted(_EXTENSIONS)) + ")")
            if mode == "ab" and codec not in _CONCATENABLE:
                raise ValueError(f"mode 'a' needs a codec whose streams can "
                                 f"follow one another (gzip, zstd, lz4), "
                                 f"not {codec!r}")
            if mtime is not None and codec != "gzip":
                raise ValueError(f"mtime= applies to gzip only, not "
                                 f"{codec!r}")
            nthreads = _check_threads(threads)
            if nthreads > 1 and codec not in _CONCATENABLE:
                raise ValueError(
                    f"threads={threads} is not supported for {codec!r} "
                    "files: one zlib/deflate stream cannot be split into "
                    "independent parts (use gzip, zstd or lz4, or "
                    "threads=1)")
        if zstd_dict is not None and not isinstance(zstd_dict,
                                                    _core.ZstdDict):
            # Digested once for every member and block of the file.
            zstd_dict = _core.ZstdDict(zstd_dict)
        self._zstd_dict = zstd_dict
        if self._writing:
            # Check codec, level and dictionary before any file is made.
            assert codec is not None
            Compressor(codec, level, zstd_dict=zstd_dict)
        elif level is not None:
            raise ValueError("level= applies to writing only")
        elif _check_threads(threads) > 1:
            raise ValueError(
                "threads > 1 applies to writing only: reading a stream is "
                "sequential (fastconc.decompress(data, threads=N) decodes "
                "fastconc's parallel layout in memory)")
        self._codec = codec
        self._mode = mode
        self._written = 0
        if fileobj is None:
            assert filename is not None
            # Closed by close(), like gzip.GzipFile's own file.
            self._fp = builtins.open(filename, mode)  # noqa: SIM115
            self._closefp = True
        else:
            self._fp = fileobj
        try:
            if self._writing:
                self._writer = self._make_writer(
                    codec, level, _check_threads(threads), mtime,
                    _expected_size)
            else:
                raw = _DecompressReader(self._fp, codec, self._zstd_dict)
                self._buffer = io.BufferedReader(raw, _BUFFER_SIZE)
        except BaseException:
            if self._closefp:
                self._fp.close()
            self._fp = None
            raise

    def _make_writer(self, codec: Any, level: int | None, threads: int,
                     mtime: int | float | None,
                     expected_size: int | None) -> Any:
        assert self._fp is not None
        if codec == "gzip":
            w = _GzipWriter(self._fp, 6 if level is None or level == -1
                            else level, threads, mtime, self._name,
                            expected_size)
            self._mtime = w.mtime
            return w
        if threads > 1:
            return _FramesWriter(self._fp, codec, level, threads,
                                 self._zstd_dict)
        return _StreamWriter(self._fp, codec, level, self._zstd_dict)

    # --- properties ------------------------------------------------------

    @property
    def name(self) -> Any:
        return self._name

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def fileobj(self) -> IO[bytes] | None:
        """The underlying (compressed) file object; None once closed."""
        return self._fp

    @property
    def codec(self) -> str | None:
        """The codec (when reading with codec=None: as detected so far)."""
        buffer = self._buffer       # (close() may clear it meanwhile)
        if buffer is not None and self._codec is None:
            raw: _DecompressReader = buffer.raw  # type: ignore[assignment]
            detected: str | None = raw._dec.codec
            return detected
        return self._codec

    @property
    def mtime(self) -> int | None:
        """gzip: the modification time in the last member header read
        (None before the first read), or the one written."""
        buffer = self._buffer       # (close() may clear it meanwhile)
        if buffer is not None:
            raw: _DecompressReader = buffer.raw  # type: ignore[assignment]
            return raw.mtime
        return self._mtime

    @property
    def closed(self) -> bool:
        return self._fp is None

    def _check_open(self) -> None:
        if self._fp is None:
            raise ValueError("I/O operation on closed file")

    def _check_reading(self) -> io.BufferedReader:
        self._check_open()
        if self._buffer is None:
            raise io.UnsupportedOperation("not readable (opened for "
                                          "writing)")
        return self._buffer

    def _check_writing(self) -> None:
        self._check_open()
        if not self._writing:
            raise io.UnsupportedOperation("not writable (opened for "
                                          "reading)")

    def readable(self) -> bool:
        self._check_open()
        return not self._writing

    def writable(self) -> bool:
        self._check_open()
        return self._writing

    def seekable(self) -> bool:
        """True, as for gzip.GzipFile: reading seeks both ways (backward
        from the start or through the index), writing forward only."""
        self._check_open()
        return True

    def fileno(self) -> int:
        fp = self._fp               # (close() may clear it meanwhile)
        if fp is None:
            raise ValueError("I/O operation on closed file")
        return fp.fileno()

    # --- reading ---------------------------------------------------------

    # Every read takes self._lock: io.BufferedReader's fast paths (read()
    # and readinto() from what is buffered) run outside its own lock, so
    # threads that share it can lose or tear data, with the GIL (mixing
    # read and readinto) and more so without it (free-threaded builds).

    def read(self, size: int | None = -1) -> bytes:
        with self._lock:
            return self._check_reading().read(size)

    def read1(self, size: int = -1) -> bytes:
        with self._lock:
            return self._check_reading().read1(size)

    def readinto(self, b: Any) -> int:
        with self._lock:
            return self._check_reading().readinto(b)

    def readinto1(self, b: Any) -> int:
        with self._lock:
            return self._check_reading().readinto1(b)

    def peek(self, n: int = 0) -> bytes:
        with self._lock:
            return self._check_reading().peek(n)

    def readline(self, size: int | None = -1) -> bytes:
        with self._lock:
            return self._check_reading().readline(size)

    def __iter__(self) -> CompressedFile:
        self._check_reading()
        return self

    def __next__(self) -> bytes:
        with self._lock:
            line = self._check_reading().readline()
        if not line:
            raise StopIteration
        return line

    # --- writing ---------------------------------------------------------

    def write(self, data: Any) -> int:
        self._check_writing()
        with memoryview(data) as view:
            n = view.nbytes
            with self._lock:
                self._check_open()
                with view.cast("B") as flat:
                    self._writer.write(flat)
                self._written += n
        return n

    def flush(self) -> None:
        """Write out everything written so far as complete compressed
        blocks (a reader can decode it all), then flush the underlying
        file.  The stream goes on; close() ends it."""
        self._check_open()
        if self._writing:
            with self._lock:
                self._check_open()      # (closed by another thread?)
                self._writer.flush()
                self._fp.flush()  # type: ignore[union-attr]

    # --- positions -------------------------------------------------------

    def tell(self) -> int:
        """Position in the uncompressed data."""
        with self._lock:
            self._check_open()
            if self._writing:
                return self._written
            return self._check_reading().tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Go to a position in the uncompressed data.  Reading: forward by
        decoding, backward by decoding again from the start, or through
        the verified block index of a gzip file fastconc wrote.
        Writing: forward only, writing zeros (as gzip.GzipFile)."""
        with self._lock:
            self._check_open()
            if not self._writing:
                return self._check_reading().seek(offset, whence)
            if whence == io.SEEK_CUR:
                offset += self._written
            elif whence != io.SEEK_SET:
                raise ValueError("Seek from end not supported")
            if offset < self._written:
                raise OSError("Negative seek in write mode")
            count = offset - self._written
            chunk = bytes(min(count, 1 << 20))
            while count > 0:
                n = min(count, len(chunk))
                self.write(chunk[:n] if n < len(chunk) else chunk)
                count -= n
            return self._written

    # --- closing ---------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            fp = self._fp
            if fp is None:
                return
            try:
                if self._writing:
                    self._writer.close()
                elif self._buffer is not None:
                    self._buffer.close()
            finally:
                self._fp = None
                self._buffer = None
                self._writer = None
                if self._closefp:
                    fp.close()

    def __repr__(self) -> str:
        state = "closed " if self.closed else ""
        return (f"<{state}fastconc.CompressedFile name={self._name!r} "
                f"mode={self._mode!r} codec={self._codec!r}>")


@overload
def open(filename: _StrPath | IO[bytes], mode: _BinaryMode = "rb",
         codec: str | None = None, level: int | None = None,
         threads: int | None = None, *, encoding: None = None,
         errors: None = None, newline: None = None,
         compresslevel: int | None = None,
         mtime: int | float | None = None,
         zstd_dict: Any = None) -> CompressedFile: ...


@overload
def open(filename: _StrPath | IO[bytes], mode: _TextMode,
         codec: str | None = None, level: int | None = None,
         threads: int | None = None, *, encoding: str | None = None,
         errors: str | None = None, newline: str | None = None,
         compresslevel: int | None = None,
         mtime: int | float | None = None,
         zstd_dict: Any = None) -> io.TextIOWrapper: ...


@overload
def open(filename: _StrPath | IO[bytes], mode: str = "rb",
         codec: str | None = None, level: int | None = None,
         threads: int | None = None, *, encoding: str | None = None,
         errors: str | None = None, newline: str | None = None,
         compresslevel: int | None = None,
         mtime: int | float | None = None,
         zstd_dict: Any = None
         ) -> CompressedFile | io.TextIOWrapper: ...


def open(filename: _StrPath | IO[bytes], mode: str = "rb",
         codec: str | None = None, level: int | None = None,
         threads: int | None = None, *, encoding: str | None = None,
         errors: str | None = None, newline: str | None = None,
         compresslevel: int | None = None,
         mtime: int | float | None = None,
         zstd_dict: Any = None
         ) -> CompressedFile | io.TextIOWrapper:
    """Open a compressed file in binary or text mode (like gzip.open).

    filename: a path (str, bytes, os.PathLike) or a file object.
    mode: 'r', 'rb', 'w', 'wb', 'x', 'xb', 'a', 'ab' (binary, the default
      'rb') or 'rt', 'wt', 'xt', 'at' (text: encoding/errors/newline as in
      the builtin open()).
    codec: 'zlib', 'deflate', 'gzip', 'zstd' or 'lz4'; None: from the
      extension when writing (.gz .zst .lz4 .zz .zlib .deflate), from the
      magic bytes when reading.
    level: the codec's compression level (writing only); compresslevel=
      is gzip.open's name for it.
    threads: writing only: > 1 compresses that many blocks at a time (gzip
      blocks inside one member, zstd frames, lz4 frames of independent
      blocks); not for zlib/deflate, whose one stream cannot be split.
    mtime: gzip, writing: the header's modification time (default: now).
    zstd_dict: zstd only: a ZstdDict (see train_zstd_dict) or a
      dictionary's bytes, used for every frame written or read.

    The file object seeks (both ways when reading, forward when writing)
    and has gzip.GzipFile's mtime; see CompressedFile.
    """
    if not isinstance(mode, str):
        raise TypeError(f"mode must be a str, not {type(mode).__name__!r}")
    if "t" in mode:
        if "b" in mode:
            raise ValueError(f"invalid mode: {mode!r}")
    else:
        if encoding is not None:
            raise ValueError("argument 'encoding' not supported in binary "
                             "mode")
        if errors is not None:
            raise ValueError("argument 'errors' not supported in binary "
                             "mode")
        if newline is not None:
            raise ValueError("argument 'newline' not supported in binary "
                             "mode")
    if isinstance(filename, (str, bytes, os.PathLike)):
        binary = CompressedFile(filename, mode.replace("t", ""), codec, level,
                                threads, compresslevel=compresslevel,
                                mtime=mtime, zstd_dict=zstd_dict)
    elif hasattr(filename, "read") or hasattr(filename, "write"):
        binary = CompressedFile(None, mode.replace("t", ""), codec, level,
                                threads, compresslevel=compresslevel,
                                fileobj=filename, mtime=mtime,
                                zstd_dict=zstd_dict)
    else:
        raise TypeError("filename must be a str, bytes or os.PathLike "
                        "object, or a file object, not "
                        f"{type(filename).__name__!r}")
    if "t" in mode:
        if sys.version_info >= (3, 10):
            encoding = io.text_encoding(encoding)
        return io.TextIOWrapper(binary, encoding, errors, newline)
    return binary
