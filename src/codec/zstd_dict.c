/* codec/zstd_dict.c - zstd dictionaries: the fastconc.ZstdDict type, which
 * holds a dictionary and digests it once (a ZSTD_DDict when made, a
 * ZSTD_CDict per compression level on first use), and train_zstd_dict(),
 * libzstd's trainer.  zstd_dict.h says what the front ends use.
 *
 * The digested forms reference the object's bytes (ZSTD_dlm_byRef) and
 * live as long as the object; they are read-only once made, so any number
 * of contexts on any threads may use them at once.  Only the list of
 * per-level CDicts changes after construction, under the object's lock.
 * Nothing here compresses or decompresses: zstd.c does, given the
 * digested pointer.
 */
#define ZSTD_STATIC_LINKING_ONLY   /* ZSTD_create[CD]Dict_advanced */
#include "codec/codec.h"
#include "codec/zstd_dict.h"

#include <string.h>
#include <zdict.h>
#include <zstd.h>

/* A full zstd dictionary starts with this (little-endian). */
#define DICT_MAGIC 0xEC30A437u
/* ZDICT_DICTSIZE_MIN, spelled out: zdict.h has it in its experimental
 * section. */
#define TRAIN_SIZE_MIN 256

typedef struct {
    int level;
    ZSTD_CDict *cdict;
} level_cdict;

typedef struct {
    PyObject_HEAD
    /* Guards cdicts and ncdicts (the rest is set once in tp_new). */
    FC_LOCK_FIELD;
    PyObject *content;          /* bytes: the dictionary */
    int is_raw;                 /* raw content, not a zstd dictionary */
    unsigned dict_id;           /* 0 for raw content */
    ZSTD_DDict *ddict;
    level_cdict *cdicts;        /* PyMem_Raw array */
    int ncdicts;
} FcZstdDictObject;

static ZSTD_dictContentType_e
content_type(const FcZstdDictObject *self)
{
    return self->is_raw ? ZSTD_dct_rawContent : ZSTD_dct_fullDict;
}

/* Make a ZstdDict of a copy of buf[0 .. len); NULL with an exception. */
static PyObject *
zstd_dict_make(fc_state *st, const void *buf, Py_ssize_t len, int is_raw)
{
    FcZstdDictObject *self = NULL;
    const unsigned char *p = buf;

    if (!is_raw &&
        (len < 8 || ((uint32_t)p[0] | ((uint32_t)p[1] << 8) |
                     ((uint32_t)p[2] << 16) |
                     ((uint32_t)p[3] << 24)) != DICT_MAGIC)) {
        PyErr_SetString(PyExc_ValueError,
                        "ZstdDict: not a zstd dictionary (no dictionary "
                        "magic number); pass is_raw=True to use any bytes "
                        "as raw content");
        goto error;
    }
    if (is_raw && len == 0) {
        PyErr_SetString(PyExc_ValueError, "ZstdDict: empty dictionary");
        goto error;
    }
    self = PyObject_New(FcZstdDictObject, st->ZstdDict);
    if (self == NULL) {
        goto error;
    }
    FC_LOCK_INIT(self);
    self->ddict = NULL;
    self->cdicts = NULL;
    self->ncdicts = 0;
    self->is_raw = is_raw;
    self->content = PyBytes_FromStringAndSize(buf, len);
    if (self->content == NULL) {
        goto error;
    }
    /* The decompression form now: it checks the dictionary's tables, so
     * that a damaged one fails here rather than in the first call. */
    self->ddict = ZSTD_createDDict_advanced(
        PyBytes_AS_STRING(self->content), (size_t)len, ZSTD_dlm_byRef,
        content_type(self), ZSTD_defaultCMem);
    if (self->ddict == NULL) {
        PyErr_SetString(PyExc_ValueError,
                        "ZstdDict: not a valid zstd dictionary (its "
                        "entropy tables do not load)");
        goto error;
    }
    self->dict_id = ZSTD_getDictID_fromDDict(self->ddict);
    return (PyObject *)self;
error:
    Py_XDECREF(self);
    return NULL;
}

static void
FcZstdDict_dealloc(FcZstdDictObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    for (int i = 0; i < self->ncdicts; i++) {
        ZSTD_freeCDict(self->cdicts[i].cdict);
    }
    PyMem_RawFree(self->cdicts);
    ZSTD_freeDDict(self->ddict);
    Py_XDECREF(self->content);
    FC_LOCK_FREE(self);
    PyObject_Free(self);
    Py_DECREF(tp);
}

static PyObject *
FcZstdDict_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"dict_content", "is_raw", NULL};
    PyObject *content, *result = NULL;
    int is_raw = 0;
    Py_buffer view = {0};

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|$p:ZstdDict", kwlist,
                                     &content, &is_raw) ||
        fc_get_buffer(content, &view, "dict_content") < 0) {
        goto exit;
    }
    result = zstd_dict_make((fc_state *)PyType_GetModuleState(type),
                            view.buf, view.len, is_raw);
exit:
    PyBuffer_Release(&view);
    return result;
}

/* The CDict for `level`, made if missing; the lock is held.  NULL when
 * libzstd could not make it (no memory). */
static ZSTD_CDict *
cdict_locked(FcZstdDictObject *self, int level, int make)
{
    for (int i = 0; i < self->ncdicts; i++) {
        if (self->cdicts[i].level == level) {
            return self->cdicts[i].cdict;
        }
    }
    if (!make) {
        return NULL;
    }
    level_cdict *grown = PyMem_RawRealloc(
        self->cdicts, sizeof(level_cdict) * (size_t)(self->ncdicts + 1));
    if (grown == NULL) {
        return NULL;
    }
    self->cdicts = grown;
    size_t len = (size_t)PyBytes_GET_SIZE(self->content);
    ZSTD_CDict *cd = ZSTD_createCDict_advanced(
        PyBytes_AS_STRING(self->content), len, ZSTD_dlm_byRef,
        content_type(self),
        ZSTD_getCParams(level, ZSTD_CONTENTSIZE_UNKNOWN, len),
        ZSTD_defaultCMem);
    if (cd != NULL) {
        self->cdicts[self->ncdicts].level = level;
        self->cdicts[self->ncdicts].cdict = cd;
        self->ncdicts++;
    }
    return cd;
}

const void *
fc_zstd_dict_cdict(PyObject *obj, int level)
{
    FcZstdDictObject *self = (FcZstdDictObject *)obj;
    ZSTD_CDict *cd = NULL;
    int ok;
    /* Made already: a look under the lock. */
    FC_RUN_LOCKED(self, 0, ok, cd = cdict_locked(self, level, 0));
    if (ok && cd == NULL) {
        /* Digesting a large dictionary at a slow level takes
         * milliseconds: detached.  Safe: the content bytes are immutable
         * and the list changes only under the lock. */
        FC_RUN_LOCKED(self, 1, ok, cd = cdict_locked(self, level, 1));
        if (ok && cd == NULL) {
            PyErr_NoMemory();
        }
    }
    return cd;
}

const void *
fc_zstd_dict_ddict(PyObject *obj)
{
    return ((FcZstdDictObject *)obj)->ddict;
}

int
fc_zstd_dict_arg(fc_state *st, PyObject *arg, int codec, PyObject **out)
{
    Py_buffer view = {0};
    *out = NULL;
    if (arg == NULL || arg == Py_None) {
        return 0;
    }
    if (codec != FC_CODEC_AUTO && codec != FC_CODEC_ZSTD) {
        PyErr_Format(PyExc_ValueError,
                     "zstd_dict= applies to codec 'zstd', not '%s'",
                     fc_codec_name(codec));
        return -1;
    }
    if (Py_IS_TYPE(arg, st->ZstdDict)) {
        *out = Py_NewRef(arg);
        return 0;
    }
    if (PyUnicode_Check(arg) || !PyObject_CheckBuffer(arg)) {
        PyErr_Format(PyExc_TypeError,
                     "zstd_dict must be a fastconc.ZstdDict, a bytes-like "
                     "zstd dictionary or None, not '%.100s'",
                     Py_TYPE(arg)->tp_name);
        return -1;
    }
    if (fc_get_buffer(arg, &view, "zstd_dict") < 0) {
        return -1;
    }
    *out = zstd_dict_make(st, view.buf, view.len, 0);
    PyBuffer_Release(&view);
    return *out == NULL ? -1 : 0;
}

/* --- the type ------------------------------------------------------------ */

static PyObject *
FcZstdDict_get_content(FcZstdDictObject *self, void *Py_UNUSED(closure))
{
    return Py_NewRef(self->content);
}

static PyObject *
FcZstdDict_get_dict_id(FcZstdDictObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromUnsignedLong(self->dict_id);
}

static PyObject *
FcZstdDict_get_is_raw(FcZstdDictObject *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->is_raw);
}

static Py_ssize_t
FcZstdDict_len(FcZstdDictObject *self)
{
    return PyBytes_GET_SIZE(self->content);
}

static PyObject *
FcZstdDict_repr(FcZstdDictObject *self)
{
    return PyUnicode_FromFormat("<fastconc.ZstdDict dict_id=%u size=%zd%s>",
                                self->dict_id,
                                PyBytes_GET_SIZE(self->content),
                                self->is_raw ? " raw" : "");
}

static PyObject *
FcZstdDict_reduce(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    PyErr_Format(PyExc_TypeError,
                 "cannot pickle '%.100s' object (pickle its dict_content "
                 "and make a new one)", Py_TYPE(self)->tp_name);
    return NULL;
}

static PyMethodDef FcZstdDict_methods[] = {
    {"__reduce__", FcZstdDict_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef FcZstdDict_getset[] = {
    {"dict_content", (getter)FcZstdDict_get_content, NULL,
     "The dictionary's bytes (as the zstd tool and zstandard read them).",
     NULL},
    {"dict_id", (getter)FcZstdDict_get_dict_id, NULL,
     "The dictionary's id, written in each frame made with it (0: raw "
     "content).", NULL},
    {"is_raw", (getter)FcZstdDict_get_is_raw, NULL,
     "True for raw content rather than a zstd dictionary.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(FcZstdDict__doc__,
"ZstdDict(dict_content, /, *, is_raw=False)\n--\n\n"
"A zstd dictionary, for the zstd_dict= argument of every zstd entry\n"
"point.\n"
"\n"
"  dict_content: a zstd dictionary (from train_zstd_dict(), zstd --train\n"
"    or zstandard), or with is_raw=True any bytes used as raw content.\n"
"\n"
"The dictionary is digested once for decompression and once per\n"
"compression level on first use, and shared by every call and thread\n"
"using this object: pass the same ZstdDict rather than its bytes to\n"
"many calls.");

static PyType_Slot FcZstdDict_slots[] = {
    {Py_tp_new, FcZstdDict_new},
    {Py_tp_dealloc, FcZstdDict_dealloc},
    {Py_tp_repr, FcZstdDict_repr},
    {Py_tp_methods, FcZstdDict_methods},
    {Py_tp_getset, FcZstdDict_getset},
    {Py_sq_length, FcZstdDict_len},
    {Py_tp_doc, (void *)FcZstdDict__doc__},
    {0, NULL},
};

static PyType_Spec FcZstdDict_spec = {
    .name = "fastconc.ZstdDict",
    .basicsize = sizeof(FcZstdDictObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = FcZstdDict_slots,
};

/* --- training ------------------------------------------------------------ */

PyDoc_STRVAR(fc_train_zstd_dict__doc__,
"train_zstd_dict($module, samples, size, /)\n--\n\n"
"Train a zstd dictionary of at most `size` bytes on samples (libzstd's\n"
"trainer, ZDICT_trainFromBuffer); returns a ZstdDict.\n"
"\n"
"  samples: an iterable of bytes-like objects, typical small inputs (a\n"
"    few hundred at least; about 100 times `size` bytes in total).\n"
"  size: the dictionary's maximum size in bytes (>= 256; ~100 KiB is\n"
"    usual).\n"
"\n"
"Runs with the GIL released (one library call: Ctrl-C is seen when it\n"
"returns).  Too few or too uniform samples raise ValueError.");

static PyObject *
fc_train_zstd_dict(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    fc_state *st = fc_get_state(module);
    fc_buffers bufs = {0};
    PyObject *result = NULL;
    unsigned char *flat = NULL, *dict = NULL;
    size_t *sizes = NULL;
    Py_ssize_t size;
    size_t rc = 0;

    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError,
                     "train_zstd_dict() takes 2 positional arguments (%zd "
                     "given)", nargs);
        goto exit;
    }
    if (!PyLong_Check(args[1]) || PyBool_Check(args[1])) {
        PyErr_Format(PyExc_TypeError, "size must be an int, not '%.100s'",
                     Py_TYPE(args[1])->tp_name);
        goto exit;
    }
    size = PyLong_AsSsize_t(args[1]);
    if (size == -1 && PyErr_Occurred()) {
        goto exit;
    }
    if (size < TRAIN_SIZE_MIN || size > ((Py_ssize_t)1 << 30)) {
        PyErr_Format(PyExc_ValueError,
                     "size must be between %d and 2**30 bytes, not %zd",
                     TRAIN_SIZE_MIN, size);
        goto exit;
    }
    if (fc_get_buffers(args[0], &bufs, "samples") < 0) {
        goto exit;
    }
    if (bufs.count == 0 || (uint64_t)bufs.count > UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, bufs.count == 0
                        ? "train_zstd_dict: no samples given"
                        : "train_zstd_dict: more than 2**32-1 samples");
        goto exit;
    }
    /* The trainer wants the samples one after the other in one buffer. */
    flat = PyMem_RawMalloc(bufs.total > 0 ? (size_t)bufs.total : 1);
    sizes = PyMem_RawMalloc(sizeof(size_t) * (size_t)bufs.count);
    dict = PyMem_RawMalloc((size_t)size);
    if (flat == NULL || sizes == NULL || dict == NULL) {
        PyErr_NoMemory();
        goto exit;
    }
    Py_ssize_t pos = 0;
    for (Py_ssize_t i = 0; i < bufs.count; i++) {
        memcpy(flat + pos, bufs.views[i].buf, (size_t)bufs.views[i].len);
        sizes[i] = (size_t)bufs.views[i].len;
        pos += bufs.views[i].len;
    }
    /* Safe without the GIL: every buffer here is ours (the samples were
     * copied), and the trainer calls no Python. */
    Py_BEGIN_ALLOW_THREADS
    rc = ZDICT_trainFromBuffer(dict, (size_t)size, flat, sizes,
                               (unsigned)bufs.count);
    Py_END_ALLOW_THREADS
    if (ZDICT_isError(rc)) {
        PyErr_Format(PyExc_ValueError,
                     "train_zstd_dict: libzstd could not train a dictionary "
                     "on %zd sample(s) of %zd bytes in total (%s): give "
                     "more samples (a few hundred at least, about 100 times "
                     "the dictionary size in all) that share content",
                     bufs.count, bufs.total, ZDICT_getErrorName(rc));
        goto exit;
    }
    result = zstd_dict_make(st, dict, (Py_ssize_t)rc, 0);
exit:
    PyMem_RawFree(flat);
    PyMem_RawFree(sizes);
    PyMem_RawFree(dict);
    fc_buffers_release(&bufs);
    return result;
}

/* --- the area ------------------------------------------------------------ */

static PyMethodDef zstd_dict_methods[] = {
    {"train_zstd_dict", FC_CFUNC(fc_train_zstd_dict), METH_FASTCALL,
     fc_train_zstd_dict__doc__},
    {NULL, NULL, 0, NULL},
};

static int
zstd_dict_init(PyObject *m, fc_state *st)
{
    st->ZstdDict = (PyTypeObject *)PyType_FromModuleAndSpec(
        m, &FcZstdDict_spec, NULL);
    if (st->ZstdDict == NULL || PyModule_AddType(m, st->ZstdDict) < 0) {
        return -1;
    }
    return PyModule_AddFunctions(m, zstd_dict_methods);
}

static int
zstd_dict_traverse(fc_state *st, visitproc visit, void *arg)
{
    Py_VISIT(st->ZstdDict);
    return 0;
}

static void
zstd_dict_clear(fc_state *st)
{
    Py_CLEAR(st->ZstdDict);
}

const fc_area fc_area_zstd_dict = {
    "zstd_dict", zstd_dict_init, zstd_dict_traverse, zstd_dict_clear, NULL,
};
