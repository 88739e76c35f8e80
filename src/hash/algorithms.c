/* hash/algorithms.c - the algorithm table and the hasher layer under every
 * hash front end (see hash/hash.h): which algorithms exist and how each is
 * computed (an OpenSSL EVP digest fetched once, libcrypto's one-call
 * function, an xxHash table or BLAKE3), looking one up by name and parsing
 * its seed, and fc_hasher, one digest in progress in C types only (its
 * per-call functions are inline in hash.h).  Also the area's state:
 * algorithms_available, and the backends info() reports.
 *
 * It must not define Python-visible functions or types (the front ends'
 * job) nor choose kernels (simd/dispatch.c's); the fc_hasher_* functions
 * but fc_hasher_update_chunked call no Python API.
 */

/* digest() and hash_many use libcrypto's low-level SHA/MD5 functions for
 * small inputs (see LOWLEVEL below); they are deprecated in OpenSSL 3 but
 * present unless the library was built without them. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "hash/hash.h"
#include "blake3/pool.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/md5.h>
#include <openssl/opensslv.h>
#include <openssl/provider.h>
#include <openssl/sha.h>

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>   /* only for XXH_VERSION_* */

/* --- the algorithms ------------------------------------------------------ */

/* The pace (bytes per µs of one core, for the GIL policy) is measured on
 * an AMD EPYC (SHA-NI, AVX2) and rounded up: libcrypto and the scalar
 * xxHash kernels run the same code at every fastconc SIMD level; XXH3 and
 * BLAKE3 follow it (the portable code is 4 and 6-7 times slower), so a
 * forced low level must not keep the GIL for calls of hundreds of µs. */
#define EVP_ALG(name, ossl, pace) {name, name, ossl, -1, 0, 0, 0, pace, NULL}
static const Py_ssize_t xxh3_paces[FC_SIMD_COUNT] = {
    [FC_SIMD_PORTABLE] = 10000, [FC_SIMD_SSE42] = 16000,
    [FC_SIMD_AVX2] = 48000, [FC_SIMD_AVX512] = 48000,
};
const fc_hash_alg fc_hash_algs[FC_HASH_NALGS] = {
    [FC_ALG_MD5] = EVP_ALG("md5", "MD5", 800),
    [FC_ALG_SHA1] = EVP_ALG("sha1", "SHA1", 2000),
    [FC_ALG_SHA224] = EVP_ALG("sha224", "SHA224", 2000),
    [FC_ALG_SHA256] = EVP_ALG("sha256", "SHA256", 2000),
    [FC_ALG_SHA384] = EVP_ALG("sha384", "SHA384", 1000),
    [FC_ALG_SHA512] = EVP_ALG("sha512", "SHA512", 1000),
    [FC_ALG_SHA3_256] = EVP_ALG("sha3_256", "SHA3-256", 500),
    [FC_ALG_SHA3_512] = EVP_ALG("sha3_512", "SHA3-512", 300),
    [FC_ALG_BLAKE2B] = EVP_ALG("blake2b", "BLAKE2B-512", 1000),
    [FC_ALG_BLAKE2S] = EVP_ALG("blake2s", "BLAKE2S-256", 600),
    /* names and block sizes as python-xxhash reports them */
    [FC_ALG_XXH32] = {"xxh32", "XXH32", NULL, FC_XXH32, 4, 16, 0, 8000, NULL},
    [FC_ALG_XXH64] = {"xxh64", "XXH64", NULL, FC_XXH64, 8, 32, 0, 16000, NULL},
    [FC_ALG_XXH3_64] = {"xxh3_64", "XXH3_64", NULL, FC_XXH3_64, 8, 32, 0,
                        48000, xxh3_paces},
    [FC_ALG_XXH3_128] = {"xxh3_128", "XXH3_128", NULL, FC_XXH3_128, 16, 64,
                         0, 48000, xxh3_paces},
    [FC_ALG_BLAKE3] = {"blake3", "blake3", NULL, -1, FC_BLAKE3_OUT_LEN,
                       FC_BLAKE3_BLOCK_LEN, 1, 6000, fc_blake3_paces},
};
#undef EVP_ALG

/* Other names of an algorithm, found like its own (any case). */
static const struct {
    const char *name;
    int alg;
} ALIASES[FC_HASH_NALIASES] = {
    {"xxh128", FC_ALG_XXH3_128},    /* python-xxhash's */
};

/* libcrypto's low-level functions: the same code the default provider
 * runs, without EVP's per-call set-up (which costs more than hashing a
 * 64-byte item, and SHA256() in OpenSSL 3 goes through a fetch each call).
 * Used by hash_many and digest(), and only when the EVP_MD comes from the
 * default provider, so a FIPS or other configured provider is never
 * bypassed. */
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
static const fc_hash_oneshot_fn ONESHOT[FC_HASH_NALGS] = {
    [FC_ALG_MD5] = ll_md5,
    [FC_ALG_SHA1] = ll_sha1,
    [FC_ALG_SHA224] = ll_sha224,
    [FC_ALG_SHA256] = ll_sha256,
    [FC_ALG_SHA384] = ll_sha384,
    [FC_ALG_SHA512] = ll_sha512,
};
#else
static const fc_hash_oneshot_fn ONESHOT[FC_HASH_NALGS] = {NULL};
#endif

/* SHA-256's and SHA-224's initial words (FIPS 180-4, 5.3.3 and 5.3.2). */
static const uint32_t SHA256_IV[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};
static const uint32_t SHA224_IV[8] = {
    0xc1059ed8, 0x367cd507, 0x3070dd17, 0xf70e5939,
    0xffc00b31, 0x68581511, 0x64f98fa7, 0xbefa4fa4,
};
/* PAIR_IV[i]: the initial words when fc_hash_algs[i] is one that the
 * SHA-NI pair kernel can hash (sha224, sha256), else NULL. */
static const uint32_t *const PAIR_IV[FC_HASH_NALGS] = {
    [FC_ALG_SHA224] = SHA224_IV,
    [FC_ALG_SHA256] = SHA256_IV,
};

int
fc_hash_digest_size(const struct fc_hash_state *hs, int alg)
{
    return hs->md[alg] ? EVP_MD_get_size(hs->md[alg])
                       : fc_hash_algs[alg].digest_size;
}

fc_sha256_pair_fn
fc_hash_sha_pair(const struct fc_hash_state *hs, int alg, const uint32_t **iv)
{
    fc_sha256_pair_fn pair = FC_ATOMIC_LOAD(&hs->kernels->sha256_pair);
    if (pair != NULL && hs->oneshot[alg] != NULL && PAIR_IV[alg] != NULL) {
        *iv = PAIR_IV[alg];
        return pair;
    }
    *iv = NULL;
    return NULL;
}

PyObject *
fc_hash_error(const char *what)
{
    PyErr_Format(PyExc_MemoryError, "%s failed (out of memory or OpenSSL "
                 "error)", what);
    return NULL;
}

/* --- results ------------------------------------------------------------- */

PyObject *
fc_hash_int_of(const unsigned char *d, int n)
{
    if (n <= 8) {
        uint64_t v = 0;
        for (int i = 0; i < n; i++) {
            v = (v << 8) | d[i];
        }
        return PyLong_FromUnsignedLongLong(v);
    }
#if PY_VERSION_HEX >= 0x030D0000
    return PyLong_FromUnsignedNativeBytes(
        d, (size_t)n,
        Py_ASNATIVEBYTES_BIG_ENDIAN | Py_ASNATIVEBYTES_UNSIGNED_BUFFER);
#else
    return _PyLong_FromByteArray(d, (size_t)n, 0, 0);
#endif
}

PyObject *
fc_hash_hex_of(const unsigned char *d, Py_ssize_t n)
{
    static const char digits[] = "0123456789abcdef";
    PyObject *s = PyUnicode_New(2 * n, 127);
    if (s == NULL) {
        return NULL;
    }
    Py_UCS1 *p = PyUnicode_1BYTE_DATA(s);
    for (Py_ssize_t i = 0; i < n; i++) {
        p[2 * i] = (Py_UCS1)digits[d[i] >> 4];
        p[2 * i + 1] = (Py_UCS1)digits[d[i] & 15];
    }
    return s;
}

/* --- names and seeds ----------------------------------------------------- */

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

/* Whether algorithm i can be used (an EVP digest may be missing). */
static int
usable(const struct fc_hash_state *hs, int i)
{
    return fc_hash_algs[i].xxh >= 0 || fc_hash_algs[i].b3 ||
           hs->md[i] != NULL;
}

int
fc_hash_lookup_slow(struct fc_hash_state *hs, PyObject *name)
{
    Py_ssize_t n;
    if (!PyUnicode_Check(name)) {
        PyErr_Format(PyExc_TypeError,
                     "hash name must be a str, not '%.100s'",
                     Py_TYPE(name)->tp_name);
        return -1;
    }
    const char *s = PyUnicode_AsUTF8AndSize(name, &n);
    if (s == NULL) {
        return -1;
    }
    /* "sha256\0x" would compare equal to "sha256" below: refuse it. */
    if (strlen(s) == (size_t)n) {
        for (int i = 0; i < FC_HASH_NALGS; i++) {
            if (strcasecmp(s, fc_hash_algs[i].name) == 0 && usable(hs, i)) {
                return i;
            }
        }
        for (int a = 0; a < FC_HASH_NALIASES; a++) {
            if (strcasecmp(s, ALIASES[a].name) == 0 &&
                usable(hs, ALIASES[a].alg)) {
                return ALIASES[a].alg;
            }
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

/* Enter `name` (interned, a new reference is taken) for algorithm alg in
 * the identity table. */
static void
add_key(struct fc_hash_state *hs, int k, PyObject *name, int alg)
{
    unsigned s = fc_hash_key_slot(name);
    hs->keys[k] = Py_NewRef(name);
    hs->key_alg[k] = (int8_t)alg;
    while (hs->key_slot[s] != 0) {
        s = (s + 1) & (FC_HASH_KEY_SLOTS - 1);
    }
    hs->key_slot[s] = (uint8_t)(k + 1);
}

int
fc_hash_parse_seed(int alg, PyObject *obj, uint64_t *out)
{
    *out = 0;
    if (obj == NULL || obj == Py_None) {
        return 0;       /* seed=None, as the signatures say: the default */
    }
    if (fc_hash_algs[alg].xxh < 0) {
        PyErr_Format(PyExc_TypeError, "%s does not take a seed",
                     fc_hash_algs[alg].name);
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
    *out = fc_hash_algs[alg].xxh == FC_XXH32 ? (uint64_t)(uint32_t)v
                                             : (uint64_t)v;
    return 0;
}

int
fc_hash_xxh_args(const char *fname, PyObject *const *args, Py_ssize_t nargs,
                 PyObject *kwnames, int data_required, PyObject **data,
                 PyObject **seed)
{
    static const char *const names[] = {"data", "seed", "input", NULL};
    PyObject *a[3];
    /* data is checked below: it may come as input=. */
    if (fc_parse_args_fast(fname, args, nargs, kwnames, names, 3, 2, 0,
                           a) < 0) {
        return -1;
    }
    if (a[2] != NULL) {
        if (a[0] != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() got both 'data' and its "
                         "old name 'input'", fname);
            return -1;
        }
        a[0] = a[2];
    }
    if (a[0] == NULL && data_required) {
        PyErr_Format(PyExc_TypeError, "%s() missing required argument "
                     "'data'", fname);
        return -1;
    }
    *data = a[0];
    *seed = a[1];
    return 0;
}

/* --- the hasher ---------------------------------------------------------- */

int
fc_hasher_open(fc_hasher *h)
{
    if (h->md) {
        h->ctx = EVP_MD_CTX_new();
        if (h->ctx == NULL || !EVP_DigestInit_ex2(h->ctx, h->md, NULL)) {
            return -1;
        }
        return 0;
    }
    if (fc_hash_algs[h->alg].b3) {
        h->b3 = PyMem_RawMalloc(sizeof(*h->b3));
        if (h->b3 == NULL) {
            return -1;
        }
        fc_blake3_init(h->b3, h->bk);
        return 0;
    }
    h->xs = fc_xxh_state_new(fc_hash_algs[h->alg].xxh);
    if (h->xs == NULL) {
        return -1;
    }
    h->xk->reset(fc_hash_algs[h->alg].xxh, h->xs, h->seed);
    return 0;
}

int
fc_hasher_reset(fc_hasher *h)
{
    if (h->md) {
        return EVP_DigestInit_ex2(h->ctx, h->md, NULL) ? 0 : -1;
    }
    if (h->b3) {
        fc_blake3_reset(h->b3);
        return 0;
    }
    h->xk->reset(fc_hash_algs[h->alg].xxh, h->xs, h->seed);
    return 0;
}

int
fc_hasher_final(fc_hasher *h, unsigned char *out)
{
    if (h->md) {
        return EVP_DigestFinal_ex(h->ctx, out, NULL) ? 0 : -1;
    }
    if (h->b3) {
        fc_blake3_finalize(h->b3, out, FC_BLAKE3_OUT_LEN);
        return 0;
    }
    h->xk->digest(fc_hash_algs[h->alg].xxh, h->xs, out);
    return 0;
}

int
fc_hasher_peek(const fc_hasher *h, unsigned char *out)
{
    if (h->md) {
        /* EVP finalises a copy. */
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
    h->xk->digest(fc_hash_algs[h->alg].xxh, h->xs, out);
    return 0;
}

int
fc_hasher_copy(fc_hasher *dst, const fc_hasher *src)
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
    dst->xs = fc_xxh_state_new(fc_hash_algs[src->alg].xxh);
    if (dst->xs == NULL) {
        return -1;
    }
    fc_xxh_state_copy(fc_hash_algs[src->alg].xxh, dst->xs, src->xs);
    return 0;
}

/* One input in chunks, in order on the calling thread (fc_run, 1 thread). */
typedef struct {
    fc_hasher *h;
    const unsigned char *data;
    Py_ssize_t len;
    Py_ssize_t chunk;
    int failed;
} chunked_job;

static void
chunked_task(void *arg, int64_t i)
{
    chunked_job *job = arg;
    Py_ssize_t off = (Py_ssize_t)i * job->chunk;
    Py_ssize_t n = job->len - off < job->chunk ? job->len - off : job->chunk;
    if (fc_hasher_update(job->h, job->data + off, (size_t)n) < 0) {
        job->failed = 1;
    }
}

int
fc_hasher_update_chunked(fc_hasher *h, const void *data, Py_ssize_t len,
                         int release)
{
    chunked_job job = {h, data, len, fc_hasher_seq_chunk(h), 0};
    /* Safe: the caller pins data and owns h (or holds its lock). */
    if (fc_run(chunked_task, &job, (len + job.chunk - 1) / job.chunk, 1,
               release) < 0) {
        return -1;
    }
    return job.failed ? -2 : 0;
}

/* --- the area: the table's set-up and info() ----------------------------- */

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
    for (int i = 0; i < FC_HASH_NALGS; i++) {
        if (fc_hash_algs[i].ossl != NULL) {
            /* Fetched once here, not per call; a missing one (a FIPS
             * provider without MD5, say) is left out of
             * algorithms_available. */
            hs->md[i] = EVP_MD_fetch(NULL, fc_hash_algs[i].ossl, NULL);
            if (hs->md[i] == NULL) {
                continue;
            }
            const OSSL_PROVIDER *prov = EVP_MD_get0_provider(hs->md[i]);
            const char *pname = prov ? OSSL_PROVIDER_get0_name(prov) : NULL;
            if (pname != NULL && strcmp(pname, "default") == 0) {
                hs->oneshot[i] = ONESHOT[i];
            }
        }
        PyObject *s = hs->names[i] =
            PyUnicode_InternFromString(fc_hash_algs[i].name);
        if (s == NULL || PySet_Add(names, s) < 0) {
            goto exit;
        }
    }
    /* The identity table: usable algorithms, then the aliases. */
    for (int i = 0; i < FC_HASH_NALGS; i++) {
        if (usable(hs, i)) {
            add_key(hs, i, hs->names[i], i);
        }
    }
    for (int a = 0; a < FC_HASH_NALIASES; a++) {
        PyObject *alias = PyUnicode_InternFromString(ALIASES[a].name);
        if (alias == NULL) {
            goto exit;
        }
        if (usable(hs, ALIASES[a].alg)) {
            add_key(hs, FC_HASH_NALGS + a, alias, ALIASES[a].alg);
        }
        Py_DECREF(alias);
    }
    hs->available = PyFrozenSet_New(names);
    if (hs->available == NULL ||
        PyModule_AddObjectRef(m, "algorithms_available", hs->available) < 0) {
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
        Py_VISIT(st->hash->available);
        for (int i = 0; i < FC_HASH_NALGS; i++) {
            Py_VISIT(st->hash->names[i]);
        }
        for (int k = 0; k < FC_HASH_NKEYS; k++) {
            Py_VISIT(st->hash->keys[k]);
        }
    }
    return 0;
}

/* Runs after the front ends' clear (the module clears areas in reverse
 * order), so the state can go. */
static void
hash_clear(fc_state *st)
{
    struct fc_hash_state *hs = st->hash;
    if (hs == NULL) {
        return;
    }
    Py_CLEAR(hs->available);
    for (int k = 0; k < FC_HASH_NKEYS; k++) {
        Py_CLEAR(hs->keys[k]);
    }
    memset(hs->key_slot, 0, sizeof(hs->key_slot));
    for (int i = 0; i < FC_HASH_NALGS; i++) {
        Py_CLEAR(hs->names[i]);
        /* Live contexts hold their own reference to the EVP_MD. */
        EVP_MD_free(hs->md[i]);
        hs->md[i] = NULL;
    }
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
    for (int i = 0; i < FC_HASH_NALGS; i++) {
        const char *name = fc_hash_algs[i].name;
        PyObject *s;
        if (fc_hash_algs[i].xxh >= 0) {
            s = PyUnicode_FromFormat("xxHash %d.%d.%d (%s)", XXH_VERSION_MAJOR,
                                     XXH_VERSION_MINOR, XXH_VERSION_RELEASE,
                                     FC_ATOMIC_LOAD(&hs->kernels->xxh)->impl);
        }
        else if (hs->md[i] != NULL) {
            s = PyUnicode_FromString(OpenSSL_version(OPENSSL_VERSION));
        }
        else {
            continue;   /* BLAKE3: blake3/object.c reports it */
        }
        /* One digest is a sequential computation; hash_many/hash_files
         * spread many of them over the pool. */
        if (fc_dict_set_steal(backends, name, s) < 0 ||
            PyDict_SetItemString(parallel, name, Py_False) < 0) {
            return -1;
        }
    }
    return 0;
}

const fc_area fc_area_hash = {
    "hash", hash_init, hash_traverse, hash_clear, hash_info,
};
