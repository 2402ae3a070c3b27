/* show_status(): a read of the server instance's own run-time state, which
 * only the primary's answer fits (SHOW STATUS, SHOW PROCESSLIST..., or a
 * text that names the process list or the status tables). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "../../src/session/session_int.h"

static void test_show_forms(void **state)
{
    (void)state;
    static const char *const yes[] = {
        "SHOW STATUS",
        "show session status like 'Com%'",
        "sHoW GLOBAL STATUS",
        "SHOW FULL PROCESSLIST",
        "SHOW PROFILES",
        "SHOW ENGINE INNODB STATUS",
        "SHOW OPEN TABLES",
        "  SHOW STATUS",
        "\nSHOW STATUS",
        "/* a comment */SHOW STATUS",
        "/*c*/ show processlist",
        "# a comment\nSHOW STATUS",
        "-- a comment\nSHOW STATUS",
        "SELECT * FROM information_schema.GLOBAL_STATUS",
        "select * from information_schema.processlist",
        "SELECT * FROM performance_schema.threads",
    };
    static const char *const no[] = {
        "SELECT 1",
        "SELECT c FROM sbtest1 WHERE id=5",
        "SET @a = 1",
        "SHOW TABLES",
        "SHOWSTATUS",
        "SHOW",
        "S",
        "Sh",
        "",
        "select status from t",
        "INSERT INTO t VALUES (1)",
    };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (!show_status(yes[i], strlen(yes[i])))
            fail_msg("\"%s\": not a read of the run-time state", yes[i]);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        if (show_status(no[i], strlen(no[i])))
            fail_msg("\"%s\": a read of the run-time state", no[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_show_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
