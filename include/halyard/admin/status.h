/*
 * status.h: what the main thread knows about the running process, for the
 * admin socket (admin.c) and the metrics endpoint (metrics.c).
 *
 * main.c owns the one struct status, fills it at start and updates it on
 * every reload; admin.c and metrics.c only read it, all in the main thread,
 * so it needs no lock. The workers' counters are not copied here: readers
 * sum them on demand (status_sum_stats), which is safe from any thread
 * because each counter is a relaxed atomic with one writer (worker.h).
 */
#ifndef HALYARD_STATUS_H
#define HALYARD_STATUS_H

#include <ev.h>
#include <sys/types.h>
#include <time.h>

#include "halyard/core/core.h"

/* The worker counters, by name, in the order tables and metrics show them.
 * Adding a counter to struct worker_stats and a row to stat_fields[] is
 * enough for `show stats` and /metrics to show it. */
struct stat_field {
    const char *name;   /* as `show stats` shows it: "commands" */
    const char *metric; /* Prometheus name: "halyard_commands_total" */
    const char *help;   /* one line, for HELP */
    size_t offset;      /* of the _Atomic uint64_t in struct worker_stats */
    bool gauge;         /* a level, not a count */
};

#define STAT_FIELDS 28
extern const struct stat_field stat_fields[STAT_FIELDS];

/* Values read from the counters, one per stat_fields[] row. */
struct stat_values {
    uint64_t v[STAT_FIELDS];
};

struct status {
    pid_t pid;
    time_t started;         /* wall clock, for display */
    ev_tstamp started_mono; /* ev_now() of the main loop at start, for uptime */
    struct ev_loop *loop;   /* the main loop */
    const char *config_path;
    struct config *cfg; /* the running config (main replaces it on reload) */
    struct worker *workers;
    int n_workers;
    struct monitor *monitor; /* the health-check thread (monitor.h) */
    char admin_socket[108];  /* in use since the start; "" = none */
    char metrics[300];       /* "address:port" in use since the start; "" = none */

    /* reloads, by SIGHUP or by the admin socket */
    uint64_t reloads_ok;
    uint64_t reloads_failed;
    time_t last_reload;      /* 0 = none yet */
    bool last_reload_ok;     /* meaningless while last_reload == 0 */
    char last_reload_by[64]; /* "SIGHUP", "admin uid=0 pid=123" */
    char last_reload_error[1024];

    /* Reload the config file as SIGHUP does; `by` says who asked (logged and
     * kept). Fills the fields above. Set by main.c. */
    hy_status_t (*reload)(struct status *st, const char *by);
    /* A new halyard has taken over the listening sockets: stop accepting,
     * free the metrics port, drain as SIGTERM does. Set by main.c. */
    void (*takeover_done)(struct status *st);
};

/* Read worker `w`'s counters. */
void status_worker_stats(struct worker *w, struct stat_values *out);
/* The sum over every worker. */
void status_sum_stats(const struct status *st, struct stat_values *out);
/* Client sessions open now, over every worker. */
uint64_t status_client_sessions(void);
double status_uptime(const struct status *st);

/* "2026-11-21T20:30:01Z" */
void status_format_time(time_t t, char *out, size_t len);

#endif /* HALYARD_STATUS_H */
