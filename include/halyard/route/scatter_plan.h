/*
 * scatter_plan.h: whether halyard can merge the answers of several groups
 * to one SELECT exactly, and how (issue 15, scatter reads).
 *
 * scatter_plan_make() reads a statement's text with the real lexer
 * (lexer.h) at the top level of its parentheses and gives one of:
 *  - SCATTER_CONCAT: the groups' rows one after the other (no ORDER BY,
 *    no aggregate, no DISTINCT, no GROUP BY); with a LIMIT, each group is
 *    sent LIMIT offset+count and the concatenation is cut the same way
 *    (without ORDER BY, SQL leaves which rows a LIMIT keeps open);
 *  - SCATTER_SORTED: ORDER BY selected columns (by name, alias or
 *    position), each group's rows merged k-way; with LIMIT [OFFSET] each
 *    group is sent LIMIT offset+count without the OFFSET; with DISTINCT
 *    (keys covering every column) equal neighbours are dropped;
 *  - SCATTER_AGG: only COUNT/SUM/MIN/MAX items, no GROUP BY: one row,
 *    combined;
 *  - SCATTER_DATABASES: SHOW DATABASES / SCHEMAS [LIKE | WHERE]: the union,
 *    sorted as the server sorts it, each name once;
 *  - SCATTER_REFUSE: `why` says why (the text of a 1105).
 * How values compare (types, collations) is known only from the answers'
 * column definitions: scatter_merge.h checks that part.
 *
 * Pure: no I/O; the plan owns a copy of the text each group runs
 * (scatter_plan_free). tests/unit/test_scatter.c tests it.
 */
#ifndef HALYARD_SCATTER_PLAN_H
#define HALYARD_SCATTER_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core/core.h"

#define SCATTER_MAX_KEYS  16 /* ORDER BY keys */
#define SCATTER_MAX_ITEMS 64 /* select items described (aggregates, collations) */
#define SCATTER_NAME_MAX  64

enum scatter_shape {
    SCATTER_REFUSE,
    SCATTER_CONCAT,
    SCATTER_SORTED,
    SCATTER_AGG,
    SCATTER_DATABASES,
};

enum scatter_agg {
    SCATTER_AGG_COUNT,
    SCATTER_AGG_SUM,
    SCATTER_AGG_MIN,
    SCATTER_AGG_MAX,
};

/* An ORDER BY key: a result column by its 1-based position, or by name
 * (matched against the answers' column names, as MariaDB resolves an
 * ORDER BY name to a select alias first). */
struct scatter_key {
    uint16_t pos; /* 0: by name */
    char name[SCATTER_NAME_MAX + 1];
    bool desc;
};

struct scatter_plan {
    enum scatter_shape shape;
    char why[512]; /* SCATTER_REFUSE */
    char *text;    /* what each group runs (heap, NUL-terminated) */
    size_t text_len;
    bool has_limit;
    uint64_t limit, offset;
    bool distinct;
    size_t n_keys;
    struct scatter_key keys[SCATTER_MAX_KEYS];
    /* per select item, in order; n_items == 0 when the list has `*` */
    size_t n_items;
    enum scatter_agg agg[SCATTER_MAX_ITEMS]; /* SCATTER_AGG */
    /* the item ends in COLLATE <charset>_bin: its strings compare as
     * that collation does (code points, trailing spaces ignored) */
    bool bin_collate[SCATTER_MAX_ITEMS];
    /* made by scatter_plan_make_joined(joins_ok): the caller knows each
     * row of the statement's joins is on one group only */
    bool joined;
    /* made by scatter_plan_make_in(locks_ok): the groups' parts run in
     * one transaction across them (XA), where a locking read (FOR UPDATE,
     * FOR SHARE, LOCK IN SHARE MODE) locks the rows each group reads, as
     * it does on one server; else such a read is refused */
    bool locks_ok;
    bool locking; /* ... and this one is */
};

/* Plan the statement (`len` bytes of `sql`, lexed with `lex_opts`, CLO_*).
 * HY_OK with out->shape (SCATTER_REFUSE and out->why included); HY_NOMEM.
 * out is always safe to scatter_plan_free(). */
hy_status_t scatter_plan_make(const char *sql, size_t len, unsigned lex_opts,
                              struct scatter_plan *out) HY_MUSTCHECK;
/* The same, for a read whose joins the caller knows to be exact per group
 * (joins_ok: a sharded table joined with reference tables only,
 * shard_key.h ref_join): a join is then planned like one table, except
 * that an ORDER BY key must not be a qualified name (it may name a column
 * that is not the selected one of that name). */
hy_status_t scatter_plan_make_joined(const char *sql, size_t len, unsigned lex_opts, bool joins_ok,
                                     struct scatter_plan *out) HY_MUSTCHECK;
/* The same, `locks_ok` as above. */
hy_status_t scatter_plan_make_in(const char *sql, size_t len, unsigned lex_opts, bool joins_ok,
                                 bool locks_ok, struct scatter_plan *out) HY_MUSTCHECK;
void scatter_plan_free(struct scatter_plan *p);
const char *scatter_shape_to_str(enum scatter_shape s);

/* Whether the text is SHOW DATABASES / SHOW SCHEMAS (with or without
 * LIKE / WHERE). */
bool scatter_is_show_databases(const char *sql, size_t len, unsigned lex_opts);

#endif /* HALYARD_SCATTER_PLAN_H */
