/* stream.c - the streaming codecs of fastconc._core: the Compressor and
 * Decompressor types, in the manner of the zlib, bz2 and lzma objects.
 *
 * zlib, deflate and gzip go through zlib's z_stream, zstd through
 * ZSTD_CCtx/ZSTD_DCtx (compressStream2/decompressStream), lz4 through the
 * LZ4F frame API.  A Decompressor stops at the end of one gzip member, zstd
 * frame or lz4 frame (eof, unused_data), as zlib's decompressobj does;
 * fastconc.open() chains them for concatenated files.
 *
 * Each object owns one library context, guarded by its own lock.  The GIL is
 * released only around the library calls (for inputs of GIL_THRESHOLD bytes
 * and more); output buffers grow, and errors become exceptions, with the GIL
 * held.  zlib and zstd allocate through PyMem_Raw*, which needs no GIL; lz4's
 * frame API uses malloc (its custom allocator is not a stable export).
 * Where isa-l is built in, level 1 of the deflate family compresses with
 * isa-l's level 1 (several times faster than zlib -1, as large or smaller),
 * as the one-shot compress() does.
 * Nothing here runs on the pool: a stream is sequential by nature, and the
 * only parallel stream path is libzstd's own workers (threads>1).
 */
#define ZSTD_STATIC_LINKING_ONLY   /* ZSTD_customMem, ZSTD_create*_advanced */
#include "core/fastconc.h"
#include "codec/codec.h"

#include <limits.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>
#include <lz4frame.h>
#ifdef FC_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

/* Output grows by doubling from OUT_MIN, at most OUT_STEP at a time. */
#define OUT_MIN ((Py_ssize_t)16 << 10)
#define OUT_STEP ((Py_ssize_t)64 << 20)
/* One library call sees at most this much input (compression) or output
 * room (decompression), so that Ctrl-C is checked every few tens of ms and
 * zlib's unsigned int counters never overflow.  Slow levels (which manage a
 * few MB/s) get smaller input steps. */
#define STEP_IN ((Py_ssize_t)1 << 20)
#define STEP_IN_SLOW ((Py_ssize_t)128 << 10)
#define STEP_OUT ((Py_ssize_t)8 << 20)
/* lz4 frames: independent blocks with a content checksum, as the lz4
 * command writes them; blocks of 4 MiB, or 1 MiB at the slow high
 * compression levels: a block is compressed in one library call, so this
 * bounds the time between Ctrl-C checks (about 0.2 s at level 12), for
 * 0.3% in size (lz4's window is only 64 KiB). */
#define LZ4_BLOCK_ID LZ4F_max4MB
#define LZ4_BLOCK_ID_HC LZ4F_max1MB

struct fc_stream_state {
    PyTypeObject *Compressor;
    PyTypeObject *Decompressor;
};

/* --- allocators for library calls made without the GIL ------------------ */

static voidpf
zalloc_raw(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    if (size != 0 && items > (size_t)PY_SSIZE_T_MAX / size) {
        return NULL;
    }
    return PyMem_RawMalloc((size_t)items * size);
}

static void
zfree_raw(voidpf opaque, voidpf ptr)
{
    (void)opaque;
    PyMem_RawFree(ptr);
}

static void *
zstd_alloc_raw(void *opaque, size_t size)
{
    (void)opaque;
    return PyMem_RawMalloc(size);
}

static void
zstd_free_raw(void *opaque, void *ptr)
{
    (void)opaque;
    PyMem_RawFree(ptr);
}

static const ZSTD_customMem zstd_raw_mem = {zstd_alloc_raw, zstd_free_raw,
                                            NULL};

/* --- the output buffer: one bytes object, grown with the GIL held ------- */

typedef struct {
    PyObject *obj;      /* bytes being filled; NULL until the first grow */
    Py_ssize_t len;     /* bytes written so far */
    Py_ssize_t limit;   /* never grow past this many bytes */
} outbuf;

/* Make at least `need` bytes (capped by the limit) writable.  Returns the
 * writable room, 0 when the limit is reached, -1 with an exception set. */
static Py_ssize_t
outbuf_room(outbuf *ob, Py_ssize_t need, Py_ssize_t hint)
{
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
    return PyBytes_AS_STRING(ob->obj) + ob->len;
}

/* The finished bytes (steals the buffer). */
static PyObject *
outbuf_finish(outbuf *ob)
{
    PyObject *res;
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

/* --- one library call: what went in and came out ------------------------- */

typedef struct {
    const unsigned char *in;
    size_t in_len;      /* in: available; out: consumed */
    unsigned char *out;
    size_t out_len;     /* in: room; out: produced */
} step_io;


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
    int zinit;          /* zs initialised */
    z_stream zs;
    ZSTD_CCtx *zc;
    LZ4F_cctx *lc;
    LZ4F_preferences_t lprefs;
    int lbegun;         /* lz4 frame header written */
#ifdef FC_HAVE_ISAL
    struct isal_zstream *iz;    /* level 1 of the deflate family */
    unsigned char *iz_buf;      /* its level buffer */
#endif
} FcCompressorObject;

/* What a compression step does after taking its input. */
enum {
    CM_CONTINUE,    /* nothing more: output what is ready */
    CM_BLOCK,       /* end the current block(s): all input so far decodes */
    CM_END,         /* finish the stream */
};

/* Compress one step with the given mode (CM_BLOCK and CM_END only with the
 * last of the input).  Returns 1 when the block flush or the end is
 * complete, 0 when more calls are needed, -1 on a library error recorded
 * in err.  No Python API: may run without the GIL. */
static int
comp_step(FcCompressorObject *self, step_io *io, int mode, fc_codec_err *err)
{
    int end = mode == CM_END;
#ifdef FC_HAVE_ISAL
    if (self->iz) {
        struct isal_zstream *iz = self->iz;
        size_t in_len = io->in_len > UINT32_MAX ? UINT32_MAX : io->in_len;
        size_t out_len = io->out_len > UINT32_MAX ? UINT32_MAX : io->out_len;
        iz->next_in = (uint8_t *)io->in;
        iz->avail_in = (uint32_t)in_len;
        iz->next_out = io->out;
        iz->avail_out = (uint32_t)out_len;
        int whole = in_len == io->in_len;
        iz->end_of_stream = end && whole;
        iz->flush = mode == CM_BLOCK && whole ? SYNC_FLUSH : NO_FLUSH;
        int rc = isal_deflate(iz);
        io->in_len = in_len - iz->avail_in;
        io->out_len = out_len - iz->avail_out;
        if (rc != COMP_OK) {
            fc_codec_err_set(err, FC_CERR_COMPRESS, self->codec, rc,
                             "isal_deflate() failed", -1);
            return -1;
        }
        if (mode == CM_BLOCK) {
            /* isa-l: a flush is complete once all input is taken and the
             * output was not filled up. */
            return whole && iz->avail_in == 0 && iz->avail_out > 0;
        }
        return iz->internal_state.state == ZSTATE_END ? 1 : 0;
    }
#endif
    switch (self->codec) {
    case FC_CODEC_ZLIB:
    case FC_CODEC_DEFLATE:
    case FC_CODEC_GZIP: {
        z_stream *zs = &self->zs;
        size_t in_len = io->in_len > UINT_MAX ? UINT_MAX : io->in_len;
        size_t out_len = io->out_len > UINT_MAX ? UINT_MAX : io->out_len;
        zs->next_in = (Bytef *)io->in;
        zs->avail_in = (uInt)in_len;
        zs->next_out = io->out;
        zs->avail_out = (uInt)out_len;
        int whole = in_len == io->in_len;
        int flush = !whole ? Z_NO_FLUSH
                    : mode == CM_END ? Z_FINISH
                    : mode == CM_BLOCK ? Z_SYNC_FLUSH : Z_NO_FLUSH;
        int rc = deflate(zs, flush);
        io->in_len = in_len - zs->avail_in;
        io->out_len = out_len - zs->avail_out;
        if (rc == Z_STREAM_END) {
            return 1;
        }
        if (rc == Z_OK || rc == Z_BUF_ERROR) {
            /* A sync flush is complete when deflate left output room. */
            return flush == Z_SYNC_FLUSH && zs->avail_in == 0 &&
                   zs->avail_out > 0;
        }
        fc_codec_err_set(err, rc == Z_MEM_ERROR ? FC_CERR_NOMEM
                              : FC_CERR_COMPRESS, self->codec, rc,
                         zs->msg ? zs->msg : "deflate() failed", -1);
        return -1;
    }
    case FC_CODEC_ZSTD: {
        ZSTD_inBuffer in = {io->in, io->in_len, 0};
        ZSTD_outBuffer out = {io->out, io->out_len, 0};
        size_t rc = ZSTD_compressStream2(self->zc, &out, &in,
                                         end ? ZSTD_e_end
                                         : mode == CM_BLOCK ? ZSTD_e_flush
                                         : ZSTD_e_continue);
        io->in_len = in.pos;
        io->out_len = out.pos;
        if (ZSTD_isError(rc)) {
            fc_codec_err_set(err, ZSTD_getErrorCode(rc) ==
                             ZSTD_error_memory_allocation ? FC_CERR_NOMEM
                             : FC_CERR_COMPRESS, FC_CODEC_ZSTD, 0,
                             ZSTD_getErrorName(rc), -1);
            return -1;
        }
        return mode != CM_CONTINUE && rc == 0 ? 1 : 0;
    }
    case FC_CODEC_LZ4: {
        /* The caller made room for LZ4F_compressBound() of the input (or
         * of 0 when ending) plus a header. */
        size_t done = 0, rc;
        if (!self->lbegun) {
            rc = LZ4F_compressBegin(self->lc, io->out, io->out_len,
                                    &self->lprefs);
            if (LZ4F_isError(rc)) {
                goto lz4_error;
            }
            self->lbegun = 1;
            done = rc;
        }
        if (io->in_len > 0) {
            rc = LZ4F_compressUpdate(self->lc, io->out + done,
                                     io->out_len - done, io->in, io->in_len,
                                     NULL);
            if (LZ4F_isError(rc)) {
                goto lz4_error;
            }
            done += rc;
        }
        if (mode != CM_CONTINUE) {
            rc = end ? LZ4F_compressEnd(self->lc, io->out + done,
                                        io->out_len - done, NULL)
                     : LZ4F_flush(self->lc, io->out + done,
                                  io->out_len - done, NULL);
            if (LZ4F_isError(rc)) {
                goto lz4_error;
            }
            done += rc;
        }
        io->out_len = done;   /* in_len: all consumed */
        return mode != CM_CONTINUE;
    lz4_error:
        /* LZ4F_getErrorCode() is not a stable export: match the name. */
        fc_codec_err_set(err, strstr(LZ4F_getErrorName(rc), "allocation")
                         ? FC_CERR_NOMEM : FC_CERR_COMPRESS, FC_CODEC_LZ4, 0,
                         LZ4F_getErrorName(rc), -1);
        io->in_len = 0;
        io->out_len = done;
        return -1;
    }
    default:
        break;
    }
    fc_codec_err_set(err, FC_CERR_COMPRESS, self->codec, 0, "unknown codec",
                     -1);
    return -1;
}

/* Set up the library context.  Returns -1 with an exception set. */
static int
comp_init(FcCompressorObject *self)
{
#ifdef FC_HAVE_ISAL
    if (self->codec <= FC_CODEC_GZIP && self->level == 1) {
        self->iz = PyMem_RawMalloc(sizeof(*self->iz));
        self->iz_buf = PyMem_RawMalloc(ISAL_DEF_LVL1_DEFAULT);
        if (self->iz == NULL || self->iz_buf == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        isal_deflate_init(self->iz);
        self->iz->level = 1;
        self->iz->level_buf = self->iz_buf;
        self->iz->level_buf_size = ISAL_DEF_LVL1_DEFAULT;
        self->iz->gzip_flag = self->codec == FC_CODEC_GZIP ? IGZIP_GZIP
                              : self->codec == FC_CODEC_ZLIB ? IGZIP_ZLIB
                              : IGZIP_DEFLATE;
        return 0;
    }
#endif
    switch (self->codec) {
    case FC_CODEC_ZLIB:
    case FC_CODEC_DEFLATE:
    case FC_CODEC_GZIP: {
        self->zs.zalloc = zalloc_raw;
        self->zs.zfree = zfree_raw;
        self->zs.opaque = NULL;
        int rc = deflateInit2(&self->zs, self->level, Z_DEFLATED,
                              fc_zlib_wbits(self->codec), 8,
                              Z_DEFAULT_STRATEGY);
        if (rc != Z_OK) {
            if (rc == Z_MEM_ERROR) {
                PyErr_NoMemory();
            }
            else {
                PyErr_Format(PyExc_ValueError,
                             "%s: cannot initialise the compressor (%d)",
                             fc_codec_name(self->codec), rc);
            }
            return -1;
        }
        self->zinit = 1;
        return 0;
    }
    case FC_CODEC_ZSTD: {
        size_t rc;
        self->zc = ZSTD_createCCtx_advanced(zstd_raw_mem);
        if (self->zc == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        rc = ZSTD_CCtx_setParameter(self->zc, ZSTD_c_compressionLevel,
                                    self->level);
        if (!ZSTD_isError(rc)) {
            /* The zstd command writes a checksum too. */
            rc = ZSTD_CCtx_setParameter(self->zc, ZSTD_c_checksumFlag, 1);
        }
        if (ZSTD_isError(rc)) {
            PyErr_Format(PyExc_ValueError, "zstd: %s",
                         ZSTD_getErrorName(rc));
            return -1;
        }
        if (self->threads > 1) {
            rc = ZSTD_CCtx_setParameter(self->zc, ZSTD_c_nbWorkers,
                                        self->threads);
            if (ZSTD_isError(rc)) {
                PyErr_Format(PyExc_ValueError,
                             "zstd: threads=%d is not available: this "
                             "libzstd was built without multithreading (%s)",
                             self->threads, ZSTD_getErrorName(rc));
                return -1;
            }
        }
        return 0;
    }
    case FC_CODEC_LZ4: {
        size_t rc = LZ4F_createCompressionContext(&self->lc, LZ4F_VERSION);
        if (LZ4F_isError(rc)) {
            self->lc = NULL;
            PyErr_NoMemory();
            return -1;
        }
        memset(&self->lprefs, 0, sizeof(self->lprefs));
        self->lprefs.frameInfo.blockSizeID = self->level >= 3
                                             ? LZ4_BLOCK_ID_HC : LZ4_BLOCK_ID;
        self->lprefs.frameInfo.blockMode = LZ4F_blockIndependent;
        self->lprefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
        self->lprefs.compressionLevel = self->level;
        return 0;
    }
    default:
        break;
    }
    PyErr_SetString(PyExc_ValueError, "unknown codec");
    return -1;
}

static void
comp_free_ctx(FcCompressorObject *self)
{
#ifdef FC_HAVE_ISAL
    PyMem_RawFree(self->iz);
    PyMem_RawFree(self->iz_buf);
    self->iz = NULL;
    self->iz_buf = NULL;
#endif
    if (self->zinit) {
        deflateEnd(&self->zs);
        self->zinit = 0;
    }
    if (self->zc) {
        ZSTD_freeCCtx(self->zc);
        self->zc = NULL;
    }
    if (self->lc) {
        LZ4F_freeCompressionContext(self->lc);
        self->lc = NULL;
    }
}

static PyObject *
FcCompressor_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"codec", "level", "threads", NULL};
    PyObject *codec_obj = NULL, *level_obj = Py_None, *threads_obj = Py_None;
    FcCompressorObject *self = NULL;
    int codec = FC_CODEC_ZSTD;
    int level, threads;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|OOO:Compressor", kwlist,
                                     &codec_obj, &level_obj, &threads_obj)) {
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
    if (threads > 1 && codec != FC_CODEC_ZSTD) {
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
    if (comp_init(self) < 0) {
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
    comp_free_ctx(self);
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

/* Feed `len` bytes, then act on `mode` (CM_*); the lock is held.
 * release_flag: from fc_parse_release.  Returns the output, or NULL with an
 * exception set (the stream is then marked broken: its output so far is
 * lost). */
static PyObject *
comp_run(FcCompressorObject *self, fc_state *st, const unsigned char *data,
         Py_ssize_t len, int mode, int release_flag)
{
    PyObject *result = NULL;
    outbuf ob = {NULL, 0, PY_SSIZE_T_MAX};
    fc_codec_err err = {0};
    Py_ssize_t pos = 0;
    /* flush() may compress everything the codec buffered: count it as
     * large. */
    int release = fc_should_release(st, release_flag,
                                    mode != CM_CONTINUE ? PY_SSIZE_T_MAX
                                                        : len);
    int done = 0;
    int slow = (self->codec == FC_CODEC_ZSTD && self->level >= 10) ||
               (self->codec == FC_CODEC_LZ4 && self->level >= 3) ||
               (self->codec <= FC_CODEC_GZIP && self->level >= 7);
    Py_ssize_t step_in = slow ? STEP_IN_SLOW : STEP_IN;
    if (self->codec == FC_CODEC_LZ4) {
        /* Whole blocks: LZ4F compresses them straight from the input
         * instead of copying them into its block buffer first. */
        step_in = self->level >= 3 ? (Py_ssize_t)1 << 20
                                   : (Py_ssize_t)4 << 20;
    }

    while (!done) {
        Py_ssize_t in_len = len - pos < step_in ? len - pos : step_in;
        Py_ssize_t need = 1;
        if (self->codec == FC_CODEC_LZ4) {
            need = (Py_ssize_t)LZ4F_compressBound((size_t)in_len,
                                                  &self->lprefs);
            need += (Py_ssize_t)LZ4F_compressBound(0, &self->lprefs);
            need += LZ4F_HEADER_SIZE_MAX;
        }
        Py_ssize_t room = outbuf_room(&ob, need, len / 2);
        if (room < 0) {
            goto exit;
        }
        if (room > STEP_OUT && self->codec != FC_CODEC_LZ4) {
            room = STEP_OUT;
        }
        step_io io = {data + pos, (size_t)in_len,
                      (unsigned char *)outbuf_ptr(&ob), (size_t)room};
        int last = pos + in_len == len ? mode : CM_CONTINUE;
        int rc;
        /* Safe without the GIL: the input view is pinned by the caller,
         * the output bytes object is ours alone, and the object's lock
         * keeps other threads off the context. */
        FC_RUN_OUTSIDE_GIL(release, rc = comp_step(self, &io, last, &err));
        pos += (Py_ssize_t)io.in_len;
        ob.len += (Py_ssize_t)io.out_len;
        if (rc < 0) {
            fc_codec_raise(st, &err);
            goto exit;
        }
        if (mode != CM_CONTINUE) {
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
            result = comp_run(self, st, view.buf, view.len, CM_CONTINUE,
                              release);
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
"  mode: 'end' finishes the stream (with the codec's trailer); the\n"
"    compressor cannot be used afterwards.  'block' ends the current\n"
"    block(s) so that everything fed so far can be decoded (zlib's\n"
"    Z_SYNC_FLUSH, ZSTD_e_flush, LZ4F_flush); the stream goes on.\n"
"  release_gil: None releases the GIL.");

static PyObject *
FcCompressor_flush(FcCompressorObject *self, PyObject *const *args,
                   Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"mode", "release_gil", NULL};
    fc_state *st = fc_type_state((PyObject *)self);
    PyObject *a[2];
    PyObject *result = NULL;
    int release, mode = CM_END;

    if (fc_parse_args("flush", args, nargs, kwnames, names, 1, 0, a) < 0 ||
        fc_parse_release(a[1], &release) < 0) {
        return NULL;
    }
    if (a[0] != NULL) {
        if (!PyUnicode_Check(a[0])) {
            PyErr_Format(PyExc_TypeError,
                         "mode must be 'end' or 'block', not '%.100s'",
                         Py_TYPE(a[0])->tp_name);
            return NULL;
        }
        if (PyUnicode_CompareWithASCIIString(a[0], "block") == 0) {
            mode = CM_BLOCK;
        }
        else if (PyUnicode_CompareWithASCIIString(a[0], "end") != 0) {
            PyErr_Format(PyExc_ValueError,
                         "unknown flush mode %R; valid modes are 'end' and "
                         "'block'", a[0]);
            return NULL;
        }
    }
    if (FC_LOCK_ACQUIRE(self) < 0) {
        return NULL;
    }
    if (comp_check_usable(self) == 0) {
        result = comp_run(self, st, (const unsigned char *)"", 0, mode,
                          release);
        if (result != NULL && mode == CM_END) {
            self->finished = 1;
            /* The context is of no further use: give its memory back. */
            comp_free_ctx(self);
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
"Compressor(codec='zstd', level=None, threads=None)\n--\n\n"
"A streaming compressor: compress() pieces, then flush() once.\n"
"\n"
"  codec: 'zlib', 'deflate', 'gzip', 'zstd' or 'lz4' (frame format).\n"
"  level: the codec's level (None: its default).\n"
"  threads: zstd only: libzstd worker threads (None or 1: none).  Other\n"
"    codecs' streams are single-threaded and refuse threads > 1.\n"
"\n"
"Safe to share between threads (one call at a time per object).");

static PyType_Slot FcCompressor_slots[] = {
    {Py_tp_new, FcCompressor_new},
    {Py_tp_dealloc, FcCompressor_dealloc},
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
    int zinit;
    z_stream zs;
    ZSTD_DCtx *zd;
    LZ4F_dctx *ld;
#ifdef FC_HAVE_ISAL
    struct inflate_state *is;   /* the deflate family, when built in */
#endif
    int ctx_ready;          /* the library context is set up */
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

/* Decompress one step.  Returns 1 at the end of the member/frame, 0 when
 * more calls are needed, -1 on a library error recorded in err.  No Python
 * API: may run without the GIL. */
static int
dec_step(FcDecompressorObject *self, step_io *io, fc_codec_err *err)
{
#ifdef FC_HAVE_ISAL
    if (self->is) {
        struct inflate_state *is = self->is;
        size_t in_len = io->in_len > UINT32_MAX ? UINT32_MAX : io->in_len;
        size_t out_len = io->out_len > UINT32_MAX ? UINT32_MAX : io->out_len;
        is->next_in = (uint8_t *)io->in;
        is->avail_in = (uint32_t)in_len;
        is->next_out = io->out;
        is->avail_out = (uint32_t)out_len;
        int rc = isal_inflate(is);
        size_t used = in_len - is->avail_in;
        io->out_len = out_len - is->avail_out;
        if (rc < 0 || rc == ISAL_NEED_DICT) {
            io->in_len = used;
            fc_codec_err_set(err, FC_CERR_ISAL, self->codec, rc, NULL, -1);
            return -1;
        }
        if (is->block_state == ISAL_BLOCK_FINISH) {
            /* isa-l reads ahead into its bit buffer: the whole bytes it
             * holds belong to what follows the stream. */
            size_t back = (size_t)(is->read_in_length / 8);
            io->in_len = used - (back < used ? back : used);
            return 1;
        }
        io->in_len = used;
        return 0;
    }
#endif
    switch (self->codec) {
    case FC_CODEC_ZLIB:
    case FC_CODEC_DEFLATE:
    case FC_CODEC_GZIP: {
        z_stream *zs = &self->zs;
        size_t in_len = io->in_len > UINT_MAX ? UINT_MAX : io->in_len;
        size_t out_len = io->out_len > UINT_MAX ? UINT_MAX : io->out_len;
        zs->next_in = (Bytef *)io->in;
        zs->avail_in = (uInt)in_len;
        zs->next_out = io->out;
        zs->avail_out = (uInt)out_len;
        int rc = inflate(zs, Z_NO_FLUSH);
        io->in_len = in_len - zs->avail_in;
        io->out_len = out_len - zs->avail_out;
        if (rc == Z_STREAM_END) {
            return 1;
        }
        if (rc == Z_OK || rc == Z_BUF_ERROR) {
            return 0;
        }
        fc_codec_err_set(err, FC_CERR_ZLIB, self->codec, rc, zs->msg, -1);
        return -1;
    }
    case FC_CODEC_ZSTD: {
        ZSTD_inBuffer in = {io->in, io->in_len, 0};
        ZSTD_outBuffer out = {io->out, io->out_len, 0};
        size_t rc = ZSTD_decompressStream(self->zd, &out, &in);
        io->in_len = in.pos;
        io->out_len = out.pos;
        if (ZSTD_isError(rc)) {
            fc_codec_err_set(err, FC_CERR_ZSTD, FC_CODEC_ZSTD,
                             (long long)rc, NULL, -1);
            return -1;
        }
        return rc == 0 ? 1 : 0;
    }
    case FC_CODEC_LZ4: {
        size_t in_len = io->in_len, out_len = io->out_len;
        size_t rc = LZ4F_decompress(self->ld, io->out, &out_len, io->in,
                                    &in_len, NULL);
        io->in_len = in_len;
        io->out_len = out_len;
        if (LZ4F_isError(rc)) {
            fc_codec_err_set(err, FC_CERR_LZ4, FC_CODEC_LZ4, (long long)rc,
                             NULL, -1);
            return -1;
        }
        return rc == 0 ? 1 : 0;
    }
    default:
        break;
    }
    fc_codec_err_set(err, FC_CERR_COMPRESS, self->codec, 0, "unknown codec",
                     -1);
    return -1;
}

#ifdef FC_HAVE_ISAL
/* isa-l (2.30) loses a gzip header's flags between calls: a header that
 * arrives in pieces is misread when it has optional fields (the flags
 * that name them are kept in a header struct local to each call), and it
 * checks a header CRC (FHCRC) wrongly.  It also skips reserved FLG bits.
 * So isa-l gets a gzip member only with its whole header in the first
 * call and no FHCRC or reserved bits; zlib takes the others (and rejects
 * reserved bits, as RFC 1952 asks).  Headers longer than this go to zlib
 * rather than wait. */
#define GZ_HEAD_MAX ((Py_ssize_t)128 << 10)

/* Bytes of the gzip header as far as the first n bytes tell: its length
 * when that is <= n, else a length > n that must arrive first. */
static Py_ssize_t
gzip_header_len(const unsigned char *p, Py_ssize_t n)
{
    Py_ssize_t pos = 10;
    if (n < pos) {
        return pos;
    }
    int flg = p[3];
    if (flg & 0x04) {                           /* FEXTRA */
        if (n < pos + 2) {
            return pos + 2;
        }
        pos += 2 + (Py_ssize_t)(p[pos] | (p[pos + 1] << 8));
    }
    for (int bit = 0x08; bit <= 0x10; bit <<= 1) {  /* FNAME, FCOMMENT */
        if (flg & bit) {
            const unsigned char *z = NULL;
            if (pos < n) {
                z = memchr(p + pos, 0, (size_t)(n - pos));
            }
            if (z == NULL) {
                return (pos > n ? pos : n) + 1;
            }
            pos = (Py_ssize_t)(z - p) + 1;
        }
    }
    return pos;
}
#endif

/* Bytes of input needed before the context can be chosen, given the
 * first n (a result <= n means enough). */
static Py_ssize_t
dec_head_needed(int codec, const unsigned char *p, Py_ssize_t n)
{
#ifdef FC_HAVE_ISAL
    if (codec != FC_CODEC_GZIP) {
        return 0;
    }
    if (n < 4 || (p[3] & 0xe2)) {
        return 4;                               /* zlib: decide now */
    }
    Py_ssize_t need = gzip_header_len(p, n);
    return need < GZ_HEAD_MAX ? need : GZ_HEAD_MAX;
#else
    (void)codec;
    (void)p;
    (void)n;
    return 0;
#endif
}

/* Set up the library context; head: the first n bytes of the input (at
 * least dec_head_needed() of them). */
static int
dec_init_ctx(FcDecompressorObject *self, const unsigned char *head,
             Py_ssize_t n)
{
    self->ctx_ready = 1;
#ifdef FC_HAVE_ISAL
    if (self->codec <= FC_CODEC_GZIP &&
        (self->codec != FC_CODEC_GZIP ||
         (!(head[3] & 0xe2) && gzip_header_len(head, n) <= n))) {
        self->is = PyMem_RawMalloc(sizeof(*self->is));
        if (self->is == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        isal_inflate_init(self->is);
        self->is->crc_flag = self->codec == FC_CODEC_GZIP ? ISAL_GZIP
                             : self->codec == FC_CODEC_ZLIB ? ISAL_ZLIB
                             : ISAL_DEFLATE;
        return 0;
    }
#else
    (void)head;
    (void)n;
#endif
    switch (self->codec) {
    case FC_CODEC_ZLIB:
    case FC_CODEC_DEFLATE:
    case FC_CODEC_GZIP: {
        self->zs.zalloc = zalloc_raw;
        self->zs.zfree = zfree_raw;
        self->zs.opaque = NULL;
        self->zs.next_in = NULL;
        self->zs.avail_in = 0;
        int rc = inflateInit2(&self->zs, fc_zlib_wbits(self->codec));
        if (rc != Z_OK) {
            if (rc == Z_MEM_ERROR) {
                PyErr_NoMemory();
            }
            else {
                PyErr_Format(PyExc_ValueError,
                             "%s: cannot initialise the decompressor (%d)",
                             fc_codec_name(self->codec), rc);
            }
            return -1;
        }
        self->zinit = 1;
        return 0;
    }
    case FC_CODEC_ZSTD:
        self->zd = ZSTD_createDCtx_advanced(zstd_raw_mem);
        if (self->zd == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        return 0;
    case FC_CODEC_LZ4: {
        size_t rc = LZ4F_createDecompressionContext(&self->ld, LZ4F_VERSION);
        if (LZ4F_isError(rc)) {
            self->ld = NULL;
            PyErr_NoMemory();
            return -1;
        }
        return 0;
    }
    default:
        break;
    }
    PyErr_SetString(PyExc_ValueError, "unknown codec");
    return -1;
}

static void
dec_free_ctx(FcDecompressorObject *self)
{
#ifdef FC_HAVE_ISAL
    PyMem_RawFree(self->is);
    self->is = NULL;
#endif
    if (self->zinit) {
        inflateEnd(&self->zs);
        self->zinit = 0;
    }
    if (self->zd) {
        ZSTD_freeDCtx(self->zd);
        self->zd = NULL;
    }
    if (self->ld) {
        LZ4F_freeDecompressionContext(self->ld);
        self->ld = NULL;
    }
}

static PyObject *
FcDecompressor_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"codec", "max_output_size", NULL};
    PyObject *codec_obj = Py_None, *max_obj = Py_None;
    FcDecompressorObject *self = NULL;
    int codec = FC_CODEC_AUTO;
    Py_ssize_t max_output = -1;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O$O:Decompressor",
                                     kwlist, &codec_obj, &max_obj)) {
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
        (codec != FC_CODEC_AUTO && dec_head_needed(codec, NULL, 0) == 0 &&
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
    dec_free_ctx(self);
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
    if (self->inbuf_len < dec_head_needed(self->codec, self->inbuf,
                                          self->inbuf_len)) {
        return 0;
    }
    return dec_init_ctx(self, self->inbuf, self->inbuf_len) < 0 ? -1 : 1;
}

/* The body of decompress(); the lock is held. */
static PyObject *
dec_run(FcDecompressorObject *self, fc_state *st, Py_buffer *view,
        Py_ssize_t max_length, int release_flag)
{
    PyObject *result = NULL;
    outbuf ob = {NULL, 0, PY_SSIZE_T_MAX};
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
            result = PyBytes_FromStringAndSize(NULL, 0);
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
        step_io io = {in + pos, (size_t)(in_len - pos),
                      probing ? &probe : (unsigned char *)outbuf_ptr(&ob),
                      probing ? 1 : (size_t)room};
        int rc;
        /* Safe without the GIL: the input (caller's pinned view or our
         * inbuf) and the output bytes are ours until we return, and the
         * object's lock keeps other threads off the context.  (A one-byte
         * probe is not worth a release.) */
        FC_RUN_OUTSIDE_GIL(release && !probing,
                           rc = dec_step(self, &io, &err));
        if (rc < 0) {
            err.offset = self->total_in + pos;
            fc_codec_raise(st, &err);
            goto exit;
        }
        if (probing && io.out_len > 0) {
            fc_raise_output_size(st, self->codec, self->max_output);
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
        dec_free_ctx(self);
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
    if (FC_LOCK_ACQUIRE(self) < 0) {
        PyBuffer_Release(&view);
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
        result = dec_run(self, st, &view, max_length, release);
    }
    FC_LOCK_RELEASE(self);
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

static PyMethodDef FcDecompressor_methods[] = {
    {"decompress", FC_CFUNC(FcDecompressor_decompress),
     METH_FASTCALL | METH_KEYWORDS, FcDecompressor_decompress__doc__},
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
"Decompressor(codec=None, *, max_output_size=None)\n--\n\n"
"A streaming decompressor for one gzip member, zstd frame, lz4 frame,\n"
"zlib or raw deflate stream.\n"
"\n"
"  codec: 'zlib', 'deflate', 'gzip', 'zstd', 'lz4', or None to detect\n"
"    gzip/zstd/lz4/zlib from the first bytes.\n"
"  max_output_size: total output allowed (None: no bound); more raises\n"
"    OutputSizeError before memory grows past the bound.\n"
"\n"
"Safe to share between threads (one call at a time per object).");

static PyType_Slot FcDecompressor_slots[] = {
    {Py_tp_new, FcDecompressor_new},
    {Py_tp_dealloc, FcDecompressor_dealloc},
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

static int
dict_set_str(PyObject *dict, const char *key, const char *value)
{
    PyObject *v = PyUnicode_FromString(value);
    if (v == NULL) {
        return -1;
    }
    int rc = PyDict_SetItemString(dict, key, v);
    Py_DECREF(v);
    return rc;
}

static int
stream_info(fc_state *st, PyObject *dict)
{
    (void)st;
    PyObject *par = PyDict_GetItemString(dict, "parallel");
    PyObject *back = PyDict_GetItemString(dict, "backends");
    if (par == NULL || back == NULL) {
        return 0;
    }
    /* The only parallel stream: zstd with libzstd's workers. */
    ZSTD_bounds b = ZSTD_cParam_getBounds(ZSTD_c_nbWorkers);
    int mt = !ZSTD_isError(b.error) && b.upperBound > 0;
#ifdef FC_HAVE_ISAL
    const char *zdesc = "zlib (level 1: isa-l igzip); inflate: isa-l";
#else
    const char *zdesc = "zlib deflate/inflate";
#endif
    const struct { const char *key, *backend; int parallel; } rows[] = {
        {"zstd stream", mt ? "libzstd CCtx/DCtx streams (threads>1: libzstd "
                             "workers)"
                           : "libzstd CCtx/DCtx streams (no workers)", mt},
        {"gzip stream", zdesc, 0},
        {"zlib stream", zdesc, 0},
        {"deflate stream", zdesc, 0},
        {"lz4 stream", "liblz4 frame API (LZ4F)", 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (dict_set_str(back, rows[i].key, rows[i].backend) < 0 ||
            PyDict_SetItemString(par, rows[i].key,
                                 rows[i].parallel ? Py_True : Py_False) < 0) {
            return -1;
        }
    }
    return 0;
}

const fc_area fc_area_stream = {"stream", stream_init, stream_traverse,
                                stream_clear, stream_info};
