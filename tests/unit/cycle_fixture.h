/*
 * cycle_fixture.h: what test_cycle_stages.c and test_cycle_hooks.c share:
 * the real session between a scripted client and two scripted backends
 * (fake_backend.h), a primary on 21000 and a replica on 21001
 * (test_cycle_fake.c's ports), and one trace of the stages run
 * (session_cycle_trace: "stage s<id> <cmd> <name>"), the hook points met
 * ("hook s<id> <point> ...") and what each backend got ("db1 Q:...").
 */
#ifndef HALYARD_TESTS_CYCLE_FIXTURE_H
#define HALYARD_TESTS_CYCLE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pthread.h>

#include "halyard/config/config.h"
#include "halyard/session/worker.h"

#include "fake_backend.h"

#define MAX_CLIENTS 3

#define BASE_CONF                                                                                  \
    "listeners = ( { name = \"main\"; address = \"127.0.0.1\"; port = 21002; } );\n"               \
    "users = ( { name = \"app\"; password_hash = \"\"; } );\n"                                     \
    "backends = ( { name = \"db1\"; address = \"127.0.0.1\"; port = 21000; role = \"primary\"; "   \
    "},\n"                                                                                         \
    "  { name = \"db2\"; address = \"127.0.0.1\"; port = 21001; role = \"replica\"; } );\n"

struct fx {
    struct worker w;
    struct config *cfg;
    struct fake_backend primary, replica;
    struct fb_client client[MAX_CLIENTS];
    int n_clients;
    char trace[FB_MAX_TRACE][160];
    size_t n_trace;
    bool attach_all;  /* session_hooks_attached says yes: the packet points run */
    pthread_t thread; /* the test's, which runs w's loop */
};

extern struct fx *cycle_fx; /* the running test's */

/* cmocka's setup, its state the configuration's text; and teardown.
 * CYCLE_TRACE=1 in the environment prints each test's trace. */
int setup(void **state);
int teardown(void **state);
/* A cycle test `fn` run with setup and teardown on the configuration `conf`. */
#define CYCLE_TEST(fn, conf)                                                                       \
    cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, (void *)(conf))
/* Another client, logged in as app: its index in f->client. */
int client_open(struct fx *f);
/* The same, the client asking for MariaDB's capabilities `ext_caps`. */
int client_open_ext(struct fx *f, uint32_t ext_caps);

/* The trace from line `from` on: printed; the first line containing
 * text (else -1); how many do; each of want[] (NULL-ended) in order,
 * else the trace is printed and the test fails. */
void dump(const struct fx *f, size_t from);
int traced(const struct fx *f, size_t from, const char *text);
int count(const struct fx *f, size_t from, const char *text);
void assert_order(const struct fx *f, size_t from, const char *const *want);

/* Client c's commands, as fb_client_command answers (the first byte of
 * the answer; *err an ERR's code). prepare: the statement id, else -1. */
int query(struct fx *f, int c, const char *sql, uint16_t *err);
long prepare(struct fx *f, int c, const char *sql);
/* The COM_STMT_EXECUTE packet of statement id (no parameters). */
#define EXECUTE_PACKET_LEN 10
void execute_packet(uint8_t ex[EXECUTE_PACKET_LEN], long id);
int execute(struct fx *f, int c, long id, uint16_t *err);
int simple(struct fx *f, int c, uint8_t cmd, uint16_t *err);
/* A packet sent as it is, no answer waited for; the next packet's first
 * byte (-1: none within ms, or closed); the loop run for ms. */
void send_raw(struct fx *f, int c, const void *p, size_t n, uint8_t seq);
int recv1(struct fx *f, int c, uint16_t *err, int ms);
void run_for(struct fx *f, int ms);
/* Whether the primary logged a command containing arg (for fb_pump);
 * the serial of the primary's connection the last such came on. */
bool primary_has(void *arg);
int primary_conn_of(const struct fx *f, const char *text);
/* A reload to the configuration `conf`, as main.c's app_reload_config
 * gives it to a worker (its backends' and limits' runtime attached, then
 * worker_publish_config), the worker's call run: new sessions use it,
 * running ones move to it between statements (session_reload.c). */
void reload(struct fx *f, const char *conf);
/* Client 0's `UPDATE t SET a = 1` sent and held by the primary (its OK at
 * fb_release, then read with recv1), a second client opened: its index. */
int hold_first_update(struct fx *f);
/* Client 0 begins a transaction and writes in it; the primary then closes
 * that connection while the session is idle: the transaction is lost. The
 * number of commands the backends logged so far. */
size_t lose_idle_transaction(struct fx *f);

#endif
