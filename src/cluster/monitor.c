/*
 * monitor.c: the health-check thread (see monitor.h for what it does).
 *
 * Everything here runs in the monitor thread except monitor_create/start/
 * publish_config/stop/destroy (main thread) and report_hook (any worker,
 * which only wakes the loop). Each backend has a struct monitor_backend,
 * allocated on its own so the pointer an sqlclient callback holds stays
 * valid when a reload rebuilds the list.
 *
 * A check is a little chain of sqlclient operations (step_*), each bounded
 * by what is left of monitor.timeout_ms; check_done() folds the result in:
 * snapshot and backend_info, roles (pick_primary), health
 * (backend_track_feed), then the hook.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "halyard/sql/classify.h"
#include "halyard/core/events.h"
#include "halyard/cluster/dualmaster.h"
#include "halyard/cluster/galera.h"
#include "halyard/core/clock.h"
#include "halyard/core/gtid.h"
#include "halyard/cluster/global_pos.h"
#include "halyard/core/log.h"
#include "halyard/core/text.h"
#include "halyard/cluster/monitor.h"
#include "halyard/cluster/proof.h"
#include "halyard/cluster/shard_learn.h"
#include "halyard/cluster/users.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/protocol/mysql_errors.h"
#include "monitor_int.h"

#define VARS_SQL                                                                                   \
    "SELECT @@read_only, @@gtid_current_pos, @@gtid_binlog_pos, @@server_id, "                     \
    "@@gtid_binlog_state, (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "           \
    "WHERE VARIABLE_NAME = 'RPL_SEMI_SYNC_SLAVE_STATUS'), @@global.sql_mode, "                     \
    "(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = "          \
    "'UPTIME'), "                                                                                  \
    "(SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "                                \
    "WHERE VARIABLE_NAME = 'RPL_SEMI_SYNC_MASTER_STATUS'), (SELECT VARIABLE_VALUE FROM "           \
    "information_schema.GLOBAL_VARIABLES WHERE VARIABLE_NAME = "                                   \
    "'RPL_SEMI_SYNC_MASTER_WAIT_POINT'), "                                                         \
    "@@log_bin, @@log_slave_updates, @@global.binlog_annotate_row_events, "                        \
    "@@replicate_annotate_row_events, @@global.wait_timeout, @@global.interactive_timeout, "       \
    "@@global.completion_type, @@global.session_track_system_variables"
#define SLAVES_SQL "SHOW ALL SLAVES STATUS"
/* A DRAINING backend: the client connections running a statement or
 * holding an InnoDB transaction open (replication and Galera appliers,
 * the event scheduler and this connection left out): `backend NAME drain`
 * waits for none (backend_rt.drain_busy). Other accounts' connections are
 * visible only with the PROCESS privilege: the second column says whether
 * the monitor account has it. */
#define BUSY_SQL                                                                                   \
    "SELECT COUNT(*), (SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES WHERE "             \
    "PRIVILEGE_TYPE = 'PROCESS') FROM information_schema.PROCESSLIST p WHERE p.ID <> "             \
    "CONNECTION_ID() AND p.USER NOT IN ('system user', 'event_scheduler') AND (p.COMMAND NOT IN "  \
    "('Sleep', 'Daemon', 'Binlog Dump', 'Killed') OR p.ID IN (SELECT trx_mysql_thread_id FROM "    \
    "information_schema.INNODB_TRX))"
/* The server's load (srvstatus.h): one query, so it costs one round trip. */
#define STATUS_SQL                                                                                 \
    "SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE "            \
    "VARIABLE_NAME IN (" SRVSTATUS_NAMES ") UNION ALL SELECT 'max_connections', "                  \
    "@@global.max_connections"
/* The binary log's files and their sizes (the disk the binlog takes).
 * Needs BINLOG MONITOR (REPLICATION CLIENT before 10.5); a server without
 * log_bin answers ERROR 1381. */
#define BINLOGS_SQL "SHOW BINARY LOGS"
/* The filesystem of the datadir: the DISKS row with the longest path that
 * is a prefix of it (Total, Used in KiB). Needs the plugin:
 * INSTALL SONAME 'disks'. */
#define DISK_SQL                                                                                   \
    "SELECT Total, Used FROM information_schema.DISKS WHERE @@global.datadir LIKE "                \
    "CONCAT(Path, '%') ORDER BY LENGTH(Path) DESC LIMIT 1"
/* cluster = galera. SHOW, not SELECT: a node in a non-Primary component
 * refuses statements that read tables or variables (1047), but answers
 * SHOW, and what it says is exactly why it takes no traffic. */
#define WSREP_STATUS_SQL                                                                           \
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state', 'wsrep_ready', "              \
    "'wsrep_cluster_status', 'wsrep_cluster_size', 'wsrep_local_recv_queue', "                     \
    "'wsrep_local_index', 'wsrep_incoming_addresses')"
#define WSREP_VARS_SQL                                                                             \
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('wsrep_on', 'wsrep_desync', "                   \
    "'wsrep_reject_queries', 'sql_mode', 'gtid_binlog_pos', 'log_bin', 'log_slave_updates', "      \
    "'binlog_annotate_row_events', 'replicate_annotate_row_events', 'wait_timeout', "              \
    "'interactive_timeout', 'completion_type', 'session_track_system_variables')"

enum step {
    STEP_CONNECT = 0,
    STEP_PING,
    STEP_VARS,
    STEP_SLAVES,
    STEP_WSREP_STATUS,
    STEP_WSREP_VARS,
    STEP_BUSY,
    STEP_STATUS,
    STEP_BINLOGS,
    STEP_DISK,
};

static const char *const step_names[] = {"connect",
                                         "ping",
                                         "SELECT @@read_only...",
                                         "SHOW ALL SLAVES STATUS",
                                         "SHOW GLOBAL STATUS (wsrep)",
                                         "SHOW GLOBAL VARIABLES (wsrep)",
                                         "SELECT COUNT(*) FROM information_schema.PROCESSLIST",
                                         "GLOBAL_STATUS",
                                         "SHOW BINARY LOGS",
                                         "information_schema.DISKS"};

/* ---- pure parts ------------------------------------------------------- */

/* Copy `v` (NULL = "") into dst[len], cut if it must be. */
static void copy_cell(char *dst, size_t len, const char *v)
{
    size_t n = v != NULL ? strnlen(v, len - 1) : 0;
    memcpy(dst, v != NULL ? v : "", n);
    dst[n] = '\0';
}
/* A cell as a number in [min, max]; `dflt` when NULL or not one (each
 * call says what its default means). */
static int64_t cell_i64(const char *v, int64_t min, int64_t max, int64_t dflt)
{
    int64_t x;
    return hy_str_i64(v, min, max, &x) ? x : dflt;
}

hy_status_t monitor_parse_replication(const struct sqlresult *res, struct monitor_repl *out,
                                      char *why, size_t whylen)
{
    memset(out, 0, sizeof(*out));
    out->lag_s = -1;
    if (res->n_rows == 0)
        return HY_OK;
    int host = sqlresult_col(res, "Master_Host");
    int port = sqlresult_col(res, "Master_Port");
    int io = sqlresult_col(res, "Slave_IO_Running");
    int sql = sqlresult_col(res, "Slave_SQL_Running");
    int lag = sqlresult_col(res, "Seconds_Behind_Master");
    if (host < 0 || port < 0 || io < 0 || sql < 0 || lag < 0) {
        snprintf(why, whylen, "SHOW ALL SLAVES STATUS lacks %s",
                 host < 0   ? "Master_Host"
                 : port < 0 ? "Master_Port"
                 : io < 0   ? "Slave_IO_Running"
                 : sql < 0  ? "Slave_SQL_Running"
                            : "Seconds_Behind_Master");
        return HY_ERROR;
    }
    int io_errno = sqlresult_col(res, "Last_IO_Errno");
    int io_error = sqlresult_col(res, "Last_IO_Error");
    int sql_errno = sqlresult_col(res, "Last_SQL_Errno");
    int sql_error = sqlresult_col(res, "Last_SQL_Error");
    int io_pos = sqlresult_col(res, "Gtid_IO_Pos");
    int using_gtid = sqlresult_col(res, "Using_Gtid");

    out->replicating = true;
    out->n_sources = (int)res->n_rows;
    out->io_running = true;
    out->sql_running = true;
    /* The first row names the source; the threads must run on every row,
     * and the lag is the worst one. */
    copy_cell(out->source_host, sizeof(out->source_host), sqlresult_get(res, 0, host));
    const char *p = sqlresult_get(res, 0, port);
    out->source_port = (int)cell_i64(p, 0, 65535, 0); /* 0: not known */
    copy_cell(out->gtid_io_pos, sizeof(out->gtid_io_pos), sqlresult_get(res, 0, io_pos));
    const char *ug = sqlresult_get(res, 0, using_gtid);
    out->using_gtid = ug != NULL && strcasecmp(ug, "No") != 0;
    bool lag_null = false;
    for (size_t r = 0; r < res->n_rows; r++) {
        const char *v = sqlresult_get(res, r, io);
        if (v == NULL || strcasecmp(v, "Yes") != 0) {
            out->io_running = false;
            if (v != NULL && strcasecmp(v, "Connecting") == 0)
                out->io_connecting = true;
        }
        v = sqlresult_get(res, r, sql);
        if (v == NULL || strcasecmp(v, "Yes") != 0)
            out->sql_running = false;
        v = sqlresult_get(res, r, lag);
        int64_t lag_s = cell_i64(v, 0, INT64_MAX, -1);
        if (lag_s < 0)
            lag_null = true; /* NULL, or not a number: unknown */
        else if (lag_s > out->lag_s)
            out->lag_s = lag_s;
        v = sqlresult_get(res, r, io_errno);
        /* an errno that is not a number: 2000, CR_UNKNOWN_ERROR */
        int64_t e = v != NULL ? cell_i64(v, 0, UINT32_MAX, 2000) : 0;
        if (e != 0 && out->last_io_errno == 0) {
            out->last_io_errno = (unsigned)e;
            copy_cell(out->last_io_error, sizeof(out->last_io_error),
                      sqlresult_get(res, r, io_error));
        }
        v = sqlresult_get(res, r, sql_errno);
        e = v != NULL ? cell_i64(v, 0, UINT32_MAX, 2000) : 0;
        if (e != 0 && out->last_sql_errno == 0) {
            out->last_sql_errno = (unsigned)e;
            copy_cell(out->last_sql_error, sizeof(out->last_sql_error),
                      sqlresult_get(res, r, sql_error));
        }
    }
    if (lag_null)
        out->lag_s = -1; /* one source of unknown lag: the whole is unknown */
    return HY_OK;
}

int monitor_pick_primary(const struct monitor_role_in *in, size_t n, int cur)
{
    if (cur >= 0 && (size_t)cur < n) {
        if (in[cur].candidate)
            return cur; /* sticky */
        if (!in[cur].down && !in[cur].seen_ok)
            return cur; /* not seen yet, or only a failed check or two: keep it */
    }
    /* The current one is gone (DOWN, read-only or replicating): the
     * config's primary if it qualifies, else the first in config order. */
    for (size_t i = 0; i < n; i++) {
        if (in[i].candidate && in[i].config_primary)
            return (int)i;
    }
    for (size_t i = 0; i < n; i++) {
        if (in[i].candidate)
            return (int)i;
    }
    return cur >= 0 && (size_t)cur < n && !in[cur].seen_ok ? cur : -1;
}

/* ---- backends of the running config ------------------------------------ */

/* Are any backends checked: does a group have a monitor.user? */
static bool monitoring(const struct monitor *m)
{
    for (size_t g = 0; g < m->cfg->n_groups; g++) {
        if (m->cfg->groups[g].monitor_user[0] != '\0')
            return true;
    }
    return false;
}

/* The group (group.h) of mb: its cluster type and settings. */

/* Is mb checked: has its group a monitor.user? */
static bool checked(const struct monitor_backend *mb)
{
    return grp_of(mb)->monitor_user[0] != '\0';
}

static void recheck_cb(struct ev_loop *loop, ev_timer *t, int revents);
static void start_check(struct monitor_backend *mb, bool in_round);

static struct monitor_backend *mb_create(struct monitor *m, const struct config *cfg,
                                         const struct config_backend *be, int index)
{
    struct monitor_backend *mb = calloc(1, sizeof(*mb));
    if (mb == NULL)
        return NULL;
    mb->m = m;
    mb->be = be;
    mb->rt = be->rt;
    mb->index = index;
    mb->source = -1;
    mb->track.health = (enum backend_state)atomic_load(&be->rt->health);
    /* Never checked: the first failed check is enough to say DOWN (a
     * server dead at start is not given fall intervals of traffic). */
    mb->track.bad = cfg->groups[be->group].fall - 1; /* cfg: the config `be` is of */
    ev_timer_init(&mb->recheck, recheck_cb, 0., 0.);
    mb->recheck.data = mb;
    return mb;
}

/* Cancel the check in flight, if any (its round no longer waits for it). */
static void mb_cancel(struct monitor_backend *mb)
{
    struct monitor *m = mb->m;
    struct monitor_round *r = mb->be->group < m->n_rounds ? &m->rounds[mb->be->group] : NULL;
    if (mb->checking && mb->in_round && r != NULL && r->pending > 0)
        r->pending--;
    mb->checking = false;
    mb->in_round = false;
    if (mb->sc != NULL)
        sqlclient_close(mb->sc);
}

static void mb_destroy(struct monitor_backend *mb)
{
    mb_cancel(mb);
    ev_timer_stop(mb->m->loop, &mb->recheck);
    sqlclient_destroy(mb->sc);
    free(mb);
}

/* Where and as whom the monitor logs into backend i. */
static void target_of(struct monitor *m, size_t i, struct sqlclient_target *out)
{
    const struct config_backend *be = m->mb[i]->be;
    const struct config_group *grp = &m->cfg->groups[be->group];
    *out = (struct sqlclient_target){0};
    out->name = be->name;
    out->address = be->address;
    out->port = be->port;
    out->user = grp->monitor_user;
    out->password = grp->monitor_password;
    out->tls = be->tls; /* the data path's TLS towards this backend */
    out->tls_ctx = be->tls_ctx;
}

static bool same_target(const struct config *a, const struct config_backend *ba,
                        const struct config *b, const struct config_backend *bb)
{
    const struct config_group *ga = &a->groups[ba->group], *gb = &b->groups[bb->group];
    return strcmp(ba->address, bb->address) == 0 && ba->port == bb->port && ba->tls == bb->tls &&
           strcmp(ga->monitor_user, gb->monitor_user) == 0 &&
           strcmp(ga->monitor_password, gb->monitor_password) == 0 &&
           ga->timeout_ms == gb->timeout_ms;
}

static void round_cb(struct ev_loop *loop, ev_timer *t, int revents);

/* One round timer per group of m->cfg, each every the group's
 * interval_ms, the first after `first` seconds. Checks in flight no
 * longer count for a round. Returns false when out of memory. */
static bool rounds_rebuild(struct monitor *m, double first)
{
    for (size_t g = 0; g < m->n_rounds; g++)
        ev_timer_stop(m->loop, &m->rounds[g].timer);
    struct monitor_round *r = calloc(m->cfg->n_groups ? m->cfg->n_groups : 1, sizeof(*r));
    if (r == NULL)
        return false;
    free(m->rounds);
    m->rounds = r;
    m->n_rounds = m->cfg->n_groups;
    for (size_t i = 0; i < m->n; i++) {
        if (m->mb[i] != NULL)
            m->mb[i]->in_round = false;
    }
    for (size_t g = 0; g < m->n_rounds; g++) {
        r[g].m = m;
        r[g].g = g;
        double every = m->cfg->groups[g].interval_ms / 1000.0;
        ev_timer_init(&r[g].timer, round_cb, first >= 0 ? first : every, every);
        ev_timer_start(m->loop, &r[g].timer);
    }
    return true;
}

/* Switch to `cfg` (the monitor takes over the caller's reference). */
static void apply_config(struct monitor *m, struct config *cfg)
{
    struct monitor_backend **list = calloc(cfg->n_backends ? cfg->n_backends : 1, sizeof(*list));
    if (list == NULL) {
        hy_log_error("monitor: out of memory switching to the new config; keeping the old one");
        config_put(cfg);
        return;
    }
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct config_backend *be = &cfg->backends[i];
        for (size_t j = 0; j < m->n; j++) {
            if (m->mb[j] != NULL && strcmp(m->mb[j]->be->name, be->name) == 0) {
                list[i] = m->mb[j];
                m->mb[j] = NULL;
                break;
            }
        }
        if (list[i] != NULL && list[i]->be->checks_gen != be->checks_gen) {
            /* A reload moved it (backend_rt_mark_unchecked): nothing of
             * the old server's checks carries over (health streak, seen,
             * readings), as for a backend new to the config. */
            mb_destroy(list[i]);
            list[i] = NULL;
        }
        if (list[i] != NULL) {
            if (!same_target(m->cfg, list[i]->be, cfg, be)) {
                mb_cancel(list[i]);
                sqlclient_destroy(list[i]->sc);
                list[i]->sc = NULL;
            }
            list[i]->be = be;
            list[i]->rt = be->rt;
            list[i]->index = (int)i;
            list[i]->proof_warned = false; /* warned again under the new config */
        } else if ((list[i] = mb_create(m, cfg, be, (int)i)) == NULL) {
            hy_log_error("monitor: out of memory; backend %s is not checked", be->name);
        }
    }
    for (size_t j = 0; j < m->n; j++) {
        if (m->mb[j] != NULL)
            mb_destroy(m->mb[j]);
    }
    free(m->mb);
    m->mb = list;
    m->n = cfg->n_backends;
    struct config *old = m->cfg;
    m->cfg = cfg;
    config_put(old);

    for (size_t i = 0; i < m->n; i++) {
        if (m->mb[i] == NULL || checked(m->mb[i]))
            continue;
        mb_cancel(m->mb[i]);
        m->mb[i]->track = (struct backend_track){.health = BACKEND_ONLINE};
        backend_set_health(m->mb[i]->rt, BACKEND_ONLINE, "health checks are off");
    }
    if (!rounds_rebuild(m, -1))
        hy_log_error("monitor: out of memory switching to the new config's intervals");
    if (m->users != NULL)
        users_loader_configure(m->users, cfg);
    if (m->shards != NULL)
        shard_loader_configure(m->shards, cfg);
}

/* ---- checks --------------------------------------------------------------- */

static double fast_interval(const struct monitor_backend *mb)
{
    double s = grp_of(mb)->interval_ms / 10000.0;
    return s < 0.01 ? 0.01 : s;
}

static void run_hook(struct monitor *m)
{
    if (m->hook != NULL)
        m->hook(m, m->hook_arg);
}

/* Keep the locked part of backend_rt up to date for the admin socket. */
/* Fold the entry `newer` into `older`, the check before it: the older
 * time and position, what both found. */
static void seen_fold(struct backend_seen *older, const struct backend_seen *newer)
{
    older->checks += newer->checks;
    older->semisync_replica = older->semisync_replica && newer->semisync_replica;
    older->semisync_primary = older->semisync_primary && newer->semisync_primary;
    older->proof_have &= newer->proof_have;
    older->galera_member = older->galera_member && newer->galera_member;
    if (strcmp(older->galera_self, newer->galera_self) != 0)
        older->galera_self[0] = '\0';
}

/* Put `e` (newer than anything from seen[j] on) at seen[j]: folded into
 * the entry there while that then holds at most 4^(j+1-EXACT) checks,
 * else in its place, that entry moving on to j+1 the same way; past the
 * last entry, the oldest goes. */
static void seen_carry(struct backend_info *in, size_t j, struct backend_seen e)
{
    for (; j < BACKEND_SEEN; j++) {
        struct backend_seen *at = &in->seen[j];
        if (at->at <= 0) {
            *at = e;
            return;
        }
        if (at->checks + e.checks <= 1u << 2 * (j + 1 - BACKEND_SEEN_EXACT)) {
            seen_fold(at, &e);
            return;
        }
        struct backend_seen moved = *at;
        *at = e;
        e = moved;
    }
}

/* Make room for a new check at seen[0]: the newest BACKEND_SEEN_EXACT
 * entries one check each, the older folded (seen_carry), reaching back
 * 25 to 89 checks (test_inflight_writers.py: with the last 8 checks
 * alone, a write in flight for longer had none before it: 1180). */
static void seen_push(struct backend_info *in)
{
    struct backend_seen out = in->seen[BACKEND_SEEN_EXACT - 1];
    memmove(&in->seen[1], &in->seen[0], (BACKEND_SEEN_EXACT - 1) * sizeof(in->seen[0]));
    if (out.at > 0)
        seen_carry(in, BACKEND_SEEN_EXACT, out);
    in->seen[0].checks = 1;
}

/* What the check read, into its backend's info (under its lock). */
static void store_info(struct backend_info *in, void *arg)
{
    struct monitor_backend *mb = arg;
    struct backend_rt *rt = mb->rt;
    if (mb->ok) {
        copy_cell(in->gtid_current, sizeof(in->gtid_current), mb->gtid_current);
        copy_cell(in->gtid_binlog, sizeof(in->gtid_binlog), mb->gtid_binlog);
        in->server_id = mb->server_id;
        in->read_only = mb->read_only;
        in->replicating = mb->repl.replicating;
        copy_cell(in->source_host, sizeof(in->source_host), mb->repl.source_host);
        in->source_port = mb->repl.source_port;
        in->io_running = mb->repl.io_running;
        in->sql_running = mb->repl.sql_running;
        in->sql_errno = mb->repl.last_sql_errno;
        in->io_errno = mb->repl.last_io_errno;
        if (galera(mb)) {
            const struct galera_node *g = &mb->wsrep;
            snprintf(in->last_check, sizeof(in->last_check),
                     "ok; wsrep %s, %s, size %d, recv queue %lld%s%s",
                     galera_state_to_str(g->local_state), g->primary ? "Primary" : "non-Primary",
                     g->cluster_size, (long long)g->recv_queue, g->desync ? ", desync" : "",
                     g->reject_queries ? ", rejecting queries" : "");
        } else {
            copy_cell(in->last_check, sizeof(in->last_check), "ok");
        }
    } else {
        copy_cell(in->last_check, sizeof(in->last_check), mb->error);
    }
    in->refused = !mb->ok && mb->refused;
    in->last_check_time = hy_now_s();
    if (mb->ok) {
        /* the newest first: what a session's in-flight write may be
         * compared with (session_inflight.c) */
        seen_push(in);
        in->seen[0].at = ev_time();
        atomic_store(&rt->ok_check_began_us, (int64_t)(mb->started * 1e6));
        copy_cell(in->seen[0].gtid_binlog, sizeof(in->seen[0].gtid_binlog), mb->gtid_binlog);
        in->seen[0].semisync_replica = mb->semisync_replica;
        in->seen[0].semisync_primary = mb->semisync_primary;
        in->seen[0].proof_have = mb->proof_have;
        if (!(mb->proof_have & PROOF_NO_CHAIN))
            in->no_chain_since = 0;
        else if (in->no_chain_since == 0)
            in->no_chain_since = in->seen[0].at;
        in->seen[0].galera_member =
            galera(mb) && mb->wsrep.primary && mb->wsrep.local_state == GALERA_SYNCED;
        copy_cell(in->seen[0].galera_self, sizeof(in->seen[0].galera_self),
                  galera(mb) ? mb->wsrep.self_address : "");
    }
}

/* Stored unless a reload forgot the backend's checks since the check
 * began (it may have read another server): backend_checks_store. */
static void publish_info(struct monitor_backend *mb)
{
    if (!backend_checks_store(mb->rt, mb->checks_gen, store_info, mb))
        hy_log_debug("monitor: %s: a check begun before the reload moved it: not kept",
                     mb->be->name);
}

/* cluster = dual-master: mb's IO thread still runs while the other server
 * of its group refused or reset the last check (gone, its host answers),
 * for less than failover_delay_ms. The promotion waits for mb's IO thread
 * to notice (dualmaster.h), so mb is checked again soon. */
static bool peer_gone(const struct monitor_backend *mb)
{
    const struct monitor *m = mb->m;
    if (grp_of(mb)->cluster != CLUSTER_DUAL_MASTER || !mb->repl.io_running)
        return false;
    double now = ev_now(m->loop);
    for (size_t i = 0; i < m->n; i++) {
        const struct monitor_backend *o = m->mb[i];
        if (o != NULL && o != mb && o->be->group == mb->be->group && !o->ok && o->refused &&
            o->down_since > 0 && now - o->down_since < grp_of(mb)->failover_delay_ms / 1000.0)
            return true;
    }
    return false;
}

static void check_done(struct monitor_backend *mb, bool ok, const char *fmt, ...) HY_PRINTF(3, 4);

/* mb's config is behind a reload that moved it: what a check reads at its
 * address is another server's, maybe. Logged once per monitor_backend
 * (apply_config gives the moved backend a new one). */
static void moved_note(struct monitor_backend *mb, const char *what)
{
    if (mb->told_moved)
        return;
    mb->told_moved = true;
    hy_log_info("monitor: %s: %s", mb->be->name, what);
}

/* A reload moved mb since its check in flight began: the check ends
 * counting for nothing (no health count, role, state, event or reading);
 * its round no longer waits for it. True when so. */
static bool check_moved_away(struct monitor_backend *mb)
{
    struct monitor *m = mb->m;
    if (backend_checks_current(mb->rt, mb->checks_gen))
        return false;
    struct monitor_round *r = mb->be->group < m->n_rounds ? &m->rounds[mb->be->group] : NULL;
    bool round_over = mb->in_round && r != NULL && r->pending > 0 && --r->pending == 0;
    mb->checking = false;
    mb->in_round = false;
    sqlclient_close(mb->sc);
    moved_note(mb, "a check of the address a reload moved it from counts for nothing");
    if (round_over)
        run_hook(m);
    return true;
}

static void check_done(struct monitor_backend *mb, bool ok, const char *fmt, ...)
{
    struct monitor *m = mb->m;
    if (check_moved_away(mb))
        return;
    double now = ev_now(m->loop);
    bool counted = mb->in_round && mb->checking;
    struct monitor_round *r = mb->be->group < m->n_rounds ? &m->rounds[mb->be->group] : NULL;
    bool first = !mb->seen;
    mb->checking = false;
    mb->in_round = false;
    mb->seen = true;
    mb->ok = ok;
    mb->checked_at = now;
    mb->check_started = mb->deadline - grp_of(mb)->timeout_ms / 1000.0;
    mb->error[0] = '\0';
    if (!ok) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(mb->error, sizeof(mb->error), fmt, ap);
        va_end(ap);
        if (mb->down_since == 0)
            mb->down_since = now;
    } else {
        mb->last_ok = now;
        mb->down_since = 0;
        mb->source = monitor_find_source(m, &mb->repl);
        /* Only now: a check reads the wsrep state, then (status_every,
         * a drain) the load or the busy connections, and the other nodes'
         * checks that end meanwhile decide every node's traffic from
         * mb->wsrep. Set at the read, it took a node out (desynced) while
         * show backends still gave the check before (Synced), until this
         * one ended. */
        if (galera(mb))
            mb->wsrep = mb->wsrep_next;
    }
    publish_info(mb);
    if (first && atomic_load(&m->unchecked) > 0)
        atomic_fetch_sub(&m->unchecked, 1); /* after publish_info: what it read is visible */
    bool changed;
    if (galera(mb)) {
        /* Every node's verdict may change with this one's state (the
         * writer moves, the last donor serves): roles and health of all
         * of its group. */
        changed = monitor_feed(mb, ok, ok ? NULL : mb->error);
        changed |= monitor_update_galera(m);
        for (size_t i = 0; i < m->n; i++) {
            if (m->mb[i] != NULL && m->mb[i]->be->group == mb->be->group)
                changed |= monitor_galera_health(m->mb[i], "");
        }
    } else {
        changed = monitor_update_roles(m);
        if (monitor_feed(mb, ok, ok ? NULL : mb->error)) {
            changed = true;
            monitor_update_roles(m); /* a primary that went DOWN may hand its role over */
        }
    }
    mb->passive_counted = false;
    /* Its state is known now: reads may come (after the roles and health
     * this check decided, so none comes before a LAGGING it found). */
    if (ok)
        backend_checks_passed(mb->rt, mb->checks_gen);

    /* A failing backend is checked again soon, until it is DOWN; so is a
     * dual-master server still replicating from a peer that is gone. */
    if (((!ok && mb->track.health != BACKEND_DOWN) || (ok && peer_gone(mb))) && checked(mb)) {
        ev_timer_stop(m->loop, &mb->recheck);
        ev_timer_set(&mb->recheck, fast_interval(mb), 0.);
        ev_timer_start(m->loop, &mb->recheck);
    }
    bool round_over = false;
    if (counted && r != NULL && r->pending > 0 && --r->pending == 0)
        round_over = true;
    if (changed || round_over)
        run_hook(m);
}

static void check_cb(struct sqlclient *c, const struct sqlresult *res, void *arg);

/* Milliseconds left of the check's budget, at least 1. */
static int budget_ms(const struct monitor_backend *mb)
{
    double left = mb->deadline - ev_now(mb->m->loop);
    int ms = (int)(left * 1000.0);
    return ms < 1 ? 1 : ms;
}

static void run_step(struct monitor_backend *mb, enum step step)
{
    mb->step = step;
    sqlclient_set_timeout(mb->sc, budget_ms(mb));
    hy_status_t rc = HY_ERROR;
    switch (step) {
    case STEP_CONNECT:
        sqlclient_close(mb->sc);
        mb->fresh = true;
        mb->no_disks = false; /* the DISKS plugin may have been installed since */
        mb->no_binlogs = false;
        rc = sqlclient_connect(mb->sc, check_cb, mb);
        break;
    case STEP_PING:
        mb->ping_sent = ev_time();
        /* A drained backend's round trip is the load of what drained it (a
         * backup's mariadb-backup, a verify): counted, it kept every read
         * away for seconds after it came back ONLINE. */
        mb->ping_counts = mb->rt != NULL && atomic_load(&mb->rt->admin) == BACKEND_ADMIN_NONE;
        rc = sqlclient_ping(mb->sc, check_cb, mb);
        break;
    case STEP_VARS:
        mb->vars_sent = ev_time();
        mb->gpos_at = grp_of(mb)->gpos != NULL ? global_pos_need(grp_of(mb)->gpos) : 0;
        rc = sqlclient_query(mb->sc, VARS_SQL, check_cb, mb);
        break;
    case STEP_SLAVES:
        rc = sqlclient_query(mb->sc, SLAVES_SQL, check_cb, mb);
        break;
    case STEP_WSREP_STATUS:
        rc = sqlclient_query(mb->sc, WSREP_STATUS_SQL, check_cb, mb);
        break;
    case STEP_WSREP_VARS:
        rc = sqlclient_query(mb->sc, WSREP_VARS_SQL, check_cb, mb);
        break;
    case STEP_BUSY:
        rc = sqlclient_query(mb->sc, BUSY_SQL, check_cb, mb);
        break;
    case STEP_STATUS:
        rc = sqlclient_query(mb->sc, STATUS_SQL, check_cb, mb);
        break;
    case STEP_BINLOGS:
        rc = sqlclient_query(mb->sc, BINLOGS_SQL, check_cb, mb);
        break;
    case STEP_DISK:
        rc = sqlclient_query(mb->sc, DISK_SQL, check_cb, mb);
        break;
    }
    if (rc != HY_OK && step >= STEP_STATUS)
        check_done(mb, true, "ok"); /* the load is extra: the check itself passed */
    else if (rc != HY_OK)
        check_done(mb, false, "%s: cannot start", step_names[step]);
}

/* The global sql_mode a new connection to this server gets, as lexer
 * options for the sessions (backend_default_lex). */
static void global_lex_note(struct monitor_backend *mb, const char *sql_mode)
{
    if (sql_mode == NULL)
        return;
    atomic_store(&mb->rt->global_lex, classify_sql_mode(sql_mode, strlen(sql_mode)));
    atomic_store(&mb->rt->global_lex_seen, true);
}

/* resolve_in_flight_writes: once a config (at start, and again after a
 * reload), a warning for a server lacking what the proof rests on
 * (proof.h): its in-flight writes' outcomes will be unknown. */
static void proof_warn(struct monitor_backend *mb)
{
    char miss[160];
    if (!mb->m->cfg->resolve_in_flight_writes || mb->proof_warned ||
        proof_settings_missing(mb->proof_have, PROOF_NEED_ALL, miss, sizeof(miss)))
        return;
    mb->proof_warned = true;
    hy_log_warn("backend %s: %s: resolve_in_flight_writes cannot prove a write in flight "
                "through it not committed (its outcome will be unknown, error 1180) while it "
                "runs so (docs/failover.md)",
                mb->be->name, miss);
}

/* A global wait_timeout or interactive_timeout the check read: what a new
 * session's wait_timeout is (session.c: session_idle_cb). */
static void idle_note(_Atomic int64_t *to, const char *seconds)
{
    int64_t v;
    if (hy_str_i64(seconds, 0, INT64_MAX, &v)) /* else: the last one read stays */
        atomic_store(to, v);
}

/* Whether a connection logging in reports its commits' GTIDs: the global
 * session_track_system_variables names last_gtid, or is '*' (a capture
 * then asks for none: session_state_tracking.c). */
static void gtid_tracked_note(struct monitor_backend *mb, const char *vars)
{
    if (vars != NULL)
        atomic_store(&mb->rt->gtid_tracked, mysql_track_vars_last_gtid(vars, strlen(vars)));
}

static void parse_vars(struct monitor_backend *mb, const struct sqlresult *res)
{
    const char *ro = sqlresult_get(res, 0, 0);
    mb->read_only = ro != NULL && strcmp(ro, "0") != 0;
    copy_cell(mb->gtid_current, sizeof(mb->gtid_current), sqlresult_get(res, 0, 1));
    copy_cell(mb->gtid_binlog, sizeof(mb->gtid_binlog), sqlresult_get(res, 0, 2));
    const char *sid = sqlresult_get(res, 0, 3);
    mb->server_id = (uint32_t)cell_i64(sid, 0, UINT32_MAX, 0); /* 0: not known */
    copy_cell(mb->gtid_binlog_state, sizeof(mb->gtid_binlog_state), sqlresult_get(res, 0, 4));
    /* consistency = global: writes the sessions did not see (another
     * halyard's, or made on the server) are waited for from now on. The
     * primary's position holds every commit counted before the query went
     * (gpos_at): kept for the reads, and a replica seen to hold it serves
     * reads that need no more without a wait (causal_fast: at all). */
    struct global_pos *gp = grp_of(mb)->gpos;
    if (gp != NULL && !galera(mb) && backend_role(mb->rt) == ROLE_PRIMARY && mb->gpos_at > 0)
        global_pos_publish(gp, mb->gpos_at, mb->gtid_binlog);
    if (gp != NULL && !galera(mb) && backend_role(mb->rt) == ROLE_PRIMARY &&
        global_pos_primary_seen(gp, mb->gtid_binlog))
        hy_log_debug("backend %s: binlog position %s is past the known one: global reads wait "
                     "for it",
                     mb->be->name, mb->gtid_binlog);
    else if (gp != NULL && !galera(mb) && backend_role(mb->rt) != ROLE_PRIMARY && mb->rt != NULL)
        global_pos_replica_seen(gp, mb->rt, mb->gtid_current);
    const char *ss = sqlresult_get(res, 0, 5);
    mb->semisync_replica = ss != NULL && strcasecmp(ss, "ON") == 0;
    global_lex_note(mb, sqlresult_get(res, 0, 6));
    const char *up = sqlresult_get(res, 0, 7);
    /* not read: the last check's (no restart seen) */
    long long uptime = cell_i64(up, 0, INT64_MAX, mb->uptime);
    if (uptime < mb->uptime && mb->ahead) {
        hy_log_info("backend %s: restarted: no longer taken as past its primary", mb->be->name);
        mb->ahead = false;
    }
    mb->uptime = uptime;
    /* resolve_in_flight_writes: a commit it answers had reached a replica */
    const char *ms = sqlresult_get(res, 0, 8), *wp = sqlresult_get(res, 0, 9);
    mb->semisync_primary =
        ms != NULL && strcasecmp(ms, "ON") == 0 && wp != NULL && strcasecmp(wp, "AFTER_SYNC") == 0;
    mb->proof_have = proof_settings_parse(sqlresult_get(res, 0, 10), sqlresult_get(res, 0, 11),
                                          sqlresult_get(res, 0, 12), sqlresult_get(res, 0, 13)) |
                     proof_completion_parse(sqlresult_get(res, 0, 16));
    proof_warn(mb);
    idle_note(&mb->rt->wait_timeout_s, sqlresult_get(res, 0, 14));
    idle_note(&mb->rt->interactive_timeout_s, sqlresult_get(res, 0, 15));
    gtid_tracked_note(mb, sqlresult_get(res, 0, 17));
}

/* cluster = galera: WSREP_VARS_SQL's answer, past the wsrep state. */
static void parse_wsrep_vars(struct monitor_backend *mb, const struct sqlresult *res)
{
    static const char *const proof[] = {"log_bin", "log_slave_updates",
                                        "binlog_annotate_row_events",
                                        "replicate_annotate_row_events"};
    const char *v[4] = {NULL, NULL, NULL, NULL}, *completion = NULL;
    for (size_t r = 0; r < res->n_rows; r++) {
        const char *k = sqlresult_get(res, r, 0);
        if (k == NULL)
            continue;
        if (strcasecmp(k, "sql_mode") == 0)
            global_lex_note(mb, sqlresult_get(res, r, 1));
        /* what a session's in-flight write is compared with on the new
         * writer (session_inflight.c, publish_info's seen[]) */
        else if (strcasecmp(k, "gtid_binlog_pos") == 0)
            copy_cell(mb->gtid_binlog, sizeof(mb->gtid_binlog), sqlresult_get(res, r, 1));
        else if (strcasecmp(k, "wait_timeout") == 0)
            idle_note(&mb->rt->wait_timeout_s, sqlresult_get(res, r, 1));
        else if (strcasecmp(k, "interactive_timeout") == 0)
            idle_note(&mb->rt->interactive_timeout_s, sqlresult_get(res, r, 1));
        else if (strcasecmp(k, "completion_type") == 0)
            completion = sqlresult_get(res, r, 1);
        else if (strcasecmp(k, "session_track_system_variables") == 0)
            gtid_tracked_note(mb, sqlresult_get(res, r, 1));
        for (size_t i = 0; i < 4; i++)
            if (strcasecmp(k, proof[i]) == 0)
                v[i] = sqlresult_get(res, r, 1);
    }
    mb->proof_have =
        proof_settings_parse(v[0], v[1], v[2], v[3]) | proof_completion_parse(completion);
    proof_warn(mb);
}

/* Entry `index` of a comma-separated list into out[len] ("" if none). */
static void list_entry(const char *list, long index, char *out, size_t len)
{
    out[0] = '\0';
    for (const char *p = list; p != NULL && index >= 0; index--) {
        const char *e = strchr(p, ',');
        if (index == 0) {
            size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
            if (n < len) {
                memcpy(out, p, n);
                out[n] = '\0';
            }
            return;
        }
        p = e != NULL ? e + 1 : NULL;
    }
}

void monitor_parse_wsrep(const struct sqlresult *res, struct galera_node *g)
{
    long index = -1;
    const char *addresses = NULL;
    for (size_t r = 0; r < res->n_rows; r++) {
        const char *k = sqlresult_get(res, r, 0);
        const char *v = sqlresult_get(res, r, 1);
        if (k == NULL || v == NULL)
            continue;
        if (strcasecmp(k, "wsrep_local_state") == 0)
            g->local_state = (int)cell_i64(v, 0, INT32_MAX, 0); /* 0: unknown */
        else if (strcasecmp(k, "wsrep_ready") == 0)
            g->ready = strcasecmp(v, "ON") == 0;
        else if (strcasecmp(k, "wsrep_cluster_status") == 0)
            g->primary = strcasecmp(v, "Primary") == 0;
        else if (strcasecmp(k, "wsrep_cluster_size") == 0)
            g->cluster_size = (int)cell_i64(v, 0, INT32_MAX, 0); /* 0: unknown */
        else if (strcasecmp(k, "wsrep_local_recv_queue") == 0)
            g->recv_queue = cell_i64(v, 0, INT64_MAX, INT64_MAX); /* unknown: over any limit */
        else if (strcasecmp(k, "wsrep_desync") == 0)
            g->desync = strcasecmp(v, "ON") == 0;
        else if (strcasecmp(k, "wsrep_reject_queries") == 0)
            g->reject_queries = strcasecmp(v, "NONE") != 0;
        else if (strcasecmp(k, "wsrep_on") == 0)
            g->wsrep_off = strcasecmp(v, "ON") != 0;
        else if (strcasecmp(k, "wsrep_local_index") == 0)
            index = (long)cell_i64(v, 0, INT32_MAX, -1); /* -1: no entry of its own */
        else if (strcasecmp(k, "wsrep_incoming_addresses") == 0)
            addresses = v;
    }
    /* its own entry of the view's list (Galera orders both alike) */
    if (addresses != NULL && index >= 0)
        list_entry(addresses, index, g->self_address, sizeof(g->self_address));
}

/* A COM_PING round trip of `secs`: the backend's RTT (backend_rt.rtt_us)
 * moves a fifth of the way to it, so one slow answer does not move reads
 * away. */
static void rtt_note(struct backend_rt *rt, double secs)
{
    if (rt == NULL || secs < 0)
        return;
    double us = secs * 1e6;
    uint32_t old = atomic_load_explicit(&rt->rtt_us, memory_order_relaxed);
    double ewma = old == 0 ? us : old + (us - old) / 5.0;
    atomic_store_explicit(&rt->rtt_us,
                          ewma < 1     ? 1u
                          : ewma > 4e9 ? 4000000000u
                                       : (uint32_t)ewma,
                          memory_order_relaxed);
}

/* A reading of the server's load: rates against the last one, published
 * for show backends and the metrics, and the connections threshold. */
/* One threshold of one backend: an event when it is crossed, up or down. */
static void threshold_note(struct monitor_backend *mb, bool *high, double value, int warn,
                           enum event_type up, enum event_type down, const char *what,
                           const char *why, const char *action)
{
    enum srv_cross x = srv_threshold(high, value, warn);
    if (x == SRV_CROSS_RAISED) {
        hy_log_warn("backend %s: %s high: %s", mb->be->name, what, why);
        events_emit(up, mb->be->name, "ok", "high", why, action);
    } else if (x == SRV_CROSS_CLEARED) {
        hy_log_info("backend %s: %s back to normal: %s", mb->be->name, what, why);
        events_emit(down, mb->be->name, "high", "ok", why, "");
    }
}

/* The reading in mb->status_next is complete: rates, publish, thresholds. */
static void status_publish(struct monitor_backend *mb)
{
    struct srv_status cur = mb->status_next;
    double now = ev_now(mb->m->loop);
    struct srv_rates rates;
    srv_status_derive(mb->status_at > 0 ? &mb->status : NULL, &cur, now - mb->status_at, &rates);
    mb->status = cur;
    mb->status_at = now;

    pthread_mutex_lock(&mb->rt->lock);
    mb->rt->info.status = cur;
    mb->rt->info.rates = rates;
    mb->rt->info.status_time = time(NULL);
    pthread_mutex_unlock(&mb->rt->lock);

    char why[160];
    snprintf(why, sizeof(why), "Threads_connected %lld of max_connections %lld (%.0f%%)",
             (long long)cur.threads_connected, (long long)cur.max_connections,
             rates.connections_pct);
    threshold_note(mb, &mb->connections_high, rates.connections_pct,
                   mb->m->cfg->monitor.connections_warn_pct, EVENT_BACKEND_CONNECTIONS_HIGH,
                   EVENT_BACKEND_CONNECTIONS_OK, "connections", why,
                   "new connections may be refused by the server");
    snprintf(why, sizeof(why), "the datadir's filesystem is %.0f%% full (%lld of %lld MiB)",
             rates.disk_pct, (long long)(cur.disk_used >> 20), (long long)(cur.disk_total >> 20));
    threshold_note(mb, &mb->disk_high, rates.disk_pct, mb->m->cfg->monitor.disk_warn_pct,
                   EVENT_BACKEND_DISK_HIGH, EVENT_BACKEND_DISK_OK, "disk", why,
                   "the server stops writing when it is full");
    /* Against the limit in percent: the line is 100, it clears 5% below. */
    int limit_mb = mb->m->cfg->monitor.binlog_warn_mb;
    double of_limit = limit_mb > 0 && cur.binlog_size >= 0
                          ? 100.0 * (double)cur.binlog_size / ((double)limit_mb * 1048576.0)
                          : -1;
    snprintf(why, sizeof(why), "the binary log takes %lld MiB in %lld files (limit %d MiB)",
             (long long)(cur.binlog_size >> 20), (long long)cur.binlog_files, limit_mb);
    threshold_note(mb, &mb->binlog_high, limit_mb > 0 ? of_limit : 0, limit_mb > 0 ? 100 : 0,
                   EVENT_BACKEND_BINLOG_HIGH, EVENT_BACKEND_BINLOG_OK, "binary log", why,
                   "purge old files (PURGE BINARY LOGS) or lower binlog_expire_logs_seconds");
}

/* Why the binary log or the datadir's filesystem is not read, logged once
 * per backend: it is the operator's to fix, or to accept. */
static void unread_note(struct monitor_backend *mb, bool *told, const char *what, const char *why,
                        const char *fix)
{
    if (*told)
        return;
    *told = true;
    hy_log_info("backend %s: %s not read: %s%s%s", mb->be->name, what, why, fix[0] ? "; " : "",
                fix);
}

/* The datadir's filesystem, from information_schema.DISKS (KiB). */
static void disk_note(struct monitor_backend *mb, const struct sqlresult *res)
{
    const char *total = sqlresult_get(res, 0, 0), *used = sqlresult_get(res, 0, 1);
    if (total == NULL || used == NULL) {
        unread_note(mb, &mb->told_disks, "the datadir's filesystem",
                    "information_schema.DISKS shows no row to monitor.user",
                    "it needs the FILE privilege");
        return;
    }
    int64_t t_kib, u_kib;
    if (!hy_str_i64(total, 0, INT64_MAX / 1024, &t_kib) ||
        !hy_str_i64(used, 0, INT64_MAX / 1024, &u_kib)) {
        unread_note(mb, &mb->told_disks, "the datadir's filesystem",
                    "information_schema.DISKS gave a size that is not a number of KiB", "");
        return;
    }
    mb->status_next.disk_total = t_kib * 1024;
    mb->status_next.disk_used = u_kib * 1024;
}

/* SHOW BINARY LOGS: column 1 of each row is the file's size. */
static void binlogs_note(struct monitor_backend *mb, const struct sqlresult *res)
{
    if (res->n_cols < 2)
        return;
    srv_status_binlogs_begin(&mb->status_next);
    for (size_t r = 0; r < res->n_rows; r++)
        srv_status_binlog_file(&mb->status_next, sqlresult_get(res, r, 1));
}

/* The server refused SHOW BINARY LOGS or the DISKS query: not asked again
 * on this connection, said once why. */
static void extra_refused(struct monitor_backend *mb, const struct sqlresult *res)
{
    char why[300];
    snprintf(why, sizeof(why), "ERROR %u (%s): %s", res->err_code, res->sqlstate, res->err_msg);
    if (mb->step == STEP_BINLOGS) {
        mb->no_binlogs = true;
        unread_note(mb, &mb->told_binlogs, "the binary log's size", why,
                    res->err_code == ER_NO_BINARY_LOGGING
                        ? ""
                        : "GRANT BINLOG MONITOR ON *.* TO the monitor.user "
                          "account");
    } else {
        mb->no_disks = true;
        unread_note(mb, &mb->told_disks, "the datadir's filesystem", why,
                    res->err_code == ER_UNKNOWN_TABLE ? "INSTALL SONAME 'disks' (and GRANT FILE to "
                                                        "monitor.user) to have it"
                                                      : "");
    }
}

/* The load's reading goes on after `mb->step`: the binary log, the disk
 * (each unless refused on this connection), then it is published. */
static void status_continue(struct monitor_backend *mb)
{
    if (mb->step < STEP_BINLOGS && !mb->no_binlogs) {
        run_step(mb, STEP_BINLOGS);
        return;
    }
    if (mb->step < STEP_DISK && !mb->no_disks) {
        run_step(mb, STEP_DISK);
        return;
    }
    status_publish(mb);
    check_done(mb, true, "ok");
}

/* The check passed (and a DRAINING backend's busy count is in): read the
 * server's load when it is due, then end it. */
static void check_passed(struct monitor_backend *mb)
{
    int every = mb->m->cfg->monitor.status_every;
    if (every > 0 && mb->checks_ok++ % (uint64_t)every == 0) {
        run_step(mb, STEP_STATUS);
        return;
    }
    check_done(mb, true, "ok");
}

/* The check's queries all answered: a DRAINING backend is asked how busy it
 * is before the check counts as good (STEP_BUSY). */
static void check_good(struct monitor_backend *mb)
{
    if (mb->step != STEP_BUSY && backend_state(mb->rt) == BACKEND_DRAINING) {
        run_step(mb, STEP_BUSY);
        return;
    }
    check_passed(mb);
}

/* STEP_BUSY's answer (res NULL: it failed, which the health does not
 * count): the busy connections, for `backend NAME drain` to wait on. */
static void busy_note(struct monitor_backend *mb, const struct sqlresult *res)
{
    const char *v = res != NULL && res->n_rows == 1 ? sqlresult_get(res, 0, 0) : NULL;
    const char *priv = res != NULL && res->n_rows == 1 ? sqlresult_get(res, 0, 1) : NULL;
    int64_t busy = cell_i64(v, 0, INT64_MAX, -3); /* NULL or not a number: cannot tell */
    if (priv != NULL && strcmp(priv, "0") == 0)
        busy = -2; /* it sees its own connections only */
    atomic_store(&mb->rt->drain_busy, busy);
    atomic_store(&mb->rt->drain_checked_us, (int64_t)(mb->started * 1e6));
    check_passed(mb);
}

/* cluster = dual-master: mb's server refused or reset the check's
 * connection (it is gone, its host answers). Whether the other server lost
 * it too is what the failover waits for (dualmaster.h): that server is
 * checked now rather than at its next interval. */
static void peers_check_now(struct monitor_backend *mb)
{
    struct monitor *m = mb->m;
    if (grp_of(mb)->cluster != CLUSTER_DUAL_MASTER)
        return;
    for (size_t i = 0; i < m->n; i++) {
        struct monitor_backend *o = m->mb[i];
        if (o != NULL && o != mb && o->be->group == mb->be->group && !o->checking)
            start_check(o, false);
    }
}

static void check_cb(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    struct monitor_backend *mb = arg;
    if (check_moved_away(mb))
        return; /* nothing of what it read is kept (vars, the load, the ahead checks) */
    if (!res->ok && mb->step == STEP_BUSY && res->err_code != 0) {
        busy_note(mb, NULL);
        return;
    }
    if (!res->ok && mb->step >= STEP_STATUS) {
        /* Not a failed check: the server answered the ping and the
         * check's queries. A local failure (timeout) leaves the
         * connection in an unknown state: the next check opens another.
         * A server that refuses SHOW BINARY LOGS (no BINLOG MONITOR,
         * no log_bin) or has no DISKS plugin is not asked that again on
         * this connection; what it did answer still counts. */
        hy_log_debug("backend %s: reading its load failed: %s", mb->be->name, res->err_msg);
        if (res->err_code != 0 && mb->step > STEP_STATUS) {
            extra_refused(mb, res);
            status_continue(mb);
            return;
        }
        if (res->err_code == 0)
            sqlclient_close(mb->sc);
        check_done(mb, true, "ok");
        return;
    }
    if (!res->ok) {
        /* A connection kept from the last check may have died in between
         * (the server restarted): one fresh try before it counts. */
        if (!mb->fresh && res->err_code == 0) {
            run_step(mb, STEP_CONNECT);
            return;
        }
        mb->refused =
            res->err_code == 0 && (res->sys_errno == ECONNREFUSED || res->sys_errno == ECONNRESET);
        if (mb->refused)
            peers_check_now(mb);
        if (res->err_code != 0)
            check_done(mb, false, "%s: ERROR %u (%s): %s", step_names[mb->step], res->err_code,
                       res->sqlstate, res->err_msg);
        else
            check_done(mb, false, "%s: %s", step_names[mb->step], res->err_msg);
        return;
    }
    switch ((enum step)mb->step) {
    case STEP_PING:
    case STEP_CONNECT:
        if (mb->step == STEP_PING) { /* the same connection as the last check */
            if (mb->ping_counts)
                rtt_note(mb->rt, ev_time() - mb->ping_sent);
        } else { /* what halyard's own greeting says (backend_greeting_version) */
            backend_version_note(mb->rt, sqlclient_server_version(c));
        }
        if (galera(mb)) {
            mb->wsrep_next = (struct galera_node){0};
            run_step(mb, STEP_WSREP_STATUS);
        } else {
            run_step(mb, STEP_VARS);
        }
        return;
    case STEP_WSREP_STATUS:
        monitor_parse_wsrep(res, &mb->wsrep_next);
        run_step(mb, STEP_WSREP_VARS);
        return;
    case STEP_WSREP_VARS:
        monitor_parse_wsrep(res, &mb->wsrep_next);
        parse_wsrep_vars(mb, res);
        check_good(mb); /* mb->wsrep is set when the check is done */
        return;
    case STEP_VARS:
        if (res->n_rows != 1 || res->n_cols < 8) {
            check_done(mb, false, "%s: unexpected answer", step_names[mb->step]);
            return;
        }
        parse_vars(mb, res);
        mb->vars_at = ev_time();
        monitor_ahead_check(mb);
        run_step(mb, STEP_SLAVES);
        return;
    case STEP_SLAVES: {
        char why[160];
        if (monitor_parse_replication(res, &mb->repl, why, sizeof(why)) != HY_OK) {
            check_done(mb, false, "%s", why);
            return;
        }
        check_good(mb);
        return;
    }
    case STEP_BUSY:
        busy_note(mb, res);
        return;
    case STEP_STATUS:
        srv_status_init(&mb->status_next);
        for (size_t r = 0; r < res->n_rows; r++)
            srv_status_fold(&mb->status_next, sqlresult_get(res, r, 0), sqlresult_get(res, r, 1));
        status_continue(mb);
        return;
    case STEP_BINLOGS:
        binlogs_note(mb, res);
        status_continue(mb);
        return;
    case STEP_DISK:
        disk_note(mb, res);
        status_continue(mb);
        return;
    }
}

static void start_check(struct monitor_backend *mb, bool in_round)
{
    struct monitor *m = mb->m;
    if (!checked(mb))
        return;
    if (!backend_checks_current(mb->rt, mb->be->checks_gen)) {
        /* until the monitor has the config of the reload that moved it */
        moved_note(mb, "not checked at the address a reload moved it from");
        return;
    }
    struct monitor_round *r = mb->be->group < m->n_rounds ? &m->rounds[mb->be->group] : NULL;
    if (r == NULL)
        in_round = false;
    ev_timer_stop(m->loop, &mb->recheck);
    if (mb->checking) {
        if (in_round && !mb->in_round) {
            mb->in_round = true; /* the round waits for the one already running */
            r->pending++;
        }
        return;
    }
    if (mb->sc == NULL) {
        struct sqlclient_target t;
        target_of(m, (size_t)mb->index, &t);
        mb->sc = sqlclient_create(m->loop, &t, grp_of(mb)->timeout_ms);
        if (mb->sc == NULL) {
            hy_log_error("monitor: out of memory checking %s", mb->be->name);
            return;
        }
    }
    mb->checking = true;
    mb->refused = false;
    mb->in_round = in_round;
    if (in_round)
        r->pending++;
    mb->deadline = ev_now(m->loop) + grp_of(mb)->timeout_ms / 1000.0;
    mb->started = ev_time();
    mb->checks_gen = mb->be->checks_gen;
    if (sqlclient_ready(mb->sc)) {
        mb->fresh = false;
        run_step(mb, STEP_PING);
    } else {
        run_step(mb, STEP_CONNECT);
    }
}

static void recheck_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    start_check(t->data, false);
}

static void round_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct monitor_round *r = container_of(t, struct monitor_round, timer);
    struct monitor *m = r->m;
    /* A round still waiting for a slow check is left behind. */
    r->id++;
    r->pending = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (m->mb[i] != NULL && m->mb[i]->be->group == r->g)
            m->mb[i]->in_round = false;
    }
    for (size_t i = 0; i < m->n; i++) {
        if (m->mb[i] != NULL && m->mb[i]->be->group == r->g)
            start_check(m->mb[i], true);
    }
}

/* ---- wake-ups from other threads ------------------------------------- */

static void report_hook(struct backend_rt *rt, void *arg)
{
    (void)rt;
    struct monitor *m = arg;
    ev_async_send(m->loop, &m->wake);
}

static void wake_cb(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)revents;
    struct monitor *m = container_of(a, struct monitor, wake);
    if (atomic_load(&m->stop)) {
        for (size_t i = 0; i < m->n; i++) {
            if (m->mb[i] != NULL)
                mb_cancel(m->mb[i]);
        }
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    struct config *cfg = atomic_exchange(&m->pending, NULL);
    if (cfg != NULL)
        apply_config(m, cfg);
    if (!monitoring(m))
        return;
    bool changed = false;
    for (size_t i = 0; i < m->n; i++) {
        struct monitor_backend *mb = m->mb[i];
        if (mb == NULL || !atomic_exchange(&mb->rt->check_now, false) || !checked(mb))
            continue;
        /* One worker report counts as one failed check, however many
         * sessions saw the same failure; the checks confirm it. */
        if (!mb->passive_counted) {
            mb->passive_counted = true;
            struct backend_info info;
            backend_info_get(mb->rt, &info);
            char why[200];
            snprintf(why, sizeof(why), "worker: %s", info.last_failure);
            if (monitor_feed(mb, false, why)) {
                changed = true;
                monitor_update_roles(m);
            }
        }
        start_check(mb, false);
    }
    if (changed)
        run_hook(m);
}

/* ---- life ------------------------------------------------------------- */

static void *monitor_main(void *arg)
{
    struct monitor *m = arg;
    ev_run(m->loop, 0);
    return NULL;
}

struct monitor *monitor_create(struct config *cfg)
{
    struct monitor *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->loop = ev_loop_new(EVFLAG_AUTO);
    if (m->loop == NULL) {
        free(m);
        return NULL;
    }
    m->cfg = config_get(cfg);
    ev_async_init(&m->wake, wake_cb);
    ev_async_start(m->loop, &m->wake);
    m->n = cfg->n_backends;
    m->mb = calloc(m->n ? m->n : 1, sizeof(*m->mb));
    if (m->mb == NULL) {
        monitor_destroy(m);
        return NULL;
    }
    for (size_t i = 0; i < m->n; i++) {
        if ((m->mb[i] = mb_create(m, cfg, &cfg->backends[i], (int)i)) == NULL) {
            monitor_destroy(m);
            return NULL;
        }
        if (checked(m->mb[i]))
            atomic_fetch_add(&m->unchecked, 1);
    }
    if ((m->users = users_loader_create(m->loop, cfg)) == NULL ||
        (m->shards = shard_loader_create(m->loop, cfg)) == NULL) {
        monitor_destroy(m);
        return NULL;
    }
    /* The first round at once, then every interval. */
    if (!rounds_rebuild(m, 0.)) {
        monitor_destroy(m);
        return NULL;
    }
    return m;
}

hy_status_t monitor_start(struct monitor *m)
{
    backend_set_report_hook(report_hook, m);
    if (pthread_create(&m->thread, NULL, monitor_main, m) != 0) {
        backend_set_report_hook(NULL, NULL);
        return HY_ERROR;
    }
    m->started = true;
    if (monitoring(m)) {
        for (size_t g = 0; g < m->cfg->n_groups; g++) {
            const struct config_group *grp = &m->cfg->groups[g];
            if (grp->monitor_user[0] == '\0') {
                hy_log_info("monitor: group %s: no monitor.user: its %zu backends are not checked",
                            grp->name, grp->n_members);
                continue;
            }
            hy_log_info("monitor: checking %zu backends as %s every %d ms (timeout %d ms, rise "
                        "%d, fall %d)%s%s",
                        grp->n_members, grp->monitor_user, grp->interval_ms, grp->timeout_ms,
                        grp->rise, grp->fall, m->cfg->groups_explicit ? ": group " : "",
                        m->cfg->groups_explicit ? grp->name : "");
        }
    } else
        hy_log_info("monitor: no monitor.user: no health checks, every backend is ONLINE with its "
                    "config role");
    return HY_OK;
}

void monitor_publish_config(struct monitor *m, struct config *cfg)
{
    struct config *old = atomic_exchange(&m->pending, config_get(cfg));
    config_put(old);
    ev_async_send(m->loop, &m->wake);
}

void monitor_stop(struct monitor *m)
{
    if (m == NULL || !m->started)
        return;
    backend_set_report_hook(NULL, NULL);
    atomic_store(&m->stop, true);
    ev_async_send(m->loop, &m->wake);
    pthread_join(m->thread, NULL);
    m->started = false;
}

void monitor_destroy(struct monitor *m)
{
    if (m == NULL)
        return;
    monitor_stop(m);
    for (size_t i = 0; i < m->n; i++) {
        if (m->mb != NULL && m->mb[i] != NULL)
            mb_destroy(m->mb[i]);
    }
    free(m->mb);
    users_loader_destroy(m->users);
    shard_loader_destroy(m->shards);
    config_put(atomic_exchange(&m->pending, NULL));
    config_put(m->cfg);
    for (size_t g = 0; g < m->n_rounds; g++)
        ev_timer_stop(m->loop, &m->rounds[g].timer);
    free(m->rounds);
    ev_async_stop(m->loop, &m->wake);
    ev_loop_destroy(m->loop);
    free(m);
}

bool monitor_wait_first(struct monitor *m, double max_s)
{
    double until = ev_time() + max_s;
    while (atomic_load(&m->unchecked) > 0) {
        if (ev_time() >= until)
            return false;
        ev_sleep(0.005);
    }
    return true;
}

void monitor_set_round_hook(struct monitor *m, monitor_hook_fn fn, void *arg)
{
    m->hook = fn;
    m->hook_arg = arg;
}
