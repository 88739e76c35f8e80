/* pool_stress.c - the native pool (src/core/pool.c) on its own, under
 * ThreadSanitizer: every chunk of every batch runs exactly once, whatever
 * the thread count, with several callers at once, nested batches, a batch
 * cancelled by its poll function, and back-to-back batches that meet the
 * spinning helpers; posted batches (fc_pool_post) from several threads,
 * some cancelled or withdrawn, their on_done exactly once, nested work in a
 * cancelled post stopping, sync callers among busy posts, and the exit
 * drain (fc_pool_close_posts).  Built and run by tests/tsan/run.sh; any
 * data race TSan sees, or a wrong count, fails it.
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

static double now(void);
static void slow_leaf(void *arg, int64_t i);

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

/* --- posted batches ------------------------------------------------------- */

typedef struct {
    fc_batch batch;
    job_t job;
    int64_t n;
    int nested;
    atomic_int done_calls;
    atomic_int *pending;        /* the poster's count of posts not done */
} post_t;

static void
post_done(void *arg)
{
    post_t *p = arg;
    atomic_fetch_add(&p->done_calls, 1);
    atomic_fetch_sub(p->pending, 1);
}

/* A chunk of a posted batch that runs a nested batch of slow chunks: when
 * the post is cancelled, the nested call must stop early (pool.c's
 * enclosing flag), which it reports as a stop. */
static void
post_nested(void *arg, int64_t i)
{
    job_t *j = arg;
    atomic_fetch_add(&j->runs[i], 1);
    job_t *sub = calloc(1, sizeof(*sub));
    if (sub == NULL) {
        abort();
    }
    (void)fc_pool_run(slow_leaf, sub, 24, 2, NULL, NULL);
    for (int64_t k = 0; k < 24; k++) {
        if (atomic_load(&sub->runs[k]) > 1) {
            fprintf(stderr, "nested chunk in a post ran twice\n");
            exit(1);
        }
    }
    free(sub);
}

typedef struct {
    unsigned seed;
    double until;
    int failed;
    long posts;
} poster_arg;

static int
check_post(post_t *p, int withdrawn)
{
    int calls = atomic_load(&p->done_calls);
    if (withdrawn ? calls != 0 : calls != 1) {
        fprintf(stderr, "post: on_done called %d times (withdrawn=%d)\n",
                calls, withdrawn);
        return 1;
    }
    int cancelled = atomic_load(&p->batch.cancelled);
    for (int64_t i = 0; i < p->n; i++) {
        int r = atomic_load(&p->job.runs[i]);
        if (r > 1 || (withdrawn && r != 0) ||
            (!withdrawn && !cancelled && r != 1)) {
            fprintf(stderr, "post: chunk %lld ran %d times (withdrawn=%d "
                    "cancelled=%d)\n", (long long)i, r, withdrawn,
                    cancelled);
            return 1;
        }
    }
    return 0;
}

static void *
poster(void *arg)
{
    poster_arg *a = arg;
    enum { WAVE = 32 };
    while (now() < a->until && !a->failed) {
        post_t *p[WAVE];
        int withdrawn[WAVE];
        atomic_int pending;
        atomic_init(&pending, 0);
        for (int k = 0; k < WAVE; k++) {
            p[k] = calloc(1, sizeof(post_t));
            if (p[k] == NULL) {
                abort();
            }
            a->seed = a->seed * 1103515245u + 12345u;
            p[k]->nested = ((a->seed >> 5) % 16) == 0;
            p[k]->n = p[k]->nested ? 2 : 1 + (a->seed >> 8) % 40;
            p[k]->pending = &pending;
            atomic_init(&p[k]->done_calls, 0);
            int threads = 1 + (int)((a->seed >> 20) % 4);
            atomic_fetch_add(&pending, 1);
            if (fc_pool_post(&p[k]->batch, p[k]->nested ? post_nested : leaf,
                             &p[k]->job, p[k]->n, threads, post_done,
                             p[k]) != 0) {
                fprintf(stderr, "post refused\n");
                a->failed = 1;
                return NULL;
            }
            withdrawn[k] = 0;
            /* Cancel about one in four: right away (often still queued,
             * then withdrawn) or after the others were posted. */
            if (((a->seed >> 12) % 8) == 0 || p[k]->nested) {
                if (fc_pool_cancel(&p[k]->batch) == FC_POST_WITHDRAWN) {
                    withdrawn[k] = 1;
                    atomic_fetch_sub(&pending, 1);
                }
            }
        }
        for (int k = 0; k < WAVE; k += 5) {
            if (!withdrawn[k] &&
                fc_pool_cancel(&p[k]->batch) == FC_POST_WITHDRAWN) {
                withdrawn[k] = 1;
                atomic_fetch_sub(&pending, 1);
            }
        }
        /* A synchronous batch among the posts: the caller takes chunks
         * itself, so it finishes even with every worker busy. */
        job_t *j = calloc(1, sizeof(*j));
        if (j == NULL) {
            abort();
        }
        fc_pool_run(leaf, j, 16, 3, NULL, NULL);
        a->failed |= check(j, 16, "sync among posts");
        free(j);
        while (atomic_load(&pending) > 0) {
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
        for (int k = 0; k < WAVE; k++) {
            a->failed |= check_post(p[k], withdrawn[k]);
            free(p[k]);
        }
        a->posts += WAVE;
    }
    return NULL;
}

/* A cancelled post stops the batch nested in its chunk: of the nested
 * call's 24 slow chunks (40 ms each, on 2 threads), few run. */
static atomic_int nested_ran;

static void
post_nested_count(void *arg, int64_t i)
{
    job_t *j = arg;
    (void)i;
    atomic_fetch_add(&j->runs[0], 1);
    job_t *sub = calloc(1, sizeof(*sub));
    if (sub == NULL) {
        abort();
    }
    int stopped = fc_pool_run(slow_leaf, sub, 24, 2, NULL, NULL);
    int ran = 0;
    for (int64_t k = 0; k < 24; k++) {
        ran += atomic_load(&sub->runs[k]);
    }
    atomic_store(&nested_ran, stopped ? ran : -1);
    free(sub);
}

static int
nested_cancel_test(void)
{
    post_t *p = calloc(1, sizeof(post_t));
    if (p == NULL) {
        abort();
    }
    atomic_int pending;
    atomic_init(&pending, 1);
    atomic_init(&nested_ran, -2);
    p->n = 1;
    p->pending = &pending;
    if (fc_pool_post(&p->batch, post_nested_count, &p->job, 1, 1, post_done,
                     p) != 0) {
        free(p);
        return 1;
    }
    while (atomic_load(&p->job.runs[0]) == 0) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    struct timespec ts = {0, 60000000};
    nanosleep(&ts, NULL);
    int rc = fc_pool_cancel(&p->batch);
    while (atomic_load(&pending) > 0) {
        struct timespec t2 = {0, 1000000};
        nanosleep(&t2, NULL);
    }
    int ran = atomic_load(&nested_ran);
    free(p);
    if (rc != FC_POST_RUNNING || ran < 1 || ran >= 12) {
        fprintf(stderr, "nested cancel: cancel gave %d, nested ran %d of 24 "
                "(-1: not stopped)\n", rc, ran);
        return 1;
    }
    return 0;
}

/* The exit drain: posts in flight are cancelled and waited for; new posts
 * are refused afterwards. */
static int
close_posts_test(void)
{
    enum { N = 16 };
    post_t *p[N];
    atomic_int pending;
    atomic_init(&pending, 0);
    for (int k = 0; k < N; k++) {
        p[k] = calloc(1, sizeof(post_t));
        if (p[k] == NULL) {
            abort();
        }
        p[k]->n = 200;
        p[k]->pending = &pending;
        atomic_init(&p[k]->done_calls, 0);
        atomic_fetch_add(&pending, 1);
        if (fc_pool_post(&p[k]->batch, slow_leaf, &p[k]->job, p[k]->n, 2,
                         post_done, p[k]) != 0) {
            fprintf(stderr, "post refused before close\n");
            return 1;
        }
    }
    fc_pool_close_posts();
    int bad = fc_pool_posts_live() != 0 || atomic_load(&pending) != 0;
    for (int k = 0; k < N; k++) {
        bad |= check_post(p[k], 0);
        free(p[k]);
    }
    post_t extra;
    memset(&extra, 0, sizeof(extra));
    if (fc_pool_post(&extra.batch, leaf, &extra.job, 1, 1, post_done,
                     &extra) == 0) {
        fprintf(stderr, "post accepted after close\n");
        bad = 1;
    }
    if (bad) {
        fprintf(stderr, "close_posts: failed\n");
    }
    return bad;
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

    /* Posted batches from several threads, then the exit drain. */
    enum { POSTERS = 3 };
    pthread_t ptid[POSTERS];
    poster_arg pargs[POSTERS];
    until = now() + seconds;
    for (int i = 0; i < POSTERS; i++) {
        memset(&pargs[i], 0, sizeof(pargs[i]));
        pargs[i].seed = 104729u * (unsigned)(i + 1);
        pargs[i].until = until;
        if (pthread_create(&ptid[i], NULL, poster, &pargs[i]) != 0) {
            return 1;
        }
    }
    long posts = 0;
    for (int i = 0; i < POSTERS; i++) {
        pthread_join(ptid[i], NULL);
        failed |= pargs[i].failed;
        posts += pargs[i].posts;
    }
    failed |= nested_cancel_test();
    failed |= close_posts_test();
    printf("pool_stress: %ld batches from %d callers, %ld posts from %d "
           "threads, %d workers started: %s\n", batches, CALLERS, posts,
           POSTERS, fc_pool_started(), failed ? "FAILED" : "ok");
    return failed;
}
