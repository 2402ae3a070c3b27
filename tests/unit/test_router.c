/*
 * test_router.c: route_decide() over made-up sessions and backends.
 *
 * Three backends: db1 (index 0) the primary, db2 and db3 replicas; by
 * default all ONLINE and monitored, weight 1, nothing in flight, no
 * connection of the session yet, the read/write split on, consistency
 * eventual, no transaction, no pin. Each row changes what it tests:
 *
 *   - writes, reads, session commands (logged or pinning), pins
 *   - hints (primary, replica, backend=NAME), SHOW WARNINGS (sticky),
 *     SHOW STATUS, the split off
 *   - transactions, read-only transactions (begin, stay there)
 *   - consistency strong (window), causal and global, replica_fallback = error
 *   - the replica pick: weights, statements in flight, round robin,
 *     DOWN/DRAINING/MAINT, wrong role, connection limit, unmonitored,
 *     the retry exclusion
 *   - the health gate: fenced, DOWN with the monitor's reason, DRAINING
 *     with and without an open transaction, a lost transaction (and the
 *     connection to close), a replica that is out replaced
 *   - the fall back of a failed replica's command: once to a replica,
 *     then the primary, never for the primary or a read-only transaction
 *
 * Each decision must also leave its input untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/route/router.h"

#define N 3

struct rcase {
    const char *name;
    /* the question */
    enum route_op op;
    enum classify_kind kind;
    uint32_t flags, nvars, nstmt, kinds;
    enum classify_hint hint;
    const char *hint_backend;
    bool show_status, not_fits, first_ends_trx;
    uint8_t sql_ps;
    uint32_t target;
    /* the session (indexes +1: 0 = none) */
    bool in_trans, pinned, no_split, fallback_error, sticky, fell_back, uvars_opaque, pooled;
    bool locks_elsewhere;
    int ro1, exclude1;
    enum consistency consistency;
    double last_write; /* seconds before now; 0 = never wrote */
    uint32_t last_idx, diag_idx, rr;
    /* the backends, one character each: state O D R(draining) M L,
     * weight digit, conn c (has one) f (none, limit reached), role P R,
     * u (unmonitored) */
    const char *states, *weights, *conns, *roles, *unmon;
    const char *far;    /* f: in another zone than halyard */
    const char *behind; /* b: the session's read waited on it in vain */
    enum zone_reads zone_reads;
    uint64_t out[N];
    uint32_t rtt[N]; /* ms; 0 = not measured */
    bool fenced0;
    bool unchecked0; /* no check of db1 has passed yet */
    const char *why0;
    /* expected */
    enum route_verdict verdict;
    uint32_t want;
    bool pin, log_state, causal, global, ro_begin, want_sticky, trx_end, rr_adv, want_opaque;
    int close1;
    const char *why;
};

#define READ     .kind = CL_READ
#define WRITE    .kind = CL_WRITE
#define GATE     .op = ROUTE_GATE
#define FALLBACK .op = ROUTE_FALL_BACK

static const struct rcase cases[] = {
    /* statements */
    {"write", WRITE, .want = 0},
    {"read to a replica", READ, .want = 1, .rr_adv = true},
    {"read, next in the round", READ, .rr = 1, .want = 2, .rr_adv = true},
    {"read, split off", READ, .no_split = true, .want = 0},
    {"read in a transaction", READ, .in_trans = true, .want = 0},
    {"read when pinned", READ, .pinned = true, .want = 0},
    {"read in a read-only transaction", READ, .ro1 = 3, .want = 2},
    {"DDL in a read-only transaction: it ends there, the DDL runs on the primary", WRITE, .ro1 = 3,
     .want = 0, .trx_end = true, .close1 = 3},
    {"START TRANSACTION in a read-only transaction: the same", .kind = CL_TXN_BEGIN, .ro1 = 3,
     .want = 0, .trx_end = true, .close1 = 3},
    {"START TRANSACTION READ ONLY in one: a new one there", .kind = CL_TXN_BEGIN_RO, .ro1 = 3,
     .want = 2},
    {"XA START in a read-only transaction: there, where the server refuses it (1400)",
     .kind = CL_TXN_BEGIN, .flags = CLF_XA, .ro1 = 3, .want = 2},
    {"COMMIT of a read-only transaction", .kind = CL_TXN_END, .ro1 = 3, .want = 2},
    {"SETs in one text in a read-only transaction: refused (its replica would not have them)",
     WRITE, .flags = CLF_MULTI, .nvars = 2, .nstmt = 2,
     .kinds = CL_BIT(CL_SESSION) | CL_BIT(CL_PIN_PRIMARY), .ro1 = 3, .want = 0,
     .verdict = ROUTE_RO_TRX_STATE, .pin = true},
    {"SET and a read in one text, no transaction: the primary, pinned", .kind = CL_SESSION,
     .flags = CLF_MULTI, .nvars = 1, .nstmt = 2, .kinds = CL_BIT(CL_SESSION) | CL_BIT(CL_READ),
     .want = 0, .pin = true},
    {"SQL PREPARE in a read-only transaction: refused, not ended as DDL", WRITE,
     .sql_ps = ROUTE_SQL_PREPARE, .ro1 = 3, .want = 2, .verdict = ROUTE_RO_TRX_PREPARE},
    {"DEALLOCATE PREPARE in a read-only transaction: there, the transaction kept", WRITE,
     .sql_ps = ROUTE_SQL_DEALLOCATE, .ro1 = 3, .want = 2},
    {"GET_LOCK in a read-only transaction: the primary, pinned", .kind = CL_PIN_PRIMARY,
     .flags = CLF_USER_LOCK, .ro1 = 3, .want = 0, .pin = true},
    {"BEGIN; UPDATE in a read-only transaction: it ends there, the text runs on the primary", WRITE,
     .flags = CLF_MULTI | CLF_DML, .nstmt = 2, .kinds = CL_BIT(CL_TXN_BEGIN) | CL_BIT(CL_WRITE),
     .first_ends_trx = true, .ro1 = 3, .want = 0, .trx_end = true, .close1 = 3},
    {"SELECT; UPDATE in a read-only transaction: refused (1792)", WRITE,
     .flags = CLF_MULTI | CLF_DML, .nstmt = 2, .kinds = CL_BIT(CL_READ) | CL_BIT(CL_WRITE),
     .ro1 = 3, .verdict = ROUTE_RO_TRX_WRITE},
    {"SELECT; COMMIT; SELECT in a read-only transaction: all on its replica", WRITE,
     .flags = CLF_MULTI, .nstmt = 3, .kinds = CL_BIT(CL_READ) | CL_BIT(CL_TXN_END), .ro1 = 3,
     .want = 2},
    /* as classify() gives them: a text of several statements is a WRITE */
    {"a read and a SET in one text, no transaction: the primary, pinned", WRITE, .flags = CLF_MULTI,
     .nvars = 1, .nstmt = 2, .kinds = CL_BIT(CL_SESSION) | CL_BIT(CL_READ), .want = 0, .pin = true},
    {"a write and a SET in one text, no transaction: the primary, pinned", WRITE,
     .flags = CLF_MULTI, .nvars = 1, .nstmt = 2, .kinds = CL_BIT(CL_SESSION) | CL_BIT(CL_WRITE),
     .want = 0, .pin = true},
    {"two reads in one text: not pinned", READ, .flags = CLF_MULTI, .nstmt = 2,
     .kinds = CL_BIT(CL_READ), .want = 1, .rr_adv = true},
    {"begin", .kind = CL_TXN_BEGIN, .want = 0},
    {"begin read only", .kind = CL_TXN_BEGIN_RO, .want = 1, .ro_begin = true, .rr_adv = true},
    {"begin read only; more", .kind = CL_TXN_BEGIN_RO, .flags = CLF_MULTI, .want = 0},
    {"begin read only in a transaction", .kind = CL_TXN_BEGIN_RO, .in_trans = true, .want = 0},
    {"begin read only, no replica", .kind = CL_TXN_BEGIN_RO, .states = "ODD", .want = 0},
    {"commit", .kind = CL_TXN_END, .want = 0},
    {"hint primary", READ, .hint = CLH_PRIMARY, .want = 0},
    {"hint replica, split off", READ, .hint = CLH_REPLICA, .no_split = true, .want = 1,
     .rr_adv = true},
    {"hint replica in a transaction", READ, .hint = CLH_REPLICA, .in_trans = true, .want = 0},
    {"hint replica, none open", READ, .hint = CLH_REPLICA, .states = "ODM", .fallback_error = true,
     .want = 0},
    {"hint backend", READ, .hint = CLH_BACKEND, .hint_backend = "db3", .want = 2},
    {"hint backend, down (the gate decides)", READ, .hint = CLH_BACKEND, .hint_backend = "db3",
     .states = "OOD", .want = 2},
    {"hint backend excluded by the retry", READ, .hint = CLH_BACKEND, .hint_backend = "db3",
     .exclude1 = 3, .want = 0},
    {"hint backend unknown", READ, .hint = CLH_BACKEND, .hint_backend = "nope", .want = 0},
    {"hint on a write", WRITE, .hint = CLH_REPLICA, .want = 0},
    {"read while another session holds LOCK TABLES", READ, .locks_elsewhere = true, .want = 0},
    {"replica hint while another session holds LOCK TABLES", READ, .hint = CLH_REPLICA,
     .locks_elsewhere = true, .want = 1, .rr_adv = true},
    {"SHOW WARNINGS where the diagnostics are", READ, .flags = CLF_PREV_STMT | CLF_DIAG,
     .last_idx = 1, .diag_idx = 2, .conns = ".cc", .want = 2, .want_sticky = true},
    {"FOUND_ROWS() where the last statement ran", READ, .flags = CLF_PREV_STMT, .last_idx = 1,
     .diag_idx = 2, .conns = ".cc", .want = 1, .want_sticky = true},
    {"show warnings where the last ran", READ, .flags = CLF_PREV_STMT, .last_idx = 2,
     .conns = "..c", .want = 2, .want_sticky = true},
    {"show warnings, that connection is gone", READ, .flags = CLF_PREV_STMT, .last_idx = 2,
     .want = 0},
    {"pooled: SHOW WARNINGS where the diagnostics are, given back (empty)", READ,
     .flags = CLF_PREV_STMT | CLF_DIAG, .diag_idx = 2, .conns = "c..", .pooled = true, .want = 2},
    {"pooled: ... that backend down", READ, .flags = CLF_PREV_STMT | CLF_DIAG, .diag_idx = 2,
     .conns = "c..", .states = "OOD", .pooled = true, .want = 0},
    {"pooled: FOUND_ROWS() given back: the primary (halyard puts the value in)", READ,
     .flags = CLF_PREV_STMT, .last_idx = 2, .conns = "c..", .pooled = true, .want = 0},
    {"show status", READ, .show_status = true, .want = 0},
    {"session set, logged", .kind = CL_SESSION, .nvars = 1, .nstmt = 1, .want = 0,
     .log_state = true},
    {"session set, too large", .kind = CL_SESSION, .nvars = 1, .nstmt = 1, .not_fits = true,
     .want = 0, .pin = true},
    {"session set; more", .kind = CL_SESSION, .flags = CLF_MULTI, .nvars = 1, .nstmt = 2, .want = 0,
     .pin = true},
    {"session set in a read-only transaction", .kind = CL_SESSION, .nvars = 1, .nstmt = 1, .ro1 = 2,
     .want = 0, .log_state = true},
    {"USE inside a read", READ, .flags = CLF_USE, .want = 0, .pin = true},
    {"SET GLOBAL", .kind = CL_PIN_PRIMARY, .flags = CLF_SET_GLOBAL, .nvars = 1, .nstmt = 1,
     .want = 0},
    {"temporary table", WRITE, .flags = CLF_TEMP_TABLE_CREATED, .want = 0, .pin = true},
    {"read setting a user variable", READ, .flags = CLF_USER_VAR_SET, .want = 0, .pin = true},
    /* user variables a CALL or EXECUTE may have set live on the primary */
    {"CALL: user variables opaque from now on", WRITE, .flags = CLF_UVARS_OPAQUE, .want = 0,
     .want_opaque = true},
    {"read of a user variable, none opaque", READ, .flags = CLF_USER_VAR_REF, .want = 1,
     .rr_adv = true},
    {"read of a user variable after a CALL", READ, .flags = CLF_USER_VAR_REF, .uvars_opaque = true,
     .want = 0},
    {"read of no user variable after a CALL", READ, .uvars_opaque = true, .want = 1,
     .rr_adv = true},
    /* START TRANSACTION READ ONLY on a replica: what the server refuses */
    {"ro trx: an INSERT gets 1792", WRITE, .flags = CLF_DML, .ro1 = 2,
     .verdict = ROUTE_RO_TRX_WRITE},
    {"ro trx: a locking read gets 1792", .kind = CL_PIN_PRIMARY, .flags = CLF_LOCKING_READ,
     .ro1 = 2, .verdict = ROUTE_RO_TRX_WRITE},
    {"ro trx: CREATE TEMPORARY TABLE gets 1792", .kind = CL_PIN_PRIMARY,
     .flags = CLF_TEMP_TABLE_CREATED, .ro1 = 2, .verdict = ROUTE_RO_TRX_WRITE},
    {"ro trx: a CALL runs there", WRITE, .flags = CLF_UVARS_OPAQUE, .ro1 = 2, .want = 1,
     .want_opaque = true},
    {"ro trx: EXPLAIN UPDATE runs there", READ, .ro1 = 2, .want = 1},
    /* zones: db2 in halyard's zone, db3 in another */
    {"zones: local first", READ, .far = "..f", .rr = 1, .want = 1, .rr_adv = true},
    {"zones: local first, local one down", READ, .far = "..f", .states = "ODO", .want = 2,
     .rr_adv = true},
    {"zones: local only, local one down", READ, .far = "..f", .states = "ODO",
     .zone_reads = ZONE_READS_LOCAL_ONLY, .want = 0},
    {"zones: any", READ, .far = "..f", .rr = 1, .zone_reads = ZONE_READS_ANY, .want = 2,
     .rr_adv = true},
    {"GET_LOCK pins", .kind = CL_PIN_PRIMARY, .flags = CLF_USER_LOCK, .want = 0, .pin = true},
    {"EXECUTE pins", WRITE, .flags = CLF_UVARS_OPAQUE | CLF_STATE_OPAQUE, .want = 0, .pin = true,
     .want_opaque = true},
    {"strong, inside the window", READ, .consistency = CONSISTENCY_STRONG, .last_write = 0.5,
     .want = 0},
    {"strong, after the window", READ, .consistency = CONSISTENCY_STRONG, .last_write = 5,
     .want = 1, .rr_adv = true},
    {"strong, never wrote", READ, .consistency = CONSISTENCY_STRONG, .want = 1, .rr_adv = true},
    {"causal", READ, .consistency = CONSISTENCY_CAUSAL, .want = 1, .causal = true, .rr_adv = true},
    {"causal, no replica: primary", READ, .consistency = CONSISTENCY_CAUSAL, .states = "ODD",
     .want = 0, .causal = true},
    {"global", READ, .consistency = CONSISTENCY_GLOBAL, .want = 1, .global = true, .rr_adv = true},
    {"global, no replica: primary", READ, .consistency = CONSISTENCY_GLOBAL, .states = "ODD",
     .want = 0, .global = true},
    {"global, a write: the primary, unchecked", WRITE, .consistency = CONSISTENCY_GLOBAL,
     .want = 0},
    {"no replica: primary", READ, .states = "ODR", .want = 0},
    {"no replica, replica_fallback = error", READ, .states = "ODR", .fallback_error = true,
     .verdict = ROUTE_NO_REPLICA},
    {"replica_fallback = error, one replica left", READ, .states = "ODO", .fallback_error = true,
     .want = 2, .rr_adv = true},
    /* the pick */
    {"weight 0 takes nothing", READ, .weights = "101", .rr = 0, .want = 2, .rr_adv = true},
    {"idle, weights 1:3: the heavier", READ, .weights = "113", .want = 2, .rr_adv = true},
    {"weights 1:3, equal loads, turn 0", READ, .weights = "113", .out = {0, 0, 2}, .rr = 0,
     .want = 1, .rr_adv = true},
    {"weights 1:3, equal loads, turn 1", READ, .weights = "113", .out = {0, 0, 2}, .rr = 1,
     .want = 2, .rr_adv = true},
    {"weights 1:3, equal loads, turn 3", READ, .weights = "113", .out = {0, 0, 2}, .rr = 3,
     .want = 2, .rr_adv = true},
    {"weights 1:3, equal loads, turn 4", READ, .weights = "113", .out = {0, 0, 2}, .rr = 4,
     .want = 1, .rr_adv = true},
    {"fewest in flight", READ, .out = {0, 5, 1}, .want = 2, .rr_adv = true},
    {"in flight per weight: 1/1 beats 4/2", READ, .weights = "112", .out = {0, 0, 3}, .rr = 2,
     .want = 1, .rr_adv = true},
    {"in flight per weight: 2/1 ties 4/2, turn 0", READ, .weights = "112", .out = {0, 1, 3},
     .rr = 0, .want = 1, .rr_adv = true},
    {"in flight per weight: 2/1 ties 4/2, turn 2", READ, .weights = "112", .out = {0, 1, 3},
     .rr = 2, .want = 2, .rr_adv = true},
    {"round trips: the near replica", READ, .rtt = {1, 1, 50}, .rr = 1, .want = 1, .rr_adv = true},
    {"round trips: the near one, 8 in flight, against the far idle one", READ, .rtt = {1, 1, 50},
     .out = {0, 8, 0}, .want = 1, .rr_adv = true},
    {"round trips: the far one once the near one has 10 in flight", READ, .rtt = {1, 1, 50},
     .out = {0, 10, 0}, .want = 2, .rr_adv = true},
    {"round trips up to 5 ms are alike", READ, .rtt = {0, 0, 5}, .rr = 1, .want = 2,
     .rr_adv = true},
    {"round trips per weight: 5 ms against 12 ms with weight 3", READ, .weights = "113",
     .rtt = {1, 5, 12}, .want = 2, .rr_adv = true},
    /* a busy machine delays every check: round trips within twice the
     * nearest replica's are alike, both turns (not every read on db3) */
    {"round trips within twice the nearest are alike, turn 0", READ, .rtt = {15, 15, 14}, .rr = 0,
     .want = 1, .rr_adv = true},
    {"round trips within twice the nearest are alike, turn 1", READ, .rtt = {15, 15, 14}, .rr = 1,
     .want = 2, .rr_adv = true},
    {"round trips: 28 ms is twice 14 ms, still alike", READ, .rtt = {1, 28, 14}, .rr = 0, .want = 1,
     .rr_adv = true},
    {"round trips: 29 ms is more than twice 14 ms", READ, .rtt = {1, 29, 14}, .rr = 0, .want = 2,
     .rr_adv = true},
    {"round trips within twice: still by statements in flight", READ, .rtt = {15, 15, 14},
     .out = {0, 1, 0}, .want = 2, .rr_adv = true},
    /* a replica the session's causal read waited on in vain is left while
     * another can serve, whatever the round trips say */
    {"causal: the replica found behind is left, though nearer", READ,
     .consistency = CONSISTENCY_CAUSAL, .rtt = {1, 1, 9}, .behind = ".b.", .want = 2,
     .causal = true, .rr_adv = true},
    {"causal: both found behind: the round as before (the wait decides)", READ,
     .consistency = CONSISTENCY_CAUSAL, .behind = ".bb", .rr = 1, .want = 2, .causal = true,
     .rr_adv = true},
    {"causal: the other one is down: the one found behind", READ, .consistency = CONSISTENCY_CAUSAL,
     .states = "OOD", .behind = ".b.", .want = 1, .causal = true, .rr_adv = true},
    {"global: a near one found behind, another zone's in step (local_first)", READ,
     .consistency = CONSISTENCY_GLOBAL, .zone_reads = ZONE_READS_LOCAL_FIRST, .far = "..f",
     .behind = ".b.", .want = 2, .global = true, .rr_adv = true},
    {"found behind, replica_fallback = error: still a replica, not 1429", READ, .states = "OOD",
     .behind = ".b.", .fallback_error = true, .want = 1, .rr_adv = true},
    {"draining replica takes no new read", READ, .states = "ORO", .want = 2, .rr_adv = true},
    {"lagging replica takes no read", READ, .states = "OLO", .want = 2, .rr_adv = true},
    {"replica the monitor sees as primary", READ, .roles = "PPR", .want = 2, .rr_adv = true},
    {"connection limit reached", READ, .conns = ".f.", .want = 2, .rr_adv = true},
    {"connection limit reached, connection held", READ, .conns = ".F.", .want = 1, .rr_adv = true},
    {"unmonitored replica", READ, .states = "ODD", .unmon = ".u.", .want = 1, .rr_adv = true},
    {"retry excludes the replica that died", READ, .exclude1 = 2, .want = 2, .rr_adv = true},
    {"retry, no other replica", READ, .exclude1 = 2, .states = "OOD", .want = 0},
    /* the gate */
    {"gate: online", GATE, .target = 1, .want = 1},
    {"gate: primary online", GATE, .target = 0, .want = 0},
    {"gate: primary fenced", GATE, .target = 0, .fenced0 = true, .verdict = ROUTE_NO_PRIMARY,
     .why = "No primary available: backend 'db1' is being demoted"},
    {"gate: primary not checked yet", GATE, .target = 0, .unchecked0 = true,
     .verdict = ROUTE_NO_PRIMARY,
     .why = "No primary available: no check of backend 'db1' has passed yet"},
    {"gate: primary not checked yet, transaction open there", GATE, .target = 0, .unchecked0 = true,
     .in_trans = true, .conns = "c..", .want = 0},
    {"gate: primary not checked yet, autocommit off, no connection", GATE, .target = 0,
     .unchecked0 = true, .in_trans = true, .verdict = ROUTE_NO_PRIMARY,
     .why = "No primary available: no check of backend 'db1' has passed yet"},
    {"gate: primary down, autocommit off, no connection", GATE, .target = 0, .states = "DOO",
     .in_trans = true, .verdict = ROUTE_NO_PRIMARY,
     .why = "No primary available: backend 'db1' is DOWN"},
    {"gate: unmonitored primary (fence unknown)", GATE, .target = 0, .fenced0 = true,
     .unmon = "u..", .want = 0},
    {"gate: primary down, with why", GATE, .target = 0, .states = "DOO", .why0 = "refused",
     .verdict = ROUTE_NO_PRIMARY, .why = "No primary available: backend 'db1' is DOWN (refused)"},
    {"gate: primary in maintenance", GATE, .target = 0, .states = "MOO",
     .verdict = ROUTE_NO_PRIMARY, .why = "No primary available: backend 'db1' is MAINT"},
    {"gate: primary draining, transaction open there", GATE, .target = 0, .states = "ROO",
     .in_trans = true, .conns = "c..", .want = 0},
    {"gate: primary draining, no transaction", GATE, .target = 0, .states = "ROO", .conns = "c..",
     .verdict = ROUTE_NO_PRIMARY, .why = "No primary available: backend 'db1' is DRAINING"},
    {"gate: primary down, transaction lost", GATE, .target = 0, .states = "DOO", .in_trans = true,
     .conns = "c..", .verdict = ROUTE_TRX_LOST, .trx_end = true, .close1 = 1,
     .why = "Lost connection to backend 'db1' (DOWN) during the transaction"},
    {"gate: read-only transaction lost, no connection", GATE, .target = 1, .ro1 = 2,
     .states = "OMO", .verdict = ROUTE_TRX_LOST, .trx_end = true,
     .why = "Lost connection to backend 'db2' (MAINT) during the transaction"},
    {"gate: read-only transaction goes on draining", GATE, .target = 1, .ro1 = 2, .states = "ORO",
     .conns = ".c.", .want = 1},
    {"gate: sticky on a draining replica", GATE, .target = 2, .sticky = true, .states = "OOR",
     .conns = "..c", .want = 2},
    {"gate: replica out, another one", GATE, .target = 1, .states = "ODO", .want = 2,
     .rr_adv = true},
    {"gate: replica out, the primary", GATE, .target = 1, .states = "ODD", .want = 0},
    {"gate: replica out, primary out", GATE, .target = 1, .states = "DDD",
     .verdict = ROUTE_NO_PRIMARY, .why = "No primary available: backend 'db1' is DOWN"},
    /* the fall back */
    {"fall back to another replica", FALLBACK, .target = 1, .want = 2, .rr_adv = true},
    {"fall back: no other replica, the primary", FALLBACK, .target = 1, .states = "OOD", .want = 0},
    {"fall back once: then the primary", FALLBACK, .target = 2, .fell_back = true, .want = 0},
    {"fall back: not the primary's command", FALLBACK, .target = 0, .verdict = ROUTE_NO_FALL_BACK},
    {"fall back: not a read-only transaction", FALLBACK, .target = 1, .ro1 = 2,
     .verdict = ROUTE_NO_FALL_BACK},
    {"fall back: replica_fallback = error", FALLBACK, .target = 1, .fell_back = true,
     .fallback_error = true, .verdict = ROUTE_NO_FALL_BACK},
    {"fall back: the primary is down", FALLBACK, .target = 1, .fell_back = true, .states = "DOO",
     .verdict = ROUTE_NO_FALL_BACK},
};

static char at(const char *s, size_t i, char dflt)
{
    return s != NULL ? s[i] : dflt;
}

static enum backend_state state_of(char c)
{
    switch (c) {
    case 'D':
        return BACKEND_DOWN;
    case 'R':
        return BACKEND_DRAINING;
    case 'M':
        return BACKEND_MAINT;
    case 'L':
        return BACKEND_LAGGING;
    default:
        return BACKEND_ONLINE;
    }
}

static void build(const struct rcase *c, struct route_in *in, struct route_backend *be)
{
    static const char *const names[N] = {"db1", "db2", "db3"};
    for (size_t i = 0; i < N; i++) {
        enum backend_state st = state_of(at(c->states, i, 'O'));
        char conn = at(c->conns, i, '.');
        char role = at(c->roles, i, i == 0 ? 'P' : 'R');
        be[i] = (struct route_backend){
            .name = names[i],
            .role = role == 'P' ? ROLE_PRIMARY : ROLE_REPLICA,
            .state = st,
            .why = i == 0 && c->why0 != NULL ? c->why0 : "",
            .weight = (uint32_t)(at(c->weights, i, '1') - '0'),
            .outstanding = c->out[i],
            .rtt_ms = c->rtt[i],
            .monitored = at(c->unmon, i, '.') != 'u',
            .usable = st == BACKEND_ONLINE && !(i == 0 && c->unchecked0),
            .usable_in_trx = st == BACKEND_ONLINE || st == BACKEND_DRAINING,
            .fenced = i == 0 && c->fenced0,
            .unchecked = i == 0 && c->unchecked0,
            .conn = conn == 'c' || conn == 'F',
            .conn_room = conn != 'f' && conn != 'F',
            .far = at(c->far, i, '.') == 'f',
            .behind = at(c->behind, i, '.') == 'b',
        };
    }
    *in = (struct route_in){
        .op = c->op,
        .kind = c->kind,
        .flags = c->flags,
        .nvars = c->nvars,
        .nstmt = c->nstmt,
        .kinds = c->kinds,
        .hint = c->hint,
        .hint_backend = c->hint_backend,
        .show_status = c->show_status,
        .fits = !c->not_fits,
        .first_ends_trx = c->first_ends_trx,
        .sql_ps = c->sql_ps,
        .target = c->target,
        .primary = 0,
        .in_trans = c->in_trans,
        .pinned = c->pinned,
        .uvars_opaque = c->uvars_opaque,
        .locks_elsewhere = c->locks_elsewhere,
        .ro_idx = c->ro1 - 1,
        .consistency =
            c->consistency != CONSISTENCY_DEFAULT ? c->consistency : CONSISTENCY_EVENTUAL,
        .now = 1000.0,
        .last_write = c->last_write > 0 ? 1000.0 - c->last_write : 0,
        .strong_window_ms = 1000,
        .read_write_split = !c->no_split,
        .pooled = c->pooled,
        .zone_reads = c->zone_reads,
        .replica_fallback_error = c->fallback_error,
        .last_idx = c->last_idx,
        .diag_idx = c->diag_idx,
        .exclude = c->exclude1 - 1,
        .any_behind = c->behind != NULL && strchr(c->behind, 'b') != NULL,
        .sticky = c->sticky,
        .fell_back = c->fell_back,
        .be = be,
        .n_be = N,
        .rr = c->rr,
    };
}

static void test_table(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        const struct rcase *c = &cases[k];
        struct route_backend be[N], be_copy[N];
        struct route_in in, in_copy;
        struct route_out out;
        build(c, &in, be);
        memcpy(&in_copy, &in, sizeof(in));
        memcpy(be_copy, be, sizeof(be));
        print_message("%s\n", c->name);
        /* Whatever *out held before: every field is written (out0 from
         * zeros, out from garbage). */
        struct route_out out0;
        memset(&out0, 0, sizeof(out0));
        route_decide(&in, &out0);
        memset(&out, 0xA5, sizeof(out));
        route_decide(&in, &out);
        assert_memory_equal(&in, &in_copy, sizeof(in)); /* pure */
        assert_memory_equal(be, be_copy, sizeof(be));
        assert_int_equal(out.verdict, out0.verdict);
        assert_int_equal(out.target, out0.target);
        assert_string_equal(out.why, out0.why);
        assert_ptr_equal(out.pin, out0.pin);
        assert_memory_equal(&out.log_state, &out0.log_state,
                            sizeof(out) - offsetof(struct route_out, log_state));
        assert_int_equal(out.verdict, c->verdict);
        if (c->verdict == ROUTE_GO)
            assert_int_equal(out.target, c->want);
        assert_int_equal(out.pin != NULL, c->pin);
        assert_int_equal(out.log_state, c->log_state);
        assert_int_equal(out.causal, c->causal);
        assert_int_equal(out.global, c->global);
        assert_int_equal(out.ro_begin, c->ro_begin);
        assert_int_equal(out.sticky, c->want_sticky);
        assert_int_equal(out.uvars_opaque, c->want_opaque);
        assert_int_equal(out.trx_end, c->trx_end);
        assert_int_equal(out.close_idx, c->close1 - 1);
        assert_int_equal(out.rr, c->rr + (c->rr_adv ? 1 : 0));
        if (c->why != NULL)
            assert_string_equal(out.why, c->why);
    }
}

/* Over two rounds, weights 1:3 with equal loads per weight give 2 and 6
 * reads. */
static void test_weighted_round(void **state)
{
    (void)state;
    struct rcase c = {"round", READ, .weights = "113", .out = {0, 0, 2}};
    struct route_backend be[N];
    struct route_in in;
    struct route_out out;
    int got[N] = {0};
    build(&c, &in, be);
    for (int i = 0; i < 8; i++) {
        route_decide(&in, &out);
        assert_int_equal(out.verdict, ROUTE_GO);
        got[out.target]++;
        in.rr = out.rr;
    }
    assert_int_equal(got[0], 0);
    assert_int_equal(got[1], 2);
    assert_int_equal(got[2], 6);
}

/* Past the 64th backend (route_open_at asks those again): of 70, the
 * replicas 40 (weight 1) and 66 (weight 3, 2 in flight: the same load
 * per weight) take reads, 2 and 6 over eight rounds; the rest have
 * weight 0, or no room (68). With 66 excluded, 40 takes all; with more
 * in flight at 40, 66 does. */
static void test_past_64(void **state)
{
    (void)state;
    enum { M = 70 };
    struct rcase c = {"past 64", READ};
    struct route_backend tmp[N], be[M];
    struct route_in in;
    struct route_out out;
    build(&c, &in, tmp);
    for (uint32_t i = 0; i < M; i++)
        be[i] = (struct route_backend){.name = "x",
                                       .role = i == 0 ? ROLE_PRIMARY : ROLE_REPLICA,
                                       .why = "",
                                       .weight = i == 0 || i == 40 || i == 68 ? 1 : 0,
                                       .monitored = true,
                                       .usable = true,
                                       .usable_in_trx = true,
                                       .conn_room = i != 68};
    be[66].weight = 3;
    be[66].outstanding = 2; /* a cost per weight equal to 40's */
    in.be = be;
    in.n_be = M;
    int got[M] = {0};
    for (int k = 0; k < 8; k++) {
        route_decide(&in, &out);
        assert_int_equal(out.verdict, ROUTE_GO);
        got[out.target]++;
        in.rr = out.rr;
    }
    assert_int_equal(got[40], 2);
    assert_int_equal(got[66], 6);
    in.exclude = 66;
    route_decide(&in, &out);
    assert_int_equal(out.target, 40);
    in.exclude = -1;
    be[40].outstanding = 5;
    for (int k = 0; k < 4; k++) {
        route_decide(&in, &out);
        assert_int_equal(out.target, 66);
        in.rr = out.rr;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_weighted_round),
        cmocka_unit_test(test_past_64),
    };
    return cmocka_run_group_tests_name("router", tests, NULL, NULL);
}
