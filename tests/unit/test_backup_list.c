/*
 * test_backup_list.c: the restorable window's stretches (backup_list.h):
 * a backup whose stretch lies inside an earlier one's adds nothing, one
 * that starts inside an earlier one extends it (taking its end and the
 * reason it stops), one that starts after an earlier one stopped leaves
 * a gap between them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/backup/backup_list.h"

static void span(struct backup_span *s, int64_t from, int64_t to, const char *why)
{
    memset(s, 0, sizeof(*s));
    s->from = from;
    s->to = to;
    snprintf(s->from_gtid, sizeof(s->from_gtid), "0-1-%lld", (long long)from);
    snprintf(s->to_gtid, sizeof(s->to_gtid), "0-1-%lld", (long long)to);
    snprintf(s->why, sizeof(s->why), "%s", why);
}

static void test_merge(void **state)
{
    (void)state;
    struct backup_span s[5];
    /* 10..50 (gap after 50), 20..30 inside it, 40..90 extends it to 90
     * (to the end), 100..120 after a gap, 120..130 touching it */
    span(&s[0], 10, 50, "a gap at 50");
    span(&s[1], 20, 30, "inside");
    span(&s[2], 40, 90, "a gap at 90");
    span(&s[3], 100, 120, "");
    span(&s[4], 120, 130, "");
    size_t k = backup_list_merge(s, 5);
    assert_int_equal(k, 2);
    assert_int_equal(s[0].from, 10);
    assert_int_equal(s[0].to, 90);
    assert_string_equal(s[0].to_gtid, "0-1-90");
    assert_string_equal(s[0].why, "a gap at 90");
    assert_int_equal(s[1].from, 100);
    assert_int_equal(s[1].to, 130);
    assert_string_equal(s[1].from_gtid, "0-1-100");
    assert_string_equal(s[1].why, "");
    /* after a stretch to the archive's end, a backup that ended the
     * second after its last transaction: inside it by GTID; one past it
     * (the archive behind) is not */
    span(&s[0], 200, 210, "");
    span(&s[1], 211, 211, "");
    snprintf(s[1].from_gtid, sizeof(s[1].from_gtid), "0-1-210");
    span(&s[2], 212, 212, "");
    snprintf(s[2].from_gtid, sizeof(s[2].from_gtid), "0-1-215");
    assert_int_equal(backup_list_merge(s, 3), 2);
    assert_int_equal(s[0].to, 211);
    assert_int_equal(s[1].from, 212);
    /* ... and not after a stretch that stops short */
    span(&s[0], 200, 210, "a gap");
    span(&s[1], 211, 211, "");
    snprintf(s[1].from_gtid, sizeof(s[1].from_gtid), "0-1-205");
    assert_int_equal(backup_list_merge(s, 2), 2);
    /* one backup, and none */
    span(&s[0], 5, 5, "");
    assert_int_equal(backup_list_merge(s, 1), 1);
    assert_int_equal(backup_list_merge(s, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_merge)};
    return cmocka_run_group_tests_name("backup_list", tests, NULL, NULL);
}
