/*
 * admin_sql.c: the SQL admin port (admin_sql.h): its listener, the login
 * and the command phase of the MySQL protocol, on the main thread's loop.
 *
 * Design
 * ------
 * A connection is greeted, logs in with mysql_native_password (an
 * AuthSwitch first when the client offered another plugin), then reads one
 * packet at a time. A COM_QUERY is planned by admin_sql_plan
 * (admin_sql_stmt.c); a command of the admin table goes to the
 * connection's inner admin connection (admin.c), which runs it exactly as
 * the admin socket would, jobs, switchovers and drains included, and hands
 * the answer back to answer_cb; a JSON answer becomes a result set
 * (admin_sql_result, admin_sql_rs.c), an "OK ..." line an OK packet with
 * that line as its info, an "ERR ..." line an ERR packet.
 *
 * TLS: with tls_cert set the greeting offers CLIENT_SSL; an SSLRequest
 * turns the connection to TLS (a non-blocking SSL_accept on the client
 * listener's context, ASQL_TLS), and the login packet and everything after
 * go through SSL_read/SSL_write (asql_recv; tls.h's tls_ssl_send). Until then only
 * whole packets are read from the socket, so the ClientHello after an
 * SSLRequest stays there for OpenSSL. admin_require_tls refuses a TCP login
 * without TLS after the password check, as MariaDB refuses one to a
 * REQUIRE SSL account (1045).
 *
 * While a statement is answered the read watcher is stopped and further
 * packets wait in the socket, so a connection holds one answer at most.
 * answer_cb may run inside admin_conn_submit or later from the loop; it
 * only writes the answer and starts the write watcher, which flushes and
 * then reads the next packet (so the inner connection is never released
 * from inside its own callback).
 */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "admin_int.h"
#include "halyard/admin/admin_sql.h"
#include "halyard/cluster/backend.h"
#include "halyard/config/config.h"
#include "halyard/core/audit.h"
#include "halyard/core/log.h"
#include "halyard/protocol/auth.h"
#include "halyard/protocol/mysql_errors.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/protocol/tls.h"

#define NATIVE "mysql_native_password"
#define ASQL_CAPS                                                                                  \
    (CLIENT_FOUND_ROWS | CLIENT_LONG_FLAG | CLIENT_CONNECT_WITH_DB | CLIENT_PROTOCOL_41 |          \
     CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION | CLIENT_MULTI_RESULTS | CLIENT_PLUGIN_AUTH |  \
     CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_CONNECT_ATTRS)

enum asql_state {
    ASQL_LOGIN,   /* greeted (or TLS set up): the login packet is next */
    ASQL_TLS,     /* SSLRequest read: the TLS handshake runs */
    ASQL_SWITCH,  /* AuthSwitch sent: the native reply is next */
    ASQL_READY,   /* logged in, reading commands */
    ASQL_WAIT,    /* a statement is being answered by the admin table */
    ASQL_CLOSING, /* close once `out` is written */
};

struct asql_conn {
    struct asql_conn *next, *prev;
    struct admin_sql *s;
    int fd;
    SSL *ssl;              /* NULL: plain */
    bool read_wants_write; /* SSL_read waits for the socket to be writable */
    ev_io rio, wio;
    ev_timer timer; /* login, then idle */
    uint32_t id;
    enum asql_state state;
    uint8_t scramble[MYSQL_SCRAMBLE_LEN];
    char user[81];
    char host[64];
    char who[160]; /* "sql admin@127.0.0.1" for the logs */
    enum admin_role role;
    bool multi_results; /* the client takes several result sets (CLIENT_MULTI_RESULTS) */
    struct admin_conn *inner;
    struct admin_sql_plan plan; /* the statement being answered */
    uint8_t seq;                /* of the answer's next packet */
    uint8_t in[ADMIN_SQL_PACKET_MAX + MYSQL_HEADER_SIZE];
    size_t in_len;
    struct textbuf out;
    size_t out_off;
};

struct admin_sql {
    struct admin *a;
    struct ev_loop *loop;
    int fd;
    char path[108]; /* a Unix socket's, to remove; "" = TCP */
    ev_io accept_io;
    struct asql_conn *conns;
    int n_conns;
    uint32_t next_id;
};

static void asql_process(struct asql_conn *c);

/* ---- packets ------------------------------------------------------------- */

static void send_packet(struct asql_conn *c, const void *p, size_t n)
{
    uint8_t h[MYSQL_HEADER_SIZE];
    mysql_hdr_write(h, (uint32_t)n, c->seq++);
    textbuf_append(&c->out, h, sizeof(h));
    textbuf_append(&c->out, p, n);
}

static void send_ok(struct asql_conn *c, const char *info)
{
    uint8_t b[600];
    size_t n = mysql_ok_encode(b, sizeof(b), 0, 0, SERVER_STATUS_AUTOCOMMIT, 0);
    size_t len = info != NULL ? HY_MIN(strlen(info), sizeof(b) - n - 3) : 0;
    /* info as a length-encoded string, as MariaDB's and MySQL's servers send
     * it whether or not session tracking is on: libmariadb (the mariadb CLI)
     * reads it so, and calls the packet malformed otherwise */
    if (len > 0 && n > 0) {
        if (len < 251) {
            b[n++] = (uint8_t)len;
        } else {
            b[n++] = 0xfc;
            b[n++] = (uint8_t)len;
            b[n++] = (uint8_t)(len >> 8);
        }
        memcpy(b + n, info, len);
        n += len;
    }
    send_packet(c, b, n);
}

static void send_err(struct asql_conn *c, uint16_t code, const char *state, const char *msg)
{
    uint8_t b[700];
    size_t n = mysql_err_encode(b, sizeof(b), code, state, msg, HY_MIN(strlen(msg), 512u));
    send_packet(c, b, n);
}

static void send_value(struct asql_conn *c, const struct admin_sql_plan *p)
{
    struct textbuf b;
    textbuf_init(&b, 4096);
    textbuf_printf(&b, "{\"v\":[{");
    textbuf_json_str(&b, p->col);
    textbuf_putc(&b, ':');
    if (p->val_null)
        textbuf_puts(&b, "null");
    else if (p->val_int)
        textbuf_puts(&b, p->val);
    else
        textbuf_json_str(&b, p->val);
    textbuf_puts(&b, "}]}");
    if (admin_sql_result(&c->out, &c->seq, "", false, b.data, b.len) != HY_OK)
        send_err(c, ER_UNKNOWN_ERROR, "HY000", "out of memory");
    textbuf_free(&b);
}

/* ---- the connection ------------------------------------------------------ */

static void asql_close(struct asql_conn *c)
{
    struct admin_sql *s = c->s;
    admin_conn_release(c->inner);
    ev_io_stop(s->loop, &c->rio);
    ev_io_stop(s->loop, &c->wio);
    ev_timer_stop(s->loop, &c->timer);
    if (c->ssl != NULL) {
        if (SSL_is_init_finished(c->ssl))
            SSL_shutdown(c->ssl); /* close_notify, without waiting for the peer's */
        SSL_free(c->ssl);
        ERR_clear_error();
    }
    close(c->fd);
    textbuf_free(&c->out);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    s->n_conns--;
    free(c);
}

/* ---- the transport: the socket, or TLS over it ---------------------------- */

/* Read into `in`: bytes, 0 at the end, or -1 with errno (EAGAIN: later). A
 * plain connection still logging in reads no further than the packet it
 * is in, so what follows an SSLRequest is left to OpenSSL. */
static ssize_t asql_recv(struct asql_conn *c)
{
    size_t room = sizeof(c->in) - c->in_len;
    if (c->ssl == NULL) {
        if (c->state == ASQL_LOGIN) {
            size_t want = c->in_len < MYSQL_HEADER_SIZE
                              ? MYSQL_HEADER_SIZE - c->in_len
                              : MYSQL_HEADER_SIZE + mysql_hdr_len(c->in) - c->in_len;
            room = HY_MIN(room, want);
        }
        return room == 0 ? (errno = EAGAIN, -1)
                         : recv(c->fd, c->in + c->in_len, room, MSG_DONTWAIT);
    }
    bool wants_write = false;
    ssize_t n = tls_ssl_recv(c->ssl, c->in + c->in_len, room, &wants_write);
    if (wants_write) {
        c->read_wants_write = true;
        ev_io_start(c->s->loop, &c->wio);
    }
    return n;
}

/* One step of the TLS handshake; the login packet follows it. */
static void asql_tls_step(struct asql_conn *c)
{
    ERR_clear_error();
    int r = SSL_accept(c->ssl);
    if (r == 1) {
        c->state = ASQL_LOGIN;
        ev_io_stop(c->s->loop, &c->wio);
        ev_io_start(c->s->loop, &c->rio);
        /* the login packet may have come with the client's Finished, and be
         * in OpenSSL's buffer already */
        ev_feed_event(c->s->loop, &c->rio, EV_READ);
        return;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        ev_io_stop(c->s->loop, e == SSL_ERROR_WANT_READ ? &c->wio : &c->rio);
        ev_io_start(c->s->loop, e == SSL_ERROR_WANT_READ ? &c->rio : &c->wio);
        return;
    }
    char why[256];
    ERR_error_string_n(ERR_peek_last_error(), why, sizeof(why));
    hy_log_info("admin sql from %s: TLS handshake failed: %s", c->host,
                ERR_peek_last_error() != 0 ? why : "the connection closed");
    asql_close(c);
}

/* The SSLRequest: TLS from here on. */
static void asql_tls_start(struct asql_conn *c)
{
    SSL_CTX *ctx = admin_status(c->s->a)->cfg->tls_server;
    if (c->ssl != NULL || ctx == NULL || (c->ssl = SSL_new(ctx)) == NULL ||
        SSL_set_fd(c->ssl, c->fd) != 1) {
        send_err(c, ER_HANDSHAKE_ERROR, "08S01",
                 ctx == NULL ? "TLS is not offered on the SQL admin port" : "Bad handshake");
        c->state = ASQL_CLOSING;
        return;
    }
    SSL_set_accept_state(c->ssl);
    c->state = ASQL_TLS;
}

/* Write what is pending; false when the connection was closed. */
static bool asql_flush(struct asql_conn *c)
{
    if (c->out.overflow) { /* larger than the bound: say so instead */
        textbuf_reset(&c->out);
        c->out_off = 0;
        send_err(c, ER_UNKNOWN_ERROR, "HY000", "the answer is larger than the admin port's bound");
    }
    switch (c->ssl != NULL ? tls_ssl_send(c->ssl, c->out.data, c->out.len, &c->out_off)
                           : textbuf_send(&c->out, &c->out_off, c->fd)) {
    case HY_AGAIN:
        ev_io_start(c->s->loop, &c->wio);
        return true;
    case HY_OK:
        break;
    default:
        asql_close(c);
        return false;
    }
    ev_io_stop(c->s->loop, &c->wio);
    textbuf_reset(&c->out);
    c->out_off = 0;
    if (c->state == ASQL_CLOSING) {
        asql_close(c);
        return false;
    }
    return true;
}

/* The admin table's answer to c->plan (admin.c's inner connection). */
static void answer_cb(void *arg, const char *text, size_t len)
{
    struct asql_conn *c = arg;
    const struct admin_sql_plan *p = &c->plan;
    while (len > 0 && text[len - 1] == '\n')
        len--;
    if (len >= 4 && memcmp(text, "ERR ", 4) == 0) {
        char msg[512];
        const char *nl = memchr(text, '\n', len);
        snprintf(msg, sizeof(msg), "%.*s", (int)((nl != NULL ? (size_t)(nl - text) : len) - 4),
                 text + 4);
        bool no_session = p->verb == ADMIN_KILL_SESSION && strncmp(msg, "no session", 10) == 0;
        send_err(c, no_session ? ER_NO_SUCH_THREAD : ER_UNKNOWN_ERROR, "HY000", msg);
    } else if (!p->rows || len == 0 || text[0] != '{' ||
               admin_sql_result(&c->out, &c->seq, p->table,
                                p->shape == ADMIN_SQL_LISTS && !c->multi_results ? ADMIN_SQL_ROWS
                                                                                 : p->shape,
                                text, len) != HY_OK) {
        char info[512];
        const char *nl = memchr(text, '\n', len);
        size_t n = nl != NULL ? (size_t)(nl - text) : len;
        bool ok = n >= 3 && memcmp(text, "OK ", 3) == 0;
        snprintf(info, sizeof(info), "%.*s", (int)(ok ? n - 3 : n), ok ? text + 3 : text);
        send_ok(c, info);
    }
    c->state = ASQL_READY;
    ev_io_start(c->s->loop, &c->wio); /* flush, then the next packet (write_cb) */
}

static void run_query(struct asql_conn *c, const uint8_t *sql, size_t len)
{
    struct status *st = admin_status(c->s->a);
    char version[MYSQL_CLIENT_VERSION_MAX];
    backend_greeting_version(st->cfg, version, sizeof(version));
    /* @@version as a MariaDB server says it: without its greeting's
     * "5.5.5-" (which keeps MySQL 5 clients from taking 10.x for older) */
    const char *v = strncmp(version, "5.5.5-", 6) == 0 ? version + 6 : version;
    struct admin_sql_who who = {
        .user = c->user, .host = c->host, .id = c->id, .version = v, .role = c->role};
    struct admin_sql_plan *p = &c->plan;
    admin_sql_plan((const char *)sql, len, &who, p);
    switch (p->kind) {
    case ADMIN_SQL_PLAN_ERR:
        send_err(c, p->code, p->sqlstate, p->msg);
        return;
    case ADMIN_SQL_PLAN_OK:
        send_ok(c, NULL);
        return;
    case ADMIN_SQL_PLAN_VALUE:
        send_value(c, p);
        return;
    case ADMIN_SQL_PLAN_ADMIN:
        break;
    }
    c->state = ASQL_WAIT;
    if (admin_conn_submit(c->inner, p->line, strlen(p->line)) != HY_OK) {
        c->state = ASQL_READY;
        send_err(c, ER_UNKNOWN_ERROR, "HY000", "the admin connection is busy");
    }
}

static void login_done(struct asql_conn *c, bool ok, const char *why)
{
    char peer[160];
    snprintf(peer, sizeof(peer), "%s@%s", c->user, c->host);
    if (!ok) {
        char msg[300];
        snprintf(msg, sizeof(msg), "Access denied for user '%s'@'%s' (using password: YES)",
                 c->user, c->host);
        log_audit("admin sql %s: login refused: %s", peer, why);
        send_err(c, ER_ACCESS_DENIED_ERROR, "28000", msg);
        c->state = ASQL_CLOSING;
        return;
    }
    snprintf(c->who, sizeof(c->who), "sql %.150s", peer);
    c->inner = admin_conn_inner(c->s->a, c->who, answer_cb, c);
    if (c->inner == NULL) {
        send_err(c, ER_OUT_OF_RESOURCES, "HY000", "Out of memory");
        c->state = ASQL_CLOSING;
        return;
    }
    hy_log_info("admin %s: logged in (%s%s%s%s%s)", c->who,
                c->role == ADMIN_ROLE_OPERATOR ? "operator" : "read-only",
                c->ssl != NULL ? ", " : "", c->ssl != NULL ? SSL_get_version(c->ssl) : "",
                c->ssl != NULL ? " " : "", c->ssl != NULL ? SSL_get_cipher_name(c->ssl) : "");
    send_ok(c, NULL);
    c->state = ASQL_READY;
    ev_timer_stop(c->s->loop, &c->timer);
    c->timer.repeat = ADMIN_IDLE_TIMEOUT;
    ev_timer_again(c->s->loop, &c->timer);
}

/* The account's reply to our scramble. */
static void check_reply(struct asql_conn *c, const uint8_t *reply, size_t len)
{
    const struct config *cfg = admin_status(c->s->a)->cfg;
    for (size_t i = 0; i < cfg->n_admin_accounts; i++) {
        const struct config_admin_account *acc = &cfg->admin_accounts[i];
        if (strcmp(acc->name, c->user) != 0)
            continue;
        uint8_t h1[MYSQL_SHA1_LEN];
        c->role = acc->role;
        if (!auth_native_verify(c->scramble, reply, len, acc->h2, h1))
            login_done(c, false, "wrong password");
        else if (c->ssl == NULL && c->s->path[0] == '\0' && cfg->admin_require_tls)
            login_done(c, false, "TLS is required on the admin port (admin_require_tls)");
        else
            login_done(c, true, "");
        return;
    }
    login_done(c, false, "no such admin account");
}

static void on_login(struct asql_conn *c, const uint8_t *p, size_t n)
{
    struct mysql_login lg;
    if (mysql_login_decode(p, n, &lg) != HY_OK) {
        send_err(c, ER_HANDSHAKE_ERROR, "08S01", "Bad handshake");
        c->state = ASQL_CLOSING;
        return;
    }
    if (lg.ssl_request) {
        asql_tls_start(c);
        return;
    }
    snprintf(c->user, sizeof(c->user), "%.*s", (int)HY_MIN(lg.user_len, 80u),
             lg.user != NULL ? lg.user : "");
    c->multi_results = (lg.caps & CLIENT_MULTI_RESULTS) != 0;
    if (lg.plugin != NULL &&
        !(lg.plugin_len == strlen(NATIVE) && memcmp(lg.plugin, NATIVE, lg.plugin_len) == 0)) {
        uint8_t data[MYSQL_SCRAMBLE_LEN + 1] = {0}, b[128];
        memcpy(data, c->scramble, MYSQL_SCRAMBLE_LEN);
        size_t k = mysql_auth_switch_encode(NATIVE, data, sizeof(data), b, sizeof(b));
        send_packet(c, b, k);
        c->state = ASQL_SWITCH;
        return;
    }
    check_reply(c, lg.auth, lg.auth_len);
}

/* One whole packet. */
static void on_packet(struct asql_conn *c, const uint8_t *p, size_t n, uint8_t seq)
{
    c->seq = (uint8_t)(seq + 1);
    if (c->state == ASQL_LOGIN) {
        on_login(c, p, n);
        return;
    }
    if (c->state == ASQL_SWITCH) {
        check_reply(c, p, n);
        return;
    }
    ev_timer_again(c->s->loop, &c->timer);
    switch (n > 0 ? p[0] : 0xff) {
    case COM_QUIT:
        c->state = ASQL_CLOSING;
        return;
    case COM_PING:
    case COM_INIT_DB:
    case COM_RESET_CONNECTION:
        send_ok(c, NULL);
        return;
    case COM_QUERY:
        run_query(c, p + 1, n - 1);
        return;
    default:
        send_err(c, ER_UNKNOWN_COM_ERROR, "08S01", "Unknown command");
        return;
    }
}

/* Answer the whole packets received, one at a time. */
static void asql_process(struct asql_conn *c)
{
    while (c->state != ASQL_WAIT && c->state != ASQL_CLOSING && c->state != ASQL_TLS &&
           c->out.len == 0 && c->in_len >= MYSQL_HEADER_SIZE) {
        uint32_t n = mysql_hdr_len(c->in);
        if (n > ADMIN_SQL_PACKET_MAX) {
            c->seq = (uint8_t)(mysql_hdr_seq(c->in) + 1);
            send_err(c, ER_NET_PACKET_TOO_LARGE, "08S01",
                     "Got a packet bigger than 'max_allowed_packet' bytes");
            c->state = ASQL_CLOSING;
            c->in_len = 0;
            /* What came with it goes too: closing with unread bytes would
             * reset the connection before the client reads the ERR. */
            if (c->ssl == NULL)
                (void)!recv(c->fd, c->in, sizeof(c->in), MSG_DONTWAIT);
            break;
        }
        if (c->in_len < MYSQL_HEADER_SIZE + n)
            break;
        on_packet(c, c->in + MYSQL_HEADER_SIZE, n, mysql_hdr_seq(c->in));
        c->in_len -= MYSQL_HEADER_SIZE + n;
        memmove(c->in, c->in + MYSQL_HEADER_SIZE + n, c->in_len);
    }
    if (c->state == ASQL_TLS) {
        asql_tls_step(c);
        return;
    }
    if (c->out.len > 0 && !asql_flush(c))
        return;
    if (c->state == ASQL_CLOSING && c->out.len == 0) {
        asql_close(c);
        return;
    }
    if (c->state == ASQL_WAIT || c->out.len > 0) {
        ev_io_stop(c->s->loop, &c->rio);
    } else {
        ev_io_start(c->s->loop, &c->rio);
        if (c->ssl != NULL && SSL_has_pending(c->ssl)) /* OpenSSL holds some, maybe all */
            ev_feed_event(c->s->loop, &c->rio, EV_READ);
    }
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct asql_conn *c = container_of(w, struct asql_conn, rio);
    if (c->state == ASQL_TLS) {
        asql_tls_step(c);
        return;
    }
    ssize_t n = asql_recv(c);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        asql_close(c);
        return;
    }
    c->in_len += (size_t)n;
    asql_process(c);
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct asql_conn *c = container_of(w, struct asql_conn, wio);
    if (c->state == ASQL_TLS) {
        asql_tls_step(c);
        return;
    }
    if (c->read_wants_write) { /* SSL_read could not go on: now it can */
        c->read_wants_write = false;
        ev_io_stop(c->s->loop, &c->wio);
        read_cb(loop, &c->rio, EV_READ);
        return;
    }
    if (c->out.len == 0)
        ev_io_stop(c->s->loop, &c->wio);
    if (asql_flush(c) && c->out.len == 0)
        asql_process(c);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct asql_conn *c = container_of(w, struct asql_conn, timer);
    if (c->state == ASQL_WAIT) {
        ev_timer_again(c->s->loop, &c->timer); /* busy: not idle */
        return;
    }
    hy_log_info("admin sql %s@%s: %s; closing", c->user, c->host,
                c->state == ASQL_LOGIN || c->state == ASQL_SWITCH || c->state == ASQL_TLS
                    ? "no login in time"
                    : "idle");
    asql_close(c);
}

static void greet(struct asql_conn *c)
{
    const struct config *cfg = admin_status(c->s->a)->cfg;
    if (auth_random_scramble(c->scramble, sizeof(c->scramble)) != HY_OK) {
        asql_close(c);
        return;
    }
    char version[MYSQL_CLIENT_VERSION_MAX];
    backend_greeting_version(cfg, version, sizeof(version));
    uint8_t b[256];
    size_t n =
        mysql_greeting_encode(b, sizeof(b), version, c->id, c->scramble,
                              ASQL_CAPS | (cfg->tls_server != NULL ? CLIENT_SSL : 0), 0, NATIVE);
    c->seq = 0;
    send_packet(c, b, n);
    asql_process(c);
}

static void peer_host(int fd, char *out, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    snprintf(out, len, "localhost");
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)len);
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)len);
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct admin_sql *s = container_of(w, struct admin_sql, accept_io);
    for (;;) {
        int fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                hy_log_warn("admin sql: accept: %s", strerror(errno));
            return;
        }
        struct asql_conn *c = s->n_conns < ADMIN_SQL_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
        if (c == NULL) {
            hy_log_warn("admin sql: refused a connection: %d open", s->n_conns);
            close(fd);
            continue;
        }
        c->s = s;
        c->fd = fd;
        c->id = ++s->next_id;
        peer_host(fd, c->host, sizeof(c->host));
        textbuf_init(&c->out, ADMIN_OUT_MAX + (1u << 20));
        ev_io_init(&c->rio, read_cb, fd, EV_READ);
        ev_io_init(&c->wio, write_cb, fd, EV_WRITE);
        ev_init(&c->timer, timer_cb);
        c->timer.repeat = ADMIN_SQL_LOGIN_TIME;
        ev_timer_again(loop, &c->timer);
        c->next = s->conns;
        if (s->conns != NULL)
            s->conns->prev = c;
        s->conns = c;
        s->n_conns++;
        greet(c);
    }
}

/* ---- the listener -------------------------------------------------------- */

static int listen_at(const struct admin_listen_addr *ad, char *err, size_t errlen)
{
    struct sockaddr_storage ss = {0};
    socklen_t sl;
    if (ad->unix_path) {
        struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
        sun->sun_family = AF_UNIX;
        snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", ad->path);
        sl = sizeof(*sun);
        struct stat sb;
        if (lstat(ad->path, &sb) == 0 && S_ISSOCK(sb.st_mode) && sb.st_uid == geteuid())
            unlink(ad->path); /* ours, left by a halyard that stopped */
    } else if (ad->v6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)ad->port);
        inet_pton(AF_INET6, ad->host, &in6->sin6_addr);
        sl = sizeof(*in6);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)ad->port);
        inet_pton(AF_INET, ad->host, &in->sin_addr);
        sl = sizeof(*in);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0 && !ad->unix_path)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    mode_t old = umask(0177);
    int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&ss, sl);
    umask(old);
    if (rc != 0 || listen(fd, ADMIN_SQL_MAX_CONNS) != 0) {
        snprintf(err, errlen, "admin_listen: cannot listen: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

hy_status_t admin_sql_create(struct admin *a, const char *spec, char *err, size_t errlen)
{
    struct admin_listen_addr ad;
    char why[256];
    if (config_admin_listen_parse(spec, &ad, why, sizeof(why)) != HY_OK) {
        snprintf(err, errlen, "admin_listen: %s", why);
        return HY_ERROR;
    }
    struct admin_sql *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return HY_ERROR;
    }
    if ((s->fd = listen_at(&ad, err, errlen)) < 0) {
        free(s);
        return HY_ERROR;
    }
    s->a = a;
    s->loop = admin_loop(a);
    if (ad.unix_path)
        snprintf(s->path, sizeof(s->path), "%s", ad.path);
    ev_io_init(&s->accept_io, accept_cb, s->fd, EV_READ);
    ev_io_start(s->loop, &s->accept_io);
    *admin_sql_slot(a) = s;
    hy_log_info("admin sql: listening on %s", spec);
    return HY_OK;
}

void admin_sql_destroy(struct admin_sql *s)
{
    if (s == NULL)
        return;
    while (s->conns != NULL)
        asql_close(s->conns);
    ev_io_stop(s->loop, &s->accept_io);
    close(s->fd);
    if (s->path[0] != '\0')
        unlink(s->path);
    free(s);
}

void admin_sql_stop(struct admin *a)
{
    if (a == NULL)
        return;
    admin_sql_destroy(*admin_sql_slot(a));
    *admin_sql_slot(a) = NULL;
}
