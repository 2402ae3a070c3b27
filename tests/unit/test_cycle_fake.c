/*
 * test_cycle_fake.c: the command cycle (session.c's cycle[]) run whole,
 * with no server: a client on a socket pair, session_create() on a
 * worker of the test's loop, and two scripted backends (fake_backend.h),
 * a primary and a replica, on loopback ports the kernel picks.
 *
 *   - a write goes to the primary, not the replica
 *   - consistency = global: a COM_QUERY read after a write, and a
 *     COM_STMT_EXECUTE one, reach the replica only after the primary's
 *     position read and the replica's wait for it, in that order
 *   - each command kind, run, passes the stages session_cycle_path()
 *     gives, in order, up to the one that answers it (the stage trace,
 *     session_cycle_trace)
 *   - the primary lost under halyard's position read, and under the
 *     client's write: what the client gets
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "halyard/cluster/backend.h"
#include "halyard/config/config.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/session/worker.h"

#include "../../src/session/session_int.h"
#include "fake_backend.h"

#define CONF                                                                                       \
    "listeners = ( { name = \"main\"; address = \"127.0.0.1\"; port = 21002; } );\n"               \
    "users = ( { name = \"app\"; password_hash = \"\"; } );\n"                                     \
    "backends = ( { name = \"db1\"; address = \"127.0.0.1\"; port = 21000; role = \"primary\"; "   \
    "},\n"                                                                                         \
    "  { name = \"db2\"; address = \"127.0.0.1\"; port = 21001; role = \"replica\"; } );\n"        \
    "consistency = \"global\";\n"

struct fx {
    struct worker w;
    struct config *cfg;
    struct fake_backend primary, replica;
    struct fb_client client;
    char trace[FB_MAX_TRACE][160];
    size_t n_trace;
};

static struct fx *cur; /* the running test's, for the stage trace */

/* The cycle's stages as they run, into the trace the backends share. */
static void trace_stage(const struct session *s, uint8_t cmd, const char *stage)
{
    (void)s;
    if (cur != NULL && cur->n_trace < FB_MAX_TRACE)
        snprintf(cur->trace[cur->n_trace++], 160, "stage %02x %s", cmd, stage);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    cur = f;
    session_cycle_trace = trace_stage;
    char err[256];
    fb_listen(&f->primary, "db1");
    fb_listen(&f->replica, "db2");
    char *text = fb_conf(CONF, &f->primary, &f->replica);
    assert_int_equal(config_load_string(text, "t.conf", &f->cfg, err, sizeof(err)), HY_OK);
    free(text);
    assert_int_equal(backend_rt_attach(f->cfg), HY_OK);
    assert_int_equal(worker_init(&f->w, 0, f->cfg, NULL, 0, err, sizeof(err)), HY_OK);
    f->primary.trace = f->replica.trace = f->trace;
    f->primary.n_trace = f->replica.n_trace = &f->n_trace;
    fb_start(&f->primary, f->w.loop);
    fb_start(&f->replica, f->w.loop);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    f->client.fd = sv[1];
    session_create(&f->w, sv[0], &f->cfg->listeners[0]);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    close(f->client.fd);
    fb_pump(f->w.loop, NULL, NULL, 20);
    fb_stop(&f->primary);
    fb_stop(&f->replica);
    worker_destroy(&f->w);
    config_put(f->cfg);
    cur = NULL;
    free(f);
    return 0;
}

/* The trace, then the test fails: the order it asserted is not there. */
static void dump_fail(const struct fx *f)
{
    for (size_t i = 0; i < f->n_trace; i++)
        if (strncmp(f->trace[i], "stage", 5) != 0)
            print_message("  %s\n", f->trace[i]);
    fail_msg("not in the order asserted");
}

/* The index of the first trace line from `from` on containing `text`, else -1. */
static int traced(const struct fx *f, size_t from, const char *text)
{
    for (size_t i = from; i < f->n_trace; i++)
        if (strstr(f->trace[i], text) != NULL)
            return (int)i;
    return -1;
}

static void login(struct fx *f)
{
    assert_true(fb_client_login(&f->client, f->w.loop, "app"));
    /* the position reads' answers: the primary's, and the replica's wait */
    fb_rule(&f->primary, "gtid_binlog_pos", FB_ROW, 0, "0-1-5", 0);
    fb_rule(&f->replica, "MASTER_GTID_WAIT", FB_ROW, 0, "0", 0);
    fb_rule(&f->primary, "SELECT a FROM t", FB_ROW, 0, "p", 0);
    fb_rule(&f->replica, "SELECT a FROM t", FB_ROW, 0, "r", 0);
}

/* A write goes to the primary; the read after it (consistency = global)
 * to the replica, after the primary's position was read and the replica
 * waited for it: in that order. */
static void test_query_after_write(void **state)
{
    struct fx *f = *state;
    login(f);
    uint16_t err = 0;
    assert_int_equal(fb_client_query(&f->client, f->w.loop, "INSERT INTO t VALUES (1)", &err), 0);
    assert_int_equal(fb_client_query(&f->client, f->w.loop, "SELECT a FROM t", &err), 1);
    int w = traced(f, 0, "db1 Q:INSERT INTO t");
    int pos = traced(f, 0, "db1 Q:SELECT @@");
    int wait = traced(f, 0, "db2 Q:SELECT MASTER_GTID_WAIT('0-1-5'");
    int rd = traced(f, 0, "db2 Q:SELECT a FROM t");
    if (!(w >= 0 && pos > w && wait > pos && rd > wait))
        dump_fail(f);
    assert_int_equal(fb_logged(&f->primary, "SELECT a FROM t"), -1);
}

/* A prepared statement's execution after a write waits as a text read
 * does (issue 54): the position read, the replica's wait, then the
 * execution on the replica. */
static void test_execute_after_write(void **state)
{
    struct fx *f = *state;
    login(f);
    uint16_t err = 0;
    uint8_t p[64] = {COM_STMT_PREPARE};
    const char *sql = "SELECT a FROM t";
    memcpy(p + 1, sql, strlen(sql));
    uint8_t ok[12];
    assert_int_equal(
        fb_client_command(&f->client, f->w.loop, p, 1 + strlen(sql), &err, ok, sizeof(ok)), 0);
    assert_int_equal(fb_client_query(&f->client, f->w.loop, "INSERT INTO t VALUES (1)", &err), 0);
    size_t from = f->n_trace;
    uint8_t ex[10] = {COM_STMT_EXECUTE, ok[1], ok[2], ok[3], ok[4], 0, 1, 0, 0, 0};
    int got = fb_client_command(&f->client, f->w.loop, ex, sizeof(ex), &err, NULL, 0);
    assert_int_equal(got, 0);
    int pos = traced(f, from, "db1 Q:SELECT @@");
    int wait = traced(f, from, "db2 Q:SELECT MASTER_GTID_WAIT('0-1-5'");
    int rd = traced(f, from, "db2 X:");
    if (!(pos >= 0 && wait > pos && rd > wait))
        dump_fail(f);
}

/* The stages command `cmd` passed in its last pass (from its last gate)
 * after trace line `from`, into names; their count. */
static size_t last_pass(const struct fx *f, size_t from, uint8_t cmd, const char **names,
                        size_t max)
{
    char gate[32], pre[16];
    snprintf(gate, sizeof(gate), "stage %02x gate", cmd);
    snprintf(pre, sizeof(pre), "stage %02x ", cmd);
    size_t start = f->n_trace;
    for (size_t i = from; i < f->n_trace; i++)
        if (strcmp(f->trace[i], gate) == 0)
            start = i;
    size_t n = 0;
    for (size_t i = start; i < f->n_trace && n < max; i++)
        if (strncmp(f->trace[i], pre, strlen(pre)) == 0)
            names[n++] = f->trace[i] + strlen(pre);
    return n;
}

/* Each command kind, run, passes the stages session_cycle_path says,
 * in order: the table read is the one that runs. */
static void test_stages_run(void **state)
{
    struct fx *f = *state;
    login(f);
    uint16_t err = 0;
    uint8_t ok[12];
    static const struct {
        uint8_t cmd;
        const char *arg;
        const char *last; /* the stage that answers it; NULL = the forward */
    } cases[] = {
        {COM_QUERY, "SELECT a FROM t", NULL},
        {COM_QUERY, "INSERT INTO t VALUES (2)", NULL},
        {COM_PING, "", "command"}, /* halyard answers it */
        {COM_INIT_DB, "db", "command"},
        {COM_STMT_PREPARE, "SELECT a FROM t", NULL}, /* to the replica */
        /* the statement just prepared: taken at the command stage,
         * then routed and forwarded by the execution's own rows of the
         * route and forward stages (session_ps.c's ps_exec_*) */
        {COM_STMT_EXECUTE, NULL, NULL},
        {COM_STMT_RESET, NULL, "command"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        uint8_t p[64] = {cases[k].cmd};
        size_t n = 1;
        if (cases[k].arg != NULL) {
            memcpy(p + 1, cases[k].arg, strlen(cases[k].arg));
            n += strlen(cases[k].arg);
        } else {
            memcpy(p + 1, ok + 1, 4);
            n = cases[k].cmd == COM_STMT_EXECUTE ? 10 : 5;
            p[6] = 1;
        }
        size_t from = f->n_trace;
        int got = fb_client_command(&f->client, f->w.loop, p, n, &err,
                                    cases[k].cmd == COM_STMT_PREPARE ? ok : NULL, sizeof(ok));
        if (got < 0)
            fail_msg("command 0x%02x: no answer", cases[k].cmd);
        const char *want[16], *ran[16];
        size_t nw = session_cycle_path(cases[k].cmd, want, 16);
        size_t nr = last_pass(f, from, cases[k].cmd, ran, 16);
        for (size_t i = 0; cases[k].last != NULL && i < nw; i++)
            if (strcmp(want[i], cases[k].last) == 0)
                nw = i + 1;
        if (nr != nw)
            print_message("  answer 0x%02x err %u\n", (unsigned)got, err);
        if (nr != nw)
            for (size_t i = from; i < f->n_trace; i++)
                print_message("  %s\n", f->trace[i]);
        if (nr != nw)
            fail_msg("command 0x%02x: %zu stages ran, the table has %zu", cases[k].cmd, nr, nw);
        for (size_t i = 0; i < nw; i++)
            if (strcmp(want[i], ran[i]) != 0)
                fail_msg("command 0x%02x: stage %zu ran %s, the table says %s", cases[k].cmd, i,
                         ran[i], want[i]);
    }
}

/* The primary lost under the client's command, and under halyard's own
 * (the position read for the read after a write): what the client gets. */
static void test_loss(void **state)
{
    struct fx *f = *state;
    assert_true(fb_client_login(&f->client, f->w.loop, "app"));
    fb_rule(&f->primary, "gtid_binlog_pos", FB_CLOSE, 0, "", 1);
    fb_rule(&f->primary, "INSERT INTO t VALUES (2)", FB_CLOSE, 0, "", 1);
    fb_rule(&f->replica, "MASTER_GTID_WAIT", FB_ROW, 0, "0", 0);
    fb_rule(&f->primary, "SELECT a FROM t", FB_ROW, 0, "p", 0);
    fb_rule(&f->replica, "SELECT a FROM t", FB_ROW, 0, "r", 0);
    uint16_t err_client = 0, err_internal = 0;
    assert_int_equal(fb_client_query(&f->client, f->w.loop, "INSERT INTO t VALUES (1)", NULL), 0);
    int internal = fb_client_query(&f->client, f->w.loop, "SELECT a FROM t", &err_internal);
    int client = fb_client_query(&f->client, f->w.loop, "INSERT INTO t VALUES (2)", &err_client);
    /* the position read lost, then read again with no answer: the read
     * after the write goes to the primary */
    assert_int_equal(internal, 1);
    assert_true(fb_logged(&f->primary, "Q:SELECT a FROM t") >= 0);
    assert_int_equal(fb_logged(&f->replica, "Q:SELECT a FROM t"), -1);
    /* the client's write lost: ER_CONNECTION_KILLED */
    assert_int_equal(client, 0xff);
    assert_int_equal(err_client, 1927);
}

/* The primary's position read lost: the read routed again reads the
 * position again and waits for it; never a wait for an empty position,
 * which MariaDB answers at once (a read that may miss the write). */
static void test_position_read_lost(void **state)
{
    struct fx *f = *state;
    assert_true(fb_client_login(&f->client, f->w.loop, "app"));
    fb_rule(&f->primary, "gtid_binlog_pos", FB_CLOSE, 0, "", 1);
    fb_rule(&f->primary, "gtid_binlog_pos", FB_ROW, 0, "0-1-5", 0);
    fb_rule(&f->replica, "MASTER_GTID_WAIT", FB_ROW, 0, "0", 0);
    fb_rule(&f->primary, "SELECT a FROM t", FB_ROW, 0, "p", 0);
    fb_rule(&f->replica, "SELECT a FROM t", FB_ROW, 0, "r", 0);
    assert_int_equal(fb_client_query(&f->client, f->w.loop, "INSERT INTO t VALUES (1)", NULL), 0);
    assert_int_equal(fb_client_query(&f->client, f->w.loop, "SELECT a FROM t", NULL), 1);
    int rd = traced(f, 0, "db2 Q:SELECT a FROM t");
    if (traced(f, 0, "MASTER_GTID_WAIT('',") >= 0 ||
        (rd >= 0 && traced(f, 0, "db2 Q:SELECT MASTER_GTID_WAIT('0-1-5'") > rd) ||
        (rd >= 0 && traced(f, 0, "db2 Q:SELECT MASTER_GTID_WAIT('0-1-5'") < 0))
        dump_fail(f);
}

static void test_read_write(void **state)
{
    struct fx *f = *state;
    assert_true(fb_client_login(&f->client, f->w.loop, "app"));
    uint16_t err = 0;
    assert_int_equal(fb_client_query(&f->client, f->w.loop, "INSERT INTO t VALUES (1)", &err), 0);
    assert_true(fb_logged(&f->primary, "Q:INSERT INTO t") >= 0);
    assert_int_equal(fb_logged(&f->replica, "INSERT"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_query_after_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_execute_after_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stages_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_position_read_lost, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
