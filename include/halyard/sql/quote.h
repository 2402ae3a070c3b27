/*
 * quote.h: one SQL string quoter for the statements halyard writes itself
 * (GET_LOCK, CHANGE MASTER, MASTER_GTID_WAIT...). Pure.
 *
 * The literal is '...' with ' and \ escaped by a backslash, which MariaDB
 * reads back as the same bytes unless sql_mode has NO_BACKSLASH_ESCAPES;
 * a value a client chose and that must survive any sql_mode is written as
 * hex instead (varstate.c).
 */
#ifndef HALYARD_QUOTE_H
#define HALYARD_QUOTE_H

#include "halyard/core/core.h"

/* `s` as a quoted SQL string literal into out (cap bytes, NUL included).
 * Returns the literal's length, or 0 when it does not fit in full: out
 * is then "" and nothing is cut short. */
size_t sql_quote(char *out, size_t cap, const char *s) HY_MUSTCHECK;

#endif /* HALYARD_QUOTE_H */
