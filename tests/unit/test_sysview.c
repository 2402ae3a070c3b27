/*
 * test_sysview.c: finding reads of the process list and the status
 * variables in a statement, and rewriting them (sysview.h), table-driven.
 * Texts are heap copies of exactly their length (no NUL after them), so
 * ASan catches a read past `len`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "halyard/sql/classify.h"
#include "halyard/sql/sysview.h"

static char *exact_copy(const char *s, size_t len)
{
    char *p = malloc(len > 0 ? len : 1);
    assert_non_null(p);
    memcpy(p, s, len);
    return p;
}

struct scan_case {
    const char *sql;
    unsigned opts;
    enum sysview_show show;
    bool thread_views;
    uint32_t n;
    int table0; /* the first reference's table, -1 = none */
    bool aliased0;
};

static const struct scan_case scans[] = {
    {"SHOW PROCESSLIST", 0, SYSVIEW_SHOW_PROCESSLIST, false, 0, -1, false},
    {"show full processlist", 0, SYSVIEW_SHOW_PROCESSLIST, false, 0, -1, false},
    {"/* c */ SHOW STATUS LIKE 'Compression'", 0, SYSVIEW_SHOW_STATUS, false, 0, -1, false},
    {"SHOW GLOBAL STATUS", 0, SYSVIEW_SHOW_STATUS, false, 0, -1, false},
    {"SHOW LOCAL STATUS WHERE Variable_name = 'x'", 0, SYSVIEW_SHOW_STATUS, false, 0, -1, false},
    {"SHOW SESSION STATUS", 0, SYSVIEW_SHOW_STATUS, false, 0, -1, false},
    /* its WHERE's Value: what the client is shown */
    {"SHOW STATUS WHERE Value > 1", 0, SYSVIEW_SHOW_STATUS, false, 1, SYSVIEW_STATUS_VALUE, true},
    {"SHOW STATUS LIKE 'Value'", 0, SYSVIEW_SHOW_STATUS, false, 0, -1, false},
    {"SELECT Value FROM t WHERE Value = 1", 0, SYSVIEW_SHOW_NONE, false, 0, -1, false},
    {"SHOW SLAVE STATUS", 0, SYSVIEW_SHOW_NONE, false, 0, -1, false},
    {"SHOW TABLE STATUS", 0, SYSVIEW_SHOW_NONE, false, 0, -1, false},
    {"SHOW ENGINE INNODB STATUS", 0, SYSVIEW_SHOW_NONE, false, 0, -1, false},
    {"SELECT * FROM information_schema.PROCESSLIST", 0, SYSVIEW_SHOW_NONE, false, 1,
     SYSVIEW_PROCESSLIST, false},
    {"SELECT ID FROM INFORMATION_SCHEMA . processlist p WHERE p.ID = 1", 0, SYSVIEW_SHOW_NONE,
     false, 1, SYSVIEW_PROCESSLIST, true},
    {"SELECT ID FROM `information_schema`.`PROCESSLIST` AS x", 0, SYSVIEW_SHOW_NONE, false, 1,
     SYSVIEW_PROCESSLIST, true},
    {"SELECT COUNT(*) FROM information_schema.processlist WHERE state = 'x'", 0, SYSVIEW_SHOW_NONE,
     false, 1, SYSVIEW_PROCESSLIST, false},
    {"SELECT 1 FROM information_schema.PROCESSLIST JOIN t", 0, SYSVIEW_SHOW_NONE, false, 1,
     SYSVIEW_PROCESSLIST, false},
    {"SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE 1", 0, SYSVIEW_SHOW_NONE,
     false, 1, SYSVIEW_SESSION_STATUS, false},
    {"SELECT * FROM information_schema.global_status g", 0, SYSVIEW_SHOW_NONE, false, 1,
     SYSVIEW_GLOBAL_STATUS, true},
    /* names in strings, comments and plain columns name no table */
    {"SELECT 'information_schema.PROCESSLIST' /* information_schema.PROCESSLIST */", 0,
     SYSVIEW_SHOW_NONE, false, 0, -1, false},
    {"SELECT information_schema.PROCESSLIST.ID FROM t", 0, SYSVIEW_SHOW_NONE, false, 0, -1, false},
    {"SELECT processlist FROM status", 0, SYSVIEW_SHOW_NONE, false, 0, -1, false},
    /* a join with a view keyed by the server's thread ids */
    {"SELECT 1 FROM information_schema.PROCESSLIST p JOIN information_schema.INNODB_TRX t "
     "ON t.trx_mysql_thread_id = p.ID",
     0, SYSVIEW_SHOW_NONE, true, 1, SYSVIEW_PROCESSLIST, true},
    {"SELECT * FROM performance_schema.threads", 0, SYSVIEW_SHOW_NONE, true, 0, -1, false},
};

static void test_scan(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(scans) / sizeof(scans[0]); i++) {
        const struct scan_case *c = &scans[i];
        size_t len = strlen(c->sql);
        char *copy = exact_copy(c->sql, len);
        struct sysview_scan sc;
        sysview_scan(copy, len, c->opts, &sc);
        if (sc.show != c->show || sc.thread_views != c->thread_views || sc.n != c->n ||
            (c->n > 0 && (sc.ref[0].table != c->table0 || sc.ref[0].aliased != c->aliased0)))
            fail_msg("case %zu (%s): show %d views %d n %u table %d aliased %d", i, c->sql, sc.show,
                     sc.thread_views, sc.n, c->n > 0 ? sc.ref[0].table : -1,
                     c->n > 0 ? sc.ref[0].aliased : 0);
        /* every prefix scans without reading past it */
        for (size_t k = 0; k < len; k++)
            sysview_scan(copy, k, c->opts, &sc);
        free(copy);
    }
}

/* A SHOW of the process list or the status after a text's first
 * statement: halyard does not map its rows (the session refuses it). */
static void test_show_later(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        bool later;
    } t[] = {
        {"SELECT 2; SHOW FULL PROCESSLIST", true},
        {"SHOW STATUS LIKE 'x'; show global status", true},
        {"SELECT 1;SHOW PROCESSLIST;", true},
        {"SHOW PROCESSLIST; SELECT 1", false},
        {"SHOW STATUS;", false},
        {"SELECT 1; SHOW TABLE STATUS", false},
        {"SELECT 'a; SHOW PROCESSLIST'", false},
        {"CREATE PROCEDURE p() BEGIN SELECT 1; SHOW STATUS; END", false},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        size_t len = strlen(t[i].sql);
        char *copy = exact_copy(t[i].sql, len);
        struct sysview_scan sc;
        sysview_scan(copy, len, 0, &sc);
        if (sc.show_later != t[i].later)
            fail_msg("case %zu (%s): show_later %d", i, t[i].sql, sc.show_later);
        free(copy);
    }
}

struct rewrite_case {
    const char *sql, *want;
};

static const struct rewrite_case rewrites[] = {
    {"SELECT * FROM information_schema.PROCESSLIST", "SELECT * FROM (P) AS PROCESSLIST"},
    {"SELECT * FROM information_schema.processlist p WHERE 1", "SELECT * FROM (P) p WHERE 1"},
    {"SELECT * FROM `information_schema`.`processlist`;", "SELECT * FROM (P) AS `processlist`;"},
    {"SELECT a.VARIABLE_VALUE, b.VARIABLE_VALUE FROM information_schema.SESSION_STATUS a, "
     "information_schema.GLOBAL_STATUS b",
     "SELECT a.VARIABLE_VALUE, b.VARIABLE_VALUE FROM (S) a, (G) b"},
    {"SELECT 1", "SELECT 1"},
    {"SHOW STATUS WHERE Value = 3", "SHOW STATUS WHERE (V) = 3"},
    {"SHOW GLOBAL STATUS WHERE Variable_name = 'Value' AND `value` > t.Value",
     "SHOW GLOBAL STATUS WHERE Variable_name = 'Value' AND (V) > t.Value"},
    {"show status where NEXT VALUE FOR s = VALUE + VALUE(x);",
     "show status where NEXT VALUE FOR s = (V) + VALUE(x);"},
    {"SHOW STATUS LIKE 'Value'", "SHOW STATUS LIKE 'Value'"},
};

static void test_rewrite(void **state)
{
    (void)state;
    const char *const derived[SYSVIEW__REFS] = {"P", "S", "G", "V"};
    for (size_t i = 0; i < sizeof(rewrites) / sizeof(rewrites[0]); i++) {
        const struct rewrite_case *c = &rewrites[i];
        size_t len = strlen(c->sql);
        char *copy = exact_copy(c->sql, len);
        struct sysview_scan sc;
        sysview_scan(copy, len, 0, &sc);
        size_t need = sysview_rewrite(copy, len, &sc, derived, NULL, 0);
        char out[512];
        size_t n = sysview_rewrite(copy, len, &sc, derived, out, sizeof(out));
        assert_int_equal(n, need);
        assert_int_equal(n, strlen(c->want));
        assert_memory_equal(out, c->want, n);
        /* too small a buffer: nothing past it, the length still whole */
        char small[8];
        assert_int_equal(sysview_rewrite(copy, len, &sc, derived, small, sizeof(small)), need);
        free(copy);
    }
    /* a table with no derived text stays as it is */
    const char *const only_p[SYSVIEW__REFS] = {"P", NULL, NULL, NULL};
    const char *sql = "SELECT * FROM information_schema.SESSION_STATUS";
    struct sysview_scan sc;
    sysview_scan(sql, strlen(sql), 0, &sc);
    char out[128];
    size_t n = sysview_rewrite(sql, strlen(sql), &sc, only_p, out, sizeof(out));
    assert_int_equal(n, strlen(sql));
    assert_memory_equal(out, sql, n);
}

static void test_mentioned(void **state)
{
    (void)state;
    assert_true(sysview_mentioned("show processlist", 16));
    assert_true(sysview_mentioned("SHOW STATUS", 11));
    assert_false(sysview_mentioned("SELECT 1", 8));
    assert_false(sysview_mentioned("SELECT status FROM t", 20)); /* a column, no SHOW */
    assert_true(sysview_mentioned("SELECT 1 FROM information_schema.session_status", 47));
#define M(s) sysview_mentioned(s, strlen(s))
    assert_true(M("SELECT * FROM INFORMATION_SCHEMA.Global_Status"));
    assert_true(M("select 1 from `information_schema`.`PROCESSLIST`"));
    assert_true(M("sHoW gLoBaL sTaTuS"));
    assert_true(M("SELECT status FROM shows")); /* a cheap look: both words, anywhere */
    assert_true(M("SELECT 'show', 'status'"));
    assert_false(M("SELECT c FROM sbtest1 WHERE id=5042"));
    assert_false(M("SELECT sessionstatus, global_stat FROM processlis"));
    assert_false(M("SELECT statu FROM sho"));
    assert_false(M("SELECT s, sh, st, se, g, p FROM session_s"));
    assert_false(M("SHOW TABLES LIKE 'stat'"));
    assert_false(sysview_mentioned("SHOW STATUS", 10)); /* the length bounds it */
    assert_false(sysview_mentioned("x PROCESSLIST", 12));
#undef M
}

/* What sysview_mentioned() answered before it read 8 bytes at a time:
 * a search of the text for each word. */
static bool ref_mentions(const char *p, size_t n, const char *word)
{
    size_t wl = strlen(word);
    for (size_t i = 0; i + wl <= n; i++) {
        if (strncasecmp(p + i, word, wl) == 0)
            return true;
    }
    return false;
}

static bool ref_mentioned(const char *p, size_t n)
{
    return ref_mentions(p, n, "PROCESSLIST") || ref_mentions(p, n, "SESSION_STATUS") ||
           ref_mentions(p, n, "GLOBAL_STATUS") ||
           (ref_mentions(p, n, "STATUS") && ref_mentions(p, n, "SHOW"));
}

/* Texts made of pieces of the words, in any case, at every alignment:
 * the same answer as the plain search. */
static void test_mentioned_same_as_search(void **state)
{
    (void)state;
    static const char *const piece[] = {
        "show",    "SHOW ",  "status",  "STATUS", "global_", "GLOBAL", "_STATUS", "session_",
        "SESSION", "proces", "PROCESS", "slist",  "LIST",    "s",      "S",       "x",
        " ",       "_",      "sh",      "st",     "se",      "ss",     "sbtest1", "'",
    };
    unsigned seed = 12345;
    char text[96];
    for (int round = 0; round < 200000; round++) {
        size_t n = 0;
        int pieces = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 8;
        for (int k = 0; k < pieces; k++) {
            seed = seed * 1103515245u + 12345u;
            const char *w = piece[(seed >> 16) % (sizeof(piece) / sizeof(piece[0]))];
            size_t wl = strlen(w);
            if (n + wl >= sizeof(text))
                break;
            memcpy(text + n, w, wl);
            n += wl;
        }
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            if ((seed >> 16) % 3 == 0 && ((text[i] | 0x20) >= 'a' && (text[i] | 0x20) <= 'z'))
                text[i] ^= 0x20;
        }
        text[n] = '\0';
        if (sysview_mentioned(text, n) != ref_mentioned(text, n))
            fail_msg("\"%s\": %d, the plain search says %d", text, sysview_mentioned(text, n),
                     ref_mentioned(text, n));
    }
}

/* Only where the statement's result is an answer to the client (issue 47):
 * the references sysview_scan() lists are the ones rewritten. */
static const struct {
    const char *sql;
    uint32_t refs; /* references rewritten */
} answer_cases[] = {
    {"SELECT ID FROM information_schema.processlist", 1},
    {"/* c */ select * from INFORMATION_SCHEMA.`PROCESSLIST` p", 1},
    {"WITH x AS (SELECT ID FROM information_schema.processlist) SELECT * FROM x", 1},
    {"(SELECT ID FROM information_schema.processlist)", 1},
    {"INSERT INTO t (v) SELECT ID FROM information_schema.processlist", 1},
    {"REPLACE INTO t SELECT ID FROM information_schema.processlist", 1},
    {"CREATE TABLE c AS SELECT ID FROM information_schema.processlist", 1},
    {"CREATE OR REPLACE TEMPORARY TABLE c SELECT ID FROM information_schema.processlist", 1},
    {"SELECT 1; SELECT ID FROM information_schema.processlist", 1},
    {"DESCRIBE information_schema.processlist", 0},
    {"DESC information_schema.processlist", 0},
    {"EXPLAIN information_schema.processlist", 0},
    {"SHOW COLUMNS FROM information_schema.processlist", 0},
    {"SHOW CREATE TABLE information_schema.processlist", 0},
    {"CREATE TABLE c LIKE information_schema.processlist", 0},
    {"CREATE VIEW v AS SELECT ID FROM information_schema.processlist", 0},
    {"CREATE OR REPLACE DEFINER=CURRENT_USER VIEW v AS SELECT * FROM "
     "information_schema.processlist",
     0},
    {"ALTER VIEW v AS SELECT ID FROM information_schema.processlist", 0},
    {"CREATE PROCEDURE p() BEGIN DECLARE n INT; SELECT ID FROM information_schema.processlist; "
     "END",
     0},
    {"CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.v = (SELECT COUNT(*) FROM "
     "information_schema.processlist)",
     0},
    {"CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO INSERT INTO t SELECT ID FROM "
     "information_schema.processlist",
     0},
    {"UPDATE t SET v = (SELECT COUNT(*) FROM information_schema.processlist)", 0},
    {"CREATE VIEW v AS SELECT 1; SELECT ID FROM information_schema.processlist", 0},
    {"DESCRIBE information_schema.processlist; SELECT ID FROM information_schema.processlist", 1},
};

static void test_answer_parts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(answer_cases) / sizeof(answer_cases[0]); i++) {
        struct sysview_scan sc;
        sysview_scan(answer_cases[i].sql, strlen(answer_cases[i].sql), 0, &sc);
        if (sc.n != answer_cases[i].refs)
            fail_msg("%s: %u reference(s) rewritten, %u expected", answer_cases[i].sql, sc.n,
                     answer_cases[i].refs);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan),         cmocka_unit_test(test_show_later),
        cmocka_unit_test(test_rewrite),      cmocka_unit_test(test_mentioned),
        cmocka_unit_test(test_answer_parts), cmocka_unit_test(test_mentioned_same_as_search),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
