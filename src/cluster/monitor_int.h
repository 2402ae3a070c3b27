/*
 * monitor_int.h: what the monitor thread's files share (monitor.c runs
 * the checks; monitor_roles.c judges roles and health from them). Not for
 * other modules: they read backend_rt (backend.h).
 */
#ifndef HALYARD_MONITOR_INT_H
#define HALYARD_MONITOR_INT_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "halyard/cluster/backend.h"
#include "halyard/config/config.h"
#include "halyard/cluster/galera.h"
#include "halyard/cluster/monitor.h"
#include "halyard/core/srvstatus.h"

/* What the monitor last saw of one backend: the monitor thread's own;
 * other threads read backend_rt (backend.h). */
struct monitor_backend {
    const struct config_backend *be; /* in m->cfg */
    struct backend_rt *rt;
    int index; /* in m->cfg->backends */

    bool seen;            /* a check has completed */
    bool ok;              /* the last check succeeded */
    char error[200];      /* why it failed */
    bool refused;         /* it failed with the connection refused or reset: the host answers,
                           * no server listens (dualmaster.h) */
    double checked_at;    /* ev_now() of the monitor loop when the last check ended */
    double check_started; /* ... and when it started (failover: is it older than a promotion?) */
    uint64_t gpos_at;     /* the group's commits (global_pos_need) when VARS_SQL was sent */
    double down_since;    /* ev_now() of the first failed check of the current streak; 0 = none */
    double last_ok;       /* ev_now() of the last good check; 0 = none */

    /* from the last good check */
    bool read_only;
    uint32_t server_id;
    char gtid_current[1400];
    char gtid_binlog[1400];
    char gtid_binlog_state[1400];
    bool semisync_replica; /* Rpl_semi_sync_slave_status = ON */
    bool semisync_primary; /* Rpl_semi_sync_master_status = ON, wait point AFTER_SYNC */
    unsigned proof_have;   /* PROOF_* (proof.h): the settings resolve_in_flight_writes needs */
    bool proof_warned;     /* ... and their lack was logged under this config */
    struct monitor_repl repl;
    int source;               /* index of the backend it replicates from; -1 = none of ours */
    bool writable_outside;    /* writable and not replicating from the cluster, not the primary */
    struct galera_node wsrep; /* cluster = galera: its wsrep state at the last good check */
    struct galera_node wsrep_next; /* ... being read by the check in flight, mb->wsrep when
                                    * it is done (check_done) */
    struct galera_verdict verdict; /* ... and what galera_decide() made of it */
    /* The pick for primary, its role left to this halyard's failover under
     * way (monitor_roles.c): not judged as a replica meanwhile. */
    bool role_held;

    /* internal: the check in flight and the health count */
    struct backend_track track;
    struct sqlclient *sc;
    struct monitor *m;
    int step;
    bool fresh;           /* the connection was opened by this check */
    bool checking;        /* a check is in flight */
    bool in_round;        /* ... and it belongs to the current round */
    bool passive_counted; /* a worker's report was counted since the last check */
    double deadline;
    double ping_sent;      /* ev_time() when STEP_PING went out ... */
    bool ping_counts;      /* ... with the backend in traffic (no drain or maint): rtt_note */
    double started;        /* ev_time() when the check began */
    uint32_t checks_gen;   /* its config's be->checks_gen then: the check counts only while
                            * still current (backend_checks_current) */
    bool told_moved;       /* a check at the address a reload moved it from was logged */
    double handover_since; /* cluster = galera: ev_now() when it, the writer and still
                            * Synced, was first to give the role to a node before it
                            * (a failback); 0 = it is not (monitor_roles.c) */
    double orphan_since;   /* ev_now() when its primary was first seen unreachable; 0 = it is not */
    int64_t lag_ms;        /* its lag at the last check while it replicated, -1 = unknown */
    double vars_sent;      /* ev_time() when its GTID positions were asked for ... */
    double vars_at;        /* ... and when they came (0 = never) */
    bool ahead;            /* a replica past its source's binary log (gtid_pos_ahead) ... */
    char ahead_why[320];   /* ... how ... */
    long long uptime;      /* the server's Uptime at the last check: a restart makes it smaller */
    bool lost_own;         /* dual-master standby lacking its own transactions (dual_lost_check) */
    char lost_why[240];
    uint64_t checks_ok;            /* good checks so far: every status_every-th reads the load */
    struct srv_status status;      /* the last reading of its load ... */
    struct srv_status status_next; /* ... and the one being read */
    double status_at;              /* ... and when (ev_now); 0 = none */
    bool connections_high;         /* monitor.connections_warn_pct reached (srv_threshold) */
    bool disk_high;                /* monitor.disk_warn_pct reached */
    bool binlog_high;              /* monitor.binlog_warn_mb reached */
    bool no_disks;   /* information_schema.DISKS failed on this connection: not asked again on it */
    bool no_binlogs; /* SHOW BINARY LOGS failed on this connection: likewise */
    bool told_disks, told_binlogs; /* why either is not read was logged (once per backend) */
    ev_timer recheck;
};

/* A group's rounds (group.h): its backends are checked every
 * interval_ms of the group's, on a timer of its own. */
struct monitor_round {
    struct monitor *m;
    size_t g; /* index in m->cfg->groups */
    ev_timer timer;
    uint64_t id;
    int pending; /* checks of the current round still running */
};

struct monitor {
    pthread_t thread;
    bool started;
    struct ev_loop *loop;
    ev_async wake;
    struct config *cfg;
    _Atomic(struct config *) pending; /* published by the main thread */
    atomic_bool stop;

    struct monitor_backend **mb;
    size_t n;
    struct monitor_round *rounds; /* one per group of m->cfg */
    size_t n_rounds;

    monitor_hook_fn hook;
    void *hook_arg;
    atomic_int unchecked; /* checked backends of the first config whose first check
                             has not ended (monitor_wait_first) */

    struct users_loader *users;  /* the servers' accounts, read on this loop */
    struct shard_loader *shards; /* the groups' schemas (shards.learn), read on this loop */
};

static inline const struct config_group *grp_of(const struct monitor_backend *mb)
{
    return &mb->m->cfg->groups[mb->be->group];
}

static inline bool galera(const struct monitor_backend *mb)
{
    return grp_of(mb)->cluster == CLUSTER_GALERA;
}

static inline bool dual_master(const struct monitor_backend *mb)
{
    return grp_of(mb)->cluster == CLUSTER_DUAL_MASTER;
}

/* ---- monitor_roles.c: roles and health, from what the checks saw ---------- */

/* Which backend of the config a replica's source is (-1: none of ours). */
int monitor_find_source(const struct monitor *m, const struct monitor_repl *r);

/* Each group's primary (replication, dual-master) from the last checks;
 * true when a role changed. */
bool monitor_update_roles(struct monitor *m);

/* Each Galera group's writers and readers (galera_decide); true when
 * something changed. */
bool monitor_update_galera(struct monitor *m);

/* A Galera node's health from its verdict; true when it changed. */
bool monitor_galera_health(struct monitor_backend *mb, const char *track_why);

/* Fold a check (or a worker's report) into mb's health; true when its
 * state changed. */
bool monitor_feed(struct monitor_backend *mb, bool ok, const char *error);

/* `src` was just read: judge the replicas read before it (past its binary
 * log; a dual-master standby lacking transactions of its own). */
void monitor_ahead_check(struct monitor_backend *src);

#endif /* HALYARD_MONITOR_INT_H */
