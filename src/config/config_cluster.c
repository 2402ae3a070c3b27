/*
 * config_cluster.c: the cluster part of halyard.conf (config.c has the
 * loader): backends, groups and their cluster type, the failover lock's
 * witnesses, the monitor and replication accounts and where their
 * passwords come from.
 */
#include <errno.h>
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "halyard/protocol/auth.h"
#include "halyard/sql/classify.h"
#include "halyard/config/config.h"
#include "halyard/config/group.h"
#include "halyard/core/log.h"
#include "halyard/config/rules.h"
#include "halyard/protocol/tls.h"
#include "halyard/sql/xa_log.h"
#include "config_int.h"

hy_status_t cfg_fill_backends(struct loader *ld, struct config *cfg, config_setting_t *list,
                              bool grouped)
{
    int n = config_setting_length(list);
    int primary = -1;
    cfg->backends = calloc((size_t)n, sizeof(*cfg->backends));
    if (cfg->backends == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    for (int i = 0; i < n; i++) {
        config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        struct config_backend *b = &cfg->backends[i];
        cfg->n_backends++;
        if (cfg_fill_endpoint(ld, list, i, "backend", "backends", &b->name, &b->address,
                              &b->port) != HY_OK)
            return HY_ERROR;
        b->weight = (int)cfg_get_int(g, "backends.[].weight");
        b->max_connections = (int)cfg_get_int(g, "backends.[].max_connections");
        b->priority = (int)cfg_get_int(g, "backends.[].priority");
        if (cfg_dup_str(ld, &b->zone, g, "backends.[].zone") != HY_OK)
            return HY_ERROR;
        const char *pr = cfg_get_str(g, "backends.[].promotion");
        b->promotion = strcmp(pr, "prefer") == 0  ? PROMOTION_PREFER
                       : strcmp(pr, "never") == 0 ? PROMOTION_NEVER
                                                  : PROMOTION_NEUTRAL;
        long long lag = cfg_get_int(g, "backends.[].max_replication_lag");
        b->max_replication_lag = lag < 0 ? cfg->max_replication_lag : (int)lag;
        b->role = strcmp(cfg_get_str(g, "backends.[].role"), "primary") == 0 ? ROLE_PRIMARY
                                                                             : ROLE_REPLICA;
        /* With groups, each group has its primary (cfg_fill_groups). */
        if (b->role != ROLE_PRIMARY || grouped)
            continue;
        if (primary >= 0) {
            char kname[KEYNAME_MAX], shown[48];
            snprintf(kname, sizeof(kname), "backends.[%d].role", i);
            config_setting_t *first =
                config_setting_get_member(config_setting_get_elem(list, (unsigned)primary), "role");
            return cfg_fail(ld, config_setting_get_member(g, "role"), kname,
                            "second primary; \"%s\" (line %u) is already the primary, exactly "
                            "one backend must have role \"primary\"",
                            cfg_printable(cfg->backends[primary].name, shown),
                            config_setting_source_line(first));
        }
        primary = i;
    }
    if (primary < 0 && !grouped)
        return cfg_fail(ld, list, "backends",
                        "no backend has role \"primary\", exactly one backend must have it");
    return HY_OK;
}

/* What a cluster type needs of a group's settings. `where` is the group's
 * element (NULL: the top level, the implicit group), `prefix` the key
 * prefix of its messages ("" or "groups.[1]."). */
static hy_status_t check_cluster(struct loader *ld, const struct config *cfg,
                                 const struct config_group *grp, config_setting_t *root,
                                 config_setting_t *where, const char *prefix)
{
    config_setting_t *at = where != NULL ? where : root;
    char k_failover[KEYNAME_MAX], k_rejoin[KEYNAME_MAX], k_cluster[KEYNAME_MAX];
    snprintf(k_failover, sizeof(k_failover), "%sfailover", prefix);
    snprintf(k_rejoin, sizeof(k_rejoin), "%sauto_rejoin", prefix);
    snprintf(k_cluster, sizeof(k_cluster), "%scluster", prefix);
    /* A setting the group inherits is reported where it was written. */
    config_setting_t *s_failover = config_setting_get_member(at, "failover");
    if (s_failover == NULL) {
        s_failover = config_setting_get_member(root, "failover");
        snprintf(k_failover, sizeof(k_failover), "failover");
    }
    config_setting_t *s_rejoin = config_setting_get_member(at, "auto_rejoin");
    if (s_rejoin == NULL) {
        s_rejoin = config_setting_get_member(root, "auto_rejoin");
        snprintf(k_rejoin, sizeof(k_rejoin), "auto_rejoin");
    }
    config_setting_t *s_cluster = cfg_member_or_group(at, "cluster");
    if (grp->failover_auto && grp->monitor_user[0] == '\0')
        return cfg_fail(ld, s_failover, k_failover,
                        "failover = \"auto\" needs the health checks: set monitor.user");
    if (grp->cluster == CLUSTER_GALERA) {
        /* Promotion, fencing and rejoin are for a primary and replicas:
         * on Galera they would set read_only on writable nodes. */
        if (grp->failover_auto)
            return cfg_fail(ld, s_failover, k_failover,
                            "failover = \"auto\" does not apply to cluster = \"galera\" (every "
                            "node is writable: the next node takes writes without a promotion)");
        if (grp->auto_rejoin)
            return cfg_fail(ld, s_rejoin, k_rejoin, "does not apply to cluster = \"galera\"");
        if (grp->monitor_user[0] == '\0')
            return cfg_fail(ld, s_cluster, k_cluster,
                            "cluster = \"galera\" needs the health checks (the writer is picked "
                            "from the nodes' wsrep state): set monitor.user");
    }
    if (grp->cluster == CLUSTER_DUAL_MASTER) {
        if (grp->n_members != 2)
            return cfg_fail(ld, s_cluster, k_cluster,
                            "cluster = \"dual-master\" needs exactly two backends, not %zu",
                            grp->n_members);
        if (grp->monitor_user[0] == '\0')
            return cfg_fail(ld, s_cluster, k_cluster,
                            "cluster = \"dual-master\" needs the health checks (the active is the "
                            "backend with read_only off): set monitor.user");
        /* Two voters alone never make a majority once one is lost. */
        if (grp->failover_auto && cfg->n_witnesses == 0)
            return cfg_fail(ld, s_failover, k_failover,
                            "failover = \"auto\" with cluster = \"dual-master\" needs a witness: "
                            "two servers alone are never a majority once one is lost");
    }
    return HY_OK;
}

/* The group's monitor account: its own monitor.user with its password (in
 * clear, from a file or the environment: at most one), else the top
 * level's user and password. Both are owned copies. */
static hy_status_t group_monitor_account(struct loader *ld, struct config *cfg,
                                         struct config_group *grp, config_setting_t *m,
                                         const char *prefix)
{
    char key[KEYNAME_MAX + 32];
    const char *user = cfg_get_str(m, "groups.[].monitor.user");
    const char *pw = cfg_get_str(m, "groups.[].monitor.password");
    bool given = false;
    if (user[0] == '\0') {
        const char *pf = cfg_get_str(m, "groups.[].monitor.password_file");
        const char *pe = cfg_get_str(m, "groups.[].monitor.password_env");
        if (pw[0] != '\0' || pf[0] != '\0' || pe[0] != '\0')
            return cfg_fail(ld, m, (snprintf(key, sizeof(key), "%smonitor", prefix), key),
                            "a password without the group's monitor.user: give the user too");
        grp->monitor_user = strdup(cfg->monitor.user);
        grp->monitor_password = strdup(cfg->monitor.password != NULL ? cfg->monitor.password : "");
        grp->monitor_password_clear = cfg->monitor.password_clear;
        grp->monitor_password_file = strdup(cfg->monitor.password_file);
        grp->monitor_password_env = strdup(cfg->monitor.password_env);
    } else if (pw[0] != '\0') {
        if (cfg_get_str(m, "groups.[].monitor.password_file")[0] != '\0' ||
            cfg_get_str(m, "groups.[].monitor.password_env")[0] != '\0')
            return cfg_fail(ld, config_setting_get_member(m, "password"),
                            (snprintf(key, sizeof(key), "%smonitor.password", prefix), key),
                            "give one of password, password_file and password_env");
        grp->monitor_user = strdup(user);
        grp->monitor_password = strdup(pw);
    } else {
        if (cfg_read_secret(ld, m, "groups.[].monitor.password_file",
                            "groups.[].monitor.password_env", &grp->monitor_password,
                            &given) != HY_OK)
            return HY_ERROR;
        grp->monitor_user = strdup(user);
    }
    if (user[0] != '\0') {
        grp->monitor_password_clear = pw[0] != '\0';
        grp->monitor_password_file = strdup(cfg_get_str(m, "groups.[].monitor.password_file"));
        grp->monitor_password_env = strdup(cfg_get_str(m, "groups.[].monitor.password_env"));
    }
    if (grp->monitor_user == NULL || grp->monitor_password == NULL ||
        grp->monitor_password_file == NULL || grp->monitor_password_env == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    return HY_OK;
}

/* The group's settings: its own where given, else the top level's. */
static hy_status_t group_settings(struct loader *ld, struct config *cfg, struct config_group *grp,
                                  config_setting_t *g, const char *prefix)
{
    char key[KEYNAME_MAX + 32];
    grp->cluster = cfg->cluster;
    grp->max_writers = cfg->max_writers;
    grp->writer_is_also_reader = cfg->writer_is_also_reader;
    grp->failover_auto = cfg->failover_auto;
    grp->failover_delay_ms = cfg->failover_delay_ms;
    grp->auto_rejoin = cfg->auto_rejoin;
    grp->rise = cfg->monitor.rise;
    grp->fall = cfg->monitor.fall;
    grp->interval_ms = cfg->monitor.interval_ms;
    grp->timeout_ms = cfg->monitor.timeout_ms;
    if (g == NULL)
        return group_monitor_account(ld, cfg, grp, NULL, prefix);
    const char *ct = cfg_get_str(g, "groups.[].cluster");
    if (strcmp(ct, "default") != 0)
        grp->cluster = strcmp(ct, "galera") == 0        ? CLUSTER_GALERA
                       : strcmp(ct, "dual-master") == 0 ? CLUSTER_DUAL_MASTER
                                                        : CLUSTER_REPLICATION;
    if (cfg_get_int(g, "groups.[].max_writers") > 0)
        grp->max_writers = (int)cfg_get_int(g, "groups.[].max_writers");
    if (config_setting_get_member(g, "writer_is_also_reader") != NULL)
        grp->writer_is_also_reader = cfg_get_bool(g, "groups.[].writer_is_also_reader");
    const char *fo = cfg_get_str(g, "groups.[].failover");
    if (strcmp(fo, "default") != 0)
        grp->failover_auto = strcmp(fo, "auto") == 0;
    if (cfg_get_int(g, "groups.[].failover_delay_ms") >= 0)
        grp->failover_delay_ms = (int)cfg_get_int(g, "groups.[].failover_delay_ms");
    if (config_setting_get_member(g, "auto_rejoin") != NULL)
        grp->auto_rejoin = cfg_get_bool(g, "groups.[].auto_rejoin");
    config_setting_t *m = config_setting_get_member(g, "monitor");
    if (cfg_get_int(m, "groups.[].monitor.rise") > 0)
        grp->rise = (int)cfg_get_int(m, "groups.[].monitor.rise");
    if (cfg_get_int(m, "groups.[].monitor.fall") > 0)
        grp->fall = (int)cfg_get_int(m, "groups.[].monitor.fall");
    /* 0 = the top level's; else within the top-level key's bounds */
    static const char *const timing[] = {"interval_ms", "timeout_ms"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(timing); i++) {
        char path[KEYNAME_MAX];
        snprintf(path, sizeof(path), "groups.[].monitor.%s", timing[i]);
        int v = (int)cfg_get_int(m, path);
        if (v > 0 && v < 50) {
            snprintf(key, sizeof(key), "%smonitor.%s", prefix, timing[i]);
            return cfg_fail(ld, config_setting_get_member(m, timing[i]), key,
                            "%d is under 50 (0 = the top level's)", v);
        }
        if (v > 0)
            *(i == 0 ? &grp->interval_ms : &grp->timeout_ms) = v;
    }
    return group_monitor_account(ld, cfg, grp, m, prefix);
}

/* shards.schemas (shard.h): each schema's group. A schema listed for two
 * groups is kept as a conflict (refused by the sessions until resolved,
 * shown by show shards), not a load error: the rest of the map serves. */
static hy_status_t fill_shards(struct loader *ld, struct config *cfg, config_setting_t *sh)
{
    config_setting_t *list = sh != NULL ? config_setting_get_member(sh, "schemas") : NULL;
    int n = list != NULL ? config_setting_length(list) : 0;
    char kname[KEYNAME_MAX], shown[48], shown2[48];
    cfg->shards_learn = sh != NULL && cfg_get_bool(sh, "shards.learn");
    cfg->shards_refresh_ms = sh != NULL ? (int)cfg_get_int(sh, "shards.refresh_ms") : 10000;
    if (cfg->shards_learn && cfg->monitor.user[0] == '\0')
        return cfg_fail(ld, config_setting_get_member(sh, "learn"), "shards.learn",
                        "learning the schemas needs an account to read them as: set monitor.user");
    cfg->shards_xa =
        sh != NULL && strcmp(cfg_get_str(sh, "shards.cross_group_transactions"), "xa") == 0;
    cfg->xa_log = strdup(cfg_get_str(sh, "shards.xa_log"));
    if (cfg->xa_log == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    if (cfg->shards_xa && cfg->xa_log[0] == '\0')
        return cfg_fail(ld, config_setting_get_member(sh, "cross_group_transactions"),
                        "shards.cross_group_transactions",
                        "\"xa\" needs a file to log its commit decisions to: set shards.xa_log");
    if (cfg->xa_log[0] != '\0' && cfg->xa_log[0] != '/')
        return cfg_fail(ld, config_setting_get_member(sh, "xa_log"), "shards.xa_log",
                        "\"%s\" is not an absolute path", cfg->xa_log);
    for (size_t g = 0; cfg->shards_xa && g < cfg->n_groups; g++) {
        if (!xa_log_name_ok(cfg->groups[g].name, XA_GROUP_MAX))
            return cfg_fail(ld, config_setting_get_member(sh, "cross_group_transactions"),
                            "shards.cross_group_transactions",
                            "\"xa\" names each branch by its group: group \"%s\" is to be "
                            "letters, digits, '_', '.' or '-'",
                            cfg_printable(cfg->groups[g].name, shown));
        if (cfg->groups[g].monitor_user[0] == '\0')
            return cfg_fail(ld, config_setting_get_member(sh, "cross_group_transactions"),
                            "shards.cross_group_transactions",
                            "\"xa\" resolves what a crash leaves in doubt by logging in to each "
                            "group's primary as the group's monitor account: set monitor.user "
                            "(group \"%s\" has none)",
                            cfg_printable(cfg->groups[g].name, shown));
    }
    if (n == 0)
        return HY_OK;
    cfg->shards.v = calloc((size_t)n, sizeof(*cfg->shards.v));
    if (cfg->shards.v == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
        const char *name = cfg_get_str(e, "shards.schemas.[].schema");
        const char *gn = cfg_get_str(e, "shards.schemas.[].group");
        int gi = group_find(cfg, gn);
        if (gi < 0) {
            snprintf(kname, sizeof(kname), "shards.schemas.[%d].group", i);
            return cfg_fail(ld, config_setting_get_member(e, "group"), kname,
                            "\"%s\" is not the name of a group", cfg_printable(gn, shown));
        }
        snprintf(kname, sizeof(kname), "shards.schemas.[%d].schema", i);
        if (shard_is_system(name))
            return cfg_fail(ld, config_setting_get_member(e, "schema"), kname,
                            "\"%s\" is a system schema, on every group: it cannot be mapped",
                            cfg_printable(name, shown));
        struct shard_schema *v = &cfg->shards.v[cfg->shards.n];
        v->name = strdup(name);
        if (v->name == NULL)
            return cfg_fail(ld, NULL, NULL, "out of memory");
        v->group = (uint16_t)gi;
        v->other = SHARD_NO_GROUP;
        v->line = i; /* its index until the map is sorted */
        cfg->shards.n++;
    }
    /* Sorted by name, then by position in the file: a name listed again
     * is a mistake for the same group, a conflict for another. */
    shard_map_sort(&cfg->shards);
    size_t out = 0;
    for (size_t i = 0; i < cfg->shards.n; i++) {
        struct shard_schema *v = &cfg->shards.v[i];
        config_setting_t *e = config_setting_get_elem(list, (unsigned)v->line);
        struct shard_schema *first = out > 0 ? &cfg->shards.v[out - 1] : NULL;
        if (first == NULL || strcmp(first->name, v->name) != 0) {
            v->line = (int)config_setting_source_line(e);
            cfg->shards.v[out++] = *v;
            continue;
        }
        snprintf(kname, sizeof(kname), "shards.schemas.[%d].schema", v->line);
        const char *gn = cfg->groups[v->group].name;
        if (first->group == v->group || first->other == v->group) {
            hy_status_t rc = cfg_fail(ld, config_setting_get_member(e, "schema"), kname,
                                      "\"%s\" is listed twice for group \"%s\"",
                                      cfg_printable(v->name, shown), cfg_printable(gn, shown2));
            for (size_t j = i; j < cfg->shards.n; j++)
                free(cfg->shards.v[j].name);
            cfg->shards.n = out;
            return rc;
        }
        if (first->other == SHARD_NO_GROUP)
            first->other = v->group;
        hy_log_warn("%s:%d: %s: schema \"%s\" is on groups %s and %s: statements naming it are "
                    "refused until the map says which",
                    ld->name, (int)config_setting_source_line(e), kname,
                    cfg_printable(v->name, shown), cfg->groups[first->group].name, gn);
        free(v->name);
    }
    cfg->shards.n = out;
    return HY_OK;
}

/* The groups (group.h): each backend in exactly one, a replication or
 * dual-master group with exactly one configured primary... Without
 * `groups`, one group "default" with every backend. Then the listeners'
 * groups. */
hy_status_t cfg_fill_groups(struct loader *ld, struct config *cfg, config_setting_t *root)
{
    config_setting_t *list = config_setting_get_member(root, "groups");
    int n = list != NULL ? config_setting_length(list) : 0;
    char kname[KEYNAME_MAX], shown[48], shown2[48];
    cfg->groups_explicit = n > 0;
    cfg->groups = calloc(n > 0 ? (size_t)n : 1, sizeof(*cfg->groups));
    if (cfg->groups == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    if (n == 0) {
        struct config_group *grp = &cfg->groups[0];
        cfg->n_groups = 1;
        grp->name = strdup("default");
        grp->members = calloc(cfg->n_backends ? cfg->n_backends : 1, sizeof(*grp->members));
        if (grp->name == NULL || grp->members == NULL)
            return cfg_fail(ld, NULL, NULL, "out of memory");
        for (size_t i = 0; i < cfg->n_backends; i++)
            grp->members[grp->n_members++] = (uint16_t)i;
        if (group_settings(ld, cfg, grp, NULL, "") != HY_OK)
            return HY_ERROR;
        if (check_cluster(ld, cfg, grp, root, NULL, "") != HY_OK)
            return HY_ERROR;
    }
    int *owner = calloc(cfg->n_backends ? cfg->n_backends : 1, sizeof(*owner));
    if (owner == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    for (size_t i = 0; i < cfg->n_backends; i++)
        owner[i] = n > 0 ? -1 : 0;
    hy_status_t rc = HY_OK;
    for (int gi = 0; gi < n && rc == HY_OK; gi++) {
        config_setting_t *g = config_setting_get_elem(list, (unsigned)gi);
        struct config_group *grp = &cfg->groups[gi];
        cfg->n_groups++;
        if (cfg_check_unique_name(ld, list, gi, "group", "groups") != HY_OK ||
            cfg_dup_str(ld, &grp->name, g, "groups.[].name") != HY_OK) {
            rc = HY_ERROR;
            break;
        }
        grp->line = (int)config_setting_source_line(config_setting_get_member(g, "name"));
        config_setting_t *bl = config_setting_get_member(g, "backends");
        int m = config_setting_length(bl);
        grp->members = calloc((size_t)m, sizeof(*grp->members));
        if (grp->members == NULL) {
            rc = cfg_fail(ld, NULL, NULL, "out of memory");
            break;
        }
        int primary = -1;
        for (int j = 0; j < m; j++) {
            config_setting_t *e = config_setting_get_elem(bl, (unsigned)j);
            const char *bn = config_setting_get_string(e);
            snprintf(kname, sizeof(kname), "groups.[%d].backends", gi);
            size_t b = 0;
            while (b < cfg->n_backends && strcmp(cfg->backends[b].name, bn) != 0)
                b++;
            if (b == cfg->n_backends) {
                rc = cfg_fail(ld, e, kname, "\"%s\" is not the name of a backend",
                              cfg_printable(bn, shown));
                break;
            }
            if (owner[b] == gi) {
                rc = cfg_fail(ld, e, kname, "\"%s\" is listed twice", cfg_printable(bn, shown));
                break;
            }
            if (owner[b] >= 0) {
                rc = cfg_fail(ld, e, kname,
                              "backend \"%s\" is already in group \"%s\" (line %d); a backend "
                              "belongs to exactly one group",
                              cfg_printable(bn, shown),
                              cfg_printable(cfg->groups[owner[b]].name, shown2),
                              cfg->groups[owner[b]].line);
                break;
            }
            owner[b] = gi;
            grp->members[grp->n_members++] = (uint16_t)b;
            if (cfg->backends[b].role == ROLE_PRIMARY) {
                if (primary >= 0) {
                    rc = cfg_fail(ld, e, kname,
                                  "second primary \"%s\"; \"%s\" is already the group's primary, "
                                  "exactly one backend of a group must have role \"primary\"",
                                  cfg_printable(bn, shown),
                                  cfg_printable(cfg->backends[primary].name, shown2));
                    break;
                }
                primary = (int)b;
            }
        }
        if (rc != HY_OK)
            break;
        if (primary < 0) {
            snprintf(kname, sizeof(kname), "groups.[%d].backends", gi);
            rc = cfg_fail(
                ld, bl, kname,
                "no backend of group \"%s\" has role \"primary\", exactly one must have it",
                cfg_printable(grp->name, shown));
            break;
        }
        snprintf(kname, sizeof(kname), "groups.[%d].", gi);
        if (group_settings(ld, cfg, grp, g, kname) != HY_OK) {
            rc = HY_ERROR;
            break;
        }
        rc = check_cluster(ld, cfg, grp, root, g, kname);
    }
    for (size_t b = 0; rc == HY_OK && b < cfg->n_backends; b++) {
        if (owner[b] < 0) {
            snprintf(kname, sizeof(kname), "backends.[%zu].name", b);
            config_setting_t *be =
                config_setting_get_elem(config_setting_get_member(root, "backends"), (unsigned)b);
            rc = cfg_fail(ld, config_setting_get_member(be, "name"), kname,
                          "backend \"%s\" is in no group; with groups, list every backend in one",
                          cfg_printable(cfg->backends[b].name, shown));
        }
        cfg->backends[b].group = (uint16_t)(owner[b] < 0 ? 0 : owner[b]);
    }
    free(owner);
    if (rc != HY_OK)
        return rc;
    /* The listeners' groups. */
    config_setting_t *ll = config_setting_get_member(root, "listeners");
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        config_setting_t *lg = config_setting_get_elem(ll, (unsigned)i);
        const char *gn = cfg_get_str(lg, "listeners.[].group");
        if (gn[0] == '\0')
            continue;
        int gi = group_find(cfg, gn);
        if (gi < 0) {
            snprintf(kname, sizeof(kname), "listeners.[%zu].group", i);
            return cfg_fail(ld, config_setting_get_member(lg, "group"), kname,
                            "\"%s\" is not the name of a group", cfg_printable(gn, shown));
        }
        cfg->listeners[i].group = (uint16_t)gi;
    }
    for (size_t i = 0; i < cfg->n_listeners; i++)
        cfg->listeners[i].shards =
            cfg_get_bool(config_setting_get_elem(ll, (unsigned)i), "listeners.[].shards");
    if (cfg_fill_key_tables(ld, cfg, config_setting_get_member(root, "shards")) != HY_OK)
        return HY_ERROR;
    if (fill_shards(ld, cfg, config_setting_get_member(root, "shards")) != HY_OK)
        return HY_ERROR;
    if (group_views_build(cfg) != HY_OK)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    return HY_OK;
}

/* Where a message about key `leaf` of group `g` points: the setting, or
 * the group when the key is left out. */
config_setting_t *cfg_member_or_group(config_setting_t *g, const char *leaf)
{
    config_setting_t *s = config_setting_get_member(g, leaf);
    return s != NULL ? s : g;
}

/* The failover lock's other voters: only a name and where to log in. */
hy_status_t cfg_fill_witnesses(struct loader *ld, struct config *cfg, config_setting_t *list)
{
    int n = list != NULL ? config_setting_length(list) : 0;
    if (n == 0)
        return HY_OK;
    cfg->witnesses = calloc((size_t)n, sizeof(*cfg->witnesses));
    if (cfg->witnesses == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    for (int i = 0; i < n; i++) {
        config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        struct config_witness *w = &cfg->witnesses[i];
        cfg->n_witnesses++;
        if (cfg_fill_endpoint(ld, list, i, "witness", "witnesses", &w->name, &w->address,
                              &w->port) != HY_OK)
            return HY_ERROR;
        for (size_t b = 0; b < cfg->n_backends; b++) {
            if (cfg->backends[b].port == w->port &&
                strcmp(cfg->backends[b].address, w->address) == 0) {
                char kname[KEYNAME_MAX], shown[48];
                snprintf(kname, sizeof(kname), "witnesses.[%d].address", i);
                return cfg_fail(ld, cfg_member_or_group(g, "address"), kname,
                                "%s:%d is backend \"%s\": a witness is a server outside the "
                                "cluster, or it would vote twice",
                                w->address, w->port, cfg_printable(cfg->backends[b].name, shown));
            }
        }
    }
    return HY_OK;
}

/* A password from a file (its first line) or an environment variable,
 * named by keys `fkey` and `ekey` of group `g` (at most one of them set),
 * so the config itself never holds it. `*out` is the password, "" when
 * neither is set, and `*given` says whether one was. */
hy_status_t cfg_read_secret(struct loader *ld, config_setting_t *g, const char *fkey,
                            const char *ekey, char **out, bool *given)
{
    const char *file = cfg_get_str(g, fkey);
    const char *env = cfg_get_str(g, ekey);
    config_setting_t *fs = g != NULL ? config_setting_get_member(g, cfg_key_leaf(fkey)) : NULL;
    config_setting_t *es = g != NULL ? config_setting_get_member(g, cfg_key_leaf(ekey)) : NULL;
    char pw[256] = "";
    *given = file[0] != '\0' || env[0] != '\0';
    if (file[0] != '\0' && env[0] != '\0')
        return cfg_fail(ld, es, ekey, "give %s or %s, not both", cfg_key_leaf(fkey),
                        cfg_key_leaf(ekey));
    if (file[0] != '\0') {
        FILE *f = fopen(file, "r");
        if (f == NULL)
            return cfg_fail(ld, fs, fkey, "cannot read %s: %s", file, strerror(errno));
        if (fgets(pw, sizeof(pw), f) == NULL && ferror(f)) {
            int e = errno;
            fclose(f);
            return cfg_fail(ld, fs, fkey, "cannot read %s: %s", file, strerror(e));
        }
        fclose(f);
        pw[strcspn(pw, "\r\n")] = '\0';
    } else if (env[0] != '\0') {
        const char *v = getenv(env);
        if (v == NULL)
            return cfg_fail(ld, es, ekey, "environment variable %s is not set", env);
        if (strlen(v) >= sizeof(pw))
            return cfg_fail(ld, es, ekey, "the password is longer than %zu bytes", sizeof(pw) - 1);
        snprintf(pw, sizeof(pw), "%s", v);
    }
    *out = strdup(pw);
    explicit_bzero(pw, sizeof(pw));
    if (*out == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    return HY_OK;
}

/* replication_user and its password, from a file or the environment. */
hy_status_t cfg_fill_replication(struct loader *ld, struct config *cfg, config_setting_t *root)
{
    bool given;
    if (cfg_dup_str(ld, &cfg->replication_user, root, "replication_user") != HY_OK ||
        cfg_dup_str(ld, &cfg->replication_password_file, root, "replication_password_file") !=
            HY_OK ||
        cfg_dup_str(ld, &cfg->replication_password_env, root, "replication_password_env") !=
            HY_OK ||
        cfg_read_secret(ld, root, "replication_password_file", "replication_password_env",
                        &cfg->replication_password, &given) != HY_OK)
        return HY_ERROR;
    if (given && cfg->replication_user[0] == '\0') {
        config_setting_t *fs = config_setting_get_member(root, "replication_password_file");
        config_setting_t *es = config_setting_get_member(root, "replication_password_env");
        return cfg_fail(ld, fs != NULL ? fs : es,
                        fs != NULL ? "replication_password_file" : "replication_password_env",
                        "a replication password needs replication_user");
    }
    return HY_OK;
}

/* The monitor group: its account and password (in clear, from a file or
 * from the environment: at most one), intervals and counts. */
hy_status_t cfg_fill_monitor(struct loader *ld, struct config *cfg, config_setting_t *g)
{
    struct config_monitor *m = &cfg->monitor;
    bool given;
    m->interval_ms = (int)cfg_get_int(g, "monitor.interval_ms");
    m->timeout_ms = (int)cfg_get_int(g, "monitor.timeout_ms");
    m->status_every = (int)cfg_get_int(g, "monitor.status_every");
    m->connections_warn_pct = (int)cfg_get_int(g, "monitor.connections_warn_pct");
    m->disk_warn_pct = (int)cfg_get_int(g, "monitor.disk_warn_pct");
    m->binlog_warn_mb = (int)cfg_get_int(g, "monitor.binlog_warn_mb");
    m->rise = (int)cfg_get_int(g, "monitor.rise");
    m->fall = (int)cfg_get_int(g, "monitor.fall");
    if (cfg_dup_str(ld, &m->user, g, "monitor.user") != HY_OK ||
        cfg_dup_str(ld, &m->password_file, g, "monitor.password_file") != HY_OK ||
        cfg_dup_str(ld, &m->password_env, g, "monitor.password_env") != HY_OK)
        return HY_ERROR;
    m->password_clear = cfg_get_str(g, "monitor.password")[0] != '\0';
    if (m->password_clear) {
        if (m->password_file[0] != '\0' || m->password_env[0] != '\0')
            return cfg_fail(ld, config_setting_get_member(g, "password"), "monitor.password",
                            "give one of password, password_file and password_env");
        return cfg_dup_str(ld, &m->password, g, "monitor.password");
    }
    if (cfg_read_secret(ld, g, "monitor.password_file", "monitor.password_env", &m->password,
                        &given) != HY_OK)
        return HY_ERROR;
    return HY_OK;
}
