/*
 * test_binlog.c: binary log events and files as data (binlog.h).
 *
 *   - header: fields little-endian, the event's size must be its length
 *   - CRC32: a good event passes, any flipped byte fails, crc_set repairs
 *     it; log_pos and flags rewritten
 *   - GTID, ROTATE and GTID_LIST events read, and the ones the archive
 *     makes read back (round trips), malformed ones refused
 *   - event groups: XID, COMMIT, XA ROLLBACK and XA_PREPARE end a
 *     transaction, ROLLBACK TO a savepoint does not; a standalone GTID
 *     (DDL) ends at its statement, after an ANNOTATE_ROWS; events outside
 *     any group
 *   - positions: the next GTID, a gap, a repeat, a new domain; domains kept
 *     sorted, at most GTID_MAX
 *   - file names: PREFIX.NNNNNN and nothing else
 *   - what an event changes (the query cache): TABLE_MAP's id and names,
 *     the table id of each kind of ROWS event, a QUERY's schema and text,
 *     framing statements change nothing, others are statements, unknown
 *     types may change anything; truncated events refused
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/protocol/binlog.h"

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

/* An event of `type` with `body` (len bytes) and a CRC; returns its size. */
static size_t make(uint8_t *out, uint8_t type, uint32_t server_id, const void *body, size_t len)
{
    size_t size = BINLOG_HEADER_LEN + len + BINLOG_CRC_LEN;
    memset(out, 0, BINLOG_HEADER_LEN);
    put32(out, 1795440000u);
    out[4] = type;
    put32(out + 5, server_id);
    put32(out + 9, (uint32_t)size);
    put32(out + 13, 1000);
    memcpy(out + BINLOG_HEADER_LEN, body, len);
    binlog_crc_set(out, size);
    return size;
}

static size_t make_gtid(uint8_t *out, uint32_t domain, uint32_t server_id, uint64_t seq,
                        uint8_t flags)
{
    uint8_t b[13];
    put64(b, seq);
    put32(b + 8, domain);
    b[12] = flags;
    return make(out, BINLOG_GTID, server_id, b, sizeof(b));
}

static size_t make_query(uint8_t *out, const char *db, const char *sql)
{
    uint8_t b[512] = {0};
    size_t dl = strlen(db), ql = strlen(sql);
    b[8] = (uint8_t)dl; /* db_len */
    b[11] = 3;          /* status_vars_len */
    memcpy(b + 13 + 3, db, dl);
    memcpy(b + 13 + 3 + dl + 1, sql, ql);
    return make(out, BINLOG_QUERY, 1, b, 13 + 3 + dl + 1 + ql);
}

static enum binlog_group_step feed(struct binlog_group *g, const uint8_t *ev, size_t len)
{
    assert_true(binlog_crc_ok(ev, len));
    return binlog_group_feed(g, ev, len - BINLOG_CRC_LEN);
}

static void test_header_and_crc(void **state)
{
    (void)state;
    uint8_t ev[128];
    size_t n = make_gtid(ev, 3, 7, 42, 0);
    struct binlog_header h;
    assert_int_equal(binlog_header_parse(ev, n, &h), HY_OK);
    assert_int_equal(h.type, BINLOG_GTID);
    assert_int_equal(h.server_id, 7);
    assert_int_equal(h.size, n);
    assert_int_equal(h.log_pos, 1000);
    assert_int_equal(h.timestamp, 1795440000u);
    assert_int_equal(binlog_header_parse(ev, n - 1, &h), HY_ERROR); /* size says more */
    assert_int_equal(binlog_header_parse(ev, 18, &h), HY_ERROR);
    assert_true(binlog_crc_ok(ev, n));
    for (size_t i = 0; i < n; i++) { /* every single flipped byte is seen */
        ev[i] ^= 0x01;
        assert_false(binlog_crc_ok(ev, n));
        ev[i] ^= 0x01;
    }
    binlog_set_pos_flags(ev, 4242, BINLOG_F_IN_USE);
    assert_false(binlog_crc_ok(ev, n));
    binlog_crc_set(ev, n);
    assert_true(binlog_crc_ok(ev, n));
    assert_int_equal(binlog_header_parse(ev, n, &h), HY_OK);
    assert_int_equal(h.log_pos, 4242);
    assert_int_equal(h.flags, BINLOG_F_IN_USE);
    assert_false(binlog_crc_ok(ev, 20)); /* too short to hold a CRC */
}

static void test_gtid_event(void **state)
{
    (void)state;
    uint8_t ev[128];
    size_t n = make_gtid(ev, 3, 7, 1ull << 40, BINLOG_GTID_STANDALONE);
    struct gtid g;
    uint8_t flags;
    assert_int_equal(binlog_gtid_parse(ev, n - 4, &g, &flags), HY_OK);
    assert_int_equal(g.domain, 3);
    assert_int_equal(g.server_id, 7);
    assert_true(g.seq == 1ull << 40);
    assert_int_equal(flags, BINLOG_GTID_STANDALONE);
    assert_int_equal(binlog_gtid_parse(ev, BINLOG_HEADER_LEN + 12, &g, &flags), HY_ERROR);
}

static void test_fde_checksum(void **state)
{
    (void)state;
    uint8_t body[2 + 50 + 4 + 1 + 40 + 1] = {4, 0};
    memcpy(body + 2, "10.11.19-MariaDB", 16);
    body[56] = BINLOG_HEADER_LEN;
    body[sizeof(body) - 1] = 1; /* CRC32 */
    uint8_t ev[256];
    size_t n = make(ev, BINLOG_FORMAT_DESCRIPTION, 1, body, sizeof(body));
    assert_int_equal(binlog_fde_checksum_alg(ev, n), 1);
    ev[n - 5] = 0;
    assert_int_equal(binlog_fde_checksum_alg(ev, n), 0);
    assert_int_equal(binlog_fde_checksum_alg(ev, 40), -1);
}

static void test_rotate(void **state)
{
    (void)state;
    uint8_t ev[256];
    size_t n = binlog_make_rotate(ev, sizeof(ev), "binlog.000002", 5, 9, 800);
    assert_int_equal(n, BINLOG_HEADER_LEN + 8 + 13 + 4);
    assert_true(binlog_crc_ok(ev, n));
    struct binlog_header h;
    assert_int_equal(binlog_header_parse(ev, n, &h), HY_OK);
    assert_int_equal(h.type, BINLOG_ROTATE);
    assert_int_equal(h.log_pos, 800 + n); /* the end of the event in its file */
    char name[64];
    uint64_t pos = 0;
    assert_int_equal(binlog_rotate_parse(ev, n - 4, name, sizeof(name), &pos), HY_OK);
    assert_string_equal(name, "binlog.000002");
    assert_int_equal(pos, 4);
    assert_int_equal(binlog_rotate_parse(ev, n - 4, name, 5, &pos), HY_ERROR); /* too long */
    assert_int_equal(binlog_make_rotate(ev, 20, "x", 0, 0, 0), 0);             /* no room */
    n = binlog_make_rotate(ev, sizeof(ev), "../etc", 5, 9, 800);               /* never a path */
    assert_int_equal(binlog_rotate_parse(ev, n - 4, name, sizeof(name), &pos), HY_ERROR);
    assert_int_equal(binlog_rotate_parse(ev, BINLOG_HEADER_LEN + 8, name, sizeof(name), &pos),
                     HY_ERROR); /* no name */
}

static void test_gtid_list(void **state)
{
    (void)state;
    struct gtid_pos p = {0}, back;
    struct gtid g1 = {.domain = 0, .server_id = 1, .seq = 100};
    struct gtid g2 = {.domain = 5, .server_id = 2, .seq = 7};
    assert_int_equal(binlog_pos_apply(&p, &g2), HY_OK);
    assert_int_equal(binlog_pos_apply(&p, &g1), HY_OK);
    uint8_t ev[BINLOG_HEADER_LEN + 4 + 16 * GTID_MAX + 4];
    size_t n = binlog_make_gtid_list(ev, sizeof(ev), &p, 1, 1, 256);
    assert_int_equal(n, BINLOG_HEADER_LEN + 4 + 32 + 4);
    assert_true(binlog_crc_ok(ev, n));
    assert_int_equal(binlog_gtid_list_parse(ev, n - 4, &back), HY_OK);
    assert_int_equal(back.n, 2);
    assert_int_equal(back.g[0].domain, 0);
    assert_int_equal(back.g[0].seq, 100);
    assert_int_equal(back.g[1].server_id, 2);
    assert_int_equal(binlog_gtid_list_parse(ev, n - 5, &back), HY_ERROR); /* count disagrees */
    struct gtid_pos empty = {0};
    n = binlog_make_gtid_list(ev, sizeof(ev), &empty, 1, 1, 256);
    assert_int_equal(binlog_gtid_list_parse(ev, n - 4, &back), HY_OK);
    assert_int_equal(back.n, 0);
    assert_int_equal(binlog_make_gtid_list(ev, 30, &p, 1, 1, 0), 0);
}

static void test_groups(void **state)
{
    (void)state;
    uint8_t ev[600];
    struct binlog_group g = {0};
    size_t n;
    /* a row transaction: GTID, BEGIN, ANNOTATE, TABLE_MAP, WRITE_ROWS, XID */
    n = make_gtid(ev, 0, 1, 10, 0);
    assert_int_equal(feed(&g, ev, n), BINLOG_BEGIN);
    assert_int_equal(g.gtid.seq, 10);
    n = make_query(ev, "db", "BEGIN");
    assert_int_equal(feed(&g, ev, n), BINLOG_INSIDE);
    n = make(ev, BINLOG_ANNOTATE_ROWS, 1, "INSERT ...", 10);
    assert_int_equal(feed(&g, ev, n), BINLOG_INSIDE);
    n = make(ev, 19, 1, "tablemap", 8);
    assert_int_equal(feed(&g, ev, n), BINLOG_INSIDE);
    n = make(ev, 23, 1, "rows", 4);
    assert_int_equal(feed(&g, ev, n), BINLOG_INSIDE);
    n = make(ev, BINLOG_XID, 1, "12345678", 8);
    assert_int_equal(feed(&g, ev, n), BINLOG_END);
    assert_false(g.open);
    /* outside any group */
    n = make(ev, BINLOG_CHECKPOINT, 1, "\x0d\0\0\0binlog.000001", 17);
    assert_int_equal(feed(&g, ev, n), BINLOG_OUTSIDE);
    /* a statement transaction ends at its COMMIT query (not at "COMMITTED...") */
    n = make_gtid(ev, 0, 1, 11, 0);
    assert_int_equal(feed(&g, ev, n), BINLOG_BEGIN);
    n = make_query(ev, "", "COMMITTEDX");
    assert_int_equal(feed(&g, ev, n), BINLOG_INSIDE);
    n = make_query(ev, "db", "COMMIT");
    assert_int_equal(feed(&g, ev, n), BINLOG_END);
    /* DDL: a standalone GTID ends with its statement */
    n = make_gtid(ev, 0, 1, 12, BINLOG_GTID_STANDALONE);
    assert_int_equal(feed(&g, ev, n), BINLOG_BEGIN);
    n = make(ev, BINLOG_ANNOTATE_ROWS, 1, "x", 1);
    assert_int_equal(feed(&g, ev, n), BINLOG_INSIDE);
    n = make_query(ev, "db", "CREATE TABLE t (a INT)");
    assert_int_equal(feed(&g, ev, n), BINLOG_END);
    /* XA: XA_PREPARE ends the prepared part; XA ROLLBACK its own group */
    n = make_gtid(ev, 0, 1, 13, 0);
    assert_int_equal(feed(&g, ev, n), BINLOG_BEGIN);
    n = make(ev, BINLOG_XA_PREPARE, 1, "xid", 3);
    assert_int_equal(feed(&g, ev, n), BINLOG_END);
    n = make_gtid(ev, 0, 1, 14, 0);
    assert_int_equal(feed(&g, ev, n), BINLOG_BEGIN);
    n = make_query(ev, "", "XA ROLLBACK X'31'");
    assert_int_equal(feed(&g, ev, n), BINLOG_END);
    /* a ROLLBACK query ends a group too; a truncated query event does not crash */
    n = make_gtid(ev, 0, 1, 15, 0);
    assert_int_equal(feed(&g, ev, n), BINLOG_BEGIN);
    n = make(ev, BINLOG_QUERY, 1, "short", 5);
    assert_int_equal(feed(&g, ev, n), BINLOG_INSIDE);
    n = make_query(ev, "db", "rollback");
    assert_int_equal(feed(&g, ev, n), BINLOG_END);
    assert_int_equal(binlog_group_feed(&g, ev, 10), BINLOG_OUTSIDE);
    /* ROLLBACK TO a savepoint (logged when the transaction changed a
     * non-transactional table) goes on: the XID after it ends the group */
    n = make_gtid(ev, 0, 1, 16, 0);
    assert_int_equal(feed(&g, ev, n), BINLOG_BEGIN);
    static const char *const to_savepoint[] = {"ROLLBACK TO `a`", "rollback  to sp",
                                               "ROLLBACK WORK TO SAVEPOINT a", "ROLLBACK\nTO `b`"};
    for (size_t i = 0; i < HY_ARRAY_SIZE(to_savepoint); i++) {
        n = make_query(ev, "db", to_savepoint[i]);
        assert_int_equal(feed(&g, ev, n), BINLOG_INSIDE);
    }
    n = make(ev, BINLOG_XID, 1, "12345678", 8);
    assert_int_equal(feed(&g, ev, n), BINLOG_END);
    /* ROLLBACK WORK and ROLLBACK; end it */
    n = make_gtid(ev, 0, 1, 17, 0);
    assert_int_equal(feed(&g, ev, n), BINLOG_BEGIN);
    n = make_query(ev, "db", "ROLLBACK WORK");
    assert_int_equal(feed(&g, ev, n), BINLOG_END);
}

static void test_positions(void **state)
{
    (void)state;
    struct gtid_pos p = {0};
    struct gtid g = {.domain = 1, .server_id = 1, .seq = 1};
    assert_int_equal(binlog_gtid_order(&p, &g), BINLOG_GTID_NEXT); /* a new domain starts at 1 */
    g.seq = 3;
    assert_int_equal(binlog_gtid_order(&p, &g), BINLOG_GTID_GAP);
    assert_int_equal(binlog_pos_apply(&p, &g), HY_OK);
    g.seq = 4;
    g.server_id = 2; /* another server goes on in the domain: no gap */
    assert_int_equal(binlog_gtid_order(&p, &g), BINLOG_GTID_NEXT);
    g.seq = 3;
    assert_int_equal(binlog_gtid_order(&p, &g), BINLOG_GTID_OLD);
    g.seq = 2;
    assert_int_equal(binlog_gtid_order(&p, &g), BINLOG_GTID_OLD);
    for (uint32_t d = 40; d > 9; d--) { /* sorted whatever the order */
        struct gtid x = {.domain = d, .server_id = 1, .seq = d};
        assert_int_equal(binlog_pos_apply(&p, &x), HY_OK);
    }
    assert_int_equal(p.n, GTID_MAX);
    for (uint32_t i = 1; i < p.n; i++)
        assert_true(p.g[i - 1].domain < p.g[i].domain);
    struct gtid more = {.domain = 99, .seq = 1};
    assert_int_equal(binlog_pos_apply(&p, &more), HY_ERROR);
    struct gtid again = {.domain = 20, .server_id = 3, .seq = 21}; /* a known domain: replaced */
    assert_int_equal(binlog_pos_apply(&p, &again), HY_OK);
    assert_int_equal(gtid_pos_seq(&p, 20), 21);
}

static void test_file_names(void **state)
{
    (void)state;
    assert_int_equal(binlog_file_number("binlog.000001", "binlog"), 1);
    assert_int_equal(binlog_file_number("binlog.123456789", "binlog"), 123456789);
    assert_int_equal(binlog_file_number("binlog.index", "binlog"), 0);
    assert_int_equal(binlog_file_number("binlog.000001.lost", "binlog"), 0);
    assert_int_equal(binlog_file_number("binlog.00001", "binlog"), 0);
    assert_int_equal(binlog_file_number("binlogx000001", "binlog"), 0);
    assert_int_equal(binlog_file_number("mariadb-bin.000001", "binlog"), 0);
}

/* A TABLE_MAP of `id` for schema.table (one INT column). */
static size_t make_table_map(uint8_t *out, uint64_t id, const char *schema, const char *table)
{
    uint8_t b[256] = {0};
    size_t n = 0;
    put64(b, id); /* 6 bytes of it, then flags 2 */
    n = 8;
    b[n++] = (uint8_t)strlen(schema);
    memcpy(b + n, schema, strlen(schema) + 1);
    n += strlen(schema) + 1;
    b[n++] = (uint8_t)strlen(table);
    memcpy(b + n, table, strlen(table) + 1);
    n += strlen(table) + 1;
    b[n++] = 1; /* columns */
    b[n++] = 3; /* LONG */
    b[n++] = 0; /* metadata length */
    b[n++] = 1; /* null bits */
    return make(out, BINLOG_TABLE_MAP, 1, b, n);
}

static void test_changes(void **state)
{
    (void)state;
    uint8_t ev[600];
    size_t n = make_table_map(ev, 0x0000123456789aULL, "shop", "orders");
    struct binlog_table t;
    assert_int_equal(binlog_change_of(ev, n - 4), BINLOG_CHANGES_TABLE_MAP);
    assert_int_equal(binlog_table_map_parse(ev, n - 4, &t), HY_OK);
    assert_true(t.id == 0x123456789aULL);
    assert_string_equal(t.schema, "shop");
    assert_string_equal(t.table, "orders");
    /* truncated inside the table's name */
    assert_int_equal(binlog_table_map_parse(ev, BINLOG_HEADER_LEN + 8 + 1 + 4 + 1 + 3, &t),
                     HY_ERROR);
    /* every ROWS event type: its table id */
    const uint8_t rows[] = {BINLOG_WRITE_ROWS_V1,
                            BINLOG_UPDATE_ROWS_V1,
                            BINLOG_DELETE_ROWS_V1,
                            BINLOG_WRITE_ROWS,
                            BINLOG_UPDATE_ROWS,
                            BINLOG_DELETE_ROWS,
                            166,
                            170,
                            171};
    uint8_t body[16] = {0x9a, 0x78, 0x56, 0x34, 0x12, 0x00, 1, 0, 1, 0xff};
    for (size_t i = 0; i < sizeof(rows); i++) {
        n = make(ev, rows[i], 1, body, sizeof(body));
        uint64_t id = 0;
        assert_int_equal(binlog_change_of(ev, n - 4), BINLOG_CHANGES_ROWS);
        assert_int_equal(binlog_rows_table_id(ev, n - 4, &id), HY_OK);
        assert_true(id == 0x123456789aULL);
    }
    uint64_t id;
    n = make(ev, BINLOG_WRITE_ROWS, 1, body, 5);
    assert_int_equal(binlog_rows_table_id(ev, n - 4, &id), HY_ERROR);
    /* QUERY: framing statements change nothing, the others are statements */
    const char *framing[] = {"BEGIN",      "COMMIT",   "XA START 'x'",
                             "XA END 'x'", "ROLLBACK", "SAVEPOINT a"};
    for (size_t i = 0; i < sizeof(framing) / sizeof(framing[0]); i++) {
        n = make_query(ev, "shop", framing[i]);
        assert_int_equal(binlog_change_of(ev, n - 4), BINLOG_CHANGES_NOTHING);
    }
    const char *stmts[] = {"ALTER TABLE t ADD c INT", "TRUNCATE t", "BEGINNER_PROC()",
                           "UPDATE t SET a = 1", "COMMITTED_ROWS()"};
    for (size_t i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
        n = make_query(ev, "shop", stmts[i]);
        assert_int_equal(binlog_change_of(ev, n - 4), BINLOG_CHANGES_STATEMENT);
    }
    char db[65];
    const char *sql;
    size_t sl;
    n = make_query(ev, "shop", "TRUNCATE t");
    assert_int_equal(binlog_query_parse(ev, n - 4, db, sizeof(db), &sql, &sl), HY_OK);
    assert_string_equal(db, "shop");
    assert_int_equal(sl, 10);
    assert_memory_equal(sql, "TRUNCATE t", 10);
    assert_int_equal(binlog_query_parse(ev, BINLOG_HEADER_LEN + 14, db, sizeof(db), &sql, &sl),
                     HY_ERROR);
    /* framing events and unknown ones */
    n = make_gtid(ev, 0, 1, 5, 0);
    assert_int_equal(binlog_change_of(ev, n - 4), BINLOG_CHANGES_NOTHING);
    n = make(ev, BINLOG_XID, 1, body, 8);
    assert_int_equal(binlog_change_of(ev, n - 4), BINLOG_CHANGES_NOTHING);
    /* a statement's context (an AUTO_INCREMENT id, RAND()'s seeds, a user
     * variable): the statement after it is what changes data */
    n = make(ev, BINLOG_INTVAR, 1, body, 9);
    assert_int_equal(binlog_change_of(ev, n - 4), BINLOG_CHANGES_NOTHING);
    n = make(ev, BINLOG_RAND, 1, body, 16);
    assert_int_equal(binlog_change_of(ev, n - 4), BINLOG_CHANGES_NOTHING);
    n = make(ev, BINLOG_USER_VAR, 1, body, 12);
    assert_int_equal(binlog_change_of(ev, n - 4), BINLOG_CHANGES_NOTHING);
    n = make(ev, BINLOG_QUERY_COMPRESSED, 1, body, 16);
    assert_int_equal(binlog_change_of(ev, n - 4), BINLOG_CHANGES_UNKNOWN);
    n = make(ev, 26 /* INCIDENT */, 1, body, 4);
    assert_int_equal(binlog_change_of(ev, n - 4), BINLOG_CHANGES_UNKNOWN);
    assert_int_equal(binlog_change_of(ev, 5), BINLOG_CHANGES_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_changes),    cmocka_unit_test(test_header_and_crc),
        cmocka_unit_test(test_gtid_event), cmocka_unit_test(test_fde_checksum),
        cmocka_unit_test(test_rotate),     cmocka_unit_test(test_gtid_list),
        cmocka_unit_test(test_groups),     cmocka_unit_test(test_positions),
        cmocka_unit_test(test_file_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
