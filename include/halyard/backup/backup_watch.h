/*
 * backup_watch.h: the backups held against the policy, on the archive's
 * retention pass (at start, after each backup, once a minute), from the
 * manifests and the archive's file names and first GTID_LIST only (no file
 * is read through):
 *
 *   a chain broken: an incremental or differential whose parent (or its
 *     parent's...) is missing from backup.dir/full: backup_chain_broken;
 *   an archive file sealed under a key the config lacks:
 *     backup_key_missing, as for a backup;
 *   the restorable window shorter than the policy promises: the window
 *     runs from the oldest full backup the archive reaches back to (its
 *     first file begins at or before the full's GTID) to now; with
 *     full_keep = N and full_every = P the policy promises (N - 1) x P
 *     (while fewer than N fulls exist, the schedule still filling up, at
 *     most the oldest full's age): backup_window_short, backup_window_ok
 *     when it holds again. Fulls taken by hand more often than P push the
 *     older ones out and shorten the window.
 *
 * Each is raised once per streak; the status is for `show backup` and the
 * metrics.
 */
#ifndef HALYARD_BACKUP_WATCH_H
#define HALYARD_BACKUP_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/backup/restore.h"
#include "halyard/config/config.h"

struct backup_watch_status {
    bool checked;          /* one pass ran */
    size_t chains_broken;  /* incrementals and differentials whose chain lacks a backup */
    size_t keys_missing;   /* archive files sealed under a key the config lacks */
    bool window_short;     /* backup_window_short raised and not yet cleared */
    int64_t window_s;      /* the restorable window's length; -1 = nothing restorable */
    int64_t promised_s;    /* what the policy promises; 0 = no promise */
    char window_from[256]; /* the full it starts at ("" = none) */
};

/* The window and the promise, pure: backups[0..n) (any order), the
 * archive's first file's start (archive_known false: no archive file), now.
 * Fills window_s, promised_s, window_from and window_short (window_s <
 * promised_s). */
void backup_watch_window(const struct restore_backup *backups, size_t n, bool archive_known,
                         const struct gtid_pos *archive_start, int full_keep, int64_t full_every_s,
                         int64_t now, struct backup_watch_status *out);

/* One pass over cfg's backup.dir: the checks above, the events, the
 * status. The archive's thread calls it. */
void backup_watch_run(const struct config *cfg, int64_t now);

/* Any thread. */
void backup_watch_status(struct backup_watch_status *out);

#endif /* HALYARD_BACKUP_WATCH_H */
