/*
 * config_rules.c: query rules in halyard.conf (config.c has the loader):
 * each rule's match (compiled PCRE2 patterns, digests) and its action
 * (route, block).
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
#include "config_int.h"

hy_status_t cfg_compile_pattern(struct loader *ld, config_setting_t *g, const char *lname, int i,
                                const char *leaf, const char *pattern, struct rule_regex **out)
{
    char why[320], kname[KEYNAME_MAX];
    if (pattern == NULL)
        return HY_OK;
    hy_status_t rc = rules_regex_compile(pattern, out, why, sizeof(why));
    if (rc == HY_NOMEM)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    if (rc == HY_OK)
        return HY_OK;
    snprintf(kname, sizeof(kname), "%s.[%d].%s", lname, i, leaf);
    return cfg_fail(ld, config_setting_get_member(g, leaf), kname, "%s", why);
}

/* action = route: where to. */
static hy_status_t fill_rule_route(struct loader *ld, struct config *cfg, config_setting_t *g,
                                   int i, struct config_rule *r)
{
    static const char *const block_only[] = {"error_code", "error_sqlstate", "error_message"};
    char kname[KEYNAME_MAX], shown[48];
    for (size_t k = 0; k < HY_ARRAY_SIZE(block_only); k++) {
        config_setting_t *s = config_setting_get_member(g, block_only[k]);
        if (s != NULL) {
            snprintf(kname, sizeof(kname), "rules.[%d].%s", i, block_only[k]);
            return cfg_fail(ld, s, kname, "only used with action = \"block\"");
        }
    }
    const char *route = cfg_get_str(g, "rules.[].route");
    snprintf(kname, sizeof(kname), "rules.[%d].route", i);
    if (route[0] == '\0')
        return cfg_fail(ld, cfg_member_or_group(g, "route"), kname,
                        "required when action = \"route\"");
    /* The words win over a backend of that name. */
    if (strcmp(route, "primary") == 0) {
        r->route = RULE_ROUTE_PRIMARY;
    } else if (strcmp(route, "replica") == 0) {
        r->route = RULE_ROUTE_REPLICA;
    } else {
        size_t b = 0;
        while (b < cfg->n_backends && strcmp(cfg->backends[b].name, route) != 0)
            b++;
        if (b == cfg->n_backends)
            return cfg_fail(ld, config_setting_get_member(g, "route"), kname,
                            "\"%s\" is not primary, replica or the name of a backend",
                            cfg_printable(route, shown));
        r->route = RULE_ROUTE_BACKEND;
        r->backend = (uint16_t)b;
    }
    r->route_name = strdup(route);
    if (r->route_name == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    return HY_OK;
}

/* action = block: the error. */
static hy_status_t fill_rule_block(struct loader *ld, config_setting_t *g, int i,
                                   struct config_rule *r)
{
    char kname[KEYNAME_MAX], shown[48];
    config_setting_t *route = config_setting_get_member(g, "route");
    if (route != NULL) {
        snprintf(kname, sizeof(kname), "rules.[%d].route", i);
        return cfg_fail(ld, route, kname, "only used with action = \"route\"");
    }
    r->error_code = (int)cfg_get_int(g, "rules.[].error_code");
    const char *state = cfg_get_str(g, "rules.[].error_sqlstate"); /* 5 bytes: the table says so */
    for (size_t k = 0; k < 5; k++) {
        char c = state[k];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))) {
            snprintf(kname, sizeof(kname), "rules.[%d].error_sqlstate", i);
            return cfg_fail(ld, config_setting_get_member(g, "error_sqlstate"), kname,
                            "\"%s\" is not an SQLSTATE: 5 characters 0-9 or A-Z",
                            cfg_printable(state, shown));
        }
    }
    memcpy(r->error_sqlstate, state, 6);
    const char *msg = cfg_get_str(g, "rules.[].error_message");
    const char *mark = strstr(msg, "{name}");
    size_t len = strlen(msg) + (mark != NULL ? strlen(r->name) : 0) + 1;
    r->error_message = malloc(len);
    if (r->error_message == NULL)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    if (mark != NULL)
        snprintf(r->error_message, len, "%.*s%s%s", (int)(mark - msg), msg, r->name, mark + 6);
    else
        memcpy(r->error_message, msg, len);
    return HY_OK;
}

/* rules.[].tables: "NAME", "SCHEMA.NAME" or "SCHEMA.*", kept in lower case
 * (cache_sql.h names tables so). */
static hy_status_t fill_rule_tables(struct loader *ld, config_setting_t *g, int i,
                                    struct config_rule *r)
{
    char kname[KEYNAME_MAX], shown[48];
    for (size_t j = 0; j < r->tables.n; j++) {
        char *t = r->tables.v[j];
        const char *dot = strchr(t, '.');
        const char *name = dot != NULL ? dot + 1 : t;
        const char *star = strchr(t, '*');
        bool ok = name[0] != '\0' && (dot == NULL || dot > t) && strchr(name, '.') == NULL &&
                  (star == NULL || (dot != NULL && star == name && name[1] == '\0'));
        if (!ok) {
            snprintf(kname, sizeof(kname), "rules.[%d].tables", i);
            return cfg_fail(ld, config_setting_get_member(g, "tables"), kname,
                            "\"%s\" is not NAME, SCHEMA.NAME or SCHEMA.*", cfg_printable(t, shown));
        }
        for (char *p = t; *p != '\0'; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    }
    return HY_OK;
}

/* action = cache: ttl, size, and the gate of its hits. */
static hy_status_t fill_rule_cache(struct loader *ld, struct config *cfg, config_setting_t *g,
                                   int i, struct config_rule *r)
{
    char kname[KEYNAME_MAX];
    r->action = RULE_ACTION_CACHE;
    r->ttl_ms = (int)cfg_get_int(g, "rules.[].ttl_ms");
    r->max_result_bytes = cfg_get_int(g, "rules.[].max_result_bytes");
    const char *ryw = cfg_get_str(g, "rules.[].read_your_writes"); /* held to its choices */
    r->read_your_writes = strcmp(ryw, "global") == 0    ? RULE_RYW_GLOBAL
                          : strcmp(ryw, "session") == 0 ? RULE_RYW_SESSION
                                                        : RULE_RYW_DEFAULT;
    r->max_stale_ms = (int)cfg_get_int(g, "rules.[].max_stale_ms");
    if (r->max_stale_ms > 0 && config_setting_get_member(g, "read_your_writes") != NULL) {
        snprintf(kname, sizeof(kname), "rules.[%d].read_your_writes", i);
        return cfg_fail(ld, config_setting_get_member(g, "read_your_writes"), kname,
                        "not used with max_stale_ms > 0 (its hits wait for no write)");
    }
    cfg->cache.enabled = true;
    static const char *const not_here[] = {"route", "error_code", "error_sqlstate",
                                           "error_message"};
    for (size_t k = 0; k < HY_ARRAY_SIZE(not_here); k++) {
        config_setting_t *s = config_setting_get_member(g, not_here[k]);
        if (s != NULL) {
            snprintf(kname, sizeof(kname), "rules.[%d].%s", i, not_here[k]);
            return cfg_fail(ld, s, kname, "not used with action = \"cache\"");
        }
    }
    return fill_rule_tables(ld, g, i, r);
}

/* Condition `leaf` of element i of list `lname` fails: `why` about `value`
 * (a bad network), else `value` is not a `what` of the config, else (NULL)
 * user and users are both given. */
static hy_status_t who_fail(struct loader *ld, config_setting_t *g, const char *lname, int i,
                            const char *leaf, const char *what, const char *value, const char *why)
{
    char kname[KEYNAME_MAX], shown[48];
    snprintf(kname, sizeof(kname), "%s.[%d].%s", lname, i, leaf);
    config_setting_t *at = config_setting_get_member(g, leaf);
    if (why != NULL)
        return cfg_fail(ld, at, kname, "\"%s\": %s", cfg_printable(value, shown), why);
    if (value == NULL)
        return cfg_fail(ld, at, kname, "give user or users, not both");
    return cfg_fail(ld, at, kname, "no %s \"%s\" in %ss", what, cfg_printable(value, shown), what);
}

hy_status_t cfg_fill_who(struct loader *ld, struct config *cfg, config_setting_t *g,
                         const char *lname, int i, struct config_who *w)
{
    char path[5][KEYNAME_MAX], why[256];
    static const char *const leaf[] = {"user", "schema", "client", "listener", "users"};
    for (size_t k = 0; k < HY_ARRAY_SIZE(leaf); k++)
        snprintf(path[k], sizeof(path[k]), "%s.[].%s", lname, leaf[k]);
    if (cfg_dup_opt(ld, &w->user, g, path[0]) != HY_OK ||
        cfg_dup_opt(ld, &w->schema, g, path[1]) != HY_OK ||
        cfg_dup_opt(ld, &w->client, g, path[2]) != HY_OK ||
        cfg_dup_opt(ld, &w->listener, g, path[3]) != HY_OK ||
        cfg_dup_strings(ld, &w->users, g, path[4]) != HY_OK)
        return HY_ERROR;
    if (w->listener != NULL) {
        size_t l = 0;
        while (l < cfg->n_listeners && strcmp(cfg->listeners[l].name, w->listener) != 0)
            l++;
        if (l == cfg->n_listeners)
            return who_fail(ld, g, lname, i, "listener", "listener", w->listener, NULL);
    }
    if (w->user != NULL && w->users.n > 0)
        return who_fail(ld, g, lname, i, "users", NULL, NULL, NULL);
    if (w->user != NULL && config_find_user(cfg, w->user, strlen(w->user)) == NULL)
        return who_fail(ld, g, lname, i, "user", "user", w->user, NULL);
    for (size_t j = 0; j < w->users.n; j++) {
        if (config_find_user(cfg, w->users.v[j], strlen(w->users.v[j])) == NULL)
            return who_fail(ld, g, lname, i, "users", "user", w->users.v[j], NULL);
    }
    if (w->client != NULL && rules_cidr_parse(w->client, &w->cidr, why, sizeof(why)) != HY_OK)
        return who_fail(ld, g, lname, i, "client", NULL, w->client, why);
    return HY_OK;
}

static hy_status_t fill_rule(struct loader *ld, struct config *cfg, config_setting_t *list, int i)
{
    config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
    struct config_rule *r = &cfg->rules[i];
    char kname[KEYNAME_MAX];
    cfg->n_rules++;
    if (cfg_check_unique_name(ld, list, i, "rule", "rules") != HY_OK ||
        cfg_dup_str(ld, &r->name, g, "rules.[].name") != HY_OK ||
        cfg_dup_opt(ld, &r->match_digest, g, "rules.[].match_digest") != HY_OK ||
        cfg_dup_opt(ld, &r->match_text, g, "rules.[].match_text") != HY_OK ||
        cfg_dup_strings(ld, &r->tables, g, "rules.[].tables") != HY_OK ||
        cfg_dup_strings(ld, &r->no_where, g, "rules.[].no_where") != HY_OK ||
        cfg_fill_who(ld, cfg, g, "rules", i, &r->who) != HY_OK)
        return HY_ERROR;
    const struct config_who *w = &r->who;
    if (r->match_digest == NULL && r->match_text == NULL && w->user == NULL && w->schema == NULL &&
        w->client == NULL && w->users.n == 0 && r->no_where.n == 0 && w->listener == NULL &&
        r->tables.n == 0) {
        snprintf(kname, sizeof(kname), "rules.[%d]", i);
        return cfg_fail(ld, g, kname,
                        "no condition; give at least one of match_digest, match_text, user, users, "
                        "schema, client, listener, no_where, tables");
    }
    cfg->rules_need_digest |= r->no_where.n > 0;
    if (cfg_compile_pattern(ld, g, "rules", i, "match_digest", r->match_digest, &r->digest_re) !=
            HY_OK ||
        cfg_compile_pattern(ld, g, "rules", i, "match_text", r->match_text, &r->text_re) != HY_OK)
        return HY_ERROR;
    cfg->rules_need_digest |= r->digest_re != NULL;
    if (strcmp(cfg_get_str(g, "rules.[].action"), "cache") == 0)
        return fill_rule_cache(ld, cfg, g, i, r);
    static const char *const cache_only[] = {"ttl_ms", "max_result_bytes", "tables",
                                             "read_your_writes", "max_stale_ms"};
    for (size_t k = 0; k < HY_ARRAY_SIZE(cache_only); k++) {
        config_setting_t *s = config_setting_get_member(g, cache_only[k]);
        if (s != NULL) {
            snprintf(kname, sizeof(kname), "rules.[%d].%s", i, cache_only[k]);
            return cfg_fail(ld, s, kname, "only used with action = \"cache\"");
        }
    }
    if (strcmp(cfg_get_str(g, "rules.[].action"), "block") == 0) {
        r->action = RULE_ACTION_BLOCK;
        return fill_rule_block(ld, g, i, r);
    }
    r->action = RULE_ACTION_ROUTE;
    return fill_rule_route(ld, cfg, g, i, r);
}

/* After users and backends: rules name them. */
hy_status_t cfg_fill_rules(struct loader *ld, struct config *cfg, config_setting_t *list)
{
    int n = list != NULL ? config_setting_length(list) : 0;
    if (n > 0) {
        cfg->rules = calloc((size_t)n, sizeof(*cfg->rules));
        if (cfg->rules == NULL)
            return cfg_fail(ld, NULL, NULL, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        if (fill_rule(ld, cfg, list, i) != HY_OK)
            return HY_ERROR;
    }
    if (rules_hits_init(cfg) != HY_OK)
        return cfg_fail(ld, NULL, NULL, "out of memory");
    return HY_OK;
}
