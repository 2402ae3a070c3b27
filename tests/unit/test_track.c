/*
 * test_track.c: the changes a session-state block reports (track.h).
 *
 *   - sql_mode entries give lexer options; the last one of a block counts
 *   - a schema entry gives the name; other entries are passed over
 *   - malformed blocks are HY_ERROR
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/sql/classify.h"
#include "halyard/sql/track.h"

#define BLOCK(s) (const uint8_t *)(s), sizeof(s) - 1

/* Exact bytes: each parse reads a heap copy of exactly the block. */
static hy_status_t parse(const uint8_t *b, size_t n, struct track_changes *out, uint8_t **copy)
{
    *copy = malloc(n > 0 ? n : 1);
    assert_non_null(*copy);
    memcpy(*copy, b, n);
    return track_parse(*copy, n, out);
}

static void test_sql_mode(void **state)
{
    (void)state;
    struct track_changes c;
    uint8_t *copy;

    /* after SET sql_mode='ANSI_QUOTES' (MariaDB 10.11, sql_mode tracked) */
    assert_int_equal(parse(BLOCK("\x00\x15\x08sql_mode\x0b"
                                 "ANSI_QUOTES"),
                           &c, &copy),
                     HY_OK);
    assert_true(c.sql_mode);
    assert_int_equal(c.lex_opts, CLO_ANSI_QUOTES);
    assert_false(c.schema);
    free(copy);

    /* two changes in one block: the last one counts; the name's case does not */
    assert_int_equal(parse(BLOCK("\x00\x1e\x08SQL_MODE\x14NO_BACKSLASH_ESCAPES"
                                 "\x00\x0a\x08sql_mode\x00"),
                           &c, &copy),
                     HY_OK);
    assert_true(c.sql_mode);
    assert_int_equal(c.lex_opts, 0);
    free(copy);

    /* another variable is not sql_mode */
    assert_int_equal(parse(BLOCK("\x00\x0e\x0a"
                                 "autocommit\x02ON"),
                           &c, &copy),
                     HY_OK);
    assert_false(c.sql_mode);
    free(copy);
}

static void test_schema_and_others(void **state)
{
    (void)state;
    struct track_changes c;
    uint8_t *copy;

    assert_int_equal(parse(BLOCK("\x02\x02\x01"
                                 "1"
                                 "\x01\x04\x03"
                                 "db1"
                                 "\x05\x09\x08"
                                 "T_______"
                                 "\x2a\x01z"),
                           &c, &copy),
                     HY_OK);
    assert_false(c.sql_mode);
    assert_true(c.schema);
    assert_int_equal(c.db_len, 3);
    assert_memory_equal(c.db, "db1", 3);
    free(copy);

    assert_int_equal(parse(BLOCK(""), &c, &copy), HY_OK);
    assert_false(c.sql_mode || c.schema);
    free(copy);
}

static void test_malformed(void **state)
{
    (void)state;
    struct track_changes c;
    uint8_t *copy;

    assert_int_equal(parse(BLOCK("\x00\x15\x08sql_mode\x0b"
                                 "ANSI_QUOTE"),
                           &c, &copy),
                     HY_ERROR);
    free(copy);
    /* what came before the fault is kept */
    assert_int_equal(parse(BLOCK("\x00\x15\x08sql_mode\x0b"
                                 "ANSI_QUOTES\x01\x09\x03"),
                           &c, &copy),
                     HY_ERROR);
    assert_true(c.sql_mode);
    free(copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sql_mode),
        cmocka_unit_test(test_schema_and_others),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
