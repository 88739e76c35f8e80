/* simd/blake3_kernels.h - the BLAKE3 kernel table type (the lanes
 * compressed at once by one SIMD width) and the SIMD kernels' prototypes
 * (simd/blake3_sse42.c, blake3_avx2.c, blake3_avx512.c).  The tables
 * themselves are in blake3/impl.c (a width's table falls back on narrower
 * kernels); simd/dispatch.c picks one per SIMD level.  No Python API.
 */
#ifndef FC_BLAKE3_KERNELS_H
#define FC_BLAKE3_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Compress `lanes` independent inputs at once.  Lane i reads nblocks
 * consecutive 64-byte blocks at base + i * stride, uses counter
 * counter + i * counter_step, the chaining value key for its first block,
 * and flags | flags_start on its first block, flags | flags_end on its last.
 * It writes its 32-byte chaining value to out + 32 * i.
 * Chunks: stride 1024, 16 blocks, step 1, CHUNK_START / CHUNK_END.
 * Parents: stride 64, 1 block, step 0, flags including PARENT. */
typedef void (*fc_blake3_lanes_fn)(const uint8_t *base, size_t stride,
                                   size_t nblocks, const uint32_t key[8],
                                   uint64_t counter, uint64_t counter_step,
                                   unsigned flags, unsigned flags_start,
                                   unsigned flags_end, uint8_t *out);

/* The same, and also lane i's chaining value before its last block to
 * prev + 32 * i (nblocks >= 2): the hasher keeps a final chunk's last
 * block open (it may need ROOT) while the chunk runs in a lane group. */
typedef void (*fc_blake3_lanes_prev_fn)(const uint8_t *base, size_t stride,
                                        size_t nblocks, const uint32_t key[8],
                                        uint64_t counter,
                                        uint64_t counter_step, unsigned flags,
                                        unsigned flags_start,
                                        unsigned flags_end, uint8_t *out,
                                        uint8_t *prev);

/* One compression: the 16 state words after the 7 rounds (before the
 * feed-forward), for a single block. */
typedef void (*fc_blake3_compress_fn)(const uint32_t cv[8],
                                      const uint8_t block[64],
                                      unsigned block_len, uint64_t counter,
                                      unsigned flags, uint32_t out[16]);

/* Kernels of one SIMD level: the widest first. */
typedef struct fc_blake3_kernels {
    const char *name;
    fc_blake3_compress_fn compress;
    int nkernels;
    int width[4];
    fc_blake3_lanes_fn fn[4];
    fc_blake3_lanes_prev_fn prev;   /* width[0] lanes, or NULL */
} fc_blake3_kernels;

/* SIMD kernels (simd/blake3_*.c), compiled with their ISA flags only. */
void fc_blake3_compress_sse41(const uint32_t cv[8], const uint8_t block[64],
                              unsigned block_len, uint64_t counter,
                              unsigned flags, uint32_t out[16]);
void fc_blake3_lanes4_sse41(const uint8_t *base, size_t stride,
                            size_t nblocks, const uint32_t key[8],
                            uint64_t counter, uint64_t counter_step,
                            unsigned flags, unsigned flags_start,
                            unsigned flags_end, uint8_t *out);
void fc_blake3_lanes8_avx2(const uint8_t *base, size_t stride,
                           size_t nblocks, const uint32_t key[8],
                           uint64_t counter, uint64_t counter_step,
                           unsigned flags, unsigned flags_start,
                           unsigned flags_end, uint8_t *out);
void fc_blake3_lanes8_prev_avx2(const uint8_t *base, size_t stride,
                                size_t nblocks, const uint32_t key[8],
                                uint64_t counter, uint64_t counter_step,
                                unsigned flags, unsigned flags_start,
                                unsigned flags_end, uint8_t *out,
                                uint8_t *prev);
void fc_blake3_lanes16_avx512(const uint8_t *base, size_t stride,
                              size_t nblocks, const uint32_t key[8],
                              uint64_t counter, uint64_t counter_step,
                              unsigned flags, unsigned flags_start,
                              unsigned flags_end, uint8_t *out);
void fc_blake3_lanes16_prev_avx512(const uint8_t *base, size_t stride,
                                   size_t nblocks, const uint32_t key[8],
                                   uint64_t counter, uint64_t counter_step,
                                   unsigned flags, unsigned flags_start,
                                   unsigned flags_end, uint8_t *out,
                                   uint8_t *prev);

#endif
