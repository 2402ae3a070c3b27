/*
 * admin_render.c: the admin socket's answers as text tables or JSON, from
 * rows the socket's jobs gathered (admin.c) or the running configuration.
 * Pure: each admin_render_*() writes into a textbuf and touches nothing
 * else, so tests/unit/test_admin.c checks them byte for byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "halyard/protocol/tls.h"
#include "halyard/admin/admin.h"
#include "halyard/admin/alerts.h"
#include "halyard/cluster/backend.h"
#include "halyard/core/audit.h"
#include "halyard/config/config.h"
#include "halyard/config/group.h"
#include "halyard/core/events.h"
#include "halyard/route/firewall.h"
#include "halyard/route/guard.h"
#include "halyard/cluster/failover_exec.h"
#include "halyard/core/log.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/config/rules.h"
#include "halyard/session/session.h"
#include "halyard/core/takeover.h"
#include "halyard/cluster/users.h"
#include "halyard/session/worker.h"

#include "admin_int.h"

/* `show status`'s view of the failover lock's voters: the backends the
 * monitor does not hold DOWN, of every backend and witness configured.
 * Witnesses are asked only when a failover takes the lock, so with them
 * the answer may be "unknown". */
static const char *majority_word(size_t up, size_t voters, size_t witnesses)
{
    size_t needed = voters / 2 + 1;
    return up >= needed               ? "yes"
           : up + witnesses >= needed ? "unknown (witnesses are asked at a failover)"
                                      : "no";
}

/* Each group's lock has its own voters (group.h): the first group's are
 * the top-level keys; with `groups`, every group's on one line. */
static void render_majority(struct kv *kv, const struct config *cfg)
{
    const struct config *v = cfg->n_groups > 0 ? cfg->groups[0].view : cfg;
    size_t up = backend_reachable_count(v), voters = v->n_backends + v->n_witnesses;
    kv_int(kv, "voters", (long long)voters);
    kv_int(kv, "reachable", (long long)up);
    kv_str(kv, "majority", majority_word(up, voters, v->n_witnesses));
    if (cfg->groups_explicit) {
        struct textbuf line;
        textbuf_init(&line, 4096);
        for (size_t g = 0; g < cfg->n_groups; g++) {
            const struct config *gv = cfg->groups[g].view;
            size_t gup = backend_reachable_count(gv), gvoters = gv->n_backends + gv->n_witnesses;
            textbuf_printf(&line, "%s%s: %s (%zu of %zu reachable)", g ? "; " : "",
                           cfg->groups[g].name, majority_word(gup, gvoters, gv->n_witnesses), gup,
                           gvoters);
        }
        kv_str(kv, "groups_majority", line.data != NULL ? line.data : "");
        textbuf_free(&line);
    }
    /* Each group's note (backend.h), "GROUP: note; ..." with groups. */
    struct textbuf notes;
    textbuf_init(&notes, 8192);
    for (size_t g = 0; g < cfg->n_groups; g++) {
        char note[400];
        backend_failover_note(cfg->groups[g].name, note, sizeof(note));
        if (note[0] == '\0')
            continue;
        if (cfg->groups_explicit)
            textbuf_printf(&notes, "%s%s: %s", notes.len > 0 ? "; " : "", cfg->groups[g].name,
                           note);
        else
            textbuf_printf(&notes, "%s", note);
    }
    const char *all = notes.data != NULL ? notes.data : "";
    kv_str(kv, "failover_note", all[0] != '\0' || kv->json ? all : "-");
    textbuf_free(&notes);
}

void admin_render_status(struct textbuf *sb, const struct status *st, double uptime,
                         uint64_t client_sessions, bool json)
{
    char when[32];
    struct kv kv;
    kv_begin(&kv, sb, json, "name");
    kv_str(&kv, "version", HALYARD_VERSION);
    kv_int(&kv, "pid", (long long)st->pid);
    status_format_time(st->started, when, sizeof(when));
    kv_str(&kv, "started", when);
    kv_u64(&kv, "uptime_seconds", (uint64_t)uptime);
    kv_str(&kv, "config_file", st->config_path);
    kv_int(&kv, "workers", st->n_workers);
    kv_u64(&kv, "client_sessions", client_sessions);
    kv_str(&kv, "admin_socket", st->admin_socket[0] ? st->admin_socket : "off");
    kv_str(&kv, "metrics", st->metrics[0] ? st->metrics : "off");
    if (st->cfg != NULL) {
        /* JSON says "" for standard error, as the config does. */
        kv_str(&kv, "log_file",
               st->cfg->log_file[0] || json ? st->cfg->log_file : "(standard error)");
        kv_bool(&kv, "log_syslog", st->cfg->log_syslog);
        kv_str(&kv, "zone", st->cfg->zone[0] || json ? st->cfg->zone : "-");
        render_majority(&kv, st->cfg);
        if (st->cfg->users_source != USERS_CONFIG) {
            struct users_info ui;
            users_info_get(&ui);
            kv_u64(&kv, "users_accounts", ui.accounts);
            kv_u64(&kv, "users_reads", ui.reads);
            kv_str(&kv, "users_read_error", ui.error[0] || json ? ui.error : "-");
        }
    }
    if (st->last_reload != 0) {
        status_format_time(st->last_reload, when, sizeof(when));
        kv_str(&kv, "last_reload", when);
        kv_str(&kv, "last_reload_by", st->last_reload_by);
        kv_str(&kv, "last_reload_result", st->last_reload_ok ? "ok" : "error");
        kv_str(&kv, "last_reload_error", st->last_reload_ok ? NULL : st->last_reload_error);
    } else if (json) {
        kv_str(&kv, "last_reload", NULL);
        kv_str(&kv, "last_reload_by", NULL);
        kv_str(&kv, "last_reload_result", NULL);
        kv_str(&kv, "last_reload_error", NULL);
    } else {
        kv_str(&kv, "last_reload", "never");
    }
    kv_u64(&kv, "reloads_ok", st->reloads_ok);
    kv_u64(&kv, "reloads_failed", st->reloads_failed);
    kv_end(&kv);
}

static const char *log_level_name(enum log_level l)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    return (size_t)l < HY_ARRAY_SIZE(names) ? names[l] : "?";
}

/* An array of strings: a JSON array, or in a table the same text. */
static void kv_strings(struct kv *kv, const char *key, const struct config_strings *ss)
{
    struct textbuf tb;
    textbuf_init(&tb, ADMIN_OUT_MAX);
    textbuf_putc(&tb, '[');
    for (size_t i = 0; i < ss->n; i++) {
        if (i > 0)
            textbuf_puts(&tb, kv->json ? "," : ", ");
        textbuf_json_str(&tb, ss->v[i]);
    }
    textbuf_putc(&tb, ']');
    if (kv->json) {
        kv_key(kv, key);
        textbuf_puts(kv->sb, tb.data != NULL ? tb.data : "[]");
    } else {
        table_cell(&kv->t, key);
        table_cell(&kv->t, tb.data != NULL ? tb.data : "[]");
    }
    textbuf_free(&tb);
}

static const char *firewall_mode_name(enum firewall_mode m)
{
    return m == FIREWALL_LEARN ? "learn" : m == FIREWALL_ENFORCE ? "enforce" : "off";
}

/* An unset rule condition (NULL) as the config wrote it. */
static const char *opt_str(const char *s)
{
    return s != NULL ? s : "";
}

/* A webhook URL's path and query often are its secret (a chat service's
 * token): shown as scheme://host/... only. */
static void webhook_shown(const char *url, char *out, size_t cap)
{
    const char *host = strstr(url, "://");
    const char *path = host != NULL ? strchr(host + 3, '/') : NULL;
    if (path == NULL || path[1] == '\0')
        snprintf(out, cap, "%s", url);
    else
        snprintf(out, cap, "%.*s/...", (int)(path - url), url);
}

/* The process, its connections (client and backend) and their TLS. */
static void show_config_process(struct kv *kv, const struct config *cfg)
{
    kv_int(kv, "workers", cfg->workers);
    kv_int(kv, "fd_warn_pct", cfg->fd_warn_pct);
    kv_int(kv, "worker_stall_ms", cfg->worker_stall_ms);
    kv_str(kv, "log_level", log_level_name(cfg->log_level));
    kv_str(kv, "server_version", cfg->server_version);
    kv_int(kv, "connect_timeout_ms", cfg->connect_timeout_ms);
    kv_int(kv, "dns_refresh_ms", cfg->dns_refresh_ms);
    kv_int(kv, "login_timeout_ms", cfg->login_timeout_ms);
    kv_int(kv, "shutdown_timeout_ms", cfg->shutdown_timeout_ms);
    kv_int(kv, "buffer_size", cfg->buffer_size);
    kv_int(kv, "max_client_connections", cfg->max_client_connections);
    kv_int(kv, "max_prepared_statements", cfg->max_prepared_statements);
    kv_str(kv, "tls_cert", cfg->tls_cert);
    kv_str(kv, "tls_key", cfg->tls_key);
    kv_str(kv, "tls_ca", cfg->tls_ca);
    kv_str(kv, "tls_ciphers", cfg->tls_ciphers);
    kv_str(kv, "tls_ciphersuites", cfg->tls_ciphersuites);
    kv_str(kv, "tls_min_version", tls_version_to_str(cfg->tls_min_version));
    kv_str(kv, "backend_tls", tls_mode_to_str(cfg->backend_tls));
    kv_str(kv, "backend_tls_ca", cfg->backend_tls_ca);
    kv_str(kv, "backend_tls_cert", cfg->backend_tls_cert);
    kv_str(kv, "backend_tls_key", cfg->backend_tls_key);
    kv_int(kv, "max_packet_size", cfg->max_packet_size);
    kv_int(kv, "client_idle_timeout_ms", cfg->client_idle_timeout_ms);
    kv_int(kv, "backend_read_timeout_ms", cfg->backend_read_timeout_ms);
    kv_bool(kv, "retry_primary_reads", cfg->retry_primary_reads);
    kv_int(kv, "retry_buffer_size", (long long)cfg->retry_buffer_size);
}

/* The pools and the logins: accounts, auth plugins, the guard. */
static void show_config_logins(struct kv *kv, const struct config *cfg)
{
    kv_str(kv, "pool_mode", cfg->pool_transaction ? "transaction" : "session");
    kv_int(kv, "pool_idle_timeout_ms", cfg->pool_idle_timeout_ms);
    kv_int(kv, "pool_wait_timeout_ms", cfg->pool_wait_timeout_ms);
    kv_int(kv, "pool_stmt_cache", cfg->pool_stmt_cache);
    kv_int(kv, "pool_min_idle", cfg->pool_min_idle);
    kv_int(kv, "pool_max_age_ms", cfg->pool_max_age_ms);
    kv_str(kv, "default_auth_plugin",
           cfg->default_sha2 ? "caching_sha2_password" : "mysql_native_password");
    kv_str(kv, "users_source",
           cfg->users_source == USERS_BACKENDS ? "backends"
           : cfg->users_source == USERS_BOTH   ? "both"
                                               : "config");
    kv_int(kv, "users_refresh_ms", cfg->users_refresh_ms);
    kv_str(kv, "auth_rsa_private_key", cfg->auth_rsa_private_key);
    kv_str(kv, "auth_rsa_public_key", cfg->auth_rsa_public_key);
    kv_int(kv, "auth_fail_limit", cfg->auth_fail_limit);
    kv_int(kv, "auth_fail_window_ms", cfg->auth_fail_window_ms);
    kv_int(kv, "auth_delay_ms", cfg->auth_delay_ms);
    kv_int(kv, "auth_block_ms", cfg->auth_block_ms);
    kv_int(kv, "auth_block_table_size", cfg->auth_block_table_size);
    kv_int(kv, "firewall_learn_max", cfg->firewall_learn_max);
}

/* The admin socket, the metrics and the logs. */
static void show_config_outputs(struct kv *kv, const struct config *cfg)
{
    kv_str(kv, "admin_socket", cfg->admin_socket);
    kv_str(kv, "admin_listen", cfg->admin_listen);
    kv_str(kv, "metrics_address", cfg->metrics_address);
    kv_int(kv, "metrics_port", cfg->metrics_port);
    kv_str(kv, "log_file", cfg->log_file);
    kv_bool(kv, "log_syslog", cfg->log_syslog);
    kv_str(kv, "audit_log", cfg->audit_log);
    kv_str(kv, "query_log", cfg->query_log);
    kv_int(kv, "query_log_min_duration_ms", cfg->query_log_min_duration_ms);
}

/* Reads and writes: where they go, how fresh. */
static void show_config_routing(struct kv *kv, const struct config *cfg)
{
    kv_bool(kv, "read_write_split", cfg->read_write_split);
    kv_str(kv, "consistency", consistency_to_str(cfg->consistency));
    kv_int(kv, "causal_timeout_ms", cfg->causal_timeout_ms);
    kv_int(kv, "strong_window_ms", cfg->strong_window_ms);
    kv_str(kv, "replica_fallback", cfg->replica_fallback_error ? "error" : "primary");
    kv_int(kv, "digest_max_entries", cfg->digest_max_entries);
    kv_int(kv, "max_replication_lag", cfg->max_replication_lag);
}

static void show_config_monitor(struct kv *kv, const struct config *cfg)
{
    kv_str(kv, "monitor.user", cfg->monitor.user);
    kv_str(kv, "monitor.password", cfg->monitor.password_clear ? "(hidden)" : "");
    kv_str(kv, "monitor.password_file", cfg->monitor.password_file);
    kv_str(kv, "monitor.password_env", cfg->monitor.password_env);
    kv_int(kv, "monitor.interval_ms", cfg->monitor.interval_ms);
    kv_int(kv, "monitor.timeout_ms", cfg->monitor.timeout_ms);
    kv_int(kv, "monitor.rise", cfg->monitor.rise);
    kv_int(kv, "monitor.fall", cfg->monitor.fall);
    kv_int(kv, "monitor.status_every", cfg->monitor.status_every);
    kv_int(kv, "monitor.connections_warn_pct", cfg->monitor.connections_warn_pct);
    kv_int(kv, "monitor.disk_warn_pct", cfg->monitor.disk_warn_pct);
    kv_int(kv, "monitor.binlog_warn_mb", cfg->monitor.binlog_warn_mb);
}

static void show_config_backup(struct kv *kv, const struct config *cfg)
{
    kv_bool(kv, "backup", cfg->backup.enabled);
    kv_str(kv, "backup.dir", cfg->backup.dir);
    kv_str(kv, "backup.user", cfg->backup.user);
    kv_str(kv, "backup.password", cfg->backup.password_clear ? "(hidden)" : "");
    kv_str(kv, "backup.password_file", cfg->backup.password_file);
    kv_str(kv, "backup.password_env", cfg->backup.password_env);
    kv_int(kv, "backup.binlog_sync_ms", cfg->backup.binlog_sync_ms);
    kv_str(kv, "backup.binlog_retention", cfg->backup.retention);
    kv_u64(kv, "backup.server_id", cfg->backup.server_id);
    kv_str(kv, "backup.full_every", cfg->backup.full_every);
    kv_str(kv, "backup.full_window", cfg->backup.full_window);
    kv_str(kv, "backup.full_max_age", cfg->backup.full_max_age);
    kv_str(kv, "backup.full_timeout", cfg->backup.full_timeout);
    kv_str(kv, "backup.copy_to_dir", cfg->backup.copy_to_dir);
    kv_str(kv, "backup.copy_command", cfg->backup.copy_command);
    kv_str(kv, "backup.copy_verify_command", cfg->backup.copy_verify_command);
    kv_str(kv, "backup.verify_into", cfg->backup.verify_into);
    kv_str(kv, "backup.verify_server_command", cfg->backup.verify_server_command);
    kv_str(kv, "backup.method", cfg->backup.method);
    kv_str(kv, "backup.mariadb_backup_command", cfg->backup.mariadb_backup_command);
    kv_str(kv, "backup.compression", cfg->backup.compression_name);
    kv_str(kv, "backup.encryption_key_file", cfg->backup.encryption_key_file); /* the path only */
    kv_strings(kv, "backup.decryption_key_files", &cfg->backup.decryption_key_files);
    kv_int(kv, "cache.size_mb", cfg->cache.size_bytes / (1024 * 1024));
    kv_str(kv, "cache.user", cfg->cache.user);
    kv_str(kv, "cache.password",
           cfg->cache.password != NULL && cfg->cache.password[0] ? "(hidden)" : "");
    kv_u64(kv, "cache.server_id", cfg->cache.server_id);
    kv_int(kv, "cache.settle_ms", cfg->cache.settle_ms);
    kv_int(kv, "cache.max_lag_ms", cfg->cache.max_lag_ms);
}

/* Failover, zones and fencing, replication. */
static void show_config_cluster(struct kv *kv, const struct config *cfg)
{
    kv_str(kv, "failover", cfg->failover_auto ? "auto" : "off");
    kv_str(kv, "cluster", cluster_type_to_str(cfg->cluster));
    kv_int(kv, "max_writers", cfg->max_writers);
    kv_bool(kv, "writer_is_also_reader", cfg->writer_is_also_reader);
    kv_str(kv, "zone", cfg->zone);
    kv_str(kv, "zone_reads",
           cfg->zone_reads == ZONE_READS_LOCAL_ONLY ? "local_only"
           : cfg->zone_reads == ZONE_READS_ANY      ? "any"
                                                    : "local_first");
    kv_str(kv, "partition_reads", cfg->partition_reads_refuse ? "refuse" : "serve");
    kv_str(kv, "fence_cut_off_primary",
           cfg->fence_cut_off_mode == FENCE_CUT_OFF_ALWAYS  ? "always"
           : cfg->fence_cut_off_mode == FENCE_CUT_OFF_NEVER ? "never"
                                                            : "with_zones");
    kv_str(kv, "failover_zones",
           cfg->failover_zones == FAILOVER_ZONES_SAME_ONLY ? "same_only"
           : cfg->failover_zones == FAILOVER_ZONES_ANY     ? "any"
                                                           : "same_first");
    kv_int(kv, "failover_delay_ms", cfg->failover_delay_ms);
    kv_int(kv, "failover_write_wait_ms", cfg->failover_write_wait_ms);
    kv_int(kv, "switchover_timeout_ms", cfg->switchover_timeout_ms);
    kv_bool(kv, "auto_rejoin", cfg->auto_rejoin);
    kv_str(kv, "replication_user", cfg->replication_user);
    kv_str(kv, "replication_password_file", cfg->replication_password_file);
    kv_str(kv, "replication_password_env", cfg->replication_password_env);
    kv_str(kv, "instance_name", cfg->instance_name);
}

static void show_config_alerts(struct kv *kv, const struct config *cfg)
{
    char k[192];
    struct kv_list l;
    kv_str(kv, "alerts.exec", cfg->alerts.exec);
    kv_int(kv, "alerts.exec_timeout_ms", cfg->alerts.exec_timeout_ms);
    kv_int(kv, "alerts.exec_max_running", cfg->alerts.exec_max_running);
    char hook[256];
    webhook_shown(cfg->alerts.webhook, hook, sizeof(hook));
    kv_str(kv, "alerts.webhook", hook);
    kv_bool(kv, "alerts.webhook_tls_verify", cfg->alerts.webhook_tls_verify);
    kv_int(kv, "alerts.webhook_timeout_ms", cfg->alerts.webhook_timeout_ms);
    kv_int(kv, "alerts.webhook_retries", cfg->alerts.webhook_retries);
    kv_str(kv, "alerts.pre_failover", cfg->alerts.pre_failover);
    kv_int(kv, "alerts.pre_failover_timeout_ms", cfg->alerts.pre_failover_timeout_ms);
    kv_int(kv, "alerts.queue_size", cfg->alerts.queue_size);
    kv_int(kv, "alerts.repeat_ms", cfg->alerts.repeat_ms);
    kv_str(kv, "alerts.min_severity",
           event_severity_name((enum event_severity)cfg->alerts.min_severity));
    kv_strings(kv, "alerts.disabled", &cfg->alerts.disabled);
    list_begin(&l, kv, "alerts.events");
    for (int t = 0; t < EVENT__COUNT; t++) {
        const struct config_alerts *a = &cfg->alerts;
        if (!(a->events_listed & (1ull << t)))
            continue;
        elem_begin(&l);
        kv_str(kv, elem_key(&l, "name", k, sizeof(k)), event_name((enum event_type)t));
        kv_bool(kv, elem_key(&l, "enabled", k, sizeof(k)), !(a->events_off & (1ull << t)));
        kv_str(kv, elem_key(&l, "severity", k, sizeof(k)),
               a->event_severity[t] < 0
                   ? "default"
                   : event_severity_name((enum event_severity)a->event_severity[t]));
        kv_int(kv, elem_key(&l, "repeat_ms", k, sizeof(k)), a->event_repeat_ms[t]);
        elem_end(&l);
    }
    list_end(&l);
}

static void show_config_listeners(struct kv *kv, const struct config *cfg)
{
    char k[192];
    struct kv_list l;
    list_begin(&l, kv, "listeners");
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        const struct config_listener *x = &cfg->listeners[i];
        elem_begin(&l);
        kv_str(kv, elem_key(&l, "name", k, sizeof(k)), x->name);
        kv_str(kv, elem_key(&l, "address", k, sizeof(k)), x->address);
        kv_int(kv, elem_key(&l, "port", k, sizeof(k)), x->port);
        kv_int(kv, elem_key(&l, "backlog", k, sizeof(k)), x->backlog);
        kv_str(kv, elem_key(&l, "consistency", k, sizeof(k)), consistency_to_str(x->consistency));
        kv_bool(kv, elem_key(&l, "require_tls", k, sizeof(k)), x->require_tls);
        kv_strings(kv, elem_key(&l, "users", k, sizeof(k)), &x->users);
        kv_strings(kv, elem_key(&l, "proxy_protocol_from", k, sizeof(k)), &x->proxy_protocol_from);
        kv_str(kv, elem_key(&l, "group", k, sizeof(k)),
               x->group < cfg->n_groups ? cfg->groups[x->group].name : "");
        kv_bool(kv, elem_key(&l, "shards", k, sizeof(k)), x->shards);
        elem_end(&l);
    }
    list_end(&l);
}

/* A sharded table's map, as the list `name` ("shards.tables.[i].map"): per
 * span its group, its buckets (hash) or the bound below which it holds
 * keys (range; "" for the last span). */
static void show_config_key_map(struct kv *kv, const char *name, const struct config *cfg,
                                const struct shard_table *x)
{
    char k[192];
    struct kv_list ml;
    list_begin(&ml, kv, name);
    for (size_t j = 0; j < x->n_spans; j++) {
        const struct key_span *sp = &x->spans[j];
        char span[32] = "", below[24] = "";
        if (x->fn == KEY_FN_HASH && sp->lo == sp->hi)
            snprintf(span, sizeof(span), "%u", sp->lo);
        else if (x->fn == KEY_FN_HASH)
            snprintf(span, sizeof(span), "%u-%u", sp->lo, sp->hi);
        if (sp->has_below && sp->below_text == NULL)
            snprintf(below, sizeof(below), "%lld", (long long)sp->below);
        elem_begin(&ml);
        kv_str(kv, elem_key(&ml, "group", k, sizeof(k)),
               sp->group < cfg->n_groups ? cfg->groups[sp->group].name : "?");
        kv_str(kv, elem_key(&ml, "buckets", k, sizeof(k)), span);
        kv_str(kv, elem_key(&ml, "below", k, sizeof(k)),
               sp->below_text != NULL ? sp->below_text : below);
        elem_end(&ml);
    }
    list_end(&ml);
}

/* Key shards: each sharded table and its map. */
static void show_config_key_tables(struct kv *kv, const struct config *cfg)
{
    char k[192];
    struct kv_list l;
    list_begin(&l, kv, "shards.tables");
    for (size_t i = 0; i < cfg->key_tables.n; i++) {
        const struct shard_table *x = &cfg->key_tables.v[i];
        char full[140], mk[192];
        snprintf(full, sizeof(full), "%s.%s", x->schema, x->table);
        elem_begin(&l);
        kv_str(kv, elem_key(&l, "table", k, sizeof(k)), full);
        kv_str(kv, elem_key(&l, "key", k, sizeof(k)), x->key);
        kv_str(kv, elem_key(&l, "type", k, sizeof(k)),
               x->type == KEY_TYPE_STRING ? "string" : "int");
        kv_str(kv, elem_key(&l, "collation", k, sizeof(k)),
               x->collation != NULL ? x->collation : "");
        kv_str(kv, elem_key(&l, "function", k, sizeof(k)), x->fn == KEY_FN_HASH ? "hash" : "range");
        kv_int(kv, elem_key(&l, "buckets", k, sizeof(k)), x->buckets);
        snprintf(mk, sizeof(mk), "%s", elem_key(&l, "map", k, sizeof(k)));
        show_config_key_map(kv, mk, cfg, x);
        elem_end(&l);
    }
    list_end(&l);
}

/* The reference tables, "schema.table" each. */
static void show_config_reference(struct kv *kv, const struct config *cfg)
{
    size_t n = cfg->key_tables.n_ref;
    char **names = calloc(n ? n : 1, sizeof(*names));
    struct config_strings refs = {.v = names, .n = 0};
    for (size_t i = 0; names != NULL && i < n; i++) {
        const struct shard_ref_table *r = &cfg->key_tables.ref[i];
        size_t len = strlen(r->schema) + strlen(r->table) + 2;
        if ((names[i] = malloc(len)) == NULL)
            break;
        snprintf(names[i], len, "%s.%s", r->schema, r->table);
        refs.n++;
    }
    kv_strings(kv, "shards.reference", &refs);
    for (size_t i = 0; i < refs.n; i++)
        free(names[i]);
    free(names);
}

static void show_config_shards(struct kv *kv, const struct config *cfg)
{
    char k[192];
    struct kv_list l;
    kv_bool(kv, "shards.learn", cfg->shards_learn);
    kv_int(kv, "shards.refresh_ms", cfg->shards_refresh_ms);
    kv_str(kv, "shards.cross_group_transactions", cfg->shards_xa ? "xa" : "refuse");
    kv_str(kv, "shards.xa_log", cfg->xa_log != NULL ? cfg->xa_log : "");
    /* The schema map by name; a schema on two groups is shown twice. */
    list_begin(&l, kv, "shards.schemas");
    for (size_t i = 0; i < cfg->shards.n; i++) {
        const struct shard_schema *x = &cfg->shards.v[i];
        for (int twice = 0; twice < 2; twice++) {
            uint16_t g = twice ? x->other : x->group;
            if (g >= cfg->n_groups)
                continue;
            elem_begin(&l);
            kv_str(kv, elem_key(&l, "schema", k, sizeof(k)), x->name);
            kv_str(kv, elem_key(&l, "group", k, sizeof(k)), cfg->groups[g].name);
            elem_end(&l);
        }
    }
    list_end(&l);
    show_config_key_tables(kv, cfg);
    show_config_reference(kv, cfg);
}

/* The groups in force, their settings resolved (the implicit
 * "default" group of a config without `groups` too). */
static void show_config_groups(struct kv *kv, const struct config *cfg)
{
    char k[192];
    struct kv_list l;
    list_begin(&l, kv, "groups");
    for (size_t g = 0; g < cfg->n_groups; g++) {
        const struct config_group *x = &cfg->groups[g];
        char *names[256];
        struct config_strings members = {.v = names, .n = 0};
        for (size_t i = 0; i < x->n_members && i < HY_ARRAY_SIZE(names); i++)
            names[members.n++] = cfg->backends[x->members[i]].name;
        elem_begin(&l);
        kv_str(kv, elem_key(&l, "name", k, sizeof(k)), x->name);
        kv_str(kv, elem_key(&l, "cluster", k, sizeof(k)), cluster_type_to_str(x->cluster));
        kv_strings(kv, elem_key(&l, "backends", k, sizeof(k)), &members);
        kv_int(kv, elem_key(&l, "max_writers", k, sizeof(k)), x->max_writers);
        kv_bool(kv, elem_key(&l, "writer_is_also_reader", k, sizeof(k)), x->writer_is_also_reader);
        kv_str(kv, elem_key(&l, "failover", k, sizeof(k)), x->failover_auto ? "auto" : "off");
        kv_int(kv, elem_key(&l, "failover_delay_ms", k, sizeof(k)), x->failover_delay_ms);
        kv_bool(kv, elem_key(&l, "auto_rejoin", k, sizeof(k)), x->auto_rejoin);
        kv_int(kv, elem_key(&l, "monitor.rise", k, sizeof(k)), x->rise);
        kv_int(kv, elem_key(&l, "monitor.fall", k, sizeof(k)), x->fall);
        kv_str(kv, elem_key(&l, "monitor.user", k, sizeof(k)), x->monitor_user);
        kv_str(kv, elem_key(&l, "monitor.password", k, sizeof(k)),
               x->monitor_password_clear ? "(hidden)" : "");
        kv_str(kv, elem_key(&l, "monitor.password_file", k, sizeof(k)), x->monitor_password_file);
        kv_str(kv, elem_key(&l, "monitor.password_env", k, sizeof(k)), x->monitor_password_env);
        kv_int(kv, elem_key(&l, "monitor.interval_ms", k, sizeof(k)), x->interval_ms);
        kv_int(kv, elem_key(&l, "monitor.timeout_ms", k, sizeof(k)), x->timeout_ms);
        elem_end(&l);
    }
    list_end(&l);
}

/* The hash is as good as the password to whoever also sees one login:
 * it only shows whether there is a password at all. */
static void show_config_users(struct kv *kv, const struct config *cfg)
{
    char k[192];
    struct kv_list l;
    list_begin(&l, kv, "users");
    for (size_t i = 0; i < cfg->n_users; i++) {
        const struct config_user *x = &cfg->users[i];
        elem_begin(&l);
        kv_str(kv, elem_key(&l, "name", k, sizeof(k)), x->name);
        kv_str(kv, elem_key(&l, "password_hash", k, sizeof(k)), x->no_password ? "" : "(hidden)");
        kv_str(kv, elem_key(&l, "sha2_hash", k, sizeof(k)), x->has_s2 ? "(hidden)" : "");
        kv_str(kv, elem_key(&l, "consistency", k, sizeof(k)), consistency_to_str(x->consistency));
        kv_bool(kv, elem_key(&l, "require_tls", k, sizeof(k)), x->require_tls);
        kv_str(kv, elem_key(&l, "tls_subject", k, sizeof(k)), opt_str(x->tls_subject));
        kv_strings(kv, elem_key(&l, "allow", k, sizeof(k)), &x->allow);
        kv_int(kv, elem_key(&l, "max_connections", k, sizeof(k)), x->max_connections);
        kv_str(kv, elem_key(&l, "firewall", k, sizeof(k)), firewall_mode_name(x->firewall));
        kv_strings(kv, elem_key(&l, "firewall_allow", k, sizeof(k)), &x->firewall_allow);
        elem_end(&l);
    }
    list_end(&l);
}

/* The SQL admin port's accounts, hashes hidden as the users' are. */
static void show_config_admin_accounts(struct kv *kv, const struct config *cfg)
{
    char k[192];
    struct kv_list l;
    list_begin(&l, kv, "admin_accounts");
    for (size_t i = 0; i < cfg->n_admin_accounts; i++) {
        const struct config_admin_account *x = &cfg->admin_accounts[i];
        elem_begin(&l);
        kv_str(kv, elem_key(&l, "name", k, sizeof(k)), x->name);
        kv_str(kv, elem_key(&l, "password_hash", k, sizeof(k)), "(hidden)");
        kv_str(kv, elem_key(&l, "role", k, sizeof(k)),
               x->role == ADMIN_ROLE_OPERATOR ? "operator" : "read-only");
        elem_end(&l);
    }
    list_end(&l);
}

static void runtime_row(struct kv *kv, struct kv_list *l, const char *backend, const char *what,
                        const char *file, const char *now)
{
    char k[192];
    elem_begin(l);
    kv_str(kv, elem_key(l, "backend", k, sizeof(k)), backend);
    kv_str(kv, elem_key(l, "what", k, sizeof(k)), what);
    kv_str(kv, elem_key(l, "file", k, sizeof(k)), file);
    kv_str(kv, elem_key(l, "runtime", k, sizeof(k)), now);
    elem_end(l);
}

/* Where the running state differs from the file: a backend an action set
 * apart (backend NAME drain|maint), one the failover fenced, one whose
 * role the servers say is not the file's (after a switchover). Nothing of
 * it is saved: a restart starts from the file again. */
static void show_config_runtime(struct kv *kv, const struct config *cfg)
{
    struct kv_list l;
    list_begin(&l, kv, "runtime");
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct config_backend *be = &cfg->backends[i];
        const struct backend_rt *rt = be->rt;
        if (rt == NULL)
            continue;
        enum backend_admin mode = (enum backend_admin)atomic_load(&rt->admin);
        if (mode != BACKEND_ADMIN_NONE)
            runtime_row(kv, &l, be->name, "admin", "none", backend_admin_to_str(mode));
        if (atomic_load(&rt->fenced))
            runtime_row(kv, &l, be->name, "fenced", "false", "true");
        if (atomic_load(&rt->role_seen) && backend_role(rt) != be->role)
            runtime_row(kv, &l, be->name, "role", backend_role_to_str(be->role),
                        backend_role_to_str(backend_role(rt)));
    }
    list_end(&l);
}

static void show_config_backends(struct kv *kv, const struct config *cfg)
{
    char k[192];
    struct kv_list l;
    list_begin(&l, kv, "backends");
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct config_backend *x = &cfg->backends[i];
        elem_begin(&l);
        kv_str(kv, elem_key(&l, "name", k, sizeof(k)), x->name);
        kv_str(kv, elem_key(&l, "address", k, sizeof(k)), x->address);
        kv_int(kv, elem_key(&l, "port", k, sizeof(k)), x->port);
        kv_str(kv, elem_key(&l, "role", k, sizeof(k)), backend_role_to_str(x->role));
        kv_int(kv, elem_key(&l, "weight", k, sizeof(k)), x->weight);
        kv_int(kv, elem_key(&l, "max_connections", k, sizeof(k)), x->max_connections);
        kv_str(kv, elem_key(&l, "tls", k, sizeof(k)), tls_mode_to_str(x->tls));
        kv_str(kv, elem_key(&l, "tls_ca", k, sizeof(k)), x->tls_ca);
        kv_str(kv, elem_key(&l, "tls_cert", k, sizeof(k)), x->tls_cert);
        kv_str(kv, elem_key(&l, "tls_key", k, sizeof(k)), x->tls_key);
        kv_int(kv, elem_key(&l, "max_replication_lag", k, sizeof(k)), x->max_replication_lag);
        kv_int(kv, elem_key(&l, "priority", k, sizeof(k)), x->priority);
        kv_str(kv, elem_key(&l, "zone", k, sizeof(k)), x->zone);
        kv_str(kv, elem_key(&l, "promotion", k, sizeof(k)),
               x->promotion == PROMOTION_PREFER  ? "prefer"
               : x->promotion == PROMOTION_NEVER ? "never"
                                                 : "neutral");
        elem_end(&l);
    }
    list_end(&l);
}

static void show_config_witnesses(struct kv *kv, const struct config *cfg)
{
    char k[192];
    struct kv_list l;
    list_begin(&l, kv, "witnesses");
    for (size_t i = 0; i < cfg->n_witnesses; i++) {
        const struct config_witness *x = &cfg->witnesses[i];
        elem_begin(&l);
        kv_str(kv, elem_key(&l, "name", k, sizeof(k)), x->name);
        kv_str(kv, elem_key(&l, "address", k, sizeof(k)), x->address);
        kv_int(kv, elem_key(&l, "port", k, sizeof(k)), x->port);
        elem_end(&l);
    }
    list_end(&l);
}

/* Keys that do not apply to a rule's action show as null ("-"). */
static void show_config_rules(struct kv *kv, const struct config *cfg)
{
    char k[192];
    struct kv_list l;
    list_begin(&l, kv, "rules");
    for (size_t i = 0; i < cfg->n_rules; i++) {
        const struct config_rule *x = &cfg->rules[i];
        bool block = x->action == RULE_ACTION_BLOCK;
        elem_begin(&l);
        kv_str(kv, elem_key(&l, "name", k, sizeof(k)), x->name);
        kv_str(kv, elem_key(&l, "match_digest", k, sizeof(k)), opt_str(x->match_digest));
        kv_str(kv, elem_key(&l, "match_text", k, sizeof(k)), opt_str(x->match_text));
        kv_str(kv, elem_key(&l, "user", k, sizeof(k)), opt_str(x->user));
        kv_strings(kv, elem_key(&l, "users", k, sizeof(k)), &x->users);
        kv_str(kv, elem_key(&l, "schema", k, sizeof(k)), opt_str(x->schema));
        kv_str(kv, elem_key(&l, "client", k, sizeof(k)), opt_str(x->client));
        kv_strings(kv, elem_key(&l, "no_where", k, sizeof(k)), &x->no_where);
        bool cache = x->action == RULE_ACTION_CACHE;
        kv_str(kv, elem_key(&l, "action", k, sizeof(k)),
               block   ? "block"
               : cache ? "cache"
                       : "route");
        kv_str(kv, elem_key(&l, "route", k, sizeof(k)), x->route_name);
        if (block)
            kv_int(kv, elem_key(&l, "error_code", k, sizeof(k)), x->error_code);
        else
            kv_str(kv, elem_key(&l, "error_code", k, sizeof(k)), NULL);
        kv_str(kv, elem_key(&l, "error_sqlstate", k, sizeof(k)), block ? x->error_sqlstate : NULL);
        kv_str(kv, elem_key(&l, "error_message", k, sizeof(k)), x->error_message);
        if (cache) {
            kv_int(kv, elem_key(&l, "ttl_ms", k, sizeof(k)), x->ttl_ms);
            kv_int(kv, elem_key(&l, "max_result_bytes", k, sizeof(k)), x->max_result_bytes);
        } else {
            kv_str(kv, elem_key(&l, "ttl_ms", k, sizeof(k)), NULL);
            kv_str(kv, elem_key(&l, "max_result_bytes", k, sizeof(k)), NULL);
        }
        elem_end(&l);
    }
    list_end(&l);
}

/* Every key of config_keys[] must be shown here, in the table's order;
 * test_admin and test_ops check it. */
void admin_render_config(struct textbuf *sb, const struct config *cfg, bool json)
{
    struct kv kv;
    kv_begin(&kv, sb, json, "key");
    show_config_process(&kv, cfg);
    show_config_logins(&kv, cfg);
    show_config_outputs(&kv, cfg);
    show_config_routing(&kv, cfg);
    show_config_monitor(&kv, cfg);
    show_config_backup(&kv, cfg);
    show_config_cluster(&kv, cfg);
    show_config_alerts(&kv, cfg);
    show_config_listeners(&kv, cfg);
    show_config_shards(&kv, cfg);
    show_config_groups(&kv, cfg);
    show_config_users(&kv, cfg);
    show_config_admin_accounts(&kv, cfg);
    show_config_backends(&kv, cfg);
    show_config_witnesses(&kv, cfg);
    show_config_rules(&kv, cfg);
    show_config_runtime(&kv, cfg);
    kv_end(&kv);
}

static void stats_json(struct textbuf *sb, const struct stat_values *v)
{
    for (size_t i = 0; i < STAT_FIELDS; i++) {
        textbuf_putc(sb, ',');
        textbuf_json_str(sb, stat_fields[i].name);
        textbuf_printf(sb, ":%" PRIu64, v->v[i]);
    }
}

void admin_render_stats(struct textbuf *sb, const struct stat_values *total,
                        const struct stat_values *per_worker, int n_workers,
                        uint64_t client_sessions, bool json)
{
    if (json) {
        textbuf_printf(sb, "{\"client_sessions\":%" PRIu64, client_sessions);
        stats_json(sb, total);
        textbuf_puts(sb, ",\"workers\":[");
        for (int w = 0; w < n_workers; w++) {
            textbuf_printf(sb, "%s{\"worker\":%d", w ? "," : "", w);
            stats_json(sb, &per_worker[w]);
            textbuf_putc(sb, '}');
        }
        textbuf_puts(sb, "]}\n");
        return;
    }
    struct table t;
    table_init(&t, 2 + (size_t)n_workers);
    table_cell(&t, "name");
    table_cell(&t, "total");
    for (int w = 0; w < n_workers; w++)
        table_cellf(&t, "worker%d", w);
    table_cell(&t, "client_sessions");
    table_cellf(&t, "%" PRIu64, client_sessions);
    for (int w = 0; w < n_workers; w++)
        table_cell(&t, "-");
    for (size_t i = 0; i < STAT_FIELDS; i++) {
        table_cell(&t, stat_fields[i].name);
        table_cellf(&t, "%" PRIu64, total->v[i]);
        for (int w = 0; w < n_workers; w++)
            table_cellf(&t, "%" PRIu64, per_worker[w].v[i]);
    }
    table_render(&t, sb);
    table_free(&t);
}

void admin_render_sessions(struct textbuf *sb, const struct admin_session_row *rows, size_t n,
                           const int *missing, size_t n_missing, bool json)
{
    if (json) {
        textbuf_puts(sb, "{\"sessions\":[");
        for (size_t i = 0; i < n; i++) {
            const struct admin_session_row *r = &rows[i];
            textbuf_printf(sb, "%s{\"id\":%" PRIu32 ",\"worker\":%d,\"user\":", i ? "," : "", r->id,
                           r->worker);
            textbuf_json_str(sb, r->user[0] ? r->user : NULL);
            textbuf_puts(sb, ",\"client\":");
            textbuf_json_str(sb, r->client);
            textbuf_puts(sb, ",\"via\":");
            textbuf_json_str(sb, r->via[0] ? r->via : NULL);
            textbuf_puts(sb, ",\"schema\":");
            textbuf_json_str(sb, r->schema[0] ? r->schema : NULL);
            textbuf_puts(sb, ",\"backend\":");
            textbuf_json_str(sb, r->backend[0] ? r->backend : NULL);
            if (r->thread != 0)
                textbuf_printf(sb, ",\"thread\":%" PRIu32, r->thread);
            else
                textbuf_puts(sb, ",\"thread\":null");
            textbuf_puts(sb, ",\"state\":");
            textbuf_json_str(sb, r->state);
            textbuf_puts(sb, ",\"command\":");
            textbuf_json_str(sb, r->command);
            if (r->command_age_ms >= 0)
                textbuf_printf(sb, ",\"command_age_ms\":%" PRId64, r->command_age_ms);
            else
                textbuf_puts(sb, ",\"command_age_ms\":null");
            textbuf_printf(sb, ",\"statements\":%" PRIu32 ",\"holds\":", r->statements);
            textbuf_json_str(sb, r->holds[0] ? r->holds : NULL);
            textbuf_puts(sb, ",\"statement\":");
            textbuf_json_str(sb, r->statement[0] ? r->statement : NULL);
            textbuf_puts(sb, "}");
        }
        textbuf_putc(sb, ']');
        json_missing_end(sb, missing, n_missing);
        return;
    }
    struct table t;
    table_init(&t, 14);
    static const char *const head[] = {
        "id",     "worker", "user",    "client",         "via",        "schema", "backend",
        "thread", "state",  "command", "command_age_ms", "statements", "holds",  "statement"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (size_t i = 0; i < n; i++) {
        const struct admin_session_row *r = &rows[i];
        table_cellf(&t, "%" PRIu32, r->id);
        table_cellf(&t, "%d", r->worker);
        table_cell(&t, r->user[0] ? r->user : NULL);
        table_cell(&t, r->client);
        table_cell(&t, r->via[0] ? r->via : NULL);
        table_cell(&t, r->schema[0] ? r->schema : NULL);
        table_cell(&t, r->backend[0] ? r->backend : NULL);
        if (r->thread != 0)
            table_cellf(&t, "%" PRIu32, r->thread);
        else
            table_cell(&t, NULL);
        table_cell(&t, r->state);
        table_cell(&t, r->command);
        if (r->command_age_ms >= 0)
            table_cellf(&t, "%" PRId64, r->command_age_ms);
        else
            table_cell(&t, NULL);
        table_cellf(&t, "%" PRIu32, r->statements);
        table_cell(&t, r->holds[0] ? r->holds : NULL);
        table_cell(&t, r->statement[0] ? r->statement : NULL);
    }
    table_render(&t, sb);
    table_free(&t);
    text_missing(sb, missing, n_missing, "sessions");
}

/* A rule's conditions for one table cell: key="value" pairs. The values
 * are as written (the cell escapes backslashes and control bytes, as
 * `show config` does); --json gives each one on its own. */
static void rule_conditions(struct textbuf *tb, const struct config_rule *r)
{
    const char *const keys[] = {"match_digest", "match_text", "user", "schema", "client"};
    const char *const vals[] = {r->match_digest, r->match_text, r->user, r->schema, r->client};
    for (size_t i = 0; i < HY_ARRAY_SIZE(keys); i++) {
        if (vals[i] == NULL)
            continue;
        if (tb->len > 0)
            textbuf_putc(tb, ' ');
        textbuf_printf(tb, "%s=\"%s\"", keys[i], vals[i]);
    }
}

/* An integer the server gave, or JSON null. */
static void json_count(struct textbuf *sb, const char *key, int64_t v)
{
    if (v >= 0)
        textbuf_printf(sb, ",\"%s\":%lld", key, (long long)v);
    else
        textbuf_printf(sb, ",\"%s\":null", key);
}

static void json_ratio(struct textbuf *sb, const char *key, double v)
{
    if (v >= 0)
        textbuf_printf(sb, ",\"%s\":%.4f", key, v);
    else
        textbuf_printf(sb, ",\"%s\":null", key);
}

/* "server": the load of one backend's server, null until read. */
static void json_load(struct textbuf *sb, const struct admin_backend_row *r)
{
    if (!r->load_seen) {
        textbuf_puts(sb, ",\"server\":null");
        return;
    }
    const struct srv_status *s = &r->status;
    textbuf_printf(sb, ",\"server\":{\"max_connections\":%lld", (long long)s->max_connections);
    json_count(sb, "threads_connected", s->threads_connected);
    json_count(sb, "threads_running", s->threads_running);
    json_count(sb, "questions", s->questions);
    json_count(sb, "slow_queries", s->slow_queries);
    json_count(sb, "aborted_connects", s->aborted_connects);
    json_count(sb, "innodb_row_lock_waits", s->row_lock_waits);
    json_count(sb, "binlog_bytes_written", s->binlog_bytes_written);
    json_count(sb, "binlog_files", s->binlog_files);
    json_count(sb, "binlog_size_bytes", s->binlog_size);
    json_count(sb, "datadir_fs_size_bytes", s->disk_total);
    json_count(sb, "datadir_fs_used_bytes", s->disk_used);
    json_ratio(sb, "queries_per_second", r->rates.qps);
    json_ratio(sb, "connections_pct", r->rates.connections_pct);
    json_ratio(sb, "buffer_pool_hit_ratio", r->rates.bp_hit_ratio);
    json_ratio(sb, "buffer_pool_dirty_pct", r->rates.bp_dirty_pct);
    json_ratio(sb, "datadir_fs_used_pct", r->rates.disk_pct);
    textbuf_puts(sb, ",\"commands_per_second\":{");
    for (int c = 0; c < SRV_COM_COUNT; c++) {
        textbuf_printf(sb, "%s\"%s\":", c ? "," : "", srv_com_name(c));
        if (r->rates.com_ps[c] >= 0)
            textbuf_printf(sb, "%.4f", r->rates.com_ps[c]);
        else
            textbuf_puts(sb, "null");
    }
    textbuf_puts(sb, "}}");
}

/* show backends --detail: one row per backend of what its server says. */
/* A count the server gave, or "-". */
static void cell_count(struct table *t, bool seen, int64_t v)
{
    if (seen && v >= 0)
        table_cellf(t, "%lld", (long long)v);
    else
        table_cell(t, "-");
}

/* Bytes as MiB (or "-"). */
static void cell_mib(struct table *t, bool seen, int64_t bytes)
{
    if (seen && bytes >= 0)
        table_cellf(t, "%.1f", (double)bytes / 1048576.0);
    else
        table_cell(t, "-");
}

/* A percentage (0..100), or "-" when unknown. */
static void cell_pct(struct table *t, bool seen, double pct, int decimals)
{
    if (seen && pct >= 0)
        table_cellf(t, "%.*f", decimals, pct);
    else
        table_cell(t, "-");
}

static void render_load(struct textbuf *sb, const struct admin_backend_row *rows, size_t n)
{
    struct table t;
    static const char *const head[] = {"name",      "connected", "max_conn", "running",
                                       "qps",       "slow",      "aborted",  "bp_hit_pct",
                                       "dirty_pct", "lock_waits"};
    table_init(&t, HY_ARRAY_SIZE(head));
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (size_t i = 0; i < n; i++) {
        const struct admin_backend_row *r = &rows[i];
        const struct srv_status *s = &r->status;
        bool seen = r->load_seen;
        table_cell(&t, r->name);
        cell_count(&t, seen, s->threads_connected);
        cell_count(&t, seen, s->max_connections);
        cell_count(&t, seen, s->threads_running);
        cell_count(&t, seen, r->rates.qps >= 0 ? (int64_t)(r->rates.qps + 0.5) : -1);
        cell_count(&t, seen, s->slow_queries);
        cell_count(&t, seen, s->aborted_connects);
        cell_pct(&t, seen, r->rates.bp_hit_ratio >= 0 ? 100.0 * r->rates.bp_hit_ratio : -1, 2);
        cell_pct(&t, seen, r->rates.bp_dirty_pct, 1);
        cell_count(&t, seen, s->row_lock_waits);
    }
    table_render(&t, sb);
    table_free(&t);

    /* Statements per kind (per second), the binary log and the datadir's
     * filesystem. */
    static const char *const head2[] = {
        "name",         "select_per_s",   "insert_per_s", "update_per_s", "delete_per_s",
        "commit_per_s", "rollback_per_s", "binlog_files", "binlog_mib",   "datadir_fs_used"};
    table_init(&t, HY_ARRAY_SIZE(head2));
    for (size_t i = 0; i < HY_ARRAY_SIZE(head2); i++)
        table_cell(&t, head2[i]);
    for (size_t i = 0; i < n; i++) {
        const struct admin_backend_row *r = &rows[i];
        bool seen = r->load_seen;
        table_cell(&t, r->name);
        for (int c = 0; c < SRV_COM_COUNT; c++) {
            if (seen && r->rates.com_ps[c] >= 0)
                table_cellf(&t, "%.1f", r->rates.com_ps[c]);
            else
                table_cell(&t, "-");
        }
        cell_count(&t, seen, r->status.binlog_files);
        cell_mib(&t, seen, r->status.binlog_size);
        if (seen && r->rates.disk_pct >= 0)
            table_cellf(&t, "%.1f%% of %.1f GiB", r->rates.disk_pct,
                        (double)r->status.disk_total / 1073741824.0);
        else
            table_cell(&t, "-");
    }
    textbuf_putc(sb, '\n');
    table_render(&t, sb);
    table_free(&t);
}

void admin_render_backends(struct textbuf *sb, const struct admin_backend_row *rows, size_t n,
                           bool json, bool detail)
{
    if (json) {
        textbuf_puts(sb, "{\"backends\":[");
        for (size_t i = 0; i < n; i++) {
            const struct admin_backend_row *r = &rows[i];
            textbuf_puts(sb, i ? ",{\"name\":" : "{\"name\":");
            textbuf_json_str(sb, r->name);
            textbuf_puts(sb, ",\"group\":");
            textbuf_json_str(sb, r->group != NULL ? r->group : "");
            textbuf_puts(sb, ",\"address\":");
            textbuf_json_str(sb, r->address);
            textbuf_puts(sb, ",\"zone\":");
            textbuf_json_str(sb, r->zone != NULL ? r->zone : "");
            textbuf_puts(sb, ",\"role\":");
            textbuf_json_str(sb, r->role);
            textbuf_printf(sb, ",\"role_seen\":%s,\"fenced\":%s,\"state\":",
                           r->role_seen ? "true" : "false", r->fenced ? "true" : "false");
            textbuf_json_str(sb, r->state);
            textbuf_puts(sb, ",\"why\":");
            textbuf_json_str(sb, r->why);
            if (r->lag_ms >= 0)
                textbuf_printf(sb, ",\"lag_seconds\":%.3f", r->lag_ms / 1000.0);
            else
                textbuf_puts(sb, ",\"lag_seconds\":null");
            textbuf_printf(
                sb, ",\"replication_broken\":%s,\"gtid\":", r->repl_broken ? "true" : "false");
            textbuf_json_str(sb, r->gtid);
            textbuf_printf(sb,
                           ",\"connections_in_use\":%" PRIu64 ",\"connections_idle\":%" PRIu64
                           ",\"queries\":%" PRIu64 ",\"errors\":%" PRIu64
                           ",\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"rtt_ms\":",
                           r->conns_in_use, r->conns_idle, r->queries, r->errors, r->p50_ms,
                           r->p99_ms);
            if (r->rtt_ms >= 0)
                textbuf_printf(sb, "%.3f", r->rtt_ms);
            else
                textbuf_puts(sb, "null");
            textbuf_puts(sb, ",\"last_check\":");
            textbuf_json_str(sb, r->last_check);
            if (r->check_age_s >= 0)
                textbuf_printf(sb, ",\"last_check_age_seconds\":%.1f", r->check_age_s);
            else
                textbuf_puts(sb, ",\"last_check_age_seconds\":null");
            json_load(sb, r);
            textbuf_putc(sb, '}');
        }
        textbuf_puts(sb, "]}\n");
        return;
    }
    struct table t;
    static const char *const head[] = {"name",       "group",      "address", "role",   "state",
                                       "why",        "lag_s",      "gtid",    "in_use", "idle",
                                       "queries",    "errors",     "p50_ms",  "p99_ms", "rtt_ms",
                                       "last_check", "check_age_s"};
    table_init(&t, HY_ARRAY_SIZE(head));
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (size_t i = 0; i < n; i++) {
        const struct admin_backend_row *r = &rows[i];
        table_cell(&t, r->name);
        table_cell(&t, r->group != NULL ? r->group : "-");
        table_cell(&t, r->address);
        table_cellf(&t, "%s%s%s", r->role, r->role_seen ? "" : " (config)",
                    r->fenced ? " (fenced)" : "");
        table_cell(&t, r->state);
        table_cell(&t, r->why[0] ? r->why : "-");
        if (r->lag_ms >= 0)
            table_cellf(&t, "%.0f%s", r->lag_ms / 1000.0, r->repl_broken ? " (broken)" : "");
        else
            table_cell(&t, r->repl_broken ? "broken" : "-");
        table_cell(&t, r->gtid[0] ? r->gtid : "-");
        table_cellf(&t, "%" PRIu64, r->conns_in_use);
        table_cellf(&t, "%" PRIu64, r->conns_idle);
        table_cellf(&t, "%" PRIu64, r->queries);
        table_cellf(&t, "%" PRIu64, r->errors);
        table_cellf(&t, "%.2f", r->p50_ms);
        table_cellf(&t, "%.2f", r->p99_ms);
        if (r->rtt_ms >= 0)
            table_cellf(&t, "%.2f", r->rtt_ms);
        else
            table_cell(&t, "-");
        table_cell(&t, r->last_check[0] ? r->last_check : "-");
        if (r->check_age_s >= 0)
            table_cellf(&t, "%.1f", r->check_age_s);
        else
            table_cell(&t, "-");
    }
    table_render(&t, sb);
    table_free(&t);
    if (detail) {
        textbuf_putc(sb, '\n');
        render_load(sb, rows, n);
    }
}

void admin_render_rules(struct textbuf *sb, const struct config *cfg, const uint64_t *hits,
                        uint64_t match_errors, bool json)
{
    if (json) {
        textbuf_puts(sb, "{\"rules\":[");
        for (size_t i = 0; i < cfg->n_rules; i++) {
            const struct config_rule *r = &cfg->rules[i];
            bool block = r->action == RULE_ACTION_BLOCK;
            textbuf_puts(sb, i ? ",{\"name\":" : "{\"name\":");
            textbuf_json_str(sb, r->name);
            textbuf_puts(sb, ",\"action\":");
            textbuf_json_str(sb, block ? "block" : "route");
            textbuf_puts(sb, ",\"route\":");
            textbuf_json_str(sb, r->route_name);
            if (block)
                textbuf_printf(sb, ",\"error_code\":%d", r->error_code);
            else
                textbuf_puts(sb, ",\"error_code\":null");
            textbuf_puts(sb, ",\"error_sqlstate\":");
            textbuf_json_str(sb, block ? r->error_sqlstate : NULL);
            textbuf_puts(sb, ",\"error_message\":");
            textbuf_json_str(sb, r->error_message);
            textbuf_puts(sb, ",\"match_digest\":");
            textbuf_json_str(sb, r->match_digest);
            textbuf_puts(sb, ",\"match_text\":");
            textbuf_json_str(sb, r->match_text);
            textbuf_puts(sb, ",\"user\":");
            textbuf_json_str(sb, r->user);
            textbuf_puts(sb, ",\"schema\":");
            textbuf_json_str(sb, r->schema);
            textbuf_puts(sb, ",\"client\":");
            textbuf_json_str(sb, r->client);
            textbuf_printf(sb, ",\"hits\":%" PRIu64 "}", hits[i]);
        }
        textbuf_printf(sb, "],\"match_errors\":%" PRIu64 "}\n", match_errors);
        return;
    }
    struct table t;
    struct textbuf cell;
    table_init(&t, 5);
    static const char *const head[] = {"name", "action", "target", "conditions", "hits"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    textbuf_init(&cell, 64 * 1024);
    for (size_t i = 0; i < cfg->n_rules; i++) {
        const struct config_rule *r = &cfg->rules[i];
        table_cell(&t, r->name);
        if (r->action == RULE_ACTION_BLOCK) {
            table_cell(&t, "block");
            table_cellf(&t, "ERR %d (%s): %s", r->error_code, r->error_sqlstate, r->error_message);
        } else {
            table_cell(&t, "route");
            table_cell(&t, r->route_name);
        }
        textbuf_reset(&cell);
        rule_conditions(&cell, r);
        table_cell(&t, cell.data != NULL ? cell.data : "");
        table_cellf(&t, "%" PRIu64, hits[i]);
    }
    textbuf_free(&cell);
    table_render(&t, sb);
    table_free(&t);
    if (match_errors > 0)
        textbuf_printf(sb,
                       "# %" PRIu64 " pattern matches failed (match limit or JIT stack) and "
                       "counted as not matching\n",
                       match_errors);
}

void admin_render_digests(struct textbuf *sb, const struct digest_row *rows, size_t n,
                          const struct admin_digest_summary *sum, const int *missing,
                          size_t n_missing, bool json)
{
    if (json) {
        textbuf_puts(sb, "{\"digests\":[");
        for (size_t i = 0; i < n; i++) {
            const struct digest_row *r = &rows[i];
            textbuf_printf(sb,
                           "%s{\"hash\":\"%016" PRIx64 "\",\"calls\":%" PRIu64
                           ",\"errors\":%" PRIu64 ",\"rows\":%" PRIu64 ",\"total_usec\":%" PRIu64
                           ",\"avg_usec\":%" PRIu64 ",\"max_usec\":%" PRIu64 ",\"primary\":%" PRIu64
                           ",\"replica\":%" PRIu64 ",\"text\":",
                           i ? "," : "", r->hash, r->calls, r->errors, r->rows, r->total_usec,
                           r->calls ? r->total_usec / r->calls : 0, r->max_usec,
                           r->served[ROLE_PRIMARY], r->served[ROLE_REPLICA]);
            textbuf_json_str(sb, r->text);
            textbuf_printf(sb, ",\"text_truncated\":%s}", r->text_truncated ? "true" : "false");
        }
        textbuf_printf(sb, "],\"distinct\":%zu,\"evictions\":%" PRIu64 ",\"capacity\":%" PRIu64,
                       sum->distinct, sum->evictions, sum->capacity);
        json_missing_end(sb, missing, n_missing);
        return;
    }
    struct table t;
    table_init(&t, 10);
    static const char *const head[] = {"hash",   "calls",  "errors",  "rows",    "total_us",
                                       "avg_us", "max_us", "primary", "replica", "digest"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (size_t i = 0; i < n; i++) {
        const struct digest_row *r = &rows[i];
        table_cellf(&t, "%016" PRIx64, r->hash);
        table_cellf(&t, "%" PRIu64, r->calls);
        table_cellf(&t, "%" PRIu64, r->errors);
        table_cellf(&t, "%" PRIu64, r->rows);
        table_cellf(&t, "%" PRIu64, r->total_usec);
        table_cellf(&t, "%" PRIu64, r->calls ? r->total_usec / r->calls : 0);
        table_cellf(&t, "%" PRIu64, r->max_usec);
        table_cellf(&t, "%" PRIu64, r->served[ROLE_PRIMARY]);
        table_cellf(&t, "%" PRIu64, r->served[ROLE_REPLICA]);
        table_cellf(&t, "%s%s", r->text, r->text_truncated ? "..." : "");
    }
    table_render(&t, sb);
    table_free(&t);
    if (sum->capacity == 0 && n_missing == 0)
        textbuf_puts(sb, "# digests are off (digest_max_entries = 0)\n");
    else
        textbuf_printf(sb, "# %zu of %zu digests, by total time; %" PRIu64 " evicted\n", n,
                       sum->distinct, sum->evictions);
    text_missing(sb, missing, n_missing, "digests");
}

void admin_render_pools(struct textbuf *sb, const struct admin_pool_row *rows, size_t n,
                        const int *missing, size_t n_missing, bool json)
{
    if (json) {
        textbuf_puts(sb, "{\"pools\":[");
        for (size_t i = 0; i < n; i++) {
            const struct admin_pool_row *r = &rows[i];
            textbuf_puts(sb, i ? ",{\"backend\":" : "{\"backend\":");
            textbuf_json_str(sb, r->backend);
            textbuf_puts(sb, ",\"user\":");
            textbuf_json_str(sb, r->user);
            textbuf_printf(sb,
                           ",\"in_use\":%" PRIu32 ",\"idle\":%" PRIu32 ",\"waiting\":%" PRIu64
                           ",\"waits\":%" PRIu64 ",\"wait_p50_ms\":%.3f,\"wait_p99_ms\":%.3f"
                           ",\"restores\":%" PRIu64 ",\"resets\":%" PRIu64 ",\"opened\":%" PRIu64
                           ",\"closed\":%" PRIu64 "}",
                           r->in_use, r->idle, r->waiting, r->waits, r->wait_p50_ms, r->wait_p99_ms,
                           r->restores, r->resets, r->opened, r->closed);
        }
        textbuf_putc(sb, ']');
        json_missing_end(sb, missing, n_missing);
        return;
    }
    struct table t;
    static const char *const head[] = {"backend",  "user",   "in_use",      "idle",
                                       "waiting",  "waits",  "wait_p50_ms", "wait_p99_ms",
                                       "restores", "resets", "opened",      "closed"};
    table_init(&t, HY_ARRAY_SIZE(head));
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (size_t i = 0; i < n; i++) {
        const struct admin_pool_row *r = &rows[i];
        table_cell(&t, r->backend);
        table_cell(&t, r->user);
        table_cellf(&t, "%" PRIu32, r->in_use);
        table_cellf(&t, "%" PRIu32, r->idle);
        table_cellf(&t, "%" PRIu64, r->waiting);
        table_cellf(&t, "%" PRIu64, r->waits);
        if (r->waits > 0) {
            table_cellf(&t, "%.1f", r->wait_p50_ms);
            table_cellf(&t, "%.1f", r->wait_p99_ms);
        } else {
            table_cell(&t, "-");
            table_cell(&t, "-");
        }
        table_cellf(&t, "%" PRIu64, r->restores);
        table_cellf(&t, "%" PRIu64, r->resets);
        table_cellf(&t, "%" PRIu64, r->opened);
        table_cellf(&t, "%" PRIu64, r->closed);
    }
    table_render(&t, sb);
    table_free(&t);
    text_missing(sb, missing, n_missing, "connections");
}

/* ---- events ---- */

void admin_render_events(struct textbuf *sb, const struct alerts_record *rows, size_t n, bool json)
{
    char when[40];
    if (json) {
        textbuf_puts(sb, "{\"events\":[");
        for (size_t i = 0; i < n; i++) {
            const struct alerts_record *r = &rows[i];
            event_time_iso(r->ev.time_us, when, sizeof(when));
            textbuf_printf(sb, "%s{\"seq\":%" PRIu64 ",\"time\":\"%s\",\"event\":", i ? "," : "",
                           r->ev.seq, when);
            textbuf_json_str(sb, event_name(r->ev.type));
            textbuf_puts(sb, ",\"backend\":");
            textbuf_json_str(sb, r->ev.backend);
            textbuf_puts(sb, ",\"old\":");
            textbuf_json_str(sb, r->ev.old_state);
            textbuf_puts(sb, ",\"new\":");
            textbuf_json_str(sb, r->ev.new_state);
            textbuf_puts(sb, ",\"reason\":");
            textbuf_json_str(sb, r->ev.reason);
            textbuf_puts(sb, ",\"action\":");
            textbuf_json_str(sb, r->ev.action);
            textbuf_puts(sb, ",\"note\":");
            textbuf_json_str(sb, r->note);
            for (int k = 0; k < ALERTS__N; k++) {
                textbuf_printf(sb, ",\"%s\":", alerts_notifier_name((enum alerts_notifier)k));
                textbuf_json_str(sb, r->result[k]);
            }
            textbuf_putc(sb, '}');
        }
        textbuf_puts(sb, "]}\n");
        return;
    }
    struct table t;
    table_init(&t, 9);
    static const char *const head[] = {"seq",  "time", "event",   "backend", "new",
                                       "note", "exec", "webhook", "reason"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (size_t i = 0; i < n; i++) {
        const struct alerts_record *r = &rows[i];
        event_time_iso(r->ev.time_us, when, sizeof(when));
        table_cellf(&t, "%" PRIu64, r->ev.seq);
        table_cell(&t, when);
        table_cell(&t, event_name(r->ev.type));
        table_cell(&t, r->ev.backend[0] ? r->ev.backend : NULL);
        table_cell(&t, r->ev.new_state[0] ? r->ev.new_state : NULL);
        table_cell(&t, r->note[0] ? r->note : NULL);
        table_cell(&t, r->result[ALERTS_EXEC][0] ? r->result[ALERTS_EXEC] : NULL);
        table_cell(&t, r->result[ALERTS_WEBHOOK][0] ? r->result[ALERTS_WEBHOOK] : NULL);
        table_cellf(&t, "%.100s", r->ev.reason);
    }
    table_render(&t, sb);
    table_free(&t);
}

/* ---- blocked addresses and the firewall's learned digests ---- */

void admin_render_blocked(struct textbuf *sb, const struct guard_row *rows, size_t n, bool json)
{
    if (json) {
        textbuf_puts(sb, "{\"addresses\":[");
        for (size_t i = 0; i < n; i++) {
            const struct guard_row *r = &rows[i];
            textbuf_puts(sb, i ? ",{\"address\":" : "{\"address\":");
            textbuf_json_str(sb, r->address);
            textbuf_printf(sb,
                           ",\"failures\":%" PRIu32 ",\"blocked\":%s,\"blocked_ms\":%" PRId64
                           ",\"window_ms\":%" PRId64 ",\"last_failure_ms_ago\":%" PRId64 "}",
                           r->failures, r->blocked ? "true" : "false", r->blocked_ms, r->window_ms,
                           r->last_fail_ms);
        }
        textbuf_puts(sb, "]}\n");
        return;
    }
    struct table t;
    table_init(&t, 5);
    static const char *const head[] = {"address", "failures", "state", "blocked_ms",
                                       "last_failure_ms_ago"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (size_t i = 0; i < n; i++) {
        const struct guard_row *r = &rows[i];
        table_cell(&t, r->address);
        table_cellf(&t, "%" PRIu32, r->failures);
        table_cell(&t, r->blocked ? "blocked" : "counting");
        if (r->blocked)
            table_cellf(&t, "%" PRId64, r->blocked_ms);
        else
            table_cell(&t, NULL);
        table_cellf(&t, "%" PRId64, r->last_fail_ms);
    }
    table_render(&t, sb);
    table_free(&t);
}

void admin_render_firewall(struct textbuf *sb, const struct firewall_row *rows, size_t n,
                           uint64_t dropped, bool json)
{
    char first[32], last[32];
    if (json) {
        textbuf_puts(sb, "{\"digests\":[");
        for (size_t i = 0; i < n; i++) {
            const struct firewall_row *r = &rows[i];
            status_format_time(r->first, first, sizeof(first));
            status_format_time(r->last, last, sizeof(last));
            textbuf_puts(sb, i ? ",{\"user\":" : "{\"user\":");
            textbuf_json_str(sb, r->user);
            textbuf_printf(sb,
                           ",\"hash\":\"%016" PRIx64 "\",\"count\":%" PRIu64 ",\"first\":\"%s\""
                           ",\"last\":\"%s\",\"digest\":",
                           r->hash, r->count, first, last);
            textbuf_json_str(sb, r->text);
            textbuf_putc(sb, '}');
        }
        textbuf_printf(sb, "],\"dropped\":%" PRIu64 "}\n", dropped);
        return;
    }
    struct table t;
    table_init(&t, 5);
    static const char *const head[] = {"user", "hash", "count", "last", "digest"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (size_t i = 0; i < n; i++) {
        const struct firewall_row *r = &rows[i];
        status_format_time(r->last, last, sizeof(last));
        table_cell(&t, r->user);
        table_cellf(&t, "%016" PRIx64, r->hash);
        table_cellf(&t, "%" PRIu64, r->count);
        table_cell(&t, last);
        table_cell(&t, r->text);
    }
    table_render(&t, sb);
    table_free(&t);
    if (dropped > 0)
        textbuf_printf(sb,
                       "# %" PRIu64 " digests not recorded: the table is full "
                       "(firewall_learn_max)\n",
                       dropped);
}

void admin_render_firewall_dump(struct textbuf *sb, const char *user,
                                const struct firewall_row *rows, size_t n, bool json)
{
    if (json) {
        textbuf_puts(sb, "{\"user\":");
        textbuf_json_str(sb, user);
        textbuf_puts(sb, ",\"firewall_allow\":[");
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                textbuf_putc(sb, ',');
            textbuf_json_str(sb, rows[i].text);
        }
        textbuf_puts(sb, "]}\n");
        return;
    }
    /* libconfig strings take the same escapes as JSON for what a digest
     * holds (quotes, backslashes, control bytes as \n \t \\ ...); a digest
     * cut at DIGEST_TEXT_MAX would hash differently, so it goes in as its
     * hash. */
    textbuf_printf(sb, "# %zu digests learned for user \"%s\"; paste into its users entry\n", n,
                   user);
    textbuf_puts(sb, "firewall_allow = [");
    for (size_t i = 0; i < n; i++) {
        textbuf_puts(sb, i ? ",\n    " : "\n    ");
        if (strlen(rows[i].text) >= DIGEST_TEXT_MAX)
            textbuf_printf(sb, "\"%016" PRIx64 "\"", rows[i].hash);
        else
            textbuf_json_str(sb, rows[i].text);
    }
    textbuf_puts(sb, n ? "\n];\n" : "];\n");
}
