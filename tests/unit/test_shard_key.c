/*
 * test_shard_key.c: key shards (shard_key.h), table-driven: a statement
 * and the session's schema in, the verdict, group and refusal text out;
 * the hash (crc32 of the canonical text % buckets) against known values;
 * literals that are and are not usable keys; prepared parameters; the
 * per-group INSERT texts of a split.
 *
 * The tables: shop.orders hashed by customer_id into 4096 buckets, 0-2047
 * on group 0 (a), 2048-4095 on group 1 (b); shop.events by range of id,
 * below 1000000 on group 0, the rest on group 1; shop.countries a
 * reference table. crc32("7") % 4096 = 2690 (b), crc32("8") % 4096 = 1811
 * (a), crc32("42") % 4096 = 136 (a), crc32("1") % 4096 = 4023 (b).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/config/config.h"
#include "halyard/sql/shard_key.h"

static uint16_t bucket_group[4096];
static struct key_span hash_spans[] = {{.group = 0, .lo = 0, .hi = 2047},
                                       {.group = 1, .lo = 2048, .hi = 4095}};
static struct key_span range_spans[] = {{.group = 0, .below = 1000000, .has_below = true},
                                        {.group = 1}};
static struct shard_table tables[] = {
    {.schema = "shop",
     .table = "orders",
     .key = "customer_id",
     .fn = KEY_FN_HASH,
     .buckets = 4096,
     .bucket_group = bucket_group,
     .spans = hash_spans,
     .n_spans = 2},
    {.schema = "shop",
     .table = "events",
     .key = "id",
     .fn = KEY_FN_RANGE,
     .spans = range_spans,
     .n_spans = 2},
};
static struct shard_ref_table refs[] = {{.schema = "shop", .table = "countries"}};
static const struct shard_tables TB = {.v = tables, .n = 2, .ref = refs, .n_ref = 1};

/* String keys: each bucket its own "group" (group == bucket), so a
 * verdict shows the bucket: shop.users by name, utf8mb4_bin (PAD SPACE:
 * trailing spaces stripped); shop.codes by code, binary (no pad). */
static uint16_t str_bucket_group[4096];
static struct key_span str_spans[] = {{.group = 0, .lo = 0, .hi = 4095}};
static struct shard_table str_tables[] = {
    {.schema = "shop",
     .table = "users",
     .key = "name",
     .type = KEY_TYPE_STRING,
     .cs = KEY_CS_UTF8MB4,
     .pad = true,
     .fn = KEY_FN_HASH,
     .buckets = 4096,
     .bucket_group = str_bucket_group,
     .spans = str_spans,
     .n_spans = 1},
    {.schema = "shop",
     .table = "codes",
     .key = "code",
     .type = KEY_TYPE_STRING,
     .cs = KEY_CS_BINARY,
     .fn = KEY_FN_HASH,
     .buckets = 4096,
     .bucket_group = str_bucket_group,
     .spans = str_spans,
     .n_spans = 1},
};
static const struct shard_tables STB = {.v = str_tables, .n = 2, .ref = refs, .n_ref = 1};

static void setup_buckets(void)
{
    for (int i = 0; i < 4096; i++)
        bucket_group[i] = i < 2048 ? 0 : 1;
}

static void decide(const char *sql, const char *schema, bool prepared, struct key_out *out)
{
    struct key_in in = {
        .tables = &TB, .sql = sql, .len = strlen(sql), .schema = schema, .prepared = prepared};
    shard_key_decide(&in, out);
}

static void test_hash(void **state)
{
    (void)state;
    setup_buckets();
    /* zlib crc32 values the server's CRC32() gives too */
    assert_int_equal(shard_key_bucket(&tables[0], 7), 2690);
    assert_int_equal(shard_key_bucket(&tables[0], 8), 1811);
    assert_int_equal(shard_key_bucket(&tables[0], 42), 136);
    assert_int_equal(shard_key_bucket(&tables[0], -7), 3359);
    assert_int_equal(shard_key_group(&tables[0], 7), 1);
    assert_int_equal(shard_key_group(&tables[0], 8), 0);
    assert_int_equal(shard_key_group(&tables[1], 999999), 0);
    assert_int_equal(shard_key_group(&tables[1], 1000000), 1);
    assert_int_equal(shard_key_group(&tables[1], -5), 0);
    char t[24];
    assert_int_equal(shard_key_text(INT64_MIN, t, sizeof(t)), 20);
    assert_string_equal(t, "-9223372036854775808");
}

static void test_literal(void **state)
{
    (void)state;
    static const struct {
        const char *lit;
        bool neg, ok;
        int64_t v;
    } CASES[] = {
        {"7", false, true, 7},
        {"007", false, true, 7},
        {"'7'", false, true, 7},
        {"'007'", false, true, 7},
        {"\"7\"", false, true, 7},
        {"_utf8mb4'7'", false, true, 7},
        {"N'12'", false, true, 12},
        {"'-7'", false, true, -7},
        {"7", true, true, -7},
        {"9223372036854775807", false, true, INT64_MAX},
        {"9223372036854775808", true, true, INT64_MIN},
        {"9223372036854775808", false, false, 0},
        {"'9007199254740993'", false, false, 0}, /* compared as a double: not exact */
        {"7.5", false, false, 0},
        {"7.0", false, false, 0},
        {"1e3", false, false, 0},
        {"0x07", false, false, 0},
        {"x'07'", false, false, 0},
        {"'7abc'", false, false, 0},
        {"' 7'", false, false, 0},
        {"''", false, false, 0},
        {"'7'", true, false, 0},
        {"'7\\''", false, false, 0},
    };
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        int64_t v = 0;
        bool ok = shard_key_literal(CASES[i].lit, strlen(CASES[i].lit), CASES[i].neg, &v);
        if (ok != CASES[i].ok || (ok && v != CASES[i].v))
            fail_msg("%s%s: got %d %lld", CASES[i].neg ? "-" : "", CASES[i].lit, ok, (long long)v);
    }
}

struct dcase {
    const char *sql;
    const char *schema;
    enum key_verdict v;
    int group;       /* KEY_ONE */
    const char *why; /* KEY_REFUSE: a part of the text */
};

static void run(const struct dcase *c, size_t n)
{
    setup_buckets();
    for (size_t i = 0; i < n; i++) {
        struct key_out out;
        decide(c[i].sql, c[i].schema, false, &out);
        if (out.verdict != c[i].v)
            fail_msg("%s: got %s (%s), want %s", c[i].sql, shard_key_verdict_to_str(out.verdict),
                     out.why, shard_key_verdict_to_str(c[i].v));
        if (c[i].v == KEY_ONE && out.group != c[i].group)
            fail_msg("%s: group %u, want %d", c[i].sql, out.group, c[i].group);
        if (c[i].why != NULL && strstr(out.why, c[i].why) == NULL)
            fail_msg("%s: why \"%s\", want \"%s\"", c[i].sql, out.why, c[i].why);
    }
}

static void test_where(void **state)
{
    (void)state;
    static const struct dcase C[] = {
        {"SELECT 1", NULL, KEY_NONE, 0, NULL},
        {"SELECT * FROM other.orders WHERE customer_id = 7", NULL, KEY_NONE, 0, NULL},
        {"SELECT * FROM orders WHERE customer_id = 7", NULL, KEY_NONE, 0, NULL}, /* no schema */
        {"SELECT * FROM orders WHERE customer_id = 7", "other", KEY_NONE, 0, NULL},
        {"SELECT * FROM shop.orders WHERE customer_id = 7", NULL, KEY_ONE, 1, NULL},
        {"SELECT * FROM orders WHERE customer_id = 7", "shop", KEY_ONE, 1, NULL},
        {"SELECT * FROM `shop`.`orders` WHERE `customer_id` = 8", NULL, KEY_ONE, 0, NULL},
        {"select * from shop.orders where CUSTOMER_ID = '007'", NULL, KEY_ONE, 1, NULL},
        {"SELECT * FROM shop.orders o WHERE o.customer_id = 8", NULL, KEY_ONE, 0, NULL},
        {"SELECT * FROM shop.orders AS o WHERE 8 = o.customer_id", NULL, KEY_ONE, 0, NULL},
        {"SELECT * FROM shop.orders WHERE orders.customer_id = 8", NULL, KEY_ONE, 0, NULL},
        {"SELECT * FROM shop.orders WHERE shop.orders.customer_id = 8", NULL, KEY_ONE, 0, NULL},
        {"SELECT * FROM shop.orders o WHERE x.customer_id = 8", NULL, KEY_SCATTER, 0, NULL},
        {"SELECT * FROM shop.orders WHERE a = 1 AND customer_id = 7 AND b < 3", NULL, KEY_ONE, 1,
         NULL},
        {"SELECT * FROM shop.orders WHERE (a = 1 OR b = 2) AND customer_id = 8", NULL, KEY_ONE, 0,
         NULL},
        {"SELECT * FROM shop.orders WHERE customer_id = 8 ORDER BY x LIMIT 3", NULL, KEY_ONE, 0,
         NULL},
        {"SELECT * FROM shop.orders WHERE customer_id = 8 FOR UPDATE", NULL, KEY_ONE, 0, NULL},
        {"SELECT * FROM shop.orders WHERE customer_id = -7", NULL, KEY_ONE, 1, NULL},
        /* keyless */
        {"SELECT * FROM shop.orders", NULL, KEY_SCATTER, 0, NULL},
        {"SELECT * FROM shop.orders WHERE customer_id = 7 OR customer_id = 8", NULL, KEY_SCATTER, 0,
         NULL},
        {"SELECT * FROM shop.orders WHERE customer_id = 7 || a", NULL, KEY_SCATTER, 0, NULL},
        {"SELECT * FROM shop.orders WHERE customer_id = 7.5", NULL, KEY_SCATTER, 0, NULL},
        {"SELECT * FROM shop.orders WHERE customer_id = '7abc'", NULL, KEY_SCATTER, 0, NULL},
        {"SELECT * FROM shop.orders WHERE customer_id = NULL", NULL, KEY_SCATTER, 0, NULL},
        {"SELECT * FROM shop.orders WHERE customer_id = 7 + 1", NULL, KEY_SCATTER, 0, NULL},
        {"SELECT * FROM shop.orders WHERE customer_id = 7 IS TRUE", NULL, KEY_SCATTER, 0, NULL},
        {"SELECT * FROM shop.orders WHERE NOT customer_id = 7", NULL, KEY_SCATTER, 0, NULL},
        {"SELECT * FROM shop.orders WHERE customer_id > 7", NULL, KEY_SCATTER, 0, NULL},
        {"SELECT * FROM shop.orders WHERE customer_id = ?", NULL, KEY_SCATTER, 0, NULL},
        {"SELECT * FROM shop.orders WHERE a BETWEEN 1 AND customer_id = 7", NULL, KEY_SCATTER, 0,
         NULL},
        {"SELECT * FROM shop.orders WHERE CASE WHEN a AND customer_id = 7 THEN 1 END", NULL,
         KEY_SCATTER, 0, NULL},
        {"SELECT * FROM shop.orders WHERE customer_id = 7 AND x IN (SELECT 1)", NULL, KEY_SCATTER,
         0, NULL},
        {"SELECT * FROM (SELECT * FROM shop.orders) d WHERE customer_id = 7", NULL, KEY_SCATTER, 0,
         NULL},
        {"SELECT * FROM shop.orders WHERE customer_id = 7 UNION SELECT * FROM shop.countries", NULL,
         KEY_SCATTER, 0, NULL},
        {"SELECT * FROM shop.orders WHERE '/* customer_id = 7 */' = x", NULL, KEY_SCATTER, 0, NULL},
        /* unbalanced text ends the WHERE whatever its depth (this one looped) */
        {"SELECT * FROM shop.orders WHERE s FROM x BETWEEN id CASE CASE OR WHERE AS TO I", NULL,
         KEY_SCATTER, 0, NULL},
        {"SELECT * FROM shop.orders WHERE (a = 1 AND customer_id = 7", NULL, KEY_SCATTER, 0, NULL},
        {"SELECT * FROM shop.orders WHERE a = (", NULL, KEY_SCATTER, 0, NULL},
        /* IN */
        {"SELECT * FROM shop.orders WHERE customer_id IN (8, 42, '10')", NULL, KEY_ONE, 0, NULL},
        {"SELECT * FROM shop.orders WHERE customer_id IN (7, 8)", NULL, KEY_SCATTER, 0, NULL},
        {"SELECT * FROM shop.orders WHERE customer_id IN (7, 8) AND customer_id = 7", NULL, KEY_ONE,
         1, NULL},
        {"SELECT * FROM shop.orders WHERE customer_id IN (7, x)", NULL, KEY_SCATTER, 0, NULL},
        /* range */
        {"SELECT * FROM shop.events WHERE id = 999999", NULL, KEY_ONE, 0, NULL},
        {"SELECT * FROM shop.events WHERE id = 1000000", NULL, KEY_ONE, 1, NULL},
        /* with a reference table: by the sharded table's key */
        {"SELECT * FROM shop.orders o JOIN shop.countries c ON c.id = o.country WHERE "
         "o.customer_id = 7",
         NULL, KEY_ONE, 1, NULL},
        {"SELECT * FROM shop.countries", NULL, KEY_NONE, 0, NULL},
        {"SELECT * FROM countries, orders WHERE customer_id = 8", "shop", KEY_ONE, 0, NULL},
        /* two sharded tables, or one twice */
        {"SELECT * FROM shop.orders o JOIN shop.events e WHERE o.customer_id = 7", NULL, KEY_REFUSE,
         0, "names sharded tables orders and events"},
        {"SELECT * FROM shop.orders a JOIN shop.orders b WHERE a.customer_id = 7", NULL, KEY_REFUSE,
         0, "names sharded table orders twice"},
        {"SELECT * FROM shop.orders WHERE customer_id = 7; SELECT 1", NULL, KEY_REFUSE, 0,
         "multi-statement"},
        {"SHOW CREATE TABLE shop.orders", NULL, KEY_NONE, 0, NULL},
        {"DESCRIBE shop.orders", NULL, KEY_NONE, 0, NULL},
    };
    run(C, sizeof(C) / sizeof(C[0]));
}

static void test_writes(void **state)
{
    (void)state;
    static const struct dcase C[] = {
        {"UPDATE shop.orders SET x = 1 WHERE customer_id = 7", NULL, KEY_ONE, 1, NULL},
        {"UPDATE LOW_PRIORITY shop.orders SET x = 1 WHERE customer_id = 8", NULL, KEY_ONE, 0, NULL},
        {"DELETE FROM shop.orders WHERE customer_id = 8 LIMIT 1", NULL, KEY_ONE, 0, NULL},
        {"UPDATE shop.orders SET x = 1", NULL, KEY_REFUSE, 0,
         "halyard: UPDATE on sharded table orders needs orders.customer_id"},
        {"DELETE FROM shop.orders WHERE x = 1", NULL, KEY_REFUSE, 0,
         "halyard: DELETE on sharded table orders needs orders.customer_id"},
        {"UPDATE shop.orders SET x = 1 WHERE customer_id = 7 OR customer_id = 8", NULL, KEY_REFUSE,
         0, "needs orders.customer_id"},
        {"DELETE FROM shop.orders WHERE customer_id IN (7, 8)", NULL, KEY_REFUSE, 0,
         "more than one group"},
        {"DELETE FROM shop.orders WHERE customer_id IN (8, 42)", NULL, KEY_ONE, 0, NULL},
        {"UPDATE shop.orders SET customer_id = 8 WHERE customer_id = 7", NULL, KEY_REFUSE, 0,
         "changes its key orders.customer_id"},
        {"UPDATE shop.orders o SET o.customer_id = 8 WHERE customer_id = 7", NULL, KEY_REFUSE, 0,
         "changes its key"},
        {"INSERT INTO shop.orders (id, customer_id) VALUES (1, 7)", NULL, KEY_ONE, 1, NULL},
        {"INSERT INTO shop.orders (customer_id, id) VALUES ('8', 1), (42, 2)", NULL, KEY_ONE, 0,
         NULL},
        {"INSERT IGNORE shop.orders (id, customer_id) VALUES (1, 7)", NULL, KEY_ONE, 1, NULL},
        {"REPLACE INTO orders (id, customer_id) VALUES (1, 8)", "shop", KEY_ONE, 0, NULL},
        {"INSERT INTO shop.orders SET id = 1, customer_id = 7", NULL, KEY_ONE, 1, NULL},
        {"INSERT INTO shop.orders (id, customer_id) VALUES (1, 7), (2, 8)", NULL, KEY_SPLIT, 0,
         NULL},
        {"INSERT INTO shop.orders VALUES (1, 7)", NULL, KEY_REFUSE, 0,
         "needs a column list naming orders.customer_id"},
        {"INSERT INTO shop.orders (id) VALUES (1)", NULL, KEY_REFUSE, 0, "needs a column list"},
        {"INSERT INTO shop.orders (id, customer_id) VALUES (1, 7 + 1)", NULL, KEY_REFUSE, 0,
         "integer literal in every row"},
        {"INSERT INTO shop.orders (id, customer_id) VALUES (1, NULL)", NULL, KEY_REFUSE, 0,
         "integer literal"},
        {"INSERT INTO shop.orders (id, customer_id) SELECT 1, 7", NULL, KEY_REFUSE, 0,
         "SELECT into or from sharded table orders"},
        {"INSERT INTO shop.orders (id, customer_id) VALUES (1, 7) ON DUPLICATE KEY UPDATE "
         "customer_id = 8",
         NULL, KEY_REFUSE, 0, "changes its key"},
        {"INSERT INTO shop.orders (id, customer_id) VALUES (1, 7) ON DUPLICATE KEY UPDATE x = 2",
         NULL, KEY_ONE, 1, NULL},
        {"INSERT INTO shop.events (id) VALUES (5), (6)", NULL, KEY_ONE, 0, NULL},
        /* DDL, reference tables */
        {"ALTER TABLE shop.orders ADD COLUMN z INT", NULL, KEY_ALL, 0, NULL},
        {"CREATE INDEX i ON shop.orders (x)", NULL, KEY_ALL, 0, NULL},
        {"TRUNCATE TABLE shop.orders", NULL, KEY_ALL, 0, NULL},
        {"DROP TABLE IF EXISTS shop.orders", NULL, KEY_ALL, 0, NULL},
        {"CREATE TABLE shop.orders (id INT, customer_id INT)", NULL, KEY_ALL, 0, NULL},
        {"CREATE TABLE shop.x AS SELECT * FROM shop.orders", NULL, KEY_REFUSE, 0,
         "with other tables"},
        {"INSERT INTO shop.countries VALUES (1, 'x')", NULL, KEY_ALL, 0, NULL},
        {"UPDATE countries SET n = 'y' WHERE id = 1", "shop", KEY_ALL, 0, NULL},
        {"DELETE FROM shop.countries", NULL, KEY_ALL, 0, NULL},
        {"INSERT INTO shop.plain SELECT * FROM shop.countries", NULL, KEY_NONE, 0, NULL},
        {"UPDATE shop.plain p JOIN shop.countries c SET c.n = 1", NULL, KEY_REFUSE, 0,
         "reference table countries with other tables"},
        /* a write joining reference tables: the sharded table's columns only, by its key */
        {"UPDATE shop.orders o JOIN shop.countries c SET o.x = 1 WHERE o.customer_id = 7", NULL,
         KEY_ONE, 1, NULL},
        {"UPDATE shop.orders o JOIN shop.countries c ON c.id = o.country SET o.x = c.n, "
         "o.y = (1 + 2) WHERE o.customer_id = 8",
         NULL, KEY_ONE, 0, NULL},
        {"UPDATE orders JOIN countries SET orders.x = 1 WHERE orders.customer_id = 7", "shop",
         KEY_ONE, 1, NULL},
        {"UPDATE shop.orders o JOIN shop.countries c SET c.n = 1 WHERE o.customer_id = 7", NULL,
         KEY_REFUSE, 0,
         "halyard: UPDATE naming sharded table orders and reference table countries may change "
         "countries, a copy on every group: write only the columns of orders, qualified"},
        {"UPDATE shop.orders o JOIN shop.countries c SET o.x = 1, c.n = 2 WHERE o.customer_id = 7",
         NULL, KEY_REFUSE, 0, "may change countries"},
        {"UPDATE shop.orders o JOIN shop.countries c SET x = 1 WHERE o.customer_id = 7", NULL,
         KEY_REFUSE, 0, "may change countries"},
        {"UPDATE shop.orders o JOIN shop.countries c SET o.x = 1", NULL, KEY_REFUSE, 0,
         "UPDATE on sharded table orders needs orders.customer_id"},
        {"DELETE o FROM shop.orders o JOIN shop.countries c ON c.id = o.country WHERE "
         "o.customer_id = 7 AND c.n = 'x'",
         NULL, KEY_ONE, 1, NULL},
        {"DELETE o.* FROM shop.orders o, shop.countries c WHERE o.customer_id = 8", NULL, KEY_ONE,
         0, NULL},
        {"DELETE FROM o USING shop.orders o JOIN shop.countries c WHERE o.customer_id = 8", NULL,
         KEY_ONE, 0, NULL},
        {"DELETE FROM shop.orders USING shop.orders JOIN shop.countries c WHERE "
         "orders.customer_id = 8",
         NULL, KEY_ONE, 0, NULL},
        {"DELETE FROM shop.orders.* USING shop.orders, shop.countries WHERE customer_id = 7", NULL,
         KEY_ONE, 1, NULL},
        {"DELETE FROM shop.countries USING shop.orders o JOIN shop.countries WHERE "
         "o.customer_id = 7",
         NULL, KEY_REFUSE, 0, "may change countries"},
        {"DELETE o, c FROM shop.orders o JOIN shop.countries c WHERE o.customer_id = 7", NULL,
         KEY_REFUSE, 0, "may change countries"},
        {"DELETE c FROM shop.orders o JOIN shop.countries c WHERE o.customer_id = 7", NULL,
         KEY_REFUSE, 0, "may change countries"},
        {"DELETE o FROM shop.orders o JOIN shop.countries c WHERE c.id = 7", NULL, KEY_REFUSE, 0,
         "DELETE on sharded table orders needs orders.customer_id"},
        /* DELETE ... USING names its tables after USING (before: the sharded table unseen) */
        {"DELETE FROM o USING shop.orders o WHERE o.x = 1", NULL, KEY_REFUSE, 0,
         "DELETE on sharded table orders needs orders.customer_id"},
        {"INSERT INTO shop.orders (id, customer_id, country) VALUES (1, 7, (SELECT id FROM "
         "shop.countries WHERE n = 'x'))",
         NULL, KEY_ONE, 1, NULL},
        {"INSERT INTO shop.orders (id, customer_id) SELECT id, 7 FROM shop.countries", NULL,
         KEY_REFUSE, 0, "SELECT into or from sharded table orders"},
        {"UPDATE shop.countries c JOIN shop.orders o SET c.n = 1 WHERE o.customer_id = 7", NULL,
         KEY_REFUSE, 0, "may change countries"},
        {"LOAD DATA INFILE 'x' INTO TABLE shop.orders", NULL, KEY_REFUSE, 0,
         "LOAD on sharded table orders is not supported"},
    };
    run(C, sizeof(C) / sizeof(C[0]));
}

/* Reads joining the sharded table with reference tables (ref_join):
 * keyed on one group, keyless scattered with ref_join set unless an outer
 * join keeps reference rows without a sharded row. */
static void test_ref_joins(void **state)
{
    (void)state;
    setup_buckets();
    static const struct {
        const char *sql;
        enum key_verdict v;
        bool ref_join;
        const char *why;
    } C[] = {
        {"SELECT COUNT(*) FROM shop.orders o JOIN shop.countries c ON c.id = o.country",
         KEY_SCATTER, true, NULL},
        {"SELECT * FROM shop.countries c, shop.orders o WHERE c.id = o.country", KEY_SCATTER, true,
         NULL},
        {"SELECT * FROM shop.orders o LEFT JOIN shop.countries c ON c.id = o.country", KEY_SCATTER,
         true, NULL},
        {"SELECT LEFT(c.n, 2) FROM shop.countries c JOIN shop.orders o ON c.id = o.country",
         KEY_SCATTER, true, NULL},
        {"SELECT * FROM shop.orders o JOIN shop.countries c WHERE o.customer_id IN (7, 8)",
         KEY_SCATTER, true, NULL},
        {"SELECT * FROM shop.orders o JOIN shop.countries c WHERE o.customer_id = 7", KEY_ONE,
         false, NULL},
        {"SELECT * FROM shop.countries c LEFT JOIN shop.orders o ON c.id = o.country", KEY_REFUSE,
         false,
         "halyard: SELECT joining sharded table orders with reference table countries by an outer "
         "join that keeps countries rows without a matching orders row would repeat them on every "
         "group"},
        {"SELECT * FROM shop.orders o RIGHT JOIN shop.countries c ON c.id = o.country", KEY_REFUSE,
         false, "by an outer join"},
        /* an outer join filtered by the key: on its group(s) */
        {"SELECT * FROM shop.countries c LEFT JOIN shop.orders o ON c.id = o.country WHERE "
         "o.customer_id = 7",
         KEY_ONE, false, NULL},
        /* a join with a table neither sharded nor reference: not merged (scatter_plan) */
        {"SELECT * FROM shop.orders o JOIN shop.plain p JOIN shop.countries c", KEY_SCATTER, false,
         NULL},
        {"SELECT * FROM shop.orders", KEY_SCATTER, false, NULL},
        /* STRAIGHT_JOIN names a table too (it went unseen) */
        {"SELECT * FROM shop.orders o STRAIGHT_JOIN shop.countries c ON c.id = o.country",
         KEY_SCATTER, true, NULL},
        {"SELECT * FROM shop.countries c STRAIGHT_JOIN shop.orders o ON c.id = o.country",
         KEY_SCATTER, true, NULL},
        {"SELECT * FROM shop.countries c STRAIGHT_JOIN shop.orders o WHERE o.customer_id = 8",
         KEY_ONE, false, NULL},
    };
    for (size_t i = 0; i < sizeof(C) / sizeof(C[0]); i++) {
        struct key_out out;
        decide(C[i].sql, NULL, false, &out);
        if (out.verdict != C[i].v || out.ref_join != C[i].ref_join)
            fail_msg("%s: %s ref_join %d (%s)", C[i].sql, shard_key_verdict_to_str(out.verdict),
                     out.ref_join, out.why);
        if (C[i].why != NULL && strstr(out.why, C[i].why) == NULL)
            fail_msg("%s: why \"%s\"", C[i].sql, out.why);
    }
    /* prepared: the key in a parameter, NULL at EXECUTE: scattered, still a ref join */
    struct key_out out;
    decide("SELECT * FROM shop.orders o JOIN shop.countries c WHERE o.customer_id = ?", NULL, true,
           &out);
    assert_int_equal(out.verdict, KEY_PARAMS);
    assert_true(out.ref_join);
    decide("SELECT * FROM shop.countries c LEFT JOIN shop.orders o ON o.customer_id = ?", NULL,
           true, &out);
    assert_int_equal(out.verdict, KEY_REFUSE);
}

/* zlib crc32 % 4096 of: "abc" 450, "abc  " 1915, "ABC" 840, "a'b" 2580,
 * "a\\b" 2601, "a\\%" 3610, "\xc3\xa9" (é in UTF-8) 3390, "a\x08" 43, "ac" 2299. */
static void test_string_keys(void **state)
{
    (void)state;
    for (int i = 0; i < 4096; i++)
        str_bucket_group[i] = (uint16_t)i;
    static const struct {
        const char *sql;
        unsigned opts;
        enum key_cs cs;
        enum key_verdict v;
        int bucket;
    } C[] = {
        {"SELECT * FROM shop.users WHERE name = 'abc'", 0, KEY_CS_UTF8MB4, KEY_ONE, 450},
        /* PAD SPACE: 'abc  ' = 'abc' */
        {"SELECT * FROM shop.users WHERE name = 'abc  '", 0, KEY_CS_UTF8MB4, KEY_ONE, 450},
        {"SELECT * FROM shop.codes WHERE code = 'abc  '", 0, KEY_CS_UTF8MB4, KEY_ONE, 1915},
        {"SELECT * FROM shop.users WHERE name = 'ABC'", 0, KEY_CS_UTF8MB4, KEY_ONE, 840},
        {"SELECT * FROM shop.users WHERE name = \"abc\"", 0, KEY_CS_UTF8MB4, KEY_ONE, 450},
        {"SELECT * FROM shop.users WHERE name = \"abc\"", CLO_ANSI_QUOTES, KEY_CS_UTF8MB4,
         KEY_SCATTER, 0},
        /* escapes */
        {"SELECT * FROM shop.users WHERE name = 'a\\'b'", 0, KEY_CS_UTF8MB4, KEY_ONE, 2580},
        {"SELECT * FROM shop.users WHERE name = 'a''b'", 0, KEY_CS_UTF8MB4, KEY_ONE, 2580},
        {"SELECT * FROM shop.users WHERE name = \"a'b\"", 0, KEY_CS_UTF8MB4, KEY_ONE, 2580},
        {"SELECT * FROM shop.users WHERE name = 'a\\\\b'", 0, KEY_CS_UTF8MB4, KEY_ONE, 2601},
        {"SELECT * FROM shop.users WHERE name = 'a\\b'", CLO_NO_BACKSLASH_ESCAPES, KEY_CS_UTF8MB4,
         KEY_ONE, 2601},
        {"SELECT * FROM shop.users WHERE name = 'a\\%'", 0, KEY_CS_UTF8MB4, KEY_ONE, 3610},
        {"SELECT * FROM shop.users WHERE name = 'a\\b'", 0, KEY_CS_UTF8MB4, KEY_ONE,
         43}, /* \\b: 0x08 */
        {"SELECT * FROM shop.users WHERE name = 'a\\c'", 0, KEY_CS_UTF8MB4, KEY_ONE,
         2299}, /* \\c: c */
        /* binary strings: their bytes */
        {"SELECT * FROM shop.users WHERE name = X'616263'", 0, KEY_CS_UTF8MB4, KEY_ONE, 450},
        {"SELECT * FROM shop.users WHERE name = x'616263'", 0, KEY_CS_UNKNOWN, KEY_ONE, 450},
        {"SELECT * FROM shop.users WHERE name = 0x616263", 0, KEY_CS_UTF8MB4, KEY_ONE, 450},
        {"SELECT * FROM shop.users WHERE name = _binary'abc'", 0, KEY_CS_UTF8MB4, KEY_ONE, 450},
        {"SELECT * FROM shop.users WHERE name = X'C3A9'", 0, KEY_CS_UTF8MB4, KEY_ONE, 3390},
        /* ... well-formed in the column's set (the server may make '?' of the rest) */
        {"SELECT * FROM shop.users WHERE name = X'FF'", 0, KEY_CS_UTF8MB4, KEY_SCATTER, 0},
        {"SELECT * FROM shop.users WHERE name = _binary'\xc3'", 0, KEY_CS_UTF8MB4, KEY_SCATTER, 0},
        {"SELECT * FROM shop.codes WHERE code = X'FF'", 0, KEY_CS_UTF8MB4, KEY_ONE, 0},
        /* non-ASCII: the bytes are the column's only in its character set */
        {"SELECT * FROM shop.users WHERE name = '\xc3\xa9'", 0, KEY_CS_UTF8MB4, KEY_ONE, 3390},
        {"SELECT * FROM shop.users WHERE name = _utf8mb4'\xc3\xa9'", 0, KEY_CS_LATIN1, KEY_ONE,
         3390},
        {"SELECT * FROM shop.users WHERE name = N'\xc3\xa9'", 0, KEY_CS_LATIN1, KEY_ONE, 3390},
        {"SELECT * FROM shop.users WHERE name = '\xc3\xa9'", 0, KEY_CS_UTF8MB3, KEY_ONE, 3390},
        {"SELECT * FROM shop.users WHERE name = '\xc3\xa9'", 0, KEY_CS_UNKNOWN, KEY_SCATTER, 0},
        {"SELECT * FROM shop.users WHERE name = '\xc3\xa9'", 0, KEY_CS_LATIN1, KEY_SCATTER, 0},
        {"SELECT * FROM shop.users WHERE name = _latin1'\xe9'", 0, KEY_CS_UTF8MB4, KEY_SCATTER, 0},
        {"SELECT * FROM shop.users WHERE name = '\xc3'", 0, KEY_CS_UTF8MB4, KEY_SCATTER, 0},
        {"SELECT * FROM shop.users WHERE name = _koi8r'abc'", 0, KEY_CS_UTF8MB4, KEY_SCATTER, 0},
        {"SELECT * FROM shop.codes WHERE code = '\xc3\xa9'", 0, KEY_CS_UTF8MB4, KEY_ONE, 3390},
        {"SELECT * FROM shop.codes WHERE code = '\xc3\xa9'", 0, KEY_CS_UNKNOWN, KEY_SCATTER, 0},
        /* ASCII text is the same bytes in every ASCII-based set */
        {"SELECT * FROM shop.users WHERE name = 'abc'", 0, KEY_CS_UNKNOWN, KEY_ONE, 450},
        {"SELECT * FROM shop.users WHERE name = _latin1'abc'", 0, KEY_CS_UTF8MB4, KEY_ONE, 450},
        {"SELECT * FROM shop.users WHERE name = 'abc'", 0, KEY_CS_WIDE, KEY_SCATTER, 0},
        /* numbers compare as numbers: no key */
        {"SELECT * FROM shop.users WHERE name = 42", 0, KEY_CS_UTF8MB4, KEY_SCATTER, 0},
        {"SELECT * FROM shop.users WHERE name = -'a'", 0, KEY_CS_UTF8MB4, KEY_SCATTER, 0},
        /* a COLLATE or a concatenation changes the comparison */
        {"SELECT * FROM shop.users WHERE name = 'abc' COLLATE utf8mb4_general_ci", 0,
         KEY_CS_UTF8MB4, KEY_SCATTER, 0},
        {"SELECT * FROM shop.users WHERE name = 'a' 'bc'", 0, KEY_CS_UTF8MB4, KEY_SCATTER, 0},
        {"SELECT * FROM shop.users WHERE name IN ('abc', 'abc ', X'616263')", 0, KEY_CS_UTF8MB4,
         KEY_ONE, 450},
        {"SELECT * FROM shop.users WHERE name IN ('abc', 'ABC')", 0, KEY_CS_UTF8MB4, KEY_SCATTER,
         0},
        {"INSERT INTO shop.users (id, name) VALUES (1, 'abc'), (2, 'abc ')", 0, KEY_CS_UTF8MB4,
         KEY_ONE, 450},
        {"INSERT INTO shop.users (id, name) VALUES (1, 'abc'), (2, 'ABC')", 0, KEY_CS_UTF8MB4,
         KEY_SPLIT, 0},
        {"UPDATE shop.users SET x = 1 WHERE name = 'abc'", 0, KEY_CS_UTF8MB4, KEY_ONE, 450},
    };
    for (size_t i = 0; i < sizeof(C) / sizeof(C[0]); i++) {
        struct key_in in = {.tables = &STB,
                            .sql = C[i].sql,
                            .len = strlen(C[i].sql),
                            .opts = C[i].opts,
                            .text_cs = C[i].cs};
        struct key_out out;
        shard_key_decide(&in, &out);
        if (out.verdict != C[i].v || (C[i].v == KEY_ONE && out.group != C[i].bucket))
            fail_msg("%s (opts %u, cs %d): %s group %u (%s), want %s %d", C[i].sql, C[i].opts,
                     (int)C[i].cs, shard_key_verdict_to_str(out.verdict), out.group, out.why,
                     shard_key_verdict_to_str(C[i].v), C[i].bucket);
    }
    /* writes without a usable string key: refused, saying what it must be */
    struct key_in in = {.tables = &STB, .text_cs = KEY_CS_UTF8MB4};
    struct key_out out;
    in.sql = "DELETE FROM shop.users WHERE name = 42";
    in.len = strlen(in.sql);
    shard_key_decide(&in, &out);
    assert_int_equal(out.verdict, KEY_REFUSE);
    assert_string_equal(out.why, "halyard: DELETE on sharded table users needs users.name");
    in.sql = "INSERT INTO shop.users (id, name) VALUES (1, 7)";
    in.len = strlen(in.sql);
    shard_key_decide(&in, &out);
    assert_int_equal(out.verdict, KEY_REFUSE);
    assert_string_equal(out.why, "halyard: INSERT on sharded table users needs users.name as a "
                                 "string literal in every row");
    /* the integer key still takes a quoted number ('42' = 42) */
    decide("SELECT * FROM shop.orders WHERE customer_id = '42'", NULL, false, &out);
    assert_int_equal(out.verdict, KEY_ONE);
    assert_int_equal(out.group, 0);
    /* the split of an INSERT by string keys */
    in.sql = "INSERT INTO shop.users (id, name) VALUES (1, 'abc'), (2, 'ABC'), (3, 'abc ')";
    in.len = strlen(in.sql);
    char buf[256];
    bool fits;
    assert_true(shard_key_split(&in, 450, buf, sizeof(buf), &fits) > 0);
    assert_string_equal(buf, "INSERT INTO shop.users (id, name) VALUES (1, 'abc'), (3, 'abc ')");
    /* the character sets of names and ids */
    assert_int_equal(shard_key_cs_by_name("UTF8MB4", 7), KEY_CS_UTF8MB4);
    assert_int_equal(shard_key_cs_by_name("utf8", 4), KEY_CS_UTF8MB3);
    assert_int_equal(shard_key_cs_by_name("ucs2", 4), KEY_CS_WIDE);
    assert_int_equal(shard_key_cs_by_name("sjis", 4), KEY_CS_UNKNOWN);
    assert_int_equal(shard_key_cs_by_id(45), KEY_CS_UTF8MB4);
    assert_int_equal(shard_key_cs_by_id(8), KEY_CS_LATIN1);
    assert_int_equal(shard_key_cs_by_id(33), KEY_CS_UTF8MB3);
    assert_int_equal(shard_key_cs_by_id(63), KEY_CS_BINARY);
    enum key_cs cs;
    bool pad;
    assert_true(shard_key_collation("utf8mb4_bin", &cs, &pad) && cs == KEY_CS_UTF8MB4 && pad);
    assert_true(shard_key_collation("utf8mb4_nopad_bin", &cs, &pad) && cs == KEY_CS_UTF8MB4 &&
                !pad);
    assert_true(shard_key_collation("latin1_bin", &cs, &pad) && cs == KEY_CS_LATIN1);
    assert_true(shard_key_collation("binary", &cs, &pad) && cs == KEY_CS_BINARY && !pad);
    assert_false(shard_key_collation("utf8mb4_general_ci", &cs, &pad));
    assert_false(shard_key_collation("utf8mb4_unicode_520_nopad_ci", &cs, &pad));
    assert_false(shard_key_collation("ucs2_bin", &cs, &pad));
    assert_false(shard_key_collation("_bin", &cs, &pad));
    /* prepared: a string parameter by its group */
    in.sql = "SELECT * FROM shop.users WHERE name = ?";
    in.len = strlen(in.sql);
    in.prepared = true;
    shard_key_decide(&in, &out);
    assert_int_equal(out.verdict, KEY_PARAMS);
    uint16_t g[1] = {(uint16_t)shard_key_str_group(&str_tables[0], (const uint8_t *)"abc ", 4)};
    assert_int_equal(g[0], 450);
    bool ok[1] = {true};
    struct key_out o2 = out;
    shard_key_params_groups(&STB, &o2, g, ok);
    assert_int_equal(o2.verdict, KEY_ONE);
    assert_int_equal(o2.group, 450);
    in.sql = "DELETE FROM shop.users WHERE name = ?";
    in.len = strlen(in.sql);
    shard_key_decide(&in, &out);
    ok[0] = false;
    shard_key_params_groups(&STB, &out, g, ok);
    assert_int_equal(out.verdict, KEY_REFUSE);
    assert_string_equal(out.why,
                        "halyard: DELETE on sharded table users needs a string users.name in its "
                        "parameter 1");
    /* exactness of conversions */
    assert_true(
        shard_key_str_exact(&str_tables[0], KEY_CS_UTF8MB3, (const uint8_t *)"\xc3\xa9", 2));
    assert_false(shard_key_str_exact(&str_tables[0], KEY_CS_UTF8MB3,
                                     (const uint8_t *)"\xf0\x9f\x98\x80", 4));
    assert_true(shard_key_str_exact(&str_tables[0], KEY_CS_UTF8MB4,
                                    (const uint8_t *)"\xf0\x9f\x98\x80", 4));
    assert_false(shard_key_str_exact(&str_tables[0], KEY_CS_UTF8MB4,
                                     (const uint8_t *)"\xed\xa0\x80", 3)); /* a surrogate */
}

static void test_params(void **state)
{
    (void)state;
    setup_buckets();
    struct key_out out;
    decide("SELECT * FROM shop.orders WHERE a = ? AND customer_id = ?", NULL, true, &out);
    assert_int_equal(out.verdict, KEY_PARAMS);
    assert_int_equal(out.params.n, 1);
    assert_int_equal(out.params.param[0], 1);
    int64_t v[2] = {7, 8};
    bool ok[2] = {true, true};
    struct key_out o2 = out;
    shard_key_params(&TB, &o2, v, ok);
    assert_int_equal(o2.verdict, KEY_ONE);
    assert_int_equal(o2.group, 1);
    o2 = out;
    ok[0] = false; /* NULL: a read runs everywhere */
    shard_key_params(&TB, &o2, v, ok);
    assert_int_equal(o2.verdict, KEY_SCATTER);

    decide("INSERT INTO shop.orders (id, customer_id) VALUES (?, ?), (?, 42)", NULL, true, &out);
    assert_int_equal(out.verdict, KEY_PARAMS);
    assert_int_equal(out.params.n, 2);
    assert_int_equal(out.params.param[0], 1);
    assert_int_equal(out.params.param[1], UINT16_MAX);
    o2 = out;
    ok[0] = true;
    v[0] = 8;
    shard_key_params(&TB, &o2, v, ok);
    assert_int_equal(o2.verdict, KEY_ONE);
    assert_int_equal(o2.group, 0);
    o2 = out;
    v[0] = 7;
    shard_key_params(&TB, &o2, v, ok); /* rows on two groups: split, values written in */
    assert_int_equal(o2.verdict, KEY_SPLIT);

    decide("DELETE FROM shop.orders WHERE customer_id IN (?, ?)", NULL, true, &out);
    assert_int_equal(out.verdict, KEY_PARAMS);
    o2 = out;
    v[0] = 8;
    v[1] = 42;
    ok[1] = true;
    shard_key_params(&TB, &o2, v, ok);
    assert_int_equal(o2.verdict, KEY_ONE);
    o2 = out;
    v[1] = 7;
    shard_key_params(&TB, &o2, v, ok);
    assert_int_equal(o2.verdict, KEY_REFUSE);
    o2 = out;
    ok[0] = false;
    shard_key_params(&TB, &o2, v, ok);
    assert_int_equal(o2.verdict, KEY_REFUSE);
    assert_non_null(strstr(o2.why, "parameter 1"));
}

static void test_split(void **state)
{
    (void)state;
    setup_buckets();
    const char *sql = "INSERT INTO shop.orders (id, customer_id) VALUES (1, 7), (2, 8),(3,'1') "
                      "ON DUPLICATE KEY UPDATE x = 1";
    struct key_in in = {.tables = &TB, .sql = sql, .len = strlen(sql)};
    char buf[512];
    bool fits;
    size_t n = shard_key_split(&in, 0, buf, sizeof(buf), &fits);
    assert_true(fits);
    assert_int_equal(n, strlen(buf));
    assert_string_equal(buf, "INSERT INTO shop.orders (id, customer_id) VALUES (2, 8) ON "
                             "DUPLICATE KEY UPDATE x = 1");
    n = shard_key_split(&in, 1, buf, sizeof(buf), &fits);
    assert_string_equal(buf, "INSERT INTO shop.orders (id, customer_id) VALUES (1, 7), (3,'1') "
                             "ON DUPLICATE KEY UPDATE x = 1");
    assert_int_equal(shard_key_split(&in, 2, buf, sizeof(buf), &fits), 0);
    assert_int_equal(shard_key_split(&in, 1, buf, 20, &fits), 0);
    assert_false(fits);
    /* where each group's rows are (LAST_INSERT_ID() after the split) */
    uint32_t first = 9, last = 9;
    assert_true(shard_key_split_rows(&in, 1, buf, sizeof(buf), &fits, &first, &last) > 0);
    assert_int_equal(first, 0);
    assert_int_equal(last, 2);
    assert_true(shard_key_split_rows(&in, 0, buf, sizeof(buf), &fits, &first, &last) > 0);
    assert_int_equal(first, 1);
    assert_int_equal(last, 1);
    assert_int_equal(shard_key_row_group(&in, 0), 1);
    assert_int_equal(shard_key_row_group(&in, 1), 0);
    assert_int_equal(shard_key_row_group(&in, 2), 1);
    assert_int_equal(shard_key_row_group(&in, 3), UINT16_MAX);
    /* which rows make the server generate an id for an AUTO_INCREMENT column */
    uint32_t row = 9;
    assert_int_equal(shard_key_insert_gen(&in, "amount", &row), KEY_GEN_YES); /* not given */
    assert_int_equal(row, 0);
    assert_int_equal(shard_key_insert_gen(&in, "ID", &row), KEY_GEN_NO);
    static const struct {
        const char *sql;
        enum key_gen gen;
        uint32_t row;
    } gens[] = {
        {"INSERT INTO shop.orders (id, customer_id) VALUES (5, 7), (NULL, 8)", KEY_GEN_YES, 1},
        {"INSERT INTO shop.orders (id, customer_id) VALUES (-5, 7), (default, 8)", KEY_GEN_YES, 1},
        {"INSERT INTO shop.orders (customer_id, `id`) VALUES (7, 5), (8, 0), (8, NULL)",
         KEY_GEN_UNSURE, 1}, /* 0: NO_AUTO_VALUE_ON_ZERO decides */
        {"INSERT INTO shop.orders (id, customer_id) VALUES (1 + 1, 7)", KEY_GEN_UNSURE, 0},
        {"INSERT INTO shop.orders (id, customer_id) VALUES ('5', 7)", KEY_GEN_UNSURE, 0},
        {"INSERT INTO shop.orders (id, customer_id) VALUES (5, 7), (6, 8)", KEY_GEN_NO, 0},
        {"INSERT INTO shop.orders VALUES (5, 7)", KEY_GEN_UNSURE, 0}, /* no column list */
    };
    for (size_t i = 0; i < sizeof(gens) / sizeof(gens[0]); i++) {
        struct key_in g = {.tables = &TB, .sql = gens[i].sql, .len = strlen(gens[i].sql)};
        row = 9;
        assert_int_equal(shard_key_insert_gen(&g, "id", &row), gens[i].gen);
        if (gens[i].gen != KEY_GEN_NO)
            assert_int_equal(row, gens[i].row);
    }
}

/* ---- the config: shards.tables, shards.reference --------------------------- */

#define HASH "*5BCB3E6AC345B435C7C2E6B7949A04CE6F6563D3"
#define BASE                                                                                       \
    "listeners = ( { name = \"s\"; address = \"127.0.0.1\"; port = 6033; shards = true; } );\n"    \
    "users = ( { name = \"app\"; password_hash = \"" HASH "\"; } );\n"                             \
    "backends = ( { name = \"a1\"; address = \"h\"; port = 1; role = \"primary\"; },\n"            \
    "  { name = \"b1\"; address = \"h\"; port = 2; role = \"primary\"; } );\n"                     \
    "groups = ( { name = \"a\"; backends = [ \"a1\" ]; }, { name = \"b\"; backends = [ \"b1\" ]; " \
    "} );\n"

static void test_config(void **state)
{
    (void)state;
    struct config *cfg = NULL;
    char err[512];
    const char *text = BASE
        "shards = { tables = (\n"
        "  { table = \"shop.orders\"; key = \"customer_id\"; function = \"hash\"; buckets = 8;\n"
        "    map = ( { group = \"b\"; buckets = \"4-7\"; }, { group = \"a\"; buckets = \"0-3\"; } "
        "); },\n"
        "  { table = \"shop.events\"; key = \"id\"; function = \"range\";\n"
        "    map = ( { group = \"a\"; below = -5; }, { group = \"b\"; below = 1000000; },\n"
        "            { group = \"a\"; } ); } );\n"
        "  reference = [ \"shop.countries\" ]; };\n";
    assert_int_equal(config_load_string(text, "t.conf", &cfg, err, sizeof(err)), HY_OK);
    const struct shard_tables *t = &cfg->key_tables;
    assert_int_equal(t->n, 2);
    assert_string_equal(t->v[0].schema, "shop");
    assert_string_equal(t->v[0].table, "orders");
    assert_string_equal(t->v[0].key, "customer_id");
    assert_int_equal(t->v[0].buckets, 8);
    assert_int_equal(t->v[0].bucket_group[3], 0);
    assert_int_equal(t->v[0].bucket_group[4], 1);
    assert_int_equal(t->v[1].fn, KEY_FN_RANGE);
    assert_int_equal(shard_key_group(&t->v[1], -6), 0);
    assert_int_equal(shard_key_group(&t->v[1], -5), 1);
    assert_int_equal(shard_key_group(&t->v[1], 1000000), 0);
    assert_int_equal(t->n_ref, 1);
    assert_string_equal(t->ref[0].table, "countries");
    config_put(cfg);

    text = BASE "shards = { tables = (\n"
                "  { table = \"shop.users\"; key = \"name\"; type = \"string\";\n"
                "    collation = \"utf8mb4_bin\"; buckets = 4;\n"
                "    map = ( { group = \"a\"; buckets = \"0-3\"; } ); },\n"
                "  { table = \"shop.codes\"; key = \"c\"; type = \"string\";\n"
                "    collation = \"binary\"; buckets = 4;\n"
                "    map = ( { group = \"b\"; buckets = \"0-3\"; } ); } ); };\n";
    assert_int_equal(config_load_string(text, "t.conf", &cfg, err, sizeof(err)), HY_OK);
    t = &cfg->key_tables;
    assert_int_equal(t->v[0].type, KEY_TYPE_STRING);
    assert_int_equal(t->v[0].cs, KEY_CS_UTF8MB4);
    assert_true(t->v[0].pad);
    assert_string_equal(t->v[0].collation, "utf8mb4_bin");
    assert_int_equal(t->v[1].cs, KEY_CS_BINARY);
    assert_false(t->v[1].pad);
    config_put(cfg);

    static const struct {
        const char *shards;
        const char *want;
    } BAD[] = {
        {"shards = { tables = ( { table = \"orders\"; key = \"k\"; buckets = 2;\n"
         "map = ( { group = \"a\"; buckets = \"0-1\"; } ); } ); };",
         "t.conf:6: shards.tables.[0].table: \"orders\" is not \"schema.table\""},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; buckets = 4;\n"
         "map = ( { group = \"a\"; buckets = \"0-1\"; }, { group = \"b\"; buckets = \"1-3\"; } ); "
         "} ); };",
         "t.conf:7: shards.tables.[0].map.[1].buckets: bucket 1 is mapped twice"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; buckets = 4;\n"
         "map = ( { group = \"a\"; buckets = \"0-1\"; }, { group = \"b\"; buckets = \"3\"; } ); } "
         "); };",
         "shards.tables.[0].map: bucket 2 is on no group: the map must cover 0-3"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; buckets = 4;\n"
         "map = ( { group = \"a\"; buckets = \"0-4\"; } ); } ); };",
         "shards.tables.[0].map.[0].buckets: bucket 4 is past the last one, 3"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; buckets = 4;\n"
         "map = ( { group = \"c\"; buckets = \"0-3\"; } ); } ); };",
         "t.conf:7: shards.tables.[0].map.[0].group: \"c\" is not the name of a group"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; buckets = 4;\n"
         "map = ( { group = \"a\"; buckets = \"3-0\"; } ); } ); };",
         "\"3-0\" is not a bucket or a range of buckets"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\";\n"
         "map = ( { group = \"a\"; buckets = \"0\"; } ); } ); };",
         "shards.tables.[0].buckets: function = \"hash\" needs the number of buckets"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; function = \"range\";\n"
         "map = ( { group = \"a\"; below = 10; }, { group = \"b\"; below = 5; }, { group = \"a\"; "
         "} ); } ); };",
         "shards.tables.[0].map.[1].below: 5 is not above the previous bound 10"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; function = \"range\";\n"
         "map = ( { group = \"a\"; }, { group = \"b\"; } ); } ); };",
         "shards.tables.[0].map.[0].below: only the last entry may leave below out"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; function = \"range\";\n"
         "map = ( { group = \"a\"; below = 3; } ); } ); };",
         "the last entry takes the rest: leave below out"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; function = \"range\"; buckets = "
         "3;\n"
         "map = ( { group = \"a\"; } ); } ); };",
         "shards.tables.[0].buckets: function = \"range\" has no buckets"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; function = \"range\";\n"
         "map = ( { group = \"a\"; buckets = \"0\"; } ); } ); };",
         "a range table's map gives below, not buckets"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; function = \"modulo\";\n"
         "map = ( { group = \"a\"; } ); } ); };",
         "shards.tables.[0].function"},
        {"shards = { tables = ( { table = \"mysql.user\"; key = \"k\"; buckets = 1;\n"
         "map = ( { group = \"a\"; buckets = \"0\"; } ); } ); };",
         "is a system schema"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; buckets = 1;\n"
         "map = ( { group = \"a\"; buckets = \"0\"; } ); } );\n reference = [ \"s.o\" ]; };",
         "t.conf:8: shards.reference.[0]: \"s.o\" is listed twice"},
        {"shards = { reference = [ \"countries\" ]; };",
         "shards.reference.[0]: \"countries\" is not \"schema.table\""},
        {"shards = { tables = ( { table = \"s.o\"; buckets = 1;\n"
         "map = ( { group = \"a\"; buckets = \"0\"; } ); } ); };",
         "shards.tables.[0].key: required key is missing"},
        /* string keys: a collation whose equality is byte equality, hash only */
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; buckets = 1;\n"
         "type = \"string\"; collation = \"utf8mb4_general_ci\";\n"
         "map = ( { group = \"a\"; buckets = \"0\"; } ); } ); };",
         "t.conf:7: shards.tables.[0].collation: \"utf8mb4_general_ci\" is not a collation "
         "halyard can route by: under it values with other bytes may be equal ('a' = 'A'...), "
         "and would be on other groups; use binary, <charset>_bin or <charset>_nopad_bin "
         "(charset utf8mb4, utf8mb3, latin1 or ascii)"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; buckets = 1;\n"
         "type = \"string\"; collation = \"utf8mb4_unicode_nopad_ci\";\n"
         "map = ( { group = \"a\"; buckets = \"0\"; } ); } ); };",
         "t.conf:7: shards.tables.[0].collation: \"utf8mb4_unicode_nopad_ci\" is not a "
         "collation halyard can route by"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; buckets = 1;\n"
         "type = \"string\";\n"
         "map = ( { group = \"a\"; buckets = \"0\"; } ); } ); };",
         "t.conf:7: shards.tables.[0].collation: type = \"string\" needs the key column's "
         "collation (e.g. \"utf8mb4_bin\"): halyard routes by the value's bytes"},
        /* string range bounds: strings of the column's set, ascending in its order */
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; function = \"range\";\n"
         "type = \"string\"; collation = \"utf8mb4_bin\";\n"
         "map = ( { group = \"a\"; below = 5; }, { group = \"b\"; } ); } ); };",
         "t.conf:8: shards.tables.[0].map.[0].below: a string key's bound is a string in the "
         "column's character set (utf8mb4_bin), e.g. below = \"m\""},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; function = \"range\";\n"
         "map = ( { group = \"a\"; below = \"m\"; }, { group = \"b\"; } ); } ); };",
         "t.conf:7: shards.tables.[0].map.[0].below: an integer key's bound is an integer (a "
         "string is for type = \"string\")"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; function = \"range\";\n"
         "type = \"string\"; collation = \"utf8mb4_bin\";\n"
         "map = ( { group = \"a\"; below = \"m\"; }, { group = \"b\"; below = \"m  \"; },\n"
         "{ group = \"a\"; } ); } ); };",
         "t.conf:8: shards.tables.[0].map.[1].below: \"m  \" is not above the previous bound "
         "\"m\" under utf8mb4_bin (PAD SPACE: trailing spaces do not count)"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; function = \"range\";\n"
         "type = \"string\"; collation = \"utf8mb4_nopad_bin\";\n"
         "map = ( { group = \"a\"; below = \"m\"; }, { group = \"b\"; below = \"l\"; },\n"
         "{ group = \"a\"; } ); } ); };",
         "shards.tables.[0].map.[1].below: \"l\" is not above the previous bound \"m\" under "
         "utf8mb4_nopad_bin"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; function = \"range\";\n"
         "type = \"string\"; collation = \"utf8mb3_bin\";\n"
         "map = ( { group = \"a\"; below = \"\xf0\x9f\x98\x80\"; }, { group = \"b\"; } ); } ); "
         "};",
         "t.conf:8: shards.tables.[0].map.[0].below: \"????\" is no value of the key "
         "column (utf8mb3_bin): not valid UTF-8 of utf8mb3 (no 4-byte characters)"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; function = \"range\";\n"
         "type = \"string\"; collation = \"utf8mb4_bin\";\n"
         "map = ( { group = \"a\"; below = \"\xe9\"; }, { group = \"b\"; } ); } ); };",
         "is no value of the key column (utf8mb4_bin): not valid UTF-8"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; function = \"range\";\n"
         "type = \"string\"; collation = \"latin1_bin\";\n"
         "map = ( { group = \"a\"; below = \"\xe2\x82\xac\"; }, { group = \"b\"; } ); } ); };",
         "is no value of the key column (latin1_bin): not latin1 text halyard can convert (ASCII "
         "and "
         "U+00A0..U+00FF, as UTF-8)"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; function = \"range\";\n"
         "type = \"string\"; collation = \"ascii_bin\";\n"
         "map = ( { group = \"a\"; below = \"\xc3\xa9\"; }, { group = \"b\"; } ); } ); };",
         "is no value of the key column (ascii_bin): not ASCII"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; buckets = 1;\n"
         "collation = \"utf8mb4_bin\"; map = ( { group = \"a\"; buckets = \"0\"; } ); } ); };",
         "t.conf:7: shards.tables.[0].collation: a collation is for type = \"string\" keys"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; buckets = 1;\n"
         "type = \"text\"; map = ( { group = \"a\"; buckets = \"0\"; } ); } ); };",
         "shards.tables.[0].type"},
        /* a number where the string goes, and a bound past 2^64 */
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; buckets = 4;\n"
         "map = ( { group = \"a\"; buckets = 0; } ); } ); };",
         "t.conf:7: shards.tables.[0].map.[0].buckets: expected a string, got an integer"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; buckets = 4;\n"
         "map = ( { group = \"a\"; buckets = \"0-99999999999999999999\"; } ); } ); };",
         "\"0-99999999999999999999\" is not a bucket or a range of buckets"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; buckets = 4;\n"
         "map = ( { group = \"a\"; buckets = \"2-1\"; } ); } ); };",
         "\"2-1\" is not a bucket or a range of buckets"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; buckets = 4;\n"
         "map = ( { group = \"a\"; buckets = \"1-\"; } ); } ); };",
         "\"1-\" is not a bucket or a range of buckets"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; buckets = 4;\n"
         "map = ( { group = \"a\"; buckets = \"-1\"; } ); } ); };",
         "\"-1\" is not a bucket or a range of buckets"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; buckets = 4;\n"
         "map = ( { group = \"a\"; buckets = \"+1\"; } ); } ); };",
         "\"+1\" is not a bucket or a range of buckets"},
        {"shards = { tables = ( { table = \"s.o\"; key = \"k\"; buckets = 4;\n"
         "map = ( { group = \"a\"; buckets = \" 1\"; } ); } ); };",
         "\" 1\" is not a bucket or a range of buckets"},
    };
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        char buf[2048];
        snprintf(buf, sizeof(buf), "%s%s\n", BASE, BAD[i].shards);
        cfg = NULL;
        assert_int_equal(config_load_string(buf, "t.conf", &cfg, err, sizeof(err)), HY_ERROR);
        if (strstr(err, BAD[i].want) == NULL)
            fail_msg("%s: got \"%s\", want \"%s\"", BAD[i].shards, err, BAD[i].want);
    }
}

/* Range maps on string keys: the collation's order (bytes; PAD SPACE:
 * the shorter padded with spaces, so 'a' = 'a ' and 'a\t' < 'a'), bounds
 * from the config's UTF-8 text into the column's bytes, and the keys of
 * statements routed by them. */
static void test_string_ranges(void **state)
{
    (void)state;
    struct config *cfg = NULL;
    char err[512];
    const char *text = BASE
        "shards = { tables = (\n"
        "  { table = \"shop.users\"; key = \"name\"; type = \"string\"; function = \"range\";\n"
        "    collation = \"utf8mb4_bin\";\n"
        "    map = ( { group = \"a\"; below = \"\"; }, { group = \"b\"; below = \"a\"; },\n"
        "            { group = \"a\"; below = \"m\"; }, { group = \"b\"; below = \"\xc3\xa9\"; "
        "},\n"
        "            { group = \"a\"; } ); },\n"
        "  { table = \"shop.tags\"; key = \"tag\"; type = \"string\"; function = \"range\";\n"
        "    collation = \"utf8mb4_nopad_bin\";\n"
        "    map = ( { group = \"a\"; below = \"a\"; }, { group = \"b\"; below = \"a \"; },\n"
        "            { group = \"a\"; } ); },\n"
        "  { table = \"shop.codes\"; key = \"code\"; type = \"string\"; function = \"range\";\n"
        "    collation = \"binary\";\n"
        "    map = ( { group = \"b\"; below = \"\x80\"; }, { group = \"a\"; } ); },\n"
        "  { table = \"shop.l1\"; key = \"k\"; type = \"string\"; function = \"range\";\n"
        "    collation = \"latin1_bin\";\n"
        "    map = ( { group = \"b\"; below = \"\xc3\xa9\"; }, { group = \"a\"; } ); } ); };\n";
    if (config_load_string(text, "t.conf", &cfg, err, sizeof(err)) != HY_OK)
        fail_msg("%s", err);
    const struct shard_tables *t = &cfg->key_tables;
    const struct shard_table *users = &t->v[0], *tags = &t->v[1], *codes = &t->v[2], *l1 = &t->v[3];
    assert_int_equal(users->fn, KEY_FN_RANGE);
    assert_int_equal(users->spans[3].below_n, 2);
    assert_string_equal(users->spans[3].below_text, "\xc3\xa9");
    assert_int_equal(l1->spans[0].below_n, 1);
    assert_int_equal(l1->spans[0].below_s[0], 0xE9); /* UTF-8 'é' into latin1 */
    static const struct {
        int table;
        const char *v;
        size_t n;
        uint16_t group;
    } G[] = {
        /* users (PAD SPACE): below '' a, below 'a' b, below 'm' a, below 'é' b, rest a */
        {0, "\t", 1, 0},        /* '\t' < '' under PAD SPACE */
        {0, "", 0, 1},          /* '' = '' */
        {0, "   ", 3, 1},       /* = '' */
        {0, " \t", 2, 0},       /* < '' */
        {0, "\x1f", 1, 0},      /* < '' */
        {0, "!", 1, 1},         /* > '', < 'a' */
        {0, "a\t", 2, 1},       /* < 'a' */
        {0, "a", 1, 0},         /* = the bound: not below it */
        {0, "a  ", 3, 0},       /* = 'a' */
        {0, "a\x00", 2, 1},     /* < 'a' (NUL below space) */
        {0, "lzzz", 4, 0},      /* < 'm' */
        {0, "m", 1, 1},         /* from 'm' */
        {0, "Z", 1, 1},         /* > '', < 'a' */
        {0, "\xc3\xa8", 2, 1},  /* 'è' < 'é' */
        {0, "\xc3\xa9", 2, 0},  /* 'é' */
        {0, "\xc3\xa9 ", 3, 0}, /* 'é ' = 'é' */
        {0, "\xf0\x9f\x98\x80", 4, 0},
        /* tags (NO PAD): below 'a' a, below 'a ' b, rest a */
        {1, "a", 1, 1},
        {1, "a\t", 2, 1}, /* > 'a', < 'a ' */
        {1, "a ", 2, 0},
        {1, "", 0, 0},
        {1, "\t", 1, 0},
        /* codes (binary): below 0x80 b, rest a */
        {2, "\x7f\xff", 2, 1},
        {2, "\x80", 1, 0},
        {2, "", 0, 1},
        /* latin1_bin: below 0xE9 b */
        {3, "\xe8", 1, 1},
        {3, "\xe9", 1, 0},
    };
    for (size_t i = 0; i < sizeof(G) / sizeof(G[0]); i++) {
        uint16_t g = shard_key_str_group(&t->v[G[i].table], (const uint8_t *)G[i].v, G[i].n);
        if (g != G[i].group)
            fail_msg("case %zu (table %d): group %u, want %u", i, G[i].table, g, G[i].group);
    }
    /* the order itself */
    assert_int_equal(shard_key_str_cmp(users, (const uint8_t *)"a", 1, (const uint8_t *)"a ", 2),
                     0);
    assert_true(shard_key_str_cmp(users, (const uint8_t *)"a\t", 2, (const uint8_t *)"a", 1) < 0);
    assert_true(shard_key_str_cmp(users, (const uint8_t *)"a", 1, (const uint8_t *)"a\t", 2) > 0);
    assert_true(shard_key_str_cmp(tags, (const uint8_t *)"a", 1, (const uint8_t *)"a ", 2) < 0);
    assert_true(shard_key_str_cmp(codes, (const uint8_t *)"a", 1, (const uint8_t *)"a\0", 2) < 0);
    /* statements: by the literal's bytes, as for hash */
    static const struct {
        const char *sql;
        enum key_cs cs;
        enum key_verdict v;
        uint16_t group;
    } D[] = {
        {"SELECT * FROM shop.users WHERE name = 'n'", KEY_CS_UTF8MB4, KEY_ONE, 1},
        {"SELECT * FROM shop.users WHERE name = 'a  '", KEY_CS_UTF8MB4, KEY_ONE, 0},
        {"SELECT * FROM shop.users WHERE name = 'a\\t'", KEY_CS_UTF8MB4, KEY_ONE, 1},
        {"SELECT * FROM shop.users WHERE name = ''", KEY_CS_UTF8MB4, KEY_ONE, 1},
        {"SELECT * FROM shop.users WHERE name = '\xc3\xa9'", KEY_CS_UTF8MB4, KEY_ONE, 0},
        {"SELECT * FROM shop.users WHERE name = _utf8mb4'\xc3\xa8'", KEY_CS_LATIN1, KEY_ONE, 1},
        /* 'é' in latin1 text: the server converts it: no key */
        {"SELECT * FROM shop.users WHERE name = '\xe9'", KEY_CS_LATIN1, KEY_SCATTER, 0},
        {"SELECT * FROM shop.users WHERE name IN ('b', 'c', 'lzz')", KEY_CS_UTF8MB4, KEY_ONE, 0},
        {"SELECT * FROM shop.users WHERE name IN ('b', 'n')", KEY_CS_UTF8MB4, KEY_SCATTER, 0},
        {"DELETE FROM shop.users WHERE name IN ('b', 'n')", KEY_CS_UTF8MB4, KEY_REFUSE, 0},
        /* a range predicate is no key (as for integer ranges) */
        {"SELECT * FROM shop.users WHERE name BETWEEN 'b' AND 'c'", KEY_CS_UTF8MB4, KEY_SCATTER, 0},
        {"SELECT * FROM shop.users WHERE name = 42", KEY_CS_UTF8MB4, KEY_SCATTER, 0},
        {"INSERT INTO shop.users (id, name) VALUES (1, 'b'), (2, 'c')", KEY_CS_UTF8MB4, KEY_ONE, 0},
        {"INSERT INTO shop.users (id, name) VALUES (1, 'b'), (2, 'n')", KEY_CS_UTF8MB4, KEY_SPLIT,
         0},
        {"SELECT * FROM shop.codes WHERE code = X'80'", KEY_CS_UTF8MB4, KEY_ONE, 0},
        {"SELECT * FROM shop.codes WHERE code = 'abc'", KEY_CS_UTF8MB4, KEY_ONE, 1},
        {"SELECT * FROM shop.l1 WHERE k = '\xe9'", KEY_CS_LATIN1, KEY_ONE, 0},
        {"SELECT * FROM shop.l1 WHERE k = '\xc3\xa9'", KEY_CS_UTF8MB4, KEY_SCATTER, 0},
    };
    for (size_t i = 0; i < sizeof(D) / sizeof(D[0]); i++) {
        struct key_in in = {.tables = t,
                            .sql = D[i].sql,
                            .len = strlen(D[i].sql),
                            .schema = NULL,
                            .text_cs = D[i].cs};
        struct key_out out;
        shard_key_decide(&in, &out);
        if (out.verdict != D[i].v || (D[i].v == KEY_ONE && out.group != D[i].group))
            fail_msg("%s: %s group %u, want %s group %u", D[i].sql,
                     shard_key_verdict_to_str(out.verdict), out.group,
                     shard_key_verdict_to_str(D[i].v), D[i].group);
    }
    config_put(cfg);
}

/* PREPARE ... FROM and EXECUTE IMMEDIATE: decided by the statement in
 * their string; a PREPARE naming a sharded table, or a text halyard cannot
 * read, refused. */
static void test_dynamic_sql(void **state)
{
    (void)state;
    setup_buckets();
    static const struct {
        const char *sql;
        enum key_verdict v;
        uint16_t group;
        const char *why; /* KEY_REFUSE: the start of the message */
    } C[] = {
        {"PREPARE s FROM 'SELECT * FROM shop.orders WHERE customer_id = 7'", KEY_REFUSE, 0,
         "halyard: PREPARE ... FROM naming sharded table orders is not supported: its EXECUTE "
         "would not go by the key; use the binary protocol's prepared statements "
         "(COM_STMT_PREPARE)"},
        {"prepare s from \"DELETE FROM shop.orders WHERE customer_id = ?\"", KEY_REFUSE, 0,
         "halyard: PREPARE ... FROM naming sharded table orders"},
        {"PREPARE s FROM 'INSERT INTO shop.countries VALUES (3, ''x'')'", KEY_REFUSE, 0,
         "halyard: PREPARE ... FROM naming reference table countries"},
        {"PREPARE s FROM @q", KEY_REFUSE, 0,
         "halyard: PREPARE ... FROM a user variable, an expression or a text longer than 8192 "
         "bytes is not supported on a listener with sharded tables"},
        {"PREPARE s FROM 'SELECT * FROM shop.countries'", KEY_NONE, 0, NULL},
        {"PREPARE s FROM 'SELECT 1'", KEY_NONE, 0, NULL},
        {"EXECUTE s", KEY_NONE, 0, NULL},
        {"EXECUTE s USING @a", KEY_NONE, 0, NULL},
        {"XA PREPARE 'x'", KEY_NONE, 0, NULL},
        {"EXECUTE IMMEDIATE 'UPDATE shop.orders SET amount = 1 WHERE customer_id = 7'", KEY_ONE, 1,
         NULL},
        {"EXECUTE IMMEDIATE 'SELECT * FROM shop.orders WHERE customer_id = ''8'''", KEY_ONE, 0,
         NULL},
        {"EXECUTE IMMEDIATE 'DELETE FROM shop.orders'", KEY_REFUSE, 0,
         "halyard: DELETE on sharded table orders needs orders.customer_id"},
        {"EXECUTE IMMEDIATE 'SELECT * FROM shop.orders'", KEY_REFUSE, 0,
         "halyard: EXECUTE IMMEDIATE on sharded table orders would run on every group"},
        {"EXECUTE IMMEDIATE 'SELECT * FROM shop.orders WHERE customer_id = ?' USING 7", KEY_REFUSE,
         0, "halyard: EXECUTE IMMEDIATE on sharded table orders would run on every group"},
        {"EXECUTE IMMEDIATE CONCAT('SELECT * FROM shop.orders')", KEY_REFUSE, 0,
         "halyard: EXECUTE IMMEDIATE a user variable"},
        {"EXECUTE IMMEDIATE 'SELECT 1'", KEY_NONE, 0, NULL},
    };
    for (size_t i = 0; i < sizeof(C) / sizeof(C[0]); i++) {
        struct key_out out;
        decide(C[i].sql, NULL, false, &out);
        if (out.verdict != C[i].v || (C[i].v == KEY_ONE && out.group != C[i].group) ||
            (C[i].why != NULL && strncmp(out.why, C[i].why, strlen(C[i].why)) != 0))
            fail_msg("%s: %s group %u \"%s\"", C[i].sql, shard_key_verdict_to_str(out.verdict),
                     out.group, out.why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash),        cmocka_unit_test(test_literal),
        cmocka_unit_test(test_where),       cmocka_unit_test(test_writes),
        cmocka_unit_test(test_params),      cmocka_unit_test(test_split),
        cmocka_unit_test(test_config),      cmocka_unit_test(test_ref_joins),
        cmocka_unit_test(test_string_keys), cmocka_unit_test(test_string_ranges),
        cmocka_unit_test(test_dynamic_sql),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
