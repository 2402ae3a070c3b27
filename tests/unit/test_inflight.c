/*
 * test_inflight.c: the marks of in-flight writes and the binary log's side
 * of finding them (inflight.h).
 *
 *   - a mark names the process, the session and the transaction, ends with
 *     its own comment close and a space; it is found in an event's Info
 *     wherever it sits, and the mark of transaction 1 is not found in the
 *     text of transaction 12
 *   - a file's Gtid_list began before a position when no GTID of it is past
 *     that position in its domain; "[]" always did; a list naming a domain
 *     the position lacks, a malformed one or none did not
 *   - INSERT_ID=n from an Intvar event's Info
 *   - the row events of a write found committed: rows counted (an UPDATE's
 *     pair of images one row; with dup_counts_2 an updated row 2), the
 *     first inserted row's integers kept (else the first updated row's
 *     after image), the end at XID or the next GTID; a rows event of an
 *     unmapped table, a compressed or truncated one: failed
 *   - INSERT and REPLACE recognised after spaces and comments
 *   - the triggers query: one row per table, its name quoted, the schema
 *     split at the last dot; a name without a schema, one that does not
 *     quote or a query over the bound: 0; the verdict: no trigger, seen,
 *     is the only clean one
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/protocol/binlog.h"

#include "halyard/replay/inflight.h"

static void test_mark(void **state)
{
    (void)state;
    char m[INFLIGHT_MARK_MAX];
    size_t n = inflight_mark(m, 0x1a2b3c4d5e6f7081ull, 7, 3);
    assert_string_equal(m, "/*hy:1a2b3c4d5e6f7081-7-3*/ ");
    assert_int_equal(n, strlen(m));
    n = inflight_mark(m, 0x42, 7, 3); /* all 16 digits, leading zeros too */
    assert_string_equal(m, "/*hy:0000000000000042-7-3*/ ");
    n = inflight_mark(m, UINT64_MAX, UINT32_MAX, UINT64_MAX);
    assert_true(n < INFLIGHT_MARK_MAX);
    assert_int_equal(m[n - 1], ' ');

    char one[INFLIGHT_MARK_MAX], twelve[INFLIGHT_MARK_MAX];
    size_t l1 = inflight_mark(one, 5, 9, 1) - 1;
    inflight_mark(twelve, 5, 9, 12);
    char info[200];
    snprintf(info, sizeof(info), "%sINSERT INTO t VALUES (1)", one);
    assert_true(inflight_info_has(info, one, l1));
    snprintf(info, sizeof(info), "use `db`; %sUPDATE t SET v = 1", one);
    assert_true(inflight_info_has(info, one, l1));
    snprintf(info, sizeof(info), "%sINSERT INTO t VALUES (1)", twelve);
    assert_false(inflight_info_has(info, one, l1));
    assert_false(inflight_info_has("INSERT INTO t VALUES (1)", one, l1));
    assert_false(inflight_info_has(NULL, one, l1));
    assert_false(inflight_info_has("/*hy:", one, l1));
}

/* The process's id in the marks: 64 bits from getrandom(2), drawn anew
 * each time (two halyards that start in the same second with the same pid,
 * in two containers, draw apart), never 0, every bit used. */
static void test_boot_new(void **state)
{
    (void)state;
    uint64_t seen[64], or_all = 0, and_all = UINT64_MAX;
    for (size_t i = 0; i < 64; i++) {
        assert_int_equal(inflight_boot_new(&seen[i]), HY_OK);
        assert_true(seen[i] != 0);
        for (size_t j = 0; j < i; j++)
            assert_true(seen[i] != seen[j]);
        or_all |= seen[i];
        and_all &= seen[i];
    }
    assert_true(or_all == UINT64_MAX); /* each bit was 1 once... */
    assert_true(and_all == 0);         /* ... and 0 once (about 2^-58 to fail by chance) */
}

static void test_file_began_before(void **state)
{
    (void)state;
    struct gtid_pos before;
    assert_int_equal(gtid_pos_parse("0-1-100,1-2-5", 13, &before), HY_OK);
    static const struct {
        const char *info;
        bool began;
    } cases[] = {
        {"[]", true},
        {"[0-1-100]", true},
        {"[0-1-99]", true},
        {"[0-1-101]", false},
        {"[0-1-50,0-2-100]", true}, /* two servers of one domain */
        {"[0-1-50,0-2-101]", false},
        {"[0-1-100,1-2-5]", true},
        {"[0-1-100,1-2-6]", false},
        {"[2-1-1]", false}, /* a domain the position lacks */
        {"[0-1-x]", false},
        {"0-1-5", false},
        {"", false},
        {NULL, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool got = inflight_file_began_before(cases[i].info, &before);
        if (got != cases[i].began)
            fail_msg("%s: %d, expected %d", cases[i].info ? cases[i].info : "NULL", got,
                     cases[i].began);
    }
}

static void test_insert_id(void **state)
{
    (void)state;
    assert_int_equal(inflight_insert_id("INSERT_ID=42"), 42);
    assert_int_equal(inflight_insert_id("LAST_INSERT_ID=42"), 0);
    assert_int_equal(inflight_insert_id(NULL), 0);
}

/* ---- row events */

static size_t event(uint8_t *out, uint8_t type, const uint8_t *body, size_t len)
{
    memset(out, 0, BINLOG_HEADER_LEN);
    out[4] = type;
    out[9] = (uint8_t)(BINLOG_HEADER_LEN + len);
    memcpy(out + BINLOG_HEADER_LEN, body, len);
    return BINLOG_HEADER_LEN + len;
}

/* table `id` s.t: INT (the AUTO_INCREMENT one), BIGINT, VARCHAR(20) */
static size_t map(uint8_t *out, uint8_t id)
{
    const uint8_t b[] = {id, 0,   0, 0, 0, 0, 0,  0, 1,  's', 0,
                         1,  't', 0, 3, 3, 8, 15, 2, 20, 0,   0x07};
    return event(out, BINLOG_TABLE_MAP, b, sizeof(b));
}

/* One image of every column: id, big, and a 1-byte string. */
static size_t img(uint8_t *p, uint32_t id, uint8_t big)
{
    size_t n = 0;
    p[n++] = 0; /* no NULL */
    for (int i = 0; i < 4; i++)
        p[n++] = (uint8_t)(id >> (8 * i));
    memset(p + n, 0, 8);
    p[n] = big;
    n += 8;
    p[n++] = 1;
    p[n++] = 'x';
    return n;
}

/* A v1 ROWS event of table `id`: `rows` rows (an UPDATE: pairs). */
static size_t rows(uint8_t *out, uint8_t type, uint8_t id, unsigned nrows, uint32_t first_id)
{
    uint8_t b[512] = {id, 0, 0, 0, 0, 0, 0, 0, 3, 0x07};
    size_t n = 10;
    bool update = type == BINLOG_UPDATE_ROWS_V1;
    if (update)
        b[n++] = 0x07;
    for (unsigned r = 0; r < nrows; r++) {
        if (update)
            n += img(b + n, first_id + r, 1);
        n += img(b + n, first_id + r, 2);
    }
    return event(out, type, b, n);
}

static void feed(struct inflight_rows *r, const uint8_t *ev, size_t len)
{
    inflight_rows_event(r, ev, len);
}

static void test_rows(void **state)
{
    (void)state;
    uint8_t ev[600];
    size_t n;
    /* an INSERT of 3 rows: 3, the first row's values kept */
    struct inflight_rows r = {.want_first = true, .dup_counts_2 = true};
    n = map(ev, 7);
    feed(&r, ev, n);
    n = rows(ev, BINLOG_WRITE_ROWS_V1, 7, 3, 41);
    feed(&r, ev, n);
    assert_false(r.done);
    n = event(ev, BINLOG_XID, (const uint8_t *)"\1\0\0\0\0\0\0\0", 8);
    feed(&r, ev, n);
    assert_true(r.done);
    assert_false(r.failed);
    assert_int_equal(r.affected, 3);
    assert_true(r.have_first && r.first_written);
    assert_string_equal(r.db, "s");
    assert_string_equal(r.table, "t");
    assert_int_equal(r.first_n, 3);
    assert_true(r.first_int[0] && r.first_int[1] && !r.first_int[2]);
    assert_int_equal(r.first_val[0], 41);
    assert_int_equal(r.first_val[1], 2);
    inflight_rows_free(&r);

    /* INSERT ... ON DUPLICATE KEY UPDATE: an updated row counts 2, an
     * inserted one 1; the inserted row's id wins over the updated one's */
    memset(&r, 0, sizeof(r));
    r.want_first = r.dup_counts_2 = true;
    n = map(ev, 7);
    feed(&r, ev, n);
    n = rows(ev, BINLOG_UPDATE_ROWS_V1, 7, 2, 5);
    feed(&r, ev, n);
    assert_true(r.have_first && !r.first_written);
    assert_int_equal(r.first_val[0], 5);
    assert_int_equal(r.first_val[1], 2); /* the after image */
    n = rows(ev, BINLOG_WRITE_ROWS_V1, 7, 1, 9);
    feed(&r, ev, n);
    assert_int_equal(r.affected, 5);
    assert_true(r.first_written);
    assert_int_equal(r.first_val[0], 9);
    inflight_rows_free(&r);

    /* an UPDATE and a DELETE: 1 each a row; the next GTID ends it */
    memset(&r, 0, sizeof(r));
    n = map(ev, 7);
    feed(&r, ev, n);
    n = rows(ev, BINLOG_UPDATE_ROWS_V1, 7, 4, 1);
    feed(&r, ev, n);
    n = rows(ev, BINLOG_DELETE_ROWS_V1, 7, 2, 1);
    feed(&r, ev, n);
    assert_int_equal(r.affected, 6);
    assert_false(r.have_first);
    n = event(ev, BINLOG_GTID, (const uint8_t *)"\0\0\0\0\0\0\0\0\0\0\0\0\0", 13);
    feed(&r, ev, n);
    assert_true(r.done && !r.failed);
    assert_false(r.tables_many); /* two events, one table */
    inflight_rows_free(&r);

    /* an INSERT whose BEFORE INSERT trigger writes another table first:
     * rows of two tables, which are the statement's is not known */
    memset(&r, 0, sizeof(r));
    r.want_first = true;
    n = map(ev, 8);
    feed(&r, ev, n);
    n = map(ev, 7);
    feed(&r, ev, n);
    n = rows(ev, BINLOG_WRITE_ROWS_V1, 8, 1, 1);
    feed(&r, ev, n);
    assert_false(r.tables_many);
    n = rows(ev, BINLOG_WRITE_ROWS_V1, 7, 1, 3);
    feed(&r, ev, n);
    assert_true(r.tables_many && !r.failed);
    inflight_rows_free(&r);

    /* a ROWS event of a table no TABLE_MAP named, a compressed one, a
     * truncated one: failed */
    memset(&r, 0, sizeof(r));
    n = rows(ev, BINLOG_WRITE_ROWS_V1, 8, 1, 1);
    feed(&r, ev, n);
    assert_true(r.done && r.failed);
    inflight_rows_free(&r);
    memset(&r, 0, sizeof(r));
    n = event(ev, BINLOG_WRITE_ROWS_COMPRESSED_V1, (const uint8_t *)"\7\0\0\0\0\0\0\0", 8);
    feed(&r, ev, n);
    assert_true(r.done && r.failed);
    memset(&r, 0, sizeof(r));
    n = map(ev, 7);
    feed(&r, ev, n);
    n = rows(ev, BINLOG_WRITE_ROWS_V1, 7, 2, 1);
    feed(&r, ev, n - 3);
    assert_true(r.done && r.failed);
    inflight_rows_free(&r);
}

static void test_is_insert(void **state)
{
    (void)state;
    const char *yes[] = {"INSERT INTO t VALUES (1)", "  insert into t", "/* x */ REPLACE t",
                         "\n/*a*//*b*/Insert"};
    const char *no[] = {"UPDATE t SET a = 1", "DELETE FROM t", "/* INSERT */ UPDATE t",
                        "/* unterminated INSERT", "INSER"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        assert_true(inflight_is_insert(yes[i], strlen(yes[i])));
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        assert_false(inflight_is_insert(no[i], strlen(no[i])));
}

static void test_triggers(void **state)
{
    (void)state;
    char sql[INFLIGHT_TRIG_SQL];
    const char two[][INFLIGHT_TABLE_MAX] = {"fi.b", "o'k.t"};
    size_t n = inflight_triggers_sql(sql, sizeof(sql), two, 2);
    assert_true(n > 0 && n == strlen(sql));
    assert_non_null(strstr(sql, "SELECT 0, "));
    assert_non_null(strstr(sql, " UNION ALL SELECT 1, "));
    assert_non_null(strstr(sql, "EVENT_OBJECT_SCHEMA = 'fi' AND EVENT_OBJECT_TABLE = 'b'"));
    assert_non_null(strstr(sql, "TABLE_SCHEMA = 'o''k' AND TABLE_NAME = 't'"));
    assert_null(strstr(sql, "SELECT 2, "));
    const char bad[][INFLIGHT_TABLE_MAX] = {"nodot"};
    assert_int_equal(inflight_triggers_sql(sql, sizeof(sql), bad, 1), 0);
    const char lead[][INFLIGHT_TABLE_MAX] = {".t"};
    assert_int_equal(inflight_triggers_sql(sql, sizeof(sql), lead, 1), 0);
    assert_int_equal(inflight_triggers_sql(sql, 100, two, 2), 0);
    assert_int_equal(inflight_triggers_sql(sql, sizeof(sql), two, 0), 0);
    assert_null(inflight_triggers_why(1, 0, 1));
    assert_non_null(strstr(inflight_triggers_why(1, 2, 1), "has triggers"));
    assert_non_null(strstr(inflight_triggers_why(1, 0, 0), "TRIGGER privilege"));
    assert_non_null(strstr(inflight_triggers_why(0, 0, 0), "not a base table"));
    assert_non_null(strstr(inflight_triggers_why(0, 0, 1), "not a base table"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mark),
        cmocka_unit_test(test_boot_new),
        cmocka_unit_test(test_file_began_before),
        cmocka_unit_test(test_insert_id),
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_is_insert),
        cmocka_unit_test(test_triggers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
