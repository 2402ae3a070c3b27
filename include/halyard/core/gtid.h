/*
 * gtid.h: MariaDB GTID positions, parsed and compared.
 *
 * A MariaDB GTID is DOMAIN-SERVER_ID-SEQUENCE ("0-1-100"). Within one
 * replication domain the sequence number only grows (halyard's clusters
 * run with gtid_strict_mode), so how far a server has got in a domain is
 * its sequence number there, whoever wrote the transaction.
 *
 *   - a *position* (@@gtid_current_pos, @@gtid_binlog_pos, @@gtid_slave_pos,
 *     Gtid_IO_Pos) lists the last GTID of each domain: at most one entry per
 *     domain ("0-1-100,1-2-5");
 *   - a *state* (@@gtid_binlog_state) lists the last GTID of each
 *     (domain, server_id) pair the binary log holds: a domain may appear
 *     once per server that wrote in it.
 *
 * Parsing is strict: digits only, no overflow (domain and server_id are 32
 * bits, the sequence 64 bits), entries separated by ',' with optional
 * blanks or newlines around them, at most GTID_MAX entries. The empty
 * string is the empty position. Anything else is rejected with HY_ERROR,
 * and the output is left empty. Entries are kept sorted by domain (then
 * server_id), so positions compare in one pass.
 *
 * No allocation, no I/O: a position is a plain value the monitor keeps in
 * its snapshots and the failover logic compares.
 */
#ifndef HALYARD_GTID_H
#define HALYARD_GTID_H

#include "halyard/core/core.h"

#define GTID_MAX     32   /* entries in a position or a state */
#define GTID_STR_MAX 1400 /* bytes a formatted list needs at most (32 x 43 + NUL) */

struct gtid {
    uint32_t domain;
    uint32_t server_id;
    uint64_t seq;
};

struct gtid_pos {
    uint32_t n;
    struct gtid g[GTID_MAX]; /* sorted by (domain, server_id) */
};

/* How position a relates to position b (gtid_pos_compare). */
enum gtid_order {
    GTID_EQUAL = 0, /* the same sequence number in every domain */
    GTID_AHEAD,     /* a has all of b and more */
    GTID_BEHIND,    /* b has all of a and more */
    GTID_DIVERGED,  /* each has something the other lacks (several domains) */
};

const char *gtid_order_to_str(enum gtid_order o);

/* Parse a position: at most one GTID per domain. `len` bytes of `s`
 * (need not be NUL-terminated). HY_ERROR on malformed input, a repeated
 * domain or more than GTID_MAX entries; *out is then empty. */
hy_status_t gtid_pos_parse(const char *s, size_t len, struct gtid_pos *out) HY_MUSTCHECK;

/* Parse a state (@@gtid_binlog_state): at most one GTID per
 * (domain, server_id). Same rules otherwise. */
hy_status_t gtid_state_parse(const char *s, size_t len, struct gtid_pos *out) HY_MUSTCHECK;

/* Sequence number of `domain` in position p; 0 when p has no such domain
 * (nothing applied there yet). */
uint64_t gtid_pos_seq(const struct gtid_pos *p, uint32_t domain);

/* True when a has reached b: for every domain of b, a's sequence number
 * there is at least b's. Every position covers the empty one. */
bool gtid_pos_covers(const struct gtid_pos *a, const struct gtid_pos *b);

enum gtid_order gtid_pos_compare(const struct gtid_pos *a, const struct gtid_pos *b);

/* The per-domain maximum of a and b (a server's applied and received
 * positions together give how far it will be once its relay log is
 * applied). a and b are positions (one entry per domain); the GTID kept
 * for a domain is the one with the larger sequence number. */
void gtid_pos_merge(const struct gtid_pos *a, const struct gtid_pos *b, struct gtid_pos *out);

/* Sum of the sequence numbers over the domains: a tie-breaker for
 * positions that diverged, not a measure of anything exact. */
uint64_t gtid_pos_weight(const struct gtid_pos *p);

/* Errant transactions: true when `pos` (a server's @@gtid_binlog_pos) holds
 * a transaction the server whose @@gtid_binlog_state is `state` never had:
 * some GTID d-s-n of pos with no entry d-s-m, m >= n, in state. A server
 * with errant transactions cannot replicate from that other server without
 * losing them or breaking (gtid_strict_mode). */
bool gtid_has_errant(const struct gtid_pos *pos, const struct gtid_pos *state);

/* Whether `state` (another server's @@gtid_binlog_state) holds a
 * transaction server `server_id` wrote that is past `pos` (that server's
 * own @@gtid_binlog_pos) in its domain: the server lost it (crash
 * recovery dropped its tail after a replica had it), and replication will
 * not bring it back, since a server skips events of its own server_id. */
bool gtid_lacks_own(const struct gtid_pos *pos, const struct gtid_pos *state, uint32_t server_id);

/* Whether a replica at `pos` (its @@gtid_current_pos) is past `source`
 * (its source's @@gtid_binlog_pos, read after pos was): some domain of
 * pos that source has, or any domain when source is empty, with a larger
 * sequence number there. A replica cannot have applied what its source
 * never wrote: the source's binary log was reset (RESET MASTER) or the
 * source was replaced, or the replica wrote transactions of its own.
 * *domain is set to the first such domain. */
bool gtid_pos_ahead(const struct gtid_pos *pos, const struct gtid_pos *source, uint32_t *domain);

/* Whether `state` (a server's @@gtid_binlog_state) lacks a transaction
 * server `server_id` wrote that `other` (another server's state) has: for
 * some domain, other's last GTID of that server_id is past this one's
 * (absent = 0). Unlike gtid_lacks_own() this compares states, so later
 * transactions of other servers in the domain do not hide the gap. */
bool gtid_state_lacks(const struct gtid_pos *state, const struct gtid_pos *other,
                      uint32_t server_id);

/* A server's @@gtid_slave_pos made to agree with its own binary log:
 * each domain whose slave position is a GTID of the server's own
 * server_id past the last one its binlog `state` holds of that server_id
 * is set back to its @@gtid_binlog_pos in that domain (dropped when the
 * binlog has none). A server receives its own transactions back from the
 * other server of a dual-master pair and skips them, but its slave
 * position moves on; when crash recovery then truncates them from its
 * binlog (init_rpl_role = SLAVE), that position says it has them, and
 * replication would never send them. *out is pos otherwise; returns
 * whether anything was set back. */
bool gtid_slave_pos_rewind(const struct gtid_pos *pos, const struct gtid_pos *binlog_pos,
                           const struct gtid_pos *state, uint32_t server_id, struct gtid_pos *out);

/* Write p as MariaDB prints it ("0-1-100,1-2-5") into buf; returns the
 * length written (truncated to len - 1 bytes, always NUL-terminated when
 * len > 0). GTID_STR_MAX bytes always suffice. */
size_t gtid_pos_format(const struct gtid_pos *p, char *buf, size_t len);

#endif /* HALYARD_GTID_H */
