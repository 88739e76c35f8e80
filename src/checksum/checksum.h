/* checksum.h - CRC-32 (zlib), CRC-32C (Castagnoli) and Adler-32 kernels.
 *
 * Each kernel continues a running value exactly as zlib does:
 * crc32(0, "", 0) == 0, adler32(1, "", 0) == 1, and
 * k(k(v, a, na), b, nb) == k(v, a||b, na + nb).  Several implementations
 * exist per kernel (portable C, SSE4.2/PCLMULQDQ, AVX2/VPCLMULQDQ,
 * AVX-512); simd/dispatch.c chooses the best one allowed by the SIMD level
 * and the CPU's features.  No Python API here.
 */
#ifndef FC_CHECKSUM_H
#define FC_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

typedef uint32_t (*fc_cksum_fn)(uint32_t value, const unsigned char *p,
                                size_t n);

typedef struct fc_cksum_kernels {
    fc_cksum_fn crc32;
    fc_cksum_fn crc32c;
    fc_cksum_fn adler32;
    /* Short names of the implementations picked, for info(). */
    const char *crc32_impl;
    const char *crc32c_impl;
    const char *adler32_impl;
} fc_cksum_kernels;

/* Value of the concatenation A||B from the values of A and B (B computed
 * from the initial value: 0 for the CRCs, 1 for Adler-32). */
uint32_t fc_crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
uint32_t fc_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
uint32_t fc_adler32_combine(uint32_t adler_a, uint32_t adler_b,
                            uint64_t len_b);

#endif
