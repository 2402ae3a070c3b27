/*
 * fake_backend.c: the scripted backend and client of fake_backend.h.
 */
#include "fake_backend.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "halyard/protocol/mysql_proto.h"

#define FB_CAPS                                                                                    \
    (CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | CLIENT_TRANSACTIONS |    \
     CLIENT_MULTI_RESULTS | CLIENT_MULTI_STATEMENTS | CLIENT_PS_MULTI_RESULTS | CLIENT_LONG_FLAG | \
     CLIENT_CONNECT_WITH_DB)

static void nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void put(int fd, const uint8_t *p, size_t n, uint8_t seq)
{
    uint8_t h[MYSQL_HEADER_SIZE];
    mysql_hdr_write(h, (uint32_t)n, seq);
    uint8_t buf[FB_BUF];
    memcpy(buf, h, sizeof(h));
    memcpy(buf + sizeof(h), p, n);
    size_t off = 0, len = n + sizeof(h);
    while (off < len) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w > 0)
            off += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EINTR)
            return;
    }
}

/* A whole packet at the front of in: its payload length, else -1. */
static long whole(const uint8_t *in, size_t len)
{
    if (len < MYSQL_HEADER_SIZE)
        return -1;
    size_t n = (size_t)in[0] | (size_t)in[1] << 8 | (size_t)in[2] << 16;
    return len >= n + MYSQL_HEADER_SIZE ? (long)n : -1;
}

static void conn_close(struct fb_conn *c)
{
    struct fake_backend *fb = c->fb;
    ev_io_stop(fb->loop, &c->rio);
    close(c->fd);
    for (size_t i = 0; i < fb->n_conns; i++)
        if (fb->conns[i] == c)
            fb->conns[i] = fb->conns[--fb->n_conns];
    for (size_t i = 0; i < fb->n_held; i++)
        if (fb->held[i] == c)
            fb->held[i] = fb->held[--fb->n_held];
    free(c);
}

static void note_line(struct fake_backend *fb, int serial, const char *line)
{
    if (fb->n_log < FB_MAX_LOG) {
        fb->log_conn[fb->n_log] = serial;
        snprintf(fb->log[fb->n_log++], sizeof(fb->log[0]), "%s", line);
    }
    if (fb->trace != NULL && *fb->n_trace < FB_MAX_TRACE)
        snprintf(fb->trace[(*fb->n_trace)++], 160, "%.8s %.140s", fb->name, line);
}

static void note(struct fake_backend *fb, int serial, const uint8_t *p, size_t n)
{
    char line[160];
    size_t tn = n > 1 ? n - 1 : 0;
    if (tn > 120)
        tn = 120;
    if (p[0] == COM_QUERY || p[0] == COM_STMT_PREPARE)
        snprintf(line, sizeof(line), "%s:%.*s", p[0] == COM_QUERY ? "Q" : "P", (int)tn,
                 (const char *)p + 1);
    else if (p[0] == COM_STMT_EXECUTE)
        snprintf(line, sizeof(line), "X:");
    else
        snprintf(line, sizeof(line), "C:%02x", p[0]);
    note_line(fb, serial, line);
}

static void send_row(int fd, const char *value, uint8_t seq, uint16_t status)
{
    uint8_t p[512];
    p[0] = 1;
    put(fd, p, 1, seq++);
    struct mysql_wr wr;
    mysql_wr_init(&wr, p, sizeof(p));
    const char *strs[6] = {"def", "", "", "", "v", ""};
    for (int i = 0; i < 6; i++)
        mysql_wr_lenenc_str(&wr, strs[i], strlen(strs[i]));
    mysql_wr_lenenc(&wr, 0x0c);
    mysql_wr_u16(&wr, 45);
    mysql_wr_u32(&wr, 255);
    mysql_wr_u8(&wr, MYSQL_TYPE_VAR_STRING);
    mysql_wr_u16(&wr, 0);
    mysql_wr_u8(&wr, 0);
    mysql_wr_u16(&wr, 0);
    put(fd, p, mysql_wr_len(&wr), seq++);
    const uint8_t eof[] = {0xfe, 0, 0, (uint8_t)status, (uint8_t)(status >> 8)};
    put(fd, eof, sizeof(eof), seq++);
    mysql_wr_init(&wr, p, sizeof(p));
    mysql_wr_lenenc_str(&wr, value, strlen(value));
    put(fd, p, mysql_wr_len(&wr), seq++);
    put(fd, eof, sizeof(eof), seq);
}

/* Answer one command; false when the connection was closed. */
static bool answer(struct fb_conn *c, const uint8_t *p, size_t n)
{
    struct fake_backend *fb = c->fb;
    uint8_t out[512];
    note(fb, c->serial, p, n);
    if (p[0] == COM_QUERY && n > 1) {
        const char *q = (const char *)p + 1;
        size_t qn = n - 1;
        if ((qn >= 5 && strncasecmp(q, "BEGIN", 5) == 0) ||
            (qn >= 17 && strncasecmp(q, "START TRANSACTION", 17) == 0))
            c->in_trans = true;
        else if ((qn >= 6 && strncasecmp(q, "COMMIT", 6) == 0) ||
                 (qn >= 8 && strncasecmp(q, "ROLLBACK", 8) == 0))
            c->in_trans = false;
    }
    uint16_t status =
        (uint16_t)(SERVER_STATUS_AUTOCOMMIT | (c->in_trans ? SERVER_STATUS_IN_TRANS : 0));
    if (p[0] == COM_QUERY && n > 14 && strncasecmp((const char *)p + 1, "DROP DATABASE", 13) == 0)
        status |= SERVER_STATUS_DB_DROPPED; /* as the server's OK says, whichever it was */
    if (p[0] == COM_QUIT) {
        conn_close(c);
        return false;
    }
    if (p[0] == COM_STMT_CLOSE || p[0] == COM_STMT_SEND_LONG_DATA)
        return true;
    for (size_t i = 0; i < fb->n_rules; i++) {
        struct fb_rule *r = &fb->rules[i];
        if (r->cmd != p[0] || (r->times > 0 && r->used >= r->times))
            continue;
        if (n < 1 || memmem(p + 1, n - 1, r->contains, strlen(r->contains)) == NULL)
            continue;
        r->used++;
        switch (r->answer) {
        case FB_OK:
            put(c->fd, out, mysql_ok_encode(out, sizeof(out), 0, 0, status, 0), 1);
            return true;
        case FB_ERR:
            put(c->fd, out,
                mysql_err_encode(out, sizeof(out), r->err_code, "HY000", r->msg, strlen(r->msg)),
                1);
            return true;
        case FB_ROW:
            send_row(c->fd, r->msg, 1, status);
            return true;
        case FB_CLOSE:
            conn_close(c);
            return false;
        case FB_HOLD:
            fb->held[fb->n_held++] = c;
            return true;
        case FB_INFILE: {
            static const uint8_t req[] = {0xfb, 'f', 'i', 'l', 'e'};
            put(c->fd, req, sizeof(req), 1);
            c->infile = true;
            return true;
        }
        }
    }
    if (p[0] == COM_STMT_PREPARE) {
        static uint32_t stmt_id = 1;
        const uint8_t ok[12] = {0, (uint8_t)stmt_id++, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
        put(c->fd, ok, sizeof(ok), 1);
        return true;
    }
    put(c->fd, out, mysql_ok_encode(out, sizeof(out), 0, 0, status, 0), 1);
    return true;
}

static void conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    (void)revents;
    struct fb_conn *c = w->data;
    ssize_t r = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        conn_close(c);
        return;
    }
    if (r < 0)
        return;
    c->in_len += (size_t)r;
    long n;
    while ((n = whole(c->in, c->in_len)) >= 0) {
        uint8_t pkt[FB_BUF];
        memcpy(pkt, c->in + MYSQL_HEADER_SIZE, (size_t)n);
        uint8_t seq = c->in[3];
        c->in_len -= (size_t)n + MYSQL_HEADER_SIZE;
        memmove(c->in, c->in + n + MYSQL_HEADER_SIZE, c->in_len);
        if (!c->logged_in) {
            uint8_t out[64];
            c->logged_in = true;
            put(c->fd, out, mysql_ok_encode(out, sizeof(out), 0, 0, SERVER_STATUS_AUTOCOMMIT, 0),
                (uint8_t)(seq + 1));
            continue;
        }
        if (c->infile) { /* the file's bytes, to its empty packet */
            char line[32];
            snprintf(line, sizeof(line), n == 0 ? "F:end" : "F:%ld", n);
            note_line(c->fb, c->serial, line);
            if (n == 0) {
                uint8_t out[64];
                c->infile = false;
                put(c->fd, out,
                    mysql_ok_encode(out, sizeof(out), 1, 0, SERVER_STATUS_AUTOCOMMIT, 0),
                    (uint8_t)(seq + 1));
            }
            continue;
        }
        if (n == 0 || !answer(c, pkt, (size_t)n))
            return;
    }
}

static void accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct fake_backend *fb = w->data;
    int fd = accept(fb->lfd, NULL, NULL);
    if (fd < 0 || fb->n_conns == FB_MAX_CONNS) {
        if (fd >= 0)
            close(fd);
        return;
    }
    nonblock(fd);
    struct fb_conn *c = calloc(1, sizeof(*c));
    c->fd = fd;
    c->fb = fb;
    c->serial = ++fb->n_accepted;
    fb->conns[fb->n_conns++] = c;
    ev_io_init(&c->rio, conn_read_cb, fd, EV_READ);
    c->rio.data = c;
    ev_io_start(loop, &c->rio);
    static const uint8_t scramble[MYSQL_SCRAMBLE_LEN] = "0123456789abcdefghij";
    uint8_t g[256];
    size_t n = mysql_greeting_encode(g, sizeof(g), "10.11.6-MariaDB-log", 7, scramble, FB_CAPS, 0,
                                     "mysql_native_password");
    put(fd, g, n, 0);
}

void fb_listen(struct fake_backend *fb, const char *name)
{
    fb->name = name;
    fb->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0}; /* the kernel's choice */
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(a);
    if (bind(fb->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fb->lfd, 16) != 0 ||
        getsockname(fb->lfd, (struct sockaddr *)&a, &alen) != 0) {
        fprintf(stderr, "fake backend %s: %s\n", name, strerror(errno));
        abort();
    }
    fb->port = ntohs(a.sin_port);
    nonblock(fb->lfd);
}

void fb_start(struct fake_backend *fb, struct ev_loop *loop)
{
    fb->loop = loop;
    ev_io_init(&fb->accept_io, accept_cb, fb->lfd, EV_READ);
    fb->accept_io.data = fb;
    ev_io_start(loop, &fb->accept_io);
}

char *fb_conf(const char *conf, const struct fake_backend *primary,
              const struct fake_backend *replica)
{
    size_t n = strlen(conf);
    char *out = malloc(n + 1), *o = out;
    if (out == NULL)
        abort();
    for (const char *c = conf; *c != '\0';) {
        const struct fake_backend *fb = strncmp(c, "port = " FB_PORT_PRIMARY ";", 13) == 0 ? primary
                                        : strncmp(c, "port = " FB_PORT_REPLICA ";", 13) == 0
                                            ? replica
                                            : NULL;
        if (fb == NULL) {
            *o++ = *c++;
            continue;
        }
        o += sprintf(o, "port = %u;", fb->port); /* 5 digits at most: no longer */
        c += 13;
    }
    *o = '\0';
    return out;
}

void fb_drop_all(struct fake_backend *fb)
{
    while (fb->n_conns > 0)
        conn_close(fb->conns[0]);
}

void fb_stop(struct fake_backend *fb)
{
    fb_drop_all(fb);
    ev_io_stop(fb->loop, &fb->accept_io);
    close(fb->lfd);
}

void fb_rule_cmd(struct fake_backend *fb, uint8_t cmd, const char *contains, enum fb_answer a,
                 uint16_t code, const char *msg, int times)
{
    fb->rules[fb->n_rules++] = (struct fb_rule){.cmd = cmd,
                                                .contains = contains,
                                                .answer = a,
                                                .err_code = code,
                                                .msg = msg,
                                                .times = times};
}

void fb_rule(struct fake_backend *fb, const char *contains, enum fb_answer a, uint16_t code,
             const char *msg, int times)
{
    fb_rule_cmd(fb, COM_QUERY, contains, a, code, msg, times);
}

void fb_release(struct fake_backend *fb)
{
    uint8_t out[64];
    while (fb->n_held > 0) {
        struct fb_conn *c = fb->held[--fb->n_held];
        uint16_t status =
            (uint16_t)(SERVER_STATUS_AUTOCOMMIT | (c->in_trans ? SERVER_STATUS_IN_TRANS : 0));
        put(c->fd, out, mysql_ok_encode(out, sizeof(out), 0, 0, status, 0), 1);
    }
}

int fb_logged(const struct fake_backend *fb, const char *text)
{
    for (size_t i = 0; i < fb->n_log; i++)
        if (strstr(fb->log[i], text) != NULL)
            return (int)i;
    return -1;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

bool fb_pump(struct ev_loop *loop, bool (*done)(void *arg), void *arg, int ms)
{
    double end = now_ms() + ms;
    while (done == NULL || !done(arg)) {
        if (now_ms() > end)
            return done == NULL;
        ev_run(loop, EVRUN_NOWAIT);
        if (done == NULL || !done(arg))
            usleep(200);
    }
    return true;
}

void fb_client_send(struct fb_client *c, const void *p, size_t n, uint8_t seq)
{
    put(c->fd, p, n, seq);
}

static bool client_has(void *arg)
{
    struct fb_client *c = arg;
    ssize_t r = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
    if (r > 0)
        c->in_len += (size_t)r;
    return whole(c->in, c->in_len) >= 0 || r == 0;
}

int fb_client_recv(struct fb_client *c, struct ev_loop *loop, uint8_t *out, size_t cap, int ms)
{
    nonblock(c->fd);
    if (!fb_pump(loop, client_has, c, ms))
        return -1;
    long n = whole(c->in, c->in_len);
    if (n < 0 || (size_t)n > cap)
        return -1;
    memcpy(out, c->in + MYSQL_HEADER_SIZE, (size_t)n);
    c->in_len -= (size_t)n + MYSQL_HEADER_SIZE;
    memmove(c->in, c->in + n + MYSQL_HEADER_SIZE, c->in_len);
    return (int)n;
}

bool fb_client_login(struct fb_client *c, struct ev_loop *loop, const char *user)
{
    uint8_t p[FB_BUF];
    int n = fb_client_recv(c, loop, p, sizeof(p), 2000);
    if (n <= 0 || p[0] != 10)
        return false;
    c->caps = FB_CAPS;
    struct mysql_login lg = {.caps = c->caps,
                             .ext_caps = c->ext_caps,
                             .max_packet = 1u << 24,
                             .charset = 45,
                             .user = user,
                             .user_len = strlen(user),
                             .plugin = "mysql_native_password",
                             .plugin_len = strlen("mysql_native_password")};
    size_t len = mysql_login_encode(&lg, p, sizeof(p));
    fb_client_send(c, p, len, 1);
    n = fb_client_recv(c, loop, p, sizeof(p), 2000);
    return n > 0 && p[0] == 0x00;
}

int fb_client_command(struct fb_client *c, struct ev_loop *loop, const void *cmd, size_t cn,
                      uint16_t *err, uint8_t *first, size_t first_cap)
{
    uint8_t p[FB_BUF];
    fb_client_send(c, cmd, cn, 0);
    int n = fb_client_recv(c, loop, p, sizeof(p), 3000);
    if (n <= 0)
        return -1;
    if (first != NULL)
        memcpy(first, p, (size_t)n < first_cap ? (size_t)n : first_cap);
    if (p[0] == 0xff && err != NULL && n >= 3)
        *err = (uint16_t)(p[1] | p[2] << 8);
    if (p[0] == 0x00 || p[0] == 0xff)
        return p[0];
    int head = p[0];
    for (int eofs = 0; eofs < 2;) { /* the column definitions, the rows */
        n = fb_client_recv(c, loop, p, sizeof(p), 3000);
        if (n < 0)
            return -1;
        if (p[0] == 0xff)
            return 0xff;
        if (p[0] == 0xfe && n < 9)
            eofs++;
    }
    return head;
}

int fb_client_query(struct fb_client *c, struct ev_loop *loop, const char *sql, uint16_t *err)
{
    uint8_t p[4096];
    size_t n = strlen(sql);
    p[0] = COM_QUERY;
    memcpy(p + 1, sql, n);
    return fb_client_command(c, loop, p, n + 1, err, NULL, 0);
}
