/*
 * test_binlog_rows.c: the row images of ROWS events (binlog_rows.h).
 *
 *   - a TABLE_MAP's types and metadata read; an unknown type refused
 *   - every column type's length, NULLs skipped: the wanted values found
 *     after VARCHAR (2-byte length), DECIMAL, DATETIME2, BLOB, CHAR, ENUM,
 *     BIT values, in write, update (both images) and v2 events
 *   - refused: a column count that is not the map's, a wanted column an
 *     image does not carry (before any value is handed over), a truncated
 *     event, a compressed one; past max_rows: HY_AGAIN
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/protocol/binlog.h"
#include "halyard/protocol/binlog_rows.h"

static size_t make(uint8_t *out, uint8_t type, const uint8_t *body, size_t len)
{
    memset(out, 0, BINLOG_HEADER_LEN);
    out[4] = type;
    out[9] = (uint8_t)(BINLOG_HEADER_LEN + len);
    memcpy(out + BINLOG_HEADER_LEN, body, len);
    return BINLOG_HEADER_LEN + len;
}

/* VARCHAR(300), DECIMAL(10,2), DATETIME2(3), BLOB, CHAR(10), ENUM, BIT(10), BIGINT */
static const uint8_t types[] = {15, 246, 18, 252, 254, 254, 16, 8};
static const uint8_t meta[] = {0x2c, 0x01, 10, 2, 3, 2, 0xfe, 10, 0xf7, 1, 2, 1};

static size_t map_event(uint8_t *out)
{
    uint8_t b[128] = {1, 0, 0, 0, 0, 0, 0, 0, 1, 's', 0, 1, 't', 0, sizeof(types)};
    size_t n = 15;
    memcpy(b + n, types, sizeof(types));
    n += sizeof(types);
    b[n++] = sizeof(meta);
    memcpy(b + n, meta, sizeof(meta));
    n += sizeof(meta);
    b[n++] = 0xff;
    return make(out, BINLOG_TABLE_MAP, b, n);
}

/* One image, all columns: varchar and blob NULL when `nulls`. */
static size_t image(uint8_t *p, bool nulls, uint8_t key)
{
    size_t n = 0;
    p[n++] = nulls ? 0x09 : 0x00; /* columns 0 and 3 */
    if (!nulls) {
        memcpy(p + n,
               "\x03\x00"
               "abc",
               5);
        n += 5;
    }
    memcpy(p + n, "\x80\x00\x00\x01\x02", 5); /* DECIMAL: 5 bytes */
    n += 5;
    memcpy(p + n, "\x99\xb2\x00\x00\x00\x12\x34", 7); /* DATETIME2(3) */
    n += 7;
    if (!nulls) {
        memcpy(p + n, "\x02\x00xy", 4);
        n += 4;
    }
    memcpy(p + n, "\x01z", 2);
    n += 2;
    p[n++] = 2;    /* ENUM */
    p[n++] = 0x03; /* BIT(10): 2 bytes */
    p[n++] = 0xff;
    memset(p + n, key, 8);
    n += 8;
    return n;
}

struct seen {
    unsigned n;
    unsigned want[16];
    uint8_t first[16];
    size_t len[16];
    bool null[16];
};

static void collect(void *arg, unsigned want, uint8_t type, const uint8_t *v, size_t len)
{
    struct seen *s = arg;
    (void)type;
    if (s->n < 16) {
        s->want[s->n] = want;
        s->first[s->n] = v != NULL ? v[0] : 0;
        s->len[s->n] = len;
        s->null[s->n] = v == NULL;
        s->n++;
    }
}

static void test_map(void **state)
{
    (void)state;
    uint8_t ev[256];
    struct binlog_cols c;
    size_t n = map_event(ev);
    assert_int_equal(binlog_table_map_cols(ev, n, &c), HY_OK);
    assert_int_equal(c.n, 8);
    assert_int_equal(c.meta[0], 300);
    assert_int_equal(c.meta[1], 10 | 2 << 8);
    assert_int_equal(c.type[7], BINLOG_T_LONGLONG);
    ev[BINLOG_HEADER_LEN + 15 + 2] = 99; /* a type not known */
    assert_int_equal(binlog_table_map_cols(ev, n, &c), HY_ERROR);
    assert_int_equal(binlog_table_map_cols(ev, 30, &c), HY_ERROR);
}

static void test_rows(void **state)
{
    (void)state;
    uint8_t ev[512], body[400];
    struct binlog_cols c;
    assert_int_equal(binlog_table_map_cols(ev, map_event(ev), &c), HY_OK);
    const unsigned want[] = {7, 0};
    /* WRITE_ROWS_V1: two rows */
    size_t k = 8;
    memset(body, 0, 8);
    body[k++] = 8;
    body[k++] = 0xff;
    k += image(body + k, false, 5);
    k += image(body + k, true, 0xfe);
    struct seen s = {0};
    size_t n = make(ev, BINLOG_WRITE_ROWS_V1, body, k);
    assert_int_equal(binlog_rows_scan(ev, n, &c, want, 2, 10, collect, &s), HY_OK);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.want[0], 1); /* column 0 comes first in the row */
    assert_int_equal(s.len[0], 5);
    assert_int_equal(s.want[1], 0);
    assert_int_equal(s.first[1], 5);
    assert_int_equal(s.len[1], 8);
    assert_true(s.null[2]);
    assert_int_equal(s.first[3], 0xfe);
    /* the same rows, two at most: fine; one at most: HY_AGAIN */
    memset(&s, 0, sizeof(s));
    assert_int_equal(binlog_rows_scan(ev, n, &c, want, 1, 1, collect, &s), HY_AGAIN);
    /* truncated */
    assert_int_equal(binlog_rows_scan(ev, n - 3, &c, want, 1, 10, collect, &s), HY_ERROR);
    /* UPDATE_ROWS (v2, 2 bytes of extra data): both images */
    k = 0;
    memset(body, 0, 8);
    k = 8;
    body[k++] = 2; /* extra data length, itself included */
    body[k++] = 0;
    body[k++] = 8;
    body[k++] = 0xff;
    body[k++] = 0xff;
    k += image(body + k, false, 1);
    k += image(body + k, false, 2);
    memset(&s, 0, sizeof(s));
    n = make(ev, BINLOG_UPDATE_ROWS, body, k);
    assert_int_equal(binlog_rows_scan(ev, n, &c, want, 1, 10, collect, &s), HY_OK);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.first[0], 1);
    assert_int_equal(s.first[1], 2);
    /* the after image without the key column: refused before any value */
    body[12] = 0x7f;
    n = make(ev, BINLOG_UPDATE_ROWS, body, k);
    memset(&s, 0, sizeof(s));
    assert_int_equal(binlog_rows_scan(ev, n, &c, want, 1, 10, collect, &s), HY_ERROR);
    assert_int_equal(s.n, 0);
    /* a column count that is not the map's */
    body[12] = 0xff;
    body[10] = 7;
    n = make(ev, BINLOG_UPDATE_ROWS, body, k);
    assert_int_equal(binlog_rows_scan(ev, n, &c, want, 1, 10, collect, &s), HY_ERROR);
    /* compressed: not read */
    body[10] = 8;
    n = make(ev, BINLOG_WRITE_ROWS_COMPRESSED_V1, body, k);
    assert_int_equal(binlog_rows_scan(ev, n, &c, want, 1, 10, collect, &s), HY_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map),
        cmocka_unit_test(test_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
