/* cksum_simd.h - checksum kernels per instruction set, for checksum.h's
 * simd/dispatch.c.  Each is only called when the CPU has its features.
 * All take and return the value as zlib does (CRCs inverted). */
#ifndef FC_CKSUM_SIMD_H
#define FC_CKSUM_SIMD_H

#include <stddef.h>
#include <stdint.h>

/* checksum/portable.c */
uint32_t fc_crc32_portable(uint32_t crc, const unsigned char *p, size_t n);
uint32_t fc_crc32c_portable(uint32_t crc, const unsigned char *p, size_t n);
uint32_t fc_adler32_portable(uint32_t adler, const unsigned char *p,
                             size_t n);

/* simd/cksum_sse42.c: SSE4.2 + SSSE3 + PCLMULQDQ */
uint32_t fc_crc32_pclmul(uint32_t crc, const unsigned char *p, size_t n);
uint32_t fc_crc32c_sse42(uint32_t crc, const unsigned char *p, size_t n);
uint32_t fc_crc32c_pclmul(uint32_t crc, const unsigned char *p, size_t n);
uint32_t fc_adler32_sse42(uint32_t adler, const unsigned char *p, size_t n);

/* simd/cksum_avx2.c: AVX2 */
uint32_t fc_adler32_avx2(uint32_t adler, const unsigned char *p, size_t n);

/* simd/cksum_avx512vnni.c: AVX-512 F/BW/VL + AVX512-VNNI (+ AVX2 for
 * short inputs and tails) */
uint32_t fc_adler32_avx512(uint32_t adler, const unsigned char *p, size_t n);

/* simd/cksum_vpclmul.c: AVX2 + VPCLMULQDQ */
uint32_t fc_crc32_vpclmul(uint32_t crc, const unsigned char *p, size_t n);
uint32_t fc_crc32c_vpclmul(uint32_t crc, const unsigned char *p, size_t n);

/* simd/cksum_avx512vp.c: AVX-512 F/VL + VPCLMULQDQ */
uint32_t fc_crc32_avx512vp(uint32_t crc, const unsigned char *p, size_t n);
uint32_t fc_crc32c_avx512vp(uint32_t crc, const unsigned char *p, size_t n);

#endif
