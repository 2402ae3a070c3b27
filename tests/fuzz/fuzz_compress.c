/*
 * fuzz_compress.c: libFuzzer target for the compressed-protocol reader
 * (compress.h, transport_compress over a plain socketpair).
 *
 * Byte 0 picks the caller's read size (1..256 bytes); the rest is written
 * to the client's end as it is and that end is closed, then the layer is
 * read until it reports the end, an error or "would block". Checked:
 *  - a read never returns more than asked, and the bytes read never exceed
 *    the sum of the uncompressed lengths the frames declared, counted
 *    independently from the input (stored frames: their compressed length);
 *  - the reader always stops (EOF, EAGAIN or EPROTO), and an EPROTO comes
 *    with a reason (conn_error).
 * ASan and the heap-exact input catch reads past a frame.
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"

#include "halyard/protocol/compress.h"

/* What the frames in `d` declare, up to the first incomplete header. */
static size_t declared_total(const uint8_t *d, size_t n)
{
    size_t total = 0, pos = 0;
    while (n - pos >= COMPRESS_HEADER_SIZE) {
        size_t clen = d[pos] | d[pos + 1] << 8 | (size_t)d[pos + 2] << 16;
        size_t ulen = d[pos + 4] | d[pos + 5] << 8 | (size_t)d[pos + 6] << 16;
        total += ulen != 0 ? ulen : clen;
        pos += COMPRESS_HEADER_SIZE + clen;
        if (pos > n)
            break;
    }
    return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ev_loop *loop;
    if (size < 1 || size > 65536)
        return -1;
    if (loop == NULL)
        loop = ev_loop_new(EVFLAG_AUTO);
    size_t step = (size_t)data[0] + 1;
    data++;
    size--;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
        return -1;
    int sz = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(sv[1], data + off, size - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(sv[1]);
    struct conn c;
    conn_init(&c, sv[0]);
    ev_io_init(&c.rio, NULL, sv[0], EV_READ);
    ev_io_init(&c.wio, NULL, sv[0], EV_WRITE);
    FUZZ_CHECK(compress_start(&c, loop, 0) == HY_OK);
    size_t limit = declared_total(data, off), got = 0;
    uint8_t *out = malloc(step);
    for (;;) {
        ssize_t r = c.ops->recv(&c, out, step);
        if (r > 0) {
            FUZZ_CHECK((size_t)r <= step);
            got += (size_t)r;
            FUZZ_CHECK(got <= limit);
            continue;
        }
        if (r < 0 && errno == EPROTO)
            FUZZ_CHECK(conn_error(&c) != NULL);
        else
            FUZZ_CHECK(r == 0 || errno == EAGAIN);
        break;
    }
    free(out);
    struct buf_pool pool = {0};
    conn_close(&c, loop, &pool);
    return 0;
}
