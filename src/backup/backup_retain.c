/*
 * backup_retain.c: see backup_retain.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "halyard/backup/backup_copy.h"
#include "halyard/backup/backup_full.h"
#include "halyard/backup/backup_retain.h"
#include "halyard/backup/restore_run.h"
#include "halyard/core/events.h"
#include "halyard/core/log.h"

static pthread_mutex_t retain_mu = PTHREAD_MUTEX_INITIALIZER;

/* a before b: by end time, the same second by the name's stamp (an
 * incremental after its parent) */
static bool older(const struct restore_backup *a, const struct restore_backup *b)
{
    if (a->finished != b->finished)
        return a->finished < b->finished;
    return strcmp(a->name + 5, b->name + 5) < 0;
}

static int find_name(const struct restore_backup *b, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(b[i].name, name) == 0)
            return (int)i;
    return -1;
}

size_t backup_retain_decide(const struct restore_backup *b, size_t n, int keep, bool *del,
                            int *oldest)
{
    *oldest = -1;
    for (size_t i = 0; i < n; i++)
        del[i] = false;
    if (keep <= 0)
        return 0;
    /* the oldest kept full: the keep-th newest */
    int cut = -1;
    for (int k = 0; k < keep; k++) {
        int next = -1;
        for (size_t i = 0; i < n; i++) {
            if (b[i].type != BACKUP_FULL || (cut >= 0 && !older(&b[i], &b[cut])))
                continue;
            if (next < 0 || older(&b[next], &b[i]))
                next = (int)i;
        }
        if (next < 0)
            return 0; /* no more than keep fulls */
        cut = next;
    }
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        del[i] = older(&b[i], &b[cut]);
        any = any || del[i];
    }
    if (!any)
        return 0;
    /* what a kept backup's chain needs stays, however old */
    for (size_t i = 0; i < n; i++) {
        if (del[i])
            continue;
        int at = (int)i;
        for (size_t steps = 0; steps < n && b[at].type != BACKUP_FULL && b[at].parent[0]; steps++) {
            at = find_name(b, n, b[at].parent);
            if (at < 0)
                break;
            del[at] = false;
        }
    }
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += del[i];
    *oldest = count > 0 ? cut : -1;
    return count;
}

/* Delete dir/rel when it exists; its size added to out. False when it
 * exists and could not be deleted. */
static bool remove_one(const char *dir, const char *rel, struct backup_retain_result *out)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%.3700s/%.300s", dir, rel);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return true;
    if (unlink(path) != 0) {
        hy_log_error("backup retention: cannot delete %s: %s", path, strerror(errno));
        return false;
    }
    out->files++;
    out->bytes += (uint64_t)sb.st_size;
    return true;
}

/* One backup's manifest first (readers stop seeing it at once), then its
 * data file; the same in copy_to_dir. */
static void remove_backup(const struct config_backup *cb, const struct restore_backup *b,
                          struct backup_retain_result *out)
{
    char data[300], man[300];
    size_t l = strlen(b->name), sl = backup_full_suffix(b->name);
    snprintf(data, sizeof(data), "full/%s", b->name);
    snprintf(man, sizeof(man), "full/%.*s.json", (int)(l - (sl < l ? sl : 0)), b->name);
    if (!remove_one(cb->dir, man, out) || !remove_one(cb->dir, data, out))
        return;
    out->backups++;
    if (cb->copy_to_dir[0] != '\0') {
        (void)remove_one(cb->copy_to_dir, man, out);
        (void)remove_one(cb->copy_to_dir, data, out);
    }
    hy_log_info("backup retention: %s %s removed (full_keep = %d)", backup_type_name(b->type),
                b->name, cb->full_keep);
}

void backup_retain_run(const struct config *cfg, struct backup_retain_result *out)
{
    memset(out, 0, sizeof(*out));
    const struct config_backup *cb = &cfg->backup;
    if (!cb->enabled || cb->dir[0] == '\0' || cb->full_keep <= 0)
        return;
    pthread_mutex_lock(&retain_mu);
    size_t n = 0;
    struct restore_backup *b = restore_backups_read(cb->dir, &n);
    bool *del = n > 0 ? calloc(n, sizeof(*del)) : NULL;
    int oldest = -1;
    if (del != NULL && backup_retain_decide(b, n, cb->full_keep, del, &oldest) > 0) {
        snprintf(out->oldest, sizeof(out->oldest), "%s", b[oldest].name);
        for (size_t i = 0; i < n; i++) {
            char item[300];
            snprintf(item, sizeof(item), "full/%s", b[i].name);
            if (!del[i])
                continue;
            if (!backup_copy_done(item))
                out->deferred++; /* a later pass, once the copy is made */
            else
                remove_backup(cb, &b[i], out);
        }
    }
    pthread_mutex_unlock(&retain_mu);
    free(del);
    free(b);
    if (out->backups == 0)
        return;
    char reason[EVENT_TEXT_MAX], action[EVENT_TEXT_MAX];
    snprintf(reason, sizeof(reason),
             "full_keep = %d: %zu backups older than the oldest kept full deleted, %zu files, "
             "%" PRIu64 " bytes%s",
             cb->full_keep, out->backups, out->files, out->bytes,
             cb->copy_to_dir[0] != '\0' ? " (the copies in copy_to_dir included)" : "");
    snprintf(action, sizeof(action), "the backups now start at %.200s%s", out->oldest,
             out->deferred > 0 ? "; some wait for their second copy" : "");
    hy_log_info("backup retention: %s; %s", reason, action);
    events_emit(EVENT_BACKUP_EXPIRED, NULL, NULL, NULL, reason, action);
}
