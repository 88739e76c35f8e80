/* cksum_vpclmul.c - CRC-32 by VPCLMULQDQ folding on 256-bit registers
 * (four accumulators, 128 bytes per round), and CRC-32C by the same folding
 * interleaved with three streams of the crc32 instruction.  Compiled with
 * -mavx2 -mpclmul -mvpclmulqdq; only called when the CPU has AVX2 and
 * VPCLMULQDQ.  No Python API.
 */
/* x86-64 only (the crc32 instruction on 64 bits); elsewhere this file is
 * empty and simd/dispatch.c keeps the portable kernels. */
#if defined(__x86_64__)

#include "checksum/checksum.h"
#include "simd/cksum_fold.h"
#include "simd/cksum_simd.h"

#include <immintrin.h>
#include <string.h>

static inline __m256i
fold256(__m256i x, __m256i k)
{
    return _mm256_xor_si256(_mm256_clmulepi64_epi128(x, k, 0x00),
                            _mm256_clmulepi64_epi128(x, k, 0x11));
}

/* fc_fold_k128() in both lanes. */
static inline __m256i
fc_fold_k256(uint32_t k_hi, uint32_t k_lo)
{
    return _mm256_set_epi64x((long long)k_lo, (long long)k_hi,
                             (long long)k_lo, (long long)k_hi);
}

static inline __m256i
load256(const unsigned char *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}

/* Four accumulators over the first 128 bytes, the register xored into the
 * first 4. */
static inline void
fold4_start(__m256i x[4], uint32_t reg, const unsigned char *p)
{
    x[0] = _mm256_xor_si256(load256(p), _mm256_set_epi32(0, 0, 0, 0, 0, 0, 0,
                                                         (int)reg));
    x[1] = load256(p + 32);
    x[2] = load256(p + 64);
    x[3] = load256(p + 96);
}

/* Fold the four accumulators over the next 128 bytes (k: 1024 bits). */
static inline void
fold4_step(__m256i x[4], const unsigned char *p, __m256i k)
{
    x[0] = _mm256_xor_si256(fold256(x[0], k), load256(p));
    x[1] = _mm256_xor_si256(fold256(x[1], k), load256(p + 32));
    x[2] = _mm256_xor_si256(fold256(x[2], k), load256(p + 64));
    x[3] = _mm256_xor_si256(fold256(x[3], k), load256(p + 96));
}

/* One accumulator for the same 128 bytes (k: 256 bits). */
static inline __m256i
fold4_merge(const __m256i x[4], __m256i k)
{
    __m256i y = _mm256_xor_si256(fold256(x[0], k), x[1]);
    y = _mm256_xor_si256(fold256(y, k), x[2]);
    return _mm256_xor_si256(fold256(y, k), x[3]);
}

/* One 128-bit block for the same 32 bytes (k: 128 bits); the low lane
 * holds the earlier 16 bytes. */
static inline __m128i
fold_lanes(__m256i x, __m128i k)
{
    return _mm_xor_si128(fc_fold128(_mm256_castsi256_si128(x), k),
                         _mm256_extracti128_si256(x, 1));
}

/* Fold the four accumulators over p[0..n) and return the CRC (inverted, as
 * zlib returns it) of the message they end. */
static inline uint32_t
fold4_finish(__m256i x[4], const unsigned char *p, size_t n, __m256i k1024,
             __m256i k256, __m128i k128,
             uint32_t (*finish)(uint32_t, const unsigned char *, size_t))
{
    while (n >= 128) {
        fold4_step(x, p, k1024);
        p += 128;
        n -= 128;
    }
    __m256i y = fold4_merge(x, k256);
    while (n >= 32) {
        y = _mm256_xor_si256(fold256(y, k256), load256(p));
        p += 32;
        n -= 32;
    }
    __m128i z = fold_lanes(y, k128);
    if (n >= 16) {
        z = _mm_xor_si128(fc_fold128(z, k128),
                          _mm_loadu_si128((const __m128i *)p));
        p += 16;
        n -= 16;
    }
    return fc_fold_finish(z, p, n, finish);
}

/* CRC (inverted, as zlib returns it) of raw register `reg` continued over
 * p[0..n), n >= 128. */
static inline uint32_t
crc_fold_avx(uint32_t reg, const unsigned char *p, size_t n, __m256i k1024,
             __m256i k256, __m128i k128,
             uint32_t (*finish)(uint32_t, const unsigned char *, size_t))
{
    __m256i x[4];
    fold4_start(x, reg, p);
    return fold4_finish(x, p + 128, n - 128, k1024, k256, k128, finish);
}

/* From this size on, CRC-32 folds the two halves of the input in one loop
 * (two reads in flight: more memory bandwidth once the input is not in
 * cache) and merges them with fc_crc32_combine(). */
#define CRC32_SPLIT_MIN ((size_t)2 << 20)

static uint32_t
crc32_fold_halves(uint32_t crc, const unsigned char *p, size_t n)
{
    const __m256i k1024 = fc_fold_k256(FC_FOLD_CRC32_1024);
    const __m256i k256 = fc_fold_k256(FC_FOLD_CRC32_256);
    const __m128i k128 = fc_fold_k128(FC_FOLD_CRC32_128);
    size_t half = (n / 2) & ~(size_t)127;
    const unsigned char *q = p + half;
    __m256i x[4], y[4];

    fold4_start(x, ~crc, p);
    fold4_start(y, 0xffffffffu, q);   /* B's CRC from the empty value */
    for (size_t i = 128; i < half; i += 128) {
        fold4_step(x, p + i, k1024);
        fold4_step(y, q + i, k1024);
    }
    uint32_t crc_a = fold4_finish(x, p + half, 0, k1024, k256, k128,
                                  fc_crc32_portable);
    uint32_t crc_b = fold4_finish(y, q + half, n - 2 * half, k1024, k256,
                                  k128, fc_crc32_portable);
    return fc_crc32_combine(crc_a, crc_b, n - half);
}

uint32_t
fc_crc32_vpclmul(uint32_t crc, const unsigned char *p, size_t n)
{
    if (n < 128) {
        return fc_crc32_pclmul(crc, p, n);
    }
    if (n >= CRC32_SPLIT_MIN) {
        return crc32_fold_halves(crc, p, n);
    }
    return crc_fold_avx(~crc, p, n, fc_fold_k256(FC_FOLD_CRC32_1024),
                        fc_fold_k256(FC_FOLD_CRC32_256),
                        fc_fold_k128(FC_FOLD_CRC32_128), fc_crc32_portable);
}

/* ---- CRC-32C: folding and the crc32 instruction side by side ----
 *
 * The folding runs on the vector units and the crc32 instruction on an
 * integer port, so one loop does both: each round folds 128 bytes of
 * region A and runs three crc32 streams over HYB_CRC bytes each of regions
 * B1, B2, B3 (A || B1 || B2 || B3 is the start of the input).  The raw CRCs
 * of the four regions are then merged by shifting each over the regions
 * after it.  On an AMD EPYC (Zen 3) 48 bytes per stream per round did best
 * (about 37 GB/s on 1 MiB; folding alone 24, crc32 alone 22); 32..64 were
 * within noise. */
#define HYB_CRC 48
#define HYB_ROUND (128 + 3 * HYB_CRC)
/* Below this the fold alone (or crc32 alone, below 128) is as fast. */
#define HYB_MIN 4096

uint32_t
fc_crc32c_vpclmul(uint32_t crc, const unsigned char *p, size_t n)
{
    if (n < HYB_MIN) {
        if (n < 128) {
            return fc_crc32c_sse42(crc, p, n);
        }
        return crc_fold_avx(~crc, p, n, fc_fold_k256(FC_FOLD_CRC32C_1024),
                            fc_fold_k256(FC_FOLD_CRC32C_256),
                            fc_fold_k128(FC_FOLD_CRC32C_128),
                            fc_crc32c_sse42);
    }
    const __m256i k1024 = fc_fold_k256(FC_FOLD_CRC32C_1024);
    size_t rounds = (n - 128) / HYB_ROUND;
    size_t blen = rounds * HYB_CRC;
    const unsigned char *pa = p + 128;
    const unsigned char *pb = pa + rounds * 128;
    uint32_t c1 = 0, c2 = 0, c3 = 0;
    __m256i x[4];

    fold4_start(x, ~crc, p);
    for (size_t r = 0; r < rounds; r++) {
        fold4_step(x, pa, k1024);
        for (int j = 0; j < HYB_CRC; j += 8) {
            c1 = fc_crc32c_u64_at(c1, pb + j);
            c2 = fc_crc32c_u64_at(c2, pb + blen + j);
            c3 = fc_crc32c_u64_at(c3, pb + 2 * blen + j);
        }
        pa += 128;
        pb += HYB_CRC;
    }
    __m128i y = fold_lanes(fold4_merge(x, fc_fold_k256(FC_FOLD_CRC32C_256)),
                           fc_fold_k128(FC_FOLD_CRC32C_128));
    /* Region A's raw CRC: its last 16 bytes modulo P, from register 0. */
    uint64_t ylo = (uint64_t)_mm_cvtsi128_si64(y);
    uint64_t yhi = (uint64_t)_mm_extract_epi64(y, 1);
    uint32_t ca = (uint32_t)_mm_crc32_u64(_mm_crc32_u64(0, ylo), yhi);
    uint32_t k1 = fc_crc32c_shift_const(blen);
    uint32_t k2 = fc_crc32c_mulx33(k1, k1);
    uint32_t k3 = fc_crc32c_mulx33(k2, k1);
    uint32_t reg = fc_crc32c_mulx33(ca, k3) ^ fc_crc32c_mulx33(c1, k2) ^
                   fc_crc32c_mulx33(c2, k1) ^ c3;
    size_t done = 128 + rounds * HYB_ROUND;
    return fc_crc32c_sse42(~reg, p + done, n - done);
}

#endif /* __x86_64__ */
