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

/* The message schedule, one R(s0, ..., s15) per round: s_i is the index
 * of the original message word used as word i in that round.  Row r+1 is
 * row r permuted by (2 6 3 10 7 0 4 13 1 11 12 5 9 14 15 8).  The table
 * below and the assembly kernels' rounds both expand it. */
#define FC_B3_SCHED_ROWS(R)                                                 \
    R(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)                 \
    R(2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8)                 \
    R(3, 4, 10, 12, 13, 2, 7, 14, 6, 5, 9, 0, 11, 15, 8, 1)                 \
    R(10, 7, 12, 9, 14, 3, 13, 15, 4, 0, 11, 2, 5, 8, 1, 6)                 \
    R(12, 13, 9, 11, 15, 10, 14, 8, 7, 2, 5, 3, 0, 1, 6, 4)                 \
    R(9, 14, 11, 5, 8, 12, 15, 1, 13, 3, 0, 10, 2, 6, 4, 7)                 \
    R(11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13)

/* fc_b3_sched[r][i]: the schedule as a table. */
#define FC_B3_SCHED_ROW(...) {__VA_ARGS__},
static const uint8_t fc_b3_sched[7][16] = {FC_B3_SCHED_ROWS(FC_B3_SCHED_ROW)};
#undef FC_B3_SCHED_ROW

/* One round over vectors (or scalars) v[16] with message m[16], given the
 * vector operations ADD, XOR, FC_B3_ADD_MSG and the rotations R16, R12, R8,
 * R7 as macros of the including file: the G function on the four columns,
 * then on the four diagonals.  Written one G after the other (the CPU overlaps them): with
 * 16 state vectors in 16 registers, interleaving the four G's in the
 * source makes GCC spill far more, which measured slower.  The message word
 * is added before b so that a + m does not wait for b: FC_B3_ADD_MSG(a, m)
 * (defined by the including file too) may keep the compiler from
 * reassociating that sum. */
#define FC_B3_G(a, b, c, d, x, y)                                           \
    do {                                                                    \
        v[a] = ADD(FC_B3_ADD_MSG(v[a], x), v[b]);                           \
        v[d] = R16(XOR(v[d], v[a]));                                        \
        v[c] = ADD(v[c], v[d]);                                             \
        v[b] = R12(XOR(v[b], v[c]));                                        \
        v[a] = ADD(FC_B3_ADD_MSG(v[a], y), v[b]);                           \
        v[d] = R8(XOR(v[d], v[a]));                                         \
        v[c] = ADD(v[c], v[d]);                                             \
        v[b] = R7(XOR(v[b], v[c]));                                         \
    } while (0)

#define FC_B3_ROUND(r)                                                      \
    do {                                                                    \
        const uint8_t *s_ = fc_b3_sched[r];                                 \
        FC_B3_G(0, 4, 8, 12, m[s_[0]], m[s_[1]]);                           \
        FC_B3_G(1, 5, 9, 13, m[s_[2]], m[s_[3]]);                           \
        FC_B3_G(2, 6, 10, 14, m[s_[4]], m[s_[5]]);                          \
        FC_B3_G(3, 7, 11, 15, m[s_[6]], m[s_[7]]);                          \
        FC_B3_G(0, 5, 10, 15, m[s_[8]], m[s_[9]]);                          \
        FC_B3_G(1, 6, 11, 12, m[s_[10]], m[s_[11]]);                        \
        FC_B3_G(2, 7, 8, 13, m[s_[12]], m[s_[13]]);                         \
        FC_B3_G(3, 4, 9, 14, m[s_[14]], m[s_[15]]);                         \
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

/* Lane i's block counter, counter + i * step, as its low and high words:
 * the general set-up of every kernel's counter vectors. */
static inline void
fc_b3_lane_counters(uint64_t counter, uint64_t step, int lanes,
                    uint32_t *lo, uint32_t *hi)
{
    for (int i = 0; i < lanes; i++) {
        uint64_t c = counter + (uint64_t)i * step;
        lo[i] = (uint32_t)c;
        hi[i] = (uint32_t)(c >> 32);
    }
}

#endif
