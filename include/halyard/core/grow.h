/*
 * grow.h: the one way an array grows. An array is a pointer and a capacity
 * (any unsigned type, counted in elements), with its count kept by the
 * caller; when the count reaches the capacity the array doubles (from a
 * first size when empty). The element count and the byte size are
 * checked for overflow (no array over PTRDIFF_MAX bytes); on failure the array and its capacity are
 * as they were, so the caller may go on with what it has or free it.
 *
 *     if (v->n == v->cap && !HY_GROW(v->items, v->cap, 16))
 *         return HY_NOMEM;
 *     v->items[v->n++] = x;
 */
#ifndef HALYARD_GROW_H
#define HALYARD_GROW_H

#include "halyard/core/core.h"

/* ptr and cap: lvalues (cap of 1..8 bytes, unsigned); first > 0. true when
 * the array now holds at least one more element than before. */
#define HY_GROW(ptr, cap, first) hy_grow_(&(ptr), &(cap), sizeof(cap), sizeof(*(ptr)), (first))

/* HY_GROW's body: *ptrp (any object pointer) reallocated to twice *capp
 * (cap_size bytes wide) elements of elem bytes, or `first` when 0. */
bool hy_grow_(void *ptrp, void *capp, size_t cap_size, size_t elem, size_t first) HY_MUSTCHECK;

#endif /* HALYARD_GROW_H */
