/* codec/errors.c - the one place where a codec error becomes an exception:
 * fc_codec_raise() turns a record (errors.h) into DecompressionError (the
 * subclass that fits the codec and the failure, fc_codec_error_class()),
 * OutputSizeError, MemoryError or RuntimeError, with one mapper per library
 * whose return codes need translating (zlib, libzstd, liblz4 frame,
 * libdeflate, isa-l).
 *
 * Needs the GIL; knows no codec table (the record carries the codec's name)
 * and calls no library except to name an error code.
 */
#include "codec/errors.h"

#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>
#include <lz4frame.h>

PyObject *
fc_codec_error_class(fc_state *st, const char *codec, int truncated)
{
    /* The record names its codec by the table's name string. */
    int gzip = codec != NULL && strcmp(codec, "gzip") == 0;
    int deflate = gzip || (codec != NULL && (strcmp(codec, "zlib") == 0 ||
                                             strcmp(codec, "deflate") == 0));
    if (truncated) {
        return deflate ? st->TruncatedDeflateError : st->TruncatedError;
    }
    return gzip ? st->BadGzipFile
           : deflate ? st->CorruptDeflateError : st->DecompressionError;
}

/* Raise "<codec>: <what> at offset N (<detail>)" as the codec's class of
 * DecompressionError for a truncated or a corrupt input. */
static int
raise_decomp(fc_state *st, const char *codec, int truncated,
             const char *what, const char *detail, int64_t offset)
{
    const char *name = codec ? codec : "?";
    PyObject *cls = fc_codec_error_class(st, codec, truncated);
    if (offset >= 0 && detail) {
        PyErr_Format(cls, "%s: %s at offset %lld (%s)", name, what,
                     (long long)offset, detail);
    }
    else if (offset >= 0) {
        PyErr_Format(cls, "%s: %s at offset %lld", name, what,
                     (long long)offset);
    }
    else if (detail) {
        PyErr_Format(cls, "%s: %s (%s)", name, what, detail);
    }
    else {
        PyErr_Format(cls, "%s: %s", name, what);
    }
    return -1;
}

static int
raise_truncated(fc_state *st, const char *codec, int64_t offset)
{
    return raise_decomp(st, codec, 1, "truncated input: stream ends early",
                        NULL, offset);
}

int
fc_raise_output_size(fc_state *st, const char *codec, int64_t limit)
{
    PyErr_Format(st->OutputSizeError,
                 "%s: decompressed output exceeds max_output_size=%lld",
                 codec ? codec : "?", (long long)limit);
    return -1;
}

/* --- one mapper per library ---------------------------------------------- */

static int
raise_zlib(fc_state *st, const char *codec, int zrc, const char *zmsg,
           int64_t offset)
{
    switch (zrc) {
    case Z_MEM_ERROR:
        PyErr_NoMemory();
        return -1;
    case Z_BUF_ERROR:
        /* inflate could make no progress with all input consumed. */
        return raise_decomp(st, codec, 1,
                            "truncated input: stream ends early", zmsg,
                            offset);
    case Z_NEED_DICT:
        return raise_decomp(st, codec, 0,
                            "stream needs a preset dictionary", zmsg, offset);
    case Z_DATA_ERROR:
        return raise_decomp(st, codec, 0, "corrupt input", zmsg, offset);
    case Z_STREAM_ERROR:
        return raise_decomp(st, codec, 0, "invalid stream state", zmsg,
                            offset);
    case Z_VERSION_ERROR:
        PyErr_Format(PyExc_RuntimeError, "%s: zlib version mismatch",
                     codec);
        return -1;
    default:
        return raise_decomp(st, codec, 0, "zlib error",
                            zmsg ? zmsg : "unknown", offset);
    }
}

static int
raise_zstd(fc_state *st, const char *codec, size_t code, int64_t offset)
{
    switch (ZSTD_getErrorCode(code)) {
    case ZSTD_error_memory_allocation:
        PyErr_NoMemory();
        return -1;
    case ZSTD_error_srcSize_wrong:
        return raise_decomp(st, codec, 0, "corrupt or truncated input",
                            ZSTD_getErrorName(code), offset);
    case ZSTD_error_dictionary_wrong:
        return raise_decomp(st, codec, 0,
                            "a frame made with another dictionary than "
                            "zstd_dict= (or with one, and none given), or "
                            "corrupt input", ZSTD_getErrorName(code),
                            offset);
    default:
        return raise_decomp(st, codec, 0, "corrupt input",
                            ZSTD_getErrorName(code), offset);
    }
}

static int
raise_lz4(fc_state *st, const char *codec, size_t code, int64_t offset)
{
    /* LZ4F_getErrorCode() is not a stable export: match the name. */
    const char *name = LZ4F_getErrorName(code);
    if (name && strstr(name, "allocation")) {
        PyErr_NoMemory();
        return -1;
    }
    return raise_decomp(st, codec, 0, "corrupt input", name, offset);
}

static int
raise_libdeflate(fc_state *st, const char *codec, int result, int64_t offset)
{
    /* 1 BAD_DATA, 2 SHORT_OUTPUT, 3 INSUFFICIENT_SPACE (libdeflate.h);
     * numbers used so this file builds without libdeflate. */
    switch (result) {
    case 1:
        return raise_decomp(st, codec, 0, "corrupt or truncated input",
                            NULL, offset);
    case 2:
        return raise_decomp(st, codec, 0,
                            "input ends before the declared size", NULL,
                            offset);
    case 3:
        return raise_decomp(st, codec, 0,
                            "output larger than the declared size", NULL,
                            offset);
    default:
        return raise_decomp(st, codec, 0, "libdeflate error", NULL, offset);
    }
}

static int
raise_isal(fc_state *st, const char *codec, int rc, int64_t offset)
{
    /* isa-l inflate return codes (igzip_lib.h), by number so this file
     * builds without isa-l. */
    const char *detail;
    switch (rc) {
    case 1:
        return raise_truncated(st, codec, offset);
    case 6:
        detail = "stream needs a preset dictionary";
        break;
    case -1:
        detail = "invalid block";
        break;
    case -2:
        detail = "invalid symbol";
        break;
    case -3:
        detail = "invalid distance too far back";
        break;
    case -4:
        detail = "invalid header";
        break;
    case -5:
        detail = "unsupported compression method";
        break;
    case -6:
        detail = "incorrect checksum";
        break;
    default:
        detail = "isa-l error";
        break;
    }
    return raise_decomp(st, codec, 0, "corrupt input", detail, offset);
}

/* --- the record ---------------------------------------------------------- */

int
fc_codec_raise(fc_state *st, const fc_codec_err *e)
{
    const char *name = e->codec ? e->codec : "?";
    switch (e->kind) {
    case FC_CERR_NONE:
        return 0;
    case FC_CERR_NOMEM:
        PyErr_NoMemory();
        return -1;
    case FC_CERR_TRUNCATED:
        return raise_truncated(st, name, e->offset);
    case FC_CERR_OUTPUT_SIZE:
        return fc_raise_output_size(st, name, e->limit);
    case FC_CERR_COMPRESS:
        PyErr_Format(PyExc_RuntimeError, "%s: compression failed: %s",
                     name, e->msg ? e->msg : "unknown");
        return -1;
    case FC_CERR_ZLIB:
        return raise_zlib(st, name, (int)e->code, e->msg, e->offset);
    case FC_CERR_ZSTD:
        return raise_zstd(st, name, (size_t)e->code, e->offset);
    case FC_CERR_LZ4:
        return raise_lz4(st, name, (size_t)e->code, e->offset);
    case FC_CERR_LIBDEFLATE:
        return raise_libdeflate(st, name, (int)e->code, e->offset);
    case FC_CERR_ISAL:
        return raise_isal(st, name, (int)e->code, e->offset);
    default:
        return raise_decomp(st, name, 0, "corrupt input", e->msg, e->offset);
    }
}
