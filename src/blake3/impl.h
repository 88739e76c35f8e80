/* blake3_impl.h - BLAKE3 written from its published specification: the
 * compression function, the chunk and tree logic, extendable output, and
 * the SIMD kernels that compress many lanes (chunks or parents) at once.
 *
 * No Python API here: everything may run on pool threads without the GIL.
 *
 * Using it from C (e.g. a pool task of hash_many / hash_file):
 *
 *     uint8_t out[32];
 *     const fc_blake3_kernels *k =
 *         fc_blake3_kernels_for(st->cpu_features, st->simd_level);
 *     fc_blake3_hash(k, data, len, out);         // one-shot
 *
 *     fc_blake3_hasher h;
 *     fc_blake3_init(&h, k);                     // or _init_keyed/_derive
 *     fc_blake3_update(&h, data, len);           // any number of times
 *     fc_blake3_finalize(&h, out, 32);           // any length; h unchanged
 *
 * where the kernels come from fc_blake3_kernels_for(st->cpu_features,
 * st->simd_level) (a pointer into a constant table; NULL = portable).  A
 * hasher is about 1.9 KB and holds no pointers to free: embed it or
 * allocate it with PyMem_RawMalloc, copy it with plain assignment.  Large
 * inputs go faster through fc_blake3_update_parallel (below) with a run
 * callback around fc_run(); the digest is the same either way.
 */
#ifndef FC_BLAKE3_IMPL_H
#define FC_BLAKE3_IMPL_H

#include <stddef.h>
#include <stdint.h>

#define FC_BLAKE3_OUT_LEN 32
#define FC_BLAKE3_KEY_LEN 32
#define FC_BLAKE3_BLOCK_LEN 64
#define FC_BLAKE3_CHUNK_LEN 1024
/* 2**54 chunks cover 2**64 bytes: one stack entry per level. */
#define FC_BLAKE3_MAX_DEPTH 54

/* Domain flags (specification, table 3). */
enum {
    FC_B3_CHUNK_START = 1u << 0,
    FC_B3_CHUNK_END = 1u << 1,
    FC_B3_PARENT = 1u << 2,
    FC_B3_ROOT = 1u << 3,
    FC_B3_KEYED_HASH = 1u << 4,
    FC_B3_DERIVE_KEY_CONTEXT = 1u << 5,
    FC_B3_DERIVE_KEY_MATERIAL = 1u << 6,
};

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

typedef struct fc_blake3_hasher {
    uint32_t key[8];        /* key words (IV, the key, or context key) */
    uint32_t cv[8];         /* chaining value of the current chunk */
    uint64_t chunk_counter; /* index of the current chunk */
    uint8_t buf[FC_BLAKE3_BLOCK_LEN];
    uint8_t buf_len;
    uint8_t blocks_done;    /* blocks of the current chunk compressed */
    uint8_t flags;          /* mode flags (KEYED_HASH, DERIVE_KEY_*) */
    uint8_t stack_len;
    /* Chaining values of completed subtrees, largest first; always
     * popcount(chunk_counter) entries. */
    uint8_t stack[FC_BLAKE3_MAX_DEPTH][FC_BLAKE3_OUT_LEN];
    const fc_blake3_kernels *kernels;
} fc_blake3_hasher;

/* The best kernels allowed by the CPU's features and the SIMD level (an
 * FC_SIMD_* value): a pointer into a constant table, never NULL. */
const fc_blake3_kernels *fc_blake3_kernels_for(unsigned cpu_features,
                                               int simd_level);

/* kernels may be NULL (portable). */
void fc_blake3_init(fc_blake3_hasher *h, const fc_blake3_kernels *kernels);
void fc_blake3_init_keyed(fc_blake3_hasher *h, const uint8_t key[32],
                          const fc_blake3_kernels *kernels);
/* derive_key: the context string is hashed first (any bytes). */
void fc_blake3_init_derive(fc_blake3_hasher *h, const void *context,
                           size_t context_len,
                           const fc_blake3_kernels *kernels);
/* Back to the state right after init (same key and mode). */
void fc_blake3_reset(fc_blake3_hasher *h);
void fc_blake3_update(fc_blake3_hasher *h, const void *data, size_t len);
/* Write out_len bytes of output (XOF); the hasher is left unchanged. */
void fc_blake3_finalize(const fc_blake3_hasher *h, uint8_t *out,
                        size_t out_len);
/* Output bytes starting at byte `seek` of the output stream. */
void fc_blake3_finalize_seek(const fc_blake3_hasher *h, uint64_t seek,
                             uint8_t *out, size_t out_len);
/* One-shot 32-byte hash (regular mode), single thread. */
void fc_blake3_hash(const fc_blake3_kernels *kernels, const void *data,
                    size_t len, uint8_t out[32]);

/* Multithreaded update.  Every complete chunk with input after it becomes
 * part of a task: the aligned power-of-two subtrees of at most
 * subtree_chunks (a power of two) chunks, each hashed to one chaining value
 * by task(arg, i); only the rest of the current chunk and the last chunk
 * are hashed by the caller.  `run(ctx, task, arg, n)` must call task(arg,
 * i) for every i in [0, n) (any order, any threads) and return 0, or return
 * non-zero if it stopped early: then this returns -1 and the hasher holds a
 * partial update (the caller restores a copy it kept).  The result equals
 * fc_blake3_update's for every split and every subtree_chunks. */
typedef void (*fc_blake3_task_fn)(void *arg, int64_t index);
typedef int (*fc_blake3_run_fn)(void *ctx, fc_blake3_task_fn task,
                                void *arg, int64_t n);
int fc_blake3_update_parallel(fc_blake3_hasher *h, const void *data,
                              size_t len, uint64_t subtree_chunks,
                              fc_blake3_run_fn run, void *ctx);

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

extern const uint32_t fc_blake3_iv[8];

#endif
