"""Compression kernels for ``fastconc bench`` (and
``benchmarks/bench_codec.py``).

``KERNELS``: one dict per row of the GIL table::

    {"name": "zstd-3 compress",
     "fastconc": f(data, release_gil, threads) -> bytes,
     "prepare": p(chunk) -> bytes or None,   # input for decompression rows
     "peers": {"zstandard": g(data) -> bytes, ...}}   # installed peers only

``fastconc`` is called with ``release_gil`` False / True and ``threads`` 1
(plain ``threading.Thread``s give the parallelism in the GIL table) or N
(one call splitting one buffer over the pool).  Decompression rows take
``prepare(chunk)`` as their input: a stream written by the peer's own
library where one exists (so both sides decode the same bytes), else by
fastconc.  A peer that is not installed is left out, never faked.

Run ``python -m fastconc.bench.kernels_codec [MiB]`` for a quick check of
the compression issue's "done means" ratios on the real corpus (best of N,
interleaved, in one process).
"""
from __future__ import annotations

import gzip
import importlib
import sys
import threading
import zlib
from collections.abc import Callable
from functools import partial
from typing import Any

import fastconc
from fastconc.bench.timing import (
    Samples,
    best_of,
    control_line,
    native_controls,
)

Fn = Callable[[Any], object]


def _mod(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:  # a missing peer is skipped, never faked
        return None


zstandard = _mod("zstandard")
lz4frame = _mod("lz4.frame")
isal_zlib = _mod("isal.isal_zlib")
igzip_threaded = _mod("isal.igzip_threaded")
zlib_ng = _mod("zlib_ng.zlib_ng")
deflate = _mod("deflate")
pgzip = _mod("pgzip")


def _fc_compress(codec: str, level: int | None
                 ) -> Callable[[Any, bool | None, int | None], bytes]:
    compress = fastconc.compress

    def run(data: Any, release_gil: bool | None, threads: int | None) -> bytes:
        return compress(data, codec, level, threads=threads,
                        release_gil=release_gil)
    run.__name__ = f"fastconc.compress({codec!r}, {level})"
    return run


def _fc_decompress(codec: str
                   ) -> Callable[[Any, bool | None, int | None], bytes]:
    decompress = fastconc.decompress

    def run(data: Any, release_gil: bool | None, threads: int | None) -> bytes:
        return decompress(data, codec, threads=threads,
                          release_gil=release_gil)
    run.__name__ = f"fastconc.decompress({codec!r})"
    return run


def _gzip_peers(level: int) -> dict[str, Fn]:
    peers: dict[str, Fn] = {
        "zlib": lambda d: zlib.compress(d, level),
    }
    if isal_zlib is not None and level <= 3:
        peers["isal"] = lambda d: isal_zlib.compress(d, level, wbits=31)
    if zlib_ng is not None:
        peers["zlib-ng"] = lambda d: zlib_ng.compress(d, level, wbits=31)
    if deflate is not None:
        peers["deflate"] = lambda d: deflate.gzip_compress(d, level)
    return peers


def _gzip_dec_peers() -> dict[str, Fn]:
    peers: dict[str, Fn] = {"zlib": lambda d: zlib.decompress(d, 31)}
    if isal_zlib is not None:
        peers["isal"] = lambda d: isal_zlib.decompress(d, wbits=31)
    if zlib_ng is not None:
        peers["zlib-ng"] = lambda d: zlib_ng.decompress(d, wbits=31)
    if deflate is not None:
        peers["deflate"] = deflate.gzip_decompress
    return peers


def _per_thread(make: Callable[[], Any], method: str) -> Fn:
    """zstandard's (de)compressor objects must not be shared between
    threads: keep one per thread, reused across calls as its users do."""
    local = threading.local()

    def run(data: Any) -> object:
        obj = getattr(local, "obj", None)
        if obj is None:
            obj = local.obj = make()
        return getattr(obj, method)(data)
    return run


def _zstd_peers(level: int) -> dict[str, Fn]:
    if zstandard is None:
        return {}
    return {"zstandard": _per_thread(
        lambda: zstandard.ZstdCompressor(level=level), "compress")}


def _zstd_dec_peers() -> dict[str, Fn]:
    if zstandard is None:
        return {}
    return {"zstandard": _per_thread(zstandard.ZstdDecompressor,
                                     "decompress")}


def _zstd_prepare(chunk: bytes) -> bytes:
    if zstandard is not None:
        return bytes(zstandard.ZstdCompressor(level=3).compress(chunk))
    return fastconc.compress(chunk, "zstd", 3)


def _lz4_prepare(chunk: bytes) -> bytes:
    if lz4frame is not None:
        return bytes(lz4frame.compress(chunk))
    return fastconc.compress(chunk, "lz4")


KERNELS: list[dict[str, Any]] = [
    {"name": "zstd-1 compress", "fastconc": _fc_compress("zstd", 1),
     "prepare": None, "peers": _zstd_peers(1)},
    {"name": "zstd-3 compress", "fastconc": _fc_compress("zstd", 3),
     "prepare": None, "peers": _zstd_peers(3)},
    {"name": "zstd decompress", "fastconc": _fc_decompress("zstd"),
     "prepare": _zstd_prepare, "peers": _zstd_dec_peers()},
    {"name": "gzip-1 compress", "fastconc": _fc_compress("gzip", 1),
     "prepare": None, "peers": _gzip_peers(1)},
    {"name": "gzip-6 compress", "fastconc": _fc_compress("gzip", 6),
     "prepare": None, "peers": _gzip_peers(6)},
    {"name": "gzip decompress", "fastconc": _fc_decompress("gzip"),
     "prepare": lambda c: gzip.compress(c, 6, mtime=0),
     "peers": _gzip_dec_peers()},
    {"name": "lz4 compress", "fastconc": _fc_compress("lz4", None),
     "prepare": None,
     "peers": {"lz4": lz4frame.compress} if lz4frame else {}},
    {"name": "lz4 decompress", "fastconc": _fc_decompress("lz4"),
     "prepare": _lz4_prepare,
     "peers": {"lz4": lz4frame.decompress} if lz4frame else {}},
]


# --- quick check of the ratios ---------------------------------------

# Two-thread figures swing with what the other tenants of a shared machine
# do; more rounds give the minimum of each contender more chances to land
# in a quiet moment (BENCH.md asks for at least 5).
GIL_ROUNDS = 11
THREAD_ROUNDS = 9


def _threads(fn: Callable[[bytes], object], chunks: list[bytes], n: int
             ) -> None:
    """n threads each call fn on every chunk: alike shares, so that no
    thread is left with the harder chunks (n times the work of one)."""
    def work() -> None:
        for c in chunks:
            fn(c)
    ts = [threading.Thread(target=work) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def _line(label: str, value: float, target: str) -> None:
    print(f"  {label:<58} {value:6.3f}x   (target {target})")


def _corpus(size: int) -> bytes:
    """The bench command's corpus (stdlib sources, the interpreter and its
    shared libraries); a local equivalent when that module is absent."""
    try:
        mod = importlib.import_module("fastconc.bench.corpus")
        return bytes(mod.build_corpus(size)[0])
    except ImportError:
        import glob
        import os
        import sysconfig
        lib = sysconfig.get_paths()["stdlib"]
        paths = sorted(glob.glob(os.path.join(lib, "**", "*.py"),
                                 recursive=True))
        paths += [os.path.realpath(sys.executable)]
        paths += sorted(glob.glob("/usr/lib/x86_64-linux-gnu/*.so*"))
        parts, n = [], 0
        for p in paths:
            try:
                with open(p, "rb") as f:
                    b = f.read()
            except OSError:
                continue
            parts.append(b)
            n += len(b)
            if n >= size:
                break
        return b"".join(parts)[:size]


def main(argv: list[str]) -> int:
    mib = int(argv[0]) if argv else 64
    data = _corpus(mib << 20)
    chunks = [data[i:i + (1 << 20)] for i in range(0, len(data), 1 << 20)]
    few = chunks[:16]
    print(f"corpus: {len(data) >> 20} MiB; ratios are time(peer) / "
          "time(fastconc) unless said otherwise")

    print("GIL table, 1 MiB chunks, 2 threads / 1 thread:")
    controls = native_controls() or {}
    for codec, level in (("zstd", 3), ("gzip", 6)):
        fn = _fc_compress(codec, level)

        def released(c: bytes, fn: Any = fn) -> object:
            return fn(c, True, 1)

        def held(c: bytes, fn: Any = fn) -> object:
            return fn(c, False, 1)
        r = best_of({
            "rel1": partial(_threads, released, few, 1),
            "rel2": partial(_threads, released, few, 2),
            "held1": partial(_threads, held, few, 1),
            "held2": partial(_threads, held, few, 2),
            **controls,
        }, GIL_ROUNDS)
        _line(f"{codec}-{level} released", 2 * r["rel1"] / r["rel2"],
              ">= 1.85")
        _line(f"{codec}-{level} held", 2 * r["held1"] / r["held2"], "~1.0")
        if controls:
            print("    same rounds, two native loops at once / one after the"
                  " other: " + control_line(
                      {k: Samples([v]) for k, v in r.items()}))

    print("single thread, whole corpus:")
    fc = fastconc.compress
    if isal_zlib is not None:
        r = best_of({"fc": lambda: fc(data, "gzip", 1, threads=1),
                     "isal": lambda: isal_zlib.compress(data, 1, wbits=31)})
        _line("gzip-1 speed vs isal_zlib-1", r["isal"] / r["fc"], ">= 0.95")
        _line("gzip-1 size vs isal_zlib-1 (ours / theirs)",
              len(fc(data, "gzip", 1, threads=1)) /
              len(isal_zlib.compress(data, 1, wbits=31)), "<= 1.01")
    r = best_of({"fc": lambda: fc(data, "gzip", 6, threads=1),
                 "zlib": lambda: zlib.compress(data, 6)})
    _line("gzip-6 speed vs zlib-6", r["zlib"] / r["fc"], ">= 2")
    _line("gzip-6 size vs zlib-6 (ours / theirs)",
          len(fc(data, "gzip", 6, threads=1)) / len(zlib.compress(data, 6)),
          "<= 1.005")
    if isal_zlib is not None:
        g = gzip.compress(data, 6, mtime=0)
        r = best_of({"fc": lambda: fastconc.decompress(g, threads=1),
                     "isal": lambda: isal_zlib.decompress(g, wbits=31)})
        _line("gzip decompress vs isal_zlib (stdlib-made gzip)",
              r["isal"] / r["fc"], ">= 1.0")
    if zstandard is not None:
        zc = zstandard.ZstdCompressor(level=3)
        zd = zstandard.ZstdDecompressor()
        r = best_of({"fc": lambda: fc(data, "zstd", 3, threads=1),
                     "zstandard": lambda: zc.compress(data)})
        _line("zstd-3 compress vs zstandard", r["zstandard"] / r["fc"],
              ">= 0.95")
        zz = zc.compress(data)
        r = best_of({"fc": lambda: fastconc.decompress(zz, threads=1),
                     "zstandard": lambda: zd.decompress(zz)})
        _line("zstd decompress vs zstandard (their frame)",
              r["zstandard"] / r["fc"], ">= 0.95")
    if lz4frame is not None:
        r = best_of({"fc": lambda: fc(data, "lz4", threads=1),
                     "lz4": lambda: lz4frame.compress(data)})
        _line("lz4 compress vs lz4.frame", r["lz4"] / r["fc"], ">= 0.95")
        ll = lz4frame.compress(data)
        r = best_of({"fc": lambda: fastconc.decompress(ll, threads=1),
                     "lz4": lambda: lz4frame.decompress(ll)})
        _line("lz4 decompress vs lz4.frame (their frame)", r["lz4"] / r["fc"],
              ">= 0.95")

    print("parallel single stream, whole corpus:")
    r = best_of({"t1": lambda: fc(data, "gzip", 6, threads=1),
                 "t2": lambda: fc(data, "gzip", 6, threads=2)}, THREAD_ROUNDS)
    _line("gzip-6 threads=2 vs threads=1", r["t1"] / r["t2"], ">= 1.8")
    if pgzip is not None:
        import io

        def pg() -> bytes:
            buf = io.BytesIO()
            with pgzip.PgzipFile(fileobj=buf, mode="wb", compresslevel=6,
                                 thread=2) as f:
                f.write(data)
            return buf.getvalue()
        r = best_of({"fc": lambda: fc(data, "gzip", 6, threads=2), "pgzip": pg},
                    THREAD_ROUNDS)
        _line("gzip-6 threads=2 vs pgzip 2 threads", r["pgzip"] / r["fc"],
              ">= 1.5")
    if igzip_threaded is not None:
        import io

        def ig() -> bytes:
            buf = io.BytesIO()
            with igzip_threaded.open(buf, "wb", compresslevel=1,
                                     threads=2) as f:
                f.write(data)
            return buf.getvalue()
        r = best_of({"fc": lambda: fc(data, "gzip", 1, threads=2), "isal": ig},
                    THREAD_ROUNDS)
        _line("gzip-1 threads=2 vs igzip_threaded 2 threads",
              r["isal"] / r["fc"], ">= 1.0")
    for codec in ("gzip", "zstd"):
        comp = fc(data, codec, threads=2)
        r = best_of({"t1": partial(fastconc.decompress, comp, threads=1),
                     "t2": partial(fastconc.decompress, comp, threads=2)},
                    THREAD_ROUNDS)
        _line(f"{codec} decompress own threads=2 output, 2 vs 1 thread",
              r["t1"] / r["t2"], ">= 1.7")

    print("compression ratio on the corpus (compressed / original):")
    rows: list[tuple[str, int | None]] = [
        ("gzip", 1), ("gzip", 6), ("zstd", 1), ("zstd", 3), ("lz4", None)]
    for name, lvl in rows:
        print(f"  {name}-{lvl}: {len(fc(data, name, lvl)) / len(data):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
