/*
 * firewall.h: the per-user statement firewall (users.[].firewall).
 *
 *   off      nothing is checked (query rules still apply)
 *   learn    every statement's digest is recorded, per user, in a table
 *            shared by the workers (`show firewall [USER]`; `dump firewall
 *            USER` prints it as a firewall_allow line for the config)
 *   enforce  a statement whose digest hash is not in the user's
 *            firewall_allow is refused with ERR 1142 (42000) and an AUDIT
 *            log line, and never reaches a backend
 *
 * Digests are those of `show digests` (classify.h): literals are `?`, so
 * one entry allows a statement with any values. COM_QUERY and
 * COM_STMT_PREPARE texts are checked; a prepared statement is checked when
 * it is prepared, not at each execution.
 *
 * The learn table holds at most firewall_learn_max digests over all users
 * (set at start); digests past that are not recorded and counted as
 * dropped. It is behind one mutex taken once per statement of a learning
 * user only: learn mode is a phase, not a way of running.
 */
#ifndef HALYARD_FIREWALL_H
#define HALYARD_FIREWALL_H

#include <time.h>

#include "halyard/config/config.h"
#include "halyard/core/core.h"

/* The most digests learn mode keeps (firewall_learn_max): at start and at
 * each reload. Lowered under what is kept, nothing is forgotten: new
 * digests are dropped (and counted) until `forget` makes room. */
void firewall_set_max(size_t max_entries);
void firewall_destroy(void);

/* Whether user `u` may run the statement of digest `hash`; in learn mode
 * records `digest` (len bytes, a prefix when cut) and allows it. */
bool firewall_allows(const struct config_user *u, uint64_t hash, const char *digest, size_t len);

/* One learned digest. */
struct firewall_row {
    char user[96];
    uint64_t hash;
    uint64_t count;
    time_t first, last; /* wall clock */
    char text[1025];    /* DIGEST_TEXT_MAX + NUL */
};

/* The learned digests of `user` (NULL: every user), sorted by user then
 * first sighting; *rows is malloc'd (the caller frees it), *dropped the
 * digests not recorded because the table was full. Returns the count or
 * (size_t)-1 when out of memory. */
size_t firewall_list(const char *user, struct firewall_row **rows, uint64_t *dropped);

/* Forget what was learned for `user` (NULL: everyone); returns how many
 * digests. */
size_t firewall_forget(const char *user);

#endif /* HALYARD_FIREWALL_H */
