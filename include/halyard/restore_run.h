/*
 * restore_run.h: `halyardctl restore`, run by halyardctl itself.
 *
 *   halyardctl -c CONFIG restore (--to-time "YYYY-MM-DD HH:MM:SS" | --to-gtid D-S-N)
 *              --into HOST:PORT [--user U] [--password-file F] [--dir DIR] [--dry-run]
 *
 * It reads backup.dir (from CONFIG, or --dir) directly: the manifests in
 * full/, and the archive's binlog.NNNNNN files, each read whole (checksums
 * checked) into its starting position and its transactions. restore.h
 * makes the plan; --dry-run prints it. Otherwise it checks that the target
 * server has no schema but the system ones, checks the backup's sha256
 * against its manifest, loads it (gunzip in-process, piped into `mariadb`),
 * then pipes `mariadb-binlog --start-position=BACKUP_GTID
 * --stop-position=TARGET_POSITION FILES...` into `mariadb`, each started
 * with posix_spawnp (the password in MYSQL_PWD, no shell), and prints
 * what it did and how long each step took.
 *
 * halyard itself takes no part: the restore is this process's, and the
 * proxy's loops never wait on it. It reads files halyard's archive thread
 * may be appending to; only whole transactions count.
 */
#ifndef HALYARD_RESTORE_RUN_H
#define HALYARD_RESTORE_RUN_H

/* argv[0] is "restore"; `dir` is backup.dir from -c CONFIG (NULL: none).
 * Returns halyardctl's exit status: 0 done (or planned), 1 refused or
 * failed, 2 usage. */
int restore_main(int argc, char **argv, const char *dir);

#endif /* HALYARD_RESTORE_RUN_H */
