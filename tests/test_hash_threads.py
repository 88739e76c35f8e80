"""Hash objects shared between threads: the per-object lock keeps
concurrent update/copy/digest consistent."""
import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import fastconc

NAMES = ["sha256", "md5", "blake2b", "xxh3_64", "xxh64", "xxh3_128"]


def _ref(name):
    if name.startswith("xxh"):
        xxhash = pytest.importorskip("xxhash")
        return getattr(xxhash, name)()
    return hashlib.new(name)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("chunk_size", [100, 4096, 1 << 20])
def test_four_threads_same_chunk(name, chunk_size, rng):
    chunk = rng.randbytes(chunk_size)
    k = 200 if chunk_size < 4096 else 40 if chunk_size == 4096 else 4
    shared = fastconc.new(name)
    barrier = threading.Barrier(4)

    def work():
        barrier.wait()
        for _ in range(k):
            shared.update(chunk)

    with ThreadPoolExecutor(4) as ex:
        for f in [ex.submit(work) for _ in range(4)]:
            f.result()
    single = fastconc.new(name)
    for _ in range(4 * k):
        single.update(chunk)
    assert shared.digest() == single.digest()
    ref = _ref(name)
    for _ in range(4 * k):
        ref.update(chunk)
    assert shared.digest() == ref.digest()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ["sha256", "xxh3_128"])
def test_five_threads_different_chunks(name, rng):
    # Different chunk sizes: the order of the updates is not fixed, so
    # compare against a sum that does not depend on it: every chunk is the
    # same byte repeated.
    sizes = [1, 100, 3000, 65536, 1 << 20]
    shared = fastconc.new(name)
    barrier = threading.Barrier(len(sizes))

    def work(n):
        barrier.wait()
        for _ in range(8):
            shared.update(b"\x5a" * n)

    with ThreadPoolExecutor(len(sizes)) as ex:
        list(ex.map(work, sizes))
    total = 8 * sum(sizes)
    assert shared.digest() == fastconc.digest(name, b"\x5a" * total)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ["sha256", "xxh3_64", "blake2s"])
def test_copy_while_updating_is_consistent(name, rng):
    chunk = b"\x01" * 8192
    shared = fastconc.new(name)
    stop = threading.Event()
    copies = []
    # The check below replays every update the copies could have seen, so
    # their number is bounded: the copier waits for the object's lock,
    # which is not fair, and unbounded updaters once ran this test past
    # its timeout.
    max_updates = 50_000

    def updater():
        for _ in range(max_updates):
            if stop.is_set():
                break
            shared.update(chunk)

    def copier():
        for _ in range(200):
            c = shared.copy()
            copies.append((c, c.digest()))

    threads = [threading.Thread(target=updater) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        copier()
    finally:
        stop.set()
        for t in threads:
            t.join()
    # Each copy is a snapshot after a whole number of updates: its digest
    # must be the digest of n * chunk for some n, and stay the same.
    known = {}
    h = fastconc.new(name)
    missing = {d for _, d in copies}
    for n in range(2 * max_updates + 1):
        d = h.digest()
        known[d] = n
        missing.discard(d)
        if not missing:
            break
        h.update(chunk)
    for c, d in copies:
        assert d in known
        assert c.digest() == d


@pytest.mark.timeout(120)
def test_digest_and_hexdigest_while_updating():
    shared = fastconc.sha256()
    stop = threading.Event()

    def updater():
        while not stop.is_set():
            shared.update(b"x" * 3000)

    t = threading.Thread(target=updater)
    t.start()
    try:
        for _ in range(500):
            d = shared.digest()
            assert len(d) == 32
            assert len(shared.hexdigest()) == 64
    finally:
        stop.set()
        t.join()
