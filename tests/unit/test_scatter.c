/*
 * test_scatter.c: the scatter planner (scatter_plan.h, table-driven: a
 * statement in, a shape, the text each group runs and the refusal out)
 * and the merger (scatter_merge.h: the groups' answers as packets in, the
 * client's answer out, checked row by row), with the decimal helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/protocol/mysql_proto.h"
#include "halyard/route/scatter_merge.h"
#include "halyard/route/scatter_plan.h"
#include "packets.h"

/* ---- the planner --------------------------------------------------------- */

static const struct {
    const char *sql;
    enum scatter_shape shape;
    const char *text; /* what each group runs (NULL: the statement as is) */
    const char *why;  /* SCATTER_REFUSE: a part of the reason */
} PLANS[] = {
    {"SELECT id, w FROM t WHERE w > 3", SCATTER_CONCAT, NULL, NULL},
    {"select * from shop.orders", SCATTER_CONCAT, NULL, NULL},
    {"SELECT id FROM t ORDER BY id", SCATTER_SORTED, NULL, NULL},
    {"SELECT id, w FROM t ORDER BY w DESC, 1 LIMIT 5", SCATTER_SORTED, NULL, NULL},
    {"SELECT id FROM t ORDER BY id LIMIT 10, 5", SCATTER_SORTED,
     "SELECT id FROM t ORDER BY id LIMIT 15", NULL},
    {"SELECT id FROM t ORDER BY id LIMIT 5 OFFSET 10;", SCATTER_SORTED,
     "SELECT id FROM t ORDER BY id LIMIT 15;", NULL},
    {"SELECT id FROM t LIMIT 3", SCATTER_CONCAT, NULL, NULL},
    {"SELECT COUNT(*), SUM(w) AS s, MIN(w), MAX(`w`) FROM t WHERE id > 2", SCATTER_AGG, NULL, NULL},
    {"SELECT DISTINCT w FROM t ORDER BY w", SCATTER_SORTED, NULL, NULL},
    {"SHOW DATABASES", SCATTER_DATABASES, NULL, NULL},
    {"show schemas like 's%'", SCATTER_DATABASES, NULL, NULL},
    {"SELECT w, COUNT(*) FROM t GROUP BY w", SCATTER_REFUSE, NULL, "GROUP BY"},
    {"SELECT AVG(w) FROM t", SCATTER_REFUSE, NULL, "AVG(): only COUNT, SUM, MIN and MAX"},
    {"SELECT COUNT(*) FROM t HAVING COUNT(*) > 1", SCATTER_REFUSE, NULL, "HAVING"},
    {"SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM t", SCATTER_REFUSE, NULL, "window"},
    {"SELECT id, w FROM t ORDER BY w + 1", SCATTER_REFUSE, NULL,
     "ORDER BY w + 1: a sort key must be a selected column"},
    {"SELECT DISTINCT w FROM t", SCATTER_REFUSE, NULL, "DISTINCT without an ORDER BY"},
    {"SELECT COUNT(DISTINCT w) FROM t", SCATTER_REFUSE, NULL, "COUNT(DISTINCT"},
    {"SELECT COUNT(*) + 1 FROM t", SCATTER_REFUSE, NULL, "inside an expression"},
    {"SELECT id, COUNT(*) FROM t", SCATTER_REFUSE, NULL, "without other columns"},
    {"SELECT id FROM t WHERE w IN (SELECT w FROM u)", SCATTER_REFUSE, NULL, "subquery"},
    {"SELECT id FROM t WHERE w = @x", SCATTER_REFUSE, NULL, "user variable"},
    {"SELECT id FROM t FOR UPDATE", SCATTER_REFUSE, NULL, "locking read"},
    {"SELECT id FROM t LOCK IN SHARE MODE", SCATTER_REFUSE, NULL, "locking read"},
    {"SELECT id FROM t FOR SHARE", SCATTER_REFUSE, NULL, "locking read"},
    {"SELECT id FROM t FOR", SCATTER_CONCAT, NULL, NULL}, /* the server's syntax error */
    {"SELECT id FROM t LOCK", SCATTER_CONCAT, NULL, NULL},
    {"SELECT id FROM t UNION SELECT id FROM u", SCATTER_REFUSE, NULL, "subquery"},
    {"SELECT SQL_CALC_FOUND_ROWS id FROM t", SCATTER_REFUSE, NULL, "FOUND_ROWS"},
    {"SELECT t.id FROM t JOIN u ON u.id = t.id", SCATTER_REFUSE, NULL, "join"},
    {"SELECT t.id FROM t, u", SCATTER_REFUSE, NULL, "join"},
    {"SELECT 1", SCATTER_REFUSE, NULL, "without FROM"},
    {"SELECT id FROM t INTO OUTFILE '/tmp/x'", SCATTER_REFUSE, NULL, "INTO"},
    {"SELECT id FROM t; SELECT 2", SCATTER_REFUSE, NULL, "several statements"},
    {"SELECT id FROM t ORDER BY id LIMIT ?", SCATTER_REFUSE, NULL, "parameter"},
    {"SELECT COUNT(*) FROM t LIMIT 1", SCATTER_REFUSE, NULL, "LIMIT with an aggregate"},
    {"UPDATE t SET w = 1", SCATTER_REFUSE, NULL, "only a SELECT"},
    {"SELECT id FROM t WHERE w = 'a", SCATTER_REFUSE, NULL, "unterminated"},
};

static void test_plans(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(PLANS) / sizeof(PLANS[0]); i++) {
        struct scatter_plan p;
        assert_int_equal(scatter_plan_make(PLANS[i].sql, strlen(PLANS[i].sql), 0, &p), HY_OK);
        if (p.shape != PLANS[i].shape)
            fail_msg("%s: shape %s (%s), want %s", PLANS[i].sql, scatter_shape_to_str(p.shape),
                     p.why, scatter_shape_to_str(PLANS[i].shape));
        if (PLANS[i].why != NULL && strstr(p.why, PLANS[i].why) == NULL)
            fail_msg("%s: why \"%s\", want \"%s\"", PLANS[i].sql, p.why, PLANS[i].why);
        if (p.shape != SCATTER_REFUSE) {
            const char *want = PLANS[i].text != NULL ? PLANS[i].text : PLANS[i].sql;
            assert_string_equal(p.text, want);
            assert_int_equal(p.text_len, strlen(want));
        }
        if (p.shape == SCATTER_REFUSE)
            assert_non_null(strstr(p.why, "halyard: cannot merge a read of every group: "));
        scatter_plan_free(&p);
    }
}

/* A join the caller knows exact per group (a sharded table with
 * reference tables): planned as one table; a qualified ORDER BY refused. */
static void test_plan_joined(void **state)
{
    (void)state;
    struct scatter_plan p;
    const char *q = "SELECT COUNT(*), SUM(o.amount) FROM o JOIN c ON c.id = o.country";
    assert_int_equal(scatter_plan_make(q, strlen(q), 0, &p), HY_OK);
    assert_int_equal(p.shape, SCATTER_REFUSE);
    assert_non_null(strstr(p.why, "a join: rows on different groups never meet"));
    scatter_plan_free(&p);
    assert_int_equal(scatter_plan_make_joined(q, strlen(q), 0, true, &p), HY_OK);
    assert_int_equal(p.shape, SCATTER_AGG);
    scatter_plan_free(&p);
    q = "SELECT o.id, c.name FROM o, c WHERE c.id = o.country ORDER BY 1 LIMIT 3";
    assert_int_equal(scatter_plan_make_joined(q, strlen(q), 0, true, &p), HY_OK);
    assert_int_equal(p.shape, SCATTER_SORTED);
    scatter_plan_free(&p);
    /* STRAIGHT_JOIN and a parenthesized join are joins too */
    static const char *const joins[] = {"SELECT * FROM o STRAIGHT_JOIN c ON c.id = o.country",
                                        "SELECT * FROM (o JOIN c ON c.id = o.country)"};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(scatter_plan_make(joins[i], strlen(joins[i]), 0, &p), HY_OK);
        assert_int_equal(p.shape, SCATTER_REFUSE);
        assert_non_null(strstr(p.why, "a join"));
        scatter_plan_free(&p);
        assert_int_equal(scatter_plan_make_joined(joins[i], strlen(joins[i]), 0, true, &p), HY_OK);
        assert_int_equal(p.shape, SCATTER_CONCAT);
        scatter_plan_free(&p);
    }
    /* SELECT STRAIGHT_JOIN (an option) is no join */
    q = "SELECT STRAIGHT_JOIN id FROM o";
    assert_int_equal(scatter_plan_make(q, strlen(q), 0, &p), HY_OK);
    assert_int_equal(p.shape, SCATTER_CONCAT);
    scatter_plan_free(&p);
    q = "SELECT o.id, c.name FROM o JOIN c ORDER BY c.id";
    assert_int_equal(scatter_plan_make_joined(q, strlen(q), 0, true, &p), HY_OK);
    assert_int_equal(p.shape, SCATTER_REFUSE);
    assert_non_null(strstr(p.why, "ORDER BY c.id in a join"));
    scatter_plan_free(&p);
}

static void test_plan_details(void **state)
{
    (void)state;
    struct scatter_plan p;
    const char *q = "SELECT id AS k, name COLLATE utf8mb4_bin AS n, w FROM t "
                    "ORDER BY n DESC, `k`, 3 ASC LIMIT 2, 4";
    assert_int_equal(scatter_plan_make(q, strlen(q), 0, &p), HY_OK);
    assert_int_equal(p.shape, SCATTER_SORTED);
    assert_int_equal(p.n_keys, 3);
    assert_string_equal(p.keys[0].name, "n");
    assert_true(p.keys[0].desc);
    assert_string_equal(p.keys[1].name, "k");
    assert_false(p.keys[1].desc);
    assert_int_equal(p.keys[2].pos, 3);
    assert_true(p.has_limit);
    assert_int_equal(p.limit, 4);
    assert_int_equal(p.offset, 2);
    assert_int_equal(p.n_items, 3);
    assert_false(p.bin_collate[0]);
    assert_true(p.bin_collate[1]);
    scatter_plan_free(&p);

    q = "SELECT COUNT(id), SUM(w), MIN(w), MAX(w) FROM t";
    assert_int_equal(scatter_plan_make(q, strlen(q), 0, &p), HY_OK);
    assert_int_equal(p.shape, SCATTER_AGG);
    assert_int_equal(p.n_items, 4);
    assert_int_equal(p.agg[0], SCATTER_AGG_COUNT);
    assert_int_equal(p.agg[1], SCATTER_AGG_SUM);
    assert_int_equal(p.agg[2], SCATTER_AGG_MIN);
    assert_int_equal(p.agg[3], SCATTER_AGG_MAX);
    scatter_plan_free(&p);

    /* ANSI_QUOTES: "w" is a name */
    q = "SELECT \"w\" FROM t ORDER BY \"w\"";
    assert_int_equal(scatter_plan_make(q, strlen(q), 0x2u, &p), HY_OK);
    assert_int_equal(p.shape, SCATTER_SORTED);
    assert_string_equal(p.keys[0].name, "w");
    scatter_plan_free(&p);

    assert_true(scatter_is_show_databases("SHOW DATABASES", 14, 0));
    assert_true(scatter_is_show_databases("/* x */ show\nSCHEMAS like 'a'", 30, 0));
    assert_false(scatter_is_show_databases("SHOW TABLES", 11, 0));
    assert_false(scatter_is_show_databases("SELECT 'SHOW DATABASES'", 23, 0));
}

/* ---- decimals ------------------------------------------------------------ */

static int dcmp(const char *a, const char *b)
{
    return scatter_dec_cmp((const uint8_t *)a, strlen(a), (const uint8_t *)b, strlen(b));
}

static void test_decimals(void **state)
{
    (void)state;
    assert_true(dcmp("1", "2") < 0);
    assert_true(dcmp("10", "9") > 0);
    assert_true(dcmp("-10", "9") < 0);
    assert_true(dcmp("-10", "-9") < 0);
    assert_true(dcmp("1.50", "1.5") == 0);
    assert_true(dcmp("0.001", "0.0009") > 0);
    assert_true(dcmp("-0.00", "0") == 0);
    assert_true(dcmp("123.45", "123.456") < 0);
    static const struct {
        const char *a, *b, *sum;
    } ADD[] = {
        {"1", "2", "3"},           {"999", "1", "1000"},
        {"1.50", "2.25", "3.75"},  {"-5", "3", "-2"},
        {"5", "-3", "2"},          {"-1.5", "-2.5", "-4.0"},
        {"0.10", "-0.10", "0.00"}, {"18446744073709551615", "1", "18446744073709551616"},
        {"12.5", "0.25", "12.75"},
    };
    for (size_t i = 0; i < sizeof(ADD) / sizeof(ADD[0]); i++) {
        char out[64];
        assert_true(scatter_dec_add(ADD[i].a, ADD[i].b, out, sizeof(out)));
        if (strcmp(out, ADD[i].sum) != 0)
            fail_msg("%s + %s = %s, want %s", ADD[i].a, ADD[i].b, out, ADD[i].sum);
    }
    char out[8];
    assert_false(scatter_dec_add("1x", "2", out, sizeof(out)));
}

/* ---- the merger ---------------------------------------------------------- */

struct col {
    const char *name;
    uint8_t type;
    uint16_t charset;
    uint16_t flags;
    uint8_t decimals;
};

static size_t coldef(uint8_t *out, const struct col *c)
{
    struct pk_col pc = {"db",       "t", "t",     c->name,  c->name,
                        c->charset, 20,  c->type, c->flags, c->decimals};
    return pk_coldef(out, 256, &pc);
}

/* One group's answer: columns, then rows of cells separated by '|' ("\N"
 * for NULL), fed as packets. */
static void part_make(struct scatter_part *pt, const struct col *cols, size_t n_cols,
                      const char *const *rows, size_t n_rows, size_t *budget)
{
    char why[200];
    memset(pt, 0, sizeof(*pt));
    uint8_t b[512];
    b[0] = (uint8_t)n_cols;
    assert_int_equal(scatter_part_feed(pt, b, 1, budget, why, sizeof(why)), HY_AGAIN);
    for (size_t c = 0; c < n_cols; c++) {
        size_t n = coldef(b, &cols[c]);
        assert_int_equal(scatter_part_feed(pt, b, n, budget, why, sizeof(why)), HY_AGAIN);
    }
    uint8_t eof[5] = {0xfe, 0, 0, 2, 0};
    assert_int_equal(scatter_part_feed(pt, eof, 5, budget, why, sizeof(why)), HY_AGAIN);
    for (size_t r = 0; r < n_rows; r++) {
        struct mysql_wr wr;
        mysql_wr_init(&wr, b, sizeof(b));
        const char *s = rows[r];
        for (;;) {
            const char *e = strchr(s, '|');
            size_t n = e != NULL ? (size_t)(e - s) : strlen(s);
            if (n == 2 && memcmp(s, "\\N", 2) == 0)
                mysql_wr_u8(&wr, 0xfb);
            else
                mysql_wr_lenenc_str(&wr, s, n);
            if (e == NULL)
                break;
            s = e + 1;
        }
        assert_int_equal(scatter_part_feed(pt, b, mysql_wr_len(&wr), budget, why, sizeof(why)),
                         HY_AGAIN);
    }
    assert_int_equal(scatter_part_feed(pt, eof, 5, budget, why, sizeof(why)), HY_OK);
    assert_int_equal(pt->kind, SCATTER_PART_ROWS);
}

/* The rows of the merged answer as "a|b" lines joined by ';'. */
static void rows_of(const struct scatter_out *o, size_t n_cols, bool deprecate_eof, char *out,
                    size_t cap)
{
    size_t at = 0, pkt = 0;
    out[0] = '\0';
    size_t skip = 1 + n_cols + (deprecate_eof ? 0 : 1);
    while (at < o->buf.len) {
        uint32_t len = mysql_hdr_len(scatter_out_bytes(o) + at);
        assert_int_equal(mysql_hdr_seq(scatter_out_bytes(o) + at), (uint8_t)(pkt + 1));
        const uint8_t *p = scatter_out_bytes(o) + at + MYSQL_HEADER_SIZE;
        at += MYSQL_HEADER_SIZE + len;
        if (pkt++ < skip)
            continue;
        if (at == o->buf.len) { /* the end: an EOF, or an OK with 0xfe */
            assert_int_equal(p[0], 0xfe);
            assert_int_equal(len, deprecate_eof ? 7 : 5);
            break;
        }
        struct mysql_rd rd;
        mysql_rd_init(&rd, p, len);
        size_t o2 = strlen(out);
        if (o2 > 0)
            o2 += (size_t)snprintf(out + o2, cap - o2, ";");
        for (size_t c = 0; c < n_cols; c++) {
            if (*rd.p == 0xfb) {
                mysql_rd_u8(&rd);
                o2 += (size_t)snprintf(out + o2, cap - o2, c ? "|\\N" : "\\N");
                continue;
            }
            size_t n;
            const uint8_t *v = mysql_rd_lenenc_str(&rd, &n);
            o2 +=
                (size_t)snprintf(out + o2, cap - o2, c ? "|%.*s" : "%.*s", (int)n, (const char *)v);
        }
    }
}

static hy_status_t merge(const char *sql, const struct col *cols, size_t n_cols,
                         const char *const *a, size_t na, const char *const *b, size_t nb,
                         char *got, size_t cap, char *why, size_t why_len)
{
    struct scatter_plan plan;
    assert_int_equal(scatter_plan_make(sql, strlen(sql), 0, &plan), HY_OK);
    size_t budget = 1 << 20;
    struct scatter_part parts[2];
    part_make(&parts[0], cols, n_cols, a, na, &budget);
    part_make(&parts[1], cols, n_cols, b, nb, &budget);
    struct scatter_out out = {0};
    hy_status_t rc = scatter_merge(&plan, parts, 2, CLIENT_PROTOCOL_41 | CLIENT_DEPRECATE_EOF, 2,
                                   &out, why, why_len);
    if (rc == HY_OK)
        rows_of(&out, n_cols, true, got, cap);
    scatter_out_free(&out);
    scatter_part_free(&parts[0]);
    scatter_part_free(&parts[1]);
    scatter_plan_free(&plan);
    return rc;
}

#define N(x) (sizeof(x) / sizeof((x)[0]))

static const struct col INT_W[] = {{"id", MYSQL_TYPE_LONGLONG, 63, 0, 0},
                                   {"w", MYSQL_TYPE_LONG, 63, 0, 0}};

static void test_merge_concat_sorted(void **state)
{
    (void)state;
    char got[1024], why[300];
    const char *a[] = {"1|5", "3|\\N", "4|-2"};
    const char *b[] = {"2|10", "5|7"};
    assert_int_equal(merge("SELECT id, w FROM t", INT_W, 2, a, N(a), b, N(b), got, sizeof(got), why,
                           sizeof(why)),
                     HY_OK);
    assert_string_equal(got, "1|5;3|\\N;4|-2;2|10;5|7");
    /* ORDER BY id: each group's rows come sorted */
    assert_int_equal(merge("SELECT id, w FROM t ORDER BY id", INT_W, 2, a, N(a), b, N(b), got,
                           sizeof(got), why, sizeof(why)),
                     HY_OK);
    assert_string_equal(got, "1|5;2|10;3|\\N;4|-2;5|7");
    /* LIMIT 1, 2: the offset applies to the merged rows */
    assert_int_equal(merge("SELECT id, w FROM t ORDER BY 1 LIMIT 1, 2", INT_W, 2, a, N(a), b, N(b),
                           got, sizeof(got), why, sizeof(why)),
                     HY_OK);
    assert_string_equal(got, "2|10;3|\\N");
    /* numbers compare as numbers (10 > 7 > 5), NULL first, DESC reversed */
    const char *c[] = {"3|\\N", "4|-2", "1|5"};
    const char *d[] = {"5|7", "2|10"};
    assert_int_equal(merge("SELECT id, w FROM t ORDER BY w", INT_W, 2, c, N(c), d, N(d), got,
                           sizeof(got), why, sizeof(why)),
                     HY_OK);
    assert_string_equal(got, "3|\\N;4|-2;1|5;5|7;2|10");
    const char *e[] = {"1|5", "4|-2", "3|\\N"};
    const char *f[] = {"2|10", "5|7"};
    assert_int_equal(merge("SELECT id, w FROM t ORDER BY w DESC LIMIT 4", INT_W, 2, e, N(e), f,
                           N(f), got, sizeof(got), why, sizeof(why)),
                     HY_OK);
    assert_string_equal(got, "2|10;5|7;1|5;4|-2");
    /* LIMIT without ORDER BY: the first rows, cut the same */
    assert_int_equal(merge("SELECT id, w FROM t LIMIT 4", INT_W, 2, a, N(a), b, N(b), got,
                           sizeof(got), why, sizeof(why)),
                     HY_OK);
    assert_string_equal(got, "1|5;3|\\N;4|-2;2|10");
    /* a name that is not a column, two columns of one name */
    assert_int_equal(merge("SELECT id, w FROM t ORDER BY nope", INT_W, 2, a, N(a), b, N(b), got,
                           sizeof(got), why, sizeof(why)),
                     HY_ERROR);
    assert_non_null(strstr(why, "ORDER BY nope: not a selected column"));
}

static void test_merge_types(void **state)
{
    (void)state;
    char got[1024], why[300];
    /* decimals, as numbers */
    const struct col dec[] = {{"d", MYSQL_TYPE_NEWDECIMAL, 63, 0, 2}};
    const char *a[] = {"-3.50", "2.00", "10.25"};
    const char *b[] = {"-10.00", "9.99"};
    assert_int_equal(merge("SELECT d FROM t ORDER BY d", dec, 1, a, N(a), b, N(b), got, sizeof(got),
                           why, sizeof(why)),
                     HY_OK);
    assert_string_equal(got, "-10.00;-3.50;2.00;9.99;10.25");
    /* unsigned BIGINT past INT64_MAX */
    const struct col u[] = {{"u", MYSQL_TYPE_LONGLONG, 63, MYSQL_UNSIGNED_FLAG, 0}};
    const char *c[] = {"5", "18446744073709551615"};
    const char *d[] = {"9223372036854775808"};
    assert_int_equal(merge("SELECT u FROM t ORDER BY u", u, 1, c, N(c), d, N(d), got, sizeof(got),
                           why, sizeof(why)),
                     HY_OK);
    assert_string_equal(got, "5;9223372036854775808;18446744073709551615");
    /* TIME: hours of any width, negative first */
    const struct col tm[] = {{"t", 11, 63, 0, 0}};
    const char *e[] = {"-100:00:00", "09:00:00", "100:00:00"};
    const char *f[] = {"-01:00:00", "10:00:00"};
    assert_int_equal(merge("SELECT t FROM x ORDER BY t", tm, 1, e, N(e), f, N(f), got, sizeof(got),
                           why, sizeof(why)),
                     HY_OK);
    assert_string_equal(got, "-100:00:00;-01:00:00;09:00:00;10:00:00;100:00:00");
    /* strings: binary by bytes; utf8mb4 only when COLLATEd to a *_bin */
    const struct col s[] = {{"s", MYSQL_TYPE_VAR_STRING, 45, 0, 0}};
    const char *g[] = {"B", "a"};
    const char *h[] = {"A ", "b"};
    assert_int_equal(merge("SELECT s FROM t ORDER BY s", s, 1, g, N(g), h, N(h), got, sizeof(got),
                           why, sizeof(why)),
                     HY_ERROR);
    assert_non_null(strstr(why, "column s is a string in character set id 45"));
    assert_int_equal(merge("SELECT s COLLATE utf8mb4_bin AS s FROM t ORDER BY s", s, 1, g, N(g), h,
                           N(h), got, sizeof(got), why, sizeof(why)),
                     HY_OK);
    assert_string_equal(got, "A ;B;a;b");
    /* PAD SPACE: "a" = "a ", and a byte below the space sorts before the end */
    const char *pa[] = {"a\t", "a", "ab"};
    const char *pb[] = {"a ", "a!"};
    assert_int_equal(merge("SELECT s COLLATE latin1_bin AS s FROM t ORDER BY s", s, 1, pa, N(pa),
                           pb, N(pb), got, sizeof(got), why, sizeof(why)),
                     HY_OK);
    assert_string_equal(got, "a\t;a;a ;a!;ab");
    assert_int_equal(merge("SELECT DISTINCT s COLLATE ascii_bin AS s FROM t ORDER BY s", s, 1, pa,
                           N(pa), pb, N(pb), got, sizeof(got), why, sizeof(why)),
                     HY_OK);
    assert_string_equal(got, "a\t;a;a!;ab");
    const struct col bin[] = {{"s", MYSQL_TYPE_VAR_STRING, 63, 0, 0}};
    assert_int_equal(merge("SELECT s FROM t ORDER BY s", bin, 1, g, N(g), h, N(h), got, sizeof(got),
                           why, sizeof(why)),
                     HY_OK);
    assert_string_equal(got, "A ;B;a;b");
    /* ENUM, TIMESTAMP: refused */
    const struct col en[] = {{"e", MYSQL_TYPE_STRING, 63, 0x0100, 0}};
    assert_int_equal(merge("SELECT e FROM t ORDER BY e", en, 1, g, N(g), h, N(h), got, sizeof(got),
                           why, sizeof(why)),
                     HY_ERROR);
    assert_non_null(strstr(why, "ENUM or SET"));
    const struct col ts[] = {{"ts", 7, 63, 0, 0}};
    assert_int_equal(merge("SELECT ts FROM t ORDER BY ts", ts, 1, g, N(g), h, N(h), got,
                           sizeof(got), why, sizeof(why)),
                     HY_ERROR);
    assert_non_null(strstr(why, "TIMESTAMP"));
}

static void test_merge_distinct_agg(void **state)
{
    (void)state;
    char got[1024], why[300];
    const struct col w[] = {{"w", MYSQL_TYPE_LONG, 63, 0, 0}};
    const char *a[] = {"1", "2", "2", "5"};
    const char *b[] = {"2", "3", "5"};
    assert_int_equal(merge("SELECT DISTINCT w FROM t ORDER BY w", w, 1, a, N(a), b, N(b), got,
                           sizeof(got), why, sizeof(why)),
                     HY_OK);
    assert_string_equal(got, "1;2;3;5");
    assert_int_equal(merge("SELECT DISTINCT w FROM t ORDER BY w LIMIT 1, 2", w, 1, a, N(a), b, N(b),
                           got, sizeof(got), why, sizeof(why)),
                     HY_OK);
    assert_string_equal(got, "2;3");
    /* DISTINCT must sort on every column */
    const char *c[] = {"1|1"};
    assert_int_equal(merge("SELECT DISTINCT id, w FROM t ORDER BY id", INT_W, 2, c, 1, c, 1, got,
                           sizeof(got), why, sizeof(why)),
                     HY_ERROR);
    assert_non_null(strstr(why, "DISTINCT needs every selected column"));

    /* COUNT sums, SUM adds exactly (NULL when every group's is), MIN/MAX */
    const struct col agg[] = {{"COUNT(*)", MYSQL_TYPE_LONGLONG, 63, 0, 0},
                              {"SUM(w)", MYSQL_TYPE_NEWDECIMAL, 63, 0, 2},
                              {"SUM(v)", MYSQL_TYPE_NEWDECIMAL, 63, 0, 0},
                              {"MIN(w)", MYSQL_TYPE_NEWDECIMAL, 63, 0, 2},
                              {"MAX(w)", MYSQL_TYPE_NEWDECIMAL, 63, 0, 2}};
    const char *ga[] = {"3|10.50|\\N|-1.25|7.00"};
    const char *gb[] = {"4|-0.75|\\N|0.50|12.00"};
    assert_int_equal(merge("SELECT COUNT(*), SUM(w), SUM(v), MIN(w), MAX(w) FROM t", agg, 5, ga, 1,
                           gb, 1, got, sizeof(got), why, sizeof(why)),
                     HY_OK);
    assert_string_equal(got, "7|9.75|\\N|-1.25|12.00");
    /* a group with no rows: COUNT 0, SUM/MIN/MAX NULL */
    const char *gc[] = {"0|\\N|\\N|\\N|\\N"};
    assert_int_equal(merge("SELECT COUNT(*), SUM(w), SUM(v), MIN(w), MAX(w) FROM t", agg, 5, ga, 1,
                           gc, 1, got, sizeof(got), why, sizeof(why)),
                     HY_OK);
    assert_string_equal(got, "3|10.50|\\N|-1.25|7.00");
    /* SUM of a DOUBLE: refused */
    const struct col dbl[] = {{"SUM(f)", MYSQL_TYPE_DOUBLE, 63, 0, 31}};
    const char *da[] = {"1.5"};
    assert_int_equal(
        merge("SELECT SUM(f) FROM t", dbl, 1, da, 1, da, 1, got, sizeof(got), why, sizeof(why)),
        HY_ERROR);
    assert_non_null(strstr(why, "FLOAT or DOUBLE"));
}

static void test_merge_databases(void **state)
{
    (void)state;
    char got[1024], why[300];
    const struct col db[] = {{"Database", MYSQL_TYPE_VAR_STRING, 33, 0, 0}};
    /* as the server lists them: by bytes, information_schema among the
     * others ('Z' < '_' < 'a' < 'f' < 'i') */
    const char *a[] = {"_x",     "fo", "information_schema", "mysql", "performance_schema", "sa",
                       "shared", "sys"};
    const char *b[] = {"Zed", "information_schema", "mysql", "performance_schema", "sb", "shared",
                       "sys"};
    assert_int_equal(
        merge("SHOW DATABASES", db, 1, a, N(a), b, N(b), got, sizeof(got), why, sizeof(why)),
        HY_OK);
    assert_string_equal(got,
                        "Zed;_x;fo;information_schema;mysql;performance_schema;sa;sb;shared;sys");
}

static void test_part_errors(void **state)
{
    (void)state;
    struct scatter_part pt;
    char why[200];
    size_t budget = 1 << 20;
    memset(&pt, 0, sizeof(pt));
    uint8_t err[] = {0xff, 0x7a, 0x04, '#', '4', '2', 'S', '0', '2', 'n', 'o'};
    assert_int_equal(scatter_part_feed(&pt, err, sizeof(err), &budget, why, sizeof(why)), HY_OK);
    assert_int_equal(pt.kind, SCATTER_PART_ERR);
    assert_int_equal(pt.err.len, sizeof(err));
    scatter_part_free(&pt);
    /* past the budget */
    budget = 100;
    uint8_t one = 1;
    assert_int_equal(scatter_part_feed(&pt, &one, 1, &budget, why, sizeof(why)), HY_AGAIN);
    uint8_t b[256];
    struct col c = {"a_rather_long_column_name_to_fill_the_budget_up", MYSQL_TYPE_LONG, 63, 0, 0};
    size_t n = coldef(b, &c);
    assert_int_equal(scatter_part_feed(&pt, b, n, &budget, why, sizeof(why)), HY_ERROR);
    assert_non_null(strstr(why, "larger than the scatter buffer"));
    scatter_part_free(&pt);
    /* several results */
    memset(&pt, 0, sizeof(pt));
    budget = 1 << 20;
    uint8_t ok[] = {0x00, 0, 0, 0x0a, 0, 0, 0};
    assert_int_equal(scatter_part_feed(&pt, ok, sizeof(ok), &budget, why, sizeof(why)), HY_ERROR);
    assert_non_null(strstr(why, "several results"));
    scatter_part_free(&pt);
}

/* Inside a transaction across groups (locks_ok) a locking read is planned:
 * its ORDER BY and LIMIT end where the locking clause begins, which each
 * group's text keeps after its LIMIT. */
static void test_plan_locking(void **state)
{
    (void)state;
    struct scatter_plan p;
    const char *q = "SELECT id, w FROM t ORDER BY w DESC, id LIMIT 2, 3 FOR UPDATE";
    assert_int_equal(scatter_plan_make_in(q, strlen(q), 0, false, true, &p), HY_OK);
    assert_int_equal(p.shape, SCATTER_SORTED);
    assert_true(p.locking);
    assert_int_equal(p.n_keys, 2);
    assert_string_equal(p.keys[0].name, "w");
    assert_true(p.keys[0].desc);
    assert_string_equal(p.keys[1].name, "id");
    assert_int_equal(p.limit, 3);
    assert_int_equal(p.offset, 2);
    assert_string_equal(p.text, "SELECT id, w FROM t ORDER BY w DESC, id LIMIT 5 FOR UPDATE");
    scatter_plan_free(&p);
    q = "SELECT COUNT(*) FROM t WHERE w > 1 LOCK IN SHARE MODE";
    assert_int_equal(scatter_plan_make_in(q, strlen(q), 0, false, true, &p), HY_OK);
    assert_int_equal(p.shape, SCATTER_AGG);
    assert_true(p.locking);
    scatter_plan_free(&p);
    q = "SELECT id FROM t ORDER BY id FOR SHARE";
    assert_int_equal(scatter_plan_make_in(q, strlen(q), 0, false, true, &p), HY_OK);
    assert_int_equal(p.shape, SCATTER_SORTED);
    assert_string_equal(p.keys[0].name, "id");
    scatter_plan_free(&p);
    /* outside one: refused as before */
    assert_int_equal(scatter_plan_make_in(q, strlen(q), 0, false, false, &p), HY_OK);
    assert_int_equal(p.shape, SCATTER_REFUSE);
    assert_non_null(strstr(p.why, "locking read"));
    scatter_plan_free(&p);
}

/* An answer in the CLIENT_DEPRECATE_EOF framing (a session's own
 * connection): no EOF after the definitions, an OK 0xfe at the end. */
static void test_part_deprecate_eof(void **state)
{
    (void)state;
    struct scatter_part pt;
    char why[200];
    size_t budget = 1 << 20;
    memset(&pt, 0, sizeof(pt));
    pt.deprecate_eof = true;
    uint8_t count = 1;
    assert_int_equal(scatter_part_feed(&pt, &count, 1, &budget, why, sizeof(why)), HY_AGAIN);
    uint8_t b[256];
    struct col c = {"id", MYSQL_TYPE_LONG, 63, 0, 0};
    size_t n = coldef(b, &c);
    assert_int_equal(scatter_part_feed(&pt, b, n, &budget, why, sizeof(why)), HY_AGAIN);
    uint8_t row[] = {0x01, '7'};
    assert_int_equal(scatter_part_feed(&pt, row, sizeof(row), &budget, why, sizeof(why)), HY_AGAIN);
    /* OK 0xfe: no affected rows, no insert id, status IN_TRANS|AUTOCOMMIT, 1 warning */
    uint8_t end[] = {0xfe, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00};
    assert_int_equal(scatter_part_feed(&pt, end, sizeof(end), &budget, why, sizeof(why)), HY_OK);
    assert_int_equal(pt.kind, SCATTER_PART_ROWS);
    assert_int_equal(pt.n_cols, 1);
    assert_int_equal(pt.n_rows, 1);
    assert_int_equal(pt.status, 3);
    assert_int_equal(pt.warnings, 1);
    scatter_part_free(&pt);
}

static void test_report(void **state)
{
    (void)state;
    struct scatter_part parts[3];
    char why[600];
    size_t budget = 1 << 20;
    memset(parts, 0, sizeof(parts));
    uint8_t ok3[] = {0x00, 3, 0, 0x02, 0, 1, 0};
    uint8_t ok2[] = {0x00, 2, 0, 0x02, 0, 0, 0};
    assert_int_equal(scatter_part_feed(&parts[0], ok3, sizeof(ok3), &budget, why, sizeof(why)),
                     HY_OK);
    assert_int_equal(scatter_part_feed(&parts[1], ok2, sizeof(ok2), &budget, why, sizeof(why)),
                     HY_OK);
    const char *names[] = {"a", "b", "c"};
    struct scatter_out out = {0};
    struct mysql_ok ok;
    assert_int_equal(scatter_report(parts, names, NULL, 2, false, 2, 0, &out, why, sizeof(why)),
                     HY_OK);
    /* copies of the same rows: the first group's count */
    assert_int_equal(
        mysql_ok_decode(scatter_out_bytes(&out) + MYSQL_HEADER_SIZE, 7, CLIENT_PROTOCOL_41, &ok),
        HY_OK);
    assert_int_equal(ok.affected_rows, 3);
    scatter_out_free(&out);
    assert_int_equal(scatter_report(parts, names, NULL, 2, true, 2, 0, &out, why, sizeof(why)),
                     HY_OK);
    /* one OK: 5 rows, 1 warning */
    assert_int_equal(out.buf.len, MYSQL_HEADER_SIZE + 7);
    assert_int_equal(mysql_hdr_seq(scatter_out_bytes(&out)), 1);
    assert_int_equal(
        mysql_ok_decode(scatter_out_bytes(&out) + MYSQL_HEADER_SIZE, 7, CLIENT_PROTOCOL_41, &ok),
        HY_OK);
    assert_int_equal(ok.affected_rows, 5);
    assert_int_equal(ok.warnings, 1);
    assert_int_equal(ok.status, 2);
    scatter_out_free(&out);
    /* one group's error, one's failure in halyard */
    uint8_t err[64];
    size_t n = mysql_err_encode(err, sizeof(err), 1050, "42S01", "Table 't' already exists", 24);
    scatter_part_free(&parts[1]);
    assert_int_equal(scatter_part_feed(&parts[1], err, n, &budget, why, sizeof(why)), HY_OK);
    const char *fail[] = {NULL, NULL, "no usable primary"};
    assert_int_equal(scatter_report(parts, names, fail, 3, true, 2, 0, &out, why, sizeof(why)),
                     HY_ERROR);
    assert_string_equal(why, "halyard: the statement ran on every group: a: OK, 3 rows; b: ERROR "
                             "1050 (42S01): Table 't' already exists; c: no usable primary");
    scatter_out_free(&out);
    for (size_t i = 0; i < 3; i++)
        scatter_part_free(&parts[i]);
}

/* LAST_INSERT_ID() after a write on several groups (scatter_insert_id) */
static void test_insert_id(void **state)
{
    (void)state;
    uint64_t lid, ok_id;
    /* a split: rows 0, 2 on the first group, 1 on the second; both generated */
    struct scatter_lid v[] = {{.generated = 11, .ok_id = 11, .first = 0, .last = 2},
                              {.generated = 40, .ok_id = 40, .first = 1, .last = 1}};
    assert_int_equal(scatter_insert_id(v, 2, false, 0, &lid, &ok_id), SCATTER_LID_SET);
    assert_int_equal(lid, 11);
    assert_int_equal(ok_id, 11);
    /* the text says the first generating row is the second group's */
    assert_int_equal(scatter_insert_id(v, 2, false, 1, &lid, &ok_id), SCATTER_LID_SET);
    assert_int_equal(lid, 40);
    /* not known from the text: which came first is not known */
    assert_int_equal(scatter_insert_id(v, 2, false, -1, &lid, &ok_id), SCATTER_LID_UNKNOWN);
    assert_int_equal(ok_id, 0);
    /* ... unless one group alone generated */
    v[1].generated = 0;
    v[1].ok_id = 500;
    assert_int_equal(scatter_insert_id(v, 2, false, -1, &lid, &ok_id), SCATTER_LID_SET);
    /* a group that generated none cannot hold the first generated id */
    assert_int_equal(scatter_insert_id(v, 2, false, 1, &lid, &ok_id), SCATTER_LID_SET);
    assert_int_equal(lid, 11);
    assert_int_equal(ok_id, 11);
    /* none generated: kept; the OK has the statement's last row's value */
    v[0].generated = 0;
    v[1].generated = 0;
    v[0].ok_id = 300;
    assert_int_equal(scatter_insert_id(v, 2, false, -1, &lid, &ok_id), SCATTER_LID_KEEP);
    assert_int_equal(ok_id, 300); /* row 2, on the first group */
    v[1].last = 3;
    assert_int_equal(scatter_insert_id(v, 2, false, -1, &lid, &ok_id), SCATTER_LID_KEEP);
    assert_int_equal(ok_id, 500);
    /* copies: the same ids on every group, or not known */
    struct scatter_lid c[] = {{.generated = 7, .ok_id = 7}, {.generated = 7, .ok_id = 7}};
    assert_int_equal(scatter_insert_id(c, 2, true, -1, &lid, &ok_id), SCATTER_LID_SET);
    assert_int_equal(lid, 7);
    c[1].generated = 9;
    assert_int_equal(scatter_insert_id(c, 2, true, -1, &lid, &ok_id), SCATTER_LID_UNKNOWN);
    c[0].generated = c[1].generated = 0;
    assert_int_equal(scatter_insert_id(c, 2, true, -1, &lid, &ok_id), SCATTER_LID_KEEP);
    assert_int_equal(ok_id, 7);
    assert_int_equal(scatter_insert_id(c, 0, true, -1, &lid, &ok_id), SCATTER_LID_KEEP);
    assert_int_equal(ok_id, 0);
    assert_string_equal(scatter_lid_verdict_to_str(SCATTER_LID_UNKNOWN), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plans),
        cmocka_unit_test(test_plan_details),
        cmocka_unit_test(test_decimals),
        cmocka_unit_test(test_merge_concat_sorted),
        cmocka_unit_test(test_merge_types),
        cmocka_unit_test(test_merge_distinct_agg),
        cmocka_unit_test(test_merge_databases),
        cmocka_unit_test(test_part_errors),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_plan_joined),
        cmocka_unit_test(test_insert_id),
        cmocka_unit_test(test_plan_locking),
        cmocka_unit_test(test_part_deprecate_eof),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
