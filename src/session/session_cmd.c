/*
 * session_cmd.c: commands the session answers or rewrites itself, part of
 * the session module (session_int.h): KILL [QUERY|CONNECTION] and
 * COM_PROCESS_KILL by halyard's ids, KILL QUERY ID by halyard's query ids,
 * COM_CHANGE_USER, a packet too large.
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
#include "halyard/sql/lexer.h"
#include "halyard/sql/sysview.h"
#include "halyard/protocol/compress.h"
#include "halyard/sql/digest.h"
#include "halyard/route/firewall.h"
#include "halyard/route/guard.h"
#include "halyard/protocol/proxyproto.h"
#include "halyard/session/registry.h"
#include "halyard/protocol/relay.h"
#include "halyard/route/router.h"
#include "halyard/pool/server.h"
#include "halyard/session/session.h"
#include "halyard/cluster/users.h"
#include "halyard/session/session_err.h"
#include "halyard/cluster/stats.h"
#include "halyard/protocol/tls.h"
#include "halyard/sql/track.h"
#include "halyard/session/worker.h"
#include "session_int.h"

/* Nothing but spaces, comments and one ';' left. */
static bool kill_end(const char *p, const char *end)
{
    p = lex_skip_space_comments(p, end);
    if (p < end && *p == ';')
        p = lex_skip_space_comments(p + 1, end);
    return p == end;
}

/* One part of an account name: 'quoted', "quoted", `quoted` or bare
 * (letters, digits, '_', '$', '.', '%', '-'). */
static bool kill_name_part(const char **pp, const char *end, char *out, size_t cap)
{
    const char *p = *pp;
    size_t n = 0;
    if (p < end && (*p == '\'' || *p == '"' || *p == '`')) {
        char q = *p++;
        while (p < end && *p != q) {
            if (*p == '\\' && q != '`' && p + 1 < end)
                p++;
            if (n + 1 >= cap)
                return false;
            out[n++] = *p++;
        }
        if (p >= end)
            return false;
        p++;
    } else {
        while (p < end && (isalnum((unsigned char)*p) || strchr("_$.%-", *p) != NULL)) {
            if (n + 1 >= cap)
                return false;
            out[n++] = *p++;
        }
        if (n == 0)
            return false;
    }
    out[n] = '\0';
    *pp = p;
    return true;
}

/* A connection id: digits to the end of the statement. */
static bool kill_id(const char *p, const char *end, uint32_t *id)
{
    if (p >= end || !isdigit((unsigned char)*p))
        return false;
    uint64_t v = 0;
    while (p < end && isdigit((unsigned char)*p)) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX)
            return false;
        p++;
    }
    *id = (uint32_t)v;
    return kill_end(p, end);
}

/* USER name[@host] to the end of the statement. */
static bool kill_user_name(const char *p, const char *end, struct kill_user *ku)
{
    if (lex_match_word(&p, end, "CURRENT_USER"))
        return false; /* the server's to resolve */
    if (!kill_name_part(&p, end, ku->user, sizeof(ku->user)))
        return false;
    ku->any_host = true;
    ku->host[0] = '\0';
    if (p < end && *p == '@') {
        p++;
        if (!kill_name_part(&p, end, ku->host, sizeof(ku->host)))
            return false;
        ku->any_host = false;
    }
    return kill_end(p, end);
}

/* KILL QUERY ID's expression: a number, or any other expression. */
static enum kill_kind kill_qid(const char *p, const char *sql, const char *end, struct kill_stmt *k)
{
    p = lex_skip_space_comments(p, end);
    const char *e = end;
    while (e > p && (isspace((unsigned char)e[-1]) || e[-1] == ';'))
        e--;
    if (p == e)
        return KILL_NONE; /* the server's syntax error */
    k->qid_number = false;
    k->qid = 0;
    const char *d = p;
    while (d < e && isdigit((unsigned char)*d)) {
        if (k->qid > (UINT64_MAX - 9) / 10)
            return KILL_NONE; /* past any id: the server's to answer */
        k->qid = k->qid * 10 + (uint64_t)(*d - '0');
        d++;
    }
    if (d > p && kill_end(d, end)) {
        k->qid_number = true;
        return KILL_QID;
    }
    k->expr_off = (uint32_t)(p - sql);
    k->expr_len = (uint32_t)(e - p);
    return KILL_QID;
}

enum kill_kind parse_kill(const char *sql, size_t len, struct kill_stmt *k)
{
    const char *p = sql, *end = sql + len;
    p = lex_skip_space_comments(p, end);
    if (!lex_match_word(&p, end, "KILL"))
        return KILL_NONE;
    k->modifier = "";
    if (lex_match_word(&p, end, "HARD"))
        k->modifier = "HARD ";
    else if (lex_match_word(&p, end, "SOFT"))
        k->modifier = "SOFT ";
    k->query = false;
    if (lex_match_word(&p, end, "QUERY")) {
        k->query = true;
        if (lex_match_word(&p, end, "ID"))
            return kill_qid(p, sql, end, k); /* a query id, not a connection id */
    } else {
        (void)lex_match_word(&p, end, "CONNECTION");
    }
    if (lex_match_word(&p, end, "USER")) {
        /* KILL QUERY USER: the server stops the statements; sessions go on */
        return !k->query && kill_user_name(p, end, &k->user) ? KILL_USER : KILL_NONE;
    }
    return kill_id(p, end, &k->id) ? KILL_ID : KILL_NONE;
}

/* KILL [CONNECTION] USER: passed to the primary, which kills that
 * account's threads there (halyard's connections among them) and checks
 * the privilege. halyard then ends that account's sessions too
 * (command_kill_user_answered), as the server ends its clients', when the
 * privilege is proven: the server killed at least one thread, or the
 * account kills its own sessions. (The server answers OK with 0 rows, not
 * an error, to a KILL USER that finds no thread it may kill.) */
void command_kill_user(struct session *s, uint32_t len, const struct kill_user *ku)
{
    if (!ensure_backend(s, s->route.primary))
        return; /* runs again once the backend is ready */
    struct kill_user *pend = malloc(sizeof(*pend));
    if (pend != NULL)
        *pend = *ku;
    command_forward(s, COM_QUERY, len, 0); /* command_begin drops a leftover */
    s->kill.kill_user = pend;
}

void command_kill_user_answered(struct session *s, uint64_t killed)
{
    struct kill_user *ku = s->kill.kill_user;
    s->kill.kill_user = NULL;
    if (ku == NULL)
        return;
    if (killed > 0 || (s->who.user != NULL && strcmp(s->who.user, ku->user) == 0)) {
        unsigned n = registry_kill_user(&s->kill.reg, ku->user, ku->any_host ? NULL : ku->host,
                                        users_name_resolve());
        slog_info(s, "KILL CONNECTION USER %s%s%s: %u halyard session(s) to end", ku->user,
                  ku->any_host ? "" : "@", ku->host, n);
    }
    free(ku);
}

void command_kill_user_answer(struct session *s, uint32_t len)
{
    const uint8_t *p = s->io.down.b->data + s->io.down.scan + MYSQL_HEADER_SIZE;
    struct mysql_ok ok = {0};
    bool killed =
        len > 0 && p[0] == MYSQL_OK && mysql_ok_decode(p, len, s->io.resp.caps, &ok) == HY_OK;
    command_kill_user_answered(s, killed ? ok.affected_rows : 0);
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
    uint32_t tid = 0, idx = s->route.primary;
    bool hold = false;
    enum registry_kill k;
    for (;;) {
        /* First without a hold, to know which backend to get ready; then
         * again, held, once it is: the target may have moved meanwhile. */
        tid = 0;
        idx = s->route.primary;
        k = registry_kill(&s->kill.reg, id, !query, hold, &tid, &idx);
        if (idx >= s->conns.n_bc)
            idx = s->route.primary; /* the target runs under another config */
        if (k != KILL_BACKEND || (hold && s->conns.cur != NULL && s->conns.cur->idx == idx &&
                                  s->conns.cur->state == BCONN_READY))
            break;
        if (hold)
            registry_kill_done(id, !query, false); /* moved to another backend: again */
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
}

/* Our own KILL (command_kill) is answered by the backend in terms of its
 * thread id; when it refuses, the client must read the id it gave. Returns
 * false while the whole answer packet is not there yet. */
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
    if (!refused)
        return true; /* passed on as it is */
    st->scan += MYSQL_HEADER_SIZE + len;
    st->head = st->scan;
    if (qid != 0)
        session_err(s, s->io.rdown.seq,
                    e.code == ER_NO_SUCH_QUERY ? SERR_NO_SUCH_QUERY : SERR_KILL_QUERY_DENIED,
                    (unsigned long long)qid);
    else
        session_err(s, s->io.rdown.seq,
                    e.code == ER_NO_SUCH_THREAD ? SERR_NO_SUCH_THREAD : SERR_KILL_DENIED, id);
    s->io.resp_done = true;
    return true;
}

/* The value INT_KILL_QID read, as KILL QUERY ID reads its expression
 * (a signed integer); false when it is no number. */
static bool qid_parse(const char *v, uint64_t *out)
{
    if (v == NULL || *v == '\0')
        return false;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end != '\0' || errno != 0 || v[0] == '-')
        return false;
    *out = n;
    return true;
}

void command_kill_qid_value(struct session *s, bool ok, const char *value)
{
    uint64_t v = 0;
    bool number = ok && qid_parse(value, &v);
    s->kill.qid_state = number ? 1 : 2;
    s->kill.qid_value = v;
}

void command_kill_qid(struct session *s, uint32_t len, const char *sql, const struct kill_stmt *k)
{
    uint64_t v = k->qid;
    bool number = k->qid_number;
    if (!number && s->kill.qid_state != 0) { /* read for this command (INT_KILL_QID) */
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
        internal_query(s, INT_KILL_QID, q, s->cfg->connect_timeout_ms);
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
    s->kill.qid_state = 0;
    if (!mapped) {
        /* the primary's own query id: the server decides */
        command_forward(s, COM_QUERY, len, 0);
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

void command_kill_unhold(struct session *s, bool accepted)
{
    if (s->kill.kill_hold != 0) {
        registry_kill_done(s->kill.kill_hold, s->kill.kill_conn, accepted);
        s->kill.kill_hold = 0;
    }
}

char *dup_bytes(const void *p, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        memcpy(d, p, n);
        d[n] = '\0';
    }
    return d;
}

bool plugin_is_native(const char *plugin, size_t len)
{
    return plugin == NULL ||
           (len == strlen(NATIVE_PLUGIN) && memcmp(plugin, NATIVE_PLUGIN, len) == 0);
}

void command_change_user(struct session *s, uint32_t len)
{
    const uint8_t *p = s->io.up.b->data + s->io.up.scan + MYSQL_HEADER_SIZE;
    struct mysql_change_user cu;
    if (mysql_change_user_decode(p, len, s->who.caps, &cu) != HY_OK) {
        consume_packet(s, len);
        session_err(s, 1, SERR_BAD_CHANGE_USER);
        session_mark_closing(s, END_PROTOCOL);
        return;
    }
    bool made = login_change_user(s, &cu); /* a new login part, its pending user */
    stat_inc(&s->w->stats.commands);
    bool switch_needed = !plugin_is_native(cu.plugin, cu.plugin_len) ||
                         (cu.auth_len != 0 && cu.auth_len != MYSQL_SCRAMBLE_LEN);
    if (!made) {
        consume_packet(s, len);
        session_mark_closing(s, END_NOMEM);
        return;
    }
    /* The client answered the scramble of our greeting; keep it. */
    uint8_t auth[MYSQL_SCRAMBLE_LEN];
    size_t auth_len = HY_MIN(cu.auth_len, sizeof(auth));
    memcpy(auth, cu.auth, auth_len);
    consume_packet(s, len);
    if (switch_needed) {
        send_auth_switch(s, 1);
        return;
    }
    auth_check(s, s->login->pend_user, strlen(s->login->pend_user), auth, auth_len, 0);
}

/* A request over max_packet_size: answered as the server answers one over
 * max_allowed_packet, and the connection closed (what follows of the
 * packet cannot be told from a command). */
void packet_too_large(struct session *s, uint8_t seq)
{
    slog_info(s, "request larger than max_packet_size (%d bytes)", s->cfg->max_packet_size);
    session_err(s, (uint8_t)(seq + 1), SERR_PACKET_TOO_LARGE);
    session_mark_closing(s, END_PACKET_TOO_LARGE);
}
