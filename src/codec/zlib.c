/* codec/zlib.c - the deflate family: the table entries of codecs "zlib",
 * "deflate" (raw) and "gzip", their formats, and the zlib library.
 *
 *   compress():  gzip: one member of independent blocks (below); zlib and
 *                raw deflate: one stream, on several threads pigz-style
 *                raw blocks primed with the previous 32 KiB, framed here
 *                (zlib header and adler32);
 *   decompress(): the blocks of a gzip member of ours, or gzip members of
 *                known size (BGZF, and fastconc's older layout), in
 *                parallel; anything else through the whole-input decoder
 *                (every member of a gzip file, nothing after a zlib or
 *                raw stream);
 *   streams:     zlib's z_stream, allocating through PyMem_Raw*.
 *
 * Libraries, picked by measurement on real data (see BENCH.md); the two
 * optional ones live in their own files (deflate.h):
 *   compress level 1:     isa-l igzip level 1 (fastest, size ~ zlib -1);
 *   compress levels 0,2-9: libdeflate (faster than zlib, smaller output;
 *                         a gzip block that the stream goes on after is
 *                         made open with deflate_walk.c);
 *   zlib/deflate pieces  (above 16 MiB on one thread, or threads > 1):
 *                         libdeflate, each block on its own ended by a
 *                         sync flush as gzip's blocks (zlib with the
 *                         32 KiB before it as a preset dictionary, the
 *                         pigz way, ran at stdlib speed); level 1: isa-l
 *                         with the dictionary;
 *   decompress:           libdeflate for pieces of known size (our blocks,
 *                         members of known size, or a single member up to
 *                         32 MiB), isa-l inflate for streams, zlib where
 *                         neither exists;
 *   streams:              level 1 and inflate on isa-l, the rest on zlib.
 *
 * gzip as fastconc writes it is one member, as gzip and pigz write, so
 * that every reader (gzip -l included) sees the whole file.  Inside, the
 * input is cut into blocks compressed independently (no dictionary from
 * the block before, so the bytes do not depend on the thread count), each
 * but the last ended by a sync flush (an empty stored block: 00 00 ff ff
 * at a byte boundary); the CRC-32 is combined from the blocks'.  The
 * header's extra field holds the subfield 'F','P' that says so (other
 * readers skip it), little-endian:
 *   version (1 byte) = 1, flags (1 byte), B (4 bytes): the block size;
 *   flags bit 0 (an index follows): n (4 bytes), then per block its
 *     compressed size, input size and CRC-32 (4 bytes each).
 * compress() knows the sizes before the header is written and writes the
 * index; a streamed writer (fastconc.open) cannot, and writes flags 0:
 * then every block but the last has B input bytes unless the writer was
 * flushed, and the decoder finds the blocks by their flush markers, a
 * guess it verifies (each piece must end exactly at a block boundary
 * where the next begins, and the CRC-32 and size must match), falling
 * back to one thread otherwise.  Files of other writers decode on one
 * thread (except members of known size).
 *
 * No Python API except in the stream inits and info() (GIL held).
 */
#include "codec/deflate.h"

#include <string.h>
#include <zlib.h>

#define WINDOW 32768
#define GZ_HEADER 10
#define GZ_TRAILER 8
/* gzip FLG bits. */
#define GZ_FHCRC 0x02
#define GZ_FEXTRA 0x04
#define GZ_FNAME 0x08
#define GZ_FCOMMENT 0x10
#define GZ_RESERVED 0xe0
/* fastconc's older layout (read only): a series of members, each with
 * the subfield 'F','C' holding its total size (4 bytes). */
#define GZ_FC_HEADER 20
/* The 'F','P' subfield (see above): its payload's fixed part, the count
 * and an entry of the index; the header of a file with an index: fixed
 * header, XLEN, subfield id and LEN, payload up to the entries. */
#define GZ_FP_FIXED 6
#define GZ_FP_ENTRY 12
#define GZ_FP_HEAD (GZ_HEADER + 2 + 4 + GZ_FP_FIXED + 4)
#define GZ_FP_VERSION 1
#define GZ_FP_INDEX 0x01
/* gzip: blocks of this size, doubled while the index would have more
 * than GZ_INDEX_MAX entries (4096 entries: 48 KiB of header); the end of
 * the input in blocks GZ_TAIL_SPLIT times smaller. */
#define GZ_BLOCK ((Py_ssize_t)1 << 20)
#define GZ_INDEX_MAX 4096
#define GZ_TAIL_SPLIT 4
/* Blocks from the index or the scan larger than this are not decoded in
 * parallel (a piece is one libdeflate call). */
#define GZ_PIECE_MAX ((Py_ssize_t)64 << 20)
/* deflate's most: 258 bytes from a 2-bit code, ~1032 per input byte. */
#define DEFLATE_EXPANSION 1032
/* A gzip ISIZE is trusted as the first output size up to this many times
 * the input: a header can lie, and 4 GiB reserved for a 5 MB input that
 * claims it is a waste; beyond, the output grows as it decodes. */
#define GZ_HINT_RATIO 16
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

static void
put_le16(unsigned char *p, size_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static size_t
get_le16(const unsigned char *p)
{
    return (size_t)p[0] | ((size_t)p[1] << 8);
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
     * below this); plus flush markers, and room for a sync flush after
     * a complete stream (deflate_walk.c). */
    (void)job;
    return n + n / 8192 * 5 + (n >> 12) + 64 + 16;
}

/* A raw deflate stream of block src[0 .. n) made on its own (no
 * dictionary, so blocks are independent), the final one or (not last)
 * ended by a sync flush so that the next block follows it in the same
 * stream: gzip's blocks, and zlib/deflate pieces above level 1.  Returns
 * the size, or -1 (err recorded in job). */
static Py_ssize_t
lone_block(fc_cjob *job, const unsigned char *src, size_t n,
           unsigned char *dst, size_t cap, int last)
{
#ifdef FC_HAVE_ISAL
    if (job->level == 1) {
        Py_ssize_t r = fc_isal_deflate(job, NULL, 0, src, n, dst, cap, last);
        if (r != -2) {
            return r;
        }
    }
#endif
#ifdef FC_HAVE_LIBDEFLATE
    if (n > TINY || job->level < 2) {
        /* libdeflate writes whole streams only: one that must go on is
         * made open after it is written (a walk over its blocks). */
        Py_ssize_t r = fc_ld_deflate(job, src, n, dst, cap - 16);
        if (r >= 0 && !last) {
            r = fc_deflate_unfinal(dst, (size_t)r, cap, n);
            if (r < 0) {
                r = -2;         /* not as expected: zlib makes the block */
            }
        }
        if (r != -2) {
            return r;
        }
    }
#endif
    return zlib_deflate(job, NULL, 0, src, n, dst, cap, last);
}

/* gzip: block i of the member (header and trailer: gzip_frame_finish). */
static void
gzip_block_task(void *arg, int64_t i)
{
    fc_cjob *job = arg;
    const unsigned char *src = job->src + fc_cjob_start(job, i);
    Py_ssize_t n = fc_cjob_size(job, i);
    int last = i + 1 == job->nblocks && !job->open_end;
    Py_ssize_t r = lone_block(job, src, (size_t)n, fc_cjob_dst(job, i),
                              (size_t)job->slot, last);
    if (r < 0) {
        return;
    }
    job->check[i] = crc32_of(job, src, (size_t)n);
    fc_cjob_done(job, i, r);
}

/* The header: 10 bytes for one block; with several, the 'F','P' subfield
 * with the index of the blocks. */
static Py_ssize_t
gzip_head_size(const fc_cjob *job)
{
    if (job->nblocks <= 1) {
        return GZ_HEADER;
    }
    return GZ_FP_HEAD + (Py_ssize_t)job->nblocks * GZ_FP_ENTRY;
}

static Py_ssize_t
gzip_frame_finish(const fc_cjob *job, unsigned char *base, Py_ssize_t body)
{
    Py_ssize_t head = gzip_head_size(job);
    int64_t n = job->nblocks;
    uint32_t crc = 0;
    memset(base, 0, GZ_HEADER);
    base[0] = 0x1f;
    base[1] = 0x8b;
    base[2] = 8;                            /* CM = deflate */
    base[3] = n > 1 ? GZ_FEXTRA : 0;        /* FLG */
    /* MTIME 0 (none), as gzip -n and zlib write; XFL as gzip sets it. */
    base[8] = job->level >= 9 ? 2 : job->level == 1 ? 4 : 0;
    base[9] = 3;                            /* OS = Unix */
    if (n > 1) {
        unsigned char *x = base + GZ_HEADER;
        put_le16(x, (size_t)(head - GZ_HEADER - 2));        /* XLEN */
        x[2] = 'F';
        x[3] = 'P';
        put_le16(x + 4, (size_t)(head - GZ_HEADER - 6));    /* LEN */
        x[6] = GZ_FP_VERSION;
        x[7] = GZ_FP_INDEX;
        put_le32(x + 8, (uint32_t)job->block);
        put_le32(x + 12, (uint32_t)n);
        unsigned char *e = base + GZ_FP_HEAD;
        for (int64_t i = 0; i < n; i++, e += GZ_FP_ENTRY) {
            put_le32(e, (uint32_t)job->out_len[i]);
            put_le32(e + 4, (uint32_t)fc_cjob_size(job, i));
            put_le32(e + 8, job->check[i]);
        }
    }
    for (int64_t i = 0; i < n; i++) {
        crc = fc_crc32_combine(crc, job->check[i],
                               (uint64_t)fc_cjob_size(job, i));
    }
    unsigned char *t = base + head + body;
    put_le32(t, crc);
    put_le32(t + 4, (uint32_t)job->len);    /* ISIZE: the size mod 2**32 */
    return head + body + GZ_TRAILER;
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
        /* Ended by a sync flush except the last, so that the pieces
         * concatenate into one stream; zlib and isa-l are primed with the
         * 32 KiB before the block (pigz's way), libdeflate cannot be. */
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
#ifdef FC_HAVE_LIBDEFLATE
        if (r == -2 && job->level >= 2) {
            /* libdeflate has no preset dictionary: the block is made on
             * its own, as gzip's are (about twice zlib's speed for a few
             * bytes per MiB lost at the block's start). */
            r = lone_block(job, src, (size_t)n, dst, cap, last);
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

/* zlib/deflate up to ONE_CALL_MAX: one libdeflate call on one thread
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
    (void)threads;
    /* The same for every thread count (so are the bytes).  Blocks grow
     * only for inputs over 4 GiB, to keep the index in the header. */
    Py_ssize_t block = GZ_BLOCK;
    while (len / block > GZ_INDEX_MAX) {
        block *= 2;
    }
    /* 64 MiB of gzip-6 on 2 threads: the split end saves ~8 ms of 550. */
    return (fc_codec_layout){block, GZ_TAIL_SPLIT};
}

/* --- decompression: the gzip header -------------------------------------- */

/* What a gzip header says, as far as decoding needs. */
typedef struct {
    size_t len;                 /* header bytes */
    int flg;
    const unsigned char *fp;    /* the 'F','P' subfield's payload, or NULL */
    size_t fp_len;
} gz_head;

/* Parse the gzip header at p[0 .. n): 1 with *h filled, 0 when the n
 * bytes do not hold all of it, -1 when it is no gzip header (magic,
 * method, reserved flags: what zlib rejects).  Subfields are looked at
 * only as far as they are well formed, since readers ignore them. */
static int
gz_parse_head(const unsigned char *p, size_t n, gz_head *h)
{
    memset(h, 0, sizeof(*h));
    if (n < GZ_HEADER) {
        return 0;
    }
    if (p[0] != 0x1f || p[1] != 0x8b || p[2] != 8 || (p[3] & GZ_RESERVED)) {
        return -1;
    }
    h->flg = p[3];
    size_t pos = GZ_HEADER;
    if (h->flg & GZ_FEXTRA) {
        if (n - pos < 2) {
            return 0;
        }
        size_t xlen = get_le16(p + pos);
        pos += 2;
        if (n - pos < xlen) {
            return 0;
        }
        const unsigned char *x = p + pos, *end = x + xlen;
        while (end - x >= 4) {
            size_t len = get_le16(x + 2);
            if ((size_t)(end - x) - 4 < len) {
                break;
            }
            if (x[0] == 'F' && x[1] == 'P' && h->fp == NULL) {
                h->fp = x + 4;
                h->fp_len = len;
            }
            x += 4 + len;
        }
        pos += xlen;
    }
    for (int bit = GZ_FNAME; bit <= GZ_FCOMMENT; bit <<= 1) {
        if (h->flg & bit) {
            const unsigned char *z = pos < n ? memchr(p + pos, 0, n - pos)
                                             : NULL;
            if (z == NULL) {
                return 0;
            }
            pos = (size_t)(z - p) + 1;
        }
    }
    if (h->flg & GZ_FHCRC) {
        if (n - pos < 2) {
            return 0;
        }
        pos += 2;
    }
    h->len = pos;
    return 1;
}

/* The header's CRC (FHCRC: the low 16 bits of the CRC-32 of the bytes
 * before it) is right, or there is none.  zlib checks it; isa-l and
 * libdeflate do not, so every path checks it here. */
static int
gz_head_crc_ok(const unsigned char *p, const gz_head *h)
{
    if (!(h->flg & GZ_FHCRC)) {
        return 1;
    }
    uint32_t crc = (uint32_t)crc32_z(0, p, h->len - 2);
    return (crc & 0xffff) == get_le16(p + h->len - 2);
}

/* --- decompression: pieces of known size --------------------------------- */

/* Which layout gzip_scan() found (fc_djob.layout). */
enum {
    GZ_LAYOUT_MEMBERS = 0,      /* whole members */
    GZ_LAYOUT_BLOCKS,           /* our blocks inside one member */
};

/* Total size of the gzip member at p when its header records it: the
 * 'F','C' subfield of fastconc's older layout (4 bytes) or BGZF's 'B','C'
 * (2 bytes, size - 1), as written by bgzip and samtools.  0 when the
 * size is not recorded. */
static uint32_t
member_size(const unsigned char *p, size_t avail)
{
    if (avail < GZ_HEADER + 2 + GZ_TRAILER || p[0] != 0x1f || p[1] != 0x8b ||
        p[2] != 8 || p[3] != GZ_FEXTRA) {
        return 0;               /* FLG must be exactly FEXTRA */
    }
    size_t xlen = get_le16(p + GZ_HEADER);
    if (avail < GZ_HEADER + 2 + xlen + GZ_TRAILER) {
        return 0;
    }
    const unsigned char *x = p + GZ_HEADER + 2, *end = x + xlen;
    uint32_t size = 0;
    while (end - x >= 4) {
        size_t len = get_le16(x + 2);
        if ((size_t)(end - x) - 4 < len) {
            return 0;
        }
        if (x[0] == 'F' && x[1] == 'C' && len == 4) {
            size = get_le32(x + 4);
        }
        else if (x[0] == 'B' && x[1] == 'C' && len == 2) {
            size = (uint32_t)get_le16(x + 4) + 1;
        }
        x += 4 + len;
    }
    if (size < GZ_HEADER + 2 + xlen + GZ_TRAILER || size > avail) {
        return 0;
    }
    return size;
}

/* A series of members of recorded size covering the whole input. */
static int64_t
scan_members(fc_djob *job, const unsigned char *in, size_t total)
{
    int64_t n = 0;
    size_t pos = 0;
    while (pos < total) {
        uint32_t size = member_size(in + pos, total - pos);
        if (size == 0) {
            break;
        }
        pos += size;
        n++;
    }
    if (n == 0 || pos != total) {
        return 0;
    }
    if (fc_djob_alloc(job, n) < 0) {
        return -1;
    }
    pos = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t size = member_size(in + pos, total - pos);
        job->in_off[i] = (Py_ssize_t)pos;
        job->in_len[i] = size;
        uint32_t isize = get_le32(in + pos + size - 4);
        if ((uint64_t)isize > (uint64_t)size * DEFLATE_EXPANSION) {
            fc_djob_free(job);
            return 0;
        }
        job->out_len[i] = isize;
        pos += size;
    }
    job->layout = GZ_LAYOUT_MEMBERS;
    return n;
}

int
fc_gzip_index_ok(const unsigned char *in, size_t len)
{
    gz_head h;
    Py_ssize_t *lens = NULL;
    int ok = 0;
    if (gz_parse_head(in, len, &h) != 1 || !gz_head_crc_ok(in, &h) ||
        h.fp == NULL || h.fp_len < GZ_FP_FIXED + 4 ||
        h.fp[0] != GZ_FP_VERSION || !(h.fp[1] & GZ_FP_INDEX) ||
        len - h.len < GZ_TRAILER + 2) {
        goto exit;
    }
    int64_t n = (int64_t)get_le32(h.fp + GZ_FP_FIXED);
    if (n == 0 || h.fp_len != GZ_FP_FIXED + 4 + (size_t)n * GZ_FP_ENTRY) {
        goto exit;
    }
    lens = PyMem_RawMalloc((size_t)n * 2 * sizeof(Py_ssize_t));
    if (lens == NULL) {
        ok = -1;
        goto exit;
    }
    const unsigned char *e = h.fp + GZ_FP_FIXED + 4;
    uint64_t out_sum = 0;
    for (int64_t i = 0; i < n; i++, e += GZ_FP_ENTRY) {
        lens[i] = (Py_ssize_t)get_le32(e);
        lens[n + i] = (Py_ssize_t)get_le32(e + 4);
        out_sum += get_le32(e + 4);
    }
    if ((uint32_t)out_sum != get_le32(in + len - 4)) {
        goto exit;
    }
    ok = fc_deflate_check_pieces(in + h.len, len - h.len - GZ_TRAILER, lens,
                                 lens + n, n);
exit:
    PyMem_RawFree(lens);
    return ok;
}

#ifdef FC_HAVE_LIBDEFLATE
/* Where the pieces of a member without index end: after each flush
 * marker of the body in[from .. to), an empty stored block 00 00 ff ff
 * whose 3-bit header and padding leave the byte before it < 0x20 (a
 * guess: the decoding verifies it).  Stores at most `max` ends when ends
 * is not NULL; returns the count (excluding the end of the body). */
static int64_t
find_flushes(const unsigned char *in, size_t from, size_t to,
             Py_ssize_t *ends, int64_t max)
{
    int64_t m = 0;
    /* f: the first ff of a marker that starts at f - 2 > from and ends
     * at f + 2 < to (the last piece holds the final block). */
    size_t f = from + 3;
    while (f + 2 < to) {
        const unsigned char *hit = memchr(in + f, 0xff, to - 2 - f);
        if (hit == NULL) {
            break;
        }
        f = (size_t)(hit - in);
        if (in[f + 1] == 0xff && in[f - 1] == 0 && in[f - 2] == 0 &&
            in[f - 3] < 0x20) {
            if (ends != NULL && m < max) {
                ends[m] = (Py_ssize_t)(f + 2);
            }
            m++;
            f += 5;
        }
        else {
            f++;
        }
    }
    return m;
}

/* Our one-member layout (see the top): the blocks as pieces, from the
 * index, or from the flush markers and the block size.  Returns the
 * number of pieces, 0 when the input is not exactly one such member (the
 * whole-input decoder then takes it), -1 on no memory. */
static int64_t
scan_blocks(fc_djob *job, const unsigned char *in, size_t len)
{
    gz_head h;
    if (gz_parse_head(in, len, &h) != 1 || (h.flg & GZ_FHCRC) ||
        len - h.len < GZ_TRAILER + 2) {
        return 0;
    }
    if (h.fp != NULL && (h.fp_len < GZ_FP_FIXED || h.fp[0] != GZ_FP_VERSION)) {
        h.fp = NULL;            /* a version we do not know: no subfield */
    }
    size_t from = h.len, to = len - GZ_TRAILER;
    uint32_t isize = get_le32(in + to + 4);
    /* Without the subfield (what fastconc.open writes, with a header
     * like gzip.GzipFile's), the blocks are GZ_BLOCK bytes: a guess that
     * fails early on other writers' files. */
    uint64_t block = h.fp != NULL ? get_le32(h.fp + 2) : (uint64_t)GZ_BLOCK;
    int64_t n;
    if (h.fp != NULL && (h.fp[1] & GZ_FP_INDEX)) {
        /* The index: every block's sizes, which must add up. */
        if (h.fp_len < GZ_FP_FIXED + 4) {
            return 0;
        }
        n = (int64_t)get_le32(h.fp + GZ_FP_FIXED);
        const unsigned char *e = h.fp + GZ_FP_FIXED + 4;
        if (n == 0 || h.fp_len != GZ_FP_FIXED + 4 + (size_t)n * GZ_FP_ENTRY) {
            return 0;
        }
        uint64_t in_sum = 0, out_sum = 0;
        for (int64_t i = 0; i < n; i++, e += GZ_FP_ENTRY) {
            uint64_t c = get_le32(e), u = get_le32(e + 4);
            if (c == 0 || u > c * DEFLATE_EXPANSION || u > GZ_PIECE_MAX) {
                return 0;
            }
            in_sum += c;
            out_sum += u;
        }
        if (in_sum != to - from || (uint32_t)out_sum != isize ||
            out_sum > (uint64_t)PY_SSIZE_T_MAX) {
            return 0;
        }
        if (fc_djob_alloc(job, n) < 0) {
            return -1;
        }
        e = h.fp + GZ_FP_FIXED + 4;
        size_t pos = from;
        for (int64_t i = 0; i < n; i++, e += GZ_FP_ENTRY) {
            job->in_off[i] = (Py_ssize_t)pos;
            job->in_len[i] = (Py_ssize_t)get_le32(e);
            job->out_len[i] = (Py_ssize_t)get_le32(e + 4);
            pos += get_le32(e);
        }
    }
    else {
        /* No index: pieces between the flush markers, every one B bytes
         * but the last, whose size the ISIZE tells (B < 2**32). */
        if (block == 0 || block > (uint64_t)GZ_PIECE_MAX) {
            return 0;
        }
        int64_t m = find_flushes(in, from, to, NULL, 0);
        uint64_t rest = (uint32_t)(isize - (uint32_t)((uint64_t)m * block));
        if (rest > block) {
            return 0;
        }
        n = m + 1;
        if (fc_djob_alloc(job, n) < 0) {
            return -1;
        }
        (void)find_flushes(in, from, to, job->in_off + 1, m);
        job->in_off[0] = (Py_ssize_t)from;
        for (int64_t i = 0; i < n; i++) {
            size_t end = i + 1 < n ? (size_t)job->in_off[i + 1] : to;
            job->in_len[i] = (Py_ssize_t)(end - (size_t)job->in_off[i]);
            job->out_len[i] = (Py_ssize_t)(i + 1 < n ? block : rest);
            if ((uint64_t)job->out_len[i] >
                (uint64_t)job->in_len[i] * DEFLATE_EXPANSION) {
                fc_djob_free(job);
                return 0;
            }
        }
    }
    /* Sizes far beyond what inputs usually give are walked first (no
     * output written, exact sizes checked): a forged index or fake flush
     * markers must not reserve gigabytes the stream cannot produce. */
    uint64_t claimed = 0;
    for (int64_t i = 0; i < n; i++) {
        claimed += (uint64_t)job->out_len[i];
    }
    if (claimed > (uint64_t)len * GZ_HINT_RATIO &&
        !fc_deflate_check_pieces(in + from, to - from, job->in_len,
                                 job->out_len, n)) {
        fc_djob_free(job);
        return 0;
    }
    job->layout = GZ_LAYOUT_BLOCKS;
    return n;
}
#endif

static int64_t
gzip_scan(fc_djob *job, const unsigned char *in, Py_ssize_t len)
{
    /* Members of known size first: a header walk, where the blocks'
     * guess would take the whole input for one member's body. */
    int64_t n = scan_members(job, in, (size_t)len);
    if (n != 0) {
        return n;
    }
#ifdef FC_HAVE_LIBDEFLATE
    n = scan_blocks(job, in, (size_t)len);
    if (n != 0) {
        return n;
    }
    /* Someone else's gzip: if it is one member of modest size, libdeflate
     * decodes it in one call (checked to use the whole input).  It skips
     * a header CRC unchecked: such a header is checked here. */
    gz_head h;
    if (len >= GZ_HEADER + GZ_TRAILER &&
        gz_parse_head(in, (size_t)len, &h) == 1 && gz_head_crc_ok(in, &h)) {
        uint32_t isize = get_le32(in + len - 4);
        if (isize <= ((uint32_t)32 << 20) &&
            (uint64_t)isize <= (uint64_t)len * DEFLATE_EXPANSION) {
            if (fc_djob_alloc(job, 1) < 0) {
                return -1;
            }
            job->in_off[0] = 0;
            job->in_len[0] = len;
            job->out_len[0] = isize;
            job->layout = GZ_LAYOUT_MEMBERS;
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
    if (job->layout == GZ_LAYOUT_BLOCKS) {
#ifdef FC_HAVE_LIBDEFLATE
        /* A wrong guess shows in one piece: the others need not run. */
        if (!__atomic_load_n(&job->failed, __ATOMIC_RELAXED)) {
            fc_ld_deflate_piece(job, i, i + 1 == job->n);
        }
#endif
        return;
    }
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

/* Our blocks: their CRC-32s combined must be the trailer's, and the
 * total size its ISIZE (members check their own). */
static int
gzip_scan_finish(fc_djob *job, const unsigned char *in, Py_ssize_t len,
                 const unsigned char *out, Py_ssize_t out_len)
{
    (void)out;
    if (job->layout != GZ_LAYOUT_BLOCKS) {
        return 0;
    }
    uint32_t crc = 0;
    for (int64_t i = 0; i < job->n; i++) {
        crc = fc_crc32_combine(crc, job->check[i], (uint64_t)job->out_len[i]);
    }
    if (crc != get_le32(in + len - 8) ||
        (uint32_t)out_len != get_le32(in + len - 4)) {
        fc_djob_fail(job, FC_CERR_CORRUPT, 0, "incorrect data check",
                     (int64_t)len - GZ_TRAILER);
        return -1;
    }
    return 0;
}

/* The last member's ISIZE (size mod 2**32) is a good first guess for a
 * single member; it is only a hint (max_output_size still holds), and
 * trusted up to GZ_HINT_RATIO times the input. */
static Py_ssize_t
gzip_size_hint(const unsigned char *in, Py_ssize_t len, Py_ssize_t hint)
{
    if (len >= GZ_HEADER + GZ_TRAILER) {
        Py_ssize_t isize = (Py_ssize_t)get_le32(in + len - 4);
        Py_ssize_t most = len < PY_SSIZE_T_MAX / GZ_HINT_RATIO
                          ? len * GZ_HINT_RATIO : PY_SSIZE_T_MAX;
        if (isize >= hint) {
            return isize < most ? isize + 1 : most > hint ? most : hint;
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

/* After a stream ends with input left: gzip may go on with another member,
 * after zero bytes of padding (skipped, as gzip(1) and Python's gzip do);
 * anything else is trailing garbage. */
static int
zdec_next(zdec *z, const unsigned char *in, size_t in_len, size_t *in_pos,
          fc_codec_err *err)
{
    if (z->codec == FC_CODEC_GZIP) {
        while (*in_pos < in_len && in[*in_pos] == 0) {
            ++*in_pos;
        }
    }
    size_t pos = *in_pos;
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
                (in[*in_pos + 3] & GZ_RESERVED)) {
                fc_codec_err_set(err, FC_CERR_CORRUPT, d->name, 0,
                                 "reserved gzip header flags set",
                                 (int64_t)*in_pos);
                return FC_DEC_ERR;
            }
            /* A wrong header CRC is an error on every path, as in zlib
             * (isa-l does not check it). */
            gz_head h;
            if (z->codec == FC_CODEC_GZIP &&
                gz_parse_head(in + *in_pos, in_len - *in_pos, &h) == 1 &&
                !gz_head_crc_ok(in + *in_pos, &h)) {
                fc_codec_err_set(err, FC_CERR_CORRUPT, d->name, 0,
                                 "header crc mismatch", (int64_t)*in_pos);
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
            int next = zdec_next(z, in, in_len, in_pos, err);
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
        fc_dict_set_str(backends, "zlib/deflate pieces",
#ifdef FC_HAVE_LIBDEFLATE
                        lvl1 ? "libdeflate, blocks on their own (level 1: "
                               "isa-l with the preset dictionary)"
                             : "libdeflate, blocks on their own"
#else
                        lvl1 ? "zlib with the preset dictionary (isa-l "
                               "for level 1)"
                             : "zlib with the preset dictionary"
#endif
                        ) < 0) {
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
    .frame_head = GZ_HEADER,
    .frame_tail = GZ_TRAILER,
    .frame_finish = gzip_frame_finish,
    .head_size = gzip_head_size,
    .open_blocks = 1,
    .dec_init = dec_init,
    .size_hint = gzip_size_hint,
    .scan = gzip_scan,
    .piece_task = gzip_piece_task,
    .scan_finish = gzip_scan_finish,
#ifdef FC_HAVE_ISAL
    .ds_head = gzip_ds_head,
#endif
    .cs_full_flush = 1,
    .cs_init = cs_init,
    .ds_init = ds_init,
    .info = info,
};
