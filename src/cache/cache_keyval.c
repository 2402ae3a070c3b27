/*
 * cache_keyval.c: see cache_keyval.h.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "halyard/core/text.h"
#include "halyard/cache/cache_keyval.h"
#include "halyard/protocol/binlog_rows.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/sql/cache_sql.h"

/* Collations under which printable ASCII strings are equal only if equal
 * once lower-cased and without trailing spaces (cache_keyval.h). */
static const char *const folded[] = {
    "utf8mb4_general_ci",
    "utf8mb3_general_ci",
    "utf8_general_ci",
    "utf8mb4_unicode_ci",
    "utf8mb3_unicode_ci",
    "utf8_unicode_ci",
    "utf8mb4_unicode_520_ci",
    "utf8mb3_unicode_520_ci",
    "utf8_unicode_520_ci",
    "utf8mb4_general_nopad_ci",
    "utf8mb3_general_nopad_ci",
    "utf8mb4_unicode_nopad_ci",
    "utf8mb3_unicode_nopad_ci",
    "utf8mb4_bin",
    "utf8mb3_bin",
    "utf8_bin",
    "utf8mb4_nopad_bin",
    "utf8mb3_nopad_bin",
    "ascii_general_ci",
    "ascii_bin",
    "latin1_bin",
    "ascii_general_nopad_ci",
    "ascii_nopad_bin",
    "latin1_nopad_bin",
};

enum cache_key_kind cache_keyval_kind(const char *data_type, const char *collation)
{
    static const char *const ints[] = {"tinyint", "smallint", "mediumint", "int", "bigint"};
    if (data_type == NULL)
        return CACHE_KEY_NONE;
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
        if (strcasecmp(data_type, ints[i]) == 0)
            return CACHE_KEY_INT;
    if (strcasecmp(data_type, "decimal") == 0)
        return CACHE_KEY_DECIMAL;
    if (strcasecmp(data_type, "date") == 0)
        return CACHE_KEY_DATE;
    if (strcasecmp(data_type, "datetime") == 0)
        return CACHE_KEY_DATETIME;
    if ((strcasecmp(data_type, "char") == 0 || strcasecmp(data_type, "varchar") == 0) &&
        collation != NULL)
        for (size_t i = 0; i < sizeof(folded) / sizeof(folded[0]); i++)
            if (strcasecmp(collation, folded[i]) == 0)
                return CACHE_KEY_STRING;
    return CACHE_KEY_NONE;
}

/* bytes p[0..n) folded into out: false for a byte not printable ASCII,
 * `\` or `~`, or too long. */
static bool fold(const uint8_t *p, size_t n, char *out)
{
    while (n > 0 && p[n - 1] == ' ')
        n--;
    if (n + 2 > CACHE_KEYVAL_MAX)
        return false;
    out[0] = 's';
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c < 0x20 || c > 0x7d || c == '\\')
            return false;
        out[1 + i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[1 + n] = '\0';
    return true;
}

static unsigned month_days(unsigned y, unsigned m)
{
    static const unsigned d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : d[m - 1];
}

/* `n` digits at p into *v. */
static bool digits(const char *p, unsigned n, unsigned *v)
{
    uint64_t x;
    if (!hy_parse_u64(p, n, UINT32_MAX, &x))
        return false;
    *v = (unsigned)x;
    return true;
}

static void datetime_text(char *out, unsigned y, unsigned mo, unsigned d, unsigned h, unsigned mi,
                          unsigned s, unsigned long usec)
{
    int n = snprintf(out, CACHE_KEYVAL_MAX, "t%04u-%02u-%02u %02u:%02u:%02u", y, mo, d, h, mi, s);
    if (usec != 0) {
        char frac[24];
        snprintf(frac, sizeof(frac), "%06lu", usec);
        size_t k = 6;
        while (k > 0 && frac[k - 1] == '0')
            k--;
        snprintf(out + n, CACHE_KEYVAL_MAX - (size_t)n, ".%.*s", (int)k, frac);
    }
}

/* 'YYYY-MM-DD' (date_only) or that and ' HH:MM:SS' with zero decimals:
 * a valid date and time, written. */
static bool date_from_sql(const char *s, bool date_only, char *out)
{
    size_t n = strlen(s);
    unsigned y, mo, d, h = 0, mi = 0, sec = 0;
    if (n < 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) ||
        !digits(s + 8, 2, &d) || y == 0 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
        return false;
    if (n > 10) {
        if (date_only || n < 19 || s[10] != ' ' || s[13] != ':' || s[16] != ':' ||
            !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &sec) ||
            h > 23 || mi > 59 || sec > 59)
            return false;
        if (n > 19) {
            if (s[19] != '.' || n == 20 || n > 26)
                return false;
            for (size_t i = 20; i < n; i++)
                if (s[i] != '0')
                    return false; /* a fraction: the column's precision would decide */
        }
    }
    datetime_text(out, y, mo, d, h, mi, sec, 0);
    return true;
}

bool cache_keyval_from_sql(enum cache_key_kind k, const char *val, char *out)
{
    bool str = val[0] == '\'';
    switch (k) {
    case CACHE_KEY_INT:
    case CACHE_KEY_DECIMAL:
        if (str || strlen(val) + 2 > CACHE_KEYVAL_MAX)
            return false; /* a string is compared as a DOUBLE */
        out[0] = 'n';
        memcpy(out + 1, val, strlen(val) + 1);
        return true;
    case CACHE_KEY_STRING:
        return str && fold((const uint8_t *)val + 1, strlen(val + 1), out);
    case CACHE_KEY_DATE:
    case CACHE_KEY_DATETIME:
        return str && date_from_sql(val + 1, k == CACHE_KEY_DATE, out);
    case CACHE_KEY_NONE:
        break;
    }
    return false;
}

/* ---- row images ------------------------------------------------------------ */

static uint32_t be(const uint8_t *p, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* A packed DECIMAL(prec, scale) of `len` bytes, written. Its bytes: the
 * integer digits then the decimals, in groups of 9 digits in 4 bytes
 * (the leading integer group and the trailing decimal group shorter),
 * big-endian, the first byte's top bit set for a value >= 0 and every
 * bit inverted for one < 0. */
static bool decimal_text(const uint8_t *v, size_t len, unsigned prec, unsigned scale, char *out)
{
    static const unsigned dig2bytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
    if (scale > prec || prec == 0 || prec > 65)
        return false;
    unsigned intg = prec - scale, i0 = intg / 9, i0x = intg % 9, f0 = scale / 9, f0x = scale % 9;
    size_t size = i0 * 4 + dig2bytes[i0x] + f0 * 4 + dig2bytes[f0x];
    if (size != len || len > 32)
        return false;
    uint8_t b[32];
    memcpy(b, v, len);
    bool neg = (b[0] & 0x80) == 0;
    b[0] ^= 0x80;
    if (neg)
        for (size_t i = 0; i < len; i++)
            b[i] = (uint8_t)~b[i];
    char txt[100];
    size_t o = 0, at = 0;
    static const uint32_t pow10[10] = {1,      10,      100,      1000,      10000,
                                       100000, 1000000, 10000000, 100000000, 1000000000};
    if (i0x > 0) {
        uint32_t x = be(b, dig2bytes[i0x]);
        if (x >= pow10[i0x])
            return false;
        o += (size_t)snprintf(txt + o, sizeof(txt) - o, "%0*u", (int)i0x, x);
        at += dig2bytes[i0x];
    }
    for (unsigned g = 0; g < i0; g++, at += 4) {
        uint32_t x = be(b + at, 4);
        if (x >= pow10[9])
            return false;
        o += (size_t)snprintf(txt + o, sizeof(txt) - o, "%09u", x);
    }
    txt[o++] = '.';
    for (unsigned g = 0; g < f0; g++, at += 4) {
        uint32_t x = be(b + at, 4);
        if (x >= pow10[9])
            return false;
        o += (size_t)snprintf(txt + o, sizeof(txt) - o, "%09u", x);
    }
    if (f0x > 0) {
        uint32_t x = be(b + at, dig2bytes[f0x]);
        if (x >= pow10[f0x])
            return false;
        o += (size_t)snprintf(txt + o, sizeof(txt) - o, "%0*u", (int)f0x, x);
    }
    out[0] = 'n';
    return cache_sql_number(txt, o, neg, out + 1, CACHE_KEYVAL_MAX - 1);
}

/* A CHAR's (STRING) declared length in bytes from its metadata, as
 * binlog_rows.c reads it; 0 when it is not a CHAR (ENUM, SET). */
static unsigned char_len(uint16_t meta)
{
    unsigned real = meta & 0xff, len = meta >> 8;
    if ((real & 0x30) != 0x30) {
        len |= ((real & 0x30) ^ 0x30) << 4;
        real |= 0x30;
    }
    return real == MYSQL_TYPE_STRING ? len : 0;
}

bool cache_keyval_type_ok(enum cache_key_kind k, uint8_t type, uint16_t meta)
{
    switch (k) {
    case CACHE_KEY_INT:
        return type == BINLOG_T_TINY || type == BINLOG_T_SHORT || type == BINLOG_T_INT24 ||
               type == BINLOG_T_LONG || type == BINLOG_T_LONGLONG;
    case CACHE_KEY_DECIMAL:
        return type == MYSQL_TYPE_NEWDECIMAL;
    case CACHE_KEY_STRING:
        return type == MYSQL_TYPE_VARCHAR || (type == MYSQL_TYPE_STRING && char_len(meta) > 0);
    case CACHE_KEY_DATE:
        return type == MYSQL_TYPE_DATE || type == MYSQL_TYPE_NEWDATE;
    case CACHE_KEY_DATETIME:
        return type == MYSQL_TYPE_DATETIME2 && meta <= 6;
    case CACHE_KEY_NONE:
        break;
    }
    return false;
}

bool cache_keyval_from_image(enum cache_key_kind k, uint8_t type, uint16_t meta, const uint8_t *v,
                             size_t len, char *out)
{
    if (!cache_keyval_type_ok(k, type, meta) || k == CACHE_KEY_INT)
        return false;
    switch (k) {
    case CACHE_KEY_DECIMAL:
        return decimal_text(v, len, meta & 0xff, meta >> 8, out);
    case CACHE_KEY_STRING: {
        unsigned pre =
            type == MYSQL_TYPE_VARCHAR ? (meta < 256 ? 1 : 2) : (char_len(meta) > 255 ? 2 : 1);
        if (len < pre || (pre == 1 ? v[0] : (size_t)(v[0] | v[1] << 8)) != len - pre)
            return false;
        return fold(v + pre, len - pre, out);
    }
    case CACHE_KEY_DATE: {
        if (len != 3)
            return false;
        uint32_t x = (uint32_t)(v[0] | v[1] << 8 | v[2] << 16);
        datetime_text(out, x >> 9, (x >> 5) & 15, x & 31, 0, 0, 0, 0);
        return true;
    }
    case CACHE_KEY_DATETIME: {
        unsigned fb = (meta + 1u) / 2;
        if (len != 5 + fb)
            return false;
        uint64_t x = (uint64_t)be(v, 1) << 32 | be(v + 1, 4);
        if (x < UINT64_C(0x8000000000))
            return false; /* negative: not a DATETIME */
        x -= UINT64_C(0x8000000000);
        uint64_t ymd = x >> 17, ym = ymd >> 5, hms = x & 0x1ffff;
        unsigned long usec = fb == 0 ? 0 : (unsigned long)be(v + 5, fb);
        usec *= fb == 1 ? 10000 : fb == 2 ? 100 : 1;
        if (ym / 13 > 9999 || usec > 999999)
            return false;
        datetime_text(out, (unsigned)(ym / 13), (unsigned)(ym % 13), (unsigned)(ymd & 31),
                      (unsigned)(hms >> 12), (unsigned)((hms >> 6) & 63), (unsigned)(hms & 63),
                      usec);
        return true;
    }
    default:
        return false;
    }
}
