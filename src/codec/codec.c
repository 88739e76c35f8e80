/* codec.c - the one-shot and batch compression API of fastconc._core:
 * compress(), decompress(), compress_many(), decompress_many(), and the
 * codec lines of info().
 *
 * This file plans the work (block layout, threads, output buffers) and
 * runs it through fc_run(); the library calls live in codec/zlib.c,
 * codec/zstd.c and codec/lz4.c, which never touch the Python C API.
 * Output buffers are bytes objects allocated and grown here with the GIL
 * held; the back ends only write into them.
 */
#include "codec/codec.h"

#include <string.h>
#include <sys/mman.h>
#include <zlib.h>
#include <zstd.h>

/* threads=None goes parallel from this input size on. */
#define CODEC_PARALLEL_MIN ((Py_ssize_t)2 << 20)
/* zlib/deflate: pigz-style pieces of this size when split. */
#define ZLIB_PIECE ((Py_ssize_t)1 << 20)
/* zlib/deflate with one thread: one libdeflate/isa-l call up to this size,
 * pigz-style pieces (so that Ctrl-C is checked) above it. */
#define ZLIB_ONE_CALL_MAX ((Py_ssize_t)16 << 20)
/* A piece of a known layout decoded in one call must not be larger (so
 * that Ctrl-C is checked between pieces). */
#define PIECE_OUT_MAX ((Py_ssize_t)32 << 20)
/* gzip and zstd: the end of the input is cut in blocks this many times
 * smaller (see plan_blocks()).  zstd frames stay >= 4 MiB: 2 MiB frames
 * (the level-3 window) cost up to 5% on data with long repeats. */
#define TAIL_SPLIT_GZIP 4
#define TAIL_SPLIT_ZSTD 2
/* First output capacity of a streaming decode, and its minimum growth. */
#define DEC_MIN_CAP ((Py_ssize_t)64 << 10)

/* Outputs from this size on ask for transparent huge pages. */
#define HUGE_MIN ((Py_ssize_t)8 << 20)
#define HUGE_PAGE ((uintptr_t)2 << 20)

#include <pthread.h>

#define CTX_SLOTS 8

/* Ask the kernel to back the 2 MiB-aligned interior of a large output
 * buffer that is about to be written whole with transparent huge pages.
 * With 4 KiB pages a 64 MiB output costs 16k page faults while it is
 * written and as many page frees when the caller drops it (a third of a
 * zstd decompression's time, and the free is serial); with huge pages
 * both are ~500x fewer.  Advice only: where THP is off or the range is
 * not anonymous memory, madvise fails and nothing changes. */
static void
advise_huge(void *p, Py_ssize_t n)
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

/* The area's state: the context cache (see codec.h). */
struct fc_codec_state {
    pthread_mutex_t mu;             /* guards n[] and ctx[]; trylock only */
    int n[FC_CTX_KINDS];
    void *ctx[FC_CTX_KINDS][CTX_SLOTS];
    pthread_t user[FC_CTX_KINDS][CTX_SLOTS];    /* thread that put it back */
    void (*free_fn[FC_CTX_KINDS])(void *);
};

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

/* --- errors recorded by pool tasks ------------------------------------ */

void
fc_cjob_fail(fc_cjob *job, int kind, long long code, const char *msg)
{
    if (__atomic_exchange_n(&job->failed, 1, __ATOMIC_ACQ_REL) == 0) {
        fc_codec_err_set(&job->err, kind, job->codec, code, msg, -1);
    }
}

void
fc_djob_fail(fc_djob *job, int kind, long long code, const char *msg,
             int64_t offset)
{
    if (__atomic_exchange_n(&job->failed, 1, __ATOMIC_ACQ_REL) == 0) {
        fc_codec_err_set(&job->err, kind, job->codec, code, msg, offset);
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

/* Room for n pieces (at least one) in job; -1 on no memory (nothing held). */
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

/* --- compression plan --------------------------------------------------- */

typedef struct {
    Py_ssize_t head;    /* bytes before the blocks (zlib header, lz4 frame
                         * header) */
    Py_ssize_t tail;    /* bytes after them (adler32, lz4 end mark) */
} frame_sizes;

static frame_sizes
frame_of(int codec, int64_t nblocks)
{
    frame_sizes f = {0, 0};
    if (codec == FC_CODEC_ZLIB) {
        f.head = 2;
        f.tail = 4;
    }
    else if (codec == FC_CODEC_LZ4) {
        f.head = FC_LZ4_HEADER;
        f.tail = 4;
    }
    (void)nblocks;
    return f;
}

static Py_ssize_t
block_bound(const fc_cjob *job, Py_ssize_t n)
{
    switch (job->codec) {
    case FC_CODEC_ZSTD:
        return fc_zstd_block_bound(job, n);
    case FC_CODEC_LZ4:
        return fc_lz4_block_bound(job, n);
    default:
        return fc_zlib_block_bound(job, n);
    }
}

static fc_task_fn
block_task(int codec)
{
    switch (codec) {
    case FC_CODEC_ZSTD:
        return fc_zstd_block_task;
    case FC_CODEC_LZ4:
        return fc_lz4_block_task;
    default:
        return fc_zlib_block_task;
    }
}

/* Cut the input into blocks (fills job->block, nblocks, nfull, tail).
 * The layout depends on the input size only, except for zlib/deflate,
 * where one thread compresses moderate inputs in one call of the fastest
 * library and threads > 1 need pigz-style pieces. */
static void
plan_blocks(fc_cjob *job, int threads)
{
    Py_ssize_t len = job->len, block;
    switch (job->codec) {
    case FC_CODEC_GZIP:
        block = FC_GZIP_BLOCK;
        break;
    case FC_CODEC_ZSTD:
        block = fc_zstd_block_size(job->level);
        break;
    case FC_CODEC_LZ4:
        block = FC_LZ4_BLOCK;
        break;
    default:
        block = ZLIB_PIECE;
        if (threads <= 1 && len <= ZLIB_ONE_CALL_MAX) {
            block = len;
        }
        break;
    }
    if (len <= block) {
        job->block = job->tail = len > 0 ? len : 1;
        job->nblocks = (job->codec == FC_CODEC_LZ4 && len == 0) ? 0 : 1;
        job->nfull = job->nblocks;
        return;
    }
    int64_t n = (len + block - 1) / block;
    job->block = job->tail = block;
    job->nblocks = job->nfull = n;
    if (n > 2 && (job->codec == FC_CODEC_GZIP ||
                  (job->codec == FC_CODEC_ZSTD &&
                   job->level < FC_ZSTD_SLICE_LEVEL))) {
        /* The last two blocks' worth in smaller pieces.  Blocks are
         * claimed in order, so the thread that runs out of big blocks
         * first takes small ones while the others finish theirs: the
         * threads end within a fraction of a block of each other instead
         * of up to a whole one (64 MiB of gzip-6 on 2 threads: ~8 ms of
         * 550).  Both directions gain, as members/frames decode in
         * parallel the same way.  The cost is a few more headers and
         * history restarts (< 0.1% on the bench corpus); zstd's slice
         * path for slow levels keeps equal frames. */
        job->nfull = n - 2;
        job->tail = block / (job->codec == FC_CODEC_GZIP ? TAIL_SPLIT_GZIP
                                                         : TAIL_SPLIT_ZSTD);
        Py_ssize_t rest = len - (Py_ssize_t)job->nfull * block;
        job->nblocks = job->nfull + (rest + job->tail - 1) / job->tail;
    }
}

/* Set up a job and its kernels. */
static void
job_init(fc_cjob *job, fc_state *st, int codec, int level,
         const unsigned char *src, Py_ssize_t len)
{
    memset(job, 0, sizeof(*job));
    job->codec = codec;
    job->level = level;
    job->src = src;
    job->len = len;
    job->cache = st->codec;
    job->adler32 = st->kernels.cksum.adler32;
    job->crc32 = st->kernels.cksum.crc32;
}

/* Write the frame around compressed blocks already packed at
 * base + head: returns the total size. */
static Py_ssize_t
finish_frame(const fc_cjob *job, unsigned char *base, Py_ssize_t body)
{
    frame_sizes f = frame_of(job->codec, job->nblocks);
    if (job->codec == FC_CODEC_ZLIB) {
        /* CMF: deflate, 32 KiB window; FLG: level class, check bits. */
        static const unsigned char flg[4] = {0x01, 0x5e, 0x9c, 0xda};
        int cls = job->level <= 1 ? 0 : job->level <= 5 ? 1
                  : job->level == 6 ? 2 : 3;
        uint32_t adler = 1;
        for (int64_t i = 0; i < job->nblocks; i++) {
            adler = fc_adler32_combine(adler, job->check[i],
                                       (uint64_t)fc_cjob_size(job, i));
        }
        base[0] = 0x78;
        base[1] = flg[cls];
        unsigned char *t = base + f.head + body;
        t[0] = (unsigned char)(adler >> 24);
        t[1] = (unsigned char)(adler >> 16);
        t[2] = (unsigned char)(adler >> 8);
        t[3] = (unsigned char)adler;
    }
    else if (job->codec == FC_CODEC_LZ4) {
        fc_lz4_write_header(base, (uint64_t)job->len);
        memset(base + f.head + body, 0, 4);
    }
    return f.head + body + f.tail;
}

/* Compress in one call of the back end into dst (cap bytes from
 * single_bound()); no GIL needed.  Returns the size or -1 (job->err). */
static Py_ssize_t
single_bound(fc_cjob *job)
{
    frame_sizes f = frame_of(job->codec, 1);
    return f.head + f.tail + block_bound(job, job->len);
}

static Py_ssize_t
compress_single(fc_cjob *job, unsigned char *dst, Py_ssize_t cap,
                Py_ssize_t *out_len, uint32_t *check)
{
    frame_sizes f = frame_of(job->codec, 1);
    job->block = job->tail = job->len > 0 ? job->len : 1;
    job->nblocks = (job->codec == FC_CODEC_LZ4 && job->len == 0) ? 0 : 1;
    job->nfull = job->nblocks;
    job->dst = dst + f.head;
    job->slot = cap - f.head - f.tail;
    job->out_len = out_len;
    job->check = check;
    *out_len = 0;
    if (job->nblocks) {
        block_task(job->codec)(job, 0);
    }
    if (job->failed) {
        return -1;
    }
    return finish_frame(job, dst, *out_len);
}

/* The whole one-shot compression; GIL held on entry and exit. */
static PyObject *
compress_buffer(fc_state *st, int codec, int level, const unsigned char *src,
                Py_ssize_t len, int threads, int release)
{
    PyObject *out = NULL;
    fc_cjob job;
    pthread_mutex_t mu;
    job_init(&job, st, codec, level, src, len);
    if (threads == 0 &&
        (codec == FC_CODEC_ZLIB || codec == FC_CODEC_DEFLATE) &&
        level != 1 && len <= ZLIB_ONE_CALL_MAX) {
        /* zlib/deflate on their own: pigz-style pieces need zlib (a
         * preset dictionary), which on two threads is no faster than one
         * libdeflate call; threads= given explicitly is honoured. */
        threads = 1;
    }
    threads = fc_resolve_threads(threads, len, CODEC_PARALLEL_MIN);
    plan_blocks(&job, threads);
    if (job.nblocks < threads) {
        threads = job.nblocks > 1 ? (int)job.nblocks : 1;
    }
    frame_sizes f = frame_of(codec, job.nblocks);
    Py_ssize_t *lens = NULL;
    uint32_t *checks = NULL;
    int64_t nb = job.nblocks > 0 ? job.nblocks : 1;

    lens = PyMem_Calloc((size_t)nb, sizeof(Py_ssize_t));
    checks = PyMem_Calloc((size_t)nb, sizeof(uint32_t));
    if (lens == NULL || checks == NULL) {
        PyErr_NoMemory();
        goto exit;
    }
    job.slot = block_bound(&job, job.block);
    if (job.slot > (PY_SSIZE_T_MAX - f.head - f.tail) / nb) {
        PyErr_NoMemory();
        goto exit;
    }
    out = PyBytes_FromStringAndSize(NULL, f.head + f.tail + job.slot * nb);
    if (out == NULL) {
        goto exit;
    }
    unsigned char *base = (unsigned char *)PyBytes_AS_STRING(out);
    job.dst = base + f.head;
    job.out_len = lens;
    job.check = checks;
    /* One thread runs the blocks in order: each writes right after the
     * previous one.  Several threads move each block into place as soon
     * as it can go (fc_cjob_done()).  Either way nothing is left to move
     * after the run. */
    job.packed = threads <= 1;
    if (!job.packed) {
        if (pthread_mutex_init(&mu, NULL) != 0) {
            PyErr_NoMemory();
            Py_CLEAR(out);
            goto exit;
        }
        job.mu = &mu;
        for (int64_t i = 0; i < job.nblocks; i++) {
            lens[i] = -1;
        }
    }
    if (codec == FC_CODEC_ZSTD && threads <= 1 && len > FC_ZSTD_SLICE &&
        level >= FC_ZSTD_SLICE_LEVEL) {
        /* Frames take seconds at high levels: stream them in slices so
         * that Ctrl-C is checked between slices (streaming is a little
         * slower and larger, so fast levels keep one-shot frames). */
        int64_t nslices = (len + FC_ZSTD_SLICE - 1) / FC_ZSTD_SLICE;
        int rc = fc_run(fc_zstd_slice_task, &job, nslices, 1, release);
        fc_zstd_slice_end(&job);
        if (rc < 0) {
            Py_CLEAR(out);
            goto exit;
        }
        if (job.failed) {
            fc_codec_raise(st, &job.err);
            Py_CLEAR(out);
            goto exit;
        }
        if (_PyBytes_Resize(&out, job.packed_pos) < 0) {
            out = NULL;
        }
        goto exit;
    }
    /* Safe without the GIL: the input view is pinned by the caller, the
     * bytes object is ours alone until we return it, and tasks write
     * only into their own slot and (one at a time, under job.mu's
     * protocol) into the packed prefix below it. */
    if (job.nblocks > 0 &&
        fc_run(block_task(codec), &job, job.nblocks, threads, release) < 0) {
        Py_CLEAR(out);
        goto exit;
    }
    if (job.failed) {
        fc_codec_raise(st, &job.err);
        Py_CLEAR(out);
        goto exit;
    }
    if (job.mu != NULL && job.placed != job.nblocks) {
        PyErr_SetString(PyExc_SystemError, "compress: blocks left unplaced");
        Py_CLEAR(out);
        goto exit;
    }
    Py_ssize_t total = finish_frame(&job, base, job.packed_pos);
    if (_PyBytes_Resize(&out, total) < 0) {
        out = NULL;
    }
exit:
    if (job.mu != NULL) {
        pthread_mutex_destroy(job.mu);
    }
    PyMem_Free(lens);
    PyMem_Free(checks);
    return out;
}

/* --- decompression ------------------------------------------------------ */

static int
dec_init(fc_dec *d, int codec, fc_codec_cache *cache, fc_codec_err *err)
{
    memset(d, 0, sizeof(*d));
    d->cache = cache;
    switch (codec) {
    case FC_CODEC_ZSTD:
        return fc_zstd_dec_init(d, err);
    case FC_CODEC_LZ4:
        return fc_lz4_dec_init(d, err);
    default:
        return fc_zlib_dec_init(d, codec, err);
    }
}

static void
dec_free(fc_dec *d)
{
    if (d->free) {
        d->free(d);
    }
    d->free = NULL;
}

/* A decoder call that made no progress and did not finish: the input must
 * have ended inside a stream. */
static int
stalled(fc_codec_err *err, int codec, size_t in_pos)
{
    fc_codec_err_set(err, FC_CERR_TRUNCATED, codec, 0, NULL,
                     (int64_t)in_pos);
    return FC_DEC_ERR;
}

/* Streaming decode of the whole input into a growing bytes object.  The
 * buffer grows with the GIL held, between decoder steps that run without
 * it; signals are checked between steps; capacity never exceeds
 * limit + 1 (one byte over the bound tells "too large"). */
static PyObject *
decode_all(fc_state *st, int codec, const unsigned char *in, Py_ssize_t len,
           Py_ssize_t limit, Py_ssize_t hint, int release)
{
    PyObject *out = NULL;
    fc_dec dec;
    fc_codec_err err = {0};
    size_t in_pos = 0, out_pos = 0;
    int rc;

    if (dec_init(&dec, codec, st->codec, &err) < 0) {
        fc_codec_raise(st, &err);
        return NULL;
    }
    Py_ssize_t cap = hint > DEC_MIN_CAP ? hint : DEC_MIN_CAP;
    if (limit >= 0 && cap > limit + 1) {
        cap = limit + 1;
    }
    out = PyBytes_FromStringAndSize(NULL, cap);
    if (out == NULL) {
        goto exit;
    }
    advise_huge(PyBytes_AS_STRING(out), cap);
    for (;;) {
        unsigned char *o = (unsigned char *)PyBytes_AS_STRING(out);
        size_t before_in = in_pos, before_out = out_pos;
        /* Safe without the GIL: the input is pinned, `out` is ours alone
         * and is not resized until the GIL is back. */
        FC_RUN_OUTSIDE_GIL(release,
                           rc = dec.run(&dec, in, (size_t)len, &in_pos, o,
                                        (size_t)cap, &out_pos, &err));
        if (rc == FC_DEC_AGAIN && in_pos == before_in &&
            out_pos == before_out && out_pos < (size_t)cap) {
            rc = stalled(&err, codec, in_pos);
        }
        if (rc == FC_DEC_ERR) {
            fc_codec_raise(st, &err);
            Py_CLEAR(out);
            goto exit;
        }
        if (limit >= 0 && (Py_ssize_t)out_pos > limit) {
            fc_raise_output_size(st, codec, limit);
            Py_CLEAR(out);
            goto exit;
        }
        if (rc == FC_DEC_DONE) {
            break;
        }
        if (PyErr_CheckSignals() < 0) {
            Py_CLEAR(out);
            goto exit;
        }
        if (out_pos == (size_t)cap) {
            Py_ssize_t ncap = cap < PY_SSIZE_T_MAX / 2 ? cap * 2
                              : PY_SSIZE_T_MAX;
            if (limit >= 0 && ncap > limit + 1) {
                ncap = limit + 1;
            }
            if (_PyBytes_Resize(&out, ncap) < 0) {
                out = NULL;
                goto exit;
            }
            advise_huge(PyBytes_AS_STRING(out) + cap, ncap - cap);
            cap = ncap;
        }
    }
    if (_PyBytes_Resize(&out, (Py_ssize_t)out_pos) < 0) {
        out = NULL;
    }
exit:
    dec_free(&dec);
    return out;
}

static int64_t
scan_layout(fc_djob *job, int codec, const unsigned char *in, Py_ssize_t len)
{
    switch (codec) {
    case FC_CODEC_GZIP:
        return fc_gzip_scan(job, in, len);
    case FC_CODEC_ZSTD:
        return fc_zstd_scan(job, in, len);
    case FC_CODEC_LZ4:
        return fc_lz4_scan(job, in, len);
    default:
        return 0;
    }
}

static fc_task_fn
piece_task(int codec)
{
    return codec == FC_CODEC_GZIP ? fc_gzip_piece_task
           : codec == FC_CODEC_ZSTD ? fc_zstd_piece_task : fc_lz4_piece_task;
}

/* Decode a known layout (pieces of known sizes) in parallel.  Returns a
 * new bytes object, NULL with an exception, or NULL without one when the
 * layout turned out not to hold (the caller then decodes sequentially,
 * which also gives the precise error). */
static PyObject *
decode_pieces(fc_state *st, fc_djob *job, const unsigned char *in,
              Py_ssize_t len, Py_ssize_t limit, int threads, int release)
{
    PyObject *out = NULL;
    Py_ssize_t total = 0;
    for (int64_t i = 0; i < job->n; i++) {
        if (job->out_len[i] > PIECE_OUT_MAX ||
            job->out_len[i] > PY_SSIZE_T_MAX - total) {
            return NULL;            /* too large for one call: stream */
        }
        job->out_off[i] = total;
        total += job->out_len[i];
    }
    if (limit >= 0 && total > limit) {
        fc_raise_output_size(st, job->codec, limit);
        return NULL;
    }
    out = PyBytes_FromStringAndSize(NULL, total);
    if (out == NULL) {
        return NULL;
    }
    job->in = in;
    job->out = (unsigned char *)PyBytes_AS_STRING(out);
    advise_huge(job->out, total);
    if (threads > job->n) {
        threads = (int)job->n;
    }
    /* Safe without the GIL: input pinned, each task writes its own range
     * of the bytes object nobody else sees yet. */
    if (fc_run(piece_task(job->codec), job, job->n, threads, release) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    if (!job->failed && job->codec == FC_CODEC_LZ4) {
        fc_lz4_scan_finish(job, in, len, job->out, total);
    }
    if (job->failed) {
        Py_DECREF(out);
        return NULL;                /* no exception: decode sequentially */
    }
    return out;
}

static PyObject *
decompress_buffer(fc_state *st, int codec, const unsigned char *in,
                  Py_ssize_t len, int threads, Py_ssize_t limit, int release)
{
    PyObject *out = NULL;
    fc_djob job;
    memset(&job, 0, sizeof(job));
    job.codec = codec;
    job.cache = st->codec;

    int64_t n = scan_layout(&job, codec, in, len);
    if (n < 0) {
        PyErr_NoMemory();
        goto exit;
    }
    if (n > 0) {
        threads = fc_resolve_threads(threads, len, CODEC_PARALLEL_MIN);
        out = decode_pieces(st, &job, in, len, limit, threads, release);
        if (out != NULL || PyErr_Occurred()) {
            goto exit;
        }
    }
    Py_ssize_t hint = len < PY_SSIZE_T_MAX / 4 ? len * 4 : len;
    if (codec == FC_CODEC_GZIP && len >= 18) {
        /* The last member's ISIZE (size mod 2**32) is a good first guess
         * for a single member; it is only a hint (limit still holds). */
        const unsigned char *t = in + len - 4;
        Py_ssize_t isize = (Py_ssize_t)(
            (uint32_t)t[0] | ((uint32_t)t[1] << 8) |
            ((uint32_t)t[2] << 16) | ((uint32_t)t[3] << 24));
        if (isize > hint && isize / 1032 <= len) {
            hint = isize + 1;
        }
    }
    else if (codec == FC_CODEC_ZSTD) {
        /* A large frame with its content size: start at that size. */
        unsigned long long c = ZSTD_getFrameContentSize(in, (size_t)len);
        if (c < ZSTD_CONTENTSIZE_ERROR && c > (unsigned long long)hint &&
            c / 64 <= (unsigned long long)len + (1u << 20)) {
            hint = (Py_ssize_t)c + 1;
        }
    }
    out = decode_all(st, codec, in, len, limit, hint, release);
exit:
    fc_djob_free(&job);
    return out;
}

/* --- module functions ---------------------------------------------------- */

PyDoc_STRVAR(fc_compress__doc__,
"compress($module, data, codec='zstd', level=None, *, threads=None,\n"
"         release_gil=None)\n--\n\n"
"Compress data into one stream of the codec.\n"
"\n"
"  data: a bytes-like object.\n"
"  codec: 'zlib', 'deflate' (raw), 'gzip', 'zstd' or 'lz4' (frame).\n"
"  level: the codec's usual levels (zlib/deflate/gzip 0..9, zstd\n"
"    negative..22, lz4 0..12); None for the default.\n"
"  threads: compress blocks of one stream on this many threads (None: the\n"
"    pool size from 2 MiB on).  gzip becomes a series of members, zstd a\n"
"    series of frames, lz4 one frame of independent blocks, zlib a\n"
"    pigz-style stream; every standard reader decodes them.\n"
"  release_gil: None releases the GIL from GIL_THRESHOLD bytes on.");

static PyObject *
fc_compress(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
            PyObject *kwnames)
{
    static const char *const names[] = {"data", "codec", "level", "threads",
                                        "release_gil", NULL};
    fc_state *st = fc_get_state(module);
    PyObject *a[5];
    Py_buffer view = {0};
    int codec, level, threads, release;

    if (fc_parse_args("compress", args, nargs, kwnames, names, 3, 1, a) < 0 ||
        fc_codec_parse(a[1], 0, FC_CODEC_ZSTD, &codec) < 0 ||
        fc_codec_parse_level(codec, a[2], &level) < 0 ||
        fc_parse_threads(a[3], &threads) < 0 ||
        fc_parse_release(a[4], &release) < 0 ||
        fc_get_buffer(a[0], &view, "data") < 0) {
        return NULL;
    }
    release = fc_should_release(st, release, view.len);
    PyObject *out = compress_buffer(st, codec, level, view.buf, view.len,
                                    threads, release);
    PyBuffer_Release(&view);
    return out;
}

PyDoc_STRVAR(fc_decompress__doc__,
"decompress($module, data, codec=None, *, threads=None,\n"
"           max_output_size=None, release_gil=None)\n--\n\n"
"Decompress a whole stream (concatenated gzip members, zstd and lz4\n"
"frames included).\n"
"\n"
"  data: a bytes-like object.\n"
"  codec: None detects gzip, zstd, lz4 or zlib by magic bytes; 'deflate'\n"
"    (raw) must be named.\n"
"  threads: decode independent members/frames/blocks of fastconc's\n"
"    parallel layout on this many threads; other input uses one.\n"
"  max_output_size: raise OutputSizeError rather than produce (or\n"
"    allocate) more than this many bytes.\n"
"  release_gil: None releases the GIL from GIL_THRESHOLD bytes on.\n"
"\n"
"Corrupt, truncated or wrong-codec input raises DecompressionError.");

static PyObject *
fc_decompress(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
              PyObject *kwnames)
{
    static const char *const names[] = {"data", "codec", "threads",
                                        "max_output_size", "release_gil",
                                        NULL};
    fc_state *st = fc_get_state(module);
    PyObject *a[5];
    PyObject *out = NULL;
    Py_buffer view = {0};
    int codec, threads, release;
    Py_ssize_t limit;

    if (fc_parse_args("decompress", args, nargs, kwnames, names, 2, 1,
                      a) < 0 ||
        fc_codec_parse(a[1], 1, FC_CODEC_AUTO, &codec) < 0 ||
        fc_parse_threads(a[2], &threads) < 0 ||
        fc_parse_max_output(a[3], &limit) < 0 ||
        fc_parse_release(a[4], &release) < 0 ||
        fc_get_buffer(a[0], &view, "data") < 0) {
        return NULL;
    }
    if (codec == FC_CODEC_AUTO) {
        codec = fc_codec_detect_or_raise(st, view.buf, view.len);
        if (codec < 0) {
            goto exit;
        }
    }
    release = fc_should_release(st, release, view.len);
    out = decompress_buffer(st, codec, view.buf, view.len, threads, limit,
                            release);
exit:
    PyBuffer_Release(&view);
    return out;
}

/* --- batch -------------------------------------------------------------- */

typedef struct {
    fc_state *st;
    int codec, level;
    fc_buffers bufs;
    PyObject **outs;            /* bytes per item: compress, sized to the
                                   bound; decompress, exact (known
                                   layouts only, else NULL) */
    Py_ssize_t *sizes;          /* final size per item */
    fc_codec_err *errs;         /* per item */
    Py_ssize_t limit;           /* decompress: max_output_size */
    int *codecs;                /* decompress: codec per item */
    unsigned char **raw;        /* decompress: PyMem_Raw output per item */
} batch_job;

static void
compress_many_task(void *arg, int64_t i)
{
    batch_job *b = arg;
    fc_cjob job;
    Py_ssize_t out_len;
    uint32_t check;
    job_init(&job, b->st, b->codec, b->level, b->bufs.views[i].buf,
             b->bufs.views[i].len);
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(b->outs[i]);
    b->sizes[i] = compress_single(&job, dst, PyBytes_GET_SIZE(b->outs[i]),
                                  &out_len, &check);
    if (b->sizes[i] < 0) {
        b->errs[i] = job.err;
    }
}

/* The output size of an item in a layout of known sizes (a zstd frame or
 * lz4 frame with its content size, gzip members of ours or one small
 * member), with its pieces placed in *job; -1 if it has no such layout,
 * -2 out of memory.  Headers only: microseconds even for large items. */
static Py_ssize_t
known_layout(fc_djob *job, fc_codec_cache *cache, int codec,
             const unsigned char *in, Py_ssize_t len)
{
    memset(job, 0, sizeof(*job));
    job->codec = codec;
    job->cache = cache;
    int64_t n = scan_layout(job, codec, in, len);
    if (n <= 0) {
        return n < 0 ? -2 : -1;
    }
    Py_ssize_t total = 0;
    for (int64_t k = 0; k < n; k++) {
        if (job->out_len[k] > PY_SSIZE_T_MAX - total) {
            return -1;
        }
        job->out_off[k] = total;
        total += job->out_len[k];
    }
    return total;
}

/* Before the run, with the GIL: each item of a known layout within the
 * limit gets its exact bytes object, which its task decodes into (no
 * copy into a bytes object afterwards, on the caller's thread, and the
 * pages are touched once); b->sizes[i] records the size. */
static int
batch_presize(batch_job *b)
{
    for (Py_ssize_t i = 0; i < b->bufs.count; i++) {
        fc_djob job;
        Py_ssize_t total = known_layout(&job, b->st->codec, b->codecs[i],
                                        b->bufs.views[i].buf,
                                        b->bufs.views[i].len);
        fc_djob_free(&job);
        if (total < 0 || (b->limit >= 0 && total > b->limit)) {
            continue;           /* the task streams, or raises the limit */
        }
        b->outs[i] = PyBytes_FromStringAndSize(NULL, total);
        if (b->outs[i] == NULL) {
            return -1;
        }
        advise_huge(PyBytes_AS_STRING(b->outs[i]), total);
        b->sizes[i] = total;
    }
    return 0;
}

/* An item of a known layout decodes straight into the bytes object
 * batch_presize() made for it.  Returns 1 done, -1 failed (error
 * recorded), 0 not such a layout or it did not hold (stream instead). */
static int
decode_known_raw(batch_job *b, int64_t i)
{
    const unsigned char *in = b->bufs.views[i].buf;
    Py_ssize_t len = b->bufs.views[i].len;
    fc_codec_err *err = &b->errs[i];
    int codec = b->codecs[i];
    int rc = 0;
    fc_djob job;

    Py_ssize_t total = known_layout(&job, b->st->codec, codec, in, len);
    if (total == -2) {
        fc_codec_err_set(err, FC_CERR_NOMEM, codec, 0, NULL, -1);
        rc = -1;
        goto exit;
    }
    if (total >= 0 && b->limit >= 0 && total > b->limit) {
        fc_codec_err_set(err, FC_CERR_OUTPUT_SIZE, codec, 0, NULL, -1);
        err->limit = b->limit;
        rc = -1;
        goto exit;
    }
    /* A bytearray item may have changed since batch_presize() read it:
     * only the very size it allocated is decoded into it. */
    if (total < 0 || b->outs[i] == NULL || total != b->sizes[i]) {
        goto exit;
    }
    job.in = in;
    job.out = (unsigned char *)PyBytes_AS_STRING(b->outs[i]);
    for (int64_t k = 0; k < job.n && !job.failed; k++) {
        piece_task(codec)(&job, k);
    }
    if (!job.failed && codec == FC_CODEC_LZ4) {
        fc_lz4_scan_finish(&job, in, len, job.out, total);
    }
    rc = job.failed ? 0 : 1;
exit:
    fc_djob_free(&job);
    return rc;
}

/* Decode one whole item into a PyMem_Raw buffer grown as needed (runs on
 * a pool thread: no Python API). */
static void
decompress_many_task(void *arg, int64_t i)
{
    batch_job *b = arg;
    const unsigned char *in = b->bufs.views[i].buf;
    size_t len = (size_t)b->bufs.views[i].len;
    int codec = b->codecs[i];
    fc_codec_err *err = &b->errs[i];
    fc_dec dec;
    size_t in_pos = 0, out_pos = 0;
    size_t cap = len * 4 > (size_t)DEC_MIN_CAP ? len * 4 : (size_t)DEC_MIN_CAP;
    unsigned char *out = NULL;

    if (b->limit >= 0 && cap > (size_t)b->limit + 1) {
        cap = (size_t)b->limit + 1;
    }
    int known = decode_known_raw(b, i);
    if (known != 0) {
        return;         /* decoded, or failed with the error recorded */
    }
    if (dec_init(&dec, codec, b->st->codec, err) < 0) {
        return;
    }
    out = PyMem_RawMalloc(cap);
    if (out == NULL) {
        fc_codec_err_set(err, FC_CERR_NOMEM, codec, 0, NULL, -1);
        goto exit;
    }
    for (;;) {
        size_t before_in = in_pos, before_out = out_pos;
        int rc = dec.run(&dec, in, len, &in_pos, out, cap, &out_pos, err);
        if (rc == FC_DEC_AGAIN && in_pos == before_in &&
            out_pos == before_out && out_pos < cap) {
            rc = stalled(err, codec, in_pos);
        }
        if (rc == FC_DEC_ERR) {
            goto exit;
        }
        if (b->limit >= 0 && out_pos > (size_t)b->limit) {
            fc_codec_err_set(err, FC_CERR_OUTPUT_SIZE, codec, 0, NULL, -1);
            err->limit = b->limit;
            goto exit;
        }
        if (rc == FC_DEC_DONE) {
            break;
        }
        if (out_pos == cap) {
            size_t ncap = cap * 2;
            if (b->limit >= 0 && ncap > (size_t)b->limit + 1) {
                ncap = (size_t)b->limit + 1;
            }
            unsigned char *p = PyMem_RawRealloc(out, ncap);
            if (p == NULL) {
                fc_codec_err_set(err, FC_CERR_NOMEM, codec, 0, NULL, -1);
                goto exit;
            }
            out = p;
            cap = ncap;
        }
    }
    b->raw[i] = out;
    b->sizes[i] = (Py_ssize_t)out_pos;
    out = NULL;
exit:
    PyMem_RawFree(out);
    dec_free(&dec);
}

static void
batch_free(batch_job *b)
{
    if (b->outs) {
        for (Py_ssize_t i = 0; i < b->bufs.count; i++) {
            Py_XDECREF(b->outs[i]);
        }
    }
    if (b->raw) {
        for (Py_ssize_t i = 0; i < b->bufs.count; i++) {
            PyMem_RawFree(b->raw[i]);
        }
    }
    PyMem_Free(b->outs);
    PyMem_Free(b->raw);
    PyMem_Free(b->sizes);
    PyMem_Free(b->errs);
    PyMem_Free(b->codecs);
    fc_buffers_release(&b->bufs);
}

/* Raise the first failed item's error, naming the item. */
static int
batch_raise(fc_state *st, batch_job *b)
{
    for (Py_ssize_t i = 0; i < b->bufs.count; i++) {
        if (b->errs[i].kind != FC_CERR_NONE) {
            fc_codec_raise(st, &b->errs[i]);
            if (PyErr_ExceptionMatches(st->DecompressionError)) {
                PyObject *type, *value, *tb;
                PyErr_Fetch(&type, &value, &tb);
                PyErr_NormalizeException(&type, &value, &tb);
                PyErr_Format(type, "item %zd: %S", i, value);
                Py_XDECREF(type);
                Py_XDECREF(value);
                Py_XDECREF(tb);
            }
            return -1;
        }
    }
    return 0;
}

static int
batch_alloc(batch_job *b, int decompress)
{
    Py_ssize_t n = b->bufs.count > 0 ? b->bufs.count : 1;
    b->outs = PyMem_Calloc((size_t)n, sizeof(PyObject *));
    b->sizes = PyMem_Calloc((size_t)n, sizeof(Py_ssize_t));
    b->errs = PyMem_Calloc((size_t)n, sizeof(fc_codec_err));
    if (decompress) {
        b->raw = PyMem_Calloc((size_t)n, sizeof(unsigned char *));
        b->codecs = PyMem_Calloc((size_t)n, sizeof(int));
    }
    if (b->outs == NULL || b->sizes == NULL || b->errs == NULL ||
        (decompress && (b->raw == NULL || b->codecs == NULL))) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(fc_compress_many__doc__,
"compress_many($module, items, codec='zstd', level=None, *, threads=None,\n"
"              release_gil=None)\n--\n\n"
"Compress each item into its own stream; returns a list of bytes.\n"
"\n"
"The whole loop runs in C on the pool with the GIL released once.\n"
"\n"
"  items: an iterable of bytes-like objects.\n"
"  codec, level: as for compress().\n"
"  threads: items are spread over this many threads (None: the pool\n"
"    size).");

static PyObject *
fc_compress_many(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                 PyObject *kwnames)
{
    static const char *const names[] = {"items", "codec", "level", "threads",
                                        "release_gil", NULL};
    fc_state *st = fc_get_state(module);
    PyObject *a[5];
    PyObject *result = NULL;
    batch_job b;
    int threads, release;
    memset(&b, 0, sizeof(b));
    b.st = st;

    if (fc_parse_args("compress_many", args, nargs, kwnames, names, 3, 1,
                      a) < 0 ||
        fc_codec_parse(a[1], 0, FC_CODEC_ZSTD, &b.codec) < 0 ||
        fc_codec_parse_level(b.codec, a[2], &b.level) < 0 ||
        fc_parse_threads(a[3], &threads) < 0 ||
        fc_parse_release(a[4], &release) < 0 ||
        fc_get_buffers(a[0], &b.bufs, "items") < 0) {
        return NULL;
    }
    if (batch_alloc(&b, 0) < 0) {
        goto exit;
    }
    for (Py_ssize_t i = 0; i < b.bufs.count; i++) {
        fc_cjob job;
        job_init(&job, st, b.codec, b.level, NULL, b.bufs.views[i].len);
        b.outs[i] = PyBytes_FromStringAndSize(NULL, single_bound(&job));
        if (b.outs[i] == NULL) {
            goto exit;
        }
    }
    threads = fc_resolve_threads(threads, b.bufs.total, 0);
    release = fc_should_release(st, release, b.bufs.total);
    /* Safe without the GIL: every view is pinned and each task writes only
     * its own item's bytes object, which nobody else sees yet. */
    if (fc_run(compress_many_task, &b, b.bufs.count, threads, release) < 0 ||
        batch_raise(st, &b) < 0) {
        goto exit;
    }
    result = PyList_New(b.bufs.count);
    if (result == NULL) {
        goto exit;
    }
    for (Py_ssize_t i = 0; i < b.bufs.count; i++) {
        if (_PyBytes_Resize(&b.outs[i], b.sizes[i]) < 0) {
            Py_CLEAR(result);
            goto exit;
        }
        PyList_SET_ITEM(result, i, b.outs[i]);
        b.outs[i] = NULL;
    }
exit:
    batch_free(&b);
    return result;
}

PyDoc_STRVAR(fc_decompress_many__doc__,
"decompress_many($module, items, codec=None, *, threads=None,\n"
"                max_output_size=None, release_gil=None)\n--\n\n"
"Decompress each item (a whole stream); returns a list of bytes.\n"
"\n"
"The whole loop runs in C on the pool with the GIL released once.\n"
"\n"
"  items: an iterable of bytes-like objects.\n"
"  codec: None detects each item's codec by magic bytes.\n"
"  threads: items are spread over this many threads (None: the pool\n"
"    size).\n"
"  max_output_size: bound on each item's output (OutputSizeError).");

static PyObject *
fc_decompress_many(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                   PyObject *kwnames)
{
    static const char *const names[] = {"items", "codec", "threads",
                                        "max_output_size", "release_gil",
                                        NULL};
    fc_state *st = fc_get_state(module);
    PyObject *a[5];
    PyObject *result = NULL;
    batch_job b;
    int codec, threads, release;
    memset(&b, 0, sizeof(b));
    b.st = st;

    if (fc_parse_args("decompress_many", args, nargs, kwnames, names, 2, 1,
                      a) < 0 ||
        fc_codec_parse(a[1], 1, FC_CODEC_AUTO, &codec) < 0 ||
        fc_parse_threads(a[2], &threads) < 0 ||
        fc_parse_max_output(a[3], &b.limit) < 0 ||
        fc_parse_release(a[4], &release) < 0 ||
        fc_get_buffers(a[0], &b.bufs, "items") < 0) {
        return NULL;
    }
    if (batch_alloc(&b, 1) < 0) {
        goto exit;
    }
    for (Py_ssize_t i = 0; i < b.bufs.count; i++) {
        b.codecs[i] = codec;
        if (codec == FC_CODEC_AUTO) {
            b.codecs[i] = fc_codec_detect_or_raise(st, b.bufs.views[i].buf,
                                                   b.bufs.views[i].len);
            if (b.codecs[i] < 0) {
                goto exit;
            }
        }
    }
    if (batch_presize(&b) < 0) {
        goto exit;
    }
    threads = fc_resolve_threads(threads, b.bufs.total, 0);
    release = fc_should_release(st, release, b.bufs.total);
    /* Safe without the GIL: views pinned; each task owns its raw buffer or
     * writes its own item's bytes object, which nobody else sees yet. */
    if (fc_run(decompress_many_task, &b, b.bufs.count, threads,
               release) < 0 ||
        batch_raise(st, &b) < 0) {
        goto exit;
    }
    result = PyList_New(b.bufs.count);
    if (result == NULL) {
        goto exit;
    }
    for (Py_ssize_t i = 0; i < b.bufs.count; i++) {
        PyObject *o = b.outs[i];
        if (b.raw[i] != NULL) {     /* streamed: copy into a bytes object */
            o = PyBytes_FromStringAndSize((const char *)b.raw[i],
                                          b.sizes[i]);
            if (o == NULL) {
                Py_CLEAR(result);
                goto exit;
            }
            Py_XDECREF(b.outs[i]);
            PyMem_RawFree(b.raw[i]);
            b.raw[i] = NULL;
        }
        b.outs[i] = NULL;
        PyList_SET_ITEM(result, i, o);
    }
exit:
    batch_free(&b);
    return result;
}

/* --- area registration -------------------------------------------------- */

PyDoc_STRVAR(fc_codec_from_filename__doc__,
"_codec_from_filename($module, path, /)\n--\n\n"
"Codec implied by a file name's extension, or None.");

static PyObject *
fc_codec_from_filename_py(PyObject *module, PyObject *arg)
{
    (void)module;
    PyObject *bytes = NULL;
    if (!PyUnicode_FSConverter(arg, &bytes)) {
        return NULL;
    }
    int c = fc_codec_from_filename(PyBytes_AS_STRING(bytes));
    Py_DECREF(bytes);
    if (c < 0) {
        Py_RETURN_NONE;
    }
    return PyUnicode_FromString(fc_codec_name(c));
}

static PyMethodDef codec_methods[] = {
    {"compress", FC_CFUNC(fc_compress), METH_FASTCALL | METH_KEYWORDS,
     fc_compress__doc__},
    {"decompress", FC_CFUNC(fc_decompress), METH_FASTCALL | METH_KEYWORDS,
     fc_decompress__doc__},
    {"compress_many", FC_CFUNC(fc_compress_many),
     METH_FASTCALL | METH_KEYWORDS, fc_compress_many__doc__},
    {"decompress_many", FC_CFUNC(fc_decompress_many),
     METH_FASTCALL | METH_KEYWORDS, fc_decompress_many__doc__},
    {"_codec_from_filename", fc_codec_from_filename_py, METH_O,
     fc_codec_from_filename__doc__},
    {NULL, NULL, 0, NULL},
};

static void
codec_clear(fc_state *st)
{
    fc_codec_cache *c = st->codec;
    if (c == NULL) {
        return;
    }
    st->codec = NULL;
    for (int k = 0; k < FC_CTX_KINDS; k++) {
        for (int i = 0; i < c->n[k]; i++) {
            c->free_fn[k](c->ctx[k][i]);
        }
    }
    pthread_mutex_destroy(&c->mu);
    PyMem_RawFree(c);
}

static int
codec_init(PyObject *m, fc_state *st)
{
    st->codec = PyMem_RawCalloc(1, sizeof(fc_codec_cache));
    if (st->codec == NULL || pthread_mutex_init(&st->codec->mu, NULL) != 0) {
        PyMem_RawFree(st->codec);
        st->codec = NULL;
        PyErr_NoMemory();
        return -1;
    }
    PyObject *names = PyTuple_New(FC_CODEC_COUNT);
    if (names == NULL) {
        return -1;
    }
    for (int i = 0; i < FC_CODEC_COUNT; i++) {
        PyObject *s = PyUnicode_FromString(fc_codec_name(i));
        if (s == NULL) {
            Py_DECREF(names);
            return -1;
        }
        PyTuple_SET_ITEM(names, i, s);
    }
    int rc = PyModule_AddObjectRef(m, "codecs_available", names);
    Py_DECREF(names);
    if (rc < 0) {
        return -1;
    }
    return PyModule_AddFunctions(m, codec_methods);
}

static int
set_str(PyObject *d, const char *key, const char *value)
{
    PyObject *s = PyUnicode_FromString(value);
    if (s == NULL) {
        return -1;
    }
    int rc = PyDict_SetItemString(d, key, s);
    Py_DECREF(s);
    return rc;
}

static int
codec_info(fc_state *st, PyObject *d)
{
    (void)st;
    PyObject *backends = PyDict_GetItemString(d, "backends");
    PyObject *parallel = PyDict_GetItemString(d, "parallel");
    if (backends == NULL || parallel == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "info(): no backends dict");
        return -1;
    }
    if (fc_zlib_info(backends) < 0 ||
        set_str(backends, "zstd", "libzstd (one frame per block of 4x the "
                "window, at least 4 MiB; the last two in halves)") < 0 ||
        set_str(backends, "zstd decompress", "libzstd") < 0 ||
        set_str(backends, "lz4", "liblz4 block API (one frame of "
                "independent 4 MiB blocks; levels 3..12: lz4hc)") < 0 ||
        set_str(backends, "lz4 decompress", "liblz4 block API") < 0) {
        return -1;
    }
    static const char *const par[][2] = {
        {"gzip compress", "members of 1 MiB, the last 2 MiB in 256 KiB "
                          "(FC extra subfield)"},
        {"gzip decompress", "fastconc-written members; others sequential"},
        {"zlib compress", "pigz-style 1 MiB pieces primed with 32 KiB"},
        {"zlib decompress", "no (one stream)"},
        {"deflate compress", "pigz-style 1 MiB pieces primed with 32 KiB"},
        {"deflate decompress", "no (one stream)"},
        {"zstd compress", "independent frames"},
        {"zstd decompress", "frames with content size"},
        {"lz4 compress", "independent blocks of one frame"},
        {"lz4 decompress", "frames of independent blocks with content size"},
        {"compress_many", "items across the pool"},
        {"decompress_many", "items across the pool"},
    };
    for (size_t i = 0; i < sizeof(par) / sizeof(par[0]); i++) {
        int yes = strncmp(par[i][1], "no ", 3) != 0;
        if (PyDict_SetItemString(parallel, par[i][0],
                                 yes ? Py_True : Py_False) < 0) {
            return -1;
        }
    }
    return 0;
}

const fc_area fc_area_codec = {
    "codec", codec_init, NULL, codec_clear, codec_info,
};
