/*
 * inflight.c: see inflight.h.
 */
#include <stdlib.h>
#include <string.h>

#include "halyard/replay/inflight.h"

/* `v` in decimal at `out`; its length. */
static size_t put_dec(char *out, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* By hand, not snprintf: it runs for every write (snprintf took ~1,800
 * instructions a write, this ~150). */
size_t inflight_mark(char *out, uint32_t boot, uint32_t session, uint64_t seq)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    memcpy(out, "/*hy:", 5);
    n = 5;
    for (int i = 7; i >= 0; i--)
        out[n++] = hex[(boot >> (4 * i)) & 0xf];
    out[n++] = '-';
    n += put_dec(out + n, session);
    out[n++] = '-';
    n += put_dec(out + n, seq);
    memcpy(out + n, "*/ ", 4); /* with its NUL: 5+8+1+10+1+20+3 < INFLIGHT_MARK_MAX */
    return n + 3;
}

bool inflight_info_has(const char *info, const char *mark, size_t mark_len)
{
    if (info == NULL || mark_len == 0)
        return false;
    /* the mark ends with its own "*\/": seq 1 never matches seq 12 */
    for (const char *p = strchr(info, mark[0]); p != NULL; p = strchr(p + 1, mark[0]))
        if (strncmp(p, mark, mark_len) == 0)
            return true;
    return false;
}

bool inflight_file_began_before(const char *info, const struct gtid_pos *before)
{
    if (info == NULL)
        return false;
    const char *open = strchr(info, '[');
    const char *close = open != NULL ? strchr(open, ']') : NULL;
    if (close == NULL)
        return false;
    struct gtid_pos st;
    if (close == open + 1)
        return true; /* "[]": the first file, before any transaction */
    if (gtid_state_parse(open + 1, (size_t)(close - open - 1), &st) != HY_OK)
        return false;
    for (uint32_t i = 0; i < st.n; i++)
        if (st.g[i].seq > gtid_pos_seq(before, st.g[i].domain))
            return false;
    return true;
}

uint64_t inflight_insert_id(const char *info)
{
    static const char key[] = "INSERT_ID=";
    if (info == NULL || strncmp(info, key, sizeof(key) - 1) != 0)
        return 0;
    return strtoull(info + sizeof(key) - 1, NULL, 10);
}
