/*
 * test_cycle_stages.c: each stage of the command cycle (session.c's
 * cycle[]) and each hook point (session_hooks.c) doing its job, seen from
 * outside: a scripted client on a socket pair, the real session on the
 * test's loop, and two scripted backends (fake_backend.h), a primary and
 * a replica, on loopback ports 21000 and 21001 (test_cycle_fake.c's).
 *
 * The hook points are seen through the linker: this test is linked with
 * --wrap for each of session_hooks.c's entry points (the Makefile), and
 * each wrapper below notes the point in the trace, then runs the real
 * one. The cycle's stages are noted through session_cycle_trace. The
 * trace also holds what each backend got, so an order of stages, hooks
 * and packets is read from one list.
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
#include "halyard/limits/limits.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/session/worker.h"

#include "../../src/session/session_int.h"
#include "fake_backend.h"

#define PORT_PRIMARY 21000
#define PORT_REPLICA 21001
#define MAX_CLIENTS  3

#define BASE_CONF                                                                                  \
    "listeners = ( { name = \"main\"; address = \"127.0.0.1\"; port = 21002; } );\n"               \
    "users = ( { name = \"app\"; password_hash = \"\"; } );\n"                                     \
    "backends = ( { name = \"db1\"; address = \"127.0.0.1\"; port = 21000; role = \"primary\"; "   \
    "},\n"                                                                                         \
    "  { name = \"db2\"; address = \"127.0.0.1\"; port = 21001; role = \"replica\"; } );\n"

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

struct fx {
    struct worker w;
    struct config *cfg;
    struct fake_backend primary, replica;
    struct fb_client client[MAX_CLIENTS];
    int n_clients;
    char trace[FB_MAX_TRACE][160];
    size_t n_trace;
    bool attach_all; /* session_hooks_attached says yes: the packet points run */
};

static struct fx *cur; /* the running test's, for the stage and hook trace */

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    if (cur == NULL || cur->n_trace >= FB_MAX_TRACE)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cur->trace[cur->n_trace++], 160, fmt, ap);
    va_end(ap);
}

/* ---- the trace: stages (session_cycle_trace), hook points (--wrap) ---- */

static void trace_stage(const struct session *s, uint8_t cmd, const char *stage)
{
    note("stage s%u %02x %s", s->id, cmd, stage);
}

static const char *const wait_names[] = {"limit", "pool", "connect", "consistency", "writer"};

/* The real points, and each one's wrapper: the point noted, then run. */
#define WRAP_VOID(point, decl, args, fmt, ...)                                                     \
    void __real_session_hooks_##point decl;                                                        \
    void __wrap_session_hooks_##point decl;                                                        \
    void __wrap_session_hooks_##point decl                                                         \
    {                                                                                              \
        note("hook s%u " #point fmt, s->id, ##__VA_ARGS__);                                        \
        __real_session_hooks_##point args;                                                         \
    }
#define WRAP_RET(type, point, decl, args)                                                          \
    type __real_session_hooks_##point decl;                                                        \
    type __wrap_session_hooks_##point decl;                                                        \
    type __wrap_session_hooks_##point decl                                                         \
    {                                                                                              \
        note("hook s%u " #point, s->id);                                                           \
        return __real_session_hooks_##point args;                                                  \
    }

WRAP_VOID(take, (struct session * s, const struct hook_cmd *hc), (s, hc), " %02x", hc->cmd)
WRAP_VOID(wait, (struct session * s, enum hook_wait what, bool begin), (s, what, begin), " %s %s",
          wait_names[what], begin ? "begin" : "end")
WRAP_VOID(before_backend, (struct session * s, const struct hook_cmd *hc), (s, hc), " %02x",
          hc->cmd)
WRAP_VOID(after_backend, (struct session * s), (s), "")
WRAP_VOID(send, (struct session * s, const struct hook_cmd *hc), (s, hc), " %02x%s", hc->cmd,
          hc->rewritten ? " rewritten" : "")
WRAP_VOID(begin, (struct session * s), (s), "")
WRAP_VOID(packet, (struct session * s, const struct hook_packet *pk), (s, pk), "")
WRAP_VOID(fed, (struct session * s, const struct hook_packet *pk), (s, pk), "")
WRAP_VOID(relayed, (struct session * s, const struct hook_packet *pk), (s, pk), "")
WRAP_VOID(done, (struct session * s), (s), "")
WRAP_VOID(settled, (struct session * s), (s), "")
WRAP_VOID(abandon, (struct session * s), (s), "")
WRAP_VOID(reset, (struct session * s), (s), "")
WRAP_VOID(close, (struct session * s), (s), "")
WRAP_RET(bool, ready, (struct session * s), (s))
WRAP_RET(const char *, refuse, (struct session * s), (s))
WRAP_RET(bool, elsewhere, (struct session * s, const struct hook_cmd *hc, uint32_t *to),
         (s, hc, to))
WRAP_RET(bool, rewrites, (const struct session *s), (s))
WRAP_RET(bool, rewrite,
         (struct session * s, uint8_t **pkt, size_t *n, const char *orig, size_t orig_len),
         (s, pkt, n, orig, orig_len))
WRAP_RET(enum hook_verdict, filter_up, (struct session * s, const struct hook_cmd *hc), (s, hc))
WRAP_RET(bool, wants_whole, (const struct session *s), (s))

bool __real_session_hooks_attached(const struct session *s);
bool __wrap_session_hooks_attached(const struct session *s);
bool __wrap_session_hooks_attached(const struct session *s)
{
    note("hook s%u attached", s->id);
    bool real = __real_session_hooks_attached(s);
    return real || (cur != NULL && cur->attach_all);
}

/* ---- the fixture --------------------------------------------------------- */

static int client_open(struct fx *f)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    f->client[f->n_clients].fd = sv[1];
    session_create(&f->w, sv[0], &f->cfg->listeners[0]);
    assert_true(fb_client_login(&f->client[f->n_clients], f->w.loop, "app"));
    return f->n_clients++;
}

static int setup(void **state)
{
    const char *conf = *state;
    struct fx *f = calloc(1, sizeof(*f));
    cur = f;
    session_cycle_trace = trace_stage;
    char err[256];
    if (config_load_string(conf, "t.conf", &f->cfg, err, sizeof(err)) != HY_OK)
        fail_msg("config: %s", err);
    assert_int_equal(backend_rt_attach(f->cfg), HY_OK);
    assert_int_equal(limits_attach(f->cfg), HY_OK);
    assert_int_equal(worker_init(&f->w, 0, f->cfg, NULL, 0, err, sizeof(err)), HY_OK);
    f->primary.trace = f->replica.trace = f->trace;
    f->primary.n_trace = f->replica.n_trace = &f->n_trace;
    fb_start(&f->primary, f->w.loop, "db1", PORT_PRIMARY);
    fb_start(&f->replica, f->w.loop, "db2", PORT_REPLICA);
    client_open(f);
    /* the position reads' answers (consistency = global) and the reads' */
    fb_rule(&f->primary, "gtid_binlog_pos", FB_ROW, 0, "0-1-5", 0);
    fb_rule(&f->replica, "MASTER_GTID_WAIT", FB_ROW, 0, "0", 0);
    fb_rule(&f->primary, "SELECT a FROM t", FB_ROW, 0, "p", 0);
    fb_rule(&f->replica, "SELECT a FROM t", FB_ROW, 0, "r", 0);
    *state = f;
    return 0;
}

static void dump(const struct fx *f, size_t from);

static int teardown(void **state)
{
    struct fx *f = *state;
    if (getenv("CYCLE_TRACE") != NULL) /* the whole trace, to read */
        dump(f, 0);
    for (int i = 0; i < f->n_clients; i++)
        close(f->client[i].fd);
    fb_pump(f->w.loop, NULL, NULL, 20);
    fb_stop(&f->primary);
    fb_stop(&f->replica);
    worker_destroy(&f->w);
    config_put(f->cfg);
    limits_reset();
    session_cycle_trace = NULL;
    cur = NULL;
    free(f);
    return 0;
}

/* ---- reading the trace --------------------------------------------------- */

static void dump(const struct fx *f, size_t from)
{
    for (size_t i = from; i < f->n_trace; i++)
        print_message("  %s\n", f->trace[i]);
}

/* The index of the first trace line from `from` on containing `text`, else -1. */
static int traced(const struct fx *f, size_t from, const char *text)
{
    for (size_t i = from; i < f->n_trace; i++)
        if (strstr(f->trace[i], text) != NULL)
            return (int)i;
    return -1;
}

/* How many trace lines from `from` on contain `text`. */
static int count(const struct fx *f, size_t from, const char *text)
{
    int n = 0;
    for (size_t i = from; i < f->n_trace; i++)
        n += strstr(f->trace[i], text) != NULL;
    return n;
}

/* Each of want[] (NULL-ended) is in the trace from `from` on, in that
 * order; else the trace is printed and the test fails. */
static void assert_order(const struct fx *f, size_t from, const char *const *want)
{
    size_t at = from;
    for (size_t k = 0; want[k] != NULL; k++) {
        int i = traced(f, at, want[k]);
        if (i < 0) {
            dump(f, from);
            fail_msg("'%s' not in the trace after '%s'", want[k], k > 0 ? want[k - 1] : "start");
        }
        at = (size_t)i + 1;
    }
}

/* ---- the client's side --------------------------------------------------- */

static int query(struct fx *f, int c, const char *sql, uint16_t *err)
{
    return fb_client_query(&f->client[c], f->w.loop, sql, err);
}

/* A COM_STMT_PREPARE of sql: the statement id, else -1. */
static long prepare(struct fx *f, int c, const char *sql)
{
    uint8_t p[256] = {COM_STMT_PREPARE}, ok[12];
    memcpy(p + 1, sql, strlen(sql));
    uint16_t err = 0;
    int got = fb_client_command(&f->client[c], f->w.loop, p, 1 + strlen(sql), &err, ok, sizeof(ok));
    if (got != 0)
        return -1;
    return (long)(ok[1] | ok[2] << 8 | (uint32_t)ok[3] << 16 | (uint32_t)ok[4] << 24);
}

/* A COM_STMT_EXECUTE of statement id (no parameters): as fb_client_command. */
static int execute(struct fx *f, int c, long id, uint16_t *err)
{
    uint8_t ex[10] = {COM_STMT_EXECUTE,
                      (uint8_t)id,
                      (uint8_t)(id >> 8),
                      (uint8_t)(id >> 16),
                      (uint8_t)(id >> 24),
                      0,
                      1,
                      0,
                      0,
                      0};
    return fb_client_command(&f->client[c], f->w.loop, ex, sizeof(ex), err, NULL, 0);
}

/* A command with one byte of payload after its own (or none): as
 * fb_client_command. */
static int simple(struct fx *f, int c, uint8_t cmd, uint16_t *err)
{
    uint8_t p[1] = {cmd};
    return fb_client_command(&f->client[c], f->w.loop, p, 1, err, NULL, 0);
}

/* A command packet as sent: waits for no answer. */
static void send_raw(struct fx *f, int c, const void *p, size_t n, uint8_t seq)
{
    fb_client_send(&f->client[c], p, n, seq);
}

/* The next packet the client gets: its first byte (ERR: *err its code),
 * -1 when none came within ms. */
static int recv1(struct fx *f, int c, uint16_t *err, int ms)
{
    uint8_t p[FB_BUF];
    int n = fb_client_recv(&f->client[c], f->w.loop, p, sizeof(p), ms);
    if (n <= 0)
        return -1;
    if (p[0] == 0xff && err != NULL && n >= 3)
        *err = (uint16_t)(p[1] | p[2] << 8);
    return p[0];
}

/* Run the loop for ms. */
static void run_for(struct fx *f, int ms)
{
    fb_pump(f->w.loop, NULL, NULL, ms);
}

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

/* Whether the primary has logged a command containing arg. */
static bool primary_has(void *arg)
{
    return fb_logged(&cur->primary, arg) >= 0;
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
    int c2 = client_open(f);
    fb_rule(&f->primary, "a = 1", FB_HOLD, 0, "", 1);
    const char *q1 = "\x03UPDATE t SET a = 1";
    send_raw(f, 0, q1, strlen(q1), 0);
    assert_true(fb_pump(f->w.loop, primary_has, "a = 1", 2000));
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

/* The serial of the primary's connection the last command containing
 * text came on, else -1. */
static int primary_conn_of(const struct fx *f, const char *text)
{
    for (size_t i = f->primary.n_log; i-- > 0;)
        if (strstr(f->primary.log[i], text) != NULL)
            return f->primary.log_conn[i];
    return -1;
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

#define T(fn, conf) cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, (void *)(conf))

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_gate, conf_eventual),      T(test_command, conf_max_ps),
        T(test_route, conf_eventual),     T(test_outcome, conf_block),
        T(test_limit, conf_limit),        T(test_limit_full, conf_limit_full),
        T(test_forward, conf_eventual),   T(test_consistency_wait, conf_global),
        T(test_done_pool, conf_eventual), T(test_done_session_pool, conf_session_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
