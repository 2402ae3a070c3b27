/*
 * test_guard.c: the shared login state: failed logins per address (delay,
 * block, release, IPv6 /64 grouping, a full table), sessions per user, the
 * cache of verified logins.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "halyard/session/guard.h"

static struct config test_cfg(int limit, int delay_ms, int block_ms)
{
    struct config c;
    memset(&c, 0, sizeof(c));
    c.auth_fail_limit = limit;
    c.auth_fail_window_ms = 60000;
    c.auth_delay_ms = delay_ms;
    c.auth_block_ms = block_ms;
    c.auth_block_table_size = 64;
    c.login_timeout_ms = 5000;
    return c;
}

static struct rules_addr addr(const char *text)
{
    struct rules_addr a;
    assert_true(guard_addr_parse(text, &a));
    return a;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* An address as `halyardctl unblock` takes it: IPv4 as it is (mapped too),
 * IPv6 cut to its /64; nothing for a client that is not IP. */
static void test_addr_format(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {{"10.1.2.3", "10.1.2.3"},
                 {"::ffff:10.1.2.3", "10.1.2.3"},
                 {"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"}};
    char out[64];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct rules_addr a = addr(cases[i].in);
        guard_addr_format(&a, out, sizeof(out));
        assert_string_equal(out, cases[i].out);
    }
    struct rules_addr none = {.family = AF_UNSPEC};
    guard_addr_format(&none, out, sizeof(out));
    assert_string_equal(out, "");
}

static void test_delay_then_block(void **state)
{
    (void)state;
    assert_int_equal(guard_resize(64), HY_OK);
    struct config c = test_cfg(3, 100, 200);
    struct rules_addr a = addr("10.1.2.3"), b = addr("10.1.2.4");
    int64_t left;
    assert_int_equal(guard_login_result(&c, &a, false), 0);
    assert_int_equal(guard_login_result(&c, &a, false), 0);
    /* failure 3 = the limit: answers are held back, growing */
    assert_int_equal(guard_login_result(&c, &a, false), 100);
    assert_int_equal(guard_login_result(&c, &a, false), 200);
    assert_false(guard_blocked(&c, &a, &left));
    /* a good login while slowed: held back too, then the address is cleared */
    assert_int_equal(guard_login_result(&c, &a, true), 200);
    assert_int_equal(guard_login_result(&c, &a, false), 0);
    for (int i = 0; i < 4; i++)
        (void)guard_login_result(&c, &a, false);
    assert_int_equal(guard_login_result(&c, &a, false), 400); /* failure 6 = 2 x limit */
    assert_true(guard_blocked(&c, &a, &left));
    assert_true(left > 100 && left <= 200);
    assert_false(guard_blocked(&c, &b, &left)); /* others are not */
    /* a good login does not lift a block */
    (void)guard_login_result(&c, &a, true);
    assert_true(guard_blocked(&c, &a, &left));

    struct guard_row rows[8];
    assert_int_equal(guard_list(&c, rows, 8), 1);
    assert_string_equal(rows[0].address, "10.1.2.3");
    assert_true(rows[0].blocked);
    assert_int_equal(rows[0].failures, 6);

    sleep_ms(250); /* the block runs out */
    assert_false(guard_blocked(&c, &a, &left));
    assert_int_equal(guard_list(&c, rows, 8), 0);
    assert_int_equal(guard_login_result(&c, &a, false), 0); /* a fresh count */

    /* delays never exceed the login timeout */
    c.login_timeout_ms = 150;
    for (int i = 0; i < 3; i++)
        (void)guard_login_result(&c, &b, false);
    assert_int_equal(guard_login_result(&c, &b, false), 150);
    /* off */
    c.auth_fail_limit = 0;
    assert_int_equal(guard_login_result(&c, &b, false), 0);
    assert_false(guard_blocked(&c, &b, &left));
    guard_destroy();
}

static void test_unblock_and_ipv6(void **state)
{
    (void)state;
    assert_int_equal(guard_resize(64), HY_OK);
    struct config c = test_cfg(1, 0, 60000);
    int64_t left;
    struct rules_addr v6a = addr("2001:db8:1:2::1"), v6b = addr("2001:db8:1:2:ffff::9");
    struct rules_addr v6other = addr("2001:db8:1:3::1");
    struct rules_addr v4 = addr("192.0.2.7"), mapped = addr("::ffff:192.0.2.7");
    (void)guard_login_result(&c, &v6a, false);
    (void)guard_login_result(&c, &v6b, false); /* same /64: failure 2 = blocked */
    assert_true(guard_blocked(&c, &v6a, &left));
    assert_true(guard_blocked(&c, &v6b, &left));
    assert_false(guard_blocked(&c, &v6other, &left));
    /* IPv4 and IPv4-mapped IPv6 are one address */
    (void)guard_login_result(&c, &v4, false);
    (void)guard_login_result(&c, &mapped, false);
    assert_true(guard_blocked(&c, &v4, &left));
    struct guard_row rows[8];
    size_t n = guard_list(&c, rows, 8);
    assert_int_equal(n, 2);
    bool seen6 = false, seen4 = false;
    for (size_t i = 0; i < n; i++) {
        seen6 |= strcmp(rows[i].address, "2001:db8:1:2::/64") == 0;
        seen4 |= strcmp(rows[i].address, "192.0.2.7") == 0;
    }
    assert_true(seen6 && seen4);
    /* unblock takes the address as show blocked prints it, or any in it */
    assert_int_equal(guard_unblock("2001:db8:1:2::/64"), 1);
    assert_false(guard_blocked(&c, &v6a, &left));
    assert_int_equal(guard_unblock("2001:db8:1:2::1"), 0);
    assert_int_equal(guard_unblock("not-an-address"), -1);
    assert_int_equal(guard_unblock("10.0.0.0/8"), -1);
    assert_int_equal(guard_unblock("all"), 1);
    assert_false(guard_blocked(&c, &v4, &left));
    guard_destroy();
}

static void test_table_stays_bounded(void **state)
{
    (void)state;
    assert_int_equal(guard_resize(16), HY_OK);
    struct config c = test_cfg(1, 0, 60000);
    int64_t left;
    char text[32];
    /* 1000 addresses through 16 slots: the table never grows, the latest
     * are tracked */
    for (int i = 0; i < 1000; i++) {
        snprintf(text, sizeof(text), "10.0.%d.%d", i / 256, i % 256);
        struct rules_addr a = addr(text);
        (void)guard_login_result(&c, &a, false);
        (void)guard_login_result(&c, &a, false);
    }
    struct guard_row rows[64];
    assert_true(guard_list(&c, rows, 64) <= 16);
    struct rules_addr last = addr("10.0.3.231");
    assert_true(guard_blocked(&c, &last, &left));
    guard_destroy();
    /* without a table nothing is tracked, nothing crashes */
    assert_int_equal(guard_login_result(&c, &last, false), 0);
    assert_false(guard_blocked(&c, &last, &left));
}

static void test_resize_keeps_addresses(void **state)
{
    (void)state;
    assert_int_equal(guard_resize(64), HY_OK);
    struct config c = test_cfg(1, 0, 60000);
    int64_t left;
    char text[32];
    for (int i = 0; i < 40; i++) {
        snprintf(text, sizeof(text), "10.9.0.%d", i);
        struct rules_addr a = addr(text);
        (void)guard_login_result(&c, &a, false);
        (void)guard_login_result(&c, &a, false);
        sleep_ms(i == 0 ? 2 : 0); /* 10.9.0.0 failed before the others */
    }
    struct guard_row rows[64];
    assert_int_equal(guard_list(&c, rows, 64), 40);
    assert_int_equal(guard_resize(64), HY_OK); /* the same size: nothing to do */
    assert_int_equal(guard_resize(256), HY_OK);
    assert_int_equal(guard_list(&c, rows, 64), 40);
    struct rules_addr first = addr("10.9.0.0"), last = addr("10.9.0.39");
    assert_true(guard_blocked(&c, &first, &left));
    assert_true(guard_blocked(&c, &last, &left));
    /* smaller: the table is full, the one that failed first is gone */
    assert_int_equal(guard_resize(16), HY_OK);
    assert_int_equal(guard_list(&c, rows, 64), 16);
    assert_false(guard_blocked(&c, &first, &left));
    guard_destroy();
}

static void test_user_sessions(void **state)
{
    (void)state;
    int cur;
    assert_true(guard_user_enter("app", 2, &cur));
    assert_true(guard_user_enter("app", 2, &cur));
    assert_false(guard_user_enter("app", 2, &cur));
    assert_int_equal(cur, 2);
    assert_true(guard_user_enter("other", 2, &cur));
    assert_true(guard_user_enter("app", 0, &cur)); /* no limit */
    assert_int_equal(guard_user_sessions("app"), 3);
    guard_user_leave("app");
    guard_user_leave("app");
    assert_true(guard_user_enter("app", 2, &cur));
    guard_user_leave("app");
    guard_user_leave("app");
    guard_user_leave("other");
    assert_int_equal(guard_user_sessions("app"), 0);
    guard_user_leave("nobody"); /* harmless */
    guard_destroy();
}

static void test_login_cache(void **state)
{
    (void)state;
    uint8_t h1[MYSQL_SHA1_LEN], h2[MYSQL_SHA1_LEN], got[MYSQL_SHA1_LEN];
    uint8_t s2[MYSQL_SHA256_LEN], got_s2[MYSQL_SHA256_LEN];
    bool has_s2;
    SHA1((const unsigned char *)"app", 3, h1);
    SHA1(h1, sizeof(h1), h2);
    memset(s2, 0x5a, sizeof(s2));
    assert_false(guard_cache_get("app", h2, got, got_s2, &has_s2));
    guard_cache_put("app", h1, NULL); /* a native login: H1 only */
    assert_true(guard_cache_get("app", h2, got, got_s2, &has_s2));
    assert_memory_equal(got, h1, sizeof(h1));
    assert_false(has_s2);
    guard_cache_put("app", h1, s2);   /* a full authentication */
    guard_cache_put("app", h1, NULL); /* then a native login: S2 stays */
    assert_true(guard_cache_get("app", h2, got, got_s2, &has_s2));
    assert_true(has_s2);
    assert_memory_equal(got_s2, s2, sizeof(s2));
    /* a changed password in the config makes the entry stale */
    uint8_t other_h2[MYSQL_SHA1_LEN];
    memset(other_h2, 1, sizeof(other_h2));
    assert_false(guard_cache_get("app", other_h2, got, got_s2, &has_s2));
    /* a new H1 drops the old S2 */
    uint8_t h1b[MYSQL_SHA1_LEN], h2b[MYSQL_SHA1_LEN];
    SHA1((const unsigned char *)"new", 3, h1b);
    SHA1(h1b, sizeof(h1b), h2b);
    guard_cache_put("app", h1b, NULL);
    assert_true(guard_cache_get("app", h2b, got, got_s2, &has_s2));
    assert_false(has_s2);
    guard_destroy();
    assert_false(guard_cache_get("app", h2b, got, got_s2, &has_s2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_format),
        cmocka_unit_test(test_delay_then_block),
        cmocka_unit_test(test_unblock_and_ipv6),
        cmocka_unit_test(test_table_stays_bounded),
        cmocka_unit_test(test_resize_keeps_addresses),
        cmocka_unit_test(test_user_sessions),
        cmocka_unit_test(test_login_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
