/* codec/zstd.c - zstd for the one-shot and batch paths (libzstd): one
 * frame per block with its content size, a whole-input streaming decoder,
 * and the scan that finds frames for parallel decompression.  No Python
 * API here; everything runs with or without the GIL.
 *
 * Frames are independent: a block is 4x the level's window (at least
 * 4 MiB, at most 32 MiB; the last two blocks' worth in halves below the
 * slice level, see plan_blocks() in codec.c), which keeps the output
 * within ~0.5% of one frame while letting both directions run in
 * parallel.
 */
#include "codec/codec.h"

#include <string.h>
#include <zstd.h>

#define FRAME_MIN ((Py_ssize_t)4 << 20)

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
#define FRAME_MAX ((Py_ssize_t)32 << 20)

Py_ssize_t
fc_zstd_block_size(int level)
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

Py_ssize_t
fc_zstd_block_bound(const fc_cjob *job, Py_ssize_t n)
{
    (void)job;
    return (Py_ssize_t)ZSTD_compressBound((size_t)n);
}

void
fc_zstd_block_task(void *arg, int64_t i)
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
    if (!ZSTD_isError(r) && job->level >= FC_ZSTD_SLICE_LEVEL &&
        n > FC_ZSTD_SLICE) {
        /* A slow level: a 32 MiB frame can take seconds, so it is fed in
         * slices with a look at Ctrl-C between them (the batch is then
         * cancelled and the output thrown away). */
        r = ZSTD_CCtx_setPledgedSrcSize(cctx, (unsigned long long)n);
        ZSTD_inBuffer in = {src, 0, 0};
        ZSTD_outBuffer out = {fc_cjob_dst(job, i), (size_t)job->slot, 0};
        while (!ZSTD_isError(r) && !fc_pool_should_stop()) {
            size_t left = (size_t)n - in.size;
            int end = left <= (size_t)FC_ZSTD_SLICE;
            in.size += end ? left : (size_t)FC_ZSTD_SLICE;
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

void
fc_zstd_slice_task(void *arg, int64_t k)
{
    fc_cjob *job = arg;
    if (job->failed) {
        return;
    }
    ZSTD_CCtx *cctx = job->stream;
    if (cctx == NULL) {
        cctx = job->stream = get_cctx(job->cache);
        if (cctx == NULL) {
            fc_cjob_fail(job, FC_CERR_NOMEM, 0, NULL);
            return;
        }
    }
    Py_ssize_t start = (Py_ssize_t)k * FC_ZSTD_SLICE;
    Py_ssize_t n = job->len - start < FC_ZSTD_SLICE ? job->len - start
                                                    : FC_ZSTD_SLICE;
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
    ZSTD_inBuffer in = {job->src + start, (size_t)n, 0};
    Py_ssize_t cap = job->slot * (job->nblocks > 0 ? job->nblocks : 1);
    ZSTD_outBuffer out = {job->dst, (size_t)cap, (size_t)job->packed_pos};
    do {
        r = ZSTD_compressStream2(cctx, &out, &in,
                                 end ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(r)) {
            fc_cjob_fail(job, FC_CERR_COMPRESS, (long long)r,
                         ZSTD_getErrorName(r));
            return;
        }
    } while (in.pos < in.size || (end && r != 0));
    job->packed_pos = (Py_ssize_t)out.pos;
}

void
fc_zstd_slice_end(fc_cjob *job)
{
    fc_ctx_put(job->cache, FC_CTX_ZSTD_C, job->stream, free_cctx);
    job->stream = NULL;
}

/* --- frames for parallel decompression ------------------------------- */

int64_t
fc_zstd_scan(fc_djob *job, const unsigned char *in, Py_ssize_t len)
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

void
fc_zstd_piece_task(void *arg, int64_t i)
{
    fc_djob *job = arg;
    ZSTD_DCtx *dctx = get_dctx(job->cache, FC_CTX_ZSTD_D);
    if (dctx == NULL) {
        fc_djob_fail(job, FC_CERR_NOMEM, 0, NULL, -1);
        return;
    }
    size_t r = ZSTD_decompressDCtx(dctx, job->out + job->out_off[i],
                                   (size_t)job->out_len[i],
                                   job->in + job->in_off[i],
                                   (size_t)job->in_len[i]);
    fc_ctx_put(job->cache, FC_CTX_ZSTD_D, dctx, free_dctx);
    if (ZSTD_isError(r) || r != (size_t)job->out_len[i]) {
        fc_djob_fail(job, FC_CERR_ZSTD, (long long)r, NULL, job->in_off[i]);
    }
}

/* --- whole-input decoder ------------------------------------------------ */

typedef struct {
    ZSTD_DCtx *dctx;
    fc_codec_cache *cache;
    int in_frame;
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
        fc_codec_err_set(err, FC_CERR_TRUNCATED, FC_CODEC_ZSTD, 0, NULL, 0);
        return FC_DEC_ERR;
    }
    for (;;) {
        ZSTD_inBuffer ib = {in, in_len, *in_pos};
        ZSTD_outBuffer ob = {out, stop, *out_pos};
        size_t r = ZSTD_decompressStream(z->dctx, &ob, &ib);
        *in_pos = ib.pos;
        *out_pos = ob.pos;
        if (ZSTD_isError(r)) {
            fc_codec_err_set(err, FC_CERR_ZSTD, FC_CODEC_ZSTD, (long long)r,
                             NULL, (int64_t)ib.pos);
            return FC_DEC_ERR;
        }
        if (r == 0) {
            z->in_frame = 0;
            if (*in_pos >= in_len) {
                return FC_DEC_DONE;
            }
            if (*out_pos >= stop) {
                return FC_DEC_AGAIN;
            }
            continue;           /* the next frame */
        }
        z->in_frame = 1;
        if (*out_pos < stop && *in_pos >= in_len) {
            fc_codec_err_set(err, FC_CERR_TRUNCATED, FC_CODEC_ZSTD, 0, NULL,
                             (int64_t)*in_pos);
            return FC_DEC_ERR;
        }
        return FC_DEC_AGAIN;
    }
}

int
fc_zstd_dec_init(fc_dec *d, fc_codec_err *err)
{
    zsdec *z = PyMem_RawCalloc(1, sizeof(zsdec));
    if (z == NULL ||
        (z->dctx = get_dctx(d->cache, FC_CTX_ZSTD_DSTREAM)) == NULL) {
        PyMem_RawFree(z);
        fc_codec_err_set(err, FC_CERR_NOMEM, FC_CODEC_ZSTD, 0, NULL, -1);
        return -1;
    }
    z->cache = d->cache;
    d->codec = FC_CODEC_ZSTD;
    d->impl = z;
    d->run = zsdec_run;
    d->free = zsdec_free;
    return 0;
}
