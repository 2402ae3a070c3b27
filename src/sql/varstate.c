/*
 * varstate.c: a session's state as values (see varstate.h).
 *
 * Each scope is an array of variables kept sorted by lower-cased name, so
 * lookups are binary searches and two states are compared, and diffed, by
 * one merge walk. Names are lower-cased in ASCII only: MariaDB compares user
 * variable names case-insensitively in its system character set, and a name
 * outside ASCII is kept as written (two spellings of it would count as two
 * variables, each replayed: the same value either way).
 *
 * Every byte a state holds is counted against its budget: the fixed size
 * of each variable and statement record plus what it points to. A change
 * that would pass the budget is refused before anything is modified.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/core/grow.h"
#include "halyard/core/textbuf.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/sql/varstate.h"

struct vs_var {
    char name[VARSTATE_NAME_MAX + 1]; /* lower-cased, NUL-terminated */
    uint8_t name_len;
    uint8_t type; /* enum varstate_type */
    bool null;    /* a NULL of that type */
    char collation[VARSTATE_COLLATION_MAX + 1];
    uint8_t *data; /* malloc'd; NULL when len is 0 */
    size_t len;
};

struct vs_map {
    struct vs_var *v;
    uint32_t n, cap;
};

struct vs_stmt {
    char *sql;
    size_t len;
};

struct varstate {
    size_t max, bytes;
    struct vs_map map[2]; /* [VS_SYSTEM], [VS_USER] */
    char *schema;
    int option;
    struct vs_stmt *stmts;
    uint32_t n_stmts, cap_stmts;
};

static size_t var_cost(size_t len)
{
    return sizeof(struct vs_var) + len;
}

static size_t stmt_cost(size_t len)
{
    return sizeof(struct vs_stmt) + len;
}

struct varstate *varstate_create(size_t max_bytes)
{
    struct varstate *vs = calloc(1, sizeof(*vs));
    if (vs == NULL)
        return NULL;
    vs->max = max_bytes;
    vs->option = -1;
    return vs;
}

/* Each free() only when there is something: this runs for every
 * connection a session brings to its state (varstate_copy), mostly empty. */
void varstate_clear(struct varstate *vs)
{
    for (int sc = 0; sc < 2; sc++) {
        if (vs->map[sc].v == NULL)
            continue;
        for (uint32_t i = 0; i < vs->map[sc].n; i++)
            free(vs->map[sc].v[i].data);
        free(vs->map[sc].v);
        vs->map[sc] = (struct vs_map){0};
    }
    if (vs->stmts != NULL) {
        for (uint32_t i = 0; i < vs->n_stmts; i++)
            free(vs->stmts[i].sql);
        free(vs->stmts);
        vs->stmts = NULL;
        vs->n_stmts = vs->cap_stmts = 0;
    }
    if (vs->schema != NULL) {
        free(vs->schema);
        vs->schema = NULL;
    }
    vs->option = -1;
    vs->bytes = 0;
}

void varstate_destroy(struct varstate *vs)
{
    if (vs == NULL)
        return;
    varstate_clear(vs);
    free(vs);
}

size_t varstate_bytes(const struct varstate *vs)
{
    return vs->bytes;
}

uint32_t varstate_count(const struct varstate *vs, enum varstate_scope scope)
{
    return vs->map[scope].n;
}

/* ---- names and values -------------------------------------------------- */

bool varstate_name_valid(enum varstate_scope scope, const char *name, size_t len)
{
    if (len == 0 || len > VARSTATE_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (scope == VS_SYSTEM) {
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_'))
                return false;
        } else if (c < 0x20 || c == 0x7f || c == '\'' || c == '"' || c == '`' || c == '\\') {
            return false;
        }
    }
    return true;
}

static void name_key(const char *name, size_t len, char *key)
{
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        key[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    key[len] = '\0';
}

static bool all_digits(const uint8_t *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
    }
    return true;
}

static bool collation_valid(const char *c)
{
    size_t n = c != NULL ? strlen(c) : 0;
    if (n == 0 || n > VARSTATE_COLLATION_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)c[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_'))
            return false;
    }
    return true;
}

/* Whether v is a value of its type (the grammar of each text). */
static bool value_valid(const struct varstate_value *v)
{
    const uint8_t *p = v->data;
    size_t n = v->len;
    if (v->null)
        return v->type == VS_STRING ? collation_valid(v->collation)
                                    : v->type != VS_DEFAULT && v->type <= VS_DEFAULT;
    switch (v->type) {
    case VS_NULL:
    case VS_DEFAULT:
    case VS_BINARY:
        return p != NULL || n == 0;
    case VS_INT:
        if (n > 0 && p[0] == '-') {
            p++;
            n--;
        }
        return n <= 20 && all_digits(p, n);
    case VS_UINT:
        return n <= 20 && all_digits(p, n);
    case VS_DOUBLE: {
        if (n == 0 || n > 40)
            return false;
        bool digit = false;
        for (size_t i = 0; i < n; i++) {
            if (p[i] >= '0' && p[i] <= '9')
                digit = true;
            else if (p[i] != '.' && p[i] != 'e' && p[i] != 'E' && p[i] != '+' && p[i] != '-')
                return false;
        }
        return digit;
    }
    case VS_DECIMAL: {
        if (n > 0 && p[0] == '-') {
            p++;
            n--;
        }
        if (n == 0 || n > 66)
            return false;
        const uint8_t *dot = memchr(p, '.', n);
        if (dot == NULL)
            return all_digits(p, n);
        size_t ip = (size_t)(dot - p);
        return all_digits(p, ip) && all_digits(dot + 1, n - ip - 1);
    }
    case VS_STRING:
        return (p != NULL || n == 0) && collation_valid(v->collation);
    }
    return false;
}

/* The character set of a collation: its name up to the first '_'
 * ("utf8mb4_general_ci" -> "utf8mb4"); MariaDB names every collation so,
 * except "binary". */
static size_t collation_charset(const char *coll)
{
    const char *u = strchr(coll, '_');
    return u != NULL ? (size_t)(u - coll) : strlen(coll);
}

/* Append to out (cap bytes, NUL kept when cap > 0); returns the new length
 * the whole text needs. */
static size_t put(char *out, size_t cap, size_t at, const char *s, size_t n)
{
    if (at < cap) {
        size_t room = cap - at - 1;
        memcpy(out + at, s, HY_MIN(n, room));
        out[at + HY_MIN(n, room)] = '\0';
    }
    return at + n;
}

static size_t put_str(char *out, size_t cap, size_t at, const char *s)
{
    return put(out, cap, at, s, strlen(s));
}

static size_t put_hex(char *out, size_t cap, size_t at, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    at = put_str(out, cap, at, "X'");
    for (size_t i = 0; i < n; i++) {
        char two[2] = {hex[p[i] >> 4], hex[p[i] & 15]};
        at = put(out, cap, at, two, 2);
    }
    return put_str(out, cap, at, "'");
}

size_t varstate_literal(const struct varstate_value *v, char *out, size_t cap)
{
    if (cap > 0)
        out[0] = '\0';
    if (!value_valid(v))
        return 0;
    const char *text = (const char *)v->data;
    size_t at = 0;
    if (v->null) {
        switch (v->type) {
        case VS_INT:
            return put_str(out, cap, 0, "CAST(NULL AS SIGNED)");
        case VS_UINT:
            return put_str(out, cap, 0, "CAST(NULL AS UNSIGNED)");
        case VS_DOUBLE:
            return put_str(out, cap, 0, "CAST(NULL AS DOUBLE)");
        case VS_DECIMAL:
            return put_str(out, cap, 0, "CAST(NULL AS DECIMAL(65,30))");
        case VS_STRING:
            if (strcmp(v->collation, "binary") == 0)
                return put_str(out, cap, 0, "NULL");
            at = put_str(out, cap, 0, "CONVERT(NULL USING ");
            at = put(out, cap, at, v->collation, collation_charset(v->collation));
            at = put_str(out, cap, at, ") COLLATE ");
            return put_str(out, cap, at, v->collation);
        default:
            return put_str(out, cap, 0, "NULL");
        }
    }
    switch (v->type) {
    case VS_NULL:
        return put_str(out, cap, 0, "NULL");
    case VS_DEFAULT:
        return put_str(out, cap, 0, "DEFAULT");
    case VS_INT:
        /* A negative literal is a minus applied to a positive one, which
         * for -9223372036854775808 would be a DECIMAL: cast it back. */
        if (v->len > 0 && text[0] == '-') {
            at = put_str(out, cap, 0, "CAST(");
            at = put(out, cap, at, text, v->len);
            return put_str(out, cap, at, " AS SIGNED)");
        }
        return put(out, cap, 0, text, v->len);
    case VS_UINT:
        at = put_str(out, cap, 0, "CAST(");
        at = put(out, cap, at, text, v->len);
        return put_str(out, cap, at, " AS UNSIGNED)");
    case VS_DOUBLE:
        /* With an exponent a literal is a DOUBLE; without, a DECIMAL. */
        at = put(out, cap, 0, text, v->len);
        if (memchr(text, 'e', v->len) == NULL && memchr(text, 'E', v->len) == NULL)
            at = put_str(out, cap, at, "e0");
        return at;
    case VS_DECIMAL:
        if (memchr(text, '.', v->len) == NULL) { /* 5 alone would be an integer */
            at = put_str(out, cap, 0, "CAST(");
            at = put(out, cap, at, text, v->len);
            return put_str(out, cap, at, " AS DECIMAL(65,0))");
        }
        return put(out, cap, 0, text, v->len);
    case VS_BINARY:
        at = put_str(out, cap, 0, "_binary ");
        return put_hex(out, cap, at, v->data, v->len);
    case VS_STRING:
        if (strcmp(v->collation, "binary") == 0) {
            at = put_str(out, cap, 0, "_binary ");
            return put_hex(out, cap, at, v->data, v->len);
        }
        /* Hex, not quoted text: no escaping that depends on sql_mode, any
         * bytes; the introducer and COLLATE give back the collation. */
        at = put_str(out, cap, 0, "_");
        at = put(out, cap, at, v->collation, collation_charset(v->collation));
        at = put_str(out, cap, at, " ");
        at = put_hex(out, cap, at, v->data, v->len);
        at = put_str(out, cap, at, " COLLATE ");
        return put_str(out, cap, at, v->collation);
    }
    return 0;
}

/* ---- variables ---------------------------------------------------------- */

/* Index of `key` in the map, or where it would go (*found false). */
static uint32_t map_find(const struct vs_map *m, const char *key, bool *found)
{
    uint32_t lo = 0, hi = m->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->v[mid].name, key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

static bool value_same(const struct vs_var *a, const struct vs_var *b)
{
    return a->type == b->type && a->null == b->null && a->len == b->len &&
           (a->len == 0 || memcmp(a->data, b->data, a->len) == 0) &&
           (a->type != VS_STRING || strcmp(a->collation, b->collation) == 0);
}

static struct varstate_value var_value(const struct vs_var *x)
{
    return (struct varstate_value){
        .type = (enum varstate_type)x->type,
        .data = x->data,
        .len = x->len,
        .collation = x->collation,
        .null = x->null,
    };
}

hy_status_t varstate_set(struct varstate *vs, enum varstate_scope scope, const char *name,
                         size_t name_len, const struct varstate_value *v)
{
    if ((scope != VS_SYSTEM && scope != VS_USER) || !varstate_name_valid(scope, name, name_len) ||
        !value_valid(v) || (v->type == VS_DEFAULT && scope != VS_SYSTEM))
        return HY_ERROR;
    bool has_data = !v->null && v->type != VS_NULL && v->type != VS_DEFAULT;
    size_t len = has_data ? v->len : 0;
    char key[VARSTATE_NAME_MAX + 1];
    name_key(name, name_len, key);
    struct vs_map *m = &vs->map[scope];
    bool found;
    uint32_t at = map_find(m, key, &found);
    size_t old = found ? var_cost(m->v[at].len) : 0;
    if (vs->bytes - old + var_cost(len) > vs->max)
        return HY_ERROR;
    uint8_t *data = NULL;
    if (len > 0) {
        if ((data = malloc(len)) == NULL)
            return HY_NOMEM;
        memcpy(data, v->data, len);
    }
    if (!found && m->n == m->cap) {
        /* From one: most sessions set one or two variables (a connector's
         * autocommit), and a record is 150 bytes. */
        if (!HY_GROW(m->v, m->cap, 1)) {
            free(data);
            return HY_NOMEM;
        }
    }
    struct vs_var *x;
    if (found) {
        x = &m->v[at];
        free(x->data);
    } else {
        memmove(&m->v[at + 1], &m->v[at], (m->n - at) * sizeof(*m->v));
        m->n++;
        x = &m->v[at];
        memcpy(x->name, key, name_len + 1);
        x->name_len = (uint8_t)name_len;
    }
    x->type = (uint8_t)v->type;
    x->null = v->null;
    x->data = data;
    x->len = len;
    x->collation[0] = '\0';
    if (v->type == VS_STRING)
        snprintf(x->collation, sizeof(x->collation), "%s", v->collation);
    vs->bytes = vs->bytes - old + var_cost(len);
    return HY_OK;
}

bool varstate_unset(struct varstate *vs, enum varstate_scope scope, const char *name,
                    size_t name_len)
{
    if ((scope != VS_SYSTEM && scope != VS_USER) || name_len == 0 || name_len > VARSTATE_NAME_MAX)
        return false;
    char key[VARSTATE_NAME_MAX + 1];
    name_key(name, name_len, key);
    struct vs_map *m = &vs->map[scope];
    bool found;
    uint32_t at = map_find(m, key, &found);
    if (!found)
        return false;
    vs->bytes -= var_cost(m->v[at].len);
    free(m->v[at].data);
    memmove(&m->v[at], &m->v[at + 1], (m->n - at - 1) * sizeof(*m->v));
    m->n--;
    return true;
}

bool varstate_get(const struct varstate *vs, enum varstate_scope scope, const char *name,
                  size_t name_len, struct varstate_value *out)
{
    if ((scope != VS_SYSTEM && scope != VS_USER) || name_len == 0 || name_len > VARSTATE_NAME_MAX)
        return false;
    char key[VARSTATE_NAME_MAX + 1];
    name_key(name, name_len, key);
    bool found;
    uint32_t at = map_find(&vs->map[scope], key, &found);
    if (found)
        *out = var_value(&vs->map[scope].v[at]);
    return found;
}

/* ---- schema, option, statements ----------------------------------------- */

hy_status_t varstate_set_schema(struct varstate *vs, const char *db, size_t len)
{
    size_t old = vs->schema != NULL ? strlen(vs->schema) + 1 : 0;
    if (len == 0 || memchr(db, '\0', len) != NULL || vs->bytes - old + len + 1 > vs->max)
        return HY_ERROR;
    char *s = malloc(len + 1);
    if (s == NULL)
        return HY_NOMEM;
    memcpy(s, db, len);
    s[len] = '\0';
    free(vs->schema);
    vs->schema = s;
    vs->bytes = vs->bytes - old + len + 1;
    return HY_OK;
}

void varstate_clear_schema(struct varstate *vs)
{
    if (vs->schema == NULL)
        return;
    vs->bytes -= strlen(vs->schema) + 1;
    free(vs->schema);
    vs->schema = NULL;
}

const char *varstate_schema(const struct varstate *vs)
{
    return vs->schema;
}

void varstate_set_option(struct varstate *vs, int option)
{
    vs->option = option;
}

int varstate_option(const struct varstate *vs)
{
    return vs->option;
}

bool varstate_stmt_get(const struct varstate *vs, uint32_t i, const char **sql, size_t *len)
{
    if (i >= vs->n_stmts)
        return false;
    *sql = vs->stmts[i].sql;
    *len = vs->stmts[i].len;
    return true;
}

bool varstate_stmt_drop(struct varstate *vs, uint32_t i)
{
    if (i >= vs->n_stmts)
        return false;
    vs->bytes -= stmt_cost(vs->stmts[i].len);
    free(vs->stmts[i].sql);
    memmove(&vs->stmts[i], &vs->stmts[i + 1], (vs->n_stmts - i - 1) * sizeof(vs->stmts[0]));
    vs->n_stmts--;
    return true;
}

hy_status_t varstate_add_stmt(struct varstate *vs, const char *sql, size_t len)
{
    if (len == 0)
        return HY_ERROR;
    if (vs->n_stmts > 0) {
        const struct vs_stmt *last = &vs->stmts[vs->n_stmts - 1];
        if (last->len == len && memcmp(last->sql, sql, len) == 0)
            return HY_OK;
    }
    if (vs->bytes + stmt_cost(len) > vs->max)
        return HY_ERROR;
    if (vs->n_stmts == vs->cap_stmts && !HY_GROW(vs->stmts, vs->cap_stmts, 4))
        return HY_NOMEM;
    char *copy = malloc(len);
    if (copy == NULL)
        return HY_NOMEM;
    memcpy(copy, sql, len);
    vs->stmts[vs->n_stmts++] = (struct vs_stmt){copy, len};
    vs->bytes += stmt_cost(len);
    return HY_OK;
}

/* ---- whole states -------------------------------------------------------- */

hy_status_t varstate_copy(struct varstate *dst, const struct varstate *src)
{
    if (dst == src)
        return HY_OK;
    varstate_clear(dst);
    if (src->bytes > dst->max)
        return HY_ERROR;
    hy_status_t rc = HY_OK;
    for (int sc = 0; sc < 2 && rc == HY_OK; sc++) {
        const struct vs_map *m = &src->map[sc];
        for (uint32_t i = 0; i < m->n && rc == HY_OK; i++) {
            struct varstate_value v = var_value(&m->v[i]);
            rc = varstate_set(dst, (enum varstate_scope)sc, m->v[i].name, m->v[i].name_len, &v);
        }
    }
    if (rc == HY_OK && src->schema != NULL)
        rc = varstate_set_schema(dst, src->schema, strlen(src->schema));
    for (uint32_t i = 0; i < src->n_stmts && rc == HY_OK; i++)
        rc = varstate_add_stmt(dst, src->stmts[i].sql, src->stmts[i].len);
    dst->option = src->option;
    if (rc != HY_OK)
        varstate_clear(dst);
    return rc;
}

static bool map_equal(const struct vs_map *a, const struct vs_map *b)
{
    if (a->n != b->n)
        return false;
    for (uint32_t i = 0; i < a->n; i++) {
        if (strcmp(a->v[i].name, b->v[i].name) != 0 || !value_same(&a->v[i], &b->v[i]))
            return false;
    }
    return true;
}

bool varstate_scope_equal(const struct varstate *a, const struct varstate *b,
                          enum varstate_scope scope)
{
    return map_equal(&a->map[scope], &b->map[scope]);
}

bool varstate_equal(const struct varstate *a, const struct varstate *b)
{
    if (a->option != b->option || a->n_stmts != b->n_stmts)
        return false;
    if ((a->schema == NULL) != (b->schema == NULL) ||
        (a->schema != NULL && strcmp(a->schema, b->schema) != 0))
        return false;
    for (uint32_t i = 0; i < a->n_stmts; i++) {
        if (a->stmts[i].len != b->stmts[i].len ||
            memcmp(a->stmts[i].sql, b->stmts[i].sql, a->stmts[i].len) != 0)
            return false;
    }
    return map_equal(&a->map[VS_SYSTEM], &b->map[VS_SYSTEM]) &&
           map_equal(&a->map[VS_USER], &b->map[VS_USER]);
}

/* ---- rendering ----------------------------------------------------------- */

void varstate_cmds_free(struct varstate_cmds *c)
{
    for (uint32_t i = 0; i < c->n; i++)
        free(c->v[i].pkt);
    free(c->v);
    *c = (struct varstate_cmds){0};
}

hy_status_t varstate_cmds_push(struct varstate_cmds *c, uint8_t cmd, const void *body, size_t n)
{
    if (n + 1 > UINT32_MAX)
        return HY_ERROR;
    if (c->n == c->cap && !HY_GROW(c->v, c->cap, 4))
        return HY_NOMEM;
    uint8_t *pkt = malloc(n + 1);
    if (pkt == NULL)
        return HY_NOMEM;
    pkt[0] = cmd;
    if (n > 0)
        memcpy(pkt + 1, body, n);
    c->v[c->n++] = (struct varstate_cmd){pkt, (uint32_t)(n + 1)};
    return HY_OK;
}

/* A SET being built: assignments packed up to max_cmd bytes. */
struct set_buf {
    struct textbuf sql; /* its limit: max_cmd */
    uint32_t n;         /* assignments in it */
};

static hy_status_t set_flush(struct set_buf *sb, struct varstate_cmds *out)
{
    if (sb->n == 0)
        return HY_OK;
    hy_status_t rc = varstate_cmds_push(out, COM_QUERY, sb->sql.data, sb->sql.len);
    textbuf_reset(&sb->sql);
    sb->n = 0;
    return rc;
}

/* Add `@@session.name = literal` or `@`name` = literal`. */
static hy_status_t set_add(struct set_buf *sb, struct varstate_cmds *out, enum varstate_scope sc,
                           const char *name, const struct varstate_value *v)
{
    size_t lit = varstate_literal(v, NULL, 0);
    if (lit == 0)
        return HY_ERROR;
    /* ("SET " or ", ") + ("@@session." name or "@`" name "`") + " = " + literal */
    size_t ref = sc == VS_SYSTEM ? 10 + strlen(name) : 3 + strlen(name);
    size_t max = sb->sql.limit;
    if (4 + ref + 3 + lit > max)
        return HY_ERROR;
    if (sb->n > 0 && sb->sql.len + 2 + ref + 3 + lit > max) {
        hy_status_t rc = set_flush(sb, out);
        if (rc != HY_OK)
            return rc;
    }
    textbuf_puts(&sb->sql, sb->n ? ", " : "SET ");
    textbuf_puts(&sb->sql, sc == VS_SYSTEM ? "@@session." : "@`");
    textbuf_puts(&sb->sql, name);
    textbuf_puts(&sb->sql, sc == VS_SYSTEM ? " = " : "` = ");
    char *at = textbuf_extend(&sb->sql, lit);
    if (at == NULL)
        return HY_NOMEM; /* within max_cmd (above): out of memory */
    varstate_literal(v, at, lit + 1);
    sb->n++;
    return HY_OK;
}

/* Whether the login sets system variable `name` (from the handshake's
 * collation), rather than leaving it at its global value. */
static bool set_by_login(const char *name)
{
    static const char *const names[] = {"character_set_client", "character_set_connection",
                                        "character_set_results", "collation_connection"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(names); i++) {
        if (strcmp(name, names[i]) == 0)
            return true;
    }
    return false;
}

/* Whether system variable `name` has no DEFAULT (`SET rand_seed1 = DEFAULT`
 * fails with 1230): RAND()'s state, which a connection the login left has
 * at no value one could give back (left as it is: RAND() unseeded promises
 * no sequence), and LAST_INSERT_ID(), which the session brings connections
 * to itself (session_pool_sync_lid). */
static bool no_default(const char *name)
{
    static const char *const names[] = {"identity", "last_insert_id", "rand_seed1", "rand_seed2"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(names); i++) {
        if (strcmp(name, names[i]) == 0)
            return true;
    }
    return false;
}

/* Assignments for one scope: what `want` has that `conn` has not or has
 * otherwise; what only `conn` has goes back to what the login left:
 * NULL, DEFAULT (the global value), or for the character set variables
 * the login's collation id (`login_cs`; the server takes an id for any of
 * them: character_set_client = 8 is latin1). */
static hy_status_t map_apply(const struct vs_map *conn, const struct vs_map *want,
                             enum varstate_scope sc, uint8_t login_cs, struct set_buf *sb,
                             struct varstate_cmds *out)
{
    if (conn->n == 0 && want->n == 0)
        return HY_OK; /* the common case: nothing set on either side */
    uint32_t i = 0, j = 0;
    const struct varstate_value reset = {.type = sc == VS_SYSTEM ? VS_DEFAULT : VS_NULL};
    /* login_cs in decimal (no snprintf: this runs for every connection a
     * session takes from another) */
    char digits[3];
    size_t nd = 0;
    if (login_cs >= 100)
        digits[nd++] = (char)('0' + login_cs / 100);
    if (login_cs >= 10)
        digits[nd++] = (char)('0' + login_cs / 10 % 10);
    digits[nd++] = (char)('0' + login_cs % 10);
    const struct varstate_value login = {
        .type = VS_INT, .data = (const uint8_t *)digits, .len = nd};
    while (i < conn->n || j < want->n) {
        int c = i == conn->n ? 1 : j == want->n ? -1 : strcmp(conn->v[i].name, want->v[j].name);
        hy_status_t rc = HY_OK;
        if (c < 0) {
            bool cs = sc == VS_SYSTEM && login_cs != 0 && set_by_login(conn->v[i].name);
            if (cs)
                rc = set_add(sb, out, sc, conn->v[i].name, &login);
            else if (!(sc == VS_USER && conn->v[i].type == VS_NULL) &&
                     !(sc == VS_SYSTEM && conn->v[i].type == VS_DEFAULT) &&
                     !(sc == VS_SYSTEM && no_default(conn->v[i].name)))
                rc = set_add(sb, out, sc, conn->v[i].name, &reset);
            i++;
        } else if (c > 0) {
            struct varstate_value v = var_value(&want->v[j]);
            rc = set_add(sb, out, sc, want->v[j].name, &v);
            j++;
        } else {
            if (!value_same(&conn->v[i], &want->v[j])) {
                struct varstate_value v = var_value(&want->v[j]);
                rc = set_add(sb, out, sc, want->v[j].name, &v);
            }
            i++;
            j++;
        }
        if (rc != HY_OK)
            return rc;
    }
    return HY_OK;
}

/* Whether `vs` has a variable of either scope set. */
static bool vs_has_vars(const struct varstate *vs)
{
    return vs->map[VS_SYSTEM].n > 0 || vs->map[VS_USER].n > 0;
}

hy_status_t varstate_apply(const struct varstate *conn, const struct varstate *want,
                           uint8_t login_cs, size_t max_cmd, struct varstate_cmds *out)
{
    /* What cannot be undone without a new connection. */
    if ((conn->option >= 0 && want->option != conn->option) ||
        (conn->schema != NULL && want->schema == NULL) || conn->n_stmts > want->n_stmts)
        return HY_ERROR;
    for (uint32_t i = 0; i < conn->n_stmts; i++) {
        if (conn->stmts[i].len != want->stmts[i].len ||
            memcmp(conn->stmts[i].sql, want->stmts[i].sql, conn->stmts[i].len) != 0)
            return HY_ERROR;
    }
    uint32_t n0 = out->n;
    hy_status_t rc = HY_OK;
    if (want->option >= 0 && want->option != conn->option) {
        uint8_t opt[2] = {(uint8_t)want->option, 0};
        rc = varstate_cmds_push(out, COM_SET_OPTION, opt, sizeof(opt));
    }
    if (rc == HY_OK && want->schema != NULL &&
        (conn->schema == NULL || strcmp(conn->schema, want->schema) != 0))
        rc = varstate_cmds_push(out, COM_INIT_DB, want->schema, strlen(want->schema));
    /* no variable on either side (most connections, before every
     * statement): no SET to build */
    if (rc == HY_OK && (vs_has_vars(conn) || vs_has_vars(want))) {
        struct set_buf sb = {.n = 0};
        textbuf_init(&sb.sql, max_cmd);
        rc = map_apply(&conn->map[VS_SYSTEM], &want->map[VS_SYSTEM], VS_SYSTEM, login_cs, &sb, out);
        if (rc == HY_OK)
            rc = map_apply(&conn->map[VS_USER], &want->map[VS_USER], VS_USER, 0, &sb, out);
        if (rc == HY_OK)
            rc = set_flush(&sb, out);
        textbuf_free(&sb.sql);
    }
    for (uint32_t i = conn->n_stmts; i < want->n_stmts && rc == HY_OK; i++) {
        if (want->stmts[i].len + 1 > max_cmd)
            rc = HY_ERROR;
        else
            rc = varstate_cmds_push(out, COM_QUERY, want->stmts[i].sql, want->stmts[i].len);
    }
    if (rc != HY_OK) {
        while (out->n > n0)
            free(out->v[--out->n].pkt);
    }
    return rc;
}
