/*
 * config_limits.c: fair-share limits in halyard.conf (config.c has the
 * loader; limits.h what they do). A limit names whom it governs with the
 * conditions a query rule has (user or users, schema, client, listener)
 * and gives at least one of max_concurrent, max_per_second and
 * max_server_ms_per_second; its queue is queue_size statements waiting at
 * most queue_timeout_ms.
 */
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/config/config.h"
#include "halyard/config/rules.h"
#include "config_int.h"

/* The conditions name users and a listener that exist. */
static hy_status_t check_limit_names(struct loader *ld, struct config *cfg, config_setting_t *g,
                                     int i, const struct config_limit *l)
{
    char kname[KEYNAME_MAX], shown[48];
    if (l->user != NULL && l->users.n > 0) {
        snprintf(kname, sizeof(kname), "limits.[%d].users", i);
        return cfg_fail(ld, config_setting_get_member(g, "users"), kname,
                        "give user or users, not both");
    }
    const char *missing = NULL;
    if (l->user != NULL && config_find_user(cfg, l->user, strlen(l->user)) == NULL)
        missing = l->user;
    for (size_t j = 0; missing == NULL && j < l->users.n; j++)
        if (config_find_user(cfg, l->users.v[j], strlen(l->users.v[j])) == NULL)
            missing = l->users.v[j];
    if (missing != NULL) {
        const char *leaf = l->user != NULL ? "user" : "users";
        snprintf(kname, sizeof(kname), "limits.[%d].%s", i, leaf);
        return cfg_fail(ld, config_setting_get_member(g, leaf), kname, "no user \"%s\" in users",
                        cfg_printable(missing, shown));
    }
    if (l->listener != NULL) {
        size_t k = 0;
        while (k < cfg->n_listeners && strcmp(cfg->listeners[k].name, l->listener) != 0)
            k++;
        if (k == cfg->n_listeners) {
            snprintf(kname, sizeof(kname), "limits.[%d].listener", i);
            return cfg_fail(ld, config_setting_get_member(g, "listener"), kname,
                            "no listener \"%s\" in listeners", cfg_printable(l->listener, shown));
        }
    }
    return HY_OK;
}

static hy_status_t fill_limit(struct loader *ld, struct config *cfg, config_setting_t *list, int i)
{
    config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
    struct config_limit *l = &cfg->limits[i];
    char kname[KEYNAME_MAX], why[256], shown[48];
    cfg->n_limits++;
    if (cfg_check_unique_name(ld, list, i, "limit", "limits") != HY_OK ||
        cfg_dup_str(ld, &l->name, g, "limits.[].name") != HY_OK ||
        cfg_dup_opt(ld, &l->user, g, "limits.[].user") != HY_OK ||
        cfg_dup_strings(ld, &l->users, g, "limits.[].users") != HY_OK ||
        cfg_dup_opt(ld, &l->schema, g, "limits.[].schema") != HY_OK ||
        cfg_dup_opt(ld, &l->client, g, "limits.[].client") != HY_OK ||
        cfg_dup_opt(ld, &l->listener, g, "limits.[].listener") != HY_OK)
        return HY_ERROR;
    l->max_concurrent = (int)cfg_get_int(g, "limits.[].max_concurrent");
    l->max_per_second = (int)cfg_get_int(g, "limits.[].max_per_second");
    l->burst = (int)cfg_get_int(g, "limits.[].burst");
    l->max_server_ms_per_second = (int)cfg_get_int(g, "limits.[].max_server_ms_per_second");
    l->queue_size = (int)cfg_get_int(g, "limits.[].queue_size");
    l->queue_timeout_ms = (int)cfg_get_int(g, "limits.[].queue_timeout_ms");
    l->tenant = strcmp(cfg_get_str(g, "limits.[].tenant"), "schema") == 0 ? LIMIT_TENANT_SCHEMA
                                                                          : LIMIT_TENANT_USER;
    snprintf(kname, sizeof(kname), "limits.[%d]", i);
    if (l->max_concurrent == 0 && l->max_per_second == 0 && l->max_server_ms_per_second == 0)
        return cfg_fail(ld, g, kname,
                        "no limit; give at least one of max_concurrent, max_per_second, "
                        "max_server_ms_per_second");
    if (l->burst > 0 && l->max_per_second == 0) {
        snprintf(kname, sizeof(kname), "limits.[%d].burst", i);
        return cfg_fail(ld, config_setting_get_member(g, "burst"), kname,
                        "only used with max_per_second");
    }
    if (l->burst == 0)
        l->burst = l->max_per_second; /* one second's worth */
    if (check_limit_names(ld, cfg, g, i, l) != HY_OK)
        return HY_ERROR;
    if (l->client != NULL && rules_cidr_parse(l->client, &l->cidr, why, sizeof(why)) != HY_OK) {
        snprintf(kname, sizeof(kname), "limits.[%d].client", i);
        return cfg_fail(ld, config_setting_get_member(g, "client"), kname, "\"%s\": %s",
                        cfg_printable(l->client, shown), why);
    }
    return HY_OK;
}

hy_status_t cfg_fill_limits(struct loader *ld, struct config *cfg, config_setting_t *list)
{
    int n = list != NULL ? config_setting_length(list) : 0;
    if (n > 0) {
        cfg->limits = calloc((size_t)n, sizeof(*cfg->limits));
        if (cfg->limits == NULL)
            return cfg_fail(ld, NULL, NULL, "out of memory");
    }
    for (int i = 0; i < n; i++)
        if (fill_limit(ld, cfg, list, i) != HY_OK)
            return HY_ERROR;
    return HY_OK;
}

void cfg_free_limits(struct config *cfg)
{
    for (size_t i = 0; i < cfg->n_limits; i++) {
        struct config_limit *l = &cfg->limits[i];
        free(l->name);
        free(l->user);
        for (size_t j = 0; j < l->users.n; j++)
            free(l->users.v[j]);
        free(l->users.v);
        free(l->schema);
        free(l->client);
        free(l->listener);
    }
    free(cfg->limits);
    cfg->limits = NULL;
    cfg->n_limits = 0;
}
