/* parse_kill(): the KILL forms halyard answers itself (by its own session
 * ids, or an account's sessions), and those it leaves to the server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/protocol/connreg.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/sql/sysview.h"
#include "../../src/session/session_int.h"
#include "../../src/session/session_kill.h"

static enum kill_kind parse(const char *sql, struct kill_stmt *k)
{
    memset(k, 0, sizeof(*k));
    return parse_kill(sql, strlen(sql), 0, k);
}

static void test_ids(void **state)
{
    (void)state;
    struct kill_stmt k;
    assert_int_equal(parse("KILL 42", &k), KILL_ID);
    assert_int_equal(k.id, 42);
    assert_false(k.query);
    assert_string_equal(k.modifier, "");
    assert_int_equal(parse(" /* c */ kill hard query 7 ; ", &k), KILL_ID);
    assert_int_equal(k.id, 7);
    assert_true(k.query);
    assert_string_equal(k.modifier, "HARD ");
    assert_int_equal(parse("KILL SOFT CONNECTION 4294967295", &k), KILL_ID);
    assert_int_equal(k.id, 4294967295u);
    assert_string_equal(k.modifier, "SOFT ");
    /* the server's to answer */
    assert_int_equal(parse("KILL 4294967296", &k), KILL_NONE);
    assert_int_equal(parse("KILL 5 6", &k), KILL_NONE);
    assert_int_equal(parse("KILL @id", &k), KILL_NONE);
    assert_int_equal(parse("KILL", &k), KILL_NONE);
    assert_int_equal(parse("KILLS 5", &k), KILL_NONE);
    assert_int_equal(parse("SELECT 5", &k), KILL_NONE);
}

static void test_users(void **state)
{
    (void)state;
    struct kill_stmt k;
    assert_int_equal(parse("KILL USER app", &k), KILL_USER);
    assert_string_equal(k.user.user, "app");
    assert_true(k.user.any_host);
    assert_int_equal(parse("KILL HARD CONNECTION USER 'a\\'b'@'10.%';", &k), KILL_USER);
    assert_string_equal(k.user.user, "a'b");
    assert_string_equal(k.user.host, "10.%");
    assert_false(k.user.any_host);
    assert_int_equal(parse("kill user `x`@localhost", &k), KILL_USER);
    assert_string_equal(k.user.host, "localhost");
    assert_false(k.user.any_host);
    assert_false(k.user.query);
    assert_int_equal(parse("KILL USER 'x'@'%'", &k), KILL_USER); /* the server's any host */
    assert_true(k.user.any_host);
    assert_int_equal(parse("KILL QUERY USER app", &k), KILL_USER);
    assert_true(k.user.query);
    assert_string_equal(k.user.user, "app");
    /* the server's to answer */
    assert_int_equal(parse("KILL USER CURRENT_USER", &k), KILL_NONE);
    assert_int_equal(parse("KILL USER 'unterminated", &k), KILL_NONE);
    assert_int_equal(parse("KILL USER app extra", &k), KILL_NONE);
    assert_int_equal(parse("KILL USER", &k), KILL_NONE);
    /* a name as the server reads it under the sender's sql_mode */
    assert_int_equal(parse("KILL USER 'o''k'", &k), KILL_USER);
    assert_string_equal(k.user.user, "o'k");
    assert_int_equal(parse("KILL USER 'b\\s\\n\\%'", &k), KILL_USER);
    assert_string_equal(k.user.user, "bs\n\\%");
    assert_int_equal(parse("KILL USER `a``b`@\"h\"\"1\"", &k), KILL_USER);
    assert_string_equal(k.user.user, "a`b");
    assert_string_equal(k.user.host, "h\"1");
    memset(&k, 0, sizeof(k));
    const char *nbe = "KILL USER 'b\\s' ";
    assert_int_equal(parse_kill(nbe, strlen(nbe), CLO_NO_BACKSLASH_ESCAPES, &k), KILL_USER);
    assert_string_equal(k.user.user, "b\\s");
    const char *nbe_q = "KILL USER 'a\\''";
    assert_int_equal(parse_kill(nbe_q, strlen(nbe_q), CLO_NO_BACKSLASH_ESCAPES, &k), KILL_NONE);
    const char *ansi = "KILL USER \"a\\b\"";
    assert_int_equal(parse_kill(ansi, strlen(ansi), CLO_ANSI_QUOTES, &k), KILL_USER);
    assert_string_equal(k.user.user, "a\\b");
    assert_int_equal(parse("KILL USER 'a\\0b'", &k), KILL_NONE); /* a NUL: the server's */
}

/* KILL USER of another account: what halyard asks the primary first. */
static void test_user_read(void **state)
{
    (void)state;
    struct connreg_row rows[2] = {{.thread = 17, .session = 0}, {.thread = 4242, .session = 9}};
    char *q = kill_user_sql("o'k", NULL, rows, 2, SQ_BACKSLASH);
    assert_non_null(q);
    assert_non_null(strstr(q, "WHERE USER = 'o''k' AND ID NOT IN (0,17,4242))"));
    assert_non_null(strstr(q, "'CONNECTION ADMIN'")); /* the privilege, and roles enabled: */
    assert_non_null(strstr(q,
                           "EXISTS (SELECT 1 FROM information_schema.ENABLED_ROLES)) "
                           "LIMIT 18446744073709551615")); /* not the sender's sql_select_limit */
    free(q);
    q = kill_user_sql("x", "h'1", rows, 2, SQ_BACKSLASH);
    assert_non_null(q);
    assert_non_null(strstr(q, "WHERE USER = 'x' AND (BINARY HOST = BINARY 'h''1' OR"));
    assert_non_null(strstr(q, ") AND ID NOT IN (0,17,4242))"));
    free(q);
    /* the sender's connection under NO_BACKSLASH_ESCAPES: a backslash is itself */
    q = kill_user_sql("b\\s", NULL, rows, 2, SQ_NO_BACKSLASH);
    assert_non_null(q);
    assert_non_null(strstr(q, "WHERE USER = 'b\\s' AND ID NOT IN"));
    free(q);
    q = kill_user_sql("b\\s", NULL, rows, 2, SQ_BACKSLASH);
    assert_non_null(q);
    assert_non_null(strstr(q, "WHERE USER = 'b\\\\s' AND ID NOT IN"));
    free(q);
    assert_null(kill_user_sql("x", NULL, rows, KILL_USER_CONNS_MAX + 1, SQ_BACKSLASH));
    uint64_t n = 9;
    bool proc = false, may = true, roles = true;
    assert_true(kill_user_read("3,1,0,0", &n, &proc, &may, &roles));
    assert_true(n == 3 && proc && !may && !roles);
    assert_true(kill_user_read("0,0,1,1", &n, &proc, &may, &roles));
    assert_true(n == 0 && !proc && may && roles);
    assert_false(kill_user_read("3,1,0", &n, &proc, &may, &roles));
    assert_false(kill_user_read("3,1,0,0x", &n, &proc, &may, &roles));
    assert_false(kill_user_read("-3,1,0,0", &n, &proc, &may, &roles));
    assert_false(kill_user_read(NULL, &n, &proc, &may, &roles));
}

/* SHOW GRANTS' lines: a privilege that kills others' threads, on *.* */
static void test_grants_line(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        bool kills;
    } cases[] = {
        {"GRANT CONNECTION ADMIN ON *.* TO `kadmin`", true},
        {"GRANT SELECT, PROCESS, CONNECTION ADMIN ON *.* TO `r`", true},
        {"GRANT SUPER ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*AB'", true},
        {"GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION", true},
        {"GRANT SELECT, PROCESS ON *.* TO `u`@`%`", false},
        {"GRANT ALL PRIVILEGES ON `db`.* TO `u`@`%`", false},
        {"GRANT CONNECTION ADMIN ON `db`.* TO `u`@`%`", false},
        {"GRANT `kadmin` TO `u`@`%`", false},
        {"GRANT SUPERX ON *.* TO `u`@`%`", false},
        {"GRANT USAGE ON *.* TO `u`@`%`", false},
        {"SET DEFAULT ROLE `kadmin` FOR `u`@`%`", false},
        {"", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (kill_grants_line(cases[i].line, strlen(cases[i].line)) != cases[i].kills)
            fail_msg("%s: expected %d", cases[i].line, cases[i].kills);
    }
}

static void test_query_ids(void **state)
{
    (void)state;
    struct kill_stmt k;
    const char *sql = "KILL HARD QUERY ID 4611967493404098560 ;";
    assert_int_equal(parse(sql, &k), KILL_QID);
    assert_true(k.qid_number);
    assert_true(k.qid == 4611967493404098560ULL);
    assert_string_equal(k.modifier, "HARD ");
    sql = "kill query id @id; ";
    assert_int_equal(parse(sql, &k), KILL_QID);
    assert_false(k.qid_number);
    assert_int_equal(k.expr_len, 3);
    assert_memory_equal(sql + k.expr_off, "@id", 3);
    sql = "KILL QUERY ID 5 + 1";
    assert_int_equal(parse(sql, &k), KILL_QID);
    assert_false(k.qid_number);
    assert_memory_equal(sql + k.expr_off, "5 + 1", 5);
    /* the server's to answer */
    assert_int_equal(parse("KILL QUERY ID", &k), KILL_NONE);
    assert_int_equal(parse("KILL QUERY ID ;", &k), KILL_NONE);
    assert_int_equal(parse("KILL QUERY ID 99999999999999999999999", &k), KILL_NONE);
}

static void test_query_id_map(void **state)
{
    (void)state;
    uint32_t idx = 99;
    uint64_t qid = 99;
    assert_true(sysview_qid_encode(2, 77) == SYSVIEW_QID_BASE + 2 * SYSVIEW_QID_STRIDE + 77);
    assert_true(sysview_qid_decode(sysview_qid_encode(2, 77), &idx, &qid));
    assert_int_equal(idx, 2);
    assert_true(qid == 77);
    assert_true(sysview_qid_encode(1, SYSVIEW_QID_STRIDE) == 0);
    assert_true(sysview_qid_encode(SYSVIEW_QID_BACKENDS, 1) == 0);
    assert_true(sysview_qid_encode(SYSVIEW_QID_BACKENDS - 1, SYSVIEW_QID_STRIDE - 1) <
                (1ULL << 63));
    /* a server's own ids are not halyard's */
    assert_false(sysview_qid_decode(0, &idx, &qid));
    assert_false(sysview_qid_decode(SYSVIEW_QID_BASE - 1, &idx, &qid));
    assert_false(sysview_qid_decode(SYSVIEW_QID_BASE + SYSVIEW_QID_BACKENDS * SYSVIEW_QID_STRIDE,
                                    &idx, &qid));
}

/* kill_split(): a multi-statement text with KILL <id>s, cut into its
 * first part and the rest; the texts it leaves whole. */
static void test_split(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        const char *first, *rest; /* NULL: not split */
    } cases[] = {
        {"KILL 5; SELECT 7", "KILL 5", " SELECT 7"},
        {"kill 5; select sleep(0.05)", "kill 5", " select sleep(0.05)"},
        {"KILL QUERY 5;SELECT 7;", "KILL QUERY 5", "SELECT 7;"},
        {"SELECT 1; KILL 5", "SELECT 1", " KILL 5"},
        {"SELECT 1; SELECT ';'; KILL 5; SELECT 2", "SELECT 1; SELECT ';'", " KILL 5; SELECT 2"},
        {"/* c; */ KILL HARD CONNECTION 5 ; SELECT 1", "/* c; */ KILL HARD CONNECTION 5 ",
         " SELECT 1"},
        {"KILL 5", NULL, NULL},
        {"KILL 5;", NULL, NULL},
        {"SELECT 'KILL 5'; SELECT 2", NULL, NULL},
        {"KILL USER app; SELECT 1", NULL, NULL},
        {"KILL 5; KILL USER app", NULL, NULL},
        {"KILL 5 + 0; SELECT 1", NULL, NULL},
        {"KILL QUERY ID 7; SELECT 1", NULL, NULL},
        {"BEGIN NOT ATOMIC KILL 5; END; SELECT 1", NULL, NULL},
        {"CREATE PROCEDURE p() KILL 5; KILL 6", NULL, NULL},
        {"PREPARE s FROM 'KILL 5'; KILL 6", NULL, NULL},
        {"l: LOOP KILL 5; END LOOP; KILL 6", NULL, NULL},
        {"BEGIN; KILL 5; COMMIT", "BEGIN", " KILL 5; COMMIT"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *sql = cases[i].sql;
        size_t first = 0, rest = 0;
        bool split = kill_split(sql, strlen(sql), 0, &first, &rest);
        if (cases[i].first == NULL) {
            assert_false(split);
            continue;
        }
        assert_true(split);
        assert_int_equal(first, strlen(cases[i].first));
        assert_memory_equal(sql, cases[i].first, first);
        assert_string_equal(sql + rest, cases[i].rest);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids),         cmocka_unit_test(test_split),
        cmocka_unit_test(test_query_ids),   cmocka_unit_test(test_query_id_map),
        cmocka_unit_test(test_users),       cmocka_unit_test(test_user_read),
        cmocka_unit_test(test_grants_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
