/*
 * cache_store.h: the query cache's entries as data (issue 30).
 *
 * An entry is an answer (the packets a server sent, headers included)
 * under a key that holds everything that changes that answer; the caller
 * builds the key (user, schema, session state, capabilities, the exact
 * statement). Each entry names the tables it read ("schema.table"). The
 * store is bounded in bytes (`cap`) and evicts the least recently used
 * (approximately: an entry hit since it was last passed gets a second chance);
 * each entry has its own expiry.
 *
 * Never stale, by construction: the store counts invalidations. The
 * follower of the primary's binary log applies each event it reads as
 * `cache_store_invalidate_*` with its applied sequence number (`seq`,
 * increasing) and the time it applied it. A fill carries the sequence
 * number the follower had applied BEFORE its statement was sent, less
 * the invalidations not yet known visible on the primary (its stamp:
 * cache_visible.h), and the time it was sent. It is refused when any of
 * its tables (or its schema, or everything) was invalidated past the
 * stamp, or less than `settle` before it was sent (defence in depth: a
 * transaction is in the binary log before its rows are visible to other
 * readers, which the stamp already accounts for).
 *
 * Locking: one mutex in the caller (cache.c) guards every call but
 * cache_store_get, which any thread may call at any time: it takes only
 * the lock of one stripe of the key table (the store takes it too where
 * it changes that stripe's chains) and hands out a reference to the
 * answer, not a copy (cache_answer_put). No I/O.
 * Tested in tests/unit/test_cache_store.c.
 */
#ifndef HALYARD_CACHE_STORE_H
#define HALYARD_CACHE_STORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core/core.h"

#define CACHE_MAX_TABLES 8   /* tables one cached statement may read */
#define CACHE_MAX_KEYS   16  /* key values one point lookup may name */
#define CACHE_NAME_MAX   130 /* "schema.table": 64 + 1 + 64, and the NUL */

/* Why entries went (show cache, metrics). */
enum cache_drop {
    CACHE_DROP_ROW = 0,  /* a point lookup: a row event's image carried its key */
    CACHE_DROP_TABLE,    /* a row event of one of its tables (not a point lookup, or not sure) */
    CACHE_DROP_FK,       /* a row event of a parent whose foreign key cascades to its table */
    CACHE_DROP_FLUSH,    /* flush cache [TABLE] */
    CACHE_DROP_DDL,      /* DDL or a statement-format event */
    CACHE_DROP_ALL,      /* a gap, an event not understood, the reader reconnecting */
    CACHE_DROP_FAILOVER, /* the reader follows a new primary */
    CACHE_DROP_TTL,      /* expired */
    CACHE_DROP_LRU,      /* evicted for room */
    CACHE_DROP_WRITE,    /* read while a write through halyard was in flight */
    CACHE_DROP_RELOAD,   /* a reload: its rule is gone, changed, or no longer keeps it */
    CACHE_DROP_UNLOGGED, /* a write through halyard with sql_log_bin = 0: no binary log shows it */
    CACHE_DROP_DEFAULTS, /* the primary's global defaults a new connection takes changed */
    CACHE_DROP_N,
};

const char *cache_drop_name(enum cache_drop why);

/* Why a fill was not stored. */
enum cache_fill_rc {
    CACHE_FILL_STORED = 0,
    CACHE_FILL_RACED,    /* a table changed after its stamp, or just before it was sent */
    CACHE_FILL_TOO_BIG,  /* larger than the whole store */
    CACHE_FILL_UNMAPPED, /* no table, too many, or a name that is not "schema.table" */
    CACHE_FILL_NOMEM,
    CACHE_FILL_NOT_BASE, /* (cache.c) a table not known to be a base table of the primary */
};

struct cache_fill {
    const uint8_t *key;
    size_t key_len;
    const uint8_t *data; /* the answer's packets */
    size_t data_len;
    const char *const *tables; /* "schema.table", lower case as the server names them */
    unsigned ntables;
    uint64_t stamp;    /* the follower's applied sequence number before it was sent */
    double sent_at;    /* when it was sent (the store's clock: seconds) */
    double expires_at; /* past this the entry is not served */
    uint32_t rule;     /* the rule that allowed it (per-rule counts) */
    /* a point lookup (one table): the cache_key_hash of each key value it
     * reads; it is dropped by those keys' invalidations, not by the
     * table's row invalidations. nkeys 0: not a point lookup. */
    const uint64_t *keys;
    unsigned nkeys;
};

/* The hash of one key value: column `pos` (0-based) of `name`
 * ("schema.table", any case) holding `val` (its canonical text, as
 * cache_keyval.h writes it). */
uint64_t cache_key_hash(const char *name, unsigned pos, const char *val, size_t len);

struct cache_stats {
    uint64_t entries, bytes;
    uint64_t point_entries; /* of which point lookups */
    uint64_t fills, refused_race, refused_big;
    uint64_t dropped[CACHE_DROP_N];
};

struct cache_store;

/* An answer as the store keeps it, shared by its entry and the hits
 * being sent: freed when its last reference is put. */
struct cache_answer {
    atomic_uint refs;
    size_t len;
    uint8_t data[];
};

/* A reference given back (NULL: nothing). */
void cache_answer_put(struct cache_answer *a);

/* A store of at most `cap` bytes (entries' keys, answers and their
 * bookkeeping), refusing fills sent less than `settle` seconds after an
 * invalidation of their tables. NULL when out of memory. */
struct cache_store *cache_store_create(size_t cap, double settle);
void cache_store_destroy(struct cache_store *st);
/* A new bound: entries evicted (LRU) until the store fits. */
void cache_store_resize(struct cache_store *st, size_t cap, double settle);

/* The entry of `key`, unexpired at `now`, the stamp it was filled at and
 * its rule: a reference to its answer in *ans, which stays valid however
 * the store changes until the caller puts it (cache_answer_put). It is
 * marked used: eviction passes over it once (a second chance). False
 * when none (an expired one is never served; it stays until a sweep,
 * cache_store_expire_some, an eviction or an invalidation drops it).
 * Any thread, without the caller's mutex; it takes one stripe's lock. */
bool cache_store_get(struct cache_store *st, const uint8_t *key, size_t key_len, double now,
                     struct cache_answer **ans, uint64_t *stamp, uint32_t *rule);

/* Store an answer (replacing one under the same key) unless it raced an
 * invalidation (see the top); older entries are evicted for room. */
enum cache_fill_rc cache_store_fill(struct cache_store *st, const struct cache_fill *f, double now);

/* A write through halyard was sent at `from` and its answer came at `to`:
 * the entries whose fill was sent in between are dropped
 * (CACHE_DROP_WRITE). The primary sends a transaction's events before
 * its rows are visible to other reads, so such a fill may have read the
 * rows from before the write after the reader applied its invalidation;
 * from `to` on (the write's OK) they are visible to every read. Costs
 * the entries stored since `from`. Returns the entries dropped. */
size_t cache_store_drop_sent_within(struct cache_store *st, double from, double to);

/* Invalidations, applied in the follower's order: `seq` is its applied
 * sequence number after the event, `now` the time. Each drops the entries
 * concerned and records the sequence number for the fills in flight.
 * Names are compared without regard to case. Return the entries dropped. */
size_t cache_store_invalidate_table(struct cache_store *st, const char *schema, const char *table,
                                    enum cache_drop why, uint64_t seq, double now);
/* A row event of schema.table: its entries that are not point lookups
 * dropped (CACHE_DROP_TABLE); point lookups go by cache_store_invalidate_key. */
size_t cache_store_invalidate_rows(struct cache_store *st, const char *schema, const char *table,
                                   uint64_t seq, double now);
/* A key value (cache_key_hash) a row event's image carried: the point
 * lookups of it dropped (CACHE_DROP_ROW). Fills in flight are checked
 * against a fixed table of such records (hashes sharing a slot share a
 * record: that only ever refuses more). */
size_t cache_store_invalidate_key(struct cache_store *st, uint64_t key, uint64_t seq, double now);
size_t cache_store_invalidate_schema(struct cache_store *st, const char *schema, uint64_t seq,
                                     double now);
size_t cache_store_invalidate_all(struct cache_store *st, enum cache_drop why, uint64_t seq,
                                  double now);

/* Entries stored after time `t` dropped (a failover: they may hold
 * transactions the follower had not applied). Returns their count. */
size_t cache_store_drop_filled_after(struct cache_store *st, double t, enum cache_drop why);
/* Every fill stamped before `seq` refused, no entry dropped. */
void cache_store_fence(struct cache_store *st, uint64_t seq, double now);

/* A reload: what becomes of the entries of each old rule index. */
struct cache_rule_map {
    bool keep;        /* false: its entries go (CACHE_DROP_RELOAD) */
    uint32_t to;      /* the rule's index in the new config */
    double ttl_s;     /* the new rule's ttl: an entry expires at most this long after its fill */
    size_t max_bytes; /* the new rule's max_result_bytes: a larger answer goes */
};

/* Each entry of rule i (i < n, else dropped) re-indexed by map[i]: kept
 * under map[i].to, its expiry brought down to its fill's sent time plus
 * map[i].ttl_s, or dropped (CACHE_DROP_RELOAD) when !map[i].keep or its
 * answer is larger than map[i].max_bytes. Returns the entries dropped. */
size_t cache_store_remap(struct cache_store *st, const struct cache_rule_map *map, size_t n);

/* The expired entries (at `now`) of the next `buckets` buckets of the key
 * table dropped (CACHE_DROP_TTL), from where the last call stopped: a
 * sweep in slices, each holding the caller's mutex only so long. Returns
 * the entries dropped; cache_store_buckets(st) buckets make a full pass. */
size_t cache_store_expire_some(struct cache_store *st, double now, size_t buckets);
/* The key table's buckets (about one an entry; at least 256). */
size_t cache_store_buckets(const struct cache_store *st);

void cache_store_stats(const struct cache_store *st, struct cache_stats *out);

#endif /* HALYARD_CACHE_STORE_H */
