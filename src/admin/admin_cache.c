/*
 * admin_cache.c: `show cache` and `flush cache [TABLE]` (the query cache,
 * cache.h): the reader, entries, bytes, hits, misses, fills and refusals,
 * invalidations by reason, the hit ratio per rule. Pure: the numbers come
 * in as a copy.
 */
#include <stdio.h>
#include <string.h>

#include "admin_int.h"
#include "halyard/admin/admin.h"
#include "halyard/cache/cache.h"
#include "halyard/config/config.h"
#include "halyard/core/textbuf.h"

void admin_render_cache(struct textbuf *sb, const struct cache_status *s, const struct config *cfg,
                        bool json)
{
    struct kv kv;
    char k[160];
    kv_begin(&kv, sb, json, "name");
    kv_bool(&kv, "on", s->on);
    kv_bool(&kv, "streaming", s->streaming);
    kv_str(&kv, "source", s->source);
    kv_str(&kv, "applied_gtid", s->gtid);
    kv_int(&kv, "lag_ms", s->lag_s < 0 ? -1 : (long long)(s->lag_s * 1000));
    kv_u64(&kv, "entries", s->store.entries);
    kv_u64(&kv, "point_entries", s->store.point_entries);
    kv_u64(&kv, "bytes", s->store.bytes);
    kv_u64(&kv, "capacity", s->capacity);
    kv_u64(&kv, "hits", s->hits);
    kv_u64(&kv, "misses", s->misses);
    kv_u64(&kv, "fills", s->store.fills);
    kv_u64(&kv, "fills_refused_race", s->store.refused_race);
    kv_u64(&kv, "fills_refused_size", s->store.refused_big);
    kv_u64(&kv, "fills_refused_not_base", s->refused_not_base);
    kv_u64(&kv, "fills_refused_write", s->refused_write);
    kv_u64(&kv, "refused_other_primary", s->refused_primary);
    kv_u64(&kv, "fills_refused_read_uncommitted", s->refused_dirty);
    kv_bool(&kv, "global_read_uncommitted", s->global_dirty);
    kv_u64(&kv, "refused_old_defaults", s->refused_defaults);
    kv_u64(&kv, "refused_old_privileges", s->refused_privileges);
    kv_u64(&kv, "fills_abandoned", s->abandoned);
    kv_int(&kv, "base_tables", (long long)s->base_tables);
    kv_str(&kv, "why_no_fills",
           s->base_tables != 0 ? ""
           : s->base_uncached > 0
               ? "every base table cache.user sees is of an engine the cache never keeps "
                 "(without transactions, such as MyISAM or Aria, or FEDERATED, CONNECT, SPIDER)"
               : "cache.user sees no base table: it needs SELECT on the tables "
                 "the cache rules read (tables of an engine without "
                 "transactions are never cached)");
    kv_u64(&kv, "why_no_fills_repeats", s->no_fills_again);
    kv_bool(&kv, "row_keys", s->row_keys);
    kv_u64(&kv, "base_table_reads", s->base_loads);
    for (int why = 0; why < CACHE_DROP_N; why++) {
        snprintf(k, sizeof(k), "invalidated_%s", cache_drop_name((enum cache_drop)why));
        kv_u64(&kv, k, s->store.dropped[why]);
    }
    kv_u64(&kv, "reader_resets", s->resets);
    kv_u64(&kv, "reader_resumes", s->resumes);
    kv_u64(&kv, "gtid_gaps", s->gaps);
    kv_u64(&kv, "not_yet_visible", s->unseen);
    struct kv_list l;
    list_begin(&l, &kv, "rules");
    for (size_t i = 0; cfg != NULL && i < cfg->n_rules && i < CACHE_RULES_MAX; i++) {
        if (cfg->rules[i].action != RULE_ACTION_CACHE)
            continue;
        uint64_t h = s->rule_hits[i], m = s->rule_misses[i];
        elem_begin(&l);
        kv_str(&kv, elem_key(&l, "name", k, sizeof(k)), cfg->rules[i].name);
        kv_u64(&kv, elem_key(&l, "hits", k, sizeof(k)), h);
        kv_u64(&kv, elem_key(&l, "misses", k, sizeof(k)), m);
        kv_int(&kv, elem_key(&l, "hit_ratio_pct", k, sizeof(k)),
               h + m > 0 ? (long long)(100 * h / (h + m)) : 0);
        elem_end(&l);
    }
    list_end(&l);
    kv_end(&kv);
}

void admin_render_cache_flush(struct textbuf *sb, const char *table, size_t dropped, bool json)
{
    if (json) {
        textbuf_printf(sb, "{\"ok\":true,\"dropped\":%zu,\"table\":", dropped);
        textbuf_json_str(sb, table[0] != '\0' ? table : "*");
        textbuf_puts(sb, "}\n");
        return;
    }
    textbuf_printf(sb, "OK %zu cache entries dropped (%s)\n", dropped,
                   table[0] != '\0' ? table : "all");
}
