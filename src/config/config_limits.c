/*
 * config_limits.c: fair-share limits in halyard.conf (config.c has the
 * loader; limits.h what they do). A limit names whom it governs with the
 * conditions a query rule has (user or users, schema, client, listener,
 * match_digest)
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

static hy_status_t fill_limit(struct loader *ld, struct config *cfg, config_setting_t *list, int i)
{
    config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
    struct config_limit *l = &cfg->limits[i];
    char kname[KEYNAME_MAX];
    cfg->n_limits++;
    if (cfg_check_unique_name(ld, list, i, "limit", "limits") != HY_OK ||
        cfg_dup_str(ld, &l->name, g, "limits.[].name") != HY_OK ||
        cfg_dup_opt(ld, &l->match_digest, g, "limits.[].match_digest") != HY_OK)
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
    if (cfg_compile_pattern(ld, g, "limits", i, "match_digest", l->match_digest, &l->digest_re) !=
        HY_OK)
        return HY_ERROR;
    cfg->limits_need_digest |= l->digest_re != NULL;
    return cfg_fill_who(ld, cfg, g, "limits", i, &l->who);
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
        cfg_free_who(&l->who);
        free(l->match_digest);
        rules_regex_free(l->digest_re);
    }
    free(cfg->limits);
    cfg->limits = NULL;
    cfg->n_limits = 0;
}
