/* parse_kill(): the KILL forms halyard answers itself (by its own session
 * ids, or an account's sessions), and those it leaves to the server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "../../src/session/session_int.h"

static enum kill_kind parse(const char *sql, struct kill_stmt *k)
{
    memset(k, 0, sizeof(*k));
    return parse_kill(sql, strlen(sql), k);
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
    assert_int_equal(parse("KILL QUERY ID 5", &k), KILL_NONE);
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
    /* the server's to answer */
    assert_int_equal(parse("KILL QUERY USER app", &k), KILL_NONE);
    assert_int_equal(parse("KILL USER CURRENT_USER", &k), KILL_NONE);
    assert_int_equal(parse("KILL USER 'unterminated", &k), KILL_NONE);
    assert_int_equal(parse("KILL USER app extra", &k), KILL_NONE);
    assert_int_equal(parse("KILL USER", &k), KILL_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_users),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
