/*
 * admin_shards.c: `show shards` (shard.h): the schema map in force (each
 * schema's group, a second group for a conflict) and per group its
 * traffic: the schemas it holds, the statements and errors of its
 * backends (backend.h, over the process's life), the sessions of shards
 * listeners that moved to it, the statements for it refused and those
 * it ran for a fan-out to every group (stats.h's group_stats). Read from the map in force (the
 * learned one with shards.learn), the config and the counters, then rendered (admin_render_shards,
 * pure) as two tables or one JSON object. With key shards (shard_key.h) a third table lists the
 * sharded tables' maps (one row per map entry) and the reference tables, and each group the
 * statements routed to it by key.
 */
#include <stdio.h>
#include <stdlib.h>

#include "admin_int.h"
#include "halyard/admin/admin.h"
#include "halyard/cluster/backend.h"
#include "halyard/config/config.h"
#include "halyard/sql/shard_key.h"
#include "halyard/cluster/shard_learn.h"
#include "halyard/core/stats.h"

/* One sharded table as JSON: its key and function, and its map. */
static void key_table_json(struct textbuf *sb, const struct config *cfg,
                           const struct shard_table *x)
{
    char full[140];
    snprintf(full, sizeof(full), "%s.%s", x->schema, x->table);
    textbuf_puts(sb, "{\"table\":");
    textbuf_json_str(sb, full);
    textbuf_puts(sb, ",\"key\":");
    textbuf_json_str(sb, x->key);
    textbuf_printf(
        sb, ",\"type\":\"%s\",\"collation\":", x->type == KEY_TYPE_STRING ? "string" : "int");
    textbuf_json_str(sb, x->collation != NULL ? x->collation : "");
    textbuf_printf(sb, ",\"function\":\"%s\",\"buckets\":%u,\"map\":[",
                   x->fn == KEY_FN_HASH ? "hash" : "range", x->buckets);
    for (size_t j = 0; j < x->n_spans; j++) {
        const struct key_span *sp = &x->spans[j];
        textbuf_puts(sb, j ? ",{\"group\":" : "{\"group\":");
        textbuf_json_str(sb, cfg->groups[sp->group].name);
        if (x->fn == KEY_FN_HASH)
            textbuf_printf(sb, ",\"first\":%u,\"last\":%u}", sp->lo, sp->hi);
        else if (sp->below_text != NULL) {
            textbuf_puts(sb, ",\"below\":");
            textbuf_json_str(sb, sp->below_text);
            textbuf_puts(sb, ",\"below_hex\":\"");
            for (size_t b = 0; b < sp->below_n; b++)
                textbuf_printf(sb, "%02x", sp->below_s[b]);
            textbuf_puts(sb, "\"}");
        } else if (sp->has_below)
            textbuf_printf(sb, ",\"below\":%lld}", (long long)sp->below);
        else
            textbuf_puts(sb, ",\"below\":null}");
    }
    textbuf_puts(sb, "]}");
}

static void shards_json(struct textbuf *sb, const struct config *cfg, const struct shard_map *m,
                        const struct admin_shard_group_row *rows, size_t n,
                        const struct shard_tables *kt)
{
    textbuf_puts(sb, "{\"schemas\":[");
    for (size_t i = 0; i < m->n; i++) {
        const struct shard_schema *e = &m->v[i];
        textbuf_puts(sb, i ? ",{\"schema\":" : "{\"schema\":");
        textbuf_json_str(sb, e->name);
        textbuf_puts(sb, ",\"group\":");
        textbuf_json_str(sb, cfg->groups[e->group].name);
        textbuf_puts(sb, ",\"conflict\":");
        if (e->other < cfg->n_groups)
            textbuf_json_str(sb, cfg->groups[e->other].name);
        else
            textbuf_puts(sb, "null");
        textbuf_printf(sb, ",\"from\":\"%s\",\"learned\":%s,\"line\":%d}",
                       e->learned ? "learned" : "config", e->learned ? "true" : "false", e->line);
    }
    textbuf_puts(sb, "],\"groups\":[");
    for (size_t i = 0; i < n; i++) {
        const struct admin_shard_group_row *r = &rows[i];
        textbuf_puts(sb, i ? ",{\"group\":" : "{\"group\":");
        textbuf_json_str(sb, r->name);
        textbuf_printf(sb,
                       ",\"schemas\":%zu,\"conflicts\":%zu,\"statements\":%llu,"
                       "\"errors\":%llu,\"moves_in\":%llu,\"refused\":%llu,"
                       "\"by_key\":%llu,\"scatters\":%llu}",
                       r->schemas, r->conflicts, (unsigned long long)r->statements,
                       (unsigned long long)r->errors, (unsigned long long)r->moves_in,
                       (unsigned long long)r->refused, (unsigned long long)r->by_key,
                       (unsigned long long)r->scatters);
    }
    textbuf_puts(sb, "],\"tables\":[");
    for (size_t i = 0; i < kt->n; i++) {
        if (i > 0)
            textbuf_putc(sb, ',');
        key_table_json(sb, cfg, &kt->v[i]);
    }
    textbuf_puts(sb, "],\"reference\":[");
    for (size_t i = 0; i < kt->n_ref; i++) {
        char full[140];
        snprintf(full, sizeof(full), "%s.%s", kt->ref[i].schema, kt->ref[i].table);
        if (i > 0)
            textbuf_putc(sb, ',');
        textbuf_json_str(sb, full);
    }
    textbuf_puts(sb, "]}\n");
}

/* The schema map: each schema's group, and a conflict's second group. */
static void schemas_table(struct textbuf *sb, const struct config *cfg, const struct shard_map *m)
{
    static const char *const mhead[] = {"schema", "group", "from", "conflict"};
    struct table t;
    table_init(&t, HY_ARRAY_SIZE(mhead));
    for (size_t i = 0; i < HY_ARRAY_SIZE(mhead); i++)
        table_cell(&t, mhead[i]);
    for (size_t i = 0; i < m->n; i++) {
        const struct shard_schema *e = &m->v[i];
        table_cell(&t, e->name);
        table_cell(&t, cfg->groups[e->group].name);
        table_cell(&t, e->learned ? "learned" : "config");
        if (e->other < cfg->n_groups)
            table_cellf(&t, "also on %s: refused", cfg->groups[e->other].name);
        else
            table_cell(&t, "-");
    }
    table_render(&t, sb);
    table_free(&t);
}

static void groups_table(struct textbuf *sb, const struct admin_shard_group_row *rows, size_t n)
{
    static const char *const ghead[] = {"group",    "schemas", "conflicts", "statements", "errors",
                                        "moves_in", "refused", "by_key",    "scatters"};
    struct table t;
    table_init(&t, HY_ARRAY_SIZE(ghead));
    for (size_t i = 0; i < HY_ARRAY_SIZE(ghead); i++)
        table_cell(&t, ghead[i]);
    for (size_t i = 0; i < n; i++) {
        const struct admin_shard_group_row *r = &rows[i];
        table_cell(&t, r->name);
        table_cellf(&t, "%zu", r->schemas);
        table_cellf(&t, "%zu", r->conflicts);
        table_cellf(&t, "%llu", (unsigned long long)r->statements);
        table_cellf(&t, "%llu", (unsigned long long)r->errors);
        table_cellf(&t, "%llu", (unsigned long long)r->moves_in);
        table_cellf(&t, "%llu", (unsigned long long)r->refused);
        table_cellf(&t, "%llu", (unsigned long long)r->by_key);
        table_cellf(&t, "%llu", (unsigned long long)r->scatters);
    }
    table_render(&t, sb);
    table_free(&t);
}

/* Key shards: a row per span of each sharded table's map, then the
 * reference tables. */
static void key_tables_table(struct textbuf *sb, const struct config *cfg)
{
    const struct shard_tables *kt = &cfg->key_tables;
    static const char *const khead[] = {"table", "key", "function", "group", "rows"};
    struct table t;
    table_init(&t, HY_ARRAY_SIZE(khead));
    for (size_t i = 0; i < HY_ARRAY_SIZE(khead); i++)
        table_cell(&t, khead[i]);
    for (size_t i = 0; i < kt->n; i++) {
        const struct shard_table *x = &kt->v[i];
        for (size_t j = 0; j < x->n_spans; j++) {
            const struct key_span *sp = &x->spans[j];
            table_cellf(&t, "%s.%s", x->schema, x->table);
            if (x->type == KEY_TYPE_STRING)
                table_cellf(&t, "%s (%s)", x->key, x->collation != NULL ? x->collation : "");
            else
                table_cell(&t, x->key);
            if (x->fn == KEY_FN_HASH)
                table_cellf(&t, "hash %u", x->buckets);
            else
                table_cell(&t, "range");
            table_cell(&t, cfg->groups[sp->group].name);
            if (x->fn == KEY_FN_HASH)
                table_cellf(&t, "buckets %u-%u", sp->lo, sp->hi);
            else if (sp->below_text != NULL)
                table_cellf(&t, "below '%s'", sp->below_text);
            else if (sp->has_below)
                table_cellf(&t, "below %lld", (long long)sp->below);
            else
                table_cell(&t, "the rest");
        }
    }
    for (size_t i = 0; i < kt->n_ref; i++) {
        table_cellf(&t, "%s.%s", kt->ref[i].schema, kt->ref[i].table);
        table_cell(&t, "-");
        table_cell(&t, "reference");
        table_cell(&t, "every");
        table_cell(&t, "all");
    }
    table_render(&t, sb);
    table_free(&t);
}

void admin_render_shards(struct textbuf *sb, const struct config *cfg, const struct shard_map *m,
                         const struct admin_shard_group_row *rows, size_t n, bool json)
{
    if (json) {
        shards_json(sb, cfg, m, rows, n, &cfg->key_tables);
        return;
    }
    schemas_table(sb, cfg, m);
    textbuf_putc(sb, '\n');
    groups_table(sb, rows, n);
    if (cfg->key_tables.n == 0 && cfg->key_tables.n_ref == 0)
        return;
    textbuf_putc(sb, '\n');
    key_tables_table(sb, cfg);
}

/* --sql: the JSON answer, an empty schema map or list of sharded tables
 * drawn as one zeroed entry (a schema's conflict a group's name, so typed as
 * one) and named in "prototype", for the SQL port to name its columns
 * (json_prototype_mark_lists). */
static void sql_answer(struct textbuf *sb, const struct config *cfg, const struct shard_map *m,
                       const struct admin_shard_group_row *rows)
{
    struct shard_schema zero = {.name = (char *)"", .group = 0, .other = 0};
    struct shard_map one = {.v = &zero, .n = 1};
    struct shard_table zero_table = {.schema = (char *)"", .table = (char *)"", .key = (char *)""};
    struct shard_tables kt = cfg->key_tables;
    bool no_schema = m->n == 0, no_table = kt.n == 0;
    if (no_table) {
        kt.v = &zero_table;
        kt.n = 1;
    }
    size_t at = sb->len;
    shards_json(sb, cfg, no_schema ? &one : m, rows, cfg->n_groups, &kt);
    if (no_schema || no_table)
        json_prototype_mark_lists(sb, at,
                                  no_schema && no_table ? "[\"schemas\",\"tables\"]"
                                  : no_schema           ? "[\"schemas\"]"
                                                        : "[\"tables\"]");
}

void admin_show_shards(struct textbuf *sb, const struct config *cfg, bool json, bool sql)
{
    struct admin_shard_group_row *rows = calloc(cfg->n_groups ? cfg->n_groups : 1, sizeof(*rows));
    if (rows == NULL) {
        textbuf_puts(sb, "ERR out of memory\n");
        return;
    }
    struct shard_snap *held = NULL;
    const struct shard_map *m =
        cfg->shards_learn ? shard_snap_map(&held, cfg, false) : &cfg->shards;
    for (size_t g = 0; g < cfg->n_groups; g++) {
        const struct config_group *grp = &cfg->groups[g];
        struct admin_shard_group_row *r = &rows[g];
        r->name = grp->name;
        for (size_t i = 0; i < m->n; i++) {
            const struct shard_schema *e = &m->v[i];
            if (e->group == g || e->other == g)
                r->schemas++;
            if ((e->group == g || e->other == g) && e->other != SHARD_NO_GROUP)
                r->conflicts++;
        }
        for (size_t i = 0; i < grp->n_members; i++) {
            const struct backend_rt *rt = cfg->backends[grp->members[i]].rt;
            if (rt == NULL)
                continue;
            struct backend_stats bs;
            backend_stats_get(rt, &bs);
            r->statements += bs.queries;
            r->errors += bs.errors;
        }
        const struct group_stats *gs = stats_group(grp->name);
        if (gs != NULL) {
            r->moves_in = atomic_load_explicit(&gs->moves_in, memory_order_relaxed);
            r->refused = atomic_load_explicit(&gs->refused, memory_order_relaxed);
            r->by_key = atomic_load_explicit(&gs->key_routed, memory_order_relaxed);
            r->scatters = atomic_load_explicit(&gs->scatters, memory_order_relaxed);
        }
    }
    if (json && sql)
        sql_answer(sb, cfg, m, rows);
    else
        admin_render_shards(sb, cfg, m, rows, cfg->n_groups, json);
    shard_snap_release(&held);
    free(rows);
}
