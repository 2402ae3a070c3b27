/*
 * metrics.h: the Prometheus endpoint, a tiny HTTP/1.x server on the main
 * thread's event loop (metrics_address:metrics_port, off by default).
 *
 * `GET /metrics` (or HEAD) answers the text exposition format 0.0.4; a
 * path a page hook serves (metrics_set_pages: the status page, web.h) its
 * page; any other path is 404, any other method 405, a malformed request
 * 400, headers past METRICS_REQUEST_MAX 431. With metrics_auth every path
 * first needs HTTP basic auth as an admin_accounts account (401 without;
 * wrong passwords are failed logins for guard.h: answers held back, then
 * 429 while the address is blocked);
 * with metrics_tls the listener speaks HTTPS only, with tls_cert.
 * Every connection gets one answer and is closed. Requests are bounded
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
#include "halyard/core/stats.h"
#include "halyard/admin/status.h"
#include "halyard/core/textbuf.h"

#define METRICS_REQUEST_MAX 8192
#define METRICS_TIMEOUT     10.0 /* seconds for a request to arrive and its answer to leave */
#define METRICS_MAX_CONNS   32

struct metrics;

/* Listen on address:port and serve on st->loop; `auth`: every request
 * needs HTTP basic auth as one of st->cfg's admin_accounts; `tls`: HTTPS
 * only, with st->cfg's tls_server context (tls_cert) as it is when a
 * connection comes. NULL with `err` on failure. */
struct metrics *metrics_create(struct status *st, const char *address, int port, bool auth,
                               bool tls, char *err, size_t errlen);
void metrics_destroy(struct metrics *m);

/* A page hook: fill `body` with the page at `path` and set its content
 * type, and return true; false when the hook has no such page (404). Runs
 * on the main thread and must not block. */
typedef bool (*metrics_page_fn)(void *ctx, const char *path, struct textbuf *body,
                                const char **content_type);

/* Serve the paths `fn` knows besides /metrics (a higher layer registers
 * it: main.c, with web.h's status page). */
void metrics_set_pages(struct metrics *m, metrics_page_fn fn, void *ctx);

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
 * HTTP/1.x request, or a header line that is not "Name: value". */
hy_status_t metrics_parse_request(const char *buf, size_t len, char *method, size_t method_len,
                                  char *path, size_t path_len);

/* The value of header `name` (case-insensitive) in a complete request,
 * without its surrounding blanks, copied into out (truncated to out_len);
 * false when absent. */
bool metrics_header(const char *buf, size_t len, const char *name, char *out, size_t out_len);

/* Whether an Authorization header's value ("Basic base64(user:password)")
 * names one of cfg's admin_accounts with its password (any role). */
bool metrics_auth_ok(const struct config *cfg, const char *authorization);

#endif /* HALYARD_METRICS_H */
