/*
 * scatter_merge.h: the groups' answers to one COM_QUERY, buffered, and
 * the one answer the client gets (issue 15, scatter reads).
 *
 * Each group's answer is read packet by packet (payloads, headers
 * removed) into a struct scatter_part: an OK, an ERR, or a result set
 * (column definitions and rows as the server sent them). The reading side
 * speaks the classic framing (an EOF after the definitions and after the
 * rows: the fan-out's connections do not ask for CLIENT_DEPRECATE_EOF),
 * or with `deprecate_eof` that one (no EOF after the definitions, an OK
 * with header 0xfe after the rows: a session's own connection to a
 * group, which has the client's framing); with `ext_meta` the definitions carry MariaDB's extended
 * metadata, as the client asked for it. A budget bounds the bytes all parts hold.
 *
 * scatter_merge() writes the client's answer as whole packets (sequence
 * ids from 1, in the client's framing: with CLIENT_DEPRECATE_EOF no EOF
 * after the definitions and an OK with header 0xfe at the end), after the
 * plan (scatter_plan.h): rows concatenated, merged on the sort keys,
 * aggregates combined, the union of SHOW DATABASES. The column
 * definitions are the first group's. How a sort key's values compare
 * comes from its column's definition: integers, decimals, floats,
 * DATE/DATETIME/TIME by their canonical text, binary strings by their
 * bytes, strings the statement COLLATEs to a *_bin collation by their
 * bytes without trailing spaces; any other type or collation is refused
 * (the answer's column definition says the character set the values are
 * sent in, not the column's collation). Pure: no I/O.
 */
#ifndef HALYARD_SCATTER_MERGE_H
#define HALYARD_SCATTER_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core/core.h"
#include "halyard/core/textbuf.h"
#include "halyard/route/scatter_plan.h"

enum scatter_part_kind {
    SCATTER_PART_NONE, /* still reading */
    SCATTER_PART_OK,
    SCATTER_PART_ERR,
    SCATTER_PART_ROWS,
};

struct scatter_cell {
    uint8_t *p;
    size_t len;
};

struct scatter_part {
    enum scatter_part_kind kind;
    int phase; /* internal */
    bool ext_meta;
    bool deprecate_eof; /* the answer's framing has CLIENT_DEPRECATE_EOF */
    uint64_t affected, insert_id;
    uint16_t status, warnings;
    struct scatter_cell err; /* SCATTER_PART_ERR: the ERR payload */
    size_t n_cols;
    struct scatter_cell *cols; /* column definition payloads */
    size_t n_rows, rows_cap;
    struct scatter_cell *rows; /* row payloads */
};

/* One packet of the group's answer. HY_AGAIN: more to come; HY_OK: the
 * answer is whole (pt->kind says which); HY_ERROR: `why` says what
 * (malformed, several results, past the budget). *budget is what the
 * parts may still take, decreased by what this one keeps. */
hy_status_t scatter_part_feed(struct scatter_part *pt, const uint8_t *payload, size_t len,
                              size_t *budget, char *why, size_t why_len) HY_MUSTCHECK;
void scatter_part_free(struct scatter_part *pt);

/* The client's answer: whole packets, headers included, in buf
 * (scatter_out_bytes, buf.len bytes). A zeroed one is empty, ready. */
struct scatter_out {
    struct textbuf buf;
    uint8_t seq; /* the next packet's sequence id */
    size_t rows; /* rows written */
};

static inline const uint8_t *scatter_out_bytes(const struct scatter_out *out)
{
    return (const uint8_t *)out->buf.data;
}

/* Merge n parts, all SCATTER_PART_ROWS, per the plan, into out (client
 * capabilities `caps`, final status flags `status`). HY_ERROR: why says
 * why the answers cannot be merged exactly (a 1105's text); HY_NOMEM. */
hy_status_t scatter_merge(const struct scatter_plan *plan, const struct scatter_part *parts,
                          size_t n, uint32_t caps, uint16_t status, struct scatter_out *out,
                          char *why, size_t why_len) HY_MUSTCHECK;
void scatter_out_free(struct scatter_out *out);
/* Building an answer by hand (diag_local.c), from out->seq on: one
 * packet; the column count and `pt`'s definitions (and their EOF unless
 * CLIENT_DEPRECATE_EOF); the terminator (EOF, or OK 0xfe). False when out
 * of memory. */
bool scatter_out_packet(struct scatter_out *out, const uint8_t *p, size_t len);
bool scatter_out_head(struct scatter_out *out, const struct scatter_part *pt, uint32_t caps,
                      uint16_t status);
bool scatter_out_end(struct scatter_out *out, uint32_t caps, uint16_t status, uint16_t warnings);

/* A statement run on several groups (DDL, a reference table's write, a
 * split INSERT): the n parts (names[i] is part i's group; a part of kind
 * SCATTER_PART_NONE with fail[i] set failed in halyard, fail[i] saying
 * why) reported as one answer. Every part an OK: one OK (seq 1) with the
 * affected rows summed (`sum`: each group has its own rows) or the first
 * group's (the groups hold copies of the same rows), the warnings summed,
 * status `status`, last insert id `insert_id`; HY_OK. Else
 * HY_ERROR and `why` the text of a 1105 naming each group and what it
 * answered: "halyard: the statement ran on every group: a: OK, 3 rows;
 * b: ERROR 1050 (42S01): Table 't' already exists". */
hy_status_t scatter_report(const struct scatter_part *parts, const char *const *names,
                           const char *const *fail, size_t n, bool sum, uint16_t status,
                           uint64_t insert_id, struct scatter_out *out, char *why,
                           size_t why_len) HY_MUSTCHECK;

/* What a write on several groups leaves of LAST_INSERT_ID(), by MariaDB's
 * rule for one server: it is the first id the statement generated (the
 * first row, in the statement's order, that got one), and the OK's last
 * insert id is that id; a statement that generated none leaves
 * LAST_INSERT_ID() as it was, and its OK carries the last row's own value
 * of the auto-increment column (0 when it has none). One entry per group
 * whose part succeeded: */
struct scatter_lid {
    uint64_t generated;   /* LAST_INSERT_ID() on its connection after its part; 0: none */
    uint64_t ok_id;       /* its OK's last insert id */
    uint32_t first, last; /* where its rows are among the statement's (copies: 0, 0) */
};

enum scatter_lid_verdict {
    SCATTER_LID_KEEP,    /* none generated: LAST_INSERT_ID() stays as it was */
    SCATTER_LID_SET,     /* it is *lid now */
    SCATTER_LID_UNKNOWN, /* ids generated, but which one came first is not known */
};

/* `copies`: each group ran the same rows (a reference table's write);
 * else each its own rows of one INSERT (a split), and `gen_at` is the
 * entry whose rows hold the statement's first row that generates an id
 * (from the INSERT's text and the table's auto-increment column), -1
 * when that is not known. *ok_id: the OK's last insert id (0 when
 * UNKNOWN). Pure. */
enum scatter_lid_verdict scatter_insert_id(const struct scatter_lid *v, size_t n, bool copies,
                                           int gen_at, uint64_t *lid, uint64_t *ok_id);
const char *scatter_lid_verdict_to_str(enum scatter_lid_verdict v);

/* Compare two DECIMAL texts ("-12.50", "3"): <0, 0, >0. Exposed for the
 * unit tests. */
int scatter_dec_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn);
/* a + b of two DECIMAL texts into out (NUL-terminated); false when it
 * does not fit or a text is not a decimal. */
bool scatter_dec_add(const char *a, const char *b, char *out, size_t cap);

#endif /* HALYARD_SCATTER_MERGE_H */
