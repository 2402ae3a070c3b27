/*
 * binlog_archive.h: the continuous binlog archive (backup section).
 *
 * One thread with its own libev loop connects to the current primary as a
 * replica (COM_REGISTER_SLAVE, then COM_BINLOG_DUMP from the archive's GTID
 * position: @slave_connect_state, @slave_gtid_strict_mode = 1) and writes
 * the events into binlog.NNNNNN files in backup.dir, in the server's format
 * (binlog.h), so mariadb-binlog reads them:
 *
 *   - every connection starts a new file: magic, the server's
 *     FORMAT_DESCRIPTION event, a GTID_LIST event with the archive's
 *     position, then the events; a ROTATE of the server ends a file with a
 *     ROTATE naming the archive's next one. log_pos is rewritten to the
 *     file's offsets (and the CRC redone after the server's was checked).
 *     Artificial events (fake ROTATE, fake GTID_LIST), the server's own
 *     GTID_LISTs and heartbeats are not written;
 *   - every event's CRC32 is checked; a corrupted one is not written, is
 *     counted and raises backup_archive_error, and the archive reconnects
 *     from its last whole transaction;
 *   - a transaction counts as archived when its last event is written and
 *     fdatasync'd (at least every backup.binlog_sync_ms); a file is cut
 *     back to its last whole transaction when a stream ends;
 *   - it follows the primary role (backend.h): when another backend takes
 *     it, the archive reconnects there from its position, so the next GTID
 *     follows the last archived one. Transactions the archive took from the
 *     old primary that the new one never got (an async failover's lost
 *     tail: GTIDs its @@gtid_binlog_state lacks, server_id included, as the
 *     new primary may go on with the same sequence numbers) are moved out
 *     to binlog.NNNNNN.lost and the archive goes on from
 *     the new primary's history; a GTID that skips sequence numbers in its
 *     domain raises backup_archive_gap;
 *   - closed files older than backup.binlog_retention are deleted;
 *     binlog.index lists the files;
 *   - lag: a second connection reads the primary's @@gtid_binlog_pos every
 *     100 ms; the archive is behind by the transactions between that and
 *     its synced position, for as long as since the reading that first
 *     showed them.
 *
 * Nothing here can stop halyard from proxying: an unusable backup.dir is
 * an alarm and a retry.
 */
#ifndef HALYARD_BINLOG_ARCHIVE_H
#define HALYARD_BINLOG_ARCHIVE_H

#include <time.h>

#include "halyard/config/config.h"
#include "halyard/core/core.h"
#include "halyard/core/gtid.h"

#define ARCHIVE_FILE_PREFIX "binlog"

/* What `show backup` and the metrics read (a copy). */
struct binlog_archive_status {
    bool enabled;
    char state[24];        /* off, idle, connecting, streaming, error */
    char source[128];      /* backend streamed from ("" = none) */
    char source_file[128]; /* its binlog file, as the fake ROTATE said */
    char file[64];         /* the archive file being written */
    char dir[256];
    char gtid[GTID_STR_MAX];         /* the archive's synced position */
    char primary_gtid[GTID_STR_MAX]; /* the primary's, last read */
    uint64_t events, bytes, transactions, corrupt, gaps, reconnects, files, lost_trx;
    uint64_t files_removed;
    double lag_seconds;               /* 0 when caught up; -1 = unknown */
    int64_t lag_transactions;         /* -1 = unknown */
    double lag_p50, lag_p99, lag_max; /* seconds, over the last samples; -1 = none */
    uint64_t lag_samples;
    char last_error[512];
    time_t last_error_time;
    char last_gap[256];
};

/* FILE:LINE: backup.dir: why, when the directory cannot be used (halyard
 * -t). HY_OK when the section is absent or the directory is usable. */
hy_status_t binlog_archive_check_dir(const struct config *cfg, char *err,
                                     size_t errlen) HY_MUSTCHECK;

/* Start the thread (always; it idles while the section is absent). */
hy_status_t binlog_archive_start(struct config *cfg, char *err, size_t errlen) HY_MUSTCHECK;
void binlog_archive_stop(void);
void binlog_archive_set_config(struct config *cfg);
/* Any thread. */
void binlog_archive_status(struct binlog_archive_status *out);
/* A backup completed: the archive's retention runs at its next tick (with
 * backup.full_keep the archive's files follow the kept backups). */
void binlog_archive_retention_soon(void);

#endif /* HALYARD_BINLOG_ARCHIVE_H */
