/*
 * scatter_plan.c: how halyard merges the groups' answers to one SELECT
 * (scatter_plan.h). Pure: the statement is lexed once (lexer.h) into a
 * token array; the clauses are found at the top level of its parentheses,
 * and anything whose merge halyard cannot make exact is refused with the
 * reason.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/sql/lexer.h"
#include "halyard/route/scatter_plan.h"

struct toks {
    const char *s;
    struct token *v;
    size_t n, cap;
    int *depth; /* paren depth before each token */
};

static bool word_is(const struct toks *t, size_t i, const char *w)
{
    return i < t->n && t->v[i].type == T_WORD &&
           ci_equal((const unsigned char *)t->s + t->v[i].off, t->v[i].len, w);
}

static bool top(const struct toks *t, size_t i)
{
    return i < t->n && t->depth[i] == 0;
}

static hy_status_t lex_all(const char *sql, size_t len, unsigned opts, struct toks *t, bool *bad)
{
    struct lexer lx;
    kw_ready();
    lex_init(&lx, sql, len, opts, NULL);
    int depth = 0;
    *bad = false;
    for (;;) {
        struct token tk;
        lex_next(&lx, &tk);
        if (tk.type == T_END)
            break;
        if (t->n == t->cap) {
            size_t cap = t->cap == 0 ? 64 : t->cap * 2;
            struct token *v = realloc(t->v, cap * sizeof(*v));
            if (v == NULL)
                return HY_NOMEM;
            t->v = v;
            int *d = realloc(t->depth, cap * sizeof(*d));
            if (d == NULL)
                return HY_NOMEM;
            t->depth = d;
            t->cap = cap;
        }
        if (tk.type == T_RPAREN)
            depth--;
        if (depth < 0)
            *bad = true;
        t->depth[t->n] = depth;
        t->v[t->n++] = tk;
        if (tk.type == T_LPAREN)
            depth++;
    }
    if (depth != 0 || lx.unterminated)
        *bad = true;
    return HY_OK;
}

static void refuse(struct scatter_plan *p, const char *fmt, ...) HY_PRINTF(2, 3);

static void refuse(struct scatter_plan *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(p->why, sizeof(p->why), "halyard: cannot merge a read of every group: ");
    vsnprintf(p->why + n, sizeof(p->why) - (size_t)n, fmt, ap);
    va_end(ap);
    p->shape = SCATTER_REFUSE;
}

/* The token's text, at most cap-1 bytes, for a message. */
static const char *tok_text(const struct toks *t, size_t i, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.*s", (int)HY_MIN(t->v[i].len, cap - 1), t->s + t->v[i].off);
    return buf;
}

static const char *const aggregates[] = {
    "AVG",
    "BIT_AND",
    "BIT_OR",
    "BIT_XOR",
    "COUNT",
    "GROUP_CONCAT",
    "JSON_ARRAYAGG",
    "JSON_OBJECTAGG",
    "MAX",
    "MIN",
    "STD",
    "STDDEV",
    "STDDEV_POP",
    "STDDEV_SAMP",
    "SUM",
    "VARIANCE",
    "VAR_POP",
    "VAR_SAMP",
    "PERCENTILE_CONT",
    "PERCENTILE_DISC",
    "MEDIAN",
};

/* Token i is an aggregate function's name (followed by '('). */
static bool is_aggregate(const struct toks *t, size_t i)
{
    if (i + 1 >= t->n || t->v[i].type != T_WORD || t->v[i + 1].type != T_LPAREN)
        return false;
    for (size_t k = 0; k < sizeof(aggregates) / sizeof(aggregates[0]); k++) {
        if (word_is(t, i, aggregates[k]))
            return true;
    }
    return false;
}

/* The index of the ')' matching the '(' at i. */
static size_t close_of(const struct toks *t, size_t i)
{
    int d = t->depth[i];
    for (size_t j = i + 1; j < t->n; j++) {
        if (t->v[j].type == T_RPAREN && t->depth[j] == d)
            return j;
    }
    return t->n;
}

/* A name token: unquoted word that is no keyword, or a quoted name. */
static bool is_name(const struct toks *t, size_t i)
{
    return i < t->n &&
           (t->v[i].type == T_QIDENT || (t->v[i].type == T_WORD && t->v[i].kw == KW_NONE));
}

/* The select item [a, b): its aggregate (*agg, true) or none; false with
 * p refused when it cannot be merged. *is_agg says whether it is one. */
static bool item_read(const struct toks *t, size_t a, size_t b, struct scatter_plan *p, size_t idx,
                      bool *is_agg, bool *is_star)
{
    char buf[64];
    *is_agg = false;
    *is_star = false;
    /* the alias: [AS] name at the end */
    size_t e = b;
    if (e - a >= 2 && is_name(t, e - 1)) {
        if (word_is(t, e - 2, "AS"))
            e -= 2;
        else if (t->v[e - 2].type != T_DOT && t->v[e - 2].type != T_OP &&
                 t->v[e - 2].type != T_EQ && t->v[e - 2].type != T_ASSIGN &&
                 t->v[e - 2].type != T_LPAREN &&
                 !(t->v[e - 2].type == T_WORD && t->v[e - 2].kw != KW_NONE))
            e -= 1;
    }
    if (e == a) {
        refuse(p, "an empty select item");
        return false;
    }
    if (t->v[e - 1].type == T_OP && t->s[t->v[e - 1].off] == '*' && t->v[e - 1].len == 1 &&
        (e - 1 == a || t->v[e - 2].type == T_DOT)) {
        *is_star = true;
        return true;
    }
    if (idx < SCATTER_MAX_ITEMS && e - a >= 3 && word_is(t, e - 2, "COLLATE") &&
        is_name(t, e - 1)) {
        const char *n = t->s + t->v[e - 1].in_off;
        size_t nl = t->v[e - 1].in_len;
        static const char *const bins[] = {"utf8mb4_bin", "utf8mb3_bin", "utf8_bin", "latin1_bin",
                                           "ascii_bin"};
        for (size_t k = 0; k < sizeof(bins) / sizeof(bins[0]); k++) {
            if (ci_equal((const unsigned char *)n, nl, bins[k]))
                p->bin_collate[idx] = true;
        }
    }
    for (size_t i = a; i < e; i++) {
        if (!is_aggregate(t, i))
            continue;
        size_t c = close_of(t, i);
        if (c + 1 < t->n && word_is(t, c + 1, "OVER")) {
            refuse(p, "%s(...) OVER: a window function sees one group's rows only",
                   tok_text(t, i, buf, sizeof(buf)));
            return false;
        }
        enum scatter_agg ag;
        if (word_is(t, i, "COUNT"))
            ag = SCATTER_AGG_COUNT;
        else if (word_is(t, i, "SUM"))
            ag = SCATTER_AGG_SUM;
        else if (word_is(t, i, "MIN"))
            ag = SCATTER_AGG_MIN;
        else if (word_is(t, i, "MAX"))
            ag = SCATTER_AGG_MAX;
        else {
            refuse(p, "%s(): only COUNT, SUM, MIN and MAX combine exactly",
                   tok_text(t, i, buf, sizeof(buf)));
            return false;
        }
        if (word_is(t, i + 2, "DISTINCT") || word_is(t, i + 2, "DISTINCTROW")) {
            refuse(p, "%s(DISTINCT ...): a value may be on several groups",
                   tok_text(t, i, buf, sizeof(buf)));
            return false;
        }
        if (i != a || c != e - 1) {
            refuse(p, "%s() inside an expression: only a bare COUNT, SUM, MIN or MAX combines",
                   tok_text(t, i, buf, sizeof(buf)));
            return false;
        }
        *is_agg = true;
        if (idx < SCATTER_MAX_ITEMS)
            p->agg[idx] = ag;
    }
    return true;
}

/* A decimal integer literal. */
static bool tok_u64(const struct toks *t, size_t i, uint64_t *v)
{
    if (i >= t->n || t->v[i].type != T_NUMBER || t->v[i].len == 0 || t->v[i].len > 20)
        return false;
    uint64_t x = 0;
    for (size_t k = 0; k < t->v[i].len; k++) {
        unsigned char c = (unsigned char)t->s[t->v[i].off + k];
        if (!is_digit(c))
            return false;
        uint64_t nx = x * 10 + (uint64_t)(c - '0');
        if (nx / 10 != x)
            return false;
        x = nx;
    }
    *v = x;
    return true;
}

/* ORDER BY keys in [a, b). */
static bool keys_read(const struct toks *t, size_t a, size_t b, struct scatter_plan *p)
{
    size_t i = a;
    while (i < b) {
        size_t e = i;
        while (e < b && !(t->v[e].type == T_COMMA && t->depth[e] == 0))
            e++;
        if (p->n_keys == SCATTER_MAX_KEYS) {
            refuse(p, "more than %d ORDER BY keys", SCATTER_MAX_KEYS);
            return false;
        }
        struct scatter_key *k = &p->keys[p->n_keys];
        memset(k, 0, sizeof(*k));
        size_t ke = e;
        if (ke > i && (word_is(t, ke - 1, "DESC") || word_is(t, ke - 1, "ASC"))) {
            k->desc = word_is(t, ke - 1, "DESC");
            ke--;
        }
        uint64_t pos;
        if (ke == i + 1 && tok_u64(t, i, &pos) && pos >= 1 && pos <= UINT16_MAX) {
            k->pos = (uint16_t)pos;
        } else if (ke > i && is_name(t, ke - 1) &&
                   (ke == i + 1 || (ke - i == 3 && t->v[i + 1].type == T_DOT && is_name(t, i)) ||
                    (ke - i == 5 && t->v[i + 1].type == T_DOT && t->v[i + 3].type == T_DOT &&
                     is_name(t, i) && is_name(t, i + 2)))) {
            const struct token *n = &t->v[ke - 1];
            if (p->joined && ke > i + 1) {
                refuse(p,
                       "ORDER BY %.*s in a join: a qualified name may not be the selected column "
                       "of that name; order by its position or alias",
                       (int)HY_MIN(n->off + n->len - t->v[i].off, 80), t->s + t->v[i].off);
                return false;
            }
            if (n->in_len > SCATTER_NAME_MAX) {
                refuse(p, "an ORDER BY name longer than %d bytes", SCATTER_NAME_MAX);
                return false;
            }
            memcpy(k->name, t->s + n->in_off, n->in_len);
            k->name[n->in_len] = '\0';
        } else {
            size_t from = t->v[i].off, to = ke > i ? t->v[ke - 1].off + t->v[ke - 1].len : from;
            refuse(p,
                   "ORDER BY %.*s: a sort key must be a selected column (by name, alias or "
                   "position)",
                   (int)HY_MIN(to - from, 80), t->s + from);
            return false;
        }
        p->n_keys++;
        i = e + 1;
    }
    if (p->n_keys == 0) {
        refuse(p, "an empty ORDER BY");
        return false;
    }
    return true;
}

/* LIMIT's tokens [a, b): count [OFFSET off] or off, count. */
static bool limit_read(const struct toks *t, size_t a, size_t b, struct scatter_plan *p)
{
    uint64_t x, y;
    if (b == a + 1 && tok_u64(t, a, &x)) {
        p->limit = x;
        p->offset = 0;
    } else if (b == a + 3 && tok_u64(t, a, &x) && t->v[a + 1].type == T_COMMA &&
               tok_u64(t, a + 2, &y)) {
        p->offset = x;
        p->limit = y;
    } else if (b == a + 3 && tok_u64(t, a, &x) && word_is(t, a + 1, "OFFSET") &&
               tok_u64(t, a + 2, &y)) {
        p->limit = x;
        p->offset = y;
    } else {
        refuse(p, "a LIMIT other than integer literals (count [OFFSET n] or n, count)");
        return false;
    }
    p->has_limit = true;
    return true;
}

/* What no merge can make exact anywhere in the statement (a user
 * variable, a subquery, a window...), and a statement that is not one
 * SELECT. Trailing `;` are dropped from t. */
static bool statement_ok(struct toks *t, struct scatter_plan *p)
{
    char buf[64];
    size_t n = t->n;
    while (n > 0 && t->v[n - 1].type == T_SEMI)
        n--;
    t->n = n;
    if (n == 0) {
        refuse(p, "an empty statement");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (t->v[i].type == T_SEMI) {
            refuse(p, "several statements in one");
            return false;
        }
        if (t->v[i].type == T_UVAR) {
            refuse(p, "a user variable (each group has its own)");
            return false;
        }
        if (t->v[i].type == T_PARAM) {
            refuse(p, "a parameter marker");
            return false;
        }
        if (t->v[i].type == T_WORD && t->v[i].kw == KW_SELECT && i > 0) {
            refuse(p, "a subquery runs on each group over that group's rows only");
            return false;
        }
        if (word_is(t, i, "OVER") && i > 0 && t->v[i - 1].type == T_RPAREN) {
            refuse(p, "a window function sees one group's rows only");
            return false;
        }
    }
    if (t->v[0].type != T_WORD || t->v[0].kw != KW_SELECT) {
        refuse(p, "only a SELECT is merged (%s)", tok_text(t, 0, buf, sizeof(buf)));
        return false;
    }
    return true;
}

/* SELECT's options (DISTINCT, SQL_NO_CACHE...): *list_a is the first
 * token after them. */
static bool select_options(const struct toks *t, struct scatter_plan *p, size_t *list_a)
{
    size_t i = 1;
    for (;; i++) {
        if (word_is(t, i, "DISTINCT") || word_is(t, i, "DISTINCTROW"))
            p->distinct = true;
        else if (word_is(t, i, "SQL_CALC_FOUND_ROWS")) {
            refuse(p, "SQL_CALC_FOUND_ROWS: FOUND_ROWS() would be one group's");
            return false;
        } else if (!(word_is(t, i, "ALL") || word_is(t, i, "HIGH_PRIORITY") ||
                     word_is(t, i, "STRAIGHT_JOIN") || word_is(t, i, "SQL_SMALL_RESULT") ||
                     word_is(t, i, "SQL_BIG_RESULT") || word_is(t, i, "SQL_BUFFER_RESULT") ||
                     word_is(t, i, "SQL_CACHE") || word_is(t, i, "SQL_NO_CACHE")))
            break;
    }
    *list_a = i;
    return true;
}

/* Where the top-level clauses are (t->n: absent). */
struct clauses {
    size_t from, order, limit;
    size_t lock_at; /* FOR UPDATE ..., else the statement's end */
};

/* One top-level word after FROM at j: refused (GROUP BY, HAVING, UNION...),
 * or noted in cl (ORDER BY, LIMIT, a locking clause). */
static bool from_clause_word(const struct toks *t, size_t j, struct scatter_plan *p,
                             struct clauses *cl)
{
    char buf[64];
    size_t n = t->n;
    if (word_is(t, j, "GROUP") && word_is(t, j + 1, "BY")) {
        refuse(p, "GROUP BY: the rows of one group of values may be on several groups");
        return false;
    }
    if (word_is(t, j, "HAVING")) {
        refuse(p, "HAVING filters after grouping, which needs every group's rows");
        return false;
    }
    if (word_is(t, j, "WINDOW")) {
        refuse(p, "a window sees one group's rows only");
        return false;
    }
    if (word_is(t, j, "UNION") || word_is(t, j, "INTERSECT") || word_is(t, j, "EXCEPT")) {
        refuse(p, "%s of several SELECTs", tok_text(t, j, buf, sizeof(buf)));
        return false;
    }
    if (t->v[j].kw == KW_INTO || word_is(t, j, "PROCEDURE")) {
        refuse(p, "SELECT ... %s", tok_text(t, j, buf, sizeof(buf)));
        return false;
    }
    bool next_share = j + 1 < n && t->v[j + 1].type == T_WORD && t->v[j + 1].kw == KW_SHARE;
    bool next_in = j + 1 < n && t->v[j + 1].type == T_WORD && t->v[j + 1].kw == KW_IN;
    if ((t->v[j].kw == KW_FOR && (word_is(t, j + 1, "UPDATE") || next_share)) ||
        (t->v[j].kw == KW_LOCK && next_in)) {
        if (!p->locks_ok) {
            refuse(p, "a locking read would lock rows on every group");
            return false;
        }
        if (!p->locking && top(t, j))
            cl->lock_at = j;
        p->locking = true;
    }
    if (word_is(t, j, "ORDER") && word_is(t, j + 1, "BY"))
        cl->order = j;
    if (word_is(t, j, "LIMIT"))
        cl->limit = j;
    if (word_is(t, j, "ROWS") && word_is(t, j + 1, "EXAMINED")) {
        refuse(p, "LIMIT ROWS EXAMINED counts one group's rows");
        return false;
    }
    return true;
}

/* FROM, and the clauses after it; a join (JOIN, or FROM a, b) unless the
 * caller said joins are exact. */
static bool clauses_find(const struct toks *t, struct scatter_plan *p, size_t list_a,
                         struct clauses *cl)
{
    size_t n = t->n;
    *cl = (struct clauses){.from = n, .order = n, .limit = n, .lock_at = n};
    for (size_t j = list_a; j < n; j++) {
        if (top(t, j) && t->v[j].type == T_WORD && t->v[j].kw == KW_FROM) {
            cl->from = j;
            break;
        }
    }
    if (cl->from == n) {
        refuse(p, "a SELECT without FROM reads no table");
        return false;
    }
    for (size_t j = cl->from + 1; j < n; j++) {
        /* a join, STRAIGHT_JOIN too, also inside parentheses: FROM (a JOIN b) */
        if ((word_is(t, j, "JOIN") || word_is(t, j, "STRAIGHT_JOIN")) && !p->joined) {
            refuse(p, "a join: rows on different groups never meet");
            return false;
        }
        if (!top(t, j) || t->v[j].type != T_WORD)
            continue;
        if (!from_clause_word(t, j, p, cl))
            return false;
    }
    /* FROM a, b: a join too */
    size_t from_end = HY_MIN(cl->order, cl->limit);
    for (size_t j = cl->from + 1; j < from_end; j++) {
        if (top(t, j) && word_is(t, j, "WHERE"))
            break;
        if (top(t, j) && t->v[j].type == T_COMMA && !p->joined) {
            refuse(p, "a join: rows on different groups never meet");
            return false;
        }
    }
    return true;
}

/* The select list, list_a to FROM: each item read (item_read), counted
 * as an aggregate or a plain column. */
static bool items_read(const struct toks *t, struct scatter_plan *p, size_t list_a, size_t from,
                       size_t *n_agg, size_t *n_plain)
{
    size_t idx = 0;
    bool star = false;
    *n_agg = *n_plain = 0;
    for (size_t a = list_a; a < from;) {
        size_t b = a;
        while (b < from && !(t->v[b].type == T_COMMA && top(t, b)))
            b++;
        bool is_agg, is_star;
        if (!item_read(t, a, b, p, idx, &is_agg, &is_star))
            return false;
        star = star || is_star;
        if (is_agg)
            (*n_agg)++;
        else
            (*n_plain)++;
        idx++;
        a = b + 1;
    }
    if (idx == 0) {
        refuse(p, "no select item");
        return false;
    }
    p->n_items = star ? 0 : HY_MIN(idx, (size_t)SCATTER_MAX_ITEMS);
    if (star)
        memset(p->bin_collate, 0, sizeof(p->bin_collate));
    if (idx > SCATTER_MAX_ITEMS && *n_agg > 0) {
        refuse(p, "more than %d aggregates", SCATTER_MAX_ITEMS);
        return false;
    }
    return true;
}

/* ORDER BY's keys and LIMIT's numbers; *lim_a..*lim_b: the LIMIT clause's
 * tokens, which each group's text replaces. */
static bool order_limit_read(const struct toks *t, struct scatter_plan *p, const struct clauses *cl,
                             size_t *lim_a, size_t *lim_b)
{
    size_t n = t->n;
    if (cl->order < n) {
        size_t ke = cl->limit < n && cl->limit > cl->order ? cl->limit : cl->lock_at;
        if (!keys_read(t, cl->order + 2, ke, p))
            return false;
    }
    if (cl->limit < n) {
        if (cl->limit < cl->order && cl->order < n) {
            refuse(p, "LIMIT before ORDER BY");
            return false;
        }
        if (!limit_read(t, cl->limit + 1, cl->lock_at, p))
            return false;
        *lim_a = cl->limit;
        *lim_b = cl->lock_at;
    }
    return true;
}

/* The merge: the aggregates combined, the sorted runs merged, or the
 * rows one group's after another's. */
static bool shape_decide(struct scatter_plan *p, size_t n_agg, size_t n_plain)
{
    if (n_agg > 0) {
        if (n_plain > 0) {
            refuse(p, "COUNT, SUM, MIN and MAX combine only without other columns "
                      "(a GROUP BY would be needed)");
            return false;
        }
        if (p->has_limit || p->n_keys > 0) {
            refuse(p, "ORDER BY or LIMIT with an aggregate");
            return false;
        }
        p->shape = SCATTER_AGG;
        p->distinct = false;
        return true;
    }
    if (p->distinct && p->n_keys == 0) {
        refuse(p, "DISTINCT without an ORDER BY on every selected column: a value may be on "
                  "several groups");
        return false;
    }
    p->shape = p->n_keys > 0 ? SCATTER_SORTED : SCATTER_CONCAT;
    return true;
}

static bool plan(struct toks *t, struct scatter_plan *p, size_t *lim_a, size_t *lim_b)
{
    size_t list_a, n_agg, n_plain;
    struct clauses cl;
    return statement_ok(t, p) && select_options(t, p, &list_a) && clauses_find(t, p, list_a, &cl) &&
           items_read(t, p, list_a, cl.from, &n_agg, &n_plain) &&
           order_limit_read(t, p, &cl, lim_a, lim_b) && shape_decide(p, n_agg, n_plain);
}

bool scatter_is_show_databases(const char *sql, size_t len, unsigned lex_opts)
{
    struct lexer lx;
    struct token a, b;
    kw_ready();
    lex_init(&lx, sql, len, lex_opts, NULL);
    lex_next(&lx, &a);
    lex_next(&lx, &b);
    return a.type == T_WORD && a.kw == KW_SHOW && b.type == T_WORD &&
           (ci_equal((const unsigned char *)sql + b.off, b.len, "DATABASES") ||
            ci_equal((const unsigned char *)sql + b.off, b.len, "SCHEMAS"));
}

hy_status_t scatter_plan_make(const char *sql, size_t len, unsigned lex_opts,
                              struct scatter_plan *out)
{
    return scatter_plan_make_joined(sql, len, lex_opts, false, out);
}

hy_status_t scatter_plan_make_joined(const char *sql, size_t len, unsigned lex_opts, bool joins_ok,
                                     struct scatter_plan *out)
{
    return scatter_plan_make_in(sql, len, lex_opts, joins_ok, false, out);
}

hy_status_t scatter_plan_make_in(const char *sql, size_t len, unsigned lex_opts, bool joins_ok,
                                 bool locks_ok, struct scatter_plan *out)
{
    memset(out, 0, sizeof(*out));
    out->joined = joins_ok;
    out->locks_ok = locks_ok;
    struct toks t = {.s = sql};
    bool bad;
    hy_status_t rc = lex_all(sql, len, lex_opts, &t, &bad);
    size_t lim_a = 0, lim_b = 0;
    if (rc != HY_OK)
        goto out;
    if (bad) {
        refuse(out, "unbalanced parentheses or an unterminated string");
        goto out;
    }
    if (scatter_is_show_databases(sql, len, lex_opts)) {
        for (size_t i = 0; i < t.n; i++) {
            if (t.v[i].type == T_SEMI && i + 1 < t.n) {
                refuse(out, "several statements in one");
                goto out;
            }
        }
        out->shape = SCATTER_DATABASES;
    } else if (!plan(&t, out, &lim_a, &lim_b)) {
        goto out;
    }
    /* the text each group runs: LIMIT offset+count, no OFFSET */
    size_t cap = len + 32;
    out->text = malloc(cap);
    if (out->text == NULL) {
        rc = HY_NOMEM;
        goto out;
    }
    if (lim_b > lim_a) {
        size_t from = t.v[lim_a].off;
        size_t to = t.v[lim_b - 1].off + t.v[lim_b - 1].len;
        uint64_t sum = out->limit + out->offset;
        if (sum < out->limit)
            sum = UINT64_MAX;
        int k = snprintf(out->text, cap, "%.*sLIMIT %" PRIu64 "%.*s", (int)from, sql, sum,
                         (int)(len - to), sql + to);
        out->text_len = (size_t)k;
    } else {
        memcpy(out->text, sql, len);
        out->text[len] = '\0';
        out->text_len = len;
    }
out:
    free(t.v);
    free(t.depth);
    if (rc != HY_OK) {
        scatter_plan_free(out);
        out->shape = SCATTER_REFUSE;
        snprintf(out->why, sizeof(out->why), "halyard: out of memory");
    }
    return rc;
}

void scatter_plan_free(struct scatter_plan *p)
{
    free(p->text);
    p->text = NULL;
    p->text_len = 0;
}

const char *scatter_shape_to_str(enum scatter_shape s)
{
    switch (s) {
    case SCATTER_REFUSE:
        return "refuse";
    case SCATTER_CONCAT:
        return "concat";
    case SCATTER_SORTED:
        return "sorted";
    case SCATTER_AGG:
        return "aggregate";
    case SCATTER_DATABASES:
        return "databases";
    }
    return "?";
}
