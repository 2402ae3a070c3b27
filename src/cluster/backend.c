/*
 * backend.c: run-time state of the backends (see backend.h).
 *
 * The registry is a list of entries by name behind one mutex; it is only
 * walked when a config is attached or an entry is looked up by name (admin
 * commands), never on the data path, which reaches its entries through
 * config_backend.rt. Entries are never freed while the process runs, so a
 * pointer to one stays valid across reloads without reference counting.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "halyard/core/audit.h"
#include "halyard/cluster/backend.h"
#include "halyard/cluster/global_pos.h"
#include "halyard/config/group.h"
#include "halyard/core/events.h"
#include "halyard/core/log.h"
#include "halyard/cluster/pool_stats.h"

const uint64_t backend_lat_bounds_us[BACKEND_LAT_BOUNDS] = {
    100,   250,    500,    1000,   2500,    5000,    10000,   25000,
    50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct backend_rt *registry;
static _Atomic uint64_t generation = 1;

static _Atomic(void (*)(struct backend_rt *, void *)) report_hook;
static _Atomic(void *) report_hook_arg;

const char *backend_state_to_str(enum backend_state st)
{
    switch (st) {
    case BACKEND_ONLINE:
        return "ONLINE";
    case BACKEND_DOWN:
        return "DOWN";
    case BACKEND_LAGGING:
        return "LAGGING";
    case BACKEND_DRAINING:
        return "DRAINING";
    case BACKEND_MAINT:
        return "MAINT";
    case BACKEND__STATES:
        break;
    }
    return "?";
}

const char *backend_admin_to_str(enum backend_admin mode)
{
    switch (mode) {
    case BACKEND_ADMIN_NONE:
        return "none";
    case BACKEND_ADMIN_DRAIN:
        return "drain";
    case BACKEND_ADMIN_MAINT:
        return "maint";
    }
    return "?";
}

uint64_t backend_generation(void)
{
    return atomic_load_explicit(&generation, memory_order_acquire);
}

void backend_generation_bump(void)
{
    atomic_fetch_add_explicit(&generation, 1, memory_order_acq_rel);
}

/* Each group's failover state, by the group's name (a name outlives a
 * reload, an index may not): a slot per group seen, kept for the process's
 * life (a group a reload removed keeps its slot, harmless). */
struct failover_state {
    char group[48];
    bool busy;
    char note[400];
};
static pthread_mutex_t fstate_mu = PTHREAD_MUTEX_INITIALIZER;
static struct failover_state fstate[BACKEND_FAILOVER_GROUPS];
static size_t n_fstate;

/* The slot of `group` (fstate_mu held); created when `create`; NULL when
 * none (or all taken). */
static struct failover_state *fstate_find(const char *group, bool create)
{
    if (group == NULL)
        group = "";
    for (size_t i = 0; i < n_fstate; i++) {
        if (strcmp(fstate[i].group, group) == 0)
            return &fstate[i];
    }
    if (!create || n_fstate == BACKEND_FAILOVER_GROUPS)
        return NULL;
    struct failover_state *f = &fstate[n_fstate++];
    memset(f, 0, sizeof(*f));
    snprintf(f->group, sizeof(f->group), "%s", group);
    return f;
}

void backend_set_failover_busy(const char *group, bool busy)
{
    pthread_mutex_lock(&fstate_mu);
    struct failover_state *f = fstate_find(group, busy);
    if (f != NULL)
        f->busy = busy;
    pthread_mutex_unlock(&fstate_mu);
}

bool backend_failover_busy(const char *group)
{
    pthread_mutex_lock(&fstate_mu);
    struct failover_state *f = fstate_find(group, false);
    bool busy = f != NULL && f->busy;
    pthread_mutex_unlock(&fstate_mu);
    return busy;
}

void backend_set_failover_note(const char *group, const char *note)
{
    bool set = note != NULL && note[0] != '\0';
    pthread_mutex_lock(&fstate_mu);
    struct failover_state *f = fstate_find(group, set);
    if (f != NULL)
        snprintf(f->note, sizeof(f->note), "%s", set ? note : "");
    pthread_mutex_unlock(&fstate_mu);
}

void backend_failover_note(const char *group, char *out, size_t len)
{
    if (len == 0)
        return;
    pthread_mutex_lock(&fstate_mu);
    struct failover_state *f = fstate_find(group, false);
    snprintf(out, len, "%s", f != NULL ? f->note : "");
    pthread_mutex_unlock(&fstate_mu);
}

static struct backend_rt *find_locked(const char *name)
{
    for (struct backend_rt *rt = registry; rt != NULL; rt = rt->next) {
        if (strcmp(rt->name, name) == 0)
            return rt;
    }
    return NULL;
}

struct backend_rt *backend_rt_find(const char *name)
{
    pthread_mutex_lock(&registry_lock);
    struct backend_rt *rt = find_locked(name);
    pthread_mutex_unlock(&registry_lock);
    return rt;
}

struct backend_rt *backend_rt_get(const char *name)
{
    pthread_mutex_lock(&registry_lock);
    struct backend_rt *rt = find_locked(name);
    if (rt == NULL && (rt = aligned_alloc(64, (sizeof(*rt) + 63) & ~(size_t)63)) != NULL) {
        memset(rt, 0, sizeof(*rt));
        rt->name = strdup(name);
        if (rt->name == NULL) {
            free(rt);
            rt = NULL;
        } else {
            atomic_init(&rt->state, BACKEND_ONLINE);
            atomic_init(&rt->health, BACKEND_ONLINE);
            atomic_init(&rt->role, ROLE_REPLICA);
            atomic_init(&rt->config_role, ROLE_REPLICA);
            atomic_init(&rt->admin, BACKEND_ADMIN_NONE);
            atomic_init(&rt->lag_ms, -1);
            pthread_mutex_init(&rt->lock, NULL);
            rt->next = registry;
            registry = rt;
        }
    }
    pthread_mutex_unlock(&registry_lock);
    return rt;
}

hy_status_t backend_rt_attach(struct config *cfg)
{
    for (size_t i = 0; i < cfg->n_backends; i++) {
        struct config_backend *b = &cfg->backends[i];
        b->rt = backend_rt_get(b->name);
        if (b->rt == NULL)
            return HY_NOMEM;
        atomic_store(&b->rt->config_role, (int)b->role);
        /* Until the monitor has seen the server, the config says. */
        if (!atomic_load(&b->rt->role_seen) && backend_role(b->rt) != b->role) {
            atomic_store(&b->rt->role, (int)b->role);
            backend_generation_bump();
        }
    }
    group_views_attach(cfg);
    return global_pos_attach(cfg);
}

/* What the checks read of `rt` before it left the config, or before its
 * address changed: another server's, maybe. Forgotten, so that neither
 * show backends nor the in-flight proof (info.seen) take it for the new
 * one's; why it last changed state stays. The role stays too (the config's
 * could send writes to an old primary). A check in flight now stores
 * nothing when it ends (checks_gen). */
static void forget_checks(struct backend_rt *rt)
{
    pthread_mutex_lock(&rt->lock);
    rt->checks_gen++;
    atomic_store(&rt->unchecked, true);
    atomic_store(&rt->check_now, false); /* a worker's failure there, maybe */
    if (rt->info.last_check_time != 0) {
        char why[sizeof(rt->info.why)], failure[sizeof(rt->info.last_failure)];
        time_t why_time = rt->info.why_time;
        memcpy(why, rt->info.why, sizeof(why));
        memcpy(failure, rt->info.last_failure, sizeof(failure));
        memset(&rt->info, 0, sizeof(rt->info));
        memcpy(rt->info.why, why, sizeof(why));
        memcpy(rt->info.last_failure, failure, sizeof(failure));
        rt->info.why_time = why_time;
        atomic_store(&rt->ok_check_began_us, (int64_t)0);
    }
    pthread_mutex_unlock(&rt->lock);
}

/* Does `running` check b at the same address? */
static bool checked_at_same_address(const struct config *running, const struct config_backend *b)
{
    for (size_t j = 0; running != NULL && j < running->n_backends; j++) {
        const struct config_backend *o = &running->backends[j];
        if (o->rt == b->rt && o->port == b->port && strcmp(o->address, b->address) == 0 &&
            running->groups[o->group].monitor_user[0] != '\0')
            return true;
    }
    return false;
}

void backend_rt_mark_unchecked(struct config *fresh, const struct config *running)
{
    for (size_t i = 0; i < fresh->n_backends; i++) {
        struct config_backend *b = &fresh->backends[i];
        if (b->rt == NULL)
            continue;
        if (fresh->groups[b->group].monitor_user[0] != '\0' && !checked_at_same_address(running, b))
            forget_checks(b->rt);
        b->checks_gen = backend_checks_gen(b->rt);
    }
    group_views_attach(fresh); /* the groups' sessions hold their views' entries */
}

uint32_t backend_checks_gen(struct backend_rt *rt)
{
    pthread_mutex_lock(&rt->lock);
    uint32_t gen = rt->checks_gen;
    pthread_mutex_unlock(&rt->lock);
    return gen;
}

bool backend_checks_current(struct backend_rt *rt, uint32_t gen)
{
    return backend_checks_gen(rt) == gen;
}

bool backend_checks_store(struct backend_rt *rt, uint32_t gen,
                          void (*store)(struct backend_info *in, void *arg), void *arg)
{
    pthread_mutex_lock(&rt->lock);
    bool current = rt->checks_gen == gen;
    if (current)
        store(&rt->info, arg);
    pthread_mutex_unlock(&rt->lock);
    return current;
}

bool backend_checks_passed(struct backend_rt *rt, uint32_t gen)
{
    pthread_mutex_lock(&rt->lock);
    bool current = rt->checks_gen == gen;
    if (current)
        atomic_store(&rt->unchecked, false);
    pthread_mutex_unlock(&rt->lock);
    return current;
}

void backend_rt_free_all(void)
{
    pthread_mutex_lock(&registry_lock);
    while (registry != NULL) {
        struct backend_rt *rt = registry;
        registry = rt->next;
        pool_stats_free(rt);
        pthread_mutex_destroy(&rt->lock);
        free(rt->name);
        free(rt);
    }
    pthread_mutex_unlock(&registry_lock);
}

static int primary_index(const struct config *cfg, bool usable_only)
{
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct backend_rt *rt = cfg->backends[i].rt;
        if (rt == NULL) { /* a config not attached: the config decides */
            if (cfg->backends[i].role == ROLE_PRIMARY)
                return (int)i;
            continue;
        }
        if (backend_role(rt) == ROLE_PRIMARY && !atomic_load(&rt->fenced) &&
            (!usable_only || backend_usable(rt)))
            return (int)i;
    }
    return -1;
}

int backend_primary_index(const struct config *cfg)
{
    return primary_index(cfg, true);
}

bool backend_checked(const struct backend_rt *rt)
{
    return rt == NULL || !atomic_load(&rt->unchecked);
}

static bool usable_primary(const struct config_backend *be)
{
    const struct backend_rt *rt = be->rt;
    return rt != NULL && backend_role(rt) == ROLE_PRIMARY && !atomic_load(&rt->fenced) &&
           backend_usable(rt);
}

int backend_writer_index(const struct config *cfg, uint32_t spread, int current)
{
    if (current >= 0 && (size_t)current < cfg->n_backends &&
        usable_primary(&cfg->backends[current]))
        return current;
    uint32_t n = 0;
    for (size_t i = 0; i < cfg->n_backends; i++)
        n += usable_primary(&cfg->backends[i]);
    if (n == 0)
        return -1;
    uint32_t k = spread % n;
    for (size_t i = 0; i < cfg->n_backends; i++) {
        if (usable_primary(&cfg->backends[i]) && k-- == 0)
            return (int)i;
    }
    return -1;
}

size_t backend_reachable_count(const struct config *cfg)
{
    size_t up = 0;
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct backend_rt *rt = cfg->backends[i].rt;
        if (rt != NULL && backend_state(rt) != BACKEND_DOWN)
            up++;
    }
    return up;
}

int backend_primary_any_index(const struct config *cfg)
{
    return primary_index(cfg, false);
}

unsigned backend_default_lex(const struct config *cfg)
{
    int p = backend_primary_any_index(cfg);
    const struct backend_rt *rt = p >= 0 ? cfg->backends[p].rt : NULL;
    for (size_t i = 0; (rt == NULL || !atomic_load(&rt->global_lex_seen)) && i < cfg->n_backends;
         i++)
        rt = cfg->backends[i].rt;
    return rt != NULL && atomic_load(&rt->global_lex_seen) ? atomic_load(&rt->global_lex) : 0;
}

void backend_info_get(struct backend_rt *rt, struct backend_info *out)
{
    pthread_mutex_lock(&rt->lock);
    *out = rt->info;
    pthread_mutex_unlock(&rt->lock);
}

int64_t backend_default_idle_timeout(const struct config *cfg, bool interactive)
{
    int p = backend_primary_any_index(cfg);
    const struct backend_rt *rt = p >= 0 ? cfg->backends[p].rt : NULL;
    for (size_t i = 0; (rt == NULL || atomic_load(&rt->wait_timeout_s) == 0) && i < cfg->n_backends;
         i++)
        rt = cfg->backends[i].rt;
    if (rt == NULL)
        return 0;
    return atomic_load(interactive ? &rt->interactive_timeout_s : &rt->wait_timeout_s);
}

void backend_version_note(struct backend_rt *rt, const char *version)
{
    if (rt == NULL || version == NULL || version[0] == '\0')
        return;
    pthread_mutex_lock(&rt->lock);
    snprintf(rt->version, sizeof(rt->version), "%s", version);
    pthread_mutex_unlock(&rt->lock);
}

/* Backend i's greeting version into out[cap]; its length, 0 if not seen. */
static size_t version_of(const struct config *cfg, int i, char *out, size_t cap)
{
    struct backend_rt *rt = cfg->backends[i].rt;
    if (rt == NULL)
        return 0;
    pthread_mutex_lock(&rt->lock);
    int n = snprintf(out, cap, "%s", rt->version);
    pthread_mutex_unlock(&rt->lock);
    return n > 0 ? strlen(out) : 0;
}

size_t backend_greeting_version(const struct config *cfg, char *out, size_t cap)
{
    if (cfg->server_version != NULL && cfg->server_version[0] != '\0') {
        snprintf(out, cap, "%s", cfg->server_version);
        return strlen(out);
    }
    int p = backend_primary_any_index(cfg);
    size_t n = p >= 0 ? version_of(cfg, p, out, cap) : 0;
    for (size_t i = 0; n == 0 && i < cfg->n_backends; i++)
        n = version_of(cfg, (int)i, out, cap);
    if (n == 0) {
        snprintf(out, cap, "%s", BACKEND_VERSION_UNKNOWN);
        n = strlen(out);
    }
    return n;
}

static uint64_t relaxed(const _Atomic uint64_t *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

void backend_stats_get(const struct backend_rt *rt, struct backend_stats *out)
{
    *out = (struct backend_stats){0};
    for (int i = 0; i < BACKEND_STAT_SLOTS; i++) {
        const struct backend_stat_slot *s = &rt->slot[i];
        out->queries += relaxed(&s->queries);
        out->errors += relaxed(&s->errors);
        out->connect_failures += relaxed(&s->connect_failures);
        out->lat_sum_us += relaxed(&s->lat_sum_us);
        for (int b = 0; b < BACKEND_LAT_BUCKETS; b++)
            out->lat[b] += relaxed(&s->lat[b]);
    }
    out->outstanding = relaxed(&rt->outstanding);
    out->conns = relaxed(&rt->conns);
}

double backend_latency_quantile(const struct backend_stats *st, double q)
{
    return backend_hist_quantile(st->lat, q);
}

double backend_hist_quantile(const uint64_t lat[BACKEND_LAT_BUCKETS], double q)
{
    uint64_t total = 0;
    for (int b = 0; b < BACKEND_LAT_BUCKETS; b++)
        total += lat[b];
    if (total == 0)
        return 0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    double rank = q * (double)total;
    uint64_t below = 0;
    for (int b = 0; b < BACKEND_LAT_BOUNDS; b++) {
        if (lat[b] > 0 && (double)(below + lat[b]) >= rank) {
            double lo = b == 0 ? 0 : (double)backend_lat_bounds_us[b - 1];
            double hi = (double)backend_lat_bounds_us[b];
            return lo + (hi - lo) * ((rank - (double)below) / (double)lat[b]);
        }
        below += lat[b];
    }
    return (double)backend_lat_bounds_us[BACKEND_LAT_BOUNDS - 1];
}

bool backend_conn_acquire(struct backend_rt *rt, int max_connections)
{
    if (max_connections <= 0) {
        atomic_fetch_add_explicit(&rt->conns, 1, memory_order_relaxed);
        return true;
    }
    uint64_t n = atomic_load_explicit(&rt->conns, memory_order_relaxed);
    do {
        if (n >= (uint64_t)max_connections)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&rt->conns, &n, n + 1, memory_order_relaxed,
                                                    memory_order_relaxed));
    return true;
}

void backend_conn_release(struct backend_rt *rt)
{
    atomic_fetch_sub_explicit(&rt->conns, 1, memory_order_relaxed);
}

void backend_query_begin(struct backend_rt *rt)
{
    atomic_fetch_add_explicit(&rt->outstanding, 1, memory_order_relaxed);
}

int backend_lat_bucket(uint64_t usec)
{
    int b = 0;
    while (b < BACKEND_LAT_BOUNDS && usec > backend_lat_bounds_us[b])
        b++;
    return b;
}

void backend_query_end(struct backend_rt *rt, int worker, uint64_t usec, bool error)
{
    struct backend_stat_slot *s = &rt->slot[(unsigned)worker % BACKEND_STAT_SLOTS];
    atomic_fetch_sub_explicit(&rt->outstanding, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->queries, 1, memory_order_relaxed);
    if (error)
        atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->lat_sum_us, usec, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->lat[backend_lat_bucket(usec)], 1, memory_order_relaxed);
}

void backend_count_connect_failure(struct backend_rt *rt, int worker)
{
    struct backend_stat_slot *s = &rt->slot[(unsigned)worker % BACKEND_STAT_SLOTS];
    atomic_fetch_add_explicit(&s->connect_failures, 1, memory_order_relaxed);
}

void backend_set_report_hook(void (*fn)(struct backend_rt *rt, void *arg), void *arg)
{
    atomic_store(&report_hook_arg, arg);
    atomic_store(&report_hook, fn);
}

void backend_report_failure(struct backend_rt *rt, uint32_t gen, const char *why)
{
    atomic_fetch_add_explicit(&rt->passive_failures, 1, memory_order_relaxed);
    pthread_mutex_lock(&rt->lock);
    bool current = rt->checks_gen == gen;
    if (current) { /* under the lock: forget_checks clears check_now before or after */
        snprintf(rt->info.last_failure, sizeof(rt->info.last_failure), "%s", why);
        atomic_store(&rt->check_now, true);
    }
    pthread_mutex_unlock(&rt->lock);
    if (!current)
        return; /* the address a reload moved it from: not the new server's failure */
    void (*fn)(struct backend_rt *, void *) = atomic_load(&report_hook);
    if (fn != NULL)
        fn(rt, atomic_load(&report_hook_arg));
}

void backend_refuse_reads(struct backend_rt *rt, const char *why)
{
    int64_t zero = 0;
    if (atomic_compare_exchange_strong(&rt->reads_refused_us, &zero, (int64_t)(ev_time() * 1e6)))
        hy_log_warn("backend %s: refused a read (%s): no reads go to it until a check finds it "
                    "synced",
                    rt->name, why);
}

/* The state the backend shows: the admin override, else its health. */
static enum backend_state effective(enum backend_admin admin, enum backend_state health)
{
    switch (admin) {
    case BACKEND_ADMIN_DRAIN:
        return BACKEND_DRAINING;
    case BACKEND_ADMIN_MAINT:
        return BACKEND_MAINT;
    case BACKEND_ADMIN_NONE:
        break;
    }
    return health;
}

static void set_why(struct backend_rt *rt, const char *why)
{
    pthread_mutex_lock(&rt->lock);
    snprintf(rt->info.why, sizeof(rt->info.why), "%s", why);
    rt->info.why_time = time(NULL);
    pthread_mutex_unlock(&rt->lock);
}

/* The event a new state is (events.h): DOWN, LAGGING, back ONLINE, or
 * taken out of traffic by an operator (DRAINING, MAINT). */
static void emit_state(const char *name, enum backend_state old, enum backend_state st,
                       const char *why)
{
    enum event_type t;
    const char *action;
    switch (st) {
    case BACKEND_DOWN:
        t = EVENT_BACKEND_DOWN;
        action = "no new statements go to it";
        break;
    case BACKEND_LAGGING:
        t = EVENT_BACKEND_LAGGING;
        action = "reads go to the other replicas";
        break;
    case BACKEND_ONLINE:
        t = EVENT_BACKEND_UP;
        action = "it takes statements again";
        break;
    default:
        t = EVENT_BACKEND_DRAINED;
        action = "no new sessions use it";
        break;
    }
    events_emit(t, name, backend_state_to_str(old), backend_state_to_str(st), why, action);
}

/* Recompute the effective state; log and bump when it changed, and say
 * whether it did. What an operator asked for, and recoveries, are INFO;
 * the rest WARN. */
static bool apply_state(struct backend_rt *rt, const char *why, bool by_admin)
{
    enum backend_state health = (enum backend_state)atomic_load(&rt->health);
    enum backend_admin admin = (enum backend_admin)atomic_load(&rt->admin);
    enum backend_state st = effective(admin, health);
    enum backend_state old = (enum backend_state)atomic_exchange(&rt->state, (int)st);
    if (old == st)
        return false;
    set_why(rt, why);
    backend_generation_bump();
    audit_backend(AUDIT_BACKEND_STATE, rt->name, backend_state_to_str(old),
                  backend_state_to_str(st), why);
    emit_state(rt->name, old, st, why);
    if (st == BACKEND_ONLINE || by_admin)
        hy_log_info("backend %s: %s -> %s: %s", rt->name, backend_state_to_str(old),
                    backend_state_to_str(st), why);
    else
        hy_log_warn("backend %s: %s -> %s: %s", rt->name, backend_state_to_str(old),
                    backend_state_to_str(st), why);
    return true;
}

/* Whether a and b differ in more than their numbers ("lag 12.0 s" and
 * "lag 14.0 s" do not). */
static bool why_differs(const char *a, const char *b)
{
    for (;;) {
        while (isdigit((unsigned char)*a) || *a == '.')
            a++;
        while (isdigit((unsigned char)*b) || *b == '.')
            b++;
        if (*a != *b)
            return true;
        if (*a == '\0')
            return false;
        a++;
        b++;
    }
}

/* A backend that stays LAGGING for another reason (its lag, then a source
 * without log_slave_updates): info.why says the current one; why_time
 * stays when it went LAGGING. Logged when more than a number changed. */
static void lagging_why(struct backend_rt *rt, const char *why)
{
    if (why == NULL || why[0] == '\0' || backend_state(rt) != BACKEND_LAGGING)
        return;
    pthread_mutex_lock(&rt->lock);
    bool news = why_differs(rt->info.why, why);
    snprintf(rt->info.why, sizeof(rt->info.why), "%s", why);
    pthread_mutex_unlock(&rt->lock);
    if (news)
        hy_log_info("backend %s: still LAGGING: %s", rt->name, why);
}

void backend_set_health(struct backend_rt *rt, enum backend_state health, const char *why)
{
    enum backend_state old = (enum backend_state)atomic_exchange(&rt->health, (int)health);
    if (old == health) {
        if (health == BACKEND_LAGGING)
            lagging_why(rt, why);
        return;
    }
    if (backend_state(rt) != effective((enum backend_admin)atomic_load(&rt->admin), health)) {
        apply_state(rt, why, false);
        return;
    }
    /* Hidden by an admin override: remember it, the override still shows. */
    hy_log_info("backend %s: health %s -> %s (%s holds it %s): %s", rt->name,
                backend_state_to_str(old), backend_state_to_str(health),
                backend_admin_to_str((enum backend_admin)atomic_load(&rt->admin)),
                backend_state_to_str(backend_state(rt)), why);
}

void backend_mark_failover(struct backend_rt *rt)
{
    atomic_store(&rt->failover_at_us, (int64_t)(ev_time() * 1e6));
}

void backend_set_left_behind(struct backend_rt *rt, const char *why)
{
    atomic_store(&rt->left_behind_us, (int64_t)(ev_time() * 1e6));
    backend_set_health(rt, BACKEND_LAGGING, why);
}

void backend_set_cut_off(struct backend_rt *rt, bool on)
{
    atomic_store(&rt->cut_off_at_us, on ? (int64_t)(ev_time() * 1e6) : 0);
}

void backend_set_fenced(struct backend_rt *rt, bool fenced, const char *why)
{
    if (atomic_exchange(&rt->fenced, fenced) == fenced)
        return;
    backend_generation_bump();
    audit_backend(AUDIT_BACKEND_FENCED, rt->name, fenced ? "no" : "yes", fenced ? "yes" : "no",
                  why);
    events_emit(fenced ? EVENT_FENCED : EVENT_REJOINED, rt->name, fenced ? "unfenced" : "fenced",
                fenced ? "fenced" : "unfenced", why,
                fenced ? "never taken for the primary until it replicates again"
                       : "it may be taken for the primary again");
    hy_log_warn("backend %s: %s: %s", rt->name,
                fenced ? "fenced: never the primary until it replicates again" : "no longer fenced",
                why);
}

void backend_set_role(struct backend_rt *rt, enum backend_role role, const char *why)
{
    atomic_store(&rt->role_seen, true);
    enum backend_role old = (enum backend_role)atomic_exchange(&rt->role, (int)role);
    if (old == role)
        return;
    set_why(rt, why);
    backend_generation_bump();
    audit_backend(AUDIT_BACKEND_ROLE, rt->name, backend_role_to_str(old), backend_role_to_str(role),
                  why);
    hy_log_warn("backend %s: role %s -> %s: %s", rt->name, backend_role_to_str(old),
                backend_role_to_str(role), why);
}

hy_status_t backend_set_admin(const struct config *cfg, const char *name, enum backend_admin mode,
                              char *err, size_t errlen)
{
    struct backend_rt *rt = NULL;
    for (size_t i = 0; i < cfg->n_backends && rt == NULL; i++) {
        if (strcmp(cfg->backends[i].name, name) == 0)
            rt = cfg->backends[i].rt;
    }
    if (rt == NULL) {
        snprintf(err, errlen, "no backend named '%s' in the running config", name);
        return HY_ERROR;
    }
    if (mode == BACKEND_ADMIN_DRAIN) /* not known to be idle until a check says so */
        atomic_store(&rt->drain_busy, (int64_t)-1);
    enum backend_admin old = (enum backend_admin)atomic_exchange(&rt->admin, (int)mode);
    char why[96];
    if (mode == BACKEND_ADMIN_NONE)
        snprintf(why, sizeof(why), "admin: online (was %s)", backend_admin_to_str(old));
    else
        snprintf(why, sizeof(why), "admin: %s", backend_admin_to_str(mode));
    if (!apply_state(rt, why, true))
        hy_log_info("backend %s: %s (state stays %s)", rt->name, why,
                    backend_state_to_str(backend_state(rt)));
    return HY_OK;
}

/* Why a replica whose check `chk` found it behind is LAGGING. */
static void lag_why(const struct backend_policy *p, const struct backend_check *chk, char *why,
                    size_t whylen)
{
    if (chk->stale)
        snprintf(why, whylen, "%s",
                 chk->why != NULL ? chk->why : "not replicating from the cluster");
    else if (chk->orphan && p->orphans_refused)
        snprintf(why, whylen, "its primary is unreachable (partition_reads = refuse)");
    else if (chk->orphan)
        snprintf(why, whylen,
                 "its primary unreachable: data %.1f s old, over max_replication_lag "
                 "%lld s",
                 (double)chk->lag_ms / 1000.0, (long long)(p->max_lag_ms / 1000));
    else if (chk->repl_broken)
        snprintf(why, whylen, "replication broken");
    else if (chk->lag_ms < 0)
        snprintf(why, whylen, "lag unknown with max_replication_lag %lld s",
                 (long long)(p->max_lag_ms / 1000));
    else
        snprintf(why, whylen, "lag %.1f s over max_replication_lag %lld s",
                 (double)chk->lag_ms / 1000.0, (long long)(p->max_lag_ms / 1000));
}

enum backend_state backend_track_feed(struct backend_track *t, const struct backend_policy *p,
                                      const struct backend_check *chk, char *why, size_t whylen)
{
    enum backend_state old = t->health;
    int rise = p->rise > 0 ? p->rise : 1;
    int fall = p->fall > 0 ? p->fall : 1;
    if (!chk->ok) {
        t->good = 0;
        t->lag_good = 0;
        t->bad++;
        if (old != BACKEND_DOWN && t->bad >= fall) {
            t->health = BACKEND_DOWN;
            snprintf(why, whylen, "%d failed check%s", t->bad, t->bad == 1 ? "" : "s");
        }
        return t->health;
    }
    t->bad = 0;
    t->good++;
    /* Lag counts only for a replica and only with a limit. A broken
     * replication is lag without bound. */
    bool limited = chk->is_replica && p->max_lag_ms > 0;
    bool lag_over =
        chk->stale || (chk->orphan && p->orphans_refused) ||
        (limited && (chk->repl_broken || chk->lag_ms < 0 || chk->lag_ms > p->max_lag_ms));
    if (lag_over)
        t->lag_good = 0;
    else
        t->lag_good++;
    switch (old) {
    case BACKEND_ONLINE:
        if (lag_over) {
            t->health = BACKEND_LAGGING;
            lag_why(p, chk, why, whylen);
        }
        break;
    case BACKEND_DOWN:
        if (t->good >= rise) {
            t->health = lag_over ? BACKEND_LAGGING : BACKEND_ONLINE;
            if (lag_over)
                snprintf(why, whylen, "%d good checks, but %s", t->good,
                         chk->stale
                             ? (chk->why != NULL ? chk->why : "not replicating from the cluster")
                         : chk->orphan      ? "its primary is unreachable"
                         : chk->repl_broken ? "replication broken"
                                            : "lag over max_replication_lag");
            else
                snprintf(why, whylen, "%d good checks", t->good);
        }
        break;
    case BACKEND_LAGGING:
        if (lag_over)
            lag_why(p, chk, why, whylen); /* it stays LAGGING: for what now */
        if (t->lag_good >= rise) {
            t->health = BACKEND_ONLINE;
            if (chk->lag_ms >= 0 && limited)
                snprintf(why, whylen, "%d checks with lag under max_replication_lag (%.1f s)",
                         t->lag_good, (double)chk->lag_ms / 1000.0);
            else
                snprintf(why, whylen, "%d checks with lag under max_replication_lag", t->lag_good);
        }
        break;
    default:
        t->health = BACKEND_ONLINE;
        break;
    }
    return t->health;
}
