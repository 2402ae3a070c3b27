/*
 * test_backup_check.c: what makes a full backup's account and dump
 * complete (backup_check.h).
 *
 *   - SHOW GRANTS lines: the privileges held ON *.*, ALL PRIVILEGES, a
 *     role's grant, grants on a schema or table (which do not count),
 *     USAGE, lower case; the missing ones named in order
 *   - the dump's CREATE DATABASE lines, fed in chunks cut anywhere (also
 *     inside the line), `` in a name, a data line that only mentions it,
 *     a line longer than the scanner keeps
 *   - the schemas missing from a dump: those mariadb-dump never dumps are
 *     not asked for; the list cut with "..."
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/backup/backup_check.h"

static void test_grant_lines(void **state)
{
    (void)state;
    assert_int_equal(backup_check_grant_line("GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES "
                                             "ON *.* TO `bk`@`%` IDENTIFIED BY PASSWORD '*61CC'"),
                     BACKUP_PRIV_ALL);
    assert_int_equal(backup_check_grant_line("GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` "
                                             "WITH GRANT OPTION"),
                     BACKUP_PRIV_ALL);
    assert_int_equal(backup_check_grant_line("GRANT REPLICATION SLAVE ON *.* TO `repl`@`%` "
                                             "IDENTIFIED BY PASSWORD '*A4'"),
                     0);
    assert_int_equal(backup_check_grant_line("GRANT USAGE ON *.* TO `bk`@`%`"), 0);
    /* a role granted, and a schema's grant: not global */
    assert_int_equal(backup_check_grant_line("GRANT `bkr` TO `bk`@`%`"), 0);
    assert_int_equal(backup_check_grant_line("GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON `s1`.* TO "
                                             "`bk`@`%`"),
                     0);
    assert_int_equal(backup_check_grant_line("GRANT SELECT ON `s1`.`t` TO `bk`@`%`"), 0);
    /* a role's own grants count like the user's */
    assert_int_equal(backup_check_grant_line("GRANT SHOW VIEW, TRIGGER ON *.* TO `bkr2`"),
                     BACKUP_PRIV_SHOW_VIEW | BACKUP_PRIV_TRIGGER);
    /* SHOW VIEW is not SELECT; CREATE VIEW is not SHOW VIEW */
    assert_int_equal(backup_check_grant_line("GRANT CREATE VIEW, SHOW DATABASES ON *.* TO `x`@`%`"),
                     0);
    assert_int_equal(backup_check_grant_line("grant select,event on *.* to `x`@`%`"),
                     BACKUP_PRIV_SELECT | BACKUP_PRIV_EVENT);
    assert_int_equal(backup_check_grant_line("SET DEFAULT ROLE `bkr` FOR `bk`@`%`"), 0);

    char out[96];
    backup_check_missing(0, out, sizeof(out));
    assert_string_equal(out, "SELECT, SHOW VIEW, TRIGGER, EVENT");
    backup_check_missing(BACKUP_PRIV_SELECT | BACKUP_PRIV_EVENT, out, sizeof(out));
    assert_string_equal(out, "SHOW VIEW, TRIGGER");
    backup_check_missing(BACKUP_PRIV_ALL, out, sizeof(out));
    assert_string_equal(out, "");
}

static const char DUMP[] =
    "-- MariaDB dump 10.19\n"
    "-- SET GLOBAL gtid_slave_pos='0-1-5';\n"
    "\n"
    "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `mysql` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;\n"
    "INSERT INTO `t` VALUES (1,'\\nCREATE DATABASE `fake`');\n"
    "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `s1` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;\n"
    "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `we``ird` /*!40100 DEFAULT CHARACTER SET latin1 */;\n"
    "USE `s1`;\n"
    "-- Dump completed on 2026-11-23 16:50:00\n";

static void test_dump_scan_in_chunks(void **state)
{
    (void)state;
    size_t len = strlen(DUMP);
    for (size_t step = 1; step <= len; step += (step < 16 ? 1 : 37)) {
        struct backup_dump_scan s = {0};
        for (size_t at = 0; at < len; at += step)
            backup_dump_scan_feed(&s, DUMP + at, at + step <= len ? step : len - at);
        assert_false(s.nomem);
        assert_int_equal(s.found.n, 3);
        assert_string_equal(s.found.names[0], "mysql");
        assert_string_equal(s.found.names[1], "s1");
        assert_string_equal(s.found.names[2], "we`ird");
        backup_schemas_free(&s.found);
    }
    char name[64];
    assert_false(backup_dump_create_database("CREATE TABLE `x` (", 18, name, sizeof(name)));
    /* cut before the closing quote */
    assert_false(backup_dump_create_database("CREATE DATABASE `abc", 20, name, sizeof(name)));
    /* a long line (a dump's INSERT) is kept only at its start */
    struct backup_dump_scan s = {0};
    char *big = malloc(100000);
    memset(big, 'x', 100000);
    memcpy(big, "INSERT INTO `t` VALUES ", 23);
    backup_dump_scan_feed(&s, big, 100000);
    backup_dump_scan_feed(&s, "\nCREATE DATABASE `after` ;\n", 27);
    assert_int_equal(s.found.n, 1);
    assert_string_equal(s.found.names[0], "after");
    backup_schemas_free(&s.found);
    free(big);
}

static void add(struct backup_schemas *s, const char *name)
{
    assert_int_equal(backup_schemas_add(s, name, strlen(name)), HY_OK);
}

static void test_missing_schemas(void **state)
{
    (void)state;
    struct backup_schemas src = {0}, dump = {0};
    const char *names[] = {"information_schema", "mysql", "performance_schema", "s1", "s2", "sys"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        add(&src, names[i]);
    add(&dump, "mysql");
    add(&dump, "s1");
    char out[200];
    assert_int_equal(backup_schemas_missing(&src, &dump, out, sizeof(out)), 1);
    assert_string_equal(out, "`s2`");
    add(&dump, "s2");
    assert_int_equal(backup_schemas_missing(&src, &dump, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    /* nothing dumped (an account that reads nothing): every real schema */
    struct backup_schemas none = {0};
    assert_int_equal(backup_schemas_missing(&src, &none, out, sizeof(out)), 3);
    assert_string_equal(out, "`mysql`, `s1`, `s2`");
    /* a list longer than the room: cut, with "...", the count whole */
    char small[16];
    assert_int_equal(backup_schemas_missing(&src, &none, small, sizeof(small)), 3);
    assert_string_equal(small, "`mysql`, `s1...");
    char room[19];
    assert_int_equal(backup_schemas_missing(&src, &none, room, sizeof(room)), 3);
    assert_string_equal(room, "`mysql`, `s1`, ...");
    backup_schemas_free(&src);
    backup_schemas_free(&dump);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grant_lines),
        cmocka_unit_test(test_dump_scan_in_chunks),
        cmocka_unit_test(test_missing_schemas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
