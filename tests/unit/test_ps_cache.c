/*
 * test_ps_cache.c: the statements a pooled connection keeps prepared.
 *
 *   - found by text and schema together (same text in another schema, or
 *     none, is another statement); found entries count as used
 *   - and by the sql_mode and character set it was prepared under (env):
 *     the same text and schema under another env is another statement
 *   - a statement whose text and schema are cached under another id: the
 *     cached id is the one to use
 *   - trimmed at a give-back: past `max` the least recently used of earlier
 *     sessions go, reported for the caller to close (in batches), and the
 *     giving session's own never do
 *   - forget and clear
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/pool/ps_cache.h"

/* One give-back: `ids` kept (texts "SELECT <id>" in db), then trimmed to
 * `max`; the ids closed go to `out`. */
static uint32_t give_back(struct ps_cache *c, const uint32_t *ids, size_t n, uint32_t max,
                          uint32_t *out)
{
    ps_cache_mark(c);
    for (size_t i = 0; i < n; i++) {
        char sql[32];
        snprintf(sql, sizeof(sql), "SELECT %u", ids[i]);
        uint32_t use = 0;
        assert_int_equal(ps_cache_keep(c, sql, (uint32_t)strlen(sql), "db", NULL, ids[i], &use),
                         HY_OK);
        assert_int_equal(use, ids[i]);
    }
    return ps_cache_trim(c, max, out, 16);
}

static void add(struct ps_cache *c, const char *sql, const char *db, uint32_t id)
{
    uint32_t use = 0;
    assert_int_equal(ps_cache_keep(c, sql, (uint32_t)strlen(sql), db, NULL, id, &use), HY_OK);
    assert_int_equal(use, id);
}

static uint32_t find(struct ps_cache *c, const char *sql, const char *db)
{
    return ps_cache_find(c, sql, (uint32_t)strlen(sql), db, NULL);
}

static void test_env(void **state)
{
    (void)state;
    struct ps_cache c = {0};
    const char *sql = "SELECT \"v\" FROM t", *ansi = "sql_mode='ANSI_QUOTES';";
    uint32_t use = 0;
    ps_cache_mark(&c);
    assert_int_equal(ps_cache_keep(&c, sql, (uint32_t)strlen(sql), "db", ansi, 3, &use), HY_OK);
    assert_int_equal(use, 3);
    assert_int_equal(ps_cache_find(&c, sql, (uint32_t)strlen(sql), "db", NULL), 0);
    assert_int_equal(ps_cache_find(&c, sql, (uint32_t)strlen(sql), "db", "sql_mode='';"), 0);
    assert_int_equal(ps_cache_find(&c, sql, (uint32_t)strlen(sql), "db", ansi), 3);
    /* the text under the login's env is another statement, kept beside */
    assert_int_equal(ps_cache_keep(&c, sql, (uint32_t)strlen(sql), "db", NULL, 4, &use), HY_OK);
    assert_int_equal(use, 4);
    assert_int_equal(ps_cache_find(&c, sql, (uint32_t)strlen(sql), "db", NULL), 4);
    assert_int_equal(ps_cache_find(&c, sql, (uint32_t)strlen(sql), "db", ansi), 3);
    ps_cache_forget(&c, 3);
    assert_int_equal(ps_cache_find(&c, sql, (uint32_t)strlen(sql), "db", ansi), 0);
    ps_cache_clear(&c);
}

static void test_text_and_schema(void **state)
{
    (void)state;
    struct ps_cache c = {0};
    assert_int_equal(find(&c, "SELECT 1", NULL), 0);
    ps_cache_mark(&c);
    add(&c, "SELECT v FROM t WHERE id = ?", "app", 7);
    add(&c, "SELECT v FROM t WHERE id = ?", "other", 8);
    add(&c, "SELECT v FROM t WHERE id = ?", NULL, 9);
    assert_int_equal(find(&c, "SELECT v FROM t WHERE id = ?", "app"), 7);
    assert_int_equal(find(&c, "SELECT v FROM t WHERE id = ?", "other"), 8);
    assert_int_equal(find(&c, "SELECT v FROM t WHERE id = ?", NULL), 9);
    assert_int_equal(find(&c, "SELECT v FROM t WHERE id = ? ", "app"), 0);
    assert_int_equal(find(&c, "SELECT v FROM t WHERE id = ?", "ap"), 0);
    /* a schema whose name runs into the text is not the same key */
    add(&c, "SELECT 1", "ab", 10);
    assert_int_equal(find(&c, "SELECT 1a", "b"), 0);
    assert_true(ps_cache_has(&c, 8));
    assert_false(ps_cache_has(&c, 11));
    /* the same text and schema under another id: the cached one is used */
    uint32_t use = 0;
    assert_int_equal(ps_cache_keep(&c, "SELECT 1", 8, "ab", NULL, 12, &use), HY_OK);
    assert_int_equal(use, 10);
    assert_false(ps_cache_has(&c, 12));
    assert_int_equal(c.n, 4);
    ps_cache_clear(&c);
    assert_int_equal(c.n, 0);
    assert_null(c.v);
}

static void test_trim_spares_the_giver(void **state)
{
    (void)state;
    struct ps_cache c = {0};
    uint32_t out[16];
    /* one session with more statements than the bound keeps them all */
    const uint32_t mine[] = {1, 2, 3, 4, 5};
    assert_int_equal(give_back(&c, mine, 5, 3, out), 0);
    assert_int_equal(c.n, 5);
    /* the next session's give-back: the earlier ones go, least recently
     * used first (3 was found again, so 1, 2, 4 go), its own stay */
    assert_int_equal(find(&c, "SELECT 3", "db"), 3);
    const uint32_t theirs[] = {6};
    assert_int_equal(give_back(&c, theirs, 1, 3, out), 3);
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 2);
    assert_int_equal(out[2], 4);
    assert_int_equal(c.n, 3);
    assert_true(ps_cache_has(&c, 3) && ps_cache_has(&c, 5) && ps_cache_has(&c, 6));
    /* within the bound nothing goes */
    const uint32_t again[] = {3};
    assert_int_equal(give_back(&c, again, 1, 3, out), 0);
    ps_cache_clear(&c);
}

static void test_trim_in_batches(void **state)
{
    (void)state;
    struct ps_cache c = {0};
    uint32_t ids[40], out[16];
    for (uint32_t i = 0; i < 40; i++)
        ids[i] = i + 1;
    assert_int_equal(give_back(&c, ids, 40, 2, out), 0);
    ps_cache_mark(&c); /* nobody's: all but 2 go, 16 at a time */
    assert_int_equal(ps_cache_trim(&c, 2, out, 16), 16);
    assert_int_equal(ps_cache_trim(&c, 2, out, 16), 16);
    assert_int_equal(ps_cache_trim(&c, 2, out, 16), 6);
    assert_int_equal(ps_cache_trim(&c, 2, out, 16), 0);
    assert_int_equal(c.n, 2);
    ps_cache_clear(&c);
}

static void test_forget(void **state)
{
    (void)state;
    struct ps_cache c = {0};
    ps_cache_mark(&c);
    add(&c, "SELECT 1", NULL, 1);
    add(&c, "SELECT 2", NULL, 2);
    add(&c, "SELECT 3", NULL, 3);
    ps_cache_forget(&c, 2);
    ps_cache_forget(&c, 42); /* not there: nothing happens */
    assert_int_equal(c.n, 2);
    assert_int_equal(find(&c, "SELECT 2", NULL), 0);
    assert_int_equal(find(&c, "SELECT 1", NULL), 1);
    assert_int_equal(find(&c, "SELECT 3", NULL), 3);
    ps_cache_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_and_schema),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_trim_spares_the_giver),
        cmocka_unit_test(test_trim_in_batches),
        cmocka_unit_test(test_forget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
