"""The GIL policy of release_gil=None: GIL_THRESHOLD is the floor for every
kernel, and a fast kernel also keeps the GIL for a call expected to last
less than the release time (``_set_gil_release_us``; its pace times that
time).  Whether a call released the GIL is seen from another Python thread:
it runs during a long call only when the GIL was released (no timing
constants: a count of its loop turns during the call)."""
import hashlib
import sys
import threading
import zlib

import pytest

import fastconc

_core = fastconc._core
GIL_ENABLED = getattr(sys, "_is_gil_enabled", lambda: True)()

# Far beyond any input here: a pace of 48000 bytes/µs times this is ~5e13.
NEVER_US = 1 << 30
# 384 MiB of calloc'd zero pages: long calls on the portable kernels, and
# no RSS cost.
BIG = 384 << 20


@pytest.fixture
def policy():
    """Restore GIL_THRESHOLD and the release time after the test."""
    old = (fastconc.GIL_THRESHOLD, _core._get_gil_release_us())
    try:
        yield
    finally:
        fastconc.GIL_THRESHOLD = old[0]
        _core._set_gil_release_us(old[1])


def test_release_time_knob(policy):
    assert _core._get_gil_release_us() == 10
    assert fastconc.info()["gil_release_us"] == 10
    _core._set_gil_release_us(0)
    assert _core._get_gil_release_us() == 0
    assert fastconc.info()["gil_release_us"] == 0
    _core._set_gil_release_us(NEVER_US)
    assert _core._get_gil_release_us() == NEVER_US
    with pytest.raises(ValueError):
        _core._set_gil_release_us(-1)
    with pytest.raises(TypeError):
        _core._set_gil_release_us(1.5)
    with pytest.raises(TypeError):
        _core._set_gil_release_us(True)
    assert _core._get_gil_release_us() == NEVER_US


def _turns_during(call):
    """How many times another Python thread went round its loop while
    call() ran, the most of three calls (a thread switch at the edges of a
    call may let it run for one switch interval either way; the held case
    takes the least of its runs, so compare with _held_turns)."""
    counter = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1

    # A short switch interval keeps the edges of a held call short.
    old = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    t = threading.Thread(target=spin)
    t.start()
    try:
        counts = []
        for _ in range(3):
            before = counter[0]
            call()
            counts.append(counter[0] - before)
    finally:
        stop.set()
        t.join()
        sys.setswitchinterval(old)
    return counts


def _check(call, *, released):
    counts = _turns_during(call)
    if released:
        assert max(counts) > 100, counts
    else:
        # held: the other thread got at most the edges of the call
        return min(counts)
    return None


CALLS = {
    "crc32": lambda d: fastconc.crc32(d, threads=1),
    "crc32c": lambda d: fastconc.crc32c(d, threads=1),
    "adler32": lambda d: fastconc.adler32(d, threads=1),
    "xxh3_64": lambda d: fastconc.digest("xxh3_64", d),
    "xxh64 update": lambda d: fastconc.new("xxh64").update(d),
    "xxh3_128 new": lambda d: fastconc.new("xxh3_128", d),
}


@pytest.mark.skipif(not GIL_ENABLED, reason="no GIL to hold or release")
@pytest.mark.parametrize("name", sorted(CALLS))
def test_release_follows_release_time(name, policy, simd_portable):
    """The same long call (portable kernels) with release_gil=None keeps
    the GIL when its bytes are below pace * release time and releases it
    when the release time is 0 (GIL_THRESHOLD alone decides), so the
    decision comes from the per-kernel threshold, not from the size
    alone."""
    # xxHash's portable code is still fast: a longer input for it
    data = bytes(BIG * 2 if name.startswith("xxh") else BIG)
    call = CALLS[name]
    _core._set_gil_release_us(0)
    _check(lambda: call(data), released=True)
    _core._set_gil_release_us(NEVER_US)
    held = _check(lambda: call(data), released=False)
    _core._set_gil_release_us(0)
    released = max(_turns_during(lambda: call(data)))
    # (a loaded machine may leave the other thread holding the GIL past
    # its switch interval now and then: a margin of 4, not 10)
    assert held * 4 < released, (held, released)


@pytest.mark.skipif(not GIL_ENABLED, reason="no GIL to hold or release")
def test_gil_threshold_stays_the_floor(policy, simd_portable):
    """With no release time, GIL_THRESHOLD still keeps the GIL below it."""
    data = bytes(BIG)
    _core._set_gil_release_us(0)
    fastconc.GIL_THRESHOLD = BIG + 1
    held = min(_turns_during(lambda: fastconc.crc32c(data, threads=1)))
    fastconc.GIL_THRESHOLD = BIG
    released = max(_turns_during(lambda: fastconc.crc32c(data, threads=1)))
    assert held * 4 < released, (held, released)


@pytest.mark.skipif(not GIL_ENABLED, reason="no GIL to hold or release")
def test_forced_release_ignores_the_policy(policy, simd_portable):
    """release_gil=True releases whatever the release time says."""
    data = bytes(BIG)
    _core._set_gil_release_us(NEVER_US)
    counts = _turns_during(
        lambda: fastconc.crc32c(data, threads=1, release_gil=True))
    assert max(counts) > 100, counts


@pytest.mark.parametrize("us", [0, 10, NEVER_US])
def test_results_do_not_depend_on_the_policy(us, policy):
    """Held or released, the values are the reference libraries'."""
    _core._set_gil_release_us(us)
    for n in (0, 1, 2047, 2048, 65536, 500_000, 1 << 20):
        d = bytes(range(256)) * (n // 256) + bytes(n % 256)
        assert fastconc.crc32(d, threads=1) == zlib.crc32(d)
        assert fastconc.adler32(d, threads=1) == zlib.adler32(d)
        assert fastconc.digest("sha256", d) == hashlib.sha256(d).digest()
        h = fastconc.new("sha1")
        h.update(d)
        assert h.digest() == hashlib.sha1(d).digest()


@pytest.mark.skipif(not GIL_ENABLED, reason="no GIL to hold or release")
@pytest.mark.parametrize("name", ["crc32", "crc32c", "adler32"])
def test_checksum_pace_follows_the_simd_level(name, policy, simd_portable):
    """The checksums' pace is that of the SIMD level in use: at the
    portable level a call of 384 MiB lasts well over 50 ms (the portable
    kernels run about 2 bytes a ns, the vector ones 20 to 50), so with a
    release time of 50 ms it releases the GIL, where the vector kernels'
    pace would have kept it (384 MiB / 40 bytes a ns is about 10 ms)."""
    data = bytes(BIG)
    call = CALLS[name]
    _core._set_gil_release_us(NEVER_US)
    held = _check(lambda: call(data), released=False)
    _core._set_gil_release_us(50_000)
    released = max(_turns_during(lambda: call(data)))
    assert held * 4 < released, (held, released)


# Calls whose kernels follow the SIMD level (hash/algorithms.c's xxh3 and
# blake3/object.c's paces), one thread, and their sizes: at the portable
# level each lasts several times the release time below, where the avx2
# pace would estimate it under that time (xxh3: 768 MiB / 48 bytes a ns
# is 17 ms, blake3: 64 MiB / 6 bytes a ns 11 ms; the portable kernels run
# about 8 and 0.8 bytes a ns).
LEVEL_CALLS = {
    "xxh3_64": (lambda d: fastconc.digest("xxh3_64", d), BIG * 2, 40_000),
    "xxh3_128 update": (lambda d: fastconc.new("xxh3_128").update(d),
                        BIG * 2, 40_000),
    "blake3": (lambda d: fastconc.blake3(d, max_threads=1), 64 << 20,
               30_000),
}


@pytest.mark.skipif(not GIL_ENABLED, reason="no GIL to hold or release")
@pytest.mark.parametrize("name", sorted(LEVEL_CALLS))
def test_hash_pace_follows_the_simd_level(name, policy, simd_portable):
    """As the checksums': a portable xxh3 or blake3 call far longer than
    the release time releases the GIL (with one avx2 figure it held)."""
    call, size, us = LEVEL_CALLS[name]
    data = bytes(size)
    _core._set_gil_release_us(NEVER_US)
    held = _check(lambda: call(data), released=False)
    _core._set_gil_release_us(us)
    released = max(_turns_during(lambda: call(data)))
    assert held * 4 < released, (held, released)
