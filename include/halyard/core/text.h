/*
 * text.h: the small text kit every layer shares: one UTF-8 check, one JSON
 * string escaper and one JSON string reader, one decimal parser (unsigned,
 * signed, floating). Pure, no allocation, any thread. Numbers are parsed
 * here only (tools/check-kit): a caller says what garbage becomes.
 *
 * One rule for bytes that are not valid UTF-8 in JSON: each becomes
 * \ufffd, the replacement character. A JSON reader (jq, Python's json,
 * JavaScript) turns it into U+FFFD, which says "a byte here was not text";
 * the other common rule, \u00XX, would be read back as the Latin-1
 * character of that byte value (0xff as "ÿ"), a character the client never
 * sent. Valid UTF-8 passes as it is.
 */
#ifndef HALYARD_TEXT_H
#define HALYARD_TEXT_H

#include <string.h>

#include "halyard/core/core.h"

/* Length (2..4) of the valid UTF-8 multi-byte sequence at p, which has n
 * bytes left; 0 when p[0] does not start one (ASCII included), when the
 * sequence is cut short, overlong, a surrogate or above U+10FFFF. Reads
 * p[k] only after p[k-1] was a valid continuation, so a NUL-terminated
 * string may pass the bytes up to its NUL. */
size_t hy_utf8_len(const void *p, size_t n);

/* Whether s[0..n) is all valid UTF-8 (ASCII included); with !mb4, a 4-byte
 * sequence (MariaDB's utf8mb3) is refused too. */
bool hy_utf8_valid(const void *s, size_t n, bool mb4);

/* s[0..len) as the body of a JSON string, without the quotes: " and \
 * escaped, \n \r \t by name, other control bytes and DEL as \u00XX, valid
 * UTF-8 as it is, each byte that is not valid UTF-8 as \ufffd. Writes to
 * dst unless dst is NULL; returns the number of bytes written (or that
 * would be), never more than 6 * len. */
size_t hy_json_escape(char *dst, const char *s, size_t len);

/* Whether the 8 bytes of v (the byte c) go into a JSON string as they
 * are: printable ASCII but " and \\ (the zero-byte test on each byte for
 * one below 0x20, at or above 0x7f, a quote or a backslash). */
static inline bool hy_json_plain8(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\'), del = v ^ (ones * 0x7f);
    uint64_t esc = ((v - ones * 0x20) & ~v) /* a byte below 0x20 */
                   | v                      /* 0x80 or above */
                   | ((q - ones) & ~q) | ((b - ones) & ~b) | ((del - ones) & ~del);
    return (esc & high) == 0;
}

static inline bool hy_json_plain1(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* The bytes at s (of n) that go into a JSON string as they are, copied to
 * dst, eight a step while they can: how many (hy_json_escape writes the
 * rest). Inline, for a writer that calls it for each of many short
 * strings (a span's). */
static inline size_t hy_json_plain(char *dst, const char *s, size_t n)
{
    size_t i = 0;
    uint64_t v;
    for (; i + 8 <= n && (memcpy(&v, s + i, 8), hy_json_plain8(v)); i += 8)
        memcpy(dst + i, &v, 8);
    /* the last bytes of a string of 8 or more: its last 8, those before
     * them already found plain and copied (copied again, the same) */
    if (i < n && n >= 8 && i + 8 > n && (memcpy(&v, s + n - 8, 8), hy_json_plain8(v))) {
        memcpy(dst + n - 8, &v, 8);
        return n;
    }
    for (; i < n && hy_json_plain1((unsigned char)s[i]); i++)
        dst[i] = s[i];
    return i;
}

/* All of p[0..len) as an unsigned decimal number no larger than max into
 * *v: at least one digit, digits only (no sign, space or base prefix;
 * leading zeros are fine). false, with *v untouched, on anything else or
 * on a value above max. */
bool hy_parse_u64(const char *p, size_t len, uint64_t max, uint64_t *v) HY_MUSTCHECK;

/* The signed sibling: an optional '-' (no '+'), then digits as
 * hy_parse_u64 takes them, into *v when min <= value <= max; false, with
 * *v untouched, otherwise. */
bool hy_parse_i64(const char *p, size_t len, int64_t min, int64_t max, int64_t *v) HY_MUSTCHECK;

/* hy_parse_u64 for hexadecimal digits (either case, no "0x"). */
bool hy_parse_x64(const char *p, size_t len, uint64_t max, uint64_t *v) HY_MUSTCHECK;

/* hy_parse_u64 and hy_parse_i64 of the whole NUL-terminated s (NULL
 * parses as nothing: false). */
bool hy_str_u64(const char *s, uint64_t max, uint64_t *v) HY_MUSTCHECK;
bool hy_str_i64(const char *s, int64_t min, int64_t max, int64_t *v) HY_MUSTCHECK;

/* All of the NUL-terminated s as a finite decimal floating-point number
 * (strtod's syntax in the C locale, no hex, inf or nan; no leading or
 * trailing space) into *v; false, with *v untouched, otherwise. */
bool hy_str_double(const char *s, double *v) HY_MUSTCHECK;

/* The string value of "key" at the top of the JSON text `json` (the first
 * `"key":` followed by a string) into out, escapes undone: \" \\ \/ \b \f
 * \n \r \t, and \uXXXX as UTF-8 (a surrogate pair as one character; a
 * lone surrogate as U+FFFD). true when found whole; false when absent, not
 * a string, cut short, with a bad escape or \u0000, or longer than cap - 1
 * bytes: then out holds what fitted (NUL-terminated; "" when absent). */
bool hy_json_str(const char *json, const char *key, char *out, size_t cap);

/* How many decimal digits p[0..len) starts with. */
size_t hy_digits(const char *p, size_t len);

/* Bit 7 set in the bytes of the word w that are the letter whose every
 * byte `pat` holds (lower case), in either case (byte | 0x20 is that
 * letter for its two cases only), by the zero-byte test: the lowest bit
 * set is always one; a bit above it may be a borrow's. */
static inline uint64_t hy_letter_bytes(uint64_t w, uint64_t pat)
{
    uint64_t v = (w | 0x2020202020202020ull) ^ pat;
    return (v - 0x0101010101010101ull) & ~v & 0x8080808080808080ull;
}

/* 8 bytes at p as a word, the first byte lowest, whatever the host's order. */
static inline uint64_t hy_load_le64(const void *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

/* 8 bytes at p as a word, the first byte highest (network order). */
static inline uint64_t hy_load_be64(const void *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

/* w at p, its highest byte first (network order). */
static inline void hy_store_be64(void *p, uint64_t w)
{
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    memcpy(p, &w, sizeof(w));
}

/* A heap copy of the n bytes at p, with a NUL after them (NULL when out of
 * memory): a name or text read from a packet, which has none. */
char *hy_dupz(const void *p, size_t n);

/* Whether the comma-separated list p[0..n) (a variable's value such as
 * session_track_system_variables) has `item` as one of its items, in any
 * case, spaces around an item aside. */
bool hy_list_has(const char *p, size_t n, const char *item);

/* Whether `word` (upper case, a letter first) appears in p[0..n), in any
 * case: hy_find_letters() for its first letter, then a compare there. */
bool hy_text_mentions(const char *p, size_t n, const char *word);

/* The first i in [from, n) where p[i] is the letter a or the letter b
 * (both lower case), in either case; n when there is none. Reads 8 bytes
 * at a time (the last 8 again for a short end): the scans that look for a
 * few words in every statement's text stop only where one could begin.
 * Inline, so that the letters' patterns are constants. */
static inline size_t hy_find_letters(const char *p, size_t n, size_t from, char a, char b)
{
    const uint64_t pa = 0x0101010101010101ull * (unsigned char)a,
                   pb = 0x0101010101010101ull * (unsigned char)b;
    size_t i = from;
    uint64_t m;
    for (; i + 8 <= n; i += 8) {
        uint64_t w = hy_load_le64(p + i);
        m = hy_letter_bytes(w, pa) | hy_letter_bytes(w, pb);
        if (m != 0)
            goto found;
    }
    if (i >= n)
        return n;
    if (n >= 8) {
        /* the last 8 bytes, those before i shifted out (0x00 comes in,
         * which is no letter) */
        uint64_t w = hy_load_le64(p + n - 8) >> (8 * (i - (n - 8)));
        m = hy_letter_bytes(w, pa) | hy_letter_bytes(w, pb);
        if (m == 0)
            return n;
        goto found;
    }
    for (; i < n; i++) {
        char c = (char)(p[i] | 0x20);
        if (c == a || c == b)
            return i;
    }
    return n;
found:
    /* the lowest bit is a true match of one letter or the other (each
     * test's lowest bit is true, and the lower of the two comes first) */
    return i + (size_t)__builtin_ctzll(m) / 8;
}

#endif /* HALYARD_TEXT_H */
