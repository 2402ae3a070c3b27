/*
 * guard.h: login state shared by every worker: failed logins per client
 * address (brute-force protection), sessions per user (users.[].max_connections)
 * and the cache of verified logins that caching_sha2_password's fast path
 * needs.
 *
 * Each table is small, bounded and behind its own mutex. They are touched
 * when a login ends (and when a session ends, for the per-user count),
 * never per packet.
 *
 * Failed logins: an address (IPv4, or the /64 an IPv6 address is in, since
 * one IPv6 host usually owns a whole /64) counts its failed logins from its
 * first failure for auth_fail_window_ms. From auth_fail_limit failures on,
 * the answer to each of its logins, successful or not, is held back by
 * auth_delay_ms times the failures past the limit (the session waits on a
 * timer; nothing blocks). At twice auth_fail_limit failures the address is
 * blocked for auth_block_ms: its connections get ERR 1129 instead of a
 * greeting. A successful login clears an address that is not blocked.
 * `halyardctl unblock` clears one address or all. The table has room for
 * auth_block_table_size addresses; when the slots an address hashes to are
 * all taken, the one whose last failure is oldest is forgotten.
 *
 * Login cache: caching_sha2_password's fast path proves the client knows
 * the password but yields SHA256(password), while backends are logged into
 * with mysql_native_password, which needs H1 = SHA1(password). So every
 * login that yields H1 (a mysql_native_password login, a full
 * caching_sha2_password authentication) stores it here per user, with S2 =
 * SHA256(SHA256(password)) when the password itself was seen. The entry is
 * only used while SHA1(H1) is the user's configured hash (a changed
 * password makes it stale) and lives in memory only, like MySQL's own
 * cache; it is forgotten at restart. H1 logs into any server where the user
 * has this password, as the configured hash plus one observed login would:
 * it is wiped when replaced.
 */
#ifndef HALYARD_GUARD_H
#define HALYARD_GUARD_H

#include "halyard/config/config.h"
#include "halyard/core/core.h"
#include "halyard/config/rules.h"

/* Size the address table (auth_block_table_size): at start, and at each
 * reload (main thread). The addresses tracked so far move to the new
 * table; one that shrinks keeps those that failed last. HY_NOMEM leaves
 * the table as it was. Without a table no address is ever slowed down or
 * blocked. */
hy_status_t guard_resize(size_t slots) HY_MUSTCHECK;
void guard_destroy(void);

/* Whether `a` is blocked now; *remaining_ms says for how long. */
bool guard_blocked(const struct config *cfg, const struct rules_addr *a, int64_t *remaining_ms);

/* Record the outcome of a login from `a` (ok = logged in). Returns the
 * milliseconds to wait before answering it (0 = answer now). */
int guard_login_result(const struct config *cfg, const struct rules_addr *a, bool ok);

/* One tracked address, for `show blocked`. */
struct guard_row {
    char address[64]; /* "10.1.2.3", "2001:db8::/64" */
    uint32_t failures;
    bool blocked;
    int64_t blocked_ms;   /* blocked: milliseconds left */
    int64_t window_ms;    /* milliseconds until the failures are forgotten */
    int64_t last_fail_ms; /* milliseconds since the last failure */
};

/* Copy the tracked addresses (at most max) into rows; returns how many. */
size_t guard_list(const struct config *cfg, struct guard_row *rows, size_t max);
/* Forget `address` ("all": every address). Returns the number forgotten,
 * or -1 when `address` is not an IP address. */
int guard_unblock(const char *address);

/* Parse an address as the table keys it (tests). */
bool guard_addr_parse(const char *text, struct rules_addr *out);
/* `a` as the table keys it and `halyardctl unblock` takes it ("10.1.2.3",
 * "2001:db8::/64"); "" for a client that is not IP. */
void guard_addr_format(const struct rules_addr *a, char *out, size_t len);

/* ---- sessions per user ---- */

/* A session of `user` starts: false when `max` (> 0) are open already,
 * with *current the count. */
bool guard_user_enter(const char *user, int max, int *current);
void guard_user_leave(const char *user);
/* Sessions of `user` open now. */
int guard_user_sessions(const char *user);

/* ---- verified logins ---- */

/* Remember `h1` (and `s2` when not NULL) for `user`. */
void guard_cache_put(const char *user, const uint8_t h1[MYSQL_SHA1_LEN], const uint8_t *s2);
/* What is known about `user`: true with H1 when the cached H1 matches
 * `h2`; *has_s2 and `s2` are filled from the same entry (only when it
 * matches). */
bool guard_cache_get(const char *user, const uint8_t h2[MYSQL_SHA1_LEN], uint8_t h1[MYSQL_SHA1_LEN],
                     uint8_t s2[MYSQL_SHA256_LEN], bool *has_s2);

#endif /* HALYARD_GUARD_H */
