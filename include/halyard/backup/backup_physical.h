/*
 * backup_physical.h: the mariadb-backup method of a full backup
 * (backup.method = "mariadb-backup"; backup_full.h runs it).
 *
 * backup.mariadb_backup_command is a template run with /bin/sh -c (so the
 * operator can write `ssh db1 mariadb-backup ...`): %h the source's
 * address, %p its port, %u the backup account, each single-quoted, %% a
 * %. The account's password is in the environment (MYSQL_PWD), never on
 * the command line. The command writes one xbstream (mbstream) on its
 * standard output; halyard gzips it into full/full-TIME.xb.gz.partial
 * with its SHA-256, as it does a dump, and renames it only when the
 * stream is whole and the command exited 0.
 *
 * %i is replaced by --incremental-lsn=N for an incremental or
 * differential backup (backup_chain.h) and by nothing for a full.
 *
 * The stream is walked chunk by chunk as it passes (xbstream_scan): a
 * stream that is not xbstream, or ends inside a chunk, fails the backup;
 * the payload of xtrabackup_binlog_info (mariadb_backup_binlog_info in
 * MariaDB 11) is kept: mariadb-backup writes it while it holds BACKUP
 * STAGE BLOCK_COMMIT, after the last commit its copy holds, so its GTID
 * is the backup's consistent point, where the restore's binlogs start.
 * The payload of xtrabackup_checkpoints is kept too: its from_lsn and
 * to_lsn are the manifest's LSN range.
 */
#ifndef HALYARD_BACKUP_PHYSICAL_H
#define HALYARD_BACKUP_PHYSICAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "halyard/config/config.h"
#include "halyard/core/core.h"

#define XBSTREAM_PATH_MAX 1024

/* A walk over an xbstream as it passes. Zero it before the first feed. */
struct xbstream_scan {
    uint8_t hdr[14 + XBSTREAM_PATH_MAX + 20]; /* the chunk header being read */
    size_t have;                              /* bytes of it so far */
    uint64_t left;                            /* payload bytes of the chunk still to pass */
    bool capture;                             /* they are the binlog info's */
    char info[512];                           /* the binlog info's payload */
    size_t info_len;
    bool capture_ckpt; /* they are xtrabackup_checkpoints' */
    char ckpt[512];    /* its payload: from_lsn, to_lsn */
    size_t ckpt_len;
    uint64_t chunks;
    bool bad;
    char error[160];
};

/* Feed the next n bytes. false once the stream is not xbstream (error). */
bool xbstream_scan_feed(struct xbstream_scan *s, const uint8_t *p, size_t n);
/* At the end: true when it ended between chunks, after at least one. */
bool xbstream_scan_complete(const struct xbstream_scan *s);

/* The GTID (third field) of a binlog info payload ("binlog.000001\t630\t0-1-5\n"),
 * checked with gtid_pos_parse; false when absent or not a GTID list. Pure. */
bool backup_physical_gtid(const char *info, size_t len, char *out, size_t cap);

/* Run the command template for source `b` (its stdout a pipe: *out_fd,
 * its stderr into errpath). The account is backup.user (else
 * monitor.user) with its password in MYSQL_PWD. %i is
 * --incremental-lsn=INCR_LSN when incr_lsn > 0, nothing for a full
 * (backup_chain.h). */
bool backup_physical_start(const struct config *cfg, const struct config_backend *b,
                           uint64_t incr_lsn, const char *errpath, int *out_fd, pid_t *pid,
                           char *why, size_t wl);

#endif /* HALYARD_BACKUP_PHYSICAL_H */
