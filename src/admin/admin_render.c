/*
 * admin_render.c: the admin socket's answers as text tables or JSON, from
 * rows the socket's jobs gathered (admin.c); `show config` is admin_config.c's.
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
#include "halyard/core/memory.h"
#include "halyard/limits/limits.h"
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
#include "halyard/trace/trace.h"
#include "halyard/trace/trace_export.h"
#include "halyard/capture/capture.h"

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
                         uint64_t client_sessions, const struct hy_memory *mem, bool json)
{
    char when[32];
    struct kv kv;
    kv_begin(&kv, sb, json, "name");
    kv_str(&kv, "version", HALYARD_VERSION);
    kv_int(&kv, "pid", (long long)st->pid);
    status_format_time(st->started, when, sizeof(when));
    kv_str(&kv, "started", when);
    kv_u64(&kv, "uptime_s", (uint64_t)uptime);
    kv_str(&kv, "config_file", st->config_path);
    kv_int(&kv, "workers", st->n_workers);
    kv_u64(&kv, "client_sessions", client_sessions);
    if (mem != NULL) {
        kv_u64(&kv, "rss_kib", mem->rss_kib);
        kv_u64(&kv, "heap_used_kib", mem->heap_used / 1024);
        kv_u64(&kv, "heap_free_kib", mem->heap_free / 1024);
        kv_u64(&kv, "heap_mmap_kib", mem->heap_mmap / 1024);
    }
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

static void stats_json(struct textbuf *sb, const struct stat_values *v)
{
    for (size_t i = 0; i < STAT_FIELDS; i++) {
        textbuf_putc(sb, ',');
        textbuf_json_str(sb, stat_fields[i].name);
        textbuf_printf(sb, ":%" PRIu64, v->v[i]);
    }
}

/* The exporter of spans' counters (trace_export.h), process-wide: zeros
 * when there is none; then the captures' dropped records (capture.h). */
#define PROCESS_COUNTERS 5

static void process_counters(uint64_t v[PROCESS_COUNTERS])
{
    uint64_t cd[CAPTURE_DROP_N];
    capture_drops_total(cd);
    v[4] = 0;
    for (int i = 0; i < CAPTURE_DROP_N; i++)
        v[4] += cd[i];
    struct trace_export_stats ts = {0};
    const struct trace_exporter *ex = trace_export_global();
    if (ex != NULL)
        trace_export_stats(ex, &ts);
    v[0] = ts.exported;
    v[1] = ts.dropped_full + ts.dropped_failed;
    v[2] = trace_bad_count(TRACE_BAD_PARENT);
    v[3] = trace_bad_count(TRACE_BAD_STATE);
}

static const char *const process_names[PROCESS_COUNTERS] = {
    "trace_spans_exported", "trace_spans_dropped", "trace_bad_traceparents",
    "trace_bad_tracestates", "capture_records_dropped"};

void admin_render_stats(struct textbuf *sb, const struct stat_values *total,
                        const struct stat_values *per_worker, int n_workers,
                        uint64_t client_sessions, bool json)
{
    uint64_t tv[PROCESS_COUNTERS];
    process_counters(tv);
    if (json) {
        textbuf_printf(sb, "{\"client_sessions\":%" PRIu64, client_sessions);
        stats_json(sb, total);
        for (size_t i = 0; i < PROCESS_COUNTERS; i++)
            textbuf_printf(sb, ",\"%s\":%" PRIu64, process_names[i], tv[i]);
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
    for (size_t i = 0; i < PROCESS_COUNTERS; i++) { /* the exporter's and the capture's */
        table_cell(&t, process_names[i]);
        table_cellf(&t, "%" PRIu64, tv[i]);
        for (int w = 0; w < n_workers; w++)
            table_cell(&t, "-");
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

/* A rule's target for one table cell (and JSON's "target"): the route, or
 * the ERR it answers. */
static void rule_target(struct textbuf *tb, const struct config_rule *r)
{
    if (r->action == RULE_ACTION_BLOCK)
        textbuf_printf(tb, "ERR %d (%s): %s", r->error_code, r->error_sqlstate, r->error_message);
    else
        textbuf_puts(tb, r->route_name != NULL ? r->route_name : "");
}

/* A rule's conditions for one table cell: key="value" pairs. The values
 * are as written (the cell escapes backslashes and control bytes, as
 * `show config` does); --json gives each one on its own. */
static void rule_conditions(struct textbuf *tb, const struct config_rule *r)
{
    const char *const keys[] = {"match_digest", "match_text", "user", "schema", "client"};
    const char *const vals[] = {r->match_digest, r->match_text, r->who.user, r->who.schema,
                                r->who.client};
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
    json_count(sb, "row_lock_waits", s->row_lock_waits);
    json_count(sb, "binlog_bytes_written", s->binlog_bytes_written);
    json_count(sb, "binlog_files", s->binlog_files);
    json_count(sb, "binlog_size_bytes", s->binlog_size);
    json_count(sb, "datadir_fs_size_bytes", s->disk_total);
    json_count(sb, "datadir_fs_used_bytes", s->disk_used);
    json_ratio(sb, "queries_per_s", r->rates.qps);
    json_ratio(sb, "connections_pct", r->rates.connections_pct);
    json_ratio(sb, "bp_hit_pct", r->rates.bp_hit_ratio >= 0 ? 100.0 * r->rates.bp_hit_ratio : -1);
    json_ratio(sb, "bp_dirty_pct", r->rates.bp_dirty_pct);
    json_ratio(sb, "datadir_fs_used_pct", r->rates.disk_pct);
    textbuf_puts(sb, ",\"commands_per_s\":{");
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
    static const char *const head[] = {
        "name",          "threads_connected", "max_connections",  "threads_running",
        "queries_per_s", "slow_queries",      "aborted_connects", "bp_hit_pct",
        "bp_dirty_pct",  "row_lock_waits"};
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
    static const char *const head2[] = {"name",
                                        "select_per_s",
                                        "insert_per_s",
                                        "update_per_s",
                                        "delete_per_s",
                                        "commit_per_s",
                                        "rollback_per_s",
                                        "binlog_files",
                                        "binlog_size_mib",
                                        "datadir_fs_used_pct",
                                        "datadir_fs_size_gib"};
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
        cell_pct(&t, seen, r->rates.disk_pct, 1);
        if (seen && r->status.disk_total >= 0)
            table_cellf(&t, "%.1f", (double)r->status.disk_total / 1073741824.0);
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
                textbuf_printf(sb, ",\"lag_s\":%.3f", r->lag_ms / 1000.0);
            else
                textbuf_puts(sb, ",\"lag_s\":null");
            textbuf_printf(
                sb, ",\"replication_broken\":%s,\"gtid\":", r->repl_broken ? "true" : "false");
            textbuf_json_str(sb, r->gtid);
            textbuf_printf(sb,
                           ",\"in_use\":%" PRIu64 ",\"idle\":%" PRIu64 ",\"queries\":%" PRIu64
                           ",\"errors\":%" PRIu64 ",\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"rtt_ms\":",
                           r->conns_in_use, r->conns_idle, r->queries, r->errors, r->p50_ms,
                           r->p99_ms);
            if (r->rtt_ms >= 0)
                textbuf_printf(sb, "%.3f", r->rtt_ms);
            else
                textbuf_puts(sb, "null");
            textbuf_puts(sb, ",\"last_check\":");
            textbuf_json_str(sb, r->last_check);
            if (r->check_age_s >= 0)
                textbuf_printf(sb, ",\"check_age_s\":%.1f", r->check_age_s);
            else
                textbuf_puts(sb, ",\"check_age_s\":null");
            textbuf_puts(sb, ",\"proof_missing\":");
            textbuf_json_str(sb, r->proof_missing);
            json_load(sb, r);
            textbuf_putc(sb, '}');
        }
        textbuf_puts(sb, "]}\n");
        return;
    }
    struct table t;
    /* one fact a column, named as in the JSON (role_seen: the servers'
     * own; false: the config's, until the first check) */
    static const char *const head[] = {
        "name",         "group",  "address", "role",       "role_seen",
        "fenced",       "state",  "why",     "lag_s",      "replication_broken",
        "gtid",         "in_use", "idle",    "queries",    "errors",
        "p50_ms",       "p99_ms", "rtt_ms",  "last_check", "check_age_s",
        "proof_missing"};
    table_init(&t, HY_ARRAY_SIZE(head));
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (size_t i = 0; i < n; i++) {
        const struct admin_backend_row *r = &rows[i];
        table_cell(&t, r->name);
        table_cell(&t, r->group != NULL ? r->group : "-");
        table_cell(&t, r->address);
        table_cell(&t, r->role);
        table_cell(&t, r->role_seen ? "true" : "false");
        table_cell(&t, r->fenced ? "true" : "false");
        table_cell(&t, r->state);
        table_cell(&t, r->why[0] ? r->why : "-");
        if (r->lag_ms >= 0)
            table_cellf(&t, "%.0f", r->lag_ms / 1000.0);
        else
            table_cell(&t, "-");
        table_cell(&t, r->repl_broken ? "true" : "false");
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
        table_cell(&t, r->proof_missing[0] ? r->proof_missing : "-");
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
    struct textbuf cell;
    textbuf_init(&cell, 64 * 1024);
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
            textbuf_json_str(sb, r->who.user);
            textbuf_puts(sb, ",\"schema\":");
            textbuf_json_str(sb, r->who.schema);
            textbuf_puts(sb, ",\"client\":");
            textbuf_json_str(sb, r->who.client);
            textbuf_reset(&cell);
            rule_target(&cell, r);
            textbuf_puts(sb, ",\"target\":");
            textbuf_json_str(sb, cell.data != NULL ? cell.data : "");
            textbuf_reset(&cell);
            rule_conditions(&cell, r);
            textbuf_puts(sb, ",\"conditions\":");
            textbuf_json_str(sb, cell.data != NULL ? cell.data : "");
            textbuf_printf(sb, ",\"hits\":%" PRIu64 "}", hits[i]);
        }
        textbuf_printf(sb, "],\"match_errors\":%" PRIu64 "}\n", match_errors);
        textbuf_free(&cell);
        return;
    }
    struct table t;
    table_init(&t, 5);
    static const char *const head[] = {"name", "action", "target", "conditions", "hits"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (size_t i = 0; i < cfg->n_rules; i++) {
        const struct config_rule *r = &cfg->rules[i];
        table_cell(&t, r->name);
        table_cell(&t, r->action == RULE_ACTION_BLOCK ? "block" : "route");
        textbuf_reset(&cell);
        rule_target(&cell, r);
        table_cell(&t, cell.data != NULL ? cell.data : "");
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
                           ",\"errors\":%" PRIu64 ",\"rows\":%" PRIu64 ",\"total_us\":%" PRIu64
                           ",\"avg_us\":%" PRIu64 ",\"max_us\":%" PRIu64 ",\"primary\":%" PRIu64
                           ",\"replica\":%" PRIu64 ",\"digest\":",
                           i ? "," : "", r->hash, r->calls, r->errors, r->rows, r->total_usec,
                           r->calls ? r->total_usec / r->calls : 0, r->max_usec,
                           r->served[ROLE_PRIMARY], r->served[ROLE_REPLICA]);
            textbuf_json_str(sb, r->text);
            textbuf_printf(sb, ",\"digest_truncated\":%s}", r->text_truncated ? "true" : "false");
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
            textbuf_printf(
                sb,
                ",\"failures\":%" PRIu32 ",\"state\":\"%s\",\"blocked\":%s,\"blocked_ms\":%" PRId64
                ",\"window_ms\":%" PRId64 ",\"last_failure_age_ms\":%" PRId64 "}",
                r->failures, r->blocked ? "blocked" : "counting", r->blocked ? "true" : "false",
                r->blocked_ms, r->window_ms, r->last_fail_ms);
        }
        textbuf_puts(sb, "]}\n");
        return;
    }
    struct table t;
    table_init(&t, 5);
    static const char *const head[] = {"address", "failures", "state", "blocked_ms",
                                       "last_failure_age_ms"};
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

/* ---- fair-share limits ---- */

void admin_render_limits(struct textbuf *sb, const struct limit_row *rows, size_t n, bool json)
{
    if (json) {
        textbuf_puts(sb, "{\"limits\":[");
        for (size_t i = 0; i < n; i++) {
            const struct limit_row *r = &rows[i];
            textbuf_puts(sb, i ? ",{\"limit\":" : "{\"limit\":");
            textbuf_json_str(sb, r->limit);
            textbuf_puts(sb, ",\"tenant\":");
            textbuf_json_str(sb, r->tenant);
            textbuf_printf(sb,
                           ",\"held_back\":%s,\"in_flight\":%" PRIu32 ",\"queued\":%" PRIu32
                           ",\"passed\":%" PRIu64 ",\"waited\":%" PRIu64
                           ",\"wait_p50_ms\":%.0f,\"wait_p99_ms\":%.0f,\"refused\":%" PRIu64
                           ",\"wait_ms\":%.0f,\"server_ms\":%.0f}",
                           r->held_back ? "true" : "false", r->in_flight, r->queued, r->passed,
                           r->waited, r->wait_p50_ms, r->wait_p99_ms, r->refused, r->wait_ms,
                           r->server_ms);
        }
        textbuf_puts(sb, "]}\n");
        return;
    }
    static const char *const head[] = {"limit",   "tenant",  "in_flight",   "queued",
                                       "passed",  "waited",  "wait_p50_ms", "wait_p99_ms",
                                       "refused", "wait_ms", "server_ms"};
    struct table t;
    table_init(&t, HY_ARRAY_SIZE(head));
    for (size_t i = 0; i < HY_ARRAY_SIZE(head); i++)
        table_cell(&t, head[i]);
    for (size_t i = 0; i < n; i++) {
        const struct limit_row *r = &rows[i];
        table_cell(&t, r->limit);
        table_cell(&t, r->tenant);
        table_cellf(&t, "%" PRIu32, r->in_flight);
        table_cellf(&t, "%" PRIu32, r->queued);
        table_cellf(&t, "%" PRIu64, r->passed);
        table_cellf(&t, "%" PRIu64, r->waited);
        table_cellf(&t, "%.0f", r->wait_p50_ms);
        table_cellf(&t, "%.0f", r->wait_p99_ms);
        table_cellf(&t, "%" PRIu64, r->refused);
        table_cellf(&t, "%.0f", r->wait_ms);
        table_cellf(&t, "%.0f", r->server_ms);
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
                           ",\"hash\":\"%016" PRIx64 "\",\"count\":%" PRIu64
                           ",\"first_seen\":\"%s\""
                           ",\"last_seen\":\"%s\",\"digest\":",
                           r->hash, r->count, first, last);
            textbuf_json_str(sb, r->text);
            textbuf_putc(sb, '}');
        }
        textbuf_printf(sb, "],\"dropped\":%" PRIu64 "}\n", dropped);
        return;
    }
    struct table t;
    table_init(&t, 5);
    static const char *const head[] = {"user", "hash", "count", "last_seen", "digest"};
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
