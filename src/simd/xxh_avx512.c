/* simd/xxh_avx512.c - the xxHash kernels compiled for AVX-512 (setup.py
 * gives this file -mavx512f/bw/vl); only the table: simd/dispatch.c uses it
 * at the "avx512" level (the CPU and OS support AVX-512). */
/* Unrolling the stripe loop lets GCC keep the accumulators in registers:
 * about 10% faster on inputs not aligned to 32 bytes (every large bytes
 * object: its data sits 32 bytes past a 16-byte-aligned malloc block). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("unroll-loops")
#endif
#if defined(__x86_64__) || defined(_M_X64)
#define XXH_VECTOR 3    /* XXH_AVX512 */
#endif
/* Long XXH3 inputs: the 512-bit loop (simd/xxh_fused512.h), in place of
 * libxxhash 0.8.1's (0.8x python-xxhash, which bundles 0.8.3). */
#define FC_XXH3_FUSED512 1
#define FC_XXH_TABLE fc_xxh_avx512
#define FC_XXH_IMPL "avx512"
#include "simd/xxh_impl.h"
