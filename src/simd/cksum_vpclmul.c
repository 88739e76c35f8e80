/* cksum_vpclmul.c - CRC-32 and CRC-32C by VPCLMULQDQ folding on 256-bit
 * registers, four accumulators (128 bytes per round).  Compiled with
 * -mavx2 -mpclmul -mvpclmulqdq; only called when the CPU has AVX2 and
 * VPCLMULQDQ.  No Python API.
 */
#include "simd/cksum_fold.h"
#include "simd/cksum_simd.h"

#include <immintrin.h>

static inline __m256i
fold256(__m256i x, __m256i k)
{
    return _mm256_xor_si256(_mm256_clmulepi64_epi128(x, k, 0x00),
                            _mm256_clmulepi64_epi128(x, k, 0x11));
}

static inline __m256i
k256(uint32_t k_hi, uint32_t k_lo)
{
    return _mm256_set_epi64x((long long)k_lo, (long long)k_hi,
                             (long long)k_lo, (long long)k_hi);
}

static inline __m256i
load256(const unsigned char *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}

/* CRC (inverted, as zlib returns it) of raw register `reg` continued over
 * p[0..n), n >= 256. */
static inline uint32_t
crc_fold_avx(uint32_t reg, const unsigned char *p, size_t n, __m256i k1024,
             __m256i k256_, __m128i k128,
             uint32_t (*finish)(uint32_t, const unsigned char *, size_t))
{
    __m256i x0 = _mm256_xor_si256(load256(p),
                                  _mm256_set_epi32(0, 0, 0, 0, 0, 0, 0,
                                                   (int)reg));
    __m256i x1 = load256(p + 32);
    __m256i x2 = load256(p + 64);
    __m256i x3 = load256(p + 96);
    p += 128;
    n -= 128;
    while (n >= 128) {
        x0 = _mm256_xor_si256(fold256(x0, k1024), load256(p));
        x1 = _mm256_xor_si256(fold256(x1, k1024), load256(p + 32));
        x2 = _mm256_xor_si256(fold256(x2, k1024), load256(p + 64));
        x3 = _mm256_xor_si256(fold256(x3, k1024), load256(p + 96));
        p += 128;
        n -= 128;
    }
    __m256i x = _mm256_xor_si256(fold256(x0, k256_), x1);
    x = _mm256_xor_si256(fold256(x, k256_), x2);
    x = _mm256_xor_si256(fold256(x, k256_), x3);
    while (n >= 32) {
        x = _mm256_xor_si256(fold256(x, k256_), load256(p));
        p += 32;
        n -= 32;
    }
    /* The low lane holds the earlier 16 bytes. */
    __m128i y = _mm_xor_si128(fc_fold128(_mm256_castsi256_si128(x), k128),
                              _mm256_extracti128_si256(x, 1));
    if (n >= 16) {
        y = _mm_xor_si128(fc_fold128(y, k128),
                          _mm_loadu_si128((const __m128i *)p));
        p += 16;
        n -= 16;
    }
    return fc_fold_finish(y, p, n, finish);
}

uint32_t
fc_crc32_vpclmul(uint32_t crc, const unsigned char *p, size_t n)
{
    if (n < 256) {
        return fc_crc32_pclmul(crc, p, n);
    }
    return crc_fold_avx(~crc, p, n, k256(FC_FOLD_CRC32_1024),
                         k256(FC_FOLD_CRC32_256),
                         fc_fold_k128(FC_FOLD_CRC32_128), fc_crc32_portable);
}

uint32_t
fc_crc32c_vpclmul(uint32_t crc, const unsigned char *p, size_t n)
{
    if (n < 256) {
        return fc_crc32c_sse42(crc, p, n);
    }
    return crc_fold_avx(~crc, p, n, k256(FC_FOLD_CRC32C_1024),
                         k256(FC_FOLD_CRC32C_256),
                         fc_fold_k128(FC_FOLD_CRC32C_128), fc_crc32c_sse42);
}
