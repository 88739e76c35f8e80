/* pool_stress.c - the native pool (src/core/pool.c) on its own, under
 * ThreadSanitizer: every chunk of every batch runs exactly once, whatever
 * the thread count, with several callers at once, nested batches, a batch
 * cancelled by its poll function, and back-to-back batches that meet the
 * spinning helpers.  Built and run by tests/tsan/run.sh; any data race TSan
 * sees, or a wrong count, fails it.
 *
 *   pool_stress SECONDS
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/pool.h"

#define MAX_CHUNKS 256

typedef struct {
    atomic_int runs[MAX_CHUNKS];
    int nested;                 /* each chunk runs a batch of its own */
    atomic_long work;           /* plain shared counter, checked at the end */
} job_t;

static void
busy(int64_t i)
{
    volatile unsigned x = (unsigned)i;
    for (int k = 0; k < 200 + (int)(i % 7) * 50; k++) {
        x = x * 1664525u + 1013904223u;
    }
}

static void
leaf(void *arg, int64_t i)
{
    job_t *j = arg;
    atomic_fetch_add(&j->runs[i], 1);
    atomic_fetch_add(&j->work, 1);
    busy(i);
}

static void
outer(void *arg, int64_t i)
{
    job_t *j = arg;
    atomic_fetch_add(&j->runs[i], 1);
    job_t *sub = calloc(1, sizeof(*sub));
    if (sub == NULL) {
        abort();
    }
    int64_t n = 1 + i % 9;
    if (fc_pool_run(leaf, sub, n, 3, NULL, NULL) != 0) {
        fprintf(stderr, "nested batch reported a stop\n");
        exit(1);
    }
    for (int64_t k = 0; k < n; k++) {
        if (atomic_load(&sub->runs[k]) != 1) {
            fprintf(stderr, "nested chunk %lld ran %d times\n", (long long)k,
                    atomic_load(&sub->runs[k]));
            exit(1);
        }
    }
    atomic_fetch_add(&j->work, atomic_load(&sub->work));
    free(sub);
}

static int
check(job_t *j, int64_t n, const char *what)
{
    for (int64_t i = 0; i < n; i++) {
        if (atomic_load(&j->runs[i]) != 1) {
            fprintf(stderr, "%s: chunk %lld ran %d times\n", what,
                    (long long)i, atomic_load(&j->runs[i]));
            return 1;
        }
    }
    return 0;
}

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* --- a cancelled batch -------------------------------------------------- */

typedef struct {
    atomic_int polls;
} stop_ctx;

static int
stop_after_two(void *ctx)
{
    stop_ctx *c = ctx;
    return atomic_fetch_add(&c->polls, 1) >= 1;
}

static void
slow_leaf(void *arg, int64_t i)
{
    job_t *j = arg;
    atomic_fetch_add(&j->runs[i], 1);
    /* long enough that the caller polls (every FC_POLL_MS) */
    for (int k = 0; k < 20 && !fc_pool_should_stop(); k++) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
}

static int
cancelled_batch(void)
{
    job_t *j = calloc(1, sizeof(*j));
    stop_ctx c;
    atomic_init(&c.polls, 0);
    int64_t n = 200;
    int stopped = fc_pool_run(slow_leaf, j, n, 4, stop_after_two, &c);
    int bad = 0;
    int ran = 0;
    for (int64_t i = 0; i < n; i++) {
        int r = atomic_load(&j->runs[i]);
        bad |= r > 1;
        ran += r;
    }
    free(j);
    if (!stopped || bad || ran == n) {
        fprintf(stderr, "cancel: stopped=%d twice=%d ran=%d of %lld\n",
                stopped, bad, ran, (long long)n);
        return 1;
    }
    return 0;
}

/* --- callers ------------------------------------------------------------ */

typedef struct {
    unsigned seed;
    double until;
    int failed;
    long batches;
} caller_arg;

static void *
caller(void *p)
{
    caller_arg *a = p;
    while (now() < a->until && !a->failed) {
        job_t *j = calloc(1, sizeof(*j));
        if (j == NULL) {
            abort();
        }
        a->seed = a->seed * 1103515245u + 12345u;
        int64_t n = (a->seed >> 8) % MAX_CHUNKS;
        int threads = 1 + (int)((a->seed >> 20) % 8);
        int nested = ((a->seed >> 4) % 8) == 0;
        if (nested && n > 24) {
            n = 24;
        }
        if (fc_pool_run(nested ? outer : leaf, j, n, threads, NULL, NULL)) {
            fprintf(stderr, "batch reported a stop\n");
            a->failed = 1;
        }
        a->failed |= check(j, n, nested ? "nested" : "flat");
        free(j);
        a->batches++;
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    fc_pool_set_size(4);
    if (cancelled_batch()) {
        return 1;
    }
    enum { CALLERS = 4 };
    pthread_t tid[CALLERS];
    caller_arg args[CALLERS];
    double until = now() + seconds;
    for (int i = 0; i < CALLERS; i++) {
        memset(&args[i], 0, sizeof(args[i]));
        args[i].seed = 7919u * (unsigned)(i + 1);
        args[i].until = until;
        if (pthread_create(&tid[i], NULL, caller, &args[i]) != 0) {
            return 1;
        }
    }
    int failed = 0;
    long batches = 0;
    for (int i = 0; i < CALLERS; i++) {
        pthread_join(tid[i], NULL);
        failed |= args[i].failed;
        batches += args[i].batches;
    }
    /* back to back from one caller: the helpers are still spinning */
    for (int r = 0; r < 2000 && !failed; r++) {
        job_t *j = calloc(1, sizeof(*j));
        if (j == NULL) {
            abort();
        }
        fc_pool_run(leaf, j, 2, 2, NULL, NULL);
        failed |= check(j, 2, "back to back");
        free(j);
    }
    if (cancelled_batch()) {
        return 1;
    }
    printf("pool_stress: %ld batches from %d callers, %d workers started: %s\n",
           batches, CALLERS, fc_pool_started(), failed ? "FAILED" : "ok");
    return failed;
}
