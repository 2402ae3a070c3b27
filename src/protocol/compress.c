/*
 * compress.c: see compress.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "halyard/protocol/compress.h"

#define FRAME_MAX_ULEN 0xFFFFFFu

struct zconn {
    struct conn *c;
    const struct transport_ops *inner;
    struct ev_loop *loop;
    ev_prepare pending; /* held input: feed the owner's read watcher */
    ev_idle spin;       /* ... and keep the loop from sleeping meanwhile */
    ev_io wio;          /* finishes a frame the socket did not take whole */
    bool more;
    uint8_t seq; /* the next outgoing frame's */
    size_t raw;  /* bytes still to send as they are */
    z_stream inf;
    z_stream def;
    /* the frame being read */
    bool f_active, f_stored;
    uint32_t f_left; /* its payload bytes not consumed yet */
    uint32_t f_ulen, f_out;
    uint32_t in_off, in_len;
    uint32_t out_off, out_len;
    char err[96];
    uint8_t in[COMPRESS_IN_CAP];
    uint8_t out[COMPRESS_HEADER_SIZE + COMPRESS_CHUNK + COMPRESS_CHUNK / 64 + 64];
};

static inline uint32_t rd3(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

static inline void wr3(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
}

bool compress_header_valid(uint32_t clen, uint32_t ulen)
{
    if (ulen == 0)
        return true; /* stored: clen bytes as they are */
    /* A zlib stream is at least 8 bytes; it never needs more than the bound. */
    return clen >= 8 && clen <= compressBound(ulen);
}

size_t compress_frame_bound(size_t len)
{
    return COMPRESS_HEADER_SIZE + compressBound((uLong)len);
}

size_t compress_frame_encode(struct z_stream_s *zs, const uint8_t *in, size_t len, uint8_t seq,
                             uint8_t *out, size_t cap)
{
    uint8_t *body = out + COMPRESS_HEADER_SIZE;
    size_t room = cap - COMPRESS_HEADER_SIZE;
    size_t clen = 0;
    if (len >= COMPRESS_MIN_LEN) {
        if (deflateReset(zs) != Z_OK)
            return 0;
        zs->next_in = (Bytef *)(uintptr_t)in;
        zs->avail_in = (uInt)len;
        zs->next_out = body;
        zs->avail_out = (uInt)room;
        int rc = deflate(zs, Z_FINISH);
        if (rc == Z_STREAM_END && zs->total_out < len)
            clen = zs->total_out;
        else if (rc != Z_STREAM_END && rc != Z_OK && rc != Z_BUF_ERROR)
            return 0;
    }
    if (clen == 0) { /* short, or did not shrink: stored */
        if (len > room)
            return 0;
        memcpy(body, in, len);
        wr3(out, (uint32_t)len);
        out[3] = seq;
        wr3(out + 4, 0);
        return COMPRESS_HEADER_SIZE + len;
    }
    wr3(out, (uint32_t)clen);
    out[3] = seq;
    wr3(out + 4, (uint32_t)len);
    return COMPRESS_HEADER_SIZE + clen;
}

/* ---- held input --------------------------------------------------------- */

static void z_pending_update(struct zconn *z, bool more)
{
    z->more = more;
    if (more)
        ev_prepare_start(z->loop, &z->pending);
}

static void z_pending_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    (void)revents;
    struct zconn *z = container_of(w, struct zconn, pending);
    if (!z->more) {
        ev_prepare_stop(loop, &z->pending);
        ev_idle_stop(loop, &z->spin);
        return;
    }
    if (!ev_is_active(&z->c->rio)) {
        ev_idle_stop(loop, &z->spin); /* the owner does not read now */
        return;
    }
    ev_idle_start(loop, &z->spin);
    ev_feed_event(loop, &z->c->rio, EV_READ);
}

static void z_spin_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
    (void)revents;
    ev_idle_stop(loop, w);
}

/* ---- reading ------------------------------------------------------------ */

static ssize_t z_fail(struct zconn *z, const char *why)
{
    snprintf(z->err, sizeof(z->err), "compressed protocol: %s", why);
    errno = EPROTO;
    return -1;
}

/* Read more from the inner transport into `in`: > 0, 0 (closed), -1. */
static ssize_t z_fill(struct zconn *z)
{
    if (z->in_off == z->in_len) {
        z->in_off = z->in_len = 0;
    } else if (z->in_off > 0 && z->in_len == sizeof(z->in)) {
        memmove(z->in, z->in + z->in_off, z->in_len - z->in_off);
        z->in_len -= z->in_off;
        z->in_off = 0;
    }
    ssize_t n = z->inner->recv(z->c, z->in + z->in_len, sizeof(z->in) - z->in_len);
    if (n > 0)
        z->in_len += (uint32_t)n;
    return n;
}

/* The frame header, when 7 bytes are there: 1 taken, 0 need more, -1 bad. */
static int z_take_header(struct zconn *z)
{
    if (z->in_len - z->in_off < COMPRESS_HEADER_SIZE)
        return 0;
    const uint8_t *h = z->in + z->in_off;
    uint32_t clen = rd3(h), ulen = rd3(h + 4);
    if (!compress_header_valid(clen, ulen))
        return -1;
    z->in_off += COMPRESS_HEADER_SIZE;
    z->seq = (uint8_t)(h[3] + 1);
    z->f_active = clen > 0;
    z->f_stored = ulen == 0;
    z->f_left = clen;
    z->f_ulen = ulen;
    z->f_out = 0;
    if (!z->f_stored && inflateReset(&z->inf) != Z_OK)
        return -1;
    return 1;
}

/* Bytes of the current frame into buf: > 0 produced, 0 need more input,
 * -1 bad frame. */
static ssize_t z_frame_read(struct zconn *z, uint8_t *buf, size_t len)
{
    uint32_t avail = HY_MIN(z->in_len - z->in_off, z->f_left);
    if (z->f_stored) {
        uint32_t n = (uint32_t)HY_MIN((size_t)avail, len);
        memcpy(buf, z->in + z->in_off, n);
        z->in_off += n;
        z->f_left -= n;
        z->f_active = z->f_left > 0;
        return n;
    }
    z->inf.next_in = z->in + z->in_off;
    z->inf.avail_in = avail;
    z->inf.next_out = buf;
    z->inf.avail_out = (uInt)HY_MIN(len, (size_t)(z->f_ulen - z->f_out));
    int rc = inflate(&z->inf, Z_NO_FLUSH);
    uint32_t used = avail - z->inf.avail_in;
    uint32_t made = (uint32_t)(z->inf.next_out - buf);
    z->in_off += used;
    z->f_left -= used;
    z->f_out += made;
    if (rc == Z_STREAM_END) {
        if (z->f_left != 0 || z->f_out != z->f_ulen)
            return -1;
        z->f_active = false;
        return made;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR)
        return -1;
    if (z->f_left == 0 && z->inf.avail_in == 0 && made == 0 && used == 0)
        return -1; /* the stream wants more than the frame holds */
    if (made == 0 && used == 0 && avail > 0)
        return -1; /* no progress with input there: longer than declared */
    if (made == 0 && z->f_left == 0)
        return -1;
    return made;
}

static ssize_t z_recv(struct conn *c, void *buf, size_t len)
{
    struct zconn *z = c->z;
    if (len == 0) {
        errno = EAGAIN;
        return -1;
    }
    for (;;) {
        if (!z->f_active) {
            int h = z_take_header(z);
            if (h < 0)
                return z_fail(z, "frame lengths do not match");
            if (h == 0) {
                ssize_t n = z_fill(z);
                if (n <= 0) {
                    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        z_pending_update(z, false);
                    return n;
                }
            }
            continue;
        }
        ssize_t n = z->in_len > z->in_off || !z->f_stored ? z_frame_read(z, buf, len) : 0;
        if (n < 0)
            return z_fail(z, "frame content does not match its lengths");
        if (n > 0) {
            z_pending_update(z, z->in_len > z->in_off || z->f_active);
            return n;
        }
        if (!z->f_active)
            continue;
        if (z->in_len > z->in_off && z->in_len - z->in_off >= z->f_left && z->f_left > 0)
            return z_fail(z, "frame content does not match its lengths");
        ssize_t r = z_fill(z);
        if (r <= 0) {
            if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                z_pending_update(z, false);
            return r;
        }
    }
}

/* ---- writing ------------------------------------------------------------ */

/* Push the pending frame: HY_OK when none is left, HY_AGAIN, HY_ERROR. */
static hy_status_t z_drain(struct zconn *z)
{
    while (z->out_off < z->out_len) {
        ssize_t n = z->inner->send(z->c, z->out + z->out_off, z->out_len - z->out_off);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? HY_AGAIN : HY_ERROR;
        z->out_off += (uint32_t)n;
    }
    z->out_off = z->out_len = 0;
    return HY_OK;
}

static void z_wio_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    struct zconn *z = container_of(w, struct zconn, wio);
    hy_status_t rc = z_drain(z);
    if (rc == HY_AGAIN)
        return;
    ev_io_stop(loop, w);
    if (rc != HY_OK) {
        snprintf(z->err, sizeof(z->err), "compressed protocol: send: %s", strerror(errno));
        /* the owner learns it from its next send */
    }
}

static ssize_t z_send(struct conn *c, const void *buf, size_t len)
{
    struct zconn *z = c->z;
    if (len == 0)
        return 0;
    hy_status_t rc = z_drain(z);
    if (rc != HY_OK) {
        if (rc == HY_AGAIN)
            errno = EAGAIN;
        return -1;
    }
    ev_io_stop(z->loop, &z->wio);
    if (z->raw > 0) {
        ssize_t n = z->inner->send(c, buf, HY_MIN(len, z->raw));
        if (n > 0)
            z->raw -= (size_t)n;
        return n;
    }
    size_t k = HY_MIN(len, (size_t)COMPRESS_CHUNK);
    size_t n = compress_frame_encode(&z->def, buf, k, z->seq, z->out, sizeof(z->out));
    if (n == 0) {
        snprintf(z->err, sizeof(z->err), "compressed protocol: deflate failed");
        errno = ENOMEM;
        return -1;
    }
    z->seq++;
    z->out_off = 0;
    z->out_len = (uint32_t)n;
    rc = z_drain(z);
    if (rc == HY_ERROR)
        return -1;
    if (rc == HY_AGAIN)
        ev_io_start(z->loop, &z->wio);
    return (ssize_t)k; /* accepted: the layer finishes the frame itself */
}

/* ---- life --------------------------------------------------------------- */

static void z_free(struct zconn *z)
{
    ev_prepare_stop(z->loop, &z->pending);
    ev_idle_stop(z->loop, &z->spin);
    ev_io_stop(z->loop, &z->wio);
    inflateEnd(&z->inf);
    deflateEnd(&z->def);
    free(z);
}

static void z_close(struct conn *c)
{
    struct zconn *z = c->z;
    if (z == NULL)
        return;
    c->ops = z->inner;
    c->z = NULL;
    z_free(z);
    if (c->ops->close != NULL)
        c->ops->close(c);
}

static const char *z_error(const struct conn *c)
{
    const struct zconn *z = c->z;
    if (z != NULL && z->err[0] != '\0')
        return z->err;
    return z != NULL && z->inner->error != NULL ? z->inner->error(c) : NULL;
}

const struct transport_ops transport_compress = {
    .name = "compressed",
    .recv = z_recv,
    .send = z_send,
    .close = z_close,
    .error = z_error,
};

hy_status_t compress_start(struct conn *c, struct ev_loop *loop, size_t raw)
{
    if (c->ops == &transport_compress)
        return HY_OK;
    struct zconn *z = calloc(1, sizeof(*z));
    if (z == NULL)
        return HY_NOMEM;
    if (inflateInit(&z->inf) != Z_OK) {
        free(z);
        return HY_NOMEM;
    }
    /* A 4 KiB window and a small hash (about 40 KiB in all, not zlib's
     * default 256 KiB): a session's frames are at most COMPRESS_CHUNK and
     * rows repeat within a few KiB. Any zlib reader inflates it. */
    if (deflateInit2(&z->def, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 12, 6, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        inflateEnd(&z->inf);
        free(z);
        return HY_NOMEM;
    }
    z->c = c;
    z->inner = c->ops;
    z->loop = loop;
    z->raw = raw;
    ev_prepare_init(&z->pending, z_pending_cb);
    ev_idle_init(&z->spin, z_spin_cb);
    ev_io_init(&z->wio, z_wio_cb, c->fd, EV_WRITE);
    c->z = z;
    c->ops = &transport_compress;
    return HY_OK;
}
