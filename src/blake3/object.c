/* blake3/object.c - the fastconc.blake3 hash object (hashlib style) on top
 * of the in-house BLAKE3 core (blake3/impl.c): hash, keyed_hash and
 * derive_key modes, extendable output, and large updates hashed as
 * subtrees on the pool (blake3/pool.c).  This file parses arguments, owns
 * the object's lock and decides the GIL and thread policy per call; it
 * hashes nothing itself.
 */
#include "core/fastconc.h"
#include "blake3/impl.h"
#include "blake3/pool.h"

/* Bytes per µs of one core at each SIMD level (an AMD EPYC, rounded up),
 * the GIL policy's pace for BLAKE3 (fc_should_release_at), here and in
 * hash/algorithms.c: the portable code runs about 840, the SSE4.1 code
 * 2600, the AVX2 code 4900-5500. */
const Py_ssize_t fc_blake3_paces[FC_SIMD_COUNT] = {
    [FC_SIMD_PORTABLE] = 1000, [FC_SIMD_SSE42] = 3000,
    [FC_SIMD_AVX2] = 6000, [FC_SIMD_AVX512] = 6000,
};

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* Updates from this size on run as subtree tasks through fc_run, even on
 * one thread, so Ctrl-C is checked between them. */
#define B3_TASKS_MIN ((Py_ssize_t)4 << 20)
/* update_mmap() reads the file in slices of this size. */
#define B3_FILE_SLICE ((Py_ssize_t)8 << 20)
/* blake3-py's max_threads=blake3.AUTO. */
#define B3_AUTO (-1)

typedef struct {
    PyObject_HEAD
    /* Guards h: update/digest/copy from several threads. */
    FC_LOCK_FIELD;
    int threads;            /* 0 = auto */
    fc_blake3_hasher h;
} FcBlake3Object;

/* Feed len bytes.  Called with the GIL held and self's lock taken (or
 * self not yet visible to any other thread).
 * Returns -1 with an exception set (the hasher is then unchanged). */
static int
b3_feed(FcBlake3Object *self, const void *buf, Py_ssize_t len,
        int threads, int release)
{
    threads = fc_blake3_threads(threads, len);
    if (threads > 1 && len < 2 * FC_BLAKE3_TASK_MIN) {
        threads = 1;    /* not even two tasks */
    }
    if (threads <= 1 && len < B3_TASKS_MIN) {
        /* Safe: buf is pinned by the caller, h is guarded by our lock. */
        FC_RUN_OUTSIDE_GIL(release,
                           fc_blake3_update(&self->h, buf, (size_t)len));
        return 0;
    }
    fc_blake3_hasher *saved = PyMem_Malloc(sizeof(fc_blake3_hasher));
    if (saved == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *saved = self->h;
    int rc = fc_blake3_update_pool(&self->h, buf, (size_t)len, threads,
                                   release, NULL);
    if (rc < 0) {
        self->h = *saved;   /* interrupted: as if update never ran */
    }
    PyMem_Free(saved);
    return rc;
}

static int
b3_update_obj(FcBlake3Object *self, PyObject *data, int release_flag)
{
    fc_state *st = fc_type_state((PyObject *)self);
    Py_buffer view = {0};
    const void *buf;
    Py_ssize_t len;
    int rc = -1;
    if (fc_get_data(data, &view, &buf, &len) < 0) {
        return -1;
    }
    int release = fc_should_release_at(
        st, release_flag, len, fc_pace_at_level(st, fc_blake3_paces));
    if (FC_LOCK_ACQUIRE(self) == 0) {
        rc = b3_feed(self, buf, len, self->threads, release);
        FC_LOCK_RELEASE(self);
    }
    fc_data_release(&view);
    return rc;
}

static int
b3_get_key(PyObject *obj, uint8_t key[32])
{
    Py_buffer view = {0};
    int rc = -1;
    if (fc_get_buffer(obj, &view, "key") < 0) {
        return -1;
    }
    if (view.len != FC_BLAKE3_KEY_LEN) {
        PyErr_Format(PyExc_ValueError, "key must be exactly 32 bytes, not %zd",
                     view.len);
        goto exit;
    }
    memcpy(key, view.buf, FC_BLAKE3_KEY_LEN);
    rc = 0;
exit:
    PyBuffer_Release(&view);
    return rc;
}

/* threads= (fastconc's) or max_threads= (blake3-py's: an int >= 1 or
 * blake3.AUTO) into *threads (0: auto). */
static int
b3_parse_threads(PyObject *threads_obj, PyObject *max_obj, int *threads)
{
    if (max_obj == NULL || max_obj == Py_None) {
        return fc_parse_threads(threads_obj, threads);
    }
    if (threads_obj != Py_None) {
        PyErr_SetString(PyExc_TypeError,
                        "give threads= or max_threads=, not both");
        return -1;
    }
    if (!PyLong_Check(max_obj) || PyBool_Check(max_obj)) {
        PyErr_Format(PyExc_TypeError, "max_threads must be an int, not "
                     "'%.100s'", Py_TYPE(max_obj)->tp_name);
        return -1;
    }
    long v = PyLong_AsLong(max_obj);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (v == B3_AUTO) {
        *threads = 0;
        return 0;
    }
    if (v < 1) {
        PyErr_SetString(PyExc_ValueError,
                        "max_threads must be >= 1 or blake3.AUTO");
        return -1;
    }
    /* blake3-py takes any count as a maximum: more threads than the pool
     * can use are the pool's. */
    *threads = v > FC_MAX_THREADS ? FC_MAX_THREADS : (int)v;
    return 0;
}

static PyObject *
FcBlake3_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"data", "key", "derive_key_context", "threads",
                             "release_gil", "usedforsecurity", "max_threads",
                             NULL};
    PyObject *data = NULL, *key = Py_None, *ctx = Py_None;
    PyObject *threads_obj = Py_None, *release_obj = Py_None;
    PyObject *max_obj = NULL;
    int usedforsecurity = 1;
    fc_state *st = PyType_GetModuleState(type);
    FcBlake3Object *self = NULL;
    Py_buffer ctx_view = {0};
    uint8_t keybytes[32];
    int threads, release;

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O$OOOOpO:blake3", kwlist,
                                     &data, &key, &ctx, &threads_obj,
                                     &release_obj, &usedforsecurity,
                                     &max_obj)) {
        return NULL;
    }
    (void)usedforsecurity;  /* BLAKE3 is fine for security uses */
    if (b3_parse_threads(threads_obj, max_obj, &threads) < 0 ||
        fc_parse_release(release_obj, &release) < 0) {
        return NULL;
    }
    if (data == Py_None) {
        data = NULL;        /* blake3-py: None is no data */
    }
    if (key != Py_None && ctx != Py_None) {
        PyErr_SetString(PyExc_ValueError,
                        "key and derive_key_context cannot both be given");
        return NULL;
    }
    if (key != Py_None && b3_get_key(key, keybytes) < 0) {
        return NULL;
    }
    if (ctx != Py_None) {
        if (PyUnicode_Check(ctx)) {
            PyObject *enc = PyUnicode_AsUTF8String(ctx);
            if (enc == NULL) {
                return NULL;
            }
            int r = PyObject_GetBuffer(enc, &ctx_view, PyBUF_SIMPLE);
            Py_DECREF(enc);     /* the view keeps its own reference */
            if (r < 0) {
                return NULL;
            }
        }
        else if (fc_get_buffer(ctx, &ctx_view, "derive_key_context") < 0) {
            return NULL;
        }
    }

    self = (FcBlake3Object *)type->tp_alloc(type, 0);
    if (self == NULL) {
        goto exit;
    }
    FC_LOCK_INIT(self);
    self->threads = threads;
    const fc_blake3_kernels *k = FC_KERNEL(st, blake3);
    if (key != Py_None) {
        fc_blake3_init_keyed(&self->h, keybytes, k);
    }
    else if (ctx != Py_None) {
        fc_blake3_init_derive(&self->h, ctx_view.buf, (size_t)ctx_view.len,
                              k);
    }
    else {
        fc_blake3_init(&self->h, k);
    }
    if (data != NULL) {
        /* No other thread can see self yet, so b3_feed may run without
         * the lock its other callers hold. */
        Py_buffer view = {0};
        const void *buf;
        Py_ssize_t len;
        if (fc_get_data(data, &view, &buf, &len) < 0) {
            Py_CLEAR(self);
            goto exit;
        }
        int rel = fc_should_release_at(
            st, release, len, fc_pace_at_level(st, fc_blake3_paces));
        int rc = b3_feed(self, buf, len, threads, rel);
        fc_data_release(&view);
        if (rc < 0) {
            Py_CLEAR(self);
            goto exit;
        }
    }
exit:
    if (ctx_view.obj) {
        PyBuffer_Release(&ctx_view);
    }
    return (PyObject *)self;
}

static void
FcBlake3_dealloc(FcBlake3Object *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    FC_LOCK_FREE(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static int
FcBlake3_traverse(FcBlake3Object *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    return 0;
}

/* <fastconc.blake3 mode='hash' threads=auto hashed=N>: the mode, the
 * thread setting and how many bytes went in so far. */
static PyObject *
FcBlake3_repr(FcBlake3Object *self)
{
    if (FC_LOCK_ACQUIRE(self) < 0) {
        return NULL;
    }
    const fc_blake3_hasher *h = &self->h;
    unsigned long long hashed =
        (unsigned long long)h->chunk_counter * FC_BLAKE3_CHUNK_LEN +
        (unsigned long long)h->blocks_done * FC_BLAKE3_BLOCK_LEN +
        h->buf_len;
    const char *mode = (h->flags & FC_B3_KEYED_HASH) ? "keyed_hash"
                       : (h->flags & FC_B3_DERIVE_KEY_MATERIAL) ? "derive_key"
                       : "hash";
    int threads = self->threads;
    FC_LOCK_RELEASE(self);
    if (threads == 0) {
        return PyUnicode_FromFormat(
            "<fastconc.blake3 mode='%s' threads=auto hashed=%llu>",
            mode, hashed);
    }
    return PyUnicode_FromFormat(
        "<fastconc.blake3 mode='%s' threads=%d hashed=%llu>",
        mode, threads, hashed);
}

PyDoc_STRVAR(FcBlake3_update__doc__,
"update($self, data, /)\n--\n\n"
"Add data to the hash (large inputs are hashed on several threads, as\n"
"set by threads= at construction) and return the object itself, as\n"
"blake3-py does, so that calls chain.");

static PyObject *
FcBlake3_update(FcBlake3Object *self, PyObject *data)
{
    if (b3_update_obj(self, data, -1) < 0) {
        return NULL;
    }
    return Py_NewRef((PyObject *)self);
}

/* Read up to cap bytes of fd into buf: the bytes read (0 at EOF), -1 with
 * errno set, or -2 when a signal interrupted read().  No Python API. */
static Py_ssize_t
b3_read_some(int fd, unsigned char *buf, Py_ssize_t cap)
{
    Py_ssize_t got = 0;
    while (got < cap) {
        ssize_t r = read(fd, buf + got, (size_t)(cap - got));
        if (r < 0) {
            if (errno == EINTR && got == 0) {
                return -2;
            }
            if (errno == EINTR) {
                break;      /* hash what we have, then run the handlers */
            }
            return -1;
        }
        if (r == 0) {
            break;
        }
        got += r;
    }
    return got;
}

PyDoc_STRVAR(FcBlake3_update_mmap__doc__,
"update_mmap($self, /, path)\n--\n\n"
"Add the contents of the file at path and return the object itself, as\n"
"blake3-py's update_mmap().  The file is read in slices with the GIL\n"
"released (not mapped: a file truncated while mapped would crash the\n"
"process), each slice hashed on the threads set at construction; Ctrl-C\n"
"is seen between slices and leaves the hash as it was before the call.\n"
"A missing or unreadable file raises OSError naming it.");

static PyObject *
FcBlake3_update_mmap(FcBlake3Object *self, PyObject *const *args,
                     Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"path", NULL};
    PyObject *a[1], *fspath = NULL, *encoded = NULL, *result = NULL;
    fc_blake3_hasher *saved = NULL;
    unsigned char *buf = NULL;
    int fd = -1, err = 0, locked = 0;

    if (fc_parse_args("update_mmap", args, nargs, kwnames, names, 1, 1,
                      a) < 0) {
        return NULL;
    }
    fspath = PyOS_FSPath(a[0]);
    if (fspath == NULL || !PyUnicode_FSConverter(fspath, &encoded)) {
        goto exit;
    }
    const char *cpath = PyBytes_AS_STRING(encoded);
    for (;;) {
        /* open() may block (a FIFO, a network mount); cpath is held. */
        FC_RUN_OUTSIDE_GIL(1, fd = open(cpath, O_RDONLY | O_CLOEXEC);
                           err = errno);
        if (fd >= 0 || err != EINTR) {
            break;
        }
        if (PyErr_CheckSignals() < 0) {
            goto exit;
        }
    }
    if (fd < 0) {
        errno = err;
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, fspath);
        goto exit;
    }
    buf = PyMem_RawMalloc((size_t)B3_FILE_SLICE);
    saved = PyMem_Malloc(sizeof(*saved));
    if (buf == NULL || saved == NULL) {
        PyErr_NoMemory();
        goto exit;
    }
    /* The lock is held for the whole file, so that no other update lands
     * in the middle of it. */
    if (FC_LOCK_ACQUIRE(self) < 0) {
        goto exit;
    }
    locked = 1;
    *saved = self->h;
    for (;;) {
        Py_ssize_t got;
        /* Safe: buf and fd are ours alone. */
        FC_RUN_OUTSIDE_GIL(1, got = b3_read_some(fd, buf, B3_FILE_SLICE);
                           err = errno);
        if (got == -1) {
            errno = err;
            PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, fspath);
            goto fail;
        }
        if (got > 0 && b3_feed(self, buf, got, self->threads, 1) < 0) {
            goto fail;
        }
        if (PyErr_CheckSignals() < 0) {
            goto fail;
        }
        if (got == 0) {
            break;
        }
    }
    result = Py_NewRef((PyObject *)self);
    goto exit;
fail:
    self->h = *saved;   /* as if the call never ran */
exit:
    if (locked) {
        FC_LOCK_RELEASE(self);
    }
    if (fd >= 0) {
        close(fd);
    }
    PyMem_RawFree(buf);
    PyMem_Free(saved);
    Py_XDECREF(encoded);
    Py_XDECREF(fspath);
    return result;
}

static int
b3_parse_out(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
             const char *fname, Py_ssize_t *length, uint64_t *seek)
{
    static const char *const names[] = {"length", "seek", NULL};
    PyObject *a[2];
    *length = FC_BLAKE3_OUT_LEN;
    *seek = 0;
    if (fc_parse_args(fname, args, nargs, kwnames, names, 1, 0, a) < 0) {
        return -1;
    }
    if (a[0]) {
        if (!PyLong_Check(a[0])) {
            PyErr_Format(PyExc_TypeError, "length must be an int, not "
                         "'%.100s'", Py_TYPE(a[0])->tp_name);
            return -1;
        }
        *length = PyLong_AsSsize_t(a[0]);
        if (*length == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (*length < 0) {
            PyErr_SetString(PyExc_ValueError, "length must be >= 0");
            return -1;
        }
    }
    if (a[1]) {
        if (!PyLong_Check(a[1])) {
            PyErr_Format(PyExc_TypeError, "seek must be an int, not "
                         "'%.100s'", Py_TYPE(a[1])->tp_name);
            return -1;
        }
        unsigned long long v = PyLong_AsUnsignedLongLong(a[1]);
        if (v == (unsigned long long)-1 && PyErr_Occurred()) {
            if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
                PyErr_SetString(PyExc_ValueError,
                                "seek must be >= 0 and < 2**64");
            }
            return -1;
        }
        *seek = (uint64_t)v;
    }
    return 0;
}

/* Write length output bytes at seek into out; -1 with MemoryError when
 * the lock cannot be made. */
static int
b3_output(fc_state *st, FcBlake3Object *self, uint64_t seek, uint8_t *out,
          Py_ssize_t length)
{
    int ok;
    /* Safe: out is a fresh object no one else sees; h is locked. */
    FC_RUN_LOCKED(self, fc_should_release(st, -1, length), ok,
                  fc_blake3_finalize_seek(&self->h, seek, out,
                                          (size_t)length));
    return ok ? 0 : -1;
}

PyDoc_STRVAR(FcBlake3_digest__doc__,
"digest($self, /, length=32, *, seek=0)\n--\n\n"
"Return the digest: length bytes of output (any length: BLAKE3 is an\n"
"extendable-output function), starting at byte seek of the output.");

static PyObject *
FcBlake3_digest(FcBlake3Object *self, PyObject *const *args,
                Py_ssize_t nargs, PyObject *kwnames)
{
    Py_ssize_t length;
    uint64_t seek;
    if (b3_parse_out(args, nargs, kwnames, "digest", &length, &seek) < 0) {
        return NULL;
    }
    PyObject *res = PyBytes_FromStringAndSize(NULL, length);
    if (res == NULL) {
        return NULL;
    }
    if (b3_output(fc_type_state((PyObject *)self), self, seek,
                  (uint8_t *)PyBytes_AS_STRING(res), length) < 0) {
        Py_CLEAR(res);
    }
    return res;
}

PyDoc_STRVAR(FcBlake3_hexdigest__doc__,
"hexdigest($self, /, length=32, *, seek=0)\n--\n\n"
"Like digest(), as a string of 2 * length hexadecimal digits.");

static PyObject *
FcBlake3_hexdigest(FcBlake3Object *self, PyObject *const *args,
                   Py_ssize_t nargs, PyObject *kwnames)
{
    static const char hexdig[] = "0123456789abcdef";
    Py_ssize_t length;
    uint64_t seek;
    PyObject *raw = NULL, *res = NULL;
    if (b3_parse_out(args, nargs, kwnames, "hexdigest", &length, &seek) < 0) {
        return NULL;
    }
    if (length > PY_SSIZE_T_MAX / 2) {
        PyErr_SetString(PyExc_OverflowError, "length is too large");
        return NULL;
    }
    raw = PyBytes_FromStringAndSize(NULL, length);
    if (raw == NULL) {
        goto exit;
    }
    const uint8_t *p = (const uint8_t *)PyBytes_AS_STRING(raw);
    if (b3_output(fc_type_state((PyObject *)self), self, seek, (uint8_t *)p,
                  length) < 0) {
        goto exit;
    }
    res = PyUnicode_New(2 * length, 127);
    if (res == NULL) {
        goto exit;
    }
    Py_UCS1 *s = PyUnicode_1BYTE_DATA(res);
    for (Py_ssize_t i = 0; i < length; i++) {
        s[2 * i] = (Py_UCS1)hexdig[p[i] >> 4];
        s[2 * i + 1] = (Py_UCS1)hexdig[p[i] & 15];
    }
exit:
    Py_XDECREF(raw);
    return res;
}

PyDoc_STRVAR(FcBlake3_copy__doc__,
"copy($self, /)\n--\n\n"
"Return an independent copy of the hash object.");

static PyObject *
FcBlake3_copy(FcBlake3Object *self, PyObject *Py_UNUSED(ignored))
{
    PyTypeObject *tp = Py_TYPE(self);
    FcBlake3Object *c = (FcBlake3Object *)tp->tp_alloc(tp, 0);
    if (c == NULL) {
        return NULL;
    }
    FC_LOCK_INIT(c);
    c->threads = self->threads;
    if (FC_LOCK_ACQUIRE(self) < 0) {
        Py_DECREF(c);
        return NULL;
    }
    c->h = self->h;
    FC_LOCK_RELEASE(self);
    return (PyObject *)c;
}

PyDoc_STRVAR(FcBlake3_reset__doc__,
"reset($self, /)\n--\n\n"
"Forget the data hashed so far (the key and mode are kept).");

static PyObject *
FcBlake3_reset(FcBlake3Object *self, PyObject *Py_UNUSED(ignored))
{
    if (FC_LOCK_ACQUIRE(self) < 0) {
        return NULL;
    }
    fc_blake3_reset(&self->h);
    FC_LOCK_RELEASE(self);
    Py_RETURN_NONE;
}

static PyObject *
FcBlake3_reduce(FcBlake3Object *self, PyObject *Py_UNUSED(ignored))
{
    PyErr_Format(PyExc_TypeError, "cannot pickle '%.100s' object",
                 Py_TYPE(self)->tp_name);
    return NULL;
}

static PyMethodDef FcBlake3_methods[] = {
    {"update", (PyCFunction)FcBlake3_update, METH_O, FcBlake3_update__doc__},
    {"update_mmap", FC_CFUNC(FcBlake3_update_mmap),
     METH_FASTCALL | METH_KEYWORDS, FcBlake3_update_mmap__doc__},
    {"digest", FC_CFUNC(FcBlake3_digest), METH_FASTCALL | METH_KEYWORDS,
     FcBlake3_digest__doc__},
    {"hexdigest", FC_CFUNC(FcBlake3_hexdigest), METH_FASTCALL | METH_KEYWORDS,
     FcBlake3_hexdigest__doc__},
    {"copy", (PyCFunction)FcBlake3_copy, METH_NOARGS, FcBlake3_copy__doc__},
    {"reset", (PyCFunction)FcBlake3_reset, METH_NOARGS,
     FcBlake3_reset__doc__},
    {"__reduce__", (PyCFunction)FcBlake3_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(FcBlake3__doc__,
"blake3(data=b'', *, key=None, derive_key_context=None, threads=None, "
"release_gil=None, usedforsecurity=True, max_threads=None)\n--\n\n"
"Return a BLAKE3 hash object, optionally fed with data; a drop-in for\n"
"blake3-py's blake3 class (name, digest_size, block_size, key_size and\n"
"AUTO on the class, update() returning self, update_mmap(), reset(),\n"
"digest(length, seek=)).  More lenient than blake3-py, as hashlib is:\n"
"data may be any contiguous buffer (array('i') too: its bytes are\n"
"hashed) and given by keyword, and derive_key_context may be bytes.\n"
"\n"
"  data: a bytes-like object (None: nothing).\n"
"  key: 32 bytes, for the keyed_hash mode.\n"
"  derive_key_context: str or bytes, for the derive_key mode (the data is\n"
"    then the key material).\n"
"  threads: threads for large updates (None: the pool size for updates of\n"
"    1 MiB and more, else 1); every value gives the same digest.\n"
"  max_threads: blake3-py's name: an int >= 1 or blake3.AUTO (the pool\n"
"    decides); unlike blake3-py's default of 1, leaving it out lets\n"
"    large updates use the pool.\n"
"  release_gil: for data given here; None releases it from GIL_THRESHOLD\n"
"    bytes on.");

static PyType_Slot FcBlake3_slots[] = {
    {Py_tp_new, FcBlake3_new},
    {Py_tp_dealloc, FcBlake3_dealloc},
    {Py_tp_repr, FcBlake3_repr},
    {Py_tp_traverse, FcBlake3_traverse},
    {Py_tp_methods, FcBlake3_methods},
    {Py_tp_doc, (void *)FcBlake3__doc__},
    {0, NULL},
};

static PyType_Spec FcBlake3_spec = {
    .name = "fastconc.blake3",
    .basicsize = sizeof(FcBlake3Object),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = FcBlake3_slots,
};

/* Class attributes, readable on the class and its instances as in
 * blake3-py: set in the type's dict before anyone can see the type (it is
 * immutable afterwards). */
static int
b3_class_constants(PyTypeObject *tp)
{
    static const struct {
        const char *name;
        long value;
    } ints[] = {
        {"digest_size", FC_BLAKE3_OUT_LEN},
        {"block_size", FC_BLAKE3_BLOCK_LEN},
        {"key_size", FC_BLAKE3_KEY_LEN},
        {"AUTO", B3_AUTO},
    };
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        if (fc_dict_set_steal(tp->tp_dict, ints[i].name,
                              PyLong_FromLong(ints[i].value)) < 0) {
            return -1;
        }
    }
    if (fc_dict_set_str(tp->tp_dict, "name", "blake3") < 0) {
        return -1;
    }
    PyType_Modified(tp);
    return 0;
}

static int
blake3_init(PyObject *m, fc_state *st)
{
    (void)st;
    PyObject *tp = PyType_FromModuleAndSpec(m, &FcBlake3_spec, NULL);
    if (tp == NULL) {
        return -1;
    }
    int rc = b3_class_constants((PyTypeObject *)tp);
    if (rc == 0) {
        rc = PyModule_AddObjectRef(m, "blake3", tp);
    }
    Py_DECREF(tp);
    return rc;
}

static int
blake3_info(fc_state *st, PyObject *d)
{
    PyObject *backends = PyDict_GetItemString(d, "backends");
    PyObject *parallel = PyDict_GetItemString(d, "parallel");
    if (fc_dict_set_steal(backends, "blake3",
                          PyUnicode_FromFormat("fastconc %s",
                                               FC_KERNEL(st, blake3)->name)) < 0) {
        return -1;
    }
    return PyDict_SetItemString(parallel, "blake3", Py_True);
}

/* Every hash object takes the kernels of the SIMD level in force when it
 * is created (st->kernels.blake3). */
const fc_area fc_area_blake3 = {
    "blake3", blake3_init, NULL, NULL, blake3_info,
};
