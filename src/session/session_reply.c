/*
 * session_reply.c: the session's replies to its client, a service of the
 * session module (session_services.h) that the cycle and every feature
 * use: the packets halyard builds itself, sent on the client's
 * connection. Each ERR halyard answers with is the session's
 * diagnostics (the hooks' on_own_err); an answer inside a KILL's text
 * has its ids moved on (on_reply). It calls nothing of the cycle nor of a
 * feature.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "halyard/cluster/users.h"
#include "halyard/core/stats.h"
#include "halyard/protocol/accounts.h"
#include "halyard/protocol/conn.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/session/worker.h"
#include "session_int.h"
#include "session_track.h"

/* The ERR for a transaction lost with its backend, by what of it stays. */
static enum session_err session_track_lost_err(enum trx_nontrx keeps)
{
    switch (keeps) {
    case TRX_NONTRX_NONE:
        return SERR_TRX_LOST;
    case TRX_NONTRX_WROTE:
        return SERR_TRX_LOST_NONTRX;
    case TRX_NONTRX_UNKNOWN:
        break;
    }
    return SERR_TRX_LOST_MAYBE_NONTRX;
}

/* ---- packets we generate -------------------------------------------------
 * Its ERRs (halyard's own from session_err.h's table, a query rule's, a
 * backend's payload under the session's sequence id), a plain OK, access
 * denied with the client's host as MariaDB names it. */

void send_local(struct session *s, const uint8_t *pkt, size_t len)
{
    hy_status_t rc = conn_send_local(&s->client, s->w->loop, &s->w->pool, pkt, len);
    if (rc != HY_OK)
        session_mark_closing(s, rc == HY_NOMEM ? END_NOMEM : END_CLIENT_ERROR);
}

/* An error halyard answers a statement with itself is the session's
 * diagnostics now, as a server's own error would be: kept to be raised
 * again on the connection a statement reading them runs on
 * (session_pool_own_err), in place of what halyard held after a fan-out
 * (session_diag.c), so that every form of reading them (GET DIAGNOSTICS
 * too) gets the server's answer. Not for a login's error (the session
 * ends), nor while it ends. */
static void own_error(struct session *s, const uint8_t *pkt, size_t len)
{
    const uint8_t *e = pkt + MYSQL_HEADER_SIZE;
    if (len < MYSQL_HEADER_SIZE + 9 || e[0] != MYSQL_ERR)
        return;
    if (s->state != SS_IDLE && s->state != SS_WAIT_BACKEND && s->state != SS_COMMAND)
        return;
    session_hooks_own_err(s, e, (uint32_t)(len - MYSQL_HEADER_SIZE)); /* session_hooks.c */
}

/* Send the ERR of `why` (session_err.h: the one table of halyard's own
 * errors), its arguments as the table's format says. */
void session_err(struct session *s, uint8_t seq, enum session_err why, ...)
{
    uint8_t pkt[MYSQL_HEADER_SIZE + 600];
    va_list ap;
    if (why == SERR_TRX_LOST) /* what of it stays (session_track_lost) */
        why = session_track_lost_err((enum trx_nontrx)s->route.trx_lost_keeps);
    (void)session_hooks_reply(s, &seq, false); /* inside a KILL's text (session_hooks.c) */
    va_start(ap, why);
    size_t len = session_err_vencode(pkt, sizeof(pkt), seq, why, ap);
    va_end(ap);
    own_error(s, pkt, len);
    send_local(s, pkt, len);
}

/* An ERR that is not halyard's own (a query rule's, configured). */
void session_err_custom(struct session *s, uint8_t seq, uint16_t code, const char *sqlstate,
                        const char *msg)
{
    uint8_t pkt[MYSQL_HEADER_SIZE + 600];
    (void)session_hooks_reply(s, &seq, false);
    size_t len = session_err_encode_custom(pkt, sizeof(pkt), seq, code, sqlstate, msg);
    own_error(s, pkt, len);
    send_local(s, pkt, len);
}

/* An ERR with MariaDB's own code, given by the caller (the prepared
 * statements' refusals, among others). */
void send_err(struct session *s, uint8_t seq, uint16_t code, const char *sqlstate, const char *fmt,
              ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        msg[0] = '\0';
    session_err_custom(s, seq, code, sqlstate, msg);
}

/* Forward a backend's ERR payload to the client under our sequence id. */
void send_err_payload(struct session *s, uint8_t seq, const uint8_t *payload, size_t len)
{
    uint8_t pkt[MYSQL_HEADER_SIZE + 1024];
    len = HY_MIN(len, sizeof(pkt) - MYSQL_HEADER_SIZE);
    memcpy(pkt + MYSQL_HEADER_SIZE, payload, len);
    mysql_hdr_write(pkt, (uint32_t)len, seq);
    send_local(s, pkt, MYSQL_HEADER_SIZE + len);
}

/* The status flags of an answer halyard builds in the server's place: the
 * session's own state as the server would report it (issue 47). Autocommit
 * and a transaction on the primary are s->route.status; a read-only
 * transaction on a replica is s->route.ro_idx; NO_BACKSLASH_ESCAPES follows
 * the sql_mode the last answer reported. Nothing of one answer only (more
 * results, no index used, a dropped database) carries over. */
uint16_t session_reply_status(const struct session *s)
{
    uint16_t st = s->route.status & (SERVER_STATUS_IN_TRANS | SERVER_STATUS_AUTOCOMMIT |
                                     SERVER_STATUS_IN_TRANS_READONLY);
    if (s->route.ro_idx >= 0)
        st |= SERVER_STATUS_IN_TRANS | SERVER_STATUS_IN_TRANS_READONLY;
    if (s->route.lex_opts & CLO_NO_BACKSLASH_ESCAPES)
        st |= SERVER_STATUS_NO_BACKSLASH_ESCAPES;
    return st;
}

/* Every OK halyard builds itself goes out here, with the session's status
 * flags and no warnings (a command halyard answers raises none). */
void send_ok_counts(struct session *s, uint8_t seq, uint64_t affected, uint64_t insert_id)
{
    uint8_t pkt[MYSQL_HEADER_SIZE + 32];
    uint16_t more = session_hooks_reply(s, &seq, true); /* inside a KILL's text */
    uint16_t status = session_reply_status(s) | more;
    size_t len = mysql_ok_encode(pkt + MYSQL_HEADER_SIZE, sizeof(pkt) - MYSQL_HEADER_SIZE, affected,
                                 insert_id, status, 0);
    mysql_hdr_write(pkt, (uint32_t)len, seq);
    send_local(s, pkt, MYSQL_HEADER_SIZE + len);
}

void send_ok(struct session *s, uint8_t seq)
{
    send_ok_counts(s, seq, 0, 0);
}

void client_host(const struct session *s, char *out, size_t len)
{
    client_ip(s, out, len);
    if (users_name_resolve() && accounts_loopback(out))
        snprintf(out, len, "localhost");
}

void client_ip(const struct session *s, char *out, size_t len)
{
    net_name_host(s->who.peer, out, len);
}

void send_access_denied(struct session *s, uint8_t seq, const char *user, size_t user_len,
                        bool used_password)
{
    char host[64];
    client_host(s, host, sizeof(host));
    session_err(s, seq, SERR_ACCESS_DENIED, (int)HY_MIN(user_len, 80), user, host,
                used_password ? "YES" : "NO");
    stat_inc(&s->w->stats.auth_failures);
}
