/* codec/codec.h - the codec interface of fastconc._core: the codec enum and
 * fc_codec_ops, the table of operations every codec provides, plus the
 * lookups over the table (codec.c) that the front ends use.
 *
 * Layers, each calling only the ones below it:
 *   front ends  oneshot.c (compress, decompress), batch.c (compress_many,
 *               decompress_many), stream.c (Compressor, Decompressor):
 *               plan buffers, threads and the GIL, and call a codec only
 *               through its table entry;
 *   the table   codec.c: the entries in enum order, names, suffixes,
 *               codec= and level= parsing, detection by magic bytes, and
 *               the table-driven steps shared by the front ends;
 *   back ends   zlib.c (zlib, deflate, gzip; with isal.c and libdeflate.c
 *               as optional faster libraries), zstd.c, lz4.c: everything
 *               about one library, each defining its table entries;
 *   helpers     job.c (contexts, jobs, decoders, streams), errors.c (the
 *               error record and one mapper per library).
 *
 * Adding a codec: a back-end file defining `const fc_codec_ops
 * fc_codec_<name>`, its enum value below and its line in codec.c's table
 * (plus its library in setup.py).
 */
#ifndef FC_CODEC_H
#define FC_CODEC_H

#include "codec/job.h"

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

/* What a codec's magic() says about the first n bytes of an input. */
enum {
    FC_MAGIC_NO = 0,        /* not this codec */
    FC_MAGIC_YES,           /* this codec */
    FC_MAGIC_MORE,          /* could be: more bytes are needed to tell */
};

/* Levels with their usual meaning; `alias` is the level that means "the
 * default" (zstd 0, zlib -1), normalised to dflt when parsed; `note` ends
 * the range in messages ("-1 = default 6"). */
typedef struct fc_codec_levels {
    int min, max, dflt, alias;
    const char *note;
} fc_codec_levels;

/* How compress() cuts an input: blocks of `block` input bytes, the last
 * two blocks' worth tail_split times finer (0: not); see fc_cjob_cut(). */
typedef struct fc_codec_layout {
    Py_ssize_t block;
    int tail_split;
} fc_codec_layout;

/* One codec.  Fields marked "optional" may be 0/NULL.  Functions that take
 * fc_state, PyObject or raise need the GIL; the others (tasks, decoders,
 * stream steps) run without it and record errors in their job/err. */
typedef struct fc_codec_ops {
    /* --- names ----------------------------------------------------------- */
    const char *name;           /* the codec= value: "gzip" */
    const char *label;          /* in prose: "lz4 frame", "raw deflate" */
    const char *const *suffixes;    /* file name suffixes, NULL-ended; the
                                     * first is the one to write */

    /* --- detection (optional: raw deflate has no magic) ------------------ */
    /* FC_MAGIC_* for the first n >= 2 bytes of an input. */
    int (*magic)(const unsigned char *p, Py_ssize_t n);
    /* A header check rather than a signature (zlib): tried only after
     * every codec with a signature said no. */
    int magic_weak;

    /* --- levels ---------------------------------------------------------- */
    fc_codec_levels (*levels)(void);

    /* --- compression: one stream of blocks (compress, compress_many) ----- */
    /* threads=None: 1 when this codec is best on one thread for this input
     * (optional; 0 = decide by size). */
    int (*auto_threads)(int level, Py_ssize_t len);
    fc_codec_layout (*layout)(int level, Py_ssize_t len, int threads);
    /* Bytes to reserve for one block of n input bytes. */
    Py_ssize_t (*block_bound)(const fc_cjob *job, Py_ssize_t n);
    /* Compress block i of the job (a pool task: fc_cjob_done or _fail). */
    fc_task_fn block_task;
    /* Bytes before and after the packed blocks (optional), and the writer
     * of that frame around `body` bytes of blocks at base + frame_head;
     * returns the total size. */
    Py_ssize_t frame_head, frame_tail;
    Py_ssize_t (*frame_finish)(const fc_cjob *job, unsigned char *base,
                               Py_ssize_t body);
    /* One thread at slow levels (optional): the same output made in
     * `slices` pool chunks of slice_task (0: not sliced), so that Ctrl-C
     * is seen between them; output at job->dst + job->packed_pos, errors
     * in job->err; slice_end releases job->ctx. */
    int64_t (*slices)(const fc_cjob *job);
    fc_task_fn slice_task;
    void (*slice_end)(fc_cjob *job);

    /* --- decompression (decompress, decompress_many) --------------------- */
    /* Set up a whole-input decoder (d->codec, name, cache set); -1 with
     * err on failure. */
    int (*dec_init)(fc_dec *d, fc_codec_err *err);
    /* A first output size guess better than `hint` (optional). */
    Py_ssize_t (*size_hint)(const unsigned char *in, Py_ssize_t len,
                            Py_ssize_t hint);
    /* Pieces of known size for parallel decoding (optional): returns the
     * number of pieces (>= 1) with job's arrays filled, 0 when the input
     * is not (entirely) such a layout, -1 on no memory. */
    int64_t (*scan)(fc_djob *job, const unsigned char *in, Py_ssize_t len);
    fc_task_fn piece_task;
    /* After every piece decoded: whole-input checks (optional); -1 with
     * job->err. */
    int (*scan_finish)(fc_djob *job, const unsigned char *in, Py_ssize_t len,
                       const unsigned char *out, Py_ssize_t out_len);

    /* --- streams (Compressor, Decompressor) ------------------------------ */
    /* Compressor's threads > 1 are the library's own workers. */
    int cs_threads;
    /* The compressor's step takes FC_STEP_FULL (zlib's Z_FULL_FLUSH). */
    int cs_full_flush;
    /* Fill a compressor handle; -1 with an exception set. */
    int (*cs_init)(fc_stream *s, int codec, int level, int threads);
    /* Input bytes a decompressor needs before it can choose its library,
     * given the first n (optional: NULL sets it up at once, with head
     * NULL).  A result <= n means enough. */
    Py_ssize_t (*ds_head)(const unsigned char *p, Py_ssize_t n);
    /* Fill a decompressor handle, head: the first n bytes of input; -1
     * with an exception set. */
    int (*ds_init)(fc_stream *s, int codec, const unsigned char *head,
                   Py_ssize_t n);

    /* --- info() ---------------------------------------------------------- */
    /* Add this codec's rows to info()'s "backends" and "parallel" dicts. */
    int (*info)(int codec, PyObject *backends, PyObject *parallel);
} fc_codec_ops;

/* The back ends' entries. */
extern const fc_codec_ops fc_codec_zlib;
extern const fc_codec_ops fc_codec_deflate;
extern const fc_codec_ops fc_codec_gzip;
extern const fc_codec_ops fc_codec_zstd;
extern const fc_codec_ops fc_codec_lz4;

/* --- the table (codec.c) ------------------------------------------------- */

/* The entry of a codec (0 <= codec < FC_CODEC_COUNT). */
const fc_codec_ops *fc_codec_ops_of(int codec);
/* Its name; NULL outside the range. */
const char *fc_codec_name(int codec);

/* Parse codec=: a str naming a codec (ValueError listing the valid names
 * otherwise, TypeError for non-str).  NULL or None gives FC_CODEC_AUTO when
 * allow_auto, else `dflt` (pass dflt = FC_CODEC_AUTO with allow_auto = 0 to
 * make the argument required: None -> TypeError). */
int fc_codec_parse(PyObject *obj, int allow_auto, int dflt, int *out);

/* Parse level= for a codec: NULL/None -> the default; an int outside the
 * range -> ValueError naming the range; non-int -> TypeError.  The value
 * stored is normalised (the alias becomes the default). */
int fc_codec_parse_level(int codec, PyObject *obj, int *out);

/* Parse max_output_size=: None -> -1 (no bound), int >= 0, else
 * TypeError/ValueError. */
int fc_parse_max_output(PyObject *obj, Py_ssize_t *out);

/* fc_codec_detect() results besides a codec. */
#define FC_DETECT_UNKNOWN (-1)      /* no known magic */
#define FC_DETECT_NEED_MORE (-2)    /* too few bytes to decide yet */

/* Codec from the first bytes of compressed data, by each entry's magic();
 * FC_DETECT_UNKNOWN or FC_DETECT_NEED_MORE otherwise.  No GIL needed. */
int fc_codec_detect(const unsigned char *p, Py_ssize_t n);
/* Like fc_codec_detect() for a whole input: raises DecompressionError
 * (unknown magic, or too short to tell) and returns -1. */
int fc_codec_detect_or_raise(fc_state *st, const unsigned char *p,
                             Py_ssize_t n);

/* Codec from a file name's suffix, or -1 when there is none.  No GIL. */
int fc_codec_from_filename(const char *path);

/* --- table-driven steps shared by the front ends (codec.c) --------------- */

/* Output bytes one call of fc_codec_compress_single() may need. */
Py_ssize_t fc_codec_single_bound(const fc_cjob *job);
/* Compress the whole job input in one block on this thread into dst (cap
 * bytes from fc_codec_single_bound()), frame included; no GIL needed.
 * Returns the size, or -1 with job->err. */
Py_ssize_t fc_codec_compress_single(fc_cjob *job, unsigned char *dst,
                                    Py_ssize_t cap);
/* Write the codec's frame around the packed blocks at base + frame_head;
 * returns the total size. */
Py_ssize_t fc_codec_finish_frame(const fc_cjob *job, unsigned char *base,
                                 Py_ssize_t body);
/* Set up the codec's whole-input decoder; -1 with err.  No GIL needed.
 * dict: a digested dictionary (zstd_dict.h) or NULL; codecs without
 * dictionaries ignore it. */
int fc_codec_dec_open(fc_dec *d, int codec, fc_codec_cache *cache,
                      const void *dict, fc_codec_err *err);
/* Scan an input for the codec's pieces of known size (job set up for the
 * codec, with dict as above); as fc_codec_ops.scan, 0 when the codec has
 * none. */
int64_t fc_codec_scan(fc_djob *job, int codec, fc_codec_cache *cache,
                      const void *dict, const unsigned char *in,
                      Py_ssize_t len);

#endif
