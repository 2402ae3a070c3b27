/*
 * test_admin_sql.c: the pure parts of the SQL admin port, table-driven.
 *
 *   - admin_sql_plan: statements in, command line / local answer / ERR out
 *   - admin_sql_result: a JSON answer in, result-set packets out (column
 *     types, NULLs, DATETIME, the summary row, name/value rows)
 *   - config_admin_listen_parse: addresses, which are loopback, Unix sockets
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/admin/admin.h"
#include "halyard/config/config.h"
#include "halyard/core/textbuf.h"
#include "halyard/protocol/mysql_proto.h"

#include "../../src/admin/admin_int.h"

static const struct admin_sql_who OPERATOR = {.user = "admin",
                                              .host = "127.0.0.1",
                                              .id = 7,
                                              .version = "10.11.6-MariaDB",
                                              .role = ADMIN_ROLE_OPERATOR};
static const struct admin_sql_who VIEWER = {.user = "viewer",
                                            .host = "127.0.0.1",
                                            .id = 8,
                                            .version = "10.11.6-MariaDB",
                                            .role = ADMIN_ROLE_READ_ONLY};

static void test_plan(void **state)
{
    (void)state;
    static const struct {
        const char *sql;
        const struct admin_sql_who *who;
        enum admin_sql_plan_kind kind;
        const char *line; /* ADMIN: the command line; ERR: NULL */
        uint16_t code;
    } cases[] = {
        {"SHOW BACKENDS", &VIEWER, ADMIN_SQL_PLAN_ADMIN, "show backends --sql", 0},
        {"show pools;", &VIEWER, ADMIN_SQL_PLAN_ADMIN, "show pools --sql", 0},
        {"SHOW BACKUPS", &VIEWER, ADMIN_SQL_PLAN_ADMIN, "show backup --sql", 0},
        {"SHOW DIGESTS TOP 5", &VIEWER, ADMIN_SQL_PLAN_ADMIN, "show digests TOP 5 --sql", 0},
        {"/* hi */ SHOW EVENTS LAST 3 -- x", &VIEWER, ADMIN_SQL_PLAN_ADMIN,
         "show events LAST 3 --sql", 0},
        {"SHOW NOSUCH", &VIEWER, ADMIN_SQL_PLAN_ERR, NULL, 1146},
        {"SHOW", &VIEWER, ADMIN_SQL_PLAN_ERR, NULL, 1064},
        {"SHOW DIGESTS TOP x", &VIEWER, ADMIN_SQL_PLAN_ERR, NULL, 1064},
        {"SWITCHOVER", &VIEWER, ADMIN_SQL_PLAN_ERR, NULL, 1227},
        {"SWITCHOVER TO db2", &OPERATOR, ADMIN_SQL_PLAN_ADMIN, "SWITCHOVER TO db2", 0},
        {"RELOAD", &OPERATOR, ADMIN_SQL_PLAN_ADMIN, "RELOAD", 0},
        {"KILL SESSION 12", &OPERATOR, ADMIN_SQL_PLAN_ADMIN, "KILL SESSION 12", 0},
        {"KILL SESSION 12", &VIEWER, ADMIN_SQL_PLAN_ERR, NULL, 1227},
        {"SET BACKEND db3 OFFLINE", &OPERATOR, ADMIN_SQL_PLAN_ADMIN, "backend db3 maint", 0},
        {"set backend `db3` drain nowait", &OPERATOR, ADMIN_SQL_PLAN_ADMIN,
         "backend db3 drain nowait", 0},
        {"SET BACKEND db3 ONLINE", &VIEWER, ADMIN_SQL_PLAN_ERR, NULL, 1227},
        {"SET BACKEND db3 UP", &OPERATOR, ADMIN_SQL_PLAN_ERR, NULL, 1064},
        {"TEST ALERT", &OPERATOR, ADMIN_SQL_PLAN_ADMIN, "test-alert", 0},
        {"TAKEOVER", &OPERATOR, ADMIN_SQL_PLAN_ERR, NULL, 1235},
        {"HELP", &VIEWER, ADMIN_SQL_PLAN_ADMIN, "HELP --sql", 0},
        {"DROP TABLE t", &OPERATOR, ADMIN_SQL_PLAN_ERR, NULL, 1064},
        {"SHOW BACKENDS; SHOW POOLS", &VIEWER, ADMIN_SQL_PLAN_ERR, NULL, 1064},
        {"SET BACKEND 'db 3' MAINT", &OPERATOR, ADMIN_SQL_PLAN_ERR, NULL, 1064},
        {"  ", &VIEWER, ADMIN_SQL_PLAN_ERR, NULL, 1065},
        {"SET NAMES utf8mb4", &VIEWER, ADMIN_SQL_PLAN_OK, NULL, 0},
        {"SET autocommit=0", &VIEWER, ADMIN_SQL_PLAN_OK, NULL, 0},
        {"COMMIT", &VIEWER, ADMIN_SQL_PLAN_OK, NULL, 0},
        {"SELECT @@version_comment LIMIT 1", &VIEWER, ADMIN_SQL_PLAN_VALUE, NULL, 0},
        {"SELECT DATABASE()", &VIEWER, ADMIN_SQL_PLAN_VALUE, NULL, 0},
        {"SELECT * FROM backends", &VIEWER, ADMIN_SQL_PLAN_ERR, NULL, 1064},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct admin_sql_plan p;
        admin_sql_plan(cases[i].sql, strlen(cases[i].sql), cases[i].who, &p);
        if (p.kind != cases[i].kind || (cases[i].line != NULL && strcmp(p.line, cases[i].line)) ||
            (p.kind == ADMIN_SQL_PLAN_ERR && p.code != cases[i].code))
            fail_msg("%s: kind %d line '%s' code %u (%s)", cases[i].sql, p.kind, p.line, p.code,
                     p.msg);
    }
    struct admin_sql_plan p;
    admin_sql_plan("SELECT DATABASE()", 17, &VIEWER, &p);
    assert_true(p.val_null);
    admin_sql_plan("SELECT CONNECTION_ID()", 22, &VIEWER, &p);
    assert_string_equal(p.val, "8");
    assert_true(p.val_int);
    admin_sql_plan("SHOW CONFIG", 11, &VIEWER, &p);
    assert_true(p.shape == ADMIN_SQL_NAME_VALUE && p.rows);
    assert_string_equal(p.table, "config");
    /* a document with a list in it is one row; a table's list, its rows */
    admin_sql_plan("SHOW BACKUPS", 12, &VIEWER, &p);
    assert_true(p.shape == ADMIN_SQL_ONE_ROW && p.rows);
    assert_string_equal(p.table, "backup");
    admin_sql_plan("SHOW CACHE", 10, &VIEWER, &p);
    assert_true(p.shape == ADMIN_SQL_ONE_ROW && p.rows);
    admin_sql_plan("SHOW STATUS", 11, &VIEWER, &p);
    assert_true(p.shape == ADMIN_SQL_ONE_ROW && p.rows);
    admin_sql_plan("SHOW SHARDS", 11, &VIEWER, &p);
    assert_true(p.shape == ADMIN_SQL_LISTS && p.rows);
    assert_string_equal(p.line, "show shards --sql");
    admin_sql_plan("RELOAD", 6, &OPERATOR, &p);
    assert_false(p.rows);
}

/* The packets of a result set, walked: column definitions' types, rows'
 * values (NULL as "\xfb"). */
struct walked {
    size_t ncols, nrows;
    uint8_t types[16];
    char names[16][32];
    char cells[8][16][64];
};

static void walk(const struct textbuf *b, struct walked *w)
{
    memset(w, 0, sizeof(*w));
    const uint8_t *p = (const uint8_t *)b->data, *end = p + b->len;
    int eofs = 0;
    uint8_t seq = 1;
    for (size_t k = 0; p < end; k++) {
        uint32_t n = mysql_hdr_len(p);
        assert_int_equal(mysql_hdr_seq(p), seq++);
        const uint8_t *q = p + MYSQL_HEADER_SIZE;
        p += MYSQL_HEADER_SIZE + n;
        assert_true(p <= end);
        if (k == 0) {
            w->ncols = q[0];
        } else if (n == 5 && q[0] == 0xfe) {
            eofs++;
        } else if (eofs == 0) {
            struct mysql_coldef cd;
            assert_int_equal(mysql_coldef_decode(q, n, false, &cd), HY_OK);
            size_t c = k - 1;
            w->types[c] = cd.type;
            snprintf(w->names[c], sizeof(w->names[c]), "%.*s", (int)cd.name_len, cd.name);
        } else {
            struct mysql_rd rd;
            mysql_rd_init(&rd, q, n);
            for (size_t c = 0; c < w->ncols; c++) {
                if (q[rd.p - q] == 0xfb) {
                    (void)mysql_rd_bytes(&rd, 1);
                    snprintf(w->cells[w->nrows][c], 64, "NULL");
                    continue;
                }
                size_t len;
                const uint8_t *v = mysql_rd_lenenc_str(&rd, &len);
                assert_false(rd.bad);
                snprintf(w->cells[w->nrows][c], 64, "%.*s", (int)len, v);
            }
            w->nrows++;
        }
    }
    assert_int_equal(eofs, 2);
}

static void test_result(void **state)
{
    (void)state;
    static const char json[] =
        "{\"total\":9,\"rows\":[{\"name\":\"db1\",\"n\":3,\"lag\":null,\"ok\":true,"
        "\"at\":\"2026-11-21T20:30:01Z\",\"p\":0.5,\"list\":[1,\"a\\\"b\"]},"
        "{\"name\":\"d\\u00e9\",\"n\":-4,\"lag\":1.25,\"ok\":false,\"at\":null,\"p\":2},"
        "{\"name\":\"x\",\"total\":4}],\"missing_workers\":[]}";
    struct textbuf b;
    textbuf_init(&b, 1 << 20);
    uint8_t seq = 1;
    assert_int_equal(admin_sql_result(&b, &seq, "t", ADMIN_SQL_ROWS, json, strlen(json)), HY_OK);
    struct walked w;
    walk(&b, &w);
    assert_int_equal(w.ncols, 8);
    assert_string_equal(w.names[0], "name");
    assert_int_equal(w.types[1], MYSQL_TYPE_LONGLONG);
    assert_int_equal(w.types[2], MYSQL_TYPE_DOUBLE);
    assert_int_equal(w.types[3], MYSQL_TYPE_TINY);
    assert_int_equal(w.types[4], 12); /* DATETIME */
    assert_int_equal(w.types[5], MYSQL_TYPE_DOUBLE);
    assert_int_equal(w.types[6], MYSQL_TYPE_VAR_STRING);
    assert_string_equal(w.names[7], "total");
    assert_int_equal(w.types[7], MYSQL_TYPE_LONGLONG);
    assert_int_equal(w.nrows, 4); /* the summary (total is a column), then three */
    assert_string_equal(w.cells[0][0], "NULL");
    assert_string_equal(w.cells[0][7], "9");
    assert_string_equal(w.cells[1][2], "NULL");
    assert_string_equal(w.cells[1][3], "1");
    assert_string_equal(w.cells[1][4], "2026-11-21 20:30:01");
    assert_string_equal(w.cells[1][6], "[1,\"a\\\"b\"]");
    assert_string_equal(w.cells[2][0], "d\xc3\xa9");
    assert_string_equal(w.cells[2][1], "-4");
    assert_string_equal(w.cells[2][3], "0");
    assert_string_equal(w.cells[3][1], "NULL"); /* a member the row lacks */

    /* one row: the document's values, its (empty) list as its JSON text,
     * never the list's name as a lone column */
    textbuf_reset(&b);
    seq = 1;
    static const char doc[] = "{\"state\":\"off\",\"hits\":7,\"at\":null,\"copies\":[]}";
    assert_int_equal(admin_sql_result(&b, &seq, "backup", ADMIN_SQL_ONE_ROW, doc, strlen(doc)),
                     HY_OK);
    walk(&b, &w);
    assert_int_equal(w.ncols, 4);
    assert_int_equal(w.nrows, 1);
    assert_string_equal(w.names[1], "hits");
    assert_int_equal(w.types[1], MYSQL_TYPE_LONGLONG);
    assert_string_equal(w.cells[0][1], "7");
    assert_string_equal(w.names[3], "copies");
    assert_string_equal(w.cells[0][3], "[]");

    /* a result set per list (show shards): a zeroed one's columns and no
     * row, the next's rows, a list of names as one column; every result
     * set but the last says another follows */
    textbuf_reset(&b);
    seq = 1;
    static const char lists[] = "{\"prototype\":[\"schemas\"],\"schemas\":[{\"schema\":\"\","
                                "\"line\":0}],\"groups\":[{\"group\":\"a\",\"n\":3}],"
                                "\"reference\":[\"d.t\"]}";
    assert_int_equal(admin_sql_result(&b, &seq, "shards", ADMIN_SQL_LISTS, lists, strlen(lists)),
                     HY_OK);
    size_t ncols[3] = {0}, nrows[3] = {0}, set = 0, eofs = 0;
    uint16_t status[6] = {0};
    char last_cell[16] = "";
    for (const uint8_t *q = (const uint8_t *)b.data, *end = q + b.len; q < end;) {
        uint32_t n = mysql_hdr_len(q);
        const uint8_t *pl = q + MYSQL_HEADER_SIZE;
        q += MYSQL_HEADER_SIZE + n;
        assert_true(set < 3);
        if (n == 5 && pl[0] == 0xfe) {
            status[eofs++] = (uint16_t)(pl[3] | pl[4] << 8);
            set += eofs % 2 == 0;
        } else if (eofs % 2 == 0 && ncols[set] == 0) {
            ncols[set] = pl[0];
        } else if (eofs % 2 == 1) {
            nrows[set]++;
            snprintf(last_cell, sizeof(last_cell), "%.*s", pl[0], (const char *)pl + 1);
        }
    }
    assert_int_equal(set, 3);
    assert_int_equal(ncols[0], 2); /* schema, line: and no row */
    assert_int_equal(nrows[0], 0);
    assert_int_equal(ncols[1], 2);
    assert_int_equal(nrows[1], 1);
    assert_int_equal(ncols[2], 1); /* reference: its names */
    assert_int_equal(nrows[2], 1);
    assert_string_equal(last_cell, "d.t");
    assert_true(status[1] & SERVER_MORE_RESULTS_EXISTS);
    assert_true(status[3] & SERVER_MORE_RESULTS_EXISTS);
    assert_false(status[5] & SERVER_MORE_RESULTS_EXISTS);

    /* name/value, and what is not JSON */
    textbuf_reset(&b);
    seq = 1;
    static const char cfg[] = "{\"a\":1,\"l\":[{\"b\":\"x\"}],\"o\":{\"c\":true}}";
    assert_int_equal(admin_sql_result(&b, &seq, "config", ADMIN_SQL_NAME_VALUE, cfg, strlen(cfg)),
                     HY_OK);
    walk(&b, &w);
    assert_int_equal(w.nrows, 3);
    assert_string_equal(w.cells[0][0], "a");
    assert_string_equal(w.cells[1][0], "l.[0].b");
    assert_string_equal(w.cells[1][1], "x");
    assert_string_equal(w.cells[2][0], "o.c");
    assert_string_equal(w.cells[2][1], "true");
    textbuf_reset(&b);
    assert_int_equal(admin_sql_result(&b, &seq, "t", ADMIN_SQL_ROWS, "OK done", 7), HY_ERROR);
    assert_int_equal(admin_sql_result(&b, &seq, "t", ADMIN_SQL_ROWS, "{\"a\":[1,", 8), HY_ERROR);
    assert_int_equal(b.len, 0);
    textbuf_free(&b);
}

/* An empty list asked for with --sql: its renderer draws one zeroed row,
 * marked a prototype, and the result set names the columns a full answer
 * has, typed, with no row. */
static void test_prototype(void **state)
{
    (void)state;
    struct admin_cmd cmd;
    char err[128];
    assert_int_equal(admin_parse("show pools --sql", 16, &cmd, err, sizeof(err)), HY_OK);
    assert_true(cmd.json && cmd.sql && cmd.verb == ADMIN_SHOW_POOLS);
    assert_false(json_prototype(&cmd, 1));
    assert_true(json_prototype(&cmd, 0));
    static const struct admin_pool_row zero, one = {.backend = "db1", .user = "app", .in_use = 2};
    struct textbuf j, b;
    textbuf_init(&j, 1 << 20);
    textbuf_init(&b, 1 << 20);
    textbuf_puts(&j, "x"); /* the mark goes where the answer starts */
    admin_render_pools(&j, &zero, 1, NULL, 0, true);
    json_prototype_mark(&j, 1);
    assert_memory_equal(j.data, "x{\"prototype\":true,\"pools\":[{", 28);
    uint8_t seq = 1;
    assert_int_equal(admin_sql_result(&b, &seq, "pools", ADMIN_SQL_ROWS, j.data + 1, j.len - 1),
                     HY_OK);
    struct walked empty, full;
    walk(&b, &empty);
    assert_int_equal(empty.nrows, 0);
    textbuf_reset(&j);
    textbuf_reset(&b);
    admin_render_pools(&j, &one, 1, NULL, 0, true);
    seq = 1;
    assert_int_equal(admin_sql_result(&b, &seq, "pools", ADMIN_SQL_ROWS, j.data, j.len), HY_OK);
    walk(&b, &full);
    assert_int_equal(full.nrows, 1);
    assert_int_equal(empty.ncols, 12);
    assert_int_equal(empty.ncols, full.ncols);
    for (size_t c = 0; c < full.ncols; c++) {
        assert_string_equal(empty.names[c], full.names[c]);
        assert_int_equal(empty.types[c], full.types[c]);
    }
    assert_string_equal(empty.names[2], "in_use");
    assert_int_equal(empty.types[2], MYSQL_TYPE_LONGLONG);
    textbuf_free(&j);
    textbuf_free(&b);
}

static void test_listen_parse(void **state)
{
    (void)state;
    struct admin_listen_addr a;
    char why[256];
    assert_int_equal(config_admin_listen_parse("127.0.0.1:6032", &a, why, sizeof(why)), HY_OK);
    assert_int_equal(a.port, 6032);
    assert_int_equal(config_admin_listen_parse("localhost:1", &a, why, sizeof(why)), HY_OK);
    assert_string_equal(a.host, "127.0.0.1");
    assert_int_equal(config_admin_listen_parse("[::1]:6032", &a, why, sizeof(why)), HY_OK);
    assert_true(a.v6);
    assert_int_equal(config_admin_listen_parse("/run/h.sock", &a, why, sizeof(why)), HY_OK);
    assert_true(a.unix_path);
    assert_false(a.loopback);
    /* Which addresses are loopback; cfg_fill_admin_sql wants
     * admin_require_tls for the others. */
    static const struct {
        const char *spec;
        bool loopback;
    } loop[] = {{"127.0.0.1:6032", true}, {"127.3.4.5:6032", true}, {"[::1]:6032", true},
                {"0.0.0.0:6032", false},  {"[::]:6032", false},     {"10.1.2.3:6032", false}};
    for (size_t i = 0; i < sizeof(loop) / sizeof(loop[0]); i++) {
        assert_int_equal(config_admin_listen_parse(loop[i].spec, &a, why, sizeof(why)), HY_OK);
        assert_int_equal(a.loopback, loop[i].loopback);
    }
    assert_int_equal(config_admin_listen_parse("db.example:6032", &a, why, sizeof(why)), HY_ERROR);
    assert_int_equal(config_admin_listen_parse("127.0.0.1", &a, why, sizeof(why)), HY_ERROR);
    assert_int_equal(config_admin_listen_parse("127.0.0.1:0", &a, why, sizeof(why)), HY_ERROR);
    assert_int_equal(config_admin_listen_parse("127.0.0.1:x", &a, why, sizeof(why)), HY_ERROR);
    /* the port is digits only: no space, no sign, no junk after it */
    assert_int_equal(config_admin_listen_parse("127.0.0.1: 6032", &a, why, sizeof(why)), HY_ERROR);
    assert_int_equal(config_admin_listen_parse("127.0.0.1:+6032", &a, why, sizeof(why)), HY_ERROR);
    assert_int_equal(config_admin_listen_parse("127.0.0.1:6032 ", &a, why, sizeof(why)), HY_ERROR);
    assert_int_equal(config_admin_listen_parse("127.0.0.1:", &a, why, sizeof(why)), HY_ERROR);
    assert_int_equal(config_admin_listen_parse("127.0.0.1:65536", &a, why, sizeof(why)), HY_ERROR);
    assert_int_equal(
        config_admin_listen_parse("127.0.0.1:18446744073709551617", &a, why, sizeof(why)),
        HY_ERROR);
}

static void test_config(void **state)
{
    (void)state;
    static const char base[] =
        "listeners = ( { name = \"main\"; address = \"127.0.0.1\"; port = 6033; } );\n"
        "users = ( { name = \"app\"; password_hash = \"\"; } );\n"
        "backends = ( { name = \"db1\"; address = \"127.0.0.1\"; port = 3310; role = "
        "\"primary\"; } );\n";
    static const struct {
        const char *extra, *err; /* err NULL: loads */
    } cases[] = {
        {"admin_listen = \"127.0.0.1:6032\";\nadmin_accounts = ( { name = \"a\"; password_hash = "
         "\"*5BCB3E6AC345B435C7C2E6B7949A04CE6F6563D3\"; role = \"operator\"; } );\n",
         NULL},
        {"admin_listen = \"127.0.0.1:6032\";\n",
         "t.conf:4: admin_listen: no admin_accounts: list at least one account to log in with"},
        {"admin_listen = \"0.0.0.0:6032\";\nadmin_accounts = ( { name = \"a\"; password_hash = "
         "\"*5BCB3E6AC345B435C7C2E6B7949A04CE6F6563D3\"; } );\n",
         "t.conf:4: admin_listen: 0.0.0.0 is not a loopback address: the SQL admin port "
         "listens beyond loopback (127.0.0.0/8, ::1) and Unix sockets only with TLS required "
         "and a certificate: set admin_require_tls = true"},
        {"admin_listen = \"0.0.0.0:6032\";\nadmin_require_tls = true;\n",
         "t.conf:5: admin_require_tls: needs TLS: set tls_cert and tls_key"},
        {"admin_accounts = ( { name = \"a\"; password_hash = \"\"; } );\n",
         "admin_accounts.[0].password_hash: not a password hash"},
        {"admin_accounts = ( { name = \"a\"; password_hash = "
         "\"*5BCB3E6AC345B435C7C2E6B7949A04CE6F6563D3\"; role = \"root\"; } );\n",
         "role"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[1024], err[512] = "";
        snprintf(text, sizeof(text), "%s%s", base, cases[i].extra);
        struct config *cfg = NULL;
        hy_status_t rc = config_load_string(text, "t.conf", &cfg, err, sizeof(err));
        if (cases[i].err == NULL) {
            if (rc != HY_OK)
                fail_msg("case %zu: %s", i, err);
            assert_int_equal(cfg->n_admin_accounts, 1);
            assert_int_equal(cfg->admin_accounts[0].role, ADMIN_ROLE_OPERATOR);
            config_put(cfg);
        } else if (rc == HY_OK || strstr(err, cases[i].err) == NULL) {
            fail_msg("case %zu: want '%s', got '%s'", i, cases[i].err, err);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan),      cmocka_unit_test(test_result),
        cmocka_unit_test(test_prototype), cmocka_unit_test(test_listen_parse),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests_name("admin_sql", tests, NULL, NULL);
}
