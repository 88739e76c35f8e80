/* simd/xxh_short.c - the direct xxHash kernels that need no vector code,
 * compiled once for baseline x86-64 and shared by every kernel table:
 * XXH32 and XXH64 (scalar algorithms at any length), and XXH3 of inputs up
 * to XXH3_MIDSIZE_MAX (240) bytes, which xxhash.h hashes without its
 * vector loop.  Keeping them out of the AVX2 and AVX-512 files matters for
 * small calls: those files are built under `#pragma GCC optimize
 * ("unroll-loops")` (for their bulk loops), which stops GCC inlining
 * xxhash.h's little readers, so a 64-byte XXH3 there ran 2.3 times the
 * instructions it runs here (callgrind).  No Python API.
 */
#include <stddef.h>
#include <stdint.h>

#include "simd/xxh_kernels.h"

#define XXH_INLINE_ALL
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

uint32_t
fc_xxh32_direct(const void *data, size_t len, uint32_t seed)
{
    return XXH32(data, len, seed);
}

uint64_t
fc_xxh64_direct(const void *data, size_t len, uint64_t seed)
{
    return XXH64(data, len, seed);
}

uint64_t
fc_xxh3_64_short(const void *data, size_t len, uint64_t seed)
{
    return XXH3_64bits_withSeed(data, len, seed);
}

fc_u128
fc_xxh3_128_short(const void *data, size_t len, uint64_t seed)
{
    XXH128_hash_t h = XXH3_128bits_withSeed(data, len, seed);
    fc_u128 r;
    r.hi = h.high64;
    r.lo = h.low64;
    return r;
}
