/* pool.h - the process-wide pool of native worker threads.
 *
 * The pool knows nothing of Python: it runs C tasks only.  A call hands it a
 * batch of n independent chunks; the calling thread works on the batch too,
 * and up to (threads - 1) pool workers help.  Because the caller always takes
 * chunks itself, a nested call made from inside a chunk (a pool thread that
 * needs sub-work) makes progress on its own and can never deadlock.
 *
 * The only process global of fastconc lives in pool.c.  A pthread_atfork
 * child handler throws the workers away, so a forked child starts afresh.
 */
#ifndef FC_POOL_H
#define FC_POOL_H

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
 * non-zero when the batch was cancelled (Ctrl-C), and the task should then
 * give up.  On the calling thread it also does the caller's 50 ms poll, so
 * a task running there for long still sees Ctrl-C in time. */
int fc_pool_should_stop(void);

/* Default number of threads (os.cpu_count() unless set). */
int fc_pool_get_size(void);
void fc_pool_set_size(int n);
/* Number of worker threads started so far (they start lazily). */
int fc_pool_started(void);
/* Number of online CPUs. */
int fc_pool_cpu_count(void);
/* 1 when the current thread is a pool worker. */
int fc_pool_in_worker(void);

#endif
