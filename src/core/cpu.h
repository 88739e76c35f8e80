/* cpu.h - CPU feature probe and the SIMD levels fastconc dispatches on.
 *
 * Kernels are compiled for several targets in separate files and picked at
 * run time; nothing is compiled for the build machine's CPU.  No Python API.
 */
#ifndef FC_CPU_H
#define FC_CPU_H

enum {
    FC_CPU_SSE2 = 1u << 0,
    FC_CPU_SSSE3 = 1u << 1,
    FC_CPU_SSE41 = 1u << 2,
    FC_CPU_SSE42 = 1u << 3,
    FC_CPU_PCLMUL = 1u << 4,
    FC_CPU_AVX = 1u << 5,
    FC_CPU_AVX2 = 1u << 6,
    FC_CPU_BMI2 = 1u << 7,
    FC_CPU_AVX512F = 1u << 8,
    FC_CPU_AVX512BW = 1u << 9,
    FC_CPU_AVX512VL = 1u << 10,
    FC_CPU_VPCLMULQDQ = 1u << 11,
    FC_CPU_SHA = 1u << 12,
    FC_CPU_VAES = 1u << 13,
    FC_CPU_AVX512VNNI = 1u << 14,
};

/* SIMD levels, each implying the ones below it.  A kernel at level L uses
 * the best code it has for the CPU's features among those allowed by L. */
enum {
    FC_SIMD_PORTABLE = 0,   /* plain C */
    FC_SIMD_SSE42 = 1,      /* SSE4.2 (crc32 instruction) + PCLMULQDQ */
    FC_SIMD_AVX2 = 2,       /* AVX2 (+ VPCLMULQDQ on 256-bit registers) */
    FC_SIMD_AVX512 = 3,     /* AVX-512 F/BW/VL (+ VPCLMULQDQ on 512-bit) */
    FC_SIMD_COUNT = 4
};

/* Probe the running CPU (cpuid + xgetbv: the OS must save the registers). */
unsigned fc_cpu_probe(void);
/* Highest level the features allow. */
int fc_cpu_best_level(unsigned features);
/* "portable", "sse4.2", "avx2", "avx512" */
const char *fc_simd_level_name(int level);
/* Level from its name, or -1. */
int fc_simd_level_from_name(const char *name);
/* Names of the feature bits set, in a fixed order, for info(). */
const char *fc_cpu_feature_name(unsigned bit);

#endif
