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
 * Reading the counters is cheap and never waits for a worker.
 */
#ifndef HALYARD_SELFWATCH_H
#define HALYARD_SELFWATCH_H

#include <stdbool.h>
#include <stdint.h>

struct selfwatch {
    bool fds_high;
    bool dropping;         /* a streak of seconds with new dropped lines */
    uint64_t dropped_seen; /* lines dropped as of the last tick */
};

/* Open descriptors of this process; -1 when /proc cannot tell. */
long selfwatch_open_fds(void);

/* One tick (main thread): emit the events above. warn_pct 0 = fds off. */
void selfwatch_tick(struct selfwatch *w, int fd_warn_pct);

/* Pure: whether `dropped` (the running total) starts a streak of drops
 * (true: emit), updating w->dropping and w->dropped_seen. */
bool selfwatch_drops(struct selfwatch *w, uint64_t dropped);

#endif /* HALYARD_SELFWATCH_H */
