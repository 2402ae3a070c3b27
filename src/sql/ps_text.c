/*
 * ps_text.c: a prepared statement's execution as text, and a text result
 * set as the binary protocol's (see ps_text.h).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/core/text.h"
#include "halyard/core/textbuf.h"
#include "halyard/sql/classify.h"
#include "halyard/sql/lexer.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/sql/ps_text.h"

/* ---- the output, in core/textbuf ----------------------------------------
 * The tb_ helpers return false once the buffer is out of memory (its
 * overflow), so that a caller may stop at the first failure. */

/* The texts and result sets built here have no limit of their own. */
#define TB_LIMIT (SIZE_MAX / 2)

static bool tb_put(struct textbuf *b, const void *s, size_t n)
{
    textbuf_append(b, s, n);
    return !b->overflow;
}

static bool tb_str(struct textbuf *b, const char *s)
{
    return tb_put(b, s, strlen(s));
}

static bool tb_fmt(struct textbuf *b, const char *fmt, ...) HY_PRINTF(2, 3);

static bool tb_fmt(struct textbuf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < sizeof(tmp) && tb_put(b, tmp, (size_t)n);
}

static bool tb_u8(struct textbuf *b, uint8_t v)
{
    return tb_put(b, &v, 1);
}

static bool tb_le(struct textbuf *b, uint64_t v, size_t n)
{
    uint8_t tmp[8];
    for (size_t i = 0; i < n; i++)
        tmp[i] = (uint8_t)(v >> (8 * i));
    return tb_put(b, tmp, n);
}

static bool tb_lenenc(struct textbuf *b, uint64_t v)
{
    if (v < 0xfb)
        return tb_u8(b, (uint8_t)v);
    if (v <= 0xffff)
        return tb_u8(b, 0xfc) && tb_le(b, v, 2);
    if (v <= 0xffffff)
        return tb_u8(b, 0xfd) && tb_le(b, v, 3);
    return tb_u8(b, 0xfe) && tb_le(b, v, 8);
}

/* ---- parameters as literals --------------------------------------------- */

/* Collation ids whose character set never puts 0x5c inside a multi-byte
 * character: ascii, latin1, binary, utf8mb3, utf8mb4. */
static bool charset_safe(uint16_t id)
{
    switch (id) {
    case 5:
    case 8:
    case 15:
    case 31:
    case 47:
    case 48:
    case 49:
    case 94: /* latin1 */
    case 11:
    case 65: /* ascii */
    case MYSQL_CHARSET_BINARY:
    case 33:
    case 83: /* utf8mb3 */
    case 45:
    case 46: /* utf8mb4 */
        return true;
    default:
        return (id >= 192 && id <= 215) || id == 223 || (id >= 224 && id <= 247) || id == 255;
    }
}

/* A DECIMAL parameter's text: [-+]digits[.digits] (or .digits). */
static bool decimal_text(const uint8_t *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        i++;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        digits++;
    if (i < n && s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            digits++;
    }
    return i == n && digits > 0;
}

static bool put_string(struct textbuf *b, const uint8_t *s, size_t n, unsigned lex_opts,
                       uint16_t charset, char *why, size_t why_len)
{
    bool nbe = (lex_opts & CLO_NO_BACKSLASH_ESCAPES) != 0;
    bool high = false;
    for (size_t i = 0; i < n; i++)
        high = high || s[i] >= 0x80;
    if (high && !charset_safe(charset)) {
        snprintf(
            why, why_len,
            "a string parameter with non-ASCII bytes in character set %u (collation id) cannot be "
            "written as a literal safely",
            (unsigned)charset);
        return false;
    }
    if (nbe && memchr(s, '\0', n) != NULL) {
        snprintf(why, why_len, "a string parameter holding a NUL byte under NO_BACKSLASH_ESCAPES");
        return false;
    }
    tb_u8(b, '\'');
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        const char *esc = NULL;
        if (s[i] == '\'')
            esc = "''";
        else if (!nbe && s[i] == '\\')
            esc = "\\\\";
        else if (!nbe && s[i] == '\0')
            esc = "\\0";
        if (esc == NULL)
            continue;
        tb_put(b, s + from, i - from);
        tb_str(b, esc);
        from = i + 1;
    }
    tb_put(b, s + from, n - from);
    return tb_u8(b, '\'');
}

/* A temporal parameter: its length byte and fields (the binary protocol's
 * MYSQL_TIME forms). */
static bool put_temporal(struct textbuf *b, uint8_t type, struct mysql_rd *rd, char *why,
                         size_t why_len)
{
    uint8_t n = mysql_rd_u8(rd);
    const uint8_t *f = mysql_rd_bytes(rd, n);
    if (rd->bad || f == NULL) {
        snprintf(why, why_len, "a temporal parameter is cut short");
        return false;
    }
    if (type == MYSQL_TYPE_TIME) {
        if (n != 0 && n != 8 && n != 12) {
            snprintf(why, why_len, "a TIME parameter of %u bytes", (unsigned)n);
            return false;
        }
        unsigned neg = n ? f[0] : 0;
        uint32_t days =
            n ? (uint32_t)f[1] | (uint32_t)f[2] << 8 | (uint32_t)f[3] << 16 | (uint32_t)f[4] << 24
              : 0;
        unsigned h = n ? f[5] : 0, m = n ? f[6] : 0, sec = n ? f[7] : 0;
        uint32_t us = n == 12 ? (uint32_t)f[8] | (uint32_t)f[9] << 8 | (uint32_t)f[10] << 16 |
                                    (uint32_t)f[11] << 24
                              : 0;
        uint64_t hours = (uint64_t)days * 24 + h;
        if (hours > 838 || m > 59 || sec > 59 || us > 999999) {
            snprintf(why, why_len, "a TIME parameter out of range");
            return false;
        }
        tb_fmt(b, "TIME'%s%02u:%02u:%02u", neg ? "-" : "", (unsigned)hours, m, sec);
        if (us != 0)
            tb_fmt(b, ".%06u", (unsigned)us);
        return tb_u8(b, '\'');
    }
    if (n != 4 && n != 7 && n != 11) {
        snprintf(why, why_len, "a zero or malformed date parameter (%u bytes)", (unsigned)n);
        return false;
    }
    unsigned y = (unsigned)f[0] | (unsigned)f[1] << 8, mo = f[2], d = f[3];
    unsigned h = n >= 7 ? f[4] : 0, mi = n >= 7 ? f[5] : 0, s = n >= 7 ? f[6] : 0;
    uint32_t us = n == 11 ? (uint32_t)f[7] | (uint32_t)f[8] << 8 | (uint32_t)f[9] << 16 |
                                (uint32_t)f[10] << 24
                          : 0;
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y > 9999 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || s > 59 || us > 999999) {
        snprintf(why, why_len,
                 "a date parameter that is not a valid date (out of range, a zero part)");
        return false;
    }
    if (type == MYSQL_TYPE_DATE)
        return tb_fmt(b, "DATE'%04u-%02u-%02u'", y, mo, d);
    tb_fmt(b, "TIMESTAMP'%04u-%02u-%02u %02u:%02u:%02u", y, mo, d, h, mi, s);
    if (us != 0)
        tb_fmt(b, ".%06u", (unsigned)us);
    return tb_u8(b, '\'');
}

/* Parameter i's value (read from rd) as a literal, appended to b. */
static bool put_param(struct textbuf *b, struct mysql_rd *rd, uint8_t type, bool uns, bool null,
                      unsigned lex_opts, uint16_t charset, char *why, size_t why_len)
{
    if (null || type == MYSQL_TYPE_NULL)
        return tb_str(b, "NULL");
    uint64_t u = 0;
    size_t width = 0;
    switch (type) {
    case MYSQL_TYPE_TINY:
        width = 1;
        break;
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_YEAR:
        width = 2;
        break;
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_INT24:
        width = 4;
        break;
    case MYSQL_TYPE_LONGLONG:
        width = 8;
        break;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE: {
        double v;
        if (type == MYSQL_TYPE_FLOAT) {
            uint32_t bits = mysql_rd_u32(rd);
            float fv;
            memcpy(&fv, &bits, sizeof(fv));
            v = fv;
        } else {
            uint64_t bits = mysql_rd_u64(rd);
            memcpy(&v, &bits, sizeof(v));
        }
        if (rd->bad) {
            snprintf(why, why_len, "a floating-point parameter is cut short");
            return false;
        }
        if (!isfinite(v)) {
            snprintf(why, why_len, "a floating-point parameter that is not a finite number");
            return false;
        }
        return v < 0 ? tb_fmt(b, "(%.16e)", v) : tb_fmt(b, "%.16e", v);
    }
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL: {
        uint64_t n = mysql_rd_lenenc(rd);
        const uint8_t *s = rd->bad ? NULL : mysql_rd_bytes(rd, n);
        if (s == NULL || rd->bad) {
            snprintf(why, why_len, "a DECIMAL parameter is cut short");
            return false;
        }
        if (!decimal_text(s, n)) {
            snprintf(why, why_len, "a DECIMAL parameter that is not a decimal number");
            return false;
        }
        bool neg = s[0] == '-';
        return (neg ? tb_u8(b, '(') : true) && tb_put(b, s, n) && (neg ? tb_u8(b, ')') : true);
    }
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_TIME:
        return put_temporal(b, type, rd, why, why_len);
    default: {
        if (!mysql_type_is_string(type) && type != MYSQL_TYPE_JSON) {
            snprintf(why, why_len, "a parameter of type %u cannot be written as a literal",
                     (unsigned)type);
            return false;
        }
        uint64_t n = mysql_rd_lenenc(rd);
        const uint8_t *s = rd->bad ? NULL : mysql_rd_bytes(rd, n);
        if (s == NULL || rd->bad) {
            snprintf(why, why_len, "a string parameter is cut short");
            return false;
        }
        return put_string(b, s, n, lex_opts, charset, why, why_len);
    }
    }
    const uint8_t *v = mysql_rd_bytes(rd, width);
    if (v == NULL || rd->bad) {
        snprintf(why, why_len, "an integer parameter is cut short");
        return false;
    }
    for (size_t i = 0; i < width; i++)
        u |= (uint64_t)v[i] << (8 * i);
    if (uns || type == MYSQL_TYPE_YEAR)
        return tb_fmt(b, "%llu", (unsigned long long)u);
    int64_t sv;
    if (width == 8)
        sv = (int64_t)u;
    else if (u & (1ull << (8 * width - 1)))
        sv = (int64_t)u - (int64_t)(1ull << (8 * width));
    else
        sv = (int64_t)u;
    return sv < 0 ? tb_fmt(b, "(%lld)", (long long)sv) : tb_fmt(b, "%lld", (long long)sv);
}

/* Whether a literal written next to byte c could be read with it as one
 * token (a name, a number, a quoted string's continuation). */
static bool glues(char c)
{
    unsigned char u = (unsigned char)c;
    return (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u == '_' ||
           u == '$' || u == '.' || u == '\'' || u == '"' || u == '`' || u == '@' || u >= 0x80;
}

hy_status_t ps_text_interpolate(const char *sql, size_t len, unsigned lex_opts,
                                const uint8_t *payload, size_t plen, uint16_t n_params,
                                const uint8_t *types, uint16_t charset, char **out, size_t *out_len,
                                char *why, size_t why_len)
{
    *out = NULL;
    *out_len = 0;
    struct mysql_stmt_exec ex;
    if (mysql_stmt_exec_decode(payload, plen, n_params, &ex) != HY_OK) {
        snprintf(why, why_len, "malformed COM_STMT_EXECUTE");
        return HY_ERROR;
    }
    if (ex.new_params_bound)
        types = ex.types;
    if (n_params > 0 && types == NULL) {
        snprintf(why, why_len, "the parameters' types were never sent");
        return HY_ERROR;
    }
    struct mysql_rd rd;
    mysql_rd_init(&rd, payload + ex.head_len, plen - ex.head_len);
    struct textbuf b;
    textbuf_init(&b, TB_LIMIT);
    struct lexer lx;
    kw_ready();
    lex_init(&lx, sql, len, lex_opts, NULL);
    size_t from = 0;
    uint16_t i = 0;
    bool ok = true;
    int depth = 0, list = 0; /* list: 0 before the first SELECT, 1 in its list, 2 after */
    for (;;) {
        struct token t;
        lex_next(&lx, &t);
        if (t.type == T_END)
            break;
        if (t.type == T_LPAREN)
            depth++;
        else if (t.type == T_RPAREN)
            depth--;
        else if (t.type == T_WORD && t.kw == KW_SELECT && list == 0)
            list = 1;
        else if (t.type == T_WORD && t.kw == KW_FROM && depth == 0 && list == 1)
            list = 2;
        if (t.type != T_PARAM)
            continue;
        if (list == 1) {
            snprintf(why, why_len,
                     "a parameter in the select list (the server names and types its column after "
                     "the `?`, a literal would change both)");
            ok = false;
            break;
        }
        if (i >= n_params) {
            snprintf(why, why_len, "the statement has more `?` than its %u parameters",
                     (unsigned)n_params);
            ok = false;
            break;
        }
        tb_put(&b, sql + from, t.off - from);
        from = t.off + t.len;
        bool null = (ex.null_bitmap[i / 8] >> (i % 8)) & 1;
        /* `a=?AND b` is two tokens; `a=5AND b` would be a name */
        if (t.off > 0 && glues(sql[t.off - 1]))
            tb_u8(&b, ' ');
        if (!put_param(&b, &rd, types[2 * i], (types[2 * i + 1] & 0x80) != 0, null, lex_opts,
                       charset, why, why_len)) {
            ok = false;
            break;
        }
        if (from < len && glues(sql[from]))
            tb_u8(&b, ' ');
        i++;
    }
    if (ok && i != n_params) {
        snprintf(why, why_len, "the statement has %u `?` for %u parameters", (unsigned)i,
                 (unsigned)n_params);
        ok = false;
    }
    if (ok)
        tb_put(&b, sql + from, len - from);
    if (b.overflow) {
        textbuf_free(&b);
        return HY_NOMEM;
    }
    if (!ok) {
        textbuf_free(&b);
        return HY_ERROR;
    }
    if (b.data == NULL && !tb_put(&b, "", 0))
        return HY_NOMEM;
    *out = b.data;
    *out_len = b.len;
    return HY_OK;
}

/* ---- text rows as binary rows ------------------------------------------- */

struct col {
    uint8_t type;
    uint16_t flags;
    uint8_t decimals;
};

static bool put_int(struct textbuf *b, const struct col *c, const uint8_t *s, size_t n)
{
    size_t width = c->type == MYSQL_TYPE_TINY                                  ? 1
                   : c->type == MYSQL_TYPE_SHORT || c->type == MYSQL_TYPE_YEAR ? 2
                   : c->type == MYSQL_TYPE_LONGLONG                            ? 8
                                                                               : 4;
    bool uns = (c->flags & MYSQL_UNSIGNED_FLAG) != 0 || c->type == MYSQL_TYPE_YEAR;
    bool neg = n > 0 && s[0] == '-';
    uint64_t mag;
    if (n - neg > 20 || !hy_parse_u64((const char *)s + neg, n - neg, UINT64_MAX, &mag))
        return false;
    uint64_t bits;
    if (uns) {
        if (neg || (width < 8 && mag >> (8 * width) != 0))
            return false;
        bits = mag;
    } else {
        uint64_t lim = 1ull << (8 * width - 1); /* |min| */
        if (neg ? mag > lim : mag >= lim)
            return false;
        bits = neg ? (uint64_t)0 - mag : mag;
    }
    return tb_le(b, bits, width);
}

/* Fixed-width digits at s[*i] into *v. */
static bool digits(const uint8_t *s, size_t n, size_t *i, size_t w, unsigned *v)
{
    uint64_t x;
    if (w > n - *i || !hy_parse_u64((const char *)s + *i, w, UINT32_MAX, &x))
        return false;
    *i += w;
    *v = (unsigned)x;
    return true;
}

/* ".ffffff" (1 to 6 digits) at s[*i], as microseconds; nothing: 0. */
static bool fraction(const uint8_t *s, size_t n, size_t *i, uint32_t *us)
{
    *us = 0;
    if (*i == n)
        return true;
    if (s[*i] != '.')
        return false;
    (*i)++;
    size_t k = 0;
    uint32_t x = 0;
    for (; *i < n && k < 6 && s[*i] >= '0' && s[*i] <= '9'; (*i)++, k++)
        x = x * 10 + (uint32_t)(s[*i] - '0');
    if (k == 0 || *i != n)
        return false;
    for (; k < 6; k++)
        x *= 10;
    *us = x;
    return true;
}

/* "YYYY-MM-DD[ HH:MM:SS[.f]]" as the binary protocol's date form. */
static bool put_datetime(struct textbuf *b, const uint8_t *s, size_t n, bool date_only)
{
    size_t i = 0;
    unsigned y, mo, d, h = 0, mi = 0, sec = 0;
    uint32_t us = 0;
    if (!digits(s, n, &i, 4, &y) || i >= n || s[i++] != '-' || !digits(s, n, &i, 2, &mo) ||
        i >= n || s[i++] != '-' || !digits(s, n, &i, 2, &d))
        return false;
    if (i < n) {
        if (date_only || s[i++] != ' ' || !digits(s, n, &i, 2, &h) || i >= n || s[i++] != ':' ||
            !digits(s, n, &i, 2, &mi) || i >= n || s[i++] != ':' || !digits(s, n, &i, 2, &sec) ||
            !fraction(s, n, &i, &us))
            return false;
    }
    uint8_t len = us != 0 ? 11 : (h || mi || sec) ? 7 : (y || mo || d) ? 4 : 0;
    tb_u8(b, len);
    if (len >= 4) {
        tb_le(b, y, 2);
        tb_u8(b, (uint8_t)mo);
        tb_u8(b, (uint8_t)d);
    }
    if (len >= 7) {
        tb_u8(b, (uint8_t)h);
        tb_u8(b, (uint8_t)mi);
        tb_u8(b, (uint8_t)sec);
    }
    if (len == 11)
        tb_le(b, us, 4);
    return !b->overflow;
}

/* "[-]H+:MM:SS[.f]" as the binary protocol's time form. */
static bool put_time(struct textbuf *b, const uint8_t *s, size_t n)
{
    size_t i = 0;
    bool neg = n > 0 && s[0] == '-';
    i += neg;
    unsigned long hours = 0;
    size_t hd = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9' && hd < 4; i++, hd++)
        hours = hours * 10 + (unsigned long)(s[i] - '0');
    unsigned mi, sec;
    uint32_t us;
    if (hd < 2 || i >= n || s[i++] != ':' || !digits(s, n, &i, 2, &mi) || i >= n || s[i++] != ':' ||
        !digits(s, n, &i, 2, &sec) || !fraction(s, n, &i, &us))
        return false;
    uint32_t days = (uint32_t)(hours / 24);
    unsigned h = (unsigned)(hours % 24);
    uint8_t len = us != 0 ? 12 : (days || h || mi || sec) ? 8 : 0;
    tb_u8(b, len);
    if (len >= 8) {
        tb_u8(b, neg ? 1 : 0);
        tb_le(b, days, 4);
        tb_u8(b, (uint8_t)h);
        tb_u8(b, (uint8_t)mi);
        tb_u8(b, (uint8_t)sec);
    }
    if (len == 12)
        tb_le(b, us, 4);
    return !b->overflow;
}

#define NOT_FIXED_DEC 31 /* MariaDB: a DOUBLE printed with as many digits as it needs */

/* One value (not NULL) of column c in binary form; false with `why`. */
static bool put_value(struct textbuf *b, const struct col *c, size_t idx, const uint8_t *s,
                      size_t n, char *why, size_t why_len)
{
    switch (c->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_YEAR:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONGLONG:
        if (put_int(b, c, s, n))
            return true;
        snprintf(why, why_len, "column %zu: \"%.*s\" is not a value of its integer type", idx + 1,
                 (int)HY_MIN(n, 40), (const char *)s);
        return false;
    case MYSQL_TYPE_FLOAT:
        snprintf(why, why_len,
                 "column %zu is a FLOAT, whose text has 6 significant digits, not its value's: its "
                 "binary value cannot be rebuilt exactly (CAST it to DOUBLE or DECIMAL)",
                 idx + 1);
        return false;
    case MYSQL_TYPE_DOUBLE: {
        if (c->decimals != NOT_FIXED_DEC && c->decimals != 39) {
            snprintf(why, why_len,
                     "column %zu is a DOUBLE with %u fixed decimals, whose text is rounded: its "
                     "binary value cannot be rebuilt exactly",
                     idx + 1, (unsigned)c->decimals);
            return false;
        }
        char tmp[64];
        if (n == 0 || n >= sizeof(tmp))
            goto bad_double;
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        double v;
        if (!hy_str_double(tmp, &v))
            goto bad_double;
        uint64_t bits;
        memcpy(&bits, &v, sizeof(bits));
        return tb_le(b, bits, 8);
    bad_double:
        snprintf(why, why_len, "column %zu: \"%.*s\" is not a DOUBLE", idx + 1, (int)HY_MIN(n, 40),
                 (const char *)s);
        return false;
    }
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
        if (put_datetime(b, s, n, c->type == MYSQL_TYPE_DATE || c->type == MYSQL_TYPE_NEWDATE))
            return true;
        snprintf(why, why_len, "column %zu: \"%.*s\" is not a date", idx + 1, (int)HY_MIN(n, 40),
                 (const char *)s);
        return false;
    case MYSQL_TYPE_TIME:
        if (put_time(b, s, n))
            return true;
        snprintf(why, why_len, "column %zu: \"%.*s\" is not a time", idx + 1, (int)HY_MIN(n, 40),
                 (const char *)s);
        return false;
    case MYSQL_TYPE_NULL:
        snprintf(why, why_len, "column %zu is of type NULL but holds a value", idx + 1);
        return false;
    default:
        if (mysql_type_is_lenenc(c->type))
            return tb_lenenc(b, n) && tb_put(b, s, n);
        snprintf(why, why_len, "column %zu is of type %u, which halyard cannot write in binary",
                 idx + 1, (unsigned)c->type);
        return false;
    }
}

/* A text row's payload as a binary row's (appended to b). */
static bool row_binary(struct textbuf *b, const struct col *cols, size_t n_cols, const uint8_t *p,
                       size_t len, char *why, size_t why_len)
{
    size_t nb = (n_cols + 9) / 8;
    tb_u8(b, 0x00);
    size_t bm = b->len;
    for (size_t i = 0; i < nb; i++)
        tb_u8(b, 0);
    struct mysql_rd rd;
    mysql_rd_init(&rd, p, len);
    for (size_t i = 0; i < n_cols; i++) {
        if (mysql_rd_left(&rd) > 0 && rd.p[0] == 0xfb) {
            (void)mysql_rd_u8(&rd);
            if (!b->overflow)
                ((uint8_t *)b->data)[bm + (i + 2) / 8] |= (uint8_t)(1u << ((i + 2) % 8));
            continue;
        }
        uint64_t n = mysql_rd_lenenc(&rd);
        const uint8_t *s = rd.bad ? NULL : mysql_rd_bytes(&rd, n);
        if (s == NULL || rd.bad) {
            snprintf(why, why_len, "a row of the merged answer is malformed");
            return false;
        }
        if (!put_value(b, &cols[i], i, s, n, why, why_len))
            return false;
    }
    if (mysql_rd_left(&rd) != 0) {
        snprintf(why, why_len, "a row of the merged answer has more values than columns");
        return false;
    }
    return true;
}

/* One packet (payload p, n bytes, sequence id seq) appended whole. */
static bool put_packet(struct textbuf *b, const uint8_t *p, size_t n, uint8_t seq)
{
    uint8_t h[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), seq};
    return tb_put(b, h, 4) && tb_put(b, p, n);
}

hy_status_t ps_text_binary_resultset(const uint8_t *in, size_t len, bool ext_meta,
                                     bool deprecate_eof, bool meta_follows, uint8_t **out,
                                     size_t *out_len, char *why, size_t why_len)
{
    *out = NULL;
    *out_len = 0;
    struct textbuf b, row;
    textbuf_init(&b, TB_LIMIT);
    textbuf_init(&row, TB_LIMIT);
    struct col *cols = NULL;
    size_t at = 0, k = 0, n_cols = 0;
    int phase = 0; /* 0 count, 1 definitions, 2 EOF after them, 3 rows, 4 after */
    hy_status_t rc = HY_OK;
    while (at < len && rc == HY_OK) {
        if (len - at < 4) {
            snprintf(why, why_len, "a truncated packet in the merged answer");
            rc = HY_ERROR;
            break;
        }
        size_t n = (size_t)in[at] | (size_t)in[at + 1] << 8 | (size_t)in[at + 2] << 16;
        uint8_t seq = in[at + 3];
        const uint8_t *p = in + at + 4;
        if (n > len - at - 4 || n == 0xffffff) {
            snprintf(why, why_len, "a packet of the merged answer is truncated or 16 MiB");
            rc = HY_ERROR;
            break;
        }
        at += 4 + n;
        switch (phase) {
        case 0: {
            if (n == 0 || p[0] == 0x00 || p[0] == 0xff || p[0] == 0xfe) {
                put_packet(&b, p, n, seq); /* an OK or ERR: as it is */
                phase = 4;
                break;
            }
            struct mysql_rd rd;
            mysql_rd_init(&rd, p, n);
            uint64_t c = mysql_rd_lenenc(&rd);
            if (rd.bad || c == 0 || c > 4096 || n > 9) {
                snprintf(why, why_len, "a malformed column count in the merged answer");
                rc = HY_ERROR;
                break;
            }
            n_cols = (size_t)c;
            cols = calloc(n_cols, sizeof(*cols));
            if (cols == NULL) {
                rc = HY_NOMEM;
                break;
            }
            if (meta_follows) {
                uint8_t tmp[10];
                memcpy(tmp, p, n);
                tmp[n] = 1;
                put_packet(&b, tmp, n + 1, seq);
            } else {
                put_packet(&b, p, n, seq);
            }
            phase = 1;
            break;
        }
        case 1: {
            struct mysql_coldef cd;
            if (mysql_coldef_decode(p, n, ext_meta, &cd) != HY_OK) {
                snprintf(why, why_len, "a malformed column definition in the merged answer");
                rc = HY_ERROR;
                break;
            }
            cols[k] = (struct col){.type = cd.type, .flags = cd.flags, .decimals = cd.decimals};
            put_packet(&b, p, n, seq);
            if (++k == n_cols)
                phase = deprecate_eof ? 3 : 2;
            break;
        }
        case 2:
            put_packet(&b, p, n, seq);
            phase = 3;
            break;
        case 3:
            if (p[0] == 0xfe) { /* a text row cannot start so below 16 MiB */
                put_packet(&b, p, n, seq);
                phase = 4;
                break;
            }
            row.len = 0;
            if (!row_binary(&row, cols, n_cols, p, n, why, why_len)) {
                rc = row.overflow ? HY_NOMEM : HY_ERROR;
                break;
            }
            if (row.overflow) {
                rc = HY_NOMEM;
                break;
            }
            if (row.len >= 0xffffff) {
                snprintf(why, why_len, "a binary row of 16 MiB or more");
                rc = HY_ERROR;
                break;
            }
            put_packet(&b, (const uint8_t *)row.data, row.len, seq);
            break;
        default:
            put_packet(&b, p, n, seq);
            break;
        }
    }
    if (rc == HY_OK && phase != 4) {
        snprintf(why, why_len, "the merged answer ends early");
        rc = HY_ERROR;
    }
    if (rc == HY_OK && b.overflow)
        rc = HY_NOMEM;
    free(cols);
    textbuf_free(&row);
    if (rc != HY_OK) {
        textbuf_free(&b);
        return rc;
    }
    *out = (uint8_t *)b.data;
    *out_len = b.len;
    return HY_OK;
}
