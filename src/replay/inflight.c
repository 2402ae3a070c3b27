/*
 * inflight.c: see inflight.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/replay/inflight.h"

size_t inflight_mark(char *out, uint32_t boot, uint32_t session, uint64_t seq)
{
    int n = snprintf(out, INFLIGHT_MARK_MAX, "/*hy:%08x-%u-%" PRIu64 "*/ ", boot, session, seq);
    return n < 0 ? 0 : (size_t)n < INFLIGHT_MARK_MAX ? (size_t)n : INFLIGHT_MARK_MAX - 1;
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
