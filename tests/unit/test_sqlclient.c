/*
 * test_sqlclient.c: the SQL client's login leaves no secret behind.
 *
 * A fake server on 127.0.0.1 greets a real sqlclient, reads its login and
 * answers OK; then it answers a query with a row of 100,000 bytes sent in
 * pieces (the input buffer grows for a packet that is not all there, and
 * consumes the packets it handled from its front). The test computes the mysql_native_password
 * token the login must carry, checks that the login carried it, then checks that no heap block the
 * process holds still contains it once the login is done: the copy queued in the client's output
 * buffer must be wiped once sent.
 *
 * Heap blocks are seen through the linker's --wrap of malloc, calloc,
 * realloc and free (the Makefile links this test alone that way): every
 * live block is listed, and one that still holds the token when it is
 * grown or freed is counted too, since its bytes would stay in freed
 * memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#include "halyard/protocol/auth.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/protocol/sqlclient.h"
#include "packets.h"

/* ---- the heap, seen through --wrap ---------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

#define MAX_BLOCKS 4096

static struct {
    void *p;
    size_t n;
} blocks[MAX_BLOCKS];
static uint8_t secret[MYSQL_SCRAMBLE_LEN]; /* what no block may keep */
static bool watching;
static int dropped_with_secret; /* blocks grown or freed holding it */

static bool holds_secret(const void *p, size_t n)
{
    return watching && p != NULL && memmem(p, n, secret, sizeof(secret)) != NULL;
}

static size_t *find(void *p)
{
    for (size_t i = 0; i < MAX_BLOCKS; i++)
        if (blocks[i].p == p)
            return &blocks[i].n;
    return NULL;
}

static void track(void *p, size_t n)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < MAX_BLOCKS; i++)
        if (blocks[i].p == NULL) {
            blocks[i].p = p;
            blocks[i].n = n;
            return;
        }
}

/* Forget p, counting it if it still holds the secret (`look`: p is still
 * allocated, so its bytes may be read). */
static void untrack(void *p, bool look)
{
    for (size_t i = 0; i < MAX_BLOCKS && p != NULL; i++)
        if (blocks[i].p == p) {
            if (look && holds_secret(p, blocks[i].n))
                dropped_with_secret++;
            blocks[i].p = NULL;
            return;
        }
}

void *__wrap_malloc(size_t n)
{
    void *p = __real_malloc(n);
    track(p, n);
    return p;
}

void *__wrap_calloc(size_t k, size_t n)
{
    void *p = __real_calloc(k, n);
    track(p, k * n);
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    size_t *old = find(p);
    if (old != NULL && holds_secret(p, *old))
        dropped_with_secret++; /* realloc may move it and free the old copy */
    void *q = __real_realloc(p, n);
    if (q != NULL) {
        untrack(p, false); /* looked at above; it may be gone now */
        track(q, n);
    }
    return q;
}

void __wrap_free(void *p)
{
    untrack(p, true);
    __real_free(p);
}

static int live_with_secret(void)
{
    int k = 0;
    for (size_t i = 0; i < MAX_BLOCKS; i++)
        if (blocks[i].p != NULL && holds_secret(blocks[i].p, blocks[i].n))
            k++;
    return k;
}

/* ---- a fake server -------------------------------------------------------- */

static const char PASSWORD[] = "mon-Secret-42";
static const uint8_t SCRAMBLE[MYSQL_SCRAMBLE_LEN] = "abcdefghij0123456789";

struct run {
    struct ev_loop *loop;
    int done; /* callbacks seen */
    bool ok;
    size_t n_rows;
    uint16_t err_code;
    char *cell; /* row 0, column 0 of a result, copied */
};

static void on_done(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    struct run *r = arg;
    r->done++;
    r->ok = res->ok;
    r->err_code = res->err_code;
    r->n_rows = res->n_rows;
    const char *v = sqlresult_get(res, 0, 0);
    free(r->cell);
    r->cell = v != NULL ? strdup(v) : NULL;
}

/* Run the client's loop until its callback has run `n` times (~2 s at most). */
static void wait_done(struct run *r, int n)
{
    for (int i = 0; i < 2000 && r->done < n; i++) {
        ev_run(r->loop, EVRUN_NOWAIT);
        poll(NULL, 0, 1);
    }
    assert_int_equal(r->done, n);
}

/* Run the client's loop until fd is readable (or ~2 s pass). */
static bool wait_readable(struct ev_loop *loop, int fd)
{
    for (int i = 0; i < 2000; i++) {
        ev_run(loop, EVRUN_NOWAIT);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 1) == 1)
            return true;
    }
    return false;
}

static void send_packet(int fd, uint8_t seq, const uint8_t *payload, size_t len)
{
    uint8_t buf[512];
    assert_true(len + MYSQL_HEADER_SIZE <= sizeof(buf));
    mysql_hdr_write(buf, (uint32_t)len, seq);
    memcpy(buf + MYSQL_HEADER_SIZE, payload, len);
    assert_int_equal(write(fd, buf, len + MYSQL_HEADER_SIZE), (ssize_t)(len + MYSQL_HEADER_SIZE));
}

/* A packet (header and payload) at out; returns its length. */
static size_t answer_packet(uint8_t *out, uint8_t seq, const uint8_t *payload, size_t len)
{
    mysql_hdr_write(out, (uint32_t)len, seq);
    memcpy(out + MYSQL_HEADER_SIZE, payload, len);
    return MYSQL_HEADER_SIZE + len;
}

static int listen_local(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 1), 0);
    socklen_t alen = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A client connecting to the fake server listening on lfd, and the
 * server's end (*fd) once it has sent its greeting. */
static struct sqlclient *greeted(struct run *r, int lfd, int port, int *fd)
{
    struct sqlclient_target t = {
        .name = "fake", .address = "127.0.0.1", .port = port, .user = "mon", .password = PASSWORD};
    struct sqlclient *c = sqlclient_create(r->loop, &t, 2000);
    assert_non_null(c);
    assert_int_equal(sqlclient_connect(c, on_done, r), HY_OK);
    *fd = accept(lfd, NULL, NULL);
    assert_true(*fd >= 0);
    uint8_t g[256];
    size_t glen =
        mysql_greeting_encode(g, sizeof(g), "10.11.6-MariaDB", 7, SCRAMBLE,
                              CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION |
                                  CLIENT_PLUGIN_AUTH | CLIENT_TRANSACTIONS | CLIENT_LONG_FLAG,
                              0, "mysql_native_password");
    assert_true(glen > 0);
    send_packet(*fd, 0, g, glen);
    return c;
}

static void test_login_token_wiped(void **state)
{
    (void)state;
    auth_native_scramble(SCRAMBLE, PASSWORD, strlen(PASSWORD), secret);
    int port;
    int lfd = listen_local(&port);
    struct run r = {.loop = ev_loop_new(EVFLAG_AUTO)};
    watching = true;
    int fd;
    struct sqlclient *c = greeted(&r, lfd, port, &fd);
    assert_true(wait_readable(r.loop, fd));
    uint8_t login[1024];
    ssize_t n = read(fd, login, sizeof(login));
    assert_true(n > MYSQL_HEADER_SIZE);
    /* the login carries the token: the test looks for the right bytes */
    assert_non_null(memmem(login, (size_t)n, secret, sizeof(secret)));
    memset(login, 0, sizeof(login));

    static const uint8_t ok[] = {MYSQL_OK, 0, 0, 2, 0, 0, 0};
    send_packet(fd, 2, ok, sizeof(ok));
    wait_done(&r, 1);
    assert_true(r.ok);
    assert_true(sqlclient_ready(c));

    /* sent, so wiped: no live block keeps it, none was dropped with it */
    assert_int_equal(live_with_secret(), 0);
    assert_int_equal(dropped_with_secret, 0);

    /* A result whose row does not fit the first 4096 bytes, in pieces. */
    assert_int_equal(sqlclient_query(c, "SELECT big", on_done, &r), HY_OK);
    assert_true(wait_readable(r.loop, fd));
    uint8_t q[64];
    assert_true(read(fd, q, sizeof(q)) > MYSQL_HEADER_SIZE);
    enum { BIG = 100000 };
    uint8_t *ans = malloc(BIG + 512);
    assert_non_null(ans);
    size_t n_ans = 0;
    uint8_t pl[256];
    pl[0] = 1; /* one column */
    n_ans += answer_packet(ans + n_ans, 1, pl, 1);
    struct pk_col col = {.name = "big",
                         .org_name = "big",
                         .charset = 33,
                         .length = BIG,
                         .type = MYSQL_TYPE_VAR_STRING};
    n_ans += answer_packet(ans + n_ans, 2, pl, pk_coldef(pl, sizeof(pl), &col));
    static const uint8_t eof[] = {MYSQL_EOF, 0, 0, 2, 0};
    n_ans += answer_packet(ans + n_ans, 3, eof, sizeof(eof));
    uint8_t *row = ans + n_ans + MYSQL_HEADER_SIZE; /* 0xfd, 3 length bytes, the value */
    row[0] = 0xfd;
    row[1] = BIG & 0xff;
    row[2] = (BIG >> 8) & 0xff;
    row[3] = (BIG >> 16) & 0xff;
    for (size_t i = 0; i < BIG; i++)
        row[4 + i] = (uint8_t)('a' + i % 26);
    mysql_hdr_write(ans + n_ans, 4 + BIG, 4);
    n_ans += MYSQL_HEADER_SIZE + 4 + BIG;
    n_ans += answer_packet(ans + n_ans, 5, eof, sizeof(eof));
    for (size_t off = 0; off < n_ans; off += 7000) {
        size_t k = n_ans - off < 7000 ? n_ans - off : 7000;
        assert_int_equal(write(fd, ans + off, k), (ssize_t)k);
        for (int i = 0; i < 5; i++) /* the client reads what is there: a part */
            ev_run(r.loop, EVRUN_NOWAIT);
    }
    wait_done(&r, 2);
    assert_true(r.ok);
    assert_int_equal(r.n_rows, 1);
    assert_non_null(r.cell);
    assert_int_equal(strlen(r.cell), BIG);
    assert_memory_equal(r.cell, row + 4, BIG);
    free(ans);

    /* What was handled was consumed: the next answer reads from the front. */
    assert_int_equal(sqlclient_ping(c, on_done, &r), HY_OK);
    assert_true(wait_readable(r.loop, fd));
    assert_true(read(fd, q, sizeof(q)) > MYSQL_HEADER_SIZE);
    send_packet(fd, 1, ok, sizeof(ok));
    wait_done(&r, 3);
    assert_true(r.ok);

    sqlclient_destroy(c);
    assert_int_equal(dropped_with_secret, 0);
    watching = false;
    free(r.cell);
    close(fd);
    close(lfd);
    ev_loop_destroy(r.loop);
}

/* A logged-in client and the fake server's end of it. */
static struct sqlclient *logged_in(struct run *r, int lfd, int port, int *fd)
{
    struct sqlclient *c = greeted(r, lfd, port, fd);
    assert_true(wait_readable(r->loop, *fd));
    uint8_t login[1024];
    assert_true(read(*fd, login, sizeof(login)) > MYSQL_HEADER_SIZE);
    static const uint8_t ok[] = {MYSQL_OK, 0, 0, 2, 0, 0, 0};
    send_packet(*fd, 2, ok, sizeof(ok));
    wait_done(r, r->done + 1);
    assert_true(r->ok);
    return c;
}

static struct {
    size_t packets; /* stream packets handed over */
    size_t bytes;
} streamed;

static bool on_stream_packet(struct sqlclient *c, const uint8_t *p, size_t len, void *arg)
{
    (void)c;
    (void)p;
    (void)arg;
    streamed.packets++;
    streamed.bytes += len;
    return true;
}

/* A server that sends the rest of a stream and hangs up at once (MariaDB
 * ends a binlog dump's connection after its EOF): every packet that came
 * before the hang-up is handed over and the stream ends as the server
 * ended it, whether the client read the bytes before the close or found
 * both waiting. A packet cut by the hang-up fails the stream; it does not
 * wait for the rest. */
static void test_stream_read_whole_before_the_hang_up(void **state)
{
    (void)state;
    for (int cut = 0; cut <= 1; cut++) {
        int port;
        int lfd = listen_local(&port);
        struct run r = {.loop = ev_loop_new(EVFLAG_AUTO)};
        int fd;
        struct sqlclient *c = logged_in(&r, lfd, port, &fd);
        memset(&streamed, 0, sizeof(streamed));
        static const uint8_t dump[] = {4, 0, 0, 0, 1, 0, 0, 0, 0, 0, 'b', 'i', 'n'};
        assert_int_equal(
            sqlclient_stream(c, 0x12, dump, sizeof(dump), on_stream_packet, on_done, &r), HY_OK);
        assert_true(wait_readable(r.loop, fd));
        uint8_t q[64];
        assert_true(read(fd, q, sizeof(q)) > MYSQL_HEADER_SIZE);

        enum { EVENTS = 40, EVENT = 1000 };
        uint8_t *out = malloc(EVENTS * (MYSQL_HEADER_SIZE + EVENT) + 64);
        assert_non_null(out);
        size_t n = 0;
        uint8_t ev[EVENT];
        memset(ev, 'e', sizeof(ev));
        ev[0] = 0; /* an event packet's OK byte */
        for (uint8_t i = 0; i < EVENTS; i++)
            n += answer_packet(out + n, (uint8_t)(1 + i), ev, sizeof(ev));
        static const uint8_t eof[] = {MYSQL_EOF, 0, 0, 2, 0};
        if (cut)
            n -= EVENT / 2; /* the last event's second half never comes */
        else
            n += answer_packet(out + n, EVENTS + 1, eof, sizeof(eof));
        assert_int_equal(write(fd, out, n), (ssize_t)n);
        close(fd); /* the data and the hang-up both wait for the client */
        free(out);

        wait_done(&r, r.done + 1);
        if (cut) {
            assert_false(r.ok);
            assert_int_equal(streamed.packets, EVENTS - 1);
        } else {
            assert_true(r.ok);
            assert_int_equal(streamed.packets, EVENTS);
            assert_int_equal(streamed.bytes, (size_t)EVENTS * EVENT);
        }
        sqlclient_destroy(c);
        free(r.cell);
        close(lfd);
        ev_loop_destroy(r.loop);
    }
}

static struct {
    size_t rows;  /* rows handed over */
    size_t bytes; /* bytes of their cells */
    bool shape;   /* every call: one row, the column named "c" */
} rowed;

static void on_row(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    (void)c;
    (void)arg;
    const char *v = sqlresult_get(res, 0, 0);
    rowed.shape = rowed.shape && res->n_rows == 1 && sqlresult_col(res, "c") == 0 && v != NULL;
    rowed.rows++;
    rowed.bytes += v != NULL ? strlen(v) : 0;
}

/* The answer to a query: one column "c", `rows` rows of ROW bytes, then
 * an EOF, or an ERR (1220) when `err`. Written by a child process, since
 * it is more than a socket holds. */
enum { ROW = 1000 };
static pid_t serve_rows(int fd, size_t rows, bool err)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid > 0)
        return pid;
    uint8_t out[ROW + 64], row[ROW + 3];
    uint8_t seq = 1;
    static const uint8_t count[] = {1};
    static const uint8_t def[] = {3,  'd', 'e',  'f', 0, 0, 0,   1, 'c', 1, 'c', 0x0c,
                                  33, 0,   0xe8, 3,   0, 0, 253, 0, 0,   0, 0,   0};
    static const uint8_t eof[] = {MYSQL_EOF, 0, 0, 2, 0};
    size_t n = answer_packet(out, seq++, count, sizeof(count));
    n += answer_packet(out + n, seq++, def, sizeof(def));
    n += answer_packet(out + n, seq++, eof, sizeof(eof));
    if (write(fd, out, n) != (ssize_t)n)
        _exit(1);
    row[0] = 0xfc; /* a length of two bytes */
    row[1] = ROW & 0xff;
    row[2] = ROW >> 8;
    memset(row + 3, 'r', ROW);
    for (size_t i = 0; i < rows; i++) {
        n = answer_packet(out, seq++, row, sizeof(row));
        if (write(fd, out, n) != (ssize_t)n)
            _exit(1);
    }
    static const uint8_t e[] = {MYSQL_ERR, 0xc4, 0x04, '#', 'H', 'Y', '0', '0', '0', 'b', 'a', 'd'};
    n = err ? answer_packet(out, seq, e, sizeof(e)) : answer_packet(out, seq, eof, sizeof(eof));
    _exit(write(fd, out, n) == (ssize_t)n ? 0 : 1);
}

/* A result larger than SQLCLIENT_MAX_RESULT (5,000 rows of 1,000 bytes):
 * sqlclient_query refuses it ("result too large": the in-flight search
 * once read a Galera writer's SHOW BINLOG EVENTS so and gave 1180);
 * sqlclient_query_rows hands over every row and ends ok, on the same
 * connection; an ERR after rows ends it with the server's error. */
static void test_query_rows_of_a_result_over_the_bound(void **state)
{
    (void)state;
    enum { ROWS = 5000 };
    int port;
    int lfd = listen_local(&port);
    struct run r = {.loop = ev_loop_new(EVFLAG_AUTO)};
    int fd;
    struct sqlclient *c = logged_in(&r, lfd, port, &fd);
    uint8_t q[64];
    int status;

    assert_int_equal(sqlclient_query(c, "SHOW BINLOG EVENTS", on_done, &r), HY_OK);
    assert_true(wait_readable(r.loop, fd));
    assert_true(read(fd, q, sizeof(q)) > MYSQL_HEADER_SIZE);
    pid_t pid = serve_rows(fd, ROWS, false);
    wait_done(&r, r.done + 1);
    assert_false(r.ok);
    assert_int_equal(r.err_code, 0); /* "result too large", found here */
    waitpid(pid, &status, 0);
    sqlclient_destroy(c);
    close(fd);

    for (int err = 0; err <= 1; err++) {
        c = logged_in(&r, lfd, port, &fd);
        memset(&rowed, 0, sizeof(rowed));
        rowed.shape = true;
        assert_int_equal(sqlclient_query_rows(c, "SHOW BINLOG EVENTS", on_row, on_done, &r), HY_OK);
        assert_true(wait_readable(r.loop, fd));
        assert_true(read(fd, q, sizeof(q)) > MYSQL_HEADER_SIZE);
        pid = serve_rows(fd, ROWS, err);
        wait_done(&r, r.done + 1);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_int_equal(rowed.rows, ROWS);
        assert_int_equal(rowed.bytes, (size_t)ROWS * ROW);
        assert_true(rowed.shape);
        assert_int_equal(r.n_rows, 0);
        if (err) {
            assert_false(r.ok);
            assert_int_equal(r.err_code, 1220);
        } else {
            assert_true(r.ok);
            assert_true(sqlclient_ready(c));
        }
        sqlclient_destroy(c);
        close(fd);
    }
    free(r.cell);
    close(lfd);
    ev_loop_destroy(r.loop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_token_wiped),
        cmocka_unit_test(test_stream_read_whole_before_the_hang_up),
        cmocka_unit_test(test_query_rows_of_a_result_over_the_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
