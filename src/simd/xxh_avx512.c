/* xxh_avx512.c - the xxHash kernels compiled for AVX-512 (setup.py gives
 * this file -mavx512f/bw/vl); used only when the running CPU and OS support
 * AVX-512 (simd level "avx512"). */
#if defined(__x86_64__) || defined(_M_X64)
#define XXH_VECTOR 3    /* XXH_AVX512 */
#endif
#define FC_XXH_TABLE fc_xxh_avx512
#define FC_XXH_IMPL "avx512"
#include "simd/xxh_impl.h"
