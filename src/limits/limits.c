/*
 * limits.c: see limits.h. Each limit's state sits behind its own mutex,
 * taken once as a statement starts and once as it ends (and by each look
 * of a waiting one); a statement no limit governs takes no lock
 * (limits_match returns NULL at once without limits).
 *
 * The queue is a list in arrival order; the next served is the waiter with
 * the lowest stamp (then the earliest), found by a walk: queues are short
 * (queue_size), and a place is given only when one frees. A place is given
 * by whoever sees it free, the statement that ended or a waiter looking
 * again: the waiter it goes to is marked granted and counted at once, so
 * no newcomer takes it first, and passes at its next look.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/config/config.h"
#include "halyard/config/rules.h"
#include "halyard/core/events.h"
#include "halyard/limits/limits.h"

#define TENANTS_MAX  256 /* past this a limit counts its tenants as one, "(others)" */
#define WAIT_BUCKETS 24  /* waits in ms: [0,1), [1,2), [2,4) ... */

struct tenant_rt {
    char name[81];
    uint32_t in_flight;
    uint32_t queued;
    uint64_t passed, waited, refused;
    double wait_ms, server_ms; /* waited in the queue (refused waits too), used on the server */
    uint64_t stamp;            /* its last waiter's */
    uint64_t wait_hist[WAIT_BUCKETS];
};

struct limit {
    pthread_mutex_t mu;
    struct limit *next; /* the process's list (all) */
    char name[65];
    /* the values, from the config last attached */
    int max_concurrent, max_per_second, burst, max_server_ms;
    int queue_size, queue_timeout_ms;
    bool removed; /* no config names it any more: its queue goes */
    uint32_t in_flight;
    double tokens, tokens_at;    /* max_per_second's bucket, and when it was filled */
    double budget_ms, budget_at; /* max_server_ms_per_second's */
    double avg_ms;               /* its statements' server time, a moving average */
    bool cost_known;             /* avg_ms holds one: a statement has ended */
    struct limit_waiter *head, *tail;
    uint32_t queued; /* waiters not yet granted */
    uint64_t stamp_served, seq;
    bool holding; /* statements held back since the last that went at once (its events) */
    struct tenant_rt *tenants;
    size_t n_tenants;
};

static pthread_mutex_t all_mu = PTHREAD_MUTEX_INITIALIZER;
static struct limit *all;

/* ---- matching ------------------------------------------------------------ */

const struct config_limit *limits_match(struct rules_ctx *ctx, const struct config *cfg,
                                        const struct rules_input *in)
{
    for (size_t i = 0; i < cfg->n_limits; i++) {
        const struct config_limit *l = &cfg->limits[i];
        if (rules_who_match(&l->who, in) &&
            (l->digest_re == NULL || rules_digest_match(ctx, l->digest_re, in)))
            return l;
    }
    return NULL;
}

/* ---- the process's limits -------------------------------------------------- */

static void set_values(struct limit *l, const struct config_limit *c, bool fresh)
{
    l->max_concurrent = c->max_concurrent;
    l->max_per_second = c->max_per_second;
    l->burst = c->burst;
    l->max_server_ms = c->max_server_ms_per_second;
    l->queue_size = c->queue_size;
    l->queue_timeout_ms = c->queue_timeout_ms;
    l->removed = false;
    if (fresh || l->tokens > l->burst)
        l->tokens = l->burst;
    if (fresh || l->budget_ms > l->max_server_ms)
        l->budget_ms = l->max_server_ms;
}

static struct limit *limit_new(const char *name)
{
    struct limit *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    l->tenants = calloc(TENANTS_MAX + 1, sizeof(*l->tenants));
    if (l->tenants == NULL || pthread_mutex_init(&l->mu, NULL) != 0) {
        free(l->tenants);
        free(l);
        return NULL;
    }
    snprintf(l->name, sizeof(l->name), "%s", name);
    l->tokens_at = l->budget_at = -1; /* filled at the first look */
    return l;
}

hy_status_t limits_attach(struct config *cfg)
{
    hy_status_t rc = HY_OK;
    pthread_mutex_lock(&all_mu);
    for (struct limit *l = all; l != NULL; l = l->next) {
        pthread_mutex_lock(&l->mu);
        l->removed = true; /* unless cfg names it, below */
        pthread_mutex_unlock(&l->mu);
    }
    for (size_t i = 0; i < cfg->n_limits; i++) {
        struct config_limit *c = &cfg->limits[i];
        struct limit *l = all;
        while (l != NULL && strcmp(l->name, c->name) != 0)
            l = l->next;
        bool fresh = l == NULL;
        if (fresh) {
            if ((l = limit_new(c->name)) == NULL) {
                rc = HY_NOMEM;
                break;
            }
            l->next = all;
            all = l;
        }
        pthread_mutex_lock(&l->mu);
        set_values(l, c, fresh);
        pthread_mutex_unlock(&l->mu);
        c->rt = l;
    }
    pthread_mutex_unlock(&all_mu);
    return rc;
}

void limits_reset(void)
{
    pthread_mutex_lock(&all_mu);
    while (all != NULL) {
        struct limit *l = all;
        all = l->next;
        pthread_mutex_destroy(&l->mu);
        free(l->tenants);
        free(l);
    }
    pthread_mutex_unlock(&all_mu);
}

/* ---- a limit's accounts (under l->mu) --------------------------------------- */

static int tenant_find(struct limit *l, const char *name)
{
    if (name == NULL)
        name = "";
    for (size_t i = 0; i < l->n_tenants; i++)
        if (strncmp(l->tenants[i].name, name, sizeof(l->tenants[i].name) - 1) == 0)
            return (int)i;
    if (l->n_tenants == TENANTS_MAX) {
        snprintf(l->tenants[TENANTS_MAX].name, sizeof(l->tenants[0].name), "(others)");
        return TENANTS_MAX;
    }
    snprintf(l->tenants[l->n_tenants].name, sizeof(l->tenants[0].name), "%s", name);
    return (int)l->n_tenants++;
}

/* The buckets filled for the time gone by. */
static void refill(struct limit *l, double now)
{
    if (l->tokens_at < 0 || now < l->tokens_at)
        l->tokens_at = now;
    if (l->budget_at < 0 || now < l->budget_at)
        l->budget_at = now;
    if (l->max_per_second > 0) {
        l->tokens = fmin((double)l->burst, l->tokens + (now - l->tokens_at) * l->max_per_second);
        l->tokens_at = now;
    }
    if (l->max_server_ms > 0) {
        l->budget_ms =
            fmin((double)l->max_server_ms, l->budget_ms + (now - l->budget_at) * l->max_server_ms);
        l->budget_at = now;
    }
}

/* The value that has no room for one more statement now, or LIMIT_NONE.
 * Server time is charged when a statement ends, so what those in flight
 * are expected to use counts against the budget already; until a
 * statement has ended no one knows what one costs, and they go one at a
 * time (else every waiting statement would start on the full budget). */
static enum limit_kind no_room(const struct limit *l)
{
    if (l->max_concurrent > 0 && l->in_flight >= (uint32_t)l->max_concurrent)
        return LIMIT_CONCURRENT;
    if (l->max_per_second > 0 && l->tokens < 1.0)
        return LIMIT_PER_SECOND;
    if (l->max_server_ms > 0 &&
        (l->budget_ms - l->in_flight * l->avg_ms <= 0 || (!l->cost_known && l->in_flight > 0)))
        return LIMIT_SERVER_MS;
    return LIMIT_NONE;
}

static void take(struct limit *l, int t)
{
    l->in_flight++;
    l->tenants[t].in_flight++;
    l->tenants[t].passed++;
    if (l->max_per_second > 0)
        l->tokens -= 1.0;
}

static void note_wait(struct tenant_rt *t, double waited_s)
{
    double ms = waited_s * 1e3;
    size_t b = 0;
    while (b + 1 < WAIT_BUCKETS && ms >= (double)(1u << b))
        b++;
    t->wait_hist[b]++;
    t->waited++;
    t->wait_ms += ms;
}

/* The limit starts or stops holding statements back: limit_holding when
 * one of `tenant` is the first queued or refused since statements last
 * went at once, limit_clear when one goes at once again or the queue
 * empties with every waiter served. One event a change, not one a
 * statement; the notifier coalesces them further (alerts.repeat_ms). */
static void set_holding(struct limit *l, bool holding, const struct tenant_rt *t,
                        enum limit_kind why)
{
    if (l->holding == holding)
        return;
    l->holding = holding;
    char reason[300];
    if (holding)
        snprintf(reason, sizeof(reason),
                 "statements of '%s' are held back: %s reached (queue_size %d, "
                 "queue_timeout_ms %d)",
                 t->name, limit_kind_name(why), l->queue_size, l->queue_timeout_ms);
    else
        snprintf(reason, sizeof(reason), "statements go at once again");
    events_emit(holding ? EVENT_LIMIT_HOLDING : EVENT_LIMIT_CLEAR, l->name,
                holding ? "clear" : "holding", holding ? "holding" : "clear", reason, NULL);
}

static void unlink_waiter(struct limit *l, struct limit_waiter *w)
{
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        l->head = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    else
        l->tail = w->prev;
    w->next = w->prev = NULL;
    w->linked = false;
}

/* Places that are free go to the waiters, lowest stamp first. */
static void grant(struct limit *l, double now)
{
    refill(l, now);
    while (l->queued > 0 && no_room(l) == LIMIT_NONE) {
        struct limit_waiter *best = NULL;
        for (struct limit_waiter *w = l->head; w != NULL; w = w->next)
            if (!w->granted && (best == NULL || w->stamp < best->stamp ||
                                (w->stamp == best->stamp && w->seq < best->seq)))
                best = w;
        best->granted = true;
        l->queued--;
        l->tenants[best->tenant].queued--;
        if (best->stamp > l->stamp_served)
            l->stamp_served = best->stamp;
        take(l, best->tenant);
        note_wait(&l->tenants[best->tenant], now - best->since);
        if (l->queued == 0)
            set_holding(l, false, NULL, LIMIT_NONE);
    }
}

/* The value the queue waits on: what has no room now, else the head's. */
static enum limit_kind queue_why(const struct limit *l)
{
    enum limit_kind k = no_room(l);
    return k != LIMIT_NONE || l->head == NULL ? k : l->head->why;
}

/* ---- a statement's way through ------------------------------------------- */

enum limit_verdict limit_enter(struct limit *l, const char *tenant, bool in_trx, double now,
                               struct limit_hold *hold, struct limit_waiter *w,
                               enum limit_kind *why)
{
    pthread_mutex_lock(&l->mu);
    int t = tenant_find(l, tenant);
    refill(l, now);
    enum limit_verdict v = LIMIT_PASS;
    *why = queue_why(l);
    if (l->removed) {
        hold->lim = NULL;
    } else if (in_trx || (l->queued == 0 && *why == LIMIT_NONE)) {
        take(l, t);
        *hold = (struct limit_hold){.lim = l, .tenant = t, .started = now};
        if (!in_trx)
            set_holding(l, false, NULL, LIMIT_NONE);
    } else if (l->queued >= (uint32_t)l->queue_size) {
        l->tenants[t].refused++;
        set_holding(l, true, &l->tenants[t], *why);
        v = LIMIT_FULL;
    } else {
        struct tenant_rt *tr = &l->tenants[t];
        *w = (struct limit_waiter){.tenant = t, .since = now, .why = *why, .linked = true};
        w->stamp = (tr->stamp > l->stamp_served ? tr->stamp : l->stamp_served) + 1;
        tr->stamp = w->stamp;
        w->seq = ++l->seq;
        w->prev = l->tail;
        if (l->tail != NULL)
            l->tail->next = w;
        else
            l->head = w;
        l->tail = w;
        l->queued++;
        tr->queued++;
        set_holding(l, true, tr, *why);
        v = LIMIT_WAIT;
    }
    pthread_mutex_unlock(&l->mu);
    return v;
}

enum limit_verdict limit_poll(struct limit *l, struct limit_waiter *w, double now,
                              struct limit_hold *hold)
{
    pthread_mutex_lock(&l->mu);
    enum limit_verdict v = LIMIT_WAIT;
    struct tenant_rt *t = &l->tenants[w->tenant];
    if (!w->granted)
        grant(l, now);
    if (w->granted) {
        unlink_waiter(l, w);
        *hold = (struct limit_hold){.lim = l, .tenant = w->tenant, .started = now};
        v = LIMIT_PASS;
    } else if (l->removed) {
        unlink_waiter(l, w);
        l->queued--;
        t->queued--;
        hold->lim = NULL;
        v = LIMIT_PASS;
    } else if (now - w->since >= l->queue_timeout_ms / 1e3) {
        unlink_waiter(l, w);
        l->queued--;
        t->queued--;
        t->refused++;
        t->wait_ms += (now - w->since) * 1e3;
        v = LIMIT_TIMEOUT;
    }
    pthread_mutex_unlock(&l->mu);
    return v;
}

static void give_back(struct limit *l, int t)
{
    l->in_flight--;
    l->tenants[t].in_flight--;
}

void limit_cancel(struct limit *l, struct limit_waiter *w, double now)
{
    pthread_mutex_lock(&l->mu);
    if (w->linked) {
        unlink_waiter(l, w);
        if (w->granted) {
            give_back(l, w->tenant);
            grant(l, now);
        } else {
            l->queued--;
            l->tenants[w->tenant].queued--;
        }
    }
    pthread_mutex_unlock(&l->mu);
}

void limit_leave(struct limit_hold *hold, double server_s, double now)
{
    struct limit *l = hold->lim;
    if (l == NULL)
        return;
    hold->lim = NULL;
    pthread_mutex_lock(&l->mu);
    give_back(l, hold->tenant);
    double ms = server_s > 0 ? server_s * 1e3 : 0;
    l->tenants[hold->tenant].server_ms += ms;
    if (l->max_server_ms > 0) {
        refill(l, now);
        l->budget_ms -= ms;
    }
    l->avg_ms = l->cost_known ? 0.8 * l->avg_ms + 0.2 * ms : ms;
    l->cost_known = true;
    grant(l, now);
    pthread_mutex_unlock(&l->mu);
}

const char *limit_kind_name(enum limit_kind k)
{
    switch (k) {
    case LIMIT_CONCURRENT:
        return "max_concurrent";
    case LIMIT_PER_SECOND:
        return "max_per_second";
    case LIMIT_SERVER_MS:
        return "max_server_ms_per_second";
    case LIMIT_NONE:
        break;
    }
    return "queue";
}

void limit_refusal(struct limit *l, enum limit_verdict v, enum limit_kind why, char *out,
                   size_t len)
{
    pthread_mutex_lock(&l->mu);
    int value = why == LIMIT_CONCURRENT   ? l->max_concurrent
                : why == LIMIT_PER_SECOND ? l->max_per_second
                : why == LIMIT_SERVER_MS  ? l->max_server_ms
                                          : l->queue_size;
    if (v == LIMIT_TIMEOUT)
        snprintf(out, len,
                 "the '%s' resource (current value: %d) of halyard limit '%s': waited "
                 "queue_timeout_ms (%d ms)",
                 limit_kind_name(why), value, l->name, l->queue_timeout_ms);
    else
        snprintf(out, len,
                 "the '%s' resource (current value: %d) of halyard limit '%s': its queue is "
                 "full (queue_size %d)",
                 limit_kind_name(why), value, l->name, l->queue_size);
    pthread_mutex_unlock(&l->mu);
}

/* ---- show limits ------------------------------------------------------------ */

/* The wait under which a share q of the waits fell, in ms (a bucket's top). */
static double wait_quantile(const struct tenant_rt *t, double q)
{
    if (t->waited == 0)
        return 0;
    uint64_t want = (uint64_t)ceil(q * (double)t->waited), seen = 0;
    for (size_t b = 0; b < WAIT_BUCKETS; b++) {
        seen += t->wait_hist[b];
        if (seen >= want)
            return (double)(1u << b);
    }
    return (double)(1u << (WAIT_BUCKETS - 1));
}

size_t limits_rows(const struct config *cfg, struct limit_row *rows, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->n_limits; i++) {
        struct limit *l = cfg->limits[i].rt;
        if (l == NULL)
            continue;
        pthread_mutex_lock(&l->mu);
        size_t nt = l->n_tenants + (l->tenants[TENANTS_MAX].name[0] != '\0');
        for (size_t k = 0; k < nt; k++, n++) {
            if (n >= cap)
                continue;
            const struct tenant_rt *t = &l->tenants[k < l->n_tenants ? k : TENANTS_MAX];
            struct limit_row *r = &rows[n];
            snprintf(r->limit, sizeof(r->limit), "%s", l->name);
            snprintf(r->tenant, sizeof(r->tenant), "%s", t->name);
            r->in_flight = t->in_flight;
            r->queued = t->queued;
            r->passed = t->passed;
            r->waited = t->waited;
            r->refused = t->refused;
            r->wait_p50_ms = wait_quantile(t, 0.5);
            r->wait_p99_ms = wait_quantile(t, 0.99);
            r->wait_ms = t->wait_ms;
            r->server_ms = t->server_ms;
            r->held_back = t->queued > 0;
        }
        pthread_mutex_unlock(&l->mu);
    }
    return n;
}

struct limit_row *limits_rows_alloc(const struct config *cfg, size_t *n)
{
    size_t cap = 16;
    struct limit_row *rows = NULL;
    for (;;) { /* tenants may come between the count and the copy */
        struct limit_row *more = realloc(rows, cap * sizeof(*rows));
        if (more == NULL) {
            free(rows);
            return NULL;
        }
        rows = more;
        memset(rows, 0, cap * sizeof(*rows));
        if ((*n = limits_rows(cfg, rows, cap)) < cap)
            return rows;
        cap = *n + 16;
    }
}
