/*
 * srvstatus.c: fold a server's status rows into numbers, rates between two
 * readings, and threshold crossings (srvstatus.h).
 */
#include <stddef.h>
#include <stdlib.h>
#include <strings.h>

#include "halyard/core/srvstatus.h"
#include "halyard/core/text.h"

void srv_status_init(struct srv_status *s)
{
    int64_t *f = (int64_t *)s;
    for (size_t i = 0; i < sizeof(*s) / sizeof(int64_t); i++)
        f[i] = -1;
}

static const struct {
    const char *name;
    size_t off;
} fields[] = {
    {"max_connections", offsetof(struct srv_status, max_connections)},
    {"Threads_connected", offsetof(struct srv_status, threads_connected)},
    {"Threads_running", offsetof(struct srv_status, threads_running)},
    {"Questions", offsetof(struct srv_status, questions)},
    {"Slow_queries", offsetof(struct srv_status, slow_queries)},
    {"Aborted_connects", offsetof(struct srv_status, aborted_connects)},
    {"Com_select", offsetof(struct srv_status, com[SRV_COM_SELECT])},
    {"Com_insert", offsetof(struct srv_status, com[SRV_COM_INSERT])},
    {"Com_update", offsetof(struct srv_status, com[SRV_COM_UPDATE])},
    {"Com_delete", offsetof(struct srv_status, com[SRV_COM_DELETE])},
    {"Com_commit", offsetof(struct srv_status, com[SRV_COM_COMMIT])},
    {"Com_rollback", offsetof(struct srv_status, com[SRV_COM_ROLLBACK])},
    {"Innodb_buffer_pool_read_requests", offsetof(struct srv_status, bp_read_requests)},
    {"Innodb_buffer_pool_reads", offsetof(struct srv_status, bp_reads)},
    {"Innodb_buffer_pool_pages_dirty", offsetof(struct srv_status, bp_pages_dirty)},
    {"Innodb_buffer_pool_pages_total", offsetof(struct srv_status, bp_pages_total)},
    {"Innodb_row_lock_waits", offsetof(struct srv_status, row_lock_waits)},
    {"Binlog_bytes_written", offsetof(struct srv_status, binlog_bytes_written)},
};

const char *srv_com_name(enum srv_com c)
{
    static const char *const names[SRV_COM_COUNT] = {"select", "insert", "update",
                                                     "delete", "commit", "rollback"};
    return c < SRV_COM_COUNT ? names[c] : "?";
}

/* A whole number >= 0, or -1. */
static int64_t whole(const char *value)
{
    uint64_t v;
    if (value == NULL || !hy_parse_u64(value, strlen(value), INT64_MAX, &v))
        return -1;
    return (int64_t)v;
}

void srv_status_fold(struct srv_status *s, const char *name, const char *value)
{
    if (name == NULL || value == NULL || *value == '\0')
        return;
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        if (strcasecmp(fields[i].name, name) != 0)
            continue;
        int64_t v = whole(value);
        if (v >= 0)
            *(int64_t *)((char *)s + fields[i].off) = v;
        return;
    }
}

void srv_status_binlogs_begin(struct srv_status *s)
{
    s->binlog_files = s->binlog_size = 0;
}

void srv_status_binlog_file(struct srv_status *s, const char *size)
{
    int64_t v = whole(size);
    if (s->binlog_files < 0)
        return;
    if (v < 0) {
        s->binlog_files = s->binlog_size = -1;
        return;
    }
    s->binlog_files++;
    s->binlog_size += v;
}

/* Per second of counter `a` -> `b`; -1 when unknown or reset. */
static double rate(int64_t a, int64_t b, double secs)
{
    if (a < 0 || b < 0 || b < a || secs <= 0)
        return -1;
    return (double)(b - a) / secs;
}

static double pct(int64_t part, int64_t whole)
{
    if (part < 0 || whole <= 0)
        return -1;
    return 100.0 * (double)part / (double)whole;
}

void srv_status_derive(const struct srv_status *prev, const struct srv_status *cur, double secs,
                       struct srv_rates *out)
{
    struct srv_status none;
    srv_status_init(&none);
    const struct srv_status *p = prev != NULL ? prev : &none;
    out->qps = rate(p->questions, cur->questions, secs);
    for (int c = 0; c < SRV_COM_COUNT; c++)
        out->com_ps[c] = rate(p->com[c], cur->com[c], secs);
    double ins = out->com_ps[SRV_COM_INSERT], upd = out->com_ps[SRV_COM_UPDATE],
           del = out->com_ps[SRV_COM_DELETE];
    out->writes_ps = ins < 0 || upd < 0 || del < 0 ? -1 : ins + upd + del;
    out->slow_ps = rate(p->slow_queries, cur->slow_queries, secs);
    out->aborted_ps = rate(p->aborted_connects, cur->aborted_connects, secs);
    out->row_lock_waits_ps = rate(p->row_lock_waits, cur->row_lock_waits, secs);

    /* Over the interval when there is one, else since the server started. */
    int64_t req = cur->bp_read_requests, miss = cur->bp_reads;
    if (p->bp_read_requests >= 0 && p->bp_reads >= 0 && req >= p->bp_read_requests &&
        miss >= p->bp_reads) {
        req -= p->bp_read_requests;
        miss -= p->bp_reads;
    }
    if (req < 0 || miss < 0)
        out->bp_hit_ratio = -1;
    else if (req == 0)
        out->bp_hit_ratio = 1;
    else
        out->bp_hit_ratio = miss >= req ? 0 : 1.0 - (double)miss / (double)req;

    out->bp_dirty_pct = pct(cur->bp_pages_dirty, cur->bp_pages_total);
    out->connections_pct = pct(cur->threads_connected, cur->max_connections);
    out->disk_pct = pct(cur->disk_used, cur->disk_total);
}

enum srv_cross srv_threshold(bool *high, double value, double warn)
{
    if (value < 0)
        return SRV_CROSS_NONE;
    if (warn <= 0) {
        if (!*high)
            return SRV_CROSS_NONE;
        *high = false; /* turned off while high: say it is over */
        return SRV_CROSS_CLEARED;
    }
    if (!*high && value >= warn) {
        *high = true;
        return SRV_CROSS_RAISED;
    }
    if (*high && value < warn - SRV_THRESHOLD_HYSTERESIS) {
        *high = false;
        return SRV_CROSS_CLEARED;
    }
    return SRV_CROSS_NONE;
}
