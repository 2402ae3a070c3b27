/*
 * hash.h: the one non-cryptographic hash, FNV-1a, 64 bits (and the 32-bit
 * variant two persisted names use). Byte at a time, so a value is the same
 * on every host whatever its byte order: some are kept (a digest's
 * firewall entry, an instance's server_id offset) and must not change.
 * Inline: hash tables on the data path call it per statement. Pure.
 *
 * A key of several parts is hashed part by part with hy_hash64_add and
 * hy_hash64_byte (a separator byte between parts), from HY_HASH64_INIT.
 */
#ifndef HALYARD_HASH_H
#define HALYARD_HASH_H

#include "halyard/core/core.h"

#define HY_HASH64_INIT  0xcbf29ce484222325ull /* FNV-1a's offset basis */
#define HY_HASH64_PRIME 0x100000001b3ull
#define HY_HASH32_INIT  2166136261u
#define HY_HASH32_PRIME 16777619u

/* h with one more byte. */
static inline uint64_t hy_hash64_byte(uint64_t h, uint8_t b)
{
    return (h ^ b) * HY_HASH64_PRIME;
}

/* h with the n bytes at p. */
static inline uint64_t hy_hash64_add(uint64_t h, const void *p, size_t n)
{
    const uint8_t *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * HY_HASH64_PRIME;
    return h;
}

/* h with the bytes of the NUL-terminated s, ASCII letters lower-cased
 * when `lower` (a name MariaDB compares without case). */
static inline uint64_t hy_hash64_str(uint64_t h, const char *s, bool lower)
{
    for (; *s != '\0'; s++) {
        uint8_t b = (uint8_t)*s;
        if (lower && b >= 'A' && b <= 'Z')
            b |= 0x20;
        h = (h ^ b) * HY_HASH64_PRIME;
    }
    return h;
}

/* FNV-1a of the n bytes at p. */
static inline uint64_t hy_hash64(const void *p, size_t n)
{
    return hy_hash64_add(HY_HASH64_INIT, p, n);
}

/* The 32-bit FNV-1a of the NUL-terminated s. */
static inline uint32_t hy_hash32_str(const char *s)
{
    uint32_t h = HY_HASH32_INIT;
    for (; *s != '\0'; s++)
        h = (h ^ (uint8_t)*s) * HY_HASH32_PRIME;
    return h;
}

#endif /* HALYARD_HASH_H */
