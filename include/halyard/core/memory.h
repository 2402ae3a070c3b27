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

#include <stdbool.h>
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

/* For a timer: trims when RSS has grown by more than grow_kib since the
 * last trim (or since the first call), so a process whose RSS holds still
 * pays one read of /proc a call. Returns whether it trimmed. */
struct hy_memory_watch {
    uint64_t rss_kib; /* after the last trim; 0 = not read yet */
};
bool hy_memory_tick(struct hy_memory_watch *w, uint64_t grow_kib);

#endif
