/* simd/xxh_sse2.c - the xxHash kernels with SSE2 (part of every x86-64 CPU,
 * so this file gets the baseline flags); plain C elsewhere.  Only the
 * table; simd/dispatch.c decides when it is used. */
#if defined(__x86_64__) || defined(_M_X64)
#define XXH_VECTOR 1    /* XXH_SSE2 */
#endif
#define FC_XXH_TABLE fc_xxh_sse2
#define FC_XXH_IMPL "sse2"
#include "simd/xxh_impl.h"
