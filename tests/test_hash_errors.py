"""Bad input gets a clear Python exception."""
import pickle

import pytest

import fastconc


def test_unknown_algorithm_lists_available():
    with pytest.raises(ValueError) as ei:
        fastconc.new("sha257")
    msg = str(ei.value)
    for name in fastconc.algorithms_available:
        assert name in msg
    for fn in (lambda: fastconc.digest("crc", b""),
               lambda: fastconc.hash_many("", [b""]),
               lambda: fastconc.hash_file("md4", __file__)):
        with pytest.raises(ValueError, match="available"):
            fn()
    with pytest.raises(TypeError):
        fastconc.new(b"sha256")
    with pytest.raises(TypeError):
        fastconc.new(None)


@pytest.mark.parametrize("name", ["sha256", "xxh64"])
def test_str_data(name):
    with pytest.raises(TypeError, match="encode"):
        fastconc.new(name, "abc")
    with pytest.raises(TypeError):
        fastconc.new(name).update("abc")
    with pytest.raises(TypeError):
        fastconc.digest(name, "abc")
    with pytest.raises(TypeError):
        getattr(fastconc, name)("abc")
    with pytest.raises(TypeError):
        fastconc.new(name).update(12)


def test_wrong_seed_type():
    with pytest.raises(TypeError, match="seed"):
        fastconc.xxh64(b"", seed="1")
    with pytest.raises(TypeError, match="seed"):
        fastconc.xxh3_64(b"", 1.5)
    with pytest.raises(TypeError, match="seed"):
        fastconc.new("xxh32", seed=b"1")
    with pytest.raises(TypeError, match="seed"):
        fastconc.digest("sha256", b"", seed=1)
    with pytest.raises(TypeError):
        fastconc.sha256(b"", seed=1)
    with pytest.raises(TypeError, match="seed"):
        fastconc.hash_many("xxh64", [b""], seed=[1])


def test_digest_after_digest_and_copy():
    # hashlib semantics: digest() does not close the object; a copy is
    # independent; both keep working.
    h = fastconc.sha256(b"a")
    d1 = h.digest()
    assert h.digest() == d1
    c = h.copy()
    h.update(b"b")
    assert c.digest() == d1
    assert h.digest() != d1
    x = fastconc.xxh3_64(b"a")
    assert x.copy().intdigest() == x.intdigest()


def test_objects_are_not_instantiable_or_picklable():
    with pytest.raises(TypeError):
        type(fastconc.sha256())()
    with pytest.raises(TypeError):
        type(fastconc.xxh64())()
    with pytest.raises(TypeError):
        pickle.dumps(fastconc.sha256())
    with pytest.raises((TypeError, AttributeError)):
        fastconc.sha256().name = "x"
    assert not hasattr(fastconc.sha256(), "intdigest")


def test_bad_arguments():
    with pytest.raises(TypeError):
        fastconc.sha256(b"", b"")
    with pytest.raises(TypeError):
        fastconc.digest("sha256")
    with pytest.raises(TypeError):
        fastconc.digest("sha256", b"", release_gil="yes")
    with pytest.raises(TypeError):
        fastconc.new("sha256", b"", bogus=1)
    with pytest.raises(TypeError):
        fastconc.hash_many("sha256", [b""], threads="2")
