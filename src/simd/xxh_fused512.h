/* simd/xxh_fused512.h - XXH3's long-input loop with the eight 64-bit
 * accumulators in one 512-bit vector across each block of 16 stripes,
 * written once in GCC/clang generic vector extensions: fused512_accumulate()
 * fills acc[8] exactly as simd/xxh_impl.h's fused_accumulate() (AVX2
 * intrinsics) does, for the same inputs (more than 240 bytes, a 192-byte
 * secret: the default one or one derived from a seed).
 *
 * Included by simd/xxh_impl.h after xxhash.h, in the AVX-512 file (with
 * -mavx512f every operation below is one zmm instruction, and this is that
 * table's loop) and in the AVX2 file, where it is only a test entry: GCC 12
 * has no register for a 64-byte vector without AVX-512, keeps the
 * accumulators in memory and does the lane swap element by element, so the
 * intrinsics loop stays the AVX2 one; compiling this one there lets the
 * tests run the same C on CPUs without AVX-512.  It must not hold state or
 * use the Python API.
 */
#ifndef FC_XXH_FUSED512_H
#define FC_XXH_FUSED512_H

typedef uint64_t fc_u64x8 __attribute__((vector_size(64)));

/* XXH3's accumulate adds input lane i into accumulator lane i ^ 1. */
#if defined(__clang__)
#define F512_SWAP(v) __builtin_shufflevector((v), (v), 1, 0, 3, 2, 5, 4, 7, 6)
#else
#define F512_SWAP(v)                                                      \
    __builtin_shuffle((v), (fc_u64x8){1, 0, 3, 2, 5, 4, 7, 6})
#endif

/* Per lane, lo32(a) * lo32(b) as a 64-bit product (vpmuludq).  clang
 * turns the generic expression into that one instruction; GCC 12 does not
 * see that the high halves are zero and emits the full 64x64 multiply
 * (three vpmuludq, shifts and adds), so with AVX-512 it gets the
 * instruction by name.  Elsewhere (the AVX2 test entry) the generic form:
 * slower, the same value. */
#if defined(__AVX512F__) && !defined(__clang__)
#include <immintrin.h>
#define F512_MUL32(a, b)                                                  \
    ((fc_u64x8)_mm512_mul_epu32((__m512i)(a), (__m512i)(b)))
#else
#define F512_MUL32(a, b) (((a) & 0xffffffffULL) * ((b) & 0xffffffffULL))
#endif

/* Vectors pass by pointer: a 64-byte vector by value changes the ABI
 * without AVX-512 (GCC's -Wpsabi), even in an inlined call. */
static inline void
f512_stripe(fc_u64x8 *acc, const unsigned char *in, const unsigned char *key)
{
    fc_u64x8 d, k;
    memcpy(&d, in, sizeof(d));
    memcpy(&k, key, sizeof(k));
    k ^= d;
    /* acc += swap(data) + lo32(data ^ key) * hi32(data ^ key) */
    *acc += F512_SWAP(d) + F512_MUL32(k, k >> 32);
}

static inline void
f512_scramble(fc_u64x8 *acc, const unsigned char *key)
{
    const fc_u64x8 prime = {
        XXH_PRIME32_1, XXH_PRIME32_1, XXH_PRIME32_1, XXH_PRIME32_1,
        XXH_PRIME32_1, XXH_PRIME32_1, XXH_PRIME32_1, XXH_PRIME32_1};
    fc_u64x8 a = *acc, k;
    memcpy(&k, key, sizeof(k));
    a ^= a >> 47;
    a ^= k;
    /* a * PRIME32_1 mod 2^64, from two 32x32->64 products */
    *acc = F512_MUL32(a, prime) + (F512_MUL32(a >> 32, prime) << 32);
}

/* Fills acc[8] for len > XXH3_MIDSIZE_MAX under a FUSED_SECRET-byte
 * secret; the same block walk as fused_accumulate(). */
static void
fused512_accumulate(xxh_u64 *acc, const unsigned char *in, size_t len,
                    const unsigned char *secret)
{
    const size_t block = XXH_STRIPE_LEN * FUSED_STRIPES;
    size_t nblocks = (len - 1) / block;
    fc_u64x8 a;
    memcpy(&a, acc, sizeof(a));
    for (size_t b = 0; b < nblocks; b++) {
        const unsigned char *p = in + b * block;
        for (size_t s = 0; s < FUSED_STRIPES; s++) {
            /* 1 KiB ahead, as the AVX2 loop (see there) */
            XXH_PREFETCH(p + s * XXH_STRIPE_LEN + 1024);
            f512_stripe(&a, p + s * XXH_STRIPE_LEN, secret + s * 8);
        }
        f512_scramble(&a, secret + FUSED_SECRET - XXH_STRIPE_LEN);
    }
    /* the last, partial block, then the input's last 64 bytes */
    const unsigned char *p = in + nblocks * block;
    size_t last = ((len - 1) - nblocks * block) / XXH_STRIPE_LEN;
    for (size_t s = 0; s < last; s++) {
        f512_stripe(&a, p + s * XXH_STRIPE_LEN, secret + s * 8);
    }
    f512_stripe(&a, in + len - XXH_STRIPE_LEN,
                secret + FUSED_SECRET - XXH_STRIPE_LEN - 7);
    memcpy(acc, &a, sizeof(a));
}

#endif
