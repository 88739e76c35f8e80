/* codec/isal.c - isa-l (igzip), the deflate family's fastest library where
 * it is built in (FC_HAVE_ISAL): level-1 raw deflate of a block (with a
 * preset dictionary for pigz-style pieces), level-1 compressor streams,
 * the inflater used by the family's whole-input decoder and by
 * Decompressor, and the gzip CRC.
 *
 * Called only by zlib.c (through deflate.h), which chooses when isa-l is
 * used; no Python API except the stream init (GIL held).  Without isa-l
 * this file compiles to nothing.
 */
#include "codec/deflate.h"

#ifdef FC_HAVE_ISAL

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>

/* isa-l's stream and the work buffer of its level 1, kept together. */
typedef struct {
    struct isal_zstream zs;
    unsigned char lbuf[ISAL_DEF_LVL1_DEFAULT];
} isal_lvl1;

static int
gzip_flag(int codec)
{
    return codec == FC_CODEC_GZIP ? IGZIP_GZIP
           : codec == FC_CODEC_ZLIB ? IGZIP_ZLIB : IGZIP_DEFLATE;
}

static uint32_t
crc_flag(int codec)
{
    return codec == FC_CODEC_GZIP ? ISAL_GZIP
           : codec == FC_CODEC_ZLIB ? ISAL_ZLIB : ISAL_DEFLATE;
}

static void
lvl1_init(isal_lvl1 *st, int flag)
{
    struct isal_zstream *zs = &st->zs;
    isal_deflate_init(zs);
    zs->level = 1;
    zs->level_buf = st->lbuf;
    zs->level_buf_size = (uint32_t)sizeof(st->lbuf);
    zs->gzip_flag = (uint16_t)flag;
}

uint32_t
fc_isal_crc32(const unsigned char *p, size_t n)
{
    return crc32_gzip_refl(0, p, (uint64_t)n);
}

/* --- blocks -------------------------------------------------------------- */

Py_ssize_t
fc_isal_deflate(fc_cjob *job, const unsigned char *dict, size_t dict_len,
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
    lvl1_init(st, IGZIP_DEFLATE);
    if (dict_len > 0 &&
        isal_deflate_set_dict(zs, (uint8_t *)dict, (uint32_t)dict_len) !=
        COMP_OK) {
        fc_cjob_fail(job, FC_CERR_COMPRESS, 0, "isal_deflate_set_dict");
        goto exit;
    }
    size_t in_done = 0, out_done = 0;
    for (;;) {
        size_t in_n = n - in_done, out_n = cap - out_done;
        int final = in_n <= FC_DEFLATE_SLICE;
        zs->next_in = (uint8_t *)(src + in_done);
        zs->avail_in = (uint32_t)(final ? in_n : FC_DEFLATE_SLICE);
        zs->next_out = dst + out_done;
        zs->avail_out = (uint32_t)(out_n > FC_DEFLATE_SLICE
                                   ? FC_DEFLATE_SLICE : out_n);
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
        if (out_done >= cap ||
            (zs->avail_out == 0 && out_n <= FC_DEFLATE_SLICE)) {
            result = -2;
            goto exit;
        }
    }
    result = (Py_ssize_t)out_done;
exit:
    fc_ctx_put(job->cache, FC_CTX_ISAL_1, st, PyMem_RawFree);
    return result;
}

/* --- level-1 compressor streams ------------------------------------------ */

typedef struct {
    isal_lvl1 st;
    const char *name;
} lvl1_stream;

static int
deflate_step(void *impl, fc_step_io *io, int mode, fc_codec_err *err)
{
    lvl1_stream *s = impl;
    struct isal_zstream *iz = &s->st.zs;
    size_t in_len = io->in_len > UINT32_MAX ? UINT32_MAX : io->in_len;
    size_t out_len = io->out_len > UINT32_MAX ? UINT32_MAX : io->out_len;
    iz->next_in = (uint8_t *)io->in;
    iz->avail_in = (uint32_t)in_len;
    iz->next_out = io->out;
    iz->avail_out = (uint32_t)out_len;
    int whole = in_len == io->in_len;
    iz->end_of_stream = mode == FC_STEP_END && whole;
    iz->flush = !whole ? NO_FLUSH
                : mode == FC_STEP_BLOCK ? SYNC_FLUSH
                : mode == FC_STEP_FULL ? FULL_FLUSH : NO_FLUSH;
    int rc = isal_deflate(iz);
    io->in_len = in_len - iz->avail_in;
    io->out_len = out_len - iz->avail_out;
    if (rc != COMP_OK) {
        fc_codec_err_set(err, FC_CERR_COMPRESS, s->name, rc,
                         "isal_deflate() failed", -1);
        return -1;
    }
    if (mode == FC_STEP_BLOCK || mode == FC_STEP_FULL) {
        /* A flush is complete once all input is taken and the output was
         * not filled up. */
        return whole && iz->avail_in == 0 && iz->avail_out > 0;
    }
    return iz->internal_state.state == ZSTATE_END ? 1 : 0;
}

int
fc_isal_deflate_stream(fc_stream *s, int codec, const char *name)
{
    lvl1_stream *z = PyMem_RawMalloc(sizeof(*z));
    if (z == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    lvl1_init(&z->st, gzip_flag(codec));
    z->name = name;
    s->impl = z;
    s->step = deflate_step;
    s->free = PyMem_RawFree;
    s->step_in = FC_STREAM_STEP_IN;
    return 0;
}

/* --- the inflater -------------------------------------------------------- */

typedef struct {
    struct inflate_state is;
    int codec;
    const char *name;
} inflater;

static int
inflate_step(void *impl, fc_step_io *io, int mode, fc_codec_err *err)
{
    (void)mode;
    inflater *z = impl;
    struct inflate_state *is = &z->is;
    size_t in_len = io->in_len > UINT32_MAX ? UINT32_MAX : io->in_len;
    size_t out_len = io->out_len > UINT32_MAX ? UINT32_MAX : io->out_len;
    is->next_in = (uint8_t *)io->in;
    is->avail_in = (uint32_t)in_len;
    is->next_out = io->out;
    is->avail_out = (uint32_t)out_len;
    int rc = isal_inflate(is);
    size_t used = in_len - is->avail_in;
    io->out_len = out_len - is->avail_out;
    if (rc < 0 || rc == ISAL_NEED_DICT) {
        io->in_len = used;
        fc_codec_err_set(err, FC_CERR_ISAL, z->name, rc, NULL, -1);
        return -1;
    }
    if (is->block_state == ISAL_BLOCK_FINISH) {
        /* isa-l reads ahead into its bit buffer: the whole bytes it holds
         * belong to what follows the stream. */
        size_t back = (size_t)(is->read_in_length / 8);
        io->in_len = used - (back < used ? back : used);
        return 1;
    }
    io->in_len = used;
    return 0;
}

static void
inflate_reset(void *impl)
{
    inflater *z = impl;
    isal_inflate_reset(&z->is);
    z->is.crc_flag = crc_flag(z->codec);
}

int
fc_isal_inflate_stream(fc_stream *s, int codec, const char *name)
{
    inflater *z = PyMem_RawMalloc(sizeof(*z));
    if (z == NULL) {
        return -1;
    }
    isal_inflate_init(&z->is);
    z->is.crc_flag = crc_flag(codec);
    z->codec = codec;
    z->name = name;
    s->impl = z;
    s->step = inflate_step;
    s->reset = inflate_reset;
    s->free = PyMem_RawFree;
    return 0;
}

#endif /* FC_HAVE_ISAL */
