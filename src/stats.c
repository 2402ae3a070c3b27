/*
 * stats.c: see stats.h.
 */
#include <stdlib.h>
#include <string.h>

#include "halyard/config.h"
#include "halyard/stats.h"

atomic_uint stats_sessions_open;

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

hy_status_t stats_listeners_add(const struct config *cfg)
{
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        if (stats_listener(cfg->listeners[i].name) != NULL)
            continue;
        struct listener_stats *l = calloc(1, sizeof(*l));
        if (l == NULL || (l->name = strdup(cfg->listeners[i].name)) == NULL) {
            free(l);
            return HY_NOMEM;
        }
        /* Only the main thread adds: a plain publish is enough. */
        l->next = stats_listeners();
        atomic_store_explicit(&listeners, l, memory_order_release);
    }
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
