"""hash_many(): equal to [digest(name, x) for x in items] for mixed sizes,
mixed buffer types and every threads= value."""
import array
import hashlib
import mmap

import pytest

import fastconc

NAMES = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_256",
         "sha3_512", "blake2b", "blake2s", "xxh32", "xxh64", "xxh3_64",
         "xxh3_128"]


def _items(rng):
    sizes = [0, 1, 63, 64, 65, 1000, 2048, 4096, 65536, 1 << 20]
    sizes += [rng.randrange(0, 5000) for _ in range(200)]
    rng.shuffle(sizes)
    return [rng.randbytes(n) for n in sizes]


def _mixed(items):
    out = []
    for i, b in enumerate(items):
        kind = i % 5
        if kind == 0:
            out.append(b)
        elif kind == 1:
            out.append(bytearray(b))
        elif kind == 2:
            out.append(memoryview(b))
        elif kind == 3 and len(b) % 4 == 0:
            out.append(array.array("I", b))
        else:
            out.append(memoryview(bytearray(b)))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_equals_digest_loop(name, rng):
    items = _items(rng)
    want = [fastconc.digest(name, x) for x in items]
    if not name.startswith("xxh"):
        assert want == [hashlib.new(name, x).digest() for x in items]
    mixed = _mixed(items)
    for threads in [None, 1, 2, 3, 4, 8]:
        assert fastconc.hash_many(name, items, threads=threads) == want
        assert fastconc.hash_many(name, mixed, threads=threads) == want
    assert fastconc.hash_many(name, iter(items)) == want
    assert fastconc.hash_many(name, tuple(items)) == want


def test_seed_and_many_small_items(rng):
    xxhash = pytest.importorskip("xxhash")
    items = [rng.randbytes(64) for _ in range(20000)]
    assert fastconc.hash_many("xxh64", items, seed=42) == \
        [xxhash.xxh64(x, seed=42).digest() for x in items]
    assert fastconc.hash_many("sha256", items, threads=2) == \
        [hashlib.sha256(x).digest() for x in items]


def test_numpy_and_mmap(rng, tmp_path):
    np = pytest.importorskip("numpy")
    a = np.arange(1000, dtype=np.float64)
    p = tmp_path / "m"
    p.write_bytes(rng.randbytes(10000))
    with open(p, "rb") as f, mmap.mmap(f.fileno(), 0,
                                        access=mmap.ACCESS_READ) as m:
        got = fastconc.hash_many("sha256", [a, m])
        assert got == [hashlib.sha256(a.tobytes()).digest(),
                       hashlib.sha256(m[:]).digest()]


def test_empty():
    assert fastconc.hash_many("sha256", []) == []
    assert fastconc.hash_many("xxh3_64", [], threads=4) == []


def test_bad_items():
    with pytest.raises(TypeError):
        fastconc.hash_many("sha256", [b"a", "str"])
    with pytest.raises(TypeError):
        fastconc.hash_many("sha256", b"abc")
    with pytest.raises(TypeError):
        fastconc.hash_many("sha256", "abc")
    with pytest.raises(TypeError):
        fastconc.hash_many("sha256", [b"a", 3])
    with pytest.raises(TypeError):
        fastconc.hash_many("sha256", 5)
    with pytest.raises(ValueError):
        fastconc.hash_many("sha256", [b"a"], threads=0)
    with pytest.raises(ValueError, match="available"):
        fastconc.hash_many("sha257", [b"a"])


@pytest.mark.parametrize("name", ["sha256", "sha224"])
def test_sha2_two_at_a_time_every_level(name, rng, simd_level):
    # From the sse4.2 level up, on a CPU with the SHA extensions, SHA-256
    # and SHA-224 items are hashed two at a time by our own code; the
    # portable level runs OpenSSL's.  Lengths around the padding edges
    # (55/56 bytes go to one or two final blocks), pairs of unequal block
    # counts, and an odd count so one item goes alone.
    edges = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000]
    sizes = edges + [rng.randrange(0, 3000) for _ in range(101)]
    items = [rng.randbytes(n) for n in sizes]
    want = [hashlib.new(name, x).digest() for x in items]
    for threads in [1, 2, 3]:
        assert fastconc.hash_many(name, items, threads=threads) == want
        assert fastconc.hash_many(name, items[::-1], threads=threads) == \
            want[::-1]
        assert fastconc.hash_many(name, tuple(items), threads=threads) == \
            want


def test_list_changed_after_call_and_large_batches(rng):
    # A shared list's small items are copied and its large ones referenced:
    # both read right, over batches larger than the scratch the module
    # keeps and smaller ones after them (the kept block reused), and the
    # caller may change the list and its items' lifetimes afterwards.
    for n, size in [(50000, 64), (3000, 300), (200000, 16), (10, 256)]:
        items = [rng.randbytes(size) for _ in range(n)]
        want = [hashlib.sha1(x).digest() for x in items]
        got = fastconc.hash_many("sha1", items, threads=2)
        items.clear()
        assert got == want
