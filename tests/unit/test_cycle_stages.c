/*
 * test_cycle_stages.c: each stage of the command cycle (session.c's
 * cycle[]) doing its job, seen from outside through the scripted client
 * and backends (cycle_fixture.h): the gate, the command stage, the route,
 * the outcome, the limit, the forward (the backend readied, the
 * consistency wait), done in each pool_mode, the lost execution's stage
 * and the KILL in a text; each command kind against its row of the
 * table; and a transaction's backend lost under the client's command and
 * under one halyard sent itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/protocol/mysql_proto.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"

#include "../../src/session/session_int.h"
#include "cycle_fixture.h"

/* The configurations the tests run with (their prestate). */
static const char conf_eventual[] = BASE_CONF "consistency = \"eventual\";\n";
static const char conf_global[] = BASE_CONF "consistency = \"global\";\n";
static const char conf_block[] =
    BASE_CONF "consistency = \"eventual\";\n"
              "rules = ( { name = \"nodrop\"; match_text = \"^DROP TABLE\"; action = \"block\"; "
              "error_code = 1290; error_message = \"no drops\"; } );\n";
static const char conf_limit[] =
    BASE_CONF "consistency = \"eventual\";\n"
              "limits = ( { name = \"one\"; max_concurrent = 1; queue_size = 1; "
              "queue_timeout_ms = 5000; } );\n";
static const char conf_limit_full[] =
    BASE_CONF "consistency = \"eventual\";\n"
              "limits = ( { name = \"one\"; max_concurrent = 1; queue_size = 0; } );\n";
static const char conf_session_pool[] =
    BASE_CONF "consistency = \"eventual\";\npool_mode = \"session\";\n";
static const char conf_max_ps[] =
    BASE_CONF "consistency = \"eventual\";\nmax_prepared_statements = 1;\n";

/* ---- the stages ---------------------------------------------------------- */

/* The gate (next_take) lets through only a command packet: an empty one
 * gets ERR 1047 from halyard and reaches no stage after the gate nor any
 * backend, and the session goes on; one whose sequence id is not 0 gets
 * ERR 1156 and the session ends. */
static void test_gate(void **state)
{
    struct fx *f = *state;
    size_t from = f->n_trace;
    uint16_t err = 0;
    send_raw(f, 0, "", 0, 0);
    assert_int_equal(recv1(f, 0, &err, 2000), 0xff);
    assert_int_equal(err, ER_UNKNOWN_COM_ERROR);
    assert_int_equal(count(f, from, "stage"), 1);
    assert_true(traced(f, from, " gate") >= 0);
    assert_int_equal(f->primary.n_accepted + f->replica.n_accepted, 0);
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1); /* it goes on */
    from = f->n_trace;
    const uint8_t q[] = {COM_QUERY, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '2'};
    send_raw(f, 0, q, sizeof(q), 3);
    err = 0;
    assert_int_equal(recv1(f, 0, &err, 2000), 0xff);
    assert_int_equal(err, ER_NET_PACKETS_OUT_OF_ORDER);
    assert_int_equal(recv1(f, 0, NULL, 2000), -1); /* closed */
    assert_int_equal(count(f, from, "stage"), 0);  /* it stopped there */
    assert_int_equal(fb_logged(&f->replica, "SELECT 2"), -1);
    assert_int_equal(fb_logged(&f->primary, "SELECT 2"), -1);
}

/* The command stage (com_handlers[]): a COM_PING is answered by halyard
 * and goes no further; a COM_STMT_PREPARE past max_prepared_statements
 * (1 here) gets ERR 1461 there, and no backend sees it. */
static void test_command(void **state)
{
    struct fx *f = *state;
    size_t from = f->n_trace;
    uint16_t err = 0;
    assert_int_equal(simple(f, 0, COM_PING, &err), 0);
    static const char *const ping[] = {" 0e gate", " 0e command", NULL};
    assert_order(f, from, ping);
    assert_int_equal(count(f, from, "stage"), 2);
    assert_int_equal(f->primary.n_log + f->replica.n_log, 0);
    assert_true(prepare(f, 0, "SELECT a FROM t") >= 0);
    size_t logged = f->primary.n_log + f->replica.n_log;
    assert_int_equal(logged, 1);
    from = f->n_trace;
    assert_int_equal(prepare(f, 0, "SELECT b FROM t"), -1);
    assert_int_equal(count(f, from, "stage"), 2); /* the gate and the command */
    assert_int_equal(f->primary.n_log + f->replica.n_log, logged);
    assert_int_equal(fb_logged(&f->replica, "SELECT b"), -1);
}

/* The route stage: a write to the primary, a read to the replica, a read
 * in a transaction to the primary, where the transaction is. */
static void test_route(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (1)", &err), 0);
    assert_true(fb_logged(&f->primary, "Q:INSERT INTO t") >= 0);
    assert_int_equal(fb_logged(&f->replica, "INSERT"), -1);
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_true(fb_logged(&f->replica, "Q:SELECT a FROM t") >= 0);
    assert_int_equal(fb_logged(&f->primary, "SELECT a FROM t"), -1);
    assert_int_equal(query(f, 0, "BEGIN", &err), 0);
    assert_int_equal(query(f, 0, "SELECT a FROM t WHERE a = 1", &err), 1);
    assert_int_equal(query(f, 0, "COMMIT", &err), 0);
    assert_true(fb_logged(&f->primary, "Q:SELECT a FROM t WHERE a = 1") >= 0);
    assert_int_equal(fb_logged(&f->replica, "WHERE a = 1"), -1);
}

/* The outcome stage: a statement a query rule blocks is answered with
 * the rule's error, after the route, and never reaches a backend. */
static void test_outcome(void **state)
{
    struct fx *f = *state;
    size_t from = f->n_trace;
    uint16_t err = 0;
    assert_int_equal(query(f, 0, "DROP TABLE t", &err), 0xff);
    assert_int_equal(err, 1290);
    static const char *const want[] = {" 03 gate", " 03 route", " 03 outcome", NULL};
    assert_order(f, from, want);
    assert_int_equal(count(f, from, " limit"), 0);
    assert_int_equal(count(f, from, " forward"), 0);
    assert_int_equal(fb_logged(&f->primary, "DROP"), -1);
    assert_int_equal(fb_logged(&f->replica, "DROP"), -1);
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1); /* it goes on */
}

/* The limit stage: with max_concurrent = 1, a second session's statement
 * waits in the limit's queue while the first one's is on the primary
 * (held there by the fake backend), reaches the primary only once the
 * first is answered, and is answered then. */
static void test_limit(void **state)
{
    struct fx *f = *state;
    int c2 = client_open(f);
    fb_rule(&f->primary, "a = 1", FB_HOLD, 0, "", 1);
    size_t from = f->n_trace;
    const char *q1 = "\x03UPDATE t SET a = 1", *q2 = "\x03UPDATE t SET a = 2";
    send_raw(f, 0, q1, strlen(q1), 0);
    assert_true(fb_pump(f->w.loop, primary_has, "a = 1", 2000));
    send_raw(f, c2, q2, strlen(q2), 0);
    run_for(f, 100);
    assert_int_equal(fb_logged(&f->primary, "a = 2"), -1); /* held back */
    assert_int_equal(count(f, from, "wait limit begin"), 1);
    fb_release(&f->primary);
    uint16_t err = 0;
    assert_int_equal(recv1(f, 0, &err, 2000), 0);
    assert_int_equal(recv1(f, c2, &err, 2000), 0);
    static const char *const want[] = {"db1 Q:UPDATE t SET a = 1", "wait limit begin",
                                       "db1 Q:UPDATE t SET a = 2", NULL};
    assert_order(f, from, want);
}

/* A full queue (queue_size = 0): the second session's statement gets
 * error 1226 at the limit stage and never reaches the primary. */
static void test_limit_full(void **state)
{
    struct fx *f = *state;
    int c2 = hold_first_update(f);
    size_t from = f->n_trace;
    uint16_t err = 0;
    assert_int_equal(query(f, c2, "UPDATE t SET a = 2", &err), 0xff);
    assert_int_equal(err, ER_USER_LIMIT_REACHED);
    static const char *const want[] = {" 03 route", " 03 outcome", " 03 limit", NULL};
    assert_order(f, from, want);
    assert_int_equal(count(f, from, " forward"), 0);
    assert_int_equal(fb_logged(&f->primary, "a = 2"), -1);
    fb_release(&f->primary);
    assert_int_equal(recv1(f, 0, &err, 2000), 0);
}

/* The forward stage readies the backend: no connection is opened before
 * a command is routed to it, and the command goes once it is. */
static void test_forward(void **state)
{
    struct fx *f = *state;
    assert_int_equal(f->primary.n_accepted + f->replica.n_accepted, 0);
    size_t from = f->n_trace;
    uint16_t err = 0;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_int_equal(f->replica.n_accepted, 1);
    assert_int_equal(f->primary.n_accepted, 0);
    static const char *const want[] = {" 03 route", " 03 limit", " 03 forward",
                                       "db2 Q:SELECT a FROM t", NULL};
    assert_order(f, from, want);
}

/* The consistency wait (in the forward, consistency = global): a read
 * after a write, as a COM_QUERY and as a COM_STMT_EXECUTE, waits the
 * same way: the wait begins (on_wait), the primary's position is read,
 * the replica waits for it, the wait ends (on_wait), then the read goes
 * to the replica. */
static void test_consistency_wait(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    long id = prepare(f, 0, "SELECT a FROM t");
    assert_true(id >= 0);
    static const char *const want_q[] = {
        "wait consistency begin", "db1 Q:SELECT @@",       "db2 Q:SELECT MASTER_GTID_WAIT('0-1-5'",
        "wait consistency end",   "db2 Q:SELECT a FROM t", NULL};
    static const char *const want_x[] = {
        "wait consistency begin", "db1 Q:SELECT @@", "db2 Q:SELECT MASTER_GTID_WAIT('0-1-5'",
        "wait consistency end",   "db2 X:",          NULL};
    int begins[2];
    for (int k = 0; k < 2; k++) {
        assert_int_equal(query(f, 0, "INSERT INTO t VALUES (1)", &err), 0);
        size_t from = f->n_trace;
        if (k == 0)
            assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
        else
            assert_int_equal(execute(f, 0, id, &err), 0);
        assert_order(f, from, k == 0 ? want_q : want_x);
        assert_int_equal(count(f, from, "MASTER_GTID_WAIT"), 1);
        begins[k] = count(f, from, "wait consistency begin");
        if (count(f, from, "wait consistency end") != 1) {
            dump(f, from);
            fail_msg("the consistency wait ended %d times", count(f, from, "wait consistency end"));
        }
    }
    assert_int_equal(begins[0], begins[1]);
}

/* Done, in pool_mode = "transaction": a statement's end gives its
 * connection back to the pool, and a second session's statement runs on
 * it (one connection to the primary for both); a transaction keeps it
 * till COMMIT, so the second session opens another, and after COMMIT
 * both run on the connections there are. */
static void test_done_pool(void **state)
{
    struct fx *f = *state;
    int c2 = client_open(f);
    uint16_t err = 0;
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (1)", &err), 0);
    assert_int_equal(query(f, c2, "INSERT INTO t VALUES (2)", &err), 0);
    assert_int_equal(f->primary.n_accepted, 1);
    assert_int_equal(primary_conn_of(f, "VALUES (1)"), primary_conn_of(f, "VALUES (2)"));
    assert_int_equal(query(f, 0, "BEGIN", &err), 0);
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (3)", &err), 0);
    assert_int_equal(query(f, c2, "INSERT INTO t VALUES (4)", &err), 0);
    assert_int_equal(f->primary.n_accepted, 2);
    assert_true(primary_conn_of(f, "VALUES (3)") != primary_conn_of(f, "VALUES (4)"));
    assert_int_equal(query(f, 0, "COMMIT", &err), 0);
    assert_int_equal(query(f, c2, "INSERT INTO t VALUES (5)", &err), 0);
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (6)", &err), 0);
    assert_int_equal(f->primary.n_accepted, 2);
}

/* The same in pool_mode = "session": each session keeps its own. */
static void test_done_session_pool(void **state)
{
    struct fx *f = *state;
    int c2 = client_open(f);
    uint16_t err = 0;
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (1)", &err), 0);
    assert_int_equal(query(f, c2, "INSERT INTO t VALUES (2)", &err), 0);
    assert_int_equal(f->primary.n_accepted, 2);
    assert_true(primary_conn_of(f, "VALUES (1)") != primary_conn_of(f, "VALUES (2)"));
}

/* ---- a stage for one kind: the lost execution, the KILL in a text ------- */

/* The lost-execute stage: the primary closes the connection that holds
 * the session's transaction while the session is idle; the next
 * COM_STMT_EXECUTE meets the lost transaction there, before its command
 * stage: ERR 1927, and no backend sees it. */
static void test_lost_execute(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    long id = prepare(f, 0, "SELECT a FROM t");
    assert_true(id >= 0);
    size_t logged = lose_idle_transaction(f);
    size_t from = f->n_trace;
    assert_int_equal(execute(f, 0, id, &err), 0xff);
    assert_int_equal(err, ER_CONNECTION_KILLED);
    static const char *const want[] = {" 17 gate", " 17 lost-execute", NULL};
    assert_order(f, from, want);
    assert_int_equal(count(f, from, " 17 command"), 0);
    assert_int_equal(f->primary.n_log + f->replica.n_log, logged);
}

/* The kill-chain stage: a multi-statement text with a KILL in it runs a
 * part at a time: the INSERT before the KILL goes alone to the primary
 * and its OK says more results follow; the KILL (of an id that is not a
 * halyard session's: the server's thread) goes after it as a statement
 * of its own, and its OK ends the answer. */
static void test_kill_chain(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    size_t from = f->n_trace;
    const char *sql = "INSERT INTO t VALUES (1); KILL 999999";
    uint8_t p[64] = {COM_QUERY}, ok[8] = {0};
    memcpy(p + 1, sql, strlen(sql));
    assert_int_equal(
        fb_client_command(&f->client[0], f->w.loop, p, 1 + strlen(sql), &err, ok, sizeof(ok)), 0);
    assert_true((ok[3] | ok[4] << 8) & SERVER_MORE_RESULTS_EXISTS);
    uint8_t last[16];
    int n = fb_client_recv(&f->client[0], f->w.loop, last, sizeof(last), 2000);
    assert_true(n >= 5 && last[0] == 0x00);
    assert_false((last[3] | last[4] << 8) & SERVER_MORE_RESULTS_EXISTS);
    assert_int_equal(fb_logged(&f->primary, "Q:INSERT INTO t VALUES (1); KILL"), -1);
    static const char *const want[] = {" 03 kill-chain", "db1 Q:INSERT INTO t VALUES (1)",
                                       " 03 gate", "db1 Q: KILL 999999", NULL};
    assert_order(f, from, want);
}

/* ---- each command kind: the stages it passed, against the table ------- */

/* The stages command `cmd` passed in its last pass (from its last gate)
 * after trace line `from`, into names; their count. */
static size_t last_pass(const struct fx *f, size_t from, uint8_t cmd, const char **names,
                        size_t max)
{
    char gate[16], pre[8];
    snprintf(gate, sizeof(gate), " %02x gate", cmd);
    snprintf(pre, sizeof(pre), " %02x ", cmd);
    size_t start = f->n_trace;
    for (size_t i = from; i < f->n_trace; i++)
        if (strncmp(f->trace[i], "stage s", 7) == 0 && strstr(f->trace[i], gate) != NULL)
            start = i;
    size_t n = 0;
    for (size_t i = start; i < f->n_trace && n < max; i++) {
        const char *at = strncmp(f->trace[i], "stage s", 7) == 0 ? strstr(f->trace[i], pre) : NULL;
        if (at != NULL)
            names[n++] = at + strlen(pre);
    }
    return n;
}

/* A COM_CHANGE_USER to app, no password: its first answer's byte (an
 * auth switch request is answered with an empty scramble). */
static int change_user(struct fx *f, int c, uint16_t *err)
{
    uint8_t p[128];
    size_t n = 0;
    p[n++] = COM_CHANGE_USER;
    memcpy(p + n, "app", 4), n += 4;
    p[n++] = 0;              /* no scramble */
    p[n++] = 0;              /* no schema */
    p[n++] = 45, p[n++] = 0; /* utf8mb4 */
    memcpy(p + n, "mysql_native_password", 22), n += 22;
    send_raw(f, c, p, n, 0);
    int got = recv1(f, c, err, 3000);
    if (got == 0xfe) {
        send_raw(f, c, "", 0, 2);
        got = recv1(f, c, err, 3000);
    }
    return got;
}

/* Each command kind passes the stages session_cycle_path() gives for it,
 * in order: the stages it ran are the head of its row, and all of it
 * when a backend got the command (COM_STMT_SEND_LONG_DATA and
 * COM_STMT_RESET too, which session_ps.c once sent from their command
 * stage: issue 55 item 1); else the last one it ran answered it (COM_PING
 * with no backend yet, COM_STMT_CLOSE, COM_RESET_CONNECTION,
 * COM_CHANGE_USER at the command stage, COM_STMT_FETCH with no cursor at
 * the route). */
static void test_kinds(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    long id = -1;
    static const uint8_t kinds[] = {
        COM_QUERY,
        COM_QUERY,
        COM_INIT_DB,
        COM_PING,
        COM_STMT_PREPARE,
        COM_STMT_EXECUTE,
        COM_STMT_SEND_LONG_DATA,
        COM_STMT_FETCH,
        COM_STMT_RESET,
        COM_STMT_CLOSE,
        COM_RESET_CONNECTION,
        COM_CHANGE_USER,
    };
    for (size_t k = 0; k < sizeof(kinds); k++) {
        uint8_t cmd = kinds[k];
        size_t from = f->n_trace, logged_p = f->primary.n_log, logged_r = f->replica.n_log;
        uint8_t p[64] = {cmd};
        uint32_t sid = (uint32_t)(id < 0 ? 0 : id);
        memcpy(p + 1, &sid, 4);
        int got = 0;
        switch (cmd) {
        case COM_QUERY:
            got = query(f, 0, k == 0 ? "SELECT a FROM t" : "INSERT INTO t VALUES (2)", &err);
            break;
        case COM_INIT_DB:
            memcpy(p + 1, "db", 2);
            got = fb_client_command(&f->client[0], f->w.loop, p, 3, &err, NULL, 0);
            break;
        case COM_STMT_PREPARE:
            got = (id = prepare(f, 0, "SELECT a FROM t WHERE a = ?")) >= 0 ? 0 : -1;
            break;
        case COM_STMT_EXECUTE:
            got = execute(f, 0, id, &err);
            break;
        case COM_STMT_SEND_LONG_DATA: /* no answer: a COM_PING after it */
        case COM_STMT_CLOSE:
            p[5] = p[6] = 0, p[7] = 'x';
            send_raw(f, 0, p, cmd == COM_STMT_CLOSE ? 5 : 8, 0);
            got = simple(f, 0, COM_PING, &err);
            break;
        case COM_STMT_FETCH:
            p[5] = 1, p[6] = p[7] = p[8] = 0;
            got = fb_client_command(&f->client[0], f->w.loop, p, 9, &err, NULL, 0);
            break;
        case COM_STMT_RESET:
            got = fb_client_command(&f->client[0], f->w.loop, p, 5, &err, NULL, 0);
            break;
        case COM_CHANGE_USER:
            got = change_user(f, 0, &err);
            break;
        default:
            got = simple(f, 0, cmd, &err);
            break;
        }
        if (got < 0)
            fail_msg("command 0x%02x: no answer", cmd);
        const char *want[16], *ran[16];
        size_t nw = session_cycle_path(cmd, want, 16);
        size_t nr = last_pass(f, from, cmd, ran, 16);
        bool sent = false; /* a backend got it (for a COM_PING after, its ping) */
        char tag[8];
        snprintf(tag, sizeof(tag), "%s",
                 cmd == COM_QUERY          ? "Q:"
                 : cmd == COM_STMT_PREPARE ? "P:"
                 : cmd == COM_STMT_EXECUTE ? "X:"
                                           : "C:");
        if (strcmp(tag, "C:") == 0)
            snprintf(tag, sizeof(tag), "C:%02x", cmd);
        for (size_t i = logged_p; i < f->primary.n_log; i++)
            sent |= strstr(f->primary.log[i], tag) != NULL;
        for (size_t i = logged_r; i < f->replica.n_log; i++)
            sent |= strstr(f->replica.log[i], tag) != NULL;
        bool bad = nr == 0 || nr > nw || (sent && nr != nw);
        for (size_t i = 0; !bad && i < nr; i++)
            bad = strcmp(want[i], ran[i]) != 0;
        print_message("  0x%02x %-22s answer 0x%02x, %zu of %zu stages, the last %s%s\n", cmd,
                      mysql_com_name(cmd), (unsigned)got, nr, nw, nr > 0 ? ran[nr - 1] : "-",
                      sent ? " (to a backend)" : "");
        if (bad) {
            dump(f, from);
            fail_msg("command 0x%02x: its stages are not its row's", cmd);
        }
    }
}

/* ---- a loss: the client's command, or one halyard sent itself -------- */

/* What the client gets when the primary closes the connection holding
 * its transaction under (a) its own INSERT, (b) the COM_STMT_PREPARE
 * halyard sends there before an execution (the statement was prepared
 * on the replica): the answer to the command that met the loss, and to
 * the statement after it. */
static void loss_run(struct fx *f, bool internal, int got[2], uint16_t err[2])
{
    uint16_t e = 0;
    long id = prepare(f, 0, "SELECT a FROM t");
    assert_true(id >= 0);
    assert_int_equal(query(f, 0, "BEGIN", &e), 0);
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (1)", &e), 0);
    if (internal) {
        fb_rule_cmd(&f->primary, COM_STMT_PREPARE, "SELECT a FROM t", FB_CLOSE, 0, "", 1);
        got[0] = execute(f, 0, id, &err[0]);
        assert_true(fb_logged(&f->primary, "P:SELECT a FROM t") >= 0);
    } else {
        fb_rule(&f->primary, "VALUES (2)", FB_CLOSE, 0, "", 1);
        got[0] = query(f, 0, "INSERT INTO t VALUES (2)", &err[0]);
    }
    got[1] = query(f, 0, "INSERT INTO t VALUES (3)", &err[1]);
    /* the statement after it ran on another connection: the transaction
     * did not go on */
    assert_true(primary_conn_of(f, "VALUES (3)") != primary_conn_of(f, "VALUES (1)"));
}

static void test_loss(void **state)
{
    struct fx *f = *state;
    int got[2][2] = {{0}};
    uint16_t err[2][2] = {{0}};
    loss_run(f, false, got[0], err[0]);
    int c2 = client_open(f); /* the same on a session of its own */
    (void)c2;
    struct fb_client keep = f->client[0];
    f->client[0] = f->client[c2];
    loss_run(f, true, got[1], err[1]);
    f->client[c2] = f->client[0];
    f->client[0] = keep;
    print_message("  client's INSERT lost: 0x%02x %u, then 0x%02x %u\n", (unsigned)got[0][0],
                  err[0][0], (unsigned)got[0][1], err[0][1]);
    print_message("  halyard's PREPARE lost: 0x%02x %u, then 0x%02x %u\n", (unsigned)got[1][0],
                  err[1][0], (unsigned)got[1][1], err[1][1]);
    assert_int_equal(got[0][0], 0xff);
    assert_int_equal(err[0][0], ER_CONNECTION_KILLED);
    assert_int_equal(got[1][0], got[0][0]);
    assert_int_equal(err[1][0], err[0][0]);
    assert_int_equal(got[1][1], got[0][1]);
    assert_int_equal(err[1][1], err[0][1]);
}

#define T CYCLE_TEST

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_gate, conf_eventual),         T(test_command, conf_max_ps),
        T(test_route, conf_eventual),        T(test_outcome, conf_block),
        T(test_limit, conf_limit),           T(test_limit_full, conf_limit_full),
        T(test_forward, conf_eventual),      T(test_consistency_wait, conf_global),
        T(test_done_pool, conf_eventual),    T(test_done_session_pool, conf_session_pool),
        T(test_lost_execute, conf_eventual), T(test_kill_chain, conf_eventual),
        T(test_kinds, conf_eventual),        T(test_loss, conf_eventual),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
