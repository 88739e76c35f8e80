/* hash/job.c - the job form of digest() (fastconc.submit, fastconc.aio; the
 * protocol is in async/job.h): prepare parses the arguments with the same
 * helpers and in the same order as digest() (so the same exceptions come
 * out) and pins the data; run hashes on a pool worker with no GIL and no
 * Python API, through the hasher layer (hash/hash.h), in pieces with a
 * cancel check between them; finish builds the bytes.
 *
 * Must not call the front ends (oneshot.c) nor choose kernels; every
 * algorithm digest() takes goes through here (libcrypto, xxHash, BLAKE3).
 * BLAKE3 inputs that digest() splits into subtree tasks on several threads
 * (from FC_BLAKE3_PARALLEL_MIN) are left to the generic form, which runs
 * digest() itself; smaller ones run here, on one worker.
 */
#include "hash/hash.h"
#include "async/job.h"
#include "blake3/pool.h"

#include <string.h>

typedef struct {
    int alg;
    uint64_t seed;
    PyObject *bytes;        /* the data when an exact bytes (held), or */
    Py_buffer view;         /* its pinned view (view.obj NULL when unused) */
    const unsigned char *buf;
    Py_ssize_t len;
    fc_hash_oneshot_fn oneshot;
    const fc_xxh_kernels *xk;
    const fc_blake3_kernels *bk;
    const struct fc_hash_state *hs;
    int size;
    int failed;             /* run: 1 on an allocation/OpenSSL failure,
                             * 2 when opening the hasher failed */
    unsigned char out[FC_MAX_DIGEST];
} digest_job;

static int
digest_prepare(void *data, fc_state *st, PyObject *func,
               PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
               fc_job_plan *plan)
{
    /* digest()'s parameters, parsed as digest_general does. */
    static const char *const names[] = {"name", "data", "seed",
                                        "release_gil", NULL};
    digest_job *d = data;
    PyObject *a[4];
    int release;
    (void)func;
    if (fc_parse_args_fast("digest", args, nargs, kwnames, names, 4, 2, 2,
                           a) < 0 ||
        (d->alg = fc_hash_lookup(st->hash, a[0])) < 0 ||
        fc_hash_parse_seed(d->alg, a[2], &d->seed) < 0 ||
        fc_parse_release(a[3], &release) < 0) {
        return -1;
    }
    /* release_gil= is checked and has no effect: the GIL is never held. */
    const void *buf;
    if (fc_get_data(a[1], &d->view, &buf, &d->len) < 0) {
        return -1;
    }
    if (fc_hash_algs[d->alg].b3 && fc_blake3_threads(0, d->len) > 1) {
        return 1;               /* the view is released by clear */
    }
    if (d->view.obj == NULL) {
        d->bytes = Py_NewRef(a[1]);     /* immutable: held, not copied */
    }
    d->buf = buf;
    d->hs = st->hash;
    d->oneshot = st->hash->oneshot[d->alg];
    d->xk = FC_ATOMIC_LOAD(&st->hash->kernels->xxh);
    d->bk = FC_ATOMIC_LOAD(&st->hash->kernels->blake3);
    d->size = fc_hash_digest_size(st->hash, d->alg);
    plan->nchunks = 1;
    plan->threads = 1;
    return 0;
}

/* A pool worker, no GIL.  Small inputs in one call; large ones through a
 * hasher in pieces of fc_hasher_seq_chunk, giving up between two when the
 * job is cancelled (finish is then not called). */
static void
digest_run(void *data, int64_t i)
{
    digest_job *d = data;
    const fc_hash_alg *alg = &fc_hash_algs[d->alg];
    fc_hasher h;
    (void)i;
    fc_hasher_setup(&h, d->hs, d->alg, d->seed);
    Py_ssize_t piece = fc_hasher_seq_chunk(&h);
    if (d->len <= piece) {
        if (alg->b3) {
            fc_blake3_hash(d->bk, d->buf, (size_t)d->len, d->out);
            return;
        }
        if (h.md == NULL) {
            d->xk->oneshot(alg->xxh, d->buf, (size_t)d->len, d->seed,
                           d->out);
            return;
        }
        if (d->oneshot != NULL) {
            d->oneshot(d->buf, (size_t)d->len, d->out);
            return;
        }
    }
    if (fc_hasher_open(&h) < 0) {
        d->failed = 2;
        goto exit;
    }
    for (Py_ssize_t off = 0; off < d->len || off == 0; off += piece) {
        Py_ssize_t n = d->len - off < piece ? d->len - off : piece;
        if (fc_hasher_update(&h, d->buf + off, (size_t)n) < 0) {
            d->failed = 1;
            goto exit;
        }
        if (off + n < d->len && fc_pool_should_stop()) {
            goto exit;          /* cancelled: nobody reads the result */
        }
        if (n == 0) {
            break;
        }
    }
    if (fc_hasher_final(&h, d->out) < 0) {
        d->failed = 1;
    }
exit:
    fc_hasher_close(&h);
}

static PyObject *
digest_finish(void *data, fc_state *st)
{
    digest_job *d = data;
    (void)st;
    if (d->failed) {
        /* digest_into's messages */
        return fc_hash_error(d->failed == 2 ? "hash initialisation"
                                            : "digest");
    }
    return PyBytes_FromStringAndSize((const char *)d->out, d->size);
}

static void
digest_clear(void *data)
{
    digest_job *d = data;
    Py_CLEAR(d->bytes);
    fc_data_release(&d->view);
    d->view.obj = NULL;
}

static const fc_job_form hash_jobs[] = {
    {"digest", sizeof(digest_job), digest_prepare, digest_run,
     digest_finish, digest_clear},
    {NULL, 0, NULL, NULL, NULL, NULL},
};

int
fc_hash_jobs_register(PyObject *module, fc_state *st)
{
    return fc_job_register(module, st, hash_jobs);
}
