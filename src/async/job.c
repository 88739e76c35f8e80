/* async/job.c - the job layer under fastconc.submit() and fastconc.aio
 * (the protocol is described in job.h): the _Job type, the registry of job
 * forms, the generic form (the synchronous function called on a pool
 * worker), posting, completion of submit jobs, cancellation, and the exit
 * hook that drains posted jobs before the interpreter finalizes.
 *
 * Must not parse any function's arguments (forms do) or touch an event
 * loop (waker.c does).
 */
#include "async/job.h"

#include <string.h>

static struct fc_jobs_state *
jobs_of(fc_state *st)
{
    return st->jobs;
}

/* The exception being raised, normalized, with its traceback attached;
 * the error indicator is cleared. */
static PyObject *
fetch_exception(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value != NULL && tb != NULL) {
        PyException_SetTraceback(value, tb);
    }
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
#endif
}

/* Raise exc again (a new reference is taken). */
static void
restore_exception(PyObject *exc)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(Py_NewRef(exc));
#else
    PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(exc)), Py_NewRef(exc),
                  PyException_GetTraceback(exc));
#endif
}

static int
py_finalizing(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    return Py_IsFinalizing();
#else
    return _Py_IsFinalizing();
#endif
}

/* --- the registry --------------------------------------------------------- */

int
fc_job_register(PyObject *module, fc_state *st, const fc_job_form *forms)
{
    for (const fc_job_form *f = forms; f->name != NULL; f++) {
        PyObject *func = PyObject_GetAttrString(module, f->name);
        if (func == NULL) {
            return -1;
        }
        PyObject *ptr = PyLong_FromVoidPtr((void *)(uintptr_t)f);
        int rc = ptr == NULL ? -1
                 : PyDict_SetItem(jobs_of(st)->forms, func, ptr);
        Py_XDECREF(ptr);
        Py_DECREF(func);
        if (rc < 0) {
            return -1;
        }
    }
    return 0;
}

/* --- the generic form: the synchronous function on a pool worker -------- */

typedef struct {
    PyObject *func, *args, *kwargs;
    PyObject *result, *exc;         /* what the call gave */
} call_job;

static int
call_prepare(void *data, fc_state *st, PyObject *func,
             PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
             fc_job_plan *plan)
{
    call_job *c = data;
    (void)st;
    if (!PyCallable_Check(func)) {
        PyErr_Format(PyExc_TypeError, "'%.100s' object is not callable",
                     Py_TYPE(func)->tp_name);
        return -1;
    }
    c->func = Py_NewRef(func);
    c->args = PyTuple_New(nargs);
    if (c->args == NULL) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        PyTuple_SET_ITEM(c->args, i, Py_NewRef(args[i]));
    }
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nkw > 0) {
        c->kwargs = PyDict_New();
        if (c->kwargs == NULL) {
            return -1;
        }
        for (Py_ssize_t i = 0; i < nkw; i++) {
            if (PyDict_SetItem(c->kwargs, PyTuple_GET_ITEM(kwnames, i),
                               args[nargs + i]) < 0) {
                return -1;
            }
        }
    }
    plan->nchunks = 1;
    plan->threads = 1;
    return 0;
}

/* The one chunk: attach, call, keep what came back, detach.  The function
 * releases the GIL around its own work; its fc_run batches and
 * fc_check_interrupt() calls see this job's cancel flag (pool.c's
 * enclosing batch). */
static void
call_run(void *data, int64_t i)
{
    call_job *c = data;
    (void)i;
    PyGILState_STATE g = PyGILState_Ensure();
    c->result = PyObject_Call(c->func, c->args, c->kwargs);
    if (c->result == NULL) {
        c->exc = fetch_exception();
    }
    PyGILState_Release(g);
}

static PyObject *
call_finish(void *data, fc_state *st)
{
    call_job *c = data;
    (void)st;
    if (c->result != NULL) {
        return Py_NewRef(c->result);
    }
    if (c->exc != NULL) {
        restore_exception(c->exc);
    }
    else {
        PyErr_SetString(PyExc_SystemError, "call ended without a result");
    }
    return NULL;
}

static void
call_clear(void *data)
{
    call_job *c = data;
    Py_CLEAR(c->func);
    Py_CLEAR(c->args);
    Py_CLEAR(c->kwargs);
    Py_CLEAR(c->result);
    Py_CLEAR(c->exc);
}

/* Where `await job` is (the await section below). */
enum { AW_START, AW_WAITING, AW_STOPPING, AW_DONE };

static const fc_job_form call_form = {
    "<call>", sizeof(call_job), call_prepare, call_run, call_finish,
    call_clear,
};

/* --- the job object -------------------------------------------------------- */

static void
job_clear(fc_job *job)
{
    if (job->phase != FC_JOB_ENDED) {
        job->phase = FC_JOB_ENDED;
        if (job->form->clear != NULL) {
            job->form->clear(job->data);
        }
    }
}

/* GC: a job's future can hold an exception whose traceback holds frames
 * that hold the job.  The payload is not visited: it holds the call's
 * arguments only, and a posted job is kept alive by the pool. */
static int
FcJob_traverse(PyObject *self, visitproc visit, void *arg)
{
    fc_job *job = (fc_job *)self;
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(job->future);
    Py_VISIT(job->stopped);
    Py_VISIT(job->pending_exc);
    Py_VISIT(job->error);
    Py_VISIT(job->cancel_msg);
    return 0;
}

static int
FcJob_tp_clear(PyObject *self)
{
    fc_job *job = (fc_job *)self;
    /* Unreachable, so not posted (the pool holds posted jobs). */
    Py_CLEAR(job->future);
    Py_CLEAR(job->stopped);
    Py_CLEAR(job->pending_exc);
    Py_CLEAR(job->error);
    Py_CLEAR(job->cancel_msg);
    return 0;
}

static void
FcJob_dealloc(PyObject *self)
{
    fc_job *job = (fc_job *)self;
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    if (job->form != NULL) {    /* NULL: made by object.__new__ (3.9) */
        job_clear(job);
    }
    if (job->kind == FC_JOB_AIO && job->future != NULL && job->st != NULL) {
        /* Whoever wanted the outcome took it through the job (await,
         * gather); a call nobody awaited must not have its future log
         * "exception was never retrieved" (a coroutine never awaited
         * does not run at all). */
        PyObject *exc = PyErr_Occurred() ? fetch_exception() : NULL;
        if (PyObject_SetAttr(job->future, jobs_of(job->st)->str_log_traceback,
                             Py_False) < 0) {
            PyErr_Clear();
        }
        if (exc != NULL) {
            restore_exception(exc);
            Py_DECREF(exc);
        }
    }
    Py_XDECREF(job->target);
    Py_XDECREF(job->future);
    Py_XDECREF(job->error);
    Py_XDECREF(job->cancel_msg);
    Py_XDECREF(job->stopped);
    Py_XDECREF(job->pending_exc);
    tp->tp_free(self);
    Py_DECREF(tp);
}

/* A job for calling func(*args) of the given kind, prepared; NULL with the
 * exception prepare raised, or with keep_error the job, ended, holding that
 * exception in job->error (aio: it reaches the awaiter, as a coroutine's
 * exception would). */
static fc_job *
job_new_form(fc_state *st, const fc_job_form *form, int kind,
             PyObject *func, PyObject *const *args, Py_ssize_t nargs,
             PyObject *kwnames, int keep_error)
{
    struct fc_jobs_state *js = jobs_of(st);
    fc_job *job = PyObject_GC_NewVar(fc_job, (PyTypeObject *)js->JobType,
                                     (Py_ssize_t)form->size);
    if (job == NULL) {
        return NULL;
    }
    job->form = form;
    job->st = st;
    job->kind = kind;
    job->phase = FC_JOB_PREPARED;
    job->plan.nchunks = 1;
    job->plan.threads = 1;
    memset(&job->batch, 0, sizeof(job->batch));
    job->batch.post_state = FC_POST_DONE;  /* not posted: nothing to cancel */
    job->target = job->future = job->stopped = job->pending_exc = NULL;
    job->error = job->cancel_msg = NULL;
    job->cancel_early = 0;
    job->await_state = 0;
    job->next_done = NULL;
    memset(job->data, 0, form->size);
    PyObject_GC_Track(job);
    int rc = form->prepare(job->data, st, func, args, nargs, kwnames,
                           &job->plan);
    if (rc > 0) {
        /* The form leaves this call to the generic one (its clear runs
         * from the dealloc). */
        Py_DECREF(job);
        return job_new_form(st, &call_form, kind, func, args, nargs,
                            kwnames, keep_error);
    }
    if (rc < 0) {
        if (keep_error) {
            job->error = fetch_exception();
            job_clear(job);
            if (job->error != NULL) {
                return job;
            }
        }
        Py_DECREF(job);
        return NULL;
    }
    if (job->plan.nchunks < 1) {
        job->plan.nchunks = 1;
    }
    if (job->plan.threads < 1) {
        job->plan.threads = 1;
    }
    return job;
}

static fc_job *
job_new(fc_state *st, int kind, PyObject *func, PyObject *const *args,
        Py_ssize_t nargs, PyObject *kwnames, int keep_error)
{
    const fc_job_form *form = &call_form;
    PyObject *ptr = PyDict_GetItemWithError(jobs_of(st)->forms, func);
    if (ptr != NULL) {
        form = PyLong_AsVoidPtr(ptr);
    }
    else if (PyErr_Occurred()) {
        return NULL;
    }
    return job_new_form(st, form, kind, func, args, nargs, kwnames,
                        keep_error);
}

static void job_done(void *arg);

/* Hand a prepared job to the pool, which holds a reference until the job
 * is completed. */
static int
job_post(fc_job *job)
{
    Py_INCREF(job);
    job->phase = FC_JOB_POSTED;
    /* Safe without the GIL from here on: run() takes C types only, the
     * payload lives in the job, which the pool's reference keeps alive,
     * and prepare pinned every buffer it reads or writes. */
    if (fc_pool_post(&job->batch, job->form->run, job->data,
                     job->plan.nchunks, job->plan.threads, job_done,
                     job) < 0) {
        job->phase = FC_JOB_PREPARED;
        Py_DECREF(job);
        PyErr_SetString(PyExc_RuntimeError,
                        "cannot run new calls: the interpreter is shutting "
                        "down (or no pool thread could be started)");
        return -1;
    }
    return 0;
}

/* GIL held: finish a submit job, clear it, complete its Future. */
static void
complete_submit(fc_job *job)
{
    struct fc_jobs_state *js = jobs_of(job->st);
    PyObject *fut = job->target, *res = NULL, *exc = NULL, *r;
    job->target = NULL;
    int cancelled = atomic_load(&job->batch.cancelled);
    if (!cancelled) {
        res = job->form->finish(job->data, job->st);
        if (res == NULL) {
            exc = fetch_exception();
        }
    }
    /* Buffers are released before anyone can see the result. */
    job_clear(job);
    if (cancelled) {
        r = PyObject_CallMethodNoArgs(fut, js->str_fc_stopped);
    }
    else if (res != NULL) {
        r = PyObject_CallMethodOneArg(fut, js->str_set_result, res);
    }
    else {
        if (exc == NULL) {
            PyErr_SetString(PyExc_SystemError, "job failed without an error");
            exc = fetch_exception();
        }
        r = PyObject_CallMethodOneArg(fut, js->str_set_exception, exc);
    }
    if (r == NULL) {
        PyErr_WriteUnraisable(fut);
    }
    Py_XDECREF(r);
    Py_XDECREF(res);
    Py_XDECREF(exc);
    Py_DECREF(fut);
    Py_DECREF(job);     /* the pool's reference */
}

/* Asyncio futures: done() as a C int (an error counts as done). */
static int
future_done(struct fc_jobs_state *js, PyObject *fut)
{
    PyObject *r = PyObject_CallMethodNoArgs(fut, js->str_done);
    if (r == NULL) {
        PyErr_WriteUnraisable(fut);
        return 1;
    }
    int d = PyObject_IsTrue(r);
    Py_DECREF(r);
    if (d < 0) {
        PyErr_WriteUnraisable(fut);
        return 1;
    }
    return d;
}

static void
call_or_report(PyObject *obj, PyObject *name, PyObject *arg)
{
    PyObject *r = arg ? PyObject_CallMethodOneArg(obj, name, arg)
                      : PyObject_CallMethodNoArgs(obj, name);
    if (r == NULL) {
        PyErr_WriteUnraisable(obj);
    }
    Py_XDECREF(r);
}

void
fc_job_complete_aio(fc_job *job)
{
    struct fc_jobs_state *js = jobs_of(job->st);
    PyObject *fut = job->future, *res = NULL, *exc = NULL;
    PyObject *stopped = job->stopped, *waker = job->target;
    job->stopped = NULL;
    job->target = NULL;
    int cancelled = atomic_load(&job->batch.cancelled);
    int done = fut == NULL || future_done(js, fut);
    if (!cancelled && !done) {
        res = job->form->finish(job->data, job->st);
        if (res == NULL) {
            exc = fetch_exception();
        }
    }
    job_clear(job);
    if (!done) {
        if (res != NULL) {
            call_or_report(fut, js->str_set_result, res);
        }
        else if (exc != NULL) {
            call_or_report(fut, js->str_set_exception, exc);
        }
        else {
            /* Cancelled through the job's own cancel() (gather, wait_for
             * on 3.11) or at interpreter exit. */
            call_or_report(fut, js->str_cancel, job->cancel_msg);
        }
    }
    if (stopped != NULL && !future_done(js, stopped)) {
        call_or_report(stopped, js->str_set_result, Py_None);
    }
    Py_XDECREF(res);
    Py_XDECREF(exc);
    Py_XDECREF(stopped);
    Py_XDECREF(waker);
    Py_DECREF(job);     /* the pool's reference */
}

/* The pool's on_done, on the worker that ran the last chunk, no GIL. */
static void
job_done(void *arg)
{
    fc_job *job = arg;
    if (job->kind == FC_JOB_AIO) {
        /* The loop thread completes it; job->target stays set until then
         * (only that thread clears it). */
        fc_waker_push(job->target, job);
        return;
    }
    if (py_finalizing()) {
        /* Cannot happen after the exit hook drained the pool; if it does
         * (an embedder skipping atexit), leak rather than touch a dying
         * interpreter. */
        return;
    }
    PyGILState_STATE g = PyGILState_Ensure();
    complete_submit(job);
    PyGILState_Release(g);
}

PyDoc_STRVAR(FcJob_cancel__doc__,
"cancel($self, /, msg=None)\n--\n\n"
"Cancel the call.  A call none of whose chunks has started is taken back\n"
"and ended now; a running one stops at its next chunk boundary.\n"
"submit jobs: True when ended now, False when the worker will report\n"
"the end.  aio jobs, as Task.cancel(): True unless already done (the\n"
"job's future is cancelled, with msg, once its C work has stopped).");

static PyObject *
job_cancel(fc_job *job, int want_stopped)
{
    struct fc_jobs_state *js = jobs_of(job->st);
    int aio = job->kind == FC_JOB_AIO;
    if (job->form == NULL || job->phase != FC_JOB_POSTED) {
        return aio ? Py_NewRef(Py_None) : Py_NewRef(Py_False);
    }
    int rc = fc_pool_cancel(&job->batch);
    if (rc == FC_POST_WITHDRAWN) {
        /* No chunk ran and none will: end the job here, in place of the
         * worker that would have. */
        job_clear(job);
        if (aio && job->future != NULL && !future_done(js, job->future)) {
            call_or_report(job->future, js->str_cancel, job->cancel_msg);
        }
        Py_CLEAR(job->target);
        Py_DECREF(job);     /* the pool's reference (ours is the caller's) */
        return aio ? Py_NewRef(Py_None) : Py_NewRef(Py_True);
    }
    if (!aio) {
        return Py_NewRef(Py_False);
    }
    if (!want_stopped) {
        return Py_NewRef(Py_None);
    }
    if (job->stopped == NULL) {
        PyObject *loop = fc_waker_loop(job->target);
        if (loop == NULL) {
            return NULL;
        }
        job->stopped = PyObject_CallMethodNoArgs(loop, js->str_create_future);
        Py_DECREF(loop);
        if (job->stopped == NULL) {
            return NULL;
        }
    }
    return Py_NewRef(job->stopped);
}

/* --- an aio job as an asyncio future --------------------------------------
 *
 * A started aio job (one made in a running loop, or awaited once) passes
 * asyncio.isfuture(): gather(), ensure_future(), wait() and shield() take
 * it as it is, without a Task, and its future methods are its loop
 * future's.  cancel() is a Task's: the C work is stopped, and the future
 * is cancelled once it has stopped (at once when it had not started), so
 * that done callbacks see the buffers released.  Before it starts (made
 * with no running loop) it is only a coroutine: _asyncio_future_blocking
 * is None, so isfuture() is False and asyncio wraps it in a Task. */

static PyObject *
aio_cancel(fc_job *job, PyObject *msg)
{
    struct fc_jobs_state *js = jobs_of(job->st);
    if (job->future == NULL) {
        if (job->cancel_early || job->await_state != AW_START) {
            Py_RETURN_FALSE;
        }
        job->cancel_early = 1;
        Py_XSETREF(job->cancel_msg, msg ? Py_NewRef(msg) : NULL);
        Py_CLEAR(job->error);
        job_clear(job);
        Py_RETURN_TRUE;
    }
    if (future_done(js, job->future)) {
        Py_RETURN_FALSE;
    }
    Py_XSETREF(job->cancel_msg, msg ? Py_NewRef(msg) : NULL);
    if (job->phase == FC_JOB_POSTED) {
        PyObject *r = job_cancel(job, 0);
        if (r == NULL) {
            return NULL;
        }
        Py_DECREF(r);
    }
    else {
        call_or_report(job->future, js->str_cancel, msg);
    }
    Py_RETURN_TRUE;
}

static PyObject *
FcJob_cancel(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
             PyObject *kwnames)
{
    fc_job *job = (fc_job *)self;
    static const char *const names[] = {"msg", NULL};
    PyObject *msg = NULL;
    if (fc_parse_args_fast("cancel", args, nargs, kwnames, names, 1, 1, 0,
                           &msg) < 0) {
        return NULL;
    }
    if (job->form == NULL || job->kind != FC_JOB_AIO) {
        return job_cancel(job, 1);
    }
    return aio_cancel(job, msg == Py_None ? NULL : msg);
}

/* job.name(*args, **kwargs) on the loop future. */
static PyObject *
delegate(PyObject *self, PyObject *name, PyObject *const *args,
         size_t nargsf, PyObject *kwnames)
{
    fc_job *job = (fc_job *)self;
    if (job->form == NULL || job->future == NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "this call has not started: await it");
        return NULL;
    }
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    PyObject *small[8], **v = small;
    if (n + nkw + 1 > 8) {
        v = PyMem_Malloc((size_t)(n + nkw + 1) * sizeof(PyObject *));
        if (v == NULL) {
            return PyErr_NoMemory();
        }
    }
    v[0] = job->future;
    for (Py_ssize_t i = 0; i < n + nkw; i++) {
        v[i + 1] = args[i];
    }
    PyObject *r = PyObject_VectorcallMethod(name, v, (size_t)(n + 1),
                                            kwnames);
    if (v != small) {
        PyMem_Free(v);
    }
    return r;
}

#define FC_DELEGATE(meth, field)                                            \
    static PyObject *                                                       \
    FcJob_##meth(PyObject *self, PyObject *const *args, Py_ssize_t nargs,   \
                 PyObject *kwnames)                                         \
    {                                                                       \
        fc_job *job = (fc_job *)self;                                       \
        return delegate(self, jobs_of(job->st)->field, args,                \
                        (size_t)nargs, kwnames);                            \
    }
FC_DELEGATE(result, str_result)
FC_DELEGATE(exception, str_exception)
FC_DELEGATE(get_loop, str_get_loop)

/* A done callback on the loop future that calls fn(job): asyncio's
 * callers (as_completed, wait) look the future they get up among the
 * ones they gave.  Equal to fn, so that remove_done_callback(fn) finds
 * it. */
typedef struct {
    PyObject_HEAD
    PyObject *job, *fn;
} done_cb;

static PyObject *
DoneCb_call(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)args;
    (void)kwargs;
    done_cb *cb = (done_cb *)self;
    return PyObject_CallOneArg(cb->fn, cb->job);
}

static PyObject *
DoneCb_richcompare(PyObject *self, PyObject *other, int op)
{
    done_cb *cb = (done_cb *)self;
    if (op != Py_EQ && op != Py_NE) {
        Py_RETURN_NOTIMPLEMENTED;
    }
    if (Py_TYPE(other) == Py_TYPE(self)) {
        other = ((done_cb *)other)->fn;
    }
    int eq = PyObject_RichCompareBool(cb->fn, other, Py_EQ);
    if (eq < 0) {
        return NULL;
    }
    return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

static int
DoneCb_traverse(PyObject *self, visitproc visit, void *arg)
{
    done_cb *cb = (done_cb *)self;
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(cb->job);
    Py_VISIT(cb->fn);
    return 0;
}

static int
DoneCb_clear(PyObject *self)
{
    done_cb *cb = (done_cb *)self;
    Py_CLEAR(cb->job);
    Py_CLEAR(cb->fn);
    return 0;
}

static void
DoneCb_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    DoneCb_clear(self);
    tp->tp_free(self);
    Py_DECREF(tp);
}

static PyType_Slot DoneCb_slots[] = {
    {Py_tp_call, DoneCb_call},
    {Py_tp_richcompare, DoneCb_richcompare},
    {Py_tp_hash, PyObject_HashNotImplemented},
    {Py_tp_traverse, DoneCb_traverse},
    {Py_tp_clear, DoneCb_clear},
    {Py_tp_dealloc, DoneCb_dealloc},
    {0, NULL},
};

static PyType_Spec DoneCb_spec = {
    .name = "fastconc._core._JobDoneCallback",
    .basicsize = sizeof(done_cb),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = DoneCb_slots,
};

/* add_done_callback(fn, *, context=None) / remove_done_callback(fn): fn
 * wrapped so that it gets the job. */
static PyObject *
job_callback(PyObject *self, PyObject *name, PyObject *const *args,
             Py_ssize_t nargs, PyObject *kwnames)
{
    fc_job *job = (fc_job *)self;
    struct fc_jobs_state *js = jobs_of(job->st);
    if (nargs < 1) {
        return delegate(self, name, args, (size_t)nargs, kwnames);
    }
    PyTypeObject *tp = (PyTypeObject *)js->DoneCbType;
    done_cb *cb = PyObject_GC_New(done_cb, tp);
    if (cb == NULL) {
        return NULL;
    }
    cb->job = Py_NewRef(self);
    cb->fn = Py_NewRef(args[0]);
    PyObject_GC_Track(cb);
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    PyObject *small[8], **v = small;
    if (nargs + nkw > 8) {
        Py_DECREF(cb);
        PyErr_SetString(PyExc_TypeError, "too many arguments");
        return NULL;
    }
    v[0] = (PyObject *)cb;
    for (Py_ssize_t i = 1; i < nargs + nkw; i++) {
        v[i] = args[i];
    }
    PyObject *r = delegate(self, name, v, (size_t)nargs, kwnames);
    Py_DECREF(cb);
    return r;
}

static PyObject *
FcJob_add_done_callback(PyObject *self, PyObject *const *args,
                        Py_ssize_t nargs, PyObject *kwnames)
{
    return job_callback(self, jobs_of(((fc_job *)self)->st)
                                  ->str_add_done_callback,
                        args, nargs, kwnames);
}

static PyObject *
FcJob_remove_done_callback(PyObject *self, PyObject *const *args,
                           Py_ssize_t nargs, PyObject *kwnames)
{
    return job_callback(self, jobs_of(((fc_job *)self)->st)
                                  ->str_remove_done_callback,
                        args, nargs, kwnames);
}
FC_DELEGATE(make_cancelled_error, str_make_cancelled_error)

static PyObject *
FcJob_done(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    fc_job *job = (fc_job *)self;
    if (job->form == NULL || job->future == NULL) {
        return PyBool_FromLong(job->cancel_early);
    }
    return PyObject_CallMethodNoArgs(job->future, jobs_of(job->st)->str_done);
}

static PyObject *
FcJob_cancelled(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    fc_job *job = (fc_job *)self;
    if (job->form == NULL || job->future == NULL) {
        return PyBool_FromLong(job->cancel_early);
    }
    return PyObject_CallMethodNoArgs(job->future,
                                     jobs_of(job->st)->str_cancelled);
}

/* asyncio.isfuture(job): the loop future's flag once started, else None. */
static PyObject *
FcJob_get_blocking(PyObject *self, void *Py_UNUSED(closure))
{
    fc_job *job = (fc_job *)self;
    if (job->form == NULL || job->future == NULL) {
        Py_RETURN_NONE;
    }
    return PyObject_GetAttr(job->future, jobs_of(job->st)->str_blocking);
}

static int
FcJob_set_blocking(PyObject *self, PyObject *value, void *Py_UNUSED(closure))
{
    fc_job *job = (fc_job *)self;
    if (job->form == NULL || job->future == NULL) {
        return 0;
    }
    return PyObject_SetAttr(job->future, jobs_of(job->st)->str_blocking,
                            value);
}

static PyObject *
FcJob_get_cancel_message(PyObject *self, void *Py_UNUSED(closure))
{
    fc_job *job = (fc_job *)self;
    if (job->form == NULL || job->future == NULL) {
        return Py_NewRef(job->cancel_msg ? job->cancel_msg : Py_None);
    }
    return PyObject_GetAttr(job->future,
                            jobs_of(job->st)->str_cancel_message);
}

static PyGetSetDef FcJob_getset[] = {
    {"_asyncio_future_blocking", FcJob_get_blocking, FcJob_set_blocking,
     NULL, NULL},
    {"_cancel_message", FcJob_get_cancel_message, NULL, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyObject *running_waker(struct fc_jobs_state *js, int required);

/* Start an aio job on the loop of waker (a reference is taken over): make
 * its loop future, and post it, or set what prepare raised (or why it
 * could not be posted) on the future.  -1 when the future cannot be
 * made. */
static int
job_start(fc_job *job, PyObject *waker)
{
    struct fc_jobs_state *js = jobs_of(job->st);
    PyObject *loop = fc_waker_loop(waker);
    if (loop == NULL) {
        Py_DECREF(waker);
        return -1;
    }
    job->future = PyObject_CallMethodNoArgs(loop, js->str_create_future);
    Py_DECREF(loop);
    if (job->future == NULL) {
        Py_DECREF(waker);
        return -1;
    }
    if (job->error == NULL) {
        job->target = waker;
        if (job_post(job) == 0) {
            return 0;
        }
        Py_CLEAR(job->target);
        job->error = fetch_exception();
        job_clear(job);
    }
    else {
        Py_DECREF(waker);
    }
    if (job->error != NULL) {
        call_or_report(job->future, js->str_set_exception, job->error);
        Py_CLEAR(job->error);
    }
    return 0;
}

/* --- await job ---------------------------------------------------------------
 *
 * An aio job is its own awaiting iterator, so that the coroutine of
 * fastconc.aio is one frame: it yields the loop future until the job is
 * done, as the future's own iterator would, and when the awaiting task is
 * cancelled (an exception thrown in while waiting) it cancels the job and
 * yields the job's `stopped` future, raising the exception only once the
 * C work has stopped.  A second exception while it waits for that stops
 * the wait. */

/* One step: PYGEN_NEXT with *out the future to wait on (blocking flag
 * set), PYGEN_RETURN with *out the result, or PYGEN_ERROR. */
static int
await_yield(fc_job *job, PyObject *fut, PyObject **out)
{
    if (PyObject_SetAttr(fut, jobs_of(job->st)->str_blocking, Py_True) < 0) {
        return -1;
    }
    *out = Py_NewRef(fut);
    return 1;
}

static int
await_send(fc_job *job, PyObject **out)
{
    struct fc_jobs_state *js = jobs_of(job->st);
    *out = NULL;
    switch (job->await_state) {
    case AW_START:
        if (job->future == NULL) {
            if (job->kind != FC_JOB_AIO) {
                PyErr_SetString(PyExc_TypeError, "this job is not awaitable");
                return -1;
            }
            if (job->cancel_early) {
                job->await_state = AW_DONE;
                PyErr_SetObject(js->CancelledError ? js->CancelledError
                                                   : PyExc_RuntimeError,
                                job->cancel_msg);
                return -1;
            }
            /* Made with no running loop: start now, in the awaiting one. */
            PyObject *waker = running_waker(js, 1);
            if (waker == NULL || job_start(job, waker) < 0) {
                return -1;
            }
        }
        job->await_state = AW_WAITING;
        /* fall through */
    case AW_WAITING:
        if (!future_done(js, job->future)) {
            return await_yield(job, job->future, out);
        }
        job->await_state = AW_DONE;
        *out = PyObject_CallMethodNoArgs(job->future, js->str_result);
        return *out == NULL ? -1 : 0;
    case AW_STOPPING:
        if (job->stopped != NULL && !future_done(js, job->stopped)) {
            return await_yield(job, job->stopped, out);
        }
        job->await_state = AW_DONE;
        if (job->pending_exc != NULL) {
            restore_exception(job->pending_exc);
            Py_CLEAR(job->pending_exc);
        }
        else {
            PyErr_SetNone(PyExc_RuntimeError);
        }
        return -1;
    default:
        PyErr_SetString(PyExc_RuntimeError,
                        "cannot reuse already awaited job");
        return -1;
    }
}

/* An exception thrown in at the await (the task was cancelled). */
static int
await_throw(fc_job *job, PyObject *exc, PyObject **out)
{
    *out = NULL;
    int leave_now = job->await_state != AW_WAITING ||
                    PyErr_GivenExceptionMatches(exc, PyExc_GeneratorExit);
    if (!leave_now) {
        PyObject *stopped = job_cancel(job, 1);
        if (stopped == NULL) {
            return -1;
        }
        if (stopped != Py_None && !future_done(jobs_of(job->st), stopped)) {
            Py_DECREF(stopped);
            Py_XSETREF(job->pending_exc, Py_NewRef(exc));
            job->await_state = AW_STOPPING;
            return await_yield(job, job->stopped, out);
        }
        Py_DECREF(stopped);
    }
    else if (job->await_state == AW_WAITING) {
        /* closed: no waiting any more (GeneratorExit) */
        PyObject *r = job_cancel(job, 0);
        if (r == NULL) {
            PyErr_WriteUnraisable((PyObject *)job);
        }
        Py_XDECREF(r);
    }
    job->await_state = AW_DONE;
    Py_CLEAR(job->pending_exc);
    restore_exception(exc);
    return -1;
}

static PyObject *
await_result(int rc, PyObject *out)
{
    if (rc == 0) {
        /* return value: StopIteration(out), built so that a tuple or an
         * exception result is not unpacked */
        PyObject *e = PyObject_CallOneArg(PyExc_StopIteration, out);
        Py_DECREF(out);
        if (e != NULL) {
            PyErr_SetObject(PyExc_StopIteration, e);
            Py_DECREF(e);
        }
        return NULL;
    }
    return rc > 0 ? out : NULL;
}

static PyObject *
FcJob_await(PyObject *self)
{
    return Py_NewRef(self);
}

static PyObject *
FcJob_iternext(PyObject *self)
{
    PyObject *out;
    int rc = await_send((fc_job *)self, &out);
    return await_result(rc, out);
}

#if PY_VERSION_HEX >= 0x030A0000
static PySendResult
FcJob_am_send(PyObject *self, PyObject *arg, PyObject **result)
{
    (void)arg;
    int rc = await_send((fc_job *)self, result);
    return rc > 0 ? PYGEN_NEXT : rc == 0 ? PYGEN_RETURN : PYGEN_ERROR;
}
#endif

static PyObject *
FcJob_send(PyObject *self, PyObject *arg)
{
    (void)arg;
    return FcJob_iternext(self);
}

static PyObject *
FcJob_throw(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *exc = NULL, *out;
    if (nargs < 1 || nargs > 3) {
        PyErr_SetString(PyExc_TypeError, "throw expected 1 to 3 arguments");
        return NULL;
    }
    if (PyExceptionInstance_Check(args[0])) {
        exc = Py_NewRef(args[0]);
    }
    else if (PyExceptionClass_Check(args[0])) {
        PyObject *val = nargs > 1 ? args[1] : Py_None;
        exc = PyExceptionInstance_Check(val) ? Py_NewRef(val)
              : val == Py_None ? PyObject_CallNoArgs(args[0])
                               : PyObject_CallOneArg(args[0], val);
        if (exc == NULL) {
            return NULL;
        }
        if (nargs > 2 && args[2] != Py_None &&
            PyException_SetTraceback(exc, args[2]) < 0) {
            Py_DECREF(exc);
            return NULL;
        }
    }
    else {
        PyErr_SetString(PyExc_TypeError,
                        "exceptions must derive from BaseException");
        return NULL;
    }
    int rc = await_throw((fc_job *)self, exc, &out);
    Py_DECREF(exc);
    return await_result(rc, out);
}

static PyObject *
FcJob_close(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    fc_job *job = (fc_job *)self;
    if (job->await_state == AW_WAITING) {
        PyObject *r = job_cancel(job, 0);
        if (r == NULL) {
            return NULL;
        }
        Py_DECREF(r);
    }
    job->await_state = AW_DONE;
    Py_CLEAR(job->pending_exc);
    Py_RETURN_NONE;
}

static PyMethodDef FcJob_methods[] = {
    {"cancel", FC_CFUNC(FcJob_cancel), METH_FASTCALL | METH_KEYWORDS,
     FcJob_cancel__doc__},
    {"done", FcJob_done, METH_NOARGS, NULL},
    {"cancelled", FcJob_cancelled, METH_NOARGS, NULL},
    {"result", FC_CFUNC(FcJob_result), METH_FASTCALL | METH_KEYWORDS, NULL},
    {"exception", FC_CFUNC(FcJob_exception), METH_FASTCALL | METH_KEYWORDS,
     NULL},
    {"get_loop", FC_CFUNC(FcJob_get_loop), METH_FASTCALL | METH_KEYWORDS,
     NULL},
    {"add_done_callback", FC_CFUNC(FcJob_add_done_callback),
     METH_FASTCALL | METH_KEYWORDS, NULL},
    {"remove_done_callback", FC_CFUNC(FcJob_remove_done_callback),
     METH_FASTCALL | METH_KEYWORDS, NULL},
    {"_make_cancelled_error", FC_CFUNC(FcJob_make_cancelled_error),
     METH_FASTCALL | METH_KEYWORDS, NULL},
    {"send", FcJob_send, METH_O, NULL},
    {"throw", FC_CFUNC(FcJob_throw), METH_FASTCALL, NULL},
    {"close", FcJob_close, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot FcJob_slots[] = {
    {Py_tp_dealloc, FcJob_dealloc},
    {Py_tp_traverse, FcJob_traverse},
    {Py_tp_clear, FcJob_tp_clear},
    {Py_tp_methods, FcJob_methods},
    {Py_tp_getset, FcJob_getset},
    {Py_am_await, FcJob_await},
    {Py_tp_iter, FcJob_await},
    {Py_tp_iternext, FcJob_iternext},
#if PY_VERSION_HEX >= 0x030A0000
    {Py_am_send, FcJob_am_send},
#endif
    {Py_tp_doc, "A call of a fastconc function running on the native pool "
                "(made by fastconc.submit and fastconc.aio)."},
    {0, NULL},
};

static PyType_Spec FcJob_spec = {
    .name = "fastconc._core._Job",
    .basicsize = sizeof(fc_job),
    .itemsize = 1,
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE |
             Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = FcJob_slots,
};

/* --- module functions ------------------------------------------------------ */

PyDoc_STRVAR(fc_submit_job__doc__,
"_submit($module, future, func, /, *args, **kwargs)\n--\n\n"
"Private (fastconc.submit checks func first): prepare func(*args,\n"
"**kwargs) as a job and post it to the pool; the job completes future\n"
"(a fastconc._submit future) from a pool worker.  Bad arguments raise\n"
"here, as the function would.  Returns the job (for cancel()).");

static PyObject *
fc_submit_job(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
              PyObject *kwnames)
{
    fc_state *st = fc_get_state(module);
    if (nargs < 2) {
        PyErr_SetString(PyExc_TypeError,
                        "_submit(future, func, /, *args, **kwargs)");
        return NULL;
    }
    fc_job *job = job_new(st, FC_JOB_SUBMIT, args[1], args + 2, nargs - 2,
                          kwnames, 0);
    if (job == NULL) {
        return NULL;
    }
    job->target = Py_NewRef(args[0]);
    if (job_post(job) < 0) {
        Py_DECREF(job);
        return NULL;
    }
    return (PyObject *)job;
}

/* The waker of the running loop (new reference), or NULL with an error:
 * RuntimeError outside a running loop, as asyncio.get_running_loop()
 * (or, when !required, NULL with no error). */
static PyObject *
running_waker(struct fc_jobs_state *js, int required)
{
    if (js->get_running_loop == NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "import fastconc.aio first (it sets up the event "
                        "loop side)");
        return NULL;
    }
    PyObject *loop = PyObject_CallNoArgs(js->get_running_loop);
    if (loop == NULL) {
        return NULL;
    }
    if (loop == Py_None) {
        Py_DECREF(loop);
        if (required) {
            PyErr_SetString(PyExc_RuntimeError, "no running event loop");
        }
        return NULL;
    }
    PyObject *waker = NULL;
    if (js->last_loop != NULL) {
        PyObject *last;
#if PY_VERSION_HEX >= 0x030D0000
        if (PyWeakref_GetRef(js->last_loop, &last) < 0) {
            PyErr_Clear();
            last = NULL;
        }
#else
        last = PyWeakref_GetObject(js->last_loop);
        last = last == NULL || last == Py_None ? NULL : Py_NewRef(last);
        PyErr_Clear();
#endif
        if (last == loop) {
            waker = Py_NewRef(js->last_waker);
        }
        Py_XDECREF(last);
    }
    if (waker == NULL) {
        waker = PyObject_CallOneArg(js->waker_for, loop);
        PyObject *ref = waker ? PyWeakref_NewRef(loop, NULL) : NULL;
        if (ref == NULL) {
            Py_XDECREF(waker);
            Py_DECREF(loop);
            return NULL;
        }
        Py_XSETREF(js->last_loop, ref);
        Py_XSETREF(js->last_waker, Py_NewRef(waker));
    }
    Py_DECREF(loop);
    return waker;
}

PyDoc_STRVAR(fc_aio_call__doc__,
"_aio_call($module, func, /, *args, **kwargs)\n--\n\n"
"Private (fastconc.aio): prepare func(*args, **kwargs) as a job and return\n"
"it.  In a running loop the job starts now (posted to the pool, with a\n"
"future of that loop that the loop thread sets when it is done), and is\n"
"then an asyncio future as well as a coroutine; otherwise it starts when\n"
"first awaited.  Bad arguments reach the awaiter (or the future), as a\n"
"coroutine's exception would.");

static PyObject *
fc_aio_call(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
            PyObject *kwnames)
{
    fc_state *st = fc_get_state(module);
    struct fc_jobs_state *js = jobs_of(st);
    if (nargs < 1) {
        PyErr_SetString(PyExc_TypeError,
                        "_aio_call(func, /, *args, **kwargs)");
        return NULL;
    }
    fc_job *job = job_new(st, FC_JOB_AIO, args[0], args + 1, nargs - 1,
                          kwnames, 1);
    if (job == NULL) {
        return NULL;
    }
    PyObject *waker = running_waker(js, 0);
    if (waker == NULL) {
        if (PyErr_Occurred()) {
            Py_DECREF(job);
            return NULL;
        }
        return (PyObject *)job;         /* no loop: starts when awaited */
    }
    if (job_start(job, waker) < 0) {
        Py_DECREF(job);
        return NULL;
    }
    return (PyObject *)job;
}

PyDoc_STRVAR(fc_aio_setup__doc__,
"_aio_setup($module, get_running_loop, waker_for, cancelled_error, /)\n"
"--\n\n"
"Private (fastconc.aio, at import): asyncio's _get_running_loop, the\n"
"function that gives the _LoopWaker of a loop, and\n"
"asyncio.CancelledError.");

static PyObject *
fc_aio_setup(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    struct fc_jobs_state *js = jobs_of(fc_get_state(module));
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "_aio_setup() takes 3 arguments");
        return NULL;
    }
    Py_XSETREF(js->get_running_loop, Py_NewRef(args[0]));
    Py_XSETREF(js->waker_for, Py_NewRef(args[1]));
    Py_XSETREF(js->CancelledError, Py_NewRef(args[2]));
    Py_CLEAR(js->last_loop);
    Py_CLEAR(js->last_waker);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(fc_jobs_shutdown__doc__,
"_jobs_shutdown($module, /)\n--\n\n"
"Private, registered with atexit: refuse new jobs, cancel the posted\n"
"ones and wait (GIL released) until each has been completed, so that no\n"
"pool thread touches Python once the interpreter finalizes.");

static PyObject *
fc_jobs_shutdown(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    Py_BEGIN_ALLOW_THREADS
    fc_pool_close_posts();
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyObject *
fc_jobs_live(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    return PyLong_FromLong(fc_pool_posts_live());
}

static PyMethodDef job_methods[] = {
    {"_submit", FC_CFUNC(fc_submit_job), METH_FASTCALL | METH_KEYWORDS,
     fc_submit_job__doc__},
    {"_aio_call", FC_CFUNC(fc_aio_call), METH_FASTCALL | METH_KEYWORDS,
     fc_aio_call__doc__},
    {"_aio_setup", FC_CFUNC(fc_aio_setup), METH_FASTCALL,
     fc_aio_setup__doc__},
    {"_jobs_shutdown", fc_jobs_shutdown, METH_NOARGS,
     fc_jobs_shutdown__doc__},
    {"_jobs_live", fc_jobs_live, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

/* --- the area --------------------------------------------------------------- */

static int
intern(PyObject **slot, const char *s)
{
    *slot = PyUnicode_InternFromString(s);
    return *slot == NULL ? -1 : 0;
}

static int
jobs_init(PyObject *m, fc_state *st)
{
    struct fc_jobs_state *js = PyMem_Calloc(1, sizeof(*js));
    if (js == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    st->jobs = js;
    js->forms = PyDict_New();
    if (js->forms == NULL ||
        intern(&js->str_set_result, "set_result") < 0 ||
        intern(&js->str_set_exception, "set_exception") < 0 ||
        intern(&js->str_fc_stopped, "_fc_stopped") < 0 ||
        intern(&js->str_create_future, "create_future") < 0 ||
        intern(&js->str_done, "done") < 0 ||
        intern(&js->str_cancel, "cancel") < 0 ||
        intern(&js->str_call_soon, "call_soon_threadsafe") < 0 ||
        intern(&js->str_result, "result") < 0 ||
        intern(&js->str_blocking, "_asyncio_future_blocking") < 0 ||
        intern(&js->str_cancel_message, "_cancel_message") < 0 ||
        intern(&js->str_log_traceback, "_log_traceback") < 0 ||
        intern(&js->str_get_loop, "get_loop") < 0 ||
        intern(&js->str_add_done_callback, "add_done_callback") < 0 ||
        intern(&js->str_remove_done_callback, "remove_done_callback") < 0 ||
        intern(&js->str_cancelled, "cancelled") < 0 ||
        intern(&js->str_exception, "exception") < 0 ||
        intern(&js->str_make_cancelled_error, "_make_cancelled_error") < 0) {
        return -1;
    }
    js->JobType = PyType_FromModuleAndSpec(m, &FcJob_spec, NULL);
    js->DoneCbType = PyType_FromModuleAndSpec(m, &DoneCb_spec, NULL);
    if (js->JobType == NULL || js->DoneCbType == NULL ||
        PyModule_AddObjectRef(m, "_Job", js->JobType) < 0 ||
        fc_waker_init(m, st) < 0 ||
        PyModule_AddFunctions(m, job_methods) < 0) {
        return -1;
    }
    /* Drain posted jobs at exit, before finalization starts (atexit
     * handlers run before it). */
    PyObject *atexit = PyImport_ImportModule("atexit");
    if (atexit == NULL) {
        return -1;
    }
    PyObject *hook = PyObject_GetAttrString(m, "_jobs_shutdown");
    PyObject *r = hook == NULL ? NULL
                  : PyObject_CallMethod(atexit, "register", "O", hook);
    Py_XDECREF(hook);
    Py_DECREF(atexit);
    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

static int
jobs_traverse(fc_state *st, visitproc visit, void *arg)
{
    struct fc_jobs_state *js = st->jobs;
    if (js != NULL) {
        Py_VISIT(js->JobType);
        Py_VISIT(js->DoneCbType);
        Py_VISIT(js->WakerType);
        Py_VISIT(js->forms);
        Py_VISIT(js->get_running_loop);
        Py_VISIT(js->waker_for);
        Py_VISIT(js->CancelledError);
        Py_VISIT(js->last_loop);
        Py_VISIT(js->last_waker);
    }
    return 0;
}

static void
jobs_clear(fc_state *st)
{
    struct fc_jobs_state *js = st->jobs;
    if (js == NULL) {
        return;
    }
    Py_CLEAR(js->JobType);
    Py_CLEAR(js->DoneCbType);
    Py_CLEAR(js->WakerType);
    Py_CLEAR(js->forms);
    Py_CLEAR(js->str_set_result);
    Py_CLEAR(js->str_set_exception);
    Py_CLEAR(js->str_fc_stopped);
    Py_CLEAR(js->str_create_future);
    Py_CLEAR(js->str_done);
    Py_CLEAR(js->str_cancel);
    Py_CLEAR(js->str_call_soon);
    Py_CLEAR(js->str_result);
    Py_CLEAR(js->str_blocking);
    Py_CLEAR(js->str_cancel_message);
    Py_CLEAR(js->str_log_traceback);
    Py_CLEAR(js->str_get_loop);
    Py_CLEAR(js->str_add_done_callback);
    Py_CLEAR(js->str_remove_done_callback);
    Py_CLEAR(js->str_cancelled);
    Py_CLEAR(js->str_exception);
    Py_CLEAR(js->str_make_cancelled_error);
    Py_CLEAR(js->get_running_loop);
    Py_CLEAR(js->waker_for);
    Py_CLEAR(js->CancelledError);
    Py_CLEAR(js->last_loop);
    Py_CLEAR(js->last_waker);
    PyMem_Free(js);
    st->jobs = NULL;
}

const fc_area fc_area_jobs = {
    "jobs", jobs_init, jobs_traverse, jobs_clear, NULL,
};
