/*
 * pool_stats.h: what the pools did per backend and user, over every worker
 * (halyardctl show pools, the metrics).
 *
 * One entry per user of a backend, on its backend_rt (so a reload keeps
 * the figures), made the first time the user needs a connection there and
 * kept for the process's life; at most POOL_STATS_USERS per backend, the
 * users past that counted under "*". Workers add with relaxed atomics;
 * readers walk the list as it is.
 */
#ifndef HALYARD_POOL_STATS_H
#define HALYARD_POOL_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "halyard/cluster/backend.h"

#define POOL_STATS_USERS 256

struct pool_user_stats {
    struct pool_user_stats *_Atomic next;
    char user[96];
    _Atomic uint64_t opened;      /* connections opened (connecting included) */
    _Atomic uint64_t closed;      /* connections closed, held or idle */
    _Atomic uint64_t restores;    /* taken after another session: brought to the taker's state */
    _Atomic uint64_t resets;      /* COM_RESET_CONNECTION and COM_CHANGE_USER of its sessions */
    _Atomic uint64_t waiting;     /* statements waiting now for a connection at max_connections */
    _Atomic uint64_t waits;       /* ... waits ended (a connection, or 1040) */
    _Atomic uint64_t wait_sum_us; /* their total time */
    _Atomic uint64_t wait_lat[BACKEND_LAT_BUCKETS];
};

/* The entry of `user` on `rt`; NULL only when out of memory. Any thread. */
struct pool_user_stats *pool_stats_user(struct backend_rt *rt, const char *user);

static inline void pool_stats_add(_Atomic uint64_t *counter, int64_t n)
{
    atomic_fetch_add_explicit(counter, (uint64_t)n, memory_order_relaxed);
}

/* Add 1 to the counter at `counter_offset` (POOL_STATS_COUNT's field) of
 * `user` on `rt`; nothing when either is NULL or out of memory. */
void pool_stats_count(struct backend_rt *rt, const char *user, size_t counter_offset);
#define POOL_STATS_COUNT(rt, user, field)                                                          \
    pool_stats_count(rt, user, offsetof(struct pool_user_stats, field))

/* A wait of `seconds` ended. */
void pool_stats_wait_done(struct pool_user_stats *u, double seconds);

/* One entry's figures, read. */
struct pool_user_figures {
    const char *backend; /* pool_stats_snapshot: the backend's name in its config */
    char user[96];
    uint64_t opened, closed, restores, resets, waiting, waits, wait_sum_us;
    uint64_t wait_lat[BACKEND_LAT_BUCKETS];
};
void pool_stats_read(const struct pool_user_stats *u, struct pool_user_figures *out);

struct config;
/* Every entry of every backend of `cfg`, read, in config order: a heap
 * array for the caller to free (NULL when there is none or out of
 * memory), its length in *n. */
struct pool_user_figures *pool_stats_snapshot(const struct config *cfg, size_t *n);

/* backend_rt_free_all: the entries of `rt`. */
void pool_stats_free(struct backend_rt *rt);

#endif /* HALYARD_POOL_STATS_H */
