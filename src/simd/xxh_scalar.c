/* simd/xxh_scalar.c - the xxHash kernels in plain C (no vector code), for
 * the "portable" SIMD level and for checking the vector paths against.
 * Only the table; simd/dispatch.c decides when it is used. */
#define XXH_VECTOR 0    /* XXH_SCALAR */
#define FC_XXH_TABLE fc_xxh_scalar
#define FC_XXH_IMPL "scalar"
#include "simd/xxh_impl.h"
