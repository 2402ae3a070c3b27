/*
 * cache_inval.c: see cache_inval.h.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "halyard/cache/cache_inval.h"
#include "halyard/cache/cache_keyval.h"
#include "halyard/cache/cache_tables.h"
#include "halyard/sql/cache_sql.h"

void cache_inval_start(struct cache_inval *ci, const struct gtid_pos *from)
{
    uint64_t seq = ci->seq, gaps = ci->gaps, unknown = ci->unknown, ddl = ci->ddl, priv = ci->priv;
    memset(ci, 0, sizeof(*ci));
    ci->seq = seq;
    ci->priv = priv;
    ci->ddl = ddl;
    ci->gaps = gaps;
    ci->unknown = unknown;
    if (from != NULL) {
        ci->pos = *from;
        ci->pos_known = true;
    }
}

static const struct cache_inval_map *map_find(const struct cache_inval *ci, uint64_t id)
{
    for (unsigned i = 0; i < ci->nmaps; i++)
        if (ci->maps[i].t.id == id)
            return &ci->maps[i];
    return NULL;
}

static struct cache_inval_map *map_slot(struct cache_inval *ci, uint64_t id)
{
    for (unsigned i = 0; i < ci->nmaps; i++)
        if (ci->maps[i].t.id == id)
            return &ci->maps[i]; /* an id reused for another table */
    if (ci->nmaps < CACHE_INVAL_MAPS)
        return &ci->maps[ci->nmaps++];
    struct cache_inval_map *m = &ci->maps[ci->next_map];
    ci->next_map = (ci->next_map + 1) % CACHE_INVAL_MAPS;
    return m;
}

static size_t drop_all(struct cache_inval *ci, struct cache_store *st, enum cache_drop why,
                       double now)
{
    return cache_store_invalidate_all(st, why, ++ci->seq, now);
}

/* "schema.table" split; false when it is not of that form. */
static bool split(const char *name, char *schema, char *table)
{
    const char *dot = strchr(name, '.');
    if (dot == NULL || dot == name || (size_t)(dot - name) > 64 || strlen(dot + 1) > 64)
        return false;
    memcpy(schema, name, (size_t)(dot - name));
    schema[dot - name] = '\0';
    memcpy(table, dot + 1, strlen(dot + 1) + 1);
    return true;
}

/* The tables the cascading foreign keys of schema.table reach, all their
 * entries dropped ("fk"). */
static size_t drop_children(struct cache_inval *ci, struct cache_store *st,
                            const struct cache_tables *schema, const struct binlog_table *t,
                            double now)
{
    const char *seen[CACHE_INVAL_FK];
    unsigned nseen = 0, next = 0;
    const char *kids[CACHE_FK_CHILDREN];
    char s[65], tb[65];
    size_t n = 0;
    int k = cache_tables_children(schema, t->schema, t->table, kids);
    for (;;) {
        if (k < 0)
            return n + drop_all(ci, st, CACHE_DROP_FK, now);
        for (int i = 0; i < k; i++) {
            bool dup = false;
            for (unsigned j = 0; j < nseen && !dup; j++)
                dup = seen[j] == kids[i];
            if (dup)
                continue;
            if (nseen == CACHE_INVAL_FK || !split(kids[i], s, tb))
                return n + drop_all(ci, st, CACHE_DROP_FK, now);
            seen[nseen++] = kids[i];
            n += cache_store_invalidate_table(st, s, tb, CACHE_DROP_FK, ++ci->seq, now);
        }
        if (next == nseen)
            return n;
        if (!split(seen[next++], s, tb))
            return n + drop_all(ci, st, CACHE_DROP_FK, now);
        k = cache_tables_children(schema, s, tb, kids);
    }
}

/* ---- per row ---------------------------------------------------------------- */

struct row_ctx {
    struct cache_inval *ci;
    struct cache_store *st;
    char name[CACHE_NAME_MAX]; /* "schema.table" */
    const unsigned *pos;
    const enum cache_key_kind *kind;
    const struct binlog_cols *cols;
    uint64_t seq;
    double now;
    size_t dropped;
    bool whole; /* a value not written for sure: the table goes whole */
};

static void key_drop(struct row_ctx *c, unsigned pos, const char *text, size_t len)
{
    uint64_t h = cache_key_hash(c->name, pos, text, len);
    c->dropped += cache_store_invalidate_key(c->st, h, c->seq, c->now);
    struct cache_inval *ci = c->ci;
    for (unsigned i = 0; i < ci->nkeys; i++)
        if (ci->trx_keys[i] == h)
            return;
    if (ci->nkeys < CACHE_INVAL_KEYS)
        ci->trx_keys[ci->nkeys++] = h;
    else
        ci->keys_overflow = true;
}

/* A key's value, as cache_keyval.h writes it. An integer: as signed and,
 * when its top bit is set, as unsigned too (the TABLE_MAP does not say
 * which the column is). */
static void row_value(void *arg, unsigned want, uint8_t type, const uint8_t *v, size_t len)
{
    struct row_ctx *c = arg;
    unsigned pos = c->pos[want];
    char text[CACHE_KEYVAL_MAX];
    if (v == NULL)
        return; /* NULL equals no constant */
    if (c->kind[want] != CACHE_KEY_INT) {
        if (cache_keyval_from_image(c->kind[want], type, c->cols->meta[pos], v, len, text))
            key_drop(c, pos, text, strlen(text));
        else
            c->whole = true;
        return;
    }
    if (len == 0 || len > 8) {
        c->whole = true;
        return;
    }
    uint64_t u = 0;
    for (size_t i = 0; i < len; i++)
        u |= (uint64_t)v[i] << (8 * i);
    bool neg = (v[len - 1] & 0x80) != 0;
    int n;
    if (neg) {
        int64_t sv = len == 8 ? (int64_t)u : (int64_t)(u | (~UINT64_C(0) << (8 * len)));
        n = snprintf(text, sizeof(text), "n%" PRId64, sv);
        key_drop(c, pos, text, (size_t)n);
    }
    n = snprintf(text, sizeof(text), "n%" PRIu64, u);
    key_drop(c, pos, text, (size_t)n);
}

/* The event read per row (true), or not (false: nothing was dropped but
 * perhaps some keys, harmlessly). */
static bool per_row(struct cache_inval *ci, struct cache_store *st,
                    const struct cache_tables *schema, const struct cache_inval_map *m,
                    const uint8_t *ev, size_t body_end, double now, size_t *dropped)
{
    unsigned pos[CACHE_KEY_COLS];
    enum cache_key_kind kind[CACHE_KEY_COLS];
    unsigned k = cache_tables_keys_kind(schema, m->t.schema, m->t.table, pos, kind, CACHE_KEY_COLS);
    if (k == 0 || !m->cols_ok)
        return false;
    for (unsigned i = 0; i < k; i++)
        if (pos[i] >= m->cols.n ||
            !cache_keyval_type_ok(kind[i], m->cols.type[pos[i]], m->cols.meta[pos[i]]))
            return false; /* the layout is not the one read */
    struct row_ctx c = {.ci = ci,
                        .st = st,
                        .pos = pos,
                        .kind = kind,
                        .cols = &m->cols,
                        .seq = ++ci->seq,
                        .now = now};
    snprintf(c.name, sizeof(c.name), "%s.%s", m->t.schema, m->t.table);
    if (binlog_rows_scan(ev, body_end, &m->cols, pos, k, CACHE_INVAL_ROWS, row_value, &c) !=
            HY_OK ||
        c.whole) {
        *dropped += c.dropped;
        return false;
    }
    *dropped += c.dropped + cache_store_invalidate_rows(st, m->t.schema, m->t.table, c.seq, now);
    return true;
}

/* A ROWS event: its table (per row when it can) now, and again at its
 * transaction's end; the tables its foreign keys cascade to likewise. */
static size_t rows(struct cache_inval *ci, struct cache_store *st,
                   const struct cache_tables *schema, const uint8_t *ev, size_t body_end,
                   double now)
{
    uint64_t id;
    const struct cache_inval_map *m = NULL;
    if (binlog_rows_table_id(ev, body_end, &id) != HY_OK || (m = map_find(ci, id)) == NULL ||
        schema == NULL) {
        if (m == NULL)
            ci->unknown++;
        ci->trx_overflow = true;
        return drop_all(ci, st, CACHE_DROP_ALL, now);
    }
    unsigned slot = ci->ntrx;
    for (unsigned i = 0; i < ci->ntrx; i++)
        if (ci->trx_ids[i] == id)
            slot = i;
    if (slot == ci->ntrx && ci->ntrx < CACHE_INVAL_TABLES) {
        ci->trx_ids[ci->ntrx] = id;
        ci->trx_whole[ci->ntrx++] = false;
    } else if (slot == ci->ntrx) {
        ci->trx_overflow = true;
    }
    size_t n = 0;
    if (!per_row(ci, st, schema, m, ev, body_end, now, &n)) {
        n += cache_store_invalidate_table(st, m->t.schema, m->t.table, CACHE_DROP_TABLE, ++ci->seq,
                                          now);
        if (slot < ci->ntrx)
            ci->trx_whole[slot] = true;
    }
    return n + drop_children(ci, st, schema, &m->t, now);
}

/* The next word of sql[*i..len) (spaces and comments skipped) into w
 * (upper case, at most cap - 1 letters, underscores); its length, 0 at
 * the end or before anything else. */
static size_t next_word(const char *sql, size_t len, size_t *i, char *w, size_t cap)
{
    while (*i < len) {
        if (isspace((unsigned char)sql[*i])) {
            (*i)++;
        } else if (*i + 1 < len && sql[*i] == '/' && sql[*i + 1] == '*') {
            const char *end = memmem(sql + *i + 2, len - *i - 2, "*/", 2);
            *i = end != NULL ? (size_t)(end - sql) + 2 : len;
        } else {
            break;
        }
    }
    size_t n = 0;
    while (*i < len && (isalpha((unsigned char)sql[*i]) || sql[*i] == '_')) {
        if (n + 1 < cap)
            w[n++] = (char)toupper((unsigned char)sql[*i]);
        (*i)++;
    }
    w[n] = '\0';
    return n;
}

bool cache_inval_account(const char *sql, size_t len)
{
    char w1[16], w2[16], w3[16];
    size_t i = 0;
    if (next_word(sql, len, &i, w1, sizeof(w1)) == 0)
        return false;
    /* A GRANT only adds: an answer cached before it is the one the server
     * gives after it (a statement refused before it was never cached). */
    if (strcmp(w1, "REVOKE") == 0 || strcmp(w1, "FLUSH") == 0)
        return true;
    (void)next_word(sql, len, &i, w2, sizeof(w2));
    if (strcmp(w1, "SET") == 0)
        return strcmp(w2, "PASSWORD") == 0 ||
               (strcmp(w2, "DEFAULT") == 0 && next_word(sql, len, &i, w3, sizeof(w3)) > 0 &&
                strcmp(w3, "ROLE") == 0);
    if (strcmp(w1, "CREATE") != 0 && strcmp(w1, "ALTER") != 0 && strcmp(w1, "DROP") != 0 &&
        strcmp(w1, "RENAME") != 0)
        return false;
    if (strcmp(w2, "OR") == 0) { /* CREATE OR REPLACE */
        (void)next_word(sql, len, &i, w2, sizeof(w2));
        (void)next_word(sql, len, &i, w2, sizeof(w2));
    }
    return strcmp(w2, "USER") == 0 || strcmp(w2, "ROLE") == 0;
}

/* A statement event that changes accounts or privileges: counted (a
 * statement it cannot read counts too). */
static void account_seen(struct cache_inval *ci, const uint8_t *ev, size_t body_end)
{
    char db[65];
    const char *sql;
    size_t len;
    if (binlog_query_parse(ev, body_end, db, sizeof(db), &sql, &len) != HY_OK ||
        cache_inval_account(sql, len))
        ci->priv++;
}

/* A statement-format write (cache_sql_written): the one table it
 * changes, its entries all ("table"), and those its foreign keys cascade
 * to, now and again at its transaction's end. False when that table is
 * not known for sure (several tables, a routine, a view, a table with a
 * trigger, whose writes a statement-format binary log does not carry,
 * or triggers the reader cannot see): the caller drops everything. */
static bool statement_table(struct cache_inval *ci, struct cache_store *st,
                            const struct cache_tables *schema, const uint8_t *ev, size_t body_end,
                            double now, size_t *n)
{
    char db[65];
    const char *sql;
    size_t len;
    struct cache_sql w;
    struct binlog_table t = {0};
    if (schema == NULL || binlog_query_parse(ev, body_end, db, sizeof(db), &sql, &len) != HY_OK ||
        cache_sql_written(sql, len, 0, db, &w) != CACHE_SQL_OK ||
        !cache_tables_trigger_free(schema, w.tables[0]) || !split(w.tables[0], t.schema, t.table))
        return false;
    if (ci->nstmt < CACHE_INVAL_TABLES)
        memcpy(ci->trx_stmt[ci->nstmt++], w.tables[0], strlen(w.tables[0]) + 1);
    else
        ci->trx_overflow = true;
    *n += cache_store_invalidate_table(st, t.schema, t.table, CACHE_DROP_TABLE, ++ci->seq, now);
    *n += drop_children(ci, st, schema, &t, now);
    return true;
}

/* The open transaction ended: its tables and keys dropped again. */
static size_t trx_end(struct cache_inval *ci, struct cache_store *st,
                      const struct cache_tables *schema, double now)
{
    size_t n = 0;
    if (ci->trx_overflow || (schema == NULL && ci->ntrx > 0)) {
        n = drop_all(ci, st, CACHE_DROP_ALL, now);
    } else {
        for (unsigned i = 0; i < ci->ntrx; i++) {
            const struct cache_inval_map *m = map_find(ci, ci->trx_ids[i]);
            if (m == NULL) {
                n += drop_all(ci, st, CACHE_DROP_ALL, now);
                break;
            }
            if (ci->trx_whole[i] || ci->keys_overflow)
                n += cache_store_invalidate_table(st, m->t.schema, m->t.table, CACHE_DROP_TABLE,
                                                  ++ci->seq, now);
            else
                n += cache_store_invalidate_rows(st, m->t.schema, m->t.table, ++ci->seq, now);
            n += drop_children(ci, st, schema, &m->t, now);
        }
        for (unsigned i = 0; i < ci->nkeys && !ci->keys_overflow; i++)
            n += cache_store_invalidate_key(st, ci->trx_keys[i], ci->seq, now);
        struct binlog_table t = {0};
        for (unsigned i = 0; i < ci->nstmt; i++) {
            if (!split(ci->trx_stmt[i], t.schema, t.table)) {
                n += drop_all(ci, st, CACHE_DROP_ALL, now);
                break;
            }
            n += cache_store_invalidate_table(st, t.schema, t.table, CACHE_DROP_TABLE, ++ci->seq,
                                              now);
            n += drop_children(ci, st, schema, &t, now);
        }
    }
    ci->ntrx = 0;
    ci->nstmt = 0;
    ci->nkeys = 0;
    ci->trx_overflow = false;
    ci->keys_overflow = false;
    if (ci->grp.gtid.seq != 0 && binlog_pos_apply(&ci->pos, &ci->grp.gtid) == HY_OK)
        ci->pos_known = true;
    return n;
}

/* The open transaction ends at an XA PREPARE: its tables kept by its xid
 * until its XA COMMIT or XA ROLLBACK (none kept when its xid cannot be
 * read or no slot is free: that end drops everything). */
static void xa_prepared(struct cache_inval *ci, const uint8_t *ev, size_t body_end)
{
    char xid[BINLOG_XID_TEXT_MAX];
    if (binlog_xa_prepared(ev, body_end, xid, sizeof(xid)) != HY_OK || ci->nxa == CACHE_INVAL_XA)
        return;
    struct cache_inval_xa *x = &ci->xa[ci->nxa++];
    memcpy(x->xid, xid, strlen(xid) + 1);
    x->ntables = 0;
    x->all = ci->trx_overflow;
    for (unsigned i = 0; i < ci->ntrx && !x->all; i++) {
        const struct cache_inval_map *m = map_find(ci, ci->trx_ids[i]);
        if (m == NULL || x->ntables == CACHE_INVAL_TABLES) {
            x->all = true;
            break;
        }
        char name[CACHE_NAME_MAX];
        snprintf(name, sizeof(name), "%s.%s", m->t.schema, m->t.table);
        memcpy(x->tables[x->ntables++], name, sizeof(name));
    }
    for (unsigned i = 0; i < ci->nstmt && !x->all; i++) {
        if (x->ntables == CACHE_INVAL_TABLES) {
            x->all = true;
            break;
        }
        memcpy(x->tables[x->ntables++], ci->trx_stmt[i], CACHE_NAME_MAX);
    }
}

/* A query event whose text begins with the word XA: at a transaction's
 * end, one binlog_xa_ended could not read (an xid longer than it takes, a
 * spacing it does not know) ends a transaction it cannot name. */
static bool xa_text(const uint8_t *ev, size_t body_end)
{
    char db[65], w[4];
    const char *sql;
    size_t len, i = 0;
    return binlog_query_parse(ev, body_end, db, sizeof(db), &sql, &len) == HY_OK &&
           next_word(sql, len, &i, w, sizeof(w)) > 0 && strcmp(w, "XA") == 0;
}

/* An XA COMMIT or XA ROLLBACK query: the tables of its prepared
 * transaction dropped (with their foreign keys' children), or everything
 * when they are not known, or its text cannot be read. */
static size_t xa_ended(struct cache_inval *ci, struct cache_store *st,
                       const struct cache_tables *schema, const uint8_t *ev, size_t body_end,
                       double now)
{
    char xid[BINLOG_XID_TEXT_MAX];
    if (binlog_xa_ended(ev, body_end, xid, sizeof(xid)) != HY_OK)
        return xa_text(ev, body_end) ? drop_all(ci, st, CACHE_DROP_ALL, now) : 0;
    unsigned i = 0;
    while (i < ci->nxa && strcasecmp(ci->xa[i].xid, xid) != 0)
        i++;
    if (i == ci->nxa)
        return drop_all(ci, st, CACHE_DROP_ALL, now);
    struct cache_inval_xa *x = &ci->xa[i];
    size_t n = 0;
    struct binlog_table t = {0};
    for (unsigned k = 0; k < x->ntables && !x->all; k++) {
        if (!split(x->tables[k], t.schema, t.table)) {
            x->all = true;
            break;
        }
        n += cache_store_invalidate_table(st, t.schema, t.table, CACHE_DROP_TABLE, ++ci->seq, now);
        n += drop_children(ci, st, schema, &t, now);
    }
    if (x->all)
        n += drop_all(ci, st, CACHE_DROP_ALL, now);
    ci->xa[i] = ci->xa[--ci->nxa];
    return n;
}

/* A GTID event: a gap since the last one drops everything. */
static size_t gtid_seen(struct cache_inval *ci, struct cache_store *st, const uint8_t *ev,
                        size_t body_end, double now)
{
    struct gtid g;
    uint8_t flags;
    if (binlog_gtid_parse(ev, body_end, &g, &flags) != HY_OK)
        return 0;
    if (ci->pos_known && binlog_gtid_order(&ci->pos, &g) == BINLOG_GTID_GAP) {
        ci->gaps++;
        return drop_all(ci, st, CACHE_DROP_ALL, now);
    }
    return 0;
}

static void table_map(struct cache_inval *ci, const uint8_t *ev, size_t body_end)
{
    struct binlog_table t;
    if (binlog_table_map_parse(ev, body_end, &t) != HY_OK) {
        ci->trx_overflow = true; /* a table it cannot name: everything at the end */
        return;
    }
    struct cache_inval_map *m = map_slot(ci, t.id);
    m->t = t;
    m->cols_ok = binlog_table_map_cols(ev, body_end, &m->cols) == HY_OK;
}

size_t cache_inval_feed(struct cache_inval *ci, struct cache_store *st,
                        const struct cache_tables *schema, const uint8_t *ev, size_t body_end,
                        double now)
{
    size_t n = 0;
    if (body_end >= BINLOG_HEADER_LEN && ev[4] == BINLOG_GTID)
        n += gtid_seen(ci, st, ev, body_end, now);
    enum binlog_group_step step = binlog_group_feed(&ci->grp, ev, body_end);
    switch (binlog_change_of(ev, body_end)) {
    case BINLOG_CHANGES_NOTHING:
        break;
    case BINLOG_CHANGES_TABLE_MAP:
        table_map(ci, ev, body_end);
        break;
    case BINLOG_CHANGES_ROWS:
        n += rows(ci, st, schema, ev, body_end, now);
        break;
    case BINLOG_CHANGES_STATEMENT:
        account_seen(ci, ev, body_end);
        if (statement_table(ci, st, schema, ev, body_end, now, &n))
            break;
        ci->ddl++;
        n += drop_all(ci, st, CACHE_DROP_DDL, now);
        if (ci->grp.open || step == BINLOG_END)
            ci->trx_overflow = true; /* and again once it is committed */
        break;
    case BINLOG_CHANGES_UNKNOWN:
        ci->unknown++;
        ci->priv++; /* it may have changed an account too */
        ci->ddl++;
        n += drop_all(ci, st, CACHE_DROP_ALL, now);
        ci->trx_overflow = true;
        break;
    }
    if (step == BINLOG_END && ev[4] == BINLOG_XA_PREPARE)
        xa_prepared(ci, ev, body_end);
    else if (step == BINLOG_END && ev[4] == BINLOG_QUERY)
        n += xa_ended(ci, st, schema, ev, body_end, now);
    if (step == BINLOG_END)
        n += trx_end(ci, st, schema, now);
    return n;
}
