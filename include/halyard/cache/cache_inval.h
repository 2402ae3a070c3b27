/*
 * cache_inval.h: the primary's binary log applied to the query cache
 * (issue 30), as data.
 *
 * The follower feeds every event it reads, in order, with the store it
 * invalidates. What each event changes (binlog.h) drops entries:
 *   - a TABLE_MAP names a table id (and its column types) for the ROWS
 *     events after it;
 *   - a ROWS event, read per row when it can be (below), drops the
 *     entries of its table that are not point lookups ("table") and the
 *     point lookups of each key value its images carry ("row"); otherwise
 *     all its table's entries ("table"). Either once when it is read and
 *     again when its transaction ends (a fill sent in between read the
 *     rows before the commit); a ROWS event whose table id no TABLE_MAP
 *     named drops everything;
 *   - it is read per row when the primary's schema (cache_tables.h) is
 *     known (`schema` not NULL), its table has key columns, the
 *     TABLE_MAP's types agree, the event is not compressed, holds at most
 *     CACHE_INVAL_ROWS rows, and every image carries every key column
 *     (binlog_row_image = FULL does; MINIMAL's after image does not), and
 *     each key value can be written as its kind (cache_keyval.h);
 *   - a ROWS event of a parent table also drops every entry of each table
 *     its cascading foreign keys reach, children of children too ("fk";
 *     over CACHE_INVAL_FK tables: everything);
 *   - with no schema known (`schema` NULL) a ROWS event drops everything:
 *     nothing is filled then (cache.c), but a fill in flight is refused;
 *   - a statement-format write of one table (cache_sql_written: the
 *     table from its text, an unqualified name in the event's default
 *     database) that is a base table known to have no trigger (a
 *     trigger's writes are not in a statement-format binary log;
 *     cache_tables_trigger_free) drops that table's entries ("table")
 *     and its foreign keys' children's ("fk"), now and at its
 *     transaction's end;
 *   - any other statement (DDL, a write of several tables, through a
 *     routine, a view or a table with a trigger, with triggers the reader
 *     cannot see, a QUERY this code cannot attribute) drops everything;
 *   - an event type this code does not know drops everything;
 *   - both of the last two count in `ddl`: the primary's base tables
 *     (cache_tables.h) may have changed and are read again;
 *   - a GTID that skips sequence numbers in its domain (a gap: transactions
 *     the follower did not see) drops everything;
 *   - an XA transaction's changes end at its XA PREPARE (dropped then, as
 *     any transaction's at its end) but are visible only from its XA
 *     COMMIT, a later group that carries no change: the tables of the
 *     prepared transaction are kept by its xid (cache_inval_xa) and all
 *     their entries dropped again at its XA COMMIT or XA ROLLBACK
 *     ("table"), so an entry filled meanwhile (the rows before the
 *     transaction, right until then) is never served after it.
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
#include "halyard/protocol/binlog_rows.h"

#define CACHE_INVAL_MAPS   64  /* table ids remembered */
#define CACHE_INVAL_TABLES 32  /* tables of one transaction dropped again at its end */
#define CACHE_INVAL_KEYS   256 /* key values of one transaction dropped again at its end */
#define CACHE_INVAL_ROWS   128 /* rows of one event read per row; more: its whole table */
#define CACHE_INVAL_FK     32  /* tables one parent's cascades reach; more: everything */
#define CACHE_INVAL_XA     8   /* prepared XA transactions remembered; more: see below */

struct cache_tables;

struct cache_inval_map {
    struct binlog_table t;
    struct binlog_cols cols;
    bool cols_ok; /* the column types were read */
};

/* A prepared XA transaction (binlog.h): the tables its changes touched,
 * dropped again at its XA COMMIT or XA ROLLBACK, which may come much
 * later in the binary log and carries no change itself. An XA COMMIT or
 * XA ROLLBACK of an xid not remembered (prepared before the reader
 * started, or one too many) drops everything. */
struct cache_inval_xa {
    char xid[BINLOG_XID_TEXT_MAX];
    char tables[CACHE_INVAL_TABLES][CACHE_NAME_MAX];
    unsigned ntables;
    bool all; /* its tables not all known: everything at its end */
};

struct cache_inval {
    uint64_t seq;            /* applied sequence number: advanced by each invalidation */
    struct gtid_pos pos;     /* the last whole transaction of each domain */
    bool pos_known;          /* pos is where the stream started or since */
    struct binlog_group grp; /* the transaction being read */
    struct cache_inval_map maps[CACHE_INVAL_MAPS];
    unsigned nmaps, next_map;             /* a ring: the oldest replaced */
    uint64_t trx_ids[CACHE_INVAL_TABLES]; /* table ids the open transaction changed */
    bool trx_whole[CACHE_INVAL_TABLES];   /* ... not read per row: all its entries at the end */
    unsigned ntrx;
    bool trx_overflow;                   /* ... more than that: everything at its end */
    uint64_t trx_keys[CACHE_INVAL_KEYS]; /* key values it changed (cache_key_hash) */
    unsigned nkeys;
    bool keys_overflow; /* ... more than that: its tables whole at the end */
    char trx_stmt[CACHE_INVAL_TABLES][CACHE_NAME_MAX]; /* tables its statement events changed */
    unsigned nstmt;
    struct cache_inval_xa xa[CACHE_INVAL_XA]; /* prepared, not yet committed or rolled back */
    unsigned nxa;
    uint64_t gaps, unknown; /* counts (show cache) */
    uint64_t ddl;           /* statements and unknown events applied: the base tables may differ */
    uint64_t priv; /* account statements applied (GRANT, REVOKE, ...: cache_inval_account) */
};

/* Whether a statement (`sql`, `len` bytes) changes accounts or their
 * privileges: GRANT, REVOKE, FLUSH (PRIVILEGES), SET PASSWORD, SET DEFAULT
 * ROLE, CREATE / ALTER / DROP / RENAME [OR REPLACE] USER or ROLE. MariaDB
 * fixes a connection's global privileges at its login (its schema's at its
 * USE), so a connection opened before such a statement may still read
 * what a new one may not. */
bool cache_inval_account(const char *sql, size_t len);

/* Start (or restart after a reconnect) from position `from` (NULL: not
 * known, the first GTID sets it). The table map is forgotten; the
 * sequence number goes on. */
void cache_inval_start(struct cache_inval *ci, const struct gtid_pos *from);

/* One event (`body_end`: its size less the checksum, if any), applied to
 * `st` at time `now`, with the primary's schema (key columns, foreign
 * keys) when it is known for the position the event is at, else NULL.
 * Returns the entries it dropped. */
size_t cache_inval_feed(struct cache_inval *ci, struct cache_store *st,
                        const struct cache_tables *schema, const uint8_t *ev, size_t body_end,
                        double now);

#endif /* HALYARD_CACHE_INVAL_H */
