/* codec.h - what the compression files of fastconc._core share: the codec
 * enum and names, codec= and level= parsing, magic-byte detection, and one
 * error mapper per library (all raising st->DecompressionError naming the
 * codec and the offset in the compressed input).
 *
 * codec/common.c implements these; codec.c (one-shot, batch), codec/zlib.c,
 * codec/zstd.c, codec/lz4.c (the library back ends) and the streaming
 * objects build on them.  The functions taking fc_state or PyObject need
 * the GIL; fc_codec_detect(), fc_codec_name() and the fc_codec_err helpers
 * do not (workers record an fc_codec_err, the caller raises it).
 */
#ifndef FC_CODEC_H
#define FC_CODEC_H

#include "core/fastconc.h"

#include <pthread.h>

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

/* --- one-shot and batch internals (codec.c and the back ends) ---------- */

/* A small cache of library contexts (zstd, libdeflate, isa-l state)
 * shared by every call of the module, so that many small items do not
 * pay for a context each.  Its mutex is only ever try-locked: when busy
 * (or inherited locked across fork()) the caller simply makes a fresh
 * context.  No GIL needed. */
enum {
    FC_CTX_ZSTD_C,
    FC_CTX_ZSTD_D,
    FC_CTX_ZSTD_DSTREAM,
    FC_CTX_LIBDEFLATE_D,
    FC_CTX_ISAL_1,
    FC_CTX_LIBDEFLATE_C,        /* + level (0..12) */
    FC_CTX_ZLIB_C = FC_CTX_LIBDEFLATE_C + 13,   /* + level (0..9) */
    FC_CTX_KINDS = FC_CTX_ZLIB_C + 10
};
typedef struct fc_codec_state fc_codec_cache;
/* A cached context of this kind, or NULL (make one). */
void *fc_ctx_get(fc_codec_cache *cache, int kind);
/* Give a context back (freed with free_fn when the cache is full). */
void fc_ctx_put(fc_codec_cache *cache, int kind, void *ctx,
                void (*free_fn)(void *));

/* A whole-input decoder that runs without the GIL.  run() decodes from
 * in[*in_pos] into out[*out_pos .. out_cap) and returns
 *   FC_DEC_DONE   every stream/frame/member complete and all input used;
 *   FC_DEC_AGAIN  progress made: output full (the caller grows it) or
 *                 about FC_DEC_STEP bytes produced (the caller checks
 *                 signals); call again with the same input;
 *   FC_DEC_ERR    err filled (offset = position in the input).
 * The output buffer may move between calls (the caller reallocates it); it
 * always holds everything decoded so far, so decoders may read back
 * their history from it. */
#define FC_DEC_DONE 0
#define FC_DEC_AGAIN 1
#define FC_DEC_ERR (-1)
#define FC_DEC_STEP ((size_t)8 << 20)

typedef struct fc_dec {
    int codec;
    fc_codec_cache *cache;      /* may be NULL */
    void *impl;
    int (*run)(struct fc_dec *d, const unsigned char *in, size_t in_len,
               size_t *in_pos, unsigned char *out, size_t out_cap,
               size_t *out_pos, fc_codec_err *err);
    void (*free)(struct fc_dec *d);
} fc_dec;

/* Set up a decoder (no GIL); -1 with err on failure. */
int fc_zlib_dec_init(fc_dec *d, int codec, fc_codec_err *err);
int fc_zstd_dec_init(fc_dec *d, fc_codec_err *err);
int fc_lz4_dec_init(fc_dec *d, fc_codec_err *err);

/* A compression job: the input cut into blocks, block i compressed
 * (without the GIL) into dst + i * slot, its size stored in out_len[i].
 * Blocks 0 .. nfull-1 are `block` bytes, the rest (the end of the input,
 * cut finer so that threads finish together) `tail` bytes, the last one
 * possibly shorter; see fc_cjob_start()/fc_cjob_size().
 * Layout per codec:
 *   gzip:    one member per block (FC size subfield when nblocks > 1);
 *   zlib/deflate: nblocks == 1: one stream; else pigz-style raw blocks
 *            primed with the previous 32 KiB, framed by codec.c;
 *   zstd:    one frame per block, content size set;
 *   lz4:     one independent block per block of one frame (codec.c writes
 *            the frame header and end mark). */
typedef struct fc_cjob {
    int codec;
    int level;
    const unsigned char *src;
    Py_ssize_t len;
    Py_ssize_t block;
    int64_t nblocks;
    int64_t nfull;              /* blocks of `block` bytes (<= nblocks) */
    Py_ssize_t tail;            /* size of the blocks after them */
    unsigned char *dst;
    Py_ssize_t slot;
    Py_ssize_t *out_len;
    uint32_t *check;            /* zlib: adler32 of each block */
    fc_codec_cache *cache;      /* may be NULL */
    fc_cksum_fn adler32;        /* kernels from the module state */
    fc_cksum_fn crc32;
    int packed;                 /* blocks run in order on one thread:
                                 * block i starts where i - 1 ended */
    Py_ssize_t packed_pos;      /* packed: where the next block starts;
                                 * else with `mu`: bytes moved into place */
    /* Several threads: a finished block is moved down from its slot to
     * its final place as soon as every block before it is there, by the
     * thread that finished it (or the earlier one), so that no serial
     * pass packs the output after the run.  out_len[i] < 0: not done. */
    pthread_mutex_t *mu;        /* NULL: the caller packs (or packed) */
    int64_t placed;             /* with mu: blocks in place */
    int moving;                 /* with mu: a thread is moving blocks */
    void *stream;               /* zstd slices: the compression context */
    int failed;                 /* set atomically by the first error */
    fc_codec_err err;
} fc_cjob;

/* Where block i starts in the input, and its size. */
static inline Py_ssize_t
fc_cjob_start(const fc_cjob *job, int64_t i)
{
    if (i <= job->nfull) {
        return (Py_ssize_t)i * job->block;
    }
    return (Py_ssize_t)job->nfull * job->block +
           (Py_ssize_t)(i - job->nfull) * job->tail;
}

static inline Py_ssize_t
fc_cjob_size(const fc_cjob *job, int64_t i)
{
    Py_ssize_t start = fc_cjob_start(job, i);
    Py_ssize_t size = i < job->nfull ? job->block : job->tail;
    return job->len - start < size ? job->len - start : size;
}

/* Where block i is written: its slot, or right after block i - 1 when
 * packed (never past the end of slot i, since the bounds add up). */
static inline unsigned char *
fc_cjob_dst(const fc_cjob *job, int64_t i)
{
    return job->dst + (job->packed ? job->packed_pos : i * job->slot);
}

/* Block i took n bytes (and, with job->mu, moves into place). */
void fc_cjob_done(fc_cjob *job, int64_t i, Py_ssize_t n);

/* Record an error from a pool task (thread-safe: first one wins). */
void fc_cjob_fail(fc_cjob *job, int kind, long long code, const char *msg);

/* Per back end: bytes to reserve for one block of n input bytes, and the
 * task that compresses block i of a job. */
Py_ssize_t fc_zlib_block_bound(const fc_cjob *job, Py_ssize_t n);
void fc_zlib_block_task(void *job, int64_t i);
Py_ssize_t fc_zstd_block_bound(const fc_cjob *job, Py_ssize_t n);
void fc_zstd_block_task(void *job, int64_t i);
Py_ssize_t fc_lz4_block_bound(const fc_cjob *job, Py_ssize_t n);
void fc_lz4_block_task(void *job, int64_t i);
/* zstd on one thread at slow levels (>= FC_ZSTD_SLICE_LEVEL): the same
 * frames, compressed as a stream in slices of FC_ZSTD_SLICE input bytes,
 * one fc_run chunk each, so that Ctrl-C is seen between slices.  Uses
 * job->packed_pos as the output position and job->err (check
 * job->failed); fc_zstd_slice_end() releases the context. */
#define FC_ZSTD_SLICE_LEVEL 10
#define FC_ZSTD_SLICE ((Py_ssize_t)1 << 20)
void fc_zstd_slice_task(void *job, int64_t k);
void fc_zstd_slice_end(fc_cjob *job);

/* Input bytes per block for a level (zstd and lz4; the deflate family
 * is decided in codec.c). */
Py_ssize_t fc_zstd_block_size(int level);
#define FC_LZ4_BLOCK ((Py_ssize_t)4 << 20)
#define FC_GZIP_BLOCK ((Py_ssize_t)1 << 20)

/* Parallel decompression of a layout with known pieces: `n` pieces, piece
 * i is in[in_off[i] .. in_off[i] + in_len[i]) and decodes to exactly
 * out_len[i] bytes at out + out_off[i]. */
typedef struct fc_djob {
    int codec;
    const unsigned char *in;
    unsigned char *out;
    int64_t n;
    Py_ssize_t *in_off, *in_len, *out_off, *out_len;
    int lz4_max;                /* lz4: block max size (flags of frame) */
    fc_codec_cache *cache;      /* may be NULL */
    int failed;
    fc_codec_err err;
} fc_djob;

void fc_djob_fail(fc_djob *job, int kind, long long code, const char *msg,
                  int64_t offset);

/* Find the pieces of our own parallel layouts (codec-specific scans; no
 * GIL).  Return the number of pieces (>= 1) and fill malloc'ed arrays
 * (PyMem_Raw) in job, or 0 when the input is not (entirely) in such a
 * layout, or -1 on allocation failure. */
int64_t fc_gzip_scan(fc_djob *job, const unsigned char *in, Py_ssize_t len);
int64_t fc_zstd_scan(fc_djob *job, const unsigned char *in, Py_ssize_t len);
int64_t fc_lz4_scan(fc_djob *job, const unsigned char *in, Py_ssize_t len);
void fc_gzip_piece_task(void *job, int64_t i);
void fc_zstd_piece_task(void *job, int64_t i);
void fc_lz4_piece_task(void *job, int64_t i);
/* lz4: verify the frame's content checksum, if any, after a parallel
 * decode (no GIL); -1 with job->err on mismatch. */
int fc_lz4_scan_finish(fc_djob *job, const unsigned char *in,
                       Py_ssize_t len, const unsigned char *out,
                       Py_ssize_t out_len);
int fc_djob_alloc(fc_djob *job, int64_t n);
void fc_djob_free(fc_djob *job);

/* Frame header of a lz4 frame with independent blocks of FC_LZ4_BLOCK and
 * the content size; writes FC_LZ4_HEADER bytes. */
#define FC_LZ4_HEADER 15
void fc_lz4_write_header(unsigned char *p, uint64_t content_size);

/* Names of the libraries serving each job, for info(). */
int fc_zlib_info(PyObject *backends);

#endif
