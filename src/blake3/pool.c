/* blake3/pool.c - BLAKE3 on the pool (see pool.h): how large one task is,
 * and the run callback that gives blake3/impl.c's subtree tasks to fc_run,
 * with any rider tasks in the first batch.  The tasks take C types only.
 * It must not hash by itself (blake3/impl.c does), keep state, or parse
 * Python arguments (its callers do).
 */
#include "blake3/pool.h"

/* Chunks (1 KiB) per subtree task: a power of two in [16, 1024], so a
 * task is at least FC_BLAKE3_TASK_MIN and at most 1 MiB (about 0.3 ms on
 * one core), aiming at four tasks per thread so that a thread that
 * finishes early takes more. */
#define TASK_MIN_CHUNKS ((uint64_t)FC_BLAKE3_TASK_MIN / FC_BLAKE3_CHUNK_LEN)
#define TASK_MAX_CHUNKS 1024

typedef struct {
    int threads;
    int release;
    fc_blake3_rider *rider;     /* or NULL */
    int64_t nriders;            /* rider tasks in the current batch */
    fc_blake3_task_fn task;     /* the current batch's subtree tasks */
    void *task_arg;
} pool_run;

int
fc_blake3_threads(int requested, Py_ssize_t nbytes)
{
    return fc_resolve_threads(requested, nbytes, FC_BLAKE3_PARALLEL_MIN);
}

static uint64_t
task_chunks(size_t len, int threads)
{
    uint64_t want = (uint64_t)len / FC_BLAKE3_CHUNK_LEN / 4 /
                    (uint64_t)(threads > 0 ? threads : 1);
    uint64_t s = TASK_MIN_CHUNKS;
    while (s * 2 <= want && s < TASK_MAX_CHUNKS) {
        s *= 2;
    }
    return s;
}

/* Task i of a batch that carries riders: the riders first. */
static void
ride_task(void *arg, int64_t i)
{
    pool_run *run = arg;
    if (i < run->nriders) {
        run->rider->task(run->rider->arg, i);
    }
    else {
        run->task(run->task_arg, i - run->nriders);
    }
}

/* fc_blake3_update_parallel's run callback.  Non-zero when Ctrl-C stopped
 * the batch (the exception is then set). */
static int
run_batch(void *ctx, fc_blake3_task_fn task, void *arg, int64_t n)
{
    pool_run *run = ctx;
    if (run->rider == NULL || run->rider->n == 0) {
        return fc_run(task, arg, n, run->threads, run->release) < 0;
    }
    run->nriders = run->rider->n;
    run->rider->n = 0;
    run->task = task;
    run->task_arg = arg;
    return fc_run(ride_task, run, n + run->nriders, run->threads,
                  run->release) < 0;
}

int
fc_blake3_update_pool(fc_blake3_hasher *h, const void *buf, size_t len,
                      int threads, int release, fc_blake3_rider *rider)
{
    pool_run run = {threads, release, rider, 0, NULL, NULL};
    return fc_blake3_update_parallel(h, buf, len, task_chunks(len, threads),
                                     run_batch, &run);
}
