/* simd/sha_simd.h - SHA-256/SHA-224 with the x86 SHA extensions
 * (simd/sha256_shani.c), two messages at a time, for hash_many;
 * simd/dispatch.c decides whether the CPU and the SIMD level allow it.
 */
#ifndef FC_SHA_SIMD_H
#define FC_SHA_SIMD_H

#include <stddef.h>
#include <stdint.h>

/* The kernel's signature (fc_kernels.sha256_pair). */
typedef void (*fc_sha256_pair_fn)(const uint32_t iv[8], int outlen,
                                  const unsigned char *a, size_t na,
                                  unsigned char *outa,
                                  const unsigned char *b, size_t nb,
                                  unsigned char *outb);

/* outa = the first outlen bytes of the digest of a[0..na) started from
 * iv (SHA-256's or SHA-224's initial words), and likewise outb for b,
 * the two messages hashed side by side; b == NULL hashes a alone.  Only
 * on x86-64 CPUs with SHA, SSE4.1 and SSSE3.  No Python API. */
void fc_sha256_pair_shani(const uint32_t iv[8], int outlen,
                          const unsigned char *a, size_t na,
                          unsigned char *outa,
                          const unsigned char *b, size_t nb,
                          unsigned char *outb);

#endif
