/*
 * stats.h: the data path's counters, kept apart from status.h so that the
 * worker and the session can count without knowing the admin side.
 *
 * - struct worker_stats: one per worker, written only by that worker
 *   (stat_inc), read and summed by anyone (status.h).
 * - struct listener_stats: one per listener name, written by every worker.
 * - stats_sessions_open: client sessions open now, over every worker.
 */
#ifndef HALYARD_STATS_H
#define HALYARD_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "halyard/core/core.h"

/* A client statement's class, as its route was decided (session_route.c):
 * a read, a write (it changes data: CL_WRITE, a sequence's NEXTVAL), or
 * neither (SET, BEGIN, COMMIT, USE, PREPARE, PING..., and a statement
 * halyard did not classify: one backend, session pooling, cache off). */
enum stmt_class { STMT_OTHER, STMT_READ, STMT_WRITE, STMT_CLASSES };

/* Counters of one worker. Only that worker writes them, with stat_inc();
 * any thread may read them with stat_get() and sum the workers' values
 * (status_sum_stats). Relaxed atomics: one writer per counter, so an
 * increment is a plain load and store (no locked instruction), and a reader
 * never sees a torn value. Readers get each counter's recent value, not a
 * snapshot consistent across counters. */
struct worker_stats {
    _Atomic uint64_t sessions_accepted;
    _Atomic uint64_t commands;
    _Atomic uint64_t auth_failures;
    _Atomic uint64_t backend_connect_failures;
    /* the worker's pool of backend connections (pool.h) */
    _Atomic uint64_t pool_idle;           /* a gauge: idle in the pool now */
    _Atomic uint64_t pool_taken;          /* statements that took a pooled connection */
    _Atomic uint64_t pool_taken_own;      /* ... the one their session gave back last */
    _Atomic uint64_t pool_returned;       /* connections given back between statements */
    _Atomic uint64_t pool_closed_idle;    /* idle past pool_idle_timeout_ms */
    _Atomic uint64_t pool_closed_age;     /* older than pool_max_age_ms */
    _Atomic uint64_t pool_closed_spoke;   /* the server closed an idle one (wait_timeout, KILL) */
    _Atomic uint64_t pool_stmt_cached;    /* executions that found their statement prepared there */
    _Atomic uint64_t pool_stmt_evicted;   /* statements a pooled connection's cache closed */
    _Atomic uint64_t pool_restore_resets; /* restores by COM_RESET_CONNECTION (session_state.c) */
    _Atomic uint64_t statements_retried;  /* reads run again after their server died */
    _Atomic uint64_t transactions_replayed;   /* open transactions run again on a new primary */
    _Atomic uint64_t replays_failed_mismatch; /* ... whose answers differed: 1213 */
    _Atomic uint64_t replays_failed_timeout;  /* ... with no new primary in time: 1927 */
    _Atomic uint64_t replays_refused;         /* lost transactions that were not replayable */
    /* resolve_in_flight_writes: an autocommit write or a COMMIT in flight
     * when the primary died (session_inflight.c) */
    _Atomic uint64_t inflight_committed;   /* found committed: OK */
    _Atomic uint64_t inflight_rerun;       /* not committed: run once on the new primary */
    _Atomic uint64_t inflight_rolled_back; /* a COMMIT not committed, not replayable: 1213 */
    _Atomic uint64_t inflight_unknown;     /* not known: 1180 */
    /* Galera: a new writer made to apply the cluster's commits before a
     * statement (session_writer_sync), and those it did not in time: 1429 */
    _Atomic uint64_t writer_catchups;
    _Atomic uint64_t writer_catchups_refused;
    /* The worker's memo of classifications (classify_memo.h): texts it
     * answered, texts it was asked and classified, and shapes it kept */
    _Atomic uint64_t classify_memo_hits;
    _Atomic uint64_t classify_memo_misses;
    _Atomic uint64_t classify_memo_stores;
    /* Client commands sent to a backend, by enum stmt_class (the status
     * page's chart, web.h; not in stat_fields[]) */
    _Atomic uint64_t statements[STMT_CLASSES];
};

/* From the owning worker's thread only. */
static inline void stat_inc(_Atomic uint64_t *counter)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* From the owning worker's thread only: a gauge. */
static inline void stat_set(_Atomic uint64_t *counter, uint64_t v)
{
    atomic_store_explicit(counter, v, memory_order_relaxed);
}

/* From any thread. */
static inline uint64_t stat_get(_Atomic uint64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

/* Client connections per listener name, for the metrics. One entry per
 * name ever configured, created by the main thread (stats_listener_add,
 * at start and at each reload) and never freed before exit, so a worker
 * may keep a pointer for a session's life. Counters are relaxed atomic
 * adds: several workers write them. */
struct listener_stats {
    struct listener_stats *next;
    char *name;
    _Atomic uint64_t accepted;      /* client connections accepted */
    _Atomic uint64_t open;          /* client sessions open now */
    _Atomic uint64_t auth_failures; /* logins refused */
};

/* Main thread: make sure listener `name` has its entry. */
hy_status_t stats_listener_add(const char *name) HY_MUSTCHECK;
/* Any thread: the entry of `name`, NULL if none. */
struct listener_stats *stats_listener(const char *name);
/* Any thread: the first entry (then ->next). */
struct listener_stats *stats_listeners(void);
void stats_listeners_free(void); /* at exit */

/* Schema shards per group name (shard.h, `show shards`), kept like the
 * listeners' entries: one per group name ever configured, never freed
 * before exit. Relaxed atomic adds from every worker. */
struct group_stats {
    struct group_stats *next;
    char *name;
    _Atomic uint64_t moves_in;   /* sessions of shards listeners that moved to the group */
    _Atomic uint64_t refused;    /* statements for the group refused (shard_verdict) */
    _Atomic uint64_t key_routed; /* statements routed to the group by a sharded table's key */
    _Atomic uint64_t scatters;   /* statements it ran as a part of a fan-out to every group */
};

/* Main thread: make sure group `name` has its entry. */
hy_status_t stats_group_add(const char *name) HY_MUSTCHECK;
/* Any thread: the entry of `name`, NULL if none. */
struct group_stats *stats_group(const char *name);
/* Any thread: the first entry (then ->next). */
struct group_stats *stats_groups(void);
void stats_groups_free(void); /* at exit */

/* Client sessions open now, over every worker (max_client_connections).
 * Relaxed atomic adds from every worker. */
extern atomic_uint stats_sessions_open;

/* Transactions across groups (session_xa.c) committed and rolled back,
 * over every worker. */
extern _Atomic uint64_t stats_xa_commits, stats_xa_rollbacks;

#endif /* HALYARD_STATS_H */
