/*
 * admin_config.c: `show config`, the configuration as loaded, key by key,
 * and where the runtime differs from it (a backend set offline, a
 * switchover), as a text table or JSON. Pure, as admin_render.c is: it
 * writes into a textbuf and touches nothing else.
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
#include "halyard/session/guard.h"
#include "halyard/cluster/failover_exec.h"
#include "halyard/core/log.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/config/rules.h"
#include "halyard/session/session.h"
#include "halyard/core/takeover.h"
#include "halyard/cluster/users.h"
#include "halyard/session/worker.h"

#include "admin_int.h"

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
    kv_bool(kv, "transaction_replay", cfg->transaction_replay);
    kv_int(kv, "replay_max_size", (long long)cfg->replay_max_size);
    kv_int(kv, "replay_timeout_ms", cfg->replay_timeout_ms);
    kv_bool(kv, "resolve_in_flight_writes", cfg->resolve_in_flight_writes);
    kv_str(kv, "replay_checksum", cfg->replay_result_only ? "result_only" : "full");
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
    kv_bool(kv, "admin_require_tls", cfg->admin_require_tls);
    kv_str(kv, "metrics_address", cfg->metrics_address);
    kv_int(kv, "metrics_port", cfg->metrics_port);
    kv_bool(kv, "metrics_status_page", cfg->metrics_status_page);
    kv_bool(kv, "metrics_auth", cfg->metrics_auth);
    kv_bool(kv, "metrics_tls", cfg->metrics_tls);
    kv_str(kv, "log_file", cfg->log_file);
    kv_bool(kv, "log_syslog", cfg->log_syslog);
    kv_str(kv, "audit_log", cfg->audit_log);
    kv_str(kv, "query_log", cfg->query_log);
    kv_int(kv, "query_log_min_duration_ms", cfg->query_log_min_duration_ms);
    kv_str(kv, "capture_file", cfg->capture_file);
    kv_int(kv, "capture_max_mb", cfg->capture_max_mb);
    kv_int(kv, "capture_max_seconds", cfg->capture_max_seconds);
    kv_bool(kv, "capture_mask", cfg->capture_mask);
    kv_int(kv, "capture_queue", cfg->capture_queue);
}

/* Reads and writes: where they go, how fresh. */
static void show_config_routing(struct kv *kv, const struct config *cfg)
{
    kv_bool(kv, "read_write_split", cfg->read_write_split);
    kv_str(kv, "consistency", consistency_to_str(cfg->consistency));
    kv_int(kv, "causal_timeout_ms", cfg->causal_timeout_ms);
    kv_bool(kv, "causal_fast", cfg->causal_fast);
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
    kv_str(kv, "backup.incr_every", cfg->backup.incr_every);
    kv_str(kv, "backup.diff_every", cfg->backup.diff_every);
    kv_int(kv, "backup.full_keep", cfg->backup.full_keep);
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
    kv_str(kv, "cache.read_your_writes", cfg->cache.gate_global ? "global" : "session");
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

/* tracing: the headers (an API key) shown as set or not, never as written;
 * the endpoint as the webhook is, its scheme and host. */
static void show_config_tracing(struct kv *kv, const struct config *cfg)
{
    const struct config_tracing *t = &cfg->tracing;
    char shown[512];
    kv_bool(kv, "tracing.enabled", t->enabled);
    webhook_shown(t->endpoint, shown, sizeof(shown));
    kv_str(kv, "tracing.endpoint", shown);
    kv_str(kv, "tracing.protocol", t->protobuf ? "http/protobuf" : "http/json");
    kv_str(kv, "tracing.headers", t->headers[0] != '\0' ? "(set)" : "");
    kv_str(kv, "tracing.tls_ca_file", t->ca_file);
    kv_bool(kv, "tracing.tls_verify", t->tls_verify);
    kv_str(kv, "tracing.service_name", t->service);
    snprintf(shown, sizeof(shown), "%g", t->ratio);
    kv_str(kv, "tracing.ratio", shown);
    kv_int(kv, "tracing.slow_ms", t->slow_ms);
    kv_bool(kv, "tracing.query_text", t->query_text);
    kv_int(kv, "tracing.queue_size", t->queue_size);
    kv_int(kv, "tracing.timeout_ms", t->timeout_ms);
    kv_int(kv, "tracing.flush_ms", t->flush_ms);
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
        kv_bool(kv, elem_key(&l, "exempt", k, sizeof(k)), x->exempt);
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
        kv_str(kv, elem_key(&l, "user", k, sizeof(k)), opt_str(x->who.user));
        kv_strings(kv, elem_key(&l, "users", k, sizeof(k)), &x->who.users);
        kv_str(kv, elem_key(&l, "schema", k, sizeof(k)), opt_str(x->who.schema));
        kv_str(kv, elem_key(&l, "client", k, sizeof(k)), opt_str(x->who.client));
        kv_strings(kv, elem_key(&l, "no_where", k, sizeof(k)), &x->no_where);
        kv_str(kv, elem_key(&l, "listener", k, sizeof(k)), opt_str(x->who.listener));
        kv_strings(kv, elem_key(&l, "tables", k, sizeof(k)), &x->tables);
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
            kv_str(kv, elem_key(&l, "read_your_writes", k, sizeof(k)),
                   x->read_your_writes == RULE_RYW_GLOBAL    ? "global"
                   : x->read_your_writes == RULE_RYW_SESSION ? "session"
                                                             : "");
            kv_int(kv, elem_key(&l, "max_stale_ms", k, sizeof(k)), x->max_stale_ms);
        } else {
            kv_str(kv, elem_key(&l, "ttl_ms", k, sizeof(k)), NULL);
            kv_str(kv, elem_key(&l, "max_result_bytes", k, sizeof(k)), NULL);
            kv_str(kv, elem_key(&l, "read_your_writes", k, sizeof(k)), NULL);
            kv_str(kv, elem_key(&l, "max_stale_ms", k, sizeof(k)), NULL);
        }
        elem_end(&l);
    }
    list_end(&l);
}

static void show_config_limits(struct kv *kv, const struct config *cfg)
{
    char k[192];
    struct kv_list l;
    list_begin(&l, kv, "limits");
    for (size_t i = 0; i < cfg->n_limits; i++) {
        const struct config_limit *x = &cfg->limits[i];
        elem_begin(&l);
        kv_str(kv, elem_key(&l, "name", k, sizeof(k)), x->name);
        kv_str(kv, elem_key(&l, "user", k, sizeof(k)), opt_str(x->who.user));
        kv_strings(kv, elem_key(&l, "users", k, sizeof(k)), &x->who.users);
        kv_str(kv, elem_key(&l, "schema", k, sizeof(k)), opt_str(x->who.schema));
        kv_str(kv, elem_key(&l, "client", k, sizeof(k)), opt_str(x->who.client));
        kv_str(kv, elem_key(&l, "listener", k, sizeof(k)), opt_str(x->who.listener));
        kv_str(kv, elem_key(&l, "match_digest", k, sizeof(k)), opt_str(x->match_digest));
        kv_int(kv, elem_key(&l, "max_concurrent", k, sizeof(k)), x->max_concurrent);
        kv_int(kv, elem_key(&l, "max_per_second", k, sizeof(k)), x->max_per_second);
        kv_int(kv, elem_key(&l, "burst", k, sizeof(k)), x->burst);
        kv_int(kv, elem_key(&l, "max_server_ms_per_second", k, sizeof(k)),
               x->max_server_ms_per_second);
        kv_int(kv, elem_key(&l, "queue_size", k, sizeof(k)), x->queue_size);
        kv_int(kv, elem_key(&l, "queue_timeout_ms", k, sizeof(k)), x->queue_timeout_ms);
        kv_str(kv, elem_key(&l, "tenant", k, sizeof(k)),
               x->tenant == LIMIT_TENANT_SCHEMA ? "schema" : "user");
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
    show_config_tracing(&kv, cfg);
    show_config_listeners(&kv, cfg);
    show_config_shards(&kv, cfg);
    show_config_groups(&kv, cfg);
    show_config_users(&kv, cfg);
    show_config_admin_accounts(&kv, cfg);
    show_config_backends(&kv, cfg);
    show_config_witnesses(&kv, cfg);
    show_config_rules(&kv, cfg);
    show_config_limits(&kv, cfg);
    show_config_runtime(&kv, cfg);
    kv_end(&kv);
}
