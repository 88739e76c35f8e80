"""The kernels the benchmark measures, built from fastconc's public API.

Each :class:`Kernel` names one piece of work (a checksum, a hash, a codec
direction) and gives the fastconc call (with an explicit ``release_gil``
and ``threads=1``, so that only the GIL decides whether Python threads run
in parallel) and the stdlib / PyPI functions that do the same work.  A
fastconc function that this build lacks is reported as "not built"; a peer
that is not installed is reported as skipped, never faked.
"""
from __future__ import annotations

import gzip
import hashlib
import importlib
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import fastconc

Fn = Callable[[Any], object]


@dataclass
class Impl:
    """One implementation of a kernel that is not fastconc's."""
    label: str               # what the tables print
    package: str             # module whose version is reported
    fn: Fn | None            # None: skipped
    note: str = ""           # why it was skipped, or a remark
    stdlib: bool = False
    threads_fn: Callable[[Any, int], object] | None = None  # own threads


@dataclass
class Kernel:
    name: str                # "crc32", "sha256", "zstd-3 compress"
    family: str              # "checksum", "hash", "codec"
    # fastconc's call on one buffer: fc(data, release_gil, threads)
    fc: Callable[[Any, bool | None, int | None], object] | None
    fc_note: str = ""
    fc_threads: bool = True  # does one call split a buffer over the pool?
    peers: list[Impl] = field(default_factory=list)
    # turn a plain chunk into the kernel's input (decompression kernels)
    prepare: Callable[[bytes], bytes] | None = None
    # the same input written by fastconc with N threads, in the layout that
    # fastconc can decompress in parallel (large-buffer table only)
    prepare_parallel: Callable[[bytes, int], bytes] | None = None
    data: str = "random"     # "random" or "corpus"
    large: bool = True       # also in the large-buffer table
    quick: bool = True       # in --quick runs (unless named by --only)


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _peer(label: str, modname: str, make: Callable[[Any], Fn],
          *, stdlib: bool = False, note: str = "",
          threads: Callable[[Any], Callable[[Any, int], object]] | None = None
          ) -> Impl:
    mod = _module(modname)
    pkg = modname.split(".")[0]
    if mod is None:
        return Impl(label, pkg, None, "not installed")
    return Impl(label, pkg, make(mod), note, stdlib,
                threads(mod) if threads is not None else None)


def _fc_attr(name: str) -> Any:
    return getattr(fastconc, name, None)


# --- checksums ---------------------------------------------------------------

def _checksum(name: str) -> Kernel:
    fn = _fc_attr(name)
    fc = None
    if fn is not None:
        def fc(d: Any, rel: bool | None, thr: int | None, _f: Any = fn) -> object:
            return _f(d, threads=thr, release_gil=rel)
    peers: list[Impl] = []
    if name in ("crc32", "adler32"):
        peers = [
            _peer(f"zlib.{name}", "zlib", lambda m: getattr(m, name),
                  stdlib=True),
            _peer(f"isal_zlib.{name}", "isal.isal_zlib",
                  lambda m: getattr(m, name)),
            _peer(f"zlib_ng.{name}", "zlib_ng.zlib_ng",
                  lambda m: getattr(m, name)),
            _peer(f"deflate.{name}", "deflate", lambda m: getattr(m, name)),
        ]
    else:
        peers = [
            _peer("crc32c.crc32c", "crc32c", lambda m: m.crc32c),
            _peer("google_crc32c.value", "google_crc32c", lambda m: m.value),
        ]
    return Kernel(name, "checksum", fc, "" if fn is not None else "not built",
                  peers=peers)


# --- hashes ------------------------------------------------------------------

def _fc_digest(name: str) -> tuple[Any, str]:
    digest = _fc_attr("digest")
    avail = _fc_attr("algorithms_available")
    if digest is None or (avail is not None and name not in avail):
        return None, "not built"

    def fc(d: Any, rel: bool | None, thr: int | None) -> object:
        return digest(name, d, release_gil=rel)
    return fc, ""


def _hash(name: str) -> Kernel:
    fc, note = _fc_digest(name)
    fc_threads = False
    b3 = _fc_attr("blake3") if name == "blake3" else None
    if b3 is not None:
        # the hash object splits one large update over the pool
        def fc(d: Any, rel: bool | None, thr: int | None) -> object:
            return b3(d, threads=thr, release_gil=rel).digest()
        note, fc_threads = "", True
    peers: list[Impl] = []
    if name.startswith("xxh"):
        peers = [_peer(f"xxhash.{name}_digest", "xxhash",
                       lambda m: getattr(m, f"{name}_digest"))]
    elif name == "blake3":
        peers = [_peer("blake3", "blake3",
                       lambda m: lambda d: m.blake3(d).digest(),
                       threads=lambda m: lambda d, n: m.blake3(
                           d, max_threads=n).digest())]
    else:
        peers = [_peer(f"hashlib.{name}", "hashlib",
                       lambda m: lambda d: hashlib.new(name, d).digest(),
                       stdlib=True)]
    # variants of another row's engine: left out of --quick runs
    variant = name in ("sha224", "sha384", "sha3_512", "blake2s", "xxh32")
    return Kernel(name, "hash", fc, note, fc_threads=fc_threads, peers=peers,
                  quick=not variant)


# --- codecs ------------------------------------------------------------------

def _fc_compress(codec: str, level: int | None) -> tuple[Any, str]:
    compress = _fc_attr("compress")
    if compress is None:
        return None, "not built"

    def fc(d: Any, rel: bool | None, thr: int | None) -> object:
        return compress(d, codec, level, threads=thr, release_gil=rel)
    return fc, ""


def _parallel_layout(codec: str, level: int | None
                     ) -> Callable[[bytes, int], bytes] | None:
    compress: Callable[..., bytes] | None = _fc_attr("compress")
    if compress is None:
        return None

    def prep(c: bytes, n: int) -> bytes:
        return compress(c, codec, level, threads=n)
    return prep


def _fc_decompress(codec: str) -> tuple[Any, str]:
    decompress = _fc_attr("decompress")
    if decompress is None:
        return None, "not built"

    def fc(d: Any, rel: bool | None, thr: int | None) -> object:
        return decompress(d, codec, threads=thr, release_gil=rel)
    return fc, ""


def _gzip_kernels() -> list[Kernel]:
    fc, note = _fc_compress("gzip", 6)
    comp = Kernel("gzip-6 compress", "codec", fc, note, data="corpus", peers=[
        _peer("gzip.compress", "gzip",
              lambda m: lambda d: m.compress(d, 6, mtime=0), stdlib=True),
        _peer("gzip_ng.compress", "zlib_ng.gzip_ng",
              lambda m: lambda d: m.compress(d, 6, mtime=0)),
        _peer("deflate.gzip_compress", "deflate",
              lambda m: lambda d: m.gzip_compress(d, 6)),
        _peer("pgzip (own threads)", "pgzip", lambda m: None,  # type: ignore[arg-type,return-value]
              threads=lambda m: lambda d, n: _pgzip(m, d, n)),
    ])
    fc, note = _fc_decompress("gzip")
    dec = Kernel("gzip decompress", "codec", fc, note, data="corpus",
                 prepare=lambda c: gzip.compress(c, 6, mtime=0),
                 prepare_parallel=_parallel_layout("gzip", 6), peers=[
        _peer("gzip.decompress", "gzip", lambda m: m.decompress, stdlib=True),
        _peer("igzip.decompress", "isal.igzip", lambda m: m.decompress),
        _peer("gzip_ng.decompress", "zlib_ng.gzip_ng",
              lambda m: m.decompress),
        _peer("deflate.gzip_decompress", "deflate",
              lambda m: m.gzip_decompress),
    ])
    return [comp, dec]


def _zlib_kernels() -> list[Kernel]:
    """zlib streams: the same deflate engine as gzip, so they are left out
    of the large-buffer table (gzip stands for both there)."""
    fc, note = _fc_compress("zlib", 6)
    comp = Kernel("zlib-6 compress", "codec", fc, note, data="corpus",
                  large=False, quick=False, peers=[
        _peer("zlib.compress", "zlib", lambda m: lambda d: m.compress(d, 6),
              stdlib=True),
        _peer("zlib_ng.compress", "zlib_ng.zlib_ng",
              lambda m: lambda d: m.compress(d, 6)),
        _peer("deflate.zlib_compress", "deflate",
              lambda m: lambda d: m.zlib_compress(d, 6)),
    ])
    fc, note = _fc_decompress("zlib")
    dec = Kernel("zlib decompress", "codec", fc, note, data="corpus",
                 large=False, quick=False, prepare=lambda c: zlib.compress(c, 6),
                 peers=[
        _peer("zlib.decompress", "zlib", lambda m: m.decompress, stdlib=True),
        _peer("isal_zlib.decompress", "isal.isal_zlib",
              lambda m: m.decompress),
        _peer("zlib_ng.decompress", "zlib_ng.zlib_ng",
              lambda m: m.decompress),
        # libdeflate wants the decompressed size up front: it is given
        # the upper bound of the chunks, as a caller would
        _peer("deflate.zlib_decompress", "deflate",
              lambda m: lambda d: m.zlib_decompress(d, 1 << 20)),
    ])
    return [comp, dec]


def _pgzip(mod: Any, data: Any, n: int) -> bytes:
    import io
    buf = io.BytesIO()
    with mod.PgzipFile(fileobj=buf, mode="wb", compresslevel=6, thread=n,
                       blocksize=1 << 20, mtime=0) as f:
        f.write(data)
    return buf.getvalue()


def _per_thread(factory: Callable[[], Any], method: str) -> Fn:
    """``factory().method`` with one object per thread: zstandard's
    compressor and decompressor objects must not be shared by threads."""
    local = threading.local()

    def call(d: Any) -> object:
        obj = getattr(local, "obj", None)
        if obj is None:
            obj = local.obj = factory()
        return getattr(obj, method)(d)
    return call


def _zstd_frame(c: bytes) -> bytes:
    zstandard = _module("zstandard")
    if zstandard is None:
        raise RuntimeError("zstandard is needed to prepare zstd input")
    frame: bytes = zstandard.ZstdCompressor(level=3).compress(c)
    return frame


def _zstd_kernels() -> list[Kernel]:
    fc, note = _fc_compress("zstd", 3)
    comp = Kernel("zstd-3 compress", "codec", fc, note, data="corpus", peers=[
        _peer("zstandard", "zstandard",
              lambda m: _per_thread(lambda: m.ZstdCompressor(level=3),
                                     "compress"),
              threads=lambda m: lambda d, n: m.ZstdCompressor(
                  level=3, threads=n).compress(d)),
    ])
    fc, note = _fc_decompress("zstd")
    prep = _zstd_frame if _module("zstandard") is not None else (
        lambda c: fastconc.compress(c, "zstd", 3))
    dec = Kernel("zstd decompress", "codec", fc, note, data="corpus",
                 prepare=prep, prepare_parallel=_parallel_layout("zstd", 3),
                 peers=[
        _peer("zstandard", "zstandard",
              lambda m: _per_thread(m.ZstdDecompressor, "decompress")),
    ])
    return [comp, dec]


def _lz4_kernels() -> list[Kernel]:
    fc, note = _fc_compress("lz4", None)
    comp = Kernel("lz4 compress", "codec", fc, note, data="corpus", peers=[
        _peer("lz4.frame", "lz4.frame", lambda m: m.compress),
    ])
    fc, note = _fc_decompress("lz4")
    lz4f = _module("lz4.frame")
    prep = lz4f.compress if lz4f is not None else (
        lambda c: fastconc.compress(c, "lz4"))
    dec = Kernel("lz4 decompress", "codec", fc, note, data="corpus",
                 prepare=prep, prepare_parallel=_parallel_layout("lz4", None),
                 peers=[
        _peer("lz4.frame", "lz4.frame", lambda m: m.decompress),
    ])
    return [comp, dec]


def all_kernels() -> list[Kernel]:
    ks = [_checksum(n) for n in ("crc32", "crc32c", "adler32")]
    ks += [_hash(n) for n in ("md5", "sha1", "sha224", "sha256", "sha384",
                              "sha512", "sha3_256", "sha3_512", "blake2b",
                              "blake2s", "blake3", "xxh32", "xxh64",
                              "xxh3_64", "xxh3_128")]
    ks += (_gzip_kernels() + _zlib_kernels() + _zstd_kernels()
           + _lz4_kernels())
    return ks


def select(kernels: list[Kernel], only: str | None) -> list[Kernel]:
    """Keep the kernels named in a comma-separated list (a name matches
    a kernel whose name is it or starts with it and a space or dash)."""
    if not only:
        return kernels
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    names = [k.name for k in kernels]
    out = []
    for w in wanted:
        hits = [k for k in kernels
                if k.name == w or k.name.startswith((w + " ", w + "-"))]
        if not hits:
            raise ValueError(f"unknown kernel {w!r}; valid: "
                             + ", ".join(names))
        out += [k for k in hits if k not in out]
    return out
