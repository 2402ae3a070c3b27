/*
 * backup_verify.h: the last `halyardctl backup verify` result, as halyard
 * keeps it for `show backup` and the metrics.
 *
 * The verify runs in halyardctl's process (verify_run.h), as a restore
 * does; when it ends it reports to halyard over the admin socket:
 *
 *   backup verified RESULT GTID TABLES DIFFER
 *
 * RESULT is ok (every table identical), differ (DIFFER tables differ) or
 * failed (no comparison: the restore or a server failed; GTID may be "-"),
 * GTID the position compared at, TABLES the base tables compared. halyard
 * keeps the last one and counts each result; the last one is also written
 * to backup.dir/verify.last ("TIME RESULT GTID TABLES DIFFER"), read back
 * at start and reload, so a restart does not forget a failed verify (the
 * counts start again from 0). The metrics' halyard_backup_verify_failed is 1 while the last one
 * is differ or failed (the alert rule backup_verify_failed).
 */
#ifndef HALYARD_BACKUP_VERIFY_H
#define HALYARD_BACKUP_VERIFY_H

#include <stdint.h>
#include <time.h>

#include "halyard/core/core.h"
#include "halyard/core/gtid.h"

struct backup_verify_status {
    char result[8]; /* none, ok, differ, failed */
    time_t time;    /* when the last one was reported; 0 = none */
    char gtid[GTID_STR_MAX];
    uint32_t tables, differ;
    uint64_t ok_total, differ_total, failed_total;
};

/* Parse the words after "backup verified" ("ok 0-1-5 12 0"); HY_ERROR with
 * the reason in err. Pure. */
hy_status_t backup_verify_parse(const char *words, struct backup_verify_status *out, char *err,
                                size_t errlen) HY_MUSTCHECK;

/* Main thread (admin): record a parsed report at `now` (logged), and write
 * it to dir/verify.last when dir is not NULL (a failure is logged). */
void backup_verify_record(const struct backup_verify_status *r, time_t now, const char *dir);

struct config;
/* Main thread, at start and reload: the last result from
 * backup.dir/verify.last when none was reported since halyard started. */
void backup_verify_seed(const struct config *cfg);

/* Any thread. */
void backup_verify_status(struct backup_verify_status *out);

#endif /* HALYARD_BACKUP_VERIFY_H */
