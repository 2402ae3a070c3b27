/*
 * backup_chain.h: incremental and differential physical backups
 * (backup.method = "mariadb-backup"), and the chains they make.
 *
 * Every physical backup's manifest records its type, its LSN range
 * (from_lsn, to_lsn: the stream's xtrabackup_checkpoints) and, for an
 * incremental or differential, its parent (the data file it continues):
 *
 *   full  FROM 0, a whole copy of the datadir;
 *   diff  the pages changed since the newest full (parent = that full);
 *   incr  the pages changed since the newest backup of any type (parent =
 *         that backup).
 *
 * mariadb-backup takes one with --incremental-lsn=PARENT'S to_lsn (the
 * `%i` of backup.mariadb_backup_command). An LSN is a position in ONE
 * server's redo log: it continues only on the server the parent was taken
 * from. So an incremental or differential is taken from the parent's
 * source when that is a healthy replica; when the source would be another
 * server (the parent's is gone, fenced or now the primary after a
 * failover), or there is no parent with an LSN, a full is taken instead and
 * the reason is logged and sent as backup_chain_new (backup_chain_decide).
 *
 * Files: backup.dir/full/TYPE-STAMP.xb.gz (.zst, .enc...) and
 * TYPE-STAMP.json, TYPE one of full, incr, diff.
 */
#ifndef HALYARD_BACKUP_CHAIN_H
#define HALYARD_BACKUP_CHAIN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "halyard/core/core.h"

enum backup_type { BACKUP_FULL = 0, BACKUP_INCR, BACKUP_DIFF };

/* A backup that a new one may continue, as its manifest says. */
struct backup_parent {
    bool found;
    enum backup_type type;
    char name[256]; /* its data file's name in backup.dir/full */
    char source[128];
    uint64_t to_lsn; /* 0 = none recorded (mariadb-dump, or an older manifest) */
    time_t finished; /* its manifest's mtime */
};

/* "full", "incr", "diff". */
const char *backup_type_name(enum backup_type t);

/* Whether `name` starts with "full-", "incr-" or "diff-" (its type in
 * *t when t is not NULL). Pure. */
bool backup_type_of(const char *name, enum backup_type *t);

/* The "to_lsn = N" line of an xtrabackup_checkpoints payload; false when
 * absent. Pure. */
bool backup_chain_ckpt_lsn(const char *text, size_t len, const char *key, uint64_t *out);

/* The manifests in DIR/full: the newest of any type (`any`, an
 * incremental's parent) and the newest full (`full`, a differential's);
 * also the end of the newest full or differential (`base_at`, for
 * backup.diff_every). Either may be !found. */
void backup_chain_parents(const char *dir, struct backup_parent *any, struct backup_parent *full,
                          time_t *base_at);

/* The type to take when `want` is asked for from `source`: `want` with
 * *parent set, or BACKUP_FULL with the reason in why ("" when a full was
 * asked for). Pure. */
enum backup_type backup_chain_decide(enum backup_type want, const struct backup_parent *any,
                                     const struct backup_parent *full, const char *source,
                                     struct backup_parent *parent, char *why, size_t wl);

#endif /* HALYARD_BACKUP_CHAIN_H */
