/*
 * session_show.c: a session in words, part of the session module
 * (session_int.h): the row `show sessions` shows of it (session_describe,
 * run in the session's worker), with the first bytes of the statement it
 * runs (kept by session_route.c's session_note_statement).
 */
#include <stdio.h>
#include <string.h>

#include "halyard/pool/server.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/session/worker.h"
#include "halyard/sql/classify.h"
#include "halyard/sql/pstmt.h"
#include "session_int.h"
#include "session_pool.h"

void session_describe(const struct session *s, struct session_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = s->id;
    snprintf(r->user, sizeof(r->user), "%s", s->who.user != NULL ? s->who.user : "");
    snprintf(r->client, sizeof(r->client), "%s", s->who.peer);
    snprintf(r->via, sizeof(r->via), "%s", s->who.via != NULL ? s->who.via : "");
    const char *schema = session_schema(s);
    snprintf(r->schema, sizeof(r->schema), "%s", schema != NULL ? schema : "");
    if (s->conns.cur != NULL) {
        snprintf(r->backend, sizeof(r->backend), "%s", s->conns.cur->be->name);
        r->thread = s->conns.cur->login.thread_id;
    }
    r->state = session_state_to_str(s->state);
    r->command = s->state == SS_COMMAND ? mysql_com_name(s->query.cmd) : NULL;
    /* Runs in the session's worker (worker_call): its loop's cached time. */
    r->command_age_ms = s->state == SS_COMMAND
                            ? (int64_t)((ev_now(s->w->loop) - s->query.cmd_started) * 1000.0)
                            : -1;
    r->statements = s->prep.map.count;
    session_pool_holds(s, r->holds, sizeof(r->holds));
    bool busy = s->state == SS_COMMAND || s->state == SS_WAIT_BACKEND;
    if (!busy || s->query.stmt_len == 0)
        return;
    if (may_hold_secret(s->query.stmt, s->query.stmt_len, s->route.lex_opts)) {
        /* As the query log does: no password, the digest stands for it. */
        (void)classify_digest(s->query.stmt, s->query.stmt_len, s->route.lex_opts, r->statement,
                              sizeof(r->statement), NULL);
    } else {
        memcpy(r->statement, s->query.stmt, s->query.stmt_len);
        r->statement[s->query.stmt_len] = '\0';
    }
}
