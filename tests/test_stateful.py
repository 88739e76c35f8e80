"""Stateful tests (hypothesis RuleBasedStateMachine): random sequences of
calls on fastconc's stateful objects, each driven side by side with the
reference object given the same sequence.

  CompressorMachine    Compressor vs zlib.compressobj, zstandard's
                       compressobj, lz4.frame.LZ4FrameCompressor:
                       compress (any size, any buffer), flush('block'),
                       flush('end'), use after the end, a new stream;
                       after every flush each side's output so far reads
                       back (fastconc's with the reference decoder, the
                       reference's with fastconc's Decompressor).
  DecompressorMachine  Decompressor (max_output_size or not) vs
                       zlib.decompressobj, zstandard's decompressobj,
                       LZ4FrameDecompressor: feed pieces with max_length,
                       drain with b"", data after the end; output,
                       eof, needs_input, unused_data.
  HashMachine          fastconc.new(name), the named constructors,
                       xxh*(seed=), blake3(key= / derive_key_context=) vs
                       hashlib, xxhash, blake3: update, copy (both sides),
                       digest, hexdigest, intdigest, XOF reads, reset.
  WriterMachine        fastconc.open(..., "wb", threads 1-3) vs
                       gzip.GzipFile (gzip) or io.BytesIO (the plaintext):
                       write, writelines, flush (what was written so far
                       reads back), tell, close, use after close.
  ReaderMachine        fastconc.open(..., "rb") on one or several
                       members/frames vs gzip.GzipFile or io.BytesIO:
                       read, read1, readline, readlines, readinto,
                       readinto1, peek, iteration, tell, seek (rules that
                       run once the file is seekable, #23; today seek must
                       raise io.UnsupportedOperation), close.

The default settings keep the five machines to a few seconds each;
HYPOTHESIS_PROFILE=fuzz (make fuzz) runs far more and longer sequences.
Defects already filed are tolerated through the switches in
tests/fuzz/_decompress.py (KNOWN_*), one place for the fuzzers and these.
"""
import gzip
import hashlib
import io
import os
import sys
import zlib

import pytest

import fastconc

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import (  # noqa: E402
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "fuzz"))
import _decompress  # noqa: E402
import _reference as ref_lib  # noqa: E402
from _common import Input  # noqa: E402

zstandard = ref_lib.zstandard
lz4frame = ref_lib.lz4frame
try:
    import xxhash
except ImportError:
    xxhash = None
try:
    import blake3 as blake3_pkg
except ImportError:
    blake3_pkg = None

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
SETTINGS = settings(
    max_examples=300 if LONG else 12,
    stateful_step_count=80 if LONG else 20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
)
# Codecs with a reference installed.
CODECS = [c for c in ref_lib.CODECS if ref_lib.available(c)]
SEEDED = ("xxh32", "xxh64", "xxh3_64", "xxh3_128")


def payloads():
    """Small binary, or a repeated pattern up to ~300 KB (past the
    128 KiB buffers, several lz4 blocks, many deflate blocks)."""
    small = st.binary(max_size=2000)
    big = st.builds(lambda b, n: b * n, st.binary(min_size=1, max_size=100),
                    st.integers(1, 3000))
    return st.one_of(small, small, big)


def as_buffer(data, kind):
    if kind == "bytearray":
        return bytearray(data)
    if kind == "memoryview":
        return memoryview(data)
    return data


buffers = st.sampled_from(["bytes", "bytearray", "memoryview"])
max_lengths = st.sampled_from([-1, 0, 1, 7, 100, 4096, 65536])


def level_for(codec, draw_index):
    levels = [None, *ref_lib.LEVELS[codec]]
    level = levels[draw_index % len(levels)]
    if codec == "zstd" and level is not None and level > 6:
        # A zstd stream of unknown size sets up the level's whole window
        # (~0.2-10 s from level 9 on): the high levels make the run long
        # and test nothing the one-shot tests do not.
        level = 6
    return level


# --- reference streaming compressors ---------------------------------------

class RefCompressor:
    """The reference library's streaming compressor, behind one interface:
    compress(), flush_block() (everything so far decodable), finish()."""

    def __init__(self, codec, level):
        self.codec = codec
        if codec in ref_lib.WBITS:
            self.obj = zlib.compressobj(-1 if level is None else level,
                                        zlib.DEFLATED, ref_lib.WBITS[codec])
            self.head = b""
        elif codec == "zstd":
            self.obj = zstandard.ZstdCompressor(
                level=3 if level is None else level).compressobj()
            self.head = b""
        else:
            self.obj = lz4frame.LZ4FrameCompressor(
                compression_level=0 if level is None else level,
                auto_flush=True)
            self.head = self.obj.begin()

    def compress(self, data):
        head, self.head = self.head, b""
        return head + self.obj.compress(data)

    def flush_block(self):
        head, self.head = self.head, b""
        if self.codec in ref_lib.WBITS:
            return head + self.obj.flush(zlib.Z_SYNC_FLUSH)
        if self.codec == "zstd":
            return head + self.obj.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        return head            # auto_flush: every compress() ends a block

    def finish(self):
        head, self.head = self.head, b""
        return head + self.obj.flush()


class CompressorMachine(RuleBasedStateMachine):
    @initialize(codec=st.sampled_from(CODECS), level=st.integers(0, 40),
                threads=st.sampled_from([None, 1, 2, 3]))
    def start(self, codec, level, threads):
        self.codec = codec
        self.level = level_for(codec, level)
        self.threads = threads if codec == "zstd" else None
        self.new_stream()

    def new_stream(self):
        self.c = fastconc.Compressor(self.codec, self.level, self.threads)
        self.r = RefCompressor(self.codec, self.level)
        self.ours = bytearray()
        self.theirs = bytearray()
        self.data = bytearray()
        self.ended = False

    @invariant()
    def attributes(self):
        if hasattr(self, "c"):
            assert self.c.codec == self.codec
            want = self.level
            if self.codec in ref_lib.WBITS and want == -1:
                want = 6                # zlib's Z_DEFAULT_COMPRESSION
            elif self.codec == "zstd" and want == 0:
                want = 3                # zstd's level 0: its default
            if want is not None:
                assert self.c.level == want

    @precondition(lambda self: not self.ended)
    @rule(data=payloads(), kind=buffers)
    def compress(self, data, kind):
        self.ours += self.c.compress(as_buffer(data, kind))
        self.theirs += self.r.compress(data)
        self.data += data

    @precondition(lambda self: not self.ended)
    @rule()
    def flush_block(self):
        self.ours += self.c.flush("block")
        self.theirs += self.r.flush_block()
        want = bytes(self.data)
        assert ref_lib.read_streams(self.codec, bytes(self.ours),
                                    complete=False) == want
        d = fastconc.Decompressor(self.codec)
        assert d.decompress(bytes(self.theirs)) == want
        assert not d.eof

    @precondition(lambda self: not self.ended)
    @rule()
    def finish(self):
        self.ours += self.c.flush("end")
        self.theirs += self.r.finish()
        self.ended = True
        want = bytes(self.data)
        assert ref_lib.read_streams(self.codec, bytes(self.ours)) == want
        assert fastconc.decompress(bytes(self.theirs), self.codec) == want
        d = fastconc.Decompressor(self.codec)
        assert d.decompress(bytes(self.ours)) == want
        assert d.eof and d.unused_data == b""

    @precondition(lambda self: self.ended)
    @rule(call=st.sampled_from(["compress", "flush_block", "flush_end"]))
    def use_after_end(self, call):
        with pytest.raises(ValueError):
            if call == "compress":
                self.c.compress(b"x")
            else:
                self.c.flush("block" if call == "flush_block" else "end")

    @precondition(lambda self: self.ended)
    @rule()
    def restart(self):
        self.new_stream()


# --- decompressor --------------------------------------------------------------

def ref_decompressor(codec):
    if codec in ref_lib.WBITS:
        return zlib.decompressobj(ref_lib.WBITS[codec])
    if codec == "zstd":
        return zstandard.ZstdDecompressor().decompressobj()
    return lz4frame.LZ4FrameDecompressor()


class DecompressorMachine(RuleBasedStateMachine):
    @initialize(codec=st.sampled_from(CODECS), data=payloads(),
                source=st.sampled_from(["reference", "fastconc"]),
                opts=st.binary(min_size=24, max_size=24),
                tail=st.binary(max_size=40),
                bound=st.one_of(st.none(), st.none(), st.integers(0, 400_000)))
    def start(self, codec, data, source, opts, tail, bound):
        if source == "reference":
            blob = ref_lib.ref_compress(codec, data, Input(opts), honest=True)
        else:
            blob = fastconc.compress(data, codec, level_for(codec, opts[0]))
        self.codec = codec
        self.data = data
        self.blob = blob
        self.stream = blob + tail
        self.bound = bound
        self.d = (fastconc.Decompressor(codec) if bound is None else
                  fastconc.Decompressor(codec, max_output_size=bound))
        self.r = ref_decompressor(codec)
        self.pos = 0
        self.out = bytearray()
        self.rout = bytearray()
        self.r_unused = b""
        self.over = False         # OutputSizeError raised: done

    def feed_reference(self, piece):
        r = self.r
        if self.codec in ref_lib.WBITS:
            self.rout += r.decompress(piece)
        elif getattr(r, "eof", False):
            self.r_unused += piece
        else:
            self.rout += r.decompress(piece)

    def reference_unused(self):
        if self.codec in ref_lib.WBITS:
            return self.r.unused_data
        return (self.r.unused_data or b"") + self.r_unused

    def call(self, piece, max_length):
        try:
            got = self.d.decompress(piece, max_length)
        except fastconc.OutputSizeError:
            assert self.bound is not None and len(self.data) > self.bound
            self.over = True
            return b""
        if max_length >= 0:
            assert len(got) <= max_length
        self.out += got
        return got

    @precondition(lambda self: not self.d.eof and not self.over
                  and self.pos < len(self.stream))
    @rule(n=st.one_of(st.integers(0, 64), st.integers(0, 70_000)),
          max_length=max_lengths, kind=buffers)
    def feed(self, n, max_length, kind):
        piece = self.stream[self.pos:self.pos + n]
        self.pos += len(piece)
        self.feed_reference(piece)
        self.call(as_buffer(piece, kind), max_length)

    @precondition(lambda self: not self.d.eof and not self.over
                  and not self.d.needs_input)
    @rule(max_length=max_lengths.filter(lambda n: n != 0))
    def drain(self, max_length):
        # needs_input may be False without output pending (after
        # max_length=0, as lzma's object does); a drain that gives nothing
        # must then set it, or a caller draining until it is True spins.
        before = len(self.out)
        self.call(b"", max_length)
        assert (self.over or self.d.eof or len(self.out) > before
                or self.d.needs_input), \
            "decompress(b'') gave nothing and needs_input stays False"

    @rule()
    def properties(self):
        assert isinstance(self.d.eof, bool)
        assert isinstance(self.d.needs_input, bool)
        assert isinstance(self.d.unused_data, bytes)
        assert self.d.codec in (self.codec, None)

    @precondition(lambda self: self.d.eof)
    @rule(data=st.binary(min_size=1, max_size=10))
    def after_end(self, data):
        with pytest.raises(EOFError):
            self.d.decompress(data)

    @invariant()
    def consistent(self):
        if not hasattr(self, "d"):
            return
        if self.bound is not None:
            assert len(self.out) <= self.bound
        assert self.data.startswith(bytes(self.out))
        if self.over:
            return
        if self.d.eof:
            assert bytes(self.out) == self.data
            assert not self.d.needs_input
            fed_after = self.stream[len(self.blob):self.pos]
            unused = self.d.unused_data
            if (_decompress.KNOWN_STREAM_UNUSED_LOST
                    and self.codec in ("zlib", "deflate")
                    and fed_after.endswith(unused)
                    and len(fed_after) - len(unused) <= 8):
                return        # test_unused_data_after_max_length_drain
            assert unused == fed_after
            if self.pos == len(self.stream):
                assert bytes(self.rout) == self.data
                assert self.reference_unused() == fed_after
        elif self.pos >= len(self.blob) and self.d.needs_input:
            raise AssertionError("the whole stream was given and drained, "
                                 "but eof is False")


# --- hash objects -----------------------------------------------------------------

class Pair:
    def __init__(self, name, ours, theirs):
        self.name, self.ours, self.theirs = name, ours, theirs

    def __repr__(self):
        return f"Pair({self.name})"


def hash_names():
    names = sorted(fastconc.algorithms_available)
    return [n for n in names if (n not in SEEDED or xxhash is not None)
            and (n != "blake3" or blake3_pkg is not None)
            and (n in SEEDED or n == "blake3"
                 or n in hashlib.algorithms_available)]


class HashMachine(RuleBasedStateMachine):
    hashes = Bundle("hashes")

    @rule(target=hashes, name=st.sampled_from(hash_names()), data=payloads(),
          seed=st.one_of(st.just(0), st.integers(0, 2**64 - 1)),
          how=st.sampled_from(["new", "constructor"]),
          mode=st.sampled_from(["hash", "keyed", "derive"]),
          key=st.binary(min_size=32, max_size=32),
          context=st.text(max_size=20))
    def create(self, name, data, seed, how, mode, key, context):
        if name in SEEDED:
            ours = (fastconc.new(name, data, seed=seed) if how == "new" else
                    getattr(fastconc, name)(data, seed=seed))
            theirs = getattr(xxhash, name)(data, seed=seed)
        elif name == "blake3":
            kw = ({"key": key} if mode == "keyed" else
                  {"derive_key_context": context} if mode == "derive" else {})
            ours = (fastconc.new(name, data) if how == "new" and not kw else
                    fastconc.blake3(data, **kw))
            theirs = blake3_pkg.blake3(data, **kw)
        else:
            ours = (fastconc.new(name, data) if how == "new" else
                    getattr(fastconc, name)(data))
            theirs = hashlib.new(name, data)
        return Pair(name, ours, theirs)

    @rule(h=hashes, data=payloads(), kind=buffers)
    def update(self, h, data, kind):
        h.ours.update(as_buffer(data, kind))
        h.theirs.update(data)

    @rule(target=hashes, h=hashes)
    def copy(self, h):
        return Pair(h.name, h.ours.copy(), h.theirs.copy())

    @rule(h=hashes)
    def digest(self, h):
        d = h.ours.digest()
        assert d == h.theirs.digest(), h.name
        assert h.ours.hexdigest() == h.theirs.hexdigest() == d.hex()
        assert h.ours.digest() == d
        assert h.ours.digest_size == h.theirs.digest_size == len(d)
        if h.name in SEEDED:
            assert h.ours.intdigest() == h.theirs.intdigest()
        elif h.name != "blake3":
            assert h.ours.name == h.theirs.name
            assert h.ours.block_size == h.theirs.block_size

    @precondition(lambda self: blake3_pkg is not None)
    @rule(h=hashes, length=st.integers(0, 3000),
          seek=st.one_of(st.integers(0, 5000), st.integers(0, 2**64 - 1)))
    def xof(self, h, length, seek):
        if h.name != "blake3":
            return
        assert (h.ours.digest(length, seek=seek) ==
                h.theirs.digest(length=length, seek=seek))

    @precondition(lambda self: blake3_pkg is not None)
    @rule(h=hashes)
    def reset(self, h):
        if h.name != "blake3":
            return
        h.ours.reset()
        h.theirs.reset()


# --- CompressedFile -----------------------------------------------------------------

class WriterMachine(RuleBasedStateMachine):
    @initialize(codec=st.sampled_from(CODECS), level=st.integers(0, 40),
                threads=st.sampled_from([None, 1, 2, 3]))
    def start(self, codec, level, threads):
        self.codec = codec
        self.level = level_for(codec, level)
        if codec in ("zlib", "deflate"):
            threads = None
        self.buf = io.BytesIO()
        self.f = fastconc.open(self.buf, "wb", codec, self.level, threads)
        if codec == "gzip":
            self.rbuf = io.BytesIO()
            self.ref = gzip.GzipFile(fileobj=self.rbuf, mode="wb",
                                     compresslevel=9 if self.level in (None, -1)
                                     else self.level)
        else:
            self.rbuf = None
            self.ref = io.BytesIO()
        self.data = bytearray()

    def reference_bytes(self):
        if self.rbuf is None:
            return bytes(self.ref.getvalue())
        return zlib.decompressobj(31).decompress(self.rbuf.getvalue())

    @precondition(lambda self: not self.f.closed)
    @rule(data=payloads(), kind=buffers)
    def write(self, data, kind):
        assert self.f.write(as_buffer(data, kind)) == len(data)
        self.ref.write(data)
        self.data += data

    @precondition(lambda self: not self.f.closed)
    @rule(lines=st.lists(st.binary(max_size=300), max_size=5))
    def writelines(self, lines):
        self.f.writelines(lines)
        self.ref.writelines(lines)
        self.data += b"".join(lines)

    @precondition(lambda self: not self.f.closed)
    @rule()
    def flush(self):
        self.f.flush()
        self.ref.flush()
        want = bytes(self.data)
        assert ref_lib.read_streams(self.codec, self.buf.getvalue(),
                                    complete=False) == want
        assert self.reference_bytes() == want

    @precondition(lambda self: not self.f.closed)
    @rule()
    def tell(self):
        assert self.f.tell() == self.ref.tell() == len(self.data)

    @precondition(lambda self: not self.f.closed)
    @rule()
    def modes(self):
        assert self.f.writable() and not self.f.readable()
        with pytest.raises(io.UnsupportedOperation):
            self.f.read(1)

    @precondition(lambda self: not self.f.closed)
    @rule()
    def close(self):
        self.f.close()
        if self.rbuf is not None:
            self.ref.close()
            assert gzip.decompress(self.rbuf.getvalue()) == bytes(self.data)
        assert self.f.closed
        got = ref_lib.read_streams(self.codec, self.buf.getvalue())
        assert got == bytes(self.data)
        self.f.close()          # a second close is harmless

    @precondition(lambda self: self.f.closed)
    @rule(call=st.sampled_from(["write", "flush", "tell", "writable"]))
    def use_after_close(self, call):
        with pytest.raises(ValueError):
            if call == "write":
                self.f.write(b"x")
            else:
                getattr(self.f, call)()


class ReaderMachine(RuleBasedStateMachine):
    @initialize(codec=st.sampled_from(CODECS), data=payloads(),
                parts=st.integers(1, 3), source=st.sampled_from(
                    ["fastconc", "reference", "parallel"]),
                opts=st.binary(min_size=24, max_size=24))
    def start(self, codec, data, parts, source, opts):
        if codec in ("zlib", "deflate"):
            parts = 1
        n = len(data)
        cuts = [0, *sorted({n * i // parts for i in range(1, parts)}), n]
        blob = b""
        for a, b in zip(cuts, cuts[1:]):
            piece = data[a:b]
            if source == "reference":
                blob += ref_lib.ref_compress(codec, piece, Input(opts),
                                             honest=True)
            elif source == "parallel" and codec not in ("zlib", "deflate"):
                blob += fastconc.compress(piece, codec, threads=2)
            else:
                blob += fastconc.compress(piece, codec)
        self.codec = codec
        self.data = data
        self.pos = 0
        self.f = fastconc.open(io.BytesIO(blob), "rb", codec)
        if codec == "gzip":
            self.ref = gzip.GzipFile(fileobj=io.BytesIO(blob))
        else:
            self.ref = io.BytesIO(data)

    def advance(self, got):
        """got was read by a call whose length may differ between
        implementations: the reference must have the same bytes next."""
        assert self.ref.read(len(got)) == got
        assert self.data[self.pos:self.pos + len(got)] == got
        self.pos += len(got)

    def at_eof(self):
        return self.pos >= len(self.data)

    @precondition(lambda self: not self.f.closed)
    @rule(n=st.one_of(st.none(), st.just(-1), st.integers(0, 70_000)))
    def read(self, n):
        got = self.f.read(n)
        assert got == self.ref.read(n)
        self.pos += len(got)

    @precondition(lambda self: not self.f.closed)
    @rule(n=st.one_of(st.just(-1), st.integers(0, 70_000)))
    def read1(self, n):
        got = self.f.read1(n)
        if n >= 0:
            assert len(got) <= n
        if not got and n != 0:
            assert self.at_eof()
        self.advance(got)

    @precondition(lambda self: not self.f.closed)
    @rule(limit=st.one_of(st.just(-1), st.integers(0, 3000)))
    def readline(self, limit):
        got = self.f.readline(limit)
        assert got == self.ref.readline(limit)
        self.pos += len(got)

    @precondition(lambda self: not self.f.closed)
    @rule(hint=st.one_of(st.just(-1), st.integers(0, 5000)))
    def readlines(self, hint):
        got = self.f.readlines(hint)
        assert got == self.ref.readlines(hint)
        self.pos += sum(map(len, got))

    @precondition(lambda self: not self.f.closed)
    @rule()
    def next_line(self):
        try:
            got = next(self.f)
        except StopIteration:
            with pytest.raises(StopIteration):
                next(self.ref)
            assert self.at_eof()
            return
        assert got == next(self.ref)
        self.pos += len(got)

    @precondition(lambda self: not self.f.closed)
    @rule(size=st.integers(0, 70_000), kind=st.sampled_from(["bytearray",
                                                             "memoryview"]))
    def readinto(self, size, kind):
        buf = bytearray(size)
        n = self.f.readinto(buf if kind == "bytearray" else memoryview(buf))
        rbuf = bytearray(size)
        assert n == self.ref.readinto(rbuf)
        assert buf[:n] == rbuf[:n]
        self.pos += n

    @precondition(lambda self: not self.f.closed)
    @rule(size=st.integers(0, 70_000))
    def readinto1(self, size):
        buf = bytearray(size)
        n = self.f.readinto1(buf)
        assert 0 <= n <= size
        if n == 0 and size:
            assert self.at_eof()
        self.advance(bytes(buf[:n]))

    @precondition(lambda self: not self.f.closed)
    @rule(n=st.integers(0, 70_000))
    def peek(self, n):
        got = self.f.peek(n)
        assert self.data[self.pos:].startswith(got)
        assert got or self.at_eof()
        assert self.f.tell() == self.pos      # peek does not move

    @precondition(lambda self: not self.f.closed and self.f.seekable())
    @rule(offset=st.integers(0, 400_000), whence=st.sampled_from([0, 1]))
    def seek(self, offset, whence):
        # Runs once CompressedFile is seekable (#23 item 1); the reference
        # (GzipFile, BytesIO) says where the position lands, past the end
        # included.
        assert self.f.seek(offset, whence) == self.ref.seek(offset, whence)
        self.pos = self.ref.tell()

    @precondition(lambda self: not self.f.closed and not self.f.seekable())
    @rule(offset=st.integers(0, 100))
    def seek_refused(self, offset):
        with pytest.raises(io.UnsupportedOperation):
            self.f.seek(offset)

    @invariant()
    def position(self):
        if hasattr(self, "f") and not self.f.closed:
            assert self.f.tell() == self.ref.tell() == self.pos
            assert self.f.readable() and not self.f.writable()

    @precondition(lambda self: not self.f.closed)
    @rule()
    def close(self):
        self.f.close()
        self.ref.close()
        assert self.f.closed
        self.f.close()

    @precondition(lambda self: self.f.closed)
    @rule(call=st.sampled_from(["read", "readline", "peek", "tell", "read1"]))
    def use_after_close(self, call):
        with pytest.raises(ValueError):
            getattr(self.f, call)()


TestCompressor = CompressorMachine.TestCase
TestDecompressor = DecompressorMachine.TestCase
TestHash = HashMachine.TestCase
TestWriter = WriterMachine.TestCase
TestReader = ReaderMachine.TestCase
for _case in (TestCompressor, TestDecompressor, TestHash, TestWriter,
              TestReader):
    _case.settings = SETTINGS
del _case
