/* codec/zstd_dict.h - zstd dictionaries as the front ends see them: the
 * fastconc.ZstdDict type (zstd_dict.c) holds a dictionary and its digested
 * forms, made once (per compression level) and shared by every call and
 * thread that uses the object.
 *
 * A front end turns its zstd_dict= argument into a ZstdDict reference
 * (fc_zstd_dict_arg), asks it for the digested form it needs with the GIL
 * held, and keeps the reference until its work is done: the digested
 * dictionary lives as long as the object.  The back end (zstd.c) receives
 * only the opaque pointer (the `dict` fields of job.h).
 */
#ifndef FC_CODEC_ZSTD_DICT_H
#define FC_CODEC_ZSTD_DICT_H

#include "core/fastconc.h"

/* zstd_dict= for a call on `codec` (FC_CODEC_AUTO: decoding whatever is
 * detected): NULL or None -> *out = NULL; a ZstdDict -> a new reference;
 * a bytes-like object -> a new ZstdDict of it (a zstd dictionary: the
 * trainer's output or the zstd tool's).  TypeError for anything else,
 * ValueError when codec is neither zstd nor auto.  Returns 0 or -1. */
int fc_zstd_dict_arg(fc_state *st, PyObject *arg, int codec,
                     PyObject **out);

/* The digested dictionary for compressing at `level` (a ZSTD_CDict), made
 * on first use and kept; NULL with an exception set.  GIL held. */
const void *fc_zstd_dict_cdict(PyObject *zd, int level);

/* The digested dictionary for decompressing (a ZSTD_DDict), made on first
 * use and kept; NULL with an exception set.  GIL held. */
const void *fc_zstd_dict_ddict(PyObject *zd);

#endif
