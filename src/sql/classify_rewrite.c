/*
 * classify_rewrite.c: CONNECTION_ID(), FOUND_ROWS() and ROW_COUNT() calls
 * the classifier found (struct classify_connid), written over with their
 * values, and the select items they were in named as the client wrote
 * them; see classify.h.
 */
#include <stdio.h>
#include <string.h>

#include "halyard/sql/classify.h"

size_t classify_connid_bound(const struct classify_connid *cid, size_t len)
{
    for (uint32_t k = 0; k < cid->nalias; k++)
        len += 6 + 2 * (size_t)cid->alias[k].len; /* " AS `...`", each ` doubled */
    for (uint32_t k = 0; k < cid->n; k++) {
        len++; /* a space before a number (classify_calls_rewrite) */
        if (cid->kind[k] != CLASSIFY_CALL_CONNECTION_ID)
            len += CLASSIFY_CALL_VALUE_MAX; /* a value where `ROW_COUNT()` was */
    }
    return len;
}

/* Copy n bytes to out[o...] as far as cap allows; the new length. */
static size_t put(char *out, size_t cap, size_t o, const char *p, size_t n)
{
    if (o < cap)
        memcpy(out + o, p, HY_MIN(n, cap - o));
    return o + n;
}

size_t classify_connid_rewrite(const char *sql, size_t len, const struct classify_connid *cid,
                               uint32_t id, char *out, size_t cap)
{
    char num[16];
    snprintf(num, sizeof(num), "%u", id);
    const char *const value[CLASSIFY_CALL__COUNT] = {num, NULL, NULL};
    return classify_calls_rewrite(sql, len, cid, value, out, cap);
}

size_t classify_calls_rewrite(const char *sql, size_t len, const struct classify_connid *cid,
                              const char *const value[CLASSIFY_CALL__COUNT], char *out, size_t cap)
{
    size_t at = 0, o = 0;
    uint32_t k = 0, a = 0;
    for (;;) {
        /* the next change: a call to replace, or the end of an item to name */
        size_t call = k < cid->n ? cid->call[k].off : SIZE_MAX;
        size_t name = a < cid->nalias ? (size_t)cid->alias[a].off + cid->alias[a].len : SIZE_MAX;
        size_t next = HY_MIN(call, name);
        if (next == SIZE_MAX || next < at || next > len)
            break;
        o = put(out, cap, o, sql + at, next - at);
        at = next;
        if (call <= name) {
            const char *v = value[cid->kind[k] < CLASSIFY_CALL__COUNT ? cid->kind[k] : 0];
            if (v != NULL) {
                /* a number right after an executable comment's opener
                 * (slash, star, '!', then CONNECTION_ID() or 50000 and
                 * the call) would be read as the server version it
                 * needs: a space apart */
                if (v[0] >= '0' && v[0] <= '9' && call > 0 &&
                    (sql[call - 1] == '!' || (sql[call - 1] >= '0' && sql[call - 1] <= '9')))
                    o = put(out, cap, o, " ", 1);
                o = put(out, cap, o, v, strnlen(v, CLASSIFY_CALL_VALUE_MAX));
                at = call + cid->call[k].len;
            }
            k++;
            continue;
        }
        const struct classify_span *al = &cid->alias[a++];
        o = put(out, cap, o, " AS `", 5);
        for (size_t i = al->off; i < (size_t)al->off + al->len; i++) {
            o = put(out, cap, o, sql + i, 1);
            if (sql[i] == '`')
                o = put(out, cap, o, "`", 1);
        }
        o = put(out, cap, o, "`", 1);
    }
    return put(out, cap, o, sql + at, len - at);
}
