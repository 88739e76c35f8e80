/* codec/zlib.c - the deflate family (zlib, raw deflate, gzip) for the
 * one-shot and batch paths: block compression, pigz-style pieces, the
 * gzip member layout fastconc can decode in parallel, and a whole-input
 * decoder.  No Python API here except in fc_zlib_info() (GIL held).
 *
 * Back ends, picked by measurement on real data (see BENCH.md):
 *   compress level 1:     isa-l igzip level 1 (fastest, size ~ zlib -1);
 *   compress levels 0,2-9: libdeflate (faster than zlib, smaller output);
 *   pigz-style pieces:    zlib (needs a preset dictionary and a sync
 *                         flush; isa-l for level 1);
 *   decompress:           libdeflate for members of known size (our own
 *                         layout, or a single member up to 32 MiB), isa-l
 *                         inflate for streams, zlib where neither exists.
 *
 * gzip written in blocks is a series of members, each starting with a
 * header whose extra field has the subfield 'F','C' (4 bytes: the
 * member's total size, little-endian); readers that ignore it see plain
 * concatenated members.  BGZF files (subfield 'B','C') decode in parallel
 * the same way.
 */
#include "codec/codec.h"

#include <string.h>
#include <zlib.h>
#ifdef FC_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif
#ifdef FC_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#include <isa-l/crc.h>
#endif

#define WINDOW 32768
/* Header of a member of the parallel layout: 10 fixed bytes, XLEN (2),
 * subfield 'F' 'C', LEN (2) = 4, member size (4). */
#define GZ_FC_HEADER 20
#define GZ_HEADER 10
#define GZ_TRAILER 8
/* Inputs up to this size use zlib (see deflate_whole()). */
#define TINY 256
/* zlib takes unsigned int lengths: feed it slices of at most this. */
#define UINT_SLICE ((size_t)1 << 30)

static uint32_t
crc32_of(const fc_cjob *job, const unsigned char *p, size_t n)
{
#if defined(FC_HAVE_ISAL)
    (void)job;
    return crc32_gzip_refl(0, p, (uint64_t)n);
#elif defined(FC_HAVE_LIBDEFLATE)
    (void)job;
    return libdeflate_crc32(0, p, n);
#else
    return job->crc32(0, p, n);
#endif
}

static uint32_t
adler32_of(const fc_cjob *job, const unsigned char *p, size_t n)
{
#ifdef FC_HAVE_LIBDEFLATE
    (void)job;
    return libdeflate_adler32(1, p, n);
#else
    return job->adler32(1, p, n);
#endif
}

static void
put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t
get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

#ifdef FC_HAVE_LIBDEFLATE
static void
free_ld_compressor(void *p)
{
    libdeflate_free_compressor(p);
}

static void
free_ld_decompressor(void *p)
{
    libdeflate_free_decompressor(p);
}
#endif

static void
free_zstream(void *p)
{
    deflateEnd(p);
    PyMem_RawFree(p);
}

/* --- raw deflate of one buffer ------------------------------------------ */

/* zlib: a raw deflate stream of src, optionally primed with dict, ended by
 * Z_FINISH (last) or a sync flush (byte-aligned, not final).  Returns the
 * size, or -1 (err recorded in job). */
static Py_ssize_t
zlib_deflate(fc_cjob *job, const unsigned char *dict, size_t dict_len,
             const unsigned char *src, size_t n, unsigned char *dst,
             size_t cap, int last)
{
    /* A cached stream of this level (reset), or a new one; zlib's state
     * points back at its z_stream, so the stream stays where it is. */
    int kind = FC_CTX_ZLIB_C + job->level;
    z_stream *zs = fc_ctx_get(job->cache, kind);
    Py_ssize_t result = -1;
    int rc;
    if (zs != NULL) {
        rc = deflateReset(zs);
    }
    else {
        zs = PyMem_RawCalloc(1, sizeof(z_stream));
        if (zs == NULL) {
            fc_cjob_fail(job, FC_CERR_NOMEM, 0, NULL);
            return -1;
        }
        rc = deflateInit2(zs, job->level, Z_DEFLATED, -15, 8,
                          Z_DEFAULT_STRATEGY);
        if (rc != Z_OK) {
            PyMem_RawFree(zs);
            zs = NULL;
        }
    }
    if (rc != Z_OK) {
        fc_cjob_fail(job, rc == Z_MEM_ERROR ? FC_CERR_NOMEM : FC_CERR_COMPRESS,
                     rc, "deflateInit2 failed");
        goto exit;
    }
    if (dict_len > 0 &&
        deflateSetDictionary(zs, dict, (uInt)dict_len) != Z_OK) {
        fc_cjob_fail(job, FC_CERR_COMPRESS, 0, "deflateSetDictionary failed");
        goto exit;
    }
    size_t in_done = 0, out_done = 0;
    for (;;) {
        size_t in_n = n - in_done, out_n = cap - out_done;
        zs->next_in = (Bytef *)(src + in_done);
        zs->avail_in = (uInt)(in_n > UINT_SLICE ? UINT_SLICE : in_n);
        zs->next_out = dst + out_done;
        zs->avail_out = (uInt)(out_n > UINT_SLICE ? UINT_SLICE : out_n);
        int final = in_n <= UINT_SLICE;
        int flush = !final ? Z_NO_FLUSH : last ? Z_FINISH : Z_SYNC_FLUSH;
        uInt in_before = zs->avail_in, out_before = zs->avail_out;
        rc = deflate(zs, flush);
        in_done += in_before - zs->avail_in;
        out_done += out_before - zs->avail_out;
        if (rc == Z_STREAM_END ||
            (final && !last && rc == Z_OK && zs->avail_out > 0 &&
             in_done == n)) {
            break;
        }
        if ((rc != Z_OK && rc != Z_BUF_ERROR) || out_done >= cap) {
            fc_cjob_fail(job, FC_CERR_COMPRESS, rc, "deflate failed");
            goto exit;
        }
    }
    result = (Py_ssize_t)out_done;
exit:
    /* Keep the stream (its 256 KiB of tables) for the next call. */
    if (zs != NULL) {
        fc_ctx_put(job->cache, kind, zs, free_zstream);
    }
    return result;
}

#ifdef FC_HAVE_ISAL
/* isa-l's stream and the work buffer of its level 1, kept together. */
typedef struct {
    struct isal_zstream zs;
    unsigned char lbuf[ISAL_DEF_LVL1_DEFAULT];
} isal_lvl1;

/* isa-l level 1: like zlib_deflate().  Returns -2 when the
 * output did not fit (caller falls back), -1 on failure. */
static Py_ssize_t
isal_deflate_raw(fc_cjob *job, const unsigned char *dict, size_t dict_len,
                 const unsigned char *src, size_t n, unsigned char *dst,
                 size_t cap, int last)
{
    isal_lvl1 *st = fc_ctx_get(job->cache, FC_CTX_ISAL_1);
    Py_ssize_t result = -1;
    if (st == NULL && (st = PyMem_RawMalloc(sizeof(*st))) == NULL) {
        fc_cjob_fail(job, FC_CERR_NOMEM, 0, NULL);
        goto exit;
    }
    struct isal_zstream *zs = &st->zs;
    isal_deflate_init(zs);
    zs->level = 1;
    zs->level_buf = st->lbuf;
    zs->level_buf_size = (uint32_t)sizeof(st->lbuf);
    zs->gzip_flag = IGZIP_DEFLATE;
    if (dict_len > 0 &&
        isal_deflate_set_dict(zs, (uint8_t *)dict, (uint32_t)dict_len) !=
        COMP_OK) {
        fc_cjob_fail(job, FC_CERR_COMPRESS, 0, "isal_deflate_set_dict");
        goto exit;
    }
    size_t in_done = 0, out_done = 0;
    for (;;) {
        size_t in_n = n - in_done, out_n = cap - out_done;
        int final = in_n <= UINT_SLICE;
        zs->next_in = (uint8_t *)(src + in_done);
        zs->avail_in = (uint32_t)(final ? in_n : UINT_SLICE);
        zs->next_out = dst + out_done;
        zs->avail_out = (uint32_t)(out_n > UINT_SLICE ? UINT_SLICE : out_n);
        zs->end_of_stream = final && last;
        zs->flush = final && !last ? SYNC_FLUSH : NO_FLUSH;
        uint32_t in_before = zs->avail_in, out_before = zs->avail_out;
        int rc = isal_deflate(zs);
        in_done += in_before - zs->avail_in;
        out_done += out_before - zs->avail_out;
        if (rc != COMP_OK) {
            fc_cjob_fail(job, FC_CERR_COMPRESS, rc, "isal_deflate failed");
            goto exit;
        }
        if (final && in_done == n && zs->avail_out > 0 &&
            (!last || zs->internal_state.state == ZSTATE_END)) {
            break;      /* all input taken and the flush/end written */
        }
        if (out_done >= cap || (zs->avail_out == 0 && out_n <= UINT_SLICE)) {
            result = -2;
            goto exit;
        }
    }
    result = (Py_ssize_t)out_done;
exit:
    fc_ctx_put(job->cache, FC_CTX_ISAL_1, st, PyMem_RawFree);
    return result;
}
#endif

/* A complete, final raw deflate stream of src with the fastest library
 * for the level. */
static Py_ssize_t
deflate_whole(fc_cjob *job, const unsigned char *src, size_t n,
              unsigned char *dst, size_t cap)
{
#ifdef FC_HAVE_ISAL
    if (job->level == 1) {
        Py_ssize_t r = isal_deflate_raw(job, NULL, 0, src, n, dst, cap, 1);
        if (r != -2) {
            return r;
        }
        /* Incompressible data overflowed isa-l's output: use the
         * general path, which falls back to stored blocks. */
    }
#endif
#ifdef FC_HAVE_LIBDEFLATE
    if (n <= TINY && job->level >= 2) {
        /* libdeflate clears its large match tables on every call; for a
         * few hundred bytes zlib's reset stream is several times faster
         * (the output differs by a few bytes at most). */
        return zlib_deflate(job, NULL, 0, src, n, dst, cap, 1);
    }
    int kind = FC_CTX_LIBDEFLATE_C + job->level;
    struct libdeflate_compressor *c = fc_ctx_get(job->cache, kind);
    if (c == NULL && (c = libdeflate_alloc_compressor(job->level)) == NULL) {
        /* Out of memory, or a libdeflate older than level 0: zlib. */
        return zlib_deflate(job, NULL, 0, src, n, dst, cap, 1);
    }
    size_t r = libdeflate_deflate_compress(c, src, n, dst, cap);
    fc_ctx_put(job->cache, kind, c, free_ld_compressor);
    if (r == 0) {
        fc_cjob_fail(job, FC_CERR_COMPRESS, 0, "output larger than bound");
        return -1;
    }
    return (Py_ssize_t)r;
#else
    return zlib_deflate(job, NULL, 0, src, n, dst, cap, 1);
#endif
}

Py_ssize_t
fc_zlib_block_bound(const fc_cjob *job, Py_ssize_t n)
{
    /* Stored blocks cost 5 bytes per 65535 (and libdeflate's bound is
     * below this); plus flush markers, a gzip header and trailer. */
    (void)job;
    return n + n / 8192 * 5 + (n >> 12) + 64 + GZ_FC_HEADER + GZ_TRAILER;
}

void
fc_zlib_block_task(void *arg, int64_t i)
{
    fc_cjob *job = arg;
    const unsigned char *src = job->src + fc_cjob_start(job, i);
    Py_ssize_t n = fc_cjob_size(job, i);
    unsigned char *dst = fc_cjob_dst(job, i);
    size_t cap = (size_t)job->slot;
    Py_ssize_t r;

    if (job->codec == FC_CODEC_GZIP) {
        int fc = job->nblocks > 1;
        size_t head = fc ? GZ_FC_HEADER : GZ_HEADER;
        memset(dst, 0, head);
        dst[0] = 0x1f;
        dst[1] = 0x8b;
        dst[2] = 8;                             /* CM = deflate */
        dst[3] = fc ? 4 : 0;                    /* FLG.FEXTRA */
        dst[8] = job->level >= 9 ? 2 : job->level <= 1 ? 4 : 0;   /* XFL */
        dst[9] = 3;                             /* OS = Unix */
        r = deflate_whole(job, src, (size_t)n, dst + head,
                          cap - head - GZ_TRAILER);
        if (r < 0) {
            return;
        }
        unsigned char *t = dst + head + r;
        put_le32(t, crc32_of(job, src, (size_t)n));
        put_le32(t + 4, (uint32_t)n);
        size_t total = head + (size_t)r + GZ_TRAILER;
        if (fc) {
            dst[10] = 8;                        /* XLEN */
            dst[12] = 'F';
            dst[13] = 'C';
            dst[14] = 4;                        /* LEN */
            put_le32(dst + 16, (uint32_t)total);
        }
        fc_cjob_done(job, i, (Py_ssize_t)total);
        return;
    }

    /* zlib and raw deflate. */
    if (job->nblocks == 1) {
        r = deflate_whole(job, src, (size_t)n, dst, cap);
    }
    else {
        /* pigz-style: primed with the 32 KiB before the block, ended by a
         * sync flush except the last, so the pieces concatenate into one
         * stream. */
        Py_ssize_t start = fc_cjob_start(job, i);
        size_t dict_len = (size_t)(start < WINDOW ? start : WINDOW);
        const unsigned char *dict = src - dict_len;
        int last = i + 1 == job->nblocks;
#ifdef FC_HAVE_ISAL
        if (job->level == 1) {
            r = isal_deflate_raw(job, dict, dict_len, src, (size_t)n, dst,
                                 cap, last);
            if (r == -2) {
                r = zlib_deflate(job, dict, dict_len, src, (size_t)n, dst,
                                 cap, last);
            }
        }
        else
#endif
        {
            r = zlib_deflate(job, dict, dict_len, src, (size_t)n, dst, cap,
                             last);
        }
    }
    if (r < 0) {
        return;
    }
    if (job->codec == FC_CODEC_ZLIB) {
        job->check[i] = adler32_of(job, src, (size_t)n);
    }
    fc_cjob_done(job, i, r);
}

/* --- parallel gzip layout -------------------------------------------- */

/* Total size of the gzip member at p when its header records it: our
 * 'F','C' subfield (4 bytes) or BGZF's 'B','C' (2 bytes, size - 1), as
 * written by bgzip and samtools.  0 when the size is not recorded. */
static uint32_t
fc_member_size(const unsigned char *p, size_t avail)
{
    if (avail < GZ_HEADER + 2 + GZ_TRAILER || p[0] != 0x1f || p[1] != 0x8b ||
        p[2] != 8 || p[3] != 4) {
        return 0;               /* FLG must be exactly FEXTRA */
    }
    size_t xlen = (size_t)p[10] | ((size_t)p[11] << 8);
    if (avail < GZ_HEADER + 2 + xlen + GZ_TRAILER) {
        return 0;
    }
    const unsigned char *x = p + GZ_HEADER + 2, *end = x + xlen;
    uint32_t size = 0;
    while (end - x >= 4) {
        size_t len = (size_t)x[2] | ((size_t)x[3] << 8);
        if ((size_t)(end - x) - 4 < len) {
            return 0;
        }
        if (x[0] == 'F' && x[1] == 'C' && len == 4) {
            size = get_le32(x + 4);
        }
        else if (x[0] == 'B' && x[1] == 'C' && len == 2) {
            size = ((uint32_t)x[4] | ((uint32_t)x[5] << 8)) + 1;
        }
        x += 4 + len;
    }
    if (size < GZ_HEADER + 2 + xlen + GZ_TRAILER || size > avail) {
        return 0;
    }
    return size;
}

int64_t
fc_gzip_scan(fc_djob *job, const unsigned char *in, Py_ssize_t len)
{
    int64_t n = 0;
    size_t pos = 0, total = (size_t)len;
    while (pos < total) {
        uint32_t size = fc_member_size(in + pos, total - pos);
        if (size == 0) {
            break;
        }
        pos += size;
        n++;
    }
    if (n > 0 && pos == total) {
        if (fc_djob_alloc(job, n) < 0) {
            return -1;
        }
        pos = 0;
        for (int64_t i = 0; i < n; i++) {
            uint32_t size = fc_member_size(in + pos, total - pos);
            job->in_off[i] = (Py_ssize_t)pos;
            job->in_len[i] = size;
            /* ISIZE; a deflate stream expands at most ~1032 times. */
            uint32_t isize = get_le32(in + pos + size - 4);
            if ((uint64_t)isize > (uint64_t)size * 1032) {
                fc_djob_free(job);
                return 0;
            }
            job->out_len[i] = isize;
            pos += size;
        }
        return n;
    }
#ifdef FC_HAVE_LIBDEFLATE
    /* Someone else's gzip: if it is one member of modest size, libdeflate
     * decodes it in one call (checked to use the whole input). */
    if (len >= GZ_HEADER + GZ_TRAILER && in[0] == 0x1f && in[1] == 0x8b) {
        uint32_t isize = get_le32(in + len - 4);
        if (isize <= ((uint32_t)32 << 20) &&
            (uint64_t)isize <= (uint64_t)len * 1032) {
            if (fc_djob_alloc(job, 1) < 0) {
                return -1;
            }
            job->in_off[0] = 0;
            job->in_len[0] = len;
            job->out_len[0] = isize;
            return 1;
        }
    }
#endif
    return 0;
}

void
fc_gzip_piece_task(void *arg, int64_t i)
{
    fc_djob *job = arg;
    const unsigned char *in = job->in + job->in_off[i];
    size_t in_len = (size_t)job->in_len[i];
    unsigned char *out = job->out + job->out_off[i];
    size_t out_len = (size_t)job->out_len[i];
#ifdef FC_HAVE_LIBDEFLATE
    struct libdeflate_decompressor *d = fc_ctx_get(job->cache,
                                                   FC_CTX_LIBDEFLATE_D);
    if (d == NULL && (d = libdeflate_alloc_decompressor()) == NULL) {
        fc_djob_fail(job, FC_CERR_NOMEM, 0, NULL, -1);
        return;
    }
    size_t in_used = 0, out_used = 0;
    enum libdeflate_result r = libdeflate_gzip_decompress_ex(
        d, in, in_len, out, out_len, &in_used, &out_used);
    fc_ctx_put(job->cache, FC_CTX_LIBDEFLATE_D, d, free_ld_decompressor);
    if (r != LIBDEFLATE_SUCCESS || in_used != in_len || out_used != out_len) {
        fc_djob_fail(job, FC_CERR_LIBDEFLATE, r, NULL, job->in_off[i]);
    }
#else
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 31) != Z_OK) {
        fc_djob_fail(job, FC_CERR_NOMEM, 0, NULL, -1);
        return;
    }
    /* Members are below 4 GiB (sizes are 32-bit). */
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)in_len;
    zs.next_out = out;
    zs.avail_out = (uInt)out_len;
    int rc = inflate(&zs, Z_FINISH);
    if (rc != Z_STREAM_END || zs.avail_in != 0 || zs.avail_out != 0) {
        fc_djob_fail(job, FC_CERR_ZLIB, rc == Z_STREAM_END ? Z_DATA_ERROR : rc,
                     NULL, job->in_off[i]);
    }
    inflateEnd(&zs);
#endif
}

/* --- whole-input decoder ------------------------------------------------ */

typedef struct {
    int codec;
    int in_stream;          /* inside a stream/member */
    size_t start;           /* input offset where the current one began */
#ifdef FC_HAVE_ISAL
    struct inflate_state is;
#else
    z_stream zs;
    int zs_ready;
#endif
} zdec;

#ifdef FC_HAVE_ISAL
static int
zdec_crc_flag(int codec)
{
    return codec == FC_CODEC_GZIP ? ISAL_GZIP
           : codec == FC_CODEC_ZLIB ? ISAL_ZLIB : ISAL_DEFLATE;
}
#endif

static void
zdec_free(fc_dec *d)
{
    zdec *z = d->impl;
    if (z) {
#ifndef FC_HAVE_ISAL
        if (z->zs_ready) {
            inflateEnd(&z->zs);
        }
#endif
        PyMem_RawFree(z);
    }
    d->impl = NULL;
}

/* After a stream ends with input left: gzip may go on with another member;
 * anything else is trailing garbage. */
static int
zdec_next(zdec *z, const unsigned char *in, size_t in_len, size_t pos,
          fc_codec_err *err)
{
    if (pos >= in_len) {
        return FC_DEC_DONE;
    }
    if (z->codec == FC_CODEC_GZIP && in_len - pos >= 2 && in[pos] == 0x1f &&
        in[pos + 1] == 0x8b) {
        return FC_DEC_AGAIN;
    }
    if (z->codec == FC_CODEC_GZIP && in_len - pos < 2 && in[pos] == 0x1f) {
        fc_codec_err_set(err, FC_CERR_TRUNCATED, z->codec, 0, NULL,
                         (int64_t)pos);
        return FC_DEC_ERR;
    }
    fc_codec_err_set(err, FC_CERR_CORRUPT, z->codec, 0,
                     "trailing data after the end of the stream",
                     (int64_t)pos);
    return FC_DEC_ERR;
}

static int
zdec_run(fc_dec *d, const unsigned char *in, size_t in_len, size_t *in_pos,
         unsigned char *out, size_t out_cap, size_t *out_pos,
         fc_codec_err *err)
{
    zdec *z = d->impl;
    size_t stop = *out_pos + FC_DEC_STEP;
    if (stop > out_cap) {
        stop = out_cap;
    }
    while (*out_pos < stop || !z->in_stream) {
        if (!z->in_stream) {
            if (*in_pos >= in_len && z->start != (size_t)-1) {
                return FC_DEC_DONE;
            }
            z->start = *in_pos;
            z->in_stream = 1;
            /* RFC 1952: a reader must reject reserved FLG bits (isa-l
             * would skip them). */
            if (z->codec == FC_CODEC_GZIP && in_len - *in_pos >= 4 &&
                (in[*in_pos + 3] & 0xe0)) {
                fc_codec_err_set(err, FC_CERR_CORRUPT, z->codec, 0,
                                 "reserved gzip header flags set",
                                 (int64_t)*in_pos);
                return FC_DEC_ERR;
            }
#ifdef FC_HAVE_ISAL
            isal_inflate_reset(&z->is);
            z->is.crc_flag = (uint32_t)zdec_crc_flag(z->codec);
#else
            if (z->zs_ready) {
                inflateReset(&z->zs);
            }
            else {
                int rc = inflateInit2(&z->zs, fc_zlib_wbits(z->codec));
                if (rc != Z_OK) {
                    fc_codec_err_set(err, FC_CERR_NOMEM, z->codec, 0, NULL,
                                     -1);
                    return FC_DEC_ERR;
                }
                z->zs_ready = 1;
            }
#endif
            if (*out_pos >= stop) {
                return FC_DEC_AGAIN;
            }
        }
        size_t in_n = in_len - *in_pos, out_n = stop - *out_pos;
#ifdef FC_HAVE_ISAL
        struct inflate_state *s = &z->is;
        s->next_in = (uint8_t *)(in + *in_pos);
        s->avail_in = (uint32_t)(in_n > UINT_SLICE ? UINT_SLICE : in_n);
        s->next_out = out + *out_pos;
        s->avail_out = (uint32_t)(out_n > UINT_SLICE ? UINT_SLICE : out_n);
        uint32_t in_before = s->avail_in, out_before = s->avail_out;
        int rc = isal_inflate(s);
        size_t used = in_before - s->avail_in;
        size_t made = out_before - s->avail_out;
        *out_pos += made;
        if (rc < 0 || rc == ISAL_NEED_DICT) {
            *in_pos += used;
            fc_codec_err_set(err, FC_CERR_ISAL, z->codec, rc, NULL,
                             (int64_t)*in_pos);
            return FC_DEC_ERR;
        }
        if (s->block_state == ISAL_BLOCK_FINISH) {
            /* isa-l reads ahead into its bit buffer: give back the whole
             * bytes it holds. */
            size_t back = (size_t)(s->read_in_length / 8);
            *in_pos += used - (back < used ? back : used);
            z->in_stream = 0;
            int next = zdec_next(z, in, in_len, *in_pos, err);
            if (next != FC_DEC_AGAIN) {
                return next;
            }
            continue;
        }
        *in_pos += used;
        if (used == 0 && made == 0) {
            if (*in_pos >= in_len) {
                fc_codec_err_set(err, FC_CERR_TRUNCATED, z->codec, 0, NULL,
                                 (int64_t)*in_pos);
                return FC_DEC_ERR;
            }
            return FC_DEC_AGAIN;     /* output full */
        }
#else
        z_stream *zs = &z->zs;
        zs->next_in = (Bytef *)(in + *in_pos);
        zs->avail_in = (uInt)(in_n > UINT_SLICE ? UINT_SLICE : in_n);
        zs->next_out = out + *out_pos;
        zs->avail_out = (uInt)(out_n > UINT_SLICE ? UINT_SLICE : out_n);
        uInt in_before = zs->avail_in, out_before = zs->avail_out;
        int rc = inflate(zs, Z_NO_FLUSH);
        *in_pos += in_before - zs->avail_in;
        *out_pos += out_before - zs->avail_out;
        if (rc == Z_STREAM_END) {
            z->in_stream = 0;
            int next = zdec_next(z, in, in_len, *in_pos, err);
            if (next != FC_DEC_AGAIN) {
                return next;
            }
            continue;
        }
        if (rc == Z_BUF_ERROR && *in_pos >= in_len) {
            fc_codec_err_set(err, FC_CERR_TRUNCATED, z->codec, 0, NULL,
                             (int64_t)*in_pos);
            return FC_DEC_ERR;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            fc_codec_err_set(err, FC_CERR_ZLIB, z->codec, rc, zs->msg,
                             (int64_t)*in_pos);
            return FC_DEC_ERR;
        }
        if (*in_pos >= in_len && zs->avail_out > 0) {
            fc_codec_err_set(err, FC_CERR_TRUNCATED, z->codec, 0, NULL,
                             (int64_t)*in_pos);
            return FC_DEC_ERR;
        }
#endif
    }
    return FC_DEC_AGAIN;
}

int
fc_zlib_dec_init(fc_dec *d, int codec, fc_codec_err *err)
{
    zdec *z = PyMem_RawCalloc(1, sizeof(zdec));
    if (z == NULL) {
        fc_codec_err_set(err, FC_CERR_NOMEM, codec, 0, NULL, -1);
        return -1;
    }
    z->codec = codec;
    z->start = (size_t)-1;      /* no stream yet: empty input is truncated */
#ifdef FC_HAVE_ISAL
    isal_inflate_init(&z->is);
#endif
    d->codec = codec;
    d->impl = z;
    d->run = zdec_run;
    d->free = zdec_free;
    return 0;
}

/* --- info ---------------------------------------------------------------- */

static int
put(PyObject *d, const char *key, const char *value)
{
    PyObject *s = PyUnicode_FromString(value);
    if (s == NULL) {
        return -1;
    }
    int rc = PyDict_SetItemString(d, key, s);
    Py_DECREF(s);
    return rc;
}

int
fc_zlib_info(PyObject *b)
{
#ifdef FC_HAVE_ISAL
    const char *lvl1 = "isa-l igzip level 1";
    const char *inflate_lib = "isa-l inflate (streams)";
#else
    const char *lvl1 = NULL;
    const char *inflate_lib = "zlib inflate (streams)";
#endif
#ifdef FC_HAVE_LIBDEFLATE
    const char *rest = "libdeflate";
    const char *members = "libdeflate (members of known size)";
#else
    const char *rest = "zlib";
    const char *members = "zlib (members of known size)";
#endif
    char buf[200];
    const char *fam[3] = {"gzip", "zlib", "deflate"};
    for (int i = 0; i < 3; i++) {
        char key[40];
        PyOS_snprintf(key, sizeof(key), "%s level 1", fam[i]);
        if (put(b, key, lvl1 ? lvl1 : rest) < 0) {
            return -1;
        }
        PyOS_snprintf(key, sizeof(key), "%s levels 0,2-9", fam[i]);
        if (put(b, key, rest) < 0) {
            return -1;
        }
        PyOS_snprintf(key, sizeof(key), "%s decompress", fam[i]);
        PyOS_snprintf(buf, sizeof(buf), "%s%s%s", inflate_lib,
                      i == 0 ? "; " : "", i == 0 ? members : "");
        if (put(b, key, buf) < 0) {
            return -1;
        }
    }
    return put(b, "zlib/deflate threads>1",
               lvl1 ? "zlib with preset dictionary (isa-l for level 1)"
                    : "zlib with preset dictionary");
}
