"""fastconc.blake3: the official BLAKE3 test vectors (all modes, extended
output), equality with the blake3 package from PyPI around chunk and block
boundaries, random update splits, every threads= value, every SIMD path,
and the hashlib-style object API."""
import hashlib
import json
import os
import pickle
import sys
import threading

import pytest

import fastconc

# Read in place from ../shared/vectors next to the repository (never copied
# in); FASTCONC_SHARED names that shared directory when the clone lives
# elsewhere.
_SHARED = os.environ.get("FASTCONC_SHARED") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared")
VECTORS = os.path.join(_SHARED, "vectors", "blake3_test_vectors.json")

# Around block (64) and chunk (1024) boundaries, several tree shapes, and
# past 1 MiB where threads=None goes parallel.
LENGTHS = [0, 1, 63, 64, 65, 127, 128, 129, 1023, 1024, 1025, 2047, 2048,
           2049, 3072, 3073, 4096, 4097, 5 * 1024, 8191, 8192, 16385,
           31 * 1024, 33 * 1024 + 7, 65536, 100000, 200 * 1024 + 1,
           (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 517]
THREADS = [None, 1, 2, 3, 4, 8]


def pattern(n):
    """The vectors' input: 0, 1, ..., 250, 0, 1, ..."""
    return bytes(i % 251 for i in range(251)) * (n // 251) + \
        bytes(range(n % 251))


def load_vectors():
    if not os.path.exists(VECTORS):
        pytest.skip(f"test vectors not found at {VECTORS}")
    with open(VECTORS) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def ref():
    return pytest.importorskip("blake3").blake3


@pytest.fixture(scope="module")
def bigdata():
    return os.urandom(3 * (1 << 20) + 517)


@pytest.mark.parametrize("threads", [1, 2])
def test_official_vectors(simd_level, threads):
    vec = load_vectors()
    key = vec["key"].encode()
    ctx = vec["context_string"]
    for case in vec["cases"]:
        data = pattern(case["input_len"])
        for mode, kw in (("hash", {}), ("keyed_hash", {"key": key}),
                         ("derive_key", {"derive_key_context": ctx})):
            want = case[mode]
            h = fastconc.blake3(data, threads=threads, **kw)
            assert h.hexdigest(len(want) // 2) == want, (case["input_len"],
                                                        mode)
            assert h.hexdigest() == want[:64]
            assert h.digest(7, seek=40) == bytes.fromhex(want)[40:47]


def test_vectors_derive_context_as_bytes():
    vec = load_vectors()
    case = vec["cases"][5]
    h = fastconc.blake3(pattern(case["input_len"]),
                        derive_key_context=vec["context_string"].encode())
    assert h.hexdigest(len(case["derive_key"]) // 2) == case["derive_key"]


def test_lengths_match_package(simd_level, ref, bigdata):
    key = bigdata[:32]
    for n in LENGTHS:
        data = bigdata[:n]
        want = ref(data).digest()
        want_k = ref(data, key=key).digest(40)
        want_d = ref(data, derive_key_context="fastconc test").digest(70)
        for t in THREADS:
            assert fastconc.blake3(data, threads=t).digest() == want, (n, t)
            assert fastconc.blake3(data, key=key,
                                   threads=t).digest(40) == want_k, (n, t)
            assert fastconc.blake3(
                data, derive_key_context="fastconc test",
                threads=t).digest(70) == want_d, (n, t)


def test_every_chunk_count_matches_package(simd_level, ref, bigdata):
    """1..33 chunks, whole and with a partial last chunk: every partial
    lane group of the 16-lane kernel, its parents with an odd number of
    children, and the final chunk run in a lane group (the prev kernel)."""
    for n in range(1, 34):
        for extra in (-1, 0, 1, 64, 1023):
            data = bigdata[:max(0, n * 1024 + extra)]
            assert fastconc.blake3(data, threads=1).digest() == \
                ref(data).digest(), (n, extra)


@pytest.mark.parametrize("threads", THREADS)
def test_random_update_splits(simd_level, ref, rng, bigdata, threads):
    for _ in range(4):
        n = rng.choice([rng.randrange(0, 5000), rng.randrange(0, 200000),
                        rng.randrange(0, len(bigdata))])
        data = bigdata[:n]
        h = fastconc.blake3(threads=threads)
        pos = 0
        while pos < n:
            step = rng.choice([1, 63, 64, 65, 1023, 1024, 1025,
                               rng.randrange(1, 4096),
                               rng.randrange(1, 2 << 20)])
            h.update(memoryview(data)[pos:pos + step])
            pos += step
        r = ref(data)
        assert h.digest() == r.digest(), n
        assert h.digest(200, seek=999) == r.digest(200, seek=999), n


def test_large_updates_unaligned_prefix(ref, bigdata):
    """A threaded update that starts inside a chunk, on a chunk boundary not
    aligned to the task size, and right after a full chunk."""
    for prefix in (1, 1024, 1025, 5 * 1024, 17 * 1024 + 3, 100 * 1024):
        h = fastconc.blake3(threads=2)
        h.update(bigdata[:prefix])
        h.update(bigdata[prefix:])
        assert h.digest() == ref(bigdata).digest(), prefix


def test_simd_paths_agree(bigdata):
    """Every SIMD level this CPU can run gives the portable path's output."""
    levels = fastconc._core._simd_levels()
    old = fastconc._core._get_simd_level()
    outs = {}
    try:
        for lvl in levels:
            fastconc._core._set_simd_level(lvl)
            outs[lvl] = [fastconc.blake3(bigdata[:n], threads=t).digest(100)
                         for n in (0, 1024, 4096, 40000, len(bigdata))
                         for t in (1, 2)]
            assert fastconc.info()["backends"]["blake3"].startswith(
                "fastconc")
    finally:
        fastconc._core._set_simd_level(old)
    for lvl in levels:
        assert outs[lvl] == outs["portable"], lvl


def test_xof_lengths_and_seek(ref):
    data = os.urandom(5000)
    full = ref(data).digest(3000)
    h = fastconc.blake3(data)
    for n in (0, 1, 31, 32, 33, 63, 64, 65, 1000, 3000):
        assert h.digest(n) == full[:n]
        assert h.hexdigest(n) == full[:n].hex()
    for seek in (0, 1, 63, 64, 65, 1000):
        assert h.digest(100, seek=seek) == full[seek:seek + 100]
    assert h.digest(16, seek=2**64 - 16) == ref(data).digest(16,
                                                               seek=2**64 - 16)


def test_object_api(ref):
    h = fastconc.blake3()
    assert (h.name, h.digest_size, h.block_size, h.key_size) == \
        ("blake3", 32, 64, 32)
    assert "blake3" in fastconc.__all__
    h.update(b"abc")
    c = h.copy()
    c.update(b"def")
    assert h.digest() == ref(b"abc").digest()
    assert c.digest() == ref(b"abcdef").digest()
    assert h.hexdigest() == h.digest().hex()
    assert h.digest() == h.digest()     # digest does not consume
    h.reset()
    assert h.digest() == ref(b"").digest()
    k = fastconc.blake3(b"x", key=bytes(range(32)))
    k.reset()
    k.update(b"y")
    assert k.digest() == ref(b"y", key=bytes(range(32))).digest()
    assert fastconc.blake3(data=b"abc").digest() == ref(b"abc").digest()
    for obj in (bytearray(b"abc"), memoryview(b"abc")):
        assert fastconc.blake3(obj).digest() == ref(b"abc").digest()
    assert fastconc.blake3(b"q" * 10000, release_gil=False).digest() == \
        fastconc.blake3(b"q" * 10000, release_gil=True).digest()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="file_digest is 3.11+")
def test_hashlib_file_digest(tmp_path, ref):
    p = tmp_path / "f"
    data = os.urandom(300000)
    p.write_bytes(data)
    with open(p, "rb") as f:
        assert hashlib.file_digest(f, fastconc.blake3).digest() == \
            ref(data).digest()


def test_bad_input():
    with pytest.raises(TypeError):
        fastconc.blake3("text")
    with pytest.raises(TypeError):
        fastconc.blake3().update("text")
    with pytest.raises(ValueError):
        fastconc.blake3(key=b"short")
    with pytest.raises(TypeError):
        fastconc.blake3(key="x" * 32)
    with pytest.raises(ValueError):
        fastconc.blake3(key=bytes(32), derive_key_context="c")
    with pytest.raises(TypeError):
        fastconc.blake3(derive_key_context=5)
    with pytest.raises(ValueError):
        fastconc.blake3(threads=0)
    with pytest.raises(TypeError):
        fastconc.blake3(threads=1.5)
    with pytest.raises(ValueError):
        fastconc.blake3().digest(-1)
    with pytest.raises(TypeError):
        fastconc.blake3().digest("32")
    with pytest.raises(ValueError):
        fastconc.blake3().digest(seek=-1)
    with pytest.raises(TypeError):
        pickle.dumps(fastconc.blake3())
    with pytest.raises(TypeError):
        fastconc.blake3(b"", b"")


@pytest.mark.timeout(60)
def test_shared_object_races(ref):
    """Five threads feed one object with different chunk sizes; the bytes
    are all equal, so any interleaving gives the same input."""
    h = fastconc.blake3(threads=2)
    barrier = threading.Barrier(5)
    total = 0
    sizes = [1, 100, 1024, 70000, 1 << 20]
    rounds = {s: max(1, (3 << 20) // s // 8) for s in sizes}
    rounds[1] = 2000

    def work(size):
        barrier.wait()
        for _ in range(rounds[size]):
            h.update(b"z" * size)

    ts = [threading.Thread(target=work, args=(s,)) for s in sizes]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    total = sum(s * rounds[s] for s in sizes)
    assert h.digest() == ref(b"z" * total).digest()


@pytest.mark.bigmem
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_over_4gib(ref):
    n = (4 << 30) + 3000
    data = bytearray(n)
    data[-1] = 1
    data[(1 << 32) - 7] = 9
    want = ref(data, max_threads=ref.AUTO).digest()
    assert fastconc.blake3(data).digest() == want
    h = fastconc.blake3(threads=1)
    mv = memoryview(data)
    h.update(mv[:123])
    h.update(mv[123:])
    assert h.digest() == want


@pytest.mark.bigmem(gib=6)
@pytest.mark.timeout(120)
@pytest.mark.parametrize("threads", [1, 2])
def test_ctrl_c_interrupts_large_update(threads, ctrl_c):
    """SIGINT during a long update ends it promptly, leaves the object as it
    was before the update, and the pool still works."""
    ctrl_c("h.update(data)", portable=True, delay=0.3, max_latency=1.0,
           setup=f"""
               data = bytes(6 << 30)   # calloc: untouched zero pages
               h = fastconc.blake3(b"abc", threads={threads})
           """, after="""
               assert h.digest() == fastconc.blake3(b"abc").digest()
               small = os.urandom(5 << 20)
               assert (fastconc.blake3(small, threads=2).digest() ==
                       fastconc.blake3(small, threads=1).digest())
           """)
