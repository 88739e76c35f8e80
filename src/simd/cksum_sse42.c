/* cksum_sse42.c - CRC-32 by PCLMULQDQ folding, CRC-32C with the SSE4.2
 * crc32 instruction (three interleaved streams) alone and side by side with
 * the folding, and Adler-32 with SSSE3.
 * Compiled with -msse4.2 -mpclmul; only called when the CPU has SSE4.2,
 * SSSE3 and PCLMULQDQ.  No Python API.
 */
/* x86-64 only (the crc32 instruction on 64 bits); elsewhere this file is
 * empty and simd/dispatch.c keeps the portable kernels. */
#if defined(__x86_64__)

#include "simd/cksum_fold.h"
#include "simd/cksum_simd.h"

#include <immintrin.h>

/* ---- CRC folding, four 128-bit accumulators ---- */

/* CRC (inverted, as zlib returns it) of raw register `reg` continued over
 * p[0..n), n >= 64. */
static inline uint32_t
crc_fold_sse(uint32_t reg, const unsigned char *p, size_t n,
             __m128i k512, __m128i k128,
             uint32_t (*finish)(uint32_t, const unsigned char *, size_t))
{
    const __m128i *v = (const __m128i *)p;
    __m128i x0 = _mm_xor_si128(_mm_loadu_si128(v), fc_fold_init128(reg));
    __m128i x1 = _mm_loadu_si128(v + 1);
    __m128i x2 = _mm_loadu_si128(v + 2);
    __m128i x3 = _mm_loadu_si128(v + 3);
    p += 64;
    n -= 64;
    while (n >= 64) {
        v = (const __m128i *)p;
        x0 = _mm_xor_si128(fc_fold128(x0, k512), _mm_loadu_si128(v));
        x1 = _mm_xor_si128(fc_fold128(x1, k512), _mm_loadu_si128(v + 1));
        x2 = _mm_xor_si128(fc_fold128(x2, k512), _mm_loadu_si128(v + 2));
        x3 = _mm_xor_si128(fc_fold128(x3, k512), _mm_loadu_si128(v + 3));
        p += 64;
        n -= 64;
    }
    __m128i x = _mm_xor_si128(fc_fold128(x0, k128), x1);
    x = _mm_xor_si128(fc_fold128(x, k128), x2);
    x = _mm_xor_si128(fc_fold128(x, k128), x3);
    while (n >= 16) {
        x = _mm_xor_si128(fc_fold128(x, k128),
                          _mm_loadu_si128((const __m128i *)p));
        p += 16;
        n -= 16;
    }
    return fc_fold_finish(x, p, n, finish);
}

uint32_t
fc_crc32_pclmul(uint32_t crc, const unsigned char *p, size_t n)
{
    if (n < 64) {
        return fc_crc32_portable(crc, p, n);
    }
    return crc_fold_sse(~crc, p, n, fc_fold_k128(FC_FOLD_CRC32_512),
                        fc_fold_k128(FC_FOLD_CRC32_128), fc_crc32_portable);
}

/* ---- CRC-32C with the crc32 instruction ---- */

static inline uint32_t
crc32c_bytes(uint32_t reg, const unsigned char *p, size_t n)
{
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        reg = (uint32_t)_mm_crc32_u64(reg, w);
        p += 8;
        n -= 8;
    }
    while (n--) {
        reg = _mm_crc32_u8(reg, *p++);
    }
    return reg;
}

/* Three crc32 streams over blocks of 3 * len bytes (the instruction's
 * latency is three times its issue interval), merged by shifting the first
 * two over the blocks after them; k1 = x^(8 len - 33), k2 = x^(16 len - 33)
 * mod P.  Returns the register after the last whole block. */
static inline uint32_t
crc32c_3way(uint32_t reg, const unsigned char **pp, size_t *pn, size_t len,
            uint32_t k1, uint32_t k2)
{
    const unsigned char *p = *pp;
    size_t n = *pn;
    while (n >= 3 * len) {
        uint32_t a = reg, b = 0, c = 0;
        for (size_t i = 0; i < len; i += 8) {
            uint64_t wa, wb, wc;
            memcpy(&wa, p + i, 8);
            memcpy(&wb, p + i + len, 8);
            memcpy(&wc, p + i + 2 * len, 8);
            a = (uint32_t)_mm_crc32_u64(a, wa);
            b = (uint32_t)_mm_crc32_u64(b, wb);
            c = (uint32_t)_mm_crc32_u64(c, wc);
        }
        reg = fc_crc32c_mulx33(a, k2) ^ fc_crc32c_mulx33(b, k1) ^ c;
        p += 3 * len;
        n -= 3 * len;
    }
    *pp = p;
    *pn = n;
    return reg;
}

uint32_t
fc_crc32c_sse42(uint32_t crc, const unsigned char *p, size_t n)
{
    uint32_t reg = ~crc;
    /* Long streams make the merge rare; short ones serve the rest. */
    reg = crc32c_3way(reg, &p, &n, 4096, FC_SHIFT_CRC32C_4096,
                      FC_SHIFT_CRC32C_8192);
    reg = crc32c_3way(reg, &p, &n, 256, FC_SHIFT_CRC32C_256,
                      FC_SHIFT_CRC32C_512);
    return ~crc32c_bytes(reg, p, n);
}

/* CRC-32C by folding (four 128-bit accumulators, 64 bytes per round) and
 * three crc32 streams of HYB_CRC bytes per round in one loop, as in
 * cksum_vpclmul.c: the folding runs on the vector units, crc32 on an
 * integer port.  On the AMD EPYC (Zen 3) here: about 29 GB/s on 1 MiB, vs
 * 20 for crc32 alone and 12 for folding alone; 48..96 bytes per stream per
 * round were within noise. */
#define HYB_CRC 64
#define HYB_ROUND (64 + 3 * HYB_CRC)
#define HYB_MIN 4096

uint32_t
fc_crc32c_pclmul(uint32_t crc, const unsigned char *p, size_t n)
{
    if (n < HYB_MIN) {
        return fc_crc32c_sse42(crc, p, n);
    }
    const __m128i k512 = fc_fold_k128(FC_FOLD_CRC32C_512);
    const __m128i k128 = fc_fold_k128(FC_FOLD_CRC32C_128);
    size_t rounds = (n - 64) / HYB_ROUND;
    size_t blen = rounds * HYB_CRC;
    const __m128i *v = (const __m128i *)p;
    const unsigned char *pa = p + 64;
    const unsigned char *pb = pa + rounds * 64;
    uint32_t c1 = 0, c2 = 0, c3 = 0;

    __m128i x0 = _mm_xor_si128(_mm_loadu_si128(v), fc_fold_init128(~crc));
    __m128i x1 = _mm_loadu_si128(v + 1);
    __m128i x2 = _mm_loadu_si128(v + 2);
    __m128i x3 = _mm_loadu_si128(v + 3);
    for (size_t r = 0; r < rounds; r++) {
        v = (const __m128i *)pa;
        x0 = _mm_xor_si128(fc_fold128(x0, k512), _mm_loadu_si128(v));
        x1 = _mm_xor_si128(fc_fold128(x1, k512), _mm_loadu_si128(v + 1));
        x2 = _mm_xor_si128(fc_fold128(x2, k512), _mm_loadu_si128(v + 2));
        x3 = _mm_xor_si128(fc_fold128(x3, k512), _mm_loadu_si128(v + 3));
        for (int j = 0; j < HYB_CRC; j += 8) {
            c1 = fc_crc32c_u64_at(c1, pb + j);
            c2 = fc_crc32c_u64_at(c2, pb + blen + j);
            c3 = fc_crc32c_u64_at(c3, pb + 2 * blen + j);
        }
        pa += 64;
        pb += HYB_CRC;
    }
    __m128i y = _mm_xor_si128(fc_fold128(x0, k128), x1);
    y = _mm_xor_si128(fc_fold128(y, k128), x2);
    y = _mm_xor_si128(fc_fold128(y, k128), x3);
    /* Region A's raw CRC: its last 16 bytes modulo P, from register 0. */
    uint64_t ylo = (uint64_t)_mm_cvtsi128_si64(y);
    uint64_t yhi = (uint64_t)_mm_extract_epi64(y, 1);
    uint32_t ca = (uint32_t)_mm_crc32_u64(_mm_crc32_u64(0, ylo), yhi);
    uint32_t k1 = fc_crc32c_shift_const(blen);
    uint32_t k2 = fc_crc32c_mulx33(k1, k1);
    uint32_t k3 = fc_crc32c_mulx33(k2, k1);
    uint32_t reg = fc_crc32c_mulx33(ca, k3) ^ fc_crc32c_mulx33(c1, k2) ^
                   fc_crc32c_mulx33(c2, k1) ^ c3;
    size_t done = 64 + rounds * HYB_ROUND;
    return fc_crc32c_sse42(~reg, p + done, n - done);
}

/* ---- Adler-32 with SSSE3 ---- */

#define ADLER_MOD 65521u
/* 32-byte steps per reduction: the sum of running byte sums in a 32-bit
 * lane stays below 2040 * steps^2 < 2^32. */
#define ADLER_STEPS 1024

uint32_t
fc_adler32_sse42(uint32_t adler, const unsigned char *p, size_t n)
{
    uint64_t a = adler & 0xffff, b = adler >> 16;
    const __m128i zero = _mm_setzero_si128();
    const __m128i ones = _mm_set1_epi16(1);
    const __m128i w_hi = _mm_setr_epi8(32, 31, 30, 29, 28, 27, 26, 25, 24,
                                       23, 22, 21, 20, 19, 18, 17);
    const __m128i w_lo = _mm_setr_epi8(16, 15, 14, 13, 12, 11, 10, 9, 8, 7,
                                       6, 5, 4, 3, 2, 1);
    while (n >= 32) {
        size_t steps = n / 32 < ADLER_STEPS ? n / 32 : ADLER_STEPS;
        size_t len = steps * 32;
        /* s1: byte sums; sp: s1 before each step; w: weighted sums. */
        __m128i s1 = zero, sp = zero, w = zero;
        for (size_t i = 0; i < steps; i++) {
            __m128i d0 = _mm_loadu_si128((const __m128i *)p);
            __m128i d1 = _mm_loadu_si128((const __m128i *)(p + 16));
            sp = _mm_add_epi32(sp, s1);
            s1 = _mm_add_epi32(s1, _mm_add_epi32(_mm_sad_epu8(d0, zero),
                                                 _mm_sad_epu8(d1, zero)));
            w = _mm_add_epi32(
                w, _mm_add_epi32(
                       _mm_madd_epi16(_mm_maddubs_epi16(d0, w_hi), ones),
                       _mm_madd_epi16(_mm_maddubs_epi16(d1, w_lo), ones)));
            p += 32;
        }
        uint32_t v1[4], vp[4], vw[4];
        _mm_storeu_si128((__m128i *)v1, s1);
        _mm_storeu_si128((__m128i *)vp, sp);
        _mm_storeu_si128((__m128i *)vw, w);
        uint64_t sum1 = (uint64_t)v1[0] + v1[1] + v1[2] + v1[3];
        uint64_t sump = (uint64_t)vp[0] + vp[1] + vp[2] + vp[3];
        uint64_t sumw = (uint64_t)vw[0] + vw[1] + vw[2] + vw[3];
        b = (b + len * a + 32 * sump + sumw) % ADLER_MOD;
        a = (a + sum1) % ADLER_MOD;
        n -= len;
    }
    return fc_adler32_portable((uint32_t)((b << 16) | a), p, n);
}

#endif /* __x86_64__ */
