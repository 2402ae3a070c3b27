/*
 * cache_visible.h: which invalidations the primary has made visible to a
 * read sent now (issue 42 item 10), by order, not by time.
 *
 * The primary writes a transaction to its binary log before its storage
 * engine makes it visible (the commit waits for a semi-sync acknowledgement
 * with AFTER_SYNC, for binlog_commit_wait_usec, for an fsync). The reader
 * applies its invalidation as soon as the binary log has it, so a read sent
 * after that may still see the rows from before it, and its fill, stamped
 * after the invalidation, would be kept.
 *
 * MariaDB commits in the engines in binary log order, and tells how far it
 * has done so: the status variables Binlog_snapshot_file and
 * Binlog_snapshot_position, outside a consistent-snapshot transaction, are
 * the end of the last group committed in the engines (last_commit_pos).
 * Every transaction up to that coordinate is visible to a statement sent
 * after it was read.
 *
 * So each event that advanced the applied sequence number is noted with its
 * coordinate (file number, end offset: the event header's log_pos) until the
 * primary's visible coordinate, read by the reader's probe, reaches it. A
 * fill is stamped with cache_visible_seq(): the applied sequence number
 * below the first invalidation not yet known visible. The store refuses a
 * fill whose tables were invalidated past its stamp (cache_store.h), so a
 * fill that may not have seen a logged change of its tables is never kept.
 *
 * At the start of a stream (and at a re-attach) the transactions at or
 * before the starting GTID were never streamed but may not be visible yet:
 * the start itself is noted, at the coordinate of the artificial Gtid_list
 * event the primary sends where it begins (or, failing that, the start of
 * the first GTID event), so nothing is visible until the primary's visible
 * coordinate reaches it.
 *
 * Pure: no locking (cache.c holds its mutex), no I/O. Tested in
 * tests/unit/test_cache_visible.c.
 */
#ifndef HALYARD_CACHE_VISIBLE_H
#define HALYARD_CACHE_VISIBLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CACHE_VISIBLE_MAX 1024 /* notes kept; more are merged into the newest */

/* A coordinate in the primary's binary log: the file's number (the digits
 * after its name's last '.') and an offset in it. */
struct cache_binlog_at {
    uint64_t file, pos;
};

struct cache_visible {
    struct {
        uint64_t seq;              /* the first sequence number the event gave */
        struct cache_binlog_at at; /* its end in the binary log */
    } note[CACHE_VISIBLE_MAX];
    unsigned head, n;
    bool start_open;            /* note[head] is the start, its coordinate not known yet */
    struct cache_binlog_at cur; /* the file being read, the last offset seen */
};

/* A binary log file's name to its number; false when it ends in no digits. */
bool cache_binlog_file_number(const char *name, uint64_t *file);

/* A stream starts (or re-attaches) with the applied sequence number at
 * `seq`: nothing is visible until the start's coordinate is known and the
 * primary's visible coordinate reached it. */
void cache_visible_reset(struct cache_visible *v, uint64_t seq);

/* An event the reader applied (`ev`, header first, `body_end` without its
 * checksum), which took the applied sequence number from `before` to
 * `after`. */
void cache_visible_event(struct cache_visible *v, const uint8_t *ev, size_t body_end,
                         uint64_t before, uint64_t after);

/* The primary's visible coordinate, read after every note was made. */
void cache_visible_seen(struct cache_visible *v, struct cache_binlog_at at);

/* The sequence number a fill sent now is stamped with: `applied` (the
 * reader's) when every note is visible, else just below the first note
 * that is not. */
uint64_t cache_visible_seq(const struct cache_visible *v, uint64_t applied);

#endif /* HALYARD_CACHE_VISIBLE_H */
