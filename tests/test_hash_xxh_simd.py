"""XXH3's vector loops against python-xxhash, at every SIMD level this CPU
runs: the table's own one-shots (AVX2 intrinsics loop at "avx2", the
512-bit generic-vector loop of simd/xxh_fused512.h at "avx512", libxxhash
below), and the 512-bit loop itself through the private hook
fastconc._core._xxh3_512 wherever a table compiles it (the "avx2" table
has a test-only copy, so a CPU without AVX-512 still runs that loop's
logic; on an AVX-512 CPU the "avx512" level runs the real zmm code under
the same tests).

Lengths cover every short/mid/long boundary (all of 0..2048, then the
1024-byte block edges, 16 KiB and 1 MiB plus odd tails), seeds 0 and not
(a seed derives a custom secret), and inputs at every offset 1..63 from a
64-byte boundary (memoryview slices).
"""
from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator

import pytest

import fastconc

xxhash = pytest.importorskip("xxhash")
core = fastconc._core

SEEDS = [0, 1, 0x9E3779B185EBCA87, 2**64 - 1]
BOUNDARIES = [240, 241, 1023, 1024, 1025, 1087, 1088, 1089,
              16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1,
              (1 << 20) + 7, (1 << 20) + 1023]
ALGS = [("xxh3_64", False), ("xxh3_128", True)]
# The levels whose xxHash table compiles the 512-bit loop.
LOOP512_LEVELS = ("avx2", "avx512")


@pytest.fixture(scope="module")
def blob() -> bytes:
    # Deterministic, no zero-runs: every byte of the secret mixing matters.
    import random
    return random.Random(512).randbytes((1 << 20) + 4096)


@pytest.fixture
def level512(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each level with a 512-bit loop; skipped when the CPU lacks it."""
    lvl = request.param
    if lvl not in core._simd_levels():
        pytest.skip(f"this CPU cannot run the {lvl} level "
                    f"(levels: {core._simd_levels()})")
    old = core._get_simd_level()
    core._set_simd_level(lvl)
    try:
        yield lvl
    finally:
        core._set_simd_level(old)


def _ours(is128: bool) -> Callable[..., int]:
    return fastconc.xxh3_128_intdigest if is128 else fastconc.xxh3_64_intdigest


def _peer(is128: bool) -> Callable[..., int]:
    return xxhash.xxh3_128_intdigest if is128 else xxhash.xxh3_64_intdigest


def _loop512(is128: bool) -> Callable[..., int]:
    return lambda data, seed=0: core._xxh3_512(data, seed, is128)


def _check_all_lengths(fn: Callable[..., int], is128: bool, blob: bytes,
                       seed: int) -> None:
    peer = _peer(is128)
    mv = memoryview(blob)
    for n in range(2049):
        assert fn(mv[:n], seed) == peer(mv[:n], seed), (n, seed)
    for n in BOUNDARIES:
        assert fn(mv[:n], seed) == peer(mv[:n], seed), (n, seed)


def _check_offsets(fn: Callable[..., int], is128: bool, blob: bytes,
                   seed: int) -> None:
    peer = _peer(is128)
    # Offsets from a 64-byte boundary of a bytearray's storage.
    buf = bytearray(len(blob) + 64)
    addr = ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))
    base = -addr % 64
    buf[base:base + len(blob)] = blob
    mv = memoryview(buf)[base:]
    for n in (241, 1025, 16 * 1024 + 1, (1 << 20) + 7):
        for off in range(1, 64):
            piece = mv[off:off + n]
            assert fn(piece, seed) == peer(piece, seed), (n, off, seed)
    del mv


@pytest.mark.parametrize("alg,is128", ALGS)
@pytest.mark.parametrize("seed", [0, 0x9E3779B185EBCA87])
def test_table_every_length(simd_level, alg, is128, seed, blob):
    _check_all_lengths(_ours(is128), is128, blob, seed)


@pytest.mark.parametrize("alg,is128", ALGS)
def test_table_offsets(simd_level, alg, is128, blob):
    for seed in SEEDS:
        _check_offsets(_ours(is128), is128, blob, seed)


@pytest.mark.parametrize("alg,is128", ALGS)
def test_table_digest_forms(simd_level, alg, is128, blob):
    # digest() and hash_many go through the table's oneshot (byte order).
    peer = getattr(xxhash, f"{alg}_digest")
    for n in (241, 1025, 16 * 1024 + 1, (1 << 20) + 7):
        data = blob[:n]
        for seed in SEEDS:
            assert fastconc.digest(alg, data, seed=seed) == peer(data, seed)
        assert fastconc.hash_many(alg, [data, data[1:]]) == \
            [peer(data), peer(data[1:])]


@pytest.mark.parametrize("level512", LOOP512_LEVELS, indirect=True)
@pytest.mark.parametrize("alg,is128", ALGS)
@pytest.mark.parametrize("seed", SEEDS)
def test_loop512_every_length(level512, alg, is128, seed, blob):
    _check_all_lengths(_loop512(is128), is128, blob, seed)


@pytest.mark.parametrize("level512", LOOP512_LEVELS, indirect=True)
@pytest.mark.parametrize("alg,is128", ALGS)
def test_loop512_offsets(level512, alg, is128, blob):
    for seed in SEEDS:
        _check_offsets(_loop512(is128), is128, blob, seed)


@pytest.mark.parametrize("level512", LOOP512_LEVELS, indirect=True)
def test_loop512_many_blocks_random(level512, rng):
    # Lengths in 1..64 blocks with every tail, random data and seeds.
    for _ in range(200):
        n = rng.randrange(241, 64 * 1024 + 64)
        data = rng.randbytes(n)
        seed = rng.choice([0, rng.getrandbits(64)])
        for is128 in (False, True):
            assert _loop512(is128)(data, seed) == _peer(is128)(data, seed), \
                (n, seed)


@pytest.mark.parametrize("level512", LOOP512_LEVELS, indirect=True)
def test_loop512_sees_input_changes(level512, blob):
    # Flipping any one of a long input's stripes' bytes changes both
    # values as python-xxhash's do (catches a lane that is never read).
    data = bytearray(blob[:3000])
    for pos in range(0, 3000, 37):
        data[pos] ^= 0x5A
        for is128 in (False, True):
            assert _loop512(is128)(data) == _peer(is128)(bytes(data)), pos
        data[pos] ^= 0x5A


def test_avx512_table_is_the_512_loop():
    # At "avx512" the table's long XXH3 is the 512-bit loop: same value as
    # the hook, and the level picks the avx512 table.
    if "avx512" not in core._simd_levels():
        pytest.skip(f"no avx512 level on this CPU ({core._simd_levels()})")
    old = core._get_simd_level()
    core._set_simd_level("avx512")
    try:
        assert "(avx512)" in fastconc.info()["backends"]["xxh3_64"]
        data = bytes(range(256)) * 40
        assert fastconc.xxh3_64_intdigest(data) == core._xxh3_512(data)
    finally:
        core._set_simd_level(old)


def test_hook_refused_without_512_loop():
    old = core._get_simd_level()
    try:
        for lvl in core._simd_levels():
            core._set_simd_level(lvl)
            if lvl in LOOP512_LEVELS:
                assert core._xxh3_512(b"x" * 300) == \
                    xxhash.xxh3_64_intdigest(b"x" * 300)
            else:
                with pytest.raises(ValueError, match="512-bit"):
                    core._xxh3_512(b"x" * 300)
    finally:
        core._set_simd_level(old)

