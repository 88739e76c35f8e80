/* simd/xxh_kernels.h - the xxHash kernel tables, one per instruction set
 * (simd/xxh_scalar.c, xxh_sse2.c, xxh_avx2.c, xxh_avx512.c, all built from
 * simd/xxh_impl.h), and the streaming-state helpers every table shares
 * (simd/xxh_state.c).  simd/dispatch.c picks the table for a SIMD level.
 * Nothing here uses the Python API but the raw allocator.
 */
#ifndef FC_XXH_KERNELS_H
#define FC_XXH_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* The xxHash family members. */
enum { FC_XXH32 = 0, FC_XXH64 = 1, FC_XXH3_64 = 2, FC_XXH3_128 = 3 };

/* A 128-bit value, as two 64-bit halves. */
typedef struct fc_u128 {
    uint64_t hi, lo;
} fc_u128;

/* Digests are written in xxHash's canonical (big-endian) byte order, as
 * python-xxhash and xxhsum print them. */
typedef struct fc_xxh_kernels {
    const char *impl;   /* "scalar", "sse2", "avx2", "avx512" */
    void (*oneshot)(int alg, const void *data, size_t len, uint64_t seed,
                    unsigned char *out);
    /* One member each, returning the value itself: the per-algorithm
     * one-shots (xxh3_64_intdigest(), ...) call these directly, with no
     * dispatch on the algorithm and no byte order to undo. */
    uint32_t (*xxh32)(const void *data, size_t len, uint32_t seed);
    uint64_t (*xxh64)(const void *data, size_t len, uint64_t seed);
    uint64_t (*xxh3_64)(const void *data, size_t len, uint64_t seed);
    fc_u128 (*xxh3_128)(const void *data, size_t len, uint64_t seed);
    void (*reset)(int alg, void *state, uint64_t seed);
    void (*update)(int alg, void *state, const void *data, size_t len);
    void (*digest)(int alg, const void *state, unsigned char *out);
    /* XXH3 (alg FC_XXH3_64, the value in .lo, or FC_XXH3_128) with inputs
     * over 240 bytes by the 512-bit generic-vector loop (simd/
     * xxh_fused512.h) compiled for this table, or NULL where the table has
     * none.  The "avx512" table's xxh3_64/xxh3_128 use that loop; the
     * "avx2" table has it only for the tests (_core._xxh3_512), so that a
     * CPU without AVX-512 still runs its logic. */
    fc_u128 (*xxh3_512)(int alg, const void *data, size_t len,
                        uint64_t seed);
} fc_xxh_kernels;

/* The direct kernels without vector code (simd/xxh_short.c): XXH32 and
 * XXH64 at any length, XXH3 up to 240 bytes (XXH3_MIDSIZE_MAX). */
#define FC_XXH3_SHORT_MAX 240
uint32_t fc_xxh32_direct(const void *data, size_t len, uint32_t seed);
uint64_t fc_xxh64_direct(const void *data, size_t len, uint64_t seed);
uint64_t fc_xxh3_64_short(const void *data, size_t len, uint64_t seed);
fc_u128 fc_xxh3_128_short(const void *data, size_t len, uint64_t seed);

extern const fc_xxh_kernels fc_xxh_scalar;
extern const fc_xxh_kernels fc_xxh_sse2;
extern const fc_xxh_kernels fc_xxh_avx2;
extern const fc_xxh_kernels fc_xxh_avx512;

/* Streaming states: allocated suitably aligned with the raw allocator
 * (callable without the GIL); NULL on failure.  The layout is the same for
 * every kernel table, so any table can work on any state. */
void *fc_xxh_state_new(int alg);
void fc_xxh_state_free(int alg, void *state);
void fc_xxh_state_copy(int alg, void *dst, const void *src);

#endif
