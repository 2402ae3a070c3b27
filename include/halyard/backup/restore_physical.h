/*
 * restore_physical.h: `halyardctl restore --datadir DIR` of a backup taken
 * with mariadb-backup (backup_physical.h), in halyardctl's own process.
 *
 * A physical backup cannot be loaded into a running server, so the restore
 * fills the datadir of a STOPPED one: DIR must be empty (or absent: it is
 * made); the backup is gunzipped in-process into `mbstream -x -C DIR`, then
 * `mariadb-backup --prepare --target-dir=DIR` makes it a consistent
 * datadir at the manifest's GTID (a chain: each differential or
 * incremental after it extracted beside DIR and prepared onto it with
 * --incremental-dir, backup_chain.h) (their output in DIR.prepare.log, next
 * to DIR, removed when both succeeded). The operator then starts the server on DIR
 * (as a user that owns it); halyardctl waits for it at --into (it must
 * report DIR as its @@datadir) and applies the archive from there, as for
 * a dump (restore_run.h).
 */
#ifndef HALYARD_RESTORE_PHYSICAL_H
#define HALYARD_RESTORE_PHYSICAL_H

#include <stdbool.h>

#include "halyard/backup/restore.h"
#include "halyard/backup/restore_run.h"

#define RESTORE_PHYSICAL_WAIT_S 600 /* for the server on DIR to come up */

/* Extract and prepare a chain (restore_chain: backups[chain[0]] the full,
 * then a differential and incrementals, in DIR/full) into `datadir`: the
 * full extracted into it and prepared, then each other one extracted into
 * DATADIR.incr (next to it, removed after) and prepared onto it with
 * --incremental-dir. false (said on stderr) when DIR is not empty or a
 * step failed. */
bool restore_physical_fill(const char *dir, const struct restore_backup *backups,
                           const size_t *chain, size_t n, const char *datadir);

/* Remove `dir` and everything under it (what cannot be removed is said). */
void restore_physical_remove(const char *dir);

/* Until `t` answers (at most RESTORE_PHYSICAL_WAIT_S) and reports `datadir`
 * as its @@datadir; false (said) otherwise. `st` (NULL: the operator
 * starts the server): the server's command, whose exit ends the wait. */
bool restore_physical_wait(const struct restore_server *t, const char *into, const char *datadir,
                           struct restore_starter *st);

#endif /* HALYARD_RESTORE_PHYSICAL_H */
