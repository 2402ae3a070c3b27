/*
 * binlog.h: MariaDB binary log events and files, as data (binlog_archive.h
 * streams them from the primary and writes them).
 *
 * An event is a 19-byte header (timestamp 4, type 1, server_id 4,
 * event_size 4, log_pos 4, flags 2, little-endian), its body, and with
 * binlog_checksum = CRC32 a 4-byte CRC32 (zlib's) of everything before it.
 * log_pos is the offset just past the event in its file. A file is the magic
 * "\xfebin", a FORMAT_DESCRIPTION event, then events; the server marks an
 * open file with LOG_EVENT_BINLOG_IN_USE_F in its FORMAT_DESCRIPTION event
 * and clears it when it closes the file.
 *
 * What the archive needs: the header, the checksum checked and redone after
 * log_pos is rewritten, the GTID of a GTID event, where an event group (a
 * transaction) ends, the name in a ROTATE event, and the events the archive
 * writes itself (a GTID_LIST with its position, a ROTATE to its next file).
 * No I/O, no allocation: tested in tests/unit/test_binlog.c.
 */
#ifndef HALYARD_BINLOG_H
#define HALYARD_BINLOG_H

#include <stddef.h>
#include <stdint.h>

#include "halyard/core/core.h"
#include "halyard/core/gtid.h"

#define BINLOG_MAGIC                                                                               \
    "\xfe"                                                                                         \
    "bin"
#define BINLOG_MAGIC_LEN  4
#define BINLOG_HEADER_LEN 19
#define BINLOG_CRC_LEN    4

/* Event types halyard looks at (MariaDB's log_event.h numbers). */
enum binlog_type {
    BINLOG_QUERY = 2,
    BINLOG_ROTATE = 4,
    BINLOG_INTVAR = 5, /* LAST_INSERT_ID() / INSERT_ID of the next statement */
    BINLOG_FORMAT_DESCRIPTION = 15,
    BINLOG_RAND = 13,     /* RAND()'s seeds for the next statement */
    BINLOG_USER_VAR = 14, /* a user variable the next statement reads */
    BINLOG_XID = 16,
    BINLOG_TABLE_MAP = 19,
    BINLOG_WRITE_ROWS_V1 = 23,
    BINLOG_UPDATE_ROWS_V1 = 24,
    BINLOG_DELETE_ROWS_V1 = 25,
    BINLOG_HEARTBEAT = 27,
    BINLOG_WRITE_ROWS = 30,
    BINLOG_UPDATE_ROWS = 31,
    BINLOG_DELETE_ROWS = 32,
    BINLOG_XA_PREPARE = 38,
    BINLOG_ANNOTATE_ROWS = 160,
    BINLOG_CHECKPOINT = 161,
    BINLOG_GTID = 162,
    BINLOG_GTID_LIST = 163,
    BINLOG_START_ENCRYPTION = 164,
    BINLOG_QUERY_COMPRESSED = 165,
    BINLOG_WRITE_ROWS_COMPRESSED_V1 = 166, /* ... through DELETE_ROWS_COMPRESSED = 171 */
    BINLOG_DELETE_ROWS_COMPRESSED = 171,
};

#define BINLOG_F_IN_USE 0x0001 /* LOG_EVENT_BINLOG_IN_USE_F: the file is open */
#define BINLOG_F_ARTIFICIAL                                                                        \
    0x0020 /* LOG_EVENT_ARTIFICIAL_F: made up by the master, not in a file */

#define BINLOG_GTID_STANDALONE 0x01 /* FL_STANDALONE: the group is the next event alone */

struct binlog_header {
    uint32_t timestamp;
    uint8_t type;
    uint32_t server_id;
    uint32_t size; /* the whole event, header and checksum included */
    uint32_t log_pos;
    uint16_t flags;
};

/* Read the header of the event at `ev` (`len` bytes available). HY_ERROR
 * when len is under the header or the event's size is not len. */
hy_status_t binlog_header_parse(const uint8_t *ev, size_t len,
                                struct binlog_header *h) HY_MUSTCHECK;

/* The CRC32 the event's last 4 bytes hold matches its other bytes. */
bool binlog_crc_ok(const uint8_t *ev, size_t len);
/* Write the CRC32 of ev[0, len - 4) into its last 4 bytes. */
void binlog_crc_set(uint8_t *ev, size_t len);
/* Set the header's log_pos and flags (the CRC is not redone). */
void binlog_set_pos_flags(uint8_t *ev, uint32_t log_pos, uint16_t flags);

/* The checksum algorithm a FORMAT_DESCRIPTION event (with its CRC) names:
 * 0 none, 1 CRC32; -1 when it is too short to say. */
int binlog_fde_checksum_alg(const uint8_t *ev, size_t len);

/* A GTID event's GTID (its server_id from the header) and flags. `crc`:
 * the event ends with a checksum. HY_ERROR when too short. */
hy_status_t binlog_gtid_parse(const uint8_t *ev, size_t len, struct gtid *g,
                              uint8_t *flags) HY_MUSTCHECK;

/* A ROTATE event's next file name and position (the checksum, if any,
 * excluded by passing `body_end` = len - 4). The name is copied, cut to
 * fit `cap`. HY_ERROR when malformed. */
hy_status_t binlog_rotate_parse(const uint8_t *ev, size_t body_end, char *name, size_t cap,
                                uint64_t *pos) HY_MUSTCHECK;

/* A GTID_LIST event's entries (a position: the last per domain kept when
 * a domain appears for several servers). HY_ERROR when malformed. */
hy_status_t binlog_gtid_list_parse(const uint8_t *ev, size_t body_end,
                                   struct gtid_pos *out) HY_MUSTCHECK;

/* Build events. Each writes at most `cap` bytes and returns the event's
 * size, or 0 when it does not fit. The CRC is set; log_pos = `at` + size. */
size_t binlog_make_gtid_list(uint8_t *out, size_t cap, const struct gtid_pos *pos,
                             uint32_t timestamp, uint32_t server_id, uint32_t at);
size_t binlog_make_rotate(uint8_t *out, size_t cap, const char *next_file, uint32_t timestamp,
                          uint32_t server_id, uint32_t at);

/* ---- event groups ----------------------------------------------------------
 * Where transactions start and end, fed every event in order. A group
 * starts at a GTID event and ends at its XID, a COMMIT or ROLLBACK query
 * (not a ROLLBACK TO a savepoint, after which the transaction goes on;
 * or XA COMMIT / XA ROLLBACK), an XA_PREPARE event, or, for a standalone
 * GTID (DDL), at the next event that is not an ANNOTATE_ROWS. Events
 * outside a group (FORMAT_DESCRIPTION, ROTATE, BINLOG_CHECKPOINT,
 * GTID_LIST) are whole by themselves. */
enum binlog_group_step {
    BINLOG_OUTSIDE = 0, /* an event outside any group */
    BINLOG_BEGIN,       /* a GTID event: a group starts (binlog_group.gtid) */
    BINLOG_INSIDE,      /* an event inside a group */
    BINLOG_END,         /* the last event of a group: the transaction is whole */
};

struct binlog_group {
    bool open;
    bool standalone;
    struct gtid gtid; /* the group's, while open and at its end */
};

/* One event (`body_end` = its size less the checksum when there is one). */
enum binlog_group_step binlog_group_feed(struct binlog_group *g, const uint8_t *ev,
                                         size_t body_end);

/* ---- XA transactions -------------------------------------------------------
 * MariaDB (10.5 on) logs a prepared XA transaction in two groups: its
 * changes, ended by an XA_PREPARE event, and later a group of the one
 * query "XA COMMIT xid" or "XA ROLLBACK xid", where xid is written
 * X'<gtrid in hex>',X'<bqual in hex>',<formatID>. Both functions give the
 * xid in that form, so the second group can be matched with the first. */
#define BINLOG_XID_TEXT_MAX 300 /* 2 x (X'' around 128 hex digits), a comma, formatID, NUL */

/* The xid of an XA_PREPARE event (`body_end`: as above) into out (cap
 * bytes). HY_ERROR when it is another event, malformed, does not fit, or
 * is a one-phase commit (the transaction is whole by itself). */
hy_status_t binlog_xa_prepared(const uint8_t *ev, size_t body_end, char *out,
                               size_t cap) HY_MUSTCHECK;
/* The xid of a QUERY event "XA COMMIT xid" or "XA ROLLBACK xid" into out,
 * as written (spaces and a `;` after it left out). HY_ERROR for any other
 * event, or when it does not fit. */
hy_status_t binlog_xa_ended(const uint8_t *ev, size_t body_end, char *out, size_t cap) HY_MUSTCHECK;

/* ---- positions -------------------------------------------------------------
 * The archive's position: the last GTID of each domain. Applying a GTID
 * says whether it follows what the position had (the next sequence number
 * in its domain; a domain not in the position starts at 1). */
enum binlog_gtid_order {
    BINLOG_GTID_NEXT = 0, /* seq = last + 1 */
    BINLOG_GTID_GAP,      /* seq > last + 1: transactions missing */
    BINLOG_GTID_OLD,      /* seq <= last: a repeat, or a domain going back */
};

/* How g relates to pos (nothing changed). */
enum binlog_gtid_order binlog_gtid_order(const struct gtid_pos *pos, const struct gtid *g);
/* Make g the last GTID of its domain in pos. HY_ERROR when pos has
 * GTID_MAX domains already and g's is new. */
hy_status_t binlog_pos_apply(struct gtid_pos *pos, const struct gtid *g) HY_MUSTCHECK;

/* ---- what an event changes (the query cache's invalidation) -------------
 * Each event of the stream, as far as the data it changes: nothing (the
 * events that frame transactions and files, BEGIN/COMMIT/XA statements,
 * the INTVAR, RAND and USER_VAR events that give the statement after them
 * its context: that statement is what changes data),
 * a TABLE_MAP (a table id's schema and name for the row events after it),
 * a ROWS event (write, update, delete, v1, v2 and compressed: the table id
 * it changes), a statement (any other QUERY event: DDL, or DML logged as
 * a statement), or an event halyard does not know, which may change
 * anything. The table id is 6 bytes (FORMAT_DESCRIPTION's post-header
 * length 8 for these events, MariaDB and MySQL 5.6 on). */
enum binlog_change {
    BINLOG_CHANGES_NOTHING = 0,
    BINLOG_CHANGES_TABLE_MAP,
    BINLOG_CHANGES_ROWS,
    BINLOG_CHANGES_STATEMENT,
    BINLOG_CHANGES_UNKNOWN,
};

struct binlog_table {
    uint64_t id;
    char schema[65];
    char table[65];
};

/* What the event (`body_end`: its size less the checksum) changes. */
enum binlog_change binlog_change_of(const uint8_t *ev, size_t body_end);
/* A TABLE_MAP event's table id, schema and name. HY_ERROR when malformed
 * or a name is over 64 bytes. */
hy_status_t binlog_table_map_parse(const uint8_t *ev, size_t body_end,
                                   struct binlog_table *t) HY_MUSTCHECK;
/* A ROWS event's table id. HY_ERROR when too short. */
hy_status_t binlog_rows_table_id(const uint8_t *ev, size_t body_end, uint64_t *id) HY_MUSTCHECK;
/* A QUERY event's default schema (copied, cut to `cap`; "" when none) and
 * its statement (pointing into ev). HY_ERROR when malformed. */
hy_status_t binlog_query_parse(const uint8_t *ev, size_t body_end, char *db, size_t cap,
                               const char **sql, size_t *sql_len) HY_MUSTCHECK;

/* Archive file names: "PREFIX.000001" ... (6 digits, as the server). The
 * number of a name of that form, 0 otherwise. */
uint32_t binlog_file_number(const char *name, const char *prefix);

#endif /* HALYARD_BINLOG_H */
