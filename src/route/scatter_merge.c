/*
 * scatter_merge.c: the groups' answers, buffered, and the one answer the
 * client gets (scatter_merge.h). Pure: packets in, packets out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "halyard/core/text.h"
#include "halyard/core/grow.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/route/scatter_merge.h"

enum { PH_FIRST, PH_COLS, PH_COLS_EOF, PH_ROWS };

static bool keep(struct scatter_cell *c, const uint8_t *p, size_t len, size_t *budget)
{
    if (len + 32 > *budget)
        return false;
    c->p = malloc(len > 0 ? len : 1);
    if (c->p == NULL)
        return false;
    memcpy(c->p, p, len);
    c->len = len;
    *budget -= len + 32;
    return true;
}

hy_status_t scatter_part_feed(struct scatter_part *pt, const uint8_t *p, size_t len, size_t *budget,
                              char *why, size_t why_len)
{
    if (len == 0) {
        snprintf(why, why_len, "an empty packet in an answer");
        return HY_ERROR;
    }
    switch (pt->phase) {
    case PH_FIRST:
        if (p[0] == MYSQL_ERR) {
            if (!keep(&pt->err, p, len, budget)) {
                snprintf(why, why_len, "out of memory");
                return HY_ERROR;
            }
            pt->kind = SCATTER_PART_ERR;
            return HY_OK;
        }
        if (p[0] == MYSQL_OK) {
            struct mysql_ok ok;
            if (mysql_ok_decode(p, len, CLIENT_PROTOCOL_41, &ok) != HY_OK) {
                snprintf(why, why_len, "a malformed OK");
                return HY_ERROR;
            }
            pt->affected = ok.affected_rows;
            pt->insert_id = ok.last_insert_id;
            pt->status = ok.status;
            pt->warnings = ok.warnings;
            pt->kind = SCATTER_PART_OK;
            if (ok.status & SERVER_MORE_RESULTS_EXISTS) {
                snprintf(why, why_len, "several results");
                return HY_ERROR;
            }
            return HY_OK;
        }
        if (p[0] == MYSQL_LOCAL_INFILE) {
            snprintf(why, why_len, "LOAD DATA LOCAL");
            return HY_ERROR;
        }
        {
            struct mysql_rd rd;
            mysql_rd_init(&rd, p, len);
            uint64_t n = mysql_rd_lenenc(&rd);
            if (rd.bad || n == 0 || n > 4096) {
                snprintf(why, why_len, "a malformed column count");
                return HY_ERROR;
            }
            pt->cols = calloc((size_t)n, sizeof(*pt->cols));
            if (pt->cols == NULL) {
                snprintf(why, why_len, "out of memory");
                return HY_ERROR;
            }
            pt->n_cols = 0;
            pt->rows_cap = (size_t)n; /* the count, until the definitions are read */
            pt->phase = PH_COLS;
        }
        return HY_AGAIN;
    case PH_COLS: {
        struct mysql_coldef cd;
        if (mysql_coldef_decode(p, len, pt->ext_meta, &cd) != HY_OK) {
            snprintf(why, why_len, "a malformed column definition");
            return HY_ERROR;
        }
        if (!keep(&pt->cols[pt->n_cols], p, len, budget)) {
            snprintf(why, why_len, "the answers are larger than the scatter buffer");
            return HY_ERROR;
        }
        if (++pt->n_cols == pt->rows_cap) {
            pt->rows_cap = 0;
            pt->phase = pt->deprecate_eof ? PH_ROWS : PH_COLS_EOF;
        }
        return HY_AGAIN;
    }
    case PH_COLS_EOF:
        if (!mysql_is_eof(p[0], (uint32_t)len, false)) {
            snprintf(why, why_len, "no EOF after the column definitions");
            return HY_ERROR;
        }
        pt->phase = PH_ROWS;
        return HY_AGAIN;
    case PH_ROWS:
        if (mysql_is_eof(p[0], (uint32_t)len, pt->deprecate_eof)) {
            struct mysql_ok end;
            if (pt->deprecate_eof && mysql_ok_decode(p, len, CLIENT_PROTOCOL_41, &end) == HY_OK) {
                pt->warnings = end.warnings;
                pt->status = end.status;
            } else if (pt->deprecate_eof ||
                       mysql_eof_decode(p, len, &pt->warnings, &pt->status) != HY_OK) {
                snprintf(why, why_len, "a malformed EOF");
                return HY_ERROR;
            }
            if (pt->status & SERVER_MORE_RESULTS_EXISTS) {
                snprintf(why, why_len, "several results");
                return HY_ERROR;
            }
            pt->kind = SCATTER_PART_ROWS;
            return HY_OK;
        }
        if (p[0] == MYSQL_ERR) { /* an error mid-result ends the answer */
            for (size_t i = 0; i < pt->n_rows; i++)
                free(pt->rows[i].p);
            pt->n_rows = 0;
            if (!keep(&pt->err, p, len, budget)) {
                snprintf(why, why_len, "out of memory");
                return HY_ERROR;
            }
            pt->kind = SCATTER_PART_ERR;
            return HY_OK;
        }
        if (pt->n_rows == pt->rows_cap && !HY_GROW(pt->rows, pt->rows_cap, 16)) {
            snprintf(why, why_len, "out of memory");
            return HY_ERROR;
        }
        if (!keep(&pt->rows[pt->n_rows], p, len, budget)) {
            snprintf(why, why_len, "the answers are larger than the scatter buffer");
            return HY_ERROR;
        }
        pt->n_rows++;
        return HY_AGAIN;
    }
    snprintf(why, why_len, "an impossible phase");
    return HY_ERROR;
}

void scatter_part_free(struct scatter_part *pt)
{
    free(pt->err.p);
    for (size_t i = 0; i < pt->n_cols; i++)
        free(pt->cols[i].p);
    free(pt->cols);
    for (size_t i = 0; i < pt->n_rows; i++)
        free(pt->rows[i].p);
    free(pt->rows);
    bool ext = pt->ext_meta;
    memset(pt, 0, sizeof(*pt));
    pt->ext_meta = ext;
}

/* ---- values -------------------------------------------------------------- */

/* Cell c of a text row: false when malformed; *null for SQL NULL. */
static bool cell(const struct scatter_cell *row, size_t c, const uint8_t **v, size_t *n, bool *null)
{
    struct mysql_rd rd;
    mysql_rd_init(&rd, row->p, row->len);
    for (size_t i = 0;; i++) {
        if (mysql_rd_left(&rd) == 0)
            return false;
        bool isnull = *rd.p == 0xfb;
        const uint8_t *x = NULL;
        size_t xn = 0;
        if (isnull)
            mysql_rd_u8(&rd);
        else
            x = mysql_rd_lenenc_str(&rd, &xn);
        if (rd.bad)
            return false;
        if (i == c) {
            *v = x;
            *n = xn;
            *null = isnull;
            return true;
        }
    }
}

enum cmp_kind { CMP_INT, CMP_UINT, CMP_DEC, CMP_DOUBLE, CMP_TEXT, CMP_TIME, CMP_BYTES, CMP_PAD };

/* How column c's values compare, from its definition; false with why. */
static bool cmp_kind_of(const struct scatter_plan *plan, const struct scatter_part *pt, size_t c,
                        enum cmp_kind *k, char *why, size_t why_len)
{
    struct mysql_coldef cd;
    if (mysql_coldef_decode(pt->cols[c].p, pt->cols[c].len, pt->ext_meta, &cd) != HY_OK) {
        snprintf(why, why_len, "a malformed column definition");
        return false;
    }
    const char *pre = "halyard: cannot merge a read of every group: column";
    switch (cd.type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_YEAR:
        *k = (cd.flags & MYSQL_UNSIGNED_FLAG) ? CMP_UINT : CMP_INT;
        return true;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL:
        *k = CMP_DEC;
        return true;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
        *k = CMP_DOUBLE;
        return true;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
    case MYSQL_TYPE_DATETIME:
        *k = CMP_TEXT;
        return true;
    case MYSQL_TYPE_TIME:
        *k = CMP_TIME;
        return true;
    case MYSQL_TYPE_TIMESTAMP:
        snprintf(why, why_len,
                 "%s %.*s is a TIMESTAMP, shown in the session's time zone, whose text need not "
                 "follow the order of its values",
                 pre, (int)HY_MIN(cd.name_len, 64), (const char *)cd.name);
        return false;
    case MYSQL_TYPE_NULL:
    case MYSQL_TYPE_BIT:
        *k = CMP_BYTES;
        return true;
    default:
        if (!mysql_type_is_string(cd.type)) {
            snprintf(why, why_len, "%s %.*s has type %u, which halyard does not compare", pre,
                     (int)HY_MIN(cd.name_len, 64), (const char *)cd.name, cd.type);
            return false;
        }
        if (cd.type == MYSQL_TYPE_ENUM || cd.type == MYSQL_TYPE_SET ||
            (cd.flags & (MYSQL_ENUM_FLAG | MYSQL_SET_FLAG))) {
            snprintf(why, why_len, "%s %.*s is an ENUM or SET, which sorts by its index", pre,
                     (int)HY_MIN(cd.name_len, 64), (const char *)cd.name);
            return false;
        }
        if (cd.charset == MYSQL_CHARSET_BINARY) {
            *k = CMP_BYTES;
            return true;
        }
        if (plan->n_items == pt->n_cols && c < SCATTER_MAX_ITEMS && plan->bin_collate[c]) {
            *k = CMP_PAD;
            return true;
        }
        snprintf(why, why_len,
                 "%s %.*s is a string in character set id %u: halyard compares only binary strings "
                 "and strings COLLATEd to utf8mb4_bin, utf8mb3_bin, latin1_bin or ascii_bin in the "
                 "select list",
                 pre, (int)HY_MIN(cd.name_len, 64), (const char *)cd.name, cd.charset);
        return false;
    }
}

struct dec {
    bool neg;
    const uint8_t *ip; /* integer digits, no leading zeros */
    size_t in;
    const uint8_t *fp; /* fraction digits, no trailing zeros */
    size_t fn;
};

static bool dec_parse(const uint8_t *s, size_t n, struct dec *d)
{
    size_t i = 0;
    d->neg = false;
    if (i < n && (s[i] == '-' || s[i] == '+'))
        d->neg = s[i++] == '-';
    size_t a = i;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    size_t b = i;
    size_t fa = i, fb = i;
    if (i < n && s[i] == '.') {
        fa = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        fb = i;
    }
    if (i != n || (b == a && fb == fa))
        return false;
    while (a < b && s[a] == '0')
        a++;
    while (fb > fa && s[fb - 1] == '0')
        fb--;
    d->ip = s + a;
    d->in = b - a;
    d->fp = s + fa;
    d->fn = fb - fa;
    if (d->in == 0 && d->fn == 0)
        d->neg = false; /* -0 */
    return true;
}

static int mag_cmp(const struct dec *a, const struct dec *b)
{
    if (a->in != b->in)
        return a->in < b->in ? -1 : 1;
    int r = memcmp(a->ip, b->ip, a->in);
    if (r != 0)
        return r < 0 ? -1 : 1;
    size_t m = HY_MIN(a->fn, b->fn);
    r = memcmp(a->fp, b->fp, m);
    if (r != 0)
        return r < 0 ? -1 : 1;
    return a->fn == b->fn ? 0 : a->fn < b->fn ? -1 : 1;
}

int scatter_dec_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    struct dec x, y;
    if (!dec_parse(a, an, &x) || !dec_parse(b, bn, &y)) {
        int r = memcmp(a, b, HY_MIN(an, bn));
        return r != 0 ? r : an == bn ? 0 : an < bn ? -1 : 1;
    }
    if (x.neg != y.neg)
        return x.neg ? -1 : 1;
    int m = mag_cmp(&x, &y);
    return x.neg ? -m : m;
}

/* Digit k (from the right: -scale .. ) of a decimal with scale fs. */
static int digit_at(const struct dec *d, long k)
{
    if (k < 0) {
        long f = -k - 1; /* index in fraction */
        return (size_t)f < d->fn ? d->fp[f] - '0' : 0;
    }
    return (size_t)k < d->in ? d->ip[d->in - 1 - (size_t)k] - '0' : 0;
}

bool scatter_dec_add(const char *as, const char *bs, char *out, size_t cap)
{
    struct dec a, b;
    if (!dec_parse((const uint8_t *)as, strlen(as), &a) ||
        !dec_parse((const uint8_t *)bs, strlen(bs), &b))
        return false;
    /* keep the scale written (trailing zeros) of the longer */
    const char *da = strchr(as, '.'), *db = strchr(bs, '.');
    size_t sa = da ? strlen(da + 1) : 0, sb = db ? strlen(db + 1) : 0;
    long scale = (long)HY_MAX(sa, sb);
    long top = (long)HY_MAX(a.in, b.in) + 1;
    char buf[200];
    if ((size_t)(top + scale + 3) > sizeof(buf))
        return false;
    bool neg;
    const struct dec *x = &a, *y = &b;
    bool sub = a.neg != b.neg;
    if (sub && mag_cmp(&a, &b) < 0) {
        x = &b;
        y = &a;
    }
    neg = x->neg;
    /* digits from least significant */
    int digits[200];
    long nd = 0;
    int carry = 0;
    for (long k = -scale; k < top; k++) {
        int v =
            sub ? digit_at(x, k) - digit_at(y, k) - carry : digit_at(x, k) + digit_at(y, k) + carry;
        if (sub) {
            carry = v < 0;
            if (v < 0)
                v += 10;
        } else {
            carry = v >= 10;
            if (v >= 10)
                v -= 10;
        }
        digits[nd++] = v;
    }
    /* write: sign, integer digits (no leading zeros, at least one), fraction */
    size_t o = 0;
    long hi = nd - 1;
    while (hi > scale && digits[hi] == 0)
        hi--;
    bool zero = true;
    for (long i = 0; i < nd; i++)
        zero = zero && digits[i] == 0;
    if (neg && !zero)
        buf[o++] = '-';
    for (long i = hi; i >= scale; i--)
        buf[o++] = (char)('0' + digits[i]);
    if (scale > 0) {
        buf[o++] = '.';
        for (long i = scale - 1; i >= 0; i--)
            buf[o++] = (char)('0' + digits[i]);
    }
    buf[o] = '\0';
    if (o + 1 > cap)
        return false;
    memcpy(out, buf, o + 1);
    return true;
}

static int cmp_i64(const uint8_t *a, size_t an, const uint8_t *b, size_t bn, bool uns)
{
    const char *x = (const char *)a, *y = (const char *)b;
    if (uns) {
        uint64_t u, v;
        if (hy_parse_u64(x, an, UINT64_MAX, &u) && hy_parse_u64(y, bn, UINT64_MAX, &v))
            return u < v ? -1 : u > v;
    } else {
        int64_t u, v;
        if (hy_parse_i64(x, an, INT64_MIN, INT64_MAX, &u) &&
            hy_parse_i64(y, bn, INT64_MIN, INT64_MAX, &v))
            return u < v ? -1 : u > v;
    }
    /* not an integer (no server sends one so): the bytes' order */
    int c = memcmp(a, b, HY_MIN(an, bn));
    return c != 0 ? (c < 0 ? -1 : 1) : an < bn ? -1 : an > bn;
}

static int cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int r = memcmp(a, b, HY_MIN(an, bn));
    if (r != 0)
        return r < 0 ? -1 : 1;
    return an == bn ? 0 : an < bn ? -1 : 1;
}

/* PAD SPACE, as the *_bin collations compare: the shorter string as if
 * padded with spaces (so "a" = "a " and "a\t" < "a"). */
static int cmp_pad(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t m = HY_MIN(an, bn);
    int r = memcmp(a, b, m);
    if (r != 0)
        return r < 0 ? -1 : 1;
    const uint8_t *rest = an > bn ? a + m : b + m;
    size_t n = (an > bn ? an : bn) - m;
    for (size_t i = 0; i < n; i++) {
        if (rest[i] != ' ') {
            int d = rest[i] < ' ' ? -1 : 1;
            return an > bn ? d : -d;
        }
    }
    return 0;
}

/* TIME: [-]H+:MM:SS[.f] */
static int cmp_time(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    bool na = an > 0 && a[0] == '-', nb = bn > 0 && b[0] == '-';
    if (na != nb)
        return na ? -1 : 1;
    if (na) {
        a++, an--, b++, bn--;
    }
    size_t ha = 0, hb = 0;
    while (ha < an && a[ha] != ':')
        ha++;
    while (hb < bn && b[hb] != ':')
        hb++;
    int r = ha != hb ? (ha < hb ? -1 : 1) : cmp_bytes(a, an, b, bn);
    return na ? -r : r;
}

static int value_cmp(enum cmp_kind k, const uint8_t *a, size_t an, bool anull, const uint8_t *b,
                     size_t bn, bool bnull)
{
    if (anull || bnull) /* NULL first, as MariaDB sorts it */
        return anull == bnull ? 0 : anull ? -1 : 1;
    switch (k) {
    case CMP_INT:
        return cmp_i64(a, an, b, bn, false);
    case CMP_UINT:
        return cmp_i64(a, an, b, bn, true);
    case CMP_DEC:
        return scatter_dec_cmp(a, an, b, bn);
    case CMP_DOUBLE: {
        char x[64], y[64];
        snprintf(x, sizeof(x), "%.*s", (int)HY_MIN(an, 63), (const char *)a);
        snprintf(y, sizeof(y), "%.*s", (int)HY_MIN(bn, 63), (const char *)b);
        double u, v;
        if (hy_str_double(x, &u) && hy_str_double(y, &v))
            return u < v ? -1 : u > v;
        int c = strcmp(x, y); /* not a number: the bytes' order */
        return c < 0 ? -1 : c > 0;
    }
    case CMP_TIME:
        return cmp_time(a, an, b, bn);
    case CMP_PAD:
        return cmp_pad(a, an, b, bn);
    case CMP_TEXT:
    case CMP_BYTES:
        return cmp_bytes(a, an, b, bn);
    }
    return 0;
}

/* ---- output -------------------------------------------------------------- */

static bool out_packet(struct scatter_out *o, const uint8_t *p, size_t len)
{
    if (len >= MYSQL_MAX_PAYLOAD)
        return false;
    if (o->buf.limit == 0 && o->buf.data == NULL)
        textbuf_init(&o->buf, SIZE_MAX / 2); /* zeroed: no limit but memory */
    uint8_t *at = (uint8_t *)textbuf_extend(&o->buf, MYSQL_HEADER_SIZE + len);
    if (at == NULL)
        return false;
    mysql_hdr_write(at, (uint32_t)len, o->seq++);
    memcpy(at + MYSQL_HEADER_SIZE, p, len);
    return true;
}

void scatter_out_free(struct scatter_out *o)
{
    textbuf_free(&o->buf);
    memset(o, 0, sizeof(*o));
}

static bool out_head(struct scatter_out *o, const struct scatter_part *pt, uint32_t caps,
                     uint16_t status)
{
    uint8_t b[16];
    struct mysql_wr wr;
    mysql_wr_init(&wr, b, sizeof(b));
    mysql_wr_lenenc(&wr, pt->n_cols);
    if (!out_packet(o, b, mysql_wr_len(&wr)))
        return false;
    for (size_t c = 0; c < pt->n_cols; c++) {
        if (!out_packet(o, pt->cols[c].p, pt->cols[c].len))
            return false;
    }
    if (!(caps & CLIENT_DEPRECATE_EOF)) {
        uint8_t eof[5] = {0xfe, 0, 0, (uint8_t)status, (uint8_t)(status >> 8)};
        if (!out_packet(o, eof, sizeof(eof)))
            return false;
    }
    return true;
}

static bool out_end(struct scatter_out *o, uint32_t caps, uint16_t status, uint16_t warnings)
{
    if (caps & CLIENT_DEPRECATE_EOF) {
        uint8_t ok[7] = {0xfe,
                         0,
                         0,
                         (uint8_t)status,
                         (uint8_t)(status >> 8),
                         (uint8_t)warnings,
                         (uint8_t)(warnings >> 8)};
        return out_packet(o, ok, sizeof(ok));
    }
    uint8_t eof[5] = {0xfe, (uint8_t)warnings, (uint8_t)(warnings >> 8), (uint8_t)status,
                      (uint8_t)(status >> 8)};
    return out_packet(o, eof, sizeof(eof));
}

/* ---- merging ------------------------------------------------------------- */

struct keyc {
    size_t col;
    enum cmp_kind kind;
    bool desc;
};

static int row_cmp(const struct keyc *k, size_t nk, const struct scatter_cell *a,
                   const struct scatter_cell *b, bool *bad)
{
    for (size_t i = 0; i < nk; i++) {
        const uint8_t *av = NULL, *bv = NULL;
        size_t an = 0, bn = 0;
        bool anull = false, bnull = false;
        if (!cell(a, k[i].col, &av, &an, &anull) || !cell(b, k[i].col, &bv, &bn, &bnull)) {
            *bad = true;
            return 0;
        }
        int r = value_cmp(k[i].kind, av, an, anull, bv, bn, bnull);
        if (r != 0)
            return k[i].desc ? -r : r;
    }
    return 0;
}

/* The column named `name`: its index, or -1 (none) / -2 (several). */
static long col_by_name(const struct scatter_part *pt, const char *name)
{
    long found = -1;
    for (size_t c = 0; c < pt->n_cols; c++) {
        struct mysql_coldef cd;
        if (mysql_coldef_decode(pt->cols[c].p, pt->cols[c].len, pt->ext_meta, &cd) != HY_OK)
            continue;
        if (cd.name_len == strlen(name) &&
            strncasecmp((const char *)cd.name, name, cd.name_len) == 0) {
            if (found >= 0)
                return -2;
            found = (long)c;
        }
    }
    return found;
}

static bool keys_resolve(const struct scatter_plan *plan, const struct scatter_part *pt,
                         struct keyc *k, size_t *nk, char *why, size_t why_len)
{
    const char *pre = "halyard: cannot merge a read of every group:";
    *nk = 0;
    for (size_t i = 0; i < plan->n_keys; i++) {
        const struct scatter_key *sk = &plan->keys[i];
        long c;
        if (sk->pos > 0) {
            if (sk->pos > pt->n_cols) {
                snprintf(why, why_len, "Unknown column '%u' in 'order clause'", sk->pos);
                return false;
            }
            c = sk->pos - 1;
        } else {
            c = col_by_name(pt, sk->name);
            if (c == -1) {
                snprintf(why, why_len, "%s ORDER BY %s: not a selected column", pre, sk->name);
                return false;
            }
            if (c == -2) {
                snprintf(why, why_len, "%s ORDER BY %s: several selected columns have that name",
                         pre, sk->name);
                return false;
            }
        }
        k[*nk].col = (size_t)c;
        k[*nk].desc = sk->desc;
        if (!cmp_kind_of(plan, pt, (size_t)c, &k[*nk].kind, why, why_len))
            return false;
        (*nk)++;
    }
    return true;
}

static int name_cmp(const struct scatter_cell *a, const struct scatter_cell *b, bool *bad)
{
    const uint8_t *av = NULL, *bv = NULL;
    size_t an = 0, bn = 0;
    bool anull = false, bnull = false;
    if (!cell(a, 0, &av, &an, &anull) || !cell(b, 0, &bv, &bn, &bnull)) {
        *bad = true;
        return 0;
    }
    /* by bytes, as MariaDB 10.11 lists them: information_schema among the
     * others ("Zb", "_x", "aa", "fo", "information_schema", "mysql") */
    return value_cmp(CMP_BYTES, av, an, anull, bv, bn, bnull);
}

/* The k-way merge of the parts' rows (each sorted), with OFFSET/LIMIT and
 * DISTINCT. */
static hy_status_t merge_sorted(const struct scatter_plan *plan, const struct scatter_part *parts,
                                size_t n, const struct keyc *k, size_t nk, bool names,
                                struct scatter_out *o, char *why, size_t why_len)
{
    size_t *at = calloc(n, sizeof(*at));
    if (at == NULL)
        return HY_NOMEM;
    uint64_t skip = plan->offset, left = plan->has_limit ? plan->limit : UINT64_MAX;
    const struct scatter_cell *last = NULL;
    bool distinct = plan->distinct || names;
    bool bad = false;
    hy_status_t rc = HY_OK;
    while (left > 0) {
        size_t best = n;
        for (size_t g = 0; g < n; g++) {
            if (at[g] >= parts[g].n_rows)
                continue;
            if (best == n)
                best = g;
            else {
                const struct scatter_cell *a = &parts[g].rows[at[g]];
                const struct scatter_cell *b = &parts[best].rows[at[best]];
                int r = names ? name_cmp(a, b, &bad) : row_cmp(k, nk, a, b, &bad);
                if (r < 0)
                    best = g;
            }
        }
        if (best == n || bad)
            break;
        const struct scatter_cell *row = &parts[best].rows[at[best]++];
        if (distinct && last != NULL &&
            (names ? name_cmp(row, last, &bad) : row_cmp(k, nk, row, last, &bad)) == 0)
            continue;
        last = row;
        if (skip > 0) {
            skip--;
            continue;
        }
        if (!out_packet(o, row->p, row->len)) {
            rc = HY_NOMEM;
            break;
        }
        o->rows++;
        left--;
    }
    free(at);
    if (bad) {
        snprintf(why, why_len, "a malformed row");
        return HY_ERROR;
    }
    return rc;
}

static hy_status_t merge_agg(const struct scatter_plan *plan, const struct scatter_part *parts,
                             size_t n, struct scatter_out *o, char *why, size_t why_len)
{
    const struct scatter_part *p0 = &parts[0];
    if (plan->n_items != p0->n_cols) {
        snprintf(why, why_len, "the groups' answers have %zu columns, the statement %zu",
                 p0->n_cols, plan->n_items);
        return HY_ERROR;
    }
    /* each cell: text of up to 100 digits; NULL as null */
    size_t nc = p0->n_cols;
    char(*acc)[128] = calloc(nc, sizeof(*acc));
    bool *isnull = calloc(nc, sizeof(*isnull));
    enum cmp_kind *kind = calloc(nc, sizeof(*kind));
    hy_status_t rc = HY_OK;
    if (acc == NULL || isnull == NULL || kind == NULL) {
        rc = HY_NOMEM;
        goto out;
    }
    for (size_t c = 0; c < nc; c++) {
        isnull[c] = true;
        struct mysql_coldef cd;
        if (mysql_coldef_decode(p0->cols[c].p, p0->cols[c].len, p0->ext_meta, &cd) != HY_OK) {
            snprintf(why, why_len, "a malformed column definition");
            rc = HY_ERROR;
            goto out;
        }
        if (plan->agg[c] == SCATTER_AGG_SUM && cd.type != MYSQL_TYPE_NEWDECIMAL &&
            cd.type != MYSQL_TYPE_DECIMAL && cd.type != MYSQL_TYPE_LONGLONG) {
            snprintf(why, why_len,
                     "halyard: cannot merge a read of every group: SUM() of type %u (a FLOAT or "
                     "DOUBLE sum depends on the order of the additions)",
                     cd.type);
            rc = HY_ERROR;
            goto out;
        }
        if (plan->agg[c] == SCATTER_AGG_MIN || plan->agg[c] == SCATTER_AGG_MAX) {
            if (!cmp_kind_of(plan, p0, c, &kind[c], why, why_len)) {
                rc = HY_ERROR;
                goto out;
            }
        }
    }
    for (size_t g = 0; g < n; g++) {
        if (parts[g].n_rows != 1 || parts[g].n_cols != nc) {
            snprintf(why, why_len, "an aggregate answered %zu rows of %zu columns", parts[g].n_rows,
                     parts[g].n_cols);
            rc = HY_ERROR;
            goto out;
        }
        for (size_t c = 0; c < nc; c++) {
            const uint8_t *v;
            size_t vn;
            bool null;
            if (!cell(&parts[g].rows[0], c, &v, &vn, &null) || vn >= 100) {
                snprintf(why, why_len, "a malformed or too long aggregate value");
                rc = HY_ERROR;
                goto out;
            }
            if (null)
                continue; /* SUM of no rows, MIN of NULLs: stays NULL unless a group has one */
            char val[128];
            memcpy(val, v, vn);
            val[vn] = '\0';
            if (isnull[c]) {
                memcpy(acc[c], val, vn + 1);
                isnull[c] = false;
                continue;
            }
            switch (plan->agg[c]) {
            case SCATTER_AGG_COUNT:
            case SCATTER_AGG_SUM:
                if (!scatter_dec_add(acc[c], val, acc[c], sizeof(acc[c]))) {
                    snprintf(why, why_len, "a sum that does not fit");
                    rc = HY_ERROR;
                    goto out;
                }
                break;
            case SCATTER_AGG_MIN:
            case SCATTER_AGG_MAX: {
                int r = value_cmp(kind[c], (const uint8_t *)val, vn, false, (const uint8_t *)acc[c],
                                  strlen(acc[c]), false);
                if ((plan->agg[c] == SCATTER_AGG_MIN && r < 0) ||
                    (plan->agg[c] == SCATTER_AGG_MAX && r > 0))
                    memcpy(acc[c], val, vn + 1);
                break;
            }
            }
        }
    }
    {
        uint8_t row[128 * 64 + 16];
        size_t rl = 0;
        if (nc > 64) {
            rc = HY_ERROR;
            snprintf(why, why_len, "too many aggregates");
            goto out;
        }
        for (size_t c = 0; c < nc; c++) {
            if (isnull[c]) {
                row[rl++] = 0xfb;
                continue;
            }
            size_t l = strlen(acc[c]);
            row[rl++] = (uint8_t)l;
            memcpy(row + rl, acc[c], l);
            rl += l;
        }
        if (!out_packet(o, row, rl))
            rc = HY_NOMEM;
        else
            o->rows++;
    }
out:
    free(acc);
    free(isnull);
    free(kind);
    return rc;
}

hy_status_t scatter_merge(const struct scatter_plan *plan, const struct scatter_part *parts,
                          size_t n, uint32_t caps, uint16_t status, struct scatter_out *o,
                          char *why, size_t why_len)
{
    if (n == 0) {
        snprintf(why, why_len, "no group answered");
        return HY_ERROR;
    }
    for (size_t g = 0; g < n; g++) {
        if (parts[g].kind != SCATTER_PART_ROWS) {
            snprintf(why, why_len, "a group answered without rows");
            return HY_ERROR;
        }
        if (parts[g].n_cols != parts[0].n_cols) {
            snprintf(why, why_len, "the groups answered with %zu and %zu columns", parts[0].n_cols,
                     parts[g].n_cols);
            return HY_ERROR;
        }
    }
    status &= (uint16_t)~SERVER_MORE_RESULTS_EXISTS;
    uint32_t warnings = 0;
    for (size_t g = 0; g < n; g++)
        warnings += parts[g].warnings;
    if (warnings > UINT16_MAX)
        warnings = UINT16_MAX;
    struct keyc k[SCATTER_MAX_KEYS];
    size_t nk = 0;
    if (plan->shape == SCATTER_SORTED) {
        if (!keys_resolve(plan, &parts[0], k, &nk, why, why_len))
            return HY_ERROR;
        if (plan->distinct) {
            for (size_t c = 0; c < parts[0].n_cols; c++) {
                bool covered = false;
                for (size_t i = 0; i < nk; i++)
                    covered = covered || k[i].col == c;
                if (!covered) {
                    snprintf(why, why_len,
                             "halyard: cannot merge a read of every group: DISTINCT needs every "
                             "selected column in the ORDER BY (column %zu is not)",
                             c + 1);
                    return HY_ERROR;
                }
            }
        }
    }
    o->seq = 1;
    if (!out_head(o, &parts[0], caps, status))
        return HY_NOMEM;
    hy_status_t rc = HY_OK;
    switch (plan->shape) {
    case SCATTER_CONCAT: {
        uint64_t skip = plan->offset, left = plan->has_limit ? plan->limit : UINT64_MAX;
        for (size_t g = 0; g < n && left > 0; g++) {
            for (size_t r = 0; r < parts[g].n_rows && left > 0; r++) {
                if (skip > 0) {
                    skip--;
                    continue;
                }
                if (!out_packet(o, parts[g].rows[r].p, parts[g].rows[r].len))
                    return HY_NOMEM;
                o->rows++;
                left--;
            }
        }
        break;
    }
    case SCATTER_SORTED:
        rc = merge_sorted(plan, parts, n, k, nk, false, o, why, why_len);
        break;
    case SCATTER_DATABASES:
        if (parts[0].n_cols != 1) {
            snprintf(why, why_len, "SHOW DATABASES answered %zu columns", parts[0].n_cols);
            return HY_ERROR;
        }
        rc = merge_sorted(plan, parts, n, NULL, 0, true, o, why, why_len);
        break;
    case SCATTER_AGG:
        rc = merge_agg(plan, parts, n, o, why, why_len);
        break;
    case SCATTER_REFUSE:
        snprintf(why, why_len, "%s", plan->why);
        return HY_ERROR;
    }
    if (rc != HY_OK)
        return rc;
    if (!out_end(o, caps, status, (uint16_t)warnings))
        return HY_NOMEM;
    return HY_OK;
}

hy_status_t scatter_report(const struct scatter_part *parts, const char *const *names,
                           const char *const *fail, size_t n, bool sum, uint16_t status,
                           uint64_t insert_id, struct scatter_out *o, char *why, size_t why_len)
{
    bool all_ok = n > 0;
    uint64_t affected = 0;
    uint32_t warnings = 0;
    for (size_t g = 0; g < n; g++) {
        if (parts[g].kind != SCATTER_PART_OK) {
            all_ok = false;
            continue;
        }
        if (sum || g == 0)
            affected += parts[g].affected;
        warnings += parts[g].warnings;
    }
    if (all_ok) {
        uint8_t ok[32];
        size_t len = mysql_ok_encode(ok, sizeof(ok), affected, insert_id,
                                     (uint16_t)(status & ~SERVER_MORE_RESULTS_EXISTS),
                                     (uint16_t)(warnings > UINT16_MAX ? UINT16_MAX : warnings));
        o->seq = 1;
        return out_packet(o, ok, len) ? HY_OK : HY_NOMEM;
    }
    size_t at = (size_t)snprintf(why, why_len, "halyard: the statement ran on every group:");
    for (size_t g = 0; g < n && at < why_len; g++) {
        const struct scatter_part *pt = &parts[g];
        const char *sep = g ? ";" : "";
        int k;
        if (pt->kind == SCATTER_PART_OK) {
            k = snprintf(why + at, why_len - at, "%s %s: OK, %llu row%s", sep, names[g],
                         (unsigned long long)pt->affected, pt->affected == 1 ? "" : "s");
        } else if (pt->kind == SCATTER_PART_ERR) {
            struct mysql_err e;
            if (mysql_err_decode(pt->err.p, pt->err.len, &e) == HY_OK)
                k = snprintf(why + at, why_len - at, "%s %s: ERROR %u (%s): %.*s", sep, names[g],
                             e.code, e.sqlstate, (int)HY_MIN(e.msg_len, 200), e.msg);
            else
                k = snprintf(why + at, why_len - at, "%s %s: a malformed error", sep, names[g]);
        } else if (pt->kind == SCATTER_PART_ROWS) {
            k = snprintf(why + at, why_len - at, "%s %s: answered rows", sep, names[g]);
        } else {
            k = snprintf(why + at, why_len - at, "%s %s: %s", sep, names[g],
                         fail != NULL && fail[g] != NULL ? fail[g] : "no answer");
        }
        if (k < 0)
            break;
        at += (size_t)k;
    }
    return HY_ERROR;
}

enum scatter_lid_verdict scatter_insert_id(const struct scatter_lid *v, size_t n, bool copies,
                                           int gen_at, uint64_t *lid, uint64_t *ok_id)
{
    *lid = 0;
    *ok_id = 0;
    size_t gen = 0, best = n, last = n;
    for (size_t i = 0; i < n; i++) {
        if (last == n || v[i].last > v[last].last)
            last = i; /* the statement's last row: the first group's among copies */
        if (v[i].generated == 0)
            continue;
        gen++;
        if (best == n || v[i].first < v[best].first)
            best = i;
    }
    if (gen == 0) {
        *ok_id = last < n ? v[last].ok_id : 0;
        return SCATTER_LID_KEEP;
    }
    if (copies) {
        /* one server would have generated one id per row: the copies
         * agree only when every group generated the same ones */
        for (size_t i = 0; i < n; i++) {
            if (v[i].generated != v[best].generated)
                return SCATTER_LID_UNKNOWN;
        }
    } else if (gen > 1) {
        /* a group's first generated id may be of a row after another
         * group's first generated one: the text says which came first */
        if (gen_at < 0 || (size_t)gen_at >= n || v[gen_at].generated == 0)
            return SCATTER_LID_UNKNOWN;
        best = (size_t)gen_at;
    }
    *lid = *ok_id = v[best].generated;
    return SCATTER_LID_SET;
}

const char *scatter_lid_verdict_to_str(enum scatter_lid_verdict v)
{
    switch (v) {
    case SCATTER_LID_KEEP:
        return "keep";
    case SCATTER_LID_SET:
        return "set";
    case SCATTER_LID_UNKNOWN:
        return "unknown";
    }
    return "?";
}

bool scatter_out_packet(struct scatter_out *out, const uint8_t *p, size_t len)
{
    return out_packet(out, p, len);
}

bool scatter_out_head(struct scatter_out *out, const struct scatter_part *pt, uint32_t caps,
                      uint16_t status)
{
    return out_head(out, pt, caps, status);
}

bool scatter_out_end(struct scatter_out *out, uint32_t caps, uint16_t status, uint16_t warnings)
{
    return out_end(out, caps, status, warnings);
}
