"""hash_many(..., out=buf): the digests back to back in one buffer, for
every algorithm and thread count; 64-bit integers (intdigest) for xxh64
and xxh3_64, checked against python-xxhash; a buffer of the wrong size is
a clear ValueError and is left untouched."""
from __future__ import annotations

import asyncio
import hashlib
import mmap
import random
import sys
from typing import Any

import pytest

import fastconc
import fastconc.aio as aio

NAMES = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_256",
         "sha3_512", "blake2b", "blake2s", "blake3", "xxh32", "xxh64",
         "xxh3_64", "xxh3_128"]
INT64 = {"xxh64", "xxh3_64"}
GUARD = 32


def _items() -> list[Any]:
    rng = random.Random(25)
    sizes = [0, 1, 63, 64, 65, 4096, (8 << 20) + 3]   # one past the
    sizes += [rng.randrange(0, 3000) for _ in range(300)]  # streamed size
    rng.shuffle(sizes)
    raw = [rng.randbytes(n) for n in sizes]
    # mixed buffer types
    return [b if i % 3 else bytearray(b) if i % 2 else memoryview(b)
            for i, b in enumerate(raw)]


ITEMS = _items()


def _size(name: str) -> int:
    return len(fastconc.digest(name, b""))


def _expected(name: str, items: list[Any], seed: Any = None) -> bytes:
    kw = {} if seed is None else {"seed": seed}
    digests = [fastconc.digest(name, x, **kw) for x in items]
    if name in INT64:
        return b"".join(int.from_bytes(d, "big").to_bytes(8, sys.byteorder)
                        for d in digests)
    return b"".join(digests)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("threads", [None, 1, 2, 4])
def test_out_matches_list(name: str, threads: Any) -> None:
    size = _size(name)
    whole = bytearray(b"\xa5" * (len(ITEMS) * size + GUARD))
    out = memoryview(whole)[:len(ITEMS) * size]
    assert fastconc.hash_many(name, ITEMS, threads=threads, out=out) is out
    assert bytes(out) == _expected(name, ITEMS)
    assert whole[len(ITEMS) * size:] == b"\xa5" * GUARD
    if name not in INT64:
        assert bytes(out) == b"".join(fastconc.hash_many(name, ITEMS))


def test_against_hashlib() -> None:
    out = bytearray(32 * len(ITEMS))
    fastconc.hash_many("sha256", ITEMS, out=out, threads=2)
    assert out == b"".join(hashlib.sha256(x).digest() for x in ITEMS)


@pytest.mark.parametrize("name", ["xxh64", "xxh3_64"])
@pytest.mark.parametrize("seed", [None, 0, 12345, 2**64 - 1])
def test_int64_against_python_xxhash(name: str, seed: Any) -> None:
    xxhash = pytest.importorskip("xxhash")
    np = pytest.importorskip("numpy")
    ref = getattr(xxhash, f"{name}_intdigest")
    arr = np.zeros(len(ITEMS), dtype=np.uint64)
    kw = {} if seed is None else {"seed": seed}
    assert fastconc.hash_many(name, ITEMS, out=arr, threads=2, **kw) is arr
    assert [int(v) for v in arr] == [ref(bytes(x), seed or 0) for x in ITEMS]
    # and fastconc's own intdigest()
    h = getattr(fastconc, name)
    assert int(arr[5]) == h(bytes(ITEMS[5]), **kw).intdigest()


@pytest.mark.parametrize("name", ["xxh64", "xxh3_64"])
@pytest.mark.parametrize("threads", [1, 2])
def test_int64_bytes_items_and_streamed_item(name: str, threads: int) -> None:
    """The integer fast path on a plain list of bytes (small ones, sizes
    around XXH3's 16/128/240-byte boundaries) and on an item over the
    16 MiB piece size, which is streamed and then stored as an integer."""
    xxhash = pytest.importorskip("xxhash")
    ref = getattr(xxhash, f"{name}_intdigest")
    rng = random.Random(7)
    items = [rng.randbytes(n) for n in list(range(0, 260)) * 20]
    items.insert(1234, rng.randbytes((16 << 20) + 5))
    want = [ref(x, 99) for x in items]
    out = bytearray(8 * len(items))
    fastconc.hash_many(name, items, out=out, threads=threads, seed=99)
    assert memoryview(out).cast("Q").tolist() == want
    # an out that starts at an odd address
    whole = bytearray(8 * len(items) + 1)
    fastconc.hash_many(name, items, out=memoryview(whole)[1:],
                       threads=threads, seed=99)
    assert memoryview(bytes(whole[1:])).cast("Q").tolist() == want


def test_numpy_and_mmap_targets() -> None:
    np = pytest.importorskip("numpy")
    items = [bytes([i]) * 64 for i in range(256)]
    two_d = np.zeros((256, 32), dtype=np.uint8)
    fastconc.hash_many("sha256", items, out=two_d)
    assert two_d[7].tobytes() == hashlib.sha256(items[7]).digest()
    with mmap.mmap(-1, 16 * 256) as m:
        assert fastconc.hash_many("md5", items, out=m) is m
        assert m[16:32] == hashlib.md5(items[1]).digest()
    with pytest.raises(ValueError, match="C-contiguous"):
        fastconc.hash_many("sha256", items,
                           out=np.zeros((256, 64), dtype=np.uint8)[:, ::2])
    ro = np.zeros(256 * 32, dtype=np.uint8)
    ro.flags.writeable = False
    with pytest.raises(TypeError, match="writable"):
        fastconc.hash_many("sha256", items, out=ro)


def test_wrong_size_is_a_clear_error() -> None:
    items = [b"a", b"b", b"c"]
    for size in (0, 31, 95, 97, 200):
        buf = bytearray(b"\xa5" * size)
        with pytest.raises(ValueError, match=r"out has %d bytes; 3 sha256 "
                           r"digests take 96" % size):
            fastconc.hash_many("sha256", items, out=buf)
        assert buf == b"\xa5" * size        # untouched
    with pytest.raises(TypeError, match="writable"):
        fastconc.hash_many("sha256", items, out=bytes(96))
    with pytest.raises(TypeError, match="bytes-like"):
        fastconc.hash_many("sha256", items, out=[0] * 96)
    # the other arguments' errors are those of the call without out=
    with pytest.raises(TypeError):
        fastconc.hash_many("sha256", [b"a", 3], out=bytearray(64))
    with pytest.raises(ValueError):
        fastconc.hash_many("nope", items, out=bytearray(96))
    # out=None: the list
    assert fastconc.hash_many("sha1", items, out=None) \
        == [hashlib.sha1(x).digest() for x in items]
    empty = bytearray()
    assert fastconc.hash_many("sha256", [], out=empty) is empty


def test_out_released_and_reused() -> None:
    buf = bytearray(8 * len(ITEMS))
    for _ in range(3):
        fastconc.hash_many("xxh3_64", ITEMS, out=buf, threads=2)
    buf.extend(b"x")        # BufferError if a view were still held


def test_submit_and_aio() -> None:
    want = _expected("xxh3_64", ITEMS)
    buf = bytearray(len(want))
    assert fastconc.submit(fastconc.hash_many, "xxh3_64", ITEMS,
                           out=buf).result(60) is buf
    assert buf == want
    buf2 = bytearray(len(want))

    async def main() -> Any:
        return await aio.hash_many("xxh3_64", ITEMS, out=buf2, threads=2)
    assert asyncio.run(main()) is buf2
    assert buf2 == want
