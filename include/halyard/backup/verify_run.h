/*
 * verify_run.h: `halyardctl backup verify`, run by halyardctl itself.
 *
 *   halyardctl -c CONFIG backup verify [--into HOST:PORT] [--user U]
 *              [--password-file F] [--replica NAME] [--wait SECONDS] [--keep]
 *
 * A backup is known good only once it has been restored. The verify
 * restores the newest full backup and the archive up to a GTID G into an
 * empty scratch server (--into, or backup.verify_into) and compares
 * CHECKSUM TABLE of every base table (every schema but mysql,
 * information_schema, performance_schema and sys) with a replica stopped at
 * exactly G:
 *
 *   1. the scratch server must be empty (as a restore checks);
 *   2. a replica that is ONLINE in halyard (show backends; --replica NAME
 *      picks one, which may be LAGGING) is drained of reads through the admin socket (`backend
 *      NAME drain`, which waits for the reads running there), so no client
 *      reads from it while it stands still;
 *   3. on the replica, as the monitor account: STOP SLAVE, its
 *      @@gtid_current_pos R; the archive's position A (show backup). When
 *      the archive is ahead, START SLAVE UNTIL master_gtid_pos = A and wait
 *      until the replica is at A: G = A. Otherwise G = R, and the verify
 *      waits until the archive holds R. Only one GTID domain may differ
 *      between them;
 *   4. the restore to G (restore_run.h: the same code as `restore`);
 *   5. the base tables of both servers and CHECKSUM TABLE of each, the
 *      replica's read as the backup account (backup.user: SELECT on *.*);
 *   6. always, whatever failed: START SLAVE and `backend NAME online`;
 *   7. the result reported to halyard (`backup verified ...`,
 *      backup_verify.h) for show backup and the metrics.
 *
 * It prints "verified at GTID G: N tables identical, 0 differ", or each
 * table that differs (or exists on one side only). After a verify with
 * every table identical the scratch server is emptied again (its user
 * schemas dropped, RESET MASTER) unless --keep; after a difference or a
 * failure it is left as it is, to be looked at, and the next verify
 * refuses it until it is emptied. Exit status 0 identical, 1 a table
 * differs or the verify failed, 2 usage.
 *
 * A backup taken with mariadb-backup is restored into a datadir under a
 * server the verify starts itself with backup.verify_server_command
 * (verify_server.h), stopped and removed after; without the key such a
 * verify is refused (exit 2) before anything is touched.
 *
 * halyard's loops never wait on it: the admin commands it sends are the
 * same an operator would.
 */
#ifndef HALYARD_VERIFY_RUN_H
#define HALYARD_VERIFY_RUN_H

struct config;

/* Send `cmd` (one line, no newline) to halyard's admin socket; 0 and the
 * answer (malloc'd, without the empty line that ends it) in *answer, or
 * non-zero having said why on stderr. */
typedef int (*verify_ask_fn)(const char *cmd, double timeout, char **answer);

/* argv[0] is "backup", argv[1] "verify". Returns halyardctl's exit status. */
int verify_main(int argc, char **argv, const struct config *cfg, verify_ask_fn ask);

#endif /* HALYARD_VERIFY_RUN_H */
