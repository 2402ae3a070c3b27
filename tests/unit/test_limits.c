/*
 * test_limits.c: fair-share limits (limits.h), with times passed in.
 *
 *   - config: every limit error with its exact message, and the defaults
 *   - limits_match: first match wins, each condition, exempt is the
 *     session's to check (not here)
 *   - max_concurrent: pass, wait, full; a place given on at an end
 *   - max_per_second: the bucket's burst and its refill
 *   - max_server_ms_per_second: charged at the end, what is in flight
 *     counted against the budget
 *   - the queue: timeout, fair across tenants, cancel, a transaction's
 *     statement never held but charged
 *   - a reload: values changed with statements queued, a limit removed
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "config_cases.h"

#include "halyard/config/config.h"
#include "halyard/config/rules.h"
#include "halyard/limits/limits.h"

#define BASE                                                                                       \
    "listeners = ( { name = \"main\"; address = \"127.0.0.1\"; port = 6033; } ); workers = 2;\n"   \
    "users = ( { name = \"app\"; password_hash = \"\"; }, { name = \"bob\"; password_hash = "      \
    "\"\"; exempt = true; } );\n"                                                                  \
    "backends = ( { name = \"db1\"; address = \"h\"; port = 1; role = \"primary\"; } );\n"
/* Limits on line 4. */
#define LIMITS(body) BASE "limits = ( " body " );\n"

static const struct bad_case bad_cases[] = {
    {LIMITS("{ name = \"a\"; user = \"app\"; }"),
     "t.conf:4: limits.[0]: no limit; give at least one of max_concurrent, max_per_second, "
     "max_server_ms_per_second"},
    {LIMITS("{ name = \"a\"; user = \"app\"; max_concurrent = 1; burst = 5; }"),
     "t.conf:4: limits.[0].burst: only used with max_per_second"},
    {LIMITS("{ name = \"a\"; user = \"app\"; users = [\"app\"]; max_concurrent = 1; }"),
     "t.conf:4: limits.[0].users: give user or users, not both"},
    {LIMITS("{ name = \"a\"; user = \"eve\"; max_concurrent = 1; }"),
     "t.conf:4: limits.[0].user: no user \"eve\" in users"},
    {LIMITS("{ name = \"a\"; users = [\"app\", \"eve\"]; max_concurrent = 1; }"),
     "t.conf:4: limits.[0].users: no user \"eve\" in users"},
    {LIMITS("{ name = \"a\"; listener = \"other\"; max_concurrent = 1; }"),
     "t.conf:4: limits.[0].listener: no listener \"other\" in listeners"},
    {LIMITS("{ name = \"a\"; client = \"10.1.0.0/8\"; max_concurrent = 1; }"),
     "t.conf:4: limits.[0].client: \"10.1.0.0/8\": address bits are set past the /8 prefix (the "
     "network is 10.0.0.0/8)"},
    {LIMITS("{ name = \"a\"; match_digest = \"(\"; max_concurrent = 1; }"),
     "t.conf:4: limits.[0].match_digest: bad regex at offset 1: missing closing parenthesis"},
    {LIMITS("{ name = \"a\"; max_concurrent = -1; }"),
     "t.conf:4: limits.[0].max_concurrent: -1 is out of range 0..1000000"},
    {LIMITS("{ name = \"a\"; max_concurrent = 1; tenant = \"host\"; }"),
     "t.conf:4: limits.[0].tenant: \"host\" is not one of user|schema"},
    {LIMITS("{ name = \"a\"; max_concurrent = 1; queue_timeout_ms = 0; }"),
     "t.conf:4: limits.[0].queue_timeout_ms: 0 is out of range 1..3600000"},
    {LIMITS("{ name = \"a\"; max_concurrent = 1; }, { name = \"a\"; max_concurrent = 2; }"),
     "t.conf:4: limits.[1].name: duplicate limit name \"a\" (first defined at line 4)"},
};

static void test_config_errors(void **state)
{
    (void)state;
    check_bad_cases(bad_cases, HY_ARRAY_SIZE(bad_cases));
}

static void test_config_defaults(void **state)
{
    (void)state;
    struct config *cfg = load_ok(LIMITS("{ name = \"a\"; max_per_second = 10; }"));
    assert_int_equal(cfg->n_limits, 1);
    const struct config_limit *l = &cfg->limits[0];
    assert_int_equal(l->burst, 10); /* one second's worth */
    assert_int_equal(l->queue_size, 100);
    assert_int_equal(l->queue_timeout_ms, 1000);
    assert_int_equal(l->tenant, LIMIT_TENANT_USER);
    assert_int_equal(l->max_concurrent, 0);
    assert_true(config_find_user(cfg, "bob", 3)->exempt);
    assert_false(config_find_user(cfg, "app", 3)->exempt);
    config_put(cfg);
}

static void test_match(void **state)
{
    (void)state;
    struct config *cfg =
        load_ok(LIMITS("{ name = \"by_digest\"; match_digest = \"^SELECT SLEEP\"; "
                       "max_concurrent = 1; },\n"
                       "{ name = \"by_schema\"; schema = \"s1\"; max_concurrent = 1; },\n"
                       "{ name = \"by_net\"; client = \"10.0.0.0/8\"; listener = \"main\"; "
                       "max_concurrent = 1; },\n"
                       "{ name = \"by_user\"; users = [\"app\"]; max_concurrent = 1; }"));
    struct rules_addr ten = {.family = AF_INET, .addr = {10, 1, 2, 3}};
    struct rules_addr local = {.family = AF_INET, .addr = {127, 0, 0, 1}};
    struct rules_ctx ctx;
    assert_int_equal(rules_ctx_init(&ctx, 0), HY_OK);
    assert_true(cfg->limits_need_digest);
    struct rules_input w = {.user = "app", .schema = "s1", .client = &ten, .listener = "main"};
    w.digest = "SELECT SLEEP ( ? )"; /* digests as classify makes them */
    w.digest_len = strlen(w.digest);
    assert_string_equal(limits_match(&ctx, cfg, &w)->name, "by_digest");
    w.digest = "SELECT ?";
    w.digest_len = strlen(w.digest);
    assert_string_equal(limits_match(&ctx, cfg, &w)->name, "by_schema"); /* the first wins */
    w.digest = NULL; /* none: a match_digest never matches */
    w.digest_len = 0;
    assert_string_equal(limits_match(&ctx, cfg, &w)->name, "by_schema");
    w.schema = NULL;
    assert_string_equal(limits_match(&ctx, cfg, &w)->name, "by_net");
    w.client = &local;
    assert_string_equal(limits_match(&ctx, cfg, &w)->name, "by_user");
    w.user = "bob";
    assert_null(limits_match(&ctx, cfg, &w));
    w.client = NULL; /* not known: no client condition matches */
    w.listener = "main";
    assert_null(limits_match(&ctx, cfg, &w));
    rules_ctx_destroy(&ctx);
    config_put(cfg);
}

/* One config of one limit, attached; the test's own limit state. */
static struct config *one(const char *body)
{
    char text[2048];
    snprintf(text, sizeof(text), LIMITS("{ name = \"l\"; %s }"), body);
    limits_reset();
    struct config *cfg = load_ok(text);
    assert_int_equal(limits_attach(cfg), HY_OK);
    return cfg;
}

static void test_concurrent(void **state)
{
    (void)state;
    struct config *cfg = one("max_concurrent = 2; queue_size = 1;");
    struct limit *l = cfg->limits[0].rt;
    struct limit_hold h1 = {0}, h2 = {0}, h3 = {0};
    struct limit_waiter w3, w4;
    enum limit_kind why;
    assert_int_equal(limit_enter(l, "a", false, 0, &h1, &w3, &why), LIMIT_PASS);
    assert_int_equal(limit_enter(l, "a", false, 0, &h2, &w3, &why), LIMIT_PASS);
    assert_int_equal(limit_enter(l, "a", false, 0, &h3, &w3, &why), LIMIT_WAIT);
    assert_int_equal(why, LIMIT_CONCURRENT);
    assert_int_equal(limit_enter(l, "a", false, 0, &h3, &w4, &why), LIMIT_FULL);
    assert_int_equal(why, LIMIT_CONCURRENT);
    char msg[300];
    limit_refusal(l, LIMIT_FULL, why, msg, sizeof(msg));
    assert_string_equal(msg, "the 'max_concurrent' resource (current value: 2) of halyard limit "
                             "'l': its queue is full (queue_size 1)");
    assert_int_equal(limit_poll(l, &w3, 0.1, &h3), LIMIT_WAIT);
    limit_leave(&h1, 0.1, 0.1); /* the place goes to w3 at once */
    assert_null(h1.lim);
    assert_int_equal(limit_enter(l, "b", false, 0.1, &h1, &w4, &why), LIMIT_WAIT); /* not first */
    assert_int_equal(limit_poll(l, &w3, 0.1, &h3), LIMIT_PASS);
    assert_ptr_equal(h3.lim, l);
    limit_cancel(l, &w4, 0.1);
    struct limit_row rows[4];
    assert_int_equal(limits_rows(cfg, rows, 4), 2);
    assert_string_equal(rows[0].tenant, "a");
    assert_int_equal(rows[0].in_flight, 2);
    assert_int_equal(rows[0].passed, 3);
    assert_int_equal(rows[0].waited, 1);
    assert_int_equal(rows[0].refused, 1);
    assert_true(rows[0].wait_ms > 99.9 && rows[0].wait_ms < 100.1);     /* w3: 0 to 0.1 */
    assert_true(rows[0].server_ms > 99.9 && rows[0].server_ms < 100.1); /* h1 charged 0.1 s */
    assert_int_equal(rows[1].queued, 0);
    limit_leave(&h2, 0, 0.2);
    limit_leave(&h3, 0, 0.2);
    config_put(cfg);
}

static void test_per_second(void **state)
{
    (void)state;
    struct config *cfg = one("max_per_second = 10; burst = 3; queue_timeout_ms = 500;");
    struct limit *l = cfg->limits[0].rt;
    struct limit_hold h = {0};
    struct limit_waiter w;
    enum limit_kind why;
    for (int i = 0; i < 3; i++) { /* the burst */
        assert_int_equal(limit_enter(l, "a", false, 0, &h, &w, &why), LIMIT_PASS);
        limit_leave(&h, 0, 0);
    }
    assert_int_equal(limit_enter(l, "a", false, 0, &h, &w, &why), LIMIT_WAIT);
    assert_int_equal(why, LIMIT_PER_SECOND);
    assert_int_equal(limit_poll(l, &w, 0.05, &h), LIMIT_WAIT); /* half a token */
    assert_int_equal(limit_poll(l, &w, 0.1, &h), LIMIT_PASS);  /* one */
    limit_leave(&h, 0, 0.1);
    /* a long pause fills the bucket to the burst, not more */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(limit_enter(l, "a", false, 100, &h, &w, &why), LIMIT_PASS);
        limit_leave(&h, 0, 100);
    }
    assert_int_equal(limit_enter(l, "a", false, 100, &h, &w, &why), LIMIT_WAIT);
    assert_int_equal(limit_poll(l, &w, 100.5, &h), LIMIT_PASS); /* 5 tokens came first */
    limit_leave(&h, 0, 100.5);
    config_put(cfg);
}

static void test_server_ms(void **state)
{
    (void)state;
    struct config *cfg = one("max_server_ms_per_second = 100; queue_timeout_ms = 5000;");
    struct limit *l = cfg->limits[0].rt;
    struct limit_hold h = {0}, h2 = {0};
    struct limit_waiter w;
    enum limit_kind why;
    assert_int_equal(limit_enter(l, "a", false, 0, &h, &w, &why), LIMIT_PASS);
    limit_leave(&h, 0.3, 0.3); /* 300 ms charged: 100 + 30 refilled - 300 = -200 */
    assert_int_equal(limit_enter(l, "a", false, 0.3, &h, &w, &why), LIMIT_WAIT);
    assert_int_equal(why, LIMIT_SERVER_MS);
    assert_int_equal(limit_poll(l, &w, 2.2, &h), LIMIT_WAIT); /* -10 */
    assert_int_equal(limit_poll(l, &w, 2.35, &h), LIMIT_PASS);
    /* one in flight, expected to use 300 ms (the average): the next waits */
    assert_int_equal(limit_enter(l, "a", false, 3.0, &h2, &w, &why), LIMIT_WAIT);
    limit_leave(&h, 0.01, 3.0);
    assert_int_equal(limit_poll(l, &w, 3.0, &h2), LIMIT_PASS);
    limit_leave(&h2, 0.01, 3.0);
    config_put(cfg);
}

/* A limit that has seen no statement end does not know what one costs:
 * one at a time until the first ends, not all on the full budget (64
 * heavy statements started at once would leave it seconds in debt). */
static void test_server_ms_cost_unknown(void **state)
{
    (void)state;
    struct config *cfg = one("max_server_ms_per_second = 100; queue_timeout_ms = 5000;");
    struct limit *l = cfg->limits[0].rt;
    struct limit_hold h[6] = {{0}};
    struct limit_waiter w[6];
    enum limit_kind why;
    assert_int_equal(limit_enter(l, "a", false, 0, &h[0], &w[0], &why), LIMIT_PASS);
    assert_int_equal(limit_enter(l, "a", false, 0, &h[1], &w[1], &why), LIMIT_WAIT);
    assert_int_equal(why, LIMIT_SERVER_MS);
    limit_leave(&h[0], 0.02, 0.02); /* 20 ms: the cost is known, 80 of the budget left */
    assert_int_equal(limit_poll(l, &w[1], 0.02, &h[1]), LIMIT_PASS);
    /* 80 less 20 expected of each in flight: three more, then none */
    for (int i = 2; i < 5; i++)
        assert_int_equal(limit_enter(l, "a", false, 0.02, &h[i], &w[i], &why), LIMIT_PASS);
    assert_int_equal(limit_enter(l, "a", false, 0.02, &h[5], &w[5], &why), LIMIT_WAIT);
    limit_cancel(l, &w[5], 0.02);
    for (int i = 1; i < 5; i++)
        limit_leave(&h[i], 0, 0.03);
    config_put(cfg);
}

static void test_timeout_and_transaction(void **state)
{
    (void)state;
    struct config *cfg = one("max_concurrent = 1; queue_timeout_ms = 200;");
    struct limit *l = cfg->limits[0].rt;
    struct limit_hold h = {0}, h2 = {0}, h3 = {0};
    struct limit_waiter w;
    enum limit_kind why;
    assert_int_equal(limit_enter(l, "a", false, 0, &h, &w, &why), LIMIT_PASS);
    assert_int_equal(limit_enter(l, "a", false, 0, &h2, &w, &why), LIMIT_WAIT);
    assert_int_equal(limit_poll(l, &w, 0.19, &h2), LIMIT_WAIT);
    assert_int_equal(limit_poll(l, &w, 0.2, &h2), LIMIT_TIMEOUT);
    char msg[300];
    limit_refusal(l, LIMIT_TIMEOUT, w.why, msg, sizeof(msg));
    assert_string_equal(msg, "the 'max_concurrent' resource (current value: 1) of halyard limit "
                             "'l': waited queue_timeout_ms (200 ms)");
    /* in a transaction: passes over the limit, and is counted */
    assert_int_equal(limit_enter(l, "a", true, 0.3, &h2, &w, &why), LIMIT_PASS);
    limit_leave(&h, 0, 0.3);
    /* still one in flight (the transaction's): the next waits */
    assert_int_equal(limit_enter(l, "a", false, 0.3, &h3, &w, &why), LIMIT_WAIT);
    limit_leave(&h2, 0, 0.4);
    assert_int_equal(limit_poll(l, &w, 0.4, &h3), LIMIT_PASS);
    limit_leave(&h3, 0, 0.4);
    config_put(cfg);
}

static void test_fair_across_tenants(void **state)
{
    (void)state;
    struct config *cfg = one("max_concurrent = 1; queue_timeout_ms = 10000;");
    struct limit *l = cfg->limits[0].rt;
    struct limit_hold h = {0}, got[6] = {{0}};
    struct limit_waiter w[6];
    enum limit_kind why;
    assert_int_equal(limit_enter(l, "a", false, 0, &h, &w[0], &why), LIMIT_PASS);
    /* a queues five, then b one, then a's end frees places one by one */
    for (int i = 0; i < 5; i++)
        assert_int_equal(limit_enter(l, "a", false, 0, &got[i], &w[i], &why), LIMIT_WAIT);
    assert_int_equal(limit_enter(l, "b", false, 0, &got[5], &w[5], &why), LIMIT_WAIT);
    int order[6], n = 0;
    struct limit_hold *cur = &h;
    while (n < 6) {
        limit_leave(cur, 0, 1);
        int passed = -1;
        for (int i = 0; i < 6; i++) {
            if (got[i].lim == NULL && w[i].linked && limit_poll(l, &w[i], 1, &got[i]) == LIMIT_PASS)
                passed = i;
        }
        assert_int_not_equal(passed, -1);
        order[n++] = passed;
        cur = &got[passed];
    }
    limit_leave(cur, 0, 1);
    /* a's first, then b's: not behind all of a's */
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 5);
    assert_int_equal(order[2], 1);
    assert_int_equal(order[5], 4);
    config_put(cfg);
}

static void test_reload(void **state)
{
    (void)state;
    struct config *cfg = one("max_concurrent = 1; queue_timeout_ms = 10000;");
    struct limit *l = cfg->limits[0].rt;
    struct limit_hold h = {0}, h2 = {0}, h3 = {0};
    struct limit_waiter w2, w3;
    enum limit_kind why;
    assert_int_equal(limit_enter(l, "a", false, 0, &h, &w2, &why), LIMIT_PASS);
    assert_int_equal(limit_enter(l, "a", false, 0, &h2, &w2, &why), LIMIT_WAIT);
    assert_int_equal(limit_enter(l, "a", false, 0, &h3, &w3, &why), LIMIT_WAIT);
    /* loosened: both go at their next look, while the first still runs */
    struct config *looser = load_ok(LIMITS("{ name = \"l\"; max_concurrent = 3; }"));
    assert_int_equal(limits_attach(looser), HY_OK);
    assert_ptr_equal(looser->limits[0].rt, l); /* the same state */
    assert_int_equal(limit_poll(l, &w2, 0.1, &h2), LIMIT_PASS);
    assert_int_equal(limit_poll(l, &w3, 0.1, &h3), LIMIT_PASS);
    limit_leave(&h2, 0, 0.1);
    limit_leave(&h3, 0, 0.1);
    /* removed: its queue goes, uncounted */
    struct config *none = load_ok(LIMITS("{ name = \"other\"; max_concurrent = 1; }"));
    assert_int_equal(limits_attach(none), HY_OK);
    struct config *tight = load_ok(LIMITS("{ name = \"l\"; max_concurrent = 1; }"));
    assert_int_equal(limits_attach(tight), HY_OK); /* back, and tight: one is in flight */
    assert_int_equal(limit_enter(l, "a", false, 0.2, &h2, &w2, &why), LIMIT_WAIT);
    assert_int_equal(limits_attach(none), HY_OK);
    assert_int_equal(limit_poll(l, &w2, 0.3, &h2), LIMIT_PASS);
    assert_null(h2.lim);
    assert_int_equal(limit_enter(l, "a", false, 0.3, &h2, &w2, &why), LIMIT_PASS);
    assert_null(h2.lim);
    limit_leave(&h, 0, 0.3);
    config_put(tight);
    config_put(none);
    config_put(looser);
    config_put(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_per_second),
        cmocka_unit_test(test_server_ms),
        cmocka_unit_test(test_server_ms_cost_unknown),
        cmocka_unit_test(test_timeout_and_transaction),
        cmocka_unit_test(test_fair_across_tenants),
        cmocka_unit_test(test_reload),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    limits_reset();
    return rc;
}
