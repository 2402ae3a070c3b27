/*
 * text.c: see text.h.
 */
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

size_t hy_json_escape(char *dst, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            if (dst != NULL)
                dst[o] = (char)c;
            o++;
            i++;
            continue;
        }
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
