"""Equality with hashlib and python-xxhash over random data and random
update splits, with the xxhsum command, and hashlib-like behaviour."""
import hashlib
import io
import os
import shutil
import subprocess
import sys

import pytest

import fastconc

xxhash = pytest.importorskip("xxhash")

EVP = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_256",
       "sha3_512", "blake2b", "blake2s"]
XXH = ["xxh32", "xxh64", "xxh3_64", "xxh3_128"]
T = fastconc.GIL_THRESHOLD
SIZES = [0, 1, 63, 64, 65, 239, 240, 241, T - 1, T, T + 1, 4096, 65536,
         1 << 20]


def _peer(name, data=b"", seed=0):
    if name in XXH:
        return getattr(xxhash, name)(data, seed=seed)
    return hashlib.new(name, data)


def test_algorithms_available():
    # blake3 is checked in test_hash_blake3.py
    assert fastconc.algorithms_available == frozenset(EVP + XXH + ["blake3"])


@pytest.mark.parametrize("name", EVP + XXH)
def test_sizes_and_attributes(name, rng):
    for n in SIZES:
        data = rng.randbytes(n)
        ours, peer = fastconc.new(name, data), _peer(name, data)
        assert ours.digest() == peer.digest(), n
        assert ours.hexdigest() == peer.hexdigest(), n
        assert fastconc.digest(name, data) == peer.digest(), n
    h = fastconc.new(name)
    # hashlib's names, and python-xxhash's spelling ('XXH3_64') for xxHash
    assert h.name == _peer(name).name
    assert fastconc.new(h.name).name == h.name
    assert h.digest_size == _peer(name).digest_size
    assert h.block_size == _peer(name).block_size
    assert getattr(fastconc, name)().digest_size == h.digest_size


@pytest.mark.parametrize("name", EVP + XXH)
def test_random_update_splits(name, rng):
    data = rng.randbytes(300_000)
    for _ in range(5):
        ours, peer = fastconc.new(name), _peer(name)
        pos = 0
        while pos < len(data):
            step = rng.choice([0, 1, 3, 64, 100, T - 1, T, 5000, 70000])
            chunk = data[pos:pos + step]
            kind = rng.randrange(3)
            buf = (chunk if kind == 0 else bytearray(chunk) if kind == 1
                   else memoryview(chunk))
            ours.update(buf)
            peer.update(chunk)
            pos += step
            if rng.random() < 0.1:
                assert ours.digest() == peer.digest()
        assert ours.digest() == peer.digest()


@pytest.mark.parametrize("name", XXH)
def test_xxhash_seeds_every_simd_path(name, rng, simd_level):
    for seed in [0, 1, 2**32 - 1, 2**63, 2**64 - 1]:
        # 1024: one XXH3 block of 16 stripes; 1088 adds a stripe.
        for n in [0, 1, 3, 4, 8, 16, 17, 128, 129, 240, 241, 1000, 1023,
                  1024, 1025, 1087, 1088, 1089, 2048, 2049, 100_000]:
            data = rng.randbytes(n)
            peer = _peer(name, data, seed)
            assert fastconc.new(name, data, seed=seed).intdigest() == \
                peer.intdigest(), (seed, n)
            assert fastconc.digest(name, data, seed=seed) == peer.digest()
    h = getattr(fastconc, name)(b"", 7)
    assert h.seed == 7


def test_simd_paths_agree(rng):
    levels = fastconc._core._simd_levels()
    old = fastconc._core._get_simd_level()
    data = [rng.randbytes(n) for n in (0, 5, 200, 1000, 5000, 1 << 20)]
    seen = {}
    try:
        for lvl in levels:
            fastconc._core._set_simd_level(lvl)
            # The level really picks another kernel table.
            impl = {"portable": "scalar", "sse4.2": "sse2", "avx2": "avx2",
                    "avx512": "avx512"}[lvl]
            assert f"({impl})" in fastconc.info()["backends"]["xxh3_64"]
            seen[lvl] = [fastconc.digest(a, d, seed=s) for a in XXH
                         for d in data for s in (0, 99)]
            seen[lvl] += fastconc.hash_many("xxh3_128", data)
    finally:
        fastconc._core._set_simd_level(old)
    first = seen[levels[0]]
    assert all(v == first for v in seen.values())


@pytest.mark.skipif(shutil.which("xxhsum") is None, reason="no xxhsum")
def test_xxhsum_command(tmp_path, rng):
    files = []
    for i, n in enumerate([0, 1, 100, 5000, 1 << 20]):
        p = tmp_path / f"f{i}"
        p.write_bytes(rng.randbytes(n))
        files.append(p)
    for flag, name in [("-H0", "xxh32"), ("-H1", "xxh64"),
                       ("-H2", "xxh3_128")]:
        out = subprocess.run(["xxhsum", flag, *map(str, files)],
                             capture_output=True, text=True,
                             check=True).stdout.splitlines()
        for line, p in zip(out, files):
            assert line.split()[0] == fastconc.hash_file(name, p).hex()
    out = subprocess.run(["xxhsum", "-H3", *map(str, files)],
                         capture_output=True, text=True,
                         check=True).stdout.splitlines()
    for line, p in zip(out, files):
        # "XXH3 (name) = hex"
        assert line.rsplit(" ", 1)[1] == fastconc.hash_file("xxh3_64", p).hex()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="file_digest: 3.11+")
@pytest.mark.parametrize("name", ["sha256", "md5", "xxh3_64"])
def test_file_digest(name, tmp_path, rng):
    data = rng.randbytes(1_000_003)
    p = tmp_path / "f"
    p.write_bytes(data)
    ctor = getattr(fastconc, name)
    with open(p, "rb") as f:
        assert hashlib.file_digest(f, ctor).digest() == _peer(name,
                                                             data).digest()
    assert hashlib.file_digest(io.BytesIO(data), ctor).digest() == \
        _peer(name, data).digest()


def test_digest_repeatable_and_copy_independent():
    h = fastconc.sha256(b"abc")
    assert h.digest() == h.digest()
    c = h.copy()
    h.update(b"def")
    assert c.digest() == hashlib.sha256(b"abc").digest()
    assert h.digest() == hashlib.sha256(b"abcdef").digest()
    c.update(b"xyz")
    assert c.digest() == hashlib.sha256(b"abcxyz").digest()
    x = fastconc.xxh3_128(b"abc", seed=5)
    y = x.copy()
    x.update(b"d")
    assert y.intdigest() == xxhash.xxh3_128(b"abc", seed=5).intdigest()
    assert y.seed == 5


def test_new_is_case_insensitive_and_usedforsecurity():
    assert fastconc.new("SHA256", b"a").digest() == \
        hashlib.sha256(b"a").digest()
    assert fastconc.sha256(b"a", usedforsecurity=False).digest() == \
        hashlib.sha256(b"a").digest()
    assert fastconc.new("md5", data=b"a").name == "md5"


@pytest.mark.parametrize("name,size", [("sha256", 40 << 20),
                                       ("xxh3_64", 300 << 20)])
def test_large_buffer_chunked_digest(name, size):
    # Beyond one chunk (16 MiB for EVP, 256 MiB for xxHash) the one-shot
    # runs in chunks with Ctrl-C checks in between.
    data = os.urandom(size)
    assert fastconc.digest(name, data) == _peer(name, data).digest()
    view = memoryview(data)[1:]
    assert fastconc.digest(name, view) == _peer(name, view).digest()
    if name in XXH:
        # the per-algorithm one-shot takes the same chunked path
        assert getattr(fastconc, f"{name}_intdigest")(view) == \
            _peer(name, view).intdigest()


@pytest.mark.bigmem
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_over_4gib():
    # Lengths past 2**32 must not be truncated anywhere.
    big = bytearray((4 << 30) + 12345)
    big[-1] = 1
    assert fastconc.digest("xxh3_64", big) == xxhash.xxh3_64(big).digest()
    h = fastconc.xxh3_128()
    h.update(big)
    assert h.digest() == xxhash.xxh3_128(big).digest()
    assert fastconc.hash_many("xxh64", [big, b"x"]) == \
        [xxhash.xxh64(big).digest(), xxhash.xxh64(b"x").digest()]
