/*
 * takeover.h: handing the listening sockets from a running halyard to a
 * new one, so an upgrade or restart loses no connection.
 *
 * Every worker has its own SO_REUSEPORT socket per listener, and the kernel
 * queues each new connection on one of them. Closing a socket drops the
 * connections queued on it, so the old process must not close a socket the
 * new one does not hold: it hands ALL of them over (SCM_RIGHTS on its admin
 * socket), and closing its copies afterwards closes nothing.
 *
 *   new process                         old process (admin socket)
 *   "takeover\n"                  --->
 *                                 <---  "OK takeover N\n" + N lines
 *                                       "NAME ADDRESS PORT\n", "\n",
 *                                       then the N descriptors, in that
 *                                       order, in sendmsg batches of at
 *                                       most TAKEOVER_BATCH (1 byte each)
 *   starts its workers on them (both processes accept meanwhile)
 *   "takeover finish\n"           --->  stops accepting, closes its
 *                                 <---  metrics listener, answers
 *                                       "OK ...\n\n", then drains its
 *                                       sessions as SIGTERM does
 *   takes over the admin socket path and the metrics port
 */
#ifndef HALYARD_TAKEOVER_H
#define HALYARD_TAKEOVER_H

#include "halyard/core/core.h"

#define TAKEOVER_BATCH 64
#define TAKEOVER_MAX   4096 /* descriptors in one hand-over */

struct takeover_sock {
    int fd;
    char name[65];
    char address[256];
    int port;
};

/* Old process: write the answer to "takeover" on the admin connection `fd`
 * (blocking until sent, bounded by a timeout). The descriptors stay the
 * caller's. */
hy_status_t takeover_send(int fd, const struct takeover_sock *socks, size_t n, char *err,
                          size_t errlen) HY_MUSTCHECK;

/* New process: connect to the admin socket at `path`, ask for the
 * sockets. On success *out (malloc'd, *n entries) holds them, owned by the
 * caller, and *conn is the admin connection to finish with. HY_AGAIN: no
 * halyard answers at `path` (nothing to take over). HY_ERROR: `err` says
 * why. */
hy_status_t takeover_fetch(const char *path, struct takeover_sock **out, size_t *n, int *conn,
                           char *err, size_t errlen) HY_MUSTCHECK;
/* New process, its workers accepting: tell the old one to stop; closes
 * `conn`. */
hy_status_t takeover_finish(int conn, char *err, size_t errlen) HY_MUSTCHECK;

/* The "NAME ADDRESS PORT" line of one socket, parsed. Unit-tested. */
hy_status_t takeover_parse_line(const char *line, struct takeover_sock *out) HY_MUSTCHECK;

#endif /* HALYARD_TAKEOVER_H */
