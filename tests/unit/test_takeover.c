/*
 * test_takeover.c: the socket hand-over between two halyard processes,
 * over a real socketpair: the old side's takeover_send() and the new
 * side's reading (through a fake admin socket), descriptors included; and
 * the "NAME ADDRESS PORT" lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "halyard/core/takeover.h"

static void test_parse_line(void **state)
{
    (void)state;
    struct takeover_sock t;
    assert_int_equal(takeover_parse_line("main 127.0.0.1 6033", &t), HY_OK);
    assert_string_equal(t.name, "main");
    assert_string_equal(t.address, "127.0.0.1");
    assert_int_equal(t.port, 6033);
    assert_int_equal(t.fd, -1);
    assert_int_equal(takeover_parse_line("v6 ::1 1", &t), HY_OK);
    assert_string_equal(t.address, "::1");
    static const char *const bad[] = {"",
                                      "main",
                                      "main 127.0.0.1",
                                      "main 127.0.0.1 0",
                                      "main 127.0.0.1 65536",
                                      "main 127.0.0.1 6033x",
                                      "main 127.0.0.1 x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(takeover_parse_line(bad[i], &t), HY_ERROR);
}

/* A fake old halyard: answers "takeover" with `n` pipes' read ends, then
 * "takeover finish" with OK. */
static void fake_old(int lfd, size_t n)
{
    int c = accept(lfd, NULL, NULL);
    char buf[64];
    ssize_t k = recv(c, buf, sizeof(buf), 0);
    assert_true(k == 9 && memcmp(buf, "takeover\n", 9) == 0);
    struct takeover_sock *socks = calloc(n, sizeof(*socks));
    int(*pipes)[2] = calloc(n, sizeof(*pipes));
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(pipe(pipes[i]), 0);
        socks[i].fd = pipes[i][0];
        snprintf(socks[i].name, sizeof(socks[i].name), "l%zu", i % 3);
        snprintf(socks[i].address, sizeof(socks[i].address), "127.0.0.%zu", i % 3 + 1);
        socks[i].port = 6000 + (int)(i % 3);
        /* the new side reads this back through its copy of the read end */
        char tag[16];
        int len = snprintf(tag, sizeof(tag), "%zu", i);
        assert_int_equal(write(pipes[i][1], tag, (size_t)len), len);
        close(pipes[i][1]);
    }
    char err[128];
    assert_int_equal(takeover_send(c, socks, n, err, sizeof(err)), HY_OK);
    for (size_t i = 0; i < n; i++)
        close(pipes[i][0]);
    free(socks);
    free(pipes);
    k = recv(c, buf, sizeof(buf), 0);
    assert_true(k == 16 && memcmp(buf, "takeover finish\n", 16) == 0);
    static const char ok[] = "OK stopping\n\n";
    assert_int_equal(send(c, ok, sizeof(ok) - 1, 0), (ssize_t)sizeof(ok) - 1);
    close(c);
}

static void run_exchange(size_t n)
{
    char path[108];
    snprintf(path, sizeof(path), "/tmp/halyard-test-takeover-%d.sock", (int)getpid());
    unlink(path);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    assert_int_equal(listen(lfd, 1), 0);
    pid_t pid = fork();
    if (pid == 0) {
        fake_old(lfd, n);
        _exit(0);
    }
    struct takeover_sock *socks;
    size_t got;
    int conn;
    char err[256];
    assert_int_equal(takeover_fetch(path, &socks, &got, &conn, err, sizeof(err)), HY_OK);
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++) {
        char want[16], buf[16] = "";
        snprintf(want, sizeof(want), "%zu", i);
        assert_true(read(socks[i].fd, buf, sizeof(buf) - 1) > 0);
        assert_string_equal(buf, want); /* the i-th descriptor is the i-th line's */
        assert_int_equal(socks[i].port, 6000 + (int)(i % 3));
        close(socks[i].fd);
    }
    free(socks);
    assert_int_equal(takeover_finish(conn, err, sizeof(err)), HY_OK);
    int status = -1;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(lfd);
    unlink(path);
}

static void test_exchange(void **state)
{
    (void)state;
    run_exchange(0);
    run_exchange(3);
    run_exchange(TAKEOVER_BATCH * 2 + 5); /* several batches */
}

static void test_nobody_there(void **state)
{
    (void)state;
    struct takeover_sock *socks;
    size_t n;
    int conn;
    char err[256];
    assert_int_equal(
        takeover_fetch("/tmp/halyard-test-no-such.sock", &socks, &n, &conn, err, sizeof(err)),
        HY_AGAIN);
    assert_string_equal(err, "takeover: /tmp/halyard-test-no-such.sock: No such file or directory");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_line),
        cmocka_unit_test(test_exchange),
        cmocka_unit_test(test_nobody_there),
    };
    return cmocka_run_group_tests_name("takeover", tests, NULL, NULL);
}
