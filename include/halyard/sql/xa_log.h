/*
 * xa_log.h: the recovery log of cross-group transactions
 * (shards.cross_group_transactions = "xa", session_xa.c).
 *
 * A text file, one record a line, appended and fsync'd:
 *   C <gtrid> <unix-time> <group>[,<group>...]   the decision to commit,
 *                                                written after every branch
 *                                                PREPAREd, before the first
 *                                                XA COMMIT
 *   D <gtrid>                                    every branch committed
 * A gtrid with a C and no D is in doubt: its prepared branches are to be
 * committed; a prepared branch of this instance whose gtrid has no C is to
 * be rolled back (the decision was never taken). A last line without its
 * newline was torn by a crash while it was written: it is ignored (a torn
 * C was never fsync'd, so no branch was committed after it).
 * xa_log_parse is pure; tests/unit/test_xa_log.c tests it.
 */
#ifndef HALYARD_XA_LOG_H
#define HALYARD_XA_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core/core.h"

#define XA_GTRID_MAX  64 /* MariaDB's limit on an XID's gtrid */
#define XA_GROUPS_MAX 32 /* groups one transaction may touch */
#define XA_GROUP_MAX  40 /* bytes of a group name (groups.[].name) */
/* The log's writer compacts it (xa_log_compact) past this size: about
 * 10,000 transactions' records. */
#define XA_LOG_COMPACT_AT (1024 * 1024)

/* One decision to commit, not yet marked done. */
struct xa_decision {
    char gtrid[XA_GTRID_MAX + 1];
    int64_t when; /* unix time of the decision */
    size_t n_groups;
    char groups[XA_GROUPS_MAX][XA_GROUP_MAX + 1];
};

struct xa_log_state {
    struct xa_decision *v; /* in the file's order */
    size_t n;
    size_t bad_lines; /* complete lines that are no record (skipped) */
    bool torn;        /* the last line had no newline (ignored) */
};

/* The decisions in doubt in `len` bytes of log text: C records without a
 * later D. HY_NOMEM; *out is to be freed with xa_log_state_free. */
hy_status_t xa_log_parse(const char *text, size_t len, struct xa_log_state *out) HY_MUSTCHECK;
void xa_log_state_free(struct xa_log_state *st);
/* The C record for `d` into out (with its newline); false when it does
 * not fit. */
bool xa_log_format_commit(const struct xa_decision *d, char *out, size_t cap);
/* Whether `s` may be written in a record (and in an XA statement's quoted
 * XID): 1..max bytes of [A-Za-z0-9_.-]. */
bool xa_log_name_ok(const char *s, size_t max);

/* The gtrid prefix of this halyard instance for the log at `path`:
 * "halyard-<crc32 of the host name and path, 8 hex>-" (its transactions'
 * gtrids go on with "<process start>-<serial>"). */
void xa_log_prefix(const char *path, char *out, size_t cap);
/* This process's start, as its gtrids carry it (unix time in ms, set at
 * the first call: xa_recover_start() makes it at start). */
int64_t xa_log_process_start(void);

/* The log at `path` (created 0600 when missing) opened read-write for
 * appending and locked (flock LOCK_EX: every append and the compaction,
 * of any process, take it); the fd is the file `path` names now (one a
 * compaction put in place while this waited is opened again). Closing
 * the fd unlocks it. -1 with errno. */
int xa_log_open_locked(const char *path);
/* Append `len` bytes to the log at `path` (created 0600 when missing) and
 * fsync it: HY_OK once they are on disk. */
hy_status_t xa_log_append(const char *path, const char *rec, size_t len) HY_MUSTCHECK;
/* Read the whole log at `path` and parse it; a missing file is an empty
 * log. HY_ERROR (errno) when it cannot be read. */
hy_status_t xa_log_load(const char *path, struct xa_log_state *out) HY_MUSTCHECK;

/* Rewrite the log at `path` with only its decisions in doubt (C records
 * without a D, in order; D records, torn and bad lines dropped): read
 * under the lock, the new file written beside it (<path>.compact),
 * fsync'd, renamed over it and the directory fsync'd, the lock held
 * throughout. A crash at any point leaves the old log or the new one,
 * each with every decision in doubt. *before: the bytes read; *kept: the
 * decisions kept (either may be NULL). HY_ERROR with errno. */
hy_status_t xa_log_compact(const char *path, size_t *before, size_t *kept) HY_MUSTCHECK;
#endif /* HALYARD_XA_LOG_H */
