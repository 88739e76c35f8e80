"""The kernels the benchmark measures, as rows of data.

A :class:`Kernel` names one piece of work (a checksum, a hash, a codec
direction) and what its input is; each of its :class:`Impl` rows is one
implementation: fastconc's call (with an explicit ``release_gil`` and
``threads``, so that only the GIL decides whether Python threads run in
parallel) or a stdlib / PyPI function doing the same work.  The tables
(``gil_table``, ``large``, ``benchmarks/``) turn these rows into
``timing.Contender`` s.  A fastconc function that this build lacks is
reported as "not built"; a peer that is not installed is reported as
skipped, never faked.
"""
from __future__ import annotations

import gzip
import hashlib
import importlib
import io
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

import fastconc

Fn = Callable[[Any], object]
# fastconc's call: fc(data, release_gil, threads)
FcFn = Callable[[Any, Optional[bool], Optional[int]], object]


@dataclass
class Impl:
    """One implementation of a kernel: a row of the tables."""
    label: str               # what the tables print
    package: str             # distribution whose version is reported
    kind: str                # "fastconc", "stdlib" or "peer"
    # fastconc: fn(data, release_gil, threads); others: fn(data).  None:
    # not available (see note), or only threads_fn.
    fn: Callable[..., object] | None = None
    # instead of fn, for a decoder that must be told the output size up
    # front: sized(n) is fn for inputs that decode to n bytes
    sized: Callable[[int], Fn] | None = None
    # the implementation's own threads on one buffer: threads_fn(data, n)
    threads_fn: Callable[[Any, int], object] | None = None
    # fastconc: does one call split a buffer over the pool (threads=N)?
    splits: bool = False
    # fastconc: the same kernel over a list of inputs on its own native
    # threads, native(items, threads) (hash_many, compress_many ...), for
    # the GIL table's native column
    native: Callable[[list[Any], int], object] | None = None
    note: str = ""           # why it is missing, or a remark

    @property
    def is_fastconc(self) -> bool:
        return self.kind == "fastconc"

    @property
    def single(self) -> bool:
        """Has a one-thread call (the GIL table's rows)."""
        return self.fn is not None or self.sized is not None

    def call(self, out_size: int) -> Fn:
        """The one-argument call of a non-fastconc row, for inputs that
        decode to ``out_size`` bytes."""
        if self.sized is not None:
            return self.sized(out_size)
        assert self.fn is not None and not self.is_fastconc
        return self.fn


@dataclass
class Kernel:
    name: str                # "crc32", "sha256", "zstd-3 compress"
    family: str              # "checksum", "hash", "codec"
    impls: list[Impl] = field(default_factory=list)
    # turn a plain chunk into the kernel's input (decompression kernels)
    prepare: Callable[[bytes], bytes] | None = None
    # the same input written by fastconc with N threads, in the layout that
    # fastconc can decompress in parallel (large-buffer table only)
    prepare_parallel: Callable[[bytes, int], bytes] | None = None
    data: str = "random"     # "random" or "corpus"
    large: bool = True       # also in the large-buffer table
    quick: bool = True       # in --quick runs (unless named by --only)

    @property
    def fastconc(self) -> Impl:
        return self.impls[0]

    @property
    def peers(self) -> list[Impl]:
        return self.impls[1:]


def _module(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _fc(fn: FcFn | None, *, splits: bool = True,
        native: Callable[[list[Any], int], object] | None = None) -> Impl:
    if fn is None:
        return Impl("fastconc", "fastconc", "fastconc", note="not built")
    return Impl("fastconc", "fastconc", "fastconc", fn, splits=splits,
                native=native)


def _peer(label: str, modname: str, make: Callable[[Any], Fn] | None,
          *, stdlib: bool = False, note: str = "",
          sized: Callable[[Any], Callable[[int], Fn]] | None = None,
          threads: Callable[[Any], Callable[[Any, int], object]] | None = None
          ) -> Impl:
    """A row for ``modname``'s function: ``make(module)`` gives fn,
    ``sized(module)`` the factory of a sized decoder, ``threads(module)``
    the call with the module's own threads."""
    mod = _module(modname)
    pkg = modname.split(".")[0]
    kind = "stdlib" if stdlib else "peer"
    if mod is None:
        return Impl(label, pkg, kind, note="not installed")
    return Impl(label, pkg, kind,
                fn=make(mod) if make is not None else None,
                sized=sized(mod) if sized is not None else None,
                threads_fn=threads(mod) if threads is not None else None,
                note=note)


def _fc_attr(name: str) -> Any:
    return getattr(fastconc, name, None)


# --- checksums ---------------------------------------------------------------

def _checksum(name: str) -> Kernel:
    fn = _fc_attr(name)
    fc = None
    native: Callable[[list[Any], int], object] | None = None
    if fn is not None:
        def fc(d: Any, rel: bool | None, thr: int | None, _f: Any = fn) -> object:
            return _f(d, threads=thr, release_gil=rel)

        def split(items: list[Any], n: int, _f: Any = fn) -> object:
            # each buffer split over n threads of the pool
            return [_f(d, threads=n) for d in items]
        native = split
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
    return Kernel(name, "checksum", [_fc(fc, native=native), *peers])


# --- hashes ------------------------------------------------------------------

def _fc_digest(name: str) -> FcFn | None:
    digest = _fc_attr("digest")
    avail = _fc_attr("algorithms_available")
    if digest is None or (avail is not None and name not in avail):
        return None

    def fc(d: Any, rel: bool | None, thr: int | None) -> object:
        return digest(name, d, release_gil=rel)
    return fc


def _hash(name: str) -> Kernel:
    fc = _fc_digest(name)
    splits = False
    b3 = _fc_attr("blake3") if name == "blake3" else None
    if b3 is not None:
        # the hash object splits one large update over the pool
        def fc(d: Any, rel: bool | None, thr: int | None) -> object:
            return b3(d, threads=thr, release_gil=rel).digest()
        splits = True
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
    many = _fc_attr("hash_many")
    native: Callable[[list[Any], int], object] | None = None
    if fc is not None and many is not None:
        def hashes(items: list[Any], n: int) -> object:
            return many(name, items, threads=n)
        native = hashes
    return Kernel(name, "hash", [_fc(fc, splits=splits, native=native),
                                 *peers], quick=not variant)


# --- codecs ------------------------------------------------------------------

def _fc_compress(codec: str, level: int | None) -> FcFn | None:
    compress = _fc_attr("compress")
    if compress is None:
        return None

    def fc(d: Any, rel: bool | None, thr: int | None) -> object:
        return compress(d, codec, level, threads=thr, release_gil=rel)
    return fc


def _fc_codec(fn: FcFn | None, codec: str, level: int | None = None,
              *, decompress: bool = False) -> Impl:
    """fastconc's codec row, with compress_many / decompress_many as its
    native threads."""
    many = _fc_attr("decompress_many" if decompress else "compress_many")
    native: Callable[[list[Any], int], object] | None = None
    if fn is not None and many is not None:
        def batch(items: list[Any], n: int) -> object:
            if decompress:
                return many(items, codec, threads=n)
            return many(items, codec, level, threads=n)
        native = batch
    return _fc(fn, native=native)


def _parallel_layout(codec: str, level: int | None
                     ) -> Callable[[bytes, int], bytes] | None:
    compress: Callable[..., bytes] | None = _fc_attr("compress")
    if compress is None:
        return None

    def prep(c: bytes, n: int) -> bytes:
        return compress(c, codec, level, threads=n)
    return prep


def _fc_decompress(codec: str) -> FcFn | None:
    decompress = _fc_attr("decompress")
    if decompress is None:
        return None

    def fc(d: Any, rel: bool | None, thr: int | None) -> object:
        return decompress(d, codec, threads=thr, release_gil=rel)
    return fc


def _pgzip(mod: Any, data: Any, n: int) -> bytes:
    buf = io.BytesIO()
    with mod.PgzipFile(fileobj=buf, mode="wb", compresslevel=6, thread=n,
                       blocksize=1 << 20, mtime=0) as f:
        f.write(data)
    return buf.getvalue()


def _gzip_kernels() -> list[Kernel]:
    comp = Kernel("gzip-6 compress", "codec", data="corpus", impls=[
        _fc_codec(_fc_compress("gzip", 6), "gzip", 6),
        _peer("gzip.compress", "gzip",
              lambda m: lambda d: m.compress(d, 6, mtime=0), stdlib=True),
        _peer("gzip_ng.compress", "zlib_ng.gzip_ng",
              lambda m: lambda d: m.compress(d, 6, mtime=0)),
        _peer("deflate.gzip_compress", "deflate",
              lambda m: lambda d: m.gzip_compress(d, 6)),
        _peer("pgzip (own threads)", "pgzip", None,
              threads=lambda m: lambda d, n: _pgzip(m, d, n)),
    ])
    dec = Kernel("gzip decompress", "codec", data="corpus",
                 prepare=lambda c: gzip.compress(c, 6, mtime=0),
                 prepare_parallel=_parallel_layout("gzip", 6), impls=[
        _fc_codec(_fc_decompress("gzip"), "gzip", decompress=True),
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
    comp = Kernel("zlib-6 compress", "codec", data="corpus", large=False,
                  quick=False, impls=[
        _fc_codec(_fc_compress("zlib", 6), "zlib", 6),
        _peer("zlib.compress", "zlib", lambda m: lambda d: m.compress(d, 6),
              stdlib=True),
        _peer("zlib_ng.compress", "zlib_ng.zlib_ng",
              lambda m: lambda d: m.compress(d, 6)),
        _peer("deflate.zlib_compress", "deflate",
              lambda m: lambda d: m.zlib_compress(d, 6)),
    ])
    dec = Kernel("zlib decompress", "codec", data="corpus", large=False,
                 quick=False, prepare=lambda c: zlib.compress(c, 6), impls=[
        _fc_codec(_fc_decompress("zlib"), "zlib", decompress=True),
        _peer("zlib.decompress", "zlib", lambda m: m.decompress, stdlib=True),
        _peer("isal_zlib.decompress", "isal.isal_zlib",
              lambda m: m.decompress),
        _peer("zlib_ng.decompress", "zlib_ng.zlib_ng",
              lambda m: m.decompress),
        # libdeflate wants the decompressed size up front (a zlib stream
        # does not record it): it is told the size of what was compressed,
        # as a caller that stored it would
        _peer("deflate.zlib_decompress", "deflate", None,
              sized=lambda m: lambda n: lambda d: m.zlib_decompress(d, n)),
    ])
    return [comp, dec]


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
    comp = Kernel("zstd-3 compress", "codec", data="corpus", impls=[
        _fc_codec(_fc_compress("zstd", 3), "zstd", 3),
        _peer("zstandard", "zstandard",
              lambda m: _per_thread(lambda: m.ZstdCompressor(level=3),
                                     "compress"),
              threads=lambda m: lambda d, n: m.ZstdCompressor(
                  level=3, threads=n).compress(d)),
    ])
    prep = _zstd_frame if _module("zstandard") is not None else (
        lambda c: fastconc.compress(c, "zstd", 3))
    dec = Kernel("zstd decompress", "codec", data="corpus", prepare=prep,
                 prepare_parallel=_parallel_layout("zstd", 3), impls=[
        _fc_codec(_fc_decompress("zstd"), "zstd", decompress=True),
        _peer("zstandard", "zstandard",
              lambda m: _per_thread(m.ZstdDecompressor, "decompress")),
    ])
    return [comp, dec]


def _lz4_kernels() -> list[Kernel]:
    comp = Kernel("lz4 compress", "codec", data="corpus", impls=[
        _fc_codec(_fc_compress("lz4", None), "lz4", None),
        _peer("lz4.frame", "lz4.frame", lambda m: m.compress),
    ])
    lz4f = _module("lz4.frame")
    prep = lz4f.compress if lz4f is not None else (
        lambda c: fastconc.compress(c, "lz4"))
    dec = Kernel("lz4 decompress", "codec", data="corpus", prepare=prep,
                 prepare_parallel=_parallel_layout("lz4", None), impls=[
        _fc_codec(_fc_decompress("lz4"), "lz4", decompress=True),
        _peer("lz4.frame", "lz4.frame", lambda m: m.decompress),
    ])
    return [comp, dec]


HASHES = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_256",
          "sha3_512", "blake2b", "blake2s", "blake3", "xxh32", "xxh64",
          "xxh3_64", "xxh3_128")


def all_kernels() -> list[Kernel]:
    ks = [_checksum(n) for n in ("crc32", "crc32c", "adler32")]
    ks += [_hash(n) for n in HASHES]
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
