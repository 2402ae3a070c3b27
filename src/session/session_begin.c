/*
 * session_begin.c: a BEGIN that halyard answers itself on a listener with
 * shards = true, and runs on the group of the transaction's first
 * statement, just before that statement; part of the session module
 * (session_int.h).
 *
 * Where a transaction runs is known only at its first statement: the
 * group of that statement's schema or key. So BEGIN [WORK] and START
 * TRANSACTION [READ WRITE | READ ONLY | WITH CONSISTENT SNAPSHOT, ...]
 * (alone, outside a transaction) get halyard's own OK, with
 * SERVER_STATUS_IN_TRANS set, and nothing runs yet:
 *   - "xa" (shards.cross_group_transactions): a plain BEGIN (or READ
 *     WRITE) opens a transaction across groups, s->feat.groups->xa (session_xa.c), whose
 *     branch on each group starts with XA START before its first statement
 *     there;
 *   - otherwise (and for READ ONLY / WITH CONSISTENT SNAPSHOT under "xa"):
 *     the BEGIN is kept (s->feat.groups->begin_sql) and run as int_begin on the
 *     connection of the first statement that reaches a backend, on the
 *     group that statement chose; then the transaction is a plain one on
 *     that group, as if the client had sent its BEGIN there, and a
 *     statement for another group is refused as crossing over.
 * Both are started from ensure_backend() through the chosen hook
 * (session_begin_chosen).
 *
 * Until then the transaction is "unbound": a statement refused (by key,
 * by group) leaves it so; COMMIT or ROLLBACK [WORK] gets the OK the server
 * would give (nothing ran, nothing to end); another BEGIN replaces it (the
 * server's implicit commit of nothing). Any other statement that reaches a
 * backend binds it there: SET, SAVEPOINT or SELECT @@in_transaction as the
 * first statement bind it to the group the session is on (a
 * COM_STMT_PREPARE does not: it is no part of a transaction; its EXECUTE
 * binds it by its key). A BEGIN inside a transaction open on the
 * session's primary (bound, or begun by autocommit = 0) commits it there
 * first (int_precommit, the server's implicit commit), then is answered
 * and kept as above; a failed COMMIT is its ERR (and no transaction is
 * open).
 *
 * The read-only transaction runs on the group's primary, not on a replica
 * as outside shards (the replica is chosen by the statement that begins
 * it, and that one is halyard's here).
 */
#include <stdio.h>
#include <string.h>

#include "halyard/sql/classify.h"
#include "halyard/sql/lexer.h"
#include "halyard/config/group.h"
#include "halyard/core/log.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/session/worker.h"
#include "session_int.h"
#include "session_begin.h"
#include "session_state.h"
#include "session_xa.h"

#define BEGIN_TIMEOUT_MS 30000

/* The text is these words (NULL ends them) then at most a ';'. */
bool session_text_is(const char *t, size_t len, const char *w1, const char *w2)
{
    const char *end = t + len, *p = lex_skip_space_comments(t, end);
    if (!lex_match_word(&p, end, w1) || (w2 != NULL && !lex_match_word(&p, end, w2)))
        return false;
    if (p < end && *p == ';')
        p = lex_skip_space_comments(p + 1, end);
    return p == end;
}

bool session_begin_parse(const char *t, size_t len, struct begin_form *f)
{
    const char *end = t + len, *p = lex_skip_space_comments(t, end);
    memset(f, 0, sizeof(*f));
    if (lex_match_word(&p, end, "BEGIN")) {
        (void)lex_match_word(&p, end, "WORK");
        snprintf(f->sql, sizeof(f->sql), "BEGIN");
    } else if (lex_match_word(&p, end, "START") && lex_match_word(&p, end, "TRANSACTION")) {
        size_t n = (size_t)snprintf(f->sql, sizeof(f->sql), "START TRANSACTION");
        bool rw = false, first = true;
        while (p < end && *p != ';') {
            if (!first) {
                if (*p != ',')
                    return false;
                p = lex_skip_space_comments(p + 1, end);
            }
            const char *what, *q = p;
            if (lex_match_word(&q, end, "READ") && lex_match_word(&q, end, "WRITE")) {
                what = "READ WRITE";
                if (rw || f->read_only)
                    return false; /* the server says what is wrong */
                rw = true;
            } else if ((q = p,
                        lex_match_word(&q, end, "READ") && lex_match_word(&q, end, "ONLY"))) {
                what = "READ ONLY";
                if (rw || f->read_only)
                    return false;
                f->read_only = true;
            } else if ((q = p, lex_match_word(&q, end, "WITH") &&
                                   lex_match_word(&q, end, "CONSISTENT") &&
                                   lex_match_word(&q, end, "SNAPSHOT"))) {
                what = "WITH CONSISTENT SNAPSHOT";
                if (f->snapshot)
                    return false;
                f->snapshot = true;
            } else {
                return false;
            }
            p = q;
            n += (size_t)snprintf(f->sql + n, sizeof(f->sql) - n, "%s%s", first ? " " : ", ", what);
            first = false;
        }
    } else {
        return false;
    }
    if (p < end && *p == ';')
        p = lex_skip_space_comments(p + 1, end);
    return p == end;
}

/* COMMIT [WORK] or ROLLBACK [WORK], alone. */
bool session_plain_end(const char *t, size_t len, bool *commit)
{
    *commit = session_text_is(t, len, "COMMIT", NULL) || session_text_is(t, len, "COMMIT", "WORK");
    return *commit || session_text_is(t, len, "ROLLBACK", NULL) ||
           session_text_is(t, len, "ROLLBACK", "WORK");
}

uint32_t session_begin_route(struct session *s, const struct classify_result *r, const char *text,
                             size_t len)
{
    s->feat.groups->xa_cmd = 0;
    s->feat.groups->xa_refuse = NULL;
    struct begin_form f;
    bool alone = r->nstmt == 1 && !(r->flags & CLF_XA);
    bool begin = (r->kind == CL_TXN_BEGIN || r->kind == CL_TXN_BEGIN_RO) && alone &&
                 session_begin_parse(text, len, &f);
    struct xa_text xt = {.plain_begin =
                             begin && r->kind == CL_TXN_BEGIN && !f.read_only && !f.snapshot};
    xt.plain_end = r->kind == CL_TXN_END && alone && session_plain_end(text, len, &xt.commit);
    if (s->feat.groups->begin_sql[0] != '\0') {
        if (xt.plain_end) {
            s->feat.groups->xa_cmd = BEGIN_CMD_END;
            return ROUTE_XA;
        }
        if (!begin)
            return UINT32_MAX; /* it binds the transaction where it runs */
        /* BEGIN again: the server would commit the empty one first */
        s->feat.groups->begin_sql[0] = '\0';
        route_trx_closed(s);
    }
    uint32_t x = session_xa_route(s, r, &xt);
    if (x != UINT32_MAX)
        return x;
    if (!begin || s->route.ro_idx >= 0 || s->feat.groups->xa != NULL)
        return UINT32_MAX;
    if (s->route.status & SERVER_STATUS_IN_TRANS) {
        /* open on the primary: COMMIT it there first, as the server would */
        const struct bconn *bc = s->conns.bc[s->route.primary];
        if (bc == NULL || bc->state != BCONN_READY)
            return UINT32_MAX; /* the server says what becomes of it */
        s->feat.groups->xa_cmd = BEGIN_CMD_COMMIT;
    } else {
        s->feat.groups->xa_cmd = BEGIN_CMD_DEFER;
    }
    snprintf(s->feat.groups->begin_sql, sizeof(s->feat.groups->begin_sql), "%s", f.sql);
    return ROUTE_XA;
}

bool session_begin_run(struct session *s)
{
    switch (s->feat.groups->xa_cmd) {
    case BEGIN_CMD_DEFER:
        slog_debug(s, "%s: answered here, run before the transaction's first statement",
                   s->feat.groups->begin_sql);
        route_trx_opened(s);
        send_ok(s, 1);
        return false;
    case BEGIN_CMD_COMMIT:
        s->conns.cur = s->conns.bc[s->route.primary];
        session_publish_backend(s);
        slog_debug(s, "%s inside a transaction: COMMIT on %s first", s->feat.groups->begin_sql,
                   s->conns.cur->be->name);
        internal_query(s, &int_precommit, "COMMIT", BEGIN_TIMEOUT_MS);
        return true;
    case BEGIN_CMD_END:
        /* nothing ran: nothing to commit or roll back */
        s->feat.groups->begin_sql[0] = '\0';
        route_trx_closed(s);
        send_ok(s, 1);
        return false;
    default:
        return session_xa_run(s);
    }
}

bool session_begin_chosen(struct session *s, struct bconn *bc, uint32_t idx)
{
    if (s->feat.groups == NULL)
        return true;
    if (s->feat.groups->xa != NULL) /* the group's branch on its primary */
        return idx != s->route.primary || bc->xa || session_xa_branch_ready(s, bc);
    if (s->feat.groups->begin_sql[0] == '\0')
        return true;
    const struct stream *up = &s->io.up;
    if (up->b != NULL && stream_unparsed(up) > MYSQL_HEADER_SIZE &&
        up->b->data[up->scan + MYSQL_HEADER_SIZE] == COM_STMT_PREPARE)
        return true; /* not part of a transaction: it binds none to this group */
    slog_debug(s, "%s on %s (group %s): the transaction's first statement runs there",
               s->feat.groups->begin_sql, bc->be->name, group_of(s->cfg)->name);
    internal_query(s, &int_begin, s->feat.groups->begin_sql, BEGIN_TIMEOUT_MS);
    return false;
}

/* The statement waiting in `up` is dropped with ERR 1105 `msg`. */
static void begin_drop(struct session *s, const char *msg)
{
    struct stream *st = &s->io.up;
    uint32_t len = mysql_hdr_len(st->b->data + st->scan);
    command_abandon(s);
    if (len + MYSQL_HEADER_SIZE > stream_unparsed(st)) {
        session_mark_closing(s, END_BACKEND_LOST);
        return;
    }
    consume_packet(s, len);
    session_err_custom(s, 1, 1105, "HY000", msg);
}

static enum internal_next begin_answered(struct session *s, struct bconn *bc)
{
    (void)bc;
    session_timer_stop(s);
    session_set_state(s, SS_IDLE);
    if (s->io.resp.err_code == 0) {
        s->feat.groups->begin_sql[0] = '\0'; /* a plain transaction on this group now */
        route_status_follow(s);
        route_trx_opened(s);
        state_txn_begun(s);
    } else {
        /* not begun there: the statement is dropped, the transaction stays
         * unbound (the next statement tries again) */
        char msg[200];
        snprintf(msg, sizeof(msg), "halyard: %s on group %s failed with error %u",
                 s->feat.groups->begin_sql, group_of(s->cfg)->name, s->io.resp.err_code);
        slog_info(s, "%s", msg);
        begin_drop(s, msg);
    }
    if (s->state == SS_IDLE)
        session_next_command(s);
    return INTERNAL_WENT_ON;
}

const struct internal_cmd int_begin = {.name = "a deferred BEGIN", .answered = begin_answered};

void session_begin_forget(struct session *s)
{
    if (s->feat.groups != NULL)
        s->feat.groups->begin_sql[0] = '\0';
}

static enum internal_next precommit_answered(struct session *s, struct bconn *bc)
{
    (void)bc;
    session_timer_stop(s);
    session_set_state(s, SS_IDLE);
    route_status_follow(s);
    struct begin_form f;
    if (s->io.resp.err_code == 0 && config_root_c(s->cfg)->shards_xa &&
        (s->route.status & SERVER_STATUS_AUTOCOMMIT) &&
        session_begin_parse(s->feat.groups->begin_sql, strlen(s->feat.groups->begin_sql), &f) &&
        !f.read_only && !f.snapshot) {
        /* "xa": the next one is a transaction across groups */
        s->feat.groups->begin_sql[0] = '\0';
        s->feat.groups->xa_cmd = XA_CMD_BEGIN;
        (void)session_xa_run(s); /* answered at once */
    } else if (s->io.resp.err_code == 0) {
        route_trx_opened(s); /* the next one, not run yet */
        send_ok(s, 1);
    } else {
        char msg[240];
        snprintf(msg, sizeof(msg),
                 "halyard: the COMMIT of the open transaction before %s failed on group %s with "
                 "error %u",
                 s->feat.groups->begin_sql, group_of(s->cfg)->name, s->io.resp.err_code);
        s->feat.groups->begin_sql[0] = '\0';
        route_trx_closed(s);
        slog_info(s, "%s", msg);
        session_err_custom(s, 1, 1105, "HY000", msg);
    }
    session_next_command(s);
    return INTERNAL_WENT_ON;
}

/* Its connection failed: the client gets ERR 1105. */
static void precommit_failed(struct session *s, const char *why)
{
    char msg[300];
    snprintf(msg, sizeof(msg),
             "halyard: the connection to %s failed (%s) during the COMMIT of the open "
             "transaction before %s: whether it committed is unknown",
             s->conns.cur->be->name, why, s->feat.groups->begin_sql);
    slog_warn(s, "%s", msg);
    session_timer_stop(s);
    query_internal_failed(s);
    bconn_close(s->conns.cur);
    stream_release(&s->io.down, &s->w->pool);
    s->feat.groups->begin_sql[0] = '\0';
    route_trx_closed(s);
    session_set_state(s, SS_IDLE);
    session_err_custom(s, 1, 1105, "HY000", msg);
    session_next_command(s);
}

/* The implicit COMMIT of a BEGIN inside a transaction, before it. */
const struct internal_cmd int_precommit = {.name = "the COMMIT before a BEGIN",
                                           .answered = precommit_answered,
                                           .failed = precommit_failed};
