/*
 * admin_sql_rs.c: the SQL admin port's rendering of an answer. The admin
 * commands (admin_cmd.c) write each answer once as text and once as JSON;
 * this file turns the JSON one into a MySQL text result set, so the SQL
 * port has no logic of its own about what a command shows.
 *
 * The rows are the objects of the answer's first list of objects ("backends"
 * of show backends); top-level values whose names are also columns make a
 * first summary row (show stats' totals beside its per-worker rows). An
 * answer without such a list, or of a command whose sql_shape is
 * ADMIN_SQL_ONE_ROW (show backup, show cache: a document whose list is a
 * part of it), is one row of its top-level values. show config is
 * name/value rows instead (ADMIN_SQL_NAME_VALUE), its keys flattened as
 * the text table names them ("listeners.[0].port"). An answer of several
 * tables (ADMIN_SQL_LISTS: show shards) is a result set per list, one
 * after another (SERVER_MORE_RESULTS_EXISTS), a list of values (names) one
 * column named after it.
 *
 * An empty list comes as one zeroed row in an answer marked
 * "prototype":true (json_prototype, asked for by --sql): its columns, and
 * no row. Column types come from the values: integers are BIGINT, fractions DOUBLE,
 * booleans TINYINT, ISO 8601 UTC times ("2026-11-21T20:30:01Z") DATETIME,
 * JSON null (or a member a row lacks) NULL, nested lists and objects their
 * JSON text. Pure: text in, packets out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_int.h"
#include "halyard/protocol/mysql_proto.h"

/* ---- a small JSON reader for the renderers' own JSON -------------------- */

enum jtype { J_NULL, J_BOOL, J_INT, J_REAL, J_STR, J_OBJ, J_ARR };

struct jnode {
    enum jtype t;
    const char *raw; /* the value's text in the answer */
    size_t raw_len;
    char *str;          /* J_STR: decoded; J_OBJ members: their name in `key` */
    char *key;          /* the member's name when in an object */
    struct jnode *kids; /* J_OBJ, J_ARR */
    size_t n_kids;
};

struct jparse {
    const char *p, *end;
    int depth;
    bool bad;
};

static void jnode_free(struct jnode *n)
{
    for (size_t i = 0; i < n->n_kids; i++)
        jnode_free(&n->kids[i]);
    free(n->kids);
    free(n->str);
    free(n->key);
}

static void skip_ws(struct jparse *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

static void put_utf8(char **o, unsigned cp)
{
    char *d = *o;
    if (cp < 0x80) {
        *d++ = (char)cp;
    } else if (cp < 0x800) {
        *d++ = (char)(0xc0 | (cp >> 6));
        *d++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *d++ = (char)(0xe0 | (cp >> 12));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *d++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *d++ = (char)(0xf0 | (cp >> 18));
        *d++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *d++ = (char)(0x80 | (cp & 0x3f));
    }
    *o = d;
}

static bool hex4(const char *s, const char *end, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        if (s + i >= end)
            return false;
        char c = s[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16u;
        if (d == 16)
            return false;
        *v = *v * 16 + d;
    }
    return true;
}

/* A string at j->p (its opening quote), decoded into a new NUL-terminated
 * copy (never longer than its JSON text). */
static char *parse_str(struct jparse *j)
{
    const char *s = ++j->p;
    while (j->p < j->end && *j->p != '"')
        j->p += *j->p == '\\' ? 2 : 1;
    if (j->p >= j->end) {
        j->bad = true;
        return NULL;
    }
    const char *e = j->p++;
    char *out = malloc((size_t)(e - s) + 1), *d = out;
    if (out == NULL) {
        j->bad = true;
        return NULL;
    }
    for (const char *q = s; q < e; q++) {
        if (*q != '\\') {
            *d++ = *q;
            continue;
        }
        char c = *++q;
        unsigned cp, lo;
        switch (c) {
        case 'n':
            *d++ = '\n';
            break;
        case 't':
            *d++ = '\t';
            break;
        case 'r':
            *d++ = '\r';
            break;
        case 'b':
            *d++ = '\b';
            break;
        case 'f':
            *d++ = '\f';
            break;
        case 'u':
            if (!hex4(q + 1, e, &cp)) {
                *d++ = '?';
                break;
            }
            q += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && q + 6 < e && q[1] == '\\' && q[2] == 'u' &&
                hex4(q + 3, e, &lo) && lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                q += 6;
            }
            put_utf8(&d, cp);
            break;
        default:
            *d++ = c;
            break;
        }
    }
    *d = '\0';
    return out;
}

static void parse_value(struct jparse *j, struct jnode *n);

static void add_kid(struct jparse *j, struct jnode *n, char *key)
{
    struct jnode *k = realloc(n->kids, (n->n_kids + 1) * sizeof(*k));
    if (k == NULL) {
        free(key);
        j->bad = true;
        return;
    }
    n->kids = k;
    struct jnode *kid = &k[n->n_kids++];
    memset(kid, 0, sizeof(*kid));
    kid->key = key;
    parse_value(j, kid);
}

static void parse_list(struct jparse *j, struct jnode *n, bool obj)
{
    n->t = obj ? J_OBJ : J_ARR;
    if (++j->depth > 32) {
        j->bad = true;
        return;
    }
    j->p++;
    skip_ws(j);
    if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
        j->p++;
        j->depth--;
        return;
    }
    while (!j->bad && j->p < j->end) {
        char *key = NULL;
        skip_ws(j);
        if (obj) {
            if (j->p >= j->end || *j->p != '"' || (key = parse_str(j)) == NULL) {
                j->bad = true;
                return;
            }
            skip_ws(j);
            if (j->p >= j->end || *j->p++ != ':') {
                free(key);
                j->bad = true;
                return;
            }
        }
        add_kid(j, n, key);
        skip_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
            j->p++;
            j->depth--;
            return;
        }
        j->bad = true;
    }
    j->bad = true;
}

static void parse_value(struct jparse *j, struct jnode *n)
{
    skip_ws(j);
    n->raw = j->p;
    if (j->p >= j->end) {
        j->bad = true;
    } else if (*j->p == '{' || *j->p == '[') {
        parse_list(j, n, *j->p == '{');
    } else if (*j->p == '"') {
        n->t = J_STR;
        n->str = parse_str(j);
    } else {
        const char *s = j->p;
        while (j->p < j->end && strchr(",}] \n\r\t", *j->p) == NULL)
            j->p++;
        size_t len = (size_t)(j->p - s);
        if (len == 4 && memcmp(s, "null", 4) == 0) {
            n->t = J_NULL;
        } else if ((len == 4 && memcmp(s, "true", 4) == 0) ||
                   (len == 5 && memcmp(s, "false", 5) == 0)) {
            n->t = J_BOOL;
        } else if (len > 0 && strspn(s, "-0123456789") >= len) {
            n->t = J_INT;
        } else if (len > 0 && strspn(s, "-+.eE0123456789") >= len) {
            n->t = J_REAL;
        } else {
            j->bad = true;
        }
    }
    n->raw_len = (size_t)(j->p - n->raw);
}

/* ---- columns ------------------------------------------------------------ */

#define RS_MAX_COLS 256

struct rs_col {
    const char *name;
    enum jtype t; /* of its non-null values; J_NULL: none yet */
    bool mixed;   /* values of different kinds: shown as text */
    bool times;   /* every string value is an ISO 8601 UTC time */
    bool frac;    /* ... and some have a fraction of a second */
    size_t width;
};

struct rs {
    struct rs_col cols[RS_MAX_COLS];
    size_t n;
};

/* "2026-11-21T20:30:01Z" or with ".123" before the Z. */
static bool iso_time(const char *s, bool *frac)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    for (size_t i = 0; i < sizeof(shape) - 1; i++) {
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
            return false;
    }
    const char *t = s + sizeof(shape) - 1;
    if (*t == '.') {
        *frac = true;
        t++;
        while (*t >= '0' && *t <= '9')
            t++;
    }
    return t[0] == 'Z' && t[1] == '\0';
}

static void col_type(struct rs_col *c, const struct jnode *v);

static void col_see(struct rs *rs, const struct jnode *v)
{
    struct rs_col *c = NULL;
    for (size_t i = 0; i < rs->n && c == NULL; i++) {
        if (strcmp(rs->cols[i].name, v->key) == 0)
            c = &rs->cols[i];
    }
    if (c == NULL) {
        if (rs->n == RS_MAX_COLS)
            return;
        c = &rs->cols[rs->n++];
        memset(c, 0, sizeof(*c));
        c->name = v->key;
        c->times = true;
    }
    col_type(c, v);
}

/* Column c's type, widened by value v. */
static void col_type(struct rs_col *c, const struct jnode *v)
{
    if (v->t == J_NULL)
        return;
    c->width = HY_MAX(c->width, v->raw_len);
    enum jtype t = v->t == J_OBJ ? J_ARR : v->t; /* both: JSON text */
    if (t == J_STR && !iso_time(v->str, &c->frac))
        c->times = false;
    if (c->t == J_NULL)
        c->t = t;
    else if ((c->t == J_INT && t == J_REAL) || (c->t == J_REAL && t == J_INT))
        c->t = J_REAL;
    else if (c->t != t)
        c->mixed = true;
}

/* ---- packets ------------------------------------------------------------ */

static void rs_packet(struct textbuf *out, uint8_t *seq, const void *p, size_t n)
{
    uint8_t h[MYSQL_HEADER_SIZE];
    mysql_hdr_write(h, (uint32_t)n, (*seq)++);
    textbuf_append(out, h, sizeof(h));
    textbuf_append(out, p, n);
}

static void put_lenenc(struct textbuf *b, const void *s, size_t n)
{
    uint8_t h[9];
    size_t k;
    if (n < 251) {
        h[0] = (uint8_t)n;
        k = 1;
    } else if (n < (1u << 16)) {
        h[0] = 0xfc, h[1] = (uint8_t)n, h[2] = (uint8_t)(n >> 8);
        k = 3;
    } else {
        h[0] = 0xfd, h[1] = (uint8_t)n, h[2] = (uint8_t)(n >> 8), h[3] = (uint8_t)(n >> 16);
        k = 4;
    }
    textbuf_append(b, h, k);
    textbuf_append(b, s, n);
}

static void coldef(struct textbuf *out, uint8_t *seq, const char *table, const struct rs_col *c)
{
    uint8_t type = MYSQL_TYPE_VAR_STRING, decimals = 0;
    uint16_t charset = 45, flags = 0; /* utf8mb4_general_ci */
    uint32_t length = (uint32_t)HY_MIN(HY_MAX(c->width, 1) * 4, 65535u);
    if (!c->mixed && c->t == J_INT) {
        type = MYSQL_TYPE_LONGLONG, charset = 63, flags = 0x80 | 0x8000, length = 20;
    } else if (!c->mixed && c->t == J_REAL) {
        type = MYSQL_TYPE_DOUBLE, charset = 63, flags = 0x80 | 0x8000, length = 22;
        decimals = 31;
    } else if (!c->mixed && c->t == J_BOOL) {
        type = MYSQL_TYPE_TINY, charset = 63, flags = 0x80 | 0x8000, length = 1;
    } else if (!c->mixed && c->t == J_STR && c->times) {
        type = 12 /* DATETIME */, charset = 63, flags = 0x80;
        length = c->frac ? 23 : 19, decimals = c->frac ? 3 : 0;
    }
    struct textbuf b;
    textbuf_init(&b, 1u << 16);
    put_lenenc(&b, "def", 3);
    put_lenenc(&b, "halyard", 7);
    put_lenenc(&b, table, strlen(table));
    put_lenenc(&b, table, strlen(table));
    put_lenenc(&b, c->name, strlen(c->name));
    put_lenenc(&b, c->name, strlen(c->name));
    uint8_t fixed[13] = {0x0c,
                         (uint8_t)charset,
                         (uint8_t)(charset >> 8),
                         (uint8_t)length,
                         (uint8_t)(length >> 8),
                         (uint8_t)(length >> 16),
                         (uint8_t)(length >> 24),
                         type,
                         (uint8_t)flags,
                         (uint8_t)(flags >> 8),
                         decimals,
                         0,
                         0};
    textbuf_append(&b, fixed, sizeof(fixed));
    rs_packet(out, seq, b.data, b.len);
    textbuf_free(&b);
}

/* more: another result set follows (SERVER_MORE_RESULTS_EXISTS). */
static void eof_packet(struct textbuf *out, uint8_t *seq, bool more)
{
    uint16_t st = SERVER_STATUS_AUTOCOMMIT | (more ? SERVER_MORE_RESULTS_EXISTS : 0);
    const uint8_t eof[5] = {0xfe, 0, 0, (uint8_t)st, (uint8_t)(st >> 8)};
    rs_packet(out, seq, eof, sizeof(eof));
}

/* One value of column c in the row's text form; NULL: SQL NULL. */
static void put_value(struct textbuf *row, const struct rs_col *c, const struct jnode *v)
{
    if (v == NULL || v->t == J_NULL) {
        static const uint8_t null = 0xfb;
        textbuf_append(row, &null, 1);
    } else if (v->t == J_BOOL && !c->mixed) {
        put_lenenc(row, v->raw[0] == 't' ? "1" : "0", 1);
    } else if (v->t == J_STR && c->times && !c->mixed) {
        char t[32]; /* "2026-11-21 20:30:01[.123]" */
        snprintf(t, sizeof(t), "%.*s", (int)HY_MIN(strlen(v->str) - 1, sizeof(t) - 1), v->str);
        t[10] = ' ';
        put_lenenc(row, t, strlen(t));
    } else if (v->t == J_STR) {
        put_lenenc(row, v->str, strlen(v->str));
    } else {
        put_lenenc(row, v->raw, v->raw_len);
    }
}

static const struct jnode *member(const struct jnode *obj, const char *key)
{
    for (size_t i = 0; obj != NULL && i < obj->n_kids; i++) {
        if (strcmp(obj->kids[i].key, key) == 0)
            return &obj->kids[i];
    }
    return NULL;
}

static void row_packet(struct textbuf *out, uint8_t *seq, const struct rs *rs,
                       const struct jnode *obj)
{
    struct textbuf row;
    textbuf_init(&row, MYSQL_MAX_PAYLOAD - 1);
    for (size_t i = 0; i < rs->n; i++)
        put_value(&row, &rs->cols[i], member(obj, rs->cols[i].name));
    rs_packet(out, seq, row.data, row.len);
    textbuf_free(&row);
}

/* ---- name/value rows (show config) -------------------------------------- */

static void nv_rows(struct textbuf *out, uint8_t *seq, const struct jnode *n, const char *path,
                    const struct rs *rs)
{
    if (n->t == J_OBJ || n->t == J_ARR) {
        for (size_t i = 0; i < n->n_kids; i++) {
            char sub[512];
            if (n->t == J_OBJ)
                snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", n->kids[i].key);
            else
                snprintf(sub, sizeof(sub), "%s.[%zu]", path, i);
            nv_rows(out, seq, &n->kids[i], sub, rs);
        }
        return;
    }
    struct textbuf row;
    textbuf_init(&row, MYSQL_MAX_PAYLOAD - 1);
    put_lenenc(&row, path, strlen(path));
    put_value(&row, &rs->cols[1], n);
    rs_packet(out, seq, row.data, row.len);
    textbuf_free(&row);
}

/* ---- the answer ---------------------------------------------------------- */

static const struct jnode *first_list(const struct jnode *top)
{
    for (size_t i = 0; i < top->n_kids; i++) {
        const struct jnode *k = &top->kids[i];
        if (k->t == J_ARR && (k->n_kids == 0 || k->kids[0].t == J_OBJ))
            return k;
    }
    return NULL;
}

/* Whether the answer marks `list` as drawn with one zeroed row to name its
 * columns (json_prototype): "prototype":true for its first list, or
 * "prototype":["schemas",...] naming the lists. */
static bool is_prototype(const struct jnode *top, const struct jnode *list, bool first)
{
    const struct jnode *p = member(top, "prototype");
    if (p != NULL && p->t == J_BOOL)
        return first && p->raw[0] == 't';
    for (size_t i = 0; p != NULL && p->t == J_ARR && i < p->n_kids; i++) {
        if (p->kids[i].t == J_STR && list != NULL && strcmp(p->kids[i].str, list->key) == 0)
            return true;
    }
    return false;
}

/* One result set: a row per element of `list` (NULL: one row of top's
 * values), after a summary row of top's values when they are columns of
 * the list's objects too (summary_ok). A list of values, or an empty list
 * nothing named, is one column named after the list. columns_only: the
 * columns, and no row. more: another result set follows. */
static void result_set(struct textbuf *out, uint8_t *seq, const char *table,
                       const struct jnode *top, const struct jnode *list, bool columns_only,
                       bool summary_ok, bool more)
{
    struct rs rs = {.n = 0};
    bool summary = false, values = false;
    if (list != NULL) {
        for (size_t r = 0; r < list->n_kids; r++) {
            values = values || list->kids[r].t != J_OBJ;
            for (size_t i = 0; list->kids[r].t == J_OBJ && i < list->kids[r].n_kids; i++)
                col_see(&rs, &list->kids[r].kids[i]);
        }
        if (values || rs.n == 0) {
            rs.cols[0] = (struct rs_col){.name = list->key, .times = true};
            rs.n = 1;
            for (size_t r = 0; r < list->n_kids; r++)
                col_type(&rs.cols[0], &list->kids[r]);
        }
        for (size_t i = 0; summary_ok && !values && i < top->n_kids; i++) {
            const struct jnode *k = &top->kids[i];
            for (size_t c = 0; k->t != J_ARR && k->t != J_OBJ && c < rs.n; c++) {
                if (strcmp(rs.cols[c].name, k->key) == 0) {
                    col_see(&rs, k);
                    summary = true;
                }
            }
        }
    } else {
        for (size_t i = 0; i < top->n_kids; i++)
            col_see(&rs, &top->kids[i]);
    }
    uint8_t n = (uint8_t)HY_MIN(rs.n, 250u);
    rs_packet(out, seq, &n, 1);
    rs.n = n;
    for (size_t i = 0; i < rs.n; i++)
        coldef(out, seq, list != NULL ? list->key : table, &rs.cols[i]);
    eof_packet(out, seq, false);
    if ((list == NULL || summary) && !columns_only)
        row_packet(out, seq, &rs, top);
    for (size_t r = 0; list != NULL && !columns_only && r < list->n_kids; r++) {
        if (!values) {
            row_packet(out, seq, &rs, &list->kids[r]);
            continue;
        }
        struct textbuf row;
        textbuf_init(&row, MYSQL_MAX_PAYLOAD - 1);
        put_value(&row, &rs.cols[0], &list->kids[r]);
        rs_packet(out, seq, row.data, row.len);
        textbuf_free(&row);
    }
    eof_packet(out, seq, more);
}

static void table_rows(struct textbuf *out, uint8_t *seq, const char *table,
                       const struct jnode *top, enum admin_sql_shape shape)
{
    if (shape != ADMIN_SQL_LISTS) {
        const struct jnode *list = shape == ADMIN_SQL_ONE_ROW ? NULL : first_list(top);
        result_set(out, seq, table, top, list, is_prototype(top, list, true), true, false);
        return;
    }
    const struct jnode *lists[16];
    size_t n = 0;
    for (size_t i = 0; i < top->n_kids && n < HY_ARRAY_SIZE(lists); i++) {
        if (top->kids[i].t == J_ARR && strcmp(top->kids[i].key, "prototype") != 0)
            lists[n++] = &top->kids[i];
    }
    if (n == 0)
        result_set(out, seq, table, top, NULL, false, false, false);
    for (size_t i = 0; i < n; i++)
        result_set(out, seq, table, top, lists[i], is_prototype(top, lists[i], i == 0), false,
                   i + 1 < n);
}

hy_status_t admin_sql_result(struct textbuf *out, uint8_t *seq, const char *table,
                             enum admin_sql_shape shape, const char *json, size_t len)
{
    struct jparse j = {.p = json, .end = json + len};
    struct jnode top = {.t = J_NULL};
    parse_value(&j, &top);
    hy_status_t rc = HY_ERROR;
    if (!j.bad && top.t == J_OBJ) {
        rc = HY_OK;
        if (shape == ADMIN_SQL_NAME_VALUE) {
            struct rs rs = {.n = 2};
            rs.cols[0] = (struct rs_col){.name = "name", .t = J_STR, .width = 64};
            rs.cols[1] = (struct rs_col){.name = "value", .t = J_STR, .width = 256, .mixed = true};
            uint8_t two = 2;
            rs_packet(out, seq, &two, 1);
            coldef(out, seq, table, &rs.cols[0]);
            coldef(out, seq, table, &rs.cols[1]);
            eof_packet(out, seq, false);
            nv_rows(out, seq, &top, "", &rs);
            eof_packet(out, seq, false);
        } else {
            table_rows(out, seq, table, &top, shape);
        }
    }
    jnode_free(&top);
    return rc;
}
