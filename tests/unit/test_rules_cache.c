/*
 * test_rules_cache.c: the cache rules' conditions and gate, table-driven.
 *
 *   - config: rules.[].listener, tables, read_your_writes and max_stale_ms,
 *     every error with its exact "FILE:LINE: KEY: why" message, and what
 *     valid ones load into (tables in lower case, the gate)
 *   - rules_tables_cover: NAME, SCHEMA.NAME, SCHEMA.*, every table needed
 *   - rules_match: the listener condition; the tables condition read from
 *     the statement (JOIN, default schema, not one SELECT, a cut text, a
 *     PREPARE), and a rule whose tables do not match falling through
 *   - cache_gate: behind, held by the session's or any write, a rule's
 *     read_your_writes over the default, max_stale_ms's bound
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config_cases.h"

#include "halyard/cache/cache.h"
#include "halyard/config/config.h"
#include "halyard/config/rules.h"
#include "halyard/sql/cache_sql.h"

/* Three lines: listeners main and side, user app, backend db1. */
#define BASE                                                                                       \
    "listeners = ( { name = \"main\"; address = \"127.0.0.1\"; port = 6033; }, { name = "          \
    "\"side\"; address = \"127.0.0.1\"; port = 6034; } ); workers = 1;\n"                          \
    "users = ( { name = \"app\"; password_hash = \"\"; } );\n"                                     \
    "backends = ( { name = \"db1\"; address = \"h\"; port = 1; role = \"primary\"; } ); "          \
    "cache = { user = \"c\"; password = \"p\"; };\n"
/* Rules on line 4. */
#define RULES(body) BASE "rules = ( " body " );\n"

static const struct bad_case bad_cases[] = {
    {RULES("{ name = \"a\"; listener = \"nope\"; route = \"primary\"; }"),
     "t.conf:4: rules.[0].listener: no listener \"nope\" in listeners"},
    {RULES("{ name = \"a\"; tables = [\"t\"]; route = \"primary\"; }"),
     "t.conf:4: rules.[0].tables: only used with action = \"cache\""},
    {RULES("{ name = \"a\"; tables = [\"t\"]; action = \"block\"; }"),
     "t.conf:4: rules.[0].tables: only used with action = \"cache\""},
    {RULES("{ name = \"a\"; user = \"app\"; max_stale_ms = 10; route = \"primary\"; }"),
     "t.conf:4: rules.[0].max_stale_ms: only used with action = \"cache\""},
    {RULES("{ name = \"a\"; user = \"app\"; read_your_writes = \"session\"; route = "
           "\"primary\"; }"),
     "t.conf:4: rules.[0].read_your_writes: only used with action = \"cache\""},
    {RULES("{ name = \"a\"; tables = [\"s.t.u\"]; action = \"cache\"; }"),
     "t.conf:4: rules.[0].tables: \"s.t.u\" is not NAME, SCHEMA.NAME or SCHEMA.*"},
    {RULES("{ name = \"a\"; tables = [\"ok\", \".t\"]; action = \"cache\"; }"),
     "t.conf:4: rules.[0].tables: \".t\" is not NAME, SCHEMA.NAME or SCHEMA.*"},
    {RULES("{ name = \"a\"; tables = [\"s.\"]; action = \"cache\"; }"),
     "t.conf:4: rules.[0].tables: \"s.\" is not NAME, SCHEMA.NAME or SCHEMA.*"},
    {RULES("{ name = \"a\"; tables = [\"*\"]; action = \"cache\"; }"),
     "t.conf:4: rules.[0].tables: \"*\" is not NAME, SCHEMA.NAME or SCHEMA.*"},
    {RULES("{ name = \"a\"; tables = [\"*.t\"]; action = \"cache\"; }"),
     "t.conf:4: rules.[0].tables: \"*.t\" is not NAME, SCHEMA.NAME or SCHEMA.*"},
    {RULES("{ name = \"a\"; tables = [\"s.t*\"]; action = \"cache\"; }"),
     "t.conf:4: rules.[0].tables: \"s.t*\" is not NAME, SCHEMA.NAME or SCHEMA.*"},
    {RULES("{ name = \"a\"; tables = [\"\"]; action = \"cache\"; }"),
     "t.conf:4: rules.[0].tables: element 0: length 0 is out of range 1..4096"},
    {RULES("{ name = \"a\"; user = \"app\"; action = \"cache\"; read_your_writes = \"all\"; }"),
     "t.conf:4: rules.[0].read_your_writes: \"all\" is not one of |global|session"},
    {RULES("{ name = \"a\"; user = \"app\"; action = \"cache\"; max_stale_ms = -1; }"),
     "t.conf:4: rules.[0].max_stale_ms: -1 is out of range 0..600000"},
    {RULES("{ name = \"a\"; user = \"app\"; action = \"cache\"; max_stale_ms = 100;\n"
           "read_your_writes = \"session\"; }"),
     "t.conf:5: rules.[0].read_your_writes: not used with max_stale_ms > 0 (its hits wait for "
     "no write)"},
};

static void test_config_errors(void **state)
{
    (void)state;
    check_bad_cases(bad_cases, HY_ARRAY_SIZE(bad_cases));
}

static void test_config_values(void **state)
{
    (void)state;
    struct config *cfg = load_ok(RULES(
        "{ name = \"a\"; tables = [\"Orders\", \"Shop.Customers\", \"REP.*\"]; action = \"cache\";"
        " read_your_writes = \"session\"; listener = \"side\"; },"
        "{ name = \"b\"; listener = \"main\"; action = \"cache\"; read_your_writes = \"global\"; "
        "},"
        "{ name = \"c\"; user = \"app\"; action = \"cache\"; max_stale_ms = 250; },"
        "{ name = \"d\"; listener = \"side\"; route = \"primary\"; }"));
    const struct config_rule *r = cfg->rules;
    assert_int_equal(r[0].tables.n, 3);
    assert_string_equal(r[0].tables.v[0], "orders");
    assert_string_equal(r[0].tables.v[1], "shop.customers");
    assert_string_equal(r[0].tables.v[2], "rep.*");
    assert_string_equal(r[0].who.listener, "side");
    assert_int_equal(r[0].read_your_writes, RULE_RYW_SESSION);
    assert_int_equal(r[0].max_stale_ms, 0);
    assert_int_equal(r[1].read_your_writes, RULE_RYW_GLOBAL);
    assert_int_equal(r[2].read_your_writes, RULE_RYW_DEFAULT);
    assert_int_equal(r[2].max_stale_ms, 250);
    assert_null(r[2].who.listener);
    assert_int_equal(r[3].action, RULE_ACTION_ROUTE);
    assert_string_equal(r[3].who.listener, "side");
    config_put(cfg);
}

static struct cache_sql sql_of(const char *text, const char *schema)
{
    struct cache_sql q;
    memset(&q, 0, sizeof(q));
    assert_int_equal(cache_sql_tables(text, strlen(text), 0, schema, &q), CACHE_SQL_OK);
    return q;
}

static void test_tables_cover(void **state)
{
    (void)state;
    char *v[] = {"orders", "shop.customers", "rep.*"};
    struct config_strings list = {.v = v, .n = 3};
    static const struct {
        const char *sql, *schema;
        bool want;
    } cases[] = {
        {"SELECT * FROM orders", "any", true},        /* NAME in any schema */
        {"SELECT * FROM x.orders", "shop", true},     /* qualified */
        {"SELECT * FROM customers", "shop", true},    /* SCHEMA.NAME, default schema */
        {"SELECT * FROM customers", "other", false},  /* another schema's */
        {"SELECT * FROM rep.daily", NULL, true},      /* SCHEMA.* */
        {"SELECT * FROM reports.daily", NULL, false}, /* not a prefix match */
        {"SELECT * FROM re.daily", NULL, false},      /* nor a shorter one */
        {"SELECT * FROM ORDERS", "s", true},          /* case-insensitive */
        {"SELECT * FROM orders JOIN rep.x ON 1", "s", true},
        {"SELECT * FROM orders JOIN shop.items ON 1", "s", false}, /* every table */
        {"SELECT * FROM orders_old", "s", false},
    };
    for (size_t i = 0; i < HY_ARRAY_SIZE(cases); i++) {
        struct cache_sql q = sql_of(cases[i].sql, cases[i].schema);
        if (rules_tables_cover(&list, &q) != cases[i].want)
            fail_msg("case %zu (%s): want %d", i, cases[i].sql, cases[i].want);
    }
    struct cache_sql none;
    memset(&none, 0, sizeof(none));
    assert_false(rules_tables_cover(&list, &none)); /* no table: nothing to cover */
}

static const char *match(struct rules_ctx *ctx, const struct config *cfg, const char *text,
                         const char *schema, const char *listener, bool cut, bool later)
{
    struct rules_input in = {
        .text = text,
        .text_len = strlen(text),
        .user = "app",
        .schema = schema,
        .listener = listener,
        .text_cut = cut,
        .tables_later = later,
    };
    const struct config_rule *r = rules_match(ctx, cfg, &in);
    return r != NULL ? r->name : "(none)";
}

static void test_match(void **state)
{
    (void)state;
    struct config *cfg = load_ok(
        RULES("{ name = \"side-all\"; listener = \"side\"; match_text = \"^SELECT 1$\"; action = "
              "\"cache\"; },"
              "{ name = \"orders\"; tables = [\"orders\"]; action = \"cache\"; ttl_ms = 1000; },"
              "{ name = \"shop\"; tables = [\"shop.*\"]; action = \"cache\"; ttl_ms = 5000; },"
              "{ name = \"main-route\"; listener = \"main\"; route = \"primary\"; }"));
    struct rules_ctx ctx;
    assert_int_equal(rules_ctx_init(&ctx, 0), HY_OK);
    /* listener */
    assert_string_equal(match(&ctx, cfg, "SELECT 1", NULL, "side", false, false), "side-all");
    assert_string_equal(match(&ctx, cfg, "SELECT 1", NULL, "main", false, false), "main-route");
    assert_string_equal(match(&ctx, cfg, "SELECT 1", NULL, NULL, false, false), "(none)");
    /* tables: the first rule whose list covers them; the others fall through */
    assert_string_equal(
        match(&ctx, cfg, "SELECT v FROM orders WHERE id = 1", "shop", "main", false, false),
        "orders");
    assert_string_equal(match(&ctx, cfg, "SELECT v FROM items", "shop", "main", false, false),
                        "shop");
    assert_string_equal(
        match(&ctx, cfg, "SELECT * FROM orders JOIN items ON 1", "shop", "side", false, false),
        "shop");
    assert_string_equal(
        match(&ctx, cfg, "SELECT * FROM orders JOIN items ON 1", "other", "main", false, false),
        "main-route");
    /* not one cacheable SELECT: no tables rule matches */
    assert_string_equal(
        match(&ctx, cfg, "SELECT v FROM orders WHERE id = @x", "shop", "side", false, false),
        "(none)");
    assert_string_equal(match(&ctx, cfg, "UPDATE orders SET v = 1", "shop", "main", false, false),
                        "main-route");
    assert_string_equal(match(&ctx, cfg, "SELECT v FROM items", NULL, "side", false, false),
                        "(none)"); /* no default schema */
    /* a cut text matches no tables rule; a PREPARE's is left to its executions */
    assert_string_equal(match(&ctx, cfg, "SELECT v FROM orders", "s", "side", true, false),
                        "(none)");
    assert_string_equal(match(&ctx, cfg, "SELECT v FROM t WHERE id = ?", "s", "side", false, true),
                        "orders");
    assert_int_equal(rules_hits(cfg, 1), 2);
    assert_int_equal(rules_hits(cfg, 2), 2);
    rules_ctx_destroy(&ctx);
    config_put(cfg);
}

static void test_gate(void **state)
{
    (void)state;
    const struct cache_gate sess = {.ryw = CACHE_RYW_SESSION};
    const struct cache_gate glob = {.ryw = CACHE_RYW_GLOBAL};
    const struct cache_gate stale = {.max_stale_ms = 200};
    const struct cache_gate stale_big = {.max_stale_ms = 5000};
    static const struct {
        double now, synced, wrote, all;
        bool global_default;
        int gate; /* 0 none, 1 sess, 2 glob, 3 stale, 4 stale_big */
        enum cache_gate_rc want;
    } cases[] = {
        /* the reader: none applied, or older than max_lag (1 s) */
        {10.0, 0, 0, 0, true, 0, CACHE_GATE_BEHIND},
        {10.0, 8.9, 0, 0, true, 0, CACHE_GATE_BEHIND},
        {10.0, 9.5, 0, 0, true, 0, CACHE_GATE_SERVE},
        /* the session's own write holds it, whatever the mode */
        {10.0, 9.5, 9.6, 0, false, 0, CACHE_GATE_HELD},
        {10.0, 9.5, 9.6, 0, false, 1, CACHE_GATE_HELD},
        {10.0, 9.7, 9.6, 9.6, false, 1, CACHE_GATE_SERVE},
        /* another session's write: with global only */
        {10.0, 9.5, 0, 9.6, true, 0, CACHE_GATE_HELD},
        {10.0, 9.5, 0, 9.6, false, 0, CACHE_GATE_SERVE},
        {10.0, 9.5, 0, 9.6, true, 1, CACHE_GATE_SERVE},  /* session rule, global default */
        {10.0, 9.5, 0, 9.6, false, 2, CACHE_GATE_HELD},  /* global rule, session default */
        {10.0, 9.7, 0, 9.6, false, 2, CACHE_GATE_SERVE}, /* applied after it */
        /* bounded staleness: no write holds it; the bound does */
        {10.0, 9.9, 9.95, 9.95, true, 3, CACHE_GATE_SERVE},
        {10.0, 9.7, 9.95, 9.95, true, 3, CACHE_GATE_BEHIND},
        {10.0, 9.1, 0, 0, true, 4, CACHE_GATE_SERVE}, /* max_lag still holds */
        {10.0, 8.5, 0, 0, true, 4, CACHE_GATE_BEHIND},
    };
    const struct cache_gate *gates[] = {NULL, &sess, &glob, &stale, &stale_big};
    for (size_t i = 0; i < HY_ARRAY_SIZE(cases); i++) {
        enum cache_gate_rc got =
            cache_gate(cases[i].now, cases[i].synced, 1.0, cases[i].wrote, cases[i].all,
                       cases[i].global_default, gates[cases[i].gate]);
        if (got != cases[i].want)
            fail_msg("case %zu: got %d, want %d", i, got, cases[i].want);
    }
}

/* Only a session whose primary is the backend the reader follows is
 * served or filled (issue 42 items 4 and 11): another group's, another
 * Galera writer, a new primary the reader has not followed yet. */
static void test_follows(void **state)
{
    (void)state;
    assert_true(cache_follows("node0", "node0"));
    assert_false(cache_follows("node0", "node1")); /* moved before the reader, or another group */
    assert_false(cache_follows("node0", "node00"));
    assert_false(cache_follows("", "node0")); /* the reader follows none (between primaries) */
    assert_false(cache_follows("", ""));
    assert_false(cache_follows("node0", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_errors), cmocka_unit_test(test_config_values),
        cmocka_unit_test(test_tables_cover),  cmocka_unit_test(test_match),
        cmocka_unit_test(test_gate),          cmocka_unit_test(test_follows),
    };
    return cmocka_run_group_tests_name("rules_cache", tests, NULL, NULL);
}
