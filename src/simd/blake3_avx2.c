/* blake3_avx2.c - BLAKE3 over 8 lanes at once with AVX2 (built with the
 * avx2 flags; selected only when the CPU has AVX2).
 *
 * Each 256-bit vector holds one state word of eight independent inputs
 * (chunks or parents): the message is transposed on load (an 8x8 transpose
 * of 32-bit words for each half block) and the chaining values back on
 * store.  No Python API.
 */
#include "../blake3_impl.h"
#include "blake3_simd.h"

#include <immintrin.h>

/* Byte shuffles rotating each 32-bit word right by 16 and by 8.  They are
 * used as memory operands (the asm below) rather than kept in registers:
 * the 16 state vectors then fit the 16 registers with fewer spills, which
 * measured faster.  The instruction is the one the intrinsic would give. */
typedef union {
    uint8_t b[32];
    __m256i v;
} b3_mask;
static const b3_mask b3_rot16 = {{
    2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13,
    2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13,
}};
static const b3_mask b3_rot8 = {{
    1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12,
    1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12,
}};

static inline __m256i
shuffle_mem(__m256i x, const __m256i *mask)
{
    __m256i r;
    __asm__("vpshufb %2, %1, %0" : "=x"(r) : "x"(x), "m"(*mask));
    return r;
}

/* a + m, kept as one value: without the empty asm GCC computes (m + b) + a,
 * which puts two additions after b on the critical path (measured ~5%). */
static inline __m256i
add_msg(__m256i a, __m256i m)
{
    __m256i t = _mm256_add_epi32(a, m);
    __asm__("" : "+x"(t));
    return t;
}
#define FC_B3_ADD_MSG(a, x) add_msg((a), (x))

#define ADD(a, b) _mm256_add_epi32((a), (b))
#define XOR(a, b) _mm256_xor_si256((a), (b))
#define R16(x) shuffle_mem((x), &b3_rot16.v)
#define R8(x) shuffle_mem((x), &b3_rot8.v)
#define R12(x)                                                              \
    _mm256_or_si256(_mm256_srli_epi32((x), 12), _mm256_slli_epi32((x), 20))
#define R7(x)                                                               \
    _mm256_or_si256(_mm256_srli_epi32((x), 7), _mm256_slli_epi32((x), 25))

/* r[i] holds 8 consecutive words of lane i; afterwards r[j] holds word j
 * of lanes 0..7.  Pairs, then quads inside each 128-bit half, then the
 * halves are swapped across. */
static inline void
transpose8(__m256i r[8])
{
    __m256i t0 = _mm256_unpacklo_epi32(r[0], r[1]);
    __m256i t1 = _mm256_unpackhi_epi32(r[0], r[1]);
    __m256i t2 = _mm256_unpacklo_epi32(r[2], r[3]);
    __m256i t3 = _mm256_unpackhi_epi32(r[2], r[3]);
    __m256i t4 = _mm256_unpacklo_epi32(r[4], r[5]);
    __m256i t5 = _mm256_unpackhi_epi32(r[4], r[5]);
    __m256i t6 = _mm256_unpacklo_epi32(r[6], r[7]);
    __m256i t7 = _mm256_unpackhi_epi32(r[6], r[7]);
    /* u0: words 0|4 of lanes 0-3, u1: 1|5, u2: 2|6, u3: 3|7; u4..u7 the
     * same for lanes 4-7. */
    __m256i u0 = _mm256_unpacklo_epi64(t0, t2);
    __m256i u1 = _mm256_unpackhi_epi64(t0, t2);
    __m256i u2 = _mm256_unpacklo_epi64(t1, t3);
    __m256i u3 = _mm256_unpackhi_epi64(t1, t3);
    __m256i u4 = _mm256_unpacklo_epi64(t4, t6);
    __m256i u5 = _mm256_unpackhi_epi64(t4, t6);
    __m256i u6 = _mm256_unpacklo_epi64(t5, t7);
    __m256i u7 = _mm256_unpackhi_epi64(t5, t7);
    r[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
    r[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
    r[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
    r[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
    r[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
    r[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
    r[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
    r[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

void
fc_blake3_lanes8_avx2(const uint8_t *base, size_t stride, size_t nblocks,
                      const uint32_t key[8], uint64_t counter,
                      uint64_t counter_step, unsigned flags,
                      unsigned flags_start, unsigned flags_end, uint8_t *out)
{
    /* v[0..7] carry the chaining value from block to block. */
    __m256i v[16], m[16];
    uint32_t lo[8], hi[8];
    for (int i = 0; i < 8; i++) {
        uint64_t c = counter + (uint64_t)i * counter_step;
        lo[i] = (uint32_t)c;
        hi[i] = (uint32_t)(c >> 32);
    }
    const __m256i ctr_lo = _mm256_loadu_si256((const __m256i *)lo);
    const __m256i ctr_hi = _mm256_loadu_si256((const __m256i *)hi);
    for (int i = 0; i < 8; i++) {
        v[i] = _mm256_set1_epi32((int)key[i]);
    }
    for (size_t b = 0; b < nblocks; b++) {
        const uint8_t *p = base + 64 * b;
        for (int i = 0; i < 8; i++) {
            const uint8_t *q = p + (size_t)i * stride;
            m[i] = _mm256_loadu_si256((const __m256i *)q);
            m[8 + i] = _mm256_loadu_si256((const __m256i *)(q + 32));
            /* The same block of the next group of lanes: eight short
             * streams 1 KiB long train the hardware prefetcher poorly.
             * A prefetch never faults, even past the input. */
            _mm_prefetch((const char *)(q + 8 * stride), _MM_HINT_T0);
        }
        transpose8(m);
        transpose8(m + 8);
        unsigned f = flags;
        if (b == 0) {
            f |= flags_start;
        }
        if (b + 1 == nblocks) {
            f |= flags_end;
        }
        v[8] = _mm256_set1_epi32((int)FC_B3_IV0);
        v[9] = _mm256_set1_epi32((int)FC_B3_IV1);
        v[10] = _mm256_set1_epi32((int)FC_B3_IV2);
        v[11] = _mm256_set1_epi32((int)FC_B3_IV3);
        v[12] = ctr_lo;
        v[13] = ctr_hi;
        v[14] = _mm256_set1_epi32(64);
        v[15] = _mm256_set1_epi32((int)f);
        FC_B3_ROUNDS();
        for (int i = 0; i < 8; i++) {
            v[i] = XOR(v[i], v[i + 8]);
        }
    }
    /* Back to one 32-byte chaining value per lane.  All loads are done, so
     * out may overlap the input (parents reduced in place). */
    transpose8(v);
    for (int i = 0; i < 8; i++) {
        _mm256_storeu_si256((__m256i *)(out + 32 * i), v[i]);
    }
}
