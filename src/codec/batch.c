/* codec/batch.c - the batch front end of the codecs: compress_many() and
 * decompress_many(), every item its own stream, the items spread over the
 * pool with the GIL released once.
 *
 * Items are compressed in one block each (fc_codec_compress_single());
 * items of a known layout decode straight into an exact bytes object made
 * before the run, the others into PyMem_Raw buffers copied out after it.
 * Tasks touch no Python object but the bytes they own; errors are
 * recorded per item and the first one raised, naming the item.  Codecs
 * are reached only through the table.
 */
#include "codec/codec.h"
#include "codec/zstd_dict.h"

#include <string.h>

/* First output capacity of a streaming decode. */
#define DEC_MIN_CAP ((Py_ssize_t)64 << 10)

typedef struct {
    fc_state *st;
    int codec, level;
    fc_buffers bufs;
    PyObject **outs;            /* bytes per item: compress, sized to the
                                   bound; decompress, exact (known
                                   layouts only, else NULL) */
    Py_ssize_t *sizes;          /* final size per item */
    fc_codec_err *errs;         /* per item */
    Py_ssize_t limit;           /* decompress: max_output_size */
    int *codecs;                /* decompress: codec per item */
    unsigned char **raw;        /* decompress: PyMem_Raw output per item */
    PyObject *zdict;            /* the ZstdDict of zstd_dict=, or NULL */
    const void *dict;           /* its digested form for this call */
} batch_job;

static void
compress_many_task(void *arg, int64_t i)
{
    batch_job *b = arg;
    fc_cjob job;
    fc_cjob_init(&job, b->st, b->codec, fc_codec_name(b->codec), b->level,
                 b->bufs.views[i].buf, b->bufs.views[i].len);
    job.dict = b->dict;
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(b->outs[i]);
    b->sizes[i] = fc_codec_compress_single(&job, dst,
                                           PyBytes_GET_SIZE(b->outs[i]));
    if (b->sizes[i] < 0) {
        b->errs[i] = job.err;
    }
}

/* The output size of an item in a layout of known sizes (a zstd frame or
 * lz4 frame with its content size, gzip members of ours or one small
 * member), with its pieces placed in *job; -1 if it has no such layout,
 * -2 out of memory.  Headers only: microseconds even for large items. */
static Py_ssize_t
known_layout(fc_djob *job, fc_codec_cache *cache, int codec,
             const void *dict, const unsigned char *in, Py_ssize_t len)
{
    int64_t n = fc_codec_scan(job, codec, cache, dict, in, len);
    if (n <= 0) {
        return n < 0 ? -2 : -1;
    }
    return fc_djob_place(job, PY_SSIZE_T_MAX);
}

/* Before the run, with the GIL: each item of a known layout within the
 * limit gets its exact bytes object, which its task decodes into (no
 * copy into a bytes object afterwards, on the caller's thread, and the
 * pages are touched once); b->sizes[i] records the size. */
static int
batch_presize(batch_job *b)
{
    for (Py_ssize_t i = 0; i < b->bufs.count; i++) {
        fc_djob job;
        Py_ssize_t total = known_layout(&job, b->st->codec, b->codecs[i],
                                        b->dict, b->bufs.views[i].buf,
                                        b->bufs.views[i].len);
        fc_djob_free(&job);
        if (total < 0 || (b->limit >= 0 && total > b->limit)) {
            continue;           /* the task streams, or raises the limit */
        }
        b->outs[i] = PyBytes_FromStringAndSize(NULL, total);
        if (b->outs[i] == NULL) {
            return -1;
        }
        fc_advise_huge(PyBytes_AS_STRING(b->outs[i]), total);
        b->sizes[i] = total;
    }
    return 0;
}

/* An item of a known layout decodes straight into the bytes object
 * batch_presize() made for it.  Returns 1 done, -1 failed (error
 * recorded), 0 not such a layout or it did not hold (stream instead). */
static int
decode_known_raw(batch_job *b, int64_t i)
{
    const unsigned char *in = b->bufs.views[i].buf;
    Py_ssize_t len = b->bufs.views[i].len;
    fc_codec_err *err = &b->errs[i];
    int codec = b->codecs[i];
    const fc_codec_ops *ops = fc_codec_ops_of(codec);
    int rc = 0;
    fc_djob job;

    Py_ssize_t total = known_layout(&job, b->st->codec, codec, b->dict, in,
                                    len);
    if (total == -2) {
        fc_codec_err_set(err, FC_CERR_NOMEM, ops->name, 0, NULL, -1);
        rc = -1;
        goto exit;
    }
    if (total >= 0 && b->limit >= 0 && total > b->limit) {
        fc_codec_err_set(err, FC_CERR_OUTPUT_SIZE, ops->name, 0, NULL, -1);
        err->limit = b->limit;
        rc = -1;
        goto exit;
    }
    /* A bytearray item may have changed since batch_presize() read it:
     * only the very size it allocated is decoded into it. */
    if (total < 0 || b->outs[i] == NULL || total != b->sizes[i]) {
        goto exit;
    }
    job.in = in;
    job.out = (unsigned char *)PyBytes_AS_STRING(b->outs[i]);
    for (int64_t k = 0; k < job.n && !job.failed; k++) {
        ops->piece_task(&job, k);
    }
    if (!job.failed && ops->scan_finish != NULL) {
        ops->scan_finish(&job, in, len, job.out, total);
    }
    rc = job.failed ? 0 : 1;
exit:
    fc_djob_free(&job);
    return rc;
}

/* Decode one whole item into a PyMem_Raw buffer grown as needed (runs on
 * a pool thread: no Python API). */
static void
decompress_many_task(void *arg, int64_t i)
{
    batch_job *b = arg;
    const unsigned char *in = b->bufs.views[i].buf;
    size_t len = (size_t)b->bufs.views[i].len;
    int codec = b->codecs[i];
    fc_codec_err *err = &b->errs[i];
    fc_dec dec = {0};
    size_t in_pos = 0, out_pos = 0;
    size_t cap = len * 4 > (size_t)DEC_MIN_CAP ? len * 4 : (size_t)DEC_MIN_CAP;
    unsigned char *out = NULL;

    if (b->limit >= 0 && cap > (size_t)b->limit + 1) {
        cap = (size_t)b->limit + 1;
    }
    if (decode_known_raw(b, i) != 0) {
        goto exit;      /* decoded, or failed with the error recorded */
    }
    if (fc_codec_dec_open(&dec, codec, b->st->codec, b->dict, err) < 0) {
        goto exit;
    }
    out = PyMem_RawMalloc(cap);
    if (out == NULL) {
        fc_codec_err_set(err, FC_CERR_NOMEM, dec.name, 0, NULL, -1);
        goto exit;
    }
    for (;;) {
        size_t before_in = in_pos, before_out = out_pos;
        int rc = dec.run(&dec, in, len, &in_pos, out, cap, &out_pos, err);
        if (rc == FC_DEC_AGAIN && in_pos == before_in &&
            out_pos == before_out && out_pos < cap) {
            /* No progress and not finished: the input must have ended
             * inside a stream. */
            fc_codec_err_set(err, FC_CERR_TRUNCATED, dec.name, 0, NULL,
                             (int64_t)in_pos);
            rc = FC_DEC_ERR;
        }
        if (rc == FC_DEC_ERR) {
            goto exit;
        }
        if (b->limit >= 0 && out_pos > (size_t)b->limit) {
            fc_codec_err_set(err, FC_CERR_OUTPUT_SIZE, dec.name, 0, NULL,
                             -1);
            err->limit = b->limit;
            goto exit;
        }
        if (rc == FC_DEC_DONE) {
            break;
        }
        if (out_pos == cap) {
            size_t ncap = cap * 2;
            if (b->limit >= 0 && ncap > (size_t)b->limit + 1) {
                ncap = (size_t)b->limit + 1;
            }
            unsigned char *p = PyMem_RawRealloc(out, ncap);
            if (p == NULL) {
                fc_codec_err_set(err, FC_CERR_NOMEM, dec.name, 0, NULL, -1);
                goto exit;
            }
            out = p;
            cap = ncap;
        }
    }
    b->raw[i] = out;
    b->sizes[i] = (Py_ssize_t)out_pos;
    out = NULL;
exit:
    PyMem_RawFree(out);
    fc_dec_free(&dec);
}

static void
batch_free(batch_job *b)
{
    if (b->outs) {
        for (Py_ssize_t i = 0; i < b->bufs.count; i++) {
            Py_XDECREF(b->outs[i]);
        }
    }
    if (b->raw) {
        for (Py_ssize_t i = 0; i < b->bufs.count; i++) {
            PyMem_RawFree(b->raw[i]);
        }
    }
    PyMem_Free(b->outs);
    PyMem_Free(b->raw);
    PyMem_Free(b->sizes);
    PyMem_Free(b->errs);
    PyMem_Free(b->codecs);
    fc_buffers_release(&b->bufs);
    Py_CLEAR(b->zdict);
}

/* Raise the first failed item's error, naming the item. */
static int
batch_raise(fc_state *st, batch_job *b)
{
    for (Py_ssize_t i = 0; i < b->bufs.count; i++) {
        if (b->errs[i].kind != FC_CERR_NONE) {
            fc_codec_raise(st, &b->errs[i]);
            if (PyErr_ExceptionMatches(st->DecompressionError)) {
                PyObject *type, *value, *tb;
                PyErr_Fetch(&type, &value, &tb);
                PyErr_NormalizeException(&type, &value, &tb);
                PyErr_Format(type, "item %zd: %S", i, value);
                Py_XDECREF(type);
                Py_XDECREF(value);
                Py_XDECREF(tb);
            }
            return -1;
        }
    }
    return 0;
}

static int
batch_alloc(batch_job *b, int decompress)
{
    Py_ssize_t n = b->bufs.count > 0 ? b->bufs.count : 1;
    b->outs = PyMem_Calloc((size_t)n, sizeof(PyObject *));
    b->sizes = PyMem_Calloc((size_t)n, sizeof(Py_ssize_t));
    b->errs = PyMem_Calloc((size_t)n, sizeof(fc_codec_err));
    if (decompress) {
        b->raw = PyMem_Calloc((size_t)n, sizeof(unsigned char *));
        b->codecs = PyMem_Calloc((size_t)n, sizeof(int));
    }
    if (b->outs == NULL || b->sizes == NULL || b->errs == NULL ||
        (decompress && (b->raw == NULL || b->codecs == NULL))) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(fc_compress_many__doc__,
"compress_many($module, items, codec='zstd', level=None, *, threads=None,\n"
"              release_gil=None, zstd_dict=None)\n--\n\n"
"Compress each item into its own stream; returns a list of bytes.\n"
"\n"
"The whole loop runs in C on the pool with the GIL released once.\n"
"\n"
"  items: an iterable of bytes-like objects.\n"
"  codec, level: as for compress().\n"
"  threads: items are spread over this many threads (None: the pool\n"
"    size).\n"
"  zstd_dict: zstd only: a ZstdDict (or a zstd dictionary's bytes), the\n"
"    gain on many small similar items.");

static PyObject *
fc_compress_many(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                 PyObject *kwnames)
{
    static const char *const names[] = {"items", "codec", "level", "threads",
                                        "release_gil", "zstd_dict", NULL};
    fc_state *st = fc_get_state(module);
    PyObject *a[6];
    PyObject *result = NULL;
    batch_job b;
    int threads, release;
    memset(&b, 0, sizeof(b));
    b.st = st;

    if (fc_parse_args("compress_many", args, nargs, kwnames, names, 3, 1,
                      a) < 0 ||
        fc_codec_parse(a[1], 0, FC_CODEC_ZSTD, &b.codec) < 0 ||
        fc_codec_parse_level(b.codec, a[2], &b.level) < 0 ||
        fc_parse_threads(a[3], &threads) < 0 ||
        fc_parse_release(a[4], &release) < 0 ||
        fc_zstd_dict_arg(st, a[5], b.codec, &b.zdict) < 0 ||
        (b.zdict != NULL &&
         (b.dict = fc_zstd_dict_cdict(b.zdict, b.level)) == NULL) ||
        fc_get_buffers(a[0], &b.bufs, "items") < 0) {
        goto exit;
    }
    if (batch_alloc(&b, 0) < 0) {
        goto exit;
    }
    for (Py_ssize_t i = 0; i < b.bufs.count; i++) {
        fc_cjob job;
        fc_cjob_init(&job, st, b.codec, fc_codec_name(b.codec), b.level,
                     NULL, b.bufs.views[i].len);
        b.outs[i] = PyBytes_FromStringAndSize(NULL,
                                              fc_codec_single_bound(&job));
        if (b.outs[i] == NULL) {
            goto exit;
        }
    }
    threads = fc_resolve_threads(threads, b.bufs.total, 0);
    release = fc_should_release(st, release, b.bufs.total);
    /* Safe without the GIL: every view is pinned and each task writes only
     * its own item's bytes object, which nobody else sees yet. */
    if (fc_run(compress_many_task, &b, b.bufs.count, threads, release) < 0 ||
        batch_raise(st, &b) < 0) {
        goto exit;
    }
    result = PyList_New(b.bufs.count);
    if (result == NULL) {
        goto exit;
    }
    for (Py_ssize_t i = 0; i < b.bufs.count; i++) {
        if (_PyBytes_Resize(&b.outs[i], b.sizes[i]) < 0) {
            Py_CLEAR(result);
            goto exit;
        }
        PyList_SET_ITEM(result, i, b.outs[i]);
        b.outs[i] = NULL;
    }
exit:
    batch_free(&b);
    return result;
}

PyDoc_STRVAR(fc_decompress_many__doc__,
"decompress_many($module, items, codec=None, *, threads=None,\n"
"                max_output_size=None, release_gil=None,\n"
"                zstd_dict=None)\n--\n\n"
"Decompress each item (a whole stream); returns a list of bytes.\n"
"\n"
"The whole loop runs in C on the pool with the GIL released once.\n"
"\n"
"  items: an iterable of bytes-like objects.\n"
"  codec: None detects each item's codec by magic bytes.\n"
"  threads: items are spread over this many threads (None: the pool\n"
"    size).\n"
"  max_output_size: bound on each item's output (OutputSizeError).\n"
"  zstd_dict: the ZstdDict (or a zstd dictionary's bytes) of the zstd\n"
"    items.");

static PyObject *
fc_decompress_many(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                   PyObject *kwnames)
{
    static const char *const names[] = {"items", "codec", "threads",
                                        "max_output_size", "release_gil",
                                        "zstd_dict", NULL};
    fc_state *st = fc_get_state(module);
    PyObject *a[6];
    PyObject *result = NULL;
    batch_job b;
    int codec, threads, release;
    memset(&b, 0, sizeof(b));
    b.st = st;

    if (fc_parse_args("decompress_many", args, nargs, kwnames, names, 2, 1,
                      a) < 0 ||
        fc_codec_parse(a[1], 1, FC_CODEC_AUTO, &codec) < 0 ||
        fc_parse_threads(a[2], &threads) < 0 ||
        fc_parse_max_output(a[3], &b.limit) < 0 ||
        fc_parse_release(a[4], &release) < 0 ||
        fc_zstd_dict_arg(st, a[5], codec, &b.zdict) < 0 ||
        fc_get_buffers(a[0], &b.bufs, "items") < 0) {
        goto exit;
    }
    if (b.zdict != NULL) {
        b.dict = fc_zstd_dict_ddict(b.zdict);
    }
    if (batch_alloc(&b, 1) < 0) {
        goto exit;
    }
    for (Py_ssize_t i = 0; i < b.bufs.count; i++) {
        b.codecs[i] = codec;
        if (codec == FC_CODEC_AUTO) {
            b.codecs[i] = fc_codec_detect_or_raise(st, b.bufs.views[i].buf,
                                                   b.bufs.views[i].len);
            if (b.codecs[i] < 0) {
                goto exit;
            }
        }
    }
    if (batch_presize(&b) < 0) {
        goto exit;
    }
    threads = fc_resolve_threads(threads, b.bufs.total, 0);
    release = fc_should_release(st, release, b.bufs.total);
    /* Safe without the GIL: views pinned; each task owns its raw buffer or
     * writes its own item's bytes object, which nobody else sees yet. */
    if (fc_run(decompress_many_task, &b, b.bufs.count, threads,
               release) < 0 ||
        batch_raise(st, &b) < 0) {
        goto exit;
    }
    result = PyList_New(b.bufs.count);
    if (result == NULL) {
        goto exit;
    }
    for (Py_ssize_t i = 0; i < b.bufs.count; i++) {
        PyObject *o = b.outs[i];
        if (b.raw[i] != NULL) {     /* streamed: copy into a bytes object */
            o = PyBytes_FromStringAndSize((const char *)b.raw[i],
                                          b.sizes[i]);
            if (o == NULL) {
                Py_CLEAR(result);
                goto exit;
            }
            Py_XDECREF(b.outs[i]);
            PyMem_RawFree(b.raw[i]);
            b.raw[i] = NULL;
        }
        b.outs[i] = NULL;
        PyList_SET_ITEM(result, i, o);
    }
exit:
    batch_free(&b);
    return result;
}

/* --- the area ------------------------------------------------------------ */

static PyMethodDef batch_methods[] = {
    {"compress_many", FC_CFUNC(fc_compress_many),
     METH_FASTCALL | METH_KEYWORDS, fc_compress_many__doc__},
    {"decompress_many", FC_CFUNC(fc_decompress_many),
     METH_FASTCALL | METH_KEYWORDS, fc_decompress_many__doc__},
    {NULL, NULL, 0, NULL},
};

static int
batch_init(PyObject *m, fc_state *st)
{
    (void)st;
    return PyModule_AddFunctions(m, batch_methods);
}

static int
batch_info(fc_state *st, PyObject *d)
{
    (void)st;
    PyObject *parallel = PyDict_GetItemString(d, "parallel");
    if (parallel == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "info(): no parallel dict");
        return -1;
    }
    if (PyDict_SetItemString(parallel, "compress_many", Py_True) < 0 ||
        PyDict_SetItemString(parallel, "decompress_many", Py_True) < 0) {
        return -1;
    }
    return 0;
}

const fc_area fc_area_batch = {
    "batch", batch_init, NULL, NULL, batch_info,
};
