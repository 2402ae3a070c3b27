/*
 * backup_full.h: a full backup on demand (`halyardctl backup full`).
 *
 * The main thread picks the source (the ONLINE replica with the least lag,
 * not fenced; the primary when there is none, which the answer and the
 * manifest say), drains it of reads (backend_set_admin, as `backend NAME
 * drain`), and starts one thread that checks the account it dumps with
 * (backup_check.h: SELECT, SHOW VIEW, TRIGGER, EVENT ON *.*, else the
 * backup fails naming what it lacks), waits (at most 10 s) for the
 * statements in flight there to finish, runs
 *
 *   mariadb-dump --single-transaction --gtid --master-data=2 --routines
 *                --events --triggers --all-databases
 *
 * against it (as backup.user, the password in MYSQL_PWD, no shell),
 * gzips its output in-process into BACKUP_DIR/full/full-TIME.sql.gz.partial
 * (SHA-256 of the compressed bytes as they are written), and only when the
 * dump exited 0 fsyncs it and renames it to full-TIME.sql.gz, then writes
 * full-TIME.json, the manifest (GTID position from the dump's own
 * `gtid_slave_pos` line, start and end times, size, sha256, method, source
 * server). A dump lacking a schema the source has fails (backup_check.h).
 * A failed dump leaves no file that looks complete: the .partial
 * is removed. The source is put back (`online`) whatever happened.
 *
 * With backup.method = "mariadb-backup" the thread runs
 * backup.mariadb_backup_command instead (backup_physical.h): no account
 * check, the output an xbstream walked as it passes, full-TIME.xb.gz, the
 * GTID from the stream's binlog info; the rest (drain, gzip, sha256,
 * .partial, manifest with "method":"mariadb-backup") is the same.
 *
 * One backup at a time; a second request is refused while one runs.
 */
#ifndef HALYARD_BACKUP_FULL_H
#define HALYARD_BACKUP_FULL_H

#include <limits.h>
#include <time.h>

#include "halyard/backup/backup_chain.h"
#include "halyard/config/config.h"
#include "halyard/core/core.h"
#include "halyard/core/gtid.h"

struct backup_full_status {
    char state[16];       /* none, running, ok, failed */
    char type[8];         /* the running or last one's: full, incr, diff (backup_chain.h) */
    char chain_note[400]; /* why it is a full when an incr or diff was asked for, or "" */
    uint64_t to_lsn;      /* the last complete one's (0 = not recorded) */
    char source[128];
    bool source_is_primary;
    /* The account checked before the dump ("bk@%"; backup_check.h), "" until
     * the check passed: a client waiting for the refusal waits for this. */
    char account[160];
    size_t schemas;      /* the last complete dump's schemas (CREATE DATABASE lines) */
    char file[PATH_MAX]; /* the last complete backup (ok) */
    char gtid[GTID_STR_MAX];
    uint64_t size;
    char sha256[65];
    time_t started, finished;
    time_t last_ok;   /* when the last complete FULL one ended; 0 = none */
    time_t last_base; /* ... full or differential (backup.diff_every) */
    time_t last_any;  /* ... of any type (backup.incr_every) */
    char error[512];
    uint64_t ok, failed;
};

/* Main thread (admin `backup full`): start a backup with `cfg`. HY_OK:
 * `msg` says what started; HY_ERROR: why not (none configured, one
 * running, no source). */
hy_status_t backup_full_request(struct config *cfg, char *msg, size_t len) HY_MUSTCHECK;
/* The same for an incremental or differential (`backup incr`, `backup
 * diff`; backup_chain.h): from the parent's source when it is a healthy
 * replica; a full instead, said in msg, the log and backup_chain_new, when
 * the chain cannot continue. HY_ERROR also without method mariadb-backup
 * or without %i in its command. */
hy_status_t backup_take_request(struct config *cfg, enum backup_type want, char *msg,
                                size_t len) HY_MUSTCHECK;
/* Any thread. */
void backup_full_status(struct backup_full_status *out);
/* Main thread, at start and reload: the newest manifest in DIR/full gives
 * the last complete backup's time (last_ok) and file when none ran yet;
 * backup_key_missing when a manifest names a key id none of the config's
 * keys has (backup_crypt.h). */
void backup_full_seed(const struct config *cfg);
/* At exit: wait for a running backup's thread (its dump is killed). */
void backup_full_stop(void);

/* The length of a full backup data file's suffix: 7 for ".sql.gz" (a
 * dump), 6 for ".xb.gz" (mariadb-backup's xbstream), 0 for neither. Pure. */
size_t backup_full_suffix(const char *name);

/* The GTID position in mariadb-dump --gtid --master-data=2 output
 * ("-- SET GLOBAL gtid_slave_pos='0-1-5';"), copied into out; false when
 * text[0..len) has none. Pure. */
bool backup_full_dump_gtid(const char *text, size_t len, char *out, size_t cap);

#endif /* HALYARD_BACKUP_FULL_H */
