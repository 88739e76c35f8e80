"""fastconc.submit and fastconc.aio give what the direct call gives: the
same result, or the same exception (type and message), for every function
they accept; the Future and the coroutine behave as their stdlib kinds do;
no Python thread is made."""
from __future__ import annotations

import asyncio
import concurrent.futures as cf
import ctypes
import hashlib
import inspect
import os
import sys
import threading
import zlib
from typing import Any, Callable

import pytest

import fastconc
import fastconc.aio as aio

DATA = os.urandom(300_001)
BIG = os.urandom(5 << 20)
BLOB = fastconc.compress(DATA, "zstd")


@pytest.fixture(scope="module")
def files(tmp_path_factory: Any) -> list[str]:
    d = tmp_path_factory.mktemp("files")
    out = []
    for i, size in enumerate((0, 1, 70_000, 1 << 20)):
        p = d / f"f{i}"
        p.write_bytes(os.urandom(size))
        out.append(str(p))
    return out


def _kernel_f64() -> Any:
    proto = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)
    return proto(lambda x: x * 2.0 + 1.0)


def _countdown() -> Any:
    addr = fastconc._core._countdown_kernel_address()
    return ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(addr)


# (label, function name, args maker, kwargs).  Args are made lazily so that
# the file paths of the fixture can be used.
def _cases(files: list[str]) -> list[tuple[str, str, tuple[Any, ...],
                                           dict[str, Any]]]:
    np = pytest.importorskip("numpy")
    ints = np.arange(1000, dtype=np.int64) % 50
    return [
        ("crc32", "crc32", (DATA,), {}),
        ("crc32 empty", "crc32", (b"",), {}),
        ("crc32 value", "crc32", (DATA, 12345), {}),
        ("crc32 big threads=2", "crc32", (BIG,), {"threads": 2}),
        ("crc32 big threads=1", "crc32", (BIG,), {"threads": 1}),
        ("crc32 memoryview", "crc32", (memoryview(DATA)[7:],), {}),
        ("crc32 str", "crc32", ("text",), {}),
        ("crc32 bad value", "crc32", (DATA, "x"), {}),
        ("crc32 threads=0", "crc32", (DATA,), {"threads": 0}),
        ("crc32 bad keyword", "crc32", (DATA,), {"bogus": 1}),
        ("crc32c", "crc32c", (DATA,), {}),
        ("crc32c big", "crc32c", (BIG, 7), {"threads": 3}),
        ("adler32", "adler32", (DATA,), {}),
        ("adler32 empty value", "adler32", (b"", 0xFFFFFFFF), {}),
        ("adler32 big", "adler32", (BIG,), {"threads": 2}),
        ("digest", "digest", ("sha256", DATA), {}),
        ("digest seed", "digest", ("xxh64", DATA), {"seed": 5}),
        ("digest blake3", "digest", ("blake3", BIG), {}),
        # from 1 MiB the form leaves blake3 to digest() on the pool
        # (subtree tasks on several threads); a buffer it had pinned
        ("digest blake3 big view", "digest",
         ("blake3", memoryview(bytearray(BIG))[1:]), {}),
        ("digest unknown", "digest", ("nope", DATA), {}),
        ("digest str", "digest", ("sha256", "text"), {}),
        # digest's job form (hash/job.c): every algorithm, every way in.
        *[(f"digest {n}", "digest", (n, DATA), {})
          for n in sorted(fastconc.algorithms_available)],
        *[(f"digest {n} empty", "digest", (n, b""), {})
          for n in sorted(fastconc.algorithms_available)],
        ("digest upper", "digest", ("SHA256", DATA), {}),
        ("digest xxh128 alias", "digest", ("xxh128", DATA), {}),
        ("digest xxh32 seed", "digest", ("xxh32", DATA), {"seed": 2**40 + 3}),
        ("digest xxh3_64 seed", "digest", ("xxh3_64", DATA), {"seed": -1}),
        ("digest xxh3_128 seed", "digest", ("xxh3_128", DATA), {"seed": 9}),
        ("digest seed None", "digest", ("xxh64", DATA), {"seed": None}),
        ("digest seed for sha", "digest", ("sha256", DATA), {"seed": 1}),
        ("digest bad seed", "digest", ("xxh64", DATA), {"seed": "x"}),
        ("digest release", "digest", ("md5", DATA), {"release_gil": True}),
        ("digest bad release", "digest", ("md5", DATA),
         {"release_gil": "x"}),
        ("digest bytearray", "digest", ("sha1", bytearray(DATA)), {}),
        ("digest memoryview", "digest", ("sha512", memoryview(DATA)[3:]),
         {}),
        ("digest keywords", "digest", (), {"name": "blake2b", "data": DATA}),
        ("digest big sha256", "digest", ("sha256", BIG * 4), {}),
        ("digest big sha3", "digest", ("sha3_256", BIG * 4), {}),
        ("digest big xxh3", "digest", ("xxh3_64", BIG), {}),
        ("digest name int", "digest", (3, DATA), {}),
        ("digest name nul", "digest", ("sha256\0", DATA), {}),
        ("digest int data", "digest", ("sha256", 5), {}),
        ("digest bad keyword", "digest", ("sha256", DATA), {"bogus": 1}),
        ("hash_many", "hash_many", ("sha1", [DATA, b"", b"x"]), {}),
        ("hash_many bad item", "hash_many", ("sha1", [DATA, 3]), {}),
        ("hash_file", "hash_file", ("sha256", files[2]), {}),
        ("hash_file missing", "hash_file", ("sha256", files[0] + ".no"), {}),
        ("hash_files", "hash_files", ("md5", files), {}),
        ("hash_files str", "hash_files", ("md5", files[0]), {}),
        ("compress", "compress", (DATA,), {}),
        ("compress gzip 6", "compress", (DATA, "gzip", 6), {}),
        ("compress lz4 threads", "compress", (BIG, "lz4"), {"threads": 2}),
        ("compress unknown codec", "compress", (DATA, "nope"), {}),
        ("compress bad level", "compress", (DATA, "zstd", 99), {}),
        ("decompress", "decompress", (BLOB,), {}),
        ("decompress garbage", "decompress", (b"garbage",), {}),
        ("decompress limit", "decompress", (BLOB,), {"max_output_size": 10}),
        ("compress_many", "compress_many", ([DATA, b"", b"abc"], "gzip"), {}),
        ("decompress_many", "decompress_many", ([BLOB, BLOB],), {}),
        ("decompress_many bad", "decompress_many", ([BLOB, b"x"], "zstd"),
         {}),
        ("blake3", "blake3", (BIG,), {"threads": 2}),
        ("blake3 keyed", "blake3", (DATA,), {"key": bytes(range(32))}),
        ("blake3 bad key", "blake3", (DATA,), {"key": b"short"}),
        ("map_array", "map_array", (_kernel_f64(), np.arange(5000.0)), {}),
        ("map_array native", "map_array", (_countdown(), ints),
         {"threads": 2}),
        ("map_array bad dtype", "map_array",
         (_kernel_f64(), np.arange(10, dtype=np.int8)), {}),
        ("map_array not array", "map_array", (_kernel_f64(), [1.0]), {}),
    ]


def _outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        r = fn()
    except Exception as exc:    # noqa: BLE001 - compared below
        return "raise", (type(exc), str(exc))
    if isinstance(r, fastconc.blake3):
        r = r.digest(64)
    if type(r).__name__ == "ndarray":
        r = r.tobytes()
    return "return", r


def _labels() -> list[str]:
    # The labels without building the cases (numpy may be missing).
    try:
        import numpy  # noqa: F401
    except ImportError:
        return []
    return [c[0] for c in _cases(["/nonexistent"] * 4)]


@pytest.mark.parametrize("label", _labels())
def test_submit_and_aio_match_direct_call(label: str, files: list[str]) -> None:
    case = {c[0]: c for c in _cases(files)}[label]
    _, name, args, kwargs = case
    direct = getattr(fastconc, name)
    coro = getattr(aio, name)
    want = _outcome(lambda: direct(*args, **kwargs))
    got_submit = _outcome(lambda: fastconc.submit(direct, *args,
                                                  **kwargs).result(30))
    got_aio = _outcome(lambda: asyncio.run(coro(*args, **kwargs)))
    assert got_submit == want
    assert got_aio == want


def test_known_answers() -> None:
    # Against independent references, not only the direct call.
    assert fastconc.submit(fastconc.crc32, BIG, threads=2).result() \
        == zlib.crc32(BIG)
    assert fastconc.submit(fastconc.adler32, BIG).result() == zlib.adler32(BIG)
    assert asyncio.run(aio.digest("sha256", DATA)) \
        == hashlib.sha256(DATA).digest()
    assert asyncio.run(aio.crc32(BIG, threads=4)) == zlib.crc32(BIG)


def test_submit_refuses_other_functions() -> None:
    for func in (len, zlib.crc32, fastconc.crc32_combine, lambda: None,
                 fastconc.new, [].append):
        with pytest.raises(TypeError, match="crc32.*map_array"):
            fastconc.submit(func, b"x")
    with pytest.raises(TypeError):
        fastconc.submit({}, b"x")     # unhashable: still a clear TypeError


def test_aio_signatures_match() -> None:
    for name in aio.__all__:
        direct = getattr(fastconc, name)
        if name == "hash_files":
            direct = fastconc._core.hash_files   # without executor/progress
        sd = inspect.signature(direct)
        sa = inspect.signature(getattr(aio, name))
        assert [(p.name, p.kind, p.default) for p in sd.parameters.values()] \
            == [(p.name, p.kind, p.default) for p in sa.parameters.values()], \
            name
        # Plain functions returning an awaitable call, marked: inspect
        # knows the mark from 3.12 on, asyncio's on every version.
        assert asyncio.iscoroutinefunction(getattr(aio, name))
        if sys.version_info >= (3, 12):
            assert inspect.iscoroutinefunction(getattr(aio, name))


def test_future_protocol() -> None:
    futs = [fastconc.submit(fastconc.crc32c, DATA[: i * 1000])
            for i in range(50)]
    futs.append(fastconc.submit(fastconc.compress, DATA, "nope"))
    done = list(cf.as_completed(futs, timeout=30))
    assert len(done) == len(futs)
    d, nd = cf.wait(futs, timeout=30)
    assert not nd
    assert all(f.done() and not f.cancelled() and not f.running()
               for f in futs)
    assert isinstance(futs[-1].exception(), ValueError)
    seen = []
    f = fastconc.submit(fastconc.crc32, DATA)
    f.result()
    f.add_done_callback(seen.append)      # on a done future: called now
    assert seen == [f]
    assert f.cancel() is False            # finished: cannot be cancelled


def test_done_callbacks_run() -> None:
    ev = threading.Event()
    got = []

    def cb(fut: cf.Future[int]) -> None:
        got.append(fut.result())
        ev.set()

    f = fastconc.submit(fastconc.crc32, BIG)
    f.add_done_callback(cb)
    assert ev.wait(30)
    assert got == [zlib.crc32(BIG)]


def test_no_python_thread_is_made() -> None:
    async def many() -> None:
        for _ in range(10):
            await asyncio.gather(*(aio.crc32c(DATA[:4096]) for _ in range(40)),
                                 *(aio.digest("sha256", DATA[:4096])
                                   for _ in range(10)))
    before = threading.active_count()
    names = sorted(t.name for t in threading.enumerate())
    futs = []
    for i in range(1000):
        fn = (fastconc.crc32, fastconc.compress)[i % 2]
        futs.append(fastconc.submit(fn, DATA[:4096]))
    for f in futs:
        f.result(30)
    asyncio.run(many())
    assert threading.active_count() == before
    assert sorted(t.name for t in threading.enumerate()) == names


def test_aio_gather_many_and_exceptions() -> None:
    items = [os.urandom(i * 37) for i in range(300)]

    async def main() -> list[Any]:
        return await asyncio.gather(*(aio.crc32(x) for x in items),
                                    aio.decompress(b"bad"),
                                    return_exceptions=True)
    out = asyncio.run(main())
    assert out[:-1] == [zlib.crc32(x) for x in items]
    assert isinstance(out[-1], fastconc.DecompressionError)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="TaskGroup is 3.11+")
def test_aio_taskgroup() -> None:
    async def main() -> list[int]:
        async with asyncio.TaskGroup() as tg:    # type: ignore[attr-defined]
            ts = [tg.create_task(aio.adler32(DATA[:i])) for i in range(100)]
        return [t.result() for t in ts]
    assert asyncio.run(main()) == [zlib.adler32(DATA[:i]) for i in range(100)]


def test_aio_under_uvloop() -> None:
    uvloop = pytest.importorskip("uvloop")

    async def main() -> tuple[Any, ...]:
        return tuple(await asyncio.gather(
            aio.crc32(BIG, threads=2), aio.compress(DATA),
            aio.digest("sha256", DATA)))
    r = uvloop.run(main()) if hasattr(uvloop, "run") else \
        uvloop.new_event_loop().run_until_complete(main())
    assert r[0] == zlib.crc32(BIG)
    assert fastconc.decompress(r[1]) == DATA
    assert r[2] == hashlib.sha256(DATA).digest()


def test_aio_call_soon_wakeup() -> None:
    # The wake-up a loop without add_reader gets.
    old = aio._USE_FD
    aio._USE_FD = False
    try:
        async def main() -> list[int]:
            return await asyncio.gather(*(aio.crc32(DATA[:i])
                                          for i in range(200)))
        assert asyncio.run(main()) == [zlib.crc32(DATA[:i])
                                       for i in range(200)]
    finally:
        aio._USE_FD = old


def test_aio_needs_a_running_loop() -> None:
    coro = aio.crc32(b"abc")
    with pytest.raises(RuntimeError, match="no running event loop"):
        coro.send(None)
    coro.close()


def test_aio_many_loops_one_after_another() -> None:
    # Each asyncio.run has its own loop (and waker); old ones go away.
    for i in range(30):
        assert asyncio.run(aio.crc32(DATA[:i])) == zlib.crc32(DATA[:i])
    import gc
    gc.collect()
    assert len(aio._wakers) <= 2


def test_aio_from_threads() -> None:
    # Loops in several threads at once, each with its own waker.
    def run(k: int) -> bool:
        async def main() -> list[int]:
            return await asyncio.gather(*(aio.crc32c(DATA[:i + k])
                                          for i in range(100)))
        return asyncio.run(main()) == [fastconc.crc32c(DATA[:i + k])
                                       for i in range(100)]
    with cf.ThreadPoolExecutor(4) as ex:
        assert all(ex.map(run, range(8)))


def test_buffers_are_released_when_done() -> None:
    buf = bytearray(DATA)
    f = fastconc.submit(fastconc.crc32, buf, threads=2)
    f.result()
    buf.extend(b"x")        # BufferError if the job still held a view
    asyncio.run(aio.crc32(buf))
    buf.extend(b"y")
