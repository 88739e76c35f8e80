/* codec/job.c - the shared helpers below the codec back ends (job.h): the
 * context cache, the block bookkeeping of compression jobs, the pieces of
 * decompression jobs, and the huge-page hint for large outputs.
 *
 * Knows no codec and no library; no Python API except PyMem_Raw* and the
 * cache's creation (exec) and end (module clear).
 */
#include "codec/job.h"

#include <string.h>
#include <sys/mman.h>

#define CTX_SLOTS 8

/* Outputs from this size on ask for transparent huge pages. */
#define HUGE_MIN ((Py_ssize_t)8 << 20)
#define HUGE_PAGE ((uintptr_t)2 << 20)

/* --- the context cache --------------------------------------------------- */

struct fc_codec_state {
    pthread_mutex_t mu;             /* guards n[] and ctx[]; trylock only */
    int n[FC_CTX_KINDS];
    void *ctx[FC_CTX_KINDS][CTX_SLOTS];
    pthread_t user[FC_CTX_KINDS][CTX_SLOTS];    /* thread that put it back */
    void (*free_fn[FC_CTX_KINDS])(void *);
};

fc_codec_cache *
fc_codec_cache_new(void)
{
    fc_codec_cache *c = PyMem_RawCalloc(1, sizeof(fc_codec_cache));
    if (c == NULL || pthread_mutex_init(&c->mu, NULL) != 0) {
        PyMem_RawFree(c);
        PyErr_NoMemory();
        return NULL;
    }
    return c;
}

void
fc_codec_cache_free(fc_codec_cache *c)
{
    if (c == NULL) {
        return;
    }
    for (int k = 0; k < FC_CTX_KINDS; k++) {
        for (int i = 0; i < c->n[k]; i++) {
            c->free_fn[k](c->ctx[k][i]);
        }
    }
    pthread_mutex_destroy(&c->mu);
    PyMem_RawFree(c);
}

void *
fc_ctx_get(fc_codec_cache *c, int kind)
{
    void *p = NULL;
    if (c == NULL || pthread_mutex_trylock(&c->mu) != 0) {
        return NULL;
    }
    int n = c->n[kind];
    if (n > 0) {
        /* Prefer the context this thread used last: its tables (a few
         * hundred KiB for libdeflate and zstd) are still in this core's
         * cache.  Two threads taking the latest one in turn would swap
         * contexts, and every call would pull its tables from the other
         * core. */
        pthread_t me = pthread_self();
        int k = n - 1;
        for (int j = n - 1; j >= 0; j--) {
            if (pthread_equal(c->user[kind][j], me)) {
                k = j;
                break;
            }
        }
        p = c->ctx[kind][k];
        c->ctx[kind][k] = c->ctx[kind][n - 1];
        c->user[kind][k] = c->user[kind][n - 1];
        c->n[kind] = n - 1;
    }
    pthread_mutex_unlock(&c->mu);
    return p;
}

void
fc_ctx_put(fc_codec_cache *c, int kind, void *ctx, void (*free_fn)(void *))
{
    if (ctx == NULL) {
        return;
    }
    if (c != NULL && pthread_mutex_trylock(&c->mu) == 0) {
        if (c->n[kind] < CTX_SLOTS) {
            c->user[kind][c->n[kind]] = pthread_self();
            c->ctx[kind][c->n[kind]++] = ctx;
            c->free_fn[kind] = free_fn;
            ctx = NULL;
        }
        pthread_mutex_unlock(&c->mu);
    }
    if (ctx != NULL) {
        free_fn(ctx);
    }
}

/* --- compression jobs ---------------------------------------------------- */

void
fc_cjob_init(fc_cjob *job, fc_state *st, int codec, const char *name,
             int level, const unsigned char *src, Py_ssize_t len)
{
    memset(job, 0, sizeof(*job));
    job->codec = codec;
    job->name = name;
    job->level = level;
    job->src = src;
    job->len = len;
    job->cache = st->codec;
    job->adler32 = FC_KERNEL(st, cksum.adler32);
    job->crc32 = FC_KERNEL(st, cksum.crc32);
}

void
fc_cjob_cut(fc_cjob *job, Py_ssize_t block, int tail_split)
{
    Py_ssize_t len = job->len;
    if (len <= block) {
        job->block = job->tail = len > 0 ? len : 1;
        job->nblocks = job->nfull = 1;
        return;
    }
    int64_t n = (len + block - 1) / block;
    job->block = job->tail = block;
    job->nblocks = job->nfull = n;
    if (n > 2 && tail_split > 0) {
        job->nfull = n - 2;
        job->tail = block / tail_split;
        Py_ssize_t rest = len - (Py_ssize_t)job->nfull * block;
        job->nblocks = job->nfull + (rest + job->tail - 1) / job->tail;
    }
}

void
fc_cjob_fail(fc_cjob *job, int kind, long long code, const char *msg)
{
    if (__atomic_exchange_n(&job->failed, 1, __ATOMIC_ACQ_REL) == 0) {
        fc_codec_err_set(&job->err, kind, job->name, code, msg, -1);
    }
}

void
fc_cjob_done(fc_cjob *job, int64_t i, Py_ssize_t n)
{
    if (job->packed) {
        job->out_len[i] = n;
        job->packed_pos += n;
        return;
    }
    if (job->mu == NULL) {
        job->out_len[i] = n;
        return;
    }
    /* Record the block; unless another thread is already moving blocks
     * (it will see this one), move every block whose predecessors are all
     * in place.  Moves run one at a time and in order, outside the lock:
     * block k goes to packed_pos <= k * slot and ends before slot k + 1
     * (each block fits its slot), so it never touches a slot that
     * another thread may be writing. */
    pthread_mutex_lock(job->mu);
    job->out_len[i] = n;
    if (job->moving) {
        pthread_mutex_unlock(job->mu);
        return;
    }
    job->moving = 1;
    while (job->placed < job->nblocks && job->out_len[job->placed] >= 0) {
        int64_t k = job->placed;
        Py_ssize_t pos = job->packed_pos, len = job->out_len[k];
        pthread_mutex_unlock(job->mu);
        if (pos != k * job->slot) {
            memmove(job->dst + pos, job->dst + k * job->slot, (size_t)len);
        }
        pthread_mutex_lock(job->mu);
        job->packed_pos = pos + len;
        job->placed = k + 1;
    }
    job->moving = 0;
    pthread_mutex_unlock(job->mu);
}

/* --- decompression of known pieces --------------------------------------- */

void
fc_djob_fail(fc_djob *job, int kind, long long code, const char *msg,
             int64_t offset)
{
    if (__atomic_exchange_n(&job->failed, 1, __ATOMIC_ACQ_REL) == 0) {
        fc_codec_err_set(&job->err, kind, job->name, code, msg, offset);
    }
}

int
fc_djob_alloc(fc_djob *job, int64_t n)
{
    size_t sz = (size_t)(n > 0 ? n : 1) * sizeof(Py_ssize_t);
    job->in_off = PyMem_RawMalloc(sz);
    job->in_len = PyMem_RawMalloc(sz);
    job->out_off = PyMem_RawMalloc(sz);
    job->out_len = PyMem_RawMalloc(sz);
    if (!job->in_off || !job->in_len || !job->out_off || !job->out_len) {
        fc_djob_free(job);
        return -1;
    }
    job->n = n;
    return 0;
}

void
fc_djob_free(fc_djob *job)
{
    PyMem_RawFree(job->in_off);
    PyMem_RawFree(job->in_len);
    PyMem_RawFree(job->out_off);
    PyMem_RawFree(job->out_len);
    job->in_off = job->in_len = job->out_off = job->out_len = NULL;
    job->n = 0;
}

Py_ssize_t
fc_djob_place(fc_djob *job, Py_ssize_t piece_max)
{
    Py_ssize_t total = 0;
    for (int64_t i = 0; i < job->n; i++) {
        if (job->out_len[i] > piece_max ||
            job->out_len[i] > PY_SSIZE_T_MAX - total) {
            return -1;
        }
        job->out_off[i] = total;
        total += job->out_len[i];
    }
    return total;
}

/* --- decoders and streams ------------------------------------------------ */

void
fc_dec_free(fc_dec *d)
{
    if (d->free) {
        d->free(d);
    }
    d->free = NULL;
}

void
fc_stream_free(fc_stream *s)
{
    if (s->free && s->impl) {
        s->free(s->impl);
    }
    s->impl = NULL;
}

/* --- output buffers ------------------------------------------------------ */

/* With 4 KiB pages a 64 MiB output costs 16k page faults while it is
 * written and as many page frees when the caller drops it (a third of a
 * zstd decompression's time, and the free is serial); with huge pages
 * both are ~500x fewer.  Only the 2 MiB-aligned interior is advised; where
 * THP is off or the range is not anonymous memory, madvise fails and
 * nothing changes. */
void
fc_advise_huge(void *p, Py_ssize_t n)
{
#ifdef MADV_HUGEPAGE
    if (n < HUGE_MIN) {
        return;
    }
    uintptr_t a = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uintptr_t e = ((uintptr_t)p + (uintptr_t)n) & ~(HUGE_PAGE - 1);
    if (e > a) {
        (void)madvise((void *)a, (size_t)(e - a), MADV_HUGEPAGE);
    }
#else
    (void)p;
    (void)n;
#endif
}
