/*
 * backup_expand.c: see backup_expand.h.
 */
#include <stdbool.h>
#include <string.h>

#include "halyard/backup/backup_expand.h"

static bool put_quoted(char **o, char *end, const char *s)
{
    if (*o >= end)
        return false;
    *(*o)++ = '\'';
    for (; *s; s++) {
        const char *piece = *s == '\'' ? "'\\''" : NULL;
        size_t n = piece != NULL ? 4 : 1;
        if ((size_t)(end - *o) <= n)
            return false;
        if (piece != NULL)
            memcpy(*o, piece, n);
        else
            **o = *s;
        *o += n;
    }
    if (*o >= end)
        return false;
    *(*o)++ = '\'';
    return true;
}

hy_status_t backup_expand(const char *tmpl, const char *letters, const char *const values[],
                          char *out, size_t cap)
{
    if (cap == 0)
        return HY_ERROR;
    char *o = out, *end = out + cap - 1;
    for (const char *p = tmpl; *p; p++) {
        if (*p != '%') {
            if (o >= end)
                return HY_ERROR;
            *o++ = *p;
            continue;
        }
        p++;
        bool ok;
        const char *l = *p != '\0' ? strchr(letters, *p) : NULL;
        if (*p == '%') {
            ok = o < end;
            if (ok)
                *o++ = '%';
        } else if (l != NULL) {
            ok = values[l - letters] == NULL || put_quoted(&o, end, values[l - letters]);
        } else {
            ok = false;
        }
        if (!ok)
            return HY_ERROR;
    }
    *o = '\0';
    return HY_OK;
}
