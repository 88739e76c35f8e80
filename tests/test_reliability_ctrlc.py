"""Ctrl-C: SIGINT during each long call raises KeyboardInterrupt (within
1 s: checked by the harness's timing variant, ``make timing``), leaves no
thread running our code (the process stops using CPU), and the pool still
works.  Each case runs in its own interpreter (the ``ctrl_c`` fixture of
conftest.py)."""
import pytest

import fastconc

# Inputs are untouched zero pages (bytes(n) is calloc), so 16 GiB costs
# no memory; the portable kernels keep even checksums seconds long.
ZEROS = "data = bytes(16 << 30)"

# label -> (names needed, set-up code, the long call)
CASES = {
    "crc32 threads=1": (("crc32",), ZEROS, "fastconc.crc32(data, threads=1)"),
    "crc32 threads=2": (("crc32",), ZEROS, "fastconc.crc32(data, threads=2)"),
    "crc32c": (("crc32c",), ZEROS, "fastconc.crc32c(data, threads=2)"),
    "adler32": (("adler32",), ZEROS, "fastconc.adler32(data, threads=2)"),
    "digest sha256": (("digest",), ZEROS, "fastconc.digest('sha256', data)"),
    "hash object": (("sha512",), ZEROS, "fastconc.sha512().update(data)"),
    "hash_many": (("hash_many",), "data = [bytes(1 << 30)] * 16",
                  "fastconc.hash_many('sha256', data, threads=2)"),
    "compress gzip": (("compress",), "data = bytes(4 << 30)",
                      "fastconc.compress(data, 'gzip', threads=2)"),
    # Under ASan, freeing the output buffer (as large as the input) poisons
    # its shadow: ~0.13 s per GiB after the interrupt, so a smaller input
    # (still seconds of level-19 work there).
    "compress zstd": (("compress",),
                      "data = bytes((2 if os.environ.get('FASTCONC_ASAN') "
                      "else 4) << 30)",
                      "fastconc.compress(data, 'zstd', 19, threads=2)"),
    "decompress gzip": (("decompress",), """
        import zlib
        # 4 GiB of zeros as one gzip member, made in a second: a raw deflate
        # part ending in a full flush is self-contained, so it can repeat.
        part = zlib.compressobj(1, zlib.DEFLATED, -15)
        part = part.compress(bytes(64 << 20)) + part.flush(zlib.Z_FULL_FLUSH)
        end = zlib.compressobj(1, zlib.DEFLATED, -15).flush()
        crc, c64 = 0, zlib.crc32(bytes(64 << 20))
        for _ in range(64):
            crc = fastconc.crc32_combine(crc, c64, 64 << 20)
        data = (b"\\x1f\\x8b\\x08\\x00\\x00\\x00\\x00\\x00\\x00\\x03" + part * 64 + end
                + crc.to_bytes(4, "little") + (0).to_bytes(4, "little"))
        """, "fastconc.decompress(data, 'gzip', threads=1)"),
    "map_array": (("map_array",), """
        import ctypes
        import numpy as np
        data = np.zeros(1 << 28)
        sin = ctypes.CDLL("libm.so.6").sin
        sin.restype, sin.argtypes = ctypes.c_double, [ctypes.c_double]
        kernel = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)(
            ctypes.cast(sin, ctypes.c_void_p).value)
        """, "fastconc.map_array(kernel, data, threads=2)"),
    # Seconds of Python work over 100,000 items, whose input list and
    # chunks are made in milliseconds, so that SIGINT lands while the items
    # run.  (With 10 ** 8 items, list() of the input held the GIL for
    # 40 s, and the timer thread needs the GIL to send SIGINT.)
    "parallel_map": (("parallel_map",), "data = range(10 ** 5)",
                     "list(fastconc.parallel_map(lambda x: sum(range(5000)), data))"),
    "executor map": (("ThreadPoolExecutor",), """
        ex = fastconc.ThreadPoolExecutor(max_workers=2)
        """, "list(ex.map(lambda x: sum(range(5000)), range(10 ** 5)))"),
}

AFTER = """
import zlib
small = os.urandom(9 << 20)
assert fastconc.crc32(small, threads=2) == zlib.crc32(small), "pool broken"
"""


@pytest.mark.timeout(200)
@pytest.mark.parametrize("label", list(CASES))
def test_ctrl_c(label, ctrl_c):
    names, setup, call = CASES[label]
    missing = [n for n in names if not hasattr(fastconc, n)]
    if missing:
        pytest.skip(f"not in this build: {', '.join(missing)}")
    # SIGINT after 0.5 s; then the process must go quiet (no thread still
    # runs our code) and the pool must work.
    ctrl_c(call, setup=setup, after=AFTER, portable=True, check_idle=True,
           max_latency=1.0, timeout=180)
