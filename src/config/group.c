/*
 * group.c: groups of backends and their views (group.h).
 */
#include <stdlib.h>
#include <string.h>

#include "halyard/config/group.h"

const char *cluster_type_to_str(enum cluster_type c)
{
    switch (c) {
    case CLUSTER_GALERA:
        return "galera";
    case CLUSTER_DUAL_MASTER:
        return "dual-master";
    case CLUSTER_REPLICATION:
        break;
    }
    return "replication";
}

int group_find(const struct config *cfg, const char *name)
{
    cfg = config_root_c(cfg);
    for (size_t g = 0; g < cfg->n_groups; g++) {
        if (strcmp(cfg->groups[g].name, name) == 0)
            return (int)g;
    }
    return -1;
}

struct config *group_view(struct config *cfg, size_t g)
{
    return cfg->groups[g].view;
}

/* The view of the group a session of `listener` (of config
 * `lcfg`) uses in `full`: the group of the listener of that name in
 * `full`, else the group of the same name; NULL when `full` has neither. */
struct config *group_view_of_listener(struct config *full, const struct config *lcfg,
                                      const struct config_listener *listener)
{
    for (size_t i = 0; i < full->n_listeners; i++) {
        if (strcmp(full->listeners[i].name, listener->name) == 0)
            return group_view(full, full->listeners[i].group);
    }
    const struct config *lroot = config_root_c(lcfg);
    int g = listener->group < lroot->n_groups
                ? group_find(full, lroot->groups[listener->group].name)
                : -1;
    return g >= 0 ? group_view(full, (size_t)g) : NULL;
}

const struct config_group *group_of(const struct config *cfg)
{
    if (cfg->parent != NULL)
        return &cfg->parent->groups[cfg->group_idx];
    return cfg->n_groups > 0 ? &cfg->groups[0] : NULL;
}

int group_local_index(const struct config *v, size_t full)
{
    if (v->parent == NULL)
        return full < v->n_backends ? (int)full : -1;
    for (size_t i = 0; i < v->n_backends; i++) {
        if (v->view_to_full[i] == full)
            return (int)i;
    }
    return -1;
}

hy_status_t group_views_build(struct config *cfg)
{
    for (size_t g = 0; g < cfg->n_groups; g++) {
        const struct config_group *grp = &cfg->groups[g];
        struct config *v = malloc(sizeof(*v));
        if (v == NULL)
            return HY_NOMEM;
        memcpy(v, cfg, sizeof(*v));
        atomic_init(&v->refs, 0); /* unused: the parent's count */
        v->parent = cfg;
        v->group_idx = (uint16_t)g;
        v->groups = NULL;
        v->n_groups = 0;
        v->view_to_full = grp->members;
        v->backends = calloc(grp->n_members ? grp->n_members : 1, sizeof(*v->backends));
        if (v->backends == NULL) {
            free(v);
            return HY_NOMEM;
        }
        for (size_t i = 0; i < grp->n_members; i++)
            v->backends[i] = cfg->backends[grp->members[i]];
        v->n_backends = grp->n_members;
        v->cluster = grp->cluster;
        v->max_writers = grp->max_writers;
        v->writer_is_also_reader = grp->writer_is_also_reader;
        v->failover_auto = grp->failover_auto;
        v->failover_delay_ms = grp->failover_delay_ms;
        v->auto_rejoin = grp->auto_rejoin;
        v->monitor.rise = grp->rise;
        v->monitor.fall = grp->fall;
        v->monitor.user = grp->monitor_user;
        v->monitor.password = grp->monitor_password;
        v->monitor.interval_ms = grp->interval_ms;
        v->monitor.timeout_ms = grp->timeout_ms;
        cfg->groups[g].view = v;
    }
    return HY_OK;
}

void group_views_attach(struct config *cfg)
{
    for (size_t g = 0; g < cfg->n_groups; g++) {
        struct config *v = cfg->groups[g].view;
        if (v == NULL)
            continue;
        for (size_t i = 0; i < v->n_backends; i++) {
            v->backends[i].rt = cfg->backends[v->view_to_full[i]].rt;
            v->backends[i].checks_gen = cfg->backends[v->view_to_full[i]].checks_gen;
        }
    }
}

void group_views_free(struct config *cfg)
{
    for (size_t g = 0; g < cfg->n_groups; g++) {
        struct config *v = cfg->groups[g].view;
        if (v == NULL)
            continue;
        free(v->backends);
        free(v);
        cfg->groups[g].view = NULL;
    }
}

void group_summarize(const struct group_backend_state *b, size_t n, struct group_summary *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        if (b[i].writer) {
            if (out->writer == NULL)
                out->writer = b[i].name;
            out->writers++;
        }
        if (b[i].state >= 0 &&
            (size_t)b[i].state < sizeof(out->by_state) / sizeof(out->by_state[0]))
            out->by_state[b[i].state]++;
    }
}
