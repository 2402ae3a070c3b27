/*
 * backup_retain.c: see backup_retain.h.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "halyard/backup/archive_seal.h"
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

bool backup_retain_pos_le(const struct gtid_pos *a, const struct gtid_pos *b)
{
    for (uint32_t i = 0; i < a->n; i++)
        if (a->g[i].seq > gtid_pos_seq(b, a->g[i].domain))
            return false;
    return true;
}

size_t backup_retain_binlogs(const struct gtid_pos *starts, const bool *known, size_t n,
                             const struct gtid_pos *floor)
{
    size_t k = 0;
    while (k + 1 < n && known[k + 1] && backup_retain_pos_le(&starts[k + 1], floor))
        k++;
    return k;
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
    if (del != NULL)
        (void)backup_retain_decide(b, n, cb->full_keep, del, &oldest);
    for (size_t i = 0; del != NULL && i < n; i++) { /* the archive keeps what it needs */
        if (del[i] || b[i].type != BACKUP_FULL)
            continue;
        if (!out->have_floor || b[i].finished < out->floor_finished) {
            out->have_floor = true;
            out->floor = b[i].gtid;
            out->floor_finished = b[i].finished;
            snprintf(out->floor_name, sizeof(out->floor_name), "%s", b[i].name);
        }
    }
    if (oldest >= 0) {
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

/* ---- the archive's files ---------------------------------------------------- */

/* The archive's files (clear or sealed) by number; NULL when none. */
static struct archive_file *afiles(const char *dir, size_t *n)
{
    struct archive_file *v;
    if (archive_list(dir, &v, n) != HY_OK)
        return NULL;
    return v;
}

/* Delete archive file `name` from backup.dir and, with_copy, its second
 * copy from copy_to_dir; true when it went. */
static bool retire(const struct config_backup *cb, const char *name, bool with_copy,
                   const char *why)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%.4000s/%s", cb->dir, name);
    if (unlink(path) != 0)
        return false;
    if (with_copy && cb->copy_to_dir[0] != '\0') {
        snprintf(path, sizeof(path), "%.4000s/%s", cb->copy_to_dir, name);
        if (unlink(path) != 0 && errno != ENOENT)
            hy_log_error("backup: cannot delete %s: %s", path, strerror(errno));
    }
    hy_log_info("backup: %s removed (%s)", name, why);
    return true;
}

/* full_keep: the files no point since the oldest kept full needs. */
static uint64_t by_backups(const struct config_backup *cb, const struct backup_retain_result *rr,
                           const struct archive_file *v, size_t n, uint32_t open_no)
{
    struct gtid_pos *starts = calloc(n + 1, sizeof(*starts));
    bool *known = calloc(n + 1, sizeof(*known));
    struct backup_crypt_key *keys = calloc(cb->n_keys + 1, sizeof(*keys));
    uint64_t removed = 0;
    if (starts == NULL || known == NULL || keys == NULL)
        goto out;
    for (size_t i = 0; i < cb->n_keys; i++)
        backup_crypt_key_make(cb->keys[i], &keys[i]);
    for (size_t i = 0; i < n; i++) {
        known[i] = archive_file_start(cb->dir, v[i].name, keys, cb->n_keys, &starts[i]) == HY_OK;
        if (!known[i])
            break; /* nothing from here on is known to be before the floor */
    }
    size_t k = backup_retain_binlogs(starts, known, n, &rr->floor);
    char why[400];
    snprintf(why, sizeof(why), "before the oldest kept full %.300s, full_keep = %d", rr->floor_name,
             cb->full_keep);
    for (size_t i = 0; i < k; i++) {
        if (v[i].no >= open_no || !backup_copy_done(v[i].name))
            break; /* never the newest; kept until its second copy is made */
        removed += retire(cb, v[i].name, true, why);
    }
out:
    if (keys != NULL)
        explicit_bzero(keys, (cb->n_keys + 1) * sizeof(*keys));
    free(keys);
    free(known);
    free(starts);
    return removed;
}

uint64_t backup_retain_archive(const struct config *cfg, const struct backup_retain_result *rr,
                               uint32_t open_no)
{
    const struct config_backup *cb = &cfg->backup;
    bool keep_by_backups = cb->full_keep > 0;
    if (!cb->enabled || (!keep_by_backups && cb->retention_s <= 0))
        return 0;
    size_t n = 0;
    struct archive_file *v = afiles(cb->dir, &n);
    uint64_t removed = 0;
    if (keep_by_backups && rr->have_floor)
        removed = by_backups(cb, rr, v, n, open_no);
    time_t now = time(NULL);
    for (size_t i = 0; !keep_by_backups && i < n; i++) {
        if (v[i].no >= open_no) /* the file being written, and never the last */
            break;
        char path[PATH_MAX], why[200];
        snprintf(path, sizeof(path), "%.4000s/%s", cb->dir, v[i].name);
        struct stat sb;
        if (stat(path, &sb) != 0 || now - sb.st_mtime < cb->retention_s)
            break; /* oldest first: the rest are newer */
        if (!backup_copy_done(v[i].name))
            break; /* kept until its second copy is made (backup_copy.h) */
        snprintf(why, sizeof(why), "older than binlog_retention = %.100s", cb->retention);
        removed += retire(cb, v[i].name, false, why); /* the copy keeps its own pace */
    }
    free(v);
    return removed;
}
