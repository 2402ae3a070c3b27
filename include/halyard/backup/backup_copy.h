/*
 * backup_copy.h: the second copy of every full backup and every closed
 * binlog archive file (backup.copy_to_dir or backup.copy_command).
 *
 * One thread (never an event loop) looks at backup.dir once a second:
 *
 *   - the files to copy: each complete full backup (full/full-T.sql.gz
 *     with its manifest full/full-T.json) and each archive file that is
 *     closed (every file binlog.index lists but the last, which the
 *     archive may still be writing);
 *   - copy_to_dir: the file is copied to DIR/NAME.partial (NAME as under
 *     backup.dir: full/full-T.sql.gz, binlog.000003), fsync'd and renamed
 *     to DIR/NAME (a full backup's manifest after it), then READ BACK and
 *     its SHA-256 compared with the source's (for a full backup, also with
 *     the manifest's). Equal: the file is "safe";
 *   - copy_command: run with /bin/sh -c for the file (and, for a full
 *     backup, again for its manifest), %f = its path, %n = NAME, %s = its
 *     SHA-256 (each quoted for the shell; %% = %), in an environment of
 *     PATH, HOME and HALYARD_COPY_FILE, _NAME, _SHA256 only; killed after
 *     24 h (a failure). Exit 0 means "sent": all halyard can know of a
 *     remote copy. With
 *     copy_verify_command (same expansion), its exit 0 means the copy
 *     exists with that SHA-256: the file is "safe";
 *   - a failure (a read-only or missing target, a command's non-zero
 *     exit, a checksum that differs) marks the file "failed", raises
 *     backup_copy_failed (one event while any file fails;
 *     backup_copy_ok when none does any more) and is retried after 5 s,
 *     10 s, 20 s ... at most 5 min. It never stops halyard proxying;
 *   - what was copied is remembered in backup.dir/copies.log (state,
 *     size, SHA-256, NAME; for the target of its first line), so a restart
 *     does not copy it again (for copy_to_dir only when the copy is still
 *     there with the same size).
 *
 * The binlog archive's retention keeps a closed file until it is copied
 * (backup_copy_done) when a target is set.
 */
#ifndef HALYARD_BACKUP_COPY_H
#define HALYARD_BACKUP_COPY_H

#include <time.h>

#include "halyard/backup/backup_expand.h"
#include "halyard/config/config.h"
#include "halyard/core/core.h"

struct backup_copy_item {
    char name[96]; /* under backup.dir: "full/full-T.sql.gz", "binlog.000003" */
    char kind[8];  /* full, binlog */
    uint64_t size;
    char sha256[65]; /* the source's; "" until read */
    char state[12];  /* pending, copying, sent, safe, failed */
    uint32_t attempts;
    time_t done;     /* when it became sent or safe */
    time_t next_try; /* a failed one's retry */
    char error[256];
};

struct backup_copy_status {
    bool enabled;                                  /* a backup section with a target */
    char target[64];                               /* "dir", "command", "command+verify" */
    char target_to[256];                           /* the directory or the command, as given */
    uint64_t pending, copying, sent, safe, failed; /* files in each state now */
    uint64_t copies_total, failures_total;         /* since start */
    uint64_t done_gen; /* moves when the files copied (sent, safe) change */
    char last_error[256];
    time_t last_error_time;
    struct backup_copy_item *items; /* by name: binlog.N, then full/full-T; malloc'd */
    size_t n_items;
};

/* FILE:LINE: backup.copy_to_dir: DIR: why, when the directory cannot be
 * used (halyard -t and start). HY_OK when none is set or it is usable. */
hy_status_t backup_copy_check_dir(const struct config *cfg, char *err, size_t errlen) HY_MUSTCHECK;

/* `tmpl` with %f, %n, %s replaced by path, name and sha256, each in
 * single quotes for /bin/sh, and %% by %. HY_ERROR: it does not fit `cap`,
 * or an unknown %x. Pure. */
hy_status_t backup_copy_expand(const char *tmpl, const char *path, const char *name,
                               const char *sha, char *out, size_t cap) HY_MUSTCHECK;

/* Start the thread (always; it idles without a target). */
hy_status_t backup_copy_start(struct config *cfg, char *err, size_t errlen) HY_MUSTCHECK;
void backup_copy_set_config(struct config *cfg);
/* At exit: a running command's process group is killed. */
void backup_copy_stop(void);

/* Any thread. items: copy the list too (free with backup_copy_status_free). */
void backup_copy_status(struct backup_copy_status *out, bool items);
void backup_copy_status_free(struct backup_copy_status *s);
/* Whether archive file `name` may go: no target, or its copy is sent or safe. */
bool backup_copy_done(const char *name);
/* Moves each time the set of files whose copy is done changes (one made,
 * the ledger read at start): the archive's retention runs again then. */
uint64_t backup_copy_done_gen(void);

#endif /* HALYARD_BACKUP_COPY_H */
