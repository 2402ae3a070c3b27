/*
 * test_cache_reload.c: what a reload keeps of the query cache
 * (cache_reload.h) and the store's re-indexing (cache_store_remap).
 *
 *   - rules unchanged: every cache rule kept under its own index
 *   - a rule removed: its entries go, another rule's stay
 *   - rules reordered or renamed: mapped by name to the new index; a
 *     rename drops them (no rule of that name)
 *   - a new rule before a kept one, or an earlier rule whose conditions
 *     changed: the entries go (it may take their statements first)
 *   - a rule's conditions changed, or its action no longer "cache": go
 *   - ttl_ms smaller: the expiry comes down; max_result_bytes smaller:
 *     the larger answers go (CACHE_DROP_RELOAD counted)
 *   - the stream: kept for the same server (by address and port, any
 *     name) and account; the address, cache.user, password, server_id
 *     or the server gone: not, with why
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/cache/cache_reload.h"
#include "halyard/cache/cache_store.h"
#include "halyard/config/config.h"

#define NR 4

struct two {
    struct config cfg;
    struct config_rule rules[NR];
    struct config_backend backends[2];
    char names[NR][32], texts[NR][32];
};

/* A config of the given rules: "name:text" cache rules ("!" first for a
 * route rule), ttl 1000 ms, 1000 bytes. */
static void make(struct two *t, const char *const *spec, size_t n)
{
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < n; i++) {
        const char *s = spec[i];
        bool route = s[0] == '!';
        s += route;
        const char *colon = strchr(s, ':');
        snprintf(t->names[i], sizeof(t->names[i]), "%.*s", (int)(colon - s), s);
        snprintf(t->texts[i], sizeof(t->texts[i]), "%s", colon + 1);
        t->rules[i].name = t->names[i];
        t->rules[i].match_text = t->texts[i];
        t->rules[i].action = route ? RULE_ACTION_ROUTE : RULE_ACTION_CACHE;
        t->rules[i].ttl_ms = 1000;
        t->rules[i].max_result_bytes = 1000;
    }
    t->cfg.rules = t->rules;
    t->cfg.n_rules = n;
    t->cfg.cache.enabled = true;
    t->cfg.cache.user = "backup";
    t->cfg.cache.password = "pw";
    t->cfg.cache.server_id = 7;
    t->backends[0] = (struct config_backend){.name = "node0", .address = "10.0.0.1", .port = 3306};
    t->backends[1] = (struct config_backend){.name = "node1", .address = "10.0.0.2", .port = 3306};
    t->cfg.backends = t->backends;
    t->cfg.n_backends = 2;
}

static void test_unchanged_and_removed(void **state)
{
    (void)state;
    static struct two a, b;
    const char *old[] = {"one:^SELECT 1", "two:^SELECT 2", "three:^SELECT 3"};
    make(&a, old, 3);
    make(&b, old, 3);
    struct cache_rule_map m[NR];
    assert_int_equal(cache_reload_rules(&a.cfg, &b.cfg, m, 3), 3);
    for (uint32_t i = 0; i < 3; i++) {
        assert_true(m[i].keep);
        assert_int_equal(m[i].to, i);
        assert_int_equal(m[i].max_bytes, 1000);
    }
    /* "two" removed: its entries go; "three" moves down to 1 */
    const char *fewer[] = {"one:^SELECT 1", "three:^SELECT 3"};
    make(&b, fewer, 2);
    assert_int_equal(cache_reload_rules(&a.cfg, &b.cfg, m, 3), 2);
    assert_true(m[0].keep && m[0].to == 0);
    assert_false(m[1].keep);
    assert_true(m[2].keep);
    assert_int_equal(m[2].to, 1);
}

static void test_reorder_rename_and_precedence(void **state)
{
    (void)state;
    static struct two a, b;
    const char *old[] = {"one:^SELECT 1", "two:^SELECT 2", "three:^SELECT 3"};
    make(&a, old, 3);
    /* renamed: gone by name */
    const char *renamed[] = {"one:^SELECT 1", "deux:^SELECT 2", "three:^SELECT 3"};
    make(&b, renamed, 3);
    struct cache_rule_map m[NR];
    cache_reload_rules(&a.cfg, &b.cfg, m, 3);
    assert_true(m[0].keep);
    assert_false(m[1].keep);
    /* "three" follows a rule that was not before it ("deux" is new) */
    assert_false(m[2].keep);
    /* moved to the front: nothing before it now, so it keeps its
     * entries; those it passes now come after it: they may lose theirs
     * only if a rule they did not follow precedes them */
    const char *moved[] = {"three:^SELECT 3", "one:^SELECT 1", "two:^SELECT 2"};
    make(&b, moved, 3);
    cache_reload_rules(&a.cfg, &b.cfg, m, 3);
    assert_true(m[2].keep);
    assert_int_equal(m[2].to, 0);
    assert_false(m[0].keep); /* "three" was after it: it may take its statements */
    assert_false(m[1].keep);
    /* a new rule in front: every rule after it loses its entries */
    const char *front[] = {"zero:^SELECT", "one:^SELECT 1", "two:^SELECT 2", "three:^SELECT 3"};
    make(&b, front, 4);
    assert_int_equal(cache_reload_rules(&a.cfg, &b.cfg, m, 3), 0);
    /* a new rule at the end: nothing changes for the others */
    const char *end[] = {"one:^SELECT 1", "two:^SELECT 2", "three:^SELECT 3", "four:^SELECT"};
    make(&b, end, 4);
    assert_int_equal(cache_reload_rules(&a.cfg, &b.cfg, m, 3), 3);
}

static void test_conditions_action_and_limits(void **state)
{
    (void)state;
    static struct two a, b;
    const char *old[] = {"one:^SELECT 1", "two:^SELECT 2"};
    make(&a, old, 2);
    /* one's text changed: its entries and those after it go */
    const char *changed[] = {"one:^SELECT 11", "two:^SELECT 2"};
    make(&b, changed, 2);
    struct cache_rule_map m[NR];
    assert_int_equal(cache_reload_rules(&a.cfg, &b.cfg, m, 2), 0);
    /* one routes now: its entries go, two's stay (one matches as before) */
    const char *routed[] = {"!one:^SELECT 1", "two:^SELECT 2"};
    make(&b, routed, 2);
    assert_int_equal(cache_reload_rules(&a.cfg, &b.cfg, m, 2), 1);
    assert_false(m[0].keep);
    assert_true(m[1].keep);
    /* the user condition differs */
    make(&b, old, 2);
    b.rules[1].who.user = "app";
    assert_int_equal(cache_reload_rules(&a.cfg, &b.cfg, m, 2), 1);
    assert_false(m[1].keep);
    /* the listener condition differs */
    make(&b, old, 2);
    b.rules[1].who.listener = "side";
    assert_int_equal(cache_reload_rules(&a.cfg, &b.cfg, m, 2), 1);
    assert_false(m[1].keep);
    /* the tables condition differs */
    static char *tabs[] = {"db.t"};
    make(&b, old, 2);
    b.rules[1].tables.v = tabs;
    b.rules[1].tables.n = 1;
    assert_int_equal(cache_reload_rules(&a.cfg, &b.cfg, m, 2), 1);
    assert_false(m[1].keep);
    /* the gate alone (max_stale_ms) is not a condition: kept */
    make(&b, old, 2);
    b.rules[1].max_stale_ms = 100;
    assert_int_equal(cache_reload_rules(&a.cfg, &b.cfg, m, 2), 2);
    /* smaller limits: carried in the map */
    make(&b, old, 2);
    b.rules[0].ttl_ms = 250;
    b.rules[0].max_result_bytes = 10;
    assert_int_equal(cache_reload_rules(&a.cfg, &b.cfg, m, 2), 2);
    assert_true(m[0].ttl_s > 0.24 && m[0].ttl_s < 0.26);
    assert_int_equal(m[0].max_bytes, 10);
    /* more old rules than the map holds: those past it are not kept */
    assert_int_equal(cache_reload_rules(&a.cfg, &b.cfg, m, 1), 1);
}

static void fill(struct cache_store *st, const char *key, size_t len, uint32_t rule, double sent)
{
    static const char big[64] = "answer";
    const char *tabs[1] = {"db.t"};
    struct cache_fill f = {
        .key = (const uint8_t *)key,
        .key_len = strlen(key),
        .data = (const uint8_t *)big,
        .data_len = len,
        .tables = tabs,
        .ntables = 1,
        .sent_at = sent,
        .expires_at = sent + 100,
        .rule = rule,
    };
    assert_int_equal(cache_store_fill(st, &f, sent), CACHE_FILL_STORED);
}

static bool get(struct cache_store *st, const char *key, double now, uint32_t *rule)
{
    struct cache_answer *a;
    uint64_t stamp;
    bool hit = cache_store_get(st, (const uint8_t *)key, strlen(key), now, &a, &stamp, rule);
    if (hit)
        cache_answer_put(a);
    return hit;
}

static void test_store_remap(void **state)
{
    (void)state;
    struct cache_store *st = cache_store_create(1 << 20, 0);
    assert_non_null(st);
    fill(st, "a", 10, 0, 10);
    fill(st, "b", 10, 1, 10);
    fill(st, "c", 50, 2, 10);
    fill(st, "d", 10, 2, 10);
    fill(st, "e", 10, 7, 10); /* an index past the map */
    struct cache_rule_map m[3] = {
        {.keep = true, .to = 1, .ttl_s = 100, .max_bytes = 100},
        {.keep = false},
        {.keep = true, .to = 0, .ttl_s = 5, .max_bytes = 20},
    };
    assert_int_equal(cache_store_remap(st, m, 3), 3); /* b, c (too big), e */
    uint32_t rule = 99;
    assert_true(get(st, "a", 11, &rule));
    assert_int_equal(rule, 1);
    assert_false(get(st, "b", 11, &rule));
    assert_false(get(st, "c", 11, &rule));
    assert_false(get(st, "e", 11, &rule));
    assert_true(get(st, "d", 14.9, &rule));
    assert_int_equal(rule, 0);
    assert_false(get(st, "d", 15.1, &rule)); /* sent at 10, ttl 5 now */
    assert_true(get(st, "a", 15.1, &rule));  /* its expiry never grows */
    struct cache_stats s;
    cache_store_stats(st, &s);
    assert_int_equal(s.dropped[CACHE_DROP_RELOAD], 3);
    assert_int_equal(s.dropped[CACHE_DROP_TTL], 0); /* a lookup drops nothing: a sweep does */
    assert_int_equal(cache_store_expire_some(st, 15.1, cache_store_buckets(st)), 1);
    cache_store_stats(st, &s);
    assert_int_equal(s.dropped[CACHE_DROP_TTL], 1);
    assert_string_equal(cache_drop_name(CACHE_DROP_RELOAD), "reload");
    cache_store_destroy(st);
}

static void test_stream(void **state)
{
    (void)state;
    static struct two a, b;
    const char *r[] = {"one:^SELECT 1"};
    make(&a, r, 1);
    make(&b, r, 1);
    char why[128] = "";
    assert_true(cache_reload_stream(&a.cfg, 0, &b.cfg, why, sizeof(why)));
    assert_true(cache_reload_stream(&a.cfg, -1, &b.cfg, why, sizeof(why)));
    b.backends[0].port = 3307;
    assert_false(cache_reload_stream(&a.cfg, 0, &b.cfg, why, sizeof(why)));
    assert_string_equal(why, "the new config has no backend at the address and port of the "
                             "server it read");
    assert_true(cache_reload_stream(&a.cfg, 1, &b.cfg, why, sizeof(why)));
    assert_true(cache_reload_stream(&a.cfg, -1, &b.cfg, why, sizeof(why)));
    make(&b, r, 1);
    b.cfg.n_backends = 1;
    assert_false(cache_reload_stream(&a.cfg, 1, &b.cfg, why, sizeof(why)));
    assert_string_equal(why, "the new config has no backend at the address and port of the "
                             "server it read");
    make(&b, r, 1);
    b.backends[1].name = "renamed"; /* the same server by another name */
    assert_true(cache_reload_stream(&a.cfg, 1, &b.cfg, why, sizeof(why)));
    make(&b, r, 1);
    b.cfg.cache.user = "other";
    assert_false(cache_reload_stream(&a.cfg, 0, &b.cfg, why, sizeof(why)));
    assert_string_equal(why, "cache.user changed");
    assert_false(cache_reload_stream(&a.cfg, -1, &b.cfg, why, sizeof(why)));
    make(&b, r, 1);
    b.cfg.cache.password = "pw2";
    assert_false(cache_reload_stream(&a.cfg, 0, &b.cfg, why, sizeof(why)));
    assert_string_equal(why, "cache.password changed");
    make(&b, r, 1);
    b.cfg.cache.server_id = 8;
    assert_false(cache_reload_stream(&a.cfg, 0, &b.cfg, why, sizeof(why)));
    assert_string_equal(why, "cache.server_id changed");
    make(&b, r, 1);
    b.cfg.cache.enabled = false;
    assert_false(cache_reload_stream(&a.cfg, 0, &b.cfg, why, sizeof(why)));
    assert_string_equal(why, "the cache is off");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unchanged_and_removed),
        cmocka_unit_test(test_reorder_rename_and_precedence),
        cmocka_unit_test(test_conditions_action_and_limits),
        cmocka_unit_test(test_store_remap),
        cmocka_unit_test(test_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
