/* codec/deflate.h - the deflate family's private interface: what zlib.c
 * (the family's table entries, its formats and the zlib library) calls in
 * the family's optional faster libraries, isal.c (isa-l, FC_HAVE_ISAL) and
 * libdeflate.c (FC_HAVE_LIBDEFLATE), and in deflate_walk.c (bit-level
 * edits of raw deflate streams).  Only those four files include it;
 * front ends reach the family through the table like any codec.
 */
#ifndef FC_CODEC_DEFLATE_H
#define FC_CODEC_DEFLATE_H

#include "codec/codec.h"

/* zlib's unsigned int lengths, and isa-l's uint32_t ones: library calls
 * get slices of at most this. */
#define FC_DEFLATE_SLICE ((size_t)1 << 30)

/* deflate_walk.c: make the complete raw deflate stream p[0 .. n), which
 * decodes to `expect` bytes, one that goes on: the final block's flag
 * cleared and an empty stored block appended (as a sync flush ends a
 * piece), so that further blocks may follow it.  Returns the new size
 * (at most n + 5, within cap), or -1, with p unchanged, when the stream
 * does not walk as a well-formed stream of `expect` bytes. */
Py_ssize_t fc_deflate_unfinal(unsigned char *p, size_t n, size_t cap,
                              size_t expect);

/* deflate_walk.c: 1 when the complete raw deflate stream p[0 .. n) is
 * made of `count` pieces of in_len[k] bytes, each decoding alone (no
 * match reaching before the piece) to out_len[k] bytes, every piece but
 * the last ending exactly with a non-final block at a byte boundary and
 * the last with the final block; 0 otherwise.  A serial decoder then
 * gives, piece by piece, what each piece decoded alone gives. */
int fc_deflate_check_pieces(const unsigned char *p, size_t n,
                            const Py_ssize_t *in_len,
                            const Py_ssize_t *out_len, int64_t count);

#ifdef FC_HAVE_ISAL
/* isa-l level 1: a raw deflate stream of src primed with dict, ended
 * (last) or sync-flushed (byte-aligned, not final).  Returns the size, -1
 * with the error recorded in job, or -2 when the output did not fit (the
 * caller falls back to zlib, which stores incompressible blocks). */
Py_ssize_t fc_isal_deflate(fc_cjob *job, const unsigned char *dict,
                           size_t dict_len, const unsigned char *src,
                           size_t n, unsigned char *dst, size_t cap,
                           int last);
uint32_t fc_isal_crc32(const unsigned char *p, size_t n);
/* A level-1 compressor for the codec's format, named `name` in errors
 * (GIL held; -1 with an exception). */
int fc_isal_deflate_stream(fc_stream *s, int codec, const char *name);
/* An inflater for the codec's format, reset() starting the next stream;
 * no GIL needed; -1 when out of memory (nothing raised). */
int fc_isal_inflate_stream(fc_stream *s, int codec, const char *name);
#endif

#ifdef FC_HAVE_LIBDEFLATE
/* A complete raw deflate stream of src at job->level.  Returns the size,
 * -1 with the error recorded in job, or -2 when no compressor could be
 * made (out of memory, or a libdeflate without this level: use zlib). */
Py_ssize_t fc_ld_deflate(fc_cjob *job, const unsigned char *src, size_t n,
                         unsigned char *dst, size_t cap);
/* Piece i of a gzip job: one whole member of known size (a pool task). */
void fc_ld_gzip_piece(fc_djob *job, int64_t i);
/* Piece i of a gzip job: raw deflate blocks inside one member, in_len[i]
 * bytes decoding to exactly out_len[i]; a piece that is not the last
 * must end at a byte-aligned block boundary (after a flush's empty
 * stored block), the last one with the final block.  Stores the CRC-32
 * of its output in job->check[i]. */
void fc_ld_deflate_piece(fc_djob *job, int64_t i, int last);
uint32_t fc_ld_crc32(const unsigned char *p, size_t n);
uint32_t fc_ld_adler32(const unsigned char *p, size_t n);
#endif

#endif
