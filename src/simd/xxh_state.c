/* simd/xxh_state.c - the xxHash streaming states shared by every kernel
 * table: allocation (aligned, with the raw allocator), free and copy.  It
 * must not use the Python API but the raw allocator (everything here may
 * run without the GIL) nor hash (that is the tables' job).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

#include "simd/xxh_kernels.h"

/* Only the state layouts and the copy functions are used; inlined so that
 * no libxxhash call is made. */
#define XXH_INLINE_ALL
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

/* XXH3 states must be 64-byte aligned (the accumulators are loaded with
 * aligned vector loads); the others are happy with any malloc alignment.
 * The raw allocator gives 16 bytes, so over-allocate and keep the offset
 * in the byte just before the aligned block. */
#define STATE_ALIGN 64

static size_t
state_size(int alg)
{
    switch (alg) {
    case FC_XXH32:
        return sizeof(XXH32_state_t);
    case FC_XXH64:
        return sizeof(XXH64_state_t);
    default:
        return sizeof(XXH3_state_t);
    }
}

void *
fc_xxh_state_new(int alg)
{
    unsigned char *raw = PyMem_RawMalloc(state_size(alg) + STATE_ALIGN);
    if (raw == NULL) {
        return NULL;
    }
    size_t off = STATE_ALIGN - ((uintptr_t)raw & (STATE_ALIGN - 1));
    unsigned char *p = raw + off;   /* 1 <= off <= STATE_ALIGN */
    p[-1] = (unsigned char)off;
    memset(p, 0, state_size(alg));
    return p;
}

void
fc_xxh_state_free(int alg, void *state)
{
    (void)alg;
    if (state != NULL) {
        unsigned char *p = state;
        PyMem_RawFree(p - p[-1]);
    }
}

void
fc_xxh_state_copy(int alg, void *dst, const void *src)
{
    switch (alg) {
    case FC_XXH32:
        XXH32_copyState(dst, src);
        break;
    case FC_XXH64:
        XXH64_copyState(dst, src);
        break;
    default:
        XXH3_copyState(dst, src);
        break;
    }
}
