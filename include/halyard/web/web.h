/*
 * web.h: the live status page (metrics_status_page), served on the metrics
 * listener (metrics.h) through its page hook.
 *
 * - `GET /` is the page: src/web/assets/status.html, .css and .js, built
 *   into the binary by the Makefile (build/gen/web_assets.c), fetched as
 *   /status.css and /status.js; nothing else is loaded, from anywhere.
 * - `GET /status.json` is its data: what `show status`, `show groups`,
 *   `show backends`, `show events` and `show cache` answer as JSON (the
 *   same renderers, so the same names), and the samples below.
 * - Samples: once a second the main thread reads the workers' statement
 *   counters by class (stats.h), the backends' counters (backend.h) and
 *   the cache's hits, and keeps the last WEB_RING_SECONDS per-second
 *   samples in a ring of fixed size: statements per second by class
 *   (read, write, cached, other), errors per second, the p50 and p99
 *   latency of that second's statements, and the largest replica lag.
 *   The ring's size does not depend on the load.
 *
 * Everything runs on the main thread and nothing blocks; the workers are
 * only read (relaxed atomics).
 */
#ifndef HALYARD_WEB_H
#define HALYARD_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/admin/status.h"
#include "halyard/cluster/backend.h"
#include "halyard/core/textbuf.h"

#define WEB_RING_SECONDS 900 /* 15 minutes of one sample a second */

struct web;

/* Start sampling on st->loop. NULL when out of memory. */
struct web *web_create(struct status *st);
void web_destroy(struct web *w); /* NULL is fine */

/* The page hook (metrics_page_fn): `/`, `/status.css`, `/status.js`,
 * `/status.json`; false for any other path. */
bool web_page(void *web, const char *path, struct textbuf *body, const char **content_type);

/* ---- pure parts, unit-tested ---- */

/* The classes of the statements chart: reads and writes as the router
 * classified them (enum stmt_class), wherever they ran; the query
 * cache's hits; and the statements that are neither a read nor a write. */
enum web_class { WEB_READ, WEB_WRITE, WEB_CACHED, WEB_OTHER, WEB_CLASSES };

/* One second. */
struct web_sample {
    int64_t time;              /* Unix seconds at its end */
    double stmts[WEB_CLASSES]; /* statements per second, by enum web_class */
    double errors;             /* ERR answers and lost connections per second */
    double p50_ms, p99_ms;     /* latency of the statements that ended in it; 0 = none */
    double lag_s;              /* the largest replica lag; -1 = none known */
};

/* The last WEB_RING_SECONDS samples, oldest overwritten. */
struct web_ring {
    struct web_sample s[WEB_RING_SECONDS];
    size_t next; /* where the next one goes */
    size_t n;    /* how many are held */
};

void web_ring_push(struct web_ring *r, const struct web_sample *s);
/* The held samples, oldest first, as a JSON object of one array per field
 * ({"interval_s":1,"time":[...],"read":[...],...}). */
void web_ring_render(const struct web_ring *r, struct textbuf *sb);

/* One backend's counters at one instant; `key` tells the same backend
 * apart across readings (its backend_rt, kept across reloads). */
struct web_reading {
    const void *key;
    uint64_t errors;
    uint64_t lat[BACKEND_LAT_BUCKETS];
};

/* The sample of the `seconds` between two readings of every backend
 * (`prev`, `now`; a backend absent from prev counts from now on), with
 * `stmts` statements by class in between (enum web_class) and the
 * largest lag `lag_s`. */
void web_sample_compute(const struct web_reading *prev, size_t n_prev,
                        const struct web_reading *now, size_t n_now,
                        const uint64_t stmts[WEB_CLASSES], double seconds, int64_t time,
                        double lag_s, struct web_sample *out);

#endif /* HALYARD_WEB_H */
