/* codec/libdeflate.c - libdeflate, the deflate family's whole-buffer
 * library where it is built in (FC_HAVE_LIBDEFLATE): one-call raw deflate
 * of a block (faster than zlib, smaller output), one-call decoding of a
 * gzip member of known size or of one raw deflate piece of a member laid
 * out in independent blocks, and the checksums.
 *
 * Called only by zlib.c (through deflate.h), which chooses when libdeflate
 * is used; no Python API.  Without libdeflate this file compiles to
 * nothing.
 */
#include "codec/deflate.h"

#ifdef FC_HAVE_LIBDEFLATE

#include <libdeflate.h>
#include <string.h>

static void
free_compressor(void *p)
{
    libdeflate_free_compressor(p);
}

static void
free_decompressor(void *p)
{
    libdeflate_free_decompressor(p);
}

uint32_t
fc_ld_crc32(const unsigned char *p, size_t n)
{
    return libdeflate_crc32(0, p, n);
}

uint32_t
fc_ld_adler32(const unsigned char *p, size_t n)
{
    return libdeflate_adler32(1, p, n);
}

Py_ssize_t
fc_ld_deflate(fc_cjob *job, const unsigned char *src, size_t n,
              unsigned char *dst, size_t cap)
{
    /* A cached compressor of this level: libdeflate keeps its tables in
     * it, and making one costs more than compressing a small block. */
    int kind = FC_CTX_LIBDEFLATE_C + job->level;
    struct libdeflate_compressor *c = fc_ctx_get(job->cache, kind);
    if (c == NULL && (c = libdeflate_alloc_compressor(job->level)) == NULL) {
        return -2;
    }
    size_t r = libdeflate_deflate_compress(c, src, n, dst, cap);
    fc_ctx_put(job->cache, kind, c, free_compressor);
    if (r == 0) {
        fc_cjob_fail(job, FC_CERR_COMPRESS, 0, "output larger than bound");
        return -1;
    }
    return (Py_ssize_t)r;
}

void
fc_ld_gzip_piece(fc_djob *job, int64_t i)
{
    const unsigned char *in = job->in + job->in_off[i];
    size_t in_len = (size_t)job->in_len[i];
    unsigned char *out = job->out + job->out_off[i];
    size_t out_len = (size_t)job->out_len[i];
    struct libdeflate_decompressor *d = fc_ctx_get(job->cache,
                                                   FC_CTX_LIBDEFLATE_D);
    if (d == NULL && (d = libdeflate_alloc_decompressor()) == NULL) {
        fc_djob_fail(job, FC_CERR_NOMEM, 0, NULL, -1);
        return;
    }
    size_t in_used = 0, out_used = 0;
    enum libdeflate_result r = libdeflate_gzip_decompress_ex(
        d, in, in_len, out, out_len, &in_used, &out_used);
    fc_ctx_put(job->cache, FC_CTX_LIBDEFLATE_D, d, free_decompressor);
    if (r != LIBDEFLATE_SUCCESS || in_used != in_len || out_used != out_len) {
        fc_djob_fail(job, FC_CERR_LIBDEFLATE, r, NULL, job->in_off[i]);
    }
}

void
fc_ld_deflate_piece(fc_djob *job, int64_t i, int last)
{
    const unsigned char *in = job->in + job->in_off[i];
    size_t in_len = (size_t)job->in_len[i];
    unsigned char *out = job->out + job->out_off[i];
    size_t out_len = (size_t)job->out_len[i];
    unsigned char *copy = NULL;
    struct libdeflate_decompressor *d = fc_ctx_get(job->cache,
                                                   FC_CTX_LIBDEFLATE_D);
    if (d == NULL && (d = libdeflate_alloc_decompressor()) == NULL) {
        fc_djob_fail(job, FC_CERR_NOMEM, 0, NULL, -1);
        goto exit;
    }
    size_t len = in_len;
    if (!last) {
        /* libdeflate decodes whole streams only: a copy of the piece
         * ended by an empty final block (fixed codes: 03 00), which it
         * reaches only if the piece ends at a block boundary. */
        copy = PyMem_RawMalloc(in_len + 2);
        if (copy == NULL) {
            fc_djob_fail(job, FC_CERR_NOMEM, 0, NULL, -1);
            goto exit;
        }
        memcpy(copy, in, in_len);
        copy[in_len] = 0x03;
        copy[in_len + 1] = 0x00;
        in = copy;
        len = in_len + 2;
    }
    size_t in_used = 0, out_used = 0;
    enum libdeflate_result r = libdeflate_deflate_decompress_ex(
        d, in, len, out, out_len, &in_used, &out_used);
    if (r != LIBDEFLATE_SUCCESS || in_used != len || out_used != out_len) {
        fc_djob_fail(job, FC_CERR_LIBDEFLATE,
                     r != LIBDEFLATE_SUCCESS ? r : LIBDEFLATE_BAD_DATA, NULL,
                     job->in_off[i]);
        goto exit;
    }
    job->check[i] = libdeflate_crc32(0, out, out_len);
exit:
    fc_ctx_put(job->cache, FC_CTX_LIBDEFLATE_D, d, free_decompressor);
    PyMem_RawFree(copy);
}

#endif /* FC_HAVE_LIBDEFLATE */
