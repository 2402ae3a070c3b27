/*
 * restore_run.h: `halyardctl restore`, run by halyardctl itself.
 *
 *   halyardctl -c CONFIG restore (--to-time "YYYY-MM-DD HH:MM:SS" | --to-gtid D-S-N)
 *              --into HOST:PORT [--user U] [--password-file F] [--dir DIR]
 *              [--datadir DATADIR] [--dry-run]
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

#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "halyard/core/gtid.h"
#include "halyard/backup/restore.h"

struct backup_reader;

/* A server halyardctl talks to through the `mariadb` client. */
struct restore_server {
    char host[256];
    int port;
    char user[128];
    char password[256]; /* given to the client in MYSQL_PWD, never in argv */
    bool have_password;
};

/* argv[0] is "restore"; `dir` is backup.dir from -c CONFIG (NULL: none).
 * Returns halyardctl's exit status: 0 done (or planned), 1 refused or
 * failed, 2 usage. */
int restore_main(int argc, char **argv, const char *dir);

/* Who starts the server on a prepared datadir (restore_run's `starter`);
 * without one the operator does, and `restore --datadir` waits for it. */
struct restore_starter {
    /* Start a server on `datadir`, in a process group of its own: its pid,
     * or -1 having said why on stderr. */
    pid_t (*start)(void *arg, const char *datadir);
    void *arg;
    const char *what; /* the command's name in messages */
    const char *log;  /* its output, whose last line is quoted when it exits early */
    pid_t pid;        /* set once started (0 = not): the caller stops it */
};

/* The restore itself, for `restore` and `backup verify` (verify_run.h):
 * plan, print the plan (dry: stop there), check `t` is empty, load the
 * backup and apply the range. `into` is t's name as the messages print it.
 * `datadir` (NULL: none): for a mariadb-backup backup, the empty datadir
 * of the stopped server `t` is, filled and waited for (restore_physical.h)
 * instead of the check and the load; a backup of the other method refuses
 * it (unless `starter` is given: then it is not used), and a
 * mariadb-backup one refuses its absence. `starter` (NULL: the operator's
 * step) starts the server on the prepared datadir before the wait.
 * Returns 0 done, 1 refused or failed (said on stderr); `reached` (may be
 * NULL) gets the position restored to. */
int restore_run(const char *dir, const struct restore_target *tg, const struct restore_server *t,
                const char *into, const char *datadir, struct restore_starter *starter, bool dry,
                struct gtid_pos *reached);

/* "HOST:PORT" into t's host and port; false when malformed. */
bool restore_parse_into(const char *s, struct restore_server *t);

/* The first line of `path` as t's password; false (said) when unreadable. */
bool restore_read_password(const char *path, struct restore_server *t);

/* Run `sql` on `t` (mariadb --batch --skip-column-names) and return its
 * output, rows on lines and columns tab-separated (malloc'd), or NULL when
 * it failed, said on stderr naming `what` ("for its schemas"). */
char *restore_query(const struct restore_server *t, const char *sql, const char *what);

/* True when `t` has no schema but the server's own; otherwise false, with
 * the refusal (naming the schemas) or why it could not be asked on stderr. */
bool restore_check_empty(const struct restore_server *t, const char *into);

/* Shared by restore and backup verify: "halyardctl CMD: why" on stderr. */
void restore_fail(const char *cmd, const char *fmt, ...) HY_PRINTF(2, 3);

/* The "method" of the newest complete full backup in dir/full (by its
 * manifest's "finished", as restore orders them); false when there is none. */
bool restore_newest_method(const char *dir, char *method, size_t cap);

/* Backup file `path` opened for reading (decrypted, inflated), and p[] a
 * pipe for the child that takes what is read: NULL, said on stderr, when
 * either fails. */
struct backup_reader *restore_open_piped(const char *path, int p[2]);

/* The signal a caller that catches them (backup verify) took, or 0: the
 * waits for a server to answer end on it instead of running on. */
extern volatile sig_atomic_t restore_interrupted;

/* Every child restore starts is noted here until restore_reap() reaped it;
 * one started after restore_interrupted was set gets SIGTERM at once. */
void restore_child_add(pid_t pid);

/* SIGTERM to every child noted (async-signal-safe: for a signal handler). */
void restore_kill_children(void);

/* The string value of "key" in a JSON object halyard wrote (a manifest
 * line, an admin answer), escapes undone (hy_json_str); false when absent
 * or longer than cap - 1 bytes. */
bool restore_json_str(const char *text, const char *key, char *out, size_t cap);

/* The plaintext of backup file `r` (backup_stream.h: decrypted, inflated)
 * into fd `to` (a child's stdin, `what` names it: "the dump to mariadb");
 * *bytes is what was written. False when a read or a write failed, said on
 * stderr. */
bool restore_unpack_to(struct backup_reader *r, int to, const char *what, uint64_t *bytes);

/* An encrypted backup file (HYCRYPT1) is read through once before any of
 * it is used: every chunk's tag, the last chunk, the compressed stream's
 * end. True when it is not encrypted or all of it checked (said on
 * stdout); false with the file and why on stderr. */
bool restore_check_sealed(const char *path);

/* backup.dir as restore reads it (backup_list.c reads it too). */
struct restore_archive {
    struct restore_file *files; /* binlog.NNNNNN in number order */
    size_t n;
    struct restore_trx **trx; /* each file's, owned here */
};
/* The complete full backups (a manifest and its file), oldest first; the
 * caller frees. */
struct restore_backup *restore_backups_read(const char *dir, size_t *n);
/* Every archive file read whole; false said on stderr. */
bool restore_archive_read(const char *dir, struct restore_archive *a);
void restore_archive_free(struct restore_archive *a);

/* Wait for a child; true when it exited 0, else said ("WHAT exited with N",
 * with the last line of `log`, its stderr, when not NULL). */
bool restore_reap(pid_t pid, const char *what, const char *log);

/* Spawn attributes for restore's children: SIGPIPE back to its default
 * (halyardctl ignores it), and in halyardctl's process group, so that a
 * Ctrl-C stops them too. */
void restore_spawnattr_init(posix_spawnattr_t *at);

#endif /* HALYARD_RESTORE_RUN_H */
