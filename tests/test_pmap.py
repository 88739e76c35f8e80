"""fastconc.parallel_map and fastconc.map_array."""
import ctypes
import ctypes.util
import itertools
import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import fastconc

np = pytest.importorskip("numpy")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- parallel_map ------------------------------------------------------------

@pytest.mark.parametrize("threads", [None, 1, 2, 4])
@pytest.mark.parametrize("chunksize", [None, 1, 7, 1000])
def test_parallel_map_matches_map(threads, chunksize):
    data = list(range(-500, 500))
    got = list(fastconc.parallel_map(lambda x: x * x - 3, data,
                                     threads=threads, chunksize=chunksize))
    assert got == [x * x - 3 for x in data]


def test_parallel_map_unordered_and_generators():
    got = list(fastconc.parallel_map(str, (i for i in range(300)),
                                     ordered=False, threads=2, chunksize=5))
    assert sorted(got, key=int) == [str(i) for i in range(300)]
    assert list(fastconc.parallel_map(abs, [])) == []
    assert list(fastconc.parallel_map(abs, iter([]), buffersize=3)) == []


@pytest.mark.parametrize("buffersize", [1, 3, 64, 1000])
def test_parallel_map_buffersize(buffersize):
    got = list(fastconc.parallel_map(hex, range(777), buffersize=buffersize,
                                     threads=2))
    assert got == [hex(i) for i in range(777)]


@pytest.mark.timeout(60)
def test_parallel_map_infinite_input_bounded():
    taken = []

    def source():
        for i in itertools.count():
            taken.append(i)
            yield i

    it = fastconc.parallel_map(lambda x: -x, source(), buffersize=50)
    assert [next(it) for _ in range(120)] == [-i for i in range(120)]
    assert len(taken) <= 150
    it.close()


@pytest.mark.parametrize("k", [0, 1, 63, 64, 999])
@pytest.mark.parametrize("threads", [1, 2])
def test_parallel_map_exception_at_position(k, threads):
    calls = []

    def f(x):
        calls.append(x)
        if x == k:
            raise ZeroDivisionError(f"item {x}")
        if x > k:
            # Items past the failure release the GIL for a moment, so the
            # thread that holds item k gets to run it: otherwise the other
            # thread may keep the GIL and finish every item first, which
            # is legal and would make the check below a race.
            time.sleep(0.0005)
        return x

    got = []
    with pytest.raises(ZeroDivisionError) as ei:
        for r in fastconc.parallel_map(f, range(1000), threads=threads,
                                       chunksize=16):
            got.append(r)
    assert got == list(range(k))
    assert str(ei.value) == f"item {k}"
    assert any(tb.name == "f" for tb in ei.traceback)
    # The rest was stopped: far fewer than all items ran.
    if k < 500:
        assert len(calls) < 1000


def test_parallel_map_runs_in_parallel():
    # Two items that each wait for the other: only possible on 2 threads.
    barrier = threading.Barrier(2, timeout=20)
    got = list(fastconc.parallel_map(lambda x: (barrier.wait(), x)[1],
                                     [1, 2], threads=2, chunksize=1))
    assert got == [1, 2]


def test_parallel_map_argument_errors():
    with pytest.raises(TypeError):
        fastconc.parallel_map(42, [1])
    for kw in ({"threads": 0}, {"chunksize": 0}, {"buffersize": 0}):
        with pytest.raises(ValueError):
            fastconc.parallel_map(abs, [1], **kw)
    with pytest.raises(TypeError):
        fastconc.parallel_map(abs, [1], chunksize=1.5)


@pytest.mark.parametrize("threads", [1, 2])
def test_parallel_map_reads_a_list_as_it_runs(threads):
    # A list is not copied: like a for loop over it, the map sees items
    # replaced before it reaches them, and fails cleanly at the first item
    # that a shrinking list no longer has; a tuple or an iterator is taken
    # as it is at the first next().
    data = list(range(100))

    def swap(x):
        if x == 0:
            data[99] = -1
        return x

    got = list(fastconc.parallel_map(swap, data, threads=threads,
                                     chunksize=100))
    assert got == list(range(99)) + [-1]

    data = list(range(1000))
    shrunk = threading.Event()

    def shrink(x):
        if x == 10:
            del data[500:]
            shrunk.set()
        elif x >= 500:
            shrunk.wait(30)     # (a thread ahead reads one item, no more)
        return x

    out = []
    with pytest.raises(RuntimeError, match="shrank"):
        for r in fastconc.parallel_map(shrink, data, threads=threads,
                                       chunksize=50):
            out.append(r)
    assert out == list(range(len(out)))
    assert 500 <= len(out) <= 500 + threads

    tup = tuple(range(50))
    assert list(fastconc.parallel_map(abs, tup, threads=threads)) == list(tup)
    assert list(fastconc.parallel_map(abs, iter(range(-5, 0)),
                                      threads=threads)) == [5, 4, 3, 2, 1]


def test_parallel_map_list_mutated_by_other_threads():
    # Another thread replacing and removing items of the input list while
    # the map runs: every result is an item the list held, or the map
    # stops with RuntimeError (on a free-threaded build, no crash).
    for _ in range(20):
        data = [1] * 20_000
        stop = threading.Event()

        def mutate(data, stop):
            while not stop.is_set() and data:
                data[len(data) // 2:len(data) // 2 + 1] = [2]
                if len(data) > 10_000:
                    data.pop()

        t = threading.Thread(target=mutate, args=(data, stop))
        t.start()
        try:
            got = list(fastconc.parallel_map(abs, data, threads=2))
            assert set(got) <= {1, 2}
        except RuntimeError as e:
            assert "shrank" in str(e)
        finally:
            stop.set()
            t.join()


@pytest.mark.timeout(120)
def test_parallel_map_nested_calls_do_not_deadlock():
    code = textwrap.dedent("""
        import fastconc, zlib
        data = bytes(range(256)) * 40000
        def inner(x):
            return sum(fastconc.parallel_map(abs, range(x, x + 50),
                                             threads=2, chunksize=5))
        def outer(x):
            # a threaded C call and a nested parallel_map from a pool task
            assert fastconc.crc32(data, threads=2) == zlib.crc32(data)
            return inner(x)
        got = list(fastconc.parallel_map(outer, range(40), threads=2,
                                         chunksize=1))
        assert got == [sum(range(x, x + 50)) for x in range(40)], got
        with fastconc.ThreadPoolExecutor(2) as ex:
            r = list(ex.map(outer, range(10)))
            assert r == got[:10]
        print("ok")
        """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, timeout=100,
                       env=dict(os.environ, PYTHONPATH=ROOT))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


# --- map_array -----------------------------------------------------------------

libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def cfn(lib, name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


@pytest.mark.parametrize("threads", [None, 1, 2, 3])
def test_map_array_ctypes_elementwise(threads):
    x = np.linspace(0, 100, 100_003)
    sqrt = cfn(libm, "sqrt", ctypes.c_double, ctypes.c_double)
    np.testing.assert_array_equal(fastconc.map_array(sqrt, x,
                                                     threads=threads),
                                  np.sqrt(x))
    xf = x.astype(np.float32)
    sqrtf = cfn(libm, "sqrtf", ctypes.c_float, ctypes.c_float)
    np.testing.assert_array_equal(fastconc.map_array(sqrtf, xf), np.sqrt(xf))
    xi = np.arange(-50_000, 50_000, dtype=np.int64)
    labs = cfn(libc, "labs", ctypes.c_int64, ctypes.c_int64)
    np.testing.assert_array_equal(fastconc.map_array(labs, xi), np.abs(xi))
    x32 = xi.astype(np.int32)
    cabs = cfn(libc, "abs", ctypes.c_int32, ctypes.c_int32)
    np.testing.assert_array_equal(fastconc.map_array(cabs, x32),
                                  np.abs(x32))


def test_map_array_cfunctype_block_form_and_out():
    proto = ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_double),
                             ctypes.POINTER(ctypes.c_double), ctypes.c_int64)
    sizes = []

    def block(src, dst, n):
        sizes.append(n)
        for i in range(n):
            dst[i] = src[i] * 3.0 + 1.0

    k = proto(block)
    x = np.arange(20_000, dtype=np.float64)
    out = np.zeros_like(x)
    r = fastconc.map_array(k, x, out=out, threads=2)
    assert r is out
    np.testing.assert_array_equal(out, x * 3.0 + 1.0)
    assert sum(sizes) == x.size


def test_map_array_countdown_kernel():
    addr = fastconc._core._countdown_kernel_address()
    k = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(addr)
    a = np.array([0, 1, 10, 100_000, -5, 7], dtype=np.int64)
    np.testing.assert_array_equal(fastconc.map_array(k, a, threads=2),
                                  np.minimum(a, 0))


def _vector_reference(n):
    """The benchmark's vector control kernel in Python (src/exec/pmap.c)."""
    m = 0xFFFFFFFF
    k = (0x9E3779B9, 0x85EBCA6B, 0xC2B2AE35, 0x27D4EB2F)
    a = [[(n + j) & m, 1 + j, 7, 9] for j in range(8)]
    for _ in range(max(n, 0)):
        a = [[((v ^ (v << 1)) + k[i]) & m for i, v in enumerate(row)]
             for row in a]
    x = [0, 0, 0, 0]
    for row in a:
        x = [p ^ q for p, q in zip(x, row)]
    return x[0] ^ x[1] ^ x[2] ^ x[3]


def test_map_array_vector_control_kernel():
    from fastconc.bench import timing
    k = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(
        fastconc._core._vector_kernel_address())
    a = np.array([0, 1, 2, 5, 64, 1000, -3], dtype=np.int64)
    want = [_vector_reference(int(n)) for n in a]
    assert len(set(want)) == len(want)        # the rounds really ran
    np.testing.assert_array_equal(fastconc.map_array(k, a, threads=2), want)
    # the bench's contenders built on it and on the countdown
    controls = timing.native_controls(seconds=0.002)
    assert sorted(controls) == ["scalar/1", "scalar/2", "vector/1",
                                "vector/2"]
    res = timing.interleaved(controls, 2)
    line = timing.control_line(res)
    assert line.startswith("vector loop ") and ", add chain " in line


def test_map_array_non_contiguous_and_shapes():
    sqrt = cfn(libm, "sqrt", ctypes.c_double, ctypes.c_double)
    x = np.arange(400, dtype=np.float64).reshape(20, 20)
    np.testing.assert_array_equal(fastconc.map_array(sqrt, x[:, ::3]),
                                  np.sqrt(x[:, ::3]))
    np.testing.assert_array_equal(fastconc.map_array(sqrt, x), np.sqrt(x))
    with pytest.raises(ValueError, match="C-contiguous"):
        fastconc.map_array(sqrt, x, out=np.empty((20, 20)).T)
    with pytest.raises(ValueError):
        fastconc.map_array(sqrt, x, out=np.empty(400))
    assert fastconc.map_array(sqrt, np.empty(0)).size == 0


def test_map_array_keeps_zero_d_shape():
    """A 0-d array maps to a 0-d array, as numpy's ufuncs do."""
    sqrt = cfn(libm, "sqrt", ctypes.c_double, ctypes.c_double)
    x = np.array(16.0)
    got = fastconc.map_array(sqrt, x)
    assert got.shape == np.sqrt(x).shape == ()
    assert got[()] == 4.0
    out = np.empty(())
    assert fastconc.map_array(sqrt, x, out=out) is out and out[()] == 4.0


def test_map_array_refuses_mismatches():
    sqrt = cfn(libm, "sqrt", ctypes.c_double, ctypes.c_double)
    with pytest.raises(TypeError, match="does not match"):
        fastconc.map_array(sqrt, np.arange(10, dtype=np.int64))
    with pytest.raises(TypeError, match="does not match"):
        fastconc.map_array(sqrt, np.arange(10, dtype=np.float32))
    with pytest.raises(TypeError):
        fastconc.map_array(sqrt, np.arange(10, dtype=np.int16))
    with pytest.raises(TypeError):
        fastconc.map_array(sqrt, [1.0, 2.0])
    with pytest.raises(TypeError, match="signature"):
        fastconc.map_array(libm.cos, np.ones(3))    # no argtypes set
    with pytest.raises(TypeError):
        fastconc.map_array(abs, np.ones(3))
    with pytest.raises(ValueError):
        fastconc.map_array(sqrt, np.ones(3), threads=0)


def test_map_array_with_numba_cfunc():
    numba = pytest.importorskip("numba")

    @numba.cfunc("float64(float64)")
    def poly(x):
        return x * x - 2.0 * x + 0.5

    x = np.linspace(-10, 10, 50_001)
    np.testing.assert_allclose(fastconc.map_array(poly, x, threads=2),
                               x * x - 2.0 * x + 0.5, rtol=0, atol=1e-12)
    with pytest.raises(TypeError):
        fastconc.map_array(poly, np.arange(10, dtype=np.int64))

    sig = numba.types.void(numba.types.CPointer(numba.types.int32),
                           numba.types.CPointer(numba.types.int32),
                           numba.types.int64)

    @numba.cfunc(sig)
    def twice(src, dst, n):
        for i in range(n):
            dst[i] = src[i] * 2

    a = np.arange(-1000, 1000, dtype=np.int32)
    np.testing.assert_array_equal(fastconc.map_array(twice, a), a * 2)
    with pytest.raises(TypeError):
        fastconc.map_array(twice, a.astype(np.int64))


# Each call must outlast the SIGINT (sent 0.5 s in) on any machine,
# however fast or loaded: both are sized to run about a minute on 2
# threads (the script's timeout is 100 s), so that "the call ended before
# SIGINT" can only mean the interrupt was lost.  parallel_map sleeps (its
# length does not depend on the CPU); map_array's 128 elements (one per
# chunk) are sized from the countdown kernel's rate measured first, about
# 0.3 s each at that rate, so that the pool still sees the interrupt
# between elements soon after it comes.
CTRL_C_SETUP = {
    "parallel_map": "",
    "map_array": """
        import ctypes
        import numpy as np
        k = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(
            fastconc._core._countdown_kernel_address())
        took = []
        for _ in range(3):
            t0 = time.perf_counter()
            k(20_000_000)
            took.append(time.perf_counter() - t0)
        rate = 20_000_000 / max(min(took), 1e-6)
        steps = np.full(128, int(rate * 0.3) + 1, np.int64)
    """,
}

CTRL_C_CALLS = {
    "parallel_map": """
        list(fastconc.parallel_map(time.sleep, [0.01] * 12_000, threads=2,
                                   chunksize=2))
    """,
    "map_array": """
        fastconc.map_array(k, steps, threads=2)
    """,
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("what", ["parallel_map", "map_array"])
def test_ctrl_c_interrupts(what, ctrl_c):
    ctrl_c(CTRL_C_CALLS[what], setup=CTRL_C_SETUP[what],
           after="""
               # the pool still works afterwards
               assert list(fastconc.parallel_map(abs, [-1, -2])) == [1, 2]
           """)
