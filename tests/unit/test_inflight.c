/*
 * test_inflight.c: the marks of in-flight writes and the binary log's side
 * of finding them (inflight.h).
 *
 *   - a mark names the process, the session and the transaction, ends with
 *     its own comment close and a space; it is found in an event's Info
 *     wherever it sits, and the mark of transaction 1 is not found in the
 *     text of transaction 12
 *   - a file's Gtid_list began before a position when no GTID of it is past
 *     that position in its domain; "[]" always did; a list naming a domain
 *     the position lacks, a malformed one or none did not
 *   - INSERT_ID=n from an Intvar event's Info
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/replay/inflight.h"

static void test_mark(void **state)
{
    (void)state;
    char m[INFLIGHT_MARK_MAX];
    size_t n = inflight_mark(m, 0x1a2b3c4d, 7, 3);
    assert_string_equal(m, "/*hy:1a2b3c4d-7-3*/ ");
    assert_int_equal(n, strlen(m));
    n = inflight_mark(m, 0xffffffffu, UINT32_MAX, UINT64_MAX);
    assert_true(n < INFLIGHT_MARK_MAX);
    assert_int_equal(m[n - 1], ' ');

    char one[INFLIGHT_MARK_MAX], twelve[INFLIGHT_MARK_MAX];
    size_t l1 = inflight_mark(one, 5, 9, 1) - 1;
    inflight_mark(twelve, 5, 9, 12);
    char info[200];
    snprintf(info, sizeof(info), "%sINSERT INTO t VALUES (1)", one);
    assert_true(inflight_info_has(info, one, l1));
    snprintf(info, sizeof(info), "use `db`; %sUPDATE t SET v = 1", one);
    assert_true(inflight_info_has(info, one, l1));
    snprintf(info, sizeof(info), "%sINSERT INTO t VALUES (1)", twelve);
    assert_false(inflight_info_has(info, one, l1));
    assert_false(inflight_info_has("INSERT INTO t VALUES (1)", one, l1));
    assert_false(inflight_info_has(NULL, one, l1));
    assert_false(inflight_info_has("/*hy:", one, l1));
}

static void test_file_began_before(void **state)
{
    (void)state;
    struct gtid_pos before;
    assert_int_equal(gtid_pos_parse("0-1-100,1-2-5", 13, &before), HY_OK);
    static const struct {
        const char *info;
        bool began;
    } cases[] = {
        {"[]", true},
        {"[0-1-100]", true},
        {"[0-1-99]", true},
        {"[0-1-101]", false},
        {"[0-1-50,0-2-100]", true}, /* two servers of one domain */
        {"[0-1-50,0-2-101]", false},
        {"[0-1-100,1-2-5]", true},
        {"[0-1-100,1-2-6]", false},
        {"[2-1-1]", false}, /* a domain the position lacks */
        {"[0-1-x]", false},
        {"0-1-5", false},
        {"", false},
        {NULL, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool got = inflight_file_began_before(cases[i].info, &before);
        if (got != cases[i].began)
            fail_msg("%s: %d, expected %d", cases[i].info ? cases[i].info : "NULL", got,
                     cases[i].began);
    }
}

static void test_insert_id(void **state)
{
    (void)state;
    assert_int_equal(inflight_insert_id("INSERT_ID=42"), 42);
    assert_int_equal(inflight_insert_id("LAST_INSERT_ID=42"), 0);
    assert_int_equal(inflight_insert_id(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mark),
        cmocka_unit_test(test_file_began_before),
        cmocka_unit_test(test_insert_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
