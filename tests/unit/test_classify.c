/*
 * test_classify.c: the SQL classifier and digest, table-driven.
 *
 * `cases` is query text in, routing decision and flags out (flags compared
 * exactly). The other tables check what a decision carries: hints, USE
 * schema, temporary table names, SET assignments and autocommit values,
 * digests. Every text is copied into a heap buffer of exactly its length
 * (no NUL after it), so ASan catches a read past `len`; every prefix of
 * every case and a few thousand random byte strings are classified too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/sql/classify.h"
#include "halyard/sql/lexer.h"
#include "halyard/sql/sysview.h"

/* ---- helpers ---- */

/* A heap copy of s with no terminator: reading s[len] is an ASan error. */
static char *exact_copy(const char *s, size_t len)
{
    char *p = malloc(len > 0 ? len : 1);
    assert_non_null(p);
    memcpy(p, s, len);
    return p;
}

static void classify_str(const char *sql, unsigned opts, struct classify_result *res)
{
    size_t len = strlen(sql);
    char *copy = exact_copy(sql, len);
    classify(copy, len, opts, res, NULL);
    free(copy);
}

static const char *span_str(const char *sql, struct classify_span sp, char *buf, size_t cap)
{
    size_t n = sp.len < cap - 1 ? sp.len : cap - 1;
    memcpy(buf, sql + sp.off, n);
    buf[n] = '\0';
    return buf;
}

/* ---- routing decisions ---- */

#define EMP  CL_EMPTY
#define RD   CL_READ
#define SES  CL_SESSION
#define PIN  CL_PIN_PRIMARY
#define WR   CL_WRITE
#define TB   CL_TXN_BEGIN
#define TBRO CL_TXN_BEGIN_RO
#define TE   CL_TXN_END
#define TS   CL_TXN_SAVEPOINT

#define UVSET    (CLF_USER_VAR_SET | CLF_USER_VAR_REF)
#define INTO_VAR (CLF_SELECT_INTO | UVSET)

struct classify_case {
    const char *sql;
    enum classify_kind kind;
    uint32_t flags;
};

static const struct classify_case cases[] = {
    /* ---- reads ---- */
    {"SELECT 1", RD, 0},
    {"select 1", RD, 0},
    {"SELECT * FROM t", RD, 0},
    {"  \n\tSELECT 1", RD, 0},
    {"SELECT\tid\nFROM\r\nt", RD, 0},
    {"select * from T where A=1", RD, 0},
    {"SELECT * FROM t WHERE a = 1 AND b IN (1,2,3)", RD, 0},
    {"SELECT COUNT(*) FROM t GROUP BY a HAVING COUNT(*) > 1", RD, 0},
    {"SELECT MAX(id) FROM t", RD, 0},
    {"SELECT * FROM t LIMIT 10 OFFSET 20", RD, 0},
    {"SELECT * FROM information_schema.tables", RD, 0},
    {"SELECT * FROM `db`.`t` AS x JOIN u USING (id)", RD, 0},
    {"SELECT * FROM t1 INNER JOIN t2 ON t1.id = t2.id LEFT JOIN t3 ON t3.x = t2.x", RD, 0},
    {"SELECT * FROM t PARTITION (p0)", RD, 0},
    {"SELECT ROW_NUMBER() OVER (PARTITION BY a ORDER BY b) FROM t", RD, 0},
    {"SELECT * FROM t WINDOW w AS (ORDER BY a)", RD, 0},
    {"SELECT * FROM t WHERE MATCH(a) AGAINST ('x' IN BOOLEAN MODE)", RD, 0},
    {"SELECT CASE WHEN a THEN 'update' ELSE 'delete' END FROM t", RD, 0},
    {"SELECT JSON_EXTRACT(doc, '$.a') FROM t", RD, 0},
    {"SELECT a->>'$.b', a->'$.c' FROM t", RD, 0},
    {"SELECT INTERVAL 1 DAY + NOW()", RD, 0},
    {"SELECT SQL_CALC_FOUND_ROWS * FROM t LIMIT 1", RD, 0},
    {"SELECT * FROM t WHERE a IN (SELECT b FROM u)", RD, 0},
    {"SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.id = t.id)", RD, 0},
    {"SELECT * FROM (SELECT a FROM t) AS d", RD, 0},
    {"SELECT a FROM t UNION SELECT b FROM u", RD, 0},
    {"SELECT a FROM t UNION ALL SELECT b FROM u EXCEPT SELECT c FROM v", RD, 0},
    {"SELECT 1 INTERSECT SELECT 1", RD, 0},
    /* leading parentheses, comments, whitespace */
    {"(SELECT 1)", RD, 0},
    {"((SELECT a FROM t)) UNION (SELECT b FROM u)", RD, 0},
    {"(SELECT 1) UNION ALL (SELECT 2) ORDER BY 1", RD, 0},
    {"/* leading */ SELECT 1", RD, 0},
    {"/* a */ /* b */ SELECT 1", RD, 0},
    {"-- comment\nSELECT 1", RD, 0},
    {"--\tcomment\nSELECT 1", RD, 0},
    {"--\nSELECT 1", RD, 0},
    {"# comment\nSELECT 1", RD, 0},
    {"/* multi\nline */\n\n  SELECT 1", RD, 0},
    /* keywords inside strings, quoted names and comments */
    {"SELECT 'DELETE FROM t'", RD, 0},
    {"SELECT \"UPDATE t SET a=1\"", RD, 0},
    {"SELECT /* UPDATE */ 1", RD, 0},
    {"SELECT /* ; DELETE FROM t; */ 1", RD, 0},
    {"SELECT 1 -- DELETE FROM t", RD, 0},
    {"SELECT 1 # DROP TABLE t", RD, 0},
    {"SELECT 1 -- ; DROP TABLE t", RD, 0},
    {"SELECT \"a;b\"; ", RD, 0},
    {"SELECT 'a;DELETE FROM t'", RD, 0},
    {"SELECT 'it''s; DROP TABLE x'", RD, 0},
    {"SELECT \"say \"\"hi\"\"; DROP TABLE x\"", RD, 0},
    {"SELECT 'a\\'; DELETE FROM t; SELECT \\''", RD, 0},
    {"SELECT 'ab\\\\'", RD, 0},
    {"SELECT * FROM t WHERE c = '\\\\' AND d = 'x'", RD, 0},
    {"SELECT * FROM t WHERE name = 'O\\'Reilly'", RD, 0},
    {"SELECT * FROM t WHERE name = \"say \\\"hi\\\"\"", RD, 0},
    {"SELECT `select`, `from``x` FROM `t;1`", RD, 0},
    {"SELECT * FROM `delete`", RD, 0},
    {"SELECT 1 AS `for`, 2 AS `update`", RD, 0},
    {"SELECT * FROM t WHERE `for` = 1 AND `update` = 2", RD, 0},
    {"SELECT 'for update'", RD, 0},
    {"SELECT * FROM t /* FOR UPDATE */", RD, 0},
    {"SELECT * FROM t -- FOR UPDATE", RD, 0},
    {"SELECT * FROM t # LOCK IN SHARE MODE", RD, 0},
    {"SELECT 'x' /* INTO @x */ FROM t", RD, 0},
    {"SELECT 'LAST_INSERT_ID()'", RD, 0},
    {"SELECT '@x := 1'", RD, 0},
    /* names that only look like the dangerous ones */
    {"SELECT last_insert_id FROM t", RD, 0},
    {"SELECT found_rows, row_count FROM stats", RD, 0},
    {"SELECT get_lock FROM t", RD, 0},
    {"SELECT nextval_col FROM t", RD, 0},
    {"SELECT into_count FROM t", RD, 0},
    {"SELECT * FROM t ORDER BY update_time", RD, 0},
    {"SELECT share FROM t", RD, 0},
    {"SELECT next, value FROM t", RD, 0},
    {"SELECT `LAST_INSERT_ID`", RD, 0},
    {"SELECT * FROM t FOR SYSTEM_TIME AS OF '2020-01-01'", RD, 0},
    /* variables read, not set */
    {"SELECT @a = 1", RD, CLF_USER_VAR_REF},
    {"SELECT @a", RD, CLF_USER_VAR_REF},
    {"SELECT * FROM t WHERE id = @id", RD, CLF_USER_VAR_REF},
    {"SELECT @`quoted var`", RD, CLF_USER_VAR_REF},
    {"SELECT @'x', @\"y\"", RD, CLF_USER_VAR_REF},
    {"SELECT @a.b", RD, CLF_USER_VAR_REF},
    {"SELECT @@version", RD, 0},
    {"SELECT @@session.sql_mode, @@global.read_only", RD, 0},
    {"SELECT @@warning_count", RD, CLF_PREV_STMT | CLF_DIAG},
    {"SELECT @@error_count", RD, CLF_PREV_STMT | CLF_DIAG},
    /* functions that do not pin (see classify.h) */
    {"SELECT SLEEP(1)", RD, 0},
    {"SELECT BENCHMARK(10, MD5('a'))", RD, 0},
    {"SELECT MASTER_GTID_WAIT('0-1-100', 1)", RD, 0},
    {"SELECT MASTER_POS_WAIT('bin.000001', 4)", RD, 0},
    {"SELECT NOW(), UUID(), RAND()", RD, 0},
    {"SELECT REPLACE(a, 'x', 'y') FROM t", RD, 0},
    {"SELECT INSERT('abc', 1, 1, 'x')", RD, 0},
    {"SELECT IF(a, 1, 2), LEFT(b, 3), CHAR(65) FROM t", RD, 0},
    {"SELECT DATABASE(), USER(), VERSION()", RD, 0},
    /* literals of every kind */
    {"SELECT * FROM t WHERE a = ?", RD, 0},
    {"SELECT ?, ?, ?", RD, 0},
    {"SELECT x'1F', b'01', 0x1F, 0b01, N'abc', _utf8mb4'abc' COLLATE utf8mb4_bin", RD, 0},
    {"SELECT X'1f', B'1', n\"abc\", _binary\"x\"", RD, 0},
    {"SELECT 1e10, 1.5E-3, .5, 5., 1e+3", RD, 0},
    {"SELECT 1abc FROM 2t", RD, 0},
    {"SELECT 'a' 'b' 'c'", RD, 0},
    {"SELECT 1 FROM dual WHERE 'a' LIKE 'b%' ESCAPE '\\\\'", RD, 0},
    /* other reads */
    {"SHOW TABLES", RD, 0},
    {"SHOW DATABASES", RD, 0},
    {"show full processlist", RD, 0},
    {"SHOW GLOBAL STATUS LIKE 'Threads%'", RD, 0},
    {"SHOW SESSION VARIABLES", RD, 0},
    {"SHOW CREATE TABLE t", RD, 0},
    {"SHOW COLUMNS FROM t FROM db", RD, 0},
    {"SHOW INDEX FROM t", RD, 0},
    {"SHOW SLAVE STATUS", RD, 0},
    {"SHOW ENGINE INNODB STATUS", RD, 0},
    {"SHOW GRANTS FOR CURRENT_USER()", RD, 0},
    {"SHOW WARNINGS", RD, CLF_PREV_STMT | CLF_DIAG},
    {"show errors limit 10", RD, CLF_PREV_STMT | CLF_DIAG},
    {"SHOW COUNT(*) WARNINGS", RD, CLF_PREV_STMT | CLF_DIAG},
    {"GET DIAGNOSTICS @n = NUMBER", RD, CLF_PREV_STMT | CLF_USER_VAR_REF | CLF_DIAG},
    {"DESCRIBE t", RD, 0},
    {"DESC t", RD, 0},
    {"desc t col", RD, 0},
    {"EXPLAIN t", RD, 0},
    {"EXPLAIN SELECT * FROM t", RD, 0},
    {"EXPLAIN EXTENDED SELECT 1", RD, 0},
    {"EXPLAIN PARTITIONS SELECT 1", RD, 0},
    {"EXPLAIN FORMAT=JSON SELECT * FROM t", RD, 0},
    {"EXPLAIN FORMAT = JSON SELECT 1", RD, 0},
    {"EXPLAIN (SELECT 1) UNION (SELECT 2)", RD, 0},
    {"EXPLAIN FOR CONNECTION 12", RD, 0},
    {"DESCRIBE SELECT 1", RD, 0},
    {"ANALYZE SELECT * FROM t", RD, 0},
    {"ANALYZE FORMAT=JSON SELECT 1", RD, 0},
    {"DO 1", RD, 0},
    {"DO SLEEP(1)", RD, 0},
    {"DO 1 + 1, 2", RD, 0},
    {"VALUES (1, 2), (3, 4)", RD, 0},
    {"TABLE t", RD, 0},
    {"TABLE t ORDER BY a LIMIT 2", RD, 0},
    {"CHECK TABLE t", RD, 0},
    {"CHECKSUM TABLE t", RD, 0},
    {"HELP 'SELECT'", RD, 0},
    /* WITH ... SELECT */
    {"WITH c AS (SELECT 1) SELECT * FROM c", RD, 0},
    {"with c as (select 1) select * from c", RD, 0},
    {"WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5) SELECT * FROM c",
     RD, 0},
    {"WITH a AS (SELECT 1), b AS (SELECT 2) SELECT * FROM a, b", RD, 0},
    {"WITH c (x, y) AS (SELECT 1, 2) SELECT x FROM c", RD, 0},
    /* Stored functions may write: the server takes any name it does not
     * know as built in for one (sqlfunc.c). */
    {"SELECT f1(), f2()", WR, CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE},
    {"SELECT a FROM t WHERE b = audit_and_get(3)", WR, CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE},
    {"SELECT db.f(1)", WR, CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE},
    {"SELECT app.concat('a', 'b')", WR, CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE},
    {"SELECT a FROM t WHERE b = app.`lower`(c)", WR, CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE},
    {"SELECT `f`(1)", WR, CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE},
    {"WITH c AS (SELECT bump() AS n) SELECT n FROM c", WR, CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE},
    {"WITH c (n) AS (SELECT 1) SELECT bump(n) FROM c", WR, CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE},
    {"select Concat_WS(',', a, b), json_extract(j, '$.a'), IF(a, 1, 2), Group_Concat(a) from t", RD,
     0},
    {"SELECT REGEXP_REPLACE(a, 'x', 'y'), DATE_FORMAT(NOW(), '%Y'), UUID_SHORT() FROM t", RD, 0},
    {"SELECT COUNT(*), ROW_NUMBER() OVER (ORDER BY a) FROM t", RD, 0},
    {"WITH c AS (SELECT 1) (SELECT * FROM c)", RD, 0},
    {"WITH c AS (SELECT 'UPDATE') SELECT * FROM c", RD, 0},
    {"WITH c AS (SELECT (1)) SELECT * FROM c", RD, 0},
    {"WITH c AS (SELECT 1 AS `delete`) SELECT `delete` FROM c", RD, 0},
    {"WITH RECURSIVE c AS (SELECT 1) CYCLE a RESTRICT SELECT * FROM c", RD, 0},
    {"(WITH c AS (SELECT 1) SELECT * FROM c)", RD, 0},
    /* executable comments are SQL */
    {"/*!40101 SELECT 1 */", RD, 0},
    {"/*!SELECT 1*/", RD, 0},
    {"/*M!100100 SELECT 1 */", RD, 0},
    {"/*M! SELECT 1 */", RD, 0},
    {"SELECT /*! STRAIGHT_JOIN */ a FROM t", RD, 0},
    {"SELECT 1 /*!50000 , 2 */", RD, 0},
    {"SELECT /*+ MAX_EXECUTION_TIME(1000) */ * FROM t", RD, 0},
    {"/*!50100 SELECT /* inner */ 1 */", RD, 0},
    /* trailing and empty statements */
    {"SELECT 1;", RD, 0},
    {"SELECT 1;;", RD, 0},
    {";SELECT 1", RD, 0},
    {"SELECT 1 ; -- trailing comment", RD, 0},
    {"SELECT 1; /* just a comment */", RD, 0},
    {"SELECT 1; SELECT 2", RD, CLF_MULTI},
    {"SELECT 1; SELECT 2; SHOW TABLES;", RD, CLF_MULTI},
    {"SELECT 'a;b'; SELECT \"c;d\"", RD, CLF_MULTI},

    /* ---- pinned to the primary ---- */
    {"SELECT * FROM t FOR UPDATE", PIN, CLF_LOCKING_READ},
    {"select * from t for update", PIN, CLF_LOCKING_READ},
    {"SELECT * FROM t\nFOR\n\tUPDATE", PIN, CLF_LOCKING_READ},
    {"SELECT * FROM t FOR /* c */ UPDATE", PIN, CLF_LOCKING_READ},
    {"SELECT * FROM t fOr UpDaTe", PIN, CLF_LOCKING_READ},
    {"SELECT * FROM t FOR UPDATE NOWAIT", PIN, CLF_LOCKING_READ},
    {"SELECT * FROM t FOR UPDATE SKIP LOCKED", PIN, CLF_LOCKING_READ},
    {"SELECT * FROM t FOR UPDATE WAIT 5", PIN, CLF_LOCKING_READ},
    {"SELECT * FROM t FOR SHARE", PIN, CLF_LOCKING_READ},
    {"SELECT * FROM t LOCK IN SHARE MODE", PIN, CLF_LOCKING_READ},
    {"select * from t lock   in\nshare mode", PIN, CLF_LOCKING_READ},
    {"(SELECT * FROM t FOR UPDATE)", PIN, CLF_LOCKING_READ},
    {"SELECT * FROM t WHERE id IN (SELECT id FROM u FOR UPDATE)", PIN, CLF_LOCKING_READ},
    {"WITH c AS (SELECT 1) SELECT * FROM c FOR UPDATE", PIN, CLF_LOCKING_READ},
    {"SELECT * FROM t WHERE a = 'LOCK IN SHARE MODE' FOR UPDATE", PIN, CLF_LOCKING_READ},
    {"SELECT 1 /*!99999 FOR UPDATE */", PIN, CLF_LOCKING_READ},
    {"SELECT @a := 1", PIN, UVSET},
    {"SELECT @a:=1", PIN, UVSET},
    {"SELECT@a:=1", PIN, UVSET},
    {"SELECT @a := @a + 1 FROM t", PIN, UVSET},
    {"SELECT (@x := id) FROM t", PIN, UVSET},
    {"DO @x := 1", PIN, UVSET},
    {"SELECT id INTO @x FROM t", PIN, INTO_VAR},
    {"SELECT id FROM t INTO @x", PIN, INTO_VAR},
    {"SELECT a, b INTO @x, @y FROM t LIMIT 1", PIN, INTO_VAR},
    {"SELECT 1 INTO @`x`", PIN, INTO_VAR},
    {"SELECT 1 into @x", PIN, INTO_VAR},
    {"SELECT LAST_INSERT_ID()", PIN, CLF_LAST_INSERT_ID},
    {"select last_insert_id()", PIN, CLF_LAST_INSERT_ID},
    {"SELECT last_insert_id ()", PIN, CLF_LAST_INSERT_ID},
    {"SELECT LAST_INSERT_ID(5)", PIN, CLF_LAST_INSERT_ID},
    {"SELECT * FROM t WHERE id = LAST_INSERT_ID()", PIN, CLF_LAST_INSERT_ID},
    {"SELECT @@identity", PIN, CLF_LAST_INSERT_ID},
    {"SELECT @@IDENTITY", PIN, CLF_LAST_INSERT_ID},
    {"SELECT @@last_insert_id", PIN, CLF_LAST_INSERT_ID},
    {"SELECT @@session.insert_id", PIN, CLF_LAST_INSERT_ID},
    {"SELECT @@last_gtid", PIN, 0},
    {"SELECT FOUND_ROWS()", RD, CLF_PREV_STMT}, /* where the previous statement ran */
    {"SELECT ROW_COUNT()", RD, CLF_PREV_STMT},
    {"SELECT CONNECTION_ID()", RD, 0},
    {"SELECT GET_LOCK('a', 10)", PIN, CLF_USER_LOCK},
    {"SELECT RELEASE_LOCK('a')", PIN, CLF_USER_LOCK},
    {"SELECT RELEASE_ALL_LOCKS()", PIN, CLF_USER_LOCK},
    {"SELECT IS_FREE_LOCK('a')", PIN, CLF_USER_LOCK},
    {"SELECT IS_USED_LOCK('a')", PIN, CLF_USER_LOCK},
    {"select get_lock('a', 0) as l", PIN, CLF_USER_LOCK},
    {"DO GET_LOCK('a', 1)", PIN, CLF_USER_LOCK},
    {"DO RELEASE_LOCK('a')", PIN, CLF_USER_LOCK},
    {"SELECT LASTVAL(s)", PIN, CLF_SEQUENCE},
    {"SELECT PREVIOUS VALUE FOR s", PIN, CLF_SEQUENCE},
    {"SELECT s.currval", PIN, CLF_SEQUENCE},
    {"/*!40101 SELECT GET_LOCK('x', 0) */", PIN, CLF_USER_LOCK},
    {"SELECT 1 /*!, (SELECT GET_LOCK('a', 1)) */", PIN, CLF_USER_LOCK},
    {"SELECT 1; SELECT LAST_INSERT_ID()", PIN, CLF_MULTI | CLF_LAST_INSERT_ID},
    {"SELECT 1; SET @x = 1", PIN, CLF_MULTI | UVSET},
    {"LOCK TABLES t READ", PIN, CLF_LOCK_TABLES},
    {"LOCK TABLE t WRITE, u READ", PIN, CLF_LOCK_TABLES},
    {"lock tables t as a read local", PIN, CLF_LOCK_TABLES},
    {"UNLOCK TABLES", PIN, CLF_UNLOCK_TABLES},
    {"unlock table", PIN, CLF_UNLOCK_TABLES},
    {"HANDLER t OPEN", PIN, 0},
    {"HANDLER t READ FIRST", PIN, 0},
    {"HANDLER t READ idx NEXT WHERE a > 1", PIN, 0},
    {"HANDLER t CLOSE", PIN, 0},
    {"XA RECOVER", PIN, CLF_XA},
    {"SHOW MASTER STATUS", PIN, 0},
    {"SHOW BINLOG STATUS", PIN, 0},
    {"SHOW BINARY LOGS", PIN, 0},
    {"SHOW MASTER LOGS", PIN, 0},
    {"SHOW BINLOG EVENTS", PIN, 0},
    {"SET @x = 1", PIN, UVSET},
    {"SET @x := 1", PIN, UVSET},
    {"SET @x = 1, @y = 2", PIN, UVSET},
    {"SET @`my var` = 'a'", PIN, UVSET},
    {"SET @x = (SELECT MAX(id) FROM t)", PIN, UVSET},
    {"SET @x = LAST_INSERT_ID()", PIN, UVSET | CLF_LAST_INSERT_ID},
    {"SET @x = @y + 1", PIN, UVSET},
    {"/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */", PIN, UVSET},
    {"SET SESSION autocommit = 0, @x = 1", PIN, CLF_AUTOCOMMIT | UVSET},

    /* ---- writes ---- */
    {"INSERT INTO t VALUES (1)", WR, 0},
    {"insert into t (a, b) values (1, 'x'), (2, 'y')", WR, 0},
    {"INSERT INTO t SET a = 1", WR, 0},
    {"INSERT IGNORE INTO t SELECT * FROM u", WR, 0},
    {"INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = VALUES(a)", WR, 0},
    {"INSERT INTO t VALUES (1) RETURNING id", WR, 0},
    {"REPLACE INTO t VALUES (1)", WR, 0},
    /* a stored function called from a write: it may write elsewhere, use
     * NOW() or RAND(): not replayable (issue 41, item 8); a table's column
     * or partition list is no call */
    {"INSERT INTO t VALUES (f())", WR, CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE},
    {"INSERT INTO t (a) VALUES (app.next_id())", WR, CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE},
    {"UPDATE t SET x = f(x) WHERE id = 1", WR, CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE},
    {"DELETE FROM t WHERE id = `pick`()", WR, CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE},
    {"INSERT INTO t SELECT bump(a) FROM u", WR, CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE},
    {"INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = f(a)", WR,
     CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE},
    {"INSERT INTO t(a, b) VALUES (1, 2)", WR, 0},
    {"INSERT INTO db.t (a, b) VALUES (1, 2)", WR, 0},
    {"INSERT INTO `db`.`t` (a) VALUES (CONCAT('a', 'b'))", WR, 0},
    {"REPLACE t (a) VALUES (1)", WR, 0},
    {"INSERT INTO t PARTITION (p0) (a) VALUES (1)", WR, 0},
    {"INSERT LOW_PRIORITY IGNORE INTO t (a) SELECT a FROM u", WR, 0},
    {"UPDATE t SET a = CONCAT(a, 'x'), b = IFNULL(b, 0)", WR, 0},
    /* a schema-qualified function named like a built-in is a stored one */
    {"INSERT INTO t VALUES (app.concat('a', 'b'))", WR, CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE},
    {"UPDATE t SET a = app.replace(a, 'x', 'y')", WR, CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE},
    {"UPDATE t SET a = 1 WHERE id = 2", WR, 0},
    {"update t set a = a + 1", WR, 0},
    {"UPDATE t SET a = 'SELECT'", WR, 0},
    {"  \n UPDATE t SET a = 1", WR, 0},
    {"/* SELECT */ UPDATE t SET a = 1", WR, 0},
    {"-- SELECT\nDELETE FROM t", WR, 0},
    {"# SELECT\nDELETE FROM t", WR, 0},
    {"(UPDATE t SET a = 1)", WR, 0},
    {"DELETE FROM t WHERE id = 1", WR, 0},
    {"DELETE t1 FROM t1 JOIN t2 USING (id)", WR, 0},
    {"DELETE FROM t RETURNING *", WR, 0},
    {"LOAD DATA INFILE '/tmp/x' INTO TABLE t", WR, 0},
    {"LOAD DATA LOCAL INFILE 'x.csv' INTO TABLE t FIELDS TERMINATED BY ','", WR, 0},
    {"LOAD XML INFILE 'x.xml' INTO TABLE t", WR, 0},
    {"CREATE TABLE t (id INT PRIMARY KEY)", WR, 0},
    {"CREATE TABLE t AS SELECT * FROM u", WR, 0},
    {"CREATE DATABASE d", WR, 0},
    {"CREATE OR REPLACE VIEW v AS SELECT 1", WR, 0},
    {"CREATE INDEX i ON t (a)", WR, 0},
    {"CREATE USER 'u'@'%' IDENTIFIED BY 'p'", WR, 0},
    {"CREATE SEQUENCE s START WITH 1", WR, 0},
    {"CREATE TEMPORARY SEQUENCE s", WR, CLF_TEMP_TABLE_CREATED}, /* it hides a table too */
    {"CREATE DEFINER = CURRENT_USER PROCEDURE p() SELECT 1", WR, 0},
    {"CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1", WR, 0},
    {"CREATE TEMPORARY TABLE tmp1 (id INT)", WR, CLF_TEMP_TABLE_CREATED},
    {"create temporary table if not exists `tmp 2` like t", WR, CLF_TEMP_TABLE_CREATED},
    {"CREATE OR REPLACE TEMPORARY TABLE db.tmp3 AS SELECT 1", WR, CLF_TEMP_TABLE_CREATED},
    {"ALTER TABLE t ADD COLUMN c INT", WR, 0},
    {"ALTER TABLE t ENGINE = InnoDB", WR, 0},
    {"DROP TABLE t", WR, CLF_TABLE_DROPPED},
    {"DROP TABLE IF EXISTS t, u", WR, CLF_TABLE_DROPPED},
    {"DROP TEMPORARY TABLE IF EXISTS tmp1", WR, CLF_TABLE_DROPPED},
    {"DROP DATABASE d", WR, 0},
    {"DROP VIEW v", WR, 0},
    {"DROP PREPARE s", WR, 0},
    {"RENAME TABLE a TO b", WR, 0},
    {"TRUNCATE TABLE t", WR, 0},
    {"TRUNCATE t", WR, 0},
    {"GRANT SELECT ON db.* TO 'u'@'%'", WR, 0},
    {"REVOKE ALL ON *.* FROM 'u'", WR, 0},
    {"CALL p()", WR, CLF_UVARS_OPAQUE},
    {"CALL p", WR, CLF_UVARS_OPAQUE},
    {"call db.proc(1, @out)", WR, CLF_USER_VAR_REF | CLF_UVARS_OPAQUE},
    {"FLUSH TABLES", WR, 0},
    {"FLUSH TABLES WITH READ LOCK", WR, 0},
    {"FLUSH PRIVILEGES", WR, 0},
    {"ANALYZE TABLE t", WR, 0},
    {"ANALYZE NO_WRITE_TO_BINLOG TABLE t", WR, 0},
    {"ANALYZE LOCAL TABLE t", WR, 0},
    {"OPTIMIZE TABLE t", WR, 0},
    {"REPAIR TABLE t", WR, 0},
    {"ANALYZE UPDATE t SET a = 1", WR, 0},
    {"ANALYZE DELETE FROM t", WR, 0},
    {"EXPLAIN UPDATE t SET a = 1", WR, 0},
    {"EXPLAIN DELETE FROM t WHERE a = 1", WR, 0},
    {"EXPLAIN INSERT INTO t VALUES (1)", WR, 0},
    {"EXPLAIN REPLACE INTO t VALUES (1)", WR, 0},
    {"DESCRIBE UPDATE t SET a = 1", WR, 0},
    {"EXPLAIN FORMAT=JSON DELETE FROM t", WR, 0},
    {"EXPLAIN ANALYZE UPDATE t SET a = 1", WR, 0},
    {"KILL 12", WR, 0},
    {"KILL QUERY 12", WR, 0},
    {"KILL CONNECTION 12", WR, 0},
    {"SELECT NEXTVAL(s)", WR, CLF_SEQUENCE},
    {"select nextval(s)", WR, CLF_SEQUENCE},
    {"SELECT NEXT VALUE FOR s", WR, CLF_SEQUENCE},
    {"SELECT next value for db.s", WR, CLF_SEQUENCE},
    {"SELECT SETVAL(s, 10)", WR, CLF_SEQUENCE},
    {"SELECT s.nextval", WR, CLF_SEQUENCE},
    {"INSERT INTO t VALUES (NEXT VALUE FOR s)", WR, CLF_SEQUENCE},
    {"DO NEXTVAL(s)", WR, CLF_SEQUENCE},
    {"SELECT /*M!100000 NEXTVAL(s), */ 1", WR, CLF_SEQUENCE},
    {"SELECT * FROM t INTO OUTFILE '/tmp/x'", WR, CLF_SELECT_INTO},
    {"SELECT * INTO OUTFILE '/tmp/x' FROM t", WR, CLF_SELECT_INTO},
    {"SELECT a INTO DUMPFILE '/tmp/y' FROM t", WR, CLF_SELECT_INTO},
    {"UPDATE t SET a = LAST_INSERT_ID(a + 1)", WR, CLF_LAST_INSERT_ID},
    {"INSERT INTO t VALUES (GET_LOCK('x', 1))", WR, CLF_USER_LOCK},
    /* WITH before a write */
    {"WITH c AS (SELECT 1) UPDATE t SET a = 1", WR, 0},
    {"WITH c AS (SELECT 1) DELETE FROM t", WR, 0},
    {"WITH c AS (SELECT 1) INSERT INTO t SELECT * FROM c", WR, 0},
    {"WITH RECURSIVE c (n) AS (SELECT 1) REPLACE INTO t SELECT * FROM c", WR, 0},
    {"WITH c AS (SELECT 'SELECT') UPDATE t SET a = (SELECT * FROM c)", WR, 0},
    {"WITH a AS (SELECT 1), b AS (SELECT (2)) DELETE FROM t", WR, 0},
    {"WITH c AS (SELECT 1)", WR, 0},
    {"WITH", WR, 0},
    {"WITH c AS SELECT 1", WR, 0},
    /* prepared statements in SQL: the text is unknown */
    {"PREPARE s FROM 'SELECT 1'", WR, 0},
    {"EXECUTE s", WR, CLF_UVARS_OPAQUE | CLF_STATE_OPAQUE},
    {"EXECUTE s USING @a", WR, CLF_USER_VAR_REF | CLF_UVARS_OPAQUE | CLF_STATE_OPAQUE},
    {"DEALLOCATE PREPARE s", WR, 0},
    /* global and privilege changes */
    {"SET GLOBAL max_connections = 100", WR, CLF_SET_GLOBAL},
    {"SET @@global.read_only = 1", WR, CLF_SET_GLOBAL},
    {"SET PERSIST x = 1", WR, CLF_SET_GLOBAL},
    {"SET GLOBAL autocommit = 0", WR, CLF_SET_GLOBAL},
    {"SET GLOBAL a = 1, b = 2", WR, CLF_SET_GLOBAL},
    {"SET a = 1, GLOBAL b = 2", WR, CLF_SET_GLOBAL},
    {"SET @@global.a = 1, @@session.b = 2", WR, CLF_SET_GLOBAL},
    {"SET GLOBAL TRANSACTION ISOLATION LEVEL READ COMMITTED", WR, CLF_SET_GLOBAL},
    {"SET PASSWORD = PASSWORD('x')", WR, 0},
    {"SET PASSWORD FOR 'u'@'%' = 'x'", WR, 0},
    {"SET PASSWORD FOR u@localhost = 'x'", WR, 0},
    {"GRANT ALL ON *.* TO `u`@`%`", WR, 0},
    {"DROP USER 'u'@'%', \"v\"@localhost", WR, 0},
    {"SET DEFAULT ROLE r FOR u", WR, 0},
    /* SET STATEMENT ... FOR: the inner statement decides */
    {"SET STATEMENT max_statement_time = 1 FOR UPDATE t SET a = 1", WR, CLF_SET_STATEMENT},
    {"SET STATEMENT a = 1, b = 'x' FOR INSERT INTO t VALUES (1)", WR, CLF_SET_STATEMENT},
    {"SET STATEMENT a = 1 FOR", WR, CLF_SET_STATEMENT},
    {"SET STATEMENT a = 1", WR, CLF_SET_STATEMENT},
    /* replication and server administration */
    {"XA END 'x'", WR, CLF_XA},
    {"XA PREPARE 'x'", WR, CLF_XA},
    {"START SLAVE", WR, 0},
    {"STOP SLAVE", WR, 0},
    {"START REPLICA", WR, 0},
    {"CHANGE MASTER TO MASTER_HOST = 'h'", WR, 0},
    {"RESET MASTER", WR, 0},
    {"PURGE BINARY LOGS TO 'b.000002'", WR, 0},
    {"INSTALL SONAME 'x'", WR, 0},
    {"SHUTDOWN", WR, 0},
    {"BINLOG 'abc'", WR, 0},
    {"CACHE INDEX t IN c", WR, 0},
    {"BACKUP STAGE START", WR, 0},
    {"/*!40000 ALTER TABLE t DISABLE KEYS */", WR, 0},
    {"/*!50100 CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO DELETE FROM t */", WR, 0},
    {"/*M!100100 INSERT INTO t VALUES (1) */", WR, 0},
    /* several statements, not all reads */
    {"SELECT 1; DELETE FROM t", WR, CLF_MULTI},
    {"DELETE FROM t; SELECT 1", WR, CLF_MULTI},
    {"INSERT INTO t VALUES ('a;b'); SELECT 1", WR, CLF_MULTI},
    {"BEGIN; INSERT INTO t VALUES (1); COMMIT", WR, CLF_MULTI},
    {"COMMIT; BEGIN", WR, CLF_MULTI},
    {"SET NAMES utf8; SELECT 1", WR, CLF_MULTI | CLF_SET_NAMES},
    {"BEGIN NOT ATOMIC SELECT 1; END", WR, CLF_MULTI | CLF_UVARS_OPAQUE | CLF_STATE_OPAQUE},
    {"IF 1 THEN SELECT 1; END IF", WR, CLF_MULTI},
    /* unknown or garbage: conservative */
    {"FOO BAR", WR, 0},
    {"foo", WR, 0},
    {"123", WR, 0},
    {"'abc'", WR, 0},
    {"?", WR, 0},
    {"(", WR, 0},
    {"()", WR, 0},
    {")", WR, 0},
    {"@x", WR, 0},
    {"*/", WR, 0},
    {"SIGNAL SQLSTATE '45000'", WR, 0},
    {"/*! halyard: primary */", WR, 0},

    /* ---- transactions ---- */
    {"BEGIN", TB, 0},
    {"begin work", TB, 0},
    {"BEGIN;", TB, 0},
    {"START TRANSACTION", TB, 0},
    {"START TRANSACTION READ WRITE", TB, 0},
    {"START TRANSACTION WITH CONSISTENT SNAPSHOT", TB, 0},
    {"START TRANSACTION READ ONLY", TBRO, CLF_TXN_READ_ONLY},
    {"start transaction read only, with consistent snapshot", TBRO, CLF_TXN_READ_ONLY},
    {"START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", TBRO, CLF_TXN_READ_ONLY},
    {"/*!START TRANSACTION READ ONLY*/", TBRO, CLF_TXN_READ_ONLY},
    {"XA START 'x'", TB, CLF_XA},
    {"XA BEGIN 'x'", TB, CLF_XA},
    {"COMMIT", TE, 0},
    {"commit work", TE, 0},
    {"COMMIT AND CHAIN", TE, CLF_TXN_CHAIN},
    {"COMMIT AND NO CHAIN", TE, 0},
    {"COMMIT WORK AND CHAIN NO RELEASE", TE, CLF_TXN_CHAIN},
    {"COMMIT RELEASE", TE, 0},
    {"ROLLBACK", TE, 0},
    {"ROLLBACK WORK", TE, 0},
    {"ROLLBACK AND CHAIN", TE, CLF_TXN_CHAIN},
    {"XA COMMIT 'x'", TE, CLF_XA},
    {"XA COMMIT 'x' ONE PHASE", TE, CLF_XA},
    {"XA ROLLBACK 'x'", TE, CLF_XA},
    {"ROLLBACK TO SAVEPOINT x", TS, 0},
    {"ROLLBACK TO x", TS, 0},
    {"ROLLBACK WORK TO SAVEPOINT `sp 1`", TS, 0},
    {"SAVEPOINT x", TS, 0},
    {"RELEASE SAVEPOINT x", TS, 0},

    /* ---- session state ---- */
    {"USE db", SES, CLF_USE},
    {"use `my db`", SES, CLF_USE},
    {"USE `a``b`", SES, CLF_USE},
    {"USE db;", SES, CLF_USE},
    {"/* hi */ USE db", SES, CLF_USE},
    {"USE", SES, 0},
    {"SET NAMES utf8mb4", SES, CLF_SET_NAMES},
    {"SET NAMES 'utf8mb4' COLLATE 'utf8mb4_unicode_ci'", SES, CLF_SET_NAMES},
    {"set names default", SES, CLF_SET_NAMES},
    {"SET CHARACTER SET utf8", SES, CLF_SET_NAMES},
    {"SET CHARSET latin1", SES, CLF_SET_NAMES},
    {"/*!40101 SET NAMES utf8 */", SES, CLF_SET_NAMES},
    {"/*!40101 SET NAMES utf8mb4 */;", SES, CLF_SET_NAMES},
    {"SET autocommit = 0", SES, CLF_AUTOCOMMIT},
    {"SET autocommit=1", SES, CLF_AUTOCOMMIT},
    {"set AUTOCOMMIT = ON", SES, CLF_AUTOCOMMIT},
    {"SET SESSION autocommit = 0", SES, CLF_AUTOCOMMIT},
    {"SET @@autocommit = 0", SES, CLF_AUTOCOMMIT},
    {"SET @@session.autocommit = 1", SES, CLF_AUTOCOMMIT},
    {"SET LOCAL autocommit = 1", SES, CLF_AUTOCOMMIT},
    {"SET `autocommit` = 0", SES, CLF_AUTOCOMMIT},
    {"SET autocommit = @x", SES, CLF_AUTOCOMMIT | CLF_USER_VAR_REF},
    {"SET SESSION sql_mode = 'STRICT_TRANS_TABLES'", SES, 0},
    {"SET sql_mode = CONCAT(@@sql_mode, ',ANSI')", SES, 0},
    {"SET @@session.time_zone = '+00:00'", SES, 0},
    {"SET time_zone = 'UTC', sql_mode = ''", SES, 0},
    {"SET SESSION wait_timeout = 28800", SES, 0},
    {"SET @@SESSION.max_statement_time = 1000", SES, 0},
    {"SET sql_log_bin = 0", SES, 0},
    {"SET @@sql_select_limit = DEFAULT", SES, 0},
    {"SET x.y = 1", SES, 0},
    {"SET @@session.insert_id = 5", SES, 0},
    {"SET insert_id = 5", SES, 0},
    {"SET TRANSACTION ISOLATION LEVEL READ COMMITTED", SES, CLF_TXN_NEXT},
    {"SET TRANSACTION READ ONLY", SES, CLF_TXN_NEXT | CLF_TXN_READ_ONLY},
    {"SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE", SES, CLF_TXN_SESSION},
    {"SET SESSION TRANSACTION READ ONLY", SES, CLF_TXN_SESSION | CLF_TXN_READ_ONLY},
    {"SET LOCAL TRANSACTION READ WRITE", SES, CLF_TXN_SESSION},
    {"SET ROLE admin", SES, 0},
    {"SET ROLE NONE", SES, 0},
    {"SET autocommit = 0; SET sql_mode = ''", WR, CLF_MULTI | CLF_AUTOCOMMIT}, /* not all reads */
    /* SET STATEMENT is per statement, not a session change */
    {"SET STATEMENT max_statement_time=1 FOR SELECT 1", RD, CLF_SET_STATEMENT},
    {"SET STATEMENT a = (1), b = 'FOR' FOR SELECT 1 FROM t", RD, CLF_SET_STATEMENT},
    {"SET STATEMENT sql_mode = '' FOR SELECT * FROM t FOR UPDATE", PIN,
     CLF_SET_STATEMENT | CLF_LOCKING_READ},

    /* ---- empty, comments only, unterminated ---- */
    {"", EMP, 0},
    {" \t\r\n", EMP, 0},
    {";", EMP, 0},
    {";;  ;", EMP, 0},
    {"/* comment */", EMP, 0},
    {"-- comment", EMP, 0},
    {"# comment", EMP, 0},
    {"--", EMP, 0},
    {"/* a */ -- b\n # c", EMP, 0},
    {"/*! */", EMP, 0},
    {"/*", EMP, CLF_UNTERMINATED},
    {"/* unterminated", EMP, CLF_UNTERMINATED},
    {"SELECT 1 /* unterminated", RD, CLF_UNTERMINATED},
    {"SELECT 'abc", RD, CLF_UNTERMINATED},
    {"SELECT \"abc", RD, CLF_UNTERMINATED},
    {"SELECT `abc", RD, CLF_UNTERMINATED},
    {"SELECT 'abc\\", RD, CLF_UNTERMINATED},
    {"SELECT 'a''", RD, CLF_UNTERMINATED},
    {"SELECT '; DELETE FROM t", RD, CLF_UNTERMINATED},
    {"SELECT @'x", RD, CLF_USER_VAR_REF | CLF_UNTERMINATED},
    {"/*!40101 SELECT 1", RD, CLF_UNTERMINATED},
    {"DELETE FROM t WHERE a = 'x", WR, CLF_UNTERMINATED},
    {"SELECT 1--1", RD, 0},
    {"SELECT 1 --1", RD, 0},
    {"SELECT 1 -- 1; DELETE FROM t", RD, 0},
    {"SELECT 1 --\tx\nFOR UPDATE", PIN, CLF_LOCKING_READ},
};

static const char *kind_name(enum classify_kind k)
{
    return classify_kind_to_str(k);
}

static void test_cases(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < HY_ARRAY_SIZE(cases); i++) {
        const struct classify_case *c = &cases[i];
        struct classify_result res;
        classify_str(c->sql, 0, &res);
        res.flags &= ~CLF_DML; /* test_dml */
        if (res.kind != c->kind || res.flags != c->flags) {
            print_error("case %zu [%s]: got %s flags %#x, want %s flags %#x\n", i, c->sql,
                        kind_name(res.kind), res.flags, kind_name(c->kind), c->flags);
            failures++;
        }
    }
    print_message("%zu statements classified\n", HY_ARRAY_SIZE(cases));
    assert_int_equal(failures, 0);
}

/* Each of `yes` has the property `has` tells, none of `no` has it. */
static void check_property(const char *name, bool (*has)(const struct classify_result *),
                           const char *const *yes, size_t n_yes, const char *const *no, size_t n_no)
{
    struct classify_result res;
    for (size_t i = 0; i < n_yes + n_no; i++) {
        const char *sql = i < n_yes ? yes[i] : no[i - n_yes];
        classify_str(sql, 0, &res);
        if (has(&res) != (i < n_yes))
            fail_msg("%s: %s %s", sql, i < n_yes ? "no" : "unexpected", name);
    }
}

static bool is_dml(const struct classify_result *r)
{
    return (r->flags & CLF_DML) != 0;
}

static bool clears_diag(const struct classify_result *r)
{
    return r->clears_diag;
}

/* CLF_DML: the statements that change rows (refused inside START
 * TRANSACTION READ ONLY), not their EXPLAIN. */
static void test_dml(void **state)
{
    (void)state;
    static const char *const dml[] = {
        "INSERT INTO t VALUES (1)",
        "replace into t values (1)",
        "UPDATE t SET a = 1",
        "DELETE FROM t",
        "LOAD DATA INFILE 'x' INTO TABLE t",
        "WITH c AS (SELECT 1) DELETE FROM t",
        "/* x */ (UPDATE t SET a = 1)",
        "ANALYZE UPDATE t SET a = 1",
        "SET STATEMENT max_statement_time = 1 FOR UPDATE t SET a = 1",
    };
    static const char *const not_dml[] = {
        "SELECT 1",
        "EXPLAIN UPDATE t SET a = 1",
        "EXPLAIN FORMAT=JSON DELETE FROM t",
        "DESCRIBE INSERT INTO t VALUES (1)",
        "CREATE TABLE t (a INT)",
        "CALL p()",
        "SELECT REPLACE('a', 'b', 'c')",
        "SELECT 1 FROM t FOR UPDATE",
    };
    check_property("CLF_DML", is_dml, dml, HY_ARRAY_SIZE(dml), not_dml, HY_ARRAY_SIZE(not_dml));
}

/* clears_diag: what MariaDB clears the diagnostics area before (checked
 * against a server: tests/integration/test_routing.py). */
static void test_clears_diag(void **state)
{
    (void)state;
    static const char *const keeps[] = {
        "SELECT 1",
        "SELECT 1/0",
        "SELECT 1 FROM DUAL",
        "SELECT NOW(), @@version",
        "SELECT TRIM(LEADING 'x' FROM 'xa')",
        "SELECT EXTRACT(YEAR FROM NOW())",
        "SELECT EXTRACT(YEAR FROM (NOW()))",
        "SET @x = 1",
        "DO 1",
        "USE d",
        "SELECT 1; SELECT 2",
        "SHOW WARNINGS",
        "SELECT @@warning_count",
        "BEGIN",
        "BEGIN WORK",
        "START TRANSACTION READ ONLY",
        "COMMIT",
        "ROLLBACK AND CHAIN",
        "SAVEPOINT s",
        "ROLLBACK TO SAVEPOINT s",
        "RELEASE SAVEPOINT s",
        "XA START 'x'",
        "UNLOCK TABLES",
    };
    static const char *const clears[] = {
        "SELECT a FROM t",
        "SELECT COUNT(*) FROM d.t",
        "SELECT (SELECT a FROM t)",
        "SELECT 1 WHERE EXISTS (SELECT 1 FROM t)",
        "SELECT * FROM (SELECT 1) AS d",
        "DO (SELECT 1 FROM (SELECT 1) AS d)",
        "SHOW TABLES FROM d",
        "SHOW VARIABLES",
        "INSERT INTO t VALUES (1)",
        "SELECT 1; SELECT a FROM t",
        "SET STATEMENT max_statement_time = 1 FOR SELECT a FROM t",
        "CALL p()",
        "BEGIN NOT ATOMIC SELECT 1; END",
        "START SLAVE",
        "LOCK TABLES t READ",
    };
    check_property("clears_diag", clears_diag, clears, HY_ARRAY_SIZE(clears), keeps,
                   HY_ARRAY_SIZE(keeps));
}

/* Every prefix of every case: no crash, no read past the end (ASan), sane result. */
static void test_prefixes(void **state)
{
    (void)state;
    for (size_t i = 0; i < HY_ARRAY_SIZE(cases); i++) {
        size_t len = strlen(cases[i].sql);
        for (size_t n = 0; n <= len; n++) {
            char *copy = exact_copy(cases[i].sql, n);
            struct classify_result res;
            char dbuf[64];
            struct classify_digest dg = {dbuf, sizeof(dbuf), 0, 0};
            classify(copy, n, 0, &res, &dg);
            assert_true(res.kind < CL__COUNT);
            assert_true(dg.len < sizeof(dbuf) ? dbuf[dg.len] == '\0' : dbuf[63] == '\0');
            free(copy);
        }
    }
}

/* ---- multi-statement details ---- */

static void test_multi(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        uint32_t nstmt;
        uint32_t kinds;
        enum classify_kind kind;
    } t[] = {
        {"SELECT 1; SELECT 2", 2, CL_BIT(RD), RD},
        {"BEGIN; UPDATE t SET a = 1; COMMIT", 3, CL_BIT(TB) | CL_BIT(WR) | CL_BIT(TE), WR},
        {"SELECT 1;;;", 1, CL_BIT(RD), RD},
        {";;", 0, 0, EMP},
        {"SET NAMES utf8; SELECT 1", 2, CL_BIT(SES) | CL_BIT(RD), WR},
        {"SELECT 1; SELECT GET_LOCK('a', 1)", 2, CL_BIT(RD) | CL_BIT(PIN), PIN},
        {"SELECT 1 /* ; */; SELECT '2;3'", 2, CL_BIT(RD), RD},
        {"COMMIT", 1, CL_BIT(TE), TE},
    };
    for (size_t i = 0; i < HY_ARRAY_SIZE(t); i++) {
        struct classify_result res;
        classify_str(t[i].sql, 0, &res);
        assert_int_equal(res.nstmt, t[i].nstmt);
        assert_int_equal(res.kinds, t[i].kinds);
        assert_int_equal(res.kind, t[i].kind);
    }
}

/* ---- hints ---- */

static void test_hints(void **state)
{
    (void)state;
    static const char name63[] = "/* halyard: backend=" /* 63 characters: fits */
                                 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"
                                 " */ SELECT 1";
    static const char name64[] = "/* halyard: backend=" /* 64 characters: too long */
                                 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl"
                                 " */ SELECT 1";
    static const struct {
        const char *sql;
        enum classify_hint hint;
        const char *backend;
        enum classify_kind kind;
        uint32_t flags;
    } t[] = {
        {"/* halyard: primary */ SELECT 1", CLH_PRIMARY, "", RD, 0},
        {"SELECT /* halyard:replica */ 1", CLH_REPLICA, "", RD, 0},
        {"/*halyard: backend=db2*/ SELECT 1", CLH_BACKEND, "db2", RD, 0},
        {"/* HALYARD : Backend = db-2.x_y */ SELECT 1", CLH_BACKEND, "db-2.x_y", RD, 0},
        {"/*\n  halyard:\n  PRIMARY\n*/ UPDATE t SET a = 1", CLH_PRIMARY, "", WR, 0},
        {"-- halyard: primary\nSELECT 1", CLH_PRIMARY, "", RD, 0},
        {"-- halyard: replica\r\nSELECT 1", CLH_REPLICA, "", RD, 0},
        {"# halyard: replica\nSELECT 1", CLH_REPLICA, "", RD, 0},
        {"SELECT 1 -- halyard: primary", CLH_PRIMARY, "", RD, 0},
        {"/* halyard: primary */ /* halyard: replica */ SELECT 1", CLH_PRIMARY, "", RD, 0},
        {"/* halyard: replica */", CLH_REPLICA, "", EMP, 0},
        {"/* halyard: primary", CLH_PRIMARY, "", EMP, CLF_UNTERMINATED},
        {"/*!50100 SELECT /* halyard: replica */ 1 */", CLH_REPLICA, "", RD, 0},
        {"/* halyard: bogus */ SELECT 1", CLH_NONE, "", RD, CLF_HINT_INVALID},
        {"/* halyard: */ SELECT 1", CLH_NONE, "", RD, CLF_HINT_INVALID},
        {"/* halyard: backend= */ SELECT 1", CLH_NONE, "", RD, CLF_HINT_INVALID},
        {"/* halyard: backend db2 */ SELECT 1", CLH_NONE, "", RD, CLF_HINT_INVALID},
        {"/* halyard: backend=db/2 */ SELECT 1", CLH_NONE, "", RD, CLF_HINT_INVALID},
        {"/* halyard: primary extra */ SELECT 1", CLH_NONE, "", RD, CLF_HINT_INVALID},
        {"/* halyard: bogus */ /* halyard: replica */ SELECT 1", CLH_REPLICA, "", RD,
         CLF_HINT_INVALID},
        {name63, CLH_BACKEND, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk", RD,
         0},
        {name64, CLH_NONE, "", RD, CLF_HINT_INVALID},
        {"/* halyard primary */ SELECT 1", CLH_NONE, "", RD, 0},
        {"/* halyardx: primary */ SELECT 1", CLH_NONE, "", RD, 0},
        {"/* not halyard: primary */ SELECT 1", CLH_NONE, "", RD, 0},
        {"/* app=shop */ SELECT 1", CLH_NONE, "", RD, 0},
        {"SELECT '/* halyard: primary */'", CLH_NONE, "", RD, 0},
        {"/*! halyard: primary */", CLH_NONE, "", WR, 0},
    };
    for (size_t i = 0; i < HY_ARRAY_SIZE(t); i++) {
        struct classify_result res;
        classify_str(t[i].sql, 0, &res);
        if (res.hint != t[i].hint || strcmp(res.hint_backend, t[i].backend) != 0 ||
            res.kind != t[i].kind || (res.flags & ~CLF_DML) != t[i].flags)
            fail_msg("hint case %zu [%s]: hint %d [%s] %s %#x", i, t[i].sql, res.hint,
                     res.hint_backend, kind_name(res.kind), res.flags);
    }
}

/* `halyard: consistency=NAME`: a hint of its own, beside the routing ones */
static void test_consistency_hints(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        enum classify_consistency cons;
        enum classify_hint hint;
        uint32_t flags;
    } t[] = {
        {"/* halyard: consistency=global */ SELECT 1", CLC_GLOBAL, CLH_NONE, 0},
        {"/* HALYARD : Consistency = Eventual */ SELECT 1", CLC_EVENTUAL, CLH_NONE, 0},
        {"SELECT 1 -- halyard: consistency=causal", CLC_CAUSAL, CLH_NONE, 0},
        {"/* halyard: consistency=strong */ SELECT 1", CLC_STRONG, CLH_NONE, 0},
        {"/* halyard: replica */ /* halyard: consistency=global */ SELECT 1", CLC_GLOBAL,
         CLH_REPLICA, 0},
        {"/* halyard: consistency=global */ /* halyard: consistency=eventual */ SELECT 1",
         CLC_GLOBAL, CLH_NONE, 0},
        {"/* halyard: consistency=everything */ SELECT 1", CLC_NONE, CLH_NONE, CLF_HINT_INVALID},
        {"/* halyard: consistency */ SELECT 1", CLC_NONE, CLH_NONE, CLF_HINT_INVALID},
        {"/* halyard: consistency=global x */ SELECT 1", CLC_NONE, CLH_NONE, CLF_HINT_INVALID},
        {"/* halyard: consistency=globalx */ SELECT 1", CLC_NONE, CLH_NONE, CLF_HINT_INVALID},
        {"SELECT '/* halyard: consistency=global */'", CLC_NONE, CLH_NONE, 0},
        {"SELECT 1", CLC_NONE, CLH_NONE, 0},
    };
    for (size_t i = 0; i < HY_ARRAY_SIZE(t); i++) {
        struct classify_result res;
        classify_str(t[i].sql, 0, &res);
        if (res.hint_consistency != t[i].cons || res.hint != t[i].hint ||
            (res.flags & ~CLF_DML) != t[i].flags)
            fail_msg("consistency hint case %zu [%s]: %d, hint %d, flags %#x", i, t[i].sql,
                     res.hint_consistency, res.hint, res.flags);
    }
}

/* ---- names the caller tracks ---- */

static void test_use_schema(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        const char *schema;
    } t[] = {
        {"USE db", "db"},
        {"use `my db`", "my db"},
        {"USE `a``b`", "a`b"},
        {"USE db;", "db"},
        {"/* x */ USE `Sales_2024`  -- y", "Sales_2024"},
        {"/*!USE shop*/", "shop"},
        {"USE db1; USE db2", "db2"},
        {"USE `", ""},
    };
    for (size_t i = 0; i < HY_ARRAY_SIZE(t); i++) {
        struct classify_result res;
        classify_str(t[i].sql, 0, &res);
        assert_string_equal(res.schema, t[i].schema);
    }

    /* A name longer than CLASSIFY_NAME_MAX is not a real name: no CLF_USE. */
    char sql[300] = "USE ";
    memset(sql + 4, 'a', CLASSIFY_NAME_MAX + 1);
    sql[4 + CLASSIFY_NAME_MAX + 1] = '\0';
    struct classify_result res;
    classify_str(sql, 0, &res);
    assert_int_equal(res.kind, SES);
    assert_int_equal(res.flags & CLF_USE, 0);
    assert_string_equal(res.schema, "");
    sql[4 + CLASSIFY_NAME_MAX] = '\0'; /* exactly the maximum */
    classify_str(sql, 0, &res);
    assert_true(res.flags & CLF_USE);
    assert_int_equal(strlen(res.schema), CLASSIFY_NAME_MAX);
}

/* CONNECTION_ID() calls, for the session to put its own id there. */
static void test_connection_id_spans(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        const char *calls; /* the spans' texts joined by '|' */
    } t[] = {
        {"SELECT CONNECTION_ID()", "CONNECTION_ID()"},
        {"select connection_id ( ) + 1, Connection_Id()", "connection_id ( )|Connection_Id()"},
        {"SELECT CONNECTION_ID(/* c */)", "CONNECTION_ID(/* c */)"},
        {"INSERT INTO t VALUES (CONNECTION_ID())", "CONNECTION_ID()"},
        {"SELECT 'CONNECTION_ID()', `CONNECTION_ID`", ""},
        {"SELECT 1 /* CONNECTION_ID() */ -- CONNECTION_ID()", ""},
        {"SELECT db.CONNECTION_ID()", ""}, /* a stored function */
        {"SELECT CONNECTION_ID(1)", ""},   /* not the built-in's call */
        {"SELECT CONNECTION_ID", ""},      /* a column */
        {"SELECT /*! CONNECTION_ID() */", "CONNECTION_ID()"},
        /* FOUND_ROWS() and ROW_COUNT(): listed too, with their kind */
        {"SELECT FOUND_ROWS(), row_count()", "FOUND_ROWS()|row_count()"},
        {"SELECT db.FOUND_ROWS(), ROW_COUNT(1)", ""},
        /* after a text's first statement, they are about the text's own
         * statement before: left to the server; CONNECTION_ID() is not */
        {"SELECT ROW_COUNT(); SELECT 1 FROM t; SELECT ROW_COUNT(), FOUND_ROWS(), "
         "CONNECTION_ID()",
         "ROW_COUNT()|CONNECTION_ID()"},
    };
    for (size_t i = 0; i < HY_ARRAY_SIZE(t); i++) {
        struct classify_result res;
        classify_str(t[i].sql, 0, &res);
        char got[200] = "";
        for (uint32_t k = 0; k < res.connid.n; k++) {
            size_t n = strlen(got);
            snprintf(got + n, sizeof(got) - n, "%s%.*s", k > 0 ? "|" : "",
                     (int)res.connid.call[k].len, t[i].sql + res.connid.call[k].off);
        }
        if (strcmp(got, t[i].calls) != 0)
            fail_msg("connid case %zu [%s]: got [%s]", i, t[i].sql, got);
        assert_false(res.connid_overflow);
        if (res.connid.n > 0 && strncmp(t[i].sql, "INSERT", 6) != 0)
            assert_int_equal(res.kind, RD); /* any replica: the value is the session's */
    }
    /* More calls than are listed: none is, and the statement stays on the primary. */
    char sql[400] = "SELECT 0";
    for (int k = 0; k <= CLASSIFY_MAX_CONNID; k++)
        strcat(sql, " + CONNECTION_ID()");
    struct classify_result res;
    classify_str(sql, 0, &res);
    assert_true(res.connid_overflow);
    assert_int_equal(res.connid.n, 0);
    assert_int_equal(res.kind, PIN);
}

/* The text that goes to the server: the session's id in place of each
 * call, and a select item that held one named as the client wrote it, so
 * the column's name is the server's. */
static void test_connection_id_rewrite(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        const char *sent;
    } t[] = {
        {"SELECT CONNECTION_ID()", "SELECT 77 AS `CONNECTION_ID()`"},
        {"select @a - connection_id();", "select @a - 77 AS `@a - connection_id()`;"},
        {"SELECT DISTINCT CONNECTION_ID() + 1, 2 FROM t WHERE c = CONNECTION_ID()",
         "SELECT DISTINCT 77 + 1 AS `CONNECTION_ID() + 1`, 2 FROM t WHERE c = 77"},
        {"SELECT CONNECTION_ID() AS id, CONNECTION_ID() cid, CONNECTION_ID() 'x'",
         "SELECT 77 AS id, 77 cid, 77 'x'"},
        {"SELECT f(CONNECTION_ID(), 1), (SELECT CONNECTION_ID())",
         "SELECT f(77, 1) AS `f(CONNECTION_ID(), 1)`, (SELECT 77) AS `(SELECT CONNECTION_ID())`"},
        {"SELECT CONNECTION_ID() = `a``b`", "SELECT 77 = `a``b` AS `CONNECTION_ID() = ``a````b```"},
        {"SELECT CONNECTION_ID() IS NULL", "SELECT 77 IS NULL"}, /* may be an alias: left */
        /* select options and the words that end the list, of every length, in any case */
        {"select sql_buffer_result sql_calc_found_rows connection_id() minus select 1",
         "select sql_buffer_result sql_calc_found_rows 77 AS `connection_id()` minus select 1"},
        {"SELECT All CONNECTION_ID() Intersect SELECT 1",
         "SELECT All 77 AS `CONNECTION_ID()` Intersect SELECT 1"},
        {"SELECT sql_buffer_resulx, CONNECTION_ID() for update",
         "SELECT sql_buffer_resulx, 77 AS `CONNECTION_ID()` for update"},
        {"SELECT CONNECTION_ID() fr0m", "SELECT 77 fr0m"}, /* an alias, not FROM */
        {"SELECT 1; SELECT CONNECTION_ID() INTO @x",
         "SELECT 1; SELECT 77 AS `CONNECTION_ID()` INTO @x"},
        {"INSERT INTO t SELECT CONNECTION_ID()", "INSERT INTO t SELECT 77"},
        {"DO CONNECTION_ID()", "DO 77"},
        /* no number right after an executable comment's opener: the server
         * would read its digits as the version the comment needs */
        {"SELECT /*!CONNECTION_ID() */ AS c", "SELECT /*! 77 */ AS c"},
        {"SELECT /*!50000CONNECTION_ID() */ AS c", "SELECT /*!50000 77 */ AS c"},
        {"SELECT /*M!CONNECTION_ID()*/ AS c", "SELECT /*M! 77*/ AS c"},
        /* the server keeps these texts: the call stays */
        {"CREATE VIEW v AS SELECT CONNECTION_ID()", "CREATE VIEW v AS SELECT CONNECTION_ID()"},
        {"alter table t add c int default (connection_id())",
         "alter table t add c int default (connection_id())"},
    };
    for (size_t i = 0; i < HY_ARRAY_SIZE(t); i++) {
        struct classify_result res;
        classify_str(t[i].sql, 0, &res);
        size_t len = strlen(t[i].sql);
        size_t bound = classify_connid_bound(&res.connid, len);
        char out[512];
        assert_true(bound < sizeof(out));
        size_t n = classify_connid_rewrite(t[i].sql, len, &res.connid, 77, out, sizeof(out));
        assert_true(n <= bound);
        out[n] = '\0';
        if (strcmp(out, t[i].sent) != 0)
            fail_msg("rewrite case %zu [%s]: got [%s]", i, t[i].sql, out);
        /* a short buffer gets a prefix and the whole length */
        char small[8];
        assert_int_equal(classify_connid_rewrite(t[i].sql, len, &res.connid, 77, small, 5), n);
        assert_memory_equal(small, out, HY_MIN(n, 5));
    }
}

/* FOUND_ROWS() and ROW_COUNT() get the values the session gives, or stay
 * calls; CONNECTION_ID() is counted apart. */
static void test_prev_stmt_calls_rewrite(void **state)
{
    (void)state;
    const char *sql = "SELECT FOUND_ROWS(), ROW_COUNT() + 1, CONNECTION_ID() FROM t "
                      "WHERE n = FOUND_ROWS()";
    struct classify_result res;
    classify_str(sql, 0, &res);
    assert_int_equal(res.connid.n, 4);
    assert_int_equal(res.connid.n_connid, 1);
    assert_int_equal(res.connid.kind[0], CLASSIFY_CALL_FOUND_ROWS);
    assert_int_equal(res.connid.kind[1], CLASSIFY_CALL_ROW_COUNT);
    assert_int_equal(res.connid.kind[2], CLASSIFY_CALL_CONNECTION_ID);
    size_t len = strlen(sql);
    char out[512];
    const char *const all[CLASSIFY_CALL__COUNT] = {"7", "18446744073709551615", "-1"};
    size_t n = classify_calls_rewrite(sql, len, &res.connid, all, out, sizeof(out));
    assert_true(n <= classify_connid_bound(&res.connid, len));
    out[n] = '\0';
    assert_string_equal(out, "SELECT 18446744073709551615 AS `FOUND_ROWS()`, -1 + 1 AS "
                             "`ROW_COUNT() + 1`, 7 AS `CONNECTION_ID()` FROM t "
                             "WHERE n = 18446744073709551615");
    const char *const id_only[CLASSIFY_CALL__COUNT] = {"7", NULL, NULL};
    n = classify_calls_rewrite(sql, len, &res.connid, id_only, out, sizeof(out));
    out[n] = '\0';
    assert_string_equal(out, "SELECT FOUND_ROWS() AS `FOUND_ROWS()`, ROW_COUNT() + 1 AS "
                             "`ROW_COUNT() + 1`, 7 AS `CONNECTION_ID()` FROM t "
                             "WHERE n = FOUND_ROWS()");
}

static void test_temp_tables(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        const char *table;
        const char *schema;
    } t[] = {
        {"CREATE TEMPORARY TABLE tmp1 (id INT)", "tmp1", ""},
        {"create temporary table if not exists `tmp 2` like t", "tmp 2", ""},
        {"CREATE OR REPLACE TEMPORARY TABLE db.tmp3 AS SELECT 1", "tmp3", "db"},
        {"CREATE TEMPORARY TABLE `my``db`.`t``x` (a INT)", "t`x", "my`db"},
        {"CREATE /* c */ TEMPORARY TABLE\ntmp4 SELECT 1", "tmp4", ""},
        {"CREATE TEMPORARY TABLE a (x INT); CREATE TEMPORARY TABLE b (y INT)", "b", ""},
        {"CREATE TEMPORARY SEQUENCE db.s2 START WITH 5", "s2", "db"},
        {"CREATE TABLE t (id INT)", "", ""},
    };
    for (size_t i = 0; i < HY_ARRAY_SIZE(t); i++) {
        struct classify_result res;
        classify_str(t[i].sql, 0, &res);
        assert_string_equal(res.temp_table, t[i].table);
        assert_string_equal(res.temp_schema, t[i].schema);
        assert_int_equal(!!(res.flags & CLF_TEMP_TABLE_CREATED), t[i].table[0] != '\0');
    }
}

struct ident_probe {
    const char *want;
    int calls;
};

static bool match_ci(void *ctx, const char *name, size_t len)
{
    struct ident_probe *p = ctx;
    p->calls++;
    if (len != strlen(p->want))
        return false;
    for (size_t i = 0; i < len; i++) {
        char a = name[i], b = p->want[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a - 'A' + 'a');
        if (a != b)
            return false;
    }
    return true;
}

struct ident_list {
    char text[256];
    size_t n;
};

static bool collect(void *ctx, const char *name, size_t len)
{
    struct ident_list *l = ctx;
    if (l->n + len + 2 < sizeof(l->text)) {
        memcpy(l->text + l->n, name, len);
        l->n += len;
        l->text[l->n++] = '|';
        l->text[l->n] = '\0';
    }
    return false;
}

static void test_find_ident(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        const char *name;
        unsigned opts;
        bool found;
    } t[] = {
        {"SELECT * FROM tmp1", "tmp1", 0, true},
        {"SELECT * FROM `tmp1`", "tmp1", 0, true},
        {"SELECT * FROM db.tmp1 t", "tmp1", 0, true},
        {"SELECT * FROM TMP1", "tmp1", 0, true},
        {"SHOW CREATE TABLE tmp1", "tmp1", 0, true},
        {"/*!SELECT * FROM tmp1*/", "tmp1", 0, true},
        {"SELECT * FROM `tmp``1`", "tmp`1", 0, true},
        {"INSERT INTO t SELECT * FROM a JOIN tmp1 USING (id)", "tmp1", 0, true},
        {"DROP TEMPORARY TABLE tmp1", "tmp1", 0, true},
        {"SELECT 'tmp1' FROM t", "tmp1", 0, false},
        {"SELECT 1 /* tmp1 */", "tmp1", 0, false},
        {"SELECT 1 -- tmp1", "tmp1", 0, false},
        {"SELECT @tmp1", "tmp1", 0, false},
        {"SELECT * FROM tmp10", "tmp1", 0, false},
        {"SELECT \"tmp1\" FROM t", "tmp1", 0, false},
        {"SELECT \"tmp1\" FROM t", "tmp1", CLO_ANSI_QUOTES, true},
        {"", "tmp1", 0, false},
    };
    for (size_t i = 0; i < HY_ARRAY_SIZE(t); i++) {
        struct ident_probe p = {t[i].name, 0};
        size_t len = strlen(t[i].sql);
        char *copy = exact_copy(t[i].sql, len);
        bool found = classify_find_ident(copy, len, t[i].opts, match_ci, &p);
        free(copy);
        if (found != t[i].found)
            fail_msg("find_ident case %zu [%s]: got %d", i, t[i].sql, found);
    }

    /* Every name, in order, unquoted; stops at the first match. */
    struct ident_list l = {"", 0};
    const char *sql = "SELECT a, `b``c`, 'str', @v FROM db.t -- x";
    assert_false(classify_find_ident(sql, strlen(sql), 0, collect, &l));
    assert_string_equal(l.text, "SELECT|a|b`c|FROM|db|t|");
    struct ident_probe p = {"a", 0};
    assert_true(classify_find_ident(sql, strlen(sql), 0, match_ci, &p));
    assert_int_equal(p.calls, 2);
}

/* ---- SET assignments ---- */

struct want_var {
    enum classify_scope scope;
    const char *name;
    const char *value;
};

static void test_set_vars(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        uint32_t nvars;
        struct want_var v[4];
    } t[] = {
        {"SET autocommit = 0", 1, {{CLV_SESSION, "autocommit", "0"}}},
        {"SET NAMES utf8mb4 COLLATE utf8mb4_bin",
         1,
         {{CLV_NAMES, "NAMES", "utf8mb4 COLLATE utf8mb4_bin"}}},
        {"SET CHARACTER SET utf8", 1, {{CLV_CHARSET, "CHARACTER SET", "utf8"}}},
        {"set charset 'latin1'", 1, {{CLV_CHARSET, "charset", "'latin1'"}}},
        {"SET @@session.time_zone = '+00:00', GLOBAL x = 1, y = DEFAULT",
         3,
         {{CLV_SESSION, "time_zone", "'+00:00'"},
          {CLV_GLOBAL, "x", "1"},
          {CLV_GLOBAL, "y", "DEFAULT"}}},
        {"SET @a = 1, @`b c` := (SELECT 2, 3)",
         2,
         {{CLV_USER, "a", "1"}, {CLV_USER, "b c", "(SELECT 2, 3)"}}},
        {"SET sql_mode = CONCAT(@@sql_mode, ',ANSI'), wait_timeout = 10",
         2,
         {{CLV_SESSION, "sql_mode", "CONCAT(@@sql_mode, ',ANSI')"},
          {CLV_SESSION, "wait_timeout", "10"}}},
        {"SET ROLE admin", 1, {{CLV_ROLE, "ROLE", "admin"}}},
        {"SET x.y = 1", 1, {{CLV_SESSION, "y", "1"}}},
        {"SET @@local.lock_wait_timeout=5 ; ", 1, {{CLV_SESSION, "lock_wait_timeout", "5"}}},
        {"SET /*!40101 NAMES utf8 */", 1, {{CLV_NAMES, "NAMES", "utf8"}}},
        {"SET SESSION a = 1, b = 2", 2, {{CLV_SESSION, "a", "1"}, {CLV_SESSION, "b", "2"}}},
        {"SET autocommit = 0; SET sql_mode = ''",
         2,
         {{CLV_SESSION, "autocommit", "0"}, {CLV_SESSION, "sql_mode", "''"}}},
        {"SET a =", 1, {{CLV_SESSION, "a", ""}}},
        {"SET STATEMENT a = 1 FOR SELECT 1", 0, {{0}}},
        {"SET TRANSACTION READ ONLY", 0, {{0}}},
        {"SELECT @a := 1", 0, {{0}}},
    };
    char buf[128];
    for (size_t i = 0; i < HY_ARRAY_SIZE(t); i++) {
        struct classify_result res;
        classify_str(t[i].sql, 0, &res);
        if (res.nvars != t[i].nvars)
            fail_msg("vars case %zu [%s]: %u vars", i, t[i].sql, res.nvars);
        for (uint32_t v = 0; v < res.nvars; v++) {
            const struct classify_var *got = &res.vars[v];
            assert_int_equal(got->scope, t[i].v[v].scope);
            assert_string_equal(span_str(t[i].sql, got->name, buf, sizeof(buf)), t[i].v[v].name);
            assert_string_equal(span_str(t[i].sql, got->value, buf, sizeof(buf)), t[i].v[v].value);
        }
    }

    /* More assignments than slots: the first ones are kept, the rest flagged. */
    struct classify_result res;
    classify_str("SET a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9,autocommit=0", 0, &res);
    assert_int_equal(res.nvars, CLASSIFY_MAX_VARS);
    assert_int_equal(res.kind, SES);
    assert_int_equal(res.flags, CLF_VARS_TRUNCATED | CLF_AUTOCOMMIT);
    assert_int_equal(res.autocommit, 0);
}

static void test_autocommit(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        int value;
    } t[] = {
        {"SET autocommit=0", 0},           {"SET autocommit=1", 1},
        {"SET autocommit = ON", 1},        {"SET autocommit = off", 0},
        {"SET autocommit = TRUE", 1},      {"SET autocommit = false", 0},
        {"SET autocommit = 'ON'", 1},      {"SET autocommit = 'off'", 0},
        {"SET autocommit = '0'", 0},       {"SET autocommit = \"1\"", 1},
        {"SET @@autocommit := 0", 0},      {"SET autocommit = 0, autocommit = 1", 1},
        {"SET autocommit = DEFAULT", -1},  {"SET autocommit = @x", -1},
        {"SET autocommit = 1 + 0", -1},    {"SET autocommit = 2", -1},
        {"SET autocommit = (0)", -1},      {"SET autocommit = _latin1'1'", 1},
        {"SET GLOBAL autocommit = 0", -1}, {"SELECT 1", -1},
    };
    for (size_t i = 0; i < HY_ARRAY_SIZE(t); i++) {
        struct classify_result res;
        classify_str(t[i].sql, 0, &res);
        if (res.autocommit != t[i].value)
            fail_msg("autocommit case %zu [%s]: %d", i, t[i].sql, res.autocommit);
    }
}

/* ---- options ---- */

static void test_options(void **state)
{
    (void)state;
    struct classify_result res;
    const char *sql = "SELECT 'a\\'; DELETE FROM t; SELECT '";

    classify_str(sql, 0, &res); /* backslash escapes the quote: one string */
    assert_int_equal(res.kind, RD);
    assert_int_equal(res.nstmt, 1);
    classify_str(sql, CLO_NO_BACKSLASH_ESCAPES, &res); /* 'a\' ends: a DELETE follows */
    assert_int_equal(res.kind, WR);
    assert_int_equal(res.nstmt, 3);
    assert_int_equal(res.flags & ~CLF_DML, CLF_MULTI | CLF_UNTERMINATED);

    classify_str("USE \"db\"", CLO_ANSI_QUOTES, &res);
    assert_string_equal(res.schema, "db");
    classify_str("USE \"db\"", 0, &res);
    assert_string_equal(res.schema, "");

    char out[64];
    classify_digest("SELECT \"a\" FROM t", 17, CLO_ANSI_QUOTES, out, sizeof(out), NULL);
    assert_string_equal(out, "SELECT \"a\" FROM t");
    classify_digest("SELECT \"a\" FROM t", 17, 0, out, sizeof(out), NULL);
    assert_string_equal(out, "SELECT ? FROM t");
}

/* Statements built so that the lexing modes disagree on where a string or
 * a quoted name ends: what hides a write in one mode is the write in
 * another. Each row says what classify() must find under each of the four
 * mode combinations (0, NBE, AQ, NBE|AQ). */
static const struct {
    const char *sql;
    int kind[4];
    unsigned nstmt[4];
} mode_cases[] = {
    /* a backslash before the closing quote */
    {"SELECT 'a\\'; DELETE FROM t; -- '", {RD, WR, RD, WR}, {1, 2, 1, 2}},
    /* an identifier under ANSI_QUOTES takes no escapes: "a\" ends at once;
     * so does a string under NO_BACKSLASH_ESCAPES */
    {"SELECT 1 AS \"a\\\"; INSERT INTO t VALUES (1); -- \"", {RD, WR, WR, WR}, {1, 2, 2, 2}},
    /* the same, the other way round: the write is visible only without ANSI_QUOTES */
    {"SELECT \"x\"; DELETE FROM t", {WR, WR, WR, WR}, {2, 2, 2, 2}},
    /* a doubled quote is an escape in every mode */
    {"SELECT 'it''s'; SELECT 2", {RD, RD, RD, RD}, {2, 2, 2, 2}},
    {"SELECT \"a\"\"b\" FROM t", {RD, RD, RD, RD}, {1, 1, 1, 1}},
    /* a comment opener inside what one mode calls a string: here the
     * write is visible without NO_BACKSLASH_ESCAPES, hidden with it */
    {"SELECT '\\' /*'; UPDATE t SET a = 1; -- */", {WR, RD, WR, RD}, {2, 1, 2, 1}},
    /* a backtick never takes escapes, whatever the mode */
    {"SELECT `a\\`; DELETE FROM t", {WR, WR, WR, WR}, {2, 2, 2, 2}},
};

static void test_mode_confusion(void **state)
{
    (void)state;
    static const unsigned modes[4] = {0, CLO_NO_BACKSLASH_ESCAPES, CLO_ANSI_QUOTES,
                                      CLO_NO_BACKSLASH_ESCAPES | CLO_ANSI_QUOTES};
    for (size_t i = 0; i < HY_ARRAY_SIZE(mode_cases); i++) {
        for (size_t m = 0; m < 4; m++) {
            struct classify_result res;
            classify_str(mode_cases[i].sql, modes[m], &res);
            if ((int)res.kind != mode_cases[i].kind[m] || res.nstmt != mode_cases[i].nstmt[m])
                fail_msg("%s under opts %u: %s, %u statements; want %s, %u", mode_cases[i].sql,
                         modes[m], classify_kind_to_str(res.kind), res.nstmt,
                         classify_kind_to_str((enum classify_kind)mode_cases[i].kind[m]),
                         mode_cases[i].nstmt[m]);
        }
    }
}

static const struct {
    const char *mode;
    unsigned opts;
} sql_mode_cases[] = {
    {"", 0},
    {"STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION",
     0},
    {"NO_BACKSLASH_ESCAPES", CLO_NO_BACKSLASH_ESCAPES},
    {"ANSI_QUOTES", CLO_ANSI_QUOTES},
    {"no_backslash_escapes,ansi_quotes", CLO_NO_BACKSLASH_ESCAPES | CLO_ANSI_QUOTES},
    /* what MariaDB 10.11 reports after SET sql_mode='ANSI' */
    {"REAL_AS_FLOAT,PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ONLY_FULL_GROUP_BY,ANSI",
     CLO_ANSI_QUOTES},
    {"ANSI", CLO_ANSI_QUOTES},
    {"ORACLE", CLO_ANSI_QUOTES},
    {"POSTGRESQL,NO_BACKSLASH_ESCAPES", CLO_ANSI_QUOTES | CLO_NO_BACKSLASH_ESCAPES},
    /* names are whole words: neither a prefix nor a longer name counts */
    {"ANSI_QUOTESX,NO_BACKSLASH", 0},
    {"XANSI,ANSI_", 0},
    {",,ANSI_QUOTES,", CLO_ANSI_QUOTES},
};

static void test_sql_mode(void **state)
{
    (void)state;
    for (size_t i = 0; i < HY_ARRAY_SIZE(sql_mode_cases); i++) {
        size_t len = strlen(sql_mode_cases[i].mode);
        char *copy = exact_copy(sql_mode_cases[i].mode, len);
        unsigned got = classify_sql_mode(copy, len);
        if (got != sql_mode_cases[i].opts)
            fail_msg("sql_mode '%s': %u, want %u", sql_mode_cases[i].mode, got,
                     sql_mode_cases[i].opts);
        free(copy);
    }
    /* the length bounds the value: what follows is not read */
    assert_int_equal(classify_sql_mode("ANSI_QUOTES", 4), CLO_ANSI_QUOTES); /* "ANSI" */
    assert_int_equal(classify_sql_mode("ANSI_QUOTES", 3), 0);
}

/* ---- digest ---- */

static void test_digest(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        const char *digest;
    } t[] = {
        {"SELECT * FROM t WHERE id = 5", "SELECT * FROM t WHERE id = ?"},
        {"select  *\n from t where id=5", "SELECT * FROM t WHERE id = ?"},
        {"SELECT * FROM t WHERE a IN (1, 2, 3)", "SELECT * FROM t WHERE a IN (...)"},
        {"select * from t where a in (1)", "SELECT * FROM t WHERE a IN (...)"},
        {"SELECT * FROM t WHERE a IN ('x', -2, NULL, ?)", "SELECT * FROM t WHERE a IN (...)"},
        {"SELECT * FROM t WHERE a IN ('x' 'y', 2)", "SELECT * FROM t WHERE a IN (...)"},
        {"SELECT * FROM t WHERE a NOT IN (1,2)", "SELECT * FROM t WHERE a NOT IN (...)"},
        {"SELECT * FROM t WHERE a IN (SELECT b FROM u)",
         "SELECT * FROM t WHERE a IN (SELECT b FROM u)"},
        {"SELECT * FROM t WHERE a IN (b, 1)", "SELECT * FROM t WHERE a IN (b, ?)"},
        {"SELECT * FROM t WHERE a IN (1, 2", "SELECT * FROM t WHERE a IN (?, ?"},
        {"SELECT * FROM t WHERE a IN ()", "SELECT * FROM t WHERE a IN ()"},
        {"SELECT a FROM t WHERE b IN (1,2) AND c IN (3)",
         "SELECT a FROM t WHERE b IN (...) AND c IN (...)"},
        {"SELECT * FROM t WHERE a IN (1, 2) FOR UPDATE",
         "SELECT * FROM t WHERE a IN (...) FOR UPDATE"},
        {"INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, NULL)",
         "INSERT INTO t(a, b) VALUES (...)"},
        {"INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (...)"},
        {"INSERT INTO t VALUES ()", "INSERT INTO t VALUES (...)"},
        {"INSERT INTO t VALUE (1, DEFAULT)", "INSERT INTO t VALUE (...)"},
        {"insert into t values (1,now())", "INSERT INTO t VALUES (?, NOW())"},
        {"INSERT INTO t VALUES (1), (2), (a)", "INSERT INTO t VALUES (...), (a)"},
        {"INSERT INTO t VALUES (1), (2) ON DUPLICATE KEY UPDATE a = VALUES(a)",
         "INSERT INTO t VALUES (...) ON DUPLICATE KEY UPDATE a = VALUES (a)"},
        {"SELECT 'a', \"b\", 1.5, -2, 0x1F, x'1F', b'01', N'x', _utf8mb4'y'",
         "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?"},
        {"SELECT a - 1, a-1, -1, 3 - -1, (-1), +2", "SELECT a - ?, a - ?, ?, ? - ?, (?), ?"},
        /* numbers, and names that start like one, up to the end of the text */
        {"SELECT 12, 12.5, 12e3, 12abc, 0x1G, 0x1F, t.12, 7",
         "SELECT ?, ?, ?, 12abc, 0x1G, ?, t.12, ?"},
        {"SELECT 1.5e3, 1e, 1e+, 2-1, 3.a, 4e5x, 5$", "SELECT ?, 1e, 1e +, ? - ?, ? a, 4e5x, 5$"},
        {"SELECT -a", "SELECT - a"},
        {"SELECT * FROM t WHERE x = +5 LIMIT -1", "SELECT * FROM t WHERE x = ? LIMIT ?"},
        {"SELECT NULL, TRUE, false", "SELECT NULL, TRUE, FALSE"},
        {"SELECT /* c */ 1 -- x", "SELECT ?"},
        {"/*!40101 SET NAMES utf8 */", "SET NAMES utf8"},
        {"/*M!100100 SELECT 1 */;", "SELECT ?"},
        {"SELECT /*+ hint */ 1", "SELECT ?"},
        {"/* halyard: primary */ SELECT 1", "SELECT ?"},
        {"SELECT `a`, b FROM `T`", "SELECT `a`, b FROM `T`"},
        {"SELECT MyCol FROM MyTable", "SELECT MyCol FROM MyTable"},
        {"select count(*) from t", "SELECT COUNT(*) FROM t"},
        {"SELECT f(1, 2)", "SELECT f(?, ?)"},
        {"SELECT t.a, db.t.b, t.* FROM db.t", "SELECT t.a, db.t.b, t.* FROM db.t"},
        {"SELECT @x := 1, @@session.sql_mode", "SELECT @x := ?, @@session.sql_mode"},
        {"SELECT 1; SELECT 2;", "SELECT ?; SELECT ?"},
        {"SELECT 1 ;; SELECT 2", "SELECT ?; SELECT ?"},
        {"SELECT 'a' 'b'", "SELECT ?"},
        {"SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = ? AND b = ?"},
        {"", ""},
        {"/* only */", ""},
        {";", ""},
        {"CALL p()", "CALL p()"},
        {"SELECT * FROM t LIMIT 10, 20", "SELECT * FROM t LIMIT ?, ?"},
        {"SELECT a FROM t WHERE b >= 1 AND c <> 'x' OR d <=> NULL",
         "SELECT a FROM t WHERE b >= ? AND c <> ? OR d <=> NULL"},
        {"UPDATE t SET a = a + 1 WHERE id IN (1,2)", "UPDATE t SET a = a + ? WHERE id IN (...)"},
        {"SELECT * FROM t WHERE (a = 1)", "SELECT * FROM t WHERE (a = ?)"},
        {"SELECT * FROM t WHERE id = 'unterminated", "SELECT * FROM t WHERE id = ?"},
        {"SELECT 1 AS x", "SELECT ? AS x"},
        {"SET @a = 'x'", "SET @a = ?"},
        {"select distinct a from t order by a desc limit 5",
         "SELECT DISTINCT a FROM t ORDER BY a DESC LIMIT ?"},
        {"SELECT * FROM t1 JOIN t2 ON (t1.id = t2.id)",
         "SELECT * FROM t1 JOIN t2 ON (t1.id = t2.id)"},
        {"SELECT * FROM (SELECT 1) AS x", "SELECT * FROM (SELECT ?) AS x"},
        {"SELECT 1 FROM t WHERE EXISTS (SELECT 1)", "SELECT ? FROM t WHERE EXISTS (SELECT ?)"},
        {"SELECT CAST(a AS CHAR(10))", "SELECT CAST(a AS CHAR(?))"},
        {"CREATE TABLE t (id INT(11) NOT NULL, PRIMARY KEY (id))",
         "CREATE TABLE t(id INT(?) NOT NULL, PRIMARY KEY (id))"},
        {"WITH c AS (SELECT 1) SELECT * FROM c", "WITH c AS (SELECT ?) SELECT * FROM c"},
        {"SELECT a->>'$.b' FROM t", "SELECT a ->> ? FROM t"},
        {"SELECT 1abc, t.1x FROM t", "SELECT 1abc, t.1x FROM t"},
    };
    char out[256];
    for (size_t i = 0; i < HY_ARRAY_SIZE(t); i++) {
        size_t len = strlen(t[i].sql), out_len = 0;
        char *copy = exact_copy(t[i].sql, len);
        uint64_t h = classify_digest(copy, len, 0, out, sizeof(out), &out_len);
        if (strcmp(out, t[i].digest) != 0)
            fail_msg("digest case %zu [%s]:\n  got  [%s]\n  want [%s]", i, t[i].sql, out,
                     t[i].digest);
        assert_int_equal(out_len, strlen(t[i].digest));

        /* classify() computes the same digest in its pass. */
        char out2[256];
        struct classify_digest dg = {out2, sizeof(out2), 0, 0};
        struct classify_result res;
        classify(copy, len, 0, &res, &dg);
        assert_string_equal(out2, out);
        assert_int_equal(dg.len, out_len);
        assert_true(dg.hash == h);
        free(copy);

        /* A digest is its own digest. */
        char again[256];
        assert_true(classify_digest(out, out_len, 0, again, sizeof(again), NULL) == h);
        assert_string_equal(again, out);
    }
}

/* Long digests (several internal chunks), and digest(digest(x)) == digest(x). */
static void test_digest_long(void **state)
{
    (void)state;
    static char sql[8192], want[8192], out[8192], again[8192];
    size_t n = 0, w = 0;
    n += (size_t)snprintf(sql + n, sizeof(sql) - n, "select");
    w += (size_t)snprintf(want + w, sizeof(want) - w, "SELECT");
    for (int i = 0; i < 300; i++) {
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%s col_%d+%d", i ? "," : "", i, i * 7);
        w += (size_t)snprintf(want + w, sizeof(want) - w, "%s col_%d + ?", i ? "," : "", i);
    }
    n += (size_t)snprintf(sql + n, sizeof(sql) - n, " from t where a in (1,2,3)");
    w += (size_t)snprintf(want + w, sizeof(want) - w, " FROM t WHERE a IN (...)");

    size_t out_len, again_len;
    uint64_t h = classify_digest(sql, n, 0, out, sizeof(out), &out_len);
    assert_string_equal(out, want);
    assert_int_equal(out_len, w);
    uint64_t h2 = classify_digest(out, out_len, 0, again, sizeof(again), &again_len);
    assert_string_equal(again, want);
    assert_true(h2 == h);

    /* Truncated at every length around a chunk boundary: same hash, a prefix. */
    for (size_t cap = 250; cap < 270; cap++) {
        size_t len;
        assert_true(classify_digest(sql, n, 0, again, cap, &len) == h);
        assert_int_equal(len, w);
        assert_int_equal(strlen(again), cap - 1);
        assert_memory_equal(again, want, cap - 1);
    }
}

static uint64_t digest_hash(const char *sql, char *out, size_t cap)
{
    return classify_digest(sql, strlen(sql), 0, out, cap, NULL);
}

static void test_digest_groups(void **state)
{
    (void)state;
    /* Each group: one digest; different groups: different digests. */
    static const char *const groups[][4] = {
        {"SELECT * FROM t WHERE id = 1", "select * from t where id=2",
         "SELECT * FROM t WHERE id = 'x' -- c", "SELECT  *  FROM  t  WHERE  id  =  ?"},
        {"SELECT * FROM t WHERE a IN (1)", "SELECT * FROM t WHERE a IN (1,2,3,4,5,6)",
         "select * from t where a in ('a', 'b')", "SELECT * FROM t WHERE a IN (?, ?)"},
        {"INSERT INTO t VALUES (1, 'a')", "INSERT INTO t VALUES (2, 'b'), (3, 'c')",
         "insert into t values (4,'d'),(5,'e'),(6,'f')", "INSERT INTO t VALUES (?,?),(?,?)"},
        {"SELECT * FROM u WHERE id = 1", "SELECT * FROM u WHERE id = -1",
         "/*!SELECT * FROM u WHERE id = 1.5e3*/", "SELECT * FROM u WHERE id = 0x10;"},
        {"SELECT A FROM t", "select A from t", "SELECT A\nFROM t;", "SELECT A FROM t -- x"},
    };
    char out[128];
    uint64_t first[HY_ARRAY_SIZE(groups)];
    for (size_t g = 0; g < HY_ARRAY_SIZE(groups); g++) {
        char want[128];
        first[g] = digest_hash(groups[g][0], want, sizeof(want));
        for (size_t i = 1; i < 4; i++) {
            uint64_t h = digest_hash(groups[g][i], out, sizeof(out));
            if (h != first[g] || strcmp(out, want) != 0)
                fail_msg("group %zu: [%s] -> [%s], [%s] -> [%s]", g, groups[g][0], want,
                         groups[g][i], out);
        }
        for (size_t o = 0; o < g; o++)
            assert_true(first[o] != first[g]);
    }
    /* Identifiers are kept as written. */
    assert_true(digest_hash("SELECT a FROM t", out, sizeof(out)) !=
                digest_hash("SELECT A FROM t", out, sizeof(out)));
}

static void test_digest_truncation(void **state)
{
    (void)state;
    const char *sql = "SELECT a, b, c FROM some_table WHERE id = 42 AND name = 'x'";
    const char *full = "SELECT a, b, c FROM some_table WHERE id = ? AND name = ?";
    char big[128], small[16];
    size_t full_len, small_len;

    uint64_t h1 = classify_digest(sql, strlen(sql), 0, big, sizeof(big), &full_len);
    uint64_t h2 = classify_digest(sql, strlen(sql), 0, small, sizeof(small), &small_len);
    assert_string_equal(big, full);
    assert_int_equal(full_len, strlen(full));
    assert_int_equal(small_len, full_len); /* the whole digest's length, like snprintf */
    assert_true(h1 == h2);                 /* the hash covers the whole digest */
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_memory_equal(small, full, sizeof(small) - 1);

    /* No buffer at all: length and hash only. */
    size_t n = 0;
    assert_true(classify_digest(sql, strlen(sql), 0, NULL, 0, &n) == h1);
    assert_int_equal(n, full_len);
    char one[1] = {'x'};
    classify_digest(sql, strlen(sql), 0, one, 1, NULL);
    assert_int_equal(one[0], '\0');

    struct classify_result res;
    struct classify_digest dg = {NULL, 0, 0, 0};
    classify(sql, strlen(sql), 0, &res, &dg);
    assert_int_equal(dg.len, full_len);
    assert_true(dg.hash == h1);

    /* Empty digests hash alike; a digest and its prefixes do not. */
    uint64_t empty = classify_digest("", 0, 0, NULL, 0, NULL);
    assert_true(classify_digest(NULL, 0, 0, NULL, 0, NULL) == empty);
    assert_true(classify_digest("/* c */;", 8, 0, NULL, 0, NULL) == empty);
    uint64_t prev = empty;
    for (size_t i = 1; i <= 9; i++) { /* 8-byte words: every length up to a word and one */
        uint64_t h = classify_digest("abcdefghij", i, 0, NULL, 0, NULL);
        assert_true(h != prev);
        prev = h;
    }
}

/* ---- robustness ---- */

static uint32_t rng_state = 12345;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static bool any_ident(void *ctx, const char *name, size_t len)
{
    size_t *total = ctx;
    assert_true(len == 0 || name != NULL);
    *total += len;
    return false;
}

static void check_result(const struct classify_result *res, size_t len)
{
    assert_true(res->kind < CL__COUNT);
    assert_true(res->nvars <= CLASSIFY_MAX_VARS);
    assert_true(res->autocommit >= -1 && res->autocommit <= 1);
    assert_true(memchr(res->hint_backend, '\0', sizeof(res->hint_backend)) != NULL);
    assert_true(memchr(res->schema, '\0', sizeof(res->schema)) != NULL);
    assert_true(memchr(res->temp_table, '\0', sizeof(res->temp_table)) != NULL);
    assert_true(memchr(res->temp_schema, '\0', sizeof(res->temp_schema)) != NULL);
    for (uint32_t i = 0; i < res->nvars; i++) {
        assert_true((size_t)res->vars[i].name.off + res->vars[i].name.len <= len);
        assert_true((size_t)res->vars[i].value.off + res->vars[i].value.len <= len);
    }
}

static void run_all(const char *buf, size_t len, unsigned opts)
{
    struct classify_result res;
    char out[96];
    struct classify_digest dg = {out, sizeof(out), 0, 0};
    size_t total = 0, dlen = 0;

    classify(buf, len, opts, &res, &dg);
    check_result(&res, len);
    uint64_t h = classify_digest(buf, len, opts, NULL, 0, &dlen);
    assert_true(h == dg.hash);
    assert_int_equal(dlen, dg.len);
    classify_find_ident(buf, len, opts, any_ident, &total);
    assert_true(total <= len);
}

/* Random byte strings biased towards the bytes the lexer cares about. */
static void test_random_bytes(void **state)
{
    (void)state;
    static const char alphabet[] =
        "'\"`\\/*!#-@?;:=(),.<>|&+ \n\t\r\0Mxb0129_$aeEnNsSfFoOrRuU\xff\xc3";
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = rng() % 64;
        char *buf = malloc(len > 0 ? len : 1);
        assert_non_null(buf);
        for (size_t i = 0; i < len; i++) {
            uint32_t r = rng();
            buf[i] = (r & 0x300) ? alphabet[r % (sizeof(alphabet) - 1)] : (char)(r >> 24);
        }
        run_all(buf, len, (unsigned)iter & 3u);
        free(buf);
    }
}

/* Inputs built to make a careless lexer slow or overflow something. */
static void test_pathological(void **state)
{
    (void)state;
    static const char *const unit[] = {
        "(",   ")",   "/*",     "*/",          "/*!",         "'",           "\\",
        "-- ", "#\n", "IN (1,", "VALUES (1),", "@",           "@@",          "x'",
        "0x",  "1e",  ";",      "SET a=1,",    "WITH a AS (", "FOR UPDATE ", "/* halyard: backend=",
        "`",   "\"",  ":=",     "M!",          ".",
    };
    const size_t len = 64 * 1024;
    char *buf = malloc(len);
    assert_non_null(buf);
    for (size_t u = 0; u < HY_ARRAY_SIZE(unit); u++) {
        size_t ul = strlen(unit[u]);
        for (size_t i = 0; i < len; i++)
            buf[i] = unit[u][i % ul];
        run_all(buf, len, 0);
        run_all(buf, len, CLO_NO_BACKSLASH_ESCAPES | CLO_ANSI_QUOTES);
    }
    /* A huge literal list folds and stays linear. */
    size_t n = 0;
    n += (size_t)snprintf(buf, len, "SELECT * FROM t WHERE a IN (");
    while (n + 8 < len)
        n += (size_t)snprintf(buf + n, len - n, "%d,", (int)(n % 1000));
    buf[n - 1] = ')';
    char out[64];
    size_t out_len;
    classify_digest(buf, n, 0, out, sizeof(out), &out_len);
    assert_string_equal(out, "SELECT * FROM t WHERE a IN (...)");
    free(buf);

    /* Longer than CLASSIFY_MAX_LEN: not lexed (the bytes are never read). */
    struct classify_result res;
    if (sizeof(size_t) > 4) {
        classify("SELECT 1", (size_t)CLASSIFY_MAX_LEN + 1, 0, &res, NULL);
        assert_int_equal(res.kind, WR);
        assert_int_equal(res.flags, CLF_TOO_LONG);
    }
}

/* ---- small pieces ---- */

static void test_keywords_and_names(void **state)
{
    (void)state;
    static const char *const yes[] = {
        "SELECT",
        "select",
        "Select",
        "AS",
        "ACCESSIBLE",
        "ZEROFILL",
        "IS",
        "ISNULL",
        "IS_FREE_LOCK",
        "GET",
        "GET_LOCK",
        "LAST_INSERT_ID",
        "MASTER_SSL_VERIFY_SERVER_CERT",
        "NEXTVAL",
        "XA",
        "YEAR_MONTH",
        "in",
        "Values",
        "count",
        "INT8",
    };
    static const char *const no[] = {
        "",
        "S",
        "SELECTX",
        "SELEC",
        "users",
        "my_table",
        "SELECT$",
        "s\xc3\xa9lect",
        "IS_",
        "_SELECT",
        "MASTER_SSL_VERIFY_SERVER_CERTX",
    };
    for (size_t i = 0; i < HY_ARRAY_SIZE(yes); i++)
        if (!classify_is_keyword(yes[i], strlen(yes[i])))
            fail_msg("not a keyword: %s", yes[i]);
    for (size_t i = 0; i < HY_ARRAY_SIZE(no); i++)
        if (classify_is_keyword(no[i], strlen(no[i])))
            fail_msg("a keyword: %s", no[i]);
    assert_false(classify_is_keyword(NULL, 0));

    assert_string_equal(classify_kind_to_str(CL_EMPTY), "empty");
    assert_string_equal(classify_kind_to_str(CL_READ), "read");
    assert_string_equal(classify_kind_to_str(CL_SESSION), "session");
    assert_string_equal(classify_kind_to_str(CL_PIN_PRIMARY), "pin_primary");
    assert_string_equal(classify_kind_to_str(CL_WRITE), "write");
    assert_string_equal(classify_kind_to_str(CL_TXN_BEGIN), "txn_begin");
    assert_string_equal(classify_kind_to_str(CL_TXN_BEGIN_RO), "txn_begin_ro");
    assert_string_equal(classify_kind_to_str(CL_TXN_END), "txn_end");
    assert_string_equal(classify_kind_to_str(CL_TXN_SAVEPOINT), "txn_savepoint");
    assert_string_equal(classify_kind_to_str(CL__COUNT), "unknown");

    /* NULL text with length 0 is an empty query. */
    struct classify_result res;
    classify(NULL, 0, 0, &res, NULL);
    assert_int_equal(res.kind, EMP);
    assert_int_equal(res.nstmt, 0);
}

/*
 * Found by tests/fuzz/fuzz_classify.c: the digest left no space after a `.`
 * and none before one, so `. 0x` printed as `.0x` (which lexes back as the
 * number .0 and x) and `@a . b` as `@a.b` (one variable): the digest of the
 * digest differed. A space now stays where dropping it would join tokens.
 */
static void test_digest_fixed_point(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        const char *digest;
    } t[] = {
        {".\n0\xb0", ". 0\xb0"}, /* the fuzzer's inputs */
        {"z@\x0b.\x0b@", "z @ .@"},
        {". 1X..", ". 1X.."},
        {"SELECT 'a' . 1x FROM t", "SELECT ?. 1x FROM t"},
        {"SELECT x IN (1) . 2y", "SELECT x IN (...). 2y"},
        {"SELECT @a . b", "SELECT @a .b"},
        {"SELECT @ . b", "SELECT @ .b"},
        {"SELECT @@session . x", "SELECT @@session .x"},
        /* After a word, keyword or not, `.1x` stays a dot and a name. */
        {"SELECT t . 1x", "SELECT t.1x"},
        {"SELECT x IN.9", "SELECT x IN.9"},
        {"SELECT `t`.1x", "SELECT `t`.1x"},
        {"SELECT @ -1", "SELECT @ ?"},
    };
    char out[256], again[256];
    for (size_t i = 0; i < HY_ARRAY_SIZE(t); i++) {
        size_t len = strlen(t[i].sql), out_len = 0, again_len = 0;
        char *copy = exact_copy(t[i].sql, len);
        uint64_t h = classify_digest(copy, len, 0, out, sizeof(out), &out_len);
        free(copy);
        if (strcmp(out, t[i].digest) != 0)
            fail_msg("digest case %zu [%s]:\n  got  [%s]\n  want [%s]", i, t[i].sql, out,
                     t[i].digest);
        copy = exact_copy(out, out_len);
        assert_true(classify_digest(copy, out_len, 0, again, sizeof(again), &again_len) == h);
        free(copy);
        assert_int_equal(again_len, out_len);
        assert_string_equal(again, out);
    }
}

/* lex_match_word(): the word in any case, ending there, then the spaces
 * and comments after it skipped; elsewhere false and *pp unmoved. */
static void test_match_word(void **state)
{
    (void)state;
    static const struct {
        const char *text, *word;
        bool match;
        size_t moved; /* where *pp goes when it matches */
    } words[] = {
        {"SHOW STATUS", "SHOW", true, 5},
        {"show/* x */status", "SHOW", true, 11},
        {"sHoW", "SHOW", true, 4},
        {"SHOWS", "SHOW", false, 0},
        {"SHOW_X", "SHOW", false, 0},
        {"SHO", "SHOW", false, 0},
        {"SELECT 1", "SHOW", false, 0},
        {"", "SHOW", false, 0},
        {"GET DIAGNOSTICS", "GET", true, 4},
        {"get1", "GET", false, 0},
        {"grant -- x\n ALL", "GRANT", true, 12},
        {"PROCESSLIST", "PROCESSLIST", true, 11},
        {"PROCESSLISt ", "PROCESSLIST", true, 12},
        {"\xc3\xa9", "\xc3\x89", false, 0}, /* only ASCII letters fold, as strncasecmp's */
        {"[", "{", false, 0},               /* '[' | 0x20 == '{' */
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        const char *p = words[i].text, *end = p + strlen(p);
        bool m = lex_match_word(&p, end, words[i].word);
        if (m != words[i].match || (size_t)(p - words[i].text) != words[i].moved)
            fail_msg("\"%s\" against %s: %d, moved %zu", words[i].text, words[i].word, m,
                     (size_t)(p - words[i].text));
    }
    /* The length bounds it, not a NUL. */
    const char *p = "SHOW";
    assert_false(lex_match_word(&p, p + 3, "SHOW"));
    p = "SHOWX";
    assert_true(lex_match_word(&p, p + 4, "SHOW"));
}

/* classify_kill_refusal: where a KILL's id would reach the server unmapped. */
static void test_kill_refusal(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        bool prepared;
        const char *want; /* NULL: forwarded or answered alone */
    } kills[] = {
        {"SELECT 'kill 5'", false, NULL},
        {"SELECT skill FROM t; SELECT 1", false, NULL},
        {"KILL USER app", false, NULL},
        {"KILL QUERY USER 'app'@'%'", false, NULL},
        {"KILL", false, NULL},
        {"KILL 5; SELECT SLEEP(0.05)", false, "in a multi-statement text"},
        {"SELECT 1; /* x */ kill connection 5", false, "in a multi-statement text"},
        {"KILL USER app; SELECT 1", false, "in a multi-statement text"},
        {"KILL 5 + 0", false, "with an id that is not a number"},
        {"KILL HARD QUERY CONNECTION_ID()", false, "with an id that is not a number"},
        {"KILL ?", true, "in a prepared statement"},
        {"KILL USER app", true, "in a prepared statement"},
        {"KILL QUERY USER app", true, NULL},
        {"PREPARE s FROM 'KILL ?'", false, "in a prepared statement"},
        {"PREPARE s FROM 'SELECT 1'", false, NULL},
        {"PREPARE s FROM @kill", false, NULL},
        /* the server answers these alone: id 0 names no thread, and it
         * refuses a subquery (mtr main.ps_1general, main.parser) */
        {" KILL 0 ", true, NULL},
        {"KILL QUERY 0", true, NULL},
        {"PREPARE stmt1 FROM ' KILL 0 '", false, NULL},
        {"KILL 0; SELECT 1", false, NULL},
        {"KILL ( SELECT 1 ) + LASTVAL(s)", false, NULL},
        {"KILL LASTVAL(s)", false, NULL},
        {"KILL QUERY NEXT VALUE FOR s", true, NULL},
        {"KILL 00", true, "in a prepared statement"},
        {"KILL 0 + 5", false, "with an id that is not a number"},
        {"KILL 0 + 5", true, "in a prepared statement"},
        /* a number the session does not read as digits, or a KILL partly
         * in an executable comment: the server would take halyard's id
         * for its own thread's (5.0 is thread 5 there) */
        {"KILL 1073741826.0", false, "with an id that is not a number"},
        {"KILL QUERY 1073741826.", false, "with an id that is not a number"},
        {"KILL 1073741826e0", false, "with an id that is not a number"},
        {"KILL CONNECTION 0x40000002", false, "with an id that is not a number"},
        {"KILL X'40000002'", false, "with an id that is not a number"},
        {"KILL QUERY /*! 1073741826 */", false, "with an id that is not a number"},
        {"KILL /*!QUERY */ 1073741826", false, "with an id that is not a number"},
        {"/*!KILL 1073741826 */", false, "with an id that is not a number"},
        {"KILL 1073741826 /*M!*/;", false, "with an id that is not a number"},
        {"KILL QUERY 1073741826 /* a comment */ ;", false, NULL},
        {"KILL HARD QUERY 01073741826 -- a comment", false, NULL},
    };
    for (size_t i = 0; i < sizeof(kills) / sizeof(kills[0]); i++) {
        const char *got =
            classify_kill_refusal(kills[i].sql, strlen(kills[i].sql), 0, kills[i].prepared);
        if (kills[i].want == NULL ? got != NULL : got == NULL || strcmp(got, kills[i].want) != 0)
            fail_msg("%s: got %s", kills[i].sql, got != NULL ? got : "NULL");
        struct classify_result r; /* the session looks only when classify() saw a KILL */
        classify(kills[i].sql, strlen(kills[i].sql), 0, &r, NULL);
        if (got != NULL && !r.kill_word)
            fail_msg("%s: refused, but no kill_word", kills[i].sql);
    }
}

/* lo_words: false only when the text can hold none of the words
 * text_words() (session_route.c) scans for, wherever they are. */
static void test_lo_words(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        bool lo;
    } lo_cases[] = {
        {"SELECT c FROM sbtest1 WHERE id=5", false},
        {"select c from sbtest1 where id = 5; SELECT 1", false},
        {"SELECT a FROM t WHERE b='x' AND c IN (1,2)", false},
        {"", false},
        {"SELECT * FROM t LIMIT 1, 2", true},
        {"select * from t limit 1 offset 2", true},
        {"SELECT SQL_CALC_FOUND_ROWS a FROM t", true},
        {"SELECT * FROM information_schema.processlist", true},
        {"SELECT * FROM `GLOBAL_STATUS`", true},
        {"SELECT * FROM \"session_status\"", true},
        {"SELECT 'innodb_trx'", true},
        {"SELECT 1 /* limit */", true},
        {"SELECT 1 -- offset", true},
        {"SELECT 1 # l", true},
        {"SELECT/*!50000 SQL_CALC_FOUND_ROWS*/ a FROM t", true},
        {"SELECT a FROM performance_schema.threads", true},
        {"SELECT IS_USED_LOCK('x')", true},
        {"SELECT 1limit", true},
        {"SELECT @o", false},
        {"SELECT @offset", true},
        {"SELECT a FROM t WHERE b = 'yo'", false},
        {"SELECT a FROM t WHERE b = 'hello'", true},
        {"SELECT @@local.x", true},
        {"SELECT a FROM t WHERE b='unterminated", false},
        {"SELECT a FROM t WHERE b='unterminated limit", true},
    };
    struct classify_result r;
    for (size_t i = 0; i < sizeof(lo_cases) / sizeof(lo_cases[0]); i++) {
        classify(lo_cases[i].sql, strlen(lo_cases[i].sql), 0, &r, NULL);
        if (r.lo_words != lo_cases[i].lo)
            fail_msg("lo_words of \"%s\": %d, expected %d", lo_cases[i].sql, r.lo_words,
                     lo_cases[i].lo);
    }
}

/* sysview_names and kill_word: false only when sysview_scan() would find
 * nothing to rewrite and classify_kill_refusal() nothing to refuse (the
 * session runs them only when true); checked against both on each text. */
static void test_scan_names(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        bool sysview, kill;
    } sk_cases[] = {
        {"SELECT c FROM sbtest1 WHERE id=5", false, false},
        {"select c from sbtest1 where id = 5; SELECT 1", false, false},
        {"SELECT status FROM t", false, false},
        {"SHOW PROCESSLIST", true, false},
        {"show full processlist", true, false},
        {"SHOW GLOBAL STATUS LIKE 'x'", true, false},
        {"SELECT * FROM information_schema.PROCESSLIST", true, false},
        {"SELECT * FROM `information_schema`.`processlist`", true, false},
        {"SELECT * FROM INFORMATION_SCHEMA.global_status", true, false},
        {"SELECT * FROM information_schema.SESSION_STATUS s", true, false},
        {"SELECT 1; SELECT * FROM information_schema.processlist", true, false},
        {"SELECT 'show processlist' AS a", false, false},
        {"SELECT 1 /* KILL 5 */", false, false},
        {"SELECT/*!50000 1; KILL 5*/", false, true},
        {"KILL 5", false, true},
        {"kill query 5", false, true},
        {"SELECT 1; KILL 5", false, true},
        {"SELECT 1; kill connection 5", false, true},
        {"KILL (SELECT 5)", false, true},
        {"PREPARE s FROM 'KILL 5'", false, true},
        {"prepare s from 'select 1; kill 5'", false, true},
        {"PREPARE s FROM 'SELECT 1'", false, false},
        {"SELECT skill FROM t", false, false},
        {"SELECT a FROM t WHERE b='unterminated", false, false},
    };
    struct classify_result r;
    for (size_t i = 0; i < sizeof(sk_cases) / sizeof(sk_cases[0]); i++) {
        const char *sql = sk_cases[i].sql;
        size_t n = strlen(sql);
        classify(sql, n, 0, &r, NULL);
        if (r.sysview_names != sk_cases[i].sysview || r.kill_word != sk_cases[i].kill)
            fail_msg("\"%s\": sysview_names %d kill_word %d, expected %d %d", sql, r.sysview_names,
                     r.kill_word, sk_cases[i].sysview, sk_cases[i].kill);
        struct sysview_scan sc;
        sysview_scan(sql, n, 0, &sc);
        if ((sc.n > 0 || sc.show != SYSVIEW_SHOW_NONE) && !r.sysview_names)
            fail_msg("\"%s\": sysview_scan() finds one", sql);
        if ((classify_kill_refusal(sql, n, 0, false) != NULL ||
             classify_kill_refusal(sql, n, 0, true) != NULL) &&
            !r.kill_word)
            fail_msg("\"%s\": classify_kill_refusal() refuses it", sql);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dml),
        cmocka_unit_test(test_match_word),
        cmocka_unit_test(test_clears_diag),
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_multi),
        cmocka_unit_test(test_hints),
        cmocka_unit_test(test_consistency_hints),
        cmocka_unit_test(test_use_schema),
        cmocka_unit_test(test_temp_tables),
        cmocka_unit_test(test_find_ident),
        cmocka_unit_test(test_set_vars),
        cmocka_unit_test(test_autocommit),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_digest_long),
        cmocka_unit_test(test_digest_groups),
        cmocka_unit_test(test_digest_truncation),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_pathological),
        cmocka_unit_test(test_keywords_and_names),
        cmocka_unit_test(test_digest_fixed_point),
        cmocka_unit_test(test_mode_confusion),
        cmocka_unit_test(test_sql_mode),
        cmocka_unit_test(test_connection_id_spans),
        cmocka_unit_test(test_connection_id_rewrite),
        cmocka_unit_test(test_prev_stmt_calls_rewrite),
        cmocka_unit_test(test_kill_refusal),
        cmocka_unit_test(test_lo_words),
        cmocka_unit_test(test_scan_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
