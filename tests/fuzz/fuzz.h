/*
 * fuzz.h: what the libFuzzer targets in tests/fuzz/ share.
 *
 * A broken invariant must crash, so that libFuzzer keeps the input as an
 * artifact: FUZZ_CHECK prints the condition and aborts (assert() would
 * vanish under NDEBUG).
 */
#ifndef HALYARD_FUZZ_H
#define HALYARD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The entry point libFuzzer calls with each input. Returns 0, or -1 for an
 * input the target refuses to look at (it is then not added to the corpus). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fuzz_fail(__FILE__, __LINE__, #cond);                                                  \
    } while (0)

static inline void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
    abort();
}

/* Whether [p, p + n) lies within [base, base + size); a NULL p must come
 * with n == 0. Compared as integers: the pointers may be unrelated. */
static inline int fuzz_within(const void *p, size_t n, const void *base, size_t size)
{
    if (p == NULL)
        return n == 0;
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)base;
    return a >= b && a - b <= size && n <= size - (a - b);
}

/* Whether two byte strings are equal, lengths included. */
static inline int fuzz_same_bytes(const void *a, size_t alen, const void *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* A NUL-terminated field of a payload: within it, NUL included, and no
 * other NUL; a NULL s must come with len == 0. */
static inline int fuzz_cstr_within(const char *s, size_t len, const uint8_t *d, size_t n)
{
    if (s == NULL)
        return len == 0;
    return fuzz_within(s, len + 1, d, n) && s[len] == '\0' && memchr(s, 0, len) == NULL;
}

/* A heap copy of exactly n bytes (no terminator), so that ASan reports any
 * read past n; malloc(0) under ASan gives a block that may not be read. */
static inline uint8_t *fuzz_dup(const void *data, size_t n)
{
    uint8_t *p = malloc(n);
    if (p == NULL && n > 0)
        abort();
    if (n > 0)
        memcpy(p, data, n);
    return p;
}

#endif /* HALYARD_FUZZ_H */
