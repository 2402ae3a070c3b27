/*
 * test_monitor.c: the monitor's pure parts and the SQL client's result
 * parser.
 *
 *   - SHOW ALL SLAVES STATUS: no row (not a replica), a healthy replica,
 *     a stopped SQL thread (NULL lag: broken, not 0), IO thread
 *     connecting, multi-source (worst lag, any stopped thread), a missing
 *     column is an error
 *   - who is the primary: sticky while a candidate or not yet judged,
 *     moves when the primary is DOWN or read-only, the config's primary
 *     first among candidates, none when none qualifies
 *   - the text result parser fed raw packets: OK, ERR, a result set with
 *     NULLs, multi-results (the first kept), malformed input
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/cluster/galera.h"
#include "halyard/cluster/monitor.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/protocol/sqlclient.h"

/* A result built by hand: columns, then rows of cells ("\x01" = NULL). */
#define NUL_CELL "\x01"

static void build(struct sqlresult *res, const char *const *cols, size_t ncols,
                  const char *const *cells, size_t nrows)
{
    memset(res, 0, sizeof(*res));
    res->ok = true;
    res->n_cols = ncols;
    res->col_names = calloc(ncols, sizeof(char *));
    for (size_t c = 0; c < ncols; c++)
        res->col_names[c] = strdup(cols[c]);
    res->n_rows = nrows;
    res->rows = calloc(nrows ? nrows : 1, sizeof(char **));
    for (size_t r = 0; r < nrows; r++) {
        /* the layout sqlresult_clear frees: one block per row */
        size_t need = ncols * sizeof(char *);
        for (size_t c = 0; c < ncols; c++)
            need += strlen(cells[r * ncols + c]) + 1;
        char **row = malloc(need);
        char *text = (char *)(row + ncols);
        for (size_t c = 0; c < ncols; c++) {
            const char *v = cells[r * ncols + c];
            if (strcmp(v, NUL_CELL) == 0) {
                row[c] = NULL;
                continue;
            }
            strcpy(text, v);
            row[c] = text;
            text += strlen(v) + 1;
        }
        res->rows[r] = row;
    }
}

static const char *const slave_cols[] = {
    "Connection_name",  "Slave_IO_State",    "Master_Host",           "Master_Port",
    "Slave_IO_Running", "Slave_SQL_Running", "Last_IO_Errno",         "Last_IO_Error",
    "Last_SQL_Errno",   "Last_SQL_Error",    "Seconds_Behind_Master", "Using_Gtid",
    "Gtid_IO_Pos",
};
#define NSLAVE HY_ARRAY_SIZE(slave_cols)

static const char *const var_cols[] = {"Variable_name", "Value"};

/* The rows a Synced node of MariaDB 10.11 answers, then a desynced one in
 * a non-Primary component that rejects queries, then wsrep_on = OFF. */
static void test_wsrep(void **state)
{
    (void)state;
    const char *status[] = {"wsrep_cluster_size",
                            "3",
                            "wsrep_cluster_status",
                            "Primary",
                            "wsrep_local_recv_queue",
                            "0",
                            "wsrep_local_state",
                            "4",
                            "wsrep_ready",
                            "ON",
                            "wsrep_other",
                            "x",
                            "wsrep_incoming_addresses",
                            "10.0.0.1:3306,db2:3307,10.0.0.3:3306",
                            "wsrep_local_index",
                            "1"};
    const char *vars[] = {"wsrep_desync", "OFF", "wsrep_on", "ON", "wsrep_reject_queries", "NONE"};
    struct sqlresult a, b;
    build(&a, var_cols, 2, status, 8);
    build(&b, var_cols, 2, vars, 3);
    struct galera_node g = {0};
    monitor_parse_wsrep(&a, &g);
    monitor_parse_wsrep(&b, &g);
    assert_int_equal(g.local_state, 4);
    assert_true(g.ready && g.primary && !g.desync && !g.reject_queries && !g.wsrep_off);
    assert_int_equal(g.cluster_size, 3);
    assert_int_equal(g.recv_queue, 0);
    assert_string_equal(g.self_address, "db2:3307"); /* the list's entry at its index */
    sqlresult_clear(&a);
    sqlresult_clear(&b);

    const char *status2[] = {"wsrep_cluster_size",
                             "1",
                             "wsrep_cluster_status",
                             "non-Primary",
                             "wsrep_local_recv_queue",
                             "17",
                             "wsrep_local_state",
                             "2",
                             "wsrep_ready",
                             "OFF",
                             "wsrep_x",
                             NUL_CELL};
    const char *vars2[] = {"wsrep_desync", "ON", "wsrep_on", "ON", "wsrep_reject_queries", "ALL"};
    build(&a, var_cols, 2, status2, 6);
    build(&b, var_cols, 2, vars2, 3);
    g = (struct galera_node){0};
    monitor_parse_wsrep(&a, &g);
    monitor_parse_wsrep(&b, &g);
    assert_int_equal(g.local_state, 2);
    assert_false(g.ready || g.primary);
    assert_true(g.desync && g.reject_queries);
    assert_int_equal(g.cluster_size, 1);
    assert_int_equal(g.recv_queue, 17);
    assert_string_equal(g.self_address, ""); /* no index, no list: unknown */
    sqlresult_clear(&a);
    sqlresult_clear(&b);

    /* A server without Galera: the status rows are absent, wsrep_on OFF. */
    const char *vars3[] = {"wsrep_desync",         "OFF", "wsrep_on", "OFF",
                           "wsrep_reject_queries", "NONE"};
    build(&a, var_cols, 2, NULL, 0);
    build(&b, var_cols, 2, vars3, 3);
    g = (struct galera_node){0};
    monitor_parse_wsrep(&a, &g);
    monitor_parse_wsrep(&b, &g);
    assert_true(g.wsrep_off);
    assert_int_equal(g.local_state, 0);
    sqlresult_clear(&a);
    sqlresult_clear(&b);
}

static void test_repl_none(void **state)
{
    (void)state;
    struct sqlresult res;
    build(&res, slave_cols, NSLAVE, NULL, 0);
    struct monitor_repl r;
    char why[160];
    assert_int_equal(monitor_parse_replication(&res, &r, why, sizeof(why)), HY_OK);
    assert_false(r.replicating);
    assert_int_equal(r.lag_s, -1);
    sqlresult_clear(&res);
}

static void test_repl_healthy(void **state)
{
    (void)state;
    const char *cells[] = {"",          "Waiting for master to send event",
                           "127.0.0.1", "25330",
                           "Yes",       "Yes",
                           "0",         "",
                           "0",         "",
                           "3",         "Slave_Pos",
                           "0-1-42"};
    struct sqlresult res;
    build(&res, slave_cols, NSLAVE, cells, 1);
    struct monitor_repl r;
    char why[160];
    assert_int_equal(monitor_parse_replication(&res, &r, why, sizeof(why)), HY_OK);
    assert_true(r.replicating);
    assert_int_equal(r.n_sources, 1);
    assert_string_equal(r.source_host, "127.0.0.1");
    assert_int_equal(r.source_port, 25330);
    assert_true(r.io_running);
    assert_true(r.sql_running);
    assert_false(r.io_connecting);
    assert_int_equal(r.lag_s, 3);
    assert_true(r.using_gtid);
    assert_string_equal(r.gtid_io_pos, "0-1-42");
    sqlresult_clear(&res);
}

/* Cells that are not numbers: each read as its documented default, never
 * as a 0 that means something (no lag, no error, an empty queue). */
static void test_not_numbers(void **state)
{
    (void)state;
    const char *cells[] = {"",      "Waiting for master to send event",
                           "db1",   "x3306",
                           "Yes",   "Yes",
                           "boom",  "error reconnecting",
                           "0",     "",
                           "soon",  "Slave_Pos",
                           "0-1-42"};
    struct sqlresult res;
    build(&res, slave_cols, NSLAVE, cells, 1);
    struct monitor_repl r;
    char why[160];
    assert_int_equal(monitor_parse_replication(&res, &r, why, sizeof(why)), HY_OK);
    assert_int_equal(r.source_port, 0);      /* not known */
    assert_int_equal(r.lag_s, -1);           /* unknown, not caught up */
    assert_int_equal(r.last_io_errno, 2000); /* CR_UNKNOWN_ERROR, not "no error" */
    assert_string_equal(r.last_io_error, "error reconnecting");
    assert_int_equal(r.last_sql_errno, 0);
    sqlresult_clear(&res);

    const char *status[] = {"wsrep_local_recv_queue", "lots", "wsrep_local_state", "4x",
                            "wsrep_cluster_size",     "-3"};
    build(&res, var_cols, 2, status, 3);
    struct galera_node g = {0};
    monitor_parse_wsrep(&res, &g);
    assert_true(g.recv_queue == INT64_MAX); /* unknown: over any max_recv_queue */
    assert_int_equal(g.local_state, 0);     /* unknown, not Synced */
    assert_int_equal(g.cluster_size, 0);
    sqlresult_clear(&res);
}

static void test_repl_sql_stopped(void **state)
{
    (void)state;
    /* STOP SLAVE SQL_THREAD: Seconds_Behind_Master is NULL, which is
     * "broken", not "no lag". */
    const char *cells[] = {"",          "Waiting for master to send event",
                           "127.0.0.1", "25330",
                           "Yes",       "No",
                           "0",         "",
                           "1062",      "Duplicate entry",
                           NUL_CELL,    "Slave_Pos",
                           "0-1-42"};
    struct sqlresult res;
    build(&res, slave_cols, NSLAVE, cells, 1);
    struct monitor_repl r;
    char why[160];
    assert_int_equal(monitor_parse_replication(&res, &r, why, sizeof(why)), HY_OK);
    assert_true(r.io_running);
    assert_false(r.sql_running);
    assert_int_equal(r.lag_s, -1);
    assert_int_equal(r.last_sql_errno, 1062);
    assert_string_equal(r.last_sql_error, "Duplicate entry");

    /* The health transition sees it as broken: LAGGING with a limit. */
    struct backend_track t = {.health = BACKEND_ONLINE};
    struct backend_policy p = {.rise = 2, .fall = 3, .max_lag_ms = 10000};
    struct backend_check chk = {.ok = true,
                                .is_replica = true,
                                .lag_ms = -1,
                                .repl_broken = !r.sql_running || !r.io_running};
    char w[200];
    assert_int_equal(backend_track_feed(&t, &p, &chk, w, sizeof(w)), BACKEND_LAGGING);
    assert_string_equal(w, "replication broken");
    sqlresult_clear(&res);
}

static void test_repl_connecting_and_multi(void **state)
{
    (void)state;
    const char *cells[] = {
        "",           "Reconnecting",
        "127.0.0.1",  "25330",
        "Connecting", "Yes",
        "2003",       "can't connect",
        "0",          "",
        NUL_CELL,     "Slave_Pos",
        "0-1-42",     "b",
        "Waiting",    "10.0.0.9",
        "3306",       "Yes",
        "Yes",        "0",
        "",           "0",
        "",           "12",
        "No",         "",
    };
    struct sqlresult res;
    build(&res, slave_cols, NSLAVE, cells, 2);
    struct monitor_repl r;
    char why[160];
    assert_int_equal(monitor_parse_replication(&res, &r, why, sizeof(why)), HY_OK);
    assert_int_equal(r.n_sources, 2);
    assert_string_equal(r.source_host, "127.0.0.1"); /* the first row */
    assert_false(r.io_running);
    assert_true(r.io_connecting);
    assert_true(r.sql_running);
    assert_int_equal(r.lag_s, -1); /* one NULL makes the whole unknown */
    assert_int_equal(r.last_io_errno, 2003);
    sqlresult_clear(&res);

    /* Both known: the worst lag. */
    const char *cells2[] = {
        "",  "Waiting", "127.0.0.1", "25330", "Yes", "Yes", "0", "", "0", "", "4",  "Slave_Pos", "",
        "b", "Waiting", "10.0.0.9",  "3306",  "Yes", "Yes", "0", "", "0", "", "12", "No",        "",
    };
    build(&res, slave_cols, NSLAVE, cells2, 2);
    assert_int_equal(monitor_parse_replication(&res, &r, why, sizeof(why)), HY_OK);
    assert_int_equal(r.lag_s, 12);
    assert_true(r.io_running && r.sql_running);
    sqlresult_clear(&res);
}

static void test_repl_missing_column(void **state)
{
    (void)state;
    const char *cols[] = {"Master_Host", "Master_Port", "Slave_IO_Running", "Slave_SQL_Running"};
    const char *cells[] = {"h", "1", "Yes", "Yes"};
    struct sqlresult res;
    build(&res, cols, 4, cells, 1);
    struct monitor_repl r;
    char why[160];
    assert_int_equal(monitor_parse_replication(&res, &r, why, sizeof(why)), HY_ERROR);
    assert_string_equal(why, "SHOW ALL SLAVES STATUS lacks Seconds_Behind_Master");
    sqlresult_clear(&res);
}

/* ---- who is the primary --------------------------------------------------- */

#define UNSEEN                                                                                     \
    {                                                                                              \
        .seen_ok = false                                                                           \
    }
#define CAND                                                                                       \
    {                                                                                              \
        .seen_ok = true, .candidate = true                                                         \
    }
#define CAND_CFG                                                                                   \
    {                                                                                              \
        .seen_ok = true, .candidate = true, .config_primary = true                                 \
    }
#define REPLICA                                                                                    \
    {                                                                                              \
        .seen_ok = true                                                                            \
    }
#define DOWN                                                                                       \
    {                                                                                              \
        .down = true                                                                               \
    }
#define DOWN_CFG                                                                                   \
    {                                                                                              \
        .down = true, .config_primary = true                                                       \
    }
#define UNSEEN_CFG                                                                                 \
    {                                                                                              \
        .config_primary = true                                                                     \
    }

static void test_pick_primary(void **state)
{
    (void)state;
    struct case_ {
        struct monitor_role_in in[3];
        int cur;
        int expect;
        const char *what;
    } cases[] = {
        {{UNSEEN_CFG, UNSEEN, UNSEEN}, 0, 0, "nothing seen: the config's primary keeps it"},
        {{CAND_CFG, REPLICA, REPLICA}, 0, 0, "confirmed"},
        {{CAND_CFG, CAND, REPLICA}, 0, 0, "a second writable server does not take it"},
        {{UNSEEN_CFG, CAND, REPLICA}, 0, 0, "failing but not DOWN: kept"},
        {{DOWN_CFG, CAND, REPLICA}, 0, 1, "DOWN and another is writable: it moves"},
        {{DOWN_CFG, REPLICA, REPLICA}, 0, 0, "DOWN, no candidate: kept (writes wait)"},
        {{REPLICA, CAND, REPLICA}, 0, 1, "switched over by hand: followed"},
        {{REPLICA, REPLICA, REPLICA}, 0, -1, "read-only everywhere: no primary"},
        {{CAND_CFG, CAND, REPLICA}, -1, 0, "none yet: the config's primary first"},
        {{REPLICA, CAND, CAND}, -1, 1, "none yet: the first in config order"},
        {{CAND_CFG, CAND, REPLICA}, 1, 1, "sticky on the current one, whatever the config"},
        {{DOWN, UNSEEN, REPLICA}, -1, -1, "none and no candidate"},
    };
    for (size_t i = 0; i < HY_ARRAY_SIZE(cases); i++) {
        int got = monitor_pick_primary(cases[i].in, 3, cases[i].cur);
        if (got != cases[i].expect)
            fail_msg("case %zu (%s): got %d, expected %d", i, cases[i].what, got, cases[i].expect);
    }
}

/* ---- the result parser ------------------------------------------------------ */

struct pk {
    uint8_t b[256];
    size_t n;
};

static struct pk ok_pkt(uint64_t affected, uint16_t status)
{
    struct pk p;
    p.n = mysql_ok_encode(p.b, sizeof(p.b), affected, 0, status, 0);
    return p;
}

static struct pk eof_pkt(uint16_t status)
{
    struct pk p = {{0xfe, 0, 0, (uint8_t)status, (uint8_t)(status >> 8)}, 5};
    return p;
}

static struct pk col_pkt(const char *name)
{
    struct pk p;
    struct mysql_wr wr;
    mysql_wr_init(&wr, p.b, sizeof(p.b));
    mysql_wr_lenenc_str(&wr, "def", 3);
    mysql_wr_lenenc_str(&wr, "", 0);
    mysql_wr_lenenc_str(&wr, "", 0);
    mysql_wr_lenenc_str(&wr, "", 0);
    mysql_wr_lenenc_str(&wr, name, strlen(name));
    mysql_wr_lenenc_str(&wr, name, strlen(name));
    mysql_wr_u8(&wr, 0x0c);
    mysql_wr_u16(&wr, 33);
    mysql_wr_u32(&wr, 10);
    mysql_wr_u8(&wr, 253);
    mysql_wr_u16(&wr, 0);
    mysql_wr_u8(&wr, 0);
    mysql_wr_u16(&wr, 0);
    p.n = mysql_wr_len(&wr);
    return p;
}

/* Cells: NULL pointer = SQL NULL. */
static struct pk row_pkt(const char *a, const char *b)
{
    struct pk p;
    struct mysql_wr wr;
    mysql_wr_init(&wr, p.b, sizeof(p.b));
    const char *cells[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        if (cells[i] == NULL)
            mysql_wr_u8(&wr, 0xfb);
        else
            mysql_wr_lenenc_str(&wr, cells[i], strlen(cells[i]));
    }
    p.n = mysql_wr_len(&wr);
    return p;
}

static struct pk count_pkt(uint8_t n)
{
    struct pk p = {{n}, 1};
    return p;
}

static hy_status_t feed(struct sqlresult_parser *p, struct pk k)
{
    return sqlresult_parser_feed(p, k.b, k.n);
}

static void test_parser_ok_err(void **state)
{
    (void)state;
    struct sqlresult_parser p;
    sqlresult_parser_init(&p);
    assert_int_equal(feed(&p, ok_pkt(7, SERVER_STATUS_AUTOCOMMIT)), HY_OK);
    assert_true(p.res.ok);
    assert_int_equal(p.res.affected, 7);
    assert_int_equal(p.res.n_cols, 0);
    sqlresult_clear(&p.res);

    sqlresult_parser_init(&p);
    struct pk err;
    err.n = mysql_err_encode(err.b, sizeof(err.b), 1227, "42000", "Access denied", 13);
    assert_int_equal(feed(&p, err), HY_OK);
    assert_false(p.res.ok);
    assert_int_equal(p.res.err_code, 1227);
    assert_string_equal(p.res.sqlstate, "42000");
    assert_string_equal(p.res.err_msg, "Access denied");
    sqlresult_clear(&p.res);
}

static void test_parser_rows(void **state)
{
    (void)state;
    struct sqlresult_parser p;
    sqlresult_parser_init(&p);
    assert_int_equal(feed(&p, count_pkt(2)), HY_AGAIN);
    assert_int_equal(feed(&p, col_pkt("@@read_only")), HY_AGAIN);
    assert_int_equal(feed(&p, col_pkt("lag")), HY_AGAIN);
    assert_int_equal(feed(&p, eof_pkt(0)), HY_AGAIN);
    for (int i = 0; i < 20; i++) /* past the first growth of the row array */
        assert_int_equal(feed(&p, row_pkt(i % 2 ? "1" : "0", i == 3 ? NULL : "12")), HY_AGAIN);
    assert_int_equal(feed(&p, eof_pkt(SERVER_STATUS_AUTOCOMMIT)), HY_OK);
    const struct sqlresult *r = &p.res;
    assert_true(r->ok);
    assert_int_equal(r->n_cols, 2);
    assert_int_equal(r->n_rows, 20);
    assert_int_equal(sqlresult_col(r, "@@READ_ONLY"), 0);
    assert_int_equal(sqlresult_col(r, "lag"), 1);
    assert_int_equal(sqlresult_col(r, "none"), -1);
    assert_string_equal(sqlresult_get(r, 1, 0), "1");
    assert_string_equal(sqlresult_get(r, 2, 1), "12");
    assert_null(sqlresult_get(r, 3, 1));
    assert_null(sqlresult_get(r, 20, 0));
    assert_null(sqlresult_get(r, 0, 2));
    sqlresult_clear(&p.res);
}

static void test_parser_multi(void **state)
{
    (void)state;
    /* CALL: a result set, then the OK ending the call. The first is kept;
     * a later result's columns and rows are read and dropped. */
    struct sqlresult_parser p;
    sqlresult_parser_init(&p);
    assert_int_equal(feed(&p, count_pkt(2)), HY_AGAIN);
    assert_int_equal(feed(&p, col_pkt("a")), HY_AGAIN);
    assert_int_equal(feed(&p, col_pkt("b")), HY_AGAIN);
    assert_int_equal(feed(&p, eof_pkt(0)), HY_AGAIN);
    assert_int_equal(feed(&p, row_pkt("x", "y")), HY_AGAIN);
    assert_int_equal(feed(&p, eof_pkt(SERVER_MORE_RESULTS_EXISTS)), HY_AGAIN);
    assert_int_equal(feed(&p, count_pkt(1)), HY_AGAIN);
    assert_int_equal(feed(&p, col_pkt("c")), HY_AGAIN);
    assert_int_equal(feed(&p, eof_pkt(0)), HY_AGAIN);
    assert_int_equal(feed(&p, row_pkt("z", NULL)), HY_AGAIN); /* not parsed: dropped */
    assert_int_equal(feed(&p, eof_pkt(SERVER_MORE_RESULTS_EXISTS)), HY_AGAIN);
    assert_int_equal(feed(&p, ok_pkt(0, 0)), HY_OK);
    assert_true(p.res.ok);
    assert_int_equal(p.res.n_cols, 2);
    assert_int_equal(p.res.n_rows, 1);
    assert_string_equal(sqlresult_get(&p.res, 0, 1), "y");
    sqlresult_clear(&p.res);
}

static void test_parser_malformed(void **state)
{
    (void)state;
    struct sqlresult_parser p;
    sqlresult_parser_init(&p);
    assert_int_equal(sqlresult_parser_feed(&p, (const uint8_t *)"", 0), HY_ERROR);
    sqlresult_clear(&p.res);

    sqlresult_parser_init(&p);
    assert_int_equal(feed(&p, count_pkt(1)), HY_AGAIN);
    assert_int_equal(feed(&p, col_pkt("a")), HY_AGAIN);
    assert_int_equal(feed(&p, row_pkt("x", "y")), HY_ERROR); /* no EOF after the columns */
    assert_string_equal(p.res.err_msg, "missing EOF after the column definitions");
    sqlresult_clear(&p.res);

    sqlresult_parser_init(&p);
    assert_int_equal(feed(&p, count_pkt(1)), HY_AGAIN);
    assert_int_equal(feed(&p, col_pkt("a")), HY_AGAIN);
    assert_int_equal(feed(&p, eof_pkt(0)), HY_AGAIN);
    assert_int_equal(feed(&p, row_pkt("x", "y")), HY_ERROR); /* two cells for one column */
    assert_string_equal(p.res.err_msg, "malformed row");
    sqlresult_clear(&p.res);

    struct pk truncated = row_pkt("abcdef", "g");
    truncated.n -= 4;
    sqlresult_parser_init(&p);
    assert_int_equal(feed(&p, count_pkt(2)), HY_AGAIN);
    assert_int_equal(feed(&p, col_pkt("a")), HY_AGAIN);
    assert_int_equal(feed(&p, col_pkt("b")), HY_AGAIN);
    assert_int_equal(feed(&p, eof_pkt(0)), HY_AGAIN);
    assert_int_equal(feed(&p, truncated), HY_ERROR);
    sqlresult_clear(&p.res);

    sqlresult_parser_init(&p);
    struct pk infile = {{0xfb, 'f'}, 2};
    assert_int_equal(feed(&p, infile), HY_ERROR);
    sqlresult_clear(&p.res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wsrep),
        cmocka_unit_test(test_repl_none),
        cmocka_unit_test(test_repl_healthy),
        cmocka_unit_test(test_not_numbers),
        cmocka_unit_test(test_repl_sql_stopped),
        cmocka_unit_test(test_repl_connecting_and_multi),
        cmocka_unit_test(test_repl_missing_column),
        cmocka_unit_test(test_pick_primary),
        cmocka_unit_test(test_parser_ok_err),
        cmocka_unit_test(test_parser_rows),
        cmocka_unit_test(test_parser_multi),
        cmocka_unit_test(test_parser_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
