/* module.c - fastconc._core: module init (exec steps, traverse/clear), the
 * exceptions, info(), and the pool and SIMD knobs.  Running work outside
 * the GIL is run.c's.
 *
 * Areas (checksums, hashes, codecs, parallel map) add their own functions
 * and types from exec through the fc_area table below.
 */
#include "core/fastconc.h"

#include <stdlib.h>
#include <string.h>

/* Set up in this order and cleared in the reverse one: an area may use
 * the state of those before it (the hash front ends use fc_area_hash's;
 * every area may register job forms with fc_area_jobs). */
static const fc_area *const areas[] = {
    &fc_area_jobs,
    &fc_area_checksum,
    &fc_area_hash,
    &fc_area_hash_object,
    &fc_area_hash_oneshot,
    &fc_area_hash_files,
    &fc_area_codec,
    &fc_area_zstd_dict,
    &fc_area_oneshot,
    &fc_area_batch,
    &fc_area_into,
    &fc_area_pmap,
    &fc_area_blake3,
    &fc_area_stream,
};
#define N_AREAS ((int)(sizeof(areas) / sizeof(areas[0])))

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

static PyObject *
fc_get_gil_release_us(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromSsize_t(fc_gil_release_us(fc_get_state(module)));
}

/* The least expected call time (µs) before a fast kernel releases the
 * GIL; 0 leaves GIL_THRESHOLD alone to decide (for the tests and the
 * benchmarks). */
static PyObject *
fc_set_gil_release_us(PyObject *module, PyObject *arg)
{
    if (!PyLong_Check(arg) || PyBool_Check(arg)) {
        PyErr_Format(PyExc_TypeError,
                     "release time must be an int, not '%.100s'",
                     Py_TYPE(arg)->tp_name);
        return NULL;
    }
    Py_ssize_t v = PyLong_AsSsize_t(arg);
    if (v == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (v < 0) {
        PyErr_SetString(PyExc_ValueError, "release time must be >= 0");
        return NULL;
    }
    __atomic_store_n(&fc_get_state(module)->gil_release_us, v,
                     __ATOMIC_RELAXED);
    Py_RETURN_NONE;
}

/* The one place the kernels change: the dispatcher fills every table for
 * the level.  Calls read each kernel as they start (FC_KERNEL: one relaxed
 * atomic load, so a call running beside _set_simd_level gets either
 * level's kernel, each correct, never a torn pointer); a hash object keeps
 * the tables it was made with.  Writers are serialised by the module's
 * critical section (fc_set_simd_level), or run in exec. */
static void
apply_simd_level(fc_state *st, int level)
{
    fc_kernels k;
    fc_kernels *d = &st->kernels;
    fc_simd_pick(&k, st->cpu_features, level);
    FC_ATOMIC_STORE(&d->cksum.crc32, k.cksum.crc32);
    FC_ATOMIC_STORE(&d->cksum.crc32c, k.cksum.crc32c);
    FC_ATOMIC_STORE(&d->cksum.adler32, k.cksum.adler32);
    FC_ATOMIC_STORE(&d->cksum.crc32_impl, k.cksum.crc32_impl);
    FC_ATOMIC_STORE(&d->cksum.crc32c_impl, k.cksum.crc32c_impl);
    FC_ATOMIC_STORE(&d->cksum.adler32_impl, k.cksum.adler32_impl);
    FC_ATOMIC_STORE(&d->xxh, k.xxh);
    FC_ATOMIC_STORE(&d->blake3, k.blake3);
    FC_ATOMIC_STORE(&d->sha256_pair, k.sha256_pair);
    FC_ATOMIC_STORE(&st->simd_level, level);
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
    FC_BEGIN_CRITICAL_SECTION(module);
    apply_simd_level(st, level);
    FC_END_CRITICAL_SECTION();
    Py_RETURN_NONE;
}

static PyObject *
fc_get_simd_level(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    fc_state *st = fc_get_state(module);
    return PyUnicode_FromString(
        fc_simd_level_name(FC_ATOMIC_LOAD(&st->simd_level)));
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

/* Private: the kernels simd/dispatch.c would choose for a CPU with the
 * named features (a subset of this CPU's, or any) at a level, without
 * changing anything: lets the tests check a row's feature needs, e.g. that
 * a CPU without BMI2 never gets a kernel compiled with -mbmi2. */
static PyObject *
fc_simd_pick_names(PyObject *module, PyObject *args)
{
    PyObject *names, *seq = NULL, *result = NULL;
    const char *lname;
    unsigned features = 0;
    fc_kernels k;
    (void)module;
    if (!PyArg_ParseTuple(args, "Os:_simd_pick", &names, &lname)) {
        return NULL;
    }
    int level = fc_simd_level_from_name(lname);
    if (level < 0) {
        PyErr_Format(PyExc_ValueError, "unknown SIMD level '%s'", lname);
        return NULL;
    }
    seq = PySequence_Fast(names, "features must be a sequence of str");
    if (seq == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        const char *s = PyUnicode_Check(item) ? PyUnicode_AsUTF8(item) : NULL;
        unsigned bit = 0;
        const char *fname;
        if (s == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_TypeError, "features must be str");
            }
            goto exit;
        }
        while ((fname = fc_cpu_feature_name(bit)) != NULL &&
               strcmp(fname, s) != 0) {
            bit++;
        }
        if (fname == NULL) {
            PyErr_Format(PyExc_ValueError, "unknown CPU feature '%s'", s);
            goto exit;
        }
        features |= 1u << bit;
    }
    fc_simd_pick(&k, features, level);
    result = Py_BuildValue(
        "{s:s,s:s,s:s,s:s,s:O}", "crc32", k.cksum.crc32_impl, "adler32",
        k.cksum.adler32_impl, "xxh", k.xxh->impl, "blake3", k.blake3->name,
        "sha256_pair", k.sha256_pair != NULL ? Py_True : Py_False);
exit:
    Py_XDECREF(seq);
    return result;
}

/* Private, for the tests: XXH3 of `data` (xxh3_128 if `is128`) by the
 * current level's 512-bit loop (fc_xxh_kernels.xxh3_512), as python-
 * xxhash's intdigest; ValueError at a level without one.  On the "avx2"
 * level that loop is the table's test-only copy, so CPUs without AVX-512
 * run the "avx512" level's XXH3 logic too. */
static PyObject *
fc_xxh3_512(PyObject *module, PyObject *args)
{
    Py_buffer view;
    unsigned long long seed = 0;
    int is128 = 0;
    PyObject *result = NULL, *hi = NULL, *lo = NULL, *shift = NULL,
             *top = NULL;
    if (!PyArg_ParseTuple(args, "y*|Kp:_xxh3_512", &view, &seed, &is128)) {
        return NULL;
    }
    const fc_xxh_kernels *k = FC_KERNEL(fc_get_state(module), xxh);
    if (k->xxh3_512 == NULL) {
        PyErr_Format(PyExc_ValueError,
                     "the '%s' xxHash table has no 512-bit XXH3 loop",
                     k->impl);
        goto exit;
    }
    fc_u128 h = k->xxh3_512(is128 ? FC_XXH3_128 : FC_XXH3_64, view.buf,
                            (size_t)view.len, (uint64_t)seed);
    if (!is128) {
        result = PyLong_FromUnsignedLongLong(h.lo);
        goto exit;
    }
    hi = PyLong_FromUnsignedLongLong(h.hi);
    lo = PyLong_FromUnsignedLongLong(h.lo);
    shift = PyLong_FromLong(64);
    if (hi == NULL || lo == NULL || shift == NULL) {
        goto exit;
    }
    top = PyNumber_Lshift(hi, shift);
    if (top != NULL) {
        result = PyNumber_Or(top, lo);
    }
exit:
    Py_XDECREF(hi);
    Py_XDECREF(lo);
    Py_XDECREF(shift);
    Py_XDECREF(top);
    PyBuffer_Release(&view);
    return result;
}

static PyObject *
fc_pool_started_threads(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    return PyLong_FromLong(fc_pool_started());
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
    if (fc_dict_set_steal(d, "version", PyUnicode_FromString(FC_VERSION)) < 0) {
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
    int level = FC_ATOMIC_LOAD(&st->simd_level);
    if (fc_dict_set_str(d, "simd_best", fc_simd_level_name(
            fc_cpu_best_level(st->cpu_features))) < 0 ||
        fc_dict_set_str(d, "simd_level", fc_simd_level_name(level)) < 0 ||
        fc_dict_set_steal(d, "threads",
                          PyLong_FromLong(fc_pool_get_size())) < 0 ||
        fc_dict_set_steal(d, "cpu_count",
                          PyLong_FromLong(fc_pool_cpu_count())) < 0 ||
        fc_dict_set_steal(d, "gil_threshold",
                          PyLong_FromSsize_t(fc_gil_threshold(st))) < 0 ||
        fc_dict_set_steal(d, "gil_release_us",
                          PyLong_FromSsize_t(fc_gil_release_us(st))) < 0) {
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
    {"_get_gil_release_us", fc_get_gil_release_us, METH_NOARGS, NULL},
    {"_set_gil_release_us", fc_set_gil_release_us, METH_O, NULL},
    {"_set_simd_level", fc_set_simd_level, METH_O, NULL},
    {"_get_simd_level", fc_get_simd_level, METH_NOARGS, NULL},
    {"_simd_levels", fc_simd_levels, METH_NOARGS, NULL},
    {"_simd_pick", fc_simd_pick_names, METH_VARARGS, NULL},
    {"_xxh3_512", fc_xxh3_512, METH_VARARGS, NULL},
    {"_pool_started", fc_pool_started_threads, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

/* --- init -------------------------------------------------------------- */

/* fastconc.<name>(*bases), added to the module; a new reference, or NULL
 * with an exception set.  bases: a class, or a tuple of classes. */
static PyObject *
add_exception_dict(PyObject *m, const char *name, const char *doc,
                   PyObject *bases, PyObject *dict)
{
    char qualname[64];
    PyOS_snprintf(qualname, sizeof(qualname), "fastconc.%s", name);
    PyObject *exc = PyErr_NewExceptionWithDoc(qualname, doc, bases, dict);
    if (exc != NULL && PyModule_AddObjectRef(m, name, exc) < 0) {
        Py_CLEAR(exc);
    }
    return exc;
}

static PyObject *
add_exception(PyObject *m, const char *name, const char *doc,
              PyObject *bases)
{
    return add_exception_dict(m, name, doc, bases, NULL);
}

/* The attribute `attr` of the stdlib module `module`; a new reference. */
static PyObject *
stdlib_attr(const char *module, const char *attr)
{
    PyObject *mod = PyImport_ImportModule(module);
    if (mod == NULL) {
        return NULL;
    }
    PyObject *v = PyObject_GetAttrString(mod, attr);
    Py_DECREF(mod);
    return v;
}

/* The decompression errors.  DecompressionError stays the one base (a
 * ValueError); each subclass is also the exception the stdlib raises for
 * the same failure, so that code written for zlib or gzip keeps working:
 *   TruncatedError        + EOFError (gzip, bz2, lzma: input ends early)
 *   CorruptDeflateError   + zlib.error (zlib/deflate/gzip data zlib
 *                           rejects)
 *   TruncatedDeflateError TruncatedError + zlib.error (zlib.decompress()
 *                           raises zlib.error, gzip EOFError)
 *   BadGzipFile           CorruptDeflateError + gzip.BadGzipFile (an
 *                           OSError: its C layout extends BaseException's,
 *                           and ValueError, EOFError and zlib.error add
 *                           none, so the bases are compatible; its
 *                           __new__ is OSError's, which the MRO would
 *                           otherwise find in ValueError: unpicklers that
 *                           call cls.__new__(cls), as tblib's under dask,
 *                           got "ValueError.__new__(BadGzipFile) is not
 *                           safe")
 * errors.c chooses among them by codec and failure. */
static int
add_exceptions(PyObject *m, fc_state *st)
{
    PyObject *zlib_error = NULL, *bad_gzip = NULL, *bases = NULL;
    PyObject *dict = NULL, *os_new = NULL;
    int rc = -1;

    st->DecompressionError = add_exception(
        m, "DecompressionError",
        "Compressed data is corrupt, truncated or of the wrong codec.\n\n"
        "A ValueError.  Its subclasses are also the stdlib's exception for\n"
        "the same failure: TruncatedError (EOFError), CorruptDeflateError\n"
        "(zlib.error), TruncatedDeflateError (both), BadGzipFile\n"
        "(gzip.BadGzipFile and zlib.error).", PyExc_ValueError);
    if (st->DecompressionError == NULL) {
        goto exit;
    }
    st->OutputSizeError = add_exception(
        m, "OutputSizeError",
        "Decompressed output would exceed max_output_size.",
        st->DecompressionError);
    if (st->OutputSizeError == NULL) {
        goto exit;
    }
    bases = PyTuple_Pack(2, st->DecompressionError, PyExc_EOFError);
    if (bases == NULL) {
        goto exit;
    }
    st->TruncatedError = add_exception(
        m, "TruncatedError",
        "The compressed input ends before the end of its stream (also an\n"
        "EOFError, as gzip, bz2 and lzma raise).", bases);
    Py_CLEAR(bases);
    if (st->TruncatedError == NULL ||
        (zlib_error = stdlib_attr("zlib", "error")) == NULL ||
        (bad_gzip = stdlib_attr("gzip", "BadGzipFile")) == NULL ||
        (bases = PyTuple_Pack(2, st->DecompressionError,
                              zlib_error)) == NULL) {
        goto exit;
    }
    st->CorruptDeflateError = add_exception(
        m, "CorruptDeflateError",
        "zlib, raw deflate or gzip data that zlib would reject (also a\n"
        "zlib.error).", bases);
    Py_CLEAR(bases);
    if (st->CorruptDeflateError == NULL ||
        (bases = PyTuple_Pack(2, st->TruncatedError, zlib_error)) == NULL) {
        goto exit;
    }
    st->TruncatedDeflateError = add_exception(
        m, "TruncatedDeflateError",
        "zlib, raw deflate or gzip data that ends early: a TruncatedError\n"
        "(EOFError, as gzip raises) and a zlib.error (as zlib.decompress()\n"
        "raises).", bases);
    Py_CLEAR(bases);
    if (st->TruncatedDeflateError == NULL ||
        (bases = PyTuple_Pack(2, st->CorruptDeflateError,
                              bad_gzip)) == NULL ||
        (os_new = PyObject_GetAttrString(PyExc_OSError, "__new__")) == NULL ||
        (dict = PyDict_New()) == NULL ||
        PyDict_SetItemString(dict, "__new__", os_new) < 0) {
        goto exit;
    }
    st->BadGzipFile = add_exception_dict(
        m, "BadGzipFile",
        "Data that is not a valid gzip file: a bad header, corrupt deflate\n"
        "data, a wrong CRC or length, trailing garbage (also a\n"
        "gzip.BadGzipFile, hence an OSError, and a zlib.error).", bases,
        dict);
    if (st->BadGzipFile == NULL) {
        goto exit;
    }
    rc = 0;
exit:
    Py_XDECREF(dict);
    Py_XDECREF(os_new);
    Py_XDECREF(bases);
    Py_XDECREF(zlib_error);
    Py_XDECREF(bad_gzip);
    return rc;
}

static int
fc_exec(PyObject *m)
{
    fc_state *st = fc_get_state(m);
    st->gil_threshold = FC_GIL_THRESHOLD_DEFAULT;
    st->gil_release_us = FC_GIL_RELEASE_US_DEFAULT;
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
    apply_simd_level(st, st->simd_level);

    if (add_exceptions(m, st) < 0) {
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
    Py_VISIT(st->TruncatedError);
    Py_VISIT(st->CorruptDeflateError);
    Py_VISIT(st->TruncatedDeflateError);
    Py_VISIT(st->BadGzipFile);
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
    Py_CLEAR(st->TruncatedError);
    Py_CLEAR(st->CorruptDeflateError);
    Py_CLEAR(st->TruncatedDeflateError);
    Py_CLEAR(st->BadGzipFile);
    for (int i = N_AREAS - 1; i >= 0; i--) {
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
