/*
 * backup_list.h: `halyardctl backup list`, run in halyardctl's own process
 * as restore is (halyard takes no part): the full backups in backup.dir
 * (method, size, time, GTID, encryption and whether this config holds the
 * key) and the restorable window the archive gives them: from each
 * backup's end as far as the archive runs on without a gap, merged, the
 * gaps between named with the reason restore would give.
 */
#ifndef HALYARD_BACKUP_LIST_H
#define HALYARD_BACKUP_LIST_H

#include "halyard/config/config.h"

/* A stretch of restorable time: from a backup's end to where the archive
 * stops serving it (its end, or a gap: why). */
struct backup_span {
    int64_t from, to; /* seconds since the epoch */
    char from_gtid[128], to_gtid[128];
    char why[600]; /* "" = to the archive's end */
};

/* Merge spans (sorted by from) in place into disjoint ones; returns how
 * many remain. A span inside an earlier one is dropped; one that starts
 * before an earlier one ends extends it: by time, or, after a span that
 * reaches the archive's end (why ""), by GTID (its from_gtid at or before
 * the earlier to_gtid: a backup taken the second after the last write).
 * Pure. */
size_t backup_list_merge(struct backup_span *s, size_t n);

/* argv: "backup" "list" [--dir DIR]; the keys are backup_keys_set's. Exit
 * status 0, 1 when a backup's key is missing or the window has a gap or
 * there is no backup, 2 usage. */
int backup_list_main(int argc, char **argv, const struct config *cfg);

#endif
