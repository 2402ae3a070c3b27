/*
 * test_text.c: the core text kit (text.h), table-driven.
 *
 *   - hy_utf8_len: valid sequences of 2, 3 and 4 bytes; cut short,
 *     overlong, surrogates, above U+10FFFF, lone continuations, ASCII
 *   - hy_utf8_valid: whole strings, with and without 4-byte sequences
 *   - hy_json_escape: bytes in, the exact JSON string body out, and the
 *     counting pass (dst NULL) agrees with the writing one
 *   - hy_parse_u64 and hy_digits: digits only, bounds, overflow
 *   - hy_find_letters: the first of two letters in either case, at any
 *     alignment, the same answer as a byte-at-a-time search
 *   - hy_parse_i64: an optional '-', then as hy_parse_u64; both bounds
 *   - hy_str_u64/i64/double: a whole C string or nothing; garbage refused
 *   - hy_json_str: escapes undone (\" \\ \u00e9, a surrogate pair), absent,
 *     cut short, bad escapes and too long refused
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/core/text.h"

struct utf8_case {
    const char *in;
    size_t n; /* bytes given */
    size_t want;
};

static const struct utf8_case utf8_cases[] = {
    {"\xc3\xa9", 2, 2},         /* é */
    {"\xe2\x82\xac", 3, 3},     /* € */
    {"\xf0\x9f\x98\x80", 4, 4}, /* U+1F600 */
    {"\xf4\x8f\xbf\xbf", 4, 4}, /* U+10FFFF */
    {"\xef\xbf\xbd", 3, 3},     /* U+FFFD */
    {"a", 1, 0},                /* ASCII is not a multi-byte sequence */
    {"\xc3\xa9", 1, 0},         /* cut short by n */
    {"\xe2\x82", 2, 0},
    {"\xf0\x9f\x98", 3, 0},
    {"\xc3(", 2, 0},    /* bad continuation */
    {"\xc0\xaf", 2, 0}, /* overlong '/' */
    {"\xc1\xbf", 2, 0},
    {"\xe0\x80\xaf", 3, 0}, /* overlong */
    {"\xe0\x9f\xbf", 3, 0},
    {"\xed\xa0\x80", 3, 0}, /* surrogate */
    {"\xed\xbf\xbf", 3, 0},
    {"\xf0\x8f\xbf\xbf", 4, 0}, /* overlong */
    {"\xf4\x90\x80\x80", 4, 0}, /* above U+10FFFF */
    {"\xf5\x80\x80\x80", 4, 0},
    {"\x80", 1, 0}, /* lone continuation */
    {"\xff", 1, 0},
    {"\xe2\x82\0", 3, 0}, /* a NUL ends it */
    {"", 0, 0},
};

static void test_utf8_len(void **state)
{
    (void)state;
    for (size_t i = 0; i < HY_ARRAY_SIZE(utf8_cases); i++) {
        const struct utf8_case *c = &utf8_cases[i];
        size_t got = hy_utf8_len(c->in, c->n);
        if (got != c->want)
            fail_msg("case %zu: got %zu, want %zu", i, got, c->want);
    }
}

struct valid_case {
    const char *in;
    bool mb4;
    bool want;
};

static const struct valid_case valid_cases[] = {
    {"", true, true},
    {"plain", false, true},
    {"caf\xc3\xa9 \xe2\x82\xac", false, true},
    {"\xf0\x9f\x98\x80", true, true},
    {"\xf0\x9f\x98\x80", false, false}, /* utf8mb3 has no 4-byte sequences */
    {"ok\xff", true, false},
    {"\xc3", true, false},
    {"a\xed\xa0\x80z", true, false},
    /* past eight ASCII bytes (read eight at a time): a character across
     * the eighth, a bad byte after sixteen, a truncated one at the end */
    {"abcdefg\xc3\xa9hijklmnopqrstu", true, true},
    {"abcdefghijklmnop\xff", true, false},
    {"abcdefghijklmnopqrstuvw\xe2\x82", true, false},
    {"abcdefghijklmnop\xf0\x9f\x98\x80", false, false},
};

static void test_utf8_valid(void **state)
{
    (void)state;
    for (size_t i = 0; i < HY_ARRAY_SIZE(valid_cases); i++) {
        const struct valid_case *c = &valid_cases[i];
        if (hy_utf8_valid(c->in, strlen(c->in), c->mb4) != c->want)
            fail_msg("case %zu (%s): want %d", i, c->in, c->want);
    }
}

struct esc_case {
    const char *in;
    size_t len; /* 0: strlen(in) */
    const char *out;
};

static const struct esc_case esc_cases[] = {
    {"", 0, ""},
    {"plain SELECT 1", 0, "plain SELECT 1"},
    {"it's \"quoted\" \\", 0, "it's \\\"quoted\\\" \\\\"},
    {"\n\r\t", 0, "\\n\\r\\t"},
    {"\x01\x1f\x7f", 0, "\\u0001\\u001f\\u007f"},
    {"a\0b", 3, "a\\u0000b"},
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 0, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    {"\xff", 0, "\\ufffd"},                                  /* never valid */
    {"\xc3", 0, "\\ufffd"},                                  /* truncated */
    {"\xc3(", 0, "\\ufffd("},                                /* bad continuation */
    {"\xc0\xaf", 0, "\\ufffd\\ufffd"},                       /* overlong '/' */
    {"\xe0\x80\xaf", 0, "\\ufffd\\ufffd\\ufffd"},            /* overlong */
    {"\xed\xa0\x80", 0, "\\ufffd\\ufffd\\ufffd"},            /* surrogate */
    {"\xf4\x90\x80\x80", 0, "\\ufffd\\ufffd\\ufffd\\ufffd"}, /* > U+10FFFF */
    {"\x80x", 0, "\\ufffdx"},                                /* lone continuation */
    {"\xe2\x82\xac", 2, "\\ufffd\\ufffd"},                   /* cut by len */
};

static void test_json_escape(void **state)
{
    (void)state;
    for (size_t i = 0; i < HY_ARRAY_SIZE(esc_cases); i++) {
        const struct esc_case *c = &esc_cases[i];
        char out[256];
        size_t len = c->len ? c->len : strlen(c->in);
        size_t n = hy_json_escape(out, c->in, len);
        assert_true(n < sizeof(out));
        out[n] = '\0';
        if (strcmp(out, c->out) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, out, c->out);
        assert_int_equal(hy_json_escape(NULL, c->in, len), n);
        assert_true(n <= 6 * len);
    }
}

struct u64_case {
    const char *in;
    uint64_t max;
    bool ok;
    uint64_t want;
};

static const struct u64_case u64_cases[] = {
    {"0", UINT64_MAX, true, 0},
    {"42", UINT64_MAX, true, 42},
    {"007", UINT64_MAX, true, 7},
    {"18446744073709551615", UINT64_MAX, true, UINT64_MAX},
    {"18446744073709551616", UINT64_MAX, false, 0}, /* overflow */
    {"99999999999999999999", UINT64_MAX, false, 0},
    {"000000000000000000000000001", UINT64_MAX, true, 1},
    {"4294967295", UINT32_MAX, true, UINT32_MAX},
    {"4294967296", UINT32_MAX, false, 0},
    {"255", 255, true, 255},
    {"256", 255, false, 0},
    {"9", 5, false, 0}, /* a digit above max */
    {"5", 5, true, 5},
    {"0", 0, true, 0},
    {"1", 0, false, 0},
    {"", UINT64_MAX, false, 0},
    {"-1", UINT64_MAX, false, 0},
    {"+1", UINT64_MAX, false, 0},
    {" 1", UINT64_MAX, false, 0},
    {"1 ", UINT64_MAX, false, 0},
    {"0x10", UINT64_MAX, false, 0},
    {"1.5", UINT64_MAX, false, 0},
};

static void test_parse_u64(void **state)
{
    (void)state;
    for (size_t i = 0; i < HY_ARRAY_SIZE(u64_cases); i++) {
        const struct u64_case *c = &u64_cases[i];
        uint64_t v = 12345;
        bool ok = hy_parse_u64(c->in, strlen(c->in), c->max, &v);
        if (ok != c->ok)
            fail_msg("case %zu (%s): ok %d, want %d", i, c->in, ok, c->ok);
        assert_int_equal(v, c->ok ? c->want : 12345); /* untouched when refused */
    }
    /* Only len bytes are read. */
    uint64_t v;
    assert_true(hy_parse_u64("123abc", 3, UINT64_MAX, &v));
    assert_int_equal(v, 123);
}

struct i64_case {
    const char *in;
    int64_t min, max;
    bool ok;
    int64_t want;
};

static const struct i64_case i64_cases[] = {
    {"0", INT64_MIN, INT64_MAX, true, 0},
    {"-0", INT64_MIN, INT64_MAX, true, 0},
    {"42", INT64_MIN, INT64_MAX, true, 42},
    {"-42", INT64_MIN, INT64_MAX, true, -42},
    {"9223372036854775807", INT64_MIN, INT64_MAX, true, INT64_MAX},
    {"9223372036854775808", INT64_MIN, INT64_MAX, false, 0}, /* overflow */
    {"-9223372036854775808", INT64_MIN, INT64_MAX, true, INT64_MIN},
    {"-9223372036854775809", INT64_MIN, INT64_MAX, false, 0},
    {"99999999999999999999999", INT64_MIN, INT64_MAX, false, 0},
    {"-1", 0, INT64_MAX, false, 0}, /* below min */
    {"-1", -1, 10, true, -1},
    {"-2", -1, 10, false, 0},
    {"10", -1, 10, true, 10},
    {"11", -1, 10, false, 0},
    {"", INT64_MIN, INT64_MAX, false, 0},
    {"-", INT64_MIN, INT64_MAX, false, 0},
    {"--1", INT64_MIN, INT64_MAX, false, 0},
    {"+1", INT64_MIN, INT64_MAX, false, 0},
    {" 1", INT64_MIN, INT64_MAX, false, 0},
    {"1 ", INT64_MIN, INT64_MAX, false, 0},
    {"12x", INT64_MIN, INT64_MAX, false, 0},
    {"0x10", INT64_MIN, INT64_MAX, false, 0},
};

static void test_parse_i64(void **state)
{
    (void)state;
    for (size_t i = 0; i < HY_ARRAY_SIZE(i64_cases); i++) {
        const struct i64_case *c = &i64_cases[i];
        int64_t v = 12345;
        bool ok = hy_parse_i64(c->in, strlen(c->in), c->min, c->max, &v);
        if (ok != c->ok)
            fail_msg("case %zu (%s): ok %d, want %d", i, c->in, ok, c->ok);
        assert_int_equal(v, c->ok ? c->want : 12345); /* untouched when refused */
    }
}

static void test_digits(void **state)
{
    (void)state;
    assert_int_equal(hy_digits("123-45", 6), 3);
    assert_int_equal(hy_digits("123", 2), 2);
    assert_int_equal(hy_digits("x1", 2), 0);
    assert_int_equal(hy_digits("", 0), 0);
}

/* The byte-at-a-time answer hy_find_letters() must give. */
static size_t find_slow(const char *p, size_t n, size_t from, char a, char b)
{
    for (size_t i = from; i < n; i++) {
        char c = (char)(p[i] | 0x20);
        if (c == a || c == b)
            return i;
    }
    return n;
}

static void test_find_letters(void **state)
{
    (void)state;
    assert_int_equal(hy_find_letters("SELECT 1", 8, 0, 'l', 'l'), 2);
    assert_int_equal(hy_find_letters("SELECT 1", 8, 3, 'l', 'l'), 8);
    assert_int_equal(hy_find_letters("a kill", 6, 0, 'k', 'k'), 2);
    assert_int_equal(hy_find_letters("FROM t LIMIT", 12, 0, 'l', 'o'), 2);
    assert_int_equal(hy_find_letters("FROM t LIMIT", 12, 3, 'l', 'o'), 7);
    assert_int_equal(hy_find_letters("", 0, 0, 's', 's'), 0);
    /* bytes that differ from a letter in bit 5 only are not letters */
    assert_int_equal(hy_find_letters("\x0b\x0c\xcb\xeb+K", 6, 0, 'k', 'k'), 5);
    /* every alignment, every length, the letter anywhere or nowhere, and
     * bytes above 0x7f, which the word-at-a-time test must not take */
    char buf[40];
    unsigned x = 12345;
    for (int round = 0; round < 20000; round++) {
        size_t n = (size_t)(round % 40);
        for (size_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            static const char pool[] = "sSlLoOkK\x53\x73\xd3\xf3\x0c\x2c ,aZ\x80\xff";
            buf[i] = pool[(x >> 16) % (sizeof(pool) - 1)];
        }
        for (size_t from = 0; from <= n; from++) {
            assert_int_equal(hy_find_letters(buf, n, from, 's', 's'),
                             find_slow(buf, n, from, 's', 's'));
            assert_int_equal(hy_find_letters(buf, n, from, 'l', 'o'),
                             find_slow(buf, n, from, 'l', 'o'));
        }
    }
}

/* hy_str_u64/i64: the same rules on a C string; NULL refused. */
static void test_str_numbers(void **state)
{
    (void)state;
    uint64_t u = 7;
    int64_t i = 7;
    assert_true(hy_str_u64("3306", 65535, &u));
    assert_int_equal(u, 3306);
    assert_false(hy_str_u64("70000", 65535, &u));
    assert_false(hy_str_u64("12abc", UINT64_MAX, &u));
    assert_false(hy_str_u64("", UINT64_MAX, &u));
    assert_false(hy_str_u64(NULL, UINT64_MAX, &u));
    assert_int_equal(u, 3306);
    assert_true(hy_str_i64("-5", -10, 10, &i));
    assert_int_equal(i, -5);
    assert_false(hy_str_i64("garbage", INT64_MIN, INT64_MAX, &i));
    assert_false(hy_str_i64(NULL, INT64_MIN, INT64_MAX, &i));
    assert_int_equal(i, -5);
    /* hexadecimal */
    assert_true(hy_parse_x64("7fffFFFF", 8, 0x7fffffff, &u));
    assert_int_equal(u, 0x7fffffff);
    assert_false(hy_parse_x64("80000000", 8, 0x7fffffff, &u));
    assert_false(hy_parse_x64("1g", 2, UINT64_MAX, &u));
    assert_false(hy_parse_x64("", 0, UINT64_MAX, &u));
    assert_true(hy_parse_x64("ffffffffffffffff", 16, UINT64_MAX, &u));
    assert_true(u == UINT64_MAX);
    assert_false(hy_parse_x64("10000000000000000", 17, UINT64_MAX, &u));
}

static void test_str_double(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        bool ok;
        double want;
    } cases[] = {
        {"0", true, 0},    {"1.5", true, 1.5},  {"-2.25", true, -2.25},
        {".5", true, 0.5}, {"1e3", true, 1000}, {"12345678", true, 12345678},
        {"", false, 0},    {" 1", false, 0},    {"1 ", false, 0},
        {"1x", false, 0},  {"0x10", false, 0},  {"inf", false, 0},
        {"nan", false, 0}, {"1e999", false, 0}, {"-", false, 0},
        {"1e", false, 0},
    };
    for (size_t k = 0; k < HY_ARRAY_SIZE(cases); k++) {
        double v = 42;
        bool ok = hy_str_double(cases[k].in, &v);
        if (ok != cases[k].ok)
            fail_msg("case %zu (%s): ok %d, want %d", k, cases[k].in, ok, cases[k].ok);
        assert_true(v == (ok ? cases[k].want : 42));
    }
    double v;
    assert_false(hy_str_double(NULL, &v));
}

/* The JSON string reader: escapes undone, \u as UTF-8 (a surrogate pair as
 * one character), absent, cut and too long refused. */
/* hy_list_has: session_track_system_variables' items, as the server
 * shows them and as a client may write them */
static void test_list_has(void **state)
{
    (void)state;
    static const char *const yes[] = {"last_gtid", "autocommit,last_gtid", "LAST_GTID,time_zone",
                                      "a, last_gtid ,b", "*"};
    static const char *const no[] = {"",           "autocommit", "last_gtid_x",
                                     "xlast_gtid", ",",          "last_gti"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        assert_true(hy_list_has(yes[i], strlen(yes[i]), strcmp(yes[i], "*") ? "last_gtid" : "*"));
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        assert_false(hy_list_has(no[i], strlen(no[i]), "last_gtid"));
    assert_false(hy_list_has("last_gtid", 8, "last_gtid")); /* the length given, not the NUL */
}

static void test_json_str(void **state)
{
    (void)state;
    static const struct {
        const char *json, *key;
        bool ok;
        const char *want;
    } cases[] = {
        {"{\"a\":\"x\"}", "a", true, "x"},
        {"{\"a\":\"say \\\"hi\\\" to \\\\ them\"}", "a", true, "say \"hi\" to \\ them"},
        {"{\"a\":\"caf\\u00e9\"}", "a", true, "caf\xc3\xa9"},
        {"{\"a\":\"\\ud83d\\ude00!\"}", "a", true, "\xf0\x9f\x98\x80!"},
        {"{\"a\":\"\\ud83d\"}", "a", true, "\xef\xbf\xbd"}, /* lone surrogate */
        {"{\"a\":\"\\/\\b\\f\\n\\r\\t\"}", "a", true, "/\b\f\n\r\t"},
        {"{\"a\": \"spaced\"}", "a", true, "spaced"},
        {"{\"b\":\"\\\"a\\\":\\\"no\\\"\",\"a\":\"yes\"}", "a", true, "yes"},
        {"{\"a\":1,\"a\":\"second\"}", "a", true, "second"},
        {"{\"a\":\"\"}", "a", true, ""},
        {"{\"b\":\"x\"}", "a", false, ""},
        {"{\"a\":\"cut", "a", false, "cut"},
        {"{\"a\":\"bad\\q\"}", "a", false, "bad"},
        {"{\"a\":\"nul\\u0000\"}", "a", false, "nul"},
        {"{\"a\":\"\\u12\"}", "a", false, ""},
    };
    for (size_t k = 0; k < HY_ARRAY_SIZE(cases); k++) {
        char out[64];
        bool ok = hy_json_str(cases[k].json, cases[k].key, out, sizeof(out));
        if (ok != cases[k].ok)
            fail_msg("case %zu (%s): ok %d, want %d", k, cases[k].json, ok, cases[k].ok);
        assert_string_equal(out, cases[k].want);
    }
    /* Too long: what fitted, whole characters only. */
    char small[6];
    assert_false(hy_json_str("{\"a\":\"abcd\\u00e9f\"}", "a", small, sizeof(small)));
    assert_string_equal(small, "abcd");
    assert_true(hy_json_str("{\"a\":\"abc\\u00e9\"}", "a", small, sizeof(small)));
    assert_string_equal(small, "abc\xc3\xa9");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_len),    cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_json_escape), cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_digits),      cmocka_unit_test(test_find_letters),
        cmocka_unit_test(test_parse_i64),   cmocka_unit_test(test_str_numbers),
        cmocka_unit_test(test_str_double),  cmocka_unit_test(test_json_str),
        cmocka_unit_test(test_list_has),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
