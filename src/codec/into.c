/* codec/into.c - decompress_into() and compress_into(): the one-shot codecs
 * writing into a buffer the caller owns (bytearray, numpy array, mmap,
 * memoryview slice) and returning the bytes written.
 *
 * decompress_into decodes straight into the caller's buffer: fastconc's
 * parallel layout (pieces of known size) on the pool once the total is
 * known to fit, any other stream through the codec's whole-input decoder
 * with the buffer's length as its capacity.  A buffer too small raises
 * OutputSizeError; no decoder is ever given room past the buffer's end.
 * compress_into makes what compress() makes and copies it in when it fits
 * (the bound of a parallel compression is larger than its result, so the
 * blocks cannot be placed in the caller's buffer directly).
 *
 * Codecs are reached through their table entries only (codec.h); this file
 * must not know any codec by name, and must not allocate output it returns.
 */
#include "codec/codec.h"
#include "codec/zstd_dict.h"

#include <string.h>

/* threads=None goes parallel from this input size on (as decompress). */
#define PARALLEL_MIN ((Py_ssize_t)2 << 20)
/* A piece of a known layout decoded in one call must not be larger (so
 * that Ctrl-C and cancellation are seen between pieces). */
#define PIECE_OUT_MAX ((Py_ssize_t)32 << 20)

static void
raise_too_small(fc_state *st, const char *fname, const char *codec,
                Py_ssize_t need, Py_ssize_t room)
{
    if (need >= 0) {
        PyErr_Format(st->OutputSizeError,
                     "%s: %s output takes %zd bytes, out has %zd", fname,
                     codec, need, room);
    }
    else {
        PyErr_Format(st->OutputSizeError,
                     "%s: %s output takes more than the %zd bytes of out",
                     fname, codec, room);
    }
}

/* --- decompress_into ------------------------------------------------------ */

/* out is full and the decoder stopped without making progress: either
 * more output follows (out is too small) or only the stream's end is left
 * to read, which some decoders only do with room in the output.  Go on
 * in a scratch copy of the output with room to spare (decoders may read
 * their history back from the output), so that nothing is written past
 * out.  Returns FC_DEC_DONE (everything fit), FC_DEC_AGAIN (more output
 * follows) or FC_DEC_ERR with err (no memory included).  No GIL needed. */
static int
end_when_full(fc_dec *dec, const unsigned char *in, size_t len,
              size_t *in_pos, const unsigned char *out, size_t cap,
              fc_codec_err *err)
{
    const size_t extra = (size_t)64 << 10;
    if (cap > PY_SSIZE_T_MAX - extra) {
        return FC_DEC_AGAIN;
    }
    unsigned char *scratch = PyMem_RawMalloc(cap + extra);
    if (scratch == NULL) {
        fc_codec_err_set(err, FC_CERR_NOMEM, dec->name, 0, NULL, -1);
        return FC_DEC_ERR;
    }
    int rc;
    size_t pos = cap;
    memcpy(scratch, out, cap);
    for (;;) {
        size_t before_in = *in_pos;
        rc = dec->run(dec, in, len, in_pos, scratch, cap + extra, &pos, err);
        if (rc != FC_DEC_AGAIN || pos > cap) {
            break;
        }
        if (*in_pos == before_in) {
            /* Room, and still no progress: the input ends early. */
            fc_codec_err_set(err, FC_CERR_TRUNCATED, dec->name, 0, NULL,
                             (int64_t)*in_pos);
            rc = FC_DEC_ERR;
            break;
        }
    }
    PyMem_RawFree(scratch);
    if (pos > cap) {
        return FC_DEC_AGAIN;    /* output past out: too small, whatever
                                 * the rest of the input holds */
    }
    return rc;
}

/* Decode the whole input into out[0 .. cap); the size, or -1 with an
 * exception.  GIL held on entry and exit. */
static Py_ssize_t
decode_into(fc_state *st, int codec, const unsigned char *in, Py_ssize_t len,
            unsigned char *out, Py_ssize_t cap, int threads, int release,
            const void *dict)
{
    const fc_codec_ops *ops = fc_codec_ops_of(codec);
    Py_ssize_t result = -1;
    fc_djob job;
    fc_dec dec = {0};
    fc_codec_err err = {0};
    size_t in_pos = 0, out_pos = 0;
    int rc;

    int64_t n = fc_codec_scan(&job, codec, st->codec, dict, in, len);
    if (n < 0) {
        PyErr_NoMemory();
        goto exit;
    }
    if (n > 0) {
        Py_ssize_t total = fc_djob_place(&job, PIECE_OUT_MAX);
        if (total > cap) {
            /* Known before anything is written. */
            raise_too_small(st, "decompress_into", ops->name, total, cap);
            goto exit;
        }
        if (total >= 0) {
            threads = fc_resolve_threads(threads, len, PARALLEL_MIN);
            if (threads > job.n) {
                threads = (int)job.n;
            }
            job.in = in;
            job.out = out;
            /* Safe without the GIL: input and output views are pinned by
             * the caller; each task writes its own range of out, all
             * within total <= cap. */
            if (fc_run(ops->piece_task, &job, job.n, threads, release) < 0) {
                goto exit;
            }
            if (!job.failed && ops->scan_finish != NULL) {
                ops->scan_finish(&job, in, len, out, total);
            }
            if (!job.failed) {
                result = total;
                goto exit;
            }
            /* The layout did not hold: decode sequentially, which also
             * gives the precise error. */
        }
    }
    if (fc_codec_dec_open(&dec, codec, st->codec, dict, &err) < 0) {
        fc_codec_raise(st, &err);
        goto exit;
    }
    for (;;) {
        size_t before_in = in_pos, before_out = out_pos;
        /* Safe without the GIL: both views are pinned by the caller and
         * the decoder never writes past cap. */
        FC_RUN_OUTSIDE_GIL(release,
                           rc = dec.run(&dec, in, (size_t)len, &in_pos, out,
                                        (size_t)cap, &out_pos, &err));
        if (rc == FC_DEC_AGAIN && in_pos == before_in &&
            out_pos == before_out) {
            if (out_pos < (size_t)cap) {
                /* No progress with room left: the input ended inside a
                 * stream. */
                fc_codec_err_set(&err, FC_CERR_TRUNCATED, dec.name, 0, NULL,
                                 (int64_t)in_pos);
                rc = FC_DEC_ERR;
            }
            else {
                /* Safe without the GIL: as above; the scratch copy is
                 * the call's own. */
                FC_RUN_OUTSIDE_GIL(release,
                                   rc = end_when_full(&dec, in, (size_t)len,
                                                      &in_pos, out,
                                                      (size_t)cap, &err));
                if (rc == FC_DEC_AGAIN) {
                    raise_too_small(st, "decompress_into", ops->name, -1,
                                    cap);
                    goto exit;
                }
            }
        }
        if (rc == FC_DEC_ERR) {
            fc_codec_raise(st, &err);
            goto exit;
        }
        if (rc == FC_DEC_DONE) {
            break;
        }
        if (fc_check_interrupt() < 0) {
            goto exit;
        }
    }
    result = (Py_ssize_t)out_pos;
exit:
    fc_dec_free(&dec);
    fc_djob_free(&job);
    return result;
}

PyDoc_STRVAR(fc_decompress_into__doc__,
"decompress_into($module, data, out, codec=None, *, threads=None,\n"
"                release_gil=None, zstd_dict=None)\n--\n\n"
"Decompress a whole stream, as decompress() does, into out; return the\n"
"number of bytes written (at the start of out).\n"
"\n"
"  out: a writable C-contiguous buffer (bytearray, numpy array, mmap,\n"
"    memoryview slice), not overlapping data; its length in bytes is the\n"
"    room.  When the output does not fit, OutputSizeError is raised and\n"
"    nothing past the end of out is written (what was written before\n"
"    is unspecified).\n"
"  codec, threads, release_gil, zstd_dict: as for decompress().\n"
"\n"
"Corrupt, truncated or wrong-codec input raises DecompressionError.");

static PyObject *
fc_decompress_into(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                   PyObject *kwnames)
{
    static const char *const names[] = {"data", "out", "codec", "threads",
                                        "release_gil", "zstd_dict", NULL};
    fc_state *st = fc_get_state(module);
    PyObject *a[6];
    PyObject *result = NULL, *zd = NULL;
    const void *dict = NULL;
    Py_buffer view = {0}, dst = {0};
    int codec, threads, release;

    if (fc_parse_args("decompress_into", args, nargs, kwnames, names, 3, 2,
                      a) < 0 ||
        fc_codec_parse(a[2], 1, FC_CODEC_AUTO, &codec) < 0 ||
        fc_parse_threads(a[3], &threads) < 0 ||
        fc_parse_release(a[4], &release) < 0 ||
        fc_zstd_dict_arg(st, a[5], codec, &zd) < 0 ||
        (zd != NULL && (dict = fc_zstd_dict_ddict(zd)) == NULL) ||
        fc_get_buffer(a[0], &view, "data") < 0 ||
        fc_get_out_buffer(a[1], &dst, "out") < 0) {
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
    Py_ssize_t n = decode_into(st, codec, view.buf, view.len, dst.buf,
                               dst.len, threads, release, dict);
    if (n >= 0) {
        result = PyLong_FromSsize_t(n);
    }
exit:
    Py_XDECREF(zd);
    PyBuffer_Release(&dst);
    PyBuffer_Release(&view);
    return result;
}

/* --- compress_into -------------------------------------------------------- */

PyDoc_STRVAR(fc_compress_into__doc__,
"compress_into($module, data, out, codec='zstd', level=None, *,\n"
"              threads=None, release_gil=None, zstd_dict=None)\n--\n\n"
"Compress data, as compress() does (the same bytes), into out; return\n"
"the number of bytes written (at the start of out).\n"
"\n"
"  out: a writable C-contiguous buffer (bytearray, numpy array, mmap,\n"
"    memoryview slice); its length in bytes is the room.  When the\n"
"    compressed data do not fit, OutputSizeError is raised and out is\n"
"    left as it was.\n"
"  codec, level, threads, release_gil, zstd_dict: as for compress().");

static PyObject *
fc_compress_into(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                 PyObject *kwnames)
{
    static const char *const names[] = {"data", "out", "codec", "level",
                                        "threads", "release_gil", "zstd_dict",
                                        NULL};
    fc_state *st = fc_get_state(module);
    PyObject *a[7];
    PyObject *compress = NULL, *packed = NULL, *kw = NULL, *result = NULL;
    PyObject *codec_arg = NULL, *targs = NULL;
    Py_buffer dst = {0};
    int codec;

    if (fc_parse_args("compress_into", args, nargs, kwnames, names, 4, 2,
                      a) < 0 ||
        fc_codec_parse(a[2], 0, FC_CODEC_ZSTD, &codec) < 0 ||
        fc_get_out_buffer(a[1], &dst, "out") < 0) {
        goto exit;
    }
    /* compress() itself parses the rest and raises what it raises. */
    compress = PyObject_GetAttrString(module, "compress");
    kw = PyDict_New();
    if (compress == NULL || kw == NULL ||
        (a[4] != NULL && PyDict_SetItemString(kw, "threads", a[4]) < 0) ||
        (a[5] != NULL && PyDict_SetItemString(kw, "release_gil", a[5]) < 0) ||
        (a[6] != NULL && PyDict_SetItemString(kw, "zstd_dict", a[6]) < 0)) {
        goto exit;
    }
    /* codec omitted: compress()'s default, by name */
    codec_arg = a[2] != NULL ? Py_NewRef(a[2])
                : PyUnicode_FromString(fc_codec_name(codec));
    targs = codec_arg == NULL ? NULL
            : PyTuple_Pack(3, a[0], codec_arg, a[3] != NULL ? a[3] : Py_None);
    if (targs == NULL) {
        goto exit;
    }
    packed = PyObject_Call(compress, targs, kw);
    if (packed == NULL) {
        goto exit;
    }
    if (!PyBytes_Check(packed)) {   /* fastconc._core.compress replaced */
        PyErr_SetString(PyExc_TypeError, "compress() did not return bytes");
        goto exit;
    }
    Py_ssize_t n = PyBytes_GET_SIZE(packed);
    if (n > dst.len) {
        raise_too_small(st, "compress_into", fc_codec_name(codec), n,
                        dst.len);
        goto exit;
    }
    memcpy(dst.buf, PyBytes_AS_STRING(packed), (size_t)n);
    result = PyLong_FromSsize_t(n);
exit:
    PyBuffer_Release(&dst);
    Py_XDECREF(packed);
    Py_XDECREF(targs);
    Py_XDECREF(codec_arg);
    Py_XDECREF(kw);
    Py_XDECREF(compress);
    return result;
}

/* --- the area ------------------------------------------------------------- */

static PyMethodDef into_methods[] = {
    {"decompress_into", FC_CFUNC(fc_decompress_into),
     METH_FASTCALL | METH_KEYWORDS, fc_decompress_into__doc__},
    {"compress_into", FC_CFUNC(fc_compress_into),
     METH_FASTCALL | METH_KEYWORDS, fc_compress_into__doc__},
    {NULL, NULL, 0, NULL},
};

static int
into_init(PyObject *m, fc_state *st)
{
    (void)st;
    return PyModule_AddFunctions(m, into_methods);
}

const fc_area fc_area_into = {
    "into", into_init, NULL, NULL, NULL,
};
