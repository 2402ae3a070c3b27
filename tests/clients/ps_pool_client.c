/*
 * ps_pool_client.c: prepared statements whose meaning depends on the
 * connection they run on, through a pool (pool_mode = "transaction"), for
 * tests/integration/test_ps_pool.py. It opens two sessions, A and B, with
 * libmariadb (the binary protocol) and has B run statements between A's:
 * through a one-worker halyard B takes the server connection A used last,
 * so A's next statement runs on a connection another session touched, or
 * B holds it (in a transaction) and A's next statement runs on another.
 * Run directly against the server, A and B are two connections and A sees
 * only its own: the two outputs must be the same.
 *
 *   ps_pool_client HOST PORT USER PASSWORD DB SCENARIO
 *
 * Scenarios:
 *   prev-values   FOUND_ROWS() and ROW_COUNT() in prepared statements,
 *                 executed after A's statements with B's in between
 *   prepare-env   statements prepared under one sql_mode or character set,
 *                 executed under another on a connection new to them
 *   cache-env     the same text prepared by A under ANSI_QUOTES and by B
 *                 without: each runs its own
 *
 * Output, one item per line, tab-separated: "col <name> type=<n>
 * length=<n> flags=<n>" for the columns of an execution, "row <v>..." for
 * its rows (NULL for SQL NULL). Exit 1 with "ps_pool_client: <where>:
 * <code> (<sqlstate>) <message>" on stderr on any unexpected error.
 */
#include <mysql.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static MYSQL *a, *b;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("ps_pool_client: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* Run `sql` on `m`, its results read and dropped. */
static void query(MYSQL *m, const char *sql)
{
    if (mysql_query(m, sql) != 0)
        die("\"%s\": %u (%s) %s", sql, mysql_errno(m), mysql_sqlstate(m), mysql_error(m));
    do {
        MYSQL_RES *res = mysql_store_result(m);
        if (res != NULL)
            mysql_free_result(res);
        else if (mysql_field_count(m) != 0)
            die("\"%s\": %u %s", sql, mysql_errno(m), mysql_error(m));
    } while (mysql_next_result(m) == 0);
}

static MYSQL_STMT *prepare(MYSQL *m, const char *sql)
{
    MYSQL_STMT *st = mysql_stmt_init(m);
    if (st == NULL || mysql_stmt_prepare(st, sql, strlen(sql)) != 0)
        die("prepare \"%s\": %u %s", sql, mysql_errno(m), mysql_error(m));
    return st;
}

/* Execute `st` (with one INT parameter `*param` when not NULL) and print
 * its columns and rows as strings, under the label `what`. */
static void run(MYSQL_STMT *st, const int *param, const char *what)
{
    MYSQL_BIND p;
    if (param != NULL) {
        memset(&p, 0, sizeof(p));
        p.buffer_type = MYSQL_TYPE_LONG;
        p.buffer = (void *)param;
        if (mysql_stmt_bind_param(st, &p) != 0)
            die("%s: bind: %s", what, mysql_stmt_error(st));
    }
    if (mysql_stmt_execute(st) != 0)
        die("%s: execute: %u (%s) %s", what, mysql_stmt_errno(st), mysql_stmt_sqlstate(st),
            mysql_stmt_error(st));
    printf("exec\t%s\taffected=%lld\n", what, (long long)mysql_stmt_affected_rows(st));
    MYSQL_RES *meta = mysql_stmt_result_metadata(st);
    if (meta == NULL)
        return;
    unsigned n = mysql_num_fields(meta);
    MYSQL_FIELD *f = mysql_fetch_fields(meta);
    MYSQL_BIND r[8];
    char buf[8][128];
    unsigned long len[8];
    my_bool null[8];
    if (n > 8)
        die("%s: %u columns", what, n);
    memset(r, 0, sizeof(r));
    for (unsigned i = 0; i < n; i++) {
        printf("col\t%s\ttype=%d\tlength=%lu\tflags=%u\n", f[i].name, (int)f[i].type, f[i].length,
               f[i].flags);
        r[i].buffer_type = MYSQL_TYPE_STRING;
        r[i].buffer = buf[i];
        r[i].buffer_length = sizeof(buf[i]);
        r[i].length = &len[i];
        r[i].is_null = &null[i];
    }
    mysql_free_result(meta);
    if (mysql_stmt_bind_result(st, r) != 0)
        die("%s: bind result: %s", what, mysql_stmt_error(st));
    int rc;
    while ((rc = mysql_stmt_fetch(st)) == 0) {
        fputs("row", stdout);
        for (unsigned i = 0; i < n; i++)
            printf("\t%.*s", null[i] ? 4 : (int)len[i], null[i] ? "NULL" : buf[i]);
        fputc('\n', stdout);
    }
    if (rc != MYSQL_NO_DATA)
        die("%s: fetch: %d %s", what, rc, mysql_stmt_error(st));
    mysql_stmt_free_result(st);
}

/* A text query on A, its columns and rows printed as run() prints them. */
static void text(const char *sql, const char *what)
{
    if (mysql_query(a, sql) != 0)
        die("%s: %u (%s) %s", what, mysql_errno(a), mysql_sqlstate(a), mysql_error(a));
    MYSQL_RES *res = mysql_store_result(a);
    if (res == NULL)
        die("%s: no result: %s", what, mysql_error(a));
    printf("text\t%s\n", what);
    unsigned n = mysql_num_fields(res);
    MYSQL_FIELD *f = mysql_fetch_fields(res);
    for (unsigned i = 0; i < n; i++)
        printf("col\t%s\ttype=%d\tlength=%lu\tflags=%u\n", f[i].name, (int)f[i].type, f[i].length,
               f[i].flags);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) != NULL) {
        fputs("row", stdout);
        for (unsigned i = 0; i < n; i++)
            printf("\t%s", row[i] != NULL ? row[i] : "NULL");
        fputc('\n', stdout);
    }
    mysql_free_result(res);
}

static void table(void)
{
    query(a, "DROP TABLE IF EXISTS pp");
    query(a, "CREATE TABLE pp (v INT)");
    query(a, "INSERT INTO pp VALUES (1), (2), (3), (4), (5), (6)");
}

/* FOUND_ROWS() and ROW_COUNT() are the values of A's previous statement,
 * whatever B ran on the connection A used before. */
static void scenario_prev_values(void)
{
    table();
    MYSQL_STMT *both = prepare(a, "SELECT FOUND_ROWS(), ROW_COUNT() AS rc");
    MYSQL_STMT *param = prepare(a, "SELECT v, ROW_COUNT() + ? FROM pp WHERE v = 1");
    MYSQL_STMT *upd = prepare(a, "UPDATE pp SET v = v + 10 WHERE v > ?");
    MYSQL_STMT *ins = prepare(a, "INSERT INTO pp VALUES (ROW_COUNT() + 100)");
    MYSQL_STMT *cursor = prepare(a, "SELECT v, FOUND_ROWS() FROM pp WHERE v < 4 ORDER BY v");
    unsigned long type = CURSOR_TYPE_READ_ONLY, prefetch = 1;
    if (mysql_stmt_attr_set(cursor, STMT_ATTR_CURSOR_TYPE, &type) != 0 ||
        mysql_stmt_attr_set(cursor, STMT_ATTR_PREFETCH_ROWS, &prefetch) != 0)
        die("cursor: %s", mysql_stmt_error(cursor));
    int one = 1, four = 4;

    query(a, "SELECT v FROM pp");           /* FOUND_ROWS() 6 */
    query(a, "DELETE FROM pp WHERE v = 6"); /* ROW_COUNT() 1 */
    query(b, "SELECT 1 UNION SELECT 2 UNION SELECT 3");
    MYSQL_STMT *late = prepare(a, "SELECT ROW_COUNT(), FOUND_ROWS() FROM pp WHERE v = 2");
    run(late, NULL, "prepared after delete");
    run(both, NULL, "after delete");
    query(a, "SELECT v FROM pp WHERE v < 5"); /* FOUND_ROWS() 4 */
    query(b, "DELETE FROM pp WHERE v = 100");
    run(both, NULL, "after select");
    query(b, "SELECT 1");
    run(both, NULL, "after itself");
    query(b, "SELECT 1 UNION SELECT 2");
    run(cursor, NULL, "cursor"); /* fetched a row at a time */
    query(b, "SELECT 1");
    run(cursor, NULL, "cursor again");
    query(b, "SELECT 1");
    run(both, NULL, "after cursor");
    run(upd, &four, "update"); /* ROW_COUNT() 1 */
    query(b, "SELECT 1 UNION SELECT 2");
    run(param, &one, "after update");
    run(upd, &four, "update again"); /* ROW_COUNT() 1 (15 -> 25) */
    query(b, "DO 1");
    run(ins, NULL, "insert after update");
    run(upd, &one, "update many"); /* ROW_COUNT() 4 */
    run(both, NULL, "untouched");  /* nothing between: the server's own */
    query(a, "DO 1");              /* ROW_COUNT() 0 */
    query(b, "SELECT 1 UNION SELECT 2");
    run(both, NULL, "after do");
    query(b, "SELECT v FROM pp");
    if (mysql_query(a, "SELECT * FROM no_such_table") == 0) /* ROW_COUNT() -1 */
        die("no_such_table exists");
    run(both, NULL, "after error");
    query(b, "SELECT v FROM pp");
    if (mysql_query(a, "SELECT * FROM no_such_table") == 0)
        die("no_such_table exists");
    text("SELECT FOUND_ROWS(), ROW_COUNT() + 1, -ROW_COUNT()", "text after error");
    /* a SET, which halyard reads back on the same connection */
    query(a, "SELECT v FROM pp WHERE v < 3");
    query(a, "SET @x = 1");
    run(both, NULL, "after set");
    query(a, "SELECT v FROM pp");
    query(a, "SET @x = 2");
    text("SELECT FOUND_ROWS(), ROW_COUNT()", "text after set");
    mysql_stmt_close(late);
    mysql_stmt_close(cursor);
    mysql_stmt_close(both);
    mysql_stmt_close(param);
    mysql_stmt_close(upd);
    mysql_stmt_close(ins);
    query(a, "SELECT v FROM pp ORDER BY v");
}

/* Prepared under one sql_mode or character set, executed under another:
 * the server parsed the text under the first. B holds the connection A
 * prepared on (a transaction), so A's executions run on another, where
 * halyard prepares the statement again. */
static void scenario_prepare_env(void)
{
    table();
    query(a, "SET sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES,NO_BACKSLASH_ESCAPES')");
    MYSQL_STMT *quotes = prepare(a, "SELECT \"v\", LENGTH('a\\tb') FROM pp WHERE v = 2");
    MYSQL_STMT *rc = prepare(a, "SELECT ROW_COUNT(), \"v\" FROM pp WHERE v = 2");
    query(a, "SET sql_mode = DEFAULT");
    query(a, "SET NAMES latin1");
    MYSQL_STMT *names = prepare(a, "SELECT HEX(CONVERT('\xc3\xa9' USING utf8mb4)), 'x'");
    query(a, "SET NAMES utf8mb4");
    MYSQL_STMT *plain = prepare(a, "SELECT \"v\", LENGTH('a\\tb'), HEX('\xc3\xa9')");
    /* and in another schema since: the statements run in that of their
     * PREPARE, halyard's USE there and SET come together */
    query(a, "CREATE DATABASE IF NOT EXISTS ps_pool_other");
    query(a, "DROP TABLE IF EXISTS ps_pool_other.pp");
    query(a, "CREATE TABLE ps_pool_other.pp (v INT)");
    query(a, "INSERT INTO ps_pool_other.pp VALUES (7)");
    query(a, "USE ps_pool_other");
    query(b, "BEGIN");
    query(b, "SELECT 1");
    run(quotes, NULL, "quotes");
    run(names, NULL, "names");
    run(plain, NULL, "plain");
    /* prepared again where the statement before it ran, after a USE and a
     * SET there: ROW_COUNT() is still the DELETE's */
    query(a, "DELETE FROM ps_pool_other.pp WHERE v = 7");
    run(rc, NULL, "row count");
    query(a, "SELECT 1");
    run(quotes, NULL, "quotes again");
    MYSQL_RES *res;
    if (mysql_query(a, "SELECT @@sql_mode LIKE '%ANSI_QUOTES%', @@character_set_client, "
                       "@@collation_connection, DATABASE(), (SELECT MAX(v) FROM pp)") != 0 ||
        (res = mysql_store_result(a)) == NULL)
        die("state: %s", mysql_error(a));
    MYSQL_ROW row = mysql_fetch_row(res);
    printf("state\t%s\t%s\t%s\t%s\t%s\n", row[0], row[1], row[2], row[3], row[4]);
    mysql_free_result(res);
    query(b, "COMMIT");
    mysql_stmt_close(quotes);
    mysql_stmt_close(names);
    mysql_stmt_close(plain);
    mysql_stmt_close(rc);
}

/* One text, two meanings: A prepares it under ANSI_QUOTES ("v" a column),
 * B without ("v" a string), each on the connection the other used. */
static void scenario_cache_env(void)
{
    table();
    const char *sql = "SELECT \"v\" FROM pp WHERE v = 3";
    query(a, "SET sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')");
    MYSQL_STMT *sa = prepare(a, sql);
    run(sa, NULL, "a");
    MYSQL_STMT *sb = prepare(b, sql);
    run(sb, NULL, "b");
    run(sa, NULL, "a again");
    run(sb, NULL, "b again");
    mysql_stmt_close(sa);
    mysql_stmt_close(sb);
}

static const struct {
    const char *name;
    void (*run)(void);
} scenarios[] = {
    {"prev-values", scenario_prev_values},
    {"prepare-env", scenario_prepare_env},
    {"cache-env", scenario_cache_env},
};

static MYSQL *connect_to(const char *host, unsigned port, const char *user, const char *password,
                         const char *db)
{
    MYSQL *m = mysql_init(NULL);
    if (m == NULL)
        die("mysql_init failed");
    unsigned int timeout = 30;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (mysql_real_connect(m, host, user, password, db, port, NULL, 0) == NULL)
        die("connect: %u %s", mysql_errno(m), mysql_error(m));
    return m;
}

int main(int argc, char **argv)
{
    void (*scenario)(void) = NULL;
    for (size_t i = 0; argc == 7 && i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
        if (strcmp(argv[6], scenarios[i].name) == 0)
            scenario = scenarios[i].run;
    }
    long port = argc == 7 ? strtol(argv[2], NULL, 10) : 0;
    if (scenario == NULL || port <= 0 || port > 65535) {
        fputs("usage: ps_pool_client HOST PORT USER PASSWORD DB "
              "prev-values|prepare-env|cache-env\n",
              stderr);
        return 2;
    }
    a = connect_to(argv[1], (unsigned)port, argv[3], argv[4], argv[5]);
    b = connect_to(argv[1], (unsigned)port, argv[3], argv[4], argv[5]);
    scenario();
    mysql_close(b);
    mysql_close(a);
    fflush(stdout);
    return 0;
}
