/* The command cycle's table (session.c): each command kind passes the
 * stages it must, in order. A prepared execution goes through the route
 * (where session_route_begin resets the consistency wait, issue 54) and
 * the due stage (the consistency wait itself) as a text statement does; a
 * stage meant for one kind is skipped by the table for the others. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/protocol/mysql_proto.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "../../src/session/session_int.h"

#define MAX_STAGES 16

static void assert_path(uint8_t cmd, const char *const *want)
{
    const char *got[MAX_STAGES];
    size_t n = session_cycle_path(cmd, got, MAX_STAGES);
    size_t i = 0;
    for (; want[i] != NULL; i++) {
        if (i >= n)
            fail_msg("command 0x%02x: stage %zu missing (%s)", cmd, i, want[i]);
        if (strcmp(got[i], want[i]) != 0)
            fail_msg("command 0x%02x: stage %zu is %s, not %s", cmd, i, got[i], want[i]);
    }
    if (n != i)
        fail_msg("command 0x%02x: %zu stages, not %zu (the first extra: %s)", cmd, n, i, got[i]);
}

static void test_query(void **state)
{
    (void)state;
    static const char *const want[] = {"gate",  "kill-chain", "command", "route", "outcome",
                                       "limit", "due",        "forward", NULL};
    assert_path(COM_QUERY, want);
}

/* The two ways a prepared statement runs pass what a text statement
 * passes, but the KILL in a multi-statement text, and first the lost
 * transaction's check (the session follows the new primary first). */
static void test_executions(void **state)
{
    (void)state;
    static const char *const want[] = {"gate",  "lost-execute", "command", "route", "outcome",
                                       "limit", "due",          "forward", NULL};
    assert_path(COM_STMT_EXECUTE, want);
    assert_path(COM_STMT_BULK_EXECUTE, want);
}

/* A prepared statement's other commands that reach a backend have no
 * step of their own: routed to their statement, then forwarded as any
 * command (issue 55 item 1: they once sent themselves from a step). They
 * wait for nothing: the execution they follow did (the table says so;
 * an `if` in the forward did before). */
static void test_statement_commands(void **state)
{
    (void)state;
    static const char *const want[] = {"gate", "route", "outcome", "limit", "forward", NULL};
    assert_path(COM_STMT_SEND_LONG_DATA, want);
    assert_path(COM_STMT_FETCH, want);
    assert_path(COM_STMT_RESET, want);
}

/* The prepare, the close, the resets and halyard's own answers have a
 * step of their own, then are routed as any command. */
static void test_handled(void **state)
{
    (void)state;
    static const char *const want[] = {"gate",  "command", "route",   "outcome",
                                       "limit", "due",     "forward", NULL};
    static const uint8_t cmds[] = {COM_STMT_PREPARE, COM_STMT_CLOSE, COM_RESET_CONNECTION,
                                   COM_CHANGE_USER,  COM_PING,       COM_QUIT,
                                   COM_PROCESS_KILL, COM_BINLOG_DUMP};
    for (size_t i = 0; i < sizeof(cmds); i++)
        assert_path(cmds[i], want);
}

/* A command without a step of its own (COM_INIT_DB, COM_SET_OPTION,
 * COM_STATISTICS...) is routed as it is. */
static void test_plain(void **state)
{
    (void)state;
    static const char *const want[] = {"gate", "route", "outcome", "limit", "due", "forward", NULL};
    assert_path(COM_INIT_DB, want);
    assert_path(COM_SET_OPTION, want);
    assert_path(COM_STATISTICS, want);
}

/* Every stage is the cycle's once, and every kind meets the gate first
 * and the forward last. */
static void test_every_kind(void **state)
{
    (void)state;
    for (unsigned cmd = 0; cmd < 256; cmd++) {
        const char *got[MAX_STAGES];
        size_t n = session_cycle_path((uint8_t)cmd, got, MAX_STAGES);
        assert_true(n >= 5);
        assert_string_equal(got[0], "gate");
        assert_string_equal(got[n - 1], "forward");
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                assert_true(strcmp(got[i], got[j]) != 0);
    }
}

/* What differs per kind is its row (struct cmd_kind): a kind routed to
 * its statement readies and sends its commands itself (with the
 * statement's id where it lands); the text's commands have no row, and a
 * COM_STMT_PREPARE is routed by its classified text. */
static void test_kind_rows(void **state)
{
    (void)state;
    for (unsigned cmd = 0; cmd < 256; cmd++) {
        const struct cmd_kind *k = session_hooks_kind((uint8_t)cmd);
        if (k != NULL && k->route != NULL) {
            assert_non_null(k->ready);
            assert_non_null(k->send);
        }
    }
    assert_null(session_hooks_kind(COM_QUERY));
    assert_null(session_hooks_kind(COM_INIT_DB));
    assert_non_null(session_hooks_kind(COM_STMT_PREPARE)->route_text);
    assert_non_null(session_hooks_kind(COM_STMT_PREPARE)->answer_ok);
    assert_non_null(session_hooks_kind(COM_STMT_FETCH)->route);
    assert_true(session_hooks_kind(COM_STMT_EXECUTE)->stages & KIND_LOST_FIRST);
    assert_true(session_hooks_kind(COM_STMT_RESET)->stages & KIND_FOLLOWS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query),     cmocka_unit_test(test_executions),
        cmocka_unit_test(test_handled),   cmocka_unit_test(test_statement_commands),
        cmocka_unit_test(test_plain),     cmocka_unit_test(test_every_kind),
        cmocka_unit_test(test_kind_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
