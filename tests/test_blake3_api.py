"""fastconc.blake3 as a drop-in for blake3-py's class (checked against the
installed blake3 package; tests/borrowed/ also runs blake3-py's own
tests): max_threads= and AUTO, update() returning self, update_mmap(),
reset(), the class constants."""
import os

import pytest

import fastconc

blake3_py = pytest.importorskip("blake3")
B = fastconc.blake3


def _peer(data=b"", **kw):
    return blake3_py.blake3(data, **kw)


def test_class_constants_like_blake3_py():
    for attr in ("name", "digest_size", "block_size", "key_size", "AUTO"):
        want = getattr(blake3_py.blake3, attr)
        assert getattr(B, attr) == want
        assert getattr(B(), attr) == want
    with pytest.raises((TypeError, AttributeError)):
        B.AUTO = 3
    with pytest.raises((TypeError, AttributeError)):
        B().name = "x"


@pytest.mark.parametrize("max_threads", [1, 2, 4, 1000, B.AUTO])
def test_max_threads(max_threads, rng):
    data = rng.randbytes(3 << 20)
    want = _peer(data).digest()
    assert B(data, max_threads=max_threads).digest() == want
    h = B(max_threads=max_threads)
    assert h.update(data) is h
    assert h.digest() == want


def test_bad_max_threads():
    for bad in (0, -2, -100):
        with pytest.raises(ValueError):
            B(max_threads=bad)
    with pytest.raises(TypeError):
        B(max_threads="2")
    with pytest.raises(TypeError):
        B(max_threads=2, threads=2)


def test_update_chains_and_reset(rng):
    a, b = rng.randbytes(1000), rng.randbytes(70000)
    h = B().update(a).update(b)
    assert h.digest() == _peer(a + b).digest()
    assert h.reset() is None
    assert h.digest() == _peer().digest()
    key = bytes(range(32))
    k = B(a, key=key)
    k.reset()
    assert k.update(b).digest() == _peer(b, key=key).digest()
    d = B(a, derive_key_context="ctx")
    d.reset()
    assert d.update(b).digest(length=100) == \
        _peer(b, derive_key_context="ctx").digest(length=100)


@pytest.mark.parametrize("size", [0, 1, 1024, 5 << 20, (8 << 20) + 3])
@pytest.mark.parametrize("max_threads", [1, B.AUTO])
def test_update_mmap(size, max_threads, tmp_path, rng):
    data = rng.randbytes(size)
    p = tmp_path / "f"
    p.write_bytes(data)
    h = B(b"head", max_threads=max_threads)
    assert h.update_mmap(p) is h
    assert h.update_mmap(path=str(p)) is h
    assert h.update_mmap(os.fsencode(p)) is h
    assert h.digest() == _peer(b"head" + data * 3).digest()


def test_update_mmap_errors_leave_the_hash(tmp_path):
    h = B(b"x")
    before = h.digest()
    with pytest.raises(FileNotFoundError):
        h.update_mmap(tmp_path / "missing")
    with pytest.raises(IsADirectoryError):
        h.update_mmap(tmp_path)
    with pytest.raises(TypeError):
        h.update_mmap(12)
    assert h.digest() == before


def test_none_data_and_keywords():
    assert B(None).digest() == _peer().digest()
    # fastconc is more lenient than blake3-py here (documented):
    assert B(data=b"a").digest() == _peer(b"a").digest()
    assert B(derive_key_context=b"c").digest() == \
        _peer(derive_key_context="c").digest()
    with pytest.raises(TypeError, match="Strings must be encoded"):
        B("abc")
    with pytest.raises(TypeError, match="buffer API required"):
        B().update(None)


@pytest.mark.parametrize("threads", [1, 2, None])
def test_repr_shows_mode_threads_and_bytes_hashed(threads, rng):
    # The count comes from the hasher's chunk counter and buffer, so it
    # is checked across chunk and block edges and a pooled update.
    h = B(threads=threads)
    shown = "auto" if threads is None else str(threads)
    total = 0
    for n in (0, 1, 63, 64, 65, 1023, 1024, 1025, 5000, 3 << 20):
        h.update(rng.randbytes(n))
        total += n
        assert repr(h) == (f"<fastconc.blake3 mode='hash' threads={shown} "
                           f"hashed={total}>")
    c = h.copy()
    assert repr(c) == repr(h)
    h.reset()
    assert repr(h).endswith(" hashed=0>")
    assert repr(c).endswith(f" hashed={total}>")
    assert "mode='keyed_hash'" in repr(B(b"ab", key=bytes(32)))
    d = B(b"abc", derive_key_context="ctx", max_threads=3)
    assert repr(d) == "<fastconc.blake3 mode='derive_key' threads=3 hashed=3>"
    d.reset()
    assert repr(d) == "<fastconc.blake3 mode='derive_key' threads=3 hashed=0>"


def test_any_buffer_is_hashed_as_its_bytes(rng):
    # Deliberately more lenient than blake3-py (which refuses array('i')),
    # as hashlib is: the buffer's bytes are hashed.
    import array
    a = array.array("i", range(1000))
    want = _peer(a.tobytes()).digest()
    assert B(a).digest() == want
    assert B().update(a).digest() == want
    assert B(memoryview(a)).digest() == want
