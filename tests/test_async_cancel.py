"""Cancelling running work: Future.cancel() of a fastconc.submit call and
task.cancel() of a task awaiting a fastconc.aio call stop the C work at
the next chunk boundary.  The call ends well before it would have (2 s in
the unit run; 200 ms under the ``timing`` marker), the process's CPU time
stops growing, every buffer is released, the Future reports cancelled (the
task raises CancelledError), and the next call works."""
from __future__ import annotations

import asyncio
import concurrent.futures as cf
import ctypes
import mmap
import sys
import threading
import time
import zlib
from typing import Any, Callable

import pytest
from codec_data import corpus

import fastconc
import fastconc.aio as aio

MiB = 1 << 20


@pytest.fixture(params=["unit", pytest.param("timing",
                                             marks=pytest.mark.timing)])
def bound(request: Any) -> float:
    """Seconds allowed from cancel to the end of the call."""
    return 2.0 if request.param == "unit" else 0.2


@pytest.fixture(scope="module")
def gzip_input() -> bytes:
    return corpus(40 * MiB)     # gzip -9 on one thread: seconds


def cpu_in_next(seconds: float = 0.3) -> float:
    """CPU time this process uses over the next `seconds` (it should be
    idle: no thread still running the cancelled work)."""
    c0 = time.process_time()
    time.sleep(seconds)
    return time.process_time() - c0


def after_checks() -> None:
    assert cpu_in_next() < 0.1
    assert fastconc._core._jobs_live() == 0
    assert fastconc.submit(fastconc.crc32, b"abc").result(10) \
        == zlib.crc32(b"abc")
    assert asyncio.run(aio.crc32(b"abc")) == zlib.crc32(b"abc")


def wait_running(seconds: float = 0.3) -> None:
    time.sleep(seconds)


# --- the long calls ----------------------------------------------------------

def _calls(big: bytes, gz: bytes) -> dict[str, tuple[Callable[..., Any],
                                                     tuple[Any, ...],
                                                     dict[str, Any]]]:
    return {
        # native jobs: chunks on the pool, no GIL
        "crc32 threads=2": (fastconc.crc32, (big,), {"threads": 2}),
        "adler32 threads=1": (fastconc.adler32, (big,), {"threads": 1}),
        # the generic form: compress runs on a pool thread; run.c's poll
        # sees the job's flag through pool.c's enclosing batch
        "compress gzip-9": (fastconc.compress, (gz, "gzip", 9),
                            {"threads": 1}),
        # zstd -19: a second per MiB on a busy machine; stops between
        # 128 KiB steps (one thread: slices in order; two: frames)
        "compress zstd-19 threads=1": (fastconc.compress, (gz, "zstd", 19),
                                       {"threads": 1}),
        "compress zstd-19 threads=2": (fastconc.compress, (gz, "zstd", 19),
                                       {"threads": 2}),
    }


CALLS = ["crc32 threads=2", "adler32 threads=1", "compress gzip-9",
         "compress zstd-19 threads=1", "compress zstd-19 threads=2"]


@pytest.fixture(scope="module")
def big() -> bytes:
    # Zero pages (calloc): no memory used, and seconds of portable crc32
    # even on two threads of a fast machine.
    return bytes(3 << 30)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("which", CALLS)
def test_future_cancel_stops_running_call(which: str, big: bytes,
                                          gzip_input: bytes, simd_portable: Any,
                                          bound: float) -> None:
    fn, args, kwargs = _calls(big, gzip_input)[which]
    f = fastconc.submit(fn, *args, **kwargs)
    wait_running()
    assert f.running() and not f.done()
    t0 = time.perf_counter()
    assert f.cancel() is True
    took = time.perf_counter() - t0
    assert took < bound, f"{which}: cancel took {took:.3f} s"
    assert f.cancelled() and f.done() and not f.running()
    with pytest.raises(cf.CancelledError):
        f.result()
    assert f.cancel() is True           # again: still cancelled
    after_checks()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("which", CALLS)
def test_task_cancel_stops_running_call(which: str, big: bytes,
                                        gzip_input: bytes, simd_portable: Any,
                                        bound: float) -> None:
    fn, args, kwargs = _calls(big, gzip_input)[which]
    coro_fn = getattr(aio, fn.__name__)

    async def main() -> float:
        task = asyncio.ensure_future(coro_fn(*args, **kwargs))
        await asyncio.sleep(0.3)
        assert not task.done()
        t0 = time.perf_counter()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()
        return time.perf_counter() - t0

    took = asyncio.run(main())
    assert took < bound, f"{which}: task ended {took:.3f} s after cancel"
    after_checks()


@pytest.mark.timeout(300)
def test_map_array_cancel(bound: float) -> None:
    np = pytest.importorskip("numpy")
    kernel = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(
        fastconc._core._countdown_kernel_address())
    # ~0.2 ms per element, 64 chunks per thread: seconds in all
    arr = np.full(40_000, 400_000, dtype=np.int64)
    f = fastconc.submit(fastconc.map_array, kernel, arr, threads=2)
    wait_running()
    t0 = time.perf_counter()
    assert f.cancel()
    assert time.perf_counter() - t0 < bound
    after_checks()


@pytest.mark.timeout(300)
def test_cancel_before_start_withdraws(big: bytes, simd_portable: Any) -> None:
    # Every pool thread busy: the next call waits in the pool; cancelling
    # it takes it back at once, and wait()/as_completed() see it.  (Earlier
    # calls with a larger threads= may have started more workers than
    # get_threads(): keep every started worker busy.)
    workers = max(fastconc.get_threads(), fastconc._core._pool_started())
    busy = [fastconc.submit(fastconc.crc32, big, threads=1)
            for _ in range(workers)]
    wait_running(0.1)
    f = fastconc.submit(fastconc.crc32, b"queued")
    waiter_saw: list[Any] = []
    t = threading.Thread(target=lambda: waiter_saw.append(
        cf.wait([f], timeout=20)))
    t.start()
    time.sleep(0.05)
    t0 = time.perf_counter()
    assert f.cancel() is True
    assert time.perf_counter() - t0 < 1.0
    assert f.cancelled()
    t.join(20)
    assert waiter_saw and f in waiter_saw[0].done
    assert list(cf.as_completed([f], timeout=5)) == [f]
    for b in busy:
        b.cancel()
    assert all(b.cancelled() for b in busy)
    after_checks()


@pytest.mark.timeout(300)
def test_cancel_wakes_waiters(big: bytes, simd_portable: Any) -> None:
    f = fastconc.submit(fastconc.crc32, big, threads=2)
    got: list[Any] = []
    t = threading.Thread(target=lambda: got.append(
        list(cf.as_completed([f], timeout=20))))
    t.start()
    wait_running()
    assert f.cancel()
    t.join(20)
    assert got == [[f]]
    after_checks()


@pytest.mark.timeout(300)
def test_buffer_released_after_cancel(simd_portable: Any) -> None:
    # An anonymous mapping: seconds of work without touching memory;
    # close() raises BufferError while a view is still held.
    m = mmap.mmap(-1, 2 << 30)
    f = fastconc.submit(fastconc.crc32, m, threads=1)
    time.sleep(0.1)
    assert f.cancel() and f.cancelled()
    m.close()
    m = mmap.mmap(-1, 2 << 30)

    async def main() -> None:
        task = asyncio.ensure_future(aio.crc32(m, threads=1))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        m.close()
    asyncio.run(main())
    after_checks()


@pytest.mark.timeout(300)
def test_wait_for_timeout_stops_the_call(big: bytes, simd_portable: Any,
                                         bound: float) -> None:
    async def main() -> float:
        t0 = time.perf_counter()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(aio.crc32(big, threads=2), 0.3)
        return time.perf_counter() - t0 - 0.3
    assert asyncio.run(main()) < bound
    after_checks()


@pytest.mark.timeout(300)
def test_gather_cancel_stops_every_call(big: bytes, gzip_input: bytes,
                                        simd_portable: Any,
                                        bound: float) -> None:
    async def main() -> float:
        g = asyncio.gather(aio.crc32(big, threads=1),
                           aio.adler32(big, threads=1),
                           aio.compress(gzip_input, "gzip", 9, threads=1))
        outer = asyncio.ensure_future(g)
        await asyncio.sleep(0.3)
        t0 = time.perf_counter()
        outer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await outer
        return time.perf_counter() - t0
    assert asyncio.run(main()) < bound
    after_checks()


@pytest.mark.timeout(300)
@pytest.mark.skipif(sys.version_info < (3, 11), reason="TaskGroup is 3.11+")
def test_taskgroup_failure_stops_siblings(big: bytes,
                                          simd_portable: Any) -> None:
    async def main() -> float:
        t0 = time.perf_counter()
        with pytest.raises(BaseException) as info:
            async with asyncio.TaskGroup() as tg:  # type: ignore[attr-defined]
                # (one pool worker left free: the failing call runs on
                # the pool too, and posted calls wait for a free worker)
                tg.create_task(aio.crc32(big, threads=1))
                await asyncio.sleep(0.3)
                tg.create_task(aio.decompress(b"garbage"))
        assert "DecompressionError" in repr(info.value)
        return time.perf_counter() - t0
    assert asyncio.run(main()) < 2.5
    after_checks()


@pytest.mark.timeout(300)
def test_cancel_many_running_and_queued(big: bytes, simd_portable: Any) -> None:
    # 1 to 3 GiB each: the portable kernel reads zero pages (one physical
    # page, always in cache) at several GB/s, so smaller calls could all
    # end before the cancels.  Views, not slices: a slice of bytes is a
    # copy (12 of them took 50 s and up to 24 GiB).
    view = memoryview(big)
    futs = [fastconc.submit(fastconc.crc32, view[: (i % 3 + 1) << 30],
                            threads=1 + i % 2) for i in range(12)]
    wait_running(0.2)
    for f in futs:
        f.cancel()
    assert all(f.done() for f in futs)
    assert any(f.cancelled() for f in futs)
    after_checks()
