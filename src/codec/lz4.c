/* codec/lz4.c - the LZ4 frame format (liblz4): the table entry of codec
 * "lz4" and everything behind it.
 *
 *   compress():  one frame of independent 4 MiB blocks with the content
 *                size, a checksum per block and the content checksum,
 *                blocks compressed in parallel on liblz4's block API
 *                (levels 3..12: lz4hc);
 *   decompress(): any frame (linked or independent blocks, block and
 *                content checksums, skippable frames, concatenated frames)
 *                on the block API, independent blocks of known size in
 *                parallel (each block's checksum checked by its task, the
 *                content checksum once all are decoded);
 *   streams:     liblz4's frame API (LZ4F), as the lz4 command writes.
 *
 * No Python API except in the stream inits and info() (GIL held).
 */
#include "codec/codec.h"

#include <string.h>
#include <lz4.h>
#include <lz4frame.h>
#include <lz4hc.h>
#include <xxhash.h>

#define NAME "lz4"

#define LZ4_MAGIC 0x184D2204u
#define LZ4_SKIP_MAGIC 0x184D2A50u     /* ..5F */
#define HIGH_BIT 0x80000000u
#define HISTORY 65536
/* fastconc's own frames: independent blocks of this size. */
#define BLOCK ((Py_ssize_t)4 << 20)
#define HEADER 15
/* After the blocks: the end mark and the content checksum. */
#define TRAILER 8
/* Streams: independent blocks with a content checksum, as the lz4
 * command writes them; blocks of 4 MiB, or 1 MiB at the slow high
 * compression levels: a block is compressed in one library call, so this
 * bounds the time between Ctrl-C checks (about 0.2 s at level 12), for
 * 0.3% in size (lz4's window is only 64 KiB). */
#define STREAM_BLOCK_ID LZ4F_max4MB
#define STREAM_BLOCK_ID_HC LZ4F_max1MB

static uint32_t
get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static void
put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* Frame header of a frame with independent blocks of BLOCK, the content
 * size and both checksums; writes HEADER bytes.  The checksums are what
 * the lz4 command writes by default (the content checksum) and what lets
 * a parallel decoder check each block on its own (block checksums): a
 * flipped bit otherwise decodes to wrong bytes without an error. */
static void
write_header(unsigned char *p, uint64_t content_size)
{
    put_le32(p, LZ4_MAGIC);
    /* version 01, independent blocks, block checksums, content size,
     * content checksum */
    p[4] = 0x40 | 0x20 | 0x10 | 0x08 | 0x04;
    p[5] = 0x70;                    /* blocks of at most 4 MiB */
    for (int i = 0; i < 8; i++) {
        p[6 + i] = (unsigned char)(content_size >> (8 * i));
    }
    p[14] = (unsigned char)((XXH32(p + 4, 10, 0) >> 8) & 0xff);
}

/* --- compression --------------------------------------------------------- */

static Py_ssize_t
block_bound(const fc_cjob *job, Py_ssize_t n)
{
    (void)job;
    /* Per block: liblz4's slack, the size word and the checksum. */
    Py_ssize_t blocks = n / BLOCK + 1;
    return n + n / 255 + blocks * (16 + 4 + 4);
}

/* Block i of the job may span several 4 MiB frame blocks (one-call
 * compression of a large item); each gets its 4-byte size word before
 * and its checksum (XXH32 of the block as stored) after. */
static void
block_task(void *arg, int64_t i)
{
    fc_cjob *job = arg;
    const unsigned char *src = job->src + fc_cjob_start(job, i);
    Py_ssize_t n = fc_cjob_size(job, i);
    unsigned char *dst = fc_cjob_dst(job, i);
    Py_ssize_t out = 0;
    void *hc = NULL;
    if (job->level >= 3) {
        hc = PyMem_RawMalloc((size_t)LZ4_sizeofStateHC());
        if (hc == NULL) {
            fc_cjob_fail(job, FC_CERR_NOMEM, 0, NULL);
            return;
        }
    }
    for (Py_ssize_t done = 0; done < n;) {
        int k = (int)(n - done < BLOCK ? n - done : BLOCK);
        int cap = LZ4_compressBound(k);
        int r = hc ? LZ4_compress_HC_extStateHC(hc, (const char *)src + done,
                                                (char *)dst + out + 4, k, cap,
                                                job->level)
                   : LZ4_compress_fast((const char *)src + done,
                                       (char *)dst + out + 4, k, cap, 1);
        if (r <= 0 || r >= k) {
            /* Incompressible: store the block as it is. */
            memcpy(dst + out + 4, src + done, (size_t)k);
            put_le32(dst + out, (uint32_t)k | HIGH_BIT);
            r = k;
        }
        else {
            put_le32(dst + out, (uint32_t)r);
        }
        put_le32(dst + out + 4 + r, XXH32(dst + out + 4, (size_t)r, 0));
        out += 4 + r + 4;
        done += k;
    }
    PyMem_RawFree(hc);
    fc_cjob_done(job, i, out);
}

/* The frame around the packed blocks: header, then the end mark and the
 * content checksum (XXH32 has no combine step: one pass over the input
 * here, after the blocks). */
static Py_ssize_t
frame_finish(const fc_cjob *job, unsigned char *base, Py_ssize_t body)
{
    write_header(base, (uint64_t)job->len);
    memset(base + HEADER + body, 0, 4);
    put_le32(base + HEADER + body + 4,
             XXH32(job->src, (size_t)job->len, 0));
    return HEADER + body + TRAILER;
}

static fc_codec_layout
layout(int level, Py_ssize_t len, int threads)
{
    (void)level;
    (void)len;
    (void)threads;
    return (fc_codec_layout){BLOCK, 0};
}

/* --- frame header parsing ------------------------------------------------ */

typedef struct {
    size_t header;          /* header bytes */
    size_t bmax;            /* block maximum size */
    int indep, bsum, csum, has_size;
    uint64_t size;
} l4frame;

/* Parse a frame header at p (avail bytes).  Returns 1 ok, 0 need more
 * bytes, -1 invalid (msg set). */
static int
parse_header(const unsigned char *p, size_t avail, l4frame *f,
             const char **msg)
{
    static const size_t bmax[4] = {64 << 10, 256 << 10, 1 << 20, 4 << 20};
    if (avail < 7) {
        return 0;
    }
    unsigned flg = p[4], bd = p[5];
    if ((flg >> 6) != 1) {
        *msg = "unsupported frame version";
        return -1;
    }
    if (flg & 0x02 || bd & 0x8f) {
        *msg = "reserved bits set in the frame header";
        return -1;
    }
    if ((bd >> 4) < 4) {
        *msg = "invalid block maximum size";
        return -1;
    }
    if (flg & 0x01) {
        *msg = "frames with a dictionary id are not supported";
        return -1;
    }
    f->indep = (flg >> 5) & 1;
    f->bsum = (flg >> 4) & 1;
    f->has_size = (flg >> 3) & 1;
    f->csum = (flg >> 2) & 1;
    f->bmax = bmax[(bd >> 4) - 4];
    f->header = 7 + (f->has_size ? 8 : 0);
    if (avail < f->header) {
        return 0;
    }
    f->size = 0;
    if (f->has_size) {
        for (int i = 0; i < 8; i++) {
            f->size |= (uint64_t)p[6 + i] << (8 * i);
        }
    }
    size_t dlen = f->header - 5;
    if (((XXH32(p + 4, dlen, 0) >> 8) & 0xff) != p[4 + dlen]) {
        *msg = "frame header checksum mismatch";
        return -1;
    }
    return 1;
}

/* --- parallel decoding of one frame of independent blocks ---------------- */

static int64_t
scan(fc_djob *job, const unsigned char *in, Py_ssize_t len)
{
    l4frame f;
    const char *msg = NULL;
    size_t total = (size_t)len;
    if (total < 4 || get_le32(in) != LZ4_MAGIC ||
        parse_header(in, total, &f, &msg) != 1 ||
        !f.indep || !f.has_size ||
        f.size > (uint64_t)PY_SSIZE_T_MAX ||
        f.size > (uint64_t)total * 256 + (1u << 20)) {
        return 0;
    }
    int64_t n = (int64_t)((f.size + f.bmax - 1) / f.bmax);
    /* Walk the blocks: exactly n, then the end mark, checksum, input end. */
    size_t pos = f.header;
    for (int64_t i = 0; i <= n; i++) {
        if (total - pos < 4) {
            return 0;
        }
        uint32_t w = get_le32(in + pos);
        pos += 4;
        if ((i == n) != (w == 0)) {
            return 0;
        }
        if (w == 0) {
            break;
        }
        size_t sz = w & ~HIGH_BIT;
        if (sz > f.bmax || sz > total - pos ||
            (f.bsum && total - pos - sz < 4)) {
            return 0;
        }
        pos += sz + (f.bsum ? 4 : 0);
    }
    if (pos + (f.csum ? 4 : 0) != total) {
        return 0;
    }
    if (fc_djob_alloc(job, n) < 0) {
        return -1;
    }
    pos = f.header;
    for (int64_t i = 0; i < n; i++) {
        uint32_t w = get_le32(in + pos);
        size_t s = w & ~HIGH_BIT;
        job->in_off[i] = (Py_ssize_t)(pos + 4);
        /* Stored blocks are marked by a negative length. */
        job->in_len[i] = (w & HIGH_BIT) ? -(Py_ssize_t)s : (Py_ssize_t)s;
        job->out_len[i] = (Py_ssize_t)(i + 1 < n ? f.bmax
                                       : f.size - (uint64_t)i * f.bmax);
        pos += 4 + s + (f.bsum ? 4 : 0);
    }
    /* Each piece is followed by its block checksum. */
    job->piece_sum = f.bsum;
    if (n == 0) {
        /* An empty frame: nothing to decode, one empty piece keeps the
         * caller's path simple. */
        job->n = 1;
        job->in_off[0] = (Py_ssize_t)f.header;
        job->in_len[0] = 0;
        job->out_len[0] = 0;
    }
    return job->n;
}

static void
piece_task(void *arg, int64_t i)
{
    fc_djob *job = arg;
    const unsigned char *src = job->in + job->in_off[i];
    unsigned char *dst = job->out + job->out_off[i];
    Py_ssize_t in_len = job->in_len[i], out_len = job->out_len[i];
    size_t stored = (size_t)(in_len < 0 ? -in_len : in_len);
    if (job->piece_sum && XXH32(src, stored, 0) != get_le32(src + stored)) {
        fc_djob_fail(job, FC_CERR_CORRUPT, 0, "block checksum mismatch",
                     job->in_off[i] - 4);
        return;
    }
    if (in_len <= 0) {
        if (-in_len != out_len) {
            fc_djob_fail(job, FC_CERR_CORRUPT, 0, "block size mismatch",
                         job->in_off[i]);
            return;
        }
        memcpy(dst, src, (size_t)out_len);
        return;
    }
    int r = LZ4_decompress_safe((const char *)src, (char *)dst, (int)in_len,
                                (int)out_len);
    if (r != (int)out_len) {
        fc_djob_fail(job, FC_CERR_CORRUPT, 0, "invalid block",
                     job->in_off[i]);
    }
}

static int
scan_finish(fc_djob *job, const unsigned char *in, Py_ssize_t len,
                   const unsigned char *out, Py_ssize_t out_len)
{
    l4frame f;
    const char *msg = NULL;
    if (parse_header(in, (size_t)len, &f, &msg) != 1) {
        return -1;
    }
    if (f.csum && XXH32(out, (size_t)out_len, 0) != get_le32(in + len - 4)) {
        fc_djob_fail(job, FC_CERR_CORRUPT, 0, "content checksum mismatch",
                     len - 4);
        return -1;
    }
    return 0;
}

/* --- whole-input decoder ------------------------------------------------- */

typedef struct {
    int in_frame;
    int frames;                 /* frames finished */
    l4frame f;
    size_t frame_out;           /* output position where the frame began */
    XXH32_state_t *xs;
    unsigned char *scratch;     /* one block, when the output is short */
    const unsigned char *pend;  /* decoded bytes not yet in the output */
    size_t pend_len;
} l4dec;

static void
l4dec_free(fc_dec *d)
{
    l4dec *z = d->impl;
    if (z) {
        if (z->xs) {
            XXH32_freeState(z->xs);
        }
        PyMem_RawFree(z->scratch);
        PyMem_RawFree(z);
    }
    d->impl = NULL;
}

static int
fail(fc_codec_err *err, int kind, const char *msg, size_t pos)
{
    fc_codec_err_set(err, kind, NAME, 0, msg, (int64_t)pos);
    return FC_DEC_ERR;
}

static int
l4dec_run(fc_dec *d, const unsigned char *in, size_t in_len, size_t *in_pos,
          unsigned char *out, size_t out_cap, size_t *out_pos,
          fc_codec_err *err)
{
    l4dec *z = d->impl;
    size_t stop = *out_pos + FC_DEC_STEP;
    if (stop > out_cap) {
        stop = out_cap;
    }
    for (;;) {
        if (z->pend_len > 0) {
            size_t k = out_cap - *out_pos;
            if (k > z->pend_len) {
                k = z->pend_len;
            }
            memcpy(out + *out_pos, z->pend, k);
            *out_pos += k;
            z->pend += k;
            z->pend_len -= k;
            if (z->pend_len > 0) {
                return FC_DEC_AGAIN;        /* output full */
            }
        }
        if (*out_pos >= stop) {
            return FC_DEC_AGAIN;
        }
        size_t pos = *in_pos, avail = in_len - pos;
        if (!z->in_frame) {
            if (avail == 0) {
                return z->frames > 0 ? FC_DEC_DONE
                       : fail(err, FC_CERR_TRUNCATED, NULL, pos);
            }
            if (avail < 4) {
                return fail(err, FC_CERR_TRUNCATED, NULL, in_len);
            }
            uint32_t magic = get_le32(in + pos);
            if ((magic & 0xFFFFFFF0u) == LZ4_SKIP_MAGIC) {
                if (avail < 8 || avail - 8 < get_le32(in + pos + 4)) {
                    return fail(err, FC_CERR_TRUNCATED, NULL, in_len);
                }
                *in_pos += 8 + (size_t)get_le32(in + pos + 4);
                z->frames++;
                continue;
            }
            if (magic != LZ4_MAGIC) {
                return fail(err, FC_CERR_CORRUPT,
                            z->frames ? "trailing data after the last frame"
                                      : "not an lz4 frame (bad magic)", pos);
            }
            const char *msg = NULL;
            int r = parse_header(in + pos, avail, &z->f, &msg);
            if (r == 0) {
                return fail(err, FC_CERR_TRUNCATED, NULL, in_len);
            }
            if (r < 0) {
                return fail(err, FC_CERR_CORRUPT, msg, pos);
            }
            *in_pos += z->f.header;
            z->in_frame = 1;
            z->frame_out = *out_pos;
            if (z->f.csum) {
                XXH32_reset(z->xs, 0);
            }
            continue;
        }
        if (avail < 4) {
            return fail(err, FC_CERR_TRUNCATED, NULL, in_len);
        }
        uint32_t w = get_le32(in + pos);
        if (w == 0) {
            /* End mark, then the optional content checksum. */
            if (z->f.csum) {
                if (avail < 8) {
                    return fail(err, FC_CERR_TRUNCATED, NULL, in_len);
                }
                if (XXH32_digest(z->xs) != get_le32(in + pos + 4)) {
                    return fail(err, FC_CERR_CORRUPT,
                                "content checksum mismatch", pos + 4);
                }
            }
            if (z->f.has_size && *out_pos - z->frame_out != z->f.size) {
                return fail(err, FC_CERR_CORRUPT,
                            "content size mismatch", pos);
            }
            *in_pos += 4 + (z->f.csum ? 4 : 0);
            z->in_frame = 0;
            z->frames++;
            continue;
        }
        size_t sz = w & ~HIGH_BIT;
        size_t need = 4 + sz + (z->f.bsum ? 4 : 0);
        if (sz > z->f.bmax) {
            return fail(err, FC_CERR_CORRUPT, "block larger than maximum",
                        pos);
        }
        if (avail < need) {
            return fail(err, FC_CERR_TRUNCATED, NULL, in_len);
        }
        const unsigned char *src = in + pos + 4;
        if (z->f.bsum && XXH32(src, sz, 0) != get_le32(src + sz)) {
            return fail(err, FC_CERR_CORRUPT, "block checksum mismatch",
                        pos);
        }
        const unsigned char *made;
        size_t made_len;
        size_t room = out_cap - *out_pos;
        if (w & HIGH_BIT) {
            made = src;
            made_len = sz;
            z->pend = src;
            z->pend_len = sz;
        }
        else {
            /* Linked blocks refer back to the frame's last 64 KiB, which
             * are all in the output (pending bytes were flushed above). */
            size_t hist = z->f.indep ? 0 : *out_pos - z->frame_out;
            if (hist > HISTORY) {
                hist = HISTORY;
            }
            unsigned char *dst;
            size_t dcap;
            if (room >= z->f.bmax) {
                dst = out + *out_pos;
                dcap = z->f.bmax;
            }
            else {
                if (z->scratch == NULL) {
                    z->scratch = PyMem_RawMalloc(4 << 20);
                    if (z->scratch == NULL) {
                        return fail(err, FC_CERR_NOMEM, NULL, pos);
                    }
                }
                dst = z->scratch;
                dcap = z->f.bmax;
            }
            int r = hist
                ? LZ4_decompress_safe_usingDict(
                      (const char *)src, (char *)dst, (int)sz, (int)dcap,
                      (const char *)out + *out_pos - hist, (int)hist)
                : LZ4_decompress_safe((const char *)src, (char *)dst,
                                      (int)sz, (int)dcap);
            if (r < 0) {
                return fail(err, FC_CERR_CORRUPT, "invalid block", pos);
            }
            made = dst;
            made_len = (size_t)r;
            if (dst == z->scratch) {
                z->pend = dst;
                z->pend_len = made_len;
            }
            else {
                *out_pos += made_len;
            }
        }
        if (z->f.csum) {
            XXH32_update(z->xs, made, made_len);
        }
        *in_pos += need;
    }
}

static int
dec_init(fc_dec *d, fc_codec_err *err)
{
    l4dec *z = PyMem_RawCalloc(1, sizeof(l4dec));
    if (z == NULL || (z->xs = XXH32_createState()) == NULL) {
        PyMem_RawFree(z);
        fc_codec_err_set(err, FC_CERR_NOMEM, NAME, 0, NULL, -1);
        return -1;
    }
    d->impl = z;
    d->run = l4dec_run;
    d->free = l4dec_free;
    return 0;
}

/* --- streams: the frame API ---------------------------------------------- */

typedef struct {
    LZ4F_cctx *cctx;
    LZ4F_preferences_t prefs;
    int begun;                  /* frame header written */
} l4stream;

static void
cs_free(void *impl)
{
    l4stream *z = impl;
    if (z->cctx) {
        LZ4F_freeCompressionContext(z->cctx);
    }
    PyMem_RawFree(z);
}

/* The caller made room for cs_out_need() of the input (or of 0 when
 * ending).  Takes all the input. */
static int
cs_step(void *impl, fc_step_io *io, int mode, fc_codec_err *err)
{
    l4stream *z = impl;
    size_t done = 0, rc = 0;
    int result = -1;
    if (!z->begun) {
        rc = LZ4F_compressBegin(z->cctx, io->out, io->out_len, &z->prefs);
        if (LZ4F_isError(rc)) {
            goto exit;
        }
        z->begun = 1;
        done = rc;
    }
    if (io->in_len > 0) {
        rc = LZ4F_compressUpdate(z->cctx, io->out + done, io->out_len - done,
                                 io->in, io->in_len, NULL);
        if (LZ4F_isError(rc)) {
            goto exit;
        }
        done += rc;
    }
    if (mode != FC_STEP_CONTINUE) {
        rc = mode == FC_STEP_END
             ? LZ4F_compressEnd(z->cctx, io->out + done, io->out_len - done,
                                NULL)
             : LZ4F_flush(z->cctx, io->out + done, io->out_len - done, NULL);
        if (LZ4F_isError(rc)) {
            goto exit;
        }
        done += rc;
    }
    result = mode != FC_STEP_CONTINUE;
exit:
    if (result < 0) {
        /* LZ4F_getErrorCode() is not a stable export: match the name. */
        fc_codec_err_set(err, strstr(LZ4F_getErrorName(rc), "allocation")
                         ? FC_CERR_NOMEM : FC_CERR_COMPRESS, NAME, 0,
                         LZ4F_getErrorName(rc), -1);
        io->in_len = 0;
    }
    io->out_len = done;     /* in_len: all consumed, unless failed */
    return result;
}

static Py_ssize_t
cs_out_need(void *impl, Py_ssize_t in_len)
{
    l4stream *z = impl;
    return (Py_ssize_t)LZ4F_compressBound((size_t)in_len, &z->prefs) +
           (Py_ssize_t)LZ4F_compressBound(0, &z->prefs) +
           LZ4F_HEADER_SIZE_MAX;
}

static int
cs_init(fc_stream *s, int codec, int level, int threads)
{
    (void)codec;
    (void)threads;
    l4stream *z = PyMem_RawCalloc(1, sizeof(*z));
    if (z == NULL ||
        LZ4F_isError(LZ4F_createCompressionContext(&z->cctx,
                                                   LZ4F_VERSION))) {
        if (z != NULL) {
            z->cctx = NULL;
            cs_free(z);
        }
        PyErr_NoMemory();
        return -1;
    }
    z->prefs.frameInfo.blockSizeID = level >= 3 ? STREAM_BLOCK_ID_HC
                                                : STREAM_BLOCK_ID;
    z->prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    z->prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    z->prefs.compressionLevel = level;
    s->impl = z;
    s->step = cs_step;
    s->free = cs_free;
    s->out_need = cs_out_need;
    /* Whole blocks: LZ4F compresses them straight from the input instead
     * of copying them into its block buffer first. */
    s->step_in = level >= 3 ? (Py_ssize_t)1 << 20 : (Py_ssize_t)4 << 20;
    return 0;
}

static int
ds_step(void *impl, fc_step_io *io, int mode, fc_codec_err *err)
{
    (void)mode;
    size_t in_len = io->in_len, out_len = io->out_len;
    size_t rc = LZ4F_decompress(impl, io->out, &out_len, io->in, &in_len,
                                NULL);
    io->in_len = in_len;
    io->out_len = out_len;
    if (LZ4F_isError(rc)) {
        fc_codec_err_set(err, FC_CERR_LZ4, NAME, (long long)rc, NULL, -1);
        return -1;
    }
    return rc == 0 ? 1 : 0;
}

static void
ds_free(void *impl)
{
    LZ4F_freeDecompressionContext(impl);
}

static int
ds_init(fc_stream *s, int codec, const unsigned char *head, Py_ssize_t n)
{
    (void)codec;
    (void)head;
    (void)n;
    LZ4F_dctx *d = NULL;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION))) {
        PyErr_NoMemory();
        return -1;
    }
    s->impl = d;
    s->step = ds_step;
    s->free = ds_free;
    return 0;
}

/* --- the table entry ----------------------------------------------------- */

static int
magic(const unsigned char *p, Py_ssize_t n)
{
    if (n < 4) {
        return p[0] == 0x04 && p[1] == 0x22 ? FC_MAGIC_MORE : FC_MAGIC_NO;
    }
    return get_le32(p) == LZ4_MAGIC ? FC_MAGIC_YES : FC_MAGIC_NO;
}

static fc_codec_levels
levels(void)
{
    /* 0 and 1 fast, 3..12 high compression (LZ4HC_CLEVEL_MAX), as lz4 -N. */
    return (fc_codec_levels){0, 12, 0, 0, "0 = default fast"};
}

static int
info(int codec, PyObject *backends, PyObject *parallel)
{
    (void)codec;
    if (fc_dict_set_str(backends, "lz4", "liblz4 block API (one frame of "
                        "independent 4 MiB blocks; levels 3..12: "
                        "lz4hc)") < 0 ||
        fc_dict_set_str(backends, "lz4 decompress", "liblz4 block API") < 0 ||
        fc_dict_set_str(backends, "lz4 stream",
                        "liblz4 frame API (LZ4F)") < 0 ||
        PyDict_SetItemString(parallel, "lz4 compress", Py_True) < 0 ||
        PyDict_SetItemString(parallel, "lz4 decompress", Py_True) < 0 ||
        PyDict_SetItemString(parallel, "lz4 stream", Py_False) < 0) {
        return -1;
    }
    return 0;
}

static const char *const suffixes[] = {".lz4", NULL};

const fc_codec_ops fc_codec_lz4 = {
    .name = NAME,
    .label = "lz4 frame",
    .suffixes = suffixes,
    .magic = magic,
    .levels = levels,
    .layout = layout,
    .block_bound = block_bound,
    .block_task = block_task,
    .frame_head = HEADER,
    .frame_tail = TRAILER,
    .frame_finish = frame_finish,
    .dec_init = dec_init,
    .scan = scan,
    .piece_task = piece_task,
    .scan_finish = scan_finish,
    /* Independent blocks: a flush already starts afresh. */
    .cs_full_flush = 1,
    .cs_init = cs_init,
    .ds_init = ds_init,
    .info = info,
};
