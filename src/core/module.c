/* module.c - fastconc._core: module init, state, the GIL policy, running
 * work on the pool with Ctrl-C checks, and the pool/info knobs.
 *
 * Areas (checksums, hashes, codecs, parallel map) add their own functions
 * and types from exec through the fc_area table below.
 */
#include "core/fastconc.h"

#include <stdatomic.h>
#include <stdlib.h>

static const fc_area *const areas[] = {
    &fc_area_checksum,
    &fc_area_hash,
    &fc_area_codec,
    &fc_area_pmap,
    &fc_area_blake3,
    &fc_area_stream,
};
#define N_AREAS ((int)(sizeof(areas) / sizeof(areas[0])))

/* --- the GIL policy ---------------------------------------------------- */

Py_ssize_t
fc_gil_threshold(fc_state *st)
{
    return __atomic_load_n(&st->gil_threshold, __ATOMIC_RELAXED);
}

int
fc_should_release(fc_state *st, int flag, Py_ssize_t nbytes)
{
    if (flag >= 0) {
        return flag;
    }
    return nbytes >= fc_gil_threshold(st);
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
    if (ctx->release) {
        PyEval_RestoreThread(ctx->tstate);
    }
    ctx->lead_failed = ctx->lead(ctx->lead_arg) < 0;
    if (ctx->release) {
        ctx->tstate = PyEval_SaveThread();
    }
}

int
fc_run_led(fc_task_fn fn, void *arg, int64_t n, int threads, int release,
           int (*lead)(void *), void *lead_arg)
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
    run_ctx ctx = {NULL, release, lead, lead_arg, 0};
    if (release) {
        ctx.tstate = PyEval_SaveThread();
    }
    /* Safe without the GIL: tasks take C types only and the caller keeps
     * every buffer pinned until we return. */
    int stopped = fc_pool_run_led(fn, arg, n, threads, run_poll, &ctx,
                                  lead != NULL ? run_lead : NULL);
    if (release) {
        PyEval_RestoreThread(ctx.tstate);
    }
    if (ctx.lead_failed) {
        /* The lead's exception is set; a KeyboardInterrupt from the poll
         * comes second. */
        return -1;
    }
    return stopped ? -1 : 0;
}

int
fc_run(fc_task_fn fn, void *arg, int64_t n, int threads, int release)
{
    return fc_run_led(fn, arg, n, threads, release, NULL, NULL);
}

/* --- module functions -------------------------------------------------- */

PyDoc_STRVAR(fc_set_threads__doc__,
"set_threads($module, n, /)\n--\n\n"
"Set the default number of threads (the pool size) used when threads=None.\n"
"\n"
"  n: an int >= 1.");

static PyObject *
fc_set_threads(PyObject *module, PyObject *arg)
{
    int n;
    (void)module;
    if (arg == Py_None) {
        PyErr_SetString(PyExc_TypeError, "n must be an int, not None");
        return NULL;
    }
    if (fc_parse_threads(arg, &n) < 0) {
        return NULL;
    }
    fc_pool_set_size(n);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(fc_get_threads__doc__,
"get_threads($module, /)\n--\n\n"
"Return the default number of threads (the pool size).");

static PyObject *
fc_get_threads(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    return PyLong_FromLong(fc_pool_get_size());
}

static PyObject *
fc_get_gil_threshold(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromSsize_t(fc_gil_threshold(fc_get_state(module)));
}

static PyObject *
fc_set_gil_threshold(PyObject *module, PyObject *arg)
{
    if (!PyLong_Check(arg) || PyBool_Check(arg)) {
        PyErr_Format(PyExc_TypeError,
                     "GIL_THRESHOLD must be an int, not '%.100s'",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    Py_ssize_t v = PyLong_AsSsize_t(arg);
    if (v == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (v < 0) {
        PyErr_SetString(PyExc_ValueError, "GIL_THRESHOLD must be >= 0");
        return NULL;
    }
    __atomic_store_n(&fc_get_state(module)->gil_threshold, v,
                     __ATOMIC_RELAXED);
    Py_RETURN_NONE;
}

static void
apply_simd_level(fc_state *st, int level)
{
    st->simd_level = level;
    for (int i = 0; i < N_AREAS; i++) {
        if (areas[i]->set_simd) {
            areas[i]->set_simd(st);
        }
    }
}

/* Private: pin the dispatch level (tests force every path the CPU has). */
static PyObject *
fc_set_simd_level(PyObject *module, PyObject *arg)
{
    fc_state *st = fc_get_state(module);
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "level must be a str");
        return NULL;
    }
    const char *name = PyUnicode_AsUTF8(arg);
    if (name == NULL) {
        return NULL;
    }
    int level = fc_simd_level_from_name(name);
    if (level < 0) {
        PyErr_Format(PyExc_ValueError,
                     "unknown SIMD level %R; expected one of 'portable', "
                     "'sse4.2', 'avx2', 'avx512'", arg);
        return NULL;
    }
    int best = fc_cpu_best_level(st->cpu_features);
    if (level > best) {
        PyErr_Format(PyExc_ValueError,
                     "this CPU cannot run SIMD level '%s' (best: '%s')", name,
                     fc_simd_level_name(best));
        return NULL;
    }
    apply_simd_level(st, level);
    Py_RETURN_NONE;
}

static PyObject *
fc_get_simd_level(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return PyUnicode_FromString(
        fc_simd_level_name(fc_get_state(module)->simd_level));
}

/* Private: levels this CPU can run, lowest first. */
static PyObject *
fc_simd_levels(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    int best = fc_cpu_best_level(fc_get_state(module)->cpu_features);
    PyObject *list = PyList_New(0);
    if (list == NULL) {
        return NULL;
    }
    for (int i = 0; i <= best; i++) {
        PyObject *s = PyUnicode_FromString(fc_simd_level_name(i));
        if (s == NULL || PyList_Append(list, s) < 0) {
            Py_XDECREF(s);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(s);
    }
    return list;
}

static PyObject *
fc_pool_started_threads(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    return PyLong_FromLong(fc_pool_started());
}

static int
dict_set_steal(PyObject *d, const char *key, PyObject *v)
{
    if (v == NULL) {
        return -1;
    }
    int rc = PyDict_SetItemString(d, key, v);
    Py_DECREF(v);
    return rc;
}

PyDoc_STRVAR(fc_info__doc__,
"info($module, /)\n--\n\n"
"Return a dict describing this build: version, backends, CPU features,\n"
"SIMD level, pool size and which paths run in parallel.");

static PyObject *
fc_info(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    fc_state *st = fc_get_state(module);
    PyObject *d = PyDict_New(), *feats = NULL, *sub = NULL;
    if (d == NULL) {
        return NULL;
    }
    if (dict_set_steal(d, "version", PyUnicode_FromString(FC_VERSION)) < 0) {
        goto error;
    }
    feats = PyList_New(0);
    if (feats == NULL) {
        goto error;
    }
    for (unsigned bit = 0; fc_cpu_feature_name(bit); bit++) {
        if (st->cpu_features & (1u << bit)) {
            PyObject *s = PyUnicode_FromString(fc_cpu_feature_name(bit));
            if (s == NULL || PyList_Append(feats, s) < 0) {
                Py_XDECREF(s);
                goto error;
            }
            Py_DECREF(s);
        }
    }
    if (PyDict_SetItemString(d, "cpu_features", feats) < 0) {
        goto error;
    }
    if (dict_set_steal(d, "simd_best", PyUnicode_FromString(
            fc_simd_level_name(fc_cpu_best_level(st->cpu_features)))) < 0 ||
        dict_set_steal(d, "simd_level", PyUnicode_FromString(
            fc_simd_level_name(st->simd_level))) < 0 ||
        dict_set_steal(d, "threads", PyLong_FromLong(fc_pool_get_size())) < 0 ||
        dict_set_steal(d, "cpu_count",
                       PyLong_FromLong(fc_pool_cpu_count())) < 0 ||
        dict_set_steal(d, "gil_threshold",
                       PyLong_FromSsize_t(fc_gil_threshold(st))) < 0) {
        goto error;
    }
    /* Each area adds its backends ("backends" dict) and parallel paths
     * ("parallel" dict). */
    sub = PyDict_New();
    if (sub == NULL || PyDict_SetItemString(d, "backends", sub) < 0) {
        goto error;
    }
    Py_CLEAR(sub);
    sub = PyDict_New();
    if (sub == NULL || PyDict_SetItemString(d, "parallel", sub) < 0) {
        goto error;
    }
    Py_CLEAR(sub);
    for (int i = 0; i < N_AREAS; i++) {
        if (areas[i]->info && areas[i]->info(st, d) < 0) {
            goto error;
        }
    }
    Py_DECREF(feats);
    return d;
error:
    Py_XDECREF(sub);
    Py_XDECREF(feats);
    Py_DECREF(d);
    return NULL;
}

static PyMethodDef module_methods[] = {
    {"set_threads", fc_set_threads, METH_O, fc_set_threads__doc__},
    {"get_threads", fc_get_threads, METH_NOARGS, fc_get_threads__doc__},
    {"info", fc_info, METH_NOARGS, fc_info__doc__},
    {"_get_gil_threshold", fc_get_gil_threshold, METH_NOARGS, NULL},
    {"_set_gil_threshold", fc_set_gil_threshold, METH_O, NULL},
    {"_set_simd_level", fc_set_simd_level, METH_O, NULL},
    {"_get_simd_level", fc_get_simd_level, METH_NOARGS, NULL},
    {"_simd_levels", fc_simd_levels, METH_NOARGS, NULL},
    {"_pool_started", fc_pool_started_threads, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

/* --- init -------------------------------------------------------------- */

static int
fc_exec(PyObject *m)
{
    fc_state *st = fc_get_state(m);
    st->gil_threshold = FC_GIL_THRESHOLD_DEFAULT;
    st->cpu_features = fc_cpu_probe();
    st->simd_level = fc_cpu_best_level(st->cpu_features);
    /* FASTCONC_SIMD caps the level, e.g. to test the portable path. */
    const char *env = getenv("FASTCONC_SIMD");
    if (env && *env) {
        int lvl = fc_simd_level_from_name(env);
        if (lvl < 0) {
            PyErr_Format(PyExc_ValueError,
                         "FASTCONC_SIMD=%s: expected portable, sse4.2, avx2 "
                         "or avx512", env);
            return -1;
        }
        if (lvl < st->simd_level) {
            st->simd_level = lvl;
        }
    }

    st->DecompressionError = PyErr_NewExceptionWithDoc(
        "fastconc.DecompressionError",
        "Compressed data is corrupt, truncated or of the wrong codec.",
        PyExc_ValueError, NULL);
    if (st->DecompressionError == NULL ||
        PyModule_AddObjectRef(m, "DecompressionError",
                              st->DecompressionError) < 0) {
        return -1;
    }
    st->OutputSizeError = PyErr_NewExceptionWithDoc(
        "fastconc.OutputSizeError",
        "Decompressed output would exceed max_output_size.",
        st->DecompressionError, NULL);
    if (st->OutputSizeError == NULL ||
        PyModule_AddObjectRef(m, "OutputSizeError", st->OutputSizeError) < 0) {
        return -1;
    }
    if (PyModule_AddStringConstant(m, "__version__", FC_VERSION) < 0 ||
        PyModule_AddIntConstant(m, "MAX_THREADS", FC_MAX_THREADS) < 0) {
        return -1;
    }
    for (int i = 0; i < N_AREAS; i++) {
        if (areas[i]->init && areas[i]->init(m, st) < 0) {
            return -1;
        }
    }
    apply_simd_level(st, st->simd_level);
    return 0;
}

static int
fc_traverse(PyObject *m, visitproc visit, void *arg)
{
    fc_state *st = fc_get_state(m);
    if (st == NULL) {
        return 0;
    }
    Py_VISIT(st->DecompressionError);
    Py_VISIT(st->OutputSizeError);
    for (int i = 0; i < N_AREAS; i++) {
        if (areas[i]->traverse) {
            int rc = areas[i]->traverse(st, visit, arg);
            if (rc) {
                return rc;
            }
        }
    }
    return 0;
}

static int
fc_clear(PyObject *m)
{
    fc_state *st = fc_get_state(m);
    if (st == NULL) {
        return 0;
    }
    Py_CLEAR(st->DecompressionError);
    Py_CLEAR(st->OutputSizeError);
    for (int i = 0; i < N_AREAS; i++) {
        if (areas[i]->clear) {
            areas[i]->clear(st);
        }
    }
    return 0;
}

static void
fc_free(void *m)
{
    fc_clear((PyObject *)m);
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, fc_exec},
#if PY_VERSION_HEX >= 0x030C0000
    /* Pool threads that run Python callables (parallel_map) attach with
     * PyGILState_Ensure, which only knows the main interpreter. */
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#endif
#if PY_VERSION_HEX >= 0x030D0000
    /* Every shared object has its own lock; module state is set in exec
     * and tunables are atomics. */
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef fc_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "fastconc._core",
    .m_doc = "fastconc C core: hashing, checksums, compression and user "
             "kernels outside the GIL on a pool of native threads.",
    .m_size = sizeof(fc_state),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = fc_traverse,
    .m_clear = fc_clear,
    .m_free = fc_free,
};

PyMODINIT_FUNC
PyInit__core(void)
{
    return PyModuleDef_Init(&fc_module);
}
