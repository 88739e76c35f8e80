/* codec/job.h - the shared helpers below the codec back ends: the shapes a
 * back end fills in or works on, and job.c's helpers for them.
 *
 *   fc_codec_cache  library contexts kept between calls (zstd, libdeflate,
 *                   isa-l, zlib), shared by every call of the module;
 *   fc_cjob         one input cut into blocks compressed on the pool;
 *   fc_djob         a compressed input of known pieces decoded on the pool;
 *   fc_dec          a whole-input decoder stepped by the caller;
 *   fc_stream       the library context behind a Compressor/Decompressor;
 *   fc_advise_huge  the huge-page hint for large outputs.
 *
 * Nothing here knows a codec: back ends include this (through codec.h),
 * never the other way round.  No GIL needed for any function here except
 * fc_codec_cache_new()/fc_codec_cache_free() (exec and module clear).
 */
#ifndef FC_CODEC_JOB_H
#define FC_CODEC_JOB_H

#include "codec/errors.h"

#include <pthread.h>

/* --- the context cache --------------------------------------------------- */

/* A small cache of library contexts, so that many small items do not pay
 * for a context each.  Its mutex is only ever try-locked: when busy (or
 * inherited locked across fork()) the caller simply makes a fresh
 * context.  Kinds, one cache line per library context type: */
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

/* A cached context of this kind, or NULL (make one); cache may be NULL. */
void *fc_ctx_get(fc_codec_cache *cache, int kind);
/* Give a context back (freed with free_fn when the cache is full). */
void fc_ctx_put(fc_codec_cache *cache, int kind, void *ctx,
                void (*free_fn)(void *));
/* The module's cache (NULL with MemoryError), and its end. */
fc_codec_cache *fc_codec_cache_new(void);
void fc_codec_cache_free(fc_codec_cache *cache);

/* --- compression jobs ---------------------------------------------------- */

/* The input cut into blocks, block i compressed (without the GIL, by the
 * codec's block task) into dst + i * slot, its size stored in out_len[i].
 * Blocks 0 .. nfull-1 are `block` bytes, the rest (the end of the input,
 * cut finer so that threads finish together) `tail` bytes, the last one
 * possibly shorter; see fc_cjob_cut(). */
typedef struct fc_cjob {
    int codec;
    const char *name;           /* the codec's, for error records */
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
    uint32_t *check;            /* a check value per block (zlib: adler32) */
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
    void *ctx;                  /* a back end's context kept across the
                                 * slices of a sliced job */
    const void *dict;           /* the codec's digested dictionary (zstd:
                                 * a ZSTD_CDict for this level), or NULL;
                                 * the caller keeps it alive */
    int failed;                 /* set atomically by the first error */
    fc_codec_err err;
} fc_cjob;

/* A job over src[0 .. len) with the module's kernels and cache. */
void fc_cjob_init(fc_cjob *job, fc_state *st, int codec, const char *name,
                  int level, const unsigned char *src, Py_ssize_t len);

/* Cut the input into blocks of `block` bytes (one block when it fits).
 * tail_split > 0: with more than two blocks, the last two blocks' worth
 * is cut tail_split times finer.  Blocks are claimed in order, so the
 * thread that runs out of big blocks first takes small ones while the
 * others finish theirs: threads end within a fraction of a block of each
 * other instead of up to a whole one, in both directions (pieces decode
 * in parallel the same way), for a few more headers. */
void fc_cjob_cut(fc_cjob *job, Py_ssize_t block, int tail_split);

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

/* --- decompression of known pieces --------------------------------------- */

/* `n` pieces: piece i is in[in_off[i] .. in_off[i] + in_len[i]) and
 * decodes to exactly out_len[i] bytes at out + out_off[i].  The codec's
 * scan fills the pieces (arrays from fc_djob_alloc()), its piece task
 * decodes one. */
typedef struct fc_djob {
    int codec;
    const char *name;           /* the codec's, for error records */
    const unsigned char *in;
    unsigned char *out;
    int64_t n;
    Py_ssize_t *in_off, *in_len, *out_off, *out_len;
    int piece_sum;              /* scan: each piece is followed by a
                                 * checksum its task verifies */
    const void *dict;           /* the codec's digested dictionary (zstd:
                                 * a ZSTD_DDict), or NULL */
    fc_codec_cache *cache;      /* may be NULL */
    int failed;
    fc_codec_err err;
} fc_djob;

void fc_djob_fail(fc_djob *job, int kind, long long code, const char *msg,
                  int64_t offset);
/* Room for n pieces (at least one) in PyMem_Raw arrays; -1 on no memory
 * (nothing held). */
int fc_djob_alloc(fc_djob *job, int64_t n);
void fc_djob_free(fc_djob *job);
/* Place the pieces one after the other (fills out_off); the total output
 * size, or -1 when a piece is larger than piece_max or the total does not
 * fit a Py_ssize_t. */
Py_ssize_t fc_djob_place(fc_djob *job, Py_ssize_t piece_max);

/* --- whole-input decoders ------------------------------------------------ */

/* run() decodes from in[*in_pos] into out[*out_pos .. out_cap) and returns
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
    const char *name;           /* the codec's, for error records */
    fc_codec_cache *cache;      /* may be NULL */
    const void *dict;           /* as fc_djob's */
    void *impl;
    int (*run)(struct fc_dec *d, const unsigned char *in, size_t in_len,
               size_t *in_pos, unsigned char *out, size_t out_cap,
               size_t *out_pos, fc_codec_err *err);
    void (*free)(struct fc_dec *d);
} fc_dec;

/* Free what the decoder holds (safe on a decoder never set up). */
void fc_dec_free(fc_dec *d);

/* --- streams ------------------------------------------------------------- */

/* One library call: what went in and came out. */
typedef struct fc_step_io {
    const unsigned char *in;
    size_t in_len;      /* in: available; out: consumed */
    unsigned char *out;
    size_t out_len;     /* in: room; out: produced */
} fc_step_io;

/* What a compression step does after taking its input (FC_STEP_BLOCK and
 * FC_STEP_END only with the last of the input). */
enum {
    FC_STEP_CONTINUE,   /* nothing more: output what is ready */
    FC_STEP_BLOCK,      /* end the current block(s): all input so far
                         * decodes */
    FC_STEP_END,        /* finish the stream */
    FC_STEP_FULL,       /* as FC_STEP_BLOCK, and what follows does not
                         * refer to what came before (only for codecs
                         * whose cs_full_flush says so) */
};

/* The library context behind one Compressor or Decompressor, filled by
 * the codec's stream init (which picks the library, e.g. isa-l or zlib). */
typedef struct fc_stream {
    /* In, set before the codec's init: its digested dictionary (zstd: a
     * ZSTD_CDict or ZSTD_DDict), or NULL; the owner keeps it alive. */
    const void *dict;
    void *impl;
    /* One library call.  Compressors: returns 1 when the block flush or
     * the end asked by mode is complete, 0 when more calls are needed.
     * Decompressors (mode unused): 1 at the end of the member/frame, 0
     * otherwise.  -1: error recorded in err.  No Python API: may run
     * without the GIL. */
    int (*step)(void *impl, fc_step_io *io, int mode, fc_codec_err *err);
    /* Decompressors: start the next stream with the same settings (NULL:
     * not supported). */
    void (*reset)(void *impl);
    void (*free)(void *impl);
    /* Compressors: input bytes per step (bounds the time between signal
     * checks), and the output room a step over in_len bytes needs (NULL:
     * any room, the step stops when it is full). */
    Py_ssize_t step_in;
    Py_ssize_t (*out_need)(void *impl, Py_ssize_t in_len);
} fc_stream;

/* Compressors' step_in: input per library call, so that Ctrl-C is
 * checked every few tens of ms (and zlib's unsigned int counters never
 * overflow); slow levels (a few MB/s) get the smaller step. */
#define FC_STREAM_STEP_IN ((Py_ssize_t)1 << 20)
#define FC_STREAM_STEP_IN_SLOW ((Py_ssize_t)128 << 10)

/* Free what the stream holds (safe on one never set up). */
void fc_stream_free(fc_stream *s);

/* --- output buffers ------------------------------------------------------ */

/* Ask for transparent huge pages for the interior of a large output that
 * is about to be written whole (advice only). */
void fc_advise_huge(void *p, Py_ssize_t n);

#endif
