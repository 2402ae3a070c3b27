/*
 * resolve.c: the backend host name cache and its resolver thread. See
 * resolve.h.
 *
 * The cache is a short list of entries (one per host name the configs
 * name; a handful) behind one mutex. Readers hold it for a lookup by name
 * and a copy of the entry's addresses; the thread never holds it while it
 * resolves: it marks the entry busy, resolves with the mutex released,
 * then takes it again to apply the answer (resolve_state_apply, pure). A
 * plain blocking getaddrinfo() in this one thread is the whole of the
 * resolution: it follows nsswitch.conf, /etc/hosts and resolv.conf as
 * every other program on the host does. One slow name delays the refresh
 * of the others, never a connect, which uses the addresses it has.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "halyard/core/clock.h"
#include "halyard/core/log.h"
#include "halyard/protocol/resolve.h"

/* ---- pure parts ---------------------------------------------------------- */

static bool sa_equal(const union resolve_sa *x, const union resolve_sa *y)
{
    if (x->sa.sa_family != y->sa.sa_family)
        return false;
    if (x->sa.sa_family == AF_INET)
        return x->in.sin_addr.s_addr == y->in.sin_addr.s_addr;
    return memcmp(&x->in6.sin6_addr, &y->in6.sin6_addr, sizeof(x->in6.sin6_addr)) == 0 &&
           x->in6.sin6_scope_id == y->in6.sin6_scope_id;
}

static bool addrs_has(const struct resolve_addrs *a, const union resolve_sa *sa)
{
    for (unsigned i = 0; i < a->n; i++) {
        if (sa_equal(&a->a[i], sa))
            return true;
    }
    return false;
}

/* Add sa (port cleared) unless it is there already or the list is full. */
static void addrs_add(struct resolve_addrs *a, const struct sockaddr *sa)
{
    union resolve_sa u;
    memset(&u, 0, sizeof(u));
    if (sa->sa_family == AF_INET) {
        memcpy(&u.in, sa, sizeof(u.in));
        u.in.sin_port = 0;
    } else if (sa->sa_family == AF_INET6) {
        memcpy(&u.in6, sa, sizeof(u.in6));
        u.in6.sin6_port = 0;
    } else {
        return;
    }
    if (a->n < RESOLVE_MAX_ADDRS && !addrs_has(a, &u))
        a->a[a->n++] = u;
}

void resolve_addrs_from_ai(const struct addrinfo *ai, struct resolve_addrs *out)
{
    memset(out, 0, sizeof(*out));
    for (; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_addr != NULL)
            addrs_add(out, ai->ai_addr);
    }
}

/* The same addresses, in any order: DNS servers rotate the records of a
 * name, which changes nothing worth a log line. */
bool resolve_addrs_equal(const struct resolve_addrs *x, const struct resolve_addrs *y)
{
    if (x->n != y->n)
        return false;
    for (unsigned i = 0; i < x->n; i++) {
        if (!addrs_has(y, &x->a[i]))
            return false;
    }
    return true;
}

static void sa_format(const union resolve_sa *sa, char *out, size_t len)
{
    if (sa->sa.sa_family == AF_INET) {
        if (inet_ntop(AF_INET, &sa->in.sin_addr, out, (socklen_t)len) != NULL)
            return;
    } else if (sa->sa.sa_family == AF_INET6) {
        if (inet_ntop(AF_INET6, &sa->in6.sin6_addr, out, (socklen_t)len) != NULL)
            return;
    }
    snprintf(out, len, "?");
}

void resolve_addrs_format(const struct resolve_addrs *a, char *out, size_t len)
{
    size_t used = 0;
    if (len == 0)
        return;
    out[0] = '\0';
    for (unsigned i = 0; i < a->n && used + 1 < len; i++) {
        char one[INET6_ADDRSTRLEN];
        sa_format(&a->a[i], one, sizeof(one));
        int k = snprintf(out + used, len - used, "%s%s", i > 0 ? ", " : "", one);
        if (k < 0)
            break;
        used += (size_t)k;
    }
    if (a->n == 0)
        snprintf(out, len, "none");
}

enum resolve_change resolve_state_apply(struct resolve_state *st, int gai_err,
                                        const struct resolve_addrs *fresh)
{
    if (gai_err == 0 && fresh->n == 0)
        gai_err = EAI_NODATA;
    st->answered = true;
    if (gai_err != 0) {
        bool first = !st->failing;
        st->failing = true;
        st->last_err = gai_err;
        st->failures++;
        return first ? RESOLVE_FAILED : RESOLVE_FAILING;
    }
    bool was_failing = st->failing, had = st->addrs.n > 0;
    bool same = resolve_addrs_equal(&st->addrs, fresh);
    st->failing = false;
    st->last_err = 0;
    st->addrs = *fresh; /* the new order too */
    if (!had)
        return RESOLVE_FIRST;
    if (was_failing)
        return RESOLVE_RECOVERED;
    return same ? RESOLVE_SAME : RESOLVE_CHANGED;
}

void resolve_addrs_rotate(struct resolve_addrs *a, const union resolve_sa *first)
{
    unsigned k = 0;
    while (k < a->n && !sa_equal(&a->a[k], first))
        k++;
    if (k == 0 || k >= a->n)
        return;
    union resolve_sa tmp[RESOLVE_MAX_ADDRS];
    for (unsigned i = 0; i < a->n; i++)
        tmp[i] = a->a[(k + i) % a->n];
    memcpy(a->a, tmp, a->n * sizeof(tmp[0]));
}

bool resolve_target_next(struct resolve_target *t, union resolve_sa *sa, socklen_t *len)
{
    if (t->next >= t->addrs.n)
        return false;
    *sa = t->addrs.a[t->next++];
    if (sa->sa.sa_family == AF_INET) {
        sa->in.sin_port = htons((uint16_t)t->port);
        *len = sizeof(sa->in);
    } else {
        sa->in6.sin6_port = htons((uint16_t)t->port);
        *len = sizeof(sa->in6);
    }
    return true;
}

int resolve_target_slice_ms(const struct resolve_target *t, int remaining_ms)
{
    int slice = remaining_ms / (int)(resolve_target_left(t) + 1);
    return slice > 0 ? slice : 1;
}

/* A numeric IPv4 or IPv6 address into `out` (one address): true; false
 * for anything else, without asking any resolver. */
static bool parse_numeric(const char *host, struct resolve_addrs *out)
{
    union resolve_sa u;
    memset(out, 0, sizeof(*out));
    memset(&u, 0, sizeof(u));
    if (inet_pton(AF_INET, host, &u.in.sin_addr) == 1) {
        u.in.sin_family = AF_INET;
        out->a[out->n++] = u;
        return true;
    }
    if (inet_pton(AF_INET6, host, &u.in6.sin6_addr) == 1) {
        u.in6.sin6_family = AF_INET6;
        out->a[out->n++] = u;
        return true;
    }
    if (strchr(host, ':') == NULL || strchr(host, '%') == NULL)
        return false;
    /* fe80::1%eth0: AI_NUMERICHOST parses the scope and never looks anything up */
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET6;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return false;
    resolve_addrs_from_ai(res, out);
    freeaddrinfo(res);
    return out->n > 0;
}

/* ---- the cache ----------------------------------------------------------- */

struct entry {
    struct entry *next;
    char *host;
    struct resolve_state st;
    union resolve_sa prefer; /* the address connects start with (resolve_prefer) */
    bool has_prefer;
    struct timespec due; /* next resolution, CLOCK_MONOTONIC */
    bool wanted;         /* named by the config in force, or asked for since */
    bool busy;           /* the thread resolves it, mutex released */
    bool dropped;        /* unlinked while busy: the thread frees it */
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake;     /* the thread: a name to resolve, stop */
    pthread_cond_t answered; /* resolve_configure: a resolution ended */
    struct entry *list;
    int refresh_ms;
    bool running, stop;
    pthread_t thread;
} R = {.mu = PTHREAD_MUTEX_INITIALIZER, .refresh_ms = 30000};

static bool ts_before(struct timespec a, struct timespec b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

static struct entry *find(const char *host)
{
    for (struct entry *e = R.list; e != NULL; e = e->next) {
        if (strcmp(e->host, host) == 0)
            return e;
    }
    return NULL;
}

/* A new entry, due now, at the head of the list; NULL when out of memory. */
static struct entry *add(const char *host)
{
    struct entry *e = calloc(1, sizeof(*e));
    if (e == NULL || (e->host = strdup(host)) == NULL) {
        free(e);
        return NULL;
    }
    e->due = hy_mono_ts();
    e->wanted = true;
    e->next = R.list;
    R.list = e;
    return e;
}

static void entry_free(struct entry *e)
{
    free(e->host);
    free(e);
}

/* What one resolution changed, said in the log (mutex released). */
static void log_change(const char *host, enum resolve_change ch, const struct resolve_state *st,
                       const struct resolve_addrs *old)
{
    char now[RESOLVE_MAX_ADDRS * (INET6_ADDRSTRLEN + 2)], was[sizeof(now)];
    resolve_addrs_format(&st->addrs, now, sizeof(now));
    switch (ch) {
    case RESOLVE_SAME:
        break;
    case RESOLVE_FIRST:
        hy_log_info("dns: %s resolves to %s", host, now);
        break;
    case RESOLVE_CHANGED:
        resolve_addrs_format(old, was, sizeof(was));
        hy_log_info("dns: %s now resolves to %s (was %s)", host, now, was);
        break;
    case RESOLVE_RECOVERED:
        hy_log_info("dns: %s resolves again, to %s", host, now);
        break;
    case RESOLVE_FAILED:
        if (st->addrs.n > 0)
            hy_log_warn("dns: cannot resolve %s: %s; keeping its last addresses %s", host,
                        gai_strerror(st->last_err), now);
        else
            hy_log_warn("dns: cannot resolve %s: %s; connects to it fail until it resolves", host,
                        gai_strerror(st->last_err));
        break;
    case RESOLVE_FAILING:
        hy_log_debug("dns: %s still does not resolve: %s", host, gai_strerror(st->last_err));
        break;
    }
}

/* Resolve `e` with the mutex released; called and returns with it held. */
static void resolve_one(struct entry *e)
{
    e->busy = true;
    pthread_mutex_unlock(&R.mu);

    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    struct resolve_addrs fresh = {0};
    int rc = getaddrinfo(e->host, NULL, &hints, &res);
    if (rc == 0) {
        resolve_addrs_from_ai(res, &fresh);
        freeaddrinfo(res);
    }

    pthread_mutex_lock(&R.mu);
    e->busy = false;
    if (e->dropped) {
        entry_free(e);
        pthread_cond_broadcast(&R.answered);
        return;
    }
    struct resolve_addrs old = e->st.addrs;
    enum resolve_change ch = resolve_state_apply(&e->st, rc, &fresh);
    long next = R.refresh_ms;
    if (e->st.addrs.n == 0 && next > RESOLVE_RETRY_MS)
        next = RESOLVE_RETRY_MS;
    e->due = hy_ts_add_ms(hy_mono_ts(), next);
    struct resolve_state st = e->st;
    char host[256];
    snprintf(host, sizeof(host), "%s", e->host);
    pthread_cond_broadcast(&R.answered);

    pthread_mutex_unlock(&R.mu);
    log_change(host, ch, &st, &old);
    pthread_mutex_lock(&R.mu);
}

static void *resolver_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&R.mu);
    while (!R.stop) {
        struct timespec now = hy_mono_ts();
        struct entry *soonest = NULL;
        for (struct entry *e = R.list; e != NULL; e = e->next) {
            if (!e->busy && (soonest == NULL || ts_before(e->due, soonest->due)))
                soonest = e;
        }
        if (soonest != NULL && !ts_before(now, soonest->due)) {
            resolve_one(soonest);
            continue;
        }
        if (soonest != NULL) {
            struct timespec due = soonest->due; /* a reload may free the entry meanwhile */
            pthread_cond_timedwait(&R.wake, &R.mu, &due);
        } else
            pthread_cond_wait(&R.wake, &R.mu);
    }
    pthread_mutex_unlock(&R.mu);
    return NULL;
}

hy_status_t resolve_start(void)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return HY_ERROR;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&R.wake, &ca);
    if (rc == 0 && (rc = pthread_cond_init(&R.answered, &ca)) != 0)
        pthread_cond_destroy(&R.wake);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return HY_ERROR;
    R.stop = false;
    if (pthread_create(&R.thread, NULL, resolver_main, NULL) != 0) {
        pthread_cond_destroy(&R.wake);
        pthread_cond_destroy(&R.answered);
        return HY_ERROR;
    }
    pthread_mutex_lock(&R.mu);
    R.running = true;
    pthread_mutex_unlock(&R.mu);
    return HY_OK;
}

void resolve_stop(void)
{
    pthread_mutex_lock(&R.mu);
    bool running = R.running;
    R.stop = true;
    R.running = false;
    if (running)
        pthread_cond_signal(&R.wake);
    pthread_mutex_unlock(&R.mu);
    if (running) {
        /* A getaddrinfo in flight ends only within the resolver's own
         * timeouts (10 s and more with a silent server): the exit does not
         * wait that long; the thread and the cache it uses are left to it. */
        struct timespec deadline = hy_deadline_ms(RESOLVE_STOP_WAIT_S * 1000);
        if (pthread_timedjoin_np(R.thread, NULL, &deadline) != 0) {
            hy_log_info("dns: a resolution is still running; exiting without waiting for it");
            return;
        }
        pthread_cond_destroy(&R.wake);
        pthread_cond_destroy(&R.answered);
    }
    pthread_mutex_lock(&R.mu);
    while (R.list != NULL) {
        struct entry *e = R.list;
        R.list = e->next;
        entry_free(e);
    }
    pthread_mutex_unlock(&R.mu);
}

/* Some wanted entry still waits for its first answer. */
static bool first_answers_pending(void)
{
    for (struct entry *e = R.list; e != NULL; e = e->next) {
        if (e->wanted && !e->st.answered)
            return true;
    }
    return false;
}

void resolve_configure(const char *const *hosts, size_t n, int refresh_ms, int wait_ms)
{
    pthread_mutex_lock(&R.mu);
    R.refresh_ms = refresh_ms;
    for (struct entry *e = R.list; e != NULL; e = e->next)
        e->wanted = false;
    for (size_t i = 0; i < n; i++) {
        struct resolve_addrs numeric;
        const char *host = hosts[i];
        if (parse_numeric(host, &numeric))
            continue;
        struct entry *e = find(host);
        if (e == NULL && (e = add(host)) == NULL) {
            hy_log_error("dns: out of memory: %s is resolved at its first connect", host);
            continue;
        }
        e->wanted = true;
        /* a shorter interval applies from now on, not after the old one */
        struct timespec soon = hy_ts_add_ms(hy_mono_ts(), R.refresh_ms);
        if (ts_before(soon, e->due))
            e->due = soon;
    }
    for (struct entry **p = &R.list; *p != NULL;) {
        struct entry *e = *p;
        if (e->wanted) {
            p = &e->next;
            continue;
        }
        *p = e->next;
        if (e->busy)
            e->dropped = true;
        else
            entry_free(e);
    }
    if (R.running) {
        pthread_cond_signal(&R.wake);
        struct timespec deadline = hy_ts_add_ms(hy_mono_ts(), wait_ms);
        while (first_answers_pending() && ts_before(hy_mono_ts(), deadline))
            pthread_cond_timedwait(&R.answered, &R.mu, &deadline);
    }
    for (struct entry *e = R.list; e != NULL && wait_ms > 0; e = e->next) {
        if (!e->st.answered)
            hy_log_warn("dns: %s: no answer within %d ms; connects to it fail until it resolves",
                        e->host, wait_ms);
    }
    pthread_mutex_unlock(&R.mu);
}

hy_status_t resolve_target_init(struct resolve_target *t, const char *host, int port, char *err,
                                size_t errlen)
{
    t->port = port;
    t->next = 0;
    if (parse_numeric(host, &t->addrs))
        return HY_OK;
    pthread_mutex_lock(&R.mu);
    struct entry *e = find(host);
    if (e != NULL && e->st.addrs.n > 0) {
        t->addrs = e->st.addrs;
        if (e->has_prefer)
            resolve_addrs_rotate(&t->addrs, &e->prefer);
        pthread_mutex_unlock(&R.mu);
        return HY_OK;
    }
    if (e == NULL) {
        /* a name no config announced (a session of an older config): the
         * thread resolves it for the next connect */
        if (add(host) != NULL && R.running)
            pthread_cond_signal(&R.wake);
        snprintf(err, errlen, "host %s is not resolved yet", host);
    } else if (!e->st.answered) {
        snprintf(err, errlen, "host %s is not resolved yet", host);
    } else {
        snprintf(err, errlen, "cannot resolve host %s: %s", host, gai_strerror(e->st.last_err));
    }
    pthread_mutex_unlock(&R.mu);
    return HY_ERROR;
}

void resolve_prefer(const char *host, const union resolve_sa *sa)
{
    pthread_mutex_lock(&R.mu);
    struct entry *e = find(host);
    bool changed = e != NULL && (!e->has_prefer || !sa_equal(&e->prefer, sa));
    if (changed) {
        e->prefer = *sa;
        e->has_prefer = true;
    }
    pthread_mutex_unlock(&R.mu);
    if (changed) {
        char a[INET6_ADDRSTRLEN];
        sa_format(sa, a, sizeof(a));
        hy_log_info("dns: %s: connects start with %s from now on (the addresses before it failed)",
                    host, a);
    }
}

struct resolve_stat *resolve_stats(size_t *n)
{
    *n = 0;
    pthread_mutex_lock(&R.mu);
    size_t count = 0;
    for (struct entry *e = R.list; e != NULL; e = e->next)
        count++;
    struct resolve_stat *v = count > 0 ? calloc(count, sizeof(*v)) : NULL;
    if (v != NULL) {
        for (struct entry *e = R.list; e != NULL; e = e->next) {
            struct resolve_stat *s = &v[(*n)++];
            snprintf(s->host, sizeof(s->host), "%s", e->host);
            s->failures = e->st.failures;
            s->n_addrs = e->st.addrs.n;
            s->failing = e->st.failing;
        }
    }
    pthread_mutex_unlock(&R.mu);
    return v;
}
