"""Fuzz fastconc.blake3 against the blake3 package: the three modes (hash,
keyed_hash with a 32-byte key, derive_key with a context), data split into
random updates (bytes, bytearray, memoryview), threads 1-3 and None, a
copy() at a random point that goes on with other data, reset(), and
extended output (digest(length, seek=) with any length up to 4 KiB and
any 64-bit seek).  Keys of a wrong length and key + context together must
be refused by both.  The unkeyed mode is also checked through new(),
digest() and hash_many()."""
from __future__ import annotations

from typing import Any

from _common import Input, chunks, import_fastconc, main, require, split_points

fastconc: Any = import_fastconc()

try:
    import blake3 as blake3_pkg
except ImportError:
    blake3_pkg = None


def missing() -> list[str]:
    return [n for n in ("blake3", "new", "digest", "hash_many")
            if not hasattr(fastconc, n)]


def outcome(fn: Any) -> Any:
    """(True, value) or (False, exception type name)."""
    try:
        return True, fn()
    except (ValueError, TypeError, OverflowError) as exc:
        return False, type(exc).__name__


def test_one_input(data: bytes) -> None:
    inp = Input(data)
    mode = inp.below(4)       # 0 hash, 1 keyed, 2 derive, 3 bad arguments
    key = inp.take(32).ljust(32, b"k")
    context = inp.take(inp.below(24)).decode("utf-8", "replace")
    threads = inp.pick((None, 1, 2, 3))
    length = inp.pick((0, 1, 16, 31, 32, 33, 64, 65, 200, 1024, 4096))
    seek = inp.uint(8) if inp.flag() else inp.below(256)
    copy_at = inp.below(10)
    grow = inp.below(32)
    cut_bytes = Input(inp.take(16))
    payload = inp.rest()
    if payload and grow < 4:
        size = (70_000, 1_100_000, 3_000_000, 200_000)[grow]
        payload = (payload * (1 + size // len(payload)))[:size]
    pieces = chunks(payload, split_points(cut_bytes, len(payload), 10))

    if mode == 3:
        bad = inp.pick(({"key": key[:inp.below(32)]},
                         {"key": key + b"x"},
                         {"key": key, "derive_key_context": context}))
        ok_ref = outcome(lambda: blake3_pkg.blake3(b"a", **bad)) if blake3_pkg else (False, "")
        ok_ours = outcome(lambda: fastconc.blake3(b"a", **bad))
        assert not ok_ours[0], f"fastconc accepted {bad}"
        assert not ok_ref[0] or blake3_pkg is None
        return

    kw: dict[str, Any] = {}
    if mode == 1:
        kw["key"] = key
    elif mode == 2:
        kw["derive_key_context"] = context
    h = fastconc.blake3(pieces[0], threads=threads, **kw)
    ref = blake3_pkg.blake3(pieces[0], **kw) if blake3_pkg else None
    fork = None
    for i, piece in enumerate(pieces[1:], 1):
        if i == copy_at:
            fork = (h.copy(), b"".join(pieces[:i]))
        arg = (piece, bytearray(piece), memoryview(piece))[i % 3]
        h.update(arg)
        if ref is not None:
            ref.update(piece)
    whole = h.digest()
    assert h.digest() == whole, "digest() changed the state"
    assert h.hexdigest() == whole.hex()
    assert len(whole) == 32 == h.digest_size
    xof = h.digest(length, seek=seek)
    assert len(xof) == length
    assert h.hexdigest(length, seek=seek) == xof.hex()
    if ref is not None:
        assert whole == ref.digest(), (mode, threads, [len(p) for p in pieces])
        assert xof == ref.digest(length=length, seek=seek), (length, seek)
    # XOF consistency: a later seek is a suffix of an earlier read.
    if length >= 2 and seek < (1 << 64) - 1:
        assert h.digest(length - 1, seek=seek + 1) == xof[1:]
    if fork is not None:
        c, head = fork
        c.update(b"tail")
        fresh = fastconc.blake3(head + b"tail", **kw)
        assert c.digest() == fresh.digest()
    # reset() goes back to the start of the same mode.
    h.reset()
    h.update(b"abc")
    assert h.digest() == fastconc.blake3(b"abc", **kw).digest()
    if mode == 0:
        assert fastconc.new("blake3", payload).digest() == whole
        assert fastconc.digest("blake3", payload) == whole
        got = fastconc.hash_many("blake3", pieces, threads=threads)
        assert got == [fastconc.blake3(p).digest() for p in pieces]


def seeds() -> list[bytes]:
    out = []
    for mode in range(4):
        for t in range(4):
            out.append(bytes([mode]) + bytes(range(32)) + bytes([5]) +
                       b"ctx12" + bytes([t, 4, 1, 7, 9, 2, 0, 0, 0, 0, 0, 3]) +
                       bytes(range(16)) + b"abc" * 700)
    return out


if __name__ == "__main__":
    require(fastconc, *missing())
    main(test_one_input, seeds)
