/*
 * test_cycle_hooks.c: each hook point of the command cycle
 * (session_hooks.c) met once, at its moment, by a text statement and by
 * a prepared execution; every point (the Makefile's HOOK_POINTS) is
 * asserted by at least one test that drives what makes it run (a reload,
 * a loss, a failover, a worker's thread's end...), and not met where it
 * must not be. The points are seen through the wrappers cycle_fixture.c links in
 * their place (--wrap).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "halyard/capture/capture.h"
#include "halyard/cluster/backend.h"
#include "halyard/capture/capture_format.h"
#include "halyard/config/group.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/session/registry.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/session/worker.h"

#include "../../src/session/session_int.h"
#include "cycle_fixture.h"

static const char conf_eventual[] = BASE_CONF "consistency = \"eventual\";\n";
static const char conf_session_pool[] =
    BASE_CONF "consistency = \"eventual\";\npool_mode = \"session\";\n";
static const char conf_replay[] =
    BASE_CONF "consistency = \"eventual\";\ntransaction_replay = true;\n"
              "monitor = { user = \"mon\"; password = \"mon\"; };\n";
static const char conf_limit_full[] =
    BASE_CONF "consistency = \"eventual\";\n"
              "limits = ( { name = \"one\"; max_concurrent = 1; queue_size = 0; } );\n";
static const char conf_rules[] =
    BASE_CONF "consistency = \"eventual\";\n"
              "rules = ( { name = \"tagged\"; match_text = \"tag-me\"; route = \"primary\"; } );\n";
/* Two groups of one backend each, the listener routing by schema: d2 on
 * the replica's fake (its group's primary). */
static const char conf_shards[] =
    "listeners = ( { name = \"main\"; address = \"127.0.0.1\"; port = 21002; shards = true; } );\n"
    "users = ( { name = \"app\"; password_hash = \"\"; } );\n"
    "backends = ( { name = \"db1\"; address = \"127.0.0.1\"; port = 21000; role = \"primary\"; },\n"
    "  { name = \"db2\"; address = \"127.0.0.1\"; port = 21001; role = \"primary\"; } );\n"
    "groups = ( { name = \"one\"; backends = [ \"db1\" ]; },\n"
    "  { name = \"two\"; backends = [ \"db2\" ]; } );\n"
    "shards = { schemas = ( { schema = \"d2\"; group = \"two\"; } ); };\n"
    "consistency = \"eventual\";\n";
static const char conf_login_timeout[] =
    BASE_CONF "consistency = \"eventual\";\nlogin_timeout_ms = 100;\n";
static const char conf_limit_queue[] =
    BASE_CONF "consistency = \"eventual\";\n"
              "limits = ( { name = \"one\"; max_concurrent = 1; queue_size = 1; } );\n";

/* ---- the hook points ----------------------------------------------------- */

/* The points a command met from trace line `from` on, session `sid`: each
 * point's count into counts[] (by the index in points[]). */
static const char *const points[] = {
    "take",          "before_backend", "after_backend", "ready",      "refuse",      "elsewhere",
    "rewrites",      "send",           "filter_up",     "begin",      "attached",    "packet",
    "fed",           "done",           "settled",       "abandon",    "reset",       "conn_gone",
    "leave",         "close",          "own_err",       "renew",      "lost",        "busy",
    "between",       "after_lost",     "conn_open",     "classified", "cancel_wait", "rule",
    "create",        "infile",         "chosen",        "hold",       "digest",      "reply",
    "backend_ready", "schema_gone",    "lend",          "lent_gone",  "view",        "thread_exit",
    "replayed",      "wants_whole",    "rewrite",       "relayed",    "trx_lost",    "end",
    "follow",        "route",          "killed",        "pin",        "sent",        "trailing",
    "answer_end",    "idle",           "synced",        "sync",       "interrupted", "start",
    "opening",       "timer",
};
#define N_POINTS (sizeof(points) / sizeof(points[0]))

static void point_counts(const struct fx *f, size_t from, int counts[N_POINTS])
{
    for (size_t k = 0; k < N_POINTS; k++) {
        char pat[48];
        snprintf(pat, sizeof(pat), " %s", points[k]);
        counts[k] = 0;
        for (size_t i = from; i < f->n_trace; i++) {
            const char *h =
                strncmp(f->trace[i], "hook s", 6) == 0 ? strchr(f->trace[i] + 6, ' ') : NULL;
            if (h != NULL && strncmp(h, pat, strlen(pat)) == 0 &&
                (h[strlen(pat)] == '\0' || h[strlen(pat)] == ' '))
                counts[k]++;
        }
    }
}

static int point_count(const struct fx *f, size_t from, const char *point)
{
    int counts[N_POINTS];
    point_counts(f, from, counts);
    for (size_t k = 0; k < N_POINTS; k++)
        if (strcmp(points[k], point) == 0)
            return counts[k];
    return -1;
}

/* `point` fired once from trace line `from` on, else the trace and why
 * (`what`: the command or event it fired for). */
static void assert_once(const struct fx *f, size_t from, const char *point, const char *what)
{
    int n = point_count(f, from, point);
    if (n != 1) {
        dump(f, from);
        fail_msg("%s: %s fired %d times", what, point, n);
    }
}

/* The client `c` sends COM_QUIT, and halyard closes its socket. */
static void client_quit(struct fx *f, int c)
{
    const uint8_t quit[] = {COM_QUIT};
    send_raw(f, c, quit, 1, 0);
    assert_int_equal(recv1(f, c, NULL, 2000), -1); /* closed */
    run_for(f, 20);
}

/* A text statement on a pooled connection already open (one pass of the
 * forward): each point of a command's way fires once, in the order the
 * cycle runs them, the sending ones before the backend gets it, and the
 * answer's after it: on_packet and on_fed once a packet of the answer
 * (a result set of one row: 5), with a feature attached. */
static void test_hooks_text(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1); /* the connection opened */
    f->attach_all = true;
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    int counts[N_POINTS];
    point_counts(f, from, counts);
    static const char *const once[] = {
        "take",     "hold", "before_backend", "after_backend", "ready",    "refuse", "elsewhere",
        "rewrites", "send", "filter_up",      "begin",         "attached", "done",   "settled"};
    for (size_t k = 0; k < N_POINTS; k++)
        for (size_t j = 0; j < sizeof(once) / sizeof(once[0]); j++)
            if (strcmp(points[k], once[j]) == 0 && counts[k] != 1) {
                dump(f, from);
                fail_msg("%s fired %d times", points[k], counts[k]);
            }
    assert_int_equal(point_count(f, from, "packet"), 5);
    assert_int_equal(point_count(f, from, "fed"), 5);
    assert_int_equal(point_count(f, from, "abandon") + point_count(f, from, "reset") +
                         point_count(f, from, "close"),
                     0);
    static const char *const want[] = {" take 03",
                                       " 03 gate",
                                       " 03 route",
                                       " hold 03 pass",
                                       " 03 limit",
                                       " before_backend 03",
                                       " after_backend",
                                       " ready",
                                       " refuse",
                                       " elsewhere",
                                       " rewrites",
                                       " send 03",
                                       " filter_up",
                                       " begin",
                                       " attached",
                                       "db2 Q:SELECT a FROM t",
                                       " packet",
                                       " fed",
                                       " done",
                                       " settled",
                                       NULL};
    assert_order(f, from, want);
}

/* The points a text statement meets once on its way out, each of which
 * the commands of a prepared statement meet once too (issue 55 item 2:
 * an execution once met only take and send of them). */
static const char *const way_out[] = {"before_backend", "after_backend", "ready", "refuse",
                                      "elsewhere",      "rewrites",      "send",  "filter_up"};
#define N_WAY_OUT (sizeof(way_out) / sizeof(way_out[0]))

static void assert_way_out(const struct fx *f, size_t from, const char *what)
{
    for (size_t k = 0; k < N_WAY_OUT; k++)
        assert_once(f, from, way_out[k], what);
}

/* A prepared statement's execution, on a connection already open: it
 * meets each point a text statement meets, once, in the same order. */
static void test_hooks_prepared(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    long id = prepare(f, 0, "SELECT a FROM t");
    assert_true(id >= 0);
    assert_int_equal(execute(f, 0, id, &err), 0);
    f->attach_all = true;
    size_t text_from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    size_t from = f->n_trace;
    assert_int_equal(execute(f, 0, id, &err), 0);
    int text[N_POINTS], exec[N_POINTS];
    point_counts(f, text_from, text);
    point_counts(f, from, exec);
    for (size_t k = 0; k < N_POINTS; k++) {
        text[k] -= exec[k]; /* the text statement's alone */
        bool per_packet = strcmp(points[k], "packet") == 0 || strcmp(points[k], "fed") == 0;
        /* busy, killed and between run at each look for a command, not once a command */
        bool per_look = strcmp(points[k], "busy") == 0 || strcmp(points[k], "between") == 0 ||
                        strcmp(points[k], "killed") == 0;
        /* a text's classification and its digest: an execution's
         * statement was classified at its prepare, and its replay and
         * in-flight notes are the prepared statements' own (session_ps.c) */
        bool text_only = strcmp(points[k], "classified") == 0 || strcmp(points[k], "digest") == 0;
        if ((exec[k] > 1 && !per_packet && !per_look) ||
            (text[k] > 0 && exec[k] == 0 && !text_only)) {
            dump(f, from);
            fail_msg("%s fired %d times for an execution, %d for a text", points[k], exec[k],
                     text[k]);
        }
    }
    assert_way_out(f, from, "COM_STMT_EXECUTE");
    static const char *const want[] = {
        " take 17",       " 17 gate",   " 17 route", " 17 limit",  " before_backend 17",
        " after_backend", " ready",     " refuse",   " elsewhere", " rewrites",
        " send 17",       " filter_up", " begin",    " attached",  "db2 X:",
        " packet",        " fed",       " done",     " settled",   NULL};
    assert_order(f, from, want);
    assert_int_equal(point_count(f, from, "packet"), 1); /* its OK */
}

/* COM_STMT_SEND_LONG_DATA (no answer) and COM_STMT_RESET meet the points
 * on the way out once each too, and the backend gets them after them. */
static void test_hooks_statement_commands(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    long id = prepare(f, 0, "SELECT a FROM t WHERE a = ?");
    assert_true(id >= 0);
    uint8_t p[16] = {COM_STMT_SEND_LONG_DATA};
    uint32_t sid = (uint32_t)id;
    memcpy(p + 1, &sid, 4);
    p[5] = p[6] = 0, p[7] = 'x';
    size_t from = f->n_trace;
    send_raw(f, 0, p, 8, 0);
    assert_int_equal(simple(f, 0, COM_PING, &err), 0);
    int ping_from = traced(f, from, " take 0e");
    assert_true(ping_from > 0);
    for (size_t k = 0; k < N_WAY_OUT; k++)
        if (point_count(f, from, way_out[k]) - point_count(f, (size_t)ping_from, way_out[k]) != 1) {
            dump(f, from);
            fail_msg("COM_STMT_SEND_LONG_DATA: %s not once", way_out[k]);
        }
    static const char *const want_ld[] = {
        " take 18", " before_backend 18", " send 18", " filter_up", "C:18", NULL};
    assert_order(f, from, want_ld);
    from = f->n_trace;
    p[0] = COM_STMT_RESET;
    assert_int_equal(fb_client_command(&f->client[0], f->w.loop, p, 5, &err, NULL, 0), 0);
    assert_way_out(f, from, "COM_STMT_RESET");
    static const char *const want_rs[] = {
        " take 1a", " before_backend 1a", " send 1a", " filter_up", "C:1a", NULL};
    assert_order(f, from, want_rs);
}

/* on_reset: COM_RESET_CONNECTION resets the features once, after its
 * take, then on_renew once (the server's session afresh); on_close: the
 * client's COM_QUIT closes them once, after on_leave. */
static void test_hooks_reset_close(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (1)", &err), 0);
    size_t from = f->n_trace;
    assert_int_equal(simple(f, 0, COM_RESET_CONNECTION, &err), 0);
    static const char *const reset[] = {" take 1f", " reset", " renew", NULL};
    assert_order(f, from, reset);
    assert_int_equal(point_count(f, from, "reset"), 1);
    assert_int_equal(point_count(f, from, "renew"), 1);
    assert_int_equal(point_count(f, from, "close"), 0);
    assert_int_equal(point_count(f, from, "leave"), 0);
    from = f->n_trace;
    client_quit(f, 0);
    assert_int_equal(point_count(f, from, "close"), 1);
    assert_int_equal(point_count(f, from, "leave"), 1);
    assert_int_equal(point_count(f, from, "done"), 0);
    static const char *const quit_order[] = {" leave", " close", NULL};
    assert_order(f, from, quit_order);
}

/* on_classified: a text statement, once classified, is shown to the
 * features once, whole (its length), after it was taken and before it is
 * sent; a prepared statement's execution and a COM_PING are not. */
static void test_hooks_classified(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    long id = prepare(f, 0, "SELECT a FROM t");
    assert_true(id >= 0);
    size_t from = f->n_trace;
    const char *sql = "INSERT INTO t VALUES (1)";
    assert_int_equal(query(f, 0, sql, &err), 0);
    assert_once(f, from, "classified", "a text statement");
    char seen[48];
    snprintf(seen, sizeof(seen), " classified %zu", strlen(sql) + 1);
    const char *const want[] = {" take 03", seen, " send 03", NULL};
    assert_order(f, from, want);
    from = f->n_trace;
    assert_int_equal(execute(f, 0, id, &err), 0);
    assert_int_equal(simple(f, 0, COM_PING, &err), 0);
    assert_int_equal(point_count(f, from, "classified"), 0);
}

/* on_digest: a text statement (and a prepare), classified with a digest
 * (the worker's digests' table wants one), shows the features the digest
 * once, after its take and before it is sent (the trace's
 * db.query.summary, without a second classification); an execution and a
 * COM_PING have no text and no digest. */
static void test_hooks_digest(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    size_t from = f->n_trace;
    long id = prepare(f, 0, "SELECT a FROM t WHERE a = ?");
    assert_true(id >= 0);
    assert_once(f, from, "digest", "a prepare");
    from = f->n_trace;
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (12)", &err), 0);
    assert_once(f, from, "digest", "a text statement");
    const char *const want[] = {" take 03", " digest INSERT INTO t VALUES (...)", " send 03", NULL};
    assert_order(f, from, want);
    from = f->n_trace;
    assert_int_equal(execute(f, 0, id, &err), 0);
    assert_int_equal(simple(f, 0, COM_PING, &err), 0);
    assert_int_equal(point_count(f, from, "digest"), 0);
}

/* on_reply: an OK or ERR halyard builds itself asks the features for its
 * sequence id and an OK's flags (the KILL chain's row answers inside a
 * KILL's text), once, as it is written: a COM_PING halyard answers (OK),
 * an execution of a statement id never prepared (ERR 1243, send_err's), an
 * empty command packet (1047, session_err's); an answer the server gave is
 * not one of them. */
static void test_hooks_reply(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    size_t from = f->n_trace;
    assert_int_equal(simple(f, 0, COM_PING, &err), 0);
    assert_once(f, from, "reply", "a COM_PING halyard answers");
    assert_true(traced(f, from, "reply ok") >= 0);
    from = f->n_trace;
    assert_int_equal(execute(f, 0, 4242, &err), 0xff);
    assert_int_equal(err, 1243);
    assert_once(f, from, "reply", "an execution of no statement");
    assert_true(traced(f, from, "reply err") >= 0);
    from = f->n_trace; /* an empty command packet: 1047, session_err's */
    send_raw(f, 0, "", 0, 0);
    assert_int_equal(recv1(f, 0, &err, 2000), 0xff);
    assert_int_equal(err, 1047);
    assert_once(f, from, "reply", "an empty command packet");
    from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_int_equal(point_count(f, from, "reply"), 0);
}

/* on_rule: with query rules loaded, a text statement (and a prepare) is
 * shown to the features with the rule it matched, once, before the
 * features note it (classified) and before it is sent; the rule still routes it (a read
 * tagged for the primary goes there). Without rules the point is not
 * reached (test_hooks_text's conf has none: rule is not among its points). */
static void test_hooks_rule(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t /* tag-me */", &err), 1);
    assert_once(f, from, "rule", "a statement a rule matched");
    static const char *const want[] = {
        " take 03", " rule", " classified", " send 03", "db1 Q:SELECT a FROM t", NULL};
    assert_order(f, from, want);
    from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_once(f, from, "rule", "a statement no rule matched");
    assert_true(traced(f, from, "db2 Q:SELECT a FROM t") >= 0);
    from = f->n_trace;
    assert_true(prepare(f, 0, "SELECT a FROM t") >= 0);
    assert_once(f, from, "rule", "a prepare");
}

/* The sessions on the worker's list (its first row's on_create and
 * on_close keep it). */
static int listed(const struct fx *f)
{
    int n = 0;
    for (const struct session *s = f->w.sessions; s != NULL; s = s->next)
        n++;
    assert_int_equal(n, (int)f->w.n_sessions);
    return n;
}

/* The logged-in sessions the registry lists (KILL's and the process
 * list's, the kill row's on_create and on_leave keep it). */
static size_t registered(void)
{
    struct registry_idle none[1];
    return registry_idle_list(0, 0, none, 0);
}

/* on_create: a new client's session is shown to the features once,
 * before its greeting (the login's first step), and joins its worker's
 * list and the registry there; a command on it does not meet the point
 * again; on_close takes it off the list, and on_leave out of the registry. */
static void test_hooks_create(void **state)
{
    struct fx *f = *state;
    int before = listed(f);
    size_t reg_before = registered();
    size_t from = f->n_trace;
    int c2 = client_open(f);
    assert_once(f, from, "create", "a new session");
    assert_int_equal(listed(f), before + 1);
    assert_int_equal(registered(), reg_before + 1);
    from = f->n_trace;
    uint16_t err = 0;
    assert_int_equal(query(f, c2, "SELECT a FROM t", &err), 1);
    assert_int_equal(point_count(f, from, "create"), 0);
    client_quit(f, c2);
    assert_once(f, from, "close", "the session's COM_QUIT");
    assert_int_equal(listed(f), before);
    assert_int_equal(registered(), reg_before);
}

/* on_conn_open: a command's backend with no connection of the session's
 * (and none idle in the pool) opens one: the features hear it once, with
 * its backend, before the command goes; the next command there uses it
 * and opens none. */
static void test_hooks_conn_open(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (1)", &err), 0);
    assert_once(f, from, "conn_open", "the primary's first connection");
    static const char *const want[] = {" conn_open db1", " send 03", NULL};
    assert_order(f, from, want);
    from = f->n_trace;
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (2)", &err), 0);
    assert_int_equal(point_count(f, from, "conn_open"), 0);
}

/* on_conn_gone: a connection the session holds when it ends (the
 * primary's, a transaction open on it; those at rest went back to the
 * pool) is closed once, between on_leave and on_close. */
static void test_hooks_conn_gone(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    assert_int_equal(query(f, 0, "BEGIN", &err), 0);
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (1)", &err), 0);
    size_t from = f->n_trace;
    assert_int_equal(point_count(f, 0, "conn_gone"), 0);
    client_quit(f, 0);
    assert_once(f, from, "conn_gone", "one connection closed");
    static const char *const want[] = {" leave", " conn_gone db1", " close", NULL};
    assert_order(f, from, want);
}

/* busy and between: before each command is taken, the features are
 * asked whether a step of theirs holds the session, then given the steps
 * between commands, in that order; a statement answered, the session
 * looks again (both run, no command taken). */
static void test_hooks_between(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (1)", &err), 0);
    static const char *const want[] = {" busy", " between", " take 03", " 03 gate",
                                       " done", " busy",    " between", NULL};
    assert_order(f, from, want);
    int taken = traced(f, from, " take 03");
    for (size_t i = from; i < (size_t)taken; i++)
        if (strstr(f->trace[i], " take ") != NULL)
            fail_msg("a command taken before the steps between commands: %s", f->trace[i]);
}

/* on_lost: the client's write in flight when its connection breaks, a
 * transaction open there (nothing may run it again elsewhere): the
 * features are asked once, before the connection closes (on_conn_gone),
 * and the client gets an ERR (that command's answer: after_lost is not
 * asked). A read in autocommit lost the same way runs again on the other
 * backend and asks them nothing. */
static void test_hooks_lost(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    fb_rule(&f->primary, "VALUES (2)", FB_CLOSE, 0, "", 1);
    fb_rule(&f->replica, "SELECT b FROM t", FB_CLOSE, 0, "", 1);
    fb_rule(&f->primary, "SELECT b FROM t", FB_ROW, 0, "p", 0);
    assert_int_equal(query(f, 0, "BEGIN", &err), 0);
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (1)", &err), 0);
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (2)", &err), 0xff);
    assert_int_not_equal(err, 0);
    assert_once(f, from, "lost", "one loss");
    static const char *const want[] = {" send 03", " lost", " conn_gone db1", NULL};
    assert_order(f, from, want);
    assert_int_equal(point_count(f, from, "after_lost"), 0);
    assert_int_equal(query(f, 0, "ROLLBACK", &err), 0);
    from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT b FROM t", &err), 1);
    assert_int_equal(point_count(f, from, "lost"), 0);
    assert_true(traced(f, from, "db2 Q:SELECT b FROM t") >= 0);
    assert_true(traced(f, from, "db1 Q:SELECT b FROM t") >= 0);
}

/* after_lost: the primary closes the connection that holds the session's
 * transaction while the session is idle. The next command, a text one or
 * an execution, is given to the features once, after it was taken and
 * before its route, and answered there (1927: no replay is armed; a
 * ROLLBACK: its OK), no backend seeing it; a command after that is
 * routed as any, and not given to them. */
static void test_hooks_after_lost(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    long id = prepare(f, 0, "SELECT a FROM t");
    assert_true(id >= 0);
    for (int round = 0; round < 2; round++) {
        size_t logged = lose_idle_transaction(f);
        size_t from = f->n_trace;
        if (round == 0) {
            assert_int_equal(query(f, 0, "INSERT INTO t VALUES (2)", &err), 0xff);
            static const char *const want[] = {" take 03", " 03 gate", " after_lost", NULL};
            assert_order(f, from, want);
        } else {
            assert_int_equal(execute(f, 0, id, &err), 0xff);
            static const char *const want[] = {" take 17", " 17 gate", " after_lost",
                                               " 17 lost-execute", NULL};
            assert_order(f, from, want);
        }
        assert_int_equal(err, ER_CONNECTION_KILLED);
        assert_once(f, from, "after_lost", "the command after the loss");
        assert_int_equal(f->primary.n_log + f->replica.n_log, logged);
        from = f->n_trace;
        assert_int_equal(query(f, 0, "ROLLBACK", &err), 0);
        assert_int_equal(point_count(f, from, "after_lost"), 0);
    }
}

/* on_abandon: a statement taken, then refused before it went (a full
 * limit's queue): abandoned once, and never done; the ERR halyard answers
 * it with is the session's own (on_own_err, its code 1226), once. The
 * refusal is the hold point's: the rows answer the statement themselves
 * (its own_err first), the point says taken, once, and no wait began. */
static void test_hooks_abandon(void **state)
{
    struct fx *f = *state;
    int c2 = hold_first_update(f);
    size_t from = f->n_trace;
    uint16_t err = 0;
    assert_int_equal(query(f, c2, "UPDATE t SET a = 2", &err), 0xff);
    static const char *const want[] = {" take 03", " abandon", NULL};
    assert_order(f, from, want);
    assert_int_equal(point_count(f, from, "abandon"), 1);
    assert_int_equal(point_count(f, from, "done"), 0);
    assert_int_equal(point_count(f, from, "send"), 0);
    assert_int_equal(point_count(f, from, "own_err"), 1);
    assert_int_equal(count(f, from, " own_err 1226"), 1);
    static const char *const held[] = {" own_err 1226", " hold 03 taken", NULL};
    assert_order(f, from, held);
    assert_once(f, from, "hold", "a statement refused by a full limit");
    assert_int_equal(count(f, from, "wait limit begin"), 0);
    fb_release(&f->primary);
    assert_int_equal(recv1(f, 0, &err, 2000), 0);
}

/* on_abandon's state row: a SET refused by a full limit (1226) leaves no
 * change pending, which the session's next statement's end would have
 * kept as the SET's. */
static void test_hooks_abandon_set(void **state)
{
    struct fx *f = *state;
    int c2 = hold_first_update(f);
    size_t from = f->n_trace;
    uint16_t err = 0;
    assert_int_equal(query(f, c2, "SET @x = 2", &err), 0xff);
    assert_int_equal(err, ER_USER_LIMIT_REACHED);
    assert_once(f, from, "abandon", "a SET refused by the limit");
    int n = 0;
    for (struct session *s = f->w.sessions; s != NULL; s = s->next, n++)
        assert_false(s->vars.chg_pending);
    assert_int_equal(n, 2);
    fb_release(&f->primary);
    assert_int_equal(recv1(f, 0, &err, 2000), 0);
}

/* Client c2 sends its UPDATE behind the first session's (held on the
 * primary, hold_first_update), and the worker runs `ms`: the session
 * parked in SS_WAIT_BACKEND, behind the limit. */
static struct session *queue_second_update(struct fx *f, int c2, int ms)
{
    const char *q2 = "\x03UPDATE t SET a = 2";
    send_raw(f, c2, q2, strlen(q2), 0);
    run_for(f, ms);
    struct session *waiting = NULL;
    for (struct session *s = f->w.sessions; s != NULL; s = s->next)
        if (s->state == SS_WAIT_BACKEND)
            waiting = s;
    assert_non_null(waiting);
    return waiting;
}

/* hold: the limit stage asks the rows once a pass. A statement queued
 * behind a limit (max_concurrent = 1, the first session's UPDATE held on
 * the primary): held (wait) once, then let through (pass) once when the
 * limit's timer takes it up again, and only then sent; the cycle timed the
 * wait (s->io.held, the query log's limit_wait_us), from the wait's begin
 * to its end. */
static void test_hooks_hold(void **state)
{
    struct fx *f = *state;
    int c2 = hold_first_update(f);
    size_t from = f->n_trace;
    struct session *held = queue_second_update(f, c2, 100);
    assert_int_equal(count(f, from, " hold 03 wait"), 1);
    assert_int_equal(count(f, from, " hold 03 pass"), 0);
    assert_int_equal(fb_logged(&f->primary, "a = 2"), -1);
    fb_release(&f->primary);
    uint16_t err = 0;
    assert_int_equal(recv1(f, 0, &err, 2000), 0);
    assert_int_equal(recv1(f, c2, &err, 2000), 0);
    assert_int_equal(point_count(f, from, "hold"), 2);
    static const char *const want[] = {
        " hold 03 wait",  "wait limit begin",         " hold 03 pass",
        "wait limit end", "db1 Q:UPDATE t SET a = 2", NULL};
    assert_order(f, from, want);
    assert_true(held->io.held >= 0.09); /* it waited the 100 ms the first one held it, at least */
    assert_true(held->io.held < 5.0);
    /* the next statement waits for nothing: its own wait starts at 0 */
    assert_int_equal(query(f, c2, "UPDATE t SET a = 3", &err), 0);
    assert_true(held->io.held == 0.0);
}

/* cancel_wait: a KILL QUERY of a statement queued behind a limit (the
 * registry's mark, as a KILL from another session sets it): the features
 * are asked once (the limit's wait holds it and lets it go), and the
 * statement is answered 1317 without reaching a backend; the one holding
 * the limit goes on. */
static void test_hooks_cancel_wait(void **state)
{
    struct fx *f = *state;
    int c2 = hold_first_update(f);
    size_t from = f->n_trace;
    struct session *waiting = queue_second_update(f, c2, 50);
    assert_true(traced(f, from, "wait limit begin") >= 0);
    assert_int_equal(point_count(f, from, "cancel_wait"), 0);
    uint32_t tid = 0, idx = 0;
    assert_int_equal(registry_kill(&waiting->kill.reg, waiting->id, false, false, &tid, &idx),
                     KILL_MARKED);
    uint16_t err = 0;
    assert_int_equal(recv1(f, c2, &err, 2000), 0xff);
    assert_int_equal(err, ER_QUERY_INTERRUPTED);
    assert_once(f, from, "cancel_wait", "the KILL QUERY of the queued statement");
    assert_int_equal(fb_logged(&f->primary, "a = 2"), -1);
    fb_release(&f->primary);
    assert_int_equal(recv1(f, 0, &err, 2000), 0);
}

/* on_wait: a statement that opens a connection waits for it (connect
 * begin, then end), and the end comes before it is sent. The next one,
 * on the open connection, waits for nothing: the cycle says the ends of
 * its waits where one may have been (session_wait_note), the hooks hear
 * none of them. */
static void test_hooks_wait(void **state)
{
    struct fx *f = *state;
    size_t from = f->n_trace;
    uint16_t err = 0;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    static const char *const want[] = {" take 03", "wait connect begin",    "wait connect end",
                                       " send 03", "db2 Q:SELECT a FROM t", NULL};
    assert_order(f, from, want);
    /* the row hears it too, and nothing else: no end of a wait that did
     * not begin */
    assert_int_equal(count(f, from, "hears connect begin"), 1);
    assert_int_equal(count(f, from, "hears connect end"), 1);
    assert_int_equal(count(f, from, "row s"), 2);
    size_t again = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    if (count(f, again, "wait ") + count(f, again, "row s") != 0) {
        dump(f, again);
        fail_msg("a statement that waited for nothing: the hooks heard a wait");
    }
}

/* A text statement that opens its connection passes the forward twice
 * (routed, then again once the connection is up); the points around
 * readying its backend fire once for it all the same: before_backend
 * before the connection is opened, chosen once it is ready (ensure_backend
 * asked twice), after_backend then, and the statement goes after them. */
static void test_hooks_backend_once(void **state)
{
    struct fx *f = *state;
    size_t from = f->n_trace;
    uint16_t err = 0;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_int_equal(count(f, from, " 03 forward"), 2); /* two passes */
    int before = point_count(f, from, "before_backend"),
        after = point_count(f, from, "after_backend");
    if (before != 1 || after != 1) {
        dump(f, from);
        fail_msg("before_backend fired %d times, after_backend %d", before, after);
    }
    assert_once(f, from, "chosen", "a statement that opened its connection");
    static const char *const want[] = {" before_backend 03",
                                       "wait connect begin",
                                       " chosen",
                                       " after_backend",
                                       "wait connect end",
                                       " send 03",
                                       "db2 Q:SELECT a FROM t",
                                       NULL};
    assert_order(f, from, want);
}

/* chosen: the client's command's connection, once ready: once for a
 * statement that opens it (test_hooks_backend_once), once for one on the
 * open connection, and once for a prepared execution. */
static void test_hooks_chosen(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1); /* the connection opened */
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_once(f, from, "chosen", "a statement on the open connection");
    long id = prepare(f, 0, "SELECT a FROM t");
    assert_true(id >= 0);
    from = f->n_trace;
    assert_int_equal(execute(f, 0, id, &err), 0);
    assert_once(f, from, "chosen", "a prepared execution");
}

/* on_infile: a LOAD DATA LOCAL INFILE's file, as its packets pass to
 * the backend, one call a packet's bytes and one (0) at its empty
 * packet, between the command's take and its end; a capture running
 * keeps the bytes: INFILE records after the command's, before its
 * answer's, the file whole in them. */
static void test_hooks_infile(void **state)
{
    struct fx *f = *state;
    char dir[] = "/tmp/halyard-infile-XXXXXX", file[64], msg[256];
    assert_non_null(mkdtemp(dir));
    snprintf(file, sizeof(file), "%s/c.hyc", dir);
    struct capture_opts o = {.file = file, .queue = 1024, .gtid = "", .primary = "db1"};
    assert_int_equal(capture_start(&o, msg, sizeof(msg)), HY_OK);
    fb_rule(&f->primary, "LOCAL INFILE", FB_INFILE, 0, "", 1);
    size_t from = f->n_trace;
    static const char sql[] = "\x03LOAD DATA LOCAL INFILE 'f' INTO TABLE t";
    send_raw(f, 0, sql, sizeof(sql) - 1, 0);
    uint16_t err = 0;
    assert_int_equal(recv1(f, 0, &err, 2000), 0xfb);
    send_raw(f, 0, "1,a\n2,b\n", 8, 2);
    send_raw(f, 0, "3,c\n", 4, 3);
    send_raw(f, 0, "", 0, 4);
    assert_int_equal(recv1(f, 0, &err, 2000), 0);
    static const char *const want[] = {" take 03", " infile 8", " infile 4", " infile 0",
                                       "F:end",    " done",     NULL};
    assert_order(f, from, want);
    assert_int_equal(point_count(f, from, "infile"), 3);
    assert_int_equal(capture_stop(msg, sizeof(msg)), HY_OK);

    FILE *in = fopen(file, "rb");
    assert_non_null(in);
    static uint8_t buf[1 << 16];
    size_t len = fread(buf, 1, sizeof(buf), in);
    fclose(in);
    uint16_t flags = 0;
    unsigned version = 0;
    char why[256];
    assert_int_equal(capture_read_header(buf, len, &flags, &version, why, sizeof(why)), HY_OK);
    char got[64] = "";
    size_t off = CAPTURE_HEADER_SIZE;
    int cmd_at = -1, answer_at = -1, k = 0, pieces = 0;
    struct capture_rec r;
    while (off < len) {
        assert_int_equal(capture_read_next(buf, len, &off, version, &r, why, sizeof(why)), HY_OK);
        if (r.type == CAPTURE_CMD && r.cmd == COM_QUERY)
            cmd_at = k;
        if (r.type == CAPTURE_ANSWER && cmd_at >= 0 && answer_at < 0)
            answer_at = k;
        if (r.type == CAPTURE_INFILE) {
            assert_true(cmd_at >= 0 && answer_at < 0); /* between the two */
            strncat(got, (const char *)r.data, r.data_len);
            pieces++;
        }
        k++;
    }
    assert_string_equal(got, "1,a\n2,b\n3,c\n");
    assert_int_equal(pieces, 3); /* the two packets' bytes, the end's none */
    assert_true(answer_at > cmd_at);
    unlink(file);
    rmdir(dir);
}

/* backend_ready: a connection the session opened has logged in; the
 * features are asked whether the step it was opened for is theirs (a
 * login's: its schema checked there), once, after conn_open and before
 * the statement that waited for it goes; a statement on the open
 * connection, and a COM_PING halyard answers, do not meet it. */
static void test_hooks_backend_ready(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_once(f, from, "backend_ready", "a statement that opened its connection");
    static const char *const want[] = {" conn_open db2",        " backend_ready",
                                       "wait connect end",      " send 03",
                                       "db2 Q:SELECT a FROM t", NULL};
    assert_order(f, from, want);
    from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_int_equal(simple(f, 0, COM_PING, &err), 0);
    assert_int_equal(point_count(f, from, "backend_ready"), 0);
}

/* on_schema_gone: a DROP DATABASE's OK says a database was dropped, not
 * which; the connection is asked before the next command (SELECT
 * DATABASE() IS NULL). The session's own schema gone ("1"): the features
 * hear it once, the schema still named, after that answer; from then on
 * the session has none. Another database dropped ("0"): never. */
static void test_hooks_schema_gone(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    fb_rule(&f->primary, "DATABASE() IS NULL", FB_ROW, 0, "0", 1);
    fb_rule(&f->primary, "DATABASE() IS NULL", FB_ROW, 0, "1", 1);
    assert_int_equal(query(f, 0, "USE d", &err), 0);
    struct session *s = f->w.sessions;
    assert_string_equal(session_schema(s), "d");
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "DROP DATABASE other", &err), 0);
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (1)", &err), 0);
    assert_true(traced(f, from, "db1 Q:SELECT DATABASE() IS NULL") >= 0);
    assert_int_equal(point_count(f, from, "schema_gone"), 0);
    assert_string_equal(session_schema(s), "d");
    from = f->n_trace;
    assert_int_equal(query(f, 0, "DROP DATABASE d", &err), 0);
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (2)", &err), 0);
    assert_once(f, from, "schema_gone", "the session's schema dropped");
    static const char *const want[] = {"db1 Q:DROP DATABASE d", "db1 Q:SELECT DATABASE() IS NULL",
                                       " schema_gone d",        " take 03",
                                       "db1 Q:INSERT",          NULL};
    assert_order(f, from, want);
    assert_null(session_schema(s));
    from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_int_equal(point_count(f, from, "schema_gone"), 0);
}

/* on_pin: a statement the session is pinned for (a PREPARE's text) meets
 * the point once, before it goes to the primary and before the session's
 * other connections close; the state's row drops its values (vs_gen moves
 * on) under session pooling, where the connections are the session's, not
 * under transaction pooling. A statement that does not pin does not meet
 * it. */
static void pin_drive(struct fx *f, bool values_go)
{
    uint16_t err = 0;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1); /* the replica's connection */
    assert_int_equal(query(f, 0, "USE d", &err), 0);           /* a state to move */
    struct session *s = f->w.sessions;
    assert_int_equal(point_count(f, 0, "pin"), 0);
    uint64_t gen = s->vars.vs_gen;
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "PREPARE p FROM 'SELECT 1'", &err), 0);
    assert_once(f, from, "pin", "a PREPARE's text");
    assert_true(s->route.pinned);
    assert_int_equal(s->vars.vs_gen != gen, values_go);
    static const char *const want[] = {" pin PREPARE", "db1 Q:PREPARE", NULL};
    assert_order(f, from, want);
    from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_int_equal(point_count(f, from, "pin"), 0);
    assert_true(traced(f, from, "db1 Q:SELECT a FROM t") >= 0); /* the primary's now */
}

static void test_hooks_pin(void **state)
{
    pin_drive(*state, false);
}

static void test_hooks_pin_session_pool(void **state)
{
    struct fx *f = *state;
    pin_drive(f, true);
}

/* on_lend (pool_mode = "transaction", the default): a connection the
 * session gives back to the pool at a statement's end is shown to the
 * features once, with its backend, after the statement is done (its
 * prepared statements stay there, in the connection's cache); one held by
 * a transaction is not given back, and not shown, until its COMMIT. */
static void test_hooks_lend(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (1)", &err), 0);
    assert_once(f, from, "lend", "an autocommit write's connection");
    static const char *const want[] = {"db1 Q:INSERT", " done", " lend db1", NULL};
    assert_order(f, from, want);
    from = f->n_trace;
    assert_int_equal(query(f, 0, "BEGIN", &err), 0);
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (2)", &err), 0);
    assert_int_equal(point_count(f, from, "lend"), 0);
    from = f->n_trace;
    assert_int_equal(query(f, 0, "COMMIT", &err), 0);
    assert_once(f, from, "lend", "the COMMIT's connection");
    assert_int_equal(count(f, from, " lend db1"), 1);
}

/* The same in pool_mode = "session": the session keeps its connections,
 * and lends none. */
static void test_hooks_lend_session_pool(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (1)", &err), 0);
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_int_equal(point_count(f, from, "lend"), 0);
}

/* on_lent_gone: the connection the session lent to the pool is gone when
 * it wants it back (the primary closed it while in the pool): the
 * features hear it once, with the backend's index (db1: 0), before the
 * session opens another there; a session that gets its lent connection
 * back (or lent none) does not. */
static void test_hooks_lent_gone(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (1)", &err), 0);
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (2)", &err), 0);
    assert_int_equal(point_count(f, from, "lent_gone"), 0);
    assert_int_equal(f->primary.n_accepted, 1); /* its own back */
    fb_drop_all(&f->primary);
    run_for(f, 50);
    from = f->n_trace;
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (3)", &err), 0);
    assert_once(f, from, "lent_gone", "the lent connection closed in the pool");
    static const char *const want[] = {" take 03", " lent_gone 0", " conn_open db1",
                                       "db1 Q:INSERT INTO t VALUES (3)", NULL};
    assert_order(f, from, want);
    assert_int_equal(f->primary.n_accepted, 2);
    from = f->n_trace;
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (4)", &err), 0);
    assert_int_equal(point_count(f, from, "lent_gone"), 0);
}

/* on_view: a reload gives the worker a new configuration. An idle
 * session moves to it at once (session_config_changed): the features see
 * it once, the new configuration's (its two backends), and the session
 * runs on it after; one in a transaction does not move until the
 * transaction ends: once, at the steps between commands after its
 * COMMIT, before its next take. A statement after that, on the
 * configuration it has, moves nothing. */
static void test_hooks_view(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    struct session *idle = f->w.sessions;
    int c2 = client_open(f);
    struct session *trx = f->w.sessions == idle ? idle->next : f->w.sessions;
    assert_true(trx != idle && trx != NULL);
    char idle_view[64], trx_view[64], trx_take[64];
    snprintf(idle_view, sizeof(idle_view), "hook s%u view", idle->id);
    snprintf(trx_view, sizeof(trx_view), "hook s%u view", trx->id);
    snprintf(trx_take, sizeof(trx_take), "hook s%u take 03", trx->id);
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_int_equal(query(f, c2, "BEGIN", &err), 0);
    assert_int_equal(query(f, c2, "INSERT INTO t VALUES (1)", &err), 0);
    struct config *old = f->w.session_cfg;
    size_t from = f->n_trace;
    reload(f, BASE_CONF "consistency = \"eventual\";\nconnect_timeout_ms = 2500;\n");
    assert_true(f->w.session_cfg != old);
    assert_int_equal(count(f, from, idle_view), 1);
    assert_int_equal(count(f, from, " view new 2"), 1);
    assert_true(config_root(idle->cfg) == f->w.session_cfg);
    assert_int_equal(count(f, from, trx_view), 0);
    assert_true(config_root(trx->cfg) == old);
    size_t commit = f->n_trace;
    assert_int_equal(query(f, c2, "INSERT INTO t VALUES (2)", &err), 0);
    assert_int_equal(query(f, c2, "COMMIT", &err), 0);
    assert_int_equal(count(f, commit, trx_view), 1);
    assert_true(config_root(trx->cfg) == f->w.session_cfg);
    size_t next = f->n_trace;
    assert_int_equal(query(f, c2, "SELECT a FROM t", &err), 1);
    const char *const want[] = {"db1 Q:COMMIT", trx_view, trx_take, NULL};
    assert_order(f, commit, want);
    assert_int_equal(count(f, next, trx_view), 0);
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_int_equal(point_count(f, from, "view"), 2); /* the two sessions' moves */
    assert_int_equal(count(f, from, idle_view), 1);
}

/* A listening socket for the listener, on a loopback port the kernel
 * picks (*a: its address). */
static int listen_main(struct sockaddr_in *a)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    *a = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = 0};
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof(*a);
    assert_int_equal(bind(fd, (struct sockaddr *)a, sizeof(*a)), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)a, &alen), 0);
    return fd;
}

/* on_thread_exit: a worker's thread ends (worker_main, after its loop):
 * the features free what they keep per thread, once, on that thread. A
 * second worker runs on a thread of its own as halyard's do
 * (worker_start), serving the listener: a client logs in there, pings
 * and quits, the worker is stopped and joined: the point fires once, on
 * the worker's thread, after that session's close. A session closing,
 * on either worker, does not meet it, nor does the test's worker, whose
 * loop the test runs. */
static void test_hooks_thread_exit(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    client_quit(f, 0);
    assert_once(f, from, "close", "the fixture's session's COM_QUIT");
    struct worker w2;
    memset(&w2, 0, sizeof(w2));
    struct sockaddr_in a;
    struct worker_listen ls = {.fd = listen_main(&a), .listener = 0};
    char why[256];
    assert_int_equal(worker_init(&w2, 1, f->cfg, &ls, 1, why, sizeof(why)), HY_OK);
    assert_int_equal(worker_start(&w2), HY_OK);
    struct fb_client c = {.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    assert_int_equal(connect(c.fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_true(fb_client_login(&c, f->w.loop, "app"));
    const uint8_t ping[] = {COM_PING}, quit[] = {COM_QUIT};
    assert_int_equal(fb_client_command(&c, f->w.loop, ping, 1, &err, NULL, 0), 0);
    fb_client_send(&c, quit, 1, 0);
    uint8_t p[16];
    assert_true(fb_client_recv(&c, f->w.loop, p, sizeof(p), 2000) <= 0); /* closed */
    close(c.fd);
    assert_int_equal(point_count(f, from, "close"), 2);
    assert_int_equal(point_count(f, from, "thread_exit"), 0);
    worker_request_stop(&w2, false);
    worker_join(&w2);
    assert_once(f, from, "thread_exit", "the second worker's thread's end");
    /* after the second worker's session (its ping) closed, on its thread */
    static const char *const want[] = {" take 0e", " close", " thread_exit worker", NULL};
    assert_order(f, from, want);
    worker_destroy(&w2);
    run_for(f, 20);
    assert_int_equal(point_count(f, from, "thread_exit"), 1);
}

/* A failover as the monitor makes it (no monitor runs here): backend
 * `from` down and a replica, `to` the primary. */
static void fail_over(struct config *cfg, int from, int to)
{
    backend_set_health(cfg->backends[from].rt, BACKEND_DOWN, "test: failed");
    backend_set_role(cfg->backends[from].rt, ROLE_REPLICA, "test: failed over");
    backend_set_role(cfg->backends[to].rt, ROLE_PRIMARY, "test: promoted");
    backend_set_health(cfg->backends[to].rt, BACKEND_ONLINE, "test: up");
}

/* on_replayed (transaction_replay = true, a monitor user: halyard can
 * tell a dead primary from one that closed the connection itself): the
 * primary db1 closes the connection that holds the session's
 * transaction while the session is idle, and fails over to db2. The next
 * command runs the transaction again there, every answer the same: the
 * features hear once that it was replayed (its COMMIT's fate cannot be
 * looked for), after the replayed statements and before the client's
 * command goes. Statements in the replayed transaction do not meet the
 * point again; a replay whose answer differs (an ERR where the client
 * had an OK: 1213) is no replay, and does not meet it either. */
static void test_hooks_replayed(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    lose_idle_transaction(f);
    fail_over(f->cfg, 0, 1);
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (2)", &err), 0);
    assert_once(f, from, "replayed", "a transaction replayed");
    static const char *const want[] = {" after_lost",
                                       "db2 Q:BEGIN",
                                       "db2 Q:INSERT INTO t VALUES (1)",
                                       " replayed",
                                       "db2 Q:INSERT INTO t VALUES (2)",
                                       NULL};
    assert_order(f, from, want);
    from = f->n_trace;
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (3)", &err), 0);
    assert_int_equal(query(f, 0, "COMMIT", &err), 0);
    assert_int_equal(point_count(f, from, "replayed"), 0);
    /* a second transaction, on db2, lost and failed back over to db1,
     * whose replay gets another answer there */
    assert_int_equal(query(f, 0, "BEGIN", &err), 0);
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (4)", &err), 0);
    fb_rule(&f->primary, "VALUES (4)", FB_ERR, 1062, "Duplicate entry", 0);
    fb_drop_all(&f->replica);
    run_for(f, 50);
    fail_over(f->cfg, 1, 0);
    from = f->n_trace;
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (5)", &err), 0xff);
    assert_int_equal(err, ER_LOCK_DEADLOCK);
    static const char *const differs[] = {" after_lost", "db1 Q:INSERT INTO t VALUES (4)",
                                          "db1 Q:ROLLBACK", NULL};
    assert_order(f, from, differs);
    assert_int_equal(point_count(f, from, "replayed"), 0);
    /* the roles and health as the other tests have them (the backends' runtime
     * outlives a test; this one runs last) */
    fail_over(f->cfg, 1, 0);
    backend_set_health(f->cfg->backends[1].rt, BACKEND_ONLINE, "test: up");
}

/* wants_whole: with a feature attached to the answer, each packet of it
 * asks the features, before they see it (on_packet), whether one wants
 * it whole (a row's value to read, an OK or ERR): a result set of one
 * row, five times, each once before its packet; with none attached (no
 * feature of this configuration follows a plain read), never. */
static void test_hooks_wants_whole(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_int_equal(point_count(f, from, "wants_whole"), 0);
    assert_int_equal(point_count(f, from, "packet"), 0);
    f->attach_all = true;
    from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_int_equal(point_count(f, from, "wants_whole"), 5);
    assert_int_equal(point_count(f, from, "packet"), 5);
    /* the answer's points alternate: asked, then seen */
    int k = 0;
    for (size_t i = (size_t)traced(f, from, "db2 Q:SELECT a FROM t"); i < f->n_trace; i++) {
        bool asked = strstr(f->trace[i], " wants_whole") != NULL;
        bool seen = strstr(f->trace[i], " packet") != NULL;
        if ((asked && k % 2 != 0) || (seen && k % 2 != 1)) {
            dump(f, from);
            fail_msg("trace line %zu: wants_whole and packet out of turn", i);
        }
        k += asked || seen;
    }
    assert_int_equal(k, 10);
}

/* rewrite: a statement that reads the server's status views
 * (information_schema.GLOBAL_STATUS) is rewritten: a feature says so
 * (rewrites), the send notes it rewritten, and the text built for the
 * server is given to the features once (the sysview's derived table in
 * place of the view) before the server gets it, which never sees the
 * view's name as the client wrote it; a statement that names no such
 * view is not given to them. */
static void test_hooks_rewrite(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_int_equal(point_count(f, from, "rewrite"), 0);
    from = f->n_trace;
    fb_rule(&f->primary, "FROM (SELECT VARIABLE_NAME", FB_ROW, 0, "7", 0);
    int got = query(f, 0, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS", &err);
    assert_once(f, from, "rewrite", "a read of GLOBAL_STATUS");
    assert_int_equal(got, 1); /* the derived table's row */
    static const char *const want[] = {" classified", " send 03 rewritten", " rewrite",
                                       "db1 Q:SELECT VARIABLE_VALUE FROM (SELECT", NULL};
    assert_order(f, from, want);
    assert_int_equal(fb_logged(&f->primary, "FROM information_schema.GLOBAL_STATUS"), -1);
}

/* on_relayed: a client that took MARIADB_CLIENT_CACHE_METADATA gets a
 * result set's column count with the metadata_follows byte, written by
 * halyard in place of the server's (the backends are asked without it):
 * the features that keep what the client gets see that packet once, one
 * byte longer than the server's, after the server answered and before
 * the statement is done; a client without it gets the server's packet,
 * and the point does not fire. */
static void test_hooks_relayed(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_int_equal(point_count(f, from, "relayed"), 0);
    int c2 = client_open_ext(f, MARIADB_CLIENT_CACHE_METADATA);
    from = f->n_trace;
    assert_int_equal(query(f, c2, "SELECT a FROM t", &err), 1);
    assert_once(f, from, "relayed", "a result set's column count, with metadata_follows");
    static const char *const want[] = {"db2 Q:SELECT a FROM t", " relayed 2", " done", NULL};
    assert_order(f, from, want);
    from = f->n_trace;
    assert_int_equal(simple(f, c2, COM_PING, &err), 0);
    assert_int_equal(point_count(f, from, "relayed"), 0);
}

/* on_done's rows that end what the command began (the state's, the
 * login's, the kill's): a USE that succeeded is the session's schema and
 * the process list's after its done, one that failed leaves both as they
 * were; a COM_SET_OPTION that succeeded is kept for the logins to come;
 * the client's text a rewritten statement published (CONNECTION_ID())
 * is the process list's while it runs and goes at its done. */
static void test_hooks_done_rows(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    struct session *s = f->w.sessions;
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "USE d", &err), 0);
    assert_once(f, from, "done", "a USE");
    assert_string_equal(session_schema(s), "d");
    assert_string_equal(s->kill.reg.db, "d");
    fb_rule(&f->primary, "USE e", FB_ERR, 1049 /* ER_BAD_DB_ERROR */, "Unknown database 'e'", 1);
    fb_rule(&f->replica, "USE e", FB_ERR, 1049 /* ER_BAD_DB_ERROR */, "Unknown database 'e'", 1);
    assert_int_equal(query(f, 0, "USE e", &err), 0xff);
    assert_int_equal(err, 1049);
    assert_string_equal(session_schema(s), "d");
    assert_string_equal(s->kill.reg.db, "d");

    assert_true(s->who.caps & CLIENT_MULTI_STATEMENTS);
    const uint8_t off[] = {COM_SET_OPTION, 1, 0}; /* MYSQL_OPTION_MULTI_STATEMENTS_OFF */
    send_raw(f, 0, off, sizeof(off), 0);
    assert_true(recv1(f, 0, &err, 2000) >= 0);
    assert_false(s->who.caps & CLIENT_MULTI_STATEMENTS);
    const uint8_t on[] = {COM_SET_OPTION, 0, 0};
    send_raw(f, 0, on, sizeof(on), 0);
    assert_true(recv1(f, 0, &err, 2000) >= 0);
    assert_true(s->who.caps & CLIENT_MULTI_STATEMENTS);

    fb_rule(&f->primary, "tag_hold", FB_HOLD, 0, "", 1);
    fb_rule(&f->replica, "tag_hold", FB_HOLD, 0, "", 1);
    const char *q = "\x03SELECT CONNECTION_ID() AS tag_hold";
    send_raw(f, 0, q, strlen(q), 0);
    run_for(f, 100);
    size_t len = 0;
    char *info = registry_info_dup(s->id, &len);
    assert_non_null(info); /* the client's text, in place of the one sent */
    assert_memory_equal(info, q + 1, len);
    free(info);
    fb_release(&f->primary);
    fb_release(&f->replica);
    assert_true(recv1(f, 0, &err, 2000) >= 0);
    assert_null(registry_info_dup(s->id, &len));
}

/* on_end and on_follow: every command ends once, after on_settled, and
 * before the next is taken; a SET of a user variable has its read-back
 * sent behind it (the state's row): its end says so, and the read-back's
 * answer is followed once, before the next command. A statement with no
 * read-back is followed by nothing. */
static void test_hooks_end_follow(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_once(f, from, "end", "a SELECT");
    assert_int_equal(point_count(f, from, "follow"), 0);
    assert_true(traced(f, from, " end -") >= 0);
    static const char *const plain[] = {" done", " settled", " end -", NULL};
    assert_order(f, from, plain);
    from = f->n_trace;
    assert_int_equal(query(f, 0, "SET @x = 1", &err), 0);
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_int_equal(point_count(f, from, "end"), 2);
    assert_once(f, from, "follow", "a SET's read-back");
    static const char *const set[] = {"Q:SET @x = 1", "Q:SELECT @`x`", " settled", " end follows",
                                      " follow",      " take 03",      NULL};
    assert_order(f, from, set);
}

/* on_sent: a command meets the point once, all out to its backend; a
 * SET's read-back goes right behind it there (the state's row), and
 * trails it: trailing answers yes at the SET's answer's end (its
 * read-back's answer follows), no for a SELECT's, and no once the SET is
 * done. */
static void test_hooks_sent_trailing(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_once(f, from, "sent", "a SELECT");
    static const char *const plain[] = {" send 03", " sent", "db2 Q:SELECT a FROM t", " answer_end",
                                        NULL};
    assert_order(f, from, plain);
    assert_true(traced(f, from, " answer_end trailing") < 0);
    from = f->n_trace;
    assert_int_equal(query(f, 0, "SET @x = 1", &err), 0);
    assert_once(f, from, "sent", "a SET");
    static const char *const set[] = {
        " send 03", " sent", "db1 Q:SET @x = 1", "db1 Q:SELECT @`x`", " answer_end trailing",
        " done",    NULL};
    assert_order(f, from, set);
    run_for(f, 20);
    assert_false(session_hooks_trailing(f->w.sessions));
}

/* synced, sync: a connection ready is asked whether it has the session's
 * state before it runs a command; the replica's, behind the USE the
 * primary ran, is not, and is brought up to it (the state's row: the
 * schema sent there) before the SELECT goes; then it is, and nothing is
 * sent again. */
static void test_hooks_synced(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1); /* the replica's connection */
    assert_int_equal(query(f, 0, "USE d", &err), 0);
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    static const char *const want[] = {" synced db2 no", " sync", " synced db2 yes",
                                       "db2 Q:SELECT a FROM t", NULL};
    assert_order(f, from, want);
    assert_once(f, from, "sync", "the replica behind");
    from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_int_equal(point_count(f, from, "sync"), 0);
    assert_true(traced(f, from, " synced db2 yes") >= 0);
}

/* on_answer_end: an answer's end meets the point once, parsed before it
 * goes on: after its last packet, before the command is done. */
static void test_hooks_answer_end(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    f->attach_all = true; /* the packets shown */
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_once(f, from, "answer_end", "a SELECT");
    static const char *const want[] = {"db2 Q:SELECT a FROM t", " packet", " answer_end", " done",
                                       NULL};
    assert_order(f, from, want);
    assert_true(traced(f, (size_t)traced(f, from, " answer_end"), " packet") < 0); /* the last */
}

/* on_idle: a session waiting for its client meets the point, after the
 * command's end and not while one is in hand; the state's row frees the
 * change record a USE began. */
static void test_hooks_idle(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "USE d", &err), 0);
    run_for(f, 20);
    struct session *s = f->w.sessions;
    assert_true(point_count(f, from, "idle") >= 1);
    static const char *const want[] = {" take 03", " done", " end -", " idle", NULL};
    assert_order(f, from, want);
    int take = traced(f, from, " take 03"), done = traced(f, from, " done");
    for (int i = take; i < done; i++)
        assert_null(strstr(f->trace[i], " idle"));
    assert_null(s->vars.chg);
}

/* on_route: a statement meets the point only where a row may take it (a
 * listener with shards, diagnostics a fan-out left): not with this
 * fixture's one group. With shards, a COM_INIT_DB meets it before it is
 * classified, and a statement naming d2 is sent to its group's backend
 * there (the shard's row), after the rows before it passed. */
static void test_hooks_route(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_int_equal(point_count(f, from, "route"), 0);
}

static void test_hooks_route_shards(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    fb_rule(&f->replica, "FROM d2.t", FB_ROW, 0, "r", 0);
    const uint8_t use[] = {COM_INIT_DB, 'd', '2'};
    size_t from = f->n_trace;
    assert_int_equal(fb_client_command(&f->client[0], f->w.loop, use, sizeof(use), &err, NULL, 0),
                     0);
    assert_once(f, from, "route", "a COM_INIT_DB");
    /* the shard's row moved the session to d2's group: routed there as usual */
    static const char *const use_want[] = {" route 02 -", " conn_open db2", NULL};
    assert_order(f, from, use_want);
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_true(traced(f, from, "db2 Q:SELECT a FROM t") >= 0);
    int c2 = client_open(f);
    from = f->n_trace;
    assert_int_equal(query(f, c2, "SELECT a FROM d2.t", &err), 1);
    assert_once(f, from, "route", "a statement naming a sharded schema");
    static const char *const want[] = {" route 03 -", "db2 Q:SELECT a FROM d2.t", NULL};
    assert_order(f, from, want);
    assert_int_equal(fb_logged(&f->primary, "d2.t"), -1);
}

/* killed: asked before each command is taken (after busy), no while no
 * KILL marked the session. A KILL CONNECTION of a session whose statement
 * waits in a limit's queue (the registry's mark, as another session's
 * KILL sets it; the worker closes only an idle one itself): once the
 * limit lets it go, the kill's row says yes before the statement is
 * taken, and the session ends, its statement never sent. */
static void test_hooks_killed(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_int_equal(count(f, from, " killed yes"), 0);
    static const char *const order[] = {" busy", " killed no", " take 03", NULL};
    assert_order(f, from, order);
    int c2 = hold_first_update(f);
    struct session *waiting = queue_second_update(f, c2, 50);
    from = f->n_trace;
    uint32_t tid = 0, idx = 0;
    assert_int_equal(registry_kill(&waiting->kill.reg, waiting->id, true, false, &tid, &idx),
                     KILL_MARKED);
    run_for(f, 50);
    fb_release(&f->primary);
    assert_int_equal(recv1(f, 0, &err, 2000), 0);
    int got;
    while ((got = recv1(f, c2, &err, 2000)) >= 0 && got != 0xff)
        ;
    assert_int_equal(got, 0xff);
    assert_int_equal(err, ER_CONNECTION_KILLED);
    assert_int_equal(recv1(f, c2, NULL, 2000), -1); /* closed */
    assert_true(count(f, from, " killed yes") >= 1);
    assert_int_equal(fb_logged(&f->primary, "a = 2"), -1);
}

/* interrupted: asked only for a command taken again after a wait. A
 * statement queued behind a limit and let through meets it once and is
 * sent (no); one whose wait a KILL QUERY reached (the registry's mark, as
 * a KILL from another session sets it) meets it once, says yes, and is
 * answered 1317 without reaching a backend. A statement on an open
 * connection, taken once, never meets it. */
static void test_hooks_interrupted(void **state)
{
    struct fx *f = *state;
    uint16_t err = 0;
    size_t from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1); /* taken again: connected */
    assert_int_equal(count(f, from, " interrupted no"), 1);
    from = f->n_trace;
    assert_int_equal(query(f, 0, "SELECT a FROM t", &err), 1);
    assert_int_equal(point_count(f, from, "interrupted"), 0);
    int c2 = hold_first_update(f);
    from = f->n_trace;
    queue_second_update(f, c2, 50);
    fb_release(&f->primary);
    assert_int_equal(recv1(f, 0, &err, 2000), 0);
    assert_int_equal(recv1(f, c2, &err, 2000), 0);
    assert_int_equal(count(f, from, " interrupted no"), 1);
    static const char *const went[] = {" interrupted no", "db1 Q:UPDATE t SET a = 2", NULL};
    assert_order(f, from, went);
    /* again, the second one's wait killed */
    fb_rule(&f->primary, "a = 5", FB_HOLD, 0, "", 1);
    const char *q1 = "\x03UPDATE t SET a = 5";
    send_raw(f, 0, q1, strlen(q1), 0);
    assert_true(fb_pump(f->w.loop, primary_has, "a = 5", 2000));
    const char *q2 = "\x03UPDATE t SET a = 4";
    send_raw(f, c2, q2, strlen(q2), 0);
    run_for(f, 50);
    struct session *waiting = NULL;
    for (struct session *s = f->w.sessions; s != NULL; s = s->next)
        if (s->state == SS_WAIT_BACKEND)
            waiting = s;
    assert_non_null(waiting);
    from = f->n_trace;
    uint32_t tid = 0, idx = 0;
    assert_int_equal(registry_kill(&waiting->kill.reg, waiting->id, false, false, &tid, &idx),
                     KILL_MARKED);
    assert_int_equal(recv1(f, c2, &err, 2000), 0xff);
    assert_int_equal(err, ER_QUERY_INTERRUPTED);
    assert_once(f, from, "interrupted", "the KILL QUERY of the queued statement");
    assert_int_equal(count(f, from, " interrupted yes"), 1);
    assert_int_equal(fb_logged(&f->primary, "a = 4"), -1);
    fb_release(&f->primary);
    assert_int_equal(recv1(f, 0, &err, 2000), 0);
}

/* on_start, opening, timer: the login is the stage that opens a session.
 * A new client: the session made (create), its opening begun (start,
 * the greeting), each packet of its login read by the row (opening yes),
 * in that order; its statements meet none of them. A client that says
 * nothing after the greeting: the session's timer is the login's (timer
 * yes) once login_timeout_ms is up, and the session closes. */
static void test_hooks_opening(void **state)
{
    struct fx *f = *state;
    size_t from = f->n_trace;
    int c2 = client_open(f);
    assert_once(f, from, "start", "a new session");
    static const char *const order[] = {" create", " start", " opening yes", NULL};
    assert_order(f, from, order);
    assert_int_equal(count(f, from, " opening no"), 0);
    from = f->n_trace;
    uint16_t err = 0;
    assert_int_equal(query(f, c2, "SELECT a FROM t", &err), 1);
    assert_int_equal(point_count(f, from, "start") + point_count(f, from, "opening") +
                         point_count(f, from, "timer"),
                     0);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int mute = f->n_clients++;
    f->client[mute].fd = sv[1];
    from = f->n_trace;
    session_create(&f->w, sv[0], &f->cfg->listeners[0]);
    assert_int_equal(recv1(f, mute, NULL, 2000), 0x0a); /* the greeting */
    assert_int_equal(point_count(f, from, "timer"), 0);
    assert_int_equal(recv1(f, mute, NULL, 2000), -1); /* closed: its login's time up */
    assert_true(count(f, from, " timer yes") >= 1);
    assert_int_equal(count(f, from, " opening"), 0);
}

#define T CYCLE_TEST

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_hooks_text, conf_eventual),
        T(test_hooks_prepared, conf_eventual),
        T(test_hooks_reset_close, conf_eventual),
        T(test_hooks_conn_gone, conf_eventual),
        T(test_hooks_lost, conf_eventual),
        T(test_hooks_between, conf_eventual),
        T(test_hooks_after_lost, conf_eventual),
        T(test_hooks_classified, conf_eventual),
        T(test_hooks_digest, conf_eventual),
        T(test_hooks_conn_open, conf_eventual),
        T(test_hooks_abandon, conf_limit_full),
        T(test_hooks_abandon_set, conf_limit_full),
        T(test_hooks_cancel_wait, conf_limit_queue),
        T(test_hooks_hold, conf_limit_queue),
        T(test_hooks_rule, conf_rules),
        T(test_hooks_infile, conf_eventual),
        T(test_hooks_chosen, conf_eventual),
        T(test_hooks_create, conf_eventual),
        T(test_hooks_wait, conf_eventual),
        T(test_hooks_backend_once, conf_eventual),
        T(test_hooks_statement_commands, conf_eventual),
        T(test_hooks_reply, conf_eventual),
        T(test_hooks_backend_ready, conf_eventual),
        T(test_hooks_schema_gone, conf_eventual),
        T(test_hooks_pin, conf_eventual),
        T(test_hooks_sent_trailing, conf_eventual),
        T(test_hooks_answer_end, conf_eventual),
        T(test_hooks_idle, conf_eventual),
        T(test_hooks_synced, conf_session_pool),
        T(test_hooks_pin_session_pool, conf_session_pool),
        T(test_hooks_lend, conf_eventual),
        T(test_hooks_lend_session_pool, conf_session_pool),
        T(test_hooks_lent_gone, conf_eventual),
        T(test_hooks_view, conf_eventual),
        T(test_hooks_thread_exit, conf_eventual),
        T(test_hooks_wants_whole, conf_eventual),
        T(test_hooks_rewrite, conf_eventual),
        T(test_hooks_relayed, conf_eventual),
        T(test_hooks_done_rows, conf_eventual),
        T(test_hooks_end_follow, conf_eventual),
        T(test_hooks_route, conf_eventual),
        T(test_hooks_killed, conf_limit_queue),
        T(test_hooks_interrupted, conf_limit_queue),
        T(test_hooks_opening, conf_login_timeout),
        T(test_hooks_route_shards, conf_shards),
        T(test_hooks_replayed, conf_replay), /* last: it fails over and back */
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
