/*
 * cache.h: the query cache shared by the workers (issue 30): one store
 * (cache_store.h) behind one mutex, filled by the sessions and emptied by
 * the reader of the primary's binary log (cache_follow.c, which applies
 * each event with cache_inval.h under the same mutex). A lookup takes no
 * process-wide lock and copies nothing: it reads the state it needs
 * atomically, probes one stripe of the store, and shares the answer by
 * reference (cache.c).
 *
 * Never stale, by construction:
 *   - a session takes a ticket (cache_stamp) BEFORE it sends a miss to the
 *     primary, and its fill is refused when any of its tables was
 *     invalidated after the ticket (cache_store.h), or when the reader was
 *     not streaming then; the ticket is the sequence number below the
 *     first invalidation the primary's engines may not have made visible
 *     yet (its event ends past their commit point, read by the probe:
 *     cache_visible.h), so a fill that may have read the rows from before
 *     a change in the binary log is refused by order, however long the
 *     engine commit waits (semi-sync AFTER_SYNC, an fsync);
 *   - a fill sent while a write through halyard was in flight (from its
 *     command_begin to its answer: cache_note_write's `sent` and `at`)
 *     is refused, and one stored meanwhile dropped when that write is
 *     noted: the primary sends a transaction's events before its rows are
 *     visible, so such a fill may hold the rows from before the write
 *     although the reader applied its invalidation first (settle_ms adds a
 *     time window, defence in depth);
 *   - a fill is refused unless every table it read is a base table of
 *     the primary by the list read since the last DDL (cache_tables.h),
 *     and the reader has applied the primary's position read after that
 *     list: the binary log never names a view, a temporary or a system
 *     table, and an event before that position may be of an older layout;
 *   - a point lookup (cache_sql.h) on a key column of that schema is
 *     dropped by the row events whose images carry its keys, any other
 *     entry by every row event of its tables, and the children of a
 *     parent by its row events (cache_inval.h);
 *   - the misses go to the primary, which has everything the reader has
 *     applied (the reader reads the primary's binary log);
 *   - hits are served only while the reader streams and has applied a
 *     position of the primary read at most cache.max_lag_ms ago
 *     (`synced_at`), and only once that position was read after the
 *     asking session's last write through halyard ended, and, with
 *     cache.read_your_writes = "global", after every session's (so a
 *     write through halyard is never missed by a read that follows it,
 *     in its session or any); a write made elsewhere is seen within the
 *     reader's lag. The reader reads the primary's position at once after
 *     a write is noted (cache_note_write), so those hits wait one round
 *     trip of that read and the reader's own lag;
 *   - when the reader reconnects to the same primary the cache is
 *     emptied: it starts again from the primary's position of then;
 *   - when the primary changes, the reader asks the new one for its
 *     binary log from the position it had applied, in strict mode; the
 *     server checks that its binary log holds it before it sends any
 *     event, so the first event proves it and the cache is kept (less
 *     the entries stored after the newest primary position the reader had
 *     applied); no hit is served in between; a refusal empties it
 *     ("failover"). cache_follow.c;
 *   - a reload re-attaches the same way when the reader's server and
 *     account are unchanged, else empties the cache; the entries are
 *     re-indexed to the new config's rules by name, or dropped, and the
 *     fills stamped before it refused (cache_reload.h).
 * Off (every call a no-op, cache_on() false) unless a rule has
 * action = "cache".
 */
#ifndef HALYARD_CACHE_H
#define HALYARD_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/cache/cache_store.h"
#include "halyard/core/core.h"

struct cache_sql;
struct config;
struct config_rule;

/* The time every cache decision is taken in: CLOCK_MONOTONIC seconds. */
double cache_clock(void);

/* Whether the cache is configured (a rule has action = "cache"). */
bool cache_on(void);

/* Whether a connection opened at `born` (ev_now(); < 0: one opened now)
 * and left at the server's default transaction isolation level may read
 * at READ UNCOMMITTED: the primary's global default is that level now,
 * or was around when the connection was opened (between the first and
 * the last time the reader saw it so, a second either side: it reads it
 * with the primary's position, each tick, cache_follow.c). Such a read
 * sees rows a ROLLBACK takes back without a word in the binary log: it
 * is neither served nor kept. */
bool cache_dirty_default(double born);
/* A connection opened (ev_now()) at `born` (< 0: none yet) may hold
 * global defaults the primary has changed since (SET GLOBAL time_zone,
 * sql_mode, ...: cache_stream_defaults): it neither fills nor is served. */
bool cache_old_defaults(double born);
/* Count a fill or lookup refused so. */
void cache_refused_defaults(void);
/* A connection opened (ev_now()) at `born` (< 0: none yet) may hold
 * privileges the primary has changed since (the reader applied a GRANT,
 * REVOKE, SET DEFAULT ROLE, CREATE/DROP USER...: cache_inval_account; or
 * its stream started again, a change may have gone unseen): MariaDB fixes
 * a connection's global privileges at its login, so it may read what a
 * new connection may not, and the reverse. It neither fills nor is served
 * (counted). */
bool cache_old_privileges(double born);
/* A fill refused for its isolation level (show cache). */
void cache_fill_dirty(void);

/* The stamp of a fill, taken before its statement is sent. */
struct cache_ticket {
    uint64_t seq;                   /* invalidations applied and known visible (cache_visible.h) */
    double sent_at;                 /* cache_clock() */
    bool valid;                     /* the reader was streaming */
    const struct config_rule *rule; /* the rule that allows it, in the session's config */
};

/* `rule`: the session's config's rule that allows the fill. A fill under
 * a rule of another config than the cache was last given (a session not
 * yet moved to a reloaded config, or moved before the cache was told) is
 * refused: its rule index would mean another rule (cache_put). `primary`:
 * the name of the backend the session's fill goes to; unless it is the
 * one whose binary log the reader follows (cache_follows), the ticket is
 * not valid. */
void cache_stamp(struct cache_ticket *t, const struct config_rule *rule, const char *primary);

/* A command that may have written, sent at `sent`, ended at `at`
 * (cache_clock()), in any session: the entries whose fill was sent in
 * between are dropped, and fills sent in between refused
 * (cache_store_drop_sent_within says why); with cache.read_your_writes = "global" no hit is served
 * to anyone until the reader has applied a position of the primary read after it (the session's own
 * hits wait for it either way: cache_get's `wrote_at`). The reader is asked to read one at once. */
void cache_note_write(double sent, double at);

/* What holds a rule's hits (its read_your_writes and max_stale_ms). */
struct cache_gate {
    enum {
        CACHE_RYW_DEFAULT = 0, /* cache.read_your_writes */
        CACHE_RYW_SESSION,     /* the session's own writes */
        CACHE_RYW_GLOBAL,      /* every session's writes */
    } ryw;
    /* > 0: bounded staleness: no write holds a hit; served while the
     * reader has applied a position of the primary read at most this long
     * ago (and at most cache.max_lag_ms); ryw is not looked at */
    int max_stale_ms;
};

enum cache_gate_rc {
    CACHE_GATE_SERVE = 0, /* a hit may be served */
    CACHE_GATE_BEHIND,    /* the reader is not streaming, or not recent enough */
    CACHE_GATE_HELD,      /* a write the reader has not caught up with holds it */
};

/* The gate's decision, pure (cache_clock() seconds): `synced_at` the
 * newest position of the primary the reader has applied was read at (0 =
 * none), `max_lag` cache.max_lag_ms in seconds, `wrote_at` the session's
 * last write, `all_wrote_at` any session's, `global` cache.read_your_writes
 * = "global"; `g` NULL: the defaults. */
enum cache_gate_rc cache_gate(double now, double synced_at, double max_lag, double wrote_at,
                              double all_wrote_at, bool global, const struct cache_gate *g);

/* The answer under `key`, a reference to it in *ans (shared with the
 * store, not a copy: the caller sends it and puts it back with
 * cache_answer_put), if one may be served now (cache_gate: the reader streams, and `g`'s
 * writes, `wrote_at` the session's last write, cache_clock(), 0 = never
 * wrote) to a session whose primary is the backend named `primary`: none
 * unless the reader follows that backend's binary log (a session of
 * another group, of a Galera writer other than the one read, or one that
 * moved to a new primary the reader has not followed yet, is neither
 * served nor filled: cache_follows). `rule`: the rule's index, for its
 * counts. Counts a hit or a miss. Takes no process-wide lock (cache.c). */
bool cache_get(const uint8_t *key, size_t key_len, double wrote_at, uint32_t rule,
               const struct cache_gate *g, const char *primary, struct cache_answer **ans);

/* Whether the reader follows the binary log of the backend named
 * `primary` (the cache's source), pure: `source` the reader's ("" when it
 * follows none), NULL `primary`: no. */
bool cache_follows(const char *source, const char *primary);

/* Keep an answer (see cache_store_fill): `q` the tables it read and,
 * for a point lookup, its key column and values (cache_sql.h). The
 * outcome is counted. */
enum cache_fill_rc cache_put(const struct cache_ticket *t, const uint8_t *key, size_t key_len,
                             const uint8_t *data, size_t data_len, const struct cache_sql *q,
                             int ttl_ms, uint32_t rule);

/* A fill given up by the session (too large, warnings, an error...). */
void cache_fill_abandoned(void);

/* flush cache [TABLE]: `table` "schema.table", or NULL for everything.
 * Returns the entries dropped. */
size_t cache_flush(const char *table);
/* A write that no binary log shows was made through halyard (its session
 * has sql_log_bin = 0): every entry goes (`unlogged`), and every fill
 * stamped before it is refused. Any thread. */
void cache_drop_unlogged(void);

#define CACHE_RULES_MAX 64 /* rules counted one by one; the others together */

struct cache_status {
    bool on;
    bool streaming;           /* the reader follows the primary */
    char source[64];          /* the backend it reads, "" when none */
    char gtid[256];           /* the position it has applied */
    double lag_s;             /* since the last position it applied was read; -1 = none */
    struct cache_stats store; /* entries, bytes, fills, refusals, drops by reason */
    uint64_t hits, misses, abandoned, resets, resumes, gaps;
    uint64_t unseen; /* applied events (or the start) not yet known visible on the primary */
    uint64_t refused_not_base; /* fills of a table not known to be a base table */
    uint64_t refused_write;    /* fills sent while a write through halyard was in flight */
    uint64_t refused_primary;  /* lookups of sessions whose primary the reader does not follow */
    uint64_t refused_dirty;    /* fills read at READ UNCOMMITTED (cache_dirty_default) */
    bool global_dirty;         /* the primary's global default is READ UNCOMMITTED */
    uint64_t refused_defaults; /* fills and lookups on a connection older than a defaults change */
    uint64_t refused_privileges; /* ... older than a change of accounts or privileges */
    int64_t base_tables;         /* base tables known; -1 = not read since the last DDL */
    int64_t base_uncached;   /* base tables seen but never cached for their engine; -1 as above */
    bool row_keys;           /* key columns known: point lookups go per row */
    uint64_t base_loads;     /* times they were read */
    uint64_t no_fills_again; /* reads that found again why no answer is kept, not logged */
    uint64_t rule_hits[CACHE_RULES_MAX], rule_misses[CACHE_RULES_MAX];
    size_t capacity;
};

void cache_status_get(struct cache_status *out);

/* The reader's thread and the store: made at start, told of reloads
 * (the store's bound, the rules), stopped at exit. */
hy_status_t cache_start(struct config *cfg, char *err, size_t errlen) HY_MUSTCHECK;
void cache_set_config(struct config *cfg);
void cache_stop(void);

#endif /* HALYARD_CACHE_H */
