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

#define INFLIGHT_MARK_MAX 64 /* bytes a mark takes at most, NUL included */

/* The mark of write transaction `seq` of session `session` in halyard
 * process `boot`, with the space that follows it: "/\*hy:1a2b3c4d-7-3*\/ ".
 * Returns its length (never more than INFLIGHT_MARK_MAX - 1). */
size_t inflight_mark(char *out, uint32_t boot, uint32_t session, uint64_t seq);

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

#endif
