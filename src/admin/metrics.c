/*
 * metrics.c: the Prometheus endpoint. See metrics.h.
 *
 * A scrape reads the worker counters (relaxed atomics, no lock) and the
 * main thread's own status, renders the whole answer into one buffer and
 * writes it without blocking. metrics_render() is the only place that knows
 * metric names; it writes family by family, HELP and TYPE first, so a new
 * family (per-backend health later) is one more call there.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdatomic.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "halyard/cluster/failover_exec.h"
#include "halyard/cluster/backend.h"
#include "halyard/core/log.h"
#include "halyard/config/group.h"
#include "halyard/limits/limits.h"
#include "halyard/admin/metrics.h"
#include "halyard/core/stats.h"
#include "halyard/cluster/xa_log_writer.h"
#include "halyard/cluster/xa_recover.h"
#include "halyard/cluster/pool_stats.h"
#include "halyard/protocol/auth.h"
#include "halyard/protocol/resolve.h"
#include "halyard/protocol/tls.h"
#include "halyard/session/guard.h"
#include "halyard/trace/trace.h"
#include "halyard/trace/trace_export.h"
#include "halyard/capture/capture.h"

/* ---- rendering --------------------------------------------------------- */

/* "# HELP" and "# TYPE" of a family. HELP text escapes \ and newline. */
static void family(struct textbuf *sb, const char *name, const char *type, const char *help)
{
    textbuf_printf(sb, "# HELP %s ", name);
    for (const char *p = help; *p != '\0'; p++) {
        if (*p == '\\')
            textbuf_puts(sb, "\\\\");
        else if (*p == '\n')
            textbuf_puts(sb, "\\n");
        else
            textbuf_putc(sb, *p);
    }
    textbuf_printf(sb, "\n# TYPE %s %s\n", name, type);
}

/* A label value: \, " and newline escaped. */
static void label_value(struct textbuf *sb, const char *v)
{
    textbuf_putc(sb, '"');
    for (const char *p = v; *p != '\0'; p++) {
        if (*p == '\\' || *p == '"')
            textbuf_putc(sb, '\\');
        if (*p == '\n')
            textbuf_puts(sb, "\\n");
        else
            textbuf_putc(sb, *p);
    }
    textbuf_putc(sb, '"');
}

/* name{label="value"} v; `label` NULL for none. */
static void sample_u64(struct textbuf *sb, const char *name, const char *label, const char *value,
                       uint64_t v)
{
    textbuf_puts(sb, name);
    if (label != NULL) {
        textbuf_printf(sb, "{%s=", label);
        label_value(sb, value);
        textbuf_putc(sb, '}');
    }
    textbuf_printf(sb, " %" PRIu64 "\n", v);
}

static void gauge_u64(struct textbuf *sb, const char *name, const char *help, uint64_t v)
{
    family(sb, name, "gauge", help);
    sample_u64(sb, name, NULL, NULL, v);
}

/* One sample with a backend label and a second label. */
static void sample2(struct textbuf *sb, const char *name, const char *backend, const char *label,
                    const char *value, const char *v)
{
    textbuf_printf(sb, "%s{backend=", name);
    label_value(sb, backend);
    if (label != NULL) {
        textbuf_printf(sb, ",%s=", label);
        label_value(sb, value);
    }
    textbuf_printf(sb, "} %s\n", v);
}

/* name{backend="b"[,user="u"][,le="x"]} v */
static void sample_bu(struct textbuf *sb, const char *name, const char *backend, const char *user,
                      const char *le, const char *v)
{
    textbuf_printf(sb, "%s{backend=", name);
    label_value(sb, backend);
    if (user != NULL) {
        textbuf_puts(sb, ",user=");
        label_value(sb, user);
    }
    if (le != NULL) {
        textbuf_puts(sb, ",le=");
        label_value(sb, le);
    }
    textbuf_printf(sb, "} %s\n", v);
}

/* The samples of histogram `name` over backend.h's latency buckets (`lat`
 * per bucket, `sum_us` in all), labelled by backend and, unless NULL, user. */
static void histogram(struct textbuf *sb, const char *name, const char *backend, const char *user,
                      const uint64_t *lat, uint64_t sum_us)
{
    char metric[96], v[32];
    uint64_t cum = 0;
    snprintf(metric, sizeof(metric), "%s_bucket", name);
    for (int b = 0; b < BACKEND_LAT_BUCKETS; b++) {
        cum += lat[b];
        char le[32];
        if (b < BACKEND_LAT_BOUNDS)
            snprintf(le, sizeof(le), "%g", backend_lat_bounds_us[b] / 1e6);
        else
            snprintf(le, sizeof(le), "+Inf");
        snprintf(v, sizeof(v), "%" PRIu64, cum);
        sample_bu(sb, metric, backend, user, le, v);
    }
    snprintf(metric, sizeof(metric), "%s_sum", name);
    snprintf(v, sizeof(v), "%.6f", sum_us / 1e6);
    sample_bu(sb, metric, backend, user, NULL, v);
    snprintf(metric, sizeof(metric), "%s_count", name);
    snprintf(v, sizeof(v), "%" PRIu64, cum);
    sample_bu(sb, metric, backend, user, NULL, v);
}

/* Per-backend families: state, role, lag, connections, statements, errors
 * and the latency histogram, all with a backend="name" label. */
/* What the servers say of their own load (srvstatus.h), as the monitor
 * last read it: a field of struct srv_status (an integer) or of struct
 * srv_rates (a double); absent when the server did not say. */
static const struct {
    const char *name, *type, *help;
    bool rate; /* in srv_rates, else srv_status */
    size_t off;
} server_families[] = {
    {"halyard_backend_server_max_connections", "gauge", "The server's @@max_connections.", false,
     offsetof(struct srv_status, max_connections)},
    {"halyard_backend_server_threads_connected", "gauge", "The server's Threads_connected.", false,
     offsetof(struct srv_status, threads_connected)},
    {"halyard_backend_server_threads_running", "gauge", "The server's Threads_running.", false,
     offsetof(struct srv_status, threads_running)},
    {"halyard_backend_server_questions_total", "counter", "The server's Questions.", false,
     offsetof(struct srv_status, questions)},
    {"halyard_backend_server_slow_queries_total", "counter", "The server's Slow_queries.", false,
     offsetof(struct srv_status, slow_queries)},
    {"halyard_backend_server_aborted_connects_total", "counter", "The server's Aborted_connects.",
     false, offsetof(struct srv_status, aborted_connects)},
    {"halyard_backend_server_innodb_row_lock_waits_total", "counter",
     "The server's Innodb_row_lock_waits.", false, offsetof(struct srv_status, row_lock_waits)},
    {"halyard_backend_server_innodb_buffer_pool_pages_dirty", "gauge",
     "The server's Innodb_buffer_pool_pages_dirty.", false,
     offsetof(struct srv_status, bp_pages_dirty)},
    {"halyard_backend_server_innodb_buffer_pool_pages_total", "gauge",
     "The server's Innodb_buffer_pool_pages_total.", false,
     offsetof(struct srv_status, bp_pages_total)},
    {"halyard_backend_server_binlog_bytes_written_total", "counter",
     "The server's Binlog_bytes_written (since it started).", false,
     offsetof(struct srv_status, binlog_bytes_written)},
    {"halyard_backend_server_binlog_files", "gauge",
     "The server's binary log files (SHOW BINARY LOGS; needs BINLOG MONITOR).", false,
     offsetof(struct srv_status, binlog_files)},
    {"halyard_backend_server_binlog_size_bytes", "gauge",
     "Bytes the server's binary log files take (SHOW BINARY LOGS, File_size summed).", false,
     offsetof(struct srv_status, binlog_size)},
    {"halyard_backend_server_datadir_fs_size_bytes", "gauge",
     "Size of the filesystem of the server's datadir (information_schema.DISKS).", false,
     offsetof(struct srv_status, disk_total)},
    {"halyard_backend_server_datadir_fs_used_bytes", "gauge",
     "Bytes used on the filesystem of the server's datadir (information_schema.DISKS).", false,
     offsetof(struct srv_status, disk_used)},
    {"halyard_backend_server_queries_per_second", "gauge",
     "Questions per second between the monitor's last two readings.", true,
     offsetof(struct srv_rates, qps)},
    {"halyard_backend_server_buffer_pool_hit_ratio", "gauge",
     "InnoDB buffer pool reads served from memory between the monitor's last two readings "
     "(1 - Innodb_buffer_pool_reads / Innodb_buffer_pool_read_requests).",
     true, offsetof(struct srv_rates, bp_hit_ratio)},
};

static void render_server_status(struct textbuf *sb, const struct config *cfg)
{
    struct backend_info *info = calloc(cfg->n_backends ? cfg->n_backends : 1, sizeof(*info));
    if (info == NULL)
        return;
    for (size_t i = 0; i < cfg->n_backends; i++) {
        if (cfg->backends[i].rt != NULL)
            backend_info_get(cfg->backends[i].rt, &info[i]);
    }
    for (size_t f = 0; f < sizeof(server_families) / sizeof(server_families[0]); f++) {
        family(sb, server_families[f].name, server_families[f].type, server_families[f].help);
        for (size_t i = 0; i < cfg->n_backends; i++) {
            if (info[i].status_time == 0)
                continue;
            char v[40];
            if (server_families[f].rate) {
                double d = *(const double *)((const char *)&info[i].rates + server_families[f].off);
                if (d < 0)
                    continue;
                snprintf(v, sizeof(v), "%.6g", d);
            } else {
                int64_t n =
                    *(const int64_t *)((const char *)&info[i].status + server_families[f].off);
                if (n < 0)
                    continue;
                snprintf(v, sizeof(v), "%lld", (long long)n);
            }
            sample2(sb, server_families[f].name, cfg->backends[i].name, NULL, NULL, v);
        }
    }
    /* The statements of each kind (Com_*), as counters and as the rate
     * between the last two readings. */
    for (int per_second = 0; per_second < 2; per_second++) {
        const char *name = per_second ? "halyard_backend_server_commands_per_second"
                                      : "halyard_backend_server_commands_total";
        family(sb, name, per_second ? "gauge" : "counter",
               per_second ? "The server's Com_<command> per second between the monitor's last "
                            "two readings."
                          : "The server's Com_<command> counters.");
        for (size_t i = 0; i < cfg->n_backends; i++) {
            if (info[i].status_time == 0)
                continue;
            for (int c = 0; c < SRV_COM_COUNT; c++) {
                char v[40];
                double d = info[i].rates.com_ps[c];
                int64_t n = info[i].status.com[c];
                if (per_second ? d < 0 : n < 0)
                    continue;
                if (per_second)
                    snprintf(v, sizeof(v), "%.6g", d);
                else
                    snprintf(v, sizeof(v), "%lld", (long long)n);
                sample2(sb, name, cfg->backends[i].name, "command", srv_com_name(c), v);
            }
        }
    }
    free(info);
}

/* The binlog archive (binlog_archive.h), when a backup section is set. */
static void render_backup(struct textbuf *sb, const struct binlog_archive_status *b,
                          const struct backup_full_status *f, const struct backup_copy_status *c,
                          const struct backup_sched_status *sc)
{
    family(sb, "halyard_backup_copy_files", "gauge",
           "Full backups and closed archive files by the state of their second copy "
           "(backup.copy_to_dir or copy_command); all 0 without a target.");
    const struct {
        const char *state;
        uint64_t n;
    } cs[] = {{"pending", c->pending},
              {"copying", c->copying},
              {"sent", c->sent},
              {"safe", c->safe},
              {"failed", c->failed}};
    for (size_t i = 0; i < HY_ARRAY_SIZE(cs); i++)
        textbuf_printf(sb, "halyard_backup_copy_files{state=\"%s\"} %" PRIu64 "\n", cs[i].state,
                       cs[i].n);
    family(sb, "halyard_backup_copy_total", "counter",
           "Second copies made (result ok) and attempts that failed (retried).");
    textbuf_printf(sb, "halyard_backup_copy_total{result=\"ok\"} %" PRIu64 "\n", c->copies_total);
    textbuf_printf(sb, "halyard_backup_copy_total{result=\"failed\"} %" PRIu64 "\n",
                   c->failures_total);
    family(sb, "halyard_backup_full_scheduled_total", "counter",
           "Full backups the schedule (backup.full_every) started.");
    textbuf_printf(sb, "halyard_backup_full_scheduled_total %" PRIu64 "\n", sc->started);
    gauge_u64(sb, "halyard_backup_full_next_timestamp_seconds",
              "Unix time the next scheduled full backup is due (it waits for full_window); 0 = "
              "no schedule.",
              (uint64_t)sc->next);
    gauge_u64(sb, "halyard_backup_full_too_old",
              "1 while the newest complete full backup is older than backup.full_max_age "
              "(backup_full_old), 0 otherwise.",
              sc->too_old);
    gauge_u64(sb, "halyard_backup_window_short",
              "1 while the restorable window is shorter than backup.full_keep and full_every "
              "promise (backup_window_short), 0 otherwise.",
              sc->watch.window_short);
    gauge_u64(sb, "halyard_backup_chains_broken",
              "Incremental and differential backups whose chain lacks a backup "
              "(backup_chain_broken): a restore cannot prepare them.",
              sc->watch.chains_broken);
    family(sb, "halyard_backup_full_total", "counter",
           "Full backups (halyardctl backup full) that completed or failed.");
    textbuf_printf(sb, "halyard_backup_full_total{result=\"ok\"} %" PRIu64 "\n", f->ok);
    textbuf_printf(sb, "halyard_backup_full_total{result=\"failed\"} %" PRIu64 "\n", f->failed);
    gauge_u64(sb, "halyard_backup_full_last_success_timestamp_seconds",
              "Unix time the last complete full backup ended; 0 = none since halyard started.",
              (uint64_t)f->last_ok);
    gauge_u64(sb, "halyard_backup_archive_up",
              "1 while the binlog archive streams from the primary, 0 otherwise.",
              strcmp(b->state, "streaming") == 0);
    family(sb, "halyard_backup_archive_lag_seconds", "gauge",
           "Seconds since the primary first showed a transaction the archive has not synced; 0 "
           "when caught up. Absent while unknown.");
    if (b->lag_seconds >= 0)
        textbuf_printf(sb, "halyard_backup_archive_lag_seconds %.3f\n", b->lag_seconds);
    family(sb, "halyard_backup_archive_lag_transactions", "gauge",
           "Transactions the primary's @@gtid_binlog_pos has that the archive has not synced. "
           "Absent while unknown.");
    if (b->lag_transactions >= 0)
        textbuf_printf(sb, "halyard_backup_archive_lag_transactions %" PRId64 "\n",
                       b->lag_transactions);
    family(sb, "halyard_backup_archive_lag_p99_seconds", "gauge",
           "99th percentile of the archive lag over its last 4096 measurements (an upper bound: "
           "from the position reading before the one that showed the transactions).");
    if (b->lag_p99 >= 0)
        textbuf_printf(sb, "halyard_backup_archive_lag_p99_seconds %.3f\n", b->lag_p99);
    static const struct {
        const char *name, *help;
        size_t off;
    } counters[] = {
        {"halyard_backup_archive_transactions_total", "Transactions written whole to the archive.",
         offsetof(struct binlog_archive_status, transactions)},
        {"halyard_backup_archive_events_total", "Binlog events written to the archive.",
         offsetof(struct binlog_archive_status, events)},
        {"halyard_backup_archive_bytes_total", "Bytes of events written to the archive.",
         offsetof(struct binlog_archive_status, bytes)},
        {"halyard_backup_archive_corrupt_events_total",
         "Events whose CRC32 did not match: not written, the archive reconnected.",
         offsetof(struct binlog_archive_status, corrupt)},
        {"halyard_backup_archive_gaps_total",
         "GTIDs that skipped sequence numbers in their domain (backup_archive_gap).",
         offsetof(struct binlog_archive_status, gaps)},
        {"halyard_backup_archive_lost_transactions_total",
         "Transactions archived from an old primary that the new one never had, moved to .lost.",
         offsetof(struct binlog_archive_status, lost_trx)},
        {"halyard_backup_archive_streams_total", "Binlog streams started (connections).",
         offsetof(struct binlog_archive_status, reconnects)},
    };
    for (size_t i = 0; i < HY_ARRAY_SIZE(counters); i++) {
        family(sb, counters[i].name, "counter", counters[i].help);
        textbuf_printf(sb, "%s %" PRIu64 "\n", counters[i].name,
                       *(const uint64_t *)((const char *)b + counters[i].off));
    }
    gauge_u64(sb, "halyard_backup_archive_last_error_timestamp_seconds",
              "Unix time of the archive's last error; 0 = none.", (uint64_t)b->last_error_time);
}

/* The last `halyardctl backup verify` it reported (backup_verify.h). */
static void render_verify(struct textbuf *sb, const struct backup_verify_status *v)
{
    family(sb, "halyard_backup_verify_total", "counter",
           "Backup verifications reported by halyardctl backup verify: ok (every table "
           "identical), differ (a table differs), failed (no comparison).");
    textbuf_printf(sb, "halyard_backup_verify_total{result=\"ok\"} %" PRIu64 "\n", v->ok_total);
    textbuf_printf(sb, "halyard_backup_verify_total{result=\"differ\"} %" PRIu64 "\n",
                   v->differ_total);
    textbuf_printf(sb, "halyard_backup_verify_total{result=\"failed\"} %" PRIu64 "\n",
                   v->failed_total);
    gauge_u64(sb, "halyard_backup_verify_failed",
              "1 while the last backup verify found a table that differs or failed, 0 otherwise "
              "(none since halyard started: 0).",
              strcmp(v->result, "differ") == 0 || strcmp(v->result, "failed") == 0);
    gauge_u64(sb, "halyard_backup_verify_last_timestamp_seconds",
              "Unix time the last backup verify reported; 0 = none since halyard started.",
              (uint64_t)v->time);
    gauge_u64(sb, "halyard_backup_verify_tables", "Base tables the last backup verify compared.",
              v->tables);
    gauge_u64(sb, "halyard_backup_verify_tables_differ",
              "Tables whose CHECKSUM TABLE differed in the last backup verify.", v->differ);
}

/* Where each backend is: zones, groups, the writers, the failover lock's
 * voters. */
static void render_topology(struct textbuf *sb, const struct config *cfg)
{
    family(sb, "halyard_zone_info", "gauge",
           "This halyard's zone (\"\" = no zones): always 1, the zone as a label.");
    sample_u64(sb, "halyard_zone_info", "zone", cfg->zone != NULL ? cfg->zone : "", 1);
    family(sb, "halyard_backend_info", "gauge",
           "Each backend's zone, address and group: always 1, as labels to join on.");
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct config_backend *b = &cfg->backends[i];
        textbuf_puts(sb, "halyard_backend_info{backend=");
        label_value(sb, b->name);
        textbuf_puts(sb, ",zone=");
        label_value(sb, b->zone != NULL ? b->zone : "");
        textbuf_printf(sb, ",address=");
        char addr[300];
        snprintf(addr, sizeof(addr), "%s:%d", b->address, b->port);
        label_value(sb, addr);
        textbuf_puts(sb, ",group=");
        label_value(sb, b->group < cfg->n_groups ? cfg->groups[b->group].name : "");
        textbuf_puts(sb, "} 1\n");
    }
    family(sb, "halyard_group_info", "gauge",
           "Each group of backends (groups): always 1, its cluster type and failover as labels.");
    for (size_t g = 0; g < cfg->n_groups; g++) {
        const struct config_group *grp = &cfg->groups[g];
        textbuf_puts(sb, "halyard_group_info{group=");
        label_value(sb, grp->name);
        textbuf_puts(sb, ",cluster=");
        label_value(sb, cluster_type_to_str(grp->cluster));
        textbuf_puts(sb, ",failover=");
        label_value(sb, grp->failover_auto ? "auto" : "off");
        textbuf_puts(sb, "} 1\n");
    }
    family(sb, "halyard_group_writer", "gauge",
           "The backends that take a group's writes (its primary, Galera writer or dual-master "
           "active, not DOWN): always 1.");
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct config_backend *b = &cfg->backends[i];
        if (b->rt == NULL || backend_role(b->rt) != ROLE_PRIMARY || atomic_load(&b->rt->fenced) ||
            backend_state(b->rt) == BACKEND_DOWN || b->group >= cfg->n_groups)
            continue;
        textbuf_puts(sb, "halyard_group_writer{group=");
        label_value(sb, cfg->groups[b->group].name);
        textbuf_puts(sb, ",backend=");
        label_value(sb, b->name);
        textbuf_puts(sb, "} 1\n");
    }
    /* Each group's lock has its own voters (group.h), as show status's
     * groups_majority. */
    family(sb, "halyard_failover_voters", "gauge",
           "Servers that vote in the group's failover lock: its backends and the witnesses.");
    for (size_t g = 0; g < cfg->n_groups; g++) {
        const struct config *v = cfg->groups[g].view != NULL ? cfg->groups[g].view : cfg;
        textbuf_puts(sb, "halyard_failover_voters{group=");
        label_value(sb, cfg->groups[g].name);
        textbuf_printf(sb, "} %zu\n", v->n_backends + v->n_witnesses);
    }
    family(sb, "halyard_failover_voters_reachable", "gauge",
           "Of them, the group's backends the monitor does not hold DOWN (witnesses are asked "
           "only at a failover); under a majority, this halyard may be cut off from the group.");
    for (size_t g = 0; g < cfg->n_groups; g++) {
        const struct config *v = cfg->groups[g].view != NULL ? cfg->groups[g].view : cfg;
        textbuf_puts(sb, "halyard_failover_voters_reachable{group=");
        label_value(sb, cfg->groups[g].name);
        textbuf_printf(sb, "} %zu\n", backend_reachable_count(v));
    }
}

/* What the monitor says of each backend: state, role, lag, round trip. */
static void render_backend_health(struct textbuf *sb, const struct config *cfg)
{
    family(sb, "halyard_backend_state", "gauge",
           "1 for the backend's state (ONLINE, DOWN, LAGGING, DRAINING, MAINT), 0 for the others.");
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct backend_rt *rt = cfg->backends[i].rt;
        enum backend_state now = rt != NULL ? backend_state(rt) : BACKEND_ONLINE;
        for (int st = 0; st < BACKEND__STATES; st++)
            sample2(sb, "halyard_backend_state", cfg->backends[i].name, "state",
                    backend_state_to_str((enum backend_state)st), st == (int)now ? "1" : "0");
    }
    family(sb, "halyard_backend_role", "gauge",
           "1 for the backend's role (primary, replica) as the servers report it, 0 for the "
           "other.");
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct backend_rt *rt = cfg->backends[i].rt;
        enum backend_role now = rt != NULL ? backend_role(rt) : cfg->backends[i].role;
        for (int r = ROLE_PRIMARY; r <= ROLE_REPLICA; r++)
            sample2(sb, "halyard_backend_role", cfg->backends[i].name, "role",
                    backend_role_to_str((enum backend_role)r), r == (int)now ? "1" : "0");
    }
    family(sb, "halyard_backend_lag_seconds", "gauge",
           "Replication lag of a replica (Seconds_Behind_Master); absent when unknown.");
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct backend_rt *rt = cfg->backends[i].rt;
        int64_t lag = rt != NULL ? atomic_load(&rt->lag_ms) : -1;
        char v[32];
        if (lag < 0)
            continue;
        snprintf(v, sizeof(v), "%.3f", lag / 1000.0);
        sample2(sb, "halyard_backend_lag_seconds", cfg->backends[i].name, NULL, NULL, v);
    }
    family(sb, "halyard_backend_rtt_seconds", "gauge",
           "Round trip of the monitor's COM_PING to the backend, a moving average; reads "
           "weigh it (docs/zones.md). Absent until measured.");
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct backend_rt *rt = cfg->backends[i].rt;
        uint32_t rtt = rt != NULL ? atomic_load_explicit(&rt->rtt_us, memory_order_relaxed) : 0;
        char v[32];
        if (rtt == 0)
            continue;
        snprintf(v, sizeof(v), "%.6f", rtt / 1e6);
        sample2(sb, "halyard_backend_rtt_seconds", cfg->backends[i].name, NULL, NULL, v);
    }
}

/* The traffic to each backend: connections, statements, errors, latency. */
static void render_backend_traffic(struct textbuf *sb, const struct config *cfg)
{
    struct backend_stats *bs = calloc(cfg->n_backends ? cfg->n_backends : 1, sizeof(*bs));
    if (bs == NULL)
        return;
    for (size_t i = 0; i < cfg->n_backends; i++) {
        if (cfg->backends[i].rt != NULL)
            backend_stats_get(cfg->backends[i].rt, &bs[i]);
    }
    char v[64];
    family(sb, "halyard_backend_connections", "gauge",
           "Connections open to the backend over every worker, in use (a statement in flight) "
           "or idle.");
    for (size_t i = 0; i < cfg->n_backends; i++) {
        uint64_t in_use = HY_MIN(bs[i].outstanding, bs[i].conns);
        snprintf(v, sizeof(v), "%" PRIu64, in_use);
        sample2(sb, "halyard_backend_connections", cfg->backends[i].name, "state", "in_use", v);
        snprintf(v, sizeof(v), "%" PRIu64, bs[i].conns - in_use);
        sample2(sb, "halyard_backend_connections", cfg->backends[i].name, "state", "idle", v);
    }
    static const struct {
        const char *name, *help;
        size_t offset;
    } counters[] = {
        {"halyard_backend_queries_total",
         "Statements the backend ran to the end (answered, "
         "failed or lost).",
         offsetof(struct backend_stats, queries)},
        {"halyard_backend_errors_total",
         "Statements answered with an error, or lost with the "
         "connection.",
         offsetof(struct backend_stats, errors)},
    };
    for (size_t f = 0; f < HY_ARRAY_SIZE(counters); f++) {
        family(sb, counters[f].name, "counter", counters[f].help);
        for (size_t i = 0; i < cfg->n_backends; i++) {
            snprintf(v, sizeof(v), "%" PRIu64,
                     *(const uint64_t *)((const char *)&bs[i] + counters[f].offset));
            sample2(sb, counters[f].name, cfg->backends[i].name, NULL, NULL, v);
        }
    }
    family(sb, "halyard_backend_query_duration_seconds", "histogram",
           "Time from a statement's start to the end of its answer, by backend.");
    for (size_t i = 0; i < cfg->n_backends; i++)
        histogram(sb, "halyard_backend_query_duration_seconds", cfg->backends[i].name, NULL,
                  bs[i].lat, bs[i].lat_sum_us);
    free(bs);
}

static void render_backends(struct textbuf *sb, const struct config *cfg)
{
    render_topology(sb, cfg);
    render_backend_health(sb, cfg);
    render_server_status(sb, cfg);
    render_backend_traffic(sb, cfg);
}

/* What the pools did per backend and user (pool_stats.h). */
static void render_pools(struct textbuf *sb, const struct config *cfg)
{
    static const struct {
        const char *name, *type, *help;
        size_t off;
    } fams[] = {
        {"halyard_pool_waiting", "gauge",
         "Statements waiting now for a connection to the backend at its max_connections.",
         offsetof(struct pool_user_figures, waiting)},
        {"halyard_pool_restores_total", "counter",
         "Pooled connections taken after another session and brought to the taker's state.",
         offsetof(struct pool_user_figures, restores)},
        {"halyard_pool_resets_total", "counter",
         "COM_RESET_CONNECTION and COM_CHANGE_USER of the user's sessions.",
         offsetof(struct pool_user_figures, resets)},
        {"halyard_pool_opened_total", "counter", "Backend connections opened.",
         offsetof(struct pool_user_figures, opened)},
        {"halyard_pool_closed_total", "counter", "Backend connections closed, held or idle.",
         offsetof(struct pool_user_figures, closed)},
    };
    size_t k;
    struct pool_user_figures *f = pool_stats_snapshot(cfg, &k);
    char v[32];
    for (size_t i = 0; i < HY_ARRAY_SIZE(fams); i++) {
        family(sb, fams[i].name, fams[i].type, fams[i].help);
        for (size_t j = 0; j < k; j++) {
            snprintf(v, sizeof(v), "%" PRIu64,
                     *(const uint64_t *)((const char *)&f[j] + fams[i].off));
            sample_bu(sb, fams[i].name, f[j].backend, f[j].user, NULL, v);
        }
    }
    family(sb, "halyard_pool_wait_seconds", "histogram",
           "How long statements waited for a connection to a backend at its max_connections.");
    for (size_t j = 0; j < k; j++)
        histogram(sb, "halyard_pool_wait_seconds", f[j].backend, f[j].user, f[j].wait_lat,
                  f[j].wait_sum_us);
    free(f);
}

/* Family f of render_limits' table for one limit (times in seconds). */
static double limit_value(const struct limit_row *t, size_t f)
{
    switch (f) {
    case 0:
        return t->in_flight;
    case 1:
        return t->queued;
    case 2:
        return (double)t->passed;
    case 3:
        return (double)t->waited;
    case 4:
        return (double)t->refused;
    case 5:
        return t->wait_ms / 1e3;
    default:
        return t->server_ms / 1e3;
    }
}

/* The fair-share limits (limits.h), their tenants' rows summed per limit. */
static void render_limits(struct textbuf *sb, const struct config *cfg)
{
    if (cfg->n_limits == 0)
        return;
    size_t n;
    struct limit_row *rows = limits_rows_alloc(cfg, &n);
    struct limit_row *sum = calloc(cfg->n_limits, sizeof(*sum));
    if (rows == NULL || sum == NULL) {
        free(rows);
        free(sum);
        return;
    }
    size_t k = cfg->n_limits;
    for (size_t j = 0; j < k; j++) /* every limit, those no statement came to yet too */
        snprintf(sum[j].limit, sizeof(sum[j].limit), "%s", cfg->limits[j].name);
    for (size_t i = 0, j = 0; i < n; i++) { /* a limit's rows come together, in order */
        while (j < k && strcmp(sum[j].limit, rows[i].limit) != 0)
            j++;
        if (j == k)
            break;
        struct limit_row *t = &sum[j];
        t->in_flight += rows[i].in_flight;
        t->queued += rows[i].queued;
        t->passed += rows[i].passed;
        t->waited += rows[i].waited;
        t->refused += rows[i].refused;
        t->wait_ms += rows[i].wait_ms;
        t->server_ms += rows[i].server_ms;
    }
    static const struct {
        const char *name, *type, *help;
    } fams[] = {
        {"halyard_limit_in_flight", "gauge",
         "Statements a fair-share limit governs in flight now."},
        {"halyard_limit_queued", "gauge", "Statements waiting now in a fair-share limit's queue."},
        {"halyard_limit_passed_total", "counter",
         "Statements a fair-share limit let run, at once or after a wait."},
        {"halyard_limit_waited_total", "counter",
         "Statements that waited in a fair-share limit's queue, then ran."},
        {"halyard_limit_refused_total", "counter",
         "Statements a fair-share limit refused with error 1226 (queue full, or waited "
         "queue_timeout_ms)."},
        {"halyard_limit_wait_seconds_total", "counter",
         "Time statements waited in a fair-share limit's queue, those refused after a wait too."},
        {"halyard_limit_server_seconds_total", "counter",
         "Server time the statements a fair-share limit governs used, as charged to it."},
    };
    char v[40];
    for (size_t f = 0; f < HY_ARRAY_SIZE(fams); f++) {
        family(sb, fams[f].name, fams[f].type, fams[f].help);
        for (size_t j = 0; j < k; j++) {
            snprintf(v, sizeof(v), "%.*f", f < 5 ? 0 : 3, limit_value(&sum[j], f));
            textbuf_puts(sb, fams[f].name);
            textbuf_puts(sb, "{limit=");
            label_value(sb, sum[j].limit);
            textbuf_printf(sb, "} %s\n", v);
        }
    }
    free(sum);
    free(rows);
}

/* The process: up, build, uptime, sessions and the workers' counters. */
static void render_process(struct textbuf *sb, const struct metrics_snapshot *m)
{
    gauge_u64(sb, "halyard_up", "1 while halyard is running.", 1);
    family(sb, "halyard_build_info", "gauge",
           "Build of halyard: always 1, the version as a label.");
    sample_u64(sb, "halyard_build_info", "version", HALYARD_VERSION, 1);
    family(sb, "halyard_uptime_seconds", "gauge", "Seconds since halyard started.");
    textbuf_printf(sb, "halyard_uptime_seconds %.3f\n", m->uptime);

    /* sessions and worker counters */
    gauge_u64(sb, "halyard_client_sessions", "Client sessions open now.", m->client_sessions);
    for (size_t i = 0; i < STAT_FIELDS; i++) {
        family(sb, stat_fields[i].metric, stat_fields[i].gauge ? "gauge" : "counter",
               stat_fields[i].help);
        sample_u64(sb, stat_fields[i].metric, NULL, NULL, m->stats.v[i]);
    }
}

/* Transactions across groups (session_xa.c) and their log (xa_log_writer.h). */
static void render_xa(struct textbuf *sb)
{
    family(sb, "halyard_xa_commits_total", "counter",
           "Transactions across groups (shards.cross_group_transactions = xa) committed.");
    sample_u64(sb, "halyard_xa_commits_total", NULL, NULL,
               atomic_load_explicit(&stats_xa_commits, memory_order_relaxed));
    family(sb, "halyard_xa_rollbacks_total", "counter",
           "Transactions across groups rolled back (ROLLBACK, a failed PREPARE, a lost branch).");
    sample_u64(sb, "halyard_xa_rollbacks_total", NULL, NULL,
               atomic_load_explicit(&stats_xa_rollbacks, memory_order_relaxed));

    unsigned long xa_recs, xa_syncs, xa_compactions;
    xa_log_writer_counts(&xa_recs, &xa_syncs, &xa_compactions);
    family(sb, "halyard_xa_log_decisions_total", "counter",
           "Commit decisions of transactions across groups made durable in shards.xa_log.");
    sample_u64(sb, "halyard_xa_log_decisions_total", NULL, NULL, xa_recs);
    family(sb, "halyard_xa_log_fsyncs_total", "counter",
           "fdatasyncs of shards.xa_log that made them durable (group commit: one for all the "
           "decisions handed to the log's writer meanwhile).");
    sample_u64(sb, "halyard_xa_log_fsyncs_total", NULL, NULL, xa_syncs);
    family(sb, "halyard_xa_log_compactions_total", "counter",
           "Rewrites of shards.xa_log with only its decisions in doubt (past 1 MiB).");
    sample_u64(sb, "halyard_xa_log_compactions_total", NULL, NULL, xa_compactions);

    gauge_u64(sb, "halyard_xa_in_doubt",
              "Transactions across groups in doubt: prepared by an earlier halyard process and "
              "not yet resolved (halyardctl show xa).",
              xa_recover_count());
}

/* Configuration reloads. */
static void render_reloads(struct textbuf *sb, const struct metrics_snapshot *m)
{
    family(sb, "halyard_reloads_total", "counter",
           "Configuration reloads (SIGHUP or admin socket), by result.");
    sample_u64(sb, "halyard_reloads_total", "result", "ok", m->reloads_ok);
    sample_u64(sb, "halyard_reloads_total", "result", "error", m->reloads_failed);
    gauge_u64(sb, "halyard_config_last_reload_success",
              "1 if the last reload succeeded or none was tried, 0 if it failed.",
              m->last_reload_ok ? 1 : 0);

    if (m->last_reload != 0) {
        family(sb, "halyard_config_last_reload_timestamp_seconds", "gauge",
               "Unix time of the last reload, good or not.");
        textbuf_printf(sb, "halyard_config_last_reload_timestamp_seconds %lld\n",
                       (long long)m->last_reload);
    }
}

/* Per listener. */
static void render_listeners(struct textbuf *sb, const struct metrics_snapshot *m)
{
    static const struct {
        const char *name, *type, *help;
        size_t offset;
    } lfam[] = {
        {"halyard_listener_connections_total", "counter",
         "Client connections accepted, by listener.", offsetof(struct listener_stats, accepted)},
        {"halyard_listener_client_sessions", "gauge", "Client sessions open now, by listener.",
         offsetof(struct listener_stats, open)},
        {"halyard_listener_auth_failures_total", "counter",
         "Client logins refused (wrong user or password), by listener.",
         offsetof(struct listener_stats, auth_failures)},
    };
    for (size_t f = 0; f < HY_ARRAY_SIZE(lfam); f++) {
        family(sb, lfam[f].name, lfam[f].type, lfam[f].help);
        for (const struct listener_stats *l = m->listeners; l != NULL; l = l->next)
            sample_u64(sb, lfam[f].name, "listener", l->name,
                       atomic_load_explicit((_Atomic uint64_t *)((char *)l + lfam[f].offset),
                                            memory_order_relaxed));
    }
}

/* Schema and key shards, per group name (shard.h). */
static void render_shard_groups(struct textbuf *sb, const struct metrics_snapshot *m)
{
    static const struct {
        const char *name, *help;
        size_t offset;
    } gfam[] = {
        {"halyard_shard_moves_total",
         "Sessions of shards listeners that moved to the group for a statement, by group.",
         offsetof(struct group_stats, moves_in)},
        {"halyard_shard_refused_total",
         "Statements for the group refused (a schema on two groups, two groups in one "
         "statement, a transaction or state on another group), by group.",
         offsetof(struct group_stats, refused)},
        {"halyard_shard_key_routed_total",
         "Statements on a key-sharded table routed to the group by their key, by group.",
         offsetof(struct group_stats, key_routed)},
        {"halyard_shard_scatter_total",
         "Statements the group ran as its part of a statement on every group (SHOW DATABASES, "
         "scatter reads), by group.",
         offsetof(struct group_stats, scatters)},
    };
    for (size_t f = 0; f < HY_ARRAY_SIZE(gfam); f++) {
        family(sb, gfam[f].name, "counter", gfam[f].help);
        for (const struct group_stats *g = m->groups; g != NULL; g = g->next)
            sample_u64(sb, gfam[f].name, "group", g->name,
                       atomic_load_explicit((_Atomic uint64_t *)((char *)g + gfam[f].offset),
                                            memory_order_relaxed));
    }
}

/* Failovers and switchovers. */
static void render_failovers(struct textbuf *sb, const struct metrics_snapshot *m)
{
    family(sb, "halyard_failovers_total", "counter",
           "Primary changes halyard ran, by kind (failover: automatic; switchover: asked for) "
           "and result.");
    for (int sw = 0; sw < 2; sw++) {
        for (int ok = 1; ok >= 0; ok--)
            textbuf_printf(sb, "halyard_failovers_total{kind=\"%s\",result=\"%s\"} %" PRIu64 "\n",
                           sw ? "switchover" : "failover", ok ? "ok" : "error",
                           m->failovers[sw][ok]);
    }
}

/* The audit and query logs. */
static void render_logs(struct textbuf *sb, const struct metrics_snapshot *m)
{
    family(sb, "halyard_log_lines_total", "counter",
           "Lines written to the audit log and the query log.");
    sample_u64(sb, "halyard_log_lines_total", "log", "audit", m->logs.audit_lines);
    sample_u64(sb, "halyard_log_lines_total", "log", "query", m->logs.query_lines);
    family(sb, "halyard_log_lines_dropped_total", "counter",
           "Lines of the audit log and the query log dropped: the writer did not keep up (more "
           "than 8 MiB waiting) or the file could not be written.");
    sample_u64(sb, "halyard_log_lines_dropped_total", "log", "audit", m->logs.audit_dropped);
    sample_u64(sb, "halyard_log_lines_dropped_total", "log", "query", m->logs.query_dropped);
}

/* Backend host names (resolve.h); numeric addresses have none. */
static void render_dns(struct textbuf *sb, const struct metrics_snapshot *m)
{
    family(sb, "halyard_dns_failures_total", "counter",
           "Failed resolutions of a backend host name by the resolver thread (its last good "
           "addresses stay in use meanwhile).");
    for (size_t i = 0; i < m->n_dns; i++)
        sample_u64(sb, "halyard_dns_failures_total", "host", m->dns[i].host, m->dns[i].failures);
    family(sb, "halyard_dns_addresses", "gauge",
           "Addresses a backend host name has in the resolver's cache (the last good ones while "
           "it fails to resolve); 0: never resolved, connects to it fail.");
    for (size_t i = 0; i < m->n_dns; i++)
        sample_u64(sb, "halyard_dns_addresses", "host", m->dns[i].host, m->dns[i].n_addrs);
}

/* The query cache (cache.h), when a rule turns it on. */
static void render_cache(struct textbuf *sb, const struct cache_status *c)
{
    family(sb, "halyard_cache_streaming", "gauge",
           "1 while the query cache's reader follows the primary's binary log (hits are served "
           "only then).");
    textbuf_printf(sb, "halyard_cache_streaming %d\n", c->streaming ? 1 : 0);
    if (c->lag_s >= 0) {
        family(sb, "halyard_cache_lag_seconds", "gauge",
               "Age of the newest position of the primary the cache's reader has applied.");
        textbuf_printf(sb, "halyard_cache_lag_seconds %.3f\n", c->lag_s);
    }
    family(sb, "halyard_cache_entries", "gauge", "Answers the query cache holds.");
    textbuf_printf(sb, "halyard_cache_entries %" PRIu64 "\n", c->store.entries);
    family(sb, "halyard_cache_bytes", "gauge",
           "Memory the query cache's answers take (keys and bookkeeping included).");
    textbuf_printf(sb, "halyard_cache_bytes %" PRIu64 "\n", c->store.bytes);
    family(sb, "halyard_cache_hits_total", "counter", "Statements answered from the query cache.");
    textbuf_printf(sb, "halyard_cache_hits_total %" PRIu64 "\n", c->hits);
    family(sb, "halyard_cache_misses_total", "counter",
           "Statements a cache rule matched that the query cache did not answer.");
    textbuf_printf(sb, "halyard_cache_misses_total %" PRIu64 "\n", c->misses);
    family(sb, "halyard_cache_fills_total", "counter", "Answers kept by the query cache.");
    textbuf_printf(sb, "halyard_cache_fills_total %" PRIu64 "\n", c->store.fills);
    family(sb, "halyard_cache_fills_refused_total", "counter",
           "Answers the query cache did not keep, by reason: race (a table changed after the "
           "fill was stamped), size (larger than the cache), not_base (a table not known to be "
           "a base table of the primary: a view, a temporary or system table), write (sent "
           "while a write through halyard was in flight), abandoned (an "
           "error, warnings, several results, a transaction, too large for its rule, the "
           "reader not streaming).");
    sample_u64(sb, "halyard_cache_fills_refused_total", "reason", "race", c->store.refused_race);
    sample_u64(sb, "halyard_cache_fills_refused_total", "reason", "size", c->store.refused_big);
    sample_u64(sb, "halyard_cache_fills_refused_total", "reason", "not_base", c->refused_not_base);
    sample_u64(sb, "halyard_cache_fills_refused_total", "reason", "write", c->refused_write);
    sample_u64(sb, "halyard_cache_fills_refused_total", "reason", "abandoned", c->abandoned);
    family(sb, "halyard_cache_why_no_fills_repeats_total", "counter",
           "Reads of the primary's base tables that found again why no answer can be kept "
           "(cache.user sees none, or none of an engine the cache keeps): logged once per "
           "cause, then counted here.");
    textbuf_printf(sb, "halyard_cache_why_no_fills_repeats_total %" PRIu64 "\n", c->no_fills_again);
    family(sb, "halyard_cache_invalidations_total", "counter",
           "Answers dropped from the query cache, by reason: row (a point lookup whose key a "
           "row event's image carried), table (a row event of its table), fk (a row event of "
           "a parent whose foreign key cascades to its table), flush (flush cache), ddl (a "
           "statement in the binary log), all (a gap, an event not understood, the reader "
           "reconnecting), failover (the reader following a new primary), ttl, lru, write (its "
           "fill was sent while a write through halyard was in flight), reload (its rule gone or "
           "changed at a reload).");
    for (int why = 0; why < CACHE_DROP_N; why++)
        sample_u64(sb, "halyard_cache_invalidations_total", "reason",
                   cache_drop_name((enum cache_drop)why), c->store.dropped[why]);
}

/* The exporter of spans (trace_export.h): read when scraped. */
static void render_trace(struct textbuf *sb)
{
    struct trace_export_stats ts = {0};
    const struct trace_exporter *ex = trace_export_global();
    if (ex != NULL)
        trace_export_stats(ex, &ts);
    family(sb, "halyard_trace_spans_exported_total", "counter",
           "Spans a trace receiver accepted (tracing.endpoint answered 2xx).");
    textbuf_printf(sb, "halyard_trace_spans_exported_total %" PRIu64 "\n", ts.exported);
    family(sb, "halyard_trace_spans_dropped_total", "counter",
           "Spans dropped, by reason: queue_full (tracing.queue_size reached), export_failed "
           "(their batch failed after its retries).");
    sample_u64(sb, "halyard_trace_spans_dropped_total", "reason", "queue_full", ts.dropped_full);
    sample_u64(sb, "halyard_trace_spans_dropped_total", "reason", "export_failed",
               ts.dropped_failed);
    family(sb, "halyard_trace_bad_traceparent_total", "counter",
           "traceparent values that were not valid W3C ones, ignored.");
    textbuf_printf(sb, "halyard_trace_bad_traceparent_total %" PRIu64 "\n",
                   trace_bad_count(TRACE_BAD_PARENT));
    family(sb, "halyard_trace_bad_tracestate_total", "counter",
           "tracestate values that were not valid W3C ones, dropped.");
    textbuf_printf(sb, "halyard_trace_bad_tracestate_total %" PRIu64 "\n",
                   trace_bad_count(TRACE_BAD_STATE));
}

/* The captures' records not written (capture.h): read when scraped. */
static void render_capture(struct textbuf *sb)
{
    uint64_t d[CAPTURE_DROP_N];
    capture_drops_total(d);
    family(sb, "halyard_capture_records_dropped_total", "counter",
           "Capture records not written, by reason: queue_full (capture_queue reached: the "
           "writer fell behind), limit (capture_max_mb or capture_max_seconds ended the capture "
           "with them queued), write_failed (a write of the file failed).");
    for (int i = 0; i < CAPTURE_DROP_N; i++)
        sample_u64(sb, "halyard_capture_records_dropped_total", "reason",
                   capture_drop_name((enum capture_drop)i), d[i]);
}

/* Events and their notifiers (alerts.h). */
static void render_alerts(struct textbuf *sb, const struct metrics_snapshot *m)
{
    family(sb, "halyard_events_total", "counter",
           "Events (backend_down, failover_done, ...) the notifier thread took.");
    textbuf_printf(sb, "halyard_events_total %" PRIu64 "\n", m->alerts.events);
    family(sb, "halyard_events_dropped_total", "counter",
           "Events dropped: the event ring or a notifier's queue was full (alerts.queue_size).");
    textbuf_printf(sb, "halyard_events_dropped_total %" PRIu64 "\n", m->alerts.dropped);
    family(sb, "halyard_events_coalesced_total", "counter",
           "Events held by alerts.repeat_ms instead of being delivered on their own.");
    textbuf_printf(sb, "halyard_events_coalesced_total %" PRIu64 "\n", m->alerts.coalesced);
    family(sb, "halyard_alerts_delivered_total", "counter",
           "Events delivered, by notifier (exec: exit 0; webhook: a 2xx answer).");
    for (int n = 0; n < ALERTS__N; n++)
        sample_u64(sb, "halyard_alerts_delivered_total", "notifier",
                   alerts_notifier_name((enum alerts_notifier)n), m->alerts.delivered[n]);
    family(sb, "halyard_alerts_failed_total", "counter",
           "Events a notifier failed to deliver (after the webhook's retries; a command that did "
           "not exit 0 or was killed).");
    for (int n = 0; n < ALERTS__N; n++)
        sample_u64(sb, "halyard_alerts_failed_total", "notifier",
                   alerts_notifier_name((enum alerts_notifier)n), m->alerts.failed[n]);
}

void metrics_render(struct textbuf *sb, const struct metrics_snapshot *m)
{
    render_process(sb, m);
    render_xa(sb);
    render_reloads(sb, m);
    render_listeners(sb, m);
    render_shard_groups(sb, m);
    render_failovers(sb, m);
    render_logs(sb, m);
    render_dns(sb, m);
    render_alerts(sb, m);
    render_trace(sb);
    render_capture(sb);
    if (m->cache.on)
        render_cache(sb, &m->cache);
    if (m->backup.enabled)
        render_backup(sb, &m->backup, &m->full, &m->copy, &m->sched);
    if (m->backup.enabled)
        render_verify(sb, &m->verify);
    if (m->cfg != NULL) {
        render_backends(sb, m->cfg);
        render_pools(sb, m->cfg);
        render_limits(sb, m->cfg);
    }
}

/* Each header line from p to the empty line is "Name: value": a name of
 * token characters, no folded (blank-led) line. */
static bool headers_well_formed(const char *p, const char *end)
{
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((eol != NULL ? eol : end) - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n == 0)
            return true;
        size_t i = 0;
        while (i < n && p[i] > ' ' && p[i] < 0x7f && p[i] != ':')
            i++;
        if (i == 0 || i == n || p[i] != ':')
            return false;
        p = eol != NULL ? eol + 1 : end;
    }
    return true;
}

hy_status_t metrics_parse_request(const char *buf, size_t len, char *method, size_t method_len,
                                  char *path, size_t path_len)
{
    /* The headers end with an empty line; "\n\n" is tolerated. */
    bool complete = false;
    for (size_t i = 0; i + 1 < len && !complete; i++)
        complete = (buf[i] == '\n' && buf[i + 1] == '\n') ||
                   (i + 3 < len && memcmp(buf + i, "\r\n\r\n", 4) == 0);
    if (!complete)
        return HY_AGAIN;
    const char *eol = memchr(buf, '\n', len);
    size_t line_len = (size_t)(eol - buf);
    if (line_len > 0 && buf[line_len - 1] == '\r')
        line_len--;
    /* METHOD SP TARGET SP HTTP/1.x */
    const char *sp1 = memchr(buf, ' ', line_len);
    if (sp1 == NULL || sp1 == buf)
        return HY_ERROR;
    const char *target = sp1 + 1;
    const char *sp2 = memchr(target, ' ', line_len - (size_t)(target - buf));
    if (sp2 == NULL || sp2 == target || *target != '/')
        return HY_ERROR;
    const char *version = sp2 + 1;
    size_t vlen = line_len - (size_t)(version - buf);
    if (vlen != 8 || memcmp(version, "HTTP/1.", 7) != 0 || (version[7] != '0' && version[7] != '1'))
        return HY_ERROR;
    for (const char *p = buf; p < sp1; p++) {
        if (*p < 'A' || *p > 'Z')
            return HY_ERROR;
    }
    if (!headers_well_formed(eol + 1, buf + len))
        return HY_ERROR;
    const char *q = memchr(target, '?', (size_t)(sp2 - target));
    size_t tlen = (size_t)((q != NULL ? q : sp2) - target);
    snprintf(method, method_len, "%.*s", (int)(sp1 - buf), buf);
    snprintf(path, path_len, "%.*s", (int)tlen, target);
    return HY_OK;
}

/* The header line at p (up to end): its length without the line end in
 * *line_len; the start of the next line returned (end when none). */
static const char *header_line(const char *p, const char *end, size_t *line_len)
{
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (eol == NULL)
        eol = end;
    size_t n = (size_t)(eol - p);
    if (n > 0 && p[n - 1] == '\r')
        n--;
    *line_len = n;
    return eol < end ? eol + 1 : end;
}

bool metrics_header(const char *buf, size_t len, const char *name, char *out, size_t out_len)
{
    const char *end = buf + len, *p = memchr(buf, '\n', len);
    size_t nlen = strlen(name), n;
    for (p = p != NULL ? p + 1 : end; p < end;) {
        const char *line = p;
        p = header_line(p, end, &n);
        if (n == 0)
            break;
        if (n <= nlen || line[nlen] != ':' || strncasecmp(line, name, nlen) != 0)
            continue;
        const char *v = line + nlen + 1, *ve = line + n;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        snprintf(out, out_len, "%.*s", (int)(ve - v), v);
        return true;
    }
    return false;
}

bool metrics_auth_ok(const struct config *cfg, const char *authorization)
{
    if (cfg == NULL || strncasecmp(authorization, "Basic ", 6) != 0)
        return false;
    const char *b64 = authorization + 6;
    while (*b64 == ' ')
        b64++;
    size_t n = strlen(b64);
    unsigned char plain[METRICS_REQUEST_MAX];
    if (n == 0 || n % 4 != 0 || n / 4 * 3 >= sizeof(plain))
        return false;
    int got = EVP_DecodeBlock(plain, (const unsigned char *)b64, (int)n);
    if (got < 0)
        return false;
    /* EVP_DecodeBlock counts the padding's zero bytes. */
    for (const char *e = b64 + n - 1; e >= b64 && *e == '=' && got > 0; e--)
        got--;
    plain[got] = '\0';
    char *colon = memchr(plain, ':', (size_t)got);
    if (colon == NULL || memchr(plain, '\0', (size_t)got) != NULL)
        return false;
    *colon = '\0';
    const char *pass = colon + 1;
    bool ok = false;
    uint8_t h1[MYSQL_SHA1_LEN], s2[MYSQL_SHA256_LEN];
    for (size_t i = 0; i < cfg->n_admin_accounts && !ok; i++)
        ok = strcmp(cfg->admin_accounts[i].name, (const char *)plain) == 0 &&
             auth_plain_verify(pass, strlen(pass), cfg->admin_accounts[i].h2, false, NULL, h1, s2);
    OPENSSL_cleanse(plain, sizeof(plain));
    OPENSSL_cleanse(h1, sizeof(h1));
    return ok;
}

/* ---- the listener ------------------------------------------------------ */

struct metrics_conn {
    struct metrics_conn *next, *prev;
    struct metrics *m;
    int fd;
    SSL *ssl;               /* metrics_tls; NULL: plain HTTP */
    bool read_wants_write;  /* SSL_read waits for the socket to be writable */
    struct rules_addr peer; /* for the brute-force guard */
    ev_io rio, wio;
    ev_timer timer;
    ev_timer delay; /* holds a slowed address's answer back (guard.h) */
    char in[METRICS_REQUEST_MAX];
    size_t in_len;
    struct textbuf out;
    size_t out_off;
};

struct metrics {
    struct status *st;
    struct ev_loop *loop;
    bool auth;            /* metrics_auth: basic auth as an admin account */
    bool tls;             /* metrics_tls: HTTPS with the config's tls_server */
    metrics_page_fn page; /* the paths besides /metrics; NULL = none */
    void *page_ctx;
    int fd;
    ev_io accept_io;
    struct metrics_conn *conns;
    int n_conns;
};

static void mconn_close(struct metrics_conn *c)
{
    struct metrics *m = c->m;
    ev_io_stop(m->loop, &c->rio);
    ev_io_stop(m->loop, &c->wio);
    ev_timer_stop(m->loop, &c->timer);
    ev_timer_stop(m->loop, &c->delay);
    if (c->ssl != NULL) {
        if (SSL_is_init_finished(c->ssl))
            SSL_shutdown(c->ssl); /* close_notify, without waiting for the peer's */
        SSL_free(c->ssl);
    }
    close(c->fd);
    textbuf_free(&c->out);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        m->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    m->n_conns--;
    free(c);
}

static void mconn_flush(struct metrics_conn *c)
{
    hy_status_t rc = c->ssl != NULL ? tls_ssl_send(c->ssl, c->out.data, c->out.len, &c->out_off)
                                    : textbuf_send(&c->out, &c->out_off, c->fd);
    if (rc == HY_AGAIN) {
        ev_io_start(c->m->loop, &c->wio);
        return;
    }
    mconn_close(c); /* all sent, or the client is gone */
}

static void snapshot(const struct status *st, struct metrics_snapshot *s)
{
    s->uptime = status_uptime(st);
    s->client_sessions = status_client_sessions();
    status_sum_stats(st, &s->stats);
    s->reloads_ok = st->reloads_ok;
    s->reloads_failed = st->reloads_failed;
    s->last_reload_ok = st->last_reload == 0 || st->last_reload_ok;
    s->last_reload = st->last_reload;
    s->listeners = stats_listeners();
    s->groups = stats_groups();
    for (int sw = 0; sw < 2; sw++)
        for (int ok = 0; ok < 2; ok++)
            s->failovers[sw][ok] = failover_exec_count(sw, ok);
    audit_get_stats(&s->logs);
    alerts_get_stats(&s->alerts);
    s->cfg = st->cfg;
    binlog_archive_status(&s->backup);
    /* The families are there from the start when the running config has a
     * backup section: the archive's thread takes the config (and sets its
     * own enabled) a moment after halyard listens, and a scrape in between
     * would miss them (test_backup saw no
     * halyard_backup_full_last_success_timestamp_seconds after a restart). */
    s->backup.enabled = st->cfg != NULL && st->cfg->backup.enabled;
    backup_full_status(&s->full);
    backup_copy_status(&s->copy, false);
    backup_sched_status(&s->sched);
    backup_verify_status(&s->verify);
    cache_status_get(&s->cache);
}

/* What a page served here may load: its own files from this listener,
 * nothing from anywhere else (the status page, web.h, is made for it). */
#define METRICS_CSP                                                                                \
    "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "              \
    "frame-ancestors 'none'"

/* The answer: status line, headers (`extra`: more of them, each ending in
 * CRLF), and the body unless `head`. */
static void respond(struct metrics_conn *c, int code, const char *reason, const char *type,
                    const char *extra, const struct textbuf *body, bool head)
{
    textbuf_printf(&c->out,
                   "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n"
                   "Content-Security-Policy: %s\r\n%s"
                   "Connection: close\r\n\r\n",
                   code, reason, type != NULL ? type : "text/plain; charset=utf-8", body->len,
                   METRICS_CSP, extra != NULL ? extra : "");
    if (!head && body->len > 0)
        textbuf_append(&c->out, body->data, body->len);
}

/* A short error answer with a one-line text body. */
static void respond_error(struct metrics_conn *c, int code, const char *reason, const char *extra,
                          const char *text, bool head)
{
    struct textbuf body;
    textbuf_init(&body, 4096);
    textbuf_puts(&body, text);
    respond(c, code, reason, NULL, extra, &body, head);
    textbuf_free(&body);
}

/* GET /metrics: the exposition format. */
static void answer_metrics(struct metrics_conn *c, struct textbuf *body, bool head)
{
    struct metrics_snapshot s;
    snapshot(c->m->st, &s);
    struct resolve_stat *dns = resolve_stats(&s.n_dns);
    s.dns = dns;
    metrics_render(body, &s);
    free(dns);
    if (body->overflow)
        respond_error(c, 500, "Internal Server Error", NULL, "out of memory\n", head);
    else
        respond(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", NULL, body, head);
}

/* Whether the request may be served: always without metrics_auth, else
 * with the credentials of an admin account. */
/* Whether the request may be served: always without metrics_auth, else
 * with the credentials of an admin account. Credentials given count as a
 * login of the client's address for the brute-force guard (guard.h), as
 * on the MySQL port; *delay_ms is how long the answer is then held back.
 * No credentials (a browser's first request) count for nothing. */
static bool authorized(const struct metrics_conn *c, int *delay_ms)
{
    char value[METRICS_REQUEST_MAX];
    *delay_ms = 0;
    if (!c->m->auth)
        return true;
    if (!metrics_header(c->in, c->in_len, "Authorization", value, sizeof(value)))
        return false;
    bool ok = metrics_auth_ok(c->m->st->cfg, value);
    *delay_ms = guard_login_result(c->m->st->cfg, &c->peer, ok);
    return ok;
}

/* An address the guard blocks (too many failed logins) gets 429 with
 * Retry-After, whatever it sends. */
static bool blocked(struct metrics_conn *c)
{
    int64_t left_ms = 0;
    if (!c->m->auth || !guard_blocked(c->m->st->cfg, &c->peer, &left_ms))
        return false;
    char extra[64], text[200], addr[64];
    snprintf(extra, sizeof(extra), "Retry-After: %lld\r\n", (long long)(left_ms + 999) / 1000);
    guard_addr_format(&c->peer, addr, sizeof(addr));
    snprintf(text, sizeof(text),
             "too many failed logins from %s; unblock with 'halyardctl unblock %s'\n", addr, addr);
    respond_error(c, 429, "Too Many Requests", extra, text, false);
    return true;
}

static void mconn_delay_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    mconn_flush(container_of(w, struct metrics_conn, delay));
}

static void answer(struct metrics_conn *c)
{
    char method[16], path[256];
    struct textbuf body;
    textbuf_init(&body, 16u << 20);
    ev_io_stop(c->m->loop, &c->rio);
    hy_status_t rc =
        metrics_parse_request(c->in, c->in_len, method, sizeof(method), path, sizeof(path));
    bool head = rc == HY_OK && strcmp(method, "HEAD") == 0;
    const char *type = NULL;
    int delay_ms = 0;
    if (rc == HY_OK && blocked(c)) {
        /* answered */
    } else if (rc == HY_AGAIN) {
        respond_error(c, 431, "Request Header Fields Too Large", NULL,
                      "request headers too large\n", false);
    } else if (rc != HY_OK) {
        respond_error(c, 400, "Bad Request", NULL, "bad request\n", false);
    } else if (!authorized(c, &delay_ms)) {
        respond_error(c, 401, "Unauthorized",
                      "WWW-Authenticate: Basic realm=\"halyard\", charset=\"UTF-8\"\r\n",
                      "an admin_accounts account is needed\n", head);
    } else if (strcmp(method, "GET") != 0 && !head) {
        respond_error(c, 405, "Method Not Allowed", "Allow: GET, HEAD\r\n", "method not allowed\n",
                      false);
    } else if (strcmp(path, "/metrics") == 0) {
        answer_metrics(c, &body, head);
    } else if (c->m->page != NULL && c->m->page(c->m->page_ctx, path, &body, &type)) {
        if (body.overflow)
            respond_error(c, 500, "Internal Server Error", NULL, "out of memory\n", head);
        else
            respond(c, 200, "OK", type, NULL, &body, head);
    } else {
        respond_error(c, 404, "Not Found", NULL,
                      c->m->page != NULL ? "not found; try / or /metrics\n"
                                         : "not found; try /metrics\n",
                      head);
    }
    textbuf_free(&body);
    if (delay_ms > 0) { /* a slowed address: the answer leaves later, in one piece */
        ev_timer_stop(c->m->loop, &c->timer);
        ev_timer_set(&c->timer, delay_ms / 1000.0 + METRICS_TIMEOUT, 0.);
        ev_timer_start(c->m->loop, &c->timer);
        ev_timer_set(&c->delay, delay_ms / 1000.0, 0.);
        ev_timer_start(c->m->loop, &c->delay);
        return;
    }
    mconn_flush(c);
}

static void mconn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct metrics_conn *c = container_of(w, struct metrics_conn, rio);
    size_t room = sizeof(c->in) - c->in_len;
    ssize_t n = c->ssl != NULL ? tls_ssl_recv(c->ssl, c->in + c->in_len, room, &c->read_wants_write)
                               : recv(c->fd, c->in + c->in_len, room, MSG_DONTWAIT);
    if (c->read_wants_write)
        ev_io_start(c->m->loop, &c->wio);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        mconn_close(c);
        return;
    }
    c->in_len += (size_t)n;
    char method[16], path[256];
    hy_status_t rc =
        metrics_parse_request(c->in, c->in_len, method, sizeof(method), path, sizeof(path));
    /* A full buffer without the end of the headers is answered 431. */
    if (rc != HY_AGAIN || c->in_len == sizeof(c->in))
        answer(c);
    else if (c->ssl != NULL && SSL_has_pending(c->ssl)) /* OpenSSL holds more of it */
        ev_feed_event(c->m->loop, &c->rio, EV_READ);
}

static void mconn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct metrics_conn *c = container_of(w, struct metrics_conn, wio);
    if (c->read_wants_write) { /* SSL_read could not go on: now it can */
        c->read_wants_write = false;
        ev_io_stop(loop, &c->wio);
        mconn_read_cb(loop, &c->rio, EV_READ);
        return;
    }
    mconn_flush(c);
}

static void mconn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    mconn_close(container_of(w, struct metrics_conn, timer));
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct metrics *m = container_of(w, struct metrics, accept_io);
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sslen = sizeof(ss);
        int fd = accept4(m->fd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                hy_log_warn("metrics: accept: %s", strerror(errno));
            return;
        }
        struct metrics_conn *c = m->n_conns < METRICS_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
        if (c == NULL) {
            close(fd);
            continue;
        }
        c->m = m;
        c->fd = fd;
        rules_addr_from_sockaddr((const struct sockaddr *)&ss, &c->peer);
        /* TLS with the running config's certificate: a reload that changes
         * it applies to the next connection. */
        SSL_CTX *ctx = m->tls && m->st->cfg != NULL ? m->st->cfg->tls_server : NULL;
        if (m->tls &&
            (ctx == NULL || (c->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c->ssl, fd) != 1)) {
            SSL_free(c->ssl);
            free(c);
            close(fd);
            continue;
        }
        if (c->ssl != NULL)
            SSL_set_accept_state(c->ssl); /* the first reads run the handshake */
        textbuf_init(&c->out, 17u << 20);
        ev_io_init(&c->rio, mconn_read_cb, fd, EV_READ);
        ev_io_init(&c->wio, mconn_write_cb, fd, EV_WRITE);
        ev_timer_init(&c->timer, mconn_timer_cb, METRICS_TIMEOUT, 0.);
        ev_timer_init(&c->delay, mconn_delay_cb, 0., 0.);
        ev_timer_start(loop, &c->timer);
        ev_io_start(loop, &c->rio);
        c->next = m->conns;
        if (m->conns != NULL)
            m->conns->prev = c;
        m->conns = c;
        m->n_conns++;
    }
}

/* A plain listening socket: unlike the workers' listeners, no SO_REUSEPORT,
 * so a second halyard on the same metrics port fails instead of sharing it. */
static int listen_on(const char *address, int port, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
    struct addrinfo *res = NULL;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    int rc = getaddrinfo(address, portstr, &hints, &res);
    if (rc != 0 || res == NULL) {
        snprintf(err, errlen, "metrics_address %s: %s", address,
                 rc != 0 ? gai_strerror(rc) : "no address");
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 64) != 0) {
        snprintf(err, errlen, "metrics: cannot listen on %s:%d: %s", address, port,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

struct metrics *metrics_create(struct status *st, const char *address, int port, bool auth,
                               bool tls, char *err, size_t errlen)
{
    int fd = listen_on(address, port, err, errlen);
    if (fd < 0)
        return NULL;
    struct metrics *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->st = st;
    m->loop = st->loop;
    m->auth = auth;
    m->tls = tls;
    m->fd = fd;
    ev_io_init(&m->accept_io, accept_cb, fd, EV_READ);
    ev_io_start(m->loop, &m->accept_io);
    hy_log_info("metrics: %s://%s:%d/metrics", tls ? "https" : "http", address, port);
    return m;
}

void metrics_set_pages(struct metrics *m, metrics_page_fn fn, void *ctx)
{
    m->page = fn;
    m->page_ctx = ctx;
}

void metrics_destroy(struct metrics *m)
{
    if (m == NULL)
        return;
    while (m->conns != NULL)
        mconn_close(m->conns);
    ev_io_stop(m->loop, &m->accept_io);
    close(m->fd);
    free(m);
}
