/*
 * session_diag.c: the session's diagnostics area when halyard holds it,
 * part of the session module (session_int.h).
 *
 * A statement run on every group (session_fanout.c) leaves its conditions
 * on connections the session does not keep: session_fanout.c reads them
 * there and hands them over here (s->values.ldiag, diag_local.h). From then on,
 * until a statement replaces the diagnostics area, a statement that reads
 * it is answered by halyard (ROUTE_DIAG), never by a connection whose
 * diagnostics are an earlier statement's. What replaces it is what
 * replaces it on a server:
 *   - a statement run on a backend that raised a warning or an error
 *     there, or that clears the diagnostics (it uses a table, or is not a
 *     plain SELECT/SET/DO/...: classify's clears_diag; session_diag_follow);
 *   - an error halyard answers itself (session_err & co.): it becomes the
 *     one condition, raised again on a connection when read (session_pool.c:
 *     session_pool_own_err), and what is held here is dropped;
 *   - COM_RESET_CONNECTION, COM_CHANGE_USER, the session's end.
 * A statement that keeps the diagnostics (SELECT 1, SET @x = 1) and
 * raises nothing leaves them here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/route/diag_local.h"
#include "halyard/core/log.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "session_int.h"
#include "session_diag.h"
#include "session_pool.h"

struct session_ldiag {
    struct diag_local d;
    struct scatter_out answer; /* ROUTE_DIAG: what the statement gets */
    char why[400];             /* ... or the 1105 it is refused with */
};

void session_diag_set(struct session *s, struct diag_local *d)
{
    session_diag_drop(s);
    if (d == NULL)
        return;
    session_pool_diag_replaced(s, false); /* an error kept to be raised again */
    struct session_ldiag *l = calloc(1, sizeof(*l));
    if (l == NULL) {
        /* not kept, and the session's connection would answer wrong */
        diag_local_free(d);
        session_mark_closing(s, END_NOMEM);
        return;
    }
    l->d = *d;
    memset(d, 0, sizeof(*d));
    s->values.ldiag = l;
}

void session_diag_own_err(struct session *s, const uint8_t *err, uint32_t len)
{
    (void)err, (void)len;
    session_diag_drop(s);
}

void session_diag_drop(struct session *s)
{
    struct session_ldiag *l = s->values.ldiag;
    if (l == NULL)
        return;
    diag_local_free(&l->d);
    scatter_out_free(&l->answer);
    free(l);
    s->values.ldiag = NULL;
}

uint32_t session_diag_route(struct session *s, const char *text, size_t len)
{
    struct session_ldiag *l = s->values.ldiag;
    scatter_out_free(&l->answer);
    l->why[0] = '\0';
    struct diag_query q;
    diag_query_parse(text, len, s->route.lex_opts, &q);
    if (l->d.unknown[0] != '\0') {
        snprintf(l->why, sizeof(l->why),
                 "halyard: the previous statement ran on every group and its warnings and "
                 "errors are not known: %s",
                 l->d.unknown);
        return ROUTE_DIAG;
    }
    if (q.form == DIAG_OTHER && l->d.warnings == 0 && l->d.errors == 0) {
        /* The area held is empty (a process-list read in XA IDLE, run on
         * another connection): the statement runs where it goes, that
         * connection's area emptied first (session_pool_sync_diag), as
         * after a cache hit (before 2026-11-29: refused, 1105, `DO 1 / 0;
         * SHOW WARNINGS` among others) */
        session_diag_drop(s);
        session_pool_diag_replaced(s, true);
        return UINT32_MAX;
    }
    if (q.form == DIAG_OTHER) {
        snprintf(l->why, sizeof(l->why),
                 "halyard: the previous statement ran on every group: halyard answers SHOW "
                 "WARNINGS, SHOW ERRORS, SHOW COUNT(*) WARNINGS|ERRORS and SELECT "
                 "@@warning_count|@@error_count about it, not this statement");
        return ROUTE_DIAG;
    }
    bool ext = (s->who.ext_caps & MARIADB_CLIENT_EXTENDED_METADATA) != 0;
    hy_status_t rc = diag_local_answer(&l->d, &q, s->who.caps, ext, s->route.status, &l->answer);
    if (rc == HY_NOMEM) {
        session_mark_closing(s, END_NOMEM);
        return s->route.primary;
    }
    if (rc != HY_OK)
        snprintf(l->why, sizeof(l->why),
                 "halyard: the previous statement ran on every group and no group told how "
                 "its warnings are listed");
    return ROUTE_DIAG;
}

void session_diag_answer(struct session *s)
{
    struct session_ldiag *l = s->values.ldiag;
    if (l == NULL || l->why[0] != '\0') {
        char why[sizeof(l->why)];
        snprintf(why, sizeof(why), "%s", l != NULL ? l->why : "halyard: no diagnostics");
        slog_info(s, "diagnostics refused: %s", why);
        session_err(s, 1, SERR_SCATTER, why);
        return;
    }
    struct scatter_out out = l->answer;
    memset(&l->answer, 0, sizeof(l->answer));
    send_local(s, scatter_out_bytes(&out), out.buf.len);
    scatter_out_free(&out);
}
