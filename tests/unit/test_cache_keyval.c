/*
 * test_cache_keyval.c: a point lookup's key values as one text, from the
 * lookup's constant and from a row image (cache_keyval.h).
 *
 *   - kinds by type and collation; an unlisted collation is none
 *   - numbers: the text of the lookup's literal and of a packed DECIMAL
 *     image agree (1.0 = 1.00 = 1, -0 = 0, negatives); a string is not
 *     a number's value
 *   - strings: case and trailing spaces folded, on both sides alike;
 *     non-ASCII, control characters, `\` and `~` refused; CHAR's and
 *     VARCHAR's length prefixes
 *   - dates and datetimes: 'YYYY-MM-DD' and its midnight agree with a
 *     DATE image and a DATETIME2 image; other forms, invalid dates and
 *     non-zero fractions refused; an image's fraction kept
 *   - an image whose type is not the kind's is refused
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/cache/cache_keyval.h"
#include "halyard/protocol/mysql_proto.h"

static void sql_is(enum cache_key_kind k, const char *val, const char *want)
{
    char out[CACHE_KEYVAL_MAX];
    bool ok = cache_keyval_from_sql(k, val, out);
    if (want == NULL) {
        if (ok)
            fail_msg("%s: written as %s, want refused", val, out);
        return;
    }
    if (!ok)
        fail_msg("%s: refused, want %s", val, want);
    assert_string_equal(out, want);
}

static void image_is(enum cache_key_kind k, uint8_t type, uint16_t meta, const uint8_t *v,
                     size_t len, const char *want)
{
    char out[CACHE_KEYVAL_MAX];
    bool ok = cache_keyval_from_image(k, type, meta, v, len, out);
    if (want == NULL) {
        if (ok)
            fail_msg("image written as %s, want refused", out);
        return;
    }
    if (!ok)
        fail_msg("image refused, want %s", want);
    assert_string_equal(out, want);
}

static void test_kinds(void **state)
{
    (void)state;
    assert_int_equal(cache_keyval_kind("int", NULL), CACHE_KEY_INT);
    assert_int_equal(cache_keyval_kind("BIGINT", NULL), CACHE_KEY_INT);
    assert_int_equal(cache_keyval_kind("decimal", NULL), CACHE_KEY_DECIMAL);
    assert_int_equal(cache_keyval_kind("date", NULL), CACHE_KEY_DATE);
    assert_int_equal(cache_keyval_kind("datetime", NULL), CACHE_KEY_DATETIME);
    assert_int_equal(cache_keyval_kind("varchar", "utf8mb4_general_ci"), CACHE_KEY_STRING);
    assert_int_equal(cache_keyval_kind("char", "utf8mb4_unicode_ci"), CACHE_KEY_STRING);
    assert_int_equal(cache_keyval_kind("varchar", "utf8mb4_bin"), CACHE_KEY_STRING);
    assert_int_equal(cache_keyval_kind("varchar", "latin1_swedish_ci"), CACHE_KEY_NONE);
    assert_int_equal(cache_keyval_kind("varchar", "utf8mb4_czech_ci"), CACHE_KEY_NONE);
    assert_int_equal(cache_keyval_kind("varchar", NULL), CACHE_KEY_NONE);
    assert_int_equal(cache_keyval_kind("timestamp", NULL), CACHE_KEY_NONE);
    assert_int_equal(cache_keyval_kind("float", NULL), CACHE_KEY_NONE);
    assert_int_equal(cache_keyval_kind("text", "utf8mb4_general_ci"), CACHE_KEY_NONE);
    assert_int_equal(cache_keyval_kind(NULL, NULL), CACHE_KEY_NONE);
}

static void test_numbers(void **state)
{
    (void)state;
    sql_is(CACHE_KEY_INT, "5", "n5");
    sql_is(CACHE_KEY_INT, "-5", "n-5");
    sql_is(CACHE_KEY_DECIMAL, "1.5", "n1.5");
    sql_is(CACHE_KEY_DECIMAL, "'1.5", NULL); /* a string: compared as a DOUBLE */
    sql_is(CACHE_KEY_INT, "'5", NULL);
    /* DECIMAL(5,2): 3 integer digits (2 bytes), 2 decimals (1 byte) */
    const uint16_t m52 = 5 | 2 << 8;
    const uint8_t one[] = {0x80, 0x01, 0x00};     /* 1.00 */
    const uint8_t onefive[] = {0x80, 0x01, 0x32}; /* 1.50 */
    const uint8_t minus[] = {0x7f, 0xfe, 0xcd};   /* -1.50 */
    const uint8_t zero[] = {0x80, 0x00, 0x00};    /* 0.00 */
    const uint8_t big[] = {0x83, 0xe7, 0x05};     /* 999.05 */
    image_is(CACHE_KEY_DECIMAL, MYSQL_TYPE_NEWDECIMAL, m52, one, 3, "n1");
    image_is(CACHE_KEY_DECIMAL, MYSQL_TYPE_NEWDECIMAL, m52, onefive, 3, "n1.5");
    image_is(CACHE_KEY_DECIMAL, MYSQL_TYPE_NEWDECIMAL, m52, minus, 3, "n-1.5");
    image_is(CACHE_KEY_DECIMAL, MYSQL_TYPE_NEWDECIMAL, m52, zero, 3, "n0");
    image_is(CACHE_KEY_DECIMAL, MYSQL_TYPE_NEWDECIMAL, m52, big, 3, "n999.05");
    image_is(CACHE_KEY_DECIMAL, MYSQL_TYPE_NEWDECIMAL, m52, one, 2, NULL); /* wrong size */
    /* DECIMAL(12,0): 3 digits in 2 bytes, then 9 in 4 */
    const uint8_t d12[] = {0x80, 0x00, 0x07, 0x5b, 0xcd, 0x15}; /* 123456789 */
    image_is(CACHE_KEY_DECIMAL, MYSQL_TYPE_NEWDECIMAL, 12, d12, 6, "n123456789");
    image_is(CACHE_KEY_DECIMAL, MYSQL_TYPE_LONG, 0, d12, 4, NULL); /* not a DECIMAL's type */
}

static void test_strings(void **state)
{
    (void)state;
    sql_is(CACHE_KEY_STRING, "'abc", "sabc");
    sql_is(CACHE_KEY_STRING, "'ABC  ", "sabc");
    sql_is(CACHE_KEY_STRING, "' a B", "s a b");
    sql_is(CACHE_KEY_STRING, "'", "s");
    sql_is(CACHE_KEY_STRING,
           "'\xc3\xa0"
           "bc",
           NULL); /* àbc: equal to abc under _ci */
    sql_is(CACHE_KEY_STRING, "'a\tb", NULL);
    sql_is(CACHE_KEY_STRING, "'a~b", NULL);
    sql_is(CACHE_KEY_STRING, "5", NULL); /* a number: compared as a DOUBLE */
    const uint8_t var[] = {5, 'A', 'b', 'C', ' ', ' '};
    image_is(CACHE_KEY_STRING, MYSQL_TYPE_VARCHAR, 40, var, 6, "sabc");
    const uint8_t var2[] = {3, 0, 'x', 'Y', 'z'}; /* VARCHAR over 255 bytes: a 2-byte length */
    image_is(CACHE_KEY_STRING, MYSQL_TYPE_VARCHAR, 1020, var2, 5, "sxyz");
    const uint8_t acc[] = {4, 0xc3, 0xa0, 'b', 'c'};
    image_is(CACHE_KEY_STRING, MYSQL_TYPE_VARCHAR, 40, acc, 5, NULL);
    const uint8_t bad[] = {4, 'a', 'b'}; /* a length past the value */
    image_is(CACHE_KEY_STRING, MYSQL_TYPE_VARCHAR, 40, bad, 3, NULL);
    /* CHAR(10) utf8mb4: 40 bytes, type STRING, metadata (254, 40) */
    const uint16_t char40 = (uint16_t)(MYSQL_TYPE_STRING | 40 << 8);
    const uint8_t ch[] = {3, 'A', 'b', 'c'};
    image_is(CACHE_KEY_STRING, MYSQL_TYPE_STRING, char40, ch, 4, "sabc");
    /* ENUM also comes as STRING: not a string key's type */
    const uint16_t en = (uint16_t)(MYSQL_TYPE_ENUM | 1 << 8);
    image_is(CACHE_KEY_STRING, MYSQL_TYPE_STRING, en, ch, 1, NULL);
}

static void test_dates(void **state)
{
    (void)state;
    sql_is(CACHE_KEY_DATE, "'2020-01-02", "t2020-01-02 00:00:00");
    sql_is(CACHE_KEY_DATE, "'2020-01-02 00:00:00", NULL);
    sql_is(CACHE_KEY_DATE, "'2020-1-2", NULL);
    sql_is(CACHE_KEY_DATE, "'2021-02-29", NULL);
    sql_is(CACHE_KEY_DATE, "'2020-02-29", "t2020-02-29 00:00:00");
    sql_is(CACHE_KEY_DATE, "'0000-00-00", NULL);
    sql_is(CACHE_KEY_DATE, "20200102", NULL);
    sql_is(CACHE_KEY_DATETIME, "'2020-01-02", "t2020-01-02 00:00:00");
    sql_is(CACHE_KEY_DATETIME, "'2020-01-02 03:04:05", "t2020-01-02 03:04:05");
    sql_is(CACHE_KEY_DATETIME, "'2020-01-02 03:04:05.000", "t2020-01-02 03:04:05");
    sql_is(CACHE_KEY_DATETIME, "'2020-01-02 03:04:05.5", NULL);
    sql_is(CACHE_KEY_DATETIME, "'2020-01-02 24:00:00", NULL);
    sql_is(CACHE_KEY_DATETIME, "'2020-01-02T03:04:05", NULL);
    /* DATE: day | month << 5 | year << 9, 3 bytes little-endian */
    uint32_t d = 2 | 1 << 5 | 2020u << 9;
    const uint8_t date[] = {(uint8_t)d, (uint8_t)(d >> 8), (uint8_t)(d >> 16)};
    image_is(CACHE_KEY_DATE, MYSQL_TYPE_DATE, 0, date, 3, "t2020-01-02 00:00:00");
    image_is(CACHE_KEY_DATE, MYSQL_TYPE_DATETIME2, 0, date, 3, NULL);
    /* DATETIME2(0): 0x8000000000 + ((year * 13 + month) << 22 | day << 17 | h << 12 | m << 6 | s)
     */
    uint64_t x = UINT64_C(0x8000000000) +
                 ((uint64_t)(2020 * 13 + 1) << 22 | 2u << 17 | 3u << 12 | 4u << 6 | 5u);
    uint8_t dt[8];
    for (int i = 0; i < 5; i++)
        dt[i] = (uint8_t)(x >> (8 * (4 - i)));
    image_is(CACHE_KEY_DATETIME, MYSQL_TYPE_DATETIME2, 0, dt, 5, "t2020-01-02 03:04:05");
    /* DATETIME2(3): two more bytes, big-endian, in units of 100 us */
    dt[5] = 0x04;
    dt[6] = 0xd2; /* 1234: .1234 s -> fsp 3 stores 123.4 ms as 1234 * 100 us */
    image_is(CACHE_KEY_DATETIME, MYSQL_TYPE_DATETIME2, 3, dt, 7, "t2020-01-02 03:04:05.1234");
    dt[5] = dt[6] = 0;
    image_is(CACHE_KEY_DATETIME, MYSQL_TYPE_DATETIME2, 3, dt, 7, "t2020-01-02 03:04:05");
    image_is(CACHE_KEY_DATETIME, MYSQL_TYPE_DATETIME2, 3, dt, 5, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
