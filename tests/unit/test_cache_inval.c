/*
 * test_cache_inval.c: the binary log applied to the query cache
 * (cache_inval.h), event by event.
 *
 *   - a row event drops its table's entries (named by the TABLE_MAP before
 *     it), not the others'; a fill stamped before its transaction's end is
 *     refused, one after it stored
 *   - a row event of a table id no TABLE_MAP named drops everything
 *   - BEGIN changes nothing; DDL drops everything; an unknown event type
 *     drops everything
 *   - a statement-format write of one base table without a trigger drops
 *     that table (and its children), now and at its end, in the event's
 *     database when unqualified; with a trigger, triggers not known,
 *     several tables, a view: everything
 *   - GTIDs: the next one is fine, a gap drops everything; the position
 *     of the last whole transaction kept
 *   - per row: a point lookup goes only when an image carries its key
 *     (before or after, insert, update, delete), with the table's other
 *     entries; a fill of another key in flight is kept, of the same key
 *     refused; an image without the key column (MINIMAL), a table without
 *     keys, a type that is not the one read: the whole table
 *   - an integer key with its top bit set drops both its readings
 *   - a row event of a parent drops its cascading children and theirs
 *   - with no schema known a row event drops everything
 *   - XA: the tables of a transaction ended by XA PREPARE are dropped
 *     again at its XA COMMIT or XA ROLLBACK (matched by xid, any case),
 *     the fills made meanwhile with them, not the other tables'; an XA
 *     COMMIT of an xid not seen prepared drops everything
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/cache/cache_inval.h"
#include "halyard/cache/cache_keyval.h"
#include "halyard/cache/cache_tables.h"

static struct cache_tables *known; /* what feed() passes: an empty set unless a test fills it */

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
    return cache_inval_feed(ci, st, known, ev, n, now);
}

/* ---- per row ------------------------------------------------------------ */

/* A TABLE_MAP of shop.orders (id 5): `types` (n), metadata `meta` (mlen). */
static size_t ev_map_cols(uint8_t *out, const uint8_t *types, size_t n, const uint8_t *meta,
                          size_t mlen)
{
    uint8_t b[256] = {0};
    put64(b, 5);
    size_t k = 8;
    b[k++] = 4;
    memcpy(b + k, "shop", 5);
    k += 5;
    b[k++] = 6;
    memcpy(b + k, "orders", 7);
    k += 7;
    b[k++] = (uint8_t)n;
    memcpy(b + k, types, n);
    k += n;
    b[k++] = (uint8_t)mlen;
    if (mlen > 0)
        memcpy(b + k, meta, mlen);
    k += mlen;
    b[k++] = 0xff; /* nullable */
    return make(out, BINLOG_TABLE_MAP, b, k);
}

/* A ROWS event of table 5: `rows` is everything after the table id and flags. */
static size_t ev_rows_of(uint8_t *out, uint8_t type, const uint8_t *rows, size_t len)
{
    uint8_t b[256] = {0};
    put64(b, 5);
    b[6] = 1;
    memcpy(b + 8, rows, len);
    return make(out, type, b, 8 + len);
}

static enum cache_fill_rc fill_key(struct cache_store *st, const char *key, const char *val,
                                   uint64_t stamp)
{
    const char *tabs[1] = {"shop.orders"};
    char text[CACHE_KEYVAL_MAX]; /* as cache.c writes a lookup's integer */
    assert_true(cache_keyval_from_sql(CACHE_KEY_INT, val, text));
    uint64_t h = cache_key_hash("shop.orders", 0, text, strlen(text));
    struct cache_fill f = {.key = (const uint8_t *)key,
                           .key_len = strlen(key),
                           .data = (const uint8_t *)"row",
                           .data_len = 3,
                           .tables = tabs,
                           .ntables = 1,
                           .stamp = stamp,
                           .sent_at = 1,
                           .expires_at = 1e9,
                           .keys = &h,
                           .nkeys = 1};
    return cache_store_fill(st, &f, 1);
}

static uint64_t dropped(struct cache_store *st, enum cache_drop why)
{
    struct cache_stats s;
    cache_store_stats(st, &s);
    return s.dropped[why];
}

static bool has(struct cache_store *st, const char *key)
{
    struct cache_answer *a;
    uint64_t stamp;
    uint32_t rule;
    bool hit = cache_store_get(st, (const uint8_t *)key, strlen(key), 1, &a, &stamp, &rule);
    if (hit)
        cache_answer_put(a);
    return hit;
}

/* shop.orders (id INT key, name VARCHAR(20)) in a fresh known. */
static void orders_schema(void)
{
    cache_tables_destroy(known);
    known = cache_tables_create();
    assert_int_equal(cache_tables_add(known, "shop", "orders"), HY_OK);
    assert_int_equal(cache_tables_add(known, "shop", "items"), HY_OK);
    assert_int_equal(cache_tables_add_key(known, "shop", "orders", "id", 0), HY_OK);
}

static const uint8_t int_varchar[] = {3, 15}; /* LONG, VARCHAR */
static const uint8_t varchar20[] = {20, 0};

static void test_per_row(void **state)
{
    (void)state;
    orders_schema();
    struct cache_store *st = cache_store_create(1 << 20, 0);
    struct cache_inval ci = {0};
    cache_inval_start(&ci, NULL);
    uint8_t ev[600];
    assert_int_equal(fill_key(st, "p1", "1", 0), CACHE_FILL_STORED);
    assert_int_equal(fill_key(st, "p2", "2", 0), CACHE_FILL_STORED);
    assert_int_equal(fill_key(st, "p7", "7", 0), CACHE_FILL_STORED);
    assert_int_equal(fill(st, "sum", "shop.orders", 0, 1), CACHE_FILL_STORED);
    assert_int_equal(fill(st, "items", "shop.items", 0, 1), CACHE_FILL_STORED);
    feed(&ci, st, ev, ev_gtid(ev, 0, 1, 0), 2);
    feed(&ci, st, ev, ev_map_cols(ev, int_varchar, 2, varchar20, 2), 2);
    /* UPDATE orders SET id = 7, name = 'b' WHERE id = 1 */
    static const uint8_t upd[] = {2,   0x03, 0x03, 0x00, 1, 0, 0, 0,  1,
                                  'a', 0x00, 7,    0,    0, 0, 1, 'b'};
    uint64_t before = ci.seq;
    assert_int_equal(feed(&ci, st, ev, ev_rows_of(ev, BINLOG_UPDATE_ROWS_V1, upd, sizeof(upd)), 2),
                     3);
    assert_false(has(st, "p1"));
    assert_false(has(st, "p7"));
    assert_false(has(st, "sum"));
    assert_true(has(st, "p2"));
    assert_true(has(st, "items"));
    assert_int_equal(dropped(st, CACHE_DROP_ROW), 2);
    assert_int_equal(dropped(st, CACHE_DROP_TABLE), 1);
    /* fills in flight, stamped before it: another key kept, its keys not */
    assert_int_equal(fill_key(st, "p3", "3", before), CACHE_FILL_STORED);
    assert_int_equal(fill_key(st, "p1", "1", before), CACHE_FILL_RACED);
    assert_int_equal(fill(st, "sum", "shop.orders", before, 3), CACHE_FILL_RACED);
    /* the commit drops them again; a later stamp is fine */
    feed(&ci, st, ev, ev_xid(ev), 3);
    assert_true(has(st, "p2"));
    assert_true(has(st, "p3"));
    assert_int_equal(fill_key(st, "p1", "1", ci.seq), CACHE_FILL_STORED);
    /* DELETE of id 2 (a NULL name), INSERT of id 3 */
    feed(&ci, st, ev, ev_gtid(ev, 0, 2, 0), 4);
    static const uint8_t del[] = {2, 0x03, 0x02, 2, 0, 0, 0};
    assert_int_equal(feed(&ci, st, ev, ev_rows_of(ev, BINLOG_DELETE_ROWS_V1, del, sizeof(del)), 4),
                     1);
    assert_false(has(st, "p2"));
    static const uint8_t ins[] = {2, 0x03, 0x00, 3, 0, 0, 0, 1, 'c'};
    assert_int_equal(feed(&ci, st, ev, ev_rows_of(ev, BINLOG_WRITE_ROWS_V1, ins, sizeof(ins)), 4),
                     1);
    assert_false(has(st, "p3"));
    assert_true(has(st, "p1"));
    feed(&ci, st, ev, ev_xid(ev), 4);
    assert_true(has(st, "p1"));
    cache_store_destroy(st);
}

static void test_per_row_unsure(void **state)
{
    (void)state;
    orders_schema();
    struct cache_store *st = cache_store_create(1 << 20, 0);
    struct cache_inval ci = {0};
    cache_inval_start(&ci, NULL);
    uint8_t ev[600];
    assert_int_equal(fill_key(st, "p1", "1", 0), CACHE_FILL_STORED);
    assert_int_equal(fill_key(st, "p2", "2", 0), CACHE_FILL_STORED);
    feed(&ci, st, ev, ev_gtid(ev, 0, 1, 0), 2);
    feed(&ci, st, ev, ev_map_cols(ev, int_varchar, 2, varchar20, 2), 2);
    /* binlog_row_image = MINIMAL: the after image has the name alone */
    static const uint8_t upd[] = {2, 0x01, 0x02, 0x00, 1, 0, 0, 0, 0x00, 1, 'b'};
    uint64_t before = ci.seq;
    assert_int_equal(feed(&ci, st, ev, ev_rows_of(ev, BINLOG_UPDATE_ROWS_V1, upd, sizeof(upd)), 2),
                     2);
    assert_int_equal(dropped(st, CACHE_DROP_TABLE), 2);
    assert_int_equal(fill_key(st, "p3", "3", before), CACHE_FILL_RACED); /* the whole table */
    feed(&ci, st, ev, ev_xid(ev), 3);
    /* the layout is not the one read: id is a VARCHAR now */
    assert_int_equal(fill_key(st, "p1", "1", ci.seq), CACHE_FILL_STORED);
    static const uint8_t vv[] = {15, 15}, meta[] = {20, 0, 20, 0};
    feed(&ci, st, ev, ev_gtid(ev, 0, 2, 0), 4);
    feed(&ci, st, ev, ev_map_cols(ev, vv, 2, meta, 4), 4);
    static const uint8_t ins[] = {2, 0x03, 0x00, 1, '9', 1, 'c'};
    assert_int_equal(feed(&ci, st, ev, ev_rows_of(ev, BINLOG_WRITE_ROWS_V1, ins, sizeof(ins)), 4),
                     1);
    assert_int_equal(dropped(st, CACHE_DROP_TABLE), 3);
    feed(&ci, st, ev, ev_xid(ev), 4);
    /* a table without key columns: the whole table */
    assert_int_equal(fill_key(st, "p1", "1", ci.seq), CACHE_FILL_STORED);
    cache_tables_destroy(known);
    known = cache_tables_create();
    assert_int_equal(cache_tables_add(known, "shop", "orders"), HY_OK);
    feed(&ci, st, ev, ev_gtid(ev, 0, 3, 0), 5);
    feed(&ci, st, ev, ev_map_cols(ev, int_varchar, 2, varchar20, 2), 5);
    static const uint8_t ins2[] = {2, 0x03, 0x00, 5, 0, 0, 0, 1, 'c'};
    assert_int_equal(feed(&ci, st, ev, ev_rows_of(ev, BINLOG_WRITE_ROWS_V1, ins2, sizeof(ins2)), 5),
                     1);
    feed(&ci, st, ev, ev_xid(ev), 5);
    /* no known known: everything */
    assert_int_equal(fill(st, "x", "other.t", ci.seq, 6), CACHE_FILL_STORED);
    struct cache_tables *keep = known;
    known = NULL;
    feed(&ci, st, ev, ev_gtid(ev, 0, 4, 0), 6);
    feed(&ci, st, ev, ev_map_cols(ev, int_varchar, 2, varchar20, 2), 6);
    assert_int_equal(feed(&ci, st, ev, ev_rows_of(ev, BINLOG_WRITE_ROWS_V1, ins2, sizeof(ins2)), 6),
                     1);
    assert_int_equal(entries(st), 0);
    known = keep;
    cache_store_destroy(st);
}

static void test_per_row_signedness(void **state)
{
    (void)state;
    cache_tables_destroy(known);
    known = cache_tables_create();
    assert_int_equal(cache_tables_add(known, "shop", "orders"), HY_OK);
    assert_int_equal(cache_tables_add_key(known, "shop", "orders", "k", 0), HY_OK);
    struct cache_store *st = cache_store_create(1 << 20, 0);
    struct cache_inval ci = {0};
    cache_inval_start(&ci, NULL);
    uint8_t ev[600];
    assert_int_equal(fill_key(st, "neg", "-1", 0), CACHE_FILL_STORED);
    assert_int_equal(fill_key(st, "uns", "255", 0), CACHE_FILL_STORED);
    assert_int_equal(fill_key(st, "one", "1", 0), CACHE_FILL_STORED);
    static const uint8_t tiny[] = {1};
    feed(&ci, st, ev, ev_gtid(ev, 0, 1, 0), 2);
    feed(&ci, st, ev, ev_map_cols(ev, tiny, 1, NULL, 0), 2);
    static const uint8_t ins[] = {1, 0x01, 0x00, 0xff};
    assert_int_equal(feed(&ci, st, ev, ev_rows_of(ev, BINLOG_WRITE_ROWS_V1, ins, sizeof(ins)), 2),
                     2);
    assert_true(has(st, "one"));
    cache_store_destroy(st);
}

static void test_fk_children(void **state)
{
    (void)state;
    cache_tables_destroy(known);
    known = cache_tables_create();
    const char *names[] = {"orders", "lines", "notes", "items"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(cache_tables_add(known, "shop", names[i]), HY_OK);
    /* lines -> orders, notes -> lines: a cascade two deep */
    assert_int_equal(cache_tables_add_fk(known, "shop", "lines", "shop", "orders"), HY_OK);
    assert_int_equal(cache_tables_add_fk(known, "shop", "notes", "shop", "lines"), HY_OK);
    struct cache_store *st = cache_store_create(1 << 20, 0);
    struct cache_inval ci = {0};
    cache_inval_start(&ci, NULL);
    uint8_t ev[600];
    assert_int_equal(fill(st, "l", "shop.lines", 0, 1), CACHE_FILL_STORED);
    assert_int_equal(fill(st, "n", "shop.notes", 0, 1), CACHE_FILL_STORED);
    assert_int_equal(fill(st, "i", "shop.items", 0, 1), CACHE_FILL_STORED);
    feed(&ci, st, ev, ev_gtid(ev, 0, 1, 0), 2);
    feed(&ci, st, ev, ev_map(ev, 9, "shop", "orders"), 2);
    uint64_t before = ci.seq;
    assert_int_equal(feed(&ci, st, ev, ev_rows(ev, BINLOG_DELETE_ROWS_V1, 9), 2), 2);
    assert_int_equal(dropped(st, CACHE_DROP_FK), 2);
    assert_true(has(st, "i"));
    assert_int_equal(fill(st, "n", "shop.notes", before, 3), CACHE_FILL_RACED);
    feed(&ci, st, ev, ev_xid(ev), 3);
    cache_store_destroy(st);
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

/* A statement-format write of one table the reader knows to have no
 * trigger: that table's entries (and its cascades' children), now and at
 * the transaction's end; unqualified names in the event's database; a
 * table with a trigger, triggers not known, several tables: everything. */
static void test_statement_of_one_table(void **state)
{
    (void)state;
    cache_tables_destroy(known);
    known = cache_tables_create();
    const char *names[] = {"orders", "lines", "items", "audited"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(cache_tables_add(known, "shop", names[i]), HY_OK);
    assert_int_equal(cache_tables_add_fk(known, "shop", "lines", "shop", "orders"), HY_OK);
    cache_tables_add_trigger(known, "shop", "audited");
    struct cache_store *st = cache_store_create(1 << 20, 0);
    struct cache_inval ci = {0};
    cache_inval_start(&ci, NULL);
    uint8_t ev[600];
    /* triggers not known (no TRIGGER privilege): everything */
    assert_int_equal(fill(st, "o", "shop.orders", 0, 1), CACHE_FILL_STORED);
    assert_int_equal(fill(st, "i", "shop.items", 0, 1), CACHE_FILL_STORED);
    feed(&ci, st, ev, ev_gtid(ev, 0, 1, 0), 2);
    feed(&ci, st, ev, ev_query(ev, "other", "UPDATE shop.items SET v = 1"), 2);
    assert_int_equal(entries(st), 0);
    feed(&ci, st, ev, ev_xid(ev), 2);
    cache_tables_triggers_known(known);
    uint64_t ddl = ci.ddl;
    /* from database `other`, a write of shop.orders: orders and its child lines */
    assert_int_equal(fill(st, "o", "shop.orders", ci.seq, 3), CACHE_FILL_STORED);
    assert_int_equal(fill(st, "l", "shop.lines", ci.seq, 3), CACHE_FILL_STORED);
    assert_int_equal(fill(st, "i", "shop.items", ci.seq, 3), CACHE_FILL_STORED);
    feed(&ci, st, ev, ev_gtid(ev, 0, 2, 0), 4);
    feed(&ci, st, ev, ev_query(ev, "other", "BEGIN"), 4);
    assert_int_equal(feed(&ci, st, ev, ev_query(ev, "other", "UPDATE shop.orders SET v = 2"), 4),
                     2);
    assert_true(has(st, "i"));
    assert_int_equal(dropped(st, CACHE_DROP_TABLE), 1);
    assert_int_equal(dropped(st, CACHE_DROP_FK), 1);
    uint64_t mid = ci.seq;
    assert_int_equal(fill(st, "o", "shop.orders", mid, 5), CACHE_FILL_STORED);
    assert_int_equal(feed(&ci, st, ev, ev_xid(ev), 6), 1); /* again at its end */
    assert_int_equal(fill(st, "o", "shop.orders", mid, 7), CACHE_FILL_RACED);
    assert_int_equal(ci.ddl, ddl); /* not a DDL: the schema holds */
    /* unqualified: in the event's database */
    assert_int_equal(fill(st, "o", "shop.orders", ci.seq, 8), CACHE_FILL_STORED);
    feed(&ci, st, ev, ev_gtid(ev, 0, 3, BINLOG_GTID_STANDALONE), 9);
    assert_int_equal(feed(&ci, st, ev, ev_query(ev, "shop", "INSERT INTO items VALUES (1)"), 9), 1);
    assert_true(has(st, "o"));
    /* a table with a trigger, several tables, a view (not a base table): everything */
    const char *all[] = {"INSERT INTO audited VALUES (1)", "UPDATE orders, items SET v = 1",
                         "DELETE FROM a_view"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fill(st, "o", "shop.orders", ci.seq, 10 + i), CACHE_FILL_STORED);
        feed(&ci, st, ev, ev_gtid(ev, 0, 4 + (uint64_t)i, BINLOG_GTID_STANDALONE), 10 + i);
        feed(&ci, st, ev, ev_query(ev, "shop", all[i]), 10 + i);
        assert_false(has(st, "o"));
    }
    assert_true(ci.ddl > ddl);
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

/* An XA_PREPARE event of xid (gtrid, bqual, format 3); `one_phase`. */
static size_t ev_xa_prepare(uint8_t *out, const char *gtrid, const char *bqual, bool one_phase)
{
    uint8_t b[160] = {0};
    size_t g = strlen(gtrid), q = strlen(bqual);
    b[0] = one_phase;
    put32(b + 1, 3);
    put32(b + 5, (uint32_t)g);
    put32(b + 9, (uint32_t)q);
    memcpy(b + 13, gtrid, g);
    memcpy(b + 13 + g, bqual, q);
    return make(out, BINLOG_XA_PREPARE, b, 13 + g + q);
}

static void test_xa(void **state)
{
    (void)state;
    struct cache_store *st = cache_store_create(1 << 20, 0);
    struct cache_inval ci = {0};
    cache_inval_start(&ci, NULL);
    uint8_t ev[600];
    char xid[BINLOG_XID_TEXT_MAX];
    /* the xid as the server writes it in XA COMMIT; a one-phase one is none */
    size_t n = ev_xa_prepare(ev, "x42", "b", false);
    assert_int_equal(binlog_xa_prepared(ev, n, xid, sizeof(xid)), HY_OK);
    assert_string_equal(xid, "X'783432',X'62',3");
    assert_int_equal(binlog_xa_prepared(ev, n, xid, 10), HY_ERROR);
    assert_int_equal(binlog_xa_prepared(ev, n - 1, xid, sizeof(xid)), HY_ERROR);
    n = ev_xa_prepare(ev, "x42", "b", true);
    assert_int_equal(binlog_xa_prepared(ev, n, xid, sizeof(xid)), HY_ERROR);
    n = ev_query(ev, "", "XA ROLLBACK X'79',X'',1 ;");
    assert_int_equal(binlog_xa_ended(ev, n, xid, sizeof(xid)), HY_OK);
    assert_string_equal(xid, "X'79',X'',1");
    n = ev_query(ev, "", "XA END X'79',X'',1");
    assert_int_equal(binlog_xa_ended(ev, n, xid, sizeof(xid)), HY_ERROR);

    /* XA START ... UPDATE shop.orders ... XA END; XA PREPARE */
    assert_int_equal(fill(st, "a", "shop.orders", 0, 1), CACHE_FILL_STORED);
    assert_int_equal(feed(&ci, st, ev, ev_gtid(ev, 0, 10, 0), 2), 0);
    assert_int_equal(feed(&ci, st, ev, ev_map(ev, 77, "shop", "orders"), 2), 0);
    assert_int_equal(feed(&ci, st, ev, ev_rows(ev, BINLOG_UPDATE_ROWS_V1, 77), 2), 1);
    assert_int_equal(feed(&ci, st, ev, ev_query(ev, "shop", "XA END X'783432',X'62',3"), 2), 0);
    assert_int_equal(feed(&ci, st, ev, ev_xa_prepare(ev, "x42", "b", false), 2), 0);
    assert_int_equal(gtid_pos_seq(&ci.pos, 0), 10);
    /* prepared, not committed: fills read the rows before it */
    assert_int_equal(fill(st, "a", "shop.orders", ci.seq, 3), CACHE_FILL_STORED);
    assert_int_equal(fill(st, "b", "shop.items", ci.seq, 3), CACHE_FILL_STORED);
    uint64_t mid = ci.seq;
    /* another transaction commits meanwhile: the prepared one stays */
    assert_int_equal(feed(&ci, st, ev, ev_gtid(ev, 0, 11, 0), 4), 0);
    assert_int_equal(feed(&ci, st, ev, ev_xid(ev), 4), 0);
    assert_int_equal(entries(st), 2);
    /* XA COMMIT of it, written in other case: its table's entries go */
    assert_int_equal(feed(&ci, st, ev, ev_gtid(ev, 0, 12, 0), 5), 0);
    assert_int_equal(feed(&ci, st, ev, ev_query(ev, "", "xa commit X'783432',x'62',3"), 5), 1);
    assert_false(has(st, "a"));
    assert_true(has(st, "b"));
    assert_int_equal(fill(st, "a", "shop.orders", mid, 6), CACHE_FILL_RACED); /* in flight */
    assert_int_equal(gtid_pos_seq(&ci.pos, 0), 12);
    assert_int_equal(ci.nxa, 0);
    /* an XA ROLLBACK of an xid never seen prepared (before the reader
     * started): everything */
    assert_int_equal(fill(st, "a", "shop.orders", ci.seq, 7), CACHE_FILL_STORED);
    assert_int_equal(feed(&ci, st, ev, ev_gtid(ev, 0, 13, 0), 8), 0);
    assert_int_equal(feed(&ci, st, ev, ev_query(ev, "", "XA ROLLBACK X'783432',X'62',3"), 8), 2);
    assert_int_equal(entries(st), 0);
    cache_store_destroy(st);
}

/* An XA COMMIT or XA ROLLBACK whose xid the reader cannot read (longer
 * than any the server writes) ends a prepared transaction it cannot name:
 * everything goes. (A spacing binlog.c does not know is a statement it
 * does not know: everything goes too.) */
static void test_xa_end_not_read(void **state)
{
    (void)state;
    struct cache_store *st = cache_store_create(1 << 20, 0);
    struct cache_inval ci = {0};
    cache_inval_start(&ci, NULL);
    uint8_t ev[800];
    char text[600];
    char text2[700];
    int n = snprintf(text, sizeof(text), "XA COMMIT X'");
    for (int i = 0; i < 400; i++)
        text[n++] = 'a';
    snprintf(text + n, sizeof(text) - (size_t)n, "',X'',1");
    snprintf(text2, sizeof(text2), "xa rollback %s", text + strlen("XA COMMIT "));
    const char *const ends[] = {text, text2, "XA  COMMIT X'783432',X'62',3"};
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(fill(st, "a", "shop.orders", ci.seq, 1 + i), CACHE_FILL_STORED);
        assert_int_equal(feed(&ci, st, ev, ev_gtid(ev, 0, 20 + i, 0), 1 + i), 0);
        assert_int_equal(feed(&ci, st, ev, ev_query(ev, "", ends[i]), 1 + i), 1);
        assert_int_equal(entries(st), 0);
    }
    cache_store_destroy(st);
}

/* The statements that change accounts or privileges (issue 42 item 13),
 * and some that do not. */
static void test_account_statements(void **state)
{
    (void)state;
    static const char *const yes[] = {
        "revoke select on qc.* from u",
        "  /* a comment */ REVOKE r FROM u",
        "FLUSH PRIVILEGES",
        "SET PASSWORD FOR u = PASSWORD('x')",
        "SET DEFAULT ROLE r FOR u",
        "CREATE USER u",
        "CREATE OR REPLACE USER u",
        "CREATE ROLE r",
        "DROP USER IF EXISTS u",
        "drop role r",
        "ALTER USER u ACCOUNT LOCK",
        "RENAME USER a TO b",
    };
    static const char *const no[] = {
        "GRANT SELECT ON *.* TO 'u'@'%'",
        "  /* a comment */ GRANT r TO u",
        "CREATE TABLE user (id INT)",
        "DROP TABLE role",
        "ALTER TABLE t ADD c INT",
        "SET @x = 1",
        "SET DEFAULT_STORAGE_ENGINE = InnoDB",
        "INSERT INTO grants VALUES (1)",
        "CREATE OR REPLACE TABLE t (id INT)",
        "",
        "/* GRANT */ UPDATE t SET v = 1",
    };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        assert_true(cache_inval_account(yes[i], strlen(yes[i])));
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        assert_false(cache_inval_account(no[i], strlen(no[i])));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_statements_and_unknown),
        cmocka_unit_test(test_gtid_gap),
        cmocka_unit_test(test_per_row),
        cmocka_unit_test(test_per_row_unsure),
        cmocka_unit_test(test_per_row_signedness),
        cmocka_unit_test(test_fk_children),
        cmocka_unit_test(test_statement_of_one_table),
        cmocka_unit_test(test_xa),
        cmocka_unit_test(test_account_statements),
        cmocka_unit_test(test_xa_end_not_read),
    };
    known = cache_tables_create();
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cache_tables_destroy(known);
    return rc;
}
