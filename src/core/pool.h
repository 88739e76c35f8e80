/* pool.h - the process-wide pool of native worker threads.
 *
 * The pool knows nothing of Python: it runs C tasks only.  A call hands it a
 * batch of n independent chunks; the calling thread works on the batch too,
 * and up to (threads - 1) pool workers help.  Because the caller always takes
 * chunks itself, a nested call made from inside a chunk (a pool thread that
 * needs sub-work) makes progress on its own and can never deadlock.
 *
 * A batch can also be posted (fc_pool_post): nobody waits for it, up to
 * `threads` workers run its chunks, and the last one to leave it runs its
 * completion callback.  That is what fastconc.submit() and fastconc.aio run
 * on (async/job.c).  A posted batch can be cancelled (chunks not started
 * are skipped) or withdrawn while no chunk has started.
 *
 * Cancellation flows down: a batch run from inside a chunk of another
 * (posted or not) stops when the enclosing one is cancelled, at its next
 * chunk boundary, and long tasks see it through fc_pool_should_stop().
 *
 * The only process global of fastconc lives in pool.c.  A pthread_atfork
 * child handler throws the workers away, so a forked child starts afresh;
 * batches posted in the parent are dropped there (they never complete).
 */
#ifndef FC_POOL_H
#define FC_POOL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The monotonic clock in nanoseconds, and the pause between two reads of
 * a spin loop: for the pool's waiters and the executor's work queue. */
static inline int64_t
fc_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void
fc_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Run chunk `index` of a batch.  Must not call the Python C API (except the
 * parallel-map tasks, which attach a thread state themselves). */
typedef void (*fc_task_fn)(void *arg, int64_t index);

/* Called by the waiting caller at least every FC_POLL_MS milliseconds.
 * Returns non-zero to cancel the chunks not yet started. */
typedef int (*fc_poll_fn)(void *ctx);

#define FC_POLL_MS 50
#define FC_MAX_THREADS 256

/* Run fn(arg, i) for i in [0, n).  threads <= 1 runs everything on the
 * calling thread, in order, without touching the pool.  Returns 0 when all
 * chunks ran, 1 when poll() asked to stop (chunks not started are skipped;
 * chunks already running are waited for before returning). */
int fc_pool_run(fc_task_fn fn, void *arg, int64_t n, int threads,
                fc_poll_fn poll, void *ctx);

/* fc_pool_run, except that the caller first runs lead(ctx) while the pool
 * threads start on the chunks, then takes chunks itself as usual: for work
 * only the calling thread can do (Python objects) that can overlap with the
 * chunks.  With threads <= 1, lead runs before the chunks. */
typedef void (*fc_lead_fn)(void *ctx);
int fc_pool_run_led(fc_task_fn fn, void *arg, int64_t n, int threads,
                    fc_poll_fn poll, void *ctx, fc_lead_fn lead);

/* For long tasks: call between pieces of work (every few ms); returns
 * non-zero when the batch was cancelled (Ctrl-C, a cancelled posted job,
 * or an enclosing batch that was), and the task should then give up.  On
 * the calling thread it also does the caller's 50 ms poll, so a task
 * running there for long still sees Ctrl-C in time.  Called detached. */
int fc_pool_should_stop(void);

/* Whether the work this thread is doing was cancelled: the batch whose
 * chunk it runs, or, on the caller of a batch, that batch or the one
 * enclosing it.  Only reads flags (no poll): callable attached or detached,
 * for loops that check for Ctrl-C with the GIL held (run.c's
 * fc_check_interrupt). */
int fc_pool_cancelled(void);

/* --- posted batches -------------------------------------------------------- */

/* Called once, by a pool worker, when every chunk of a posted batch has run
 * or been skipped.  The batch (and whatever holds it) may be freed by it:
 * the pool touches neither afterwards. */
typedef void (*fc_done_fn)(void *arg);

/* A batch's bookkeeping.  Its fields are pool.c's; it is declared here so
 * that a posted batch can live inside the job it runs. */
typedef struct fc_batch {
    fc_task_fn fn;
    void *arg;
    int64_t n;
    _Atomic long long next;     /* next chunk to claim */
    _Atomic int cancelled;      /* skip chunks not yet started */
    _Atomic int *enclosing;     /* the cancel flag of the chunk this batch
                                 * was started from (it outlives this
                                 * batch), or NULL: set means cancelled */
    _Atomic long long done;     /* chunks finished or skipped (written
                                 * under pool.mu; read by a spinning caller) */
    _Atomic int helpers;        /* workers inside the batch (likewise) */
    int max_helpers;            /* at most this many workers join (pool.mu) */
    int listed;                 /* on the pool list (pool.mu) */
    pthread_cond_t cv;          /* caller waits here for done == n */
    struct fc_batch *prev, *next_batch;
    /* Posted batches only (pool.mu): */
    fc_done_fn on_done;
    void *done_arg;
    int post_state;             /* FC_POST_* below */
    unsigned long generation;   /* the pool's, when posted (fork check) */
    struct fc_batch *post_prev, *post_next;     /* live posted batches */
} fc_batch;

/* Post chunks fn(arg, i), i in [0, n), n >= 1, to be run by up to `threads`
 * pool workers, then on_done(done_arg) on the worker that finishes last.
 * `b` is the caller's storage; it must stay valid until on_done is called
 * or fc_pool_cancel() returns FC_POST_WITHDRAWN.  Returns 0, or -1 when
 * posting is closed (fc_pool_close_posts) or no worker could be started;
 * on_done is then never called. */
int fc_pool_post(fc_batch *b, fc_task_fn fn, void *arg, int64_t n,
                 int threads, fc_done_fn on_done, void *done_arg);

enum {
    FC_POST_QUEUED,         /* posted, no chunk started */
    FC_POST_RUNNING,        /* a worker joined it */
    FC_POST_WITHDRAWN,      /* fc_pool_cancel took it back before it ran */
    FC_POST_DONE,           /* on_done is called or was */
};

/* Cancel a posted batch.  Returns FC_POST_WITHDRAWN when no chunk had
 * started (it is taken off the pool and on_done will never be called: the
 * caller completes the job itself; also for a batch posted before a fork,
 * in the child), FC_POST_RUNNING when it was running (chunks not started
 * are skipped; on_done comes when those running end), or FC_POST_DONE when
 * it had already finished (on_done is running or has run). */
int fc_pool_cancel(fc_batch *b);

/* Refuse new posts, cancel every posted batch and wait until all their
 * on_done calls have returned.  For interpreter exit; called detached. */
void fc_pool_close_posts(void);
/* Posted batches whose on_done has not returned yet. */
int fc_pool_posts_live(void);

/* Default number of threads (os.cpu_count() unless set). */
int fc_pool_get_size(void);
void fc_pool_set_size(int n);
/* Number of worker threads started so far (they start lazily). */
int fc_pool_started(void);
/* Number of online CPUs. */
int fc_pool_cpu_count(void);
/* FASTCONC_SPIN_US (0 to 1000000 us, 100 when unset or out of range) in
 * ns: how long an idle pool thread, or executor worker, polls for work. */
int64_t fc_pool_spin_setting_ns(void);
/* 1 when the current thread is a pool worker. */
int fc_pool_in_worker(void);

#endif
