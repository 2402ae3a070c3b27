/*
 * selfwatch.c: descriptors near the limit and dropped log lines, as events
 * (selfwatch.h).
 */
#include <dirent.h>
#include <stdio.h>
#include <time.h>
#include <sys/resource.h>

#include "halyard/core/audit.h"
#include "halyard/core/events.h"
#include "halyard/core/log.h"
#include "halyard/core/clock.h"
#include "halyard/core/selfwatch.h"
#include "halyard/core/srvstatus.h"

enum srv_cross selfwatch_stall(bool *stalled, int64_t now_us, int64_t beat_us, int stall_ms)
{
    if (beat_us == 0 || stall_ms <= 0) {
        if (!*stalled)
            return SRV_CROSS_NONE;
        *stalled = false;
        return SRV_CROSS_CLEARED;
    }
    bool late = now_us - beat_us > (int64_t)stall_ms * 1000;
    if (late == *stalled)
        return SRV_CROSS_NONE;
    *stalled = late;
    return late ? SRV_CROSS_RAISED : SRV_CROSS_CLEARED;
}

void selfwatch_workers(struct selfwatch *w, const int64_t *beats, int n, int stall_ms)
{
    int64_t now = hy_mono_us();
    for (int i = 0; i < n && i < SELFWATCH_WORKERS_MAX; i++) {
        enum srv_cross x = selfwatch_stall(&w->stalled[i], now, beats[i], stall_ms);
        if (x == SRV_CROSS_NONE)
            continue;
        char who[32], why[128];
        snprintf(who, sizeof(who), "worker %d", i);
        if (x == SRV_CROSS_RAISED) {
            snprintf(why, sizeof(why), "its event loop has not run for %lld ms (limit %d ms)",
                     (long long)((now - beats[i]) / 1000), stall_ms);
            hy_log_warn("%s stalled: %s", who, why);
            events_emit(EVENT_WORKER_STALLED, who, "running", "stalled", why,
                        "its sessions wait until it runs again");
        } else {
            hy_log_info("%s runs again", who);
            events_emit(EVENT_WORKER_RECOVERED, who, "stalled", "running", "it stamps again", "");
        }
    }
}

long selfwatch_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    long n = 0;
    const struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

bool selfwatch_drops(struct selfwatch *w, uint64_t dropped)
{
    bool more = dropped > w->dropped_seen;
    w->dropped_seen = dropped;
    bool starts = more && !w->dropping;
    w->dropping = more;
    return starts;
}

static void watch_fds(struct selfwatch *w, int warn_pct)
{
    struct rlimit rl;
    long open = selfwatch_open_fds();
    if (open < 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur == 0)
        return;
    double pct = 100.0 * (double)open / (double)rl.rlim_cur;
    enum srv_cross x = srv_threshold(&w->fds_high, pct, warn_pct);
    if (x == SRV_CROSS_NONE)
        return;
    char why[128];
    snprintf(why, sizeof(why), "%ld descriptors open of a limit of %llu (%.0f%%)", open,
             (unsigned long long)rl.rlim_cur, pct);
    if (x == SRV_CROSS_RAISED) {
        hy_log_warn("file descriptors near the limit: %s", why);
        events_emit(EVENT_HALYARD_FDS_HIGH, NULL, "ok", "high", why,
                    "new client and backend connections will fail at the limit; raise "
                    "LimitNOFILE (ulimit -n)");
    } else {
        hy_log_info("file descriptors back to normal: %s", why);
        events_emit(EVENT_HALYARD_FDS_OK, NULL, "high", "ok", why, "");
    }
}

void selfwatch_tick(struct selfwatch *w, int fd_warn_pct)
{
    watch_fds(w, fd_warn_pct);
    struct audit_stats st;
    audit_get_stats(&st);
    uint64_t dropped = st.audit_dropped + st.query_dropped;
    uint64_t before = w->dropped_seen;
    if (selfwatch_drops(w, dropped)) {
        char why[128];
        snprintf(why, sizeof(why), "%llu lines dropped in the last second (%llu in all)",
                 (unsigned long long)(dropped - before), (unsigned long long)dropped);
        events_emit(EVENT_LOG_LINES_DROPPED, NULL, "", "", why,
                    "the audit or query log does not keep up (disk full or slow?)");
    }
}
