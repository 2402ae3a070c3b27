/*
 * tls.c: OpenSSL contexts and the TLS transport.
 *
 * Design
 * ------
 * Each TLS connection talks to its socket through a small BIO of our own
 * (conn_bio): recv/send with MSG_NOSIGNAL on the connection's descriptor,
 * preceded by the few bytes a client may have sent right behind its
 * SSLRequest, which the session read before it knew TLS would follow.
 *
 * The handshake runs with the transport's own watcher (`io`): the owner's
 * watchers are stopped and `done` tells the owner when it is over. After
 * that, reads and writes come through transport_tls from the owner's own
 * callbacks, and only two things need the transport's help:
 *
 *  - inversions: SSL_read may need to write (a TLS 1.3 KeyUpdate answer)
 *    and SSL_write to read; the call returns EAGAIN, `io` waits for the
 *    direction OpenSSL wants and then invokes the owner's read (write)
 *    callback, which simply tries again;
 *  - bytes held inside OpenSSL: a TLS record is up to 16 KiB and the
 *    owner's buffer may have less room, so the rest stays in OpenSSL; and
 *    OpenSSL reads ahead (one recv for a burst of records instead of two
 *    per record), so whole records may wait in its buffer. No socket event
 *    will announce either. While a read returned data and OpenSSL still
 *    holds bytes,
 *    `pending` (an ev_prepare) feeds the owner's read watcher an event
 *    before the loop sleeps whenever that watcher is started, and `spin`
 *    (an ev_idle) keeps the loop from sleeping meanwhile. A stopped read
 *    watcher (back-pressure) gets nothing and the loop sleeps as usual.
 *
 * The owner's callbacks may free the connection (and this state) when
 * invoked: after invoking one nothing here touches the state again, and
 * fed events die with ev_io_stop() in conn_close().
 *
 * Renegotiation is refused (SSL_OP_NO_RENEGOTIATION); session tickets and
 * the session cache are off: halyard's clients and backends are few and
 * long-lived, and a resumed session would skip the certificate checks a
 * reload may have changed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "halyard/core/log.h"
#include "halyard/protocol/tls.h"

struct tls_conn {
    SSL *ssl;
    struct conn *c;
    struct ev_loop *loop;
    ev_io io;           /* handshake, and the rare inverted waits */
    ev_prepare pending; /* decrypted bytes OpenSSL holds */
    ev_idle spin;       /* ... while the owner reads: do not sleep */
    tls_done_fn done;   /* non-NULL while the handshake runs */
    uint8_t *early;     /* bytes read before TLS started, served first */
    size_t early_len, early_off;
    bool more; /* OpenSSL may hold bytes it can decrypt without the socket */
    bool read_wants_write;
    bool write_wants_read;
    char err[200];
};

/* ---- contexts ---------------------------------------------------------- */

/* The reason of OpenSSL's last error, or `fallback`. Clears the queue. */
static void ssl_reason(char *out, size_t len, const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
    snprintf(out, len, "%s", r != NULL ? r : fallback);
    ERR_clear_error();
}

int tls_version_parse(const char *s)
{
    if (strcmp(s, "TLSv1.2") == 0)
        return TLS1_2_VERSION;
    if (strcmp(s, "TLSv1.3") == 0)
        return TLS1_3_VERSION;
    return 0;
}

const char *tls_version_to_str(int version)
{
    return version == TLS1_3_VERSION ? "TLSv1.3" : "TLSv1.2";
}

static SSL_CTX *ctx_common(const SSL_METHOD *method, const struct tls_options *o,
                           enum tls_setting *what, char *err, size_t errlen)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(method);
    if (ctx == NULL) {
        *what = TLS_SET_OTHER;
        ssl_reason(err, errlen, "cannot create a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, o->min_version != 0 ? o->min_version : TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    /* One recv per burst of records, not two per record (header, body). */
    SSL_CTX_set_read_ahead(ctx, 1);
    if (o->ciphers != NULL && o->ciphers[0] != '\0' && !SSL_CTX_set_cipher_list(ctx, o->ciphers)) {
        *what = TLS_SET_CIPHERS;
        snprintf(err, errlen, "no usable cipher in the list");
        goto fail;
    }
    if (o->ciphersuites != NULL && o->ciphersuites[0] != '\0' &&
        !SSL_CTX_set_ciphersuites(ctx, o->ciphersuites)) {
        *what = TLS_SET_CIPHERSUITES;
        snprintf(err, errlen, "no usable TLS 1.3 cipher suite in the list");
        goto fail;
    }
    if (o->cert != NULL && o->cert[0] != '\0' &&
        SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1) {
        char why[120];
        *what = TLS_SET_CERT;
        ssl_reason(why, sizeof(why), "unreadable");
        snprintf(err, errlen, "cannot load certificate \"%s\": %s", o->cert, why);
        goto fail;
    }
    if (o->key != NULL && o->key[0] != '\0') {
        char why[120];
        if (SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1) {
            *what = TLS_SET_KEY;
            bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
            ssl_reason(why, sizeof(why), "unreadable");
            if (mismatch)
                snprintf(err, errlen, "private key \"%s\" does not match the certificate", o->key);
            else
                snprintf(err, errlen, "cannot load private key \"%s\": %s", o->key, why);
            goto fail;
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            *what = TLS_SET_KEY;
            ssl_reason(why, sizeof(why), "mismatch");
            snprintf(err, errlen, "private key \"%s\" does not match the certificate: %s", o->key,
                     why);
            goto fail;
        }
    }
    if (o->ca != NULL && o->ca[0] != '\0' && SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1) {
        char why[120];
        *what = TLS_SET_CA;
        ssl_reason(why, sizeof(why), "unreadable");
        snprintf(err, errlen, "cannot load CA certificates \"%s\": %s", o->ca, why);
        goto fail;
    }
    return ctx;
fail:
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
}

struct ssl_ctx_st *tls_server_ctx_create(const struct tls_options *o, enum tls_setting *what,
                                         char *err, size_t errlen)
{
    SSL_CTX *ctx = ctx_common(TLS_server_method(), o, what, err, errlen);
    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_num_tickets(ctx, 0);
    static const unsigned char sid[] = "halyard";
    SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
    if (o->ca != NULL && o->ca[0] != '\0') {
        /* Ask for a certificate; one that is presented must verify. Users
         * with tls_subject need one (checked at login). */
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->ca);
        if (names == NULL) {
            *what = TLS_SET_CA;
            snprintf(err, errlen, "no CA certificate in \"%s\"", o->ca);
            ERR_clear_error();
            SSL_CTX_free(ctx);
            return NULL;
        }
        SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    return ctx;
}

struct ssl_ctx_st *tls_client_ctx_create(const struct tls_options *o, enum tls_mode mode,
                                         enum tls_setting *what, char *err, size_t errlen)
{
    SSL_CTX *ctx = ctx_common(TLS_client_method(), o, what, err, errlen);
    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_verify(ctx, mode == TLS_ON ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    return ctx;
}

struct ssl_ctx_st *tls_ctx_ref(struct ssl_ctx_st *ctx)
{
    SSL_CTX_up_ref(ctx);
    return ctx;
}

void tls_ctx_free(struct ssl_ctx_st *ctx)
{
    SSL_CTX_free(ctx);
}

/* ---- the BIO ------------------------------------------------------------ */

static BIO_METHOD *conn_bio_method;
static pthread_once_t conn_bio_once = PTHREAD_ONCE_INIT;

static int conn_bio_read(BIO *b, char *out, int len)
{
    struct tls_conn *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (t->early != NULL) {
        size_t n = HY_MIN((size_t)len, t->early_len - t->early_off);
        memcpy(out, t->early + t->early_off, n);
        t->early_off += n;
        if (t->early_off == t->early_len) {
            free(t->early);
            t->early = NULL;
        }
        return (int)n;
    }
    ssize_t n;
    do {
        n = recv(t->c->fd, out, (size_t)len, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BIO_set_retry_read(b);
    return (int)n;
}

static int conn_bio_write(BIO *b, const char *in, int len)
{
    struct tls_conn *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    ssize_t n;
    do {
        n = send(t->c->fd, in, (size_t)len, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        BIO_set_retry_write(b);
    return (int)n;
}

static long conn_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int conn_bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void conn_bio_setup(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "halyard conn");
    if (m == NULL)
        return;
    BIO_meth_set_read(m, conn_bio_read);
    BIO_meth_set_write(m, conn_bio_write);
    BIO_meth_set_ctrl(m, conn_bio_ctrl);
    BIO_meth_set_create(m, conn_bio_create);
    conn_bio_method = m;
}

/* ---- connection state --------------------------------------------------- */

static void tls_io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void tls_pending_cb(struct ev_loop *loop, ev_prepare *w, int revents);
static void tls_spin_cb(struct ev_loop *loop, ev_idle *w, int revents);

static void tls_conn_free(struct tls_conn *t)
{
    ev_io_stop(t->loop, &t->io);
    ev_prepare_stop(t->loop, &t->pending);
    ev_idle_stop(t->loop, &t->spin);
    if (t->ssl != NULL)
        SSL_free(t->ssl);
    free(t->early);
    free(t);
}

static hy_status_t tls_conn_new(struct conn *c, struct ev_loop *loop, SSL_CTX *ctx,
                                struct tls_conn **out)
{
    pthread_once(&conn_bio_once, conn_bio_setup);
    if (conn_bio_method == NULL)
        return HY_NOMEM;
    struct tls_conn *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return HY_NOMEM;
    t->c = c;
    t->loop = loop;
    ev_io_init(&t->io, tls_io_cb, c->fd, EV_READ);
    ev_prepare_init(&t->pending, tls_pending_cb);
    ev_idle_init(&t->spin, tls_spin_cb);
    ERR_clear_error();
    t->ssl = SSL_new(ctx);
    BIO *bio = BIO_new(conn_bio_method);
    if (t->ssl == NULL || bio == NULL) {
        BIO_free(bio);
        ERR_clear_error();
        tls_conn_free(t);
        return HY_NOMEM;
    }
    BIO_set_data(bio, t);
    SSL_set_bio(t->ssl, bio, bio);
    *out = t;
    return HY_OK;
}

/* Describe why the handshake or a later call failed. */
static void tls_note_error(struct tls_conn *t, int ssl_err, int sys_errno)
{
    /* Only a handshake verifies; a backend with tls = on accepts any
     * certificate, whose verify result then means nothing. */
    long vr = t->done != NULL ? SSL_get_verify_result(t->ssl) : X509_V_OK;
    if (vr != X509_V_OK) {
        snprintf(t->err, sizeof(t->err), "certificate verify failed: %s",
                 X509_verify_cert_error_string(vr));
        ERR_clear_error();
    } else if (ssl_err == SSL_ERROR_SYSCALL) {
        snprintf(t->err, sizeof(t->err), "%s",
                 sys_errno != 0 ? strerror(sys_errno) : "connection closed during TLS");
        ERR_clear_error();
    } else {
        char why[160];
        ssl_reason(why, sizeof(why), "TLS error");
        snprintf(t->err, sizeof(t->err), "%s", why);
    }
}

/* Watch what the handshake or an inverted call waits for. */
static void tls_io_update(struct tls_conn *t, int events)
{
    if (events == 0) {
        ev_io_stop(t->loop, &t->io);
        return;
    }
    if (ev_is_active(&t->io) && (t->io.events & (EV_READ | EV_WRITE)) == events)
        return;
    ev_io_stop(t->loop, &t->io);
    ev_io_set(&t->io, t->c->fd, events);
    ev_io_start(t->loop, &t->io);
}

static int tls_inverted_events(const struct tls_conn *t)
{
    return (t->read_wants_write ? EV_WRITE : 0) | (t->write_wants_read ? EV_READ : 0);
}

/* Bytes OpenSSL holds (read ahead, or decrypted past the owner's room),
 * or early bytes not yet handed to it, are announced by tls_pending_cb.
 * `got_data`: the last read returned data. After a read that wanted more
 * from the socket, whatever is held is a partial record: the socket will
 * say when the rest arrives, so nothing is announced (no spinning). */
static void tls_pending_update(struct tls_conn *t, bool got_data)
{
    t->more = (got_data && SSL_has_pending(t->ssl)) || t->early != NULL;
    if (t->more) {
        ev_prepare_start(t->loop, &t->pending);
    } else {
        ev_prepare_stop(t->loop, &t->pending);
        ev_idle_stop(t->loop, &t->spin);
    }
}

static void tls_pending_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)revents;
    struct tls_conn *t = container_of(w, struct tls_conn, pending);
    if (!t->more) {
        ev_prepare_stop(loop, &t->pending);
        ev_idle_stop(loop, &t->spin);
        return;
    }
    if (!ev_is_active(&t->c->rio)) {
        ev_idle_stop(loop, &t->spin); /* the owner does not read now: sleep */
        return;
    }
    ev_idle_start(loop, &t->spin);
    ev_feed_event(loop, &t->c->rio, EV_READ);
}

static void tls_spin_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)revents;
    ev_idle_stop(loop, w); /* tls_pending_cb starts it again if still needed */
}

/* One step of the handshake. Returns true when `done` was called (the
 * state may be gone). */
static bool tls_handshake_step(struct tls_conn *t)
{
    struct conn *c = t->c;
    /* The SSLRequest we queued goes out before the ClientHello. */
    if (c->out != NULL) {
        const uint8_t *p = c->out->data + c->out_head;
        ssize_t n;
        do {
            n = send(c->fd, p, c->out_tail - c->out_head, MSG_NOSIGNAL);
        } while (n < 0 && errno == EINTR);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            snprintf(t->err, sizeof(t->err), "%s", strerror(errno));
            goto failed;
        }
        if (n > 0)
            c->out_head += (uint32_t)n;
        if (c->out_head < c->out_tail) {
            tls_io_update(t, EV_WRITE);
            return false;
        }
        /* conn_flush_local() gives the empty buffer back later; the
         * transport only marks it drained. */
        c->out_head = c->out_tail = 0;
    }
    ERR_clear_error();
    errno = 0;
    int rc = SSL_do_handshake(t->ssl);
    if (rc == 1) {
        tls_io_update(t, 0);
        tls_done_fn done = t->done;
        t->done = NULL;
        tls_pending_update(t, true);
        done(c, true, NULL);
        return true;
    }
    int e = SSL_get_error(t->ssl, rc);
    if (e == SSL_ERROR_WANT_READ) {
        tls_io_update(t, EV_READ);
        return false;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        tls_io_update(t, EV_WRITE);
        return false;
    }
    tls_note_error(t, e, errno);
failed:
    tls_io_update(t, 0);
    tls_done_fn done = t->done;
    t->done = NULL;
    char why[sizeof(t->err)]; /* `done` may free `t` */
    memcpy(why, t->err, sizeof(why));
    done(c, false, why);
    return true;
}

static void tls_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct tls_conn *t = container_of(w, struct tls_conn, io);
    if (t->done != NULL) {
        tls_handshake_step(t);
        return;
    }
    /* An inverted wait is over: let the owner try again. Invoke one
     * callback at most; it may free us. */
    struct conn *c = t->c;
    if (t->read_wants_write && (revents & EV_WRITE)) {
        t->read_wants_write = false;
        tls_io_update(t, tls_inverted_events(t));
        ev_invoke(loop, &c->rio, EV_READ);
    } else if (t->write_wants_read && (revents & EV_READ)) {
        t->write_wants_read = false;
        tls_io_update(t, tls_inverted_events(t));
        ev_invoke(loop, &c->wio, EV_WRITE);
    }
}

static hy_status_t tls_start(struct conn *c, struct ev_loop *loop, SSL_CTX *ctx,
                             struct tls_conn **out)
{
    if (c->tls != NULL || ctx == NULL)
        return HY_ERROR;
    hy_status_t rc = tls_conn_new(c, loop, ctx, out);
    if (rc != HY_OK)
        return rc;
    ev_io_stop(loop, &c->rio);
    ev_io_stop(loop, &c->wio);
    c->tls = *out;
    c->ops = &transport_tls;
    return HY_OK;
}

hy_status_t tls_accept(struct conn *c, struct ev_loop *loop, struct ssl_ctx_st *ctx,
                       const void *early, size_t early_len, tls_done_fn done)
{
    uint8_t *copy = NULL;
    if (early_len > 0) {
        copy = malloc(early_len);
        if (copy == NULL)
            return HY_NOMEM;
        memcpy(copy, early, early_len);
    }
    struct tls_conn *t;
    hy_status_t rc = tls_start(c, loop, ctx, &t);
    if (rc != HY_OK) {
        free(copy);
        return rc;
    }
    t->early = copy;
    t->early_len = early_len;
    t->done = done;
    SSL_set_accept_state(t->ssl);
    /* The ClientHello may be in hand already: try at once. */
    tls_io_update(t, EV_READ);
    if (copy != NULL)
        ev_feed_event(loop, &t->io, EV_READ);
    return HY_OK;
}

hy_status_t tls_connect(struct conn *c, struct ev_loop *loop, struct ssl_ctx_st *ctx,
                        enum tls_mode mode, const char *host, tls_done_fn done)
{
    struct tls_conn *t;
    hy_status_t rc = tls_start(c, loop, ctx, &t);
    if (rc != HY_OK)
        return rc;
    t->done = done;
    SSL_set_connect_state(t->ssl);
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    if (!is_ip)
        SSL_set_tlsext_host_name(t->ssl, host); /* SNI takes names only */
    if (mode == TLS_VERIFY_FULL) {
        X509_VERIFY_PARAM *param = SSL_get0_param(t->ssl);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host)
                       : X509_VERIFY_PARAM_set1_host(param, host, 0);
        if (ok != 1) {
            ERR_clear_error();
            c->tls = NULL;
            c->ops = &transport_plain;
            tls_conn_free(t);
            return HY_ERROR;
        }
    }
    /* Send the ClientHello (after the queued SSLRequest) on the next turn
     * of the loop, so `done` never runs inside the caller. */
    tls_io_update(t, EV_WRITE);
    return HY_OK;
}

/* ---- the transport ------------------------------------------------------ */

static ssize_t tls_recv(struct conn *c, void *buf, size_t len)
{
    struct tls_conn *t = c->tls;
    if (len == 0) {
        errno = EAGAIN; /* no room: as a plain recv of 0 bytes must not read as EOF */
        return -1;
    }
    ERR_clear_error();
    errno = 0;
    int n = SSL_read(t->ssl, buf, (int)HY_MIN(len, (size_t)INT_MAX));
    if (n > 0) {
        tls_pending_update(t, true);
        return n;
    }
    int e = SSL_get_error(t->ssl, n);
    int saved = errno;
    switch (e) {
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_WANT_READ:
        tls_pending_update(t, false);
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        t->read_wants_write = true;
        tls_io_update(t, tls_inverted_events(t));
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_SYSCALL:
        if (saved == 0)
            return 0; /* EOF */
        tls_note_error(t, e, saved);
        errno = saved;
        return -1;
    default:
        tls_note_error(t, e, saved);
        errno = EPROTO;
        return -1;
    }
}

static ssize_t tls_send(struct conn *c, const void *buf, size_t len)
{
    struct tls_conn *t = c->tls;
    if (len == 0)
        return 0;
    ERR_clear_error();
    errno = 0;
    int n = SSL_write(t->ssl, buf, (int)HY_MIN(len, (size_t)INT_MAX));
    if (n > 0)
        return n;
    int e = SSL_get_error(t->ssl, n);
    int saved = errno;
    switch (e) {
    case SSL_ERROR_WANT_WRITE:
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_READ:
        t->write_wants_read = true;
        tls_io_update(t, tls_inverted_events(t));
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_SYSCALL:
        tls_note_error(t, e, saved);
        errno = saved != 0 ? saved : EPIPE;
        return -1;
    default:
        tls_note_error(t, e, saved);
        errno = EPROTO;
        return -1;
    }
}

static void tls_close(struct conn *c)
{
    struct tls_conn *t = c->tls;
    if (t == NULL)
        return;
    if (t->done == NULL && SSL_is_init_finished(t->ssl)) {
        /* One try at close_notify; never wait for the peer's. */
        ERR_clear_error();
        (void)SSL_shutdown(t->ssl);
        ERR_clear_error();
    }
    tls_conn_free(t);
    c->tls = NULL;
}

static const char *tls_error(const struct conn *c)
{
    return c->tls != NULL && c->tls->err[0] != '\0' ? c->tls->err : NULL;
}

const struct transport_ops transport_tls = {
    .name = "tls",
    .recv = tls_recv,
    .send = tls_send,
    .close = tls_close,
    .error = tls_error,
};

/* ---- information -------------------------------------------------------- */

/* A name of the client's verified certificate, one-line form. */
static bool peer_name(const struct conn *c, bool issuer, char *out, size_t len)
{
    if (c->tls == NULL || len == 0)
        return false;
    X509 *peer = SSL_get0_peer_certificate(c->tls->ssl);
    if (peer == NULL || SSL_get_verify_result(c->tls->ssl) != X509_V_OK)
        return false;
    X509_NAME *name = issuer ? X509_get_issuer_name(peer) : X509_get_subject_name(peer);
    return X509_NAME_oneline(name, out, (int)HY_MIN(len, (size_t)INT_MAX)) != NULL;
}

bool tls_peer_subject(const struct conn *c, char *out, size_t len)
{
    return peer_name(c, false, out, len);
}

bool tls_peer_issuer(const struct conn *c, char *out, size_t len)
{
    return peer_name(c, true, out, len);
}

void tls_describe(const struct conn *c, char *out, size_t len)
{
    if (c->tls == NULL) {
        snprintf(out, len, "plain");
        return;
    }
    snprintf(out, len, "%s %s", SSL_get_version(c->tls->ssl), SSL_get_cipher_name(c->tls->ssl));
}

const char *tls_status_name(enum tls_status_var v)
{
    static const char *const names[TLS_ST__COUNT] = {
        [TLS_ST_CIPHER] = "Ssl_cipher",
        [TLS_ST_CIPHER_LIST] = "Ssl_cipher_list",
        [TLS_ST_DEFAULT_TIMEOUT] = "Ssl_default_timeout",
        [TLS_ST_SERVER_NOT_AFTER] = "Ssl_server_not_after",
        [TLS_ST_SERVER_NOT_BEFORE] = "Ssl_server_not_before",
        [TLS_ST_SESSIONS_REUSED] = "Ssl_sessions_reused",
        [TLS_ST_VERIFY_DEPTH] = "Ssl_verify_depth",
        [TLS_ST_VERIFY_MODE] = "Ssl_verify_mode",
        [TLS_ST_VERSION] = "Ssl_version",
    };
    return (unsigned)v < TLS_ST__COUNT ? names[v] : "";
}

/* An ASN1 time as the server prints it ("Nov 22 08:23:05 2036 GMT"). */
static void asn1_time_text(const ASN1_TIME *t, char *out, size_t len)
{
    out[0] = '\0';
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        return;
    if (t != NULL && ASN1_TIME_print(bio, t) > 0) {
        int n = BIO_read(bio, out, (int)len - 1);
        out[n > 0 ? n : 0] = '\0';
    }
    BIO_free(bio);
}

/* The ciphers the connection allows, ':' between them (the server's
 * Ssl_cipher_list, from the same OpenSSL call). */
static void cipher_list_text(SSL *ssl, char *out, size_t len)
{
    size_t o = 0;
    out[0] = '\0';
    const char *c;
    for (int i = 0; (c = SSL_get_cipher_list(ssl, i)) != NULL; i++) {
        int n = snprintf(out + o, len - o, "%s%s", i > 0 ? ":" : "", c);
        if (n < 0 || (size_t)n >= len - o) {
            out[o] = '\0'; /* a whole cipher or none */
            return;
        }
        o += (size_t)n;
    }
}

void tls_status_value(const struct conn *c, enum tls_status_var v, char *out, size_t len)
{
    if (len == 0)
        return;
    SSL *ssl = c->tls != NULL ? c->tls->ssl : NULL;
    bool number = v == TLS_ST_DEFAULT_TIMEOUT || v == TLS_ST_SESSIONS_REUSED ||
                  v == TLS_ST_VERIFY_DEPTH || v == TLS_ST_VERIFY_MODE;
    if (ssl == NULL) {
        snprintf(out, len, "%s", number ? "0" : "");
        return;
    }
    X509 *cert = SSL_get_certificate(ssl);
    switch (v) {
    case TLS_ST_CIPHER:
        snprintf(out, len, "%s", SSL_get_cipher_name(ssl));
        break;
    case TLS_ST_CIPHER_LIST:
        cipher_list_text(ssl, out, len);
        break;
    case TLS_ST_DEFAULT_TIMEOUT:
        snprintf(out, len, "%ld", (long)SSL_get_default_timeout(ssl));
        break;
    case TLS_ST_SERVER_NOT_AFTER:
        asn1_time_text(cert != NULL ? X509_get0_notAfter(cert) : NULL, out, len);
        break;
    case TLS_ST_SERVER_NOT_BEFORE:
        asn1_time_text(cert != NULL ? X509_get0_notBefore(cert) : NULL, out, len);
        break;
    case TLS_ST_SESSIONS_REUSED:
        snprintf(out, len, "%d", SSL_session_reused(ssl) ? 1 : 0);
        break;
    case TLS_ST_VERIFY_DEPTH:
        /* the server prints OpenSSL's int as an unsigned 64-bit value */
        snprintf(out, len, "%llu", (unsigned long long)(long long)SSL_get_verify_depth(ssl));
        break;
    case TLS_ST_VERIFY_MODE:
        snprintf(out, len, "%d", SSL_get_verify_mode(ssl));
        break;
    case TLS_ST_VERSION:
        snprintf(out, len, "%s", SSL_get_version(ssl));
        break;
    case TLS_ST__COUNT:
        out[0] = '\0';
        break;
    }
}

const char *tls_mode_to_str(enum tls_mode m)
{
    switch (m) {
    case TLS_OFF:
        return "off";
    case TLS_ON:
        return "on";
    case TLS_VERIFY_CA:
        return "verify-ca";
    case TLS_VERIFY_FULL:
        return "verify-full";
    case TLS_DEFAULT:
        break;
    }
    return "default";
}

/* ---- an SSL driven by its owner ------------------------------------------ */

hy_status_t tls_ssl_send(SSL *ssl, const char *data, size_t len, size_t *off)
{
    while (*off < len) {
        ERR_clear_error();
        int n = SSL_write(ssl, data + *off, (int)HY_MIN(len - *off, (size_t)1 << 30));
        if (n > 0) {
            *off += (size_t)n;
            continue;
        }
        int e = SSL_get_error(ssl, n);
        return e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ? HY_AGAIN : HY_ERROR;
    }
    return HY_OK;
}

ssize_t tls_ssl_recv(SSL *ssl, void *buf, size_t room, bool *wants_write)
{
    ERR_clear_error();
    int n = SSL_read(ssl, buf, (int)HY_MIN(room, (size_t)INT_MAX));
    if (n > 0)
        return n;
    switch (SSL_get_error(ssl, n)) {
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_WANT_WRITE:
        *wants_write = true;
        /* fall through */
    case SSL_ERROR_WANT_READ:
        errno = EAGAIN;
        return -1;
    default:
        errno = EIO;
        return -1;
    }
}
