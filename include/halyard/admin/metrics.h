/*
 * metrics.h: the Prometheus endpoint, a tiny HTTP/1.x server on the main
 * thread's event loop (metrics_address:metrics_port, off by default).
 *
 * `GET /metrics` (or HEAD) answers the text exposition format 0.0.4; any
 * other path is 404, any other method 405, a malformed or oversized request
 * 400. Every connection gets one answer and is closed. Requests are bounded
 * (METRICS_REQUEST_MAX bytes, METRICS_TIMEOUT seconds, METRICS_MAX_CONNS at
 * once) and nothing blocks.
 */
#ifndef HALYARD_METRICS_H
#define HALYARD_METRICS_H

#include "halyard/admin/alerts.h"
#include "halyard/core/audit.h"
#include "halyard/backup/backup_copy.h"
#include "halyard/backup/backup_full.h"
#include "halyard/backup/backup_sched.h"
#include "halyard/backup/backup_verify.h"
#include "halyard/backup/binlog_archive.h"
#include "halyard/cache/cache.h"
#include "halyard/core/core.h"
#include "halyard/protocol/resolve.h"
#include "halyard/cluster/stats.h"
#include "halyard/admin/status.h"
#include "halyard/core/textbuf.h"

#define METRICS_REQUEST_MAX 8192
#define METRICS_TIMEOUT     10.0 /* seconds for a request to arrive and its answer to leave */
#define METRICS_MAX_CONNS   32

struct metrics;

/* Listen on address:port and serve on st->loop. NULL with `err` on failure. */
struct metrics *metrics_create(struct status *st, const char *address, int port, char *err,
                               size_t errlen);
void metrics_destroy(struct metrics *m);

/* ---- pure parts, unit-tested ---- */

/* The values one scrape shows, read in the main thread. Per-backend values
 * (health, connections) join here as an array once health checks exist;
 * metrics_render() then adds their families with a backend="..." label. */
struct metrics_snapshot {
    double uptime;
    uint64_t client_sessions;
    struct stat_values stats;
    uint64_t reloads_ok;
    uint64_t reloads_failed;
    bool last_reload_ok; /* true when no reload has failed since the last good one */
    time_t last_reload;  /* 0 = none yet */
    const struct listener_stats *listeners; /* list (stats.h); counters read as rendered */
    const struct group_stats *groups;       /* list (stats.h): schema shards per group */
    uint64_t failovers[2][2];               /* [switchover][ok] */
    struct audit_stats logs;
    struct alerts_stats alerts;
    const struct config *cfg;       /* its backends' run-time state (backend.h), read as rendered;
                                     * NULL = no backend families */
    const struct resolve_stat *dns; /* backend host names (resolve.h), n_dns of them */
    size_t n_dns;
    struct binlog_archive_status backup; /* families only when backup.enabled */
    struct backup_full_status full;      /* ... with these */
    struct backup_copy_status copy;      /* (no item list) */
    struct backup_sched_status sched;
    struct backup_verify_status verify;
    struct cache_status cache; /* families only when the cache is on (cache.on) */
};

void metrics_render(struct textbuf *sb, const struct metrics_snapshot *m);

/* The request line of an HTTP request in buf[0..len). HY_AGAIN: the
 * headers are not complete yet. HY_OK: method and path (the target without
 * its query string) are copied, truncated to their sizes. HY_ERROR: not an
 * HTTP/1.x request. */
hy_status_t metrics_parse_request(const char *buf, size_t len, char *method, size_t method_len,
                                  char *path, size_t path_len);

#endif /* HALYARD_METRICS_H */
