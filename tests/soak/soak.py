"""Soak run: every kind of fastconc call from 8 Python threads at once for
N minutes, with cancellation and Ctrl-C injected, every result checked
against a reference.  ``make soak`` runs it under ASan/UBSan (through
tests/asan/run.sh --script); it also runs on a plain build:

    python tests/soak/soak.py [--minutes 10] [--threads 8] [--seed N]

Workers (8 threads) loop over randomly chosen calls:
  hash        digest() / new()+update()+copy() / hash_many(threads=) /
              hash_file() / hash_files(threads= or executor=) against
              hashlib, xxhash, blake3;
  checksum    crc32 / adler32 / crc32c (threads=, chained, *_combine)
              against zlib and the crc32c package;
  codec       compress / decompress one-shot (threads=, max_output_size=),
              compress_many / decompress_many, Compressor / Decompressor
              in pieces, open() write then read, against zlib / gzip /
              zstandard / lz4.frame;
  pmap        parallel_map (ordered or not) against map; map_array with
              libm's sqrt against numpy;
  executor    submit / map on a shared fastconc.ThreadPoolExecutor;
              futures cancelled while queued; a private executor shut
              down with cancel_futures=True (every future is then either
              cancelled or right).
The main thread runs long calls (large hashes, checksums and compressions
with threads, big parallel_maps) while a sender thread delivers SIGINT to
the process at random intervals: each KeyboardInterrupt is caught and
counted in the main thread, the pool is checked to be usable, and work
resumes.

Faults: a wrong result, an unexpected exception, a worker that makes no
progress for 300 s (a hang; tracebacks are dumped), memory that keeps
growing (ASan's count of live heap bytes, or the RSS without ASan, over
the run after warm-up, with all workers parked), a LeakSanitizer report
whose allocation stack passes through fastconc's extension (under ASan
with detect_leaks=1, checked at the end), a crash (the process dies: ASan
prints the report).  At the end: calls, checks, interrupts, cancellations
and faults per kind; exit status 1 on any fault.
"""
from __future__ import annotations

import argparse
import collections
import ctypes
import ctypes.util
import faulthandler
import gc
import gzip
import hashlib
import os
import random
import re
import signal
import sys
import tempfile
import threading
import time
import traceback
import zlib
from concurrent.futures import CancelledError
from concurrent.futures import ThreadPoolExecutor as StdExecutor

# The fastconc of this tree (or of PYTHONPATH), not an installed one.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, ROOT)
import fastconc  # noqa: E402

try:
    import numpy as np
except ImportError:
    np = None
try:
    import zstandard
except ImportError:
    zstandard = None
try:
    import lz4.frame as lz4frame
except ImportError:
    lz4frame = None
try:
    import xxhash
except ImportError:
    xxhash = None
try:
    import blake3 as blake3_pkg
except ImportError:
    blake3_pkg = None
try:
    import crc32c as crc32c_pkg
except ImportError:
    crc32c_pkg = None

HANG_SECONDS = 300
# Live heap growth (bytes) from warm-up to the end that counts as a fault.
GROWTH_LIMIT = 96 << 20


class Stats:
    """Counters shared by the threads (a lock: the counts must be exact)."""

    def __init__(self) -> None:
        # Reentrant: the main thread's SIGINT handler counts too, and may
        # run while the main thread holds the lock.
        self.lock = threading.RLock()
        self.calls: collections.Counter[str] = collections.Counter()
        self.checks: collections.Counter[str] = collections.Counter()
        self.faults: list[str] = []
        self.counts: collections.Counter[str] = collections.Counter()

    def call(self, kind: str, n: int = 1) -> None:
        with self.lock:
            self.calls[kind] += n

    def check(self, kind: str, ok: bool, what: str) -> None:
        with self.lock:
            self.checks[kind] += 1
            if not ok:
                self.faults.append(f"{kind}: {what}")

    def fault(self, what: str) -> None:
        with self.lock:
            self.faults.append(what)

    def count(self, what: str, n: int = 1) -> None:
        with self.lock:
            self.counts[what] += n


STATS = Stats()


# --- data -----------------------------------------------------------------------

def corpus() -> bytes:
    """Real, compressible data: Python's own library sources."""
    out = bytearray()
    lib = os.path.dirname(os.__file__)
    for name in sorted(os.listdir(lib)):
        if name.endswith(".py"):
            with open(os.path.join(lib, name), "rb") as f:
                out += f.read()
        if len(out) > (8 << 20):
            break
    return bytes(out)


TEXT = b""


def sample(rng: random.Random, big: bool = False) -> bytes:
    top = (16 << 20) if big else (1 << 20)
    size = rng.choice((0, 1, rng.randrange(64), rng.randrange(5000),
                       rng.randrange(300_000), rng.randrange(top)))
    if rng.random() < 0.3:
        return rng.randbytes(size)
    start = rng.randrange(max(1, len(TEXT) - size))
    chunk = TEXT[start:start + size]
    return (chunk * (1 + size // max(1, len(chunk))))[:size] if chunk else b""


def pieces(rng: random.Random, data: bytes) -> list[bytes]:
    cuts = sorted(rng.randrange(len(data) + 1) for _ in range(rng.randrange(6)))
    cuts = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(cuts, cuts[1:])]


# --- references -----------------------------------------------------------------

SEEDED = ("xxh32", "xxh64", "xxh3_64", "xxh3_128")


def hash_names() -> list[str]:
    out = []
    for n in sorted(fastconc.algorithms_available):
        if n in SEEDED and xxhash is None or n == "blake3" and blake3_pkg is None:
            continue
        if n not in SEEDED and n != "blake3" and n not in hashlib.algorithms_available:
            continue
        out.append(n)
    return out


def ref_hash(name: str, data: bytes, seed: int = 0) -> bytes:
    if name in SEEDED:
        return getattr(xxhash, name)(data, seed=seed).digest()
    if name == "blake3":
        return blake3_pkg.blake3(data).digest()
    return hashlib.new(name, data).digest()


def codecs() -> list[str]:
    out = ["zlib", "deflate", "gzip"]
    if zstandard is not None:
        out.append("zstd")
    if lz4frame is not None:
        out.append("lz4")
    return out


WBITS = {"zlib": 15, "deflate": -15, "gzip": 31}


def ref_decompress(codec: str, blob: bytes) -> bytes:
    """Every member/frame, by the reference library."""
    if codec == "gzip":
        return gzip.decompress(blob)
    if codec in WBITS:
        d = zlib.decompressobj(WBITS[codec])
        out = d.decompress(blob)
        assert d.eof and not d.unused_data, "not one complete stream"
        return out
    out = b""
    while blob:
        if codec == "zstd":
            zd = zstandard.ZstdDecompressor().decompressobj()
            out += zd.decompress(blob)
            assert zd.eof, "truncated zstd frame"
            blob = zd.unused_data
        else:
            ld = lz4frame.LZ4FrameDecompressor()
            out += ld.decompress(blob)
            assert ld.eof, "truncated lz4 frame"
            blob = ld.unused_data
    return out


def ref_compress(codec: str, data: bytes) -> bytes:
    if codec in WBITS:
        c = zlib.compressobj(6, zlib.DEFLATED, WBITS[codec])
        return c.compress(data) + c.flush()
    if codec == "zstd":
        return zstandard.ZstdCompressor(level=3).compress(data)
    return lz4frame.compress(data)


LEVELS = {"zlib": (None, 0, 1, 6, 9), "deflate": (None, 1, 6),
          "gzip": (None, 0, 1, 6, 9), "zstd": (None, -3, 1, 3, 9),
          "lz4": (None, 0, 1, 9)}


# --- the calls -----------------------------------------------------------------

def call_hash(rng: random.Random, tmp: str, executor) -> None:
    name = rng.choice(HASHES)
    seed = rng.getrandbits(64) if name in SEEDED and rng.random() < 0.5 else 0
    kw = {"seed": seed} if name in SEEDED else {}
    data = sample(rng)
    how = rng.randrange(5)
    if how == 0:
        got = fastconc.digest(name, data, **kw)
        STATS.call("hash")
        STATS.check("hash", got == ref_hash(name, data, seed), f"digest {name}")
    elif how == 1:
        parts = pieces(rng, data)
        h = fastconc.new(name, parts[0], **kw)
        fork = None
        for i, p in enumerate(parts[1:], 1):
            if i == 1:
                fork = (h.copy(), b"".join(parts[:1]))
            h.update(p)
        STATS.call("hash", len(parts) + 1)
        STATS.check("hash", h.digest() == ref_hash(name, data, seed),
                    f"object {name} {[len(p) for p in parts]}")
        if fork is not None:
            c, head = fork
            c.update(b"tail")
            STATS.check("hash", c.digest() == ref_hash(name, head + b"tail", seed),
                        f"copy {name}")
    elif how == 2:
        items = [sample(rng)[:rng.randrange(1, 70_000)] for _ in range(rng.randrange(1, 40))]
        got = fastconc.hash_many(name, items, threads=rng.choice((None, 1, 2, 3)), **kw)
        STATS.call("hash")
        STATS.check("hash", got == [ref_hash(name, x, seed) for x in items],
                    f"hash_many {name}")
    else:
        items = [sample(rng) for _ in range(rng.randrange(1, 5))]
        paths = []
        for i, x in enumerate(items):
            p = os.path.join(tmp, f"h{threading.get_ident()}-{i}")
            with open(p, "wb") as f:
                f.write(x)
            paths.append(p)
        if how == 3:
            got = [fastconc.hash_file(name, p, **kw) for p in paths]
        else:
            ex = executor if rng.random() < 0.3 else None
            got = fastconc.hash_files(name, paths, threads=rng.choice((None, 1, 2, 3)),
                                      executor=ex, **kw)
        STATS.call("hash")
        STATS.check("hash", got == [ref_hash(name, x, seed) for x in items],
                    f"hash_files {name}")


def call_checksum(rng: random.Random) -> None:
    name = rng.choice(("crc32", "adler32", "crc32c"))
    fn = getattr(fastconc, name)
    data = sample(rng, big=rng.random() < 0.05)
    threads = rng.choice((None, 1, 2, 3, 4))
    start = rng.getrandbits(32) if rng.random() < 0.3 else (1 if name == "adler32" else 0)
    got = fn(data, start, threads=threads)
    STATS.call("checksum")
    if name == "crc32":
        want = zlib.crc32(data, start)
    elif name == "adler32":
        want = zlib.adler32(data, start)
    elif crc32c_pkg is not None:
        want = crc32c_pkg.crc32c(data, start)
    else:
        want = fn(data, start, threads=1)
    STATS.check("checksum", got == want, f"{name} len={len(data)} threads={threads}")
    # chained pieces and combine
    parts = pieces(rng, data)
    v = start
    for p in parts:
        v = fn(p, v)
    STATS.call("checksum", len(parts))
    STATS.check("checksum", v == want, f"{name} chained")
    a, b = data[:len(data) // 2], data[len(data) // 2:]
    combine = getattr(fastconc, name + "_combine")
    first = 1 if name == "adler32" else 0
    got = combine(fn(a, start), fn(b, first), len(b))
    STATS.call("checksum", 3)
    STATS.check("checksum", got == want, f"{name}_combine")


def call_codec(rng: random.Random, tmp: str) -> None:
    codec = rng.choice(CODECS)
    level = rng.choice(LEVELS[codec])
    data = sample(rng, big=rng.random() < 0.03)
    how = rng.randrange(6)
    threads = rng.choice((None, 1, 2, 3))
    if how == 0:
        blob = fastconc.compress(data, codec, level, threads=threads)
        STATS.call("codec")
        STATS.check("codec", ref_decompress(codec, blob) == data,
                    f"compress {codec} {level} threads={threads}")
        got = fastconc.decompress(blob, codec, threads=threads)
        STATS.call("codec")
        STATS.check("codec", got == data, f"decompress own {codec}")
    elif how == 1:
        blob = ref_compress(codec, data)
        bound = rng.choice((None, len(data), max(0, len(data) - 1)))
        try:
            got = fastconc.decompress(blob, codec, threads=threads, max_output_size=bound)
            ok = got == data and (bound is None or len(data) <= bound)
        except fastconc.OutputSizeError:
            ok = bound is not None and len(data) > bound
        STATS.call("codec")
        STATS.check("codec", ok, f"decompress {codec} bound={bound}")
    elif how == 2:
        items = [sample(rng)[:rng.randrange(1, 100_000)] for _ in range(rng.randrange(1, 12))]
        blobs = fastconc.compress_many(items, codec, level, threads=threads)
        STATS.call("codec")
        STATS.check("codec", [ref_decompress(codec, b) for b in blobs] == items,
                    f"compress_many {codec}")
        got = fastconc.decompress_many(blobs, codec, threads=threads)
        STATS.call("codec")
        STATS.check("codec", got == items, f"decompress_many {codec}")
    elif how == 3:
        c = fastconc.Compressor(codec, level, threads if codec == "zstd" else None)
        out = []
        for p in pieces(rng, data):
            out.append(c.compress(p))
            if rng.random() < 0.3:
                out.append(c.flush("block"))
        out.append(c.flush())
        blob = b"".join(out)
        STATS.call("codec", len(out))
        STATS.check("codec", ref_decompress(codec, blob) == data, f"Compressor {codec}")
        d = fastconc.Decompressor(codec)
        got = bytearray()
        ml = rng.choice((-1, 1000, 65536))
        parts = pieces(rng, blob)
        while parts and not d.eof:
            got += d.decompress(parts.pop(0), ml)
            while not d.eof and not d.needs_input:
                got += d.decompress(b"", ml)
        STATS.call("codec")
        STATS.check("codec", bytes(got) == data and d.eof and not d.unused_data
                    and not b"".join(parts), f"Decompressor {codec}")
    else:
        path = os.path.join(tmp, f"o{threading.get_ident()}.{codec}")
        t = threads if codec in ("gzip", "zstd", "lz4") else None
        with fastconc.open(path, "wb", codec, level, t) as f:
            for p in pieces(rng, data):
                f.write(p)
                if rng.random() < 0.2:
                    f.flush()
        with open(path, "rb") as f:
            blob = f.read()
        STATS.call("codec")
        STATS.check("codec", ref_decompress(codec, blob) == data, f"open(w) {codec}")
        with fastconc.open(path, "rb", codec) as f:
            got = bytearray()
            while True:
                chunk = f.read(rng.choice((1, 4096, 100_000, -1)))
                if not chunk:
                    break
                got += chunk
        STATS.call("codec")
        STATS.check("codec", bytes(got) == data, f"open(r) {codec}")


def _square(x: int) -> int:
    return x * x


def call_pmap(rng: random.Random) -> None:
    if np is not None and rng.random() < 0.4:
        x = np.linspace(0, 1000, rng.randrange(1, 300_000))
        got = fastconc.map_array(SQRT, x, threads=rng.choice((None, 1, 2, 3)))
        STATS.call("pmap")
        STATS.check("pmap", bool(np.array_equal(got, np.sqrt(x))), "map_array sqrt")
        return
    items = list(range(rng.randrange(0, 20_000)))
    ordered = rng.random() < 0.7
    got = list(fastconc.parallel_map(_square, items, threads=rng.choice((None, 1, 2, 3)),
                                     chunksize=rng.choice((None, 1, 64)),
                                     ordered=ordered))
    want = [i * i for i in items]
    STATS.call("pmap")
    STATS.check("pmap", got == want if ordered else sorted(got) == want,
                f"parallel_map ordered={ordered}")


def _digest_task(name: str, data: bytes) -> bytes:
    return fastconc.digest(name, data)


def _slow_task(data: bytes) -> bytes:
    time.sleep(0.002)
    return fastconc.digest("sha256", data)


def call_executor(rng: random.Random, shared) -> None:
    how = rng.randrange(4)
    if how == 0:
        items = [sample(rng)[:50_000] for _ in range(rng.randrange(1, 30))]
        futs = [shared.submit(_digest_task, "sha256", x) for x in items]
        got = [f.result(timeout=HANG_SECONDS) for f in futs]
        STATS.call("executor", len(items))
        STATS.check("executor", got == [hashlib.sha256(x).digest() for x in items], "submit")
    elif how == 1:
        items = [rng.randbytes(rng.randrange(100)) for _ in range(rng.randrange(500))]
        got = list(shared.map(_digest_task, ["md5"] * len(items), items,
                              chunksize=rng.choice((1, 16))))
        STATS.call("executor", len(items))
        STATS.check("executor", got == [hashlib.md5(x).digest() for x in items], "map")
    elif how == 2:
        items = [rng.randbytes(1000) for _ in range(40)]
        futs = [shared.submit(_slow_task, x) for x in items]
        cancelled = 0
        for f in futs[rng.randrange(len(futs)):]:
            if f.cancel():
                cancelled += 1
        ok = True
        for f, x in zip(futs, items):
            try:
                ok &= f.result(timeout=HANG_SECONDS) == hashlib.sha256(x).digest()
            except CancelledError:
                ok &= f.cancelled()
        STATS.call("executor", len(items))
        STATS.count("futures cancelled", cancelled)
        STATS.check("executor", ok, "cancel")
    else:
        ex = fastconc.ThreadPoolExecutor(2)
        items = [rng.randbytes(2000) for _ in range(60)]
        futs = [ex.submit(_slow_task, x) for x in items]
        time.sleep(rng.random() * 0.02)
        ex.shutdown(wait=True, cancel_futures=True)
        ok = True
        cancelled = 0
        for f, x in zip(futs, items):
            if f.cancelled():
                cancelled += 1
            else:
                ok &= f.done() and f.result() == hashlib.sha256(x).digest()
        STATS.call("executor", len(items))
        STATS.count("shutdown(cancel_futures=True) cancelled", cancelled)
        STATS.check("executor", ok, "shutdown(cancel_futures=True)")


KINDS = ("hash", "checksum", "codec", "pmap", "executor")


# --- threads -----------------------------------------------------------------------

class Control:
    def __init__(self, nworkers: int) -> None:
        self.stop = threading.Event()
        self.pause = threading.Event()
        self.parked = threading.Semaphore(0)
        self.resume = threading.Event()
        self.beats = [time.monotonic()] * nworkers


def worker(i: int, seed: int, ctl: Control, tmp: str, shared) -> None:
    rng = random.Random(seed * 1000 + i)
    while not ctl.stop.is_set():
        if ctl.pause.is_set():
            ctl.parked.release()
            ctl.resume.wait()
            continue
        kind = rng.choice(KINDS)
        try:
            if kind == "hash":
                call_hash(rng, tmp, shared)
            elif kind == "checksum":
                call_checksum(rng)
            elif kind == "codec":
                call_codec(rng, tmp)
            elif kind == "pmap":
                call_pmap(rng)
            else:
                call_executor(rng, shared)
        except Exception:
            STATS.fault(f"worker {i} {kind}: unexpected exception:\n"
                        + traceback.format_exc())
        ctl.beats[i] = time.monotonic()


def main_thread_call(rng: random.Random) -> None:
    """One long call, which a SIGINT may interrupt."""
    how = rng.randrange(5)
    big = BIG[rng.randrange(len(BIG))]
    if how == 0:
        name = rng.choice(("sha256", "blake3", "xxh3_64", "md5"))
        got = fastconc.digest(name, big)
        STATS.call("main")
        STATS.check("main", got == REF_BIG[(name, id(big))], f"digest {name} (main)")
    elif how == 1:
        got = fastconc.crc32(big, threads=rng.choice((2, 3, 4)))
        STATS.call("main")
        STATS.check("main", got == REF_BIG[("crc32", id(big))], "crc32 threads (main)")
    elif how == 2:
        codec = rng.choice(CODECS)
        blob = fastconc.compress(big, codec, threads=rng.choice((2, 3)))
        got = fastconc.decompress(blob, codec, threads=rng.choice((1, 2)))
        STATS.call("main", 2)
        STATS.check("main", got == big, f"{codec} round trip (main)")
    elif how == 3:
        items = [big[i:i + 4096] for i in range(0, len(big), 4096)]
        got = fastconc.hash_many("sha1", items, threads=2)
        STATS.call("main")
        STATS.check("main", got == REF_BIG[("hash_many", id(big))], "hash_many (main)")
    else:
        got = list(fastconc.parallel_map(_square, range(200_000), threads=2))
        STATS.call("main")
        STATS.check("main", got[-1] == 199_999 ** 2 and len(got) == 200_000,
                    "parallel_map (main)")


def sigint_sender(ctl: Control, seed: int, armed: threading.Event) -> None:
    rng = random.Random(seed)
    pid = os.getpid()
    while not ctl.stop.wait(rng.uniform(0.2, 2.0)):
        if armed.is_set():
            os.kill(pid, signal.SIGINT)
            STATS.count("SIGINT sent")


class Interrupts:
    """SIGINT in the main thread.  The handler raises KeyboardInterrupt only
    while armed, and disarms itself when it does: a second signal cannot
    land in the except clause that counts the first (it is only counted),
    and none can land while the workers are parked and measured."""

    def __init__(self) -> None:
        self.armed = False
        self.signals = 0
        self.caught = 0

    def handler(self, signum, frame) -> None:
        self.signals += 1
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt


INTERRUPTS = Interrupts()


# --- memory and leaks -------------------------------------------------------------------

def asan_live_bytes() -> int | None:
    try:
        f = ctypes.CDLL(None).__sanitizer_get_current_allocated_bytes
    except AttributeError:
        return None
    f.restype = ctypes.c_size_t
    return int(f())


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
        "fsmblks", "uordblks", "fordblks", "keepcost")]


def malloc_live_bytes() -> int | None:
    """glibc's count of bytes in use (mallinfo2: uordblks + hblkhd)."""
    try:
        f = ctypes.CDLL(None).mallinfo2
    except AttributeError:
        return None
    f.restype = _Mallinfo2
    m = f()
    return int(m.uordblks + m.hblkhd)


def live_bytes() -> tuple[str, int]:
    v = asan_live_bytes()
    if v is not None:
        return "ASan live heap", v
    v = malloc_live_bytes()
    if v is not None:
        return "malloc in use", v
    with open("/proc/self/statm") as f:
        return "RSS", int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# LeakSanitizer: leaked objects beyond this many count as a fault even
# when no stack shows the extension (stacks recorded by the fast unwinder
# stop inside libpython, built without frame pointers); a leak in a call
# the soak makes hundreds of thousands of times is far above it, while
# CPython's own one-time leaks (a few objects) are below.
LEAKED_OBJECTS_LIMIT = 1000


def lsan_check(tmp: str) -> tuple[int, int, int, int, str] | None:
    """Run LeakSanitizer now; returns (leak reports through fastconc's
    extension, all leak reports, leaked objects, leaked bytes, the text of
    the fastconc ones), or None when LSan is not active."""
    try:
        check = ctypes.CDLL(None).__lsan_do_recoverable_leak_check
    except AttributeError:
        return None
    if "detect_leaks=1" not in os.environ.get("ASAN_OPTIONS", ""):
        return None
    path = os.path.join(tmp, "lsan.txt")
    sys.stderr.flush()
    saved = os.dup(2)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 2)
    try:
        check()
    finally:
        os.dup2(saved, 2)
        os.close(fd)
        os.close(saved)
    with open(path, errors="replace") as f:
        text = f.read()
    keep = os.path.join(ROOT, "build", "soak")
    os.makedirs(keep, exist_ok=True)
    with open(os.path.join(keep, "lsan.txt"), "w") as f:
        f.write(text)
    reports = [r for r in text.split("\n\n") if "leak of" in r]
    # A frame in the extension: its file, or (symbolized) its sources.
    pkg = os.path.dirname(os.path.abspath(fastconc.__file__))
    marks = (os.path.join(pkg, "_core"), os.path.join(os.path.dirname(pkg), "src") + os.sep)
    ours = [r for r in reports if any(m in r for m in marks)]
    objects = sum(int(m.group(2)) for m in re.finditer(
        r"leak of (\d+) byte\(s\) in (\d+) object", text))
    nbytes = sum(int(m.group(1)) for m in re.finditer(
        r"leak of (\d+) byte\(s\) in (\d+) object", text))
    return len(ours), len(reports), objects, nbytes, "\n\n".join(ours)


def park(ctl: Control, n: int) -> None:
    """Stop every worker between two calls."""
    ctl.resume.clear()
    ctl.pause.set()
    for _ in range(n):
        while not ctl.parked.acquire(timeout=HANG_SECONDS):
            STATS.fault("a worker did not park within the hang limit")
            return


def unpark(ctl: Control) -> None:
    ctl.pause.clear()
    ctl.resume.set()


# --- main --------------------------------------------------------------------------------

def main() -> int:
    global TEXT, HASHES, CODECS, BIG, REF_BIG, SQRT
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    args = ap.parse_args()
    faulthandler.enable()
    asan = asan_live_bytes() is not None
    print(f"soak: {args.threads} threads, {args.minutes:g} min, seed {args.seed}, "
          f"fastconc {fastconc.__file__}, ASan {'on' if asan else 'off'}", flush=True)
    TEXT = corpus()
    HASHES = hash_names()
    CODECS = codecs()
    BIG = [TEXT[:6 << 20], (TEXT * 3)[:20 << 20]]
    REF_BIG = {}
    for b in BIG:
        for name in ("sha256", "blake3", "xxh3_64", "md5"):
            if name in HASHES:
                REF_BIG[(name, id(b))] = ref_hash(name, b)
        REF_BIG[("crc32", id(b))] = zlib.crc32(b)
        REF_BIG[("hash_many", id(b))] = [hashlib.sha1(b[i:i + 4096]).digest()
                                         for i in range(0, len(b), 4096)]
    SQRT = None
    if np is not None:
        libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        SQRT = libm.sqrt
        SQRT.restype = ctypes.c_double
        SQRT.argtypes = [ctypes.c_double]

    ctl = Control(args.threads)
    armed = threading.Event()
    shared = fastconc.ThreadPoolExecutor(4)
    std = StdExecutor(2)
    deadline = time.monotonic() + args.minutes * 60
    warm_until = time.monotonic() + min(60.0, args.minutes * 60 / 5)
    rng = random.Random(args.seed)
    baseline: tuple[str, int] | None = None
    with tempfile.TemporaryDirectory(prefix="fastconc-soak-") as tmp:
        threads = [threading.Thread(target=worker, name=f"soak-{i}",
                                    args=(i, args.seed, ctl, tmp,
                                          shared if i % 2 else std),
                                    daemon=True)
                   for i in range(args.threads)]
        for t in threads:
            t.start()
        sender = threading.Thread(target=sigint_sender, args=(ctl, args.seed, armed),
                                  daemon=True)
        sender.start()
        armed.set()
        last_report = time.monotonic()
        signal.signal(signal.SIGINT, INTERRUPTS.handler)
        while time.monotonic() < deadline:
            try:
                INTERRUPTS.armed = True
                main_thread_call(rng)
                INTERRUPTS.armed = False
            except KeyboardInterrupt:
                INTERRUPTS.armed = False
                INTERRUPTS.caught += 1
                # The pool must work right after.
                ok = fastconc.crc32(b"abc" * 100_000, threads=2) == zlib.crc32(b"abc" * 100_000)
                STATS.check("main", ok, "pool after KeyboardInterrupt")
            if baseline is None and time.monotonic() > warm_until:
                park(ctl, len(threads))
                gc.collect()
                baseline = live_bytes()
                unpark(ctl)
            now = time.monotonic()
            stale = [i for i, b in enumerate(ctl.beats)
                     if now - b > HANG_SECONDS and not ctl.pause.is_set()]
            if stale:
                STATS.fault(f"workers {stale} made no progress for {HANG_SECONDS} s")
                faulthandler.dump_traceback(all_threads=True)
                break
            if now - last_report > 60:
                last_report = now
                with STATS.lock:
                    print(f"soak: {sum(STATS.calls.values())} calls, "
                          f"{sum(STATS.checks.values())} checks, "
                          f"{INTERRUPTS.caught} interrupts, "
                          f"{len(STATS.faults)} faults", flush=True)
        armed.clear()
        park(ctl, len(threads))
        gc.collect()
        end = live_bytes()
        leaks = lsan_check(tmp)
        ctl.stop.set()
        unpark(ctl)
        for t in threads:
            t.join(timeout=HANG_SECONDS)
        sender.join(timeout=10)
        shared.shutdown(wait=True)
        std.shutdown(wait=True)
    if baseline is not None:
        growth = end[1] - baseline[1]
        print(f"soak: {end[0]}: {baseline[1] >> 20} MiB after warm-up, "
              f"{end[1] >> 20} MiB at the end ({growth / (1 << 20):+.1f} MiB)")
        if growth > GROWTH_LIMIT:
            STATS.fault(f"{end[0]} grew by {growth >> 20} MiB after warm-up")
    if leaks is None:
        print("soak: LeakSanitizer not active (run under make soak for it)")
    else:
        ours, total, objects, nbytes, text = leaks
        print(f"soak: LeakSanitizer: {total} leak report(s) ({objects} objects, "
              f"{nbytes} bytes), {ours} through fastconc (all in "
              f"{os.path.join(ROOT, 'build', 'soak', 'lsan.txt')})")
        if ours:
            STATS.fault("LeakSanitizer reports through fastconc:\n" + text[:20000])
        if objects > LEAKED_OBJECTS_LIMIT:
            STATS.fault(f"LeakSanitizer: {objects} objects leaked")
    print("soak: calls by kind:  " + ", ".join(f"{k} {v}" for k, v in sorted(STATS.calls.items())))
    print("soak: checks by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(STATS.checks.items())))
    STATS.count("SIGINT handled", INTERRUPTS.signals)
    STATS.count("KeyboardInterrupt caught", INTERRUPTS.caught)
    print("soak: events:         " + ", ".join(f"{k} {v}" for k, v in sorted(STATS.counts.items())))
    print(f"soak: TOTAL calls {sum(STATS.calls.values())}, checks "
          f"{sum(STATS.checks.values())}, faults {len(STATS.faults)}")
    for f in STATS.faults[:20]:
        print("FAULT: " + f)
    return 1 if STATS.faults else 0


if __name__ == "__main__":
    sys.exit(main())
