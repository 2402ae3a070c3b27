/*
 * memory.h: how much memory halyard holds, and of it how much the
 * allocator holds free (issue 58, item 4).
 *
 * RSS is what the kernel counts; the heap's figures are glibc's
 * (mallinfo2: every arena, the main one and one a thread that allocates).
 * RSS that grows while the heap in use does not is memory freed but kept
 * by the allocator, not a leak; hy_memory_trim() gives such pages back.
 */
#ifndef HALYARD_MEMORY_H
#define HALYARD_MEMORY_H

#include <stdint.h>

struct hy_memory {
    uint64_t rss_kib;   /* resident set (/proc/self/statm) */
    uint64_t heap_used; /* bytes allocated and not freed, mmap'ed blocks included */
    uint64_t heap_free; /* bytes free in the arenas, kept by the allocator */
    uint64_t heap_mmap; /* of heap_used, bytes in blocks of their own mapping */
};

/* The figures now. The heap's walk takes each arena's lock in turn, as a
 * malloc does: for the admin socket and a timer, not the data path. */
void hy_memory_get(struct hy_memory *m);

/* Give the arenas' free pages back to the kernel (malloc_trim). */
void hy_memory_trim(void);

#endif
