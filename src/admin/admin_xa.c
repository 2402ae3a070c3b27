/*
 * admin_xa.c: `show xa`, the transactions across groups in doubt
 * (xa_recover.h) as a table or JSON with the same column names (xid,
 * groups, decision, age_s, note). Pure: the list comes in as a copy.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "admin_int.h"
#include "halyard/admin/admin.h"
#include "halyard/cluster/xa_recover.h"

static int64_t age_s(const struct xa_in_doubt *x, int64_t now)
{
    return now > x->since ? now - x->since : 0;
}

static void xa_json(struct textbuf *sb, const struct xa_in_doubt *v, size_t n, int64_t now)
{
    textbuf_puts(sb, "{\"in_doubt\":[");
    for (size_t i = 0; i < n; i++) {
        textbuf_puts(sb, i ? ",{\"xid\":" : "{\"xid\":");
        textbuf_json_str(sb, v[i].gtrid);
        textbuf_puts(sb, ",\"groups\":[");
        char g[sizeof(v[i].groups)];
        snprintf(g, sizeof(g), "%s", v[i].groups);
        size_t k = 0;
        for (char *save = NULL, *t = strtok_r(g, ",", &save); t != NULL;
             t = strtok_r(NULL, ",", &save)) {
            textbuf_puts(sb, k++ ? "," : "");
            textbuf_json_str(sb, t);
        }
        textbuf_printf(sb, "],\"decision\":\"%s\",\"age_s\":%" PRId64 ",\"note\":",
                       v[i].commit ? "commit" : "rollback", age_s(&v[i], now));
        textbuf_json_str(sb, v[i].note);
        textbuf_putc(sb, '}');
    }
    textbuf_puts(sb, "]}\n");
}

void admin_render_xa(struct textbuf *sb, const struct xa_in_doubt *v, size_t n, int64_t now,
                     bool json)
{
    if (json) {
        xa_json(sb, v, n, now);
        return;
    }
    if (n == 0) {
        textbuf_puts(sb, "no transaction in doubt\n");
        return;
    }
    static const char *const head[] = {"xid", "groups", "decision", "age_s", "note"};
    struct table t;
    table_init(&t, HY_ARRAY_SIZE(head));
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (size_t i = 0; i < n; i++) {
        table_cell(&t, v[i].gtrid);
        table_cell(&t, v[i].groups[0] ? v[i].groups : NULL);
        table_cell(&t, v[i].commit ? "commit" : "rollback");
        table_cellf(&t, "%" PRId64, age_s(&v[i], now));
        table_cell(&t, v[i].note[0] ? v[i].note : NULL);
    }
    table_render(&t, sb);
    table_free(&t);
}
