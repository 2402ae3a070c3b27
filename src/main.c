/*
 * main.c: command line, config, signals, and the worker threads' life.
 *
 * The main thread runs its own libev loop for signals only:
 *   SIGTERM / SIGINT  graceful stop: listeners close, statements in flight
 *                     finish (bounded by shutdown_timeout_ms), exit 0;
 *                     a second signal stops at once
 *   SIGHUP            reload the config file: on any error keep the running
 *                     config and log why; on success new sessions use it
 *   SIGUSR1           reopen the log file (after logrotate renamed it)
 *
 * and, when configured, the admin socket (admin.c) and the metrics endpoint
 * (metrics.c). `reload` on the admin socket and SIGHUP run the same
 * app_reload().
 *
 * Under systemd (Type=notify, NOTIFY_SOCKET set) halyard says READY=1 once
 * its listeners are open, RELOADING=1 then READY=1 around a reload (with
 * STATUS= saying how it went) and STOPPING=1 when it stops; sd_notify()
 * does nothing without NOTIFY_SOCKET.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "halyard/core/clock.h"
#include "halyard/core/memory.h"
#include "halyard/core/oprun.h"
#include "halyard/core/selfwatch.h"
#include "halyard/backup/backup_copy.h"
#include "halyard/backup/backup_full.h"
#include "halyard/backup/backup_sched.h"
#include "halyard/backup/backup_verify.h"
#include "halyard/backup/binlog_archive.h"
#include "halyard/capture/capture.h"
#include "halyard/cache/cache.h"
#include "halyard/cluster/xa_log_writer.h"
#include "halyard/cluster/xa_recover.h"
#include "halyard/admin/admin.h"
#include "halyard/admin/admin_sql.h"
#include "halyard/admin/alerts.h"
#include "halyard/admin/failover_tally.h"
#include "halyard/core/audit.h"
#include "halyard/cluster/backend.h"
#include "halyard/limits/limits.h"
#include "halyard/cluster/global_pos.h"
#include "halyard/config/config.h"
#include "halyard/protocol/conn.h"
#include "halyard/core/events.h"
#include "halyard/route/firewall.h"
#include "halyard/session/guard.h"
#include "halyard/core/log.h"
#include "halyard/admin/metrics.h"
#include "halyard/web/web.h"
#include "halyard/cluster/failover_exec.h"
#include "halyard/cluster/monitor.h"
#include "halyard/protocol/resolve.h"
#include "halyard/core/stats.h"
#include "halyard/admin/status.h"
#include "halyard/core/takeover.h"
#include "halyard/session/worker.h"
#include "halyard/trace/trace_export.h"

/* `git describe --always --dirty` of the build, "" outside a git checkout
 * (the Makefile writes it: build/gen/build_id.c). */
extern const char halyard_build_id[];

struct app {
    struct config *cfg;
    const char *config_path;
    struct worker *workers;
    int n_workers;
    struct ev_loop *loop;
    ev_signal sig_term, sig_int, sig_hup, sig_usr1;
    ev_async workers_done;
    ev_timer shutdown_timer;
    ev_timer selfwatch_timer; /* once a second: selfwatch_tick */
    struct selfwatch selfwatch;
    int trim_ticks; /* seconds since the last hy_memory_tick */
    struct hy_memory_watch memwatch;
    struct failover_tally tally; /* failover_sessions events (failover_tally.h) */
    bool stopping;
    struct status st; /* what the admin socket and the metrics show */
    struct admin *admin;
    struct metrics *metrics;
    struct web *web;  /* the status page (metrics_status_page), NULL = none */
    bool handed_over; /* a new halyard took our listening sockets over */
    struct monitor *monitor;
    const char *pidfile;  /* written by us, removed at exit; NULL = none */
    sigset_t sigmask_old; /* the signal mask before signals_block() */
    int takeover_conn;    /* --takeover: the connection to the old halyard */
};

static struct app app;

/* Where halyard looks for its config when -c does not say. */
#define HALYARD_CONFIG_PATH "/etc/halyard/halyard.conf"

static void usage(FILE *out)
{
    fprintf(out, "usage: halyard [-c FILE] [-t] [-d] [-p PIDFILE] [--takeover] [--dump-keys] [-V]\n"
                 "  -c, --config FILE   config file (default " HALYARD_CONFIG_PATH ")\n"
                 "  -t, --test          check the config file and exit (0 = valid)\n"
                 "  -d, --daemon        run in the background\n"
                 "  -p, --pidfile FILE  write the process id to FILE\n"
                 "      --takeover      take the listening sockets over from the halyard serving\n"
                 "                      admin_socket, then have it drain and exit (upgrades)\n"
                 "      --dump-keys     print every config key with type, default and bounds\n"
                 "  -V, --version       print the version (and the git commit built)\n");
}

static void on_worker_done(struct worker *w)
{
    (void)w;
    ev_async_send(app.loop, &app.workers_done);
}

static void workers_done_cb(struct ev_loop *loop, ev_async *a, int revents)
{
    (void)a;
    (void)revents;
    for (int i = 0; i < app.n_workers; i++) {
        if (!atomic_load(&app.workers[i].done))
            return;
    }
    ev_break(loop, EVBREAK_ALL);
}

static void shutdown_timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)t;
    (void)revents;
    hy_log_warn("shutdown: statements still running after %d ms; closing them",
                app.cfg->shutdown_timeout_ms);
    for (int i = 0; i < app.n_workers; i++)
        worker_request_stop(&app.workers[i], true);
}

/* Graceful stop: listeners close, statements in flight finish (at most
 * shutdown_timeout_ms). `drain` (after a takeover): every session, idle or
 * logging in, goes on until its client leaves, within the same bound. */
static void app_stop(const char *why, bool drain)
{
    app.stopping = true;
    sd_notifyf(0, "STOPPING=1\nSTATUS=stopping: %s", why);
    /* The workers close their listeners first: a log or event write that
     * blocks (a busy disk) must not leave the port accepting. */
    for (int i = 0; i < app.n_workers; i++) {
        if (drain)
            worker_request_drain(&app.workers[i]);
        else
            worker_request_stop(&app.workers[i], false);
    }
    hy_log_info("%s: stopping; %s get %d ms", why, drain ? "sessions" : "statements in flight",
                app.cfg->shutdown_timeout_ms);
    char action[96];
    snprintf(action, sizeof(action), "%s get %d ms", drain ? "sessions" : "statements in flight",
             app.cfg->shutdown_timeout_ms);
    events_emit(EVENT_HALYARD_STOPPING, NULL, "running", "stopping", why, action);
    ev_timer_set(&app.shutdown_timer, app.cfg->shutdown_timeout_ms / 1000.0, 0.);
    ev_timer_start(app.loop, &app.shutdown_timer);
}

static void selfwatch_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)t;
    (void)revents;
    selfwatch_tick(&app.selfwatch, app.cfg->fd_warn_pct);
    backup_sched_tick(app.cfg, time(NULL));
    int64_t beats[SELFWATCH_WORKERS_MAX];
    int n = app.n_workers < SELFWATCH_WORKERS_MAX ? app.n_workers : SELFWATCH_WORKERS_MAX;
    for (int i = 0; i < n; i++)
        beats[i] = atomic_load_explicit(&app.workers[i].beat_us, memory_order_relaxed);
    selfwatch_workers(&app.selfwatch, beats, n, app.cfg->worker_stall_ms);
    failover_tally_tick(&app.tally, &app.st, hy_now_us());
    /* Memory freed stays in the allocator's arenas (one a thread that
     * allocates) until given back: every 30 s, once RSS has grown 512 KiB
     * since, it is (memory.h; 2 to 5 ms in tools/soak, each arena locked in
     * turn). */
    if (++app.trim_ticks >= 30) {
        app.trim_ticks = 0;
        hy_memory_tick(&app.memwatch, 512);
    }
}

static void stop_cb(struct ev_loop *loop, ev_signal *sig, int revents)
{
    (void)loop;
    (void)revents;
    if (app.stopping) {
        hy_log_warn("signal %d again: stopping now", sig->signum);
        for (int i = 0; i < app.n_workers; i++)
            worker_request_stop(&app.workers[i], true);
        return;
    }
    char why[32];
    snprintf(why, sizeof(why), "signal %d", sig->signum);
    app_stop(why, false);
}

/* admin `takeover finish`: a new halyard accepts on our listening sockets.
 * Free the metrics port for it and drain as SIGTERM does. */
static void app_takeover_done(struct status *st)
{
    app.handed_over = true;
    metrics_destroy(app.metrics);
    app.metrics = NULL;
    web_destroy(app.web);
    app.web = NULL;
    st->metrics[0] = '\0';
    admin_sql_stop(app.admin); /* its port is the new halyard's too */
    if (!app.stopping)
        app_stop("takeover: a new halyard has the listeners", true);
}

/* A listening socket the main thread opened (or inherited) for a worker. */
struct new_socket {
    int worker;
    struct worker_listen wl;
};

static void sockets_close(struct new_socket *ns, size_t n)
{
    for (size_t i = 0; i < n; i++)
        close(ns[i].wl.fd);
    free(ns);
}

static bool listener_in(const struct config *cfg, const struct config_listener *l)
{
    for (size_t i = 0; cfg != NULL && i < cfg->n_listeners; i++) {
        if (cfg->listeners[i].port == l->port && strcmp(cfg->listeners[i].address, l->address) == 0)
            return true;
    }
    return false;
}

/* Open one socket per worker for every listener of `cfg` that `old` has
 * not (same address and port; every listener when `old` is NULL), after
 * the `n_have` sockets already in *out (handed over: see takeover.c).
 * HY_ERROR with "FILE:LINE: listeners.[i].port: why" in `err`, every socket
 * closed. */
static hy_status_t listeners_open(const struct config *cfg, const struct config *old, int n_workers,
                                  struct new_socket **out, size_t *n_out, char *err, size_t errlen)
{
    size_t n = *n_out, cap = n + cfg->n_listeners * (size_t)n_workers;
    struct new_socket *ns = realloc(*out, (cap ? cap : 1) * sizeof(*ns));
    if (ns == NULL) {
        snprintf(err, errlen, "out of memory");
        return HY_ERROR;
    }
    *out = ns;
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        const struct config_listener *l = &cfg->listeners[i];
        if (listener_in(old, l))
            continue;
        for (int w = 0; w < n_workers; w++) {
            bool have = false;
            for (size_t k = 0; k < *n_out && !have; k++)
                have = ns[k].worker == w && ns[k].wl.listener == i;
            if (have)
                continue; /* handed over */
            char why[256];
            int fd = net_listen(l->address, l->port, l->backlog, why, sizeof(why));
            if (fd < 0) {
                snprintf(err, errlen, "%s:%d: listeners.[%zu].port: %s", cfg->path, l->line, i,
                         why);
                sockets_close(ns, n);
                *out = NULL;
                *n_out = 0;
                return HY_ERROR;
            }
            ns[n++] = (struct new_socket){w, {fd, i}};
        }
    }
    *n_out = n;
    return HY_OK;
}

/* Hand worker `w` its sockets of `ns` (they are its from then on). */
static size_t sockets_of(const struct new_socket *ns, size_t n, int w, struct worker_listen *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (ns[i].worker == w)
            out[k++] = ns[i].wl;
    }
    return k;
}

/* --takeover: ask the halyard serving our admin socket for its listening
 * sockets and spread them over our workers (round robin per listener).
 * HY_AGAIN: nobody to take over from. */
static hy_status_t takeover_begin(int *conn, struct new_socket **out, size_t *n_out, char *err,
                                  size_t errlen)
{
    struct takeover_sock *socks;
    size_t n;
    hy_status_t rc = takeover_fetch(app.cfg->admin_socket, &socks, &n, conn, err, errlen);
    if (rc != HY_OK)
        return rc;
    struct new_socket *ns = calloc(n + 1, sizeof(*ns));
    size_t *per = calloc(app.cfg->n_listeners + 1, sizeof(*per));
    if (ns == NULL || per == NULL) {
        snprintf(err, errlen, "out of memory");
        for (size_t i = 0; i < n; i++)
            close(socks[i].fd);
        free(socks);
        free(ns);
        free(per);
        close(*conn);
        return HY_ERROR;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int li = -1;
        for (size_t j = 0; j < app.cfg->n_listeners && li < 0; j++) {
            const struct config_listener *l = &app.cfg->listeners[j];
            if (l->port == socks[i].port && strcmp(l->address, socks[i].address) == 0)
                li = (int)j;
        }
        if (li < 0) {
            hy_log_warn("takeover: listener '%s' (%s:%d) is not in %s: its socket is closed",
                        socks[i].name, socks[i].address, socks[i].port, app.config_path);
            close(socks[i].fd);
            continue;
        }
        ns[k++] = (struct new_socket){(int)(per[li]++ % (size_t)app.n_workers),
                                      {socks[i].fd, (size_t)li}};
    }
    hy_log_info("takeover: received %zu listening sockets from the halyard on %s", n,
                app.cfg->admin_socket);
    free(socks);
    free(per);
    *out = ns;
    *n_out = k;
    return HY_OK;
}

/* admin_socket left out: its directory (/run/halyard) is made when it is
 * missing (systemd makes it: RuntimeDirectory), and a socket that cannot be
 * made (not root, another instance has it) is said and done without. */
static void open_admin_default(char *err, size_t errlen)
{
    char dir[128];
    snprintf(dir, sizeof(dir), "%s", app.cfg->admin_socket);
    char *slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            hy_log_debug("admin socket: cannot make %s: %s", dir, strerror(errno));
    }
    if ((app.admin = admin_create(&app.st, app.cfg->admin_socket, err, errlen)) == NULL) {
        hy_log_warn("%s; running without an admin socket (set admin_socket to have one)", err);
        app.st.admin_socket[0] = '\0';
    }
}

/* The admin socket and the metrics listener. */
static hy_status_t open_admin_metrics(bool replace_socket, char *err, size_t errlen)
{
    if (app.cfg->admin_socket[0] != '\0') {
        struct stat sb;
        /* After a takeover the old halyard still holds its socket (it is
         * draining): put ours at the path. */
        if (replace_socket && lstat(app.cfg->admin_socket, &sb) == 0 && S_ISSOCK(sb.st_mode) &&
            sb.st_uid == geteuid())
            unlink(app.cfg->admin_socket);
        if (app.cfg->admin_socket_default && !replace_socket)
            open_admin_default(err, errlen);
        else if ((app.admin = admin_create(&app.st, app.cfg->admin_socket, err, errlen)) == NULL)
            return HY_ERROR;
    }
    if (app.cfg->metrics_port > 0 &&
        (app.metrics = metrics_create(&app.st, app.cfg->metrics_address, app.cfg->metrics_port,
                                      app.cfg->metrics_auth, app.cfg->metrics_tls, err, errlen)) ==
            NULL)
        return HY_ERROR;
    if (app.metrics != NULL && app.cfg->metrics_status_page) {
        if ((app.web = web_create(&app.st)) == NULL) {
            snprintf(err, errlen, "status page: out of memory");
            return HY_ERROR;
        }
        metrics_set_pages(app.metrics, web_page, app.web);
    }
    if (app.cfg->admin_listen[0] != '\0') {
        /* The SQL admin port runs the admin socket's commands: it needs the
         * admin's loop work even without a socket. */
        if (app.admin == NULL && (app.admin = admin_create(&app.st, "", err, errlen)) == NULL)
            return HY_ERROR;
        if (admin_sql_create(app.admin, app.cfg->admin_listen, err, errlen) != HY_OK)
            return HY_ERROR;
    }
    return HY_OK;
}

/* The resolver follows the config's host names: the backends', then the
 * failover witnesses'. */
static void resolve_follow(const struct config *cfg, int wait_ms)
{
    size_t n = cfg->n_backends + cfg->n_witnesses;
    const char **hosts = calloc(n + 1, sizeof(*hosts));
    if (hosts == NULL) {
        hy_log_error("dns: out of memory: names are resolved at their first connect");
        return;
    }
    for (size_t i = 0; i < n; i++)
        hosts[i] = i < cfg->n_backends ? cfg->backends[i].address
                                       : cfg->witnesses[i - cfg->n_backends].address;
    resolve_configure(hosts, n, cfg->dns_refresh_ms, wait_ms);
    free(hosts);
}

/* Load the config file for a reload: its warnings logged; on errors,
 * each logged when there are several, and `err` the first and how many. */
static hy_status_t reload_load(struct config **fresh, char *err, size_t errlen)
{
    struct config_report rep;
    hy_status_t rc = config_load_report(app.config_path, fresh, &rep);
    for (size_t i = 0; i < rep.n_warnings; i++)
        hy_log_warn("reload: %s", rep.warnings[i].text);
    for (size_t i = 0; rep.n_errors > 1 && i < rep.n_errors; i++)
        hy_log_error("reload: %s", rep.errors[i].text);
    if (rc != HY_OK) {
        int n = snprintf(err, errlen, "%s", rep.n_errors > 0 ? rep.errors[0].text : "failed");
        if (rep.n_errors > 1 && n >= 0 && (size_t)n < errlen)
            snprintf(err + n, errlen - (size_t)n, "; and %zu more error%s", rep.n_errors - 1,
                     rep.n_errors > 2 ? "s" : "");
    }
    config_report_free(&rep);
    return rc;
}

/* The counters' entries of every listener and group of `cfg` (stats.h). */
static hy_status_t stats_add(const struct config *cfg)
{
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        if (stats_listener_add(cfg->listeners[i].name) != HY_OK)
            return HY_NOMEM;
    }
    for (size_t i = 0; i < cfg->n_groups; i++) {
        if (stats_group_add(cfg->groups[i].name) != HY_OK)
            return HY_NOMEM;
    }
    return HY_OK;
}

/* Re-read the config file; on any error keep the running config. SIGHUP
 * and the admin socket's `reload` both come here; `by` names who asked. The
 * result is kept in app.st for `show status` and the metrics. */
static hy_status_t app_reload_config(struct status *st, const char *by)
{
    char err[1024];
    struct config *fresh = NULL;
    hy_status_t rc = reload_load(&fresh, err, sizeof(err));
    if (rc == HY_OK && (backend_rt_attach(fresh) != HY_OK || stats_add(fresh) != HY_OK ||
                        limits_attach(fresh) != HY_OK)) {
        snprintf(err, sizeof(err), "out of memory");
        config_put(fresh);
        rc = HY_ERROR;
    }
    /* Listeners the running config does not have: open their sockets now,
     * so a port that cannot be bound fails the reload. */
    struct new_socket *ns = NULL;
    size_t n_ns = 0;
    if (rc == HY_OK && !app.stopping &&
        (rc = listeners_open(fresh, app.cfg, app.n_workers, &ns, &n_ns, err, sizeof(err))) != HY_OK)
        config_put(fresh);
    if (rc == HY_OK) { /* a new log_file, or syslog turned on, off, or retried */
        char why[512];
        rc = log_open(fresh->log_file, fresh->log_syslog, why, sizeof(why));
        if (rc != HY_OK) {
            snprintf(err, sizeof(err), "%s: log_file: %s", app.config_path, why);
            config_put(fresh);
        } else if ((rc = audit_open(fresh->audit_log, fresh->query_log,
                                    fresh->query_log_min_duration_ms, why, sizeof(why))) != HY_OK) {
            snprintf(err, sizeof(err), "%s: %s", app.config_path, why);
            config_put(fresh);
        } else if ((rc = guard_resize((size_t)fresh->auth_block_table_size)) != HY_OK) {
            snprintf(err, sizeof(err), "%s: auth_block_table_size: out of memory", app.config_path);
            config_put(fresh);
        }
        if (rc != HY_OK) {
            sockets_close(ns, n_ns);
            ns = NULL;
            n_ns = 0;
        }
    }
    st->last_reload = time(NULL);
    st->last_reload_ok = rc == HY_OK;
    snprintf(st->last_reload_by, sizeof(st->last_reload_by), "%s", by);
    if (rc != HY_OK) {
        st->reloads_failed++;
        snprintf(st->last_reload_error, sizeof(st->last_reload_error), "%s", err);
        hy_log_error("reload failed, keeping the running config: %s", err);
        log_audit("reload by %s: failed: %s", by, err);
        audit_reload(false, by, err);
        events_emit(EVENT_CONFIG_RELOAD_FAILED, NULL, NULL, NULL, err,
                    "the running config stays in use");
        return HY_ERROR;
    }
    st->reloads_ok++;
    st->last_reload_error[0] = '\0';
    /* a backend added or moved: no reads until checked, and the checks of
     * its old address count for nothing from now on (not before: a reload
     * that failed moved nothing) */
    backend_rt_mark_unchecked(fresh, app.cfg);
    /* names the new config adds: resolved before sessions can use them */
    resolve_follow(fresh, RESOLVE_RELOAD_WAIT_MS);
    struct worker_listen *mine = calloc(n_ns + 1, sizeof(*mine));
    for (int i = 0; i < app.n_workers; i++) {
        size_t k = mine != NULL ? sockets_of(ns, n_ns, i, mine) : 0;
        if (mine == NULL || worker_publish_config(&app.workers[i], fresh, mine, k) != HY_OK) {
            hy_log_error("worker %d: out of memory: it keeps the old config", i);
            for (size_t j = 0; j < k; j++)
                close(mine[j].fd);
        }
    }
    free(mine);
    free(ns);
    for (size_t i = 0; i < fresh->n_listeners; i++) {
        if (!listener_in(app.cfg, &fresh->listeners[i]))
            hy_log_info("reload: listening on %s:%d (%s)", fresh->listeners[i].address,
                        fresh->listeners[i].port, fresh->listeners[i].name);
    }
    for (size_t i = 0; i < app.cfg->n_listeners; i++) {
        if (!listener_in(fresh, &app.cfg->listeners[i]))
            hy_log_info("reload: no longer listening on %s:%d (%s)", app.cfg->listeners[i].address,
                        app.cfg->listeners[i].port, app.cfg->listeners[i].name);
    }
    if (app.monitor != NULL)
        monitor_publish_config(app.monitor, fresh);
    failover_exec_set_config(fresh);
    binlog_archive_set_config(fresh);
    cache_set_config(fresh);
    xa_recover_set_config(fresh);
    backup_copy_set_config(fresh);
    backup_full_seed(fresh);
    backup_verify_seed(fresh);
    log_set_level(fresh->log_level);
    firewall_set_max((size_t)fresh->firewall_learn_max);
    config_put(app.cfg);
    app.cfg = fresh;
    st->cfg = fresh;
    hy_log_info("reloaded %s (workers, buffer_size, digest_max_entries, admin_socket and "
                "metrics_* apply at the next restart)",
                app.config_path);
    log_audit("reload by %s: ok", by);
    audit_reload(true, by, NULL);
    alerts_set_config(fresh);
    trace_export_procedures(fresh->tracing.enabled);
    events_set_instance(fresh->instance_name);
    char reason[160];
    snprintf(reason, sizeof(reason), "reload by %s", by);
    events_emit(EVENT_CONFIG_RELOADED, NULL, NULL, NULL, reason, "new sessions use the new config");
    return HY_OK;
}

/* What a reload's span counts in a config (core/oprun.h). */
struct reload_counts {
    int64_t n[6];
};

static const char *const reload_count_keys[6][2] = {
    {"halyard.reload.backends", "halyard.reload.backends.before"},
    {"halyard.reload.listeners", "halyard.reload.listeners.before"},
    {"halyard.reload.groups", "halyard.reload.groups.before"},
    {"halyard.reload.users", "halyard.reload.users.before"},
    {"halyard.reload.rules", "halyard.reload.rules.before"},
    {"halyard.reload.limits", "halyard.reload.limits.before"},
};

static struct reload_counts reload_count(const struct config *cfg)
{
    struct reload_counts c = {{(int64_t)cfg->n_backends, (int64_t)cfg->n_listeners,
                               (int64_t)cfg->n_groups, (int64_t)cfg->n_users, (int64_t)cfg->n_rules,
                               (int64_t)cfg->n_limits}};
    return c;
}

/* The reload that ran, told as an operation (a span while tracing is on):
 * who asked, applied or refused and why, the counts of the config in force
 * after it beside those before (the same when refused). */
static void reload_told(const struct status *st, const char *by, hy_status_t rc, int64_t start_ns,
                        const struct reload_counts *before)
{
    struct oprun r = {.name = "halyard.reload", .start_ns = start_ns, .end_ns = hy_now_ns()};
    r.ok = rc == HY_OK;
    r.error = r.ok ? NULL : st->last_reload_error;
    struct reload_counts after = reload_count(app.cfg);
    oprun_str(&r, "halyard.procedure", "reload");
    oprun_str(&r, "halyard.trigger", strncmp(by, "admin", 5) == 0 ? "admin" : by);
    oprun_str(&r, "halyard.reload.by", by);
    oprun_bool(&r, "halyard.ok", r.ok);
    oprun_str(&r, "halyard.result", r.ok ? "applied" : "refused");
    oprun_str(&r, "halyard.reason", r.error);
    for (size_t i = 0; i < 6; i++) {
        oprun_int(&r, reload_count_keys[i][0], after.n[i]);
        oprun_int(&r, reload_count_keys[i][1], before->n[i]);
    }
    oprun_done(&r);
}

/* A reload as systemd sees it: RELOADING=1 (with the monotonic time
 * systemd 253 asks for), then READY=1 whatever the outcome, since the
 * running config stays in force when the new one fails. */
static hy_status_t app_reload(struct status *st, const char *by)
{
    sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)hy_mono_us());
    int64_t start_ns = hy_now_ns();
    struct reload_counts before = reload_count(app.cfg);
    hy_status_t rc = app_reload_config(st, by);
    if (oprun_wanted())
        reload_told(st, by, rc, start_ns, &before);
    if (rc == HY_OK)
        sd_notifyf(0, "READY=1\nSTATUS=reloaded by %s", by);
    else
        sd_notifyf(0, "READY=1\nSTATUS=reload by %s failed, the running config stays: %.400s", by,
                   st->last_reload_error);
    return rc;
}

static void reload_cb(struct ev_loop *loop, ev_signal *sig, int revents)
{
    (void)loop;
    (void)sig;
    (void)revents;
    hy_status_t rc HY_UNUSED = app_reload(&app.st, "SIGHUP");
}

static void reopen_cb(struct ev_loop *loop, ev_signal *sig, int revents)
{
    (void)loop;
    (void)sig;
    (void)revents;
    char err[1024];
    bool log_ok = log_reopen(app.cfg->log_syslog, err, sizeof(err)) == HY_OK;
    if (!log_ok)
        hy_log_error("SIGUSR1: %s; logging on to the old file", err);
    /* The audit and query logs before the line that says so: a statement
     * logged after "log reopened" goes to the new files. */
    if (audit_reopen(err, sizeof(err)) != HY_OK)
        hy_log_error("SIGUSR1: %s; writing on to the old file", err);
    if (log_ok)
        hy_log_info("SIGUSR1: log reopened%s%s", log_current_path()[0] ? ": " : "",
                    log_current_path());
}

static int daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    if (setsid() < 0)
        return -1;
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0)
        _exit(0);
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        if (fd > STDERR_FILENO)
            close(fd);
    }
    return 0;
}

/* Every client takes a descriptor and so does its backend connection: raise
 * the soft limit to the hard one (HAProxy and nginx do the same), so ten
 * thousand clients need no ulimit in the service manager. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == rl.rlim_max)
        return;
    rlim_t old = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
        hy_log_info("descriptor limit raised from %llu to %llu", (unsigned long long)old,
                    (unsigned long long)rl.rlim_max);
}

/* After a takeover the new halyard may have written its pid to the same
 * file: remove it only if it still names us. */
static bool pidfile_is_ours(const char *path)
{
    FILE *f = fopen(path, "r");
    int pid = 0;
    if (f == NULL)
        return false;
    bool ours = fscanf(f, "%d", &pid) == 1 && pid == (int)getpid();
    fclose(f);
    return ours;
}

static int write_pidfile(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "%d\n", (int)getpid());
    return fclose(f);
}

/* halyard -t: every error and warning, then a summary line. Exit status 0
 * valid, 1 errors, 2 warnings only (legal, but probably a mistake). */
static int config_test(const char *path)
{
    struct config_report rep;
    struct config *cfg = NULL;
    char err[1024];
    int rc = config_load_report(path, &cfg, &rep) == HY_OK ? 0 : 1;
    /* What the start would find: the directories the backups write to. */
    if (rc == 0 && (binlog_archive_check_dir(cfg, err, sizeof(err)) != HY_OK ||
                    backup_copy_check_dir(cfg, err, sizeof(err)) != HY_OK)) {
        fprintf(stderr, "%s\n", err);
        rc = 1;
    }
    for (size_t i = 0; i < rep.n_errors; i++)
        fprintf(stderr, "%s\n", rep.errors[i].text);
    for (size_t i = 0; i < rep.n_warnings; i++)
        fprintf(stderr, "%s\n", rep.warnings[i].text);
    size_t nw = rep.n_warnings, ne = rep.n_errors + (rc != 0 && rep.n_errors == 0);
    if (rc != 0)
        fprintf(stderr, "halyard: %s: %zu error%s, %zu warning%s\n", path, ne, ne == 1 ? "" : "s",
                nw, nw == 1 ? "" : "s");
    else if (nw > 0)
        printf("halyard: configuration file %s is valid, with %zu warning%s\n", path, nw,
               nw == 1 ? "" : "s");
    else
        printf("halyard: configuration file %s is valid\n", path);
    config_report_free(&rep);
    config_put(cfg);
    return rc != 0 ? 1 : nw > 0 ? 2 : 0;
}

static void monitor_round_done(struct monitor *m, void *arg)
{
    (void)m;
    (void)arg;
    failover_exec_notify();
}

/* What the command line asks for. */
struct options {
    const char *config_path;
    const char *pidfile; /* NULL: none */
    bool test_only;      /* -t: check the config and exit */
    bool daemon;
    bool takeover; /* take the listening sockets over; cleared when nobody serves them */
};

/* -1: go on; else the exit status (--help, --version, --dump-keys, a bad
 * argument). */
static int options_parse(int argc, char **argv, struct options *o)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"test", no_argument, NULL, 't'},
        {"daemon", no_argument, NULL, 'd'},
        {"pidfile", required_argument, NULL, 'p'},
        {"dump-keys", no_argument, NULL, 'K'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {"takeover", no_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };
    *o = (struct options){.config_path = HALYARD_CONFIG_PATH};
    int c;
    while ((c = getopt_long(argc, argv, "c:tdp:Vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->config_path = optarg;
            break;
        case 't':
            o->test_only = true;
            break;
        case 'd':
            o->daemon = true;
            break;
        case 'p':
            o->pidfile = optarg;
            break;
        case 'K':
            config_dump_keys(stdout);
            return 0;
        case 'T':
            o->takeover = true;
            break;
        case 'V':
            if (halyard_build_id[0] != '\0')
                printf("halyard %s (%s)\n", HALYARD_VERSION, halyard_build_id);
            else
                printf("halyard %s\n", HALYARD_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "halyard: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    return -1;
}

/* The config, the run-time state of its backends, listeners and groups,
 * and the log it names. Errors go to stderr. */
static hy_status_t config_first_load(const struct options *o)
{
    char err[1024];
    struct config_report rep;
    hy_status_t lrc = config_load_report(o->config_path, &app.cfg, &rep);
    for (size_t i = 0; i < rep.n_errors; i++)
        fprintf(stderr, "halyard: %s\n", rep.errors[i].text);
    if (lrc != HY_OK) {
        config_report_free(&rep);
        return HY_ERROR;
    }
    app.config_path = o->config_path;
    if (backend_rt_attach(app.cfg) != HY_OK || stats_add(app.cfg) != HY_OK ||
        limits_attach(app.cfg) != HY_OK) {
        fprintf(stderr, "halyard: out of memory\n");
        config_report_free(&rep);
        return HY_ERROR;
    }
    backend_rt_mark_unchecked(app.cfg, NULL);
    log_set_level(app.cfg->log_level);
    if (log_open(app.cfg->log_file, app.cfg->log_syslog, err, sizeof(err)) != HY_OK) {
        fprintf(stderr, "halyard: %s\n", err);
        config_report_free(&rep);
        return HY_ERROR;
    }
    /* The start goes on with a config that is legal but probably wrong:
     * its warnings are logged (halyard -t lists them too). */
    for (size_t i = 0; i < rep.n_warnings; i++)
        hy_log_warn("%s", rep.warnings[i].text);
    config_report_free(&rep);
    return HY_OK;
}

/* The process: SIGPIPE ignored, the descriptor limit, the daemon, the
 * audit log's writer, the pid file. */
static hy_status_t process_setup(const struct options *o)
{
    char err[1024];
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
    if (o->daemon && daemonize() != 0) {
        fprintf(stderr, "halyard: cannot daemonize: %s\n", strerror(errno));
        return HY_ERROR;
    }
    /* After daemonize(): the writer thread must live in the final process. */
    if (audit_open(app.cfg->audit_log, app.cfg->query_log, app.cfg->query_log_min_duration_ms, err,
                   sizeof(err)) != HY_OK) {
        hy_log_error("%s: %s", o->config_path, err);
        return HY_ERROR;
    }
    if (o->pidfile != NULL) {
        if (write_pidfile(o->pidfile) != 0) {
            hy_log_error("cannot write pid file %s: %s", o->pidfile, strerror(errno));
            return HY_ERROR;
        }
        app.pidfile = o->pidfile;
    }
    return HY_OK;
}

/* Workers never take signals: block them before the threads exist (the
 * main loop takes them once running: app_run). */
static void signals_block(void)
{
    sigset_t all;
    sigemptyset(&all);
    sigaddset(&all, SIGTERM);
    sigaddset(&all, SIGINT);
    sigaddset(&all, SIGHUP);
    sigaddset(&all, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &all, &app.sigmask_old);
}

/* What every thread started later may use: the resolver, the main loop,
 * the workers' array, the events and their notifier, the guard, the
 * firewall, and the status the admin socket and the metrics show. */
/* The exporter of spans (trace_export.h): started whether or not
 * tracing.enabled is, so that a reload may turn tracing on; idle, its
 * thread sleeps on its queue. Its receiver, queue and flush timer
 * (tracing.flush_ms) are read here. */
static hy_status_t tracing_start(const struct config *cfg)
{
    const struct config_tracing *t = &cfg->tracing;
    struct trace_export_conf tc = {.endpoint = t->endpoint,
                                   .headers = t->headers[0] != '\0' ? t->headers : NULL,
                                   .ca_file = t->ca_file[0] != '\0' ? t->ca_file : NULL,
                                   .tls_verify = t->tls_verify,
                                   .service = t->service,
                                   .protobuf = t->protobuf,
                                   .queue_size = (uint32_t)t->queue_size,
                                   .batch = 2048,
                                   .timeout_ms = (uint32_t)t->timeout_ms,
                                   .flush_ms = (uint32_t)t->flush_ms,
                                   .retries = 2,
                                   .backoff_ms = 100};
    struct trace_exporter *ex;
    if (trace_export_start(&tc, &ex) != HY_OK)
        return HY_ERROR;
    trace_export_set_global(ex);
    trace_export_procedures(cfg->tracing.enabled);
    return HY_OK;
}

static hy_status_t services_start(void)
{
    char err[1024];
    /* Backend host names resolved once before anything connects (bounded
     * wait); from here on only the resolver thread resolves them. Started
     * after the mask, like every thread: a SIGHUP must never reach it. */
    if (resolve_start() != HY_OK) {
        hy_log_error("cannot start the resolver thread");
        return HY_ERROR;
    }
    resolve_follow(app.cfg, RESOLVE_START_WAIT_MS);

    /* Not libev's default loop: that one reaps every child (SIGCHLD), and
     * the notifier thread waits for its own (alerts.c). */
    app.loop = ev_loop_new(EVFLAG_AUTO);
    app.workers = calloc((size_t)app.cfg->workers, sizeof(*app.workers));
    if (app.workers == NULL) {
        hy_log_error("out of memory");
        return HY_ERROR;
    }
    app.n_workers = app.cfg->workers;
    /* Events first: any thread started below may emit one. */
    err[0] = '\0';
    events_set_instance(app.cfg->instance_name);
    if (events_setup((size_t)app.cfg->alerts.queue_size) != HY_OK ||
        alerts_start(app.cfg, err, sizeof(err)) != HY_OK) {
        hy_log_error("alerts: %s", err[0] ? err : "cannot start");
        return HY_ERROR;
    }
    if (tracing_start(app.cfg) != HY_OK)
        return HY_ERROR;
    if (guard_resize((size_t)app.cfg->auth_block_table_size) != HY_OK) {
        hy_log_error("out of memory");
        return HY_ERROR;
    }
    firewall_set_max((size_t)app.cfg->firewall_learn_max);

    app.st.pid = getpid();
    app.st.started = time(NULL);
    app.st.started_mono = ev_now(app.loop);
    app.st.loop = app.loop;
    app.st.config_path = app.config_path;
    app.st.cfg = app.cfg;
    app.st.workers = app.workers;
    app.st.n_workers = app.n_workers;
    app.st.reload = app_reload;
    snprintf(app.st.admin_socket, sizeof(app.st.admin_socket), "%s", app.cfg->admin_socket);
    if (app.cfg->metrics_port > 0)
        snprintf(app.st.metrics, sizeof(app.st.metrics), "%.250s:%d", app.cfg->metrics_address,
                 app.cfg->metrics_port);
    app.st.takeover_done = app_takeover_done;
    return HY_OK;
}

/* The listening sockets, taken over from the halyard serving our admin
 * socket (--takeover) or opened, and each worker set up with its share.
 * Without a takeover the admin socket and the metrics come up first, so a
 * client that can connect to halyard can also ask about it. */
static hy_status_t workers_setup(struct options *o)
{
    char err[1024];
    struct new_socket *ns = NULL;
    size_t n_ns = 0;
    if (o->takeover) {
        hy_status_t trc = takeover_begin(&app.takeover_conn, &ns, &n_ns, err, sizeof(err));
        if (trc == HY_AGAIN) {
            hy_log_info("%s; starting without a takeover", err);
            o->takeover = false;
        } else if (trc != HY_OK) {
            hy_log_error("%s", err);
            return HY_ERROR;
        }
    }
    if (!o->takeover && open_admin_metrics(false, err, sizeof(err)) != HY_OK) {
        hy_log_error("%s", err);
        return HY_ERROR;
    }
    if (listeners_open(app.cfg, NULL, app.n_workers, &ns, &n_ns, err, sizeof(err)) != HY_OK) {
        hy_log_error("%s", err);
        return HY_ERROR;
    }
    struct worker_listen *mine = calloc(n_ns + 1, sizeof(*mine));
    hy_status_t rc = HY_OK;
    for (int i = 0; i < app.n_workers && rc == HY_OK; i++) {
        size_t k = mine != NULL ? sockets_of(ns, n_ns, i, mine) : 0;
        if (mine == NULL ||
            worker_init(&app.workers[i], i, app.cfg, mine, k, err, sizeof(err)) != HY_OK) {
            hy_log_error("%s", mine == NULL ? "out of memory" : err);
            /* Worker i and those before it own theirs: close the others. */
            for (size_t j = 0; j < n_ns; j++) {
                if (ns[j].worker > i)
                    close(ns[j].wl.fd);
            }
            rc = HY_ERROR;
            break;
        }
        app.workers[i].on_done = on_worker_done;
    }
    free(ns);
    free(mine);
    return rc;
}

/* The workers accept no client before the monitor's first check of each
 * backend ended (or failed): a session's backend connection then logs in
 * after the check that read the server's global completion_type, so a
 * COMMIT of it in flight at a failover can be looked for (before, one of a
 * session that came at start got 1180). Each check is bounded by its
 * group's monitor.timeout_ms; the listeners queue clients meanwhile. */
static void first_checks_wait(void)
{
    int ms = 0;
    for (size_t g = 0; g < app.cfg->n_groups; g++) {
        if (app.cfg->groups[g].timeout_ms > ms)
            ms = app.cfg->groups[g].timeout_ms;
    }
    double max_s = ms / 1000.0 + 1.0;
    if (!monitor_wait_first(app.monitor, max_s))
        hy_log_warn("monitor: the first checks did not end within %.1f s: accepting clients "
                    "before them",
                    max_s);
}

/* The threads, the monitor first: its first round starts at once, so
 * backends that are down at start are known within one check. Then the
 * failover thread, the backup threads, the XA recovery, the workers (after
 * the first checks: first_checks_wait). */
static hy_status_t threads_start(void)
{
    char err[1024];
    ev_async_init(&app.workers_done, workers_done_cb);
    ev_async_start(app.loop, &app.workers_done);
    if (failover_exec_start(app.cfg, err, sizeof(err)) != HY_OK) {
        hy_log_error("%s", err);
        return HY_ERROR;
    }
    if (app.cfg->backup.enabled && binlog_archive_check_dir(app.cfg, err, sizeof(err)) != HY_OK)
        hy_log_error("%s (the binlog archive waits for it; halyard proxies meanwhile)", err);
    if (backup_copy_check_dir(app.cfg, err, sizeof(err)) != HY_OK)
        hy_log_error("%s (copies wait for it, backup_copy_failed; halyard proxies meanwhile)", err);
    backup_full_seed(app.cfg);
    backup_verify_seed(app.cfg);
    if (backup_copy_start(app.cfg, err, sizeof(err)) != HY_OK ||
        binlog_archive_start(app.cfg, err, sizeof(err)) != HY_OK ||
        cache_start(app.cfg, err, sizeof(err)) != HY_OK ||
        xa_recover_start(app.cfg, err, sizeof(err)) != HY_OK) {
        hy_log_error("%s", err);
        return HY_ERROR;
    }
    if ((app.monitor = monitor_create(app.cfg)) == NULL) {
        hy_log_error("cannot start the monitor thread");
        return HY_ERROR;
    }
    /* After each round of checks the failover thread looks at the cluster. */
    monitor_set_round_hook(app.monitor, monitor_round_done, NULL);
    if (monitor_start(app.monitor) != HY_OK) {
        hy_log_error("cannot start the monitor thread");
        return HY_ERROR;
    }
    app.st.monitor = app.monitor;
    first_checks_wait();
    for (int i = 0; i < app.n_workers; i++) {
        if (worker_start(&app.workers[i]) != HY_OK) {
            hy_log_error("cannot start worker %d", i);
            for (int j = 0; j < i; j++)
                worker_request_stop(&app.workers[j], true);
            return HY_ERROR;
        }
    }
    return HY_OK;
}

/* --takeover: our workers accept on the sockets, so the old halyard may
 * stop; the admin socket and the metrics are ours now. From here on a
 * failure must not stop us, or no one would accept. */
static void takeover_complete(void)
{
    char err[1024];
    if (takeover_finish(app.takeover_conn, err, sizeof(err)) != HY_OK)
        hy_log_error("%s; the old halyard may still be accepting too", err);
    else
        hy_log_info("takeover: the old halyard stops accepting and drains its sessions");
    if (open_admin_metrics(true, err, sizeof(err)) != HY_OK)
        hy_log_error("%s; running without it", err);
}

/* The main loop: signals, the timers, until the workers are done. */
static void app_run(bool took_over)
{
    /* Handlers first, then unblock: a signal that came in the meantime
     * (right after the listeners opened) is pending and reaches them, instead
     * of the default action killing the process. */
    ev_signal_init(&app.sig_term, stop_cb, SIGTERM);
    ev_signal_init(&app.sig_int, stop_cb, SIGINT);
    ev_signal_init(&app.sig_hup, reload_cb, SIGHUP);
    ev_signal_init(&app.sig_usr1, reopen_cb, SIGUSR1);
    ev_signal_start(app.loop, &app.sig_term);
    ev_signal_start(app.loop, &app.sig_int);
    ev_signal_start(app.loop, &app.sig_hup);
    ev_signal_start(app.loop, &app.sig_usr1);
    pthread_sigmask(SIG_SETMASK, &app.sigmask_old, NULL);
    ev_timer_init(&app.shutdown_timer, shutdown_timer_cb, 0., 0.);
    ev_timer_init(&app.selfwatch_timer, selfwatch_cb, 1., 1.);
    ev_timer_start(app.loop, &app.selfwatch_timer);

    for (size_t i = 0; i < app.cfg->n_listeners; i++)
        hy_log_info("listening on %s:%d (%s), %d workers, primary %s:%d",
                    app.cfg->listeners[i].address, app.cfg->listeners[i].port,
                    app.cfg->listeners[i].name, app.n_workers, config_primary(app.cfg)->address,
                    config_primary(app.cfg)->port);
    char reason[96];
    snprintf(reason, sizeof(reason), "pid %d, %d workers", (int)getpid(), app.n_workers);
    events_emit(EVENT_HALYARD_STARTED, NULL, "stopped", "running", reason,
                took_over ? "took the listeners over" : "listening");
    /* The listeners are open (and accepting) since listeners_open(). */
    sd_notifyf(0, "READY=1\nSTATUS=%s", reason);
    ev_run(app.loop, 0);
    ev_timer_stop(app.loop, &app.shutdown_timer);
    ev_timer_stop(app.loop, &app.selfwatch_timer);
}

/* Stop and free whatever was started, in order; every step is a no-op for
 * what never started, so a failed start comes here too. */
static void app_shutdown(int rc)
{
    for (int i = 0; i < app.n_workers; i++)
        worker_join(&app.workers[i]);
    /* Before the admin socket goes: it may wait for a switchover's answer. */
    failover_exec_stop();
    binlog_archive_stop();
    cache_stop();
    xa_log_writer_stop(); /* after the joins: the D records handed to it are written */
    capture_shutdown();   /* after the joins too: the sessions' ends are in the file */
    xa_recover_stop();
    backup_full_stop();
    backup_copy_stop();
    /* After the joins: no worker reports to the monitor any more. */
    monitor_destroy(app.monitor);
    app.st.monitor = NULL;
    /* After the joins: no worker holds a part of an admin answer any more. */
    admin_destroy(app.admin);
    metrics_destroy(app.metrics);
    web_destroy(app.web);
    for (int i = 0; i < app.n_workers; i++)
        worker_destroy(&app.workers[i]);
    free(app.workers);
    guard_destroy();
    firewall_destroy();
    resolve_stop();
    struct trace_exporter *tex = trace_export_global();
    trace_export_set_global(NULL); /* after the workers' joins: no span comes */
    trace_export_stop(tex);
    if (app.pidfile != NULL && (!app.handed_over || pidfile_is_ours(app.pidfile)))
        unlink(app.pidfile);
    if (rc == 0)
        hy_log_info("stopped");
    alerts_stop(); /* halyard_stopping gets its 2 s */
    events_teardown();
    audit_shutdown();
    config_put(app.cfg);
    backend_rt_free_all();
    global_pos_free_all();
    stats_listeners_free();
    stats_groups_free();
}

int main(int argc, char **argv)
{
    struct options opt;
    int rc = options_parse(argc, argv, &opt);
    if (rc >= 0)
        return rc;
    if (opt.test_only)
        return config_test(opt.config_path);
    rc = 1;
    if (config_first_load(&opt) == HY_OK && process_setup(&opt) == HY_OK) {
        signals_block();
        if (services_start() == HY_OK && workers_setup(&opt) == HY_OK && threads_start() == HY_OK) {
            if (opt.takeover)
                takeover_complete();
            app_run(opt.takeover);
            rc = 0;
        }
    }
    app_shutdown(rc);
    return rc;
}
