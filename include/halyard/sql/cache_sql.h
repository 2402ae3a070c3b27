/*
 * cache_sql.h: whether a SELECT's answer may be cached, and the tables it
 * reads (the query cache, issue 30), from its text alone.
 *
 * Conservative by design: anything this code cannot prove harmless is
 * refused, never guessed. Accepted: one SELECT (UNION of SELECTs too)
 * whose FROM and JOIN clauses name base tables by name (`t`, `db.t`,
 * quoted or not, with aliases), calling only built-in functions whose
 * value depends on their arguments alone (a short list: aggregates,
 * arithmetic, string and null functions). Refused: another statement, a
 * subquery or derived table, user and system variables, `?`, any other
 * function call (NOW(), RAND(), UUID(), USER(), a stored function ...),
 * a name of a system schema (mysql, information_schema,
 * performance_schema, sys), an unqualified name without a default schema,
 * `SQL_NO_CACHE`, a `halyard:nocache` comment, `SQL_CALC_FOUND_ROWS` or a
 * LIMIT with an offset (a comma or OFFSET after LIMIT: FOUND_ROWS() after
 * them is not the count of the rows, which is what a hit tells), more than
 * CACHE_SQL_MAX_TABLES tables. The caller still refuses by the
 * classifier's flags (locking reads, INTO, transactions) and must refuse
 * views and temporary tables, which the text cannot tell from tables.
 *
 * A point lookup is told apart (for per-row invalidation): one table
 * named once (no JOIN, no UNION), and a WHERE clause that is a
 * conjunction at its top level (no OR, XOR, ||, BETWEEN or CASE outside
 * parentheses) of which one term is `col = V` or `col IN (V, ...)`, the
 * term between WHERE or AND and AND, GROUP, HAVING, ORDER, LIMIT, WINDOW,
 * `;` or the end, each V a number literal (an optional minus, decimal
 * digits, an optional dot and decimals: at most 65 digits, 30 decimals;
 * not 1e3 nor 0x1F) or a string literal in single quotes without an
 * escape (no backslash, no doubled quote; not N'x', _cs'x' nor "x"). Such
 * a statement reads only rows whose `col` compares equal to one of the Vs
 * (cache_keyval.h says, by the column's type, which values those are).
 * Pure; tested in tests/unit/test_cache_sql.c.
 */
#ifndef HALYARD_CACHE_SQL_H
#define HALYARD_CACHE_SQL_H

#include <stdbool.h>
#include <stddef.h>

#define CACHE_SQL_MAX_TABLES 8
#define CACHE_SQL_NAME_MAX   130 /* "schema.table" and the NUL */

enum cache_sql_verdict {
    CACHE_SQL_OK = 0,
    CACHE_SQL_NOT_SELECT, /* not one SELECT */
    CACHE_SQL_NOCACHE,    /* SQL_NO_CACHE or halyard:nocache */
    CACHE_SQL_VARIABLE,   /* @x, @@x, ? */
    CACHE_SQL_FUNCTION,   /* a call not known to be deterministic */
    CACHE_SQL_SUBQUERY,   /* a subquery, a derived table, a parenthesised join */
    CACHE_SQL_NO_TABLE,   /* no table (nothing would ever invalidate it) */
    CACHE_SQL_SYSTEM,     /* a system schema's table */
    CACHE_SQL_NO_SCHEMA,  /* an unqualified table and no default schema */
    CACHE_SQL_TOO_MANY,   /* more tables than CACHE_SQL_MAX_TABLES */
    CACHE_SQL_FOUND_ROWS, /* SQL_CALC_FOUND_ROWS, or LIMIT with an offset: FOUND_ROWS() after
                             it is not the count of its rows */
};

#define CACHE_SQL_MAX_KEYS  16 /* values of an IN list a point lookup may name */
#define CACHE_SQL_VALUE_MAX 80 /* a value: "-" 65 digits "." and a NUL; "'" 78 bytes and a NUL */

struct cache_sql {
    unsigned ntables;
    char tables[CACHE_SQL_MAX_TABLES][CACHE_SQL_NAME_MAX]; /* "schema.table", lower case */
    /* a point lookup on tables[0]: its column and values, distinct: a
     * number as cache_sql_number writes it, a string as "'" and its
     * content as written; nkeys 0 when it is not one */
    unsigned nkeys;
    char key_col[65];
    char key_vals[CACHE_SQL_MAX_KEYS][CACHE_SQL_VALUE_MAX];
};

/* The decimal number p[0..n) (digits, at most one dot; `neg`: a minus
 * before it) in canonical form into out (cap bytes): no leading zero but
 * the one before a dot, no trailing decimal zero, no dot without
 * decimals, "-" only before a value that is not zero: "007" "7", "1.50"
 * "1.5", ".5" "0.5", "-0.0" "0". False when it is not such a number, has
 * over 65 digits (the server reads a DOUBLE) or over 30 decimals, or
 * does not fit. */
bool cache_sql_number(const char *p, size_t n, bool neg, char *out, size_t cap);

const char *cache_sql_verdict_str(enum cache_sql_verdict v);

/* `schema`: the session's default schema, NULL or "" when none. `opts`:
 * CLO_* (classify.h). */
enum cache_sql_verdict cache_sql_tables(const char *sql, size_t len, unsigned opts,
                                        const char *schema, struct cache_sql *out);

/* The one table a statement-format write changes (the query cache's
 * reader of the binary log, issue 30), qualified with `schema` (the
 * event's default database) when unqualified, into out->tables[0]:
 * CACHE_SQL_OK only for one INSERT, REPLACE, UPDATE or DELETE of one
 * table (`INSERT [opts] [INTO] t ...`, `UPDATE [opts] t [alias] SET ...`,
 * `DELETE [opts] FROM t ...`), with no SELECT, CALL, variable, `;`, second
 * table (a comma before SET/VALUES/WHERE, JOIN, USING), PARTITION, a call
 * of anything but a built-in function known not to be a routine, nor a
 * backslash or double quote anywhere (their meaning hangs on a sql_mode
 * the event's text does not carry), nor an executable comment (whether
 * it runs hangs on the server's version). Anything else: a verdict other than
 * OK (the reader then drops everything). What the server does beyond the
 * statement (triggers, cascades) is the caller's to know. */
enum cache_sql_verdict cache_sql_written(const char *sql, size_t len, unsigned opts,
                                         const char *schema, struct cache_sql *out);

#endif /* HALYARD_CACHE_SQL_H */
