/*
 * text.c: see text.h.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "halyard/core/text.h"

size_t hy_utf8_len(const void *p, size_t n)
{
    const unsigned char *s = p;
    if (n == 0)
        return 0;
    unsigned char c = s[0];
    size_t len;
    unsigned lo = 0x80, hi = 0xbf; /* bounds of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (n < 2 || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++) {
        if (i >= n || s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    }
    return len;
}

bool hy_utf8_valid(const void *s, size_t n, bool mb4)
{
    const unsigned char *p = s;
    for (size_t i = 0; i < n;) {
        if (i + 8 <= n && (hy_load_le64(p + i) & 0x8080808080808080ull) == 0) {
            i += 8; /* eight ASCII bytes at once */
            continue;
        }
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = hy_utf8_len(p + i, n - i);
        if (k == 0 || (k == 4 && !mb4))
            return false;
        i += k;
    }
    return true;
}

/* How many bytes at p (of n) go into a JSON string as they are, eight a
 * step while they can (hy_json_plain without the copy). */
static size_t json_plain_count(const unsigned char *p, size_t n)
{
    size_t i = 0;
    uint64_t v;
    while (i + 8 <= n && (memcpy(&v, p + i, 8), hy_json_plain8(v)))
        i += 8;
    while (i < n && hy_json_plain1(p[i]))
        i++;
    return i;
}

size_t hy_json_escape(char *dst, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t run =
            dst != NULL ? hy_json_plain(dst + o, s + i, len - i) : json_plain_count(p + i, len - i);
        if (run > 0) {
            o += run;
            i += run;
            continue;
        }
        unsigned char c = p[i];
        if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t') {
            if (dst != NULL) {
                dst[o] = '\\';
                dst[o + 1] = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : (char)c;
            }
            o += 2;
            i++;
            continue;
        }
        size_t n = c >= 0x80 ? hy_utf8_len(p + i, len - i) : 0;
        if (n > 0) {
            if (dst != NULL)
                memcpy(dst + o, p + i, n);
            o += n;
            i += n;
            continue;
        }
        if (dst != NULL) {
            if (c >= 0x80) { /* not valid UTF-8 */
                memcpy(dst + o, "\\ufffd", 6);
            } else { /* a control byte or DEL */
                char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                memcpy(dst + o, esc, 6);
            }
        }
        o += 6;
        i++;
    }
    return o;
}

size_t hy_digits(const char *p, size_t len)
{
    size_t n = 0;
    while (n < len && p[n] >= '0' && p[n] <= '9')
        n++;
    return n;
}

bool hy_parse_u64(const char *p, size_t len, uint64_t max, uint64_t *v)
{
    if (len == 0)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        uint64_t d = (uint64_t)(p[i] - '0');
        if (d > max || x > (max - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *v = x;
    return true;
}

bool hy_parse_i64(const char *p, size_t len, int64_t min, int64_t max, int64_t *v)
{
    bool neg = len > 0 && p[0] == '-';
    uint64_t mag;
    /* the magnitude's bound: |INT64_MIN| is INT64_MAX + 1 */
    uint64_t lim = neg ? (min < 0 ? (uint64_t)(-(min + 1)) + 1 : 0) : (max < 0 ? 0 : (uint64_t)max);
    if (!hy_parse_u64(p + neg, len - neg, lim, &mag))
        return false;
    int64_t x = neg ? (mag == 0 ? 0 : -(int64_t)(mag - 1) - 1) : (int64_t)mag;
    if (x < min || x > max)
        return false;
    *v = x;
    return true;
}

bool hy_parse_x64(const char *p, size_t len, uint64_t max, uint64_t *v)
{
    if (len == 0)
        return false;
    uint64_t x = 0;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        uint64_t d = c >= '0' && c <= '9'   ? (uint64_t)(c - '0')
                     : c >= 'a' && c <= 'f' ? (uint64_t)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (uint64_t)(c - 'A' + 10)
                                            : 16;
        if (d == 16 || d > max || x > (max - d) / 16)
            return false;
        x = x * 16 + d;
    }
    *v = x;
    return true;
}

bool hy_str_u64(const char *s, uint64_t max, uint64_t *v)
{
    return s != NULL && hy_parse_u64(s, strlen(s), max, v);
}

bool hy_str_i64(const char *s, int64_t min, int64_t max, int64_t *v)
{
    return s != NULL && hy_parse_i64(s, strlen(s), min, max, v);
}

bool hy_str_double(const char *s, double *v)
{
    if (s == NULL)
        return false;
    /* digits, one '.', an exponent: strtod's other forms (hex, inf, nan,
     * leading space) refused before it reads them */
    for (const char *p = s; *p != '\0'; p++) {
        if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '+' || *p == 'e' ||
              *p == 'E'))
            return false;
    }
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(x))
        return false;
    *v = x;
    return true;
}

/* The value of the 4 hex digits at p, or -1. */
static long hex4(const char *p)
{
    long x = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        x = x * 16 + d;
    }
    return x;
}

/* Code point u as UTF-8 into b; its length. */
static size_t utf8_put(char *b, unsigned long u)
{
    if (u < 0x80) {
        b[0] = (char)u;
        return 1;
    }
    if (u < 0x800) {
        b[0] = (char)(0xc0 | (u >> 6));
        b[1] = (char)(0x80 | (u & 0x3f));
        return 2;
    }
    if (u < 0x10000) {
        b[0] = (char)(0xe0 | (u >> 12));
        b[1] = (char)(0x80 | ((u >> 6) & 0x3f));
        b[2] = (char)(0x80 | (u & 0x3f));
        return 3;
    }
    b[0] = (char)(0xf0 | (u >> 18));
    b[1] = (char)(0x80 | ((u >> 12) & 0x3f));
    b[2] = (char)(0x80 | ((u >> 6) & 0x3f));
    b[3] = (char)(0x80 | (u & 0x3f));
    return 4;
}

/* The escape after the backslash at *pp as bytes into b (its length, 0
 * when bad); *pp moves past it. */
static size_t json_unescape(const char **pp, char *b)
{
    const char *p = *pp;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *k = *p != '\0' ? strchr(from, *p) : NULL;
    if (k != NULL) {
        b[0] = to[k - from];
        *pp = p + 1;
        return 1;
    }
    long u = *p == 'u' ? hex4(p + 1) : -1;
    if (u <= 0)
        return 0; /* not an escape, or \u0000: no NUL in a C string */
    p += 5;
    if (u >= 0xd800 && u <= 0xdbff && p[0] == '\\' && p[1] == 'u') {
        long lo = hex4(p + 2);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
            u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            p += 6;
        }
    }
    if (u >= 0xd800 && u <= 0xdfff)
        u = 0xfffd; /* a lone surrogate */
    *pp = p;
    return utf8_put(b, (unsigned long)u);
}

bool hy_json_str(const char *json, const char *key, char *out, size_t cap)
{
    char pat[128];
    int n = snprintf(pat, sizeof(pat), "\"%s\":", key);
    if (cap == 0)
        return false;
    out[0] = '\0';
    if (n < 0 || (size_t)n >= sizeof(pat))
        return false;
    const char *p = json;
    for (;;) {
        p = strstr(p, pat);
        if (p == NULL)
            return false;
        p += n;
        while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (*p == '"')
            break;
    }
    size_t o = 0;
    for (p++; *p != '"';) {
        char b[4];
        size_t k = 1;
        if (*p == '\0' || (unsigned char)*p < 0x20)
            return false; /* cut short, or a raw control byte */
        if (*p == '\\') {
            p++;
            if ((k = json_unescape(&p, b)) == 0)
                return false;
        } else {
            b[0] = *p++;
        }
        if (o + k >= cap)
            return false;
        memcpy(out + o, b, k);
        out[o += k] = '\0';
    }
    return true;
}

char *hy_dupz(const void *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

bool hy_list_has(const char *p, size_t n, const char *item)
{
    size_t want = strlen(item);
    for (size_t i = 0; i <= n;) {
        const char *comma = memchr(p + i, ',', n - i);
        size_t end = comma != NULL ? (size_t)(comma - p) : n, b = i, e = end;
        while (b < e && p[b] == ' ')
            b++;
        while (e > b && p[e - 1] == ' ')
            e--;
        if (e - b == want && strncasecmp(p + b, item, want) == 0)
            return true;
        i = end + 1;
    }
    return false;
}

/* Whether `word` (upper case, a letter first) appears in the text, in any
 * case. */
bool hy_text_mentions(const char *p, size_t n, const char *word)
{
    const size_t wl = strlen(word);
    const char first = (char)(word[0] | 0x20);
    for (size_t i = 0; (i = hy_find_letters(p, n, i, first, first)) + wl <= n; i++) {
        if (strncasecmp(p + i, word, wl) == 0)
            return true;
    }
    return false;
}
