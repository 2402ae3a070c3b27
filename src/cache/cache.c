/*
 * cache.c: the query cache shared by the workers (cache.h).
 *
 * Everything here is under one mutex: the store, the reader's applied
 * state (cache_inval.h) and the primary positions waiting to be applied.
 * The workers hold it for a fill; the reader for each event it applies.
 * A lookup (cache_get, and the checks of a connection before it) takes
 * none: what it reads of this state is atomic (the store it probes, the
 * source followed, the times the gate compares, the connection checks'
 * times), written under the mutex, and the store's probe takes only one
 * stripe's lock (cache_store_get). The store object lives from the first
 * time the cache is on to cache_shared_free (after the workers stopped):
 * turned off, it is emptied and kept, so no hit ever reads a freed one.
 * Counts are atomic.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache_int.h"
#include "halyard/core/clock.h"
#include "halyard/cache/cache.h"
#include "halyard/cache/cache_inval.h"
#include "halyard/cache/cache_keyval.h"
#include "halyard/cache/cache_reload.h"
#include "halyard/cache/cache_tables.h"
#include "halyard/cache/cache_visible.h"
#include "halyard/cluster/users.h"
#include "halyard/config/config.h"
#include "halyard/core/log.h"
#include "halyard/core/text.h"
#include "halyard/sql/cache_sql.h"

#define SAMPLES 64  /* positions of the primary waiting to be applied */
#define WINDOWS 128 /* writes through halyard last noted: fills sent in their flight refused */

#define SOURCES 64 /* names of primaries followed: each kept for the process's life */

struct sample {
    double sent_at;
    struct gtid_pos pos;
};

typedef _Atomic double adouble;
typedef _Atomic uint64_t acount;

static struct {
    pthread_mutex_t mu;
    atomic_bool on;
    struct cache_store *store;          /* while on; NULL off */
    struct cache_store *kept;           /* the one store object, from its creation */
    _Atomic(struct cache_store *) live; /* store, for the lookups */
    char names[SOURCES][64];            /* each written once, before `nnames` counts it */
    atomic_uint nnames;
    atomic_int src; /* the index in names of `source` while streaming, -1 otherwise */
    struct cache_inval ci;
    struct cache_visible vis; /* the invalidations the primary may not have made visible yet */
    bool streaming;
    char source[64];
    adouble synced_at; /* the newest sample the reader has applied; 0 = none */
    adouble wrote_at;  /* the last write through halyard ended (cache_note_write) */
    struct sample samples[SAMPLES];
    unsigned nsamples;
    struct {
        double from, to;
    } win[WINDOWS];    /* the last writes noted, from sent to answered (a ring) */
    unsigned win_next; /* the next slot of `win` */
    double win_forgot; /* the latest `to` of a window the ring no longer holds */
    double settle;
    adouble max_lag;
    atomic_bool gate_global;   /* cache.read_your_writes = "global": wrote_at holds every session */
    struct cache_tables *base; /* the primary's base tables; NULL = not read yet */
    uint64_t base_gen;         /* ci.ddl when they were read: stale once it moves */
    struct gtid_pos base_pos;  /* the primary's position read after them */
    bool base_armed;           /* the reader has applied base_pos: they hold for its events */
    bool base_keys;            /* key columns were read (binlog_row_image = FULL) */
    acount hits, misses, abandoned;
    uint64_t resets, resumes, refused_not_base, base_loads;
    acount no_fills_again;      /* reads of the base tables that found the same reason (not said) */
    uint64_t refused_in_flight; /* fills sent while a write through halyard was in flight */
    acount refused_primary;     /* lookups of sessions whose primary the reader does not follow */
    acount refused_dirty;       /* fills read at READ UNCOMMITTED */
    atomic_bool global_dirty;   /* the primary's global isolation default is READ UNCOMMITTED */
    uint64_t defaults_hash;     /* the primary's global defaults, last read */
    bool defaults_known;
    adouble defaults_at; /* ev_now() when a change of them was seen; 0 = never */
    acount refused_defaults;
    adouble
        priv_at; /* wall time the reader applied a change of accounts or privileges; 0 = never */
    acount refused_privileges;
    /* ev_now() when the reader first and last saw it so; 0 = never (from
     * is written before to: a reader of to > 0 sees from) */
    adouble dirty_from, dirty_to;
    acount rule_hits[CACHE_RULES_MAX], rule_misses[CACHE_RULES_MAX];
    size_t capacity;
    struct config *rules_cfg; /* the config whose rule indexes the entries carry */
} C = {.mu = PTHREAD_MUTEX_INITIALIZER, .src = -1};

static double aload(adouble *a)
{
    return atomic_load_explicit(a, memory_order_acquire);
}

static void count(acount *n)
{
    atomic_fetch_add_explicit(n, 1, memory_order_relaxed);
}

static uint64_t counted(acount *n)
{
    return atomic_load_explicit(n, memory_order_relaxed);
}

/* The source the reader streams from now (under the mutex): `source`,
 * and its index in names for the lookups; "" = none. A name past the
 * SOURCES-th ever followed is not indexed: no hit is served from it. */
static void source_set(const char *name)
{
    snprintf(C.source, sizeof(C.source), "%s", name);
    int id = -1;
    unsigned n = atomic_load_explicit(&C.nnames, memory_order_relaxed);
    for (unsigned i = 0; i < n && id < 0 && name[0] != '\0'; i++)
        if (strcmp(C.names[i], C.source) == 0)
            id = (int)i;
    if (id < 0 && name[0] != '\0' && n < SOURCES) {
        snprintf(C.names[n], sizeof(C.names[n]), "%s", C.source);
        atomic_store_explicit(&C.nnames, n + 1, memory_order_release);
        id = (int)n;
    } else if (id < 0 && name[0] != '\0') {
        hy_log_warn("cache: more than %d primaries followed since start: no hit is served from "
                    "%s (restart halyard)",
                    SOURCES, C.source);
    }
    atomic_store_explicit(&C.src, id, memory_order_release);
}

/* The reader streams from `primary` now (any thread). */
static bool follows_now(const char *primary)
{
    int id = atomic_load_explicit(&C.src, memory_order_acquire);
    return id >= 0 && primary != NULL && strcmp(C.names[id], primary) == 0;
}

double cache_clock(void)
{
    return hy_mono_s();
}

bool cache_on(void)
{
    return atomic_load_explicit(&C.on, memory_order_relaxed);
}

/* A connection opened by then may still be at the default it was opened
 * (or reset) with: the reader sees the global default a tick late. */
#define DIRTY_MARGIN_S 1.0

bool cache_dirty_default(double born)
{
    if (atomic_load_explicit(&C.global_dirty, memory_order_acquire))
        return true;
    double to = aload(&C.dirty_to);
    return to > 0 && born >= aload(&C.dirty_from) - DIRTY_MARGIN_S && born <= to + DIRTY_MARGIN_S;
}

bool cache_old_defaults(double born)
{
    double at = aload(&C.defaults_at);
    return born >= 0 && at > 0 && born <= at;
}

bool cache_old_privileges(double born)
{
    double at = aload(&C.priv_at);
    bool old = born >= 0 && at > 0 && born <= at;
    if (old)
        count(&C.refused_privileges);
    return old;
}

void cache_refused_defaults(void)
{
    count(&C.refused_defaults);
}

void cache_fill_dirty(void)
{
    count(&C.refused_dirty);
}

bool cache_follows(const char *source, const char *primary)
{
    return primary != NULL && source[0] != '\0' && strcmp(source, primary) == 0;
}

void cache_stamp(struct cache_ticket *t, const struct config_rule *rule, const char *primary)
{
    t->rule = rule;
    pthread_mutex_lock(&C.mu);
    /* below the first invalidation the primary may not have made visible:
     * a fill sent now may not see its change (cache_visible.h) */
    t->seq = cache_visible_seq(&C.vis, C.ci.seq);
    /* a fill read elsewhere than where the reader reads: nothing would drop it */
    t->valid = C.streaming && C.store != NULL && cache_follows(C.source, primary);
    bool unseen = t->valid && t->seq < C.ci.seq;
    pthread_mutex_unlock(&C.mu);
    t->sent_at = cache_clock();
    if (unseen) /* how far the primary committed, read now: the next fill may rely on it */
        cache_follow_probe_now();
}

/* A fill sent while a write through halyard that is noted by now was in
 * flight (cache_note_write), or before one the ring forgot ended (under
 * the mutex). */
static bool sent_in_flight(double sent)
{
    if (sent < C.win_forgot)
        return true;
    unsigned n = C.win_next < WINDOWS ? C.win_next : WINDOWS;
    for (unsigned i = 0; i < n; i++)
        if (sent > C.win[i].from && sent < C.win[i].to)
            return true;
    return false;
}

static unsigned rule_slot(uint32_t rule)
{
    return rule < CACHE_RULES_MAX ? rule : CACHE_RULES_MAX - 1;
}

void cache_note_write(double sent, double at)
{
    pthread_mutex_lock(&C.mu);
    if (at > aload(&C.wrote_at))
        atomic_store_explicit(&C.wrote_at, at, memory_order_release);
    /* what was read during its flight may predate it, invalidation or not */
    if (C.store != NULL)
        (void)cache_store_drop_sent_within(C.store, sent, at);
    unsigned i = C.win_next++ % WINDOWS;
    if (C.win_next > WINDOWS && C.win[i].to > C.win_forgot)
        C.win_forgot = C.win[i].to;
    C.win[i].from = sent;
    C.win[i].to = at;
    pthread_mutex_unlock(&C.mu);
    /* no probe of the primary's position here: the first lookup the write
     * holds asks for it (cache_get), so writes no read waits on (a
     * transaction's, whose reads are never cached) cost the primary
     * nothing more */
}

enum cache_gate_rc cache_gate(double now, double synced_at, double max_lag, double wrote_at,
                              double all_wrote_at, bool global, const struct cache_gate *g)
{
    if (synced_at <= 0 || now - synced_at > max_lag)
        return CACHE_GATE_BEHIND;
    if (g != NULL && g->max_stale_ms > 0) /* bounded staleness: no write holds it */
        return now - synced_at <= g->max_stale_ms / 1000.0 ? CACHE_GATE_SERVE : CACHE_GATE_BEHIND;
    if (g != NULL && g->ryw != CACHE_RYW_DEFAULT)
        global = g->ryw == CACHE_RYW_GLOBAL;
    /* a position read after this session's last write (and after every
     * session's, when global) */
    if (synced_at > wrote_at && (!global || synced_at > all_wrote_at))
        return CACHE_GATE_SERVE;
    return CACHE_GATE_HELD;
}

bool cache_get(const uint8_t *key, size_t key_len, double wrote_at, uint32_t rule,
               const struct cache_gate *g, const char *primary, struct cache_answer **ans)
{
    double now = cache_clock();
    bool hit = false;
    uint64_t stamp;
    uint32_t r;
    *ans = NULL;
    /* the reader streams from this session's primary (hits stop before a
     * reset or pause changes anything, and start again after it), and has
     * applied a position recent enough and read after the writes that hold
     * this rule's hits */
    struct cache_store *st = atomic_load_explicit(&C.live, memory_order_acquire);
    bool ours = follows_now(primary);
    if (!ours)
        count(&C.refused_primary);
    enum cache_gate_rc gate =
        st != NULL && ours
            ? cache_gate(now, aload(&C.synced_at), aload(&C.max_lag), wrote_at, aload(&C.wrote_at),
                         atomic_load_explicit(&C.gate_global, memory_order_relaxed), g)
            : CACHE_GATE_BEHIND;
    bool fresh = gate != CACHE_GATE_BEHIND, held = gate == CACHE_GATE_HELD;
    /* an entry is served under the rule it was filled by only: another rule
     * matching the same statement (one of another client or listener) has
     * its own ttl_ms, which bounds its own hits */
    if (fresh && !held && cache_store_get(st, key, key_len, now, ans, &stamp, &r)) {
        hit = r == rule;
        if (!hit) {
            cache_answer_put(*ans);
            *ans = NULL;
        }
    }
    count(hit ? &C.hits : &C.misses);
    count(hit ? &C.rule_hits[rule_slot(rule)] : &C.rule_misses[rule_slot(rule)]);
    if (held) /* a position read after the write, as soon as the probe is free */
        cache_follow_probe_now();
    return hit;
}

/* The primary's schema (base tables, key columns, foreign keys) holds for
 * the events the reader applies: it was read since the last DDL the reader
 * applied, and the reader has applied the position read after it (so no
 * event before it, of an older layout, is read with it). Until then
 * nothing is filled, and a row event drops everything (under the mutex). */
/* Every table is known to be a base table of the primary, by a list read
 * since the last DDL the reader applied (under the mutex). A view, a
 * temporary table, a system table, a table the reader account cannot see
 * or one created since: not known, never cached (cache_tables.h). */
static bool schema_ready(void)
{
    return C.base != NULL && C.base_gen == C.ci.ddl && C.base_armed;
}

static bool base_tables_all(const char *const *tables, unsigned ntables)
{
    if (!schema_ready())
        return false;
    for (unsigned i = 0; i < ntables; i++)
        if (!cache_tables_has(C.base, tables[i]))
            return false;
    return true;
}

/* A point lookup's key hashes into f (under the mutex): when its column
 * is a key column of its table by the schema read and each value can be
 * written as that column's kind for sure (cache_keyval.h), else f stays a
 * plain entry, dropped by any row event of its table. */
static void point_keys(const struct cache_sql *q, struct cache_fill *f, uint64_t *keys)
{
    if (q->nkeys == 0 || q->ntables != 1 || q->nkeys > CACHE_MAX_KEYS || !C.base_keys)
        return;
    enum cache_key_kind kind = CACHE_KEY_NONE;
    int pos = cache_tables_key_of(C.base, q->tables[0], q->key_col, &kind);
    if (pos < 0)
        return;
    unsigned n = 0;
    for (unsigned i = 0; i < q->nkeys; i++) {
        char text[CACHE_KEYVAL_MAX];
        if (!cache_keyval_from_sql(kind, q->key_vals[i], text))
            return;
        uint64_t h = cache_key_hash(q->tables[0], (unsigned)pos, text, strlen(text));
        bool dup = false;
        for (unsigned j = 0; j < n && !dup; j++)
            dup = keys[j] == h; /* 'a' and 'A' are one key */
        if (!dup)
            keys[n++] = h;
    }
    f->keys = keys;
    f->nkeys = n;
}

enum cache_fill_rc cache_put(const struct cache_ticket *t, const uint8_t *key, size_t key_len,
                             const uint8_t *data, size_t data_len, const struct cache_sql *q,
                             int ttl_ms, uint32_t rule)
{
    double now = cache_clock();
    const char *tables[CACHE_SQL_MAX_TABLES];
    unsigned ntables = q->ntables;
    for (unsigned i = 0; i < ntables; i++)
        tables[i] = q->tables[i];
    uint64_t keys[CACHE_MAX_KEYS];
    struct cache_fill f = {
        .key = key,
        .key_len = key_len,
        .data = data,
        .data_len = data_len,
        .tables = tables,
        .ntables = ntables,
        .stamp = t->seq,
        .sent_at = t->sent_at,
        .expires_at = t->sent_at + ttl_ms / 1000.0,
        .rule = rule,
    };
    enum cache_fill_rc rc = CACHE_FILL_RACED;
    pthread_mutex_lock(&C.mu);
    /* the rule is the one at its index in the config the cache has: a
     * session's config that is not it (a reload between) may have another
     * rule at that index */
    bool rules_now =
        C.rules_cfg != NULL && rule < C.rules_cfg->n_rules && t->rule == &C.rules_cfg->rules[rule];
    if (C.store == NULL || !t->valid || !C.streaming || !rules_now)
        count(&C.abandoned);
    else if (sent_in_flight(t->sent_at))
        C.refused_in_flight++;
    else if (!base_tables_all(tables, ntables)) {
        C.refused_not_base++;
        rc = CACHE_FILL_NOT_BASE;
    } else {
        point_keys(q, &f, keys);
        rc = cache_store_fill(C.store, &f, now);
    }
    pthread_mutex_unlock(&C.mu);
    return rc;
}

void cache_fill_abandoned(void)
{
    count(&C.abandoned);
}

size_t cache_flush(const char *table)
{
    size_t n = 0;
    pthread_mutex_lock(&C.mu);
    if (C.store != NULL) {
        const char *dot = table != NULL ? strchr(table, '.') : NULL;
        double now = cache_clock();
        if (dot != NULL && dot != table && dot[1] != '\0' && (size_t)(dot - table) < 65) {
            char schema[65];
            memcpy(schema, table, (size_t)(dot - table));
            schema[dot - table] = '\0';
            n = cache_store_invalidate_table(C.store, schema, dot + 1, CACHE_DROP_FLUSH, ++C.ci.seq,
                                             now);
        } else {
            n = cache_store_invalidate_all(C.store, CACHE_DROP_FLUSH, ++C.ci.seq, now);
        }
    }
    pthread_mutex_unlock(&C.mu);
    return n;
}

void cache_drop_unlogged(void)
{
    pthread_mutex_lock(&C.mu);
    if (C.store != NULL)
        (void)cache_store_invalidate_all(C.store, CACHE_DROP_UNLOGGED, ++C.ci.seq, cache_clock());
    pthread_mutex_unlock(&C.mu);
}

void cache_status_get(struct cache_status *out)
{
    memset(out, 0, sizeof(*out));
    double now = cache_clock();
    pthread_mutex_lock(&C.mu);
    out->on = cache_on();
    out->streaming = C.streaming;
    snprintf(out->source, sizeof(out->source), "%s", C.source);
    if (C.ci.pos_known)
        gtid_pos_format(&C.ci.pos, out->gtid, sizeof(out->gtid));
    out->lag_s = C.streaming && C.synced_at > 0 ? now - C.synced_at : -1;
    if (C.store != NULL)
        cache_store_stats(C.store, &out->store);
    out->hits = counted(&C.hits);
    out->misses = counted(&C.misses);
    out->abandoned = counted(&C.abandoned);
    out->resets = C.resets;
    out->resumes = C.resumes;
    out->refused_not_base = C.refused_not_base;
    out->refused_write = C.refused_in_flight;
    out->refused_primary = counted(&C.refused_primary);
    out->refused_dirty = counted(&C.refused_dirty);
    out->global_dirty = C.global_dirty;
    out->refused_defaults = counted(&C.refused_defaults);
    out->refused_privileges = counted(&C.refused_privileges);
    out->base_tables = schema_ready() ? (int64_t)cache_tables_count(C.base) : -1;
    out->base_uncached = schema_ready() ? (int64_t)cache_tables_uncached(C.base) : -1;
    out->row_keys = schema_ready() && C.base_keys;
    out->base_loads = C.base_loads;
    out->no_fills_again = counted(&C.no_fills_again);
    out->gaps = C.ci.gaps;
    out->unseen = C.vis.n;
    for (size_t i = 0; i < CACHE_RULES_MAX; i++) {
        out->rule_hits[i] = counted(&C.rule_hits[i]);
        out->rule_misses[i] = counted(&C.rule_misses[i]);
    }
    out->capacity = C.capacity;
    pthread_mutex_unlock(&C.mu);
}

/* Buckets of the key table swept under one hold of the mutex, and the
 * share of the table each call sweeps: a full pass every SWEEP_PARTS
 * calls (the reader's ticks: about a second). */
#define SWEEP_SLICE 1024
#define SWEEP_PARTS 20

void cache_sweep(void)
{
    size_t left = SWEEP_SLICE;
    for (bool first = true; left > 0; first = false) {
        pthread_mutex_lock(&C.mu);
        if (C.store == NULL) {
            pthread_mutex_unlock(&C.mu);
            return;
        }
        if (first) {
            size_t part = cache_store_buckets(C.store) / SWEEP_PARTS + 1;
            left = part > left ? part : left;
        }
        size_t k = left < SWEEP_SLICE ? left : SWEEP_SLICE;
        (void)cache_store_expire_some(C.store, cache_clock(), k);
        pthread_mutex_unlock(&C.mu);
        left -= k;
    }
}

/* ---- the reader's side ---------------------------------------------------- */

/* Samples the applied position covers: hits may be served up to them. */
static void samples_settle(void)
{
    unsigned keep = 0;
    for (unsigned i = 0; i < C.nsamples; i++) {
        if (C.ci.pos_known && gtid_pos_covers(&C.ci.pos, &C.samples[i].pos)) {
            if (C.samples[i].sent_at > C.synced_at)
                C.synced_at = C.samples[i].sent_at;
        } else {
            C.samples[keep++] = C.samples[i];
        }
    }
    C.nsamples = keep;
}

void cache_stream_reset(const struct gtid_pos *from, const char *source, bool failover)
{
    pthread_mutex_lock(&C.mu);
    source_set(""); /* no hit until the new source is set, last */
    cache_inval_start(&C.ci, from);
    if (C.store != NULL)
        cache_store_invalidate_all(C.store, failover ? CACHE_DROP_FAILOVER : CACHE_DROP_ALL,
                                   ++C.ci.seq, cache_clock());
    cache_visible_reset(&C.vis, C.ci.seq);
    /* a stream started again after one ended: an account may have changed
     * in between, unseen */
    if (from != NULL && C.resets > 0)
        C.priv_at = hy_now_s();
    C.streaming = from != NULL;
    C.synced_at = 0;
    C.nsamples = 0;
    C.resets++;
    cache_tables_destroy(C.base); /* read again from the server followed now */
    C.base = NULL;
    C.base_armed = false;
    source_set(from != NULL && source != NULL ? source : "");
    pthread_mutex_unlock(&C.mu);
}

bool cache_stream_pause(struct gtid_pos *from, enum cache_drop why)
{
    pthread_mutex_lock(&C.mu);
    bool keep = C.streaming && C.ci.pos_known && C.store != NULL && C.synced_at > 0;
    if (keep) {
        source_set(""); /* no hit until resumed */
        double now = cache_clock();
        *from = C.ci.pos;
        /* an entry stored after the newest primary position the reader
         * applied may hold a transaction the new primary never got */
        cache_store_drop_filled_after(C.store, C.synced_at, why);
        cache_store_fence(C.store, ++C.ci.seq, now);
        cache_visible_reset(&C.vis, C.ci.seq); /* what came before `from` may not be visible */
        cache_inval_start(&C.ci, from);        /* an open transaction comes again, whole */
        C.streaming = false;
        C.synced_at = 0;
        C.nsamples = 0;
    }
    pthread_mutex_unlock(&C.mu);
    return keep;
}

void cache_stream_resume(const char *source)
{
    pthread_mutex_lock(&C.mu);
    C.streaming = true;
    C.resumes++;
    source_set(source);
    pthread_mutex_unlock(&C.mu);
}

/* The schema read holds once the reader has applied the position read
 * after it (under the mutex). */
static void schema_arm(void)
{
    if (C.base != NULL && !C.base_armed && C.ci.pos_known &&
        gtid_pos_covers(&C.ci.pos, &C.base_pos))
        C.base_armed = true;
}

void cache_stream_event(const uint8_t *ev, size_t body_end)
{
    pthread_mutex_lock(&C.mu);
    uint64_t before = C.ci.seq, priv = C.ci.priv;
    if (C.store != NULL)
        cache_inval_feed(&C.ci, C.store, schema_ready() ? C.base : NULL, ev, body_end,
                         cache_clock());
    if (C.ci.priv != priv) { /* the connections opened before may read what new ones may not */
        double at = hy_now_s();
        C.priv_at = at;
        /* nor does the pool lend an idle one to a session (pool.c) */
        users_privileges_changed(at);
    }
    bool start_open = C.vis.start_open;
    cache_visible_event(&C.vis, ev, body_end, before, C.ci.seq);
    /* an invalidation noted, or the start's coordinate known: whether the
     * primary has made it visible, read at once (one probe in flight), so
     * fills of its tables wait one round trip, not a tick */
    bool ask = (C.ci.seq > before || (start_open && !C.vis.start_open)) && C.vis.n > 0;
    schema_arm();
    samples_settle();
    pthread_mutex_unlock(&C.mu);
    if (ask)
        cache_follow_probe_now();
}

void cache_stream_primary(const struct gtid_pos *pos, double sent_at)
{
    pthread_mutex_lock(&C.mu);
    if (C.nsamples == SAMPLES) { /* the oldest can only be older than the ones after it */
        memmove(C.samples, C.samples + 1, (SAMPLES - 1) * sizeof(C.samples[0]));
        C.nsamples--;
    }
    C.samples[C.nsamples++] = (struct sample){.sent_at = sent_at, .pos = *pos};
    samples_settle();
    pthread_mutex_unlock(&C.mu);
}

void cache_stream_visible(const char *file, const char *pos)
{
    struct cache_binlog_at at;
    if (file == NULL || pos == NULL || !cache_binlog_file_number(file, &at.file) ||
        !hy_parse_u64(pos, strlen(pos), UINT64_MAX, &at.pos))
        return; /* not read: nothing more is known visible */
    pthread_mutex_lock(&C.mu);
    cache_visible_seen(&C.vis, at);
    pthread_mutex_unlock(&C.mu);
}

void cache_stream_isolation(bool read_uncommitted, double wall)
{
    pthread_mutex_lock(&C.mu);
    if (read_uncommitted && !C.global_dirty)
        hy_log_warn("cache: the primary's global transaction isolation level is READ "
                    "UNCOMMITTED: sessions that set none are neither served nor filled");
    C.global_dirty = read_uncommitted;
    if (read_uncommitted && C.dirty_from == 0)
        C.dirty_from = wall; /* before dirty_to: cache_dirty_default reads them in turn */
    if (read_uncommitted)
        C.dirty_to = wall;
    pthread_mutex_unlock(&C.mu);
}

void cache_stream_defaults(uint64_t hash, double wall)
{
    pthread_mutex_lock(&C.mu);
    if (C.defaults_known && hash != C.defaults_hash) {
        hy_log_info("cache: the primary's global defaults changed (SET GLOBAL): the cache is "
                    "emptied; connections opened before are neither served nor filled");
        if (C.store != NULL)
            (void)cache_store_invalidate_all(C.store, CACHE_DROP_DEFAULTS, ++C.ci.seq,
                                             cache_clock());
        C.defaults_at = wall;
    }
    C.defaults_hash = hash;
    C.defaults_known = true;
    pthread_mutex_unlock(&C.mu);
}

void cache_no_fills_again(void)
{
    count(&C.no_fills_again);
}

bool cache_base_wanted(uint64_t *gen)
{
    pthread_mutex_lock(&C.mu);
    bool want = C.streaming && (C.base == NULL || C.base_gen != C.ci.ddl);
    *gen = C.ci.ddl;
    pthread_mutex_unlock(&C.mu);
    return want;
}

bool cache_base_load(uint64_t gen, struct cache_tables *set, const struct gtid_pos *after,
                     bool keys)
{
    pthread_mutex_lock(&C.mu);
    bool taken = C.streaming && gen == C.ci.ddl;
    if (taken) {
        cache_tables_destroy(C.base);
        C.base = set;
        C.base_gen = gen;
        C.base_pos = *after;
        C.base_armed = false;
        C.base_keys = keys;
        C.base_loads++;
        schema_arm();
    }
    pthread_mutex_unlock(&C.mu);
    if (!taken)
        cache_tables_destroy(set);
    return taken;
}

/* ---- configuration -------------------------------------------------------- */

/* The store's bound and timings from cfg (under the mutex). */
static hy_status_t configure(const struct config *cfg)
{
    C.settle = cfg->cache.settle_ms / 1000.0;
    C.max_lag = cfg->cache.max_lag_ms / 1000.0;
    C.gate_global = cfg->cache.gate_global;
    C.capacity = (size_t)cfg->cache.size_bytes;
    if (!cfg->cache.enabled) {
        /* off: nothing kept; the object stays, a lookup may be reading it */
        atomic_store_explicit(&C.live, NULL, memory_order_release);
        if (C.store != NULL)
            (void)cache_store_invalidate_all(C.store, CACHE_DROP_ALL, ++C.ci.seq, cache_clock());
        C.store = NULL;
        return HY_OK;
    }
    if (C.kept == NULL)
        C.kept = cache_store_create(C.capacity, C.settle);
    if (C.kept == NULL)
        return HY_NOMEM;
    C.store = C.kept;
    cache_store_resize(C.store, C.capacity, C.settle);
    atomic_store_explicit(&C.live, C.store, memory_order_release);
    return HY_OK;
}

/* A reload: the entries re-indexed to the new config's rules, or dropped
 * (cache_reload.h), and the fills stamped before refused, since they
 * carry the old config's indexes (under the mutex). */
static void rules_remap(const struct config *cfg)
{
    size_t n = C.rules_cfg->n_rules;
    struct cache_rule_map *map = calloc(n > 0 ? n : 1, sizeof(*map));
    size_t kept = map != NULL ? cache_reload_rules(C.rules_cfg, cfg, map, n) : 0;
    size_t dropped = cache_store_remap(C.store, map, map != NULL ? n : 0);
    free(map);
    cache_store_fence(C.store, ++C.ci.seq, cache_clock());
    /* each rule's counts follow its name (the last slot holds the rest) */
    uint64_t hits[CACHE_RULES_MAX] = {0}, misses[CACHE_RULES_MAX] = {0};
    hits[CACHE_RULES_MAX - 1] = C.rule_hits[CACHE_RULES_MAX - 1];
    misses[CACHE_RULES_MAX - 1] = C.rule_misses[CACHE_RULES_MAX - 1];
    for (size_t i = 0; i < n && i < CACHE_RULES_MAX - 1; i++) {
        long to = cache_reload_rule_index(cfg, C.rules_cfg->rules[i].name);
        if (to >= 0 && to < CACHE_RULES_MAX - 1) {
            hits[to] = C.rule_hits[i];
            misses[to] = C.rule_misses[i];
        }
    }
    for (size_t i = 0; i < CACHE_RULES_MAX; i++) {
        atomic_store_explicit(&C.rule_hits[i], hits[i], memory_order_relaxed);
        atomic_store_explicit(&C.rule_misses[i], misses[i], memory_order_relaxed);
    }
    hy_log_info("cache: reload: the entries of %zu rule(s) kept, %zu entries dropped (rule gone "
                "or changed)",
                kept, dropped);
}

hy_status_t cache_shared_configure(struct config *cfg)
{
    pthread_mutex_lock(&C.mu);
    if (C.store != NULL && C.rules_cfg != NULL && C.rules_cfg != cfg && cfg->cache.enabled)
        rules_remap(cfg);
    config_put(C.rules_cfg);
    C.rules_cfg = config_get(cfg);
    hy_status_t rc = configure(cfg);
    atomic_store(&C.on, cfg->cache.enabled && C.store != NULL);
    pthread_mutex_unlock(&C.mu);
    return rc;
}

void cache_shared_free(void)
{
    pthread_mutex_lock(&C.mu);
    atomic_store(&C.on, false);
    atomic_store(&C.live, NULL); /* the workers have stopped: no lookup reads it */
    cache_store_destroy(C.kept);
    C.kept = C.store = NULL;
    C.streaming = false;
    source_set("");
    cache_tables_destroy(C.base);
    C.base = NULL;
    config_put(C.rules_cfg);
    C.rules_cfg = NULL;
    pthread_mutex_unlock(&C.mu);
}
