/*
 * test_admin.c: the pure parts of the operations side, table-driven.
 *
 *   - admin_parse: command lines in, verb / flags / exact ERR answer out
 *   - textbuf: JSON string escaping, table cells, the size limit
 *   - admin_render_*: the tables and the JSON of the admin answers
 *   - metrics_render: every line valid text exposition format 0.0.4
 *   - metrics_parse_request: HTTP request lines
 *   - log_format_syslog, and the config keys of the operations side
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/admin/admin.h"
#include "halyard/admin/alerts.h"
#include "halyard/core/events.h"
#include "halyard/cluster/backend.h"
#include "halyard/backup/backup_copy.h"
#include "halyard/backup/backup_full.h"
#include "halyard/backup/backup_sched.h"
#include "halyard/backup/backup_verify.h"
#include "halyard/backup/binlog_archive.h"
#include "halyard/config/config.h"
#include "halyard/core/log.h"
#include "halyard/core/memory.h"
#include "halyard/admin/metrics.h"
#include "halyard/core/textbuf.h"

#include "../../src/admin/admin_int.h"

#define HASH "*5BCB3E6AC345B435C7C2E6B7949A04CE6F6563D3"
#define BASE                                                                                       \
    "listeners = ( { name = \"main\"; address = \"127.0.0.1\"; port = 6033; } );\n"                \
    "users = ( { name = \"app\"; password_hash = \"" HASH "\"; },\n"                               \
    "          { name = \"nopw\"; password_hash = \"\"; } );\n"                                    \
    "admin_accounts = ( { name = \"ops\"; password_hash = \"" HASH                                 \
    "\"; role = \"operator\"; } );\n"                                                              \
    "backends = ( { name = \"db1\"; address = \"127.0.0.1\"; port = 3310; role = \"primary\"; "    \
    "},\n"                                                                                         \
    "             { name = \"db2\"; address = \"127.0.0.1\"; port = 3311; role = \"replica\"; } "  \
    ");\n"                                                                                         \
    "rules = ( { name = \"reads\"; match_digest = \"^SELECT\"; route = \"replica\"; },\n"          \
    "          { name = \"nodrop\"; match_digest = \"^DROP\"; user = \"app\";\n"                   \
    "            action = \"block\"; } );\n"                                                       \
    "limits = ( { name = \"l1\"; user = \"app\"; max_concurrent = 4; } );\n"                       \
    "witnesses = ( { name = \"w1\"; address = \"10.0.3.9\"; port = 3306; } );\n"                   \
    "alerts = { events = ( { name = \"backend_lagging\"; repeat_ms = 600000; } ); };\n"            \
    "shards = { schemas = ( { schema = \"s1\"; group = \"default\"; } );\n"                        \
    "  tables = ( { table = \"s1.t\"; key = \"id\"; buckets = 2;\n"                                \
    "    map = ( { group = \"default\"; buckets = \"0-1\"; } ); } );\n"                            \
    "  reference = [ \"s1.r\" ]; };\n"

/* ---- admin_parse ------------------------------------------------------- */

struct parse_case {
    const char *line;
    hy_status_t rc;
    enum admin_verb verb;
    bool json;
    uint32_t id;     /* session id, or show digests' top */
    const char *err; /* the exact answer when rc == HY_ERROR */
};

static const struct parse_case parse_cases[] = {
    {"help", HY_OK, ADMIN_HELP, false, 0, NULL},
    {"help --json", HY_OK, ADMIN_HELP, true, 0, NULL},
    {"show events", HY_OK, ADMIN_SHOW_EVENTS, false, 20, NULL},
    {"show events last 64 --json", HY_OK, ADMIN_SHOW_EVENTS, true, 64, NULL},
    {"SHOW EVENTS LAST 1", HY_OK, ADMIN_SHOW_EVENTS, false, 1, NULL},
    {"show events last 65", HY_ERROR, 0, false, 0,
     "ERR usage: show events [last N], N from 1 to 64"},
    {"show events last 0", HY_ERROR, 0, false, 0,
     "ERR usage: show events [last N], N from 1 to 64"},
    {"show events top 5", HY_ERROR, 0, false, 0, "ERR usage: show events [last N], N from 1 to 64"},
    {"show events last x1", HY_ERROR, 0, false, 0,
     "ERR usage: show events [last N], N from 1 to 64"},
    {"test-alert", HY_OK, ADMIN_TEST_ALERT, false, 0, NULL},
    {"test-alert --json", HY_OK, ADMIN_TEST_ALERT, true, 0, NULL},
    {"test-alert now", HY_ERROR, 0, false, 0, "ERR unknown command 'test-alert now'; try help"},
    {"show status", HY_OK, ADMIN_SHOW_STATUS, false, 0, NULL},
    {"show config", HY_OK, ADMIN_SHOW_CONFIG, false, 0, NULL},
    {"show stats", HY_OK, ADMIN_SHOW_STATS, false, 0, NULL},
    {"show sessions", HY_OK, ADMIN_SHOW_SESSIONS, false, 0, NULL},
    {"show sessions --json", HY_OK, ADMIN_SHOW_SESSIONS, true, 0, NULL},
    {"show rules", HY_OK, ADMIN_SHOW_RULES, false, 0, NULL},
    {"show rules --json", HY_OK, ADMIN_SHOW_RULES, true, 0, NULL},
    {"show digests", HY_OK, ADMIN_SHOW_DIGESTS, false, 20, NULL},
    {"show digests top 5 --json", HY_OK, ADMIN_SHOW_DIGESTS, true, 5, NULL},
    {"show digests TOP 100000", HY_OK, ADMIN_SHOW_DIGESTS, false, 100000, NULL},
    {"reload", HY_OK, ADMIN_RELOAD, false, 0, NULL},
    {"takeover", HY_OK, ADMIN_TAKEOVER, false, 0, NULL},
    {"TAKEOVER  finish", HY_OK, ADMIN_TAKEOVER_FINISH, false, 0, NULL},
    {"takeover now", HY_ERROR, 0, false, 0, "ERR unknown command 'takeover now'; try help"},
    {"kill session 1073741824", HY_OK, ADMIN_KILL_SESSION, false, 1073741824u, NULL},
    {"kill session 4294967295 --json", HY_OK, ADMIN_KILL_SESSION, true, 4294967295u, NULL},
    {"switchover", HY_OK, ADMIN_SWITCHOVER, false, 0, NULL},
    {"switchover to node2", HY_OK, ADMIN_SWITCHOVER, false, 0, NULL},
    {"SWITCHOVER TO db-2 --json", HY_OK, ADMIN_SWITCHOVER, true, 0, NULL},
    {"failover", HY_OK, ADMIN_FAILOVER, false, 0, NULL},
    {"  SHOW\tStats  ", HY_OK, ADMIN_SHOW_STATS, false, 0, NULL},
    {"show status\r", HY_OK, ADMIN_SHOW_STATUS, false, 0, NULL},
    {"show status --JSON", HY_OK, ADMIN_SHOW_STATUS, true, 0, NULL},
    /* blank lines get no answer */
    {"", HY_AGAIN, 0, false, 0, NULL},
    {" \t \r", HY_AGAIN, 0, false, 0, NULL},
    /* errors */
    {"x", HY_ERROR, 0, false, 0, "ERR unknown command 'x'; try help"},
    {"show", HY_ERROR, 0, false, 0, "ERR unknown command 'show'; try help"},
    {"show nothing", HY_ERROR, 0, false, 0, "ERR unknown command 'show nothing'; try help"},
    {"show stats extra", HY_ERROR, 0, false, 0, "ERR unknown command 'show stats extra'; try help"},
    {"reload now", HY_ERROR, 0, false, 0, "ERR unknown command 'reload now'; try help"},
    {"--json", HY_ERROR, 0, false, 0, "ERR unknown command '--json'; try help"},
    {"--json show stats", HY_ERROR, 0, false, 0,
     "ERR unknown command '--json show stats'; try help"},
    {"  help   me  ", HY_ERROR, 0, false, 0, "ERR unknown command 'help   me'; try help"},
    {"a b c d e f", HY_ERROR, 0, false, 0, "ERR unknown command 'a b c d e f'; try help"},
    {"bad\x01\x7f\xff", HY_ERROR, 0, false, 0,
     "ERR unknown command 'bad\\x01\\x7f\\xff'; try help"},
    {"kill session", HY_ERROR, 0, false, 0, "ERR usage: kill session ID"},
    {"kill session 1 2", HY_ERROR, 0, false, 0, "ERR usage: kill session ID"},
    {"kill session abc", HY_ERROR, 0, false, 0, "ERR kill session: 'abc' is not a session id"},
    {"show rules all", HY_ERROR, 0, false, 0, "ERR unknown command 'show rules all'; try help"},
    {"show digests 5", HY_ERROR, 0, false, 0, "ERR usage: show digests [top N]"},
    {"show digests top", HY_ERROR, 0, false, 0, "ERR usage: show digests [top N]"},
    {"show digests top 5 6", HY_ERROR, 0, false, 0, "ERR usage: show digests [top N]"},
    {"show digests top 0", HY_ERROR, 0, false, 0,
     "ERR show digests: '0' is not a number from 1 to 100000"},
    {"show digests top 100001", HY_ERROR, 0, false, 0,
     "ERR show digests: '100001' is not a number from 1 to 100000"},
    {"show digests top -1", HY_ERROR, 0, false, 0,
     "ERR show digests: '-1' is not a number from 1 to 100000"},
    {"kill session 0", HY_ERROR, 0, false, 0, "ERR kill session: '0' is not a session id"},
    {"kill session -1", HY_ERROR, 0, false, 0, "ERR kill session: '-1' is not a session id"},
    {"kill session 4294967296", HY_ERROR, 0, false, 0,
     "ERR kill session: '4294967296' is not a session id"},
    {"kill session 99999999999", HY_ERROR, 0, false, 0,
     "ERR kill session: '99999999999' is not a session id"},
    {"kill session 12x", HY_ERROR, 0, false, 0, "ERR kill session: '12x' is not a session id"},
    {"kill sessions 1", HY_ERROR, 0, false, 0, "ERR unknown command 'kill sessions 1'; try help"},
    {"switchover node2", HY_ERROR, 0, false, 0, "ERR usage: switchover [to NAME]"},
    {"switchover to", HY_ERROR, 0, false, 0, "ERR usage: switchover [to NAME]"},
    {"switchover to a b", HY_ERROR, 0, false, 0, "ERR usage: switchover [to NAME]"},
    {"switchover to "
     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
     HY_ERROR, 0, false, 0, "ERR usage: switchover [to NAME]"},
    {"failover now please", HY_ERROR, 0, false, 0,
     "ERR unknown command 'failover now please'; try help"},
    {"failover east", HY_OK, ADMIN_FAILOVER, false, 0, NULL},
    {"show groups", HY_OK, ADMIN_SHOW_GROUPS, false, 0, NULL},
    {"show groups --json", HY_OK, ADMIN_SHOW_GROUPS, true, 0, NULL},
    {"show shards", HY_OK, ADMIN_SHOW_SHARDS, false, 0, NULL},
    {"show shards --json", HY_OK, ADMIN_SHOW_SHARDS, true, 0, NULL},
    {"show xa", HY_OK, ADMIN_SHOW_XA, false, 0, NULL},
    {"show xa --json", HY_OK, ADMIN_SHOW_XA, true, 0, NULL},
    {"backup verified ok 0-1-5 3 0", HY_OK, ADMIN_BACKUP_VERIFIED, false, 0, NULL},
    {"backup verified differ 0-1-5 3 1 --json", HY_OK, ADMIN_BACKUP_VERIFIED, true, 0, NULL},
    {"backup verified ok 0-1-5 3", HY_ERROR, 0, false, 0,
     "ERR unknown command 'backup verified ok 0-1-5 3'; try help"},
};

static void test_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        const struct parse_case *c = &parse_cases[i];
        struct admin_cmd cmd;
        char err[512] = "";
        memset(&cmd, 0xa5, sizeof(cmd));
        hy_status_t rc = admin_parse(c->line, strlen(c->line), &cmd, err, sizeof(err));
        if (rc != c->rc)
            fail_msg("'%s': rc %d, want %d (%s)", c->line, rc, c->rc, err);
        if (rc == HY_OK) {
            assert_int_equal(cmd.verb, c->verb);
            assert_int_equal(cmd.json, c->json);
            if (c->verb == ADMIN_KILL_SESSION)
                assert_int_equal(cmd.session_id, c->id);
            if (c->verb == ADMIN_SHOW_DIGESTS || c->verb == ADMIN_SHOW_EVENTS)
                assert_int_equal(cmd.top, c->id);
            if (c->verb == ADMIN_BACKUP_VERIFIED)
                assert_string_equal(cmd.arg, c->json ? "differ 0-1-5 3 1" : "ok 0-1-5 3 0");
            if (c->verb == ADMIN_SWITCHOVER) {
                const char *to = strcasestr(c->line, " to ");
                char want[80] = "";
                if (to != NULL)
                    sscanf(to + 4, "%79s", want);
                assert_string_equal(cmd.target, want);
            }
        } else if (rc == HY_ERROR) {
            assert_string_equal(err, c->err);
        }
    }
}

/* Every verb has its row in admin_verbs[] (a verb added to the enum
 * without one would have no words to match and no handler), and its own
 * words name it. */
static void test_verb_table(void **state)
{
    (void)state;
    for (size_t v = 0; v < ADMIN_N_VERBS; v++) {
        const struct admin_verb_def *d = &admin_verbs[v];
        if (d->words == NULL || d->run == NULL)
            fail_msg("verb %zu has no row in admin_verbs[] (src/admin/admin_cmd.c)", v);
        assert_true(d->min_args <= d->max_args);
        assert_true((d->usage == NULL) == (d->help == NULL));
        if (d->min_args > 0)
            continue;
        struct admin_cmd cmd;
        char err[512] = "";
        hy_status_t rc = admin_parse(d->words, strlen(d->words), &cmd, err, sizeof(err));
        if (rc == HY_OK && cmd.verb != v)
            fail_msg("'%s' parses as verb %d, not %zu", d->words, cmd.verb, v);
    }
}

static void test_parse_long_line(void **state)
{
    (void)state;
    char line[ADMIN_LINE_MAX], err[512];
    memset(line, 'z', sizeof(line));
    struct admin_cmd cmd;
    assert_int_equal(admin_parse(line, sizeof(line), &cmd, err, sizeof(err)), HY_ERROR);
    /* The line is quoted, cut to 64 characters. */
    char want[128];
    snprintf(want, sizeof(want), "ERR unknown command '%.64s...'; try help", line);
    assert_string_equal(err, want);
    /* Not NUL-terminated input is read to len only. */
    assert_int_equal(admin_parse("helpXYZ", 4, &cmd, err, sizeof(err)), HY_OK);
    assert_int_equal(cmd.verb, ADMIN_HELP);
}

/* ---- textbuf ----------------------------------------------------------- */

struct json_case {
    const char *in;
    const char *out;
};

static const struct json_case json_cases[] = {
    {"", "\"\""},
    {"plain", "\"plain\""},
    {"a\"b\\c", "\"a\\\"b\\\\c\""},
    {"\n\r\t", "\"\\n\\r\\t\""},
    {"\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\""},
    {"/slash", "\"/slash\""},
    {"caf\xc3\xa9", "\"caf\xc3\xa9\""},                       /* U+00E9 */
    {"\xe2\x82\xac", "\"\xe2\x82\xac\""},                     /* U+20AC */
    {"\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\""},             /* U+1F600 */
    {"\xff", "\"\\ufffd\""},                                  /* never valid */
    {"\xc3", "\"\\ufffd\""},                                  /* truncated */
    {"\xc3(", "\"\\ufffd(\""},                                /* bad continuation */
    {"\xc0\xaf", "\"\\ufffd\\ufffd\""},                       /* overlong '/' */
    {"\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\""},            /* overlong */
    {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},            /* surrogate */
    {"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* > U+10FFFF */
    {"\x80x", "\"\\ufffdx\""},                                /* lone continuation */
};

static void test_json_str(void **state)
{
    (void)state;
    struct textbuf sb;
    textbuf_init(&sb, 1 << 20);
    for (size_t i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]); i++) {
        textbuf_reset(&sb);
        textbuf_json_str(&sb, json_cases[i].in);
        assert_false(sb.overflow);
        assert_string_equal(sb.data, json_cases[i].out);
    }
    textbuf_reset(&sb);
    textbuf_json_str(&sb, NULL);
    assert_string_equal(sb.data, "null");
    textbuf_free(&sb);
}

static void test_cell(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
        size_t width;
    } cases[] = {
        {"abc", "abc", 3},
        {NULL, "-", 1},
        {"a\nb", "a\\x0ab", 6},
        {"\n\nERR forged", "\\x0a\\x0aERR forged", 18},
        {"back\\slash", "back\\\\slash", 11},
        {"caf\xc3\xa9", "caf\xc3\xa9", 4},
        {"\xff", "\\xff", 4},
    };
    struct textbuf sb;
    textbuf_init(&sb, 1024);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        textbuf_reset(&sb);
        size_t w = textbuf_cell(&sb, cases[i].in);
        assert_string_equal(sb.data, cases[i].out);
        assert_int_equal(w, cases[i].width);
        assert_int_equal(textbuf_cell_width(cases[i].in), cases[i].width);
    }
    textbuf_free(&sb);
}

/* truncate drops an item that did not fit and lets the next one in;
 * extend hands out bytes to fill; json_strn takes a NUL as a byte */
static void textbuf_truncate_extend(void)
{
    struct textbuf sb;
    textbuf_init(&sb, 8);
    textbuf_puts(&sb, "abc");
    size_t mark = sb.len;
    textbuf_puts(&sb, "defghij");
    assert_true(sb.overflow);
    textbuf_truncate(&sb, mark);
    assert_false(sb.overflow);
    assert_string_equal(sb.data, "abc");
    textbuf_truncate(&sb, 99); /* past the end: nothing changes */
    assert_int_equal(sb.len, 3);
    char *p = textbuf_extend(&sb, 5);
    assert_non_null(p);
    memcpy(p, "12345", 5);
    assert_string_equal(sb.data, "abc12345");
    assert_null(textbuf_extend(&sb, 1));
    assert_true(sb.overflow);
    assert_int_equal(sb.len, 8);
    textbuf_free(&sb);

    textbuf_init(&sb, 64);
    textbuf_json_strn(&sb, "a\0\xff", 3);
    assert_false(sb.overflow);
    assert_string_equal(sb.data, "\"a\\u0000\\ufffd\"");
    textbuf_free(&sb);
}

/* A reader's use: receive into the room, commit, consume from the front;
 * and a wipe leaves zeroes. */
static void test_textbuf_room(void **state)
{
    (void)state;
    struct textbuf sb;
    textbuf_init(&sb, 16);
    char *r = textbuf_room(&sb, 8);
    assert_non_null(r);
    assert_int_equal(sb.len, 0); /* room is not counted */
    assert_true(sb.cap - 1 - sb.len >= 8);
    memcpy(r, "abcdef", 6);
    textbuf_commit(&sb, 6);
    assert_int_equal(sb.len, 6);
    assert_string_equal(sb.data, "abcdef");
    textbuf_commit(&sb, sb.cap); /* more than the room: nothing counted */
    assert_int_equal(sb.len, 6);
    textbuf_consume(&sb, 2);
    assert_string_equal(sb.data, "cdef");
    textbuf_consume(&sb, 5); /* more than it holds: nothing */
    assert_string_equal(sb.data, "cdef");
    assert_null(textbuf_room(&sb, 13)); /* 4 + 13 > 16 */
    assert_true(sb.overflow);
    textbuf_consume(&sb, 4);
    assert_false(sb.overflow);
    assert_non_null(textbuf_room(&sb, 16));
    textbuf_append(&sb, "secret", 6);
    char *data = sb.data;
    textbuf_wipe(&sb);
    assert_int_equal(sb.len, 0);
    assert_ptr_equal(sb.data, data); /* the memory kept, the bytes it held zeroed */
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(data[i], 0);
    textbuf_free(&sb);
}

static void test_textbuf_limit(void **state)
{
    (void)state;
    struct textbuf sb;
    textbuf_init(&sb, 10);
    textbuf_puts(&sb, "0123456789");
    assert_false(sb.overflow);
    assert_int_equal(sb.len, 10);
    textbuf_putc(&sb, 'x');
    assert_true(sb.overflow);
    assert_int_equal(sb.len, 10);
    assert_string_equal(sb.data, "0123456789");
    textbuf_reset(&sb);
    assert_false(sb.overflow);
    textbuf_printf(&sb, "%s", "a long string that does not fit");
    assert_true(sb.overflow);
    assert_int_equal(sb.len, 0);
    textbuf_free(&sb);

    /* printf longer than its stack buffer */
    textbuf_init(&sb, 1 << 20);
    char big[1000];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    textbuf_printf(&sb, "<%s>", big);
    assert_int_equal(sb.len, 1001);
    assert_int_equal(sb.data[1000], '>');
    textbuf_pad(&sb, 70);
    assert_int_equal(sb.len, 1071);
    textbuf_free(&sb);

    textbuf_truncate_extend();
}

/* ---- admin renderers --------------------------------------------------- */

static void test_render_stats(void **state)
{
    (void)state;
    struct stat_values per[2] = {{{1, 10, 0, 2}}, {{3, 5, 1, 0}}};
    struct stat_values total = {{4, 15, 1, 2}};
    struct textbuf sb;
    textbuf_init(&sb, 1 << 20);
    admin_render_stats(&sb, &total, per, 2, 7, false);
    assert_string_equal(sb.data, "name                      total  worker0  worker1\n"
                                 "client_sessions           7      -        -\n"
                                 "sessions_accepted         4      1        3\n"
                                 "commands                  15     10       5\n"
                                 "auth_failures             1      0        1\n"
                                 "backend_connect_failures  2      2        0\n"
                                 "pool_idle                 0      0        0\n"
                                 "pool_taken                0      0        0\n"
                                 "pool_taken_own            0      0        0\n"
                                 "pool_returned             0      0        0\n"
                                 "pool_closed_idle          0      0        0\n"
                                 "pool_closed_age           0      0        0\n"
                                 "pool_closed_spoke         0      0        0\n"
                                 "pool_stmt_cached          0      0        0\n"
                                 "pool_stmt_evicted         0      0        0\n"
                                 "pool_restore_resets       0      0        0\n"
                                 "statements_retried        0      0        0\n"
                                 "transactions_replayed     0      0        0\n"
                                 "replays_failed_mismatch   0      0        0\n"
                                 "replays_failed_timeout    0      0        0\n"
                                 "replays_refused           0      0        0\n"
                                 "inflight_committed        0      0        0\n"
                                 "inflight_rerun            0      0        0\n"
                                 "inflight_rolled_back      0      0        0\n"
                                 "inflight_unknown          0      0        0\n"
                                 "writer_catchups           0      0        0\n"
                                 "writer_catchups_refused   0      0        0\n"
                                 "classify_memo_hits        0      0        0\n"
                                 "classify_memo_misses      0      0        0\n"
                                 "classify_memo_stores      0      0        0\n"
                                 "trace_spans_exported      0      -        -\n"
                                 "trace_spans_dropped       0      -        -\n"
                                 "trace_bad_traceparents    0      -        -\n"
                                 "trace_bad_tracestates     0      -        -\n"
                                 "capture_records_dropped   0      -        -\n");
    textbuf_reset(&sb);
    admin_render_stats(&sb, &total, per, 2, 7, true);
    assert_string_equal(
        sb.data,
        "{\"client_sessions\":7,\"sessions_accepted\":4,\"commands\":15,\"auth_failures\":1,"
        "\"backend_connect_failures\":2,"
        "\"pool_idle\":0,\"pool_taken\":0,\"pool_taken_own\":0,\"pool_returned\":0,\"pool_closed_"
        "idle\":0,\"pool_closed_age\":0,\"pool_closed_spoke\":0,\"pool_stmt_cached\":0,"
        "\"pool_stmt_evicted\":0,\"pool_restore_resets\":0,\"statements_retried\":0,\"transactions_"
        "replayed\":0,"
        "\"replays_failed_mismatch\":0,\"replays_failed_timeout\":0,\"replays_refused\":0,"
        "\"inflight_committed\":0,\"inflight_rerun\":0,\"inflight_rolled_back\":0,"
        "\"inflight_unknown\":0,\"writer_catchups\":0,\"writer_catchups_refused\":0,"
        "\"classify_memo_hits\":0,\"classify_memo_misses\":0,\"classify_memo_stores\":0,"
        "\"trace_spans_exported\":0,\"trace_spans_dropped\":0,\"trace_bad_traceparents\":0,"
        "\"trace_bad_tracestates\":0,"
        "\"capture_records_dropped\":0,\"workers\":[{\"worker\":0,\"sessions_accepted\":1,"
        "\"commands\":10,\"auth_failures\":0,\"backend_connect_failures\":2,"
        "\"pool_idle\":0,\"pool_taken\":0,\"pool_taken_own\":0,\"pool_returned\":0,\"pool_closed_"
        "idle\":0,\"pool_closed_age\":0,\"pool_closed_spoke\":0,\"pool_stmt_cached\":0,"
        "\"pool_stmt_evicted\":0,\"pool_restore_resets\":0,\"statements_retried\":0,\"transactions_"
        "replayed\":0,"
        "\"replays_failed_mismatch\":0,\"replays_failed_timeout\":0,\"replays_refused\":0,"
        "\"inflight_committed\":0,\"inflight_rerun\":0,\"inflight_rolled_back\":0,"
        "\"inflight_unknown\":0,\"writer_catchups\":0,\"writer_catchups_refused\":0,"
        "\"classify_memo_hits\":0,\"classify_memo_misses\":0,\"classify_memo_stores\":0},{"
        "\"worker\":1,"
        "\"sessions_accepted\":3,\"commands\":5,\"auth_failures\":1,"
        "\"backend_connect_failures\":0,"
        "\"pool_idle\":0,\"pool_taken\":0,\"pool_taken_own\":0,\"pool_returned\":0,\"pool_closed_"
        "idle\":0,\"pool_closed_age\":0,\"pool_closed_spoke\":0,\"pool_stmt_cached\":0,"
        "\"pool_stmt_evicted\":0,\"pool_restore_resets\":0,\"statements_retried\":0,\"transactions_"
        "replayed\":0,"
        "\"replays_failed_mismatch\":0,\"replays_failed_timeout\":0,\"replays_refused\":0,"
        "\"inflight_committed\":0,\"inflight_rerun\":0,\"inflight_rolled_back\":0,"
        "\"inflight_unknown\":0,\"writer_catchups\":0,\"writer_catchups_refused\":0,"
        "\"classify_memo_hits\":0,\"classify_memo_misses\":0,\"classify_memo_stores\":0}]}\n");
    textbuf_free(&sb);
}

static void test_render_sessions(void **state)
{
    (void)state;
    struct admin_session_row rows[2] = {
        {.id = 1073741824,
         .worker = 0,
         .user = "app",
         .client = "127.0.0.1:5000",
         .schema = "",
         .state = "idle",
         .command = NULL,
         .command_age_ms = -1,
         .statements = 0},
        {.id = 1073741830,
         .worker = 1,
         .user = "a\"b",
         .client = "[::1]:6000",
         .via = "10.0.0.7:41000",
         .schema = "s\nx",
         .backend = "db2",
         .thread = 4711,
         .state = "command",
         .command = "COM_QUERY",
         .command_age_ms = 1500,
         .statements = 12,
         .holds = "db2: XA transaction",
         .statement = "SELECT SLEEP(1)"},
    };
    int missing[1] = {3};
    struct textbuf sb;
    textbuf_init(&sb, 1 << 20);
    admin_render_sessions(&sb, rows, 2, missing, 1, false);
    assert_string_equal(
        sb.data,
        "id          worker  user  client          via             schema  backend  thread  "
        "state    command    command_age_ms  statements  holds                statement\n"
        "1073741824  0       app   127.0.0.1:5000  -               -       -        -       "
        "idle     -          -               0           -                    -\n"
        "1073741830  1       a\"b   [::1]:6000      10.0.0.7:41000  s\\x0ax  db2      4711    "
        "command  COM_QUERY  1500            12          db2: XA transaction  SELECT SLEEP(1)\n"
        "# worker 3 did not answer within 1.0 s; its sessions are missing\n");
    textbuf_reset(&sb);
    admin_render_sessions(&sb, rows, 2, missing, 1, true);
    assert_string_equal(
        sb.data,
        "{\"sessions\":[{\"id\":1073741824,\"worker\":0,\"user\":\"app\","
        "\"client\":\"127.0.0.1:5000\",\"via\":null,\"schema\":null,\"backend\":null,"
        "\"thread\":null,\"state\":\"idle\",\"command\":null,\"command_age_ms\":null,"
        "\"statements\":0,\"holds\":null,\"statement\":null},"
        "{\"id\":1073741830,"
        "\"worker\":1,\"user\":\"a\\\"b\",\"client\":\"[::1]:6000\","
        "\"via\":\"10.0.0.7:41000\",\"schema\":\"s\\nx\",\"backend\":\"db2\",\"thread\":4711,"
        "\"state\":\"command\","
        "\"command\":\"COM_QUERY\",\"command_age_ms\":1500,\"statements\":12,"
        "\"holds\":\"db2: XA transaction\",\"statement\":\"SELECT SLEEP(1)\"}],"
        "\"missing_workers\":[3]}\n");
    textbuf_reset(&sb);
    admin_render_sessions(&sb, NULL, 0, NULL, 0, true);
    assert_string_equal(sb.data, "{\"sessions\":[],\"missing_workers\":[]}\n");
    textbuf_free(&sb);
}

static void test_render_pools(void **state)
{
    (void)state;
    struct admin_pool_row rows[2] = {
        {.backend = "db1",
         .user = "app",
         .in_use = 3,
         .idle = 5,
         .waiting = 1,
         .waits = 4,
         .wait_p50_ms = 1.25,
         .wait_p99_ms = 250.5,
         .restores = 9,
         .resets = 2,
         .opened = 8,
         .closed = 1},
        {.backend = "db2", .user = "we\"ird", .idle = 1, .opened = 1},
    };
    int missing[] = {1};
    struct textbuf sb;
    textbuf_init(&sb, 1 << 16);
    admin_render_pools(&sb, rows, 2, NULL, 0, false);
    assert_string_equal(sb.data,
                        "backend  user    in_use  idle  waiting  waits  wait_p50_ms  wait_p99_ms  "
                        "restores  resets  opened  closed\n"
                        "db1      app     3       5     1        4      1.2          250.5        "
                        "9         2       8       1\n"
                        "db2      we\"ird  0       1     0        0      -            -            "
                        "0         0       1       0\n");
    textbuf_reset(&sb);
    admin_render_pools(&sb, rows, 1, missing, 1, true);
    assert_string_equal(sb.data,
                        "{\"pools\":[{\"backend\":\"db1\",\"user\":\"app\",\"in_use\":3,\"idle\":5,"
                        "\"waiting\":1,\"waits\":4,\"wait_p50_ms\":1.250,\"wait_p99_ms\":250.500,"
                        "\"restores\":9,\"resets\":2,\"opened\":8,\"closed\":1}],"
                        "\"missing_workers\":[1]}\n");
    textbuf_free(&sb);
}

static void test_render_rules(void **state)
{
    (void)state;
    struct config *cfg = NULL;
    char err[512];
    assert_int_equal(
        config_load_string(
            "listeners = ( { name = \"m\"; address = \"h\"; port = 1; } );\n"
            "users = ( { name = \"app\"; password_hash = \"\"; } );\n"
            "backends = ( { name = \"db1\"; address = \"h\"; port = 1; role = \"primary\"; },\n"
            "             { name = \"db2\"; address = \"h\"; port = 2; role = \"replica\"; } );\n"
            "rules = ( { name = \"reads\"; match_digest = \"^SELECT\"; client = \"10.0.0.0/8\"; "
            "route = \"db2\"; },\n"
            "          { name = \"no\\\"drop\"; match_text = \"(?i)^drop\\\\s\"; user = \"app\"; "
            "schema = \"s\"; action = \"block\"; error_code = 1045; error_message = \"no: "
            "{name}\"; } );\n",
            "t.conf", &cfg, err, sizeof(err)),
        HY_OK);
    uint64_t hits[2] = {12, 0};
    struct textbuf sb;
    textbuf_init(&sb, 1 << 20);
    admin_render_rules(&sb, cfg, hits, 0, false);
    assert_string_equal(
        sb.data,
        "name     action  target                         conditions                              "
        "         hits\n"
        "reads    route   db2                            match_digest=\"^SELECT\" "
        "client=\"10.0.0.0/8\"       12\n"
        "no\"drop  block   ERR 1045 (42000): no: no\"drop  match_text=\"(?i)^drop\\\\s\" "
        "user=\"app\" schema=\"s\"  0\n");
    textbuf_reset(&sb);
    admin_render_rules(&sb, cfg, hits, 3, false);
    assert_non_null(strstr(sb.data, "  0\n# 3 pattern matches failed (match limit or JIT stack) "
                                    "and counted as not matching\n"));
    textbuf_reset(&sb);
    admin_render_rules(&sb, cfg, hits, 3, true);
    assert_string_equal(
        sb.data,
        "{\"rules\":[{\"name\":\"reads\",\"action\":\"route\",\"route\":\"db2\","
        "\"error_code\":null,\"error_sqlstate\":null,\"error_message\":null,\"match_digest\":\"^"
        "SELECT\","
        "\"match_text\":null,\"user\":null,\"schema\":null,\"client\":\"10.0.0.0/8\",\"target\":"
        "\"db2\",\"conditions\":\"match_digest=\\\"^SELECT\\\" client=\\\"10.0.0.0/8\\\"\","
        "\"hits\":12},"
        "{\"name\":\"no\\\"drop\",\"action\":\"block\",\"route\":null,\"error_code\":1045,"
        "\"error_sqlstate\":\"42000\",\"error_message\":\"no: no\\\"drop\",\"match_digest\":null,"
        "\"match_text\":\"(?i)^drop\\\\s\",\"user\":\"app\",\"schema\":\"s\",\"client\":null,"
        "\"target\":\"ERR 1045 (42000): no: no\\\"drop\",\"conditions\":\"match_text=\\\"(?i)^drop"
        "\\\\s\\\" user=\\\"app\\\" schema=\\\"s\\\"\",\"hits\":0}],\"match_errors\":3}\n");
    config_put(cfg);

    /* No rules: a header, an empty list. */
    assert_int_equal(
        config_load_string("listeners = ( { name = \"m\"; address = \"h\"; port = 1; } );\n"
                           "users = ( { name = \"app\"; password_hash = \"\"; } );\n"
                           "backends = ( { name = \"p\"; address = \"h\"; port = 1; role = "
                           "\"primary\"; } );\n",
                           "t.conf", &cfg, err, sizeof(err)),
        HY_OK);
    textbuf_reset(&sb);
    admin_render_rules(&sb, cfg, NULL, 0, false);
    assert_string_equal(sb.data, "name  action  target  conditions  hits\n");
    textbuf_reset(&sb);
    admin_render_rules(&sb, cfg, NULL, 0, true);
    assert_string_equal(sb.data, "{\"rules\":[],\"match_errors\":0}\n");
    config_put(cfg);
    textbuf_free(&sb);
}

static void test_render_digests(void **state)
{
    (void)state;
    struct digest_row rows[2] = {
        {.hash = 0xabcdef,
         .calls = 4,
         .errors = 1,
         .rows = 40,
         .total_usec = 1000,
         .max_usec = 700,
         .served = {1, 3},
         .text = "SELECT * FROM t WHERE id = ?",
         .text_len = 28},
        {.hash = 0xffffffffffffffffull,
         .calls = 1,
         .total_usec = 10,
         .max_usec = 10,
         .served = {1, 0},
         .text = "UPDATE t SET\n\"a\" = ?",
         .text_len = 20,
         .text_truncated = true},
    };
    struct admin_digest_summary sum = {.distinct = 5, .evictions = 7, .capacity = 8192};
    int missing[1] = {1};
    struct textbuf sb;
    textbuf_init(&sb, 1 << 20);
    admin_render_digests(&sb, rows, 2, &sum, missing, 1, false);
    assert_string_equal(
        sb.data,
        "hash              calls  errors  rows  total_us  avg_us  max_us  primary  replica  "
        "digest\n"
        "0000000000abcdef  4      1       40    1000      250     700     1        3        "
        "SELECT * FROM t WHERE id = ?\n"
        "ffffffffffffffff  1      0       0     10        10      10      1        0        "
        "UPDATE t SET\\x0a\"a\" = ?...\n"
        "# 2 of 5 digests, by total time; 7 evicted\n"
        "# worker 1 did not answer within 1.0 s; its digests are missing\n");
    textbuf_reset(&sb);
    admin_render_digests(&sb, rows, 2, &sum, missing, 1, true);
    assert_string_equal(
        sb.data,
        "{\"digests\":[{\"hash\":\"0000000000abcdef\",\"calls\":4,\"errors\":1,\"rows\":40,"
        "\"total_us\":1000,\"avg_us\":250,\"max_us\":700,\"primary\":1,\"replica\":3,"
        "\"digest\":\"SELECT * FROM t WHERE id = ?\",\"digest_truncated\":false},"
        "{\"hash\":\"ffffffffffffffff\",\"calls\":1,\"errors\":0,\"rows\":0,\"total_us\":10,"
        "\"avg_us\":10,\"max_us\":10,\"primary\":1,\"replica\":0,"
        "\"digest\":\"UPDATE t SET\\n\\\"a\\\" = ?\",\"digest_truncated\":true}],\"distinct\":5,"
        "\"evictions\":7,\"capacity\":8192,\"missing_workers\":[1]}\n");
    /* Digests off. */
    struct admin_digest_summary off = {0};
    textbuf_reset(&sb);
    admin_render_digests(&sb, NULL, 0, &off, NULL, 0, false);
    assert_string_equal(sb.data, "hash  calls  errors  rows  total_us  avg_us  max_us  primary  "
                                 "replica  digest\n# digests are off (digest_max_entries = 0)\n");
    textbuf_reset(&sb);
    admin_render_digests(&sb, NULL, 0, &off, NULL, 0, true);
    assert_string_equal(sb.data, "{\"digests\":[],\"distinct\":0,\"evictions\":0,\"capacity\":0,"
                                 "\"missing_workers\":[]}\n");
    textbuf_free(&sb);
}

static void test_render_events(void **state)
{
    (void)state;
    struct alerts_record r[2];
    memset(r, 0, sizeof(r));
    event_fill(&r[0].ev, EVENT_BACKEND_DOWN, "node1", "ONLINE", "DOWN", "3 checks failed\nx",
               "no new statements");
    r[0].ev.seq = 4;
    r[0].ev.time_us = 1795386601123456LL;
    snprintf(r[0].result[ALERTS_EXEC], sizeof(r[0].result[0]), "ok: exit 0 (5 ms)");
    snprintf(r[0].result[ALERTS_WEBHOOK], sizeof(r[0].result[0]), "retrying: HTTP 500 (attempt 1)");
    event_fill(&r[1].ev, EVENT_CONFIG_RELOADED, NULL, NULL, NULL, "reload by SIGHUP", NULL);
    r[1].ev.seq = 5;
    r[1].ev.time_us = 1795386602000000LL;
    snprintf(r[1].note, sizeof(r[1].note), "held (repeat_ms)");
    struct textbuf sb;
    textbuf_init(&sb, 1 << 20);
    admin_render_events(&sb, r, 2, false);
    assert_non_null(strstr(sb.data,
                           "seq  time                      event            backend  new   "
                           "note              exec               webhook"));
    assert_non_null(strstr(sb.data,
                           "\n4    2026-11-22T22:30:01.123Z  backend_down     node1    DOWN  "
                           "-                 ok: exit 0 (5 ms)  retrying: HTTP 500 "
                           "(attempt 1)  3 checks failed\\x0ax\n"));
    assert_non_null(strstr(sb.data, "\n5    2026-11-22T22:30:02.000Z  config_reloaded  -"));
    textbuf_reset(&sb);
    admin_render_events(&sb, r, 2, true);
    assert_non_null(strstr(sb.data,
                           "{\"events\":[{\"seq\":4,\"time\":\"2026-11-22T22:30:01.123Z\","
                           "\"event\":\"backend_down\",\"backend\":\"node1\",\"old\":"
                           "\"ONLINE\",\"new\":\"DOWN\",\"reason\":\"3 checks failed\\nx\","
                           "\"action\":\"no new statements\",\"note\":\"\",\"exec\":\"ok: "
                           "exit 0 (5 ms)\",\"webhook\":\"retrying: HTTP 500 (attempt 1)\"}"));
    assert_non_null(
        strstr(sb.data, "\"note\":\"held (repeat_ms)\",\"exec\":\"\",\"webhook\":\"\"}]}\n"));
    textbuf_reset(&sb);
    admin_render_events(&sb, NULL, 0, true);
    assert_string_equal(sb.data, "{\"events\":[]}\n");
    textbuf_free(&sb);
}

static void test_render_help(void **state)
{
    (void)state;
    struct textbuf sb;
    textbuf_init(&sb, 1 << 20);
    admin_render_help(&sb, false);
    assert_non_null(strstr(sb.data, "command                          description\n"));
    assert_non_null(
        strstr(sb.data, "\nkill session ID                  close client session ID now\n"));
    assert_non_null(strstr(sb.data, "\nshow digests [top N]             the N statement digests"));
    /* Every command the help names parses. */
    char *save = NULL;
    char *text = strdup(sb.data);
    int parsed = 0;
    for (char *l = strtok_r(text, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
        char cmdline[64], err[256];
        struct admin_cmd cmd;
        char *gap = strstr(l, "  ");
        if (gap == NULL || strncmp(l, "command ", 8) == 0 || strncmp(l, "...", 3) == 0)
            continue;
        snprintf(cmdline, sizeof(cmdline), "%.*s", (int)(gap - l), l);
        char *id = strstr(cmdline, "ID");
        if (id != NULL)
            strcpy(id, "1073741824");
        char *opt = strstr(cmdline, "[top N]");
        if (opt != NULL)
            strcpy(opt, "top 7");
        char *modes = strstr(cmdline, "drain|maint|online");
        if (modes != NULL)
            strcpy(modes, "drain");
        char *to = strstr(cmdline, "[to NAME]");
        if (to != NULL)
            strcpy(to, "to node1");
        char *detail = strstr(cmdline, "[--detail]");
        if (detail != NULL)
            strcpy(detail, "--detail");
        char *verified = strstr(cmdline, "R G T D");
        if (verified != NULL)
            strcpy(verified, "ok 0-1-5 3 0");
        char *last = strstr(cmdline, "[last N]");
        if (last != NULL)
            strcpy(last, "last 5");
        assert_int_equal(admin_parse(cmdline, strlen(cmdline), &cmd, err, sizeof(err)), HY_OK);
        parsed++;
    }
    assert_int_equal(parsed, 35);
    free(text);
    textbuf_reset(&sb);
    admin_render_help(&sb, true);
    assert_non_null(strstr(sb.data, "{\"command\":\"show sessions\",\"description\":"));
    textbuf_free(&sb);
}

/* The value of row `key` of a two-column table (static buffer). */
static const char *table_value(const char *text, const char *key)
{
    static char value[256];
    char head[170];
    snprintf(head, sizeof(head), "\n%s ", key);
    const char *p = strstr(text, head);
    if (p == NULL)
        return "(no such row)";
    p += strlen(head);
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, "\n");
    snprintf(value, sizeof(value), "%.*s", (int)n, p);
    return value;
}

static void test_render_config(void **state)
{
    (void)state;
    struct config *cfg = NULL;
    char err[512];
    assert_int_equal(config_load_string(BASE, "t.conf", &cfg, err, sizeof(err)), HY_OK);
    struct textbuf sb;
    textbuf_init(&sb, 1 << 20);
    admin_render_config(&sb, cfg, false);
    /* Every key of the table is shown, element keys with index 0. */
    for (size_t i = 0; i < config_n_keys; i++) {
        const char *path = config_keys[i].path;
        if (config_keys[i].type == CONFIG_LIST || config_keys[i].type == CONFIG_GROUP)
            continue; /* no value of their own: their members are shown */
        char key[160], line[170];
        size_t n = 0; /* the path with each [] as [0] (a list in a list too) */
        for (const char *q = path; *q != '\0' && n + 4 < sizeof(key); q++) {
            key[n++] = *q;
            if (q[0] == '[' && q[1] == ']')
                key[n++] = '0';
        }
        key[n] = '\0';
        snprintf(line, sizeof(line), "\n%s ", key);
        if (strstr(sb.data, line) == NULL)
            fail_msg(
                "show config lacks %s: add it to admin_render_config() (src/admin/admin_render.c)",
                key);
    }
    assert_string_equal(table_value(sb.data, "users.[0].password_hash"), "(hidden)");
    assert_string_equal(table_value(sb.data, "users.[1].password_hash"), "\"\"");
    assert_string_equal(table_value(sb.data, "admin_socket"), "/run/halyard/admin.sock");
    assert_string_equal(table_value(sb.data, "backends.[1].role"), "replica");
    assert_string_equal(table_value(sb.data, "log_file"), "\"\"");
    assert_string_equal(table_value(sb.data, "digest_max_entries"), "4096");
    assert_string_equal(table_value(sb.data, "rules.[0].route"), "replica");
    assert_string_equal(table_value(sb.data, "rules.[0].user"), "\"\"");
    assert_string_equal(table_value(sb.data, "rules.[0].error_code"), "-");
    assert_string_equal(table_value(sb.data, "rules.[1].action"), "block");
    assert_string_equal(table_value(sb.data, "rules.[1].route"), "-");
    assert_string_equal(table_value(sb.data, "rules.[1].error_code"), "1142");
    assert_string_equal(table_value(sb.data, "rules.[1].error_message"),
                        "statement blocked by halyard rule nodrop");
    /* The value column starts two spaces after the longest key. */
    assert_non_null(strstr(sb.data, "\nlimits.[0].max_server_ms_per_second  0\n"));
    assert_string_equal(table_value(sb.data, "monitor.password"), "\"\"");
    assert_string_equal(table_value(sb.data, "monitor.interval_ms"), "1000");
    assert_null(strstr(sb.data, "5BCB3E6A"));

    textbuf_reset(&sb);
    admin_render_config(&sb, cfg, true);
    assert_null(strstr(sb.data, "5BCB3E6A"));
    assert_non_null(strstr(sb.data, "\"users\":[{\"name\":\"app\",\"password_hash\":\"(hidden)\","
                                    "\"sha2_hash\":\"\",\"consistency\":\"default\","
                                    "\"require_tls\":false,\"tls_subject\":\"\",\"allow\":[],"
                                    "\"max_connections\":0,\"exempt\":false,\"firewall\":\"off\","
                                    "\"firewall_allow\":[]},{\"name\":\"nopw\","
                                    "\"password_hash\":\"\",\"sha2_hash\":\"\","
                                    "\"consistency\":\"default\",\"require_tls\":false,"
                                    "\"tls_subject\":\"\",\"allow\":[],"
                                    "\"max_connections\":0,\"exempt\":false,\"firewall\":\"off\","
                                    "\"firewall_allow\":[]}]"));
    assert_non_null(strstr(sb.data, "\"log_syslog\":false,"));
    assert_non_null(strstr(sb.data, "\"metrics_port\":0,"));
    assert_non_null(strstr(sb.data,
                           "\"rules\":[{\"name\":\"reads\",\"match_digest\":\"^SELECT\","
                           "\"match_text\":\"\",\"user\":\"\",\"users\":[],\"schema\":\"\","
                           "\"client\":\"\",\"no_where\":[],\"listener\":\"\",\"tables\":[],"
                           "\"action\":\"route\",\"route\":\"replica\",\"error_code\":null,"
                           "\"error_sqlstate\":null,\"error_message\":null,\"ttl_ms\":null,"
                           "\"max_result_bytes\":null,\"read_your_writes\":null,"
                           "\"max_stale_ms\":null},"));
    assert_int_equal(sb.data[0], '{');
    assert_string_equal(sb.data + sb.len - 3, "]}\n");
    textbuf_free(&sb);
    config_put(cfg);
}

static void test_render_status(void **state)
{
    (void)state;
    struct config *cfg = NULL;
    char err[512];
    assert_int_equal(config_load_string(BASE, "t.conf", &cfg, err, sizeof(err)), HY_OK);
    struct status st = {.pid = 42,
                        .started = 0,
                        .config_path = "/etc/h.conf",
                        .cfg = cfg,
                        .n_workers = 2,
                        .admin_socket = "/tmp/x.sock"};
    struct textbuf sb;
    textbuf_init(&sb, 1 << 20);
    struct hy_memory mem = {.rss_kib = 2048, .heap_used = 3 << 20, .heap_free = 1 << 20};
    admin_render_status(&sb, &st, 12.7, 3, &mem, false);
    assert_non_null(strstr(sb.data, "\nrss_kib          2048\nheap_used_kib    3072\n"
                                    "heap_free_kib    1024\nheap_mmap_kib    0\n"));
    assert_non_null(strstr(sb.data, "name             value\nversion          " HALYARD_VERSION
                                    "\npid              42\n"
                                    "started          1970-01-01T00:00:00Z\n"
                                    "uptime_s         12\n"));
    assert_non_null(strstr(sb.data, "\nmetrics          off\n"));
    assert_non_null(strstr(sb.data, "\nlast_reload      never\n"));
    assert_non_null(strstr(sb.data, "\nlog_file         (standard error)\n"));
    /* No backend attached to a monitor here: none reachable, no majority. */
    assert_non_null(strstr(sb.data, "\nzone             -\n"));
    assert_non_null(strstr(sb.data, "\nmajority         no\n"));
    assert_non_null(strstr(sb.data, "\nfailover_note    -\n"));
    textbuf_reset(&sb);
    admin_render_status(&sb, &st, 12.7, 3, NULL, true); /* the status page's: no memory */
    assert_null(strstr(sb.data, "_kib"));
    assert_non_null(strstr(sb.data, ",\"log_file\":\"\",\"log_syslog\":false,"));
    assert_non_null(strstr(sb.data, ",\"last_reload\":null,"));
    char voters[200];
    snprintf(
        voters, sizeof(voters),
        ",\"zone\":\"\",\"voters\":%zu,\"reachable\":0,\"majority\":\"no\",\"failover_note\":\"\",",
        cfg->n_backends + cfg->n_witnesses);
    assert_non_null(strstr(sb.data, voters));

    st.last_reload = 86400;
    st.last_reload_ok = false;
    st.reloads_failed = 1;
    snprintf(st.last_reload_by, sizeof(st.last_reload_by), "SIGHUP");
    snprintf(st.last_reload_error, sizeof(st.last_reload_error),
             "/etc/h.conf:3: workers: 999 is out of range 0..256");
    textbuf_reset(&sb);
    admin_render_status(&sb, &st, 1, 0, &mem, false);
    assert_non_null(strstr(sb.data, "\nlast_reload         1970-01-02T00:00:00Z\n"
                                    "last_reload_by      SIGHUP\n"
                                    "last_reload_result  error\n"
                                    "last_reload_error   /etc/h.conf:3: workers: 999 is out of "
                                    "range 0..256\n"
                                    "reloads_ok          0\n"
                                    "reloads_failed      1\n"));
    textbuf_reset(&sb);
    admin_render_status(&sb, &st, 1, 0, &mem, true);
    assert_non_null(strstr(sb.data, "\"last_reload_result\":\"error\",\"last_reload_error\":"
                                    "\"/etc/h.conf:3: workers: 999 is out of range 0..256\""));
    textbuf_free(&sb);
    config_put(cfg);
}

/* ---- metrics ----------------------------------------------------------- */

static bool is_name_char(char c, bool first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

/* Length of a metric name at p, 0 if none. */
static size_t name_len(const char *p)
{
    size_t n = 0;
    while (is_name_char(p[n], n == 0))
        n++;
    return n;
}

/* Check one sample line: name{l="v",...} value; returns the name length. */
static size_t check_sample(const char *line)
{
    size_t n = name_len(line);
    assert_true(n > 0);
    const char *p = line + n;
    if (*p == '{') {
        p++;
        while (*p != '}') {
            size_t ln = name_len(p);
            assert_true(ln > 0);
            p += ln;
            assert_int_equal(*p++, '=');
            assert_int_equal(*p++, '"');
            while (*p != '"') {
                assert_true(*p != '\0' && *p != '\n');
                if (*p == '\\') {
                    p++;
                    assert_true(*p == '\\' || *p == '"' || *p == 'n');
                }
                p++;
            }
            p++;
            if (*p == ',')
                p++;
        }
        p++;
    }
    assert_int_equal(*p++, ' ');
    char *end;
    strtod(p, &end);
    assert_true(end > p);
    assert_int_equal(*end, '\0');
    return n;
}

/* show backup and the archive's metrics: the figures as given, unknown
 * ones as "-" / null / absent. */
static void test_render_backup(void **state)
{
    (void)state;
    struct binlog_archive_status s = {.enabled = true,
                                      .state = "streaming",
                                      .source = "db1",
                                      .gtid = "0-1-42",
                                      .primary_gtid = "0-1-45",
                                      .lag_seconds = 0.25,
                                      .lag_transactions = 3,
                                      .lag_p50 = 0.1,
                                      .lag_p99 = 0.5,
                                      .lag_max = -1,
                                      .transactions = 42,
                                      .corrupt = 1,
                                      .gaps = 2,
                                      .last_error = "a corrupted \"event\""};
    struct backup_full_status f = {.state = "ok",
                                   .source = "db2",
                                   .account = "bk@%",
                                   .gtid = "0-1-40",
                                   .size = 1234,
                                   .sha256 = "ab12",
                                   .schemas = 5,
                                   .ok = 1};
    struct textbuf sb;
    textbuf_init(&sb, 1 << 16);
    admin_render_backup(&sb, &s, &f, NULL, NULL, NULL, false);
    assert_string_equal(table_value(sb.data, "full_state"), "ok");
    assert_string_equal(table_value(sb.data, "full_gtid"), "0-1-40");
    assert_string_equal(table_value(sb.data, "full_bytes"), "1234");
    assert_string_equal(table_value(sb.data, "full_account"), "bk@%");
    assert_string_equal(table_value(sb.data, "full_schemas"), "5");
    assert_string_equal(table_value(sb.data, "archive_state"), "streaming");
    assert_string_equal(table_value(sb.data, "archived_gtid"), "0-1-42");
    assert_string_equal(table_value(sb.data, "lag_s"), "0.250");
    assert_string_equal(table_value(sb.data, "lag_transactions"), "3");
    assert_string_equal(table_value(sb.data, "lag_p99_s"), "0.500");
    assert_string_equal(table_value(sb.data, "lag_max_s"), "-");
    assert_string_equal(table_value(sb.data, "corrupt_events"), "1");
    textbuf_reset(&sb);
    admin_render_backup(&sb, &s, &f, NULL, NULL, NULL, true);
    assert_non_null(strstr(sb.data, "\"lag_s\":0.250,"));
    assert_non_null(strstr(sb.data, "\"lag_max_s\":null,"));
    assert_non_null(strstr(sb.data, "\"last_error\":\"a corrupted \\\"event\\\"\""));
    /* the schedule and each file's second copy */
    struct backup_copy_item items[2] = {
        {.name = "full/full-1.sql.gz",
         .kind = "full",
         .size = 10,
         .state = "safe",
         .sha256 = "cd34",
         .attempts = 1},
        {.name = "binlog.000001",
         .kind = "binlog",
         .size = 7,
         .state = "failed",
         .attempts = 2,
         .error = "open /x: No such file or directory"},
    };
    struct backup_copy_status cs = {.enabled = true,
                                    .target = "dir",
                                    .target_to = "/x",
                                    .safe = 1,
                                    .failed = 1,
                                    .items = items,
                                    .n_items = 2};
    struct backup_sched_status ss = {.state = "waiting", .next = 1795440000, .started = 3};
    textbuf_reset(&sb);
    admin_render_backup(&sb, &s, &f, &cs, &ss, NULL, false);
    assert_string_equal(table_value(sb.data, "full_schedule"), "waiting");
    assert_string_equal(table_value(sb.data, "full_next"), "2026-11-23T13:20:00Z");
    assert_string_equal(table_value(sb.data, "copies_failed"), "1");
    assert_string_equal(table_value(sb.data, "copies.[0].name"), "full/full-1.sql.gz");
    assert_string_equal(table_value(sb.data, "copies.[1].copy"), "failed");
    textbuf_reset(&sb);
    admin_render_backup(&sb, &s, &f, &cs, &ss, NULL, true);
    assert_non_null(strstr(sb.data, "\"copies\":[{\"name\":\"full/full-1.sql.gz\",\"kind\":"
                                    "\"full\",\"bytes\":10,\"copy\":\"safe\",\"sha256\":\"cd34\""));
    assert_non_null(strstr(sb.data, "\"error\":\"open /x: No such file or directory\"}]"));
    s.enabled = false;
    textbuf_reset(&sb);
    admin_render_backup(&sb, &s, &f, NULL, NULL, NULL, true);
    assert_non_null(strstr(sb.data, "\"archive_state\":\"off\""));

    struct metrics_snapshot m = {0};
    textbuf_reset(&sb);
    metrics_render(&sb, &m); /* no backup section: no family */
    assert_null(strstr(sb.data, "halyard_backup_"));
    assert_null(strstr(sb.data, "halyard_cache_")); /* no cache rule: no family either */
    m.cache.on = true;
    m.cache.streaming = true;
    m.cache.lag_s = 0.125;
    m.cache.hits = 7;
    m.cache.misses = 3;
    m.cache.refused_not_base = 2;
    m.cache.store.refused_race = 4;
    m.cache.store.entries = 5;
    m.cache.store.dropped[CACHE_DROP_ROW] = 6;
    textbuf_reset(&sb);
    metrics_render(&sb, &m);
    assert_non_null(strstr(sb.data, "\nhalyard_cache_streaming 1\n"));
    assert_non_null(strstr(sb.data, "\nhalyard_cache_lag_seconds 0.125\n"));
    assert_non_null(strstr(sb.data, "\nhalyard_cache_hits_total 7\n"));
    assert_non_null(strstr(sb.data, "\nhalyard_cache_misses_total 3\n"));
    assert_non_null(strstr(sb.data, "\nhalyard_cache_entries 5\n"));
    assert_non_null(strstr(sb.data, "\nhalyard_cache_fills_refused_total{reason=\"race\"} 4\n"));
    assert_non_null(
        strstr(sb.data, "\nhalyard_cache_fills_refused_total{reason=\"not_base\"} 2\n"));
    assert_non_null(strstr(sb.data, "\nhalyard_cache_invalidations_total{reason=\"row\"} 6\n"));
    assert_non_null(strstr(sb.data, "\nhalyard_cache_invalidations_total{reason=\"lru\"} 0\n"));
    m.cache = (struct cache_status){0};
    s.enabled = true;
    m.backup = s;
    m.full = f;
    m.full.last_ok = 1795440000;
    textbuf_reset(&sb);
    metrics_render(&sb, &m);
    assert_non_null(strstr(sb.data, "\nhalyard_backup_archive_up 1\n"));
    assert_non_null(strstr(sb.data, "\nhalyard_backup_archive_lag_seconds 0.250\n"));
    assert_non_null(strstr(sb.data, "\nhalyard_backup_archive_lag_transactions 3\n"));
    assert_non_null(strstr(sb.data, "\nhalyard_backup_archive_corrupt_events_total 1\n"));
    assert_non_null(strstr(sb.data, "\nhalyard_backup_archive_gaps_total 2\n"));
    assert_non_null(strstr(sb.data, "\nhalyard_backup_full_total{result=\"ok\"} 1\n"));
    assert_non_null(
        strstr(sb.data, "\nhalyard_backup_full_last_success_timestamp_seconds 1795440000\n"));
    assert_non_null(strstr(sb.data, "\nhalyard_backup_copy_files{state=\"failed\"} 0\n"));
    assert_non_null(strstr(sb.data, "\nhalyard_backup_full_too_old 0\n"));
    assert_non_null(strstr(sb.data, "# TYPE halyard_backup_archive_transactions_total counter\n"
                                    "halyard_backup_archive_transactions_total 42\n"));
    /* the last verify (backup_verify.h): none yet, then one that differs */
    assert_non_null(strstr(sb.data, "\nhalyard_backup_verify_failed 0\n"));
    assert_non_null(strstr(sb.data, "\nhalyard_backup_verify_total{result=\"ok\"} 0\n"));
    struct backup_verify_status v;
    char verr[200];
    assert_int_equal(backup_verify_parse("differ 0-2-77 12 2", &v, verr, sizeof(verr)), HY_OK);
    v.time = 1795440000;
    v.differ_total = 1;
    m.verify = v;
    textbuf_reset(&sb);
    metrics_render(&sb, &m);
    assert_non_null(strstr(sb.data, "\nhalyard_backup_verify_failed 1\n"));
    assert_non_null(strstr(sb.data, "\nhalyard_backup_verify_total{result=\"differ\"} 1\n"));
    assert_non_null(strstr(sb.data, "\nhalyard_backup_verify_tables 12\n"));
    assert_non_null(strstr(sb.data, "\nhalyard_backup_verify_tables_differ 2\n"));
    assert_non_null(strstr(sb.data, "\nhalyard_backup_verify_last_timestamp_seconds 1795440000\n"));
    textbuf_reset(&sb);
    admin_render_backup(&sb, &s, &f, NULL, NULL, &v, false);
    assert_string_equal(table_value(sb.data, "verify_result"), "differ");
    assert_string_equal(table_value(sb.data, "verify_gtid"), "0-2-77");
    assert_string_equal(table_value(sb.data, "verify_tables"), "12");
    assert_string_equal(table_value(sb.data, "verify_differ"), "2");
    assert_string_equal(table_value(sb.data, "verify_ok"), "false");
    textbuf_reset(&sb);
    admin_render_backup(&sb, &s, &f, NULL, NULL, &v, true);
    assert_non_null(strstr(sb.data,
                           "\"verify_result\":\"differ\",\"verify_time\":\"2026-11-23T13:20:00Z\","
                           "\"verify_gtid\":\"0-2-77\",\"verify_tables\":12,"
                           "\"verify_differ\":2,\"verify_ok\":false,"));
    /* reports halyard refuses */
    static const char *const bad[] = {"ok 0-1-5 3 1", "differ 0-1-5 3 0", "good 0-1-5 3 0",
                                      "ok x 3 0",     "ok 0-1-5 3 4",     "ok 0-1-5 -3 0",
                                      "ok 0-1-5 3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(backup_verify_parse(bad[i], &v, verr, sizeof(verr)), HY_ERROR);
    assert_int_equal(backup_verify_parse("failed - 0 0", &v, verr, sizeof(verr)), HY_OK);
    assert_string_equal(v.gtid, "");
    m.backup = s;
    m.verify = (struct backup_verify_status){.result = "none"};
    m.backup.lag_seconds = -1;
    snprintf(m.backup.state, sizeof(m.backup.state), "error");
    textbuf_reset(&sb);
    metrics_render(&sb, &m);
    assert_non_null(strstr(sb.data, "\nhalyard_backup_archive_up 0\n"));
    assert_null(strstr(sb.data, "\nhalyard_backup_archive_lag_seconds "));
    textbuf_free(&sb);
}

/* The last verify result survives a restart: written to backup.dir/verify.last
 * when recorded, read back by backup_verify_seed when none was reported. */
static void test_backup_verify_last(void **state)
{
    (void)state;
    char dir[] = "/tmp/halyard-test-verify-XXXXXX", path[128], line[200];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/verify.last", dir);
    struct config cfg = {0};
    cfg.backup.enabled = true;
    cfg.backup.dir = dir;
    struct backup_verify_status v, got;
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("1795440000 differ 0-2-77 12 2\n", f);
    fclose(f);
    backup_verify_seed(&cfg);
    backup_verify_status(&got);
    assert_string_equal(got.result, "differ");
    assert_string_equal(got.gtid, "0-2-77");
    assert_int_equal(got.time, 1795440000);
    assert_int_equal(got.tables, 12);
    assert_int_equal(got.differ, 2);
    assert_int_equal(got.differ_total, 0); /* counts start again */
    char err[200];
    assert_int_equal(backup_verify_parse("ok 0-2-90 12 0", &v, err, sizeof(err)), HY_OK);
    backup_verify_record(&v, 1795450000, dir);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    assert_string_equal(line, "1795450000 ok 0-2-90 12 0\n");
    backup_verify_status(&got);
    assert_string_equal(got.result, "ok");
    assert_int_equal(got.ok_total, 1);
    /* a result was reported: the file does not override it */
    f = fopen(path, "w");
    fputs("1795440000 failed - 0 0\n", f);
    fclose(f);
    backup_verify_seed(&cfg);
    backup_verify_status(&got);
    assert_string_equal(got.result, "ok");
    unlink(path);
    rmdir(dir);
}

/* The GTID line of a mariadb-dump --gtid --master-data=2 dump. */
static void test_dump_gtid(void **state)
{
    (void)state;
    const char *dump = "-- MariaDB dump\n--\n-- Position to start replication or point-in-time "
                       "recovery from\n--\n\n-- CHANGE MASTER TO MASTER_LOG_FILE='binlog.000001', "
                       "MASTER_LOG_POS=123;\n\n--\n-- GTID to start replication from\n--\n\n"
                       "-- SET GLOBAL gtid_slave_pos='0-1-42,1-2-7';\n";
    char out[GTID_STR_MAX];
    assert_true(backup_full_dump_gtid(dump, strlen(dump), out, sizeof(out)));
    assert_string_equal(out, "0-1-42,1-2-7");
    const char *empty = "-- SET GLOBAL gtid_slave_pos='';\n";
    assert_true(backup_full_dump_gtid(empty, strlen(empty), out, sizeof(out)));
    assert_string_equal(out, "");
    const char *bad = "-- SET GLOBAL gtid_slave_pos='0-1-x';\n";
    assert_false(backup_full_dump_gtid(bad, strlen(bad), out, sizeof(out)));
    const char *cut = "-- SET GLOBAL gtid_slave_pos='0-1-42";
    assert_false(backup_full_dump_gtid(cut, strlen(cut), out, sizeof(out)));
    assert_false(backup_full_dump_gtid("CREATE TABLE t", 14, out, sizeof(out)));
    assert_false(backup_full_dump_gtid(dump, strlen(dump), out, 5)); /* does not fit */
}

static void test_metrics_render(void **state)
{
    (void)state;
    struct listener_stats l2 = {.name = (char *)"we\"ird", .accepted = 7, .open = 1};
    struct listener_stats l1 = {
        .next = &l2, .name = (char *)"main", .accepted = 12, .open = 3, .auth_failures = 5};
    struct group_stats g1 = {
        .name = (char *)"orders", .moves_in = 8, .refused = 2, .key_routed = 5, .scatters = 6};
    struct metrics_snapshot m = {
        .uptime = 12.5,
        .client_sessions = 3,
        .stats = {{10, 200, 1, 2}},
        .reloads_ok = 4,
        .reloads_failed = 1,
        .last_reload_ok = false,
        .last_reload = 1700000000,
        .listeners = &l1,
        .groups = &g1,
        .failovers = {{0, 2}, {1, 3}},
        .logs = {.audit_lines = 9, .query_dropped = 4},
        .alerts = {
            .events = 20, .dropped = 6, .coalesced = 5, .delivered = {11, 12}, .failed = {1, 2}}};
    const struct resolve_stat dns[] = {{.host = "db1.example", .failures = 3, .n_addrs = 2},
                                       {.host = "db2.example", .n_addrs = 0, .failing = true}};
    m.dns = dns;
    m.n_dns = 2;
    struct textbuf sb;
    textbuf_init(&sb, 1 << 20);
    metrics_render(&sb, &m);
    assert_false(sb.overflow);
    assert_int_equal(sb.data[sb.len - 1], '\n');

    /* Every line is a HELP, a TYPE or a sample; each family has HELP then
     * TYPE, once, before its samples, and its samples are contiguous. */
    char families[64][64];
    size_t n_fam = 0;
    char cur[64] = "";
    bool typed = false;
    char *text = strdup(sb.data), *save = NULL;
    int samples = 0;
    for (char *l = strtok_r(text, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
        if (strncmp(l, "# HELP ", 7) == 0) {
            size_t n = name_len(l + 7);
            assert_true(n > 0 && n < 64);
            assert_int_equal(l[7 + n], ' ');
            snprintf(cur, sizeof(cur), "%.*s", (int)n, l + 7);
            for (size_t i = 0; i < n_fam; i++)
                assert_string_not_equal(families[i], cur);
            assert_true(n_fam < 64);
            snprintf(families[n_fam++], 64, "%s", cur);
            typed = false;
        } else if (strncmp(l, "# TYPE ", 7) == 0) {
            size_t n = strlen(cur);
            assert_true(n > 0 && !typed);
            assert_int_equal(strncmp(l + 7, cur, n), 0);
            const char *type = l + 7 + n;
            assert_true(strcmp(type, " counter") == 0 || strcmp(type, " gauge") == 0);
            if (strcmp(type, " counter") == 0)
                assert_string_equal(cur + strlen(cur) - 6, "_total");
            typed = true;
        } else {
            assert_int_not_equal(l[0], '#');
            assert_true(typed);
            size_t n = check_sample(l);
            assert_int_equal(n, strlen(cur));
            assert_int_equal(strncmp(l, cur, n), 0);
            samples++;
        }
    }
    free(text);
    assert_int_equal(n_fam, 63);
    assert_int_equal(samples, 79);

    static const char *const want[] = {
        "\nhalyard_up 1\n",
        "\nhalyard_capture_records_dropped_total{reason=\"limit\"} 0\n",
        "\nhalyard_trace_bad_tracestate_total 0\n",
        "\nhalyard_build_info{version=\"" HALYARD_VERSION "\"} 1\n",
        "\nhalyard_uptime_seconds 12.500\n",
        "\nhalyard_client_sessions 3\n",
        "\nhalyard_xa_log_decisions_total 0\n",
        "\nhalyard_xa_log_fsyncs_total 0\n",
        "\nhalyard_sessions_accepted_total 10\n",
        "\nhalyard_commands_total 200\n",
        "\nhalyard_auth_failures_total 1\n",
        "\nhalyard_backend_connect_failures_total 2\n",
        "\nhalyard_reloads_total{result=\"ok\"} 4\n",
        "\nhalyard_xa_commits_total 0\n",
        "\nhalyard_xa_rollbacks_total 0\n",
        "\nhalyard_xa_in_doubt 0\n",
        "\nhalyard_reloads_total{result=\"error\"} 1\n",
        "\nhalyard_config_last_reload_success 0\n",
        "\nhalyard_config_last_reload_timestamp_seconds 1700000000\n",
        "\nhalyard_listener_connections_total{listener=\"main\"} 12\n",
        "\nhalyard_listener_connections_total{listener=\"we\\\"ird\"} 7\n",
        "\nhalyard_listener_client_sessions{listener=\"main\"} 3\n",
        "\nhalyard_listener_auth_failures_total{listener=\"main\"} 5\n",
        "\nhalyard_listener_auth_failures_total{listener=\"we\\\"ird\"} 0\n",
        "\nhalyard_shard_moves_total{group=\"orders\"} 8\n",
        "\nhalyard_shard_refused_total{group=\"orders\"} 2\n",
        "\nhalyard_shard_key_routed_total{group=\"orders\"} 5\n",
        "\nhalyard_shard_scatter_total{group=\"orders\"} 6\n",
        "\nhalyard_failovers_total{kind=\"failover\",result=\"ok\"} 2\n",
        "\nhalyard_failovers_total{kind=\"failover\",result=\"error\"} 0\n",
        "\nhalyard_failovers_total{kind=\"switchover\",result=\"ok\"} 3\n",
        "\nhalyard_failovers_total{kind=\"switchover\",result=\"error\"} 1\n",
        "\nhalyard_log_lines_total{log=\"audit\"} 9\n",
        "\nhalyard_log_lines_dropped_total{log=\"query\"} 4\n",
        "\nhalyard_dns_failures_total{host=\"db1.example\"} 3\n",
        "\nhalyard_dns_failures_total{host=\"db2.example\"} 0\n",
        "\nhalyard_dns_addresses{host=\"db1.example\"} 2\n",
        "\nhalyard_dns_addresses{host=\"db2.example\"} 0\n",
        "\nhalyard_events_total 20\n",
        "\nhalyard_events_dropped_total 6\n",
        "\nhalyard_events_coalesced_total 5\n",
        "\nhalyard_alerts_delivered_total{notifier=\"exec\"} 11\n",
        "\nhalyard_alerts_delivered_total{notifier=\"webhook\"} 12\n",
        "\nhalyard_alerts_failed_total{notifier=\"webhook\"} 2\n",
        "\n# TYPE halyard_commands_total counter\n",
        "\n# TYPE halyard_client_sessions gauge\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (strstr(sb.data, want[i]) == NULL)
            fail_msg("metrics lack %s in:\n%s", want[i], sb.data);
    }
    assert_int_equal(strncmp(sb.data, "# HELP halyard_up ", 18), 0);
    textbuf_free(&sb);
}

static void test_metrics_request(void **state)
{
    (void)state;
    static const struct {
        const char *req;
        hy_status_t rc;
        const char *method, *path;
    } cases[] = {
        {"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", HY_OK, "GET", "/metrics"},
        {"GET /metrics HTTP/1.0\r\n\r\n", HY_OK, "GET", "/metrics"},
        {"HEAD /metrics?x=1 HTTP/1.1\r\n\r\n", HY_OK, "HEAD", "/metrics"},
        {"GET / HTTP/1.1\n\n", HY_OK, "GET", "/"},
        {"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", HY_OK, "POST", "/metrics"},
        {"GET /metrics HTTP/1.1\r\nHost: x\r\n", HY_AGAIN, NULL, NULL},
        {"GET /met", HY_AGAIN, NULL, NULL},
        {"", HY_AGAIN, NULL, NULL},
        {"GET /metrics HTTP/2.0\r\n\r\n", HY_ERROR, NULL, NULL},
        {"GET /metrics\r\n\r\n", HY_ERROR, NULL, NULL},
        {"get /metrics HTTP/1.1\r\n\r\n", HY_ERROR, NULL, NULL},
        {"GET metrics HTTP/1.1\r\n\r\n", HY_ERROR, NULL, NULL},
        {" /metrics HTTP/1.1\r\n\r\n", HY_ERROR, NULL, NULL},
        {"\x16\x03\x01\x02\x01\r\n\r\n", HY_ERROR, NULL, NULL},
        /* header lines must be "Name: value" */
        {"GET / HTTP/1.1\r\nHost x\r\n\r\n", HY_ERROR, NULL, NULL},
        {"GET / HTTP/1.1\r\n: x\r\n\r\n", HY_ERROR, NULL, NULL},
        {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", HY_ERROR, NULL, NULL},
        {"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", HY_ERROR, NULL, NULL},
        {"GET /status.json HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n", HY_OK, "GET",
         "/status.json"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char method[16] = "", path[256] = "";
        hy_status_t rc = metrics_parse_request(cases[i].req, strlen(cases[i].req), method,
                                               sizeof(method), path, sizeof(path));
        if (rc != cases[i].rc)
            fail_msg("case %zu: rc %d, want %d", i, rc, cases[i].rc);
        if (rc == HY_OK) {
            assert_string_equal(method, cases[i].method);
            assert_string_equal(path, cases[i].path);
        }
    }
}

/* Headers by name, and HTTP basic auth against admin_accounts (the
 * account "ops" of BASE has the password "app"). */
static void test_metrics_auth(void **state)
{
    (void)state;
    static const char req[] = "GET / HTTP/1.1\r\nHost: x\r\nauthorization:  Basic b3BzOmFwcA== "
                              "\r\nX-Empty:\r\n\r\nAuthorization: after the end\r\n";
    char v[64];
    assert_true(metrics_header(req, strlen(req), "Authorization", v, sizeof(v)));
    assert_string_equal(v, "Basic b3BzOmFwcA==");
    assert_true(metrics_header(req, strlen(req), "x-empty", v, sizeof(v)));
    assert_string_equal(v, "");
    assert_false(metrics_header(req, strlen(req), "Host2", v, sizeof(v)));
    assert_false(metrics_header(req, strlen(req), "Hos", v, sizeof(v)));
    struct config *cfg = NULL;
    char err[512];
    assert_int_equal(config_load_string(BASE, "t.conf", &cfg, err, sizeof(err)), HY_OK);
    static const struct {
        const char *header;
        bool ok;
    } cases[] = {
        {"Basic b3BzOmFwcA==", true},  /* ops:app */
        {"basic b3BzOmFwcA==", true},  /* the scheme is case-insensitive */
        {"Basic b3BzOmFwcQ==", false}, /* ops:apq */
        {"Basic YXBwOmFwcA==", false}, /* app:app: a user, not an admin account */
        {"Basic b3Bz", false},         /* ops, no colon */
        {"Basic b3BzOg==", false},     /* ops: (empty password) */
        {"Basic b3BzOmFwcA", false},   /* not padded */
        {"Basic !!!!", false},         /* not base64 */
        {"Basic b3AAczphcHA=", false}, /* a NUL inside */
        {"Bearer b3BzOmFwcA==", false}, {"", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (metrics_auth_ok(cfg, cases[i].header) != cases[i].ok)
            fail_msg("case %zu (%s): want %d", i, cases[i].header, cases[i].ok);
    }
    assert_false(metrics_auth_ok(NULL, "Basic b3BzOmFwcA=="));
    config_put(cfg);
    /* metrics_auth without an account to log in with is refused. */
    cfg = NULL;
    assert_int_equal(
        config_load_string("metrics_auth = true;\n"
                           "listeners = ( { name = \"m\"; address = \"h\"; port = 1; } );\n"
                           "users = ( { name = \"app\"; password_hash = \"" HASH "\"; } );\n"
                           "backends = ( { name = \"db1\"; address = \"127.0.0.1\"; port = 3310; "
                           "role = \"primary\"; } );\n",
                           "t.conf", &cfg, err, sizeof(err)),
        HY_ERROR);
    assert_non_null(strstr(err, "t.conf:1: metrics_auth: no admin_accounts"));
}

/* ---- log and config ---------------------------------------------------- */

static void test_syslog_format(void **state)
{
    (void)state;
    char buf[256], want[64];
    size_t n = log_format_syslog(buf, sizeof(buf), 6, "INFO hello", 0);
    assert_int_equal(n, strlen(buf));
    assert_int_equal(strncmp(buf, "<30>", 4), 0); /* daemon.info */
    snprintf(want, sizeof(want), " halyard[%d]: INFO hello", (int)getpid());
    assert_string_equal(buf + n - strlen(want), want);
    n = log_format_syslog(buf, sizeof(buf), 3, "ERROR x", 0);
    assert_int_equal(strncmp(buf, "<27>", 4), 0); /* daemon.err */
    /* Truncated, never overrun. */
    n = log_format_syslog(buf, 16, 6, "INFO a long message", 0);
    assert_int_equal(n, 15);
    assert_int_equal(strlen(buf), 15);
}

static void test_config_keys(void **state)
{
    (void)state;
    struct config *cfg = NULL;
    char err[512];
    assert_int_equal(config_load_string(BASE, "t.conf", &cfg, err, sizeof(err)), HY_OK);
    assert_string_equal(cfg->admin_socket, "/run/halyard/admin.sock");
    assert_true(cfg->admin_socket_default);
    assert_string_equal(cfg->metrics_address, "127.0.0.1");
    assert_int_equal(cfg->metrics_port, 0);
    assert_string_equal(cfg->log_file, "");
    assert_false(cfg->log_syslog);
    config_put(cfg);

    assert_int_equal(config_load_string("admin_socket = \"/run/{port}/a{port}\";\n"
                                        "metrics_address = \"::1\"; metrics_port = 9104;\n"
                                        "log_file = \"/var/log/h.log\"; log_syslog = true;\n" BASE,
                                        "t.conf", &cfg, err, sizeof(err)),
                     HY_OK);
    /* Only the first {port} is replaced. */
    assert_string_equal(cfg->admin_socket, "/run/6033/a{port}");
    assert_false(cfg->admin_socket_default);
    assert_string_equal(cfg->metrics_address, "::1");
    assert_int_equal(cfg->metrics_port, 9104);
    assert_string_equal(cfg->log_file, "/var/log/h.log");
    assert_true(cfg->log_syslog);
    config_put(cfg);

    assert_int_equal(
        config_load_string("admin_socket = \"\";\n" BASE, "t.conf", &cfg, err, sizeof(err)), HY_OK);
    assert_string_equal(cfg->admin_socket, "");
    config_put(cfg);

    static const struct {
        const char *text, *err;
    } bad[] = {
        {"metrics_port = 65536;\n" BASE, "t.conf:1: metrics_port: 65536 is out of range 0..65535"},
        {"metrics_port = -1;\n" BASE, "t.conf:1: metrics_port: -1 is out of range 0..65535"},
        {"metrics_address = \"\";\n" BASE,
         "t.conf:1: metrics_address: length 0 is out of range 1..255"},
        {"log_syslog = 1;\n" BASE,
         "t.conf:1: log_syslog: expected a boolean (true or false), got an integer"},
        {"log_file = true;\n" BASE, "t.conf:1: log_file: expected a string, got a boolean"},
        {"admin_socket = "
         "\"/12345678901234567890123456789012345678901234567890123456789012345678901234567890"
         "123456789012345678901234567\";\n" BASE,
         "t.conf:1: admin_socket: length 108 is out of range 0..107"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cfg = NULL;
        assert_int_equal(config_load_string(bad[i].text, "t.conf", &cfg, err, sizeof(err)),
                         HY_ERROR);
        if (strstr(err, bad[i].err) == NULL)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, bad[i].err);
        assert_null(cfg);
    }
}

/* show backends and backend NAME drain|maint|online: parsing and both
 * renderings; the per-backend metrics families. */
static void test_backends(void **state)
{
    (void)state;
    struct admin_cmd cmd;
    char err[200];
    assert_int_equal(admin_parse("show backends --json", 20, &cmd, err, sizeof(err)), HY_OK);
    assert_int_equal(cmd.verb, ADMIN_SHOW_BACKENDS);
    assert_true(cmd.json);
    assert_int_equal(admin_parse("backend db2 drain", 17, &cmd, err, sizeof(err)), HY_OK);
    assert_int_equal(cmd.verb, ADMIN_BACKEND_SET);
    assert_string_equal(cmd.arg, "db2");
    assert_int_equal(cmd.mode, BACKEND_ADMIN_DRAIN);
    assert_false(cmd.nowait);
    assert_int_equal(admin_parse("backend db2 drain nowait", 24, &cmd, err, sizeof(err)), HY_OK);
    assert_true(cmd.nowait);
    assert_int_equal(admin_parse("backend db2 maint nowait", 24, &cmd, err, sizeof(err)), HY_ERROR);
    assert_string_equal(err, "ERR usage: backend NAME drain [nowait]|maint|online");
    assert_int_equal(admin_parse("BACKEND db2 ONLINE", 18, &cmd, err, sizeof(err)), HY_OK);
    assert_int_equal(cmd.mode, BACKEND_ADMIN_NONE);
    assert_int_equal(admin_parse("backend db2 maint", 17, &cmd, err, sizeof(err)), HY_OK);
    assert_int_equal(cmd.mode, BACKEND_ADMIN_MAINT);
    assert_int_equal(admin_parse("backend db2", 11, &cmd, err, sizeof(err)), HY_ERROR);
    assert_string_equal(err, "ERR usage: backend NAME drain [nowait]|maint|online");
    assert_int_equal(admin_parse("backend db2 off", 15, &cmd, err, sizeof(err)), HY_ERROR);

    struct admin_backend_row rows[2] = {
        {.name = "db1",
         .address = "127.0.0.1:3310",
         .role = "primary",
         .role_seen = true,
         .state = "ONLINE",
         .lag_ms = -1,
         .gtid = "0-1-42",
         .conns_in_use = 1,
         .conns_idle = 3,
         .queries = 1000,
         .errors = 2,
         .p50_ms = 0.41,
         .p99_ms = 12.5,
         .rtt_ms = 0.25,
         .last_check = "ok",
         .check_age_s = 0.4,
         .load_seen = true,
         .status = {.max_connections = 151,
                    .threads_connected = 12,
                    .threads_running = 3,
                    .questions = 5000,
                    .slow_queries = 1,
                    .row_lock_waits = 7,
                    .binlog_bytes_written = -1,
                    .binlog_files = 3,
                    .binlog_size = 3 << 20,
                    .disk_total = -1,
                    .disk_used = -1},
         .rates = {.qps = 250,
                   .com_ps = {200, 30.5, 12, 0, 40, -1},
                   .connections_pct = 12 * 100.0 / 151,
                   .bp_hit_ratio = 0.99,
                   .bp_dirty_pct = -1,
                   .disk_pct = -1}},
        {.name = "db2",
         .group = "west",
         .address = "127.0.0.1:3311",
         .role = "replica",
         .fenced = true,
         .state = "LAGGING",
         .why = "replication broken",
         .lag_ms = -1,
         .repl_broken = true,
         .rtt_ms = -1,
         .last_check = "connect: \"refused\"",
         .check_age_s = -1,
         .proof_missing = "not read yet"},
    };
    struct textbuf sb;
    textbuf_init(&sb, 1 << 20);
    admin_render_backends(&sb, rows, 2, false, false);
    /* one fact a cell: the role, whether the servers said it, fenced; the
     * lag, whether replication is broken */
    assert_non_null(strstr(sb.data, "name  group  address         role     role_seen  fenced  "
                                    "state    why                 lag_s  replication_broken  "
                                    "gtid"));
    assert_non_null(strstr(sb.data, "\ndb1   -      127.0.0.1:3310  primary  true       false   "
                                    "ONLINE   -                   -      false               "
                                    "0-1-42"));
    assert_non_null(strstr(sb.data, "\ndb2   west   127.0.0.1:3311  replica  false      true    "
                                    "LAGGING  replication broken  -      true                -"));
    assert_non_null(strstr(sb.data, "0.41"));
    assert_non_null(strstr(sb.data, "12.50"));
    assert_non_null(strstr(sb.data, "rtt_ms"));
    assert_non_null(strstr(sb.data, "0.25 "));
    assert_null(strstr(sb.data, "max_conn")); /* the load only with --detail */
    textbuf_reset(&sb);
    admin_render_backends(&sb, rows, 2, false, true);
    assert_non_null(strstr(sb.data, "rtt_ms"));
    assert_non_null(strstr(sb.data, "\nname  threads_connected  max_connections  threads_running  "
                                    "queries_per_s  slow_queries  aborted_connects  bp_hit_pct  "
                                    "bp_dirty_pct  row_lock_waits\n"));
    assert_non_null(strstr(sb.data, "\ndb1   12                 151              3                "
                                    "250            1             0                 99.00       -  "
                                    "           7\n"));
    assert_non_null(strstr(sb.data, "\nname  select_per_s  insert_per_s  update_per_s  "
                                    "delete_per_s  commit_per_s  rollback_per_s  binlog_files  "
                                    "binlog_size_mib  datadir_fs_used_pct  datadir_fs_size_gib\n"));
    assert_non_null(strstr(sb.data, "\ndb1   200.0         30.5          12.0          0.0     "
                                    "      40.0          -               3             3.0     "
                                    "         -                    -\n"));
    textbuf_reset(&sb);
    admin_render_backends(&sb, rows, 2, true, false);
    assert_string_equal(
        sb.data,
        "{\"backends\":[{\"name\":\"db1\",\"group\":\"\",\"address\":\"127.0.0.1:3310\",\"zone\":"
        "\"\",\"role\":"
        "\"primary\","
        "\"role_seen\":true,\"fenced\":false,\"state\":\"ONLINE\",\"why\":\"\",\"lag_s\":"
        "null,"
        "\"replication_broken\":false,\"gtid\":\"0-1-42\",\"in_use\":1,"
        "\"idle\":3,\"queries\":1000,\"errors\":2,\"p50_ms\":0.410,\"p99_ms\":12.500,"
        "\"rtt_ms\":0.250,\"last_check\":\"ok\",\"check_age_s\":0.4,\"proof_missing\":\"\","
        "\"server\":{\"max_connections\":151,\"threads_connected\":12,\"threads_running\":3,"
        "\"questions\":5000,\"slow_queries\":1,\"aborted_connects\":0,"
        "\"row_lock_waits\":7,\"binlog_bytes_written\":null,\"binlog_files\":3,"
        "\"binlog_size_bytes\":3145728,\"datadir_fs_size_bytes\":null,"
        "\"datadir_fs_used_bytes\":null,"
        "\"queries_per_s\":250.0000,\"connections_pct\":7.9470,"
        "\"bp_hit_pct\":99.0000,\"bp_dirty_pct\":null,"
        "\"datadir_fs_used_pct\":null,\"commands_per_s\":{\"select\":200.0000,"
        "\"insert\":30.5000,\"update\":12.0000,\"delete\":0.0000,\"commit\":40.0000,"
        "\"rollback\":null}}},"
        "{\"name\":\"db2\",\"group\":\"west\",\"address\":\"127.0.0.1:3311\",\"zone\":\"\","
        "\"role\":\"replica\","
        "\"role_seen\":false,\"fenced\":true,\"state\":\"LAGGING\",\"why\":\"replication broken\","
        "\"lag_s\":null,\"replication_broken\":true,\"gtid\":\"\",\"in_use\":0,"
        "\"idle\":0,\"queries\":0,\"errors\":0,\"p50_ms\":0.000,\"p99_ms\":0.000,"
        "\"rtt_ms\":null,\"last_check\":\"connect: "
        "\\\"refused\\\"\",\"check_age_s\":null,\"proof_missing\":\"not read yet\","
        "\"server\":null}]}\n");

    /* Metrics: the backend families from backend_rt. */
    struct config *cfg = NULL;
    assert_int_equal(config_load_string(BASE, "t.conf", &cfg, err, sizeof(err)), HY_OK);
    assert_int_equal(backend_rt_attach(cfg), HY_OK);
    struct backend_rt *rt = cfg->backends[1].rt;
    backend_query_begin(rt);
    backend_query_end(rt, 0, 300, false);
    backend_query_begin(rt);
    backend_query_end(rt, 1, 20000, true);
    atomic_store(&rt->lag_ms, 1500);
    atomic_store(&rt->rtt_us, 2500);
    textbuf_reset(&sb);
    struct metrics_snapshot m = {.cfg = cfg};
    metrics_render(&sb, &m);
    char line[200];
    snprintf(line, sizeof(line), "halyard_backend_state{backend=\"%s\",state=\"ONLINE\"} 1\n",
             cfg->backends[1].name);
    assert_non_null(strstr(sb.data, line));
    snprintf(line, sizeof(line), "halyard_backend_lag_seconds{backend=\"%s\"} 1.500\n",
             cfg->backends[1].name);
    assert_non_null(strstr(sb.data, line));
    snprintf(line, sizeof(line),
             "halyard_backend_info{backend=\"%s\",zone=\"\",address=\"%s:%d\",group=\"default\"} "
             "1\n",
             cfg->backends[1].name, cfg->backends[1].address, cfg->backends[1].port);
    assert_non_null(strstr(sb.data, line));
    assert_non_null(strstr(sb.data, "halyard_zone_info{zone=\"\"} 1\n"));
    assert_non_null(strstr(
        sb.data,
        "halyard_group_info{group=\"default\",cluster=\"replication\",failover=\"off\"} 1\n"));
    assert_non_null(strstr(sb.data, "# TYPE halyard_group_writer gauge\n"));
    snprintf(line, sizeof(line), "halyard_failover_voters{group=\"default\"} %zu\n",
             cfg->n_backends + cfg->n_witnesses);
    assert_non_null(strstr(sb.data, line));
    snprintf(line, sizeof(line), "halyard_failover_voters_reachable{group=\"default\"} %zu\n",
             cfg->n_backends);
    assert_non_null(strstr(sb.data, line)); /* attached, none DOWN */
    snprintf(line, sizeof(line), "halyard_backend_rtt_seconds{backend=\"%s\"} 0.002500\n",
             cfg->backends[1].name);
    assert_non_null(strstr(sb.data, line));
    snprintf(line, sizeof(line), "halyard_backend_rtt_seconds{backend=\"%s\"}",
             cfg->backends[0].name);
    assert_null(strstr(sb.data, line)); /* not measured: absent */
    snprintf(line, sizeof(line), "halyard_backend_errors_total{backend=\"%s\"} 1\n",
             cfg->backends[1].name);
    assert_non_null(strstr(sb.data, line));
    snprintf(line, sizeof(line),
             "halyard_backend_query_duration_seconds_bucket{backend=\"%s\",le=\"0.0005\"} 1\n",
             cfg->backends[1].name);
    assert_non_null(strstr(sb.data, line));
    snprintf(line, sizeof(line),
             "halyard_backend_query_duration_seconds_bucket{backend=\"%s\",le=\"+Inf\"} 2\n",
             cfg->backends[1].name);
    assert_non_null(strstr(sb.data, line));
    snprintf(line, sizeof(line),
             "halyard_backend_query_duration_seconds_sum{backend=\"%s\"} 0.020300\n",
             cfg->backends[1].name);
    assert_non_null(strstr(sb.data, line));
    assert_non_null(strstr(sb.data, "# TYPE halyard_backend_query_duration_seconds histogram\n"));
    textbuf_free(&sb);
    config_put(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parse_long_line),
        cmocka_unit_test(test_json_str),
        cmocka_unit_test(test_cell),
        cmocka_unit_test(test_textbuf_limit),
        cmocka_unit_test(test_textbuf_room),
        cmocka_unit_test(test_render_stats),
        cmocka_unit_test(test_render_sessions),
        cmocka_unit_test(test_render_help),
        cmocka_unit_test(test_verb_table),
        cmocka_unit_test(test_render_rules),
        cmocka_unit_test(test_render_digests),
        cmocka_unit_test(test_render_pools),
        cmocka_unit_test(test_render_config),
        cmocka_unit_test(test_render_status),
        cmocka_unit_test(test_metrics_render),
        cmocka_unit_test(test_backup_verify_last),
        cmocka_unit_test(test_render_backup),
        cmocka_unit_test(test_dump_gtid),
        cmocka_unit_test(test_metrics_request),
        cmocka_unit_test(test_metrics_auth),
        cmocka_unit_test(test_backends),
        cmocka_unit_test(test_syslog_format),
        cmocka_unit_test(test_config_keys),
        cmocka_unit_test(test_render_events),
    };
    return cmocka_run_group_tests_name("admin", tests, NULL, NULL);
}
