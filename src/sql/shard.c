/*
 * shard.c: the schema map and the group a statement runs on (shard.h).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "halyard/sql/shard.h"

/* By name, then by line (the config's order of a name listed twice). */
static int entry_cmp(const void *a, const void *b)
{
    const struct shard_schema *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

void shard_map_sort(struct shard_map *m)
{
    if (m->n > 1)
        qsort(m->v, m->n, sizeof(*m->v), entry_cmp);
}

const struct shard_schema *shard_find(const struct shard_map *m, const char *name)
{
    if (m == NULL || name == NULL)
        return NULL;
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, m->v[mid].name);
        if (c == 0)
            return &m->v[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *shard_verdict_to_str(enum shard_verdict v)
{
    switch (v) {
    case SHARD_GO:
        return "go";
    case SHARD_CONFLICT:
        return "conflict";
    case SHARD_TWO_GROUPS:
        return "two_groups";
    case SHARD_CROSS_TRX:
        return "cross_group_transaction";
    case SHARD_HELD:
        return "state_held";
    }
    return "?";
}

void shard_map_free(struct shard_map *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].name);
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

static int learned_cmp(const void *a, const void *b)
{
    const struct shard_schema *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c != 0 ? c : (x->group > y->group) - (x->group < y->group);
}

hy_status_t shard_map_merge(const struct shard_map *cfg_map, char **const *lists, const size_t *n,
                            size_t n_groups, struct shard_map *out)
{
    size_t total = cfg_map->n;
    for (size_t g = 0; g < n_groups; g++)
        total += lists[g] != NULL ? n[g] : 0;
    out->n = 0;
    out->v = calloc(total ? total : 1, sizeof(*out->v));
    if (out->v == NULL)
        return HY_NOMEM;
    for (size_t i = 0; i < cfg_map->n; i++) {
        out->v[out->n] = cfg_map->v[i];
        if ((out->v[out->n].name = strdup(cfg_map->v[i].name)) == NULL)
            goto nomem;
        out->n++;
    }
    /* The groups' names the config does not map, (name, group) sorted,
     * then folded into one entry per name. */
    size_t first = out->n;
    for (size_t g = 0; g < n_groups; g++) {
        for (size_t i = 0; lists[g] != NULL && i < n[g]; i++) {
            const char *name = lists[g][i];
            if (name == NULL || name[0] == '\0' || shard_is_system(name) ||
                shard_find(cfg_map, name) != NULL)
                continue;
            struct shard_schema *e = &out->v[out->n];
            *e = (struct shard_schema){
                .group = (uint16_t)g, .other = SHARD_NO_GROUP, .learned = true};
            if ((e->name = strdup(name)) == NULL)
                goto nomem;
            out->n++;
        }
    }
    if (out->n - first > 1)
        qsort(out->v + first, out->n - first, sizeof(*out->v), learned_cmp);
    size_t w = first;
    for (size_t i = first; i < out->n; i++) {
        struct shard_schema *prev = w > first ? &out->v[w - 1] : NULL;
        if (prev != NULL && strcmp(prev->name, out->v[i].name) == 0) {
            if (prev->group != out->v[i].group && prev->other == SHARD_NO_GROUP)
                prev->other = out->v[i].group;
            free(out->v[i].name);
            continue;
        }
        out->v[w++] = out->v[i];
    }
    out->n = w;
    shard_map_sort(out); /* names are unique now: by name */
    return HY_OK;
nomem:
    shard_map_free(out);
    return HY_NOMEM;
}

bool shard_is_system(const char *name)
{
    /* The server matches these without regard to case. */
    return strcasecmp(name, "information_schema") == 0 ||
           strcasecmp(name, "performance_schema") == 0 || strcasecmp(name, "mysql") == 0 ||
           strcasecmp(name, "sys") == 0;
}

/* The group of one schema: GO with its group, CONFLICT, or SHARD_NO_GROUP
 * when the name binds the statement to no group (a system schema; a
 * qualified name the map does not know, which may be an alias). */
static enum shard_verdict schema_group(const struct shard_in *in, const char *name, bool sure,
                                       uint16_t *group, uint16_t *other)
{
    *group = SHARD_NO_GROUP;
    *other = SHARD_NO_GROUP;
    if (shard_is_system(name))
        return SHARD_GO;
    const struct shard_schema *e = shard_find(in->map, name);
    if (e == NULL) {
        if (sure)
            *group = in->dflt; /* where the server answers for it */
        return SHARD_GO;
    }
    *group = e->group;
    if (e->other != SHARD_NO_GROUP) {
        *other = e->other;
        return SHARD_CONFLICT;
    }
    return SHARD_GO;
}

void shard_decide(const struct shard_in *in, struct shard_out *out)
{
    *out = (struct shard_out){.verdict = SHARD_GO, .group = in->cur, .other = SHARD_NO_GROUP};
    uint16_t g = SHARD_NO_GROUP, other;
    const char *by = NULL;
    if (in->by_key) {
        g = in->key_group;
        by = in->key_table;
    }
    for (size_t i = 0; i < in->n_named; i++) {
        uint16_t gi;
        if (in->by_key && in->key_schema != NULL && strcmp(in->named[i].name, in->key_schema) == 0)
            continue;
        enum shard_verdict v = schema_group(in, in->named[i].name, in->named[i].sure, &gi, &other);
        if (v == SHARD_CONFLICT) {
            *out = (struct shard_out){
                .verdict = v, .group = gi, .other = other, .schema = in->named[i].name};
            return;
        }
        if (gi == SHARD_NO_GROUP)
            continue;
        if (g != SHARD_NO_GROUP && gi != g) {
            *out = (struct shard_out){.verdict = SHARD_TWO_GROUPS,
                                      .group = g,
                                      .other = gi,
                                      .schema = by,
                                      .schema2 = in->named[i].name};
            return;
        }
        g = gi;
        by = in->named[i].name;
    }
    if (g == SHARD_NO_GROUP && !in->stays && in->schema != NULL) {
        enum shard_verdict v = schema_group(in, in->schema, true, &g, &other);
        if (shard_is_system(in->schema))
            g = SHARD_NO_GROUP; /* on every group: the session stays */
        if (v == SHARD_CONFLICT) {
            *out =
                (struct shard_out){.verdict = v, .group = g, .other = other, .schema = in->schema};
            return;
        }
        by = in->schema;
    }
    if (g == SHARD_NO_GROUP || g == in->cur) {
        out->group = in->cur;
        out->schema = g == SHARD_NO_GROUP ? NULL : by;
        out->by_key = in->by_key && by == in->key_table;
        return;
    }
    out->group = g;
    out->schema = by;
    out->by_key = in->by_key && by == in->key_table;
    if (in->in_trans)
        out->verdict = SHARD_CROSS_TRX;
    else if (in->held != NULL)
        out->verdict = SHARD_HELD;
}
