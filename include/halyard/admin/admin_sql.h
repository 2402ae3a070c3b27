/*
 * admin_sql.h: the SQL admin port (admin_listen). Any MySQL client (the
 * mariadb command line, pymysql, a dashboard's MySQL data source) logs in
 * with an account of admin_accounts and runs the admin socket's commands as
 * statements: SHOW BACKENDS, SHOW POOLS... as result sets with typed
 * columns, and, for an operator, RELOAD, SWITCHOVER [TO name], KILL SESSION
 * n, SET BACKEND name OFFLINE|ONLINE|DRAIN... The commands are the admin
 * socket's own (admin_cmd.c's table), run through an inner connection of
 * admin.c; this port only speaks the protocol and renders the answers.
 *
 * It is served by the main thread's loop beside the admin socket: non-
 * blocking, one statement at a time per connection (the next is read once
 * the answer is written), each connection's input bounded by
 * ADMIN_SQL_PACKET_MAX, at most ADMIN_SQL_MAX_CONNS at once. It listens on
 * loopback or a Unix socket, elsewhere only with admin_require_tls
 * (cfg_fill_admin_sql); with tls_cert it offers TLS on the clients'
 * context (config->tls_server), and admin_require_tls refuses a TCP login
 * without it; logins use
 * mysql_native_password against the accounts' double-SHA1 hashes (auth.h),
 * read from the running config, so a reload changes who may log in.
 */
#ifndef HALYARD_ADMIN_SQL_H
#define HALYARD_ADMIN_SQL_H

#include <stddef.h>

#include "halyard/core/core.h"

#define ADMIN_SQL_MAX_CONNS  32
#define ADMIN_SQL_PACKET_MAX 65536 /* a statement longer gets 1153 and the connection closes */
#define ADMIN_SQL_LOGIN_TIME 10.   /* seconds to log in */

struct admin;

/* Listen at `spec` (admin_listen: "HOST:PORT" on loopback, or a Unix
 * socket's path, made mode 0600) and serve it with admin `a`'s commands;
 * admin_destroy closes it. HY_ERROR with `err`. */
hy_status_t admin_sql_create(struct admin *a, const char *spec, char *err,
                             size_t errlen) HY_MUSTCHECK;

/* Close the port and its connections (a takeover: the new halyard listens
 * there next); nothing when there is none. */
void admin_sql_stop(struct admin *a);

#endif /* HALYARD_ADMIN_SQL_H */
