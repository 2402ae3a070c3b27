/*
 * config_shard_key.c: the config's key shards (shard_key.h): the sharded
 * tables of `shards.tables` and the reference tables of `shards.reference`.
 *
 * Checked at load and reload, each mistake named by file, line and key:
 * a table is "schema.table", named once across both lists; a hash table's
 * map covers buckets 0..buckets-1 exactly once; a range table's bounds
 * ascend (a string key's in its collation's order, each a value of its
 * character set) and its last entry has none (the rest); every group
 * exists.
 */
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/core/text.h"
#include "halyard/config/config.h"
#include "halyard/config/group.h"
#include "halyard/sql/shard.h"
#include "halyard/sql/shard_key.h"
#include "config_int.h"

/* "schema.table" into two copies; false when it is not that. */
static bool split_name(const char *full, char **schema, char **table)
{
    const char *dot = strchr(full, '.');
    if (dot == NULL || dot == full || dot[1] == '\0' || strchr(dot + 1, '.') != NULL ||
        dot - full > 64 || strlen(dot + 1) > 64)
        return false;
    *schema = strndup(full, (size_t)(dot - full));
    *table = strdup(dot + 1);
    return true;
}

/* Whether schema.table is named already (before sharded index n, or any
 * reference table before n_ref). */
static bool named_before(const struct shard_tables *t, size_t n, size_t n_ref, const char *schema,
                         const char *table)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(t->v[i].schema, schema) == 0 && strcmp(t->v[i].table, table) == 0)
            return true;
    }
    for (size_t i = 0; i < n_ref; i++) {
        if (strcmp(t->ref[i].schema, schema) == 0 && strcmp(t->ref[i].table, table) == 0)
            return true;
    }
    return false;
}

/* "lo-hi" or "n" into *lo, *hi: decimal numbers (hy_parse_u64), lo <= hi. */
static bool parse_span(const char *s, uint32_t *lo, uint32_t *hi)
{
    const char *dash = strchr(s, '-');
    size_t n = dash != NULL ? (size_t)(dash - s) : strlen(s);
    uint64_t a, b;
    if (!hy_parse_u64(s, n, UINT32_MAX, &a))
        return false;
    b = a;
    if (dash != NULL && !hy_parse_u64(dash + 1, strlen(dash + 1), UINT32_MAX, &b))
        return false;
    if (a > b)
        return false;
    *lo = (uint32_t)a;
    *hi = (uint32_t)b;
    return true;
}

/* A string key's bound `below` (map entry j): its bytes in the column's
 * character set, above the previous entry's in the collation's order. */
static hy_status_t fill_str_bound(struct loader *ld, struct shard_table *x, int j,
                                  config_setting_t *below, const char *kname)
{
    struct key_span *sp = &x->spans[j];
    char shown[48], prev[48];
    if (config_setting_type(below) != CONFIG_TYPE_STRING)
        return cfg_fail(ld, below, kname,
                        "a string key's bound is a string in the column's character set (%s), "
                        "e.g. below = \"m\"",
                        x->collation);
    const char *text = config_setting_get_string(below);
    uint8_t buf[KEY_STR_MAX];
    const char *why;
    if (!shard_key_str_bound(x, text, buf, sizeof(buf), &sp->below_n, &why))
        return cfg_fail(ld, below, kname, "\"%s\" is no value of the key column (%s): %s",
                        cfg_printable(text, shown), x->collation, why);
    sp->below_s = malloc(sp->below_n > 0 ? sp->below_n : 1);
    sp->below_text = strdup(text);
    if (sp->below_s == NULL || sp->below_text == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    memcpy(sp->below_s, buf, sp->below_n);
    sp->has_below = true;
    const struct key_span *pv = j > 0 ? &x->spans[j - 1] : NULL;
    if (pv != NULL && shard_key_str_cmp(x, sp->below_s, sp->below_n, pv->below_s, pv->below_n) <= 0)
        return cfg_fail(ld, below, kname,
                        "\"%s\" is not above the previous bound \"%s\" under %s%s",
                        cfg_printable(text, shown), cfg_printable(pv->below_text, prev),
                        x->collation, x->pad ? " (PAD SPACE: trailing spaces do not count)" : "");
    return HY_OK;
}

static hy_status_t fill_map(struct loader *ld, struct config *cfg, struct shard_table *x,
                            config_setting_t *e, int i)
{
    config_setting_t *map = config_setting_get_member(e, "map");
    int n = config_setting_length(map);
    char kname[KEYNAME_MAX], shown[48];
    x->spans = calloc((size_t)n, sizeof(*x->spans));
    if (x->spans == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    if (x->fn == KEY_FN_HASH) {
        x->bucket_group = malloc(x->buckets * sizeof(*x->bucket_group));
        if (x->bucket_group == NULL)
            return cfg_fail(ld, NULL, NULL, "out of memory");
        for (uint32_t b = 0; b < x->buckets; b++)
            x->bucket_group[b] = SHARD_NO_GROUP;
    }
    for (int j = 0; j < n; j++) {
        config_setting_t *m = config_setting_get_elem(map, (unsigned)j);
        struct key_span *sp = &x->spans[x->n_spans++];
        const char *gn = cfg_get_str(m, "shards.tables.[].map.[].group");
        int gi = group_find(cfg, gn);
        snprintf(kname, sizeof(kname), "shards.tables.[%d].map.[%d].group", i, j);
        if (gi < 0)
            return cfg_fail(ld, config_setting_get_member(m, "group"), kname,
                            "\"%s\" is not the name of a group", cfg_printable(gn, shown));
        sp->group = (uint16_t)gi;
        config_setting_t *bk = config_setting_get_member(m, "buckets");
        config_setting_t *below = config_setting_get_member(m, "below");
        if (x->fn == KEY_FN_HASH) {
            snprintf(kname, sizeof(kname), "shards.tables.[%d].map.[%d].buckets", i, j);
            if (below != NULL)
                return cfg_fail(ld, below, kname, "a hash table's map gives buckets, not below");
            const char *s = bk != NULL ? config_setting_get_string(bk) : "";
            if (!parse_span(s, &sp->lo, &sp->hi))
                return cfg_fail(ld, cfg_member_or_group(m, "buckets"), kname,
                                "\"%s\" is not a bucket or a range of buckets \"first-last\"",
                                cfg_printable(s, shown));
            if (sp->hi >= x->buckets)
                return cfg_fail(ld, bk, kname, "bucket %u is past the last one, %u", sp->hi,
                                x->buckets - 1);
            for (uint32_t b = sp->lo; b <= sp->hi; b++) {
                if (x->bucket_group[b] != SHARD_NO_GROUP)
                    return cfg_fail(ld, bk, kname, "bucket %u is mapped twice", b);
                x->bucket_group[b] = sp->group;
            }
            continue;
        }
        snprintf(kname, sizeof(kname), "shards.tables.[%d].map.[%d].below", i, j);
        if (bk != NULL)
            return cfg_fail(ld, bk, kname, "a range table's map gives below, not buckets");
        if (below == NULL && j != n - 1)
            return cfg_fail(ld, m, kname,
                            "only the last entry may leave below out (it takes the rest)");
        if (below != NULL && j == n - 1)
            return cfg_fail(ld, below, kname, "the last entry takes the rest: leave below out");
        if (below != NULL && x->type == KEY_TYPE_STRING) {
            if (fill_str_bound(ld, x, j, below, kname) != HY_OK)
                return HY_ERROR;
        } else if (below != NULL) {
            if (config_setting_type(below) == CONFIG_TYPE_STRING)
                return cfg_fail(ld, below, kname,
                                "an integer key's bound is an integer (a string is for type = "
                                "\"string\")");
            sp->below = (int64_t)config_setting_get_int64(below);
            sp->has_below = true;
            if (j > 0 && sp->below <= x->spans[j - 1].below)
                return cfg_fail(ld, below, kname, "%lld is not above the previous bound %lld",
                                (long long)sp->below, (long long)x->spans[j - 1].below);
        }
    }
    if (x->fn == KEY_FN_HASH) {
        for (uint32_t b = 0; b < x->buckets; b++) {
            if (x->bucket_group[b] == SHARD_NO_GROUP) {
                snprintf(kname, sizeof(kname), "shards.tables.[%d].map", i);
                return cfg_fail(ld, map, kname,
                                "bucket %u is on no group: the map must cover "
                                "0-%u",
                                b, x->buckets - 1);
            }
        }
    }
    return HY_OK;
}

/* type = "int" | "string"; a string key's collation: one whose equality
 * is byte equality (shard_key_collation), else refused. */
static hy_status_t fill_type(struct loader *ld, struct shard_table *x, config_setting_t *e, int i)
{
    char kname[KEYNAME_MAX], shown[48];
    config_setting_t *ty = config_setting_get_member(e, "type");
    config_setting_t *co = config_setting_get_member(e, "collation");
    const char *type = cfg_get_str(e, "shards.tables.[].type");
    const char *coll = cfg_get_str(e, "shards.tables.[].collation");
    x->type = strcmp(type, "string") == 0 ? KEY_TYPE_STRING : KEY_TYPE_INT;
    if (x->type == KEY_TYPE_INT) {
        snprintf(kname, sizeof(kname), "shards.tables.[%d].collation", i);
        if (co != NULL)
            return cfg_fail(ld, co, kname, "a collation is for type = \"string\" keys");
        return HY_OK;
    }
    snprintf(kname, sizeof(kname), "shards.tables.[%d].collation", i);
    if (co == NULL)
        return cfg_fail(ld, ty != NULL ? ty : e, kname,
                        "type = \"string\" needs the key column's collation (e.g. "
                        "\"utf8mb4_bin\"): halyard routes by the value's bytes");
    if (!shard_key_collation(coll, &x->cs, &x->pad))
        return cfg_fail(ld, co, kname,
                        "\"%s\" is not a collation halyard can route by: under it values with "
                        "other bytes may be equal ('a' = 'A'...), and would be on other groups; "
                        "use binary, <charset>_bin or <charset>_nopad_bin (charset utf8mb4, "
                        "utf8mb3, latin1 or ascii)",
                        cfg_printable(coll, shown));
    if ((x->collation = strdup(coll)) == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    return HY_OK;
}

hy_status_t cfg_fill_key_tables(struct loader *ld, struct config *cfg, config_setting_t *sh)
{
    config_setting_t *list = sh != NULL ? config_setting_get_member(sh, "tables") : NULL;
    config_setting_t *refs = sh != NULL ? config_setting_get_member(sh, "reference") : NULL;
    int n = list != NULL ? config_setting_length(list) : 0;
    int nr = refs != NULL ? config_setting_length(refs) : 0;
    char kname[KEYNAME_MAX], shown[48];
    struct shard_tables *t = &cfg->key_tables;
    if (n > 0 && (t->v = calloc((size_t)n, sizeof(*t->v))) == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    if (nr > 0 && (t->ref = calloc((size_t)nr, sizeof(*t->ref))) == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
        struct shard_table *x = &t->v[t->n];
        const char *full = cfg_get_str(e, "shards.tables.[].table");
        snprintf(kname, sizeof(kname), "shards.tables.[%d].table", i);
        if (!split_name(full, &x->schema, &x->table)) {
            return cfg_fail(ld, config_setting_get_member(e, "table"), kname,
                            "\"%s\" is not \"schema.table\"", cfg_printable(full, shown));
        }
        t->n++;
        if (x->schema == NULL || x->table == NULL)
            return cfg_fail(ld, NULL, NULL, "out of memory");
        if (shard_is_system(x->schema))
            return cfg_fail(ld, config_setting_get_member(e, "table"), kname,
                            "\"%s\" is a system schema, on every group: it cannot be sharded",
                            cfg_printable(x->schema, shown));
        if (named_before(t, t->n - 1, 0, x->schema, x->table))
            return cfg_fail(ld, config_setting_get_member(e, "table"), kname,
                            "\"%s\" is listed twice", cfg_printable(full, shown));
        x->line = (int)config_setting_source_line(e);
        if ((x->key = strdup(cfg_get_str(e, "shards.tables.[].key"))) == NULL)
            return cfg_fail(ld, NULL, NULL, "out of memory");
        x->fn = strcmp(cfg_get_str(e, "shards.tables.[].function"), "range") == 0 ? KEY_FN_RANGE
                                                                                  : KEY_FN_HASH;
        if (fill_type(ld, x, e, i) != HY_OK)
            return HY_ERROR;
        if (x->type == KEY_TYPE_STRING)
            t->any_string = true;
        config_setting_t *b = config_setting_get_member(e, "buckets");
        snprintf(kname, sizeof(kname), "shards.tables.[%d].buckets", i);
        if (x->fn == KEY_FN_HASH && b == NULL)
            return cfg_fail(ld, e, kname, "function = \"hash\" needs the number of buckets");
        if (x->fn == KEY_FN_RANGE && b != NULL)
            return cfg_fail(ld, b, kname, "function = \"range\" has no buckets");
        if (x->fn == KEY_FN_HASH && cfg_get_int(e, "shards.tables.[].buckets") < 1)
            return cfg_fail(ld, b, kname, "at least 1 bucket");
        x->buckets = (uint32_t)cfg_get_int(e, "shards.tables.[].buckets");
        if (fill_map(ld, cfg, x, e, i) != HY_OK)
            return HY_ERROR;
    }
    for (int i = 0; i < nr; i++) {
        config_setting_t *e = config_setting_get_elem(refs, (unsigned)i);
        const char *full = config_setting_get_string(e);
        struct shard_ref_table *r = &t->ref[t->n_ref];
        snprintf(kname, sizeof(kname), "shards.reference.[%d]", i);
        if (full == NULL || !split_name(full, &r->schema, &r->table))
            return cfg_fail(ld, e, kname, "\"%s\" is not \"schema.table\"",
                            cfg_printable(full != NULL ? full : "", shown));
        t->n_ref++;
        if (r->schema == NULL || r->table == NULL)
            return cfg_fail(ld, NULL, NULL, "out of memory");
        if (named_before(t, t->n, t->n_ref - 1, r->schema, r->table))
            return cfg_fail(ld, e, kname, "\"%s\" is listed twice (in shards.tables or here)",
                            cfg_printable(full, shown));
    }
    return HY_OK;
}
