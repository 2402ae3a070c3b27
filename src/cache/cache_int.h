/*
 * cache_int.h: what cache.c offers the binary log reader (cache_follow.c).
 */
#ifndef HALYARD_CACHE_INT_H
#define HALYARD_CACHE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/cache/cache_store.h"
#include "halyard/core/core.h"
#include "halyard/core/gtid.h"

struct cache_tables;
struct config;

/* The primary's visible coordinate (Binlog_snapshot_file and _position
 * read by the probe, as text; NULL when not read): every invalidation up
 * to it may be relied on by a fill sent from now on (cache_visible.h). */
void cache_stream_visible(const char *file, const char *pos);

/* The reader starts streaming from `from` (or stops: from NULL): the
 * cache is emptied either way (counted as "failover" when the primary
 * changed). `source`: the backend's name. */
void cache_stream_reset(const struct gtid_pos *from, const char *source, bool failover);
/* The primary changed (or a reload re-attaches the reader): true, and
 * *from the position the reader had applied, when the cache may be kept
 * if the primary proves it holds that position (cache_stream_resume); the
 * entries stored after the last primary position the reader applied are
 * dropped (counted as `why`), the fills in flight refused, no hit served
 * until resumed. False: nothing to keep. */
bool cache_stream_pause(struct gtid_pos *from, enum cache_drop why);
/* The new primary `source` streams from the position pause gave (it sent
 * its first event: its binary log holds that position). */
void cache_stream_resume(const char *source);
/* One event of the stream (`body_end`: without its checksum). */
void cache_stream_event(const uint8_t *ev, size_t body_end);
/* The primary's position read at `sent_at` (cache_clock()): hits may be
 * served once the reader has applied it. */
void cache_stream_primary(const struct gtid_pos *pos, double sent_at);
/* The primary's global transaction isolation level, read with its
 * position at `wall` (ev_now(): the clock of a connection's `born`): a
 * READ UNCOMMITTED default makes the connections opened (or reset) under
 * it read rows no commit may ever make true (cache_dirty_default). */
void cache_stream_isolation(bool read_uncommitted, double wall);
/* The primary's global defaults that a new connection takes and an
 * answer depends on (time_zone, sql_mode, ...), as one hash, read with its
 * position at `wall` (ev_now()). A change from the last one read empties
 * the cache (`defaults`), and connections opened until then neither fill
 * nor are served (cache_old_defaults). */
void cache_stream_defaults(uint64_t hash, double wall);

/* A lookup was held by a write (cache_get: the reader has applied no
 * position read after it): the reader reads the primary's position again
 * as soon as its probe is free, so the hits that write holds wait one
 * round trip of the probe, not a tick. Any thread; at most one wake of
 * the reader's loop a probe. */
void cache_follow_probe_now(void);

/* A slice of the expired entries dropped (counted as `ttl`): each call
 * sweeps a twentieth of the store, in slices of the mutex (the reader's
 * tick: every entry looked at about once a second). */
void cache_sweep(void);

/* The reader read the list of base tables again and found the same reason
 * no answer can be kept, not said again (cache_follow.c): counted. */
void cache_no_fills_again(void);

/* The primary's base tables are wanted (none yet, or a DDL was applied
 * since they were read): true, and *gen the generation to read them at. */
bool cache_base_wanted(uint64_t *gen);
/* The primary's schema read (the set is taken, or freed): kept unless a
 * DDL was applied since `gen` (then it is read again). `after`: the
 * primary's position read after it: it holds for the events after that.
 * `keys`: its key columns were read (binlog_row_image = FULL). */
bool cache_base_load(uint64_t gen, struct cache_tables *set, const struct gtid_pos *after,
                     bool keys);

/* The store's bound and timings, on or off, from cfg (start, reload). */
hy_status_t cache_shared_configure(struct config *cfg) HY_MUSTCHECK;
/* The store freed, the cache off (stop). */
void cache_shared_free(void);

#endif /* HALYARD_CACHE_INT_H */
