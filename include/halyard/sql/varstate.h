/*
 * varstate.h: a MariaDB session's state as values, and the commands that
 * bring a connection from one state to another.
 *
 * A varstate holds what a client set in its session, by value: system
 * variables and user variables (name -> typed value), the default schema,
 * the multi-statements option, and the few statements that set state which
 * has no variable to read back (SET ROLE, SET SESSION TRANSACTION). It is
 * pure data: no I/O, no protocol; the values come from wherever the caller
 * learned them (readback.h asks the server after a SET).
 *
 * Values are literals, never expressions: `SET @id = LAST_INSERT_ID()` is
 * kept as the integer the primary computed, so replaying it elsewhere gives
 * the same value, not that server's LAST_INSERT_ID().
 *
 * varstate_apply(conn, want) renders the smallest list of commands that
 * brings a connection whose state is `conn` to `want`: only what differs,
 * variables packed into as few SETs as fit a size bound. It is meant for a
 * session's other backends (conn = what that backend has run) and for
 * pooled connections (conn = the pooled connection's state).
 *
 * Memory is bounded: a varstate refuses (HY_ERROR) a change that would take
 * it past the byte budget given to varstate_create(); the caller then falls
 * back on keeping the session where its state is.
 */
#ifndef HALYARD_VARSTATE_H
#define HALYARD_VARSTATE_H

#include "halyard/core/core.h"

#define VARSTATE_NAME_MAX      64 /* bytes of a variable's name */
#define VARSTATE_COLLATION_MAX 64 /* bytes of a collation's name */

enum varstate_scope {
    VS_SYSTEM, /* a session system variable: @@session.name */
    VS_USER,   /* a user variable: @name */
};

enum varstate_type {
    VS_NULL,
    VS_INT,     /* signed integer: `data` is its decimal digits, '-' first if negative */
    VS_UINT,    /* unsigned integer: decimal digits */
    VS_DOUBLE,  /* double as the server prints it (shortest text that reads back exactly) */
    VS_DECIMAL, /* exact decimal: digits, '-' and one '.', the scale as written */
    VS_STRING,  /* character string: `data` its bytes in `collation`'s character set */
    VS_BINARY,  /* binary string */
    VS_DEFAULT, /* a system variable set to DEFAULT (the global value, whatever it is then) */
};

/* A value; the pointers are the caller's (varstate_set copies them).
 * `null`: SQL NULL of that type (data unused), as `SET @d = 1/0` leaves a
 * DECIMAL NULL and `SET @s = IF(0, 'x', NULL)` a string one; VS_NULL is a
 * NULL of no type (`SET @x = NULL`). */
struct varstate_value {
    enum varstate_type type;
    const uint8_t *data;
    size_t len;
    const char *collation; /* VS_STRING: the collation's name, e.g. "utf8mb4_general_ci" */
    bool null;
};

struct varstate;

/* An empty state (a connection as it was just logged in); NULL when out
 * of memory. `max_bytes` bounds what it holds (names, values, statements). */
struct varstate *varstate_create(size_t max_bytes);
void varstate_destroy(struct varstate *vs);
/* Back to empty. */
void varstate_clear(struct varstate *vs);
/* dst becomes a copy of src (dst's budget stays dst's). HY_ERROR when src
 * does not fit dst's budget, HY_NOMEM; dst is then empty. */
hy_status_t varstate_copy(struct varstate *dst, const struct varstate *src) HY_MUSTCHECK;
bool varstate_equal(const struct varstate *a, const struct varstate *b);
/* The same variables of `scope`, with the same typed values. */
bool varstate_scope_equal(const struct varstate *a, const struct varstate *b,
                          enum varstate_scope scope);
/* Bytes held, as counted against the budget. */
size_t varstate_bytes(const struct varstate *vs);

/* Whether `name` can be a variable's name here: 1 to VARSTATE_NAME_MAX
 * bytes, none of them a quote, backquote, backslash or control character;
 * a system variable's only letters, digits and '_'. */
bool varstate_name_valid(enum varstate_scope scope, const char *name, size_t len);

/* Set a variable (names are case-insensitive). HY_ERROR for an invalid
 * name or value (a VS_INT that is not digits...) or past the budget; the
 * state is then unchanged. */
hy_status_t varstate_set(struct varstate *vs, enum varstate_scope scope, const char *name,
                         size_t name_len, const struct varstate_value *v) HY_MUSTCHECK;
/* Forget a variable: as if it was never set (varstate_apply then resets it
 * where a connection has it). Returns whether it was there. */
bool varstate_unset(struct varstate *vs, enum varstate_scope scope, const char *name,
                    size_t name_len);
/* The variable's value (pointers into vs, valid until it changes); false
 * when it was never set. */
bool varstate_get(const struct varstate *vs, enum varstate_scope scope, const char *name,
                  size_t name_len, struct varstate_value *out);
/* Variables set, per scope. */
uint32_t varstate_count(const struct varstate *vs, enum varstate_scope scope);

/* The default schema (COM_INIT_DB, USE); NULL when never changed. */
hy_status_t varstate_set_schema(struct varstate *vs, const char *db, size_t len) HY_MUSTCHECK;
/* Back to no schema (the login's). */
void varstate_clear_schema(struct varstate *vs);
const char *varstate_schema(const struct varstate *vs);
/* COM_SET_OPTION's option (0 = multi-statements on, 1 = off); -1 = never set. */
void varstate_set_option(struct varstate *vs, int option);
int varstate_option(const struct varstate *vs);
/* A statement to replay as written, after those before it: for state no
 * variable reads back. The same text twice in a row is kept once. */
hy_status_t varstate_add_stmt(struct varstate *vs, const char *sql, size_t len) HY_MUSTCHECK;
/* Statement `i` of those (in order; pointers into vs); false past the last. */
bool varstate_stmt_get(const struct varstate *vs, uint32_t i, const char **sql, size_t *len);
/* Drop statement `i` (those after it move up); false past the last. */
bool varstate_stmt_drop(struct varstate *vs, uint32_t i);

/* Commands, each a command payload (command byte first: COM_QUERY + SQL,
 * COM_INIT_DB + name, COM_SET_OPTION + option). */
struct varstate_cmd {
    uint8_t *pkt;
    uint32_t len;
};

struct varstate_cmds {
    struct varstate_cmd *v;
    uint32_t n, cap;
};

/*
 * The commands that bring a connection in state `conn` to `want`, appended
 * to *out: COM_SET_OPTION if the option differs, COM_INIT_DB if the schema
 * does, then SETs of the system variables that differ (in name order, so
 * character_set_* come before collation_*), of the user variables that
 * differ, then the statements `want` has past those `conn` has. A variable
 * `conn` has and `want` has not goes back to what the login left: a user
 * variable to NULL, a system variable to DEFAULT (its global value), except
 * the four the login sets from its collation (character_set_client,
 * _connection, _results, collation_connection), which go back to
 * `login_cs`, the collation id the connection logged in with (0: unknown,
 * DEFAULT). Each SET stays under `max_cmd` bytes (several are made when
 * needed).
 *
 * HY_ERROR when `want` cannot be reached from `conn` without reconnecting
 * (`conn` has a schema, an option or statements `want` has not), or when
 * one assignment alone is larger than `max_cmd`; HY_NOMEM. *out then holds
 * what it held before.
 */
hy_status_t varstate_apply(const struct varstate *conn, const struct varstate *want,
                           uint8_t login_cs, size_t max_cmd,
                           struct varstate_cmds *out) HY_MUSTCHECK;
void varstate_cmds_free(struct varstate_cmds *c);
/* Append one command (`cmd` and its body) of the caller's own. */
hy_status_t varstate_cmds_push(struct varstate_cmds *c, uint8_t cmd, const void *body,
                               size_t n) HY_MUSTCHECK;

/* Render one value as a literal (what varstate_apply writes after `=`):
 * NULL, DEFAULT, 42, CAST(-42 AS SIGNED), CAST(42 AS UNSIGNED), 1.5e0, 1.50,
 * _binary X'00FF', _utf8mb4 X'C3A9' COLLATE utf8mb4_general_ci; a typed
 * NULL as CAST(NULL AS SIGNED), CONVERT(NULL USING utf8mb4) COLLATE .... Returns the
 * length it needs; writes at most cap-1 bytes and a NUL. 0 for an invalid
 * value. */
size_t varstate_literal(const struct varstate_value *v, char *out, size_t cap);

#endif /* HALYARD_VARSTATE_H */
