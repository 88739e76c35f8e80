/* pmap.c - the parallel-map area of fastconc._core: the C halves of
 * fastconc.parallel_map (_pmap_window and its ParallelMapIterator) and
 * fastconc.map_array (_map_array), the private countdown kernel of the
 * benchmark, and the set-up of the executor's C parts (executor.c).
 *
 * The window's tasks are the one place where pool tasks run Python: each
 * chunk attaches once with PyGILState_Ensure and detaches at its end, so
 * they must always be run with fc_run(..., release=1) (a caller holding the
 * GIL while it waits would starve the workers).  _map_array runs user
 * native code and never touches Python from its tasks; it has a job form
 * (fastconc.submit, fastconc.aio).  Nothing here may keep per-item state
 * that the threads share (see pmap_job).
 */
#include "async/job.h"
#include "exec/executor.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* --- _pmap_window: fn over a window of items, chunks handed out from C -- */

/* What the tasks of one window share.  Each item's result goes to its own
 * slot of res, so the threads write no common word per item; the only
 * shared counters are err_index (read per item, written on a failure) and,
 * in completion order, ndone (one atomic add per chunk). */
typedef struct {
    PyObject *fn;
    /* The input: the caller's list (read item by item by the tasks, so
     * that no copy is made and dropped on the calling thread before and
     * after the parallel part), or a tuple (the caller's, or the input
     * listed). */
    PyObject *items;
    int live_list;              /* items is the caller's list */
    PyObject **res;             /* n slots, NULL-filled */
    Py_ssize_t n, chunk;
    Py_ssize_t *order;          /* completion order, or NULL (ordered) */
    atomic_long ndone;          /* entries of order filled */
    /* The first failure by item index: later items are skipped, earlier
     * ones still run, so that results before it are all there. */
    atomic_long err_index;      /* n when nothing failed */
    pthread_mutex_t err_mu;     /* guards err_exc (and err_index writes) */
    PyObject *err_exc;
} pmap_job;

/* Give a pool worker a thread state of its own that it keeps for good.
 * Without it, PyGILState_Ensure would make a new thread state for every
 * chunk and PyGILState_Release destroy it: on a free-threaded build that
 * is a new mimalloc heap each time, whose pages are abandoned at the end
 * and collected by the other threads, and it was most of the time of a
 * parallel_map of a cheap function (1.2x on 2 threads instead of ~2x).
 * One PyGILState_Ensure that is never released keeps the state; it is
 * detached at once, and each chunk's Ensure/Release then only attaches and
 * detaches it.  (Finalization deletes it with the interpreter's other
 * thread states; the worker is idle then.)  Called detached. */
static void
pmap_keep_tstate(void)
{
    if (fc_pool_in_worker() && PyGILState_GetThisThreadState() == NULL) {
        (void)PyGILState_Ensure();
        (void)PyEval_SaveThread();
    }
}

/* Record the failure of item i (its exception is set). */
static void
pmap_fail(pmap_job *job, Py_ssize_t i)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL && value != NULL) {
        PyException_SetTraceback(value, tb);
    }
    Py_XDECREF(type);
    Py_XDECREF(tb);
    PyObject *old = NULL;
    pthread_mutex_lock(&job->err_mu);
    if (i < atomic_load(&job->err_index)) {
        old = job->err_exc;
        job->err_exc = value;
        value = NULL;
        atomic_store(&job->err_index, i);
    }
    pthread_mutex_unlock(&job->err_mu);
    Py_XDECREF(old);
    Py_XDECREF(value);
}

/* Item i of a live list, a new reference; NULL with RuntimeError when
 * the list no longer has it (fn or another thread shrank it).  Attached. */
static PyObject *
pmap_list_item(PyObject *list, Py_ssize_t i)
{
    PyObject *x;
#if PY_VERSION_HEX >= 0x030D0000
    x = PyList_GetItemRef(list, i);     /* safe against a concurrent resize */
    if (x == NULL) {
        PyErr_Clear();
    }
#else
    /* (GIL builds: the attached task holds the GIL) */
    x = i < PyList_GET_SIZE(list) ? Py_NewRef(PyList_GET_ITEM(list, i))
                                  : NULL;
#endif
    if (x == NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "parallel_map: the input list shrank while it was "
                        "mapped");
    }
    return x;
}

static void
pmap_task(void *arg, int64_t c)
{
    pmap_job *job = arg;
    Py_ssize_t lo = (Py_ssize_t)c * job->chunk;
    Py_ssize_t hi = lo + job->chunk < job->n ? lo + job->chunk : job->n;
    Py_ssize_t i;
    if (lo > atomic_load(&job->err_index)) {
        return;     /* a failure came before this chunk: nothing to do */
    }
    /* Attach once per chunk (not per item); on the caller's own thread this
     * restores the thread state fc_run saved. */
    pmap_keep_tstate();
    PyGILState_STATE g = PyGILState_Ensure();
    for (i = lo; i < hi; i++) {
        if (i > atomic_load_explicit(&job->err_index, memory_order_relaxed)) {
            break;
        }
        PyObject *r;
        if (job->live_list) {
            PyObject *x = pmap_list_item(job->items, i);
            r = x != NULL ? PyObject_CallOneArg(job->fn, x) : NULL;
            Py_XDECREF(x);
        }
        else {
            r = PyObject_CallOneArg(job->fn, PyTuple_GET_ITEM(job->items, i));
        }
        if (r == NULL) {
            pmap_fail(job, i);
            break;
        }
        job->res[i] = r;
    }
    if (job->order != NULL && i > lo) {
        /* Items lo..i-1 completed, in that order: one add for them all. */
        Py_ssize_t at = atomic_fetch_add(&job->ndone, (long)(i - lo));
        for (Py_ssize_t k = lo; k < i; k++) {
            job->order[at++] = k;
        }
    }
    PyGILState_Release(g);
}

/* The iterator parallel_map returns for one window: it runs the window at
 * its first next() (so the input is read, and fn called, only once the
 * caller starts iterating), then hands out the results one by one from C,
 * each reference moved out of its slot (a result is not kept once
 * yielded), in input order or in completion order, and last the first
 * failure, if any.
 *
 * Shared between threads, it stays consistent: every next() and close()
 * runs in the object's critical section, and the window itself (which
 * detaches, and so suspends the section) runs in state PR_RUNNING, in
 * which any other next() or close() raises ValueError, as a generator
 * does ("already executing"). */
enum { PR_NEW, PR_RUNNING, PR_READY, PR_DONE };

typedef struct {
    PyObject_HEAD
    int state;                  /* PR_*: read and changed in the section */
    /* PR_NEW: the call to make (fn stays until the window ran) */
    PyObject *fn;
    PyObject *source;           /* an iterable, listed at the first next() */
    int threads;                /* 0: the pool size */
    Py_ssize_t chunk;           /* 0: picked from the number of items */
    int ordered;
    /* PR_READY: the results, taken as they are yielded */
    PyObject **res;             /* n slots, strong references or NULL */
    Py_ssize_t n;
    Py_ssize_t *order;          /* completion order, or NULL (ordered) */
    Py_ssize_t pos, stop;       /* the next entry (of order, else res) */
    PyObject *exc;              /* raised after the results before it */
} PmapIterObject;

/* The parts of an iterator that hold references, moved out so that they
 * are freed outside its critical section (freeing runs arbitrary code). */
typedef struct {
    PyObject *fn, *source, *exc;
    PyObject **res;
    Py_ssize_t n;
    Py_ssize_t *order;
} pr_parts;

static void
pr_take_parts(PmapIterObject *self, pr_parts *p)
{
    p->fn = self->fn;
    p->source = self->source;
    p->exc = self->exc;
    p->res = self->res;
    p->n = self->n;
    p->order = self->order;
    self->fn = self->source = self->exc = NULL;
    self->res = NULL;
    self->order = NULL;
    self->n = self->pos = self->stop = 0;
}

static void
pr_free_parts(pr_parts *p)
{
    if (p->res != NULL) {
        for (Py_ssize_t i = 0; i < p->n; i++) {
            Py_XDECREF(p->res[i]);
        }
        PyMem_Free(p->res);
    }
    PyMem_Free(p->order);
    Py_XDECREF(p->fn);
    Py_XDECREF(p->source);
    Py_XDECREF(p->exc);
}

/* Run the window: list the source, call fn on every item on the pool.
 * Called attached in state PR_RUNNING (no other thread touches the fields
 * then, but the GC may read them: each is set whole).  0, or -1 with an
 * exception (Ctrl-C, a source that fails, no memory). */
static int
pr_run(PmapIterObject *self)
{
    pmap_job job;
    int rc = -1;
    memset(&job, 0, sizeof(job));
    pthread_mutex_init(&job.err_mu, NULL);
    job.fn = self->fn;
    /* No copy of a list or tuple: a copy takes and drops a reference to
     * every item on this thread, before and after the parallel part (on a
     * free-threaded build that was a tenth of a one-thread parallel_map of
     * a cheap function, and did not shrink with threads).  A list is read
     * by the tasks as they go, as a for loop over it would; its length is
     * taken now. */
    job.live_list = PyList_CheckExact(self->source);
    job.items = job.live_list ? Py_NewRef(self->source)
                              : PySequence_Tuple(self->source);
    Py_CLEAR(self->source);
    if (job.items == NULL) {
        goto exit;
    }
    job.n = job.live_list ? PyList_GET_SIZE(job.items)
                          : PyTuple_GET_SIZE(job.items);
    job.res = PyMem_Calloc(job.n > 0 ? (size_t)job.n : 1, sizeof(PyObject *));
    if (job.res == NULL) {
        PyErr_NoMemory();
        goto exit;
    }
    if (!self->ordered) {
        job.order = PyMem_Malloc(((size_t)job.n + 1) * sizeof(Py_ssize_t));
        if (job.order == NULL) {
            PyErr_NoMemory();
            goto exit;
        }
    }
    atomic_init(&job.err_index, (long)job.n);
    atomic_init(&job.ndone, 0);
    int threads = self->threads > 0 ? self->threads : fc_pool_get_size();
    job.chunk = self->chunk;
    if (job.chunk == 0) {
        /* About four chunks per thread, at most 1024 items each. */
        Py_ssize_t per = (Py_ssize_t)threads * 4;
        job.chunk = (job.n + per - 1) / per;
        job.chunk = job.chunk < 1 ? 1 : job.chunk > 1024 ? 1024 : job.chunk;
    }
    int64_t nchunks = (job.n + job.chunk - 1) / job.chunk;
    if (threads > nchunks) {
        threads = nchunks < 1 ? 1 : (int)nchunks;
    }
    /* The caller and the workers attach per chunk; the items stay alive
     * (job.items is ours) and each task writes only its items' slots. */
    if (fc_run(pmap_task, &job, nchunks, threads, 1) < 0) {
        goto exit;
    }
    long ei = atomic_load(&job.err_index);
    self->stop = job.order != NULL ? (Py_ssize_t)atomic_load(&job.ndone)
                                   : (Py_ssize_t)ei;
    self->pos = 0;
    self->exc = job.err_exc;
    job.err_exc = NULL;
    self->order = job.order;
    job.order = NULL;
    self->n = job.n;
    self->res = job.res;
    job.res = NULL;
    rc = 0;
exit:
    if (job.res != NULL) {
        for (Py_ssize_t i = 0; i < job.n; i++) {
            Py_XDECREF(job.res[i]);
        }
        PyMem_Free(job.res);
    }
    PyMem_Free(job.order);
    Py_XDECREF(job.err_exc);
    Py_XDECREF(job.items);
    Py_CLEAR(self->fn);
    pthread_mutex_destroy(&job.err_mu);
    return rc;
}

/* The next result (a new reference), or NULL: the failure set as the
 * exception, or the end (nothing set; the state is then PR_DONE).  In the
 * critical section, state PR_READY. */
static PyObject *
pr_take(PmapIterObject *self)
{
    while (self->pos < self->stop) {
        Py_ssize_t i = self->order != NULL ? self->order[self->pos]
                                           : self->pos;
        self->pos++;
        PyObject *r = self->res[i];
        self->res[i] = NULL;
        if (r != NULL) {
            return r;
        }
    }
    self->state = PR_DONE;
    if (self->exc != NULL) {
        PyObject *e = self->exc;
        self->exc = NULL;
        fc_raise_instance(e);
    }
    return NULL;
}

static PyObject *
pr_next(PmapIterObject *self)
{
    PyObject *r = NULL;
    pr_parts done = {0};
    int run = 0;
    FC_BEGIN_CRITICAL_SECTION(self);
    switch (self->state) {
    case PR_NEW:
        self->state = PR_RUNNING;
        run = 1;
        break;
    case PR_RUNNING:
        PyErr_SetString(PyExc_ValueError,
                        "parallel_map iterator already executing");
        break;
    case PR_READY:
        r = pr_take(self);
        if (self->state == PR_DONE) {
            pr_take_parts(self, &done);
        }
        break;
    default:
        break;
    }
    FC_END_CRITICAL_SECTION();
    if (run) {
        int rc = pr_run(self);
        FC_BEGIN_CRITICAL_SECTION(self);
        self->state = rc == 0 ? PR_READY : PR_DONE;
        if (rc == 0) {
            r = pr_take(self);
        }
        if (self->state == PR_DONE) {
            pr_take_parts(self, &done);
        }
        FC_END_CRITICAL_SECTION();
    }
    /* At the end: whatever is left (results after a failure) goes now,
     * not when the iterator is collected. */
    if (done.res != NULL || done.fn != NULL || done.source != NULL ||
        done.exc != NULL || done.order != NULL) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        pr_free_parts(&done);
        PyErr_Restore(type, value, tb);
    }
    return r;
}

PyDoc_STRVAR(pr_close__doc__,
"close($self, /)\n--\n\n"
"Stop: drop the results not yet taken (and the input, if the window has\n"
"not run); next() then raises StopIteration.");

static PyObject *
pr_close(PmapIterObject *self, PyObject *Py_UNUSED(ignored))
{
    pr_parts done = {0};
    int busy = 0;
    FC_BEGIN_CRITICAL_SECTION(self);
    if (self->state == PR_RUNNING) {
        busy = 1;
    }
    else {
        self->state = PR_DONE;
        pr_take_parts(self, &done);
    }
    FC_END_CRITICAL_SECTION();
    if (busy) {
        PyErr_SetString(PyExc_ValueError,
                        "parallel_map iterator already executing");
        return NULL;
    }
    pr_free_parts(&done);
    Py_RETURN_NONE;
}

static PyObject *
pr_reduce(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    PyErr_Format(PyExc_TypeError, "cannot pickle '%.100s' object",
                 Py_TYPE(self)->tp_name);
    return NULL;
}

static int
pr_traverse(PmapIterObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->fn);
    Py_VISIT(self->source);
    Py_VISIT(self->exc);
    if (self->res != NULL) {
        for (Py_ssize_t i = 0; i < self->n; i++) {
            Py_VISIT(self->res[i]);
        }
    }
    return 0;
}

/* The GC's (a cycle through fn or a result); never while running: the
 * caller of next() holds a reference. */
static int
pr_clear(PmapIterObject *self)
{
    pr_parts done;
    pr_take_parts(self, &done);
    self->state = PR_DONE;
    pr_free_parts(&done);
    return 0;
}

static void
pr_dealloc(PmapIterObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    (void)pr_clear(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyMethodDef pr_methods[] = {
    {"close", (PyCFunction)pr_close, METH_NOARGS, pr_close__doc__},
    {"__reduce__", pr_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(pr_doc,
"The iterator of fastconc.parallel_map over one window of items (made by\n"
"_pmap_window): the window runs at the first next(), then the results\n"
"come in input or completion order, and the first failure last.");

static PyType_Slot pr_slots[] = {
    {Py_tp_dealloc, pr_dealloc},
    {Py_tp_traverse, pr_traverse},
    {Py_tp_clear, pr_clear},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, pr_next},
    {Py_tp_methods, pr_methods},
    {Py_tp_doc, (void *)pr_doc},
    {0, NULL},
};

static PyType_Spec pr_spec = {
    .name = "fastconc._core.ParallelMapIterator",
    .basicsize = sizeof(PmapIterObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = pr_slots,
};

PyDoc_STRVAR(fc_pmap_window__doc__,
"_pmap_window($module, fn, items, threads, chunksize, ordered, /)\n--\n\n"
"Private: an iterator of fn(item) for the items of the iterable items,\n"
"computed on the pool at its first next() with chunksize items per task\n"
"(None: picked from the number of items) on threads threads (None: the\n"
"pool size).  It yields the results in input order (ordered true) or in\n"
"completion order, then raises the first exception fn raised, if any.");

static PyObject *
fc_pmap_window(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    fc_state *st = fc_get_state(module);
    PyTypeObject *tp = (PyTypeObject *)st->pmap->ParallelMapIteratorType;
    int threads, ordered;
    Py_ssize_t chunk = 0;

    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError,
                        "_pmap_window(fn, items, threads, chunksize, ordered)");
        return NULL;
    }
    if (fc_parse_threads(args[2], &threads) < 0) {
        return NULL;
    }
    if (args[3] != Py_None) {
        chunk = PyLong_AsSsize_t(args[3]);
        if (chunk == -1 && PyErr_Occurred()) {
            return NULL;
        }
        if (chunk < 1) {
            PyErr_SetString(PyExc_ValueError, "chunksize must be >= 1");
            return NULL;
        }
    }
    ordered = PyObject_IsTrue(args[4]);
    if (ordered < 0) {
        return NULL;
    }
    /* Zeroed and tracked by the GC (PyType_GenericAlloc). */
    PmapIterObject *self = (PmapIterObject *)tp->tp_alloc(tp, 0);
    if (self == NULL) {
        return NULL;
    }
    self->state = PR_NEW;
    self->fn = Py_NewRef(args[0]);
    self->source = Py_NewRef(args[1]);
    self->threads = threads;
    self->chunk = chunk;
    self->ordered = ordered;
    return (PyObject *)self;
}

/* --- _map_array: a native kernel over a buffer, without the GIL -------- */

typedef double (*k_f64)(double);
typedef float (*k_f32)(float);
typedef int64_t (*k_i64)(int64_t);
typedef int32_t (*k_i32)(int32_t);
typedef void (*k_block)(const void *, void *, int64_t);

typedef struct {
    void *fn;
    char code;                  /* 'd', 'f', 'q' or 'i' */
    int block;
    const char *src;
    char *dst;
    Py_ssize_t itemsize, n, chunk;
} marray_job;

static void
marray_task(void *arg, int64_t c)
{
    marray_job *job = arg;
    Py_ssize_t lo = (Py_ssize_t)c * job->chunk;
    Py_ssize_t cnt = job->n - lo < job->chunk ? job->n - lo : job->chunk;
    const char *s = job->src + lo * job->itemsize;
    char *d = job->dst + lo * job->itemsize;
    if (job->block) {
        ((k_block)job->fn)(s, d, (int64_t)cnt);
        return;
    }
    /* memcpy per element: the buffers need not be aligned for the type. */
    switch (job->code) {
    case 'd':
        for (Py_ssize_t i = 0; i < cnt; i++) {
            double x;
            memcpy(&x, s + i * 8, 8);
            x = ((k_f64)job->fn)(x);
            memcpy(d + i * 8, &x, 8);
        }
        break;
    case 'f':
        for (Py_ssize_t i = 0; i < cnt; i++) {
            float x;
            memcpy(&x, s + i * 4, 4);
            x = ((k_f32)job->fn)(x);
            memcpy(d + i * 4, &x, 4);
        }
        break;
    case 'q':
        for (Py_ssize_t i = 0; i < cnt; i++) {
            int64_t x;
            memcpy(&x, s + i * 8, 8);
            x = ((k_i64)job->fn)(x);
            memcpy(d + i * 8, &x, 8);
        }
        break;
    default:
        for (Py_ssize_t i = 0; i < cnt; i++) {
            int32_t x;
            memcpy(&x, s + i * 4, 4);
            x = ((k_i32)job->fn)(x);
            memcpy(d + i * 4, &x, 4);
        }
        break;
    }
}

/* The arguments of _map_array, checked, with both views pinned; on error
 * whatever was pinned is left in src/dst for the caller to release. */
static int
marray_parse(PyObject *const *args, Py_ssize_t nargs, marray_job *job,
             Py_buffer *src, Py_buffer *dst, int *threads_out)
{
    int threads;
    if (nargs != 6 && nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "_map_array(address, code, block, "
                        "src, dst, threads, result=None)");
        return -1;
    }
    job->fn = PyLong_AsVoidPtr(args[0]);
    if (job->fn == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "kernel address is NULL");
        }
        return -1;
    }
    if (!PyUnicode_Check(args[1]) || PyUnicode_GET_LENGTH(args[1]) != 1) {
        PyErr_SetString(PyExc_TypeError, "code must be one character");
        return -1;
    }
    job->code = (char)PyUnicode_READ_CHAR(args[1], 0);
    switch (job->code) {
    case 'd':
    case 'q':
        job->itemsize = 8;
        break;
    case 'f':
    case 'i':
        job->itemsize = 4;
        break;
    default:
        PyErr_Format(PyExc_ValueError, "unknown element code %R", args[1]);
        return -1;
    }
    job->block = PyObject_IsTrue(args[2]);
    if (job->block < 0 || fc_parse_threads(args[5], &threads) < 0 ||
        fc_get_buffer(args[3], src, "array") < 0) {
        return -1;
    }
    if (PyObject_GetBuffer(args[4], dst,
                           PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) {
        return -1;
    }
    if (src->len != dst->len || src->len % job->itemsize != 0) {
        PyErr_SetString(PyExc_ValueError,
                        "out must have the size and dtype of the array");
        return -1;
    }
    job->src = src->buf;
    job->dst = dst->buf;
    job->n = src->len / job->itemsize;
    if (threads == 0) {
        threads = fc_pool_get_size();
    }
    if (threads > job->n) {
        threads = job->n < 1 ? 1 : (int)job->n;
    }
    /* The cost of one element is unknown (a heavy kernel may take seconds
     * per element): about 64 chunks per thread, so that the work balances
     * and Ctrl-C is seen between chunks, but no chunk over 16384 elements
     * (claiming a chunk is one atomic add, so small chunks are cheap). */
    job->chunk = job->n / ((Py_ssize_t)threads * 64);
    if (job->chunk < 1) {
        job->chunk = 1;
    }
    if (job->chunk > 16384) {
        job->chunk = 16384;
    }
    *threads_out = threads;
    return 0;
}

static void
release_view(Py_buffer *view)
{
    if (view->obj) {
        PyBuffer_Release(view);
    }
}

PyDoc_STRVAR(fc_map_array_impl__doc__,
"_map_array($module, address, code, block, src, dst, threads,\n"
"           result=None, /)\n--\n\n"
"Private (fastconc.map_array checks the kernel's signature first): run the\n"
"native function at address over the C-contiguous buffer src into dst,\n"
"element by element (T(T)) or by blocks (void(const T*, T*, int64)), with\n"
"the GIL released.  code is the element type: 'd', 'f', 'q' or 'i'.\n"
"Returns result.");

static PyObject *
fc_map_array_impl(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *result = NULL;
    Py_buffer src = {0}, dst = {0};
    marray_job job;
    int threads;

    (void)module;
    memset(&job, 0, sizeof(job));
    if (marray_parse(args, nargs, &job, &src, &dst, &threads) < 0) {
        goto exit;
    }
    int64_t nchunks = (job.n + job.chunk - 1) / job.chunk;
    /* Without the GIL: both views are pinned until we release them and the
     * tasks only run the user's native kernel on their own slices. */
    if (fc_run(marray_task, &job, nchunks, threads, 1) < 0) {
        goto exit;
    }
    result = Py_NewRef(nargs == 7 ? args[6] : Py_None);
exit:
    release_view(&src);
    release_view(&dst);
    return result;
}

/* --- _map_array's job form (fastconc.submit, fastconc.aio) -------------- */

typedef struct {
    marray_job job;
    Py_buffer src, dst;
    PyObject *result;
} marray_async;

static int
marray_prepare(void *data, fc_state *st, PyObject *func,
               PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
               fc_job_plan *plan)
{
    marray_async *a = data;
    int threads;
    (void)st;
    (void)func;
    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames) > 0) {
        PyErr_SetString(PyExc_TypeError,
                        "_map_array() takes no keyword arguments");
        return -1;
    }
    if (marray_parse(args, nargs, &a->job, &a->src, &a->dst, &threads) < 0) {
        return -1;
    }
    a->result = Py_NewRef(nargs == 7 ? args[6] : Py_None);
    plan->nchunks = (a->job.n + a->job.chunk - 1) / a->job.chunk;
    plan->threads = threads;
    return 0;
}

/* A pool worker, no GIL: both views are pinned by the job. */
static void
marray_async_run(void *data, int64_t c)
{
    marray_async *a = data;
    if (a->job.n > 0) {
        marray_task(&a->job, c);
    }
}

static PyObject *
marray_async_finish(void *data, fc_state *st)
{
    marray_async *a = data;
    (void)st;
    return Py_NewRef(a->result);
}

static void
marray_async_clear(void *data)
{
    marray_async *a = data;
    release_view(&a->src);
    release_view(&a->dst);
    Py_CLEAR(a->result);
}

static const fc_job_form pmap_jobs[] = {
    {"_map_array", sizeof(marray_async), marray_prepare, marray_async_run,
     marray_async_finish, marray_async_clear},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

/* The benchmark's countdown as a native kernel, int64(int64).  The empty
 * asm statement tells the optimiser the counter may change under it, so
 * the loop is kept (it would otherwise fold it to "return 0") and each
 * step is one register decrement: no memory traffic whose speed would
 * depend on store forwarding.  Other compilers get a volatile counter. */
static int64_t
fc_countdown_kernel(int64_t n)
{
#if defined(__GNUC__)
    int64_t c = n;
    while (c > 0) {
        c = c - 1;
        __asm__ volatile("" : "+r"(c));
    }
#else
    volatile int64_t c = n;
    while (c > 0) {
        c = c - 1;
    }
#endif
    return c;
}

static PyObject *
fc_countdown_kernel_address(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    return PyLong_FromVoidPtr((void *)(uintptr_t)fc_countdown_kernel);
}

/* The benchmarks' control for "does this machine give two threads two
 * CPUs' worth of vector units?", int64(int64): n rounds of shift, xor and
 * add on eight independent 16-byte vectors (GCC vector extensions, so
 * SSE2 on x86-64).  Eight chains keep every vector pipe busy: the loop is
 * bound by their throughput, like the checksum kernels, where the
 * countdown above is bound by the latency of one add.  On a VM whose two
 * vCPUs share one core's vector units (or share them with another guest)
 * two copies of this loop run at well under 2x one copy. */
#if defined(__GNUC__)
typedef uint32_t fc_vec4 __attribute__((vector_size(16)));

static int64_t
fc_vector_kernel(int64_t n)
{
    fc_vec4 a[8];
    for (int j = 0; j < 8; j++) {
        a[j] = (fc_vec4){(uint32_t)n + (uint32_t)j, 1u + (uint32_t)j, 7u, 9u};
    }
    const fc_vec4 k = {0x9E3779B9u, 0x85EBCA6Bu, 0xC2B2AE35u, 0x27D4EB2Fu};
    for (int64_t i = 0; i < n; i++) {
        for (int j = 0; j < 8; j++) {
            a[j] = (a[j] ^ (a[j] << 1)) + k;
        }
    }
    fc_vec4 x = a[0];
    for (int j = 1; j < 8; j++) {
        x ^= a[j];
    }
    return (int64_t)(x[0] ^ x[1] ^ x[2] ^ x[3]);
}

static PyObject *
fc_vector_kernel_address(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    return PyLong_FromVoidPtr((void *)(uintptr_t)fc_vector_kernel);
}
#endif

static PyMethodDef pmap_methods[] = {
    {"_pmap_window", FC_CFUNC(fc_pmap_window), METH_FASTCALL,
     fc_pmap_window__doc__},
    {"_map_array", FC_CFUNC(fc_map_array_impl), METH_FASTCALL,
     fc_map_array_impl__doc__},
    {"_countdown_kernel_address", fc_countdown_kernel_address, METH_NOARGS,
     NULL},
#if defined(__GNUC__)
    {"_vector_kernel_address", fc_vector_kernel_address, METH_NOARGS, NULL},
#endif
    {NULL, NULL, 0, NULL},
};

/* --- the area ----------------------------------------------------------- */

static int
pmap_init(PyObject *m, fc_state *st)
{
    st->pmap = PyMem_Calloc(1, sizeof(struct fc_pmap_state));
    if (st->pmap == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (fc_executor_init(m, st) < 0) {
        return -1;
    }
    PyObject *tp = PyType_FromModuleAndSpec(m, &pr_spec, NULL);
    st->pmap->ParallelMapIteratorType = tp;
    if (tp == NULL) {
        return -1;
    }
#if PY_VERSION_HEX < 0x030A0000
    /* No Py_TPFLAGS_DISALLOW_INSTANTIATION before 3.10. */
    ((PyTypeObject *)tp)->tp_new = NULL;
#endif
    if (PyModule_AddObjectRef(m, "ParallelMapIterator", tp) < 0 ||
        PyModule_AddFunctions(m, pmap_methods) < 0) {
        return -1;
    }
    return fc_job_register(m, st, pmap_jobs);
}

static int
pmap_traverse(fc_state *st, visitproc visit, void *arg)
{
    if (st->pmap) {
        Py_VISIT(st->pmap->WorkQueueType);
        Py_VISIT(st->pmap->ParallelMapIteratorType);
        Py_VISIT(st->pmap->QueueEmpty);
    }
    return 0;
}

static void
pmap_clear(fc_state *st)
{
    if (st->pmap) {
        Py_CLEAR(st->pmap->WorkQueueType);
        Py_CLEAR(st->pmap->ParallelMapIteratorType);
        Py_CLEAR(st->pmap->QueueEmpty);
        Py_CLEAR(st->pmap->str_set_running);
        Py_CLEAR(st->pmap->str_set_result);
        Py_CLEAR(st->pmap->str_set_exception);
        Py_CLEAR(st->pmap->str_state);
        Py_CLEAR(st->pmap->str_pending);
        Py_CLEAR(st->pmap->str_running);
        PyMem_Free(st->pmap);
        st->pmap = NULL;
    }
}

static int
pmap_info(fc_state *st, PyObject *d)
{
    PyObject *parallel = PyDict_GetItemString(d, "parallel");
    (void)st;
    if (parallel == NULL ||
        PyDict_SetItemString(parallel, "parallel_map", Py_True) < 0 ||
        PyDict_SetItemString(parallel, "map_array", Py_True) < 0) {
        return -1;
    }
    return 0;
}

const fc_area fc_area_pmap = {
    "pmap", pmap_init, pmap_traverse, pmap_clear, pmap_info,
};
