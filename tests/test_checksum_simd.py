"""The SIMD checksum kernels against zlib and the crc32c package, at every
SIMD level this CPU runs (the simd_level fixture forces each in turn).

Lengths 0..600 and around 4 KiB cover every head/tail path of the folding,
crc32-stream and Adler-32 loops (the vector kernels switch strategy at 64,
256, 768 and 4096 bytes); random lengths up to a few MiB cover the long
loops; memoryview slices cover every misalignment of the start.  The
512-bit Adler-32 kernel's own boundaries (512-byte minimum, 256-byte steps,
185,600 bytes between reductions, the 2 MiB split into halves) have tests of
their own below, from known 64-byte alignments.
"""
import zlib

import pytest

import fastconc

try:
    import crc32c
except ImportError:   # the CRC-32C cross-checks skip; the rest still run
    crc32c = None

KERNELS = {
    "crc32": (fastconc.crc32, zlib.crc32),
    "crc32c": (fastconc.crc32c, crc32c.crc32c if crc32c else None),
    "adler32": (fastconc.adler32, zlib.adler32),
}
# Kernels with a reference to compare against.
CROSS = [
    pytest.param(name, marks=pytest.mark.skipif(
        ref is None, reason="the crc32c package is not installed"))
    for name, (_, ref) in KERNELS.items()
]

# Published check values of the nine ASCII digits "123456789" (the CRC
# catalogue's CRC-32/ISO-HDLC and CRC-32/ISCSI; Adler-32 from RFC 1950's
# definition, as zlib computes it).
CHECK = {"crc32": 0xCBF43926, "crc32c": 0xE3069283, "adler32": 0x091E01DE}

LENGTHS = [*range(0, 601), *range(3900, 4700, 7), 4096, 8191, 12288,
           12289, 65536, 65537]


def expected_impls(level):
    """What info()['backends'] must report at `level` on this CPU."""
    feats = set(fastconc.info()["cpu_features"])
    if level == "portable":
        return dict.fromkeys(KERNELS, "fastconc portable")
    impl = {"crc32": "fastconc pclmul-sse4.2",
            "crc32c": "fastconc pclmul-sse4.2",
            "adler32": "fastconc ssse3"}
    if level in ("avx2", "avx512"):
        impl["adler32"] = "fastconc avx2"
        if "vpclmulqdq" in feats:
            impl["crc32"] = impl["crc32c"] = "fastconc vpclmul-avx2"
    if level == "avx512" and {"avx512f", "avx512vl", "vpclmulqdq"} <= feats:
        impl["crc32"] = impl["crc32c"] = "fastconc vpclmul-avx512"
    if level == "avx512" and {"avx512f", "avx512bw", "avx512vl",
                              "avx512vnni"} <= feats:
        impl["adler32"] = "fastconc avx512-vnni"
    return impl


@pytest.fixture(scope="module")
def blob():
    import random
    return random.Random(20240607).randbytes(6 << 20)


def test_backends_follow_level(simd_level):
    assert fastconc.info()["simd_level"] == simd_level
    backends = fastconc.info()["backends"]
    expected = expected_impls(simd_level)
    assert {k: backends[k] for k in expected} == expected


@pytest.mark.parametrize("name", KERNELS)
def test_check_value(simd_level, name):
    ours, _ = KERNELS[name]
    assert ours(b"123456789") == CHECK[name]
    # The same digits in the middle of a buffer, misaligned.
    buf = bytearray(b"x" * 77 + b"123456789" + b"y" * 300)
    assert ours(memoryview(buf)[77:86]) == CHECK[name]


@pytest.mark.parametrize("name", CROSS)
def test_every_short_length(simd_level, name, blob):
    ours, ref = KERNELS[name]
    for n in LENGTHS:
        data = blob[1000:1000 + n]
        assert ours(data) == ref(data), n


@pytest.mark.parametrize("name", CROSS)
def test_every_length_with_value(simd_level, name, blob, rng):
    ours, ref = KERNELS[name]
    for n in LENGTHS:
        value = rng.getrandbits(32)
        data = blob[n:2 * n]
        assert ours(data, value) == ref(data, value), (n, value)


@pytest.mark.parametrize("name", CROSS)
def test_random_long_lengths(simd_level, name, blob, rng):
    ours, ref = KERNELS[name]
    for _ in range(12):
        n = rng.randrange(1, len(blob) - 64)
        start = rng.randrange(0, len(blob) - n)
        data = memoryview(blob)[start:start + n]
        assert ours(data) == ref(data), (start, n)
        assert ours(data, threads=1) == ref(data), (start, n)


@pytest.mark.parametrize("name", CROSS)
def test_every_misalignment(simd_level, name, blob):
    ours, ref = KERNELS[name]
    view = memoryview(bytearray(blob[:300_000]))
    for off in range(64):
        for n in (0, 1, 15, 63, 255, 257, 1000, 4099, 100_003):
            part = view[off:off + n]
            assert ours(part) == ref(part), (off, n)


@pytest.mark.parametrize("name", CROSS)
def test_chained_values(simd_level, name, blob, rng):
    ours, ref = KERNELS[name]
    data = blob[:3_000_000]
    for _ in range(20):
        cuts = sorted(rng.randrange(0, len(data)) for _ in range(3))
        pieces = [data[:cuts[0]], data[cuts[0]:cuts[1]],
                  data[cuts[1]:cuts[2]], data[cuts[2]:]]
        value = ours(b"")
        for piece in pieces:
            value = ours(piece, value)
        assert value == ref(data), cuts
    # Small pieces, each continuing the last: every tail path continues.
    value, pos = ours(b""), 0
    while pos < 20_000:
        step = rng.randrange(0, 300)
        value = ours(data[pos:pos + step], value)
        pos += step
    assert value == ref(data[:pos])


@pytest.mark.parametrize("name", CROSS)
def test_chunked_threads(simd_level, name, blob):
    """Inputs split across threads: SIMD kernels from 0 plus combine."""
    ours, ref = KERNELS[name]
    data = blob * 4   # 24 MiB: more than one 16 MiB chunk
    assert ours(data, threads=2) == ref(data)
    assert ours(data, 12345, threads=2) == ref(data, 12345)


@pytest.mark.parametrize("n", [1, 31, 63, 5552, 5553, 65536 * 2 + 7,
                               (1 << 20) + 3, 5 << 20])
def test_adler32_all_ones(simd_level, n):
    """0xff bytes maximise every partial sum (overflow of the weighted
    sum), also from the largest possible running value."""
    data = b"\xff" * n
    assert fastconc.adler32(data) == zlib.adler32(data)
    top = (65520 << 16) | 65520
    assert fastconc.adler32(data, top) == zlib.adler32(data, top)


# The 512-bit Adler-32 kernel (simd/cksum_avx512vnni.c): inputs under
# ADLER512_MIN go to the AVX2 kernel; longer ones align their start to 64
# bytes, run 256-byte steps reduced every ADLER512_CHUNK bytes, and hand the
# last < 256 bytes back to the AVX2 kernel; from ADLER512_SPLIT on (after the
# head) the two halves, each a multiple of 256 bytes, run side by side.
ADLER512_MIN = 512
ADLER512_CHUNK = 725 * 256
ADLER512_SPLIT = 2 << 20
# Start values with a or b (or both) at or above 65521, as zlib accepts.
ADLER_VALUES = [1, 0, 0xFFFFFFFF, (65520 << 16) | 65520, 0xFFF1FFF1,
                0x12345678]


def at_alignment(data, off):
    """A read-only view of `data` starting `off` bytes past a 64-byte
    boundary (the kernels' alignment heads depend on the address)."""
    import ctypes
    buf = bytearray(len(data) + 128)
    addr = ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))
    start = (-addr) % 64 + off
    buf[start:start + len(data)] = data
    return memoryview(buf)[start:start + len(data)].toreadonly()


def adler512_lengths():
    """Lengths (after a 64-byte-aligned start) at every boundary of the
    512-bit kernel's loops."""
    out = set()
    for base in (ADLER512_MIN, 1024, 4096, ADLER512_CHUNK,
                 2 * ADLER512_CHUNK, 3 * ADLER512_CHUNK):
        for d in (-257, -256, -255, -129, -128, -127, -64, -63, -1, 0, 1,
                  63, 64, 127, 128, 129, 255, 256, 257, 511):
            if base + d >= 0:
                out.add(base + d)
    return sorted(out)


@pytest.mark.parametrize("off", [0, 1, 31, 32, 63])
def test_adler32_block_boundaries(simd_level, blob, off):
    """Every step, chunk and tail boundary of the 512-bit kernel, from every
    kind of start alignment (the head before the aligned part is 0, 63,
    33, 32 or 1 bytes)."""
    for n in adler512_lengths():
        data = at_alignment(blob[off:off + n], off)
        assert fastconc.adler32(data) == zlib.adler32(data), (off, n)


def test_adler32_boundaries_with_value(simd_level, blob):
    """The same lengths continuing unreduced and extreme running values:
    the head, the bulk and the tail each carry the value on."""
    for i, n in enumerate(adler512_lengths()):
        data = at_alignment(blob[n:2 * n], i % 64)
        for value in ADLER_VALUES:
            assert fastconc.adler32(data, value) == zlib.adler32(data, value), \
                (n, hex(value))


@pytest.mark.parametrize("extra", [-257, -1, 0, 1, 255, 256, 511, 512, 513,
                                   ADLER512_CHUNK + 77])
@pytest.mark.parametrize("off", [0, 1, 63])
def test_adler32_across_split(simd_level, blob, extra, off):
    """Around the size from which the two halves run in one loop (and are
    merged by adler32_combine), with the remainder after the two halves at
    every size up to two steps, and with running values."""
    n = ADLER512_SPLIT + ((64 - off) % 64) + extra
    data = at_alignment(blob[off:off + n], off)
    assert fastconc.adler32(data) == zlib.adler32(data), (off, n)
    value = 0xFFF0FFF0
    assert fastconc.adler32(data, value) == zlib.adler32(data, value)


@pytest.mark.parametrize("steps", [-1, 0, 1, 725, 2 * 725 - 1])
@pytest.mark.parametrize("off", [0, 1])
def test_adler32_all_ones_chunk(simd_level, steps, off):
    """0xff bytes over exactly the longest run between two reductions (the
    prefix-sum lanes then reach 4,286,142,000 of 2^32: one more step would
    wrap), one step less or more, and two chunks less one step; from the
    largest running value too.  A kernel reducing less often than its
    bound allows fails here."""
    n = (64 - off) % 64 + ADLER512_CHUNK + steps * 256
    data = at_alignment(b"\xff" * n, off)
    for value in (1, (65520 << 16) | 65520, 0xFFFFFFFF):
        assert fastconc.adler32(data, value) == zlib.adler32(data, value), \
            (n, hex(value))


def test_adler32_all_ones_halves(simd_level):
    """0xff bytes through the two-halves loop: each half runs several full
    chunks and a partial one."""
    n = ADLER512_SPLIT + 3 * ADLER512_CHUNK + 1000
    data = at_alignment(b"\xff" * n, 0)
    top = (65520 << 16) | 65520
    assert fastconc.adler32(data) == zlib.adler32(data)
    assert fastconc.adler32(data, top) == zlib.adler32(data, top)


def test_adler32_chained_across_boundaries(simd_level, blob):
    """value= chaining with cuts on and next to the kernel's boundaries:
    each piece starts at another alignment and carries the last value."""
    data = blob[:ADLER512_SPLIT + 3 * ADLER512_CHUNK]
    sizes = [ADLER512_MIN - 1, ADLER512_MIN, ADLER512_CHUNK, 63,
             ADLER512_CHUNK + 1, 256, ADLER512_SPLIT + 1, 1]
    value, pos = 1, 0
    for size in sizes:
        value = fastconc.adler32(data[pos:pos + size], value)
        pos += size
        assert value == zlib.adler32(data[:pos]), (pos, size)


@pytest.mark.parametrize("name", CROSS[:2])
@pytest.mark.parametrize("fill", [b"\x00", b"\xff"])
def test_crc_constant_runs(simd_level, name, fill):
    ours, ref = KERNELS[name]
    for n in (16, 64, 256, 4096, 100_000, 1 << 20):
        data = fill * n
        for value in (0, 0xFFFFFFFF, 0x12345678):
            assert ours(data, value) == ref(data, value), (n, value)


def test_fold_constants_match_generator(tmp_path):
    """src/simd/cksum_consts.h is what cksum_gen_consts.py writes."""
    import pathlib
    import shutil
    import subprocess
    import sys

    simd = pathlib.Path(__file__).resolve().parent.parent / "src" / "simd"
    if not (simd / "cksum_gen_consts.py").exists():
        pytest.skip("source tree not available")
    shutil.copy(simd / "cksum_gen_consts.py", tmp_path)
    subprocess.run([sys.executable, str(tmp_path / "cksum_gen_consts.py")],
                   check=True)
    assert ((tmp_path / "cksum_consts.h").read_text() ==
            (simd / "cksum_consts.h").read_text())


# The 512-bit CRC-32 kernel cannot run on a CPU without AVX-512, but its
# logic can: these few AVX-512 intrinsics, emulated with pairs of 256-bit
# registers, let the same source run against zlib on an AVX2 + VPCLMULQDQ
# machine (on an AVX-512 machine the tests above run it for real).
EMU512_SHIM = r"""
#include <immintrin.h>
#include <stdlib.h>
typedef struct { __m256i lo, hi; } emu512;
#define __m512i emu512
static inline emu512 emu_xor(emu512 a, emu512 b)
{ emu512 r = {_mm256_xor_si256(a.lo, b.lo), _mm256_xor_si256(a.hi, b.hi)};
  return r; }
static inline emu512 emu_clmul(emu512 a, emu512 b, int imm)
{ emu512 r;
  if (imm == 0x00) { r.lo = _mm256_clmulepi64_epi128(a.lo, b.lo, 0x00);
                     r.hi = _mm256_clmulepi64_epi128(a.hi, b.hi, 0x00); }
  else { r.lo = _mm256_clmulepi64_epi128(a.lo, b.lo, 0x11);
         r.hi = _mm256_clmulepi64_epi128(a.hi, b.hi, 0x11); }
  return r; }
static inline emu512 emu_set64(long long e7, long long e6, long long e5,
                               long long e4, long long e3, long long e2,
                               long long e1, long long e0)
{ emu512 r = {_mm256_set_epi64x(e3, e2, e1, e0),
              _mm256_set_epi64x(e7, e6, e5, e4)}; return r; }
static inline emu512 emu_load(const void *p)
{ emu512 r = {_mm256_loadu_si256((const __m256i *)p),
              _mm256_loadu_si256((const __m256i *)((const char *)p + 32))};
  return r; }
static inline emu512 emu_zero(void)
{ emu512 r = {_mm256_setzero_si256(), _mm256_setzero_si256()}; return r; }
/* Only the three-way xor (0x96) is emulated; any other table aborts. */
static inline emu512 emu_tern(emu512 a, emu512 b, emu512 c, int imm)
{ if (imm != 0x96) abort();
  return emu_xor(emu_xor(a, b), c); }
static inline emu512 emu_ins0(emu512 a, __m128i x)
{ a.lo = _mm256_inserti128_si256(a.lo, x, 0); return a; }
#define _mm512_xor_si512 emu_xor
#define _mm512_ternarylogic_epi64 emu_tern
#define _mm512_clmulepi64_epi128 emu_clmul
#define _mm512_set_epi64 emu_set64
#define _mm512_loadu_si512 emu_load
#define _mm512_setzero_si512 emu_zero
#define _mm512_inserti32x4(a, x, i) emu_ins0(a, x)
#define _mm512_castsi512_si256(a) ((a).lo)
#define _mm512_extracti64x4_epi64(a, i) ((a).hi)
"""

EMU512_DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>
#include "simd/cksum_simd.h"
int main(void)
{
    size_t big = 3 << 20;
    unsigned char *buf = malloc(big + 64);
    long bad = 0, total = 0;
    srand(7);
    for (size_t i = 0; i < big + 64; i++) buf[i] = (unsigned char)rand();
    for (size_t n = 0; n < 5000; n++) {
        for (int off = 0; off < 64; off += n < 1500 ? 1 : 13, total++) {
            uint32_t v = (uint32_t)rand() * 2654435761u;
            bad += fc_crc32_avx512vp(v, buf + off, n) !=
                   (uint32_t)crc32(v, buf + off, (uInt)n);
            bad += fc_crc32c_avx512vp(v, buf + off, n) !=
                   fc_crc32c_portable(v, buf + off, n);
        }
    }
    for (int i = 0; i < 200; i++, total++) {
        size_t n = (size_t)rand() % big;
        int off = rand() % 64;
        uint32_t v = (uint32_t)rand();
        bad += fc_crc32_avx512vp(v, buf + off, n) !=
               (uint32_t)crc32(v, buf + off, (uInt)n);
        bad += fc_crc32c_avx512vp(v, buf + off, n) !=
               fc_crc32c_portable(v, buf + off, n);
    }
    printf("%ld bad of %ld\n", bad, total);
    return bad != 0;
}
"""


@pytest.mark.timeout(300)
def test_avx512_crc32_emulated(tmp_path):
    import pathlib
    import platform
    import shutil
    import subprocess

    root = pathlib.Path(__file__).resolve().parent.parent
    cc = shutil.which("cc") or shutil.which("gcc")
    feats = set(fastconc.info()["cpu_features"])
    if platform.machine() not in ("x86_64", "AMD64") or cc is None:
        pytest.skip("needs an x86-64 C compiler")
    if not {"avx2", "vpclmulqdq"} <= feats:
        pytest.skip("the emulation needs AVX2 and VPCLMULQDQ")
    if not (root / "src" / "simd" / "cksum_avx512vp.c").exists():
        pytest.skip("source tree not available")
    (tmp_path / "shim.h").write_text(EMU512_SHIM)
    (tmp_path / "driver.c").write_text(EMU512_DRIVER)
    src = root / "src"
    base = [cc, "-O2", "-std=gnu11", f"-I{src}", "-c"]
    units = {
        "avx512vp.o": ["-mavx2", "-mpclmul", "-mvpclmulqdq", "-include",
                       str(tmp_path / "shim.h"),
                       str(src / "simd" / "cksum_avx512vp.c")],
        "vpclmul.o": ["-mavx2", "-mpclmul", "-mvpclmulqdq",
                      str(src / "simd" / "cksum_vpclmul.c")],
        "sse42.o": ["-msse4.2", "-mpclmul",
                    str(src / "simd" / "cksum_sse42.c")],
        "portable.o": [str(src / "checksum" / "portable.c")],
        "driver.o": [str(tmp_path / "driver.c")],
    }
    for obj, args in units.items():
        subprocess.run([*base, *args, "-o", str(tmp_path / obj)], check=True)
    exe = tmp_path / "emu512"
    subprocess.run([cc, *(str(tmp_path / o) for o in units), "-lz",
                    "-lpthread", "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("0 bad of ")
