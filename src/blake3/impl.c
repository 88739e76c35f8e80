/* blake3/impl.c - the portable BLAKE3 core, written from the specification:
 * the compression function, chunks, the chaining-value stack that builds the
 * left-complete binary tree, extendable output, subtrees hashed with the
 * widest SIMD kernel available, and the multithreaded update.
 *
 * No Python API: every function here may run on a pool thread.  No mutable
 * globals, and no choosing: the caller passes the kernel table that
 * simd/dispatch.c picked (the tables are defined here).
 */
#include "blake3/impl.h"
#include "simd/blake3_simd.h"

#include <stdlib.h>
#include <string.h>

const uint32_t fc_blake3_iv[8] = {FC_B3_IV0, FC_B3_IV1, FC_B3_IV2, FC_B3_IV3,
                                  FC_B3_IV4, FC_B3_IV5, FC_B3_IV6, FC_B3_IV7};

/* --- the compression function ------------------------------------------ */

#define ADD(a, b) ((uint32_t)((a) + (b)))
#define XOR(a, b) ((a) ^ (b))
#define FC_B3_ADD_MSG(a, x) ADD((a), (x))
#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define R16(x) ROTR((x), 16)
#define R12(x) ROTR((x), 12)
#define R8(x) ROTR((x), 8)
#define R7(x) ROTR((x), 7)

/* The full 16-word state after the 7 rounds (before the feed-forward). */
static void
compress_rounds(const uint32_t cv[8], const uint8_t block[64],
                unsigned block_len, uint64_t counter, unsigned flags,
                uint32_t v[16])
{
    uint32_t m[16];
    for (int i = 0; i < 16; i++) {
        m[i] = fc_b3_load32(block + 4 * i);
    }
    for (int i = 0; i < 8; i++) {
        v[i] = cv[i];
    }
    v[8] = FC_B3_IV0;
    v[9] = FC_B3_IV1;
    v[10] = FC_B3_IV2;
    v[11] = FC_B3_IV3;
    v[12] = (uint32_t)counter;
    v[13] = (uint32_t)(counter >> 32);
    v[14] = (uint32_t)block_len;
    v[15] = (uint32_t)flags;
    FC_B3_ROUNDS();
}

/* Compress in place: cv becomes the next chaining value. */
static void
compress_cv(fc_blake3_compress_fn fn, uint32_t cv[8], const uint8_t block[64],
            unsigned block_len, uint64_t counter, unsigned flags)
{
    uint32_t v[16];
    fn(cv, block, block_len, counter, flags, v);
    for (int i = 0; i < 8; i++) {
        cv[i] = v[i] ^ v[i + 8];
    }
}

static void
cv_to_bytes(const uint32_t cv[8], uint8_t out[32])
{
    for (int i = 0; i < 8; i++) {
        fc_b3_store32(out + 4 * i, cv[i]);
    }
}

static void
bytes_to_cv(const uint8_t in[32], uint32_t cv[8])
{
    for (int i = 0; i < 8; i++) {
        cv[i] = fc_b3_load32(in + 4 * i);
    }
}

/* One lane with a one-block compression function: the lanes left over. */
static void
lanes1(fc_blake3_compress_fn fn, const uint8_t *base, size_t nblocks,
       const uint32_t key[8], uint64_t counter, unsigned flags,
       unsigned flags_start, unsigned flags_end, uint8_t *out)
{
    uint32_t cv[8];
    memcpy(cv, key, sizeof(cv));
    for (size_t b = 0; b < nblocks; b++) {
        unsigned f = flags;
        if (b == 0) {
            f |= flags_start;
        }
        if (b + 1 == nblocks) {
            f |= flags_end;
        }
        compress_cv(fn, cv, base + 64 * b, 64, counter, f);
    }
    cv_to_bytes(cv, out);
}

static void
lanes1_portable(const uint8_t *base, size_t stride, size_t nblocks,
                const uint32_t key[8], uint64_t counter,
                uint64_t counter_step, unsigned flags, unsigned flags_start,
                unsigned flags_end, uint8_t *out)
{
    (void)stride;
    (void)counter_step;
    lanes1(compress_rounds, base, nblocks, key, counter, flags, flags_start,
           flags_end, out);
}

static void
lanes1_sse41(const uint8_t *base, size_t stride, size_t nblocks,
             const uint32_t key[8], uint64_t counter, uint64_t counter_step,
             unsigned flags, unsigned flags_start, unsigned flags_end,
             uint8_t *out)
{
    (void)stride;
    (void)counter_step;
    lanes1(fc_blake3_compress_sse41, base, nblocks, key, counter, flags,
           flags_start, flags_end, out);
}

/* --- kernel tables (constant; simd/dispatch.c picks one) -------------- */

const fc_blake3_kernels fc_blake3_portable = {
    "portable", compress_rounds, 1, {1}, {lanes1_portable}, NULL,
};
const fc_blake3_kernels fc_blake3_sse41 = {
    "sse4.1 x4", fc_blake3_compress_sse41, 2, {4, 1},
    {fc_blake3_lanes4_sse41, lanes1_sse41}, NULL,
};
const fc_blake3_kernels fc_blake3_avx2 = {
    "avx2 x8", fc_blake3_compress_sse41, 3, {8, 4, 1},
    {fc_blake3_lanes8_avx2, fc_blake3_lanes4_sse41, lanes1_sse41},
    fc_blake3_lanes8_prev_avx2,
};
const fc_blake3_kernels fc_blake3_avx512 = {
    "avx512 x16", fc_blake3_compress_sse41, 4, {16, 8, 4, 1},
    {fc_blake3_lanes16_avx512, fc_blake3_lanes8_avx2, fc_blake3_lanes4_sse41,
     lanes1_sse41}, fc_blake3_lanes16_prev_avx512,
};

/* Compress n lanes with the widest kernels that fit. */
static void
lanes_all(const fc_blake3_kernels *k, const uint8_t *base, size_t stride,
          size_t nblocks, const uint32_t key[8], uint64_t counter,
          uint64_t counter_step, unsigned flags, unsigned flags_start,
          unsigned flags_end, uint8_t *out, size_t n)
{
    for (int i = 0; i < k->nkernels && n > 0; i++) {
        size_t w = (size_t)k->width[i];
        while (n >= w) {
            k->fn[i](base, stride, nblocks, key, counter, counter_step, flags,
                     flags_start, flags_end, out);
            base += w * stride;
            counter += w * counter_step;
            out += 32 * w;
            n -= w;
        }
    }
}

/* Compress n lanes on the widest kernel; a last partial group of r lanes
 * runs over a zero-padded copy, which is cheaper than several narrower
 * calls and the one-lane path: chunks on the widest kernel (per lane the
 * narrower ones are slower), parents (one block, where the set-up of a
 * call counts) on the narrowest kernel at least r wide. */
static void
lanes_wide(const fc_blake3_kernels *k, const uint8_t *base, size_t stride,
           size_t nblocks, const uint32_t key[8], uint64_t counter,
           uint64_t counter_step, unsigned flags, unsigned flags_start,
           unsigned flags_end, uint8_t *out, size_t n)
{
    size_t w = (size_t)k->width[0];
    size_t full = n / w * w;
    size_t r = n - full;
    lanes_all(k, base, stride, nblocks, key, counter, counter_step, flags,
              flags_start, flags_end, out, full);
    if (r == 0) {
        return;
    }
    int j = 0;
    while (nblocks == 1 && j + 1 < k->nkernels &&
           (size_t)k->width[j + 1] >= r) {
        j++;
    }
    if (r == 1) {
        j = k->nkernels - 1;    /* the one-lane kernel */
    }
    size_t wj = (size_t)k->width[j];
    base += full * stride;
    counter += full * counter_step;
    out += 32 * full;
    if (wj == r) {
        k->fn[j](base, stride, nblocks, key, counter, counter_step, flags,
                 flags_start, flags_end, out);
        return;
    }
    /* Lanes are at most a chunk apart (stride 64 or 1024), width <= 16. */
    uint8_t pad[16 * FC_BLAKE3_CHUNK_LEN];
    uint8_t padout[16 * 32];
    memcpy(pad, base, r * stride);
    memset(pad + r * stride, 0, (wj - r) * stride);
    k->fn[j](pad, stride, nblocks, key, counter, counter_step, flags,
             flags_start, flags_end, padout);
    memcpy(out, padout, 32 * r);
}

/* n chunks (n >= 1) like lanes_wide, the last of them the input's final
 * chunk, whose chaining value before its last block goes to prev (k->prev
 * must exist): its group, full or zero-padded, runs on k->prev. */
static void
lanes_final(const fc_blake3_kernels *k, const uint8_t *base,
            const uint32_t key[8], uint64_t counter, unsigned flags,
            uint8_t *out, size_t n, uint8_t prev[32])
{
    const size_t len = FC_BLAKE3_CHUNK_LEN;
    size_t w = (size_t)k->width[0];
    size_t last = (n - 1) / w * w;     /* first lane of the last group */
    size_t r = n - last;
    uint8_t pad[16 * FC_BLAKE3_CHUNK_LEN];
    uint8_t padout[16 * 32], prevs[16 * 32];
    const uint8_t *src = base + last * len;

    lanes_all(k, base, len, len / 64, key, counter, 1, flags,
              FC_B3_CHUNK_START, FC_B3_CHUNK_END, out, last);
    if (r < w) {
        memcpy(pad, src, r * len);
        memset(pad + r * len, 0, (w - r) * len);
        src = pad;
    }
    k->prev(src, len, len / 64, key, counter + last, 1, flags,
            FC_B3_CHUNK_START, FC_B3_CHUNK_END, padout, prevs);
    memcpy(out + 32 * last, padout, 32 * r);
    memcpy(prev, prevs + 32 * (r - 1), 32);
}

/* --- subtrees ----------------------------------------------------------- */

/* Chunks hashed in one go before reducing (32 KiB of CVs): one leaf per
 * 1 MiB, so the small top levels of the reduction (under 8 parents, one
 * kernel call each) come once per MiB rather than once per 256 KiB. */
#define LEAF_CHUNKS 1024

static void
parent_cv(const fc_blake3_kernels *k, const uint32_t key[8], unsigned flags,
          const uint8_t left[32], const uint8_t right[32], uint8_t out[32])
{
    uint8_t block[64];
    uint32_t cv[8];
    memcpy(block, left, 32);
    memcpy(block + 32, right, 32);
    memcpy(cv, key, sizeof(cv));
    compress_cv(k->compress, cv, block, 64, 0, flags | FC_B3_PARENT);
    cv_to_bytes(cv, out);
}

/* Reduce the n (a power of two) chaining values at cvs to the subtree's
 * one, left in cvs[0..32).  In place: parent i reads bytes [64i, 64i+64)
 * and writes [32i, 32i+32), which no later parent reads, and every kernel
 * loads all its lanes before storing. */
static void
reduce_cvs(const fc_blake3_kernels *k, const uint32_t key[8], unsigned flags,
           uint8_t *cvs, size_t n)
{
    for (; n > 1; n /= 2) {
        lanes_wide(k, cvs, 64, 1, key, 0, 0, flags | FC_B3_PARENT, 0, 0, cvs,
                   n / 2);
    }
}

/* Chaining value of the (non-root) subtree of n chunks (a power of two)
 * that starts at chunk `counter` and whose chunks are all complete. */
static void
subtree_cv(const fc_blake3_kernels *k, const uint32_t key[8], unsigned flags,
           const uint8_t *data, uint64_t n, uint64_t counter, uint8_t out[32])
{
    if (n > LEAF_CHUNKS) {
        uint8_t lr[64];
        uint64_t half = n / 2;
        subtree_cv(k, key, flags, data, half, counter, lr);
        subtree_cv(k, key, flags, data + half * FC_BLAKE3_CHUNK_LEN, half,
                   counter + half, lr + 32);
        parent_cv(k, key, flags, lr, lr + 32, out);
        return;
    }
    uint8_t cvs[LEAF_CHUNKS * 32];
    lanes_wide(k, data, FC_BLAKE3_CHUNK_LEN, FC_BLAKE3_CHUNK_LEN / 64, key,
               counter, 1, flags, FC_B3_CHUNK_START, FC_B3_CHUNK_END, cvs,
               (size_t)n);
    reduce_cvs(k, key, flags, cvs, (size_t)n);
    memcpy(out, cvs, 32);
}

/* --- the hasher --------------------------------------------------------- */

static unsigned
popcount64(uint64_t x)
{
    unsigned c = 0;
    while (x) {
        x &= x - 1;
        c++;
    }
    return c;
}

static size_t
chunk_fill(const fc_blake3_hasher *h)
{
    return (size_t)h->blocks_done * 64 + h->buf_len;
}

static void
chunk_reset(fc_blake3_hasher *h)
{
    memcpy(h->cv, h->key, sizeof(h->cv));
    h->blocks_done = 0;
    h->buf_len = 0;
}

static void
init_common(fc_blake3_hasher *h, const uint32_t key[8], unsigned flags,
            const fc_blake3_kernels *kernels)
{
    memcpy(h->key, key, sizeof(h->key));
    h->flags = (uint8_t)flags;
    h->chunk_counter = 0;
    h->stack_len = 0;
    h->kernels = kernels ? kernels : &fc_blake3_portable;
    chunk_reset(h);
}

void
fc_blake3_init(fc_blake3_hasher *h, const fc_blake3_kernels *kernels)
{
    init_common(h, fc_blake3_iv, 0, kernels);
}

void
fc_blake3_init_keyed(fc_blake3_hasher *h, const uint8_t key[32],
                     const fc_blake3_kernels *kernels)
{
    uint32_t kw[8];
    bytes_to_cv(key, kw);
    init_common(h, kw, FC_B3_KEYED_HASH, kernels);
}

void
fc_blake3_init_derive(fc_blake3_hasher *h, const void *context,
                      size_t context_len, const fc_blake3_kernels *kernels)
{
    uint8_t ckey[32];
    uint32_t kw[8];
    init_common(h, fc_blake3_iv, FC_B3_DERIVE_KEY_CONTEXT, kernels);
    fc_blake3_update(h, context, context_len);
    fc_blake3_finalize(h, ckey, 32);
    bytes_to_cv(ckey, kw);
    init_common(h, kw, FC_B3_DERIVE_KEY_MATERIAL, kernels);
}

void
fc_blake3_reset(fc_blake3_hasher *h)
{
    h->chunk_counter = 0;
    h->stack_len = 0;
    chunk_reset(h);
}

/* Add the chaining value of a finished subtree of n chunks (a power of two
 * dividing chunk_counter).  Merging eagerly is right because this is only
 * called when more input follows, so no merged node can be the root. */
static void
push_subtree(fc_blake3_hasher *h, const uint8_t cv[32], uint64_t n)
{
    memcpy(h->stack[h->stack_len], cv, 32);
    h->stack_len++;
    h->chunk_counter += n;
    unsigned want = popcount64(h->chunk_counter);
    while (h->stack_len > want) {
        uint8_t *l = h->stack[h->stack_len - 2];
        parent_cv(h->kernels, h->key, h->flags, l,
                  h->stack[h->stack_len - 1], l);
        h->stack_len--;
    }
}

/* n (< LEAF_CHUNKS, not crossing a leaf boundary) complete chunks, more
 * input following: hash them side by side, then push them as the aligned
 * power-of-two subtrees ("pieces") they form.  The pieces are reduced
 * level by level together: the chaining values of the pieces not yet done
 * are kept packed, so each level is one batch of parents.  With prev, the
 * input's final chunk follows and is hashed with them (lanes_final); its
 * chaining value before its last block goes to prev. */
static void
chunk_run(fc_blake3_hasher *h, const uint8_t *p, size_t n, uint8_t *prev)
{
    uint8_t cvs[LEAF_CHUNKS * 32];
    uint8_t done[2 * 10 + 2][32];   /* at most 2 log2(LEAF_CHUNKS) pieces */
    size_t orig[2 * 10 + 2], cur[2 * 10 + 2];
    size_t np = 0, off = 0, t = 0;

    if (prev != NULL) {
        lanes_final(h->kernels, p, h->key, h->chunk_counter, h->flags, cvs,
                    n + 1, prev);
    }
    else {
        lanes_wide(h->kernels, p, FC_BLAKE3_CHUNK_LEN,
                   FC_BLAKE3_CHUNK_LEN / 64, h->key, h->chunk_counter, 1,
                   h->flags, FC_B3_CHUNK_START, FC_B3_CHUNK_END, cvs, n);
    }
    while (off < n) {
        size_t m = 1;
        while (m * 2 <= n - off) {
            m *= 2;
        }
        while ((h->chunk_counter + off) & (m - 1)) {
            m /= 2;
        }
        orig[np] = cur[np] = m;
        np++;
        off += m;
    }
    /* Pack the pieces of two or more chunks at the front; single chunks
     * are done already.  Moving left only, so memmove in place (and only
     * once a piece has left a gap: most of 1 MiB of chaining values would
     * otherwise be copied onto itself at every level). */
    off = 0;
    for (size_t i = 0; i < np; i++) {
        if (cur[i] == 1) {
            memcpy(done[i], cvs + 32 * off, 32);
        }
        else {
            if (t != off) {
                memmove(cvs + 32 * t, cvs + 32 * off, 32 * cur[i]);
            }
            t += cur[i];
        }
        off += orig[i];
    }
    while (t > 0) {
        /* Every packed piece has an even count: pairs never straddle. */
        lanes_wide(h->kernels, cvs, 64, 1, h->key, 0, 0,
                   h->flags | FC_B3_PARENT, 0, 0, cvs, t / 2);
        size_t pos = 0, nt = 0;
        for (size_t i = 0; i < np; i++) {
            if (cur[i] < 2) {
                continue;
            }
            cur[i] /= 2;
            if (cur[i] == 1) {
                memcpy(done[i], cvs + 32 * pos, 32);
            }
            else {
                if (nt != pos) {
                    memmove(cvs + 32 * nt, cvs + 32 * pos, 32 * cur[i]);
                }
                nt += cur[i];
            }
            pos += cur[i];
        }
        t = nt;
    }
    for (size_t i = 0; i < np; i++) {
        push_subtree(h, done[i], orig[i]);
    }
}

/* The current chunk is complete (1024 bytes) and more input follows. */
static void
finish_chunk(fc_blake3_hasher *h)
{
    uint8_t out[32];
    unsigned f = h->flags | FC_B3_CHUNK_END;
    if (h->blocks_done == 0) {
        f |= FC_B3_CHUNK_START;
    }
    compress_cv(h->kernels->compress, h->cv, h->buf, h->buf_len,
                h->chunk_counter, f);
    cv_to_bytes(h->cv, out);
    push_subtree(h, out, 1);
    chunk_reset(h);
}

/* Feed at most the rest of the current chunk.  The last block stays
 * buffered (it may need CHUNK_END or ROOT). */
static size_t
chunk_update(fc_blake3_hasher *h, const uint8_t *p, size_t len)
{
    size_t room = FC_BLAKE3_CHUNK_LEN - chunk_fill(h);
    size_t take = len < room ? len : room;
    size_t left = take;
    while (left > 0) {
        if (h->buf_len == 64) {
            unsigned f = h->flags | (h->blocks_done ? 0 : FC_B3_CHUNK_START);
            compress_cv(h->kernels->compress, h->cv, h->buf, 64,
                        h->chunk_counter, f);
            h->blocks_done++;
            h->buf_len = 0;
        }
        if (h->buf_len == 0) {
            /* Whole blocks straight from the input while more follows. */
            while (left > 64) {
                unsigned f = h->flags |
                             (h->blocks_done ? 0 : FC_B3_CHUNK_START);
                compress_cv(h->kernels->compress, h->cv, p, 64,
                            h->chunk_counter, f);
                h->blocks_done++;
                p += 64;
                left -= 64;
            }
        }
        size_t n = 64 - (size_t)h->buf_len;
        if (n > left) {
            n = left;
        }
        memcpy(h->buf + h->buf_len, p, n);
        h->buf_len = (uint8_t)(h->buf_len + n);
        p += n;
        left -= n;
    }
    return take;
}

void
fc_blake3_update(fc_blake3_hasher *h, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        if (chunk_fill(h) == FC_BLAKE3_CHUNK_LEN) {
            finish_chunk(h);
        }
        if (chunk_fill(h) == 0 && len > FC_BLAKE3_CHUNK_LEN) {
            /* The largest whole subtree that is aligned on the chunk
             * counter and leaves input after it. */
            uint64_t whole = (uint64_t)((len - 1) / FC_BLAKE3_CHUNK_LEN);
            uint64_t n = 1;
            while (n * 2 <= whole) {
                n *= 2;
            }
            while (h->chunk_counter & (n - 1)) {
                n /= 2;
            }
            if (n < LEAF_CHUNKS) {
                /* Up to the next leaf boundary, all chunks at once. */
                uint64_t t = LEAF_CHUNKS - h->chunk_counter % LEAF_CHUNKS;
                n = whole < t ? whole : t;
                if (h->kernels->prev != NULL && n + 1 <= LEAF_CHUNKS &&
                    len == (n + 1) * FC_BLAKE3_CHUNK_LEN) {
                    /* The input ends with one whole chunk after these: it
                     * runs in their lane groups rather than 15 serial
                     * compressions, its last block kept open. */
                    uint8_t prev[32];
                    chunk_run(h, p, (size_t)n, prev);
                    bytes_to_cv(prev, h->cv);
                    h->blocks_done = FC_BLAKE3_CHUNK_LEN / 64 - 1;
                    memcpy(h->buf, p + len - 64, 64);
                    h->buf_len = 64;
                    break;
                }
                chunk_run(h, p, (size_t)n, NULL);
            }
            else {
                uint8_t cv[32];
                subtree_cv(h->kernels, h->key, h->flags, p, n,
                           h->chunk_counter, cv);
                push_subtree(h, cv, n);
            }
            p += n * FC_BLAKE3_CHUNK_LEN;
            len -= (size_t)(n * FC_BLAKE3_CHUNK_LEN);
            continue;
        }
        size_t took = chunk_update(h, p, len);
        p += took;
        len -= took;
    }
}

/* --- output ------------------------------------------------------------- */

typedef struct {
    uint32_t cv[8];
    uint8_t block[64];
    unsigned block_len;
    uint64_t counter;
    unsigned flags;
} out_node;

static void
root_bytes(fc_blake3_compress_fn fn, const out_node *o, uint64_t seek,
           uint8_t *out, size_t len)
{
    uint64_t blk = seek / 64;
    size_t skip = (size_t)(seek % 64);
    while (len > 0) {
        uint32_t v[16];
        uint8_t words[64];
        fn(o->cv, o->block, o->block_len, blk, o->flags | FC_B3_ROOT, v);
        for (int i = 0; i < 8; i++) {
            fc_b3_store32(words + 4 * i, v[i] ^ v[i + 8]);
            fc_b3_store32(words + 32 + 4 * i, v[i + 8] ^ o->cv[i]);
        }
        size_t n = 64 - skip;
        if (n > len) {
            n = len;
        }
        memcpy(out, words + skip, n);
        out += n;
        len -= n;
        skip = 0;
        blk++;
    }
}

void
fc_blake3_finalize_seek(const fc_blake3_hasher *h, uint64_t seek,
                        uint8_t *out, size_t out_len)
{
    out_node o;
    memcpy(o.cv, h->cv, sizeof(o.cv));
    memset(o.block, 0, sizeof(o.block));
    memcpy(o.block, h->buf, h->buf_len);
    o.block_len = h->buf_len;
    o.counter = h->chunk_counter;
    o.flags = h->flags | FC_B3_CHUNK_END |
              (h->blocks_done ? 0 : FC_B3_CHUNK_START);
    /* Fold the stack from the top: every node but the last is a child. */
    for (int i = (int)h->stack_len - 1; i >= 0; i--) {
        uint32_t cv[8];
        memcpy(cv, o.cv, sizeof(cv));
        compress_cv(h->kernels->compress, cv, o.block, o.block_len,
                    o.counter, o.flags);
        memcpy(o.block, h->stack[i], 32);
        cv_to_bytes(cv, o.block + 32);
        memcpy(o.cv, h->key, sizeof(o.cv));
        o.block_len = 64;
        o.counter = 0;
        o.flags = h->flags | FC_B3_PARENT;
    }
    root_bytes(h->kernels->compress, &o, seek, out, out_len);
}

void
fc_blake3_finalize(const fc_blake3_hasher *h, uint8_t *out, size_t out_len)
{
    fc_blake3_finalize_seek(h, 0, out, out_len);
}

void
fc_blake3_hash(const fc_blake3_kernels *kernels, const void *data,
               size_t len, uint8_t out[32])
{
    fc_blake3_hasher h;
    fc_blake3_init(&h, kernels);
    fc_blake3_update(&h, data, len);
    fc_blake3_finalize(&h, out, 32);
}

/* --- multithreaded update ----------------------------------------------- */

/* Subtrees handed to one run() call: bounds the arrays on the stack. */
#define PAR_BATCH 128

typedef struct {
    const fc_blake3_kernels *kernels;
    const uint32_t *key;
    unsigned flags;
    const uint8_t *data;        /* chunk `counter` */
    uint64_t counter;
    uint64_t start[PAR_BATCH];  /* first chunk of each task, from counter */
    uint64_t size[PAR_BATCH];   /* its chunks, a power of two */
    uint8_t cvs[PAR_BATCH][32];
} par_job;

static void
par_task(void *arg, int64_t i)
{
    par_job *job = arg;
    subtree_cv(job->kernels, job->key, job->flags,
               job->data + job->start[i] * FC_BLAKE3_CHUNK_LEN, job->size[i],
               job->counter + job->start[i], job->cvs[i]);
}

int
fc_blake3_update_parallel(fc_blake3_hasher *h, const void *data, size_t len,
                          uint64_t subtree_chunks, fc_blake3_run_fn run,
                          void *ctx)
{
    const uint8_t *p = data;
    uint64_t s = subtree_chunks ? subtree_chunks : 1;
    par_job *job = malloc(sizeof(par_job));
    if (job == NULL) {
        fc_blake3_update(h, p, len);    /* same result, one thread */
        return 0;
    }

    /* Finish the current partial chunk serially (under 1 KiB). */
    size_t fill = chunk_fill(h);
    if (fill > 0 && fill < FC_BLAKE3_CHUNK_LEN) {
        size_t take = FC_BLAKE3_CHUNK_LEN - fill;
        if (take > len) {
            take = len;
        }
        fc_blake3_update(h, p, take);
        p += take;
        len -= take;
    }
    if (len > 0 && chunk_fill(h) == FC_BLAKE3_CHUNK_LEN) {
        finish_chunk(h);
    }

    /* Every complete chunk that has input after it goes into tasks: the
     * aligned power-of-two subtrees (at most s chunks) that the stack
     * would make of them, in order. */
    job->kernels = h->kernels;
    job->key = h->key;
    job->flags = h->flags;
    while (len > FC_BLAKE3_CHUNK_LEN) {
        uint64_t whole = (uint64_t)((len - 1) / FC_BLAKE3_CHUNK_LEN);
        uint64_t c = h->chunk_counter, off = 0;
        int64_t ntasks = 0;
        while (off < whole && ntasks < PAR_BATCH) {
            uint64_t n = 1;
            while (n * 2 <= whole - off && n * 2 <= s) {
                n *= 2;
            }
            while ((c + off) & (n - 1)) {
                n /= 2;
            }
            job->start[ntasks] = off;
            job->size[ntasks] = n;
            ntasks++;
            off += n;
        }
        job->data = p;
        job->counter = c;
        if (run(ctx, par_task, job, ntasks) != 0) {
            free(job);
            return -1;
        }
        for (int64_t i = 0; i < ntasks; i++) {
            push_subtree(h, job->cvs[i], job->size[i]);
        }
        p += off * FC_BLAKE3_CHUNK_LEN;
        len -= (size_t)(off * FC_BLAKE3_CHUNK_LEN);
    }
    free(job);
    fc_blake3_update(h, p, len);    /* the last chunk, under 1 KiB more */
    return 0;
}
