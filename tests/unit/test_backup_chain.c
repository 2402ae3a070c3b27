/*
 * test_backup_chain.c: the pure parts of incremental and differential
 * backups (backup_chain.h, restore.h, backup_sched.h, backup_expand.h):
 *   - the file prefixes and the LSNs of an xtrabackup_checkpoints payload;
 *   - what is taken: the wanted type from the parent's server, a full with
 *     the reason when the source changed, no parent, or one without LSN;
 *   - a restore's chain: full, diff, incrs by their parents; a missing
 *     parent breaks it and the pick passes it over for an older backup;
 *   - the schedule of diffs and incrs beside the fulls;
 *   - %i expands to nothing for a full, quoted --incremental-lsn=N else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/backup/backup_chain.h"
#include "halyard/backup/backup_expand.h"
#include "halyard/backup/backup_sched.h"
#include "halyard/backup/restore.h"

static void test_names_and_lsn(void **state)
{
    (void)state;
    enum backup_type t = BACKUP_FULL;
    assert_true(backup_type_of("incr-20261125T151045Z.xb.gz", &t));
    assert_int_equal(t, BACKUP_INCR);
    assert_true(backup_type_of("diff-1.json", &t));
    assert_int_equal(t, BACKUP_DIFF);
    assert_true(backup_type_of("full-1.json", &t));
    assert_int_equal(t, BACKUP_FULL);
    assert_false(backup_type_of("fully-1.json", NULL));
    assert_false(backup_type_of("binlog.000001", NULL));
    assert_string_equal(backup_type_name(BACKUP_DIFF), "diff");
    static const char ck[] = "backup_type = incremental\nfrom_lsn = 44744\nto_lsn = 21534411\n"
                             "last_lsn = 21534420\n";
    uint64_t v = 0;
    assert_true(backup_chain_ckpt_lsn(ck, strlen(ck), "to_lsn", &v));
    assert_int_equal(v, 21534411);
    assert_true(backup_chain_ckpt_lsn(ck, strlen(ck), "from_lsn", &v));
    assert_int_equal(v, 44744);
    assert_false(backup_chain_ckpt_lsn(ck, strlen(ck), "lsn", &v)); /* whole keys only */
    assert_false(backup_chain_ckpt_lsn("to_lsn = \n", 10, "to_lsn", &v));
    /* cut before the value's end: what is there */
    assert_true(backup_chain_ckpt_lsn(ck, 54, "to_lsn", &v));
    assert_int_equal(v, 21);
}

static struct backup_parent parent(const char *name, const char *source, uint64_t lsn)
{
    struct backup_parent p = {.found = true, .to_lsn = lsn};
    backup_type_of(name, &p.type);
    snprintf(p.name, sizeof(p.name), "%s", name);
    snprintf(p.source, sizeof(p.source), "%s", source);
    return p;
}

static void test_decide(void **state)
{
    (void)state;
    struct backup_parent any = parent("incr-2.xb.gz", "db2", 900),
                         full = parent("full-1.xb.gz", "db2", 500), none = {0}, got;
    char why[400];
    assert_int_equal(backup_chain_decide(BACKUP_FULL, &any, &full, "db2", &got, why, sizeof(why)),
                     BACKUP_FULL);
    assert_string_equal(why, "");
    /* an incr continues the newest backup, a diff the newest full */
    assert_int_equal(backup_chain_decide(BACKUP_INCR, &any, &full, "db2", &got, why, sizeof(why)),
                     BACKUP_INCR);
    assert_string_equal(got.name, "incr-2.xb.gz");
    assert_int_equal(got.to_lsn, 900);
    assert_string_equal(why, "");
    assert_int_equal(backup_chain_decide(BACKUP_DIFF, &any, &full, "db2", &got, why, sizeof(why)),
                     BACKUP_DIFF);
    assert_string_equal(got.name, "full-1.xb.gz");
    assert_int_equal(got.to_lsn, 500);
    /* the source changed: a full, and why */
    assert_int_equal(backup_chain_decide(BACKUP_INCR, &any, &full, "db3", &got, why, sizeof(why)),
                     BACKUP_FULL);
    assert_false(got.found);
    assert_non_null(strstr(why, "the source changed: incr-2.xb.gz was taken from db2, this "
                                "backup would come from db3"));
    assert_non_null(strstr(why, "a full backup instead of the incr"));
    /* nothing to continue */
    assert_int_equal(backup_chain_decide(BACKUP_DIFF, &none, &none, "db2", &got, why, sizeof(why)),
                     BACKUP_FULL);
    assert_non_null(strstr(why, "no earlier full backup to continue"));
    /* a parent without LSN (mariadb-dump) */
    struct backup_parent dump = parent("full-0.sql.gz", "db2", 0);
    assert_int_equal(backup_chain_decide(BACKUP_INCR, &dump, &dump, "db2", &got, why, sizeof(why)),
                     BACKUP_FULL);
    assert_non_null(strstr(why, "full-0.sql.gz records no LSN"));
}

static struct restore_backup rb(const char *name, enum backup_type t, const char *par, uint64_t seq)
{
    struct restore_backup b = {.type = t, .finished = 1000 + (int64_t)seq};
    snprintf(b.name, sizeof(b.name), "%s", name);
    snprintf(b.parent, sizeof(b.parent), "%s", par);
    char g[32];
    snprintf(g, sizeof(g), "0-1-%llu", (unsigned long long)seq);
    assert_int_equal(gtid_pos_parse(g, strlen(g), &b.gtid), HY_OK);
    return b;
}

static void test_restore_chain(void **state)
{
    (void)state;
    /* listed out of order, as readdir may */
    struct restore_backup v[] = {
        rb("incr-4", BACKUP_INCR, "diff-3", 40), rb("full-1", BACKUP_FULL, "", 10),
        rb("incr-2", BACKUP_INCR, "full-1", 20), rb("diff-3", BACKUP_DIFF, "full-1", 30),
        rb("incr-5", BACKUP_INCR, "gone-x", 50),
    };
    size_t c[RESTORE_CHAIN_MAX];
    char err[300];
    assert_int_equal(restore_chain(v, 5, 0, c, err, sizeof(err)), 3);
    assert_int_equal(c[0], 1); /* full-1, diff-3, incr-4: incr-2 is not needed */
    assert_int_equal(c[1], 3);
    assert_int_equal(c[2], 0);
    assert_int_equal(restore_chain(v, 5, 2, c, err, sizeof(err)), 2);
    assert_int_equal(restore_chain(v, 5, 1, c, err, sizeof(err)), 1);
    assert_int_equal(restore_chain(v, 5, 4, c, err, sizeof(err)), 0);
    assert_string_equal(err, "incr-5's parent gone-x is missing: its chain is broken");
    /* the pick: the newest before the target whose chain is whole */
    struct restore_target t = {.gtid = {.domain = 0, .server_id = 1, .seq = 60}};
    assert_int_equal(restore_pick_backup(v, 5, &t), 0); /* incr-5 passed over */
    t.gtid.seq = 35;
    assert_int_equal(restore_pick_backup(v, 5, &t), 3);
    t.gtid.seq = 25;
    assert_int_equal(restore_pick_backup(v, 5, &t), 2);
    /* the plan carries the chain */
    struct restore_plan pl;
    t.gtid.seq = 40;
    assert_int_equal(restore_plan_make(v, 5, NULL, 0, &t, &pl, err, sizeof(err)), HY_OK);
    assert_int_equal(pl.n_chain, 3);
    assert_int_equal(pl.chain[2], pl.backup);
    /* a cycle of parents ends at the limit, not in a loop */
    struct restore_backup cyc[] = {rb("incr-a", BACKUP_INCR, "incr-b", 1),
                                   rb("incr-b", BACKUP_INCR, "incr-a", 2)};
    assert_int_equal(restore_chain(cyc, 2, 0, c, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "longer than"));
}

static void test_schedule(void **state)
{
    (void)state;
    struct config_backup b = {.enabled = true, .incr_every_s = 3600, .diff_every_s = 6 * 3600};
    time_t now = 1795392000 + 12 * 3600;
    /* no full yet: nothing (the full schedule takes the first) */
    assert_int_equal(backup_sched_chain(&b, now, 0, 0, 0, 0), BACKUP_FULL);
    /* the newest backup 30 min old: nothing; an hour: an incr */
    assert_int_equal(backup_sched_chain(&b, now, now - 7200, now - 7200, now - 1800, 0),
                     BACKUP_FULL);
    assert_int_equal(backup_sched_chain(&b, now, now - 7200, now - 7200, now - 3600, 0),
                     BACKUP_INCR);
    /* the newest full or diff 6 h old: a diff first */
    assert_int_equal(backup_sched_chain(&b, now, now - 6 * 3600, now - 6 * 3600, now - 3600, 0),
                     BACKUP_DIFF);
    /* a failure 5 min ago after the last good one: retried 10 min after it */
    assert_int_equal(backup_sched_chain(&b, now, now - 7200, now - 7200, now - 3600, now - 300),
                     BACKUP_FULL);
    assert_int_equal(backup_sched_chain(&b, now, now - 7200, now - 7200, now - 3600, now - 600),
                     BACKUP_INCR);
    b.incr_every_s = 0;
    b.diff_every_s = 0;
    assert_int_equal(backup_sched_chain(&b, now, now - 86400, now - 86400, now - 86400, 0),
                     BACKUP_FULL);
}

static void test_expand_i(void **state)
{
    (void)state;
    char out[200];
    const char *const full[] = {"db1", "3306", "bk", NULL};
    assert_int_equal(
        backup_expand("mb --host=%h --port=%p --user=%u %i", "hpui", full, out, sizeof(out)),
        HY_OK);
    assert_string_equal(out, "mb --host='db1' --port='3306' --user='bk' ");
    const char *const incr[] = {"db1", "3306", "bk", "--incremental-lsn=44744"};
    assert_int_equal(backup_expand("mb %i", "hpui", incr, out, sizeof(out)), HY_OK);
    assert_string_equal(out, "mb '--incremental-lsn=44744'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_lsn), cmocka_unit_test(test_decide),
        cmocka_unit_test(test_restore_chain), cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_expand_i),
    };
    return cmocka_run_group_tests_name("backup_chain", tests, NULL, NULL);
}
