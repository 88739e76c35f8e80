/* cksum_avx2.c - Adler-32 with AVX2.  Compiled with -mavx2; only called
 * when the CPU has AVX2.  No Python API.
 *
 * Per 64-byte step: vpsadbw adds the bytes into the byte sum, the byte sum
 * before the step is added to `sp` (each such sum counts 64 more times in
 * the weighted sum), and vpmaddubsw/vpmaddwd add the bytes times their
 * weights 64..1 (their distance from the end of the step).
 */
#include "simd/cksum_simd.h"

#include <immintrin.h>

#define ADLER_MOD 65521u
/* 64-byte steps per reduction: a 32-bit lane of sp stays below
 * 2040 * steps^2 < 2^32. */
#define ADLER_STEPS 1024

static inline uint64_t
hsum32(__m256i v)
{
    uint32_t t[8];
    _mm256_storeu_si256((__m256i *)t, v);
    uint64_t s = 0;
    for (int i = 0; i < 8; i++) {
        s += t[i];
    }
    return s;
}

uint32_t
fc_adler32_avx2(uint32_t adler, const unsigned char *p, size_t n)
{
    uint64_t a = adler & 0xffff, b = adler >> 16;
    const __m256i zero = _mm256_setzero_si256();
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i w_hi = _mm256_setr_epi8(
        64, 63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49,
        48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33);
    const __m256i w_lo = _mm256_setr_epi8(
        32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17,
        16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
    while (n >= 64) {
        size_t steps = n / 64 < ADLER_STEPS ? n / 64 : ADLER_STEPS;
        size_t len = steps * 64;
        __m256i s1 = zero, sp = zero, w = zero;
        for (size_t i = 0; i < steps; i++) {
            __m256i d0 = _mm256_loadu_si256((const __m256i *)p);
            __m256i d1 = _mm256_loadu_si256((const __m256i *)(p + 32));
            sp = _mm256_add_epi32(sp, s1);
            s1 = _mm256_add_epi32(
                s1, _mm256_add_epi32(_mm256_sad_epu8(d0, zero),
                                     _mm256_sad_epu8(d1, zero)));
            w = _mm256_add_epi32(
                w, _mm256_add_epi32(
                       _mm256_madd_epi16(_mm256_maddubs_epi16(d0, w_hi),
                                         ones),
                       _mm256_madd_epi16(_mm256_maddubs_epi16(d1, w_lo),
                                         ones)));
            p += 64;
        }
        b = (b + len * a + 64 * hsum32(sp) + hsum32(w)) % ADLER_MOD;
        a = (a + hsum32(s1)) % ADLER_MOD;
        n -= len;
    }
    return fc_adler32_sse42((uint32_t)((b << 16) | a), p, n);
}
