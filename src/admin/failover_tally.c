/*
 * failover_tally.c: see failover_tally.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/admin/alerts.h"
#include "halyard/admin/failover_tally.h"
#include "halyard/config/config.h"
#include "halyard/core/events.h"

/* The counter `name`'s value in `v` (0 when there is none). */
static uint64_t field(const struct stat_values *v, const char *name)
{
    for (size_t i = 0; i < STAT_FIELDS; i++)
        if (strcmp(stat_fields[i].name, name) == 0)
            return v->v[i];
    return 0;
}

static uint64_t diff(const struct stat_values *a, const struct stat_values *b, const char *name)
{
    uint64_t x = field(a, name), y = field(b, name);
    return y >= x ? y - x : 0;
}

void failover_tally_format(const struct stat_values *before, const struct stat_values *after,
                           char *out, size_t cap)
{
    uint64_t mismatch = diff(before, after, "replays_failed_mismatch");
    uint64_t timeout = diff(before, after, "replays_failed_timeout");
    uint64_t refused = diff(before, after, "replays_refused");
    uint64_t rolled = diff(before, after, "inflight_rolled_back");
    uint64_t unknown = diff(before, after, "inflight_unknown");
    snprintf(out, cap,
             "statements retried %llu, transactions replayed %llu, replays failed %llu "
             "(answers differed %llu, no primary in time %llu), replays refused %llu; in-flight "
             "writes committed %llu, re-run %llu, rolled back %llu, unknown %llu; sessions given "
             "an error %llu",
             (unsigned long long)diff(before, after, "statements_retried"),
             (unsigned long long)diff(before, after, "transactions_replayed"),
             (unsigned long long)(mismatch + timeout), (unsigned long long)mismatch,
             (unsigned long long)timeout, (unsigned long long)refused,
             (unsigned long long)diff(before, after, "inflight_committed"),
             (unsigned long long)diff(before, after, "inflight_rerun"), (unsigned long long)rolled,
             (unsigned long long)unknown,
             (unsigned long long)(mismatch + timeout + refused + rolled + unknown));
}

/* The newest sample taken at or before `at_us`; the oldest kept if none. */
static const struct failover_tally_sample *sample_before(const struct failover_tally *t,
                                                         int64_t at_us)
{
    const struct failover_tally_sample *best = NULL, *oldest = NULL;
    for (unsigned i = 0; i < t->n; i++) {
        const struct failover_tally_sample *s = &t->s[i];
        if (oldest == NULL || s->at_us < oldest->at_us)
            oldest = s;
        if (s->at_us <= at_us && (best == NULL || s->at_us > best->at_us))
            best = s;
    }
    return best != NULL ? best : oldest;
}

static void emit(struct failover_tally *t, const struct stat_values *now)
{
    const struct failover_tally_sample *from = sample_before(t, t->pending_from_us);
    char reason[EVENT_TEXT_MAX], action[96];
    struct stat_values zero = {0};
    failover_tally_format(from != NULL ? &from->v : &zero, now, reason, sizeof(reason));
    snprintf(action, sizeof(action), "%s seq %llu", t->pending_name,
             (unsigned long long)t->pending_seq);
    events_emit(EVENT_FAILOVER_SESSIONS, t->pending_backend, "", "", reason, action);
    t->pending_seq = 0;
}

/* New events of the history: a failover's start and end. */
static void read_history(struct failover_tally *t, const struct config *cfg, int64_t now_us)
{
    struct alerts_record *rows = malloc(ALERTS_HISTORY * sizeof(*rows));
    if (rows == NULL)
        return;
    size_t n = alerts_history(rows, ALERTS_HISTORY);
    int64_t detect_us = (int64_t)(cfg->monitor.fall + 1) * (int64_t)cfg->monitor.interval_ms * 1000;
    for (size_t i = 0; i < n; i++) {
        const struct event *e = &rows[i].ev;
        if (e->seq <= t->seen_seq)
            continue;
        t->seen_seq = e->seq;
        if (e->type == EVENT_FAILOVER_STARTED && t->began_us == 0)
            t->began_us = e->time_us;
        if (e->type != EVENT_FAILOVER_DONE && e->type != EVENT_SWITCHOVER_DONE &&
            e->type != EVENT_FAILOVER_FAILED && e->type != EVENT_WRITER_CHANGED)
            continue;
        if (t->pending_seq != 0) {
            /* another end before the summary of the last: the window runs on */
            t->pending_seq = e->seq;
        } else {
            t->pending_seq = e->seq;
            t->pending_from_us = (t->began_us != 0 ? t->began_us : e->time_us) - detect_us;
        }
        snprintf(t->pending_name, sizeof(t->pending_name), "%s", event_name(e->type));
        snprintf(t->pending_backend, sizeof(t->pending_backend), "%s", e->backend);
        t->due_us = now_us + (int64_t)FAILOVER_TALLY_SETTLE_S * 1000000;
        t->began_us = 0;
    }
    free(rows);
}

void failover_tally_tick(struct failover_tally *t, const struct status *st, int64_t now_us)
{
    struct failover_tally_sample *s = &t->s[t->next];
    s->at_us = now_us;
    status_sum_stats(st, &s->v);
    t->next = (t->next + 1) % FAILOVER_TALLY_KEEP;
    if (t->n < FAILOVER_TALLY_KEEP)
        t->n++;
    read_history(t, st->cfg, now_us);
    if (t->pending_seq != 0 && now_us >= t->due_us)
        emit(t, &s->v);
}
