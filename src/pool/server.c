/*
 * server.c: see server.h.
 *
 * The login is mysql_client.h's decisions; this file does its I/O: a
 * non-blocking connect (server_connect, the one place a backend's address
 * becomes a socket), packets read into `in`, packets mysql_client leaves in
 * a buffer sent through conn_send_local, tls_connect when it says so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "halyard/cluster/backend.h"
#include "halyard/core/log.h"
#include "halyard/pool/server.h"
#include "halyard/protocol/mysql_errors.h"
#include "halyard/protocol/tls.h"

const char *bconn_state_to_str(enum bconn_state st)
{
    switch (st) {
    case BCONN_NONE:
        return "none";
    case BCONN_CONNECTING:
        return "connecting";
    case BCONN_GREETING:
        return "greeting";
    case BCONN_TLS:
        return "tls";
    case BCONN_AUTH:
        return "auth";
    case BCONN_READY:
        return "ready";
    }
    return "?";
}

/* The one function that changes bc->state. An impossible transition is a
 * bug: it is logged as an error and refused (HY_ERROR, state unchanged),
 * and the caller fails the connection. */
static hy_status_t bconn_set_state(struct bconn *bc, enum bconn_state to)
{
    static const uint8_t allowed[] = {
        [BCONN_NONE] = 1u << BCONN_CONNECTING,
        [BCONN_CONNECTING] = 1u << BCONN_GREETING | 1u << BCONN_NONE,
        [BCONN_GREETING] = 1u << BCONN_TLS | 1u << BCONN_AUTH | 1u << BCONN_NONE,
        [BCONN_TLS] = 1u << BCONN_AUTH | 1u << BCONN_NONE,
        [BCONN_AUTH] = 1u << BCONN_READY | 1u << BCONN_NONE,
        [BCONN_READY] = 1u << BCONN_NONE,
    };
    if (!(allowed[bc->state] & (1u << to))) {
        hy_log_error("backend %s: impossible connection state change %s -> %s", bc->be->name,
                     bconn_state_to_str(bc->state), bconn_state_to_str(to));
        return HY_ERROR;
    }
    bc->state = to;
    return HY_OK;
}

/* The login ended: no timer, no login buffer. */
static void login_end(struct bconn *bc)
{
    ev_timer_stop(bc->loop, &bc->timer);
    stream_release(&bc->in, bc->pool);
}

/* Report `r` (the last thing done with bc: the owner may free it). */
static void report(struct bconn *bc, struct server_report *r)
{
    bc->on_event(bc, r);
}

static void fail(struct bconn *bc, const uint8_t *err, size_t err_len, const char *why)
{
    struct server_report r;
    r.event = SERVER_FAILED;
    r.err = err;
    r.err_len = err_len;
    snprintf(r.why_buf, sizeof(r.why_buf), "%s", why);
    r.why = r.why_buf;
    login_end(bc);
    report(bc, &r);
}

static void fail_state(struct bconn *bc)
{
    fail(bc, NULL, 0, "impossible connection state change");
}

/* Why the login failed, as mysql_client said, in the words the client's
 * ERR and the log use; `buf` may hold it. */
static const char *login_why(struct bconn *bc, char *buf, size_t len)
{
    const struct mysql_client *mc = &bc->login;
    switch (mc->fail) {
    case MYSQL_CLIENT_BAD_CAPS:
        hy_log_warn("backend %s lacks capabilities 0x%08x (MariaDB extended 0x%08x) the client "
                    "uses",
                    bc->be->name, bc->creds.need_caps & ~mc->server_caps,
                    bc->creds.need_ext_caps & ~mc->server_ext_caps);
        break;
    case MYSQL_CLIENT_NO_TLS:
        snprintf(buf, len, "server does not offer TLS (tls = %s); not logging in in plaintext",
                 tls_mode_to_str(bc->be->tls));
        return buf;
    case MYSQL_CLIENT_BAD_PLUGIN:
        if (mc->plugin != NULL)
            hy_log_warn("backend %s asks for auth plugin '%.*s'; only %s is supported",
                        bc->be->name, (int)HY_MIN(mc->plugin_len, 64), mc->plugin,
                        MYSQL_CLIENT_PLUGIN);
        break;
    default:
        break;
    }
    return mc->why;
}

/* Send the packet the login left in `out`, then wipe it (it may hold a
 * password token; what of it waits to be sent is wiped once sent). */
static hy_status_t login_send(struct bconn *bc, uint8_t *out)
{
    hy_status_t rc = conn_send_secret(&bc->c, bc->loop, bc->pool, out, bc->login.out_len);
    explicit_bzero(out, bc->login.out_len);
    return rc;
}

static void tls_done(struct conn *c, bool ok, const char *why);

/* Process the whole login packets in `in`. */
static void login_progress(struct bconn *bc)
{
    struct stream *st = &bc->in;
    while (bc->state == BCONN_GREETING || bc->state == BCONN_AUTH) {
        if (stream_unparsed(st) < MYSQL_HEADER_SIZE)
            return;
        const uint8_t *h = st->b->data + st->scan;
        uint32_t len = mysql_hdr_len(h);
        if (len + MYSQL_HEADER_SIZE > st->b->cap) {
            fail(bc, NULL, 0, "login packet too large");
            return;
        }
        if (stream_unparsed(st) < MYSQL_HEADER_SIZE + len)
            return;
        const uint8_t *p = h + MYSQL_HEADER_SIZE;
        st->scan += MYSQL_HEADER_SIZE + len;
        st->head = st->scan;
        uint8_t out[MYSQL_CLIENT_OUT_MAX];
        char buf[160];
        enum mysql_client_step step =
            mysql_client_packet(&bc->login, &bc->creds, mysql_hdr_seq(h), p, len, out);
        /* The server counts it from its accept (Threads_connected, the
         * process list): listed as soon as the greeting names its thread. */
        if (bc->login.thread_id != 0 && !bc->reg.listed)
            connreg_add(&bc->reg, connreg_server(bc->be->address, bc->be->port),
                        bc->login.thread_id);
        switch (step) {
        case MYSQL_CLIENT_REFUSED:
            fail(bc, p, len, "backend refused the login");
            return;
        case MYSQL_CLIENT_FAILED:
            fail(bc, NULL, 0, login_why(bc, buf, sizeof(buf)));
            return;
        case MYSQL_CLIENT_READY: {
            if (bconn_set_state(bc, BCONN_READY) != HY_OK) {
                fail_state(bc);
                return;
            }
            login_end(bc);
            backend_version_note(bc->be->rt, bc->login.version);
            struct server_report r = {.event = SERVER_READY};
            report(bc, &r);
            return;
        }
        case MYSQL_CLIENT_TLS:
            if (login_send(bc, out) != HY_OK) {
                fail(bc, NULL, 0, strerror(errno));
            } else if (tls_connect(&bc->c, bc->loop, bc->be->tls_ctx, bc->be->tls, bc->be->address,
                                   tls_done) != HY_OK) {
                fail(bc, NULL, 0, "cannot start TLS");
            } else if (bconn_set_state(bc, BCONN_TLS) != HY_OK) {
                fail_state(bc);
            } else {
                stream_release_if_empty(st, bc->pool);
            }
            return; /* the login follows in tls_done */
        case MYSQL_CLIENT_SEND:
            if (login_send(bc, out) != HY_OK) {
                fail(bc, NULL, 0,
                     bc->state == BCONN_GREETING ? "cannot send the login"
                                                 : "unsupported authentication method");
                return;
            }
            if (bc->state == BCONN_GREETING && bconn_set_state(bc, BCONN_AUTH) != HY_OK) {
                fail_state(bc);
                return;
            }
            break;
        }
    }
}

static void tls_done(struct conn *c, bool ok, const char *why)
{
    struct bconn *bc = container_of(c, struct bconn, c);
    /* The SSLRequest's buffer, drained by the handshake, goes back. */
    if (ok && conn_has_local(c) && conn_flush_local(c, bc->pool) != HY_OK) {
        ok = false;
        why = strerror(errno);
    }
    if (ok) {
        uint8_t out[MYSQL_CLIENT_OUT_MAX];
        if (mysql_client_tls_done(&bc->login, &bc->creds, out) != MYSQL_CLIENT_SEND ||
            login_send(bc, out) != HY_OK) {
            ok = false;
            why = "cannot send the login";
        }
    }
    if (!ok) {
        char reason[320];
        snprintf(reason, sizeof(reason), "TLS (tls = %s): %s", tls_mode_to_str(bc->be->tls), why);
        fail(bc, NULL, 0, reason);
        return;
    }
    char desc[96];
    tls_describe(c, desc, sizeof(desc));
    hy_log_debug("backend %s: TLS established: %s", bc->be->name, desc);
    if (bconn_set_state(bc, BCONN_AUTH) != HY_OK) {
        fail_state(bc);
        return;
    }
    ev_io_start(bc->loop, &c->rio);
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct bconn *bc = container_of(w, struct bconn, c.rio);
    if (bc->state == BCONN_READY) {
        struct server_report r = {.event = SERVER_READABLE};
        report(bc, &r);
        return;
    }
    struct stream *st = &bc->in;
    if (stream_reserve(st, bc->pool) != HY_OK) {
        fail(bc, NULL, 0, strerror(errno));
        return;
    }
    uint32_t room = stream_room(st);
    if (room == 0) {
        fail(bc, NULL, 0, "login packet too large");
        return;
    }
    ssize_t n = bc->c.ops->recv(&bc->c, st->b->data + st->tail, room);
    if (n == 0) {
        fail(bc, NULL, 0, "closed the connection during login");
        return;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            stream_release_if_empty(st, bc->pool);
            return;
        }
        fail(bc, NULL, 0, strerror(errno));
        return;
    }
    st->tail += (uint32_t)n;
    login_progress(bc);
}

/* The connect to the current address failed (`why`): try the next address
 * within the same budget, or fail. */
static void connect_failed(struct bconn *bc, const char *why)
{
    while (resolve_target_left(&bc->target) > 0) {
        hy_log_debug("backend %s: connect to address %u of %s:%d: %s; trying the next address",
                     bc->be->name, (unsigned)bc->target.next, bc->be->address, bc->be->port, why);
        conn_close(&bc->c, bc->loop, bc->pool);
        if (conn_connect_next(&bc->c, bc->loop, &bc->target, &bc->timer, bc->deadline))
            return;
        why = strerror(errno);
    }
    fail(bc, NULL, 0, why);
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct bconn *bc = container_of(w, struct bconn, c.wio);
    if (bc->state == BCONN_CONNECTING) {
        int err = 0;
        socklen_t elen = sizeof(err);
        if (getsockopt(bc->c.fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
            err = errno;
        ev_io_stop(loop, &bc->c.wio);
        if (err != 0) {
            connect_failed(bc, strerror(err));
            return;
        }
        conn_timer_rearm(loop, &bc->timer, bc->deadline - ev_now(loop)); /* the login: the rest */
        if (bc->target.next > 1) /* the addresses before this one failed */
            resolve_prefer(bc->be->address, &bc->target.addrs.a[bc->target.next - 1]);
        bc->login = (struct mysql_client){0};
        if (bconn_set_state(bc, BCONN_GREETING) != HY_OK) {
            fail_state(bc);
            return;
        }
        ev_io_start(loop, &bc->c.rio);
        return;
    }
    if (bc->state == BCONN_READY) {
        struct server_report r = {.event = SERVER_WRITABLE};
        report(bc, &r);
        return;
    }
    /* the rest of a login packet the socket did not take at once */
    hy_status_t rc = conn_flush_local(&bc->c, bc->pool);
    if (rc == HY_ERROR) {
        fail(bc, NULL, 0, strerror(errno));
        return;
    }
    if (rc == HY_OK)
        ev_io_stop(loop, &bc->c.wio);
}

static void timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct bconn *bc = container_of(t, struct bconn, timer);
    if (bc->state == BCONN_CONNECTING)
        connect_failed(bc, "connect timed out");
    else
        fail(bc, NULL, 0, "connect timed out");
}

struct bconn *server_create(const struct config_backend *be, struct ev_loop *loop,
                            struct buf_pool *pool, server_event_fn on_event, void *owner)
{
    struct bconn *bc = calloc(1, sizeof(*bc));
    if (bc == NULL)
        return NULL;
    bc->be = be;
    bc->loop = loop;
    bc->pool = pool;
    bc->on_event = on_event;
    bc->owner = owner;
    conn_init(&bc->c, -1);
    ev_init(&bc->c.rio, read_cb);
    ev_init(&bc->c.wio, write_cb);
    ev_timer_init(&bc->timer, timer_cb, 0., 0.);
    return bc;
}

bool server_connect(struct bconn *bc, const struct mysql_client_creds *cr, int timeout_ms,
                    struct server_report *r)
{
    const struct config_backend *be = bc->be;
    *r = (struct server_report){.event = SERVER_FAILED};
    bc->creds = *cr;
    if (be->rt != NULL && !backend_conn_acquire(be->rt, be->max_connections)) {
        char msg[160];
        int n =
            snprintf(msg, sizeof(msg), "Too many connections to backend '%s' (max_connections %d)",
                     be->name, be->max_connections);
        r->err_len = mysql_err_encode(r->err_buf, sizeof(r->err_buf), ER_CON_COUNT_ERROR, "08004",
                                      msg, (size_t)HY_MIN(n, (int)sizeof(msg) - 1));
        r->err = r->err_buf;
        r->why = "max_connections reached";
        return false;
    }
    bc->counted = be->rt != NULL;
    /* the resolver's cache: a worker never waits for a name (resolve.h) */
    if (resolve_target_init(&bc->target, be->address, be->port, r->why_buf, sizeof(r->why_buf)) !=
        HY_OK) {
        r->why = r->why_buf;
        return false;
    }
    if (bconn_set_state(bc, BCONN_CONNECTING) != HY_OK) {
        r->why = "impossible connection state change";
        return false;
    }
    bc->deadline = ev_now(bc->loop) + timeout_ms / 1000.0;
    /* the one place a backend's address becomes a socket */
    if (!conn_connect_next(&bc->c, bc->loop, &bc->target, &bc->timer, bc->deadline)) {
        snprintf(r->why_buf, sizeof(r->why_buf), "%s", strerror(errno));
        r->why = r->why_buf;
        return false;
    }
    return true;
}

void server_destroy(struct bconn *bc)
{
    connreg_remove(&bc->reg);
    login_end(bc);
    if (bc->counted)
        backend_conn_release(bc->be->rt);
    conn_close(&bc->c, bc->loop, bc->pool);
    free(bc);
}
