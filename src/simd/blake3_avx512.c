/* blake3_avx512.c - BLAKE3 over 16 lanes at once with AVX-512F (built with
 * the avx512 flags; selected only when the CPU has AVX512F and AVX512VL).
 *
 * The AVX2 kernel widened to 16 lanes, kept deliberately simple: message
 * words are gathered (lane i's word j at base + i * stride + 4j) and the
 * chaining values scattered, instead of transposed, and rotations use
 * vprord.  NOT TESTED on the development machine (no AVX-512 there).
 * No Python API.
 */
#include "../blake3_impl.h"
#include "blake3_simd.h"

#include <immintrin.h>

#define ADD(a, b) _mm512_add_epi32((a), (b))
#define XOR(a, b) _mm512_xor_si512((a), (b))
#define R16(x) _mm512_ror_epi32((x), 16)
#define R12(x) _mm512_ror_epi32((x), 12)
#define R8(x) _mm512_ror_epi32((x), 8)
#define R7(x) _mm512_ror_epi32((x), 7)
#define FC_B3_ADD_MSG(a, x) ADD((a), (x))

void
fc_blake3_lanes16_avx512(const uint8_t *base, size_t stride, size_t nblocks,
                         const uint32_t key[8], uint64_t counter,
                         uint64_t counter_step, unsigned flags,
                         unsigned flags_start, unsigned flags_end,
                         uint8_t *out)
{
    __m512i h[8], v[16], m[16];
    uint32_t lo[16], hi[16], idx_in[16], idx_out[16];
    for (int i = 0; i < 16; i++) {
        uint64_t c = counter + (uint64_t)i * counter_step;
        lo[i] = (uint32_t)c;
        hi[i] = (uint32_t)(c >> 32);
        /* Word offsets: stride is 64 or 1024 bytes, so this fits. */
        idx_in[i] = (uint32_t)((size_t)i * (stride / 4));
        idx_out[i] = (uint32_t)(i * 8);
    }
    const __m512i ctr_lo = _mm512_loadu_si512((const void *)lo);
    const __m512i ctr_hi = _mm512_loadu_si512((const void *)hi);
    const __m512i vin = _mm512_loadu_si512((const void *)idx_in);
    const __m512i vout = _mm512_loadu_si512((const void *)idx_out);
    for (int i = 0; i < 8; i++) {
        h[i] = _mm512_set1_epi32((int)key[i]);
    }
    for (size_t b = 0; b < nblocks; b++) {
        const uint8_t *p = base + 64 * b;
        for (int j = 0; j < 16; j++) {
            m[j] = _mm512_i32gather_epi32(vin, (const void *)(p + 4 * j), 4);
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
    /* All loads are done, so out may overlap the input. */
    for (int j = 0; j < 8; j++) {
        _mm512_i32scatter_epi32((void *)(out + 4 * j), vout, h[j], 4);
    }
}
