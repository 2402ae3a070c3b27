/*
 * diag_local.c: the diagnostics of a statement halyard ran on every group,
 * and the answers to the statements that read them (diag_local.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/core/grow.h"
#include "halyard/core/text.h"
#include "halyard/route/diag_local.h"
#include "halyard/sql/lexer.h"
#include "halyard/protocol/mysql_proto.h"

/* ---- the statement ------------------------------------------------------- */

#define DIAG_MAX_TOKENS 12

static bool word_is(const char *sql, const struct token *t, const char *w)
{
    return t->type == T_WORD && ci_equal((const unsigned char *)sql + t->off, t->len, w);
}

/* A LIMIT count or offset: decimal digits only, as the server takes them
 * here (no placeholders, no expressions). */
static bool number(const char *sql, const struct token *t, uint64_t *out)
{
    return t->type == T_NUMBER && t->len <= 19 &&
           hy_parse_u64(sql + t->off, t->len, UINT64_MAX, out);
}

/* SHOW [COUNT(*)] WARNINGS|ERRORS [LIMIT ...], tokens v[0..n) */
static void parse_show(const char *sql, const struct token *v, size_t n, struct diag_query *q)
{
    size_t i = 1;
    bool count = false;
    if (i + 3 < n && v[i].type == T_WORD && v[i].kw == KW_COUNT && v[i + 1].type == T_LPAREN &&
        v[i + 2].type == T_OP && v[i + 2].len == 1 && sql[v[i + 2].off] == '*' &&
        v[i + 3].type == T_RPAREN) {
        count = true;
        i += 4;
    }
    if (i >= n || (v[i].kw != KW_WARNINGS && v[i].kw != KW_ERRORS) || v[i].type != T_WORD)
        return;
    bool errors = v[i].kw == KW_ERRORS;
    i++;
    if (count) {
        if (i != n)
            return;
        q->form = DIAG_COUNT;
        q->errors = errors;
        q->name = errors ? "@@session.error_count" : "@@session.warning_count";
        q->name_len = strlen(q->name);
        return;
    }
    if (i < n) {
        uint64_t a, b;
        if (!word_is(sql, &v[i], "LIMIT") || i + 1 >= n || !number(sql, &v[i + 1], &a))
            return;
        i += 2;
        q->has_limit = true;
        q->limit = a;
        if (i + 1 < n && v[i].type == T_COMMA && number(sql, &v[i + 1], &b)) {
            q->offset = a;
            q->limit = b;
            i += 2;
        } else if (i + 1 < n && word_is(sql, &v[i], "OFFSET") && number(sql, &v[i + 1], &b)) {
            q->offset = b;
            i += 2;
        }
        if (i != n)
            return;
    }
    q->form = errors ? DIAG_ERRORS : DIAG_WARNINGS;
    q->errors = errors;
}

/* SELECT @@[session.|local.]warning_count|error_count [[AS] alias] */
static void parse_select(const char *sql, const struct token *v, size_t n, struct diag_query *q)
{
    if (n < 2 || v[1].type != T_SVAR || v[1].scope == VS_GLOBAL)
        return;
    const unsigned char *name = (const unsigned char *)sql + v[1].in_off;
    bool errors;
    if (ci_equal(name, v[1].in_len, "warning_count"))
        errors = false;
    else if (ci_equal(name, v[1].in_len, "error_count"))
        errors = true;
    else
        return;
    size_t i = 2;
    const char *col = sql + v[1].off;
    size_t col_len = v[1].len;
    if (i < n && v[i].type == T_WORD && v[i].kw == KW_AS)
        i++;
    if (i < n) {
        const struct token *a = &v[i];
        bool plain = a->type == T_WORD && a->kw == KW_NONE;
        if (!plain && a->type != T_QIDENT && a->type != T_STRING)
            return;
        /* a quote doubled or escaped inside: the name is not the bytes */
        for (size_t k = 0; !plain && k < a->in_len; k++) {
            char c = sql[a->in_off + k];
            if (c == '\\' || c == sql[a->off] || c == '`' || c == '\'' || c == '"')
                return;
        }
        col = sql + (plain ? a->off : a->in_off);
        col_len = plain ? a->len : a->in_len;
        i++;
    } else if (i > 2) {
        return; /* AS without a name */
    }
    if (i != n)
        return;
    q->form = DIAG_COUNT;
    q->errors = errors;
    q->name = col;
    q->name_len = col_len;
}

void diag_query_parse(const char *sql, size_t len, unsigned lex_opts, struct diag_query *q)
{
    memset(q, 0, sizeof(*q));
    struct token v[DIAG_MAX_TOKENS];
    size_t n = 0;
    struct lexer lx;
    kw_ready();
    lex_init(&lx, sql, len, lex_opts, NULL);
    for (;;) {
        struct token t;
        lex_next(&lx, &t);
        if (t.type == T_END)
            break;
        if (n == DIAG_MAX_TOKENS || lx.unterminated)
            return;
        v[n++] = t;
    }
    while (n > 0 && v[n - 1].type == T_SEMI)
        n--;
    for (size_t i = 0; i < n; i++) {
        if (v[i].type == T_SEMI)
            return; /* several statements */
    }
    if (n == 0 || v[0].type != T_WORD)
        return;
    if (v[0].kw == KW_SHOW)
        parse_show(sql, v, n, q);
    else if (v[0].kw == KW_SELECT)
        parse_select(sql, v, n, q);
}

/* ---- the conditions ------------------------------------------------------ */

static hy_status_t cell_copy(struct scatter_cell *to, const struct scatter_cell *from)
{
    to->p = malloc(from->len > 0 ? from->len : 1);
    if (to->p == NULL)
        return HY_NOMEM;
    memcpy(to->p, from->p, from->len);
    to->len = from->len;
    return HY_OK;
}

static hy_status_t row_push(struct diag_local *d, struct scatter_cell *row)
{
    struct scatter_part *l = &d->list;
    if (l->n_rows == l->rows_cap && !HY_GROW(l->rows, l->rows_cap, 8))
        return HY_NOMEM;
    l->rows[l->n_rows++] = *row;
    return HY_OK;
}

static hy_status_t take_defs(struct diag_local *d, const struct scatter_part *sw)
{
    struct scatter_part *l = &d->list;
    if (l->n_cols != 0)
        return HY_OK;
    l->cols = calloc(sw->n_cols, sizeof(*l->cols));
    if (l->cols == NULL)
        return HY_NOMEM;
    for (size_t c = 0; c < sw->n_cols; c++) {
        if (cell_copy(&l->cols[c], &sw->cols[c]) != HY_OK)
            return HY_NOMEM;
        l->n_cols = c + 1;
    }
    l->kind = SCATTER_PART_ROWS;
    l->ext_meta = sw->ext_meta;
    return HY_OK;
}

hy_status_t diag_local_add(struct diag_local *d, const struct scatter_part *sw, uint64_t warnings,
                           uint64_t errors, uint64_t max)
{
    if (sw->kind != SCATTER_PART_ROWS || sw->n_cols != 3)
        return HY_ERROR;
    if (d->list.n_cols == 0)
        d->max = max;
    hy_status_t rc = take_defs(d, sw);
    for (size_t r = 0; rc == HY_OK && r < sw->n_rows && d->list.n_rows < d->max; r++) {
        struct scatter_cell row;
        rc = cell_copy(&row, &sw->rows[r]);
        if (rc == HY_OK && (rc = row_push(d, &row)) != HY_OK)
            free(row.p);
    }
    d->warnings += warnings;
    d->errors += errors;
    return rc;
}

hy_status_t diag_local_own_error(struct diag_local *d, uint16_t code, const char *msg)
{
    if (d->list.n_cols == 0) {
        snprintf(d->unknown, sizeof(d->unknown),
                 "it failed in halyard before any group could be asked for its conditions "
                 "(error %u)",
                 (unsigned)code);
        return HY_ERROR;
    }
    d->unknown[0] = '\0';
    for (size_t r = 0; r < d->list.n_rows; r++)
        free(d->list.rows[r].p);
    d->list.n_rows = 0;
    size_t mlen = strlen(msg);
    char num[8];
    int k = snprintf(num, sizeof(num), "%u", (unsigned)code);
    struct scatter_cell row = {.p = malloc(mlen + 32), .len = 0};
    if (row.p == NULL)
        return HY_NOMEM;
    struct mysql_wr wr;
    mysql_wr_init(&wr, row.p, mlen + 32);
    mysql_wr_lenenc_str(&wr, "Error", 5);
    mysql_wr_lenenc_str(&wr, num, (size_t)k);
    mysql_wr_lenenc_str(&wr, msg, mlen);
    row.len = mysql_wr_len(&wr);
    if (row_push(d, &row) != HY_OK) {
        free(row.p);
        return HY_NOMEM;
    }
    d->warnings = 1;
    d->errors = 1;
    return HY_OK;
}

/* The row's Level is "Error". */
static bool is_error(const struct scatter_cell *row)
{
    struct mysql_rd rd;
    mysql_rd_init(&rd, row->p, row->len);
    size_t n = 0;
    const uint8_t *level = mysql_rd_lenenc_str(&rd, &n);
    return !rd.bad && n == 5 && memcmp(level, "Error", 5) == 0;
}

/* The definition of a count's column: as the server sends it for
 * SELECT @@warning_count (BIGINT UNSIGNED, binary, 21 wide). */
static bool count_def(struct scatter_out *o, const struct diag_query *q, bool ext_meta)
{
    size_t cap = q->name_len + 64;
    uint8_t *b = malloc(cap);
    if (b == NULL)
        return false;
    struct mysql_wr wr;
    mysql_wr_init(&wr, b, cap);
    mysql_wr_lenenc_str(&wr, "def", 3);
    mysql_wr_lenenc_str(&wr, "", 0); /* schema */
    mysql_wr_lenenc_str(&wr, "", 0); /* table */
    mysql_wr_lenenc_str(&wr, "", 0); /* org_table */
    mysql_wr_lenenc_str(&wr, q->name, q->name_len);
    mysql_wr_lenenc_str(&wr, "", 0); /* org_name */
    if (ext_meta)
        mysql_wr_lenenc_str(&wr, "", 0); /* no extended metadata */
    mysql_wr_lenenc(&wr, 0x0c);
    mysql_wr_u16(&wr, MYSQL_CHARSET_BINARY);
    mysql_wr_u32(&wr, 21); /* the widest BIGINT UNSIGNED */
    mysql_wr_u8(&wr, MYSQL_TYPE_LONGLONG);
    mysql_wr_u16(&wr, 0xa0); /* UNSIGNED | BINARY */
    mysql_wr_u8(&wr, 0);     /* decimals */
    mysql_wr_zero(&wr, 2);
    bool ok = scatter_out_packet(o, b, mysql_wr_len(&wr));
    free(b);
    return ok;
}

hy_status_t diag_local_answer(const struct diag_local *d, const struct diag_query *q, uint32_t caps,
                              bool ext_meta, uint16_t status, struct scatter_out *out)
{
    memset(out, 0, sizeof(*out));
    out->seq = 1;
    if (q->form == DIAG_COUNT) {
        char num[24];
        int k = snprintf(num, sizeof(num), "%llu",
                         (unsigned long long)(q->errors ? d->errors : d->warnings));
        uint8_t one[1] = {1}, row[32];
        uint8_t eof[5] = {0xfe, 0, 0, (uint8_t)status, (uint8_t)(status >> 8)};
        struct mysql_wr wr;
        mysql_wr_init(&wr, row, sizeof(row));
        mysql_wr_lenenc_str(&wr, num, (size_t)k);
        bool ok = scatter_out_packet(out, one, 1) && count_def(out, q, ext_meta) &&
                  ((caps & CLIENT_DEPRECATE_EOF) || scatter_out_packet(out, eof, sizeof(eof))) &&
                  scatter_out_packet(out, row, mysql_wr_len(&wr)) &&
                  scatter_out_end(out, caps, status, 0);
        return ok ? HY_OK : HY_NOMEM;
    }
    if (q->form != DIAG_WARNINGS && q->form != DIAG_ERRORS)
        return HY_ERROR;
    if (d->list.n_cols == 0)
        return HY_ERROR;
    if (!scatter_out_head(out, &d->list, caps, status))
        return HY_NOMEM;
    uint64_t seen = 0, sent = 0;
    for (size_t r = 0; r < d->list.n_rows; r++) {
        const struct scatter_cell *row = &d->list.rows[r];
        if (q->form == DIAG_ERRORS && !is_error(row))
            continue;
        if (q->has_limit && (seen++ < q->offset || sent >= q->limit))
            continue;
        sent++;
        if (!scatter_out_packet(out, row->p, row->len))
            return HY_NOMEM;
    }
    return scatter_out_end(out, caps, status, 0) ? HY_OK : HY_NOMEM;
}

void diag_local_free(struct diag_local *d)
{
    scatter_part_free(&d->list);
    memset(d, 0, sizeof(*d));
}
