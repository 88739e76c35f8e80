"""crc32 / crc32c / adler32: known values, equality with zlib and the crc32c
package, chaining, threads, combine, concurrency, fork, Ctrl-C, bad input."""
import array
import mmap
import multiprocessing
import os
import subprocess
import sys
import threading
import time
import zlib

import pytest

import fastconc

crc32c_pkg = pytest.importorskip("crc32c")
# False on a free-threaded build running without the GIL (PYTHON_GIL=0)
GIL_ENABLED = getattr(sys, "_is_gil_enabled", lambda: True)()

FUNCS = {
    "crc32": (fastconc.crc32, zlib.crc32, 0),
    "adler32": (fastconc.adler32, zlib.adler32, 1),
    "crc32c": (fastconc.crc32c, lambda d, v=0: crc32c_pkg.crc32c(d, v), 0),
}
COMBINE = {
    "crc32": fastconc.crc32_combine,
    "adler32": fastconc.adler32_combine,
    "crc32c": fastconc.crc32c_combine,
}


# Check values from the CRC catalogue (reveng) and the Adler-32 definition
# (RFC 1950) for the ASCII string "123456789".
@pytest.mark.parametrize("name, expected", [
    ("crc32", 0xCBF43926),
    ("crc32c", 0xE3069283),
    ("adler32", 0x091E01DE),
])
def test_check_values(name, expected):
    fn = FUNCS[name][0]
    assert fn(b"123456789") == expected
    assert fn(bytearray(b"123456789")) == expected
    assert fn(memoryview(b"x123456789")[1:]) == expected


@pytest.mark.parametrize("name", FUNCS)
def test_empty(name):
    fn, ref, init = FUNCS[name]
    assert fn(b"") == init
    assert fn(b"", 12345) == 12345
    assert fn(b"") == ref(b"")


@pytest.mark.parametrize("name", FUNCS)
def test_against_reference_random_lengths(name, rng):
    fn, ref, _ = FUNCS[name]
    blob = os.urandom(3 << 20)
    lengths = list(range(0, 300)) + [rng.randrange(0, len(blob))
                                     for _ in range(60)]
    for n in lengths:
        start = rng.randrange(0, 64)
        view = memoryview(blob)[start:start + n]
        assert fn(view) == ref(view), (n, start)


@pytest.mark.parametrize("name", FUNCS)
def test_chaining_value(name, rng):
    fn, ref, _ = FUNCS[name]
    data = os.urandom(200_000)
    value = fn(b"")
    pos = 0
    while pos < len(data):
        step = rng.randrange(1, 20_000)
        value = fn(data[pos:pos + step], value)
        pos += step
    assert value == ref(data)
    # An arbitrary starting value continues exactly like zlib's.
    for start in (0, 1, 0xFFFFFFFF, 0xDEADBEEF):
        assert fn(data, start) == ref(data, start)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("threads", range(1, 9))
def test_threads_give_same_value(name, threads):
    fn, ref, _ = FUNCS[name]
    for n in (0, 1, 4095, 65537, 1 << 20, (5 << 20) + 3, 33 << 20):
        data = os.urandom(n) if n < (1 << 21) else bytes(range(256)) * (n // 256) + b"x" * (n % 256)
        assert fn(data, threads=threads) == ref(data), (n, threads)
        assert fn(data, 7, threads=threads) == ref(data, 7)


@pytest.mark.parametrize("name", FUNCS)
def test_release_gil_modes_agree(name):
    fn, ref, _ = FUNCS[name]
    for n in (0, 10, 2047, 2048, 2049, 1 << 16):
        data = os.urandom(n)
        expected = ref(data)
        for rel in (None, True, False):
            assert fn(data, release_gil=rel) == expected


@pytest.mark.parametrize("name", FUNCS)
def test_buffer_types(name):
    fn, ref, _ = FUNCS[name]
    raw = os.urandom(10_001)
    expected = ref(raw)
    assert fn(bytearray(raw)) == expected
    assert fn(memoryview(raw)) == expected
    assert fn(array.array("B", raw)) == expected
    with mmap.mmap(-1, len(raw)) as m:
        m.write(raw)
        assert fn(m) == expected
    np = pytest.importorskip("numpy")
    assert fn(np.frombuffer(raw, dtype=np.uint8)) == expected


@pytest.mark.parametrize("name", FUNCS)
def test_combine(name, rng):
    fn, ref, init = FUNCS[name]
    combine = COMBINE[name]
    for _ in range(50):
        a = os.urandom(rng.randrange(0, 5000))
        b = os.urandom(rng.randrange(0, 5000))
        assert combine(fn(a), fn(b), len(b)) == ref(a + b)
    assert combine(fn(b"abc"), init, 0) == fn(b"abc")
    # Lengths past 4 GiB use the same algebra: zeros extend a CRC.
    zeros = bytes(1 << 20)
    z = fn(zeros)
    assert combine(z, z, len(zeros)) == fn(zeros + zeros)


def test_combine_bad_input():
    with pytest.raises(ValueError):
        fastconc.crc32_combine(1, 2, -1)
    with pytest.raises(TypeError):
        fastconc.crc32_combine(1, 2)
    with pytest.raises(TypeError):
        fastconc.adler32_combine("1", 2, 3)


@pytest.mark.parametrize("name", FUNCS)
def test_bad_input(name):
    fn = FUNCS[name][0]
    with pytest.raises(TypeError):
        fn("text")
    with pytest.raises(TypeError):
        fn(None)
    with pytest.raises(TypeError):
        fn(12)
    with pytest.raises(TypeError):
        fn(b"x", "1")
    with pytest.raises(ValueError):
        fn(memoryview(b"abcdef")[::2])   # not contiguous
    with pytest.raises(ValueError):
        fn(b"x", threads=0)
    with pytest.raises(ValueError):
        fn(b"x", threads=-3)
    with pytest.raises(TypeError):
        fn(b"x", threads=1.5)
    with pytest.raises(TypeError):
        fn(b"x", release_gil="yes")
    with pytest.raises(TypeError):
        fn(b"x", bogus=1)
    with pytest.raises(TypeError):
        fn()


def test_many_python_threads():
    data = [os.urandom(300_000 + i) for i in range(8)]
    expected = [(zlib.crc32(d), crc32c_pkg.crc32c(d), zlib.adler32(d))
                for d in data]
    errors = []
    barrier = threading.Barrier(8)

    def work(i):
        barrier.wait()
        for _ in range(20):
            for threads in (1, 2, 3):
                got = (fastconc.crc32(data[i], threads=threads),
                       fastconc.crc32c(data[i], threads=threads),
                       fastconc.adler32(data[i], threads=threads))
                if got != expected[i]:
                    errors.append((i, threads, got))

    ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not any(t.is_alive() for t in ts)
    assert errors == []


@pytest.mark.skipif(not GIL_ENABLED, reason="no GIL to hold or release: "
                    "see test_no_gil_held_call_lets_others_run")
def test_release_gil_lets_other_threads_run(simd_portable):
    """With the GIL released another Python thread runs during the call;
    with it held, that thread is stopped for the whole call.  The portable
    kernel keeps the call well past the 5 ms switch interval."""
    data = bytes(384 << 20)     # calloc'd zero pages: no RSS cost
    counter = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        # Switching around the call may let the spinner count for one
        # switch interval either way: take the least of the held runs.
        def progress(release):
            counts = []
            for _ in range(3):
                before = counter[0]
                fastconc.crc32(data, threads=1, release_gil=release)
                counts.append(counter[0] - before)
            return counts
        held = min(progress(False))
        released = max(progress(True))
    finally:
        stop.set()
        t.join()
    assert released > 100
    assert held * 10 < released


@pytest.mark.skipif(GIL_ENABLED, reason="needs the GIL disabled "
                    "(free-threaded build)")
def test_no_gil_held_call_lets_others_run(simd_portable):
    """Without a GIL, release_gil=False holds nothing: another Python
    thread runs during the call, and the same call made by two threads at
    once runs in both at the same time (their spans overlap) with the
    right results."""
    data = bytes(384 << 20)     # calloc'd zero pages: no RSS cost
    counter = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        before = counter[0]
        fastconc.crc32(data, threads=1, release_gil=False)
        held = counter[0] - before
    finally:
        stop.set()
        t.join()
    assert held > 100

    want = zlib.crc32(data)
    barrier = threading.Barrier(2)
    spans = {}

    def call(i):
        barrier.wait()
        t0 = time.monotonic()
        got = fastconc.crc32(data, threads=1, release_gil=False)
        spans[i] = (t0, time.monotonic(), got)

    ts = [threading.Thread(target=call, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    (a0, a1, ga), (b0, b1, gb) = spans[0], spans[1]
    assert ga == gb == want
    assert a0 < b1 and b0 < a1      # the two calls overlapped


def test_threads_knobs():
    old = fastconc.get_threads()
    try:
        fastconc.set_threads(3)
        assert fastconc.get_threads() == 3
        assert fastconc.info()["threads"] == 3
        with pytest.raises(ValueError):
            fastconc.set_threads(0)
        with pytest.raises(TypeError):
            fastconc.set_threads(None)
    finally:
        fastconc.set_threads(old)
    assert old == os.cpu_count()


def test_gil_threshold_property():
    old = fastconc.GIL_THRESHOLD
    assert old == 2048
    try:
        fastconc.GIL_THRESHOLD = 10
        assert fastconc.GIL_THRESHOLD == 10
        assert fastconc.info()["gil_threshold"] == 10
        with pytest.raises(ValueError):
            fastconc.GIL_THRESHOLD = -1
        with pytest.raises(TypeError):
            fastconc.GIL_THRESHOLD = "big"
    finally:
        fastconc.GIL_THRESHOLD = old


def test_info_reports_build():
    info = fastconc.info()
    assert info["version"] == fastconc.__version__
    for name in ("crc32", "crc32c", "adler32"):
        assert name in info["backends"]
        assert info["parallel"][name] is True
    assert info["simd_level"] in fastconc._core._simd_levels()


def test_cli_info():
    out = subprocess.run([sys.executable, "-m", "fastconc", "info"],
                         capture_output=True, text=True, check=True).stdout
    assert fastconc.__version__ in out
    assert "crc32c" in out


@pytest.mark.timeout(120)
def test_fork_child_gets_fresh_pool():
    data = os.urandom(8 << 20)
    expected = zlib.crc32(data)
    assert fastconc.crc32(data, threads=2) == expected   # pool started
    pid = os.fork()
    if pid == 0:   # child
        ok = fastconc.crc32(data, threads=2) == expected
        ok = ok and fastconc.adler32(data, threads=4) == zlib.adler32(data)
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert fastconc.crc32(data, threads=2) == expected


def _crc_in_worker(data):
    return fastconc.crc32(data, threads=2)


@pytest.mark.timeout(120)
def test_multiprocessing_fork():
    fastconc.crc32(bytes(8 << 20), threads=2)   # parent pool running
    chunks = [os.urandom(5 << 20) for _ in range(4)]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        got = pool.map(_crc_in_worker, chunks)
    assert got == [zlib.crc32(c) for c in chunks]


@pytest.mark.bigmem(gib=16)
@pytest.mark.timeout(120)
@pytest.mark.parametrize("threads", [1, 2])
def test_ctrl_c_interrupts_long_call(threads, ctrl_c):
    # Portable kernels over 16 GiB of untouched (zero-page) memory take
    # many seconds; SIGINT after 0.3 s must end the call within a second.
    ctrl_c(f"fastconc.crc32(data, threads={threads}, release_gil=True)",
           setup="data = bytes(16 << 30)   # calloc: untouched zero pages",
           portable=True, delay=0.3, max_latency=1.0, after="""
               import zlib
               # the pool still works
               small = os.urandom(9 << 20)
               assert fastconc.crc32(small, threads=2) == zlib.crc32(small)
           """)


@pytest.mark.bigmem
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_input_over_4_gib():
    n = (4 << 30) + 12345
    data = mmap.mmap(-1, n)         # zero pages: cheap until written
    data[n - 100:] = os.urandom(100)
    data[1 << 31] = 7
    for name, (fn, ref, _) in FUNCS.items():
        if name == "crc32c":
            continue    # the crc32c package is checked on smaller inputs
        expected = ref(data)
        assert fn(data, threads=1) == expected, name
        assert fn(data, threads=2) == expected, name
    # crc32c: the same algebra through combine.
    head = memoryview(data)[: 1 << 31]
    tail = memoryview(data)[1 << 31:]
    assert fastconc.crc32c(data, threads=2) == fastconc.crc32c_combine(
        crc32c_pkg.crc32c(head), crc32c_pkg.crc32c(tail), len(tail))


@pytest.mark.parametrize("us", [0, 10, 1 << 30])
def test_bytes_only_call_matches_the_references(us):
    """f(some_bytes) takes a path of its own below 4 MiB (no argument
    parser, no Py_buffer): the same values as zlib and the crc32c package
    on both sides of that size and of the release decision, held or
    released, and the same as the general path (bytearray, keywords)."""
    old = fastconc._core._get_gil_release_us()
    fastconc._core._set_gil_release_us(us)
    try:
        rnd = os.urandom((4 << 20) + 1)
        for n in (0, 1, 15, 2047, 2048, 65536, 400_001, (4 << 20) - 1,
                  4 << 20, (4 << 20) + 1):
            d = rnd[:n]
            want = (zlib.crc32(d), crc32c_pkg.crc32c(d), zlib.adler32(d))
            assert (fastconc.crc32(d), fastconc.crc32c(d),
                    fastconc.adler32(d)) == want, n
            b = bytearray(d)
            assert (fastconc.crc32(b), fastconc.crc32c(data=d),
                    fastconc.adler32(d, 1)) == want, n
    finally:
        fastconc._core._set_gil_release_us(old)
    # a bytes subclass is not "exact": the general path, same value
    class B(bytes):
        pass
    assert fastconc.crc32(B(b"abc")) == zlib.crc32(b"abc")
