/*
 * cycle_fixture.c: the fixture of the cycle's stage and hook tests
 * (cycle_fixture.h): a worker on the test's loop, the scripted backends
 * and clients, and one trace of the stages run, the hook points met
 * (each of session_hooks.c's entry points wrapped: the Makefile links
 * the test_cycle_* tests with --wrap for them) and the commands the
 * backends got.
 */
#include <inttypes.h>
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
#include "halyard/config/group.h"
#include "halyard/limits/limits.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/session/worker.h"

#include "../../src/session/session_int.h"
#include "cycle_fixture.h"

struct fx *cycle_fx; /* the running test's, for the stage and hook trace */

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    /* a worker on a thread of its own notes too (test_hooks_thread_exit) */
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&lock);
    if (cycle_fx != NULL && cycle_fx->n_trace < FB_MAX_TRACE) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cycle_fx->trace[cycle_fx->n_trace++], 160, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&lock);
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
/* The rows' side of on_wait: the trace's row (session_trace.c), which
 * every session has, noted as "row sN hears connect begin" (the point's
 * call is "hook sN wait connect begin"). */
void __real_session_trace_wait(struct session *s, enum hook_wait what, bool begin);
void __wrap_session_trace_wait(struct session *s, enum hook_wait what, bool begin);
void __wrap_session_trace_wait(struct session *s, enum hook_wait what, bool begin)
{
    note("row s%u hears %s %s", s->id, wait_names[what], begin ? "begin" : "end");
    __real_session_trace_wait(s, what, begin);
}
WRAP_VOID(before_backend, (struct session * s, const struct hook_cmd *hc), (s, hc), " %02x",
          hc->cmd)
WRAP_VOID(after_backend, (struct session * s), (s), "")
WRAP_VOID(send, (struct session * s, const struct hook_cmd *hc), (s, hc), " %02x%s", hc->cmd,
          hc->rewritten ? " rewritten" : "")
WRAP_VOID(sent, (struct session * s), (s), "")
WRAP_VOID(begin, (struct session * s), (s), "")
WRAP_VOID(packet, (struct session * s, const struct hook_packet *pk), (s, pk), "")
WRAP_VOID(fed, (struct session * s, const struct hook_packet *pk), (s, pk), "")
WRAP_VOID(relayed, (struct session * s, const struct hook_packet *pk), (s, pk), " %u", pk->len)
WRAP_VOID(infile, (struct session * s, const uint8_t *p, uint32_t n), (s, p, n), " %u", n)
WRAP_VOID(done, (struct session * s), (s), "")
WRAP_VOID(settled, (struct session * s), (s), "")
WRAP_VOID(follow, (struct session * s, uint64_t rows), (s, rows), " %016" PRIx64, rows)
WRAP_VOID(abandon, (struct session * s), (s), "")
WRAP_VOID(idle, (struct session * s), (s), "")
WRAP_VOID(reset, (struct session * s), (s), "")
WRAP_VOID(renew, (struct session * s), (s), "")
WRAP_VOID(own_err, (struct session * s, const uint8_t *err, uint32_t len), (s, err, len), " %u",
          len > 2 ? (unsigned)(err[1] | err[2] << 8) : 0u)
WRAP_VOID(classified,
          (struct session * s, const struct classify_result *r, const uint8_t *p, uint32_t avail,
           bool fits),
          (s, r, p, avail, fits), " %u%s", avail, fits ? "" : " cut")
WRAP_VOID(digest, (struct session * s, const char *digest, size_t len), (s, digest, len), " %.*s",
          (int)len, digest)
WRAP_VOID(conn_open, (struct session * s, struct bconn *bc), (s, bc), " %s", bc->be->name)
WRAP_VOID(conn_gone, (struct session * s, struct bconn *bc), (s, bc), " %s", bc->be->name)
WRAP_VOID(schema_gone, (struct session * s), (s), " %s",
          session_schema(s) ? session_schema(s) : "-")
WRAP_VOID(pin, (struct session * s), (s), " %s", s->route.pin_why)
WRAP_VOID(lent_gone, (struct session * s, uint32_t idx), (s, idx), " %u", idx)
WRAP_VOID(replayed, (struct session * s), (s), "")
WRAP_VOID(trx_lost, (struct session * s, struct bconn *bc, const char *name), (s, bc, name), " %s",
          name)
WRAP_VOID(leave, (struct session * s), (s), "")
WRAP_VOID(close, (struct session * s), (s), "")
/* on_route: where the features sent the statement (a backend's name, an
 * outcome's number, or "-": routed as usual) */
uint32_t __real_session_hooks_route(struct session *s, const struct hook_route *hr);
uint32_t __wrap_session_hooks_route(struct session *s, const struct hook_route *hr);
uint32_t __wrap_session_hooks_route(struct session *s, const struct hook_route *hr)
{
    uint32_t to = __real_session_hooks_route(s, hr);
    if (to == UINT32_MAX)
        note("hook s%u route %02x -", s->id, hr->cmd);
    else if (to < s->cfg->n_backends)
        note("hook s%u route %02x %s", s->id, hr->cmd, s->cfg->backends[to].name);
    else
        note("hook s%u route %02x %" PRIu32, s->id, hr->cmd, to);
    return to;
}
/* killed: whether a row ends the session before its next command */
bool __real_session_hooks_killed(const struct session *s);
bool __wrap_session_hooks_killed(const struct session *s);
bool __wrap_session_hooks_killed(const struct session *s)
{
    bool killed = __real_session_hooks_killed(s);
    note("hook s%u killed %s", s->id, killed ? "yes" : "no");
    return killed;
}
/* interrupted: whether a row answers a command taken again 1317 */
bool __real_session_hooks_interrupted(struct session *s);
bool __wrap_session_hooks_interrupted(struct session *s);
bool __wrap_session_hooks_interrupted(struct session *s)
{
    bool yes = __real_session_hooks_interrupted(s);
    note("hook s%u interrupted %s", s->id, yes ? "yes" : "no");
    return yes;
}
/* on_end: the rows whose command follows the answer (bits) */
uint64_t __real_session_hooks_end(struct session *s);
uint64_t __wrap_session_hooks_end(struct session *s);
uint64_t __wrap_session_hooks_end(struct session *s)
{
    uint64_t rows = __real_session_hooks_end(s);
    note("hook s%u end %s", s->id, rows != 0 ? "follows" : "-");
    return rows;
}
/* trailing: whether a feature's command trails the client's */
bool __real_session_hooks_trailing(const struct session *s);
bool __wrap_session_hooks_trailing(const struct session *s);
bool __wrap_session_hooks_trailing(const struct session *s)
{
    bool yes = __real_session_hooks_trailing(s);
    note("hook s%u trailing %s", s->id, yes ? "yes" : "no");
    return yes;
}
/* on_answer_end, and whether a feature's command trails the answer then
 * (trailing asked, unnoted) */
void __real_session_hooks_answer_end(struct session *s);
void __wrap_session_hooks_answer_end(struct session *s);
void __wrap_session_hooks_answer_end(struct session *s)
{
    note("hook s%u answer_end%s", s->id, __real_session_hooks_trailing(s) ? " trailing" : "");
    __real_session_hooks_answer_end(s);
}
/* on_reply: whether the reply halyard builds is an OK or an ERR */
uint16_t __real_session_hooks_reply(struct session *s, uint8_t *seq, bool ok);
uint16_t __wrap_session_hooks_reply(struct session *s, uint8_t *seq, bool ok);
uint16_t __wrap_session_hooks_reply(struct session *s, uint8_t *seq, bool ok)
{
    note("hook s%u reply %s", s->id, ok ? "ok" : "err");
    return __real_session_hooks_reply(s, seq, ok);
}
WRAP_RET(bool, ready, (struct session * s), (s))
WRAP_RET(bool, chosen, (struct session * s, struct bconn *bc, uint32_t idx), (s, bc, idx))
WRAP_RET(bool, sync, (struct session * s), (s))
/* synced: whether the connection has what the features bring */
bool __real_session_hooks_synced(const struct session *s, const struct bconn *bc);
bool __wrap_session_hooks_synced(const struct session *s, const struct bconn *bc);
bool __wrap_session_hooks_synced(const struct session *s, const struct bconn *bc)
{
    bool yes = __real_session_hooks_synced(s, bc);
    note("hook s%u synced %s %s", s->id, bc->be->name, yes ? "yes" : "no");
    return yes;
}
WRAP_RET(const char *, refuse, (struct session * s), (s))
WRAP_RET(bool, elsewhere, (struct session * s, const struct hook_cmd *hc), (s, hc))
WRAP_RET(bool, rewrites, (const struct session *s), (s))
WRAP_RET(bool, rewrite,
         (struct session * s, uint8_t **pkt, size_t *n, const char *orig, size_t orig_len),
         (s, pkt, n, orig, orig_len))
WRAP_RET(enum hook_verdict, filter_up, (struct session * s, const struct hook_cmd *hc), (s, hc))
WRAP_RET(bool, wants_whole, (const struct session *s), (s))
/* on_lost: what was in flight on the connection lost, and what it held */
static const char *const flight_names[] = {"idle", "client", "waiting"};
bool __real_session_hooks_lost(struct session *s, struct hook_lost *hl);
bool __wrap_session_hooks_lost(struct session *s, struct hook_lost *hl);
bool __wrap_session_hooks_lost(struct session *s, struct hook_lost *hl)
{
    note("hook s%u lost %s %s%s", s->id, hl->be->name, flight_names[hl->flight],
         hl->trx ? " trx" : "");
    return __real_session_hooks_lost(s, hl);
}
WRAP_RET(bool, busy, (const struct session *s), (s))
WRAP_RET(bool, cancel_wait, (struct session * s), (s))
/* hold: noted after the rows answered, with the command and their verdict
 * ("hook sN hold 03 wait"): what a row noted while it ran (a refusal's
 * own_err) comes before it. */
enum hook_verdict __real_session_hooks_hold(struct session *s, const struct hook_cmd *hc);
enum hook_verdict __wrap_session_hooks_hold(struct session *s, const struct hook_cmd *hc);
enum hook_verdict __wrap_session_hooks_hold(struct session *s, const struct hook_cmd *hc)
{
    enum hook_verdict v = __real_session_hooks_hold(s, hc);
    note("hook s%u hold %02x %s", s->id, hc->cmd,
         v == HOOK_PASS   ? "pass"
         : v == HOOK_WAIT ? "wait"
                          : "taken");
    return v;
}
WRAP_RET(bool, create, (struct session * s), (s))
WRAP_VOID(start, (struct session * s), (s), "")
/* opening and timer: whether a row took the client's packet, the timer */
#define WRAP_YES(point)                                                                            \
    bool __real_session_hooks_##point(struct session *s);                                          \
    bool __wrap_session_hooks_##point(struct session *s);                                          \
    bool __wrap_session_hooks_##point(struct session *s)                                           \
    {                                                                                              \
        bool yes = __real_session_hooks_##point(s);                                                \
        note("hook s%u " #point " %s", s->id, yes ? "yes" : "no");                                 \
        return yes;                                                                                \
    }
WRAP_YES(opening)
WRAP_YES(timer)
/* on_view: the view the session moves to, "new" when it is one of the
 * worker's configuration (a reload's), with its backends' count */
bool __real_session_hooks_view(struct session *s, const struct config *to);
bool __wrap_session_hooks_view(struct session *s, const struct config *to);
bool __wrap_session_hooks_view(struct session *s, const struct config *to)
{
    note("hook s%u view %s %zu", s->id, config_root_c(to) == s->w->session_cfg ? "new" : "other",
         (size_t)to->n_backends);
    return __real_session_hooks_view(s, to);
}
/* on_lend: the connection given to the pool, and its backend */
bool __real_session_hooks_lend(struct session *s, struct bconn *bc);
bool __wrap_session_hooks_lend(struct session *s, struct bconn *bc);
bool __wrap_session_hooks_lend(struct session *s, struct bconn *bc)
{
    note("hook s%u lend %s", s->id, bc->be->name);
    return __real_session_hooks_lend(s, bc);
}
WRAP_RET(bool, backend_ready, (struct session * s), (s))
WRAP_RET(uint32_t, rule, (struct session * s, const struct hook_rule *hr), (s, hr))
WRAP_RET(enum hook_verdict, between, (struct session * s), (s))
WRAP_RET(enum hook_verdict, after_lost, (struct session * s, const struct hook_cmd *hc), (s, hc))

/* on_thread_exit: a worker's thread ends; noted with the thread it runs
 * on ("test": the test's own, which runs the fixture's worker) */
void __real_session_hooks_thread_exit(void);
void __wrap_session_hooks_thread_exit(void);
void __wrap_session_hooks_thread_exit(void)
{
    bool test = cycle_fx != NULL && pthread_equal(pthread_self(), cycle_fx->thread);
    note("hook s- thread_exit %s", test ? "test" : "worker");
    __real_session_hooks_thread_exit();
}

bool __real_session_hooks_attached(const struct session *s);
bool __wrap_session_hooks_attached(const struct session *s);
bool __wrap_session_hooks_attached(const struct session *s)
{
    note("hook s%u attached", s->id);
    bool real = __real_session_hooks_attached(s);
    return real || (cycle_fx != NULL && cycle_fx->attach_all);
}

/* ---- the fixture --------------------------------------------------------- */

int client_open(struct fx *f)
{
    return client_open_ext(f, 0);
}

int client_open_ext(struct fx *f, uint32_t ext_caps)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    f->client[f->n_clients].fd = sv[1];
    f->client[f->n_clients].ext_caps = ext_caps;
    session_create(&f->w, sv[0], &f->cfg->listeners[0]);
    assert_true(fb_client_login(&f->client[f->n_clients], f->w.loop, "app"));
    return f->n_clients++;
}

int setup(void **state)
{
    const char *conf = *state;
    struct fx *f = calloc(1, sizeof(*f));
    cycle_fx = f;
    f->thread = pthread_self();
    session_cycle_trace = trace_stage;
    char err[256];
    fb_listen(&f->primary, "db1");
    fb_listen(&f->replica, "db2");
    char *text = fb_conf(conf, &f->primary, &f->replica);
    if (config_load_string(text, "t.conf", &f->cfg, err, sizeof(err)) != HY_OK)
        fail_msg("config: %s", err);
    free(text);
    assert_int_equal(backend_rt_attach(f->cfg), HY_OK);
    assert_int_equal(limits_attach(f->cfg), HY_OK);
    assert_int_equal(worker_init(&f->w, 0, f->cfg, NULL, 0, err, sizeof(err)), HY_OK);
    f->primary.trace = f->replica.trace = f->trace;
    f->primary.n_trace = f->replica.n_trace = &f->n_trace;
    fb_start(&f->primary, f->w.loop);
    fb_start(&f->replica, f->w.loop);
    client_open(f);
    /* the position reads' answers (consistency = global) and the reads' */
    fb_rule(&f->primary, "gtid_binlog_pos", FB_ROW, 0, "0-1-5", 0);
    fb_rule(&f->replica, "MASTER_GTID_WAIT", FB_ROW, 0, "0", 0);
    fb_rule(&f->primary, "SELECT a FROM t", FB_ROW, 0, "p", 0);
    fb_rule(&f->replica, "SELECT a FROM t", FB_ROW, 0, "r", 0);
    *state = f;
    return 0;
}

void dump(const struct fx *f, size_t from);

int teardown(void **state)
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
    cycle_fx = NULL;
    free(f);
    return 0;
}

/* ---- reading the trace --------------------------------------------------- */

void dump(const struct fx *f, size_t from)
{
    for (size_t i = from; i < f->n_trace; i++)
        print_message("  %s\n", f->trace[i]);
}

/* The index of the first trace line from `from` on containing `text`, else -1. */
int traced(const struct fx *f, size_t from, const char *text)
{
    for (size_t i = from; i < f->n_trace; i++)
        if (strstr(f->trace[i], text) != NULL)
            return (int)i;
    return -1;
}

/* How many trace lines from `from` on contain `text`. */
int count(const struct fx *f, size_t from, const char *text)
{
    int n = 0;
    for (size_t i = from; i < f->n_trace; i++)
        n += strstr(f->trace[i], text) != NULL;
    return n;
}

/* Each of want[] (NULL-ended) is in the trace from `from` on, in that
 * order; else the trace is printed and the test fails. */
void assert_order(const struct fx *f, size_t from, const char *const *want)
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

int query(struct fx *f, int c, const char *sql, uint16_t *err)
{
    return fb_client_query(&f->client[c], f->w.loop, sql, err);
}

/* A COM_STMT_PREPARE of sql: the statement id, else -1. */
long prepare(struct fx *f, int c, const char *sql)
{
    uint8_t p[256] = {COM_STMT_PREPARE}, ok[12];
    memcpy(p + 1, sql, strlen(sql));
    uint16_t err = 0;
    int got = fb_client_command(&f->client[c], f->w.loop, p, 1 + strlen(sql), &err, ok, sizeof(ok));
    if (got != 0)
        return -1;
    return (long)(ok[1] | ok[2] << 8 | (uint32_t)ok[3] << 16 | (uint32_t)ok[4] << 24);
}

/* The COM_STMT_EXECUTE packet of statement id (no parameters, no
 * cursor, one iteration). */
void execute_packet(uint8_t ex[EXECUTE_PACKET_LEN], long id)
{
    const uint8_t head[EXECUTE_PACKET_LEN] = {COM_STMT_EXECUTE,
                                              (uint8_t)id,
                                              (uint8_t)(id >> 8),
                                              (uint8_t)(id >> 16),
                                              (uint8_t)(id >> 24),
                                              0,
                                              1};
    memcpy(ex, head, EXECUTE_PACKET_LEN);
}

/* A COM_STMT_EXECUTE of statement id (no parameters): as fb_client_command. */
int execute(struct fx *f, int c, long id, uint16_t *err)
{
    uint8_t ex[EXECUTE_PACKET_LEN];
    execute_packet(ex, id);
    return fb_client_command(&f->client[c], f->w.loop, ex, sizeof(ex), err, NULL, 0);
}

/* A command with one byte of payload after its own (or none): as
 * fb_client_command. */
int simple(struct fx *f, int c, uint8_t cmd, uint16_t *err)
{
    uint8_t p[1] = {cmd};
    return fb_client_command(&f->client[c], f->w.loop, p, 1, err, NULL, 0);
}

/* A command packet as sent: waits for no answer. */
void send_raw(struct fx *f, int c, const void *p, size_t n, uint8_t seq)
{
    fb_client_send(&f->client[c], p, n, seq);
}

/* The next packet the client gets: its first byte (ERR: *err its code),
 * -1 when none came within ms. */
int recv1(struct fx *f, int c, uint16_t *err, int ms)
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
void run_for(struct fx *f, int ms)
{
    fb_pump(f->w.loop, NULL, NULL, ms);
}

/* Whether the primary has logged a command containing arg. */
bool primary_has(void *arg)
{
    return fb_logged(&cycle_fx->primary, arg) >= 0;
}

void reload(struct fx *f, const char *conf)
{
    char err[256];
    struct config *fresh = NULL;
    char *text = fb_conf(conf, &f->primary, &f->replica);
    if (config_load_string(text, "t.conf", &fresh, err, sizeof(err)) != HY_OK)
        fail_msg("config: %s", err);
    free(text);
    assert_int_equal(backend_rt_attach(fresh), HY_OK);
    assert_int_equal(limits_attach(fresh), HY_OK);
    assert_int_equal(worker_publish_config(&f->w, fresh, NULL, 0), HY_OK);
    config_put(fresh); /* the worker's call holds it, then the worker */
    fb_pump(f->w.loop, NULL, NULL, 20);
    assert_true(f->w.session_cfg == fresh);
}

int hold_first_update(struct fx *f)
{
    int c2 = client_open(f);
    fb_rule(&f->primary, "a = 1", FB_HOLD, 0, "", 1);
    const char *q1 = "\x03UPDATE t SET a = 1";
    send_raw(f, 0, q1, strlen(q1), 0);
    assert_true(fb_pump(f->w.loop, primary_has, "a = 1", 2000));
    return c2;
}

size_t lose_idle_transaction(struct fx *f)
{
    uint16_t err = 0;
    assert_int_equal(query(f, 0, "BEGIN", &err), 0);
    assert_int_equal(query(f, 0, "INSERT INTO t VALUES (1)", &err), 0);
    fb_drop_all(&f->primary);
    run_for(f, 50);
    return f->primary.n_log + f->replica.n_log;
}

/* The serial of the primary's connection the last command containing
 * text came on, else -1. */
int primary_conn_of(const struct fx *f, const char *text)
{
    for (size_t i = f->primary.n_log; i-- > 0;)
        if (strstr(f->primary.log[i], text) != NULL)
            return f->primary.log_conn[i];
    return -1;
}
