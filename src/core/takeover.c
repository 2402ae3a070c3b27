/*
 * takeover.c: the socket hand-over between an old and a new halyard. See
 * takeover.h for the exchange.
 *
 * Both sides run before (new) or outside (old, one answer) the event loops'
 * hot paths, so they use plain blocking I/O bounded by poll timeouts. The
 * receiving side only ever reads with recvmsg() and a control buffer: a
 * plain read() of a byte that carries descriptors would close them.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "halyard/core/takeover.h"
#include "halyard/core/textbuf.h"

#define IO_TIMEOUT_MS 10000
#define TEXT_MAX      (1u << 20)

/* Wait until fd is ready for `events`; false on timeout or error. */
static bool wait_fd(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    int rc;
    do {
        rc = poll(&p, 1, IO_TIMEOUT_MS);
    } while (rc < 0 && errno == EINTR);
    return rc > 0;
}

static hy_status_t send_all(int fd, const char *p, size_t len, char *err, size_t errlen)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(fd, POLLOUT))
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "takeover: send: %s", n < 0 ? strerror(errno) : "closed");
            return HY_ERROR;
        }
        p += n;
        len -= (size_t)n;
    }
    return HY_OK;
}

/* One byte with up to TAKEOVER_BATCH descriptors. */
static hy_status_t send_fds(int fd, const int *fds, size_t n, char *err, size_t errlen)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * TAKEOVER_BATCH)];
        struct cmsghdr align;
    } ctl;
    memset(&ctl, 0, sizeof(ctl));
    char byte = 'F';
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.buf,
                         .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    for (;;) {
        ssize_t rc = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (rc == 1)
            return HY_OK;
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(fd, POLLOUT))
            continue;
        snprintf(err, errlen, "takeover: sendmsg: %s", rc < 0 ? strerror(errno) : "short");
        return HY_ERROR;
    }
}

hy_status_t takeover_send(int fd, const struct takeover_sock *socks, size_t n, char *err,
                          size_t errlen)
{
    size_t cap = 64 + n * (sizeof(socks->name) + sizeof(socks->address) + 16);
    char *text = malloc(cap);
    if (text == NULL) {
        snprintf(err, errlen, "out of memory");
        return HY_ERROR;
    }
    size_t len = (size_t)snprintf(text, cap, "OK takeover %zu\n", n);
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s %s %d\n", socks[i].name,
                                socks[i].address, socks[i].port);
    text[len++] = '\n';
    hy_status_t rc = send_all(fd, text, len, err, errlen);
    free(text);
    for (size_t i = 0; rc == HY_OK && i < n; i += TAKEOVER_BATCH) {
        int fds[TAKEOVER_BATCH];
        size_t k = HY_MIN((size_t)TAKEOVER_BATCH, n - i);
        for (size_t j = 0; j < k; j++)
            fds[j] = socks[i + j].fd;
        rc = send_fds(fd, fds, k, err, errlen);
    }
    return rc;
}

hy_status_t takeover_parse_line(const char *line, struct takeover_sock *out)
{
    char name[sizeof(out->name)], address[sizeof(out->address)], tail;
    int port;
    if (sscanf(line, "%64s %255s %d%c", name, address, &port, &tail) != 3 || port < 1 ||
        port > 65535)
        return HY_ERROR;
    snprintf(out->name, sizeof(out->name), "%s", name);
    snprintf(out->address, sizeof(out->address), "%s", address);
    out->port = port;
    out->fd = -1;
    return HY_OK;
}

/* Read (with recvmsg) until `text` holds a whole answer ("\n\n") and, once
 * the answer says how many, that many descriptors are in `fds`. */
struct reader {
    int fd;
    struct textbuf text; /* limit TEXT_MAX */
    int *fds;
    size_t n_fds, cap_fds;
};

static void reader_close_fds(struct reader *r)
{
    for (size_t i = 0; i < r->n_fds; i++)
        close(r->fds[i]);
    r->n_fds = 0;
}

static hy_status_t reader_more(struct reader *r, char *err, size_t errlen)
{
    union {
        char buf[CMSG_SPACE(sizeof(int) * TAKEOVER_BATCH)];
        struct cmsghdr align;
    } ctl;
    char data[4096];
    if (r->text.len + sizeof(data) > TEXT_MAX) {
        snprintf(err, errlen, "takeover: answer too long");
        return HY_ERROR;
    }
    struct iovec iov = {data, sizeof(data)};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ctl.buf,
                         .msg_controllen = sizeof(ctl.buf)};
    ssize_t n;
    for (;;) {
        if (!wait_fd(r->fd, POLLIN)) {
            snprintf(err, errlen, "takeover: no answer within %d ms", IO_TIMEOUT_MS);
            return HY_ERROR;
        }
        n = recvmsg(r->fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        break;
    }
    if (n <= 0) {
        snprintf(err, errlen, "takeover: %s", n < 0 ? strerror(errno) : "the old halyard hung up");
        return HY_ERROR;
    }
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        if (r->n_fds + k > r->cap_fds) {
            size_t cap = HY_MAX(r->cap_fds * 2, r->n_fds + k);
            int *p = realloc(r->fds, cap * sizeof(*p));
            if (p == NULL) {
                int tmp[TAKEOVER_BATCH];
                memcpy(tmp, CMSG_DATA(c), k * sizeof(int));
                for (size_t i = 0; i < k; i++)
                    close(tmp[i]);
                snprintf(err, errlen, "out of memory");
                return HY_ERROR;
            }
            r->fds = p;
            r->cap_fds = cap;
        }
        memcpy(r->fds + r->n_fds, CMSG_DATA(c), k * sizeof(int));
        r->n_fds += k;
    }
    if (msg.msg_flags & MSG_CTRUNC) {
        snprintf(err, errlen, "takeover: descriptors truncated");
        return HY_ERROR;
    }
    textbuf_append(&r->text, data, (size_t)n);
    if (r->text.overflow) { /* within TEXT_MAX (above): out of memory */
        snprintf(err, errlen, "out of memory");
        return HY_ERROR;
    }
    return HY_OK;
}

hy_status_t takeover_fetch(const char *path, struct takeover_sock **out, size_t *n, int *conn,
                           char *err, size_t errlen)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    *out = NULL;
    *n = 0;
    *conn = -1;
    if (path[0] == '\0') {
        snprintf(err, errlen, "takeover: no admin_socket in the config");
        return HY_ERROR;
    }
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "takeover: socket: %s", strerror(errno));
        return HY_ERROR;
    }
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
        int e = errno;
        close(fd);
        snprintf(err, errlen, "takeover: %s: %s", path, strerror(e));
        return e == ENOENT || e == ECONNREFUSED ? HY_AGAIN : HY_ERROR;
    }
    struct reader r = {.fd = fd};
    textbuf_init(&r.text, TEXT_MAX);
    hy_status_t rc = send_all(fd, "takeover\n", 9, err, errlen);
    char *end = NULL;
    while (rc == HY_OK && (r.text.data == NULL || (end = strstr(r.text.data, "\n\n")) == NULL))
        rc = reader_more(&r, err, errlen);
    size_t want = 0;
    if (rc == HY_OK &&
        (sscanf(r.text.data, "OK takeover %zu\n", &want) != 1 || want > TAKEOVER_MAX)) {
        char *nl = strchr(r.text.data, '\n');
        snprintf(err, errlen, "takeover: the old halyard answered: %.*s",
                 (int)(nl != NULL ? nl - r.text.data : 200), r.text.data);
        rc = HY_ERROR;
    }
    struct takeover_sock *socks = NULL;
    if (rc == HY_OK && (socks = calloc(want + 1, sizeof(*socks))) == NULL) {
        snprintf(err, errlen, "out of memory");
        rc = HY_ERROR;
    }
    char *line = rc == HY_OK ? strchr(r.text.data, '\n') + 1 : NULL;
    for (size_t i = 0; rc == HY_OK && i < want; i++) {
        char *nl = strchr(line, '\n');
        if (nl == NULL || nl > end) {
            snprintf(err, errlen, "takeover: %zu sockets announced, fewer listed", want);
            rc = HY_ERROR;
            break;
        }
        *nl = '\0';
        if (takeover_parse_line(line, &socks[i]) != HY_OK) {
            snprintf(err, errlen, "takeover: bad line '%.100s'", line);
            rc = HY_ERROR;
        }
        line = nl + 1;
    }
    while (rc == HY_OK && r.n_fds < want)
        rc = reader_more(&r, err, errlen);
    if (rc == HY_OK && r.n_fds != want) {
        snprintf(err, errlen, "takeover: %zu sockets announced, %zu received", want, r.n_fds);
        rc = HY_ERROR;
    }
    textbuf_free(&r.text);
    if (rc != HY_OK) {
        reader_close_fds(&r);
        free(r.fds);
        free(socks);
        close(fd);
        return HY_ERROR;
    }
    for (size_t i = 0; i < want; i++)
        socks[i].fd = r.fds[i];
    free(r.fds);
    *out = socks;
    *n = want;
    *conn = fd;
    return HY_OK;
}

hy_status_t takeover_finish(int conn, char *err, size_t errlen)
{
    struct reader r = {.fd = conn};
    textbuf_init(&r.text, TEXT_MAX);
    static const char cmd[] = "takeover finish\n";
    hy_status_t rc = send_all(conn, cmd, sizeof(cmd) - 1, err, errlen);
    while (rc == HY_OK && (r.text.data == NULL || strstr(r.text.data, "\n\n") == NULL))
        rc = reader_more(&r, err, errlen);
    if (rc == HY_OK && strncmp(r.text.data, "OK ", 3) != 0) {
        char *nl = strchr(r.text.data, '\n');
        snprintf(err, errlen, "takeover: the old halyard answered: %.*s",
                 (int)(nl != NULL ? nl - r.text.data : 200), r.text.data);
        rc = HY_ERROR;
    }
    reader_close_fds(&r);
    free(r.fds);
    textbuf_free(&r.text);
    close(conn);
    return rc;
}
