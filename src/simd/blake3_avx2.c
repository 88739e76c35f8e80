/* blake3_avx2.c - BLAKE3 over 8 lanes at once with AVX2 (built with the
 * avx2 flags; selected only when the CPU has AVX2).
 *
 * Each 256-bit vector holds one state word of eight independent inputs
 * (chunks or parents): the message is transposed on load and the chaining
 * values back on store.  On x86-64 a block is one inline-asm statement
 * with a fixed register allocation (see "one block in assembly"); the
 * intrinsics below it are the 32-bit x86 path.  No Python API.
 */
#include "simd/blake3_kernels.h"
#include "simd/blake3_simd.h"

#include <immintrin.h>

/* Byte shuffles rotating each 32-bit word right by 16 and by 8.  The
 * intrinsics path uses them as memory operands (shuffle_mem) rather than
 * keeping them in registers: the 16 state vectors then fit the registers
 * with fewer spills, which measured faster.  The instruction is the one the
 * intrinsic would give. */
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

#if !defined(__x86_64__)
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
#endif

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

#if defined(__x86_64__)
/* --- one block in assembly (x86-64: 16 ymm registers) ------------------
 *
 * GCC, given the rounds as intrinsics, spills state vectors around every
 * G function.  Here the allocation is fixed.  The chaining values h0..h7
 * are "+x" operands: with %ymm8-15 clobbered they can only get %ymm0-7,
 * and they stay there from block to block (not register variables: GCC
 * does not keep those across the code around the asm, which under the
 * sanitizers' instrumentation gave wrong hashes).  A block first
 * transposes the eight lanes' message into w[0..15] with %ymm8-15 as
 * scratch: for each 16-byte quarter, lane i and lane i+4 share a register
 * (a 16-byte load and an insert), so one 4x4 transpose of 32-bit words
 * inside both 128-bit halves gives words of lanes 0..7 in order.  Then the
 * rounds: state word k lives in h_k (k < 8) or %ymm k (k > 8), word 8
 * lives in memory (w[16]) and %ymm8 is the scratch register.  Each half of
 * a step runs the four independent G functions (see B3_HALF).  Word 8 is
 * a "c" input in every step (the first G of a half-step below is always
 * the one with c = 8): "c += d" loads it into the scratch register
 * (c = d + w[16]), "b ^= c" uses it there, and it is stored back before
 * the rotations need the scratch register.  Message word x is a memory
 * operand at w + 32 x, so the permutation of each round is only a choice
 * of offsets.  w[17..23] holds IV1-3, the counters' low and high words,
 * the block length and IV0.  GCC's own code for the rounds (the intrinsics
 * path) ran at ~0.9x the blake3 package's assembly; this at ~1.02x. */

/* State word k: the asm operands h0..h7 (GCC can only give them %ymm0-7,
 * the others being clobbered), then the fixed registers. */
#define B3_V(k) B3_V_##k
#define B3_V_0 "%[h0]"
#define B3_V_1 "%[h1]"
#define B3_V_2 "%[h2]"
#define B3_V_3 "%[h3]"
#define B3_V_4 "%[h4]"
#define B3_V_5 "%[h5]"
#define B3_V_6 "%[h6]"
#define B3_V_7 "%[h7]"
#define B3_V_9 "%%ymm9"
#define B3_V_10 "%%ymm10"
#define B3_V_11 "%%ymm11"
#define B3_V_12 "%%ymm12"
#define B3_V_13 "%%ymm13"
#define B3_V_14 "%%ymm14"
#define B3_V_15 "%%ymm15"
#define B3_ONE(op, src, k) op " " src ", " B3_V(k) ", " B3_V(k) "\n\t"
#define B3_MW(x) "32*" #x "(%[w])"
#define B3_SLOT "32*16(%[w])"
#define B3_ROT(b, r, l)                                                     \
    "vpsrld $" #r ", " B3_V(b) ", %%ymm8\n\t"                               \
    "vpslld $" #l ", " B3_V(b) ", " B3_V(b) "\n\t"                          \
    B3_ONE("vpor", "%%ymm8", b)

/* Message words 4q..4q+3 of the eight lanes into w[4q..4q+3]. */
#define B3_QUARTER(q)                                                       \
    "vmovdqu 16*" #q "(%[p]), %%xmm8\n\t"                                   \
    "vinserti128 $1, 16*" #q "(%[p4]), %%ymm8, %%ymm8\n\t"                  \
    "vmovdqu 16*" #q "(%[p],%[st]), %%xmm9\n\t"                             \
    "vinserti128 $1, 16*" #q "(%[p4],%[st]), %%ymm9, %%ymm9\n\t"            \
    "vmovdqu 16*" #q "(%[p],%[st],2), %%xmm10\n\t"                          \
    "vinserti128 $1, 16*" #q "(%[p4],%[st],2), %%ymm10, %%ymm10\n\t"        \
    "vmovdqu 16*" #q "(%[p],%[st3]), %%xmm11\n\t"                           \
    "vinserti128 $1, 16*" #q "(%[p4],%[st3]), %%ymm11, %%ymm11\n\t"         \
    "vpunpckldq %%ymm9, %%ymm8, %%ymm12\n\t"                                \
    "vpunpckhdq %%ymm9, %%ymm8, %%ymm13\n\t"                                \
    "vpunpckldq %%ymm11, %%ymm10, %%ymm14\n\t"                              \
    "vpunpckhdq %%ymm11, %%ymm10, %%ymm15\n\t"                              \
    "vpunpcklqdq %%ymm14, %%ymm12, %%ymm8\n\t"                              \
    "vpunpckhqdq %%ymm14, %%ymm12, %%ymm9\n\t"                              \
    "vpunpcklqdq %%ymm15, %%ymm13, %%ymm10\n\t"                             \
    "vpunpckhqdq %%ymm15, %%ymm13, %%ymm11\n\t"                             \
    "vmovdqa %%ymm8, 32*(4*" #q ")(%[w])\n\t"                               \
    "vmovdqa %%ymm9, 32*(4*" #q "+1)(%[w])\n\t"                             \
    "vmovdqa %%ymm10, 32*(4*" #q "+2)(%[w])\n\t"                            \
    "vmovdqa %%ymm11, 32*(4*" #q "+3)(%[w])\n\t"

/* Half a step: for the four G's (a_i, b_i, c_i, d_i), c_0 = word 8 and
 * x_i their message words: a += x; a += b; d = rot(d ^ a) by a byte
 * shuffle (the mask in %ymm8); then c += d; b = rot(b ^ c) by r bits
 * (l = 32 - r), %ymm8 the scratch.  Each part runs G after G rather than
 * one operation for all four: a G's chain then reaches its rotation
 * sooner (the CPU still overlaps the four), which measured ~1.5% faster. */
#define B3_G1(a, b, d, x)                                                   \
    B3_ONE("vpaddd", B3_MW(x), a) B3_ONE("vpaddd", B3_V(b), a)              \
    B3_ONE("vpxor", B3_V(a), d) B3_ONE("vpshufb", "%%ymm8", d)
#define B3_HALF(a0, b0, d0, a1, b1, c1, d1, a2, b2, c2, d2, a3, b3, c3, d3, \
                x0, x1, x2, x3, mask, r, l)                                 \
    "vmovdqa " mask ", %%ymm8\n\t"                                          \
    B3_G1(a0, b0, d0, x0) B3_G1(a1, b1, d1, x1)                             \
    B3_G1(a2, b2, d2, x2) B3_G1(a3, b3, d3, x3)                             \
    "vpaddd " B3_SLOT ", " B3_V(d0) ", %%ymm8\n\t"                          \
    B3_ONE("vpxor", "%%ymm8", b0)                                           \
    "vmovdqa %%ymm8, " B3_SLOT "\n\t"                                       \
    B3_ROT(b0, r, l)                                                        \
    B3_ONE("vpaddd", B3_V(d1), c1) B3_ONE("vpxor", B3_V(c1), b1)            \
    B3_ROT(b1, r, l)                                                        \
    B3_ONE("vpaddd", B3_V(d2), c2) B3_ONE("vpxor", B3_V(c2), b2)            \
    B3_ROT(b2, r, l)                                                        \
    B3_ONE("vpaddd", B3_V(d3), c3) B3_ONE("vpxor", B3_V(c3), b3)            \
    B3_ROT(b3, r, l)

/* One round; s0..s15 is the round's row of fc_b3_sched.  Columns
 * G(0,4,8,12) G(1,5,9,13) G(2,6,10,14) G(3,7,11,15), then diagonals with
 * G(2,7,8,13) first: G(0,5,10,15) G(1,6,11,12) G(3,4,9,14). */
#define B3_ROUND(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12,    \
                 s13, s14, s15)                                             \
    B3_HALF(0, 4, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,              \
            s0, s2, s4, s6, "%[r16]", 12, 20)                               \
    B3_HALF(0, 4, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,              \
            s1, s3, s5, s7, "%[r8]", 7, 25)                                 \
    B3_HALF(2, 7, 13, 0, 5, 10, 15, 1, 6, 11, 12, 3, 4, 9, 14,              \
            s12, s8, s10, s14, "%[r16]", 12, 20)                            \
    B3_HALF(2, 7, 13, 0, 5, 10, 15, 1, 6, 11, 12, 3, 4, 9, 14,              \
            s13, s9, s11, s15, "%[r8]", 7, 25)

/* The whole block: message, state, 7 rounds, feed-forward into h. */
#define B3_BLOCK_ASM                                                        \
    B3_QUARTER(0) B3_QUARTER(1) B3_QUARTER(2) B3_QUARTER(3)                 \
    "vmovdqa 32*23(%[w]), %%ymm8\n\t"                                       \
    "vmovdqa %%ymm8, " B3_SLOT "\n\t"                                       \
    "vmovdqa 32*17(%[w]), %%ymm9\n\t"                                       \
    "vmovdqa 32*18(%[w]), %%ymm10\n\t"                                      \
    "vmovdqa 32*19(%[w]), %%ymm11\n\t"                                      \
    "vmovdqa 32*20(%[w]), %%ymm12\n\t"                                      \
    "vmovdqa 32*21(%[w]), %%ymm13\n\t"                                      \
    "vmovdqa 32*22(%[w]), %%ymm14\n\t"                                      \
    "vpbroadcastd %[f], %%ymm15\n\t"                                        \
    FC_B3_SCHED_ROWS(B3_ROUND)                                              \
    /* Feed-forward: cv word i = state word i ^ state word i + 8. */        \
    B3_ONE("vpxor", B3_SLOT, 0) B3_ONE("vpxor", B3_V(9), 1)                 \
    B3_ONE("vpxor", B3_V(10), 2) B3_ONE("vpxor", B3_V(11), 3)               \
    B3_ONE("vpxor", B3_V(12), 4) B3_ONE("vpxor", B3_V(13), 5)               \
    B3_ONE("vpxor", B3_V(14), 6) B3_ONE("vpxor", B3_V(15), 7)
#endif

void
fc_blake3_lanes8_avx2(const uint8_t *base, size_t stride, size_t nblocks,
                      const uint32_t key[8], uint64_t counter,
                      uint64_t counter_step, unsigned flags,
                      unsigned flags_start, unsigned flags_end, uint8_t *out)
{
    fc_blake3_lanes8_prev_avx2(base, stride, nblocks, key, counter,
                               counter_step, flags, flags_start, flags_end,
                               out, NULL);
}

/* One unaligned 32-byte store.  GCC's generic tuning splits
 * _mm256_storeu_si256 into halves, and after the transpose below it went
 * through the stack and 64-bit moves: ~100 instructions per call, which
 * one-block calls (parents) felt (~10%). */
static inline void
storeu256(uint8_t *p, __m256i v)
{
    __asm__("vmovdqu %1, %0" : "=m"(*(uint8_t(*)[32])p) : "x"(v));
}

/* Eight chaining values, one per vector word, to 32 bytes per lane. */
static inline void
store_cvs(__m256i v[8], uint8_t *out)
{
    transpose8(v);
    for (int i = 0; i < 8; i++) {
        storeu256(out + 32 * i, v[i]);
    }
}

void
fc_blake3_lanes8_prev_avx2(const uint8_t *base, size_t stride, size_t nblocks,
                           const uint32_t key[8], uint64_t counter,
                           uint64_t counter_step, unsigned flags,
                           unsigned flags_start, unsigned flags_end,
                           uint8_t *out, uint8_t *prev)
{
    __m256i v[16];
    __m256i save[8];    /* the chaining values before the last block */
    __m256i ctr_lo, ctr_hi;
    if (counter_step <= 1 && (uint32_t)counter <= UINT32_MAX - 7) {
        /* Chunks and parents: no carry into the high words (one parent
         * call is ~8% slower with the general 64-bit products). */
        ctr_lo = _mm256_set1_epi32((int)(uint32_t)counter);
        if (counter_step == 1) {
            ctr_lo = _mm256_add_epi32(
                ctr_lo, _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        }
        ctr_hi = _mm256_set1_epi32((int)(uint32_t)(counter >> 32));
    }
    else {
        uint32_t lo[8], hi[8];
        fc_b3_lane_counters(counter, counter_step, 8, lo, hi);
        ctr_lo = _mm256_loadu_si256((const __m256i *)lo);
        ctr_hi = _mm256_loadu_si256((const __m256i *)hi);
    }
#if defined(__x86_64__)
    /* The asm's operands (in %ymm0-7, see above). */
    __m256i h0 = _mm256_set1_epi32((int)key[0]);
    __m256i h1 = _mm256_set1_epi32((int)key[1]);
    __m256i h2 = _mm256_set1_epi32((int)key[2]);
    __m256i h3 = _mm256_set1_epi32((int)key[3]);
    __m256i h4 = _mm256_set1_epi32((int)key[4]);
    __m256i h5 = _mm256_set1_epi32((int)key[5]);
    __m256i h6 = _mm256_set1_epi32((int)key[6]);
    __m256i h7 = _mm256_set1_epi32((int)key[7]);
    __m256i w[24];
    w[17] = _mm256_set1_epi32((int)FC_B3_IV1);
    w[18] = _mm256_set1_epi32((int)FC_B3_IV2);
    w[19] = _mm256_set1_epi32((int)FC_B3_IV3);
    w[20] = ctr_lo;
    w[21] = ctr_hi;
    w[22] = _mm256_set1_epi32(64);
    w[23] = _mm256_set1_epi32((int)FC_B3_IV0);
    const size_t st3 = 3 * stride;
    for (size_t b = 0; b < nblocks; b++) {
        const uint8_t *p = base + 64 * b;
        /* The same block of the next group of lanes: eight short streams
         * 1 KiB long train the hardware prefetcher poorly (parents, one
         * contiguous stream, need no help).  A prefetch never faults, even
         * past the input. */
        if (nblocks > 1) {
            const uint8_t *q = p + 8 * stride;
            for (int i = 0; i < 8; i++) {
                _mm_prefetch((const char *)q, _MM_HINT_T0);
                q += stride;
            }
        }
        /* Without branches: GCC would split the loop on b + 1 == nblocks
         * and emit the block's asm twice (14 KB of code). */
        uint32_t f = flags | (flags_start & (0u - (uint32_t)(b == 0))) |
                     (flags_end & (0u - (uint32_t)(b + 1 == nblocks)));
        /* Before the last block, h goes to save (a branch inside the asm:
         * GCC would split the loop on one in C). */
        __m256i *sv = prev != NULL && b + 1 == nblocks ? save : NULL;
        __asm__ volatile(
            "test %[sv], %[sv]\n\t"
            "jz 1f\n\t"
            "vmovdqa %[h0], 0(%[sv])\n\t"
            "vmovdqa %[h1], 32(%[sv])\n\t"
            "vmovdqa %[h2], 64(%[sv])\n\t"
            "vmovdqa %[h3], 96(%[sv])\n\t"
            "vmovdqa %[h4], 128(%[sv])\n\t"
            "vmovdqa %[h5], 160(%[sv])\n\t"
            "vmovdqa %[h6], 192(%[sv])\n\t"
            "vmovdqa %[h7], 224(%[sv])\n"
            "1:\n\t"
            B3_BLOCK_ASM
            : [h0] "+x"(h0), [h1] "+x"(h1), [h2] "+x"(h2), [h3] "+x"(h3),
              [h4] "+x"(h4), [h5] "+x"(h5), [h6] "+x"(h6), [h7] "+x"(h7)
            : [p] "r"(p), [p4] "r"(p + 4 * stride), [st] "r"(stride),
              [st3] "r"(st3), [w] "r"(w), [f] "m"(f),
              [r16] "m"(b3_rot16.v), [r8] "m"(b3_rot8.v), [sv] "r"(sv)
            : "cc", "memory", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
              "xmm13", "xmm14", "xmm15");
    }
    v[0] = h0;
    v[1] = h1;
    v[2] = h2;
    v[3] = h3;
    v[4] = h4;
    v[5] = h5;
    v[6] = h6;
    v[7] = h7;
#else
    __m256i m[16];
    for (int i = 0; i < 8; i++) {
        v[i] = _mm256_set1_epi32((int)key[i]);
    }
    for (size_t b = 0; b < nblocks; b++) {
        const uint8_t *p = base + 64 * b;
        for (int i = 0; i < 8; i++) {
            const uint8_t *q = p + (size_t)i * stride;
            m[i] = _mm256_loadu_si256((const __m256i *)q);
            m[8 + i] = _mm256_loadu_si256((const __m256i *)(q + 32));
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
        if (b + 1 == nblocks) {
            for (int i = 0; i < 8; i++) {
                save[i] = v[i];
            }
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
#endif
    /* Back to one 32-byte chaining value per lane.  All loads are done, so
     * out may overlap the input (parents reduced in place). */
    store_cvs(v, out);
    if (prev != NULL && nblocks >= 2) {
        store_cvs(save, prev);
    }
}
