/*
 * session_backend.c: the session's backend connections, part of the session
 * module (session_int.h): opening, logging in and closing them, and what they
 * report: ready, failed or lost (a fallback, a retry elsewhere, or the
 * error), halyard's own commands (internal_send) and their answers
 * (internal_progress), readable and writable sockets, and the wait for a
 * usable primary while a failover runs.
 */
#include <ctype.h>
#include <stdarg.h>
#include <strings.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "halyard/core/audit.h"
#include "halyard/protocol/auth.h"
#include "halyard/cluster/backend.h"
#include "halyard/config/group.h"
#include "halyard/sql/classify.h"
#include "halyard/protocol/compress.h"
#include "halyard/sql/digest.h"
#include "halyard/route/firewall.h"
#include "halyard/session/guard.h"
#include "halyard/protocol/proxyproto.h"
#include "halyard/session/registry.h"
#include "halyard/protocol/relay.h"
#include "halyard/route/router.h"
#include "halyard/pool/server.h"
#include "halyard/session/session.h"
#include "halyard/cluster/users.h"
#include "halyard/session/session_err.h"
#include "halyard/core/stats.h"
#include "halyard/protocol/tls.h"
#include "halyard/sql/track.h"
#include "halyard/session/worker.h"
#include "session_int.h"
#include "session_begin.h"
#include "session_fanout.h"
#include "session_kill.h"
#include "session_login.h"
#include "session_pool.h"
#include "session_ps.h"
#include "session_reload.h"
#include "session_shard.h"
#include "session_state.h"
#include "session_sysview.h"

/* ---- backend events ---------------------------------------------------- */

void session_backend_ready(struct session *s)
{
    struct bconn *bc = s->conns.cur;
    session_timer_stop(s);
    ev_io_start(s->w->loop, &bc->c.rio);
    slog_debug(s, "backend %s ready, thread %u", bc->be->name, bc->login.thread_id);
    if (session_hooks_backend_ready(s)) /* the features' (session_hooks.c): a login's */
        return;
    if (s->state != SS_WAIT_BACKEND)
        return;
    /* The waiting command is routed again: ensure_backend() brings the
     * session state here, after a causal wait if there is one. */
    command_end(s);
}

/* Where a command waiting for backend `be` goes when that backend fails:
 * a replica's work goes to another replica once, then to the primary
 * (true); the primary's fails. The bound matters: a session state that
 * every replica refuses (a schema only the primary has) would otherwise
 * bounce between two replicas for ever. */
static bool session_fall_back(struct session *s, const struct config_backend *be)
{
    if (s->route.wait_idx < 0 || s->state != SS_WAIT_BACKEND)
        return false;
    /* The primary that refused may have been replaced meanwhile (a Galera
     * writer's successor is published at once): the fall-back's causal
     * wait reads the new one's position, not the dead one's. */
    uint16_t was = s->route.primary;
    if (!session_in_trans(s)) {
        session_follow_primary(s);
        if (s->state == SS_CLOSING)
            return true;
    }
    if (s->route.wait_idx == (int)was && s->route.primary != was && !s->route.fell_back) {
        /* meant for the primary, which was replaced: the new one takes it
         * (never a replica, as a fall-back from a replica would pick) */
        slog_warn(s, "%s failed: the statement meant for it goes to the new primary %s", be->name,
                  s->cfg->backends[s->route.primary].name);
        s->route.wait_idx = (int)s->route.primary;
        s->route.fell_back = true;
        s->route.causal_check = false;
        command_end(s);
        return true;
    }
    if (!s->route.fell_back && strcmp(be->name, s->cfg->backends[s->route.wait_idx].name) != 0) {
        /* Not the statement's backend but the one an internal query of
         * it ran on (the primary's position for a causal read): the
         * statement goes to its backend again, once; when that was the
         * primary, still the session's, it waits for a usable one (as a
         * write does) and runs there. */
        const char *target = s->cfg->backends[s->route.wait_idx].name;
        s->route.fell_back = true;
        s->route.global_at = 0; /* a global read's position, never read: read again */
        session_set_state(s, SS_IDLE);
        if (strcmp(be->name, s->cfg->backends[s->route.primary].name) == 0 &&
            !session_in_trans(s) && primary_wait_start(s)) {
            s->route.causal_check = false;
            s->route.primary_fail_gen = backend_generation();
            slog_warn(s, "%s failed before the statement meant for %s: it waits for a primary",
                      be->name, target);
            return true;
        }
        slog_warn(s, "%s failed before the statement meant for %s: routing it again", be->name,
                  target);
        session_next_command(s);
        return true;
    }
    struct route_in in;
    struct route_out out;
    if (!route_view(s, ROUTE_FALL_BACK, &in))
        return false;
    in.target = (uint32_t)s->route.wait_idx;
    session_decide(&in, &out);
    if (out.verdict != ROUTE_GO)
        return false;
    uint32_t j = out.target;
    slog_warn(s, "sending the statement meant for %s to %s instead", be->name,
              s->cfg->backends[j].name);
    s->route.wait_idx = (int)j;
    s->route.fell_back = true;
    /* The causal wait ran on the backend that failed, not on this one: a
     * replica waits again (it may not have the session's writes yet). */
    s->route.causal_check = j != s->route.primary && (s->route.causal_read || s->route.global_read);
    s->route.ro_idx = -1;
    command_end(s);
    return true;
}

void session_trx_lost(struct session *s, const char *name)
{
    free(s->route.trx_lost);
    if ((s->route.trx_lost = strdup(name)) == NULL) {
        session_mark_closing(s, END_NOMEM); /* the client must not miss it */
        return;
    }
    struct bconn *bc = s->route.primary < s->conns.n_bc ? s->conns.bc[s->route.primary] : NULL;
    session_hooks_trx_lost(s, bc, name); /* what of it stays, its replay (session_hooks.c) */
}

bool up_unread(struct session *s, const uint8_t *payload, uint32_t len)
{
    struct stream *st = &s->io.up;
    uint32_t n = MYSQL_HEADER_SIZE + len;
    if (st->b != NULL && st->head != st->scan)
        return false; /* request bytes not flushed yet: cannot happen once answered */
    if (stream_reserve(st, &s->w->pool) != HY_OK)
        return false;
    stream_compact(st);
    if (st->tail + n > st->b->cap)
        return false;
    memmove(st->b->data + n, st->b->data, st->tail);
    mysql_hdr_write(st->b->data, len, 0);
    memcpy(st->b->data + MYSQL_HEADER_SIZE, payload, len);
    st->tail += n;
    st->scan = st->head = 0;
    return true;
}

/* Put the command kept by retry_keep back in front of `up`, to be routed
 * again. False when there is no room for it. */
static bool retry_unread(struct session *s)
{
    return up_unread(s, s->route.retry_pkt + MYSQL_HEADER_SIZE,
                     s->route.retry_len - MYSQL_HEADER_SIZE);
}

/* The read kept to run again leaves backend bc (lost: it died, else it
 * refused): counted, bc excluded and closed, and the command taken again
 * from `up`, where the router now sends it. */
static bool retry_elsewhere(struct session *s, struct bconn *bc, bool lost)
{
    query_end(s, lost);
    stat_inc(&s->w->stats.statements_retried);
    s->route.retried = true;
    s->route.retry_exclude = bc->idx;
    bconn_close(bc);
    stream_release(&s->io.down, &s->w->pool);
    s->query.digest_pending = false;
    s->query.qlog_pending = false;
    command_end(s);
    return true;
}

/* An autocommit read whose server (a replica, or the primary when
 * retry_primary_ok) died before the client got any of its answer runs
 * again, once, where the router now sends it (another replica, the primary
 * or, after waiting for it, the new primary): the client never knows. What
 * the dead server sent is still held in `down` (retry_buffer_size) and is
 * dropped. */
static bool session_retry(struct session *s, struct bconn *bc)
{
    if (!s->route.retry_ok || s->route.retried || s->io.down_sent || s->io.req_open ||
        s->io.resp_done || s->query.internal != NULL ||
        (bc->idx == s->route.primary && !retry_primary_ok(s, true)) || !retry_unread(s))
        return false;
    slog_info(s, "backend %s died before answering: running the read again elsewhere",
              bc->be->name);
    return retry_elsewhere(s, bc, true);
}

/* A read kept to run again (retry_keep) that a Galera node answered with
 * a refusal of its wsrep state (1047, "WSREP has not yet prepared node for
 * application use": a joiner, a donor that rejects queries,
 * wsrep_reject_queries, a node out of the Primary component) before the
 * monitor's next check took it out: the node takes no more reads until a
 * check finds it synced (backend_refuse_reads), and the read runs again,
 * once, where the router now sends it, as for a server that died. Only
 * what a lost read may do (session_retry): the client got none of the
 * answer, which is that ERR alone. True when it runs again. */
bool session_retry_refused(struct session *s)
{
    struct bconn *bc = s->conns.cur;
    if (bc == NULL || s->io.resp.err_code != ER_WSREP_NOT_READY || bc->be->rt == NULL ||
        s->cfg->cluster != CLUSTER_GALERA || !s->route.retry_ok || s->route.retried ||
        s->io.down_sent || s->io.req_open || s->query.internal != NULL ||
        session_hooks_trailing(s) || (bc->idx == s->route.primary && !retry_primary_ok(s, true)) ||
        !retry_unread(s))
        return false;
    char why[120];
    snprintf(why, sizeof(why), "error %u", s->io.resp.err_code);
    backend_refuse_reads(bc->be->rt, why);
    slog_info(s,
              "backend %s refused the read (error %u, its wsrep state): running it again "
              "elsewhere",
              bc->be->name, s->io.resp.err_code);
    return retry_elsewhere(s, bc, false);
}

/* ---- the failure path ------------------------------------------------------
 * A backend connection of the session is lost: it broke, closed, timed out
 * under a command, or refused the state brought to it. Whatever was in
 * flight on it (the client's command, one halyard sent itself, or nothing),
 * every detector calls one function, session_conn_lost (the answer's read
 * and write, the server's report, the timer, the state's sync through
 * session_backend_failed). What follows is decided from what was open on
 * the connection (conn_loss_of), never from which command noticed:
 *   - state only it had (temporary tables, locks, a CALL's user variables,
 *     a SET's effects being read back): the session ends;
 *   - the session's transaction: lost. The client's statement in flight
 *     there is told now (1927, or the write's fate unknown); else the
 *     session's next statement meets it (after_lost: replayed first where
 *     it can be, else 1927). A command waiting on the connection is taken
 *     again to meet it, never run alone outside its transaction;
 *   - nothing of the session's: an autocommit read runs again elsewhere,
 *     a waiting command falls back, waits for a primary or gets the ERR,
 *     and the session goes on with a new connection.
 * What was in flight says only who is answered, and how. The features take
 * their part at the lost points, unnamed: on_lost (the write in flight
 * looked for, the transaction replayed, what of it stays) and on_trx_lost.
 * A connection that could not be opened at all (connect, login) fails
 * through session_backend_failed, to the same waiting command's end. */

/* What a lost connection took with the session (conn_loss_of). */
enum conn_loss {
    LOSS_NONE, /* nothing of the session's: the command may go on elsewhere */
    LOSS_TRX,  /* its transaction: the client is told now or at its next statement */
    LOSS_END,  /* state that cannot be rebuilt: the session ends */
};

/* Whether `bc` holds the session's open transaction (a BEGIN not run yet,
 * session_begin.c, has nothing there to lose) or its read-only one. */
static bool holds_trx(struct session *s, const struct bconn *bc)
{
    return (bc->idx == s->route.primary && session_in_trans(s) &&
            session_groups(s)->begin_sql[0] == '\0') ||
           s->route.ro_idx == (int)bc->idx;
}

/* What losing the open connection `bc` takes with the session, `op` the
 * command of halyard's own in flight there (NULL: none), from what is open
 * on it alone. */
static enum conn_loss conn_loss_of(struct session *s, const struct bconn *bc,
                                   const struct internal_cmd *op)
{
    if (bc->state != BCONN_READY)
        return LOSS_NONE; /* never opened: nothing was there */
    if ((bc->idx == s->route.primary && (s->route.pinned || s->route.uvars_opaque)) ||
        (op != NULL && (op->flags & INTERNAL_OWN_STATE)))
        return LOSS_END;
    return holds_trx(s, bc) ? LOSS_TRX : LOSS_NONE;
}

/* The loss in the session's route, before `bc` closes: its read-only
 * transaction gone, the primary's transaction no longer open, and, unless
 * the client is told with the statement in flight (`told`), the session's
 * next statement meets the loss (session_trx_lost). */
static void loss_note(struct session *s, const struct bconn *bc, enum conn_loss loss, bool told)
{
    if (s->route.ro_idx == (int)bc->idx)
        s->route.ro_idx = -1; /* its read-only transaction is gone with it */
    if (loss != LOSS_TRX)
        return;
    if (bc->idx == s->route.primary && session_groups(s)->begin_sql[0] == '\0')
        s->route.status &= (uint16_t)~SERVER_STATUS_IN_TRANS;
    if (!told)
        session_trx_lost(s, bc->be->name);
}

/* The command waiting on the connection that failed (hl->bc closed now:
 * halyard's own command lost there, or it could not be opened for the
 * client's command, `err_payload` the backend's refusal or NULL): taken
 * again to meet a lost transaction, a feature's (a replay waits for
 * another primary), fallen back elsewhere, waiting for a primary, or
 * answered with the error. */
static void lost_waiting(struct session *s, struct hook_lost *hl, const uint8_t *err_payload,
                         size_t err_len)
{
    const struct config_backend *be = hl->be;
    const char *why = hl->why;
    uint8_t seq = (uint8_t)(s->io.last_seq + 1);
    if (s->state == SS_LOGIN_BACKEND) {
        if (err_payload == NULL && login_wait_start(s, true))
            return;
        if (err_payload != NULL)
            send_err_payload(s, seq, err_payload, err_len);
        else
            session_err(s, seq, SERR_CANT_CONNECT, be->name, be->address, be->port, why);
        session_mark_closing(s, err_payload != NULL ? END_BACKEND_LOGIN : END_BACKEND_LOST);
        return;
    }
    if (s->state != SS_WAIT_BACKEND)
        return;
    if (hl->trx) {
        /* The waiting command is taken again and meets the lost
         * transaction as any statement after it would (after_lost: replayed
         * first, on the primary published now): it is never run by itself,
         * outside the transaction it belongs to. */
        command_abandon(s);
        session_set_state(s, SS_IDLE);
        session_next_command(s);
        return;
    }
    if (session_hooks_lost(s, hl) || session_fall_back(s, be) ||
        (err_payload == NULL && primary_retry(s, be)))
        return;
    /* Answer the waiting command with an error and drop it. */
    command_abandon(s);
    session_set_state(s, SS_IDLE);
    struct stream *st = &s->io.up;
    uint32_t len = mysql_hdr_len(st->b->data + st->scan);
    if (len + MYSQL_HEADER_SIZE > stream_unparsed(st)) {
        /* the rest of a huge command is still coming: give up the session */
        session_mark_closing(s, END_BACKEND_LOST);
    } else {
        consume_packet(s, len);
    }
    if (err_payload != NULL)
        send_err_payload(s, 1, err_payload, err_len);
    else
        session_err(s, 1, SERR_CANT_CONNECT, be->name, be->address, be->port, why);
    if (s->state == SS_IDLE)
        session_next_command(s);
}

/* The client's command in flight on hl->bc (open still) lost: the
 * features' first (a write looked for, a transaction replayed), else, at
 * a packet boundary, an ERR that says what was lost; the session goes on
 * unless it lost state only that connection had. */
static void lost_client(struct session *s, struct hook_lost *hl, enum conn_loss loss)
{
    struct bconn *bc = hl->bc;
    if (session_hooks_lost(s, hl))
        return; /* a feature's: where the write in flight went, the transaction replayed */
    loss_note(s, bc, loss, true);
    if (!s->io.resp_done && !s->io.req_open && s->io.rdown.left == 0 && !s->io.rdown.cont &&
        (s->io.down.b == NULL || stream_empty(&s->io.down))) {
        /* At a packet boundary the client can still be told why; the ERR
         * takes the sequence id after the last packet it was sent (what of
         * a transaction stays: the on_lost rows noted it, trx_lost_keeps). */
        uint8_t seq = (uint8_t)(s->io.rdown.seq + 1);
        query_end(s, true);
        if (hl->trx && s->query.cmd_may_commit)
            session_err(s, seq, SERR_WRITE_UNKNOWN, hl->be->name,
                        "the connection broke before its answer, and the statement ends the "
                        "transaction");
        else if (hl->trx && hl->nontrx_write)
            session_err(s, seq, SERR_WRITE_UNKNOWN, hl->be->name,
                        "the connection broke before its answer, and its table is not known to "
                        "be transactional (a write to a MyISAM, Aria or MEMORY table stays, "
                        "rollback or not); the rest of the transaction was rolled back");
        else if (hl->trx)
            session_err(s, seq, SERR_TRX_LOST, hl->be->name);
        else
            session_err(s, seq, SERR_BACKEND_LOST, hl->be->name, "query");
        if (loss != LOSS_END) {
            bconn_close(bc);
            s->io.resp_done = true;
            down_forward(s); /* finishes the command once the ERR is out */
            return;
        }
    }
    bconn_close(bc);
    session_mark_closing(s, END_BACKEND_LOST);
}

/* halyard's own command `op` in flight on hl->bc lost: its connection
 * closed, then what waits on it goes on (a read with no waiter: the
 * session; a read the command can do without: the command, told while
 * the connection is still there to say whose it was). */
static void lost_own(struct session *s, struct hook_lost *hl, enum conn_loss loss,
                     const struct internal_cmd *op)
{
    bool no_waiter = op != NULL && (op->flags & INTERNAL_NO_WAITER);
    bool dropped = loss != LOSS_END && !no_waiter && op != NULL && op->lost != NULL;
    if (dropped)
        op->lost(s); /* what it reads is dropped; the command goes on without it */
    session_timer_stop(s);
    s->query.internal = NULL;
    s->io.resp_done = false;
    bconn_close(hl->bc);
    hl->bc = NULL;
    stream_release(&s->io.down, &s->w->pool);
    if (loss == LOSS_END) {
        session_mark_closing(s, END_BACKEND_LOST);
        return;
    }
    if (no_waiter || dropped) {
        /* No command waits (the client has its answer: what it read is
         * lost, LAST_INSERT_ID() as bconn_close said), or the command goes
         * on without what it read: the session goes on. */
        command_end(s);
        return;
    }
    lost_waiting(s, hl, NULL, 0);
}

/* session_conn_lost; `waits`: the caller knows a command waits on `bc`
 * (session_backend_failed: its timer, its state refused), which a socket's
 * event on it cannot tell from an idle connection closing. */
static void conn_lost(struct session *s, struct bconn *bc, const char *why, bool waits)
{
    const struct config_backend *be = bc->be;
    /* first, a command's own failure path: an XA step on a branch that is
     * parked too (its answer read there) ends the XA transaction with its
     * error (1402 for a failed PREPARE); closed as parked below, the
     * client's COMMIT waited for an answer that never came */
    const struct internal_cmd *op = bc == s->conns.cur ? s->query.internal : NULL;
    if (op != NULL && op->failed != NULL) {
        op->failed(s, why);
        return;
    }
    if (bc->parked) {
        /* kept for a transaction across groups while the session is on
         * another group: closed, and with it the transaction is lost (the
         * features hear it gone: session_xa_gone) */
        slog_warn(s, "backend %s (a parked XA branch): %s", be->name, why);
        bconn_close(bc);
        return;
    }
    struct hook_lost hl = {.bc = bc, .be = be, .why = why, .flight = LOST_IDLE};
    if (bc == s->conns.cur && op == NULL && s->state == SS_COMMAND)
        hl.flight = LOST_CLIENT;
    else if (bc == s->conns.cur && (op != NULL || waits))
        hl.flight = LOST_WAITING;
    slog_warn(s, "backend %s: %s (%s%s%s)", be->name, why, session_state_to_str(s->state),
              op != NULL ? ", " : "", op != NULL ? op->name : "");
    if (registry_kill_sent(&s->kill.reg)) {
        /* KILL CONNECTION through halyard: the session ends with it (and
         * the backend is not to blame). */
        bconn_close(bc);
        if (hl.flight == LOST_CLIENT)
            session_err(s, (uint8_t)(s->io.rdown.seq + 1), SERR_KILLED);
        session_mark_closing(s, END_KILLED);
        return;
    }
    if (be->rt != NULL) {
        char what[200];
        snprintf(what, sizeof(what), "session %u: %s", s->id, why);
        backend_report_failure(be->rt, be->checks_gen, what);
    }
    if (hl.flight == LOST_CLIENT && session_retry(s, bc))
        return; /* an autocommit read, run again elsewhere */
    enum conn_loss loss = conn_loss_of(s, bc, op);
    hl.trx = bc->state == BCONN_READY && holds_trx(s, bc); /* lost, even when the session ends */
    if (hl.flight == LOST_CLIENT) {
        lost_client(s, &hl, loss);
        return;
    }
    loss_note(s, bc, loss, false);
    if (hl.flight == LOST_WAITING) {
        lost_own(s, &hl, loss, op);
        return;
    }
    bconn_close(bc);
    if (loss == LOSS_END)
        session_mark_closing(s, END_BACKEND_LOST);
}

void session_conn_lost(struct session *s, struct bconn *bc, const char *why)
{
    conn_lost(s, bc, why, false);
}

/* s->conns.cur could not be opened, or refused our login: `err_payload`
 * is the backend's ERR (forwarded as is) or NULL (we answer 1429). An open
 * connection that fails (it refused the session state, timed out under a
 * command of halyard's own) is lost: session_conn_lost. */
void session_backend_failed(struct session *s, const uint8_t *err_payload, size_t err_len,
                            const char *why)
{
    struct bconn *bc = s->conns.cur;
    if (bc->state == BCONN_READY) {
        conn_lost(s, bc, why, true);
        return;
    }
    if (s->query.internal != NULL && s->query.internal->failed != NULL) {
        s->query.internal->failed(s, why); /* the command's own failure path */
        return;
    }
    const struct config_backend *be = bc->be;
    /* The ERR may live in the connection's buffer, which closing frees. */
    uint8_t *err_copy = NULL;
    if (err_payload != NULL) {
        err_copy = malloc(err_len);
        if (err_copy == NULL) {
            err_payload = NULL;
            why = "out of memory";
        } else {
            memcpy(err_copy, err_payload, err_len);
            err_payload = err_copy;
        }
    }
    session_timer_stop(s);
    s->query.internal = NULL;
    bconn_close(bc);
    stream_release(&s->io.down, &s->w->pool);
    if (err_payload == NULL) {
        stat_inc(&s->w->stats.backend_connect_failures);
        if (be->rt != NULL) {
            char what[200];
            snprintf(what, sizeof(what), "session %u: %s", s->id, why);
            backend_count_connect_failure(be->rt, s->w->id);
            backend_report_failure(be->rt, be->checks_gen, what);
        }
    }
    slog_warn(s, "backend %s (%s:%d): %s", be->name, be->address, be->port, why);
    struct hook_lost hl = {.be = be, .why = why, .flight = LOST_WAITING};
    lost_waiting(s, &hl, err_payload, err_len);
    free(err_copy);
}

void session_backend_reap_pending(struct session *s)
{
    for (uint32_t i = 0; i < s->conns.n_bc && s->state != SS_CLOSING; i++) {
        struct bconn *bc = s->conns.bc[i];
        if (bc != NULL && bc->state == BCONN_READY && ev_is_pending(&bc->c.rio))
            session_conn_lost(s, bc, "closed the connection");
    }
}

/* The first column of the first row of an internal query's answer. */
void capture_value(struct session *s, const uint8_t *p, uint32_t len)
{
    struct mysql_rd rd;
    mysql_rd_init(&rd, p, len);
    if (len > 0 && p[0] == 0xfb)
        return; /* NULL */
    size_t n = 0;
    const uint8_t *v = mysql_rd_lenenc_str(&rd, &n);
    if (rd.bad || n >= sizeof(s->conns.cur->capture))
        return;
    memcpy(s->conns.cur->capture, v, n);
    s->conns.cur->capture[n] = '\0';
    s->conns.cur->captured = true;
}

/* Run command `cmd` with `body` (at most a buffer's size) on s->conns.cur for
 * halyard itself; internal_progress() gets the answer. The waiting command
 * stays in `up` meanwhile. */
void internal_send(struct session *s, const struct internal_cmd *op, uint8_t cmd, const void *body,
                   size_t n, int timeout_ms)
{
    struct bconn *bc = s->conns.cur;
    /* A small command goes in one send (one TCP segment, one read for the
     * server), not its header then its body. */
    uint8_t pkt[MYSQL_HEADER_SIZE + 1 + 512];
    bool whole = n <= sizeof(pkt) - MYSQL_HEADER_SIZE - 1;
    mysql_hdr_write(pkt, (uint32_t)(n + 1), 0);
    pkt[MYSQL_HEADER_SIZE] = cmd;
    if (whole && n > 0)
        memcpy(pkt + MYSQL_HEADER_SIZE + 1, body, n);
    internal_expect(s, op, cmd, timeout_ms);
    if (conn_send_local(&bc->c, s->w->loop, &s->w->pool, pkt,
                        MYSQL_HEADER_SIZE + 1 + (whole ? n : 0)) != HY_OK ||
        (!whole && conn_send_local(&bc->c, s->w->loop, &s->w->pool, body, n) != HY_OK)) {
        session_backend_failed(s, NULL, 0, "cannot send an internal command");
        return;
    }
}

/* The answer s->conns.cur gives next is to a command `cmd` halyard ran for
 * itself (sent now by internal_send, or already: a read-back). */
void internal_expect(struct session *s, const struct internal_cmd *op, uint8_t cmd, int timeout_ms)
{
    session_set_state(s, SS_WAIT_BACKEND);
    ev_io_stop(s->w->loop, &s->client.rio);
    s->query.internal = op;
    if (s->conns.cur != NULL) /* the answer comes on it */
        s->conns.cur->captured = false;
    answer_expect(s, cmd, 0);
    session_timer_start(s, timeout_ms);
}

void internal_query(struct session *s, const struct internal_cmd *op, const char *sql,
                    int timeout_ms)
{
    internal_send(s, op, COM_QUERY, sql, strlen(sql), timeout_ms);
}

/* The answer to a command halyard ran itself (internal_query,
 * state_sync_next), read into `down`: nothing of it goes to the client. */
void internal_progress(struct session *s)
{
    if (!down_parse(s))
        return;
    s->io.down.head = s->io.down.scan;
    stream_release_if_empty(&s->io.down, &s->w->pool);
    if (!s->io.resp_done)
        return;
    struct bconn *bc = s->conns.cur;
    const struct internal_cmd *op = s->query.internal;
    s->query.internal = NULL;
    s->io.resp_done = false;
    if (!(op->flags & INTERNAL_KEEPS_VALUES))
        session_pool_internal_ran(s, bc);
    if (op->answered(s, bc) == INTERNAL_WENT_ON)
        return;
    session_timer_stop(s);
    command_end(s);
}

/* s->conns.cur's answer, or an idle connection speaking. */
static void backend_readable(struct session *s, struct bconn *bc)
{
    if (bc != s->conns.cur) {
        /* An idle connection spoke: an ERR before a close (wait_timeout,
         * KILL, shutdown) or the close itself. */
        session_conn_lost(s, bc, "closed the connection");
        return;
    }
    enum relay_rc rr = relay_read(&s->io.down, &bc->c, &s->w->pool);
    if (rr == RELAY_AGAIN) {
        update_reads(s);
        return;
    }
    s->io.down_last = ev_now(s->w->loop);
    if (rr != RELAY_DONE) {
        session_conn_lost(s, bc, rr == RELAY_CLOSED ? "closed the connection" : strerror(errno));
        return;
    }
    if (s->query.internal != NULL) {
        internal_progress(s);
        return;
    }
    if (s->state == SS_COMMAND && s->io.resp_done && session_hooks_trailing(s)) {
        down_forward(s); /* a feature's answer, early (a read-back's): it waits in `down` */
        return;
    }
    if (s->state != SS_COMMAND || s->io.resp_done) {
        /* Nothing was asked: an ERR before a close (KILL, shutdown, timeout). */
        session_conn_lost(s, bc, "sent data while idle");
        return;
    }
    down_forward(s);
}

void backend_writable(struct session *s, struct bconn *bc)
{
    hy_status_t rc = conn_flush_local(&bc->c, &s->w->pool);
    if (rc == HY_ERROR) {
        session_conn_lost(s, bc, strerror(errno));
        return;
    }
    if (rc == HY_AGAIN)
        return;
    if (bc == s->conns.cur && s->io.up.b != NULL && s->io.up.head < s->io.up.scan) {
        up_forward(s);
    } else {
        ev_io_stop(s->w->loop, &bc->c.wio);
        update_reads(s);
    }
}

/* What a backend connection reports (server.h). */
void session_server_event(struct bconn *bc, const struct server_report *r)
{
    struct session *s = bc->owner;
    switch (r->event) {
    case SERVER_READY:
        bc->epoch = ++s->w->conns.serial; /* logged in after the session began */
        connreg_serve(&bc->reg, s->id);
        if (bc == s->conns.cur)
            session_backend_ready(s);
        break;
    case SERVER_FAILED:
        if (bc == s->conns.cur)
            session_backend_failed(s, r->err, r->err_len, r->why);
        else
            session_conn_lost(s, bc, r->why);
        break;
    case SERVER_READABLE:
        backend_readable(s, bc);
        break;
    case SERVER_WRITABLE:
        backend_writable(s, bc);
        break;
    }
    session_reap(s);
}

/* ---- backend connections -----------------------------------------------
 * A session opens at most one connection per configured backend, when a
 * command first needs it (s->conns.bc[idx]). `s->conns.cur` is the one the command in
 * flight uses, or the one being opened or brought up to date for it. The
 * others sit idle, logged in, with their read watcher armed so a close is
 * noticed.
 */

/* The session's commands run on `bc` from now on (the KILL registry told). */
void session_backend_use(struct session *s, struct bconn *bc)
{
    s->conns.cur = bc;
    session_publish_backend(s);
}

void bconn_close(struct bconn *bc)
{
    struct session *s = bc->owner;
    POOL_COUNT(s, bc->be, closed);
    session_hooks_conn_gone(s, bc); /* the features' and the pool's (session_hooks.c) */
    if (!bc->parked)
        s->conns.bc[bc->idx] = NULL;
    varstate_destroy(bc->vs);
    bc->vs = NULL;
    ps_cache_clear(&bc->psc);
    if (s->conns.cur == bc) {
        s->conns.cur = NULL;
        session_publish_backend(s);
    }
    server_destroy(bc);
}

void bconn_close_all(struct session *s)
{
    session_hooks_reset(s); /* the features' (session_hooks.c): XA branches, a pending BEGIN */
    for (uint32_t i = 0; i < s->conns.n_bc; i++) {
        if (s->conns.bc[i] != NULL)
            bconn_close(s->conns.bc[i]);
    }
}

/* ---- the pool's verdicts carried out (pool_mode = "transaction") ----------
 * session_pool.c keeps the books of a connection's hand-over; what is done
 * to the connection (closed, a query run on it, its thread published to
 * the KILL registry) is done here, as its verbs say (enum pool_verdict). */

bool backend_take(struct session *s, uint32_t idx)
{
    if (!session_pool_take(s, idx))
        return false;
    session_publish_backend(s);
    return true;
}

/* LAST_INSERT_ID() read back on bc, s->conns.cur: the books kept by
 * session_pool_lid_read; a value not read closes the connection. */
static enum internal_next lid_read(struct session *s, struct bconn *bc)
{
    if (!session_pool_lid_read(s, bc, internal_value(s, bc)))
        bconn_close(bc);
    return INTERNAL_END;
}

/* SELECT LAST_INSERT_ID() before a connection goes back to the pool: no
 * command waits behind it. */
const struct internal_cmd int_lid = {.name = "a read of LAST_INSERT_ID()",
                                     .flags = INTERNAL_CAPTURE | INTERNAL_NO_WAITER,
                                     .answered = lid_read};

void backend_lid_read(struct session *s, struct bconn *bc)
{
    s->conns.cur = bc;
    session_publish_backend(s);
    internal_query(s, &int_lid, "SELECT LAST_INSERT_ID()", s->cfg->connect_timeout_ms);
}

bool backend_lid_fetch(struct session *s)
{
    switch (session_pool_lid_fetch(s)) {
    case POOL_READ_LID:
        backend_lid_read(s, s->conns.cur);
        return true;
    case POOL_TAKEN:
        session_publish_backend(s);
        return false;
    default:
        return false;
    }
}

bool backend_release(struct session *s)
{
    if (!s->cfg->pool_transaction || s->state != SS_IDLE || s->query.internal != NULL)
        return false;
    bool asked = false; /* the features let them go: the KILL registry's thread was cleared */
    for (uint32_t i = 0; i < s->conns.n_bc; i++) {
        struct bconn *bc = s->conns.bc[i];
        if (bc == NULL)
            continue;
        enum pool_verdict v = session_pool_may_go(s, bc);
        if (v == POOL_GIVE) {
            if (!asked && !session_hooks_may_release(s))
                return false;
            asked = true;
            v = session_pool_give(s, bc);
        }
        if (v == POOL_CLOSE) {
            bconn_close(bc);
        } else if (v == POOL_READ_LID) {
            backend_lid_read(s, bc);
            return true;
        }
    }
    if (asked)
        session_publish_backend(s); /* published again */
    return false;
}

/* Start connecting to backend `idx` (server.h); it becomes s->conns.cur. */
void bconn_open(struct session *s, uint32_t idx)
{
    if (session_pool_wait(s, idx))
        return; /* a connection given back, or a free slot, runs it again */
    struct bconn *bc =
        server_create(&s->cfg->backends[idx], s->w->loop, &s->w->pool, session_server_event, s);
    if (bc == NULL) {
        session_mark_closing(s, END_NOMEM);
        return;
    }
    bc->idx = (uint16_t)idx;
    bc->born = ev_now(s->w->loop);
    bc->defaults_at = bc->born;
    POOL_COUNT(s, bc->be, opened);
    session_hooks_conn_open(s, bc); /* the prepared statements' ids there name another */
    if (s->cfg->pool_transaction) {
        /* Pooled: a new connection is brought to the session's state like
         * one another session used (LAST_INSERT_ID() included). */
        bc->foreign = true;
        bc->vs_gen = s->vars.vs_gen - 1;
        bc->gtid_epoch = s->route.gtid_epoch - 1;
    }
    s->conns.bc[idx] = bc;
    s->conns.cur = bc;
    session_timer_stop(s); /* the connection times its own connect and login */
    struct mysql_client_creds cr;
    session_creds(s, bc->be, &cr);
    struct server_report r;
    if (!server_connect(bc, &cr, s->cfg->connect_timeout_ms, &r))
        session_backend_failed(s, r.err, r.err_len, r.why);
}

/* A login that named a schema: the primary now, so that an unknown schema
 * fails the login as on the server. Pooled, an idle connection of the same
 * user and login schema serves (it logged in to that schema); else one is
 * opened, or waited for at max_connections (pool_wait_cb comes back here). */
void session_login_backend(struct session *s)
{
    session_set_state(s, SS_LOGIN_BACKEND);
    if (backend_primary_index(s->cfg) < 0 && login_wait_start(s, false))
        return;
    if (backend_take(s, s->route.primary)) {
        session_backend_ready(s);
        return;
    }
    bconn_open(s, s->route.primary);
}

/* ---- waiting for a primary ---------------------------------------------------
 * A write (a statement for the primary, outside a transaction, or in one
 * not begun on a connection yet: trx_on_primary) that finds
 * no usable primary waits for one instead of failing, when one can be
 * expected soon: failover = auto (the primary is DOWN and being replaced),
 * cluster = galera (the next Synced node is the writer at once), or a switchover or failover
 * command under way (backend_failover_busy). So does one whose connection to the primary is refused
 * before the monitor has marked it DOWN. It polls every PRIMARY_WAIT_POLL seconds, at most
 * failover_write_wait_ms from the statement's arrival, then goes to the
 * primary the monitor publishes (session_follow_primary), or fails as
 * before. A primary no check has passed yet (added or moved by a reload)
 * is waited for the same way, whatever failover_write_wait_ms, at most
 * its group's monitor.interval_ms + monitor.timeout_ms: its first check
 * says what it is. The statement stays in `up`, routed once (s->route.wait_idx).
 * A login that names a schema, which needs the primary
 * (session_login_backend), waits the same way (login_wait_start). */
#define PRIMARY_WAIT_POLL 0.02

/* Whether the session's primary is one no check has passed yet. */
static bool primary_unchecked(const struct session *s)
{
    return !backend_checked(s->cfg->backends[s->route.primary].rt);
}

/* What a wait for the session's primary waits for, for its log lines:
 * its first check (bounded by monitor.interval_ms + monitor.timeout_ms),
 * or a usable primary within failover_write_wait_ms. */
static const char *primary_wait_what(const struct session *s, char *buf, size_t len)
{
    if (primary_unchecked(s)) {
        const struct config_group *g = group_of(s->cfg);
        snprintf(buf, len,
                 "the first check of %s (monitor.interval_ms + monitor.timeout_ms, %d ms)",
                 s->cfg->backends[s->route.primary].name, g->interval_ms + g->timeout_ms);
    } else {
        snprintf(buf, len, "a usable primary (failover_write_wait_ms, %d ms)",
                 s->cfg->failover_write_wait_ms);
    }
    return buf;
}

/* Whether a primary can be expected within failover_write_wait_ms: the
 * wait's deadline set, or false when there is none to wait for or the
 * deadline passed. */
static bool primary_expected(struct session *s)
{
    if (ev_is_active(&s->route.primary_wait))
        return false;
    if (primary_unchecked(s)) {
        const struct config_group *g = group_of(s->cfg);
        double now = ev_now(s->w->loop);
        if (s->route.primary_wait_until == 0)
            s->route.primary_wait_until = now + (g->interval_ms + g->timeout_ms) / 1000.0;
        return now < s->route.primary_wait_until;
    }
    if (s->cfg->failover_write_wait_ms <= 0)
        return false;
    /* On Galera the next node takes writes as soon as one is Synced. */
    if (!s->cfg->failover_auto && s->cfg->cluster != CLUSTER_GALERA &&
        !backend_failover_busy(group_of(s->cfg)->name))
        return false;
    double now = ev_now(s->w->loop);
    if (s->route.primary_wait_until == 0)
        s->route.primary_wait_until = now + s->cfg->failover_write_wait_ms / 1000.0;
    else if (now >= s->route.primary_wait_until)
        return false;
    return true;
}

/* Whether a transaction may be open on the session's connection to its
 * primary, which a wait for another primary would lose: none without that
 * connection (autocommit = 0 and nothing run since, or the connection given
 * back to the pool; a BEGIN held for the first statement, session_begin.c). */
static bool trx_on_primary(struct session *s)
{
    return session_groups(s)->xa != NULL ||
           (session_in_trans(s) && s->route.primary < s->conns.n_bc &&
            s->conns.bc[s->route.primary] != NULL);
}

bool primary_wait_start(struct session *s)
{
    if (s->state != SS_IDLE || trx_on_primary(s) || s->route.ro_idx >= 0 || !primary_expected(s))
        return false;
    char what[160];
    slog_info(s, "no usable primary: the statement waits for %s",
              primary_wait_what(s, what, sizeof(what)));
    s->route.wait_idx = (int)s->route.primary;
    session_set_state(s, SS_WAIT_BACKEND);
    ev_io_stop(s->w->loop, &s->client.rio);
    ev_timer_set(&s->route.primary_wait, PRIMARY_WAIT_POLL, PRIMARY_WAIT_POLL);
    ev_timer_start(s->w->loop, &s->route.primary_wait);
    return true;
}

/* ROUTE_NOBODY's `before` (session_hooks.c): no usable backend, a write
 * outside a transaction waits for a primary (failover_write_wait_ms); so
 * does a statement of a transaction not begun on a connection yet
 * (autocommit = 0 and nothing run since: it goes to the primary too,
 * route_decide; primary_wait_start refuses one begun there); else the ERR
 * says why. */
bool primary_wait_before(struct session *s, const struct hook_cmd *hc, bool primary_write)
{
    return (primary_write || session_in_trans(s)) && hc->fits && primary_wait_start(s);
}

bool primary_wait_cancel(struct session *s)
{
    if (s->state != SS_WAIT_BACKEND || !ev_is_active(&s->route.primary_wait))
        return false;
    ev_timer_stop(s->w->loop, &s->route.primary_wait);
    s->route.primary_fail_gen = UINT64_MAX;
    slog_info(s, "no usable primary: the statement that waited is interrupted");
    return true;
}

bool login_wait_start(struct session *s, bool refused)
{
    if (s->state != SS_LOGIN_BACKEND || s->conns.cur != NULL || !primary_expected(s))
        return false;
    char what[160];
    slog_info(s, "no usable primary: the login waits for %s",
              primary_wait_what(s, what, sizeof(what)));
    /* After a refused connect, the same primary is tried again only once
     * something changed (primary_wait_cb). */
    s->route.primary_fail_gen = refused ? backend_generation() : UINT64_MAX;
    ev_timer_set(&s->route.primary_wait, PRIMARY_WAIT_POLL, PRIMARY_WAIT_POLL);
    ev_timer_start(s->w->loop, &s->route.primary_wait);
    return true;
}

/* The ERR of a wait for a primary that ran out: the primary no check has
 * passed yet, or none within failover_write_wait_ms. */
static void primary_wait_err(struct session *s, uint8_t seq)
{
    struct backend_rt *rt = s->cfg->backends[s->route.primary].rt;
    if (primary_unchecked(s) && backend_state(rt) != BACKEND_ONLINE) {
        /* Its checks failed (it went DOWN) or the operator took it out:
         * what they said, as for any primary in that state. */
        struct backend_info info;
        backend_info_get(rt, &info);
        char why[320];
        route_no_primary_why(why, sizeof(why), s->cfg->backends[s->route.primary].name,
                             backend_state(rt), info.why);
        session_err(s, seq, SERR_NO_BACKEND, why);
        return;
    }
    if (primary_unchecked(s)) {
        const struct config_group *g = group_of(s->cfg);
        char why[320];
        snprintf(why, sizeof(why),
                 "No primary available: no check of backend '%s' has passed yet (waited "
                 "monitor.interval_ms + monitor.timeout_ms, %d ms)",
                 s->cfg->backends[s->route.primary].name, g->interval_ms + g->timeout_ms);
        session_err(s, seq, SERR_NO_BACKEND, why);
        return;
    }
    char note[400];
    backend_failover_note(group_of(s->cfg)->name, note, sizeof(note));
    session_err(s, seq, SERR_NO_PRIMARY_IN_TIME, s->cfg->failover_write_wait_ms,
                note[0] != '\0' ? ": " : "", note);
}

/* primary_wait_cb for a waiting login: log in to the primary once one is
 * usable, else answer the login with the error and end the session. */
static void login_wait_end(struct session *s, bool ready)
{
    s->route.primary_fail_gen = UINT64_MAX;
    if (ready) {
        session_follow_primary(s);
        if (s->state == SS_CLOSING)
            return;
        slog_info(s, "primary %s usable: the login goes on",
                  s->cfg->backends[s->route.primary].name);
        session_login_backend(s);
        return;
    }
    char what[160];
    slog_warn(s, "login: no usable primary: waited for %s",
              primary_wait_what(s, what, sizeof(what)));
    primary_wait_err(s, (uint8_t)(s->io.last_seq + 1));
    session_mark_closing(s, END_BACKEND_LOGIN);
}

void primary_wait_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct session *s = container_of(w, struct session, route.primary_wait);
    if (s->state != SS_WAIT_BACKEND && s->state != SS_LOGIN_BACKEND) {
        ev_timer_stop(loop, w);
        return;
    }
    /* After a refused connect, the same primary is tried again only once
     * something changed (it went DOWN, another one was promoted); another
     * primary at once, even when it was published between the statement's
     * routing and the refusal (the generation read at the refusal is then
     * already the new one's: the wait ran to failover_write_wait_ms). */
    uint64_t gen = backend_generation();
    int p = backend_primary_index(s->cfg);
    bool ready = p >= 0 && (gen != s->route.primary_fail_gen || p != (int)s->route.primary) &&
                 backend_checked(s->cfg->backends[p].rt);
    if (!ready && ev_now(loop) < s->route.primary_wait_until)
        return; /* the timer repeats */
    ev_timer_stop(loop, w);
    if (s->state == SS_LOGIN_BACKEND) {
        login_wait_end(s, ready);
        session_reap(s);
        return;
    }
    s->route.primary_fail_gen = UINT64_MAX;
    session_set_state(s, SS_IDLE);
    if (ready && session_uvars_ask(s)) {
        /* the old primary's user variables counted first; then next_route
         * follows the new primary with the statement */
        s->route.uvars_follow = true;
        session_reap(s);
        return;
    }
    if (ready) {
        session_follow_primary(s);
        if (s->state == SS_CLOSING) {
            session_reap(s);
            return;
        }
        slog_info(s, "primary %s usable: the statement goes on",
                  s->cfg->backends[s->route.primary].name);
        s->route.wait_idx = (int)s->route.primary;
    } else {
        char what[160];
        slog_warn(s, "no usable primary: waited for %s", primary_wait_what(s, what, sizeof(what)));
        struct stream *st = &s->io.up;
        uint32_t len = mysql_hdr_len(st->b->data + st->scan);
        command_abandon(s);
        if (len + MYSQL_HEADER_SIZE > stream_unparsed(st))
            session_mark_closing(s, END_BACKEND_LOST);
        else
            consume_packet(s, len);
        primary_wait_err(s, 1);
    }
    if (s->state == SS_IDLE)
        session_next_command(s);
    session_reap(s);
}

/* Connecting to the primary failed for a statement routed there outside a
 * transaction: wait for the primary to be usable again or replaced (true),
 * or fail it as before (false). */
bool primary_retry(struct session *s, const struct config_backend *be)
{
    if (s->state != SS_WAIT_BACKEND || s->route.wait_idx != (int)s->route.primary ||
        s->conns.cur != NULL || be != &s->cfg->backends[s->route.primary])
        return false;
    session_set_state(s, SS_IDLE);
    if (primary_wait_start(s)) {
        s->route.primary_fail_gen = backend_generation();
        return true;
    }
    session_set_state(s, SS_WAIT_BACKEND);
    return false;
}
