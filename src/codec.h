/* codec.h - what the compression files of fastconc._core share: the codec
 * enum and names, codec= and level= parsing, magic-byte detection, and one
 * error mapper per library (all raising st->DecompressionError naming the
 * codec and the offset in the compressed input).
 *
 * codec_common.c implements these; codec.c (one-shot, batch), codec_zlib.c,
 * codec_zstd.c, codec_lz4.c (the library back ends) and the streaming
 * objects build on them.  The functions taking fc_state or PyObject need
 * the GIL; fc_codec_detect(), fc_codec_name() and the fc_codec_err helpers
 * do not (workers record an fc_codec_err, the caller raises it).
 */
#ifndef FC_CODEC_H
#define FC_CODEC_H

#include "fastconc.h"

typedef enum fc_codec {
    FC_CODEC_ZLIB = 0,
    FC_CODEC_DEFLATE,       /* raw deflate, no header */
    FC_CODEC_GZIP,
    FC_CODEC_ZSTD,
    FC_CODEC_LZ4,           /* the LZ4 frame format */
    FC_CODEC_COUNT
} fc_codec;

/* codec=None, where that is allowed (decompression: detect by magic). */
#define FC_CODEC_AUTO (-1)

/* fc_codec_detect() results besides a codec. */
#define FC_DETECT_UNKNOWN (-1)      /* no known magic */
#define FC_DETECT_NEED_MORE (-2)    /* too few bytes to decide yet */
/* Bytes that always suffice for fc_codec_detect(). */
#define FC_DETECT_BYTES 4

/* "zlib", "deflate", "gzip", "zstd", "lz4"; NULL outside the range. */
const char *fc_codec_name(int codec);

/* Parse codec=: a str naming a codec (ValueError listing the valid names
 * otherwise, TypeError for non-str).  NULL or None gives FC_CODEC_AUTO when
 * allow_auto, else `dflt` (pass dflt = FC_CODEC_AUTO with allow_auto = 0 to
 * make the argument required: None -> TypeError). */
int fc_codec_parse(PyObject *obj, int allow_auto, int dflt, int *out);

/* Codec from the first bytes of compressed data: gzip (1f 8b), zstd
 * (28 b5 2f fd, or a skippable frame 5? 2a 4d 18), lz4 frame (04 22 4d 18)
 * or zlib (a valid CMF/FLG pair); FC_DETECT_UNKNOWN or FC_DETECT_NEED_MORE
 * otherwise.  Raw deflate has no magic and is never detected.  No GIL
 * needed. */
int fc_codec_detect(const unsigned char *p, Py_ssize_t n);

/* Like fc_codec_detect() for a whole input: raises DecompressionError
 * (unknown magic, or too short to tell) and returns -1. */
int fc_codec_detect_or_raise(fc_state *st, const unsigned char *p,
                             Py_ssize_t n);

/* Codec from a file name's extension (.gz .zst .lz4 .zz .zlib .deflate),
 * or -1 when there is none.  No GIL needed. */
int fc_codec_from_filename(const char *path);

/* Levels with their usual meaning:
 *   zlib, deflate, gzip: 0..9 (-1 = default 6), as zlib and gzip -N;
 *   zstd: ZSTD_minCLevel()..ZSTD_maxCLevel() (0 = default 3), as zstd -N;
 *   lz4:  0..12 (0 and 1 fast, 3..12 high compression), as lz4 -N.
 * fc_codec_parse_level(): NULL/None -> the default; an int outside the
 * range -> ValueError naming the range; non-int -> TypeError.  The value
 * stored is normalised (-1 -> 6 for the deflate family, 0 -> 3 for zstd). */
int fc_codec_level_min(int codec);
int fc_codec_level_max(int codec);
int fc_codec_level_default(int codec);
int fc_codec_parse_level(int codec, PyObject *obj, int *out);

/* windowBits for zlib's inflateInit2/deflateInit2 for the deflate family:
 * 15 (zlib), -15 (raw), 31 (gzip). */
static inline int
fc_zlib_wbits(int codec)
{
    return codec == FC_CODEC_DEFLATE ? -15 : codec == FC_CODEC_GZIP ? 31 : 15;
}

/* --- errors ------------------------------------------------------------ */

/* What went wrong, recorded by code that runs without the GIL (workers,
 * *_impl functions) and raised later by fc_codec_raise(). */
typedef enum fc_codec_errkind {
    FC_CERR_NONE = 0,
    FC_CERR_NOMEM,          /* MemoryError */
    FC_CERR_CORRUPT,        /* DecompressionError: bad data */
    FC_CERR_TRUNCATED,      /* DecompressionError: input ended early */
    FC_CERR_OUTPUT_SIZE,    /* OutputSizeError: output > limit */
    FC_CERR_ZLIB,           /* a zlib return code in `code` */
    FC_CERR_ZSTD,           /* a ZSTD error code (size_t) in `code` */
    FC_CERR_LZ4,            /* an LZ4F error code (size_t) in `code` */
    FC_CERR_LIBDEFLATE,     /* a libdeflate_result in `code` */
    FC_CERR_ISAL,           /* an isa-l inflate return code in `code` */
    FC_CERR_COMPRESS,       /* compression failed (library message) */
} fc_codec_errkind;

typedef struct fc_codec_err {
    int kind;               /* fc_codec_errkind */
    int codec;              /* fc_codec */
    long long code;         /* library return code, when kind says so */
    const char *msg;        /* static text (or zlib's z_stream.msg), or NULL */
    int64_t offset;         /* offset in the compressed input, -1 unknown */
    int64_t limit;          /* max_output_size for FC_CERR_OUTPUT_SIZE */
} fc_codec_err;

/* Record an error (first one wins: a later record is ignored).  No GIL. */
static inline void
fc_codec_err_set(fc_codec_err *e, int kind, int codec, long long code,
                 const char *msg, int64_t offset)
{
    if (e->kind == FC_CERR_NONE) {
        e->kind = kind;
        e->codec = codec;
        e->code = code;
        e->msg = msg;
        e->offset = offset;
    }
}

/* Raise the recorded error (GIL held); returns -1 (or 0 if none). */
int fc_codec_raise(fc_state *st, const fc_codec_err *e);

/* One mapper per library, raising now (GIL held), returning -1.
 * All raise st->DecompressionError with a message like
 *   "gzip: corrupt input at offset 1234 (invalid distance too far back)"
 * except out-of-memory codes (MemoryError).  offset < 0: unknown. */
int fc_raise_zlib(fc_state *st, int codec, int zrc, const char *zmsg,
                  int64_t offset);
int fc_raise_zstd(fc_state *st, size_t code, int64_t offset);
int fc_raise_lz4(fc_state *st, size_t code, int64_t offset);
int fc_raise_libdeflate(fc_state *st, int codec, int result, int64_t offset);
int fc_raise_isal(fc_state *st, int codec, int rc, int64_t offset);
/* Input ended inside a frame/stream. */
int fc_raise_truncated(fc_state *st, int codec, int64_t offset);
/* Output would pass max_output_size: st->OutputSizeError. */
int fc_raise_output_size(fc_state *st, int codec, int64_t limit);

/* Parse max_output_size=: None -> -1 (no bound), int >= 0, else
 * TypeError/ValueError. */
int fc_parse_max_output(PyObject *obj, Py_ssize_t *out);

#endif
