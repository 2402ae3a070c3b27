/*
 * session.c: the client side of halyard, the command cycle as one state
 * machine. It reads top-down: the dispatcher (the client socket's and the
 * timers' callbacks, switching on s->state); the command loop
 * (session_next_command) with its table of the commands halyard looks at
 * first; the command cycle (begin, forward, the answer parsed and passed
 * on, command_done); the commands answered or rewritten here (KILL,
 * COM_CHANGE_USER); its life (create at accept, greeting, close, free).
 * Its state's one changer, its timers and the packets it builds itself
 * are services (session_services.h). The login is session_login.c's, the
 * backend connections session_backend.c's, the routing session_route.c's;
 * the features (cache, replay, XA, shards...) are in files of their own.
 *
 * Design
 * ------
 * A session speaks the server half of the MySQL protocol to its client and
 * the client half to its backend. After login it moves through
 *
 *   IDLE -> [WAIT_BACKEND ->] COMMAND -> IDLE
 *
 * once per command. While a command is in flight the client's request is
 * passed through the `up` stream and the server's answer through the `down`
 * stream, each read into a pooled buffer and written on from that same
 * buffer: no copy, no allocation per packet. Only packet headers are parsed,
 * plus the first bytes of each answer packet, which the response tracker
 * (mysql_resp_feed) needs to tell where the answer ends. Packets of 16 MiB
 * and more, result sets larger than memory and LOAD DATA LOCAL streams all
 * pass through the same fixed buffers; a slow reader on either side stops
 * the reads on the other side (back-pressure), so memory per session is
 * bounded by two buffers whatever the traffic.
 *
 * Commands are handled one at a time: bytes a client pipelines behind a
 * command wait in `up` until the answer is complete.
 *
 * The backend connection is opened lazily, at the first command that needs
 * it, except when the client names a schema at login: then halyard opens it
 * during the login so that an unknown schema fails the login as MariaDB
 * would. Idle sessions therefore hold no backend connection and no buffer.
 *
 * Ownership: the session owns its sockets, its buffers (returned to the
 * worker's pool as soon as they are empty) and its copies of user, schema and
 * connection attributes. Handlers never free the session: they set
 * SS_CLOSING and session_reap() frees it when the event callback returns.
 */
#include <ctype.h>
#include <stdarg.h>
#include <strings.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "halyard/core/text.h"
#include "halyard/core/audit.h"
#include "halyard/protocol/auth.h"
#include "halyard/cluster/backend.h"
#include "halyard/config/group.h"
#include "halyard/sql/classify.h"
#include "halyard/sql/lexer.h"
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
#include "halyard/sql/sysview.h"
#include "halyard/cluster/shard_learn.h"
#include "session_int.h"
#include "session_begin.h"
#include "session_cache.h"
#include "session_diag.h"
#include "session_fanout.h"
#include "session_filter.h"
#include "session_kill.h"
#include "session_login.h"
#include "session_pool.h"
#include "session_ps.h"
#include "session_reload.h"
#include "session_replay.h"
#include "session_shard.h"
#include "session_state.h"
#include "session_sysview.h"
#include "session_track.h"
#include "session_xa.h"

/* ---- the dispatcher ------------------------------------------------------
 * Every event of a session comes in through the callbacks below and is
 * dispatched on s->state; a handler only marks the session closing, and
 * session_reap() frees it once the callback returns. Client bytes go to:
 *
 *   PROXY_HEADER, HANDSHAKE,  the opening hook       (the login's row)
 *   AUTH_SWITCH
 *   IDLE                      session_next_command   (the command loop)
 *   COMMAND                   up_forward while the request is open
 *   LOGIN_BACKEND, WAIT_BACKEND, COMMAND after the request: kept in `up`
 *
 * A backend's bytes come in through session_server_event (session_backend.c),
 * which hands an answer to down_parse/down_forward; session_timer_cb dispatches
 * the session's one timer on the same states, pool_wait_cb its wait for a
 * pooled connection (session_pool_wait). */

static void answer_timeout(struct session *s);

/* A whole packet (or a large one's first bytes) arrived from the client. */
static void client_proto(struct session *s)
{
    switch (s->state) {
    case SS_PROXY_HEADER:
    case SS_HANDSHAKE:
    case SS_AUTH_SWITCH:
        if (!session_hooks_opening(s)) /* the login's (session_hooks.c) */
            update_reads(s);
        break;
    case SS_IDLE:
        session_next_command(s);
        break;
    case SS_COMMAND:
        if (s->io.req_open)
            up_forward(s);
        else
            update_reads(s); /* pipelined: kept for later */
        break;
    default:
        update_reads(s);
        break;
    }
}

static void session_client_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct session *s = container_of(w, struct session, client.rio);
    enum relay_rc rr = relay_read(&s->io.up, &s->client, &s->w->pool);
    if (rr == RELAY_DONE)
        s->io.last_active = ev_now(loop);
    if (rr == RELAY_AGAIN) {
        update_reads(s);
        goto out;
    }
    if (rr != RELAY_DONE) {
        session_mark_closing(s, rr == RELAY_CLOSED ? END_CLIENT_CLOSED : END_CLIENT_ERROR);
        goto out;
    }
    client_proto(s);
out:
    session_reap(s);
}

static void session_client_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct session *s = container_of(w, struct session, client.wio);
    hy_status_t rc = conn_flush_local(&s->client, &s->w->pool);
    if (rc == HY_ERROR) {
        session_mark_closing(s, END_CLIENT_ERROR);
        goto out;
    }
    if (rc == HY_AGAIN)
        goto out;
    if (s->state == SS_COMMAND) {
        down_forward(s);
    } else {
        ev_io_stop(loop, &s->client.wio);
    }
out:
    session_reap(s);
}

static void session_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct session *s = container_of(w, struct session, io.timer);
    if (s->io.timer_lazy && s->state != SS_COMMAND) {
        s->io.timer_lazy = false; /* a read timer past its command: nothing to time */
        return;
    }
    if (session_hooks_timer(s)) { /* a login's wait, or its time up (session_hooks.c) */
        session_reap(s);
        return;
    }
    if (s->state == SS_WAIT_BACKEND && s->query.internal != NULL &&
        (s->query.internal->flags & INTERNAL_WRITER_SYNC)) {
        session_writer_sync_late(s); /* the new writer lags: not a failure */
        session_reap(s);
        return;
    }
    switch (s->state) {
    case SS_LOGIN_BACKEND:
    case SS_WAIT_BACKEND:
        if (s->conns.cur == NULL) { /* waiting for a connection at max_connections */
            if (s->state == SS_LOGIN_BACKEND) {
                slog_info(s, "login not finished within %d ms: no connection to the primary",
                          s->cfg->login_timeout_ms);
                session_err(s, (uint8_t)(s->io.last_seq + 1), SERR_TOO_MANY);
                session_mark_closing(s, END_LOGIN_TIMEOUT);
            }
            break; /* a statement: its wait has its own end (session_pool_wait) */
        }
        session_backend_failed(s, NULL, 0, "connect timed out");
        break;
    case SS_COMMAND:
        answer_timeout(s);
        break;
    default:
        break;
    }
    session_reap(s);
}

/* client_idle_timeout_ms and wait_timeout: the timer runs from login on and
 * is pushed back lazily: it fires at most once per timeout, and only then
 * looks at when the client last sent something (libev's "lazy" idle
 * timer). */
static void session_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct session *s = container_of(w, struct session, io.idle);
    bool by_server;
    double timeout = session_idle_timeout(s, &by_server);
    double now = ev_now(loop);
    if (timeout <= 0)
        return; /* a reload turned it off */
    bool idle = s->state == SS_IDLE && !session_hooks_busy(s) && !conn_has_local(&s->client) &&
                (s->io.up.b == NULL || stream_empty(&s->io.up));
    if (!idle)
        s->io.last_active = now; /* a command in flight is not idleness */
    double left = s->io.last_active + timeout - now;
    if (left > 0) {
        w->repeat = left;
        ev_timer_again(loop, w);
        return;
    }
    if (by_server) {
        /* as MariaDB 10.11 does on wait_timeout: nothing is sent, the
         * connection is reset (a client's next write fails: 2006, "server
         * has gone away", not 2013) */
        slog_info(s, "idle for %.0f s: closing (the session's wait_timeout)", timeout);
        struct linger reset = {.l_onoff = 1, .l_linger = 0};
        (void)setsockopt(s->client.fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
        session_mark_closing(s, END_IDLE_TIMEOUT);
        session_reap(s);
        return;
    }
    slog_info(s, "idle for %d ms: closing (client_idle_timeout_ms)",
              s->cfg->client_idle_timeout_ms);
    /* What MySQL 8 sends on wait_timeout (MariaDB 10.11 closes silently): a
     * client reads it as the answer to its next command. */
    session_err(s, 1, SERR_IDLE_TIMEOUT);
    session_mark_closing(s, END_IDLE_TIMEOUT);
    session_reap(s);
}

/* backend_read_timeout_ms for the command beginning now: none of the
 * timer's work while a read timer runs that fires no later than the new
 * deadline (answer_timeout() then sets the rest); any other gives way. */
static void read_timer_begin(struct session *s)
{
    double timeout = s->cfg->backend_read_timeout_ms / 1e3;
    s->io.down_last = s->query.cmd_started;
    if (s->io.timer_lazy && ev_is_active(&s->io.timer) &&
        ev_timer_remaining(s->w->loop, &s->io.timer) <= timeout)
        return;
    session_timer_start(s, s->cfg->backend_read_timeout_ms);
    s->io.timer_lazy = true;
}

/* A statement's (or a login's) wait for a pooled connection at
 * max_connections: over, or one may be free. */
static void pool_wait_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct session *s = container_of(t, struct session, conns.lease.pool_wait);
    if (ev_now(loop) >= s->conns.lease.pool_wait_until)
        s->conns.lease.pool_wait_over = true;
    if (s->state == SS_WAIT_BACKEND) {
        command_end(s); /* routed again: a connection, a wait, or 1040 */
    } else if (s->state == SS_LOGIN_BACKEND && s->conns.cur == NULL) {
        session_login_backend(s); /* the same for a login that named a schema */
    }
    session_reap(s);
}

/* ---- streams ----------------------------------------------------------- */

/* Reads stop while a stream is full and resume once it drains. */
void update_reads(struct session *s)
{
    struct ev_loop *loop = s->w->loop;
    bool up_full = s->io.up.b != NULL && s->io.up.tail == s->io.up.b->cap && s->io.up.head == 0;
    bool up_blocked =
        s->io.up.b != NULL && s->io.up.head < s->io.up.scan; /* waiting for the backend */
    if (s->client.fd >= 0) {
        if (up_full || up_blocked)
            conn_io_stop(loop, &s->client.rio);
        else
            conn_io_start(loop, &s->client.rio);
    }
    if (s->conns.cur != NULL && s->conns.cur->state == BCONN_READY) {
        bool down_full =
            s->io.down.b != NULL && s->io.down.tail == s->io.down.b->cap && s->io.down.head == 0;
        /* an answer held back (down_hold) is read on to its end */
        bool down_blocked =
            s->io.down.b != NULL && s->io.down.head < s->io.down.scan && !s->io.down_held;
        if (down_full || down_blocked)
            conn_io_stop(loop, &s->conns.cur->c.rio);
        else
            conn_io_start(loop, &s->conns.cur->c.rio);
    }
}

/* The commands answered or rewritten here (below, after the cycle). */
static void packet_too_large(struct session *s, uint8_t seq);

/* ---- the command loop ----------------------------------------------------
 * session_next_command() takes the client's next command from `up` once it
 * is whole in the buffer (a larger one: once its first bytes are). A
 * command halyard answers or rewrites itself goes to its handler in
 * com_handlers[]; a statement after a lost transaction is told so
 * (the after_lost hooks); any other, and those its handler lets through, is routed
 * (session_route) and forwarded to the backend chosen (next_forward). */

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

/* What COM_RESET_CONNECTION and COM_CHANGE_USER do to the session on
 * halyard's side: a fresh session everywhere but for its schema and role,
 * which the server keeps on the primary's connection (state_reset); the
 * other backends' connections close (they reconnect when needed). False:
 * the session ends. */
static bool session_reset_here(struct session *s)
{
    session_hooks_reset(s); /* the features' (session_hooks.c) */
    session_hooks_renew(s); /* and what the server starts afresh */
    session_tables_locked(s, false);
    for (uint32_t i = 0; i < s->conns.n_bc; i++) {
        if (s->conns.bc[i] != NULL && i != s->route.primary)
            bconn_close(s->conns.bc[i]);
    }
    s->route.status = SERVER_STATUS_AUTOCOMMIT;
    s->route.ro_idx = -1;
    bool keep_pin = false;
    if (state_reset(s, &keep_pin) != HY_OK) {
        session_mark_closing(s, END_NOMEM);
        return false;
    }
    if (!keep_pin)
        s->route.pinned = false;
    return true;
}

/* The COM_RESET_CONNECTION a COM_CHANGE_USER begins with was
 * answered: an error leaves that connection in a state no one knows, so
 * it closes (the server frees what it held when it sees the close). */
static enum internal_next change_user_reset_answered(struct session *s, struct bconn *bc)
{
    if (s->io.resp.err_code == 0 || bc == NULL)
        return INTERNAL_END;
    slog_warn(s, "COM_RESET_CONNECTION before COM_CHANGE_USER failed on %s (error %u): closing it",
              bc->be->name, s->io.resp.err_code);
    bconn_close(bc);
    return INTERNAL_END;
}

static const struct internal_cmd int_cu_reset = {.name = "the reset before a COM_CHANGE_USER",
                                                 .answered = change_user_reset_answered};

/* MariaDB resets the session before it checks the new user (a failed
 * COM_CHANGE_USER leaves the old user in a reset session), and answers
 * once the old session's transaction, temporary tables and user locks
 * are gone. halyard resets its side, and the primary's connection, which
 * alone can hold those (GET_LOCK and LOCK TABLES pin the session there),
 * by a COM_RESET_CONNECTION: the server's own cleanup, done before the
 * command runs again (s->query.cu_reset) and checks the user. Closing
 * the connection instead let the OK reach the client before the server
 * had handled the close (issue 54). */
static enum next_step com_change_user(struct session *s, const struct next_cmd *c)
{
    if (!c->fits) {
        session_err(s, 1, SERR_CHANGE_USER_TOO_LARGE);
        session_mark_closing(s, END_PROTOCOL);
        return NEXT_STOP;
    }
    if (!s->query.cu_reset) {
        s->query.cu_reset = true;
        if (!session_reset_here(s))
            return NEXT_STOP;
        struct bconn *bc = s->conns.bc[s->route.primary];
        if (bc != NULL && bc->state == BCONN_READY) {
            s->conns.cur = bc;
            session_publish_backend(s);
            bc->track_on = bc->trx_track_on = bc->gtid_track_on = false; /* the globals again */
            internal_send(s, &int_cu_reset, COM_RESET_CONNECTION, NULL, 0,
                          s->cfg->connect_timeout_ms);
            return NEXT_STOP; /* the command runs again once it is answered */
        }
    }
    login_change_user(s, c->len);
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
    POOL_COUNT(s, &s->cfg->backends[s->route.primary], resets);
    if (!session_reset_here(s))
        return NEXT_STOP;
    return com_ping(s, c); /* to the primary's connection, if the session has one */
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

/* The commands halyard looks at before routing (and the features' kinds
 * with a take of their own: session_hooks_kind); the others are routed. */
static com_handler *const com_handlers[256] = {
    [COM_QUIT] = com_quit,
    [COM_CHANGE_USER] = com_change_user,
    [COM_RESET_CONNECTION] = com_reset_connection,
    [COM_PING] = com_ping,
    [COM_PROCESS_KILL] = com_process_kill,
    [COM_QUERY] = com_query,
    [COM_BINLOG_DUMP] = com_replication,
    [COM_BINLOG_DUMP_GTID] = com_replication,
    [COM_REGISTER_SLAVE] = com_replication,
    [COM_TABLE_DUMP] = com_replication,
};

/* What a KILL read for the command that runs again (int_kill_qid,
 * int_kill_user, int_kill_grant) is that command's alone: a command
 * abandoned between a read and its forward (its backend lost, a wait run
 * out) leaves it behind, which the next KILL would take for its own. */
static void kill_steps_clear(struct session *s)
{
    s->kill.qid_state = 0;
    s->kill.qthread_state = 0;
    s->kill.qthread = 0;
    s->kill.kuser_state = 0;
    s->kill.kuser_grants = false;
}

/* Whether the session takes a command now, and which: NEXT_ROUTE with *c
 * filled when a command (or the head of one larger than the buffer) is
 * there; NEXT_AGAIN after a step that lets the loop look again. */
static enum next_step next_take(struct session *s, struct next_cmd *c)
{
    struct stream *st = &s->io.up;
    if ((s->state != SS_IDLE && s->state != SS_WAIT_BACKEND) || session_hooks_busy(s))
        return NEXT_STOP;
    if (session_hooks_killed(s)) {
        /* KILL CONNECTION found it between statements, or waiting for
         * a connection: it ends before it runs another. */
        if (st->b != NULL && stream_unparsed(st) >= MYSQL_HEADER_SIZE)
            session_err(s, (uint8_t)(mysql_hdr_seq(st->b->data + st->scan) + 1), SERR_KILLED);
        session_mark_closing(s, END_KILLED);
        return NEXT_STOP;
    }
    /* the features' steps between commands (session_hooks.c): a dropped
     * request's rest, values read back, a reload taken, an XA rollback, a
     * KILL's next part */
    enum hook_verdict step = session_hooks_between(s);
    if (step != HOOK_PASS)
        return step == HOOK_TAKEN ? NEXT_AGAIN : NEXT_STOP;
    if (st->b == NULL || stream_unparsed(st) < MYSQL_HEADER_SIZE) {
        if (st->b != NULL && st->head == st->scan)
            stream_release_if_empty(st, &s->w->pool);
        if (backend_release(s))
            return NEXT_STOP; /* LAST_INSERT_ID() is read back first */
        if (s->state == SS_IDLE)
            session_hooks_idle(s); /* what the features keep for a command goes */
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
    bool again = s->kill.cmd_taken && s->kill.cmd_buf == st->b && s->kill.cmd_scan == st->scan;
    if (!again) {
        registry_note_command(&s->kill.reg);
        kill_steps_clear(s); /* a KILL's read before it left with its command */
        s->query.cu_reset = false;
        s->query.bk_hooks = 0;
        s->io.waits = 0; /* a new command: no wait of the last one's is on */
        s->io.held = 0;
    } else if (session_hooks_interrupted(s) && c->fits) {
        /* a KILL QUERY reached it while it waited: the server interrupts
         * a statement it has read, waiting or not (one larger than the
         * buffer, whose rest is still coming, goes on: it runs) */
        slog_info(s, "KILL QUERY: the %s that waited is interrupted", mysql_com_name(c->cmd));
        session_pool_forget(s); /* its place among the pool's waiters */
        answer_here(s, true, c->len);
        session_err(s, 1, SERR_QUERY_INTERRUPTED);
        return NEXT_AGAIN;
    }
    s->kill.cmd_taken = true;
    s->kill.cmd_buf = st->b;
    s->kill.cmd_scan = st->scan;
    if (s->conns.idle_unserved)
        state_command_serves(s);
    if (!again) {
        struct hook_cmd hc = {.p = c->p, .len = c->len, .cmd = c->cmd, .fits = c->fits};
        session_hooks_take(s, &hc); /* the features' (session_hooks.c) */
    }
    return NEXT_ROUTE;
}

/* A command after the session's transaction was lost with its backend
 * (s->route.trx_lost): the features' after_lost hooks (replayed first,
 * else answered 1927: session_replay.c). */
static enum next_step after_lost(struct session *s, const struct next_cmd *c)
{
    if (s->route.trx_lost == NULL)
        return NEXT_ROUTE;
    struct hook_cmd hc = {.p = c->p, .len = c->len, .cmd = c->cmd, .fits = c->fits};
    enum hook_verdict v = session_hooks_after_lost(s, &hc);
    return v == HOOK_PASS ? NEXT_ROUTE : v == HOOK_TAKEN ? NEXT_AGAIN : NEXT_STOP;
}

/* after_lost for a prepared statement's execution, before its handler
 * routes it: as next_route does for a text statement, the session first
 * follows the primary the monitor publishes now, so that a transaction
 * lost with the old one is replayed on the new one (an execution replayed
 * on the dead primary waited there till replay_timeout_ms, then failed). */
static enum next_step next_lost_execute(struct session *s, struct next_cmd *c)
{
    if (s->route.trx_lost == NULL || s->route.wait_idx >= 0)
        return NEXT_ROUTE;
    session_follow_primary(s);
    if (s->state == SS_CLOSING)
        return NEXT_STOP;
    return after_lost(s, c);
}

/* A statement uses LAST_INSERT_ID() whose value went with its connection
 * (s->values.lid_lost): it would read another connection's value, so the
 * session ends as the server's death would have ended it. */
static void lid_lost_end(struct session *s)
{
    slog_warn(s, "a statement uses LAST_INSERT_ID(), lost with %s: closing", s->values.lid_lost);
    command_abandon(s);
    session_err(s, 1, SERR_LID_LOST, s->values.lid_lost);
    session_mark_closing(s, END_BACKEND_LOST);
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
         * its parts, s->feat.groups->fanout, is routed again: session_fanout_xa_wait) */
        if (s->route.uvars_follow) { /* primary_wait_cb, once the user variables were counted */
            s->route.uvars_follow = false;
            session_follow_primary(s);
            if (s->state == SS_CLOSING)
                return NEXT_STOP;
            s->route.wait_idx = (int)s->route.primary;
        }
        *idx = (uint32_t)s->route.wait_idx;
        return NEXT_ROUTE;
    }
    uint8_t cmd = c->cmd;
    session_backend_reap_pending(s);
    session_follow_primary(s);
    if (s->state == SS_CLOSING)
        return NEXT_STOP;
    enum next_step lost = after_lost(s, c);
    if (lost != NEXT_ROUTE)
        return lost;
    session_note_statement(s, cmd, c->p, next_avail(s, c->len));
    s->route.primary_wait_until = 0; /* a new statement gets the whole wait */
    *idx = session_route(s, cmd, c->p, c->len, next_avail(s, c->len));
    if (s->state == SS_CLOSING || *idx == ROUTE_ANSWERED) /* answered there */
        return s->state == SS_CLOSING ? NEXT_STOP : NEXT_AGAIN;
    if (session_pool_lid_wait(s))
        return NEXT_STOP; /* another session reads its LAST_INSERT_ID() for it */
    if (s->values.lid_lent != 0 && *idx != s->values.lid_idx && *idx < s->conns.n_bc &&
        backend_lid_fetch(s))
        return NEXT_STOP; /* its LAST_INSERT_ID() read first, where it is (or found lost) */
    if (s->values.lid_lost != NULL && s->query.cmd_lid) {
        lid_lost_end(s);
        return NEXT_STOP;
    }
    if (s->values.lid_unknown != NULL && s->query.cmd_lid) {
        /* not known after a write on several groups, or found committed
         * after a failover: refused, not answered with an older value */
        const struct hook_answer *a = session_hooks_answer(*idx);
        if (a != NULL && a->drop != NULL)
            a->drop(s); /* what routing prepared for the outcome (a fan-out's plan) */
        if (!answer_here(s, c->fits, c->len))
            return NEXT_STOP;
        send_err(s, 1, ER_UNKNOWN_ERROR, "HY000",
                 "halyard: LAST_INSERT_ID() is not known after the previous statement: "
                 "%.300s",
                 s->values.lid_unknown);
        return NEXT_AGAIN;
    }
    *primary_write = *idx == s->route.primary && !session_in_trans(s) && s->route.ro_idx < 0;
    if (*idx < s->conns.n_bc)
        *idx = route_health(s, *idx, why, whylen);
    retry_note(s, *idx, cmd, c->h, MYSQL_HEADER_SIZE + c->len, c->fits);
    return NEXT_ROUTE;
}

/* A ROUTE_* outcome other than a backend: answered here by the feature it
 * is (session_hooks.c's table of them), once the command is taken from
 * the stream. NEXT_ROUTE when idx is a backend. */
static enum next_step next_outcome(struct session *s, const struct next_cmd *c, uint32_t idx,
                                   const char *why, bool primary_write)
{
    const struct hook_answer *a = session_hooks_answer(idx);
    if (a == NULL)
        return NEXT_ROUTE;
    struct hook_cmd hc = {.p = c->p, .len = c->len, .idx = idx, .cmd = c->cmd, .fits = c->fits};
    if (a->before != NULL && a->before(s, &hc, primary_write)) {
        if (idx == ROUTE_NOBODY) /* no primary yet: a failover's */
            session_wait_note(s, HOOK_WAIT_WRITER, true);
        return NEXT_STOP; /* the session waits first */
    }
    if (!answer_here(s, c->fits, c->len))
        return NEXT_STOP;
    if (a->counted)
        stat_inc(&s->w->stats.commands);
    if (a->answer(s, &hc, why))
        return NEXT_STOP; /* its steps run on; the last one answers */
    return s->state == SS_CLOSING ? NEXT_STOP : NEXT_AGAIN;
}

/* The commands a stage is for, read from their kind's row (struct
 * cmd_kind); the table skips it for the others. */
enum stage_kinds {
    STAGE_ALL,     /* every command */
    STAGE_QUERY,   /* COM_QUERY */
    STAGE_LOST,    /* a kind that meets a lost transaction before its take (KIND_LOST_FIRST) */
    STAGE_HANDLED, /* a command with a step of its own (com_handlers[], its kind's take) */
    STAGE_RUNS,    /* every kind but those that follow their statement's execution, which
                    * waited for what it reads (KIND_FOLLOWS) */
};

static bool stage_applies(enum stage_kinds kinds, uint8_t cmd)
{
    const struct cmd_kind *k = session_hooks_kind(cmd);
    uint8_t stages = k != NULL ? k->stages : 0;
    switch (kinds) {
    case STAGE_ALL:
        return true;
    case STAGE_QUERY:
        return cmd == COM_QUERY;
    case STAGE_LOST:
        return (stages & KIND_LOST_FIRST) != 0;
    case STAGE_HANDLED:
        return com_handlers[cmd] != NULL || (k != NULL && k->take != NULL);
    case STAGE_RUNS:
        return !(stages & KIND_FOLLOWS);
    }
    return false;
}

/* The command goes to backend idx, once it is ready: NEXT_STOP, or
 * NEXT_AGAIN when it was answered here after all. The features act at
 * the hook points (session_hooks.c). */
static enum next_step next_forward(struct session *s, const struct next_cmd *c, uint32_t idx)
{
    uint8_t cmd = c->cmd;
    const struct cmd_kind *k = session_hooks_kind(cmd);
    s->route.wait_idx = (int)idx;
    struct hook_cmd hc = {.p = c->p, .len = c->len, .idx = idx, .cmd = cmd, .fits = c->fits};
    if (s->query.bk_hooks == 0) { /* once a command, whatever passes it takes */
        s->query.bk_hooks = 1;
        session_hooks_before_backend(s, &hc);
    }
    bool ready = ensure_backend(s, idx);
    if (ready && s->query.bk_hooks == 1) {
        s->query.bk_hooks = 2;
        session_hooks_after_backend(s);
    }
    if (!ready)
        return NEXT_STOP;
    if (k != NULL && k->ready != NULL) { /* what its kind needs there first */
        enum next_step st = k->ready(s, c);
        if (st != NEXT_ROUTE)
            return st;
    }
    if (!session_hooks_ready(s))
        return NEXT_STOP;
    session_wait_note(s, HOOK_WAIT_POOL, false);
    session_wait_note(s, HOOK_WAIT_CONNECT, false);
    uint8_t exec_flags = (cmd == COM_STMT_EXECUTE && c->len >= 6) ? c->p[5] : 0;
    s->query.set_option =
        (cmd == COM_SET_OPTION && c->len >= 3) ? (int)(c->p[1] | c->p[2] << 8) : -1;
    const char *refused = session_hooks_refuse(s);
    if (refused != NULL) { /* an answer not exactly the server's would be quietly wrong */
        if (!answer_here(s, c->fits, c->len))
            return NEXT_STOP;
        session_err_custom(s, 1, ER_UNKNOWN_ERROR, "HY000", refused);
        return NEXT_AGAIN;
    }
    if (session_hooks_elsewhere(s, &hc)) {
        uint32_t to = command_elsewhere(s, c->p, c->len);
        return to == ROUTE_FANOUT ? next_outcome(s, c, to, "", false) : NEXT_STOP;
    }
    hc.rewritten =
        ((s->query.connid != NULL && s->query.connid->n > 0) || session_hooks_rewrites(s)) &&
        (cmd == COM_QUERY || cmd == COM_STMT_PREPARE) && c->fits;
    session_hooks_send(s, &hc); /* the features' (session_hooks.c) */
    if (hc.rewritten)
        command_forward_connid(s, cmd, c->p, c->len);
    else if (session_hooks_filter_up(s, &hc) == HOOK_PASS) { /* else a feature sent it */
        if (k != NULL && k->send != NULL)
            k->send(s, c); /* its kind's (a statement's: with its id there) */
        else
            command_forward(s, cmd, c->len, exec_flags);
    }
    return NEXT_STOP;
}

/* ---- the cycle: its stages, in order ------------------------------------ */

static enum next_step stage_kill_chain(struct session *s, struct next_cmd *c)
{
    if (c->fits && s->route.wait_idx < 0)
        kill_chain_begin(s, c->p, &c->len); /* a KILL in a multi-statement text */
    return NEXT_ROUTE;
}

static enum next_step stage_command(struct session *s, struct next_cmd *c)
{
    com_handler *take = com_handlers[c->cmd];
    return take != NULL ? take(s, c) : session_hooks_kind(c->cmd)->take(s, c);
}

/* The kind's route (a prepared statement's commands: where it is), else
 * the text's. */
static enum next_step stage_route(struct session *s, struct next_cmd *c)
{
    const struct cmd_kind *k = session_hooks_kind(c->cmd);
    if (k != NULL && k->route != NULL)
        return k->route(s, c);
    return next_route(s, c, &c->idx, c->why, sizeof(c->why), &c->primary_write);
}

static enum next_step stage_outcome(struct session *s, struct next_cmd *c)
{
    enum next_step st = next_outcome(s, c, c->idx, c->why, c->primary_write);
    if (st == NEXT_ROUTE) /* routed to a backend: a primary to write to came */
        session_wait_note(s, HOOK_WAIT_WRITER, false);
    return st;
}

/* The features may hold the command back (a fair-share limit's queue) or
 * refuse it: the hold hooks. A command held is not routed again when it
 * goes on. */
static enum next_step stage_limit(struct session *s, struct next_cmd *c)
{
    struct hook_cmd hc = {.p = c->p,
                          .len = c->len,
                          .avail = next_avail(s, c->len),
                          .idx = c->idx,
                          .cmd = c->cmd,
                          .fits = c->fits};
    enum hook_verdict v = session_hooks_hold(s, &hc);
    session_wait_note(s, HOOK_WAIT_LIMIT, v == HOOK_WAIT);
    if (v == HOOK_WAIT && c->idx != UINT32_MAX)
        s->route.wait_idx = (int)c->idx;
    return v == HOOK_PASS ? NEXT_ROUTE : v == HOOK_WAIT ? NEXT_STOP : NEXT_AGAIN;
}

/* The consistency wait and the writer's catch-up (session_route_due):
 * the command is taken again once they are met. */
static enum next_step stage_due(struct session *s, struct next_cmd *c)
{
    s->route.wait_idx = (int)c->idx;
    return session_route_due(s, &c->idx) ? NEXT_ROUTE : NEXT_STOP;
}

static enum next_step stage_forward(struct session *s, struct next_cmd *c)
{
    return next_forward(s, c, c->idx);
}

/* Every command taken from `up` passes these, in this order, while each
 * says NEXT_ROUTE (HAProxy's analysers of a stream): the gate (next_take:
 * login waits, a KILL of the session, the request skipped), a prepared
 * execution after a lost transaction, a KILL in a multi-statement text,
 * the command's own step, the route, an outcome answered here, a limit,
 * what the command must wait for (the consistency wait, the writer's
 * catch-up), and the forward (the backend readied, the features' send
 * hooks, the send). What differs per command kind is its row (struct
 * cmd_kind): a prepared statement's commands are routed where it is, and
 * the forward has the statement there before it sends them. */
static const struct cycle_stage {
    const char *name;
    enum stage_kinds kinds;
    enum next_step (*run)(struct session *s, struct next_cmd *c);
} cycle[] = {
    {"gate", STAGE_ALL, next_take},
    {"lost-execute", STAGE_LOST, next_lost_execute},
    {"kill-chain", STAGE_QUERY, stage_kill_chain},
    {"command", STAGE_HANDLED, stage_command},
    {"route", STAGE_ALL, stage_route},
    {"outcome", STAGE_ALL, stage_outcome},
    {"limit", STAGE_ALL, stage_limit},
    {"due", STAGE_RUNS, stage_due},
    {"forward", STAGE_ALL, stage_forward},
};

/* Bit i of cycle_paths[cmd]: cycle[i] applies to command `cmd`
 * (stage_applies), read once a stage instead of asked. Built once, by the
 * first command of any thread. */
static uint16_t cycle_paths[256];
static _Atomic bool cycle_paths_ready;
static pthread_once_t cycle_paths_once = PTHREAD_ONCE_INIT;

static void cycle_paths_build(void)
{
    _Static_assert(HY_ARRAY_SIZE(cycle) <= 16, "cycle_paths holds a bit a stage");
    for (unsigned cmd = 0; cmd < 256; cmd++)
        for (size_t i = 0; i < HY_ARRAY_SIZE(cycle); i++)
            if (stage_applies(cycle[i].kinds, (uint8_t)cmd))
                cycle_paths[cmd] |= (uint16_t)(1u << i);
    atomic_store_explicit(&cycle_paths_ready, true, memory_order_release);
}

static inline uint16_t cycle_path(uint8_t cmd)
{
    if (__builtin_expect(!atomic_load_explicit(&cycle_paths_ready, memory_order_acquire), 0))
        pthread_once(&cycle_paths_once, cycle_paths_build);
    return cycle_paths[cmd];
}

size_t session_cycle_path(uint8_t cmd, const char **names, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < HY_ARRAY_SIZE(cycle); i++)
        if (stage_applies(cycle[i].kinds, cmd) && n < max)
            names[n++] = cycle[i].name;
    return n;
}

void (*session_cycle_trace)(const struct session *s, uint8_t cmd, const char *stage);

/* Take the next command from `up`, if a whole one is there, through the
 * cycle's stages. */
void session_next_command(struct session *s)
{
    for (;;) {
        struct next_cmd c;
        c.cmd = 0;
        c.idx = 0;
        c.why[0] = '\0';
        c.primary_write = false;
        enum next_step step = NEXT_ROUTE;
        for (size_t i = 0; i < HY_ARRAY_SIZE(cycle) && step == NEXT_ROUTE; i++)
            if (cycle_path(c.cmd) >> i & 1) {
                step = cycle[i].run(s, &c);
                if (session_cycle_trace != NULL && (i > 0 || step != NEXT_STOP))
                    session_cycle_trace(s, c.cmd, cycle[i].name);
            }
        if (step == NEXT_STOP)
            return;
    }
}

/* ---- commands ---------------------------------------------------------- */

/* Get ready to parse a fresh answer to `cmd` from s->conns.cur in `down`. */
void answer_expect(struct session *s, uint8_t cmd, uint8_t exec_flags)
{
    s->io.resp_done = s->io.resp_broken = false;
    s->io.infile = false;
    s->io.rdown = (struct relay_down){0};
    if (s->query.internal == NULL) /* a part of a KILL's text: its ids go on */
        s->io.rdown.shift = (uint8_t)(0u - s->kill.chain_seq);
    mysql_resp_start(&s->io.resp, cmd, s->who.caps, exec_flags);
    s->io.hooked = session_hooks_attached(s);
}

/* The routed command at up.scan will not run (a rule blocked it, no
 * backend can take it): undo what session_route() prepared for it. */
void command_abandon(struct session *s)
{
    s->kill.cmd_taken = false; /* taken again, it is taken anew (ps_drop's skip: it left) */
    free(s->query.pend_schema);
    s->query.pend_schema = NULL;
    s->query.digest_pending = false;
    s->query.qlog_pending = false;
    if (s->query.cmd_ro_begin)
        s->route.ro_idx = -1; /* the read-only transaction never began */
    s->query.cmd_ro_begin = false;
    s->query.cmd_writes = false;
    s->query.cmd_class = STMT_OTHER;
    s->route.causal_check = false;
    s->route.wait_idx = -1;
    /* the features' (session_hooks.c): the change a SET began dropped, a
     * statement to be prepared... */
    session_hooks_abandon(s);
}

/* The command is over: the session goes idle and takes the client's next
 * command, which may already wait in `up`. The one way a command ends
 * outside command_done (a feature's own end, a command answered here, one
 * routed again). */
void command_end(struct session *s)
{
    session_set_state(s, SS_IDLE);
    session_next_command(s);
}

void command_done(struct session *s)
{
    if (s->cfg->backend_read_timeout_ms > 0 && !s->io.timer_lazy)
        session_timer_stop(s); /* a lazy read timer runs on (read_timer_begin) */
    query_end(s, s->io.resp.err_code != 0);
    s->route.retry_ok = false;
    s->route.retried = false;
    s->route.retry_exclude = -1;
    s->route.fell_back = false;
    if (s->route.ro_idx >= 0 && s->conns.cur != NULL && s->conns.cur->idx == s->route.ro_idx &&
        ((s->query.cmd_ro_begin && s->io.resp.err_code != 0) ||
         (s->io.resp.status_seen && !(s->io.resp.status & SERVER_STATUS_IN_TRANS))))
        s->route.ro_idx = -1; /* the read-only transaction ended, or never began */
    s->query.cmd_ro_begin = false;
    if (s->query.qlog_pending) {
        double usec = (ev_now(s->w->loop) - s->query.cmd_started) * 1e6;
        struct query_log_entry e = {
            .session = s->id,
            .user = s->who.user,
            .client = s->who.peer,
            .schema = session_schema(s),
            .backend = s->conns.cur != NULL ? s->conns.cur->be->name : NULL,
            .digest = s->query.qlog_digest,
            .text = s->query.qlog_text,
            .text_len = s->query.qlog_len,
            .duration_us = usec > 0 ? (uint64_t)usec : 0,
            .limit_wait_us = (uint64_t)(s->io.held * 1e6),
            .rows = s->io.resp.rows,
            .affected = s->io.resp.affected,
            .error = s->io.resp.err_code,
        };
        query_log_write(&e);
        s->query.qlog_pending = false;
    }
    if (s->query.digest_pending) {
        double usec = (ev_now(s->w->loop) - s->query.cmd_started) * 1e6;
        digest_record(s->w->digests, s->query.digest_hash, NULL, 0, s->io.resp.err_code != 0,
                      s->io.resp.rows != 0 ? s->io.resp.rows : s->io.resp.affected,
                      usec > 0 ? (uint64_t)usec : 0,
                      s->conns.cur != NULL && s->conns.cur->idx != s->route.primary ? ROLE_REPLICA
                                                                                    : ROLE_PRIMARY);
        s->query.digest_pending = false;
    }
    if (s->io.resp.db_dropped && s->conns.cur != NULL) {
        s->conns.cur->db_check = 1; /* state_readback_due, before anything else runs there */
        s->conns.check_due = true;
    }
    if (s->io.resp.status_seen)
        session_lex_follow(s, s->io.resp.status);
    if (s->query.internal == NULL && s->conns.cur != NULL && s->query.cmd_locks != 0) {
        /* LOCK TABLES, UNLOCK TABLES, a transaction's start: the session's
         * table locks as the answer left them (a LOCK TABLES that failed
         * released the old locks too), before the features see it done */
        session_tables_locked(s, s->query.cmd_locks > 0 && s->io.resp.err_code == 0);
        s->query.cmd_locks = 0;
    }
    /* the features' (session_hooks.c): a USE's schema the session's, a
     * COM_SET_OPTION kept, the process list's text cleared... (the trace
     * reads stmt) */
    session_hooks_done(s);
    s->query.stmt_len = 0; /* show sessions: no statement in flight */
    if (s->conns.cur != NULL && s->conns.cur->idx == s->route.primary) {
        if (s->io.resp.status_seen)
            s->route.status = s->io.resp.status; /* transactions live on the primary */
        if (s->query.cmd_writes) {
            s->route.need_gtid = true;
            s->route.write_idx = s->route.primary;
            s->route.last_write = ev_now(s->w->loop);
        }
    }
    s->query.cmd_writes = false;
    s->query.cmd_class = STMT_OTHER;
    session_hooks_settled(s); /* the features' (session_hooks.c) */
    session_trx_hold(s, true);
    /* the features' (session_hooks.c): what the command changed kept, a
     * command of theirs (a SET's read-back) behind its answer */
    uint64_t follows = session_hooks_end(s);
    s->io.last_active = ev_now(s->w->loop);
    registry_note_idle(&s->kill.reg, s->io.last_active);
    session_set_state(s, SS_IDLE);
    stream_release_if_empty(&s->io.down, &s->w->pool);
    if (s->io.resp.err_code == ER_CONNECTION_KILLED) {
        /* KILL CONNECTION (through halyard or on the server): the client
         * asked for this session to end, as a direct connection would. */
        session_mark_closing(s, END_KILLED);
        return;
    }
    /* Stopping: close between statements, unless draining after a takeover
     * (then the client decides when it leaves). */
    if (atomic_load(&s->w->stopping) && !atomic_load(&s->w->draining)) {
        session_mark_closing(s, END_SHUTDOWN);
        return;
    }
    if (follows != 0) {
        session_hooks_follow(s, follows);
        internal_progress(s); /* its answer may be in already */
        return;
    }
    session_next_command(s);
}

/* Pass request (or LOAD DATA file) packets from `up` on to the backend. */
void up_forward(struct session *s)
{
    struct stream *st = &s->io.up;
    if (st->b == NULL)
        return;
    bool ended = false;
    while (!ended) {
        if (s->io.up_left > 0) {
            uint32_t n = HY_MIN(s->io.up_left, stream_unparsed(st));
            if (n == 0)
                break;
            if (s->io.infile && s->io.hooked) /* the file's bytes, as they pass */
                session_hooks_infile(s, st->b->data + st->scan, n);
            st->scan += n;
            s->io.up_left -= n;
            continue;
        }
        if (!s->io.up_cont && !s->io.infile) {
            ended = true; /* the request's last packet has been passed */
            break;
        }
        if (stream_unparsed(st) < MYSQL_HEADER_SIZE)
            break;
        const uint8_t *h = st->b->data + st->scan;
        uint32_t len = mysql_hdr_len(h);
        s->io.last_seq = mysql_hdr_seq(h);
        st->scan += MYSQL_HEADER_SIZE;
        s->io.up_left = len;
        bool was_cont = s->io.up_cont;
        s->io.up_cont = len == MYSQL_MAX_PAYLOAD;
        s->io.req_bytes = was_cont ? s->io.req_bytes + len : len;
        if (s->io.req_bytes > (uint64_t)s->cfg->max_packet_size) {
            packet_too_large(s, s->io.last_seq);
            return;
        }
        if (s->io.infile && len == 0 && !was_cont) {
            if (s->io.hooked)
                session_hooks_infile(s, NULL, 0);
            ended = true; /* the empty packet that ends the file */
            break;
        }
    }
    /* Bytes halyard put before them (a rewritten head) leave first;
     * backend_writable comes back here once they are out. */
    enum relay_rc rc = conn_has_local(&s->conns.cur->c)
                           ? RELAY_AGAIN
                           : relay_flush(st, &s->conns.cur->c, s->w->loop);
    if (rc == RELAY_ERROR) {
        session_mark_closing(s, END_BACKEND_LOST);
        return;
    }
    if (ended) {
        if (s->io.infile) {
            s->io.infile = false;
            mysql_resp_infile_done(&s->io.resp);
        }
        s->io.req_open = false;
        if (rc == RELAY_DONE)
            session_hooks_sent(s); /* the features' own behind it (a SET's read-back) */
    }
    if (rc == RELAY_DONE)
        stream_release_if_empty(st, &s->w->pool);
    update_reads(s);
    if (!s->io.req_open && !mysql_resp_expects_reply(s->query.cmd) && rc == RELAY_DONE)
        command_done(s);
}

/* Give up on the answer s->conns.cur is sending, at a packet boundary: once
 * what came before is out, the client gets ERR 1927 "Backend 'NAME'
 * <what> answering <command>" in place of the next packet, and that
 * backend connection is closed now, since nobody knows where its answer
 * ends. The session goes on, as after a lost backend (session_conn_lost),
 * unless the connection held state that cannot be rebuilt, or the client is
 * among column definitions, where it would not take an ERR: then it is
 * marked closing (`why`) and false returned. */
static bool answer_abandon(struct session *s, const char *what, enum session_end why)
{
    struct bconn *bc = s->conns.cur;
    if (s->query.internal != NULL || s->io.req_open || s->io.infile || s->kill.kill_id != 0 ||
        !mysql_resp_err_fits(&s->io.resp) || (bc->idx == s->route.primary && s->route.pinned)) {
        session_mark_closing(s, why);
        return false;
    }
    bool trx =
        (bc->idx == s->route.primary && session_in_trans(s)) || s->route.ro_idx == (int)bc->idx;
    if (bc->idx == s->route.primary)
        s->route.status &= (uint16_t)~SERVER_STATUS_IN_TRANS;
    if (s->route.ro_idx == (int)bc->idx)
        s->route.ro_idx = -1;
    free(s->io.broken_msg);
    if (asprintf(&s->io.broken_msg, "Backend '%s' %s answering %s%s", bc->be->name, what,
                 mysql_com_name(s->query.cmd), trx ? "; the transaction was rolled back" : "") < 0)
        s->io.broken_msg = NULL;
    s->io.resp_broken = true;
    bconn_close(bc);
    return true;
}

/* The backend's packet at down.scan broke the protocol (the tracker cannot
 * follow it): the packets before it still go to the client, then the ERR
 * in its place (answer_abandon). */
static bool answer_broken(struct session *s)
{
    slog_warn(s, "backend %s broke the protocol answering %s: closing that connection",
              s->conns.cur->be->name, mysql_com_name(s->query.cmd));
    s->io.down.tail = s->io.down.scan; /* that packet and whatever came after it */
    s->io.rdown.seq--;                 /* the last packet passed on */
    return answer_abandon(s, "broke the protocol", END_BACKEND_PROTOCOL);
}

/* The client has everything the broken answer had before the packet that
 * broke it: the ERR ends the command. */
static void answer_broken_end(struct session *s)
{
    s->io.resp_broken = false;
    query_end(s, true);
    session_err(s, (uint8_t)(s->io.rdown.seq + 1), SERR_ANSWER_ABANDONED,
                s->io.broken_msg != NULL ? s->io.broken_msg : "Backend broke the protocol");
    free(s->io.broken_msg);
    s->io.broken_msg = NULL;
    s->io.resp_done = true;
}

/* Parse the answer in `down` as far as it has arrived: relay.h walks it
 * header first and stops at each new logical packet, which is looked at
 * here before it is passed. False when the session must close. */
/* backend_read_timeout_ms passed since the command started: lazily, as the
 * idle timer does, it looks at when the backend last sent something. Time
 * the session spends waiting for the client does not count: the request or
 * a LOAD DATA file still coming, or answer bytes the client has not taken
 * (then halyard does not read the backend either). */
static void answer_timeout(struct session *s)
{
    double timeout = s->cfg->backend_read_timeout_ms / 1e3;
    double now = ev_now(s->w->loop);
    if (timeout <= 0 || s->conns.cur == NULL || s->io.resp_done || s->io.resp_broken)
        return; /* a reload turned it off; or the answer is all here */
    bool client_side = s->io.req_open || s->io.infile || conn_has_local(&s->client) ||
                       (s->io.down.b != NULL && !stream_empty(&s->io.down));
    if (client_side)
        s->io.down_last = now;
    double left = s->io.down_last + timeout - now;
    if (left > 0) {
        ev_timer_set(&s->io.timer, left, 0.);
        ev_timer_start(s->w->loop, &s->io.timer); /* lazy still, if it was */
        return;
    }
    char what[64];
    snprintf(what, sizeof(what), "sent nothing for %d ms", s->cfg->backend_read_timeout_ms);
    slog_warn(s, "backend %s %s answering %s (backend_read_timeout_ms): closing that connection",
              s->conns.cur->be->name, what, mysql_com_name(s->query.cmd));
    if (s->io.rdown.left > 0 || s->io.rdown.cont) {
        session_mark_closing(s, END_BACKEND_LOST); /* in the middle of a packet */
        return;
    }
    if (answer_abandon(s, what, END_BACKEND_LOST))
        down_forward(s); /* the ERR goes out, and the command ends */
}

/* A read-only transaction runs on a replica (ro_idx), and a statement
 * that sets session state (SET, USE, COM_INIT_DB) on the primary, where
 * no transaction is open: its OK or EOF, with that server's flags, is
 * given the session's, in a read-only transaction (issue 47), as the one
 * server would answer. `pl` is the packet just fed to the tracker, `avail`
 * of its bytes in the buffer. */
static void ro_trans_flags(struct session *s, uint8_t *pl, uint32_t avail)
{
    uint32_t at = s->io.resp.status_at;
    if (at == 0 || s->route.ro_idx < 0 || s->conns.cur == NULL ||
        s->conns.cur->idx == (uint32_t)s->route.ro_idx || s->query.internal != NULL ||
        at + 2 > avail)
        return;
    uint16_t st = (uint16_t)(pl[at] | pl[at + 1] << 8);
    st |= SERVER_STATUS_IN_TRANS | SERVER_STATUS_IN_TRANS_READONLY;
    pl[at] = (uint8_t)st;
    pl[at + 1] = (uint8_t)(st >> 8);
}

/* down_parse's return at a filter point's HOOK_WAIT or HOOK_BROKEN. */
static bool filter_stop(struct session *s, enum hook_verdict v)
{
    return v == HOOK_BROKEN ? answer_broken(s) : true;
}

bool down_parse(struct session *s)
{
    struct stream *st = &s->io.down;
    for (;;) {
        if (s->io.resp_done || s->io.infile || s->io.resp_broken)
            return true;
        uint32_t len = 0;
        switch (relay_down_next(&s->io.rdown, st, &len)) {
        case RELAY_INFILE:
            s->io.infile = true;
            s->io.req_open = true;
            return true;
        case RELAY_END:
            s->io.resp_done = true;
            session_hooks_answer_end(s);
            if (s->conns.cur != NULL) {
                bool was_trans = s->conns.cur->srv_trans;
                if (s->io.resp.status_seen)
                    s->conns.cur->srv_trans = (s->io.resp.status & SERVER_STATUS_IN_TRANS) != 0;
                /* consistency = global: counted before the answer goes on */
                if (s->conns.cur->idx == s->route.primary &&
                    (s->query.cmd_writes || (was_trans && !s->conns.cur->srv_trans)))
                    session_global_commit(s);
                /* LOCK TABLES: counted before its OK goes on, so that a
                 * read another session sends once this client has it waits
                 * on the primary (command_done settles the rest) */
                if (s->query.cmd_locks > 0 && s->io.resp.err_code == 0)
                    session_tables_locked(s, true);
            }
            return true;
        case RELAY_PACKET:
            break;
        default:
            return true; /* more bytes needed */
        }
        enum hook_verdict v = session_hooks_filter_head(s, &len); /* session_filter.h */
        if (v == HOOK_TAKEN)
            continue;
        if (v != HOOK_PASS)
            return filter_stop(s, v);
        uint32_t peek = HY_MIN(len, (uint32_t)MYSQL_RESP_PEEK);
        bool capture = false, track = false, err = false;
        const struct internal_cmd *op = s->query.internal;
        if (op != NULL) {
            capture = (op->flags & INTERNAL_CAPTURE) && s->io.resp.rows == 0;
        } else if (len > 0 && stream_unparsed(st) > MYSQL_HEADER_SIZE &&
                   len + MYSQL_HEADER_SIZE <= st->b->cap) {
            /* the packet's first byte is in: without it, peek's test below waits */
            uint8_t first = st->b->data[st->scan + MYSQL_HEADER_SIZE];
            track = first == MYSQL_OK && (s->io.resp.caps & CLIENT_SESSION_TRACK) &&
                    mysql_resp_ok_fits(&s->io.resp);
            /* an ERR answering a client's statement, kept whole
             * (session_pool_diag_err); one after a result began (a killed
             * query) is not: that connection is kept as for warnings */
            err = first == MYSQL_ERR && s->io.resp.results == 0 && s->io.resp.rows == 0;
        }
        if ((capture || track || err || (op != NULL && (op->flags & INTERNAL_WHOLE)) ||
             (s->io.hooked && session_hooks_wants_whole(s))) &&
            len + MYSQL_HEADER_SIZE <= st->b->cap)
            peek = len; /* the whole first row, to read its value; a whole ERR or OK */
        if (stream_unparsed(st) < MYSQL_HEADER_SIZE + peek)
            return true;
        uint8_t *pl = st->b->data + st->scan + MYSQL_HEADER_SIZE;
        v = session_hooks_filter(s, len); /* session_filter.h */
        if (v == HOOK_TAKEN)
            continue;
        if (v != HOOK_PASS)
            return filter_stop(s, v);
        if (len > 0 && pl[0] == MYSQL_OK && s->io.rdown.seq == 1 && s->query.internal == NULL) {
            const struct cmd_kind *k = session_hooks_kind(s->query.cmd);
            if (k != NULL && k->answer_ok != NULL)
                k->answer_ok(s, pl, peek); /* before the tracker: a PREPARE's id is halyard's */
        }
        if (track && peek == len)
            session_track_note(s, pl, len);
        struct hook_packet pk = {.pl = pl, .len = len, .whole = peek == len};
        if (s->io.hooked)
            session_hooks_packet(s, &pk); /* the features' (session_hooks.c) */
        uint16_t err_before = s->io.resp.err_code;
        uint64_t rows_before = s->io.resp.rows;
        pk.rc = mysql_resp_feed(&s->io.resp, pl, len);
        pk.row = s->io.resp.rows > rows_before;
        ro_trans_flags(s, pl, peek);
        if (pk.rc == MYSQL_RESP_DONE && s->kill.chain_on && s->query.internal == NULL)
            kill_chain_answer_end(s, pl, peek);
        if (s->io.hooked)
            session_hooks_fed(s, &pk);
        if (err && peek == len && err_before == 0 && s->io.resp.err_code != 0)
            session_pool_diag_err(s, pl, len);
        if (capture && s->io.resp.rows == 1 && peek == len)
            capture_value(s, pl, len);
        if (op != NULL && op->packet != NULL)
            op->packet(s, &pk);
        if (pk.rc == MYSQL_RESP_BAD)
            return answer_broken(s);
        relay_down_take(&s->io.rdown, st, len, pk.rc);
    }
}

/* Move the answer on to the client; finish the command once all of it,
 * and anything we generated, is out. */
void down_forward(struct session *s)
{
    struct stream *st = &s->io.down;
    enum relay_rc rc = RELAY_DONE;
    while (st->b != NULL) {
        s->io.down_flush = false;
        if (!down_parse(s))
            return;
        if (conn_has_local(&s->client)) {
            /* a packet of ours (session_colmeta.c) goes first; session_client_write_cb
             * comes back once it is out */
            rc = RELAY_AGAIN;
            break;
        }
        if (s->io.resp_done && s->io.resp.err_code == ER_WSREP_NOT_READY &&
            session_retry_refused(s))
            return;
        s->io.down_held = down_hold(s, st);
        if (s->io.down_held) {
            rc = RELAY_AGAIN; /* the rest of the answer first */
            break;
        }
        if (st->head < st->scan)
            s->io.down_sent = true;
        rc = relay_flush(st, &s->client, s->w->loop);
        if (rc == RELAY_ERROR) {
            session_mark_closing(s, END_CLIENT_ERROR);
            return;
        }
        if (rc == RELAY_DONE && s->io.down_flush && s->state != SS_CLOSING)
            continue; /* a column count waited for this: parse on */
        if (rc == RELAY_DONE)
            stream_release_if_empty(st, &s->w->pool);
        break;
    }
    if (s->io.resp_broken && rc == RELAY_DONE && (st->b == NULL || stream_empty(st)))
        answer_broken_end(s);
    update_reads(s);
    if (s->io.infile)
        up_forward(s); /* file packets may already be waiting */
    if (s->state == SS_COMMAND && s->io.resp_done && !s->io.req_open && rc == RELAY_DONE &&
        !conn_has_local(&s->client)) {
        if (stream_unparsed(st) > 0 && !session_hooks_trailing(s)) {
            slog_warn(s, "backend %s sent %u bytes after its answer", s->conns.cur->be->name,
                      stream_unparsed(st));
            session_mark_closing(s, END_BACKEND_PROTOCOL);
            return;
        }
        command_done(s);
    }
}

/* Start forwarding the command whose header is at up.scan. */
/* A command starts on s->conns.cur. */
/* The session's share of its primary's trx_open: held while its last
 * answer said a transaction is open there (`open`), let go otherwise and
 * when the session ends. A switchover lets those transactions end before
 * the primary turns read-only: a BEGIN the server acknowledged has nothing
 * in information_schema.INNODB_TRX until its first statement. */
void session_trx_hold(struct session *s, bool open)
{
    struct backend_rt *rt = NULL;
    if (open && session_in_trans(s) && s->cfg != NULL && s->route.primary < s->cfg->n_backends)
        rt = s->cfg->backends[s->route.primary].rt;
    if (rt == s->route.trx_rt)
        return;
    if (s->route.trx_rt != NULL)
        atomic_fetch_sub_explicit(&s->route.trx_rt->trx_open, 1, memory_order_relaxed);
    if (rt != NULL)
        atomic_fetch_add_explicit(&rt->trx_open, 1, memory_order_relaxed);
    s->route.trx_rt = rt;
}

void command_begin(struct session *s, uint8_t cmd, uint8_t exec_flags)
{
    s->query.cmd = cmd;
    s->query.cmd_started = ev_now(s->w->loop);
    s->io.req_bytes = 0; /* command_forward() counts the request it passes on */
    s->route.wait_idx = -1;
    s->route.last_idx = s->conns.cur->idx;
    s->io.down_sent = s->io.down_held = false;
    query_end(s, true); /* never two at once; a leftover would be a lost one */
    s->route.q_rt = s->conns.cur->be->rt;
    if (s->route.q_rt != NULL)
        backend_query_begin(s->route.q_rt);
    session_hooks_begin(s); /* the features' (session_hooks.c) */
    stat_inc(&s->w->stats.commands);
    stat_inc(&s->w->stats.statements[s->query.cmd_class]);
    session_set_state(s, SS_COMMAND);
    answer_expect(s, cmd, exec_flags);
    if (s->cfg->backend_read_timeout_ms > 0)
        read_timer_begin(s);
}

void command_forward(struct session *s, uint8_t cmd, uint32_t len, uint8_t exec_flags)
{
    command_begin(s, cmd, exec_flags);
    s->io.req_open = true;
    s->io.up.scan += MYSQL_HEADER_SIZE;
    s->io.up_left = len;
    s->io.up_cont = len == MYSQL_MAX_PAYLOAD;
    s->io.req_bytes = len;
    up_forward(s);
}

/* Send `pkt` (n bytes, built by the caller) to s->conns.cur in place of
 * the client's header and the first `head_len` bytes of its payload of
 * `len`; the rest follows from `up` (an execution's head with the types
 * added: session_ps.c). */
void command_forward_head(struct session *s, uint8_t cmd, uint8_t exec_flags, const uint8_t *pkt,
                          size_t n, size_t head_len, uint32_t len)
{
    command_begin(s, cmd, exec_flags);
    s->io.req_open = true;
    s->io.up.scan += MYSQL_HEADER_SIZE + (uint32_t)head_len;
    s->io.up.head = s->io.up.scan; /* the client's header and head are replaced */
    s->io.up_left = len - (uint32_t)head_len;
    s->io.up_cont = false;
    if (conn_send_local(&s->conns.cur->c, s->w->loop, &s->w->pool, pkt, n) != HY_OK) {
        session_mark_closing(s, END_BACKEND_LOST);
        return;
    }
    up_forward(s);
}

/* Send a packet we built to the backend in place of the client's command
 * (which the caller has consumed) and track its answer. */
void command_send_own(struct session *s, uint8_t cmd, const uint8_t *pkt, size_t len)
{
    command_begin(s, cmd, 0);
    s->query.cmd_writes = false;
    s->io.req_open = false;
    if (conn_send_local(&s->conns.cur->c, s->w->loop, &s->w->pool, pkt, len) != HY_OK)
        session_mark_closing(s, END_BACKEND_LOST);
    else
        session_hooks_sent(s);
}

/* Skip the client's whole packet at up.scan (the caller checked it is all
 * there). */
void consume_packet(struct session *s, uint32_t len)
{
    s->kill.cmd_taken = false;
    s->io.up.scan += MYSQL_HEADER_SIZE + len;
    s->io.up.head = s->io.up.scan;
}

/* Make backend `idx` ready for a command. True when it is (it is s->conns.cur);
 * otherwise the command waits in `up` (SS_WAIT_BACKEND) while the backend
 * is opened or brought up to date (the features' sync; no wait when that
 * takes no command), and session_next_command runs again. */
bool ensure_backend(struct session *s, uint32_t idx)
{
    enum session_state was = s->state;
    bool synced = false;
again:
    if (s->values.lid_lent != 0 && idx != s->values.lid_idx && backend_lid_fetch(s))
        return false; /* its LAST_INSERT_ID() first, from where it is */
    struct bconn *bc = s->conns.bc[idx];
    if (bc == NULL && backend_take(s, idx))
        bc = s->conns.bc[idx];
    if (s->values.lid_lost != NULL && s->query.cmd_lid && s->query.internal == NULL) {
        lid_lost_end(s); /* its unread value went with the connection the pool just closed */
        return false;
    }
    if (bc != NULL && session_pool_lid_for_owner(s, bc)) {
        backend_lid_read(s, bc);
        return false; /* the previous session's LAST_INSERT_ID() first */
    }
    if (bc != NULL && bc->state == BCONN_READY && bc->lid_epoch == s->values.lid_epoch &&
        !session_pool_diag_lost(s, bc) && session_hooks_synced(s, bc)) {
        s->conns.cur = bc;
        session_publish_backend(s);
        /* the features' commands there first (a BEGIN halyard answered,
         * the group's XA branch: session_hooks.c) */
        return s->query.internal != NULL || session_hooks_chosen(s, bc, idx);
    }
    session_set_state(s, SS_WAIT_BACKEND);
    /* A ready connection, most often one another session used, is first
     * brought to the session's state: when that sends nothing (the
     * state's sync), the client's reads are not stopped, to be started
     * again at once (libev re-arms the fd, an epoll_ctl, each time). */
    bool ready = bc != NULL && bc->state == BCONN_READY;
    if (!ready || synced)
        ev_io_stop(s->w->loop, &s->client.rio);
    if (bc == NULL) {
        session_wait_note(s, HOOK_WAIT_CONNECT, true);
        bconn_open(s, idx);
        return false;
    }
    s->conns.cur = bc;
    if (ready && session_hooks_sync(s)) {
        if (synced) { /* nothing to send twice: taken again from the loop */
            command_end(s);
            return false;
        }
        synced = true; /* nothing to send: the tests above again, without the wait */
        session_set_state(s, was);
        goto again;
    }
    if (ready && !synced && s->state == SS_WAIT_BACKEND)
        ev_io_stop(s->w->loop, &s->client.rio); /* the command waits */
    return false;
}

/* Backend `idx` logged in, whatever session state it has run: for a query
 * of halyard's own that does not depend on it (MASTER_GTID_WAIT), which
 * then runs before the state is brought there. True when it is (it is
 * s->conns.cur); otherwise the command waits as in ensure_backend(). */
bool ensure_connected(struct session *s, uint32_t idx)
{
    struct bconn *bc = s->conns.bc[idx];
    if (bc == NULL && backend_take(s, idx))
        bc = s->conns.bc[idx];
    if (bc != NULL && bc->state == BCONN_READY) {
        s->conns.cur = bc;
        session_publish_backend(s);
        return true;
    }
    session_set_state(s, SS_WAIT_BACKEND);
    ev_io_stop(s->w->loop, &s->client.rio);
    if (bc == NULL)
        bconn_open(s, idx);
    else
        s->conns.cur = bc;
    return false;
}

/* ---- commands answered here ----------------------------------------------
 * A packet too large (COM_CHANGE_USER: session_login.c; the KILL
 * statements: session_kill.c). */

/* A request over max_packet_size: answered as the server answers one over
 * max_allowed_packet, and the connection closed (what follows of the
 * packet cannot be told from a command). */
static void packet_too_large(struct session *s, uint8_t seq)
{
    slog_info(s, "request larger than max_packet_size (%d bytes)", s->cfg->max_packet_size);
    session_err(s, (uint8_t)(seq + 1), SERR_PACKET_TOO_LARGE);
    session_mark_closing(s, END_PACKET_TOO_LARGE);
}

/* ---- life cycle ----------------------------------------------------------
 * Creation at accept (PROXY header, TLS, greeting), shutdown, close and
 * free. */

static void session_free(struct session *s)
{
    struct worker *w = s->w;
    /* the features' (session_hooks.c): a KILL's hold, the registry, a pool wait */
    session_hooks_leave(s);
    ev_timer_stop(w->loop, &s->io.timer);
    ev_timer_stop(w->loop, &s->io.idle);
    ev_timer_stop(w->loop, &s->route.primary_wait);
    query_end(s, true);
    session_trx_hold(s, false);
    bconn_close_all(s);
    free(s->conns.bc);
    free(s->conns.lease.lent);
    conn_close(&s->client, w->loop, &w->pool);
    stream_release(&s->io.up, &w->pool);
    stream_release(&s->io.down, &w->pool);
    atomic_fetch_sub(&stats_sessions_open, 1);
    config_put(s->cfg);
    free(s->who.user);
    free(s->who.db);
    free(s->who.attrs);
    free(s->vars.schema);
    free(s->query.pend_schema);
    free(s->query.qlog_text);
    free(s->route.retry_pkt);
    explicit_bzero(s->who.h1, sizeof(s->who.h1));
    explicit_bzero(s->who.old_hash, sizeof(s->who.old_hash));
    free(s->query.connid);
    session_tables_locked(s, false);
    session_hooks_close(s); /* the features' (session_hooks.c) */
    free(s->values.diag_err);
    free(s->route.trx_lost);
    free(s->values.lid_lost);
    free(s->values.lid_unknown);
    free(s->io.broken_msg);
    free(s->who.via);
    if (s->who.acct_cur != NULL)
        free(s->who.acct_cur->name);
    free(s->who.acct_cur);
    free(s);
}

/* Free a session marked closing; called last in every event handler. */
void session_reap(struct session *s)
{
    if (s->state != SS_CLOSING)
        return;
    switch (s->end) {
    case END_CLIENT_QUIT:
    case END_CLIENT_CLOSED:
        slog_debug(s, "closed: %s", session_end_to_str(s->end));
        break;
    default:
        slog_info(s, "closed: %s", session_end_to_str(s->end));
        break;
    }
    /* Try to push out a last ERR already queued; never wait for it. */
    if (conn_has_local(&s->client)) {
        hy_status_t rc HY_UNUSED = conn_flush_local(&s->client, &s->w->pool);
    }
    session_free(s);
}

void session_close(struct session *s, enum session_end why)
{
    session_mark_closing(s, why);
    session_reap(s);
}

void session_shutdown(struct session *s)
{
    if (session_hooks_killed(s)) {
        session_close(s, END_KILLED);
        return;
    }
    switch (s->state) {
    case SS_IDLE:
    case SS_PROXY_HEADER:
    case SS_HANDSHAKE:
    case SS_AUTH_SWITCH:
        session_close(s, END_SHUTDOWN);
        break;
    default:
        break; /* closes when its command ends (command_done) */
    }
}

void session_create(struct worker *w, int fd, const struct config_listener *listener)
{
    struct config *cfg = group_view_of_listener(w->session_cfg, w->cfg, listener);
    if (cfg == NULL) {
        /* A listener a reload removed, with its group, accepted before it
         * closed: no backends to serve it (never another group's). */
        hy_log_warn("listener %s: its group is gone after a reload: connection closed",
                    listener->name);
        close(fd);
        return;
    }
    atomic_fetch_add(&stats_sessions_open, 1);
    struct session *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        atomic_fetch_sub(&stats_sessions_open, 1);
        close(fd);
        return;
    }
    net_set_nodelay(fd);
    s->w = w;
    s->cfg = config_get(cfg);
    session_lex_mode(s, backend_default_lex(s->cfg)); /* the server's global sql_mode */
    s->listener = listener;
    s->state = SS_HANDSHAKE;
    conn_init(&s->client, fd);
    net_peer_name(fd, s->who.peer, sizeof(s->who.peer)); /* before the registry shows it */
    s->conns.n_bc = (uint16_t)cfg->n_backends;
    s->route.topo_gen = backend_generation();
    s->route.primary_fail_gen = UINT64_MAX;
    s->route.retry_exclude = -1;
    s->route.wait_idx = -1;
    s->route.ro_idx = -1;
    s->route.write_idx = -1;
    s->query.set_option = -1;
    s->route.status = SERVER_STATUS_AUTOCOMMIT;
    s->conns.bc = calloc(cfg->n_backends, sizeof(*s->conns.bc));
    if (s->conns.bc == NULL)
        s->conns.n_bc = 0;
    /* the features' (session_hooks.c): its id and registry entry among them */
    bool features = session_hooks_create(s);
    s->route.primary = primary_now(cfg, s->id, -1);
    ev_io_init(&s->client.rio, session_client_read_cb, fd, EV_READ);
    ev_io_init(&s->client.wio, session_client_write_cb, fd, EV_WRITE);
    ev_timer_init(&s->io.timer, session_timer_cb, 0., 0.);
    ev_timer_init(&s->io.idle, session_idle_cb, 0., 0.);
    ev_init(&s->conns.lease.pool_wait, pool_wait_cb);
    ev_timer_init(&s->route.primary_wait, primary_wait_cb, 0., 0.);
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &sslen) == 0)
        rules_addr_from_sockaddr((struct sockaddr *)&ss, &s->who.client_addr);
    stat_inc(&w->stats.sessions_accepted);

    if (s->conns.bc == NULL || !features) {
        session_close(s, END_NOMEM);
        return;
    }
    session_hooks_start(s); /* the login's greeting (session_hooks.c) */
    session_reap(s);
}
