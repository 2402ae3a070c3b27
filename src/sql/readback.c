/*
 * readback.c: the query that reads back what a SET assigned, and its
 * answer read into a varstate (see readback.h).
 *
 * The answer to `SELECT v1, CAST(COLLATION(v1) AS BINARY), CAST(v1 AS
 * BINARY), ...` is a column count, the column definitions, an EOF unless
 * CLIENT_DEPRECATE_EOF, one text row, a terminator. Only the first column of
 * each triple needs its definition (the value's type); the other two are
 * always strings, binary ones: the session's character_set_results (ucs2,
 * say) would convert them. It ends in its own LIMIT (READBACK_ALL_ROWS).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "halyard/protocol/mysql_proto.h"
#include "halyard/sql/readback.h"

void readback_init(struct readback *rb)
{
    memset(rb, 0, sizeof(*rb));
}

hy_status_t readback_add(struct readback *rb, enum varstate_scope scope, const char *name,
                         size_t len)
{
    if (!varstate_name_valid(scope, name, len))
        return HY_ERROR;
    for (uint32_t i = 0; i < rb->n; i++) {
        if (rb->var[i].scope == scope && rb->var[i].len == len &&
            strncasecmp(rb->var[i].name, name, len) == 0)
            return HY_OK;
    }
    if (rb->n == READBACK_MAX)
        return HY_ERROR;
    struct readback_var *v = &rb->var[rb->n++];
    v->scope = (uint8_t)scope;
    v->len = (uint8_t)len;
    memcpy(v->name, name, len);
    v->name[len] = '\0';
    return HY_OK;
}

size_t readback_sql(const struct readback *rb, char *out, size_t cap)
{
    if (rb->n == 0) {
        if (cap > 0)
            out[0] = '\0';
        return 0;
    }
    size_t at = 0;
    for (uint32_t i = 0; i < rb->n; i++) {
        char ref[VARSTATE_NAME_MAX + 16];
        const struct readback_var *v = &rb->var[i];
        if (v->scope == VS_SYSTEM)
            snprintf(ref, sizeof(ref), "@@session.%s", v->name);
        else
            snprintf(ref, sizeof(ref), "@`%s`", v->name);
        int n = snprintf(at < cap ? out + at : NULL, at < cap ? cap - at : 0,
                         "%s%s, CAST(COLLATION(%s) AS BINARY), CAST(%s AS BINARY)",
                         i == 0 ? "SELECT " : ", ", ref, ref, ref);
        if (n < 0)
            return 0;
        at += (size_t)n;
    }
    /* It runs under the session's variables: its sql_select_limit (0)
     * would leave out the one row. */
    int n = snprintf(at < cap ? out + at : NULL, at < cap ? cap - at : 0, "%s", READBACK_ALL_ROWS);
    return n < 0 ? 0 : at + (size_t)n;
}

void readback_start(struct readback *rb, uint32_t caps, uint32_t ext_caps)
{
    rb->caps = caps;
    rb->ext_meta = (ext_caps & MARIADB_CLIENT_EXTENDED_METADATA) != 0;
    rb->pkt = 0;
    rb->ncols = 0;
    rb->learned = false;
    rb->bad = false;
}

/* One variable's three columns, from the row: its value into vs. */
static hy_status_t learn_one(const struct readback *rb, uint32_t i, struct mysql_rd *rd,
                             struct varstate *vs)
{
    const uint8_t *val = NULL, *coll = NULL, *raw = NULL;
    size_t val_len = 0, coll_len = 0, raw_len = 0;
    bool val_null = false, raw_null = false;
    const uint8_t **ptr[3] = {&val, &coll, &raw};
    size_t *lens[3] = {&val_len, &coll_len, &raw_len};
    for (int c = 0; c < 3; c++) {
        if (mysql_rd_left(rd) > 0 && rd->p[0] == 0xfb) { /* NULL */
            (void)mysql_rd_u8(rd);
            if (c == 0)
                val_null = true;
            if (c == 2)
                raw_null = true;
            continue;
        }
        *ptr[c] = mysql_rd_lenenc_str(rd, lens[c]);
        if (rd->bad)
            return HY_ERROR;
    }
    struct varstate_value v = {.type = VS_NULL};
    char collation[VARSTATE_COLLATION_MAX + 1];
    uint8_t type = rb->type[i];
    switch (type) {
    case MYSQL_TYPE_NULL:
        if (!val_null)
            return HY_ERROR;
        break;
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_INT24:
        v.type = (rb->flags[i] & MYSQL_UNSIGNED_FLAG) ? VS_UINT : VS_INT;
        break;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
        v.type = VS_DOUBLE;
        break;
    case MYSQL_TYPE_DECIMAL:
    case MYSQL_TYPE_NEWDECIMAL:
        v.type = VS_DECIMAL;
        break;
    default:
        if (!mysql_type_is_string(type))
            return HY_ERROR;
        if (coll == NULL || (raw_null && !val_null) || coll_len == 0 ||
            coll_len > VARSTATE_COLLATION_MAX)
            return HY_ERROR;
        memcpy(collation, coll, coll_len);
        collation[coll_len] = '\0';
        v.type = strcmp(collation, "binary") == 0 ? (val_null ? VS_NULL : VS_BINARY) : VS_STRING;
        v.collation = collation;
        val = raw; /* the bytes as the variable holds them */
        val_len = raw_len;
        break;
    }
    /* A NULL keeps its type: `SET @d = 1/0` leaves a DECIMAL NULL. */
    v.null = val_null && v.type != VS_NULL;
    if (!val_null) {
        v.data = val;
        v.len = val_len;
    }
    const struct readback_var *var = &rb->var[i];
    return varstate_set(vs, (enum varstate_scope)var->scope, var->name, var->len, &v);
}

static void feed_row(struct readback *rb, const uint8_t *p, uint32_t len, struct varstate *vs)
{
    struct mysql_rd rd;
    mysql_rd_init(&rd, p, len);
    for (uint32_t i = 0; i < rb->n; i++) {
        if (learn_one(rb, i, &rd, vs) != HY_OK) {
            rb->bad = true;
            return;
        }
    }
    if (mysql_rd_left(&rd) != 0) {
        rb->bad = true;
        return;
    }
    rb->learned = true;
}

void readback_feed(struct readback *rb, const uint8_t *p, uint32_t len, bool whole,
                   struct varstate *vs)
{
    uint32_t k = rb->pkt++;
    if (rb->bad || rb->learned)
        return;
    if (!whole || len == 0 || p[0] == MYSQL_ERR) {
        rb->bad = true;
        return;
    }
    if (k == 0) { /* the column count */
        struct mysql_rd rd;
        mysql_rd_init(&rd, p, len);
        uint64_t n = mysql_rd_lenenc(&rd);
        rb->ncols = (uint32_t)n;
        if (rd.bad || n != (uint64_t)rb->n * 3)
            rb->bad = true;
        return;
    }
    if (k <= rb->ncols) { /* column definitions: each value's type */
        struct mysql_coldef cd;
        if (mysql_coldef_decode(p, len, rb->ext_meta, &cd) != HY_OK) {
            rb->bad = true;
            return;
        }
        uint32_t col = k - 1;
        if (col % 3 == 0) {
            rb->type[col / 3] = cd.type;
            rb->flags[col / 3] = cd.flags;
        }
        return;
    }
    bool deprecate_eof = (rb->caps & CLIENT_DEPRECATE_EOF) != 0;
    if (k == rb->ncols + 1 && !deprecate_eof) {
        if (!mysql_is_eof(p[0], len, false))
            rb->bad = true;
        return;
    }
    if (mysql_is_eof(p[0], len, deprecate_eof)) { /* the terminator before any row */
        rb->bad = true;
        return;
    }
    feed_row(rb, p, len, vs);
}

hy_status_t readback_done(const struct readback *rb)
{
    return rb->learned && !rb->bad ? HY_OK : HY_ERROR;
}
