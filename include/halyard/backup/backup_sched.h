/*
 * backup_sched.h: the schedule of full backups (backup.full_every,
 * backup.full_window) and the alarm of a full backup too old.
 *
 * The main thread calls backup_sched_tick() once a second. It starts a
 * full backup (backup_full_request, as `halyardctl backup full` does) when
 *
 *   - full_every is set (not "0"),
 *   - no full backup is running (scheduled or on demand: one at a time),
 *   - the newest complete one (backup_full_status.last_ok, read back from
 *     the manifests at start) ended full_every or longer ago, or there is
 *     none,
 *   - the time of day, in UTC, is in full_window (when one is given),
 *   - and the last attempt did not fail less than min(full_every, 10 min)
 *     ago: a failed backup is retried then, never in a loop.
 *
 * It raises backup_full_old when the newest complete full backup (or, with
 * none, halyard's start) is older than full_max_age (by default twice
 * full_every; no alarm without a schedule unless full_max_age is given),
 * and backup_full_ok when a complete one comes after that.
 *
 * backup.incr_every and backup.diff_every start incrementals and
 * differentials (backup_chain.h) the same way, between the fulls.
 */
#ifndef HALYARD_BACKUP_SCHED_H
#define HALYARD_BACKUP_SCHED_H

#include <time.h>

#include "halyard/backup/backup_chain.h"
#include "halyard/backup/backup_watch.h"
#include "halyard/config/config.h"
#include "halyard/core/core.h"

#define BACKUP_SCHED_RETRY_MAX_S 600

struct backup_sched_status {
    char state[24];   /* off, waiting, outside_window, retry_wait, running */
    time_t next;      /* when the next scheduled one is due (before the window); 0 = off */
    uint64_t started; /* scheduled backups started */
    bool too_old;     /* backup_full_old raised and not yet cleared */
    int64_t max_age_s;
    struct backup_watch_status watch; /* the policy held against the backups (backup_watch.h) */
};

/* Whether `now` (UTC) is in the daily window [from, to) given in minutes
 * after 00:00 (to < from: it spans midnight); from < 0 = no window. Pure. */
bool backup_sched_in_window(int from, int to, time_t now);

/* What the schedule says at `now`: the state name ("off", "running",
 * "waiting", "retry_wait", "outside_window", or "due" = start one). The
 * inputs: the newest complete backup's end (0 = none), whether one runs,
 * when the last failed one ended (0 = none since). *next: when one is due
 * (0 = off). Pure. */
const char *backup_sched_decide(const struct config_backup *b, time_t now, time_t last_ok,
                                bool running, time_t failed_at, time_t *next);

/* With no full due (its decision "off", "waiting" or "outside_window":
 * incrementals and differentials ignore full_window): BACKUP_DIFF when
 * the newest full or differential ended diff_every or longer ago,
 * BACKUP_INCR when the newest backup of any type ended incr_every or
 * longer ago, else BACKUP_FULL = nothing due. Only once a full exists
 * (last_full > 0), and not within min(every, 10 min) of a failure after
 * the last good one. Pure. */
enum backup_type backup_sched_chain(const struct config_backup *b, time_t now, time_t last_full,
                                    time_t last_base, time_t last_any, time_t failed_at);

/* The age limit backup_full_old uses (0 = none). Pure. */
int64_t backup_sched_max_age(const struct config_backup *b);

/* Main thread, once a second. */
void backup_sched_tick(struct config *cfg, time_t now);
/* Any thread. */
void backup_sched_status(struct backup_sched_status *out);

#endif /* HALYARD_BACKUP_SCHED_H */
