/*
 * admin_groups.c: `show groups` (group.h): per group its cluster type,
 * failover, the writer (the primary, a Galera writer, the dual-master
 * active), how many writers and backends, and how many backends in each
 * state: one fact a column, a number a count (each backend's own role and
 * state are show backends' rows, with their group). The rows are read
 * from the backends' run-time state (backend.h), the text and JSON
 * rendered from them.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "admin_int.h"
#include "halyard/admin/admin.h"
#include "halyard/cluster/backend.h"
#include "halyard/config/config.h"
#include "halyard/config/group.h"

/* One group's backends as `show groups` reads them. */
struct group_row {
    const struct config_group *g;
    struct group_backend_state b[64];
    size_t n;
    struct group_summary sum;
};

static void read_group(const struct config *cfg, const struct config_group *g, struct group_row *r)
{
    r->g = g;
    r->n = 0;
    for (size_t i = 0; i < g->n_members && r->n < HY_ARRAY_SIZE(r->b); i++) {
        const struct config_backend *be = &cfg->backends[g->members[i]];
        struct group_backend_state *s = &r->b[r->n];
        s->name = be->name;
        enum backend_role role = be->role;
        s->state = BACKEND_ONLINE;
        bool fenced = false;
        if (be->rt != NULL) {
            role = backend_role(be->rt);
            s->state = (int)backend_state(be->rt);
            fenced = atomic_load(&be->rt->fenced);
        }
        s->writer = role == ROLE_PRIMARY && !fenced && s->state != BACKEND_DOWN;
        r->n++;
    }
    group_summarize(r->b, r->n, &r->sum);
}

/* The per-state counts' columns, in enum backend_state order. */
static const char *const state_col[BACKEND__STATES] = {"online", "down", "lagging", "draining",
                                                       "maint"};

static void render_json(struct textbuf *sb, const struct group_row *rows, size_t n)
{
    textbuf_puts(sb, "{\"groups\":[");
    for (size_t i = 0; i < n; i++) {
        const struct group_row *r = &rows[i];
        textbuf_puts(sb, i ? ",{\"group\":" : "{\"group\":");
        textbuf_json_str(sb, r->g->name);
        textbuf_puts(sb, ",\"cluster\":");
        textbuf_json_str(sb, cluster_type_to_str(r->g->cluster));
        textbuf_printf(sb,
                       ",\"failover\":\"%s\",\"writer\":", r->g->failover_auto ? "auto" : "off");
        if (r->sum.writer != NULL)
            textbuf_json_str(sb, r->sum.writer);
        else
            textbuf_puts(sb, "null");
        textbuf_printf(sb, ",\"writers\":%zu,\"backends\":%zu", r->sum.writers, r->n);
        for (int st = 0; st < BACKEND__STATES; st++)
            textbuf_printf(sb, ",\"%s\":%zu", state_col[st], r->sum.by_state[st]);
        textbuf_putc(sb, '}');
    }
    textbuf_puts(sb, "]}\n");
}

static void render_table(struct textbuf *sb, const struct group_row *rows, size_t n)
{
    static const char *const head[] = {"group",  "cluster", "failover",
                                       "writer", "writers", "backends"};
    struct table t;
    table_init(&t, HY_ARRAY_SIZE(head) + BACKEND__STATES);
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (int st = 0; st < BACKEND__STATES; st++)
        table_cell(&t, state_col[st]);
    for (size_t i = 0; i < n; i++) {
        const struct group_row *r = &rows[i];
        table_cell(&t, r->g->name);
        table_cell(&t, cluster_type_to_str(r->g->cluster));
        table_cell(&t, r->g->failover_auto ? "auto" : "off");
        table_cell(&t, r->sum.writer != NULL ? r->sum.writer : "-");
        table_cellf(&t, "%zu", r->sum.writers);
        table_cellf(&t, "%zu", r->n);
        for (int st = 0; st < BACKEND__STATES; st++)
            table_cellf(&t, "%zu", r->sum.by_state[st]);
    }
    table_render(&t, sb);
    table_free(&t);
}

void admin_show_groups(struct textbuf *sb, const struct config *cfg, bool json)
{
    struct group_row *rows = calloc(cfg->n_groups ? cfg->n_groups : 1, sizeof(*rows));
    if (rows == NULL) {
        textbuf_puts(sb, "ERR out of memory\n");
        return;
    }
    for (size_t g = 0; g < cfg->n_groups; g++)
        read_group(cfg, &cfg->groups[g], &rows[g]);
    if (json)
        render_json(sb, rows, cfg->n_groups);
    else
        render_table(sb, rows, cfg->n_groups);
    free(rows);
}
