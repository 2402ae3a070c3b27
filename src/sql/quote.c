/*
 * quote.c: see quote.h.
 */
#include "halyard/sql/quote.h"

size_t sql_quote(char *out, size_t cap, const char *s)
{
    size_t o = 0;
    if (cap < 3)
        goto too_long;
    out[o++] = '\'';
    for (; *s != '\0'; s++) {
        size_t need = *s == '\'' || *s == '\\' ? 2 : 1;
        if (o + need + 2 > cap) /* room for it, the closing quote and the NUL */
            goto too_long;
        if (need == 2)
            out[o++] = '\\';
        out[o++] = *s;
    }
    out[o++] = '\'';
    out[o] = '\0';
    return o;
too_long:
    if (cap > 0)
        out[0] = '\0';
    return 0;
}
