/*
 * quote.c: see quote.h.
 */
#include "halyard/sql/quote.h"

size_t sql_quote(char *out, size_t cap, const char *s, enum sql_quote_mode mode)
{
    size_t o = 0;
    if (cap < 3)
        goto too_long;
    out[o++] = '\'';
    for (; *s != '\0'; s++) {
        bool twice = *s == '\'' || (*s == '\\' && mode == SQ_BACKSLASH);
        if (o + (twice ? 2 : 1) + 2 > cap) /* room for it, the closing quote and the NUL */
            goto too_long;
        if (twice)
            out[o++] = *s; /* '' under any sql_mode; \\ where \ escapes */
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
