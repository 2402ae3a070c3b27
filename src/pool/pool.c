/*
 * pool.c: see pool.h.
 *
 * Buckets, one per key, on a list (a worker sees few keys: backends times
 * users); each keeps its idle connections newest first, so the busiest
 * connections stay warm and the rest reach pool_idle_timeout_ms. An idle
 * connection's read watcher stays armed: a server that closes it
 * (wait_timeout, KILL, restart) is noticed and the connection is dropped
 * before anyone takes it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "halyard/cluster/backend.h"
#include "halyard/core/log.h"
#include "halyard/config/group.h"
#include "halyard/pool/pool.h"
#include "halyard/cluster/pool_stats.h"
#include "halyard/cluster/users.h"
#include "halyard/sql/varstate.h"

/* A user and login schema, once per pool: buckets and sessions' keys point
 * at it, and a key naming it matches a bucket by pointer. */
struct pool_name {
    struct pool_name *next;
    uint32_t refs;
    char *user, *db;
};

struct pool_bucket {
    /* What a statement's take and put read, in the first 64 bytes: the
     * key key_match() compares, the list and the idle connections. */
    struct pool_bucket *next;
    struct config *cfg;     /* a reference while the bucket lives */
    struct pool_name *name; /* a reference */
    uint16_t idx;
    uint8_t charset;
    uint32_t caps, ext_caps;
    uint32_t n_idle;
    struct bconn *idle; /* newest first, through bc->pool_next */
    struct pool *pool;
    const char *user, *db; /* name's */
    /* pool_min_idle: how the key logs in (a session's creds, copied), and
     * the connections the pool is opening itself */
    bool has_creds, retired;         /* retired: its config was replaced, no more opening */
    struct mysql_client_creds creds; /* pointers into the copies below and user/db */
    uint8_t h1[MYSQL_SHA1_LEN], h2[MYSQL_SHA1_LEN];
    uint32_t old_hash[2];
    uint8_t *attrs;
    struct bconn *opening; /* through bc->pool_next */
    uint32_t n_opening;
    double open_failed_at; /* ev_now() of the last failure, 0 = none: wait a while */
};

static struct pool_name *name_find(const struct pool *p, const char *user, const char *db)
{
    for (struct pool_name *n = p->names; n != NULL; n = n->next) {
        if (strcmp(n->user, user) == 0 && hy_str_same(n->db, db))
            return n;
    }
    return NULL;
}

struct pool_name *pool_name_get(struct pool *p, const char *user, const char *db)
{
    if (user == NULL)
        user = "";
    struct pool_name *n = name_find(p, user, db);
    if (n == NULL) {
        if ((n = calloc(1, sizeof(*n))) == NULL)
            return NULL;
        n->user = strdup(user);
        n->db = db != NULL ? strdup(db) : NULL;
        if (n->user == NULL || (db != NULL && n->db == NULL)) {
            free(n->user);
            free(n->db);
            free(n);
            return NULL;
        }
        n->next = p->names;
        p->names = n;
    }
    n->refs++;
    return n;
}

void pool_name_put(struct pool *p, struct pool_name *n)
{
    if (n == NULL || --n->refs > 0)
        return;
    for (struct pool_name **pp = &p->names; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == n) {
            *pp = n->next;
            break;
        }
    }
    free(n->user);
    free(n->db);
    free(n);
}

static bool key_match(const struct pool_bucket *b, const struct pool_key *k)
{
    if (b->cfg != k->cfg || b->idx != k->idx || b->charset != k->charset || b->caps != k->caps ||
        b->ext_caps != k->ext_caps)
        return false;
    if (k->name != NULL)
        return b->name == k->name; /* one pool_name per pair: the pointer says it */
    return strcmp(b->user, k->user != NULL ? k->user : "") == 0 && hy_str_same(b->db, k->db);
}

/* The bucket a key of backend `idx` found last is tried first (p->recent):
 * the list's other buckets, each a line of its own, are not read. */
static struct pool_bucket *bucket_find(struct pool *p, const struct pool_key *k)
{
    struct pool_bucket **recent = &p->recent[k->idx % POOL_RECENT];
    if (*recent != NULL && key_match(*recent, k))
        return *recent;
    for (struct pool_bucket *b = p->buckets; b != NULL; b = b->next) {
        if (key_match(b, k)) {
            *recent = b;
            return b;
        }
    }
    return NULL;
}

static struct pool_bucket *bucket_get(struct pool *p, const struct pool_key *k)
{
    struct pool_bucket *b = bucket_find(p, k);
    if (b != NULL)
        return b;
    /* on a line of its own: the first 64 bytes are what a statement reads */
    b = aligned_alloc(64, (sizeof(*b) + 63) & ~(size_t)63);
    if (b == NULL)
        return NULL;
    memset(b, 0, sizeof(*b));
    if (k->name != NULL) {
        b->name = k->name;
        b->name->refs++;
    } else if ((b->name = pool_name_get(p, k->user, k->db)) == NULL) {
        free(b);
        return NULL;
    }
    b->user = b->name->user;
    b->db = b->name->db;
    b->pool = p;
    b->cfg = config_get(k->cfg);
    b->idx = k->idx;
    b->charset = k->charset;
    b->caps = k->caps;
    b->ext_caps = k->ext_caps;
    b->next = p->buckets;
    p->buckets = b;
    return b;
}

static void bucket_free(struct pool *p, struct pool_bucket *b)
{
    for (size_t i = 0; i < POOL_RECENT; i++) {
        if (p->recent[i] == b)
            p->recent[i] = NULL;
    }
    for (struct pool_bucket **pp = &p->buckets; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == b) {
            *pp = b->next;
            break;
        }
    }
    config_put(b->cfg);
    explicit_bzero(b->h1, sizeof(b->h1));
    explicit_bzero(b->old_hash, sizeof(b->old_hash));
    free(b->attrs);
    pool_name_put(p, b->name);
    free(b);
}

/* ---- the idle connections by lend serial (pool.h: p->lent) ------------- */

static uint32_t lent_home(const struct pool *p, uint64_t serial)
{
    return (uint32_t)((serial * 0x9E3779B97F4A7C15ull) >> 32) & p->lent_mask;
}

/* The slot of `serial`'s connection, or the empty one it would go in. */
static uint32_t lent_find(const struct pool *p, uint64_t serial)
{
    uint32_t i = lent_home(p, serial);
    while (p->lent[i] != NULL && p->lent[i]->lend != serial)
        i = (i + 1) & p->lent_mask;
    return i;
}

static bool lent_grow(struct pool *p)
{
    uint32_t old_cap = p->lent != NULL ? p->lent_mask + 1 : 0;
    uint32_t cap = old_cap > 0 ? old_cap * 2 : 64;
    struct bconn **old = p->lent, **t = calloc(cap, sizeof(*t));
    if (t == NULL)
        return false;
    p->lent = t;
    p->lent_mask = cap - 1;
    for (uint32_t i = 0; i < old_cap; i++) {
        if (old[i] != NULL)
            p->lent[lent_find(p, old[i]->lend)] = old[i];
    }
    free(old);
    return true;
}

/* Index idle `bc` by bc->lend (before p->n_idle counts it); false when
 * out of memory. */
static bool lent_add(struct pool *p, struct bconn *bc)
{
    uint32_t cap = p->lent != NULL ? p->lent_mask + 1 : 0;
    if (2 * (p->n_idle + 1) > cap && !lent_grow(p) && p->n_idle + 1 >= cap)
        return false; /* out of memory, and no room left */
    p->lent[lent_find(p, bc->lend)] = bc;
    return true;
}

/* Backward-shift deletion: no tombstones, so a miss stops at the first
 * empty slot. */
static void lent_remove(struct pool *p, const struct bconn *bc)
{
    if (p->lent == NULL)
        return;
    uint32_t i = lent_find(p, bc->lend);
    if (p->lent[i] != bc)
        return;
    for (uint32_t j = (i + 1) & p->lent_mask; p->lent[j] != NULL; j = (j + 1) & p->lent_mask) {
        uint32_t k = lent_home(p, p->lent[j]->lend);
        /* the entry at j may fill the hole at i unless its home is in (i, j] */
        if (i < j ? (k <= i || k > j) : (k <= i && k > j)) {
            p->lent[i] = p->lent[j];
            i = j;
        }
    }
    p->lent[i] = NULL;
}

/* Put `bc` (bc->lend set) first on b's idle list; false (nothing done)
 * when out of memory. */
static bool idle_push(struct pool *p, struct pool_bucket *b, struct bconn *bc)
{
    if (!lent_add(p, bc))
        return false;
    bc->bucket = b;
    bc->pool_prev = NULL;
    bc->pool_next = b->idle;
    if (b->idle != NULL)
        b->idle->pool_prev = bc;
    b->idle = bc;
    b->n_idle++;
    p->n_idle++;
    stat_set(&p->stats->pool_idle, p->n_idle);
    return true;
}

/* Take `bc` off its bucket's idle list. */
static void unlink_idle(struct bconn *bc)
{
    struct pool_bucket *b = bc->bucket;
    if (bc->pool_prev != NULL)
        bc->pool_prev->pool_next = bc->pool_next;
    else
        b->idle = bc->pool_next;
    if (bc->pool_next != NULL)
        bc->pool_next->pool_prev = bc->pool_prev;
    lent_remove(b->pool, bc);
    bc->pool_next = bc->pool_prev = NULL;
    bc->bucket = NULL;
    b->n_idle--;
    b->pool->n_idle--;
    stat_set(&b->pool->stats->pool_idle, b->pool->n_idle);
}

static void conn_free(struct bconn *bc)
{
    varstate_destroy(bc->vs);
    bc->vs = NULL;
    ps_cache_clear(&bc->psc);
    server_destroy(bc);
}

/* Close an idle connection (its bucket stays until the sweep). */
/* Count a connection of backend `idx` of `cfg` closed (pool_stats.h). */
static void count_closed(const struct config *cfg, uint16_t idx, const char *user)
{
    POOL_STATS_COUNT(cfg->backends[idx].rt, user, closed);
}

static void idle_close(struct bconn *bc, _Atomic uint64_t *counter, const char *why)
{
    (void)why; /* for the debug line only */
    count_closed(bc->bucket->cfg, bc->bucket->idx, bc->bucket->user);
    unlink_idle(bc);
    stat_inc(counter);
    hy_log_debug("pool: closing an idle connection to %s (thread %u): %s", bc->be->name,
                 bc->login.thread_id, why);
    conn_free(bc);
}

/* An idle connection's events: anything it says means it is closing. */
static void idle_event(struct bconn *bc, const struct server_report *r)
{
    struct pool_bucket *b = bc->owner;
    if (r->event == SERVER_WRITABLE) {
        ev_io_stop(b->pool->loop, &bc->c.wio);
        return;
    }
    idle_close(bc, &b->pool->stats->pool_closed_spoke, "the server spoke or closed it");
}

static bool too_old(const struct bconn *bc, const struct config *cfg, double now)
{
    return cfg->pool_max_age_ms > 0 && now - bc->born >= cfg->pool_max_age_ms / 1e3;
}

/* Whether `bc` logged in before the last change of privileges: the server
 * keeps a connection's global privileges (and roles' defaults) as they
 * were at its login, COM_RESET_CONNECTION included, so it would run a new
 * session's statements with the old ones. `born` is an ev_now() taken
 * before the connect, so a connection opened after the change was
 * recorded logged in after it took effect. */
static bool before_privileges(const struct bconn *bc)
{
    uint64_t us = users_privileges_changed_us();
    return us != 0 && bc->born * 1e6 < (double)us;
}

/* A connection the pool opened for pool_min_idle logged in, or failed. */
static void opening_event(struct bconn *bc, const struct server_report *r)
{
    struct pool_bucket *b = bc->owner;
    struct pool *p = b->pool;
    for (struct bconn **pp = &b->opening; *pp != NULL; pp = &(*pp)->pool_next) {
        if (*pp == bc) {
            *pp = bc->pool_next;
            break;
        }
    }
    bc->pool_next = NULL;
    b->n_opening--;
    if (r->event != SERVER_READY) {
        hy_log_info("pool: cannot open a connection to %s for pool_min_idle: %s",
                    b->cfg->backends[b->idx].name, r->why != NULL ? r->why : "");
        b->open_failed_at = ev_now(p->loop);
        count_closed(b->cfg, b->idx, b->user);
        server_destroy(bc);
        return;
    }
    bc->on_event = idle_event;
    bc->idle_since = ev_now(p->loop);
    bc->lend = ++p->serial; /* nobody's: any session of the key takes it */
    bc->epoch = bc->lend;   /* its login's global variables: older sessions' */
    if (!idle_push(p, b, bc)) {
        count_closed(b->cfg, b->idx, b->user);
        server_destroy(bc);
        return;
    }
    ev_io_start(p->loop, &bc->c.rio);
}

/* Open connections until the bucket has pool_min_idle idle or opening,
 * with the creds of a session of its key; not while its backend is out of
 * traffic, and not for 5 s after a failure. */
static void refill(struct pool *p, struct pool_bucket *b, double now)
{
    const struct config *cfg = b->cfg;
    const struct config_backend *be = &cfg->backends[b->idx];
    if (!b->has_creds || b->retired || cfg->pool_min_idle == 0 ||
        (be->rt != NULL && (!backend_usable(be->rt) || atomic_load(&be->rt->unchecked))) ||
        (b->open_failed_at > 0 && now - b->open_failed_at < 5.0))
        return;
    while (b->n_idle + b->n_opening < (uint32_t)cfg->pool_min_idle) {
        struct bconn *bc = server_create(be, p->loop, p->bufs, opening_event, b);
        if (bc == NULL)
            return;
        bc->idx = b->idx;
        bc->born = now;
        bc->defaults_at = now;
        POOL_STATS_COUNT(be->rt, b->user, opened);
        struct server_report r;
        if (!server_connect(bc, &b->creds, cfg->connect_timeout_ms, &r)) {
            b->open_failed_at = now; /* at max_connections, say: try later */
            count_closed(cfg, b->idx, b->user);
            server_destroy(bc);
            return;
        }
        bc->pool_next = b->opening;
        b->opening = bc;
        b->n_opening++;
    }
}

/* Keep how the bucket's key logs in, for refill(). */
static void bucket_creds(struct pool_bucket *b, const struct mysql_client_creds *cr)
{
    if (b->has_creds || cr == NULL)
        return;
    if (cr->attrs_len > 0) {
        if ((b->attrs = malloc(cr->attrs_len)) == NULL)
            return;
        memcpy(b->attrs, cr->attrs, cr->attrs_len);
    }
    b->creds = *cr;
    b->creds.user = b->user;
    b->creds.db = b->db;
    b->creds.attrs = b->attrs;
    b->creds.password = NULL;
    if (cr->h1 != NULL) {
        memcpy(b->h1, cr->h1, sizeof(b->h1));
        memcpy(b->h2, cr->h2, sizeof(b->h2));
        b->creds.h1 = b->h1;
        b->creds.h2 = b->h2;
    }
    if (cr->old_hash != NULL) {
        memcpy(b->old_hash, cr->old_hash, sizeof(b->old_hash));
        b->creds.old_hash = b->old_hash;
    }
    b->has_creds = true;
}

/* Once a second: connections past the idle or age limits are closed, and
 * buckets left empty are freed (with their config reference: an old
 * config goes once nothing of it is idle). */
static void sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct pool *p = container_of(w, struct pool, sweep);
    double now = ev_now(loop);
    struct pool_bucket *b = p->buckets;
    while (b != NULL) {
        struct pool_bucket *next = b->next;
        const struct config *cfg = b->cfg;
        struct backend_rt *rt = cfg->backends[b->idx].rt;
        /* statements wait for a slot of this backend (session_pool.c) */
        bool wanted =
            rt != NULL && atomic_load_explicit(&rt->pool_waiters, memory_order_relaxed) > 0;
        struct bconn *bc = b->idle;
        while (bc != NULL) {
            struct bconn *bn = bc->pool_next;
            if (wanted)
                idle_close(bc, &p->stats->pool_closed_idle, "statements wait for its slot");
            else if (too_old(bc, cfg, now))
                idle_close(bc, &p->stats->pool_closed_age, "pool_max_age_ms");
            else if (cfg->pool_idle_timeout_ms > 0 &&
                     now - bc->idle_since >= cfg->pool_idle_timeout_ms / 1e3 &&
                     (b->retired || b->n_idle > (uint32_t)cfg->pool_min_idle))
                idle_close(bc, &p->stats->pool_closed_idle, "pool_idle_timeout_ms");
            bc = bn;
        }
        if (!wanted)
            refill(p, b, now);
        if (b->n_idle == 0 && b->n_opening == 0 &&
            (b->retired || !b->has_creds || cfg->pool_min_idle == 0))
            bucket_free(p, b);
        b = next;
    }
}

void pool_drop_others(struct pool *p, const struct config *cfg)
{
    for (struct pool_bucket *b = p->buckets; b != NULL; b = b->next) {
        if (config_root_c(b->cfg) == cfg)
            continue;
        b->retired = true;
        while (b->idle != NULL)
            idle_close(b->idle, &p->stats->pool_closed_age, "a reload replaced its config");
    }
}

void pool_init(struct pool *p, struct ev_loop *loop, struct buf_pool *bufs,
               struct worker_stats *stats)
{
    memset(p, 0, sizeof(*p));
    p->loop = loop;
    p->bufs = bufs;
    p->stats = stats;
    ev_timer_init(&p->sweep, sweep_cb, 1.0, 1.0);
    ev_timer_start(loop, &p->sweep);
    ev_unref(loop); /* the sweep alone does not keep the loop running */
}

void pool_destroy(struct pool *p)
{
    if (p->loop == NULL)
        return;
    ev_ref(p->loop);
    ev_timer_stop(p->loop, &p->sweep);
    while (p->buckets != NULL) {
        struct pool_bucket *b = p->buckets;
        while (b->idle != NULL) {
            struct bconn *bc = b->idle;
            unlink_idle(bc);
            conn_free(bc);
        }
        while (b->opening != NULL) {
            struct bconn *bc = b->opening;
            b->opening = bc->pool_next;
            server_destroy(bc);
        }
        bucket_free(p, b);
    }
    free(p->lent);
    p->lent = NULL;
    p->loop = NULL;
}

struct bconn *pool_lent(const struct pool *p, uint64_t serial)
{
    if (p->lent == NULL || serial == 0)
        return NULL;
    return p->lent[lent_find(p, serial)];
}

bool pool_too_old(const struct bconn *bc, const struct config *cfg, double now)
{
    return too_old(bc, cfg, now);
}

uint64_t pool_put(struct pool *p, struct bconn *bc, const struct pool_key *k,
                  const struct mysql_client_creds *cr, double now)
{
    bc->lend = ++p->serial;
    struct pool_bucket *b = too_old(bc, k->cfg, now) ? NULL : bucket_get(p, k);
    if (b != NULL && k->cfg->pool_min_idle > 0)
        bucket_creds(b, cr);
    bc->idle_since = now;
    if (b == NULL || !idle_push(p, b, bc)) {
        stat_inc(&p->stats->pool_closed_age);
        count_closed(k->cfg, k->idx, k->user != NULL ? k->user : "");
        conn_free(bc);
        return 0;
    }
    bc->on_event = idle_event;
    bc->owner = b;
    stat_inc(&p->stats->pool_returned);
    conn_io_stop(p->loop, &bc->c.wio);
    conn_io_start(p->loop, &bc->c.rio);
    return bc->lend;
}

/* Whether an idle connection's socket has anything to read: the server's
 * close, or what it sends before one (KILL's ERR). An idle connection is
 * owed nothing, so any byte means it is going; a TLS one too (a
 * close_notify, an alert). Its read watcher reports it at the next poll,
 * or has it pending now, if the loop's last poll saw it. The socket itself
 * is asked (a syscall, one per statement under pooling) only of a
 * connection idle since before that poll by POOL_PEEK_AFTER: a server
 * closes one for wait_timeout or a DBA's KILL, not within a second of its
 * last answer, and bytes arriving between the poll and now are as likely
 * to arrive right after any check. */
#define POOL_PEEK_AFTER 1.0 /* seconds idle */

static bool idle_spoke(const struct pool *p, struct bconn *bc)
{
    if (ev_is_pending(&bc->c.rio))
        return true;
    if (ev_now(p->loop) - bc->idle_since < POOL_PEEK_AFTER)
        return false;
    char byte;
    ssize_t n = recv(bc->c.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Whether idle `bc` may be given to a session; closed (false) when the
 * server spoke or it logged in before the last change of privileges. */
static bool idle_usable(struct pool *p, struct bconn *bc)
{
    if (idle_spoke(p, bc)) {
        idle_close(bc, &p->stats->pool_closed_spoke, "the server spoke or closed it");
        return false;
    }
    if (before_privileges(bc)) {
        idle_close(bc, &p->stats->pool_closed_age, "it logged in before privileges changed");
        return false;
    }
    return true;
}

/* Take idle `bc` out of the pool: its new owner sets on_event and owner. */
static void idle_give(struct bconn *bc)
{
    unlink_idle(bc);
    bc->on_event = NULL;
    bc->owner = NULL;
}

struct bconn *pool_take(struct pool *p, const struct pool_key *k, uint64_t prefer)
{
    struct pool_bucket *b = bucket_find(p, k);
    struct bconn *bc = NULL;
    while (bc == NULL) {
        if (b == NULL || b->idle == NULL)
            return NULL;
        bc = b->idle;
        if (prefer != 0) {
            struct bconn *own = p->lent[lent_find(p, prefer)];
            if (own != NULL && own->bucket == b)
                bc = own;
        }
        if (!idle_usable(p, bc))
            bc = NULL;
    }
    if (prefer != 0 && bc->lend == prefer)
        stat_inc(&p->stats->pool_taken_own);
    stat_inc(&p->stats->pool_taken);
    idle_give(bc);
    return bc;
}

struct bconn *pool_take_lent(struct pool *p, uint64_t serial)
{
    struct bconn *bc = pool_lent(p, serial);
    if (bc == NULL || !idle_usable(p, bc))
        return NULL;
    idle_give(bc);
    return bc;
}

uint32_t pool_idle_count(const struct pool *p, const char *backend, uint32_t *opening)
{
    uint32_t n = 0;
    if (opening != NULL)
        *opening = 0;
    for (const struct pool_bucket *b = p->buckets; b != NULL; b = b->next) {
        if (strcmp(b->cfg->backends[b->idx].name, backend) == 0) {
            n += b->n_idle;
            if (opening != NULL)
                *opening += b->n_opening;
        }
    }
    return n;
}

void pool_each(const struct pool *p,
               void (*fn)(void *arg, const char *backend, const char *user, uint32_t idle),
               void *arg)
{
    for (const struct pool_bucket *b = p->buckets; b != NULL; b = b->next) {
        if (b->n_idle > 0)
            fn(arg, b->cfg->backends[b->idx].name, b->user, b->n_idle);
    }
}

const char *pool_hold(const struct pool_hold_in *in)
{
    if (in->session_mode)
        return "pool_mode = session";
    if (in->in_trans)
        return "transaction";
    if (in->xa)
        return "XA transaction";
    if (in->ro_trans)
        return "read-only transaction";
    if (in->is_primary && in->pinned)
        return "pinned (temporary table, LOCK TABLES, user lock or unreplayable state)";
    if (in->is_primary && in->uvars_opaque)
        return "user variables a CALL or EXECUTE may have set";
    if (in->ps_bound)
        return "prepared statement (cursor, long data or text not kept)";
    if (in->found_rows)
        return "SQL_CALC_FOUND_ROWS";
    if (in->diag)
        return "warnings";
    return NULL;
}
