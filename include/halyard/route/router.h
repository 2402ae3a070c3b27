/*
 * router.h: where a statement runs, as a pure decision.
 *
 * route_decide() looks at a statement's classification, the session's view
 * (transaction, pin, read-only transaction, consistency, last write, last
 * backend, retry exclusion, fall-back) and the backends' view (usable, role,
 * weight, statements in flight, fenced) and says where the statement goes,
 * or why nobody may take it. It does no I/O and writes nothing but *out:
 * the session builds the views, and acts on the decision (pins, logs the
 * state command, begins the read-only transaction, closes the connection
 * named in close_idx). tests/unit/test_router.c tests every rule.
 *
 * Three questions (enum route_op):
 *  - ROUTE_STATEMENT: where a classified statement goes. Everything goes to
 *    the primary but reads outside transactions (and START TRANSACTION READ
 *    ONLY), which a hint, the read/write split and the consistency send to
 *    a replica: the one with the fewest statements in flight per unit of
 *    weight, ties shared by weighted round robin.
 *  - ROUTE_GATE: may the backend chosen take the statement now? New
 *    statements go only to ONLINE backends (a primary being demoted by a
 *    failover takes none); a transaction already open on a DRAINING one
 *    goes on there; a replica that is out is replaced by another one or the
 *    primary; a transaction whose backend is DOWN or MAINT is lost.
 *  - ROUTE_FALL_BACK: the backend a command waited for failed: a replica's
 *    work goes to another replica once, then to the primary; the primary's
 *    fails.
 */
#ifndef HALYARD_ROUTER_H
#define HALYARD_ROUTER_H

#include <stdbool.h>
#include <stdint.h>

#include "halyard/cluster/backend.h"
#include "halyard/sql/classify.h"
#include "halyard/config/config.h"

/* One backend as the session sees it for this decision. */
/* Round trips up to this many ms count as this many when reads are spread
 * (route_cost in router.c): the replicas of one data center are alike. */
#define ROUTE_RTT_FLOOR_MS 5
/* ... and so do round trips up to this many times the nearest replica's
 * (route_rtt_floor): checks all delayed alike on a busy machine. */
#define ROUTE_RTT_ALIKE 2

struct route_backend {
    const char *name;
    enum backend_role role;   /* as the monitor sees it (the config's when unmonitored) */
    enum backend_state state; /* for the refusal text */
    const char *why;          /* the monitor's or operator's reason, "" if none */
    uint32_t weight;
    uint64_t outstanding; /* statements in flight there, over every worker */
    bool monitored;       /* it has run-time state (else: always usable) */
    bool usable;          /* may take a new statement (ONLINE) */
    bool usable_in_trx;   /* may go on with an open transaction (ONLINE, DRAINING) */
    bool fenced;          /* failover is demoting it */
    bool unchecked;       /* no check of it has passed yet: role and state unknown */
    bool reads_too;       /* a primary that takes reads too (Galera writer_is_also_reader) */
    bool conn;            /* the session has a connection there */
    bool conn_room;       /* below its max_connections (or no limit) */
    bool far;             /* in another zone than this halyard */
    bool behind;          /* this session's read waited on it in vain since the monitor last
                           * saw it catch up: the session's reads take another replica if one
                           * can serve (route_pick_replica) */
    uint32_t rtt_ms;      /* the monitor's round trip to it, whole ms; 0 = under 0.5 */
};

enum route_op {
    ROUTE_STATEMENT, /* where a classified statement goes */
    ROUTE_GATE,      /* may `target` take it now (health)? */
    ROUTE_FALL_BACK, /* `target` failed before the command ran: where now? */
};

struct route_in {
    enum route_op op;
    /* the statement (ROUTE_STATEMENT) */
    enum classify_kind kind;
    uint32_t flags; /* CLF_* */
    uint32_t nvars, nstmt;
    uint32_t kinds; /* CL_BIT() of each statement's kind (classify.h) */
    enum classify_hint hint;
    const char *hint_backend; /* with CLH_BACKEND; NULL = none */
    bool show_status;         /* SHOW STATUS, the process list...: the primary's own state */
    bool fits;                /* the whole statement is in the buffer */
    bool first_ends_trx;      /* several statements, the first BEGIN, START TRANSACTION,
                               * COMMIT or ROLLBACK (read inside a read-only transaction only) */
    uint8_t sql_ps;           /* read inside a read-only transaction only: ROUTE_SQL_PREPARE,
                               * ROUTE_SQL_DEALLOCATE (its text's first words), else 0 */
    uint32_t target;          /* ROUTE_GATE, ROUTE_FALL_BACK: the backend chosen */
    /* the session */
    uint32_t primary;
    bool in_trans;
    bool pinned;
    bool uvars_opaque;    /* a CALL, EXECUTE or stored function ran: user variables
                           * may hold values only the primary has */
    bool locks_elsewhere; /* another session holds LOCK TABLES on the primary */
    int ro_idx;           /* backend of the read-only transaction, -1 = none */
    enum consistency consistency;
    double now, last_write; /* seconds; last_write 0 = never wrote */
    uint32_t strong_window_ms;
    bool read_write_split;
    bool pooled; /* pool_mode = "transaction": a connection given back holds no diagnostics */
    enum zone_reads zone_reads; /* which zones' replicas reads may use */
    bool replica_fallback_error;
    uint32_t last_idx; /* where the last statement ran */
    uint32_t diag_idx; /* where the session's diagnostics area is (SHOW WARNINGS) */
    int exclude;       /* a replica a retried read must avoid, -1 = none */
    bool any_behind;   /* some backend's `behind` is set */
    bool sticky;       /* ROUTE_GATE: the target is where the last statement ran */
    bool fell_back;    /* ROUTE_FALL_BACK: the command already fell back once */
    /* the backends, in config order */
    const struct route_backend *be;
    uint32_t n_be;
    uint32_t rr; /* round-robin cursor */
};

enum route_verdict {
    ROUTE_GO,           /* run it on out->target */
    ROUTE_NO_REPLICA,   /* no replica can serve the read and replica_fallback = error */
    ROUTE_TRX_LOST,     /* the transaction's backend is out: out->why */
    ROUTE_NO_PRIMARY,   /* nobody may take it: out->why */
    ROUTE_NO_FALL_BACK, /* ROUTE_FALL_BACK: the command fails with its backend */
    ROUTE_RO_TRX_WRITE, /* a write inside START TRANSACTION READ ONLY: 1792, as the server */
    /* Session state set in a way halyard cannot replay (several statements
     * in one text...) inside START TRANSACTION READ ONLY, which runs on a
     * replica: what it sets would reach the primary only (out->pin, target
     * the primary, for a caller that runs it there all the same). */
    ROUTE_RO_TRX_STATE,
    /* An SQL PREPARE inside START TRANSACTION READ ONLY: the named statement
     * would live on the transaction's replica, and the session's later
     * EXECUTEs run on the primary (target the replica, for a caller that
     * runs it there all the same). */
    ROUTE_RO_TRX_PREPARE,
};

enum { ROUTE_SQL_PREPARE = 1, ROUTE_SQL_DEALLOCATE = 2 }; /* route_in.sql_ps */

struct route_out {
    enum route_verdict verdict;
    uint32_t target;   /* with ROUTE_GO */
    char why[320];     /* with ROUTE_TRX_LOST, ROUTE_NO_PRIMARY (route_decide() zeroes the
                        * fields from pin on and only why[0] of this one) */
    const char *pin;   /* pin the session to the primary, for this reason; NULL = no */
    bool log_state;    /* a session command: note what it changes (state_prepare_set) */
    bool causal;       /* the replica must first be seen to have the session's writes */
    bool global;       /* ... to have every write committed through halyard (global_pos.h) */
    bool ro_begin;     /* a read-only transaction begins on target */
    bool sticky;       /* target is where the last statement ran (SHOW WARNINGS) */
    bool trx_end;      /* the session's transaction is over (its backend is out) */
    bool uvars_opaque; /* from now on the session's user variables may hold values
                        * only the primary has (CLF_UVARS_OPAQUE) */
    int close_idx;     /* a connection the session must close, -1 = none */
    uint32_t rr;       /* the round-robin cursor after this decision */
};

/* Decide; writes only *out. */
void route_decide(const struct route_in *in, struct route_out *out);

/* Into buf (len bytes): why a write finds no primary when its primary
 * `name` is in `state`, with what the monitor or the operator said of it
 * (`why`, "" or NULL for nothing): "No primary available: backend 'db1'
 * is DOWN (refused)". The one text for it: the router's, and the one a
 * wait for a primary ends with (session_reload.c). */
void route_no_primary_why(char *buf, size_t len, const char *name, enum backend_state state,
                          const char *why);

#endif
