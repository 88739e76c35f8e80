/* cksum_avx2.c - Adler-32 with AVX2.  Compiled with -mavx2; only called
 * when the CPU has AVX2.  No Python API.
 *
 * Per 32-byte block: vpsadbw adds the bytes into the byte sum s1, the byte
 * sum before the block is added to sp (each such sum counts 32 more times in
 * the weighted sum), and vpmaddubsw adds the bytes times their weights 32..1
 * (their distance from the end of the block).  A 128-byte step adds two
 * blocks' 16-bit weighted pairs before widening them with one vpmaddwd:
 * 2 * (32 + 31) * 255 < 2^15.  Inputs of 2 MiB and more run their two
 * halves in one loop (more memory bandwidth) and merge them with
 * fc_adler32_combine().
 */
/* x86-64 only, like the other kernels; elsewhere this file is empty and
 * simd/dispatch.c keeps the portable ones. */
#if defined(__x86_64__)

#include "checksum/checksum.h"
#include "simd/cksum_simd.h"

#include <immintrin.h>

#define ADLER_MOD 65521u
/* 128-byte steps per reduction: with m = 4 * steps blocks, a 32-bit lane
 * of sp stays below 1020 * m^2 < 2^32. */
#define ADLER_STEPS 480

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

/* Sums of the bytes since the last reduction (see the top comment). */
typedef struct {
    __m256i s1, sp, w;
} adler_acc;

/* Add the 128 bytes at p to *acc. */
static inline void
adler_step(adler_acc *acc, const unsigned char *p)
{
    const __m256i zero = _mm256_setzero_si256();
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i weights = _mm256_setr_epi8(
        32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17,
        16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
    __m256i d0 = _mm256_loadu_si256((const __m256i *)p);
    __m256i d1 = _mm256_loadu_si256((const __m256i *)(p + 32));
    __m256i d2 = _mm256_loadu_si256((const __m256i *)(p + 64));
    __m256i d3 = _mm256_loadu_si256((const __m256i *)(p + 96));
    __m256i a0 = _mm256_sad_epu8(d0, zero);
    __m256i a1 = _mm256_sad_epu8(d1, zero);
    __m256i a2 = _mm256_sad_epu8(d2, zero);
    __m256i a3 = _mm256_sad_epu8(d3, zero);
    __m256i a01 = _mm256_add_epi32(a0, a1);
    /* sp gains s1 before each of the four blocks:
     * 4 s1 + 3 a0 + 2 a1 + a2 = 4 s1 + (a0 + a01) + (a01 + a2). */
    acc->sp = _mm256_add_epi32(
        acc->sp, _mm256_add_epi32(
                     _mm256_slli_epi32(acc->s1, 2),
                     _mm256_add_epi32(_mm256_add_epi32(a0, a01),
                                      _mm256_add_epi32(a01, a2))));
    acc->s1 = _mm256_add_epi32(
        acc->s1, _mm256_add_epi32(a01, _mm256_add_epi32(a2, a3)));
    __m256i t01 = _mm256_add_epi16(_mm256_maddubs_epi16(d0, weights),
                                   _mm256_maddubs_epi16(d1, weights));
    __m256i t23 = _mm256_add_epi16(_mm256_maddubs_epi16(d2, weights),
                                   _mm256_maddubs_epi16(d3, weights));
    acc->w = _mm256_add_epi32(
        acc->w, _mm256_add_epi32(_mm256_madd_epi16(t01, ones),
                                 _mm256_madd_epi16(t23, ones)));
}

/* Apply *acc, the sums of len bytes, to the running (a, b), reduced. */
static inline void
adler_reduce(uint64_t *a, uint64_t *b, size_t len, const adler_acc *acc)
{
    *b = (*b + len * *a + 32 * hsum32(acc->sp) + hsum32(acc->w)) %
         ADLER_MOD;
    *a = (*a + hsum32(acc->s1)) % ADLER_MOD;
}

/* Whole 128-byte steps of p[0..n); the rest is left to the caller. */
static uint32_t
adler_bulk(uint32_t adler, const unsigned char *p, size_t n)
{
    uint64_t a = adler & 0xffff, b = adler >> 16;
    while (n >= 128) {
        size_t steps = n / 128 < ADLER_STEPS ? n / 128 : ADLER_STEPS;
        adler_acc acc = {_mm256_setzero_si256(), _mm256_setzero_si256(),
                         _mm256_setzero_si256()};
        for (size_t i = 0; i < steps; i++) {
            adler_step(&acc, p);
            p += 128;
        }
        adler_reduce(&a, &b, steps * 128, &acc);
        n -= steps * 128;
    }
    return (uint32_t)((b << 16) | a);
}

/* From this size on, the two halves of the input run in one loop (two
 * reads in flight: more memory bandwidth once the input is not in cache)
 * and are merged with fc_adler32_combine(). */
#define ADLER_SPLIT_MIN ((size_t)2 << 20)

/* p[0..2 * half) as two halves, half a multiple of 128. */
static uint32_t
adler_halves(uint32_t adler, const unsigned char *p, size_t half)
{
    const unsigned char *q = p + half;
    uint64_t a1 = adler & 0xffff, b1 = adler >> 16, a2 = 1, b2 = 0;
    for (size_t done = 0; done < half;) {
        size_t steps = (half - done) / 128;
        steps = steps < ADLER_STEPS ? steps : ADLER_STEPS;
        adler_acc x = {_mm256_setzero_si256(), _mm256_setzero_si256(),
                       _mm256_setzero_si256()};
        adler_acc y = x;
        for (size_t i = 0; i < steps; i++, done += 128) {
            adler_step(&x, p + done);
            adler_step(&y, q + done);
        }
        adler_reduce(&a1, &b1, steps * 128, &x);
        adler_reduce(&a2, &b2, steps * 128, &y);
    }
    return fc_adler32_combine((uint32_t)((b1 << 16) | a1),
                              (uint32_t)((b2 << 16) | a2), half);
}

uint32_t
fc_adler32_avx2(uint32_t adler, const unsigned char *p, size_t n)
{
    if (n >= 256 && ((uintptr_t)p & 31)) {
        /* Loads that cross cache lines cost about 6%: align first. */
        size_t head = 32 - ((uintptr_t)p & 31);
        adler = fc_adler32_sse42(adler, p, head);
        p += head;
        n -= head;
    }
    if (n >= ADLER_SPLIT_MIN) {
        size_t half = (n / 2) & ~(size_t)127;
        adler = adler_halves(adler, p, half);
        p += 2 * half;
        n -= 2 * half;
    }
    size_t bulk = n & ~(size_t)127;
    adler = adler_bulk(adler, p, bulk);
    return fc_adler32_sse42(adler, p + bulk, n - bulk);
}

#endif /* __x86_64__ */
