/*
 * dualmaster.h: cluster = "dual-master": which of two servers that
 * replicate from each other takes writes, and what the failover thread
 * does about the pair.
 *
 * Pure: one struct dual_node per configured backend (config order, two of
 * them), from the monitor's view or a procedure's survey. No I/O, no
 * state; the unit tests walk the rules with made-up pairs
 * (tests/unit/test_dualmaster.c).
 *
 * The active (dual_pick_active) is the server halyard writes to: reachable,
 * writable (read_only = 0) and not fenced by halyard. Its replication from
 * the standby does not matter: both servers always replicate. The current
 * active keeps the role while it qualifies, and while it is failing but
 * not DOWN yet; otherwise the first qualifying server in config order. The
 * standby serves reads.
 *
 * dual_decide(), in this order:
 *
 *  1. FENCE: a reachable writable server that is not the active (the old
 *     active back from a crash with read_only = 0 in its my.cnf, an
 *     operator's SET GLOBAL): read_only = 1 at once, so that two servers
 *     never take writes.
 *  2. PROMOTE the standby when the active has been unreachable for
 *     failover_delay_ms (failover = auto), the standby is reachable, not in
 *     maintenance, its SQL thread has no error, it has a GTID position, and
 *     its own IO thread has lost the active too (a majority of the pair's
 *     view: an active only halyard cannot reach is left alone). The failover
 *     lock (failover_exec.h) needs its majority with the witnesses besides.
 *     The delay is skipped when the active is DOWN and its last check was
 *     refused or reset (`refused`: its host answers, its server process is
 *     gone) while the standby lost it too: that is no partition, whose
 *     cut-off side the delay gives time to fence its active (timeouts,
 *     silence: fence_cut_off_primary), and nobody is left to fence.
 *     WAIT while the delay runs or the standby still reaches the active;
 *     BLOCKED when the standby cannot be promoted.
 *  3. HOLD a fenced, read-only server that has errant transactions (its
 *     binlog holds transactions the active never had, gtid_has_errant), or
 *     that lacks transactions of its own the active has (gtid_lacks_own)
 *     and cannot regain them (its replication would skip them as its own,
 *     and the pair would differ for good): it stays fenced and takes no
 *     traffic, and the active does not replicate from it, until an
 *     operator rebuilds it.
 *  4. REJOIN a fenced, read-only server without errant transactions (with
 *     lost transactions of its own only when it regains them): it is the
 *     standby again (unfenced; the monitor gives it reads once it has what
 *     the active has of its own), its replication from the active starts
 *     from what its binlog holds (gtid_slave_pos_rewind), and the active
 *     resumes replicating from it. The same for a read-only server not
 *     fenced whose replication is stopped without an error, unless it is in
 *     maintenance: the standby restarted with skip_slave_start.
 *  5. NONE.
 */
#ifndef HALYARD_DUALMASTER_H
#define HALYARD_DUALMASTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What was last seen of one server of the pair. */
struct dual_node {
    const char *name;
    bool reachable;  /* its last check succeeded (not DOWN) */
    bool down;       /* its health is DOWN */
    bool refused;    /* its last check failed with the connection refused (ECONNREFUSED) or
                      * reset (ECONNRESET): its host answers, no server listens */
    bool read_only;  /* @@read_only */
    bool fenced;     /* halyard fenced it: never the active until rejoined */
    bool maint;      /* in maintenance or draining: never promoted */
    bool io_running; /* its IO thread is connected to the other server */
    bool sql_error;  /* its SQL thread stopped on an error */
    bool stopped;    /* its replication is set up but both threads are stopped (restarted
                      * with skip_slave_start, or STOP SLAVE) */
    bool has_gtid;   /* its GTID positions were read */
    bool errant;     /* its binlog holds transactions the active lacks */
    bool lost_own;   /* the active holds transactions this server wrote that its binlog lacks
                      * (its tail, dropped at crash recovery after the standby had it):
                      * replication brings back a server's own transactions only when: */
    bool regain;     /* it is a semi-sync replica (rpl_semi_sync_slave_enabled) in
                      * gtid_strict_mode: MariaDB then applies transactions of its own
                      * server_id past its position (MDEV-27760) */
};

/* The server that takes writes, from nodes[0..n) and `cur`, the one that
 * holds the role now (-1 = none), by the rule at the top; -1 for none. */
int dual_pick_active(const struct dual_node *nodes, size_t n, int cur);

struct dual_view {
    const struct dual_node *nodes;
    size_t n;
    int active;              /* the active halyard routes writes to; -1 = none */
    uint64_t active_down_ms; /* how long it has been unreachable; 0 = it is not */
};

struct dual_settings {
    bool failover_auto;
    int delay_ms; /* failover_delay_ms */
};

enum dual_action {
    DUAL_NONE = 0,
    DUAL_WAIT,    /* the active is unreachable; failover not (yet) justified */
    DUAL_PROMOTE, /* make `node`, the standby, the active */
    DUAL_BLOCKED, /* failover is due but the standby cannot take over */
    DUAL_FENCE,   /* `node` is writable beside the active: read_only = 1 */
    DUAL_HOLD,    /* `node` stays fenced: errant transactions */
    DUAL_REJOIN,  /* `node` is the standby again */
};

const char *dual_action_to_str(enum dual_action a);

struct dual_verdict {
    enum dual_action action;
    int node; /* index in the view; -1 when none */
    char reason[256];
};

/* The rules at the top. Always fills *out, with a reason fit for the log. */
void dual_decide(const struct dual_view *v, const struct dual_settings *s,
                 struct dual_verdict *out);

/* A switchover of the pair: `node` is the standby to make the active (by
 * name; NULL or "" = the other server). Fills *out with DUAL_PROMOTE and
 * the node when it may start (the active reachable and writable, the
 * standby reachable, read-only, not fenced, not in maintenance, its IO
 * thread connected and no SQL error), DUAL_BLOCKED with the reason
 * otherwise. */
void dual_switchover_check(const struct dual_view *v, const char *target, struct dual_verdict *out);

#endif /* HALYARD_DUALMASTER_H */
