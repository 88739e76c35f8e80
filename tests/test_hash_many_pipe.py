"""hash_many(..., out=buf) with threads on many items: the caller pins the
items chunk by chunk while the pool hashes the chunks already pinned
(hash/oneshot.c, "hash_many's pipeline").  Checked against python-xxhash
and hashlib at sizes around the chunk boundaries, with a bad item in a
later chunk, an out of the wrong size, and a list changed by another
thread during the calls."""
from __future__ import annotations

import hashlib
import random
import sys
import threading
from typing import Any

import pytest

import fastconc

# hash/oneshot.c: PIPE_CHUNK items a chunk, from PIPE_MIN = 4 chunks on.
# The tests stay valid (only less pointed) if those change.
CHUNK = 2048
PIPE_MIN = 4 * CHUNK
SIZES = [PIPE_MIN - 1, PIPE_MIN, PIPE_MIN + 1, 5 * CHUNK - 1, 5 * CHUNK,
         5 * CHUNK + 1, 49 * CHUNK + 17]


def _items(n: int, seed: int = 25) -> list[Any]:
    """Mostly small bytes (copied when pinned), some over 256 bytes (held
    by a reference) and a few bytearray / memoryview items (views)."""
    rng = random.Random(seed)
    out: list[Any] = []
    for i in range(n):
        size = rng.randrange(0, 300) if i % 97 else rng.randrange(300, 5000)
        b = rng.randbytes(size)
        out.append(bytearray(b) if i % 1013 == 5 else
                   memoryview(b) if i % 1019 == 7 else b)
    return out


def _ints(out: Any) -> list[int]:
    return memoryview(out).cast("Q").tolist()


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("threads", [None, 2, 3])
@pytest.mark.parametrize("name", ["xxh3_64", "xxh64"])
def test_against_python_xxhash(name: str, n: int, threads: Any) -> None:
    xxhash = pytest.importorskip("xxhash")
    ref = getattr(xxhash, f"{name}_intdigest")
    items = _items(n)
    out = bytearray(8 * n)
    assert fastconc.hash_many(name, items, out=out, threads=threads,
                              seed=7) is out
    assert _ints(out) == [ref(bytes(x), 7) for x in items]


@pytest.mark.parametrize("n", [PIPE_MIN, 5 * CHUNK + 1, 49 * CHUNK + 17])
@pytest.mark.parametrize("threads", [None, 2, 3])
@pytest.mark.parametrize("name", ["xxh3_64", "xxh64"])
def test_small_bytes_only(name: str, n: int, threads: Any) -> None:
    """A list of bytes of 0..256 bytes: the chunks the lead hashes in
    place (when the pool is behind) and those it pins for the pool."""
    xxhash = pytest.importorskip("xxhash")
    ref = getattr(xxhash, f"{name}_intdigest")
    rng = random.Random(n)
    items = [rng.randbytes(rng.randrange(0, 257)) for _ in range(n)]
    for _ in range(3):
        out = bytearray(8 * n)
        fastconc.hash_many(name, items, out=out, threads=threads, seed=3)
        assert _ints(out) == [ref(x, 3) for x in items]


@pytest.mark.parametrize("where", [CHUNK + 5, 6 * CHUNK - 1])
@pytest.mark.parametrize("bad", [bytearray(b"ab"), b"x" * 257, 7])
def test_other_item_among_small_bytes(where: int, bad: Any) -> None:
    """An item the in-place path does not take (a bytearray, a bytes over
    256 bytes: pinned instead; an int: the TypeError) after chunks of
    small bytes."""
    xxhash = pytest.importorskip("xxhash")
    items: list[Any] = [bytes([i % 251]) * (i % 200)
                        for i in range(8 * CHUNK)]
    items[where] = bad
    out = bytearray(8 * len(items))
    if isinstance(bad, int):
        with pytest.raises(TypeError, match="'int'"):
            fastconc.hash_many("xxh3_64", items, out=out, threads=2)
        return
    fastconc.hash_many("xxh3_64", items, out=out, threads=2)
    assert _ints(out) == [xxhash.xxh3_64_intdigest(bytes(x)) for x in items]


@pytest.mark.parametrize("n", [PIPE_MIN + 1, 5 * CHUNK])
@pytest.mark.parametrize("name", ["sha256", "blake3", "xxh3_128", "md5"])
def test_other_algorithms(name: str, n: int) -> None:
    items = _items(n, seed=3)
    size = len(fastconc.digest(name, b""))
    guard = b"\x5a" * 16
    whole = bytearray(size * n) + guard
    out = memoryview(whole)[:size * n]
    fastconc.hash_many(name, items, out=out, threads=2)
    if name in hashlib.algorithms_available:
        want = b"".join(hashlib.new(name, x).digest() for x in items)
    else:
        want = b"".join(fastconc.digest(name, x) for x in items)
    assert bytes(out) == want
    assert bytes(whole[size * n:]) == guard
    # the list form (not pipelined) agrees
    assert b"".join(fastconc.hash_many(name, items, threads=2)) == want


def test_tuple_and_numpy_target() -> None:
    np = pytest.importorskip("numpy")
    xxhash = pytest.importorskip("xxhash")
    items = tuple(_items(3 * CHUNK + PIPE_MIN + 5, seed=9))
    arr = np.zeros(len(items), dtype=np.uint64)
    assert fastconc.hash_many("xxh3_64", items, out=arr) is arr
    assert [int(v) for v in arr] == [xxhash.xxh3_64_intdigest(bytes(x))
                                     for x in items]


@pytest.mark.parametrize("where", [0, CHUNK - 1, 3 * CHUNK + 100,
                                   PIPE_MIN * 2 - 1])
@pytest.mark.parametrize("threads", [1, 2, 4])
def test_bad_item_in_a_later_chunk(where: int, threads: int) -> None:
    items: list[Any] = _items(PIPE_MIN * 2, seed=5)
    items[where] = 12345
    out = bytearray(8 * len(items))
    with pytest.raises(TypeError) as e2:
        fastconc.hash_many("xxh3_64", items, out=out, threads=threads)
    # the same error as the list form and the single-threaded path
    with pytest.raises(TypeError) as e1:
        fastconc.hash_many("xxh3_64", items)
    assert str(e2.value) == str(e1.value)
    assert "'int'" in str(e2.value)
    items[where] = "text"
    with pytest.raises(TypeError, match="encode"):
        fastconc.hash_many("xxh3_64", items, out=out, threads=threads)
    # the pool is fine afterwards
    items[where] = b"ok"
    fastconc.hash_many("xxh3_64", items, out=out, threads=threads)
    assert _ints(out)[where] == fastconc.xxh3_64_intdigest(b"ok")


@pytest.mark.parametrize("delta", [-8, -1, 1, 8])
def test_out_of_the_wrong_size(delta: int) -> None:
    n = PIPE_MIN + CHUNK + 1
    items = _items(n)
    out = bytearray(b"\xa5" * (8 * n + delta))
    with pytest.raises(ValueError, match="out has"):
        fastconc.hash_many("xxh3_64", items, out=out, threads=2)
    assert out == b"\xa5" * (8 * n + delta)


def test_list_changed_by_another_thread() -> None:
    """Another thread replaces, appends and removes items while the calls
    run: no crash, and each call returns the digests of the items it saw
    (every one a digest of some item ever in the list) or raises the
    documented RuntimeError."""
    n = PIPE_MIN + 3 * CHUNK
    rng = random.Random(11)
    pool = [rng.randbytes(rng.randrange(0, 400)) for _ in range(64)]
    known = {fastconc.xxh3_64_intdigest(x) for x in pool}
    items: list[Any] = [pool[i % 64] for i in range(n)]
    stop = threading.Event()

    def churn() -> None:
        r = random.Random(12)
        while not stop.is_set():
            for _ in range(200):
                items[r.randrange(n)] = pool[r.randrange(64)]
            items.append(pool[0])
            items.pop()

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    t = threading.Thread(target=churn)
    t.start()
    try:
        for _ in range(40):
            out = bytearray(8 * n)
            try:
                fastconc.hash_many("xxh3_64", items, out=out, threads=2)
            except (RuntimeError, ValueError):
                continue    # the list changed size between len and pinning
            assert set(_ints(out)) <= known
    finally:
        stop.set()
        t.join()
        sys.setswitchinterval(old)


def test_submit_matches() -> None:
    items = _items(PIPE_MIN + 1)
    out = bytearray(8 * len(items))
    fut = fastconc.submit(fastconc.hash_many, "xxh3_64", items, out=out,
                          threads=2)
    assert fut.result(timeout=60) is out
    assert _ints(out) == [fastconc.xxh3_64_intdigest(bytes(x))
                          for x in items]
