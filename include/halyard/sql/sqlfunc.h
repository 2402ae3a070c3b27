#ifndef HALYARD_SQLFUNC_H
#define HALYARD_SQLFUNC_H

#include <stdbool.h>
#include <stddef.h>

#define SQLFUNC_NAME_MAX 64

/* True when MariaDB takes `name(` (len bytes, any case, not NUL-terminated)
 * for a built-in function or grammar, never for a stored function: a call
 * of any other name may run a routine that writes (sqlfunc.c). */
bool sqlfunc_is_builtin(const char *name, size_t len);

#endif /* HALYARD_SQLFUNC_H */
