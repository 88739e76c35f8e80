/* async/waker.c - _core._LoopWaker: how finished fastconc.aio jobs get
 * back to their event loop's thread.
 *
 * One waker per event loop (fastconc/aio.py keeps them).  Pool workers push
 * finished jobs on a lock-free stack without the GIL, and only the push
 * that finds the stack empty wakes the loop: a write to an eventfd (a pipe
 * off Linux) that the loop watches with add_reader().  The loop thread
 * then runs _drain(): it takes the whole stack at once, restores the
 * order, and completes each job (job.c: finish, clear, set the future).
 * A burst of completions thus costs one wake-up and one loop callback.
 *
 * For a loop without add_reader() the waker works in call-soon mode
 * instead: the pushing worker attaches and calls the loop's
 * call_soon_threadsafe(_drain) (one GIL acquisition per wake-up, not per
 * job).
 *
 * Lifetime: a job holds a reference to its waker until the loop thread
 * has completed it, so a worker's push never outlives the waker's memory;
 * the write after the push is safe because the loop's reader registration
 * (or, in call-soon mode, the GIL the worker holds) keeps the waker alive
 * while a drain may run.  The waker holds its loop weakly, so that the
 * loop -> waker table (a WeakKeyDictionary) lets both go.
 *
 * Must not run a job's phases itself (job.c does).
 */
#include "async/job.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif

typedef struct {
    PyObject_HEAD
    fc_state *st;
    PyObject *loop_ref;             /* weakref to the event loop */
    int rfd, wfd;                   /* -1, -1 in call-soon mode */
    _Atomic(fc_job *) head;         /* finished jobs, newest first */
} FcWakerObject;

int
fc_waker_check(fc_state *st, PyObject *obj)
{
    if (!PyObject_TypeCheck(obj, (PyTypeObject *)st->jobs->WakerType)) {
        PyErr_Format(PyExc_TypeError, "expected a _LoopWaker, not '%.100s'",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    return 0;
}

PyObject *
fc_waker_loop(PyObject *waker)
{
    FcWakerObject *w = (FcWakerObject *)waker;
    PyObject *loop;
#if PY_VERSION_HEX >= 0x030D0000
    if (PyWeakref_GetRef(w->loop_ref, &loop) < 0) {
        return NULL;
    }
#else
    loop = PyWeakref_GetObject(w->loop_ref);
    if (loop == NULL) {
        return NULL;
    }
    loop = loop == Py_None ? NULL : Py_NewRef(loop);
#endif
    if (loop == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the event loop is gone");
    }
    return loop;
}

/* No GIL: make the loop's reader fire. */
static void
wake_fd(FcWakerObject *w)
{
#ifdef __linux__
    uint64_t one = 1;
    while (write(w->wfd, &one, sizeof(one)) < 0 && errno == EINTR) {
    }
#else
    char c = 0;
    /* A full pipe (EAGAIN) is readable already. */
    while (write(w->wfd, &c, 1) < 0 && errno == EINTR) {
    }
#endif
}

/* Push; returns 1 when the stack was empty (the loop must be woken). */
static int
push(FcWakerObject *w, fc_job *job)
{
    fc_job *old = atomic_load_explicit(&w->head, memory_order_relaxed);
    do {
        job->next_done = old;
    } while (!atomic_compare_exchange_weak_explicit(
        &w->head, &old, job, memory_order_release, memory_order_relaxed));
    return old == NULL;
}

void
fc_waker_push(PyObject *waker, fc_job *job)
{
    FcWakerObject *w = (FcWakerObject *)waker;
    if (w->wfd >= 0) {
        if (push(w, job)) {
            wake_fd(w);
        }
        return;
    }
    /* Call-soon mode: attached from before the push, so that the loop
     * thread cannot drain (and free) anything under us. */
#if PY_VERSION_HEX >= 0x030D0000
    if (Py_IsFinalizing()) {
#else
    if (_Py_IsFinalizing()) {
#endif
        return;
    }
    PyGILState_STATE g = PyGILState_Ensure();
    if (push(w, job)) {
        PyObject *loop = fc_waker_loop(waker);
        PyObject *drain = loop ? PyObject_GetAttrString(waker, "_drain")
                               : NULL;
        PyObject *r = drain ? PyObject_CallMethodOneArg(
                                  loop, w->st->jobs->str_call_soon, drain)
                            : NULL;
        if (r == NULL) {
            PyErr_WriteUnraisable(waker);
        }
        Py_XDECREF(r);
        Py_XDECREF(drain);
        Py_XDECREF(loop);
    }
    PyGILState_Release(g);
}

/* --- the type ---------------------------------------------------------- */

static PyObject *
FcWaker_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"loop", "use_fd", NULL};
    PyObject *loop;
    int use_fd = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|$p:_LoopWaker", kwlist,
                                     &loop, &use_fd)) {
        return NULL;
    }
    FcWakerObject *w = (FcWakerObject *)type->tp_alloc(type, 0);
    if (w == NULL) {
        return NULL;
    }
    w->st = PyType_GetModuleState(type);
    w->rfd = w->wfd = -1;
    atomic_init(&w->head, NULL);
    w->loop_ref = PyWeakref_NewRef(loop, NULL);
    if (w->loop_ref == NULL) {
        Py_DECREF(w);
        return NULL;
    }
    if (use_fd) {
#ifdef __linux__
        w->rfd = w->wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (w->rfd < 0) {
            PyErr_SetFromErrno(PyExc_OSError);
            Py_DECREF(w);
            return NULL;
        }
#else
        int fds[2];
        if (pipe(fds) < 0) {
            PyErr_SetFromErrno(PyExc_OSError);
            Py_DECREF(w);
            return NULL;
        }
        w->rfd = fds[0];
        w->wfd = fds[1];
        for (int i = 0; i < 2; i++) {
            fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK);
            fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        }
#endif
    }
    return (PyObject *)w;
}

static void
FcWaker_dealloc(PyObject *self)
{
    FcWakerObject *w = (FcWakerObject *)self;
    PyTypeObject *tp = Py_TYPE(self);
    /* No job can be left on the stack: each holds a reference to us. */
    if (w->rfd >= 0) {
        close(w->rfd);
    }
    if (w->wfd >= 0 && w->wfd != w->rfd) {
        close(w->wfd);
    }
    Py_XDECREF(w->loop_ref);
    tp->tp_free(self);
    Py_DECREF(tp);
}

PyDoc_STRVAR(FcWaker_drain__doc__,
"_drain($self, /)\n--\n\n"
"On the loop's thread: complete every finished job (the reader callback).");

static PyObject *
FcWaker_drain(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    FcWakerObject *w = (FcWakerObject *)self;
    if (w->rfd >= 0) {
        /* Reset the wake-up before taking the stack: a push after the
         * exchange below finds it empty and writes again. */
#ifdef __linux__
        uint64_t v;
        while (read(w->rfd, &v, sizeof(v)) < 0 && errno == EINTR) {
        }
#else
        char buf[256];
        for (;;) {
            ssize_t r = read(w->rfd, buf, sizeof(buf));
            if (r <= 0 && !(r < 0 && errno == EINTR)) {
                break;
            }
        }
#endif
    }
    fc_job *list = atomic_exchange_explicit(&w->head, NULL,
                                            memory_order_acquire);
    /* Newest first: reverse, so futures complete in finishing order. */
    fc_job *fifo = NULL;
    while (list != NULL) {
        fc_job *next = list->next_done;
        list->next_done = fifo;
        fifo = list;
        list = next;
    }
    while (fifo != NULL) {
        fc_job *next = fifo->next_done;
        fc_job_complete_aio(fifo);
        fifo = next;
    }
    Py_RETURN_NONE;
}

static PyObject *
FcWaker_fileno(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromLong(((FcWakerObject *)self)->rfd);
}

static PyObject *
FcWaker_reduce(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    PyErr_Format(PyExc_TypeError, "cannot pickle '%.100s' object",
                 Py_TYPE(self)->tp_name);
    return NULL;
}

static PyMethodDef FcWaker_methods[] = {
    {"_drain", FcWaker_drain, METH_NOARGS, FcWaker_drain__doc__},
    {"fileno", FcWaker_fileno, METH_NOARGS,
     "fileno($self, /)\n--\n\nThe descriptor to watch with add_reader() "
     "(-1 in call-soon mode)."},
    {"__reduce__", FcWaker_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot FcWaker_slots[] = {
    {Py_tp_new, FcWaker_new},
    {Py_tp_dealloc, FcWaker_dealloc},
    {Py_tp_methods, FcWaker_methods},
    {Py_tp_doc, "_LoopWaker(loop, *, use_fd=True)\n--\n\n"
                "Private: hands finished fastconc.aio jobs back to loop.  "
                "use_fd=False wakes the loop with call_soon_threadsafe "
                "instead of an eventfd watched with add_reader()."},
    {0, NULL},
};

static PyType_Spec FcWaker_spec = {
    .name = "fastconc._core._LoopWaker",
    .basicsize = sizeof(FcWakerObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = FcWaker_slots,
};

int
fc_waker_init(PyObject *module, fc_state *st)
{
    st->jobs->WakerType = PyType_FromModuleAndSpec(module, &FcWaker_spec,
                                                   NULL);
    if (st->jobs->WakerType == NULL) {
        return -1;
    }
    return PyModule_AddObjectRef(module, "_LoopWaker", st->jobs->WakerType);
}
