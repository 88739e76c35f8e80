/* pmap.c - the parallel-map area of fastconc._core: the C halves of
 * fastconc.parallel_map (_pmap_window) and fastconc.map_array (_map_array),
 * the private countdown kernel of the benchmark, and the set-up of the
 * executor's C parts (executor.c).
 *
 * _pmap_window is the one place where pool tasks run Python: each chunk
 * attaches once with PyGILState_Ensure and detaches at its end, so it must
 * always be run with fc_run(..., release=1) (a caller holding the GIL while
 * it waits would starve the workers).  _map_array runs user native code and
 * never touches Python from its tasks; it has a job form (fastconc.submit,
 * fastconc.aio).
 */
#include "async/job.h"
#include "exec/executor.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

/* --- _pmap_window: fn over a list of items, chunks handed out from C ---- */

typedef struct {
    PyObject *fn;
    PyObject *items;            /* list, private to the caller */
    PyObject *results;          /* list of the same size, NULL-filled */
    Py_ssize_t n, chunk;
    Py_ssize_t *order;          /* completion order, or NULL (ordered) */
    atomic_long ndone;          /* entries filled in order */
    /* The first failure by item index: later items are skipped, earlier
     * ones still run, so that results before it are all there. */
    atomic_long err_index;      /* n when nothing failed */
    pthread_mutex_t err_mu;     /* guards err_exc (and err_index writes) */
    PyObject *err_exc;
} pmap_job;

static void
pmap_task(void *arg, int64_t c)
{
    pmap_job *job = arg;
    Py_ssize_t lo = (Py_ssize_t)c * job->chunk;
    Py_ssize_t hi = lo + job->chunk < job->n ? lo + job->chunk : job->n;
    if (lo > atomic_load(&job->err_index)) {
        return;     /* a failure came before this chunk: nothing to do */
    }
    /* Attach once per chunk (not per item); on the caller's own thread this
     * restores the thread state fc_run saved. */
    PyGILState_STATE g = PyGILState_Ensure();
    for (Py_ssize_t i = lo; i < hi; i++) {
        if (i > atomic_load(&job->err_index)) {
            break;
        }
        PyObject *r = PyObject_CallOneArg(job->fn,
                                          PyList_GET_ITEM(job->items, i));
        if (r == NULL) {
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
            break;
        }
        PyList_SET_ITEM(job->results, i, r);
        if (job->order) {
            job->order[atomic_fetch_add(&job->ndone, 1)] = i;
        }
    }
    PyGILState_Release(g);
}

PyDoc_STRVAR(fc_pmap_window__doc__,
"_pmap_window($module, fn, items, threads, chunksize, ordered, /)\n--\n\n"
"Private: call fn on every item of the list items on the pool, chunksize\n"
"items per task.  Returns (results, order, err_index, exc): results in\n"
"input order (None where not computed), order the indices in completion\n"
"order (None when ordered), err_index the first failing item (or -1) and\n"
"exc its exception.");

static PyObject *
fc_pmap_window(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *result = NULL, *order_list = NULL;
    pmap_job job;
    int threads, ordered;
    Py_ssize_t chunk;

    (void)module;
    memset(&job, 0, sizeof(job));
    pthread_mutex_init(&job.err_mu, NULL);
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError,
                        "_pmap_window(fn, items, threads, chunksize, ordered)");
        goto exit;
    }
    if (!PyList_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "items must be a list");
        goto exit;
    }
    if (fc_parse_threads(args[2], &threads) < 0) {
        goto exit;
    }
    chunk = PyLong_AsSsize_t(args[3]);
    if (chunk == -1 && PyErr_Occurred()) {
        goto exit;
    }
    if (chunk < 1) {
        PyErr_SetString(PyExc_ValueError, "chunksize must be >= 1");
        goto exit;
    }
    ordered = PyObject_IsTrue(args[4]);
    if (ordered < 0) {
        goto exit;
    }
    job.fn = args[0];
    job.items = args[1];
    job.n = PyList_GET_SIZE(args[1]);
    job.chunk = chunk;
    atomic_init(&job.err_index, (long)job.n);
    atomic_init(&job.ndone, 0);
    job.results = PyList_New(job.n);
    if (job.results == NULL) {
        goto exit;
    }
    if (!ordered) {
        job.order = PyMem_Malloc(((size_t)job.n + 1) * sizeof(Py_ssize_t));
        if (job.order == NULL) {
            PyErr_NoMemory();
            goto exit;
        }
    }
    int64_t nchunks = (job.n + chunk - 1) / chunk;
    if (threads == 0) {
        threads = fc_pool_get_size();
    }
    if (threads > nchunks) {
        threads = nchunks < 1 ? 1 : (int)nchunks;
    }
    /* The caller and the workers take the GIL per chunk; the list items
     * stay alive (our caller holds the list), results only grow. */
    if (fc_run(pmap_task, &job, nchunks, threads, 1) < 0) {
        goto exit;
    }
    for (Py_ssize_t i = 0; i < job.n; i++) {
        if (PyList_GET_ITEM(job.results, i) == NULL) {
            PyList_SET_ITEM(job.results, i, Py_NewRef(Py_None));
        }
    }
    if (job.order) {
        Py_ssize_t nd = atomic_load(&job.ndone);
        order_list = PyList_New(nd);
        if (order_list == NULL) {
            goto exit;
        }
        for (Py_ssize_t k = 0; k < nd; k++) {
            PyObject *v = PyLong_FromSsize_t(job.order[k]);
            if (v == NULL) {
                goto exit;
            }
            PyList_SET_ITEM(order_list, k, v);
        }
    }
    else {
        order_list = Py_NewRef(Py_None);
    }
    long ei = atomic_load(&job.err_index);
    result = Py_BuildValue("(OOlO)", job.results, order_list,
                           ei >= (long)job.n ? -1L : ei,
                           job.err_exc ? job.err_exc : Py_None);
exit:
    Py_XDECREF(order_list);
    Py_XDECREF(job.results);
    Py_XDECREF(job.err_exc);
    PyMem_Free(job.order);
    pthread_mutex_destroy(&job.err_mu);
    return result;
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
    if (fc_executor_init(m, st) < 0 ||
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
        Py_VISIT(st->pmap->QueueEmpty);
    }
    return 0;
}

static void
pmap_clear(fc_state *st)
{
    if (st->pmap) {
        Py_CLEAR(st->pmap->WorkQueueType);
        Py_CLEAR(st->pmap->QueueEmpty);
        Py_CLEAR(st->pmap->str_set_running);
        Py_CLEAR(st->pmap->str_set_result);
        Py_CLEAR(st->pmap->str_set_exception);
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
