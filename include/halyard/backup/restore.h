/*
 * restore.h: the plan of a point-in-time restore (`halyardctl restore`),
 * as data.
 *
 * What the restore has: the full backups' manifests (backup_full.h: each
 * one's GTID position and end time) and the binlog archive's files
 * (binlog_archive.h), each read as its starting position (the GTID_LIST
 * event the archive writes after the FORMAT_DESCRIPTION) and its
 * transactions in order (GTID and the GTID event's timestamp).
 *
 * The plan: the newest backup before the target (by GTID: its sequence
 * number in the target's domain is at most the target's; by time: it
 * finished before the target), then the archived transactions after the
 * backup's position up to the target (by GTID: up to and including it; by
 * time: every transaction before the first one logged at or after the
 * target, as mariadb-binlog --stop-datetime counts), walked in file order
 * from the backup's position. Every transaction must be the next in its
 * domain; a file's starting position must not be past where the archive
 * before it ended. Otherwise the range has a gap, and the plan is refused
 * with the GTIDs missing and the file where they are missing.
 *
 * Pure: no I/O, no allocation (restore_run.c reads the files and runs the
 * tools). Tested in tests/unit/test_restore.c.
 */
#ifndef HALYARD_RESTORE_H
#define HALYARD_RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "halyard/backup/backup_chain.h"
#include "halyard/backup/backup_stream.h"
#include "halyard/core/core.h"
#include "halyard/core/gtid.h"

struct restore_backup {
    char name[256]; /* the dump's file name in backup.dir/full */
    char source[128];
    char sha256[65];
    char method[32];       /* the manifest's "method": mariadb-dump, mariadb-backup */
    struct gtid_pos gtid;  /* the manifest's "gtid" */
    int64_t finished;      /* the manifest's "finished", seconds since the epoch */
    char key_id[17];       /* the manifest's "key_id": "" = not encrypted */
    enum backup_type type; /* the manifest's "type" (absent: full) */
    char parent[256];      /* an incr's or diff's: its parent's file name */
    uint64_t to_lsn;       /* the manifest's "to_lsn" (0 = none) */
};

#define RESTORE_CHAIN_MAX 64 /* backups one restore prepares, the full included */

struct restore_trx {
    struct gtid gtid;
    uint32_t when; /* its GTID event's timestamp */
};

struct restore_file {
    char name[64]; /* binlog.NNNNNN, or sealed binlog.NNNNNN.KEYID.enc */
    bool have_list;
    struct gtid_pos start; /* its GTID_LIST: the archive's position where it begins */
    const struct restore_trx *trx;
    size_t n_trx;
    /* "" or why the file could not be read past its last transaction: a
     * sealed file's reader error whole, its path included */
    char error[BACKUP_READER_ERROR_MAX];
};

/* Where a restore stops: a time, one GTID (every transaction logged up to
 * and including it, whatever its domain), or a position (by_pos: each
 * domain up to and including its GTID in `pos`, a domain it does not name
 * not beyond the backup, as @@gtid_binlog_pos names a server's). */
struct restore_target {
    bool by_time;
    int64_t time; /* by_time: seconds since the epoch */
    bool by_pos;
    struct gtid gtid;    /* neither */
    struct gtid_pos pos; /* by_pos */
};

struct restore_plan {
    size_t backup;                   /* index of the backup to load (the chain's last) */
    size_t chain[RESTORE_CHAIN_MAX]; /* its chain: the full, then what applies onto it */
    size_t n_chain;
    struct gtid_pos from; /* the backup's position: applying starts after it */
    struct gtid_pos to;   /* the position once the plan has run */
    size_t first_file;    /* the files holding the transactions to apply; */
    size_t n_files;       /* 0: none (the backup is at the target) */
    size_t n_trx;         /* transactions to apply */
    struct gtid first, last;
    uint32_t last_when;
    /* by time: the archive ends before the target (its last transaction
     * was logged before it); the plan applies all of it */
    bool past_end;
};

/* Choose the backup and walk the archive (`files` in archive order, by
 * number). HY_ERROR with the reason in err: no backup, the target before
 * the first backup, a file that cannot be read, a gap (which GTIDs, where),
 * a target GTID the archive lacks or holds for another server_id. On a gap
 * or an unreadable file, out->to, ->n_trx, ->last and ->last_when still say
 * how far the archive reached from the backup (backup_list.c's window). */
hy_status_t restore_plan_make(const struct restore_backup *backups, size_t n_backups,
                              const struct restore_file *files, size_t n_files,
                              const struct restore_target *t, struct restore_plan *out, char *err,
                              size_t errlen) HY_MUSTCHECK;

/* The chain that ends with backups[last]: its full, then (a differential,
 * incrementals) each one's parent before it, into out[0..]. The count, or
 * 0 with the reason in err when a parent is missing or the chain is longer
 * than RESTORE_CHAIN_MAX. */
size_t restore_chain(const struct restore_backup *backups, size_t n, size_t last,
                     size_t out[RESTORE_CHAIN_MAX], char *err, size_t errlen);

/* The index of the backup a restore to t loads (the newest before t whose
 * chain is whole: the full, the newest differential after it, the
 * incrementals after that), -1 when every backup is past t (or there is
 * none). */
int restore_pick_backup(const struct restore_backup *backups, size_t n,
                        const struct restore_target *t);

/* Parse "YYYY-MM-DD HH:MM:SS" (a 'T' may stand for the blank) as local time,
 * as mariadb-binlog reads --stop-datetime. HY_ERROR when malformed. */
hy_status_t restore_parse_time(const char *s, int64_t *out) HY_MUSTCHECK;

/* Parse one GTID "D-S-N" (N > 0). HY_ERROR when malformed. */
hy_status_t restore_parse_gtid(const char *s, struct gtid *out) HY_MUSTCHECK;

/* Parse a position "D-S-N[,D-S-N...]", one GTID a domain (N > 0), as
 * @@gtid_binlog_pos prints it. HY_ERROR when malformed. */
hy_status_t restore_parse_position(const char *s, struct gtid_pos *out) HY_MUSTCHECK;

/* `t` (seconds since the epoch) as local time, "YYYY-MM-DD HH:MM:SS", as
 * the plan and the command print it and --to-time takes it. */
void restore_fmt_time(int64_t t, char *out, size_t cap);

#endif /* HALYARD_RESTORE_H */
