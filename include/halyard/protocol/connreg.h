/*
 * connreg.h: every connection halyard has logged in to a server, by that
 * server's thread id, across threads (issue 33).
 *
 * A server's process list (SHOW PROCESSLIST, information_schema.PROCESSLIST)
 * and its Threads_connected count halyard's connections: those a client
 * session runs its statements on, and those no session holds (idle in a
 * pool, the monitor's, the failover's...). Through halyard a client reads
 * the first with the session's id in place of the server's thread id and
 * does not see the others (session_sysview.c). This registry is what
 * tells them apart: each logged-in connection has an entry naming its
 * server (address and port), its thread id there, and the halyard session
 * it serves now (0: none).
 *
 * Entries are added at login and removed at close under one mutex (a
 * connection's life, never per packet); the session an entry serves is an
 * atomic its owner stores when a session takes or gives back the
 * connection, so a pooled statement costs no lock. connreg_list() reads
 * them all under the mutex, for the rare statement that reads a process
 * list. The entry is embedded in its connection (struct bconn, struct
 * sqlclient); the registry never allocates.
 */
#ifndef HALYARD_CONNREG_H
#define HALYARD_CONNREG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct connreg_entry {
    struct connreg_entry *prev, *next; /* under the registry's mutex */
    uint64_t server;                   /* connreg_server() of its address and port */
    uint32_t thread;                   /* the server's thread id for it */
    bool listed;                       /* in the registry */
    atomic_uint session;               /* the halyard session it serves, 0 = none */
};

/* A server's key: its address as configured, and its port. */
uint64_t connreg_server(const char *address, int port);

/* The connection logged in to `server` as `thread`: listed, serving no
 * session. Listing an entry already listed moves it. */
void connreg_add(struct connreg_entry *e, uint64_t server, uint32_t thread);
/* It closes: no longer listed (an entry never listed is fine). */
void connreg_remove(struct connreg_entry *e);
/* The session (id) it serves from now on, 0 = none. Its owner's thread
 * only; no lock. */
static inline void connreg_serve(struct connreg_entry *e, uint32_t session)
{
    atomic_store_explicit(&e->session, session, memory_order_relaxed);
}

struct connreg_row {
    uint32_t thread;
    uint32_t session; /* 0 = none */
};

/* The connections to `server` now, at most `max` of them into out[]: how
 * many there are (more than `max` when some did not fit). */
size_t connreg_list(uint64_t server, struct connreg_row *out, size_t max);

#endif /* HALYARD_CONNREG_H */
