/*
 * test_replay.c: a transaction's record and its answers' checksums (replay.h).
 *
 *   - statements come back in order, byte for byte; the record is
 *     replayable only when every statement has its answer
 *   - past replay_max_size, or refused, it is not replayable and keeps nothing
 *   - the sum: the same answer gives the same sum; a different row, affected
 *     row count, insert id or error code a different one; status flags,
 *     warnings and info do not count; result_only leaves out insert ids
 *     and column definitions (not the number of columns), never an ERR, its
 *     code or the affected rows
 *   - a BEGIN that ended the transaction starts the record again alone,
 *     with its answer (replay_keep_last)
 *   - the statement in flight is dropped again (replay_pop), an answered one
 *     never; statements calling NOW(), RAND(), UUID()... are found, names
 *     in strings, comments or quotes are not
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/replay/replay.h"

#define P(s) (const uint8_t *)(s), sizeof(s) - 1

/* One packet of an answer. */
struct pkt {
    enum replay_pkt kind;
    const char *bytes;
    size_t len;
};

#define PK(k, s)                                                                                   \
    {                                                                                              \
        k, s, sizeof(s) - 1                                                                        \
    }

static struct replay_sum sum_of(const struct pkt *p, size_t n, bool result_only)
{
    struct replay_sum s;
    replay_sum_begin(&s, result_only);
    for (size_t i = 0; i < n; i++)
        replay_sum_packet(&s, p[i].kind, (const uint8_t *)p[i].bytes, p[i].len);
    return s;
}

static bool same(struct replay_sum x, struct replay_sum y)
{
    return x.a == y.a && x.b == y.b;
}

static void test_record(void **state)
{
    (void)state;
    struct replay_log l;
    replay_init(&l, 1 << 20, false);
    assert_true(replay_ok(&l)); /* nothing yet: nothing to disagree with */
    assert_int_equal(replay_add(&l, P("\x03"
                                      "BEGIN")),
                     HY_OK);
    assert_false(replay_ok(&l)); /* not answered yet */
    struct pkt ok[] = {PK(REPLAY_PKT_OK, "\x00\x00\x00\x03\x00\x00\x00")};
    struct replay_sum s = sum_of(ok, 1, false);
    replay_answer(&l, &s);
    assert_true(replay_ok(&l));
    for (int i = 0; i < 100; i++) { /* past the first allocations */
        char q[64];
        int n = snprintf(q, sizeof(q), "\x03UPDATE t SET v = %d WHERE id = 1", i);
        assert_int_equal(replay_add(&l, (const uint8_t *)q, (uint32_t)n), HY_OK);
        replay_answer(&l, &s);
    }
    const uint8_t *p;
    uint32_t len;
    assert_true(replay_stmt(&l, 0, &p, &len));
    assert_int_equal(len, 6);
    assert_memory_equal(p,
                        "\x03"
                        "BEGIN",
                        6);
    assert_true(replay_stmt(&l, 100, &p, &len));
    assert_int_equal(len, strlen("\x03UPDATE t SET v = 99 WHERE id = 1"));
    assert_memory_equal(p, "\x03UPDATE t SET v = 99 WHERE id = 1", len);
    assert_false(replay_stmt(&l, 101, &p, &len));
    assert_true(replay_check(&l, 0, &s));
    assert_true(replay_check(&l, 100, &s));
    assert_false(replay_check(&l, 101, &s));
    /* the transaction ended: empty again, the memory kept */
    replay_reset(&l);
    assert_false(replay_stmt(&l, 0, &p, &len));
    assert_true(replay_ok(&l));
    assert_non_null(l.buf.data);
    replay_free(&l);
    assert_null(l.buf.data);
}

static void test_bound_and_refuse(void **state)
{
    (void)state;
    struct replay_log l;
    replay_init(&l, 32, false);
    struct replay_sum s;
    replay_sum_begin(&s, false);
    assert_int_equal(replay_add(&l, P("\x03"
                                      "SELECT 1 FROM t WHERE a=1")),
                     HY_OK); /* 26 bytes */
    replay_answer(&l, &s);
    assert_true(replay_ok(&l));
    assert_int_equal(replay_add(&l, P("\x03"
                                      "SELECT 2")),
                     HY_OK); /* 35 > 32 */
    assert_false(replay_ok(&l));
    assert_null(l.buf.data);
    const uint8_t *p;
    uint32_t len;
    assert_false(replay_stmt(&l, 0, &p, &len));
    assert_false(replay_check(&l, 0, &s));
    /* stays so until the transaction ends */
    assert_int_equal(replay_add(&l, P("\x03")), HY_OK);
    assert_false(replay_ok(&l));
    replay_reset(&l);
    assert_true(replay_ok(&l));
    assert_int_equal(replay_add(&l, P("\x03"
                                      "SELECT 3")),
                     HY_OK);
    replay_answer(&l, &s);
    assert_true(replay_ok(&l));
    replay_refuse(&l); /* e.g. a statement that cannot run twice */
    assert_false(replay_ok(&l));
    replay_reset(&l);
    /* exactly the bound fits */
    static const uint8_t full[32] = {0x03};
    assert_int_equal(replay_add(&l, full, sizeof(full)), HY_OK);
    replay_answer(&l, &s);
    assert_true(replay_ok(&l));
    replay_free(&l);
}

/* A result of two columns and two rows (CLIENT_DEPRECATE_EOF). */
static const struct pkt result[] = {
    PK(REPLAY_PKT_COLDEF, "\x02"),
    PK(REPLAY_PKT_COLDEF, "\x03"
                          "def\x01t\x01t\x01t\x02id\x02id\x0c\x3f\x00\x0b\x00\x00\x00\x03\x03\x50"
                          "\x00\x00\x00"),
    PK(REPLAY_PKT_COLDEF, "\x03"
                          "def\x01t\x01t\x01t\x01v\x01v\x0c\x21\x00\x40\x00\x00\x00\xfd\x00\x00"
                          "\x00\x00\x00"),
    PK(REPLAY_PKT_ROW, "\x01"
                       "1\x03"
                       "abc"),
    PK(REPLAY_PKT_ROW, "\x01"
                       "2\xfb"),
    PK(REPLAY_PKT_OK, "\xfe\x00\x00\x02\x00\x00\x00"),
};

static void test_sum(void **state)
{
    (void)state;
    size_t n = sizeof(result) / sizeof(result[0]);
    struct pkt alt[sizeof(result) / sizeof(result[0])];
    memcpy(alt, result, sizeof(alt));
    assert_true(same(sum_of(result, n, false), sum_of(alt, n, false)));

    /* another value in a row */
    alt[3] = (struct pkt)PK(REPLAY_PKT_ROW, "\x01"
                                            "1\x03"
                                            "abd");
    assert_false(same(sum_of(result, n, false), sum_of(alt, n, false)));
    assert_false(same(sum_of(result, n, true), sum_of(alt, n, true)));
    /* the rows in another order */
    memcpy(alt, result, sizeof(alt));
    alt[3] = result[4];
    alt[4] = result[3];
    assert_false(same(sum_of(result, n, false), sum_of(alt, n, false)));
    /* without the final OK: a different answer, result_only too (it ends
     * the answer, where an ERR could come) */
    assert_false(same(sum_of(result, n, false), sum_of(result, n - 1, false)));
    assert_false(same(sum_of(result, n, true), sum_of(result, n - 1, true)));
    /* result_only: another column name or type is the same, another
     * number of columns is not */
    memcpy(alt, result, sizeof(alt));
    alt[2] = (struct pkt)PK(REPLAY_PKT_COLDEF, "\x03"
                                               "def\x01t\x01t\x01t\x01w\x01w\x0c\x21\x00\x40\x00"
                                               "\x00\x00\x0f\x00\x00\x00\x00\x00");
    assert_false(same(sum_of(result, n, false), sum_of(alt, n, false)));
    assert_true(same(sum_of(result, n, true), sum_of(alt, n, true)));
    struct pkt one_col[] = {result[0], result[1], result[3], result[4], result[5]};
    assert_false(same(sum_of(result, n, true), sum_of(one_col, 5, true)));
    /* a row less */
    struct pkt fewer[] = {result[0], result[1], result[2], result[3], result[5]};
    assert_false(same(sum_of(result, n, true), sum_of(fewer, 5, true)));
    /* the rows' bytes split differently over packets */
    struct pkt split[] = {result[0],
                          result[1],
                          result[2],
                          PK(REPLAY_PKT_ROW, "\x01"
                                             "1"),
                          PK(REPLAY_PKT_ROW, "\x03"
                                             "abc"),
                          result[4],
                          result[5]};
    assert_false(same(sum_of(result, n, true), sum_of(split, 7, true)));
    /* another status or warning count at the end: the same */
    memcpy(alt, result, sizeof(alt));
    alt[5] = (struct pkt)PK(REPLAY_PKT_OK, "\xfe\x00\x00\x22\x00\x01\x00");
    assert_true(same(sum_of(result, n, false), sum_of(alt, n, false)));
    /* an EOF between definitions and rows, or a progress report: nothing */
    struct pkt with_eof[] = {
        result[0], result[1], result[2], PK(REPLAY_PKT_OTHER, "\xfe\x00\x00\x02\x00"),
        result[3], result[4], result[5]};
    assert_true(same(sum_of(result, n, false), sum_of(with_eof, 7, false)));
}

static void test_sum_ok_err(void **state)
{
    (void)state;
    /* UPDATE: 3 rows affected; INSERT: insert id 42 */
    struct pkt upd3[] = {PK(REPLAY_PKT_OK, "\x00\x03\x00\x03\x00\x00\x00")};
    struct pkt upd3_info[] = {PK(REPLAY_PKT_OK, "\x00\x03\x00\x01\x00\x00\x00"
                                                "\x28Rows matched: 3  Changed: 3  Warnings: 0")};
    struct pkt upd2[] = {PK(REPLAY_PKT_OK, "\x00\x02\x00\x03\x00\x00\x00")};
    struct pkt ins42[] = {PK(REPLAY_PKT_OK, "\x00\x01\x2a\x03\x00\x00\x00")};
    struct pkt ins43[] = {PK(REPLAY_PKT_OK, "\x00\x01\x2b\x03\x00\x00\x00")};
    assert_true(same(sum_of(upd3, 1, false), sum_of(upd3_info, 1, false)));
    assert_false(same(sum_of(upd3, 1, false), sum_of(upd2, 1, false)));
    assert_false(same(sum_of(ins42, 1, false), sum_of(ins43, 1, false)));
    /* result_only: an OK's affected rows count, its insert id does not */
    assert_false(same(sum_of(upd3, 1, true), sum_of(upd2, 1, true)));
    assert_true(same(sum_of(ins42, 1, true), sum_of(ins43, 1, true)));
    assert_true(same(sum_of(upd3, 1, true), sum_of(upd3_info, 1, true)));
    /* an ERR by its code, not its message */
    struct pkt dup[] = {
        PK(REPLAY_PKT_ERR, "\xff\x26\x04#23000Duplicate entry '1' for key 'PRIMARY'")};
    struct pkt dup2[] = {
        PK(REPLAY_PKT_ERR, "\xff\x26\x04#23000Duplicate entry '2' for key 'PRIMARY'")};
    struct pkt lock[] = {PK(REPLAY_PKT_ERR, "\xff\xd5\x04#40001Deadlock found")};
    assert_true(same(sum_of(dup, 1, false), sum_of(dup2, 1, false)));
    assert_false(same(sum_of(dup, 1, false), sum_of(lock, 1, false)));
    /* an OK is not an ERR, nor an empty answer; result_only too */
    for (int ro = 0; ro <= 1; ro++) {
        assert_false(same(sum_of(upd3, 1, ro), sum_of(dup, 1, ro)));
        assert_false(same(sum_of(upd3, 1, ro), sum_of(upd3, 0, ro)));
        assert_false(same(sum_of(dup, 1, ro), sum_of(dup, 0, ro)));
        assert_false(same(sum_of(dup, 1, ro), sum_of(lock, 1, ro)));
        assert_true(same(sum_of(dup, 1, ro), sum_of(dup2, 1, ro)));
        /* an empty result is not an OK of 0 rows */
        struct pkt empty[] = {result[0], result[1], result[2], result[5]};
        struct pkt upd0[] = {PK(REPLAY_PKT_OK, "\x00\x00\x00\x02\x00\x00\x00")};
        assert_false(same(sum_of(empty, 4, ro), sum_of(upd0, 1, ro)));
        assert_false(same(sum_of(empty, 4, ro), sum_of(dup, 1, ro)));
    }
    /* a truncated OK still sums (as unreadable), without reading past it */
    struct pkt cut[] = {PK(REPLAY_PKT_OK, "\x00\xfc\x01")};
    assert_false(same(sum_of(cut, 1, false), sum_of(upd3, 1, false)));
}

static void test_pop(void **state)
{
    (void)state;
    struct replay_log l;
    replay_init(&l, 1024, false);
    struct replay_sum s;
    replay_sum_begin(&s, false);
    assert_int_equal(replay_add(&l, P("\x03"
                                      "BEGIN")),
                     HY_OK);
    replay_answer(&l, &s);
    assert_int_equal(replay_add(&l, P("\x03UPDATE t SET v = 1")), HY_OK);
    assert_false(replay_ok(&l));
    replay_pop(&l); /* in flight: dropped */
    assert_true(replay_ok(&l));
    assert_int_equal(l.n, 1);
    assert_int_equal(l.buf.len, 6);
    replay_pop(&l); /* answered: kept */
    assert_int_equal(l.n, 1);
    const uint8_t *p;
    uint32_t n;
    assert_true(replay_stmt(&l, 0, &p, &n));
    assert_memory_equal(p,
                        "\x03"
                        "BEGIN",
                        6);
    replay_free(&l);
}

/* A BEGIN inside the transaction ended it: it alone, with its answer,
 * starts the record again; a statement with no answer, or a refused
 * record, cannot. */
static void test_keep_last(void **state)
{
    (void)state;
    struct replay_log l;
    replay_init(&l, 1024, false);
    struct replay_sum s, begin;
    replay_sum_begin(&s, false);
    assert_int_equal(replay_add(&l, P("\x03UPDATE t SET v = v + 1")), HY_OK);
    replay_answer(&l, &s);
    assert_int_equal(replay_add(&l, P("\x03START TRANSACTION")), HY_OK);
    assert_false(replay_keep_last(&l)); /* not answered yet */
    assert_int_equal(l.n, 2);
    static const struct pkt ok[] = {PK(REPLAY_PKT_OK, "\x00\x00\x00\x03\x00\x00\x00")};
    begin = sum_of(ok, 1, false);
    replay_answer(&l, &begin);
    assert_true(replay_keep_last(&l));
    assert_int_equal(l.n, 1);
    assert_int_equal(l.buf.len, 18);
    assert_true(replay_ok(&l));
    assert_true(replay_check(&l, 0, &begin));
    assert_false(replay_check(&l, 1, &begin));
    const uint8_t *p;
    uint32_t n;
    assert_true(replay_stmt(&l, 0, &p, &n));
    assert_int_equal(n, 18);
    assert_memory_equal(p, "\x03START TRANSACTION", 18);
    assert_false(replay_stmt(&l, 1, &p, &n));
    /* the next statement goes after it */
    assert_int_equal(replay_add(&l, P("\x03UPDATE t SET v = 2")), HY_OK);
    assert_true(replay_stmt(&l, 1, &p, &n));
    assert_memory_equal(p, "\x03UPDATE t SET v = 2", n);
    replay_refuse(&l);
    assert_false(replay_keep_last(&l));
    replay_free(&l);
    replay_init(&l, 1024, false);
    assert_false(replay_keep_last(&l)); /* empty */
    replay_free(&l);
}

static void test_nondeterministic(void **state)
{
    (void)state;
    struct {
        const char *sql;
        const char *fn; /* NULL: deterministic */
    } cases[] = {
        {"INSERT INTO t VALUES (1, NOW())", "NOW"},
        {"update t set at = current_timestamp where id = 2", "CURRENT_TIMESTAMP"},
        {"SELECT rand ( ) FROM t", "RAND"},
        {"INSERT INTO t (u) VALUES (UUID())", "UUID"},
        {"SELECT CONNECTION_ID()", "CONNECTION_ID"},
        {"SELECT 1 /*!100000 + UNIX_TIMESTAMP() */", "UNIX_TIMESTAMP"},
        {"SELECT id, v FROM t WHERE id = 1 FOR UPDATE", NULL},
        {"SELECT 'NOW()' , `rand`() FROM t -- uuid()", NULL},
        {"UPDATE t SET v = v + 1 WHERE id IN (1, 2)", NULL},
        {"SELECT now FROM t", NULL},
        {"SELECT id, current_role FROM t", "CURRENT_ROLE"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *fn = replay_nondeterministic(cases[i].sql, strlen(cases[i].sql), 0);
        if (cases[i].fn == NULL)
            assert_null(fn);
        else
            assert_string_equal(fn, cases[i].fn);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record),    cmocka_unit_test(test_bound_and_refuse),
        cmocka_unit_test(test_sum),       cmocka_unit_test(test_sum_ok_err),
        cmocka_unit_test(test_pop),       cmocka_unit_test(test_nondeterministic),
        cmocka_unit_test(test_keep_last),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
