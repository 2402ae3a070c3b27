/*
 * test_backup_sched.c: the pure parts of the full backup schedule
 * (backup_sched.h) and of the second copy (backup_copy.h):
 *   - the daily window in UTC, with one spanning midnight;
 *   - when a backup is due: none yet, too old, running, outside the
 *     window, a failure's retry delay (never a loop), no schedule;
 *   - the age limit of backup_full_old;
 *   - copy_command's expansion: %f %n %s quoted for /bin/sh, %%, an
 *     unknown %x and a result too long refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/backup/backup_copy.h"
#include "halyard/backup/backup_sched.h"

#define DAY0     1795392000 /* 2026-11-23 00:00:00 UTC */
#define AT(h, m) ((time_t)DAY0 + (h)*3600 + (m)*60)

static void test_window(void **state)
{
    (void)state;
    assert_true(backup_sched_in_window(-1, -1, AT(12, 0))); /* none: any time */
    /* 01:00-05:00 */
    assert_false(backup_sched_in_window(60, 300, AT(0, 59)));
    assert_true(backup_sched_in_window(60, 300, AT(1, 0)));
    assert_true(backup_sched_in_window(60, 300, AT(4, 59)));
    assert_false(backup_sched_in_window(60, 300, AT(5, 0))); /* the end is out */
    assert_false(backup_sched_in_window(60, 300, AT(13, 0)));
    /* 22:00-04:00 spans midnight */
    assert_true(backup_sched_in_window(22 * 60, 240, AT(23, 30)));
    assert_true(backup_sched_in_window(22 * 60, 240, AT(0, 0)));
    assert_true(backup_sched_in_window(22 * 60, 240, AT(3, 59)));
    assert_false(backup_sched_in_window(22 * 60, 240, AT(4, 0)));
    assert_false(backup_sched_in_window(22 * 60, 240, AT(21, 59)));
    assert_true(backup_sched_in_window(22 * 60, 240, AT(22, 0) + 86400 * 3)); /* any day */
}

static void test_decide(void **state)
{
    (void)state;
    struct config_backup b = {
        .enabled = true, .full_every_s = 3600, .full_window_from = -1, .full_window_to = -1};
    time_t next, now = AT(12, 0);
    assert_string_equal(backup_sched_decide(&b, now, 0, false, 0, &next), "due"); /* none yet */
    assert_int_equal(next, now);
    assert_string_equal(backup_sched_decide(&b, now, now - 1800, false, 0, &next), "waiting");
    assert_int_equal(next, now + 1800);
    assert_string_equal(backup_sched_decide(&b, now, now - 3600, false, 0, &next), "due");
    assert_string_equal(backup_sched_decide(&b, now, now - 7200, true, 0, &next), "running");
    /* a failure 5 min ago, after the last good one: retried 10 min after it */
    assert_string_equal(backup_sched_decide(&b, now, now - 7200, false, now - 300, &next),
                        "retry_wait");
    assert_int_equal(next, now + 300);
    assert_string_equal(backup_sched_decide(&b, now, now - 7200, false, now - 600, &next), "due");
    /* a failure before the last good one does not count */
    assert_string_equal(backup_sched_decide(&b, now, now - 3600, false, now - 4000, &next), "due");
    /* full_every shorter than 10 min: the retry waits full_every */
    b.full_every_s = 5;
    assert_string_equal(backup_sched_decide(&b, now, 0, false, now - 4, &next), "retry_wait");
    assert_int_equal(next, now + 1);
    assert_string_equal(backup_sched_decide(&b, now, 0, false, now - 5, &next), "due");
    /* the window: 01:00-05:00 */
    b.full_every_s = 86400;
    b.full_window_from = 60;
    b.full_window_to = 300;
    assert_string_equal(backup_sched_decide(&b, now, 0, false, 0, &next), "outside_window");
    assert_string_equal(backup_sched_decide(&b, AT(2, 0), 0, false, 0, &next), "due");
    assert_string_equal(backup_sched_decide(&b, AT(2, 0), AT(2, 0) - 3600, false, 0, &next),
                        "waiting");
    /* off */
    b.full_every_s = 0;
    assert_string_equal(backup_sched_decide(&b, now, 0, false, 0, &next), "off");
    assert_int_equal(next, 0);
    b.full_every_s = 60;
    b.enabled = false;
    assert_string_equal(backup_sched_decide(&b, now, 0, false, 0, &next), "off");
}

static void test_max_age(void **state)
{
    (void)state;
    struct config_backup b = {.enabled = true};
    assert_int_equal(backup_sched_max_age(&b), 0); /* no schedule, no limit: no alarm */
    b.full_every_s = 86400;
    assert_int_equal(backup_sched_max_age(&b), 2 * 86400);
    b.full_max_age_s = 36 * 3600;
    assert_int_equal(backup_sched_max_age(&b), 36 * 3600);
    b.full_every_s = 0;
    assert_int_equal(backup_sched_max_age(&b), 36 * 3600); /* an alarm without a schedule */
    b.enabled = false;
    assert_int_equal(backup_sched_max_age(&b), 0);
}

static void test_expand(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(backup_copy_expand("rsync -a %f host:/bk/%n # %s 100%%", "/a b/full/x.gz",
                                        "full/x.gz", "ab12", out, sizeof(out)),
                     HY_OK);
    assert_string_equal(out, "rsync -a '/a b/full/x.gz' host:/bk/'full/x.gz' # 'ab12' 100%");
    /* a quote in a path cannot end the quoting */
    assert_int_equal(backup_copy_expand("cp %f /c", "/it's", "n", "s", out, sizeof(out)), HY_OK);
    assert_string_equal(out, "cp '/it'\\''s' /c");
    assert_int_equal(backup_copy_expand("", "/p", "n", "s", out, sizeof(out)), HY_OK);
    assert_string_equal(out, "");
    assert_int_equal(backup_copy_expand("cp %x", "/p", "n", "s", out, sizeof(out)), HY_ERROR);
    assert_int_equal(backup_copy_expand("cp %", "/p", "n", "s", out, sizeof(out)), HY_ERROR);
    /* too long for the buffer, at every length */
    for (size_t cap = 1; cap < 13; cap++)
        assert_int_equal(backup_copy_expand("cp %f /dst", "/p", "n", "s", out, cap), HY_ERROR);
    assert_int_equal(backup_copy_expand("cp %f /dst", "/p", "n", "s", out, 13), HY_OK);
    assert_string_equal(out, "cp '/p' /dst");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_max_age),
        cmocka_unit_test(test_expand),
    };
    return cmocka_run_group_tests_name("backup_sched", tests, NULL, NULL);
}
