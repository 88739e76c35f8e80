/* pool.c - the native thread pool (see pool.h).
 *
 * Provides fc_pool_run() and the pool size knobs.  Must not call the Python
 * C API: everything here runs with or without an attached thread state.
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

typedef struct fc_batch {
    fc_task_fn fn;
    void *arg;
    int64_t n;
    atomic_llong next;          /* next chunk to claim */
    atomic_int cancelled;       /* skip chunks not yet started */
    atomic_llong done;          /* chunks finished or skipped (written
                                 * under pool.mu; read by a spinning caller) */
    atomic_int helpers;         /* workers inside the batch (likewise) */
    int max_helpers;            /* at most this many workers join (pool.mu) */
    int listed;                 /* on the pool list (pool.mu) */
    pthread_cond_t cv;          /* caller waits here for done == n */
    struct fc_batch *prev, *next_batch;
} fc_batch;

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
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL,
          0, 0, 0, 0, 0, 0, 0};

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
    atomic_int *cancelled;      /* the batch's flag, or NULL inline */
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
    pool.head = pool.tail = NULL;
    pool.started = 0;
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
    long us = 100;
    const char *env = getenv("FASTCONC_SPIN_US");
    if (env != NULL && *env != '\0') {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == '\0' && v >= 0 && v <= 1000000) {
            us = v;
        }
    }
    pool.spin_ns = (int64_t)us * 1000;
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

static int
caller_poll(caller_tls *c, int64_t now)
{
    if (c->stopped) {
        return 1;
    }
    if (c->poll && now - c->last >= FC_POLL_MS) {
        c->last = now;
        if (c->poll(c->ctx)) {
            c->stopped = 1;
            if (c->cancelled) {
                atomic_store(c->cancelled, 1);
            }
            return 1;
        }
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
        return atomic_load_explicit(&cur_batch->cancelled,
                                    memory_order_relaxed);
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
        if (!atomic_load_explicit(&b->cancelled, memory_order_relaxed)) {
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
            return b;
        }
        b = nx;
    }
    return NULL;
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
        /* b lives on its caller's stack: touch it only under the mutex,
         * and the caller does not return before helpers == 0. */
        pthread_cond_signal(&b->cv);
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
    caller_tls me = {poll, ctx, now_ms(), 0, NULL};
    caller_tls *prev = cur_caller;
    fc_batch *prev_batch = cur_batch;
    cur_caller = &me;
    cur_batch = NULL;
    for (int64_t i = 0; i < n && !me.stopped; i++) {
        fn(arg, i);
        if (i + 1 < n) {
            caller_poll(&me, now_ms());
        }
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
    atomic_init(&b.done, 0);
    atomic_init(&b.helpers, 0);
    b.max_helpers = (int64_t)(threads - 1) < n - 1 ? threads - 1 : (int)(n - 1);
    b.listed = 1;
    b.prev = b.next_batch = NULL;
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
    caller_tls me = {poll, ctx, now_ms(), 0, &b.cancelled};
    caller_tls *prev = cur_caller;
    fc_batch *prev_batch = cur_batch;
    cur_caller = &me;
    cur_batch = NULL;
    int64_t count = 0;
    for (;;) {
        int64_t i = atomic_fetch_add(&b.next, 1);
        if (i >= n) {
            break;
        }
        if (!atomic_load_explicit(&b.cancelled, memory_order_relaxed)) {
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
    return me.stopped;
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
