"""A fastconc.aio call as asyncio sees it: a coroutine everywhere asyncio
takes one (create_task, TaskGroup, asyncio.run, wait_for), and, once made in
a running loop, a future too, so that gather() and ensure_future() take it
with no Task per call.  Cancelling through any of these stops the C work;
a call never awaited neither leaks nor warns; results and exceptions are
the synchronous call's."""
from __future__ import annotations

import asyncio
import gc
import hashlib
import os
import sys
import threading
import time
import warnings
import zlib
from typing import Any, Callable

import pytest

import fastconc
import fastconc.aio as aio

DATA = os.urandom(100_003)
NEW_GATHER = sys.version_info >= (3, 11)    # ensure_future: future first


@pytest.fixture(scope="module")
def big() -> bytes:
    return bytes(3 << 30)   # zero pages: seconds of portable crc32


def _jobs() -> list[Any]:
    gc.collect()
    return [o for o in gc.get_objects() if type(o) is fastconc._core._Job]


def _idle_after() -> None:
    deadline = time.monotonic() + 10
    while fastconc._core._jobs_live() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fastconc._core._jobs_live() == 0


def test_started_call_is_a_future() -> None:
    async def main() -> None:
        j = aio.crc32c(DATA)
        assert asyncio.isfuture(j) and asyncio.iscoroutine(j)
        assert j.get_loop() is asyncio.get_running_loop()
        f = asyncio.ensure_future(j)
        assert (f is j) == NEW_GATHER
        assert await f == fastconc.crc32c(DATA)
        assert j.done() and not j.cancelled()
        assert j.result() == fastconc.crc32c(DATA)
        assert j.exception() is None
        assert j.cancel() is False            # done: as a future
    asyncio.run(main())


def test_unstarted_call_is_a_coroutine() -> None:
    j = aio.crc32c(b"x")                      # no running loop
    assert not asyncio.isfuture(j)
    assert asyncio.iscoroutine(j)
    assert not j.done()
    assert asyncio.run(j) == fastconc.crc32c(b"x")
    assert asyncio.run(aio.digest("sha256", DATA)) \
        == hashlib.sha256(DATA).digest()


def test_unstarted_call_cancelled() -> None:
    j = aio.crc32(DATA)
    assert j.cancel() is True
    assert j.cancelled() and j.done()
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(j)


def test_gather_many_with_exceptions_as_sync() -> None:
    bad: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [
        (fastconc.digest, ("nope", DATA)),
        (fastconc.digest, ("sha256", 5)),
        (fastconc.crc32, ("text",)),
        (fastconc.decompress, (b"garbage",)),
    ]

    async def main() -> list[Any]:
        good = [aio.digest(n, DATA) for n in ("md5", "xxh3_64", "blake3")]
        errs = [getattr(aio, f.__name__)(*a) for f, a in bad]
        return await asyncio.gather(*good, *errs, return_exceptions=True)
    out = asyncio.run(main())
    assert out[:3] == [fastconc.digest(n, DATA)
                       for n in ("md5", "xxh3_64", "blake3")]
    for (f, a), got in zip(bad, out[3:]):
        with pytest.raises(type(got)) as want:
            f(*a)
        assert str(want.value) == str(got)


def test_create_task_wait_shield_as_completed() -> None:
    async def main() -> None:
        want = fastconc.crc32(DATA)
        t = asyncio.get_running_loop().create_task(aio.crc32(DATA))
        assert await t == want
        assert await asyncio.wait_for(aio.crc32(DATA), 30) == want
        assert await asyncio.shield(aio.crc32(DATA)) == want
        # asyncio.wait refuses coroutines (3.11+), as for any coroutine
        # function: make tasks (ensure_future gives the call itself, which
        # is a coroutine as well, on 3.11+)
        loop = asyncio.get_running_loop()
        done, pending = await asyncio.wait(
            [loop.create_task(aio.crc32(DATA[:i])) for i in range(20)])
        assert not pending
        assert sorted(f.result() for f in done) \
            == sorted(zlib.crc32(DATA[:i]) for i in range(20))
        got = [await f for f in asyncio.as_completed(
            [aio.crc32(DATA[:i]) for i in range(20)])]
        assert sorted(got) == sorted(zlib.crc32(DATA[:i]) for i in range(20))
        # the same call twice in one gather: one child
        j = aio.adler32(DATA)
        assert await asyncio.gather(j, j) == [zlib.adler32(DATA)] * 2
    asyncio.run(main())


@pytest.mark.skipif(sys.version_info < (3, 11), reason="TaskGroup is 3.11+")
def test_taskgroup() -> None:
    async def main() -> list[Any]:
        async with asyncio.TaskGroup() as tg:    # type: ignore[attr-defined]
            ts = [tg.create_task(aio.digest("sha1", DATA[:i]))
                  for i in range(50)]
        return [t.result() for t in ts]
    assert asyncio.run(main()) == [hashlib.sha1(DATA[:i]).digest()
                                   for i in range(50)]


@pytest.mark.timeout(300)
def test_wait_for_timeout_cancels_native_work(big: bytes,
                                              simd_portable: Any) -> None:
    async def main() -> float:
        t0 = time.perf_counter()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(aio.crc32(big, threads=2), 0.3)
        return time.perf_counter() - t0
    took = asyncio.run(main())
    assert took < 5
    _idle_after()                   # the C work has stopped


@pytest.mark.timeout(300)
def test_cancelling_gather_cancels_native_work(big: bytes,
                                               simd_portable: Any) -> None:
    async def main() -> list[Any]:
        calls = [aio.crc32(big, threads=1), aio.adler32(big, threads=1),
                 aio.digest("sha256", big)]
        g = asyncio.gather(*calls)
        await asyncio.sleep(0.3)
        assert fastconc._core._jobs_live() == 3
        assert not any(c.done() for c in calls)
        g.cancel()
        with pytest.raises(asyncio.CancelledError):
            await g
        if NEW_GATHER:      # gather took the calls themselves
            for c in calls:
                with pytest.raises(asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(c), 10)
                assert c.cancelled()
        return calls
    calls = asyncio.run(main())
    _idle_after()
    assert all(c.cancelled() for c in calls)


@pytest.mark.timeout(300)
def test_cancel_started_call_directly(big: bytes, simd_portable: Any) -> None:
    async def main() -> None:
        j = aio.crc32(big, threads=2)
        await asyncio.sleep(0.2)
        assert j.cancel("stop") is True
        with pytest.raises(asyncio.CancelledError):
            await j
        assert j.cancelled()
    asyncio.run(main())
    _idle_after()


def test_never_awaited_no_leak_no_warning() -> None:
    errors: list[Any] = []
    before = {id(j) for j in _jobs()}

    async def main() -> None:
        asyncio.get_running_loop().set_exception_handler(
            lambda loop, ctx: errors.append(ctx))
        for i in range(200):
            aio.crc32c(DATA[:i])                    # started, dropped
            aio.digest("nope", DATA)                # failed, dropped
            aio.decompress(b"garbage")              # fails on the pool
        await asyncio.sleep(0.2)
        gc.collect()
        await asyncio.sleep(0)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i in range(100):
            aio.crc32(DATA[:i])                     # never started
        asyncio.run(main())
        gc.collect()
    assert errors == []
    _idle_after()
    assert [j for j in _jobs() if id(j) not in before] == []


def test_no_job_left_after_many_calls() -> None:
    async def main() -> None:
        await asyncio.gather(*(aio.digest("md5", DATA[:i]) for i in range(500)),
                             aio.digest("nope", b""), return_exceptions=True)
        with pytest.raises(ValueError):
            await aio.digest("nope", b"")
    before = {id(j) for j in _jobs()}
    for _ in range(3):
        asyncio.run(main())
    assert [j for j in _jobs() if id(j) not in before] == []


def test_no_python_thread_over_1000_calls() -> None:
    before = sorted(t.name for t in threading.enumerate())
    n = threading.active_count()

    async def main() -> list[Any]:
        return await asyncio.gather(*(aio.digest("sha256", DATA[:i % 4096])
                                      for i in range(1000)))
    out = asyncio.run(main())
    assert out[7] == hashlib.sha256(DATA[:7]).digest()
    assert threading.active_count() == n
    assert sorted(t.name for t in threading.enumerate()) == before


def test_uvloop() -> None:
    uvloop = pytest.importorskip("uvloop")

    async def main() -> list[Any]:
        t = asyncio.get_running_loop().create_task(aio.crc32(DATA))
        r = await asyncio.gather(*(aio.digest("sha256", DATA[:i])
                                   for i in range(100)))
        return [await t, *r]
    loop = uvloop.new_event_loop()
    try:
        out = loop.run_until_complete(main())
        assert out[0] == zlib.crc32(DATA)
        assert out[1:] == [hashlib.sha256(DATA[:i]).digest()
                           for i in range(100)]
        assert loop.run_until_complete(aio.crc32c(b"x")) \
            == fastconc.crc32c(b"x")
    finally:
        loop.close()
