/* pool.c - the native thread pool (see pool.h).
 *
 * Provides fc_pool_run(), fc_pool_post() and the pool size knobs.  Must not
 * call the Python C API: everything here runs with or without an attached
 * thread state.
 *
 * Design: one mutex guards the list of batches that still have unclaimed
 * chunks, the worker counters and each batch's done/helpers counters.
 * Chunks are claimed with one atomic fetch-add, so the mutex is taken only
 * when a thread joins or leaves a batch, never per chunk.  Workers are
 * detached and block every signal, so SIGINT reaches the interpreter's main
 * thread and pool threads never delay interpreter exit.
 *
 * Waiting spins a little before it sleeps.  Waking a thread blocked on a
 * condition variable takes about 9 us on the 2-vCPU VMs we measure on (a
 * condvar round trip is 18 us, a spin round trip 0.1 us): twice per call
 * (the helper's start, the caller's wake-up at the end), that was most of
 * the gain of threads=2 on a 2 MiB checksum (36 us of work per thread).
 * So an idle worker polls for a new batch for FASTCONC_SPIN_US (default
 * 100) microseconds before it sleeps, and so does a caller waiting for its
 * helpers; at most (CPUs - 1) workers and as many callers spin at a
 * time, so that spinning callers cannot crowd out the helpers.
 *
 * Posted batches (fc_pool_post) sit on the same list; nobody waits for
 * them, so the last worker to leave one (done == n, helpers == 0, both
 * under the mutex: exactly one worker sees that) calls its on_done after
 * dropping the mutex.  They are also on a second list, of live posts, so
 * that fc_pool_close_posts() can cancel them all at interpreter exit and
 * wait for their on_done calls (which may take the GIL) to return.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "core/pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* The one process global of fastconc.  Reset in the child after fork. */
static struct {
    pthread_mutex_t mu;         /* guards everything below and batch counters */
    pthread_cond_t work_cv;     /* idle workers wait here */
    fc_batch *head, *tail;      /* batches with chunks left to claim */
    int size;                   /* default thread count */
    int started;                /* workers started */
    atomic_ullong posted;       /* batches ever listed: spinners watch it */
    atomic_int spinners;        /* workers spinning now */
    atomic_int caller_spinners; /* callers spinning now */
    int max_spinners;           /* CPUs - 1 */
    int64_t spin_ns;            /* how long a waiter spins before sleeping */
    /* Posted batches: */
    fc_batch *posts;            /* live ones (QUEUED or RUNNING) */
    int live_posts;             /* posted, on_done not returned yet */
    int closing;                /* fc_pool_close_posts() was called */
    pthread_cond_t posts_cv;    /* live_posts dropped to 0 while closing */
    unsigned long generation;   /* bumped in a forked child */
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL,
          0, 0, 0, 0, 0, 0, 0, NULL, 0, 0, PTHREAD_COND_INITIALIZER, 0};

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static pthread_condattr_t mono_attr;
static _Thread_local int in_worker;

/* The calling thread of fc_pool_run: how to poll, and whether it stopped.
 * Shared by the caller's own loop and by fc_pool_should_stop() called from
 * inside a long task on that thread. */
typedef struct {
    fc_poll_fn poll;
    void *ctx;
    int64_t last;
    int stopped;
    atomic_int *cancelled;      /* the batch's flag (inline: own_flag) */
    atomic_int *enclosing;      /* the flag of the work this call is part
                                 * of (a chunk's batch), or NULL */
    atomic_int own_flag;
} caller_tls;

static _Thread_local caller_tls *cur_caller;   /* set on the caller */
static _Thread_local fc_batch *cur_batch;      /* set on helping workers */

static void
pool_atfork_prepare(void)
{
    pthread_mutex_lock(&pool.mu);
}

static void
pool_atfork_parent(void)
{
    pthread_mutex_unlock(&pool.mu);
}

static void
pool_atfork_child(void)
{
    /* Only the forking thread exists in the child: no worker, and no batch
     * on the list has a live caller.  Start from nothing; workers are
     * started again on demand. */
    pthread_mutex_init(&pool.mu, NULL);
    pthread_cond_init(&pool.work_cv, NULL);
    pthread_cond_init(&pool.posts_cv, NULL);
    pool.head = pool.tail = NULL;
    pool.started = 0;
    /* Posted batches of the parent never run here: forget them (their
     * storage belongs to jobs the child may still free; fc_pool_cancel
     * tells those apart by the generation). */
    pool.posts = NULL;
    pool.live_posts = 0;
    pool.closing = 0;
    pool.generation++;
    atomic_store(&pool.spinners, 0);
    atomic_store(&pool.caller_spinners, 0);
}

static void
pool_init_once(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    pool.size = n < 1 ? 1 : (n > FC_MAX_THREADS ? FC_MAX_THREADS : (int)n);
    /* Spinning pays only with a CPU to spare: count the CPUs this process
     * may run on (taskset, cgroup cpusets), not those the machine has. */
    long usable = n;
#ifdef CPU_COUNT
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        usable = CPU_COUNT(&set);
    }
#endif
    pool.max_spinners = usable > 1 ? (int)usable - 1 : 0;
    pool.spin_ns = fc_pool_spin_setting_ns();
    pthread_condattr_init(&mono_attr);
    pthread_condattr_setclock(&mono_attr, CLOCK_MONOTONIC);
    pthread_atfork(pool_atfork_prepare, pool_atfork_parent,
                   pool_atfork_child);
}

/* Spin until ready(arg) or pool.spin_ns have passed; returns 1 when
 * ready.  The clock is read once per 64 polls. */
static int
spin_until(int (*ready)(const void *), const void *arg)
{
    int64_t deadline = 0;
    for (;;) {
        for (int i = 0; i < 64; i++) {
            if (ready(arg)) {
                return 1;
            }
            fc_cpu_relax();
        }
        int64_t t = fc_mono_ns();
        if (deadline == 0) {
            deadline = t + pool.spin_ns;
        }
        else if (t >= deadline) {
            return 0;
        }
    }
}

/* An idle worker's wait: a batch was listed since it saw `*seen`. */
static int
posted_since(const void *seen)
{
    return atomic_load_explicit(&pool.posted, memory_order_acquire) !=
           *(const unsigned long long *)seen;
}

/* The caller's wait: its batch is complete.  Read without the mutex; the
 * caller still takes the mutex before it trusts the counters (a helper
 * signals b->cv under it). */
static int
batch_complete(const void *arg)
{
    const fc_batch *b = arg;
    return atomic_load_explicit(&b->done, memory_order_acquire) >= b->n &&
           atomic_load_explicit(&b->helpers, memory_order_acquire) == 0;
}

static int64_t
now_ms(void)
{
    return fc_mono_ns() / 1000000;
}

static void
caller_stop(caller_tls *c)
{
    c->stopped = 1;
    atomic_store(c->cancelled, 1);
}

static int
caller_poll(caller_tls *c, int64_t now)
{
    if (c->stopped) {
        return 1;
    }
    /* Work nested in a cancelled chunk stops with it, without waiting for
     * the poll (a cheap load, so checked at every call). */
    if (c->enclosing &&
        atomic_load_explicit(c->enclosing, memory_order_relaxed)) {
        caller_stop(c);
        return 1;
    }
    if (c->poll && now - c->last >= FC_POLL_MS) {
        c->last = now;
        if (c->poll(c->ctx)) {
            caller_stop(c);
            return 1;
        }
    }
    return 0;
}

/* The flag a batch started on this thread now should treat as enclosing:
 * that of the chunk being run (a helper's batch, or the batch of the call
 * this thread is the caller of). */
static atomic_int *
current_flag(void)
{
    if (cur_caller) {
        return cur_caller->cancelled;
    }
    if (cur_batch) {
        return &cur_batch->cancelled;
    }
    return NULL;
}

static void
caller_init(caller_tls *c, fc_poll_fn poll, void *ctx, atomic_int *flag)
{
    c->poll = poll;
    c->ctx = ctx;
    c->last = now_ms();
    c->stopped = 0;
    atomic_init(&c->own_flag, 0);
    c->cancelled = flag ? flag : &c->own_flag;
    c->enclosing = current_flag();
}

/* Whether batch b is cancelled, on a helper: its own flag, or the flag of
 * the work it is part of (so that the helpers of a nested batch stop with
 * their enclosing job without waiting for the nested batch's caller to
 * poll); the latter is copied into b's flag, which its caller reads at the
 * end. */
static int
batch_stopped(fc_batch *b)
{
    if (atomic_load_explicit(&b->cancelled, memory_order_relaxed)) {
        return 1;
    }
    if (b->enclosing != NULL &&
        atomic_load_explicit(b->enclosing, memory_order_relaxed)) {
        atomic_store(&b->cancelled, 1);
        return 1;
    }
    return 0;
}

int
fc_pool_should_stop(void)
{
    if (cur_caller) {
        return caller_poll(cur_caller, now_ms());
    }
    if (cur_batch) {
        return batch_stopped(cur_batch);
    }
    return 0;
}

int
fc_pool_cancelled(void)
{
    if (cur_caller) {
        return cur_caller->stopped ||
               (cur_caller->enclosing &&
                atomic_load_explicit(cur_caller->enclosing,
                                     memory_order_relaxed));
    }
    if (cur_batch) {
        return atomic_load_explicit(&cur_batch->cancelled,
                                    memory_order_relaxed) ||
               (cur_batch->enclosing != NULL &&
                atomic_load_explicit(cur_batch->enclosing,
                                     memory_order_relaxed));
    }
    return 0;
}

/* Claim and run chunks until none is left; returns how many were claimed. */
static int64_t
batch_drain(fc_batch *b)
{
    int64_t count = 0;
    fc_batch *prev = cur_batch;
    caller_tls *prev_caller = cur_caller;
    cur_batch = b;
    cur_caller = NULL;    /* a worker never polls for the batch's caller */
    for (;;) {
        int64_t i = atomic_fetch_add(&b->next, 1);
        if (i >= b->n) {
            break;
        }
        if (!batch_stopped(b)) {
            b->fn(b->arg, i);
        }
        count++;
    }
    cur_batch = prev;
    cur_caller = prev_caller;
    return count;
}

/* pool.mu held */
static void
batch_unlist(fc_batch *b)
{
    if (!b->listed) {
        return;
    }
    if (b->prev) {
        b->prev->next_batch = b->next_batch;
    }
    else {
        pool.head = b->next_batch;
    }
    if (b->next_batch) {
        b->next_batch->prev = b->prev;
    }
    else {
        pool.tail = b->prev;
    }
    b->listed = 0;
}

/* pool.mu held: first batch a worker may join; drops exhausted ones. */
static fc_batch *
pool_pick(void)
{
    fc_batch *b = pool.head;
    while (b) {
        fc_batch *nx = b->next_batch;
        if (atomic_load(&b->next) >= b->n) {
            batch_unlist(b);
        }
        else if (b->helpers < b->max_helpers) {
            if (b->on_done != NULL && b->post_state == FC_POST_QUEUED) {
                b->post_state = FC_POST_RUNNING;
            }
            return b;
        }
        b = nx;
    }
    return NULL;
}

/* pool.mu held: take a posted batch off the live list. */
static void
post_unlink(fc_batch *b)
{
    if (b->post_prev) {
        b->post_prev->post_next = b->post_next;
    }
    else {
        pool.posts = b->post_next;
    }
    if (b->post_next) {
        b->post_next->post_prev = b->post_prev;
    }
    b->post_prev = b->post_next = NULL;
}

/* pool.mu held: one live post fewer. */
static void
post_release(void)
{
    if (--pool.live_posts == 0 && pool.closing) {
        pthread_cond_broadcast(&pool.posts_cv);
    }
}

/* pool.mu held, and the calling worker was the last one in the posted
 * batch b: run its on_done without the mutex (it may take the GIL, and it
 * may free b), then count the post as ended. */
static void
post_finish(fc_batch *b)
{
    b->post_state = FC_POST_DONE;
    post_unlink(b);
    fc_done_fn fn = b->on_done;
    void *arg = b->done_arg;
    pthread_mutex_unlock(&pool.mu);
    fn(arg);
    pthread_mutex_lock(&pool.mu);
    post_release();
}

static void *
worker_main(void *unused)
{
    (void)unused;
    in_worker = 1;
    int may_spin = 1;   /* once per idle spell: spin, then sleep */
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        fc_batch *b = pool_pick();
        if (b == NULL) {
            if (may_spin && pool.spin_ns > 0) {
                if (atomic_fetch_add(&pool.spinners, 1) < pool.max_spinners) {
                    unsigned long long seen = atomic_load(&pool.posted);
                    pthread_mutex_unlock(&pool.mu);
                    may_spin = spin_until(posted_since, &seen);
                    atomic_fetch_sub(&pool.spinners, 1);
                    pthread_mutex_lock(&pool.mu);
                    continue;
                }
                atomic_fetch_sub(&pool.spinners, 1);   /* enough spin */
            }
            pthread_cond_wait(&pool.work_cv, &pool.mu);
            may_spin = 1;
            continue;
        }
        may_spin = 1;
        b->helpers++;
        pthread_mutex_unlock(&pool.mu);
        int64_t count = batch_drain(b);
        pthread_mutex_lock(&pool.mu);
        b->done += count;
        b->helpers--;
        batch_unlist(b);
        if (b->on_done == NULL) {
            /* b lives on its caller's stack: touch it only under the
             * mutex, and the caller does not return before helpers == 0. */
            pthread_cond_signal(&b->cv);
        }
        else if (b->done >= b->n && b->helpers == 0) {
            post_finish(b);
        }
    }
    return NULL;
}

/* pool.mu held.  Start workers until `want` exist; failure to start one is
 * not an error: the batch then runs on fewer threads. */
static void
pool_grow(int want)
{
    if (want > FC_MAX_THREADS) {
        want = FC_MAX_THREADS;
    }
    if (pool.started >= want) {
        return;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);   /* workers inherit it */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    while (pool.started < want) {
        pthread_t tid;
        if (pthread_create(&tid, &attr, worker_main, NULL) != 0) {
            break;
        }
        pool.started++;
    }
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static int
run_inline(fc_task_fn fn, void *arg, int64_t n, fc_poll_fn poll, void *ctx)
{
    caller_tls me;
    caller_init(&me, poll, ctx, NULL);
    caller_tls *prev = cur_caller;
    fc_batch *prev_batch = cur_batch;
    cur_caller = &me;
    cur_batch = NULL;
    for (int64_t i = 0; i < n && !caller_poll(&me, now_ms()); i++) {
        fn(arg, i);
    }
    cur_caller = prev;
    cur_batch = prev_batch;
    return me.stopped;
}

int
fc_pool_run(fc_task_fn fn, void *arg, int64_t n, int threads,
            fc_poll_fn poll, void *ctx)
{
    return fc_pool_run_led(fn, arg, n, threads, poll, ctx, NULL);
}

int
fc_pool_run_led(fc_task_fn fn, void *arg, int64_t n, int threads,
                fc_poll_fn poll, void *ctx, fc_lead_fn lead)
{
    if (n <= 0) {
        if (lead != NULL) {
            lead(ctx);
        }
        return 0;
    }
    if (threads <= 1 || n == 1) {
        if (lead != NULL) {
            lead(ctx);
        }
        return run_inline(fn, arg, n, poll, ctx);
    }
    pthread_once(&pool_once, pool_init_once);

    fc_batch b;
    b.fn = fn;
    b.arg = arg;
    b.n = n;
    atomic_init(&b.next, 0);
    atomic_init(&b.cancelled, 0);
    b.enclosing = current_flag();
    atomic_init(&b.done, 0);
    atomic_init(&b.helpers, 0);
    b.max_helpers = (int64_t)(threads - 1) < n - 1 ? threads - 1 : (int)(n - 1);
    b.listed = 1;
    b.prev = b.next_batch = NULL;
    b.on_done = NULL;
    b.done_arg = NULL;
    b.post_state = FC_POST_RUNNING;
    b.generation = 0;
    b.post_prev = b.post_next = NULL;
    pthread_cond_init(&b.cv, &mono_attr);

    pthread_mutex_lock(&pool.mu);
    pool_grow(b.max_helpers);
    b.prev = pool.tail;
    if (pool.tail) {
        pool.tail->next_batch = &b;
    }
    else {
        pool.head = &b;
    }
    pool.tail = &b;
    atomic_fetch_add_explicit(&pool.posted, 1, memory_order_release);
    pthread_cond_broadcast(&pool.work_cv);
    pthread_mutex_unlock(&pool.mu);

    /* The helpers have started on the chunks: the caller's own work
     * first, then it takes chunks too. */
    if (lead != NULL) {
        lead(ctx);
    }

    /* The caller works too, polling between its own chunks (and, through
     * fc_pool_should_stop, inside long ones). */
    caller_tls me;
    caller_init(&me, poll, ctx, &b.cancelled);
    caller_tls *prev = cur_caller;
    fc_batch *prev_batch = cur_batch;
    cur_caller = &me;
    cur_batch = NULL;
    caller_poll(&me, now_ms());   /* an enclosing batch already cancelled */
    int64_t count = 0;
    for (;;) {
        int64_t i = atomic_fetch_add(&b.next, 1);
        if (i >= n) {
            break;
        }
        if (!me.stopped) {
            fn(arg, i);
        }
        count++;
        caller_poll(&me, now_ms());
    }
    cur_caller = prev;
    cur_batch = prev_batch;

    pthread_mutex_lock(&pool.mu);
    b.done += count;
    batch_unlist(&b);
    if ((b.done < b.n || b.helpers > 0) && pool.spin_ns > 0) {
        /* Callers have a (CPUs - 1) budget of their own: with more
         * callers than CPUs, spinning ones would take the CPU from the
         * helpers they wait for.  (Sharing the workers' budget made a
         * worker that finished while its caller spun go to sleep.) */
        pthread_mutex_unlock(&pool.mu);
        if (atomic_fetch_add(&pool.caller_spinners, 1) < pool.max_spinners) {
            (void)spin_until(batch_complete, &b);
        }
        atomic_fetch_sub(&pool.caller_spinners, 1);
        pthread_mutex_lock(&pool.mu);
    }
    while (b.done < b.n || b.helpers > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += (long)FC_POLL_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec += 1;
            ts.tv_nsec -= 1000000000L;
        }
        int rc = pthread_cond_timedwait(&b.cv, &pool.mu, &ts);
        if (rc == ETIMEDOUT && !me.stopped) {
            pthread_mutex_unlock(&pool.mu);
            caller_poll(&me, now_ms());
            pthread_mutex_lock(&pool.mu);
        }
    }
    pthread_mutex_unlock(&pool.mu);
    pthread_cond_destroy(&b.cv);
    if (atomic_load(&b.cancelled)) {
        /* A helper saw the enclosing work cancelled and skipped chunks. */
        me.stopped = 1;
    }
    return me.stopped;
}

/* --- posted batches ------------------------------------------------------ */

int
fc_pool_post(fc_batch *b, fc_task_fn fn, void *arg, int64_t n, int threads,
             fc_done_fn on_done, void *done_arg)
{
    if (n < 1 || on_done == NULL) {
        return -1;
    }
    pthread_once(&pool_once, pool_init_once);
    b->fn = fn;
    b->arg = arg;
    b->n = n;
    atomic_init(&b->next, 0);
    atomic_init(&b->cancelled, 0);
    b->enclosing = NULL;
    atomic_init(&b->done, 0);
    atomic_init(&b->helpers, 0);
    if (threads < 1) {
        threads = 1;
    }
    b->max_helpers = (int64_t)threads < n ? threads : (int)n;
    b->listed = 0;
    b->prev = b->next_batch = NULL;
    b->on_done = on_done;
    b->done_arg = done_arg;
    b->post_state = FC_POST_QUEUED;
    b->post_prev = b->post_next = NULL;

    pthread_mutex_lock(&pool.mu);
    if (pool.closing) {
        pthread_mutex_unlock(&pool.mu);
        return -1;
    }
    /* Independent posts run side by side: as many workers as the pool
     * size (and at least what this batch may use). */
    pool_grow(pool.size > b->max_helpers ? pool.size : b->max_helpers);
    if (pool.started == 0) {
        pthread_mutex_unlock(&pool.mu);
        return -1;
    }
    b->generation = pool.generation;
    b->listed = 1;
    b->prev = pool.tail;
    if (pool.tail) {
        pool.tail->next_batch = b;
    }
    else {
        pool.head = b;
    }
    pool.tail = b;
    b->post_next = pool.posts;
    if (pool.posts) {
        pool.posts->post_prev = b;
    }
    pool.posts = b;
    pool.live_posts++;
    atomic_fetch_add_explicit(&pool.posted, 1, memory_order_release);
    /* One chunk wants one worker: wake one, not the whole pool. */
    if (b->max_helpers == 1) {
        pthread_cond_signal(&pool.work_cv);
    }
    else {
        pthread_cond_broadcast(&pool.work_cv);
    }
    pthread_mutex_unlock(&pool.mu);
    return 0;
}

int
fc_pool_cancel(fc_batch *b)
{
    pthread_once(&pool_once, pool_init_once);
    pthread_mutex_lock(&pool.mu);
    int rc = b->post_state;
    if (b->generation != pool.generation &&
        (rc == FC_POST_QUEUED || rc == FC_POST_RUNNING)) {
        /* Posted by the parent of this forked child: no worker here will
         * ever run it, and it is on none of our lists. */
        b->post_state = rc = FC_POST_WITHDRAWN;
    }
    else if (rc == FC_POST_QUEUED) {
        batch_unlist(b);
        post_unlink(b);
        b->post_state = rc = FC_POST_WITHDRAWN;
        post_release();
    }
    else if (rc == FC_POST_RUNNING) {
        atomic_store(&b->cancelled, 1);
    }
    pthread_mutex_unlock(&pool.mu);
    return rc;
}

void
fc_pool_close_posts(void)
{
    pthread_once(&pool_once, pool_init_once);
    pthread_mutex_lock(&pool.mu);
    pool.closing = 1;
    for (fc_batch *b = pool.posts; b != NULL; b = b->post_next) {
        atomic_store(&b->cancelled, 1);
    }
    while (pool.live_posts > 0) {
        pthread_cond_wait(&pool.posts_cv, &pool.mu);
    }
    pthread_mutex_unlock(&pool.mu);
}

int
fc_pool_posts_live(void)
{
    pthread_once(&pool_once, pool_init_once);
    pthread_mutex_lock(&pool.mu);
    int n = pool.live_posts;
    pthread_mutex_unlock(&pool.mu);
    return n;
}

int
fc_pool_get_size(void)
{
    pthread_once(&pool_once, pool_init_once);
    pthread_mutex_lock(&pool.mu);
    int n = pool.size;
    pthread_mutex_unlock(&pool.mu);
    return n;
}

void
fc_pool_set_size(int n)
{
    pthread_once(&pool_once, pool_init_once);
    if (n < 1) {
        n = 1;
    }
    if (n > FC_MAX_THREADS) {
        n = FC_MAX_THREADS;
    }
    pthread_mutex_lock(&pool.mu);
    pool.size = n;
    pthread_mutex_unlock(&pool.mu);
}

int
fc_pool_started(void)
{
    pthread_once(&pool_once, pool_init_once);
    pthread_mutex_lock(&pool.mu);
    int n = pool.started;
    pthread_mutex_unlock(&pool.mu);
    return n;
}

int64_t
fc_pool_spin_setting_ns(void)
{
    long us = 100;
    const char *env = getenv("FASTCONC_SPIN_US");
    if (env != NULL && *env != '\0') {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == '\0' && v >= 0 && v <= 1000000) {
            us = v;
        }
    }
    return (int64_t)us * 1000;
}

int
fc_pool_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

int
fc_pool_in_worker(void)
{
    return in_worker;
}
