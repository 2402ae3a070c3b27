#ifndef HALYARD_SQLFUNC_H
#define HALYARD_SQLFUNC_H

#include <stdbool.h>
#include <stddef.h>

#define SQLFUNC_NAME_MAX 64

/* True when MariaDB takes `name(` (len bytes, any case, not NUL-terminated)
 * for a built-in function or grammar, never for a stored function: a call
 * of any other name may run a routine that writes (sqlfunc.c). */
bool sqlfunc_is_builtin(const char *name, size_t len);

/* The one list of built-ins whose value is not their arguments' alone: the
 * clock, random values and identifiers, the connection's identity, and
 * what the server is right now (sqlfunc.c says where it comes from). The
 * name of the list entry when word p[0..n) (any case) is one of them:
 * `called` true for `word(`, false for the word alone (only those the
 * server also reads without parentheses, CURRENT_TIMESTAMP, CURRENT_USER
 * ...); NULL otherwise. The caller skips a word after `.` (`t.current_date`
 * is a column to the server) and quoted identifiers (not T_WORD). */
const char *sqlfunc_nondeterministic(const unsigned char *p, size_t n, bool called);

#endif /* HALYARD_SQLFUNC_H */
