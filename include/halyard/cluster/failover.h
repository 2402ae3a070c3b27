/*
 * failover.h: deciding failover, switchover and rejoin from what the
 * monitor saw.
 *
 * These are pure functions over a snapshot of the cluster (struct
 * failover_view: one struct failover_node per configured backend, in
 * config order). They do no I/O and keep no state, so every rule is unit
 * tested with made-up snapshots; the monitor thread builds the snapshot
 * after each round of checks and carries out what they decide.
 *
 * Automatic failover (failover_decide) promotes only when all of these hold:
 *
 *  1. failover = auto;
 *  2. no reachable server is writable and outside replication: if the
 *     primary answers and is writable nothing happens, and if another server
 *     already is (another halyard, or an operator, promoted it) halyard
 *     follows it (FAILOVER_FOLLOW) instead of promoting a second one;
 *  3. the primary has been unreachable for failover_delay_ms;
 *  4. a strict majority of the reachable replicas of that primary have lost
 *     it too (their IO thread is not connected: Slave_IO_Running is not
 *     "Yes"), so a primary that only halyard cannot reach is left alone;
 *  5. there is a candidate: a reachable replica of that primary, not in
 *     maintenance, with a GTID position and no SQL thread error.
 *
 * The candidate is the most advanced replica by the position it will have
 * once its relay log is applied: the per-domain maximum of
 * @@gtid_current_pos (applied) and Gtid_IO_Pos (received). A replica with
 * promotion = never is not one. Ties go to promotion = prefer, then (with
 * zones, failover_zones = same_first) to a replica in the lost primary's
 * zone, then to one with semi-sync on, then to config order. Position comes
 * first: a replica that lacks transactions another candidate has is never
 * promoted for its rule or its zone, since those transactions would be
 * lost. With failover_zones = same_only only the lost primary's zone's
 * replicas are candidates, and failover is refused while a replica of
 * another zone has transactions they all lack.
 *
 * Why that is the replica that acknowledged the last semi-synchronous
 * transaction: with rpl_semi_sync_master_wait_point = AFTER_SYNC the primary
 * answers a commit only after one semi-sync replica reported the
 * transaction written to its relay log. A replica receives the binlog in
 * order, so the replica with the highest received position holds every
 * transaction any replica acknowledged, and every acknowledged write is on
 * it. Its applied position (@@gtid_current_pos) may lag the received one
 * for a moment, which is why promotion first waits for the relay log to be
 * applied. Ranking by @@gtid_current_pos alone would be right only once
 * every replica has applied what it received. If semi-sync had fallen
 * back to asynchronous (rpl_semi_sync_master_timeout, or no semi-sync
 * replica left), nothing was guaranteed and the most advanced replica is
 * still the best there is.
 */
#ifndef HALYARD_FAILOVER_H
#define HALYARD_FAILOVER_H

#include "halyard/core/core.h"
#include "halyard/core/failover_types.h"
#include "halyard/core/gtid.h"

enum failover_mode {
    FAILOVER_OFF = 0,
    FAILOVER_AUTO,
};

const char *failover_mode_to_str(enum failover_mode m);

struct failover_settings {
    enum failover_mode mode;
    int delay_ms; /* how long the primary must have been unreachable */
    bool auto_rejoin;
};

/* What the monitor last saw of one backend. */
struct failover_node {
    const char *name;
    bool reachable;              /* its last check succeeded */
    bool refused;                /* its last check was refused or reset (monitor's view only) */
    bool maint;                  /* in maintenance (or draining): never promoted */
    bool fenced;                 /* fenced by a failover: never followed (backend_rt.fenced) */
    bool read_only;              /* @@read_only */
    bool replicating;            /* SHOW ALL SLAVES STATUS has a row: it has a source */
    int source;                  /* index of the backend it replicates from; -1 = not one of ours */
    bool io_running;             /* Slave_IO_Running = Yes: connected to its source */
    bool sql_running;            /* Slave_SQL_Running = Yes */
    bool sql_error;              /* the SQL thread stopped on an error */
    unsigned io_errno;           /* Last_IO_Errno: the IO thread's last error, 0 = none */
    bool semisync_replica;       /* Rpl_semi_sync_slave_status = ON */
    bool has_gtid;               /* the positions below were read and parsed */
    struct gtid_pos current_pos; /* @@gtid_current_pos: applied */
    struct gtid_pos io_pos;      /* Gtid_IO_Pos: received (empty when not replicating) */
    struct gtid_pos binlog_pos;  /* @@gtid_binlog_pos: written to its own binlog */
    struct gtid_pos slave_pos;   /* @@gtid_slave_pos (a probe's; empty in the monitor's view) */
    uint32_t server_id;          /* @@server_id; 0 = not read */
    bool strict_mode;            /* @@gtid_strict_mode */
    bool semisync_slave;         /* @@rpl_semi_sync_slave_enabled (set, connected or not) */
    bool log_slave_updates;      /* @@log_slave_updates (a probe's; false in the monitor's view) */
    const char *zone;            /* its zone, halyard's own when not set; NULL = no zones */
    enum promotion promotion;
};

struct failover_view {
    const struct failover_node *nodes;
    size_t n;
    int primary;               /* the primary halyard routes writes to; -1 = none known */
    uint64_t primary_down_ms;  /* how long it has been unreachable; 0 = it is not */
    enum failover_zones zones; /* which zones' replicas may be promoted */
};

enum failover_action {
    FAILOVER_NONE = 0, /* nothing to do */
    FAILOVER_WAIT,     /* the primary is unreachable, failover not (yet) justified */
    FAILOVER_FOLLOW,   /* `candidate` already is a primary: route to it, promote nobody */
    FAILOVER_PROMOTE,  /* promote `candidate` */
    FAILOVER_BLOCKED,  /* failover is due but cannot be done (no candidate) */
};

const char *failover_action_to_str(enum failover_action a);

struct failover_verdict {
    enum failover_action action;
    int candidate; /* index in the view; -1 when none */
    int donor;     /* FAILOVER_PROMOTE: the replica the candidate first takes the
                      transactions it lacks from; -1 when it lacks none */
    char reason[400];
};

/* How far n will be once its relay log is applied: @@gtid_current_pos and
 * the received Gtid_IO_Pos together. */
void failover_eventual_pos(const struct failover_node *n, struct gtid_pos *out);

/* The replica candidate c must first take transactions from: the most
 * advanced reachable replica of `primary` whose position (applied plus
 * received) is ahead of c's, though promotion = never, maintenance or a
 * rule of zones kept it from being the candidate; -1 when c lacks nothing
 * a survivor has. */
int failover_donor(const struct failover_view *v, int primary, int c);

/* Automatic failover: the rules in the comment at the top. Always fills
 * *out, with a reason fit for the log. */
void failover_decide(const struct failover_view *v, const struct failover_settings *s,
                     struct failover_verdict *out);

/* The failover lock (failover_exec.h) is GET_LOCK taken on every server a
 * halyard reaches. How many grants it needs: a strict majority of the
 * `configured` voters (the backends and the witnesses, reachable or not)
 * when `strict`, so that a halyard cut off with a minority of the servers
 * never promotes one of them while the old primary serves the others; a
 * strict majority of the `reachable` ones otherwise (an operator's
 * `failover` command, who has looked). 0 when nothing can vote. */
size_t failover_lock_needed(size_t reachable, size_t configured, bool strict);

/* The most advanced replica that may be promoted in place of `primary`
 * (the ranking at the top), or -1 with the reason in why. `exclude` (-1 =
 * none) is never picked. */
int failover_pick(const struct failover_view *v, int primary, int exclude, char *why,
                  size_t whylen);

/* A switchover to `target` (a backend name; NULL or "" = the most advanced
 * replica): FAILOVER_PROMOTE with the candidate when it can start (the
 * primary reachable and writable, the target a reachable replica of it,
 * not in maintenance, SQL thread running), FAILOVER_BLOCKED with the
 * reason otherwise. */
void failover_switchover_check(const struct failover_view *v, const char *target,
                               struct failover_verdict *out);

/* What to do with a reachable backend that is not the primary and has
 * no replication source (typically the old primary coming back). */
enum rejoin_action {
    REJOIN_NONE = 0,     /* leave it alone */
    REJOIN_FENCE,        /* writable beside the primary: set read_only now */
    REJOIN_REPLICATE,    /* make it a replica of the primary (auto_rejoin) */
    REJOIN_HOLD_ERRANT,  /* hold it fenced: it has transactions the primary lacks */
    REJOIN_HOLD_LOST_OWN /* hold it fenced: it lost transactions of its own the primary has */
};

const char *rejoin_action_to_str(enum rejoin_action a);

/* `node` is backend i of the view, `primary_state` the primary's
 * @@gtid_binlog_state. Fencing comes first and is not optional. A node is
 * made a replica only with auto_rejoin and only when
 *  - its binlog holds no transaction the primary lacks (gtid_has_errant):
 *    replicating such a node would either break on the first GTID
 *    (gtid_strict_mode) or silently keep writes the rest of the cluster
 *    never saw (REJOIN_HOLD_ERRANT);
 *  - and it lacks no transaction of its own the primary has
 *    (gtid_lacks_own: an old primary killed while a commit its replica had
 *    already received waited, whose crash recovery dropped that commit, or
 *    whose binlog tail was not durable), unless it will fetch them back.
 *    Replicating from MASTER_USE_GTID = current_pos, it asks for the
 *    transactions after its own last one, but a server skips events of
 *    its own server_id (replicate_same_server_id, which log_slave_updates
 *    excludes) unless it is a semi-sync replica in gtid_strict_mode
 *    (MDEV-21117, MDEV-27760): otherwise they never arrive, replication
 *    runs without an error and the data differ for good
 *    (REJOIN_HOLD_LOST_OWN). Verified against MariaDB 10.11.
 * A held node is left read_only and outside replication, with the reason,
 * for an operator to rebuild. */
enum rejoin_action failover_rejoin_decide(const struct failover_view *v, int i,
                                          const struct failover_settings *s,
                                          const struct gtid_pos *primary_state, char *why,
                                          size_t whylen);

#endif /* HALYARD_FAILOVER_H */
