/* codec/errors.h - what went wrong in a codec: the error record that code
 * running without the GIL fills (back ends, pool tasks, stream steps), and
 * errors.c, which turns a record into the exception.
 *
 * The bottom of the codec area: it knows no codec table and no back end.
 * A record names its codec by the name string, so that a message can say
 * "gzip: corrupt input at offset 1234 (...)" without a table lookup.
 * Back ends with numeric library codes record them as FC_CERR_<LIBRARY>
 * and errors.c has one mapper per such library; any other library can
 * record the generic kinds (FC_CERR_CORRUPT with its message text,
 * FC_CERR_TRUNCATED, FC_CERR_NOMEM, FC_CERR_COMPRESS).
 */
#ifndef FC_CODEC_ERRORS_H
#define FC_CODEC_ERRORS_H

#include "core/fastconc.h"

typedef enum fc_codec_errkind {
    FC_CERR_NONE = 0,
    FC_CERR_NOMEM,          /* MemoryError */
    FC_CERR_CORRUPT,        /* DecompressionError: bad data (msg: detail) */
    FC_CERR_TRUNCATED,      /* DecompressionError: input ended early */
    FC_CERR_OUTPUT_SIZE,    /* OutputSizeError: output > limit */
    FC_CERR_COMPRESS,       /* RuntimeError: compression failed (msg) */
    FC_CERR_ZLIB,           /* a zlib return code in `code` */
    FC_CERR_ZSTD,           /* a ZSTD error code (size_t) in `code` */
    FC_CERR_LZ4,            /* an LZ4F error code (size_t) in `code` */
    FC_CERR_LIBDEFLATE,     /* a libdeflate_result in `code` */
    FC_CERR_ISAL,           /* an isa-l inflate return code in `code` */
} fc_codec_errkind;

typedef struct fc_codec_err {
    int kind;               /* fc_codec_errkind */
    const char *codec;      /* the codec's name, for the message */
    long long code;         /* library return code, when kind says so */
    const char *msg;        /* static text (or zlib's z_stream.msg), or NULL */
    int64_t offset;         /* offset in the compressed input, -1 unknown */
    int64_t limit;          /* max_output_size for FC_CERR_OUTPUT_SIZE */
} fc_codec_err;

/* Record an error (first one wins: a later record is ignored).  No GIL. */
static inline void
fc_codec_err_set(fc_codec_err *e, int kind, const char *codec,
                 long long code, const char *msg, int64_t offset)
{
    if (e->kind == FC_CERR_NONE) {
        e->kind = kind;
        e->codec = codec;
        e->code = code;
        e->msg = msg;
        e->offset = offset;
    }
}

/* Raise the recorded error (GIL held); returns -1 (or 0 if none).
 * Decompression errors raise the codec's class of DecompressionError
 * (fc_codec_error_class()) with a message like
 *   "gzip: corrupt input at offset 1234 (invalid distance too far back)"
 * (offset < 0: unknown), out-of-memory codes MemoryError. */
int fc_codec_raise(fc_state *st, const fc_codec_err *e);

/* The class of DecompressionError for a failure of `codec` (a table
 * name; NULL: unknown) (borrowed; GIL held): truncated input raises
 * TruncatedError, corrupt input DecompressionError, and for zlib, raw
 * deflate and gzip the subclasses that are also zlib.error (gzip: and
 * gzip.BadGzipFile). */
PyObject *fc_codec_error_class(fc_state *st, const char *codec,
                               int truncated);

/* Output would pass max_output_size: st->OutputSizeError (GIL held). */
int fc_raise_output_size(fc_state *st, const char *codec, int64_t limit);

#endif
