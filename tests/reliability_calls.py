"""The public API as tables of calls, shared by the reliability tests.

Each entry is (label, names it needs in fastconc, make) where ``make(rng)``
returns a zero-argument callable doing one call and checking its result
against an independent reference (stdlib, the crc32c/xxhash/zstandard/lz4
packages) or, for error paths, checking the exception type.  An entry whose
names are not in this build is left out by ``available()``; add an entry for
every new public function.
"""
from __future__ import annotations

import hashlib
import os
import zlib
from collections.abc import Callable
from typing import Any

import fastconc

try:
    import crc32c as crc32c_pkg
except ImportError:   # the test extra installs it
    crc32c_pkg = None

Call = Callable[[], None]
Entry = tuple[str, tuple[str, ...], Callable[[Any], Call]]

# Inputs shared by every thread (read-only) and a few private sizes.
SHARED = os.urandom(3 << 20)
SIZES = (0, 1, 100, 2047, 2048, 65536, 300_001, 1 << 20)


def _raises(exc: type[BaseException], fn: Callable[[], object]) -> None:
    try:
        fn()
    except exc:
        return
    raise AssertionError(f"{fn} did not raise {exc.__name__}")


def _pick_data(rng: Any) -> bytes:
    if rng.random() < 0.5:
        return SHARED[: rng.choice(SIZES)]
    return rng.randbytes(rng.choice(SIZES[:6])) if hasattr(rng, "randbytes") \
        else os.urandom(rng.choice(SIZES[:6]))


# --- checksums -------------------------------------------------------------
def _cksum(name: str) -> Callable[[Any], Call]:
    refs = {"crc32": zlib.crc32, "adler32": zlib.adler32,
            "crc32c": crc32c_pkg.crc32c if crc32c_pkg else None}

    def make(rng: Any) -> Call:
        data = _pick_data(rng)
        threads = rng.choice((None, 1, 2, 4))
        kind = rng.choice((bytes, bytearray, memoryview))
        buf = kind(data) if kind is not memoryview else memoryview(data)
        ref = refs[name]
        fn = getattr(fastconc, name)

        def call() -> None:
            got = fn(buf, threads=threads)
            if ref is not None:
                assert got == ref(data), (name, len(data), threads)
        return call
    return make


def _combine(name: str) -> Callable[[Any], Call]:
    def make(rng: Any) -> Call:
        data = _pick_data(rng)
        cut = rng.randint(0, len(data))
        fn = getattr(fastconc, name)
        comb = getattr(fastconc, name + "_combine")
        start = 1 if name == "adler32" else 0

        def call() -> None:
            a, b = fn(data[:cut]), fn(data[cut:])
            assert comb(a, b, len(data) - cut) == fn(data)
            assert fn(data[cut:], a) == fn(data)
            assert fn(b"", start) == start
        return call
    return make


def _cksum_errors(rng: Any) -> Call:
    def call() -> None:
        _raises(TypeError, lambda: fastconc.crc32("text"))
        _raises(TypeError, lambda: fastconc.crc32c(None))
        _raises(TypeError, lambda: fastconc.adler32(b"x", bogus=1))
        _raises(ValueError, lambda: fastconc.crc32(b"x", threads=-1))
        _raises(TypeError, lambda: fastconc.crc32_combine(1, 2))
        _raises((ValueError, OverflowError),
                lambda: fastconc.crc32_combine(1, 2, -5))
    return call


def _knobs(rng: Any) -> Call:
    def call() -> None:
        info = fastconc.info()
        assert info["version"] == fastconc.__version__
        assert fastconc.get_threads() >= 1
    return call


# --- hashing ---------------------------------------------------------------
HASH_NAMES = ("md5", "sha1", "sha256", "sha512", "sha3_256", "blake2b", "blake2s")


def _hash_obj(rng: Any) -> Call:
    name = rng.choice(HASH_NAMES)
    data = _pick_data(rng)
    cut = rng.randint(0, len(data))

    def call() -> None:
        h = fastconc.new(name, data[:cut])
        h.update(memoryview(data)[cut:])
        c = h.copy()
        assert h.digest() == hashlib.new(name, data).digest(), name
        c.update(b"!")
        assert c.hexdigest() == hashlib.new(name, data + b"!").hexdigest()
    return call


def _digest(rng: Any) -> Call:
    name = rng.choice(HASH_NAMES)
    data = _pick_data(rng)

    def call() -> None:
        assert fastconc.digest(name, data) == hashlib.new(name, data).digest()
    return call


def _hash_many(rng: Any) -> Call:
    name = rng.choice(HASH_NAMES)
    items = [_pick_data(rng)[: rng.randint(0, 5000)] for _ in range(rng.randint(0, 40))]
    threads = rng.choice((None, 1, 2))

    def call() -> None:
        got = fastconc.hash_many(name, items, threads=threads)
        assert got == [hashlib.new(name, i).digest() for i in items]
    return call


def _hash_errors(rng: Any) -> Call:
    def call() -> None:
        _raises(ValueError, lambda: fastconc.new("no-such-hash"))
        _raises(TypeError, lambda: fastconc.new("sha256", "text"))
        _raises(ValueError, lambda: fastconc.digest("nope", b""))
        _raises(TypeError, lambda: fastconc.hash_many("sha256", [b"a", 3]))
        _raises(TypeError, lambda: fastconc.sha256().update("text"))
    return call


def _hash_file(rng: Any) -> Call:
    import tempfile
    data = _pick_data(rng)
    fd, path = tempfile.mkstemp(prefix="fastconc-rel-")
    os.write(fd, data)
    os.close(fd)
    want = hashlib.sha256(data).digest()

    def call() -> None:
        assert fastconc.hash_file("sha256", path) == want
        assert fastconc.hash_files("sha256", [path, path]) == [want, want]
        _raises(OSError, lambda: fastconc.hash_file("sha256", path + ".missing"))
    return call


# --- compression -----------------------------------------------------------
CODECS = ("zlib", "deflate", "gzip", "zstd", "lz4")


def _ref_decompress(codec: str, blob: bytes) -> bytes:
    import gzip
    if codec == "zlib":
        return zlib.decompress(blob)
    if codec == "deflate":
        return zlib.decompress(blob, -15)
    if codec == "gzip":
        return gzip.decompress(blob)
    if codec == "zstd":
        import zstandard
        out = b""
        while blob:
            d = zstandard.ZstdDecompressor().decompressobj()
            out += d.decompress(blob)
            blob = d.unused_data
        return out
    import lz4.frame
    return bytes(lz4.frame.decompress(blob))


def _compress(rng: Any) -> Call:
    codec = rng.choice(CODECS)
    data = _pick_data(rng)
    threads = rng.choice((None, 1, 2))

    def call() -> None:
        blob = fastconc.compress(data, codec, threads=threads)
        assert _ref_decompress(codec, blob) == data, codec
        assert fastconc.decompress(blob, codec, threads=threads) == data
        if codec != "deflate":      # raw deflate has no magic to detect
            assert fastconc.decompress(blob) == data
    return call


def _codec_errors(rng: Any) -> Call:
    codec = rng.choice(CODECS)
    blob = fastconc.compress(SHARED[:100_000], codec) if hasattr(fastconc, "compress") else b""

    def call() -> None:
        _raises(ValueError, lambda: fastconc.compress(b"x", "no-such-codec"))
        _raises(TypeError, lambda: fastconc.compress("text", codec))
        _raises(fastconc.DecompressionError,
                lambda: fastconc.decompress(blob[: len(blob) // 2], codec))
        _raises(fastconc.DecompressionError,
                lambda: fastconc.decompress(b"\x00garbage" * 10, codec))
        _raises(fastconc.OutputSizeError,
                lambda: fastconc.decompress(blob, codec, max_output_size=1000))
    return call


def _many(rng: Any) -> Call:
    codec = rng.choice(CODECS)
    items = [_pick_data(rng)[: rng.randint(0, 20_000)] for _ in range(rng.randint(0, 12))]

    def call() -> None:
        blobs = fastconc.compress_many(items, codec, threads=2)
        assert [_ref_decompress(codec, b) for b in blobs] == items
        assert fastconc.decompress_many(blobs, codec) == items
    return call


def _stream(rng: Any) -> Call:
    codec = rng.choice(CODECS)
    data = _pick_data(rng)
    cut = rng.randint(0, len(data))
    ml = rng.choice((-1, 1000, 65536))

    def call() -> None:
        c = fastconc.Compressor(codec)
        blob = c.compress(data[:cut]) + c.compress(data[cut:]) + c.flush()
        assert _ref_decompress(codec, blob) == data, codec
        d = fastconc.Decompressor(codec)
        out = d.decompress(blob, max_length=ml)
        while not d.eof:
            out += d.decompress(b"", max_length=ml)
        assert out == data
        _raises(fastconc.DecompressionError,
                lambda: fastconc.Decompressor(codec).decompress(b"\x00bad" * 30))
    return call


# --- parallel map and executor -----------------------------------------------
def _parallel_map(rng: Any) -> Call:
    items = list(range(rng.randint(0, 2000)))
    threads = rng.choice((None, 1, 2, 4))

    def call() -> None:
        # parallel_map may return an iterator (like map): list() it.
        assert list(fastconc.parallel_map(lambda x: x * 3, items, threads=threads)) \
            == [x * 3 for x in items]

        def boom(x: int) -> int:
            if x == 7:
                raise KeyError(x)
            return x
        if len(items) > 7:
            _raises(KeyError, lambda: list(fastconc.parallel_map(boom, items)))
    return call


def _executor(rng: Any) -> Call:
    items = list(range(rng.randint(0, 500)))

    def call() -> None:
        with fastconc.ThreadPoolExecutor(max_workers=2) as ex:
            assert list(ex.map(abs, items, chunksize=16)) == items
            f = ex.submit(zlib.crc32, SHARED)
            assert f.result() == zlib.crc32(SHARED)
            g = ex.submit(int, "x")
            _raises(ValueError, g.result)
    return call


def _submit(rng: Any) -> Call:
    data = _pick_data(rng)
    threads = rng.choice((None, 1, 2))

    def call() -> None:
        f = fastconc.submit(fastconc.crc32, data, threads=threads)
        g = fastconc.submit(fastconc.digest, "sha256", data)
        bad = fastconc.submit(fastconc.decompress, b"not compressed", "zstd")
        assert f.result() == zlib.crc32(data)
        assert g.result() == hashlib.sha256(data).digest()
        _raises(fastconc.DecompressionError, bad.result)
    return call


def _aio(rng: Any) -> Call:
    import asyncio

    import fastconc.aio as aio
    data = _pick_data(rng)

    async def main() -> None:
        c, d = await asyncio.gather(aio.crc32c(data),
                                    aio.compress(data, "zstd"))
        if crc32c_pkg is not None:
            assert c == crc32c_pkg.crc32c(data)
        assert fastconc.decompress(d) == data
        try:
            await aio.crc32(bytearray(1), threads=0)
        except ValueError:
            return
        raise AssertionError("threads=0 did not raise")

    def call() -> None:
        asyncio.run(main())
    return call


TABLE: list[Entry] = [
    ("crc32", ("crc32",), _cksum("crc32")),
    ("crc32c", ("crc32c",), _cksum("crc32c")),
    ("adler32", ("adler32",), _cksum("adler32")),
    ("crc32_combine", ("crc32_combine",), _combine("crc32")),
    ("crc32c_combine", ("crc32c_combine",), _combine("crc32c")),
    ("adler32_combine", ("adler32_combine",), _combine("adler32")),
    ("checksum errors", ("crc32",), _cksum_errors),
    ("info/get_threads", ("info", "get_threads"), _knobs),
    ("hash objects", ("new",), _hash_obj),
    ("digest", ("digest",), _digest),
    ("hash_many", ("hash_many",), _hash_many),
    ("hash errors", ("new", "digest", "hash_many", "sha256"), _hash_errors),
    ("hash_file(s)", ("hash_file", "hash_files"), _hash_file),
    ("compress/decompress", ("compress", "decompress"), _compress),
    ("codec errors", ("compress", "decompress", "OutputSizeError"), _codec_errors),
    ("compress_many/decompress_many", ("compress_many", "decompress_many"), _many),
    ("Compressor/Decompressor", ("Compressor", "Decompressor"), _stream),
    ("parallel_map", ("parallel_map",), _parallel_map),
    ("ThreadPoolExecutor", ("ThreadPoolExecutor",), _executor),
    ("submit", ("submit",), _submit),
    ("aio", ("aio",), _aio),
]


def available() -> list[Entry]:
    return [e for e in TABLE if all(hasattr(fastconc, n) for n in e[1])]


def absent() -> list[str]:
    return [e[0] for e in TABLE if not all(hasattr(fastconc, n) for n in e[1])]
