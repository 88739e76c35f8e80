"""Stress: 8 Python threads call a random mix of the public API
(reliability_calls.TABLE: checksums, hashing, codecs, parallel_map, the
executor) on shared and private inputs for FASTCONC_STRESS_SECONDS (30 s;
the ASan run uses 5), every result checked; shared objects (one hash object,
one Compressor) are updated from all threads at once.  Then the same with a
fork in the middle: the child checks a few calls and exits."""
import hashlib
import os
import random
import threading
import time
import warnings
import zlib

import pytest
import reliability_calls as rc

import fastconc

SECONDS = float(os.environ.get("FASTCONC_STRESS_SECONDS", "30"))
THREADS = 8
CHUNK = b"fastconc shared object " * 100


class Shared:
    """Objects every thread updates; all updates are the same CHUNK, so the
    final state is known whatever the interleaving."""

    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()
        self.hash = fastconc.sha256() if hasattr(fastconc, "sha256") else None
        self.comp = (fastconc.Compressor("zstd")
                     if hasattr(fastconc, "Compressor") else None)
        self.blob = []

    def update(self):
        if self.hash is not None:
            self.hash.update(CHUNK)
        if self.comp is not None:
            with self.lock:     # the output order must match the input order
                self.blob.append(self.comp.compress(CHUNK))
        with self.lock:
            self.count += 1

    def check(self):
        if self.hash is not None:
            assert self.hash.digest() == hashlib.sha256(CHUNK * self.count).digest()
        if self.comp is not None:
            blob = b"".join(self.blob) + self.comp.flush()
            assert rc._ref_decompress("zstd", blob) == CHUNK * self.count


def run_stress(seconds, fork_at=None):
    entries = rc.available()
    shared = Shared()
    errors = []
    calls = [0]
    stop = time.monotonic() + seconds
    barrier = threading.Barrier(THREADS)

    def worker(k):
        rng = random.Random(1000 + k)
        barrier.wait()
        try:
            while time.monotonic() < stop:
                label = "shared objects"
                if rng.random() < 0.1:
                    shared.update()
                    continue
                label, _, make = rng.choice(entries)
                make(rng)()
                calls[0] += 1
        except BaseException as exc:   # noqa: B036 - reported below
            errors.append((k, label, repr(exc)))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    child_status = None
    if fork_at is not None:
        time.sleep(fork_at)
        child_status = fork_and_check()
    for t in threads:
        t.join(seconds + 120)
    assert not any(t.is_alive() for t in threads), "a stress thread hangs"
    assert errors == [], errors[:5]
    shared.check()
    assert calls[0] > THREADS
    return child_status


def fork_and_check():
    """Fork while the other threads are inside fastconc calls; the child
    uses the pool and a few functions, then exits; returns its status."""
    data = os.urandom(3 << 20)
    with warnings.catch_warnings():
        # 3.12+ warns that fork() with threads may deadlock: that is what
        # this test checks fastconc does not do.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        code = 1
        try:
            ok = fastconc.crc32(data, threads=4) == zlib.crc32(data)
            ok = ok and fastconc.adler32(data, threads=2) == zlib.adler32(data)
            if hasattr(fastconc, "digest"):
                ok = ok and fastconc.digest("sha256", data) == hashlib.sha256(data).digest()
            if hasattr(fastconc, "compress"):
                ok = ok and fastconc.decompress(
                    fastconc.compress(data, "gzip", threads=2)) == data
            if hasattr(fastconc, "parallel_map"):
                got = list(fastconc.parallel_map(len, [data] * 4, threads=2))
                ok = ok and got == [len(data)] * 4
            code = 0 if ok else 1
        finally:
            os._exit(code)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return "child hung"


@pytest.mark.timeout(int(SECONDS) + 300, method="thread")
def test_stress_threads():
    run_stress(SECONDS)


@pytest.mark.timeout(int(SECONDS) + 300, method="thread")
def test_stress_threads_with_fork():
    status = run_stress(SECONDS, fork_at=SECONDS / 2)
    assert status != "child hung", "the forked child deadlocked"
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
