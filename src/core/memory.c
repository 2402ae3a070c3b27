/*
 * memory.c: halyard's memory as the kernel and the allocator see it
 * (memory.h).
 */
#include <malloc.h>
#include <stdio.h>
#include <unistd.h>

#include "halyard/core/memory.h"

/* Built with AddressSanitizer (make asan), the allocator is its own, not
 * glibc's: the heap's figures are its. */
#if defined(__SANITIZE_ADDRESS__)
#define HY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HY_ASAN 1
#endif
#endif
#ifdef HY_ASAN
#include <sanitizer/allocator_interface.h>
#endif

static uint64_t rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    unsigned long long size = 0, resident = 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    long page = sysconf(_SC_PAGESIZE);
    return n == 2 && page > 0 ? (uint64_t)resident * (uint64_t)page / 1024 : 0;
}

void hy_memory_get(struct hy_memory *m)
{
    m->rss_kib = rss_kib();
#ifdef HY_ASAN
    m->heap_used = __sanitizer_get_current_allocated_bytes();
    m->heap_free = __sanitizer_get_free_bytes();
    m->heap_mmap = 0;
#else
    struct mallinfo2 mi = mallinfo2();
    m->heap_used = (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
    m->heap_free = (uint64_t)mi.fordblks;
    m->heap_mmap = (uint64_t)mi.hblkhd;
#endif
}

void hy_memory_trim(void)
{
#ifndef HY_ASAN
    malloc_trim(0);
#endif
}

bool hy_memory_tick(struct hy_memory_watch *w, uint64_t grow_kib)
{
    uint64_t now = rss_kib();
    if (w->rss_kib != 0 && now <= w->rss_kib + grow_kib)
        return false;
    bool trim = w->rss_kib != 0;
    if (trim)
        hy_memory_trim();
    w->rss_kib = trim ? rss_kib() : now;
    return trim;
}
