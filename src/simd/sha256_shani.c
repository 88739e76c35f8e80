/* sha256_shani.c - SHA-256 and SHA-224 (FIPS 180-4) with the x86 SHA
 * extensions, two messages at a time.
 *
 * Why two: sha256rnds2 does two rounds and the next one needs its result,
 * so one message is bound by the instruction's latency (about 4 cycles on
 * the AMD cores seen here) while the unit could start one every 2 cycles.
 * Two independent messages in the same loop fill that gap, so hash_many
 * over many small items hashes close to twice as fast per core as one
 * message at a time (which is what OpenSSL's SHA-NI code does).
 *
 * Compiled with -msha -msse4.1 -mssse3; only called when the CPU has SHA,
 * SSE4.1 and SSSE3.  No Python API.
 */
#if defined(__x86_64__)

#include "simd/sha_simd.h"

#include <immintrin.h>
#include <string.h>

/* The round constants (FIPS 180-4, 4.2.2). */
static const uint32_t K256[64] __attribute__((aligned(16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5,
    0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
    0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
    0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
    0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* The state as the SHA instructions hold it: abef = (f, e, b, a) and
 * cdgh = (h, g, d, c), lowest 32-bit lane first. */
typedef struct {
    __m128i abef, cdgh;
} sha_regs;

static inline sha_regs
regs_from_words(const uint32_t h[8])
{
    __m128i dcba = _mm_loadu_si128((const __m128i *)h);        /* a b c d */
    __m128i hgfe = _mm_loadu_si128((const __m128i *)(h + 4));  /* e f g h */
    __m128i badc = _mm_shuffle_epi32(dcba, 0xB1);   /* b a d c */
    __m128i efgh = _mm_shuffle_epi32(hgfe, 0x1B);   /* h g f e */
    sha_regs s;
    s.abef = _mm_alignr_epi8(badc, efgh, 8);        /* f e b a */
    s.cdgh = _mm_blend_epi16(efgh, badc, 0xF0);     /* h g d c */
    return s;
}

/* The digest: the state words big-endian, the first outlen bytes. */
static inline void
regs_to_digest(sha_regs s, unsigned char *out, int outlen)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL,
                                         0x0405060700010203LL);
    __m128i feba = _mm_shuffle_epi32(s.abef, 0x1B);  /* a b e f */
    __m128i dchg = _mm_shuffle_epi32(s.cdgh, 0xB1);  /* g h c d */
    __m128i abcd = _mm_blend_epi16(feba, dchg, 0xF0);
    __m128i efgh = _mm_alignr_epi8(dchg, feba, 8);
    if (outlen == 32) {
        /* Straight to out (a memcpy of a variable size is a call). */
        _mm_storeu_si128((__m128i *)out, _mm_shuffle_epi8(abcd, bswap));
        _mm_storeu_si128((__m128i *)(out + 16),
                         _mm_shuffle_epi8(efgh, bswap));
        return;
    }
    unsigned char buf[32];
    _mm_storeu_si128((__m128i *)buf, _mm_shuffle_epi8(abcd, bswap));
    _mm_storeu_si128((__m128i *)(buf + 16), _mm_shuffle_epi8(efgh, bswap));
    if (outlen == 28) {
        memcpy(out, buf, 28);   /* SHA-224 */
    }
    else {
        memcpy(out, buf, (size_t)outlen);
    }
}

/* Four rounds (group g, 0..15) of one message: w holds the schedule words
 * W[4g..4g+3]. */
#define FOUR_ROUNDS(s, w, g)                                               \
    do {                                                                   \
        __m128i m_ = _mm_add_epi32((w),                                    \
            _mm_load_si128((const __m128i *)(K256 + 4 * (g))));            \
        (s).cdgh = _mm_sha256rnds2_epu32((s).cdgh, (s).abef, m_);          \
        m_ = _mm_shuffle_epi32(m_, 0x0E);                                  \
        (s).abef = _mm_sha256rnds2_epu32((s).abef, (s).cdgh, m_);          \
    } while (0)

/* The next four schedule words from the previous sixteen, w0 the oldest. */
#define NEXT_W(w0, w1, w2, w3)                                             \
    _mm_sha256msg2_epu32(                                                  \
        _mm_add_epi32(_mm_sha256msg1_epu32((w0), (w1)),                    \
                      _mm_alignr_epi8((w3), (w2), 4)),                     \
        (w3))

/* After FOUR_ROUNDS the two registers have swapped roles, so a group
 * writes cdgh then abef: the pair (abef, cdgh) is again (ABEF, CDGH). */

#define LOAD_W(p, i, bswap)                                                \
    _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p) + (i)), (bswap))

/* The sixteen groups, with the schedule kept in four registers per
 * message, for one (ONE) or two (TWO) messages at a time.  TWO writes each
 * step for message a then for message b, so the two chains interleave. */
#define GROUP1(g, x0, x1, x2, x3)                                          \
    do {                                                                   \
        if ((g) >= 4) {                                                    \
            x0 = NEXT_W(x0, x1, x2, x3);                                   \
        }                                                                  \
        FOUR_ROUNDS(sa, x0, g);                                            \
    } while (0)

#define GROUP2(g, x0, x1, x2, x3, y0, y1, y2, y3)                          \
    do {                                                                   \
        if ((g) >= 4) {                                                    \
            x0 = NEXT_W(x0, x1, x2, x3);                                   \
            y0 = NEXT_W(y0, y1, y2, y3);                                   \
        }                                                                  \
        FOUR_ROUNDS(sa, x0, g);                                            \
        FOUR_ROUNDS(sb, y0, g);                                            \
    } while (0)

/* CALL lets ROTn's commas become arguments of GROUP. */
#define CALL(m, ...) m(__VA_ARGS__)
#define SIXTEEN(GROUP, ...)                                                \
    do {                                                                   \
        CALL(GROUP, 0, ROT0(__VA_ARGS__));                                 \
        CALL(GROUP, 1, ROT1(__VA_ARGS__));                                 \
        CALL(GROUP, 2, ROT2(__VA_ARGS__));                                 \
        CALL(GROUP, 3, ROT3(__VA_ARGS__));                                 \
        CALL(GROUP, 4, ROT0(__VA_ARGS__));                                 \
        CALL(GROUP, 5, ROT1(__VA_ARGS__));                                 \
        CALL(GROUP, 6, ROT2(__VA_ARGS__));                                 \
        CALL(GROUP, 7, ROT3(__VA_ARGS__));                                 \
        CALL(GROUP, 8, ROT0(__VA_ARGS__));                                 \
        CALL(GROUP, 9, ROT1(__VA_ARGS__));                                 \
        CALL(GROUP, 10, ROT2(__VA_ARGS__));                                \
        CALL(GROUP, 11, ROT3(__VA_ARGS__));                                \
        CALL(GROUP, 12, ROT0(__VA_ARGS__));                                \
        CALL(GROUP, 13, ROT1(__VA_ARGS__));                                \
        CALL(GROUP, 14, ROT2(__VA_ARGS__));                                \
        CALL(GROUP, 15, ROT3(__VA_ARGS__));                                \
    } while (0)

static inline void
compress1(sha_regs *s, const unsigned char *p)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL,
                                         0x0405060700010203LL);
    sha_regs sa = *s;
    __m128i w0 = LOAD_W(p, 0, bswap), w1 = LOAD_W(p, 1, bswap);
    __m128i w2 = LOAD_W(p, 2, bswap), w3 = LOAD_W(p, 3, bswap);
    /* Group g uses the register holding W[4g..] (g mod 4) and computes
     * it from the other three in age order. */
#define ROT0(a, b, c, d) a, b, c, d
#define ROT1(a, b, c, d) b, c, d, a
#define ROT2(a, b, c, d) c, d, a, b
#define ROT3(a, b, c, d) d, a, b, c
    SIXTEEN(GROUP1, w0, w1, w2, w3);
    s->abef = _mm_add_epi32(s->abef, sa.abef);
    s->cdgh = _mm_add_epi32(s->cdgh, sa.cdgh);
}

static inline void
compress2(sha_regs *s, sha_regs *t, const unsigned char *p,
          const unsigned char *q)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL,
                                         0x0405060700010203LL);
    sha_regs sa = *s, sb = *t;
    __m128i w0 = LOAD_W(p, 0, bswap), w1 = LOAD_W(p, 1, bswap);
    __m128i w2 = LOAD_W(p, 2, bswap), w3 = LOAD_W(p, 3, bswap);
    __m128i v0 = LOAD_W(q, 0, bswap), v1 = LOAD_W(q, 1, bswap);
    __m128i v2 = LOAD_W(q, 2, bswap), v3 = LOAD_W(q, 3, bswap);
#undef ROT0
#undef ROT1
#undef ROT2
#undef ROT3
#define ROT0(a, b, c, d, e, f, g, h) a, b, c, d, e, f, g, h
#define ROT1(a, b, c, d, e, f, g, h) b, c, d, a, f, g, h, e
#define ROT2(a, b, c, d, e, f, g, h) c, d, a, b, g, h, e, f
#define ROT3(a, b, c, d, e, f, g, h) d, a, b, c, h, e, f, g
    SIXTEEN(GROUP2, w0, w1, w2, w3, v0, v1, v2, v3);
#undef ROT0
#undef ROT1
#undef ROT2
#undef ROT3
    s->abef = _mm_add_epi32(s->abef, sa.abef);
    s->cdgh = _mm_add_epi32(s->cdgh, sa.cdgh);
    t->abef = _mm_add_epi32(t->abef, sb.abef);
    t->cdgh = _mm_add_epi32(t->cdgh, sb.cdgh);
}

/* One message as a series of 64-byte blocks: its whole blocks in place,
 * then the padded tail (the last partial block, 0x80, zeros and the
 * length in bits, big-endian) in one or two blocks of our own. */
typedef struct {
    const unsigned char *data;
    size_t whole;               /* whole blocks in data */
    size_t blocks;              /* whole + 1 or 2 */
    unsigned char tail[128];
} sha_msg;

static void
msg_init(sha_msg *m, const unsigned char *p, size_t n)
{
    size_t r = n % 64, tlen = r < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)n << 3;
    m->data = p;
    m->whole = n / 64;
    m->blocks = m->whole + tlen / 64;
    /* Zeros of a constant size (inlined stores; the variable-size memset
     * this replaces was a call per message), then the bytes that differ. */
    memset(m->tail, 0, sizeof(m->tail));
    if (r > 0) {
        memcpy(m->tail, p + n - r, r);
    }
    m->tail[r] = 0x80;
    uint64_t be = __builtin_bswap64(bits);
    memcpy(m->tail + tlen - 8, &be, 8);
}

static inline const unsigned char *
msg_block(const sha_msg *m, size_t i)
{
    return i < m->whole ? m->data + 64 * i : m->tail + 64 * (i - m->whole);
}

void
fc_sha256_pair_shani(const uint32_t iv[8], int outlen,
                     const unsigned char *a, size_t na, unsigned char *outa,
                     const unsigned char *b, size_t nb, unsigned char *outb)
{
    sha_msg ma, mb;
    sha_regs sa = regs_from_words(iv), sb = sa;
    size_t i = 0;
    msg_init(&ma, a, na);
    if (b == NULL) {
        for (; i < ma.blocks; i++) {
            compress1(&sa, msg_block(&ma, i));
        }
        regs_to_digest(sa, outa, outlen);
        return;
    }
    msg_init(&mb, b, nb);
    for (; i < ma.blocks && i < mb.blocks; i++) {
        compress2(&sa, &sb, msg_block(&ma, i), msg_block(&mb, i));
    }
    for (size_t j = i; j < ma.blocks; j++) {
        compress1(&sa, msg_block(&ma, j));
    }
    for (size_t j = i; j < mb.blocks; j++) {
        compress1(&sb, msg_block(&mb, j));
    }
    regs_to_digest(sa, outa, outlen);
    regs_to_digest(sb, outb, outlen);
}

#endif /* __x86_64__ */
