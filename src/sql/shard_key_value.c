/*
 * shard_key_value.c: key values (shard_key.h): what a literal or a
 * parameter is as a key, and its bucket and group.
 *
 * Integer keys: the literal's value (7, '007'), hashed as its decimal
 * text. String keys: the literal's bytes (escapes decoded as the server
 * decodes them, NO_BACKSLASH_ESCAPES heeded; X'..' and 0x.. as bytes) in
 * its character set, usable only when the server's conversion to the
 * column's character set leaves them unchanged; hashed as those bytes
 * (trailing spaces stripped under a PAD SPACE collation), or placed
 * between a range map's bounds in the collation's order. Which
 * collations route exactly (byte equality) and the character sets of
 * names and collation ids. Pure.
 */
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "halyard/core/text.h"
#include "halyard/sql/classify.h"
#include "halyard/sql/lexer.h"
#include "halyard/sql/shard_key.h"

/* ---- values ---------------------------------------------------------- */

size_t shard_key_text(int64_t v, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%lld", (long long)v);
    return n < 0 ? 0 : (size_t)n;
}

uint32_t shard_key_bucket(const struct shard_table *t, int64_t v)
{
    char txt[24];
    size_t n = shard_key_text(v, txt, sizeof(txt));
    uLong c = crc32(0L, (const Bytef *)txt, (uInt)n);
    return t->buckets > 0 ? (uint32_t)(c % t->buckets) : 0;
}

uint16_t shard_key_group(const struct shard_table *t, int64_t v)
{
    if (t->fn == KEY_FN_HASH)
        return t->bucket_group[shard_key_bucket(t, v)];
    for (size_t i = 0; i < t->n_spans; i++) {
        if (!t->spans[i].has_below || v < t->spans[i].below)
            return t->spans[i].group;
    }
    return t->n_spans > 0 ? t->spans[t->n_spans - 1].group : 0;
}

/* Decimal digits with an optional '-' (neg: negate), into *v; false when
 * it is not that or does not fit. */
static bool parse_int(const char *p, size_t n, bool neg, uint64_t limit, int64_t *v)
{
    if (n > 0 && p[0] == '-') {
        neg = !neg;
        p++;
        n--;
    }
    uint64_t x;
    if (n > 20 || !hy_parse_u64(p, n, limit + (neg ? 1u : 0u), &x))
        return false;
    *v = neg ? (int64_t)(0 - x) : (int64_t)x;
    return true;
}

bool shard_key_literal(const char *lit, size_t len, bool neg, int64_t *v)
{
    if (len == 0)
        return false;
    if (is_digit((unsigned char)lit[0])) /* a number: digits only, no 7.5, 1e3, 0x1F */
        return parse_int(lit, len, neg, INT64_MAX, v);
    /* a string: the server compares it with an integer column as a double:
     * exact below 2^53 */
    size_t q = 0;
    if (lit[0] == 'N' || lit[0] == 'n' || lit[0] == '_') {
        while (q < len && lit[q] != '\'' && lit[q] != '"')
            q++;
    }
    if (q + 2 > len || (lit[q] != '\'' && lit[q] != '"') || lit[len - 1] != lit[q])
        return false;
    if (neg)
        return false; /* -'7' is an expression */
    return parse_int(lit + q + 1, len - q - 2, false, (1ull << 53) - 1, v);
}

bool shard_key_string(const char *s, size_t len, int64_t *v)
{
    return parse_int(s, len, false, (1ull << 53) - 1, v);
}

/* ---- string keys ------------------------------------------------------- */

enum key_cs shard_key_cs_by_name(const char *name, size_t len)
{
    static const struct {
        const char *name;
        enum key_cs cs;
    } m[] = {{"utf8mb4", KEY_CS_UTF8MB4}, {"utf8mb3", KEY_CS_UTF8MB3}, {"utf8", KEY_CS_UTF8MB3},
             {"latin1", KEY_CS_LATIN1},   {"ascii", KEY_CS_ASCII},     {"binary", KEY_CS_BINARY},
             {"ucs2", KEY_CS_WIDE},       {"utf16", KEY_CS_WIDE},      {"utf16le", KEY_CS_WIDE},
             {"utf32", KEY_CS_WIDE}};
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
        if (strlen(m[i].name) == len && ci_equal((const unsigned char *)name, len, m[i].name))
            return m[i].cs;
    }
    return KEY_CS_UNKNOWN;
}

enum key_cs shard_key_cs_by_id(unsigned id)
{
    /* MariaDB's collation ids (SHOW COLLATION) for the sets above */
    if (id == 33 || id == 83 || id == 76 || (id >= 192 && id <= 215) || id == 223)
        return KEY_CS_UTF8MB3;
    if (id == 45 || id == 46 || (id >= 224 && id <= 247) || id == 255)
        return KEY_CS_UTF8MB4;
    if (id == 5 || id == 8 || id == 15 || id == 31 || id == 47 || id == 48 || id == 49 || id == 94)
        return KEY_CS_LATIN1;
    if (id == 11 || id == 65)
        return KEY_CS_ASCII;
    if (id == 63)
        return KEY_CS_BINARY;
    if (id == 35 || id == 90 || (id >= 128 && id <= 151) || id == 54 || id == 55 || id == 56 ||
        id == 60 || id == 61 || id == 62 || (id >= 101 && id <= 124) || (id >= 160 && id <= 183))
        return KEY_CS_WIDE;
    return KEY_CS_UNKNOWN;
}

bool shard_key_collation(const char *name, enum key_cs *cs, bool *pad)
{
    size_t n = strlen(name);
    if (n == 6 && ci_equal((const unsigned char *)name, n, "binary")) {
        *cs = KEY_CS_BINARY;
        *pad = false;
        return true;
    }
    static const char nopad[] = "_nopad_bin", bin[] = "_bin";
    size_t k;
    if (n > sizeof(nopad) - 1 &&
        ci_equal((const unsigned char *)name + n - (sizeof(nopad) - 1), sizeof(nopad) - 1, nopad)) {
        k = n - (sizeof(nopad) - 1);
        *pad = false;
    } else if (n > sizeof(bin) - 1 && ci_equal((const unsigned char *)name + n - (sizeof(bin) - 1),
                                               sizeof(bin) - 1, bin)) {
        k = n - (sizeof(bin) - 1);
        *pad = true;
    } else {
        return false;
    }
    *cs = shard_key_cs_by_name(name, k);
    return *cs == KEY_CS_UTF8MB4 || *cs == KEY_CS_UTF8MB3 || *cs == KEY_CS_LATIN1 ||
           *cs == KEY_CS_ASCII;
}

uint32_t shard_key_str_bucket(const struct shard_table *t, const uint8_t *s, size_t n)
{
    if (t->pad) {
        while (n > 0 && s[n - 1] == ' ')
            n--;
    }
    uLong c = crc32(0L, s, (uInt)n);
    return t->buckets > 0 ? (uint32_t)(c % t->buckets) : 0;
}

int shard_key_str_cmp(const struct shard_table *t, const uint8_t *a, size_t an, const uint8_t *b,
                      size_t bn)
{
    /* The server's strnncollsp for binary, *_bin and *_nopad_bin: valid
     * UTF-8 sorts by bytes as its code points do; under PAD SPACE the
     * longer value's rest is compared with spaces ('a\t' < 'a' = 'a '). */
    size_t n = an < bn ? an : bn;
    int c = n > 0 ? memcmp(a, b, n) : 0;
    if (c != 0 || an == bn)
        return c;
    if (!t->pad)
        return an < bn ? -1 : 1;
    const uint8_t *rest = an > bn ? a + n : b + n;
    size_t rn = (an > bn ? an : bn) - n;
    int sign = an > bn ? 1 : -1;
    for (size_t i = 0; i < rn; i++) {
        if (rest[i] != ' ')
            return rest[i] < ' ' ? -sign : sign;
    }
    return 0;
}

uint16_t shard_key_str_group(const struct shard_table *t, const uint8_t *s, size_t n)
{
    if (t->fn == KEY_FN_HASH)
        return t->bucket_group[shard_key_str_bucket(t, s, n)];
    for (size_t i = 0; i < t->n_spans; i++) {
        const struct key_span *sp = &t->spans[i];
        if (!sp->has_below || shard_key_str_cmp(t, s, n, sp->below_s, sp->below_n) < 0)
            return sp->group;
    }
    return t->n_spans > 0 ? t->spans[t->n_spans - 1].group : 0;
}

static bool ascii_only(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] >= 0x80)
            return false;
    }
    return true;
}

bool shard_key_str_bound(const struct shard_table *t, const char *text, uint8_t *buf, size_t cap,
                         size_t *n, const char **why)
{
    const uint8_t *s = (const uint8_t *)text;
    size_t len = strlen(text);
    *n = 0;
    *why = "longer than 1024 bytes";
    switch (t->cs) {
    case KEY_CS_BINARY: /* the bytes as written */
        if (len > cap)
            return false;
        memcpy(buf, s, len);
        *n = len;
        return true;
    case KEY_CS_UTF8MB4:
    case KEY_CS_UTF8MB3:
        if (!hy_utf8_valid(s, len, t->cs == KEY_CS_UTF8MB4)) {
            *why = t->cs == KEY_CS_UTF8MB4 ? "not valid UTF-8"
                                           : "not valid UTF-8 of utf8mb3 (no 4-byte characters)";
            return false;
        }
        if (len > cap)
            return false;
        memcpy(buf, s, len);
        *n = len;
        return true;
    case KEY_CS_ASCII:
        if (!ascii_only(s, len)) {
            *why = "not ASCII";
            return false;
        }
        if (len > cap)
            return false;
        memcpy(buf, s, len);
        *n = len;
        return true;
    case KEY_CS_LATIN1:
        /* UTF-8 text into latin1 bytes: ASCII and U+00A0..U+00FF, the same
         * code in both; MariaDB's latin1 is cp1252 in 0x80..0x9F, which
         * halyard does not map: refused */
        for (size_t i = 0; i < len; i++) {
            uint8_t c = s[i];
            if (c >= 0x80) {
                if ((c != 0xC2 && c != 0xC3) || i + 1 >= len || (s[i + 1] & 0xC0) != 0x80 ||
                    (c == 0xC2 && s[i + 1] < 0xA0)) {
                    *why = "not latin1 text halyard can convert (ASCII and U+00A0..U+00FF, as "
                           "UTF-8)";
                    return false;
                }
                c = (uint8_t)(((c & 0x03u) << 6) | (s[i + 1] & 0x3Fu));
                i++;
            }
            if (*n >= cap)
                return false;
            buf[(*n)++] = c;
        }
        return true;
    default:
        *why = "not in a character set halyard routes by";
        return false;
    }
}

bool shard_key_str_exact(const struct shard_table *t, enum key_cs from, const uint8_t *s, size_t n)
{
    enum key_cs to = t->cs;
    if (from == KEY_CS_WIDE || to == KEY_CS_WIDE)
        return false;
    if (from == KEY_CS_UNKNOWN) /* only ASCII text converts unchanged, whatever the sets */
        return ascii_only(s, n);
    if (to == KEY_CS_BINARY)
        return true; /* bytes compared as bytes */
    if (from == KEY_CS_BINARY) {
        /* a binary string compared with a text column is taken as text of
         * the column's set: unchanged only when well-formed there (else
         * the server may make '?' of it) */
        switch (to) {
        case KEY_CS_UTF8MB4:
        case KEY_CS_UTF8MB3:
            return hy_utf8_valid(s, n, to == KEY_CS_UTF8MB4);
        case KEY_CS_LATIN1:
            return true;
        default:
            return ascii_only(s, n);
        }
    }
    if (ascii_only(s, n))
        return true; /* every set here is ASCII-based */
    switch (from) {
    case KEY_CS_UTF8MB4:
        return (to == KEY_CS_UTF8MB4 || to == KEY_CS_UTF8MB3) &&
               hy_utf8_valid(s, n, to == KEY_CS_UTF8MB4);
    case KEY_CS_UTF8MB3:
        return (to == KEY_CS_UTF8MB4 || to == KEY_CS_UTF8MB3) && hy_utf8_valid(s, n, false);
    case KEY_CS_LATIN1:
        return to == KEY_CS_LATIN1;
    default:
        return false;
    }
}

static int hexval(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    c = to_upper(c);
    return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

bool shard_key_str_literal(const char *lit, size_t len, unsigned lex_opts, enum key_cs conn,
                           uint8_t *buf, size_t cap, size_t *n, enum key_cs *cs)
{
    const unsigned char *p = (const unsigned char *)lit;
    *n = 0;
    if (len == 0)
        return false;
    /* hex: X'616263' or 0x616263 */
    if ((len >= 3 && (p[0] == 'X' || p[0] == 'x') && p[1] == '\'' && p[len - 1] == '\'') ||
        (len >= 3 && p[0] == '0' && p[1] == 'x')) {
        size_t a = 2, b = p[0] == '0' ? len : len - 1;
        if ((b - a) % 2 != 0 || (b - a) / 2 > cap)
            return false;
        for (size_t i = a; i < b; i += 2) {
            int hi = hexval(p[i]), lo = hexval(p[i + 1]);
            if (hi < 0 || lo < 0)
                return false;
            buf[(*n)++] = (uint8_t)(hi * 16 + lo);
        }
        *cs = KEY_CS_BINARY;
        return true;
    }
    size_t q = 0;
    *cs = conn;
    if (p[0] == 'N' || p[0] == 'n') {
        q = 1;
        *cs = KEY_CS_UTF8MB3; /* the national character set */
    } else if (p[0] == '_') {
        while (q < len && p[q] != '\'' && p[q] != '"' && !is_space(p[q]))
            q++;
        *cs = shard_key_cs_by_name(lit + 1, q - 1);
        if (*cs == KEY_CS_UNKNOWN)
            *cs = KEY_CS_WIDE; /* an introducer halyard does not know: no key */
        while (q < len && is_space(p[q]))
            q++;
    }
    if (q + 2 > len || (p[q] != '\'' && p[q] != '"') || p[len - 1] != p[q])
        return false;
    unsigned char quote = p[q];
    bool bs = !(lex_opts & CLO_NO_BACKSLASH_ESCAPES);
    for (size_t i = q + 1; i < len - 1; i++) {
        unsigned char c = p[i];
        if (c == quote) {
            if (i + 1 >= len - 1 || p[i + 1] != quote)
                return false; /* 'a' 'b' is not one literal here */
            i++;
        } else if (c == '\\' && bs) {
            if (i + 1 >= len - 1)
                return false;
            c = p[++i];
            switch (c) {
            case '0':
                c = 0;
                break;
            case 'b':
                c = '\b';
                break;
            case 'n':
                c = '\n';
                break;
            case 'r':
                c = '\r';
                break;
            case 't':
                c = '\t';
                break;
            case 'Z':
                c = 0x1A;
                break;
            case '%':
            case '_': /* kept with their backslash */
                if (*n >= cap)
                    return false;
                buf[(*n)++] = '\\';
                break;
            default:
                break;
            }
        }
        if (*n >= cap)
            return false;
        buf[(*n)++] = c;
    }
    return true;
}
