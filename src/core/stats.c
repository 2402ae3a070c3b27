/*
 * stats.c: see stats.h.
 */
#include <stdlib.h>
#include <string.h>

#include "halyard/core/stats.h"

atomic_uint stats_sessions_open;
_Atomic uint64_t stats_xa_commits, stats_xa_rollbacks;

static _Atomic(struct listener_stats *) listeners;

struct listener_stats *stats_listeners(void)
{
    return atomic_load_explicit(&listeners, memory_order_acquire);
}

struct listener_stats *stats_listener(const char *name)
{
    for (struct listener_stats *l = stats_listeners(); l != NULL; l = l->next) {
        if (strcmp(l->name, name) == 0)
            return l;
    }
    return NULL;
}

hy_status_t stats_listener_add(const char *name)
{
    if (stats_listener(name) != NULL)
        return HY_OK;
    struct listener_stats *l = calloc(1, sizeof(*l));
    if (l == NULL || (l->name = strdup(name)) == NULL) {
        free(l);
        return HY_NOMEM;
    }
    /* Only the main thread adds: a plain publish is enough. */
    l->next = stats_listeners();
    atomic_store_explicit(&listeners, l, memory_order_release);
    return HY_OK;
}

void stats_listeners_free(void)
{
    struct listener_stats *l = atomic_exchange(&listeners, NULL);
    while (l != NULL) {
        struct listener_stats *next = l->next;
        free(l->name);
        free(l);
        l = next;
    }
}

static _Atomic(struct group_stats *) groups;

struct group_stats *stats_groups(void)
{
    return atomic_load_explicit(&groups, memory_order_acquire);
}

struct group_stats *stats_group(const char *name)
{
    for (struct group_stats *g = stats_groups(); g != NULL; g = g->next) {
        if (strcmp(g->name, name) == 0)
            return g;
    }
    return NULL;
}

hy_status_t stats_group_add(const char *name)
{
    if (stats_group(name) != NULL)
        return HY_OK;
    struct group_stats *g = calloc(1, sizeof(*g));
    if (g == NULL || (g->name = strdup(name)) == NULL) {
        free(g);
        return HY_NOMEM;
    }
    g->next = atomic_load_explicit(&groups, memory_order_acquire);
    atomic_store_explicit(&groups, g, memory_order_release);
    return HY_OK;
}

void stats_groups_free(void)
{
    struct group_stats *g = atomic_exchange(&groups, NULL);
    while (g != NULL) {
        struct group_stats *next = g->next;
        free(g->name);
        free(g);
        g = next;
    }
}
