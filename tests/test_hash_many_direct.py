"""hash_many("xxh3_64" / "xxh64", items, out=buf) over bytes objects of at
most 256 bytes: the caller hashes them where they are, in rounds of 2**20
items with the signal handlers run between rounds (hash/oneshot.c,
many_direct64).  Checked against python-xxhash across a round boundary,
with another kind of item after a whole round (the general path then
writes every value again), and with signal handlers that raise or change
the list's size during the call."""
from __future__ import annotations

import signal
import sys
from typing import Any

import pytest

import fastconc

ROUND = 1 << 20     # hash/oneshot.c: DIRECT_ROUND


def _items(n: int) -> list[bytes]:
    # sizes 0..80 (every xxh3 short-input class), all distinct
    return [i.to_bytes(8, "little") * (i % 11) for i in range(n)]


def _ints(out: Any) -> list[int]:
    return memoryview(out).cast("Q").tolist()


@pytest.mark.parametrize("name", ["xxh3_64", "xxh64"])
@pytest.mark.parametrize("threads", [None, 1, 2])
def test_across_a_round(name: str, threads: Any) -> None:
    xxhash = pytest.importorskip("xxhash")
    ref = getattr(xxhash, f"{name}_intdigest")
    items = _items(ROUND + 5)
    out = bytearray(8 * len(items))
    assert fastconc.hash_many(name, items, out=out, seed=3,
                              threads=threads) is out
    assert _ints(out) == [ref(x, 3) for x in items]


@pytest.mark.parametrize("bad", [bytearray(b"late item"), b"x" * 257,
                                 memoryview(b"view")])
def test_other_item_after_a_round(bad: Any) -> None:
    xxhash = pytest.importorskip("xxhash")
    items: list[Any] = list(_items(ROUND + 3))
    items[ROUND + 1] = bad
    out = bytearray(8 * len(items))
    fastconc.hash_many("xxh3_64", items, out=out)
    assert _ints(out) == [xxhash.xxh3_64_intdigest(bytes(x)) for x in items]


def test_list_and_tuple_and_empty() -> None:
    xxhash = pytest.importorskip("xxhash")
    items = _items(1000)
    for seq in (items, tuple(items)):
        out = bytearray(8000)
        fastconc.hash_many("xxh64", seq, out=out)
        assert _ints(out) == [xxhash.xxh64_intdigest(x) for x in items]
    assert fastconc.hash_many("xxh64", [], out=bytearray()) is not None
    with pytest.raises(ValueError):
        fastconc.hash_many("xxh64", items, out=bytearray(7999))


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="no setitimer")
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("action", ["raise", "grow"])
def test_signal_handler_during_the_call(action: str) -> None:
    """SIGALRM 2 ms into a call of about 4 rounds: its handler runs at a
    round boundary, inside the call.  Had the call not run the handlers,
    it would return normally and the handler would run after it."""
    items = _items(4 * ROUND)
    out = bytearray(8 * len(items))

    class StopError(Exception):
        pass

    def handler(signum: int, frame: Any) -> None:
        if action == "raise":
            raise StopError
        items.append(b"one more")

    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.002)
        if action == "raise":
            with pytest.raises(StopError):
                fastconc.hash_many("xxh3_64", items, out=out)
        else:
            # RuntimeError when the handler ran inside the call (the
            # expected case); ValueError (out too small for the longer
            # list) only if it ran before the call began.
            with pytest.raises((RuntimeError, ValueError)):
                fastconc.hash_many("xxh3_64", items, out=out)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    # still works afterwards
    small = _items(10)
    out = bytearray(80)
    fastconc.hash_many("xxh3_64", small, out=out)
    assert _ints(out) == [fastconc.xxh3_64_intdigest(x) for x in small]
