/*
 * session_kill.c: KILL [QUERY|CONNECTION] [USER] and KILL QUERY ID run by
 * halyard's ids, part of the session module (session_int.h): what goes to
 * the primary, what is read there first (session_kill_parse.c answers),
 * and the answers halyard gives in the server's place. COM_PROCESS_KILL
 * and a KILL in a multi-statement text come here too (session.c,
 * session_kill_chain.c).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/cluster/users.h"
#include "halyard/protocol/connreg.h"
#include "halyard/session/registry.h"
#include "halyard/session/session_err.h"
#include "halyard/session/worker.h"
#include "halyard/sql/sysview.h"
#include "session_int.h"
#include "session_kill.h"
#include "session_limits.h"
#include "session_pool.h"
#include "session_reload.h"
#include "session_sysview.h"

/* KILL [QUERY|CONNECTION] USER: passed to the primary, which kills that
 * account's threads there (halyard's connections among them) and checks
 * the privilege. halyard then ends that account's sessions too
 * (command_kill_user_answered), as the server ends its clients', when the
 * privilege is proven: the server killed at least one thread, or the
 * account kills its own sessions. (The server answers OK with 0 rows, not
 * an error, to a KILL USER that finds no thread it may kill.) Another
 * account's threads not halyard's are read first (int_kill_user, then this
 * runs again): its 1095 stands only for one or a halyard session of it. */
void command_kill_user(struct session *s, uint32_t len, const struct kill_user *ku)
{
    if (!ensure_backend(s, s->route.primary))
        return; /* runs again once the backend is ready */
    bool other = s->who.user == NULL || strcmp(s->who.user, ku->user) != 0;
    if (other && s->kill.kuser_state == 0) {
        struct connreg_row *rows = malloc(KILL_USER_CONNS_MAX * sizeof(*rows));
        size_t n =
            rows != NULL
                ? connreg_list(connreg_server(s->conns.cur->be->address, s->conns.cur->be->port),
                               rows, KILL_USER_CONNS_MAX)
                : SIZE_MAX;
        enum sql_quote_mode mode =
            (s->route.lex_opts & CLO_NO_BACKSLASH_ESCAPES) ? SQ_NO_BACKSLASH : SQ_BACKSLASH;
        char *q = n <= KILL_USER_CONNS_MAX
                      ? kill_user_sql(ku->user, ku->any_host ? NULL : ku->host, rows, n, mode)
                      : NULL;
        free(rows);
        if (q == NULL) {
            s->kill.kuser_state = 2; /* not known: the server's answer as it is */
            command_kill_user(s, len, ku);
            return;
        }
        internal_query(s, &int_kill_user, q, s->cfg->connect_timeout_ms);
        free(q);
        return;
    }
    if (other && s->kill.kuser_state == 1 && s->kill.kuser_process && !s->kill.kuser_may_kill &&
        s->kill.kuser_roles && !s->kill.kuser_grants) {
        s->kill.kuser_grants = true; /* a role may give it: SHOW GRANTS lists its grants */
        internal_query(s, &int_kill_grant, "SHOW GRANTS", s->cfg->connect_timeout_ms);
        return;
    }
    struct kill_user *pend = malloc(sizeof(*pend));
    if (pend != NULL) {
        *pend = *ku;
        pend->other_known = other && s->kill.kuser_state == 1;
        pend->others =
            s->kill.kuser_threads +
            registry_count_user(ku->user, ku->any_host ? NULL : ku->host, users_name_resolve());
        pend->process = s->kill.kuser_process;
        pend->may_kill = s->kill.kuser_may_kill;
    }
    s->kill.kuser_state = 0;
    s->kill.kuser_grants = false;
    command_forward(s, COM_QUERY, len, 0); /* command_begin drops a leftover */
    s->kill.kill_user = pend;
}

/* Its answer arrived (`killed`: the OK's affected rows, the server
 * threads it killed; 0 for an ERR), or it never will (0). */
void command_kill_user_answered(struct session *s, uint64_t killed)
{
    struct kill_user *ku = s->kill.kill_user;
    s->kill.kill_user = NULL;
    if (ku == NULL)
        return;
    if (!ku->query && (killed > 0 || (ku->other_known && ku->may_kill) ||
                       (s->who.user != NULL && strcmp(s->who.user, ku->user) == 0))) {
        unsigned n =
            registry_kill_user(ku->user, ku->any_host ? NULL : ku->host, users_name_resolve());
        slog_info(s, "KILL CONNECTION USER %s%s%s: %u halyard session(s) to end", ku->user,
                  ku->any_host ? "" : "@", ku->host, n);
    }
    free(ku);
}

/* ... from the answer's first packet in `down` (session_kill.h). */
bool command_kill_user_answer(struct session *s, uint32_t len)
{
    struct stream *st = &s->io.down;
    if (len + MYSQL_HEADER_SIZE <= st->b->cap && stream_unparsed(st) < MYSQL_HEADER_SIZE + len)
        return false;
    const uint8_t *p = st->b->data + st->scan + MYSQL_HEADER_SIZE;
    struct mysql_ok ok = {0};
    struct mysql_err e = {0};
    const struct kill_user *ku = s->kill.kill_user;
    bool killed =
        len > 0 && p[0] == MYSQL_OK && mysql_ok_decode(p, len, s->io.resp.caps, &ok) == HY_OK;
    bool denied = !killed && len > 0 && p[0] == MYSQL_ERR &&
                  mysql_err_decode(p, len, &e) == HY_OK && e.code == ER_KILL_DENIED_ERROR;
    bool judge = ku->other_known && ku->process && !ku->may_kill && (killed || denied);
    bool deny = ku->others > 0;
    command_kill_user_answered(s, killed ? ok.affected_rows : 0);
    if (!judge || deny == denied)
        return true; /* the server's answer is the one */
    st->scan += MYSQL_HEADER_SIZE + len;
    st->head = st->scan;
    if (deny)
        session_err(s, s->io.rdown.seq, SERR_KILL_DENIED, 0u);
    else
        send_ok(s, s->io.rdown.seq);
    s->io.resp_done = true;
    return true;
}

/* A KILL naming a halyard session id: find the backend thread behind it.
 * It is sent only once this session's own backend is ready, with the
 * target held (registry.h) so that the thread, read then, stays the
 * target's until the server has answered: under pooling the target's
 * connection would otherwise go to another session between statements,
 * and the KILL with it. */
void command_kill(struct session *s, uint32_t len, uint32_t id, bool query, const char *modifier,
                  bool as_com_process_kill)
{
    uint32_t tid = 0, idx = s->route.primary, marked = UINT32_MAX;
    bool hold = false;
    enum registry_kill k;
    if (id == s->id) {
        /* Its own id: the server stops the KILL itself (1317), or ends
         * the connection with 1927; either way nothing to ask a backend. */
        consume_packet(s, len);
        session_err(s, 1, query ? SERR_QUERY_INTERRUPTED : SERR_KILLED);
        if (query)
            session_next_command(s);
        else
            session_mark_closing(s, END_KILLED);
        return;
    }
    for (;;) {
        /* First without a hold, to know which backend to get ready; then
         * again, held, once it is: the target may have moved meanwhile. */
        tid = 0;
        idx = s->route.primary;
        k = registry_kill(&s->kill.reg, id, !query, hold, &tid, &idx);
        marked = idx; /* the backend a held KILL marks (registry_kill_done) */
        if (idx >= s->conns.n_bc)
            idx = s->route.primary; /* the target runs under another config */
        if (k != KILL_BACKEND || (hold && s->conns.cur != NULL && s->conns.cur->idx == idx &&
                                  s->conns.cur->state == BCONN_READY))
            break;
        if (hold)
            registry_kill_done(id, marked, !query, false); /* moved to another backend: again */
        if (!ensure_backend(s, idx))
            return; /* runs again once the backend is ready */
        hold = true;
    }
    switch (k) {
    case KILL_UNKNOWN:
        if (id < REGISTRY_ID_BASE) {
            /* a backend thread id (from CONNECTION_ID(), which runs on the
             * primary): the server decides */
            if (!ensure_backend(s, s->route.primary))
                return;
            command_forward(s, as_com_process_kill ? COM_PROCESS_KILL : COM_QUERY, len, 0);
            return;
        }
        consume_packet(s, len);
        session_err(s, 1, SERR_NO_SUCH_THREAD, id);
        session_next_command(s);
        return;
    case KILL_NOT_OWNER:
        consume_packet(s, len);
        session_err(s, 1, SERR_KILL_DENIED, id);
        session_next_command(s);
        return;
    case KILL_MARKED:
        consume_packet(s, len);
        send_ok(s, 1);
        session_next_command(s);
        return;
    case KILL_BACKEND:
        break;
    }
    consume_packet(s, len);
    uint8_t pkt[MYSQL_HEADER_SIZE + 64];
    size_t n;
    if (as_com_process_kill) {
        pkt[MYSQL_HEADER_SIZE] = COM_PROCESS_KILL;
        pkt[MYSQL_HEADER_SIZE + 1] = (uint8_t)tid;
        pkt[MYSQL_HEADER_SIZE + 2] = (uint8_t)(tid >> 8);
        pkt[MYSQL_HEADER_SIZE + 3] = (uint8_t)(tid >> 16);
        pkt[MYSQL_HEADER_SIZE + 4] = (uint8_t)(tid >> 24);
        n = 5;
    } else {
        pkt[MYSQL_HEADER_SIZE] = COM_QUERY;
        int m = snprintf((char *)pkt + MYSQL_HEADER_SIZE + 1, sizeof(pkt) - MYSQL_HEADER_SIZE - 1,
                         "KILL %s%s %u", modifier, query ? "QUERY" : "CONNECTION", tid);
        n = 1 + (size_t)m;
    }
    mysql_hdr_write(pkt, (uint32_t)n, 0);
    slog_info(s, "KILL %s %u: asking backend %s to kill its thread %u",
              query ? "QUERY" : "CONNECTION", id, s->conns.cur->be->name, tid);
    command_send_own(s, as_com_process_kill ? COM_PROCESS_KILL : COM_QUERY, pkt,
                     MYSQL_HEADER_SIZE + n);
    s->kill.kill_id = id;
    s->kill.kill_conn = !query;
    s->kill.kill_hold = id; /* until the server answers (command_kill_unhold) */
    s->kill.kill_hold_idx = marked;
}

/* Our own KILL (command_kill) is answered (session_kill.h). */
bool command_kill_answer(struct session *s, uint32_t len)
{
    struct stream *st = &s->io.down;
    if (len + MYSQL_HEADER_SIZE <= st->b->cap && stream_unparsed(st) < MYSQL_HEADER_SIZE + len)
        return false;
    uint32_t id = s->kill.kill_id;
    uint64_t qid = s->kill.kill_qid;
    s->kill.kill_id = 0;
    s->kill.kill_qid = 0;
    const uint8_t *p = st->b->data + st->scan + MYSQL_HEADER_SIZE;
    struct mysql_err e = {0};
    bool err = len > 0 && p[0] == MYSQL_ERR && mysql_err_decode(p, len, &e) == HY_OK;
    bool refused =
        err && (qid != 0 ? e.code == ER_NO_SUCH_QUERY || e.code == ER_KILL_QUERY_DENIED_ERROR
                         : e.code == ER_NO_SUCH_THREAD || e.code == ER_KILL_DENIED_ERROR);
    command_kill_unhold(s, !refused); /* the server has done what it does with it */
    /* The KILL ran on the victim's backend: its OK's status flags are the
     * session's only where its transactions live (the primary, no
     * read-only transaction on a replica); elsewhere the OK is the
     * session's own, as send_ok writes it (issue 47 item 2). */
    bool own_flags =
        s->conns.cur != NULL && s->conns.cur->idx == s->route.primary && s->route.ro_idx < 0;
    if (!refused && (err || own_flags || len == 0 || p[0] != MYSQL_OK))
        return true; /* passed on as it is */
    st->scan += MYSQL_HEADER_SIZE + len;
    st->head = st->scan;
    if (!refused)
        send_ok(s, s->io.rdown.seq);
    else if (qid != 0)
        session_err(s, s->io.rdown.seq,
                    e.code == ER_NO_SUCH_QUERY ? SERR_NO_SUCH_QUERY : SERR_KILL_QUERY_DENIED,
                    (unsigned long long)qid);
    else
        session_err(s, s->io.rdown.seq,
                    e.code == ER_NO_SUCH_THREAD ? SERR_NO_SUCH_THREAD : SERR_KILL_DENIED, id);
    s->io.resp_done = true;
    return true;
}

/* KILL [HARD|SOFT] QUERY ID: a query id halyard showed for a statement on
 * another backend than the primary (sysview.h) is killed there; any other
 * goes to the primary as it is. An expression (@id) is read on the
 * primary first (int_kill_qid; the command runs again after). */
void command_kill_qid(struct session *s, uint32_t len, const char *sql, const struct kill_stmt *k)
{
    uint64_t v = k->qid;
    bool number = k->qid_number;
    if (!number && s->kill.qid_state != 0) { /* read for this command (int_kill_qid) */
        number = s->kill.qid_state == 1;
        v = s->kill.qid_value;
    } else if (!number) {
        /* Read where the session's user variables are, then run again. */
        if (!ensure_backend(s, s->route.primary))
            return; /* runs again once the backend is ready */
        char q[1024];
        if ((size_t)k->expr_len + 64 > sizeof(q)) {
            s->kill.qid_state = 2; /* too long to be an id's: the server's */
            command_kill_qid(s, len, sql, k);
            return;
        }
        /* a newline ends a trailing comment of the expression's */
        snprintf(q, sizeof(q), "SELECT CAST((%.*s\n) AS SIGNED)", (int)k->expr_len,
                 sql + k->expr_off);
        internal_query(s, &int_kill_qid, q, s->cfg->connect_timeout_ms);
        return;
    }
    uint32_t idx = s->route.primary;
    uint64_t qid = 0;
    bool mapped = number && sysview_qid_decode(v, &idx, &qid);
    if (mapped && idx >= s->conns.n_bc) {
        s->kill.qid_state = 0;
        consume_packet(s, len);
        session_err(s, 1, SERR_NO_SUCH_QUERY, (unsigned long long)v);
        session_next_command(s);
        return;
    }
    if (!ensure_backend(s, mapped ? idx : s->route.primary))
        return; /* runs again once the backend is ready */
    if (!mapped && number && s->kill.qthread_state == 0) {
        /* The thread whose query it names, read first: the server lists
         * it Killed, idle, once it accepts the KILL (command_kill_qid_ok) */
        char q[96];
        snprintf(q, sizeof(q),
                 "SELECT ID FROM information_schema.PROCESSLIST WHERE QUERY_ID = %llu",
                 (unsigned long long)v);
        s->kill.qthread_state = 1;
        internal_query(s, &int_kill_qid, q, s->cfg->connect_timeout_ms);
        return;
    }
    s->kill.qid_state = 0;
    if (!mapped) {
        /* the primary's own query id: the server decides */
        uint32_t thread = s->kill.qthread_state == 2 ? s->kill.qthread : 0;
        s->kill.qthread_state = 0;
        command_forward(s, COM_QUERY, len, 0);
        s->kill.qid_mark = thread != 0 ? session_sysview_thread_session(s, thread) : 0;
        s->kill.qid_mark_idx = s->conns.cur->idx;
        return;
    }
    consume_packet(s, len);
    uint8_t pkt[MYSQL_HEADER_SIZE + 64];
    int m = snprintf((char *)pkt + MYSQL_HEADER_SIZE + 1, sizeof(pkt) - MYSQL_HEADER_SIZE - 1,
                     "KILL %sQUERY ID %llu", k->modifier, (unsigned long long)qid);
    pkt[MYSQL_HEADER_SIZE] = COM_QUERY;
    mysql_hdr_write(pkt, (uint32_t)(1 + m), 0);
    slog_info(s, "KILL QUERY ID %llu: asking backend %s to kill its query %llu",
              (unsigned long long)v, s->conns.cur->be->name, (unsigned long long)qid);
    command_send_own(s, COM_QUERY, pkt, MYSQL_HEADER_SIZE + 1 + (size_t)m);
    s->kill.kill_qid = v;
}

bool command_kill_qid_ok(struct session *s, uint32_t len)
{
    struct stream *st = &s->io.down;
    if (len > 0 && stream_unparsed(st) < MYSQL_HEADER_SIZE + 1)
        return false;
    if (len > 0 && st->b->data[st->scan + MYSQL_HEADER_SIZE] == MYSQL_OK)
        registry_mark_killed(s->kill.qid_mark, s->kill.qid_mark_idx);
    s->kill.qid_mark = 0;
    return true;
}

static void session_kill_keep(struct session *s, bool kept)
{
    s->kill.kill_kept = kept;
}

bool session_kill_may_release(struct session *s)
{
    if (registry_kill_requested(&s->kill.reg))
        return false;
    if (!registry_release_ok(&s->kill.reg)) {
        /* Its thread stays unpublished: between statements there is
         * nothing to kill (a KILL QUERY now answers OK, a KILL CONNECTION
         * marks it), and KILLs sent one after another cannot keep it
         * from giving its connections back. */
        slog_debug(s, "keeps its connections: a KILL for it is in flight");
        session_kill_keep(s, true);
        return false;
    }
    session_kill_keep(s, false);
    return true;
}

void session_kill_released(struct session *s)
{
    session_kill_keep(s, false);
    session_next_command(s); /* gives back, or reads LAST_INSERT_ID() first */
    session_reap(s);
}

void session_kill_wait(struct session *s)
{
    if (s->state != SS_WAIT_BACKEND || !s->kill.cmd_taken || s->query.internal != NULL ||
        !registry_wait_kill_pending(&s->kill.reg))
        return;
    if (!session_hooks_cancel_wait(s)) /* the limit's, the primary's, the pool's */
        return;
    session_set_state(s, SS_IDLE);
    session_next_command(s); /* taken again: next_take answers it 1317 */
    session_reap(s);
}

void command_kill_unhold(struct session *s, bool accepted)
{
    if (s->kill.kill_hold != 0) {
        registry_kill_done(s->kill.kill_hold, s->kill.kill_hold_idx, s->kill.kill_conn, accepted);
        s->kill.kill_hold = 0;
    }
}

void command_kill_done(struct session *s)
{
    registry_set_info(&s->kill.reg, NULL, 0); /* the process list: no statement in flight */
    command_kill_unhold(s, false);
}

void command_kill_begin(struct session *s)
{
    s->kill.cmd_taken = false; /* it leaves `up` */
    s->kill.kill_id = 0;
    s->kill.kill_qid = 0;
    s->kill.qid_mark = 0;
    command_kill_unhold(s, false); /* a leftover */
    command_kill_user_answered(s, 0);
}

void command_kill_leave(struct session *s)
{
    command_kill_unhold(s, false);
    command_kill_user_answered(s, 0);
    kill_chain_free(s);
    registry_remove(&s->kill.reg);
}

bool command_kill_requested(const struct session *s)
{
    return registry_kill_requested(&s->kill.reg);
}

bool command_kill_interrupted(struct session *s)
{
    return registry_take_wait_kill(&s->kill.reg);
}

void command_kill_take(struct session *s, const struct hook_cmd *hc)
{
    (void)hc;
    if (s->route.wait_idx < 0)
        registry_set_info(&s->kill.reg, NULL, 0);
}

void command_kill_send(struct session *s, const struct hook_cmd *hc)
{
    if (hc->rewritten)
        registry_set_info(&s->kill.reg, (const char *)hc->p + 1, hc->len - 1);
}

bool command_kill_join(struct session *s)
{
    s->id = registry_new_id();
    s->kill.reg.id = s->id;
    s->kill.reg.loop = s->w->loop;
    s->kill.reg.wakeup = &s->w->wakeup;
    s->kill.reg.kill_pending = &s->w->kill_pending;
    s->kill.reg.peer = s->who.peer;
    registry_add(&s->kill.reg);
    return true;
}

/* ---- the KILL commands' handlers (com_handlers[], session.c) ---------- */

enum next_step com_process_kill(struct session *s, const struct next_cmd *c)
{
    if (c->len >= 5) {
        const uint8_t *p = c->p;
        uint32_t id =
            (uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 | (uint32_t)p[4] << 24;
        command_kill(s, c->len, id, false, "", true);
        return NEXT_STOP;
    }
    return NEXT_ROUTE;
}

/* KILL by a halyard id; any other statement is routed. */
enum next_step com_query(struct session *s, const struct next_cmd *c)
{
    if (s->route.wait_idx >= 0)
        return NEXT_ROUTE; /* routed, then waited for its connection: looked at when it came */
    const uint8_t *p = c->p;
    if (c->fits && c->len >= 5 && (p[1] == 'K' || p[1] == 'k' || !isalpha(p[1]))) {
        struct kill_stmt k;
        switch (parse_kill((const char *)p + 1, c->len - 1, s->route.lex_opts, &k)) {
        case KILL_ID:
            command_kill(s, c->len, k.id, k.query, k.modifier, false);
            return NEXT_STOP;
        case KILL_USER:
            command_kill_user(s, c->len, &k.user);
            return NEXT_STOP;
        case KILL_QID:
            command_kill_qid(s, c->len, (const char *)p + 1, &k);
            return NEXT_STOP;
        case KILL_NONE:
            break;
        }
    }
    return NEXT_ROUTE; /* any other KILL: session_route() (ROUTE_ANSWERED) */
}
