/* cksum_avx512vp.c - CRC-32 by VPCLMULQDQ folding on 512-bit registers
 * (eight accumulators, 512 bytes per round) for long inputs.  Compiled with AVX-512
 * F/BW/VL + VPCLMULQDQ flags; only called when the CPU has AVX512F,
 * AVX512VL and VPCLMULQDQ (and the SIMD level allows AVX-512).  No Python
 * API.
 *
 * Same folding as cksum_vpclmul.c, four 128-bit lanes per register: a
 * round folds each lane forward by 8 * 512 = 4096 bits; a partial round
 * takes the last whole 64-byte blocks, the eight registers then merge
 * pairwise (2048-, 1024-, 512-bit folds), the register's two 256-bit halves
 * by a 256-bit fold and the last two lanes by a 128-bit fold, with the
 * last < 64 bytes folded in on the way.
 *
 * A fold is two VPCLMULQDQ per 64 bytes, and one core issues about 1.25 of
 * them per TSC cycle here (one execution port): ~40 bytes per TSC cycle is
 * the ceiling.  Eight chains, the two products and the next block summed
 * by one vpternlogq, run a few percent faster than four with two xors.
 */
/* x86-64 only, like the other kernels. */
#if defined(__x86_64__)

#include "simd/cksum_fold.h"
#include "simd/cksum_simd.h"

#include <immintrin.h>

/* x folded forward by k's distance, plus y: one three-way xor. */
static inline __m512i
fold512_add(__m512i x, __m512i k, __m512i y)
{
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00),
                                     _mm512_clmulepi64_epi128(x, k, 0x11),
                                     y, 0x96);
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

static inline __m256i
fold256(__m256i x, __m256i k)
{
    return _mm256_xor_si256(_mm256_clmulepi64_epi128(x, k, 0x00),
                            _mm256_clmulepi64_epi128(x, k, 0x11));
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
    if ((uintptr_t)p & 63) {
        /* A 64-byte load that crosses a cache line costs a second read:
         * unaligned, the loop runs ~20% slower (a bytes object's data sits
         * at 48 mod 64).  The head goes to the 256-bit kernel. */
        size_t head = 64 - ((uintptr_t)p & 63);
        crc = fc_crc32_vpclmul(crc, p, head);
        p += head;
        n -= head;
    }
    const __m512i k4096 = fold_k512(FC_FOLD_CRC32_4096);
    const __m512i k2048 = fold_k512(FC_FOLD_CRC32_2048);
    const __m512i k1024 = fold_k512(FC_FOLD_CRC32_1024);
    const __m512i k512 = fold_k512(FC_FOLD_CRC32_512);
    const __m256i k256 = fold_k256(FC_FOLD_CRC32_256);
    const __m128i k128 = fc_fold_k128(FC_FOLD_CRC32_128);

    /* The register xored into the first 4 bytes, the rest zero. */
    __m512i x[8];
    for (int i = 0; i < 8; i++) {
        x[i] = load512(p + 64 * i);
    }
    x[0] = _mm512_xor_si512(
        x[0], _mm512_inserti32x4(_mm512_setzero_si512(),
                                 fc_fold_init128(~crc), 0));
    p += 512;
    n -= 512;
    while (n >= 512) {
        for (int i = 0; i < 8; i++) {
            x[i] = fold512_add(x[i], k4096, load512(p + 64 * i));
        }
        p += 512;
        n -= 512;
    }
    /* The m < 8 whole blocks left over make a partial round: they join
     * registers 0..m-1, which then come after m..7 in the message. */
    size_t m = n / 64;
    for (size_t i = 0; i < m; i++) {
        x[i] = fold512_add(x[i], k4096, load512(p + 64 * i));
    }
    p += 64 * m;
    n -= 64 * m;
    __m512i r[8];
    for (size_t i = 0; i < 8; i++) {
        r[i] = x[(m + i) % 8];
    }
    /* Merge them as a tree (three folds deep, not seven): r[i] is
     * 512 * (7 - i) bits before r[7]. */
    for (int i = 0; i < 4; i++) {
        r[i] = fold512_add(r[i], k2048, r[i + 4]);
    }
    r[0] = fold512_add(r[0], k1024, r[2]);
    r[1] = fold512_add(r[1], k1024, r[3]);
    r[0] = fold512_add(r[0], k512, r[1]);
    /* 512 bits to 256 (the low half holds the earlier 32 bytes), the last
     * < 64 bytes folded in by 32 and 16, then 16 + (n < 16) bytes left. */
    __m256i lo = _mm512_castsi512_si256(r[0]);
    __m256i y = _mm256_xor_si256(fold256(lo, k256),
                                 _mm512_extracti64x4_epi64(r[0], 1));
    if (n >= 32) {
        y = _mm256_xor_si256(fold256(y, k256),
                             _mm256_loadu_si256((const __m256i *)p));
        p += 32;
        n -= 32;
    }
    __m128i z = _mm_xor_si128(fc_fold128(_mm256_castsi256_si128(y), k128),
                              _mm256_extracti128_si256(y, 1));
    if (n >= 16) {
        z = _mm_xor_si128(fc_fold128(z, k128),
                          _mm_loadu_si128((const __m128i *)p));
        p += 16;
        n -= 16;
    }
    return fc_fold_finish(z, p, n, fc_crc32_portable);
}

#endif /* __x86_64__ */
