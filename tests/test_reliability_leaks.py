"""Leaks: every public call of reliability_calls.TABLE (good input and
error paths) and interrupted calls, run many times; neither the Python heap
(tracemalloc, which sees PyMem_Raw* too) nor the resident set may grow past
a small bound, and no input's reference count may change."""
import gc
import os
import random
import signal
import sys
import threading
import time
import tracemalloc

import pytest
import reliability_calls as rc

import fastconc

ROUNDS = int(os.environ.get("FASTCONC_LEAK_ROUNDS", "400"))
HEAP_BOUND = 8 << 10        # Python heap growth allowed over ROUNDS calls
                            # (one leaked 32-byte object per call is 13 KiB)
RSS_BOUND = 24 << 20        # resident set growth (allocator slack, caches)
# Under AddressSanitizer freed memory sits in a quarantine (256 MiB) before
# reuse, so the resident set grows by design; the heap bound still holds.
if os.environ.get("FASTCONC_ASAN"):
    RSS_BOUND = 1 << 40


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


# Allocations counted: those made from our package, from the call tables
# and from this file, plus those with no Python frame (the pool's native
# threads).  Another thread a previous test left behind (a dask or asyncio
# loop winding down, say) allocates from its own frames and is not counted.
_OURS = [tracemalloc.Filter(True, pat) for pat in (
    os.path.join(os.path.dirname(fastconc.__file__), "*"),
    "*" + os.sep + "reliability_calls.py", __file__, "<unknown>")]


def _heap(snapshot):
    return sum(t.size for t in snapshot.filter_traces(_OURS).traces)


def measure(calls, rounds=ROUNDS):
    """Run the calls `rounds` times in a loop, three times, with tracemalloc
    on; return (heap growth, rss growth, top growing lines) of the second
    or third loop, whichever grew less.  The first loop absorbs one-time
    growth (caches, free lists, the pool).  A leak grows in every loop; a
    one-off event does not: when the interpreter rebuilds a table it
    allocated before tracemalloc started (the interned-strings dict, after
    many short-lived interned keys), the new table counts and the old one
    did not."""
    for c in calls * 3:
        c()
    gc.collect()
    tracemalloc.start()
    snaps = []
    try:
        for _ in range(3):
            for i in range(rounds):
                calls[i % len(calls)]()
            gc.collect()
            snaps.append((tracemalloc.take_snapshot(), rss()))
    finally:
        tracemalloc.stop()
    windows = []
    for (s0, r0), (s1, r1) in zip(snaps, snaps[1:]):
        top = [str(d) for d in s1.filter_traces(_OURS).compare_to(
            s0.filter_traces(_OURS), "lineno")[:5]]
        windows.append((_heap(s1) - _heap(s0), r1 - r0, top))
    heap = min(w[0] for w in windows)
    grown = min(w[1] for w in windows)
    return heap, grown, max(windows, key=lambda w: w[0])[2]


@pytest.mark.timeout(600, method="thread")   # a deadlock in C blocks signals
@pytest.mark.parametrize("entry", rc.available(), ids=lambda e: e[0])
def test_no_leak(entry):
    label, _, make = entry
    rng = random.Random(7)
    calls = [make(rng) for _ in range(8)]
    heap, grown, top = measure(calls)
    assert heap < HEAP_BOUND, (f"{label}: Python heap grew {heap} bytes; "
                               f"top: {top}")
    assert grown < RSS_BOUND, f"{label}: RSS grew {grown >> 20} MiB"


def test_table_lists_absent_apis():
    """Not a check: records which table entries this build cannot run."""
    absent = rc.absent()
    if absent:
        pytest.skip("not in this build: " + ", ".join(absent))


def _refcount_inputs():
    data = os.urandom(100_000)
    out = [(lambda x, f=f: getattr(fastconc, f)(x, threads=2), data)
           for f in ("crc32", "crc32c", "adler32")]
    out.append((lambda x: fastconc.crc32(x, release_gil=True), bytearray(data)))
    if hasattr(fastconc, "digest"):
        out.append((lambda x: fastconc.digest("sha256", x), data))
    if hasattr(fastconc, "new"):
        out.append((lambda x: fastconc.new("sha256", x).update(x), data))
    if hasattr(fastconc, "hash_many"):
        out.append((lambda x: fastconc.hash_many("sha256", x), [data, data]))
    if hasattr(fastconc, "compress"):
        out.append((lambda x: fastconc.compress(x, "zstd"), data))
    if hasattr(fastconc, "decompress") and hasattr(fastconc, "compress"):
        blob = fastconc.compress(data, "gzip")
        out.append((lambda x: fastconc.decompress(x), blob))
    if hasattr(fastconc, "Decompressor"):
        out.append((lambda x: fastconc.Decompressor().decompress(x[:50]), data))
    if hasattr(fastconc, "parallel_map"):
        out.append((lambda x: list(fastconc.parallel_map(len, x)), [data] * 10))
    if hasattr(fastconc, "submit"):
        import asyncio
        out.append((lambda x: fastconc.submit(fastconc.crc32, x,
                                              threads=2).result(), data))
        out.append((lambda x: fastconc.submit(fastconc.compress, x).result(),
                    data))
        out.append((lambda x: fastconc.submit(fastconc.crc32, x,
                                              threads=0).result(), data))
        out.append((lambda x: asyncio.run(fastconc.aio.crc32c(x)), data))
        out.append((lambda x: asyncio.run(fastconc.aio.hash_many(
            "sha256", x)), [data, data]))
    return out


def test_refcounts_of_inputs_unchanged():
    for fn, obj in _refcount_inputs():
        members = list(obj) if isinstance(obj, list) else []
        before = sys.getrefcount(obj), [sys.getrefcount(m) for m in members]
        for _ in range(50):
            try:
                fn(obj)
            except (ValueError, TypeError):
                pass    # an error path must not keep references either
        gc.collect()
        after = sys.getrefcount(obj), [sys.getrefcount(m) for m in members]
        assert before == after, fn


def test_refcounts_on_error_paths():
    bad = "text"
    good = b"x" * 10
    before = sys.getrefcount(bad), sys.getrefcount(good)
    for _ in range(100):
        for f in (fastconc.crc32, fastconc.crc32c, fastconc.adler32):
            with pytest.raises(TypeError):
                f(bad)
            with pytest.raises(TypeError):
                f(good, bogus=good)
    assert (sys.getrefcount(bad), sys.getrefcount(good)) == before


@pytest.mark.timeout(300, method="thread")
def test_interrupted_calls_do_not_leak():
    """SIGINT lands in long calls again and again: each raises
    KeyboardInterrupt or completes, and memory stays flat."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals need the main thread")
    data = bytes(256 << 20)
    level = fastconc._core._get_simd_level()
    fastconc._core._set_simd_level("portable")   # slow enough to interrupt
    calls = [lambda: fastconc.crc32(data, threads=2, release_gil=True),
             lambda: fastconc.adler32(data, threads=1, release_gil=True)]
    if hasattr(fastconc, "digest"):
        calls.append(lambda: fastconc.digest("sha512", data))
    if hasattr(fastconc, "compress"):
        calls.append(lambda: fastconc.compress(data[: 64 << 20], "gzip", threads=2))

    hits = [0]

    def interrupted(fn):
        timer = threading.Timer(0.01, os.kill, (os.getpid(), signal.SIGINT))
        try:
            try:
                timer.start()
                fn()
            finally:
                timer.join()        # the signal has been sent by now
            time.sleep(0.05)        # and is handled here if the call ended first
        except KeyboardInterrupt:
            hits[0] += 1

    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        wrapped = [lambda f=f: interrupted(f) for f in calls]
        heap, grown, top = measure(wrapped, rounds=max(40, ROUNDS // 10))
    finally:
        signal.signal(signal.SIGINT, old)
        fastconc._core._set_simd_level(level)
    assert heap < HEAP_BOUND, f"Python heap grew {heap} bytes; top: {top}"
    assert grown < RSS_BOUND, f"RSS grew {grown >> 20} MiB"
    assert hits[0] > 0
    assert fastconc.crc32(data[:1 << 20], threads=2) == fastconc.crc32(data[:1 << 20])
