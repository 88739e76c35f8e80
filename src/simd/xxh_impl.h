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

#include "hash.h"

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

static void
kernel_oneshot(int alg, const void *data, size_t len, uint64_t seed,
               unsigned char *out)
{
    switch (alg) {
    case FC_XXH32:
        put_be32(out, XXH32(data, len, (uint32_t)seed));
        break;
    case FC_XXH64:
        put_be64(out, XXH64(data, len, seed));
        break;
    case FC_XXH3_64:
        put_be64(out, XXH3_64bits_withSeed(data, len, seed));
        break;
    default:
        put_128(out, XXH3_128bits_withSeed(data, len, seed));
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

const fc_xxh_kernels FC_XXH_TABLE = {
    FC_XXH_IMPL, kernel_oneshot, kernel_reset, kernel_update, kernel_digest,
};
