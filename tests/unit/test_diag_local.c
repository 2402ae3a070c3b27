/*
 * test_diag_local.c: the diagnostics halyard holds after a statement on
 * every group (diag_local.h): which statements are answered and how
 * (table-driven), and the answers built from the groups' SHOW WARNINGS,
 * packet by packet.
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
#include "halyard/route/diag_local.h"
#include "halyard/protocol/mysql_proto.h"
#include "packets.h"

static const struct {
    const char *sql;
    enum diag_form form;
    bool errors;
    const char *name;  /* DIAG_COUNT: the column's name */
    int limit, offset; /* -1: no LIMIT */
} FORMS[] = {
    {"SHOW WARNINGS", DIAG_WARNINGS, false, NULL, -1, 0},
    {"show warnings;", DIAG_WARNINGS, false, NULL, -1, 0},
    {"SHOW WARNINGS LIMIT 3", DIAG_WARNINGS, false, NULL, 3, 0},
    {"SHOW WARNINGS LIMIT 2, 5", DIAG_WARNINGS, false, NULL, 5, 2},
    {"SHOW WARNINGS LIMIT 5 OFFSET 2", DIAG_WARNINGS, false, NULL, 5, 2},
    {"SHOW ERRORS /* c */ LIMIT 1", DIAG_ERRORS, true, NULL, 1, 0},
    {"SHOW COUNT(*) WARNINGS", DIAG_COUNT, false, "@@session.warning_count", -1, 0},
    {"SHOW COUNT( * ) ERRORS", DIAG_COUNT, true, "@@session.error_count", -1, 0},
    {"SELECT @@warning_count", DIAG_COUNT, false, "@@warning_count", -1, 0},
    {"select @@SESSION.Warning_Count", DIAG_COUNT, false, "@@SESSION.Warning_Count", -1, 0},
    {"SELECT @@local.error_count AS e", DIAG_COUNT, true, "e", -1, 0},
    {"SELECT @@warning_count `w x`", DIAG_COUNT, false, "w x", -1, 0},
    {"SELECT @@error_count 'n';", DIAG_COUNT, true, "n", -1, 0},
    /* refused: not one of the forms, or not exactly */
    {"SELECT @@global.warning_count", DIAG_OTHER, false, NULL, -1, 0},
    {"SELECT @@warning_count + 1", DIAG_OTHER, false, NULL, -1, 0},
    {"SELECT @@warning_count, @@error_count", DIAG_OTHER, false, NULL, -1, 0},
    {"SELECT @@warning_count AS `a``b`", DIAG_OTHER, false, NULL, -1, 0},
    {"SELECT @@warning_count AS", DIAG_OTHER, false, NULL, -1, 0},
    {"GET DIAGNOSTICS @n = NUMBER", DIAG_OTHER, false, NULL, -1, 0},
    {"SHOW WARNINGS LIMIT ?", DIAG_OTHER, false, NULL, -1, 0},
    {"SHOW WARNINGS LIMIT 1, 2, 3", DIAG_OTHER, false, NULL, -1, 0},
    {"SHOW COUNT(*) WARNINGS LIMIT 1", DIAG_OTHER, false, NULL, -1, 0},
    {"SHOW WARNINGS; SELECT 1", DIAG_OTHER, false, NULL, -1, 0},
    {"SHOW VARIABLES", DIAG_OTHER, false, NULL, -1, 0},
    {"", DIAG_OTHER, false, NULL, -1, 0},
};

static void test_forms(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(FORMS) / sizeof(FORMS[0]); i++) {
        struct diag_query q;
        diag_query_parse(FORMS[i].sql, strlen(FORMS[i].sql), 0, &q);
        if (q.form != FORMS[i].form)
            fail_msg("%s: form %d, expected %d", FORMS[i].sql, q.form, FORMS[i].form);
        if (q.form == DIAG_OTHER)
            continue;
        if (q.form != DIAG_WARNINGS && q.errors != FORMS[i].errors)
            fail_msg("%s: errors %d", FORMS[i].sql, q.errors);
        if (FORMS[i].name != NULL &&
            (q.name_len != strlen(FORMS[i].name) || memcmp(q.name, FORMS[i].name, q.name_len)))
            fail_msg("%s: name %.*s", FORMS[i].sql, (int)q.name_len, q.name);
        assert_int_equal(q.has_limit, FORMS[i].limit >= 0);
        if (q.has_limit) {
            assert_int_equal(q.limit, FORMS[i].limit);
            assert_int_equal(q.offset, FORMS[i].offset);
        }
    }
}

/* ---- answers ------------------------------------------------------------- */

static struct scatter_cell cell(const uint8_t *p, size_t n)
{
    struct scatter_cell c = {.p = malloc(n), .len = n};
    memcpy(c.p, p, n);
    return c;
}

static struct scatter_cell text_cell(int n, const char **v)
{
    uint8_t b[512];
    struct mysql_wr wr;
    mysql_wr_init(&wr, b, sizeof(b));
    for (int i = 0; i < n; i++)
        mysql_wr_lenenc_str(&wr, v[i], strlen(v[i]));
    return cell(b, mysql_wr_len(&wr));
}

static struct scatter_cell coldef(const char *name)
{
    uint8_t b[128];
    struct pk_col c = {.name = name, .charset = 45, .length = 28, .type = MYSQL_TYPE_VAR_STRING};
    return cell(b, pk_coldef(b, sizeof(b), &c));
}

/* A group's SHOW WARNINGS answer with rows "level,code,message" */
static void group_list(struct scatter_part *pt, int n, const char *rows[][3])
{
    memset(pt, 0, sizeof(*pt));
    pt->kind = SCATTER_PART_ROWS;
    pt->n_cols = 3;
    pt->cols = calloc(3, sizeof(*pt->cols));
    pt->cols[0] = coldef("Level");
    pt->cols[1] = coldef("Code");
    pt->cols[2] = coldef("Message");
    pt->n_rows = pt->rows_cap = (size_t)n;
    pt->rows = calloc((size_t)n + 1, sizeof(*pt->rows));
    for (int i = 0; i < n; i++)
        pt->rows[i] = text_cell(3, rows[i]);
}

/* The packets of an answer: their payloads' first byte and, for rows,
 * the first cell (Level or a count). */
static size_t rows_of(const struct scatter_out *o, bool deprecate_eof, char out[][64], size_t max)
{
    size_t at = 0, n = 0, pk = 0;
    size_t defs = 0;
    bool in_rows = false;
    while (at + 4 <= o->buf.len) {
        size_t len = scatter_out_bytes(o)[at] | scatter_out_bytes(o)[at + 1] << 8 |
                     scatter_out_bytes(o)[at + 2] << 16;
        const uint8_t *pl = scatter_out_bytes(o) + at + 4;
        assert_int_equal(scatter_out_bytes(o)[at + 3], (uint8_t)(pk + 1)); /* sequence ids from 1 */
        if (pk == 0) {
            defs = pl[0];
        } else if (pk <= defs) {
            if (pk == defs && deprecate_eof)
                in_rows = true;
        } else if (!in_rows) {
            assert_int_equal(pl[0], 0xfe); /* the definitions' EOF */
            in_rows = true;
        } else if (pl[0] != 0xfe || len >= 9) {
            struct mysql_rd rd;
            mysql_rd_init(&rd, pl, len);
            size_t cn = 0;
            const uint8_t *c0 = mysql_rd_lenenc_str(&rd, &cn);
            assert_false(rd.bad);
            if (n < max)
                snprintf(out[n], 64, "%.*s", (int)cn, (const char *)c0);
            n++;
        }
        at += 4 + len;
        pk++;
    }
    assert_int_equal(at, o->buf.len);
    return n;
}

static void answer(const struct diag_local *d, const char *sql, uint32_t caps, char out[][64],
                   size_t *n)
{
    struct diag_query q;
    diag_query_parse(sql, strlen(sql), 0, &q);
    struct scatter_out o;
    assert_int_equal(diag_local_answer(d, &q, caps, false, 2, &o), HY_OK);
    *n = rows_of(&o, (caps & CLIENT_DEPRECATE_EOF) != 0, out, 16);
    scatter_out_free(&o);
}

static void test_answers(void **state)
{
    (void)state;
    const char *a[][3] = {{"Warning", "1365", "Division by 0"}, {"Note", "1051", "x"}};
    const char *b[][3] = {{"Error", "1054", "Unknown column"}, {"Warning", "1292", "y"}};
    struct scatter_part pa, pb, none;
    group_list(&pa, 2, a);
    group_list(&pb, 2, b);
    group_list(&none, 0, a);
    struct diag_local d;
    memset(&d, 0, sizeof(d));
    assert_int_equal(diag_local_add(&d, &pa, 2, 0, 64), HY_OK);
    assert_int_equal(diag_local_add(&d, &pb, 5, 1, 64), HY_OK);
    char rows[16][64];
    size_t n;
    for (int framing = 0; framing < 2; framing++) {
        uint32_t caps = CLIENT_PROTOCOL_41 | (framing ? CLIENT_DEPRECATE_EOF : 0);
        answer(&d, "SHOW WARNINGS", caps, rows, &n);
        assert_int_equal(n, 4); /* in group order */
        assert_string_equal(rows[0], "Warning");
        assert_string_equal(rows[1], "Note");
        assert_string_equal(rows[2], "Error");
        assert_string_equal(rows[3], "Warning");
        answer(&d, "SHOW WARNINGS LIMIT 1, 2", caps, rows, &n);
        assert_int_equal(n, 2);
        assert_string_equal(rows[0], "Note");
        assert_string_equal(rows[1], "Error");
        answer(&d, "SHOW ERRORS", caps, rows, &n);
        assert_int_equal(n, 1);
        assert_string_equal(rows[0], "Error");
        answer(&d, "SELECT @@warning_count", caps, rows, &n);
        assert_int_equal(n, 1);
        assert_string_equal(rows[0], "7"); /* the counts summed, not the rows */
        answer(&d, "SHOW COUNT(*) ERRORS", caps, rows, &n);
        assert_string_equal(rows[0], "1");
    }
    /* at most @@max_error_count rows are kept */
    struct diag_local small;
    memset(&small, 0, sizeof(small));
    assert_int_equal(diag_local_add(&small, &pa, 2, 0, 3), HY_OK);
    assert_int_equal(diag_local_add(&small, &pb, 2, 1, 3), HY_OK);
    answer(&small, "SHOW WARNINGS", CLIENT_PROTOCOL_41, rows, &n);
    assert_int_equal(n, 3);
    answer(&small, "SELECT @@warning_count", CLIENT_PROTOCOL_41, rows, &n);
    assert_string_equal(rows[0], "4");
    /* halyard's own error replaces them */
    assert_int_equal(diag_local_own_error(&small, 1105, "halyard: no"), HY_OK);
    answer(&small, "SHOW WARNINGS", CLIENT_PROTOCOL_41, rows, &n);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0], "Error");
    answer(&small, "SELECT @@error_count", CLIENT_PROTOCOL_41, rows, &n);
    assert_string_equal(rows[0], "1");
    /* no definitions: a list cannot be answered, an own error is unknown */
    struct diag_local empty;
    memset(&empty, 0, sizeof(empty));
    struct diag_query q;
    diag_query_parse("SHOW WARNINGS", 13, 0, &q);
    struct scatter_out o;
    assert_int_equal(diag_local_answer(&empty, &q, CLIENT_PROTOCOL_41, false, 2, &o), HY_ERROR);
    scatter_out_free(&o);
    assert_int_equal(diag_local_own_error(&empty, 1105, "x"), HY_ERROR);
    assert_true(empty.unknown[0] != '\0');
    /* an empty list from a group gives the definitions of an empty answer */
    struct diag_local zero;
    memset(&zero, 0, sizeof(zero));
    assert_int_equal(diag_local_add(&zero, &none, 0, 0, 64), HY_OK);
    answer(&zero, "SHOW WARNINGS", CLIENT_PROTOCOL_41, rows, &n);
    assert_int_equal(n, 0);
    /* not a SHOW WARNINGS answer */
    struct scatter_part bad = pa;
    bad.n_cols = 2;
    assert_int_equal(diag_local_add(&zero, &bad, 0, 0, 64), HY_ERROR);
    diag_local_free(&d);
    diag_local_free(&small);
    diag_local_free(&empty);
    diag_local_free(&zero);
    scatter_part_free(&pa);
    scatter_part_free(&pb);
    scatter_part_free(&none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
