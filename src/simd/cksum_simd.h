/* cksum_simd.h - checksum kernels per instruction set, for checksum.h's
 * fc_cksum_pick().  Each is only called when the CPU has its features. */
#ifndef FC_CKSUM_SIMD_H
#define FC_CKSUM_SIMD_H

#include <stddef.h>
#include <stdint.h>

uint32_t fc_crc32_portable(uint32_t crc, const unsigned char *p, size_t n);
uint32_t fc_crc32c_portable(uint32_t crc, const unsigned char *p, size_t n);
uint32_t fc_adler32_portable(uint32_t adler, const unsigned char *p,
                             size_t n);

#endif
