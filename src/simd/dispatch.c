/* simd/dispatch.c - fc_cksum_pick(): the fastest checksum kernels the CPU
 * runs within a SIMD level.  No Python API.
 *
 * Per level, on x86-64 with the features each needs:
 *   sse4.2  CRC-32 and CRC-32C by PCLMULQDQ folding, Adler-32 with SSSE3
 *   avx2    Adler-32 with AVX2; with VPCLMULQDQ both CRCs fold on 256 bits
 *   avx512  both CRCs fold on 512 bits (AVX-512 F/VL + VPCLMULQDQ);
 *           Adler-32 on 512 bits with AVX512-VNNI (F/BW/VL + VNNI)
 * Everything else, and every level elsewhere, uses the portable kernels.
 */
#include "checksum/checksum.h"
#include "core/cpu.h"
#include "simd/cksum_simd.h"

void
fc_cksum_pick(fc_cksum_kernels *k, unsigned features, int level)
{
    k->crc32 = fc_crc32_portable;
    k->crc32c = fc_crc32c_portable;
    k->adler32 = fc_adler32_portable;
    k->crc32_impl = k->crc32c_impl = k->adler32_impl = "portable";
#if defined(__x86_64__)
    const unsigned sse42 = FC_CPU_SSE42 | FC_CPU_SSSE3 | FC_CPU_PCLMUL;
    const unsigned avx2 = sse42 | FC_CPU_AVX | FC_CPU_AVX2;
    const unsigned vpclmul = avx2 | FC_CPU_VPCLMULQDQ;
    const unsigned avx512vp = vpclmul | FC_CPU_AVX512F | FC_CPU_AVX512VL;
    const unsigned avx512vnni = avx2 | FC_CPU_AVX512F | FC_CPU_AVX512BW |
                                FC_CPU_AVX512VL | FC_CPU_AVX512VNNI;

    if (level >= FC_SIMD_SSE42 && (features & sse42) == sse42) {
        k->crc32 = fc_crc32_pclmul;
        k->crc32_impl = "pclmul-sse4.2";
        k->crc32c = fc_crc32c_pclmul;
        k->crc32c_impl = "pclmul-sse4.2";
        k->adler32 = fc_adler32_sse42;
        k->adler32_impl = "ssse3";
    }
    if (level >= FC_SIMD_AVX2 && (features & avx2) == avx2) {
        k->adler32 = fc_adler32_avx2;
        k->adler32_impl = "avx2";
    }
    if (level >= FC_SIMD_AVX2 && (features & vpclmul) == vpclmul) {
        k->crc32 = fc_crc32_vpclmul;
        k->crc32_impl = "vpclmul-avx2";
        k->crc32c = fc_crc32c_vpclmul;
        k->crc32c_impl = "vpclmul-avx2";
    }
    /* FC_SIMD_AVX512: both CRCs fold on 512 bits. */
    if (level >= FC_SIMD_AVX512 && (features & avx512vp) == avx512vp) {
        k->crc32 = fc_crc32_avx512vp;
        k->crc32_impl = "vpclmul-avx512";
        k->crc32c = fc_crc32c_avx512vp;
        k->crc32c_impl = "vpclmul-avx512";
    }
    /* Adler-32 on 512 bits needs VNNI's vpdpbusd (weighted byte sums into
     * 32-bit lanes); without VNNI the AVX2 kernel stays.  The 512-bit
     * kernel hands short inputs and tails to the AVX2 one, hence avx2 in
     * the mask. */
    if (level >= FC_SIMD_AVX512 && (features & avx512vnni) == avx512vnni) {
        k->adler32 = fc_adler32_avx512;
        k->adler32_impl = "avx512-vnni";
    }
#else
    (void)features;
    (void)level;
#endif
}
