/*
 * test_cache_inval.c: the binary log applied to the query cache
 * (cache_inval.h), event by event.
 *
 *   - a row event drops its table's entries (named by the TABLE_MAP before
 *     it), not the others'; a fill stamped before its transaction's end is
 *     refused, one after it stored
 *   - a row event of a table id no TABLE_MAP named drops everything
 *   - BEGIN changes nothing; DDL and statement-format writes drop
 *     everything; an unknown event type drops everything
 *   - GTIDs: the next one is fine, a gap drops everything; the position
 *     of the last whole transaction kept
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/cache/cache_inval.h"

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

/* An event without a checksum; returns its size. */
static size_t make(uint8_t *out, uint8_t type, const void *body, size_t len)
{
    memset(out, 0, BINLOG_HEADER_LEN);
    out[4] = type;
    put32(out + 5, 1);
    put32(out + 9, (uint32_t)(BINLOG_HEADER_LEN + len));
    memcpy(out + BINLOG_HEADER_LEN, body, len);
    return BINLOG_HEADER_LEN + len;
}

static size_t ev_gtid(uint8_t *out, uint32_t domain, uint64_t seq, uint8_t flags)
{
    uint8_t b[13];
    put64(b, seq);
    put32(b + 8, domain);
    b[12] = flags;
    return make(out, BINLOG_GTID, b, sizeof(b));
}

static size_t ev_query(uint8_t *out, const char *db, const char *sql)
{
    uint8_t b[512] = {0};
    size_t dl = strlen(db), ql = strlen(sql);
    b[8] = (uint8_t)dl;
    memcpy(b + 13, db, dl + 1);
    memcpy(b + 13 + dl + 1, sql, ql);
    return make(out, BINLOG_QUERY, b, 13 + dl + 1 + ql);
}

static size_t ev_map(uint8_t *out, uint64_t id, const char *schema, const char *table)
{
    uint8_t b[256] = {0};
    put64(b, id);
    size_t n = 8;
    b[n++] = (uint8_t)strlen(schema);
    memcpy(b + n, schema, strlen(schema) + 1);
    n += strlen(schema) + 1;
    b[n++] = (uint8_t)strlen(table);
    memcpy(b + n, table, strlen(table) + 1);
    n += strlen(table) + 1;
    b[n++] = 0; /* no columns: enough here */
    return make(out, BINLOG_TABLE_MAP, b, n);
}

static size_t ev_rows(uint8_t *out, uint8_t type, uint64_t id)
{
    uint8_t b[12] = {0};
    put64(b, id);
    b[6] = 1;
    return make(out, type, b, sizeof(b));
}

static size_t ev_xid(uint8_t *out)
{
    uint8_t b[8] = {0};
    return make(out, BINLOG_XID, b, sizeof(b));
}

static enum cache_fill_rc fill(struct cache_store *st, const char *key, const char *table,
                               uint64_t stamp, double sent)
{
    const char *tabs[1] = {table};
    struct cache_fill f = {.key = (const uint8_t *)key,
                           .key_len = strlen(key),
                           .data = (const uint8_t *)"rows",
                           .data_len = 4,
                           .tables = tabs,
                           .ntables = 1,
                           .stamp = stamp,
                           .sent_at = sent,
                           .expires_at = 1e9};
    return cache_store_fill(st, &f, sent);
}

static uint64_t entries(struct cache_store *st)
{
    struct cache_stats s;
    cache_store_stats(st, &s);
    return s.entries;
}

static size_t feed(struct cache_inval *ci, struct cache_store *st, const uint8_t *ev, size_t n,
                   double now)
{
    return cache_inval_feed(ci, st, ev, n, now);
}

static void test_rows(void **state)
{
    (void)state;
    struct cache_store *st = cache_store_create(1 << 20, 0);
    struct cache_inval ci = {0};
    cache_inval_start(&ci, NULL);
    uint8_t ev[600];
    assert_int_equal(fill(st, "a", "shop.orders", 0, 1), CACHE_FILL_STORED);
    assert_int_equal(fill(st, "b", "shop.items", 0, 1), CACHE_FILL_STORED);
    assert_int_equal(feed(&ci, st, ev, ev_gtid(ev, 0, 10, 0), 2), 0);
    assert_int_equal(feed(&ci, st, ev, ev_query(ev, "shop", "BEGIN"), 2), 0);
    assert_int_equal(feed(&ci, st, ev, ev_map(ev, 77, "shop", "orders"), 2), 0);
    uint64_t before = ci.seq;
    assert_int_equal(feed(&ci, st, ev, ev_rows(ev, BINLOG_UPDATE_ROWS_V1, 77), 2), 1);
    assert_true(ci.seq > before);
    assert_int_equal(entries(st), 1); /* items stays */
    /* a fill of orders sent after the row event, before the commit */
    uint64_t mid = ci.seq;
    assert_int_equal(fill(st, "a", "shop.orders", mid, 3), CACHE_FILL_STORED);
    assert_int_equal(feed(&ci, st, ev, ev_xid(ev), 4), 1); /* dropped again at the end */
    assert_int_equal(fill(st, "a", "shop.orders", mid, 5), CACHE_FILL_RACED);
    assert_int_equal(fill(st, "a", "shop.orders", ci.seq, 5), CACHE_FILL_STORED);
    assert_true(ci.pos_known);
    assert_int_equal(gtid_pos_seq(&ci.pos, 0), 10);
    /* a table id never mapped: everything */
    assert_int_equal(feed(&ci, st, ev, ev_gtid(ev, 0, 11, 0), 6), 0);
    assert_int_equal(feed(&ci, st, ev, ev_rows(ev, BINLOG_DELETE_ROWS, 78), 6), 2);
    assert_int_equal(entries(st), 0);
    assert_int_equal(ci.unknown, 1);
    cache_store_destroy(st);
}

static void test_statements_and_unknown(void **state)
{
    (void)state;
    struct cache_store *st = cache_store_create(1 << 20, 0);
    struct cache_inval ci = {0};
    cache_inval_start(&ci, NULL);
    uint8_t ev[600];
    assert_int_equal(fill(st, "a", "s1.t", 0, 1), CACHE_FILL_STORED);
    assert_int_equal(fill(st, "b", "s2.t", 0, 1), CACHE_FILL_STORED);
    /* DDL (a standalone group): everything */
    assert_int_equal(feed(&ci, st, ev, ev_gtid(ev, 0, 1, BINLOG_GTID_STANDALONE), 2), 0);
    assert_int_equal(feed(&ci, st, ev, ev_query(ev, "s1", "TRUNCATE t"), 2), 2);
    assert_int_equal(gtid_pos_seq(&ci.pos, 0), 1);
    assert_int_equal(fill(st, "a", "s1.t", ci.seq, 3), CACHE_FILL_STORED);
    /* an unknown event type: everything */
    assert_int_equal(
        feed(&ci, st, ev, make(ev, BINLOG_QUERY_COMPRESSED, "xxxxxxxxxxxxxxxx", 16), 4), 1);
    assert_int_equal(entries(st), 0);
    cache_store_destroy(st);
}

static void test_gtid_gap(void **state)
{
    (void)state;
    struct cache_store *st = cache_store_create(1 << 20, 0);
    struct cache_inval ci = {0};
    struct gtid_pos from;
    assert_int_equal(gtid_pos_parse("0-1-5", 5, &from), HY_OK);
    cache_inval_start(&ci, &from);
    uint8_t ev[600];
    assert_int_equal(fill(st, "a", "s.t", 0, 1), CACHE_FILL_STORED);
    /* 0-1-6 follows 0-1-5 */
    assert_int_equal(feed(&ci, st, ev, ev_gtid(ev, 0, 6, 0), 2), 0);
    assert_int_equal(feed(&ci, st, ev, ev_xid(ev), 2), 0);
    assert_int_equal(entries(st), 1);
    /* 0-1-9: 7 and 8 were missed */
    assert_int_equal(feed(&ci, st, ev, ev_gtid(ev, 0, 9, 0), 3), 1);
    assert_int_equal(ci.gaps, 1);
    assert_int_equal(feed(&ci, st, ev, ev_xid(ev), 3), 0);
    assert_int_equal(gtid_pos_seq(&ci.pos, 0), 9);
    /* a restart keeps the sequence number going */
    uint64_t seq = ci.seq;
    cache_inval_start(&ci, NULL);
    assert_int_equal(ci.seq, seq);
    assert_false(ci.pos_known);
    cache_store_destroy(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_statements_and_unknown),
        cmocka_unit_test(test_gtid_gap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
