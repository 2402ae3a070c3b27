/*
 * config_int.h: what config.c (the loader) shares with the files that fill
 * parts of struct config (config_cluster.c, config_tls.c, config_rules.c).
 * Not for other modules.
 */
#ifndef HALYARD_CONFIG_INT_H
#define HALYARD_CONFIG_INT_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>

#include "halyard/config/config.h"
#include "halyard/core/core.h"

/* A key as shown in messages, e.g. "backends.[12].max_connections". */
#define KEYNAME_MAX 160
/* Longest element of an array of strings (a digest in firewall_allow). */
#define CONFIG_STRING_ELEM_MAX 4096u

struct loader {
    const char *name; /* file name for messages */
    char *err;        /* the first error */
    size_t errlen;
    struct config_report *rep; /* every error and warning; NULL = only err */
    unsigned n_errors;         /* found so far */
    bool from_file;            /* `name` is a file the checks may stat */
};

/* Record one message "FILE:LINE: KEY: what" (config_check.c): an error
 * (the first also goes to ld->err) or a warning. */
void cfg_report_add(struct loader *ld, bool warning, unsigned line, const char *text);

/* Sort the report's messages by line. */
void cfg_report_sort(struct config_report *rep);

/* A warning about setting `s` (NULL: about the whole file). */
void cfg_warn(struct loader *ld, const config_setting_t *s, const char *key, const char *fmt, ...)
    HY_PRINTF(4, 5);

/* libconfig's syntax error `what` at `line` of `text`, with the line's text. */
void cfg_syntax_error(struct loader *ld, const char *text, int line, const char *what);

/* For an unknown key `leaf` of the group at table path `prefix`: "; did
 * you mean \"KEY\"?" when a key of that group is a few edits away, a note
 * when `leaf` is a key of another group, else "". */
void cfg_suggest_key(const char *prefix, const char *leaf, char *out, size_t outlen);

/* Warnings about a config that loaded (config_check.c). */
void cfg_lint(struct loader *ld, const struct config *cfg, config_setting_t *root);

/* Element `i` of `list` must not reuse the name of an earlier one: the
 * message points at the second and names the line of the first. */
hy_status_t cfg_check_unique_name(struct loader *ld, config_setting_t *list, int i,
                                  const char *what, const char *lname);

/* An optional string of a rule: NULL when left out or "". */
hy_status_t cfg_dup_opt(struct loader *ld, char **dst, config_setting_t *g, const char *path);

hy_status_t cfg_dup_str(struct loader *ld, char **dst, config_setting_t *g, const char *path);

/* An array of strings (check_value() held it to its bounds); left out is
 * empty. */
hy_status_t cfg_dup_strings(struct loader *ld, struct config_strings *dst, config_setting_t *g,
                            const char *path);

hy_status_t cfg_fail(struct loader *ld, const config_setting_t *s, const char *key, const char *fmt,
                     ...) HY_PRINTF(4, 5);

hy_status_t cfg_fill_backends(struct loader *ld, struct config *cfg, config_setting_t *list,
                              bool grouped);

hy_status_t cfg_fill_endpoint(struct loader *ld, config_setting_t *list, int i, const char *what,
                              const char *lname, char **name, char **address, int *port);

/* admin_listen and admin_accounts (config_admin.c). */
hy_status_t cfg_fill_admin_sql(struct loader *ld, struct config *cfg, config_setting_t *root);
void cfg_free_admin_sql(struct config *cfg);

/* The alerts group (alerts.h) (config_ops.c). */
hy_status_t cfg_fill_alerts(struct loader *ld, struct config *cfg, config_setting_t *root);
hy_status_t cfg_fill_tracing(struct loader *ld, struct config *cfg, config_setting_t *root);

/* instance_name, or the host name and the first listener's port (config_ops.c). */
hy_status_t cfg_fill_instance_name(struct loader *ld, struct config *cfg, config_setting_t *root);

/* The backup section (binlog_archive.h): off when absent (config_ops.c). */
hy_status_t cfg_fill_backup(struct loader *ld, struct config *cfg, config_setting_t *root);
hy_status_t cfg_fill_cache(struct loader *ld, struct config *cfg, config_setting_t *root);

/* The groups (group.h): each backend in exactly one, a replication or
 * dual-master group with exactly one configured primary... Without
 * `groups`, one group "default" with every backend. Then the listeners'
 * groups. */
hy_status_t cfg_fill_groups(struct loader *ld, struct config *cfg, config_setting_t *root);

/* shards.tables and shards.reference (shard_key.h), after the groups. */
hy_status_t cfg_fill_key_tables(struct loader *ld, struct config *cfg, config_setting_t *sh);

/* The monitor group: its account and password (in clear, from a file or
 * from the environment: at most one), intervals and counts. */
hy_status_t cfg_fill_monitor(struct loader *ld, struct config *cfg, config_setting_t *g);

/* replication_user and its password, from a file or the environment. */
hy_status_t cfg_fill_replication(struct loader *ld, struct config *cfg, config_setting_t *root);

/* After users and backends: rules name them. */
hy_status_t cfg_fill_rules(struct loader *ld, struct config *cfg, config_setting_t *list);

/* The conditions a rule and a limit share (config_rules.c), of element `i`
 * (`g`) of list `lname` ("rules", "limits"): user or users (named in
 * users), schema, client (a network), listener (named in listeners); and
 * freed (config.c). */
hy_status_t cfg_fill_who(struct loader *ld, struct config *cfg, config_setting_t *g,
                         const char *lname, int i, struct config_who *w);
void cfg_free_who(struct config_who *w);

/* `pattern` (NULL: none) of element i of `lname`, at key `leaf`, compiled
 * into *out (rules.h); a bad one fails the load naming the key. */
hy_status_t cfg_compile_pattern(struct loader *ld, config_setting_t *g, const char *lname, int i,
                                const char *leaf, const char *pattern, struct rule_regex **out);

/* Fair-share limits (config_limits.c), after users and listeners; and
 * what they hold, freed. */
hy_status_t cfg_fill_limits(struct loader *ld, struct config *cfg, config_setting_t *list);
void cfg_free_limits(struct config *cfg);

/* Backends: each with TLS gets its own client context. */
hy_status_t cfg_fill_tls_backends(struct loader *ld, struct config *cfg, config_setting_t *root,
                                  config_setting_t *list);

/* Clients: the server context, and the keys that need it. */
hy_status_t cfg_fill_tls_server(struct loader *ld, struct config *cfg, config_setting_t *root);

/* The failover lock's other voters: only a name and where to log in. */
hy_status_t cfg_fill_witnesses(struct loader *ld, struct config *cfg, config_setting_t *list);

bool cfg_get_bool(config_setting_t *g, const char *path);

/* The value of key `path` in a group that check_group() accepted, or the
 * table's default when the group leaves it out. check_group() guarantees a
 * required key is present, so the default is only read for keys that have
 * one; `path` must be in the table (unit tests load every key). */
long long cfg_get_int(config_setting_t *g, const char *path);

const char *cfg_get_str(config_setting_t *g, const char *path);

/* The leaf of a path: "port" for "backends.[].port". */
const char *cfg_key_leaf(const char *path);

/* Where a message about key `leaf` of group `g` points: the setting, or
 * the group when the key is left out. */
config_setting_t *cfg_member_or_group(config_setting_t *g, const char *leaf);

/* A user-supplied string made safe to echo in a one-line message: at most
 * 40 bytes, non-printable bytes shown as '?'. */
const char *cfg_printable(const char *s, char out[48]);

/* A password from a file (its first line) or an environment variable,
 * named by keys `fkey` and `ekey` of group `g` (at most one of them set),
 * so the config itself never holds it. `*out` is the password, "" when
 * neither is set, and `*given` says whether one was. */
hy_status_t cfg_read_secret(struct loader *ld, config_setting_t *g, const char *fkey,
                            const char *ekey, char **out, bool *given);

#endif /* HALYARD_CONFIG_INT_H */
