/* cksum_avx512vnni.c - Adler-32 on 512-bit registers with AVX512-VNNI.
 * Compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni (and AVX2
 * for the short-input kernel it hands tails to); only called when the CPU
 * has all of them.  No Python API.
 *
 * The maths.  Over a chunk of L bytes x[0..L), starting from (a, b):
 *
 *     a' = a + sum x[i]
 *     b' = b + L a + sum (L - i) x[i]
 *
 * Cut the chunk into K "sub-steps" of 128 bytes, byte i = 128 k + j.  Its
 * weight L - i = 128 (K - 1 - k) + (128 - j), and 128 - j = (127 - j) + 1,
 * so with A[k] the byte sum of sub-step k and S[m] = A[0] + ... + A[m]:
 *
 *     sum (L - i) x[i] = 128 sp + w + s1,  where
 *     sp = S[0] + ... + S[K-2]     (sum of the byte sums before each
 *                                    sub-step: "sp += s1" before adding A)
 *     w  = sum (127 - j) x[128 k + j]
 *     s1 = S[K-1]
 *
 * The weights 127..0 fit vpdpbusd's signed bytes (weights 128..1 would
 * not), which is why the "+1" is split off into s1, a sum we have anyway.
 * vpsadbw against zero gives the byte sums (eight bytes per 64-bit lane),
 * vpdpbusd the weighted sums, four at a time, added straight into 32-bit
 * lanes: no widening steps as in the AVX2 kernel.
 *
 * Overflow bound (per 32-bit lane; the lanes are summed in 64 bits).  A
 * sub-step is two 64-byte loads, each adding at most 8 * 255 = 2040 to a
 * lane of A, so A[k] <= 4080 and S[m] <= 4080 (m + 1).  Then
 *     sp <= 4080 (1 + 2 + ... + (K - 1)) = 2040 K (K - 1),
 * and with K = 2 * ADLER_STEPS (256-byte steps) = 1450 that is
 * 4,286,142,000 < 2^32 - 1; 726 steps would give 4,297,978,080, which
 * does not fit.  The other lanes are far from the limit: a w lane gains at
 * most 4 * 255 * 127 = 129,540 per step (93.9e6 after 725), the four w
 * accumulators plus s1 (<= 4080 K = 5.9e6) add up to < 2^29.  So the sums
 * are reduced modulo 65521 once per 185,600 bytes.
 *
 * Four weighted-sum accumulators (one per load of a 256-byte step) hide
 * vpdpbusd's latency; byte and prefix sums need one vpaddd each per
 * sub-step.  Inputs of 2 MiB and more run their two halves in one loop
 * (two reads in flight: more memory bandwidth once the input is out of
 * cache) and merge them with fc_adler32_combine(), as the AVX2 kernel
 * does.
 */
/* x86-64 only, like the other kernels; elsewhere this file is empty and
 * simd/dispatch.c keeps the portable ones. */
#if defined(__x86_64__)

#include "checksum/checksum.h"
#include "simd/cksum_simd.h"

#include <immintrin.h>

#define ADLER_MOD 65521u
/* 256-byte steps per reduction: the largest count the bound in the top
 * comment allows. */
#define ADLER_STEPS 725
#define ADLER_STEP 256

/* Weights 127 - j of byte j of a 128-byte sub-step: the first 64 bytes
 * take hi, the next 64 take lo. */
static const signed char adler_weights[128] __attribute__((aligned(64))) = {
    127, 126, 125, 124, 123, 122, 121, 120, 119, 118, 117, 116, 115, 114,
    113, 112, 111, 110, 109, 108, 107, 106, 105, 104, 103, 102, 101, 100,
    99, 98, 97, 96, 95, 94, 93, 92, 91, 90, 89, 88, 87, 86, 85, 84, 83, 82,
    81, 80, 79, 78, 77, 76, 75, 74, 73, 72, 71, 70, 69, 68, 67, 66, 65, 64,
    63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46,
    45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 31, 30, 29, 28,
    27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10,
    9, 8, 7, 6, 5, 4, 3, 2, 1, 0};

/* Sum of the sixteen 32-bit lanes of v, in 64 bits. */
static inline uint64_t
hsum32(__m512i v)
{
    __m512i lo = _mm512_cvtepu32_epi64(_mm512_castsi512_si256(v));
    __m512i hi = _mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(v, 1));
    return (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(lo, hi));
}

/* Sums of the bytes since the last reduction (see the top comment). */
typedef struct {
    __m512i s1, sp, w0, w1, w2, w3;
} adler_acc;

static inline void
adler_acc_zero(adler_acc *acc)
{
    acc->s1 = acc->sp = _mm512_setzero_si512();
    acc->w0 = acc->w1 = acc->w2 = acc->w3 = _mm512_setzero_si512();
}

/* Add the 256 bytes at p (two sub-steps) to *acc. */
static inline void
adler_step(adler_acc *acc, const unsigned char *p, __m512i hi, __m512i lo)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i d0 = _mm512_loadu_si512((const void *)p);
    __m512i d1 = _mm512_loadu_si512((const void *)(p + 64));
    __m512i d2 = _mm512_loadu_si512((const void *)(p + 128));
    __m512i d3 = _mm512_loadu_si512((const void *)(p + 192));
    __m512i a01 = _mm512_add_epi32(_mm512_sad_epu8(d0, zero),
                                   _mm512_sad_epu8(d1, zero));
    __m512i a23 = _mm512_add_epi32(_mm512_sad_epu8(d2, zero),
                                   _mm512_sad_epu8(d3, zero));
    acc->sp = _mm512_add_epi32(acc->sp, acc->s1);
    acc->s1 = _mm512_add_epi32(acc->s1, a01);
    acc->sp = _mm512_add_epi32(acc->sp, acc->s1);
    acc->s1 = _mm512_add_epi32(acc->s1, a23);
    acc->w0 = _mm512_dpbusd_epi32(acc->w0, d0, hi);
    acc->w1 = _mm512_dpbusd_epi32(acc->w1, d1, lo);
    acc->w2 = _mm512_dpbusd_epi32(acc->w2, d2, hi);
    acc->w3 = _mm512_dpbusd_epi32(acc->w3, d3, lo);
}

/* Apply *acc, the sums of len bytes, to the running (a, b), reduced.  a and
 * b may be up to 65535 (an unreduced value passed in by the caller). */
static inline void
adler_reduce(uint64_t *a, uint64_t *b, size_t len, const adler_acc *acc)
{
    __m512i w = _mm512_add_epi32(_mm512_add_epi32(acc->w0, acc->w1),
                                 _mm512_add_epi32(acc->w2, acc->w3));
    uint64_t s1 = hsum32(acc->s1);
    *b = (*b + len * *a + 128 * hsum32(acc->sp) +
          hsum32(_mm512_add_epi32(w, acc->s1))) % ADLER_MOD;
    *a = (*a + s1) % ADLER_MOD;
}

/* Whole 256-byte steps of p[0..n), n a multiple of 256. */
static uint32_t
adler_bulk(uint32_t adler, const unsigned char *p, size_t n)
{
    const __m512i hi = _mm512_load_si512((const void *)adler_weights);
    const __m512i lo = _mm512_load_si512((const void *)(adler_weights + 64));
    uint64_t a = adler & 0xffff, b = adler >> 16;
    while (n >= ADLER_STEP) {
        size_t steps = n / ADLER_STEP;
        steps = steps < ADLER_STEPS ? steps : ADLER_STEPS;
        adler_acc acc;
        adler_acc_zero(&acc);
        for (size_t i = 0; i < steps; i++) {
            adler_step(&acc, p, hi, lo);
            p += ADLER_STEP;
        }
        adler_reduce(&a, &b, steps * ADLER_STEP, &acc);
        n -= steps * ADLER_STEP;
    }
    return (uint32_t)((b << 16) | a);
}

/* From this size on, the two halves of the input run in one loop. */
#define ADLER_SPLIT_MIN ((size_t)2 << 20)

/* p[0..2 * half) as two halves, half a multiple of 256. */
static uint32_t
adler_halves(uint32_t adler, const unsigned char *p, size_t half)
{
    const __m512i hi = _mm512_load_si512((const void *)adler_weights);
    const __m512i lo = _mm512_load_si512((const void *)(adler_weights + 64));
    const unsigned char *q = p + half;
    uint64_t a1 = adler & 0xffff, b1 = adler >> 16, a2 = 1, b2 = 0;
    for (size_t done = 0; done < half;) {
        size_t steps = (half - done) / ADLER_STEP;
        steps = steps < ADLER_STEPS ? steps : ADLER_STEPS;
        adler_acc x, y;
        adler_acc_zero(&x);
        adler_acc_zero(&y);
        for (size_t i = 0; i < steps; i++, done += ADLER_STEP) {
            adler_step(&x, p + done, hi, lo);
            adler_step(&y, q + done, hi, lo);
        }
        adler_reduce(&a1, &b1, steps * ADLER_STEP, &x);
        adler_reduce(&a2, &b2, steps * ADLER_STEP, &y);
    }
    return fc_adler32_combine((uint32_t)((b1 << 16) | a1),
                              (uint32_t)((b2 << 16) | a2), half);
}

/* Below this, the AVX2 kernel: setting up costs more than the wider
 * steps save. */
#define ADLER_MIN 512

uint32_t
fc_adler32_avx512(uint32_t adler, const unsigned char *p, size_t n)
{
    if (n < ADLER_MIN) {
        return fc_adler32_avx2(adler, p, n);
    }
    if ((uintptr_t)p & 63) {
        /* Every 64-byte load of a misaligned input crosses two cache
         * lines: align first. */
        size_t head = 64 - ((uintptr_t)p & 63);
        adler = fc_adler32_sse42(adler, p, head);
        p += head;
        n -= head;
    }
    if (n >= ADLER_SPLIT_MIN) {
        size_t half = (n / 2) & ~(size_t)(ADLER_STEP - 1);
        adler = adler_halves(adler, p, half);
        p += 2 * half;
        n -= 2 * half;
    }
    size_t bulk = n & ~(size_t)(ADLER_STEP - 1);
    adler = adler_bulk(adler, p, bulk);
    /* Under 256 bytes left: the AVX2 kernel's 128-byte steps, then SSSE3. */
    return fc_adler32_avx2(adler, p + bulk, n - bulk);
}

#endif /* __x86_64__ */
