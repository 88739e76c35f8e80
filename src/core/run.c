/* run.c - the GIL policy, running work on the pool with Ctrl-C checks,
 * and the Ctrl-C/cancellation check for loops that hold the GIL (see
 * run.h).  The only file that detaches around a batch of pool chunks;
 * single statements use the macros of run.h.
 */
#include "core/fastconc.h"

/* --- the GIL policy ---------------------------------------------------- */

Py_ssize_t
fc_gil_threshold(fc_state *st)
{
    return __atomic_load_n(&st->gil_threshold, __ATOMIC_RELAXED);
}

Py_ssize_t
fc_gil_release_us(fc_state *st)
{
    return __atomic_load_n(&st->gil_release_us, __ATOMIC_RELAXED);
}

Py_ssize_t
fc_release_bytes(fc_state *st, Py_ssize_t pace)
{
    Py_ssize_t floor = fc_gil_threshold(st);
    Py_ssize_t us = fc_gil_release_us(st);
    if (pace <= 0 || us <= 0) {
        return floor;
    }
    Py_ssize_t by_time = us > PY_SSIZE_T_MAX / pace ? PY_SSIZE_T_MAX
                         : us * pace;
    return by_time > floor ? by_time : floor;
}

int
fc_should_release_at(fc_state *st, int flag, Py_ssize_t nbytes,
                     Py_ssize_t pace)
{
    if (flag >= 0) {
        return flag;
    }
    return fc_release_by_pace(st, nbytes, pace);
}

int
fc_should_release(fc_state *st, int flag, Py_ssize_t nbytes)
{
    return fc_should_release_at(st, flag, nbytes, 0);
}

int
fc_resolve_threads(int requested, Py_ssize_t nbytes, Py_ssize_t min_parallel)
{
    if (requested > 0) {
        return requested;
    }
    return nbytes >= min_parallel ? fc_pool_get_size() : 1;
}

/* --- running work ------------------------------------------------------ */

typedef struct {
    PyThreadState *tstate;   /* saved while detached */
    int release;
    int (*lead)(void *);     /* fc_run_led's, with its argument */
    void *lead_arg;
    int lead_failed;
    int held;                /* attached on entry to the lead (fc_run_led
                              * _held): it detaches at its end */
} run_ctx;

/* Called by the pool on the calling thread every FC_POLL_MS: attach, run
 * the signal handlers (a KeyboardInterrupt is raised here), detach. */
static int
run_poll(void *p)
{
    run_ctx *ctx = p;
    if (ctx->lead_failed) {
        return 1;       /* the call fails anyway: stop the chunks */
    }
    if (ctx->release) {
        PyEval_RestoreThread(ctx->tstate);
    }
    int failed = PyErr_CheckSignals() < 0;
    if (ctx->release) {
        ctx->tstate = PyEval_SaveThread();
    }
    return failed;
}

/* The pool's lead hook: attach, run the caller's lead, detach. */
static void
run_lead(void *p)
{
    run_ctx *ctx = p;
    if (ctx->release && !ctx->held) {
        PyEval_RestoreThread(ctx->tstate);
    }
    ctx->held = 0;
    ctx->lead_failed = ctx->lead(ctx->lead_arg) < 0;
    if (ctx->release) {
        ctx->tstate = PyEval_SaveThread();
    }
}

static int
run_led(fc_task_fn fn, void *arg, int64_t n, int threads, int release,
        int (*lead)(void *), void *lead_arg, int held)
{
    /* Pool threads may need the GIL even in "C only" tasks: with
     * tracemalloc on, PyMem_RawMalloc's hook takes it.  A caller that held
     * the GIL while waiting for them would deadlock, so work spread over
     * the pool always runs detached; release_gil=False keeps its meaning
     * for single-threaded calls (what the benchmarks' held rows use).  (A
     * lead holds the GIL while the pool works, but it does not wait for
     * the pool, so a task waiting for the GIL only waits for the lead.) */
    if (threads > 1 && n > 1) {
        release = 1;
    }
    run_ctx ctx = {NULL, release, lead, lead_arg, 0, held};
    if (release && !held) {
        ctx.tstate = PyEval_SaveThread();
    }
    /* Safe without the GIL: tasks take C types only and the caller keeps
     * every buffer pinned until we return. */
    int stopped = fc_pool_run_led(fn, arg, n, threads, run_poll, &ctx,
                                  lead != NULL ? run_lead : NULL);
    if (release) {
        PyEval_RestoreThread(ctx.tstate);
    }
    if (stopped && !ctx.lead_failed && !PyErr_Occurred()) {
        /* Stopped without a poll raising: the enclosing work (a posted
         * job) was cancelled. */
        fc_raise_cancelled();
    }
    if (ctx.lead_failed) {
        /* The lead's exception is set; a KeyboardInterrupt from the poll
         * comes second. */
        return -1;
    }
    return stopped ? -1 : 0;
}

int
fc_run_led(fc_task_fn fn, void *arg, int64_t n, int threads, int release,
           int (*lead)(void *), void *lead_arg)
{
    return run_led(fn, arg, n, threads, release, lead, lead_arg, 0);
}

int
fc_run_led_held(fc_task_fn fn, void *arg, int64_t n, int threads,
                int (*lead)(void *), void *lead_arg)
{
    /* The pool runs the lead exactly once, before any poll and before
     * the caller takes a chunk, so it finds the thread still attached. */
    return run_led(fn, arg, n, threads, 1, lead, lead_arg, 1);
}

int
fc_run(fc_task_fn fn, void *arg, int64_t n, int threads, int release)
{
    return fc_run_led(fn, arg, n, threads, release, NULL, NULL);
}


/* --- Ctrl-C and cancellation ------------------------------------------- */

int
fc_raise_cancelled(void)
{
    PyObject *mod = PyImport_ImportModule("concurrent.futures");
    PyObject *exc = NULL;
    if (mod != NULL) {
        exc = PyObject_GetAttrString(mod, "CancelledError");
        Py_DECREF(mod);
    }
    if (exc == NULL) {
        /* Not importable (interpreter shutting down): any error will do,
         * the job layer discards it. */
        PyErr_Clear();
        PyErr_SetString(PyExc_RuntimeError, "the call was cancelled");
        return -1;
    }
    PyErr_SetString(exc, "the call was cancelled");
    Py_DECREF(exc);
    return -1;
}

int
fc_check_interrupt(void)
{
    if (PyErr_CheckSignals() < 0) {
        return -1;
    }
    if (fc_pool_cancelled()) {
        return fc_raise_cancelled();
    }
    return 0;
}
