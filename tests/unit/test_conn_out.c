/*
 * test_conn_out.c: conn_send_local() and conn_flush_local() over a real
 * socket pair whose send buffer is small.
 *
 *   - an answer far larger than a pooled buffer (a cached hit) that the
 *     socket does not take at once is kept whole and reaches the peer in
 *     order, the one-off buffer freed once sent
 *   - a second answer behind such a backlog (a peer that reads nothing
 *     while answers pile up) is refused with HY_NOMEM
 *   - small answers behind a small backlog still share a pooled buffer
 *   - a login's token the socket did not take at once goes back to the
 *     pool wiped, once sent or at close (conn_send_secret)
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "halyard/core/buf.h"
#include "halyard/protocol/conn.h"

#define POOL_SIZE 4096
#define BIG       (1u << 20)

static void nothing(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop, (void)w, (void)revents;
}

struct pair {
    struct ev_loop *loop;
    struct buf_pool pool;
    struct conn c;
    int peer;
};

static void pair_open(struct pair *p)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int small = 4096;
    assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
    p->loop = ev_loop_new(EVFLAG_AUTO);
    buf_pool_init(&p->pool, POOL_SIZE, 4);
    conn_init(&p->c, sv[0]);
    ev_io_init(&p->c.wio, nothing, sv[0], EV_WRITE);
    ev_io_init(&p->c.rio, nothing, sv[0], EV_READ);
    p->peer = sv[1];
}

static void pair_close(struct pair *p)
{
    conn_close(&p->c, p->loop, &p->pool);
    close(p->peer);
    assert_int_equal(p->pool.n_alloc, 0);
    buf_pool_destroy(&p->pool);
    ev_loop_destroy(p->loop);
}

/* Read from the peer while flushing, until want bytes came: they must be
 * pattern's, in order. */
static void drain(struct pair *p, const uint8_t *want, size_t len)
{
    uint8_t *got = malloc(len);
    assert_non_null(got);
    size_t have = 0;
    while (have < len) {
        hy_status_t rc = conn_flush_local(&p->c, &p->pool);
        assert_true(rc == HY_OK || rc == HY_AGAIN);
        ssize_t n = read(p->peer, got + have, len - have);
        assert_true(n > 0);
        have += (size_t)n;
    }
    assert_memory_equal(got, want, len);
    assert_false(conn_has_local(&p->c));
    free(got);
}

/* Fill the socket, so that what is sent next waits: the bytes sent. */
static size_t fill(struct pair *p)
{
    uint8_t bytes[POOL_SIZE];
    memset(bytes, 'f', sizeof(bytes));
    size_t sent = 0;
    for (;;) {
        ssize_t n = send(p->c.fd, bytes, sizeof(bytes), MSG_DONTWAIT);
        if (n < 0) {
            assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
            return sent;
        }
        sent += (size_t)n;
    }
}

/* The peer reads what fill() sent. */
static void unfill(struct pair *p, size_t sent)
{
    uint8_t *skip = malloc(sent);
    assert_non_null(skip);
    size_t have = 0;
    while (have < sent) {
        ssize_t n = read(p->peer, skip + have, sent - have);
        assert_true(n > 0);
        have += (size_t)n;
    }
    free(skip);
}

static void test_a_large_answer_waits_whole(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p);
    uint8_t *big = malloc(BIG);
    assert_non_null(big);
    for (size_t i = 0; i < BIG; i++)
        big[i] = (uint8_t)(i * 7 + i / 251);
    assert_int_equal(conn_send_local(&p.c, p.loop, &p.pool, big, BIG), HY_OK);
    assert_true(conn_has_local(&p.c));     /* the socket did not take it all */
    assert_true(p.c.out->cap > POOL_SIZE); /* kept in a buffer of its own size */
    /* a peer that reads nothing while another answer comes: refused */
    assert_int_equal(conn_send_local(&p.c, p.loop, &p.pool, big, 100), HY_NOMEM);
    drain(&p, big, BIG);
    assert_int_equal(p.pool.n_alloc, 0); /* the one-off buffer given back */
    assert_int_equal(p.pool.n_free, 0);  /* and freed, not pooled */
    free(big);
    pair_close(&p);
}

static void test_small_answers_share_a_pooled_buffer(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p);
    size_t sent = fill(&p);
    uint8_t a[100], b[200];
    memset(a, 'a', sizeof(a));
    memset(b, 'b', sizeof(b));
    assert_int_equal(conn_send_local(&p.c, p.loop, &p.pool, a, sizeof(a)), HY_OK);
    assert_int_equal(conn_send_local(&p.c, p.loop, &p.pool, b, sizeof(b)), HY_OK);
    assert_int_equal(p.c.out->cap, POOL_SIZE);
    unfill(&p, sent);
    uint8_t want[300];
    memcpy(want, a, sizeof(a));
    memcpy(want + sizeof(a), b, sizeof(b));
    drain(&p, want, sizeof(want));
    assert_int_equal(p.pool.n_free, 1); /* the pooled buffer back in the pool */
    pair_close(&p);
}

/* A login's token (a scramble's answer) the socket did not take at once
 * waits in a pooled buffer: the buffer goes back to the pool wiped, once
 * sent or when the connection closes, so the next user of it cannot read
 * the token. */
static const uint8_t TOKEN[20] = "scramble-answer-0123";

static bool pooled_holds_token(const struct pair *p)
{
    return p->pool.free != NULL &&
           memmem(p->pool.free->data, p->pool.free->cap, TOKEN, sizeof(TOKEN)) != NULL;
}

static void test_a_token_sent_late_is_wiped_once_sent(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p);
    size_t sent = fill(&p);
    assert_int_equal(conn_send_secret(&p.c, p.loop, &p.pool, TOKEN, sizeof(TOKEN)), HY_OK);
    assert_true(conn_has_local(&p.c)); /* it waits in a pooled buffer */
    unfill(&p, sent);
    drain(&p, TOKEN, sizeof(TOKEN));
    assert_int_equal(p.pool.n_free, 1);
    assert_false(pooled_holds_token(&p));
    pair_close(&p);
}

static void test_a_token_sent_late_is_wiped_at_close(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p);
    (void)fill(&p);
    assert_int_equal(conn_send_secret(&p.c, p.loop, &p.pool, TOKEN, sizeof(TOKEN)), HY_OK);
    conn_close(&p.c, p.loop, &p.pool);
    assert_int_equal(p.pool.n_free, 1);
    assert_false(pooled_holds_token(&p));
    pair_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_large_answer_waits_whole),
        cmocka_unit_test(test_small_answers_share_a_pooled_buffer),
        cmocka_unit_test(test_a_token_sent_late_is_wiped_once_sent),
        cmocka_unit_test(test_a_token_sent_late_is_wiped_at_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
