"""fastconc.open(): compressed files as binary (or text) file objects.

Like gzip.open / bz2.open, for every fastconc codec.  Reading chains one
``Decompressor`` per gzip member / zstd frame / lz4 frame, so concatenated
files are read in full; a file that ends inside a stream raises
DecompressionError (nothing is ever silently truncated).  Writing feeds a
``Compressor``, or with ``threads > 1`` compresses blocks of threads x 4 MiB
in parallel with ``fastconc.compress(..., threads=N)``: each block becomes
complete gzip members / zstd frames / an lz4 frame, which every standard
reader decodes as one file and ``fastconc.decompress(..., threads=N)`` can
decode in parallel.  (For one zstd stream with libzstd's workers, use
``Compressor("zstd", threads=N)``.)

Codec from the file name when ``codec`` is None:
    .gz .gzip .tgz -> gzip, .zst .zstd -> zstd, .lz4 -> lz4,
    .zz .zlib -> zlib, .deflate -> deflate (raw).
Reading with codec=None detects gzip/zstd/lz4/zlib from the magic bytes
whatever the name (raw deflate must be named: codec="deflate").
"""
from __future__ import annotations

import builtins
import io
import os
import sys
import threading
from typing import IO, Any, Literal, Union, overload

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


class _DecompressReader(io.RawIOBase):
    """Raw reader under CompressedFile's BufferedReader: decompresses member
    after member until the compressed file ends."""

    def __init__(self, fp: IO[bytes], codec: str | None) -> None:
        self._fp = fp
        self._codec = codec
        self._dec = Decompressor(codec)
        self._pos = 0                # uncompressed bytes returned
        self._member_start = 0       # compressed offset of this member
        self._member_in = 0          # compressed bytes fed to this member
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        with memoryview(b) as view, view.cast("B") as out:
            data = self.read(len(out))
            out[:len(data)] = data
        return len(data)

    def _feed(self, data: bytes, size: int) -> bytes:
        self._member_in += len(data)
        try:
            return self._dec.decompress(data, size)
        except DecompressionError as exc:
            name = getattr(self._fp, "name", None)
            where = f"{name}: " if isinstance(name, str) else ""
            raise type(exc)(
                f"{where}{exc} (in the member/frame starting at compressed "
                f"offset {self._member_start})") from exc

    def _next_member(self) -> bytes:
        """Start a new Decompressor on what follows the finished member;
        returns its first compressed bytes, or b"" at the end of the file."""
        rest = self._dec.unused_data
        self._member_start += self._member_in - len(rest)
        self._member_in = 0
        codec = self._dec.codec
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
            raise DecompressionError(
                f"{codec}: unexpected data after the end of the stream at "
                f"compressed offset {self._member_start}")
        self._dec = Decompressor(self._codec)
        return rest

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        if size == 0 or self._eof:
            return b""
        data = b""
        while not data:
            if self._dec.eof:
                rest = self._next_member()
                if not rest:
                    self._eof = True
                    return b""
                data = self._feed(rest, size)
            elif self._dec.needs_input:
                chunk = self._fp.read(_READ_CHUNK)
                if not chunk:
                    if self._member_in == 0 and self._member_start == 0:
                        self._eof = True      # an empty file: no data
                        return b""
                    codec = self._dec.codec or self._codec or "unknown codec"
                    raise DecompressionError(
                        f"{codec}: truncated input: the compressed file ends "
                        f"inside the member/frame starting at offset "
                        f"{self._member_start} (after "
                        f"{self._member_start + self._member_in} bytes)")
                data = self._feed(chunk, size)
            else:
                data = self._feed(b"", size)
        self._pos += len(data)
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


class CompressedFile(io.BufferedIOBase):
    """A compressed file as a binary file object (see fastconc.open).

    Not seekable.  Safe to share between threads: each read and each write
    is done whole under the object's lock (writes keep the compressed
    pieces in order).
    """

    def __init__(self, filename: _StrPath | IO[bytes], mode: str = "rb",
                 codec: str | None = None, level: int | None = None,
                 threads: int | None = None) -> None:
        self._fp: IO[bytes] | None = None
        self._closefp = False
        self._buffer: io.BufferedReader | None = None
        self._compressor: Any = None
        self._lock = threading.RLock()
        _check_codec(codec)
        if mode in ("r", "rb"):
            mode, self._writing = "rb", False
        elif mode in ("w", "wb", "x", "xb", "a", "ab"):
            mode, self._writing = mode[0] + "b", True
        else:
            raise ValueError(f"invalid mode: {mode!r} (expected one of r, "
                             "rb, w, wb, x, xb, a, ab)")
        if isinstance(filename, (str, bytes, os.PathLike)):
            self._name: Any = os.fspath(filename)
            if codec is None and self._writing:
                codec = codec_from_filename(filename)
        elif hasattr(filename, "read") or hasattr(filename, "write"):
            self._name = getattr(filename, "name", "")
            if (codec is None and self._writing
                    and isinstance(self._name, (str, bytes))
                    and self._name):
                codec = codec_from_filename(self._name)
        else:
            raise TypeError("filename must be a str, bytes or os.PathLike "
                            "object, or a file object, not "
                            f"{type(filename).__name__!r}")
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
        elif level is not None:
            raise ValueError("level= applies to writing only")
        self._codec = codec
        self._mode = mode
        self._parallel = 0
        self._pending = bytearray()     # parallel mode: the next block
        self._written = 0
        if self._writing:
            self._setup_writer(codec, level, threads)  # type: ignore[arg-type]
        elif _check_threads(threads) > 1:
            raise ValueError(
                "threads > 1 applies to writing only: reading a stream is "
                "sequential (fastconc.decompress(data, threads=N) decodes "
                "fastconc's parallel layout in memory)")
        if isinstance(filename, (str, bytes, os.PathLike)):
            # Closed by close(), like gzip.GzipFile's own file.
            self._fp = builtins.open(filename, mode)  # noqa: SIM115
            self._closefp = True
        else:
            self._fp = filename
        if not self._writing:
            raw = _DecompressReader(self._fp, codec)
            self._buffer = io.BufferedReader(raw, _BUFFER_SIZE)

    def _setup_writer(self, codec: str, level: int | None,
                      threads: int | None) -> None:
        if _check_threads(threads) == 1:
            self._compressor = Compressor(codec, level)
            return
        if codec not in _CONCATENABLE:
            raise ValueError(
                f"threads={threads} is not supported for {codec!r} files: "
                "one zlib/deflate stream cannot be split into independent "
                "parts (use gzip, zstd or lz4, or threads=1)")
        # Validate codec and level now rather than at the first block.
        Compressor(codec, level)
        self._wcodec = codec
        self._parallel = _check_threads(threads)
        self._level = level

    # --- properties ------------------------------------------------------

    @property
    def name(self) -> Any:
        return self._name

    @property
    def mode(self) -> str:
        return self._mode

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
        self._check_open()
        return False

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
                if self._parallel:
                    self._write_blocks(view.cast("B"))
                else:
                    out = self._compressor.compress(view)
                    if out:
                        self._fp.write(out)  # type: ignore[union-attr]
                self._written += n
        return n

    def _write_blocks(self, view: memoryview) -> None:
        """Compress whole blocks of threads x 4 MiB straight from the
        caller's buffer; keep the rest for the next write."""
        size = self._parallel * _PARALLEL_BLOCK
        pos = 0
        if self._pending:
            pos = min(size - len(self._pending), len(view))
            self._pending += view[:pos]
            if len(self._pending) < size:
                return
            self._write_parallel(self._pending)
            self._pending = bytearray()
        while len(view) - pos >= size:
            self._write_parallel(view[pos:pos + size])
            pos += size
        self._pending += view[pos:]

    def _write_parallel(self, block: Any) -> None:
        if len(block):
            out = _core.compress(block, self._wcodec, self._level,
                                 threads=self._parallel)
            self._fp.write(out)  # type: ignore[union-attr]

    def flush(self) -> None:
        """Write out everything written so far as complete compressed
        blocks (a reader can decode it all), then flush the underlying
        file.  The stream goes on; close() ends it."""
        self._check_open()
        if self._writing:
            with self._lock:
                self._check_open()      # (closed by another thread?)
                if self._parallel:
                    self._write_parallel(self._pending)
                    self._pending = bytearray()
                else:
                    out = self._compressor.flush("block")
                    if out:
                        self._fp.write(out)  # type: ignore[union-attr]
                self._fp.flush()  # type: ignore[union-attr]

    def tell(self) -> int:
        """Position in the uncompressed data."""
        with self._lock:
            self._check_open()
            if self._writing:
                return self._written
            return self._check_reading().tell()

    # --- closing ---------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            fp = self._fp
            if fp is None:
                return
            try:
                if self._writing:
                    if self._parallel:
                        self._write_parallel(self._pending)
                        self._pending = bytearray()
                        if self._written == 0:
                            # An empty file is still one valid stream.
                            fp.write(_core.compress(b"", self._wcodec,
                                                    self._level))
                    else:
                        fp.write(self._compressor.flush())
                elif self._buffer is not None:
                    self._buffer.close()
            finally:
                self._fp = None
                self._buffer = None
                self._compressor = None
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
         errors: None = None, newline: None = None) -> CompressedFile: ...


@overload
def open(filename: _StrPath | IO[bytes], mode: _TextMode,
         codec: str | None = None, level: int | None = None,
         threads: int | None = None, *, encoding: str | None = None,
         errors: str | None = None, newline: str | None = None
         ) -> io.TextIOWrapper: ...


@overload
def open(filename: _StrPath | IO[bytes], mode: str = "rb",
         codec: str | None = None, level: int | None = None,
         threads: int | None = None, *, encoding: str | None = None,
         errors: str | None = None, newline: str | None = None
         ) -> CompressedFile | io.TextIOWrapper: ...


def open(filename: _StrPath | IO[bytes], mode: str = "rb",
         codec: str | None = None, level: int | None = None,
         threads: int | None = None, *, encoding: str | None = None,
         errors: str | None = None, newline: str | None = None
         ) -> CompressedFile | io.TextIOWrapper:
    """Open a compressed file in binary or text mode.

    filename: a path (str, bytes, os.PathLike) or a file object.
    mode: 'r', 'rb', 'w', 'wb', 'x', 'xb', 'a', 'ab' (binary, the default
      'rb') or 'rt', 'wt', 'xt', 'at' (text: encoding/errors/newline as in
      the builtin open()).
    codec: 'zlib', 'deflate', 'gzip', 'zstd' or 'lz4'; None: from the
      extension when writing (.gz .zst .lz4 .zz .zlib .deflate), from the
      magic bytes when reading.
    level: the codec's compression level (writing only).
    threads: writing only: > 1 compresses blocks of threads x 4 MiB in
      parallel (gzip members, zstd frames, lz4 frames of independent
      blocks); not for zlib/deflate, whose one stream cannot be split.
    """
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
    binary = CompressedFile(filename, mode.replace("t", ""), codec, level,
                            threads)
    if "t" in mode:
        if sys.version_info >= (3, 10):
            encoding = io.text_encoding(encoding)
        return io.TextIOWrapper(binary, encoding, errors, newline)
    return binary
