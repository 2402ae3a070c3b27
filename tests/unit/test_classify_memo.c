/*
 * test_classify_memo.c: the memo of classifications (classify_memo.h)
 * answers exactly as classify() does.
 *
 * A generator (fixed seed) writes statements from a small grammar that
 * puts digits everywhere: numbers in every clause (WHERE, LIMIT/OFFSET,
 * SET autocommit and other variables, KILL, XA ids, FOR UPDATE WAIT),
 * numbers the lexer reads otherwise (0x1F, 1e5, 1.5, .5, -5, 0b01), names
 * with digits (t1, 1t, `1`), strings '12', comments with digits, executable
 * comments with versions of every length, halyard hints, several
 * statements, each lexer option. Each text goes through the memo twice,
 * then changed (digits anywhere made other digits, or a digit made a
 * letter or a dot) once more; every answer is compared, field by field,
 * with classify() of the same text, and the digest too (whole, cut short
 * by a small buffer, or not asked for).
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
#include "halyard/sql/classify_memo.h"

/* ---- a fixed-seed generator ---- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

#define TEXT_CAP 1024

struct text {
    char s[TEXT_CAP];
    size_t n;
};

static void put(struct text *t, const char *s)
{
    size_t k = strlen(s);
    if (t->n + k < TEXT_CAP) {
        memcpy(t->s + t->n, s, k);
        t->n += k;
    }
}

static void put_digits(struct text *t, unsigned min, unsigned max)
{
    unsigned k = min + rnd(max - min + 1);
    char d[2] = {0};
    for (unsigned i = 0; i < k; i++) {
        d[0] = (char)('0' + rnd(10));
        put(t, d);
    }
}

/* before, min to max random digits, after: a comment, a version, a string */
static void put_around(struct text *t, const char *before, unsigned min, unsigned max,
                       const char *after)
{
    put(t, before);
    put_digits(t, min, max);
    put(t, after);
}

#define PICK(t, ...)                                                                               \
    do {                                                                                           \
        static const char *const opts_[] = {__VA_ARGS__};                                          \
        put(t, opts_[rnd(sizeof(opts_) / sizeof(opts_[0]))]);                                      \
    } while (0)

/* A literal: a plain number most often, else one the lexer reads otherwise. */
static void literal(struct text *t)
{
    switch (rnd(14)) {
    case 0:
        PICK(t, "0x1F", "0b01", "x'1F'", "b'01'", "0x", "0b2");
        break;
    case 1:
        put_digits(t, 1, 3);
        PICK(t, "e5", "E+2", "e-1", "e", ".", ".5", "abc", "_x", "$");
        break;
    case 2:
        PICK(t, ".", "-", "+", "- ", "--", "-+");
        put_digits(t, 1, 3);
        break;
    case 3:
        PICK(t, "'12'", "\"34\"", "'a''5'", "'\\'9'", "N'7'", "_utf8mb4'8'");
        break;
    case 4:
        PICK(t, "NULL", "TRUE", "?", "@x", "@@session.sql_select_limit", "@1", "@@warning_count");
        break;
    case 5:
        PICK(t, "c1", "t1.c2", "`1`", "1t", "t.5", "`t`.`2`", "$1");
        break;
    default:
        put_digits(t, 1, 6);
        break;
    }
}

/* Between tokens: a space, most often, or a comment with digits in it. */
static void gap(struct text *t)
{
    switch (rnd(20)) {
    case 0:
        put_around(t, " /* ", 0, 3, " */ ");
        break;
    case 1:
        put_around(t, " -- ", 0, 3, "\n");
        break;
    case 2:
        put_around(t, " #", 0, 3, "\n");
        break;
    case 3:
        PICK(t, " /* halyard: primary */ ", " /*halyard: replica*/ ",
             " /* halyard: backend=db1 */ ", " /* halyard: consistency=causal */ ",
             " /* halyard: nonsense5 */ ");
        break;
    case 4:
        put(t, "");
        break;
    default:
        put(t, " ");
        break;
    }
}

static void where(struct text *t)
{
    PICK(t, "WHERE", "where");
    gap(t);
    PICK(t, "id", "c1", "k", "`1`", "t1.id");
    gap(t);
    PICK(t, "=", "<", ">=", "<>", "IN (", "BETWEEN");
    gap(t);
    literal(t);
    if (t->s[t->n - 1] == '(' || rnd(4) == 0) {
        put(t, ",");
        gap(t);
        literal(t);
        put(t, ")");
    } else if (rnd(3) == 0) {
        gap(t);
        PICK(t, "AND", "OR", "+", "-", "*");
        gap(t);
        literal(t);
    }
}

static void select_stmt(struct text *t)
{
    PICK(t, "SELECT", "select", "SELECT SQL_NO_CACHE", "(SELECT");
    gap(t);
    switch (rnd(6)) {
    case 0:
        PICK(t, "CONNECTION_ID()", "LAST_INSERT_ID()", "FOUND_ROWS()", "NEXTVAL(s1)", "f1(",
             "sleep(");
        break;
    case 1:
        literal(t);
        put(t, ",");
        gap(t);
        literal(t);
        break;
    default:
        PICK(t, "c", "c1", "*", "k, c", "count(*)", "a1 AS x2");
        break;
    }
    if (t->s[t->n - 1] == '(') {
        literal(t);
        put(t, ")");
    }
    gap(t);
    if (rnd(5) != 0) {
        PICK(t, "FROM sbtest1", "from t1", "FROM `2`", "FROM db1.t2", "FROM dual",
             "FROM information_schema.processlist", "FROM (SELECT 1) d");
        gap(t);
        where(t);
    }
    switch (rnd(8)) {
    case 0:
        put(t, " LIMIT ");
        literal(t);
        break;
    case 1:
        put(t, " LIMIT ");
        literal(t);
        put(t, " OFFSET ");
        literal(t);
        break;
    case 2:
        put(t, " FOR UPDATE");
        if (rnd(2)) {
            put(t, " WAIT ");
            literal(t);
        }
        break;
    case 3:
        put(t, " LOCK IN SHARE MODE");
        break;
    case 4:
        put(t, " ORDER BY ");
        PICK(t, "c", "1", "2 DESC");
        break;
    default:
        break;
    }
    if (t->s[0] == '(' || strncmp(t->s, "(SELECT", 7) == 0 || strstr(t->s, "(SELECT") != NULL)
        put(t, ")");
}

static void other_stmt(struct text *t)
{
    switch (rnd(16)) {
    case 0:
        put(t, "INSERT INTO t1 (a, b) VALUES (");
        literal(t);
        put(t, ", ");
        literal(t);
        put(t, ")");
        if (rnd(2)) {
            put(t, ", (");
            literal(t);
            put(t, ",'x')");
        }
        break;
    case 1:
        put(t, "UPDATE sbtest1 SET k = k + ");
        literal(t);
        gap(t);
        where(t);
        break;
    case 2:
        put(t, "DELETE FROM t2 ");
        where(t);
        break;
    case 3:
        PICK(t,
             "SET autocommit = ", "SET SESSION autocommit=", "SET @x = ", "SET sql_select_limit = ",
             "SET GLOBAL max_connections = ", "SET @@session.wait_timeout = ", "SET NAMES ",
             "SET STATEMENT max_statement_time=");
        literal(t);
        if (strstr(t->s, "STATEMENT") != NULL)
            put(t, " FOR SELECT 1");
        break;
    case 4:
        PICK(t, "KILL ", "KILL QUERY ", "kill connection ");
        literal(t);
        break;
    case 5:
        PICK(t, "XA START 'x', ", "XA END 'x',", "XA COMMIT 'x', ", "XA PREPARE '");
        literal(t);
        if (t->s[t->n - 1] != '\'' && strstr(t->s, "PREPARE '") != NULL)
            put(t, "'");
        break;
    case 6:
        PICK(t, "BEGIN", "COMMIT", "START TRANSACTION READ ONLY", "ROLLBACK TO s1", "SAVEPOINT s2");
        break;
    case 7:
        PICK(t, "USE db1", "USE `2`", "CREATE TEMPORARY TABLE t3 (a int)", "DROP TABLE t4",
             "SHOW WARNINGS LIMIT 5", "SHOW PROCESSLIST", "SHOW MASTER STATUS");
        break;
    case 8:
        PICK(t, "DO SLEEP(", "DO GET_LOCK('l1', ", "SELECT RELEASE_LOCK('x', ");
        literal(t);
        put(t, ")");
        break;
    case 9:
        put_around(t, "/*!", 0, 7, "");
        gap(t);
        select_stmt(t);
        put(t, " */");
        break;
    case 10:
        put_around(t, "/*M!", 0, 7, " SELECT ");
        literal(t);
        put(t, "*/");
        break;
    case 11:
        put_around(t, "PREPARE s FROM 'SELECT ", 1, 2, "'");
        break;
    default:
        select_stmt(t);
        break;
    }
}

static void statement(struct text *t)
{
    struct text one = {.n = 0};
    if (rnd(2))
        select_stmt(&one);
    else
        other_stmt(&one);
    put(t, "");
    if (t->n + one.n < TEXT_CAP) {
        memcpy(t->s + t->n, one.s, one.n);
        t->n += one.n;
    }
}

static void generate(struct text *t)
{
    t->n = 0;
    if (rnd(6) == 0)
        gap(t);
    statement(t);
    unsigned more = rnd(8) == 0 ? 1 + rnd(2) : 0;
    for (unsigned i = 0; i < more; i++) {
        put(t, rnd(2) ? ";" : "; ");
        statement(t);
    }
    if (rnd(10) == 0)
        PICK(t, ";", " ", "'", "/* 5", "`");
}

/* T0 changed: digits made other digits (each, or one), or a digit made a letter or a dot. */
static void mutate(const struct text *t0, struct text *t1)
{
    *t1 = *t0;
    size_t digits[TEXT_CAP], nd = 0;
    for (size_t i = 0; i < t1->n; i++)
        if (t1->s[i] >= '0' && t1->s[i] <= '9')
            digits[nd++] = i;
    if (nd == 0)
        return;
    switch (rnd(4)) {
    case 0:
        for (size_t i = 0; i < nd; i++)
            if (rnd(2))
                t1->s[digits[i]] = (char)('0' + rnd(10));
        break;
    case 1: {
        static const char other[] = "a.eExb_$-+ :;?/'";
        t1->s[digits[rnd((uint32_t)nd)]] = other[rnd(sizeof(other) - 1)];
        break;
    }
    default:
        t1->s[digits[rnd((uint32_t)nd)]] = (char)('0' + rnd(10));
        break;
    }
}

/* ---- the comparison ---- */

static int differences;

#define SAME(field)                                                                                \
    do {                                                                                           \
        if ((a)->field != (b)->field) {                                                            \
            print_message("memo differs in " #field " for [%.*s] (opts %u)\n", (int)len, sql,      \
                          opts);                                                                   \
            differences++;                                                                         \
        }                                                                                          \
    } while (0)
#define SAME_STR(field)                                                                            \
    do {                                                                                           \
        if (strcmp((a)->field, (b)->field) != 0) {                                                 \
            print_message("memo differs in " #field " for [%.*s]\n", (int)len, sql);               \
            differences++;                                                                         \
        }                                                                                          \
    } while (0)

static void same_result(const struct classify_result *a, const struct classify_result *b,
                        const char *sql, size_t len, unsigned opts)
{
    SAME(kind);
    SAME(flags);
    SAME(clears_diag);
    SAME(kinds);
    SAME(nstmt);
    SAME(autocommit);
    SAME(hint);
    SAME_STR(hint_backend);
    SAME(hint_consistency);
    SAME_STR(schema);
    SAME_STR(temp_table);
    SAME_STR(temp_schema);
    SAME(nvars);
    SAME(connid_overflow);
    SAME(lo_words);
    SAME(sysview_names);
    SAME(kill_word);
    SAME(connid.n);
    SAME(connid.n_connid);
    SAME(connid.nalias);
    for (uint32_t i = 0; i < a->nvars && i < b->nvars && i < CLASSIFY_MAX_VARS; i++) {
        SAME(vars[i].scope);
        SAME(vars[i].name.off);
        SAME(vars[i].name.len);
        SAME(vars[i].value.off);
        SAME(vars[i].value.len);
    }
    for (uint32_t i = 0; i < a->connid.n && i < b->connid.n; i++) {
        SAME(connid.call[i].off);
        SAME(connid.call[i].len);
        SAME(connid.kind[i]);
    }
    for (uint32_t i = 0; i < a->connid.nalias && i < b->connid.nalias; i++) {
        SAME(connid.alias[i].off);
        SAME(connid.alias[i].len);
    }
}

static void same_digest(const struct classify_digest *a, const struct classify_digest *b,
                        const char *sql, size_t len, unsigned opts)
{
    SAME(len);
    SAME(hash);
    if (a->cap > 0 && memcmp(a->buf, b->buf, (a->len < a->cap ? a->len : a->cap - 1) + 1) != 0) {
        print_message("memo differs in the digest's text for [%.*s]\n", (int)len, sql);
        differences++;
    }
}

/* One text through the memo and through classify(), with each kind of digest. */
static void check_text(struct classify_memo *m, const struct text *t, unsigned opts)
{
    static const size_t caps[] = {1024, 1024, 1024, 0, 16};
    size_t cap = caps[rnd(sizeof(caps) / sizeof(caps[0]))];
    char *sql = malloc(t->n > 0 ? t->n : 1); /* no NUL after it: ASan sees a read past len */
    assert_non_null(sql);
    memcpy(sql, t->s, t->n);
    size_t len = t->n;

    struct classify_result want, got;
    char wbuf[1024], gbuf[1024];
    struct classify_digest wd = {.buf = wbuf, .cap = cap}, gd = {.buf = gbuf, .cap = cap};
    memset(gbuf, 'z', sizeof(gbuf));
    classify(sql, len, opts, &want, cap > 0 ? &wd : NULL);
    memset(&got, 0x5a, sizeof(got));
    classify_memo_classify(m, sql, len, opts, &got, cap > 0 ? &gd : NULL);
    same_result(&want, &got, sql, len, opts);
    if (cap > 0)
        same_digest(&wd, &gd, sql, len, opts);
    free(sql);
}

static void test_memo_answers_as_classify(void **state)
{
    (void)state;
    enum { TEXTS = 50000 };
    struct classify_memo *m = classify_memo_create(NULL);
    assert_non_null(m);
    rng_state = 0x9e3779b97f4a7c15ull;
    differences = 0;
    uint64_t changed_hits = 0;
    for (int i = 0; i < TEXTS; i++) {
        struct text t0, t1;
        unsigned opts = rnd(4); /* CLO_NO_BACKSLASH_ESCAPES, CLO_ANSI_QUOTES, both, none */
        generate(&t0);
        check_text(m, &t0, opts); /* fills */
        check_text(m, &t0, opts); /* the same text again */
        mutate(&t0, &t1);
        uint64_t before = classify_memo_hits(m);
        check_text(m, &t1, opts); /* other digits */
        if (classify_memo_hits(m) > before && memcmp(t0.s, t1.s, t0.n) != 0)
            changed_hits++;
    }
    print_message("classify_memo: %d texts, %d classified, %llu memo hits (%llu of a text with "
                  "other digits), %d differences\n",
                  TEXTS, TEXTS * 3, (unsigned long long)classify_memo_hits(m),
                  (unsigned long long)changed_hits, differences);
    assert_int_equal(differences, 0);
    /* the memo answers often, digits changed too: a memo that never hits proves nothing
     * (t0's second call keeps it, memo_miss(): t1 is the one answered) */
    assert_true(classify_memo_hits(m) > TEXTS / 8);
    assert_true(changed_hits > TEXTS / 20);
    classify_memo_destroy(m);
}

/* sysbench's point select on sbtest<table>, through the memo: a read, its
 * digest. */
static void point_select(struct classify_memo *m, int table, int id)
{
    char sql[64], dbuf[256], want[64];
    struct classify_result r;
    struct classify_digest dg = {.buf = dbuf, .cap = sizeof(dbuf)};
    int n = snprintf(sql, sizeof(sql), "SELECT c FROM sbtest%d WHERE id=%d", table, id);
    classify_memo_classify(m, sql, (size_t)n, 0, &r, &dg);
    assert_int_equal(r.kind, CL_READ);
    snprintf(want, sizeof(want), "SELECT c FROM sbtest%d WHERE id = ?", table);
    assert_string_equal(dbuf, want);
}

/* sysbench's point select: its shape, any id, one entry. */
static void test_memo_point_select(void **state)
{
    (void)state;
    struct classify_memo *m = classify_memo_create(NULL);
    assert_non_null(m);
    char dbuf[256];
    struct classify_result r;
    struct classify_digest dg = {.buf = dbuf, .cap = sizeof(dbuf)};
    for (int id = 1; id <= 100000; id += 997)
        point_select(m, 1, id);
    /* a miss for each of the ids of 1 and of 3 digits (one each, never
     * kept), two for 4 and for 5 digits (kept on the second), the rest hits */
    assert_int_equal(classify_memo_misses(m), 6);
    assert_int_equal(classify_memo_stores(m), 2);
    assert_int_equal(classify_memo_hits(m), 101 - 6);
    /* a name's digit is no number: sbtest2 is another table */
    classify_memo_classify(m, "SELECT c FROM sbtest2 WHERE id=99999", 36, 0, &r, &dg);
    assert_int_equal(classify_memo_misses(m), 7);
    /* the options are part of the key */
    classify_memo_classify(m, "SELECT c FROM sbtest1 WHERE id=99999", 36, CLO_ANSI_QUOTES, &r, &dg);
    assert_int_equal(classify_memo_misses(m), 8);
    assert_true(classify_memo_bytes() < 200 * 1024);
    classify_memo_destroy(m);
}

/* tools/bench's point selects: four tables, ids of 4 digits, in random
 * order. The tables' texts differ only at a name's digit, which the hash
 * must not read as a number's: sharing a slot, each shape's texts missed
 * the memo whenever another table's came between (3 in 4 classified). */
static void test_memo_point_select_tables(void **state)
{
    (void)state;
    struct classify_memo *m = classify_memo_create(NULL);
    assert_non_null(m);
    uint32_t x = 12345;
    for (int i = 0; i < 4000; i++) {
        x = x * 1103515245u + 12345u;
        point_select(m, (int)(x >> 16) % 4 + 1, 1000 + (int)(x >> 8) % 9000);
    }
    /* two misses a table: its shape noted, then kept */
    assert_int_equal(classify_memo_stores(m), 4);
    assert_int_equal(classify_memo_misses(m), 8);
    assert_int_equal(classify_memo_hits(m), 4000 - 8);
    classify_memo_destroy(m);
}

/* A text whose words send the session to scan it again (LIMIT, OFFSET:
 * classify_result.lo_words) takes that flag from the memo as well: the
 * words are no number's digits, so every text of the shape has them. */
static void test_memo_limit(void **state)
{
    (void)state;
    struct classify_memo *m = classify_memo_create(NULL);
    assert_non_null(m);
    char sql[96], dbuf[256];
    struct classify_result r, want;
    struct classify_digest dg = {.buf = dbuf, .cap = sizeof(dbuf)};
    for (int id = 1000; id < 10000; id += 997) {
        int n = snprintf(sql, sizeof(sql), "SELECT c FROM sbtest1 WHERE id>%d LIMIT 10 OFFSET %d",
                         id, id % 9 + 1);
        classify_memo_classify(m, sql, (size_t)n, 0, &r, &dg);
        classify(sql, (size_t)n, 0, &want, NULL);
        assert_true(r.lo_words);
        assert_int_equal(r.lo_words, want.lo_words);
        assert_string_equal(dbuf, "SELECT c FROM sbtest1 WHERE id > ? LIMIT ? OFFSET ?");
    }
    assert_int_equal(classify_memo_misses(m), 2);
    assert_int_equal(classify_memo_hits(m), 8);
    classify_memo_destroy(m);
}

/* classify_memo_classify() on sql, its digest compared with classify()'s. */
static void memo_check(struct classify_memo *m, const char *sql)
{
    char dbuf[512], wbuf[512];
    struct classify_result r, want;
    struct classify_digest dg = {.buf = dbuf, .cap = sizeof(dbuf)};
    struct classify_digest wd = {.buf = wbuf, .cap = sizeof(wbuf)};
    classify_memo_classify(m, sql, strlen(sql), 0, &r, &dg);
    classify(sql, strlen(sql), 0, &want, &wd);
    assert_int_equal(r.kind, want.kind);
    assert_int_equal(r.flags, want.flags);
    assert_string_equal(dbuf, wbuf);
}

static void assert_counts(const struct classify_memo *m, uint64_t misses, uint64_t stores,
                          uint64_t hits)
{
    assert_int_equal(classify_memo_misses(m), misses);
    assert_int_equal(classify_memo_stores(m), stores);
    assert_int_equal(classify_memo_hits(m), hits);
}

/*
 * What is kept: a shape on its second miss in a row in its slot; not a
 * shape whose texts differ where the mask does not cover (sysbench's
 * UPDATE and INSERT strings, digits and dashes of random content), nor
 * one that cannot be kept (SET).
 */
static void test_memo_admission(void **state)
{
    (void)state;
    struct classify_memo *m = classify_memo_create(NULL);
    assert_non_null(m);
    char sql[256];
    /* a point select: kept on its second miss, then answered */
    for (int id = 10000; id < 10010; id++) {
        snprintf(sql, sizeof(sql), "SELECT c FROM sbtest1 WHERE id=%d", id);
        memo_check(m, sql);
    }
    assert_counts(m, 2, 1, 8);
    /* sysbench's UPDATE: a random string each time, kept once at most */
    rng_state = 42;
    for (int i = 0; i < 100; i++) {
        int n = snprintf(sql, sizeof(sql), "UPDATE sbtest1 SET c='");
        for (int k = 0; k < 119; k++)
            sql[n++] = k % 12 == 11 ? '-' : (char)('0' + rnd(10));
        snprintf(sql + n, sizeof(sql) - (size_t)n, "' WHERE id=%d", 10000 + i);
        memo_check(m, sql);
    }
    assert_counts(m, 2 + 100, 2, 8);
    /* a name's digits: sbtest2 is another shape, with a hash of its own
     * (a digit after a letter is read as it is): kept in its slot, and
     * sbtest1's entry stays */
    memo_check(m, "SELECT c FROM sbtest2 WHERE id=12345");
    memo_check(m, "SELECT c FROM sbtest2 WHERE id=12346");
    memo_check(m, "SELECT c FROM sbtest2 WHERE id=12347");
    memo_check(m, "SELECT c FROM sbtest1 WHERE id=12348");
    assert_counts(m, 104, 3, 10);
    /* SET is never kept */
    for (int i = 0; i < 5; i++)
        memo_check(m, "SET @a=1");
    assert_counts(m, 109, 3, 10);
    classify_memo_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memo_answers_as_classify), cmocka_unit_test(test_memo_point_select),
        cmocka_unit_test(test_memo_point_select_tables), cmocka_unit_test(test_memo_limit),
        cmocka_unit_test(test_memo_admission),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
