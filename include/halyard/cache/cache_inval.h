/*
 * cache_inval.h: the primary's binary log applied to the query cache
 * (issue 30), as data.
 *
 * The follower feeds every event it reads, in order, with the store it
 * invalidates. What each event changes (binlog.h) drops entries:
 *   - a TABLE_MAP names a table id for the ROWS events after it;
 *   - a ROWS event drops its table's entries, once when it is read and
 *     again when its transaction ends (a fill sent in between read the
 *     rows before the commit); a ROWS event whose table id no TABLE_MAP
 *     named drops everything;
 *   - any other statement (DDL, a statement-format write, a QUERY this
 *     code cannot attribute: it may name tables of other schemas, fire
 *     triggers, cascade) drops everything;
 *   - an event type this code does not know drops everything;
 *   - both of the last two count in `ddl`: the primary's base tables
 *     (cache_tables.h) may have changed and are read again;
 *   - a GTID that skips sequence numbers in its domain (a gap: transactions
 *     the follower did not see) drops everything.
 * Each invalidation advances the applied sequence number (`seq`) that
 * fills are stamped with (cache_store.h). The GTID position of the last
 * whole transaction is kept to re-attach from.
 * No I/O, no locking: tested in tests/unit/test_cache_inval.c.
 */
#ifndef HALYARD_CACHE_INVAL_H
#define HALYARD_CACHE_INVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/cache/cache_store.h"
#include "halyard/core/gtid.h"
#include "halyard/protocol/binlog.h"

#define CACHE_INVAL_MAPS   64 /* table ids remembered */
#define CACHE_INVAL_TABLES 32 /* tables of one transaction dropped again at its end */

struct cache_inval {
    uint64_t seq;            /* applied sequence number: advanced by each invalidation */
    struct gtid_pos pos;     /* the last whole transaction of each domain */
    bool pos_known;          /* pos is where the stream started or since */
    struct binlog_group grp; /* the transaction being read */
    struct binlog_table maps[CACHE_INVAL_MAPS];
    unsigned nmaps, next_map;             /* a ring: the oldest replaced */
    uint64_t trx_ids[CACHE_INVAL_TABLES]; /* table ids the open transaction changed */
    unsigned ntrx;
    bool trx_overflow;      /* ... more than that: everything at its end */
    uint64_t gaps, unknown; /* counts (show cache) */
    uint64_t ddl;           /* statements and unknown events applied: the base tables may differ */
};

/* Start (or restart after a reconnect) from position `from` (NULL: not
 * known, the first GTID sets it). The table map is forgotten; the
 * sequence number goes on. */
void cache_inval_start(struct cache_inval *ci, const struct gtid_pos *from);

/* One event (`body_end`: its size less the checksum, if any), applied to
 * `st` at time `now`. Returns the entries it dropped. */
size_t cache_inval_feed(struct cache_inval *ci, struct cache_store *st, const uint8_t *ev,
                        size_t body_end, double now);

#endif /* HALYARD_CACHE_INVAL_H */
