/*
 * diag_local.h: the diagnostics area of a statement halyard ran on every
 * group (issue 15: scatter reads, every-group writes), kept by halyard and
 * answered by it. Pure: no I/O.
 *
 * After such a statement the session's own connection has not run it, so
 * SHOW WARNINGS there would tell an earlier statement's conditions.
 * halyard keeps instead what each group's connection said right after the
 * statement: its SHOW WARNINGS answer (column definitions as the server
 * sent them, in the session's character set) and its @@warning_count,
 * @@error_count and @@max_error_count. The conditions are listed in group
 * order, at most @@max_error_count of them, as one server would list its
 * own; the counts are summed. An error halyard itself answered the
 * statement with is the one condition, as a server's error would be.
 *
 * The statements answered: SHOW WARNINGS and SHOW ERRORS (with LIMIT
 * [offset,] count or LIMIT count OFFSET offset), SHOW COUNT(*) WARNINGS and
 * SHOW COUNT(*) ERRORS, and SELECT of @@warning_count or @@error_count
 * alone (any scope prefix MariaDB takes, an alias). Any other statement
 * that reads the diagnostics (GET DIAGNOSTICS, an expression of them) is
 * refused with a 1105 rather than answered from the wrong statement.
 */
#ifndef HALYARD_DIAG_LOCAL_H
#define HALYARD_DIAG_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core/core.h"
#include "halyard/route/scatter_merge.h"

struct diag_local {
    uint64_t warnings, errors; /* @@warning_count, @@error_count */
    uint64_t max;              /* rows SHOW WARNINGS lists at most */
    /* A SHOW WARNINGS answer: the definitions (n_cols 0: none known yet)
     * and every group's rows in group order. */
    struct scatter_part list;
    /* Non-empty: halyard could not read them (a group's connection failed
     * before it told them): why. A statement reading them is refused. */
    char unknown[256];
};

enum diag_form {
    DIAG_OTHER,    /* reads the diagnostics in a way halyard does not answer */
    DIAG_WARNINGS, /* SHOW WARNINGS */
    DIAG_ERRORS,   /* SHOW ERRORS */
    DIAG_COUNT,    /* SHOW COUNT(*) WARNINGS|ERRORS, SELECT @@warning_count|@@error_count */
};

struct diag_query {
    enum diag_form form;
    bool errors; /* DIAG_COUNT of errors, not warnings */
    bool has_limit;
    uint64_t limit, offset;
    /* DIAG_COUNT: the column's name, in the text (SELECT: as written or
     * its alias) or "@@session.warning_count" / "@@session.error_count" */
    const char *name;
    size_t name_len;
};

/* Which of the forms the `len` bytes at `sql` are (lexed with CLO_*
 * `lex_opts`); q->name may point into `sql`. */
void diag_query_parse(const char *sql, size_t len, unsigned lex_opts, struct diag_query *q);

/* Add one group's conditions: `sw` its whole SHOW WARNINGS answer
 * (SCATTER_PART_ROWS; its definitions are kept if none are yet), its
 * counts. The rows past d->max are dropped. HY_ERROR: `sw` is not a
 * three-column result. */
hy_status_t diag_local_add(struct diag_local *d, const struct scatter_part *sw, uint64_t warnings,
                           uint64_t errors, uint64_t max) HY_MUSTCHECK;

/* An error halyard answered the statement with becomes its one
 * condition; HY_ERROR when no definitions are known (d->unknown then
 * says so). */
hy_status_t diag_local_own_error(struct diag_local *d, uint16_t code, const char *msg) HY_MUSTCHECK;

/* The answer to `q` (not DIAG_OTHER) in the client's framing (`caps`;
 * `ext_meta`: MariaDB's extended metadata in definitions), final status
 * flags `status`. HY_ERROR when a list is asked for and no definitions
 * are known. */
hy_status_t diag_local_answer(const struct diag_local *d, const struct diag_query *q, uint32_t caps,
                              bool ext_meta, uint16_t status, struct scatter_out *out) HY_MUSTCHECK;

void diag_local_free(struct diag_local *d);

#endif /* HALYARD_DIAG_LOCAL_H */
