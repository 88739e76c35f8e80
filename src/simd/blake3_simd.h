/* blake3_simd.h - constants shared by the BLAKE3 core and its SIMD kernels:
 * the IV and the message schedule (the word order each of the 7 rounds
 * reads, i.e. the specification's permutation applied r times).
 */
#ifndef FC_BLAKE3_SIMD_H
#define FC_BLAKE3_SIMD_H

#include <stdint.h>
#include <string.h>

#define FC_B3_IV0 0x6A09E667u
#define FC_B3_IV1 0xBB67AE85u
#define FC_B3_IV2 0x3C6EF372u
#define FC_B3_IV3 0xA54FF53Au
#define FC_B3_IV4 0x510E527Fu
#define FC_B3_IV5 0x9B05688Cu
#define FC_B3_IV6 0x1F83D9ABu
#define FC_B3_IV7 0x5BE0CD19u

/* fc_b3_sched[r][i]: index of the original message word used as word i in
 * round r.  Row r+1 is row r permuted by (2 6 3 10 7 0 4 13 1 11 12 5 9 14
 * 15 8). */
static const uint8_t fc_b3_sched[7][16] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
    {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8},
    {3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1},
    {10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6},
    {12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4},
    {9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7},
    {11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13},
};

/* One round over vectors (or scalars) v[16] with message m[16], given the
 * vector operations ADD, XOR and the rotations R16, R12, R8, R7 as macros of
 * the including file.  Columns first, then diagonals. */
#define FC_B3_G(a, b, c, d, x, y)                                           \
    do {                                                                    \
        v[a] = ADD(ADD(v[a], v[b]), x);                                     \
        v[d] = R16(XOR(v[d], v[a]));                                        \
        v[c] = ADD(v[c], v[d]);                                             \
        v[b] = R12(XOR(v[b], v[c]));                                        \
        v[a] = ADD(ADD(v[a], v[b]), y);                                     \
        v[d] = R8(XOR(v[d], v[a]));                                         \
        v[c] = ADD(v[c], v[d]);                                             \
        v[b] = R7(XOR(v[b], v[c]));                                         \
    } while (0)

/* Each half-step done on the four columns (or diagonals) side by side, so
 * the four independent chains interleave. */
#define FC_B3_QUAD(a0, b0, c0, d0, a1, b1, c1, d1, a2, b2, c2, d2,           \
                   a3, b3, c3, d3, r, k)                                    \
    do {                                                                    \
        const uint8_t *s_ = fc_b3_sched[r];                                 \
        v[a0] = ADD(ADD(v[a0], v[b0]), m[s_[k]]);                           \
        v[a1] = ADD(ADD(v[a1], v[b1]), m[s_[k + 2]]);                       \
        v[a2] = ADD(ADD(v[a2], v[b2]), m[s_[k + 4]]);                       \
        v[a3] = ADD(ADD(v[a3], v[b3]), m[s_[k + 6]]);                       \
        v[d0] = R16(XOR(v[d0], v[a0]));                                     \
        v[d1] = R16(XOR(v[d1], v[a1]));                                     \
        v[d2] = R16(XOR(v[d2], v[a2]));                                     \
        v[d3] = R16(XOR(v[d3], v[a3]));                                     \
        v[c0] = ADD(v[c0], v[d0]);                                          \
        v[c1] = ADD(v[c1], v[d1]);                                          \
        v[c2] = ADD(v[c2], v[d2]);                                          \
        v[c3] = ADD(v[c3], v[d3]);                                          \
        v[b0] = R12(XOR(v[b0], v[c0]));                                     \
        v[b1] = R12(XOR(v[b1], v[c1]));                                     \
        v[b2] = R12(XOR(v[b2], v[c2]));                                     \
        v[b3] = R12(XOR(v[b3], v[c3]));                                     \
        v[a0] = ADD(ADD(v[a0], v[b0]), m[s_[k + 1]]);                       \
        v[a1] = ADD(ADD(v[a1], v[b1]), m[s_[k + 3]]);                       \
        v[a2] = ADD(ADD(v[a2], v[b2]), m[s_[k + 5]]);                       \
        v[a3] = ADD(ADD(v[a3], v[b3]), m[s_[k + 7]]);                       \
        v[d0] = R8(XOR(v[d0], v[a0]));                                      \
        v[d1] = R8(XOR(v[d1], v[a1]));                                      \
        v[d2] = R8(XOR(v[d2], v[a2]));                                      \
        v[d3] = R8(XOR(v[d3], v[a3]));                                      \
        v[c0] = ADD(v[c0], v[d0]);                                          \
        v[c1] = ADD(v[c1], v[d1]);                                          \
        v[c2] = ADD(v[c2], v[d2]);                                          \
        v[c3] = ADD(v[c3], v[d3]);                                          \
        v[b0] = R7(XOR(v[b0], v[c0]));                                      \
        v[b1] = R7(XOR(v[b1], v[c1]));                                      \
        v[b2] = R7(XOR(v[b2], v[c2]));                                      \
        v[b3] = R7(XOR(v[b3], v[c3]));                                      \
    } while (0)

#define FC_B3_ROUND(r)                                                      \
    do {                                                                    \
        FC_B3_QUAD(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15,    \
                   r, 0);                                                   \
        FC_B3_QUAD(0, 5, 10, 15, 1, 6, 11, 12, 2, 7, 8, 13, 3, 4, 9, 14,    \
                   r, 8);                                                   \
    } while (0)

#define FC_B3_ROUNDS()                                                      \
    do {                                                                    \
        FC_B3_ROUND(0);                                                     \
        FC_B3_ROUND(1);                                                     \
        FC_B3_ROUND(2);                                                     \
        FC_B3_ROUND(3);                                                     \
        FC_B3_ROUND(4);                                                     \
        FC_B3_ROUND(5);                                                     \
        FC_B3_ROUND(6);                                                     \
    } while (0)

static inline uint32_t
fc_b3_load32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline void
fc_b3_store32(uint8_t *p, uint32_t w)
{
    p[0] = (uint8_t)w;
    p[1] = (uint8_t)(w >> 8);
    p[2] = (uint8_t)(w >> 16);
    p[3] = (uint8_t)(w >> 24);
}

#endif
