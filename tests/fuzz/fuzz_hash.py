"""Fuzz the hash objects, digest() and hash_many(): random algorithm, seed,
data and update splits, a copy() taken at a random point and continued
differently, against hashlib, the xxhash package and the blake3 package."""
from __future__ import annotations

import hashlib
from typing import Any, Callable, Optional

from _common import Input, chunks, import_fastconc, main, require, split_points

fastconc: Any = import_fastconc()

try:
    import xxhash
except ImportError:
    xxhash = None
try:
    import blake3 as blake3_pkg
except ImportError:
    blake3_pkg = None

SEEDED = {"xxh32": 32, "xxh64": 64, "xxh3_64": 64, "xxh3_128": 64}


def reference(name: str, seed: int) -> Optional[Callable[[], Any]]:
    """A factory for the reference hash object, or None."""
    if name in SEEDED:
        if xxhash is None:
            return None
        cls = getattr(xxhash, name)
        return lambda: cls(seed=seed)
    if name == "blake3":
        return None if blake3_pkg is None else blake3_pkg.blake3
    if name in hashlib.algorithms_available:
        return lambda: hashlib.new(name)
    return None


def names() -> list[str]:
    return sorted(getattr(fastconc, "algorithms_available", ()))


def missing() -> list[str]:
    return [n for n in ("new", "digest", "algorithms_available")
            if not hasattr(fastconc, n)]


def make(name: str, seed: int, first: bytes) -> Any:
    if name in SEEDED:
        return fastconc.new(name, first, seed=seed)
    return fastconc.new(name, first)


def test_one_input(data: bytes) -> None:
    inp = Input(data)
    algos = names()
    name = algos[inp.below(len(algos))]
    bits = SEEDED.get(name, 0)
    seed = inp.uint(bits // 8) if bits and inp.flag() else 0
    copy_at = inp.below(10)
    grow = inp.flag()
    cut_bytes = inp.take(16)
    payload = inp.rest()
    if grow and payload:
        payload = payload * (1 + 100_000 // len(payload))
    pieces = chunks(payload, split_points(Input(cut_bytes), len(payload), 10))
    ref_factory = reference(name, seed)
    ref = ref_factory() if ref_factory else None

    h = make(name, seed, pieces[0])
    if ref is not None:
        ref.update(pieces[0])
    fork = None
    for i, piece in enumerate(pieces[1:], 1):
        if i == copy_at:
            fork = (h.copy(), bytes(b"".join(pieces[:i])))
        h.update(memoryview(piece) if i & 1 else piece)
        if ref is not None:
            ref.update(piece)
    whole = h.digest()
    assert h.hexdigest() == whole.hex()
    assert h.digest() == whole, "digest() changed the state"
    assert len(whole) == h.digest_size
    if ref is not None:
        assert whole == ref.digest(), (name, seed, [len(p) for p in pieces])
        assert h.digest_size == ref.digest_size
        if name not in SEEDED and name != "blake3":
            assert h.block_size == ref.block_size and h.name == ref.name
    if name in SEEDED:
        assert h.intdigest() == int.from_bytes(whole, "big")
    # The copy goes on alone, with other data, and must equal a fresh hash.
    if fork is not None:
        c, head = fork
        c.update(b"tail")
        assert c.digest() == make(name, seed, head + b"tail").digest()
    # One-shot and batch give the same bytes.
    if name in SEEDED:
        assert fastconc.digest(name, payload, seed=seed) == whole
    else:
        assert fastconc.digest(name, payload) == whole
    if hasattr(fastconc, "hash_many"):
        threads = inp.pick((None, 1, 2, 3))
        kw = {"seed": seed} if name in SEEDED else {}
        got = fastconc.hash_many(name, pieces, threads=threads, **kw)
        assert got == [make(name, seed, p).digest() for p in pieces]


def seeds() -> list[bytes]:
    out = []
    for i in range(len(names()) or 1):
        for copy_at in (0, 2):
            out.append(bytes([i, 1, 7, copy_at, 0]) + bytes(range(16)) +
                       b"abc" * 100)
    return out


if __name__ == "__main__":
    require(fastconc, *missing())
    main(test_one_input, seeds)
