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

#include "halyard/audit.h"
#include "halyard/auth.h"
#include "halyard/backend.h"
#include "halyard/group.h"
#include "halyard/classify.h"
#include "halyard/compress.h"
#include "halyard/digest.h"
#include "halyard/firewall.h"
#include "halyard/guard.h"
#include "halyard/proxyproto.h"
#include "halyard/registry.h"
#include "halyard/relay.h"
#include "halyard/router.h"
#include "halyard/server.h"
#include "halyard/session.h"
#include "halyard/users.h"
#include "halyard/session_err.h"
#include "halyard/stats.h"
#include "halyard/tls.h"
#include "halyard/track.h"
#include "halyard/worker.h"
#include "session_int.h"

/* ---- names ------------------------------------------------------------- */

const char *session_state_to_str(enum session_state st)
{
    static const char *const names[SS__COUNT] = {
        [SS_PROXY_HEADER] = "proxy_header",
        [SS_HANDSHAKE] = "handshake",
        [SS_AUTH_SWITCH] = "auth_switch",
        [SS_LOGIN_BACKEND] = "login_backend",
        [SS_IDLE] = "idle",
        [SS_WAIT_BACKEND] = "wait_backend",
        [SS_COMMAND] = "command",
        [SS_CLOSING] = "closing",
    };
    return st < SS__COUNT ? names[st] : "?";
}

const char *session_end_to_str(enum session_end why)
{
    switch (why) {
    case END_NONE:
        return "none";
    case END_CLIENT_QUIT:
        return "client quit";
    case END_CLIENT_CLOSED:
        return "client closed the connection";
    case END_CLIENT_ERROR:
        return "client socket error";
    case END_BAD_HANDSHAKE:
        return "bad handshake";
    case END_TLS_FAILED:
        return "TLS handshake failed";
    case END_AUTH_FAILED:
        return "authentication failed";
    case END_LOGIN_TIMEOUT:
        return "login timeout";
    case END_PROTOCOL:
        return "protocol error from client";
    case END_BACKEND_LOST:
        return "backend connection lost";
    case END_BACKEND_LOGIN:
        return "backend refused the login";
    case END_BACKEND_PROTOCOL:
        return "protocol error from backend";
    case END_KILLED:
        return "killed";
    case END_SHUTDOWN:
        return "shutdown";
    case END_TOO_MANY:
        return "too many connections";
    case END_USER_LIMIT:
        return "user's max_connections reached";
    case END_BLOCKED:
        return "address blocked after failed logins";
    case END_IDLE_TIMEOUT:
        return "idle timeout";
    case END_PACKET_TOO_LARGE:
        return "packet larger than max_packet_size";
    case END_GROUP_REMOVED:
        return "its group was removed by a reload";
    case END_PROXY_HEADER:
        return "no valid PROXY protocol header";
    case END_NOMEM:
        return "out of memory";
    }
    return "?";
}

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

/* ---- packets we generate ----------------------------------------------- */

void send_local(struct session *s, const uint8_t *pkt, size_t len)
{
    hy_status_t rc = conn_send_local(&s->client, s->w->loop, &s->w->pool, pkt, len);
    if (rc != HY_OK)
        session_mark_closing(s, rc == HY_NOMEM ? END_NOMEM : END_CLIENT_ERROR);
}

/* Send the ERR of `why` (session_err.h: the one table of halyard's own
 * errors), its arguments as the table's format says. */
void session_err(struct session *s, uint8_t seq, enum session_err why, ...)
{
    uint8_t pkt[MYSQL_HEADER_SIZE + 600];
    va_list ap;
    va_start(ap, why);
    size_t len = session_err_vencode(pkt, sizeof(pkt), seq, why, ap);
    va_end(ap);
    send_local(s, pkt, len);
}

/* An ERR that is not halyard's own (a query rule's, configured). */
static void session_err_custom(struct session *s, uint8_t seq, uint16_t code, const char *sqlstate,
                               const char *msg)
{
    uint8_t pkt[MYSQL_HEADER_SIZE + 600];
    send_local(s, pkt, session_err_encode_custom(pkt, sizeof(pkt), seq, code, sqlstate, msg));
}

/* The prepared-statement section's refusals (MariaDB's own codes, given
 * by the caller): kept apart until that section moves to its own file. */

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

void send_ok(struct session *s, uint8_t seq)
{
    uint8_t pkt[MYSQL_HEADER_SIZE + 32];
    size_t len = mysql_ok_encode(pkt + MYSQL_HEADER_SIZE, sizeof(pkt) - MYSQL_HEADER_SIZE, 0, 0,
                                 SERVER_STATUS_AUTOCOMMIT, 0);
    mysql_hdr_write(pkt, (uint32_t)len, seq);
    send_local(s, pkt, MYSQL_HEADER_SIZE + len);
}

void client_host(const struct session *s, char *out, size_t len)
{
    client_ip(s, out, len);
    if (users_name_resolve() && accounts_loopback(out))
        snprintf(out, len, "localhost");
}

void client_ip(const struct session *s, char *out, size_t len)
{
    /* "127.0.0.1:5555" -> "127.0.0.1", "[::1]:5555" -> "::1" */
    const char *p = s->peer;
    size_t n = strlen(p);
    const char *colon = strrchr(p, ':');
    if (colon != NULL)
        n = (size_t)(colon - p);
    if (n >= 2 && p[0] == '[') {
        p++;
        n -= 2;
    }
    snprintf(out, len, "%.*s", (int)n, p);
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

/* ---- timers ------------------------------------------------------------ */

void session_timer_start(struct session *s, int ms)
{
    ev_timer_stop(s->w->loop, &s->timer);
    ev_timer_set(&s->timer, ms / 1000.0, 0.);
    ev_timer_start(s->w->loop, &s->timer);
}

void session_timer_stop(struct session *s)
{
    ev_timer_stop(s->w->loop, &s->timer);
}

/* ---- backend connections -----------------------------------------------
 * A session opens at most one connection per configured backend, when a
 * command first needs it (s->bc[idx]). `s->cur` is the one the command in
 * flight uses, or the one being opened or brought up to date for it. The
 * others sit idle, logged in, with their read watcher armed so a close is
 * noticed.
 */

/* The KILL registry follows the backend the session's commands run on. */
void session_publish_backend(struct session *s)
{
    struct bconn *bc = s->cur;
    bool ready = bc != NULL && bc->state == BCONN_READY;
    registry_set_backend(&s->reg, ready ? bc->idx : 0, ready ? bc->login.thread_id : 0);
}

void bconn_close(struct bconn *bc)
{
    struct session *s = bc->owner;
    POOL_COUNT(s, bc->be, closed);
    ps_backend_gone(s, bc->idx);
    s->bc[bc->idx] = NULL;
    varstate_destroy(bc->vs);
    bc->vs = NULL;
    ps_cache_clear(&bc->psc);
    if (s->cur == bc) {
        s->cur = NULL;
        session_publish_backend(s);
    }
    server_destroy(bc);
}

void bconn_close_all(struct session *s)
{
    for (uint32_t i = 0; i < s->n_bc; i++) {
        if (s->bc[i] != NULL)
            bconn_close(s->bc[i]);
    }
}

static void session_backend_ready(struct session *s);
static void session_backend_lost(struct session *s, struct bconn *bc, const char *why);

/* Who logs into backend connections: the session's user, with the
 * SHA1(password) pair its own login yielded (mysql_client.h). The pointers
 * stay valid while a connection logs in: COM_CHANGE_USER closes them all
 * before it replaces the user. */
void session_creds(const struct session *s, const struct config_backend *be,
                   struct mysql_client_creds *cr)
{
    *cr = (struct mysql_client_creds){
        .user = s->user,
        .db = s->db,
        .attrs = s->attrs,
        .attrs_len = s->attrs_len,
        .h1 = s->no_password ? NULL : s->h1,
        .h2 = s->no_password ? NULL : s->h2,
        .charset = s->charset,
        .max_packet = 0x40000000u,
        .want_caps = s->caps,
        .need_caps = s->caps & FRAMING_CAPS,
        .want_ext_caps = BACKEND_EXT_CAPS(s),
        .need_ext_caps = s->ext_caps & SERVER_EXT_CAPS_NEEDED, /* session_int.h */
        .tls = be->tls,
    };
}

/* Start connecting to backend `idx` (server.h); it becomes s->cur. */
void bconn_open(struct session *s, uint32_t idx)
{
    if (session_pool_wait(s, idx))
        return; /* a connection given back, or a free slot, runs it again */
    struct bconn *bc =
        server_create(&s->cfg->backends[idx], s->w->loop, &s->w->pool, session_server_event, s);
    if (bc == NULL) {
        session_mark_closing(s, END_NOMEM);
        return;
    }
    bc->idx = (uint16_t)idx;
    bc->born = ev_now(s->w->loop);
    POOL_COUNT(s, bc->be, opened);
    /* A new connection has none of the session's statements: ids it had for
     * this backend name another connection (pooled: one it gave back). */
    ps_backend_gone(s, idx);
    if (s->cfg->pool_transaction) {
        /* Pooled: a new connection is brought to the session's state like
         * one another session used (LAST_INSERT_ID() included). */
        bc->foreign = true;
        bc->vs_gen = s->vs_gen - 1;
        bc->gtid_epoch = s->gtid_epoch - 1;
    }
    s->bc[idx] = bc;
    s->cur = bc;
    session_timer_stop(s); /* the connection times its own connect and login */
    struct mysql_client_creds cr;
    session_creds(s, bc->be, &cr);
    struct server_report r;
    if (!server_connect(bc, &cr, s->cfg->connect_timeout_ms, &r))
        session_backend_failed(s, r.err, r.err_len, r.why);
}

/* A login that named a schema: the primary now, so that an unknown schema
 * fails the login as on the server. Pooled, an idle connection of the same
 * user and login schema serves (it logged in to that schema); else one is
 * opened, or waited for at max_connections (pool_wait_cb comes back here). */
void session_login_backend(struct session *s)
{
    session_set_state(s, SS_LOGIN_BACKEND);
    if (session_pool_take(s, s->primary)) {
        session_backend_ready(s);
        return;
    }
    bconn_open(s, s->primary);
}

/* ---- streams ----------------------------------------------------------- */

/* Reads stop while a stream is full and resume once it drains. */
void update_reads(struct session *s)
{
    struct ev_loop *loop = s->w->loop;
    bool up_full = s->up.b != NULL && s->up.tail == s->up.b->cap && s->up.head == 0;
    bool up_blocked = s->up.b != NULL && s->up.head < s->up.scan; /* waiting for the backend */
    if (s->client.fd >= 0) {
        if (up_full || up_blocked)
            ev_io_stop(loop, &s->client.rio);
        else
            ev_io_start(loop, &s->client.rio);
    }
    if (s->cur != NULL && s->cur->state == BCONN_READY) {
        bool down_full = s->down.b != NULL && s->down.tail == s->down.b->cap && s->down.head == 0;
        bool down_blocked = s->down.b != NULL && s->down.head < s->down.scan;
        if (down_full || down_blocked)
            ev_io_stop(loop, &s->cur->c.rio);
        else
            ev_io_start(loop, &s->cur->c.rio);
    }
}

/* ---- commands ---------------------------------------------------------- */

static void packet_too_large(struct session *s, uint8_t seq);
static void internal_progress(struct session *s);

/* Get ready to parse a fresh answer to `cmd` from s->cur in `down`. */
void answer_expect(struct session *s, uint8_t cmd, uint8_t exec_flags)
{
    s->resp_done = s->resp_broken = false;
    s->infile = false;
    s->rdown = (struct relay_down){0};
    mysql_resp_start(&s->resp, cmd, s->caps, exec_flags);
}

static bool ensure_connected(struct session *s, uint32_t idx);
static void capture_value(struct session *s, const uint8_t *p, uint32_t len);
static const char *skip_space_comments(const char *p, const char *end);
static bool match_word(const char **pp, const char *end, const char *word);

/* ---- routing ------------------------------------------------------------ */

static _Thread_local uint32_t replica_rr; /* per worker: spreads sessions too */

/* Index of the primary for `cfg` now: the monitor's, else the config's. */
static uint16_t primary_now(const struct config *cfg)
{
    int p = backend_primary_index(cfg);
    if (p < 0)
        p = backend_primary_any_index(cfg);
    return p >= 0 ? (uint16_t)p : (uint16_t)(config_primary(cfg) - cfg->backends);
}

bool session_in_trans(const struct session *s)
{
    return (s->status & SERVER_STATUS_IN_TRANS) || !(s->status & SERVER_STATUS_AUTOCOMMIT);
}

/* The backends as this session sees them, for route_decide(): one per
 * worker, grown to the largest config seen. */
static _Thread_local struct {
    struct route_backend *be;
    char (*why)[sizeof(((struct backend_info *)0)->why)];
    uint32_t cap;
} rview;

void session_thread_exit(void)
{
    free(rview.be);
    free(rview.why);
    rview.be = NULL;
    rview.why = NULL;
    rview.cap = 0;
    state_thread_exit();
}

/* Fill `in` with this session's view and its backends' for `op`; false
 * when out of memory. */
static bool route_view(struct session *s, enum route_op op, struct route_in *in)
{
    const struct config *cfg = s->cfg;
    if (cfg->n_backends > rview.cap) {
        struct route_backend *be = realloc(rview.be, cfg->n_backends * sizeof(*be));
        if (be != NULL)
            rview.be = be;
        void *why = realloc(rview.why, cfg->n_backends * sizeof(rview.why[0]));
        if (why != NULL)
            rview.why = why;
        if (be == NULL || why == NULL)
            return false;
        rview.cap = cfg->n_backends;
    }
    memset(in, 0, sizeof(*in));
    in->op = op;
    in->primary = s->primary;
    in->in_trans = session_in_trans(s);
    in->pinned = s->pinned;
    in->uvars_opaque = s->uvars_opaque;
    in->ro_idx = s->ro_idx;
    in->consistency = s->consistency;
    in->now = ev_now(s->w->loop);
    in->last_write = s->last_write;
    in->strong_window_ms = (uint32_t)s->cfg->strong_window_ms;
    in->read_write_split = s->cfg->read_write_split;
    in->pooled = s->cfg->pool_transaction;
    in->zone_reads = s->cfg->zone_reads;
    in->replica_fallback_error = s->cfg->replica_fallback_error;
    in->last_idx = s->last_idx;
    in->diag_idx = s->diag_idx;
    in->exclude = s->retried ? s->retry_exclude : -1;
    in->sticky = s->route_sticky;
    in->fell_back = s->fell_back;
    in->be = rview.be;
    in->n_be = cfg->n_backends;
    in->rr = replica_rr;
    for (uint32_t i = 0; i < cfg->n_backends; i++) {
        const struct config_backend *be = &cfg->backends[i];
        struct backend_rt *rt = be->rt;
        struct route_backend *b = &rview.be[i];
        *b = (struct route_backend){
            .name = be->name,
            .role = be->role,
            .state = BACKEND_ONLINE,
            .why = "",
            .weight = (uint32_t)be->weight,
            .monitored = rt != NULL,
            .usable = true,
            .usable_in_trx = true,
            .conn = s->bc[i] != NULL,
            .conn_room = true,
            .far = cfg->zone[0] != '\0' && be->zone[0] != '\0' && strcmp(be->zone, cfg->zone) != 0,
        };
        if (rt == NULL)
            continue;
        b->role = backend_role(rt);
        b->state = backend_state(rt);
        b->usable = b->state == BACKEND_ONLINE;
        b->usable_in_trx = b->state == BACKEND_ONLINE || b->state == BACKEND_DRAINING;
        b->fenced = atomic_load(&rt->fenced);
        b->reads_too = atomic_load(&rt->reads_too);
        b->outstanding = atomic_load_explicit(&rt->outstanding, memory_order_relaxed);
        b->rtt_ms = (atomic_load_explicit(&rt->rtt_us, memory_order_relaxed) + 500) / 1000;
        b->conn_room =
            be->max_connections == 0 ||
            atomic_load_explicit(&rt->conns, memory_order_relaxed) < (uint64_t)be->max_connections;
        if (op == ROUTE_GATE && !b->usable) {
            struct backend_info info;
            backend_info_get(rt, &info);
            memcpy(rview.why[i], info.why, sizeof(rview.why[i]));
            rview.why[i][sizeof(rview.why[i]) - 1] = '\0';
            b->why = rview.why[i];
        }
    }
    return true;
}

/* route_decide() over `in`: the worker's cursor follows. */
static void session_decide(const struct route_in *in, struct route_out *out)
{
    route_decide(in, out);
    replica_rr = out->rr;
}

/* Whether `word` (upper case) appears in the text, in any case. */
static bool text_mentions(const char *p, size_t n, const char *word)
{
    const size_t wl = strlen(word);
    for (size_t i = 0; i + wl <= n; i++) {
        if ((p[i] & ~0x20) == word[0] && strncasecmp(p + i, word, wl) == 0)
            return true;
    }
    return false;
}

/* A LIMIT with an offset (`LIMIT 2, 1`, `LIMIT 1 OFFSET 2`): FOUND_ROWS()
 * after it counts the rows skipped too (MDEV-9390), which the rows sent do
 * not tell, so the connection is kept for it like SQL_CALC_FOUND_ROWS. A
 * text scan: a comma or OFFSET anywhere after a LIMIT (a string that only
 * looks like one keeps a connection one statement longer, never wrong). */
static bool limit_offset(const char *p, size_t n)
{
    for (size_t i = 0; i + 5 <= n; i++) {
        if ((p[i] & ~0x20) == 'L' && strncasecmp(p + i, "LIMIT", 5) == 0)
            return memchr(p + i + 5, ',', n - i - 5) != NULL ||
                   text_mentions(p + i + 5, n - i - 5, "OFFSET");
    }
    return false;
}

/* A read of the server instance's own run-time state, which only the
 * primary's answer fits, since that is where the session's writes, locks,
 * transactions and prepared statements run: SHOW [SESSION|GLOBAL] STATUS,
 * SHOW PROFILE(S), SHOW [FULL] PROCESSLIST, SHOW ENGINE, SHOW OPEN TABLES,
 * and a read that names the process list, InnoDB's transactions and locks,
 * the metadata locks or performance_schema (found by name anywhere in the
 * text: a string that only mentions one sends a read to the primary, which
 * is never wrong). */
bool show_status(const char *sql, size_t len)
{
    static const char *const tables[] = {"PROCESSLIST", "INNODB_TRX", "INNODB_LOCK",
                                         "METADATA_LOCK_INFO", "PERFORMANCE_SCHEMA"};
    const char *p = skip_space_comments(sql, sql + len), *end = sql + len;
    if (match_word(&p, end, "SHOW")) {
        (void)(match_word(&p, end, "SESSION") || match_word(&p, end, "GLOBAL") ||
               match_word(&p, end, "LOCAL") || match_word(&p, end, "FULL"));
        if (match_word(&p, end, "STATUS") || match_word(&p, end, "PROFILE") ||
            match_word(&p, end, "PROFILES") || match_word(&p, end, "PROCESSLIST") ||
            match_word(&p, end, "ENGINE") || match_word(&p, end, "OPEN"))
            return true;
    }
    for (size_t i = 0; i < HY_ARRAY_SIZE(tables); i++) {
        if (text_mentions(sql, len, tables[i]))
            return true;
    }
    return false;
}

/* The query log is on: keep the statement's text (its first
 * QUERY_LOG_TEXT_MAX bytes) for the line command_done writes. */
/* classify_find_ident() callback: a word that introduces a password. */
static bool secret_word(void *ctx, const char *name, size_t len)
{
    (void)ctx;
    static const char *const words[] = {"PASSWORD", "IDENTIFIED", "MASTER_PASSWORD",
                                        "OLD_PASSWORD"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(words); i++) {
        if (len == strlen(words[i]) && strncasecmp(name, words[i], len) == 0)
            return true;
    }
    return false;
}

/* Whether a statement may carry a password in a literal (IDENTIFIED BY,
 * PASSWORD(), SET PASSWORD, MASTER_PASSWORD): a cheap scan for the letters
 * first, the lexer only then. */
/* The lexer options every classification, digest, rule and firewall check
 * of this session uses, from the server's own word: a backend answers with
 * SERVER_STATUS_NO_BACKSLASH_ESCAPES set while the session's sql_mode has
 * it, and the session's sql_mode is the same on every backend it uses (the
 * session state is brought there), so the last answer tells. Without it
 * `SELECT 'a\'; DELETE FROM t; -- '` lexes as one read. The one place
 * s->lex_opts changes. */
static void session_lex_follow(struct session *s, uint16_t status)
{
    /* ANSI_QUOTES has no status flag: it comes from a sql_mode the backend
     * reported through session tracking (session_track_note()), and stays
     * as it was when the answer reported none. */
    if (s->tracked_lex >= 0) {
        s->lex_opts =
            (s->lex_opts & ~CLO_ANSI_QUOTES) | ((unsigned)s->tracked_lex & CLO_ANSI_QUOTES);
        s->tracked_lex = -1;
    }
    if (status & SERVER_STATUS_NO_BACKSLASH_ESCAPES)
        s->lex_opts |= CLO_NO_BACKSLASH_ESCAPES;
    else
        s->lex_opts &= ~CLO_NO_BACKSLASH_ESCAPES;
}

/* The command in flight ended on s->cur: the session's diagnostics area
 * is there now when the command raised a warning or an error, or used a
 * table (MariaDB cleared it before); a SELECT 1 elsewhere leaves it where
 * it was, as it leaves it on the server. The one place s->diag_idx changes
 * but for a reload's renumbering. */
static void session_diag_follow(struct session *s)
{
    if (s->cur != NULL && !s->cmd_diag &&
        (s->resp.err_code != 0 || s->resp.warnings > 0 || s->cmd_clears_diag))
        s->diag_idx = s->cur->idx;
    s->cmd_clears_diag = false;
    s->cmd_diag = false;
}

/* The session's sql_mode is now one whose lexer options are `opts`
 * (classify_sql_mode): both modes are known. */
void session_lex_mode(struct session *s, unsigned opts)
{
    s->tracked_lex = (int)opts;
    session_lex_follow(s,
                       (opts & CLO_NO_BACKSLASH_ESCAPES) ? SERVER_STATUS_NO_BACKSLASH_ESCAPES : 0);
}

/* An OK of the answer in flight, whole in `pl`: remember the sql_mode its
 * session-state block reports, for session_lex_follow() at the end of the
 * statement (an answer to several statements carries one OK each; the last
 * report counts). The packet is forwarded as it is. */
static void session_track_note(struct session *s, const uint8_t *pl, uint32_t len)
{
    struct mysql_ok ok;
    struct track_changes tc;

    if (mysql_ok_decode(pl, len, s->resp.caps, &ok) != HY_OK || ok.session_state == NULL)
        return;
    if (track_parse(ok.session_state, ok.session_state_len, &tc) != HY_OK)
        slog_debug(s, "malformed session-state block from the backend: read up to the fault");
    if (tc.sql_mode)
        s->tracked_lex = (int)tc.lex_opts;
}

static bool may_hold_secret(const char *text, size_t len, unsigned lex_opts)
{
    bool seen = false;
    for (size_t i = 0; i + 5 <= len && !seen; i++) {
        char c = (char)(text[i] | 0x20);
        seen = (c == 'p' && strncasecmp(text + i, "passw", 5) == 0) ||
               (c == 'i' && strncasecmp(text + i, "ident", 5) == 0);
    }
    return seen && classify_find_ident(text, len, lex_opts, secret_word, NULL);
}

void qlog_note(struct session *s, const char *text, size_t len, uint64_t digest)
{
    if (s->qlog_text == NULL && (s->qlog_text = malloc(QUERY_LOG_TEXT_MAX)) == NULL)
        return;
    if (may_hold_secret(text, len, s->lex_opts)) {
        /* No password in the log: the digest, literals as ?, stands for it. */
        size_t dlen = 0;
        (void)classify_digest(text, len, s->lex_opts, s->qlog_text, QUERY_LOG_TEXT_MAX, &dlen);
        s->qlog_len = HY_MIN(dlen, (size_t)QUERY_LOG_TEXT_MAX - 1);
        s->qlog_digest = digest;
        s->qlog_pending = true;
        return;
    }
    s->qlog_len = HY_MIN(len, (size_t)QUERY_LOG_TEXT_MAX);
    memcpy(s->qlog_text, text, s->qlog_len);
    s->qlog_digest = digest;
    s->qlog_pending = true;
}

/* Act on a ROUTE_STATEMENT decision: the pin, the read-only transaction,
 * the causal check. The target, or ROUTE_REFUSE (no replica can serve the
 * read and replica_fallback = error). */
static uint32_t route_apply(struct session *s, const struct route_out *out)
{
    if (out->pin != NULL)
        session_pin(s, out->pin);
    if (out->uvars_opaque)
        s->uvars_opaque = true;
    s->route_sticky = out->sticky;
    if (out->causal)
        s->causal_check = true;
    if (out->verdict == ROUTE_RO_TRX_WRITE)
        return ROUTE_RO_WRITE;
    if (out->verdict != ROUTE_GO)
        return ROUTE_REFUSE;
    if (out->ro_begin) {
        s->ro_idx = (int)out->target;
        s->cmd_ro_begin = true;
    }
    return out->target;
}

/* Where a prepared statement's read runs outside a transaction (see
 * route_decide). */
uint32_t route_read(struct session *s, enum classify_hint hint, const char *hint_backend,
                    bool prev_stmt, bool show_status_stmt)
{
    struct route_in in;
    struct route_out out;
    if (!route_view(s, ROUTE_STATEMENT, &in)) {
        session_mark_closing(s, END_NOMEM);
        return s->primary;
    }
    in.kind = CL_READ;
    in.flags = (prev_stmt ? CLF_PREV_STMT : 0) | (s->cmd_diag ? CLF_DIAG : 0);
    in.hint = hint;
    in.hint_backend = hint_backend;
    in.show_status = show_status_stmt;
    in.fits = true;
    session_decide(&in, &out);
    return route_apply(s, &out);
}

/* ---- health (backend.h) --------------------------------------------------- */

/* The monitor moved the primary role: follow it. The connection to the old
 * primary is closed, so nothing of this session is written there again; a
 * transaction open on it is lost (the next statement says so), and a
 * session whose state only the old primary had (temporary tables, locks...)
 * cannot go on. */
static void session_follow_primary(struct session *s)
{
    uint64_t gen = backend_generation();
    if (gen == s->topo_gen)
        return;
    s->topo_gen = gen;
    uint16_t p = primary_now(s->cfg);
    if (p == s->primary)
        return;
    const struct config_backend *old = &s->cfg->backends[s->primary];
    slog_info(s, "primary %s -> %s", old->name, s->cfg->backends[p].name);
    struct bconn *bc = s->bc[s->primary];
    if (bc != NULL) {
        if (s->pinned) {
            slog_warn(s, "its session state is on the old primary %s: closing", old->name);
            session_mark_closing(s, END_BACKEND_LOST);
            return;
        }
        if (session_in_trans(s) && s->ro_idx < 0)
            snprintf(s->trx_lost, sizeof(s->trx_lost), "%s", old->name);
        bconn_close(bc);
    }
    s->status &= (uint16_t)~SERVER_STATUS_IN_TRANS;
    s->primary = p;
}

/* Health gate for a routed backend (route_decide, ROUTE_GATE): `idx` if
 * it may take the statement, else another one, or ROUTE_NOBODY with the
 * reason in `why`. A transaction whose backend is out ends here. */
static uint32_t route_health(struct session *s, uint32_t idx, char *why, size_t whylen)
{
    struct route_in in;
    struct route_out out;
    if (!route_view(s, ROUTE_GATE, &in)) {
        session_mark_closing(s, END_NOMEM);
        return ROUTE_NOBODY;
    }
    in.target = idx;
    session_decide(&in, &out);
    if (out.close_idx >= 0 && s->bc[out.close_idx] != NULL)
        bconn_close(s->bc[out.close_idx]);
    if (out.trx_end) {
        s->ro_idx = -1;
        s->status &= (uint16_t)~SERVER_STATUS_IN_TRANS;
    }
    if (out.verdict == ROUTE_GO)
        return out.target;
    size_t n = strnlen(out.why, whylen - 1); /* whylen > 0 */
    memcpy(why, out.why, n);
    why[n] = '\0';
    return ROUTE_NOBODY;
}

/* Keep an autocommit read bound for a replica (whole in `up` at scan), to
 * run it once more elsewhere if the replica dies before it answers. */
void retry_keep(struct session *s, const uint8_t *pkt, uint32_t n)
{
    s->retry_ok = false;
    if (n > s->retry_cap) {
        uint8_t *b = realloc(s->retry_pkt, n);
        if (b == NULL)
            return;
        s->retry_pkt = b;
        s->retry_cap = n;
    }
    memcpy(s->retry_pkt, pkt, n);
    s->retry_len = n;
    s->retry_ok = true;
}

/* The statement in flight on q_rt ended (answered, failed or lost). */
static void query_end(struct session *s, bool error)
{
    if (s->q_rt == NULL)
        return;
    double usec = (ev_now(s->w->loop) - s->cmd_started) * 1e6;
    backend_query_end(s->q_rt, s->w->id, usec > 0 ? (uint64_t)usec : 0, error);
    s->q_rt = NULL;
}

/* Whether a statement's text may call CONNECTION_ID() (a cheap look
 * before classifying). */
static bool mentions_connid(const uint8_t *p, uint32_t n)
{
    return text_mentions((const char *)p, n, "CONNECTION_ID");
}

/* Which backend runs the command at up.scan (`avail` of its `len` payload
 * bytes are in the buffer). Everything goes to the primary but reads a
 * hint sends elsewhere, outside transactions; commands that change session
 * state are prepared for the log on the way. COM_STMT_PREPARE is
 * classified and matched against the rules like a COM_QUERY of its text. */
/* Whether the text is an SQL PREPARE (of a named statement). */
static bool sql_prepare(const uint8_t *p, uint32_t n)
{
    const char *t = (const char *)p, *end = t + n;
    t = skip_space_comments(t, end);
    return match_word(&t, end, "PREPARE");
}

static uint32_t route(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len,
                      uint32_t avail)
{
    bool fits = avail == len;
    bool text = cmd == COM_QUERY || cmd == COM_STMT_PREPARE;
    s->cmd_writes = cmd == COM_QUERY && !fits;
    s->causal_check = false;
    s->cmd_ro_begin = false;
    s->qlog_pending = false;
    s->route_sticky = false;
    s->connid.n = 0;
    s->cmd_lid = false;
    s->cmd_xa = 0;
    s->cmd_calc_found = false;
    bool fw = s->cu != NULL && s->cu->firewall != FIREWALL_OFF;
    /* One backend: nothing to route, but rules, digests, the firewall and
     * the session's own CONNECTION_ID() still apply. */
    if (s->n_bc == 1 && (!text || !s->cfg->pool_transaction) &&
        (!text || (s->cfg->n_rules == 0 && s->w->digests == NULL && !query_log_enabled() && !fw &&
                   !mentions_connid(p + 1, avail - 1))))
        return cmd == COM_STMT_PREPARE ? ps_route_prepare(s, p, len, fits, NULL) : s->primary;
    if (cmd == COM_INIT_DB || cmd == COM_SET_OPTION) {
        if (cmd == COM_INIT_DB && fits) {
            free(s->pend_schema);
            s->pend_schema = dup_bytes(p + 1, len - 1);
        }
        if (fits)
            state_prepare_cmd(s, cmd, p, len);
        else
            session_pin(s, "oversized session command");
        return s->primary;
    }
    if (!text)
        return s->primary;
    struct classify_result r;
    char dtext[DIGEST_TEXT_MAX];
    struct classify_digest dg = {.buf = dtext, .cap = sizeof(dtext)};
    bool want_digest = s->w->digests != NULL || s->cfg->rules_need_digest || fw;
    classify((const char *)p + 1, avail - 1, s->lex_opts, &r, want_digest ? &dg : NULL);
    /* What pool_hold() asks of the connection it ran on (session_pool.c). */
    s->cmd_lid = (r.flags & CLF_LAST_INSERT_ID) != 0;
    if (r.flags & CLF_XA)
        s->cmd_xa = r.kind == CL_TXN_BEGIN ? 1 : r.kind == CL_TXN_END ? -1 : 0;
    s->cmd_calc_found = s->cfg->pool_transaction &&
                        (text_mentions((const char *)p + 1, avail - 1, "SQL_CALC_FOUND_ROWS") ||
                         limit_offset((const char *)p + 1, avail - 1));
    if (s->cfg->pool_transaction && sql_prepare(p + 1, avail - 1))
        session_pin(s, "PREPARE: the named statement lives on its connection");
    size_t dlen = want_digest ? HY_MIN(dg.len, sizeof(dtext) - 1) : 0;
    if (s->w->digests != NULL) {
        digest_note(s->w->digests, dg.hash, dtext, dlen);
        s->digest_hash = dg.hash;
        s->digest_pending = true;
    }
    if (query_log_enabled())
        qlog_note(s, (const char *)p + 1, avail - 1, want_digest ? dg.hash : 0);
    if (r.flags & CLF_USE) {
        free(s->pend_schema);
        s->pend_schema = r.schema[0] != '\0' ? strdup(r.schema) : NULL;
    }
    if (fw && !firewall_allows(s->cu, dg.hash, dtext, dlen)) {
        s->fw_hash = dg.hash;
        return ROUTE_FIREWALL;
    }
    if (s->cfg->n_rules > 0) {
        struct rules_input in = {
            .text = (const char *)p + 1,
            .text_len = avail - 1,
            .digest = want_digest ? dtext : NULL,
            .digest_len = dlen,
            .user = s->user,
            .schema = session_schema(s),
            .client = &s->client_addr,
        };
        const struct config_rule *rule = rules_match(&s->w->rules, s->cfg, &in);
        if (rule != NULL && rule->action == RULE_ACTION_BLOCK) {
            s->block_rule = rule;
            return ROUTE_BLOCK;
        }
        if (rule != NULL && r.hint == CLH_NONE) {
            /* A rule routes as a hint does (reads, outside transactions);
             * a hint in the statement itself wins. */
            r.hint = rule->route == RULE_ROUTE_PRIMARY   ? CLH_PRIMARY
                     : rule->route == RULE_ROUTE_REPLICA ? CLH_REPLICA
                                                         : CLH_BACKEND;
            if (r.hint == CLH_BACKEND)
                snprintf(r.hint_backend, sizeof(r.hint_backend), "%s",
                         config_root(s->cfg)->backends[rule->backend].name);
        }
    }
    /* In a read of the server's own run-time state (the process list, its
     * transactions and locks) CONNECTION_ID() stays the server's thread id:
     * the rows there carry those ids, so `WHERE ID = CONNECTION_ID()` finds
     * the session's own row as it does on the server. */
    if (fits && (r.connid.n_connid > 0 || (s->cfg->pool_transaction && r.connid.n > 0)) &&
        !show_status((const char *)p + 1, avail - 1)) {
        s->connid = r.connid;
        if (classify_connid_bound(&r.connid, len) >= MYSQL_MAX_PAYLOAD)
            s->connid.nalias = 0; /* it would take a second packet: names stay */
    }
    if (cmd == COM_STMT_PREPARE)
        return ps_route_prepare(s, p, len, fits, &r);
    s->cmd_clears_diag = r.clears_diag || !fits;
    s->cmd_diag = (r.flags & CLF_DIAG) != 0;
    if (s->n_bc == 1)
        return s->primary;
    s->cmd_writes = r.kind == CL_WRITE || r.kind == CL_TXN_END || (r.flags & CLF_SEQUENCE) || !fits;
    struct route_in in;
    struct route_out out;
    if (!route_view(s, ROUTE_STATEMENT, &in)) {
        session_mark_closing(s, END_NOMEM);
        return s->primary;
    }
    in.kind = r.kind;
    in.flags = r.flags;
    in.nvars = r.nvars;
    in.nstmt = r.nstmt;
    in.hint = r.hint;
    in.hint_backend = r.hint_backend;
    in.show_status = r.kind == CL_READ && !s->pinned && !session_in_trans(s) &&
                     show_status((const char *)p + 1, avail - 1);
    in.fits = fits;
    session_decide(&in, &out);
    if (out.log_state)
        state_prepare_set(s, &r, p, len);
    return route_apply(s, &out);
}

/* consistency = causal: true when the read may run on replica `idx` now;
 * false when an internal step started (learning the primary's binlog
 * position after the session's writes, or waiting for it on the replica):
 * the read runs again when it ends.
 *
 * The position is @@gtid_binlog_pos, read after the session wrote, not the
 * session's @@last_gtid: MariaDB empties last_gtid after any statement that
 * wrote nothing to the binlog (a no-op UPDATE), which would hide an earlier
 * write; the binlog position covers every write the primary has committed,
 * the session's and those it has seen. */
bool causal_ready(struct session *s, uint32_t idx)
{
    /* Galera: the writer's last committed write set, which the reader
     * waits to have applied (its own GTIDs, whether or not there is a
     * binary log); replication: the primary's binlog position. */
    bool galera = s->cfg->cluster == CLUSTER_GALERA;
    if (s->need_gtid) {
        if (!ensure_backend(s, s->primary))
            return false;
        internal_query(s, INT_GTID_FETCH,
                       galera ? "SELECT WSREP_LAST_SEEN_GTID()" : "SELECT @@GLOBAL.gtid_binlog_pos",
                       s->cfg->connect_timeout_ms);
        return false;
    }
    struct bconn *bc = s->bc[idx];
    if (s->gtid[0] == '\0' || (bc != NULL && bc->gtid_epoch == s->gtid_epoch))
        return true;
    if (!ensure_connected(s, idx))
        return false;
    char sql[224];
    if (galera) /* whole seconds, at least 1; 1 when applied, an error on timeout */
        snprintf(sql, sizeof(sql), "SELECT WSREP_SYNC_WAIT_UPTO_GTID('%s', %d)", s->gtid,
                 HY_MAX(1, (s->cfg->causal_timeout_ms + 999) / 1000));
    else /* 0 when applied, -1 on timeout */
        snprintf(sql, sizeof(sql), "SELECT MASTER_GTID_WAIT('%s', %.3f)", s->gtid,
                 s->cfg->causal_timeout_ms / 1e3);
    internal_query(s, INT_GTID_WAIT, sql, s->cfg->causal_timeout_ms + s->cfg->connect_timeout_ms);
    return false;
}

/* The routed command at up.scan will not run (a rule blocked it, no
 * backend can take it): undo what route() prepared for it. */
void command_abandon(struct session *s)
{
    s->chg_pending = false;
    pstmt_free(s->ps_new);
    s->ps_new = NULL;
    s->ps_step = -1;
    s->meta_ps_id = 0;
    free(s->pend_schema);
    s->pend_schema = NULL;
    s->digest_pending = false;
    s->qlog_pending = false;
    if (s->cmd_ro_begin)
        s->ro_idx = -1; /* the read-only transaction never began */
    s->cmd_ro_begin = false;
    s->cmd_writes = false;
    s->causal_check = false;
    s->wait_idx = -1;
}

static void command_done(struct session *s)
{
    if (s->cfg->backend_read_timeout_ms > 0)
        session_timer_stop(s);
    query_end(s, s->resp.err_code != 0);
    s->stmt_len = 0; /* show sessions: no statement in flight */
    s->meta_ps_id = 0;
    s->retry_ok = false;
    s->retried = false;
    s->retry_exclude = -1;
    s->fell_back = false;
    if (s->cmd == COM_SET_OPTION && s->set_option >= 0 && s->resp.err_code == 0) {
        /* Keep it for backend connections opened later (after COM_CHANGE_USER). */
        if (s->set_option == 0)
            s->caps |= CLIENT_MULTI_STATEMENTS;
        else
            s->caps &= ~(uint32_t)CLIENT_MULTI_STATEMENTS;
        s->set_option = -1;
    }
    if (s->ro_idx >= 0 && s->cur != NULL && s->cur->idx == s->ro_idx &&
        ((s->cmd_ro_begin && s->resp.err_code != 0) ||
         (s->resp.status_seen && !(s->resp.status & SERVER_STATUS_IN_TRANS))))
        s->ro_idx = -1; /* the read-only transaction ended, or never began */
    s->cmd_ro_begin = false;
    if (s->qlog_pending) {
        double usec = (ev_now(s->w->loop) - s->cmd_started) * 1e6;
        struct query_log_entry e = {
            .session = s->id,
            .user = s->user,
            .client = s->peer,
            .schema = session_schema(s),
            .backend = s->cur != NULL ? s->cur->be->name : NULL,
            .digest = s->qlog_digest,
            .text = s->qlog_text,
            .text_len = s->qlog_len,
            .duration_us = usec > 0 ? (uint64_t)usec : 0,
            .rows = s->resp.rows,
            .affected = s->resp.affected,
            .error = s->resp.err_code,
        };
        query_log_write(&e);
        s->qlog_pending = false;
    }
    if (s->cmd == COM_STMT_PREPARE && s->ps_new != NULL) {
        pstmt_free(s->ps_new); /* it failed: MariaDB's id -1 now names nothing */
        s->ps_new = NULL;
        s->ps.last = 0;
    }
    if (s->digest_pending) {
        double usec = (ev_now(s->w->loop) - s->cmd_started) * 1e6;
        digest_record(s->w->digests, s->digest_hash, NULL, 0, s->resp.err_code != 0,
                      s->resp.rows != 0 ? s->resp.rows : s->resp.affected,
                      usec > 0 ? (uint64_t)usec : 0,
                      s->cur != NULL && s->cur->idx != s->primary ? ROLE_REPLICA : ROLE_PRIMARY);
        s->digest_pending = false;
    }
    if (s->pend_schema != NULL) {
        if (s->resp.err_code == 0) {
            free(s->schema);
            s->schema = s->pend_schema;
        } else {
            free(s->pend_schema);
        }
        s->pend_schema = NULL;
    }
    if (s->resp.status_seen)
        session_lex_follow(s, s->resp.status);
    session_pool_note(s);
    session_diag_follow(s);
    if (s->cur != NULL && s->cur->idx == s->primary) {
        if (s->resp.status_seen)
            s->status = s->resp.status; /* transactions live on the primary */
        if (s->cmd_writes) {
            s->need_gtid = true;
            s->last_write = ev_now(s->w->loop);
        }
    }
    s->cmd_writes = false;
    bool readback = state_commit(s, s->resp.err_code == 0);
    s->last_active = ev_now(s->w->loop);
    session_set_state(s, SS_IDLE);
    stream_release_if_empty(&s->down, &s->w->pool);
    if (s->resp.err_code == ER_CONNECTION_KILLED) {
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
    struct stream *st = &s->up;
    if (st->b == NULL)
        return;
    bool ended = false;
    while (!ended) {
        if (s->up_left > 0) {
            uint32_t n = HY_MIN(s->up_left, stream_unparsed(st));
            if (n == 0)
                break;
            st->scan += n;
            s->up_left -= n;
            continue;
        }
        if (!s->up_cont && !s->infile) {
            ended = true; /* the request's last packet has been passed */
            break;
        }
        if (stream_unparsed(st) < MYSQL_HEADER_SIZE)
            break;
        const uint8_t *h = st->b->data + st->scan;
        uint32_t len = mysql_hdr_len(h);
        s->last_seq = mysql_hdr_seq(h);
        st->scan += MYSQL_HEADER_SIZE;
        s->up_left = len;
        bool was_cont = s->up_cont;
        s->up_cont = len == MYSQL_MAX_PAYLOAD;
        s->req_bytes = was_cont ? s->req_bytes + len : len;
        if (s->req_bytes > (uint64_t)s->cfg->max_packet_size) {
            packet_too_large(s, s->last_seq);
            return;
        }
        if (s->infile && len == 0 && !was_cont) {
            ended = true; /* the empty packet that ends the file */
            break;
        }
    }
    /* Bytes halyard put before them (a rewritten head) leave first;
     * backend_writable comes back here once they are out. */
    enum relay_rc rc =
        conn_has_local(&s->cur->c) ? RELAY_AGAIN : relay_flush(st, &s->cur->c, s->w->loop);
    if (rc == RELAY_ERROR) {
        session_mark_closing(s, END_BACKEND_LOST);
        return;
    }
    if (ended) {
        if (s->infile) {
            s->infile = false;
            mysql_resp_infile_done(&s->resp);
        }
        s->req_open = false;
        if (rc == RELAY_DONE)
            state_readback_send(s); /* right behind the SET, now all out */
    }
    if (rc == RELAY_DONE)
        stream_release_if_empty(st, &s->w->pool);
    update_reads(s);
    if (!s->req_open && !mysql_resp_expects_reply(s->cmd) && rc == RELAY_DONE)
        command_done(s);
}

/* Give up on the answer s->cur is sending, at a packet boundary: once
 * what came before is out, the client gets ERR 1927 "Backend 'NAME'
 * <what> answering <command>" in place of the next packet, and that
 * backend connection is closed now, since nobody knows where its answer
 * ends. The session goes on, as after a lost backend (session_backend_lost),
 * unless the connection held state that cannot be rebuilt, or the client is
 * among column definitions, where it would not take an ERR: then it is
 * marked closing (`why`) and false returned. */
static bool answer_abandon(struct session *s, const char *what, enum session_end why)
{
    struct bconn *bc = s->cur;
    if (s->internal != INT_NONE || s->req_open || s->infile || s->kill_id != 0 ||
        !mysql_resp_err_fits(&s->resp) || (bc->idx == s->primary && s->pinned)) {
        session_mark_closing(s, why);
        return false;
    }
    bool trx = (bc->idx == s->primary && session_in_trans(s)) || s->ro_idx == (int)bc->idx;
    if (bc->idx == s->primary)
        s->status &= (uint16_t)~SERVER_STATUS_IN_TRANS;
    if (s->ro_idx == (int)bc->idx)
        s->ro_idx = -1;
    snprintf(s->broken_msg, sizeof(s->broken_msg), "Backend '%s' %s answering %s%s", bc->be->name,
             what, mysql_com_name(s->cmd), trx ? "; the transaction was rolled back" : "");
    s->resp_broken = true;
    bconn_close(bc);
    return true;
}

/* The backend's packet at down.scan broke the protocol (the tracker cannot
 * follow it): the packets before it still go to the client, then the ERR
 * in its place (answer_abandon). */
static bool answer_broken(struct session *s)
{
    slog_warn(s, "backend %s broke the protocol answering %s: closing that connection",
              s->cur->be->name, mysql_com_name(s->cmd));
    s->down.tail = s->down.scan; /* that packet and whatever came after it */
    s->rdown.seq--;              /* the last packet passed on */
    return answer_abandon(s, "broke the protocol", END_BACKEND_PROTOCOL);
}

/* The client has everything the broken answer had before the packet that
 * broke it: the ERR ends the command. */
static void answer_broken_end(struct session *s)
{
    s->resp_broken = false;
    query_end(s, true);
    session_err(s, (uint8_t)(s->rdown.seq + 1), SERR_ANSWER_ABANDONED, s->broken_msg);
    s->resp_done = true;
}

/* Parse the answer in `down` as far as it has arrived, then send it on. */
/* Our own KILL (command_kill) is answered by the backend in terms of its
 * thread id; when it refuses, the client must read the id it gave. Returns
 * false while the whole answer packet is not there yet. */
static bool own_kill_answer(struct session *s, uint32_t len)
{
    struct stream *st = &s->down;
    if (len + MYSQL_HEADER_SIZE <= st->b->cap && stream_unparsed(st) < MYSQL_HEADER_SIZE + len)
        return false;
    uint32_t id = s->kill_id;
    s->kill_id = 0;
    const uint8_t *p = st->b->data + st->scan + MYSQL_HEADER_SIZE;
    struct mysql_err e;
    if (len == 0 || p[0] != MYSQL_ERR || mysql_err_decode(p, len, &e) != HY_OK ||
        (e.code != ER_NO_SUCH_THREAD && e.code != ER_KILL_DENIED_ERROR))
        return true; /* passed on as it is */
    st->scan += MYSQL_HEADER_SIZE + len;
    st->head = st->scan;
    session_err(s, s->rdown.seq,
                e.code == ER_NO_SUCH_THREAD ? SERR_NO_SUCH_THREAD : SERR_KILL_DENIED, id);
    s->resp_done = true;
    return true;
}

/* Parse the answer in `down` as far as it has arrived: relay.h walks it
 * header first and stops at each new logical packet, which is looked at
 * here before it is passed. False when the session must close. */
static bool down_parse(struct session *s)
{
    struct stream *st = &s->down;
    for (;;) {
        if (s->resp_done || s->infile || s->resp_broken)
            return true;
        uint32_t len = 0;
        switch (relay_down_next(&s->rdown, st, &len)) {
        case RELAY_INFILE:
            s->infile = true;
            s->req_open = true;
            return true;
        case RELAY_END:
            s->resp_done = true;
            return true;
        case RELAY_PACKET:
            break;
        default:
            return true; /* more bytes needed */
        }
        if (s->kill_id != 0) {
            if (!own_kill_answer(s, len))
                return true;
            if (s->resp_done)
                continue;
        }
        uint32_t peek = HY_MIN(len, (uint32_t)MYSQL_RESP_PEEK);
        bool capture = (s->internal == INT_GTID_FETCH || s->internal == INT_GTID_WAIT ||
                        s->internal == INT_LID) &&
                       s->resp.rows == 0;
        bool track = s->internal == INT_NONE && len > 0 && (s->resp.caps & CLIENT_SESSION_TRACK) &&
                     mysql_resp_ok_fits(&s->resp) &&
                     (st->b->data + st->scan + MYSQL_HEADER_SIZE)[0] == MYSQL_OK &&
                     len + MYSQL_HEADER_SIZE <= st->b->cap;
        if ((capture || track || s->internal == INT_PS_PREPARE || s->internal == INT_READBACK) &&
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
        if (s->ps_new != NULL && s->cmd == COM_STMT_PREPARE && s->internal == INT_NONE && len > 0 &&
            pl[0] == MYSQL_OK && s->rdown.seq == 1)
            ps_prepare_ok(s, pl, peek); /* before the tracker: it must not see our id */
        if (track && peek == len)
            session_track_note(s, pl, len);
        enum mysql_resp_rc rc = mysql_resp_feed(&s->resp, pl, len);
        if (capture && s->resp.rows == 1 && peek == len)
            capture_value(s, pl, len);
        if (s->internal == INT_READBACK && s->vs != NULL && !s->pinned)
            readback_feed(&s->chg->rb, pl, len, peek == len, s->vs);
        if (s->internal == INT_PS_PREPARE && len > 0 && pl[0] == MYSQL_ERR && peek == len &&
            s->resp.err_code != 0) {
            free(s->ps_err);
            s->ps_err_len = (uint16_t)HY_MIN(len, 1024u);
            if ((s->ps_err = malloc(s->ps_err_len)) != NULL)
                memcpy(s->ps_err, pl, s->ps_err_len);
        }
        if (rc == MYSQL_RESP_BAD)
            return answer_broken(s);
        relay_down_take(&s->rdown, st, len, rc);
    }
}

/* Move the answer on to the client; finish the command once all of it,
 * and anything we generated, is out. */
static void down_forward(struct session *s)
{
    struct stream *st = &s->down;
    enum relay_rc rc = RELAY_DONE;
    while (st->b != NULL) {
        s->meta_flush = false;
        if (!down_parse(s))
            return;
        if (conn_has_local(&s->client)) {
            /* a packet of ours (session_meta.c) goes first; client_write_cb
             * comes back once it is out */
            rc = RELAY_AGAIN;
            break;
        }
        if (st->head < st->scan)
            s->down_sent = true;
        rc = relay_flush(st, &s->client, s->w->loop);
        if (rc == RELAY_ERROR) {
            session_mark_closing(s, END_CLIENT_ERROR);
            return;
        }
        if (rc == RELAY_DONE && s->meta_flush && s->state != SS_CLOSING)
            continue; /* a column count waited for this: parse on */
        if (rc == RELAY_DONE)
            stream_release_if_empty(st, &s->w->pool);
        break;
    }
    if (s->resp_broken && rc == RELAY_DONE && (st->b == NULL || stream_empty(st)))
        answer_broken_end(s);
    update_reads(s);
    if (s->infile)
        up_forward(s); /* file packets may already be waiting */
    if (s->state == SS_COMMAND && s->resp_done && !s->req_open && rc == RELAY_DONE &&
        !conn_has_local(&s->client)) {
        if (stream_unparsed(st) > 0 && !state_readback_in_flight(s)) {
            slog_warn(s, "backend %s sent %u bytes after its answer", s->cur->be->name,
                      stream_unparsed(st));
            session_mark_closing(s, END_BACKEND_PROTOCOL);
            return;
        }
        command_done(s);
    }
}

/* Start forwarding the command whose header is at up.scan. */
/* A command starts on s->cur. */
void command_begin(struct session *s, uint8_t cmd, uint8_t exec_flags)
{
    s->cmd = cmd;
    s->cmd_started = ev_now(s->w->loop);
    s->kill_id = 0;
    s->req_bytes = 0; /* command_forward() counts the request it passes on */
    s->wait_idx = -1;
    s->last_idx = s->cur->idx;
    s->down_sent = false;
    query_end(s, true); /* never two at once; a leftover would be a lost one */
    s->q_rt = s->cur->be->rt;
    if (s->q_rt != NULL)
        backend_query_begin(s->q_rt);
    stat_inc(&s->w->stats.commands);
    session_set_state(s, SS_COMMAND);
    answer_expect(s, cmd, exec_flags);
    if (s->cfg->backend_read_timeout_ms > 0) {
        s->down_last = s->cmd_started;
        session_timer_start(s, s->cfg->backend_read_timeout_ms);
    }
}

void command_forward(struct session *s, uint8_t cmd, uint32_t len, uint8_t exec_flags)
{
    command_begin(s, cmd, exec_flags);
    s->req_open = true;
    s->up.scan += MYSQL_HEADER_SIZE;
    s->up_left = len;
    s->up_cont = len == MYSQL_MAX_PAYLOAD;
    s->req_bytes = len;
    up_forward(s);
}

/* Send a packet we built to the backend in place of the client's command
 * (which the caller has consumed) and track its answer. */
static void command_send_own(struct session *s, uint8_t cmd, const uint8_t *pkt, size_t len)
{
    command_begin(s, cmd, 0);
    s->cmd_writes = false;
    s->req_open = false;
    if (conn_send_local(&s->cur->c, s->w->loop, &s->w->pool, pkt, len) != HY_OK)
        session_mark_closing(s, END_BACKEND_LOST);
    else
        state_readback_send(s);
}

/* The client's COM_QUERY or COM_STMT_PREPARE (whole at p) calls
 * CONNECTION_ID(): it goes to s->cur with the session's id there, the id
 * of the handshake, whichever backend runs it (s->connid, from route()). */
static void command_forward_connid(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len)
{
    /* FOUND_ROWS() and ROW_COUNT() are the session's previous statement's,
     * which ran on another connection (or this one ran another session's
     * since): halyard gives the values it saw (session_pool_prev_values).
     * In a prepared statement's text they stay calls. */
    char num[3][24];
    const char *value[CLASSIFY_CALL__COUNT] = {num[0], NULL, NULL};
    snprintf(num[0], sizeof(num[0]), "%u", s->id);
    if (cmd == COM_QUERY && session_pool_prev_values(s, num[1], num[2], sizeof(num[1]))) {
        value[CLASSIFY_CALL_FOUND_ROWS] = num[1];
        value[CLASSIFY_CALL_ROW_COUNT] = num[2];
    } else if (s->connid.n_connid == 0) {
        command_forward(s, cmd, len, 0); /* nothing to change */
        return;
    }
    size_t cap = classify_connid_bound(&s->connid, len - 1);
    uint8_t *pkt = malloc(MYSQL_HEADER_SIZE + 1 + cap);
    if (pkt == NULL) {
        session_mark_closing(s, END_NOMEM);
        return;
    }
    pkt[MYSQL_HEADER_SIZE] = cmd;
    size_t n = classify_calls_rewrite((const char *)p + 1, len - 1, &s->connid, value,
                                      (char *)pkt + MYSQL_HEADER_SIZE + 1, cap);
    mysql_hdr_write(pkt, (uint32_t)(n + 1), 0);
    consume_packet(s, len);
    bool writes = s->cmd_writes;
    command_send_own(s, cmd, pkt, MYSQL_HEADER_SIZE + 1 + n);
    s->cmd_writes = writes;
    free(pkt);
}

/* Skip the client's whole packet at up.scan (the caller checked it is all
 * there). */
void consume_packet(struct session *s, uint32_t len)
{
    s->up.scan += MYSQL_HEADER_SIZE + len;
    s->up.head = s->up.scan;
}

/* Make backend `idx` ready for a command. True when it is (it is s->cur);
 * otherwise the command waits in `up` (SS_WAIT_BACKEND) while the backend
 * is opened or brought up to date, and session_next_command runs again. */
bool ensure_backend(struct session *s, uint32_t idx)
{
    struct bconn *bc = s->bc[idx];
    if (bc == NULL && session_pool_take(s, idx))
        bc = s->bc[idx];
    if (bc != NULL && bc->state == BCONN_READY && bc->vs_gen == s->vs_gen) {
        s->cur = bc;
        session_publish_backend(s);
        return true;
    }
    session_set_state(s, SS_WAIT_BACKEND);
    ev_io_stop(s->w->loop, &s->client.rio);
    if (bc == NULL) {
        bconn_open(s, idx);
        return false;
    }
    s->cur = bc;
    if (bc->state == BCONN_READY)
        state_sync_start(s);
    return false;
}

/* Backend `idx` logged in, whatever session state it has run: for a query
 * of halyard's own that does not depend on it (MASTER_GTID_WAIT), which
 * then runs before the state is brought there. True when it is (it is
 * s->cur); otherwise the command waits as in ensure_backend(). */
static bool ensure_connected(struct session *s, uint32_t idx)
{
    struct bconn *bc = s->bc[idx];
    if (bc == NULL && session_pool_take(s, idx))
        bc = s->bc[idx];
    if (bc != NULL && bc->state == BCONN_READY) {
        s->cur = bc;
        session_publish_backend(s);
        return true;
    }
    session_set_state(s, SS_WAIT_BACKEND);
    ev_io_stop(s->w->loop, &s->client.rio);
    if (bc == NULL)
        bconn_open(s, idx);
    else
        s->cur = bc;
    return false;
}

/* KILL [HARD|SOFT] [CONNECTION|QUERY] <id>: the id is one halyard gave out.
 * Returns true and fills *id / *query / *rest when the text is of that form.
 * Other forms (KILL QUERY ID <query id>, KILL USER <name>) are not
 * translated. */
static const char *skip_space_comments(const char *p, const char *end)
{
    for (;;) {
        while (p < end && isspace((unsigned char)*p))
            p++;
        if (end - p >= 2 && p[0] == '/' && p[1] == '*' && (end - p < 3 || p[2] != '!')) {
            const char *q = p + 2;
            while (end - q >= 2 && !(q[0] == '*' && q[1] == '/'))
                q++;
            if (end - q < 2)
                return end;
            p = q + 2;
            continue;
        }
        if (p < end && (*p == '#' || (end - p >= 3 && p[0] == '-' && p[1] == '-' &&
                                      isspace((unsigned char)p[2])))) {
            while (p < end && *p != '\n')
                p++;
            continue;
        }
        return p;
    }
}

static bool match_word(const char **pp, const char *end, const char *word)
{
    size_t n = strlen(word);
    const char *p = *pp;
    if ((size_t)(end - p) < n || strncasecmp(p, word, n) != 0)
        return false;
    if (p + n < end && (isalnum((unsigned char)p[n]) || p[n] == '_'))
        return false;
    *pp = skip_space_comments(p + n, end);
    return true;
}

static bool parse_kill(const char *sql, size_t len, uint32_t *id, const char **modifier,
                       bool *query)
{
    const char *p = sql, *end = sql + len;
    p = skip_space_comments(p, end);
    if (!match_word(&p, end, "KILL"))
        return false;
    *modifier = "";
    if (match_word(&p, end, "HARD"))
        *modifier = "HARD ";
    else if (match_word(&p, end, "SOFT"))
        *modifier = "SOFT ";
    *query = false;
    if (match_word(&p, end, "QUERY")) {
        *query = true;
        if (match_word(&p, end, "ID"))
            return false; /* a query id, not a connection id */
    } else {
        (void)match_word(&p, end, "CONNECTION");
    }
    if (p >= end || !isdigit((unsigned char)*p))
        return false;
    uint64_t v = 0;
    while (p < end && isdigit((unsigned char)*p)) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > UINT32_MAX)
            return false;
        p++;
    }
    p = skip_space_comments(p, end);
    if (p < end && *p == ';')
        p = skip_space_comments(p + 1, end);
    if (p != end)
        return false;
    *id = (uint32_t)v;
    return true;
}

/* A KILL naming a halyard session id: find the backend thread behind it. */
static void command_kill(struct session *s, uint32_t len, uint32_t id, bool query,
                         const char *modifier, bool as_com_process_kill)
{
    uint32_t tid = 0, idx = s->primary;
    enum registry_kill k = registry_kill(&s->reg, id, !query, &tid, &idx);
    if (idx >= s->n_bc)
        idx = s->primary; /* the target runs under another config */
    switch (k) {
    case KILL_UNKNOWN:
        if (id < REGISTRY_ID_BASE) {
            /* a backend thread id (from CONNECTION_ID(), which runs on the
             * primary): the server decides */
            if (!ensure_backend(s, s->primary))
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
    if (!ensure_backend(s, idx))
        return; /* runs again once the backend is ready */
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
              query ? "QUERY" : "CONNECTION", id, s->cur->be->name, tid);
    command_send_own(s, as_com_process_kill ? COM_PROCESS_KILL : COM_QUERY, pkt,
                     MYSQL_HEADER_SIZE + n);
    s->kill_id = id;
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

void change_user_clear_pending(struct session *s)
{
    free(s->pend_user);
    free(s->pend_db);
    free(s->pend_attrs);
    s->pend_user = s->pend_db = NULL;
    s->pend_attrs = NULL;
    s->pend_attrs_len = 0;
}

void send_auth_switch(struct session *s, uint8_t seq)
{
    uint8_t data[MYSQL_SCRAMBLE_LEN + 1];
    memcpy(data, s->scramble, MYSQL_SCRAMBLE_LEN);
    data[MYSQL_SCRAMBLE_LEN] = 0;
    uint8_t pkt[MYSQL_HEADER_SIZE + 64];
    size_t n = mysql_auth_switch_encode(NATIVE_PLUGIN, data, sizeof(data), pkt + MYSQL_HEADER_SIZE,
                                        sizeof(pkt) - MYSQL_HEADER_SIZE);
    mysql_hdr_write(pkt, (uint32_t)n, seq);
    send_local(s, pkt, MYSQL_HEADER_SIZE + n);
    s->auth_step = AUTH_STEP_NATIVE;
    session_set_state(s, SS_AUTH_SWITCH);
    s->last_seq = seq;
    session_timer_start(s, s->cfg->login_timeout_ms);
}

bool plugin_is_native(const char *plugin, size_t len)
{
    return plugin == NULL ||
           (len == strlen(NATIVE_PLUGIN) && memcmp(plugin, NATIVE_PLUGIN, len) == 0);
}

static void command_change_user(struct session *s, uint32_t len)
{
    const uint8_t *p = s->up.b->data + s->up.scan + MYSQL_HEADER_SIZE;
    struct mysql_change_user cu;
    if (mysql_change_user_decode(p, len, s->caps, &cu) != HY_OK) {
        consume_packet(s, len);
        session_err(s, 1, SERR_BAD_CHANGE_USER);
        session_mark_closing(s, END_PROTOCOL);
        return;
    }
    change_user_clear_pending(s);
    s->pend_user = dup_bytes(cu.user, cu.user_len);
    s->pend_db = cu.db != NULL && cu.db_len > 0 ? dup_bytes(cu.db, cu.db_len) : NULL;
    if (cu.attrs != NULL && cu.attrs_len > 0) {
        s->pend_attrs = (uint8_t *)dup_bytes(cu.attrs, cu.attrs_len);
        s->pend_attrs_len = cu.attrs_len;
    }
    s->pend_charset = cu.charset;
    s->changing_user = true;
    stat_inc(&s->w->stats.commands);
    bool switch_needed = !plugin_is_native(cu.plugin, cu.plugin_len) ||
                         (cu.auth_len != 0 && cu.auth_len != MYSQL_SCRAMBLE_LEN);
    if (s->pend_user == NULL) {
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
    auth_check(s, s->pend_user, strlen(s->pend_user), auth, auth_len, 0);
}

/* A request over max_packet_size: answered as the server answers one over
 * max_allowed_packet, and the connection closed (what follows of the
 * packet cannot be told from a command). */
static void packet_too_large(struct session *s, uint8_t seq)
{
    slog_info(s, "request larger than max_packet_size (%d bytes)", s->cfg->max_packet_size);
    session_err(s, (uint8_t)(seq + 1), SERR_PACKET_TOO_LARGE);
    session_mark_closing(s, END_PACKET_TOO_LARGE);
}

/* Take the next command from `up`, if a whole one is there. */
/* ---- reload --------------------------------------------------------------
 * A reload gives the worker a new config (w->session_cfg). A session moves
 * to it between statements, when nothing it holds depends on the old one:
 * idle, no transaction open (on the primary or a read-only one on a
 * replica), and, when it has state only the primary holds (pinned), the
 * same primary server in both. Its backend connections are carried over by
 * backend name (same address and port), with the prepared statements they
 * hold (ps_remap_*); connections to backends the new config no longer has
 * (or has elsewhere) are closed, and a connection opened later is brought up
 * to the session state and prepares statements as usual. Until
 * it can move, a session keeps its config, and so its connections to
 * removed backends: they drain as its transaction ends.
 */

/* Index in `cfg` of the backend that is the same server as `be`, or -1. */
int backend_match(const struct config *cfg, const struct config_backend *be)
{
    for (size_t i = 0; i < cfg->n_backends; i++) {
        const struct config_backend *x = &cfg->backends[i];
        if (strcmp(x->name, be->name) == 0 && strcmp(x->address, be->address) == 0 &&
            x->port == be->port)
            return (int)i;
    }
    return -1;
}

static bool session_may_switch(const struct session *s, const struct config *to)
{
    if ((s->status & SERVER_STATUS_IN_TRANS) || s->ro_idx >= 0 || s->internal != INT_NONE ||
        s->changing_user)
        return false;
    if (s->pinned) {
        int j = backend_match(to, &s->cfg->backends[s->primary]);
        if (j < 0 || to->backends[j].role != ROLE_PRIMARY)
            return false;
    }
    return true;
}

/* The view (group.h) of the group a session of `listener` (of config
 * `lcfg`) uses in `full`: the group of the listener of that name in
 * `full`, else the group of the same name; NULL when `full` has neither. */
static struct config *session_group_cfg(struct config *full, const struct config *lcfg,
                                        const struct config_listener *listener)
{
    for (size_t i = 0; i < full->n_listeners; i++) {
        if (strcmp(full->listeners[i].name, listener->name) == 0)
            return group_view(full, full->listeners[i].group);
    }
    const struct config *lroot = config_root_c(lcfg);
    int g = listener->group < lroot->n_groups
                ? group_find(full, lroot->groups[listener->group].name)
                : -1;
    return g >= 0 ? group_view(full, (size_t)g) : NULL;
}

static void session_config_switch(struct session *s)
{
    struct config *to = session_group_cfg(s->w->session_cfg, s->lcfg, s->listener);
    if (to == NULL) {
        /* Its group was removed: the transaction under way finished, the
         * session ends (group.h, README "Groups"). */
        if (session_may_switch(s, s->cfg)) {
            char msg[160];
            snprintf(msg, sizeof(msg), "Group %s was removed by a reload: reconnect",
                     group_of(s->cfg)->name);
            slog_warn(s, "its group %s was removed by a reload: closing", group_of(s->cfg)->name);
            /* Read by the client as the answer to its next command (as
             * the idle timeout's). */
            session_err(s, 1, SERR_NO_BACKEND, msg);
            session_mark_closing(s, END_GROUP_REMOVED);
        }
        return;
    }
    if (!session_may_switch(s, to))
        return;
    struct bconn **nbc = calloc(to->n_backends, sizeof(*nbc));
    struct ps_backend **nbe = ps_remap_alloc(s, to->n_backends);
    if (nbc == NULL || (nbe == NULL && s->ps.count > 0) ||
        session_pool_resize(s, to->n_backends) != HY_OK) {
        free(nbc);
        free(nbe);
        return; /* try again at the next statement */
    }
    int last = backend_match(to, &s->cfg->backends[s->last_idx]);
    int diag = backend_match(to, &s->cfg->backends[s->diag_idx]);
    for (uint32_t i = 0; i < s->n_bc; i++) {
        struct bconn *bc = s->bc[i];
        if (bc == NULL)
            continue;
        int j = backend_match(to, bc->be);
        /* A connection made under another TLS mode is made again, unless
         * it holds state only the primary has. */
        if (j < 0 || (to->backends[j].tls != bc->be->tls && !(s->pinned && i == s->primary))) {
            slog_debug(s, "reload: closing the connection to %s", bc->be->name);
            bconn_close(bc);
            continue;
        }
        nbc[j] = bc;
        bc->idx = (uint16_t)j;
        bc->be = &to->backends[j];
    }
    free(s->bc);
    s->bc = nbc;
    s->n_bc = (uint16_t)to->n_backends;
    s->topo_gen = backend_generation();
    s->primary = primary_now(to);
    ps_remap_apply(s, nbe, to);
    s->last_idx = last >= 0 ? (uint16_t)last : s->primary;
    s->diag_idx = diag >= 0 ? (uint16_t)diag : s->primary;
    s->block_rule = NULL;
    /* The listener may be gone from the new config: then keep the old one. */
    for (size_t i = 0; i < to->n_listeners; i++) {
        if (strcmp(to->listeners[i].name, s->listener->name) == 0) {
            s->listener = &to->listeners[i];
            config_put(s->lcfg);
            s->lcfg = config_get(to);
            break;
        }
    }
    if (s->user != NULL && s->cu != &s->acct_cur) { /* a server account stays the session's */
        const struct config_user *u = config_find_user(to, s->user, strlen(s->user));
        s->cu = u; /* a user gone from the config keeps its session, unchecked */
        if (u != NULL)
            s->consistency = u->consistency != CONSISTENCY_DEFAULT ? u->consistency
                             : s->listener->consistency != CONSISTENCY_DEFAULT
                                 ? s->listener->consistency
                                 : to->consistency;
    }
    config_put(s->cfg);
    s->cfg = config_get(to);
    session_publish_backend(s);
}

void session_config_changed(struct session *s)
{
    if (config_root(s->cfg) != s->w->session_cfg && s->state == SS_IDLE && s->wait_idx < 0) {
        session_config_switch(s);
        if (s->state == SS_CLOSING)
            session_reap(s);
    }
}

/* ---- waiting for a primary ---------------------------------------------------
 * A write (a statement for the primary, outside a transaction) that finds
 * no usable primary waits for one instead of failing, when one can be
 * expected soon: failover = auto (the primary is DOWN and being replaced),
 * cluster = galera (the next Synced node is the writer at once), or a switchover or failover
 * command under way (backend_failover_busy). So does one whose connection to the primary is refused
 * before the monitor has marked it DOWN. It polls every PRIMARY_WAIT_POLL seconds, at most
 * failover_write_wait_ms from the statement's arrival, then goes to the
 * primary the monitor publishes (session_follow_primary), or fails as
 * before. The statement stays in `up`, routed once (s->wait_idx). */
#define PRIMARY_WAIT_POLL 0.02

static bool primary_wait_start(struct session *s)
{
    if (s->cfg->failover_write_wait_ms <= 0 || ev_is_active(&s->primary_wait) ||
        s->state != SS_IDLE || session_in_trans(s) || s->ro_idx >= 0)
        return false;
    /* On Galera the next node takes writes as soon as one is Synced. */
    if (!s->cfg->failover_auto && s->cfg->cluster != CLUSTER_GALERA && !backend_failover_busy())
        return false;
    double now = ev_now(s->w->loop);
    if (s->primary_wait_until == 0)
        s->primary_wait_until = now + s->cfg->failover_write_wait_ms / 1000.0;
    else if (now >= s->primary_wait_until)
        return false;
    slog_info(s, "no usable primary: the statement waits up to %d ms for one",
              s->cfg->failover_write_wait_ms);
    s->wait_idx = (int)s->primary;
    session_set_state(s, SS_WAIT_BACKEND);
    ev_io_stop(s->w->loop, &s->client.rio);
    ev_timer_set(&s->primary_wait, PRIMARY_WAIT_POLL, PRIMARY_WAIT_POLL);
    ev_timer_start(s->w->loop, &s->primary_wait);
    return true;
}

static void primary_wait_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct session *s = container_of(w, struct session, primary_wait);
    if (s->state != SS_WAIT_BACKEND) {
        ev_timer_stop(loop, w);
        return;
    }
    /* After a refused connect, the same primary is tried again only once
     * something changed (it went DOWN, another one was promoted). */
    uint64_t gen = backend_generation();
    bool ready = gen != s->primary_fail_gen && backend_primary_index(s->cfg) >= 0;
    if (!ready && ev_now(loop) < s->primary_wait_until)
        return; /* the timer repeats */
    ev_timer_stop(loop, w);
    s->primary_fail_gen = UINT64_MAX;
    session_set_state(s, SS_IDLE);
    if (ready) {
        session_follow_primary(s);
        if (s->state == SS_CLOSING) {
            session_reap(s);
            return;
        }
        slog_info(s, "primary %s usable: the statement goes on", s->cfg->backends[s->primary].name);
        s->wait_idx = (int)s->primary;
    } else {
        slog_warn(s, "no usable primary within failover_write_wait_ms (%d ms)",
                  s->cfg->failover_write_wait_ms);
        struct stream *st = &s->up;
        uint32_t len = mysql_hdr_len(st->b->data + st->scan);
        command_abandon(s);
        if (len + MYSQL_HEADER_SIZE > stream_unparsed(st))
            session_mark_closing(s, END_BACKEND_LOST);
        else
            consume_packet(s, len);
        char note[400];
        backend_failover_note(note, sizeof(note));
        session_err(s, 1, SERR_NO_PRIMARY_IN_TIME, s->cfg->failover_write_wait_ms,
                    note[0] != '\0' ? ": " : "", note);
    }
    if (s->state == SS_IDLE)
        session_next_command(s);
    session_reap(s);
}

/* Connecting to the primary failed for a statement routed there outside a
 * transaction: wait for the primary to be usable again or replaced (true),
 * or fail it as before (false). */
static bool primary_retry(struct session *s, const struct config_backend *be)
{
    if (s->state != SS_WAIT_BACKEND || s->wait_idx != (int)s->primary || s->cur != NULL ||
        be != &s->cfg->backends[s->primary])
        return false;
    session_set_state(s, SS_IDLE);
    if (primary_wait_start(s)) {
        s->primary_fail_gen = backend_generation();
        return true;
    }
    session_set_state(s, SS_WAIT_BACKEND);
    return false;
}

/* Keep the first bytes of the statement a command runs, for `show
 * sessions` (session_describe): a COM_QUERY's or COM_STMT_PREPARE's text,
 * an EXECUTE's prepared statement. `avail` bytes of the payload are there. */
static void session_note_statement(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t avail)
{
    const char *text = NULL;
    size_t len = 0;
    if ((cmd == COM_QUERY || cmd == COM_STMT_PREPARE) && avail > 1) {
        text = (const char *)p + 1;
        len = avail - 1;
    } else if (cmd == COM_STMT_EXECUTE && avail >= 5) {
        const struct pstmt *ps = pstmt_find(&s->ps, mysql_stmt_id_get(p));
        if (ps != NULL && ps->sql != NULL) {
            text = ps->sql;
            len = ps->sql_len;
        }
    }
    s->stmt_len = (uint8_t)HY_MIN(len, sizeof(s->stmt));
    if (s->stmt_len > 0)
        memcpy(s->stmt, text, s->stmt_len);
}

void session_describe(const struct session *s, struct session_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = s->id;
    snprintf(r->user, sizeof(r->user), "%s", s->user != NULL ? s->user : "");
    snprintf(r->client, sizeof(r->client), "%s", s->peer);
    snprintf(r->via, sizeof(r->via), "%s", s->via);
    const char *schema = session_schema(s);
    snprintf(r->schema, sizeof(r->schema), "%s", schema != NULL ? schema : "");
    if (s->cur != NULL) {
        snprintf(r->backend, sizeof(r->backend), "%s", s->cur->be->name);
        r->thread = s->cur->login.thread_id;
    }
    r->state = session_state_to_str(s->state);
    r->command = s->state == SS_COMMAND ? mysql_com_name(s->cmd) : NULL;
    /* Runs in the session's worker (worker_call): its loop's cached time. */
    r->command_age_ms =
        s->state == SS_COMMAND ? (int64_t)((ev_now(s->w->loop) - s->cmd_started) * 1000.0) : -1;
    r->statements = s->ps.count;
    session_pool_holds(s, r->holds, sizeof(r->holds));
    bool busy = s->state == SS_COMMAND || s->state == SS_WAIT_BACKEND;
    if (!busy || s->stmt_len == 0)
        return;
    if (may_hold_secret(s->stmt, s->stmt_len, s->lex_opts)) {
        /* As the query log does: no password, the digest stands for it. */
        (void)classify_digest(s->stmt, s->stmt_len, s->lex_opts, r->statement, sizeof(r->statement),
                              NULL);
    } else {
        memcpy(r->statement, s->stmt, s->stmt_len);
        r->statement[s->stmt_len] = '\0';
    }
}

void session_next_command(struct session *s)
{
    struct stream *st = &s->up;
    for (;;) {
        if ((s->state != SS_IDLE && s->state != SS_WAIT_BACKEND) || s->login_delayed ||
            s->users_wait)
            return;
        if (!request_skip_progress(s)) {
            update_reads(s);
            return;
        }
        if (config_root(s->cfg) != s->w->session_cfg && s->state == SS_IDLE && s->wait_idx < 0) {
            session_config_switch(s);
            if (s->state == SS_CLOSING)
                return; /* its group was removed: reaped as the callback ends */
        }
        if (st->b == NULL || stream_unparsed(st) < MYSQL_HEADER_SIZE) {
            if (st->b != NULL && st->head == st->scan)
                stream_release_if_empty(st, &s->w->pool);
            if (session_pool_release(s))
                return; /* LAST_INSERT_ID() is read back first */
            if (s->state == SS_IDLE)
                state_idle(s);
            update_reads(s);
            return;
        }
        const uint8_t *h = st->b->data + st->scan;
        uint32_t len = mysql_hdr_len(h);
        uint8_t seq = mysql_hdr_seq(h);
        if (len > (uint32_t)s->cfg->max_packet_size) {
            packet_too_large(s, seq);
            return;
        }
        /* Commands we look into must be whole in the buffer; larger ones
         * (a 20 MiB INSERT) are passed through as they arrive. */
        bool fits = len + MYSQL_HEADER_SIZE <= st->b->cap;
        uint32_t need = fits ? len : HY_MIN(len, 8u);
        if (stream_unparsed(st) < MYSQL_HEADER_SIZE + need) {
            update_reads(s);
            return;
        }
        const uint8_t *p = h + MYSQL_HEADER_SIZE;
        if (seq != 0) {
            slog_info(s, "command packet with sequence id %u", seq);
            session_err(s, seq + 1, SERR_PACKETS_OUT_OF_ORDER);
            session_mark_closing(s, END_PROTOCOL);
            return;
        }
        if (len == 0) {
            consume_packet(s, len);
            slog_info(s, "empty command packet");
            session_err(s, 1, SERR_UNKNOWN_COMMAND);
            continue;
        }
        s->last_seq = seq;
        uint8_t cmd = p[0];
        switch (cmd) {
        case COM_QUIT:
            consume_packet(s, len);
            session_mark_closing(s, END_CLIENT_QUIT);
            return;
        case COM_CHANGE_USER:
            if (!fits) {
                session_err(s, 1, SERR_CHANGE_USER_TOO_LARGE);
                session_mark_closing(s, END_PROTOCOL);
                return;
            }
            command_change_user(s, len);
            return;
        case COM_RESET_CONNECTION:
            /* A fresh session everywhere: other backends reconnect when needed. */
            POOL_COUNT(s, &s->cfg->backends[s->primary], resets);
            state_clear(s);
            session_pool_reset(s);
            s->pinned = false;
            for (uint32_t i = 0; i < s->n_bc; i++) {
                if (s->bc[i] != NULL && i != s->primary)
                    bconn_close(s->bc[i]);
            }
            s->status = SERVER_STATUS_AUTOCOMMIT;
            s->ro_idx = -1;
            ps_clear(s); /* the server drops them all */
            /* fall through */
        case COM_PING:
            if (s->bc[s->primary] == NULL) {
                /* No backend session yet: nothing to ping or to reset. */
                consume_packet(s, len);
                stat_inc(&s->w->stats.commands);
                send_ok(s, 1);
                continue;
            }
            break;
        case COM_PROCESS_KILL:
            if (len >= 5) {
                uint32_t id = (uint32_t)p[1] | (uint32_t)p[2] << 8 | (uint32_t)p[3] << 16 |
                              (uint32_t)p[4] << 24;
                command_kill(s, len, id, false, "", true);
                return;
            }
            break;
        case COM_QUERY:
            if (fits && len >= 5 && (p[1] == 'K' || p[1] == 'k' || !isalpha(p[1]))) {
                uint32_t id;
                const char *mod;
                bool query;
                if (parse_kill((const char *)p + 1, len - 1, &id, &mod, &query)) {
                    command_kill(s, len, id, query, mod, false);
                    return;
                }
            }
            break;
        case COM_STMT_PREPARE:
            if (s->wait_idx < 0 && s->ps.count >= (uint32_t)s->cfg->max_prepared_statements) {
                ps_refuse(s, len, ER_MAX_PREPARED_STMT_COUNT, "42000",
                          "Can't create more than max_prepared_stmt_count statements "
                          "(current value: %d)",
                          s->cfg->max_prepared_statements);
                continue;
            }
            break;
        case COM_STMT_EXECUTE:
            if (!ps_execute(s, st->b->data + st->scan + MYSQL_HEADER_SIZE, len,
                            HY_MIN(len, stream_unparsed(st) - MYSQL_HEADER_SIZE)))
                return;
            continue;
        case COM_STMT_SEND_LONG_DATA:
            if (!ps_long_data(s, st->b->data + st->scan + MYSQL_HEADER_SIZE, len))
                return;
            continue;
        case COM_STMT_FETCH:
            if (!ps_fetch(s, st->b->data + st->scan + MYSQL_HEADER_SIZE, len))
                return;
            continue;
        case COM_STMT_RESET:
            if (!ps_reset(s, st->b->data + st->scan + MYSQL_HEADER_SIZE, len))
                return;
            continue;
        case COM_STMT_CLOSE:
            ps_close(s, p, len);
            continue;
        case COM_STMT_BULK_EXECUTE:
            if (!ps_bulk_execute(s, st->b->data + st->scan + MYSQL_HEADER_SIZE, len,
                                 HY_MIN(len, stream_unparsed(st) - MYSQL_HEADER_SIZE)))
                return;
            continue;
        case COM_BINLOG_DUMP:
        case COM_BINLOG_DUMP_GTID:
        case COM_REGISTER_SLAVE:
        case COM_TABLE_DUMP:
            /* A replica must talk to its source itself. (Obsolete commands
             * such as COM_TIME are forwarded: the server answers them.) */
            if (!fits) {
                session_mark_closing(s, END_PROTOCOL);
                return;
            }
            consume_packet(s, len);
            slog_info(s, "refused %s: replication is not proxied", mysql_com_name(cmd));
            session_err(s, 1, SERR_NOT_FORWARDED, mysql_com_name(cmd));
            continue;
        default:
            break;
        }
        uint32_t idx;
        char why[160] = "";
        bool primary_write = false;
        if (s->wait_idx >= 0) {
            idx = (uint32_t)s->wait_idx;
        } else {
            session_follow_primary(s);
            if (s->state == SS_CLOSING)
                return;
            if (s->trx_lost[0] != '\0' && fits &&
                (cmd == COM_QUERY || cmd == COM_STMT_EXECUTE || cmd == COM_STMT_PREPARE)) {
                /* The transaction died with its backend while the client was
                 * away: tell it now; a ROLLBACK is what it would have done. */
                const char *q = (const char *)p + 1, *qend = (const char *)p + len;
                q = skip_space_comments(q, qend);
                bool rollback = cmd == COM_QUERY && match_word(&q, qend, "ROLLBACK");
                consume_packet(s, len);
                if (rollback)
                    send_ok(s, 1);
                else
                    session_err(s, 1, SERR_TRX_LOST, s->trx_lost);
                s->trx_lost[0] = '\0';
                continue;
            }
            session_note_statement(s, cmd, p, HY_MIN(len, stream_unparsed(st) - MYSQL_HEADER_SIZE));
            s->primary_wait_until = 0; /* a new statement gets the whole wait */
            idx = route(s, cmd, p, len, HY_MIN(len, stream_unparsed(st) - MYSQL_HEADER_SIZE));
            if (s->state == SS_CLOSING)
                return;
            primary_write = idx == s->primary && !session_in_trans(s) && s->ro_idx < 0;
            if (idx < s->n_bc)
                idx = route_health(s, idx, why, sizeof(why));
            if (idx < s->n_bc && idx != s->primary && cmd == COM_QUERY && fits &&
                !session_in_trans(s) && s->ro_idx < 0 && !s->retried)
                retry_keep(s, h, MYSQL_HEADER_SIZE + len);
            else if (!s->retried)
                s->retry_ok = false;
        }
        if (idx == ROUTE_NOBODY) {
            if (primary_write && fits && primary_wait_start(s))
                return;
            if (!fits) {
                session_mark_closing(s, END_PROTOCOL);
                return;
            }
            consume_packet(s, len);
            command_abandon(s);
            session_err(s, 1, SERR_NO_BACKEND, why);
            continue;
        }
        if (idx == ROUTE_BLOCK) {
            const struct config_rule *rule = s->block_rule;
            if (!fits) {
                session_mark_closing(s, END_PROTOCOL);
                return;
            }
            char digest[20];
            snprintf(digest, sizeof(digest), "%016" PRIx64, s->digest_hash);
            bool have_digest = s->digest_pending;
            consume_packet(s, len);
            command_abandon(s);
            log_audit("session %u %s@%s: statement blocked by rule '%s'", s->id, s->user, s->peer,
                      rule->name);
            audit_block(s->id, s->user, s->peer, rule->name, have_digest ? digest : NULL);
            session_err_custom(s, 1, (uint16_t)rule->error_code, rule->error_sqlstate,
                               rule->error_message);
            continue;
        }
        if (idx == ROUTE_FIREWALL) {
            if (!fits) {
                session_mark_closing(s, END_PROTOCOL);
                return;
            }
            consume_packet(s, len);
            command_abandon(s);
            char digest[20];
            snprintf(digest, sizeof(digest), "%016" PRIx64, s->fw_hash);
            log_audit("session %u %s@%s: %s blocked by the firewall: digest %s not in the user's "
                      "firewall_allow",
                      s->id, s->user, s->peer, mysql_com_name(cmd), digest);
            audit_block(s->id, s->user, s->peer, "firewall", digest);
            session_err(s, 1, SERR_FIREWALL, s->user);
            continue;
        }
        if (idx == ROUTE_REFUSE || idx == ROUTE_RO_WRITE) {
            if (!fits) {
                session_mark_closing(s, END_PROTOCOL);
                return;
            }
            consume_packet(s, len);
            command_abandon(s);
            if (idx == ROUTE_RO_WRITE)
                session_err(s, 1, SERR_READ_ONLY_TRX);
            else
                session_err(s, 1, SERR_NO_REPLICA);
            continue;
        }
        s->wait_idx = (int)idx;
        if (s->causal_check && idx != s->primary && !causal_ready(s, idx))
            return;
        s->causal_check = false;
        if (!ensure_backend(s, idx))
            return;
        uint8_t exec_flags = (cmd == COM_STMT_EXECUTE && len >= 6) ? p[5] : 0;
        s->set_option = (cmd == COM_SET_OPTION && len >= 3) ? (int)(p[1] | p[2] << 8) : -1;
        if (s->connid.n > 0 && (cmd == COM_QUERY || cmd == COM_STMT_PREPARE) && fits)
            command_forward_connid(s, cmd, p, len);
        else
            command_forward(s, cmd, len, exec_flags);
        return;
    }
}

/* ---- backend events ---------------------------------------------------- */

static void session_backend_ready(struct session *s)
{
    struct bconn *bc = s->cur;
    session_timer_stop(s);
    ev_io_start(s->w->loop, &bc->c.rio);
    slog_debug(s, "backend %s ready, thread %u", bc->be->name, bc->login.thread_id);
    if (s->state == SS_LOGIN_BACKEND) {
        session_publish_backend(s);
        session_login_ok(s, (uint8_t)(s->last_seq + 1));
        return;
    }
    if (s->state != SS_WAIT_BACKEND)
        return;
    /* The waiting command is routed again: ensure_backend() brings the
     * session state here, after a causal wait if there is one. */
    session_set_state(s, SS_IDLE);
    session_next_command(s);
}

/* Where a command waiting for backend `be` goes when that backend fails:
 * a replica's work goes to another replica once, then to the primary
 * (true); the primary's fails. The bound matters: a session state that
 * every replica refuses (a schema only the primary has) would otherwise
 * bounce between two replicas for ever. */
static bool session_fall_back(struct session *s, const struct config_backend *be)
{
    if (s->wait_idx < 0 || s->state != SS_WAIT_BACKEND)
        return false;
    struct route_in in;
    struct route_out out;
    if (!route_view(s, ROUTE_FALL_BACK, &in))
        return false;
    in.target = (uint32_t)s->wait_idx;
    session_decide(&in, &out);
    if (out.verdict != ROUTE_GO)
        return false;
    uint32_t j = out.target;
    slog_warn(s, "sending the statement meant for %s to %s instead", be->name,
              s->cfg->backends[j].name);
    s->wait_idx = (int)j;
    s->fell_back = true;
    /* The causal wait ran on the backend that failed, not on this one: a
     * replica waits again (it may not have the session's writes yet). */
    s->causal_check = j != s->primary && s->consistency == CONSISTENCY_CAUSAL;
    s->ro_idx = -1;
    session_set_state(s, SS_IDLE);
    session_next_command(s);
    return true;
}

static void session_backend_failed_copied(struct session *s, const struct config_backend *be,
                                          const uint8_t *err_payload, size_t err_len,
                                          const char *why);

/* s->cur could not be opened, refused our login, or refused the session
 * state. `err_payload` is the backend's ERR (forwarded as is) or NULL (we
 * answer 1429). */
void session_backend_failed(struct session *s, const uint8_t *err_payload, size_t err_len,
                            const char *why)
{
    const struct config_backend *be = s->cur->be;
    /* The ERR may live in the connection's buffer, which closing frees. */
    uint8_t *err_copy = NULL;
    if (err_payload != NULL) {
        err_copy = malloc(err_len);
        if (err_copy == NULL) {
            err_payload = NULL;
            why = "out of memory";
        } else {
            memcpy(err_copy, err_payload, err_len);
            err_payload = err_copy;
        }
    }
    session_backend_failed_copied(s, be, err_payload, err_len, why);
    free(err_copy);
}

static void session_backend_failed_copied(struct session *s, const struct config_backend *be,
                                          const uint8_t *err_payload, size_t err_len,
                                          const char *why)
{
    bool readback = s->internal == INT_READBACK;
    session_timer_stop(s);
    s->internal = INT_NONE;
    bconn_close(s->cur);
    stream_release(&s->down, &s->w->pool);
    if (err_payload == NULL) {
        stat_inc(&s->w->stats.backend_connect_failures);
        if (be->rt != NULL) {
            char what[200];
            snprintf(what, sizeof(what), "session %u: %s", s->id, why);
            backend_count_connect_failure(be->rt, s->w->id);
            backend_report_failure(be->rt, what);
        }
    }
    slog_warn(s, "backend %s (%s:%d): %s", be->name, be->address, be->port, why);
    if (readback) {
        /* No command waits; what the SET assigned is known only to the
         * connection that stopped answering: gone with it, as a pinned
         * session's state is. */
        session_mark_closing(s, END_BACKEND_LOST);
        return;
    }
    uint8_t seq = (uint8_t)(s->last_seq + 1);
    if (s->state == SS_LOGIN_BACKEND) {
        if (err_payload != NULL)
            send_err_payload(s, seq, err_payload, err_len);
        else
            session_err(s, seq, SERR_CANT_CONNECT, be->name, be->address, be->port, why);
        session_mark_closing(s, err_payload != NULL ? END_BACKEND_LOGIN : END_BACKEND_LOST);
        return;
    }
    if (s->state != SS_WAIT_BACKEND)
        return;
    if (session_fall_back(s, be))
        return;
    if (err_payload == NULL && primary_retry(s, be))
        return;
    /* Answer the waiting command with an error and drop it. */
    command_abandon(s);
    session_set_state(s, SS_IDLE);
    struct stream *st = &s->up;
    uint32_t len = mysql_hdr_len(st->b->data + st->scan);
    if (len + MYSQL_HEADER_SIZE > stream_unparsed(st)) {
        /* the rest of a huge command is still coming: give up the session */
        session_mark_closing(s, END_BACKEND_LOST);
    } else {
        consume_packet(s, len);
    }
    if (err_payload != NULL)
        send_err_payload(s, 1, err_payload, err_len);
    else
        session_err(s, 1, SERR_CANT_CONNECT, be->name, be->address, be->port, why);
    if (s->state == SS_IDLE)
        session_next_command(s);
}

/* Put the command kept by retry_keep back in front of `up`, to be routed
 * again. False when there is no room for it. */
static bool retry_unread(struct session *s)
{
    struct stream *st = &s->up;
    if (st->b != NULL && st->head != st->scan)
        return false; /* request bytes not flushed yet: cannot happen once answered */
    if (stream_reserve(st, &s->w->pool) != HY_OK)
        return false;
    stream_compact(st);
    if (st->tail + s->retry_len > st->b->cap)
        return false;
    memmove(st->b->data + s->retry_len, st->b->data, st->tail);
    memcpy(st->b->data, s->retry_pkt, s->retry_len);
    st->tail += s->retry_len;
    st->scan = st->head = 0;
    return true;
}

/* An autocommit read whose replica died before answering anything runs
 * again, once, on another replica or the primary: the client never knows. */
static bool session_retry(struct session *s, struct bconn *bc)
{
    if (!s->retry_ok || s->retried || s->down_sent || s->req_open || s->resp_done ||
        s->internal != INT_NONE || bc->idx == s->primary || !retry_unread(s))
        return false;
    slog_info(s, "backend %s died before answering: running the read again elsewhere",
              bc->be->name);
    query_end(s, true);
    s->retried = true;
    s->retry_exclude = bc->idx;
    bconn_close(bc);
    stream_release(&s->down, &s->w->pool);
    s->digest_pending = false;
    s->qlog_pending = false;
    session_set_state(s, SS_IDLE);
    session_next_command(s);
    return true;
}

/* Backend connection `bc` broke or closed. The statement in flight there,
 * if any, fails (an autocommit read is retried elsewhere first). The
 * session goes on with a new connection at its next statement, unless the
 * primary held state that cannot be rebuilt elsewhere (pinned: temporary
 * tables, locks...): then it ends, as a direct connection would. A
 * transaction open there is lost: the client is told with this statement's
 * ERR, or at its next statement. */
static void session_backend_lost(struct session *s, struct bconn *bc, const char *why)
{
    const struct config_backend *be = bc->be;
    bool in_flight = bc == s->cur && s->state == SS_COMMAND;
    bool trx = (bc->idx == s->primary && session_in_trans(s)) || s->ro_idx == (int)bc->idx;
    slog_warn(s, "backend %s: %s (%s)", be->name, why, session_state_to_str(s->state));
    if (registry_kill_requested(&s->reg)) {
        /* KILL CONNECTION through halyard: the session ends with it (and
         * the backend is not to blame). */
        bconn_close(bc);
        if (in_flight)
            session_err(s, (uint8_t)(s->rdown.seq + 1), SERR_KILLED);
        session_mark_closing(s, END_KILLED);
        return;
    }
    if (be->rt != NULL) {
        char what[200];
        snprintf(what, sizeof(what), "session %u: %s", s->id, why);
        backend_report_failure(be->rt, what);
    }
    if (in_flight && session_retry(s, bc))
        return;
    if (s->ro_idx == (int)bc->idx)
        s->ro_idx = -1; /* its read-only transaction is gone with it */
    /* State only that connection had (temporary tables, locks, user
     * variables a CALL set): gone with it, so the session ends as it would
     * on the server, rather than go on without it. */
    bool keep = !(bc->idx == s->primary && (s->pinned || s->uvars_opaque)) &&
                !(s->internal != INT_NONE && bc == s->cur);
    if (bc->idx == s->primary && keep)
        s->status &= (uint16_t)~SERVER_STATUS_IN_TRANS;
    if (in_flight && !s->resp_done && !s->req_open && s->rdown.left == 0 && !s->rdown.cont &&
        (s->down.b == NULL || stream_empty(&s->down))) {
        /* At a packet boundary the client can still be told why; the ERR
         * takes the sequence id after the last packet it was sent. */
        query_end(s, true);
        session_err(s, (uint8_t)(s->rdown.seq + 1), SERR_BACKEND_LOST, be->name,
                    trx ? "the transaction; it was rolled back" : "query");
        if (keep) {
            bconn_close(bc);
            s->resp_done = true;
            down_forward(s); /* finishes the command once the ERR is out */
            return;
        }
    } else if (!in_flight && keep) {
        if (trx)
            snprintf(s->trx_lost, sizeof(s->trx_lost), "%s", be->name);
        bconn_close(bc);
        return;
    }
    bconn_close(bc);
    session_mark_closing(s, END_BACKEND_LOST);
}

/* The first column of the first row of an internal query's answer. */
static void capture_value(struct session *s, const uint8_t *p, uint32_t len)
{
    struct mysql_rd rd;
    mysql_rd_init(&rd, p, len);
    if (len > 0 && p[0] == 0xfb)
        return; /* NULL */
    size_t n = 0;
    const uint8_t *v = mysql_rd_lenenc_str(&rd, &n);
    if (rd.bad || n >= sizeof(s->capture))
        return;
    memcpy(s->capture, v, n);
    s->capture[n] = '\0';
    s->captured = true;
}

/* A GTID list as MariaDB prints it: digits, '-' and ','. Anything else is
 * not put into a query. */
static bool gtid_valid(const char *g)
{
    for (; *g != '\0'; g++) {
        if (!isdigit((unsigned char)*g) && *g != '-' && *g != ',')
            return false;
    }
    return true;
}

/* The answer to a command halyard ran itself (internal_query,
 * state_sync_next), read into `down`: nothing of it goes to the client. */
static void internal_progress(struct session *s)
{
    if (!down_parse(s))
        return;
    s->down.head = s->down.scan;
    stream_release_if_empty(&s->down, &s->w->pool);
    if (!s->resp_done)
        return;
    struct bconn *bc = s->cur;
    enum internal_op op = s->internal;
    s->internal = INT_NONE;
    s->resp_done = false;
    switch (op) {
    case INT_SYNC:
        if (s->resp.err_code != 0) {
            char why[96];
            snprintf(why, sizeof(why), "replaying session state failed with error %u",
                     s->resp.err_code);
            session_backend_failed(s, NULL, 0, why);
            return;
        }
        s->sync_i++;
        state_sync_next(s);
        return;
    case INT_READBACK:
        state_readback_end(s);
        break;
    case INT_GTID_FETCH:
        s->need_gtid = false;
        s->gtid_epoch++;
        s->gtid[0] = '\0';
        if (s->resp.err_code == 0 && s->captured && strlen(s->capture) < sizeof(s->gtid) &&
            gtid_valid(s->capture) &&
            (s->capture[0] != '\0' || s->cfg->cluster != CLUSTER_GALERA)) {
            memcpy(s->gtid, s->capture, strlen(s->capture) + 1);
            slog_debug(s, "primary GTID position: '%s'", s->gtid);
        } else {
            /* Without the position, only the primary is sure to have the write. */
            slog_warn(s, "cannot read the %s's GTID position (error %u): reading from it",
                      s->cfg->cluster == CLUSTER_GALERA ? "writer" : "primary", s->resp.err_code);
            s->wait_idx = (int)s->primary;
            s->causal_check = false;
        }
        break;
    case INT_GTID_WAIT:
        if (s->resp.err_code == 0 && s->captured &&
            strcmp(s->capture, s->cfg->cluster == CLUSTER_GALERA ? "1" : "0") == 0) {
            bc->gtid_epoch = s->gtid_epoch;
        } else {
            slog_debug(s, "replica %s has not applied %s within %d ms: reading from the primary",
                       bc->be->name, s->gtid, s->cfg->causal_timeout_ms);
            s->wait_idx = (int)s->primary;
            s->causal_check = false;
        }
        break;
    case INT_PS_USE:
        if (s->resp.err_code != 0) {
            ps_prepare_failed(s);
            break;
        }
        session_timer_stop(s);
        ps_use_done(s);
        return;
    case INT_PS_PREPARE:
        if (s->resp.err_code != 0) {
            ps_prepare_failed(s);
        } else {
            struct pstmt *ps = pstmt_find(&s->ps, s->ps_int_id);
            if (ps != NULL) {
                ps->be[bc->idx].id = s->resp.stmt_id;
                ps->be[bc->idx].types_gen = 0;
            }
        }
        break;
    case INT_LID:
        session_pool_lid_read(s, s->resp.err_code == 0 && s->captured, s->capture);
        break;
    case INT_PS_RESET: /* its answer does not matter: the last backend's goes to the client */
    case INT_NONE:
        break;
    }
    session_timer_stop(s);
    session_set_state(s, SS_IDLE);
    session_next_command(s);
}

/* s->cur's answer, or an idle connection speaking. */
static void backend_readable(struct session *s, struct bconn *bc)
{
    if (bc != s->cur) {
        /* An idle connection spoke: an ERR before a close (wait_timeout,
         * KILL, shutdown) or the close itself. */
        session_backend_lost(s, bc, "closed the connection");
        return;
    }
    enum relay_rc rr = relay_read(&s->down, &bc->c, &s->w->pool);
    if (rr == RELAY_AGAIN) {
        update_reads(s);
        return;
    }
    s->down_last = ev_now(s->w->loop);
    if (rr != RELAY_DONE) {
        if (s->internal != INT_NONE)
            session_backend_failed(s, NULL, 0, "closed the connection during an internal query");
        else
            session_backend_lost(s, bc,
                                 rr == RELAY_CLOSED ? "closed the connection" : strerror(errno));
        return;
    }
    if (s->internal != INT_NONE) {
        internal_progress(s);
        return;
    }
    if (s->state == SS_COMMAND && s->resp_done && state_readback_in_flight(s)) {
        down_forward(s); /* the read-back's answer, early: it waits in `down` */
        return;
    }
    if (s->state != SS_COMMAND || s->resp_done) {
        /* Nothing was asked: an ERR before a close (KILL, shutdown, timeout). */
        session_backend_lost(s, bc, "sent data while idle");
        return;
    }
    down_forward(s);
}

static void backend_writable(struct session *s, struct bconn *bc)
{
    hy_status_t rc = conn_flush_local(&bc->c, &s->w->pool);
    if (rc == HY_ERROR) {
        if (s->internal != INT_NONE && bc == s->cur)
            session_backend_failed(s, NULL, 0, strerror(errno));
        else
            session_backend_lost(s, bc, strerror(errno));
        return;
    }
    if (rc == HY_AGAIN)
        return;
    if (bc == s->cur && s->up.b != NULL && s->up.head < s->up.scan) {
        up_forward(s);
    } else {
        ev_io_stop(s->w->loop, &bc->c.wio);
        update_reads(s);
    }
}

/* What a backend connection reports (server.h). */
void session_server_event(struct bconn *bc, const struct server_report *r)
{
    struct session *s = bc->owner;
    switch (r->event) {
    case SERVER_READY:
        if (bc == s->cur)
            session_backend_ready(s);
        break;
    case SERVER_FAILED:
        if (bc == s->cur)
            session_backend_failed(s, r->err, r->err_len, r->why);
        else
            session_backend_lost(s, bc, r->why);
        break;
    case SERVER_READABLE:
        backend_readable(s, bc);
        break;
    case SERVER_WRITABLE:
        backend_writable(s, bc);
        break;
    }
    session_reap(s);
}

static void client_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct session *s = container_of(w, struct session, client.rio);
    enum relay_rc rr = relay_read(&s->up, &s->client, &s->w->pool);
    if (rr == RELAY_DONE)
        s->last_active = ev_now(loop);
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
        if (s->req_open)
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

static void client_write_cb(struct ev_loop *loop, ev_io *w, int revents)
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
    if (timeout <= 0 || s->cur == NULL || s->resp_done || s->resp_broken)
        return; /* a reload turned it off; or the answer is all here */
    bool client_side = s->req_open || s->infile || conn_has_local(&s->client) ||
                       (s->down.b != NULL && !stream_empty(&s->down));
    if (client_side)
        s->down_last = now;
    double left = s->down_last + timeout - now;
    if (left > 0) {
        ev_timer_set(&s->timer, left, 0.);
        ev_timer_start(s->w->loop, &s->timer);
        return;
    }
    char what[64];
    snprintf(what, sizeof(what), "sent nothing for %d ms", s->cfg->backend_read_timeout_ms);
    slog_warn(s, "backend %s %s answering %s (backend_read_timeout_ms): closing that connection",
              s->cur->be->name, what, mysql_com_name(s->cmd));
    if (s->rdown.left > 0 || s->rdown.cont) {
        session_mark_closing(s, END_BACKEND_LOST); /* in the middle of a packet */
        return;
    }
    if (answer_abandon(s, what, END_BACKEND_LOST))
        down_forward(s); /* the ERR goes out, and the command ends */
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct session *s = container_of(w, struct session, timer);
    if (s->login_delayed) {
        login_finish(s);
        session_reap(s);
        return;
    }
    if (s->users_wait) {
        users_wait_poll(s);
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
        if (s->changing_user) {
            session_mark_closing(s, END_LOGIN_TIMEOUT);
            break;
        }
        slog_info(s, "login not finished within %d ms", s->cfg->login_timeout_ms);
        session_mark_closing(s, END_LOGIN_TIMEOUT);
        break;
    case SS_LOGIN_BACKEND:
    case SS_WAIT_BACKEND:
        if (s->cur == NULL) { /* waiting for a connection at max_connections */
            if (s->state == SS_LOGIN_BACKEND) {
                slog_info(s, "login not finished within %d ms: no connection to the primary",
                          s->cfg->login_timeout_ms);
                session_err(s, (uint8_t)(s->last_seq + 1), SERR_TOO_MANY);
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
static void idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct session *s = container_of(w, struct session, idle);
    double timeout = s->cfg->client_idle_timeout_ms / 1e3;
    double now = ev_now(loop);
    if (timeout <= 0)
        return; /* a reload turned it off */
    bool idle = s->state == SS_IDLE && !s->login_delayed && !s->users_wait &&
                !conn_has_local(&s->client) && (s->up.b == NULL || stream_empty(&s->up));
    if (!idle)
        s->last_active = now; /* a command in flight is not idleness */
    double left = s->last_active + timeout - now;
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

/* ---- life cycle -------------------------------------------------------- */

static void session_free(struct session *s)
{
    struct worker *w = s->w;
    registry_remove(&s->reg);
    ev_timer_stop(w->loop, &s->timer);
    ev_timer_stop(w->loop, &s->idle);
    ev_timer_stop(w->loop, &s->primary_wait);
    session_pool_forget(s);
    if (s->user_counted)
        guard_user_leave(s->user);
    query_end(s, true);
    bconn_close_all(s);
    state_clear(s);
    varstate_destroy(s->vs);
    if (s->chg != NULL)
        free(s->chg->stmt);
    free(s->chg);
    ps_clear(s);
    free(s->bc);
    free(s->lent);
    conn_close(&s->client, w->loop, &w->pool);
    stream_release(&s->up, &w->pool);
    stream_release(&s->down, &w->pool);
    worker_session_remove(w, s);
    atomic_fetch_sub(&stats_sessions_open, 1);
    config_put(s->lcfg);
    if (s->lstats != NULL)
        atomic_fetch_sub_explicit(&s->lstats->open, 1, memory_order_relaxed);
    config_put(s->cfg);
    change_user_clear_pending(s);
    free(s->user);
    free(s->db);
    free(s->attrs);
    free(s->schema);
    free(s->pend_schema);
    free(s->qlog_text);
    free(s->retry_pkt);
    explicit_bzero(s->h1, sizeof(s->h1));
    explicit_bzero(s->pend_h1, sizeof(s->pend_h1));
    free(s->acct_pend.name);
    free(s->acct_cur.name);
    free(s->pend_acct);
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
    if (registry_kill_requested(&s->reg)) {
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

/* Send the greeting (or refuse the client: too many sessions, address
 * blocked); the client's address is known by now. */
void session_greet(struct session *s)
{
    const struct config *cfg = s->cfg;
    if (cfg->max_client_connections > 0 &&
        atomic_load(&stats_sessions_open) > (unsigned)cfg->max_client_connections) {
        session_err(s, 0, SERR_TOO_MANY);
        log_audit("session %u -@%s: connection refused: max_client_connections (%d) reached", s->id,
                  s->peer, cfg->max_client_connections);
        audit_login(false, s->id, "", s->peer, s->listener->name, "max_client_connections reached");
        session_mark_closing(s, END_TOO_MANY);
        return;
    }
    int64_t blocked_ms;
    if (guard_blocked(cfg, &s->client_addr, &blocked_ms)) {
        char host[64];
        client_host(s, host, sizeof(host));
        log_audit("session %u -@%s: connection refused: address blocked for %" PRId64
                  " ms more after failed logins",
                  s->id, s->peer, blocked_ms);
        audit_login(false, s->id, "", s->peer, s->listener->name,
                    "address blocked after failed logins");
        session_err(s, 0, SERR_HOST_BLOCKED, host, host);
        session_mark_closing(s, END_BLOCKED);
        return;
    }
    if (auth_random_scramble(s->scramble, sizeof(s->scramble)) != HY_OK) {
        session_mark_closing(s, END_NOMEM);
        return;
    }
    struct mysql_handshake hs = {0};
    hs.protocol = 10;
    hs.server_version = cfg->server_version;
    hs.server_version_len = strlen(cfg->server_version);
    hs.conn_id = s->id;
    memcpy(hs.scramble, s->scramble, sizeof(hs.scramble));
    hs.caps = (SERVER_CAPS & ~(uint32_t)CLIENT_MYSQL) | (cfg->tls_server != NULL ? CLIENT_SSL : 0);
    hs.ext_caps = SERVER_EXT_CAPS;
    hs.charset = 45; /* utf8mb4_general_ci */
    hs.status = SERVER_STATUS_AUTOCOMMIT;
    hs.plugin = cfg->default_sha2 ? SHA2_PLUGIN : NATIVE_PLUGIN;
    hs.plugin_len = strlen(hs.plugin);
    uint8_t pkt[MYSQL_HEADER_SIZE + 256];
    size_t n =
        mysql_handshake_encode(&hs, pkt + MYSQL_HEADER_SIZE, sizeof(pkt) - MYSQL_HEADER_SIZE);
    mysql_hdr_write(pkt, (uint32_t)n, 0);
    send_local(s, pkt, MYSQL_HEADER_SIZE + n);
    ev_io_start(s->w->loop, &s->client.rio);
    session_timer_start(s, cfg->login_timeout_ms);
}

/* Whether connections from `a` to `l` must start with a PROXY header. */
static bool proxy_expected(const struct config_listener *l, const struct rules_addr *a)
{
    for (size_t i = 0; i < l->proxy_protocol_from.n; i++) {
        if (rules_cidr_match(&l->proxy_from[i], a))
            return true;
    }
    return false;
}

void session_create(struct worker *w, int fd, const struct config_listener *listener)
{
    struct config *cfg = session_group_cfg(w->session_cfg, w->cfg, listener);
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
    s->lcfg = config_get(w->cfg);
    s->listener = listener;
    if ((s->lstats = stats_listener(listener->name)) != NULL) {
        atomic_fetch_add_explicit(&s->lstats->accepted, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->lstats->open, 1, memory_order_relaxed);
    }
    s->id = registry_new_id();
    s->reg.id = s->id;
    s->reg.loop = w->loop;
    s->reg.wakeup = &w->wakeup;
    s->reg.kill_pending = &w->kill_pending;
    s->state = SS_HANDSHAKE;
    conn_init(&s->client, fd);
    s->n_bc = (uint16_t)cfg->n_backends;
    s->topo_gen = backend_generation();
    s->primary = primary_now(cfg);
    s->primary_fail_gen = UINT64_MAX;
    s->retry_exclude = -1;
    s->wait_idx = -1;
    s->ro_idx = -1;
    s->ps_step = -1;
    s->set_option = -1;
    s->status = SERVER_STATUS_AUTOCOMMIT;
    s->bc = calloc(cfg->n_backends, sizeof(*s->bc));
    if (s->bc == NULL || session_pool_resize(s, cfg->n_backends) != HY_OK)
        s->n_bc = 0;
    ev_io_init(&s->client.rio, client_read_cb, fd, EV_READ);
    ev_io_init(&s->client.wio, client_write_cb, fd, EV_WRITE);
    ev_timer_init(&s->timer, timer_cb, 0., 0.);
    ev_timer_init(&s->idle, idle_cb, 0., 0.);
    session_pool_init(s);
    ev_timer_init(&s->primary_wait, primary_wait_cb, 0., 0.);
    net_peer_name(fd, s->peer, sizeof(s->peer));
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &sslen) == 0)
        rules_addr_from_sockaddr((struct sockaddr *)&ss, &s->client_addr);
    worker_session_add(w, s);
    stat_inc(&w->stats.sessions_accepted);
    registry_add(&s->reg);

    if (s->bc == NULL) {
        session_close(s, END_NOMEM);
        return;
    }
    if (proxy_expected(listener, &s->client_addr)) {
        /* The balancer speaks first: its header, then our greeting. */
        s->state = SS_PROXY_HEADER;
        ev_io_start(w->loop, &s->client.rio);
        session_timer_start(s, cfg->connect_timeout_ms);
        return;
    }
    session_greet(s);
    session_reap(s);
}
