/*
 * test_proof.c: the settings resolve_in_flight_writes' "proven not
 * committed" rests on (proof.h), table-driven.
 *
 *   - the four values as SELECT @@... answers them, "1"/"ON"/"0"/NULL
 *   - what is missing, named, in the enum's order; "not read yet"
 *   - a verdict: the new primary's settings first, then the old one's,
 *     then the session's own binlog_annotate_row_events
 *   - a promotion: proof only with every other replica in reach and the
 *     candidate caught up; each other case named
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/cluster/proof.h"

static void test_parse(void **state)
{
    (void)state;
    assert_int_equal(proof_settings_parse("1", "1", "1", "1"), PROOF_NEED_ALL);
    assert_int_equal(proof_settings_parse("ON", "on", "1", "ON"), PROOF_NEED_ALL);
    assert_int_equal(proof_settings_parse("1", "0", "1", "1"),
                     PROOF_NEED_ALL & ~(unsigned)PROOF_LOG_SLAVE_UPDATES);
    assert_int_equal(proof_settings_parse(NULL, NULL, NULL, NULL), PROOF_READ);
    assert_int_equal(proof_settings_parse("OFF", "2", "", "0"), PROOF_READ);
    /* @@global.completion_type: only NO_CHAIN (0) begins nothing at COMMIT */
    assert_int_equal(proof_completion_parse("NO_CHAIN"), PROOF_NO_CHAIN);
    assert_int_equal(proof_completion_parse("no_chain"), PROOF_NO_CHAIN);
    assert_int_equal(proof_completion_parse("0"), PROOF_NO_CHAIN);
    assert_int_equal(proof_completion_parse("CHAIN"), 0);
    assert_int_equal(proof_completion_parse("RELEASE"), 0);
    assert_int_equal(proof_completion_parse("1"), 0);
    assert_int_equal(proof_completion_parse(NULL), 0);
}

static void test_missing(void **state)
{
    (void)state;
    static const struct {
        unsigned have, need;
        bool ok;
        const char *out;
    } cases[] = {
        {PROOF_NEED_ALL, PROOF_NEED_ALL, true, ""},
        {PROOF_NEED_ALL & ~(unsigned)PROOF_LOG_SLAVE_UPDATES, PROOF_NEED_ALL, false,
         "log_slave_updates OFF"},
        {PROOF_NEED_ALL & ~(unsigned)PROOF_LOG_SLAVE_UPDATES, PROOF_NEED_OLD, true, ""},
        {PROOF_READ, PROOF_NEED_ALL, false,
         "log_bin OFF, log_slave_updates OFF, binlog_annotate_row_events OFF, "
         "replicate_annotate_row_events OFF"},
        {PROOF_READ | PROOF_LOG_BIN, PROOF_NEED_NEW, false,
         "log_slave_updates OFF, replicate_annotate_row_events OFF"},
        {0, PROOF_NEED_ALL, false, "not read yet"},
        {PROOF_NEED_ALL & ~(unsigned)PROOF_READ, PROOF_NEED_ALL, false, "not read yet"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[200] = "x";
        assert_int_equal(proof_settings_missing(cases[i].have, cases[i].need, out, sizeof(out)),
                         cases[i].ok);
        assert_string_equal(out, cases[i].out);
    }
    char small[12];
    assert_false(proof_settings_missing(PROOF_READ, PROOF_NEED_ALL, small, sizeof(small)));
    assert_string_equal(small, "log_bin OFF"); /* cut, still terminated */
}

static void test_hold(void **state)
{
    (void)state;
    static const struct {
        unsigned old_have, new_have;
        bool session_off, ok;
        const char *why;
    } cases[] = {
        {PROOF_NEED_ALL, PROOF_NEED_ALL, false, true, ""},
        {PROOF_NEED_ALL, PROOF_NEED_ALL & ~(unsigned)PROOF_LOG_SLAVE_UPDATES, false, false,
         "which logs only part of what it applies (db2: log_slave_updates OFF)"},
        {PROOF_NEED_ALL & ~(unsigned)PROOF_BINLOG_ANNOTATE, PROOF_NEED_ALL, false, false,
         "and db1 may not have logged the write's text (db1: binlog_annotate_row_events OFF)"},
        /* the old primary needs neither log_slave_updates nor replicate_... */
        {PROOF_NEED_OLD, PROOF_NEED_NEW, false, true, ""},
        {PROOF_NEED_ALL, 0, false, false,
         "which logs only part of what it applies (db2: not "
         "read yet)"},
        {PROOF_NEED_ALL, PROOF_NEED_ALL, true, false,
         "and this session set binlog_annotate_row_events itself (its writes' text may not be "
         "logged)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char why[300] = "x";
        assert_int_equal(proof_settings_hold(cases[i].old_have, cases[i].new_have,
                                             cases[i].session_off, "db1", "db2", why, sizeof(why)),
                         cases[i].ok);
        assert_string_equal(why, cases[i].why);
    }
}

static void test_promotion(void **state)
{
    (void)state;
    struct failover_node nodes[4] = {
        {.name = "db0", .reachable = false}, /* the lost primary */
        {.name = "db1", .reachable = true},
        {.name = "db2", .reachable = true},
        {.name = "db3", .reachable = true},
    };
    struct failover_view v = {.nodes = nodes, .n = 4, .primary = 0};
    assert_int_equal(proof_promotion_judge(&v, 1, true), PROOF_PROMOTED);
    assert_int_equal(proof_promotion_judge(&v, 1, false), PROOF_NOT_CAUGHT_UP);
    nodes[3].reachable = false; /* maybe the one that acknowledged */
    assert_int_equal(proof_promotion_judge(&v, 1, true), PROOF_REPLICA_UNREACHABLE);
    assert_int_equal(proof_promotion_judge(&v, 1, false), PROOF_REPLICA_UNREACHABLE);
    nodes[1].reachable = false; /* the candidate itself does not count */
    assert_int_equal(proof_promotion_judge(&v, 3, true), PROOF_REPLICA_UNREACHABLE);
    nodes[3].reachable = true;
    assert_int_equal(proof_promotion_judge(&v, 3, true), PROOF_REPLICA_UNREACHABLE);
    nodes[1].reachable = true;
    v.primary = -1; /* no primary known: every other one counts */
    assert_int_equal(proof_promotion_judge(&v, 1, true), PROOF_REPLICA_UNREACHABLE);
    nodes[0].reachable = true;
    assert_int_equal(proof_promotion_judge(&v, 1, true), PROOF_PROMOTED);

    assert_string_equal(proof_promotion_why(PROOF_PROMOTED), "");
    assert_non_null(strstr(proof_promotion_why(PROOF_FOLLOWED), "followed"));
    assert_non_null(strstr(proof_promotion_why(PROOF_REPLICA_UNREACHABLE), "out of reach"));
    assert_non_null(strstr(proof_promotion_why(PROOF_NOT_CAUGHT_UP), "more advanced replica"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_hold),
        cmocka_unit_test(test_promotion),
    };
    return cmocka_run_group_tests_name("proof", tests, NULL, NULL);
}
