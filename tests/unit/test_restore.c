/*
 * test_restore.c: the plan of a point-in-time restore (restore.h).
 *
 *   - the backup: the newest before the target, by GTID (its sequence in
 *     the target's domain at most the target's) and by time (finished
 *     before it); none: refused, naming the first backup
 *   - the range: from the backup's position to the target, the files that
 *     hold it, the transaction count; by time the first transaction logged
 *     at or after the target ends it; a backup at the target needs no file
 *   - gaps: a file starting past where the archive before it ends (a file
 *     removed, a file cut short), a GTID skipping sequence numbers inside a
 *     file, an archive starting after the backup; each message names the
 *     GTIDs missing and the file; gaps past the target do not matter
 *   - a target GTID past the archive, or held for another server_id; an
 *     unreadable file in the range
 *   - a position (--to-position): each domain up to its GTID, the
 *     transactions past it in their domain left out wherever they fall
 *     among the others, a domain it does not name not applied; a backup
 *     past it in any domain not picked
 *   - parsing --to-time, --to-gtid and --to-position
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/backup/restore.h"
#include "halyard/backup/restore_run.h"

static struct gtid_pos pos(const char *s)
{
    struct gtid_pos p;
    assert_int_equal(gtid_pos_parse(s, strlen(s), &p), HY_OK);
    return p;
}

static struct restore_backup backup(const char *name, const char *gtid, int64_t finished)
{
    struct restore_backup b = {.finished = finished, .gtid = pos(gtid)};
    snprintf(b.name, sizeof(b.name), "%s", name);
    return b;
}

/* Transactions of domain 0, server 1, seq a..b, logged at 1000 + seq. */
static struct restore_trx trx_store[64][64];

static struct restore_file file(int no, const char *start, uint64_t a, uint64_t b)
{
    struct restore_file f = {.have_list = true, .start = pos(start)};
    snprintf(f.name, sizeof(f.name), "binlog.%06d", no);
    struct restore_trx *t = trx_store[no];
    size_t n = 0;
    for (uint64_t s = a; s <= b && a > 0; s++)
        t[n++] = (struct restore_trx){.gtid = {0, 1, s}, .when = (uint32_t)(1000 + s)};
    f.trx = t;
    f.n_trx = n;
    return f;
}

static struct restore_target by_gtid(uint64_t seq)
{
    return (struct restore_target){.gtid = {0, 1, seq}};
}

static struct restore_target by_time(int64_t t)
{
    return (struct restore_target){.by_time = true, .time = t};
}

/* backups at 0-1-10 (finished 1012) and 0-1-30 (finished 1032); files
 * 1: 1..20, 2: 21..40, 3: 41..60 */
static struct restore_backup B[2];
static struct restore_file F[3];

static void fixture(void)
{
    B[0] = backup("full-a.sql.gz", "0-1-10", 1012);
    B[1] = backup("full-b.sql.gz", "0-1-30", 1032);
    F[0] = file(1, "", 1, 20);
    F[1] = file(2, "0-1-20", 21, 40);
    F[2] = file(3, "0-1-40", 41, 60);
}

static void plan_ok(const struct restore_target *t, struct restore_plan *p)
{
    char err[512] = "";
    hy_status_t rc = restore_plan_make(B, 2, F, 3, t, p, err, sizeof(err));
    if (rc != HY_OK)
        fail_msg("%s", err);
}

static void plan_err(const struct restore_target *t, const char *want1, const char *want2)
{
    struct restore_plan p;
    char err[512] = "";
    assert_int_equal(restore_plan_make(B, 2, F, 3, t, &p, err, sizeof(err)), HY_ERROR);
    if (strstr(err, want1) == NULL || (want2 != NULL && strstr(err, want2) == NULL))
        fail_msg("got: %s\nwant: %s / %s", err, want1, want2 ? want2 : "");
}

static void test_pick_backup(void **st)
{
    (void)st;
    fixture();
    struct restore_target t = by_gtid(29);
    assert_int_equal(restore_pick_backup(B, 2, &t), 0);
    t = by_gtid(30);
    assert_int_equal(restore_pick_backup(B, 2, &t), 1);
    t = by_gtid(9);
    assert_int_equal(restore_pick_backup(B, 2, &t), -1);
    t = by_time(1032); /* finished at the target: not before it */
    assert_int_equal(restore_pick_backup(B, 2, &t), 0);
    t = by_time(1033);
    assert_int_equal(restore_pick_backup(B, 2, &t), 1);
    t = by_time(1012);
    assert_int_equal(restore_pick_backup(B, 2, &t), -1);
    /* listed in any order: the newest still wins */
    struct restore_backup rev[2] = {B[1], B[0]};
    t = by_gtid(50);
    assert_int_equal(restore_pick_backup(rev, 2, &t), 0);
    assert_int_equal(restore_pick_backup(B, 0, &t), -1);
}

static void test_range_by_gtid(void **st)
{
    (void)st;
    fixture();
    struct restore_plan p;
    struct restore_target t = by_gtid(45);
    plan_ok(&t, &p);
    assert_int_equal(p.backup, 1);
    assert_int_equal(p.n_trx, 15); /* 31..45 */
    assert_int_equal(p.first_file, 1);
    assert_int_equal(p.n_files, 2);
    assert_int_equal(p.first.seq, 31);
    assert_int_equal(p.last.seq, 45);
    assert_int_equal(gtid_pos_seq(&p.from, 0), 30);
    assert_int_equal(gtid_pos_seq(&p.to, 0), 45);
    assert_false(p.past_end);
    /* within one file, before the second backup */
    t = by_gtid(15);
    plan_ok(&t, &p);
    assert_int_equal(p.backup, 0);
    assert_int_equal(p.n_trx, 5);
    assert_int_equal(p.first_file, 0);
    assert_int_equal(p.n_files, 1);
    /* the backup is at the target: nothing to apply */
    t = by_gtid(30);
    plan_ok(&t, &p);
    assert_int_equal(p.backup, 1);
    assert_int_equal(p.n_trx, 0);
    assert_int_equal(p.n_files, 0);
    /* the archive's last transaction */
    t = by_gtid(60);
    plan_ok(&t, &p);
    assert_int_equal(p.n_trx, 30);
    assert_int_equal(p.n_files, 2);
}

static void test_range_by_time(void **st)
{
    (void)st;
    fixture();
    struct restore_plan p;
    /* logged at 1000 + seq: a target of 1045 takes 31..44 */
    struct restore_target t = by_time(1045);
    plan_ok(&t, &p);
    assert_int_equal(p.backup, 1);
    assert_int_equal(p.last.seq, 44);
    assert_int_equal(p.n_trx, 14);
    assert_int_equal(p.last_when, 1044);
    assert_false(p.past_end);
    /* past the archive's last transaction: all of it, said so */
    t = by_time(5000);
    plan_ok(&t, &p);
    assert_int_equal(p.last.seq, 60);
    assert_true(p.past_end);
    /* before the first backup */
    t = by_time(1005);
    plan_err(&t, "before the first full backup (full-a.sql.gz, GTID 0-1-10", NULL);
    t = by_gtid(5);
    plan_err(&t, "before the first full backup", "full-a.sql.gz");
    struct restore_plan q;
    char err[256];
    assert_int_equal(restore_plan_make(B, 0, F, 3, &t, &q, err, sizeof(err)), HY_ERROR);
    assert_non_null(strstr(err, "no full backup"));
}

static void test_gap_between_files(void **st)
{
    (void)st;
    fixture();
    struct restore_target t = by_gtid(55);
    /* file 2 cut short: it ends at 35, file 3 starts at 40 */
    F[1].n_trx = 15;
    plan_err(&t, "transactions 0-36 to 0-40 are missing before binlog.000003",
             "binlog.000002 before it reach 0-1-35");
    /* a target before the hole is fine */
    struct restore_plan p;
    t = by_gtid(34);
    plan_ok(&t, &p);
    assert_int_equal(p.n_trx, 4);
    /* one transaction missing */
    fixture();
    F[1].n_trx = 19;
    t = by_gtid(55);
    plan_err(&t, "transaction 0-40 is missing before binlog.000003", NULL);
    /* file 2 removed: the hole is 21..40 for the first backup's range */
    fixture();
    struct restore_file two[2] = {F[0], F[2]};
    char err[512];
    struct restore_plan q;
    t = by_gtid(55);
    assert_int_equal(restore_plan_make(B, 1, two, 2, &t, &q, err, sizeof(err)), HY_ERROR);
    assert_non_null(strstr(err, "transactions 0-21 to 0-40 are missing before binlog.000003"));
    /* the archive starts after the backup */
    assert_int_equal(restore_plan_make(B, 1, &F[1], 2, &t, &q, err, sizeof(err)), HY_ERROR);
    assert_non_null(strstr(err, "transactions 0-11 to 0-20 are missing before binlog.000002"));
    assert_non_null(strstr(err, "the backup reaches 0-1-10"));
    /* ... but not after the second backup: the range starts at 31 */
    assert_int_equal(restore_plan_make(B, 2, &F[1], 2, &t, &q, err, sizeof(err)), HY_OK);
    assert_int_equal(q.n_trx, 25);
}

static void test_gap_inside_a_file(void **st)
{
    (void)st;
    fixture();
    struct restore_trx t3[8];
    for (int i = 0; i < 8; i++) /* 41..44, then 48..51 */
        t3[i] =
            (struct restore_trx){.gtid = {0, 1, (uint64_t)(i < 4 ? 41 + i : 44 + i)}, .when = 1000};
    F[2].trx = t3;
    F[2].n_trx = 8;
    struct restore_target t = by_gtid(50);
    plan_err(&t, "a gap in binlog.000003: GTID 0-1-48 follows 0-44",
             "transactions 0-45 to 0-47 are missing");
    struct restore_plan p;
    t = by_gtid(43); /* before it */
    plan_ok(&t, &p);
    assert_int_equal(p.last.seq, 43);
}

static void test_target_not_in_archive(void **st)
{
    (void)st;
    fixture();
    struct restore_target t = by_gtid(61);
    plan_err(&t,
             "GTID 0-1-61 is past the end of the archive, which reaches 0-1-60 in "
             "binlog.000003",
             NULL);
    t = (struct restore_target){.gtid = {0, 7, 30}};
    plan_err(&t, "the backup full-b.sql.gz is at GTID 0-1-30, not GTID 0-7-30", NULL);
    t = (struct restore_target){.gtid = {0, 7, 45}};
    plan_err(&t, "transaction 0-45 (in binlog.000003) is GTID 0-1-45, not GTID 0-7-45", NULL);
    /* an unreadable file in the range; one past the target does not matter */
    fixture();
    snprintf(F[1].error, sizeof(F[1].error), "a bad checksum in the event at offset 900");
    F[1].n_trx = 12; /* 21..32 */
    t = by_gtid(45);
    plan_err(&t, "binlog.000002 cannot be read past its last whole transaction (a bad checksum",
             NULL);
    struct restore_plan p;
    t = by_gtid(32);
    plan_ok(&t, &p);
    F[1].have_list = false;
    plan_err(&t, "binlog.000002: a bad checksum", NULL);
}

/* After a failover the domain goes on under the new primary's server_id:
 * one history for the walk, and its GTIDs are the targets. */
static void test_across_a_failover(void **st)
{
    (void)st;
    fixture();
    struct restore_trx t3[20];
    for (int i = 0; i < 20; i++)
        t3[i] = (struct restore_trx){.gtid = {0, 2, (uint64_t)(41 + i)}, .when = 2000};
    F[2].trx = t3;
    struct restore_plan p;
    struct restore_target t = {.gtid = {0, 2, 45}};
    plan_ok(&t, &p);
    assert_int_equal(p.n_trx, 15);
    assert_int_equal(p.last.server_id, 2);
    assert_int_equal(p.to.g[0].server_id, 2);
    t = by_gtid(45); /* 0-1-45 never was */
    plan_err(&t, "is GTID 0-2-45, not GTID 0-1-45", NULL);
}

/* backup list plans to the end of time (INT64_MAX): no date holds it, and
 * strftime's buffer was then read unterminated */
static void test_fmt_time_past_any_date(void **st)
{
    (void)st;
    char out[32];
    restore_fmt_time(INT64_MAX, out, sizeof(out));
    assert_string_equal(out, "@9223372036854775807");
    restore_fmt_time(0, out, sizeof(out));
    assert_int_equal(strlen(out), 19); /* YYYY-MM-DD HH:MM:SS, local time */
}

static void test_parse(void **st)
{
    (void)st;
    int64_t a, b;
    assert_int_equal(restore_parse_time("2026-11-22 10:00:00", &a), HY_OK);
    assert_int_equal(restore_parse_time("2026-11-22T10:00:01", &b), HY_OK);
    assert_int_equal(b - a, 1);
    const char *bad[] = {
        "2026-11-22",          "2026-11-22 10:00",     "2026-13-01 00:00:00", "2026-02-31 00:00:00",
        "2026-11-22 25:00:00", "2026-11-22 10:00:00x", "yesterday",           ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (restore_parse_time(bad[i], &a) != HY_ERROR)
            fail_msg("accepted %s", bad[i]);
    }
    struct gtid g;
    assert_int_equal(restore_parse_gtid("1-2-300", &g), HY_OK);
    assert_int_equal(g.domain, 1);
    assert_int_equal(g.server_id, 2);
    assert_int_equal(g.seq, 300);
    assert_int_equal(restore_parse_gtid("0-1-0", &g), HY_ERROR);
    assert_int_equal(restore_parse_gtid("0-1-5,1-1-5", &g), HY_ERROR);
    assert_int_equal(restore_parse_gtid("0-1", &g), HY_ERROR);
    assert_int_equal(restore_parse_gtid("", &g), HY_ERROR);
    struct gtid_pos ps;
    assert_int_equal(restore_parse_position("0-1-5,2-3-7", &ps), HY_OK);
    assert_int_equal(ps.n, 2);
    assert_int_equal(gtid_pos_seq(&ps, 2), 7);
    assert_int_equal(restore_parse_position("0-1-5", &ps), HY_OK);
    assert_int_equal(restore_parse_position("0-1-5,0-2-6", &ps), HY_ERROR); /* a domain twice */
    assert_int_equal(restore_parse_position("0-1-5,1-1-0", &ps), HY_ERROR);
    assert_int_equal(restore_parse_position("", &ps), HY_ERROR);
    assert_int_equal(restore_parse_position("0-1-5,", &ps), HY_ERROR);
}

/* Two domains interleaved in one file, and a third after them: backup at
 * 0-1-10,5-1-3; binlog.000001 holds 0-1-11, 5-1-4, 0-1-12, 5-1-5, 0-1-13,
 * 5-1-6, 7-1-1. */
static struct restore_trx mixed[] = {
    {.gtid = {0, 1, 11}, .when = 1011}, {.gtid = {5, 1, 4}, .when = 1012},
    {.gtid = {0, 1, 12}, .when = 1013}, {.gtid = {5, 1, 5}, .when = 1014},
    {.gtid = {0, 1, 13}, .when = 1015}, {.gtid = {5, 1, 6}, .when = 1016},
    {.gtid = {7, 1, 1}, .when = 1017},
};

static hy_status_t plan_mixed(const char *position, struct restore_plan *p, char *err,
                              size_t errlen)
{
    static struct restore_backup b[2];
    b[0] = backup("full-a.sql.gz", "0-1-10,5-1-3", 1010);
    b[1] = backup("full-b.sql.gz", "0-1-13,5-1-3", 1016); /* past 0-1-12 */
    struct restore_file f = {.have_list = true,
                             .start = pos("0-1-10,5-1-3"),
                             .trx = mixed,
                             .n_trx = sizeof(mixed) / sizeof(mixed[0])};
    snprintf(f.name, sizeof(f.name), "binlog.000001");
    struct restore_target t = {.by_pos = true};
    assert_int_equal(restore_parse_position(position, &t.pos), HY_OK);
    return restore_plan_make(b, 2, &f, 1, &t, p, err, errlen);
}

static void test_range_by_position(void **st)
{
    (void)st;
    struct restore_plan p;
    char err[512] = "", ps[GTID_STR_MAX];
    /* 0-1-13 lies between 5-1-5 and 5-1-6, and 7-1-1 after them: neither
     * is applied; the backup past 0-1-12 is not the one */
    if (plan_mixed("0-1-12,5-1-6", &p, err, sizeof(err)) != HY_OK)
        fail_msg("%s", err);
    assert_int_equal(p.backup, 0);
    assert_int_equal(p.n_trx, 5); /* 0-11, 5-4, 0-12, 5-5, 5-6 */
    assert_int_equal(p.last.domain, 5);
    assert_int_equal(p.last.seq, 6);
    gtid_pos_format(&p.to, ps, sizeof(ps));
    assert_string_equal(ps, "0-1-12,5-1-6");
    /* one domain moves; the other stays where the backup is */
    if (plan_mixed("0-1-10,5-1-5", &p, err, sizeof(err)) != HY_OK)
        fail_msg("%s", err);
    assert_int_equal(p.n_trx, 2); /* 5-4, 5-5 */
    gtid_pos_format(&p.to, ps, sizeof(ps));
    assert_string_equal(ps, "0-1-10,5-1-5");
    /* the backup at the position: nothing to apply */
    if (plan_mixed("0-1-10,5-1-3", &p, err, sizeof(err)) != HY_OK)
        fail_msg("%s", err);
    assert_int_equal(p.n_trx, 0);
    assert_int_equal(p.n_files, 0);
    /* a third domain named: applied up to it too */
    if (plan_mixed("0-1-11,5-1-3,7-1-1", &p, err, sizeof(err)) != HY_OK)
        fail_msg("%s", err);
    assert_int_equal(p.n_trx, 2); /* 0-11, 7-1 */
    /* past the archive in one domain, or another server's GTID there */
    assert_int_equal(plan_mixed("0-1-12,5-1-7", &p, err, sizeof(err)), HY_ERROR);
    assert_non_null(strstr(err, "position 0-1-12,5-1-7 is past the end of the archive"));
    assert_int_equal(plan_mixed("0-1-12,5-2-5", &p, err, sizeof(err)), HY_ERROR);
    assert_non_null(strstr(err, "is GTID 5-1-5, not position 0-1-12,5-2-5"));
    /* every backup past the position in a domain */
    assert_int_equal(plan_mixed("0-1-9,5-1-4", &p, err, sizeof(err)), HY_ERROR);
    assert_non_null(strstr(err, "before the first full backup"));
}

/* A manifest's strings as JSON wrote them: escapes undone (a \" inside a
 * value does not end it), absent keys and values too long refused. */
static void test_manifest_json_str(void **st)
{
    (void)st;
    const char *m = "{\"file\":\"a\\\"b\\\\c.sql\",\"source\":\"caf\\u00e9 \\ud83d\\ude00\","
                    "\"gtid\":\"0-1-5\"}";
    char out[64];
    assert_true(restore_json_str(m, "file", out, sizeof(out)));
    assert_string_equal(out, "a\"b\\c.sql");
    assert_true(restore_json_str(m, "source", out, sizeof(out)));
    assert_string_equal(out, "caf\xc3\xa9 \xf0\x9f\x98\x80");
    assert_true(restore_json_str(m, "gtid", out, sizeof(out)));
    assert_string_equal(out, "0-1-5");
    assert_false(restore_json_str(m, "type", out, sizeof(out)));
    assert_false(restore_json_str(m, "gtid", out, 5));
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick_backup),       cmocka_unit_test(test_range_by_gtid),
        cmocka_unit_test(test_range_by_time),     cmocka_unit_test(test_gap_between_files),
        cmocka_unit_test(test_gap_inside_a_file), cmocka_unit_test(test_target_not_in_archive),
        cmocka_unit_test(test_across_a_failover), cmocka_unit_test(test_parse),
        cmocka_unit_test(test_manifest_json_str), cmocka_unit_test(test_fmt_time_past_any_date),
        cmocka_unit_test(test_range_by_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
