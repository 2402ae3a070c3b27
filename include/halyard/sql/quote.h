/*
 * quote.h: one SQL string quoter for the statements halyard writes itself
 * (GET_LOCK, CHANGE MASTER, MASTER_GTID_WAIT, KILL USER's read...). Pure.
 *
 * The literal is '...' with ' doubled (read the same under any sql_mode)
 * and \ escaped by a backslash unless the connection's sql_mode has
 * NO_BACKSLASH_ESCAPES (SQ_NO_BACKSLASH), where a backslash is itself. A
 * value a client chose and that must survive any sql_mode is written as
 * hex instead (varstate.c).
 */
#ifndef HALYARD_QUOTE_H
#define HALYARD_QUOTE_H

#include "halyard/core/core.h"

/* How the connection that reads the literal reads a backslash. */
enum sql_quote_mode {
    SQ_BACKSLASH = 0,    /* an escape: the server's default sql_mode */
    SQ_NO_BACKSLASH = 1, /* sql_mode has NO_BACKSLASH_ESCAPES */
};

/* `s` as a quoted SQL string literal into out (cap bytes, NUL included),
 * for a connection reading backslashes as `mode` says. Returns the
 * literal's length, or 0 when it does not fit in full: out is then "" and
 * nothing is cut short. */
size_t sql_quote(char *out, size_t cap, const char *s, enum sql_quote_mode mode) HY_MUSTCHECK;

#endif /* HALYARD_QUOTE_H */
