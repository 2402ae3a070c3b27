/*
 * session_show.c: a session in words, part of the session module
 * (session_int.h): the first bytes of the statement it runs, and the
 * row `show sessions` shows of it (session_describe, run in the session's
 * worker).
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

/* Keep the first bytes of the statement a command runs, for `show
 * sessions` (session_describe): a COM_QUERY's or COM_STMT_PREPARE's text,
 * an EXECUTE's prepared statement. `avail` bytes of the payload are there. */
void session_note_statement(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t avail)
{
    const char *text = NULL;
    size_t len = 0;
    if ((cmd == COM_QUERY || cmd == COM_STMT_PREPARE) && avail > 1) {
        text = (const char *)p + 1;
        len = avail - 1;
    } else if (cmd == COM_STMT_EXECUTE && avail >= 5) {
        const struct pstmt *ps = pstmt_find(&s->prep.map, mysql_stmt_id_get(p));
        if (ps != NULL && ps->sql != NULL) {
            text = ps->sql;
            len = ps->sql_len;
        }
    }
    s->query.stmt_len = (uint8_t)HY_MIN(len, sizeof(s->query.stmt));
    if (s->query.stmt_len > 0)
        memcpy(s->query.stmt, text, s->query.stmt_len);
}

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
