/* simd/dispatch.c - fc_simd_pick(): the one place that chooses kernels.
 * For each family a table lists the implementations best first, each with
 * the lowest SIMD level that may use it and the CPU features it needs; the
 * first row that the level and the CPU allow wins, and the last row (plain
 * C, or none) always does.  It must not hold kernel code or use the Python
 * API, and nothing else may choose kernels.
 *
 * On x86-64, per level:
 *   sse4.2  CRC-32 and CRC-32C by PCLMULQDQ folding, Adler-32 with SSSE3;
 *           xxHash with SSE2; BLAKE3 4 lanes (SSE4.1); SHA-256/224 pairs
 *           with the SHA extensions (hash_many)
 *   avx2    Adler-32 with AVX2; with VPCLMULQDQ both CRCs fold on 256
 *           bits; xxHash with AVX2; BLAKE3 8 lanes
 *   avx512  both CRCs fold on 512 bits (AVX-512 F/VL + VPCLMULQDQ);
 *           Adler-32 on 512 bits with AVX512-VNNI (F/BW/VL + VNNI);
 *           xxHash with AVX-512; BLAKE3 16 lanes
 * Everything else, and every level elsewhere, uses the portable kernels
 * (OpenSSL's code for SHA-256).
 */
#include "simd/dispatch.h"

#include "blake3/impl.h"
#include "core/cpu.h"
#include "simd/cksum_simd.h"

/* What a row asks for: a level at least this, and these feature bits. */
typedef struct {
    int level;
    unsigned need;
} req;

static int
fits(req r, unsigned features, int level)
{
    return level >= r.level && (features & r.need) == r.need;
}

#if defined(__x86_64__)
#define X86 1
/* Feature sets, each kernel's needs.  Every file built for AVX2 or wider
 * is compiled with -mbmi2 (setup.py's ISA_FLAGS), so the compiler may emit
 * BMI2 instructions (shrx, mulx, ...) anywhere in it: each row using one
 * needs BMI2 as well, which the levels themselves do not imply. */
#define SSE42 (FC_CPU_SSE42 | FC_CPU_SSSE3 | FC_CPU_PCLMUL)
#define AVX2 (SSE42 | FC_CPU_AVX | FC_CPU_AVX2 | FC_CPU_BMI2)
#define AVX512 (AVX2 | FC_CPU_AVX512F | FC_CPU_AVX512BW | FC_CPU_AVX512VL)
#define VPCLMUL (AVX2 | FC_CPU_VPCLMULQDQ)
#define AVX512VP (VPCLMUL | FC_CPU_AVX512F | FC_CPU_AVX512BW | FC_CPU_AVX512VL)
/* The 512-bit Adler-32 hands short inputs and tails to the AVX2 one. */
#define AVX512VNNI (AVX2 | FC_CPU_AVX512F | FC_CPU_AVX512BW |             \
                    FC_CPU_AVX512VL | FC_CPU_AVX512VNNI)
#define SHANI (FC_CPU_SHA | FC_CPU_SSE41 | FC_CPU_SSSE3)
#else
#define X86 0
#endif

static const struct {
    req r;
    fc_cksum_fn crc32, crc32c;
    const char *impl;
} CRC[] = {
#if X86
    {{FC_SIMD_AVX512, AVX512VP}, fc_crc32_avx512vp, fc_crc32c_avx512vp,
     "vpclmul-avx512"},
    {{FC_SIMD_AVX2, VPCLMUL}, fc_crc32_vpclmul, fc_crc32c_vpclmul,
     "vpclmul-avx2"},
    {{FC_SIMD_SSE42, SSE42}, fc_crc32_pclmul, fc_crc32c_pclmul,
     "pclmul-sse4.2"},
#endif
    {{FC_SIMD_PORTABLE, 0}, fc_crc32_portable, fc_crc32c_portable,
     "portable"},
};

static const struct {
    req r;
    fc_cksum_fn adler32;
    const char *impl;
} ADLER[] = {
#if X86
    /* vpdpbusd (weighted byte sums into 32-bit lanes); without VNNI the
     * AVX2 kernel stays. */
    {{FC_SIMD_AVX512, AVX512VNNI}, fc_adler32_avx512, "avx512-vnni"},
    {{FC_SIMD_AVX2, AVX2}, fc_adler32_avx2, "avx2"},
    {{FC_SIMD_SSE42, SSE42}, fc_adler32_sse42, "ssse3"},
#endif
    {{FC_SIMD_PORTABLE, 0}, fc_adler32_portable, "portable"},
};

/* Each xxHash table is compiled for its level's instruction set (the
 * level guarantees it, fc_cpu_best_level) plus BMI2, which it does not. */
static const struct {
    req r;
    const fc_xxh_kernels *k;
} XXH[] = {
#if X86
    {{FC_SIMD_AVX512, AVX512}, &fc_xxh_avx512},
    {{FC_SIMD_AVX2, AVX2}, &fc_xxh_avx2},
    {{FC_SIMD_SSE42, 0}, &fc_xxh_sse2},
#endif
    {{FC_SIMD_PORTABLE, 0}, &fc_xxh_scalar},
};

static const struct {
    req r;
    const fc_blake3_kernels *k;
} BLAKE3[] = {
#if X86
    {{FC_SIMD_AVX512, AVX512 | FC_CPU_SSE41}, &fc_blake3_avx512},
    {{FC_SIMD_AVX2, AVX2 | FC_CPU_SSE41}, &fc_blake3_avx2},
    {{FC_SIMD_SSE42, FC_CPU_SSE41 | FC_CPU_SSSE3}, &fc_blake3_sse41},
#endif
    {{FC_SIMD_PORTABLE, 0}, &fc_blake3_portable},
};

/* From the sse4.2 level up, so that a forced "portable" level runs
 * OpenSSL's code instead. */
static const struct {
    req r;
    fc_sha256_pair_fn pair;
} SHA256_PAIR[] = {
#if X86
    {{FC_SIMD_SSE42, SHANI}, fc_sha256_pair_shani},
#endif
    {{FC_SIMD_PORTABLE, 0}, NULL},
};

/* Each family: the first row that fits (the last one always does). */
void
fc_simd_pick(fc_kernels *k, unsigned features, int level)
{
    size_t i;
    for (i = 0; !fits(CRC[i].r, features, level); i++) {
    }
    k->cksum.crc32 = CRC[i].crc32;
    k->cksum.crc32c = CRC[i].crc32c;
    k->cksum.crc32_impl = k->cksum.crc32c_impl = CRC[i].impl;
    for (i = 0; !fits(ADLER[i].r, features, level); i++) {
    }
    k->cksum.adler32 = ADLER[i].adler32;
    k->cksum.adler32_impl = ADLER[i].impl;
    for (i = 0; !fits(XXH[i].r, features, level); i++) {
    }
    k->xxh = XXH[i].k;
    for (i = 0; !fits(BLAKE3[i].r, features, level); i++) {
    }
    k->blake3 = BLAKE3[i].k;
    for (i = 0; !fits(SHA256_PAIR[i].r, features, level); i++) {
    }
    k->sha256_pair = SHA256_PAIR[i].pair;
}
