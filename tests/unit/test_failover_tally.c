/*
 * test_failover_tally.c: the text of a failover_sessions event
 * (failover_tally.h).
 *
 *   - each count is the difference of the two sums; the errors are the
 *     replays failed and refused, the COMMITs rolled back and the writes
 *     of unknown outcome
 *   - a counter lower after than before (never, but) counts 0
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/admin/failover_tally.h"

static void set(struct stat_values *v, const char *name, uint64_t n)
{
    for (size_t i = 0; i < STAT_FIELDS; i++)
        if (strcmp(stat_fields[i].name, name) == 0) {
            v->v[i] = n;
            return;
        }
    fail_msg("no counter %s", name);
}

static void test_format(void **state)
{
    (void)state;
    struct stat_values a = {0}, b = {0};
    set(&a, "statements_retried", 10);
    set(&b, "statements_retried", 13);
    set(&b, "transactions_replayed", 2);
    set(&b, "replays_failed_mismatch", 1);
    set(&b, "replays_failed_timeout", 2);
    set(&a, "replays_refused", 4);
    set(&b, "replays_refused", 5);
    set(&b, "inflight_committed", 6);
    set(&b, "inflight_rerun", 7);
    set(&b, "inflight_rolled_back", 1);
    set(&b, "inflight_unknown", 3);
    set(&a, "commands", 100);
    char out[512];
    failover_tally_format(&a, &b, out, sizeof(out));
    assert_string_equal(out, "statements retried 3, transactions replayed 2, replays failed 3 "
                             "(answers differed 1, no primary in time 2), replays refused 1; "
                             "in-flight writes committed 6, re-run 7, rolled back 1, unknown 3; "
                             "sessions given an error 8");
    failover_tally_format(&b, &a, out, sizeof(out));
    assert_string_equal(out, "statements retried 0, transactions replayed 0, replays failed 0 "
                             "(answers differed 0, no primary in time 0), replays refused 0; "
                             "in-flight writes committed 0, re-run 0, rolled back 0, unknown 0; "
                             "sessions given an error 0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
