/* blake3/pool.h - BLAKE3 on the pool: one large update hashed as subtree
 * tasks through fc_run (core/run.h), the GIL released and Ctrl-C checked
 * between tasks.  Used by the fastconc.blake3 object (blake3/object.c),
 * digest("blake3") (hash/oneshot.c) and hash_file("blake3")
 * (hash/files.c).  The hashing itself is blake3/impl.c's.
 */
#ifndef FC_BLAKE3_POOL_H
#define FC_BLAKE3_POOL_H

#include "core/fastconc.h"
#include "blake3/impl.h"

/* The GIL policy's pace of BLAKE3 (bytes per µs of one core) at each SIMD
 * level (blake3/object.c). */
extern const Py_ssize_t fc_blake3_paces[FC_SIMD_COUNT];

/* threads=None hashes one input on the pool from this size on. */
#define FC_BLAKE3_PARALLEL_MIN ((Py_ssize_t)1 << 20)
/* The smallest subtree task (16 chunks); the largest is 1 MiB. */
#define FC_BLAKE3_TASK_MIN ((Py_ssize_t)16 << 10)

/* Threads for nbytes of one input: `requested` (> 0) as given, 0 (None)
 * -> the pool size from FC_BLAKE3_PARALLEL_MIN bytes on, else 1. */
int fc_blake3_threads(int requested, Py_ssize_t nbytes);

/* Other tasks that ride in the first batch of subtree tasks, placed before
 * them (hash_file's read-ahead of the next slice), so that both share the
 * threads.  n is set to 0 once they were handed to a batch; an update that
 * made no batch (too small) leaves it, and the caller runs them itself. */
typedef struct fc_blake3_rider {
    fc_task_fn task;
    void *arg;
    int64_t n;
} fc_blake3_rider;

/* Feed len bytes of buf to h, complete subtrees as tasks on `threads`
 * threads, with the GIL released when `release` (always when threads > 1).
 * rider may be NULL.  Called attached.  Returns 0, or -1 with the
 * exception set when Ctrl-C stopped it: h then holds a partial update, and
 * the caller restores a copy it kept or throws h away. */
int fc_blake3_update_pool(fc_blake3_hasher *h, const void *buf, size_t len,
                          int threads, int release, fc_blake3_rider *rider);

#endif
