/*
 * session_replay.c: transaction_replay, the session's side of replay.h;
 * part of the session module (session_int.h).
 *
 * Recording. While a transaction is open on the primary, each COM_QUERY
 * the client sends there is kept (session_replay_sent, as the client sent
 * it) and the checksum of its answer is built packet by packet as the
 * answer goes by (session_replay_packet, down_parse's on_packet hook) and kept when
 * the answer ends (session_replay_done, command_done's on_settled hook). The record is
 * emptied when the primary's answer says no transaction is open, and when
 * a statement ended the transaction and another is open (a BEGIN inside a
 * transaction, a chained COMMIT: replay_new_trx). A
 * statement that could give another answer or another effect when run
 * again (a non-deterministic function, a user variable set, a lock, a
 * sequence, a stored routine, several statements, CONNECTION_ID()...: see
 * session_replay_note), a SET or USE after a statement of the transaction
 * (a replay would run that statement under the new state), a write to a
 * non-transactional table (the server's report: session_state_tracking.c),
 * a prepared statement, an answer larger than the buffer, or a record past
 * replay_max_size makes the transaction not replayable: it fails as
 * without transaction_replay.
 *
 * Replaying. When the primary dies with a transaction open, the session
 * is told through session_trx_lost (an idle connection closed, or the
 * monitor moved the primary), or the statement in flight broke
 * (session_replay_lost: it is put back in front of `up` when the client
 * got none of its answer and it cannot have ended the transaction).
 * Either way the next statement of the client finds the transaction lost
 * and, if it is armed, session_replay_next runs it again first: it waits
 * (polling) for a usable primary other than the one that failed (never
 * the same server while it is up: replay_primary_ready), brings
 * the session's state there (ensure_backend), runs the statements one by
 * one as int_replay and compares each answer's checksum. All equal: the
 * client's statement goes on there as if nothing happened. One differs:
 * ROLLBACK there, and the client's statement gets 1213 (40001), which
 * applications retry. No primary within replay_timeout_ms: 1927 as
 * before. A COMMIT in flight is never run again (it may have committed):
 * 1927 as before.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/cluster/backend.h"
#include "halyard/core/stats.h"
#include "halyard/core/log.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/replay/replay.h"
#include "halyard/sql/cache_sql.h"
#include "halyard/sql/lexer.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/session/worker.h"
#include "session_int.h"
#include "session_begin.h"
#include "session_inflight.h"
#include "session_replay.h"
#include "session_shard.h"
#include "session_xa.h"

#define REPLAY_POLL       0.02 /* seconds between looks for a usable primary */
#define REPLAY_TRX_TABLES 8    /* tables a session remembers as transactional */

enum replay_phase {
    RP_RECORD,   /* recording (or nothing open) */
    RP_ARMED,    /* the transaction was lost: replayed at the client's next statement */
    RP_RUN,      /* its statements run again on the new primary (int_replay) */
    RP_ROLLBACK, /* an answer differed: ROLLBACK there, then 1213 */
};

struct sess_replay {
    struct session *s;
    struct replay_log log;
    enum replay_phase phase;
    bool stmt_safe;   /* the statement routed last may run again (session_replay_note) */
    bool stmt_resend; /* ... and, in flight when the primary died, cannot have committed */
    bool stmt_dml;    /* the statement routed last changes data (INSERT, UPDATE...) */
    bool resend;      /* the statement in flight may be sent again */
    bool resend_dml;  /* ... if its table is known to be transactional (trx_table_known) */
    bool answer_ok;   /* the answer summed ended in an OK */
    bool lost_nontrx; /* the write lost may have changed a non-transactional table */
    bool summing;     /* the client's answer read now is summed into `sum` */
    bool sum_cut;     /* a packet of the answer summed was not whole in the buffer */
    struct replay_sum sum;
    uint32_t next;     /* RP_RUN: the statement whose answer comes next */
    double deadline;   /* RP_ARMED, RP_RUN: ev_now() past which the replay gives up */
    uint64_t fail_gen; /* backend_generation() when the primary last failed us */
    /* The primary that last failed us, and the backend the transaction was
     * lost with (RP_ARMED, RP_RUN), NULL for none: by their runtime
     * objects, which a reload keeps, never by an index into a config (the
     * session may have moved to another one since: session_config_switch). */
    const struct backend_rt *fail_rt;
    const struct backend_rt *lost_rt;
    double lost_at;    /* ... and ev_time() then */
    ev_timer wait;     /* RP_ARMED: polls for a usable primary */
    char stmt_why[80]; /* why the statement routed last may not run again */
    char why[120];     /* why the record is not replayable, or the answer that differed */
    /* tables this session's writes in a transaction changed with the
     * server reporting no write to a non-transactional table (trx_learn) */
    char trx_tables[REPLAY_TRX_TABLES][CACHE_SQL_NAME_MAX];
    unsigned n_trx_tables, trx_table_next;
};

/* The session's record, created when transaction_replay is on (and the
 * listener is not a shards listener, whose transactions halyard begins
 * itself). */
static struct sess_replay *replay_of(struct session *s)
{
    if (s->feat.replay != NULL || !s->cfg->transaction_replay || s->feat.groups != NULL)
        return s->feat.replay;
    struct sess_replay *rp = calloc(1, sizeof(*rp));
    if (rp == NULL)
        return NULL;
    rp->s = s;
    replay_init(&rp->log, s->cfg->replay_max_size, s->cfg->replay_result_only);
    ev_init(&rp->wait, session_replay_wait_cb);
    s->feat.replay = rp;
    return rp;
}

void session_replay_free(struct session *s)
{
    struct sess_replay *rp = s->feat.replay;
    if (rp == NULL)
        return;
    ev_timer_stop(s->w->loop, &rp->wait);
    replay_free(&rp->log);
    free(rp);
    s->feat.replay = NULL;
}

/* Not replayable, for `why` (the first reason is kept). */
static void replay_refuse_why(struct sess_replay *rp, const char *why)
{
    if (!rp->log.over)
        snprintf(rp->why, sizeof(rp->why), "%s", why);
    replay_refuse(&rp->log);
    rp->summing = false;
}

void session_replay_refuse(struct session *s, const char *why)
{
    if (s->feat.replay != NULL && s->feat.replay->phase == RP_RECORD)
        replay_refuse_why(s->feat.replay, why);
}

/* The record starts again: no transaction is open. */
static void replay_clear(struct sess_replay *rp)
{
    replay_reset(&rp->log);
    rp->log.max = rp->s->cfg->replay_max_size;
    rp->log.result_only = rp->s->cfg->replay_result_only;
    rp->phase = RP_RECORD;
    rp->why[0] = '\0';
    rp->summing = false;
}

/* The statement just answered ended the transaction recorded, as the
 * server does, and another is open: a BEGIN inside a transaction, COMMIT
 * AND CHAIN, a COMMIT or ROLLBACK under completion_type = CHAIN. What was
 * recorded before it is committed (or rolled back) and is never run
 * again. A BEGIN starts the record of the new transaction; after a chain
 * the new transaction is not replayable: a replay could not begin it as
 * the chain did (with the ended transaction's characteristics). */
static void replay_new_trx(struct sess_replay *rp, bool begin)
{
    if (begin && !rp->log.over && replay_keep_last(&rp->log))
        return;
    replay_clear(rp);
    replay_refuse_why(rp, begin ? "a transaction begun by a BEGIN not recorded"
                                : "a transaction begun by a chained COMMIT or ROLLBACK");
}

void session_replay_note(struct session *s, const struct classify_result *r, const uint8_t *p,
                         uint32_t avail, bool fits)
{
    struct sess_replay *rp = replay_of(s);
    if (rp == NULL)
        return;
    const uint32_t unsafe = CLF_MULTI | CLF_UNTERMINATED | CLF_TOO_LONG | CLF_SELECT_INTO |
                            CLF_USER_VAR_SET | CLF_LAST_INSERT_ID | CLF_PREV_STMT | CLF_USER_LOCK |
                            CLF_SEQUENCE | CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE | CLF_STATE_OPAQUE |
                            CLF_DIAG | CLF_XA | CLF_LOCK_TABLES | CLF_TEMP_TABLE_CREATED;
    rp->stmt_safe = rp->stmt_resend = false;
    /* A SET or USE inside the transaction: a replay brings the session's
     * state as it is then, so the statements before it would run again
     * under the new value (another time_zone, sql_mode or schema) */
    if (r->kind == CL_SESSION && rp->phase == RP_RECORD && rp->log.n > 0 &&
        (s->route.status & SERVER_STATUS_IN_TRANS))
        replay_refuse_why(rp, "the session's state changed inside the transaction");
    const char *fn = NULL;
    if (!fits)
        snprintf(rp->stmt_why, sizeof(rp->stmt_why), "a statement larger than the buffer");
    else if (r->flags & unsafe)
        snprintf(rp->stmt_why, sizeof(rp->stmt_why),
                 "a statement with effects on its connection (%s)",
                 (r->flags & CLF_MULTI) ? "several statements" : "variables, locks, routines");
    else if ((fn = replay_nondeterministic((const char *)p + 1, avail - 1, s->route.lex_opts)))
        snprintf(rp->stmt_why, sizeof(rp->stmt_why), "a statement calling %s()", fn);
    else
        rp->stmt_safe = true;
    /* in flight when the primary died, only these cannot have committed */
    rp->stmt_dml = r->kind == CL_WRITE && (r->flags & CLF_DML);
    rp->stmt_resend =
        rp->stmt_safe && (r->kind == CL_READ || r->kind == CL_TXN_SAVEPOINT || rp->stmt_dml);
}

void session_replay_sent(struct session *s, const struct hook_cmd *hc)
{
    const uint8_t cmd = hc->cmd;
    struct sess_replay *rp = s->feat.replay;
    if (rp == NULL || rp->phase != RP_RECORD)
        return;
    /* session_replay_note's verdict is for this statement only: one that
     * did not pass there (routed otherwise) is not known to be safe */
    bool safe = rp->stmt_safe;
    rp->stmt_safe = false;
    rp->summing = false;
    if (!s->cfg->transaction_replay || s->conns.cur == NULL ||
        s->conns.cur->idx != s->route.primary || s->route.ro_idx >= 0 || cmd == COM_PING)
        return;
    if (cmd != COM_QUERY) {
        replay_refuse_why(rp, cmd == COM_STMT_EXECUTE ? "a prepared statement"
                                                      : "a command other than COM_QUERY");
        return;
    }
    if (!hc->fits || !safe || hc->rewritten || (s->who.ext_caps & MARIADB_CLIENT_CACHE_METADATA)) {
        replay_refuse_why(rp, safe ? "a statement halyard rewrote" : rp->stmt_why);
        return;
    }
    if (replay_add(&rp->log, hc->p, hc->len) != HY_OK || rp->log.over) {
        replay_refuse_why(rp, "past replay_max_size");
        return;
    }
    replay_sum_begin(&rp->sum, rp->log.result_only);
    rp->summing = true;
    rp->sum_cut = false;
    rp->answer_ok = false;
    rp->resend = rp->stmt_resend;
    rp->resend_dml = rp->stmt_dml;
}

/* Whether the answer read now is summed: the client's statement being
 * recorded, or one run again. */
bool session_replay_sums(const struct session *s)
{
    const struct sess_replay *rp = s->feat.replay;
    return rp != NULL && ((s->query.internal == NULL && rp->summing) ||
                          (s->query.internal == &int_replay && rp->phase == RP_RUN));
}

/* What a packet of the answer is, from the tracker before it is fed. */
static enum replay_pkt packet_kind(const struct mysql_resp *r, const uint8_t *pl, uint32_t len)
{
    if (mysql_resp_row_next(r, pl, len))
        return REPLAY_PKT_ROW;
    if (mysql_resp_colcount_next(r, pl, len))
        return REPLAY_PKT_COLDEF;
    if (len > 0 && pl[0] == MYSQL_ERR)
        return len >= 3 && pl[1] == 0xff && pl[2] == 0xff ? REPLAY_PKT_OTHER /* progress */
                                                          : REPLAY_PKT_ERR;
    if (len > 0 && pl[0] == MYSQL_OK && mysql_resp_ok_fits(r))
        return REPLAY_PKT_OK;
    if (len > 0 && mysql_is_eof(pl[0], len, (r->caps & CLIENT_DEPRECATE_EOF) != 0))
        return REPLAY_PKT_OTHER;
    return REPLAY_PKT_COLDEF;
}

void session_replay_packet(struct session *s, const struct hook_packet *pk)
{
    if (!session_replay_sums(s))
        return;
    struct sess_replay *rp = s->feat.replay;
    if (!pk->whole) {
        rp->sum_cut = true;
        return;
    }
    enum replay_pkt kind = packet_kind(&s->io.resp, pk->pl, pk->len);
    rp->answer_ok = kind == REPLAY_PKT_OK;
    replay_sum_packet(&rp->sum, kind, pk->pl, pk->len);
}

/* The one table the write `p` (a COM_QUERY) changes, by its text
 * (cache_sql_written); false when the text does not tell. */
static bool trx_table_of(const struct session *s, const uint8_t *p, uint32_t len,
                         struct cache_sql *w)
{
    return len > 1 && cache_sql_written((const char *)p + 1, len - 1, s->route.lex_opts,
                                        session_schema(s), w) == CACHE_SQL_OK;
}

static bool trx_table_known(const struct sess_replay *rp, const char *table)
{
    for (unsigned i = 0; i < rp->n_trx_tables; i++)
        if (strcmp(rp->trx_tables[i], table) == 0)
            return true;
    return false;
}

/* The write just recorded was answered OK in a transaction that wrote no
 * non-transactional table (else the record is refused: the server's
 * report, session_state_tracking.c, on a connection where halyard turned
 * it on; not the end of a result, `... RETURNING`, which may report
 * nothing). The server reports a write by the tables it opens for writing,
 * its triggers' too, whether rows changed or not: the table the text
 * names took a transactional write. Remembered for this session's later
 * transactions (session_replay_lost). */
static void trx_learn(struct session *s, struct sess_replay *rp)
{
    const uint8_t *pkt;
    uint32_t len;
    struct cache_sql w;
    if (!rp->resend_dml || !rp->answer_ok || s->io.resp.results > 0 || rp->log.over ||
        s->conns.cur == NULL || !s->conns.cur->trx_track_on ||
        !(s->route.status & SERVER_STATUS_IN_TRANS) ||
        !replay_stmt(&rp->log, rp->log.n - 1, &pkt, &len) || !trx_table_of(s, pkt, len, &w) ||
        trx_table_known(rp, w.tables[0]))
        return;
    memcpy(rp->trx_tables[rp->trx_table_next], w.tables[0], sizeof(w.tables[0]));
    rp->trx_table_next = (rp->trx_table_next + 1) % REPLAY_TRX_TABLES;
    if (rp->n_trx_tables < REPLAY_TRX_TABLES)
        rp->n_trx_tables++;
}

void session_replay_done(struct session *s)
{
    struct sess_replay *rp = s->feat.replay;
    if (rp == NULL || rp->phase != RP_RECORD)
        return;
    if (rp->summing) {
        rp->summing = false;
        if (rp->sum_cut)
            replay_refuse_why(rp, "an answer larger than the buffer");
        else
            replay_answer(&rp->log, &rp->sum);
        if (s->conns.cur == NULL || s->conns.cur->idx == s->route.primary)
            trx_learn(s, rp);
    }
    bool primary = s->conns.cur == NULL || s->conns.cur->idx == s->route.primary;
    if (primary && !(s->route.status & SERVER_STATUS_IN_TRANS))
        replay_clear(rp);
    /* cmd_trx_bound is set for a text statement only (a prepared execute
     * would see the last COM_QUERY's) */
    else if (primary && s->query.cmd == COM_QUERY && s->query.cmd_trx_bound != 0)
        replay_new_trx(rp, s->query.cmd_trx_bound > 0);
}

void session_replay_arm(struct session *s, struct bconn *bc, const char *name)
{
    (void)bc;
    struct sess_replay *rp = s->feat.replay;
    if (rp == NULL || rp->phase != RP_RECORD || (rp->log.n == 0 && !rp->log.over))
        return;
    if (!s->cfg->transaction_replay || !replay_ok(&rp->log)) {
        stat_inc(&s->w->stats.replays_refused);
        slog_info(s, "the transaction lost with %s is not replayable: %s", name,
                  rp->why[0] != '\0' ? rp->why : "a statement was in flight");
        replay_clear(rp);
        return;
    }
    rp->phase = RP_ARMED;
    rp->deadline = ev_now(s->w->loop) + s->cfg->replay_timeout_ms / 1000.0;
    rp->fail_gen = UINT64_MAX;
    rp->fail_rt = NULL;
    rp->lost_rt = NULL;
    for (size_t i = 0; i < s->cfg->n_backends; i++) {
        if (strcmp(s->cfg->backends[i].name, name) == 0)
            rp->lost_rt = s->cfg->backends[i].rt;
    }
    rp->lost_at = ev_time();
    slog_info(s, "the transaction lost with %s (%u statements) is replayed first", name, rp->log.n);
}

/* The primary died with the client's statement in flight (bc, open
 * still): true when the statement is put back to run after the replay,
 * which is armed (the session goes on). */
static bool replay_lost_in_flight(struct session *s, struct bconn *bc)
{
    struct sess_replay *rp = s->feat.replay;
    if (rp != NULL)
        rp->lost_nontrx = false;
    if (rp == NULL || rp->phase != RP_RECORD || bc->idx != s->route.primary ||
        !(s->route.status & SERVER_STATUS_IN_TRANS) || s->route.pinned || s->route.uvars_opaque ||
        s->query.internal != NULL)
        return false;
    const uint8_t *pkt = NULL;
    uint32_t len = 0;
    struct cache_sql w;
    bool got = replay_stmt(&rp->log, rp->log.n - 1, &pkt, &len);
    /* a write to a non-transactional table is applied at once and stays
     * (on the replicas too): sent again only to a table known to be
     * transactional; else the outcome is unknown (session_conn_lost) */
    if (rp->summing && rp->resend && rp->resend_dml && got &&
        (!trx_table_of(s, pkt, len, &w) || !trx_table_known(rp, w.tables[0]))) {
        rp->resend = false;
        rp->lost_nontrx = true;
    }
    if (!rp->summing || !rp->resend || s->io.down_sent || s->io.req_open || s->io.resp_done ||
        !got) {
        if (rp->summing)
            replay_refuse_why(rp, rp->lost_nontrx ? "a write in flight to a table not known to be "
                                                    "transactional"
                                  : !rp->resend   ? "a statement in flight that may have committed"
                                                  : "a statement in flight partly answered");
        if (s->cfg->transaction_replay && rp->log.over) {
            stat_inc(&s->w->stats.replays_refused);
            slog_info(s, "the transaction lost with %s is not replayable: %s", bc->be->name,
                      rp->why);
        }
        return false; /* session_conn_lost answers it; the record is refused */
    }
    if (!up_unread(s, pkt, len))
        return false;
    rp->summing = false;
    replay_pop(&rp->log);
    slog_info(s, "backend %s died during the transaction: replaying it, then its statement",
              bc->be->name);
    query_lost(s);
    session_trx_lost(s, bc->be->name); /* arms the replay */
    route_trx_closed(s);
    bconn_close(bc);
    stream_release(&s->io.down, &s->w->pool);
    command_end(s);
    return true;
}

/* Wait for a usable primary (another one than failed us last). */
static void replay_wait(struct session *s)
{
    struct sess_replay *rp = s->feat.replay;
    rp->phase = RP_ARMED;
    if (s->state != SS_WAIT_BACKEND)
        session_set_state(s, SS_WAIT_BACKEND);
    ev_io_stop(s->w->loop, &s->client.rio);
    ev_timer_set(&rp->wait, REPLAY_POLL, REPLAY_POLL);
    ev_timer_start(s->w->loop, &rp->wait);
}

enum replay_where {
    RW_WAIT,  /* no usable primary yet */
    RW_READY, /* replayed on the primary published now */
    RW_ALIVE, /* the primary it was lost with is still up: not replayed */
};

/* Where the transaction can be replayed. Never on the primary it was lost
 * with while that server is up (a check of the monitor that began after
 * the loss passed): its connection was closed by the server, not by its
 * death (a KILL, wait_timeout), and what an operator killed does not come
 * back. Without health checks (monitor.user "") nothing tells a death
 * from a KILL, and the primary never changes: never there either. Else on
 * a usable primary, after a change of the topology since the primary
 * failed the replay, or another one than that primary (its successor may
 * have been published before the generation was read at the failure: a
 * Galera writer's is, within the same millisecond), once a check of it has
 * passed (a primary a reload added or moved is waited for, as a write
 * waits: session_reload.c). */
static enum replay_where replay_primary_ready(const struct session *s, const struct sess_replay *rp)
{
    if (rp->lost_rt != NULL) {
        const char *user = s->cfg->monitor.user;
        for (size_t i = 0; i < s->cfg->n_backends; i++) {
            uint16_t g = s->cfg->backends[i].group;
            if (s->cfg->backends[i].rt == rp->lost_rt && g < s->cfg->n_groups)
                user = s->cfg->groups[g].monitor_user;
        }
        if (user == NULL || user[0] == '\0')
            return RW_ALIVE;
    }
    int p = backend_primary_index(s->cfg);
    if (p < 0)
        return RW_WAIT;
    const struct backend_rt *rt = s->cfg->backends[p].rt;
    if (!backend_checked(rt))
        return RW_WAIT; /* added or moved by a reload: its first check says what it is */
    if (rt != NULL && rt == rp->lost_rt)
        return atomic_load(&rt->ok_check_began_us) > (int64_t)(rp->lost_at * 1e6) ? RW_ALIVE
                                                                                  : RW_WAIT;
    return backend_generation() != rp->fail_gen || rt != rp->fail_rt ? RW_READY : RW_WAIT;
}

void session_replay_wait_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct sess_replay *rp = container_of(w, struct sess_replay, wait);
    struct session *s = rp->s;
    if (s->state != SS_WAIT_BACKEND || rp->phase != RP_ARMED) {
        ev_timer_stop(loop, w);
        return;
    }
    if (replay_primary_ready(s, rp) == RW_WAIT && ev_now(loop) < rp->deadline)
        return; /* the timer repeats */
    ev_timer_stop(loop, w);
    command_end(s); /* back in session_replay_next */
    session_reap(s);
}

/* The client's statement (whole at up.scan) gets 1213 with rp->why, and
 * the session goes on without a transaction. */
static void replay_answer_client(struct session *s)
{
    struct sess_replay *rp = s->feat.replay;
    session_timer_stop(s);
    if (s->state != SS_IDLE)
        session_set_state(s, SS_IDLE);
    struct stream *st = &s->io.up;
    consume_packet(s, mysql_hdr_len(st->b->data + st->scan));
    session_err(s, 1, SERR_REPLAY_MISMATCH, s->route.trx_lost, rp->why);
    route_trx_lost_told(s);
    route_trx_closed(s);
    replay_clear(rp);
}

/* Run statement rp->next again, or, all run, let the client's go on. */
static void replay_send_next(struct session *s)
{
    struct sess_replay *rp = s->feat.replay;
    const uint8_t *pkt;
    uint32_t len;
    double left = rp->deadline - ev_now(s->w->loop);
    int ms = left > 1.0 ? (int)(left * 1000) : 1000;
    if (replay_stmt(&rp->log, rp->next, &pkt, &len)) {
        replay_sum_begin(&rp->sum, rp->log.result_only);
        rp->sum_cut = false;
        internal_send(s, &int_replay, pkt[0], pkt + 1, len - 1, ms);
        return;
    }
    stat_inc(&s->w->stats.transactions_replayed);
    slog_info(s, "transaction replayed on %s: %u statements, every answer the same",
              s->cfg->backends[s->route.primary].name, rp->log.n);
    rp->phase = RP_RECORD;
    session_hooks_replayed(s); /* its COMMIT's fate cannot be looked for; its span says so */
    route_trx_lost_told(s);
    route_trx_opened(s);
    session_timer_stop(s);
    command_end(s);
}

int session_replay_next(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len)
{
    struct sess_replay *rp = s->feat.replay;
    if (rp == NULL || rp->phase != RP_ARMED)
        return REPLAY_NO;
    if (cmd == COM_QUERY && session_text_is((const char *)p + 1, len - 1, "ROLLBACK", NULL)) {
        replay_clear(rp); /* what it would have done: next_trx_lost answers OK */
        return REPLAY_NO;
    }
    if (!s->cfg->transaction_replay || ev_now(s->w->loop) >= rp->deadline) {
        stat_inc(&s->w->stats.replays_failed_timeout);
        slog_warn(s, "no primary took the transaction lost with %s within replay_timeout_ms",
                  s->route.trx_lost);
        replay_clear(rp);
        return REPLAY_NO;
    }
    switch (replay_primary_ready(s, rp)) {
    case RW_WAIT:
        replay_wait(s);
        return REPLAY_STOP;
    case RW_ALIVE:
        stat_inc(&s->w->stats.replays_refused);
        slog_info(s,
                  "the transaction lost with %s is not replayed: the server is up, so it "
                  "closed the connection itself (KILL, wait_timeout)",
                  s->route.trx_lost);
        replay_clear(rp);
        return REPLAY_NO; /* next_trx_lost answers 1927 */
    case RW_READY:
        break;
    }
    if (!ensure_backend(s, s->route.primary))
        return REPLAY_STOP; /* back here once it is ready, or in session_replay_failed */
    rp->phase = RP_RUN;
    rp->next = 0;
    replay_send_next(s);
    return REPLAY_STOP;
}

static void replay_answered(struct session *s)
{
    struct sess_replay *rp = s->feat.replay;
    if (rp->phase == RP_ROLLBACK) {
        replay_answer_client(s);
        session_next_command(s);
        return;
    }
    if (rp->sum_cut || !replay_check(&rp->log, rp->next, &rp->sum)) {
        stat_inc(&s->w->stats.replays_failed_mismatch);
        snprintf(rp->why, sizeof(rp->why), "statement %u of %u answered differently", rp->next + 1,
                 rp->log.n);
        slog_warn(s, "replay on %s: %s: rolled back", s->cfg->backends[s->route.primary].name,
                  rp->why);
        rp->phase = RP_ROLLBACK;
        internal_query(s, &int_replay, "ROLLBACK", s->cfg->connect_timeout_ms);
        return;
    }
    rp->next++;
    replay_send_next(s);
}

static enum internal_next replay_answer_in(struct session *s, struct bconn *bc)
{
    (void)bc;
    replay_answered(s);
    return INTERNAL_WENT_ON;
}

const struct internal_cmd int_replay = {.name = "a replayed statement",
                                        .answered = replay_answer_in};

/* The replay's own connection failed (its statement lost there, or the
 * new primary could not be opened): true when the replay takes the
 * failure (it waits for another usable primary). */
static bool replay_failed(struct session *s, const char *why)
{
    struct sess_replay *rp = s->feat.replay;
    if (rp == NULL || rp->phase == RP_RECORD)
        return false;
    if (rp->phase == RP_ROLLBACK) { /* gone with its connection anyway */
        replay_answer_client(s);
        session_next_command(s);
        return true;
    }
    slog_info(s, "replay: the primary failed (%s): waiting for a usable one", why);
    rp->fail_gen = backend_generation();
    rp->fail_rt = s->cfg->backends[s->route.primary].rt;
    replay_wait(s);
    return true;
}

/* resolve_in_flight_writes (session_inflight.c): the COMMIT in flight when
 * the primary died did not commit. The record without that COMMIT is armed
 * for a replay when it is replayable, and the COMMIT is copied to `pkt`
 * (at most `cap` bytes; *len) to be sent again after it; otherwise false,
 * `why` says why, and the record is forgotten. */
bool session_replay_commit_lost(struct session *s, const char *name, uint8_t *pkt, size_t cap,
                                uint32_t *len, char *why, size_t whylen)
{
    struct sess_replay *rp = s->feat.replay;
    const uint8_t *p;
    uint32_t n;
    if (rp == NULL || rp->phase != RP_RECORD || !s->cfg->transaction_replay) {
        snprintf(why, whylen, "transaction_replay is off");
        session_replay_forget(s);
        return false;
    }
    rp->summing = false;
    if (rp->log.over || rp->log.n == 0 || !replay_stmt(&rp->log, rp->log.n - 1, &p, &n) ||
        rp->log.st[rp->log.n - 1].answered || n > cap) {
        snprintf(why, whylen, "%s", rp->why[0] != '\0' ? rp->why : "its record is not whole");
        session_replay_forget(s);
        return false;
    }
    memcpy(pkt, p, n);
    *len = n;
    replay_pop(&rp->log);
    if (!replay_ok(&rp->log)) {
        snprintf(why, whylen, "%s", rp->why[0] != '\0' ? rp->why : "its record is not whole");
        session_replay_forget(s);
        return false;
    }
    session_trx_lost(s, name); /* arms the replay (session_replay_arm) */
    return rp->phase == RP_ARMED;
}

void session_replay_forget(struct session *s)
{
    if (s->feat.replay != NULL && s->feat.replay->phase == RP_RECORD)
        replay_clear(s->feat.replay);
}

/* The transaction died with its backend while the client was away (a
 * statement found s->route.trx_lost): tell it now; a ROLLBACK is what it would
 * have done. */
static enum hook_verdict trx_lost_answer(struct session *s, const struct hook_cmd *c)
{
    const char *q = (const char *)c->p + 1, *qend = (const char *)c->p + c->len;
    q = lex_skip_space_comments(q, qend);
    bool rollback = c->cmd == COM_QUERY && lex_match_word(&q, qend, "ROLLBACK");
    consume_packet(s, c->len);
    if (session_groups(s)->xa != NULL) {
        /* the other groups' branches are rolled back first */
        command_abandon(s);
        char *name = route_trx_lost_take(s);
        bool waits = session_xa_lost(s, rollback, name);
        free(name);
        return waits ? HOOK_WAIT : HOOK_TAKEN;
    }
    if (rollback)
        send_ok(s, 1);
    else
        session_err(s, 1, SERR_TRX_LOST, s->route.trx_lost);
    route_trx_lost_told(s);
    return HOOK_TAKEN;
}

/* The after_lost hook (session_hooks.c): a statement after the session's
 * transaction died with its backend (s->route.trx_lost) is replayed first,
 * else answered 1927 (trx_lost_answer); never run by itself, which would
 * commit alone what the client sent as part of the transaction it is then
 * told was rolled back. One larger than the buffer cannot be answered
 * without reading it all: the session ends, as the server's death would
 * have ended it. The cycle asks it in next_route, and before the handlers
 * of the prepared-statement executions, which route on their own and, as
 * before, learn of a primary's change at their own pace (session_ps.c). */
enum hook_verdict session_replay_after_lost(struct session *s, const struct hook_cmd *c)
{
    uint8_t cmd = c->cmd;
    if (s->route.trx_lost == NULL || !(cmd == COM_QUERY || cmd == COM_STMT_EXECUTE ||
                                       cmd == COM_STMT_PREPARE || cmd == COM_STMT_BULK_EXECUTE))
        return HOOK_PASS;
    if (!c->fits) {
        slog_warn(s, "a %s of %u bytes after the transaction was lost with %s: closing",
                  mysql_com_name(cmd), c->len, s->route.trx_lost);
        command_abandon(s);
        session_err(s, 1, SERR_TRX_LOST, s->route.trx_lost);
        session_mark_closing(s, END_BACKEND_LOST);
        return HOOK_WAIT;
    }
    if (session_replay_next(s, cmd, c->p, c->len) == REPLAY_STOP)
        return HOOK_WAIT; /* replayed first (session_replay.c) */
    if (s->route.trx_lost != NULL)
        return trx_lost_answer(s, c);
    return HOOK_PASS;
}

bool session_replay_lost(struct session *s, struct hook_lost *hl)
{
    if (hl->flight != LOST_CLIENT)
        return hl->bc == NULL && replay_failed(s, hl->why);
    bool taken = replay_lost_in_flight(s, hl->bc);
    hl->nontrx_write = !taken && s->feat.replay != NULL && s->feat.replay->lost_nontrx;
    return taken;
}
