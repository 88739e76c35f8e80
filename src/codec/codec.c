/* codec/codec.c - the codec table: one fc_codec_ops entry per codec in
 * enum order, and everything that only looks things up in it: names and
 * file suffixes, codec= / level= / max_output_size= parsing, detection by
 * magic bytes, the table-driven steps the front ends share (one-block
 * compression, the frame, opening a decoder, scanning for pieces), and
 * the codec area (the context cache, codecs_available, _codec_suffixes(),
 * _codec_from_filename() and the codecs' info() rows).
 *
 * No library call and no codec name outside the table; front ends call
 * codecs through here or through fc_codec_ops_of(), never by name.
 */
#include "codec/codec.h"

#include <string.h>

static const fc_codec_ops *const codecs[FC_CODEC_COUNT] = {
    [FC_CODEC_ZLIB] = &fc_codec_zlib,
    [FC_CODEC_DEFLATE] = &fc_codec_deflate,
    [FC_CODEC_GZIP] = &fc_codec_gzip,
    [FC_CODEC_ZSTD] = &fc_codec_zstd,
    [FC_CODEC_LZ4] = &fc_codec_lz4,
};

const fc_codec_ops *
fc_codec_ops_of(int codec)
{
    return codecs[codec];
}

const char *
fc_codec_name(int codec)
{
    if (codec < 0 || codec >= FC_CODEC_COUNT) {
        return NULL;
    }
    return codecs[codec]->name;
}

/* --- codec= and level= --------------------------------------------------- */

/* "'zlib', 'deflate', ..." for messages. */
static void
valid_names(char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < FC_CODEC_COUNT && used < size; i++) {
        int n = PyOS_snprintf(buf + used, size - used, "%s'%s'",
                              i ? ", " : "", codecs[i]->name);
        if (n < 0) {
            break;
        }
        used += (size_t)n;
    }
}

int
fc_codec_parse(PyObject *obj, int allow_auto, int dflt, int *out)
{
    char valid[256];
    if (obj == NULL || obj == Py_None) {
        if (allow_auto) {
            *out = FC_CODEC_AUTO;
            return 0;
        }
        if (dflt < 0) {
            valid_names(valid, sizeof(valid));
            PyErr_Format(PyExc_TypeError, "codec must be a str, one of %s",
                         valid);
            return -1;
        }
        *out = dflt;
        return 0;
    }
    if (!PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "codec must be a str%s, not '%.100s'",
                     allow_auto ? " or None" : "", Py_TYPE(obj)->tp_name);
        return -1;
    }
    Py_ssize_t size;
    const char *name = PyUnicode_AsUTF8AndSize(obj, &size);
    if (name == NULL) {
        return -1;
    }
    /* "zstd\0junk" must not pass for "zstd" (hashlib refuses such names
     * too): the C comparison below would stop at the NUL. */
    if (strlen(name) != (size_t)size) {
        PyErr_SetString(PyExc_ValueError,
                        "codec name contains an embedded null character");
        return -1;
    }
    for (int i = 0; i < FC_CODEC_COUNT; i++) {
        if (strcmp(name, codecs[i]->name) == 0) {
            *out = i;
            return 0;
        }
    }
    valid_names(valid, sizeof(valid));
    PyErr_Format(PyExc_ValueError,
                 "unknown codec %R; valid codecs are %s%s",
                 obj, valid, allow_auto ? " (or None to detect)" : "");
    return -1;
}

int
fc_codec_parse_level(int codec, PyObject *obj, int *out)
{
    fc_codec_levels lv = codecs[codec]->levels();
    if (obj == NULL || obj == Py_None) {
        *out = lv.dflt;
        return 0;
    }
    if (!PyLong_Check(obj) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "level must be an int or None, not '%.100s'",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    int overflow;
    long v = PyLong_AsLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow || v < lv.min || v > lv.max) {
        PyErr_Format(PyExc_ValueError,
                     "level %R is not a level of codec '%s' (valid: %d..%d, "
                     "%s)", obj, codecs[codec]->name, lv.min, lv.max,
                     lv.note);
        return -1;
    }
    *out = v == lv.alias ? lv.dflt : (int)v;
    return 0;
}

int
fc_parse_max_output(PyObject *obj, Py_ssize_t *out)
{
    if (obj == NULL || obj == Py_None) {
        *out = -1;
        return 0;
    }
    if (!PyLong_Check(obj) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "max_output_size must be an int or None, not '%.100s'",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow < 0 || (overflow == 0 && v < 0)) {
        PyErr_SetString(PyExc_ValueError,
                        "max_output_size must be >= 0 or None");
        return -1;
    }
    if (overflow > 0 || v > PY_SSIZE_T_MAX) {
        v = PY_SSIZE_T_MAX;
    }
    *out = (Py_ssize_t)v;
    return 0;
}

/* --- detection and file names -------------------------------------------- */

int
fc_codec_detect(const unsigned char *p, Py_ssize_t n)
{
    /* Every magic needs two bytes to say anything. */
    if (n < 2) {
        return FC_DETECT_NEED_MORE;
    }
    /* Signatures first; a weak magic (a header check) only when none of
     * them matches or could still match. */
    for (int weak = 0; weak <= 1; weak++) {
        int more = 0;
        for (int i = 0; i < FC_CODEC_COUNT; i++) {
            const fc_codec_ops *ops = codecs[i];
            if (ops->magic == NULL || !ops->magic_weak != !weak) {
                continue;
            }
            int r = ops->magic(p, n);
            if (r == FC_MAGIC_YES) {
                return i;
            }
            more |= r == FC_MAGIC_MORE;
        }
        if (more) {
            return FC_DETECT_NEED_MORE;
        }
    }
    return FC_DETECT_UNKNOWN;
}

/* "gzip, zstd, lz4 frame, zlib" (detected, in the order tried) or "raw
 * deflate" (never detected). */
static void
labels(char *buf, size_t size, int detected)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int weak = 0; weak <= (detected ? 1 : 0); weak++) {
        for (int i = 0; i < FC_CODEC_COUNT && used < size; i++) {
            const fc_codec_ops *ops = codecs[i];
            if ((ops->magic != NULL) != detected ||
                (detected && !ops->magic_weak != !weak)) {
                continue;
            }
            int n = PyOS_snprintf(buf + used, size - used, "%s%s",
                                  used ? ", " : "", ops->label);
            if (n < 0) {
                return;
            }
            used += (size_t)n;
        }
    }
}

int
fc_codec_detect_or_raise(fc_state *st, const unsigned char *p, Py_ssize_t n)
{
    int c = fc_codec_detect(p, n);
    if (c >= 0) {
        return c;
    }
    if (c == FC_DETECT_NEED_MORE || n == 0) {
        PyErr_Format(st->TruncatedError,
                     "cannot detect the codec of %zd byte(s) of input: too "
                     "short (pass codec=)", n);
    }
    else {
        char known[200], none[200];
        labels(known, sizeof(known), 1);
        labels(none, sizeof(none), 0);
        PyErr_Format(st->DecompressionError,
                     "cannot detect the codec: the input starts with no known "
                     "magic (%s); pass codec= (%s has no magic)", known,
                     none);
    }
    return -1;
}

int
fc_codec_from_filename(const char *path)
{
    size_t len = strlen(path);
    for (int i = 0; i < FC_CODEC_COUNT; i++) {
        for (const char *const *s = codecs[i]->suffixes; *s; s++) {
            size_t el = strlen(*s);
            if (len > el && strcmp(path + len - el, *s) == 0) {
                return i;
            }
        }
    }
    return -1;
}

/* --- table-driven steps shared by the front ends ------------------------- */

Py_ssize_t
fc_codec_single_bound(const fc_cjob *job)
{
    const fc_codec_ops *ops = codecs[job->codec];
    return ops->frame_head + ops->frame_tail +
           ops->block_bound(job, job->len);
}

Py_ssize_t
fc_codec_finish_frame(const fc_cjob *job, unsigned char *base,
                      Py_ssize_t body)
{
    const fc_codec_ops *ops = codecs[job->codec];
    if (ops->frame_finish != NULL) {
        return ops->frame_finish(job, base, body);
    }
    return ops->frame_head + body + ops->frame_tail;
}

Py_ssize_t
fc_codec_compress_single(fc_cjob *job, unsigned char *dst, Py_ssize_t cap)
{
    const fc_codec_ops *ops = codecs[job->codec];
    Py_ssize_t out_len = 0, result = -1;
    uint32_t check = 0;
    fc_cjob_cut(job, job->len > 0 ? job->len : 1, 0);
    job->dst = dst + ops->frame_head;
    job->slot = cap - ops->frame_head - ops->frame_tail;
    job->out_len = &out_len;
    job->check = &check;
    ops->block_task(job, 0);
    if (!job->failed) {
        result = fc_codec_finish_frame(job, dst, out_len);
    }
    job->out_len = NULL;
    job->check = NULL;
    return result;
}

int
fc_codec_dec_open(fc_dec *d, int codec, fc_codec_cache *cache,
                  const void *dict, fc_codec_err *err)
{
    memset(d, 0, sizeof(*d));
    d->codec = codec;
    d->name = codecs[codec]->name;
    d->cache = cache;
    d->dict = dict;
    return codecs[codec]->dec_init(d, err);
}

int64_t
fc_codec_scan(fc_djob *job, int codec, fc_codec_cache *cache,
              const void *dict, const unsigned char *in, Py_ssize_t len)
{
    memset(job, 0, sizeof(*job));
    job->codec = codec;
    job->name = codecs[codec]->name;
    job->cache = cache;
    job->dict = dict;
    if (codecs[codec]->scan == NULL) {
        return 0;
    }
    return codecs[codec]->scan(job, in, len);
}

/* --- the codec area ------------------------------------------------------ */

PyDoc_STRVAR(fc_codec_from_filename__doc__,
"_codec_from_filename($module, path, /)\n--\n\n"
"Codec implied by a file name's suffix, or None.");

static PyObject *
fc_codec_from_filename_py(PyObject *module, PyObject *arg)
{
    (void)module;
    PyObject *bytes = NULL;
    if (!PyUnicode_FSConverter(arg, &bytes)) {
        return NULL;
    }
    int c = fc_codec_from_filename(PyBytes_AS_STRING(bytes));
    Py_DECREF(bytes);
    if (c < 0) {
        Py_RETURN_NONE;
    }
    return PyUnicode_FromString(fc_codec_name(c));
}

PyDoc_STRVAR(fc_codec_suffixes__doc__,
"_codec_suffixes($module, /)\n--\n\n"
"The file name suffixes of each codec, as {codec: (suffix, ...)}; the\n"
"first suffix is the one to write.");

static PyObject *
fc_codec_suffixes(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    PyObject *result = PyDict_New(), *tuple = NULL;
    if (result == NULL) {
        goto exit;
    }
    for (int i = 0; i < FC_CODEC_COUNT; i++) {
        const char *const *s = codecs[i]->suffixes;
        Py_ssize_t n = 0;
        while (s[n] != NULL) {
            n++;
        }
        tuple = PyTuple_New(n);
        if (tuple == NULL) {
            Py_CLEAR(result);
            goto exit;
        }
        for (Py_ssize_t k = 0; k < n; k++) {
            PyObject *str = PyUnicode_FromString(s[k]);
            if (str == NULL) {
                Py_CLEAR(result);
                goto exit;
            }
            PyTuple_SET_ITEM(tuple, k, str);
        }
        if (PyDict_SetItemString(result, codecs[i]->name, tuple) < 0) {
            Py_CLEAR(result);
            goto exit;
        }
        Py_CLEAR(tuple);
    }
exit:
    Py_XDECREF(tuple);
    return result;
}

PyDoc_STRVAR(fc_decompression_error__doc__,
"_decompression_error($module, codec, truncated, /)\n--\n\n"
"The class of DecompressionError that decoders raise for a truncated\n"
"(or else corrupt) input of the codec (None: unknown codec).");

static PyObject *
fc_decompression_error(PyObject *module, PyObject *const *args,
                       Py_ssize_t nargs)
{
    int codec = FC_CODEC_AUTO;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError,
                     "_decompression_error() takes 2 arguments (%zd given)",
                     nargs);
        return NULL;
    }
    if (fc_codec_parse(args[0], 1, FC_CODEC_AUTO, &codec) < 0) {
        return NULL;
    }
    int truncated = PyObject_IsTrue(args[1]);
    if (truncated < 0) {
        return NULL;
    }
    return Py_NewRef(fc_codec_error_class(fc_get_state(module),
                                          fc_codec_name(codec), truncated));
}

static PyMethodDef codec_methods[] = {
    {"_decompression_error", FC_CFUNC(fc_decompression_error),
     METH_FASTCALL, fc_decompression_error__doc__},
    {"_codec_from_filename", fc_codec_from_filename_py, METH_O,
     fc_codec_from_filename__doc__},
    {"_codec_suffixes", fc_codec_suffixes, METH_NOARGS,
     fc_codec_suffixes__doc__},
    {NULL, NULL, 0, NULL},
};

static int
codec_init(PyObject *m, fc_state *st)
{
    PyObject *names = NULL;
    int rc = -1;
    st->codec = fc_codec_cache_new();
    if (st->codec == NULL) {
        goto exit;
    }
    names = PyTuple_New(FC_CODEC_COUNT);
    if (names == NULL) {
        goto exit;
    }
    for (int i = 0; i < FC_CODEC_COUNT; i++) {
        PyObject *s = PyUnicode_FromString(codecs[i]->name);
        if (s == NULL) {
            goto exit;
        }
        PyTuple_SET_ITEM(names, i, s);
    }
    if (PyModule_AddObjectRef(m, "codecs_available", names) < 0) {
        goto exit;
    }
    rc = PyModule_AddFunctions(m, codec_methods);
exit:
    Py_XDECREF(names);
    return rc;
}

static void
codec_clear(fc_state *st)
{
    fc_codec_cache *c = st->codec;
    st->codec = NULL;
    fc_codec_cache_free(c);
}

static int
codec_info(fc_state *st, PyObject *d)
{
    (void)st;
    PyObject *backends = PyDict_GetItemString(d, "backends");
    PyObject *parallel = PyDict_GetItemString(d, "parallel");
    if (backends == NULL || parallel == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "info(): no backends dict");
        return -1;
    }
    for (int i = 0; i < FC_CODEC_COUNT; i++) {
        if (codecs[i]->info(i, backends, parallel) < 0) {
            return -1;
        }
    }
    return 0;
}

const fc_area fc_area_codec = {
    "codec", codec_init, NULL, codec_clear, codec_info,
};
