/* session_begin_parse(): the BEGIN forms halyard answers itself on a
 * sharded listener, normalized; anything else goes to the server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "../../src/session/session_int.h"
#include "../../src/session/session_begin.h"

static void test_forms(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *sql; /* NULL: not a form halyard answers */
        bool read_only, snapshot;
    } cases[] = {
        {"BEGIN", "BEGIN", false, false},
        {"begin work;", "BEGIN", false, false},
        {"  /* c */ BEGIN ; ", "BEGIN", false, false},
        {"START TRANSACTION", "START TRANSACTION", false, false},
        {"start transaction read write", "START TRANSACTION READ WRITE", false, false},
        {"START TRANSACTION READ ONLY", "START TRANSACTION READ ONLY", true, false},
        {"START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
         "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", true, true},
        {"START TRANSACTION READ WRITE ,WITH CONSISTENT SNAPSHOT;",
         "START TRANSACTION READ WRITE, WITH CONSISTENT SNAPSHOT", false, true},
        /* the server's to answer (its errors, or not a BEGIN at all) */
        {"START TRANSACTION READ ONLY, READ WRITE", NULL, false, false},
        {"START TRANSACTION READ ONLY, READ ONLY", NULL, false, false},
        {"START TRANSACTION READ ONLY,", NULL, false, false},
        {"START TRANSACTION,", NULL, false, false},
        {"START TRANSACTION READ", NULL, false, false},
        {"BEGIN WORK WORK", NULL, false, false},
        {"BEGIN NOT ATOMIC SELECT 1; END", NULL, false, false},
        {"BEGIN; SELECT 1", NULL, false, false},
        {"BEGINx", NULL, false, false},
        {"START SLAVE", NULL, false, false},
        {"COMMIT", NULL, false, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct begin_form f;
        bool ok = session_begin_parse(cases[i].text, strlen(cases[i].text), &f);
        if (cases[i].sql == NULL) {
            if (ok)
                fail_msg("%s: parsed as %s", cases[i].text, f.sql);
            continue;
        }
        if (!ok)
            fail_msg("%s: not parsed", cases[i].text);
        assert_string_equal(f.sql, cases[i].sql);
        assert_int_equal(f.read_only, cases[i].read_only);
        assert_int_equal(f.snapshot, cases[i].snapshot);
    }
}

static void test_end(void **state)
{
    (void)state;
    bool commit;
    assert_true(session_plain_end("COMMIT", 6, &commit) && commit);
    assert_true(session_plain_end("commit work ;", 13, &commit) && commit);
    assert_true(session_plain_end("ROLLBACK", 8, &commit) && !commit);
    assert_true(session_plain_end("ROLLBACK WORK", 13, &commit) && !commit);
    assert_false(session_plain_end("COMMIT AND CHAIN", 16, &commit));
    assert_false(session_plain_end("ROLLBACK TO SAVEPOINT a", 23, &commit));
    assert_false(session_plain_end("COMMIT RELEASE", 14, &commit));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
