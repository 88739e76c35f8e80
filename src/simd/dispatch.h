/* simd/dispatch.h - every kernel table of one SIMD level, chosen in one
 * place: fc_simd_pick() (simd/dispatch.c), from the CPU features probed in
 * exec.  The module keeps the result in fc_state.kernels and asks again
 * when the level changes; everything else only reads it.  No Python API.
 */
#ifndef FC_SIMD_DISPATCH_H
#define FC_SIMD_DISPATCH_H

#include "checksum/checksum.h"
#include "simd/blake3_kernels.h"
#include "simd/sha_simd.h"
#include "simd/xxh_kernels.h"

typedef struct fc_kernels {
    fc_cksum_kernels cksum;             /* CRC-32, CRC-32C, Adler-32 */
    const fc_xxh_kernels *xxh;          /* the xxHash family */
    const fc_blake3_kernels *blake3;    /* BLAKE3's lanes */
    /* hash_many's SHA-256/224 two at a time, or NULL (OpenSSL's code). */
    fc_sha256_pair_fn sha256_pair;
} fc_kernels;

/* Fill *k with the fastest kernels of each family that `features`
 * (FC_CPU_* bits) run within `level` (FC_SIMD_*). */
void fc_simd_pick(fc_kernels *k, unsigned features, int level);

#endif
