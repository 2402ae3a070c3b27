/*
 * test_audit.c: the audit and query logs.
 *
 *   - audit_json_escape: bytes in, the exact JSON string body out (table)
 *   - lines written through the writer thread to real files, reopened
 *     after a rename, turned off, with the query log's minimum duration
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "halyard/core/audit.h"

struct esc_case {
    const char *in;
    size_t len; /* 0: strlen(in) */
    const char *out;
};

/* The escaping rules are hy_json_escape's (test_text.c has the whole
 * table); these cases check that the audit log uses it. */
static const struct esc_case esc_cases[] = {
    {"plain SELECT 1", 0, "plain SELECT 1"},
    {"it's \"quoted\" \\\n", 0, "it's \\\"quoted\\\" \\\\\\n"},
    {"a\0b", 3, "a\\u0000b"}, /* NUL inside a statement */
    {"caf\xc3\xa9 \xff", 0, "caf\xc3\xa9 \\ufffd"},
};

static void test_escape(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
        const struct esc_case *c = &esc_cases[i];
        char out[256];
        size_t pos = 0;
        size_t len = c->len ? c->len : strlen(c->in);
        assert_true(audit_json_escape(out, sizeof(out), &pos, c->in, len));
        out[pos] = '\0';
        if (strcmp(out, c->out) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, out, c->out);
    }
    /* Too small: false, and the position does not move. */
    char small[8];
    size_t pos = 2;
    assert_false(audit_json_escape(small, sizeof(small), &pos, "\xff\xff", 2));
    assert_int_equal(pos, 2);
    pos = 0;
    assert_true(audit_json_escape(small, sizeof(small), &pos, "\xff", 1));
    assert_int_equal(pos, 6);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return strdup("");
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strdup(buf);
}

static void test_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/halyard-audit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char apath[128], qpath[128], rotated[128], err[256];
    snprintf(apath, sizeof(apath), "%s/audit.log", dir);
    snprintf(qpath, sizeof(qpath), "%s/query.log", dir);
    snprintf(rotated, sizeof(rotated), "%s/audit.log.1", dir);

    assert_int_equal(audit_open("/nonexistent/dir/a.log", "", 0, err, sizeof(err)), HY_ERROR);
    assert_string_equal(err, "audit_log: cannot open /nonexistent/dir/a.log: No such file or "
                             "directory");
    assert_int_equal(audit_open(apath, qpath, 5, err, sizeof(err)), HY_OK);
    audit_login(false, 7, "bob", "10.0.0.1:5555", "main", "wrong password");
    audit_reload(true, "SIGHUP", NULL);
    struct query_log_entry fast = {
        .session = 7, .user = "bob", .text = "SELECT 1", .text_len = 8, .duration_us = 4999};
    struct query_log_entry slow = fast;
    slow.duration_us = 5000;
    slow.text = "SELECT '\xff\"'";
    slow.text_len = strlen(slow.text);
    slow.digest = 0xabcdef;
    struct query_log_entry held = slow; /* waited behind a fair-share limit */
    held.text = "SELECT 2";
    held.text_len = 8;
    held.limit_wait_us = 250000;
    /* Ran under the threshold, but its client waited past it: written. */
    struct query_log_entry waited = fast;
    waited.text = "SELECT 3";
    waited.limit_wait_us = 1;
    assert_false(query_log_wants(fast.duration_us));
    query_log_write(&fast); /* under query_log_min_duration_ms: not written */
    query_log_write(&slow);
    query_log_write(&held);
    query_log_write(&waited);

    /* logrotate: rename, reopen; the next lines go to the new file */
    audit_flush();
    assert_int_equal(rename(apath, rotated), 0);
    assert_int_equal(audit_reopen(err, sizeof(err)), HY_OK);
    audit_admin("uid=0 pid=1", "reload", "OK reloaded /etc/halyard.conf");
    audit_backend(AUDIT_BACKEND_STATE, "db2", "ONLINE", "DOWN", "3 failed checks");
    const char steps[] = "[+0 ms] failover requested\n[+5 ms] db2 \"promoted\"\n";
    struct audit_procedure ap = {.event = "failover",
                                 .trigger = "admin",
                                 .backend = "db2",
                                 .from = "db1",
                                 .to = "db2",
                                 .reason = "requested",
                                 .ok = true,
                                 .result = "done",
                                 .steps = steps,
                                 .steps_len = strlen(steps),
                                 .duration_ms = 5};
    audit_procedure(&ap);
    ap.steps_len = 0;
    ap.event = "fence";
    audit_procedure(&ap);
    audit_shutdown();

    char *old = slurp(rotated), *cur = slurp(apath), *q = slurp(qpath);
    assert_non_null(strstr(old, "\"event\":\"login_failed\",\"session\":7,\"user\":\"bob\","
                                "\"client\":\"10.0.0.1:5555\",\"listener\":\"main\","
                                "\"reason\":\"wrong password\"}\n"));
    assert_non_null(strstr(old, "\"event\":\"reload\",\"by\":\"SIGHUP\",\"result\":\"ok\","
                                "\"message\":null}\n"));
    assert_null(strstr(old, "\"admin\""));
    assert_non_null(strstr(cur, "\"event\":\"admin\",\"by\":\"uid=0 pid=1\",\"command\":"
                                "\"reload\",\"result\":\"OK reloaded /etc/halyard.conf\"}\n"));
    assert_non_null(strstr(cur, "\"event\":\"backend_state\",\"backend\":\"db2\",\"from\":"
                                "\"ONLINE\",\"to\":\"DOWN\",\"reason\":\"3 failed checks\"}\n"));
    assert_non_null(strstr(cur, "\"event\":\"failover\",\"trigger\":\"admin\",\"backend\":"
                                "\"db2\",\"from\":\"db1\",\"to\":\"db2\",\"reason\":"
                                "\"requested\",\"ok\":true,\"result\":\"done\",\"duration_ms\":5,"
                                "\"steps\":[\"[+0 ms] failover requested\",\"[+5 ms] db2 "
                                "\\\"promoted\\\"\"]}\n"));
    char *fence = strstr(cur, "\"event\":\"fence\",");
    assert_non_null(fence);
    assert_non_null(strstr(fence, "\"steps\":[]}\n")); /* no steps: an empty array */
    assert_null(strstr(q, "SELECT 1"));
    assert_non_null(strstr(q, "\"digest\":\"0000000000abcdef\",\"duration_us\":5000,\"rows\":0,"
                              "\"affected\":0,\"error\":0,\"query\":\"SELECT '\\ufffd\\\"'\"}\n"));
    assert_non_null(
        strstr(q, "\"duration_us\":5000,\"limit_wait_us\":250000,\"rows\":0,\"affected\":0,"
                  "\"error\":0,\"query\":\"SELECT 2\"}\n"));
    assert_non_null(strstr(q, "\"duration_us\":4999,\"limit_wait_us\":1,\"rows\":0,\"affected\":0,"
                              "\"error\":0,\"query\":\"SELECT 3\"}\n"));
    assert_int_equal(strncmp(old, "{\"time\":\"", 9), 0);
    struct audit_stats st;
    audit_get_stats(&st);
    assert_int_equal(st.audit_lines, 6);
    assert_int_equal(st.query_lines, 3);
    assert_int_equal(st.audit_dropped + st.query_dropped, 0);
    free(old);
    free(cur);
    free(q);

    /* Off: nothing is queued. */
    assert_int_equal(audit_open("", "", 0, err, sizeof(err)), HY_OK);
    assert_false(query_log_enabled());
    audit_reload(false, "SIGHUP", "x");
    audit_shutdown();
    audit_get_stats(&st);
    assert_int_equal(st.audit_lines, 6);
    unlink(apath);
    unlink(rotated);
    unlink(qpath);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests_name("audit", tests, NULL, NULL);
}
