/* checksum.c - crc32(), crc32c(), adler32() and their *_combine() for
 * Python, and their job forms (fastconc.submit, fastconc.aio).  The
 * kernels are in cksum_*.c and simd/; this file parses arguments, cuts
 * large inputs into chunks, runs them on the pool and merges the chunk
 * values in order with the combine functions.
 */
#include "async/job.h"

/* A single-threaded call still works in chunks of this size, so that Ctrl-C
 * is checked between them (16 MiB is about 1 ms of work). */
#define CKSUM_SEQ_CHUNK ((Py_ssize_t)16 << 20)
/* threads=None goes parallel from this size on. */
#define CKSUM_PARALLEL_MIN ((Py_ssize_t)4 << 20)
/* No thread gets less than this. */
#define CKSUM_MIN_SHARE ((Py_ssize_t)64 << 10)

enum { K_CRC32, K_CRC32C, K_ADLER32 };

/* Bytes per µs of one core at each SIMD level (measured on an AMD EPYC
 * with VPCLMULQDQ, rounded up): the GIL policy's pace of each kind
 * (fc_should_release_at), so that a call of a few µs keeps the GIL.  By
 * level, because the kernels' speeds differ 20-fold between them: with
 * the avx2 figure, a portable crc32c kept the GIL for calls of 250 µs. */
static const Py_ssize_t cksum_pace[3][FC_SIMD_COUNT] = {
    [K_CRC32] = {[FC_SIMD_PORTABLE] = 2000, [FC_SIMD_SSE42] = 12000,
                 [FC_SIMD_AVX2] = 32000, [FC_SIMD_AVX512] = 32000},
    [K_CRC32C] = {[FC_SIMD_PORTABLE] = 2000, [FC_SIMD_SSE42] = 28000,
                  [FC_SIMD_AVX2] = 40000, [FC_SIMD_AVX512] = 40000},
    [K_ADLER32] = {[FC_SIMD_PORTABLE] = 3000, [FC_SIMD_SSE42] = 26000,
                   [FC_SIMD_AVX2] = 48000, [FC_SIMD_AVX512] = 48000},
};

/* The pace of kind at the SIMD level in use. */
static inline Py_ssize_t
pace_of(const fc_state *st, int kind)
{
    return fc_pace_at_level(st, cksum_pace[kind]);
}

typedef struct {
    fc_cksum_fn fn;
    const unsigned char *data;
    Py_ssize_t len;
    Py_ssize_t chunk;       /* bytes per chunk (last one may be shorter) */
    uint32_t init;          /* value of the empty input */
    uint32_t running;       /* sequential: value so far */
    uint32_t *vals;         /* parallel: value of each chunk from init */
} cksum_job;

static Py_ssize_t
chunk_len(const cksum_job *job, int64_t i)
{
    Py_ssize_t off = (Py_ssize_t)i * job->chunk;
    Py_ssize_t rest = job->len - off;
    return rest < job->chunk ? rest : job->chunk;
}

/* Chunks run in order on one thread: carry the value along. */
static void
cksum_seq_task(void *arg, int64_t i)
{
    cksum_job *job = arg;
    job->running = job->fn(job->running, job->data + i * job->chunk,
                           (size_t)chunk_len(job, i));
}

/* Chunks run anywhere: each starts from the empty value. */
static void
cksum_par_task(void *arg, int64_t i)
{
    cksum_job *job = arg;
    job->vals[i] = job->fn(job->init, job->data + i * job->chunk,
                           (size_t)chunk_len(job, i));
}

static uint32_t
combine(int kind, uint32_t a, uint32_t b, uint64_t len_b)
{
    switch (kind) {
    case K_CRC32:
        return fc_crc32_combine(a, b, len_b);
    case K_CRC32C:
        return fc_crc32c_combine(a, b, len_b);
    default:
        return fc_adler32_combine(a, b, len_b);
    }
}

static int
parse_u32(PyObject *obj, const char *what, uint32_t *out)
{
    if (!PyLong_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int, not '%.100s'",
                     what, Py_TYPE(obj)->tp_name);
        return -1;
    }
    /* Like zlib: the value is taken modulo 2**32. */
    unsigned long v = PyLong_AsUnsignedLongMask(obj);
    if (v == (unsigned long)-1 && PyErr_Occurred()) {
        return -1;
    }
    *out = (uint32_t)(v & 0xffffffffu);
    return 0;
}

/* The arguments of one call, parsed and checked. */
typedef struct {
    Py_buffer view;         /* pinned by cksum_parse, released by the caller */
    uint32_t value;         /* the start value (adler32's reduced if empty) */
    int threads;            /* resolved: >= 1 */
    int release;            /* resolved */
} cksum_args;

static int
cksum_parse(fc_state *st, PyObject *const *args, Py_ssize_t nargs,
            PyObject *kwnames, int kind, cksum_args *out, cksum_job *job)
{
    static const char *const names[] = {"data", "value", "threads",
                                        "release_gil", NULL};
    static const char *const fnames[] = {"crc32", "crc32c", "adler32"};
    PyObject *a[4];
    int threads, release;
    uint32_t value = kind == K_ADLER32 ? 1 : 0;

    if (fc_parse_args(fnames[kind], args, nargs, kwnames, names, 2, 1,
                      a) < 0) {
        return -1;
    }
    if ((a[1] && parse_u32(a[1], "value", &value) < 0) ||
        fc_parse_threads(a[2], &threads) < 0 ||
        fc_parse_release(a[3], &release) < 0 ||
        fc_get_buffer(a[0], &out->view, "data") < 0) {
        return -1;
    }
    Py_ssize_t len = out->view.len;
    job->fn = kind == K_CRC32 ? FC_KERNEL(st, cksum.crc32)
              : kind == K_CRC32C ? FC_KERNEL(st, cksum.crc32c)
                                 : FC_KERNEL(st, cksum.adler32);
    job->data = out->view.buf;
    job->len = len;
    job->init = kind == K_ADLER32 ? 1 : 0;
    threads = fc_resolve_threads(threads, len, CKSUM_PARALLEL_MIN);
    if (threads > 1 && len / threads < CKSUM_MIN_SHARE) {
        threads = (int)(len / CKSUM_MIN_SHARE);
    }
    out->threads = threads < 1 ? 1 : threads;
    out->release = fc_should_release_at(st, release, len, pace_of(st, kind));
    if (kind == K_ADLER32 && len == 0) {
        /* zlib reduces both halves of the start value even for no data. */
        value = ((value >> 16) % 65521u) << 16 | (value & 0xffff) % 65521u;
    }
    out->value = value;
    return 0;
}

/* Parallel chunking: at least one chunk per thread, none over
 * CKSUM_SEQ_CHUNK, chunk boundaries on 4 KiB so every kernel sees aligned
 * bulk.  Sets job->chunk; returns the number of chunks. */
static int64_t
cksum_cut(cksum_job *job, int threads)
{
    int64_t n = (job->len + CKSUM_SEQ_CHUNK - 1) / CKSUM_SEQ_CHUNK;
    if (n < threads) {
        n = threads;
    }
    n = (n + threads - 1) / threads * threads;
    job->chunk = (job->len + n - 1) / n;
    job->chunk = (job->chunk + 4095) & ~(Py_ssize_t)4095;
    return (job->len + job->chunk - 1) / job->chunk;
}

/* value, continued over the chunk values of job (in order). */
static uint32_t
cksum_merge(const cksum_job *job, int kind, uint32_t value, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        value = combine(kind, value, job->vals[i],
                        (uint64_t)chunk_len(job, i));
    }
    return value;
}

static PyObject *
cksum_call(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
           PyObject *kwnames, int kind)
{
    fc_state *st = fc_get_state(module);
    PyObject *result = NULL;

    if (__builtin_expect(kwnames == NULL && nargs == 1 &&
                         PyBytes_CheckExact(args[0]), 1)) {
        /* The usual call, f(some_bytes), below the size where threads=None
         * goes parallel: straight to the kernel, without the argument
         * parser, a Py_buffer and the job record (the general path below
         * is about a third of a 64-byte crc32). */
        Py_ssize_t len = PyBytes_GET_SIZE(args[0]);
        if (len < CKSUM_PARALLEL_MIN) {
            fc_cksum_fn fn = kind == K_CRC32 ? FC_KERNEL(st, cksum.crc32)
                             : kind == K_CRC32C ? FC_KERNEL(st, cksum.crc32c)
                                                : FC_KERNEL(st, cksum.adler32);
            const unsigned char *buf =
                (const unsigned char *)PyBytes_AS_STRING(args[0]);
            uint32_t value = kind == K_ADLER32 ? 1 : 0;
            /* Safe outside the GIL: bytes are immutable and the caller
             * holds a reference for the whole call. */
            FC_RUN_OUTSIDE_GIL(fc_release_by_pace(st, len, pace_of(st, kind)),
                               value = fn(value, buf, (size_t)len));
            return PyLong_FromUnsignedLong(value);
        }
    }

    cksum_args ca = {0};
    cksum_job job = {0};

    if (cksum_parse(st, args, nargs, kwnames, kind, &ca, &job) < 0) {
        goto exit;
    }
    int threads = ca.threads, release = ca.release;
    uint32_t value = ca.value;
    if (threads <= 1 && job.len <= CKSUM_SEQ_CHUNK) {
        /* The common small call: no job, no pool. */
        /* Safe outside the GIL: the view is pinned until we release it. */
        FC_RUN_OUTSIDE_GIL(release,
                           value = job.fn(value, job.data, (size_t)job.len));
        result = PyLong_FromUnsignedLong(value);
        goto exit;
    }

    if (threads <= 1) {
        job.chunk = CKSUM_SEQ_CHUNK;
        job.running = value;
        int64_t n = (job.len + job.chunk - 1) / job.chunk;
        if (fc_run(cksum_seq_task, &job, n, 1, release) < 0) {
            goto exit;
        }
        result = PyLong_FromUnsignedLong(job.running);
        goto exit;
    }

    /* Parallel. */
    int64_t n = cksum_cut(&job, threads);
    job.vals = PyMem_Malloc((size_t)n * sizeof(uint32_t));
    if (job.vals == NULL) {
        PyErr_NoMemory();
        goto exit;
    }
    if (fc_run(cksum_par_task, &job, n, threads, release) < 0) {
        goto exit;
    }
    result = PyLong_FromUnsignedLong(cksum_merge(&job, kind, value, n));
exit:
    PyMem_Free(job.vals);
    if (ca.view.obj != NULL) {
        PyBuffer_Release(&ca.view);
    }
    return result;
}

PyDoc_STRVAR(fc_crc32__doc__,
"crc32($module, data, value=0, *, threads=None, release_gil=None)\n--\n\n"
"Compute a CRC-32 checksum of data, identical to zlib.crc32().\n"
"\n"
"  data: a bytes-like object.\n"
"  value: the running checksum to continue from.\n"
"  threads: split data over up to this many threads (None: the pool size\n"
"    for inputs of 4 MiB and more, else 1).\n"
"  release_gil: None releases the GIL from GIL_THRESHOLD bytes on.");

static PyObject *
fc_crc32(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
         PyObject *kwnames)
{
    return cksum_call(module, args, nargs, kwnames, K_CRC32);
}

PyDoc_STRVAR(fc_crc32c__doc__,
"crc32c($module, data, value=0, *, threads=None, release_gil=None)\n--\n\n"
"Compute a CRC-32C (Castagnoli, as in iSCSI and ext4) checksum of data.\n"
"\n"
"  data: a bytes-like object.\n"
"  value: the running checksum to continue from.\n"
"  threads: split data over up to this many threads (None: the pool size\n"
"    for inputs of 4 MiB and more, else 1).\n"
"  release_gil: None releases the GIL from GIL_THRESHOLD bytes on.");

static PyObject *
fc_crc32c(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
          PyObject *kwnames)
{
    return cksum_call(module, args, nargs, kwnames, K_CRC32C);
}

PyDoc_STRVAR(fc_adler32__doc__,
"adler32($module, data, value=1, *, threads=None, release_gil=None)\n--\n\n"
"Compute an Adler-32 checksum of data, identical to zlib.adler32().\n"
"\n"
"  data: a bytes-like object.\n"
"  value: the running checksum to continue from.\n"
"  threads: split data over up to this many threads (None: the pool size\n"
"    for inputs of 4 MiB and more, else 1).\n"
"  release_gil: None releases the GIL from GIL_THRESHOLD bytes on.");

static PyObject *
fc_adler32(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
           PyObject *kwnames)
{
    return cksum_call(module, args, nargs, kwnames, K_ADLER32);
}

static PyObject *
combine_call(PyObject *const *args, Py_ssize_t nargs, int kind,
             const char *fname)
{
    uint32_t a, b;
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError,
                     "%s() takes exactly 3 arguments (%zd given)", fname,
                     nargs);
        return NULL;
    }
    if (parse_u32(args[0], "first value", &a) < 0 ||
        parse_u32(args[1], "second value", &b) < 0) {
        return NULL;
    }
    if (!PyLong_Check(args[2])) {
        PyErr_Format(PyExc_TypeError, "length must be an int, not '%.100s'",
                     Py_TYPE(args[2])->tp_name);
        return NULL;
    }
    int overflow;
    long long len = PyLong_AsLongLongAndOverflow(args[2], &overflow);
    if (len == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (overflow || len < 0) {
        PyErr_SetString(PyExc_ValueError,
                        "length must be >= 0 and < 2**63");
        return NULL;
    }
    return PyLong_FromUnsignedLong(combine(kind, a, b, (uint64_t)len));
}

PyDoc_STRVAR(fc_crc32_combine__doc__,
"crc32_combine($module, crc1, crc2, len2, /)\n--\n\n"
"Return crc32(A + B) given crc1 = crc32(A), crc2 = crc32(B), len2 = len(B).");

static PyObject *
fc_crc32_combine_py(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    return combine_call(args, nargs, K_CRC32, "crc32_combine");
}

PyDoc_STRVAR(fc_crc32c_combine__doc__,
"crc32c_combine($module, crc1, crc2, len2, /)\n--\n\n"
"Return crc32c(A + B) given crc1 = crc32c(A), crc2 = crc32c(B),\n"
"len2 = len(B).");

static PyObject *
fc_crc32c_combine_py(PyObject *module, PyObject *const *args,
                     Py_ssize_t nargs)
{
    (void)module;
    return combine_call(args, nargs, K_CRC32C, "crc32c_combine");
}

PyDoc_STRVAR(fc_adler32_combine__doc__,
"adler32_combine($module, adler1, adler2, len2, /)\n--\n\n"
"Return adler32(A + B) given adler1 = adler32(A), adler2 = adler32(B),\n"
"len2 = len(B).");

static PyObject *
fc_adler32_combine_py(PyObject *module, PyObject *const *args,
                      Py_ssize_t nargs)
{
    (void)module;
    return combine_call(args, nargs, K_ADLER32, "adler32_combine");
}

/* --- the job form (fastconc.submit, fastconc.aio) ------------------------- */

/* Always the parallel shape (chunk values merged by finish), whatever the
 * thread count: chunks can then run anywhere, and a cancelled job stops
 * between two of them (16 MiB, about 1 ms). */
typedef struct {
    int kind;
    cksum_args ca;
    cksum_job job;
    int64_t n;
    uint32_t val1;          /* vals of a one-chunk job */
} cksum_async;

static int
cksum_prepare(void *data, fc_state *st, PyObject *func,
              PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
              fc_job_plan *plan, int kind)
{
    cksum_async *a = data;
    (void)func;
    a->kind = kind;
    if (cksum_parse(st, args, nargs, kwnames, kind, &a->ca, &a->job) < 0) {
        return -1;
    }
    int threads = a->ca.threads;
    if (threads <= 1) {
        a->job.chunk = CKSUM_SEQ_CHUNK;
        a->n = a->job.len == 0 ? 1
               : (a->job.len + a->job.chunk - 1) / a->job.chunk;
    }
    else {
        a->n = cksum_cut(&a->job, threads);
    }
    if (a->n == 1) {
        a->job.vals = &a->val1;
    }
    else {
        a->job.vals = PyMem_Malloc((size_t)a->n * sizeof(uint32_t));
        if (a->job.vals == NULL) {
            PyErr_NoMemory();
            return -1;
        }
    }
    plan->nchunks = a->n;
    plan->threads = threads;
    return 0;
}

#define CKSUM_PREPARE(name, kind)                                           \
    static int                                                              \
    name(void *data, fc_state *st, PyObject *func, PyObject *const *args,   \
         Py_ssize_t nargs, PyObject *kwnames, fc_job_plan *plan)            \
    {                                                                       \
        return cksum_prepare(data, st, func, args, nargs, kwnames, plan,    \
                             kind);                                         \
    }
CKSUM_PREPARE(crc32_prepare, K_CRC32)
CKSUM_PREPARE(crc32c_prepare, K_CRC32C)
CKSUM_PREPARE(adler32_prepare, K_ADLER32)

/* A pool worker, no GIL: the view is pinned by the job, vals is its own. */
static void
cksum_async_run(void *data, int64_t i)
{
    cksum_async *a = data;
    cksum_par_task(&a->job, i);
}

static PyObject *
cksum_async_finish(void *data, fc_state *st)
{
    cksum_async *a = data;
    (void)st;
    if (a->job.len == 0) {
        return PyLong_FromUnsignedLong(a->ca.value);
    }
    return PyLong_FromUnsignedLong(cksum_merge(&a->job, a->kind,
                                               a->ca.value, a->n));
}

static void
cksum_async_clear(void *data)
{
    cksum_async *a = data;
    if (a->job.vals != &a->val1) {
        PyMem_Free(a->job.vals);
    }
    a->job.vals = NULL;
    if (a->ca.view.obj != NULL) {
        PyBuffer_Release(&a->ca.view);
    }
}

static const fc_job_form checksum_jobs[] = {
    {"crc32", sizeof(cksum_async), crc32_prepare, cksum_async_run,
     cksum_async_finish, cksum_async_clear},
    {"crc32c", sizeof(cksum_async), crc32c_prepare, cksum_async_run,
     cksum_async_finish, cksum_async_clear},
    {"adler32", sizeof(cksum_async), adler32_prepare, cksum_async_run,
     cksum_async_finish, cksum_async_clear},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

static PyMethodDef checksum_methods[] = {
    {"crc32", FC_CFUNC(fc_crc32), METH_FASTCALL | METH_KEYWORDS,
     fc_crc32__doc__},
    {"crc32c", FC_CFUNC(fc_crc32c), METH_FASTCALL | METH_KEYWORDS,
     fc_crc32c__doc__},
    {"adler32", FC_CFUNC(fc_adler32), METH_FASTCALL | METH_KEYWORDS,
     fc_adler32__doc__},
    {"crc32_combine", FC_CFUNC(fc_crc32_combine_py), METH_FASTCALL,
     fc_crc32_combine__doc__},
    {"crc32c_combine", FC_CFUNC(fc_crc32c_combine_py), METH_FASTCALL,
     fc_crc32c_combine__doc__},
    {"adler32_combine", FC_CFUNC(fc_adler32_combine_py), METH_FASTCALL,
     fc_adler32_combine__doc__},
    {NULL, NULL, 0, NULL},
};

static int
checksum_init(PyObject *m, fc_state *st)
{
    if (PyModule_AddFunctions(m, checksum_methods) < 0) {
        return -1;
    }
    return fc_job_register(m, st, checksum_jobs);
}

static int
checksum_info(fc_state *st, PyObject *d)
{
    PyObject *backends = PyDict_GetItemString(d, "backends");
    PyObject *parallel = PyDict_GetItemString(d, "parallel");
    const char *names[3] = {"crc32", "crc32c", "adler32"};
    const char *impls[3] = {FC_KERNEL(st, cksum.crc32_impl),
                            FC_KERNEL(st, cksum.crc32c_impl),
                            FC_KERNEL(st, cksum.adler32_impl)};
    for (int i = 0; i < 3; i++) {
        PyObject *s = PyUnicode_FromFormat("fastconc %s", impls[i]);
        if (s == NULL || PyDict_SetItemString(backends, names[i], s) < 0) {
            Py_XDECREF(s);
            return -1;
        }
        Py_DECREF(s);
        if (PyDict_SetItemString(parallel, names[i], Py_True) < 0) {
            return -1;
        }
    }
    return 0;
}

const fc_area fc_area_checksum = {
    "checksum", checksum_init, NULL, NULL, checksum_info,
};
