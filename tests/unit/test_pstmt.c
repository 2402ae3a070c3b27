/*
 * test_pstmt.c: a session's prepared-statement map.
 *
 *   - ids in order, never 0 nor MYSQL_STMT_ID_LAST (the wrap skips both)
 *   - insert, find (MYSQL_STMT_ID_LAST = the last prepared), growth of the
 *     table past its first 16 buckets with every statement still found
 *   - remove (the last prepared forgotten with it), clear
 *   - a backend's connection gone: its ids, cursor and long data
 *   - a one-off statement (FOUND_ROWS()/ROW_COUNT() values): the id a FETCH
 *     or RESET uses where it is, forgotten with its connection (even where
 *     the statement itself was not prepared)
 *   - parameter types: kept, generation bumped only when they differ
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/protocol/mysql_proto.h"
#include "halyard/sql/pstmt.h"

static struct pstmt *add(struct pstmt_map *m, uint32_t n_backends)
{
    struct pstmt *st = pstmt_new(n_backends);
    assert_non_null(st);
    st->id = pstmt_id_next(m);
    assert_int_equal(pstmt_insert(m, st), HY_OK);
    return st;
}

static void test_ids(void **state)
{
    (void)state;
    struct pstmt_map m = {0};
    assert_int_equal(pstmt_id_next(&m), 1);
    assert_int_equal(pstmt_id_next(&m), 2);
    m.next_id = MYSQL_STMT_ID_LAST - 2;
    assert_int_equal(pstmt_id_next(&m), MYSQL_STMT_ID_LAST - 1);
    assert_int_equal(pstmt_id_next(&m), 1); /* neither LAST nor 0 */
}

static void test_map(void **state)
{
    (void)state;
    struct pstmt_map m = {0};
    struct pstmt *st[100];
    assert_null(pstmt_find(&m, 1));
    assert_null(pstmt_find(&m, MYSQL_STMT_ID_LAST));
    for (int i = 0; i < 100; i++) {
        st[i] = add(&m, 3);
        assert_int_equal(st[i]->id, (uint32_t)i + 1);
        assert_int_equal(st[i]->cursor_idx, -1);
        assert_int_equal(st[i]->ld_idx, -1);
        assert_ptr_equal(pstmt_find(&m, MYSQL_STMT_ID_LAST), st[i]);
    }
    assert_int_equal(m.count, 100);
    assert_true(m.cap >= 100 && (m.cap & (m.cap - 1)) == 0);
    for (int i = 0; i < 100; i++)
        assert_ptr_equal(pstmt_find(&m, (uint32_t)i + 1), st[i]);
    assert_null(pstmt_find(&m, 0));
    assert_null(pstmt_find(&m, 101));
    pstmt_remove(&m, st[99]); /* the last prepared */
    assert_int_equal(m.count, 99);
    assert_null(pstmt_find(&m, 100));
    assert_null(pstmt_find(&m, MYSQL_STMT_ID_LAST));
    pstmt_remove(&m, st[10]);
    assert_null(pstmt_find(&m, 11));
    assert_ptr_equal(pstmt_find(&m, 12), st[11]);
    assert_int_equal(m.count, 98);
    pstmt_clear(&m);
    assert_int_equal(m.count, 0);
    assert_null(m.tab);
    assert_null(pstmt_find(&m, 12));
    assert_int_equal(pstmt_id_next(&m), 101); /* ids go on */
    pstmt_clear(&m);
}

static void test_backend_gone(void **state)
{
    (void)state;
    struct pstmt_map m = {0};
    struct pstmt *a = add(&m, 3), *b = add(&m, 3);
    a->be[1] = (struct ps_backend){.id = 7, .types_gen = 2};
    a->be[2].id = 9;
    a->cursor_idx = 1;
    a->ld_idx = 1;
    b->be[2].id = 4;
    b->ld_idx = 2;
    pstmt_backend_gone(&m, 1);
    assert_int_equal(a->be[1].id, 0);
    assert_int_equal(a->be[1].types_gen, 0);
    assert_int_equal(a->be[2].id, 9);
    assert_int_equal(a->cursor_idx, -1);
    assert_int_equal(a->ld_idx, -1);
    assert_true(a->ld_lost);
    assert_int_equal(b->be[2].id, 4);
    assert_int_equal(b->ld_idx, 2);
    assert_false(b->ld_lost);
    pstmt_clear(&m);
}

static void test_once(void **state)
{
    (void)state;
    struct pstmt_map m = {0};
    struct pstmt *a = add(&m, 3);
    assert_int_equal(a->once_idx, -1);
    a->be[0].id = 5;
    a->once_id = 11;
    a->once_idx = 2;
    a->cursor_idx = 2;
    assert_int_equal(pstmt_exec_id(a, 0), 5);
    assert_int_equal(pstmt_exec_id(a, 1), 0);
    assert_int_equal(pstmt_exec_id(a, 2), 11);
    pstmt_backend_gone(&m, 0);
    assert_int_equal(a->once_idx, 2);
    assert_int_equal(a->cursor_idx, 2);
    pstmt_backend_gone(&m, 2);
    assert_int_equal(a->once_idx, -1);
    assert_int_equal(a->once_id, 0);
    assert_int_equal(a->cursor_idx, -1);
    assert_int_equal(pstmt_exec_id(a, 2), 0);
    pstmt_clear(&m);
}

static void test_types(void **state)
{
    (void)state;
    struct pstmt *st = pstmt_new(1);
    assert_non_null(st);
    st->n_params = 2;
    const uint8_t t1[4] = {3, 0, 253, 0}, t2[4] = {8, 0, 253, 0};
    assert_int_equal(pstmt_types_remember(st, t1), HY_OK);
    assert_int_equal(st->types_gen, 1);
    assert_memory_equal(st->types, t1, 4);
    assert_int_equal(pstmt_types_remember(st, t1), HY_OK);
    assert_int_equal(st->types_gen, 1); /* the same: no new generation */
    assert_int_equal(pstmt_types_remember(st, t2), HY_OK);
    assert_int_equal(st->types_gen, 2);
    assert_memory_equal(st->types, t2, 4);
    st->types_gen = UINT32_MAX;
    assert_int_equal(pstmt_types_remember(st, t1), HY_OK);
    assert_int_equal(st->types_gen, 1); /* 0 means none: skipped */
    pstmt_free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids),          cmocka_unit_test(test_map),
        cmocka_unit_test(test_backend_gone), cmocka_unit_test(test_once),
        cmocka_unit_test(test_types),
    };
    return cmocka_run_group_tests_name("pstmt", tests, NULL, NULL);
}
