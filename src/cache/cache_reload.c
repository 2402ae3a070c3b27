/*
 * cache_reload.c: see cache_reload.h.
 */
#include <stdio.h>
#include <string.h>

#include "halyard/cache/cache_reload.h"
#include "halyard/config/config.h"

static bool strings_same(const struct config_strings *a, const struct config_strings *b)
{
    if (a->n != b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (!hy_str_same(a->v[i], b->v[i]))
            return false;
    return true;
}

/* Both rules match the same statements of the same sessions. */
static bool conditions_same(const struct config_rule *a, const struct config_rule *b)
{
    return hy_str_same(a->match_digest, b->match_digest) &&
           hy_str_same(a->match_text, b->match_text) && hy_str_same(a->who.user, b->who.user) &&
           strings_same(&a->who.users, &b->who.users) &&
           hy_str_same(a->who.schema, b->who.schema) && hy_str_same(a->who.client, b->who.client) &&
           strings_same(&a->no_where, &b->no_where) &&
           hy_str_same(a->who.listener, b->who.listener) && strings_same(&a->tables, &b->tables);
}

long cache_reload_rule_index(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_rules; i++)
        if (hy_str_same(cfg->rules[i].name, name))
            return (long)i;
    return -1;
}

/* Every rule before `to` in `fresh` was before `from` in `old`, with the
 * same name and conditions: none of them takes a statement `from` took. */
static bool precedents_same(const struct config *old, size_t from, const struct config *fresh,
                            size_t to)
{
    for (size_t j = 0; j < to; j++) {
        const struct config_rule *r = &fresh->rules[j];
        long k = cache_reload_rule_index(old, r->name);
        if (k < 0 || (size_t)k >= from || !conditions_same(&old->rules[k], r))
            return false;
    }
    return true;
}

size_t cache_reload_rules(const struct config *old, const struct config *fresh,
                          struct cache_rule_map *map, size_t n)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        map[i] = (struct cache_rule_map){.keep = false};
        if (i >= old->n_rules || old->rules[i].action != RULE_ACTION_CACHE)
            continue;
        const struct config_rule *was = &old->rules[i];
        long to = cache_reload_rule_index(fresh, was->name);
        if (to < 0 || to >= (long)n)
            continue;
        const struct config_rule *now = &fresh->rules[to];
        if (now->action != RULE_ACTION_CACHE || !conditions_same(was, now) ||
            !precedents_same(old, i, fresh, (size_t)to))
            continue;
        map[i] = (struct cache_rule_map){
            .keep = true,
            .to = (uint32_t)to,
            .ttl_s = now->ttl_ms / 1000.0,
            .max_bytes = now->max_result_bytes > 0 ? (size_t)now->max_result_bytes : 0,
        };
        kept++;
    }
    return kept;
}

/* The backend of cfg at that address and port (any name), or NULL. */
static const struct config_backend *backend_at(const struct config *cfg,
                                               const struct config_backend *b)
{
    for (size_t i = 0; i < cfg->n_backends; i++)
        if (hy_str_same(cfg->backends[i].address, b->address) && cfg->backends[i].port == b->port)
            return &cfg->backends[i];
    return NULL;
}

bool cache_reload_stream(const struct config *old, int src, const struct config *fresh, char *why,
                         size_t whylen)
{
    const char *diff = NULL;
    const struct config_backend *was =
        src >= 0 && (size_t)src < old->n_backends ? &old->backends[src] : NULL;
    if (!fresh->cache.enabled)
        diff = "the cache is off";
    else if (src >= 0 && was == NULL)
        diff = "the server it read is not known";
    else if (was != NULL && backend_at(fresh, was) == NULL)
        diff = "the new config has no backend at the address and port of the server it read";
    else if (!hy_str_same(old->cache.user, fresh->cache.user))
        diff = "cache.user changed";
    else if (!hy_str_same(old->cache.password, fresh->cache.password))
        diff = "cache.password changed";
    else if (old->cache.server_id != fresh->cache.server_id)
        diff = "cache.server_id changed";
    if (diff != NULL)
        snprintf(why, whylen, "%s", diff);
    return diff == NULL;
}
