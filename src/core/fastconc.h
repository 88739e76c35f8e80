/* fastconc.h - module state and the prototypes shared between the files of
 * fastconc._core.
 *
 * Each area (checksums, hashes, codecs, parallel map) lives in its own .c
 * file and is set up from the module's exec slot through an fc_area entry;
 * an area that needs state of its own keeps it behind one pointer here,
 * whose struct only that file knows.
 */
#ifndef FASTCONC_H
#define FASTCONC_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include "core/compat.h"
#include "core/cpu.h"
#include "core/pool.h"
#include "core/run.h"
#include "simd/dispatch.h"

/* The version string is defined once, in fastconc/_version.py; setup.py
 * passes it as -DFC_VERSION="x.y.z". */
#ifndef FC_VERSION
#error "FC_VERSION is not defined: build with setup.py, which takes it from fastconc/_version.py"
#endif
#define FC_GIL_THRESHOLD_DEFAULT 2048
/* A call expected to last less than this (µs, from its kernel's pace)
 * keeps the GIL: see fc_gil_release_us() in core/run.h. */
#define FC_GIL_RELEASE_US_DEFAULT 10

/* A kernel of the current SIMD level, e.g. FC_KERNEL(st, cksum.crc32):
 * one relaxed atomic load of the pointer (module.c replaces it when the
 * level changes, maybe while calls run on other threads). */
#define FC_KERNEL(st, field) FC_ATOMIC_LOAD(&(st)->kernels.field)

struct fc_hash_state;
struct fc_codec_state;
struct fc_pmap_state;
struct fc_stream_state;
struct fc_jobs_state;

typedef struct fc_state {
    /* The decompression errors (module.c); each subclass is also the
     * stdlib's exception for the same failure, so that handlers written
     * for zlib, gzip, bz2 or lzma catch it (errors.c picks one). */
    PyObject *DecompressionError;   /* ValueError subclass */
    PyObject *OutputSizeError;      /* DecompressionError subclass */
    PyObject *TruncatedError;       /* + EOFError */
    PyObject *CorruptDeflateError;  /* + zlib.error */
    PyObject *TruncatedDeflateError;    /* TruncatedError + zlib.error */
    PyObject *BadGzipFile;          /* CorruptDeflateError +
                                     * gzip.BadGzipFile */
    PyTypeObject *ZstdDict;         /* codec/zstd_dict.c */
    /* Tunable, read and written with relaxed atomics (no GIL needed). */
    Py_ssize_t gil_threshold;
    Py_ssize_t gil_release_us;
    /* CPU features probed in exec (read-only after), and the SIMD level in
     * use (<= best; relaxed atomics: _set_simd_level may run beside
     * calls). */
    unsigned cpu_features;
    int simd_level;
    /* Every kernel table for that level, filled by fc_simd_pick()
     * (simd/dispatch.c) whenever the level is set, each pointer stored
     * atomically (module.c); read them with FC_KERNEL. */
    fc_kernels kernels;
    /* Per-area state, owned by the area's file. */
    struct fc_hash_state *hash;
    struct fc_codec_state *codec;
    struct fc_pmap_state *pmap;
    struct fc_stream_state *stream;
    struct fc_jobs_state *jobs;     /* async/job.c */
} fc_state;

/* fc_should_release(st, -1, nbytes) (core/run.c's policy) inline, for
 * the hottest small calls, where the function call was a measurable part
 * of a 64-byte hash. */
static inline int
fc_release_by_size(const fc_state *st, Py_ssize_t nbytes)
{
    return nbytes >= __atomic_load_n(&st->gil_threshold, __ATOMIC_RELAXED);
}

/* fc_should_release_at(st, -1, nbytes, pace) inline (see core/run.h):
 * GIL_THRESHOLD, then the expected call time of a kernel that runs `pace`
 * bytes per µs against the release time. */
static inline int
fc_release_by_pace(const fc_state *st, Py_ssize_t nbytes, Py_ssize_t pace)
{
    if (!fc_release_by_size(st, nbytes)) {
        return 0;
    }
    Py_ssize_t us = __atomic_load_n(&st->gil_release_us, __ATOMIC_RELAXED);
    return pace <= 0 || us <= 0 || nbytes / pace >= us;
}

/* The pace of a kernel whose speed follows the SIMD level: pace[level]
 * at the level in use (tables indexed by FC_SIMD_*). */
static inline Py_ssize_t
fc_pace_at_level(const fc_state *st, const Py_ssize_t pace[FC_SIMD_COUNT])
{
    int level = FC_ATOMIC_LOAD(&st->simd_level);
    return pace[level >= 0 && level < FC_SIMD_COUNT ? level : 0];
}

/* One area of the module: its exec-time set-up and GC hooks (any may be
 * NULL).  init adds the area's functions and types to the module. */
typedef struct fc_area {
    const char *name;
    int (*init)(PyObject *module, fc_state *st);
    int (*traverse)(fc_state *st, visitproc visit, void *arg);
    void (*clear)(fc_state *st);
    /* Adds the area's entries to the dict returned by info(). */
    int (*info)(fc_state *st, PyObject *dict);
} fc_area;

extern const fc_area fc_area_jobs;          /* async/job.c */
extern const fc_area fc_area_checksum;
extern const fc_area fc_area_hash;          /* hash/algorithms.c */
extern const fc_area fc_area_hash_object;   /* hash/object.c */
extern const fc_area fc_area_hash_oneshot;  /* hash/oneshot.c */
extern const fc_area fc_area_hash_files;    /* hash/files.c */
extern const fc_area fc_area_codec;         /* codec/codec.c */
extern const fc_area fc_area_oneshot;       /* codec/oneshot.c */
extern const fc_area fc_area_batch;         /* codec/batch.c */
extern const fc_area fc_area_into;          /* codec/into.c */
extern const fc_area fc_area_pmap;
extern const fc_area fc_area_blake3;
extern const fc_area fc_area_stream;
extern const fc_area fc_area_zstd_dict;    /* codec/zstd_dict.c */

static inline fc_state *
fc_get_state(PyObject *module)
{
    return (fc_state *)PyModule_GetState(module);
}

/* State from a method of one of our heap types (types are not subclassable,
 * so Py_TYPE(self) is always our type). */
static inline fc_state *
fc_type_state(PyObject *self)
{
    return (fc_state *)PyType_GetModuleState(Py_TYPE(self));
}

/* --- dict.c: helpers for info() -------------------------------------- */

/* d[key] = v, stealing v; v == NULL (a failed constructor) gives -1. */
int fc_dict_set_steal(PyObject *d, const char *key, PyObject *v);
/* d[key] = str(value). */
int fc_dict_set_str(PyObject *d, const char *key, const char *value);

/* --- buffers.c ------------------------------------------------------- */

/* Get a read-only C-contiguous view.  str -> TypeError, non-contiguous ->
 * ValueError.  `what` names the argument in messages. */
int fc_get_buffer(PyObject *obj, Py_buffer *view, const char *what);
/* Get a writable C-contiguous view of any item type (out= arguments: the
 * room is view->len bytes).  Non-buffers and read-only ones -> TypeError,
 * non-contiguous -> ValueError. */
int fc_get_out_buffer(PyObject *obj, Py_buffer *view, const char *what);

/* fc_get_buffer with hashlib's messages, for data to hash: "Strings must
 * be encoded before hashing", "object supporting the buffer API
 * required". */
int fc_get_data_buffer(PyObject *obj, Py_buffer *view);

/* The bytes to hash in obj: an exact bytes object is read in place (it is
 * immutable, and the caller's argument keeps it alive for the call), at no
 * cost; anything else through fc_get_data_buffer into *view.  Release
 * with fc_data_release(view) (a no-op for bytes). */
static inline int
fc_get_data(PyObject *obj, Py_buffer *view, const void **buf,
            Py_ssize_t *len)
{
    if (PyBytes_CheckExact(obj)) {
        view->obj = NULL;
        *buf = PyBytes_AS_STRING(obj);
        *len = PyBytes_GET_SIZE(obj);
        return 0;
    }
    if (fc_get_data_buffer(obj, view) < 0) {
        return -1;
    }
    *buf = view->buf;
    *len = view->len;
    return 0;
}

static inline void
fc_data_release(Py_buffer *view)
{
    if (view->obj != NULL) {
        PyBuffer_Release(view);
    }
}

/* A list of held views: every item of a sequence/iterable, pinned before
 * the GIL is released. */
typedef struct fc_buffers {
    Py_ssize_t count;
    Py_buffer *views;
    Py_ssize_t total;   /* sum of lengths */
} fc_buffers;

int fc_get_buffers(PyObject *iterable, fc_buffers *out, const char *what);
void fc_buffers_release(fc_buffers *bufs);

/* A METH_FASTCALL|METH_KEYWORDS parser.  names: NULL-terminated list of
 * parameter names; the first npos may be given by position, the first
 * nrequired must be given.  out[i] receives a borrowed reference or NULL
 * when the argument was not given. */
int fc_parse_args(const char *fname, PyObject *const *args, Py_ssize_t nargs,
                  PyObject *kwnames, const char *const *names, int npos,
                  int nrequired, PyObject **out);

/* fc_parse_args with the common case inline: no keywords and every
 * required argument given by position (a hot call's usual form). */
static inline int
fc_parse_args_fast(const char *fname, PyObject *const *args,
                   Py_ssize_t nargs, PyObject *kwnames,
                   const char *const *names, int nnames, int npos,
                   int nrequired, PyObject **out)
{
    if (kwnames == NULL && nargs >= nrequired && nargs <= npos) {
        for (int i = 0; i < nnames; i++) {
            out[i] = i < nargs ? args[i] : NULL;
        }
        return 0;
    }
    return fc_parse_args(fname, args, nargs, kwnames, names, npos,
                         nrequired, out);
}

/* threads=: None -> 0 (auto), int >= 1, else TypeError/ValueError. */
int fc_parse_threads(PyObject *obj, int *out);
/* release_gil=: None -> -1, else truth value (bool/int only). */
int fc_parse_release(PyObject *obj, int *out);

#endif
