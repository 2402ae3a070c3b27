/*
 * backup_retain.h: retention of physical and logical backups by count
 * (backup.full_keep = N).
 *
 * The newest N full backups are kept, with every differential and
 * incremental whose chain starts at one of them. Everything older than the
 * oldest kept full is deleted, from backup.dir/full and from the second
 * copy in backup.copy_to_dir, unless a kept backup's chain still needs it
 * (its parent links are walked). Nothing newer than the oldest kept full is
 * ever deleted, a broken chain's backups (a parent missing) included. A
 * backup whose second copy is not made yet is left for a later pass.
 *
 * The archived binlogs are not touched here: they keep following
 * backup.binlog_retention (binlog_archive.h).
 *
 * It runs after each complete backup (backup_full.c, before the backup
 * counts as done) and on the archive's retention pass (binlog_archive.c),
 * serialized by a lock of its own; what it deleted is logged and sent as
 * backup_expired.
 */
#ifndef HALYARD_BACKUP_RETAIN_H
#define HALYARD_BACKUP_RETAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/backup/restore.h"
#include "halyard/config/config.h"

/* Which of backups[0..n) retention deletes with full_keep = keep: del[i]
 * set for each, the others cleared. The count; 0 when keep <= 0 or there
 * are no more than keep fulls. *oldest is the index of the oldest kept
 * full (-1 when nothing is deleted). Any order of `backups`. Pure. */
size_t backup_retain_decide(const struct restore_backup *backups, size_t n, int keep, bool *del,
                            int *oldest);

/* What one pass deleted. */
struct backup_retain_result {
    size_t backups;   /* backups deleted from backup.dir */
    size_t files;     /* files deleted: data files and manifests, copies included */
    uint64_t bytes;   /* ... their bytes */
    size_t deferred;  /* backups due but kept: their second copy is not made yet */
    char oldest[256]; /* the oldest kept full's data file ("" = nothing to do) */
};

/* Apply backup.full_keep to cfg's backup.dir (and copy_to_dir): delete
 * what backup_retain_decide says, log each, send backup_expired when
 * something went. Any thread. */
void backup_retain_run(const struct config *cfg, struct backup_retain_result *out);

#endif /* HALYARD_BACKUP_RETAIN_H */
