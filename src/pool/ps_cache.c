/*
 * ps_cache.c: see ps_cache.h.
 *
 * An array searched linearly by hash: a connection keeps tens of
 * statements (pool_stmt_cache), and a lookup happens only when a statement
 * is missing on the connection it lands on.
 */
#include <stdlib.h>
#include <string.h>

#include "halyard/core/grow.h"
#include "halyard/pool/ps_cache.h"
#include "halyard/core/hash.h"

/* FNV-1a over the text, a separator, the schema, a separator, then the
 * sql_mode and character set. */
static uint64_t key_hash(const char *sql, uint32_t len, const char *db, const char *env)
{
    uint64_t h = hy_hash64_byte(hy_hash64(sql, len), 0xff);
    h = hy_hash64_byte(hy_hash64_str(h, db != NULL ? db : "", false), 0xff);
    return hy_hash64_str(h, env != NULL ? env : "", false);
}

/* The entry for `sql` in `db` under `env` (its hash `h`), or NULL. */
static struct ps_cache_entry *entry_find(struct ps_cache *c, uint64_t h, const char *sql,
                                         uint32_t len, const char *db, const char *env)
{
    for (uint32_t i = 0; i < c->n; i++) {
        struct ps_cache_entry *e = &c->v[i];
        if (e->hash == h && e->sql_len == len && memcmp(e->sql, sql, len) == 0 &&
            hy_str_same(e->db, db) && hy_str_same(e->env, env))
            return e;
    }
    return NULL;
}

uint32_t ps_cache_find(struct ps_cache *c, const char *sql, uint32_t len, const char *db,
                       const char *env)
{
    struct ps_cache_entry *e = entry_find(c, key_hash(sql, len, db, env), sql, len, db, env);
    if (e == NULL)
        return 0;
    e->used = ++c->tick;
    return e->id;
}

bool ps_cache_has(const struct ps_cache *c, uint32_t id)
{
    for (uint32_t i = 0; i < c->n; i++) {
        if (c->v[i].id == id)
            return true;
    }
    return false;
}

static void entry_drop(struct ps_cache *c, uint32_t i)
{
    free(c->v[i].sql);
    free(c->v[i].db);
    free(c->v[i].env);
    c->v[i] = c->v[--c->n];
}

void ps_cache_mark(struct ps_cache *c)
{
    c->mark++;
}

hy_status_t ps_cache_keep(struct ps_cache *c, const char *sql, uint32_t len, const char *db,
                          const char *env, uint32_t id, uint32_t *use)
{
    *use = id;
    for (uint32_t i = 0; i < c->n; i++) {
        if (c->v[i].id == id) {
            c->v[i].mark = c->mark;
            return HY_OK;
        }
    }
    uint64_t h = key_hash(sql, len, db, env);
    struct ps_cache_entry *have = entry_find(c, h, sql, len, db, env);
    if (have != NULL) {
        have->mark = c->mark;
        *use = have->id;
        return HY_OK;
    }
    if (c->n == c->cap && !HY_GROW(c->v, c->cap, 8))
        return HY_NOMEM;
    struct ps_cache_entry e = {.sql_len = len, .id = id, .hash = h};
    if ((e.sql = malloc(len > 0 ? len : 1)) == NULL ||
        (db != NULL && (e.db = strdup(db)) == NULL) ||
        (env != NULL && (e.env = strdup(env)) == NULL)) {
        free(e.sql);
        free(e.db);
        return HY_NOMEM;
    }
    memcpy(e.sql, sql, len);
    e.used = ++c->tick;
    e.mark = c->mark;
    c->v[c->n++] = e;
    return HY_OK;
}

uint32_t ps_cache_trim(struct ps_cache *c, uint32_t max, uint32_t *out, uint32_t cap)
{
    uint32_t n = 0;
    while (c->n > max && n < cap) {
        uint32_t victim = c->n;
        for (uint32_t i = 0; i < c->n; i++) {
            if (c->v[i].mark != c->mark && (victim == c->n || c->v[i].used < c->v[victim].used))
                victim = i;
        }
        if (victim == c->n)
            break; /* all the session's own */
        out[n++] = c->v[victim].id;
        entry_drop(c, victim);
    }
    return n;
}

void ps_cache_forget(struct ps_cache *c, uint32_t id)
{
    for (uint32_t i = 0; i < c->n; i++) {
        if (c->v[i].id == id) {
            entry_drop(c, i);
            return;
        }
    }
}

void ps_cache_clear(struct ps_cache *c)
{
    for (uint32_t i = 0; i < c->n; i++) {
        free(c->v[i].sql);
        free(c->v[i].db);
        free(c->v[i].env);
    }
    free(c->v);
    *c = (struct ps_cache){0};
}
