/* blake3_sse42.c - BLAKE3 over 4 lanes at once with SSE4.1/SSSE3 (built
 * with the sse42 flags; selected only when the CPU has SSE4.1 and SSSE3).
 *
 * Each 128-bit vector holds one state word of four independent inputs
 * (chunks or parents): the message is transposed on load so vector j holds
 * word j of every lane, and the chaining values are transposed back on
 * store.  No Python API.
 */
#include "simd/blake3_kernels.h"
#include "simd/blake3_simd.h"

#include <immintrin.h>

/* Byte shuffles rotating each 32-bit word right by 16 and by 8.  They are
 * used as memory operands (the asm below) rather than kept in registers:
 * the 16 state vectors then fit the 16 registers with fewer spills, which
 * measured faster.  The instruction is the one the intrinsic would give. */
typedef union {
    uint8_t b[16];
    __m128i v;
} b3_mask;
static const b3_mask b3_rot16 = {{
    2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13,
}};
static const b3_mask b3_rot8 = {{
    1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12,
}};

static inline __m128i
shuffle_mem(__m128i x, const __m128i *mask)
{
    __asm__("pshufb %1, %0" : "+x"(x) : "m"(*mask));
    return x;
}

/* a + m, kept as one value: without the empty asm GCC computes (m + b) + a,
 * which puts two additions after b on the critical path (measured ~5%). */
static inline __m128i
add_msg(__m128i a, __m128i m)
{
    __m128i t = _mm_add_epi32(a, m);
    __asm__("" : "+x"(t));
    return t;
}
#define FC_B3_ADD_MSG(a, x) add_msg((a), (x))

#define ADD(a, b) _mm_add_epi32((a), (b))
#define XOR(a, b) _mm_xor_si128((a), (b))
#define R16(x) shuffle_mem((x), &b3_rot16.v)
#define R8(x) shuffle_mem((x), &b3_rot8.v)
#define R12(x) _mm_or_si128(_mm_srli_epi32((x), 12), _mm_slli_epi32((x), 20))
#define R7(x) _mm_or_si128(_mm_srli_epi32((x), 7), _mm_slli_epi32((x), 25))

/* r[i] holds words (4q .. 4q+3) of lane i; afterwards r[j] holds word 4q+j
 * of lanes 0..3. */
static inline void
transpose4(__m128i r[4])
{
    __m128i t0 = _mm_unpacklo_epi32(r[0], r[1]);
    __m128i t1 = _mm_unpackhi_epi32(r[0], r[1]);
    __m128i t2 = _mm_unpacklo_epi32(r[2], r[3]);
    __m128i t3 = _mm_unpackhi_epi32(r[2], r[3]);
    r[0] = _mm_unpacklo_epi64(t0, t2);
    r[1] = _mm_unpackhi_epi64(t0, t2);
    r[2] = _mm_unpacklo_epi64(t1, t3);
    r[3] = _mm_unpackhi_epi64(t1, t3);
}

void
fc_blake3_lanes4_sse41(const uint8_t *base, size_t stride, size_t nblocks,
                       const uint32_t key[8], uint64_t counter,
                       uint64_t counter_step, unsigned flags,
                       unsigned flags_start, unsigned flags_end, uint8_t *out)
{
    __m128i h[8], v[16], m[16];
    uint32_t lo[4], hi[4];
    fc_b3_lane_counters(counter, counter_step, 4, lo, hi);
    const __m128i ctr_lo = _mm_loadu_si128((const __m128i *)lo);
    const __m128i ctr_hi = _mm_loadu_si128((const __m128i *)hi);
    for (int i = 0; i < 8; i++) {
        h[i] = _mm_set1_epi32((int)key[i]);
    }
    for (size_t b = 0; b < nblocks; b++) {
        const uint8_t *p = base + 64 * b;
        for (int q = 0; q < 4; q++) {
            __m128i r[4];
            for (int i = 0; i < 4; i++) {
                r[i] = _mm_loadu_si128(
                    (const __m128i *)(p + (size_t)i * stride + 16 * q));
            }
            if (q == 0) {
                /* The same block of the next group of lanes (a prefetch
                 * never faults, even past the input). */
                for (int i = 0; i < 4; i++) {
                    _mm_prefetch((const char *)(p + (size_t)(i + 4) * stride),
                                 _MM_HINT_T0);
                }
            }
            transpose4(r);
            for (int j = 0; j < 4; j++) {
                m[4 * q + j] = r[j];
            }
        }
        unsigned f = flags;
        if (b == 0) {
            f |= flags_start;
        }
        if (b + 1 == nblocks) {
            f |= flags_end;
        }
        for (int i = 0; i < 8; i++) {
            v[i] = h[i];
        }
        v[8] = _mm_set1_epi32((int)FC_B3_IV0);
        v[9] = _mm_set1_epi32((int)FC_B3_IV1);
        v[10] = _mm_set1_epi32((int)FC_B3_IV2);
        v[11] = _mm_set1_epi32((int)FC_B3_IV3);
        v[12] = ctr_lo;
        v[13] = ctr_hi;
        v[14] = _mm_set1_epi32(64);
        v[15] = _mm_set1_epi32((int)f);
        FC_B3_ROUNDS();
        for (int i = 0; i < 8; i++) {
            h[i] = XOR(v[i], v[i + 8]);
        }
    }
    /* Back to one 32-byte chaining value per lane.  All loads are done, so
     * out may overlap the input (parents reduced in place). */
    transpose4(h);
    transpose4(h + 4);
    for (int i = 0; i < 4; i++) {
        _mm_storeu_si128((__m128i *)(out + 32 * i), h[i]);
        _mm_storeu_si128((__m128i *)(out + 32 * i + 16), h[4 + i]);
    }
}

/* --- one block, the state held as four rows -------------------------------
 *
 * Row i holds state words 4i..4i+3, so one vector operation runs the G
 * function on the four columns at once; rotating rows 1-3 by one, two and
 * three words lines the diagonals up as columns, and the inverse rotation
 * restores them.  Used for the chunk being filled, parents and the root. */

/* Message words of round r in the order the four G's of a half-step take
 * them: x of the columns, y of the columns, x and y of the diagonals. */
static inline __m128i
msg4(const uint32_t *w, const uint8_t *s, int a, int b, int c, int d)
{
    return _mm_setr_epi32((int)w[s[a]], (int)w[s[b]], (int)w[s[c]],
                          (int)w[s[d]]);
}

#define ROWS_G(r0, r1, r2, r3, mx, my)                                      \
    do {                                                                    \
        r0 = ADD(FC_B3_ADD_MSG(r0, mx), r1);                                \
        r3 = R16(XOR(r3, r0));                                              \
        r2 = ADD(r2, r3);                                                   \
        r1 = R12(XOR(r1, r2));                                              \
        r0 = ADD(FC_B3_ADD_MSG(r0, my), r1);                                \
        r3 = R8(XOR(r3, r0));                                               \
        r2 = ADD(r2, r3);                                                   \
        r1 = R7(XOR(r1, r2));                                               \
    } while (0)

void
fc_blake3_compress_sse41(const uint32_t cv[8], const uint8_t block[64],
                         unsigned block_len, uint64_t counter, unsigned flags,
                         uint32_t out[16])
{
    uint32_t w[16];
    for (int i = 0; i < 16; i++) {
        w[i] = fc_b3_load32(block + 4 * i);
    }
    __m128i r0 = _mm_loadu_si128((const __m128i *)cv);
    __m128i r1 = _mm_loadu_si128((const __m128i *)(cv + 4));
    __m128i r2 = _mm_setr_epi32((int)FC_B3_IV0, (int)FC_B3_IV1,
                                (int)FC_B3_IV2, (int)FC_B3_IV3);
    __m128i r3 = _mm_setr_epi32((int)(uint32_t)counter,
                                (int)(uint32_t)(counter >> 32),
                                (int)block_len, (int)flags);
    for (int r = 0; r < 7; r++) {
        const uint8_t *s = fc_b3_sched[r];
        ROWS_G(r0, r1, r2, r3, msg4(w, s, 0, 2, 4, 6), msg4(w, s, 1, 3, 5, 7));
        /* Diagonals to columns: row i rotated left by i words. */
        r1 = _mm_shuffle_epi32(r1, _MM_SHUFFLE(0, 3, 2, 1));
        r2 = _mm_shuffle_epi32(r2, _MM_SHUFFLE(1, 0, 3, 2));
        r3 = _mm_shuffle_epi32(r3, _MM_SHUFFLE(2, 1, 0, 3));
        ROWS_G(r0, r1, r2, r3, msg4(w, s, 8, 10, 12, 14),
               msg4(w, s, 9, 11, 13, 15));
        r1 = _mm_shuffle_epi32(r1, _MM_SHUFFLE(2, 1, 0, 3));
        r2 = _mm_shuffle_epi32(r2, _MM_SHUFFLE(1, 0, 3, 2));
        r3 = _mm_shuffle_epi32(r3, _MM_SHUFFLE(0, 3, 2, 1));
    }
    _mm_storeu_si128((__m128i *)out, r0);
    _mm_storeu_si128((__m128i *)(out + 4), r1);
    _mm_storeu_si128((__m128i *)(out + 8), r2);
    _mm_storeu_si128((__m128i *)(out + 12), r3);
}
