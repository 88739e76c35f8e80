/* codec/oneshot.c - the one-shot front end of the codecs: compress() and
 * decompress().
 *
 * Plans the work (block layout, threads, output buffers), runs it through
 * fc_run() or FC_RUN_OUTSIDE_GIL, and turns error records into
 * exceptions; every codec is reached through its table entry
 * (fc_codec_ops), never by name.  Output buffers are bytes objects
 * allocated and grown here with the GIL held; the codecs only write into
 * them.
 */
#include "codec/codec.h"
#include "codec/zstd_dict.h"

#include <string.h>

/* threads=None goes parallel from this input size on. */
#define PARALLEL_MIN ((Py_ssize_t)2 << 20)
/* A piece of a known layout decoded in one call must not be larger (so
 * that Ctrl-C is checked between pieces). */
#define PIECE_OUT_MAX ((Py_ssize_t)32 << 20)
/* First output capacity of a streaming decode. */
#define DEC_MIN_CAP ((Py_ssize_t)64 << 10)

/* --- compression --------------------------------------------------------- */

/* The whole one-shot compression; GIL held on entry and exit.  dict: a
 * digested dictionary (zstd_dict.h) or NULL. */
static PyObject *
compress_buffer(fc_state *st, int codec, int level, const unsigned char *src,
                Py_ssize_t len, int threads, int release, const void *dict)
{
    const fc_codec_ops *ops = fc_codec_ops_of(codec);
    PyObject *out = NULL;
    Py_ssize_t *lens = NULL;
    uint32_t *checks = NULL;
    fc_cjob job;
    pthread_mutex_t mu;
    int rc;

    fc_cjob_init(&job, st, codec, ops->name, level, src, len);
    job.dict = dict;
    if (threads == 0 && ops->auto_threads != NULL) {
        threads = ops->auto_threads(level, len);
    }
    threads = fc_resolve_threads(threads, len, PARALLEL_MIN);
    fc_codec_layout lay = ops->layout(level, len, threads);
    fc_cjob_cut(&job, lay.block, lay.tail_split);
    if (job.nblocks < threads) {
        threads = job.nblocks > 1 ? (int)job.nblocks : 1;
    }
    Py_ssize_t frame = ops->frame_head + ops->frame_tail;
    int64_t nb = job.nblocks;

    lens = PyMem_Calloc((size_t)nb, sizeof(Py_ssize_t));
    checks = PyMem_Calloc((size_t)nb, sizeof(uint32_t));
    if (lens == NULL || checks == NULL) {
        PyErr_NoMemory();
        goto exit;
    }
    job.slot = ops->block_bound(&job, job.block);
    if (job.slot > (PY_SSIZE_T_MAX - frame) / nb) {
        PyErr_NoMemory();
        goto exit;
    }
    out = PyBytes_FromStringAndSize(NULL, frame + job.slot * nb);
    if (out == NULL) {
        goto exit;
    }
    unsigned char *base = (unsigned char *)PyBytes_AS_STRING(out);
    job.dst = base + ops->frame_head;
    job.out_len = lens;
    job.check = checks;
    /* One thread runs the blocks in order: each writes right after the
     * previous one.  Several threads move each block into place as soon
     * as it can go (fc_cjob_done()).  Either way nothing is left to move
     * after the run. */
    job.packed = threads <= 1;
    if (!job.packed) {
        if (pthread_mutex_init(&mu, NULL) != 0) {
            PyErr_NoMemory();
            Py_CLEAR(out);
            goto exit;
        }
        job.mu = &mu;
        for (int64_t i = 0; i < job.nblocks; i++) {
            lens[i] = -1;
        }
    }
    int64_t nslices = 0;
    if (threads <= 1 && ops->slices != NULL) {
        nslices = ops->slices(&job);
    }
    if (nslices > 0) {
        /* Safe without the GIL, as below; the slices run in order on
         * this thread. */
        rc = fc_run(ops->slice_task, &job, nslices, 1, release);
        ops->slice_end(&job);
    }
    else {
        /* Safe without the GIL: the input view is pinned by the caller,
         * the bytes object is ours alone until we return it, and tasks
         * write only into their own slot and (one at a time, under
         * job.mu's protocol) into the packed prefix below it. */
        rc = fc_run(ops->block_task, &job, job.nblocks, threads, release);
    }
    if (rc < 0) {
        Py_CLEAR(out);
        goto exit;
    }
    if (job.failed) {
        fc_codec_raise(st, &job.err);
        Py_CLEAR(out);
        goto exit;
    }
    if (job.mu != NULL && job.placed != job.nblocks) {
        PyErr_SetString(PyExc_SystemError, "compress: blocks left unplaced");
        Py_CLEAR(out);
        goto exit;
    }
    Py_ssize_t total = nslices > 0 ? job.packed_pos
                       : fc_codec_finish_frame(&job, base, job.packed_pos);
    if (_PyBytes_Resize(&out, total) < 0) {
        out = NULL;
    }
exit:
    if (job.mu != NULL) {
        pthread_mutex_destroy(job.mu);
    }
    PyMem_Free(lens);
    PyMem_Free(checks);
    return out;
}

/* --- decompression ------------------------------------------------------- */

/* Streaming decode of the whole input into a growing bytes object.  The
 * buffer grows with the GIL held, between decoder steps that run without
 * it; signals are checked between steps; capacity never exceeds
 * limit + 1 (one byte over the bound tells "too large"). */
static PyObject *
decode_all(fc_state *st, int codec, const unsigned char *in, Py_ssize_t len,
           Py_ssize_t limit, Py_ssize_t hint, int release, const void *dict)
{
    PyObject *out = NULL;
    fc_dec dec;
    fc_codec_err err = {0};
    size_t in_pos = 0, out_pos = 0;
    int rc;

    if (fc_codec_dec_open(&dec, codec, st->codec, dict, &err) < 0) {
        fc_codec_raise(st, &err);
        goto exit;
    }
    Py_ssize_t cap = hint > DEC_MIN_CAP ? hint : DEC_MIN_CAP;
    if (limit >= 0 && cap > limit + 1) {
        cap = limit + 1;
    }
    out = PyBytes_FromStringAndSize(NULL, cap);
    if (out == NULL) {
        goto exit;
    }
    fc_advise_huge(PyBytes_AS_STRING(out), cap);
    for (;;) {
        unsigned char *o = (unsigned char *)PyBytes_AS_STRING(out);
        size_t before_in = in_pos, before_out = out_pos;
        /* Safe without the GIL: the input is pinned, `out` is ours alone
         * and is not resized until the GIL is back. */
        FC_RUN_OUTSIDE_GIL(release,
                           rc = dec.run(&dec, in, (size_t)len, &in_pos, o,
                                        (size_t)cap, &out_pos, &err));
        if (rc == FC_DEC_AGAIN && in_pos == before_in &&
            out_pos == before_out && out_pos < (size_t)cap) {
            /* No progress and not finished: the input must have ended
             * inside a stream. */
            fc_codec_err_set(&err, FC_CERR_TRUNCATED, dec.name, 0, NULL,
                             (int64_t)in_pos);
            rc = FC_DEC_ERR;
        }
        if (rc == FC_DEC_ERR) {
            fc_codec_raise(st, &err);
            Py_CLEAR(out);
            goto exit;
        }
        if (limit >= 0 && (Py_ssize_t)out_pos > limit) {
            fc_raise_output_size(st, dec.name, limit);
            Py_CLEAR(out);
            goto exit;
        }
        if (rc == FC_DEC_DONE) {
            break;
        }
        if (PyErr_CheckSignals() < 0) {
            Py_CLEAR(out);
            goto exit;
        }
        if (out_pos == (size_t)cap) {
            Py_ssize_t ncap = cap < PY_SSIZE_T_MAX / 2 ? cap * 2
                              : PY_SSIZE_T_MAX;
            if (limit >= 0 && ncap > limit + 1) {
                ncap = limit + 1;
            }
            if (_PyBytes_Resize(&out, ncap) < 0) {
                out = NULL;
                goto exit;
            }
            fc_advise_huge(PyBytes_AS_STRING(out) + cap, ncap - cap);
            cap = ncap;
        }
    }
    if (_PyBytes_Resize(&out, (Py_ssize_t)out_pos) < 0) {
        out = NULL;
    }
exit:
    fc_dec_free(&dec);
    return out;
}

/* Decode a known layout (pieces of known sizes) in parallel.  Returns a
 * new bytes object, NULL with an exception, or NULL without one when the
 * layout turned out not to hold (the caller then decodes sequentially,
 * which also gives the precise error). */
static PyObject *
decode_pieces(fc_state *st, fc_djob *job, const unsigned char *in,
              Py_ssize_t len, Py_ssize_t limit, int threads, int release)
{
    const fc_codec_ops *ops = fc_codec_ops_of(job->codec);
    PyObject *out = NULL;
    Py_ssize_t total = fc_djob_place(job, PIECE_OUT_MAX);
    if (total < 0) {
        goto exit;                  /* too large for one call: stream */
    }
    if (limit >= 0 && total > limit) {
        fc_raise_output_size(st, job->name, limit);
        goto exit;
    }
    out = PyBytes_FromStringAndSize(NULL, total);
    if (out == NULL) {
        goto exit;
    }
    job->in = in;
    job->out = (unsigned char *)PyBytes_AS_STRING(out);
    fc_advise_huge(job->out, total);
    if (threads > job->n) {
        threads = (int)job->n;
    }
    /* Safe without the GIL: input pinned, each task writes its own range
     * of the bytes object nobody else sees yet. */
    if (fc_run(ops->piece_task, job, job->n, threads, release) < 0) {
        Py_CLEAR(out);
        goto exit;
    }
    if (!job->failed && ops->scan_finish != NULL) {
        ops->scan_finish(job, in, len, job->out, total);
    }
    if (job->failed) {
        Py_CLEAR(out);              /* no exception: decode sequentially */
    }
exit:
    return out;
}

static PyObject *
decompress_buffer(fc_state *st, int codec, const unsigned char *in,
                  Py_ssize_t len, int threads, Py_ssize_t limit, int release,
                  const void *dict)
{
    const fc_codec_ops *ops = fc_codec_ops_of(codec);
    PyObject *out = NULL;
    fc_djob job;

    int64_t n = fc_codec_scan(&job, codec, st->codec, dict, in, len);
    if (n < 0) {
        PyErr_NoMemory();
        goto exit;
    }
    if (n > 0) {
        threads = fc_resolve_threads(threads, len, PARALLEL_MIN);
        out = decode_pieces(st, &job, in, len, limit, threads, release);
        if (out != NULL || PyErr_Occurred()) {
            goto exit;
        }
    }
    Py_ssize_t hint = len < PY_SSIZE_T_MAX / 4 ? len * 4 : len;
    if (ops->size_hint != NULL) {
        hint = ops->size_hint(in, len, hint);
    }
    out = decode_all(st, codec, in, len, limit, hint, release, dict);
exit:
    fc_djob_free(&job);
    return out;
}

/* --- module functions ---------------------------------------------------- */

PyDoc_STRVAR(fc_compress__doc__,
"compress($module, data, codec='zstd', level=None, *, threads=None,\n"
"         release_gil=None, zstd_dict=None)\n--\n\n"
"Compress data into one stream of the codec.\n"
"\n"
"  data: a bytes-like object.\n"
"  codec: 'zlib', 'deflate' (raw), 'gzip', 'zstd' or 'lz4' (frame).\n"
"  level: the codec's usual levels (zlib/deflate/gzip 0..9, zstd\n"
"    negative..22, lz4 0..12); None for the default.\n"
"  threads: compress blocks of one stream on this many threads (None: the\n"
"    pool size from 2 MiB on).  gzip becomes a series of members, zstd a\n"
"    series of frames, lz4 one frame of independent blocks, zlib a\n"
"    pigz-style stream; every standard reader decodes them.\n"
"  release_gil: None releases the GIL from GIL_THRESHOLD bytes on.\n"
"  zstd_dict: zstd only: a ZstdDict (or a zstd dictionary's bytes) every\n"
"    frame is compressed with; decompress with the same one.");

static PyObject *
fc_compress(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
            PyObject *kwnames)
{
    static const char *const names[] = {"data", "codec", "level", "threads",
                                        "release_gil", "zstd_dict", NULL};
    fc_state *st = fc_get_state(module);
    PyObject *a[6];
    PyObject *out = NULL, *zd = NULL;
    Py_buffer view = {0};
    const void *dict = NULL;
    int codec, level, threads, release;

    if (fc_parse_args("compress", args, nargs, kwnames, names, 3, 1, a) < 0 ||
        fc_codec_parse(a[1], 0, FC_CODEC_ZSTD, &codec) < 0 ||
        fc_codec_parse_level(codec, a[2], &level) < 0 ||
        fc_parse_threads(a[3], &threads) < 0 ||
        fc_parse_release(a[4], &release) < 0 ||
        fc_zstd_dict_arg(st, a[5], codec, &zd) < 0 ||
        (zd != NULL && (dict = fc_zstd_dict_cdict(zd, level)) == NULL) ||
        fc_get_buffer(a[0], &view, "data") < 0) {
        goto exit;
    }
    release = fc_should_release(st, release, view.len);
    /* zd keeps the digested dictionary alive until the end. */
    out = compress_buffer(st, codec, level, view.buf, view.len, threads,
                          release, dict);
exit:
    PyBuffer_Release(&view);
    Py_XDECREF(zd);
    return out;
}

PyDoc_STRVAR(fc_decompress__doc__,
"decompress($module, data, codec=None, *, threads=None,\n"
"           max_output_size=None, release_gil=None, zstd_dict=None)\n"
"--\n\n"
"Decompress a whole stream (concatenated gzip members, zstd and lz4\n"
"frames included).\n"
"\n"
"  data: a bytes-like object.\n"
"  codec: None detects gzip, zstd, lz4 or zlib by magic bytes; 'deflate'\n"
"    (raw) must be named.\n"
"  threads: decode independent members/frames/blocks of fastconc's\n"
"    parallel layout on this many threads; other input uses one.\n"
"  max_output_size: raise OutputSizeError rather than produce (or\n"
"    allocate) more than this many bytes.\n"
"  release_gil: None releases the GIL from GIL_THRESHOLD bytes on.\n"
"  zstd_dict: the ZstdDict (or a zstd dictionary's bytes) zstd frames\n"
"    were made with (used when the codec is or is detected as zstd).\n"
"\n"
"Corrupt, truncated or wrong-codec input raises DecompressionError (see\n"
"its subclasses: TruncatedError, CorruptDeflateError, BadGzipFile...).");

static PyObject *
fc_decompress(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
              PyObject *kwnames)
{
    static const char *const names[] = {"data", "codec", "threads",
                                        "max_output_size", "release_gil",
                                        "zstd_dict", NULL};
    fc_state *st = fc_get_state(module);
    PyObject *a[6];
    PyObject *out = NULL, *zd = NULL;
    Py_buffer view = {0};
    int codec, threads, release;
    Py_ssize_t limit;

    if (fc_parse_args("decompress", args, nargs, kwnames, names, 2, 1,
                      a) < 0 ||
        fc_codec_parse(a[1], 1, FC_CODEC_AUTO, &codec) < 0 ||
        fc_parse_threads(a[2], &threads) < 0 ||
        fc_parse_max_output(a[3], &limit) < 0 ||
        fc_parse_release(a[4], &release) < 0 ||
        fc_zstd_dict_arg(st, a[5], codec, &zd) < 0 ||
        fc_get_buffer(a[0], &view, "data") < 0) {
        goto exit;
    }
    if (codec == FC_CODEC_AUTO) {
        codec = fc_codec_detect_or_raise(st, view.buf, view.len);
        if (codec < 0) {
            goto exit;
        }
    }
    release = fc_should_release(st, release, view.len);
    /* zd keeps the digested dictionary alive until the end. */
    out = decompress_buffer(st, codec, view.buf, view.len, threads, limit,
                            release, zd ? fc_zstd_dict_ddict(zd) : NULL);
exit:
    PyBuffer_Release(&view);
    Py_XDECREF(zd);
    return out;
}

/* --- the area ------------------------------------------------------------ */

static PyMethodDef oneshot_methods[] = {
    {"compress", FC_CFUNC(fc_compress), METH_FASTCALL | METH_KEYWORDS,
     fc_compress__doc__},
    {"decompress", FC_CFUNC(fc_decompress), METH_FASTCALL | METH_KEYWORDS,
     fc_decompress__doc__},
    {NULL, NULL, 0, NULL},
};

static int
oneshot_init(PyObject *m, fc_state *st)
{
    (void)st;
    return PyModule_AddFunctions(m, oneshot_methods);
}

const fc_area fc_area_oneshot = {
    "oneshot", oneshot_init, NULL, NULL, NULL,
};
