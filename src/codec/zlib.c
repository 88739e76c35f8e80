/* codec/zlib.c - the deflate family: the table entries of codecs "zlib",
 * "deflate" (raw) and "gzip", their formats, and the zlib library.
 *
 *   compress():  gzip: one member per block (the 'F','C' subfield below
 *                when there are several); zlib and raw deflate: one stream,
 *                on several threads pigz-style raw blocks primed with the
 *                previous 32 KiB, framed here (zlib header and adler32);
 *   decompress(): gzip members of known size in parallel, anything else
 *                through the whole-input decoder (every member of a gzip
 *                file, nothing after a zlib or raw stream);
 *   streams:     zlib's z_stream, allocating through PyMem_Raw*.
 *
 * Libraries, picked by measurement on real data (see BENCH.md); the two
 * optional ones live in their own files (deflate.h):
 *   compress level 1:     isa-l igzip level 1 (fastest, size ~ zlib -1);
 *   compress levels 0,2-9: libdeflate (faster than zlib, smaller output);
 *   pigz-style pieces:    zlib (needs a preset dictionary and a sync
 *                         flush; isa-l for level 1);
 *   decompress:           libdeflate for members of known size (our own
 *                         layout, or a single member up to 32 MiB), isa-l
 *                         inflate for streams, zlib where neither exists;
 *   streams:              level 1 and inflate on isa-l, the rest on zlib.
 *
 * gzip written in blocks is a series of members, each starting with a
 * header whose extra field has the subfield 'F','C' (4 bytes: the
 * member's total size, little-endian); readers that ignore it see plain
 * concatenated members.  BGZF files (subfield 'B','C') decode in parallel
 * the same way.
 *
 * No Python API except in the stream inits and info() (GIL held).
 */
#include "codec/deflate.h"

#include <string.h>
#include <zlib.h>

#define WINDOW 32768
/* Header of a member of the parallel layout: 10 fixed bytes, XLEN (2),
 * subfield 'F' 'C', LEN (2) = 4, member size (4). */
#define GZ_FC_HEADER 20
#define GZ_HEADER 10
#define GZ_TRAILER 8
/* gzip: members of this size when split; the end of the input in members
 * GZ_TAIL_SPLIT times smaller. */
#define GZ_BLOCK ((Py_ssize_t)1 << 20)
#define GZ_TAIL_SPLIT 4
/* zlib/deflate: pigz-style pieces of this size when split. */
#define PIECE ((Py_ssize_t)1 << 20)
/* zlib/deflate with one thread: one libdeflate/isa-l call up to this size,
 * pigz-style pieces (so that Ctrl-C is checked) above it. */
#define ONE_CALL_MAX ((Py_ssize_t)16 << 20)
/* Inputs up to this size use zlib (see deflate_whole()). */
#define TINY 256
/* Streams: levels from this on manage a few MB/s (smaller input steps). */
#define SLOW_LEVEL 7

/* The entry's name of a codec of the family, for error records. */
static const char *
family_name(int codec)
{
    return codec == FC_CODEC_GZIP ? fc_codec_gzip.name
           : codec == FC_CODEC_ZLIB ? fc_codec_zlib.name
           : fc_codec_deflate.name;
}

/* zlib's windowBits: 15 (zlib), -15 (raw), 31 (gzip). */
static int
wbits(int codec)
{
    return codec == FC_CODEC_DEFLATE ? -15 : codec == FC_CODEC_GZIP ? 31 : 15;
}

static uint32_t
crc32_of(const fc_cjob *job, const unsigned char *p, size_t n)
{
#if defined(FC_HAVE_ISAL)
    (void)job;
    return fc_isal_crc32(p, n);
#elif defined(FC_HAVE_LIBDEFLATE)
    (void)job;
    return fc_ld_crc32(p, n);
#else
    return job->crc32(0, p, n);
#endif
}

static uint32_t
adler32_of(const fc_cjob *job, const unsigned char *p, size_t n)
{
#ifdef FC_HAVE_LIBDEFLATE
    (void)job;
    return fc_ld_adler32(p, n);
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

/* Library calls without the GIL allocate through PyMem_Raw*. */
static voidpf
zalloc_raw(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    if (size != 0 && items > (size_t)PY_SSIZE_T_MAX / size) {
        return NULL;
    }
    return PyMem_RawMalloc((size_t)items * size);
}

static void
zfree_raw(voidpf opaque, voidpf ptr)
{
    (void)opaque;
    PyMem_RawFree(ptr);
}

static void
free_zstream(void *p)
{
    deflateEnd(p);
    PyMem_RawFree(p);
}

/* --- compression: blocks ------------------------------------------------- */

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
        zs->avail_in = (uInt)(in_n > FC_DEFLATE_SLICE ? FC_DEFLATE_SLICE
                                                      : in_n);
        zs->next_out = dst + out_done;
        zs->avail_out = (uInt)(out_n > FC_DEFLATE_SLICE ? FC_DEFLATE_SLICE
                                                        : out_n);
        int final = in_n <= FC_DEFLATE_SLICE;
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

/* A complete, final raw deflate stream of src with the fastest library
 * for the level. */
static Py_ssize_t
deflate_whole(fc_cjob *job, const unsigned char *src, size_t n,
              unsigned char *dst, size_t cap)
{
#ifdef FC_HAVE_ISAL
    if (job->level == 1) {
        Py_ssize_t r = fc_isal_deflate(job, NULL, 0, src, n, dst, cap, 1);
        if (r != -2) {
            return r;
        }
        /* Incompressible data overflowed isa-l's output: use the
         * general path, which falls back to stored blocks. */
    }
#endif
#ifdef FC_HAVE_LIBDEFLATE
    if (n > TINY || job->level < 2) {
        /* For a few hundred bytes zlib's reset stream is several times
         * faster: libdeflate clears its large match tables on every call
         * (the output differs by a few bytes at most). */
        Py_ssize_t r = fc_ld_deflate(job, src, n, dst, cap);
        if (r != -2) {
            return r;
        }
        /* Out of memory, or a libdeflate older than level 0: zlib. */
    }
#endif
    return zlib_deflate(job, NULL, 0, src, n, dst, cap, 1);
}

static Py_ssize_t
block_bound(const fc_cjob *job, Py_ssize_t n)
{
    /* Stored blocks cost 5 bytes per 65535 (and libdeflate's bound is
     * below this); plus flush markers, a gzip header and trailer. */
    (void)job;
    return n + n / 8192 * 5 + (n >> 12) + 64 + GZ_FC_HEADER + GZ_TRAILER;
}

/* gzip: block i as one member. */
static void
gzip_block_task(void *arg, int64_t i)
{
    fc_cjob *job = arg;
    const unsigned char *src = job->src + fc_cjob_start(job, i);
    Py_ssize_t n = fc_cjob_size(job, i);
    unsigned char *dst = fc_cjob_dst(job, i);
    size_t cap = (size_t)job->slot;
    int fc = job->nblocks > 1;
    size_t head = fc ? GZ_FC_HEADER : GZ_HEADER;

    memset(dst, 0, head);
    dst[0] = 0x1f;
    dst[1] = 0x8b;
    dst[2] = 8;                             /* CM = deflate */
    dst[3] = fc ? 4 : 0;                    /* FLG.FEXTRA */
    dst[8] = job->level >= 9 ? 2 : job->level <= 1 ? 4 : 0;   /* XFL */
    dst[9] = 3;                             /* OS = Unix */
    Py_ssize_t r = deflate_whole(job, src, (size_t)n, dst + head,
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
}

/* zlib and raw deflate: block i of one stream. */
static void
stream_block_task(void *arg, int64_t i)
{
    fc_cjob *job = arg;
    const unsigned char *src = job->src + fc_cjob_start(job, i);
    Py_ssize_t n = fc_cjob_size(job, i);
    unsigned char *dst = fc_cjob_dst(job, i);
    size_t cap = (size_t)job->slot;
    Py_ssize_t r;

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
        r = -2;
#ifdef FC_HAVE_ISAL
        if (job->level == 1) {
            r = fc_isal_deflate(job, dict, dict_len, src, (size_t)n, dst,
                                cap, last);
        }
#endif
        if (r == -2) {
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

/* zlib: header (deflate, 32 KiB window, level class) and the adler32 of
 * the whole input, combined from the blocks' checks. */
static Py_ssize_t
zlib_frame_finish(const fc_cjob *job, unsigned char *base, Py_ssize_t body)
{
    static const unsigned char flg[4] = {0x01, 0x5e, 0x9c, 0xda};
    int cls = job->level <= 1 ? 0 : job->level <= 5 ? 1
              : job->level == 6 ? 2 : 3;
    uint32_t adler = 1;
    for (int64_t i = 0; i < job->nblocks; i++) {
        adler = fc_adler32_combine(adler, job->check[i],
                                   (uint64_t)fc_cjob_size(job, i));
    }
    base[0] = 0x78;
    base[1] = flg[cls];
    unsigned char *t = base + 2 + body;
    t[0] = (unsigned char)(adler >> 24);
    t[1] = (unsigned char)(adler >> 16);
    t[2] = (unsigned char)(adler >> 8);
    t[3] = (unsigned char)adler;
    return 2 + body + 4;
}

/* zlib/deflate on their own: pigz-style pieces need zlib (a preset
 * dictionary), which on two threads is no faster than one libdeflate call
 * (threads= given explicitly is honoured). */
static int
stream_auto_threads(int level, Py_ssize_t len)
{
    return level != 1 && len <= ONE_CALL_MAX ? 1 : 0;
}

/* One thread compresses moderate inputs in one call of the fastest
 * library; threads > 1 need pigz-style pieces. */
static fc_codec_layout
stream_layout(int level, Py_ssize_t len, int threads)
{
    (void)level;
    if (threads <= 1 && len <= ONE_CALL_MAX) {
        return (fc_codec_layout){len, 0};
    }
    return (fc_codec_layout){PIECE, 0};
}

static fc_codec_layout
gzip_layout(int level, Py_ssize_t len, int threads)
{
    (void)level;
    (void)len;
    (void)threads;
    /* 64 MiB of gzip-6 on 2 threads: the split end saves ~8 ms of 550. */
    return (fc_codec_layout){GZ_BLOCK, GZ_TAIL_SPLIT};
}

/* --- decompression: gzip members of known size --------------------------- */

/* Total size of the gzip member at p when its header records it: our
 * 'F','C' subfield (4 bytes) or BGZF's 'B','C' (2 bytes, size - 1), as
 * written by bgzip and samtools.  0 when the size is not recorded. */
static uint32_t
member_size(const unsigned char *p, size_t avail)
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

static int64_t
gzip_scan(fc_djob *job, const unsigned char *in, Py_ssize_t len)
{
    int64_t n = 0;
    size_t pos = 0, total = (size_t)len;
    while (pos < total) {
        uint32_t size = member_size(in + pos, total - pos);
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
            uint32_t size = member_size(in + pos, total - pos);
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

static void
gzip_piece_task(void *arg, int64_t i)
{
    fc_djob *job = arg;
#ifdef FC_HAVE_LIBDEFLATE
    fc_ld_gzip_piece(job, i);
#else
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 31) != Z_OK) {
        fc_djob_fail(job, FC_CERR_NOMEM, 0, NULL, -1);
        return;
    }
    /* Members are below 4 GiB (sizes are 32-bit). */
    zs.next_in = (Bytef *)(job->in + job->in_off[i]);
    zs.avail_in = (uInt)job->in_len[i];
    zs.next_out = job->out + job->out_off[i];
    zs.avail_out = (uInt)job->out_len[i];
    int rc = inflate(&zs, Z_FINISH);
    if (rc != Z_STREAM_END || zs.avail_in != 0 || zs.avail_out != 0) {
        fc_djob_fail(job, FC_CERR_ZLIB, rc == Z_STREAM_END ? Z_DATA_ERROR : rc,
                     NULL, job->in_off[i]);
    }
    inflateEnd(&zs);
#endif
}

/* The last member's ISIZE (size mod 2**32) is a good first guess for a
 * single member; it is only a hint (max_output_size still holds). */
static Py_ssize_t
gzip_size_hint(const unsigned char *in, Py_ssize_t len, Py_ssize_t hint)
{
    if (len >= 18) {
        Py_ssize_t isize = (Py_ssize_t)get_le32(in + len - 4);
        if (isize > hint && isize / 1032 <= len) {
            return isize + 1;
        }
    }
    return hint;
}

/* --- zlib's inflater and deflater as stream handles ---------------------- */

typedef struct {
    z_stream zs;
    const char *name;
} zstream;

static int
inflate_step(void *impl, fc_step_io *io, int mode, fc_codec_err *err)
{
    (void)mode;
    zstream *z = impl;
    z_stream *zs = &z->zs;
    size_t in_len = io->in_len > UINT_MAX ? UINT_MAX : io->in_len;
    size_t out_len = io->out_len > UINT_MAX ? UINT_MAX : io->out_len;
    zs->next_in = (Bytef *)io->in;
    zs->avail_in = (uInt)in_len;
    zs->next_out = io->out;
    zs->avail_out = (uInt)out_len;
    int rc = inflate(zs, Z_NO_FLUSH);
    io->in_len = in_len - zs->avail_in;
    io->out_len = out_len - zs->avail_out;
    if (rc == Z_STREAM_END) {
        return 1;
    }
    if (rc == Z_OK || rc == Z_BUF_ERROR) {
        return 0;
    }
    fc_codec_err_set(err, FC_CERR_ZLIB, z->name, rc, zs->msg, -1);
    return -1;
}

static void
inflate_reset(void *impl)
{
    inflateReset(&((zstream *)impl)->zs);
}

static void
inflate_free(void *impl)
{
    inflateEnd(&((zstream *)impl)->zs);
    PyMem_RawFree(impl);
}

/* A zlib inflater for the codec's format; returns zlib's code (Z_OK, or
 * the failure with nothing held).  No GIL needed. */
static int
zlib_inflate_stream(fc_stream *s, int codec)
{
    zstream *z = PyMem_RawCalloc(1, sizeof(*z));
    if (z == NULL) {
        return Z_MEM_ERROR;
    }
    z->zs.zalloc = zalloc_raw;
    z->zs.zfree = zfree_raw;
    z->name = family_name(codec);
    int rc = inflateInit2(&z->zs, wbits(codec));
    if (rc != Z_OK) {
        PyMem_RawFree(z);
        return rc;
    }
    s->impl = z;
    s->step = inflate_step;
    s->reset = inflate_reset;
    s->free = inflate_free;
    return Z_OK;
}

static int
deflate_step(void *impl, fc_step_io *io, int mode, fc_codec_err *err)
{
    zstream *z = impl;
    z_stream *zs = &z->zs;
    size_t in_len = io->in_len > UINT_MAX ? UINT_MAX : io->in_len;
    size_t out_len = io->out_len > UINT_MAX ? UINT_MAX : io->out_len;
    zs->next_in = (Bytef *)io->in;
    zs->avail_in = (uInt)in_len;
    zs->next_out = io->out;
    zs->avail_out = (uInt)out_len;
    int whole = in_len == io->in_len;
    int flush = !whole ? Z_NO_FLUSH
                : mode == FC_STEP_END ? Z_FINISH
                : mode == FC_STEP_BLOCK ? Z_SYNC_FLUSH
                : mode == FC_STEP_FULL ? Z_FULL_FLUSH : Z_NO_FLUSH;
    int rc = deflate(zs, flush);
    io->in_len = in_len - zs->avail_in;
    io->out_len = out_len - zs->avail_out;
    if (rc == Z_STREAM_END) {
        return 1;
    }
    if (rc == Z_OK || rc == Z_BUF_ERROR) {
        /* A sync (or full) flush is complete when deflate left output
         * room. */
        return (flush == Z_SYNC_FLUSH || flush == Z_FULL_FLUSH) &&
               zs->avail_in == 0 && zs->avail_out > 0;
    }
    fc_codec_err_set(err, rc == Z_MEM_ERROR ? FC_CERR_NOMEM
                          : FC_CERR_COMPRESS, z->name, rc,
                     zs->msg ? zs->msg : "deflate() failed", -1);
    return -1;
}

static void
deflate_free(void *impl)
{
    deflateEnd(&((zstream *)impl)->zs);
    PyMem_RawFree(impl);
}

/* --- the whole-input decoder --------------------------------------------- */

/* Every member of a gzip input (or the one zlib/raw stream), on isa-l's
 * inflater where it is built in, else zlib's. */
typedef struct {
    int codec;
    int in_stream;          /* inside a stream/member */
    size_t start;           /* input offset where the current one began */
    fc_stream inflater;
} zdec;

static void
zdec_free(fc_dec *d)
{
    zdec *z = d->impl;
    if (z) {
        fc_stream_free(&z->inflater);
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
        fc_codec_err_set(err, FC_CERR_TRUNCATED, family_name(z->codec), 0,
                         NULL, (int64_t)pos);
        return FC_DEC_ERR;
    }
    fc_codec_err_set(err, FC_CERR_CORRUPT, family_name(z->codec), 0,
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
                fc_codec_err_set(err, FC_CERR_CORRUPT, d->name, 0,
                                 "reserved gzip header flags set",
                                 (int64_t)*in_pos);
                return FC_DEC_ERR;
            }
            z->inflater.reset(z->inflater.impl);
            if (*out_pos >= stop) {
                return FC_DEC_AGAIN;
            }
        }
        size_t in_n = in_len - *in_pos, out_n = stop - *out_pos;
        fc_step_io io = {
            in + *in_pos,
            in_n > FC_DEFLATE_SLICE ? FC_DEFLATE_SLICE : in_n,
            out + *out_pos,
            out_n > FC_DEFLATE_SLICE ? FC_DEFLATE_SLICE : out_n,
        };
        int rc = z->inflater.step(z->inflater.impl, &io, FC_STEP_CONTINUE,
                                  err);
        *in_pos += io.in_len;
        *out_pos += io.out_len;
        if (rc < 0) {
            err->offset = (int64_t)*in_pos;
            return FC_DEC_ERR;
        }
        if (rc == 1) {
            z->in_stream = 0;
            int next = zdec_next(z, in, in_len, *in_pos, err);
            if (next != FC_DEC_AGAIN) {
                return next;
            }
            continue;
        }
        if (io.in_len == 0 && io.out_len == 0) {
            if (*in_pos >= in_len) {
                fc_codec_err_set(err, FC_CERR_TRUNCATED, d->name, 0, NULL,
                                 (int64_t)*in_pos);
                return FC_DEC_ERR;
            }
            return FC_DEC_AGAIN;     /* output full */
        }
    }
    return FC_DEC_AGAIN;
}

static int
dec_init(fc_dec *d, fc_codec_err *err)
{
    zdec *z = PyMem_RawCalloc(1, sizeof(zdec));
    int rc = z == NULL ? -1 : 0;
    if (rc == 0) {
#ifdef FC_HAVE_ISAL
        rc = fc_isal_inflate_stream(&z->inflater, d->codec, d->name);
#else
        rc = zlib_inflate_stream(&z->inflater, d->codec) == Z_OK ? 0 : -1;
#endif
    }
    if (rc < 0) {
        PyMem_RawFree(z);
        fc_codec_err_set(err, FC_CERR_NOMEM, d->name, 0, NULL, -1);
        return -1;
    }
    z->codec = d->codec;
    z->start = (size_t)-1;      /* no stream yet: empty input is truncated */
    d->impl = z;
    d->run = zdec_run;
    d->free = zdec_free;
    return 0;
}

/* --- streams ------------------------------------------------------------- */

static int
cs_init(fc_stream *s, int codec, int level, int threads)
{
    (void)threads;
#ifdef FC_HAVE_ISAL
    /* Several times faster than zlib -1, as large or smaller, as the
     * one-shot compress() does. */
    if (level == 1) {
        return fc_isal_deflate_stream(s, codec, family_name(codec));
    }
#endif
    zstream *z = PyMem_RawCalloc(1, sizeof(*z));
    if (z == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    z->zs.zalloc = zalloc_raw;
    z->zs.zfree = zfree_raw;
    z->name = family_name(codec);
    int rc = deflateInit2(&z->zs, level, Z_DEFLATED, wbits(codec), 8,
                          Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) {
        PyMem_RawFree(z);
        if (rc == Z_MEM_ERROR) {
            PyErr_NoMemory();
        }
        else {
            PyErr_Format(PyExc_ValueError,
                         "%s: cannot initialise the compressor (%d)",
                         family_name(codec), rc);
        }
        return -1;
    }
    s->impl = z;
    s->step = deflate_step;
    s->free = deflate_free;
    s->step_in = level >= SLOW_LEVEL ? FC_STREAM_STEP_IN_SLOW
                                     : FC_STREAM_STEP_IN;
    return 0;
}

#ifdef FC_HAVE_ISAL
/* isa-l (2.30) loses a gzip header's flags between calls: a header that
 * arrives in pieces is misread when it has optional fields (the flags
 * that name them are kept in a header struct local to each call), and it
 * checks a header CRC (FHCRC) wrongly.  It also skips reserved FLG bits.
 * So isa-l gets a gzip member only with its whole header in the first
 * call and no FHCRC or reserved bits; zlib takes the others (and rejects
 * reserved bits, as RFC 1952 asks).  Headers longer than this go to zlib
 * rather than wait. */
#define GZ_HEAD_MAX ((Py_ssize_t)128 << 10)

/* Bytes of the gzip header as far as the first n bytes tell: its length
 * when that is <= n, else a length > n that must arrive first. */
static Py_ssize_t
gzip_header_len(const unsigned char *p, Py_ssize_t n)
{
    Py_ssize_t pos = GZ_HEADER;
    if (n < pos) {
        return pos;
    }
    int flg = p[3];
    if (flg & 0x04) {                           /* FEXTRA */
        if (n < pos + 2) {
            return pos + 2;
        }
        pos += 2 + (Py_ssize_t)(p[pos] | (p[pos + 1] << 8));
    }
    for (int bit = 0x08; bit <= 0x10; bit <<= 1) {  /* FNAME, FCOMMENT */
        if (flg & bit) {
            const unsigned char *z = NULL;
            if (pos < n) {
                z = memchr(p + pos, 0, (size_t)(n - pos));
            }
            if (z == NULL) {
                return (pos > n ? pos : n) + 1;
            }
            pos = (Py_ssize_t)(z - p) + 1;
        }
    }
    return pos;
}

static Py_ssize_t
gzip_ds_head(const unsigned char *p, Py_ssize_t n)
{
    if (n < 4) {
        return 4;
    }
    if (p[3] & 0xe2) {
        return 4;                               /* zlib: decide now */
    }
    Py_ssize_t need = gzip_header_len(p, n);
    return need < GZ_HEAD_MAX ? need : GZ_HEAD_MAX;
}
#endif

static int
ds_init(fc_stream *s, int codec, const unsigned char *head, Py_ssize_t n)
{
#ifdef FC_HAVE_ISAL
    if (codec != FC_CODEC_GZIP ||
        (!(head[3] & 0xe2) && gzip_header_len(head, n) <= n)) {
        if (fc_isal_inflate_stream(s, codec, family_name(codec)) < 0) {
            PyErr_NoMemory();
            return -1;
        }
        return 0;
    }
#else
    (void)head;
    (void)n;
#endif
    int rc = zlib_inflate_stream(s, codec);
    if (rc == Z_MEM_ERROR) {
        PyErr_NoMemory();
        return -1;
    }
    if (rc != Z_OK) {
        PyErr_Format(PyExc_ValueError,
                     "%s: cannot initialise the decompressor (%d)",
                     family_name(codec), rc);
        return -1;
    }
    return 0;
}

/* --- the table entries --------------------------------------------------- */

static int
gzip_magic(const unsigned char *p, Py_ssize_t n)
{
    (void)n;
    return p[0] == 0x1f && p[1] == 0x8b ? FC_MAGIC_YES : FC_MAGIC_NO;
}

/* CM = 8 (deflate), CINFO <= 7, header check a multiple of 31: one
 * two-byte pair in ~250 passes, hence weak. */
static int
zlib_magic(const unsigned char *p, Py_ssize_t n)
{
    (void)n;
    return (p[0] & 0x0f) == 8 && (p[0] >> 4) <= 7 &&
           ((p[0] << 8) | p[1]) % 31 == 0 ? FC_MAGIC_YES : FC_MAGIC_NO;
}

static fc_codec_levels
levels(void)
{
    /* As zlib and gzip -N; -1 is zlib's Z_DEFAULT_COMPRESSION. */
    return (fc_codec_levels){-1, 9, 6, -1, "-1 = default 6"};
}

static int
info(int codec, PyObject *backends, PyObject *parallel)
{
#ifdef FC_HAVE_ISAL
    const char *lvl1 = "isa-l igzip level 1";
    const char *inflate_lib = "isa-l inflate (streams)";
    const char *stream = "zlib (level 1: isa-l igzip); inflate: isa-l";
#else
    const char *lvl1 = NULL;
    const char *inflate_lib = "zlib inflate (streams)";
    const char *stream = "zlib deflate/inflate";
#endif
#ifdef FC_HAVE_LIBDEFLATE
    const char *rest = "libdeflate";
    const char *members = "libdeflate (members of known size)";
#else
    const char *rest = "zlib";
    const char *members = "zlib (members of known size)";
#endif
    const char *name = family_name(codec);
    int gzip = codec == FC_CODEC_GZIP;
    char key[40], buf[200];

    PyOS_snprintf(key, sizeof(key), "%s level 1", name);
    if (fc_dict_set_str(backends, key, lvl1 ? lvl1 : rest) < 0) {
        return -1;
    }
    PyOS_snprintf(key, sizeof(key), "%s levels 0,2-9", name);
    if (fc_dict_set_str(backends, key, rest) < 0) {
        return -1;
    }
    PyOS_snprintf(key, sizeof(key), "%s decompress", name);
    PyOS_snprintf(buf, sizeof(buf), "%s%s%s", inflate_lib,
                  gzip ? "; " : "", gzip ? members : "");
    if (fc_dict_set_str(backends, key, buf) < 0 ||
        PyDict_SetItemString(parallel, key, gzip ? Py_True : Py_False) < 0) {
        return -1;
    }
    PyOS_snprintf(key, sizeof(key), "%s compress", name);
    if (PyDict_SetItemString(parallel, key, Py_True) < 0) {
        return -1;
    }
    PyOS_snprintf(key, sizeof(key), "%s stream", name);
    if (fc_dict_set_str(backends, key, stream) < 0 ||
        PyDict_SetItemString(parallel, key, Py_False) < 0) {
        return -1;
    }
    if (codec == FC_CODEC_ZLIB &&
        fc_dict_set_str(backends, "zlib/deflate threads>1",
                        lvl1 ? "zlib with preset dictionary (isa-l for "
                               "level 1)"
                             : "zlib with preset dictionary") < 0) {
        return -1;
    }
    return 0;
}

static const char *const zlib_suffixes[] = {".zz", ".zlib", NULL};
static const char *const deflate_suffixes[] = {".deflate", NULL};
static const char *const gzip_suffixes[] = {".gz", ".gzip", ".tgz", NULL};

const fc_codec_ops fc_codec_zlib = {
    .name = "zlib",
    .label = "zlib",
    .suffixes = zlib_suffixes,
    .magic = zlib_magic,
    .magic_weak = 1,
    .levels = levels,
    .auto_threads = stream_auto_threads,
    .layout = stream_layout,
    .block_bound = block_bound,
    .block_task = stream_block_task,
    .frame_head = 2,
    .frame_tail = 4,
    .frame_finish = zlib_frame_finish,
    .dec_init = dec_init,
    .cs_full_flush = 1,
    .cs_init = cs_init,
    .ds_init = ds_init,
    .info = info,
};

const fc_codec_ops fc_codec_deflate = {
    .name = "deflate",
    .label = "raw deflate",
    .suffixes = deflate_suffixes,
    .levels = levels,
    .auto_threads = stream_auto_threads,
    .layout = stream_layout,
    .block_bound = block_bound,
    .block_task = stream_block_task,
    .dec_init = dec_init,
    .cs_full_flush = 1,
    .cs_init = cs_init,
    .ds_init = ds_init,
    .info = info,
};

const fc_codec_ops fc_codec_gzip = {
    .name = "gzip",
    .label = "gzip",
    .suffixes = gzip_suffixes,
    .magic = gzip_magic,
    .levels = levels,
    .layout = gzip_layout,
    .block_bound = block_bound,
    .block_task = gzip_block_task,
    .dec_init = dec_init,
    .size_hint = gzip_size_hint,
    .scan = gzip_scan,
    .piece_task = gzip_piece_task,
#ifdef FC_HAVE_ISAL
    .ds_head = gzip_ds_head,
#endif
    .cs_full_flush = 1,
    .cs_init = cs_init,
    .ds_init = ds_init,
    .info = info,
};
