"""Fuzz the hash objects, digest(), hash_many(), hash_file() and
hash_files(): random algorithm, seed (any 64-bit value, and values past
64 bits or negative, which both sides reduce mod 2**64), data and update
splits, digest() in the middle, a copy() taken at a random point and
continued differently, threads 1-3, against hashlib, the xxhash package
and the blake3 package."""
from __future__ import annotations

import hashlib
import os
import tempfile
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
    seed_kind = inp.below(4) if name in SEEDED else 0
    seed = (0 if seed_kind == 0 else inp.uint(4) if seed_kind == 1
            else inp.uint(8) if seed_kind == 2 else inp.uint(9) - (1 << 71))
    copy_at = inp.below(10)
    mid_at = inp.below(10)
    files = inp.below(8) == 0
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
        if i == mid_at and ref is not None:
            assert h.digest() == ref.digest(), "digest() in the middle"
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
    if files and hasattr(fastconc, "hash_files"):
        threads = inp.pick((None, 1, 2, 3))
        kw = {"seed": seed} if name in SEEDED else {}
        tmp = "/dev/shm" if os.path.isdir("/dev/shm") else None
        with tempfile.TemporaryDirectory(dir=tmp) as d:
            paths = []
            for i, p in enumerate(pieces[:4]):
                paths.append(os.path.join(d, str(i)))
                with open(paths[-1], "wb") as f:
                    f.write(p)
            got = fastconc.hash_files(name, paths, threads=threads, **kw)
            assert got == [make(name, seed, p).digest() for p in pieces[:4]]
            if paths:
                assert fastconc.hash_file(name, paths[0], **kw) == got[0]


def seeds() -> list[bytes]:
    out = []
    for i in range(len(names()) or 1):
        for copy_at in (0, 2):
            out.append(bytes([i, 1, 7, 0, 0, 0, 0, copy_at, 2, 0, 0]) +
                       bytes(range(16)) + b"abc" * 100)
    return out


if __name__ == "__main__":
    require(fastconc, *missing())
    main(test_one_input, seeds)
