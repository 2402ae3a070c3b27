/*
 * backup_sched.c: see backup_sched.h. The decisions are pure functions of
 * the config and the full backup's status; the tick applies them.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "halyard/backup/backup_full.h"
#include "halyard/backup/backup_sched.h"
#include "halyard/core/events.h"
#include "halyard/core/log.h"

static struct {
    pthread_mutex_t mu;
    struct backup_sched_status st;
    time_t since;   /* the first tick: the age of "no backup at all" counts from it */
    time_t old_for; /* last_ok when backup_full_old was raised */
} S = {.mu = PTHREAD_MUTEX_INITIALIZER, .st = {.state = "off"}};

bool backup_sched_in_window(int from, int to, time_t now)
{
    if (from < 0)
        return true;
    int m = (int)((now % 86400) / 60);
    if (from < to)
        return m >= from && m < to;
    return m >= from || m < to; /* spans midnight */
}

const char *backup_sched_decide(const struct config_backup *b, time_t now, time_t last_ok,
                                bool running, time_t failed_at, time_t *next)
{
    *next = 0;
    if (!b->enabled || b->full_every_s <= 0)
        return "off";
    *next = last_ok > 0 ? last_ok + (time_t)b->full_every_s : now;
    int64_t retry = HY_MIN(b->full_every_s, (int64_t)BACKUP_SCHED_RETRY_MAX_S);
    if (failed_at > last_ok && failed_at + retry > *next)
        *next = failed_at + (time_t)retry;
    if (running)
        return "running";
    if (now < *next)
        return failed_at > last_ok && now < failed_at + retry ? "retry_wait" : "waiting";
    if (!backup_sched_in_window(b->full_window_from, b->full_window_to, now))
        return "outside_window";
    return "due";
}

enum backup_type backup_sched_chain(const struct config_backup *b, time_t now, time_t last_full,
                                    time_t last_base, time_t last_any, time_t failed_at)
{
    if (!b->enabled || last_full <= 0)
        return BACKUP_FULL;
    int64_t every[2] = {b->diff_every_s, b->incr_every_s};
    time_t since[2] = {HY_MAX(last_base, last_full), HY_MAX(last_any, last_full)};
    for (int i = 0; i < 2; i++) {
        if (every[i] <= 0 || now < since[i] + (time_t)every[i])
            continue;
        int64_t retry = HY_MIN(every[i], (int64_t)BACKUP_SCHED_RETRY_MAX_S);
        if (failed_at > last_any && now < failed_at + (time_t)retry)
            return BACKUP_FULL;
        return i == 0 ? BACKUP_DIFF : BACKUP_INCR;
    }
    return BACKUP_FULL;
}

int64_t backup_sched_max_age(const struct config_backup *b)
{
    if (!b->enabled)
        return 0;
    if (b->full_max_age_s > 0)
        return b->full_max_age_s;
    return 2 * b->full_every_s;
}

static void check_age(const struct config_backup *b, const struct backup_full_status *f, time_t now,
                      int64_t max_age)
{
    time_t base = f->last_ok > 0 ? f->last_ok : S.since;
    bool raised = S.st.too_old;
    if (raised && (max_age <= 0 || f->last_ok > S.old_for)) {
        S.st.too_old = false;
        if (max_age > 0)
            events_emit(EVENT_BACKUP_FULL_OK, f->source, "too_old", "ok",
                        "a complete full backup ended", f->file);
        return;
    }
    if (raised || max_age <= 0 || now - base <= max_age)
        return;
    S.st.too_old = true;
    S.old_for = f->last_ok;
    char why[200];
    if (f->last_ok > 0)
        snprintf(why, sizeof(why), "the newest complete full backup ended %lld s ago (limit %s)",
                 (long long)(now - base),
                 b->full_max_age_s > 0 ? b->full_max_age : "2 x full_every");
    else
        snprintf(why, sizeof(why), "no complete full backup in backup.dir for %lld s (limit %s)",
                 (long long)(now - base),
                 b->full_max_age_s > 0 ? b->full_max_age : "2 x full_every");
    hy_log_warn("backup: %s", why);
    events_emit(EVENT_BACKUP_FULL_OLD, NULL, "ok", "too_old", why,
                f->error[0] != '\0' ? f->error : "see halyardctl show backup");
}

void backup_sched_tick(struct config *cfg, time_t now)
{
    const struct config_backup *b = &cfg->backup;
    struct backup_full_status f;
    backup_full_status(&f);
    bool running = strcmp(f.state, "running") == 0;
    time_t failed_at = strcmp(f.state, "failed") == 0 ? f.finished : 0;
    time_t next;
    const char *what = backup_sched_decide(b, now, f.last_ok, running, failed_at, &next);
    int64_t max_age = backup_sched_max_age(b);
    pthread_mutex_lock(&S.mu);
    if (S.since == 0)
        S.since = now;
    check_age(b, &f, now, max_age);
    S.st.next = next;
    S.st.max_age_s = max_age;
    snprintf(S.st.state, sizeof(S.st.state), "%s", strcmp(what, "due") == 0 ? "running" : what);
    pthread_mutex_unlock(&S.mu);
    enum backup_type type = BACKUP_FULL;
    if (strcmp(what, "off") == 0 || strcmp(what, "waiting") == 0 ||
        strcmp(what, "outside_window") == 0)
        type = backup_sched_chain(b, now, f.last_ok, f.last_base, f.last_any, failed_at);
    if (strcmp(what, "due") != 0 && type == BACKUP_FULL)
        return;
    char msg[600];
    if (backup_take_request(cfg, type, msg, sizeof(msg)) != HY_OK) {
        /* No source now, or a thread: the next tick tries again; the
         * request's own refusals are cheap (no process, no drain). */
        static char said[600];
        if (strcmp(said, msg) != 0)
            hy_log_warn("backup: scheduled full backup not started: %s", msg);
        snprintf(said, sizeof(said), "%s", msg);
        pthread_mutex_lock(&S.mu);
        snprintf(S.st.state, sizeof(S.st.state), "waiting");
        pthread_mutex_unlock(&S.mu);
        return;
    }
    const char *key = type == BACKUP_FULL   ? "full_every"
                      : type == BACKUP_DIFF ? "diff_every"
                                            : "incr_every";
    const char *val = type == BACKUP_FULL   ? b->full_every
                      : type == BACKUP_DIFF ? b->diff_every
                                            : b->incr_every;
    char why[64];
    snprintf(why, sizeof(why), "scheduled (backup.%s)", key);
    hy_log_info("backup: scheduled (%s = %s): %s", key, val, msg);
    events_emit(EVENT_BACKUP_FULL_STARTED, NULL, "", "running", why, msg);
    pthread_mutex_lock(&S.mu);
    S.st.started++;
    pthread_mutex_unlock(&S.mu);
}

void backup_sched_status(struct backup_sched_status *out)
{
    pthread_mutex_lock(&S.mu);
    *out = S.st;
    pthread_mutex_unlock(&S.mu);
    backup_watch_status(&out->watch);
}
