/* cksum_fold.h - CRC folding steps shared by the PCLMULQDQ kernels.
 *
 * Included by simd/cksum_sse42.c and simd/cksum_vpclmul.c so that each
 * compiles it with its own instruction-set flags.  A 128-bit block of input
 * loaded little-endian holds a reflected polynomial (the first byte is the
 * highest degree); folding it forward by D bits multiplies its two 64-bit
 * halves by the constants of cksum_consts.h (see cksum_gen_consts.py) and
 * adds the results to the block D bits further on.  The CRC-32C helpers
 * at the end shift a 32-bit register by a multiple of 8 bytes, reducing
 * with the crc32 instruction.  Includers are compiled with at least
 * -msse4.2 -mpclmul.
 */
#ifndef FC_CKSUM_FOLD_H
#define FC_CKSUM_FOLD_H

#include "simd/cksum_consts.h"

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* {x^(D+31) mod P, x^(D-33) mod P} as the two quadwords of a 128-bit lane:
 * the low one multiplies the high-degree half of a block. */
static inline __m128i
fc_fold_k128(uint32_t k_hi, uint32_t k_lo)
{
    return _mm_set_epi64x((long long)k_lo, (long long)k_hi);
}

/* x * x^D, keeping 128 bits congruent modulo P. */
static inline __m128i
fc_fold128(__m128i x, __m128i k)
{
    return _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00),
                         _mm_clmulepi64_si128(x, k, 0x11));
}

/* The running CRC register, xored into the first 4 bytes of the input. */
static inline __m128i
fc_fold_init128(uint32_t reg)
{
    return _mm_cvtsi32_si128((int)reg);
}

/* The CRC (inverted, as zlib returns it) of the message so far followed by
 * tail[0..n), n < 16, when x holds the message modulo P as its last 16
 * bytes: the zlib-style kernel `finish` runs over those 16 + n bytes from
 * the raw register 0 (value 0xffffffff). */
static inline uint32_t
fc_fold_finish(__m128i x, const unsigned char *tail, size_t n,
               uint32_t (*finish)(uint32_t, const unsigned char *, size_t))
{
    unsigned char buf[32];
    _mm_storeu_si128((__m128i *)buf, x);
    memcpy(buf + 16, tail, n);
    return finish(0xffffffffu, buf, 16 + n);
}

/* ---- CRC-32C register shifts (the crc32 instruction reduces) ---- */

static const uint32_t fc_crc32c_pow2[] = {FC_SHIFT_CRC32C_POW2};

/* a * b * x^33 mod P: the carry-less product is a * b * x as 64 reflected
 * bits, and a crc32 of those 8 bytes multiplies by x^32 and reduces. */
static inline uint32_t
fc_crc32c_mulx33(uint32_t a, uint32_t b)
{
    __m128i prod = _mm_clmulepi64_si128(_mm_cvtsi32_si128((int)a),
                                        _mm_cvtsi32_si128((int)b), 0x00);
    return (uint32_t)_mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(prod));
}

/* x^(8 m - 33) mod P for m a multiple of 8, m >= 8. */
static inline uint32_t
fc_crc32c_shift_const(uint64_t m)
{
    uint32_t k = 0;
    int have = 0;
    for (int i = 3; m >> i; i++) {
        if ((m >> i) & 1) {
            k = have ? fc_crc32c_mulx33(k, fc_crc32c_pow2[i - 3])
                     : fc_crc32c_pow2[i - 3];
            have = 1;
        }
    }
    return k;
}

static inline uint32_t
fc_crc32c_u64_at(uint32_t reg, const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return (uint32_t)_mm_crc32_u64(reg, w);
}

#endif
