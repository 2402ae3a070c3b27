/*
 * router.c: where a statement runs (see router.h). Pure: reads *in,
 * writes *out, nothing else.
 */
#include "halyard/route/router.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static void route_go(struct route_out *out, uint32_t idx)
{
    out->verdict = ROUTE_GO;
    out->target = idx;
}

/* What route_replica_open() lets through besides this zone's replicas
 * that are in step with the session. */
enum route_open {
    OPEN_FAR = 1u << 0,    /* other zones' replicas too */
    OPEN_BEHIND = 1u << 1, /* replicas the session's reads waited on in vain too */
};

/* May replica `i` take a new read? Its role, its state, its weight, its
 * zone, whether the session's reads found it behind, and its connection
 * limit when the session has no connection there yet. */
static inline __attribute__((always_inline)) bool route_replica_open(const struct route_in *in,
                                                                     uint32_t i, unsigned open)
{
    const struct route_backend *b = &in->be[i];
    if (b->weight == 0 || (b->role != ROLE_REPLICA && !b->reads_too) ||
        (b->far && !(open & OPEN_FAR)) || (b->behind && !(open & OPEN_BEHIND)))
        return false;
    return !b->monitored || (b->usable && (b->conn || b->conn_room));
}

/* What a read there costs: the statements in flight there and this one,
 * times the round trip in whole milliseconds, at least `floor_ms`
 * (route_rtt_floor: so a replica 50 ms away takes a read only when the
 * near ones carry ten times its load, and replicas in one data center, or
 * checks all delayed on a busy machine, are alike). */
static uint64_t route_cost(const struct route_backend *b, uint32_t floor_ms)
{
    return (b->outstanding + 1) * HY_MAX(b->rtt_ms, floor_ms);
}

/* The replicas route_replica_open() allows but `exclude`, asked once a
 * pick: bit i for the first 64 backends (`set`), asked again past them. */
static inline bool route_open_at(const struct route_in *in, uint64_t set, uint32_t i, int exclude,
                                 unsigned open)
{
    if (i < 64)
        return (set >> i & 1) != 0;
    return (int)i != exclude && route_replica_open(in, i, open);
}

/* The least round trip a read may be charged among the replicas
 * route_replica_open() allows: ROUTE_RTT_FLOOR_MS, or twice the nearest
 * one's when that is more. A busy machine delays every check (the monitor's
 * and the servers' turns on the CPU), by a few milliseconds that differ
 * from check to check: without the second bound, 14 ms against 15 ms sent
 * every read to one replica. Notes the first 64 in *set (route_open_at). */
static uint32_t route_rtt_floor(const struct route_in *in, int exclude, unsigned open,
                                uint64_t *set)
{
    uint32_t nearest = UINT32_MAX;
    *set = 0;
    for (uint32_t i = 0; i < in->n_be; i++) {
        if ((int)i != exclude && route_replica_open(in, i, open)) {
            nearest = HY_MIN(nearest, in->be[i].rtt_ms);
            if (i < 64)
                *set |= 1ull << i;
        }
    }
    return nearest == UINT32_MAX ? ROUTE_RTT_FLOOR_MS
                                 : HY_MAX((uint32_t)ROUTE_RTT_FLOOR_MS, nearest * ROUTE_RTT_ALIKE);
}

/* Among the replicas route_replica_open() allows (`open`), the one with the least cost (route_cost)
 * per unit of weight, ties shared by weighted round robin; `exclude` (-1 = none) is never picked.
 * UINT32_MAX when none can serve. */
static uint32_t route_pick_among(const struct route_in *in, struct route_out *out, int exclude,
                                 unsigned open)
{
    uint64_t set;
    const uint32_t floor_ms = route_rtt_floor(in, exclude, open, &set);
    if (set == 0 && in->n_be <= 64)
        return UINT32_MAX;
    uint64_t best_cost = 0, best_w = 0; /* best load: best_cost / best_w */
    uint32_t total = 0;
    for (uint32_t i = 0; i < in->n_be; i++) {
        if (!route_open_at(in, set, i, exclude, open))
            continue;
        uint64_t c = route_cost(&in->be[i], floor_ms), w = in->be[i].weight;
        if (best_w == 0 || c * best_w < best_cost * w) {
            best_cost = c;
            best_w = w;
            total = (uint32_t)w;
        } else if (c * best_w == best_cost * w) {
            total += (uint32_t)w;
        }
    }
    if (total == 0)
        return UINT32_MAX;
    uint32_t r = out->rr++ % total;
    for (uint32_t i = 0; i < in->n_be; i++) {
        if (!route_open_at(in, set, i, exclude, open))
            continue;
        uint64_t c = route_cost(&in->be[i], floor_ms), w = in->be[i].weight;
        if (c * best_w != best_cost * w)
            continue;
        if (r < w)
            return i;
        r -= (uint32_t)w;
    }
    return UINT32_MAX;
}

/* The replica a read goes to among those `open` allows: one of this
 * zone's (zone_reads), else, with local_first, another zone's. UINT32_MAX
 * when none can serve. */
static uint32_t route_pick_zone(const struct route_in *in, struct route_out *out, int exclude,
                                unsigned open)
{
    if (in->zone_reads == ZONE_READS_ANY)
        open |= OPEN_FAR;
    uint32_t i = route_pick_among(in, out, exclude, open);
    if (i == UINT32_MAX && in->zone_reads == ZONE_READS_LOCAL_FIRST)
        i = route_pick_among(in, out, exclude, open | OPEN_FAR);
    return i;
}

/* The replica a read goes to (route_pick_zone): one the session's reads
 * did not find behind, else any (whose wait then decides, as before the
 * miss); the primary when none can serve. */
static uint32_t route_pick_replica(const struct route_in *in, struct route_out *out, int exclude)
{
    uint32_t i = in->any_behind ? route_pick_zone(in, out, exclude, 0) : UINT32_MAX;
    if (i == UINT32_MAX)
        i = route_pick_zone(in, out, exclude, OPEN_BEHIND);
    return i == UINT32_MAX ? in->primary : i;
}

/* Where a read runs outside a transaction: where a hint says, the primary
 * when the split is off or the consistency wants it, else a replica. */
static void decide_read(const struct route_in *in, struct route_out *out, bool ro_begin)
{
    if (in->hint == CLH_REPLICA) {
        route_go(out, route_pick_replica(in, out, in->exclude));
        return;
    }
    if (in->hint == CLH_BACKEND && in->hint_backend != NULL) {
        for (uint32_t i = 0; i < in->n_be; i++) {
            if (strcmp(in->be[i].name, in->hint_backend) == 0 && (int)i != in->exclude) {
                route_go(out, i);
                return;
            }
        }
    }
    /* While another session holds LOCK TABLES, reads wait on the primary
     * for its locks, as on one server; a replica holds none. */
    if (in->hint != CLH_NONE || !in->read_write_split || in->locks_elsewhere) {
        route_go(out, in->primary);
        return;
    }
    if (in->flags & CLF_PREV_STMT) {
        /* FOUND_ROWS() and the like: where the last statement ran; SHOW
         * WARNINGS and the like: where the session's diagnostics are. */
        uint32_t at = (in->flags & CLF_DIAG) ? in->diag_idx : in->last_idx;
        out->sticky = at < in->n_be && in->be[at].conn;
        /* Pooled, a connection goes back only with no warnings on it: the
         * session's diagnostics are empty, as any connection there will be
         * once taken (warnings another session left are cleared). */
        bool empty_there = in->pooled && (in->flags & CLF_DIAG) && at < in->n_be &&
                           !in->be[at].conn && in->be[at].usable;
        route_go(out, out->sticky || empty_there ? at : in->primary);
        return;
    }
    if (in->show_status) {
        route_go(out, in->primary);
        return;
    }
    switch (in->consistency) {
    case CONSISTENCY_STRONG:
        if (in->last_write > 0 && in->now - in->last_write < in->strong_window_ms / 1e3) {
            route_go(out, in->primary);
            return;
        }
        break;
    case CONSISTENCY_CAUSAL:
        out->causal = true;
        break;
    case CONSISTENCY_GLOBAL:
        out->global = true;
        break;
    default:
        break;
    }
    uint32_t idx = route_pick_replica(in, out, in->exclude);
    if (idx == in->primary && in->replica_fallback_error) {
        out->verdict = ROUTE_NO_REPLICA;
        return;
    }
    out->ro_begin = ro_begin && idx != in->primary;
    route_go(out, idx);
}

static void decide_statement(const struct route_in *in, struct route_out *out)
{
    uint32_t f = in->flags;
    out->uvars_opaque = (f & CLF_UVARS_OPAQUE) != 0;
    /* A plain SET of session and user variables: its values are read
     * back and replayed elsewhere (session_state.c). */
    bool plain_set = in->nvars > 0 && in->nstmt == 1 &&
                     !(f & (CLF_SET_GLOBAL | CLF_VARS_TRUNCATED)) &&
                     (in->kind == CL_SESSION || in->kind == CL_PIN_PRIMARY);
    if (in->ro_idx >= 0 && (f & CLF_TXN_NEXT) && in->nstmt == 1) {
        /* SET TRANSACTION (the next one's) inside the read-only
         * transaction: the server refuses it there (1568); the primary,
         * with no transaction open, would take it. */
        route_go(out, (uint32_t)in->ro_idx);
        return;
    }
    /* A text of several statements that sets variables, with reads
     * only besides: never a write that commits a read-only transaction */
    uint32_t state_kinds = CL_BIT(CL_SESSION) | CL_BIT(CL_PIN_PRIMARY);
    bool state_text = (f & CLF_MULTI) && in->nvars > 0 && (in->kinds & state_kinds) &&
                      !(in->kinds & ~(state_kinds | CL_BIT(CL_READ)));
    /* Outside a read-only transaction, any text of several statements
     * with a SET, USE... among them: its state is not read back */
    bool multi_state = (f & CLF_MULTI) && (in->kinds & CL_BIT(CL_SESSION)) && in->ro_idx < 0;
    if (plain_set || in->kind == CL_SESSION || (state_text && in->ro_idx >= 0) || multi_state ||
        (f & (CLF_USE | CLF_AUTOCOMMIT | CLF_SET_NAMES | CLF_TXN_SESSION))) {
        if (!in->fits || (f & CLF_MULTI) || (!plain_set && in->kind != CL_SESSION))
            out->pin = "session state set in a way that cannot be replayed";
        else
            out->log_state = true;
        route_go(out, in->primary);
        if (out->pin != NULL && in->ro_idx >= 0)
            /* the read-only transaction goes on on its replica, which
             * would not have it: the primary's answer and every later one
             * of the transaction's would differ from the server's */
            out->verdict = ROUTE_RO_TRX_STATE;
        return;
    }
    if (in->ro_idx >= 0 && in->first_ends_trx && !(f & (CLF_XA | CLF_UVARS_OPAQUE))) {
        /* A text of several statements whose first ends the read-only
         * transaction (BEGIN; UPDATE ...): the server ends it before the
         * rest runs, outside it. So does its connection; the text runs on
         * the primary (before 2026-11-29 it was refused whole, 1792) */
        out->trx_end = true;
        out->close_idx = in->ro_idx;
        route_go(out, in->primary);
        return;
    }
    if (in->ro_idx >= 0 && (f & CLF_MULTI) && !(f & CLF_XA) && (in->kinds & CL_BIT(CL_TXN_END)) &&
        !(in->kinds & ~(CL_BIT(CL_READ) | CL_BIT(CL_TXN_END)))) {
        /* Reads with a COMMIT or ROLLBACK among them: those before it run
         * in the transaction, on its replica, the rest there too, once it
         * ended (it ends with the answer's status, session.c). Before
         * 2026-11-29 the whole text ran on the primary, as a statement
         * that commits implicitly, and the reads before the COMMIT were
         * answered outside the transaction. */
        route_go(out, (uint32_t)in->ro_idx);
        return;
    }
    if (in->ro_idx >= 0) {
        /* The server refuses these in a READ ONLY transaction (1792); the
         * replica it runs on would say 1290 (read_only) instead. Other
         * statements run there and the server decides. */
        if ((in->kind == CL_WRITE && (f & CLF_DML)) ||
            (f & (CLF_LOCKING_READ | CLF_TEMP_TABLE_CREATED))) {
            out->verdict = ROUTE_RO_TRX_WRITE;
            return;
        }
        /* An SQL PREPARE: refused (ROUTE_RO_TRX_PREPARE). Before 2026-11-30
         * it ended the transaction as DDL does, and a DEALLOCATE too; the
         * server keeps it. */
        if (in->sql_ps == ROUTE_SQL_PREPARE) {
            route_go(out, (uint32_t)in->ro_idx);
            out->verdict = ROUTE_RO_TRX_PREPARE;
            return;
        }
        if (in->sql_ps == ROUTE_SQL_DEALLOCATE) {
            /* the server keeps the transaction: the statement is named on
             * the replica, where an SQL PREPARE of this transaction's text
             * made it, or on none (1243, as the server says: one prepared
             * before pinned the session, and the transaction is on the
             * primary) */
            route_go(out, (uint32_t)in->ro_idx);
            return;
        }
        /* DDL, GRANT, FLUSH..., and START TRANSACTION (READ WRITE): the
         * server commits the read-only transaction first and runs the
         * statement outside it. The replica would refuse it (1290), or run
         * it, unseen by the primary, for an account with READ ONLY ADMIN.
         * The transaction ends with its connection; the statement runs on
         * the primary. A CALL or EXECUTE stays: it runs inside the
         * transaction, and the server refuses what it would write. So
         * does XA START, which commits nothing: the server refuses it in
         * any open transaction (1400, XAE09). */
        if ((in->kind == CL_TXN_BEGIN && !(f & CLF_XA)) ||
            (in->kind == CL_WRITE &&
             !(f & (CLF_UVARS_OPAQUE | CLF_STATE_OPAQUE | CLF_ROUTINE_CALL | CLF_XA)))) {
            out->trx_end = true;
            out->close_idx = in->ro_idx;
            route_go(out, in->primary);
            return;
        }
        if (f & CLF_USER_LOCK) {
            /* GET_LOCK and the like: where the other sessions' locks are,
             * the session pinned there as outside a transaction (the
             * replica's would exclude no one) */
            out->pin = "user lock (GET_LOCK): it lives on the primary connection";
            route_go(out, in->primary);
            return;
        }
        route_go(out, (uint32_t)in->ro_idx); /* the whole read-only transaction runs there */
        return;
    }
    if (f & (CLF_TEMP_TABLE_CREATED | CLF_LOCK_TABLES))
        out->pin = "temporary table or LOCK TABLES";
    else if (f & CLF_USER_VAR_SET)
        out->pin = "user variable set by a query";
    else if (f & CLF_STATE_OPAQUE)
        out->pin = "EXECUTE or a compound statement may change the session state unseen";
    else if (f & CLF_USER_LOCK)
        out->pin = "user lock (GET_LOCK): it lives on the primary connection";
    /* START TRANSACTION READ ONLY is a read too: the whole transaction runs
     * on one replica. */
    bool ro_begin = in->kind == CL_TXN_BEGIN_RO && !(f & CLF_MULTI);
    /* A user variable a CALL or EXECUTE may have set lives on the primary
     * only: what mentions one reads it there. */
    bool opaque_var = in->uvars_opaque && (f & CLF_USER_VAR_REF);
    if (in->pinned || out->pin != NULL || in->in_trans || opaque_var ||
        (in->kind != CL_READ && !ro_begin)) {
        route_go(out, in->primary);
        return;
    }
    decide_read(in, out, ro_begin);
}

/* Health gate for in->target (see router.h). */
static void route_gate(const struct route_in *in, struct route_out *out)
{
    uint32_t idx = in->target;
    const struct route_backend *b = &in->be[idx];
    bool fenced = b->monitored && idx == in->primary && b->fenced;
    if (!b->monitored || (b->usable && !fenced)) {
        route_go(out, idx);
        return;
    }
    /* A transaction on the primary is open on the session's connection
     * there: with none (autocommit = 0 and nothing run since, or the
     * connection given back to the pool) nothing is lost, and the
     * statement waits for a primary as one outside a transaction does. */
    bool trx_here = (idx == in->primary && in->in_trans && b->conn) || (int)idx == in->ro_idx;
    if (b->conn && (trx_here || in->sticky) && b->usable_in_trx) {
        route_go(out, idx);
        return;
    }
    if (trx_here) {
        /* Its transaction cannot go on (the backend is DOWN or MAINT, or a
         * Galera node not Synced: session_route.c's view). */
        out->close_idx = b->conn ? (int)idx : -1;
        out->trx_end = true;
        out->verdict = ROUTE_TRX_LOST;
        snprintf(out->why, sizeof(out->why),
                 "Lost connection to backend '%s' (%s) during the transaction", b->name,
                 backend_state_to_str(b->state));
        return;
    }
    if (idx != in->primary) {
        /* A hint or the previous statement named a replica that is out:
         * any other replica, or the primary. */
        uint32_t j = route_pick_replica(in, out, (int)idx);
        if (j != in->primary || !in->be[j].monitored || in->be[j].usable) {
            route_go(out, j);
            return;
        }
        b = &in->be[j];
    }
    out->verdict = ROUTE_NO_PRIMARY;
    if (fenced && b->usable) {
        snprintf(out->why, sizeof(out->why), "No primary available: backend '%s' is being demoted",
                 b->name);
        return;
    }
    if (b->unchecked && b->state == BACKEND_ONLINE) { /* DOWN: its checks said why */
        snprintf(out->why, sizeof(out->why),
                 "No primary available: no check of backend '%s' has passed yet", b->name);
        return;
    }
    /* Say why, as the monitor or the operator saw it. */
    route_no_primary_why(out->why, sizeof(out->why), b->name, b->state, b->why);
}

void route_no_primary_why(char *buf, size_t len, const char *name, enum backend_state state,
                          const char *why)
{
    if (why == NULL)
        why = "";
    snprintf(buf, len, "No primary available: backend '%s' is %s%s%.200s%s", name,
             backend_state_to_str(state), why[0] ? " (" : "", why, why[0] ? ")" : "");
}

/* in->target failed before the command ran there (see router.h). The
 * bound matters: a session state every replica refuses (a schema only the
 * primary has) would otherwise bounce between two replicas for ever. */
static void route_fall_back(const struct route_in *in, struct route_out *out)
{
    out->verdict = ROUTE_NO_FALL_BACK;
    if (in->target == in->primary || in->ro_idx == (int)in->target)
        return;
    uint32_t j = in->fell_back ? in->primary : route_pick_replica(in, out, (int)in->target);
    if (j == in->primary &&
        (in->replica_fallback_error || (in->be[j].monitored && !in->be[j].usable)))
        return;
    route_go(out, j);
}

void route_decide(const struct route_in *in, struct route_out *out)
{
    /* Every field zero but why[] (320 bytes, twice a statement: the
     * decision and the health gate), which only the verdicts that carry a
     * reason fill; fields added after why are zeroed too. */
    out->verdict = ROUTE_NO_PRIMARY;
    out->target = in->primary;
    out->why[0] = '\0';
    memset(&out->pin, 0, sizeof(*out) - offsetof(struct route_out, pin));
    out->close_idx = -1;
    out->rr = in->rr;
    switch (in->op) {
    case ROUTE_STATEMENT:
        decide_statement(in, out);
        break;
    case ROUTE_GATE:
        route_gate(in, out);
        break;
    case ROUTE_FALL_BACK:
        route_fall_back(in, out);
        break;
    }
}
