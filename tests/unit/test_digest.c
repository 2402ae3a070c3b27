/*
 * test_digest.c: the per-worker digest table.
 *
 *   - record: counts, errors, rows, total and max time, roles, per hash
 *   - text: kept from the first call, cut at DIGEST_TEXT_MAX on a UTF-8
 *     boundary, flagged as truncated
 *   - bounded: a full table stays at its size, counts evictions, evicts
 *     the lightest of its sample, keeps the heavy digests, and its chains
 *     stay consistent (every entry is found again)
 *   - snapshot and merge: several workers' copies merged by hash, ordered
 *     by total time (ties: calls, then hash), top N
 *   - note then record: the text noted at a statement's start, the counts
 *     recorded at its end without text; noted-only entries are not shown
 *   - with classify_digest(): statements that differ only in literals
 *     share an entry
 */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/sql/classify.h"
#include "halyard/sql/digest.h"

static struct digest_table *table(uint32_t n)
{
    struct digest_table *t = NULL;
    assert_int_equal(digest_create(n, &t), HY_OK);
    assert_non_null(t);
    return t;
}

static void rec(struct digest_table *t, uint64_t hash, const char *text, bool error, uint64_t rows,
                uint64_t usec, enum backend_role role)
{
    digest_record(t, hash, text, text != NULL ? strlen(text) : 0, error, rows, usec, role);
}

/* The snapshot row of `hash` (the snapshot is in slot order). */
static const struct digest_row *find(const struct digest_snapshot *s, uint64_t hash)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->rows[i].hash == hash)
            return &s->rows[i];
    }
    return NULL;
}

static void test_record(void **state)
{
    (void)state;
    struct digest_table *t = table(16);
    assert_int_equal(digest_capacity(t), 16);
    rec(t, 1, "SELECT ?", false, 1, 100, ROLE_REPLICA);
    rec(t, 1, "ignored: the first text stays", false, 3, 50, ROLE_REPLICA);
    rec(t, 1, NULL, true, 0, 700, ROLE_PRIMARY);
    rec(t, 2, "UPDATE t SET a = ?", false, 10, 5, ROLE_PRIMARY);
    assert_int_equal(digest_count(t), 2);

    struct digest_snapshot s;
    assert_int_equal(digest_snapshot(t, &s), HY_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.capacity, 16);
    assert_int_equal(s.evictions, 0);
    const struct digest_row *a = find(&s, 1);
    assert_non_null(a);
    assert_int_equal(a->calls, 3);
    assert_int_equal(a->errors, 1);
    assert_int_equal(a->rows, 4);
    assert_int_equal(a->total_usec, 850);
    assert_int_equal(a->max_usec, 700);
    assert_int_equal(a->served[ROLE_PRIMARY], 1);
    assert_int_equal(a->served[ROLE_REPLICA], 2);
    assert_string_equal(a->text, "SELECT ?");
    assert_int_equal(a->text_len, 8);
    assert_false(a->text_truncated);
    const struct digest_row *b = find(&s, 2);
    assert_non_null(b);
    assert_int_equal(b->calls, 1);
    assert_int_equal(b->rows, 10);
    assert_string_equal(b->text, "UPDATE t SET a = ?");
    digest_snapshot_free(&s);
    assert_null(s.rows);
    digest_destroy(t);
}

static void test_off(void **state)
{
    (void)state;
    struct digest_table *t = (struct digest_table *)1;
    assert_int_equal(digest_create(0, &t), HY_OK);
    assert_null(t);
    rec(t, 1, "SELECT ?", false, 1, 1, ROLE_PRIMARY); /* a NULL table ignores it */
    struct digest_snapshot s;
    assert_int_equal(digest_snapshot(t, &s), HY_OK);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.capacity, 0);
    digest_snapshot_free(&s);
    digest_destroy(NULL);
    /* A table of one entry works (its bucket array has two). */
    t = table(1);
    rec(t, 7, "a", false, 0, 1, ROLE_PRIMARY);
    rec(t, 8, "b", false, 0, 2, ROLE_PRIMARY);
    rec(t, 8, "b", false, 0, 2, ROLE_PRIMARY);
    assert_int_equal(digest_count(t), 1);
    assert_int_equal(digest_evictions(t), 1);
    assert_int_equal(digest_snapshot(t, &s), HY_OK);
    assert_int_equal(s.rows[0].hash, 8);
    assert_int_equal(s.rows[0].calls, 2);
    digest_snapshot_free(&s);
    digest_destroy(t);
}

static void test_text_truncation(void **state)
{
    (void)state;
    struct digest_table *t = table(8);
    char text[DIGEST_TEXT_MAX + 100];
    memset(text, 'x', sizeof(text));
    /* Exactly the bound: kept whole. */
    digest_record(t, 1, text, DIGEST_TEXT_MAX, false, 0, 1, ROLE_PRIMARY);
    /* One more: cut. */
    digest_record(t, 2, text, DIGEST_TEXT_MAX + 1, false, 0, 1, ROLE_PRIMARY);
    /* A two-byte character (é) across the bound: dropped whole. */
    text[DIGEST_TEXT_MAX - 1] = '\xc3';
    text[DIGEST_TEXT_MAX] = '\xa9';
    digest_record(t, 3, text, sizeof(text), false, 0, 1, ROLE_PRIMARY);
    /* A four-byte character (U+1F600) ending exactly at the bound: kept. */
    memcpy(text + DIGEST_TEXT_MAX - 4, "\xf0\x9f\x98\x80", 4);
    text[DIGEST_TEXT_MAX] = 'x';
    digest_record(t, 4, text, sizeof(text), false, 0, 1, ROLE_PRIMARY);
    /* The same character one byte further: its 3 first bytes would be in. */
    memcpy(text + DIGEST_TEXT_MAX - 3, "\xf0\x9f\x98\x80", 4);
    digest_record(t, 5, text, sizeof(text), false, 0, 1, ROLE_PRIMARY);
    /* Invalid UTF-8 (continuation bytes only) is cut at the bound. */
    memset(text + DIGEST_TEXT_MAX - 8, 0x80, 16);
    digest_record(t, 6, text, sizeof(text), false, 0, 1, ROLE_PRIMARY);
    /* Empty and NULL texts. */
    digest_record(t, 7, "", 0, false, 0, 1, ROLE_PRIMARY);
    digest_record(t, 8, NULL, 0, false, 0, 1, ROLE_PRIMARY);

    struct digest_snapshot s;
    assert_int_equal(digest_snapshot(t, &s), HY_OK);
    static const struct {
        uint64_t hash;
        uint32_t len;
        bool truncated;
    } want[] = {
        {1, DIGEST_TEXT_MAX, false},
        {2, DIGEST_TEXT_MAX, true},
        {3, DIGEST_TEXT_MAX - 1, true},
        {4, DIGEST_TEXT_MAX, true},
        {5, DIGEST_TEXT_MAX - 3, true},
        {6, DIGEST_TEXT_MAX, true},
        {7, 0, false},
        {8, 0, false},
    };
    for (size_t i = 0; i < HY_ARRAY_SIZE(want); i++) {
        const struct digest_row *r = find(&s, want[i].hash);
        assert_non_null(r);
        if (r->text_len != want[i].len || r->text_truncated != want[i].truncated)
            fail_msg("hash %llu: len %u truncated %d, want %u %d", (unsigned long long)want[i].hash,
                     r->text_len, r->text_truncated, want[i].len, want[i].truncated);
        assert_int_equal(strlen(r->text), r->text_len);
    }
    assert_memory_equal(find(&s, 4)->text + DIGEST_TEXT_MAX - 4, "\xf0\x9f\x98\x80", 4);
    digest_snapshot_free(&s);
    digest_destroy(t);
}

static void test_bounded(void **state)
{
    (void)state;
    enum { CAP = 64 };
    struct digest_table *t = table(CAP);
    /* Eight heavy digests, then a flood of light one-off ones. */
    for (uint64_t h = 1; h <= 8; h++)
        rec(t, h * 1000003, "heavy", false, 0, 1000000, ROLE_PRIMARY);
    size_t before = mallinfo2().uordblks;
    for (uint64_t h = 100; h < 100 + 20000; h++)
        rec(t, h * 0x9E3779B97F4A7C15ull, "light", false, 0, h % 7, ROLE_REPLICA);
    /* No allocation per statement. */
    assert_int_equal(mallinfo2().uordblks, before);
    assert_int_equal(digest_count(t), CAP);
    assert_int_equal(digest_evictions(t), 8 + 20000 - CAP);

    struct digest_snapshot s;
    assert_int_equal(digest_snapshot(t, &s), HY_OK);
    assert_int_equal(s.n, CAP);
    assert_int_equal(s.evictions, 8 + 20000 - CAP);
    /* The heavy ones survive: never the lightest of a sample of 8. */
    for (uint64_t h = 1; h <= 8; h++) {
        const struct digest_row *r = find(&s, h * 1000003);
        assert_non_null(r);
        assert_int_equal(r->calls, 1);
    }
    /* Every entry is still found by its hash: recording it again adds a
     * call instead of a new entry. */
    uint64_t evictions = digest_evictions(t);
    for (size_t i = 0; i < s.n; i++)
        rec(t, s.rows[i].hash, "again", false, 0, 0, ROLE_PRIMARY);
    assert_int_equal(digest_evictions(t), evictions);
    struct digest_snapshot s2;
    assert_int_equal(digest_snapshot(t, &s2), HY_OK);
    for (size_t i = 0; i < s.n; i++) {
        const struct digest_row *r = find(&s2, s.rows[i].hash);
        assert_non_null(r);
        assert_int_equal(r->calls, s.rows[i].calls + 1);
        assert_string_equal(r->text, s.rows[i].text);
    }
    digest_snapshot_free(&s);
    digest_snapshot_free(&s2);
    digest_destroy(t);
}

/* Hashes that share a bucket: chains of several entries, evicted from the
 * middle, the head and the tail. */
static void test_chains(void **state)
{
    (void)state;
    enum { CAP = 4 };
    struct digest_table *t = table(CAP);
    /* 12 digests over 4 buckets: chains of several entries. */
    uint64_t h[12];
    for (size_t i = 0; i < HY_ARRAY_SIZE(h); i++)
        h[i] = (uint64_t)(i + 1) << 61;
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < HY_ARRAY_SIZE(h); i++) {
            rec(t, h[i], "x", false, 0, (uint64_t)(round + i), ROLE_PRIMARY);
            assert_true(digest_count(t) <= CAP);
            /* What was just recorded is there, once. */
            struct digest_snapshot s;
            assert_int_equal(digest_snapshot(t, &s), HY_OK);
            size_t seen = 0;
            for (size_t k = 0; k < s.n; k++)
                seen += s.rows[k].hash == h[i];
            assert_int_equal(seen, 1);
            digest_snapshot_free(&s);
        }
    }
    digest_destroy(t);
}

static void test_merge_top(void **state)
{
    (void)state;
    struct digest_table *w0 = table(8), *w1 = table(8), *w2 = table(8);
    rec(w0, 0xA, "A", false, 1, 100, ROLE_PRIMARY);
    rec(w1, 0xA, "A", true, 2, 300, ROLE_REPLICA);
    rec(w2, 0xA, "A", false, 3, 50, ROLE_REPLICA);
    rec(w0, 0xB, "B", false, 0, 400, ROLE_PRIMARY); /* more than any one part of A */
    rec(w1, 0xC, "C", false, 0, 225, ROLE_PRIMARY);
    rec(w2, 0xC, "C", false, 0, 225, ROLE_PRIMARY); /* C: 450, ties A; 2 calls < 3 */
    rec(w2, 0xD, "D", false, 0, 450, ROLE_PRIMARY); /* ties A and C with 1 call */
    rec(w0, 0xE, "E", false, 0, 450, ROLE_PRIMARY); /* ties D: smaller hash first */
    rec(w2, 0xE, "E", false, 0, 0, ROLE_PRIMARY);   /* now 2 calls: ahead of D */

    struct digest_snapshot s[3];
    assert_int_equal(digest_snapshot(w0, &s[0]), HY_OK);
    assert_int_equal(digest_snapshot(w1, &s[1]), HY_OK);
    assert_int_equal(digest_snapshot(w2, &s[2]), HY_OK);
    struct digest_row rows[24];
    size_t n = 0;
    for (int i = 0; i < 3; i++) {
        memcpy(rows + n, s[i].rows, s[i].n * sizeof(*rows));
        n += s[i].n;
    }
    assert_int_equal(n, 9);
    size_t distinct = digest_merge(rows, n);
    assert_int_equal(distinct, 5);
    static const struct {
        uint64_t hash, calls, total;
    } want[] = {{0xA, 3, 450}, {0xC, 2, 450}, {0xE, 2, 450}, {0xD, 1, 450}, {0xB, 1, 400}};
    for (size_t i = 0; i < distinct; i++) {
        if (rows[i].hash != want[i].hash || rows[i].calls != want[i].calls ||
            rows[i].total_usec != want[i].total)
            fail_msg("row %zu: hash %llx calls %llu total %llu", i,
                     (unsigned long long)rows[i].hash, (unsigned long long)rows[i].calls,
                     (unsigned long long)rows[i].total_usec);
    }
    /* A, merged over three workers. */
    assert_int_equal(rows[0].errors, 1);
    assert_int_equal(rows[0].rows, 6);
    assert_int_equal(rows[0].max_usec, 300);
    assert_int_equal(rows[0].served[ROLE_PRIMARY], 1);
    assert_int_equal(rows[0].served[ROLE_REPLICA], 2);
    assert_string_equal(rows[0].text, "A");
    assert_int_equal(digest_merge(rows, 0), 0);

    for (int i = 0; i < 3; i++)
        digest_snapshot_free(&s[i]);
    digest_destroy(w0);
    digest_destroy(w1);
    digest_destroy(w2);
}

static void test_note(void **state)
{
    (void)state;
    struct digest_table *t = table(2);
    digest_note(t, 1, "SELECT ?", 8);
    digest_note(t, 1, "not kept", 8); /* already there */
    assert_int_equal(digest_count(t), 1);
    struct digest_snapshot s;
    assert_int_equal(digest_snapshot(t, &s), HY_OK);
    assert_int_equal(s.n, 0); /* noted, no call yet */
    digest_snapshot_free(&s);
    digest_record(t, 1, NULL, 0, false, 2, 30, ROLE_REPLICA);
    digest_record(t, 1, NULL, 0, true, 0, 10, ROLE_PRIMARY);
    assert_int_equal(digest_snapshot(t, &s), HY_OK);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.rows[0].text, "SELECT ?");
    assert_int_equal(s.rows[0].calls, 2);
    assert_int_equal(s.rows[0].errors, 1);
    assert_int_equal(s.rows[0].total_usec, 40);
    digest_snapshot_free(&s);

    digest_destroy(t);

    /* A noted entry evicted before its statement ends comes back without
     * text when the statement is recorded. */
    t = table(1);
    digest_note(t, 3, "C", 1);
    digest_note(t, 4, "D", 1);                               /* evicts 3 */
    digest_record(t, 3, NULL, 0, false, 0, 1, ROLE_PRIMARY); /* evicts 4 */
    assert_int_equal(digest_evictions(t), 2);
    assert_int_equal(digest_snapshot(t, &s), HY_OK);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.rows[0].hash, 3);
    assert_string_equal(s.rows[0].text, "");
    assert_false(s.rows[0].text_truncated);
    digest_snapshot_free(&s);
    digest_destroy(t);
    digest_note(NULL, 1, "x", 1); /* digests off */
}

static void test_with_classify(void **state)
{
    (void)state;
    static const char *const sql[] = {
        "SELECT * FROM t WHERE id = 1",
        "select * from t where id = 42",
        "SELECT * FROM t WHERE id = 'x' /* comment */",
        "SELECT * FROM t WHERE id IN (1, 2, 3)",
        "SELECT * FROM t WHERE id IN (4)",
    };
    struct digest_table *t = table(8);
    for (size_t i = 0; i < HY_ARRAY_SIZE(sql); i++) {
        char dg[DIGEST_TEXT_MAX];
        size_t len;
        uint64_t h = classify_digest(sql[i], strlen(sql[i]), 0, dg, sizeof(dg), &len);
        digest_record(t, h, dg, HY_MIN(len, sizeof(dg) - 1), false, 1, 10, ROLE_REPLICA);
    }
    struct digest_snapshot s;
    assert_int_equal(digest_snapshot(t, &s), HY_OK);
    assert_int_equal(s.n, 2);
    size_t distinct = digest_merge(s.rows, s.n);
    assert_int_equal(distinct, 2);
    assert_int_equal(s.rows[0].calls, 3);
    assert_string_equal(s.rows[0].text, "SELECT * FROM t WHERE id = ?");
    assert_int_equal(s.rows[1].calls, 2);
    assert_string_equal(s.rows[1].text, "SELECT * FROM t WHERE id IN (...)");
    digest_snapshot_free(&s);
    digest_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record),
        cmocka_unit_test(test_off),
        cmocka_unit_test(test_text_truncation),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_chains),
        cmocka_unit_test(test_merge_top),
        cmocka_unit_test(test_note),
        cmocka_unit_test(test_with_classify),
    };
    return cmocka_run_group_tests_name("digest", tests, NULL, NULL);
}
