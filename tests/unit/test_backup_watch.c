/*
 * test_backup_watch.c: the restorable window against the policy
 * (backup_watch_window): it starts at the oldest full the archive reaches
 * back to; full_keep = N with full_every = P promises (N - 1) x P (at most
 * the oldest full's age while fewer than N fulls exist); fulls by hand
 * more often than P fall short; no promise without both
 * keys; nothing reached (the archive begins after every full) is short.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/backup/backup_watch.h"

#define DAY 86400

static void full(struct restore_backup *b, int64_t finished, const char *gtid)
{
    memset(b, 0, sizeof(*b));
    b->type = BACKUP_FULL;
    b->finished = finished;
    snprintf(b->name, sizeof(b->name), "full-%lld.xb.gz", (long long)finished);
    assert_int_equal(gtid_pos_parse(gtid, strlen(gtid), &b->gtid), HY_OK);
}

static struct gtid_pos pos(const char *s)
{
    struct gtid_pos p;
    memset(&p, 0, sizeof(p));
    assert_int_equal(gtid_pos_parse(s, strlen(s), &p), HY_OK);
    return p;
}

static void test_window(void **state)
{
    (void)state;
    int64_t now = 100 * DAY;
    struct restore_backup b[4];
    /* weekly fulls, 4 kept: 21 days promised, 22 held */
    full(&b[0], now - 22 * DAY, "0-1-100");
    full(&b[1], now - 15 * DAY, "0-1-200");
    full(&b[2], now - 8 * DAY, "0-1-300");
    full(&b[3], now - 1 * DAY, "0-1-400");
    struct gtid_pos start = pos("0-1-50");
    struct backup_watch_status w;
    backup_watch_window(b, 4, true, &start, 4, 7 * DAY, now, &w);
    assert_int_equal(w.window_s, 22 * DAY);
    assert_int_equal(w.promised_s, 21 * DAY);
    assert_string_equal(w.window_from, b[0].name);
    assert_false(w.window_short);
    /* the archive begins after the oldest full: the window starts at the next */
    start = pos("0-1-150");
    backup_watch_window(b, 4, true, &start, 4, 7 * DAY, now, &w);
    assert_int_equal(w.window_s, 15 * DAY);
    assert_string_equal(w.window_from, b[1].name);
    assert_true(w.window_short);
    /* ... after every one: nothing restorable */
    start = pos("0-1-500");
    backup_watch_window(b, 4, true, &start, 4, 7 * DAY, now, &w);
    assert_int_equal(w.window_s, -1);
    assert_true(w.window_short);
    /* fulls by hand, daily: the oldest kept is 3 days old, 21 promised */
    start = pos("0-1-0");
    full(&b[0], now - 3 * DAY, "0-1-100");
    full(&b[1], now - 2 * DAY, "0-1-200");
    full(&b[2], now - 1 * DAY, "0-1-300");
    full(&b[3], now - 3600, "0-1-400");
    backup_watch_window(b, 4, true, &start, 4, 7 * DAY, now, &w);
    assert_int_equal(w.window_s, 3 * DAY);
    assert_int_equal(w.promised_s, 21 * DAY);
    assert_true(w.window_short);
    /* two fulls of four: still filling up, the promise is the oldest's age */
    backup_watch_window(b, 2, true, &start, 4, 7 * DAY, now, &w);
    assert_int_equal(w.window_s, 3 * DAY);
    assert_int_equal(w.promised_s, 3 * DAY);
    assert_false(w.window_short);
    /* no promise without full_keep and full_every */
    start = pos("0-1-150");
    backup_watch_window(b, 4, true, &start, 0, 7 * DAY, now, &w);
    assert_int_equal(w.promised_s, 0);
    assert_false(w.window_short);
    backup_watch_window(b, 4, true, &start, 4, 0, now, &w);
    assert_false(w.window_short);
    /* no archive file, no backup */
    backup_watch_window(b, 4, false, &start, 4, 7 * DAY, now, &w);
    assert_int_equal(w.window_s, -1);
    assert_true(w.window_short);
    backup_watch_window(b, 0, true, &start, 4, 7 * DAY, now, &w);
    assert_int_equal(w.window_s, -1);
    assert_false(w.window_short);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_window)};
    return cmocka_run_group_tests_name("backup_watch", tests, NULL, NULL);
}
