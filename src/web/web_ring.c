/*
 * web_ring.c: the status page's per-second samples (web.h): how one is
 * computed from two readings of the backends' counters, the ring that
 * keeps the last WEB_RING_SECONDS of them, and its JSON. Pure: no clock,
 * no I/O.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "halyard/web/web.h"

void web_ring_push(struct web_ring *r, const struct web_sample *s)
{
    r->s[r->next] = *s;
    r->next = (r->next + 1) % WEB_RING_SECONDS;
    if (r->n < WEB_RING_SECONDS)
        r->n++;
}

/* The i-th held sample, oldest first. */
static const struct web_sample *ring_at(const struct web_ring *r, size_t i)
{
    return &r->s[(r->next + WEB_RING_SECONDS - r->n + i) % WEB_RING_SECONDS];
}

/* "name":[v,...] over the held samples; a negative value is null. */
static void ring_field(const struct web_ring *r, struct textbuf *sb, const char *name, size_t off)
{
    textbuf_printf(sb, ",\"%s\":[", name);
    for (size_t i = 0; i < r->n; i++) {
        double v = *(const double *)((const char *)ring_at(r, i) + off);
        if (v < 0)
            textbuf_printf(sb, "%snull", i ? "," : "");
        else
            textbuf_printf(sb, "%s%.3f", i ? "," : "", v);
    }
    textbuf_putc(sb, ']');
}

void web_ring_render(const struct web_ring *r, struct textbuf *sb)
{
    static const struct {
        const char *name;
        size_t off;
    } fields[] = {
        {"read", offsetof(struct web_sample, stmts[WEB_READ])},
        {"write", offsetof(struct web_sample, stmts[WEB_WRITE])},
        {"cached", offsetof(struct web_sample, stmts[WEB_CACHED])},
        {"other", offsetof(struct web_sample, stmts[WEB_OTHER])},
        {"errors", offsetof(struct web_sample, errors)},
        {"p50_ms", offsetof(struct web_sample, p50_ms)},
        {"p99_ms", offsetof(struct web_sample, p99_ms)},
        {"lag_s", offsetof(struct web_sample, lag_s)},
    };
    textbuf_printf(sb, "{\"interval_s\":1,\"capacity\":%d,\"time\":[", WEB_RING_SECONDS);
    for (size_t i = 0; i < r->n; i++)
        textbuf_printf(sb, "%s%" PRId64, i ? "," : "", ring_at(r, i)->time);
    textbuf_putc(sb, ']');
    for (size_t f = 0; f < HY_ARRAY_SIZE(fields); f++)
        ring_field(r, sb, fields[f].name, fields[f].off);
    textbuf_putc(sb, '}');
}

/* What a counter went up by; 0 when it went down (it cannot, short of a
 * backend that came back as another: counted from now on). */
static uint64_t delta(uint64_t now, uint64_t before)
{
    return now >= before ? now - before : 0;
}

void web_sample_compute(const struct web_reading *prev, size_t n_prev,
                        const struct web_reading *now, size_t n_now,
                        const uint64_t stmts[WEB_CLASSES], double seconds, int64_t time,
                        double lag_s, struct web_sample *out)
{
    uint64_t errors = 0, lat[BACKEND_LAT_BUCKETS] = {0};
    for (size_t i = 0; i < n_now; i++) {
        const struct web_reading *b = &now[i], *a = NULL;
        for (size_t j = 0; j < n_prev && a == NULL; j++)
            a = prev[j].key == b->key ? &prev[j] : NULL;
        if (a == NULL)
            continue;
        errors += delta(b->errors, a->errors);
        for (int k = 0; k < BACKEND_LAT_BUCKETS; k++)
            lat[k] += delta(b->lat[k], a->lat[k]);
    }
    if (seconds <= 0)
        seconds = 1;
    memset(out, 0, sizeof(*out));
    out->time = time;
    for (int k = 0; k < WEB_CLASSES; k++)
        out->stmts[k] = (double)stmts[k] / seconds;
    out->errors = (double)errors / seconds;
    out->p50_ms = backend_hist_quantile(lat, 0.50) / 1000.0;
    out->p99_ms = backend_hist_quantile(lat, 0.99) / 1000.0;
    out->lag_s = lag_s;
}
