/*
 * backend.h: what halyard knows about each backend at run time.
 *
 * A config (config.h) says which servers exist; this module holds what
 * happens to them: their health state, the role the servers report, the
 * replication lag, the admin override, and the traffic counters. One
 * struct backend_rt exists per backend NAME for the life of the process,
 * so a SIGHUP reload that keeps a backend keeps its state and counters
 * (a reload that removes one leaves its entry, unused). backend_rt_attach()
 * points each struct config_backend's `rt` at its entry when a config is
 * loaded for running (main.c does it before publishing the config).
 *
 * Who writes what:
 *   - the monitor thread (monitor.c): state, health, role, lag, the locked
 *     `info` part (GTID positions, replication source, last check);
 *   - the admin socket (main thread): the admin override (backend_set_admin);
 *   - the workers: the traffic counters and the passive failure reports
 *     (backend_report_failure).
 * Everything a worker reads on its data path (state, role, outstanding,
 * open connections) is an atomic read lock-free; the `info` part is behind
 * a mutex and is for the monitor, the admin socket, metrics and failover.
 *
 * States (enum backend_state), as `show backends` shows them:
 *   ONLINE    healthy: takes new statements
 *   DOWN      failed `fall` checks in a row (or a failure a worker saw,
 *             confirmed by a check); back after `rise` good checks
 *   LAGGING   a replica whose lag is over max_replication_lag, or whose
 *             replication is broken; back after `rise` checks under it
 *   DRAINING  admin `backend NAME drain`: no new statements, open
 *             transactions finish
 *   MAINT     admin `backend NAME maint`: no statements at all
 * The admin override wins over health: a drained backend shows DRAINING
 * whatever its health, and `backend NAME online` gives it back its health
 * state (`health`, which the monitor keeps tracking meanwhile).
 *
 * Only ONLINE backends take new statements (backend_usable()).
 */
#ifndef HALYARD_BACKEND_H
#define HALYARD_BACKEND_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "halyard/config/config.h"
#include "halyard/core/core.h"
#include "halyard/core/srvstatus.h"
#include "halyard/protocol/mysql_client.h"

enum backend_state {
    BACKEND_ONLINE = 0,
    BACKEND_DOWN,
    BACKEND_LAGGING,
    BACKEND_DRAINING,
    BACKEND_MAINT,
    BACKEND__STATES
};

/* "ONLINE", "DOWN", ... */
const char *backend_state_to_str(enum backend_state st);

enum backend_admin {
    BACKEND_ADMIN_NONE = 0, /* health decides */
    BACKEND_ADMIN_DRAIN,
    BACKEND_ADMIN_MAINT,
};

/* "none", "drain", "maint" */
const char *backend_admin_to_str(enum backend_admin mode);

/* Latency histogram: upper bounds in microseconds (1-2.5-5 steps from
 * 100 us to 10 s), plus a last bucket for everything slower (+Inf). The
 * same buckets feed p50/p99 (backend_latency_quantile) and the Prometheus
 * histogram. */
#define BACKEND_LAT_BOUNDS  16
#define BACKEND_LAT_BUCKETS (BACKEND_LAT_BOUNDS + 1)
extern const uint64_t backend_lat_bounds_us[BACKEND_LAT_BOUNDS];

/* Counters are striped: a worker writes the slot of its id modulo
 * BACKEND_STAT_SLOTS with relaxed atomic adds, readers sum the slots. */
#define BACKEND_STAT_SLOTS 8

#define BACKEND_SEEN       8 /* entries of good checks a backend_info keeps (backend_seen) */
#define BACKEND_SEEN_EXACT 5 /* ... the newest of them one check each, the older folded */

struct backend_stat_slot {
    _Atomic uint64_t queries;          /* statements that completed (answered or failed) */
    _Atomic uint64_t errors;           /* statements answered with ERR or lost */
    _Atomic uint64_t connect_failures; /* connections that could not be opened or logged into */
    _Atomic uint64_t lat_sum_us;       /* sum of the latencies of `queries` */
    _Atomic uint64_t lat[BACKEND_LAT_BUCKETS];
} __attribute__((aligned(64)));

/* The part behind the mutex: written by the monitor, read by whoever
 * reports (copy it out with backend_info_get). Strings are always
 * NUL-terminated, "" when unknown. */
struct backend_info {
    char gtid_current[256]; /* @@gtid_current_pos */
    char gtid_binlog[256];  /* @@gtid_binlog_pos */
    uint32_t server_id;     /* @@server_id; 0 = not seen yet */
    bool read_only;         /* @@read_only */
    bool replicating;       /* SHOW ALL SLAVES STATUS had a row */
    char source_host[256];  /* its Master_Host ... */
    int source_port;        /* ... and Master_Port */
    bool io_running;        /* Slave_IO_Running = Yes */
    bool sql_running;       /* Slave_SQL_Running = Yes */
    unsigned sql_errno;     /* Last_SQL_Errno: the SQL thread stopped on this error; 0 = none */
    unsigned io_errno;      /* Last_IO_Errno: the IO thread's last error; 0 = none */
    char last_check[160];   /* "ok", "connect: Connection refused", ... */
    bool refused;           /* the last check failed with the connection refused or reset */
    double last_check_time; /* wall clock in seconds (hy_now_s); 0 = never checked */
    char why[200];          /* reason of the last state or role change */
    time_t why_time;        /* when it changed; 0 = never */
    char last_failure[160]; /* the last passive failure a worker reported */
    /* the server's own load (srvstatus.h), every monitor.status_every rounds */
    struct srv_status status;
    struct srv_rates rates;
    time_t status_time; /* wall clock of the last reading; 0 = never */
    /* the last good checks, newest first: ev_time() once each answer had
     * come (0 = none), with what it read (resolve_in_flight_writes). Past
     * the newest BACKEND_SEEN_EXACT, an entry may hold several checks in a
     * row (`checks`): the oldest one's time and position, and a setting or
     * state only if every one of them found it (monitor.c, seen_push), so
     * that a write in flight for longer than a few checks still has one
     * from before it, seen no better than it was */
    struct backend_seen {
        double at;
        unsigned checks;       /* how many checks this entry holds */
        char gtid_binlog[256]; /* @@gtid_binlog_pos */
        bool semisync_replica; /* Rpl_semi_sync_slave_status ON */
        bool semisync_primary; /* Rpl_semi_sync_master_status ON, wait point AFTER_SYNC */
        unsigned proof_have;   /* PROOF_* (proof.h): log_bin, log_slave_updates... ON */
        bool galera_member;    /* cluster = galera: Synced, in a Primary component */
        char galera_self[128]; /* cluster = galera: its entry of wsrep_incoming_addresses */
    } seen[BACKEND_SEEN];
    /* seen[].at of the first check that found @@global.completion_type
     * NO_CHAIN, as has every check since; 0 when the last did not (a
     * connection inherits it at login: session_inflight.c) */
    double no_chain_since;
};

struct backend_rt {
    struct backend_rt *next; /* the registry */
    char *name;

    /* Lock-free part. Written with atomic stores; read with backend_*()
     * below or atomic loads. */
    _Atomic int state;           /* enum backend_state: effective, admin override applied */
    _Atomic int health;          /* enum backend_state: ONLINE, DOWN or LAGGING, from the checks */
    _Atomic int role;            /* enum backend_role: observed, else the config's */
    _Atomic bool role_seen;      /* the monitor has seen the server (role is observed) */
    _Atomic int config_role;     /* enum backend_role of the running config */
    _Atomic int admin;           /* enum backend_admin */
    _Atomic int64_t lag_ms;      /* replica lag, -1 = unknown (or not a replica) */
    _Atomic bool repl_broken;    /* a replica whose IO or SQL thread stopped */
    _Atomic unsigned global_lex; /* classify's CLO_* of its @@global.sql_mode, from the checks */
    _Atomic bool global_lex_seen;
    /* its @@global.wait_timeout and @@global.interactive_timeout in
     * seconds, from the checks; 0 = not read yet */
    _Atomic int64_t wait_timeout_s, interactive_timeout_s;
    /* its @@global.session_track_system_variables names last_gtid (or is
     * '*'), from the checks: a connection reports its commits' GTIDs */
    _Atomic bool gtid_tracked;
    _Atomic bool check_now; /* a worker reported a failure: check it at once */
    _Atomic bool unchecked; /* checked by the monitor, and no check of it has passed since it
                             * came into the config (at start, or added or moved by a
                             * reload): its state is unknown, it takes no reads, no
                             * pooled logins (backend_rt_mark_unchecked) and no
                             * writes (a write waits: session_reload.c) */
    _Atomic bool fenced;    /* failover: never the primary, whatever it reports (failover_exec.h) */
    _Atomic bool reads_too; /* cluster = galera: the writer takes reads as well (galera.h) */
    _Atomic int64_t reads_refused_us; /* cluster = galera: a worker's read was refused by the
                                       * node's wsrep state then (wall clock, us); no reads
                                       * until a check begun after it finds it synced; 0 = none */
    _Atomic int64_t failover_at_us; /* ev_time() in us when failover last set its role; 0 = never */
    _Atomic int64_t left_behind_us; /* ev_time() in us when failover left this replica where
                                     * it replicates from, behind the new primary
                                     * (backend_set_left_behind); 0 = never */
    _Atomic int promoted_how;       /* enum proof_promotion of the failover that last made it
                                     * the primary (set before failover_at_us) */
    _Atomic int64_t drain_busy;     /* DRAINING: its busy client connections at the last check
                                     * (monitor.c, BUSY_SQL); -1 = not checked since the drain,
                                     * -2 = the monitor account lacks PROCESS, -3 = the query
                                     * failed: both cannot tell */
    _Atomic int64_t drain_checked_us;  /* ev_time() in us when that check began */
    _Atomic int64_t ok_check_began_us; /* ev_time() in us when the newest good check began; a
                                        * worker knows the server was up after a moment when a
                                        * good check began past it (session_replay.c); 0 = none */
    _Atomic int64_t cut_off_at_us;     /* ev_time() in us when it was fenced as a primary cut off
                                        * from the majority (fence_cut_off_primary); 0 = it is not */
    _Atomic uint64_t passive_failures; /* backend_report_failure() calls */
    _Atomic uint64_t outstanding;      /* statements in flight now, over every worker */
    _Atomic uint64_t trx_open;         /* sessions with a transaction open there, as its last
                                          answer to each said (a switchover waits for them) */
    _Atomic uint64_t conns;            /* connections open now (connecting included) */
    _Atomic uint32_t pool_waiters;     /* statements waiting for a connection (pool.h) */
    struct pool_user_stats *_Atomic pool_users; /* per user (pool_stats.h), appended only */
    _Atomic uint32_t rtt_us; /* round trip of the monitor's COM_PING, an EWMA; 0 = not measured */
    struct backend_stat_slot slot[BACKEND_STAT_SLOTS];

    pthread_mutex_t lock; /* protects `info`, `version` and `checks_gen` */
    uint32_t checks_gen;  /* bumped when what the checks read is forgotten (a reload
                           * added it again or moved it): a check of an older one counts
                           * for nothing (backend_checks_current) */
    struct backend_info info;
    char version[MYSQL_CLIENT_VERSION_MAX]; /* its greeting's server version; "" = not seen */
};

/* ---- registry ---------------------------------------------------------- */

/* The entry of backend `name`, created (ONLINE, role replica, lag unknown)
 * the first time it is asked for. Any thread. NULL only when out of memory.
 * Entries live until backend_rt_free_all() at exit. */
struct backend_rt *backend_rt_get(const char *name);
/* The entry of `name` if it exists, else NULL. Any thread. */
struct backend_rt *backend_rt_find(const char *name);
/* Set cfg->backends[i].rt for every backend of `cfg`, creating entries as
 * needed, and give each entry its config role (the role used until the
 * monitor has seen the server); and each group's consistency = global
 * position (global_pos_attach). Call before publishing the config; on
 * HY_NOMEM the config must not be used. */
hy_status_t backend_rt_attach(struct config *cfg) HY_MUSTCHECK;
/* At exit, after every thread that may use an entry has stopped. */
void backend_rt_free_all(void);
/* Mark `unchecked` every backend of `fresh` that the monitor checks and
 * that `running` (NULL at start) does not have at the same address: until
 * a check of it passes (monitor.c clears it), its state is not known. What
 * checks read of it before (it was removed, or moved) is forgotten, and a
 * worker's failure reported before (check_now). Each backend of `fresh`
 * gets its rt's checks generation then (config_backend.checks_gen). */
void backend_rt_mark_unchecked(struct config *fresh, const struct config *running);
/* The monitor's side of it (its thread), race-free with a reload's forget
 * (main thread): a check takes the checks generation of the config whose
 * address it reads (config_backend.checks_gen) when it begins; its result
 * is stored (`store` called on rt's info, under rt's lock) only if nothing
 * was forgotten since, and a check that passed clears `unchecked` only
 * then. Each true when done. A check that began before a reload moved the
 * backend, or before the monitor had the reload's config, read another
 * server, maybe: neither what it read nor its pass counts for the new one.
 * backend_checks_gen() is rt's generation now. */
uint32_t backend_checks_gen(struct backend_rt *rt);
/* Does a check of generation `gen` (its config's config_backend.checks_gen)
 * still count: no reload moved the backend since? When false, the check
 * read the address a reload moved it from: nothing of it may count, neither
 * for the health and roles nor as an event. */
bool backend_checks_current(struct backend_rt *rt, uint32_t gen);
bool backend_checks_store(struct backend_rt *rt, uint32_t gen,
                          void (*store)(struct backend_info *in, void *arg), void *arg);
bool backend_checks_passed(struct backend_rt *rt, uint32_t gen);

/* Bumped on every change of a backend's state or role. Workers compare it
 * with the value they saw last to know cheaply whether to look again (e.g.
 * which backend is the primary). */
uint64_t backend_generation(void);
void backend_generation_bump(void);

/* Both below are per group (group.h), by the group's name: a failover in
 * one group says nothing of another's. At most this many groups: */
#define BACKEND_FAILOVER_GROUPS 128
/* A failover or switchover is under way in `group`: the failover thread
 * sets it for the procedure's length (failover_exec.c); the group's
 * sessions read it to know that a write finding no primary may wait for
 * one. Any thread. */
void backend_set_failover_busy(const char *group, bool busy);
bool backend_failover_busy(const char *group);
/* Why the failover thread leaves `group`'s primary unreplaced (failover
 * lock without a majority), for the error of a write of that group that
 * waited in vain; NULL or "" clears it. backend_failover_note() copies it
 * into out ("" when none). Any thread. */
void backend_set_failover_note(const char *group, const char *note);
void backend_failover_note(const char *group, char *out, size_t len);

/* ---- reading (any thread, lock-free) ----------------------------------- */

static inline enum backend_state backend_state(const struct backend_rt *rt)
{
    return (enum backend_state)atomic_load_explicit(&rt->state, memory_order_relaxed);
}

static inline enum backend_role backend_role(const struct backend_rt *rt)
{
    return (enum backend_role)atomic_load_explicit(&rt->role, memory_order_relaxed);
}

/* May a NEW statement (autocommit, or a transaction's first) go there?
 * ONLINE only. */
static inline bool backend_usable(const struct backend_rt *rt)
{
    return backend_state(rt) == BACKEND_ONLINE;
}

/* May a statement of a transaction already open there go on? ONLINE or
 * DRAINING (drain lets open transactions finish; MAINT does not). */
static inline bool backend_usable_in_trx(const struct backend_rt *rt)
{
    enum backend_state st = backend_state(rt);
    return st == BACKEND_ONLINE || st == BACKEND_DRAINING;
}

/* Index in cfg->backends of the current primary: the backend whose role is
 * primary (observed, or the config's until the monitor has seen it) and
 * that is usable. -1 when there is none (primary down, drained, or a
 * failover in progress). When several report primary, the first usable one
 * in config order wins. */
int backend_primary_index(const struct config *cfg);

/* Whether what the checks say of `rt` is known: false while a backend the
 * monitor checks has passed no check since it came into the config
 * (`unchecked`); true for one it does not check, and for NULL (a config
 * not attached). A primary that is not checked takes no write, no replay
 * and no in-flight search (docs/failover.md). */
bool backend_checked(const struct backend_rt *rt);
/* Same, whatever its state: the backend that holds the primary role, -1 if
 * none. For messages ("primary db1 is DOWN") and failover. */
int backend_primary_any_index(const struct config *cfg);
/* Several writers (Galera, max_writers > 1): `current` while it stays a
 * usable, unfenced primary, else the (spread mod N)-th of the N usable
 * ones in config order, so that sessions spread over the writers and each
 * keeps its own; -1 when none is usable. */
int backend_writer_index(const struct config *cfg, uint32_t spread, int current);
/* The backends of cfg the monitor does not hold DOWN (show status, the
 * metrics: what this halyard reaches of the failover lock's voters). */
size_t backend_reachable_count(const struct config *cfg);
/* The lexer options (classify.h CLO_*) a new session starts with: those of
 * the global sql_mode the monitor last read on the primary (or, with none
 * known, on the first backend it has read), which is the sql_mode a new
 * connection gets. 0 before any check. */
unsigned backend_default_lex(const struct config *cfg);

/* Failover: a fenced backend is never taken for the primary (by
 * backend_primary_index and backend_primary_any_index), whatever its role:
 * the old primary after a failover, until it replicates again, and the
 * primary being demoted during a switchover. Logged, counted as a
 * change and an audit record, with `why`. Any thread. */
void backend_set_fenced(struct backend_rt *rt, bool fenced, const char *why);
/* Failover changed the role of rt itself: the monitor keeps that role
 * against checks that started before (they saw the server as it was). */
void backend_mark_failover(struct backend_rt *rt);
/* Failover left replica rt where it replicates from, unable to get what
 * the new primary applied (that primary runs without log_slave_updates):
 * LAGGING at once, with `why`, rather than serving stale reads until the
 * monitor has checked it and its source again. The monitor keeps it so
 * until a check of its source that began after this has been read
 * (monitor_feed), then judges for itself. */
void backend_set_left_behind(struct backend_rt *rt, const char *why);
/* The failover thread fenced rt as a primary cut off from the majority
 * (on), or the majority is back (off): while on, the monitor counts it as a
 * replica whose primary is out of reach, its data as old as the time since
 * (partition_reads). */
void backend_set_cut_off(struct backend_rt *rt, bool on);

/* Copy the locked part out. Any thread. */
void backend_info_get(struct backend_rt *rt, struct backend_info *out);

/* The idle timeout in seconds a new session of `cfg` has on the primary
 * (any backend the monitor read, before a primary is known): its global
 * interactive_timeout for a client that logged in with
 * CLIENT_INTERACTIVE, else its global wait_timeout. 0 = not read yet. */
int64_t backend_default_idle_timeout(const struct config *cfg, bool interactive);

/* The server version of its greeting, as a login to it read it (the
 * monitor's or a worker's). Any thread. */
void backend_version_note(struct backend_rt *rt, const char *version);

/* The version halyard greets `cfg`'s clients with: `server_version` when
 * the config sets it, else the greeting of the primary (or, before one is
 * known, of any backend of `cfg` a login reached), else
 * BACKEND_VERSION_UNKNOWN. Into out[cap], NUL-terminated; returns its
 * length. Any thread. */
#define BACKEND_VERSION_UNKNOWN "5.5.5-10.11.99-MariaDB-halyard"
size_t backend_greeting_version(const struct config *cfg, char *out, size_t cap);

/* Summed counters of one backend. */
struct backend_stats {
    uint64_t queries, errors, connect_failures, lat_sum_us;
    uint64_t lat[BACKEND_LAT_BUCKETS]; /* per bucket, not cumulative */
    uint64_t outstanding, conns;       /* now */
};
void backend_stats_get(const struct backend_rt *rt, struct backend_stats *out);

/* The latency (microseconds) under which fraction `q` (0..1) of the
 * counted statements fell, interpolated inside its bucket as Prometheus'
 * histogram_quantile does; 0 when nothing was counted. A quantile in the
 * +Inf bucket gives the last bound. */
double backend_latency_quantile(const struct backend_stats *st, double q);
/* The same over any histogram of these buckets. */
double backend_hist_quantile(const uint64_t lat[BACKEND_LAT_BUCKETS], double q);
/* The bucket of a duration in microseconds. */
int backend_lat_bucket(uint64_t usec);

/* ---- workers (data path) ----------------------------------------------- */

/* Open a connection to the backend if its max_connections (0 = no limit)
 * allows one more, counting it; false when it is at its limit. Pair every
 * true with backend_conn_release() when that connection closes. */
bool backend_conn_acquire(struct backend_rt *rt, int max_connections);
void backend_conn_release(struct backend_rt *rt);

/* A statement starts on / ends on the backend. `worker` picks the counter
 * slot; `usec` is its latency; `error` an ERR answer or a lost connection. */
void backend_query_begin(struct backend_rt *rt);
void backend_query_end(struct backend_rt *rt, int worker, uint64_t usec, bool error);
void backend_count_connect_failure(struct backend_rt *rt, int worker);

/* Passive check: a worker could not connect to the backend, or lost a
 * connection to it. Counted as a failed check and the monitor is woken to
 * check the backend at once, so a dead server is ejected within one
 * interval. `why` (e.g. "connect: Connection refused") is kept for
 * `show backends`. `gen` is the checks generation of the worker's config
 * (config_backend.checks_gen): a failure at the address a reload moved
 * the backend from is counted in passive_failures only. Any thread; cheap
 * (no allocation; one short lock). */
void backend_report_failure(struct backend_rt *rt, uint32_t gen, const char *why);

/* cluster = galera: the node answered a read with a refusal of its wsrep
 * state (1047, "WSREP has not yet prepared node for application use"):
 * a joiner, a donor, a node out of the Primary component, before the
 * monitor saw it. It takes no reads (backend_reads_refused) until a check
 * that began after this finds it synced (the monitor clears it, at its
 * next check). Not a failed check: the server answers. Any thread. */
void backend_refuse_reads(struct backend_rt *rt, const char *why);
static inline bool backend_reads_refused(struct backend_rt *rt)
{
    return atomic_load_explicit(&rt->reads_refused_us, memory_order_relaxed) != 0;
}

/* The monitor registers the function backend_report_failure() calls
 * (typically an ev_async_send to its loop). NULL to remove. */
void backend_set_report_hook(void (*fn)(struct backend_rt *rt, void *arg), void *arg);

/* ---- admin ------------------------------------------------------------- */

/* `backend NAME drain|maint|online`: set the override of the backend named
 * `name` in `cfg` (the running config) and apply it to its state at once.
 * HY_ERROR with a one-line reason in `err` when the config has no backend
 * of that name. Logged (INFO), counted as a state change and, when the
 * state changed, an audit record (audit.h). */
hy_status_t backend_set_admin(const struct config *cfg, const char *name, enum backend_admin mode,
                              char *err, size_t errlen) HY_MUSTCHECK;

/* ---- monitor ----------------------------------------------------------- */

/* The outcome of one health check of one backend. */
struct backend_check {
    bool ok;          /* connected, logged in, answered every check query */
    bool is_replica;  /* the backend has the replica role */
    bool repl_broken; /* ... with its IO or SQL thread stopped */
    int64_t lag_ms;   /* Seconds_Behind_Master in ms; -1 = NULL/unknown */
    bool stale;       /* its data is not kept up to date at all (not the primary and not
                       * replicating from the cluster): LAGGING whatever max_replication_lag */
    bool orphan;      /* its primary is unreachable for halyard too (a partition, or a
                       * failover not done yet): lag_ms is the age of its data */
    const char *why;  /* with stale: why, when not "not replicating from the cluster" */
};

/* Health tracking of one backend: the monitor's own, one per backend. */
struct backend_track {
    enum backend_state health; /* ONLINE, DOWN or LAGGING */
    int good;                  /* consecutive good checks (ok and, if limited, lag under it) */
    int bad;                   /* consecutive failed checks */
    int lag_good;              /* consecutive ok checks with the lag under the limit */
};

struct backend_policy {
    int rise;             /* good checks to come back */
    int fall;             /* failed checks to go DOWN */
    int64_t max_lag_ms;   /* 0 = no limit */
    bool orphans_refused; /* partition_reads = refuse: an orphan (backend_check) is LAGGING */
};

/* The pure state transition: fold check `chk` into `t` and return the new
 * health (also stored in t->health). When it changes, `why` gets one line
 * saying why ("3 failed checks: connect: Connection refused" is for the
 * caller to compose; this gives "3 failed checks", "lag 12 s over
 * max_replication_lag 10 s", "replication broken", "2 good checks").
 * While it stays LAGGING with the lag still over, `why` gets the reason it
 * has now (which may not be the one it went LAGGING for).
 * A failed check while DOWN stays DOWN; LAGGING needs `ok` checks, so a
 * lagging replica that stops answering goes DOWN after `fall`. */
enum backend_state backend_track_feed(struct backend_track *t, const struct backend_policy *p,
                                      const struct backend_check *chk, char *why, size_t whylen);

/* Monitor thread: set the health (and so the effective state unless an
 * admin override holds), and the role. Each logs one line with `why` when
 * something changed (INFO for recoveries, WARN otherwise), writes an audit
 * record (backend_state, backend_role) in the calling thread, stores `why`
 * in info.why and bumps the generation. Failover (failover_exec.c) sets
 * roles too. A backend that stays LAGGING with another `why` keeps its
 * state, and info.why says the new reason (logged when more than a number
 * in it changed). */
void backend_set_health(struct backend_rt *rt, enum backend_state health, const char *why);
void backend_set_role(struct backend_rt *rt, enum backend_role role, const char *why);

#endif /* HALYARD_BACKEND_H */
