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
 * With full_keep set, the archived binlogs follow the backups: every
 * archive file holding a transaction after the oldest kept full's GTID is
 * kept, the older ones go (backup_retain_binlogs; the pass is the
 * archive's, binlog_archive.c, which alone knows the file being written),
 * and backup.binlog_retention is not applied. Without full_keep the
 * archive keeps following backup.binlog_retention.
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

/* Every GTID of a at or before b's in its domain (a domain b lacks: only
 * seq 0). */
bool backup_retain_pos_le(const struct gtid_pos *a, const struct gtid_pos *b);

/* How many of the archive's first files (starts[i]: where file i begins,
 * its GTID_LIST; known[i] false when it could not be read) no point at or
 * after `floor` (the oldest kept full's GTID) needs: file i goes when the
 * next one begins at or before floor in every domain, and only as a prefix
 * (never past a file not known). The last file never goes. Pure. */
size_t backup_retain_binlogs(const struct gtid_pos *starts, const bool *known, size_t n,
                             const struct gtid_pos *floor);

/* What one pass deleted. */
struct backup_retain_result {
    size_t backups;   /* backups deleted from backup.dir */
    size_t files;     /* files deleted: data files and manifests, copies included */
    uint64_t bytes;   /* ... their bytes */
    size_t deferred;  /* backups due but kept: their second copy is not made yet */
    char oldest[256]; /* the oldest kept full's data file ("" = nothing to do) */
    /* full_keep set and a full kept: the oldest kept full, where the
     * archive must reach back to */
    bool have_floor;
    struct gtid_pos floor;
    int64_t floor_finished;
    char floor_name[256];
};

/* Apply backup.full_keep to cfg's backup.dir (and copy_to_dir): delete
 * what backup_retain_decide says, log each, send backup_expired when
 * something went. Any thread. */
void backup_retain_run(const struct config *cfg, struct backup_retain_result *out);

/* The archive's files (archive_seal.h names, clear or sealed) that go:
 * with full_keep, those before the oldest kept full (rr from
 * backup_retain_run; nothing without a kept full); without it, those
 * older than binlog_retention. Never file open_no (the one being
 * written) nor any after it, nor one whose second copy is not made; under
 * full_keep each also deleted from copy_to_dir (binlog_retention leaves
 * the copy, as before), and logged. How many went. The archive's
 * thread alone calls it (it rewrites binlog.index after). */
uint64_t backup_retain_archive(const struct config *cfg, const struct backup_retain_result *rr,
                               uint32_t open_no);

#endif /* HALYARD_BACKUP_RETAIN_H */
