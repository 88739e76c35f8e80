/* blake3_avx512.c - BLAKE3 over 16 lanes at once with AVX-512F (built with
 * the avx512 flags; selected only when the CPU has AVX512F and AVX512VL).
 *
 * Each 512-bit vector holds one state word of sixteen independent inputs
 * (chunks or parents).  A block is sixteen plain 64-byte loads, one per
 * lane, transposed in registers into the sixteen message-word vectors; the
 * chaining values go back to 32 bytes per lane through the inverse
 * transpose and eight 64-byte stores.  On x86-64 a block is one inline-asm
 * statement with a fixed register allocation (see "one block in
 * assembly"); the intrinsics below it are the 32-bit x86 path.  Rotations
 * are one vprord each.  Tested on an AVX-512 Xeon (both paths) against the
 * official vectors and the blake3 package (tests/test_blake3.py,
 * tests/test_hash_blake3.py).
 * No Python API.
 */
#include "simd/blake3_kernels.h"
#include "simd/blake3_simd.h"

#include <immintrin.h>

/* The block in inline assembly on x86-64; the intrinsics elsewhere (32-bit
 * x86: 8 zmm registers), or when built with -DFC_B3_NO_ASM (to test them). */
#if defined(__x86_64__) && !defined(FC_B3_NO_ASM)
#define B3_ASM 1
#endif

#define ADD(a, b) _mm512_add_epi32((a), (b))
#define XOR(a, b) _mm512_xor_si512((a), (b))
#define R16(x) _mm512_ror_epi32((x), 16)
#define R12(x) _mm512_ror_epi32((x), 12)
#define R8(x) _mm512_ror_epi32((x), 8)
#define R7(x) _mm512_ror_epi32((x), 7)

#define FC_B3_ADD_MSG(a, x) ADD((a), (x))

#if defined(B3_ASM)
/* --- one block in assembly (x86-64: 32 zmm registers) ------------------
 *
 * Given the rounds as intrinsics, GCC computes a + (m + b) rather than
 * (a + m) + b, which puts two additions after b on the critical path, and
 * spills around the transpose (an empty asm around a + m, as in the AVX2
 * kernel, made it spill more): 5.7 GB/s in L1, where clang made 6.2 of
 * the same C.  So a block is one asm statement with a fixed allocation.
 * The chaining values h0..h7 are "+v" operands: with %zmm8-31 clobbered
 * GCC can only give them %zmm0-7, and they stay there from block to block;
 * they are state words 0..7.  The sixteen lanes' blocks are loaded into
 * %zmm16-31 and transposed there (B3_TRANSPOSE, %zmm8-11 the scratch), so
 * that %zmm(16 + j) holds message word j of every lane and each round's
 * permutation is only a choice of register names.  State words 8..15 then
 * live in %zmm8-15.  No other scratch register is needed: every step of G
 * is one three-operand instruction (vpaddd, vpxord, vprord).  The block
 * ends with the feed-forward h_i = v_i ^ v_(i+8). */
#define B3_V(k) B3_V_##k
#define B3_V_0 "%[h0]"
#define B3_V_1 "%[h1]"
#define B3_V_2 "%[h2]"
#define B3_V_3 "%[h3]"
#define B3_V_4 "%[h4]"
#define B3_V_5 "%[h5]"
#define B3_V_6 "%[h6]"
#define B3_V_7 "%[h7]"
#define B3_V_8 "%%zmm8"
#define B3_V_9 "%%zmm9"
#define B3_V_10 "%%zmm10"
#define B3_V_11 "%%zmm11"
#define B3_V_12 "%%zmm12"
#define B3_V_13 "%%zmm13"
#define B3_V_14 "%%zmm14"
#define B3_V_15 "%%zmm15"
/* Message word x, and during the transpose row x (lane x's block). */
#define B3_M(x) B3_M_##x
#define B3_M_0 "%%zmm16"
#define B3_M_1 "%%zmm17"
#define B3_M_2 "%%zmm18"
#define B3_M_3 "%%zmm19"
#define B3_M_4 "%%zmm20"
#define B3_M_5 "%%zmm21"
#define B3_M_6 "%%zmm22"
#define B3_M_7 "%%zmm23"
#define B3_M_8 "%%zmm24"
#define B3_M_9 "%%zmm25"
#define B3_M_10 "%%zmm26"
#define B3_M_11 "%%zmm27"
#define B3_M_12 "%%zmm28"
#define B3_M_13 "%%zmm29"
#define B3_M_14 "%%zmm30"
#define B3_M_15 "%%zmm31"
#define B3_T0 "%%zmm8"
#define B3_T1 "%%zmm9"
#define B3_T2 "%%zmm10"
#define B3_T3 "%%zmm11"
/* dst = op(src2, src1) in AT&T order: op src1, src2, dst. */
#define B3_I3(op, s1, s2, d) op " " s1 ", " s2 ", " d "\n\t"
/* dst = dst op src. */
#define B3_OP(op, src, dst) B3_I3(op, src, dst, dst)
#define B3_ROR(r, k) "vprord $" #r ", " B3_V(k) ", " B3_V(k) "\n\t"

/* Lanes 4g..4g+3 (rows a..a+3): a 4x4 transpose of 32-bit words inside
 * each 128-bit quarter, so that row a + k holds in quarter q word 4q + k
 * of these four lanes. */
#define B3_QUAD(r0, r1, r2, r3)                                             \
    B3_I3("vpunpckldq", B3_M(r1), B3_M(r0), B3_T0)                          \
    B3_I3("vpunpckhdq", B3_M(r1), B3_M(r0), B3_T1)                          \
    B3_I3("vpunpckldq", B3_M(r3), B3_M(r2), B3_T2)                          \
    B3_I3("vpunpckhdq", B3_M(r3), B3_M(r2), B3_T3)                          \
    B3_I3("vpunpcklqdq", B3_T2, B3_T0, B3_M(r0))                            \
    B3_I3("vpunpckhqdq", B3_T2, B3_T0, B3_M(r1))                            \
    B3_I3("vpunpcklqdq", B3_T3, B3_T1, B3_M(r2))                            \
    B3_I3("vpunpckhqdq", B3_T3, B3_T1, B3_M(r3))
/* Word k of quarters 0..3 of each lane group to the rows of words k,
 * 4 + k, 8 + k and 12 + k: the quarters are regrouped by two rounds of
 * vshufi32x4 (0x88: the even quarters of each source, 0xdd: the odd). */
#define B3_SHUF(imm, s1, s2, d) "vshufi32x4 $" #imm ", " s1 ", " s2 ", " d "\n\t"
#define B3_REGROUP(k0, k1, k2, k3)                                          \
    B3_SHUF(0x88, B3_M(k1), B3_M(k0), B3_T0)                                \
    B3_SHUF(0xdd, B3_M(k1), B3_M(k0), B3_T1)                                \
    B3_SHUF(0x88, B3_M(k3), B3_M(k2), B3_T2)                                \
    B3_SHUF(0xdd, B3_M(k3), B3_M(k2), B3_T3)                                \
    B3_SHUF(0x88, B3_T2, B3_T0, B3_M(k0))                                   \
    B3_SHUF(0xdd, B3_T2, B3_T0, B3_M(k2))                                   \
    B3_SHUF(0x88, B3_T3, B3_T1, B3_M(k1))                                   \
    B3_SHUF(0xdd, B3_T3, B3_T1, B3_M(k3))
#define B3_TRANSPOSE                                                        \
    B3_QUAD(0, 1, 2, 3) B3_QUAD(4, 5, 6, 7)                                 \
    B3_QUAD(8, 9, 10, 11) B3_QUAD(12, 13, 14, 15)                           \
    B3_REGROUP(0, 4, 8, 12) B3_REGROUP(1, 5, 9, 13)                         \
    B3_REGROUP(2, 6, 10, 14) B3_REGROUP(3, 7, 11, 15)
/* Lane 4g + i at p_g + i * stride. */
#define B3_LOAD4(pg, r0, r1, r2, r3)                                        \
    "vmovdqu32 (%[" pg "]), " B3_M(r0) "\n\t"                               \
    "vmovdqu32 (%[" pg "],%[st]), " B3_M(r1) "\n\t"                         \
    "vmovdqu32 (%[" pg "],%[st],2), " B3_M(r2) "\n\t"                       \
    "vmovdqu32 (%[" pg "],%[st3]), " B3_M(r3) "\n\t"

#define B3_G(a, b, c, d, x, y)                                              \
    B3_OP("vpaddd", B3_M(x), B3_V(a)) B3_OP("vpaddd", B3_V(b), B3_V(a))     \
    B3_OP("vpxord", B3_V(a), B3_V(d)) B3_ROR(16, d)                         \
    B3_OP("vpaddd", B3_V(d), B3_V(c)) B3_OP("vpxord", B3_V(c), B3_V(b))     \
    B3_ROR(12, b)                                                           \
    B3_OP("vpaddd", B3_M(y), B3_V(a)) B3_OP("vpaddd", B3_V(b), B3_V(a))     \
    B3_OP("vpxord", B3_V(a), B3_V(d)) B3_ROR(8, d)                          \
    B3_OP("vpaddd", B3_V(d), B3_V(c)) B3_OP("vpxord", B3_V(c), B3_V(b))     \
    B3_ROR(7, b)

/* One round; s0..s15 is the round's row of fc_b3_sched. */
#define B3_ROUND(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12,    \
                 s13, s14, s15)                                             \
    B3_G(0, 4, 8, 12, s0, s1) B3_G(1, 5, 9, 13, s2, s3)                     \
    B3_G(2, 6, 10, 14, s4, s5) B3_G(3, 7, 11, 15, s6, s7)                   \
    B3_G(0, 5, 10, 15, s8, s9) B3_G(1, 6, 11, 12, s10, s11)                 \
    B3_G(2, 7, 8, 13, s12, s13) B3_G(3, 4, 9, 14, s14, s15)

/* The whole block.  k points at IV0-3, the block length and the block's
 * flags as 32-bit words (broadcast from memory: a load, no shuffle), then
 * the counters' low and high words as two vectors. */
#define B3_BLOCK_ASM                                                        \
    B3_LOAD4("p0", 0, 1, 2, 3) B3_LOAD4("p4", 4, 5, 6, 7)                   \
    B3_LOAD4("p8", 8, 9, 10, 11) B3_LOAD4("p12", 12, 13, 14, 15)            \
    B3_TRANSPOSE                                                            \
    "vpbroadcastd 0(%[k]), %%zmm8\n\t"                                      \
    "vpbroadcastd 4(%[k]), %%zmm9\n\t"                                      \
    "vpbroadcastd 8(%[k]), %%zmm10\n\t"                                     \
    "vpbroadcastd 12(%[k]), %%zmm11\n\t"                                    \
    "vmovdqu32 64(%[k]), %%zmm12\n\t"                                       \
    "vmovdqu32 128(%[k]), %%zmm13\n\t"                                      \
    "vpbroadcastd 16(%[k]), %%zmm14\n\t"                                    \
    "vpbroadcastd 20(%[k]), %%zmm15\n\t"                                    \
    FC_B3_SCHED_ROWS(B3_ROUND)                                              \
    B3_OP("vpxord", B3_V(8), B3_V(0)) B3_OP("vpxord", B3_V(9), B3_V(1))     \
    B3_OP("vpxord", B3_V(10), B3_V(2)) B3_OP("vpxord", B3_V(11), B3_V(3))   \
    B3_OP("vpxord", B3_V(12), B3_V(4)) B3_OP("vpxord", B3_V(13), B3_V(5))   \
    B3_OP("vpxord", B3_V(14), B3_V(6)) B3_OP("vpxord", B3_V(15), B3_V(7))

/* What B3_BLOCK_ASM reads through k. */
typedef struct {
    uint32_t words[16];     /* IV0-3, 64, flags; the rest unused */
    __m512i ctr_lo, ctr_hi;
} b3_consts;
#endif

/* _MM_SHUFFLE(2, 0, 2, 0) and (3, 1, 3, 1) for _mm512_shuffle_i32x4: the
 * even, resp. odd, 128-bit quarters of each source, first source low. */
#define Q_EVEN 0x88
#define Q_ODD 0xDD

#if !defined(B3_ASM)
/* r[i] holds the 16 words of lane i; afterwards r[j] holds word j of lanes
 * 0..15.  Within each 128-bit quarter a 4x4 transpose of each group of
 * four rows (epi32 then epi64 unpacks), then the quarters are regrouped
 * in two steps of shuffle_i32x4: 64 shuffles in all. */
static inline void
transpose16(__m512i r[16])
{
    __m512i t[16], u[16];
    for (int g = 0; g < 16; g += 4) {
        t[g + 0] = _mm512_unpacklo_epi32(r[g + 0], r[g + 1]);
        t[g + 1] = _mm512_unpackhi_epi32(r[g + 0], r[g + 1]);
        t[g + 2] = _mm512_unpacklo_epi32(r[g + 2], r[g + 3]);
        t[g + 3] = _mm512_unpackhi_epi32(r[g + 2], r[g + 3]);
        /* u[g + k], quarter q: word 4q + k of lanes g..g+3. */
        u[g + 0] = _mm512_unpacklo_epi64(t[g + 0], t[g + 2]);
        u[g + 1] = _mm512_unpackhi_epi64(t[g + 0], t[g + 2]);
        u[g + 2] = _mm512_unpacklo_epi64(t[g + 1], t[g + 3]);
        u[g + 3] = _mm512_unpackhi_epi64(t[g + 1], t[g + 3]);
    }
    for (int k = 0; k < 4; k++) {
        /* a: quarters 0, 2 of lanes 0-3 then 4-7; b: quarters 1, 3; c, d
         * the same for lanes 8-11 and 12-15. */
        __m512i a = _mm512_shuffle_i32x4(u[k], u[4 + k], Q_EVEN);
        __m512i b = _mm512_shuffle_i32x4(u[k], u[4 + k], Q_ODD);
        __m512i c = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], Q_EVEN);
        __m512i d = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], Q_ODD);
        r[k] = _mm512_shuffle_i32x4(a, c, Q_EVEN);
        r[8 + k] = _mm512_shuffle_i32x4(a, c, Q_ODD);
        r[4 + k] = _mm512_shuffle_i32x4(b, d, Q_EVEN);
        r[12 + k] = _mm512_shuffle_i32x4(b, d, Q_ODD);
    }
}
#endif

/* h[j] holds chaining-value word j of lanes 0..15: write lane i's 32 bytes
 * to out + 32 i (eight 64-byte stores, two lanes each). */
static inline void
store_cvs(const __m512i h[8], uint8_t *out)
{
    __m512i t[8], u[8];
    for (int p = 0; p < 4; p++) {
        /* Quarter q: words 2p, 2p+1 of lanes 4q, 4q+1 (lo), 4q+2, 4q+3
         * (hi). */
        t[2 * p] = _mm512_unpacklo_epi32(h[2 * p], h[2 * p + 1]);
        t[2 * p + 1] = _mm512_unpackhi_epi32(h[2 * p], h[2 * p + 1]);
    }
    for (int l = 0; l < 2; l++) {
        /* u[4l + 2s + w], quarter q: words 4w..4w+3 of lane 4q + 2l + s. */
        u[4 * l + 0] = _mm512_unpacklo_epi64(t[l], t[2 + l]);
        u[4 * l + 2] = _mm512_unpackhi_epi64(t[l], t[2 + l]);
        u[4 * l + 1] = _mm512_unpacklo_epi64(t[4 + l], t[6 + l]);
        u[4 * l + 3] = _mm512_unpackhi_epi64(t[4 + l], t[6 + l]);
    }
    for (int l = 0; l < 2; l++) {
        /* Lanes 4q + 2l and 4q + 2l + 1 go to store 2q + l. */
        __m512i a = _mm512_shuffle_i32x4(u[4 * l], u[4 * l + 1], Q_EVEN);
        __m512i b = _mm512_shuffle_i32x4(u[4 * l + 2], u[4 * l + 3], Q_EVEN);
        __m512i c = _mm512_shuffle_i32x4(u[4 * l], u[4 * l + 1], Q_ODD);
        __m512i d = _mm512_shuffle_i32x4(u[4 * l + 2], u[4 * l + 3], Q_ODD);
        _mm512_storeu_si512((void *)(out + 64 * (0 + l)),
                            _mm512_shuffle_i32x4(a, b, Q_EVEN));
        _mm512_storeu_si512((void *)(out + 64 * (4 + l)),
                            _mm512_shuffle_i32x4(a, b, Q_ODD));
        _mm512_storeu_si512((void *)(out + 64 * (2 + l)),
                            _mm512_shuffle_i32x4(c, d, Q_EVEN));
        _mm512_storeu_si512((void *)(out + 64 * (6 + l)),
                            _mm512_shuffle_i32x4(c, d, Q_ODD));
    }
}

void
fc_blake3_lanes16_avx512(const uint8_t *base, size_t stride, size_t nblocks,
                         const uint32_t key[8], uint64_t counter,
                         uint64_t counter_step, unsigned flags,
                         unsigned flags_start, unsigned flags_end,
                         uint8_t *out)
{
    fc_blake3_lanes16_prev_avx512(base, stride, nblocks, key, counter,
                                  counter_step, flags, flags_start,
                                  flags_end, out, NULL);
}

void
fc_blake3_lanes16_prev_avx512(const uint8_t *base, size_t stride,
                              size_t nblocks, const uint32_t key[8],
                              uint64_t counter, uint64_t counter_step,
                              unsigned flags, unsigned flags_start,
                              unsigned flags_end, uint8_t *out,
                              uint8_t *prev)
{
    __m512i h[8];
    __m512i save[8];    /* the chaining values before the last block */
    __m512i ctr_lo, ctr_hi;
    if (counter_step <= 1 && (uint32_t)counter <= UINT32_MAX - 15) {
        /* Chunks and parents: no carry into the high words. */
        ctr_lo = _mm512_set1_epi32((int)(uint32_t)counter);
        if (counter_step == 1) {
            ctr_lo = _mm512_add_epi32(
                ctr_lo, _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                          11, 12, 13, 14, 15));
        }
        ctr_hi = _mm512_set1_epi32((int)(uint32_t)(counter >> 32));
    }
    else {
        uint32_t lo[16], hi[16];
        fc_b3_lane_counters(counter, counter_step, 16, lo, hi);
        ctr_lo = _mm512_loadu_si512((const void *)lo);
        ctr_hi = _mm512_loadu_si512((const void *)hi);
    }
    for (int i = 0; i < 8; i++) {
        h[i] = _mm512_set1_epi32((int)key[i]);
    }
#if defined(B3_ASM)
    b3_consts k;
    memset(&k, 0, sizeof(k));
    k.words[0] = FC_B3_IV0;
    k.words[1] = FC_B3_IV1;
    k.words[2] = FC_B3_IV2;
    k.words[3] = FC_B3_IV3;
    k.words[4] = 64;
    k.ctr_lo = ctr_lo;
    k.ctr_hi = ctr_hi;
    const size_t st3 = 3 * stride;
    for (size_t b = 0; b < nblocks; b++) {
        const uint8_t *p = base + 64 * b;
        /* Without branches: GCC would split the loop on b + 1 == nblocks
         * and emit the block's asm twice. */
        k.words[5] = flags | (flags_start & (0u - (uint32_t)(b == 0))) |
                     (flags_end & (0u - (uint32_t)(b + 1 == nblocks)));
        for (int i = 0; i < 8; i++) {
            save[i] = h[i];
        }
        /* The same block of the next group of lanes: sixteen streams 1 KiB
         * long train the hardware prefetcher poorly (measured at 64 MiB:
         * 0.76x the blake3 package without this, ~1.0x with it; parents,
         * one contiguous stream, need no help).  A prefetch never faults,
         * even past the input. */
        if (nblocks > 1) {
            const uint8_t *q = p + 16 * stride;
            for (int i = 0; i < 16; i++) {
                _mm_prefetch((const char *)q, _MM_HINT_T0);
                q += stride;
            }
        }
        __asm__ volatile(
            B3_BLOCK_ASM
            : [h0] "+v"(h[0]), [h1] "+v"(h[1]), [h2] "+v"(h[2]),
              [h3] "+v"(h[3]), [h4] "+v"(h[4]), [h5] "+v"(h[5]),
              [h6] "+v"(h[6]), [h7] "+v"(h[7])
            : [p0] "r"(p), [p4] "r"(p + 4 * stride),
              [p8] "r"(p + 8 * stride), [p12] "r"(p + 12 * stride),
              [st] "r"(stride), [st3] "r"(st3), [k] "r"(&k)
            : "memory", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
              "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20",
              "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27",
              "xmm28", "xmm29", "xmm30", "xmm31");
    }
#else
    __m512i v[16], m[16];
    for (size_t b = 0; b < nblocks; b++) {
        const uint8_t *p = base + 64 * b;
        for (int i = 0; i < 16; i++) {
            m[i] = _mm512_loadu_si512((const void *)(p + (size_t)i * stride));
        }
        transpose16(m);
        unsigned f = flags;
        if (b == 0) {
            f |= flags_start;
        }
        if (b + 1 == nblocks) {
            f |= flags_end;
        }
        for (int i = 0; i < 8; i++) {
            save[i] = h[i];
            v[i] = h[i];
        }
        v[8] = _mm512_set1_epi32((int)FC_B3_IV0);
        v[9] = _mm512_set1_epi32((int)FC_B3_IV1);
        v[10] = _mm512_set1_epi32((int)FC_B3_IV2);
        v[11] = _mm512_set1_epi32((int)FC_B3_IV3);
        v[12] = ctr_lo;
        v[13] = ctr_hi;
        v[14] = _mm512_set1_epi32(64);
        v[15] = _mm512_set1_epi32((int)f);
        FC_B3_ROUNDS();
        for (int i = 0; i < 8; i++) {
            h[i] = XOR(v[i], v[i + 8]);
        }
    }
#endif
    /* All loads are done, so out may overlap the input (parents reduced
     * in place). */
    store_cvs(h, out);
    if (prev != NULL && nblocks >= 2) {
        store_cvs(save, prev);
    }
}
