/*
 * sqlclient.c: see sqlclient.h.
 *
 * One connection is a small state machine driven by its socket's read and
 * write watchers and one timer bounding the operation in flight:
 *
 *   CLOSED -> CONNECTING -> GREETING -> [TLS ->] AUTH -> READY <-> QUERY | PING
 *      ^------------------- any failure or timeout --------------'
 *
 * Packets are read whole into `in` (growing up to one maximal packet) and
 * handled one by one; what we send is built whole in `out`, zeroed once
 * sent (a login's password token goes out from it). All three buffers are
 * core/textbuf's, `in` received into its room and consumed from the front. The callback of
 * an operation runs once, last thing before the handler returns, so a
 * callback may start the next operation or destroy the client (`in_cb`
 * defers the free until the handler has unwound).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "halyard/core/grow.h"
#include "halyard/core/textbuf.h"
#include "halyard/protocol/conn.h"
#include "halyard/protocol/connreg.h"
#include "halyard/protocol/mysql_client.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/protocol/sqlclient.h"
#include "halyard/protocol/tls.h"

#define CHARSET_UTF8MB4_GENERAL_CI 45
#define CLIENT_CAPS                                                                                \
    (CLIENT_LONG_PASSWORD | CLIENT_LONG_FLAG | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION |     \
     CLIENT_TRANSACTIONS | CLIENT_MULTI_RESULTS | CLIENT_PS_MULTI_RESULTS)

#define STREAM_BITE (1u << 20) /* bytes of a stream read per wake-up, at most (about) */

enum sc_state {
    SC_CLOSED = 0,
    SC_CONNECTING,
    SC_GREETING,
    SC_TLS, /* SSLRequest sent, TLS handshake running */
    SC_AUTH,
    SC_READY,
    SC_QUERY,
    SC_PING,   /* or any command answered by OK or ERR */
    SC_STREAM, /* sqlclient_stream: packets to `pkt` */
    SC_RAW,    /* sqlclient_raw: packets to `raw` */
    SC_ROWS,   /* sqlclient_query_rows: SC_QUERY, each row to `row` */
};

struct sqlclient {
    struct ev_loop *loop;
    char *name, *address, *user, *password;
    int port;
    int timeout_ms;
    struct conn conn; /* socket, watchers, transport (plain or TLS) */
    enum tls_mode tls;
    struct ssl_ctx_st *tls_ctx; /* a reference, NULL without TLS */
    ev_timer timer;
    ev_tstamp deadline;           /* connecting: end of the connect + login budget */
    struct resolve_target target; /* connecting: the addresses and the next to try */
    enum sc_state state;
    uint8_t seq;               /* sequence id of the last packet seen or sent */
    struct mysql_client login; /* mysql_client.h */

    struct textbuf in; /* received; [in_off, in.len) not handled yet */
    size_t in_off;
    struct textbuf out; /* to send; [out_off, out.len) not sent yet */
    size_t out_off;

    sqlclient_cb cb;
    void *arg;
    sqlclient_packet_cb pkt; /* SC_STREAM */
    sqlclient_raw_cb raw;    /* SC_RAW */
    sqlclient_row_cb row;    /* SC_ROWS */
    uint8_t h1[20], h2[20];  /* a client user's tokens (have_tokens) */
    bool have_tokens;
    uint32_t old_hash[2]; /* ... or its mysql_old_password hash (have_old) */
    bool have_old;
    char *db;
    uint8_t charset;
    uint32_t extra_caps, ext_caps;
    struct textbuf big; /* SC_STREAM: a packet of 16 MiB continuations, joined */
    struct sqlresult_parser parser;
    char deferred[200]; /* a failure found while starting, reported from the loop */
    bool has_deferred;
    int sys_errno; /* the errno of the failure about to be reported (sqlresult.sys_errno) */

    int in_cb;
    bool doomed;
    struct connreg_entry reg; /* listed while logged in (connreg.h) */
    uint32_t session;         /* ... serving this halyard session (0 = none) */
};

/* ---- results ------------------------------------------------------------ */

int sqlresult_col(const struct sqlresult *res, const char *name)
{
    for (size_t i = 0; i < res->n_cols; i++) {
        if (res->col_names[i] != NULL && strcasecmp(res->col_names[i], name) == 0)
            return (int)i;
    }
    return -1;
}

const char *sqlresult_get(const struct sqlresult *res, size_t row, int col)
{
    if (row >= res->n_rows || col < 0 || (size_t)col >= res->n_cols)
        return NULL;
    return res->rows[row][col];
}

void sqlresult_clear(struct sqlresult *res)
{
    for (size_t i = 0; i < res->n_cols; i++)
        free(res->col_names[i]);
    free(res->col_names);
    for (size_t r = 0; r < res->n_rows; r++)
        free(res->rows[r]);
    free(res->rows);
    memset(res, 0, sizeof(*res));
}

/* ---- the result parser ---------------------------------------------------- */

enum {
    P_FIRST = 0, /* the first packet of a result */
    P_COLS,      /* column definitions */
    P_COLS_EOF,  /* the EOF after them */
    P_ROWS,      /* rows until EOF */
};

void sqlresult_parser_init(struct sqlresult_parser *p)
{
    memset(p, 0, sizeof(*p));
}

static hy_status_t parse_fail(struct sqlresult_parser *p, const char *why)
{
    p->res.ok = false;
    p->res.err_code = 0;
    snprintf(p->res.err_msg, sizeof(p->res.err_msg), "%s", why);
    return HY_ERROR;
}

static void set_err(struct sqlresult *res, const uint8_t *payload, size_t len)
{
    struct mysql_err e;
    res->ok = false;
    if (mysql_err_decode(payload, len, &e) != HY_OK) {
        res->err_code = 0;
        snprintf(res->err_msg, sizeof(res->err_msg), "malformed ERR packet");
        return;
    }
    res->err_code = e.code;
    memcpy(res->sqlstate, e.sqlstate, sizeof(res->sqlstate));
    snprintf(res->err_msg, sizeof(res->err_msg), "%.*s", (int)HY_MIN(e.msg_len, 255), e.msg);
}

static bool account(struct sqlresult_parser *p, size_t n)
{
    p->bytes += n;
    return p->bytes <= SQLCLIENT_MAX_RESULT;
}

/* The end of one result (an OK, or the EOF after rows) with `status`:
 * HY_OK when it was the last, HY_AGAIN when another follows. */
static hy_status_t result_end(struct sqlresult_parser *p, uint16_t status, uint16_t warnings)
{
    if (!p->first_done) {
        p->res.ok = true;
        p->res.status = status;
        p->res.warnings = warnings;
        p->first_done = true;
    }
    p->phase = P_FIRST;
    return (status & SERVER_MORE_RESULTS_EXISTS) ? HY_AGAIN : HY_OK;
}

hy_status_t sqlresult_parser_feed(struct sqlresult_parser *p, const uint8_t *payload, size_t len)
{
    struct sqlresult *res = &p->res;
    if (len == 0)
        return parse_fail(p, "empty packet in a result");
    uint8_t first = payload[0];
    bool keep = !p->first_done;
    switch (p->phase) {
    case P_FIRST:
        if (first == MYSQL_OK) {
            struct mysql_ok ok;
            if (mysql_ok_decode(payload, len, CLIENT_CAPS, &ok) != HY_OK)
                return parse_fail(p, "malformed OK packet");
            if (keep)
                res->affected = ok.affected_rows;
            return result_end(p, ok.status, ok.warnings);
        }
        if (first == MYSQL_ERR) {
            set_err(res, payload, len);
            return HY_OK; /* an ERR ends the whole answer */
        }
        if (first == MYSQL_LOCAL_INFILE)
            return parse_fail(p, "LOAD DATA LOCAL is not supported");
        {
            struct mysql_rd rd;
            mysql_rd_init(&rd, payload, len);
            uint64_t n = mysql_rd_lenenc(&rd);
            if (rd.bad || n == 0 || n > 4096)
                return parse_fail(p, "malformed column count");
            p->cols_seen = 0;
            p->phase = P_COLS;
            if (keep) {
                res->n_cols = (size_t)n;
                res->col_names = calloc((size_t)n, sizeof(char *));
                if (res->col_names == NULL)
                    return parse_fail(p, "out of memory");
            } else {
                p->skip_cols = (size_t)n;
            }
        }
        return HY_AGAIN;
    case P_COLS: {
        struct mysql_rd rd;
        mysql_rd_init(&rd, payload, len);
        size_t nlen = 0;
        for (int i = 0; i < 4; i++) /* catalog, schema, table, org_table */
            mysql_rd_lenenc_str(&rd, &nlen);
        const uint8_t *name = mysql_rd_lenenc_str(&rd, &nlen);
        if (rd.bad)
            return parse_fail(p, "malformed column definition");
        if (keep) {
            if (!account(p, nlen + 1))
                return parse_fail(p, "result too large");
            char *s = malloc(nlen + 1);
            if (s == NULL)
                return parse_fail(p, "out of memory");
            memcpy(s, name, nlen);
            s[nlen] = '\0';
            res->col_names[p->cols_seen] = s;
        }
        p->cols_seen++;
        if (p->cols_seen == (keep ? res->n_cols : p->skip_cols))
            p->phase = P_COLS_EOF;
        return HY_AGAIN;
    }
    case P_COLS_EOF:
        if (!mysql_is_eof(first, (uint32_t)len, false))
            return parse_fail(p, "missing EOF after the column definitions");
        p->phase = P_ROWS;
        if (keep)
            p->head_bytes = p->bytes;
        return HY_AGAIN;
    case P_ROWS: {
        if (mysql_is_eof(first, (uint32_t)len, false)) {
            uint16_t warnings = 0, status = 0;
            if (mysql_eof_decode(payload, len, &warnings, &status) != HY_OK)
                return parse_fail(p, "malformed EOF packet");
            return result_end(p, status, warnings);
        }
        if (first == MYSQL_ERR) {
            set_err(res, payload, len);
            return HY_OK;
        }
        if (!keep)
            return HY_AGAIN;
        size_t ncols = res->n_cols;
        /* One block: the cell pointers, then the strings. */
        size_t need = ncols * sizeof(char *) + len + ncols;
        if (!account(p, need))
            return parse_fail(p, "result too large");
        char **row = malloc(need);
        if (row == NULL)
            return parse_fail(p, "out of memory");
        char *text = (char *)(row + ncols);
        struct mysql_rd rd;
        mysql_rd_init(&rd, payload, len);
        for (size_t c = 0; c < ncols; c++) {
            if (mysql_rd_left(&rd) > 0 && *rd.p == 0xfb) {
                mysql_rd_u8(&rd);
                row[c] = NULL;
                continue;
            }
            size_t n = 0;
            const uint8_t *v = mysql_rd_lenenc_str(&rd, &n);
            if (rd.bad)
                break;
            memcpy(text, v, n);
            text[n] = '\0';
            row[c] = text;
            text += n + 1;
        }
        if (rd.bad || mysql_rd_left(&rd) != 0) {
            free(row);
            return parse_fail(p, "malformed row");
        }
        if (res->n_rows == p->rows_cap && !HY_GROW(res->rows, p->rows_cap, 8)) {
            free(row);
            return parse_fail(p, "out of memory");
        }
        res->rows[res->n_rows++] = row;
        return HY_AGAIN;
    }
    }
    return parse_fail(p, "parser in an impossible phase");
}

void sqlresult_parser_drop_rows(struct sqlresult_parser *p)
{
    for (size_t r = 0; r < p->res.n_rows; r++)
        free(p->res.rows[r]);
    p->res.n_rows = 0;
    p->bytes = p->head_bytes;
}

/* ---- the connection ------------------------------------------------------- */

static void io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void timer_cb(struct ev_loop *loop, ev_timer *t, int revents);
static void connect_failed(struct sqlclient *c, int err);

static char *dup_or_empty(const char *s)
{
    return strdup(s != NULL ? s : "");
}

struct sqlclient *sqlclient_create(struct ev_loop *loop, const struct sqlclient_target *t,
                                   int timeout_ms)
{
    struct sqlclient *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->loop = loop;
    textbuf_init(&c->in, SIZE_MAX / 2); /* no limit of its own: the packet checks are */
    textbuf_init(&c->out, SIZE_MAX / 2);
    textbuf_init(&c->big, SQLCLIENT_MAX_STREAM_PACKET);
    conn_init(&c->conn, -1);
    c->port = t->port;
    c->tls = t->tls == TLS_DEFAULT ? TLS_OFF : (enum tls_mode)t->tls;
    if (c->tls != TLS_OFF) {
        if (t->tls_ctx == NULL) {
            free(c);
            return NULL;
        }
        c->tls_ctx = tls_ctx_ref(t->tls_ctx);
    }
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 1000;
    c->name = dup_or_empty(t->name);
    c->address = dup_or_empty(t->address);
    c->user = dup_or_empty(t->user);
    c->password = dup_or_empty(t->password);
    if (t->h2 != NULL && t->h1 != NULL) {
        memcpy(c->h1, t->h1, sizeof(c->h1));
        memcpy(c->h2, t->h2, sizeof(c->h2));
        c->have_tokens = true;
    }
    if (t->old_hash != NULL) {
        memcpy(c->old_hash, t->old_hash, sizeof(c->old_hash));
        c->have_old = true;
    }
    c->db = t->db != NULL ? strdup(t->db) : NULL;
    c->charset = t->charset != 0 ? t->charset : CHARSET_UTF8MB4_GENERAL_CI;
    c->extra_caps = t->extra_caps;
    c->ext_caps = t->ext_caps;
    c->session = t->session;
    if (c->name == NULL || c->address == NULL || c->user == NULL || c->password == NULL ||
        (t->db != NULL && c->db == NULL)) {
        sqlclient_destroy(c);
        return NULL;
    }
    ev_init(&c->conn.rio, io_cb);
    ev_init(&c->conn.wio, io_cb);
    ev_init(&c->timer, timer_cb);
    c->conn.rio.data = c;
    c->conn.wio.data = c;
    c->timer.data = c;
    return c;
}

/* Empty a received buffer (`in`, `big`) without writing to it: a
 * callback that closed the client may still read its packet there. */
static void drop(struct textbuf *b)
{
    b->len = 0;
    b->overflow = false;
}

/* Empty `out`, zeroing what it held: a login's password token is sent
 * from it, and nothing sent stays in memory. */
static void out_wipe(struct sqlclient *c)
{
    textbuf_wipe(&c->out);
    c->out_off = 0;
}

static void close_socket(struct sqlclient *c)
{
    connreg_remove(&c->reg);
    ev_timer_stop(c->loop, &c->timer);
    conn_close(&c->conn, c->loop, NULL); /* stops the watchers; `conn.out` is never used */
    c->state = SC_CLOSED;
    drop(&c->in);
    c->in_off = 0;
    out_wipe(c);
    c->has_deferred = false;
    c->pkt = NULL;
    drop(&c->big);
    sqlresult_clear(&c->parser.res);
}

void sqlclient_close(struct sqlclient *c)
{
    if (c == NULL)
        return;
    c->cb = NULL;
    close_socket(c);
}

static void really_free(struct sqlclient *c)
{
    textbuf_free(&c->in);
    textbuf_free(&c->out);
    textbuf_free(&c->big);
    free(c->name);
    free(c->address);
    free(c->user);
    tls_ctx_free(c->tls_ctx);
    explicit_bzero(c->h1, sizeof(c->h1));
    explicit_bzero(c->h2, sizeof(c->h2));
    explicit_bzero(c->old_hash, sizeof(c->old_hash));
    free(c->db);
    if (c->password != NULL) {
        explicit_bzero(c->password, strlen(c->password));
        free(c->password);
    }
    free(c);
}

void sqlclient_destroy(struct sqlclient *c)
{
    if (c == NULL)
        return;
    sqlclient_close(c);
    if (c->in_cb > 0) {
        c->doomed = true; /* freed when the callback returns */
        return;
    }
    really_free(c);
}

bool sqlclient_ready(const struct sqlclient *c)
{
    return c->state == SC_READY;
}

uint32_t sqlclient_thread_id(const struct sqlclient *c)
{
    return c->login.thread_id;
}

const char *sqlclient_server_version(const struct sqlclient *c)
{
    return c->login.version;
}

void sqlclient_set_timeout(struct sqlclient *c, int timeout_ms)
{
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : c->timeout_ms;
}

/* After a callback (begun with c->in_cb++): false when the client was
 * destroyed in it (and is freed now: touch nothing). */
static bool survived(struct sqlclient *c)
{
    c->in_cb--;
    if (c->doomed && c->in_cb == 0) {
        really_free(c);
        return false;
    }
    return true;
}

/* Run the operation's callback with `res`; the client may be gone after. */
static void complete(struct sqlclient *c, const struct sqlresult *res)
{
    ev_timer_stop(c->loop, &c->timer);
    sqlclient_cb cb = c->cb;
    void *arg = c->arg;
    c->cb = NULL;
    if (cb == NULL)
        return;
    c->in_cb++;
    cb(c, res, arg);
    (void)survived(c);
}

/* The operation failed: close, then report. err_code 0 = local failure. */
static void fail(struct sqlclient *c, uint16_t code, const char *sqlstate, const char *fmt, ...)
    HY_PRINTF(4, 5);

static void fail(struct sqlclient *c, uint16_t code, const char *sqlstate, const char *fmt, ...)
{
    struct sqlresult res = {0};
    res.err_code = code;
    res.sys_errno = code == 0 ? c->sys_errno : 0;
    c->sys_errno = 0;
    snprintf(res.sqlstate, sizeof(res.sqlstate), "%s", sqlstate != NULL ? sqlstate : "HY000");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res.err_msg, sizeof(res.err_msg), fmt, ap);
    va_end(ap);
    close_socket(c);
    complete(c, &res);
}

static void fail_server(struct sqlclient *c, const uint8_t *payload, size_t len)
{
    struct sqlresult res = {0};
    set_err(&res, payload, len);
    close_socket(c);
    complete(c, &res);
}

/* Push `out` to the socket; the write watcher runs while some is left. */
static hy_status_t flush_out(struct sqlclient *c)
{
    while (c->out_off < c->out.len) {
        ssize_t n = c->conn.ops->send(&c->conn, c->out.data + c->out_off, c->out.len - c->out_off);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                ev_io_start(c->loop, &c->conn.wio);
                return HY_AGAIN;
            }
            return HY_ERROR;
        }
        c->out_off += (size_t)n;
    }
    out_wipe(c);
    ev_io_stop(c->loop, &c->conn.wio);
    return HY_OK;
}

/* Queue one packet of `len` payload bytes with sequence id `seq`. */
static hy_status_t send_packet(struct sqlclient *c, const void *payload, size_t len, uint8_t seq)
{
    if (len >= MYSQL_MAX_PAYLOAD)
        return HY_ERROR;
    uint8_t *o = (uint8_t *)textbuf_extend(&c->out, MYSQL_HEADER_SIZE + len);
    if (o == NULL)
        return HY_NOMEM;
    mysql_hdr_write(o, (uint32_t)len, seq);
    memcpy(o + MYSQL_HEADER_SIZE, payload, len);
    c->seq = seq;
    hy_status_t rc = flush_out(c);
    return rc == HY_AGAIN ? HY_OK : rc;
}

static void start_timer(struct sqlclient *c)
{
    ev_timer_stop(c->loop, &c->timer);
    ev_timer_set(&c->timer, c->timeout_ms / 1000.0, 0.);
    ev_timer_start(c->loop, &c->timer);
}

/* A failure found while starting an operation is reported from the loop,
 * never from inside the call that started it. */
static void defer_fail(struct sqlclient *c, const char *fmt, ...) HY_PRINTF(2, 3);

static void defer_fail(struct sqlclient *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->deferred, sizeof(c->deferred), fmt, ap);
    va_end(ap);
    c->has_deferred = true;
    ev_timer_stop(c->loop, &c->timer);
    ev_timer_set(&c->timer, 0., 0.);
    ev_timer_start(c->loop, &c->timer);
}

hy_status_t sqlclient_connect(struct sqlclient *c, sqlclient_cb cb, void *arg)
{
    if (c->cb != NULL || c->state != SC_CLOSED)
        return HY_ERROR;
    c->cb = cb;
    c->arg = arg;
    c->seq = 0;
    char why[160];
    /* the resolver's cache: never a wait for a name (resolve.h) */
    if (resolve_target_init(&c->target, c->address, c->port, why, sizeof(why)) != HY_OK) {
        defer_fail(c, "connect to %s:%d: %s", c->address, c->port, why);
        return HY_OK;
    }
    c->deadline = ev_now(c->loop) + c->timeout_ms / 1000.0;
    if (!conn_connect_next(&c->conn, c->loop, &c->target, &c->timer, c->deadline)) {
        c->sys_errno = errno;
        defer_fail(c, "connect to %s:%d: %s", c->address, c->port, strerror(errno));
        return HY_OK;
    }
    c->state = SC_CONNECTING;
    return HY_OK;
}

/* The connect to the current address failed (errno `err`): the next
 * address within the same budget, or the operation fails. */
static void connect_failed(struct sqlclient *c, int err)
{
    while (resolve_target_left(&c->target) > 0) {
        conn_close(&c->conn, c->loop, NULL);
        if (conn_connect_next(&c->conn, c->loop, &c->target, &c->timer, c->deadline))
            return;
        err = errno;
    }
    const char *why = strerror(err);
    c->sys_errno = err;
    fail(c, 0, NULL, "connect to %s:%d: %s", c->address, c->port, why);
}

static hy_status_t start_command(struct sqlclient *c, enum sc_state st, uint8_t cmd,
                                 const void *text, size_t len, sqlclient_cb cb, void *arg)
{
    if (c->cb != NULL || c->state != SC_READY)
        return HY_ERROR;
    if (len + 1 >= MYSQL_MAX_PAYLOAD)
        return HY_ERROR;
    c->cb = cb;
    c->arg = arg;
    c->state = st;
    sqlresult_clear(&c->parser.res);
    sqlresult_parser_init(&c->parser);
    start_timer(c);
    uint8_t *o = (uint8_t *)textbuf_extend(&c->out, MYSQL_HEADER_SIZE + 1 + len);
    if (o == NULL) {
        defer_fail(c, "out of memory");
        return HY_OK;
    }
    mysql_hdr_write(o, (uint32_t)(1 + len), 0);
    o[MYSQL_HEADER_SIZE] = cmd;
    if (len > 0)
        memcpy(o + MYSQL_HEADER_SIZE + 1, text, len);
    c->seq = 0;
    if (flush_out(c) == HY_ERROR) {
        c->sys_errno = errno;
        defer_fail(c, "send: %s", strerror(errno));
    }
    return HY_OK;
}

hy_status_t sqlclient_query(struct sqlclient *c, const char *sql, sqlclient_cb cb, void *arg)
{
    return start_command(c, SC_QUERY, COM_QUERY, sql, strlen(sql), cb, arg);
}

hy_status_t sqlclient_ping(struct sqlclient *c, sqlclient_cb cb, void *arg)
{
    return start_command(c, SC_PING, COM_PING, NULL, 0, cb, arg);
}

hy_status_t sqlclient_command(struct sqlclient *c, uint8_t cmd, const void *payload, size_t len,
                              sqlclient_cb cb, void *arg)
{
    return start_command(c, SC_PING, cmd, payload, len, cb, arg);
}

hy_status_t sqlclient_stream(struct sqlclient *c, uint8_t cmd, const void *payload, size_t len,
                             sqlclient_packet_cb pkt, sqlclient_cb cb, void *arg)
{
    hy_status_t rc = start_command(c, SC_STREAM, cmd, payload, len, cb, arg);
    if (rc == HY_OK) {
        c->pkt = pkt;
        drop(&c->big);
    }
    return rc;
}

hy_status_t sqlclient_raw(struct sqlclient *c, uint8_t cmd, const void *payload, size_t len,
                          sqlclient_raw_cb pkt, sqlclient_cb cb, void *arg)
{
    hy_status_t rc = start_command(c, SC_RAW, cmd, payload, len, cb, arg);
    if (rc == HY_OK)
        c->raw = pkt;
    return rc;
}

hy_status_t sqlclient_query_rows(struct sqlclient *c, const char *sql, sqlclient_row_cb row,
                                 sqlclient_cb cb, void *arg)
{
    hy_status_t rc = start_command(c, SC_ROWS, COM_QUERY, sql, strlen(sql), cb, arg);
    if (rc == HY_OK)
        c->row = row;
    return rc;
}

/* A row the parser just kept (SC_ROWS): to `row`, then dropped. Returns
 * as on_packet does. */
static bool row_packet(struct sqlclient *c)
{
    start_timer(c); /* the timeout bounds the silence between rows */
    c->in_cb++;
    c->row(c, &c->parser.res, c->arg);
    if (!survived(c) || c->state != SC_ROWS)
        return false;
    sqlresult_parser_drop_rows(&c->parser);
    return true;
}

/* A packet of a raw answer. Returns as on_packet does. */
static bool raw_packet(struct sqlclient *c, const uint8_t *p, size_t len)
{
    start_timer(c); /* the timeout bounds the silence between packets */
    c->in_cb++;
    int r = c->raw(c, p, len, c->arg);
    if (!survived(c) || c->state != SC_RAW)
        return false;
    if (r == SQLCLIENT_RAW_MORE)
        return true;
    if (r == SQLCLIENT_RAW_FAIL) {
        fail(c, 0, NULL, "an answer halyard cannot read");
        return false;
    }
    c->state = SC_READY;
    struct sqlresult res = {.ok = true};
    complete(c, &res);
    return false;
}

/* A packet of a stream. Returns as on_packet does. */
static bool stream_packet(struct sqlclient *c, const uint8_t *p, size_t len)
{
    start_timer(c); /* the timeout bounds the silence between packets */
    bool joined = false;
    if (len == MYSQL_MAX_PAYLOAD || c->big.len > 0) {
        if (c->big.len + len > SQLCLIENT_MAX_STREAM_PACKET) {
            fail(c, 0, NULL, "a packet of more than %u bytes", SQLCLIENT_MAX_STREAM_PACKET);
            return false;
        }
        textbuf_append(&c->big, p, len);
        if (c->big.overflow) {
            fail(c, 0, NULL, "out of memory");
            return false;
        }
        if (len == MYSQL_MAX_PAYLOAD)
            return true; /* more of it follows */
        p = (const uint8_t *)c->big.data;
        len = c->big.len;
        joined = true; /* emptied once pkt has read it */
    } else if (len > 0 && p[0] == MYSQL_ERR) {
        fail_server(c, p, len);
        return false;
    } else if (len > 0 && mysql_is_eof(p[0], (uint32_t)len, false)) {
        close_socket(c);
        struct sqlresult res = {.ok = true};
        complete(c, &res);
        return false;
    }
    c->in_cb++;
    bool go_on = c->pkt(c, p, len, c->arg);
    if (!survived(c))
        return false;
    if (joined)
        drop(&c->big);
    return go_on && c->state == SC_STREAM;
}

static void timer_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    struct sqlclient *c = t->data;
    if (c->has_deferred) {
        c->has_deferred = false;
        char why[sizeof(c->deferred)];
        memcpy(why, c->deferred, sizeof(why));
        fail(c, 0, NULL, "%s", why);
        return;
    }
    if (c->state == SC_CONNECTING && resolve_target_left(&c->target) > 0) {
        connect_failed(c, ETIMEDOUT);
        return;
    }
    fail(c, 0, NULL, "timeout after %d ms", c->timeout_ms);
}

/* Who logs in: the monitor's or failover's user, with its password. */
static void login_creds(const struct sqlclient *c, struct mysql_client_creds *cr)
{
    *cr = (struct mysql_client_creds){
        .user = c->user,
        .db = c->db,
        .password = c->password,
        .h1 = c->have_tokens ? c->h1 : NULL,
        .h2 = c->have_tokens ? c->h2 : NULL,
        .old_hash = c->have_old ? c->old_hash : NULL,
        .charset = c->charset,
        .max_packet = 0x1000000u,
        .want_caps = CLIENT_CAPS | c->extra_caps | (c->db != NULL ? CLIENT_CONNECT_WITH_DB : 0u),
        .want_ext_caps = c->ext_caps,
        .need_ext_caps = c->ext_caps,
        .tls = c->tls,
    };
}

/* Send the packet a login step left in `out`, then wipe it (it may hold
 * the password's token). The copy queued in c->out is wiped by flush_out
 * once it is on the wire (or by close_socket if it never gets there). */
static hy_status_t login_send(struct sqlclient *c, uint8_t *out)
{
    size_t n = c->login.out_len;
    hy_status_t rc = send_packet(c, out + MYSQL_HEADER_SIZE, n - MYSQL_HEADER_SIZE, c->login.seq);
    explicit_bzero(out, n);
    return rc;
}

static void tls_done(struct conn *conn, bool ok, const char *why)
{
    struct sqlclient *c = container_of(conn, struct sqlclient, conn);
    if (ok) {
        struct mysql_client_creds cr;
        login_creds(c, &cr);
        uint8_t out[MYSQL_CLIENT_OUT_MAX];
        if (mysql_client_tls_done(&c->login, &cr, out) != MYSQL_CLIENT_SEND ||
            login_send(c, out) != HY_OK) {
            ok = false;
            why = "cannot send the login";
        }
    }
    if (!ok) {
        fail(c, 0, NULL, "%s:%d: TLS (tls = %s): %s", c->address, c->port, tls_mode_to_str(c->tls),
             why);
        return;
    }
    c->state = SC_AUTH;
    ev_io_start(c->loop, &c->conn.rio);
}

/* A login packet (SC_GREETING, SC_AUTH). Returns as on_packet does. */
static bool login_packet(struct sqlclient *c, const uint8_t *p, size_t len)
{
    struct mysql_client_creds cr;
    login_creds(c, &cr);
    uint8_t out[MYSQL_CLIENT_OUT_MAX];
    bool greeting = c->state == SC_GREETING;
    enum mysql_client_step step = mysql_client_packet(&c->login, &cr, c->seq, p, len, out);
    /* Listed as soon as the greeting names its thread: the server counts
     * it from its accept (Threads_connected, the process list). */
    if (c->login.thread_id != 0 && !c->reg.listed)
        connreg_add(&c->reg, connreg_server(c->address, c->port), c->login.thread_id);
    switch (step) {
    case MYSQL_CLIENT_REFUSED:
        fail_server(c, p, len);
        return false;
    case MYSQL_CLIENT_READY: {
        c->state = SC_READY;
        connreg_serve(&c->reg, c->session);
        struct sqlresult res = {.ok = true};
        complete(c, &res);
        return false;
    }
    case MYSQL_CLIENT_FAILED:
        if (c->login.fail == MYSQL_CLIENT_BAD_PLUGIN)
            fail(c, 0, NULL, "the server asks for an authentication method other than %s",
                 MYSQL_CLIENT_PLUGIN);
        else if (greeting)
            fail(c, 0, NULL, "%s:%d: %s", c->address, c->port, c->login.why);
        else
            fail(c, 0, NULL, "%s", c->login.why);
        return false;
    case MYSQL_CLIENT_TLS:
        if (login_send(c, out) != HY_OK) {
            fail(c, 0, NULL, "%s:%d: cannot send the SSLRequest", c->address, c->port);
            return false;
        }
        if (c->out.len > 0) { /* 36 bytes on a fresh socket: never short in practice */
            fail(c, 0, NULL, "%s:%d: cannot send the SSLRequest at once", c->address, c->port);
            return false;
        }
        if (tls_connect(&c->conn, c->loop, c->tls_ctx, c->tls, c->address, tls_done) != HY_OK) {
            fail(c, 0, NULL, "%s:%d: cannot start TLS", c->address, c->port);
            return false;
        }
        c->state = SC_TLS;
        return false; /* the login follows in tls_done */
    case MYSQL_CLIENT_SEND:
        if (login_send(c, out) != HY_OK) {
            if (greeting)
                fail(c, 0, NULL, "%s:%d: cannot send the login", c->address, c->port);
            else
                fail(c, 0, NULL, "the server asks for an authentication method other than %s",
                     MYSQL_CLIENT_PLUGIN);
            return false;
        }
        c->state = SC_AUTH;
        return true;
    }
    return false;
}

/* Handle one whole packet. Returns false when the operation completed or
 * failed (the client may be gone: touch nothing). */
static bool on_packet(struct sqlclient *c, const uint8_t *p, size_t len)
{
    switch (c->state) {
    case SC_GREETING:
    case SC_AUTH:
        return login_packet(c, p, len);
    case SC_PING:
        c->state = SC_READY;
        if (len > 0 && p[0] == MYSQL_OK) {
            struct sqlresult res = {.ok = true};
            complete(c, &res);
        } else {
            struct sqlresult res = {0};
            set_err(&res, p, len);
            complete(c, &res);
        }
        return false;
    case SC_STREAM:
        return stream_packet(c, p, len);
    case SC_RAW:
        return raw_packet(c, p, len);
    case SC_QUERY:
    case SC_ROWS: {
        hy_status_t rc = sqlresult_parser_feed(&c->parser, p, len);
        if (rc == HY_AGAIN && c->state == SC_ROWS && c->parser.res.n_rows > 0)
            return row_packet(c);
        if (rc == HY_AGAIN)
            return true;
        if (rc == HY_ERROR) {
            fail(c, 0, NULL, "%s", c->parser.res.err_msg);
            return false;
        }
        c->state = SC_READY;
        complete(c, &c->parser.res);
        return false;
    }
    default:
        fail(c, 0, NULL, "unexpected data from the server");
        return false;
    }
}

static void on_readable(struct sqlclient *c)
{
    size_t got = 0;
    /* The server hung up (or the socket failed). Said once the packets
     * read before it are handled: MariaDB sends a binlog dump's last
     * events and its EOF, then closes, and all of it may be waiting. */
    char gone[96] = "";
    textbuf_consume(&c->in, c->in_off); /* packets handled last time */
    c->in_off = 0;
    for (;;) {
        char *room = textbuf_room(&c->in, 4096);
        if (room == NULL) {
            fail(c, 0, NULL, "out of memory");
            return;
        }
        ssize_t n = c->conn.ops->recv(&c->conn, room, c->in.cap - 1 - c->in.len);
        if (n == 0) {
            snprintf(gone, sizeof(gone), "connection closed by the server");
            break;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            c->sys_errno = errno;
            snprintf(gone, sizeof(gone), "recv: %s", strerror(errno));
            break;
        }
        textbuf_commit(&c->in, (size_t)n);
        got += (size_t)n;
        if ((size_t)n < 4096)
            break;
        /* A stream that never pauses (a busy primary's binlog) is handled a
         * bounded bite at a time: its packets, the loop's timers and the
         * silence timeout (restarted per packet) all get their turn. */
        if (c->state == SC_STREAM && got >= STREAM_BITE)
            break;
    }
    if (c->state == SC_STREAM)
        ev_now_update(c->loop); /* the silence timer restarts from the real time */
    while (c->in.len - c->in_off >= MYSQL_HEADER_SIZE) {
        const uint8_t *h = (const uint8_t *)c->in.data + c->in_off;
        uint32_t len = mysql_hdr_len(h);
        if (len == MYSQL_MAX_PAYLOAD && c->state != SC_STREAM) {
            fail(c, 0, NULL, "packet of 16 MiB or more");
            return;
        }
        if (c->in.len - c->in_off < MYSQL_HEADER_SIZE + len) {
            if (gone[0] != '\0')
                break; /* the rest of it never comes */
            /* room for the rest of it, once the handled packets are dropped */
            if (textbuf_room(&c->in, c->in_off + MYSQL_HEADER_SIZE + len - c->in.len) == NULL)
                fail(c, 0, NULL, "out of memory");
            return;
        }
        if (c->state == SC_READY || c->cb == NULL) {
            /* Nothing was asked: the server is closing on us (an ERR
             * before it hangs up, e.g. the connection was killed). */
            close_socket(c);
            return;
        }
        c->seq = mysql_hdr_seq(h);
        c->in_off += MYSQL_HEADER_SIZE + len;
        /* The packet stays in place while it is handled. Once an
         * operation completes, its callback may have closed, destroyed or
         * reused the client: touch nothing. */
        if (!on_packet(c, h + MYSQL_HEADER_SIZE, len))
            return;
    }
    if (gone[0] != '\0')
        fail(c, 0, NULL, "%s", gone);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    struct sqlclient *c = w->data;
    if (c->state == SC_CONNECTING) {
        int err = 0;
        socklen_t elen = sizeof(err);
        if (getsockopt(c->conn.fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
            err = errno;
        if (err != 0) {
            connect_failed(c, err);
            return;
        }
        conn_timer_rearm(c->loop, &c->timer, c->deadline - ev_now(c->loop)); /* login: the rest */
        if (c->target.next > 1) /* the addresses before this one failed */
            resolve_prefer(c->address, &c->target.addrs.a[c->target.next - 1]);
        ev_io_stop(c->loop, &c->conn.wio);
        ev_io_start(c->loop, &c->conn.rio);
        c->login = (struct mysql_client){0};
        c->state = SC_GREETING;
        return;
    }
    if (revents & EV_WRITE) {
        if (flush_out(c) == HY_ERROR) {
            c->sys_errno = errno;
            fail(c, 0, NULL, "send: %s", strerror(errno));
            return;
        }
    }
    if (revents & EV_READ)
        on_readable(c);
}
