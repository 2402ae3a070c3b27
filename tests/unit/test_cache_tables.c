/*
 * test_cache_tables.c: the primary's base tables, the query cache's
 * allowlist (cache_tables.h).
 *
 *   - a table added is known, in any case; another name, a view's name
 *     never added, a name without its schema are not
 *   - system schemas' tables are never kept
 *   - many tables (the set grows) are all kept
 *   - a name too long is refused
 *   - key columns by name (any case) and their positions; a table not in
 *     the set, two tables whose names differ only in case: none
 *   - foreign keys: a parent's children; a parent only named by one is
 *     not a base table; too many children: -1
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/cache/cache_tables.h"

static void test_known_and_unknown(void **state)
{
    (void)state;
    struct cache_tables *t = cache_tables_create();
    assert_non_null(t);
    assert_false(cache_tables_has(t, "shop.orders"));
    assert_int_equal(cache_tables_add(t, "Shop", "Orders"), HY_OK);
    assert_int_equal(cache_tables_add(t, "shop", "orders"), HY_OK); /* again: one entry */
    assert_int_equal(cache_tables_count(t), 1);
    assert_true(cache_tables_has(t, "shop.orders"));
    assert_true(cache_tables_has(t, "SHOP.ORDERS"));
    assert_false(cache_tables_has(t, "shop.orders_view"));
    assert_false(cache_tables_has(t, "orders"));
    assert_false(cache_tables_has(t, "other.orders"));
    assert_false(cache_tables_has(NULL, "shop.orders")); /* not loaded: nothing is known */
    cache_tables_destroy(t);
}

/* lower_case_table_names = 0: a view `shop.orders` beside base table
 * `shop.Orders`; a statement's name, compared without case, could mean
 * either, so neither is in the set. A view alone is not either. */
static void test_a_view_named_like_a_table_but_for_case(void **state)
{
    (void)state;
    struct cache_tables *t = cache_tables_create();
    assert_int_equal(cache_tables_add(t, "shop", "Orders"), HY_OK);
    assert_int_equal(cache_tables_add(t, "shop", "items"), HY_OK);
    assert_true(cache_tables_has(t, "shop.orders"));
    assert_int_equal(cache_tables_add_other(t, "shop", "orders"), HY_OK);
    assert_int_equal(cache_tables_add_other(t, "shop", "v"), HY_OK);
    assert_int_equal(cache_tables_add_other(t, "mysql", "v"), HY_OK);
    assert_false(cache_tables_has(t, "shop.orders"));
    assert_false(cache_tables_has(t, "shop.Orders"));
    assert_false(cache_tables_has(t, "shop.v"));
    assert_true(cache_tables_has(t, "shop.items"));
    assert_int_equal(cache_tables_count(t), 2);
    cache_tables_destroy(t);
}

static void test_system_schemas(void **state)
{
    (void)state;
    struct cache_tables *t = cache_tables_create();
    assert_int_equal(cache_tables_add(t, "mysql", "user"), HY_OK);
    assert_int_equal(cache_tables_add(t, "INFORMATION_SCHEMA", "TABLES"), HY_OK);
    assert_int_equal(cache_tables_add(t, "performance_schema", "threads"), HY_OK);
    assert_int_equal(cache_tables_add(t, "sys", "x"), HY_OK);
    assert_int_equal(cache_tables_count(t), 0);
    assert_false(cache_tables_has(t, "mysql.user"));
    cache_tables_destroy(t);
}

static void test_many(void **state)
{
    (void)state;
    struct cache_tables *t = cache_tables_create();
    char name[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "t%d", i);
        assert_int_equal(cache_tables_add(t, "s", name), HY_OK);
    }
    assert_int_equal(cache_tables_count(t), 5000);
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "s.t%d", i);
        assert_true(cache_tables_has(t, name));
    }
    assert_false(cache_tables_has(t, "s.t5000"));
    cache_tables_destroy(t);
}

static void test_too_long(void **state)
{
    (void)state;
    struct cache_tables *t = cache_tables_create();
    char big[80];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(cache_tables_add(t, big, big), HY_ERROR);
    assert_int_equal(cache_tables_add(t, "", "t"), HY_ERROR);
    assert_int_equal(cache_tables_count(t), 0);
    cache_tables_destroy(t);
}

static void test_keys(void **state)
{
    (void)state;
    struct cache_tables *t = cache_tables_create();
    unsigned pos[CACHE_KEY_COLS];
    assert_int_equal(cache_tables_add(t, "shop", "orders"), HY_OK);
    assert_int_equal(cache_tables_add_key(t, "shop", "orders", "id", 0), HY_OK);
    assert_int_equal(cache_tables_add_key(t, "shop", "orders", "Code", 3), HY_OK);
    assert_int_equal(cache_tables_add_key(t, "shop", "gone", "id", 0), HY_OK); /* ignored */
    assert_int_equal(cache_tables_key_pos(t, "shop.orders", "ID"), 0);
    assert_int_equal(cache_tables_key_pos(t, "shop.orders", "code"), 3);
    assert_int_equal(cache_tables_key_pos(t, "shop.orders", "v"), -1);
    assert_int_equal(cache_tables_key_pos(t, "shop.gone", "id"), -1);
    assert_int_equal(cache_tables_keys(t, "SHOP", "Orders", pos, CACHE_KEY_COLS), 2);
    assert_int_equal(pos[1], 3);
    /* `T` and `t`: a row event's name cannot tell them apart */
    assert_int_equal(cache_tables_add(t, "shop", "t"), HY_OK);
    assert_int_equal(cache_tables_add(t, "shop", "T"), HY_OK);
    assert_int_equal(cache_tables_add_key(t, "shop", "t", "id", 0), HY_OK);
    assert_int_equal(cache_tables_key_pos(t, "shop.t", "id"), -1);
    assert_int_equal(cache_tables_keys(t, "shop", "t", pos, CACHE_KEY_COLS), 0);
    cache_tables_destroy(t);
}

static void test_foreign_keys(void **state)
{
    (void)state;
    struct cache_tables *t = cache_tables_create();
    const char *kids[CACHE_FK_CHILDREN];
    assert_int_equal(cache_tables_add(t, "shop", "lines"), HY_OK);
    assert_int_equal(cache_tables_add_fk(t, "shop", "lines", "Shop", "Orders"), HY_OK);
    assert_int_equal(cache_tables_add_fk(t, "shop", "lines", "shop", "orders"), HY_OK); /* once */
    assert_false(cache_tables_has(t, "shop.orders")); /* only named by the key */
    assert_int_equal(cache_tables_count(t), 1);
    assert_int_equal(cache_tables_children(t, "shop", "orders", kids), 1);
    assert_string_equal(kids[0], "shop.lines");
    assert_int_equal(cache_tables_children(t, "shop", "lines", kids), 0);
    char name[32];
    for (int i = 0; i < CACHE_FK_CHILDREN + 1; i++) {
        snprintf(name, sizeof(name), "c%d", i);
        assert_int_equal(cache_tables_add_fk(t, "s", name, "s", "p"), HY_OK);
    }
    assert_int_equal(cache_tables_children(t, "s", "p", kids), -1);
    cache_tables_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_and_unknown),
        cmocka_unit_test(test_a_view_named_like_a_table_but_for_case),
        cmocka_unit_test(test_system_schemas),
        cmocka_unit_test(test_many),
        cmocka_unit_test(test_too_long),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_foreign_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
