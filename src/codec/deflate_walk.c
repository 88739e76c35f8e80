/* codec/deflate_walk.c - the block structure of a raw deflate stream, read
 * without producing its output: where the final block's header is and
 * where the stream ends.  With that, a complete stream (all libdeflate
 * writes: it cannot flush) becomes one that goes on: its final flag
 * cleared and an empty stored block appended, exactly what zlib's sync
 * flush ends a piece with.  zlib.c lays gzip blocks out that way inside
 * one member (see deflate.h).
 *
 * The walk decodes every Huffman symbol (there is no other way to find a
 * block's end) but writes nothing: a few percent of the compression time
 * of the same block.  It checks as it goes that the stream is well formed
 * and decodes to exactly the number of bytes expected, so that a walk
 * that went wrong can only fail (the caller then compresses with zlib),
 * never move the wrong bit.
 *
 * The same walk checks a gzip member's block index (zlib.c) before a
 * reader trusts it: each piece it lists must be whole blocks that decode
 * alone (no match reaching before the piece) to the size it says.
 *
 * No library, no Python API, no allocation: the tables are on the stack.
 */
#include "codec/deflate.h"

#include <string.h>

/* Codes up to this many bits are decoded by one table lookup; longer
 * ones (rare symbols) bit by bit in canonical order. */
#define FAST_BITS 10
#define MAX_BITS 15
#define MAX_LITLEN 288
#define MAX_DIST 32

/* LSB-first bit reader over p[0 .. n); bytes past the end read as zeros
 * and are counted, so that the position can be checked at the end. */
typedef struct {
    const unsigned char *p;
    size_t n;
    size_t pos;             /* next byte to load (may pass n) */
    uint64_t buf;
    unsigned cnt;           /* valid bits in buf */
} bitreader;

static inline void
refill(bitreader *b)
{
    while (b->cnt <= 56) {
        uint64_t byte = b->pos < b->n ? b->p[b->pos] : 0;
        b->pos++;
        b->buf |= byte << b->cnt;
        b->cnt += 8;
    }
}

/* Bits consumed so far. */
static inline uint64_t
bit_pos(const bitreader *b)
{
    return (uint64_t)b->pos * 8 - b->cnt;
}

static inline uint32_t
take(bitreader *b, unsigned k)
{
    uint32_t v = (uint32_t)(b->buf & ((1u << k) - 1));
    b->buf >>= k;
    b->cnt -= k;
    return v;
}

/* A canonical Huffman code: `fast` maps the next FAST_BITS bits to
 * (symbol << 4 | length), 0 for a longer code; count/symbol decode those
 * bit by bit (as zlib's puff does). */
typedef struct {
    uint16_t fast[1 << FAST_BITS];
    uint16_t count[MAX_BITS + 1];
    uint16_t symbol[MAX_LITLEN];
} huffman;

/* Build from code lengths; -1 when the lengths over-subscribe the code
 * space (an incomplete code is accepted: its unused patterns fail when
 * met). */
static int
build(huffman *h, const uint8_t *len, int n)
{
    uint16_t offs[MAX_BITS + 2];
    memset(h->count, 0, sizeof(h->count));
    for (int s = 0; s < n; s++) {
        h->count[len[s]]++;
    }
    int left = 1;
    for (int k = 1; k <= MAX_BITS; k++) {
        left = (left << 1) - h->count[k];
        if (left < 0) {
            return -1;
        }
    }
    offs[1] = 0;
    for (int k = 1; k <= MAX_BITS; k++) {
        offs[k + 1] = (uint16_t)(offs[k] + h->count[k]);
    }
    for (int s = 0; s < n; s++) {
        if (len[s] != 0) {
            h->symbol[offs[len[s]]++] = (uint16_t)s;
        }
    }
    /* The fast table: canonical codes in symbol order, bit-reversed
     * (deflate sends a code's first bit first, into the low bits). */
    memset(h->fast, 0, sizeof(h->fast));
    unsigned code = 0;
    int idx = 0;
    for (int k = 1; k <= FAST_BITS; k++) {
        for (int j = 0; j < h->count[k]; j++, idx++) {
            unsigned rev = 0;
            for (int b = 0; b < k; b++) {
                rev |= ((code >> b) & 1u) << (k - 1 - b);
            }
            uint16_t e = (uint16_t)(h->symbol[idx] << 4 | k);
            for (unsigned r = rev; r < (1u << FAST_BITS); r += 1u << k) {
                h->fast[r] = e;
            }
            code++;
        }
        code <<= 1;
    }
    return 0;
}

/* The next symbol, or -1 for a pattern that is no code.  At least
 * MAX_BITS bits must be in the buffer. */
static inline int
decode(bitreader *b, const huffman *h)
{
    uint16_t e = h->fast[b->buf & ((1u << FAST_BITS) - 1)];
    if (e != 0) {
        take(b, e & 15);
        return e >> 4;
    }
    int code = 0, first = 0, index = 0;
    for (int k = 1; k <= MAX_BITS; k++) {
        code |= (int)take(b, 1);
        int count = h->count[k];
        if (code - count < first) {
            return h->symbol[index + (code - first)];
        }
        index += count;
        first += count;
        first <<= 1;
        code <<= 1;
    }
    return -1;
}

static const uint16_t len_base[29] = {
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51,
    59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4,
    5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385,
    513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10,
    11, 11, 12, 12, 13, 13};

/* The two codes of a dynamic block, from its header; -1 if malformed. */
static int
read_dynamic(bitreader *b, huffman *lit, huffman *dist)
{
    static const uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5,
                                      11, 4, 12, 3, 13, 2, 14, 1, 15};
    uint8_t len[MAX_LITLEN + MAX_DIST];
    uint8_t cl[19] = {0};
    refill(b);
    int nlen = (int)take(b, 5) + 257;
    int ndist = (int)take(b, 5) + 1;
    int ncode = (int)take(b, 4) + 4;
    if (nlen > 286 || ndist > 30) {
        return -1;
    }
    for (int i = 0; i < ncode; i++) {
        refill(b);
        cl[order[i]] = (uint8_t)take(b, 3);
    }
    huffman *lencode = lit;         /* the code-length code, built in lit */
    if (build(lencode, cl, 19) < 0) {
        return -1;
    }
    int i = 0;
    while (i < nlen + ndist) {
        refill(b);
        int sym = decode(b, lencode);
        if (sym < 0) {
            return -1;
        }
        if (sym < 16) {
            len[i++] = (uint8_t)sym;
            continue;
        }
        int rep;
        uint8_t val = 0;
        if (sym == 16) {
            if (i == 0) {
                return -1;
            }
            val = len[i - 1];
            rep = 3 + (int)take(b, 2);
        }
        else if (sym == 17) {
            rep = 3 + (int)take(b, 3);
        }
        else {
            rep = 11 + (int)take(b, 7);
        }
        if (i + rep > nlen + ndist) {
            return -1;
        }
        while (rep-- > 0) {
            len[i++] = val;
        }
    }
    if (len[256] == 0) {
        return -1;                  /* no end-of-block code */
    }
    if (build(lit, len, nlen) < 0 || build(dist, len + nlen, ndist) < 0) {
        return -1;
    }
    return 0;
}

static void
fixed_codes(huffman *lit, huffman *dist)
{
    uint8_t len[MAX_LITLEN];
    int s = 0;
    for (; s < 144; s++) {
        len[s] = 8;
    }
    for (; s < 256; s++) {
        len[s] = 9;
    }
    for (; s < 280; s++) {
        len[s] = 7;
    }
    for (; s < MAX_LITLEN; s++) {
        len[s] = 8;
    }
    (void)build(lit, len, MAX_LITLEN);
    for (s = 0; s < MAX_DIST; s++) {
        len[s] = 5;
    }
    (void)build(dist, len, MAX_DIST);
}

/* The symbols of one Huffman-coded block up to its end code; adds the
 * bytes they stand for to *out.  -1 if malformed. */
static int
walk_symbols(bitreader *b, const huffman *lit, const huffman *dist,
             uint64_t *out, uint64_t base)
{
    uint64_t produced = *out;
    for (;;) {
        refill(b);
        if (b->pos > b->n + 8) {
            return -1;              /* ran past the end (on zeros) */
        }
        int sym = decode(b, lit);
        if (sym < 256) {
            if (sym < 0) {
                return -1;
            }
            produced++;
            continue;
        }
        if (sym == 256) {
            break;
        }
        sym -= 257;
        if (sym >= 29) {
            return -1;
        }
        /* <= 15 + 5 bits taken so far after the refill: 36 left. */
        uint32_t length = len_base[sym] + take(b, len_extra[sym]);
        int d = decode(b, dist);
        if (d < 0 || d >= 30) {
            return -1;
        }
        refill(b);
        uint32_t distance = dist_base[d] + take(b, dist_extra[d]);
        if (distance > produced - base) {
            return -1;              /* before the start of the stream (or
                                     * of the piece: base) */
        }
        produced += length;
    }
    *out = produced;
    return 0;
}

/* Pieces a stream must be made of (fc_deflate_check_pieces). */
typedef struct {
    const Py_ssize_t *in_len, *out_len;
    int64_t n;
} pieces;

/* Walk p[0 .. n): the bit offsets of the final block's header and of the
 * end of the stream, and the decoded size.  -1 if malformed, if the walk
 * reads past the end, or (pc not NULL) if the stream is not made of
 * those pieces. */
static int
walk(const unsigned char *p, size_t n, uint64_t *final_bit,
     uint64_t *end_bit, uint64_t *out, const pieces *pc)
{
    bitreader b = {p, n, 0, 0, 0};
    huffman lit, dist;
    int last = 0;
    int64_t k = 0;                  /* the piece being walked */
    uint64_t base = 0;              /* output before it */
    uint64_t piece_end = pc != NULL ? (uint64_t)pc->in_len[0] * 8 : 0;
    *out = 0;
    while (!last) {
        refill(&b);
        uint64_t head = bit_pos(&b);
        last = (int)take(&b, 1);
        int type = (int)take(&b, 2);
        if (last) {
            *final_bit = head;
        }
        if (type == 0) {
            /* Stored: to the byte boundary, LEN, NLEN, LEN bytes. */
            take(&b, b.cnt & 7);
            uint32_t len = take(&b, 16);
            uint32_t nlen = take(&b, 16);
            if ((len ^ 0xffff) != nlen) {
                return -1;
            }
            size_t at = b.pos - b.cnt / 8;
            if (at > n || n - at < len) {
                return -1;
            }
            b.pos = at + len;
            b.buf = 0;
            b.cnt = 0;
            *out += len;
        }
        else if (type == 1 || type == 2) {
            if (type == 1) {
                fixed_codes(&lit, &dist);
            }
            else if (read_dynamic(&b, &lit, &dist) < 0) {
                return -1;
            }
            if (walk_symbols(&b, &lit, &dist, out, base) < 0) {
                return -1;
            }
        }
        else {
            return -1;
        }
        uint64_t at = bit_pos(&b);
        if (at > (uint64_t)n * 8) {
            return -1;
        }
        if (pc != NULL && k + 1 < pc->n) {
            /* Not the last piece: no block crosses its end, and the one
             * that ends there (byte-aligned, not final) closes exactly
             * its output. */
            if (at > piece_end) {
                return -1;
            }
            if (at == piece_end) {
                if (last || *out - base != (uint64_t)pc->out_len[k]) {
                    return -1;
                }
                base = *out;
                k++;
                piece_end += (uint64_t)pc->in_len[k] * 8;
            }
        }
    }
    *end_bit = bit_pos(&b);
    if (pc != NULL &&
        (k + 1 != pc->n || (*end_bit + 7) / 8 * 8 != piece_end ||
         *out - base != (uint64_t)pc->out_len[k])) {
        return -1;
    }
    return 0;
}

int
fc_deflate_check_pieces(const unsigned char *p, size_t n,
                        const Py_ssize_t *in_len, const Py_ssize_t *out_len,
                        int64_t count)
{
    uint64_t final_bit = 0, end_bit = 0, out = 0, sum = 0;
    if (count < 1) {
        return 0;
    }
    for (int64_t k = 0; k < count; k++) {
        if (in_len[k] < 1 || out_len[k] < 0) {
            return 0;
        }
        sum += (uint64_t)in_len[k];
    }
    pieces pc = {in_len, out_len, count};
    return sum == n && walk(p, n, &final_bit, &end_bit, &out, &pc) == 0;
}

Py_ssize_t
fc_deflate_unfinal(unsigned char *p, size_t n, size_t cap, size_t expect)
{
    uint64_t final_bit = 0, end_bit = 0, out = 0;
    if (walk(p, n, &final_bit, &end_bit, &out, NULL) < 0 || out != expect ||
        (end_bit + 7) / 8 != n) {
        return -1;
    }
    /* Clear the final flag and whatever follows the end code in the last
     * byte, then the empty stored block: 3 zero bits, zeros up to the
     * byte boundary, LEN 0000, NLEN ffff. */
    size_t at = (size_t)((end_bit + 3 + 7) / 8);
    if (at + 4 > cap) {
        return -1;
    }
    p[final_bit / 8] &= (unsigned char)~(1u << (final_bit % 8));
    if (end_bit % 8 != 0) {
        p[end_bit / 8] &= (unsigned char)((1u << (end_bit % 8)) - 1);
    }
    for (size_t i = n; i < at; i++) {
        p[i] = 0;
    }
    p[at] = 0;
    p[at + 1] = 0;
    p[at + 2] = 0xff;
    p[at + 3] = 0xff;
    return (Py_ssize_t)(at + 4);
}
