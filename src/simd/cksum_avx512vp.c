/* cksum_avx512vp.c - CRC-32 by VPCLMULQDQ folding on 512-bit registers
 * (four accumulators, 256 bytes per round) for the bulk of long inputs;
 * the last < 256 bytes go to the 256-bit kernel.  Compiled with AVX-512
 * F/BW/VL + VPCLMULQDQ flags; only called when the CPU has AVX512F,
 * AVX512VL and VPCLMULQDQ (and the SIMD level allows AVX-512).  No Python
 * API.
 *
 * Same folding as cksum_vpclmul.c, four 128-bit lanes per register: a
 * round folds each lane forward by 4 * 512 = 2048 bits; the four registers
 * then merge by 512-bit folds, the register's two 256-bit halves by a
 * 256-bit fold and the last two lanes by a 128-bit fold.
 */
/* x86-64 only, like the other kernels. */
#if defined(__x86_64__)

#include "simd/cksum_fold.h"
#include "simd/cksum_simd.h"

#include <immintrin.h>

static inline __m512i
fold512(__m512i x, __m512i k)
{
    return _mm512_xor_si512(_mm512_clmulepi64_epi128(x, k, 0x00),
                            _mm512_clmulepi64_epi128(x, k, 0x11));
}

/* fc_fold_k128() in all four lanes. */
static inline __m512i
fold_k512(uint32_t k_hi, uint32_t k_lo)
{
    return _mm512_set_epi64((long long)k_lo, (long long)k_hi,
                            (long long)k_lo, (long long)k_hi,
                            (long long)k_lo, (long long)k_hi,
                            (long long)k_lo, (long long)k_hi);
}

/* fc_fold_k128() in both lanes. */
static inline __m256i
fold_k256(uint32_t k_hi, uint32_t k_lo)
{
    return _mm256_set_epi64x((long long)k_lo, (long long)k_hi,
                             (long long)k_lo, (long long)k_hi);
}

static inline __m512i
load512(const unsigned char *p)
{
    return _mm512_loadu_si512((const void *)p);
}

/* Below this the 256-bit kernel does the whole input. */
#define AVX512_MIN 1024

uint32_t
fc_crc32_avx512vp(uint32_t crc, const unsigned char *p, size_t n)
{
    if (n < AVX512_MIN) {
        return fc_crc32_vpclmul(crc, p, n);
    }
    const __m512i k2048 = fold_k512(FC_FOLD_CRC32_2048);
    const __m512i k512 = fold_k512(FC_FOLD_CRC32_512);
    const __m256i k256 = fold_k256(FC_FOLD_CRC32_256);
    const __m128i k128 = fc_fold_k128(FC_FOLD_CRC32_128);

    /* The register xored into the first 4 bytes, the rest zero. */
    __m512i x0 = _mm512_xor_si512(
        load512(p),
        _mm512_inserti32x4(_mm512_setzero_si512(), fc_fold_init128(~crc),
                           0));
    __m512i x1 = load512(p + 64);
    __m512i x2 = load512(p + 128);
    __m512i x3 = load512(p + 192);
    p += 256;
    n -= 256;
    while (n >= 256) {
        x0 = _mm512_xor_si512(fold512(x0, k2048), load512(p));
        x1 = _mm512_xor_si512(fold512(x1, k2048), load512(p + 64));
        x2 = _mm512_xor_si512(fold512(x2, k2048), load512(p + 128));
        x3 = _mm512_xor_si512(fold512(x3, k2048), load512(p + 192));
        p += 256;
        n -= 256;
    }
    __m512i x = _mm512_xor_si512(fold512(x0, k512), x1);
    x = _mm512_xor_si512(fold512(x, k512), x2);
    x = _mm512_xor_si512(fold512(x, k512), x3);
    /* The low half holds the earlier 32 bytes, the low lane the earlier
     * 16. */
    __m256i lo = _mm512_castsi512_si256(x);
    __m256i y = _mm256_xor_si256(
        _mm256_xor_si256(_mm256_clmulepi64_epi128(lo, k256, 0x00),
                         _mm256_clmulepi64_epi128(lo, k256, 0x11)),
        _mm512_extracti64x4_epi64(x, 1));
    __m128i z = _mm_xor_si128(fc_fold128(_mm256_castsi256_si128(y), k128),
                              _mm256_extracti128_si256(y, 1));
    /* The CRC of everything so far, then the 256-bit kernel goes on. */
    crc = fc_fold_finish(z, p, 0, fc_crc32_portable);
    return fc_crc32_vpclmul(crc, p, n);
}

#endif /* __x86_64__ */
