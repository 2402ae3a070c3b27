/*
 * test_cache_sql.c: which SELECTs the query cache may keep, and the
 * tables each reads (cache_sql.h).
 *
 *   - tables: plain, qualified, quoted, aliased, comma lists, every JOIN,
 *     UNION; the default schema for unqualified names; lower case
 *   - refused: other statements, two statements, subqueries and derived
 *     tables, variables, non-deterministic and stored functions, system
 *     schemas, no schema, no table, SQL_NO_CACHE and halyard:nocache,
 *     too many tables
 *   - the clock, user and role words without parentheses (CURRENT_DATE,
 *     LOCALTIME, UTC_TIMESTAMP, CURRENT_USER, CURRENT_ROLE ...) in any
 *     clause, any case; not a column after `.`, a quoted name, a string
 *   - names in strings and comments are not tables
 *   - point lookups: `col = N`, `col IN (N, ...)` as a top-level term of
 *     the WHERE clause of a one-table SELECT, values canonical and
 *     distinct; not one: OR, XOR, BETWEEN, CASE at the top level, a JOIN,
 *     a UNION, an escaped or introduced string, a number in exponent or
 *     hexadecimal form, an expression, a term inside parentheses or after
 *     NOT, more than CACHE_SQL_MAX_KEYS values
 *   - the table a statement-format write changes: INSERT, REPLACE,
 *     UPDATE, DELETE of one table, qualified or in the default schema;
 *   refused: several tables, a subquery, a routine or unknown call,
 *     variables, a backslash or double quote, another statement
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/sql/cache_sql.h"
#include "halyard/sql/classify.h"

static enum cache_sql_verdict run(const char *sql, const char *schema, struct cache_sql *out)
{
    return cache_sql_tables(sql, strlen(sql), 0, schema, out);
}

/* sql is accepted and reads exactly `want` (space-separated, in order). */
static void accepts(const char *sql, const char *schema, const char *want)
{
    struct cache_sql c;
    enum cache_sql_verdict v = run(sql, schema, &c);
    if (v != CACHE_SQL_OK)
        fail_msg("%s: refused (%s)", sql, cache_sql_verdict_str(v));
    char got[1024] = "";
    for (unsigned i = 0; i < c.ntables; i++) {
        if (i > 0)
            strcat(got, " ");
        strcat(got, c.tables[i]);
    }
    if (strcmp(got, want) != 0)
        fail_msg("%s: tables '%s', want '%s'", sql, got, want);
}

static void refuses(const char *sql, const char *schema, enum cache_sql_verdict want)
{
    struct cache_sql c;
    enum cache_sql_verdict v = run(sql, schema, &c);
    if (v != want)
        fail_msg("%s: %s, want %s", sql, cache_sql_verdict_str(v), cache_sql_verdict_str(want));
}

static void test_tables(void **state)
{
    (void)state;
    accepts("SELECT * FROM t WHERE id = 1", "db", "db.t");
    accepts("select c from Shop.Orders o where o.id in (1, 2, 3)", NULL, "shop.orders");
    accepts("SELECT a FROM `my db`.`t 1` AS x", NULL, "my db.t 1");
    accepts("SELECT * FROM a, b.c, d x WHERE a.id = x.id", "s", "s.a b.c s.d");
    accepts("SELECT * FROM a JOIN b ON a.id = b.id LEFT JOIN c USING (id) "
            "STRAIGHT_JOIN d CROSS JOIN e NATURAL JOIN f",
            "s", "s.a s.b s.c s.d s.e s.f");
    accepts("SELECT * FROM a JOIN b ON a.id = b.id, c WHERE 1", "s", "s.a s.b s.c");
    accepts("SELECT id FROM a UNION ALL SELECT id FROM b ORDER BY id LIMIT 10", "s", "s.a s.b");
    accepts("SELECT COUNT(*), SUM(x), COALESCE(MAX(y), 0) FROM t GROUP BY z HAVING COUNT(*) > 1",
            "s", "s.t");
    accepts("SELECT CAST(x AS CHAR(10)), CONCAT(a, 'FROM zz') FROM t -- FROM u\n", "s", "s.t");
    accepts("SELECT * FROM t;", "s", "s.t");
    accepts("SELECT * FROM t /* halyard: primary */", "s", "s.t");
    accepts("SELECT * FROM t a, t b", "s", "s.t");
}

static void test_refused(void **state)
{
    (void)state;
    refuses("UPDATE t SET a = 1", "s", CACHE_SQL_NOT_SELECT);
    refuses("SELECT 1; SELECT 2", "s", CACHE_SQL_NOT_SELECT);
    refuses("WITH x AS (SELECT 1) SELECT * FROM x", "s", CACHE_SQL_NOT_SELECT);
    refuses("SELECT * FROM (SELECT 1) d", "s", CACHE_SQL_SUBQUERY);
    refuses("SELECT * FROM t WHERE id IN (SELECT id FROM u)", "s", CACHE_SQL_SUBQUERY);
    refuses("SELECT (SELECT 1 FROM u) FROM t", "s", CACHE_SQL_SUBQUERY);
    refuses("SELECT * FROM t WHERE a = @x", "s", CACHE_SQL_VARIABLE);
    refuses("SELECT @@version FROM t", "s", CACHE_SQL_VARIABLE);
    refuses("SELECT * FROM t WHERE id = ?", "s", CACHE_SQL_VARIABLE);
    refuses("SELECT NOW() FROM t", "s", CACHE_SQL_FUNCTION);
    refuses("SELECT * FROM t ORDER BY RAND()", "s", CACHE_SQL_FUNCTION);
    refuses("SELECT UUID(), a FROM t", "s", CACHE_SQL_FUNCTION);
    refuses("SELECT CONNECTION_ID() FROM t", "s", CACHE_SQL_FUNCTION);
    refuses("SELECT USER() FROM t", "s", CACHE_SQL_FUNCTION);
    refuses("SELECT LAST_INSERT_ID() FROM t", "s", CACHE_SQL_FUNCTION);
    refuses("SELECT FOUND_ROWS()", "s", CACHE_SQL_FUNCTION);
    refuses("SELECT NEXTVAL(seq)", "s", CACHE_SQL_FUNCTION);
    refuses("SELECT SLEEP(1) FROM t", "s", CACHE_SQL_FUNCTION);
    refuses("SELECT GET_LOCK('a', 1) FROM t", "s", CACHE_SQL_FUNCTION);
    refuses("SELECT my_func(a) FROM t", "s", CACHE_SQL_FUNCTION);
    refuses("SELECT db.f(a) FROM t", "s", CACHE_SQL_FUNCTION);
    refuses("SELECT `f`(a) FROM t", "s", CACHE_SQL_FUNCTION);
    refuses("SELECT * FROM mysql.user", "s", CACHE_SQL_SYSTEM);
    refuses("SELECT * FROM information_schema.TABLES", "s", CACHE_SQL_SYSTEM);
    refuses("SELECT * FROM t", "performance_schema", CACHE_SQL_SYSTEM);
    refuses("SELECT * FROM t", NULL, CACHE_SQL_NO_SCHEMA);
    refuses("SELECT * FROM t", "", CACHE_SQL_NO_SCHEMA);
    refuses("SELECT 1 + 1", "s", CACHE_SQL_NO_TABLE);
    refuses("SELECT 1 FROM DUAL", "s", CACHE_SQL_NO_TABLE);
    refuses("SELECT SQL_NO_CACHE * FROM t", "s", CACHE_SQL_NOCACHE);
    refuses("SELECT /* halyard:nocache */ * FROM t", "s", CACHE_SQL_NOCACHE);
    refuses("SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 2", "s", CACHE_SQL_FOUND_ROWS);
    refuses("SELECT * FROM t LIMIT 10, 5", "s", CACHE_SQL_FOUND_ROWS);
    refuses("SELECT * FROM t ORDER BY a LIMIT 5 OFFSET 10", "s", CACHE_SQL_FOUND_ROWS);
    /* the words in any case; a name that is one of them, quoted, is a name */
    refuses("select * from t order by a limit 5 oFfSeT 10", "s", CACHE_SQL_FOUND_ROWS);
    refuses("select sql_no_cache * from t", "s", CACHE_SQL_NOCACHE);
    refuses("SELECT Sql_Calc_Found_Rows * FROM t", "s", CACHE_SQL_FOUND_ROWS);
    refuses("SELECT /* HALYARD:NoCache */ * FROM t", "s", CACHE_SQL_NOCACHE);
    refuses("SELECT * FROM t -- halyard:nocachE", "s", CACHE_SQL_NOCACHE);
    accepts("SELECT * FROM t WHERE h = 'halyard:nocach'", "s", "s.t");
    accepts("SELECT `limit`, `offset` FROM `where` LIMIT 1", "s", "s.where");
    accepts("select a from t1 join t2 on x = y straight_join t3 on y = z", "s", "s.t1 s.t2 s.t3");
    accepts("SELECT a FROM t AS x, u Where a = 1", "s", "s.t s.u");
    refuses("SELECT * FROM a,b,c,d,e,f,g,h,i", "s", CACHE_SQL_TOO_MANY);
    refuses("SELECT * FROM t PARTITION (p0)", "s", CACHE_SQL_FUNCTION);
    refuses("SELECT EXTRACT(YEAR FROM d) FROM t", "s", CACHE_SQL_FUNCTION);
    refuses("SELECT TRIM(LEADING 'x' FROM a) FROM t", "s", CACHE_SQL_SUBQUERY);
    refuses("SELECT * FROM", "s", CACHE_SQL_NOT_SELECT);
    refuses("SELECT 'abc FROM t", "s", CACHE_SQL_NOT_SELECT);
    refuses("", "s", CACHE_SQL_NOT_SELECT);
}

/* sql is a point lookup on `col` of values `want` (space-separated). */
static void point(const char *sql, const char *col, const char *want)
{
    struct cache_sql c;
    enum cache_sql_verdict v = run(sql, "db", &c);
    if (v != CACHE_SQL_OK)
        fail_msg("%s: refused (%s)", sql, cache_sql_verdict_str(v));
    if (c.nkeys == 0)
        fail_msg("%s: not a point lookup", sql);
    char got[512] = "";
    for (unsigned i = 0; i < c.nkeys; i++) {
        if (i > 0)
            strcat(got, " ");
        strcat(got, c.key_vals[i]);
    }
    if (strcmp(c.key_col, col) != 0 || strcmp(got, want) != 0)
        fail_msg("%s: %s = %s, want %s = %s", sql, c.key_col, got, col, want);
}

static void not_point(const char *sql)
{
    struct cache_sql c;
    enum cache_sql_verdict v = run(sql, "db", &c);
    if (v != CACHE_SQL_OK)
        fail_msg("%s: refused (%s)", sql, cache_sql_verdict_str(v));
    if (c.nkeys != 0)
        fail_msg("%s: taken for a point lookup on %s", sql, c.key_col);
}

/* Every word MariaDB reads as the clock, the user or the role without
 * parentheses (sqlfunc.c), in either spelling and case, wherever it
 * stands; the same word as a column after `.`, quoted, or in a string or
 * comment is no call. */
static void test_bare_nondeterministic(void **state)
{
    (void)state;
    static const char *const words[] = {
        "CURRENT_DATE",   "CURRENT_TIME", "CURRENT_TIMESTAMP", "LOCALTIME",
        "LOCALTIMESTAMP", "UTC_DATE",     "UTC_TIME",          "UTC_TIMESTAMP",
        "CURRENT_USER",   "CURRENT_ROLE", "SYSDATE",
    };
    static const char *const shapes[] = {
        "SELECT id, %s FROM t WHERE id = 1",
        "SELECT id FROM t WHERE expires > %s",
        "select id from t where id = 1 and d >= %s order by id",
        "SELECT id FROM t ORDER BY %s",
        "SELECT id FROM t GROUP BY id HAVING MAX(at) < %s",
        "SELECT id, %s() FROM t",
        "SELECT id, %s(3) FROM t",
        "SELECT id FROM t WHERE at<%s+0",
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        char lower[32];
        size_t n = strlen(words[i]);
        for (size_t k = 0; k <= n; k++)
            lower[k] =
                (char)(words[i][k] >= 'A' && words[i][k] <= 'Z' ? words[i][k] + 32 : words[i][k]);
        for (size_t j = 0; j < sizeof(shapes) / sizeof(shapes[0]); j++) {
            char sql[256];
            snprintf(sql, sizeof(sql), shapes[j], j % 2 ? lower : words[i]);
            refuses(sql, "s", CACHE_SQL_FUNCTION);
            snprintf(sql, sizeof(sql), shapes[j], j % 2 ? words[i] : lower);
            refuses(sql, "s", CACHE_SQL_FUNCTION);
        }
        char sql[256];
        snprintf(sql, sizeof(sql), "SELECT t.%s, `%s` FROM t WHERE t.%s = '%s' -- %s", lower,
                 words[i], words[i], words[i], words[i]);
        accepts(sql, "s", "s.t");
        snprintf(sql, sizeof(sql), "SELECT x.%s FROM t AS x /* %s */", words[i], words[i]);
        accepts(sql, "s", "s.t");
    }
}

static void test_point_lookups(void **state)
{
    (void)state;
    point("SELECT v FROM t WHERE id = 1", "id", "1");
    point("SELECT v FROM t WHERE id = 1;", "id", "1");
    point("SELECT c FROM sbtest1 WHERE id=4711", "id", "4711");
    point("select v from t where ID = 007", "id", "7");
    point("SELECT v FROM t WHERE id = -0", "id", "0");
    point("SELECT v FROM t WHERE id = - 5", "id", "-5");
    point("SELECT v FROM t AS x WHERE x.id IN (3, 1, 3, -2)", "id", "3 1 -2");
    point("SELECT v FROM db.t WHERE db.t.`id` = 18446744073709551615", "id",
          "18446744073709551615");
    point("SELECT v FROM t WHERE id = -9223372036854775808", "id", "-9223372036854775808");
    point("SELECT v FROM t WHERE a > 3 AND id = 2 AND (b = 1 OR c = 2)", "id", "2");
    point("SELECT v FROM t WHERE id = 2 AND k = 5 ORDER BY v LIMIT 3", "id", "2");
    point("SELECT COUNT(*) FROM t WHERE NOT a AND id IN (1) GROUP BY v HAVING v > 1 OR v < 0", "id",
          "1");
    not_point("SELECT v FROM t");
    not_point("SELECT v FROM t WHERE id = 1 OR id = 2");
    not_point("SELECT v FROM t WHERE a = 1 OR id = 2");
    not_point("SELECT v FROM t WHERE id = 1 XOR a");
    not_point("SELECT v FROM t WHERE id = 1 xor a");
    not_point("SELECT v FROM t WHERE a between 1 AND id = 5");
    not_point("SELECT v FROM t WHERE case when a then 1 else 0 end and id = 5");
    point("SELECT v FROM t WHERE id = 2 and k = 5 group by v", "id", "2");
    not_point("SELECT v FROM t WHERE id = 1 || a");
    not_point("SELECT v FROM t WHERE a BETWEEN 1 AND id = 5");
    not_point("SELECT v FROM t WHERE CASE WHEN a THEN 1 ELSE 0 END AND id = 5");
    not_point("SELECT v FROM t WHERE (id = 1)");
    not_point("SELECT v FROM t WHERE NOT id = 1");
    not_point("SELECT v FROM t WHERE id NOT IN (1, 2)");
    point("SELECT v FROM t WHERE id = '1'", "id", "'1");
    point("SELECT v FROM t WHERE id = 1.0", "id", "1");
    point("SELECT v FROM t WHERE d IN (1.50, -0.0, .5, 0010.010)", "d", "1.5 0 0.5 10.01");
    point("SELECT v FROM t WHERE name = 'AbC' AND x = 1", "name", "'AbC");
    point("SELECT v FROM t WHERE name IN ('a', 'A', 'a')", "name", "'a 'A");
    point("SELECT v FROM t WHERE d = '2020-01-02'", "d", "'2020-01-02");
    point("SELECT v FROM t WHERE id = 18446744073709551616", "id", "18446744073709551616");
    point("SELECT v FROM t WHERE id = -9223372036854775809", "id", "-9223372036854775809");
    not_point("SELECT v FROM t WHERE name = 'a\\'b'");
    not_point("SELECT v FROM t WHERE name = 'a''b'");
    not_point("SELECT v FROM t WHERE name = N'ab'");
    not_point("SELECT v FROM t WHERE name = _latin1'ab'");
    not_point("SELECT v FROM t WHERE name = \"ab\"");
    not_point("SELECT v FROM t WHERE name = 'ab' COLLATE utf8mb4_bin");
    not_point("SELECT v FROM t WHERE name = 'ab' 'cd'");
    not_point("SELECT v FROM t WHERE name = -'1'");
    not_point("SELECT v FROM t WHERE d = 1.0000000000000000000000000000001");
    not_point("SELECT v FROM t WHERE d = "
              "123456789012345678901234567890123456789012345678901234567890123456");
    not_point("SELECT v FROM t WHERE id = 1e0");
    not_point("SELECT v FROM t WHERE id = 0x10");
    not_point("SELECT v FROM t WHERE id = 1 + 1");
    not_point("SELECT v FROM t WHERE id = 1 IS TRUE");
    not_point("SELECT v FROM t WHERE id = 1 = 0");
    not_point("SELECT v FROM t WHERE id IN (1, a)");
    not_point("SELECT v FROM t WHERE 1 = id");
    not_point("SELECT v FROM t a JOIN t b ON a.k = b.k WHERE a.id = 1");
    not_point("SELECT v FROM t, u WHERE t.id = 1");
    not_point("SELECT v FROM t WHERE id = 1 UNION SELECT v FROM t WHERE id = 2");
    not_point("SELECT v FROM t HAVING id = 1");
    not_point("SELECT v FROM t WHERE id IN (1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17)");
    point("SELECT v FROM t WHERE id IN (1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16)", "id",
          "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16");
}

static void written(const char *sql, const char *want)
{
    struct cache_sql c;
    enum cache_sql_verdict v = cache_sql_written(sql, strlen(sql), 0, "db", &c);
    if (want == NULL) {
        if (v == CACHE_SQL_OK)
            fail_msg("%s: taken as a write of %s", sql, c.tables[0]);
        return;
    }
    if (v != CACHE_SQL_OK)
        fail_msg("%s: refused (%s), want %s", sql, cache_sql_verdict_str(v), want);
    assert_int_equal(c.ntables, 1);
    assert_string_equal(c.tables[0], want);
}

static void test_written(void **state)
{
    (void)state;
    written("INSERT INTO t VALUES (1, 'a')", "db.t");
    written("insert ignore into Other.T (a, b) values (1, 2), (3, NOW())", "other.t");
    written("INSERT t SET a = 1 ON DUPLICATE KEY UPDATE a = VALUES(a)", "db.t");
    written("REPLACE INTO `x`.`y`(a) VALUES (1)", "x.y");
    written("UPDATE t SET v = v + 1 WHERE id = 1", "db.t");
    written("UPDATE LOW_PRIORITY o.t AS a SET a.v = 2, a.w = CONCAT(a.w, 'x') WHERE a.id IN (1, 2)",
            "o.t");
    written("DELETE FROM t WHERE id = 3 ORDER BY id LIMIT 1", "db.t");
    written("DELETE QUICK IGNORE FROM o.t", "o.t");
    written("UPDATE t, u SET t.v = 1", NULL);
    written("UPDATE t JOIN u ON t.id = u.id SET t.v = 1", NULL);
    written("DELETE t FROM t JOIN u", NULL);
    written("DELETE FROM t USING t, u", NULL);
    written("DELETE FROM t, u USING t JOIN u", NULL);
    written("INSERT INTO t SELECT * FROM u", NULL);
    written("UPDATE t SET v = (SELECT 1)", NULL);
    written("UPDATE t SET v = f(1)", NULL);
    written("UPDATE t SET v = db.f(1)", NULL);
    written("INSERT INTO t (id, v) VALUES (9, SLEEP(2))", "db.t");
    written("INSERT INTO t (id, v) VALUES (9, db.SLEEP(2))", NULL);
    written("INSERT INTO t VALUES (@x)", NULL);
    written("INSERT INTO t VALUES ('a\\'b')", NULL);
    written("INSERT INTO t VALUES (\"a\")", NULL);
    written("UPDATE t PARTITION (p0) SET v = 1", NULL);
    written("CALL p()", NULL);
    written("CREATE TABLE t (a INT)", NULL);
    written("INSERT INTO t VALUES (1); DELETE FROM u", NULL);
    written("UPDATE v SET", "db.v");
    written("INSERT INTO /*!99999 x */ t VALUES (1)", NULL);
    written("UPDATE t /*M!100000 , u */ SET v = 1", NULL);
    written("UPDATE t /* a comment, u */ SET v = 1 -- and, this", "db.t");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_point_lookups), cmocka_unit_test(test_tables),
        cmocka_unit_test(test_refused),       cmocka_unit_test(test_bare_nondeterministic),
        cmocka_unit_test(test_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
