/* hash/object.c - the hashlib-style hash objects: Hash (OpenSSL EVP
 * digests) and XXHash (xxHash, with seed and intdigest()), shared safely
 * between threads, and the functions that make them: new() and one
 * constructor per algorithm (md5(), ..., xxh3_128()).  BLAKE3's object is
 * blake3/object.c's; new("blake3") returns one.
 *
 * This file owns the object lock and the GIL policy of each call.  It must
 * not hash by itself or touch a kernel (that is the hasher layer's,
 * hash/algorithms.c), nor call the other front ends.
 */
#include "hash/hash.h"

#include <string.h>

/* --- the objects --------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    fc_hasher h;
    /* Guards h: update/digest/copy from several threads. */
    FC_LOCK_FIELD;
} FcHashObject;

static FcHashObject *
hash_alloc(fc_state *st, int alg)
{
    struct fc_hash_state *hs = st->hash;
    PyTypeObject *tp = fc_hash_algs[alg].xxh >= 0 ? hs->XXHashType
                                                  : hs->HashType;
    FcHashObject *self = PyObject_GC_New(FcHashObject, tp);
    if (self == NULL) {
        return NULL;
    }
    memset(&self->h, 0, sizeof(self->h));
    FC_LOCK_INIT(self);
    PyObject_GC_Track(self);
    return self;
}

static void
FcHash_dealloc(FcHashObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    fc_hasher_close(&self->h);
    FC_LOCK_FREE(self);
    PyObject_GC_Del(self);
    Py_DECREF(tp);
}

static int
FcHash_traverse(FcHashObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    return 0;
}

/* A large update in chunks through fc_run, so that Ctrl-C is seen between
 * them; on interruption the object is put back as it was before the call
 * (no half-absorbed input).  The object lock is held throughout. */
static int
hash_feed_big(FcHashObject *self, Py_buffer *view)
{
    fc_hasher backup;
    int rc = -1, fed;
    memset(&backup, 0, sizeof(backup));
    if (FC_LOCK_ACQUIRE(self) < 0) {
        return -1;
    }
    if (fc_hasher_copy(&backup, &self->h) < 0) {
        fc_hasher_close(&backup);
        fc_hash_error("update");
        goto exit;
    }
    fed = fc_hasher_update_chunked(&self->h, view->buf, view->len, 1);
    if (fed == -1) {
        fc_hasher_close(&self->h);
        self->h = backup;       /* interrupted: as before the call */
        goto exit;
    }
    fc_hasher_close(&backup);
    if (fed == -2) {
        fc_hash_error("update");
        goto exit;
    }
    rc = 0;
exit:
    FC_LOCK_RELEASE(self);
    return rc;
}

/* Feed a pinned buffer to the object: big inputs release the GIL and then
 * take the lock; small ones keep the GIL and take the lock. */
static int
hash_feed(FcHashObject *self, Py_buffer *view, int release)
{
    int rc = 0, ok;
    if (release && view->len > FC_HASH_SEQ_CHUNK) {
        return hash_feed_big(self, view);
    }
    /* Safe: the view is pinned by the caller and the lock guards h. */
    FC_RUN_LOCKED(self, release, ok,
                  rc = fc_hasher_update(&self->h, view->buf,
                                        (size_t)view->len));
    if (!ok) {
        return -1;
    }
    if (rc < 0) {
        fc_hash_error("update");
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(FcHash_update__doc__,
"update($self, data, /)\n--\n\n"
"Feed data (a bytes-like object) to the hash.  Inputs of GIL_THRESHOLD\n"
"bytes or more are hashed with the GIL released.");

static int
hash_update_obj(FcHashObject *self, PyObject *data)
{
    fc_state *st = fc_type_state((PyObject *)self);
    Py_buffer view = {0};
    const void *buf;
    Py_ssize_t len;
    if (fc_get_data(data, &view, &buf, &len) < 0) {
        return -1;
    }
    /* hash_feed reads buf and len from a view. */
    Py_buffer v = view;
    v.buf = (void *)buf;
    v.len = len;
    int rc = hash_feed(self, &v,
                       fc_should_release_at(st, -1, len,
                                            fc_hash_pace(st, self->h.alg)));
    fc_data_release(&view);
    return rc;
}

static PyObject *
FcHash_update(FcHashObject *self, PyObject *data)
{
    if (hash_update_obj(self, data) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(FcXXHash_update__doc__,
"update($self, data)\n--\n\n"
"Feed data (a bytes-like object) to the hash.  Inputs of GIL_THRESHOLD\n"
"bytes or more are hashed with the GIL released.  data may be given by\n"
"keyword, as python-xxhash 4 allows.");

static PyObject *
FcXXHash_update(FcHashObject *self, PyObject *const *args, Py_ssize_t nargs,
                PyObject *kwnames)
{
    static const char *const names[] = {"data", NULL};
    PyObject *a[1];
    if (fc_parse_args_fast("update", args, nargs, kwnames, names, 1, 1, 1,
                           a) < 0 ||
        hash_update_obj(self, a[0]) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* The digest so far into out; returns its size or -1 with an exception. */
static int
hash_peek(FcHashObject *self, unsigned char *out)
{
    if (FC_LOCK_ACQUIRE(self) < 0) {
        return -1;
    }
    int rc = fc_hasher_peek(&self->h, out);
    FC_LOCK_RELEASE(self);
    if (rc < 0) {
        fc_hash_error("digest");
        return -1;
    }
    return fc_hasher_size(&self->h);
}

PyDoc_STRVAR(FcHash_digest__doc__,
"digest($self, /)\n--\n\n"
"Return the digest of the data fed so far, as bytes.");

static PyObject *
FcHash_digest(FcHashObject *self, PyObject *Py_UNUSED(ignored))
{
    unsigned char out[FC_MAX_DIGEST];
    int n = hash_peek(self, out);
    if (n < 0) {
        return NULL;
    }
    return PyBytes_FromStringAndSize((const char *)out, n);
}

PyDoc_STRVAR(FcHash_hexdigest__doc__,
"hexdigest($self, /)\n--\n\n"
"Return the digest of the data fed so far, as a str of hex digits.");

static PyObject *
FcHash_hexdigest(FcHashObject *self, PyObject *Py_UNUSED(ignored))
{
    unsigned char out[FC_MAX_DIGEST];
    int n = hash_peek(self, out);
    if (n < 0) {
        return NULL;
    }
    return fc_hash_hex_of(out, n);
}

PyDoc_STRVAR(FcHash_intdigest__doc__,
"intdigest($self, /)\n--\n\n"
"Return the digest as an int (big-endian), as python-xxhash does.");

static PyObject *
FcHash_intdigest(FcHashObject *self, PyObject *Py_UNUSED(ignored))
{
    unsigned char out[FC_MAX_DIGEST];
    int n = hash_peek(self, out);
    if (n < 0) {
        return NULL;
    }
    return fc_hash_int_of(out, n);
}

PyDoc_STRVAR(FcHash_copy__doc__,
"copy($self, /)\n--\n\n"
"Return an independent copy of the hash in its current state.");

static PyObject *
FcHash_copy(FcHashObject *self, PyObject *Py_UNUSED(ignored))
{
    fc_state *st = fc_type_state((PyObject *)self);
    FcHashObject *dup = hash_alloc(st, self->h.alg);
    if (dup == NULL) {
        return NULL;
    }
    if (FC_LOCK_ACQUIRE(self) < 0) {
        Py_DECREF(dup);
        return NULL;
    }
    int rc = fc_hasher_copy(&dup->h, &self->h);
    FC_LOCK_RELEASE(self);
    if (rc < 0) {
        Py_DECREF(dup);
        return fc_hash_error("copy");
    }
    return (PyObject *)dup;
}

PyDoc_STRVAR(FcHash_reset__doc__,
"reset($self, /)\n--\n\n"
"Forget the data fed so far: back to the state of a new object with the\n"
"same seed (as python-xxhash's reset()).");

static PyObject *
FcHash_reset(FcHashObject *self, PyObject *Py_UNUSED(ignored))
{
    if (FC_LOCK_ACQUIRE(self) < 0) {
        return NULL;
    }
    int rc = fc_hasher_reset(&self->h);
    FC_LOCK_RELEASE(self);
    if (rc < 0) {
        return fc_hash_error("reset");
    }
    Py_RETURN_NONE;
}

static PyObject *
FcHash_reduce(PyObject *self, PyObject *Py_UNUSED(ignored))
{
    PyErr_Format(PyExc_TypeError, "cannot pickle '%.100s' object",
                 Py_TYPE(self)->tp_name);
    return NULL;
}

static PyObject *
FcHash_get_name(FcHashObject *self, void *Py_UNUSED(closure))
{
    return PyUnicode_FromString(fc_hash_algs[self->h.alg].pyname);
}

static PyObject *
FcHash_get_digest_size(FcHashObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromLong(fc_hasher_size(&self->h));
}

static PyObject *
FcHash_get_block_size(FcHashObject *self, void *Py_UNUSED(closure))
{
    const fc_hasher *h = &self->h;
    return PyLong_FromLong(h->md ? EVP_MD_get_block_size(h->md)
                                 : fc_hash_algs[h->alg].block_size);
}

static PyObject *
FcHash_get_seed(FcHashObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromUnsignedLongLong(self->h.seed);
}

static PyObject *
FcHash_repr(FcHashObject *self)
{
    return PyUnicode_FromFormat("<%s fastconc hash object @ %p>",
                                fc_hash_algs[self->h.alg].name, (void *)self);
}

#define COMMON_METHODS                                                      \
    {"digest", (PyCFunction)FcHash_digest, METH_NOARGS,                     \
     FcHash_digest__doc__},                                                 \
    {"hexdigest", (PyCFunction)FcHash_hexdigest, METH_NOARGS,               \
     FcHash_hexdigest__doc__},                                              \
    {"copy", (PyCFunction)FcHash_copy, METH_NOARGS, FcHash_copy__doc__},    \
    {"__reduce__", FcHash_reduce, METH_NOARGS, NULL}

static PyMethodDef FcHash_methods[] = {
    {"update", (PyCFunction)FcHash_update, METH_O, FcHash_update__doc__},
    COMMON_METHODS,
    {NULL, NULL, 0, NULL},
};

static PyMethodDef FcXXHash_methods[] = {
    {"update", FC_CFUNC(FcXXHash_update), METH_FASTCALL | METH_KEYWORDS,
     FcXXHash_update__doc__},
    COMMON_METHODS,
    {"intdigest", (PyCFunction)FcHash_intdigest, METH_NOARGS,
     FcHash_intdigest__doc__},
    {"reset", (PyCFunction)FcHash_reset, METH_NOARGS, FcHash_reset__doc__},
    {NULL, NULL, 0, NULL},
};

#define COMMON_GETSET                                                       \
    {"name", (getter)FcHash_get_name, NULL, "Name of the algorithm.", NULL},\
    {"digest_size", (getter)FcHash_get_digest_size, NULL,                   \
     "Size of the digest in bytes.", NULL},                                 \
    {"block_size", (getter)FcHash_get_block_size, NULL,                     \
     "Internal block size of the algorithm in bytes.", NULL}

static PyGetSetDef FcHash_getset[] = {
    COMMON_GETSET,
    {NULL, NULL, NULL, NULL, NULL},
};

static PyGetSetDef FcXXHash_getset[] = {
    COMMON_GETSET,
    {"seed", (getter)FcHash_get_seed, NULL, "The seed.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(FcHash__doc__,
"A hash object (OpenSSL EVP), as returned by fastconc.new() and the\n"
"constructors; it behaves like hashlib's and may be shared by threads.");

static PyType_Slot FcHash_slots[] = {
    {Py_tp_dealloc, FcHash_dealloc},
    {Py_tp_traverse, FcHash_traverse},
    {Py_tp_repr, FcHash_repr},
    {Py_tp_methods, FcHash_methods},
    {Py_tp_getset, FcHash_getset},
    {Py_tp_doc, (void *)FcHash__doc__},
    {0, NULL},
};

static PyType_Spec FcHash_spec = {
    .name = "fastconc._core.Hash",
    .basicsize = sizeof(FcHashObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = FcHash_slots,
};

PyDoc_STRVAR(FcXXHash__doc__,
"An xxHash hash object, as returned by fastconc.new() and the xxh*\n"
"constructors; like python-xxhash's (update, digest, hexdigest,\n"
"intdigest, copy, reset, name, digest_size, block_size, seed), and safe\n"
"to share between threads.");

static PyType_Slot FcXXHash_slots[] = {
    {Py_tp_dealloc, FcHash_dealloc},
    {Py_tp_traverse, FcHash_traverse},
    {Py_tp_repr, FcHash_repr},
    {Py_tp_methods, FcXXHash_methods},
    {Py_tp_getset, FcXXHash_getset},
    {Py_tp_doc, (void *)FcXXHash__doc__},
    {0, NULL},
};

static PyType_Spec FcXXHash_spec = {
    .name = "fastconc._core.XXHash",
    .basicsize = sizeof(FcHashObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = FcXXHash_slots,
};

/* --- new() and the constructors ------------------------------------------ */

/* Make a hash object for algorithm alg and feed it data (may be NULL).
 * Constructors skip the lock: no other thread can see the object yet. */
static PyObject *
hash_make(fc_state *st, int alg, PyObject *data, uint64_t seed)
{
    Py_buffer view = {0};
    FcHashObject *self = NULL;
    PyObject *result = NULL;
    const void *buf = NULL;
    Py_ssize_t len = 0;
    int rc = 0;

    if (data != NULL && fc_get_data(data, &view, &buf, &len) < 0) {
        return NULL;
    }
    self = hash_alloc(st, alg);
    if (self == NULL) {
        goto exit;
    }
    fc_hasher_setup(&self->h, st->hash, alg, seed);
    if (fc_hasher_open(&self->h) < 0) {
        fc_hash_error("hash initialisation");
        goto exit;
    }
    if (len > 0) {
        /* Safe: the data is pinned; the object is not shared yet. */
        FC_RUN_OUTSIDE_GIL(fc_should_release_at(st, -1, len,
                                                fc_hash_pace(st, alg)),
                           rc = fc_hasher_update(&self->h, buf, (size_t)len));
        if (rc < 0) {
            fc_hash_error("update");
            goto exit;
        }
    }
    result = Py_NewRef((PyObject *)self);
exit:
    Py_XDECREF(self);
    fc_data_release(&view);   /* no-op for bytes or no data */
    return result;
}

PyDoc_STRVAR(fc_new__doc__,
"new($module, name, data=b'', *, seed=None, usedforsecurity=True)\n--\n\n"
"Return a new hash object for the algorithm called name, like\n"
"hashlib.new().\n"
"\n"
"  name: one of algorithms_available (case-insensitive); \"blake3\"\n"
"    returns a fastconc.blake3 object.\n"
"  data: bytes-like object hashed first.\n"
"  seed: xxHash only: the seed (an int).\n"
"  usedforsecurity: accepted for hashlib compatibility; ignored.");

/* new("blake3", data): the full fastconc.blake3 object (blake3/object.c),
 * which hashes large updates on several threads and has extendable
 * output. */
static PyObject *
new_blake3(PyObject *module, PyObject *data)
{
    PyObject *tp = PyObject_GetAttrString(module, "blake3"), *result;
    if (tp == NULL) {
        return NULL;
    }
    result = data == NULL ? PyObject_CallNoArgs(tp)
                          : PyObject_CallOneArg(tp, data);
    Py_DECREF(tp);
    return result;
}

static PyObject *
fc_new(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
       PyObject *kwnames)
{
    static const char *const names[] = {"name", "data", "seed",
                                        "usedforsecurity", NULL};
    fc_state *st = fc_get_state(module);
    PyObject *a[4];
    uint64_t seed;
    int alg;
    if (fc_parse_args_fast("new", args, nargs, kwnames, names, 4, 2, 1,
                           a) < 0 ||
        (alg = fc_hash_lookup(st->hash, a[0])) < 0 ||
        fc_hash_parse_seed(alg, a[2], &seed) < 0) {
        return NULL;
    }
    if (fc_hash_algs[alg].b3) {
        return new_blake3(module, a[1]);
    }
    return hash_make(st, alg, a[1], seed);
}

/* The per-algorithm constructors: EVP ones take (data=b'', *,
 * usedforsecurity=True), xxHash ones (data=b'', seed=0) as python-xxhash
 * (and input= for data, as python-xxhash 3). */
static PyObject *
hash_ctor(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
          PyObject *kwnames, int alg)
{
    static const char *const evp_names[] = {"data", "usedforsecurity", NULL};
    fc_state *st = fc_get_state(module);
    PyObject *a[2];
    uint64_t seed = 0;
    if (fc_hash_algs[alg].xxh >= 0) {
        if (fc_hash_xxh_args(fc_hash_algs[alg].name, args, nargs, kwnames, 0,
                             &a[0], &a[1]) < 0 ||
            fc_hash_parse_seed(alg, a[1], &seed) < 0) {
            return NULL;
        }
        return hash_make(st, alg, a[0], seed);
    }
    if (fc_parse_args_fast(fc_hash_algs[alg].name, args, nargs, kwnames,
                           evp_names, 2, 1, 0, a) < 0) {
        return NULL;
    }
    if (st->hash->md[alg] == NULL) {
        PyErr_Format(PyExc_ValueError, "%s is not available in this "
                     "OpenSSL", fc_hash_algs[alg].name);
        return NULL;
    }
    return hash_make(st, alg, a[0], seed);
}

#define FC_CTOR(idx, fname)                                                 \
    static PyObject *                                                       \
    fc_ctor_##fname(PyObject *m, PyObject *const *args, Py_ssize_t nargs,   \
                    PyObject *kwnames)                                      \
    {                                                                       \
        return hash_ctor(m, args, nargs, kwnames, idx);                     \
    }

FC_CTOR(FC_ALG_MD5, md5)
FC_CTOR(FC_ALG_SHA1, sha1)
FC_CTOR(FC_ALG_SHA224, sha224)
FC_CTOR(FC_ALG_SHA256, sha256)
FC_CTOR(FC_ALG_SHA384, sha384)
FC_CTOR(FC_ALG_SHA512, sha512)
FC_CTOR(FC_ALG_SHA3_256, sha3_256)
FC_CTOR(FC_ALG_SHA3_512, sha3_512)
FC_CTOR(FC_ALG_BLAKE2B, blake2b)
FC_CTOR(FC_ALG_BLAKE2S, blake2s)
FC_CTOR(FC_ALG_XXH32, xxh32)
FC_CTOR(FC_ALG_XXH64, xxh64)
FC_CTOR(FC_ALG_XXH3_64, xxh3_64)
FC_CTOR(FC_ALG_XXH3_128, xxh3_128)

#define CTOR_DEF(fname, doc)                                                \
    {#fname, FC_CFUNC(fc_ctor_##fname), METH_FASTCALL | METH_KEYWORDS, doc}

PyDoc_STRVAR(ctor_evp__doc__,
"Return a new hash object (like the hashlib constructor of this name).\n"
"\n"
"  data: bytes-like object hashed first.\n"
"  usedforsecurity: accepted for hashlib compatibility; ignored.");

PyDoc_STRVAR(ctor_xxh__doc__,
"Return a new xxHash object (like the python-xxhash constructor).\n"
"\n"
"  data: bytes-like object hashed first (any buffer; input= is accepted\n"
"    too, as python-xxhash 3 named it).\n"
"  seed: an int (taken modulo 2**64, or 2**32 for xxh32).");

static PyMethodDef object_methods[] = {
    {"new", FC_CFUNC(fc_new), METH_FASTCALL | METH_KEYWORDS, fc_new__doc__},
    CTOR_DEF(md5, ctor_evp__doc__),
    CTOR_DEF(sha1, ctor_evp__doc__),
    CTOR_DEF(sha224, ctor_evp__doc__),
    CTOR_DEF(sha256, ctor_evp__doc__),
    CTOR_DEF(sha384, ctor_evp__doc__),
    CTOR_DEF(sha512, ctor_evp__doc__),
    CTOR_DEF(sha3_256, ctor_evp__doc__),
    CTOR_DEF(sha3_512, ctor_evp__doc__),
    CTOR_DEF(blake2b, ctor_evp__doc__),
    CTOR_DEF(blake2s, ctor_evp__doc__),
    CTOR_DEF(xxh32, ctor_xxh__doc__),
    CTOR_DEF(xxh64, ctor_xxh__doc__),
    CTOR_DEF(xxh3_64, ctor_xxh__doc__),
    CTOR_DEF(xxh3_128, ctor_xxh__doc__),
    {NULL, NULL, 0, NULL},
};

/* --- the types and functions in the module ------------------------------- */

static int
object_init(PyObject *m, fc_state *st)
{
    struct fc_hash_state *hs = st->hash;
    hs->HashType = (PyTypeObject *)PyType_FromModuleAndSpec(
        m, &FcHash_spec, NULL);
    hs->XXHashType = (PyTypeObject *)PyType_FromModuleAndSpec(
        m, &FcXXHash_spec, NULL);
    if (hs->HashType == NULL || hs->XXHashType == NULL) {
        return -1;
    }
#if PY_VERSION_HEX < 0x030A0000
    /* No Py_TPFLAGS_DISALLOW_INSTANTIATION before 3.10: a NULL tp_new makes
     * type() refuse to create instances. */
    hs->HashType->tp_new = NULL;
    hs->XXHashType->tp_new = NULL;
#endif
    if (PyModule_AddObjectRef(m, "Hash", (PyObject *)hs->HashType) < 0 ||
        PyModule_AddObjectRef(m, "XXHash", (PyObject *)hs->XXHashType) < 0 ||
        PyModule_AddFunctions(m, object_methods) < 0) {
        return -1;
    }
    /* python-xxhash's alias: the same function object. */
    PyObject *f = PyObject_GetAttrString(m, "xxh3_128");
    if (f == NULL) {
        return -1;
    }
    int rc = PyModule_AddObjectRef(m, "xxh128", f);
    Py_DECREF(f);
    return rc;
}

static int
object_traverse(fc_state *st, visitproc visit, void *arg)
{
    if (st->hash) {
        Py_VISIT(st->hash->HashType);
        Py_VISIT(st->hash->XXHashType);
    }
    return 0;
}

static void
object_clear(fc_state *st)
{
    if (st->hash) {
        Py_CLEAR(st->hash->HashType);
        Py_CLEAR(st->hash->XXHashType);
    }
}

const fc_area fc_area_hash_object = {
    "hash objects", object_init, object_traverse, object_clear, NULL,
};
