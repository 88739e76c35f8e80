/* xxh_avx2.c - the xxHash kernels compiled for AVX2 (setup.py gives this
 * file -mavx2); used only when the running CPU has AVX2. */
#if defined(__x86_64__) || defined(_M_X64)
#define XXH_VECTOR 2    /* XXH_AVX2 */
#endif
#define FC_XXH_TABLE fc_xxh_avx2
#define FC_XXH_IMPL "avx2"
#include "simd/xxh_impl.h"
