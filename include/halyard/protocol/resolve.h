/*
 * resolve.h: backend host names to addresses, without ever blocking a
 * worker.
 *
 * One resolver thread owns every getaddrinfo() of a backend host name. It
 * keeps a cache, host name -> every address the name returns (IPv4 and
 * IPv6, in getaddrinfo's order, at most RESOLVE_MAX_ADDRS), refreshes each
 * name every `dns_refresh_ms`, and resolves a name as soon as a config
 * (start, reload) names it. The workers, the monitor and the failover thread
 * only read the cache (resolve_target_init: a mutex held for a lookup and a
 * copy of a few hundred bytes). A numeric address (IPv4 or IPv6 literal) is
 * parsed in place and never reaches the cache or the thread.
 *
 * A name that stops resolving keeps its last good addresses; its failures
 * are counted (halyard_dns_failures_total{host}) and logged once per run of
 * failures, its recovery and any change of its addresses are logged too. A
 * name that never resolved has no addresses: a connect to it fails at once,
 * naming the host and the resolver's error, so the monitor sees the backend
 * down.
 *
 * A connect walks the host's addresses (struct resolve_target): when one
 * refuses or fails, the next is tried within the same connect budget, each
 * address getting an equal share of what is left of it
 * (resolve_target_slice_ms), so one black-holed address cannot use it all.
 * The address that answered after others failed leads the next walks
 * (resolve_prefer), until it fails in turn.
 */
#ifndef HALYARD_RESOLVE_H
#define HALYARD_RESOLVE_H

#include <netinet/in.h>
#include <sys/socket.h>

#include "halyard/core/core.h"

struct addrinfo;

#define RESOLVE_MAX_ADDRS 8
/* How long the start waits for the first answers of the config's names. */
#define RESOLVE_START_WAIT_MS 5000
/* How long a reload waits for the first answers of names it adds. */
#define RESOLVE_RELOAD_WAIT_MS 2000
/* How long the exit waits for a resolution in flight. */
#define RESOLVE_STOP_WAIT_S 1
/* A name without any good address is retried at least this often. */
#define RESOLVE_RETRY_MS 1000

union resolve_sa {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
};

/* A host's addresses, port 0, in the order connects try them. */
struct resolve_addrs {
    uint8_t n;
    union resolve_sa a[RESOLVE_MAX_ADDRS];
};

/* One connect's walk over a host's addresses. */
struct resolve_target {
    struct resolve_addrs addrs;
    int port;
    uint8_t next; /* index of the next address to try */
};

/* ---- the cache and its thread (resolve.c) ---- */

/* Start the resolver thread. HY_ERROR if it cannot be created. */
hy_status_t resolve_start(void) HY_MUSTCHECK;
/* Stop and join the thread (waiting at most RESOLVE_STOP_WAIT_S for a
 * resolution in flight, then leaving it be), free the cache. */
void resolve_stop(void);
/* Make the cache follow the config's `n` host names (backends, then
 * witnesses; numeric addresses are passed over): they are kept fresh every
 * `refresh_ms`, names new to the list are resolved at once, names no
 * longer in it are dropped. Then wait at most `wait_ms` for the first
 * answer (good or not) of every name that has none yet. Main thread. */
void resolve_configure(const char *const *hosts, size_t n, int refresh_ms, int wait_ms);

/* Fill `t` for host:port: a numeric address parsed in place, or the
 * cache's addresses of the name. Never blocks on the network. HY_ERROR
 * when the name has no address (never resolved, or not yet): `err` names
 * the host and why; a name the cache did not know is added and resolved
 * by the thread. */
hy_status_t resolve_target_init(struct resolve_target *t, const char *host, int port, char *err,
                                size_t errlen) HY_MUSTCHECK;

/* A connect to `host` succeeded on `sa` after the addresses before it in
 * its walk failed: later connects start there (resolve_target_init rotates
 * the list), so a dead address costs one connect, not every one. */
void resolve_prefer(const char *host, const union resolve_sa *sa);

/* Per-host figures for the metrics. */
struct resolve_stat {
    char host[256];
    uint64_t failures; /* failed resolutions since start */
    uint8_t n_addrs;   /* addresses in use now (last good ones while failing) */
    bool failing;      /* the last resolution failed */
};

/* A copy of every cached host's figures (malloc'd, *n of them; NULL when
 * none or out of memory). The caller frees it. */
struct resolve_stat *resolve_stats(size_t *n);

/* ---- pure parts, unit-tested ---- */

/* What one resolution of a name did to its entry. */
enum resolve_change {
    RESOLVE_SAME = 0,  /* same addresses as before */
    RESOLVE_FIRST,     /* the first good answer */
    RESOLVE_CHANGED,   /* different addresses */
    RESOLVE_RECOVERED, /* good again after failures (the addresses may differ) */
    RESOLVE_FAILED,    /* the first failure of a run: log it */
    RESOLVE_FAILING,   /* failed again: counted, not logged */
};

/* A name's state: the addresses in use and the failure record. */
struct resolve_state {
    struct resolve_addrs addrs; /* the last good answer; n = 0: none ever */
    bool answered;              /* at least one resolution ended, good or not */
    bool failing;               /* the last one failed */
    int last_err;               /* its getaddrinfo error (EAI_*), 0 after a good one */
    uint64_t failures;
};

/* Apply one resolution: `gai_err` 0 with the addresses in `fresh`, or the
 * getaddrinfo error (fresh unused). A failure, or an answer without any
 * usable address (EAI_NODATA then), keeps the last good addresses. */
enum resolve_change resolve_state_apply(struct resolve_state *st, int gai_err,
                                        const struct resolve_addrs *fresh);

/* The IPv4 and IPv6 stream addresses of a getaddrinfo list, duplicates
 * dropped, order kept, at most RESOLVE_MAX_ADDRS; ports set to 0. */
void resolve_addrs_from_ai(const struct addrinfo *ai, struct resolve_addrs *out);
/* Same addresses in the same order. */
bool resolve_addrs_equal(const struct resolve_addrs *x, const struct resolve_addrs *y);
/* "127.0.0.1, ::1" into out (always terminated). */
void resolve_addrs_format(const struct resolve_addrs *a, char *out, size_t len);

/* Rotate `a` so the address equal to `first` leads, the others keeping
 * their order after it (wrapping around); unchanged when `first` is not in
 * it. */
void resolve_addrs_rotate(struct resolve_addrs *a, const union resolve_sa *first);

/* The next address of the walk, with t->port, and its length: false when
 * every address was tried. */
bool resolve_target_next(struct resolve_target *t, union resolve_sa *sa, socklen_t *len);
/* Addresses not tried yet. */
static inline unsigned resolve_target_left(const struct resolve_target *t)
{
    return t->next < t->addrs.n ? (unsigned)(t->addrs.n - t->next) : 0u;
}
/* The share of `remaining_ms` the address just started gets: the budget
 * split evenly over it and the addresses still after it (all of it for
 * the last one). At least 1. */
int resolve_target_slice_ms(const struct resolve_target *t, int remaining_ms);

#endif /* HALYARD_RESOLVE_H */
