/*
 * relay.c: see relay.h.
 */
#include <errno.h>

#include "halyard/protocol/relay.h"

enum relay_rc relay_read(struct stream *st, struct conn *c, struct buf_pool *pool)
{
    if (stream_reserve(st, pool) != HY_OK)
        return RELAY_ERROR;
    uint32_t room = stream_room(st);
    if (room == 0)
        return RELAY_AGAIN;
    ssize_t n = c->ops->recv(c, st->b->data + st->tail, room);
    if (n > 0) {
        st->tail += (uint32_t)n;
        return RELAY_DONE;
    }
    if (n == 0)
        return RELAY_CLOSED;
    int err = errno;
    stream_release_if_empty(st, pool);
    errno = err;
    return (err == EAGAIN || err == EWOULDBLOCK) ? RELAY_AGAIN : RELAY_ERROR;
}

enum relay_rc relay_flush(struct stream *st, struct conn *c, struct ev_loop *loop)
{
    while (st->head < st->scan) {
        ssize_t n = c->ops->send(c, st->b->data + st->head, st->scan - st->head);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                conn_io_start(loop, &c->wio);
                return RELAY_AGAIN;
            }
            return RELAY_ERROR;
        }
        st->head += (uint32_t)n;
    }
    conn_io_stop(loop, &c->wio);
    return RELAY_DONE;
}

enum relay_rc relay_down_next(struct relay_down *rd, struct stream *st, uint32_t *len)
{
    for (;;) {
        if (rd->left == 0 && !rd->cont) {
            if (rd->infile_next) {
                rd->infile_next = false;
                return RELAY_INFILE;
            }
            if (rd->ending) {
                rd->ending = false;
                return RELAY_END;
            }
        }
        if (rd->left > 0) {
            uint32_t n = HY_MIN(rd->left, stream_unparsed(st));
            if (n == 0)
                return RELAY_AGAIN;
            st->scan += n;
            rd->left -= n;
            continue;
        }
        if (stream_unparsed(st) < MYSQL_HEADER_SIZE)
            return RELAY_AGAIN;
        const uint8_t *h = st->b->data + st->scan;
        *len = mysql_hdr_len(h);
        rd->seq = (uint8_t)(mysql_hdr_seq(h) - rd->shift);
        if (rd->cont) {
            st->b->data[st->scan + 3] = rd->seq;
            rd->cont = *len == MYSQL_MAX_PAYLOAD;
            st->scan += MYSQL_HEADER_SIZE;
            rd->left = *len;
            continue;
        }
        return RELAY_PACKET;
    }
}

void relay_down_take(struct relay_down *rd, struct stream *st, uint32_t len, enum mysql_resp_rc rc)
{
    st->b->data[st->scan + 3] = rd->seq; /* shifted, when packets were left out */
    st->scan += MYSQL_HEADER_SIZE;
    rd->left = len;
    rd->cont = len == MYSQL_MAX_PAYLOAD;
    if (rc == MYSQL_RESP_DONE)
        rd->ending = true;
    else if (rc == MYSQL_RESP_INFILE)
        rd->infile_next = true;
}
