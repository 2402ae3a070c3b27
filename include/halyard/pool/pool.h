/*
 * pool.h: a worker's idle backend connections, kept for the sessions that
 * come next (pool_mode = "transaction").
 *
 * A session holds a backend connection only while it needs it (pool_hold
 * says when); between statements it gives it back here, and its next
 * statement takes one again: the same connection when nobody took it in
 * between, else another of the same key. The pool never points at a
 * session: it keeps connections by key, answers pool_take() and closes
 * what spoke, aged or idled past the config's bounds.
 *
 * A key is what a connection cannot change without logging in again: the
 * config its backend belongs to (the connection's `be` points into it; the
 * pool holds a reference), the backend, the user, the schema named at
 * login, the character set of the login and the capabilities. Everything a
 * session changes later (variables, schema, ...) is in the connection's
 * varstate, and the session that takes it brings it to its own state.
 *
 * One pool per worker; only its thread touches it.
 */
#ifndef HALYARD_POOL_H
#define HALYARD_POOL_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "halyard/config/config.h"
#include "halyard/pool/server.h"
#include "halyard/core/stats.h"

struct pool_name;

struct pool_key {
    struct config *cfg; /* the config of `be` (the pool takes a reference) */
    uint16_t idx;       /* the backend's index in it */
    const char *user;
    const char *db; /* schema of the login, NULL = none */
    /* user and db interned (pool_name_get), or NULL: the key is then
     * matched by its strings, else by this pointer alone */
    struct pool_name *name;
    uint8_t charset;
    uint32_t caps, ext_caps;
};

struct pool_bucket;

#define POOL_RECENT 8

struct pool {
    struct ev_loop *loop;
    struct buf_pool *bufs; /* the worker's, for the logins of connections it opens */
    struct pool_bucket *buckets;
    struct pool_name *names; /* interned user and login schema pairs */
    ev_timer sweep;          /* once a second: idle and age limits */
    uint64_t serial;         /* the last lend serial given */
    uint32_t n_idle;         /* all buckets */
    /* The idle connections by lend serial (open addressing, linear
     * probing): pool_take() finds the one a session asks back at once,
     * however many are idle. `lent_mask` + 1 slots, a power of two, at
     * least twice n_idle; NULL until the first connection comes back. */
    struct bconn **lent;
    uint32_t lent_mask;
    /* The bucket last found for a key of backend idx (idx % POOL_RECENT),
     * tried before the list; NULL = none (a freed bucket is cleared). */
    struct pool_bucket *recent[POOL_RECENT];
    struct worker_stats *stats; /* its pool_* counters are the worker's */
};

void pool_init(struct pool *p, struct ev_loop *loop, struct buf_pool *bufs,
               struct worker_stats *stats);
/* Close every idle connection and free the buckets. */
void pool_destroy(struct pool *p);

/*
 * Keep `bc` (logged in, nothing in flight, nothing unread) for sessions of
 * key `k`. The pool becomes its owner. Returns the serial the connection
 * is lent under (bc->lend): a later pool_take() that names it gets this
 * connection back when it is still idle. `now`: ev_now(). The limits come
 * from k->cfg: a connection older than pool_max_age_ms is closed at once.
 * `cr`: how that key logs in (copied the first time), with which the pool
 * opens connections itself to keep pool_min_idle idle ones; NULL when
 * k->cfg's pool_min_idle is 0 (that key's bucket never opens one).
 */
uint64_t pool_put(struct pool *p, struct bconn *bc, const struct pool_key *k,
                  const struct mysql_client_creds *cr, double now);

/* The pool's one copy of `user` (NULL counts as "") and `db` (NULL =
 * none), with a reference the caller gives back with pool_name_put(); NULL
 * when out of memory. A session asks it once, and its keys then name it
 * (pool_key.name): a bucket is found by a pointer compare, with no string
 * compared per statement. */
struct pool_name *pool_name_get(struct pool *p, const char *user, const char *db);
void pool_name_put(struct pool *p, struct pool_name *n);

/* An idle connection of key `k`: the one lent under `prefer` if it is
 * there, else the one returned last; NULL when none. The caller becomes its
 * owner (server.h's on_event and owner are its to set). Idle connections
 * that logged in before the last users_privileges_changed() are closed on
 * the way, never given. */
struct bconn *pool_take(struct pool *p, const struct pool_key *k, uint64_t prefer);

/* The idle connection lent under `serial`, still in the pool; NULL when it
 * was taken or closed since. */
struct bconn *pool_lent(const struct pool *p, uint64_t serial);

/* The idle connection lent under `serial`, taken out of the pool whatever
 * its key (a reload's old config: pool_drop_others would close it), as
 * pool_take() gives one; NULL when it was taken or closed since, or is
 * closed now (as pool_take() closes one). */
struct bconn *pool_take_lent(struct pool *p, uint64_t serial);

/* Whether pool_put() would close `bc` at `now` for its age under `cfg`. */
bool pool_too_old(const struct bconn *bc, const struct config *cfg, double now);

/* A reload: close the idle connections made under any config but `cfg`
 * (sessions move to it at their next statement and cannot use them). */
void pool_drop_others(struct pool *p, const struct config *cfg);

/* Connections idle now for backend `name`, and being opened by the pool
 * for pool_min_idle (*opening, may be NULL). */
uint32_t pool_idle_count(const struct pool *p, const char *backend, uint32_t *opening);

/* Idle connections per backend and user (show pools): calls fn once per
 * key with a count. */
void pool_each(const struct pool *p,
               void (*fn)(void *arg, const char *backend, const char *user, uint32_t idle),
               void *arg);

/*
 * Why a session must keep a backend connection between statements, as a
 * pure decision (pool_hold); NULL = it may go back to the pool.
 */
struct pool_hold_in {
    bool session_mode; /* pool_mode = "session" */
    bool is_primary;   /* the connection is to the session's primary */
    bool pinned;       /* state only the primary connection has (temporary table, ...) */
    bool uvars_opaque; /* a CALL or EXECUTE may have set user variables there */
    bool in_trans;     /* its last answer said a transaction is open */
    bool ro_trans;     /* the session's READ ONLY transaction runs there */
    bool xa;           /* an XA transaction was started there and not ended */
    bool ps_bound;     /* a prepared statement's cursor, long data or text is there only */
    bool found_rows;   /* SQL_CALC_FOUND_ROWS or a LIMIT offset ran there: FOUND_ROWS() may
                        * follow (or a bulk execution: ROW_COUNT()) */
    bool diag;         /* the session's warnings or error are there */
};
const char *pool_hold(const struct pool_hold_in *in);

#endif /* HALYARD_POOL_H */
