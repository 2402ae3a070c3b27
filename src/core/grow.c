/*
 * grow.c: see grow.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "halyard/core/grow.h"

/* The capacity is read and written through its width, the pointer as the
 * bytes of a pointer (every object pointer has void *'s form here), so no
 * caller's type is accessed as another. */
bool hy_grow_(void *ptrp, void *capp, size_t cap_size, size_t elem, size_t first)
{
    uint64_t cap = 0, max;
    if (cap_size == 0 || cap_size > sizeof(cap) || elem == 0 || first == 0)
        return false;
    memcpy(&cap, capp, cap_size); /* little-endian below, fixed after */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    cap >>= 8 * (sizeof(cap) - cap_size);
#endif
    max = cap_size == sizeof(cap) ? UINT64_MAX : (UINT64_C(1) << (8 * cap_size)) - 1;
    if (max > PTRDIFF_MAX / elem) /* no object larger than PTRDIFF_MAX bytes */
        max = PTRDIFF_MAX / elem;
    uint64_t want = cap == 0 ? first : cap > max / 2 ? max : cap * 2;
    if (want <= cap || want > max)
        return false;
    void *old;
    memcpy(&old, ptrp, sizeof(old));
    void *p = realloc(old, (size_t)want * elem);
    if (p == NULL)
        return false;
    memcpy(ptrp, &p, sizeof(p));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    want <<= 8 * (sizeof(want) - cap_size);
#endif
    memcpy(capp, &want, cap_size);
    return true;
}
