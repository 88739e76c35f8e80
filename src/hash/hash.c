/* hash.c - the "hash" area of fastconc._core: hashlib-compatible hash
 * objects (OpenSSL EVP digests and xxHash), one-shot digest(), hash_many()
 * over a batch of buffers on the pool, and hash_file()/hash_files().
 *
 * The EVP_MDs are fetched once in init and kept in the area state; the
 * xxHash, BLAKE3 and SHA-NI kernels are the tables simd/dispatch.c chose
 * for the SIMD level (st->kernels).  Code that runs without the GIL works
 * on a `hasher` (C types only) and never calls the Python API.
 */
#include "core/fastconc.h"
#include "blake3/impl.h"
#include "blake3/pool.h"

/* hash_many uses libcrypto's low-level SHA/MD5 functions for small items
 * (see LOWLEVEL below); they are deprecated in OpenSSL 3 but present unless
 * the library was built without them. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/provider.h>
#include <openssl/md5.h>
#include <openssl/sha.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>   /* only for XXH_VERSION_* */

#define FC_MAX_DIGEST 64
/* One-shot digests of more than this run in chunks of it, checking for
 * Ctrl-C in between (16 MiB is about 10 ms of SHA-256). */
#define HASH_SEQ_CHUNK ((Py_ssize_t)16 << 20)
/* xxHash runs at memory speed (10+ GB/s): 256 MiB is still ~25 ms, and one
 * one-shot call is faster than the streaming API. */
#define XXH_SEQ_CHUNK ((Py_ssize_t)256 << 20)
/* Files are read in blocks of this size. */
#define FILE_BUF ((size_t)256 << 10)
/* hash_file() checks for Ctrl-C after at most this many bytes. */
#define FILE_SLICE ((Py_ssize_t)16 << 20)
/* hash_many() with threads=None goes parallel from this many bytes on
 * (counting FC_ITEM_COST per item for the per-item overhead). */
#define MANY_PARALLEL_MIN ((Py_ssize_t)64 << 10)
#define FC_ITEM_COST 256
/* --- the algorithms ----------------------------------------------------- */

typedef struct {
    const char *name;
    const char *ossl;   /* OpenSSL name; NULL for xxHash and BLAKE3 */
    int xxh;            /* FC_XXH* or -1 */
    int digest_size;    /* xxHash/BLAKE3; EVP sizes come from the EVP_MD */
    int block_size;
    int b3;             /* 1 for BLAKE3 (blake3/impl.c) */
} hash_alg;

static const hash_alg ALGS[] = {
    {"md5", "MD5", -1, 0, 0, 0},
    {"sha1", "SHA1", -1, 0, 0, 0},
    {"sha224", "SHA224", -1, 0, 0, 0},
    {"sha256", "SHA256", -1, 0, 0, 0},
    {"sha384", "SHA384", -1, 0, 0, 0},
    {"sha512", "SHA512", -1, 0, 0, 0},
    {"sha3_256", "SHA3-256", -1, 0, 0, 0},
    {"sha3_512", "SHA3-512", -1, 0, 0, 0},
    {"blake2b", "BLAKE2B-512", -1, 0, 0, 0},
    {"blake2s", "BLAKE2S-256", -1, 0, 0, 0},
    /* block sizes as python-xxhash reports them */
    {"xxh32", NULL, FC_XXH32, 4, 16, 0},
    {"xxh64", NULL, FC_XXH64, 8, 32, 0},
    {"xxh3_64", NULL, FC_XXH3_64, 8, 32, 0},
    {"xxh3_128", NULL, FC_XXH3_128, 16, 64, 0},
    {"blake3", NULL, -1, FC_BLAKE3_OUT_LEN, FC_BLAKE3_BLOCK_LEN, 1},
};
#define N_ALGS ((int)(sizeof(ALGS) / sizeof(ALGS[0])))

/* libcrypto's low-level functions: the same code the default provider
 * runs, without EVP's per-call set-up (which costs more than hashing a 64-byte
 * item, and SHA256() in OpenSSL 3 goes through a fetch each call).  Used by
 * hash_many and digest(), and only when the EVP_MD comes from the default provider,
 * so a FIPS or other configured provider is never bypassed. */
typedef void (*oneshot_fn)(const unsigned char *, size_t, unsigned char *);

#ifndef OPENSSL_NO_DEPRECATED_3_0
#define FC_LOWLEVEL(fname, CTX, Init, Update, Final)                        \
    static void                                                             \
    fname(const unsigned char *d, size_t n, unsigned char *md)              \
    {                                                                       \
        CTX c;                                                              \
        Init(&c);                                                           \
        Update(&c, d, n);                                                   \
        Final(md, &c);                                                      \
    }
FC_LOWLEVEL(ll_md5, MD5_CTX, MD5_Init, MD5_Update, MD5_Final)
FC_LOWLEVEL(ll_sha1, SHA_CTX, SHA1_Init, SHA1_Update, SHA1_Final)
FC_LOWLEVEL(ll_sha224, SHA256_CTX, SHA224_Init, SHA224_Update, SHA224_Final)
FC_LOWLEVEL(ll_sha256, SHA256_CTX, SHA256_Init, SHA256_Update, SHA256_Final)
FC_LOWLEVEL(ll_sha384, SHA512_CTX, SHA384_Init, SHA384_Update, SHA384_Final)
FC_LOWLEVEL(ll_sha512, SHA512_CTX, SHA512_Init, SHA512_Update, SHA512_Final)
/* The rest (SHA-3, BLAKE2, xxHash, BLAKE3) are NULL. */
static const oneshot_fn ONESHOT[N_ALGS] = {
    ll_md5, ll_sha1, ll_sha224, ll_sha256, ll_sha384, ll_sha512,
};
#else
static const oneshot_fn ONESHOT[N_ALGS] = {NULL};
#endif

struct fc_hash_state {
    PyTypeObject *HashType;     /* EVP digests */
    PyTypeObject *XXHashType;   /* xxHash, with seed and intdigest() */
    PyObject *available;        /* frozenset of names */
    PyObject *names[N_ALGS];    /* interned ALGS[i].name: lookup_alg tries
                                 * identity first (a literal in the
                                 * caller's code is the same object) */
    EVP_MD *md[N_ALGS];         /* NULL for xxHash or when not available */
    oneshot_fn oneshot[N_ALGS]; /* ONESHOT[i] if md[i] is the default's */
    const fc_kernels *kernels;  /* &st->kernels: the SIMD level's tables */
    struct fc_scratch *scratch; /* hash_many's kept scratch block, or NULL */
};

/* SHA-256's and SHA-224's initial words (FIPS 180-4, 5.3.3 and 5.3.2). */
static const uint32_t SHA256_IV[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};
static const uint32_t SHA224_IV[8] = {
    0xc1059ed8, 0x367cd507, 0x3070dd17, 0xf70e5939,
    0xffc00b31, 0x68581511, 0x64f98fa7, 0xbefa4fa4,
};
/* PAIR_IV[i]: the initial words when ALGS[i] is one that
 * fc_sha256_pair_shani can hash (sha224, sha256), else NULL. */
static const uint32_t *const PAIR_IV[N_ALGS] = {
    NULL, NULL, SHA224_IV, SHA256_IV,
};

/* --- the hasher: one digest in progress, C types only ------------------- */

typedef struct {
    int alg;                    /* index into ALGS */
    const EVP_MD *md;
    const fc_xxh_kernels *xk;
    const fc_blake3_kernels *bk;
    uint64_t seed;
    EVP_MD_CTX *ctx;
    void *xs;                   /* xxHash state */
    fc_blake3_hasher *b3;       /* BLAKE3 state (no pointers inside) */
} hasher;

static int
alg_digest_size(const struct fc_hash_state *hs, int alg)
{
    return hs->md[alg] ? EVP_MD_get_size(hs->md[alg]) : ALGS[alg].digest_size;
}

static int
hasher_size(const hasher *h)
{
    return h->md ? EVP_MD_get_size(h->md) : ALGS[h->alg].digest_size;
}

/* Allocate and start.  No Python API: callable without the GIL.
 * Returns -1 on allocation failure (or an OpenSSL failure). */
static int
hasher_open(hasher *h)
{
    if (h->md) {
        h->ctx = EVP_MD_CTX_new();
        if (h->ctx == NULL || !EVP_DigestInit_ex2(h->ctx, h->md, NULL)) {
            return -1;
        }
        return 0;
    }
    if (ALGS[h->alg].b3) {
        h->b3 = PyMem_RawMalloc(sizeof(*h->b3));
        if (h->b3 == NULL) {
            return -1;
        }
        fc_blake3_init(h->b3, h->bk);
        return 0;
    }
    h->xs = fc_xxh_state_new(ALGS[h->alg].xxh);
    if (h->xs == NULL) {
        return -1;
    }
    h->xk->reset(ALGS[h->alg].xxh, h->xs, h->seed);
    return 0;
}

static int
hasher_reset(hasher *h)
{
    if (h->md) {
        return EVP_DigestInit_ex2(h->ctx, h->md, NULL) ? 0 : -1;
    }
    if (h->b3) {
        fc_blake3_reset(h->b3);
        return 0;
    }
    h->xk->reset(ALGS[h->alg].xxh, h->xs, h->seed);
    return 0;
}

static void
hasher_close(hasher *h)
{
    if (h->ctx) {
        EVP_MD_CTX_free(h->ctx);
        h->ctx = NULL;
    }
    if (h->xs) {
        fc_xxh_state_free(ALGS[h->alg].xxh, h->xs);
        h->xs = NULL;
    }
    if (h->b3) {
        PyMem_RawFree(h->b3);
        h->b3 = NULL;
    }
}

static int
hasher_update(hasher *h, const void *data, size_t len)
{
    if (h->md) {
        return EVP_DigestUpdate(h->ctx, data, len) ? 0 : -1;
    }
    if (h->b3) {
        fc_blake3_update(h->b3, data, len);
        return 0;
    }
    h->xk->update(ALGS[h->alg].xxh, h->xs, data, len);
    return 0;
}

/* Finish into out (hasher_size bytes); the hasher must be reset before
 * reuse. */
static int
hasher_final(hasher *h, unsigned char *out)
{
    if (h->md) {
        return EVP_DigestFinal_ex(h->ctx, out, NULL) ? 0 : -1;
    }
    if (h->b3) {
        fc_blake3_finalize(h->b3, out, FC_BLAKE3_OUT_LEN);
        return 0;
    }
    h->xk->digest(ALGS[h->alg].xxh, h->xs, out);
    return 0;
}

/* The digest so far, leaving h as it is (EVP finalises a copy). */
static int
hasher_peek(const hasher *h, unsigned char *out)
{
    if (h->md) {
        int rc = -1;
        EVP_MD_CTX *tmp = EVP_MD_CTX_new();
        if (tmp && EVP_MD_CTX_copy_ex(tmp, h->ctx) &&
            EVP_DigestFinal_ex(tmp, out, NULL)) {
            rc = 0;
        }
        EVP_MD_CTX_free(tmp);
        return rc;
    }
    if (h->b3) {
        fc_blake3_finalize(h->b3, out, FC_BLAKE3_OUT_LEN);   /* h unchanged */
        return 0;
    }
    h->xk->digest(ALGS[h->alg].xxh, h->xs, out);
    return 0;
}

/* dst gets its own resources; dst must be zeroed or closed. */
static int
hasher_copy(hasher *dst, const hasher *src)
{
    *dst = *src;
    dst->ctx = NULL;
    dst->xs = NULL;
    dst->b3 = NULL;
    if (src->md) {
        dst->ctx = EVP_MD_CTX_new();
        if (dst->ctx == NULL || !EVP_MD_CTX_copy_ex(dst->ctx, src->ctx)) {
            return -1;
        }
        return 0;
    }
    if (src->b3) {
        dst->b3 = PyMem_RawMalloc(sizeof(*dst->b3));
        if (dst->b3 == NULL) {
            return -1;
        }
        *dst->b3 = *src->b3;
        return 0;
    }
    dst->xs = fc_xxh_state_new(ALGS[src->alg].xxh);
    if (dst->xs == NULL) {
        return -1;
    }
    fc_xxh_state_copy(ALGS[src->alg].xxh, dst->xs, src->xs);
    return 0;
}

/* --- looking up names and arguments -------------------------------------- */

static struct fc_hash_state *
hash_state(fc_state *st)
{
    return st->hash;
}

static PyObject *
sorted_names(struct fc_hash_state *hs)
{
    PyObject *list = PySequence_List(hs->available), *sep = NULL, *s = NULL;
    if (list == NULL || PyList_Sort(list) < 0) {
        goto exit;
    }
    sep = PyUnicode_FromString(", ");
    if (sep == NULL) {
        goto exit;
    }
    s = PyUnicode_Join(sep, list);
exit:
    Py_XDECREF(list);
    Py_XDECREF(sep);
    return s;
}

/* Index of the algorithm called `name` (case-insensitive), or -1 with
 * ValueError (listing the available names) / TypeError set. */
static int
lookup_alg(struct fc_hash_state *hs, PyObject *name)
{
    if (!PyUnicode_Check(name)) {
        PyErr_Format(PyExc_TypeError,
                     "hash name must be a str, not '%.100s'",
                     Py_TYPE(name)->tp_name);
        return -1;
    }
    for (int i = 0; i < N_ALGS; i++) {
        if (name == hs->names[i] &&
            (ALGS[i].xxh >= 0 || ALGS[i].b3 || hs->md[i] != NULL)) {
            return i;
        }
    }
    const char *s = PyUnicode_AsUTF8(name);
    if (s == NULL) {
        return -1;
    }
    for (int i = 0; i < N_ALGS; i++) {
        if (strcasecmp(s, ALGS[i].name) == 0 &&
            (ALGS[i].xxh >= 0 || ALGS[i].b3 || hs->md[i] != NULL)) {
            return i;
        }
    }
    PyObject *names = sorted_names(hs);
    if (names != NULL) {
        PyErr_Format(PyExc_ValueError,
                     "unsupported hash type %R; available: %U", name, names);
        Py_DECREF(names);
    }
    return -1;
}

/* seed=: an int, taken modulo 2**64 (2**32 for xxh32) as python-xxhash
 * does.  Only xxHash has a seed. */
static int
parse_seed(int alg, PyObject *obj, uint64_t *out)
{
    *out = 0;
    if (obj == NULL) {
        return 0;
    }
    if (ALGS[alg].xxh < 0) {
        PyErr_Format(PyExc_TypeError, "%s does not take a seed",
                     ALGS[alg].name);
        return -1;
    }
    if (!PyLong_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "seed must be an int, not '%.100s'",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    unsigned long long v = PyLong_AsUnsignedLongLongMask(obj);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        return -1;
    }
    *out = ALGS[alg].xxh == FC_XXH32 ? (uint64_t)(uint32_t)v : (uint64_t)v;
    return 0;
}

static void
hasher_setup(hasher *h, struct fc_hash_state *hs, int alg, uint64_t seed)
{
    memset(h, 0, sizeof(*h));
    h->alg = alg;
    h->md = hs->md[alg];
    h->xk = hs->kernels->xxh;
    h->bk = hs->kernels->blake3;
    h->seed = seed;
}

/* --- hash objects -------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    hasher h;
    /* Guards h: update/digest/copy from several threads. */
    FC_LOCK_FIELD;
} FcHashObject;


static PyObject *
ssl_error(const char *what)
{
    PyErr_Format(PyExc_MemoryError, "%s failed (out of memory or OpenSSL "
                 "error)", what);
    return NULL;
}

static FcHashObject *
hash_alloc(fc_state *st, int alg)
{
    struct fc_hash_state *hs = hash_state(st);
    PyTypeObject *tp = ALGS[alg].xxh >= 0 ? hs->XXHashType : hs->HashType;
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
    hasher_close(&self->h);
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

static int hash_feed_big(FcHashObject *self, Py_buffer *view);

/* Feed a pinned buffer to the object: big inputs release the GIL and then
 * take the lock; small ones keep the GIL and take the lock. */
static int
hash_feed(FcHashObject *self, Py_buffer *view, int release)
{
    int rc = 0, ok;
    if (release && view->len > HASH_SEQ_CHUNK) {
        return hash_feed_big(self, view);
    }
    /* Safe: the view is pinned by the caller and the lock guards h. */
    FC_RUN_LOCKED(self, release, ok,
                  rc = hasher_update(&self->h, view->buf, (size_t)view->len));
    if (!ok) {
        return -1;
    }
    if (rc < 0) {
        ssl_error("update");
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(FcHash_update__doc__,
"update($self, data, /)\n--\n\n"
"Feed data (a bytes-like object) to the hash.  Inputs of GIL_THRESHOLD\n"
"bytes or more are hashed with the GIL released.");

static PyObject *
FcHash_update(FcHashObject *self, PyObject *data)
{
    fc_state *st = fc_type_state((PyObject *)self);
    Py_buffer view = {0};
    PyObject *result = NULL;
    if (fc_get_buffer(data, &view, "data") < 0) {
        return NULL;
    }
    if (hash_feed(self, &view, fc_should_release(st, -1, view.len)) < 0) {
        goto exit;
    }
    result = Py_NewRef(Py_None);
exit:
    PyBuffer_Release(&view);
    return result;
}

/* The digest so far into out; returns its size or -1 with an exception. */
static int
hash_peek(FcHashObject *self, unsigned char *out)
{
    if (FC_LOCK_ACQUIRE(self) < 0) {
        return -1;
    }
    int rc = hasher_peek(&self->h, out);
    FC_LOCK_RELEASE(self);
    if (rc < 0) {
        ssl_error("digest");
        return -1;
    }
    return hasher_size(&self->h);
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

static PyObject *
hex_of(const unsigned char *d, int n)
{
    static const char digits[] = "0123456789abcdef";
    char buf[2 * FC_MAX_DIGEST];
    for (int i = 0; i < n; i++) {
        buf[2 * i] = digits[d[i] >> 4];
        buf[2 * i + 1] = digits[d[i] & 15];
    }
    return PyUnicode_FromStringAndSize(buf, 2 * (Py_ssize_t)n);
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
    return hex_of(out, n);
}

static uint64_t
be64_at(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* Big-endian digest bytes (at most 16) as an int. */
static PyObject *
int_of(const unsigned char *d, int n)
{
    if (n <= 8) {
        return PyLong_FromUnsignedLongLong(be64_at(d, n));
    }
    PyObject *hi = PyLong_FromUnsignedLongLong(be64_at(d, n - 8));
    PyObject *lo = PyLong_FromUnsignedLongLong(be64_at(d + n - 8, 8));
    PyObject *shift = PyLong_FromLong(64), *t = NULL, *result = NULL;
    if (hi && lo && shift && (t = PyNumber_Lshift(hi, shift)) != NULL) {
        result = PyNumber_Or(t, lo);
    }
    Py_XDECREF(hi);
    Py_XDECREF(lo);
    Py_XDECREF(shift);
    Py_XDECREF(t);
    return result;
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
    return int_of(out, n);
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
    int rc = hasher_copy(&dup->h, &self->h);
    FC_LOCK_RELEASE(self);
    if (rc < 0) {
        Py_DECREF(dup);
        return ssl_error("copy");
    }
    return (PyObject *)dup;
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
    return PyUnicode_FromString(ALGS[self->h.alg].name);
}

static PyObject *
FcHash_get_digest_size(FcHashObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromLong(hasher_size(&self->h));
}

static PyObject *
FcHash_get_block_size(FcHashObject *self, void *Py_UNUSED(closure))
{
    const hasher *h = &self->h;
    return PyLong_FromLong(h->md ? EVP_MD_get_block_size(h->md)
                                 : ALGS[h->alg].block_size);
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
                                ALGS[self->h.alg].name, (void *)self);
}

#define COMMON_METHODS                                                      \
    {"update", (PyCFunction)FcHash_update, METH_O, FcHash_update__doc__},   \
    {"digest", (PyCFunction)FcHash_digest, METH_NOARGS,                     \
     FcHash_digest__doc__},                                                 \
    {"hexdigest", (PyCFunction)FcHash_hexdigest, METH_NOARGS,               \
     FcHash_hexdigest__doc__},                                              \
    {"copy", (PyCFunction)FcHash_copy, METH_NOARGS, FcHash_copy__doc__},    \
    {"__reduce__", FcHash_reduce, METH_NOARGS, NULL}

static PyMethodDef FcHash_methods[] = {
    COMMON_METHODS,
    {NULL, NULL, 0, NULL},
};

static PyMethodDef FcXXHash_methods[] = {
    COMMON_METHODS,
    {"intdigest", (PyCFunction)FcHash_intdigest, METH_NOARGS,
     FcHash_intdigest__doc__},
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
"constructors; like python-xxhash's, with seed and intdigest(), and safe to\n"
"share between threads.");

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

/* Make a hash object for ALGS[alg] and feed it data (may be NULL).
 * Constructors skip the lock: no other thread can see the object yet. */
static PyObject *
hash_make(fc_state *st, int alg, PyObject *data, uint64_t seed)
{
    Py_buffer view = {0};
    FcHashObject *self = NULL;
    PyObject *result = NULL;
    int rc = 0;

    if (data != NULL && fc_get_buffer(data, &view, "data") < 0) {
        return NULL;
    }
    self = hash_alloc(st, alg);
    if (self == NULL) {
        goto exit;
    }
    hasher_setup(&self->h, hash_state(st), alg, seed);
    if (hasher_open(&self->h) < 0) {
        ssl_error("hash initialisation");
        goto exit;
    }
    if (view.buf != NULL && view.len > 0) {
        /* Safe: the view is pinned; the object is not shared yet. */
        FC_RUN_OUTSIDE_GIL(fc_should_release(st, -1, view.len),
                           rc = hasher_update(&self->h, view.buf,
                                              (size_t)view.len));
        if (rc < 0) {
            ssl_error("update");
            goto exit;
        }
    }
    result = Py_NewRef((PyObject *)self);
exit:
    Py_XDECREF(self);
    PyBuffer_Release(&view);   /* no-op when data was not given */
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

/* new("blake3", data): the full fastconc.blake3 object (blake3/object.c), which
 * hashes large updates on several threads and has extendable output. */
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
    if (fc_parse_args("new", args, nargs, kwnames, names, 2, 1, a) < 0 ||
        (alg = lookup_alg(hash_state(st), a[0])) < 0 ||
        parse_seed(alg, a[2], &seed) < 0) {
        return NULL;
    }
    if (ALGS[alg].b3) {
        return new_blake3(module, a[1]);
    }
    return hash_make(st, alg, a[1], seed);
}

/* The per-algorithm constructors: EVP ones take (data=b'', *,
 * usedforsecurity=True), xxHash ones (data=b'', seed=0) as python-xxhash. */
static PyObject *
hash_ctor(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
          PyObject *kwnames, int alg)
{
    static const char *const evp_names[] = {"data", "usedforsecurity", NULL};
    static const char *const xxh_names[] = {"data", "seed", NULL};
    fc_state *st = fc_get_state(module);
    PyObject *a[2];
    uint64_t seed = 0;
    int xxh = ALGS[alg].xxh >= 0;
    if (fc_parse_args(ALGS[alg].name, args, nargs, kwnames,
                      xxh ? xxh_names : evp_names, xxh ? 2 : 1, 0, a) < 0 ||
        (xxh && parse_seed(alg, a[1], &seed) < 0)) {
        return NULL;
    }
    if (!xxh && hash_state(st)->md[alg] == NULL) {
        PyErr_Format(PyExc_ValueError, "%s is not available in this "
                     "OpenSSL", ALGS[alg].name);
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

FC_CTOR(0, md5)
FC_CTOR(1, sha1)
FC_CTOR(2, sha224)
FC_CTOR(3, sha256)
FC_CTOR(4, sha384)
FC_CTOR(5, sha512)
FC_CTOR(6, sha3_256)
FC_CTOR(7, sha3_512)
FC_CTOR(8, blake2b)
FC_CTOR(9, blake2s)
FC_CTOR(10, xxh32)
FC_CTOR(11, xxh64)
FC_CTOR(12, xxh3_64)
FC_CTOR(13, xxh3_128)

/* --- one-shot digest ------------------------------------------------------ */

typedef struct {
    hasher *h;
    const unsigned char *data;
    Py_ssize_t len;
    Py_ssize_t chunk;
    int failed;
} seq_job;

/* digest("blake3", ...): one-shot, or as subtree tasks on the pool for
 * large inputs (the GIL released), as fastconc.blake3 does. */
static PyObject *
b3_digest(struct fc_hash_state *hs, const Py_buffer *view, int release)
{
    uint8_t out[FC_BLAKE3_OUT_LEN];
    const fc_blake3_kernels *k = hs->kernels->blake3;
    /* Keeping the GIL means one thread (the pool would run without it). */
    int threads = release ? fc_blake3_threads(0, view->len) : 1;
    if (threads <= 1 && view->len <= HASH_SEQ_CHUNK) {
        /* Safe: the view is pinned by the caller. */
        FC_RUN_OUTSIDE_GIL(release,
                           fc_blake3_hash(k, view->buf, (size_t)view->len,
                                          out));
    }
    else {
        /* Large: subtree tasks through fc_run (Ctrl-C checked between). */
        fc_blake3_hasher *h = PyMem_RawMalloc(sizeof(*h));
        if (h == NULL) {
            return PyErr_NoMemory();
        }
        fc_blake3_init(h, k);
        if (fc_blake3_update_pool(h, view->buf, (size_t)view->len, threads,
                                  release, NULL) < 0) {
            PyMem_RawFree(h);
            return NULL;
        }
        fc_blake3_finalize(h, out, sizeof(out));
        PyMem_RawFree(h);
    }
    return PyBytes_FromStringAndSize((const char *)out, sizeof(out));
}

/* Chunks of one input, in order on the calling thread. */
/* digest() of a whole buffer in one call, for xxHash (h->md == NULL) or
 * an algorithm with a libcrypto one-call function.  No Python API. */
static void
one_call(const hasher *h, oneshot_fn oneshot, const void *buf, size_t len,
         unsigned char *out)
{
    if (h->md == NULL) {
        h->xk->oneshot(ALGS[h->alg].xxh, buf, len, h->seed, out);
    }
    else {
        oneshot(buf, len, out);
    }
}

static void
seq_task(void *arg, int64_t i)
{
    seq_job *job = arg;
    Py_ssize_t off = (Py_ssize_t)i * job->chunk;
    Py_ssize_t n = job->len - off < job->chunk ? job->len - off : job->chunk;
    if (hasher_update(job->h, job->data + off, (size_t)n) < 0) {
        job->failed = 1;
    }
}

/* A large update in chunks through fc_run, so that Ctrl-C is seen between
 * them; on interruption the object is put back as it was before the call
 * (no half-absorbed input).  The object lock is held throughout; it is
 * taken with the GIL released, as everywhere. */
static int
hash_feed_big(FcHashObject *self, Py_buffer *view)
{
    hasher backup;
    seq_job job = {0};
    int rc = -1;
    memset(&backup, 0, sizeof(backup));
    if (FC_LOCK_ACQUIRE(self) < 0) {
        return -1;
    }
    if (hasher_copy(&backup, &self->h) < 0) {
        hasher_close(&backup);
        ssl_error("update");
        goto exit;
    }
    job.h = &self->h;
    job.data = view->buf;
    job.len = view->len;
    job.chunk = self->h.md == NULL ? XXH_SEQ_CHUNK : HASH_SEQ_CHUNK;
    if (fc_run(seq_task, &job, (view->len + job.chunk - 1) / job.chunk, 1,
               1) < 0) {
        hasher_close(&self->h);
        self->h = backup;       /* interrupted: as before the call */
        goto exit;
    }
    hasher_close(&backup);
    if (job.failed) {
        ssl_error("update");
        goto exit;
    }
    rc = 0;
exit:
    FC_LOCK_RELEASE(self);
    return rc;
}

PyDoc_STRVAR(fc_digest__doc__,
"digest($module, name, data, *, seed=None, release_gil=None)\n--\n\n"
"Return the digest of data in one call (bytes), as\n"
"hashlib.new(name, data).digest().\n"
"\n"
"  name: one of algorithms_available.\n"
"  data: a bytes-like object.\n"
"  seed: xxHash only: the seed.\n"
"  release_gil: None releases the GIL from GIL_THRESHOLD bytes on.");

static PyObject *
fc_digest(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
          PyObject *kwnames)
{
    static const char *const names[] = {"name", "data", "seed",
                                        "release_gil", NULL};
    fc_state *st = fc_get_state(module);
    PyObject *a[4], *result = NULL;
    Py_buffer view = {0};
    hasher h;
    seq_job job = {0};
    unsigned char out[FC_MAX_DIGEST];
    uint64_t seed;
    int alg, release, rc = 0;

    memset(&h, 0, sizeof(h));
    if (fc_parse_args("digest", args, nargs, kwnames, names, 2, 2, a) < 0 ||
        (alg = lookup_alg(hash_state(st), a[0])) < 0 ||
        parse_seed(alg, a[2], &seed) < 0 ||
        fc_parse_release(a[3], &release) < 0 ||
        fc_get_buffer(a[1], &view, "data") < 0) {
        return NULL;
    }
    release = fc_should_release(st, release, view.len);
    if (ALGS[alg].b3) {
        result = b3_digest(hash_state(st), &view, release);
        goto exit;
    }
    hasher_setup(&h, hash_state(st), alg, seed);

    Py_ssize_t seq_chunk = h.md == NULL ? XXH_SEQ_CHUNK : HASH_SEQ_CHUNK;
    oneshot_fn oneshot = hash_state(st)->oneshot[alg];
    if ((h.md == NULL || oneshot != NULL) && view.len <= seq_chunk) {
        /* One call and no state: xxHash, or libcrypto's one-call digest
         * (no EVP context to set up). */
        /* Safe: the view is pinned until we release it. */
        FC_RUN_OUTSIDE_GIL(release, one_call(&h, oneshot, view.buf,
                                             (size_t)view.len, out));
        result = PyBytes_FromStringAndSize((const char *)out,
                                           hasher_size(&h));
        goto exit;
    }
    if (hasher_open(&h) < 0) {
        ssl_error("hash initialisation");
        goto exit;
    }
    if (view.len <= seq_chunk) {
        /* Safe: the view is pinned; h is ours alone. */
        FC_RUN_OUTSIDE_GIL(release, rc = hasher_update(&h, view.buf,
                                                       (size_t)view.len));
    }
    else {
        job.h = &h;
        job.data = view.buf;
        job.len = view.len;
        job.chunk = seq_chunk;
        if (fc_run(seq_task, &job, (view.len + seq_chunk - 1) / seq_chunk, 1,
                   release) < 0) {
            goto exit;
        }
        rc = job.failed ? -1 : 0;
    }
    if (rc < 0 || hasher_final(&h, out) < 0) {
        ssl_error("digest");
        goto exit;
    }
    result = PyBytes_FromStringAndSize((const char *)out, hasher_size(&h));
exit:
    hasher_close(&h);
    PyBuffer_Release(&view);
    return result;
}

/* --- hash_many ------------------------------------------------------------ */

/* The items of a batch, held while the GIL is released.  bytes (immutable)
 * are read in place when the sequence itself keeps them alive because
 * nobody else can change it (a tuple, or the list PySequence_Fast made
 * from an iterator).  In a list the caller could change, a small bytes
 * item (up to PIN_COPY_MAX) is copied, which costs less than a reference
 * taken and dropped (two more visits to the item when the batch is larger
 * than the caches); a larger one gets a reference.  Anything else is held
 * through the buffer protocol.
 *
 * Each item's pointer and length go into one array, so the passes over a
 * large batch (cutting it into chunks, hashing) read that array and the
 * data, not the item objects.  That array, the references and the copies
 * live in one scratch block that the module keeps between calls (up to
 * SCRATCH_KEEP): fresh memory costs a page fault per 4 KiB, which on the
 * machines measured took longer than hashing the 64-byte items it holds. */
typedef struct {
    const unsigned char *buf;
    Py_ssize_t len;
} fc_span;

#define PIN_COPY_MAX 256
#define PIN_ROOM_MAX ((size_t)64 << 20)
#define SCRATCH_KEEP ((size_t)16 << 20)

/* memcpy for n <= PIN_COPY_MAX: GCC turns a memcpy of a bounded size into
 * rep movs, whose start-up costs more than copying 64 bytes. */
static inline void
copy_small(unsigned char *d, const unsigned char *s, size_t n)
{
    for (; n >= 16; n -= 16, d += 16, s += 16) {
        memcpy(d, s, 16);
    }
    if (n >= 8) {
        memcpy(d, s, 8);
        n -= 8, d += 8, s += 8;
    }
    if (n >= 4) {
        memcpy(d, s, 4);
        n -= 4, d += 4, s += 4;
    }
    for (; n > 0; n--) {
        *d++ = *s++;
    }
}

struct fc_scratch {
    size_t size;                /* bytes in data */
    size_t touched;             /* how many of them were ever written */
    unsigned char data[];
};

/* A scratch block of at least size bytes: the module's kept one when it
 * is free and large enough, else a new one.  NULL with MemoryError set. */
static struct fc_scratch *
scratch_take(struct fc_hash_state *hs, size_t size)
{
    struct fc_scratch *b = __atomic_exchange_n(&hs->scratch, NULL,
                                               __ATOMIC_ACQ_REL);
    if (b != NULL && b->size >= size) {
        return b;
    }
    PyMem_RawFree(b);
    b = PyMem_RawMalloc(sizeof(*b) + size);
    if (b == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    b->size = size;
    b->touched = 0;
    return b;
}

/* Give b back, `used` bytes of it written this time: kept for the next
 * call when what was ever written (its memory in use) is small enough, and
 * the module keeps one block at most; else freed. */
static void
scratch_give(struct fc_hash_state *hs, struct fc_scratch *b, size_t used)
{
    if (b != NULL && used > b->touched) {
        b->touched = used;
    }
    if (b != NULL && b->touched <= SCRATCH_KEEP) {
        b = __atomic_exchange_n(&hs->scratch, b, __ATOMIC_ACQ_REL);
    }
    PyMem_RawFree(b);
}

typedef struct {
    Py_ssize_t n;
    Py_ssize_t total;
    PyObject *seq;          /* the sequence (a reference) */
    struct fc_hash_state *hs;
    struct fc_scratch *scratch;  /* holds span, held and the copies */
    fc_span *span;          /* span[k]: item k's bytes */
    PyObject **held;        /* held[k]: a reference to item k, or NULL;
                             * the array is NULL when seq holds them */
    Py_ssize_t nheld;       /* references in held */
    size_t used;            /* bytes of scratch written */
    unsigned char *extra;   /* n * extra_per_item bytes for the caller */
    Py_buffer *views;       /* allocated at the first non-bytes item */
} pinned_items;

/* Item k's bytes.  Reads our own array only, so it needs no GIL. */
static inline const unsigned char *
pinned_buf(const pinned_items *p, Py_ssize_t k, Py_ssize_t *len)
{
    *len = p->span[k].len;
    return p->span[k].buf;
}

static void
pinned_release(pinned_items *p)
{
    for (Py_ssize_t k = 0; (p->nheld > 0 || p->views != NULL) && k < p->n;
         k++) {
        if (p->held != NULL && p->held[k] != NULL) {
            Py_DECREF(p->held[k]);
        }
        else if (p->views != NULL && p->views[k].obj != NULL) {
            PyBuffer_Release(&p->views[k]);
        }
    }
    Py_XDECREF(p->seq);
    if (p->hs != NULL) {
        scratch_give(p->hs, p->scratch, p->used);
    }
    PyMem_Free(p->views);
    memset(p, 0, sizeof(*p));
}

static int
pin_items(PyObject *items, pinned_items *p, struct fc_hash_state *hs,
          size_t extra_per_item)
{
    memset(p, 0, sizeof(*p));
    if (PyUnicode_Check(items) || PyObject_CheckBuffer(items)) {
        PyErr_Format(PyExc_TypeError,
                     "items must be an iterable of bytes-like objects, "
                     "not a single '%.100s'", Py_TYPE(items)->tp_name);
        return -1;
    }
    PyObject *seq = p->seq = PySequence_Fast(items,
                                             "items must be an iterable");
    if (seq == NULL) {
        return -1;
    }
    p->hs = hs;
    /* Another thread can change the caller's list while the GIL is
     * released; a tuple or a list of our own cannot change. */
    int shared = seq == items && !PyTuple_CheckExact(seq);
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **objs = PySequence_Fast_ITEMS(seq);
    /* The scratch block: the spans, then (shared only) held, then the
     * caller's extra bytes, then room for the copies.  The room is sized
     * for the largest copies but only what is written gets pages; items
     * past it get references. */
    size_t arrays = (size_t)n * sizeof(fc_span) +
                    (shared ? (size_t)n * sizeof(PyObject *) : 0) +
                    (size_t)n * extra_per_item;
    size_t room = shared ? (size_t)n * PIN_COPY_MAX : 0;
    if (room > PIN_ROOM_MAX) {
        room = PIN_ROOM_MAX;
    }
    p->scratch = scratch_take(hs, arrays + room);
    if (p->scratch == NULL) {
        goto fail;
    }
    p->span = (fc_span *)p->scratch->data;
    /* held is only written from the first reference on (items copied or
     * held through views need no entry before that). */
    PyObject **held = shared ? (PyObject **)(p->span + n) : NULL;
    p->extra = (unsigned char *)(p->span + n) +
               (shared ? (size_t)n * sizeof(PyObject *) : 0);
    unsigned char *copy = p->scratch->data + arrays;
    unsigned char *room_end = copy + room;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *item = objs[k];
        if (p->held != NULL) {
            p->held[k] = NULL;
        }
        if (PyBytes_CheckExact(item)) {
            const unsigned char *buf =
                (const unsigned char *)PyBytes_AS_STRING(item);
            Py_ssize_t len = PyBytes_GET_SIZE(item);
            if (shared && len <= PIN_COPY_MAX && room_end - copy >= len) {
                copy_small(copy, buf, (size_t)len);
                buf = copy;
                copy += len;
            }
            else if (shared) {
                if (p->held == NULL) {
                    p->held = held;
                    memset(held, 0, (size_t)k * sizeof(*held));
                }
                p->held[k] = Py_NewRef(item);
                p->nheld++;
            }
            p->span[k].buf = buf;
            p->span[k].len = len;
        }
        else {
            if (p->views == NULL) {
                p->views = PyMem_Calloc(n, sizeof(Py_buffer));
                if (p->views == NULL) {
                    PyErr_NoMemory();
                    goto fail;
                }
            }
            if (fc_get_buffer(item, &p->views[k], "items") < 0) {
                goto fail;
            }
            p->span[k].buf = p->views[k].buf;
            p->span[k].len = p->views[k].len;
        }
        p->total += p->span[k].len;
        p->n = k + 1;
    }
    p->used = (size_t)(copy - p->scratch->data);
    return 0;
fail:
    pinned_release(p);
    return -1;
}

typedef struct {
    int alg;
    const EVP_MD *md;
    oneshot_fn oneshot;
    fc_sha256_pair_fn pair;           /* SHA-256/224 two items at a time, or NULL */
    const uint32_t *iv;         /* for pair */
    const fc_xxh_kernels *xk;
    const fc_blake3_kernels *bk;    /* BLAKE3 only, else NULL */
    uint64_t seed;
    const pinned_items *items;
    const Py_ssize_t *starts;   /* chunk i = items [starts[i], starts[i+1]) */
    PyObject *const *out;       /* the result's bytes objects (ours alone) */
    unsigned char *digests;     /* or, when not NULL, item k's digest goes
                                 * at digests + k * size */
    struct fc_hash_state *hs;   /* for the streaming path of big items */
    int size;
    int failed;                 /* set (atomically) on an OpenSSL failure */
} many_job;

/* Where item k's digest goes: the digest array, or the data of the k-th
 * result bytes object, made with the GIL held and not yet visible to
 * Python. */
#define MANY_DST(job, k)                                                   \
    ((job)->digests != NULL                                                \
         ? (job)->digests + (size_t)(k) * (size_t)(job)->size              \
         : (unsigned char *)PyBytes_AS_STRING((job)->out[k]))

/* An item over HASH_SEQ_CHUNK is streamed in pieces so that Ctrl-C is
 * seen between them (the batch is then cancelled and the result thrown
 * away).  Returns -1 on an allocation or OpenSSL failure. */
static int
many_big_item(const many_job *job, const unsigned char *buf, Py_ssize_t len,
              unsigned char *dst)
{
    hasher h;
    int rc = -1;
    hasher_setup(&h, job->hs, job->alg, job->seed);
    if (hasher_open(&h) < 0) {
        goto exit;
    }
    for (Py_ssize_t off = 0; off < len; off += HASH_SEQ_CHUNK) {
        if (fc_pool_should_stop()) {
            rc = 0;
            goto exit;
        }
        Py_ssize_t n = len - off < HASH_SEQ_CHUNK ? len - off
                                                  : HASH_SEQ_CHUNK;
        if (hasher_update(&h, buf + off, (size_t)n) < 0) {
            goto exit;
        }
    }
    rc = hasher_final(&h, dst);
exit:
    hasher_close(&h);
    return rc;
}

/* Items [k, end), none over HASH_SEQ_CHUNK, in one go. */
static void
many_small(many_job *job, Py_ssize_t k, Py_ssize_t end)
{
    Py_ssize_t len;
    const pinned_items *items = job->items;
    if (k >= end) {
        return;
    }
    if (job->bk != NULL) {
        for (; k < end; k++) {
            const unsigned char *buf = pinned_buf(items, k, &len);
            fc_blake3_hash(job->bk, buf, (size_t)len, MANY_DST(job, k));
        }
        return;
    }
    if (job->md == NULL) {
        int x = ALGS[job->alg].xxh;
        for (; k < end; k++) {
            const unsigned char *buf = pinned_buf(items, k, &len);
            job->xk->oneshot(x, buf, (size_t)len, job->seed,
                             MANY_DST(job, k));
        }
        return;
    }
    if (job->pair != NULL) {
        /* Two items at a time (see simd/sha256_shani.c); an odd last one
         * alone. */
        for (; k < end; k += 2) {
            Py_ssize_t len2 = 0;
            const unsigned char *buf = pinned_buf(items, k, &len);
            const unsigned char *buf2 = NULL;
            unsigned char *dst2 = NULL;
            if (k + 1 < end) {
                buf2 = pinned_buf(items, k + 1, &len2);
                dst2 = MANY_DST(job, k + 1);
            }
            job->pair(job->iv, job->size, buf, (size_t)len, MANY_DST(job, k),
                      buf2, (size_t)len2, dst2);
        }
        return;
    }
    if (job->oneshot != NULL) {
        for (; k < end; k++) {
            const unsigned char *buf = pinned_buf(items, k, &len);
            job->oneshot(buf, (size_t)len, MANY_DST(job, k));
        }
        return;
    }
    /* One context per chunk, reset per item: no allocation per item. */
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        __atomic_store_n(&job->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    for (; k < end; k++) {
        const unsigned char *buf = pinned_buf(items, k, &len);
        if (!EVP_DigestInit_ex2(ctx, job->md, NULL) ||
            !EVP_DigestUpdate(ctx, buf, (size_t)len) ||
            !EVP_DigestFinal_ex(ctx, MANY_DST(job, k), NULL)) {
            __atomic_store_n(&job->failed, 1, __ATOMIC_RELAXED);
            break;
        }
    }
    EVP_MD_CTX_free(ctx);
}

static void
many_task(void *arg, int64_t i)
{
    many_job *job = arg;
    Py_ssize_t k = job->starts[i], end = job->starts[i + 1], run = k, len;
    for (; k < end; k++) {
        const unsigned char *buf = pinned_buf(job->items, k, &len);
        if (len > HASH_SEQ_CHUNK) {
            many_small(job, run, k);
            if (many_big_item(job, buf, len, MANY_DST(job, k)) < 0) {
                __atomic_store_n(&job->failed, 1, __ATOMIC_RELAXED);
            }
            run = k + 1;
        }
    }
    many_small(job, run, end);
}

/* SHA-256 and SHA-224 with the SHA extensions, two items at a time: only
 * where the one-call path is allowed (the EVP_MD is the default provider's,
 * so a FIPS provider is never bypassed) and the SIMD level allows it. */
static fc_sha256_pair_fn
pick_sha_pair(const struct fc_hash_state *hs, int alg, const uint32_t **iv)
{
    fc_sha256_pair_fn pair = hs->kernels->sha256_pair;
    if (pair != NULL && hs->oneshot[alg] != NULL && PAIR_IV[alg] != NULL) {
        *iv = PAIR_IV[alg];
        return pair;
    }
    *iv = NULL;
    return NULL;
}

/* Digest k of `digests` into objs[k], for k in [0, n).  The common sizes
 * get a memcpy of a constant size, which the compiler inlines (this runs
 * on the caller alone, after the pool, over 100k items or more). */
static void
copy_digests(PyObject *const *objs, const unsigned char *digests,
             Py_ssize_t n, int size)
{
#define COPY_ALL(SIZE)                                                     \
    for (Py_ssize_t k = 0; k < n; k++) {                                   \
        memcpy(PyBytes_AS_STRING(objs[k]), digests + (size_t)k * (SIZE),   \
               (SIZE));                                                    \
    }
    switch (size) {
    case 8: COPY_ALL(8); break;
    case 16: COPY_ALL(16); break;
    case 20: COPY_ALL(20); break;
    case 32: COPY_ALL(32); break;
    case 64: COPY_ALL(64); break;
    default: COPY_ALL((size_t)size); break;
    }
#undef COPY_ALL
}

/* hash_many's result: a list of n bytes objects of `size` bytes, their
 * contents not yet written.  Run with the GIL held (first, or as
 * fc_run_led's lead while the pool hashes).  -1 with an exception set. */
typedef struct {
    Py_ssize_t n;
    int size;
    PyObject *list;
} many_result;

static int
many_lead(void *arg)
{
    many_result *res = arg;
    PyObject *list = PyList_New(res->n);
    if (list == NULL) {
        return -1;
    }
    for (Py_ssize_t k = 0; k < res->n; k++) {
        PyObject *b = PyBytes_FromStringAndSize(NULL, res->size);
        if (b == NULL) {
            Py_DECREF(list);
            return -1;
        }
        PyList_SET_ITEM(list, k, b);
    }
    res->list = list;
    return 0;
}

PyDoc_STRVAR(fc_hash_many__doc__,
"hash_many($module, name, items, *, threads=None, seed=None)\n--\n\n"
"Return [digest(name, x) for x in items], computed in C on the pool with\n"
"the GIL released once.\n"
"\n"
"  name: one of algorithms_available.\n"
"  items: an iterable of bytes-like objects (all held until the end).\n"
"  threads: threads to use (None: the pool size for large batches).\n"
"  seed: xxHash only: the seed.");

static PyObject *
fc_hash_many(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
             PyObject *kwnames)
{
    static const char *const names[] = {"name", "items", "threads", "seed",
                                        NULL};
    fc_state *st = fc_get_state(module);
    PyObject *a[4], *result = NULL, *list = NULL;
    pinned_items items;
    many_job job;
    Py_ssize_t *starts = NULL;
    uint64_t seed;
    int alg, threads, size;

    memset(&job, 0, sizeof(job));
    memset(&items, 0, sizeof(items));
    if (fc_parse_args("hash_many", args, nargs, kwnames, names, 2, 2, a) < 0 ||
        (alg = lookup_alg(hash_state(st), a[0])) < 0 ||
        fc_parse_threads(a[2], &threads) < 0 ||
        parse_seed(alg, a[3], &seed) < 0 ||
        (size = alg_digest_size(hash_state(st), alg)) < 0 ||
        pin_items(a[1], &items, hash_state(st), (size_t)size) < 0) {
        return NULL;
    }
    Py_ssize_t n = items.n;
    Py_ssize_t work = items.total + n * FC_ITEM_COST;
    threads = fc_resolve_threads(threads, work, MANY_PARALLEL_MIN);
    if (threads > n) {
        threads = n > 0 ? (int)n : 1;
    }

    job.alg = alg;
    job.md = hash_state(st)->md[alg];
    job.xk = st->kernels.xxh;
    job.bk = ALGS[alg].b3 ? st->kernels.blake3 : NULL;
    job.seed = seed;
    job.oneshot = hash_state(st)->oneshot[alg];
    job.pair = pick_sha_pair(hash_state(st), alg, &job.iv);
    job.items = &items;
    job.hs = hash_state(st);
    job.size = size;

    /* Chunks balanced by bytes (plus a per-item cost): several per thread
     * so a thread that finishes early takes more, and none much over 4 MiB
     * so Ctrl-C stays prompt. */
    int64_t nchunks = threads > 1 ? (int64_t)threads * 8 : 1;
    int64_t by_size = work / ((Py_ssize_t)4 << 20) + 1;
    if (nchunks < by_size) {
        nchunks = by_size;
    }
    if (nchunks > n) {
        nchunks = n > 0 ? n : 1;
    }
    starts = PyMem_Malloc((size_t)(nchunks + 1) * sizeof(Py_ssize_t));
    if (starts == NULL) {
        PyErr_NoMemory();
        goto exit;
    }
    /* Single-threaded, the result's bytes objects are made first and
     * filled in place.  With threads, the caller makes them while the
     * pool threads hash into the digest array (many_lead), and copies the
     * digests in at the end: making 100k objects costs as much as hashing
     * them, so doing it first left the other threads waiting. */
    many_result res = {n, job.size, NULL};
    if (threads <= 1) {     /* also when n == 0 (threads <= n) */
        if (many_lead(&res) < 0) {
            goto exit;
        }
        job.out = PySequence_Fast_ITEMS(res.list);
    }
    else {
        job.digests = items.extra;
    }
    {
        Py_ssize_t target = work / nchunks + 1, acc = 0, k = 0;
        int64_t c = 0;
        starts[0] = 0;
        for (k = 0; k < n && c < nchunks - 1; k++) {
            Py_ssize_t len;
            (void)pinned_buf(&items, k, &len);
            acc += len + FC_ITEM_COST;
            if (acc >= target) {
                starts[++c] = k + 1;
                acc = 0;
            }
        }
        nchunks = c + 1;
        starts[nchunks] = n;
    }
    job.starts = starts;
    int rc = 0;
    if (n > 0) {
        int release = fc_should_release(st, -1, work);
        /* Safe without the GIL: every item is pinned in items, the result
         * bytes are ours (not visible to Python yet) and each chunk writes
         * only its own items' digests. */
        rc = fc_run_led(many_task, &job, nchunks, threads, release,
                        job.digests != NULL ? many_lead : NULL, &res);
    }
    list = res.list;
    if (rc < 0) {
        goto exit;
    }
    if (job.failed) {
        ssl_error("hash_many");
        goto exit;
    }
    if (job.digests != NULL) {
        copy_digests(PySequence_Fast_ITEMS(list), job.digests, n, job.size);
    }
    result = Py_NewRef(list);
exit:
    Py_XDECREF(list);
    PyMem_Free(starts);
    pinned_release(&items);
    return result;
}

/* --- files ---------------------------------------------------------------- */

/* Read fd to EOF (or until `slice` bytes were read, when slice > 0) into h,
 * adding the bytes read to *nread.  Returns 1 at EOF, 0 when the slice is
 * used up or a signal interrupted read(), -1 with *err = errno on a read
 * error or -2 on a hash error.  No Python API. */
static int
hash_fd(hasher *h, int fd, unsigned char *buf, Py_ssize_t slice, int *err,
        Py_ssize_t *nread)
{
    Py_ssize_t done = 0;
    int rc;
    for (;;) {
        ssize_t r = read(fd, buf, FILE_BUF);
        if (r < 0) {
            if (errno == EINTR) {
                rc = 0;   /* let the caller run the signal handlers */
                break;
            }
            *err = errno;
            rc = -1;
            break;
        }
        if (r == 0) {
            rc = 1;
            break;
        }
        if (hasher_update(h, buf, (size_t)r) < 0) {
            rc = -2;
            break;
        }
        done += r;
        if (slice > 0 && done >= slice) {
            rc = 0;
            break;
        }
    }
    *nread += done;
    return rc;
}

/* open() for reading.  Pool threads retry on EINTR (signals are the main
 * thread's business); the caller of hash_file() passes retry=0 to get
 * EINTR back and run the signal handlers (a FIFO may block in open()). */
static int
open_file(const char *path, int *err, int retry)
{
    int fd;
    do {
        fd = open(path, O_RDONLY | O_CLOEXEC);
    } while (retry && fd < 0 && errno == EINTR);
    if (fd < 0) {
        *err = errno;
    }
    return fd;
}

/* path -> (fspath result, encoded bytes), both new references. */
static int
convert_path(PyObject *path, PyObject **fspath, PyObject **encoded)
{
    *fspath = PyOS_FSPath(path);
    if (*fspath == NULL) {
        return -1;
    }
    if (!PyUnicode_FSConverter(*fspath, encoded)) {
        Py_CLEAR(*fspath);
        return -1;
    }
    return 0;
}

/* Read into buf until it holds cap bytes or EOF.  Returns 1 at EOF, 0 when
 * full or a signal interrupted read(), -1 with *err = errno on an error;
 * *got counts the bytes read.  No Python API. */
static int
read_fill(int fd, unsigned char *buf, Py_ssize_t cap, int *err,
          Py_ssize_t *got)
{
    while (*got < cap) {
        size_t want = (size_t)(cap - *got);
        if (want > ((size_t)1 << 30)) {
            want = (size_t)1 << 30;
        }
        ssize_t r = read(fd, buf + *got, want);
        if (r < 0) {
            if (errno == EINTR) {
                return 0;
            }
            *err = errno;
            return -1;
        }
        if (r == 0) {
            return 1;
        }
        *got += r;
    }
    return 0;
}

/* hash_file("blake3", ..., threads > 1) on a regular file: slices of the
 * file are hashed as subtree tasks while the next slice is read ahead by
 * pread() tasks riding first in the same batch (fc_blake3_rider), so
 * reading overlaps hashing.  No Python API in the tasks. */
#define B3_READ_PIECE ((Py_ssize_t)1 << 20)   /* one read-ahead task */
#define B3_SLICE_MIN ((Py_ssize_t)4 << 20)
#define B3_MAX_PIECES 64                        /* slices up to 64 MiB */

typedef struct {
    int fd;
    unsigned char *dst;         /* the buffer being filled */
    int64_t base;               /* file offset of dst[0] */
    Py_ssize_t want;            /* bytes asked for */
    int npieces;
    Py_ssize_t got[B3_MAX_PIECES];
    int err[B3_MAX_PIECES];
    /* The pieces, riding on the next batch; rider.n != 0 while they have
     * not run. */
    fc_blake3_rider rider;
} b3_ahead;

/* Piece i: pread until full or EOF; pool threads retry on EINTR. */
static void
b3_read_piece(b3_ahead *ra, int i)
{
    Py_ssize_t off = (Py_ssize_t)i * B3_READ_PIECE;
    Py_ssize_t n = ra->want - off < B3_READ_PIECE ? ra->want - off
                                                  : B3_READ_PIECE;
    Py_ssize_t got = 0;
    while (got < n) {
        ssize_t r = pread(ra->fd, ra->dst + off + got, (size_t)(n - got),
                          (off_t)(ra->base + off + got));
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            ra->err[i] = errno;
            break;
        }
        if (r == 0) {
            break;
        }
        got += r;
    }
    ra->got[i] = got;
}

/* Every piece, in order, on the calling thread (detached). */
static void
b3_read_pieces(b3_ahead *ra)
{
    for (int i = 0; i < ra->npieces; i++) {
        b3_read_piece(ra, i);
    }
}

/* A rider task: piece i. */
static void
b3_piece_task(void *arg, int64_t i)
{
    b3_read_piece(arg, (int)i);
}

/* Start a read of want bytes at base into dst (run by the next batch). */
static void
b3_ahead_start(b3_ahead *ra, unsigned char *dst, int64_t base,
               Py_ssize_t want)
{
    ra->dst = dst;
    ra->base = base;
    ra->want = want;
    ra->npieces = (int)((want + B3_READ_PIECE - 1) / B3_READ_PIECE);
    ra->rider.task = b3_piece_task;
    ra->rider.arg = ra;
    ra->rider.n = ra->npieces;
    memset(ra->got, 0, sizeof(ra->got));
    memset(ra->err, 0, sizeof(ra->err));
}

/* The bytes read: the pieces' contiguous prefix.  1 at EOF (a short read),
 * 0 if more may follow, -1 with *err on a read error. */
static int
b3_ahead_result(const b3_ahead *ra, Py_ssize_t *got, int *err)
{
    *got = 0;
    for (int i = 0; i < ra->npieces; i++) {
        if (ra->err[i]) {
            *err = ra->err[i];
            return -1;
        }
        *got += ra->got[i];
        if (ra->got[i] < B3_READ_PIECE && *got < ra->want) {
            return 1;
        }
    }
    return *got < ra->want ? 1 : 0;
}

/* Returns 1 when done, -1 with *err set on a read error, or -2 with an
 * exception set (Ctrl-C, memory).  Called with the GIL held. */
static int
b3_hash_regular_parallel(fc_blake3_hasher *h, int fd, int threads,
                         Py_ssize_t slice, int *err)
{
    unsigned char *bufs[2] = {PyMem_RawMalloc((size_t)slice),
                              PyMem_RawMalloc((size_t)slice)};
    b3_ahead ra;
    int64_t pos = 0;
    Py_ssize_t got = 0;
    int k = 0, state, rc = -2;

    memset(&ra, 0, sizeof(ra));
    ra.fd = fd;
    if (bufs[0] == NULL || bufs[1] == NULL) {
        PyErr_NoMemory();
        goto exit;
    }
    /* The first slice alone: nothing to hash yet. */
    b3_ahead_start(&ra, bufs[0], 0, slice);
    /* Safe: bufs and fd are ours alone. */
    FC_RUN_OUTSIDE_GIL(1, b3_read_pieces(&ra));
    ra.rider.n = 0;
    state = b3_ahead_result(&ra, &got, err);
    for (;;) {
        if (state < 0) {
            rc = -1;
            goto exit;
        }
        pos += got;
        if (state == 0) {
            b3_ahead_start(&ra, bufs[1 - k], pos, slice);
        }
        if (got > 0 &&
            fc_blake3_update_pool(h, bufs[k], (size_t)got, threads, 1,
                                  &ra.rider) < 0) {
            goto exit;   /* Ctrl-C: h is thrown away by the caller */
        }
        if (state == 1) {
            rc = 1;
            break;
        }
        if (ra.rider.n != 0) {
            /* No batch took the pieces (everything was hashed inline):
             * read the next slice here. */
            /* Safe: bufs and fd are ours alone. */
            FC_RUN_OUTSIDE_GIL(1, b3_read_pieces(&ra));
            ra.rider.n = 0;
        }
        if (PyErr_CheckSignals() < 0) {
            goto exit;
        }
        state = b3_ahead_result(&ra, &got, err);
        k = 1 - k;
    }
exit:
    PyMem_RawFree(bufs[0]);
    PyMem_RawFree(bufs[1]);
    return rc;
}

/* Same, for pipes and devices (no pread, no size): read a slice with the
 * GIL released, then hash it on the pool. */
static int
b3_hash_stream_parallel(fc_blake3_hasher *h, int fd, int threads,
                        Py_ssize_t slice, int *err)
{
    unsigned char *big = PyMem_RawMalloc((size_t)slice);
    int rc;
    if (big == NULL) {
        PyErr_NoMemory();
        return -2;
    }
    do {
        Py_ssize_t got = 0;
        /* Safe: big and fd are ours alone. */
        FC_RUN_OUTSIDE_GIL(1, rc = read_fill(fd, big, slice, err, &got));
        if (rc < 0) {
            break;
        }
        /* On Ctrl-C h holds a partial update: the caller throws it away. */
        if ((got > 0 &&
             fc_blake3_update_pool(h, big, (size_t)got, threads, 1,
                                   NULL) < 0) ||
            PyErr_CheckSignals() < 0) {
            rc = -2;
            break;
        }
    } while (rc == 0);
    PyMem_RawFree(big);
    return rc;
}

/* hash_file("blake3", ..., threads > 1).  size: the file's size if it is a
 * regular file, else -1. */
static int
b3_hash_fd_parallel(fc_blake3_hasher *h, int fd, Py_ssize_t size,
                    int threads, int *err)
{
    /* 2 MiB per thread (at least 4 MiB): several subtree tasks per thread,
     * and the two buffers stay small enough to be mostly in cache; never
     * more than the file needs. */
    Py_ssize_t slice = (Py_ssize_t)threads << 21;
    if (slice < B3_SLICE_MIN) {
        slice = B3_SLICE_MIN;
    }
    if (slice > B3_READ_PIECE * B3_MAX_PIECES) {
        slice = B3_READ_PIECE * B3_MAX_PIECES;
    }
    if (size < 0) {
        return b3_hash_stream_parallel(h, fd, threads, slice, err);
    }
    if (size < slice) {
        slice = size + 1;   /* + 1: EOF seen by the first read */
    }
    return b3_hash_regular_parallel(h, fd, threads, slice, err);
}

PyDoc_STRVAR(fc_hash_file__doc__,
"hash_file($module, name, path, *, threads=None, seed=None)\n--\n\n"
"Return the digest (bytes) of the file at path, read with the GIL\n"
"released.  A missing or unreadable file raises OSError naming it.\n"
"\n"
"  name: one of algorithms_available.\n"
"  path: str, bytes or os.PathLike.\n"
"  threads: blake3 only (a tree hash): threads hashing the one file\n"
"    (None: the pool size for files of 1 MiB and more).  The other\n"
"    algorithms are sequential: threads > 1 raises ValueError.\n"
"  seed: xxHash only: the seed.");

static PyObject *
fc_hash_file(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
             PyObject *kwnames)
{
    static const char *const names[] = {"name", "path", "threads", "seed",
                                        NULL};
    fc_state *st = fc_get_state(module);
    PyObject *a[4], *result = NULL, *fspath = NULL, *encoded = NULL;
    unsigned char *buf = NULL;
    unsigned char out[FC_MAX_DIGEST];
    hasher h;
    uint64_t seed;
    int alg, threads, fd = -1, err = 0, rc = 0;

    memset(&h, 0, sizeof(h));
    if (fc_parse_args("hash_file", args, nargs, kwnames, names, 2, 2, a) < 0 ||
        (alg = lookup_alg(hash_state(st), a[0])) < 0 ||
        fc_parse_threads(a[2], &threads) < 0 ||
        parse_seed(alg, a[3], &seed) < 0) {
        return NULL;
    }
    if (!ALGS[alg].b3 && threads > 1) {
        PyErr_Format(PyExc_ValueError,
                     "hash_file: %s is a sequential hash, threads=%d cannot "
                     "split one file (only blake3 can; use hash_files for "
                     "many files)", ALGS[alg].name, threads);
        return NULL;
    }
    if (convert_path(a[1], &fspath, &encoded) < 0) {
        return NULL;
    }
    hasher_setup(&h, hash_state(st), alg, seed);
    buf = PyMem_RawMalloc(FILE_BUF);
    if (buf == NULL) {
        PyErr_NoMemory();
        goto exit;
    }
    if (hasher_open(&h) < 0) {
        ssl_error("hash initialisation");
        goto exit;
    }
    const char *cpath = PyBytes_AS_STRING(encoded);
    for (;;) {
        /* open() may block (FIFOs, network mounts); cpath is held. */
        FC_RUN_OUTSIDE_GIL(1, fd = open_file(cpath, &err, 0));
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
    if (ALGS[alg].b3 && threads != 1) {
        /* The file's size decides threads=None (a pipe's is unknown). */
        struct stat sb;
        Py_ssize_t size = -1;   /* not a regular file */
        if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
            (uint64_t)sb.st_size <= (uint64_t)PY_SSIZE_T_MAX) {
            size = (Py_ssize_t)sb.st_size;
        }
        threads = fc_blake3_threads(threads, size < 0 ? 0 : size);
        if (threads > 1) {
            rc = b3_hash_fd_parallel(h.b3, fd, size, threads, &err);
            if (rc == -2) {
                goto exit;
            }
        }
    }
    /* Read in slices, taking the GIL back between them to run signal
     * handlers, so Ctrl-C interrupts a large file promptly. */
    while (rc == 0) {
        Py_ssize_t nread = 0;
        /* Safe: buf and h are ours; encoded is held. */
        FC_RUN_OUTSIDE_GIL(1, rc = hash_fd(&h, fd, buf, FILE_SLICE, &err,
                                           &nread));
        if (PyErr_CheckSignals() < 0) {
            goto exit;
        }
    }
    if (rc == -1) {
        errno = err;
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, fspath);
        goto exit;
    }
    if (rc == -2 || hasher_final(&h, out) < 0) {
        ssl_error("digest");
        goto exit;
    }
    result = PyBytes_FromStringAndSize((const char *)out, hasher_size(&h));
exit:
    if (fd >= 0) {
        close(fd);
    }
    hasher_close(&h);
    PyMem_RawFree(buf);
    Py_XDECREF(encoded);
    Py_XDECREF(fspath);
    return result;
}

/* A group of consecutive files, hashed by one task at a time with one
 * buffer and one hasher.  A task reads at most FILE_SLICE * 2 bytes, then
 * returns leaving its place (an open fd) here; the caller runs rounds until
 * every group is done, so Ctrl-C is seen between rounds even when one file
 * is huge (or endless, like a pipe). */
typedef struct {
    hasher h;
    unsigned char *buf;
    Py_ssize_t next;            /* next file to start or finish */
    Py_ssize_t end;
    int fd;                     /* file `next`, open, or -1 */
    int ready;                  /* h and buf allocated */
} files_group;

typedef struct {
    hasher proto;               /* algorithm, md, kernels, seed */
    const char *const *paths;   /* encoded paths, held by the caller */
    files_group *groups;
    const int64_t *pending;     /* this round's chunk i = groups[pending[i]] */
    unsigned char *out;
    int *errs;                  /* errno per file, 0 = fine, -1 = hash error */
    int size;
} files_job;

static void
files_task(void *arg, int64_t i)
{
    files_job *job = arg;
    files_group *g = &job->groups[job->pending[i]];
    Py_ssize_t budget = 2 * FILE_SLICE, nread = 0;
    if (!g->ready) {
        g->h = job->proto;
        g->h.ctx = NULL;
        g->h.xs = NULL;
        g->h.b3 = NULL;
        g->buf = PyMem_RawMalloc(FILE_BUF);
        if (g->buf == NULL || hasher_open(&g->h) < 0) {
            for (; g->next < g->end; g->next++) {
                job->errs[g->next] = ENOMEM;
            }
            return;
        }
        g->ready = 1;
    }
    while (g->next < g->end && nread < budget) {
        Py_ssize_t k = g->next;
        int err = 0, rc;
        if (g->fd < 0) {
            if (hasher_reset(&g->h) < 0) {
                job->errs[k] = -1;
                g->next++;
                continue;
            }
            g->fd = open_file(job->paths[k], &err, 1);
            if (g->fd < 0) {
                job->errs[k] = err;
                g->next++;
                continue;
            }
        }
        rc = hash_fd(&g->h, g->fd, g->buf, budget - nread, &err, &nread);
        if (rc == 0) {
            return;   /* slice used up (or EINTR): resume next round */
        }
        close(g->fd);
        g->fd = -1;
        if (rc == -1) {
            job->errs[k] = err;
        }
        else if (rc == -2 ||
                 hasher_final(&g->h, job->out + k * job->size) < 0) {
            job->errs[k] = -1;
        }
        g->next++;
    }
}

PyDoc_STRVAR(fc_hash_files__doc__,
"hash_files($module, name, paths, *, threads=None, seed=None)\n--\n\n"
"Return the digests (list of bytes) of the files at paths, read and\n"
"hashed in parallel on the pool with the GIL released.  The first missing\n"
"or unreadable file (in the order given) raises OSError naming it.\n"
"\n"
"  name: one of algorithms_available.\n"
"  paths: an iterable of str, bytes or os.PathLike.\n"
"  threads: threads to use (None: the pool size).\n"
"  seed: xxHash only: the seed.");

static PyObject *
fc_hash_files(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
              PyObject *kwnames)
{
    static const char *const names[] = {"name", "paths", "threads", "seed",
                                        NULL};
    fc_state *st = fc_get_state(module);
    PyObject *a[4], *result = NULL, *list = NULL, *seq = NULL;
    PyObject **fspaths = NULL, **encoded = NULL;
    const char **cpaths = NULL;
    Py_ssize_t n = 0, converted = 0;
    int64_t ngroups = 0, *pending = NULL;
    files_job job;
    uint64_t seed;
    int alg, threads;

    memset(&job, 0, sizeof(job));
    if (fc_parse_args("hash_files", args, nargs, kwnames, names, 2, 2, a) < 0 ||
        (alg = lookup_alg(hash_state(st), a[0])) < 0 ||
        fc_parse_threads(a[2], &threads) < 0 ||
        parse_seed(alg, a[3], &seed) < 0) {
        return NULL;
    }
    if (PyUnicode_Check(a[1]) || PyBytes_Check(a[1])) {
        PyErr_SetString(PyExc_TypeError,
                        "paths must be an iterable of paths, not a single "
                        "path");
        return NULL;
    }
    seq = PySequence_Fast(a[1], "paths must be an iterable");
    if (seq == NULL) {
        return NULL;
    }
    n = PySequence_Fast_GET_SIZE(seq);
    size_t cap = n > 0 ? (size_t)n : 1;
    fspaths = PyMem_Calloc(cap, sizeof(PyObject *));
    encoded = PyMem_Calloc(cap, sizeof(PyObject *));
    cpaths = PyMem_Calloc(cap, sizeof(char *));
    job.errs = PyMem_Calloc(cap, sizeof(int));
    hasher_setup(&job.proto, hash_state(st), alg, seed);
    job.size = hasher_size(&job.proto);
    job.out = PyMem_Malloc(cap * (size_t)job.size);
    if (!fspaths || !encoded || !cpaths || !job.errs || !job.out) {
        PyErr_NoMemory();
        goto exit;
    }
    for (; converted < n; converted++) {
        Py_ssize_t k = converted;
        if (convert_path(PySequence_Fast_GET_ITEM(seq, k), &fspaths[k],
                         &encoded[k]) < 0) {
            goto exit;
        }
        cpaths[k] = PyBytes_AS_STRING(encoded[k]);
    }
    threads = fc_resolve_threads(threads, n, 2);
    if (threads > n) {
        threads = n > 0 ? (int)n : 1;
    }
    /* Groups of files: many per thread so the load balances. */
    ngroups = threads > 1 ? (int64_t)threads * 16 : 1;
    if (ngroups > n) {
        ngroups = n > 0 ? n : 1;
    }
    job.groups = PyMem_Calloc((size_t)ngroups, sizeof(files_group));
    pending = PyMem_Malloc((size_t)ngroups * sizeof(int64_t));
    if (job.groups == NULL || pending == NULL) {
        PyErr_NoMemory();
        goto exit;
    }
    for (int64_t g = 0; g < ngroups; g++) {
        job.groups[g].next = (Py_ssize_t)(g * n / ngroups);
        job.groups[g].end = (Py_ssize_t)((g + 1) * n / ngroups);
        job.groups[g].fd = -1;
    }
    job.paths = cpaths;
    job.pending = pending;
    for (;;) {
        int64_t npending = 0;
        for (int64_t g = 0; g < ngroups; g++) {
            if (job.groups[g].next < job.groups[g].end) {
                pending[npending++] = g;
            }
        }
        if (npending == 0) {
            break;
        }
        /* Safe without the GIL: the encoded paths are held in `encoded`;
         * each group is run by one task at a time and writes only its own
         * files' slots. */
        if (fc_run(files_task, &job, npending,
                   threads < npending ? threads : (int)npending, 1) < 0) {
            goto exit;
        }
        /* A round of one chunk runs inline without polling: check here. */
        if (PyErr_CheckSignals() < 0) {
            goto exit;
        }
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        if (job.errs[k] > 0) {
            errno = job.errs[k];
            PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, fspaths[k]);
            goto exit;
        }
        if (job.errs[k] < 0) {
            ssl_error("digest");
            goto exit;
        }
    }
    list = PyList_New(n);
    if (list == NULL) {
        goto exit;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *b = PyBytes_FromStringAndSize(
            (const char *)job.out + k * job.size, job.size);
        if (b == NULL) {
            goto exit;
        }
        PyList_SET_ITEM(list, k, b);
    }
    result = Py_NewRef(list);
exit:
    Py_XDECREF(list);
    for (Py_ssize_t k = 0; k < converted; k++) {
        Py_XDECREF(fspaths[k]);
        Py_XDECREF(encoded[k]);
    }
    PyMem_Free(fspaths);
    PyMem_Free(encoded);
    PyMem_Free(cpaths);
    if (job.groups != NULL) {
        for (int64_t g = 0; g < ngroups; g++) {
            if (job.groups[g].fd >= 0) {
                close(job.groups[g].fd);
            }
            hasher_close(&job.groups[g].h);
            PyMem_RawFree(job.groups[g].buf);
        }
        PyMem_Free(job.groups);
    }
    PyMem_Free(pending);
    PyMem_Free(job.errs);
    PyMem_Free(job.out);
    Py_XDECREF(seq);
    return result;
}

/* --- the area -------------------------------------------------------------- */

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
"  data: bytes-like object hashed first.\n"
"  seed: an int (taken modulo 2**64, or 2**32 for xxh32).");

static PyMethodDef hash_methods[] = {
    {"new", FC_CFUNC(fc_new), METH_FASTCALL | METH_KEYWORDS, fc_new__doc__},
    {"digest", FC_CFUNC(fc_digest), METH_FASTCALL | METH_KEYWORDS,
     fc_digest__doc__},
    {"hash_many", FC_CFUNC(fc_hash_many), METH_FASTCALL | METH_KEYWORDS,
     fc_hash_many__doc__},
    {"hash_file", FC_CFUNC(fc_hash_file), METH_FASTCALL | METH_KEYWORDS,
     fc_hash_file__doc__},
    {"hash_files", FC_CFUNC(fc_hash_files), METH_FASTCALL | METH_KEYWORDS,
     fc_hash_files__doc__},
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

static int
hash_init(PyObject *m, fc_state *st)
{
    struct fc_hash_state *hs = PyMem_Calloc(1, sizeof(*hs));
    PyObject *names = NULL;
    int rc = -1;
    if (hs == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    st->hash = hs;
    hs->kernels = &st->kernels;
    names = PySet_New(NULL);
    if (names == NULL) {
        goto exit;
    }
    for (int i = 0; i < N_ALGS; i++) {
        if (ALGS[i].ossl != NULL) {
            /* Fetched once here, not per call; a missing one (a FIPS
             * provider without MD5, say) is left out of
             * algorithms_available. */
            hs->md[i] = EVP_MD_fetch(NULL, ALGS[i].ossl, NULL);
            if (hs->md[i] == NULL) {
                continue;
            }
            const OSSL_PROVIDER *prov = EVP_MD_get0_provider(hs->md[i]);
            const char *pname = prov ? OSSL_PROVIDER_get0_name(prov) : NULL;
            if (pname != NULL && strcmp(pname, "default") == 0) {
                hs->oneshot[i] = ONESHOT[i];
            }
        }
        PyObject *s = hs->names[i] = PyUnicode_InternFromString(ALGS[i].name);
        if (s == NULL || PySet_Add(names, s) < 0) {
            goto exit;
        }
    }
    hs->available = PyFrozenSet_New(names);
    if (hs->available == NULL ||
        PyModule_AddObjectRef(m, "algorithms_available", hs->available) < 0) {
        goto exit;
    }
    hs->HashType = (PyTypeObject *)PyType_FromModuleAndSpec(
        m, &FcHash_spec, NULL);
    hs->XXHashType = (PyTypeObject *)PyType_FromModuleAndSpec(
        m, &FcXXHash_spec, NULL);
    if (hs->HashType == NULL || hs->XXHashType == NULL) {
        goto exit;
    }
#if PY_VERSION_HEX < 0x030A0000
    /* No Py_TPFLAGS_DISALLOW_INSTANTIATION before 3.10: a NULL tp_new makes
     * type() refuse to create instances. */
    hs->HashType->tp_new = NULL;
    hs->XXHashType->tp_new = NULL;
#endif
    if (PyModule_AddObjectRef(m, "Hash", (PyObject *)hs->HashType) < 0 ||
        PyModule_AddObjectRef(m, "XXHash", (PyObject *)hs->XXHashType) < 0 ||
        PyModule_AddFunctions(m, hash_methods) < 0) {
        goto exit;
    }
    rc = 0;
exit:
    Py_XDECREF(names);
    return rc;
}

static int
hash_traverse(fc_state *st, visitproc visit, void *arg)
{
    if (st->hash) {
        Py_VISIT(st->hash->HashType);
        Py_VISIT(st->hash->XXHashType);
        Py_VISIT(st->hash->available);
        for (int i = 0; i < N_ALGS; i++) {
            Py_VISIT(st->hash->names[i]);
        }
    }
    return 0;
}

static void
hash_clear(fc_state *st)
{
    struct fc_hash_state *hs = st->hash;
    if (hs == NULL) {
        return;
    }
    Py_CLEAR(hs->HashType);
    Py_CLEAR(hs->XXHashType);
    Py_CLEAR(hs->available);
    for (int i = 0; i < N_ALGS; i++) {
        Py_CLEAR(hs->names[i]);
        /* Live contexts hold their own reference to the EVP_MD. */
        EVP_MD_free(hs->md[i]);
        hs->md[i] = NULL;
    }
    PyMem_RawFree(hs->scratch);
    st->hash = NULL;
    PyMem_Free(hs);
}

static int
hash_info(fc_state *st, PyObject *d)
{
    struct fc_hash_state *hs = st->hash;
    PyObject *backends = PyDict_GetItemString(d, "backends");
    PyObject *parallel = PyDict_GetItemString(d, "parallel");
    if (hs == NULL || backends == NULL || parallel == NULL) {
        return 0;
    }
    for (int i = 0; i < N_ALGS; i++) {
        PyObject *s;
        if (ALGS[i].xxh >= 0) {
            s = PyUnicode_FromFormat("xxHash %d.%d.%d (%s)", XXH_VERSION_MAJOR,
                                     XXH_VERSION_MINOR, XXH_VERSION_RELEASE,
                                     hs->kernels->xxh->impl);
        }
        else if (hs->md[i] != NULL) {
            s = PyUnicode_FromString(OpenSSL_version(OPENSSL_VERSION));
        }
        else {
            continue;
        }
        /* One digest is a sequential computation; hash_many/hash_files
         * spread many of them over the pool. */
        if (s == NULL || PyDict_SetItemString(backends, ALGS[i].name, s) < 0 ||
            PyDict_SetItemString(parallel, ALGS[i].name, Py_False) < 0) {
            Py_XDECREF(s);
            return -1;
        }
        Py_DECREF(s);
    }
    if (PyDict_SetItemString(parallel, "hash_many", Py_True) < 0 ||
        PyDict_SetItemString(parallel, "hash_files", Py_True) < 0) {
        return -1;
    }
    /* hash_many's SHA-256/224 items, when not OpenSSL's. */
    for (int i = 0; i < N_ALGS; i++) {
        const uint32_t *iv;
        if (pick_sha_pair(hs, i, &iv) == NULL) {
            continue;
        }
        PyObject *s = PyUnicode_FromString("fastconc SHA-NI, two at a time");
        if (s == NULL ||
            PyDict_SetItemString(backends, "hash_many sha256/sha224", s) < 0) {
            Py_XDECREF(s);
            return -1;
        }
        Py_DECREF(s);
        break;
    }
    return 0;
}

const fc_area fc_area_hash = {
    "hash", hash_init, hash_traverse, hash_clear, hash_info,
};
