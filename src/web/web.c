/*
 * web.c: the live status page (web.h): the page hook the metrics listener
 * calls, /status.json, and the once-a-second sampler.
 *
 * /status.json is built from the admin renderers' JSON (show status, show
 * groups, show backends, show events, show cache), each under the name of
 * its command, so the page and `halyardctl show ... --json` say the same
 * thing with the same names; no second renderer with other rules. None of
 * them prints a password or a key: the page shows what a read-only admin
 * account may already read.
 */
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "halyard/admin/admin.h"
#include "halyard/admin/alerts.h"
#include "halyard/cache/cache.h"
#include "halyard/config/config.h"
#include "halyard/core/stats.h"
#include "halyard/session/worker.h"
#include "halyard/web/web.h"
#include "web_int.h"

struct web {
    struct status *st;
    ev_timer tick;
    double last_at;             /* ev_now of the last reading; 0 = none yet */
    uint64_t last[WEB_CLASSES]; /* the statement counters then, by enum web_class */
    struct web_reading *prev;   /* the last reading of every backend */
    size_t n_prev;
    struct cache_status cache; /* scratch for cache_status_get */
    struct web_ring ring;
};

/* Read every backend of the running config; the largest replica lag into
 * *lag_s (-1 when none is known). NULL when out of memory. */
static struct web_reading *read_backends(const struct config *cfg, double *lag_s)
{
    struct web_reading *now = calloc(cfg->n_backends ? cfg->n_backends : 1, sizeof(*now));
    *lag_s = -1;
    if (now == NULL)
        return NULL;
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct backend_rt *rt = cfg->backends[i].rt;
        if (rt == NULL)
            continue;
        struct backend_stats bs;
        backend_stats_get(rt, &bs);
        now[i].key = rt;
        now[i].errors = bs.errors;
        memcpy(now[i].lat, bs.lat, sizeof(bs.lat));
        int64_t lag = atomic_load(&rt->lag_ms);
        if (backend_role(rt) != ROLE_PRIMARY && lag >= 0 && lag / 1000.0 > *lag_s)
            *lag_s = lag / 1000.0;
    }
    return now;
}

/* The statement counters now, by enum web_class: the workers' by class
 * (stats.h), the cache's hits (its last count while it is off). */
static void read_statements(struct web *w, uint64_t out[WEB_CLASSES])
{
    static const int of[WEB_CLASSES] = {
        [WEB_READ] = STMT_READ, [WEB_WRITE] = STMT_WRITE, [WEB_OTHER] = STMT_OTHER};
    memset(out, 0, WEB_CLASSES * sizeof(out[0]));
    for (int i = 0; i < w->st->n_workers; i++)
        for (int k = 0; k < WEB_CLASSES; k++)
            if (k != WEB_CACHED)
                out[k] += stat_get(&w->st->workers[i].stats.statements[of[k]]);
    cache_status_get(&w->cache);
    out[WEB_CACHED] = w->cache.on ? w->cache.hits : w->last[WEB_CACHED];
}

static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct web *w = container_of(t, struct web, tick);
    const struct config *cfg = w->st->cfg;
    if (cfg == NULL)
        return;
    double lag_s, at = ev_now(loop);
    struct web_reading *now = read_backends(cfg, &lag_s);
    if (now == NULL)
        return;
    uint64_t stmts[WEB_CLASSES], in[WEB_CLASSES];
    read_statements(w, stmts);
    if (w->last_at > 0) {
        struct web_sample s;
        for (int k = 0; k < WEB_CLASSES; k++) /* a cache emptied by a reload counts anew */
            in[k] = stmts[k] >= w->last[k] ? stmts[k] - w->last[k] : 0;
        web_sample_compute(w->prev, w->n_prev, now, cfg->n_backends, in, at - w->last_at,
                           (int64_t)time(NULL), lag_s, &s);
        web_ring_push(&w->ring, &s);
    }
    free(w->prev);
    w->prev = now;
    w->n_prev = cfg->n_backends;
    w->last_at = at;
    memcpy(w->last, stmts, sizeof(stmts));
}

struct web *web_create(struct status *st)
{
    struct web *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->st = st;
    ev_timer_init(&w->tick, tick_cb, 1.0, 1.0);
    ev_timer_start(st->loop, &w->tick);
    return w;
}

void web_destroy(struct web *w)
{
    if (w == NULL)
        return;
    ev_timer_stop(w->st->loop, &w->tick);
    free(w->prev);
    free(w);
}

/* The page's data: {"time":..., "show_status":{...}, "show_groups":{...},
 * "show_backends":{...}, "show_events":{...}, "show_cache":{...} or null,
 * "samples":{...}}. */
static void render_status_json(struct web *w, struct textbuf *sb)
{
    const struct config *cfg = w->st->cfg;
    char now[32];
    status_format_time(time(NULL), now, sizeof(now));
    textbuf_printf(sb, "{\"time\":\"%s\",\"pool_mode\":\"%s\",\"show_status\":", now,
                   cfg->pool_transaction ? "transaction" : "session");
    admin_render_status(sb, w->st, status_uptime(w->st), status_client_sessions(), NULL, true);
    textbuf_puts(sb, ",\"show_groups\":");
    admin_show_groups(sb, cfg, true);
    textbuf_puts(sb, ",\"show_backends\":");
    struct admin_backend_row *rows = admin_backend_rows(cfg);
    if (rows != NULL)
        admin_render_backends(sb, rows, cfg->n_backends, true, false);
    else
        sb->overflow = true;
    free(rows);
    textbuf_puts(sb, ",\"show_events\":");
    struct alerts_record *events = calloc(ALERTS_HISTORY, sizeof(*events));
    if (events != NULL)
        admin_render_events(sb, events, alerts_history(events, ALERTS_HISTORY), true);
    else
        sb->overflow = true;
    free(events);
    textbuf_puts(sb, ",\"show_cache\":");
    cache_status_get(&w->cache);
    if (w->cache.on)
        admin_render_cache(sb, &w->cache, cfg, true);
    else
        textbuf_puts(sb, "null");
    textbuf_puts(sb, ",\"samples\":");
    web_ring_render(&w->ring, sb);
    textbuf_puts(sb, "}\n");
}

/* The page with /status.json's answer in it, at its marker, so that its
 * first view needs no second request (what `chromium --headless
 * --dump-dom` shows, and a page that opens already drawn): a JSON data
 * block, which a browser never runs, with every '<' as \u003c (valid
 * JSON: '<' is only ever inside a string) so that no text a server sent,
 * a backend's why or an event's reason, can end the block. */
static void render_page(struct web *w, const struct web_asset *a, struct textbuf *body)
{
    static const char marker[] = "<!-- status-data -->";
    const char *at = memmem(a->data, a->len, marker, sizeof(marker) - 1);
    struct textbuf js;
    if (at == NULL || w->st->cfg == NULL) {
        textbuf_append(body, a->data, a->len);
        return;
    }
    textbuf_init(&js, body->limit);
    render_status_json(w, &js);
    size_t head = (size_t)(at - (const char *)a->data);
    textbuf_append(body, a->data, head);
    textbuf_puts(body, "<script type=\"application/json\" id=\"status-data\">");
    for (size_t i = 0, from = 0; i <= js.len; i++) {
        if (i < js.len && js.data[i] != '<')
            continue;
        textbuf_append(body, js.data + from, i - from);
        if (i < js.len)
            textbuf_puts(body, "\\u003c");
        from = i + 1;
    }
    textbuf_puts(body, "</script>");
    body->overflow |= js.overflow;
    textbuf_free(&js);
    textbuf_append(body, at + sizeof(marker) - 1, a->len - head - (sizeof(marker) - 1));
}

bool web_page(void *web, const char *path, struct textbuf *body, const char **content_type)
{
    struct web *w = web;
    if (strcmp(path, "/status.json") == 0) {
        if (w->st->cfg == NULL)
            return false;
        render_status_json(w, body);
        *content_type = "application/json";
        return true;
    }
    for (size_t i = 0; i < web_n_assets; i++) {
        if (strcmp(path, web_assets[i].path) == 0) {
            if (strcmp(path, "/") == 0)
                render_page(w, &web_assets[i], body);
            else
                textbuf_append(body, web_assets[i].data, web_assets[i].len);
            *content_type = web_assets[i].type;
            return true;
        }
    }
    return false;
}
