/*
 * test_compress.c: the compressed-protocol layer (compress.h) over a
 * socketpair: frames split over reads, several packets in one frame, a
 * packet over several frames, stored frames, lengths that lie, and the
 * frames halyard writes (stored when short, sequence after the last read).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "halyard/protocol/compress.h"

struct pair {
    struct ev_loop *loop;
    struct conn c; /* halyard's end, compressed */
    int peer;      /* the client's end */
};

static int pair_setup(void **state)
{
    struct pair *p = calloc(1, sizeof(*p));
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    p->loop = ev_loop_new(EVFLAG_AUTO);
    conn_init(&p->c, sv[0]);
    ev_io_init(&p->c.rio, NULL, sv[0], EV_READ);
    ev_io_init(&p->c.wio, NULL, sv[0], EV_WRITE);
    p->peer = sv[1];
    assert_int_equal(compress_start(&p->c, p->loop, 0), HY_OK);
    assert_true(conn_is_compressed(&p->c));
    *state = p;
    return 0;
}

static int pair_teardown(void **state)
{
    struct pair *p = *state;
    struct buf_pool pool = {0};
    conn_close(&p->c, p->loop, &pool);
    close(p->peer);
    ev_loop_destroy(p->loop);
    free(p);
    return 0;
}

static void put3(uint8_t *d, uint32_t v)
{
    d[0] = (uint8_t)v;
    d[1] = (uint8_t)(v >> 8);
    d[2] = (uint8_t)(v >> 16);
}

/* Write one frame to the peer: compressed unless `stored`; the declared
 * lengths adjusted by dclen/dulen. */
static void frame_send(struct pair *p, const uint8_t *data, size_t len, uint8_t seq, bool stored,
                       int dclen, int dulen)
{
    uint8_t out[8192];
    uLongf clen = sizeof(out) - 7;
    if (stored) {
        memcpy(out + 7, data, len);
        clen = len;
    } else {
        assert_int_equal(compress2(out + 7, &clen, data, len, 6), Z_OK);
    }
    put3(out, (uint32_t)((int)clen + dclen));
    out[3] = seq;
    put3(out + 4, (uint32_t)((stored ? 0 : (int)len) + dulen));
    assert_int_equal(write(p->peer, out, 7 + clen), (ssize_t)(7 + clen));
}

/* Read everything the layer has now into out: the count, or -1 with errno
 * (EAGAIN excluded when something was read). */
static ssize_t drain(struct pair *p, uint8_t *out, size_t cap, size_t step)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = p->c.ops->recv(&p->c, out + got, HY_MIN(step, cap - got));
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EAGAIN)
            return (ssize_t)got;
        return got > 0 && n == 0 ? (ssize_t)got : n;
    }
}

static void test_compressed_and_stored(void **state)
{
    struct pair *p = *state;
    uint8_t data[3000], out[4000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i % 7 + 'a');
    frame_send(p, data, 1000, 0, false, 0, 0);
    frame_send(p, data + 1000, 30, 1, true, 0, 0);
    frame_send(p, data + 1030, 1970, 2, false, 0, 0);
    /* read in small steps: the caller's room splits frames */
    assert_int_equal(drain(p, out, sizeof(out), 13), 3000);
    assert_memory_equal(out, data, 3000);

    /* The reply's frame takes the number after the last one read, and a
     * short one goes out stored. */
    assert_int_equal(p->c.ops->send(&p->c, "\x01\x00\x00\x01\xfe", 5), 5);
    uint8_t f[64];
    assert_int_equal(read(p->peer, f, sizeof(f)), 12);
    assert_memory_equal(f, "\x05\x00\x00\x03\x00\x00\x00\x01\x00\x00\x01\xfe", 12);

    /* A long one goes out compressed and inflates back. */
    assert_int_equal(p->c.ops->send(&p->c, data, sizeof(data)), (ssize_t)sizeof(data));
    uint8_t big[4000];
    ssize_t n = read(p->peer, big, sizeof(big));
    assert_true(n > 7 && n < 1000);
    assert_int_equal(big[3], 4);
    assert_int_equal(big[4] | big[5] << 8 | big[6] << 16, 3000);
    uLongf ulen = sizeof(out);
    assert_int_equal(uncompress(out, &ulen, big + 7, (uLong)n - 7), Z_OK);
    assert_int_equal(ulen, 3000);
    assert_memory_equal(out, data, 3000);
}

static void test_frame_split_over_reads(void **state)
{
    struct pair *p = *state;
    uint8_t data[600], out[700], raw[1000];
    memset(data, 'x', sizeof(data));
    uLongf clen = sizeof(raw) - 7;
    assert_int_equal(compress2(raw + 7, &clen, data, sizeof(data), 6), Z_OK);
    put3(raw, (uint32_t)clen);
    raw[3] = 0;
    put3(raw + 4, sizeof(data));
    /* the header in two pieces, then the body byte by byte */
    assert_int_equal(write(p->peer, raw, 3), 3);
    assert_int_equal(drain(p, out, sizeof(out), sizeof(out)), 0);
    assert_int_equal(write(p->peer, raw + 3, 4), 4);
    size_t got = 0;
    for (size_t i = 0; i < clen; i++) {
        assert_int_equal(write(p->peer, raw + 7 + i, 1), 1);
        ssize_t n = drain(p, out + got, sizeof(out) - got, sizeof(out));
        assert_true(n >= 0);
        got += (size_t)n;
    }
    assert_int_equal(got, sizeof(data));
    assert_memory_equal(out, data, sizeof(data));
}

static void expect_refused(struct pair *p)
{
    uint8_t out[4000];
    errno = 0;
    assert_int_equal(drain(p, out, sizeof(out), sizeof(out)), -1);
    assert_int_equal(errno, EPROTO);
    assert_non_null(conn_error(&p->c));
}

static void test_ulen_too_short(void **state)
{
    uint8_t data[300];
    memset(data, 'q', sizeof(data));
    frame_send(*state, data, sizeof(data), 0, false, 0, -1);
    expect_refused(*state);
}

static void test_ulen_too_long(void **state)
{
    uint8_t data[300];
    memset(data, 'q', sizeof(data));
    frame_send(*state, data, sizeof(data), 0, false, 0, +1);
    expect_refused(*state);
}

static void test_clen_too_long(void **state)
{
    /* the zlib stream ends before the declared compressed length */
    struct pair *p = *state;
    uint8_t data[300];
    memset(data, 'q', sizeof(data));
    frame_send(p, data, sizeof(data), 0, false, 2, 0);
    assert_int_equal(write(p->peer, "\0\0", 2), 2);
    expect_refused(p);
}

static void test_clen_too_short(void **state)
{
    /* the zlib stream goes on past the declared compressed length */
    struct pair *p = *state;
    uint8_t data[300];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 31);
    frame_send(p, data, sizeof(data), 0, false, -3, 0);
    expect_refused(p);
}

static void test_garbage_body(void **state)
{
    struct pair *p = *state;
    uint8_t f[7 + 20];
    memset(f, 0xAB, sizeof(f));
    put3(f, 20);
    f[3] = 0;
    put3(f + 4, 100);
    assert_int_equal(write(p->peer, f, sizeof(f)), (ssize_t)sizeof(f));
    expect_refused(p);
}

static void test_header_bounds(void **state)
{
    (void)state;
    assert_true(compress_header_valid(0, 0));
    assert_true(compress_header_valid(100, 0));
    assert_false(compress_header_valid(0, 100));
    assert_false(compress_header_valid(7, 100));
    assert_true(compress_header_valid(20, 100));
    assert_false(compress_header_valid((uint32_t)compressBound(100) + 1, 100));
    assert_true(compress_header_valid((uint32_t)compressBound(0xFFFFFF), 0xFFFFFF));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, pair_setup, pair_teardown)
    const struct CMUnitTest tests[] = {
        T(test_compressed_and_stored), T(test_frame_split_over_reads),
        T(test_ulen_too_short),        T(test_ulen_too_long),
        T(test_clen_too_long),         T(test_clen_too_short),
        T(test_garbage_body),          cmocka_unit_test(test_header_bounds),
    };
    return cmocka_run_group_tests_name("compress", tests, NULL, NULL);
}
