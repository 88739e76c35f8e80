/* hash/hash.h - what the files of src/hash share: the algorithm table, the
 * area state and the hasher layer, defined in hash/algorithms.c (but the
 * few hasher functions every call runs, inline below).
 *
 * The front ends sit on top and call only down into this layer (and into
 * blake3/pool.c for BLAKE3 on several threads), never into each other:
 *   hash/object.c   the Hash and XXHash objects, new() and the constructors
 *   hash/oneshot.c  digest() and hash_many()
 *   hash/files.c    hash_file() and hash_files()
 * The hasher layer calls down into the kernels only: libcrypto, and the
 * xxHash and BLAKE3 tables simd/dispatch.c chose (st->kernels).  A hasher
 * holds C types only; the fc_hasher_* functions but fc_hasher_update_chunked
 * call no Python API, so they may run without the GIL and on pool threads.
 */
#ifndef FC_HASH_H
#define FC_HASH_H

#include "core/fastconc.h"
#include "blake3/impl.h"

#include <openssl/evp.h>

/* The largest digest (SHA-512, BLAKE2b). */
#define FC_MAX_DIGEST 64
/* Inputs of more than this are fed in chunks of it, with Ctrl-C checked in
 * between (16 MiB is about 10 ms of SHA-256). */
#define FC_HASH_SEQ_CHUNK ((Py_ssize_t)16 << 20)
/* xxHash runs at memory speed (10+ GB/s): 256 MiB is still ~25 ms, and one
 * one-shot call is faster than the streaming API. */
#define FC_XXH_SEQ_CHUNK ((Py_ssize_t)256 << 20)

/* --- the algorithm table ------------------------------------------------- */

/* Indices into fc_hash_algs. */
enum {
    FC_ALG_MD5, FC_ALG_SHA1, FC_ALG_SHA224, FC_ALG_SHA256, FC_ALG_SHA384,
    FC_ALG_SHA512, FC_ALG_SHA3_256, FC_ALG_SHA3_512, FC_ALG_BLAKE2B,
    FC_ALG_BLAKE2S, FC_ALG_XXH32, FC_ALG_XXH64, FC_ALG_XXH3_64,
    FC_ALG_XXH3_128, FC_ALG_BLAKE3,
    FC_HASH_NALGS
};

typedef struct fc_hash_alg {
    const char *name;
    const char *pyname; /* the objects' .name: hashlib's, or python-xxhash's
                         * spelling ("XXH3_64") for xxHash */
    const char *ossl;   /* OpenSSL name; NULL for xxHash and BLAKE3 */
    int xxh;            /* FC_XXH* or -1 */
    int digest_size;    /* xxHash/BLAKE3; EVP sizes come from the EVP_MD */
    int block_size;     /* likewise */
    int b3;             /* 1 for BLAKE3 (blake3/impl.c) */
    int pace;           /* bytes per µs on one core, for the GIL policy
                         * (fc_should_release_at) */
    const Py_ssize_t *paces;    /* or NULL: the pace at each SIMD level,
                                 * for kernels whose speed follows it */
} fc_hash_alg;

extern const fc_hash_alg fc_hash_algs[FC_HASH_NALGS];

/* The GIL policy's pace of alg at the SIMD level in use. */
static inline Py_ssize_t
fc_hash_pace(const fc_state *st, int alg)
{
    const fc_hash_alg *a = &fc_hash_algs[alg];
    return a->paces != NULL ? fc_pace_at_level(st, a->paces) : a->pace;
}

/* fc_release_by_pace for alg, the pace looked up only for calls over
 * GIL_THRESHOLD (the hottest small calls pay one compare). */
static inline int
fc_hash_release(const fc_state *st, Py_ssize_t len, int alg)
{
    return fc_release_by_size(st, len) &&
           fc_release_by_pace(st, len, fc_hash_pace(st, alg));
}

/* A libcrypto one-call digest (no EVP context). */
typedef void (*fc_hash_oneshot_fn)(const unsigned char *data, size_t len,
                                   unsigned char *out);

struct fc_scratch;

/* Names that fc_hash_lookup finds by identity: the algorithms' and the
 * aliases' (python-xxhash's "xxh128"). */
#define FC_HASH_NALIASES 1
#define FC_HASH_NKEYS (FC_HASH_NALGS + FC_HASH_NALIASES)
/* Slots of the identity table: a power of two, over twice FC_HASH_NKEYS. */
#define FC_HASH_KEY_SLOTS 64

/* The area state (fc_state.hash), made by algorithms.c's init, which runs
 * before the front ends' and is cleared after them. */
struct fc_hash_state {
    /* hash/algorithms.c */
    PyObject *available;        /* frozenset of names */
    PyObject *names[FC_HASH_NALGS];     /* interned names */
    /* fc_hash_lookup tries identity first (a literal in the caller's code
     * is the same interned object): keys[k] (interned, usable algorithms
     * and aliases only) names algorithm key_alg[k], and key_slot[] maps a
     * name's address to k + 1 (0: empty), probing linearly. */
    PyObject *keys[FC_HASH_NKEYS];
    int8_t key_alg[FC_HASH_NKEYS];
    uint8_t key_slot[FC_HASH_KEY_SLOTS];
    EVP_MD *md[FC_HASH_NALGS];  /* NULL for xxHash/BLAKE3 or not available */
    /* the libcrypto one-call function when md[i] is the default
     * provider's (a FIPS provider is never bypassed), else NULL */
    fc_hash_oneshot_fn oneshot[FC_HASH_NALGS];
    const fc_kernels *kernels;  /* &st->kernels: the SIMD level's tables */
    /* hash/object.c */
    PyTypeObject *HashType;     /* EVP digests */
    PyTypeObject *XXHashType;   /* xxHash, with seed and intdigest() */
    /* hash/oneshot.c: hash_many's kept scratch block, or NULL */
    struct fc_scratch *scratch;
};

/* The identity table's first slot for a name at address p. */
static inline unsigned
fc_hash_key_slot(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    return (unsigned)((a >> 4) ^ (a >> 10)) & (FC_HASH_KEY_SLOTS - 1);
}

int fc_hash_lookup_slow(struct fc_hash_state *hs, PyObject *name);

/* Index of the algorithm called `name` (a str, case-insensitive; also
 * python-xxhash's alias "xxh128"), or -1 with ValueError (listing the
 * available names; also for a name with an embedded NUL, as hashlib) or
 * TypeError set.  Inline: a name literal is found by its address in a
 * few instructions (a loop of string compares came to 10% of a 64-byte
 * xxHash digest()). */
static inline int
fc_hash_lookup(struct fc_hash_state *hs, PyObject *name)
{
    unsigned s = fc_hash_key_slot(name), k;
    while ((k = hs->key_slot[s]) != 0) {
        if (hs->keys[k - 1] == name) {
            return hs->key_alg[k - 1];
        }
        s = (s + 1) & (FC_HASH_KEY_SLOTS - 1);
    }
    return fc_hash_lookup_slow(hs, name);
}
/* seed=: NULL or None -> 0; an int, taken modulo 2**64 (2**32 for xxh32) as
 * python-xxhash does; TypeError for an algorithm without a seed. */
int fc_hash_parse_seed(int alg, PyObject *obj, uint64_t *out);
/* The arguments of python-xxhash's constructors and one-shots: (data,
 * seed=0), both by position or keyword, and `input=`, python-xxhash 3's
 * name for data (4.0 renamed it; both are accepted here, so code written
 * for either works).  *data is NULL when not given (a constructor's data
 * is optional), *seed likewise.  -1 with TypeError set. */
int fc_hash_xxh_args(const char *fname, PyObject *const *args,
                     Py_ssize_t nargs, PyObject *kwnames, int data_required,
                     PyObject **data, PyObject **seed);
/* The digest size of algorithm alg. */
int fc_hash_digest_size(const struct fc_hash_state *hs, int alg);
/* SHA-256/224 two items at a time (fc_kernels.sha256_pair) when the SIMD
 * level allows it and alg is one of them with the default provider; *iv
 * gets its initial words.  NULL otherwise. */
fc_sha256_pair_fn fc_hash_sha_pair(const struct fc_hash_state *hs, int alg,
                                   const uint32_t **iv);
/* MemoryError naming `what` (OpenSSL failures are allocation failures in
 * practice); returns NULL. */
PyObject *fc_hash_error(const char *what);

/* hash/job.c: register digest()'s job form (fastconc.submit, .aio); from
 * oneshot.c's init, once digest() is in the module. */
int fc_hash_jobs_register(PyObject *module, fc_state *st);

/* --- results: a digest as bytes, int or hex str -------------------------- */

/* v as n (4 or 8) big-endian bytes. */
static inline void
fc_put_be(unsigned char *out, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (unsigned char)v;
        v >>= 8;
    }
}

/* Big-endian digest bytes (any size) as an int, as python-xxhash's
 * intdigest(). */
PyObject *fc_hash_int_of(const unsigned char *d, int n);
/* n digest bytes as a str of 2n lowercase hex digits. */
PyObject *fc_hash_hex_of(const unsigned char *d, Py_ssize_t n);

/* --- the hasher: one digest in progress, C types only ------------------- */

typedef struct fc_hasher {
    int alg;                    /* index into fc_hash_algs */
    const EVP_MD *md;           /* EVP digests, else NULL */
    const fc_xxh_kernels *xk;
    const fc_blake3_kernels *bk;
    uint64_t seed;
    EVP_MD_CTX *ctx;
    void *xs;                   /* xxHash state */
    fc_blake3_hasher *b3;       /* BLAKE3 state (no pointers inside) */
} fc_hasher;

/* Describe algorithm alg with the kernels of the current SIMD level;
 * nothing is allocated (fc_hasher_open does that). */
static inline void
fc_hasher_setup(fc_hasher *h, const struct fc_hash_state *hs, int alg,
                uint64_t seed)
{
    memset(h, 0, sizeof(*h));
    h->alg = alg;
    h->md = hs->md[alg];
    h->xk = FC_ATOMIC_LOAD(&hs->kernels->xxh);
    h->bk = FC_ATOMIC_LOAD(&hs->kernels->blake3);
    h->seed = seed;
}

/* The chunk fc_hasher_update_chunked uses for h. */
static inline Py_ssize_t
fc_hasher_seq_chunk(const fc_hasher *h)
{
    return h->md == NULL ? FC_XXH_SEQ_CHUNK : FC_HASH_SEQ_CHUNK;
}

/* fc_hasher_size, fc_hasher_close and fc_hasher_update are inline: they run
 * on every digest() or update() call, where a function call each came to
 * about 2% of a 64-byte xxHash (counted with callgrind). */

/* The digest size. */
static inline int
fc_hasher_size(const fc_hasher *h)
{
    return h->md ? EVP_MD_get_size(h->md) : fc_hash_algs[h->alg].digest_size;
}

/* Free what fc_hasher_open allocated; h may be zeroed, or set up but not
 * opened. */
static inline void
fc_hasher_close(fc_hasher *h)
{
    if (h->ctx) {
        EVP_MD_CTX_free(h->ctx);
        h->ctx = NULL;
    }
    if (h->xs) {
        fc_xxh_state_free(fc_hash_algs[h->alg].xxh, h->xs);
        h->xs = NULL;
    }
    if (h->b3) {
        PyMem_RawFree(h->b3);
        h->b3 = NULL;
    }
}

/* Feed len bytes to an open h.  -1 on an OpenSSL error. */
static inline int
fc_hasher_update(fc_hasher *h, const void *data, size_t len)
{
    if (h->md) {
        return EVP_DigestUpdate(h->ctx, data, len) ? 0 : -1;
    }
    if (h->b3) {
        fc_blake3_update(h->b3, data, len);
        return 0;
    }
    h->xk->update(fc_hash_algs[h->alg].xxh, h->xs, data, len);
    return 0;
}

/* Allocate and start.  -1 on allocation failure (or an OpenSSL failure). */
int fc_hasher_open(fc_hasher *h);
/* Back to the start (same algorithm and seed).  -1 on an OpenSSL error. */
int fc_hasher_reset(fc_hasher *h);
/* Finish into out (fc_hasher_size bytes); reset h before reusing it. */
int fc_hasher_final(fc_hasher *h, unsigned char *out);
/* The digest so far into out, leaving h as it is. */
int fc_hasher_peek(const fc_hasher *h, unsigned char *out);
/* dst gets its own copy of src's state; dst must be zeroed or closed (on
 * failure it holds what was allocated: close it). */
int fc_hasher_copy(fc_hasher *dst, const fc_hasher *src);

/* Feed len bytes to an open h in chunks of fc_hasher_seq_chunk(h) through
 * fc_run, on the calling thread, detached when `release`, so that Ctrl-C is
 * seen between chunks.  Called attached.  Returns 0; -1 with the exception
 * set when Ctrl-C stopped it (h then holds part of the input); -2 on a
 * hash (OpenSSL) error, no exception set. */
int fc_hasher_update_chunked(fc_hasher *h, const void *data, Py_ssize_t len,
                             int release);

#endif
