/*
 * limits.h: fair-share limits, so one tenant cannot starve another
 * (docs/limits.md). A limit (struct config_limit) governs the statements
 * its conditions match, the first limit matching wins; it caps what they
 * have in flight (max_concurrent), how many start a second (max_per_second,
 * a token bucket holding `burst`), and the server time they use a second
 * (max_server_ms_per_second, charged from each statement's measured time).
 *
 * A statement over the limit waits in the limit's queue: at most
 * queue_size of them, each at most queue_timeout_ms, served in order and
 * fair across the limit's tenants (users, or schemas): start-time fair
 * queueing, each waiter stamped one past the later of its tenant's last
 * stamp and the stamp last served, the lowest stamp served first. So a
 * tenant with a hundred statements queued does not make a tenant with one
 * wait behind all of them.
 *
 * The state of a limit (struct limit) is the process's, one per name,
 * shared by the workers behind a mutex, and outlives configs: a reload
 * changes its values and keeps what is in flight and queued; a limit a
 * reload removes lets its queue go. When a limit starts holding statements
 * back, and when they go at once again, it emits limit_holding and
 * limit_clear (events.h: lock-free, from the thread that saw it). This
 * module makes decisions only: the
 * session asks (limit_enter, limit_poll), parks the statement on a timer
 * of its own when told to wait, and tells the limit when the statement
 * ends (limit_leave). Times are seconds on a monotonic clock (ev_now()),
 * passed in.
 */
#ifndef HALYARD_LIMITS_H
#define HALYARD_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core/core.h"

struct config;
struct config_limit;
struct rules_ctx;
struct rules_input;

/* The first limit of cfg whose conditions (rules_who_match, and its
 * match_digest on in->digest: a NULL digest never matches it) match the
 * statement `in`, or NULL (also with no limits: a load and a branch). ctx:
 * the worker's, for the patterns. */
const struct config_limit *limits_match(struct rules_ctx *ctx, const struct config *cfg,
                                        const struct rules_input *in);

/* Give every limit of cfg its state (cfg->limits[i].rt): the one of that
 * name if a config had it, with cfg's values, else a new one; the limits
 * no longer in cfg let their queues go. Main thread, before cfg is
 * published. */
hy_status_t limits_attach(struct config *cfg) HY_MUSTCHECK;

/* Which of a limit's values held a statement back. */
enum limit_kind {
    LIMIT_NONE,
    LIMIT_CONCURRENT,
    LIMIT_PER_SECOND,
    LIMIT_SERVER_MS,
};
const char *limit_kind_name(enum limit_kind k); /* "max_concurrent"... */

enum limit_verdict {
    LIMIT_PASS,    /* it runs now, counted: limit_leave when it ends */
    LIMIT_WAIT,    /* queued: limit_poll on a timer (LIMIT_POLL_S) */
    LIMIT_FULL,    /* refused: the queue is full */
    LIMIT_TIMEOUT, /* refused: it waited queue_timeout_ms */
};

/* How often a waiting statement looks again. */
#define LIMIT_POLL_S 0.002

/* A statement's place in a limit's queue; the session owns it, the limit
 * links it under its mutex while it waits. */
struct limit_waiter {
    struct limit_waiter *next, *prev;
    uint64_t stamp; /* its fair-queueing stamp */
    uint64_t seq;   /* arrival, to break a tie */
    double since;   /* when it began to wait */
    int tenant;     /* index in the limit's tenants */
    bool linked;
    bool granted; /* given its place by another's end: counted, to pass */
    enum limit_kind why;
};

/* What a statement that passed holds until limit_leave. */
struct limit_hold {
    struct limit *lim; /* NULL = nothing held */
    int tenant;
    double started;
};

/* A statement of `tenant` (its user or schema, by the limit's `tenant`;
 * NULL = "") asks to run. In a transaction (in_trx) it always passes, and
 * is counted and charged: the limit acts at the next transaction's first
 * statement. Else it passes when nothing waits before it and every value
 * has room, waits when the queue has room, or is refused (LIMIT_FULL, *why
 * the value that held it). On LIMIT_PASS *hold is filled; on LIMIT_WAIT
 * `w` is queued. */
enum limit_verdict limit_enter(struct limit *l, const char *tenant, bool in_trx, double now,
                               struct limit_hold *hold, struct limit_waiter *w,
                               enum limit_kind *why);

/* A waiting statement looks again: LIMIT_PASS (unqueued, *hold filled),
 * LIMIT_WAIT, or LIMIT_TIMEOUT (unqueued). A limit a reload removed lets
 * its waiters pass uncounted (hold->lim NULL). */
enum limit_verdict limit_poll(struct limit *l, struct limit_waiter *w, double now,
                              struct limit_hold *hold);

/* A waiting statement goes away (its session closes): unqueued, and a
 * place it was granted is given on. */
void limit_cancel(struct limit *l, struct limit_waiter *w, double now);

/* A statement that passed ended after `server_s` seconds of server time:
 * its place is given to the next waiter that fits. */
void limit_leave(struct limit_hold *hold, double server_s, double now);

/* Why a statement was refused, for error 1226 after "User 'u' has
 * exceeded ": the value that held it, the limit's name, and the queue's
 * end ("the 'max_concurrent' resource (current value: 4) of halyard limit
 * 'a': its queue is full (queue_size 100)"). */
void limit_refusal(struct limit *l, enum limit_verdict v, enum limit_kind why, char *out,
                   size_t len);

/* ---- what show limits reads ---------------------------------------------- */

/* One tenant of one limit as counted since it first came. */
struct limit_row {
    char limit[65];
    char tenant[81];
    uint32_t in_flight;
    uint32_t queued;
    uint64_t passed;  /* statements that ran, waited or not */
    uint64_t waited;  /* of them, those that waited */
    uint64_t refused; /* queue full or timed out */
    double wait_p50_ms, wait_p99_ms;
    double wait_ms;   /* waited in all, by those that passed and those refused after a wait */
    double server_ms; /* server time its statements used, as charged */
    bool held_back;   /* some of its statements wait now */
};

/* Every tenant of every limit of cfg into rows (at most cap); returns how
 * many there are (may exceed cap). Any thread. */
size_t limits_rows(const struct config *cfg, struct limit_row *rows, size_t cap);

/* The same into an array of its own (free() it), *n rows, with at least
 * one zeroed row past them (an empty list's prototype); NULL: no memory. */
struct limit_row *limits_rows_alloc(const struct config *cfg, size_t *n);

/* Tests: forget every limit's state. Nothing may be using them. */
void limits_reset(void);

#endif
