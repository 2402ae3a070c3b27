/*
 * test_backup_retain.c: which backups backup.full_keep deletes
 * (backup_retain_decide): the newest N fulls and their chains stay, older
 * backups go, unless a kept chain needs one; a broken chain newer than the
 * oldest kept full stays; N past the number of fulls, or 0, deletes
 * nothing; the order of the list does not matter. The archive's files
 * under full_keep (backup_retain_binlogs): a file goes when the next one
 * begins at or before the oldest kept full's GTID in every domain, as a
 * prefix only, never the last, never past a file whose start is unknown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/backup/backup_retain.h"

#define MAXB 16

/* "full 100", "incr 110 full-100": TYPE FINISHED [PARENT's stamp] */
static size_t make(struct restore_backup *b, const char *const *spec, size_t n)
{
    memset(b, 0, n * sizeof(*b));
    for (size_t i = 0; i < n; i++) {
        char type[8], parent[64] = "";
        long t = 0;
        int got = sscanf(spec[i], "%7s %ld %63s", type, &t, parent);
        assert_true(got >= 2);
        b[i].type = strcmp(type, "incr") == 0   ? BACKUP_INCR
                    : strcmp(type, "diff") == 0 ? BACKUP_DIFF
                                                : BACKUP_FULL;
        b[i].finished = t;
        snprintf(b[i].name, sizeof(b[i].name), "%s-%06ld.xb.gz", type, t);
        if (parent[0] != '\0')
            snprintf(b[i].parent, sizeof(b[i].parent), "%s.xb.gz", parent);
    }
    return n;
}

/* The names deleted, space-separated by their stamps ("full-000100 ..."). */
static void deleted(const struct restore_backup *b, size_t n, const bool *del, char *out,
                    size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (del[i]) {
            size_t l = strlen(out);
            snprintf(out + l, cap - l, "%s%.11s", l ? " " : "", b[i].name);
        }
    }
}

/* One case: backups (TYPE FINISHED [PARENT]) and full_keep in; the count,
 * the names deleted and the oldest kept full out. */
static void check(const char *const *spec, size_t n, int keep, size_t want_n,
                  const char *want_deleted, const char *want_oldest)
{
    struct restore_backup b[MAXB];
    bool del[MAXB];
    char got[512];
    int oldest = 99;
    assert_true(n <= MAXB);
    n = make(b, spec, n);
    del[0] = true;
    assert_int_equal(backup_retain_decide(b, n, keep, del, &oldest), want_n);
    deleted(b, n, del, got, sizeof(got));
    assert_string_equal(got, want_deleted);
    if (want_oldest == NULL)
        assert_int_equal(oldest, -1);
    else
        assert_string_equal(b[oldest].name, want_oldest);
}

#define CHECK(spec, keep, n, del, oldest)                                                          \
    check(spec, sizeof(spec) / sizeof(spec[0]), keep, n, del, oldest)

static const char *const CHAINS[] = {
    "full 100",
    "incr 110 full-000100",
    "incr 120 incr-000110",
    "full 200",
    "diff 210 full-000200",
    "incr 220 diff-000210",
    "full 300",
    "incr 310 full-000300",
    "full 400",
    "incr 410 full-000400",
};

static void test_several_chains(void **state)
{
    (void)state;
    /* keep 2: full 300 and 400 with their incrs */
    CHECK(CHAINS, 2, 6, "full-000100 incr-000110 incr-000120 full-000200 diff-000210 incr-000220",
          "full-000300.xb.gz");
    /* keep 3: only the first chain goes */
    CHECK(CHAINS, 3, 3, "full-000100 incr-000110 incr-000120", "full-000200.xb.gz");
}

static void test_keep_one(void **state)
{
    (void)state;
    CHECK(CHAINS, 1, 8,
          "full-000100 incr-000110 incr-000120 full-000200 diff-000210 incr-000220 "
          "full-000300 incr-000310",
          "full-000400.xb.gz");
}

static void test_keep_more_than_fulls(void **state)
{
    (void)state;
    for (int keep = 4; keep <= 9; keep++)
        CHECK(CHAINS, keep, 0, "", NULL);
    CHECK(CHAINS, 0, 0, "", NULL);    /* off */
    check(CHAINS, 0, 2, 0, "", NULL); /* no backup */
}

/* A chain whose parent is gone: past the oldest kept full it stays (never
 * anything newer than that); before it, it goes with the rest. */
static void test_broken_chain(void **state)
{
    (void)state;
    static const char *const spec[] = {
        "incr 50 full-000040", /* its full was deleted by hand */
        "full 100",
        "incr 110 full-000100",
        "full 200",
        "incr 250 incr-000240", /* its parent is missing: broken */
        "incr 260 incr-000250",
        "full 300",
    };
    CHECK(spec, 2, 3, "incr-000050 full-000100 incr-000110", "full-000200.xb.gz");
}

/* A kept backup whose chain reaches back past the oldest kept full (an
 * incremental of an old chain finished after a newer full) keeps that
 * chain whole; the list in any order. */
static void test_kept_chain_needs_older(void **state)
{
    (void)state;
    static const char *const spec[] = {
        "full 300",
        "incr 320 incr-000150", /* continues the first chain, after full 300 */
        "incr 150 full-000100",
        "full 200",
        "full 100",
        "diff 210 full-000200",
    };
    /* keep 1 (full 300): incr 320 needs incr 150 and full 100; full 200
     * and its diff go */
    CHECK(spec, 1, 2, "full-000200 diff-000210", "full-000300.xb.gz");
}

/* Two backups in the same second: the name's stamp orders them. */
static void test_same_second(void **state)
{
    (void)state;
    static const char *const spec[] = {"full 100", "full 100", "full 100"};
    struct restore_backup b[MAXB];
    bool del[MAXB];
    int oldest;
    size_t n = make(b, spec, 3);
    snprintf(b[0].name, sizeof(b[0].name), "full-000100b.xb.gz");
    snprintf(b[1].name, sizeof(b[1].name), "full-000100c.xb.gz");
    snprintf(b[2].name, sizeof(b[2].name), "full-000100a.xb.gz");
    assert_int_equal(backup_retain_decide(b, n, 2, del, &oldest), 1);
    assert_true(del[2]);
    assert_false(del[0] || del[1]);
    assert_int_equal(oldest, 0);
}

static struct gtid_pos pos(const char *s)
{
    struct gtid_pos p;
    memset(&p, 0, sizeof(p));
    assert_int_equal(gtid_pos_parse(s, strlen(s), &p), HY_OK);
    return p;
}

static void test_binlogs_before_the_floor(void **state)
{
    (void)state;
    /* files begin at 0-1-0, 0-1-40, 0-1-90, 0-2-120 (a failover), 0-2-200 */
    struct gtid_pos st[5] = {pos("0-1-0"), pos("0-1-40"), pos("0-1-90"), pos("0-2-120"),
                             pos("0-2-200")};
    bool known[5] = {true, true, true, true, true};
    struct gtid_pos floor = pos("0-1-95");
    assert_int_equal(backup_retain_binlogs(st, known, 5, &floor), 2); /* file 2 holds 91..95 */
    floor = pos("0-1-90");
    assert_int_equal(backup_retain_binlogs(st, known, 5, &floor), 2); /* 90 is file 1's last */
    floor = pos("0-1-89");
    assert_int_equal(backup_retain_binlogs(st, known, 5, &floor), 1);
    floor = pos("0-2-500");
    assert_int_equal(backup_retain_binlogs(st, known, 5, &floor), 4); /* never the last */
    floor = pos("0-1-10");
    assert_int_equal(backup_retain_binlogs(st, known, 5, &floor), 0);
    /* a start not known: nothing from it on */
    floor = pos("0-2-500");
    known[2] = false;
    assert_int_equal(backup_retain_binlogs(st, known, 5, &floor), 1);
    known[2] = true;
    /* a domain the floor lacks keeps the file before it */
    struct gtid_pos two[3] = {pos("0-1-0"), pos("0-1-50,1-1-5"), pos("0-1-80,1-1-9")};
    floor = pos("0-1-100");
    assert_int_equal(backup_retain_binlogs(two, known, 3, &floor), 0);
    floor = pos("0-1-100,1-1-5");
    assert_int_equal(backup_retain_binlogs(two, known, 3, &floor), 1);
    assert_int_equal(backup_retain_binlogs(two, known, 1, &floor), 0);
    assert_int_equal(backup_retain_binlogs(two, known, 0, &floor), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_several_chains),           cmocka_unit_test(test_keep_one),
        cmocka_unit_test(test_keep_more_than_fulls),     cmocka_unit_test(test_broken_chain),
        cmocka_unit_test(test_kept_chain_needs_older),   cmocka_unit_test(test_same_second),
        cmocka_unit_test(test_binlogs_before_the_floor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
