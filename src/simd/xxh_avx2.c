/* simd/xxh_avx2.c - the xxHash kernels compiled for AVX2 (setup.py gives
 * this file -mavx2); only the table: simd/dispatch.c uses it from the
 * "avx2" level up.  Long XXH3 inputs run xxh_impl.h's AVX2 loop; the
 * 512-bit one (simd/xxh_fused512.h) is here for the tests only. */
/* Unrolling the stripe loop lets GCC keep the accumulators in registers:
 * about 10% faster on inputs not aligned to 32 bytes (every large bytes
 * object: its data sits 32 bytes past a 16-byte-aligned malloc block). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("unroll-loops")
#endif
#if defined(__x86_64__) || defined(_M_X64)
#define XXH_VECTOR 2    /* XXH_AVX2 */
#endif
#define FC_XXH3_FUSED_AVX2 1
/* The 512-bit loop too, as the table's test-only xxh3_512 entry. */
#define FC_XXH3_FUSED512 1
#define FC_XXH_TABLE fc_xxh_avx2
#define FC_XXH_IMPL "avx2"
#include "simd/xxh_impl.h"
