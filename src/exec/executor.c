/* executor.c - the C half of fastconc.ThreadPoolExecutor.
 *
 * Provides WorkQueue, a FIFO with the API of queue.SimpleQueue (put, get,
 * get_nowait, qsize, empty) that also counts the threads waiting in get()
 * (the executor's idle workers), and _worker_loop(), the executor's worker:
 * take a work item, run it, set its future, repeat, all without a Python
 * frame per task.  A worker that has just finished a task spins, detached,
 * for the next item for FASTCONC_SPIN_US microseconds (100 by default, at
 * most CPUs - 1 workers of a queue at a time), then sleeps on a condition
 * variable of its own until an item arrives: an item that a spinner takes
 * costs no wake-up (about 9 us on the 2-vCPU VMs, a third of a
 * submit().result() round trip on a fresh executor, whose one worker
 * otherwise slept between every two tasks), and an idle executor burns
 * no CPU after its spin.  A put() wakes a sleeper only when there are more
 * items than spinners to take them.  Python get() callers do not spin.
 * The getter woken is the one
 * that went to sleep last (a stack of waiters): after a map() has started
 * every worker, a round of submit().result() still goes to the one worker
 * that ran the previous task, still on its CPU with its caches warm,
 * instead of to each sleeping worker in turn (a shared condition variable
 * wakes them in about the order they slept, which on a 2-vCPU machine made
 * every round trip a cold wake-up and cost a third of the speed).
 *
 * The other half of a round trip is the GIL hand-off with the thread that
 * waits in Future.result(), through WorkQueue.wait_done().  Without it a
 * round trip slept three times: the worker on the GIL (the submitter still
 * held it), the submitter on its future, then the submitter on the GIL
 * (woken by set_result() while the worker still held it).  Now a spinning
 * worker that takes an item holds off (up to 20 us, yielding) until the
 * submitter waits in wait_done() with the GIL released, so it finds the
 * GIL free; wait_done() spins (up to 50 us, yielding the CPU between
 * polls, at most CPUs - 1 waiters of a queue), then sleeps, until a worker
 * counts a finished task, which it does once it has let go of the GIL, so
 * the waiter takes the GIL free too.  A quick task's round trip then has
 * no sleep at all (1.9-2.4x the stdlib executor's, fresh and after a map,
 * against 1.0-1.5x, on the loaded 2-vCPU VM); a long task's waiter sleeps
 * after 50 us, and wait_done() returns after that one sleep (woken by any
 * task's end) or about 50 ms, for result() to sleep on the future itself
 * (interruptible, and woken only by its own future).  The result() side
 * and the workers spin only while the CPUs are not oversubscribed: a
 * yield inside a spin that lost the CPU for long stops every spin of the
 * queue for a while (wq_yield), since a spinning thread that yields on a
 * busy machine waits out another process's whole time slice.
 *
 * A work item is a tuple (future, fn, args, kwargs) with kwargs a dict or
 * None.  The queue's mutex is a pthread mutex because getters wait on it
 * without the GIL; it is held only for a few instructions and nobody takes
 * the GIL while holding it.  Deadlines are on the monotonic clock
 * (fc_mono_ns), and so is the condition variable's timed wait.
 */
#include "exec/executor.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#define WQ_POLL_MS 50
#define WQ_HOLDOFF_NS 20000
#define WQ_WAIT_SPIN_NS 50000
/* A yield that lost the CPU this long (a few round trips): spinning no
 * longer pays; none for the next 20 ms.  Picked on the loaded 2-vCPU VM:
 * 50 us / 100 ms stopped the spins under ordinary load too (round trips
 * 1.2-2.3x the stdlib's against 2.5-3.1x), and with two busy loops beside
 * the benchmark 200 us / 20 ms kept round trips at 60-90 us, where
 * yielding spins took milliseconds. */
#define WQ_YIELD_LONG_NS 200000
#define WQ_CONTENDED_NS 20000000

/* A getter asleep in wq_get(), on its own stack; linked under mu. */
typedef struct wq_waiter {
    pthread_cond_t cv;
    struct wq_waiter *next;     /* the one that slept before it */
    int woken;                  /* taken off the stack by wq_push */
} wq_waiter;

typedef struct {
    PyObject_HEAD
    pthread_mutex_t mu;     /* guards ring, head, len, cap, waiters, idle */
    PyObject **ring;        /* strong references, FIFO from head */
    Py_ssize_t cap, head;
    atomic_long len;        /* written under mu, read without it */
    wq_waiter *waiters;     /* getters asleep, the last to sleep first */
    int spinners;           /* workers spinning for an item (under mu) */
    int64_t spin_ns;        /* the module's settings, copied at creation */
    int max_spinners;
    /* Completions since creation, counted by a worker once it has let go
     * of the GIL after a task (what wait_done() spins for), and the
     * threads spinning in wait_done() without the GIL (what a worker that
     * has just taken an item waits for before it takes the GIL). */
    atomic_long done_seq;
    atomic_int gil_free_waiters;
    atomic_int done_sleepers;   /* wait_done() callers asleep on done_cv */
    pthread_cond_t done_cv;     /* with mu; on the monotonic clock */
    int has_done_cv;            /* done_cv initialised (wq_new got there) */
    int64_t holdoff_ns;         /* at most spin_ns and WQ_HOLDOFF_NS */
    int64_t wait_spin_ns;       /* at most spin_ns and WQ_WAIT_SPIN_NS */
    atomic_int wait_spinners;   /* wait_done() callers spinning */
    atomic_long notify_seq;     /* transitions seen by _wake_waiters() */
    atomic_long wait_calls;     /* wait_done() calls that let the GIL go */
    atomic_long holdoff_failed_at;  /* wait_calls at the last vain hold-off */
    _Atomic int64_t contended_until;    /* no result-side spins before */
    atomic_long idle;       /* threads inside get() (idle workers) */
    PyObject *empty_exc;    /* queue.Empty */
} FcWorkQueueObject;

/* The absolute time, for pthread_cond_timedwait on a condition variable
 * whose clock is CLOCK_MONOTONIC, of the fc_mono_ns() instant deadline. */
static void
mono_abstime(int64_t deadline, struct timespec *out)
{
    out->tv_sec = (time_t)(deadline / 1000000000);
    out->tv_nsec = (long)(deadline % 1000000000);
}

/* mu held: take the oldest item (the reference moves to the caller). */
static PyObject *
wq_pop_locked(FcWorkQueueObject *q)
{
    PyObject *item = q->ring[q->head];
    q->ring[q->head] = NULL;
    q->head = (q->head + 1) % q->cap;
    atomic_store(&q->len, atomic_load(&q->len) - 1);
    return item;
}

/* After a count moved: wake wait_done()'s sleepers, if any.  Taking mu
 * (which a sleeper holds from its last look at the counts until it waits)
 * orders the broadcast after that look; the broadcast itself comes after
 * mu is let go, so that the woken do not at once block on it (on a busy
 * machine, a second sleep). */
static void
wq_wake_sleepers(FcWorkQueueObject *q)
{
    if (atomic_load(&q->done_sleepers) > 0) {
        pthread_mutex_lock(&q->mu);
        pthread_mutex_unlock(&q->mu);
        pthread_cond_broadcast(&q->done_cv);
    }
}

/* Yield the CPU inside a spin; 1 when that took long: another thread had
 * this CPU, which is then oversubscribed, so spinning (which yields to
 * whatever else is runnable, for its whole time slice) costs far more
 * than sleeping.  Every spin of the queue (workers', hold-offs,
 * wait_done()'s) then stops, and none starts for WQ_CONTENDED_NS.  With
 * two busy loops beside a round-trip benchmark on the 2-vCPU VM, a round
 * trip took milliseconds without this. */
static int
wq_yield(FcWorkQueueObject *q)
{
    int64_t t0 = fc_mono_ns();
    sched_yield();
    int64_t t1 = fc_mono_ns();
    if (t1 - t0 > WQ_YIELD_LONG_NS) {
        atomic_store(&q->contended_until, t1 + WQ_CONTENDED_NS);
        return 1;
    }
    return 0;
}

/* A worker has finished a task (and let go of the GIL, unless it goes
 * on at once with the next item): count it for wait_done(), and wake its
 * sleepers.  The count is bumped before the sleepers are read and a
 * sleeper counts itself before it reads the count (both sequentially
 * consistent), so one of the two sides sees the other: no lost wake-up. */
static void
wq_task_done(FcWorkQueueObject *q)
{
    atomic_fetch_add(&q->done_seq, 1);
    wq_wake_sleepers(q);
}

/* GIL held.  Appends a new reference to item. */
static int
wq_push(FcWorkQueueObject *q, PyObject *item)
{
    int rc = 0;
    pthread_mutex_lock(&q->mu);
    Py_ssize_t len = atomic_load(&q->len);
    if (len == q->cap) {
        Py_ssize_t ncap = q->cap ? q->cap * 2 : 16;
        /* Raw allocator: getters touch the ring without the GIL (under mu). */
        PyObject **nr = PyMem_RawMalloc((size_t)ncap * sizeof(PyObject *));
        if (nr == NULL) {
            rc = -1;
            goto unlock;
        }
        for (Py_ssize_t i = 0; i < len; i++) {
            nr[i] = q->ring[(q->head + i) % q->cap];
        }
        PyMem_RawFree(q->ring);
        q->ring = nr;
        q->cap = ncap;
        q->head = 0;
    }
    q->ring[(q->head + len) % q->cap] = Py_NewRef(item);
    atomic_store(&q->len, len + 1);
    wq_waiter *w = q->waiters;
    if (w != NULL && len + 1 > q->spinners) {
        /* Wake the getter that slept last.  Signalled under mu: the
         * waiter lives on its thread's stack, which it leaves only after
         * taking mu. */
        q->waiters = w->next;
        w->woken = 1;
        pthread_cond_signal(&w->cv);
    }
unlock:
    pthread_mutex_unlock(&q->mu);
    if (rc < 0) {
        PyErr_NoMemory();
    }
    return rc;
}

/* Detached, an item just taken by a spinning worker: the thread that put
 * it most likely still holds the GIL and is about to wait for its result
 * in wait_done(), which lets the GIL go.  Wait a moment for that (at most
 * WQ_HOLDOFF_NS), so that taking the GIL finds it free instead of
 * sleeping on it and costing the submitter a wake-up when it lets go.
 * A submitter that does not call result() (callbacks, as_completed())
 * would make every hold-off wait its whole time: after one that waited in
 * vain, none is tried until some thread has called wait_done() again. */
static void
wq_hold_off(FcWorkQueueObject *q)
{
    long waits = atomic_load(&q->wait_calls);
    if (waits == atomic_load(&q->holdoff_failed_at) ||
        fc_mono_ns() < atomic_load(&q->contended_until)) {
        return;
    }
    int64_t deadline = 0;
    for (;;) {
        for (int i = 0; i < 32; i++) {
            if (atomic_load(&q->gil_free_waiters) > 0) {
                return;
            }
            fc_cpu_relax();
        }
        int64_t t = fc_mono_ns();
        if (deadline == 0) {
            deadline = t + q->holdoff_ns;
        }
        else if (t >= deadline) {
            atomic_store(&q->holdoff_failed_at, waits);
            return;
        }
        /* The submitter may be waiting for this CPU: let it run. */
        if (wq_yield(q)) {
            return;
        }
    }
}

/* Detached: spin until an item is there (taken: returned, a new
 * reference) or q->spin_ns passed (NULL).  The caller counts as idle. */
static PyObject *
wq_spin(FcWorkQueueObject *q)
{
    PyObject *item = NULL;
    if (fc_mono_ns() < atomic_load(&q->contended_until)) {
        return NULL;    /* the CPUs are oversubscribed: sleep at once */
    }
    pthread_mutex_lock(&q->mu);
    if (q->spinners >= q->max_spinners) {
        pthread_mutex_unlock(&q->mu);
        return NULL;
    }
    q->spinners++;
    pthread_mutex_unlock(&q->mu);
    int64_t deadline = fc_mono_ns() + q->spin_ns;
    for (;;) {
        int seen = 0;
        for (int i = 0; i < 64 && !seen; i++) {
            seen = atomic_load(&q->len) > 0;
            if (!seen) {
                fc_cpu_relax();
            }
        }
        int over = 0;
        if (!seen) {
            /* A thread this one woke (the submitter, waiting for its
             * result) may be waiting for this CPU: let it run.  A long
             * yield: stop spinning. */
            over = wq_yield(q);
        }
        over = over || (!seen && fc_mono_ns() >= deadline);
        if (seen || over) {
            /* Leave the spinners and take the item in one step under mu,
             * so that wq_push's count of spinners never promises an item
             * to a thread that has stopped looking. */
            pthread_mutex_lock(&q->mu);
            if (atomic_load(&q->len) > 0) {
                item = wq_pop_locked(q);
            }
            if (item != NULL || over) {
                q->spinners--;
                pthread_mutex_unlock(&q->mu);
                if (item != NULL && q->holdoff_ns > 0) {
                    wq_hold_off(q);
                }
                return item;
            }
            pthread_mutex_unlock(&q->mu);   /* another thread took it */
        }
    }
}

/* GIL held.  Returns a new reference, or NULL with queue.Empty set on
 * timeout (timeout_ns < 0: wait forever) or another exception (a signal
 * handler raised while waiting in the main thread, with poll_signals).
 * spin: a worker's wait, which spins first (see the top of the file). */
static PyObject *
wq_get(FcWorkQueueObject *q, int block, int64_t timeout_ns, int poll_signals,
       int spin, int finished)
{
    PyObject *item = NULL;
    pthread_mutex_lock(&q->mu);
    if (atomic_load(&q->len) > 0) {
        item = wq_pop_locked(q);
        pthread_mutex_unlock(&q->mu);
        if (finished) {
            /* Going on with the GIL held: a waiter that wakes now waits
             * for the GIL, but it must not sleep until the queue drains. */
            wq_task_done(q);
        }
        return item;
    }
    pthread_mutex_unlock(&q->mu);
    if (!block || timeout_ns == 0) {
        PyErr_SetNone(q->empty_exc);
        return NULL;
    }

    /* Our place on the waiters' stack, with a condition variable timed on
     * the monotonic clock (deadlines come from fc_mono_ns()). */
    wq_waiter me;
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) {
        return PyErr_NoMemory();
    }
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&me.cv, &attr) != 0) {
        pthread_condattr_destroy(&attr);
        PyErr_SetString(PyExc_OSError, "WorkQueue: no monotonic clock");
        return NULL;
    }
    pthread_condattr_destroy(&attr);
    atomic_fetch_add(&q->idle, 1);
    if (spin && q->spin_ns > 0 && q->max_spinners > 0) {
        PyThreadState *ts = PyEval_SaveThread();
        if (finished) {
            /* The GIL is free now: tell wait_done()'s waiters. */
            wq_task_done(q);
            finished = 0;
        }
        item = wq_spin(q);
        PyEval_RestoreThread(ts);
        if (item != NULL) {
            atomic_fetch_sub(&q->idle, 1);
            pthread_cond_destroy(&me.cv);
            return item;
        }
    }
    int64_t deadline = timeout_ns < 0 ? INT64_MAX : fc_mono_ns() + timeout_ns;
    int timed_out = 0;
    for (;;) {
        PyThreadState *ts = PyEval_SaveThread();
        /* Without the GIL: only the ring (under mu) and atomics are
         * touched; the queue object is kept alive by our caller. */
        if (finished) {
            wq_task_done(q);
            finished = 0;
        }
        pthread_mutex_lock(&q->mu);
        /* The worker loop sleeps until work arrives; a get() called from
         * Python wakes every WQ_POLL_MS so the main thread can run signal
         * handlers. */
        int64_t slice_end = poll_signals
            ? fc_mono_ns() + (int64_t)WQ_POLL_MS * 1000000 : INT64_MAX;
        if (slice_end > deadline) {
            slice_end = deadline;
        }
        struct timespec abs;
        mono_abstime(slice_end, &abs);
        while (atomic_load(&q->len) == 0) {
            me.woken = 0;
            me.next = q->waiters;
            q->waiters = &me;
            int rc = 0;
            while (!me.woken && rc != ETIMEDOUT) {
                rc = slice_end == INT64_MAX
                     ? pthread_cond_wait(&me.cv, &q->mu)
                     : pthread_cond_timedwait(&me.cv, &q->mu, &abs);
            }
            if (!me.woken) {
                /* Timed out, still on the stack: step off it. */
                wq_waiter **pp = &q->waiters;
                while (*pp != &me) {
                    pp = &(*pp)->next;
                }
                *pp = me.next;
                break;
            }
        }
        if (atomic_load(&q->len) > 0) {
            item = wq_pop_locked(q);
        }
        else if (fc_mono_ns() >= deadline) {
            timed_out = 1;
        }
        pthread_mutex_unlock(&q->mu);
        PyEval_RestoreThread(ts);
        if (item != NULL) {
            break;
        }
        if (timed_out) {
            PyErr_SetNone(q->empty_exc);
            break;
        }
        /* A 50 ms slice passed: let the main thread run signal handlers. */
        if (PyErr_CheckSignals() < 0) {
            break;
        }
    }
    atomic_fetch_sub(&q->idle, 1);
    pthread_cond_destroy(&me.cv);
    return item;
}

static int
parse_timeout(PyObject *obj, int64_t *out)
{
    if (obj == NULL || obj == Py_None) {
        *out = -1;
        return 0;
    }
    double t = PyFloat_AsDouble(obj);
    if (t == -1.0 && PyErr_Occurred()) {
        return -1;
    }
    if (t < 0) {
        PyErr_SetString(PyExc_ValueError, "'timeout' must be a non-negative "
                        "number");
        return -1;
    }
    *out = t > 1e9 ? INT64_MAX / 2 : (int64_t)(t * 1e9);
    return 0;
}

/* --- WorkQueue methods ------------------------------------------------ */

static PyObject *
wq_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    if (PyTuple_GET_SIZE(args) != 0 || (kw && PyDict_GET_SIZE(kw) != 0)) {
        PyErr_SetString(PyExc_TypeError, "WorkQueue() takes no arguments");
        return NULL;
    }
    PyObject *mod = PyType_GetModule(type);
    if (mod == NULL) {
        return NULL;
    }
    FcWorkQueueObject *q = NULL;
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) {
        return PyErr_NoMemory();
    }
    /* wait_done()'s timed sleeps take fc_mono_ns() deadlines. */
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0) {
        PyErr_SetString(PyExc_OSError, "WorkQueue: no monotonic clock");
        goto exit;
    }
    q = (FcWorkQueueObject *)type->tp_alloc(type, 0);
    if (q == NULL) {
        goto exit;
    }
    pthread_mutex_init(&q->mu, NULL);
    if (pthread_cond_init(&q->done_cv, &attr) != 0) {
        /* tp_alloc zeroed the rest: dealloc frees nothing more */
        Py_CLEAR(q);
        PyErr_NoMemory();
        goto exit;
    }
    q->has_done_cv = 1;
    q->ring = NULL;
    q->cap = q->head = 0;
    atomic_init(&q->len, 0);
    atomic_init(&q->idle, 0);
    q->waiters = NULL;
    q->spinners = 0;
    q->spin_ns = fc_get_state(mod)->pmap->wq_spin_ns;
    q->max_spinners = fc_get_state(mod)->pmap->wq_max_spinners;
    atomic_init(&q->done_seq, 0);
    atomic_init(&q->gil_free_waiters, 0);
    atomic_init(&q->done_sleepers, 0);
    atomic_init(&q->wait_spinners, 0);
    atomic_init(&q->notify_seq, 0);
    atomic_init(&q->wait_calls, 0);
    atomic_init(&q->holdoff_failed_at, -1);
    atomic_init(&q->contended_until, 0);
#ifdef Py_GIL_DISABLED
    /* No GIL to find free: the worker goes on at once. */
    q->holdoff_ns = 0;
#else
    q->holdoff_ns = q->spin_ns < WQ_HOLDOFF_NS ? q->spin_ns : WQ_HOLDOFF_NS;
#endif
    q->wait_spin_ns = q->spin_ns < WQ_WAIT_SPIN_NS ? q->spin_ns
                                                   : WQ_WAIT_SPIN_NS;
    q->empty_exc = Py_NewRef(fc_get_state(mod)->pmap->QueueEmpty);
exit:
    pthread_condattr_destroy(&attr);
    return (PyObject *)q;
}

static int
wq_traverse(FcWorkQueueObject *q, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(q));
    Py_VISIT(q->empty_exc);
    /* The GC runs with the GIL; getters only remove items, under mu. */
    pthread_mutex_lock(&q->mu);
    Py_ssize_t len = atomic_load(&q->len);
    int rc = 0;
    for (Py_ssize_t i = 0; i < len && rc == 0; i++) {
        PyObject *o = q->ring[(q->head + i) % q->cap];
        if (o) {
            rc = visit(o, arg);
        }
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

static void
wq_drop_items(FcWorkQueueObject *q)
{
    for (;;) {
        PyObject *o = NULL;
        pthread_mutex_lock(&q->mu);
        if (atomic_load(&q->len) > 0) {
            o = wq_pop_locked(q);
        }
        pthread_mutex_unlock(&q->mu);
        if (o == NULL) {
            break;
        }
        Py_DECREF(o);   /* outside mu: may run arbitrary code */
    }
}

static int
wq_clear(FcWorkQueueObject *q)
{
    wq_drop_items(q);
    Py_CLEAR(q->empty_exc);
    return 0;
}

static void
wq_dealloc(FcWorkQueueObject *q)
{
    PyTypeObject *tp = Py_TYPE(q);
    PyObject_GC_UnTrack(q);
    wq_clear(q);
    PyMem_RawFree(q->ring);
    pthread_mutex_destroy(&q->mu);
    if (q->has_done_cv) {
        pthread_cond_destroy(&q->done_cv);
    }
    tp->tp_free((PyObject *)q);
    Py_DECREF(tp);
}

PyDoc_STRVAR(wq_put__doc__,
"put($self, item, block=True, timeout=None)\n--\n\n"
"Put item at the end of the queue (never blocks: the queue is unbounded).");

static PyObject *
wq_put(FcWorkQueueObject *q, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"item", "block", "timeout", NULL};
    PyObject *item, *block = NULL, *timeout = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OO:put", kwlist, &item,
                                     &block, &timeout)) {
        return NULL;
    }
    if (wq_push(q, item) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(wq_put_nowait__doc__,
"put_nowait($self, item, /)\n--\n\n"
"Put item at the end of the queue.");

static PyObject *
wq_put_nowait(FcWorkQueueObject *q, PyObject *item)
{
    if (wq_push(q, item) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(wq_get__doc__,
"get($self, block=True, timeout=None)\n--\n\n"
"Remove and return the oldest item; raise queue.Empty if none arrives\n"
"(at once when block is false, else after timeout seconds).");

static PyObject *
wq_get_py(FcWorkQueueObject *q, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"block", "timeout", NULL};
    int block = 1;
    PyObject *timeout = NULL;
    int64_t tns;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|pO:get", kwlist, &block,
                                     &timeout)) {
        return NULL;
    }
    if (parse_timeout(timeout, &tns) < 0) {
        return NULL;
    }
    return wq_get(q, block, tns, 1, 0, 0);
}

PyDoc_STRVAR(wq_get_nowait__doc__,
"get_nowait($self, /)\n--\n\n"
"Remove and return the oldest item, or raise queue.Empty.");

static PyObject *
wq_get_nowait(FcWorkQueueObject *q, PyObject *Py_UNUSED(ignored))
{
    return wq_get(q, 0, 0, 1, 0, 0);
}

/* GIL held: 1 when future._state is past PENDING and RUNNING, 0 when
 * not, -1 with an exception set. */
static int
future_done(struct fc_pmap_state *ps, PyObject *future)
{
    PyObject *state = PyObject_GetAttr(future, ps->str_state);
    if (state == NULL) {
        return -1;
    }
    int done = !(state == ps->str_pending || state == ps->str_running ||
                 (PyUnicode_Check(state) &&
                  (PyUnicode_Compare(state, ps->str_pending) == 0 ||
                   PyUnicode_Compare(state, ps->str_running) == 0)));
    Py_DECREF(state);
    return done;
}

PyDoc_STRVAR(wq_wait_done__doc__,
"wait_done($self, future, timeout=None, /)\n--\n\n"
"Wait, with the GIL released, until future (a task of this queue) is done,\n"
"for at most timeout seconds and at most about 50 ms: spin first (up to\n"
"50 us, and no longer than FASTCONC_SPIN_US), then sleep once, until a\n"
"worker finishes a task or a future of the queue changes state.  The\n"
"caller checks the future's state after the call and waits on if it\n"
"must.  A worker counts each task it finishes once it has let go of the\n"
"GIL, so the waiter takes the GIL back without waiting for it.");

static PyObject *
wq_wait_done(FcWorkQueueObject *q, PyObject *const *args, Py_ssize_t nargs)
{
    struct fc_pmap_state *ps =
        fc_get_state(PyType_GetModule(Py_TYPE(q)))->pmap;
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "wait_done(future, timeout=None)");
        return NULL;
    }
    int64_t tns;
    if (parse_timeout(nargs > 1 ? args[1] : NULL, &tns) < 0) {
        return NULL;
    }
    int64_t spin = q->max_spinners > 0 ? q->wait_spin_ns : 0;
    int64_t total = spin + (int64_t)WQ_POLL_MS * 1000000;
    if (tns >= 0 && tns < total) {
        total = tns;
    }
    int64_t start = fc_mono_ns();
    int64_t spin_end = start + (spin < total ? spin : total);
    int64_t end = start + total;
    struct timespec abs;
    mono_abstime(end, &abs);
    int slept = 0;
    for (;;) {
        long seq = atomic_load(&q->done_seq);
        long nseq = atomic_load(&q->notify_seq);
        int done = future_done(ps, args[0]);
        if (done < 0) {
            return NULL;
        }
        /* One sleep only: woken by another task's end, the caller sleeps
         * on the future itself rather than waking at every task of a
         * busy pool. */
        if (done || slept || fc_mono_ns() >= end) {
            break;
        }
        Py_BEGIN_ALLOW_THREADS
        /* Only q (kept alive by our caller) is touched. */
        atomic_fetch_add(&q->wait_calls, 1);
        atomic_fetch_add(&q->gil_free_waiters, 1);
        /* At most as many spinning waiters as spinning workers: the
         * others sleep at once. */
        if (atomic_fetch_add(&q->wait_spinners, 1) < q->max_spinners &&
            fc_mono_ns() >= atomic_load(&q->contended_until)) {
            while (atomic_load(&q->done_seq) == seq) {
                for (int i = 0;
                     i < 64 && atomic_load(&q->done_seq) == seq; i++) {
                    fc_cpu_relax();
                }
                if (fc_mono_ns() >= spin_end) {
                    break;
                }
                /* The worker may need this CPU: let it run. */
                if (wq_yield(q)) {
                    break;
                }
            }
        }
        atomic_fetch_sub(&q->wait_spinners, 1);
        if (atomic_load(&q->done_seq) == seq) {
            slept = 1;
            pthread_mutex_lock(&q->mu);
            atomic_fetch_add(&q->done_sleepers, 1);
            int rc = 0;
            while (atomic_load(&q->done_seq) == seq &&
                   atomic_load(&q->notify_seq) == nseq && rc != ETIMEDOUT) {
                rc = pthread_cond_timedwait(&q->done_cv, &q->mu, &abs);
            }
            atomic_fetch_sub(&q->done_sleepers, 1);
            pthread_mutex_unlock(&q->mu);
        }
        atomic_fetch_sub(&q->gil_free_waiters, 1);
        Py_END_ALLOW_THREADS
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(wq_wake_waiters__doc__,
"_wake_waiters($self, /)\n--\n\n"
"Wake the wait_done() callers asleep (a future of this queue changed state\n"
"other than by a worker finishing its task, e.g. cancel()).");

static PyObject *
wq_wake_waiters(FcWorkQueueObject *q, PyObject *Py_UNUSED(ignored))
{
    /* As wq_task_done: bump, then look for sleepers. */
    atomic_fetch_add(&q->notify_seq, 1);
    wq_wake_sleepers(q);
    Py_RETURN_NONE;
}

static PyObject *
wq_qsize(FcWorkQueueObject *q, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromLong(atomic_load(&q->len));
}

static PyObject *
wq_empty(FcWorkQueueObject *q, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(atomic_load(&q->len) == 0);
}

PyDoc_STRVAR(wq_needs_worker__doc__,
"needs_worker($self, /)\n--\n\n"
"True when more items wait than threads wait in get().");

static PyObject *
wq_needs_worker(FcWorkQueueObject *q, PyObject *Py_UNUSED(ignored))
{
    return PyBool_FromLong(atomic_load(&q->len) > atomic_load(&q->idle));
}

static PyObject *
wq_get_idle(FcWorkQueueObject *q, void *Py_UNUSED(closure))
{
    return PyLong_FromLong(atomic_load(&q->idle));
}

static PyObject *
wq_reduce(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    PyErr_Format(PyExc_TypeError, "cannot pickle '%.100s' object",
                 Py_TYPE(self)->tp_name);
    return NULL;
}

static PyMethodDef wq_methods[] = {
    {"put", FC_CFUNC(wq_put), METH_VARARGS | METH_KEYWORDS, wq_put__doc__},
    {"put_nowait", (PyCFunction)wq_put_nowait, METH_O, wq_put_nowait__doc__},
    {"get", FC_CFUNC(wq_get_py), METH_VARARGS | METH_KEYWORDS, wq_get__doc__},
    {"get_nowait", (PyCFunction)wq_get_nowait, METH_NOARGS,
     wq_get_nowait__doc__},
    {"wait_done", FC_CFUNC(wq_wait_done), METH_FASTCALL,
     wq_wait_done__doc__},
    {"_wake_waiters", (PyCFunction)wq_wake_waiters, METH_NOARGS,
     wq_wake_waiters__doc__},
    {"qsize", (PyCFunction)wq_qsize, METH_NOARGS, NULL},
    {"empty", (PyCFunction)wq_empty, METH_NOARGS, NULL},
    {"needs_worker", (PyCFunction)wq_needs_worker, METH_NOARGS,
     wq_needs_worker__doc__},
    {"__reduce__", wq_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef wq_getset[] = {
    {"idle", (getter)wq_get_idle, NULL, "threads waiting in get()", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(wq_doc,
"WorkQueue()\n--\n\n"
"The unbounded FIFO of fastconc.ThreadPoolExecutor (queue.SimpleQueue's\n"
"API), which also counts the threads waiting in get() (idle).");

static PyType_Slot wq_slots[] = {
    {Py_tp_new, wq_new},
    {Py_tp_dealloc, wq_dealloc},
    {Py_tp_traverse, wq_traverse},
    {Py_tp_clear, wq_clear},
    {Py_tp_methods, wq_methods},
    {Py_tp_getset, wq_getset},
    {Py_tp_doc, (void *)wq_doc},
    {0, NULL},
};

static PyType_Spec wq_spec = {
    .name = "fastconc._core.WorkQueue",
    .basicsize = sizeof(FcWorkQueueObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = wq_slots,
};

/* --- the worker loop --------------------------------------------------- */

/* Run one work item (future, fn, args, kwargs) as the stdlib's _WorkItem
 * does.  Returns -1 only when setting the future itself failed. */
static int
run_item(struct fc_pmap_state *ps, PyObject *item)
{
    static const char bad[] = "work item must be (future, fn, args, kwargs)";
    if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 4 ||
        !PyTuple_Check(PyTuple_GET_ITEM(item, 2))) {
        PyErr_SetString(PyExc_TypeError, bad);
        return -1;
    }
    PyObject *future = PyTuple_GET_ITEM(item, 0);
    PyObject *fn = PyTuple_GET_ITEM(item, 1);
    PyObject *args = PyTuple_GET_ITEM(item, 2);
    PyObject *kwargs = PyTuple_GET_ITEM(item, 3);
    PyObject *ok = NULL, *res = NULL, *done = NULL;
    int rc = -1;

    ok = PyObject_CallMethodNoArgs(future, ps->str_set_running);
    if (ok == NULL) {
        goto exit;
    }
    if (!PyObject_IsTrue(ok)) {
        rc = 0;
        goto exit;
    }
    res = PyObject_Call(fn, args, kwargs == Py_None ? NULL : kwargs);
    if (res == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_BaseException)) {
            goto exit;
        }
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        if (tb != NULL) {
            PyException_SetTraceback(value, tb);
        }
        done = PyObject_CallMethodOneArg(future, ps->str_set_exception,
                                         value);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
    }
    else {
        done = PyObject_CallMethodOneArg(future, ps->str_set_result, res);
    }
    if (done != NULL) {
        rc = 0;
    }
exit:
    Py_XDECREF(ok);
    Py_XDECREF(res);
    Py_XDECREF(done);
    return rc;
}

PyDoc_STRVAR(fc_worker_loop__doc__,
"_worker_loop($module, queue, on_none, /)\n--\n\n"
"Run work items from queue until on_none() (called for each None taken)\n"
"returns true.");

static PyObject *
fc_worker_loop(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    fc_state *st = fc_get_state(module);
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_worker_loop(queue, on_none)");
        return NULL;
    }
    if (!PyObject_TypeCheck(args[0],
                            (PyTypeObject *)st->pmap->WorkQueueType)) {
        PyErr_SetString(PyExc_TypeError, "queue must be a WorkQueue");
        return NULL;
    }
    FcWorkQueueObject *q = (FcWorkQueueObject *)args[0];
    PyObject *on_none = args[1];
    int finished = 0;
    for (;;) {
        PyObject *item = wq_get(q, 1, -1, 0, 1, finished);
        finished = 0;
        if (item == NULL) {
            return NULL;
        }
        if (item == Py_None) {
            Py_DECREF(item);
            PyObject *r = PyObject_CallNoArgs(on_none);
            if (r == NULL) {
                return NULL;
            }
            int stop = PyObject_IsTrue(r);
            Py_DECREF(r);
            if (stop) {
                Py_RETURN_NONE;
            }
            continue;
        }
        int rc = run_item(st->pmap, item);
        Py_DECREF(item);
        if (rc < 0) {
            return NULL;
        }
        finished = 1;
    }
}

static PyMethodDef executor_methods[] = {
    {"_worker_loop", FC_CFUNC(fc_worker_loop), METH_FASTCALL,
     fc_worker_loop__doc__},
    {NULL, NULL, 0, NULL},
};

int
fc_executor_init(PyObject *m, fc_state *st)
{
    PyObject *queue_mod = PyImport_ImportModule("queue");
    if (queue_mod == NULL) {
        return -1;
    }
    st->pmap->QueueEmpty = PyObject_GetAttrString(queue_mod, "Empty");
    Py_DECREF(queue_mod);
    if (st->pmap->QueueEmpty == NULL) {
        return -1;
    }
    st->pmap->str_set_running =
        PyUnicode_InternFromString("set_running_or_notify_cancel");
    st->pmap->str_set_result = PyUnicode_InternFromString("set_result");
    st->pmap->str_set_exception = PyUnicode_InternFromString("set_exception");
    st->pmap->str_state = PyUnicode_InternFromString("_state");
    st->pmap->str_pending = PyUnicode_InternFromString("PENDING");
    st->pmap->str_running = PyUnicode_InternFromString("RUNNING");
    if (st->pmap->str_set_running == NULL || st->pmap->str_set_result == NULL ||
        st->pmap->str_set_exception == NULL || st->pmap->str_state == NULL ||
        st->pmap->str_pending == NULL || st->pmap->str_running == NULL) {
        return -1;
    }
    /* The pool's spin setting, for the executor's workers as well. */
    st->pmap->wq_spin_ns = fc_pool_spin_setting_ns();
    st->pmap->wq_max_spinners = fc_pool_cpu_count() - 1;
    st->pmap->WorkQueueType = PyType_FromModuleAndSpec(m, &wq_spec, NULL);
    if (st->pmap->WorkQueueType == NULL ||
        PyModule_AddObjectRef(m, "WorkQueue", st->pmap->WorkQueueType) < 0) {
        return -1;
    }
    return PyModule_AddFunctions(m, executor_methods);
}
