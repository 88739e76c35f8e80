/* hash/oneshot.c - digest() (one input, one call) and hash_many() (a batch
 * of inputs, one digest each, on the pool with the GIL released once):
 * argument parsing, pinning the inputs, the GIL and thread policy, and the
 * pool tasks (C types only).  It calls down into the hasher layer
 * (hash/algorithms.c), the kernel tables it hands out, and blake3/impl.c
 * and blake3/pool.c for BLAKE3; it must not call the other front ends nor
 * choose kernels.
 */
#include "hash/hash.h"
#include "blake3/pool.h"

#include <sched.h>
#include <string.h>
#include <time.h>

/* hash_many() with threads=None goes parallel from this many bytes on
 * (counting ITEM_COST per item for the per-item overhead). */
#define MANY_PARALLEL_MIN ((Py_ssize_t)64 << 10)
#define ITEM_COST 256

/* --- digest -------------------------------------------------------------- */

/* digest("blake3", ...): one-shot, or as subtree tasks on the pool for
 * large inputs (the GIL released), as fastconc.blake3 does. */
static PyObject *
b3_digest(struct fc_hash_state *hs, const Py_buffer *view, int release)
{
    uint8_t out[FC_BLAKE3_OUT_LEN];
    const fc_blake3_kernels *k = FC_ATOMIC_LOAD(&hs->kernels->blake3);
    /* Keeping the GIL means one thread (the pool would run without it). */
    int threads = release ? fc_blake3_threads(0, view->len) : 1;
    if (threads <= 1 && view->len <= FC_HASH_SEQ_CHUNK) {
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

/* digest() of a whole buffer in one call, for xxHash (h->md == NULL) or
 * an algorithm with a libcrypto one-call function.  No Python API. */
static void
one_call(const fc_hasher *h, fc_hash_oneshot_fn oneshot, const void *buf,
         size_t len, unsigned char *out)
{
    if (h->md == NULL) {
        h->xk->oneshot(fc_hash_algs[h->alg].xxh, buf, len, h->seed, out);
    }
    else {
        oneshot(buf, len, out);
    }
}

/* The digest of buf[0:len) into out (fc_hasher_size bytes), the GIL
 * released when `release`: one call when the algorithm has one (xxHash,
 * libcrypto's one-call functions), else through a hasher, in chunks past
 * fc_hasher_seq_chunk so that Ctrl-C is seen.  Not for BLAKE3.  Returns 0,
 * or -1 with an exception set.  Called attached; buf stays pinned. */
static int
digest_into(fc_state *st, int alg, uint64_t seed, const void *buf,
            Py_ssize_t len, int release, unsigned char *out)
{
    fc_hasher h;
    int rc = 0;
    fc_hasher_setup(&h, st->hash, alg, seed);
    Py_ssize_t seq_chunk = fc_hasher_seq_chunk(&h);
    fc_hash_oneshot_fn oneshot = st->hash->oneshot[alg];
    if ((h.md == NULL || oneshot != NULL) && len <= seq_chunk) {
        /* One call and no state: xxHash, or libcrypto's one-call digest
         * (no EVP context to set up). */
        /* Safe: buf is pinned by the caller. */
        FC_RUN_OUTSIDE_GIL(release, one_call(&h, oneshot, buf, (size_t)len,
                                             out));
        return 0;
    }
    if (fc_hasher_open(&h) < 0) {
        fc_hash_error("hash initialisation");
        goto exit;
    }
    if (len <= seq_chunk) {
        /* Safe: buf is pinned; h is ours alone. */
        FC_RUN_OUTSIDE_GIL(release,
                           rc = fc_hasher_update(&h, buf, (size_t)len));
    }
    else {
        /* Large: in chunks, Ctrl-C checked between them. */
        rc = fc_hasher_update_chunked(&h, buf, len, release);
        if (rc == -1) {
            goto exit;
        }
    }
    if (rc < 0 || fc_hasher_final(&h, out) < 0) {
        fc_hash_error("digest");
        rc = -1;
        goto exit;
    }
    fc_hasher_close(&h);
    return 0;
exit:
    fc_hasher_close(&h);
    return -1;
}

/* --- the per-algorithm one-shots of python-xxhash ------------------------ */

/* xxh32_digest(data, seed=0), xxh32_intdigest, xxh32_hexdigest, and the
 * same for xxh64, xxh3_64 and xxh3_128: the fastest way to hash a small
 * input.  The algorithm and the form of the result are constants of each
 * function (xxh_oneshot is inlined into each), so a call goes straight
 * from the arguments to the kernel of the current SIMD level
 * (fc_xxh_kernels.xxh3_64, ...) and from its 64- or 128-bit value to the
 * result object.  digest() takes the same path for xxHash. */
enum { FORM_DIGEST, FORM_INT, FORM_HEX };

/* The digest size of xxHash algorithm alg, a constant where alg is. */
static inline int
xxh_size(int alg)
{
    return alg == FC_ALG_XXH32 ? 4 : alg == FC_ALG_XXH3_128 ? 16 : 8;
}

/* v as 8 big-endian bytes at out. */
static inline void
store_be64(unsigned char *out, uint64_t v)
{
    v = __builtin_bswap64(v);
    memcpy(out, &v, 8);
}

static inline PyObject *
xxh_result(uint64_t hi, uint64_t lo, int size, int form)
{
    unsigned char tmp[16];
    PyObject *r;
    if (form == FORM_INT && size <= 8) {
        return PyLong_FromUnsignedLongLong(lo);
    }
    if (form == FORM_DIGEST) {
        /* Written in place: a byte loop and a copy into the new bytes came
         * to a fifth of a 64-byte xxh3_64_digest() (callgrind). */
        r = PyBytes_FromStringAndSize(NULL, size);
        if (r == NULL) {
            return NULL;
        }
        unsigned char *out = (unsigned char *)PyBytes_AS_STRING(r);
        if (size == 4) {
            uint32_t v = __builtin_bswap32((uint32_t)lo);
            memcpy(out, &v, 4);
        }
        else if (size == 8) {
            store_be64(out, lo);
        }
        else {
            store_be64(out, hi);
            store_be64(out + 8, lo);
        }
        return r;
    }
    if (size == 16) {
        store_be64(tmp, hi);
        store_be64(tmp + 8, lo);
    }
    else {
        fc_put_be(tmp, lo, size);
    }
    if (form == FORM_INT) {
        return fc_hash_int_of(tmp, size);
    }
    return fc_hash_hex_of(tmp, size);
}

/* FC_RUN_OUTSIDE_GIL with the GIL kept as the likely case. */
#define XXH_CALL(release, stmt)                                             \
    do {                                                                    \
        if (__builtin_expect(!(release), 1)) {                              \
            stmt;                                                           \
        }                                                                   \
        else {                                                              \
            Py_BEGIN_ALLOW_THREADS                                          \
            stmt;                                                           \
            Py_END_ALLOW_THREADS                                            \
        }                                                                   \
    } while (0)

/* The xxHash value of buf[0:len) into *hi, *lo (hi: XXH3-128's high half).
 * Inputs past FC_XXH_SEQ_CHUNK go through digest_into (in chunks with
 * Ctrl-C checks).  Returns 0, or -1 with an exception set.  buf stays
 * pinned. */
static inline __attribute__((always_inline)) int
xxh_value(fc_state *st, int alg, uint64_t seed, const void *buf,
          Py_ssize_t len, int release, uint64_t *hi, uint64_t *lo)
{
    int size = xxh_size(alg);
    if (__builtin_expect(len > FC_XXH_SEQ_CHUNK, 0)) {
        /* Huge: in chunks with Ctrl-C checks (digest()'s path). */
        unsigned char out[16];
        uint64_t h = 0, l = 0;
        if (digest_into(st, alg, seed, buf, len, release, out) < 0) {
            return -1;
        }
        for (int i = 0; i < 8 && size == 16; i++) {
            h = (h << 8) | out[i];
        }
        for (int i = size == 16 ? 8 : 0; i < size; i++) {
            l = (l << 8) | out[i];
        }
        *hi = h;
        *lo = l;
        return 0;
    }
    /* XXH32, XXH64 and XXH3 up to 240 bytes have no vector code: the
     * shared kernels (simd/xxh_short.c), called directly; longer XXH3
     * inputs take the vector loop of the SIMD level's table. */
    const fc_xxh_kernels *k = FC_KERNEL(st, xxh);
    fc_u128 v = {0, 0};
    uint64_t r = 0;
    int is_short = len <= FC_XXH3_SHORT_MAX;
    /* Safe: the data is pinned by the caller.  Small inputs (the GIL
     * kept) are the case laid out straight. */
    switch (alg) {
    case FC_ALG_XXH32:
        XXH_CALL(release, r = fc_xxh32_direct(buf, (size_t)len,
                                              (uint32_t)seed));
        break;
    case FC_ALG_XXH64:
        XXH_CALL(release, r = fc_xxh64_direct(buf, (size_t)len, seed));
        break;
    case FC_ALG_XXH3_64:
        if (__builtin_expect(is_short, 1)) {
            XXH_CALL(release, r = fc_xxh3_64_short(buf, (size_t)len, seed));
        }
        else {
            XXH_CALL(release, r = k->xxh3_64(buf, (size_t)len, seed));
        }
        break;
    default:
        if (__builtin_expect(is_short, 1)) {
            XXH_CALL(release, v = fc_xxh3_128_short(buf, (size_t)len, seed));
        }
        else {
            XXH_CALL(release, v = k->xxh3_128(buf, (size_t)len, seed));
        }
        *hi = v.hi;
        *lo = v.lo;
        return 0;
    }
    *hi = 0;
    *lo = r;
    return 0;
}

static inline __attribute__((always_inline)) PyObject *
xxh_oneshot(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
            PyObject *kwnames, int alg, int form, const char *fname)
{
    fc_state *st = fc_get_state(module);
    PyObject *data, *seed_obj = NULL, *result = NULL;
    Py_buffer view;      /* set by fc_get_data or below */
    const void *buf;
    Py_ssize_t len;
    uint64_t seed = 0, hi, lo;

    if (__builtin_expect(kwnames == NULL && nargs == 1 &&
                         PyBytes_CheckExact(args[0]), 1)) {
        /* The usual call, f(some_bytes): the seed a constant 0 and
         * nothing to release, so that no value goes through the stack on
         * the way to the kernel (python-xxhash's xxh64_intdigest was 1.17x
         * faster on 64 bytes with the seed stored and reloaded). */
        len = PyBytes_GET_SIZE(args[0]);
        if (xxh_value(st, alg, 0, PyBytes_AS_STRING(args[0]), len,
                      fc_hash_release(st, len, alg),
                      &hi, &lo) < 0) {
            return NULL;
        }
        return xxh_result(hi, lo, xxh_size(alg), form);
    }
    if (kwnames == NULL && nargs == 1) {
        data = args[0];
    }
    else if (fc_hash_xxh_args(fname, args, nargs, kwnames, 1, &data,
                              &seed_obj) < 0 ||
             fc_hash_parse_seed(alg, seed_obj, &seed) < 0) {
        return NULL;
    }
    if (__builtin_expect(PyBytes_CheckExact(data), 1)) {
        view.obj = NULL;    /* fc_get_data's bytes case, laid out straight */
        buf = PyBytes_AS_STRING(data);
        len = PyBytes_GET_SIZE(data);
    }
    else if (fc_get_data(data, &view, &buf, &len) < 0) {
        return NULL;
    }
    if (xxh_value(st, alg, seed, buf, len,
                  fc_hash_release(st, len, alg), &hi,
                  &lo) == 0) {
        result = xxh_result(hi, lo, xxh_size(alg), form);
    }
    fc_data_release(&view);
    return result;
}

/* digest() of xxHash algorithm alg (a constant at each call site). */
static inline __attribute__((always_inline)) PyObject *
xxh_digest(fc_state *st, int alg, uint64_t seed, const void *buf,
           Py_ssize_t len, int release)
{
    uint64_t hi, lo;
    if (xxh_value(st, alg, seed, buf, len, release, &hi, &lo) < 0) {
        return NULL;
    }
    return xxh_result(hi, lo, xxh_size(alg), FORM_DIGEST);
}

/* digest() of a libcrypto algorithm or BLAKE3: out of line, so that
 * fc_digest's own frame stays small for xxHash. */
static __attribute__((noinline)) PyObject *
digest_other(fc_state *st, int alg, const void *buf, Py_ssize_t len,
             int release)
{
    unsigned char out[FC_MAX_DIGEST];
    if (fc_hash_algs[alg].b3) {
        Py_buffer v = {0};
        v.buf = (void *)buf;
        v.len = len;
        return b3_digest(st->hash, &v, release);
    }
    if (digest_into(st, alg, 0, buf, len, release, out) < 0) {
        return NULL;
    }
    return PyBytes_FromStringAndSize((const char *)out,
                                     fc_hash_digest_size(st->hash, alg));
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

/* digest() in general: keywords, seed=, release_gil=, any buffer. */
static __attribute__((noinline)) PyObject *
digest_general(fc_state *st, PyObject *const *args, Py_ssize_t nargs,
               PyObject *kwnames)
{
    static const char *const names[] = {"name", "data", "seed",
                                        "release_gil", NULL};
    PyObject *a[4], *result = NULL;
    Py_buffer view;      /* set by fc_get_data or below */
    const void *buf;
    Py_ssize_t len;
    uint64_t seed;
    int alg, release;

    if (fc_parse_args_fast("digest", args, nargs, kwnames, names, 4, 2, 2,
                           a) < 0 ||
        (alg = fc_hash_lookup(st->hash, a[0])) < 0 ||
        fc_hash_parse_seed(alg, a[2], &seed) < 0 ||
        fc_parse_release(a[3], &release) < 0) {
        return NULL;
    }
    if (__builtin_expect(PyBytes_CheckExact(a[1]), 1)) {
        view.obj = NULL;    /* fc_get_data's bytes case, laid out straight */
        buf = PyBytes_AS_STRING(a[1]);
        len = PyBytes_GET_SIZE(a[1]);
    }
    else if (fc_get_data(a[1], &view, &buf, &len) < 0) {
        return NULL;
    }
    release = release < 0
              ? fc_hash_release(st, len, alg)
              : release;
    switch (alg) {
    case FC_ALG_XXH3_64:
        result = xxh_digest(st, FC_ALG_XXH3_64, seed, buf, len, release);
        goto exit;
    case FC_ALG_XXH64:
        result = xxh_digest(st, FC_ALG_XXH64, seed, buf, len, release);
        goto exit;
    case FC_ALG_XXH32:
        result = xxh_digest(st, FC_ALG_XXH32, seed, buf, len, release);
        goto exit;
    case FC_ALG_XXH3_128:
        result = xxh_digest(st, FC_ALG_XXH3_128, seed, buf, len, release);
        goto exit;
    default:
        result = digest_other(st, alg, buf, len, release);
        goto exit;
    }
exit:
    fc_data_release(&view);
    return result;
}

static PyObject *
fc_digest(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
          PyObject *kwnames)
{
    fc_state *st = fc_get_state(module);
    /* Where a small call's time went (callgrind, 64 bytes of xxh3_64):
     * the keyword parser, a loop of name compares, the buffer protocol,
     * then the generic hasher set-up and a copy of the digest into the
     * result.  The usual call, digest(name, some_bytes), now goes from
     * the name's address (fc_hash_lookup) and the bytes read in place to
     * the one-shot functions' path for xxHash (xxh_value, the algorithm a
     * constant in each case, the digest written into the new bytes), with
     * nothing to release; everything else takes digest_general. */
    if (__builtin_expect(kwnames == NULL && nargs == 2 &&
                         PyBytes_CheckExact(args[1]), 1)) {
        int alg = fc_hash_lookup(st->hash, args[0]);
        if (alg < 0) {
            return NULL;
        }
        const void *buf = PyBytes_AS_STRING(args[1]);
        Py_ssize_t len = PyBytes_GET_SIZE(args[1]);
        int release = fc_hash_release(st, len, alg);
        switch (alg) {
        case FC_ALG_XXH3_64:
            return xxh_digest(st, FC_ALG_XXH3_64, 0, buf, len, release);
        case FC_ALG_XXH64:
            return xxh_digest(st, FC_ALG_XXH64, 0, buf, len, release);
        case FC_ALG_XXH32:
            return xxh_digest(st, FC_ALG_XXH32, 0, buf, len, release);
        case FC_ALG_XXH3_128:
            return xxh_digest(st, FC_ALG_XXH3_128, 0, buf, len, release);
        default:
            return digest_other(st, alg, buf, len, release);
        }
    }
    return digest_general(st, args, nargs, kwnames);
}

#define FC_XXH_ONESHOT(alg, fname, form)                                    \
    static PyObject *                                                       \
    fc_##fname(PyObject *m, PyObject *const *args, Py_ssize_t nargs,        \
               PyObject *kwnames)                                           \
    {                                                                       \
        return xxh_oneshot(m, args, nargs, kwnames, alg, form, #fname);     \
    }
#define FC_XXH_ONESHOTS(alg, prefix)                                        \
    FC_XXH_ONESHOT(alg, prefix##_digest, FORM_DIGEST)                       \
    FC_XXH_ONESHOT(alg, prefix##_intdigest, FORM_INT)                       \
    FC_XXH_ONESHOT(alg, prefix##_hexdigest, FORM_HEX)

FC_XXH_ONESHOTS(FC_ALG_XXH32, xxh32)
FC_XXH_ONESHOTS(FC_ALG_XXH64, xxh64)
FC_XXH_ONESHOTS(FC_ALG_XXH3_64, xxh3_64)
FC_XXH_ONESHOTS(FC_ALG_XXH3_128, xxh3_128)

PyDoc_STRVAR(xxh_digest__doc__,
"Return the digest of data (bytes, big-endian as xxhsum prints it), as\n"
"python-xxhash's function of this name.\n"
"\n"
"  data: any bytes-like object (input= is accepted too, as python-xxhash 3\n"
"    named it).\n"
"  seed: an int (taken modulo 2**64, or 2**32 for xxh32).");
PyDoc_STRVAR(xxh_intdigest__doc__,
"Return the digest of data as an int, as python-xxhash's function of this\n"
"name: the fastest way to hash a small input.\n"
"\n"
"  data: any bytes-like object (input= is accepted too, as python-xxhash 3\n"
"    named it).\n"
"  seed: an int (taken modulo 2**64, or 2**32 for xxh32).");
PyDoc_STRVAR(xxh_hexdigest__doc__,
"Return the digest of data as a str of hex digits, as python-xxhash's\n"
"function of this name.\n"
"\n"
"  data: any bytes-like object (input= is accepted too, as python-xxhash 3\n"
"    named it).\n"
"  seed: an int (taken modulo 2**64, or 2**32 for xxh32).");

#define XXH_ONESHOT_DEFS(prefix)                                            \
    {#prefix "_digest", FC_CFUNC(fc_##prefix##_digest),                     \
     METH_FASTCALL | METH_KEYWORDS, xxh_digest__doc__},                     \
    {#prefix "_intdigest", FC_CFUNC(fc_##prefix##_intdigest),               \
     METH_FASTCALL | METH_KEYWORDS, xxh_intdigest__doc__},                  \
    {#prefix "_hexdigest", FC_CFUNC(fc_##prefix##_hexdigest),               \
     METH_FASTCALL | METH_KEYWORDS, xxh_hexdigest__doc__}

/* --- hash_many ----------------------------------------------------------- */

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
#define PIN_AHEAD 16
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
    /* While pinning (pin_begin .. pin_range): */
    Py_ssize_t count;       /* items in seq (n counts those pinned) */
    int shared;             /* seq is the caller's list: copy or hold */
    PyObject **held_base;   /* where held goes once a reference is taken */
    unsigned char *copy;    /* next free byte of the copy room */
    unsigned char *room_end;
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

/* Pinning, in steps so that a caller may hash what is pinned while it pins
 * the rest (hash_many's pipeline): pin_begin takes the sequence,
 * pin_scratch the scratch block, pin_range pins items [p->n, end),
 * pin_finish records what was written.  All with the GIL held.  On failure each step returns -1
 * with an exception set; pinned_release then frees what was taken. */
static int
pin_begin(PyObject *items, pinned_items *p, struct fc_hash_state *hs)
{
    memset(p, 0, sizeof(*p));
    if (PyUnicode_Check(items) || PyObject_CheckBuffer(items)) {
        PyErr_Format(PyExc_TypeError,
                     "items must be an iterable of bytes-like objects, "
                     "not a single '%.100s'", Py_TYPE(items)->tp_name);
        return -1;
    }
#ifdef Py_GIL_DISABLED
    /* Without a GIL another thread may change the caller's list while we
     * read it: read a snapshot taken under the list's lock instead (the
     * tuple is ours, so no item is then copied or held one by one). */
    PyObject *seq = p->seq = PyList_Check(items)
        ? PyList_AsTuple(items)
        : PySequence_Fast(items, "items must be an iterable");
#else
    PyObject *seq = p->seq = PySequence_Fast(items,
                                             "items must be an iterable");
#endif
    if (seq == NULL) {
        return -1;
    }
    p->hs = hs;
    /* Another thread can change the caller's list while the GIL is
     * released; a tuple or a list of our own cannot change. */
    p->shared = seq == items && !PyTuple_CheckExact(seq);
    p->count = PySequence_Fast_GET_SIZE(seq);
    return 0;
}

static int
pin_scratch(pinned_items *p, size_t extra_per_item)
{
    int shared = p->shared;
    Py_ssize_t n = p->count;
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
    p->scratch = scratch_take(p->hs, arrays + room);
    if (p->scratch == NULL) {
        return -1;
    }
    p->span = (fc_span *)p->scratch->data;
    /* held is only written from the first reference on (items copied or
     * held through views need no entry before that). */
    p->held_base = shared ? (PyObject **)(p->span + n) : NULL;
    p->extra = (unsigned char *)(p->span + n) +
               (shared ? (size_t)n * sizeof(PyObject *) : 0);
    p->copy = p->scratch->data + arrays;
    p->room_end = p->copy + room;
    return 0;
}

/* Pin items [p->n, end) (end <= p->count). */
static int
pin_range(pinned_items *p, Py_ssize_t end)
{
    PyObject *seq = p->seq;
    Py_ssize_t n = p->count;
    int shared = p->shared;
    if (PySequence_Fast_GET_SIZE(seq) != n) {
        /* Between two steps the caller's list changed (Python code run
         * by an item's __buffer__). */
        PyErr_SetString(PyExc_RuntimeError,
                        "items changed size during hash_many");
        return -1;
    }
    PyObject **objs = PySequence_Fast_ITEMS(seq);
    unsigned char *copy = p->copy;
    unsigned char *room_end = p->room_end;
    fc_span *span = p->span;
    PyObject **held = p->held;
    Py_ssize_t total = p->total, k;
    int rc = -1;
    /* Copies of the fields in locals: the copies' stores (char) would
     * otherwise make the compiler reload them at every item. */
    for (k = p->n; k < end; k++) {
        PyObject *item = objs[k];
        if (held != NULL) {
            held[k] = NULL;
        }
        if (k + PIN_AHEAD < n) {
            /* The items are scattered objects, each read once here: ask
             * for one a few items ahead so that its header and first
             * bytes arrive while these are copied. */
            const char *ahead = (const char *)objs[k + PIN_AHEAD];
            __builtin_prefetch(ahead);
            __builtin_prefetch(ahead + 48);
            __builtin_prefetch(ahead + 95);
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
                if (held == NULL) {
                    held = p->held = p->held_base;
                    memset(held, 0, (size_t)k * sizeof(*held));
                }
                held[k] = Py_NewRef(item);
                p->nheld++;
            }
            span[k].buf = buf;
            span[k].len = len;
            total += len;
            continue;
        }
        else {
            if (p->views == NULL) {
                p->views = PyMem_Calloc(n, sizeof(Py_buffer));
                if (p->views == NULL) {
                    PyErr_NoMemory();
                    goto exit;
                }
            }
            if (fc_get_buffer(item, &p->views[k], "items") < 0) {
                goto exit;
            }
            if (shared) {
                /* An item's __buffer__ is Python code: it may have
                 * changed the caller's list, and moved its array. */
                objs = PySequence_Fast_ITEMS(seq);
                if (PySequence_Fast_GET_SIZE(seq) != n) {
                    PyErr_SetString(PyExc_RuntimeError,
                                    "items changed size during hash_many");
                    k++;    /* its view is released with the others */
                    goto exit;
                }
            }
            span[k].buf = p->views[k].buf;
            span[k].len = p->views[k].len;
            total += span[k].len;
        }
    }
    k = end;
    rc = 0;
exit:
    /* On failure, items [0, k) hold what pinned_release gives back. */
    p->n = k;
    p->total = total;
    p->copy = copy;
    return rc;
}

static void
pin_finish(pinned_items *p)
{
    p->used = (size_t)(p->copy - p->scratch->data);
}

typedef struct {
    int alg;
    const EVP_MD *md;
    fc_hash_oneshot_fn oneshot;
    fc_sha256_pair_fn pair;     /* SHA-256/224 two items at a time, or
                                 * NULL */
    const uint32_t *iv;         /* for pair */
    const fc_xxh_kernels *xk;
    const fc_blake3_kernels *bk;    /* BLAKE3 only, else NULL */
    uint64_t seed;
    const pinned_items *items;
    const Py_ssize_t *starts;   /* chunk i = items [starts[i], starts[i+1]) */
    PyObject *const *out;       /* the result's bytes objects (ours alone) */
    unsigned char *digests;     /* or, when not NULL, item k's digest goes
                                 * at digests + k * size */
    int native64;               /* out= of xxh64/xxh3_64: each 8-byte
                                 * digest stored as a native-endian integer
                                 * (its intdigest()) */
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

/* An item over FC_HASH_SEQ_CHUNK is streamed in pieces so that Ctrl-C is
 * seen between them (the batch is then cancelled and the result thrown
 * away).  Returns -1 on an allocation or OpenSSL failure. */
static int
many_big_item(const many_job *job, const unsigned char *buf, Py_ssize_t len,
              unsigned char *dst)
{
    fc_hasher h;
    int rc = -1;
    fc_hasher_setup(&h, job->hs, job->alg, job->seed);
    if (fc_hasher_open(&h) < 0) {
        goto exit;
    }
    for (Py_ssize_t off = 0; off < len; off += FC_HASH_SEQ_CHUNK) {
        if (fc_pool_should_stop()) {
            rc = 0;
            goto exit;
        }
        Py_ssize_t n = len - off < FC_HASH_SEQ_CHUNK ? len - off
                                                     : FC_HASH_SEQ_CHUNK;
        if (fc_hasher_update(&h, buf + off, (size_t)n) < 0) {
            goto exit;
        }
    }
    rc = fc_hasher_final(&h, dst);
exit:
    fc_hasher_close(&h);
    return rc;
}

/* xxh64 / xxh3_64 of one item as an integer, by the direct kernels (no
 * dispatch on the algorithm per item). */
static inline __attribute__((always_inline)) uint64_t
native64_value(const many_job *job, int x, const unsigned char *buf,
               Py_ssize_t len)
{
    if (x == FC_XXH64) {
        return fc_xxh64_direct(buf, (size_t)len, job->seed);
    }
    if (len <= FC_XXH3_SHORT_MAX) {
        return fc_xxh3_64_short(buf, (size_t)len, job->seed);
    }
    return job->xk->xxh3_64(buf, (size_t)len, job->seed);
}

/* Items [k, end), none over FC_HASH_SEQ_CHUNK, in one go. */
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
    if (job->native64) {
        /* out= of xxh3_64/xxh64: the value stored as it is, with the
         * direct kernels (no dispatch on the algorithm per item, no byte
         * order written then undone). */
        int x = fc_hash_algs[job->alg].xxh;
        unsigned char *dst = job->digests;   /* any alignment */
        for (; k < end; k++) {
            const unsigned char *buf = pinned_buf(items, k, &len);
            if (k + PIN_AHEAD < end) {
                __builtin_prefetch(items->span[k + PIN_AHEAD].buf);
            }
            uint64_t v = native64_value(job, x, buf, len);
            memcpy(dst + (size_t)k * 8, &v, 8);
        }
        return;
    }
    if (job->md == NULL) {
        int x = fc_hash_algs[job->alg].xxh;
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

/* Items [k, end): runs of small items in one go, big ones streamed, and
 * a look for a cancel (Ctrl-C) every MANY_STOP_BYTES, so that a chunk cut
 * by its number of items (the pipeline's) stays prompt too. */
#define MANY_STOP_BYTES ((Py_ssize_t)4 << 20)

static void
many_range(many_job *job, Py_ssize_t k, Py_ssize_t end)
{
    Py_ssize_t run = k, len, acc = 0;
    for (; k < end; k++) {
        const unsigned char *buf = pinned_buf(job->items, k, &len);
        if (len > FC_HASH_SEQ_CHUNK) {
            many_small(job, run, k);
            unsigned char *d = MANY_DST(job, k);
            if (many_big_item(job, buf, len, d) < 0) {
                __atomic_store_n(&job->failed, 1, __ATOMIC_RELAXED);
            }
            if (job->native64) {
                uint64_t v = 0;
                for (int b = 0; b < 8; b++) {
                    v = v << 8 | d[b];  /* the digest is big-endian */
                }
                memcpy(d, &v, 8);
            }
            run = k + 1;
            acc = 0;
        }
        else if ((acc += len + ITEM_COST) >= MANY_STOP_BYTES) {
            many_small(job, run, k + 1);
            run = k + 1;
            acc = 0;
            if (fc_pool_should_stop()) {
                return;
            }
        }
    }
    many_small(job, run, end);
}

static void
many_task(void *arg, int64_t i)
{
    many_job *job = arg;
    many_range(job, job->starts[i], job->starts[i + 1]);
}

/* --- hash_many's pipeline --------------------------------------------------
 *
 * With out= and threads, pinning the items (under the GIL: reading each
 * scattered item and copying it) took longer than hashing them.  So the
 * caller pins the items chunk by chunk, as the pool's lead, while the pool
 * threads hash the chunks already pinned: chunk i waits until the lead has
 * published that it is pinned.  The lead never waits for the chunks, so
 * nothing can deadlock (if no worker comes, the caller hashes every chunk
 * after pinning them all); it stops at the first bad item and raises
 * `stop`, and the chunks not pinned then return without reading a thing. */
#define PIPE_CHUNK 2048
#define PIPE_MIN (4 * PIPE_CHUNK)
/* The lead pins a chunk for the pool while fewer than this many chunks it
 * pinned wait to be hashed; past that (the helpers are behind, or none
 * came) it hashes the next chunk itself, in place. */
#define PIPE_QUEUE 2

enum { CHUNK_WAIT, CHUNK_PINNED, CHUNK_DONE, CHUNK_STOP };

typedef struct {
    many_job *job;
    pinned_items *items;
    int *state;             /* state[i]: chunk i's CHUNK_* (atomic) */
    int64_t queued;         /* chunks the lead pinned for the pool */
    int64_t hashed;         /* of those, hashed (atomic) */
} many_pipe;

static inline void
pipe_bounds(const many_pipe *pp, int64_t i, Py_ssize_t *k, Py_ssize_t *end)
{
    *k = (Py_ssize_t)i * PIPE_CHUNK;
    *end = pp->items->count - *k < PIPE_CHUNK ? pp->items->count
                                              : *k + PIPE_CHUNK;
}

static void
pipe_task(void *arg, int64_t i)
{
    many_pipe *pp = arg;
    Py_ssize_t k, end;
    int st;
    pipe_bounds(pp, i, &k, &end);
    /* A chunk's pinning takes tens of µs: spin a little, then yield the
     * CPU (the machine may have fewer free than threads, and the lead
     * needs one), then, for a slow lead (items whose __buffer__ is Python
     * code), sleep between looks rather than burn a core. */
    for (int spins = 0;
         (st = __atomic_load_n(&pp->state[i], __ATOMIC_ACQUIRE)) ==
         CHUNK_WAIT;
         spins++) {
        if (fc_pool_should_stop()) {
            return;
        }
        if (spins < 512) {
            fc_cpu_relax();
        }
        else if (spins < 2048) {
            sched_yield();
        }
        else {
            struct timespec ts = {0, 50000};
            nanosleep(&ts, NULL);
        }
    }
    if (st == CHUNK_PINNED) {
        many_range(pp->job, k, end);
        __atomic_fetch_add(&pp->hashed, 1, __ATOMIC_RELEASE);
    }
}

/* xxh3_64/xxh64 values of items [k, end) of objs (n items) stored at dst
 * (8 bytes each, native order), read where they are: 1, or 0 at the first
 * item that is not bytes of at most PIN_COPY_MAX.  The GIL held. */
static int
direct64_range(const many_job *job, PyObject *const *objs, Py_ssize_t n,
               Py_ssize_t k, Py_ssize_t end, unsigned char *dst)
{
    int x = fc_hash_algs[job->alg].xxh;
    for (; k < end; k++) {
        PyObject *item = objs[k];
        if (k + PIN_AHEAD < n) {
            /* Scattered objects, each read once: ask for one a few items
             * ahead (past this range too: the next is read next). */
            const char *ahead = (const char *)objs[k + PIN_AHEAD];
            __builtin_prefetch(ahead);
            __builtin_prefetch(ahead + 48);
            __builtin_prefetch(ahead + 95);
        }
        if (!PyBytes_CheckExact(item) ||
            PyBytes_GET_SIZE(item) > PIN_COPY_MAX) {
            return 0;
        }
        uint64_t v = native64_value(
            job, x, (const unsigned char *)PyBytes_AS_STRING(item),
            PyBytes_GET_SIZE(item));
        memcpy(dst + (size_t)k * 8, &v, 8);
    }
    return 1;
}

/* out= of xxh3_64/xxh64 over bytes objects of at most PIN_COPY_MAX: the
 * caller hashes them where they are, the GIL held (as the pipeline's lead
 * holds it while it pins).  Reading such an item costs as much as hashing
 * it, so pinning them for the pool (a copy each) only doubled the work:
 * 100,000 items of 64 B took 15-19 ns an item and twice that in CPU
 * through the pipeline on two threads, and about 11 ns on one this way.  In rounds of DIRECT_ROUND items with the
 * signal handlers run between them, as a Python loop over the list would
 * (Ctrl-C raises; a handler that changed the list's size is an error; one
 * that replaced items is seen from the next round on).  Returns 1 when
 * every item was hashed, 0 at the first other item (the caller then takes
 * the general path, which writes every value again), -1 with an
 * exception set. */
#define DIRECT_ROUND ((Py_ssize_t)1 << 20)

static int
many_direct64(const many_job *job, PyObject *seq, Py_ssize_t n,
              unsigned char *dst)
{
    for (Py_ssize_t k = 0; k < n;) {
        if (k > 0) {
            if (PyErr_CheckSignals() < 0) {
                return -1;
            }
            if (PySequence_Fast_GET_SIZE(seq) != n) {
                PyErr_SetString(PyExc_RuntimeError,
                                "items changed size during hash_many");
                return -1;
            }
        }
        Py_ssize_t end = n - k < DIRECT_ROUND ? n : k + DIRECT_ROUND;
        if (!direct64_range(job, PySequence_Fast_ITEMS(seq), n, k, end,
                            dst)) {
            return 0;
        }
        k = end;
    }
    return 1;
}

/* Hash chunk [k, end) in place, under the GIL (nobody can change the
 * list or free its items meanwhile): what the pool would do with a
 * pinned copy, minus the copy.  Only for xxh64/xxh3_64 into out=, and
 * only while every item is an exact bytes object of PIN_COPY_MAX bytes at
 * most; returns 0 at the first other item, leaving the chunk to pinning
 * (what was written is written again). */
static int
pipe_in_place(many_pipe *pp, Py_ssize_t k, Py_ssize_t end)
{
    return direct64_range(pp->job, PySequence_Fast_ITEMS(pp->items->seq),
                          pp->items->count, k, end, pp->job->digests);
}

/* The lead: chunk after chunk, pin it for the pool and publish it, or,
 * when the pool is behind, hash it in place. */
static int
pipe_lead(void *arg)
{
    many_pipe *pp = arg;
    pinned_items *p = pp->items;
    int in_place_ok = pp->job->native64;
    if (PySequence_Fast_GET_SIZE(p->seq) != p->count) {
        PyErr_SetString(PyExc_RuntimeError,
                        "items changed size during hash_many");
        goto fail;
    }
    for (int64_t i = 0; p->n < p->count; i++) {
        Py_ssize_t k, end;
        pipe_bounds(pp, i, &k, &end);
        if (in_place_ok &&
            pp->queued - __atomic_load_n(&pp->hashed, __ATOMIC_ACQUIRE) >=
                PIPE_QUEUE &&
            pipe_in_place(pp, k, end)) {
            if (p->held != NULL) {
                memset(p->held + k, 0, (size_t)(end - k) * sizeof(*p->held));
            }
            p->n = end;     /* nothing of these held */
            __atomic_store_n(&pp->state[i], CHUNK_DONE, __ATOMIC_RELEASE);
            continue;
        }
        if (pin_range(p, end) < 0) {
            goto fail;
        }
        pp->queued++;
        __atomic_store_n(&pp->state[i], CHUNK_PINNED, __ATOMIC_RELEASE);
    }
    pin_finish(p);
    return 0;
fail:
    /* The chunks not pinned return without reading a thing. */
    for (int64_t i = 0; i * PIPE_CHUNK < p->count; i++) {
        if (__atomic_load_n(&pp->state[i], __ATOMIC_RELAXED) == CHUNK_WAIT) {
            __atomic_store_n(&pp->state[i], CHUNK_STOP, __ATOMIC_RELEASE);
        }
    }
    return -1;
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
"hash_many($module, name, items, *, threads=None, seed=None, out=None)\n"
"--\n\n"
"Return [digest(name, x) for x in items], computed in C on the pool with\n"
"the GIL released once.\n"
"\n"
"  name: one of algorithms_available.\n"
"  items: an iterable of bytes-like objects (all held until the end).\n"
"  threads: threads to use (None: the pool size for large batches).\n"
"  seed: xxHash only: the seed.\n"
"  out: a writable C-contiguous buffer of exactly len(items) * digest size\n"
"    bytes (bytearray, numpy array, mmap): the digests are written there\n"
"    back to back, no bytes object is made, and out is returned.  For\n"
"    xxh64 and xxh3_64 each 8 bytes are the native-endian integer\n"
"    intdigest() gives (numpy.uint64 items), for the others the digest.");

static PyObject *
fc_hash_many(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
             PyObject *kwnames)
{
    static const char *const names[] = {"name", "items", "threads", "seed",
                                        "out", NULL};
    fc_state *st = fc_get_state(module);
    PyObject *a[5], *result = NULL, *list = NULL;
    Py_buffer outv = {0};
    pinned_items items;
    many_job job;
    Py_ssize_t *starts = NULL;
    uint64_t seed;
    int alg, threads, size;

    memset(&job, 0, sizeof(job));
    memset(&items, 0, sizeof(items));
    if (fc_parse_args("hash_many", args, nargs, kwnames, names, 2, 2, a) < 0 ||
        (alg = fc_hash_lookup(st->hash, a[0])) < 0 ||
        fc_parse_threads(a[2], &threads) < 0 ||
        fc_hash_parse_seed(alg, a[3], &seed) < 0 ||
        (size = fc_hash_digest_size(st->hash, alg)) < 0 ||
        (a[4] != NULL && a[4] != Py_None &&
         fc_get_out_buffer(a[4], &outv, "out") < 0) ||
        pin_begin(a[1], &items, st->hash) < 0) {
        goto exit;
    }
    Py_ssize_t n = items.count;
    /* out= of these holds 64-bit values in native order, not digests. */
    int native64 = fc_hash_algs[alg].xxh == FC_XXH64 ||
                   fc_hash_algs[alg].xxh == FC_XXH3_64;
    if (outv.buf != NULL && n > 0 && outv.len == n * (Py_ssize_t)size &&
        native64) {
        many_job direct = {0};
        direct.alg = alg;
        direct.xk = FC_KERNEL(st, xxh);
        direct.seed = seed;
        int rc = many_direct64(&direct, items.seq, n, outv.buf);
        if (rc < 0) {
            goto exit;
        }
        if (rc > 0) {
            result = Py_NewRef(a[4]);
            goto exit;
        }
    }
    /* Taken only now: the direct path above needs none. */
    if (pin_scratch(&items, outv.buf != NULL ? 0 : (size_t)size) < 0) {
        goto exit;
    }
    /* The pipeline (above) for out= with threads and enough items; the
     * items are then pinned as the pool hashes them, so the thread count
     * is decided by their number (n * ITEM_COST >= MANY_PARALLEL_MIN). */
    int pipe = 0;
    if (outv.buf != NULL && n >= PIPE_MIN) {
        int t = fc_resolve_threads(threads, n * ITEM_COST,
                                   MANY_PARALLEL_MIN);
        if (t >= 2) {
            pipe = 1;
            threads = t;
        }
    }
    if (!pipe) {
        if (pin_range(&items, n) < 0) {
            goto exit;
        }
        pin_finish(&items);
    }
    if (outv.buf != NULL && outv.len != n * (Py_ssize_t)size) {
        PyErr_Format(PyExc_ValueError,
                     "hash_many: out has %zd bytes; %zd %s digests take "
                     "%zd (%d bytes each)", outv.len, n,
                     fc_hash_algs[alg].name, n * (Py_ssize_t)size, size);
        goto exit;
    }
    Py_ssize_t work = items.total + n * ITEM_COST;
    if (!pipe) {
        threads = fc_resolve_threads(threads, work, MANY_PARALLEL_MIN);
        if (threads > n) {
            threads = n > 0 ? (int)n : 1;
        }
    }

    job.alg = alg;
    job.md = st->hash->md[alg];
    job.xk = FC_KERNEL(st, xxh);
    job.bk = fc_hash_algs[alg].b3 ? FC_KERNEL(st, blake3) : NULL;
    job.seed = seed;
    job.oneshot = st->hash->oneshot[alg];
    job.pair = fc_hash_sha_pair(st->hash, alg, &job.iv);
    job.items = &items;
    job.hs = st->hash;
    job.size = size;

    if (pipe) {
        int64_t nchunks = (n + PIPE_CHUNK - 1) / PIPE_CHUNK;
        many_pipe pp = {&job, &items, PyMem_Calloc((size_t)nchunks,
                                                   sizeof(int)), 0, 0};
        if (pp.state == NULL) {
            PyErr_NoMemory();
            goto exit;
        }
        if (threads > nchunks) {
            threads = (int)nchunks;
        }
        job.digests = outv.buf;
        job.native64 = native64;
        /* Safe without the GIL: a chunk reads only items the lead has
         * pinned (published with release order), out= is pinned, and
         * each chunk writes only its own items' digests.  The lead keeps
         * the GIL from here on, so the caller's list is read as it is
         * now. */
        int rc = fc_run_led_held(pipe_task, &pp, nchunks, threads,
                                 pipe_lead, &pp);
        PyMem_Free(pp.state);
        if (rc < 0) {
            goto exit;
        }
        if (job.failed) {
            fc_hash_error("hash_many");
            goto exit;
        }
        result = Py_NewRef(a[4]);
        goto exit;
    }

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
    if (outv.buf != NULL) {
        /* out=: the digests go straight into the caller's buffer. */
        job.digests = outv.buf;
        job.native64 = native64;
    }
    else if (threads <= 1) {     /* also when n == 0 (threads <= n) */
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
            acc += len + ITEM_COST;
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
         * bytes are ours (not visible to Python yet), out= is pinned, and
         * each chunk writes only its own items' digests. */
        rc = fc_run_led(many_task, &job, nchunks, threads, release,
                        job.digests != NULL && outv.buf == NULL ? many_lead
                                                                 : NULL,
                        &res);
    }
    list = res.list;
    if (rc < 0) {
        goto exit;
    }
    if (job.failed) {
        fc_hash_error("hash_many");
        goto exit;
    }
    if (outv.buf != NULL) {
        result = Py_NewRef(a[4]);
        goto exit;
    }
    if (job.digests != NULL) {
        copy_digests(PySequence_Fast_ITEMS(list), job.digests, n, job.size);
    }
    result = Py_NewRef(list);
exit:
    PyBuffer_Release(&outv);
    Py_XDECREF(list);
    PyMem_Free(starts);
    pinned_release(&items);
    return result;
}

/* --- the functions in the module ----------------------------------------- */

static PyMethodDef oneshot_methods[] = {
    {"digest", FC_CFUNC(fc_digest), METH_FASTCALL | METH_KEYWORDS,
     fc_digest__doc__},
    XXH_ONESHOT_DEFS(xxh32),
    XXH_ONESHOT_DEFS(xxh64),
    XXH_ONESHOT_DEFS(xxh3_64),
    XXH_ONESHOT_DEFS(xxh3_128),
    {"hash_many", FC_CFUNC(fc_hash_many), METH_FASTCALL | METH_KEYWORDS,
     fc_hash_many__doc__},
    {NULL, NULL, 0, NULL},
};

static int
oneshot_init(PyObject *m, fc_state *st)
{
    static const char *const forms[] = {"digest", "intdigest", "hexdigest"};
    (void)st;
    if (PyModule_AddFunctions(m, oneshot_methods) < 0) {
        return -1;
    }
    /* python-xxhash's aliases xxh128_digest, ...: the same objects. */
    for (int i = 0; i < 3; i++) {
        char name[32];
        PyOS_snprintf(name, sizeof(name), "xxh3_128_%s", forms[i]);
        PyObject *f = PyObject_GetAttrString(m, name);
        if (f == NULL) {
            return -1;
        }
        PyOS_snprintf(name, sizeof(name), "xxh128_%s", forms[i]);
        int rc = PyModule_AddObjectRef(m, name, f);
        Py_DECREF(f);
        if (rc < 0) {
            return -1;
        }
    }
    return fc_hash_jobs_register(m, st);     /* hash/job.c */
}

static void
oneshot_clear(fc_state *st)
{
    if (st->hash) {
        PyMem_RawFree(st->hash->scratch);
        st->hash->scratch = NULL;
    }
}

static int
oneshot_info(fc_state *st, PyObject *d)
{
    PyObject *backends = PyDict_GetItemString(d, "backends");
    PyObject *parallel = PyDict_GetItemString(d, "parallel");
    if (st->hash == NULL || backends == NULL || parallel == NULL) {
        return 0;
    }
    if (PyDict_SetItemString(parallel, "hash_many", Py_True) < 0) {
        return -1;
    }
    /* hash_many's SHA-256/224 items, when not OpenSSL's. */
    for (int i = 0; i < FC_HASH_NALGS; i++) {
        const uint32_t *iv;
        if (fc_hash_sha_pair(st->hash, i, &iv) != NULL) {
            return fc_dict_set_str(backends, "hash_many sha256/sha224",
                                   "fastconc SHA-NI, two at a time");
        }
    }
    return 0;
}

const fc_area fc_area_hash_oneshot = {
    "hash one-shot", oneshot_init, NULL, oneshot_clear, oneshot_info,
};
