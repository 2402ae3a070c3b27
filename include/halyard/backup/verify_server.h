/*
 * verify_server.h: the scratch server `halyardctl backup verify` starts
 * itself for a backup taken with mariadb-backup (verify_run.h).
 *
 * A physical backup cannot be loaded into a running server, so the verify
 * makes a scratch directory (mkdtemp under $TMPDIR, else /tmp) holding
 * `data` (the datadir restore_physical.h extracts and prepares), the
 * server's socket and its output (`server.log`), and runs
 * backup.verify_server_command with /bin/sh -c in a process group of its
 * own: %d the datadir, %h and %p the host and port of verify_into (or
 * --into), %s the socket path, each single-quoted, %% a %. The command
 * must run the server in the foreground (mariadbd does; mysqld_safe or a
 * service manager would leave it outside the group). After the compare
 * the group gets SIGTERM, SIGKILL after VERIFY_SERVER_STOP_S, and the
 * scratch directory is removed (kept with --keep).
 */
#ifndef HALYARD_VERIFY_SERVER_H
#define HALYARD_VERIFY_SERVER_H

#include <limits.h>
#include <stdbool.h>

#include "halyard/backup/restore_run.h"

#define VERIFY_SERVER_STOP_S 30

struct verify_server {
    const char *tmpl; /* backup.verify_server_command */
    const struct restore_server *at;
    char base[PATH_MAX - 64]; /* the scratch directory; "" = none made */
    char datadir[PATH_MAX];
    char socket[PATH_MAX];
    char log[PATH_MAX];
    struct restore_starter st; /* for restore_run(); st.pid once started */
};

/* True when the newest complete full backup in dir/full (as restore picks
 * them: restore_newest_method) was taken with mariadb-backup. */
bool verify_newest_is_physical(const char *dir);

/* Make the scratch directory and fill vs (st.start starts the command).
 * False, said on stderr, when it cannot be made. */
bool verify_server_init(struct verify_server *vs, const char *tmpl,
                        const struct restore_server *at);

/* Stop the server's process group (if started) and remove the scratch
 * directory unless `keep` (then say where it is). */
void verify_server_stop(struct verify_server *vs, bool keep);

#endif /* HALYARD_VERIFY_SERVER_H */
