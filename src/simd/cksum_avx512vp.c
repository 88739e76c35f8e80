/* cksum_avx512vp.c - CRC-32 and CRC-32C by VPCLMULQDQ folding on 512-bit
 * registers (eight accumulators, 512 bytes per round) for long inputs.
 * Compiled with AVX-512 F/BW/VL + VPCLMULQDQ flags; only called when the CPU has AVX512F,
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
 * CRC-32C needs only other constants and finishing kernels; at 1 MiB this
 * runs it ~2.4x faster than cksum_vpclmul.c's fold + crc32-instruction
 * hybrid.
 *
 * A fold is two VPCLMULQDQ per 64 bytes, and one core issues about 1.25 of
 * them per TSC cycle here (one execution port): ~40 bytes per TSC cycle is
 * the ceiling.  Eight chains, the two products and the next block summed
 * by one vpternlogq, run a few percent faster than four with two xors.
 */
/* x86-64 only, like the other kernels. */
#if defined(__x86_64__)

#include "checksum/checksum.h"
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

/* How far ahead of the loads the loop prefetches (bytes). */
#define PREFETCH_AHEAD 4096

/* Below this the 256-bit kernel does the whole input. */
#define AVX512_MIN 1024

typedef uint32_t (*cksum_fn)(uint32_t, const unsigned char *, size_t);

/* One polynomial: its folding constants (cksum_consts.h), the 256-bit
 * kernel for short inputs and the head, the kernel for the last bytes. */
typedef struct {
    uint32_t k4096[2], k2048[2], k1024[2], k512[2], k256[2], k128[2];
    cksum_fn small, finish;
    uint32_t (*combine)(uint32_t, uint32_t, uint64_t);
} fold_poly;

static const fold_poly CRC32 = {
    {FC_FOLD_CRC32_4096}, {FC_FOLD_CRC32_2048}, {FC_FOLD_CRC32_1024},
    {FC_FOLD_CRC32_512}, {FC_FOLD_CRC32_256}, {FC_FOLD_CRC32_128},
    fc_crc32_vpclmul, fc_crc32_portable, fc_crc32_combine,
};

static const fold_poly CRC32C = {
    {FC_FOLD_CRC32C_4096}, {FC_FOLD_CRC32C_2048}, {FC_FOLD_CRC32C_1024},
    {FC_FOLD_CRC32C_512}, {FC_FOLD_CRC32C_256}, {FC_FOLD_CRC32C_128},
    fc_crc32c_vpclmul, fc_crc32c_sse42, fc_crc32c_combine,
};

/* x with the raw CRC register xored into its first 4 bytes. */
static inline __m512i
with_reg(__m512i x, uint32_t reg)
{
    return _mm512_xor_si512(
        x, _mm512_inserti32x4(_mm512_setzero_si512(), fc_fold_init128(reg),
                              0));
}

/* Four registers as one, x[i] 512 * (3 - i) bits before x[3]. */
static inline __m512i
merge4(__m512i x[4], __m512i k1024, __m512i k512)
{
    x[0] = fold512_add(x[0], k1024, x[2]);
    x[1] = fold512_add(x[1], k1024, x[3]);
    return fold512_add(x[0], k512, x[1]);
}

/* The CRC (inverted, as zlib returns it) of the message whose last 64
 * bytes modulo P are r, followed by p[0..n), n < 64: 512 bits to 256 (the
 * low half holds the earlier 32 bytes), the tail folded in by 32 and 16,
 * then 16 + (n < 16) bytes left to the finishing kernel. */
static uint32_t
finish512(const fold_poly *poly, __m512i r, const unsigned char *p,
          size_t n)
{
    const __m256i k256 = fold_k256(poly->k256[0], poly->k256[1]);
    const __m128i k128 = fc_fold_k128(poly->k128[0], poly->k128[1]);
    __m256i y = _mm256_xor_si256(fold256(_mm512_castsi512_si256(r), k256),
                                 _mm512_extracti64x4_epi64(r, 1));
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
    return fc_fold_finish(z, p, n, poly->finish);
}

/* From this size on, the two halves of the input run in one loop, four
 * registers each, and their CRCs are combined: two streams read from
 * memory at once instead of one. */
#define SPLIT_MIN ((size_t)2 << 20)

/* p[0..2 * half), half a multiple of 256 and at least 512. */
static uint32_t
fold_halves(const fold_poly *poly, uint32_t crc, const unsigned char *p,
            size_t half)
{
    const __m512i k2048 = fold_k512(poly->k2048[0], poly->k2048[1]);
    const __m512i k1024 = fold_k512(poly->k1024[0], poly->k1024[1]);
    const __m512i k512 = fold_k512(poly->k512[0], poly->k512[1]);
    const unsigned char *q = p + half;
    __m512i x[4], y[4];

    for (int i = 0; i < 4; i++) {
        x[i] = load512(p + 64 * i);
        y[i] = load512(q + 64 * i);
    }
    x[0] = with_reg(x[0], ~crc);
    y[0] = with_reg(y[0], 0xffffffffu);   /* the second half's CRC from 0 */
    for (size_t off = 256; off < half; off += 256) {
        for (int i = 0; i < 4; i++) {
            _mm_prefetch((const char *)p + off + PREFETCH_AHEAD + 64 * i,
                         _MM_HINT_T0);
            _mm_prefetch((const char *)q + off + PREFETCH_AHEAD + 64 * i,
                         _MM_HINT_T0);
        }
        for (int i = 0; i < 4; i++) {
            x[i] = fold512_add(x[i], k2048, load512(p + off + 64 * i));
            y[i] = fold512_add(y[i], k2048, load512(q + off + 64 * i));
        }
    }
    uint32_t a = finish512(poly, merge4(x, k1024, k512), p + half, 0);
    uint32_t b = finish512(poly, merge4(y, k1024, k512), q + half, 0);
    return poly->combine(a, b, half);
}

static uint32_t
fold_crc(const fold_poly *poly, uint32_t crc, const unsigned char *p,
         size_t n)
{
    if (n < AVX512_MIN) {
        return poly->small(crc, p, n);
    }
    if ((uintptr_t)p & 63) {
        /* A 64-byte load that crosses a cache line costs a second read:
         * unaligned, the loop runs ~20% slower (a bytes object's data sits
         * at 48 mod 64).  The head goes to the 256-bit kernel. */
        size_t head = 64 - ((uintptr_t)p & 63);
        crc = poly->small(crc, p, head);
        p += head;
        n -= head;
    }
    if (n >= SPLIT_MIN) {
        size_t half = (n / 2) & ~(size_t)255;
        crc = fold_halves(poly, crc, p, half);
        return fold_crc(poly, crc, p + 2 * half, n - 2 * half);
    }
    const __m512i k4096 = fold_k512(poly->k4096[0], poly->k4096[1]);
    const __m512i k2048 = fold_k512(poly->k2048[0], poly->k2048[1]);
    const __m512i k1024 = fold_k512(poly->k1024[0], poly->k1024[1]);
    const __m512i k512 = fold_k512(poly->k512[0], poly->k512[1]);

    __m512i x[8];
    for (int i = 0; i < 8; i++) {
        x[i] = load512(p + 64 * i);
    }
    x[0] = with_reg(x[0], ~crc);
    p += 512;
    n -= 512;
    while (n >= 512) {
        /* Past the cache, the hardware prefetcher alone leaves the loop
         * waiting on memory (1 MiB runs the same with this).  Reading
         * 4 KiB past the end is harmless: a prefetch never faults. */
        for (int i = 0; i < 8; i++) {
            _mm_prefetch((const char *)p + PREFETCH_AHEAD + 64 * i,
                         _MM_HINT_T0);
        }
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
    return finish512(poly, merge4(r, k1024, k512), p, n);
}

uint32_t
fc_crc32_avx512vp(uint32_t crc, const unsigned char *p, size_t n)
{
    return fold_crc(&CRC32, crc, p, n);
}

uint32_t
fc_crc32c_avx512vp(uint32_t crc, const unsigned char *p, size_t n)
{
    return fold_crc(&CRC32C, crc, p, n);
}

#endif /* __x86_64__ */
