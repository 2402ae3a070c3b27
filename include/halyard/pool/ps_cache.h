/*
 * ps_cache.h: the statements a pooled backend connection has prepared, as
 * data (pool_mode = "transaction").
 *
 * A pooled connection outlives the sessions that use it. What it has
 * prepared stays prepared there, by text, schema, sql_mode and character
 * set (the server parsed the text under them), for whichever session
 * takes it next: a session whose statement is not prepared on the
 * connection it lands on takes the cached id instead of preparing again
 * (one round trip saved per execution on a connection new to it). A
 * client's COM_STMT_CLOSE leaves the statement in the cache. Past
 * pool_stmt_cache entries, those of earlier sessions go, least recently
 * used first, when the connection is given back; the giving session's own
 * stay. The server keeps at most max_prepared_stmt_count statements in
 * all: connections times pool_stmt_cache must stay under it.
 *
 * No I/O: the session sends COM_STMT_CLOSE for what ps_cache_trim drops.
 * tests/unit/test_ps_cache.c tests it.
 */
#ifndef HALYARD_PS_CACHE_H
#define HALYARD_PS_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "halyard/core/core.h"

struct ps_cache_entry {
    char *sql; /* the text it was prepared from */
    uint32_t sql_len;
    char *db;      /* the schema it was prepared in, NULL = none */
    char *env;     /* the sql_mode and character set it was prepared under
                    * (struct pstmt.env_key), NULL = the login's */
    uint32_t id;   /* the backend's statement id */
    uint64_t hash; /* of the text, schema and env */
    uint64_t used; /* ps_cache.tick when last found or added */
    uint64_t mark; /* ps_cache.mark when last kept */
};

/* Zeroed = empty. */
struct ps_cache {
    struct ps_cache_entry *v;
    uint32_t n, cap;
    uint64_t tick;
    uint64_t mark;
};

/* The id of a statement prepared from `sql` in schema `db` under `env`,
 * 0 = none. */
uint32_t ps_cache_find(struct ps_cache *c, const char *sql, uint32_t len, const char *db,
                       const char *env);

/* Whether backend statement `id` is cached. */
bool ps_cache_has(const struct ps_cache *c, uint32_t id);

/*
 * A session gives the connection back: each statement it has there is
 * kept, and the rest may go. Call ps_cache_mark() first, ps_cache_keep()
 * for each of the session's statements, then ps_cache_trim().
 *
 * ps_cache_keep: statement `id`, prepared from `sql` in `db` under `env`,
 * is the session's. *use is the id the session goes on with: `id` (now
 * cached), or the one the cache has for the same text, schema and env (the caller then
 * closes `id` on the server). HY_NOMEM leaves the cache as it was.
 *
 * ps_cache_trim: while more than `max` entries are cached, the least
 * recently used one not kept since ps_cache_mark() goes (a session's own
 * are never taken from it: a session with many statements keeps them all).
 * Their ids are written to `out`, for the caller to close, at most `cap`
 * (call again while it returns `cap`); returns how many.
 */
void ps_cache_mark(struct ps_cache *c);
HY_MUSTCHECK hy_status_t ps_cache_keep(struct ps_cache *c, const char *sql, uint32_t len,
                                       const char *db, const char *env, uint32_t id, uint32_t *use);
uint32_t ps_cache_trim(struct ps_cache *c, uint32_t max, uint32_t *out, uint32_t cap);

/* Take statement `id` out (it was closed on the server). */
void ps_cache_forget(struct ps_cache *c, uint32_t id);

/* Forget every entry (the server dropped them: COM_RESET_CONNECTION) and
 * free the memory. */
void ps_cache_clear(struct ps_cache *c);

#endif /* HALYARD_PS_CACHE_H */
