/* codec/zstd.c - zstd (libzstd): the table entry of codec "zstd" and
 * everything behind it.
 *
 *   compress():  one frame per block with its content size and checksum;
 *                a block is 4x the level's window (at least 4 MiB, at most
 *                32 MiB; the last two blocks' worth in halves below the
 *                slice level), which keeps the output within ~0.5% of one
 *                frame while letting both directions run in parallel; on
 *                one thread at slow levels, the same frames streamed in
 *                slices so that Ctrl-C is seen between them;
 *   decompress(): frames of known size in parallel, anything else through
 *                a streaming decoder;
 *   streams:     ZSTD_CCtx/ZSTD_DCtx (compressStream2/decompressStream),
 *                allocating through PyMem_Raw*; threads > 1 are libzstd's
 *                own workers.
 * A dictionary comes digested (the `dict` of a job, decoder or stream:
 * a ZSTD_CDict or ZSTD_DDict from zstd_dict.c) and is only referenced;
 * cached contexts drop it when they are taken again (the parameter
 * reset in get_cctx()/get_dctx()).
 *
 * No Python API except in the stream inits and info() (GIL held).
 */
#define ZSTD_STATIC_LINKING_ONLY   /* ZSTD_customMem, ZSTD_create*_advanced */
#include "codec/codec.h"

#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

#define NAME "zstd"
/* Levels from SLOW_LEVEL on manage a few MB/s: compress() on one thread
 * streams its frames in slices of SLICE input bytes, streams take small
 * steps. */
#define SLOW_LEVEL 10
#define SLICE ((Py_ssize_t)1 << 20)
/* Slow levels feed their input this much at a time (one zstd block) and
 * look for a stop (Ctrl-C, a cancelled fastconc.submit/aio call) between
 * steps: tens of ms at level 19, where a slice can take a second. */
#define STEP ((size_t)128 << 10)
/* Below SLOW_LEVEL, the end of the input in blocks this many times
 * smaller.  Frames stay >= 4 MiB: 2 MiB frames (the level-3 window) cost
 * up to 5% on data with long repeats. */
#define TAIL_SPLIT 2
/* Frame (block) sizes: see block_size(). */
#define FRAME_MIN ((Py_ssize_t)4 << 20)
#define FRAME_MAX ((Py_ssize_t)32 << 20)

static void
free_cctx(void *p)
{
    ZSTD_freeCCtx(p);
}

static void
free_dctx(void *p)
{
    ZSTD_freeDCtx(p);
}

/* A compression context from the cache (reset) or a new one. */
static ZSTD_CCtx *
get_cctx(fc_codec_cache *cache)
{
    ZSTD_CCtx *c = fc_ctx_get(cache, FC_CTX_ZSTD_C);
    if (c != NULL) {
        ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters);
        return c;
    }
    return ZSTD_createCCtx();
}

static ZSTD_DCtx *
get_dctx(fc_codec_cache *cache, int kind)
{
    ZSTD_DCtx *d = fc_ctx_get(cache, kind);
    if (d != NULL) {
        ZSTD_DCtx_reset(d, ZSTD_reset_session_and_parameters);
        return d;
    }
    return ZSTD_createDCtx();
}

static Py_ssize_t
block_size(int level)
{
    /* libzstd's window log per level for inputs of unknown size (its
     * default parameter table; negative levels use level 1's). */
    static const unsigned char wlog[23] = {
        19, 19, 20, 21, 21, 21, 21, 21, 22, 22, 22, 22,
        22, 22, 22, 22, 22, 23, 23, 23, 25, 26, 27,
    };
    int i = level < 1 ? 1 : level > 22 ? 22 : level;
    Py_ssize_t size = (Py_ssize_t)4 << wlog[i];
    if (size < FRAME_MIN) {
        size = FRAME_MIN;
    }
    if (size > FRAME_MAX) {
        size = FRAME_MAX;
    }
    return size;
}

static fc_codec_layout
layout(int level, Py_ssize_t len, int threads)
{
    (void)len;
    (void)threads;
    /* The slice path for slow levels keeps equal frames. */
    return (fc_codec_layout){block_size(level),
                             level < SLOW_LEVEL ? TAIL_SPLIT : 0};
}

static Py_ssize_t
block_bound(const fc_cjob *job, Py_ssize_t n)
{
    (void)job;
    return (Py_ssize_t)ZSTD_compressBound((size_t)n);
}

static void
block_task(void *arg, int64_t i)
{
    fc_cjob *job = arg;
    const unsigned char *src = job->src + fc_cjob_start(job, i);
    Py_ssize_t n = fc_cjob_size(job, i);
    ZSTD_CCtx *cctx = get_cctx(job->cache);
    if (cctx == NULL) {
        fc_cjob_fail(job, FC_CERR_NOMEM, 0, NULL);
        return;
    }
    size_t r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel,
                                      job->level);
    if (!ZSTD_isError(r)) {
        /* A content checksum per frame, as the zstd tool writes: without
         * it a flipped bit in literals decodes to wrong bytes silently. */
        r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    }
    if (!ZSTD_isError(r) && job->dict != NULL) {
        r = ZSTD_CCtx_refCDict(cctx, job->dict);
    }
    if (!ZSTD_isError(r) && job->level >= SLOW_LEVEL && n > SLICE) {
        /* A slow level: a 32 MiB frame can take seconds, so it is fed in
         * slices with a look at Ctrl-C between them (the batch is then
         * cancelled and the output thrown away). */
        r = ZSTD_CCtx_setPledgedSrcSize(cctx, (unsigned long long)n);
        ZSTD_inBuffer in = {src, 0, 0};
        ZSTD_outBuffer out = {fc_cjob_dst(job, i), (size_t)job->slot, 0};
        while (!ZSTD_isError(r) && !fc_pool_should_stop()) {
            size_t left = (size_t)n - in.size;
            int end = left <= STEP;
            in.size += end ? left : STEP;
            do {
                r = ZSTD_compressStream2(cctx, &out, &in,
                                         end ? ZSTD_e_end : ZSTD_e_continue);
            } while (!ZSTD_isError(r) && (in.pos < in.size || (end && r)));
            if (end) {
                r = ZSTD_isError(r) ? r : out.pos;
                break;
            }
        }
        if (!ZSTD_isError(r) && in.pos < (size_t)n) {
            fc_ctx_put(job->cache, FC_CTX_ZSTD_C, cctx, free_cctx);
            return;     /* stopped */
        }
    }
    else if (!ZSTD_isError(r)) {
        /* One-shot (faster and smaller than streaming the same frame);
         * the frame records its content size. */
        r = ZSTD_compress2(cctx, fc_cjob_dst(job, i), (size_t)job->slot,
                           src, (size_t)n);
    }
    fc_ctx_put(job->cache, FC_CTX_ZSTD_C, cctx, free_cctx);
    if (ZSTD_isError(r)) {
        fc_cjob_fail(job, FC_CERR_COMPRESS, (long long)r,
                     ZSTD_getErrorName(r));
        return;
    }
    fc_cjob_done(job, i, (Py_ssize_t)r);
}

/* Frames take seconds at high levels: on one thread they are streamed in
 * slices so that Ctrl-C is checked between slices (streaming is a little
 * slower and larger, so fast levels keep one-shot frames). */
static int64_t
slices(const fc_cjob *job)
{
    if (job->len <= SLICE || job->level < SLOW_LEVEL) {
        return 0;
    }
    return (job->len + SLICE - 1) / SLICE;
}

static void
slice_task(void *arg, int64_t k)
{
    fc_cjob *job = arg;
    if (job->failed) {
        return;
    }
    ZSTD_CCtx *cctx = job->ctx;
    if (cctx == NULL) {
        cctx = job->ctx = get_cctx(job->cache);
        if (cctx == NULL) {
            fc_cjob_fail(job, FC_CERR_NOMEM, 0, NULL);
            return;
        }
    }
    Py_ssize_t start = (Py_ssize_t)k * SLICE;
    Py_ssize_t n = job->len - start < SLICE ? job->len - start : SLICE;
    Py_ssize_t frame_start = start / job->block * job->block;
    Py_ssize_t frame_len = job->len - frame_start < job->block
                           ? job->len - frame_start : job->block;
    size_t r;
    if (start == frame_start) {
        /* A new frame: same parameters, its size recorded in the header. */
        ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
        r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel,
                                   job->level);
        if (!ZSTD_isError(r)) {
            r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
        }
        if (!ZSTD_isError(r) && job->dict != NULL) {
            r = ZSTD_CCtx_refCDict(cctx, job->dict);
        }
        if (!ZSTD_isError(r)) {
            r = ZSTD_CCtx_setPledgedSrcSize(cctx,
                                            (unsigned long long)frame_len);
        }
        if (ZSTD_isError(r)) {
            fc_cjob_fail(job, FC_CERR_COMPRESS, (long long)r,
                         ZSTD_getErrorName(r));
            return;
        }
    }
    int end = start + n == frame_start + frame_len;
    ZSTD_inBuffer in = {job->src + start, 0, 0};
    Py_ssize_t cap = job->slot * (job->nblocks > 0 ? job->nblocks : 1);
    ZSTD_outBuffer out = {job->dst, (size_t)cap, (size_t)job->packed_pos};
    for (;;) {
        size_t left = (size_t)n - in.size;
        in.size += left < STEP ? left : STEP;
        int last = end && in.size == (size_t)n;
        do {
            r = ZSTD_compressStream2(cctx, &out, &in,
                                     last ? ZSTD_e_end : ZSTD_e_continue);
            if (ZSTD_isError(r)) {
                fc_cjob_fail(job, FC_CERR_COMPRESS, (long long)r,
                             ZSTD_getErrorName(r));
                return;
            }
        } while (in.pos < in.size || (last && r != 0));
        if (in.size == (size_t)n) {
            break;
        }
        if (fc_pool_should_stop()) {
            return;     /* the run is cancelled: the output is thrown away */
        }
    }
    job->packed_pos = (Py_ssize_t)out.pos;
}

static void
slice_end(fc_cjob *job)
{
    fc_ctx_put(job->cache, FC_CTX_ZSTD_C, job->ctx, free_cctx);
    job->ctx = NULL;
}

/* --- frames for parallel decompression ----------------------------------- */

static int64_t
scan(fc_djob *job, const unsigned char *in, Py_ssize_t len)
{
    size_t pos = 0, total = (size_t)len;
    int64_t n = 0;
    unsigned long long out_total = 0;
    /* First pass: every frame must have a known size. */
    while (pos < total) {
        size_t fsize = ZSTD_findFrameCompressedSize(in + pos, total - pos);
        if (ZSTD_isError(fsize)) {
            return 0;
        }
        unsigned long long c = ZSTD_getFrameContentSize(in + pos,
                                                        total - pos);
        if (c == ZSTD_CONTENTSIZE_UNKNOWN || c == ZSTD_CONTENTSIZE_ERROR ||
            c > (unsigned long long)PY_SSIZE_T_MAX - out_total) {
            return 0;
        }
        out_total += c;
        pos += fsize;
        n++;
    }
    /* A frame's content size is a claim: past a plausible ratio, decode
     * as a stream (which grows the output as the data really expands). */
    if (n == 0 || out_total > (unsigned long long)total * 64 + (1u << 20)) {
        return 0;
    }
    if (fc_djob_alloc(job, n) < 0) {
        return -1;
    }
    pos = 0;
    for (int64_t i = 0; i < n; i++) {
        size_t fsize = ZSTD_findFrameCompressedSize(in + pos, total - pos);
        job->in_off[i] = (Py_ssize_t)pos;
        job->in_len[i] = (Py_ssize_t)fsize;
        job->out_len[i] = (Py_ssize_t)ZSTD_getFrameContentSize(in + pos,
                                                               total - pos);
        pos += fsize;
    }
    return n;
}

static void
piece_task(void *arg, int64_t i)
{
    fc_djob *job = arg;
    ZSTD_DCtx *dctx = get_dctx(job->cache, FC_CTX_ZSTD_D);
    if (dctx == NULL) {
        fc_djob_fail(job, FC_CERR_NOMEM, 0, NULL, -1);
        return;
    }
    size_t r = job->dict != NULL
        ? ZSTD_decompress_usingDDict(dctx, job->out + job->out_off[i],
                                     (size_t)job->out_len[i],
                                     job->in + job->in_off[i],
                                     (size_t)job->in_len[i], job->dict)
        : ZSTD_decompressDCtx(dctx, job->out + job->out_off[i],
                              (size_t)job->out_len[i],
                              job->in + job->in_off[i],
                              (size_t)job->in_len[i]);
    fc_ctx_put(job->cache, FC_CTX_ZSTD_D, dctx, free_dctx);
    if (ZSTD_isError(r) || r != (size_t)job->out_len[i]) {
        fc_djob_fail(job, FC_CERR_ZSTD, (long long)r, NULL, job->in_off[i]);
    }
}

/* A large frame with its content size: start at that size. */
static Py_ssize_t
size_hint(const unsigned char *in, Py_ssize_t len, Py_ssize_t hint)
{
    unsigned long long c = ZSTD_getFrameContentSize(in, (size_t)len);
    if (c < ZSTD_CONTENTSIZE_ERROR && c > (unsigned long long)hint &&
        c / 64 <= (unsigned long long)len + (1u << 20)) {
        return (Py_ssize_t)c + 1;
    }
    return hint;
}

/* --- whole-input decoder ------------------------------------------------- */

typedef struct {
    ZSTD_DCtx *dctx;
    fc_codec_cache *cache;
    int in_frame;
    size_t frame_out;               /* out_pos where the frame began */
    unsigned long long frame_size;  /* its header's content size, if any */
} zsdec;

static void
zsdec_free(fc_dec *d)
{
    zsdec *z = d->impl;
    if (z) {
        /* Streaming contexts keep their window buffer: worth reusing. */
        fc_ctx_put(z->cache, FC_CTX_ZSTD_DSTREAM, z->dctx, free_dctx);
        PyMem_RawFree(z);
    }
    d->impl = NULL;
}

static int
zsdec_run(fc_dec *d, const unsigned char *in, size_t in_len, size_t *in_pos,
          unsigned char *out, size_t out_cap, size_t *out_pos,
          fc_codec_err *err)
{
    zsdec *z = d->impl;
    size_t stop = *out_pos + FC_DEC_STEP;
    if (stop > out_cap) {
        stop = out_cap;
    }
    if (in_len == 0) {
        fc_codec_err_set(err, FC_CERR_TRUNCATED, NAME, 0, NULL, 0);
        return FC_DEC_ERR;
    }
    for (;;) {
        if (!z->in_frame) {
            /* libzstd's streaming decoder checks Frame_Content_Size only
             * when the whole frame comes in one call with room for it:
             * check it at the frame's end (below) on every path. */
            z->in_frame = 1;
            z->frame_out = *out_pos;
            z->frame_size = ZSTD_getFrameContentSize(in + *in_pos,
                                                     in_len - *in_pos);
        }
        ZSTD_inBuffer ib = {in, in_len, *in_pos};
        ZSTD_outBuffer ob = {out, stop, *out_pos};
        size_t r = ZSTD_decompressStream(z->dctx, &ob, &ib);
        *in_pos = ib.pos;
        *out_pos = ob.pos;
        if (ZSTD_isError(r)) {
            fc_codec_err_set(err, FC_CERR_ZSTD, NAME, (long long)r,
                             NULL, (int64_t)ib.pos);
            return FC_DEC_ERR;
        }
        if (r == 0) {
            z->in_frame = 0;
            if (z->frame_size < ZSTD_CONTENTSIZE_ERROR &&
                z->frame_size != (unsigned long long)(*out_pos -
                                                      z->frame_out)) {
                fc_codec_err_set(err, FC_CERR_CORRUPT, NAME, 0,
                                 "frame content size does not match the "
                                 "frame header", (int64_t)*in_pos);
                return FC_DEC_ERR;
            }
            if (*in_pos >= in_len) {
                return FC_DEC_DONE;
            }
            if (*out_pos >= stop) {
                return FC_DEC_AGAIN;
            }
            continue;           /* the next frame */
        }
        if (*out_pos < stop && *in_pos >= in_len) {
            fc_codec_err_set(err, FC_CERR_TRUNCATED, NAME, 0, NULL,
                             (int64_t)*in_pos);
            return FC_DEC_ERR;
        }
        return FC_DEC_AGAIN;
    }
}

static int
dec_init(fc_dec *d, fc_codec_err *err)
{
    zsdec *z = PyMem_RawCalloc(1, sizeof(zsdec));
    if (z == NULL ||
        (z->dctx = get_dctx(d->cache, FC_CTX_ZSTD_DSTREAM)) == NULL) {
        PyMem_RawFree(z);
        fc_codec_err_set(err, FC_CERR_NOMEM, NAME, 0, NULL, -1);
        return -1;
    }
    if (d->dict != NULL) {
        /* Cannot fail on a freshly reset context. */
        ZSTD_DCtx_refDDict(z->dctx, d->dict);
    }
    z->cache = d->cache;
    d->impl = z;
    d->run = zsdec_run;
    d->free = zsdec_free;
    return 0;
}

/* --- streams ------------------------------------------------------------- */

static void *
alloc_raw(void *opaque, size_t size)
{
    (void)opaque;
    return PyMem_RawMalloc(size);
}

static void
free_raw(void *opaque, void *ptr)
{
    (void)opaque;
    PyMem_RawFree(ptr);
}

/* Library calls run without the GIL: allocate with PyMem_Raw*. */
static const ZSTD_customMem raw_mem = {alloc_raw, free_raw, NULL};

static int
cs_step(void *impl, fc_step_io *io, int mode, fc_codec_err *err)
{
    ZSTD_inBuffer in = {io->in, io->in_len, 0};
    ZSTD_outBuffer out = {io->out, io->out_len, 0};
    size_t rc = ZSTD_compressStream2(impl, &out, &in,
                                     mode == FC_STEP_END ? ZSTD_e_end
                                     : mode == FC_STEP_BLOCK ? ZSTD_e_flush
                                     : ZSTD_e_continue);
    io->in_len = in.pos;
    io->out_len = out.pos;
    if (ZSTD_isError(rc)) {
        fc_codec_err_set(err, ZSTD_getErrorCode(rc) ==
                         ZSTD_error_memory_allocation ? FC_CERR_NOMEM
                         : FC_CERR_COMPRESS, NAME, 0,
                         ZSTD_getErrorName(rc), -1);
        return -1;
    }
    return mode != FC_STEP_CONTINUE && rc == 0 ? 1 : 0;
}

static void
cs_free(void *impl)
{
    ZSTD_freeCCtx(impl);
}

static int
cs_init(fc_stream *s, int codec, int level, int threads)
{
    (void)codec;
    size_t rc;
    ZSTD_CCtx *c = ZSTD_createCCtx_advanced(raw_mem);
    if (c == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    rc = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
    if (!ZSTD_isError(rc)) {
        /* The zstd command writes a checksum too. */
        rc = ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
    }
    if (!ZSTD_isError(rc) && s->dict != NULL) {
        rc = ZSTD_CCtx_refCDict(c, s->dict);
    }
    if (ZSTD_isError(rc)) {
        PyErr_Format(PyExc_ValueError, "zstd: %s", ZSTD_getErrorName(rc));
        ZSTD_freeCCtx(c);
        return -1;
    }
    if (threads > 1) {
        rc = ZSTD_CCtx_setParameter(c, ZSTD_c_nbWorkers, threads);
        if (ZSTD_isError(rc)) {
            PyErr_Format(PyExc_ValueError,
                         "zstd: threads=%d is not available: this "
                         "libzstd was built without multithreading (%s)",
                         threads, ZSTD_getErrorName(rc));
            ZSTD_freeCCtx(c);
            return -1;
        }
    }
    s->impl = c;
    s->step = cs_step;
    s->free = cs_free;
    s->step_in = level >= SLOW_LEVEL ? FC_STREAM_STEP_IN_SLOW
                                      : FC_STREAM_STEP_IN;
    return 0;
}

/* A stream decoder: libzstd's context, and what it takes to check the
 * frame's Frame_Content_Size at its end, which ZSTD_decompressStream
 * checks only when the whole frame comes in one call with room for it:
 * the frame's first bytes as they are consumed (the header) and the
 * bytes made so far. */
typedef struct {
    ZSTD_DCtx *dctx;
    unsigned char head[ZSTD_FRAMEHEADERSIZE_MAX];
    size_t head_len;
    unsigned long long size;        /* the header's, or an error code */
    unsigned long long made;
} zds;

static int
ds_step(void *impl, fc_step_io *io, int mode, fc_codec_err *err)
{
    zds *z = impl;
    (void)mode;
    ZSTD_inBuffer in = {io->in, io->in_len, 0};
    ZSTD_outBuffer out = {io->out, io->out_len, 0};
    size_t rc = ZSTD_decompressStream(z->dctx, &out, &in);
    io->in_len = in.pos;
    io->out_len = out.pos;
    if (ZSTD_isError(rc)) {
        fc_codec_err_set(err, FC_CERR_ZSTD, NAME, (long long)rc, NULL, -1);
        return -1;
    }
    if (z->size == ZSTD_CONTENTSIZE_ERROR &&
        z->head_len < sizeof z->head) {
        size_t n = sizeof z->head - z->head_len;
        n = n < in.pos ? n : in.pos;
        memcpy(z->head + z->head_len, io->in, n);
        z->head_len += n;
        z->size = ZSTD_getFrameContentSize(z->head, z->head_len);
    }
    z->made += out.pos;
    if (rc != 0) {
        return 0;
    }
    unsigned long long size = z->size, made = z->made;
    z->head_len = 0;
    z->size = ZSTD_CONTENTSIZE_ERROR;
    z->made = 0;
    if (size < ZSTD_CONTENTSIZE_ERROR && size != made) {
        fc_codec_err_set(err, FC_CERR_CORRUPT, NAME, 0,
                         "frame content size does not match the frame "
                         "header", -1);
        return -1;
    }
    return 1;
}

static void
ds_free(void *impl)
{
    zds *z = impl;
    ZSTD_freeDCtx(z->dctx);
    PyMem_RawFree(z);
}

static int
ds_init(fc_stream *s, int codec, const unsigned char *head, Py_ssize_t n)
{
    (void)codec;
    (void)head;
    (void)n;
    zds *z = PyMem_RawCalloc(1, sizeof(zds));
    if (z == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    z->size = ZSTD_CONTENTSIZE_ERROR;
    z->dctx = ZSTD_createDCtx_advanced(raw_mem);
    if (z->dctx == NULL) {
        PyMem_RawFree(z);
        PyErr_NoMemory();
        return -1;
    }
    if (s->dict != NULL) {
        size_t rc = ZSTD_DCtx_refDDict(z->dctx, s->dict);
        if (ZSTD_isError(rc)) {
            PyErr_Format(PyExc_ValueError, "zstd: %s",
                         ZSTD_getErrorName(rc));
            ds_free(z);
            return -1;
        }
    }
    s->impl = z;
    s->step = ds_step;
    s->free = ds_free;
    return 0;
}

/* --- the table entry ----------------------------------------------------- */

static int
magic(const unsigned char *p, Py_ssize_t n)
{
    if (n < 4) {
        return (p[0] == 0x28 && p[1] == 0xb5) ||
               ((p[0] & 0xf0) == 0x50 && p[1] == 0x2a) ? FC_MAGIC_MORE
                                                        : FC_MAGIC_NO;
    }
    uint32_t m = (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
                 ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    /* Skippable frames (0x184D2A50..5F) are shared by zstd and lz4; zstd
     * writes them far more often (seekable format, pzstd). */
    return m == 0xFD2FB528u || (m & 0xFFFFFFF0u) == 0x184D2A50u
           ? FC_MAGIC_YES : FC_MAGIC_NO;
}

static fc_codec_levels
levels(void)
{
    /* As zstd -N; 0 means the default, as in libzstd. */
    return (fc_codec_levels){ZSTD_minCLevel(), ZSTD_maxCLevel(),
                             ZSTD_CLEVEL_DEFAULT, 0, "0 = default 3"};
}

static int
info(int codec, PyObject *backends, PyObject *parallel)
{
    (void)codec;
    /* The only parallel stream: libzstd's workers, when it has them. */
    ZSTD_bounds b = ZSTD_cParam_getBounds(ZSTD_c_nbWorkers);
    int mt = !ZSTD_isError(b.error) && b.upperBound > 0;
    if (fc_dict_set_str(backends, "zstd", "libzstd (one frame per block of "
                        "4x the window, at least 4 MiB; the last two in "
                        "halves)") < 0 ||
        fc_dict_set_str(backends, "zstd decompress", "libzstd") < 0 ||
        fc_dict_set_str(backends, "zstd stream",
                        mt ? "libzstd CCtx/DCtx streams (threads>1: libzstd "
                             "workers)"
                           : "libzstd CCtx/DCtx streams (no workers)") < 0 ||
        PyDict_SetItemString(parallel, "zstd compress", Py_True) < 0 ||
        PyDict_SetItemString(parallel, "zstd decompress", Py_True) < 0 ||
        PyDict_SetItemString(parallel, "zstd stream",
                             mt ? Py_True : Py_False) < 0) {
        return -1;
    }
    return 0;
}

static const char *const suffixes[] = {".zst", ".zstd", NULL};

const fc_codec_ops fc_codec_zstd = {
    .name = NAME,
    .label = "zstd",
    .suffixes = suffixes,
    .magic = magic,
    .levels = levels,
    .layout = layout,
    .block_bound = block_bound,
    .block_task = block_task,
    .slices = slices,
    .slice_task = slice_task,
    .slice_end = slice_end,
    .dec_init = dec_init,
    .size_hint = size_hint,
    .scan = scan,
    .piece_task = piece_task,
    .cs_threads = 1,
    .cs_init = cs_init,
    .ds_init = ds_init,
    .info = info,
};
