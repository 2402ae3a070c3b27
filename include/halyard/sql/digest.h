/*
 * digest.h: per-worker statistics by statement digest, for `show digests`.
 *
 * Each worker owns one struct digest_table, keyed by the 64-bit hash
 * classify() gives a statement's digest. An entry counts the statements of
 * that digest the worker ran: calls, those that failed, rows sent or
 * affected, total and largest time, and which backend role served them;
 * it keeps the digest text (at most DIGEST_TEXT_MAX bytes, cut at a UTF-8
 * character boundary) from the first statement that created it.
 *
 * Memory is bounded and allocated once, at digest_create(): a fixed number
 * of entries with their text, and a bucket array. digest_record() never
 * allocates. When the table is full, a new digest evicts an existing one:
 * of DIGEST_SAMPLE entries picked at random, the one with the least total
 * time (then the fewest calls). `show digests` ranks by total time, so
 * what eviction drops is what that ranking would show last; a digest that
 * has become heavy is very unlikely to be picked, since it must be in the
 * sample and the lightest of it. A new entry starts light and, with a
 * table of N entries, survives about N / DIGEST_SAMPLE evictions before it
 * is first sampled. Evictions are counted.
 *
 * A session notes a statement's digest when it routes it (digest_note,
 * the text is at hand) and records its outcome when it ends (digest_record
 * with the hash alone), so it keeps no text in between.
 *
 * Only the owning worker touches its table (no lock, no atomics). The
 * admin side asks each worker to copy its entries out (digest_snapshot,
 * in the worker's thread through worker_call), then merges the copies in
 * the main thread (digest_merge).
 */
#ifndef HALYARD_DIGEST_H
#define HALYARD_DIGEST_H

#include "halyard/core/core.h"

#define DIGEST_TEXT_MAX 1024u /* bytes of digest text kept per entry */
#define DIGEST_SAMPLE   8u    /* entries looked at to choose one to evict */

struct digest_table;

/* One digest's statistics as copied out of a table. */
struct digest_row {
    uint64_t hash;
    uint64_t calls;
    uint64_t errors; /* calls answered with an error */
    uint64_t rows;   /* rows sent (result sets) or affected (OK packets) */
    uint64_t total_usec;
    uint64_t max_usec;
    uint64_t served[2]; /* calls served by [ROLE_PRIMARY] and [ROLE_REPLICA] */
    const char *text;   /* NUL-terminated; owned by the snapshot it came from */
    uint32_t text_len;
    bool text_truncated; /* the digest was longer than what is kept */
};

/* A table's entries, copied: malloc'd, freed with digest_snapshot_free. */
struct digest_snapshot {
    struct digest_row *rows;
    size_t n;
    char *text; /* the rows' texts, one block */
    uint32_t capacity;
    uint64_t evictions;
};

/* A table of `max_entries` entries (at most 2^31), or *out = NULL for 0
 * (digests off; digest_record() takes NULL). HY_NOMEM on failure. */
hy_status_t digest_create(uint32_t max_entries, struct digest_table **out) HY_MUSTCHECK;
void digest_destroy(struct digest_table *t); /* NULL is fine */

/*
 * Count one statement of digest `hash`: `text`/`len` is its digest text
 * (bytes available at text; kept only when this creates the entry; NULL
 * is fine), `error` whether it failed, `rows` rows sent or affected, `usec`
 * its duration in microseconds, `role` the backend role that served it. A
 * NULL table does nothing. Allocates nothing.
 */
void digest_record(struct digest_table *t, uint64_t hash, const char *text, size_t len, bool error,
                   uint64_t rows, uint64_t usec, enum backend_role role);

/*
 * When a statement starts (its digest text is at hand, its outcome is
 * not): make sure `hash` has an entry holding its text, counting nothing,
 * so that digest_record() at the statement's end needs no text and the
 * caller keeps only the hash meanwhile. An entry noted but not recorded yet
 * has no time, so it is the first a full table evicts; if that happens,
 * digest_record() creates it again without text (shown empty). Snapshots
 * leave out entries with no calls. A NULL table does nothing.
 */
void digest_note(struct digest_table *t, uint64_t hash, const char *text, size_t len);

/* Entries in use, capacity, evictions so far (owner thread). */
uint32_t digest_count(const struct digest_table *t);
uint32_t digest_capacity(const struct digest_table *t);
uint64_t digest_evictions(const struct digest_table *t);

/* Copy every entry out (in the owner's thread). A NULL table gives an
 * empty snapshot. HY_NOMEM leaves *out empty. */
hy_status_t digest_snapshot(const struct digest_table *t, struct digest_snapshot *out) HY_MUSTCHECK;
void digest_snapshot_free(struct digest_snapshot *s);

/*
 * Merge rows of the same hash (from several workers' snapshots) in place:
 * counts, times and roles summed, max_usec the largest, the text of the
 * first. Then order them by total time, largest first (ties: more calls
 * first, then smaller hash). Returns the number of distinct digests:
 * rows[0..return) is the merged, ordered table; its first N are the top N.
 * The texts stay owned by their snapshots.
 */
size_t digest_merge(struct digest_row *rows, size_t n);

#endif /* HALYARD_DIGEST_H */
