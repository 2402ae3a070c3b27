/*
 * selfwatch.h: halyard's own health as events (issue 11, item 4).
 *
 * Once a second the main thread looks at
 *   - its file descriptors: open ones (/proc/self/fd) against
 *     RLIMIT_NOFILE. Past fd_warn_pct percent: halyard_fds_high; back
 *     5 points below: halyard_fds_ok (srv_threshold, srvstatus.h);
 *   - the audit and query logs' dropped lines (audit_get_stats): the first
 *     second with new drops gives log_lines_dropped, once per streak; a
 *     second without any ends the streak.
 *   - each worker's heartbeat (worker.h: its loop stamps beat_us every
 *     100 ms): a stamp older than worker_stall_ms means the loop is stuck
 *     in one callback: worker_stalled; stamping again: worker_recovered.
 * Reading the counters is cheap and never waits for a worker.
 */
#ifndef HALYARD_SELFWATCH_H
#define HALYARD_SELFWATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "halyard/core/srvstatus.h"

#define SELFWATCH_WORKERS_MAX 256

struct selfwatch {
    bool stalled[SELFWATCH_WORKERS_MAX];
    bool fds_high;
    bool dropping;         /* a streak of seconds with new dropped lines */
    uint64_t dropped_seen; /* lines dropped as of the last tick */
};

/* Pure: a worker whose last stamp is `beat_us` (0 = not running: never
 * stalled), seen at `now_us`: raised past stall_ms (0 = off), cleared once
 * it stamps again within it. */
enum srv_cross selfwatch_stall(bool *stalled, int64_t now_us, int64_t beat_us, int stall_ms);

/* Main thread: the workers' stamps, beats[0..n), against stall_ms. */
void selfwatch_workers(struct selfwatch *w, const int64_t *beats, int n, int stall_ms);

/* Open descriptors of this process; -1 when /proc cannot tell. */
long selfwatch_open_fds(void);

/* One tick (main thread): emit the events above. warn_pct 0 = fds off. */
void selfwatch_tick(struct selfwatch *w, int fd_warn_pct);

/* Pure: whether `dropped` (the running total) starts a streak of drops
 * (true: emit), updating w->dropping and w->dropped_seen. */
bool selfwatch_drops(struct selfwatch *w, uint64_t dropped);

#endif /* HALYARD_SELFWATCH_H */
