/*
 * test_cycle_lost.c: the one failure path (session_conn_lost), with the
 * scripted backends of cycle_fixture.h. A backend connection is lost
 * with the client's command in flight on it, with one of halyard's own,
 * or with nothing; what follows is decided from what was open there (a
 * transaction, state only it had, nothing), never from which command met
 * the loss:
 *   - a loss met by halyard's own command (the COM_STMT_PREPARE an
 *     execution needs where it lands) ends the transaction as a loss met
 *     by the client's command does (issue 55's named check): 1927 for the
 *     transaction, the statement never run alone, the next one outside it;
 *   - the decision table: a read with nothing open runs again elsewhere, a
 *     write with nothing open gets its ERR and the session reconnects, a
 *     transaction is lost (told with the statement in flight, else at the
 *     next one: on_trx_lost), state only that connection had ends the
 *     session. The on_lost point hears what was in flight and open.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/protocol/mysql_proto.h"
#include "halyard/session/session.h"
#include "halyard/session/worker.h"

#include "../../src/session/session_int.h"
#include "cycle_fixture.h"

static const char conf_eventual[] = BASE_CONF "consistency = \"eventual\";\n";

/* What a statement got: its answer's first byte, an ERR's code and
 * message. */
struct answer {
    int first;
    uint16_t err;
    char msg[256];
};

static struct answer send_cmd(struct fx *f, int c, const uint8_t *p, size_t n)
{
    struct answer a = {0};
    uint8_t first[256] = {0};
    a.first = fb_client_command(&f->client[c], f->w.loop, p, n, &a.err, first, sizeof(first) - 1);
    if (a.first == 0xff) /* ERR: marker, code, '#', SQLSTATE, message */
        snprintf(a.msg, sizeof(a.msg), "%s", (const char *)first + 9);
    return a;
}

static struct answer text(struct fx *f, int c, const char *sql)
{
    uint8_t p[256] = {COM_QUERY};
    memcpy(p + 1, sql, strlen(sql));
    return send_cmd(f, c, p, 1 + strlen(sql));
}

static struct answer exec_id(struct fx *f, int c, long id)
{
    uint8_t ex[EXECUTE_PACKET_LEN];
    execute_packet(ex, id);
    return send_cmd(f, c, ex, sizeof(ex));
}

/* How many commands containing `text` the primary logged from entry
 * `from` on. */
static int primary_logged(const struct fx *f, size_t from, const char *text)
{
    int n = 0;
    for (size_t i = from; i < f->primary.n_log; i++)
        n += strstr(f->primary.log[i], text) != NULL;
    return n;
}

/* What followed a loss in a transaction (BEGIN; INSERT (1); the statement
 * that met the loss), and the next statement. */
struct after_loss {
    struct answer met, next;
    int ran_alone; /* the lost statement's commands the primary got after the loss */
    int begun;     /* BEGINs the primary got after the loss */
    bool new_conn; /* the next statement ran on another connection */
    int trx_lost;  /* the session's next statement was to meet the loss */
};

/* Client `c` prepares `SELECT a FROM t` (on the replica), begins a
 * transaction on the primary and writes in it; then its execution meets
 * the primary's close: on its own COM_STMT_EXECUTE (`own` false: the
 * client's command), or on the COM_STMT_PREPARE halyard sends there first
 * (`own`: halyard's command). */
static struct after_loss lose_execution(struct fx *f, int c, bool own)
{
    struct after_loss r = {0};
    long id = prepare(f, c, "SELECT a FROM t");
    assert_true(id >= 0);
    assert_int_equal(text(f, c, "BEGIN").first, 0);
    assert_int_equal(text(f, c, "INSERT INTO t VALUES (1)").first, 0);
    if (own) {
        fb_rule_cmd(&f->primary, COM_STMT_PREPARE, "SELECT a FROM t", FB_CLOSE, 0, NULL, 1);
    } else {
        assert_int_equal(exec_id(f, c, id).first, 0); /* prepared there, run (an OK) */
        fb_rule_cmd(&f->primary, COM_STMT_EXECUTE, "", FB_CLOSE, 0, NULL, 1);
    }
    int conn = primary_conn_of(f, "INSERT INTO t VALUES (1)");
    size_t log_from = f->primary.n_log, from = f->n_trace;
    r.met = exec_id(f, c, id);
    size_t after = f->primary.n_log;
    r.ran_alone = primary_logged(f, after, "X:");
    r.trx_lost = count(f, from, " trx_lost ");
    r.next = text(f, c, "INSERT INTO t VALUES (3)");
    r.begun = primary_logged(f, log_from, "Q:BEGIN");
    r.new_conn = primary_conn_of(f, "INSERT INTO t VALUES (3)") != conn;
    return r;
}

/* Issue 55's named check: a loss met by halyard's own command ends the
 * transaction as a loss met by the client's command does. */
static void test_own_command_loss_ends_the_transaction(void **state)
{
    struct fx *f = *state;
    struct after_loss client = lose_execution(f, 0, false);
    struct after_loss own = lose_execution(f, client_open(f), true);
    const struct after_loss *both[] = {&client, &own};
    for (int k = 0; k < 2; k++) {
        const struct after_loss *r = both[k];
        const char *who = k == 0 ? "the client's command" : "halyard's own command";
        if (r->met.first != 0xff || r->met.err != ER_CONNECTION_KILLED ||
            strstr(r->met.msg, "during the transaction; it was rolled back") == NULL) {
            dump(f, 0);
            fail_msg("%s: answer 0x%02x %u '%s'", who, (unsigned)r->met.first, r->met.err,
                     r->met.msg);
        }
        assert_int_equal(r->ran_alone, 0); /* never run alone, outside its transaction */
        assert_int_equal(r->next.first, 0);
        assert_true(r->new_conn);
        assert_int_equal(r->begun, 0); /* the next statement runs outside any transaction */
    }
    assert_string_equal(client.met.msg, own.met.msg);
    /* the client's command is told at once; halyard's own command's
     * waiting execution meets the loss as the session's next statement */
    assert_int_equal(client.trx_lost, 0);
    assert_int_equal(own.trx_lost, 1);
}

/* A row of the decision table: what is open on the primary (setup), what
 * meets its loss (the statement, or nothing: the primary drops its
 * connections while the session is idle), what the client gets, and what
 * the on_lost point heard. */
struct lost_row {
    const char *name;
    const char *setup[3];
    const char *close_on; /* the backend closes at it; NULL: at idle, after setup */
    bool replica;         /* ... the replica does */
    const char *stmt;
    int want;             /* its answer's first byte */
    const char *want_msg; /* in its ERR's message */
    const char *heard;    /* the on_lost note (NULL: not asked) */
    int trx_lost;         /* on_trx_lost: the session's next statement meets the loss */
    bool ends;            /* the session ends */
};

static const struct lost_row rows[] = {
    {"a read, nothing open: run again elsewhere",
     {NULL},
     "SELECT b FROM t",
     true,
     "SELECT b FROM t",
     1,
     NULL,
     NULL,
     0,
     false},
    {"a write, nothing open: its ERR, then a new connection",
     {NULL},
     "VALUES (2)",
     false,
     "INSERT INTO t VALUES (2)",
     0xff,
     "during query",
     "lost db1 client",
     0,
     false},
    {"a write in a transaction: 1927 now",
     {"BEGIN", "INSERT INTO t VALUES (1)", NULL},
     "VALUES (2)",
     false,
     "INSERT INTO t VALUES (2)",
     0xff,
     "during the transaction",
     "lost db1 client trx",
     0,
     false},
    {"idle in a transaction: 1927 at the next statement",
     {"BEGIN", "INSERT INTO t VALUES (1)", NULL},
     NULL,
     false,
     "INSERT INTO t VALUES (2)",
     0xff,
     "during the transaction",
     NULL,
     1,
     false},
    {"a temporary table, nothing else open: the session ends",
     {"CREATE TEMPORARY TABLE tt (a INT)", NULL},
     "VALUES (2)",
     false,
     "INSERT INTO t VALUES (2)",
     0xff,
     "during query",
     "lost db1 client",
     0,
     true},
    {"a temporary table and a transaction: 1927 for the transaction, then the end",
     {"CREATE TEMPORARY TABLE tt (a INT)", "BEGIN", "INSERT INTO t VALUES (1)"},
     "VALUES (2)",
     false,
     "INSERT INTO t VALUES (2)",
     0xff,
     "during the transaction",
     "lost db1 client trx",
     0,
     true},
    {"idle with a temporary table: the session ends",
     {"CREATE TEMPORARY TABLE tt (a INT)", NULL},
     NULL,
     false,
     "INSERT INTO t VALUES (2)",
     -1,
     NULL,
     NULL,
     0,
     true},
};

static void run_row(struct fx *f, const struct lost_row *row)
{
    int c = 0;
    for (int i = 0; i < 3 && row->setup[i] != NULL; i++)
        assert_int_equal(text(f, c, row->setup[i]).first, 0);
    struct fake_backend *fb = row->replica ? &f->replica : &f->primary;
    if (row->replica)
        fb_rule(&f->primary, row->close_on, FB_ROW, 0, "p", 1); /* where it runs again */
    size_t from = f->n_trace;
    if (row->close_on != NULL) {
        fb_rule(fb, row->close_on, FB_CLOSE, 0, "", 1);
    } else {
        fb_drop_all(fb);
        run_for(f, 50);
    }
    struct answer a = text(f, c, row->stmt);
    bool ok = a.first == row->want &&
              (row->want_msg == NULL || strstr(a.msg, row->want_msg) != NULL) &&
              count(f, from, " lost ") == (row->heard != NULL) &&
              (row->heard == NULL || traced(f, from, row->heard) >= 0) &&
              count(f, from, " trx_lost ") == row->trx_lost;
    if (ok) {
        /* the session goes on (a new connection), or it ended */
        struct answer next = text(f, c, "INSERT INTO t VALUES (9)");
        ok = row->ends ? next.first == -1 : next.first == 0;
    }
    if (!ok) {
        dump(f, from);
        fail_msg("%s: answer 0x%02x %u '%s'", row->name, (unsigned)a.first, a.err, a.msg);
    }
}

/* Each row in a session of its own (the fixture's client). */
#define ROW_TEST(i)                                                                                \
    static void test_row_##i(void **state)                                                         \
    {                                                                                              \
        run_row(*state, &rows[i]);                                                                 \
    }
ROW_TEST(0)
ROW_TEST(1)
ROW_TEST(2)
ROW_TEST(3)
ROW_TEST(4)
ROW_TEST(5)
ROW_TEST(6)
_Static_assert(sizeof(rows) / sizeof(rows[0]) == 7, "a test for each row");

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* a session that ended: the client's next send meets its close */
    const struct CMUnitTest tests[] = {
        CYCLE_TEST(test_own_command_loss_ends_the_transaction, conf_eventual),
        CYCLE_TEST(test_row_0, conf_eventual),
        CYCLE_TEST(test_row_1, conf_eventual),
        CYCLE_TEST(test_row_2, conf_eventual),
        CYCLE_TEST(test_row_3, conf_eventual),
        CYCLE_TEST(test_row_4, conf_eventual),
        CYCLE_TEST(test_row_5, conf_eventual),
        CYCLE_TEST(test_row_6, conf_eventual),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
