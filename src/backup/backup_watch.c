/*
 * backup_watch.c: see backup_watch.h.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "halyard/backup/archive_seal.h"
#include "halyard/backup/backup_retain.h"
#include "halyard/backup/backup_watch.h"
#include "halyard/backup/restore_run.h"
#include "halyard/core/events.h"
#include "halyard/core/log.h"

static struct {
    pthread_mutex_t mu;
    struct backup_watch_status st;
    char broken_first[256]; /* the first broken chain's backup, raised for */
    char key_first[128];    /* the first archive file whose key is missing, raised for */
} W = {.mu = PTHREAD_MUTEX_INITIALIZER};

void backup_watch_window(const struct restore_backup *b, size_t n, bool archive_known,
                         const struct gtid_pos *archive_start, int full_keep, int64_t full_every_s,
                         int64_t now, struct backup_watch_status *out)
{
    out->window_s = -1;
    out->promised_s = 0;
    out->window_from[0] = '\0';
    int oldest = -1, reach = -1; /* the oldest full; the oldest the archive reaches */
    int fulls = 0;
    for (size_t i = 0; i < n; i++) {
        if (b[i].type != BACKUP_FULL)
            continue;
        fulls++;
        if (oldest < 0 || b[i].finished < b[oldest].finished)
            oldest = (int)i;
        if (archive_known && backup_retain_pos_le(archive_start, &b[i].gtid) &&
            (reach < 0 || b[i].finished < b[reach].finished))
            reach = (int)i;
    }
    if (reach >= 0) {
        out->window_s = now - b[reach].finished;
        snprintf(out->window_from, sizeof(out->window_from), "%s", b[reach].name);
    }
    if (full_keep > 0 && full_every_s > 0 && oldest >= 0) {
        int64_t promise = (int64_t)(full_keep - 1) * full_every_s;
        int64_t age = now - b[oldest].finished;
        /* fewer fulls than kept: the schedule is still filling up */
        out->promised_s = fulls < full_keep && age < promise ? age : promise;
    }
    out->window_short = out->promised_s > 0 && out->window_s < out->promised_s;
}

/* The chains a restore cannot prepare; the first one's name and why. */
static size_t chains_broken(const struct restore_backup *b, size_t n, char *first, size_t fl,
                            char *why, size_t wl)
{
    size_t broken = 0;
    first[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t chain[RESTORE_CHAIN_MAX];
        char err[300];
        if (b[i].type == BACKUP_FULL || restore_chain(b, n, i, chain, err, sizeof(err)) > 0)
            continue;
        if (broken++ == 0) {
            snprintf(first, fl, "%s", b[i].name);
            snprintf(why, wl, "%s", err);
        }
    }
    return broken;
}

/* The archive's first file's start, and the files sealed under a key
 * the config lacks (the first named). `gone`: the first file was not
 * there to read when its start was read (sealed or removed since the
 * directory was listed: scan again). */
static bool archive_scan_once(const struct config_backup *cb, struct gtid_pos *start,
                              size_t *missing, char *first, size_t fl, bool *gone)
{
    *missing = 0;
    first[0] = '\0';
    DIR *d = opendir(cb->dir);
    if (d == NULL)
        return false;
    char oldest[96] = "";
    uint32_t oldest_no = 0;
    struct backup_crypt_key *keys = calloc(cb->n_keys + 1, sizeof(*keys));
    for (size_t i = 0; keys != NULL && i < cb->n_keys; i++)
        backup_crypt_key_make(cb->keys[i], &keys[i]);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint32_t no = 0;
        char id[2 * BACKUP_CRYPT_ID_LEN + 1];
        enum archive_kind k = archive_name_parse(e->d_name, &no, id);
        if (k == ARCHIVE_NOT || strlen(e->d_name) >= sizeof(oldest))
            continue;
        if (oldest_no == 0 || no < oldest_no) {
            oldest_no = no;
            snprintf(oldest, sizeof(oldest), "%s", e->d_name);
        }
        bool held = k == ARCHIVE_CLEAR;
        for (size_t i = 0; !held && keys != NULL && i < cb->n_keys; i++)
            held = strcmp(keys[i].id_hex, id) == 0;
        if (!held && (*missing)++ == 0)
            snprintf(first, fl, "%s", e->d_name);
    }
    closedir(d);
    bool ok = oldest_no > 0 && keys != NULL &&
              archive_file_start(cb->dir, oldest, keys, cb->n_keys, start) == HY_OK;
    if (!ok && oldest_no > 0) {
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%.4000s/%s", cb->dir, oldest);
        *gone = access(path, F_OK) != 0 && errno == ENOENT;
    }
    if (keys != NULL)
        explicit_bzero(keys, (cb->n_keys + 1) * sizeof(*keys));
    free(keys);
    return ok;
}

/* archive_scan_once, again while the archive's first file changed name
 * under it: a closed file is sealed (written under its sealed name, its
 * clear one removed) or, empty, removed, at any moment; a read that met
 * that is not an archive without a start (which would raise
 * backup_window_short: CI saw it once, after a full backup's rotation). */
static bool archive_scan(const struct config_backup *cb, struct gtid_pos *start, size_t *missing,
                         char *first, size_t fl)
{
    bool ok = false, gone = true;
    for (int tries = 0; !ok && gone && tries < 5; tries++) {
        gone = false;
        ok = archive_scan_once(cb, start, missing, first, fl, &gone);
    }
    return ok;
}

/* Raise once per streak: `first` names what is wrong ("" = nothing). */
static void note(enum event_type t, char *raised, size_t rl, const char *first, const char *why,
                 const char *action)
{
    if (first[0] == '\0') {
        raised[0] = '\0';
        return;
    }
    if (strcmp(raised, first) == 0)
        return;
    snprintf(raised, rl, "%s", first);
    hy_log_warn("backup: %s", why);
    events_emit(t, NULL, NULL, NULL, why, action);
}

void backup_watch_run(const struct config *cfg, int64_t now)
{
    const struct config_backup *cb = &cfg->backup;
    if (!cb->enabled || cb->dir[0] == '\0')
        return;
    size_t n = 0;
    struct restore_backup *b = restore_backups_read(cb->dir, &n);
    struct backup_watch_status st = {.checked = true};
    char bfirst[256], bwhy[400] = "", kfirst[128], why[EVENT_TEXT_MAX];
    st.chains_broken = chains_broken(b, n, bfirst, sizeof(bfirst), bwhy, sizeof(bwhy));
    struct gtid_pos start = {0};
    bool known = archive_scan(cb, &start, &st.keys_missing, kfirst, sizeof(kfirst));
    backup_watch_window(b, n, known, &start, cb->full_keep, cb->full_every_s, now, &st);
    free(b);

    pthread_mutex_lock(&W.mu);
    bool was_short = W.st.window_short;
    snprintf(why, sizeof(why),
             "%zu incremental or differential backup(s) cannot be restored: %.200s",
             st.chains_broken, bwhy);
    note(EVENT_BACKUP_CHAIN_BROKEN, W.broken_first, sizeof(W.broken_first), bfirst, why,
         "take a full backup (halyardctl backup full); see halyardctl backup list");
    snprintf(why, sizeof(why),
             "%zu archive file(s) in %.300s are sealed under a key neither "
             "backup.encryption_key_file nor backup.decryption_key_files holds (%.100s): "
             "restore cannot read them",
             st.keys_missing, cb->dir, kfirst);
    note(EVENT_BACKUP_KEY_MISSING, W.key_first, sizeof(W.key_first), kfirst, why,
         "add the key file to backup.decryption_key_files");
    W.st = st;
    pthread_mutex_unlock(&W.mu);
    if (st.window_short && !was_short) {
        if (st.window_s < 0)
            snprintf(why, sizeof(why),
                     "nothing is restorable: the archive begins after every full backup; the "
                     "policy (full_keep = %d, full_every = %.40s) promises %" PRId64 " s",
                     cb->full_keep, cb->full_every, st.promised_s);
        else
            snprintf(why, sizeof(why),
                     "the restorable window is %" PRId64 " s (from %.200s), the policy (full_keep "
                     "= %d, full_every = %.40s) promises %" PRId64 " s",
                     st.window_s, st.window_from, cb->full_keep, cb->full_every, st.promised_s);
        hy_log_warn("backup: %s", why);
        events_emit(EVENT_BACKUP_WINDOW_SHORT, NULL, "ok", "short", why,
                    "halyardctl backup list shows the window and its gaps");
    } else if (!st.window_short && was_short) {
        snprintf(why, sizeof(why),
                 "the restorable window is %" PRId64 " s, the policy's %" PRId64 " s holds",
                 st.window_s, st.promised_s);
        events_emit(EVENT_BACKUP_WINDOW_OK, NULL, "short", "ok", why, "");
    }
}

void backup_watch_status(struct backup_watch_status *out)
{
    pthread_mutex_lock(&W.mu);
    *out = W.st;
    pthread_mutex_unlock(&W.mu);
}
