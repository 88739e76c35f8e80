/* cpu.c - CPU feature probe (see cpu.h).  No Python API. */
#include "core/cpu.h"

#include <stddef.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long
read_xcr0(void)
{
    unsigned int lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

unsigned
fc_cpu_probe(void)
{
    unsigned int a, b, c, d, max;
    unsigned f = 0;
    if (!__get_cpuid(0, &max, &b, &c, &d) || max < 1) {
        return 0;
    }
    __cpuid(1, a, b, c, d);
    if (d & (1u << 26)) f |= FC_CPU_SSE2;
    if (c & (1u << 9)) f |= FC_CPU_SSSE3;
    if (c & (1u << 19)) f |= FC_CPU_SSE41;
    if (c & (1u << 20)) f |= FC_CPU_SSE42;
    if (c & (1u << 1)) f |= FC_CPU_PCLMUL;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    unsigned long long xcr0 = osxsave ? read_xcr0() : 0;
    int ymm_ok = (xcr0 & 0x6) == 0x6;
    int zmm_ok = ymm_ok && (xcr0 & 0xe0) == 0xe0;
    if (avx && ymm_ok) f |= FC_CPU_AVX;
    if (max >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        if ((b & (1u << 5)) && (f & FC_CPU_AVX)) f |= FC_CPU_AVX2;
        if (b & (1u << 8)) f |= FC_CPU_BMI2;
        if (b & (1u << 29)) f |= FC_CPU_SHA;
        if (zmm_ok) {
            if (b & (1u << 16)) f |= FC_CPU_AVX512F;
            if (b & (1u << 30)) f |= FC_CPU_AVX512BW;
            if (b & (1u << 31)) f |= FC_CPU_AVX512VL;
            if (c & (1u << 11)) f |= FC_CPU_AVX512VNNI;
        }
        if (ymm_ok && (c & (1u << 10))) f |= FC_CPU_VPCLMULQDQ;
        if (ymm_ok && (c & (1u << 9))) f |= FC_CPU_VAES;
    }
    return f;
}
#else
unsigned
fc_cpu_probe(void)
{
    return 0;
}
#endif

int
fc_cpu_best_level(unsigned f)
{
    unsigned sse = FC_CPU_SSE2 | FC_CPU_SSSE3 | FC_CPU_SSE41 | FC_CPU_SSE42 |
                   FC_CPU_PCLMUL;
    unsigned avx2 = sse | FC_CPU_AVX | FC_CPU_AVX2;
    unsigned avx512 = avx2 | FC_CPU_AVX512F | FC_CPU_AVX512BW |
                      FC_CPU_AVX512VL;
    if ((f & avx512) == avx512) return FC_SIMD_AVX512;
    if ((f & avx2) == avx2) return FC_SIMD_AVX2;
    if ((f & sse) == sse) return FC_SIMD_SSE42;
    return FC_SIMD_PORTABLE;
}

static const char *const level_names[FC_SIMD_COUNT] = {
    "portable", "sse4.2", "avx2", "avx512"};

const char *
fc_simd_level_name(int level)
{
    if (level < 0 || level >= FC_SIMD_COUNT) {
        return "?";
    }
    return level_names[level];
}

int
fc_simd_level_from_name(const char *name)
{
    for (int i = 0; i < FC_SIMD_COUNT; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

static const char *const feature_names[] = {
    "sse2", "ssse3", "sse4.1", "sse4.2", "pclmulqdq", "avx", "avx2", "bmi2",
    "avx512f", "avx512bw", "avx512vl", "vpclmulqdq", "sha", "vaes",
    "avx512vnni"};

const char *
fc_cpu_feature_name(unsigned bit)
{
    if (bit >= sizeof(feature_names) / sizeof(feature_names[0])) {
        return NULL;
    }
    return feature_names[bit];
}
