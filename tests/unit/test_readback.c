/*
 * test_readback.c: reading back what a SET assigned (readback.h).
 *
 *   - the query asks for each variable's value, collation and bytes, once
 *   - an answer (column count, definitions, EOF or not, one row) becomes
 *     typed values: signed, unsigned, double, decimal, string with its
 *     collation, binary, NULL
 *   - answers that are not what was asked for fail: ERR, wrong column
 *     count, no row, a packet not held whole, an unknown type
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/protocol/mysql_proto.h"
#include "halyard/sql/readback.h"
#include "packets.h"

static void test_sql(void **state)
{
    (void)state;
    struct readback rb;
    readback_init(&rb);
    char sql[512];
    assert_int_equal(readback_sql(&rb, sql, sizeof(sql)), 0);
    assert_int_equal(readback_add(&rb, VS_USER, "id", 2), HY_OK);
    assert_int_equal(readback_add(&rb, VS_USER, "ID", 2), HY_OK); /* the same one */
    assert_int_equal(readback_add(&rb, VS_SYSTEM, "sql_mode", 8), HY_OK);
    assert_int_equal(readback_add(&rb, VS_USER, "a`b", 3), HY_ERROR);
    assert_int_equal(readback_add(&rb, VS_SYSTEM, "a.b", 3), HY_ERROR);
    assert_int_equal(rb.n, 2);
    const char *want = "SELECT @`id`, CAST(COLLATION(@`id`) AS BINARY), CAST(@`id` AS BINARY), "
                       "@@session.sql_mode, CAST(COLLATION(@@session.sql_mode) AS BINARY), "
                       "CAST(@@session.sql_mode AS BINARY) LIMIT 18446744073709551615";
    assert_int_equal(readback_sql(&rb, sql, sizeof(sql)), strlen(want));
    assert_string_equal(sql, want);
    /* too small: the length it needs */
    assert_int_equal(readback_sql(&rb, sql, 10), strlen(want));

    readback_init(&rb);
    char name[8];
    for (int i = 0; i < READBACK_MAX; i++) {
        snprintf(name, sizeof(name), "v%d", i);
        assert_int_equal(readback_add(&rb, VS_USER, name, strlen(name)), HY_OK);
    }
    assert_int_equal(readback_add(&rb, VS_USER, "one_more", 8), HY_ERROR);
}

/* ---- answers, byte by byte ---------------------------------------------- */

struct pkt {
    uint8_t b[600];
    uint32_t n;
};

/* A column definition as MariaDB 10.11 sends it. */
static struct pkt coldef(const char *name, uint16_t charset, uint8_t type, uint16_t flags)
{
    struct pkt p;
    struct pk_col c = {
        .name = name, .charset = charset, .length = 20, .type = type, .flags = flags};
    p.n = (uint32_t)pk_coldef(p.b, sizeof(p.b), &c);
    return p;
}

/* A text row: each column a string, or NULL for SQL NULL; lens[i] its length. */
static struct pkt row(int n, const char *const *cols, const size_t *lens)
{
    struct pkt p = {.n = 0};
    for (int i = 0; i < n; i++) {
        if (cols[i] == NULL)
            p.b[p.n++] = 0xfb;
        else
            p.n += (uint32_t)pk_lenenc_str(p.b + p.n, cols[i], lens[i]);
    }
    return p;
}

static const uint8_t EOF_PKT[] = {0xfe, 0x00, 0x00, 0x02, 0x00};

/* Feed a whole answer for rb's variables: types[i]/flags[i] of each value
 * column, then the row; with or without EOF after the definitions. */
static void feed_answer(struct readback *rb, struct varstate *vs, bool deprecate_eof,
                        const uint8_t *types, const uint16_t *flags, const char *const *cols,
                        const size_t *lens)
{
    readback_start(
        rb, deprecate_eof ? CLIENT_DEPRECATE_EOF | CLIENT_PROTOCOL_41 : CLIENT_PROTOCOL_41, 0);
    uint8_t count = (uint8_t)(rb->n * 3);
    readback_feed(rb, &count, 1, true, vs);
    for (uint32_t i = 0; i < rb->n; i++) {
        struct pkt v = coldef("v", 63, types[i], flags[i]);
        struct pkt c = coldef("COLLATION(v)", 33, MYSQL_TYPE_VAR_STRING, 0);
        struct pkt r = coldef("CAST(v AS BINARY)", 63, MYSQL_TYPE_LONG_BLOB, 0x80);
        readback_feed(rb, v.b, v.n, true, vs);
        readback_feed(rb, c.b, c.n, true, vs);
        readback_feed(rb, r.b, r.n, true, vs);
    }
    if (!deprecate_eof)
        readback_feed(rb, EOF_PKT, sizeof(EOF_PKT), true, vs);
    struct pkt rw = row((int)rb->n * 3, cols, lens);
    readback_feed(rb, rw.b, rw.n, true, vs);
    readback_feed(rb, EOF_PKT, sizeof(EOF_PKT), true, vs); /* the terminator */
}

#define L(s) (sizeof(s) - 1)

static void test_values(void **state)
{
    (void)state;
    static const struct {
        uint8_t type;
        uint16_t flags;
        const char *val, *coll, *raw; /* val NULL: SQL NULL */
        size_t val_len, raw_len;
        enum varstate_type want;
        const char *want_data;
        size_t want_len;
        const char *want_coll;
        bool want_null;
    } cases[] = {
        {MYSQL_TYPE_LONGLONG, 0, "42", "binary", "42", L("42"), L("42"), VS_INT, "42", 2, NULL},
        {MYSQL_TYPE_LONGLONG, 0, "-5", "binary", "-5", 2, 2, VS_INT, "-5", 2, NULL},
        {MYSQL_TYPE_LONGLONG, MYSQL_UNSIGNED_FLAG, "18446744073709551615", "binary",
         "18446744073709551615", 20, 20, VS_UINT, "18446744073709551615", 20, NULL},
        {MYSQL_TYPE_DOUBLE, 0, "0.37998524157329017", "binary", "0.37998524157329017", 19, 19,
         VS_DOUBLE, "0.37998524157329017", 19, NULL},
        {MYSQL_TYPE_NEWDECIMAL, 0, "145170.2845703534", "binary", "145170.2845703534", 17, 17,
         VS_DECIMAL, "145170.2845703534", 17, NULL},
        /* a string: the bytes CAST AS BINARY gave, not the converted value */
        {MYSQL_TYPE_LONG_BLOB, 0, "\xc3\xa9", "latin1_swedish_ci", "\xe9", 2, 1, VS_STRING, "\xe9",
         1, "latin1_swedish_ci"},
        {MYSQL_TYPE_LONG_BLOB, 0, "", "utf8mb4_general_ci", "", 0, 0, VS_STRING, "", 0,
         "utf8mb4_general_ci"},
        {MYSQL_TYPE_LONG_BLOB, 0, "\x00\xff", "binary", "\x00\xff", 2, 2, VS_BINARY, "\x00\xff", 2,
         NULL},
        {MYSQL_TYPE_VAR_STRING, 0, "STRICT_TRANS_TABLES", "utf8mb3_general_ci",
         "STRICT_TRANS_TABLES", 19, 19, VS_STRING, "STRICT_TRANS_TABLES", 19, "utf8mb3_general_ci"},
        /* NULL keeps its type: none (SET @x = NULL), DECIMAL (1/0), a string's collation */
        {MYSQL_TYPE_LONG_BLOB, 0, NULL, "binary", NULL, 0, 0, VS_NULL, NULL, 0, NULL, false},
        {MYSQL_TYPE_NEWDECIMAL, 0, NULL, "binary", NULL, 0, 0, VS_DECIMAL, NULL, 0, NULL, true},
        {MYSQL_TYPE_LONGLONG, MYSQL_UNSIGNED_FLAG, NULL, "binary", NULL, 0, 0, VS_UINT, NULL, 0,
         NULL, true},
        {MYSQL_TYPE_LONG_BLOB, 0, NULL, "utf8mb4_general_ci", NULL, 0, 0, VS_STRING, NULL, 0,
         "utf8mb4_general_ci", true},
        {MYSQL_TYPE_NULL, 0, NULL, "binary", NULL, 0, 0, VS_NULL, NULL, 0, NULL, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int eof = 0; eof < 2; eof++) {
            struct varstate *vs = varstate_create(100000);
            struct readback rb;
            readback_init(&rb);
            assert_int_equal(readback_add(&rb, VS_USER, "v", 1), HY_OK);
            const char *cols[3] = {cases[i].val, cases[i].coll, cases[i].raw};
            size_t lens[3] = {cases[i].val_len, strlen(cases[i].coll), cases[i].raw_len};
            feed_answer(&rb, vs, eof == 1, &cases[i].type, &cases[i].flags, cols, lens);
            assert_int_equal(readback_done(&rb), HY_OK);
            struct varstate_value v;
            assert_true(varstate_get(vs, VS_USER, "v", 1, &v));
            assert_int_equal(v.type, cases[i].want);
            assert_int_equal(v.null, cases[i].want_null);
            assert_int_equal(v.len, cases[i].want_len);
            if (cases[i].want_len > 0)
                assert_memory_equal(v.data, cases[i].want_data, v.len);
            if (cases[i].want_coll != NULL)
                assert_string_equal(v.collation, cases[i].want_coll);
            varstate_destroy(vs);
        }
    }
}

static void test_two_scopes(void **state)
{
    (void)state;
    struct varstate *vs = varstate_create(100000);
    struct readback rb;
    readback_init(&rb);
    assert_int_equal(readback_add(&rb, VS_USER, "id", 2), HY_OK);
    assert_int_equal(readback_add(&rb, VS_SYSTEM, "autocommit", 10), HY_OK);
    const uint8_t types[2] = {MYSQL_TYPE_LONGLONG, MYSQL_TYPE_LONGLONG};
    const uint16_t flags[2] = {0, 0};
    const char *cols[6] = {"7", "binary", "7", "0", "binary", "0"};
    const size_t lens[6] = {1, 6, 1, 1, 6, 1};
    feed_answer(&rb, vs, true, types, flags, cols, lens);
    assert_int_equal(readback_done(&rb), HY_OK);
    struct varstate_value v;
    assert_true(varstate_get(vs, VS_USER, "id", 2, &v));
    assert_memory_equal(v.data, "7", 1);
    assert_true(varstate_get(vs, VS_SYSTEM, "autocommit", 10, &v));
    assert_memory_equal(v.data, "0", 1);
    assert_false(varstate_get(vs, VS_USER, "autocommit", 10, &v));
    varstate_destroy(vs);
}

static void test_bad_answers(void **state)
{
    (void)state;
    struct varstate *vs = varstate_create(100000);
    struct readback rb;
    const uint8_t ll = MYSQL_TYPE_LONGLONG;
    const uint16_t none = 0;
    const char *cols[3] = {"1", "binary", "1"};
    const size_t lens[3] = {1, 6, 1};

    /* nothing fed: not learned */
    readback_init(&rb);
    assert_int_equal(readback_add(&rb, VS_USER, "v", 1), HY_OK);
    readback_start(&rb, CLIENT_PROTOCOL_41, 0);
    assert_int_equal(readback_done(&rb), HY_ERROR);

    /* an ERR */
    static const uint8_t err[] = {0xff, 0x28, 0x04, '#', '4', '2', '0', '0', '0', 'x'};
    readback_start(&rb, CLIENT_PROTOCOL_41, 0);
    readback_feed(&rb, err, sizeof(err), true, vs);
    assert_int_equal(readback_done(&rb), HY_ERROR);

    /* a column count other than asked for */
    uint8_t two = 2;
    readback_start(&rb, CLIENT_PROTOCOL_41, 0);
    readback_feed(&rb, &two, 1, true, vs);
    assert_int_equal(readback_done(&rb), HY_ERROR);

    /* definitions, then the terminator: no row */
    readback_start(&rb, CLIENT_PROTOCOL_41 | CLIENT_DEPRECATE_EOF, 0);
    uint8_t three = 3;
    readback_feed(&rb, &three, 1, true, vs);
    for (int i = 0; i < 3; i++) {
        struct pkt c = coldef("v", 63, ll, 0);
        readback_feed(&rb, c.b, c.n, true, vs);
    }
    readback_feed(&rb, EOF_PKT, sizeof(EOF_PKT), true, vs);
    assert_int_equal(readback_done(&rb), HY_ERROR);

    /* a definition that is not one */
    readback_start(&rb, CLIENT_PROTOCOL_41, 0);
    readback_feed(&rb, &three, 1, true, vs);
    static const uint8_t junk[] = {3, 'a', 'b', 'c'};
    readback_feed(&rb, junk, sizeof(junk), true, vs);
    assert_int_equal(readback_done(&rb), HY_ERROR);

    /* the row not held whole */
    readback_init(&rb);
    assert_int_equal(readback_add(&rb, VS_USER, "v", 1), HY_OK);
    readback_start(&rb, CLIENT_PROTOCOL_41 | CLIENT_DEPRECATE_EOF, 0);
    readback_feed(&rb, &three, 1, true, vs);
    for (int i = 0; i < 3; i++) {
        struct pkt c = coldef("v", 63, ll, 0);
        readback_feed(&rb, c.b, c.n, true, vs);
    }
    struct pkt rw = row(3, cols, lens);
    readback_feed(&rb, rw.b, rw.n, false, vs);
    assert_int_equal(readback_done(&rb), HY_ERROR);

    /* a type no variable has (DATE) */
    readback_init(&rb);
    assert_int_equal(readback_add(&rb, VS_USER, "v", 1), HY_OK);
    const uint8_t date = 10;
    feed_answer(&rb, vs, true, &date, &none, cols, lens);
    assert_int_equal(readback_done(&rb), HY_ERROR);

    /* an integer that is not one */
    readback_init(&rb);
    assert_int_equal(readback_add(&rb, VS_USER, "v", 1), HY_OK);
    const char *bad[3] = {"1)", "binary", "1)"};
    const size_t bad_lens[3] = {2, 6, 2};
    feed_answer(&rb, vs, true, &ll, &none, bad, bad_lens);
    assert_int_equal(readback_done(&rb), HY_ERROR);

    /* a row with a column too many */
    readback_init(&rb);
    assert_int_equal(readback_add(&rb, VS_USER, "v", 1), HY_OK);
    readback_start(&rb, CLIENT_PROTOCOL_41 | CLIENT_DEPRECATE_EOF, 0);
    readback_feed(&rb, &three, 1, true, vs);
    for (int i = 0; i < 3; i++) {
        struct pkt c = coldef("v", 63, ll, 0);
        readback_feed(&rb, c.b, c.n, true, vs);
    }
    const char *four[4] = {"1", "binary", "1", "1"};
    const size_t four_lens[4] = {1, 6, 1, 1};
    rw = row(4, four, four_lens);
    readback_feed(&rb, rw.b, rw.n, true, vs);
    assert_int_equal(readback_done(&rb), HY_ERROR);
    varstate_destroy(vs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sql),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_two_scopes),
        cmocka_unit_test(test_bad_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
