/*
 * group.h: groups of backends (config.h's struct config_group).
 *
 * A group is a named set of backends with a cluster type (replication,
 * galera, dual-master) and its own failover settings. Each backend belongs
 * to exactly one group; a listener's sessions use one group. A config
 * without `groups` has one group, "default", with every backend and the
 * top-level settings, which is what halyard did before groups.
 *
 * Each group is also a config of its own, its *view*: a shallow copy of
 * the loaded config whose backends are the group's only (copies of their
 * struct config_backend, sharing the run-time state) and whose cluster and
 * failover settings are the group's. The session, the router and the
 * failover thread are handed a view and see one cluster, as before; the
 * monitor and the admin socket walk the loaded config's groups. A view
 * holds no references of its own: config_get()/config_put() on a view act
 * on the config that owns it, which frees its views with itself.
 *
 * The sharding work reuses this: a session's statement will be routed
 * first to a group (by schema or key), then inside it as today.
 */
#ifndef HALYARD_GROUP_H
#define HALYARD_GROUP_H

#include <stdbool.h>
#include <stddef.h>

#include "halyard/config/config.h"
#include "halyard/core/core.h"

/* Build cfg's views (one per group). Returns HY_NOMEM on failure, which
 * leaves what was built for group_views_free(). */
hy_status_t group_views_build(struct config *cfg) HY_MUSTCHECK;
void group_views_free(struct config *cfg);
/* Copy each backend's run-time state pointer and checks generation into
 * the views (after backend_rt_attach, and backend_rt_mark_unchecked). */
void group_views_attach(struct config *cfg);

/* The loaded config a view belongs to; a loaded config itself. */
static inline struct config *config_root(struct config *cfg)
{
    return cfg->parent != NULL ? cfg->parent : cfg;
}
static inline const struct config *config_root_c(const struct config *cfg)
{
    return cfg->parent != NULL ? cfg->parent : cfg;
}

/* Index of the group called `name` in cfg (a loaded config), or -1. */
int group_find(const struct config *cfg, const char *name);
/* The view of group g of cfg (a loaded config). */
struct config *group_view(struct config *cfg, size_t g);
/* The view of the group a session of `listener` (of config `lcfg`) uses in
 * `full`: the group of the listener of that name in `full`, else the group
 * of the same name; NULL when `full` has neither. */
struct config *group_view_of_listener(struct config *full, const struct config *lcfg,
                                      const struct config_listener *listener);
/* The group of a view, or of a loaded config's first group. */
const struct config_group *group_of(const struct config *cfg);
/* Index in view `v` of the loaded config's backend `full`, or -1 when
 * that backend is in another group. A loaded config: `full` itself. */
int group_local_index(const struct config *v, size_t full);

const char *cluster_type_to_str(enum cluster_type c);

/* What `show groups` says about one group, from its backends' states
 * (pure over what the caller read). */
struct group_backend_state {
    const char *name;
    bool writer; /* primary role, not fenced */
    int state;   /* enum backend_state */
};
struct group_summary {
    const char *writer; /* the first writer, or NULL */
    size_t writers;
    size_t by_state[8]; /* per enum backend_state */
};
void group_summarize(const struct group_backend_state *b, size_t n, struct group_summary *out);

#endif /* HALYARD_GROUP_H */
