/*
 * inflight.h: the fate of a write in flight when its primary died, found
 * in the new primary's binary log (resolve_in_flight_writes).
 *
 * Each write transaction halyard sends to the primary carries a mark, a
 * comment at the head of each of its data-changing statements:
 * "/\*hy:BOOT-SESSION-SEQ*\/ " (BOOT: this halyard process, SESSION: the
 * session's id, SEQ: the session's write transaction). MariaDB keeps a
 * statement's text in the binary log with the transaction (ROW format: the
 * Annotate_rows event before its rows, binlog_annotate_row_events, on by
 * default, kept by replicas with replicate_annotate_row_events; STATEMENT
 * format: the Query event), and only a committed transaction is in the
 * binary log. So after a failover the mark is searched in the new primary's
 * binary log (SHOW BINLOG EVENTS, as the monitor account), from the start
 * of the newest file that began before the write was sent: that is a file
 * whose Gtid_list (the GTID state at its start) the new primary had
 * already reached at a monitor check finished before the write was sent.
 *
 * Pure: no I/O; tested in tests/unit/test_inflight.c.
 */
#ifndef HALYARD_INFLIGHT_H
#define HALYARD_INFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core/gtid.h"
#include "halyard/protocol/binlog_rows.h"

#define INFLIGHT_MARK_MAX 64 /* bytes a mark takes at most, NUL included */

/* The mark of write transaction `seq` of session `session` in halyard
 * process `boot` (16 hex digits), with the space that follows it:
 * "/\*hy:1a2b3c4d5e6f7081-7-3*\/ ". Returns its length (never more than
 * INFLIGHT_MARK_MAX - 1). */
size_t inflight_mark(char *out, uint64_t boot, uint32_t session, uint64_t seq);

/* A new id for a halyard process in the marks: 64 bits from getrandom(2),
 * never 0. Several halyards front one cluster, and session ids and
 * sequence numbers start alike in each: the marks of two processes differ
 * by this id alone, which neither the start time nor the pid makes unique
 * (containers reuse pids). HY_ERROR when the kernel gives no random bytes. */
hy_status_t inflight_boot_new(uint64_t *out) __attribute__((warn_unused_result));

/* Whether the Info column of an event (SHOW BINLOG EVENTS) carries `mark`
 * (as inflight_mark wrote it, the trailing space left out). */
bool inflight_info_has(const char *info, const char *mark, size_t mark_len);

/* Whether a binary log file whose Gtid_list event says `info` ("[0-1-5]",
 * "[]", "[0-1-5,1-2-9]": the GTID state when the file began) began at or
 * before position `before`: every GTID of its list has a sequence number
 * no higher than `before`'s in its domain. False when `info` does not
 * parse (the file is then not known to be early enough). */
bool inflight_file_began_before(const char *info, const struct gtid_pos *before);

/* The insert id an Intvar event's Info ("INSERT_ID=42") gives, or 0. */
uint64_t inflight_insert_id(const char *info);

/* The row events of a write found committed, read from its new primary's
 * binary log (a binlog dump from the event after its Annotate_rows): how
 * many rows it changed, and the after image of its first inserted row.
 * The caller sets `dup_counts_2` and `want_first`, then hands over each
 * event as the server sent it (inflight_rows_event) until `done`. */
struct inflight_rows {
    bool dup_counts_2; /* an Update_rows row counts 2 (INSERT ... ON DUPLICATE KEY UPDATE, REPLACE)
                        */
    bool want_first;   /* keep the first inserted row's integer values */
    bool crc;          /* the file's events end with a CRC32 (its FORMAT_DESCRIPTION) */
    bool done;         /* the transaction's end (XID, COMMIT, the next GTID) was seen */
    bool failed;       /* an event was not read (compressed, malformed, an unknown table) */
    uint64_t affected;
    uint64_t rows_table;    /* the table id of its first row event */
    bool tables_many;       /* its row events are on several tables (a trigger's, a
                             * multi-table statement's): which rows are its own is not known */
    bool have_first;        /* first_val holds a row: a Write_rows' (first_written), else */
    bool first_written;     /* an Update_rows' after image (ON DUPLICATE KEY UPDATE) */
    char db[68], table[68]; /* that row's table */
    unsigned first_n;
    uint64_t first_val[BINLOG_COLS_MAX]; /* its integer columns' values */
    uint8_t first_int[BINLOG_COLS_MAX];  /* 1: column i is an integer, not NULL */
    struct inflight_map *maps;           /* the transaction's TABLE_MAPs */
    size_t n_maps;
};

/* One event (`len` bytes: header, body, checksum if any). Sets r->done at
 * the transaction's end, r->failed (and done) when an event that counts
 * cannot be read. */
void inflight_rows_event(struct inflight_rows *r, const uint8_t *ev, size_t len);
void inflight_rows_free(struct inflight_rows *r);

/* Whether the statement text (the mark left out) begins with INSERT or
 * REPLACE, after spaces and comments. */
bool inflight_is_insert(const char *sql, size_t len);

/* Triggers. MariaDB writes a statement's text into its transaction's
 * Annotate_rows event at the statement's first row event; when a BEFORE
 * trigger writes another table, that first row event is the trigger's,
 * and the Annotate_rows holds the trigger's statement, not the client's
 * marked text. So a write to a table with triggers may have committed
 * with its mark missing from the log: not found proves nothing there.
 * Before "not found" is taken as "not committed", the tables the write
 * (or the transaction) changed are looked up on the new primary as
 * monitor.user, which sees a table's triggers in
 * information_schema.TRIGGERS only with the TRIGGER privilege on it. */
#define INFLIGHT_TABLES    4    /* tables a write transaction is followed on */
#define INFLIGHT_TABLE_MAX 130  /* "schema.table" and the NUL (cache_sql.h) */
#define INFLIGHT_TRIG_SQL  4096 /* inflight_triggers_sql's text at most */

/* The query for `n` tables ("schema.table", lower case, the table's name
 * without a dot): one row per table, in order: its index, whether it is a
 * base table the account sees (1 or 0), its triggers, and the TRIGGER
 * grants the account holds on it (global, on its schema, on it; 0: its
 * triggers are not seen). Returns the length, 0 when it does not fit in
 * `cap` or a name does not quote. */
size_t inflight_triggers_sql(char *out, size_t cap, const char tables[][INFLIGHT_TABLE_MAX],
                             unsigned n);

/* Why a table the query answered (base, triggers, grants) leaves a write
 * not found unproven, as a phrase after the table's name; NULL when it
 * has no trigger, seen. */
const char *inflight_triggers_why(long base, long triggers, long grants);

#endif
