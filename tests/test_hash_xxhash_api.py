"""fastconc as a drop-in for python-xxhash: the one-shot functions, the
xxh128 names, input=/data=/seed=, reset(), .name and the messages, each
checked against the installed python-xxhash (the borrowed suite,
tests/borrowed/, runs python-xxhash's own tests too)."""
import pytest

import fastconc

xxhash = pytest.importorskip("xxhash")

ALGS = ["xxh32", "xxh64", "xxh3_64", "xxh3_128", "xxh128"]
FORMS = ["digest", "intdigest", "hexdigest"]
SIZES = [0, 1, 3, 4, 8, 16, 17, 64, 128, 129, 240, 241, 1024, 5000, 70000]
SEEDS = [0, 1, 2**31, 2**32 - 1, 2**32, 2**63, 2**64 - 1, 2**64, 2**65 + 3]


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("form", FORMS)
def test_oneshot_equals_python_xxhash(alg, form, rng, simd_level):
    ours, peer = (getattr(m, f"{alg}_{form}") for m in (fastconc, xxhash))
    for n in SIZES:
        data = rng.randbytes(n)
        assert ours(data) == peer(data), n
        for seed in SEEDS:
            want = peer(data, seed)
            assert ours(data, seed) == want, (n, seed)
            assert ours(data, seed=seed) == want
            assert ours(data=data, seed=seed) == want
            # python-xxhash 3's name for data
            assert ours(input=data, seed=seed) == want
    # any buffer, as python-xxhash
    data = rng.randbytes(300)
    for buf in (bytearray(data), memoryview(data), memoryview(data)[7:]):
        assert ours(buf) == peer(buf)


def test_aliases_and_names():
    assert fastconc.xxh128 is fastconc.xxh3_128
    for form in FORMS:
        assert getattr(fastconc, f"xxh128_{form}") is \
            getattr(fastconc, f"xxh3_128_{form}")
    for alg in ALGS:
        assert getattr(fastconc, alg)().name == getattr(xxhash, alg)().name
        for form in FORMS:
            assert f"{alg}_{form}" in fastconc.__all__
    # new() takes any case, and python-xxhash's .name back
    for name in ["xxh3_64", "XXH3_64", "Xxh3_64", "xxh128", "XXH3_128"]:
        h = fastconc.new(name, b"abc")
        assert h.digest() == fastconc.digest(name, b"abc")
        assert fastconc.new(h.name).name == h.name
    assert fastconc.new("xxh128").name == "XXH3_128"
    assert fastconc.digest("XXH128", b"a") == xxhash.xxh128_digest(b"a")
    assert fastconc.hash_many("xxh128", [b"a"]) == [xxhash.xxh128_digest(b"a")]


@pytest.mark.parametrize("alg", ALGS)
def test_objects_like_python_xxhash(alg, rng):
    ctor, peer_ctor = getattr(fastconc, alg), getattr(xxhash, alg)
    data = rng.randbytes(1000)
    for seed in (0, 5, 2**64 + 5):
        h, p = ctor(data, seed), peer_ctor(data, seed)
        assert (h.seed, h.digest_size, h.block_size, h.name) == \
            (p.seed, p.digest_size, p.block_size, p.name)
        assert ctor(input=data, seed=seed).intdigest() == p.intdigest()
        assert ctor(data=data, seed=seed).intdigest() == p.intdigest()
        h.update(data=b"more")
        p.update(b"more")
        assert h.hexdigest() == p.hexdigest()
        # reset(): back to a new object with the same seed
        assert h.reset() is None
        assert h.intdigest() == peer_ctor(seed=seed).intdigest()
        h.update(b"x")
        assert h.digest() == peer_ctor(b"x", seed).digest()
        c = h.copy()
        c.reset()
        assert h.digest() == peer_ctor(b"x", seed).digest()


@pytest.mark.parametrize("alg", ["xxh32", "xxh3_128"])
def test_messages_like_hashlib(alg):
    one = getattr(fastconc, f"{alg}_digest")
    ctor = getattr(fastconc, alg)
    for call in (lambda x: one(x), lambda x: ctor(x),
                 lambda x: ctor().update(x), lambda x: fastconc.digest(alg, x)):
        with pytest.raises(TypeError, match="Strings must be encoded"):
            call("abc")
        with pytest.raises(TypeError, match="buffer API required"):
            call(None)
    with pytest.raises(TypeError):
        one()
    with pytest.raises(TypeError):
        one(b"", 0, 1)
    with pytest.raises(TypeError):
        one(b"", seed="1")
    with pytest.raises(TypeError):
        one(b"", bad=1)
    with pytest.raises(TypeError, match="input"):
        one(b"", input=b"")
    with pytest.raises(TypeError):
        one(b"", data=b"")
    with pytest.raises(TypeError):
        ctor(b"", bad=1)
    with pytest.raises(TypeError):
        ctor().update(b"", data=b"")


@pytest.mark.parametrize("bad", ["sha256\x00x", "sha256\x00", "\x00",
                                 "xxh3_64\x00"])
def test_names_with_nul_refused(bad, tmp_path):
    # as hashlib: an embedded NUL is not the name before it
    p = tmp_path / "f"
    p.write_bytes(b"x")
    for call in (lambda: fastconc.new(bad), lambda: fastconc.digest(bad, b""),
                 lambda: fastconc.hash_many(bad, [b""]),
                 lambda: fastconc.hash_file(bad, p),
                 lambda: fastconc.hash_files(bad, [p])):
        with pytest.raises(ValueError, match="unsupported hash type"):
            call()


@pytest.mark.parametrize("alg", ALGS)
def test_digest_paths_equal_python_xxhash(alg, rng, simd_level):
    # digest() has a path for two positional arguments and a bytes object
    # (the small call's), and the general one (keywords, seed=,
    # release_gil=, any buffer): both give python-xxhash's answer.
    peer = getattr(xxhash, f"{alg}_digest")
    for n in SIZES:
        data = rng.randbytes(n)
        want = peer(data)
        assert fastconc.digest(alg, data) == want, n
        assert fastconc.digest(alg.upper(), data) == want, n
        assert fastconc.digest(alg, bytearray(data)) == want, n
        assert fastconc.digest(alg, memoryview(data)[::1]) == want, n
        assert fastconc.digest(name=alg, data=data) == want, n
        for release in (True, False, None):
            assert fastconc.digest(alg, data, release_gil=release) == want
        for seed in SEEDS[1:4]:
            assert fastconc.digest(alg, data, seed=seed) == peer(data, seed)
