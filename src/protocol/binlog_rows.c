/*
 * binlog_rows.c: see binlog_rows.h. The lengths of values follow the
 * server's own rules for each type's metadata (the TABLE_MAP's bytes:
 * one for FLOAT, DOUBLE, the BLOBs, GEOMETRY, JSON and the fractional
 * TIME2/DATETIME2/TIMESTAMP2, two for VARCHAR, BIT, NEWDECIMAL, STRING,
 * ENUM and SET).
 */
#include <string.h>

#include "halyard/protocol/binlog.h"
#include "halyard/protocol/binlog_rows.h"
#include "halyard/protocol/mysql_proto.h"

#define ROWS_POST_HEADER 8 /* table_id 6, flags 2 */

/* A length-encoded integer at *off; false when it does not fit. */
static bool lenenc(const uint8_t *p, size_t end, size_t *off, uint64_t *v)
{
    if (*off >= end)
        return false;
    uint8_t b = p[*off];
    size_t n = b < 251 ? 0 : b == 252 ? 2 : b == 253 ? 3 : b == 254 ? 8 : SIZE_MAX;
    if (n == SIZE_MAX || *off + 1 + n > end)
        return false;
    if (n == 0) {
        *v = b;
    } else {
        *v = 0;
        for (size_t i = 0; i < n; i++)
            *v |= (uint64_t)p[*off + 1 + i] << (8 * i);
    }
    *off += 1 + n;
    return true;
}

/* Metadata bytes a column type has in a TABLE_MAP; -1 when unknown. */
static int meta_bytes(uint8_t t)
{
    switch (t) {
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
    case MYSQL_TYPE_TIMESTAMP2:
    case MYSQL_TYPE_DATETIME2:
    case MYSQL_TYPE_TIME2:
    case MYSQL_TYPE_BLOB_COMPRESSED:
    case MYSQL_TYPE_JSON:
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_GEOMETRY:
        return 1;
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VARCHAR_COMPRESSED:
    case MYSQL_TYPE_BIT:
    case MYSQL_TYPE_NEWDECIMAL:
    case MYSQL_TYPE_ENUM:
    case MYSQL_TYPE_SET:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_STRING:
        return 2;
    case BINLOG_T_TINY:
    case BINLOG_T_SHORT:
    case BINLOG_T_LONG:
    case BINLOG_T_LONGLONG:
    case BINLOG_T_INT24:
    case MYSQL_TYPE_NULL:
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_TIME:
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_YEAR:
    case MYSQL_TYPE_NEWDATE:
        return 0;
    default:
        return -1;
    }
}

hy_status_t binlog_table_map_cols(const uint8_t *ev, size_t body_end, struct binlog_cols *c)
{
    size_t off = BINLOG_HEADER_LEN + ROWS_POST_HEADER;
    if (body_end < off + 1 || ev[4] != BINLOG_TABLE_MAP)
        return HY_ERROR;
    off += 1 + (size_t)ev[off] + 1; /* schema, its NUL */
    if (off >= body_end)
        return HY_ERROR;
    off += 1 + (size_t)ev[off] + 1; /* table, its NUL */
    uint64_t n, mlen;
    if (!lenenc(ev, body_end, &off, &n) || n > BINLOG_COLS_MAX || off + n > body_end)
        return HY_ERROR;
    c->n = (unsigned)n;
    memcpy(c->type, ev + off, (size_t)n);
    off += (size_t)n;
    if (!lenenc(ev, body_end, &off, &mlen) || off + mlen > body_end)
        return HY_ERROR;
    size_t m = off, mend = off + (size_t)mlen;
    for (unsigned i = 0; i < c->n; i++) {
        int k = meta_bytes(c->type[i]);
        if (k < 0 || m + (size_t)k > mend)
            return HY_ERROR;
        c->meta[i] = k == 0 ? 0 : k == 1 ? ev[m] : (uint16_t)(ev[m] | ev[m + 1] << 8);
        m += (size_t)k;
    }
    return m == mend ? HY_OK : HY_ERROR;
}

static size_t dec_bytes(unsigned digits)
{
    static const uint8_t d2b[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
    return (digits / 9) * 4 + d2b[digits % 9];
}

/* A little-endian length prefix of `n` bytes at p[at]. */
static size_t prefixed(const uint8_t *p, size_t at, size_t end, unsigned n)
{
    if (n == 0 || n > 4 || at + n > end)
        return SIZE_MAX;
    size_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (size_t)p[at + i] << (8 * i);
    return n + v;
}

/* The bytes the value of a column of type t (metadata meta) takes at
 * p[at]; SIZE_MAX when unknown or past `end`. */
static size_t value_len(uint8_t t, uint16_t meta, const uint8_t *p, size_t at, size_t end)
{
    switch (t) {
    case BINLOG_T_TINY:
    case MYSQL_TYPE_YEAR:
        return 1;
    case BINLOG_T_SHORT:
        return 2;
    case BINLOG_T_INT24:
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_TIME:
    case MYSQL_TYPE_NEWDATE:
        return 3;
    case BINLOG_T_LONG:
    case MYSQL_TYPE_TIMESTAMP:
        return 4;
    case BINLOG_T_LONGLONG:
    case MYSQL_TYPE_DATETIME:
        return 8;
    case MYSQL_TYPE_NULL:
        return 0;
    case MYSQL_TYPE_FLOAT:
        return 4;
    case MYSQL_TYPE_DOUBLE:
        return 8;
    case MYSQL_TYPE_TIMESTAMP2:
        return 4 + (meta + 1u) / 2;
    case MYSQL_TYPE_DATETIME2:
        return 5 + (meta + 1u) / 2;
    case MYSQL_TYPE_TIME2:
        return 3 + (meta + 1u) / 2;
    case MYSQL_TYPE_BIT:
        return (size_t)(meta >> 8) + ((meta & 0xff) != 0);
    case MYSQL_TYPE_NEWDECIMAL: {
        unsigned prec = meta & 0xff, scale = meta >> 8;
        return scale > prec ? SIZE_MAX : dec_bytes(prec - scale) + dec_bytes(scale);
    }
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VARCHAR_COMPRESSED:
        return prefixed(p, at, end, meta < 256 ? 1 : 2);
    case MYSQL_TYPE_BLOB_COMPRESSED:
    case MYSQL_TYPE_JSON:
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_GEOMETRY:
        return prefixed(p, at, end, meta);
    case MYSQL_TYPE_ENUM:
    case MYSQL_TYPE_SET:
        return meta >> 8;
    case MYSQL_TYPE_STRING: {
        unsigned real = meta & 0xff, len = meta >> 8;
        if ((real & 0x30) != 0x30) { /* a length over 255: its high bits in the type byte */
            len |= ((real & 0x30) ^ 0x30) << 4;
            real |= 0x30;
        }
        if (real == MYSQL_TYPE_ENUM || real == MYSQL_TYPE_SET)
            return len;
        if (real != MYSQL_TYPE_STRING)
            return SIZE_MAX;
        return prefixed(p, at, end, len > 255 ? 2 : 1);
    }
    default:
        return SIZE_MAX;
    }
}

static bool bit(const uint8_t *map, unsigned i)
{
    return (map[i / 8] >> (i % 8)) & 1;
}

struct scan {
    const uint8_t *p;
    size_t end;
    const struct binlog_cols *tc;
    const uint8_t *present;
    const unsigned *cols;
    unsigned ncols;
    binlog_rows_fn fn;
    void *arg;
};

/* One image at *off (its columns: `present`, which carry the wanted
 * ones); the wanted values handed over. False when malformed. */
static bool image(struct scan *s, size_t *off)
{
    unsigned carried = 0;
    for (unsigned i = 0; i < s->tc->n; i++)
        carried += bit(s->present, i);
    size_t nulls = *off, at = *off + (carried + 7) / 8;
    if (at > s->end)
        return false;
    unsigned k = 0; /* the column's rank among the carried ones */
    for (unsigned i = 0; i < s->tc->n; i++) {
        if (!bit(s->present, i))
            continue;
        bool is_null = bit(s->p + nulls, k++);
        size_t len = is_null ? 0 : value_len(s->tc->type[i], s->tc->meta[i], s->p, at, s->end);
        if (len == SIZE_MAX || at + len > s->end)
            return false;
        for (unsigned w = 0; w < s->ncols; w++)
            if (s->cols[w] == i)
                s->fn(s->arg, w, s->tc->type[i], is_null ? NULL : s->p + at, len);
        at += len;
    }
    *off = at;
    return true;
}

static bool update_type(uint8_t t)
{
    return t == BINLOG_UPDATE_ROWS_V1 || t == BINLOG_UPDATE_ROWS;
}

hy_status_t binlog_rows_scan(const uint8_t *ev, size_t body_end, const struct binlog_cols *tc,
                             const unsigned *cols, unsigned ncols, unsigned max_rows,
                             binlog_rows_fn fn, void *arg)
{
    uint8_t t = body_end > BINLOG_HEADER_LEN ? ev[4] : 0;
    bool v1 = t >= BINLOG_WRITE_ROWS_V1 && t <= BINLOG_DELETE_ROWS_V1;
    bool v2 = t >= BINLOG_WRITE_ROWS && t <= BINLOG_DELETE_ROWS;
    size_t off = BINLOG_HEADER_LEN + ROWS_POST_HEADER;
    if ((!v1 && !v2) || body_end < off)
        return HY_ERROR; /* compressed ones too */
    if (v2) {
        if (off + 2 > body_end)
            return HY_ERROR;
        size_t extra = (size_t)(ev[off] | ev[off + 1] << 8);
        if (extra < 2 || off + extra > body_end)
            return HY_ERROR;
        off += extra;
    }
    for (unsigned w = 0; w < ncols; w++)
        if (cols[w] >= tc->n)
            return HY_ERROR;
    uint64_t n;
    if (!lenenc(ev, body_end, &off, &n) || n != tc->n)
        return HY_ERROR;
    size_t bm = (tc->n + 7) / 8;
    const uint8_t *before = ev + off, *after = ev + off;
    off += bm;
    if (update_type(t)) {
        after = ev + off;
        off += bm;
    }
    if (off > body_end)
        return HY_ERROR;
    for (unsigned w = 0; w < ncols; w++) /* before any value is handed over */
        if (!bit(before, cols[w]) || !bit(after, cols[w]))
            return HY_ERROR;
    struct scan s = {
        .p = ev, .end = body_end, .tc = tc, .cols = cols, .ncols = ncols, .fn = fn, .arg = arg};
    for (unsigned rows = 0; off < body_end; rows++) {
        if (rows == max_rows)
            return HY_AGAIN;
        s.present = before;
        if (!image(&s, &off))
            return HY_ERROR;
        if (update_type(t)) {
            s.present = after;
            if (!image(&s, &off))
                return HY_ERROR;
        }
    }
    return HY_OK;
}
