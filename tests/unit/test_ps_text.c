/*
 * test_ps_text.c: a prepared execution as text (ps_text_interpolate:
 * EXECUTE packets in, statement text or refusal out, table-driven) and a
 * text result set as binary rows (ps_text_binary_resultset: packets in,
 * bytes out).
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
#include "halyard/protocol/mysql_proto.h"
#include "halyard/sql/ps_text.h"

/* ---- EXECUTE packets ------------------------------------------------------ */

struct pv {
    uint8_t type, flag; /* flag 0x80: unsigned */
    bool null;
    size_t len;
    uint8_t b[64];   /* the value's bytes as sent */
    const char *str; /* or a string, sent length-encoded */
};

#define INT8(t, v)                                                                                 \
    {                                                                                              \
        .type = (t), .len = 8, .b = {                                                              \
            (uint8_t)(v),                                                                          \
            (uint8_t)((v) >> 8),                                                                   \
            (uint8_t)((v) >> 16),                                                                  \
            (uint8_t)((v) >> 24),                                                                  \
            (uint8_t)((uint64_t)(v) >> 32),                                                        \
            (uint8_t)((uint64_t)(v) >> 40),                                                        \
            (uint8_t)((uint64_t)(v) >> 48),                                                        \
            (uint8_t)((uint64_t)(v) >> 56)                                                         \
        }                                                                                          \
    }
#define STR(t, s)                                                                                  \
    {                                                                                              \
        .type = (t), .str = (s)                                                                    \
    }

static size_t exec_packet(uint8_t *out, const struct pv *v, size_t n, bool bind)
{
    size_t k = 0;
    out[k++] = COM_STMT_EXECUTE;
    memset(out + k, 0, 4); /* stmt id */
    out[k] = 1;
    k += 4;
    out[k++] = 0; /* flags */
    out[k++] = 1; /* iterations */
    out[k++] = 0;
    out[k++] = 0;
    out[k++] = 0;
    if (n == 0)
        return k;
    size_t nb = (n + 7) / 8;
    memset(out + k, 0, nb);
    for (size_t i = 0; i < n; i++)
        if (v[i].null)
            out[k + i / 8] |= (uint8_t)(1u << (i % 8));
    k += nb;
    out[k++] = bind ? 1 : 0;
    if (bind) {
        for (size_t i = 0; i < n; i++) {
            out[k++] = v[i].type;
            out[k++] = v[i].flag;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (v[i].null)
            continue;
        if (v[i].str != NULL) {
            out[k++] = (uint8_t)strlen(v[i].str);
            memcpy(out + k, v[i].str, strlen(v[i].str));
            k += strlen(v[i].str);
            continue;
        }
        memcpy(out + k, v[i].b, v[i].len);
        k += v[i].len;
    }
    return k;
}

static const struct {
    const char *sql;
    unsigned opts;
    uint16_t charset;
    size_t n;
    struct pv v[4];
    const char *text; /* NULL: refused */
    const char *why;  /* a part of the refusal */
} CASES[] = {
    {"SELECT a FROM t WHERE a IN (?, ?)",
     0,
     45,
     2,
     {INT8(8, 5), INT8(8, -5)},
     "SELECT a FROM t WHERE a IN (5, (-5))",
     NULL},
    {"SELECT a, ? FROM t", 0, 45, 1, {INT8(8, 5)}, NULL, "in the select list"},
    {"SELECT a, (SELECT ? FROM u) FROM t", 0, 45, 1, {INT8(8, 5)}, NULL, "in the select list"},
    {"SELECT a FROM t WHERE b IN (SELECT c FROM u WHERE d = ?) LIMIT ?",
     0,
     45,
     2,
     {INT8(8, 5), INT8(8, 2)},
     "SELECT a FROM t WHERE b IN (SELECT c FROM u WHERE d = 5) LIMIT 2",
     NULL},
    {"DO ?",
     0,
     45,
     1,
     {{.type = 8, .flag = 0x80, .len = 8, .b = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}},
     "DO 18446744073709551615",
     NULL},
    {"DO ? + ?",
     0,
     45,
     2,
     {{.type = 1, .len = 1, .b = {0xff}}, {.type = 1, .flag = 0x80, .len = 1, .b = {0xff}}},
     "DO (-1) + 255",
     NULL},
    {"DO ?", 0, 45, 1, {{.type = 2, .len = 2, .b = {0x00, 0x80}}}, "DO (-32768)", NULL},
    {"DO ?",
     0,
     45,
     1,
     {{.type = 3, .len = 4, .b = {0x01, 0x00, 0x00, 0x80}}},
     "DO (-2147483647)",
     NULL},
    /* 0.1 as a double: 0x3FB999999999999A */
    {"DO ?",
     0,
     45,
     1,
     {{.type = 5, .len = 8, .b = {0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f}}},
     "DO 1.0000000000000001e-01",
     NULL},
    /* -1.5f as a float: 0xBFC00000 */
    {"DO ?",
     0,
     45,
     1,
     {{.type = 4, .len = 4, .b = {0x00, 0x00, 0xc0, 0xbf}}},
     "DO (-1.5000000000000000e+00)",
     NULL},
    /* +inf */
    {"DO ?",
     0,
     45,
     1,
     {{.type = 5, .len = 8, .b = {0, 0, 0, 0, 0, 0, 0xf0, 0x7f}}},
     NULL,
     "not a finite number"},
    {"DO ? - ?", 0, 45, 2, {STR(246, "12.50"), STR(246, "-3")}, "DO 12.50 - (-3)", NULL},
    {"DO ?", 0, 45, 1, {STR(246, "1e5")}, NULL, "not a decimal number"},
    {"DO ?", 0, 45, 1, {STR(246, ".")}, NULL, "not a decimal number"},
    {"DO ?", 0, 45, 1, {STR(253, "it's \\ x")}, "DO 'it''s \\\\ x'", NULL},
    {"DO ?", CLO_NO_BACKSLASH_ESCAPES, 45, 1, {STR(253, "it's \\ x")}, "DO 'it''s \\ x'", NULL},
    {"DO ?", 0, 45, 1, {{.type = 254, .len = 4, .b = {3, 'a', 0, 'b'}}}, "DO 'a\\0b'", NULL},
    {"DO ?",
     CLO_NO_BACKSLASH_ESCAPES,
     45,
     1,
     {{.type = 254, .len = 4, .b = {3, 'a', 0, 'b'}}},
     NULL,
     "NUL byte"},
    {"DO ?", 0, 45, 1, {STR(15, "Zo\xc3\xab")}, "DO 'Zo\xc3\xab'", NULL},
    {"DO ?", 0, 13 /* sjis */, 1, {STR(15, "\x95\x5c")}, NULL, "non-ASCII bytes"},
    {"DO ?", 0, 13, 1, {STR(15, "plain")}, "DO 'plain'", NULL},
    {"DO ?, ?", 0, 45, 2, {{.type = 8, .null = true}, {.type = 6}}, "DO NULL, NULL", NULL},
    {"DO ?",
     0,
     45,
     1,
     {{.type = 10, .len = 5, .b = {4, 0xe8, 0x07, 2, 29}}},
     "DO DATE'2024-02-29'",
     NULL},
    {"DO ?",
     0,
     45,
     1,
     {{.type = 12, .len = 12, .b = {11, 0xe8, 0x07, 1, 2, 3, 4, 5, 0x40, 0xe2, 0x01, 0x00}}},
     "DO TIMESTAMP'2024-01-02 03:04:05.123456'",
     NULL},
    {"DO ?",
     0,
     45,
     1,
     {{.type = 7, .len = 8, .b = {7, 0xe8, 0x07, 1, 2, 0, 0, 0}}},
     "DO TIMESTAMP'2024-01-02 00:00:00'",
     NULL},
    {"DO ?",
     0,
     45,
     1,
     {{.type = 11, .len = 13, .b = {12, 1, 1, 0, 0, 0, 12, 0, 1, 0xf4, 0x01, 0, 0}}},
     "DO TIME'-36:00:01.000500'",
     NULL},
    {"DO ?", 0, 45, 1, {{.type = 11, .len = 1, .b = {0}}}, "DO TIME'00:00:00'", NULL},
    {"DO ?", 0, 45, 1, {{.type = 10, .len = 1, .b = {0}}}, NULL, "zero"},
    {"DO ?", 0, 45, 1, {{.type = 10, .len = 5, .b = {4, 0xe8, 0x07, 0, 1}}}, NULL, "zero part"},
    {"DO ?", 0, 45, 1, {{.type = 16, .len = 2, .b = {1, 1}}}, NULL, "type 16"},
    {"DO ?", 0, 45, 1, {{.type = 10, .len = 5, .b = {4, 0xe7, 0x07, 2, 29}}}, NULL, "valid date"},
    {"DO ?", 0, 45, 1, {{.type = 10, .len = 5, .b = {4, 0xe8, 0x07, 4, 31}}}, NULL, "valid date"},
    {"SELECT a FROM t WHERE a=?AND b=?OR`c`=?",
     0,
     45,
     3,
     {INT8(8, 5), STR(253, "x"), INT8(8, 6)},
     "SELECT a FROM t WHERE a=5 AND b='x' OR`c`=6",
     NULL},
    {"SELECT a FROM t WHERE a IN(?,?)",
     0,
     45,
     2,
     {INT8(8, 5), INT8(8, 6)},
     "SELECT a FROM t WHERE a IN(5,6)",
     NULL},
    {"DO '?', `?`, ? /* ? */ -- ?\n",
     0,
     45,
     1,
     {INT8(8, 7)},
     "DO '?', `?`, 7 /* ? */ -- ?\n",
     NULL},
    {"DO ?, ?", 0, 45, 1, {INT8(8, 7)}, NULL, "more `?`"},
    {"DO ?", 0, 45, 2, {INT8(8, 7), INT8(8, 8)}, NULL, "1 `?` for 2 parameters"},
    {"DO ?", 0, 45, 1, {{.type = 8, .len = 3, .b = {1, 2, 3}}}, NULL, "cut short"},
};

static void test_interpolate(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        uint8_t pkt[512];
        size_t n = exec_packet(pkt, CASES[i].v, CASES[i].n, true);
        char *out = NULL, why[300] = "";
        size_t out_len = 0;
        hy_status_t rc = ps_text_interpolate(CASES[i].sql, strlen(CASES[i].sql), CASES[i].opts, pkt,
                                             n, (uint16_t)CASES[i].n, NULL, CASES[i].charset, &out,
                                             &out_len, why, sizeof(why));
        if (CASES[i].text != NULL) {
            if (rc != HY_OK)
                fail_msg("case %zu (%s): refused: %s", i, CASES[i].sql, why);
            assert_string_equal(out, CASES[i].text);
            assert_int_equal(out_len, strlen(CASES[i].text));
        } else {
            if (rc != HY_ERROR)
                fail_msg("case %zu (%s): not refused: %s", i, CASES[i].sql, out ? out : "");
            if (strstr(why, CASES[i].why) == NULL)
                fail_msg("case %zu: why \"%s\" lacks \"%s\"", i, why, CASES[i].why);
            assert_null(out);
        }
        free(out);
    }
}

/* The types bound at an earlier execution (new_params_bound 0). */
static void test_interpolate_types_bound_before(void **state)
{
    (void)state;
    struct pv v[2] = {INT8(8, 42), STR(253, "x")};
    uint8_t pkt[128];
    size_t n = exec_packet(pkt, v, 2, false);
    const uint8_t types[4] = {8, 0, 253, 0};
    char *out = NULL, why[200];
    size_t len;
    assert_int_equal(
        ps_text_interpolate("DO ? = ?", 8, 0, pkt, n, 2, types, 45, &out, &len, why, sizeof(why)),
        HY_OK);
    assert_string_equal(out, "DO 42 = 'x'");
    free(out);
    assert_int_equal(
        ps_text_interpolate("DO ? = ?", 8, 0, pkt, n, 2, NULL, 45, &out, &len, why, sizeof(why)),
        HY_ERROR);
    assert_non_null(strstr(why, "never sent"));
    /* no parameters: the text as it is */
    n = exec_packet(pkt, NULL, 0, false);
    assert_int_equal(
        ps_text_interpolate("SELECT 1", 8, 0, pkt, n, 0, NULL, 45, &out, &len, why, sizeof(why)),
        HY_OK);
    assert_string_equal(out, "SELECT 1");
    free(out);
}

/* ---- result sets ---------------------------------------------------------- */

struct pk {
    uint8_t b[4096];
    size_t len;
    uint8_t seq;
};

static void pk_add(struct pk *p, const uint8_t *payload, size_t n)
{
    p->b[p->len] = (uint8_t)n;
    p->b[p->len + 1] = (uint8_t)(n >> 8);
    p->b[p->len + 2] = (uint8_t)(n >> 16);
    p->b[p->len + 3] = p->seq++;
    memcpy(p->b + p->len + 4, payload, n);
    p->len += 4 + n;
}

static void pk_coldef(struct pk *p, const char *name, uint8_t type, uint16_t flags,
                      uint8_t decimals)
{
    uint8_t d[128];
    size_t k = 0;
    const char *strs[] = {"def", "s", "t", "t", name, name};
    for (size_t i = 0; i < 6; i++) {
        d[k++] = (uint8_t)strlen(strs[i]);
        memcpy(d + k, strs[i], strlen(strs[i]));
        k += strlen(strs[i]);
    }
    d[k++] = 0x0c;
    d[k++] = 63; /* charset */
    d[k++] = 0;
    memset(d + k, 0, 4); /* length */
    d[k] = 20;
    k += 4;
    d[k++] = type;
    d[k++] = (uint8_t)flags;
    d[k++] = (uint8_t)(flags >> 8);
    d[k++] = decimals;
    d[k++] = 0;
    d[k++] = 0;
    pk_add(p, d, k);
}

static const uint8_t EOF_PKT[] = {0xfe, 0, 0, 0x02, 0};

/* A text row from NUL-separated cells; "\x01" stands for NULL. */
static void pk_row(struct pk *p, const char *const *cells, size_t n)
{
    uint8_t d[512];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (cells[i] == NULL) {
            d[k++] = 0xfb;
            continue;
        }
        d[k++] = (uint8_t)strlen(cells[i]);
        memcpy(d + k, cells[i], strlen(cells[i]));
        k += strlen(cells[i]);
    }
    pk_add(p, d, k);
}

/* The payload of packet `idx` of `b` (len bytes): its length in *n. */
static const uint8_t *packet_at(const uint8_t *b, size_t len, size_t idx, size_t *n, uint8_t *seq)
{
    size_t at = 0;
    for (size_t i = 0;; i++) {
        assert_true(at + 4 <= len);
        size_t m = (size_t)b[at] | (size_t)b[at + 1] << 8 | (size_t)b[at + 2] << 16;
        if (i == idx) {
            *n = m;
            *seq = b[at + 3];
            return b + at + 4;
        }
        at += 4 + m;
    }
}

static void test_binary_rows(void **state)
{
    (void)state;
    struct pk in = {.seq = 1};
    uint8_t count = 10;
    pk_add(&in, &count, 1);
    pk_coldef(&in, "i", 3, 0, 0);                    /* INT */
    pk_coldef(&in, "u", 8, MYSQL_UNSIGNED_FLAG, 0);  /* BIGINT UNSIGNED */
    pk_coldef(&in, "t", 1, 0, 0);                    /* TINYINT */
    pk_coldef(&in, "d", 5, 0, 31);                   /* DOUBLE */
    pk_coldef(&in, "m", 246, 0, 2);                  /* DECIMAL */
    pk_coldef(&in, "s", 253, 0, 0);                  /* VARCHAR */
    pk_coldef(&in, "dt", 12, 0, 6);                  /* DATETIME(6) */
    pk_coldef(&in, "da", 10, 0, 0);                  /* DATE */
    pk_coldef(&in, "tm", 11, 0, 0);                  /* TIME */
    pk_coldef(&in, "y", 13, MYSQL_UNSIGNED_FLAG, 0); /* YEAR */
    pk_add(&in, EOF_PKT, sizeof(EOF_PKT));
    const char *r1[] = {"-2", "18446744073709551615",       "-128",       "0.1",         "-3.25",
                        NULL, "2024-01-02 03:04:05.123456", "2000-02-29", "-36:00:01.5", "2024"};
    pk_row(&in, r1, 10);
    const char *r2[] = {
        "7",          "0",        "127", "-1e300", "0.00", "ab", "2024-01-02 00:00:00",
        "0000-00-00", "00:00:00", NULL};
    pk_row(&in, r2, 10);
    pk_add(&in, EOF_PKT, sizeof(EOF_PKT));
    uint8_t *out = NULL;
    size_t len = 0;
    char why[300] = "";
    assert_int_equal(
        ps_text_binary_resultset(in.b, in.len, false, false, false, &out, &len, why, sizeof(why)),
        HY_OK);
    size_t n;
    uint8_t seq;
    /* count, definitions and EOF as they were */
    const uint8_t *p = packet_at(out, len, 0, &n, &seq);
    assert_int_equal(n, 1);
    assert_int_equal(p[0], 10);
    assert_int_equal(seq, 1);
    p = packet_at(out, len, 11, &n, &seq);
    assert_int_equal(p[0], 0xfe);
    p = packet_at(out, len, 12, &n, &seq);
    assert_int_equal(seq, 13);
    static const uint8_t row1[] = {
        0x00, 0x80, 0x00,                               /* NULL bitmap: column 6 (bit 7) */
        0xfe, 0xff, 0xff, 0xff,                         /* INT -2 */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* BIGINT UNSIGNED max */
        0x80,                                           /* TINYINT -128 */
        0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f, /* DOUBLE 0.1 */
        5,    '-',  '3',  '.',  '2',  '5',              /* DECIMAL */
        11,   0xe8, 0x07, 1,    2,    3,    4,    5,    0x40, 0xe2, 0x01, 0x00, /* DATETIME */
        4,    0xd0, 0x07, 2,    29,                                             /* DATE */
        12,   1,    1,    0,    0,    0,    12,   0,    1,    0x20, 0xa1, 0x07,
        0x00,       /* TIME -36:00:01.5 */
        0xe8, 0x07, /* YEAR */
    };
    assert_int_equal(n, sizeof(row1));
    assert_memory_equal(p, row1, sizeof(row1));
    p = packet_at(out, len, 13, &n, &seq);
    uint8_t row2[] = {
        0x00, 0x00, 0x08,                    /* NULL: column 10 (bit 11) */
        7,    0,    0,    0,                 /* INT */
        0,    0,    0,    0,   0,   0, 0, 0, /* BIGINT */
        0x7f,                                /* TINYINT */
        0,    0,    0,    0,   0,   0, 0, 0, /* DOUBLE -1e300: set below */
        4,    '0',  '.',  '0', '0',          /* DECIMAL */
        2,    'a',  'b',                     /* VARCHAR */
        4,    0xe8, 0x07, 1,   2,            /* DATETIME without time */
        0,                                   /* zero DATE */
        0,                                   /* zero TIME */
    };
    double m1e300 = -1e300;
    uint8_t bits[8];
    memcpy(bits, &m1e300, 8);
    memcpy(row2 + 16, bits, 8);
    assert_int_equal(n, sizeof(row2));
    assert_memory_equal(p, row2, sizeof(row2));
    p = packet_at(out, len, 14, &n, &seq);
    assert_int_equal(p[0], 0xfe);
    assert_int_equal(seq, 15);
    free(out);
}

/* CLIENT_DEPRECATE_EOF (no EOF after the definitions, an OK 0xfe at the
 * end) and CACHE_METADATA (the count's metadata_follows byte). */
static void test_framing(void **state)
{
    (void)state;
    struct pk in = {.seq = 1};
    uint8_t count = 1;
    pk_add(&in, &count, 1);
    pk_coldef(&in, "i", 8, 0, 0);
    const char *r[] = {"5"};
    pk_row(&in, r, 1);
    static const uint8_t ok[] = {0xfe, 0, 0, 0x02, 0, 0, 0};
    pk_add(&in, ok, sizeof(ok));
    uint8_t *out = NULL;
    size_t len = 0;
    char why[300] = "";
    assert_int_equal(
        ps_text_binary_resultset(in.b, in.len, false, true, true, &out, &len, why, sizeof(why)),
        HY_OK);
    size_t n;
    uint8_t seq;
    const uint8_t *p = packet_at(out, len, 0, &n, &seq);
    assert_int_equal(n, 2);
    assert_int_equal(p[0], 1);
    assert_int_equal(p[1], 1);
    p = packet_at(out, len, 2, &n, &seq);
    static const uint8_t row[] = {0, 0, 5, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(n, sizeof(row));
    assert_memory_equal(p, row, sizeof(row));
    p = packet_at(out, len, 3, &n, &seq);
    assert_int_equal(n, sizeof(ok));
    assert_int_equal(seq, 4);
    free(out);
    /* an OK (no result set) goes as it is */
    static const uint8_t okp[] = {7, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0};
    assert_int_equal(ps_text_binary_resultset(okp, sizeof(okp), false, false, false, &out, &len,
                                              why, sizeof(why)),
                     HY_OK);
    assert_int_equal(len, sizeof(okp));
    assert_memory_equal(out, okp, sizeof(okp));
    free(out);
}

static void refused(uint8_t type, uint16_t flags, uint8_t decimals, const char *cell,
                    const char *part)
{
    struct pk in = {.seq = 1};
    uint8_t count = 1;
    pk_add(&in, &count, 1);
    pk_coldef(&in, "c", type, flags, decimals);
    pk_add(&in, EOF_PKT, sizeof(EOF_PKT));
    const char *r[] = {cell};
    pk_row(&in, r, 1);
    pk_add(&in, EOF_PKT, sizeof(EOF_PKT));
    uint8_t *out = NULL;
    size_t len = 0;
    char why[300] = "";
    assert_int_equal(
        ps_text_binary_resultset(in.b, in.len, false, false, false, &out, &len, why, sizeof(why)),
        HY_ERROR);
    if (strstr(why, part) == NULL)
        fail_msg("why \"%s\" lacks \"%s\"", why, part);
    assert_null(out);
}

static void test_binary_refusals(void **state)
{
    (void)state;
    refused(4, 0, 31, "1.23457", "FLOAT");
    refused(5, 0, 2, "1.25", "fixed decimals");
    refused(5, 0, 31, "abc", "not a DOUBLE");
    refused(1, 0, 0, "128", "integer type");
    refused(1, MYSQL_UNSIGNED_FLAG, 0, "-1", "integer type");
    refused(3, 0, 0, "1.5", "integer type");
    refused(8, MYSQL_UNSIGNED_FLAG, 0, "18446744073709551616", "integer type");
    refused(12, 0, 0, "2024-01-02T03:04:05", "not a date");
    refused(10, 0, 0, "2024-01-02 00:00:00", "not a date");
    refused(11, 0, 0, "1:2:3", "not a time");
    refused(6, 0, 0, "x", "type NULL");
    refused(17, 0, 0, "x", "type 17");
    /* a NULL FLOAT is fine: nothing to rebuild */
    struct pk in = {.seq = 1};
    uint8_t count = 1;
    pk_add(&in, &count, 1);
    pk_coldef(&in, "c", 4, 0, 31);
    pk_add(&in, EOF_PKT, sizeof(EOF_PKT));
    const char *r[] = {NULL};
    pk_row(&in, r, 1);
    pk_add(&in, EOF_PKT, sizeof(EOF_PKT));
    uint8_t *out = NULL;
    size_t len = 0;
    char why[300] = "";
    assert_int_equal(
        ps_text_binary_resultset(in.b, in.len, false, false, false, &out, &len, why, sizeof(why)),
        HY_OK);
    free(out);
    /* cut short */
    assert_int_equal(ps_text_binary_resultset(in.b, in.len - 3, false, false, false, &out, &len,
                                              why, sizeof(why)),
                     HY_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interpolate),
        cmocka_unit_test(test_interpolate_types_bound_before),
        cmocka_unit_test(test_binary_rows),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_binary_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
