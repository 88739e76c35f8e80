/* blake3/impl.h - BLAKE3 written from its published specification: the
 * compression function, the chunk and tree logic, extendable output, the
 * kernel tables of each SIMD width, and the update that hands subtrees to
 * a run callback (blake3/pool.c gives it the pool).
 *
 * No Python API here: everything may run on pool threads without the GIL.
 *
 * Using it from C (e.g. a pool task of hash_many / hash_file):
 *
 *     uint8_t out[32];
 *     const fc_blake3_kernels *k = st->kernels.blake3;
 *     fc_blake3_hash(k, data, len, out);         // one-shot
 *
 *     fc_blake3_hasher h;
 *     fc_blake3_init(&h, k);                     // or _init_keyed/_derive
 *     fc_blake3_update(&h, data, len);           // any number of times
 *     fc_blake3_finalize(&h, out, 32);           // any length; h unchanged
 *
 * where the kernels are the table simd/dispatch.c chose for the SIMD level
 * (st->kernels.blake3; NULL = portable).  A hasher is about 1.9 KB and
 * holds no pointers to free: embed it or allocate it with PyMem_RawMalloc,
 * copy it with plain assignment.  Large inputs go faster through
 * fc_blake3_update_parallel (below), which blake3/pool.c runs on the pool;
 * the digest is the same either way.
 */
#ifndef FC_BLAKE3_IMPL_H
#define FC_BLAKE3_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "simd/blake3_kernels.h"

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

/* The kernel tables, widest last; each falls back on narrower kernels for
 * the lanes left over.  simd/dispatch.c picks one for the SIMD level. */
extern const fc_blake3_kernels fc_blake3_portable;
extern const fc_blake3_kernels fc_blake3_sse41;    /* SSE4.1 + SSSE3 */
extern const fc_blake3_kernels fc_blake3_avx2;     /* AVX2 (+ SSE4.1) */
extern const fc_blake3_kernels fc_blake3_avx512;   /* AVX-512 F/VL + AVX2 */

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

extern const uint32_t fc_blake3_iv[8];

#endif
