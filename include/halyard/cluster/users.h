/*
 * users.h: the servers' accounts, shared by every worker
 * (users_source = "backends" | "both").
 *
 * The loader runs on the monitor thread's loop (monitor.c creates it): a
 * non-blocking sqlclient logs in to each group's primary (group.h) as the
 * group's monitor.user, one group after the other, and reads
 * mysql.global_priv every users_refresh_ms, and when a worker asks
 * (users_refresh_request: at most one read a second). The table it makes
 * of a group's (accounts.h) replaces the group's last one behind one mutex; workers look an
 * account up and get a copy (users_lookup), never a pointer into it, so a
 * new table never waits for sessions.
 *
 * A worker never waits on the loader: a login as an unknown name asks for
 * a refresh and polls users_loads_done() from its own timer, bounded.
 */
#ifndef HALYARD_USERS_H
#define HALYARD_USERS_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "halyard/protocol/accounts.h"
#include "halyard/core/core.h"

struct config;

/* What a lookup found. */
struct users_answer {
    bool loaded;                /* a table has been read */
    bool found;                 /* `acct` is the account of this login */
    struct account acct;        /* found: a copy */
    bool stand_in_socket;       /* !found: the server fails this name with 1698 ... */
    bool stand_in_socket_empty; /* ... and without a password */
    bool name_resolve;          /* the server names a loopback client 'localhost' */
    bool disconnect_expired;    /* disconnect_on_expired_password */
};

/* The account `user` logging in from `ip` (text) is for, among group
 * `group`'s (read from that group's primary). Any thread. */
void users_lookup(const char *group, const char *user, const char *ip, struct users_answer *out);

/* Whether the server names clients by host name (a loopback client is
 * 'localhost'); the first group's server's; false before the first load.
 * Any thread. */
bool users_name_resolve(void);

/* Ask the loader to read the accounts: at once, or a second after the
 * last read started, so logins make at most one read a second however
 * many ask. Returns true with the ticket the caller waits on (the read
 * that serves it has finished when users_loads_done() passes it), false
 * when the accounts do not come from the servers. Any thread. */
bool users_refresh_request(uint64_t *ticket);
/* The number of reads finished (well or not) so far. */
uint64_t users_loads_done(void);

/* Accounts or privileges changed at `when` (ev_time(), after the server
 * answered the change, when a read of the accounts found one, or when the
 * query cache's reader applied one from the binary log): pooled
 * connections that logged in before hold the old global privileges
 * (pool.h: pool_take closes them). Any thread; the latest time wins. */
void users_privileges_changed(double when);
/* That time in microseconds, 0 = never. Any thread. */
uint64_t users_privileges_changed_us(void);

/* The loader, on the monitor's loop: created and configured there. */
struct users_loader;
struct users_loader *users_loader_create(struct ev_loop *loop, struct config *cfg);
/* A new config (the loader takes its own reference). Loop thread. */
void users_loader_configure(struct users_loader *l, struct config *cfg);
void users_loader_destroy(struct users_loader *l);

/* What show status tells of the accounts. Any thread. */
struct users_info {
    bool loaded;     /* a read has succeeded */
    size_t accounts; /* in the table */
    uint64_t reads;  /* reads finished, well or not */
    char error[256]; /* why the last read failed; "" when it succeeded */
};
void users_info_get(struct users_info *out);

/* Drop the shared table (at exit). */
void users_clear(void);

#endif /* HALYARD_USERS_H */
