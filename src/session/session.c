/*
 * session.c: the client side of halyard.
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
 * Login: the client's mysql_native_password answer is checked against the
 * double-SHA1 hash in the config, which also yields SHA1(password); with it
 * the session answers the backend's own scramble (auth.h). Clients that open
 * with another plugin (caching_sha2_password...) get an AuthSwitchRequest.
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

/* ---- state ------------------------------------------------------------- */

/* The one place a session changes state. */
void session_set_state(struct session *s, enum session_state to)
{
    static const uint16_t allowed[SS__COUNT] = {
        [SS_PROXY_HEADER] = 1u << SS_HANDSHAKE,
        [SS_HANDSHAKE] = 1u << SS_AUTH_SWITCH | 1u << SS_LOGIN_BACKEND | 1u << SS_IDLE,
        [SS_AUTH_SWITCH] = 1u << SS_LOGIN_BACKEND | 1u << SS_IDLE,
        [SS_LOGIN_BACKEND] = 1u << SS_IDLE,
        [SS_IDLE] = 1u << SS_WAIT_BACKEND | 1u << SS_COMMAND | 1u << SS_AUTH_SWITCH |
                    1u << SS_LOGIN_BACKEND,
        [SS_WAIT_BACKEND] = 1u << SS_COMMAND | 1u << SS_IDLE,
        [SS_COMMAND] = 1u << SS_IDLE,
        [SS_CLOSING] = 0,
    };
    if (s->state == to)
        return;
    if (to != SS_CLOSING && !(allowed[s->state] & (1u << to))) {
        hy_log_error("session %u: impossible state change %s -> %s", s->id,
                     session_state_to_str(s->state), session_state_to_str(to));
        s->end = END_PROTOCOL;
        to = SS_CLOSING;
    }
    s->state = to;
}

void session_mark_closing(struct session *s, enum session_end why)
{
    if (s->state == SS_CLOSING)
        return;
    s->end = why;
    session_set_state(s, SS_CLOSING);
}

/* ---- timers ------------------------------------------------------------ */

void session_timer_start(struct session *s, int ms)
{
    ev_timer_stop(s->w->loop, &s->io.timer);
    ev_timer_set(&s->io.timer, ms / 1000.0, 0.);
    ev_timer_start(s->w->loop, &s->io.timer);
    s->io.timer_lazy = false;
}

void session_timer_stop(struct session *s)
{
    ev_timer_stop(s->w->loop, &s->io.timer);
    s->io.timer_lazy = false;
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
            ev_io_stop(loop, &s->client.rio);
        else
            ev_io_start(loop, &s->client.rio);
    }
    if (s->conns.cur != NULL && s->conns.cur->state == BCONN_READY) {
        bool down_full =
            s->io.down.b != NULL && s->io.down.tail == s->io.down.b->cap && s->io.down.head == 0;
        /* an answer held back (down_hold) is read on to its end */
        bool down_blocked =
            s->io.down.b != NULL && s->io.down.head < s->io.down.scan && !s->io.down_held;
        if (down_full || down_blocked)
            ev_io_stop(loop, &s->conns.cur->c.rio);
        else
            ev_io_start(loop, &s->conns.cur->c.rio);
    }
}

/* ---- commands ---------------------------------------------------------- */

/* Get ready to parse a fresh answer to `cmd` from s->conns.cur in `down`. */
void answer_expect(struct session *s, uint8_t cmd, uint8_t exec_flags)
{
    s->io.resp_done = s->io.resp_broken = false;
    s->io.infile = false;
    s->io.rdown = (struct relay_down){0};
    mysql_resp_start(&s->io.resp, cmd, s->who.caps, exec_flags);
}

/* The routed command at up.scan will not run (a rule blocked it, no
 * backend can take it): undo what session_route() prepared for it. */
void command_abandon(struct session *s)
{
    session_fanout_abandon(s);
    s->vars.chg_pending = false;
    pstmt_free(s->prep.ps_new);
    s->prep.ps_new = NULL;
    s->prep.ps_step = -1;
    s->prep.meta_ps_id = 0;
    free(s->query.pend_schema);
    s->query.pend_schema = NULL;
    s->query.digest_pending = false;
    s->query.qlog_pending = false;
    if (s->query.cmd_ro_begin)
        s->route.ro_idx = -1; /* the read-only transaction never began */
    s->query.cmd_ro_begin = false;
    s->query.cmd_writes = false;
    s->route.causal_check = false;
    s->route.wait_idx = -1;
    session_cache_abandon(s);
}

void command_done(struct session *s)
{
    if (s->cfg->backend_read_timeout_ms > 0 && !s->io.timer_lazy)
        session_timer_stop(s); /* a lazy read timer runs on (read_timer_begin) */
    query_end(s, s->io.resp.err_code != 0);
    if (session_groups(s)->xa != NULL && s->io.resp.err_code == ER_LOCK_DEADLOCK)
        session_xa_server_rollback(s, s->io.resp.err_code);
    s->query.stmt_len = 0; /* show sessions: no statement in flight */
    s->prep.meta_ps_id = 0;
    s->route.retry_ok = false;
    s->route.retried = false;
    s->route.retry_exclude = -1;
    s->route.fell_back = false;
    if (s->query.cmd == COM_SET_OPTION && s->query.set_option >= 0 && s->io.resp.err_code == 0) {
        /* Keep it for backend connections opened later (after COM_CHANGE_USER). */
        if (s->query.set_option == 0)
            s->who.caps |= CLIENT_MULTI_STATEMENTS;
        else
            s->who.caps &= ~(uint32_t)CLIENT_MULTI_STATEMENTS;
        s->query.set_option = -1;
    }
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
            .rows = s->io.resp.rows,
            .affected = s->io.resp.affected,
            .error = s->io.resp.err_code,
        };
        query_log_write(&e);
        s->query.qlog_pending = false;
    }
    if (s->query.cmd == COM_STMT_PREPARE && s->prep.ps_new != NULL) {
        pstmt_free(s->prep.ps_new); /* it failed: MariaDB's id -1 now names nothing */
        s->prep.ps_new = NULL;
        s->prep.map.last = 0;
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
    if (s->query.pend_schema != NULL) {
        if (s->io.resp.err_code == 0) {
            free(s->vars.schema);
            s->vars.schema = s->query.pend_schema;
        } else {
            free(s->query.pend_schema);
        }
        s->query.pend_schema = NULL;
    }
    if (s->io.resp.db_dropped && s->conns.cur != NULL)
        s->conns.cur->db_check = 1; /* state_db_check, before anything else runs there */
    if (s->io.resp.status_seen)
        session_lex_follow(s, s->io.resp.status);
    command_kill_unhold(s, false); /* answered without command_kill_answer: broken */
    session_pool_note(s);
    session_diag_follow(s);
    session_cache_done(s); /* the query cache: a fill kept, or a write noted */
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
    session_replay_done(s);
    session_trx_hold(s, true);
    bool readback = state_commit(s, s->io.resp.err_code == 0);
    state_txn_next_note(s);
    state_moved_note(s);
    s->io.last_active = ev_now(s->w->loop);
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
    if (readback) {
        state_readback_expect(s);
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
            state_readback_send(s); /* right behind the SET, now all out */
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
 * ends. The session goes on, as after a lost backend (session_backend_lost),
 * unless the connection held state that cannot be rebuilt, or the client is
 * among column definitions, where it would not take an ERR: then it is
 * marked closing (`why`) and false returned. */
static bool answer_abandon(struct session *s, const char *what, enum session_end why)
{
    struct bconn *bc = s->conns.cur;
    if (s->query.internal != INT_NONE || s->io.req_open || s->io.infile || s->kill.kill_id != 0 ||
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
                 * on the primary (session_pool_note settles the rest) */
                if (s->query.cmd_locks > 0 && s->io.resp.err_code == 0)
                    session_tables_locked(s, true);
            }
            return true;
        case RELAY_PACKET:
            break;
        default:
            return true; /* more bytes needed */
        }
        if (s->kill.kill_id != 0 || s->kill.kill_qid != 0) {
            if (!command_kill_answer(s, len))
                return true;
            if (s->io.resp_done)
                continue;
        }
        if (s->kill.kill_user != NULL)
            command_kill_user_answer(s, len);
        if (session_groups(s)->xa_piped) { /* the XA START sent with the statement answers first */
            int xr = session_xa_start_answer(s, len);
            if (xr < 0)
                return true;
            if (xr > 0)
                continue;
        }
        int64_t tl = session_track_peek(s, len); /* an OK: before all else reads it */
        if (tl < 0)
            return true;
        len = (uint32_t)tl;
        uint32_t peek = HY_MIN(len, (uint32_t)MYSQL_RESP_PEEK);
        bool capture = (s->query.internal == INT_GTID_FETCH || s->query.internal == INT_GTID_WAIT ||
                        s->query.internal == INT_GTID_SYNC || s->query.internal == INT_GPOS_SYNC ||
                        s->query.internal == INT_GPOS_FETCH || s->query.internal == INT_GPOS_WAIT ||
                        s->query.internal == INT_LID || s->query.internal == INT_DB_CHECK ||
                        s->query.internal == INT_SYSVIEW || s->query.internal == INT_KILL_QID) &&
                       s->io.resp.rows == 0;
        bool track = s->query.internal == INT_NONE && len > 0 &&
                     (s->io.resp.caps & CLIENT_SESSION_TRACK) && mysql_resp_ok_fits(&s->io.resp) &&
                     (st->b->data + st->scan + MYSQL_HEADER_SIZE)[0] == MYSQL_OK &&
                     len + MYSQL_HEADER_SIZE <= st->b->cap;
        /* an ERR answering a client's statement, kept whole
         * (session_pool_diag_err); one after a result began (a killed
         * query) is not: that connection is kept as for warnings */
        bool err = s->query.internal == INT_NONE && s->cfg->pool_transaction && len > 0 &&
                   s->io.resp.results == 0 && s->io.resp.rows == 0 &&
                   stream_unparsed(st) > MYSQL_HEADER_SIZE &&
                   (st->b->data + st->scan + MYSQL_HEADER_SIZE)[0] == MYSQL_ERR &&
                   len + MYSQL_HEADER_SIZE <= st->b->cap;
        if ((capture || track || err || (s->replay != NULL && session_replay_sums(s)) ||
             (s->query.cache != NULL && session_cache_capturing(s)) ||
             s->query.internal == INT_PS_PREPARE || s->query.internal == INT_READBACK ||
             s->query.internal == INT_XREAD || s->query.internal == INT_SYSPEER) &&
            len + MYSQL_HEADER_SIZE <= st->b->cap)
            peek = len; /* the whole first row, to read its value; a whole ERR or OK */
        if (stream_unparsed(st) < MYSQL_HEADER_SIZE + peek)
            return true;
        uint8_t *pl = st->b->data + st->scan + MYSQL_HEADER_SIZE;
        switch (meta_down(s, len)) { /* session_meta.c: CACHE_METADATA */
        case META_WAIT:
            return true;
        case META_DONE:
            continue;
        case META_BROKEN:
            return answer_broken(s);
        case META_PASS:
            break;
        }
        int sv = session_sysview_row(s, len); /* SHOW PROCESSLIST, SHOW STATUS */
        if (sv < 0)
            return true;
        if (sv > 0)
            continue;
        if (s->prep.ps_new != NULL && s->query.cmd == COM_STMT_PREPARE &&
            s->query.internal == INT_NONE && len > 0 && pl[0] == MYSQL_OK && s->io.rdown.seq == 1)
            ps_prepare_ok(s, pl, peek); /* before the tracker: it must not see our id */
        if (track && peek == len)
            session_track_note(s, pl, len);
        if (s->replay != NULL) /* both off unless configured: a load and a branch */
            session_replay_packet(s, pl, len, peek == len);
        if (s->query.cache != NULL)
            session_cache_packet(s, pl, len, peek == len); /* the query cache's fill */
        uint16_t err_before = s->io.resp.err_code;
        uint64_t rows_before = s->io.resp.rows;
        enum mysql_resp_rc rc = mysql_resp_feed(&s->io.resp, pl, len);
        if (s->query.internal == INT_SYSPEER && peek == len && s->io.resp.rows > rows_before)
            session_sysview_peer_row(s, pl, len);
        if (rc == MYSQL_RESP_DONE && s->query.cache != NULL && s->query.internal == INT_NONE)
            session_cache_answered(s); /* a write noted before the client has its answer */
        if (err && peek == len && err_before == 0 && s->io.resp.err_code != 0)
            session_pool_diag_err(s, pl, len);
        if (capture && s->io.resp.rows == 1 && peek == len)
            capture_value(s, pl, len);
        if (s->query.internal == INT_READBACK && s->vars.vs != NULL && !s->route.pinned)
            readback_feed(&s->vars.chg->rb, pl, len, peek == len, s->vars.vs);
        if (s->query.internal == INT_XREAD)
            session_fanout_xa_packet(s, pl, len, peek == len);
        if (s->query.internal == INT_PS_PREPARE && len > 0 && pl[0] == MYSQL_ERR && peek == len &&
            s->io.resp.err_code != 0) {
            free(s->prep.ps_err);
            s->prep.ps_err_len = (uint16_t)HY_MIN(len, 1024u);
            if ((s->prep.ps_err = malloc(s->prep.ps_err_len)) != NULL)
                memcpy(s->prep.ps_err, pl, s->prep.ps_err_len);
        }
        if (rc == MYSQL_RESP_BAD)
            return answer_broken(s);
        relay_down_take(&s->io.rdown, st, len, rc);
    }
}

/* Move the answer on to the client; finish the command once all of it,
 * and anything we generated, is out. */
void down_forward(struct session *s)
{
    struct stream *st = &s->io.down;
    enum relay_rc rc = RELAY_DONE;
    while (st->b != NULL) {
        s->prep.meta_flush = false;
        if (!down_parse(s))
            return;
        if (conn_has_local(&s->client)) {
            /* a packet of ours (session_meta.c) goes first; session_client_write_cb
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
        if (rc == RELAY_DONE && s->prep.meta_flush && s->state != SS_CLOSING)
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
        if (stream_unparsed(st) > 0 && !state_readback_in_flight(s)) {
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
    s->kill.kill_id = 0;
    s->kill.kill_qid = 0;
    command_kill_unhold(s, false); /* a leftover */
    command_kill_user_answered(s, 0);
    s->io.req_bytes = 0; /* command_forward() counts the request it passes on */
    s->route.wait_idx = -1;
    s->route.last_idx = s->conns.cur->idx;
    s->io.down_sent = s->io.down_held = false;
    query_end(s, true); /* never two at once; a leftover would be a lost one */
    s->route.q_rt = s->conns.cur->be->rt;
    if (s->route.q_rt != NULL)
        backend_query_begin(s->route.q_rt);
    if (s->query.cache != NULL)
        session_cache_begin(s); /* the query cache: a write's flight starts */
    stat_inc(&s->w->stats.commands);
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
        state_readback_send(s);
}

/* Skip the client's whole packet at up.scan (the caller checked it is all
 * there). */
void consume_packet(struct session *s, uint32_t len)
{
    s->io.up.scan += MYSQL_HEADER_SIZE + len;
    s->io.up.head = s->io.up.scan;
}

/* Make backend `idx` ready for a command. True when it is (it is s->conns.cur);
 * otherwise the command waits in `up` (SS_WAIT_BACKEND) while the backend
 * is opened or brought up to date, and session_next_command runs again. */
bool ensure_backend(struct session *s, uint32_t idx)
{
    struct bconn *bc = s->conns.bc[idx];
    if (bc == NULL && session_pool_take(s, idx))
        bc = s->conns.bc[idx];
    if (bc != NULL && bc->state == BCONN_READY && bc->vs_gen == s->vars.vs_gen &&
        bc->lid_epoch == s->values.lid_epoch && !session_pool_diag_lost(s, bc) &&
        session_track_ready(s, bc)) {
        s->conns.cur = bc;
        session_publish_backend(s);
        /* a BEGIN halyard answered, or the group's XA branch, first */
        if ((session_groups(s)->xa != NULL || session_groups(s)->begin_sql[0] != '\0') &&
            s->query.internal == INT_NONE && !session_begin_ready(s, bc, idx))
            return false;
        return true;
    }
    session_set_state(s, SS_WAIT_BACKEND);
    ev_io_stop(s->w->loop, &s->client.rio);
    if (bc == NULL) {
        bconn_open(s, idx);
        return false;
    }
    s->conns.cur = bc;
    if (bc->state == BCONN_READY)
        state_sync_start(s);
    return false;
}

/* Backend `idx` logged in, whatever session state it has run: for a query
 * of halyard's own that does not depend on it (MASTER_GTID_WAIT), which
 * then runs before the state is brought there. True when it is (it is
 * s->conns.cur); otherwise the command waits as in ensure_backend(). */
bool ensure_connected(struct session *s, uint32_t idx)
{
    struct bconn *bc = s->conns.bc[idx];
    if (bc == NULL && session_pool_take(s, idx))
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

void session_client_read_cb(struct ev_loop *loop, ev_io *w, int revents)
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
    switch (s->state) {
    case SS_PROXY_HEADER:
        session_proxy_header(s);
        break;
    case SS_HANDSHAKE:
    case SS_AUTH_SWITCH:
        session_handle_login(s);
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
out:
    session_reap(s);
}

void session_client_write_cb(struct ev_loop *loop, ev_io *w, int revents)
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

void session_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct session *s = container_of(w, struct session, io.timer);
    if (s->io.timer_lazy && s->state != SS_COMMAND) {
        s->io.timer_lazy = false; /* a read timer past its command: nothing to time */
        return;
    }
    if (login_timer(s)) { /* a login's answer held back, or its wait for the accounts */
        session_reap(s);
        return;
    }
    if (s->state == SS_WAIT_BACKEND &&
        (s->query.internal == INT_GTID_SYNC || s->query.internal == INT_GPOS_SYNC)) {
        session_writer_sync_late(s); /* the new writer lags: not a failure */
        session_reap(s);
        return;
    }
    switch (s->state) {
    case SS_PROXY_HEADER:
        slog_warn(s, "no PROXY protocol header within %d ms (connect_timeout_ms): closing",
                  s->cfg->connect_timeout_ms);
        session_mark_closing(s, END_PROXY_HEADER);
        break;
    case SS_HANDSHAKE:
    case SS_AUTH_SWITCH:
        if (session_login_changing_user(s)) {
            session_mark_closing(s, END_LOGIN_TIMEOUT);
            break;
        }
        slog_info(s, "login not finished within %d ms", s->cfg->login_timeout_ms);
        session_mark_closing(s, END_LOGIN_TIMEOUT);
        break;
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

/* client_idle_timeout_ms: the timer runs from login on and is pushed back
 * lazily: it fires at most once per timeout, and only then looks at when
 * the client last sent something (libev's "lazy" idle timer). */
void session_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct session *s = container_of(w, struct session, io.idle);
    double timeout = s->cfg->client_idle_timeout_ms / 1e3;
    double now = ev_now(loop);
    if (timeout <= 0)
        return; /* a reload turned it off */
    bool idle = s->state == SS_IDLE && !session_login_waits(s) && !conn_has_local(&s->client) &&
                (s->io.up.b == NULL || stream_empty(&s->io.up));
    if (!idle)
        s->io.last_active = now; /* a command in flight is not idleness */
    double left = s->io.last_active + timeout - now;
    if (left > 0) {
        w->repeat = left;
        ev_timer_again(loop, w);
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
