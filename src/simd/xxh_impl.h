/* xxh_impl.h - the xxHash kernels, instantiated once per instruction set.
 *
 * Include after defining FC_XXH_TABLE (the table's name), FC_XXH_IMPL (its
 * description) and, on x86-64, XXH_VECTOR.  xxhash.h is used header-only
 * with XXH_INLINE_ALL, so every function is static to the including
 * translation unit and compiled with that unit's instruction-set flags: the
 * module as a whole stays baseline and the CPU picks a table at run time.
 * No Python API here.
 */
#include <string.h>

#include "simd/xxh_kernels.h"

#define XXH_INLINE_ALL
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

static void
put_be32(unsigned char *out, uint32_t v)
{
    for (int i = 3; i >= 0; i--) {
        out[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static void
put_be64(unsigned char *out, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static void
put_128(unsigned char *out, XXH128_hash_t h)
{
    put_be64(out, h.high64);
    put_be64(out + 8, h.low64);
}

/* The fused XXH3 long-input loops: AVX2 intrinsics (FC_XXH3_FUSED_AVX2)
 * and the 512-bit generic-vector one (FC_XXH3_FUSED512, simd/
 * xxh_fused512.h).  Both need the compiler's vector extensions and at
 * least AVX2 (the AVX-512 file is built with -mavx2 too). */
#if defined(__GNUC__) && defined(__AVX2__) &&                             \
    (defined(FC_XXH3_FUSED_AVX2) || defined(FC_XXH3_FUSED512))
#define FUSED_ANY 1
/* XXH3 of more than XXH3_MIDSIZE_MAX bytes, the same result as xxhash.h's
 * long-input path (spec: doc/xxhash_spec.md, "XXH3 long inputs"), with the
 * eight 64-bit accumulators held in registers across each block of 16
 * stripes.  libxxhash 0.8.1's loop loads and stores them around every
 * 64-byte stripe, which measured ~15% slower at 1 MiB than the newer
 * releases python-xxhash bundles. */
#define FUSED_SECRET XXH3_SECRET_DEFAULT_SIZE           /* 192 */
#define FUSED_STRIPES ((FUSED_SECRET - XXH_STRIPE_LEN) / 8) /* per block */
#endif

#if defined(FUSED_ANY) && defined(FC_XXH3_FUSED512)
#include "simd/xxh_fused512.h"
#endif

#if defined(FUSED_ANY) && defined(FC_XXH3_FUSED_AVX2)
#include <immintrin.h>
/* The AVX2 loop: the accumulators in two ymm registers. */

static inline void
fused_stripe(__m256i *a0, __m256i *a1, const unsigned char *in,
             const unsigned char *key)
{
    __m256i d0 = _mm256_loadu_si256((const __m256i *)in);
    __m256i d1 = _mm256_loadu_si256((const __m256i *)(in + 32));
    __m256i k0 = _mm256_xor_si256(d0, _mm256_loadu_si256((const __m256i *)key));
    __m256i k1 = _mm256_xor_si256(
        d1, _mm256_loadu_si256((const __m256i *)(key + 32)));
    /* acc += swap(data) + lo32(data ^ key) * hi32(data ^ key) */
    __m256i p0 = _mm256_mul_epu32(k0, _mm256_srli_epi64(k0, 32));
    __m256i p1 = _mm256_mul_epu32(k1, _mm256_srli_epi64(k1, 32));
    *a0 = _mm256_add_epi64(*a0, _mm256_add_epi64(
        p0, _mm256_shuffle_epi32(d0, _MM_SHUFFLE(1, 0, 3, 2))));
    *a1 = _mm256_add_epi64(*a1, _mm256_add_epi64(
        p1, _mm256_shuffle_epi32(d1, _MM_SHUFFLE(1, 0, 3, 2))));
}

static inline __m256i
fused_scramble(__m256i a, const unsigned char *key)
{
    const __m256i prime = _mm256_set1_epi32((int)XXH_PRIME32_1);
    a = _mm256_xor_si256(a, _mm256_srli_epi64(a, 47));
    a = _mm256_xor_si256(a, _mm256_loadu_si256((const __m256i *)key));
    /* a * PRIME32_1 mod 2^64, from two 32x32->64 products */
    __m256i hi = _mm256_shuffle_epi32(a, _MM_SHUFFLE(0, 3, 0, 1));
    return _mm256_add_epi64(
        _mm256_mul_epu32(a, prime),
        _mm256_slli_epi64(_mm256_mul_epu32(hi, prime), 32));
}

/* Fills acc[8] for len > XXH3_MIDSIZE_MAX under a 192-byte secret. */
static void
fused_accumulate(xxh_u64 *acc, const unsigned char *in, size_t len,
                 const unsigned char *secret)
{
    const size_t block = XXH_STRIPE_LEN * FUSED_STRIPES;
    size_t nblocks = (len - 1) / block;
    __m256i a0 = _mm256_loadu_si256((const __m256i *)acc);
    __m256i a1 = _mm256_loadu_si256((const __m256i *)(acc + 4));
    for (size_t b = 0; b < nblocks; b++) {
        const unsigned char *p = in + b * block;
        for (size_t s = 0; s < FUSED_STRIPES; s++) {
            /* 1 KiB ahead (libxxhash uses 384 B): on inputs read
             * from memory this measured 2-8% faster here, and the same on
             * cache-resident ones. */
            XXH_PREFETCH(p + s * XXH_STRIPE_LEN + 1024);
            fused_stripe(&a0, &a1, p + s * XXH_STRIPE_LEN, secret + s * 8);
        }
        a0 = fused_scramble(a0, secret + FUSED_SECRET - XXH_STRIPE_LEN);
        a1 = fused_scramble(a1, secret + FUSED_SECRET - 32);
    }
    /* the last, partial block, then the input's last 64 bytes */
    const unsigned char *p = in + nblocks * block;
    size_t last = ((len - 1) - nblocks * block) / XXH_STRIPE_LEN;
    for (size_t s = 0; s < last; s++) {
        fused_stripe(&a0, &a1, p + s * XXH_STRIPE_LEN, secret + s * 8);
    }
    fused_stripe(&a0, &a1, in + len - XXH_STRIPE_LEN,
                 secret + FUSED_SECRET - XXH_STRIPE_LEN - 7);
    _mm256_storeu_si256((__m256i *)acc, a0);
    _mm256_storeu_si256((__m256i *)(acc + 4), a1);
}
#endif

#if defined(FUSED_ANY)
typedef void (*fused_acc_fn)(xxh_u64 *acc, const unsigned char *in,
                             size_t len, const unsigned char *secret);

/* XXH3_64bits_withSeed / XXH3_128bits_withSeed for len > 240 (for
 * FC_XXH3_64 the value is the low half), the accumulators filled by
 * `accumulate` (one of the fused loops). */
static fc_u128
fused_long(fused_acc_fn accumulate, int alg, const void *data, size_t len,
           uint64_t seed)
{
    XXH_ALIGN(64) unsigned char custom[FUSED_SECRET];
    XXH_ALIGN(64) xxh_u64 acc[XXH_ACC_NB] = XXH3_INIT_ACC;
    const unsigned char *secret = XXH3_kSecret;
    if (seed != 0) {
        XXH3_initCustomSecret(custom, seed);
        secret = custom;
    }
    accumulate(acc, data, len, secret);
    /* merge: starting from the 11th secret byte; the 128-bit high half
     * from 11 bytes before the secret's last 64 */
    fc_u128 h;
    h.lo = XXH3_mergeAccs(acc, secret + 11, (xxh_u64)len * XXH_PRIME64_1);
    h.hi = alg == FC_XXH3_64
               ? 0
               : XXH3_mergeAccs(acc, secret + FUSED_SECRET - 64 - 11,
                                ~((xxh_u64)len * XXH_PRIME64_2));
    return h;
}
#endif

/* The direct kernels (see fc_xxh_kernels): XXH32, XXH64 and short XXH3
 * inputs are simd/xxh_short.c's (no vector code; see there why not
 * compiled here); long XXH3 inputs run this table's vector loop. */
static uint64_t
kernel_xxh3_64(const void *data, size_t len, uint64_t seed)
{
    if (len <= FC_XXH3_SHORT_MAX) {
        return fc_xxh3_64_short(data, len, seed);
    }
#if defined(FUSED_ANY) && defined(FC_XXH3_FUSED_AVX2)
    return fused_long(fused_accumulate, FC_XXH3_64, data, len, seed).lo;
#elif defined(FUSED_ANY)
    return fused_long(fused512_accumulate, FC_XXH3_64, data, len, seed).lo;
#else
    return XXH3_64bits_withSeed(data, len, seed);
#endif
}

static fc_u128
kernel_xxh3_128(const void *data, size_t len, uint64_t seed)
{
    if (len <= FC_XXH3_SHORT_MAX) {
        return fc_xxh3_128_short(data, len, seed);
    }
#if defined(FUSED_ANY) && defined(FC_XXH3_FUSED_AVX2)
    return fused_long(fused_accumulate, FC_XXH3_128, data, len, seed);
#elif defined(FUSED_ANY)
    return fused_long(fused512_accumulate, FC_XXH3_128, data, len, seed);
#else
    XXH128_hash_t h = XXH3_128bits_withSeed(data, len, seed);
    fc_u128 r;
    r.hi = h.high64;
    r.lo = h.low64;
    return r;
#endif
}

static void
kernel_oneshot(int alg, const void *data, size_t len, uint64_t seed,
               unsigned char *out)
{
    fc_u128 h;
    switch (alg) {
    case FC_XXH32:
        put_be32(out, fc_xxh32_direct(data, len, (uint32_t)seed));
        break;
    case FC_XXH64:
        put_be64(out, fc_xxh64_direct(data, len, seed));
        break;
    case FC_XXH3_64:
        put_be64(out, kernel_xxh3_64(data, len, seed));
        break;
    default:
        h = kernel_xxh3_128(data, len, seed);
        put_be64(out, h.hi);
        put_be64(out + 8, h.lo);
        break;
    }
}

static void
kernel_reset(int alg, void *state, uint64_t seed)
{
    switch (alg) {
    case FC_XXH32:
        XXH32_reset(state, (uint32_t)seed);
        break;
    case FC_XXH64:
        XXH64_reset(state, seed);
        break;
    case FC_XXH3_64:
        XXH3_64bits_reset_withSeed(state, seed);
        break;
    default:
        XXH3_128bits_reset_withSeed(state, seed);
        break;
    }
}

static void
kernel_update(int alg, void *state, const void *data, size_t len)
{
    switch (alg) {
    case FC_XXH32:
        XXH32_update(state, data, len);
        break;
    case FC_XXH64:
        XXH64_update(state, data, len);
        break;
    case FC_XXH3_64:
        XXH3_64bits_update(state, data, len);
        break;
    default:
        XXH3_128bits_update(state, data, len);
        break;
    }
}

static void
kernel_digest(int alg, const void *state, unsigned char *out)
{
    switch (alg) {
    case FC_XXH32:
        put_be32(out, XXH32_digest(state));
        break;
    case FC_XXH64:
        put_be64(out, XXH64_digest(state));
        break;
    case FC_XXH3_64:
        put_be64(out, XXH3_64bits_digest(state));
        break;
    default:
        put_128(out, XXH3_128bits_digest(state));
        break;
    }
}

#if defined(FUSED_ANY) && defined(FC_XXH3_FUSED512)
/* The table's xxh3_512 entry: XXH3 (alg FC_XXH3_64 or FC_XXH3_128) at
 * any length, inputs over 240 bytes by the 512-bit loop whichever loop
 * the table's own kernels use. */
static fc_u128
kernel_xxh3_512(int alg, const void *data, size_t len, uint64_t seed)
{
    if (len <= FC_XXH3_SHORT_MAX) {
        if (alg == FC_XXH3_64) {
            fc_u128 h = {0, fc_xxh3_64_short(data, len, seed)};
            return h;
        }
        return fc_xxh3_128_short(data, len, seed);
    }
    return fused_long(fused512_accumulate, alg, data, len, seed);
}
#define KERNEL_XXH3_512 kernel_xxh3_512
#else
#define KERNEL_XXH3_512 NULL
#endif

const fc_xxh_kernels FC_XXH_TABLE = {
    FC_XXH_IMPL, kernel_oneshot, fc_xxh32_direct, fc_xxh64_direct,
    kernel_xxh3_64, kernel_xxh3_128, kernel_reset, kernel_update, kernel_digest,
    KERNEL_XXH3_512,
};
