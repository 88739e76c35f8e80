/* codec/stream.c - the streaming front end of the codecs: the Compressor
 * and Decompressor types, in the manner of the zlib, bz2 and lzma objects.
 *
 * A Decompressor stops at the end of one gzip member, zstd frame or lz4
 * frame (eof, unused_data), as zlib's decompressobj does; fastconc.open()
 * chains them for concatenated files.
 *
 * Each object owns one library context (an fc_stream handle filled by its
 * codec's cs_init/ds_init: the library and its state are the back end's
 * business), guarded by the object's lock.  The GIL is released only
 * around the handle's steps (for inputs of GIL_THRESHOLD bytes and more);
 * output buffers grow, and errors become exceptions, with the GIL held.
 * Decompressor._decompress_into (for CompressedFile.readinto) runs the same
 * loop with the caller's pinned buffer as a fixed output instead.
 * Nothing here runs on the pool: a stream is sequential by nature, and the
 * only parallel stream path is a library's own workers (zstd threads>1).
 */
#include "codec/codec.h"
#include "codec/zstd_dict.h"

#include <string.h>

/* Output grows by doubling from OUT_MIN, at most OUT_STEP at a time. */
#define OUT_MIN ((Py_ssize_t)16 << 10)
#define OUT_STEP ((Py_ssize_t)64 << 20)
/* One step sees at most this much output room, so that Ctrl-C is checked
 * every few tens of ms (compressors' input steps are the codec's
 * fc_stream.step_in). */
#define STEP_OUT ((Py_ssize_t)8 << 20)

struct fc_stream_state {
    PyTypeObject *Compressor;
    PyTypeObject *Decompressor;
};

/* --- the output buffer: one bytes object, grown with the GIL held -------- */

typedef struct {
    PyObject *obj;      /* bytes being filled; NULL until the first grow */
    Py_ssize_t len;     /* bytes written so far */
    Py_ssize_t limit;   /* never grow past this many bytes */
    unsigned char *fixed;   /* or, when not NULL, the caller's buffer of
                             * limit bytes (never grown, no bytes made) */
} outbuf;

/* Make at least `need` bytes (capped by the limit) writable.  Returns the
 * writable room, 0 when the limit is reached, -1 with an exception set. */
static Py_ssize_t
outbuf_room(outbuf *ob, Py_ssize_t need, Py_ssize_t hint)
{
    if (ob->fixed != NULL) {
        return ob->limit - ob->len;
    }
    Py_ssize_t cap = ob->obj ? PyBytes_GET_SIZE(ob->obj) : 0;
    if (cap - ob->len >= need || cap >= ob->limit) {
        return cap - ob->len;
    }
    Py_ssize_t grow = cap ? cap : hint;
    if (grow < OUT_MIN) {
        grow = OUT_MIN;
    }
    if (grow > OUT_STEP) {
        grow = OUT_STEP;
    }
    if (grow < need - (cap - ob->len)) {
        grow = need - (cap - ob->len);
    }
    Py_ssize_t newcap = ob->limit - cap <= grow ? ob->limit : cap + grow;
    if (ob->obj == NULL) {
        ob->obj = PyBytes_FromStringAndSize(NULL, newcap);
        if (ob->obj == NULL) {
            return -1;
        }
    }
    else if (_PyBytes_Resize(&ob->obj, newcap) < 0) {
        return -1;   /* ob->obj was freed and set to NULL */
    }
    return newcap - ob->len;
}

static inline char *
outbuf_ptr(outbuf *ob)
{
    if (ob->fixed != NULL) {
        return (char *)ob->fixed + ob->len;
    }
    return PyBytes_AS_STRING(ob->obj) + ob->len;
}

/* The finished bytes (steals the buffer). */
static PyObject *
outbuf_finish(outbuf *ob)
{
    PyObject *res;
    if (ob->fixed != NULL) {
        return PyLong_FromSsize_t(ob->len);
    }
    if (ob->obj == NULL) {
        return PyBytes_FromStringAndSize(NULL, 0);
    }
    if (ob->len != PyBytes_GET_SIZE(ob->obj) &&
        _PyBytes_Resize(&ob->obj, ob->len) < 0) {
        return NULL;
    }
    res = ob->obj;
    ob->obj = NULL;
    return res;
}

/* ======================================================================= */
/* Compressor                                                              */
/* ======================================================================= */

typedef struct {
    PyObject_HEAD
    /* Guards everything below: one library call at a time per object. */
    FC_LOCK_FIELD;
    int codec;
    int level;
    int threads;
    int finished;       /* flush() done */
    int broken;         /* an error left the stream unusable */
    fc_stream ctx;      /* the codec's context; impl NULL once freed */
    PyObject *zdict;    /* the ZstdDict whose CDict ctx uses, or NULL
                         * (set in tp_new only) */
} FcCompressorObject;

static PyObject *
FcCompressor_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"codec", "level", "threads", "zstd_dict",
                             NULL};
    PyObject *codec_obj = NULL, *level_obj = Py_None, *threads_obj = Py_None;
    PyObject *dict_obj = Py_None;
    FcCompressorObject *self = NULL;
    int codec = FC_CODEC_ZSTD;
    int level, threads;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|OOO$O:Compressor",
                                     kwlist, &codec_obj, &level_obj,
                                     &threads_obj, &dict_obj)) {
        return NULL;
    }
    if (fc_codec_parse(codec_obj, 0, FC_CODEC_ZSTD, &codec) < 0) {
        return NULL;
    }
    if (fc_codec_parse_level(codec, level_obj, &level) < 0 ||
        fc_parse_threads(threads_obj, &threads) < 0) {
        return NULL;
    }
    if (threads == 0) {
        threads = 1;   /* a stream is single-threaded unless asked */
    }
    const fc_codec_ops *ops = fc_codec_ops_of(codec);
    if (threads > 1 && !ops->cs_threads) {
        PyErr_Format(PyExc_ValueError,
                     "Compressor(%s): threads=%d is not supported: this "
                     "codec's stream is single-threaded (use "
                     "fastconc.compress(data, threads=N) or "
                     "fastconc.open(..., threads=N) for parallel %s)",
                     fc_codec_name(codec), threads, fc_codec_name(codec));
        return NULL;
    }
    self = (FcCompressorObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    /* Not shared yet: no lock needed while setting up. */
    FC_LOCK_INIT(self);
    self->codec = codec;
    self->level = level;
    self->threads = threads;
    if (fc_zstd_dict_arg(fc_type_state((PyObject *)self), dict_obj, codec,
                         &self->zdict) < 0 ||
        (self->zdict != NULL &&
         (self->ctx.dict = fc_zstd_dict_cdict(self->zdict, level)) == NULL) ||
        ops->cs_init(&self->ctx, codec, level, threads) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void
FcCompressor_dealloc(FcCompressorObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    fc_stream_free(&self->ctx);
    Py_CLEAR(self->zdict);      /* after the context that used it */
    FC_LOCK_FREE(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static int
FcCompressor_traverse(FcCompressorObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    return 0;
}

/* Feed `len` bytes, then act on `mode` (FC_STEP_*); the lock is held.
 * release_flag: from fc_parse_release.  Returns the output, or NULL with an
 * exception set (the stream is then marked broken: its output so far is
 * lost). */
static PyObject *
comp_run(FcCompressorObject *self, fc_state *st, const unsigned char *data,
         Py_ssize_t len, int mode, int release_flag)
{
    PyObject *result = NULL;
    outbuf ob = {NULL, 0, PY_SSIZE_T_MAX, NULL};
    fc_codec_err err = {0};
    Py_ssize_t pos = 0;
    /* flush() may compress everything the codec buffered: count it as
     * large. */
    int release = fc_should_release(st, release_flag,
                                    mode != FC_STEP_CONTINUE ? PY_SSIZE_T_MAX
                                                             : len);
    int done = 0;
    fc_stream *ctx = &self->ctx;
    Py_ssize_t step_in = ctx->step_in;

    while (!done) {
        Py_ssize_t in_len = len - pos < step_in ? len - pos : step_in;
        Py_ssize_t need = 1;
        if (ctx->out_need != NULL) {
            need = ctx->out_need(ctx->impl, in_len);
        }
        Py_ssize_t room = outbuf_room(&ob, need, len / 2);
        if (room < 0) {
            goto exit;
        }
        /* A step that needs a minimum room (a whole block) gets it all. */
        if (room > STEP_OUT && ctx->out_need == NULL) {
            room = STEP_OUT;
        }
        fc_step_io io = {data + pos, (size_t)in_len,
                         (unsigned char *)outbuf_ptr(&ob), (size_t)room};
        int last = pos + in_len == len ? mode : FC_STEP_CONTINUE;
        int rc;
        /* Safe without the GIL: the input view is pinned by the caller,
         * the output bytes object is ours alone, and the object's lock
         * keeps other threads off the context. */
        FC_RUN_OUTSIDE_GIL(release,
                           rc = ctx->step(ctx->impl, &io, last, &err));
        pos += (Py_ssize_t)io.in_len;
        ob.len += (Py_ssize_t)io.out_len;
        if (rc < 0) {
            fc_codec_raise(st, &err);
            goto exit;
        }
        if (mode != FC_STEP_CONTINUE) {
            done = rc == 1;
        }
        else {
            /* Done when all input went in and the library stopped short of
             * filling the room (so it has nothing more ready). */
            done = pos == len && (Py_ssize_t)io.out_len < room;
        }
        if (!done && PyErr_CheckSignals() < 0) {
            goto exit;
        }
    }
    result = outbuf_finish(&ob);
exit:
    if (result == NULL) {
        self->broken = 1;
    }
    Py_XDECREF(ob.obj);
    return result;
}

/* Raise unless the stream can still take calls. */
static int
comp_check_usable(FcCompressorObject *self)
{
    if (self->broken) {
        PyErr_SetString(PyExc_ValueError,
                        "Compressor: the stream is unusable after an "
                        "earlier error");
        return -1;
    }
    if (self->finished) {
        PyErr_SetString(PyExc_ValueError,
                        "Compressor: flush() was already called; the "
                        "stream is finished");
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(FcCompressor_compress__doc__,
"compress($self, data, /, *, release_gil=None)\n--\n\n"
"Feed data to the compressor; return the compressed bytes ready so far\n"
"(possibly b'').  Join the results of every call and of flush().\n"
"\n"
"  data: a bytes-like object.\n"
"  release_gil: None releases the GIL from GIL_THRESHOLD bytes on.");

static PyObject *
FcCompressor_compress(FcCompressorObject *self, PyObject *const *args,
                      Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"data", "release_gil", NULL};
    fc_state *st = fc_type_state((PyObject *)self);
    PyObject *a[2];
    PyObject *result = NULL;
    Py_buffer view = {0};
    int release;

    if (fc_parse_args("compress", args, nargs, kwnames, names, 1, 1,
                      a) < 0 ||
        fc_parse_release(a[1], &release) < 0 ||
        fc_get_buffer(a[0], &view, "data") < 0) {
        return NULL;
    }
    if (FC_LOCK_ACQUIRE(self) == 0) {
        if (comp_check_usable(self) == 0) {
            result = comp_run(self, st, view.buf, view.len,
                              FC_STEP_CONTINUE, release);
        }
        FC_LOCK_RELEASE(self);
    }
    PyBuffer_Release(&view);
    return result;
}

PyDoc_STRVAR(FcCompressor_flush__doc__,
"flush($self, /, mode='end', *, release_gil=None)\n--\n\n"
"Return the compressed bytes the codec still holds.\n"
"\n"
"  mode: 'end' (or zlib.Z_FINISH) finishes the stream (with the codec's\n"
"    trailer); the compressor cannot be used afterwards.  'block' (or\n"
"    zlib.Z_SYNC_FLUSH) ends the current block(s) so that everything fed\n"
"    so far can be decoded (deflate's sync flush, ZSTD_e_flush,\n"
"    LZ4F_flush); the stream goes on.  zlib.Z_FULL_FLUSH also makes\n"
"    what follows independent of what came before (zlib, deflate, gzip;\n"
"    lz4, whose blocks are independent anyway); zlib.Z_NO_FLUSH returns\n"
"    b''.  Z_PARTIAL_FLUSH, Z_BLOCK and Z_TREES are refused.\n"
"  release_gil: None releases the GIL.");

/* zlib's flush constants (zlib.h), the values of Python's zlib.Z_*: fixed
 * by zlib's interface, spelled out here so that this front end needs no
 * library header. */
enum {
    ZLIB_NO_FLUSH = 0,
    ZLIB_PARTIAL_FLUSH = 1,
    ZLIB_SYNC_FLUSH = 2,
    ZLIB_FULL_FLUSH = 3,
    ZLIB_FINISH = 4,
    ZLIB_BLOCK = 5,
    ZLIB_TREES = 6,
};

/* The step mode (FC_STEP_*) flush(mode) asks of codec, or -1 for "no
 * flush" (Z_NO_FLUSH); -2 with an exception for a mode that is not one or
 * that the codec cannot do. */
static int
flush_mode(PyObject *obj, int codec)
{
    const char *name = fc_codec_name(codec);
    if (obj == NULL) {
        return FC_STEP_END;
    }
    if (PyUnicode_Check(obj)) {
        if (PyUnicode_CompareWithASCIIString(obj, "end") == 0) {
            return FC_STEP_END;
        }
        if (PyUnicode_CompareWithASCIIString(obj, "block") == 0) {
            return FC_STEP_BLOCK;
        }
        PyErr_Format(PyExc_ValueError,
                     "unknown flush mode %R; valid modes are 'end' and "
                     "'block', or zlib's Z_FINISH, Z_SYNC_FLUSH, "
                     "Z_FULL_FLUSH and Z_NO_FLUSH", obj);
        return -2;
    }
    if (!PyLong_Check(obj) || PyBool_Check(obj)) {
        PyErr_Format(PyExc_TypeError,
                     "mode must be 'end', 'block' or one of zlib's flush "
                     "constants, not '%.100s'", Py_TYPE(obj)->tp_name);
        return -2;
    }
    int overflow;
    long v = PyLong_AsLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        return -2;
    }
    switch (overflow ? -1 : v) {
    case ZLIB_NO_FLUSH:
        return -1;
    case ZLIB_SYNC_FLUSH:
        return FC_STEP_BLOCK;
    case ZLIB_FINISH:
        return FC_STEP_END;
    case ZLIB_FULL_FLUSH:
        if (fc_codec_ops_of(codec)->cs_full_flush) {
            return FC_STEP_FULL;
        }
        PyErr_Format(PyExc_ValueError,
                     "flush(zlib.Z_FULL_FLUSH): %s has no full flush (its "
                     "stream keeps its history until the frame ends with "
                     "Z_FINISH); use zlib.Z_SYNC_FLUSH or 'block'", name);
        return -2;
    case ZLIB_PARTIAL_FLUSH:
    case ZLIB_BLOCK:
    case ZLIB_TREES:
        PyErr_Format(PyExc_ValueError,
                     "flush(%ld): zlib's Z_PARTIAL_FLUSH, Z_BLOCK and "
                     "Z_TREES are not supported (the output may not decode "
                     "up to the flush point); use zlib.Z_SYNC_FLUSH or "
                     "'block'", v);
        return -2;
    default:
        PyErr_Format(PyExc_ValueError,
                     "unknown flush mode %R; valid modes are 'end' and "
                     "'block', or zlib's Z_FINISH, Z_SYNC_FLUSH, "
                     "Z_FULL_FLUSH and Z_NO_FLUSH", obj);
        return -2;
    }
}

static PyObject *
FcCompressor_flush(FcCompressorObject *self, PyObject *const *args,
                   Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"mode", "release_gil", NULL};
    fc_state *st = fc_type_state((PyObject *)self);
    PyObject *a[2];
    PyObject *result = NULL;
    int release, mode;

    if (fc_parse_args("flush", args, nargs, kwnames, names, 1, 0, a) < 0 ||
        fc_parse_release(a[1], &release) < 0) {
        return NULL;
    }
    /* self->codec is set once in tp_new: no lock needed to read it. */
    mode = flush_mode(a[0], self->codec);
    if (mode == -2) {
        return NULL;
    }
    if (FC_LOCK_ACQUIRE(self) < 0) {
        return NULL;
    }
    if (comp_check_usable(self) < 0) {
        /* raised */
    }
    else if (mode == -1) {
        /* Z_NO_FLUSH: nothing to do, as zlib's flush() does. */
        result = PyBytes_FromStringAndSize(NULL, 0);
    }
    else {
        result = comp_run(self, st, (const unsigned char *)"", 0, mode,
                          release);
        if (result != NULL && mode == FC_STEP_END) {
            self->finished = 1;
            /* The context is of no further use: give its memory back. */
            fc_stream_free(&self->ctx);
        }
    }
    FC_LOCK_RELEASE(self);
    return result;
}

static PyObject *
stream_reduce(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    PyErr_Format(PyExc_TypeError, "cannot pickle '%.100s' object",
                 Py_TYPE(self)->tp_name);
    return NULL;
}

static PyObject *
FcCompressor_get_codec(FcCompressorObject *self, void *Py_UNUSED(closure))
{
    return PyUnicode_FromString(fc_codec_name(self->codec));
}

static PyObject *
FcCompressor_get_level(FcCompressorObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromLong(self->level);
}

static PyObject *
FcCompressor_get_threads(FcCompressorObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromLong(self->threads);
}

/* " zstd_dict=<id>" when a dictionary is in use, for the reprs. */
static PyObject *
repr_dict(PyObject *zdict)
{
    if (zdict == NULL) {
        return PyUnicode_FromString("");
    }
    PyObject *id = PyObject_GetAttrString(zdict, "dict_id");
    if (id == NULL) {
        return NULL;
    }
    PyObject *s = PyUnicode_FromFormat(" zstd_dict=%S", id);
    Py_DECREF(id);
    return s;
}

static PyObject *
FcCompressor_repr(FcCompressorObject *self)
{
    PyObject *dict = NULL, *result = NULL;
    if (FC_LOCK_ACQUIRE(self) < 0) {
        return NULL;
    }
    const char *state = self->broken ? "broken"
                        : self->finished ? "finished" : "active";
    FC_LOCK_RELEASE(self);
    dict = repr_dict(self->zdict);
    if (dict != NULL) {
        result = PyUnicode_FromFormat(
            "<fastconc.Compressor codec='%s' level=%d threads=%d%U %s>",
            fc_codec_name(self->codec), self->level, self->threads, dict,
            state);
    }
    Py_XDECREF(dict);
    return result;
}

static PyMethodDef FcCompressor_methods[] = {
    {"compress", FC_CFUNC(FcCompressor_compress),
     METH_FASTCALL | METH_KEYWORDS, FcCompressor_compress__doc__},
    {"flush", FC_CFUNC(FcCompressor_flush), METH_FASTCALL | METH_KEYWORDS,
     FcCompressor_flush__doc__},
    {"__reduce__", stream_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef FcCompressor_getset[] = {
    {"codec", (getter)FcCompressor_get_codec, NULL,
     "The codec's name.", NULL},
    {"level", (getter)FcCompressor_get_level, NULL,
     "The compression level in use.", NULL},
    {"threads", (getter)FcCompressor_get_threads, NULL,
     "Threads compressing this stream (libzstd workers for zstd).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(FcCompressor__doc__,
"Compressor(codec='zstd', level=None, threads=None, *, zstd_dict=None)\n"
"--\n\n"
"A streaming compressor: compress() pieces, then flush() once.\n"
"\n"
"  codec: 'zlib', 'deflate', 'gzip', 'zstd' or 'lz4' (frame format).\n"
"  level: the codec's level (None: its default).\n"
"  threads: zstd only: libzstd worker threads (None or 1: none).  Other\n"
"    codecs' streams are single-threaded and refuse threads > 1.\n"
"  zstd_dict: zstd only: a ZstdDict (or a zstd dictionary's bytes).\n"
"\n"
"Safe to share between threads (one call at a time per object).");

static PyType_Slot FcCompressor_slots[] = {
    {Py_tp_new, FcCompressor_new},
    {Py_tp_dealloc, FcCompressor_dealloc},
    {Py_tp_repr, FcCompressor_repr},
    {Py_tp_traverse, FcCompressor_traverse},
    {Py_tp_methods, FcCompressor_methods},
    {Py_tp_getset, FcCompressor_getset},
    {Py_tp_doc, (void *)FcCompressor__doc__},
    {0, NULL},
};

static PyType_Spec FcCompressor_spec = {
    .name = "fastconc.Compressor",
    .basicsize = sizeof(FcCompressorObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = FcCompressor_slots,
};

/* ======================================================================= */
/* Decompressor                                                            */
/* ======================================================================= */

typedef struct {
    PyObject_HEAD
    /* Guards everything below. */
    FC_LOCK_FIELD;
    int codec;         /* FC_CODEC_AUTO until detected */
    int eof;
    int needs_input;
    int broken;
    int ctx_ready;          /* the library context is set up */
    fc_stream ctx;          /* the codec's context; impl NULL once freed */
    PyObject *zdict;        /* zstd_dict=: a ZstdDict or NULL (set in
                             * tp_new only) */
    /* Input given but not consumed yet (output stopped at max_length, or
     * too few bytes to detect the codec). */
    unsigned char *inbuf;
    Py_ssize_t inbuf_len;
    Py_ssize_t inbuf_cap;
    PyObject *unused_data;  /* bytes after the end of the stream */
    long long total_in;     /* compressed bytes consumed: error offsets */
    long long total_out;
    Py_ssize_t max_output;  /* -1: no bound */
} FcDecompressorObject;

/* Set up the library context; head: the first n bytes of the input (as
 * many as the codec's ds_head asks).  -1 with an exception set. */
static int
dec_init_ctx(FcDecompressorObject *self, const unsigned char *head,
             Py_ssize_t n)
{
    self->ctx_ready = 1;
    /* Codecs without dictionaries ignore it. */
    self->ctx.dict = self->zdict ? fc_zstd_dict_ddict(self->zdict) : NULL;
    return fc_codec_ops_of(self->codec)->ds_init(&self->ctx, self->codec,
                                                  head, n);
}

static PyObject *
FcDecompressor_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"codec", "max_output_size", "zstd_dict", NULL};
    PyObject *codec_obj = Py_None, *max_obj = Py_None, *dict_obj = Py_None;
    FcDecompressorObject *self = NULL;
    int codec = FC_CODEC_AUTO;
    Py_ssize_t max_output = -1;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O$OO:Decompressor",
                                     kwlist, &codec_obj, &max_obj,
                                     &dict_obj)) {
        return NULL;
    }
    if (fc_codec_parse(codec_obj, 1, FC_CODEC_AUTO, &codec) < 0 ||
        fc_parse_max_output(max_obj, &max_output) < 0) {
        return NULL;
    }
    self = (FcDecompressorObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    /* Not shared yet: no lock needed while setting up. */
    FC_LOCK_INIT(self);
    self->codec = codec;
    self->needs_input = 1;
    self->max_output = max_output;
    self->unused_data = PyBytes_FromStringAndSize(NULL, 0);
    if (self->unused_data == NULL ||
        fc_zstd_dict_arg(fc_type_state((PyObject *)self), dict_obj, codec,
                         &self->zdict) < 0 ||
        (codec != FC_CODEC_AUTO && fc_codec_ops_of(codec)->ds_head == NULL &&
         dec_init_ctx(self, NULL, 0) < 0)) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void
FcDecompressor_dealloc(FcDecompressorObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    fc_stream_free(&self->ctx);
    Py_CLEAR(self->zdict);      /* after the context that used it */
    PyMem_Free(self->inbuf);
    Py_CLEAR(self->unused_data);
    FC_LOCK_FREE(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static int
FcDecompressor_traverse(FcDecompressorObject *self, visitproc visit,
                        void *arg)
{
    Py_VISIT(Py_TYPE(self));
    return 0;
}

/* Keep bytes for the next call: inbuf = inbuf[skip:] + extra.  `extra` may
 * not point into inbuf. */
static int
inbuf_keep(FcDecompressorObject *self, Py_ssize_t skip,
           const unsigned char *extra, Py_ssize_t extra_len)
{
    Py_ssize_t keep = self->inbuf_len - skip;
    if (skip > 0 && keep > 0) {
        memmove(self->inbuf, self->inbuf + skip, (size_t)keep);
    }
    self->inbuf_len = keep;
    if (extra_len == 0) {
        return 0;
    }
    if (extra_len > PY_SSIZE_T_MAX - keep) {
        PyErr_NoMemory();
        return -1;
    }
    if (keep + extra_len > self->inbuf_cap) {
        Py_ssize_t cap = keep + extra_len;
        if (cap < PY_SSIZE_T_MAX / 2 && cap < 2 * self->inbuf_cap) {
            cap = 2 * self->inbuf_cap;
        }
        unsigned char *p = PyMem_Realloc(self->inbuf, (size_t)cap);
        if (p == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        self->inbuf = p;
        self->inbuf_cap = cap;
    }
    memcpy(self->inbuf + keep, extra, (size_t)extra_len);
    self->inbuf_len = keep + extra_len;
    return 0;
}

/* Detect the codec from the buffered bytes if not given, and set up the
 * context once enough bytes arrived.  Returns 1 when ready, 0 when more
 * bytes are needed, -1 with an exception. */
static int
dec_prepare(FcDecompressorObject *self, fc_state *st)
{
    if (self->codec == FC_CODEC_AUTO) {
        int codec = fc_codec_detect(self->inbuf, self->inbuf_len);
        if (codec == FC_DETECT_NEED_MORE) {
            return 0;
        }
        if (codec < 0) {
            fc_codec_detect_or_raise(st, self->inbuf, self->inbuf_len);
            return -1;
        }
        self->codec = codec;
    }
    const fc_codec_ops *ops = fc_codec_ops_of(self->codec);
    if (ops->ds_head != NULL &&
        self->inbuf_len < ops->ds_head(self->inbuf, self->inbuf_len)) {
        return 0;
    }
    return dec_init_ctx(self, self->inbuf, self->inbuf_len) < 0 ? -1 : 1;
}

/* The body of decompress() and _decompress_into(); the lock is held.
 * With dst (the caller's pinned writable buffer), max_length is its length
 * and the output goes there: the result is the number of bytes written. */
static PyObject *
dec_run(FcDecompressorObject *self, fc_state *st, Py_buffer *view,
        Py_ssize_t max_length, int release_flag, Py_buffer *dst)
{
    PyObject *result = NULL;
    outbuf ob = {NULL, 0, PY_SSIZE_T_MAX, NULL};
    fc_codec_err err = {0};
    const unsigned char *in;
    Py_ssize_t in_len, pos = 0;
    int use_inbuf, at_max_length = 0, ok = 0;

    if (!self->ctx_ready) {
        if (inbuf_keep(self, 0, view->buf, view->len) < 0) {
            goto exit;
        }
        int rc = dec_prepare(self, st);
        if (rc < 0) {
            goto exit;
        }
        if (rc == 0) {
            self->needs_input = 1;
            result = dst != NULL ? PyLong_FromLong(0)
                                 : PyBytes_FromStringAndSize(NULL, 0);
            ok = 1;
            goto exit;
        }
        use_inbuf = 1;
    }
    else if (self->inbuf_len > 0) {
        if (inbuf_keep(self, 0, view->buf, view->len) < 0) {
            goto exit;
        }
        use_inbuf = 1;
    }
    else {
        use_inbuf = 0;
    }
    in = use_inbuf ? self->inbuf : view->buf;
    in_len = use_inbuf ? self->inbuf_len : view->len;

    /* The bound on this call's output: max_length, and what is left of
     * max_output_size. */
    Py_ssize_t budget = PY_SSIZE_T_MAX;
    if (self->max_output >= 0) {
        budget = self->max_output - (Py_ssize_t)self->total_out;
    }
    ob.limit = max_length >= 0 && max_length <= budget ? max_length : budget;
    if (dst != NULL) {
        ob.fixed = dst->buf;
    }
    int release = fc_should_release(st, release_flag, in_len);
    Py_ssize_t hint = in_len > PY_SSIZE_T_MAX / 4 ? PY_SSIZE_T_MAX
                                                  : in_len * 4;

    while (!self->eof) {
        unsigned char probe;
        Py_ssize_t room = outbuf_room(&ob, 1, hint);
        if (room < 0) {
            goto exit;
        }
        int probing = 0;
        if (room == 0) {
            if (ob.limit == max_length) {
                at_max_length = 1;
                break;
            }
            /* max_output_size reached: one more byte of output means the
             * bound is exceeded.  Ask for that byte in a scratch buffer so
             * that memory never grows past the bound. */
            probing = 1;
        }
        if (room > STEP_OUT) {
            room = STEP_OUT;
        }
        fc_step_io io = {in + pos, (size_t)(in_len - pos),
                         probing ? &probe : (unsigned char *)outbuf_ptr(&ob),
                         probing ? 1 : (size_t)room};
        int rc;
        /* Safe without the GIL: the input (caller's pinned view or our
         * inbuf) and the output bytes (or the caller's pinned writable
         * buffer, written below its length only) are ours until we
         * return, and the object's lock keeps other threads off the
         * context.  (A one-byte probe is not worth a release.) */
        FC_RUN_OUTSIDE_GIL(release && !probing,
                           rc = self->ctx.step(self->ctx.impl, &io,
                                               FC_STEP_CONTINUE, &err));
        if (rc < 0) {
            err.offset = self->total_in + pos;
            fc_codec_raise(st, &err);
            goto exit;
        }
        if (probing && io.out_len > 0) {
            fc_raise_output_size(st, fc_codec_name(self->codec),
                                 self->max_output);
            goto exit;
        }
        pos += (Py_ssize_t)io.in_len;
        if (!probing) {
            ob.len += (Py_ssize_t)io.out_len;
        }
        if (rc == 1) {
            self->eof = 1;
            break;
        }
        if (io.in_len == 0 && io.out_len == 0) {
            break;   /* no progress: needs more input */
        }
        if (PyErr_CheckSignals() < 0) {
            goto exit;
        }
    }
    self->total_in += pos;
    self->total_out += ob.len;

    if (self->eof) {
        PyObject *rest = PyBytes_FromStringAndSize((const char *)in + pos,
                                                   in_len - pos);
        if (rest == NULL) {
            goto exit;
        }
        Py_SETREF(self->unused_data, rest);
        self->inbuf_len = 0;
        self->needs_input = 0;
        /* The context is of no further use: give its memory back. */
        fc_stream_free(&self->ctx);
    }
    else {
        /* Keep what was not consumed for the next call. */
        if (use_inbuf) {
            if (inbuf_keep(self, pos, NULL, 0) < 0) {
                goto exit;
            }
        }
        else if (inbuf_keep(self, 0, in + pos, in_len - pos) < 0) {
            goto exit;
        }
        self->needs_input = !at_max_length;
    }
    result = outbuf_finish(&ob);
    ok = result != NULL;
exit:
    if (!ok) {
        /* The context's state no longer matches what the caller saw. */
        self->broken = 1;
    }
    Py_XDECREF(ob.obj);
    return result;
}

PyDoc_STRVAR(FcDecompressor_decompress__doc__,
"decompress($self, /, data, max_length=-1, *, release_gil=None)\n--\n\n"
"Decompress data; return the uncompressed bytes available.\n"
"\n"
"  data: a bytes-like object (b'' to drain after needs_input is False).\n"
"  max_length: if >= 0, return at most this many bytes and keep the rest\n"
"    of the input for the next call (needs_input is then False).\n"
"  release_gil: None releases the GIL from GIL_THRESHOLD bytes on.\n"
"\n"
"Stops at the end of the first gzip member / zstd or lz4 frame: eof is\n"
"then True and what follows is in unused_data.  Corrupt data raises\n"
"DecompressionError; more output than max_output_size raises\n"
"OutputSizeError.");

static PyObject *dec_call(FcDecompressorObject *self, fc_state *st,
                          Py_buffer *view, Py_ssize_t max_length,
                          int release, Py_buffer *dst);

static PyObject *
FcDecompressor_decompress(FcDecompressorObject *self, PyObject *const *args,
                          Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"data", "max_length", "release_gil",
                                        NULL};
    fc_state *st = fc_type_state((PyObject *)self);
    PyObject *a[3];
    PyObject *result = NULL;
    Py_buffer view = {0};
    Py_ssize_t max_length = -1;
    int release;

    if (fc_parse_args("decompress", args, nargs, kwnames, names, 2, 1,
                      a) < 0 ||
        fc_parse_release(a[2], &release) < 0) {
        return NULL;
    }
    if (a[1] != NULL) {
        if (!PyLong_Check(a[1]) || PyBool_Check(a[1])) {
            PyErr_Format(PyExc_TypeError,
                         "max_length must be an int, not '%.100s'",
                         Py_TYPE(a[1])->tp_name);
            return NULL;
        }
        max_length = PyLong_AsSsize_t(a[1]);
        if (max_length == -1 && PyErr_Occurred()) {
            return NULL;
        }
        if (max_length < 0) {
            max_length = -1;
        }
    }
    if (fc_get_buffer(a[0], &view, "data") < 0) {
        return NULL;
    }
    result = dec_call(self, st, &view, max_length, release, NULL);
    PyBuffer_Release(&view);
    return result;
}

/* decompress() or _decompress_into() once the arguments are parsed: the
 * object's state checked under its lock. */
static PyObject *
dec_call(FcDecompressorObject *self, fc_state *st, Py_buffer *view,
         Py_ssize_t max_length, int release, Py_buffer *dst)
{
    PyObject *result = NULL;
    if (FC_LOCK_ACQUIRE(self) < 0) {
        return NULL;
    }
    if (self->broken) {
        PyErr_SetString(PyExc_ValueError,
                        "Decompressor: the stream is unusable after an "
                        "earlier error");
    }
    else if (self->eof) {
        /* EOFError, as bz2's and lzma's decompressors raise. */
        PyErr_SetString(PyExc_EOFError,
                        "Decompressor: end of stream already reached "
                        "(the rest is in unused_data; start a new "
                        "Decompressor for it)");
    }
    else {
        result = dec_run(self, st, view, max_length, release, dst);
    }
    FC_LOCK_RELEASE(self);
    return result;
}

PyDoc_STRVAR(FcDecompressor_decompress_into__doc__,
"_decompress_into($self, data, out, /)\n--\n\n"
"decompress(data, len(out)) written into out (a writable C-contiguous\n"
"buffer) instead of a new bytes object; return the number of bytes\n"
"written at its start.  For CompressedFile.readinto.");

static PyObject *
FcDecompressor_decompress_into(FcDecompressorObject *self,
                               PyObject *const *args, Py_ssize_t nargs)
{
    fc_state *st = fc_type_state((PyObject *)self);
    PyObject *result = NULL;
    Py_buffer view = {0}, dst = {0};

    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError,
                     "_decompress_into() takes 2 arguments (%zd given)",
                     nargs);
        return NULL;
    }
    if (fc_get_buffer(args[0], &view, "data") < 0 ||
        fc_get_out_buffer(args[1], &dst, "out") < 0) {
        goto exit;
    }
    if (view.len > 0 && dst.len > 0 &&
        (const char *)view.buf < (const char *)dst.buf + dst.len &&
        (const char *)dst.buf < (const char *)view.buf + view.len) {
        PyErr_SetString(PyExc_ValueError,
                        "_decompress_into: out overlaps data");
        goto exit;
    }
    result = dec_call(self, st, &view, dst.len, -1, &dst);
exit:
    PyBuffer_Release(&dst);
    PyBuffer_Release(&view);
    return result;
}

static PyObject *
FcDecompressor_get_eof(FcDecompressorObject *self, void *Py_UNUSED(closure))
{
    if (FC_LOCK_ACQUIRE(self) < 0) {
        return NULL;
    }
    int v = self->eof;
    FC_LOCK_RELEASE(self);
    return PyBool_FromLong(v);
}

static PyObject *
FcDecompressor_get_needs_input(FcDecompressorObject *self,
                               void *Py_UNUSED(closure))
{
    if (FC_LOCK_ACQUIRE(self) < 0) {
        return NULL;
    }
    int v = self->needs_input;
    FC_LOCK_RELEASE(self);
    return PyBool_FromLong(v);
}

static PyObject *
FcDecompressor_get_unused_data(FcDecompressorObject *self,
                               void *Py_UNUSED(closure))
{
    if (FC_LOCK_ACQUIRE(self) < 0) {
        return NULL;
    }
    PyObject *v = Py_NewRef(self->unused_data);
    FC_LOCK_RELEASE(self);
    return v;
}

static PyObject *
FcDecompressor_get_codec(FcDecompressorObject *self, void *Py_UNUSED(closure))
{
    if (FC_LOCK_ACQUIRE(self) < 0) {
        return NULL;
    }
    int codec = self->codec;
    FC_LOCK_RELEASE(self);
    if (codec == FC_CODEC_AUTO) {
        Py_RETURN_NONE;
    }
    return PyUnicode_FromString(fc_codec_name(codec));
}

static PyObject *
FcDecompressor_repr(FcDecompressorObject *self)
{
    PyObject *dict = NULL, *limit = NULL, *result = NULL;
    if (FC_LOCK_ACQUIRE(self) < 0) {
        return NULL;
    }
    int codec = self->codec;
    long long in = self->total_in, out = self->total_out;
    const char *state = self->broken ? "broken" : self->eof ? "eof"
                        : "active";
    FC_LOCK_RELEASE(self);
    dict = repr_dict(self->zdict);
    limit = self->max_output < 0 ? PyUnicode_FromString("None")
            : PyUnicode_FromFormat("%zd", self->max_output);
    if (dict != NULL && limit != NULL) {
        /* codec=None: not detected yet. */
        result = PyUnicode_FromFormat(
            "<fastconc.Decompressor codec=%s%s%s max_output_size=%U%U "
            "in=%lld out=%lld %s>", codec == FC_CODEC_AUTO ? "" : "'",
            codec == FC_CODEC_AUTO ? "None" : fc_codec_name(codec),
            codec == FC_CODEC_AUTO ? "" : "'", limit, dict, in, out, state);
    }
    Py_XDECREF(dict);
    Py_XDECREF(limit);
    return result;
}

static PyMethodDef FcDecompressor_methods[] = {
    {"decompress", FC_CFUNC(FcDecompressor_decompress),
     METH_FASTCALL | METH_KEYWORDS, FcDecompressor_decompress__doc__},
    {"_decompress_into", FC_CFUNC(FcDecompressor_decompress_into),
     METH_FASTCALL, FcDecompressor_decompress_into__doc__},
    {"__reduce__", stream_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef FcDecompressor_getset[] = {
    {"eof", (getter)FcDecompressor_get_eof, NULL,
     "True once the end of the member/frame was reached.", NULL},
    {"needs_input", (getter)FcDecompressor_get_needs_input, NULL,
     "False if decompress(b'', ...) can return more without new input.",
     NULL},
    {"unused_data", (getter)FcDecompressor_get_unused_data, NULL,
     "Bytes found after the end of the member/frame.", NULL},
    {"codec", (getter)FcDecompressor_get_codec, NULL,
     "The codec's name (None until detected from the first bytes).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(FcDecompressor__doc__,
"Decompressor(codec=None, *, max_output_size=None, zstd_dict=None)\n"
"--\n\n"
"A streaming decompressor for one gzip member, zstd frame, lz4 frame,\n"
"zlib or raw deflate stream.\n"
"\n"
"  codec: 'zlib', 'deflate', 'gzip', 'zstd', 'lz4', or None to detect\n"
"    gzip/zstd/lz4/zlib from the first bytes.\n"
"  max_output_size: total output allowed (None: no bound); more raises\n"
"    OutputSizeError before memory grows past the bound.\n"
"  zstd_dict: the ZstdDict (or a zstd dictionary's bytes) of zstd\n"
"    frames.\n"
"\n"
"Safe to share between threads (one call at a time per object).");

static PyType_Slot FcDecompressor_slots[] = {
    {Py_tp_new, FcDecompressor_new},
    {Py_tp_dealloc, FcDecompressor_dealloc},
    {Py_tp_repr, FcDecompressor_repr},
    {Py_tp_traverse, FcDecompressor_traverse},
    {Py_tp_methods, FcDecompressor_methods},
    {Py_tp_getset, FcDecompressor_getset},
    {Py_tp_doc, (void *)FcDecompressor__doc__},
    {0, NULL},
};

static PyType_Spec FcDecompressor_spec = {
    .name = "fastconc.Decompressor",
    .basicsize = sizeof(FcDecompressorObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = FcDecompressor_slots,
};

/* ======================================================================= */
/* The area                                                                */
/* ======================================================================= */

static int
stream_init(PyObject *module, fc_state *st)
{
    struct fc_stream_state *ss = PyMem_Calloc(1, sizeof(*ss));
    if (ss == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    st->stream = ss;
    ss->Compressor = (PyTypeObject *)PyType_FromModuleAndSpec(
        module, &FcCompressor_spec, NULL);
    if (ss->Compressor == NULL ||
        PyModule_AddType(module, ss->Compressor) < 0) {
        return -1;
    }
    ss->Decompressor = (PyTypeObject *)PyType_FromModuleAndSpec(
        module, &FcDecompressor_spec, NULL);
    if (ss->Decompressor == NULL ||
        PyModule_AddType(module, ss->Decompressor) < 0) {
        return -1;
    }
    return 0;
}

static int
stream_traverse(fc_state *st, visitproc visit, void *arg)
{
    if (st->stream) {
        Py_VISIT(st->stream->Compressor);
        Py_VISIT(st->stream->Decompressor);
    }
    return 0;
}

static void
stream_clear(fc_state *st)
{
    if (st->stream) {
        Py_CLEAR(st->stream->Compressor);
        Py_CLEAR(st->stream->Decompressor);
        PyMem_Free(st->stream);
        st->stream = NULL;
    }
}

const fc_area fc_area_stream = {"stream", stream_init, stream_traverse,
                                stream_clear, NULL};
