/*
 * session_next.c: the command loop of a session (session_next_command).
 *
 * It takes the client's next command from `up` once it is whole in the
 * buffer (a larger one: once its first bytes are), lets the handler of the
 * commands halyard looks at first (com_handlers) answer or rewrite it,
 * tells a statement after a lost transaction (next_lost), routes the others
 * (session_route) and forwards them to the backend chosen (next_forward).
 * The streams, the answer's tracking and the timers are session.c's.
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

/* The client's COM_QUERY or COM_STMT_PREPARE (whole at p) calls
 * CONNECTION_ID(): it goes to s->conns.cur with the session's id there, the id
 * of the handshake, whichever backend runs it (s->query.connid, from session_route()).
 * A COM_QUERY that reads the process list or the status variables goes
 * with derived tables in their place (session_sysview.c). */
static void command_forward_connid(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len)
{
    static const struct classify_connid none = {0};
    const struct classify_connid *cid = s->query.connid != NULL ? s->query.connid : &none;
    bool sysview = cmd == COM_QUERY && session_sysview_rewrites(s);
    /* FOUND_ROWS() and ROW_COUNT() are the session's previous statement's,
     * which ran on another connection (or this one ran another session's
     * since): halyard gives the values it saw (session_pool_prev_values).
     * In a prepared statement's text they stay calls: an execution
     * elsewhere runs a one-off statement with the values (session_ps.c). */
    char num[3][CLASSIFY_CALL_VALUE_MAX + 1];
    const char *value[CLASSIFY_CALL__COUNT] = {num[0], NULL, NULL};
    snprintf(num[0], sizeof(num[0]), "%u", s->id);
    if (cmd == COM_QUERY && session_pool_prev_values(s, num[1], num[2], sizeof(num[1]))) {
        value[CLASSIFY_CALL_FOUND_ROWS] = num[1];
        value[CLASSIFY_CALL_ROW_COUNT] = num[2];
    } else if (cid->n_connid == 0 && !sysview) {
        command_forward(s, cmd, len, 0); /* nothing to change */
        return;
    }
    size_t cap = classify_connid_bound(cid, len - 1);
    uint8_t *pkt = malloc(MYSQL_HEADER_SIZE + 1 + cap);
    if (pkt == NULL) {
        session_mark_closing(s, END_NOMEM);
        return;
    }
    pkt[MYSQL_HEADER_SIZE] = cmd;
    size_t n = classify_calls_rewrite((const char *)p + 1, len - 1, cid, value,
                                      (char *)pkt + MYSQL_HEADER_SIZE + 1, cap);
    if (sysview && !session_sysview_packet(s, &pkt, &n, (const char *)p + 1, len - 1)) {
        free(pkt);
        session_mark_closing(s, END_NOMEM);
        return;
    }
    mysql_hdr_write(pkt, (uint32_t)(n + 1), 0);
    consume_packet(s, len);
    bool writes = s->query.cmd_writes;
    command_send_own(s, cmd, pkt, MYSQL_HEADER_SIZE + 1 + n);
    s->query.cmd_writes = writes;
    free(pkt);
}

/* A command halyard answers itself, whole in the buffer: taken from the
 * client's stream, and no backend answer is awaited for it. False when
 * it is not all there (a protocol error: the session is closing). */
static bool answer_here(struct session *s, bool fits, uint32_t len)
{
    if (!fits) {
        session_mark_closing(s, END_PROTOCOL);
        return false;
    }
    consume_packet(s, len);
    command_abandon(s);
    return true;
}

/* ---- the command loop ----------------------------------------------------
 * session_next_command() takes the client's next command from `up` once it
 * is whole in the buffer (a larger one: once its first bytes are). A
 * command halyard answers or rewrites itself goes to its handler in
 * com_handlers[]; any other, and those its handler lets through, is routed
 * (session_route) and forwarded to the backend chosen (next_forward). */

/* The command at up.scan. */
struct next_cmd {
    const uint8_t *h; /* its header */
    uint8_t *p;       /* its payload, p[0] the command */
    uint32_t len;     /* payload bytes */
    bool fits;        /* the whole packet fits in the buffer (and is there) */
    uint8_t cmd;
};

/* What the loop does after a step. */
enum next_step {
    NEXT_STOP,  /* return: the session waits, runs a step of its own, or closes */
    NEXT_AGAIN, /* the command is answered: take the next one */
    NEXT_ROUTE, /* go on: route the command to a backend */
};

typedef enum next_step com_handler(struct session *s, const struct next_cmd *c);

/* The payload bytes of the command at up.scan that are in the buffer. */
static uint32_t next_avail(const struct session *s, uint32_t len)
{
    return HY_MIN(len, stream_unparsed(&s->io.up) - MYSQL_HEADER_SIZE);
}

static enum next_step com_quit(struct session *s, const struct next_cmd *c)
{
    consume_packet(s, c->len);
    session_mark_closing(s, END_CLIENT_QUIT);
    return NEXT_STOP;
}

static enum next_step com_change_user(struct session *s, const struct next_cmd *c)
{
    if (!c->fits) {
        session_err(s, 1, SERR_CHANGE_USER_TOO_LARGE);
        session_mark_closing(s, END_PROTOCOL);
        return NEXT_STOP;
    }
    command_change_user(s, c->len);
    return NEXT_STOP;
}

static enum next_step com_ping(struct session *s, const struct next_cmd *c)
{
    if (s->conns.bc[s->route.primary] == NULL) {
        /* No backend session yet: nothing to ping or to reset. */
        consume_packet(s, c->len);
        stat_inc(&s->w->stats.commands);
        send_ok(s, 1);
        return NEXT_AGAIN;
    }
    return NEXT_ROUTE;
}

static enum next_step com_reset_connection(struct session *s, const struct next_cmd *c)
{
    /* A fresh session everywhere but for its schema, which the
     * server keeps: other backends reconnect when needed. */
    POOL_COUNT(s, &s->cfg->backends[s->route.primary], resets);
    session_xa_discard(s); /* a transaction across groups ends with it */
    session_begin_forget(s);
    state_clear(s);
    session_pool_reset(s);
    s->route.pinned = false;
    session_tables_locked(s, false);
    for (uint32_t i = 0; i < s->conns.n_bc; i++) {
        if (s->conns.bc[i] != NULL && i != s->route.primary)
            bconn_close(s->conns.bc[i]);
    }
    s->route.status = SERVER_STATUS_AUTOCOMMIT;
    s->route.ro_idx = -1;
    ps_clear(s); /* the server drops them all */
    if (state_reset_keep_schema(s) != HY_OK) {
        session_mark_closing(s, END_NOMEM);
        return NEXT_STOP;
    }
    return com_ping(s, c);
}

static enum next_step com_process_kill(struct session *s, const struct next_cmd *c)
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
static enum next_step com_query(struct session *s, const struct next_cmd *c)
{
    const uint8_t *p = c->p;
    if (c->fits && c->len >= 5 && (p[1] == 'K' || p[1] == 'k' || !isalpha(p[1]))) {
        struct kill_stmt k;
        switch (parse_kill((const char *)p + 1, c->len - 1, &k)) {
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
    return NEXT_ROUTE;
}

static enum next_step com_stmt_prepare(struct session *s, const struct next_cmd *c)
{
    if (s->route.wait_idx < 0 && s->prep.map.count >= (uint32_t)s->cfg->max_prepared_statements) {
        ps_refuse(s, c->len, ER_MAX_PREPARED_STMT_COUNT, "42000",
                  "Can't create more than max_prepared_stmt_count statements "
                  "(current value: %d)",
                  s->cfg->max_prepared_statements);
        return NEXT_AGAIN;
    }
    return NEXT_ROUTE;
}

/* The prepared-statement commands session_ps.c runs: false from them
 * means the command waits (or the session closes). */
static enum next_step com_stmt_execute(struct session *s, const struct next_cmd *c)
{
    return ps_execute(s, c->p, c->len, next_avail(s, c->len)) ? NEXT_AGAIN : NEXT_STOP;
}

static enum next_step com_stmt_send_long_data(struct session *s, const struct next_cmd *c)
{
    return ps_long_data(s, c->p, c->len) ? NEXT_AGAIN : NEXT_STOP;
}

static enum next_step com_stmt_fetch(struct session *s, const struct next_cmd *c)
{
    return ps_fetch(s, c->p, c->len) ? NEXT_AGAIN : NEXT_STOP;
}

static enum next_step com_stmt_reset(struct session *s, const struct next_cmd *c)
{
    return ps_reset(s, c->p, c->len) ? NEXT_AGAIN : NEXT_STOP;
}

static enum next_step com_stmt_close(struct session *s, const struct next_cmd *c)
{
    ps_close(s, c->p, c->len);
    return NEXT_AGAIN;
}

static enum next_step com_stmt_bulk_execute(struct session *s, const struct next_cmd *c)
{
    return ps_bulk_execute(s, c->p, c->len, next_avail(s, c->len)) ? NEXT_AGAIN : NEXT_STOP;
}

/* A replica must talk to its source itself. (Obsolete commands such as
 * COM_TIME are forwarded: the server answers them.) */
static enum next_step com_replication(struct session *s, const struct next_cmd *c)
{
    if (!c->fits) {
        session_mark_closing(s, END_PROTOCOL);
        return NEXT_STOP;
    }
    consume_packet(s, c->len);
    slog_info(s, "refused %s: replication is not proxied", mysql_com_name(c->cmd));
    session_err(s, 1, SERR_NOT_FORWARDED, mysql_com_name(c->cmd));
    return NEXT_AGAIN;
}

/* The commands halyard looks at before routing; the others are routed. */
static com_handler *const com_handlers[256] = {
    [COM_QUIT] = com_quit,
    [COM_CHANGE_USER] = com_change_user,
    [COM_RESET_CONNECTION] = com_reset_connection,
    [COM_PING] = com_ping,
    [COM_PROCESS_KILL] = com_process_kill,
    [COM_QUERY] = com_query,
    [COM_STMT_PREPARE] = com_stmt_prepare,
    [COM_STMT_EXECUTE] = com_stmt_execute,
    [COM_STMT_SEND_LONG_DATA] = com_stmt_send_long_data,
    [COM_STMT_FETCH] = com_stmt_fetch,
    [COM_STMT_RESET] = com_stmt_reset,
    [COM_STMT_CLOSE] = com_stmt_close,
    [COM_STMT_BULK_EXECUTE] = com_stmt_bulk_execute,
    [COM_BINLOG_DUMP] = com_replication,
    [COM_BINLOG_DUMP_GTID] = com_replication,
    [COM_REGISTER_SLAVE] = com_replication,
    [COM_TABLE_DUMP] = com_replication,
};

/* Whether the session takes a command now, and which: NEXT_ROUTE with *c
 * filled when a command (or the head of one larger than the buffer) is
 * there; NEXT_AGAIN after a step that lets the loop look again. */
static enum next_step next_take(struct session *s, struct next_cmd *c)
{
    struct stream *st = &s->io.up;
    if ((s->state != SS_IDLE && s->state != SS_WAIT_BACKEND) || session_login_waits(s) ||
        session_fanout_busy(s))
        return NEXT_STOP;
    if (registry_kill_requested(&s->kill.reg)) {
        /* KILL CONNECTION found it between statements, or waiting for
         * a connection: it ends before it runs another. */
        if (st->b != NULL && stream_unparsed(st) >= MYSQL_HEADER_SIZE)
            session_err(s, (uint8_t)(mysql_hdr_seq(st->b->data + st->scan) + 1), SERR_KILLED);
        session_mark_closing(s, END_KILLED);
        return NEXT_STOP;
    }
    if (!request_skip_progress(s)) {
        update_reads(s);
        return NEXT_STOP;
    }
    if (state_db_check(s) || state_moved_readback(s) || session_pool_lid_follow(s))
        return NEXT_STOP; /* the schema, insert_id, rand_seed1/2, LAST_INSERT_ID() read back first
                           */
    if (config_root(s->cfg) != s->w->session_cfg && s->state == SS_IDLE && s->route.wait_idx < 0) {
        session_config_switch(s);
        if (s->state == SS_CLOSING)
            return NEXT_STOP; /* its group was removed: reaped as the callback ends */
    }
    if (s->state == SS_IDLE && session_groups(s)->xa != NULL && session_xa_rollback_due(s))
        return session_xa_abort(s) ? NEXT_STOP : NEXT_AGAIN; /* its steps run; then the next */
    if (st->b == NULL || stream_unparsed(st) < MYSQL_HEADER_SIZE) {
        if (st->b != NULL && st->head == st->scan)
            stream_release_if_empty(st, &s->w->pool);
        if (session_pool_release(s))
            return NEXT_STOP; /* LAST_INSERT_ID() is read back first */
        if (s->state == SS_IDLE)
            state_idle(s);
        update_reads(s);
        return NEXT_STOP;
    }
    c->h = st->b->data + st->scan;
    c->len = mysql_hdr_len(c->h);
    uint8_t seq = mysql_hdr_seq(c->h);
    if (c->len > (uint32_t)s->cfg->max_packet_size) {
        packet_too_large(s, seq);
        return NEXT_STOP;
    }
    /* Commands we look into must be whole in the buffer; larger ones
     * (a 20 MiB INSERT) are passed through as they arrive. */
    c->fits = c->len + MYSQL_HEADER_SIZE <= st->b->cap;
    uint32_t need = c->fits ? c->len : HY_MIN(c->len, 8u);
    if (stream_unparsed(st) < MYSQL_HEADER_SIZE + need) {
        update_reads(s);
        return NEXT_STOP;
    }
    c->p = st->b->data + st->scan + MYSQL_HEADER_SIZE;
    if (seq != 0) {
        slog_info(s, "command packet with sequence id %u", seq);
        session_err(s, seq + 1, SERR_PACKETS_OUT_OF_ORDER);
        session_mark_closing(s, END_PROTOCOL);
        return NEXT_STOP;
    }
    if (c->len == 0) {
        consume_packet(s, c->len);
        slog_info(s, "empty command packet");
        session_err(s, 1, SERR_UNKNOWN_COMMAND);
        return NEXT_AGAIN;
    }
    s->io.last_seq = seq;
    c->cmd = c->p[0];
    return NEXT_ROUTE;
}

/* The transaction died with its backend while the client was away (a
 * statement found s->route.trx_lost): tell it now; a ROLLBACK is what it would
 * have done. */
static enum next_step next_trx_lost(struct session *s, const struct next_cmd *c)
{
    const char *q = (const char *)c->p + 1, *qend = (const char *)c->p + c->len;
    q = lex_skip_space_comments(q, qend);
    bool rollback = c->cmd == COM_QUERY && lex_match_word(&q, qend, "ROLLBACK");
    consume_packet(s, c->len);
    if (session_groups(s)->xa != NULL) {
        /* the other groups' branches are rolled back first */
        command_abandon(s);
        char *name = s->route.trx_lost;
        s->route.trx_lost = NULL;
        bool waits = session_xa_lost(s, rollback, name);
        free(name);
        return waits ? NEXT_STOP : NEXT_AGAIN;
    }
    if (rollback)
        send_ok(s, 1);
    else
        session_err(s, 1, SERR_TRX_LOST, s->route.trx_lost);
    free(s->route.trx_lost);
    s->route.trx_lost = NULL;
    return NEXT_AGAIN;
}

/* A statement after the session's transaction died with its backend
 * (s->route.trx_lost) is replayed first (session_replay.c), else answered
 * 1927 (next_trx_lost); never run by itself, which would commit alone what
 * the client sent as part of the transaction it is then told was rolled
 * back. One larger than the buffer cannot be answered without reading it
 * all: the session ends, as the server's death would have ended it. Run by
 * next_route, and before the handlers of the prepared-statement executions
 * (session_next_command), which route on their own and, as before, learn
 * of a primary's change at their own pace (session_ps.c). */
static enum next_step next_lost(struct session *s, const struct next_cmd *c)
{
    uint8_t cmd = c->cmd;
    if (s->route.trx_lost == NULL || !(cmd == COM_QUERY || cmd == COM_STMT_EXECUTE ||
                                       cmd == COM_STMT_PREPARE || cmd == COM_STMT_BULK_EXECUTE))
        return NEXT_ROUTE;
    if (!c->fits) {
        slog_warn(s, "a %s of %u bytes after the transaction was lost with %s: closing",
                  mysql_com_name(cmd), c->len, s->route.trx_lost);
        command_abandon(s);
        session_err(s, 1, SERR_TRX_LOST, s->route.trx_lost);
        session_mark_closing(s, END_BACKEND_LOST);
        return NEXT_STOP;
    }
    if (session_replay_next(s, cmd, c->p, c->len) == REPLAY_STOP)
        return NEXT_STOP; /* replayed first (session_replay.c) */
    if (s->route.trx_lost != NULL)
        return next_trx_lost(s, c);
    return NEXT_ROUTE;
}

/* Where the command goes (*idx: a backend or a ROUTE_* outcome; *why:
 * why no backend; *primary_write: a write the primary is to take
 * outside a transaction, which may wait for one). */
static enum next_step next_route(struct session *s, const struct next_cmd *c, uint32_t *idx,
                                 char *why, size_t whylen, bool *primary_write)
{
    if (s->route.causal_refused) {
        session_writer_refusal(s, why, whylen);
        *idx = ROUTE_NOBODY;
        return NEXT_ROUTE;
    }
    if (s->route.wait_idx >= 0 && session_groups(s)->fanout == NULL) {
        /* (a read of every group in an XA transaction waiting between
         * its parts, s->groups->fanout, is routed again: session_fanout_xa_wait) */
        *idx = (uint32_t)s->route.wait_idx;
        return NEXT_ROUTE;
    }
    uint8_t cmd = c->cmd;
    session_backend_reap_pending(s);
    session_follow_primary(s);
    if (s->state == SS_CLOSING)
        return NEXT_STOP;
    enum next_step lost = next_lost(s, c);
    if (lost != NEXT_ROUTE)
        return lost;
    session_note_statement(s, cmd, c->p, next_avail(s, c->len));
    s->route.primary_wait_until = 0; /* a new statement gets the whole wait */
    *idx = session_route(s, cmd, c->p, c->len, next_avail(s, c->len));
    if (s->state == SS_CLOSING)
        return NEXT_STOP;
    if (s->values.lid_lost != NULL && s->query.cmd_lid) {
        /* It would read another connection's value: the session
         * ends as the server's death would have ended it. */
        slog_warn(s, "a statement uses LAST_INSERT_ID(), lost with %s: closing",
                  s->values.lid_lost);
        command_abandon(s);
        session_err(s, 1, SERR_LID_LOST, s->values.lid_lost);
        session_mark_closing(s, END_BACKEND_LOST);
        return NEXT_STOP;
    }
    if (s->values.lid_unknown != NULL && s->query.cmd_lid) {
        /* not known after a write on several groups: refused, not
         * answered with an older value */
        if (*idx == ROUTE_FANOUT)
            session_fanout_free(s);
        if (!answer_here(s, c->fits, c->len))
            return NEXT_STOP;
        send_err(s, 1, 1105, "HY000",
                 "halyard: LAST_INSERT_ID() is not known after the previous statement "
                 "on several groups: %.300s",
                 s->values.lid_unknown);
        return NEXT_AGAIN;
    }
    *primary_write = *idx == s->route.primary && !session_in_trans(s) && s->route.ro_idx < 0;
    if (*idx < s->conns.n_bc)
        *idx = route_health(s, *idx, why, whylen);
    retry_note(s, *idx, cmd, c->h, MYSQL_HEADER_SIZE + c->len, c->fits);
    return NEXT_ROUTE;
}

/* A statement a query rule blocked (ROUTE_BLOCK). */
static enum next_step next_blocked(struct session *s, const struct next_cmd *c)
{
    const struct config_rule *rule = s->query.block_rule;
    if (!c->fits) {
        session_mark_closing(s, END_PROTOCOL);
        return NEXT_STOP;
    }
    char digest[20];
    snprintf(digest, sizeof(digest), "%016" PRIx64, s->query.digest_hash);
    bool have_digest = s->query.digest_pending;
    consume_packet(s, c->len);
    command_abandon(s);
    log_audit("session %u %s@%s: statement blocked by rule '%s'", s->id, s->who.user, s->who.peer,
              rule->name);
    audit_block(s->id, s->who.user, s->who.peer, rule->name, have_digest ? digest : NULL);
    session_err_custom(s, 1, (uint16_t)rule->error_code, rule->error_sqlstate, rule->error_message);
    return NEXT_AGAIN;
}

/* A statement the user's firewall refused (ROUTE_FIREWALL). */
static enum next_step next_firewalled(struct session *s, const struct next_cmd *c)
{
    if (!answer_here(s, c->fits, c->len))
        return NEXT_STOP;
    char digest[20];
    snprintf(digest, sizeof(digest), "%016" PRIx64, s->query.fw_hash);
    log_audit("session %u %s@%s: %s blocked by the firewall: digest %s not in the user's "
              "firewall_allow",
              s->id, s->who.user, s->who.peer, mysql_com_name(c->cmd), digest);
    audit_block(s->id, s->who.user, s->who.peer, "firewall", digest);
    session_err(s, 1, SERR_FIREWALL, s->who.user);
    return NEXT_AGAIN;
}

/* A ROUTE_* outcome other than a backend: answered here, or run by the
 * file it belongs to. NEXT_ROUTE when idx is a backend. */
static enum next_step next_outcome(struct session *s, const struct next_cmd *c, uint32_t idx,
                                   const char *why, bool primary_write)
{
    switch (idx) {
    case ROUTE_NOBODY:
        if (primary_write && c->fits && primary_wait_start(s))
            return NEXT_STOP;
        if (!answer_here(s, c->fits, c->len))
            return NEXT_STOP;
        session_err(s, 1, SERR_NO_BACKEND, why);
        return NEXT_AGAIN;
    case ROUTE_BLOCK:
        return next_blocked(s, c);
    case ROUTE_FIREWALL:
        return next_firewalled(s, c);
    case ROUTE_XA:
        if (!answer_here(s, c->fits, c->len))
            return NEXT_STOP;
        if (session_begin_run(s))
            return NEXT_STOP; /* its steps run; the last one answers */
        return s->state == SS_CLOSING ? NEXT_STOP : NEXT_AGAIN;
    case ROUTE_SHARD:
        if (!answer_here(s, c->fits, c->len))
            return NEXT_STOP;
        session_shard_refuse(s);
        return NEXT_AGAIN;
    case ROUTE_CACHE:
        if (!answer_here(s, c->fits, c->len))
            return NEXT_STOP;
        stat_inc(&s->w->stats.commands);
        session_cache_answer(s);
        return s->state == SS_CLOSING ? NEXT_STOP : NEXT_AGAIN;
    case ROUTE_DIAG:
        if (!answer_here(s, c->fits, c->len))
            return NEXT_STOP;
        stat_inc(&s->w->stats.commands);
        session_diag_answer(s);
        return s->state == SS_CLOSING ? NEXT_STOP : NEXT_AGAIN;
    case ROUTE_FANOUT:
        if (session_fanout_xa_wait(s))
            return NEXT_STOP; /* a group's part of it is being readied or runs */
        if (!answer_here(s, c->fits, c->len))
            return NEXT_STOP;
        stat_inc(&s->w->stats.commands);
        if (session_fanout_start(s))
            return NEXT_STOP; /* it answers, then reads the next command */
        return s->state == SS_CLOSING ? NEXT_STOP : NEXT_AGAIN;
    case ROUTE_REFUSE:
    case ROUTE_RO_WRITE:
        if (!answer_here(s, c->fits, c->len))
            return NEXT_STOP;
        if (idx == ROUTE_RO_WRITE)
            session_err(s, 1, SERR_READ_ONLY_TRX);
        else
            session_err(s, 1, SERR_NO_REPLICA);
        return NEXT_AGAIN;
    default:
        return NEXT_ROUTE;
    }
}

/* The command goes to backend idx, once it is ready. */
static void next_forward(struct session *s, const struct next_cmd *c, uint32_t idx)
{
    uint8_t cmd = c->cmd;
    s->route.wait_idx = (int)idx;
    if (s->route.causal_check && idx != s->route.primary && !causal_ready(s, idx))
        return;
    s->route.causal_check = false;
    if (idx == s->route.primary && !session_writer_sync(s))
        return;
    /* a branch's XA START may carry this statement (session_xa.c) */
    session_xa_pipe(s, session_groups(s)->xa != NULL && cmd == COM_QUERY && c->fits &&
                           !(s->query.connid != NULL && s->query.connid->n > 0));
    bool ready = ensure_backend(s, idx);
    session_xa_pipe(s, false);
    if (!ready || !session_sysview_ready(s))
        return;
    uint8_t exec_flags = (cmd == COM_STMT_EXECUTE && c->len >= 6) ? c->p[5] : 0;
    s->query.set_option =
        (cmd == COM_SET_OPTION && c->len >= 3) ? (int)(c->p[1] | c->p[2] << 8) : -1;
    session_sysview_begin(s);
    bool rewrite =
        ((s->query.connid != NULL && s->query.connid->n > 0) || session_sysview_rewrites(s)) &&
        (cmd == COM_QUERY || cmd == COM_STMT_PREPARE) && c->fits;
    session_replay_sent(s, cmd, c->p, c->len, c->fits, rewrite);
    if (rewrite)
        command_forward_connid(s, cmd, c->p, c->len);
    else if (s->inflight == NULL || !session_inflight_send(s, cmd, c->p, c->len, c->fits, idx))
        command_forward(s, cmd, c->len, exec_flags); /* else sent with its mark */
}

/* Take the next command from `up`, if a whole one is there. */
void session_next_command(struct session *s)
{
    for (;;) {
        struct next_cmd c;
        enum next_step step = next_take(s, &c);
        if (step == NEXT_ROUTE && (c.cmd == COM_STMT_EXECUTE || c.cmd == COM_STMT_BULK_EXECUTE))
            step = next_lost(s, &c);
        if (step == NEXT_ROUTE && com_handlers[c.cmd] != NULL)
            step = com_handlers[c.cmd](s, &c);
        uint32_t idx = 0;
        char why[160] = "";
        bool primary_write = false;
        if (step == NEXT_ROUTE)
            step = next_route(s, &c, &idx, why, sizeof(why), &primary_write);
        if (step == NEXT_ROUTE)
            step = next_outcome(s, &c, idx, why, primary_write);
        if (step == NEXT_ROUTE) {
            next_forward(s, &c, idx);
            return;
        }
        if (step == NEXT_STOP)
            return;
    }
}
