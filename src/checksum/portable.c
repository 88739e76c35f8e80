/* checksum/portable.c - plain C CRC-32, CRC-32C and Adler-32 (slicing by 8),
 * and the combine functions.  No Python API.
 *
 * CRCs here are "reflected": bit 31 of a register holds the coefficient of
 * x^0, which is how zlib and iSCSI define them.
 */
#include "checksum/checksum.h"
#include "simd/cksum_simd.h"

#include <pthread.h>
#include <string.h>

#define POLY_CRC32 0xEDB88320u
#define POLY_CRC32C 0x82F63B78u
#define ADLER_MOD 65521u

static uint32_t tab32[8][256], tab32c[8][256];
/* x^(8 * 2^k) mod P, for k in [0, 64). */
static uint32_t pow32[64], pow32c[64];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* a(x) * b(x) mod P(x), reflected. */
static uint32_t
gf2_mulmod(uint32_t a, uint32_t b, uint32_t poly)
{
    uint32_t prod = 0;
    for (uint32_t m = 0x80000000u; m != 0; m >>= 1) {
        if (a & m) {
            prod ^= b;
        }
        b = (b & 1) ? (b >> 1) ^ poly : b >> 1;
    }
    return prod;
}

static void
build_tables(uint32_t tab[8][256], uint32_t pow[64], uint32_t poly)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
        }
        tab[0][i] = c;
    }
    for (int t = 1; t < 8; t++) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = tab[t - 1][i];
            tab[t][i] = (c >> 8) ^ tab[0][c & 0xff];
        }
    }
    pow[0] = 0x00800000u;   /* x^8 */
    for (int k = 1; k < 64; k++) {
        pow[k] = gf2_mulmod(pow[k - 1], pow[k - 1], poly);
    }
}

static void
init_tables(void)
{
    build_tables(tab32, pow32, POLY_CRC32);
    build_tables(tab32c, pow32c, POLY_CRC32C);
}

/* Raw (no pre/post inversion) table-driven update. */
static uint32_t
crc_slice8(uint32_t tab[8][256], uint32_t c, const unsigned char *p, size_t n)
{
    while (n && ((uintptr_t)p & 7)) {
        c = (c >> 8) ^ tab[0][(c ^ *p++) & 0xff];
        n--;
    }
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= c;   /* little-endian: the low 4 bytes take the CRC */
        c = tab[7][w & 0xff] ^ tab[6][(w >> 8) & 0xff] ^
            tab[5][(w >> 16) & 0xff] ^ tab[4][(w >> 24) & 0xff] ^
            tab[3][(w >> 32) & 0xff] ^ tab[2][(w >> 40) & 0xff] ^
            tab[1][(w >> 48) & 0xff] ^ tab[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) {
        c = (c >> 8) ^ tab[0][(c ^ *p++) & 0xff];
    }
    return c;
}

uint32_t
fc_crc32_portable(uint32_t crc, const unsigned char *p, size_t n)
{
    pthread_once(&tables_once, init_tables);
    return ~crc_slice8(tab32, ~crc, p, n);
}

uint32_t
fc_crc32c_portable(uint32_t crc, const unsigned char *p, size_t n)
{
    pthread_once(&tables_once, init_tables);
    return ~crc_slice8(tab32c, ~crc, p, n);
}

uint32_t
fc_adler32_portable(uint32_t adler, const unsigned char *p, size_t n)
{
    /* 5552 is the most bytes whose sums cannot overflow 32 bits before
     * the modulo (255 * n * (n + 1) / 2 + (n + 1) * (MOD - 1) < 2^32). */
    uint32_t a = adler & 0xffff, b = adler >> 16;
    while (n) {
        size_t k = n < 5552 ? n : 5552;
        n -= k;
        while (k >= 4) {
            a += p[0]; b += a;
            a += p[1]; b += a;
            a += p[2]; b += a;
            a += p[3]; b += a;
            p += 4;
            k -= 4;
        }
        while (k--) {
            a += *p++;
            b += a;
        }
        a %= ADLER_MOD;
        b %= ADLER_MOD;
    }
    return (b << 16) | a;
}

static uint32_t
crc_combine(const uint32_t pow[64], uint32_t poly, uint32_t crc_a,
            uint32_t crc_b, uint64_t len_b)
{
    /* crc(A||B) = crc(A) * x^(8 len_b) + crc(B): the inversions cancel. */
    pthread_once(&tables_once, init_tables);
    uint32_t shifted = crc_a;
    for (int k = 0; len_b; k++, len_b >>= 1) {
        if (len_b & 1) {
            shifted = gf2_mulmod(shifted, pow[k], poly);
        }
    }
    return shifted ^ crc_b;
}

uint32_t
fc_crc32_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    return crc_combine(pow32, POLY_CRC32, crc_a, crc_b, len_b);
}

uint32_t
fc_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b)
{
    return crc_combine(pow32c, POLY_CRC32C, crc_a, crc_b, len_b);
}

uint32_t
fc_adler32_combine(uint32_t adler_a, uint32_t adler_b, uint64_t len_b)
{
    /* Every prefix sum of B's part restarts at 1 instead of A's sum a1,
     * so B's running total gains len_b * (a1 - 1). */
    uint64_t a1 = adler_a & 0xffff, b1 = adler_a >> 16;
    uint64_t a2 = adler_b & 0xffff, b2 = adler_b >> 16;
    uint64_t r = len_b % ADLER_MOD;
    uint64_t a = (a1 + a2 + ADLER_MOD - 1) % ADLER_MOD;
    uint64_t b = (b1 + b2 + r * ((a1 + ADLER_MOD - 1) % ADLER_MOD)) %
                 ADLER_MOD;
    return (uint32_t)((b << 16) | a);
}
