/*
 * failover_tally.h: what a failover did to the sessions, told as an event.
 *
 * A few seconds after a failover or switchover ends (failover_done,
 * switchover_done, failover_failed in the events' history; a Galera
 * group's writer_changed too), the main
 * thread emits `failover_sessions`, naming that event's seq, with what the
 * sessions did around it: statements retried, transactions replayed,
 * replays refused, in-flight writes found committed, re-run, rolled back
 * and of unknown outcome, and the errors sessions were given for them.
 *
 * The sessions count into their worker's counters (stats.h: one writer
 * each, no lock on the data path); nothing here touches the data path.
 * Once a second the main thread sums the workers' counters and keeps the
 * sums of the last FAILOVER_TALLY_KEEP seconds; the summary is the sum
 * FAILOVER_TALLY_SETTLE_S seconds after the end less the sum before the
 * failover began (its failover_started, or the end, less the time the
 * monitor takes to see a primary down: (fall + 1) * interval_ms). So it
 * counts what every session did in that window, a read retried on a
 * replica that died then included.
 */
#ifndef HALYARD_FAILOVER_TALLY_H
#define HALYARD_FAILOVER_TALLY_H

#include <stdint.h>

#include "halyard/admin/status.h"

#define FAILOVER_TALLY_KEEP     64 /* seconds of sums kept */
#define FAILOVER_TALLY_SETTLE_S 5  /* seconds after a failover's end */

struct failover_tally_sample {
    int64_t at_us; /* wall clock, as events' time_us */
    struct stat_values v;
};

struct failover_tally {
    struct failover_tally_sample s[FAILOVER_TALLY_KEEP];
    unsigned next, n;
    uint64_t seen_seq;    /* history read up to this event */
    int64_t began_us;     /* the failover_started not yet ended, 0 = none */
    uint64_t pending_seq; /* the end event waiting for its summary, 0 = none */
    char pending_name[32];
    char pending_backend[128];
    int64_t pending_from_us; /* the window's start */
    int64_t due_us;
};

/* Main thread, once a second: a new sample, the history read, a summary
 * emitted when due. */
void failover_tally_tick(struct failover_tally *t, const struct status *st, int64_t now_us);

/* The summary's text for the difference `after - before`, into `out`. Pure. */
void failover_tally_format(const struct stat_values *before, const struct stat_values *after,
                           char *out, size_t cap);

#endif
