/*
 * pool_stats.c: see pool_stats.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/config/config.h"
#include "halyard/cluster/pool_stats.h"

static struct pool_user_stats *find(struct backend_rt *rt, const char *user, size_t *n)
{
    *n = 0;
    for (struct pool_user_stats *u = atomic_load_explicit(&rt->pool_users, memory_order_acquire);
         u != NULL; u = atomic_load_explicit(&u->next, memory_order_acquire), (*n)++) {
        if (strcmp(u->user, user) == 0)
            return u;
    }
    return NULL;
}

struct pool_user_stats *pool_stats_user(struct backend_rt *rt, const char *user)
{
    size_t n;
    struct pool_user_stats *u = find(rt, user, &n);
    if (u != NULL)
        return u;
    pthread_mutex_lock(&rt->lock);
    if ((u = find(rt, user, &n)) == NULL && n >= POOL_STATS_USERS)
        u = find(rt, "*", &n);
    if (u == NULL && (u = calloc(1, sizeof(*u))) != NULL) {
        snprintf(u->user, sizeof(u->user), "%s", n >= POOL_STATS_USERS ? "*" : user);
        /* appended at the head: readers see a whole entry or none */
        atomic_store_explicit(&u->next, atomic_load_explicit(&rt->pool_users, memory_order_relaxed),
                              memory_order_relaxed);
        atomic_store_explicit(&rt->pool_users, u, memory_order_release);
    }
    pthread_mutex_unlock(&rt->lock);
    return u;
}

void pool_stats_count(struct backend_rt *rt, const char *user, size_t counter_offset)
{
    struct pool_user_stats *u = rt != NULL && user != NULL ? pool_stats_user(rt, user) : NULL;
    if (u != NULL)
        pool_stats_add((_Atomic uint64_t *)((char *)u + counter_offset), 1);
}

void pool_stats_wait_done(struct pool_user_stats *u, double seconds)
{
    uint64_t us = seconds > 0 ? (uint64_t)(seconds * 1e6) : 0;
    pool_stats_add(&u->waits, 1);
    pool_stats_add(&u->wait_sum_us, (int64_t)us);
    pool_stats_add(&u->wait_lat[backend_lat_bucket(us)], 1);
}

static uint64_t relaxed(const _Atomic uint64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

void pool_stats_read(const struct pool_user_stats *u, struct pool_user_figures *out)
{
    snprintf(out->user, sizeof(out->user), "%s", u->user);
    out->opened = relaxed(&u->opened);
    out->closed = relaxed(&u->closed);
    out->restores = relaxed(&u->restores);
    out->resets = relaxed(&u->resets);
    out->waiting = relaxed(&u->waiting);
    out->waits = relaxed(&u->waits);
    out->wait_sum_us = relaxed(&u->wait_sum_us);
    for (int b = 0; b < BACKEND_LAT_BUCKETS; b++)
        out->wait_lat[b] = relaxed(&u->wait_lat[b]);
}

static const struct pool_user_stats *first(const struct config_backend *be)
{
    return be->rt != NULL ? atomic_load_explicit(&be->rt->pool_users, memory_order_acquire) : NULL;
}

static const struct pool_user_stats *next(const struct pool_user_stats *u)
{
    return atomic_load_explicit(&u->next, memory_order_acquire);
}

struct pool_user_figures *pool_stats_snapshot(const struct config *cfg, size_t *n)
{
    size_t count = 0;
    for (size_t b = 0; b < cfg->n_backends; b++)
        for (const struct pool_user_stats *u = first(&cfg->backends[b]); u != NULL; u = next(u))
            count++;
    *n = 0;
    struct pool_user_figures *f = count > 0 ? calloc(count, sizeof(*f)) : NULL;
    if (f == NULL)
        return NULL;
    /* entries added since the count are left for the next snapshot */
    for (size_t b = 0; b < cfg->n_backends; b++) {
        for (const struct pool_user_stats *u = first(&cfg->backends[b]); u != NULL && *n < count;
             u = next(u)) {
            pool_stats_read(u, &f[*n]);
            f[(*n)++].backend = cfg->backends[b].name;
        }
    }
    return f;
}

void pool_stats_free(struct backend_rt *rt)
{
    struct pool_user_stats *u = atomic_load_explicit(&rt->pool_users, memory_order_acquire);
    while (u != NULL) {
        struct pool_user_stats *next = atomic_load_explicit(&u->next, memory_order_relaxed);
        free(u);
        u = next;
    }
    atomic_store_explicit(&rt->pool_users, NULL, memory_order_relaxed);
}
