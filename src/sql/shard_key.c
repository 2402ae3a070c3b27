/*
 * shard_key.c: the group of a statement on a sharded table (shard_key.h).
 *
 * Two passes of the classifier's lexer over one statement:
 *  1. the table references: the names in table position (after FROM,
 *     JOIN, UPDATE, INTO, TABLE, TRUNCATE, INSERT/REPLACE, CREATE/DROP
 *     INDEX ... ON, and the commas of their lists), each with its alias,
 *     its parenthesis depth, and where the outermost WHERE, the INSERT's
 *     column list and VALUES are;
 *  2. the key values: the outermost WHERE's conjuncts `key = literal`,
 *     `literal = key`, `key IN (literal, ...)` (an OR, XOR or || at its
 *     top level makes it keyless), or each VALUES row's key column.
 * What it cannot read exactly (a join of two sharded tables, a subquery
 * on one, a UNION, a key literal the server would compare otherwise...)
 * is never guessed: a read runs everywhere (KEY_SCATTER), a write is
 * refused. A join with reference tables only (each row of it one sharded
 * row) is marked ref_join for the scatter merge; a write of such a join
 * must change only the sharded table. Key values: shard_key_value.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/sql/classify.h"
#include "halyard/sql/lexer.h"
#include "halyard/sql/shard_key.h"

void shard_tables_free(struct shard_tables *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].schema);
        free(t->v[i].table);
        free(t->v[i].key);
        free(t->v[i].collation);
        free(t->v[i].bucket_group);
        for (size_t j = 0; j < t->v[i].n_spans; j++) {
            free(t->v[i].spans[j].below_s);
            free(t->v[i].spans[j].below_text);
        }
        free(t->v[i].spans);
    }
    free(t->v);
    for (size_t i = 0; i < t->n_ref; i++) {
        free(t->ref[i].schema);
        free(t->ref[i].table);
    }
    free(t->ref);
    *t = (struct shard_tables){0};
}

/* ---- tokens ---------------------------------------------------------- */

struct cur {
    struct lexer lx;
    struct token t;
    const unsigned char *s;
    unsigned params; /* `?` before t */
};

static void adv(struct cur *c)
{
    if (c->t.type == T_PARAM)
        c->params++;
    lex_next(&c->lx, &c->t);
}

static struct token peek(const struct cur *c)
{
    struct lexer l = c->lx;
    struct token t;
    lex_next(&l, &t);
    return t;
}

static bool word(const struct cur *c, const struct token *t, const char *w)
{
    return t->type == T_WORD && ci_equal(c->s + t->off, t->len, w);
}

static bool is_op(const struct cur *c, const struct token *t, const char *op)
{
    size_t n = strlen(op);
    return t->type == T_OP && t->len == n && memcmp(c->s + t->off, op, n) == 0;
}

/* A name: a quoted one, or a word that is not a keyword the classifier
 * acts on (KW_OTHER words, e.g. `status`, may be names). */
static bool is_name(const struct token *t)
{
    return t->type == T_QIDENT || (t->type == T_WORD && t->kw <= KW_OTHER);
}

/* Whether name token t spells `name` (unquoted; case-sensitive when cs,
 * as table names and aliases are on Linux; else as column names are). */
static bool name_is(const struct cur *c, const struct token *t, const char *name, bool cs)
{
    size_t n = strlen(name);
    if (t->type == T_WORD)
        return t->len == n &&
               (cs ? memcmp(c->s + t->off, name, n) == 0 : ci_equal(c->s + t->off, n, name));
    if (t->type != T_QIDENT)
        return false;
    unsigned char quote = c->s[t->off];
    size_t j = 0;
    for (size_t i = t->in_off; i < t->in_off + t->in_len; i++, j++) {
        if (j >= n)
            return false;
        unsigned char a = c->s[i], b = (unsigned char)name[j];
        if (cs ? a != b : to_upper(a) != to_upper(b))
            return false;
        if (a == quote)
            i++;
    }
    return j == n;
}

/* Copy name token t, unquoted, to buf (cap bytes); false if it does not fit. */
static bool name_copy(const struct cur *c, const struct token *t, char *buf, size_t cap)
{
    size_t n = 0;
    unsigned char quote = t->type == T_QIDENT ? c->s[t->off] : 0;
    for (size_t i = t->in_off; i < t->in_off + t->in_len; i++) {
        if (n + 1 >= cap)
            return false;
        buf[n++] = (char)c->s[i];
        if (quote && c->s[i] == quote)
            i++;
    }
    buf[n] = '\0';
    return true;
}

/* Words that end a table reference (no alias). */
static bool clause_word(const struct cur *c, const struct token *t)
{
    static const char *const w[] = {
        "WHERE",     "JOIN",   "LEFT",          "RIGHT",     "INNER", "CROSS",
        "NATURAL",   "ON",     "USING",         "GROUP",     "ORDER", "LIMIT",
        "HAVING",    "UNION",  "STRAIGHT_JOIN", "WINDOW",    "FORCE", "IGNORE",
        "PARTITION", "EXCEPT", "INTERSECT",     "RETURNING", "OUTER", "FULL"};
    if (t->type != T_WORD)
        return false;
    if (t->kw > KW_OTHER)
        return true;
    for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
        if (word(c, t, w[i]))
            return true;
    }
    return false;
}

/* ---- pass 1: the statement's shape and its tables ---------------------- */

enum stmt { ST_OTHER, ST_READ, ST_INSERT, ST_UPDATE, ST_DELETE, ST_DDL, ST_INFO };

struct shape {
    enum stmt st;
    const char *verb; /* for messages: SELECT, UPDATE... */
    int first_ref;    /* -1, or the first table reference: its sharded (>= 0) or reference */
    bool first_is_ref;
    bool first_plain;   /* the first table reference is neither */
    int table;          /* the sharded table named (the first) */
    int table2;         /* another sharded table named, or -1 */
    unsigned n_sharded; /* references to sharded tables */
    unsigned n_refs;    /* references to any table */
    int ref;            /* a reference table named, or -1 */
    unsigned n_reftab;  /* references to reference tables */
    bool outer_bad;     /* an outer join that may keep a row without its sharded row
                         * (RIGHT or FULL, or LEFT before the sharded table) */
    bool sharded_deep;  /* a sharded table inside parentheses (a subquery, a derived table) */
    bool subquery;      /* a SELECT after the first token, or a UNION */
    bool multi;         /* more than one statement */
    bool alias_set;
    char alias[CLASSIFY_NAME_MAX + 1];
    bool key_assigned; /* UPDATE ... SET key = / ON DUPLICATE KEY UPDATE key = */
    bool insert_select;
    bool have_where;
    struct cur where; /* at the first token after the outermost WHERE */
    bool have_cols;
    struct cur cols; /* INSERT: at the first token inside its column list */
    bool have_values;
    struct cur values; /* INSERT: at the first row's '(' */
    bool have_set;
    struct cur set; /* INSERT ... SET: at the first assignment */
    bool have_upd_set;
    struct cur upd_set; /* UPDATE: at the first assignment after SET */
    bool have_del;
    struct cur del; /* DELETE: after the word and its modifiers (FROM, or targets) */
};

/* Which configured table the reference `[a.]b` is: *sharded index, or
 * *ref index, or neither. */
static void lookup(const struct key_in *in, const struct cur *c, const struct token *a,
                   const struct token *b, int *sharded, int *ref)
{
    *sharded = *ref = -1;
    const struct shard_tables *tb = in->tables;
    for (size_t i = 0; i < tb->n; i++) {
        const struct shard_table *x = &tb->v[i];
        if (!name_is(c, b, x->table, true))
            continue;
        if (a != NULL ? name_is(c, a, x->schema, true)
                      : in->schema != NULL && strcmp(in->schema, x->schema) == 0) {
            *sharded = (int)i;
            return;
        }
    }
    for (size_t i = 0; i < tb->n_ref; i++) {
        const struct shard_ref_table *x = &tb->ref[i];
        if (!name_is(c, b, x->table, true))
            continue;
        if (a != NULL ? name_is(c, a, x->schema, true)
                      : in->schema != NULL && strcmp(in->schema, x->schema) == 0) {
            *ref = (int)i;
            return;
        }
    }
}

static const char *verb_of(const struct cur *c, const struct token *t)
{
    static const char *const v[] = {"SELECT", "INSERT", "REPLACE",  "UPDATE", "DELETE",   "ALTER",
                                    "CREATE", "DROP",   "TRUNCATE", "RENAME", "OPTIMIZE", "ANALYZE",
                                    "REPAIR", "CHECK",  "LOAD",     "LOCK",   "HANDLER",  "WITH",
                                    "CALL",   "DO",     "SET"};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        if (word(c, t, v[i]))
            return v[i];
    }
    return "statement";
}

static enum stmt stmt_of(const struct cur *c, const struct token *t)
{
    if (t->type == T_LPAREN || t->kw == KW_SELECT || word(c, t, "WITH") || t->kw == KW_VALUES)
        return ST_READ;
    if (t->kw == KW_INSERT || t->kw == KW_REPLACE)
        return ST_INSERT;
    if (t->kw == KW_UPDATE)
        return ST_UPDATE;
    if (t->kw == KW_DELETE)
        return ST_DELETE;
    if (t->kw == KW_CREATE || t->kw == KW_DROP || word(c, t, "ALTER") || word(c, t, "TRUNCATE") ||
        word(c, t, "RENAME") || word(c, t, "OPTIMIZE") || t->kw == KW_ANALYZE ||
        word(c, t, "REPAIR") || t->kw == KW_CHECK)
        return ST_DDL;
    if (t->kw == KW_SHOW || t->kw == KW_DESC || t->kw == KW_DESCRIBE || t->kw == KW_EXPLAIN ||
        t->kw == KW_HELP)
        return ST_INFO;
    return ST_OTHER;
}

/* After a table name at c (the token after it): an alias, kept in sh when
 * the table is the sharded one. */
static void take_alias(struct cur *c, struct shape *sh, bool keep)
{
    if (c->t.kw == KW_AS)
        adv(c);
    if (is_name(&c->t) && !clause_word(c, &c->t)) {
        if (keep)
            sh->alias_set = name_copy(c, &c->t, sh->alias, sizeof(sh->alias));
        adv(c);
    }
}

/* The assignment list at c (SET a = 1, b = 2 / ON DUPLICATE KEY UPDATE):
 * whether it assigns `key`. Leaves c at the end of the statement or at
 * WHERE/ORDER/LIMIT (depth 0). */
static bool assigns_key(struct cur *c, const char *key)
{
    int depth = 0;
    bool lhs = true, hit = false;
    struct token p1 = {.type = T_END};
    for (; c->t.type != T_END && c->t.type != T_SEMI; adv(c)) {
        if (c->t.type == T_LPAREN)
            depth++;
        else if (c->t.type == T_RPAREN)
            depth--;
        if (depth == 0 && (word(c, &c->t, "WHERE") || word(c, &c->t, "ORDER") ||
                           word(c, &c->t, "LIMIT") || word(c, &c->t, "RETURNING")))
            return hit;
        if (depth == 0 && c->t.type == T_COMMA)
            lhs = true;
        else if (depth == 0 && lhs && c->t.type == T_EQ) {
            if (is_name(&p1) && name_is(c, &p1, key, false))
                hit = true;
            lhs = false;
        }
        p1 = c->t;
    }
    return hit;
}

/* Pass 1's position and what it has seen so far. */
struct scan {
    struct cur c;
    int depth;       /* parentheses */
    bool want;       /* a table reference may come next */
    bool list;       /* ... and after it, a comma, another */
    bool ddl_index;  /* CREATE/DROP INDEX: its table follows ON */
    bool del_using;  /* DELETE t1 FROM ... USING: the FROM names no table to read */
    bool dup_key;    /* INSERT ... ON DUPLICATE KEY */
    unsigned pos;    /* tokens before c.t */
    const char *key; /* the sharded table's key, once it is named */
};

/* After the INSERT's table at s->c: PARTITION (...), its column list,
 * VALUES or SET. */
static void insert_target(struct scan *s, struct shape *sh)
{
    struct cur *c = &s->c;
    if (word(c, &c->t, "PARTITION")) { /* PARTITION (p0, ...) */
        adv(c);
        int d = 0;
        do {
            d += c->t.type == T_LPAREN ? 1 : c->t.type == T_RPAREN ? -1 : 0;
            adv(c);
        } while (d > 0 && c->t.type != T_END);
    }
    if (c->t.type == T_LPAREN) {
        struct token n = peek(c);
        if (n.kw != KW_SELECT && n.type != T_LPAREN && !word(c, &n, "WITH")) {
            adv(c);
            sh->have_cols = true;
            sh->cols = *c;
            while (c->t.type != T_RPAREN && c->t.type != T_END)
                adv(c);
            adv(c);
        }
    }
    if (c->t.kw == KW_VALUES || c->t.kw == KW_VALUE) {
        adv(c);
        sh->have_values = true;
        sh->values = *c;
    } else if (c->t.kw == KW_SET) {
        adv(c);
        sh->have_set = true;
        sh->set = *c;
    }
}

/* A table reference at s->c.t: [a.]b [[AS] alias], counted as sharded,
 * reference or neither. */
static void table_ref(const struct key_in *in, struct scan *s, struct shape *sh)
{
    struct cur *c = &s->c;
    struct token a = c->t, b = c->t;
    bool qual = false;
    adv(c);
    if (c->t.type == T_DOT) {
        adv(c);
        if (!is_name(&c->t) && c->t.type != T_WORD)
            return;
        b = c->t;
        qual = true;
        adv(c);
    }
    int si, ri;
    lookup(in, c, qual ? &a : NULL, &b, &si, &ri);
    sh->n_refs++;
    if (sh->n_refs == 1) {
        sh->first_ref = si >= 0 ? si : ri;
        sh->first_is_ref = ri >= 0;
        sh->first_plain = si < 0 && ri < 0;
    }
    if (si >= 0) {
        sh->n_sharded++;
        if (sh->table < 0)
            sh->table = si;
        else if (si != sh->table && sh->table2 < 0)
            sh->table2 = si;
        if (s->depth > 0)
            sh->sharded_deep = true;
        s->key = in->tables->v[sh->table].key;
    }
    if (ri >= 0 && sh->ref < 0)
        sh->ref = ri;
    if (ri >= 0)
        sh->n_reftab++;
    s->want = false;
    if (sh->st == ST_INSERT && s->depth == 0 && sh->n_refs == 1) {
        insert_target(s, sh);
        s->pos++;
        return;
    }
    take_alias(c, sh, si >= 0 && si == sh->table && sh->n_sharded == 1);
    if (s->list && c->t.type == T_COMMA) {
        s->want = true;
        adv(c);
    } else if (c->t.kw == KW_TO && s->list) {
        s->want = true; /* RENAME TABLE a TO b */
        adv(c);
    } else {
        s->list = false;
    }
    s->pos++;
}

/* DELETE's first token: its modifiers, then where its targets start. */
static void delete_head(struct scan *s, struct shape *sh)
{
    struct cur *c = &s->c;
    adv(c);
    while (word(c, &c->t, "LOW_PRIORITY") || word(c, &c->t, "QUICK") || word(c, &c->t, "IGNORE"))
        adv(c);
    sh->have_del = true;
    sh->del = *c;
    /* DELETE FROM t1 USING <tables>: t1 names a table of USING's */
    struct cur u = *c;
    int d = 0;
    while (u.t.type != T_END && u.t.type != T_SEMI && !(d == 0 && word(&u, &u.t, "WHERE"))) {
        d += u.t.type == T_LPAREN ? 1 : u.t.type == T_RPAREN ? -1 : 0;
        if (d == 0 && word(&u, &u.t, "USING") && peek(&u).type != T_LPAREN) {
            s->del_using = true;
            break;
        }
        adv(&u);
    }
    s->pos++;
}

/* Whether word t puts a table reference next (FROM, JOIN, INTO, UPDATE,
 * TABLE, ON after CREATE/DROP INDEX...), and a list of them. */
static void table_words(struct scan *s, struct shape *sh, const struct token *t)
{
    const struct cur *c = &s->c;
    if ((word(c, t, "LEFT") || word(c, t, "RIGHT") || word(c, t, "FULL")) &&
        peek(c).type != T_LPAREN && (!word(c, t, "LEFT") || sh->table < 0))
        sh->outer_bad = true; /* LEFT(s, n), RIGHT(s, n) are functions */
    if ((t->kw == KW_FROM && !s->del_using) || word(c, t, "JOIN") || word(c, t, "STRAIGHT_JOIN") ||
        t->kw == KW_INTO || (t->kw == KW_TABLE && !s->ddl_index) ||
        (s->pos == 0 && word(c, t, "TRUNCATE")) ||
        (s->pos == 0 && (t->kw == KW_UPDATE || t->kw == KW_INSERT || t->kw == KW_REPLACE)) ||
        (t->kw == KW_ON && s->ddl_index) ||
        (sh->st == ST_DELETE && s->depth == 0 && word(c, t, "USING") && peek(c).type != T_LPAREN)) {
        s->want = true;
        s->list = t->kw == KW_FROM || t->kw == KW_TABLE || t->kw == KW_UPDATE ||
                  word(c, t, "TRUNCATE") || word(c, t, "USING");
        s->ddl_index = false;
    } else if (sh->st == ST_DDL && word(c, t, "INDEX")) {
        s->ddl_index = true;
    } else if (t->kw == KW_TABLES && (sh->st == ST_DDL || sh->st == ST_OTHER)) {
        s->want = s->list = true; /* LOCK TABLES, OPTIMIZE TABLES... */
    }
}

/* The outermost clauses pass 2 reads: UPDATE's SET, ON DUPLICATE KEY
 * UPDATE, WHERE. true when t was one (s->c moved past it). */
static bool clause(struct scan *s, struct shape *sh, const struct token *t)
{
    struct cur *c = &s->c;
    if (s->depth == 0 && t->kw == KW_SET && sh->st == ST_UPDATE && s->key != NULL) {
        adv(c);
        sh->have_upd_set = true;
        sh->upd_set = *c;
        if (assigns_key(c, s->key))
            sh->key_assigned = true;
        s->pos++;
        return true;
    }
    if (s->depth == 0 && sh->st == ST_INSERT && word(c, t, "DUPLICATE"))
        s->dup_key = true;
    if (s->depth == 0 && s->dup_key && t->kw == KW_UPDATE && s->key != NULL) {
        adv(c);
        if (assigns_key(c, s->key))
            sh->key_assigned = true;
        return true;
    }
    if (s->depth == 0 && !sh->have_where && word(c, t, "WHERE")) {
        adv(c);
        sh->have_where = true;
        sh->where = *c;
        s->pos++;
        return true;
    }
    return false;
}

/* Modifiers between a table word and its table: IF NOT EXISTS, IGNORE... */
static bool table_modifier(const struct cur *c, const struct token *t)
{
    return word(c, t, "IF") || t->kw == KW_NOT || t->kw == KW_EXISTS ||
           word(c, t, "LOW_PRIORITY") || word(c, t, "DELAYED") || word(c, t, "HIGH_PRIORITY") ||
           word(c, t, "IGNORE") || word(c, t, "QUICK") || t->kw == KW_ONLY || word(c, t, "LATERAL");
}

static void pass1(const struct key_in *in, struct shape *sh)
{
    struct scan s = {.c = {.s = NULL}};
    struct cur *c = &s.c;
    lex_init(&c->lx, in->sql, in->len > CLASSIFY_MAX_LEN ? 0 : in->len, in->opts, NULL);
    c->s = c->lx.s;
    *sh =
        (struct shape){.first_ref = -1, .table = -1, .table2 = -1, .ref = -1, .verb = "statement"};
    lex_next(&c->lx, &c->t);
    if (c->t.type == T_END)
        return;
    sh->st = stmt_of(c, &c->t);
    sh->verb = sh->st == ST_READ ? "SELECT" : verb_of(c, &c->t);
    while (c->t.type != T_END) {
        struct token t = c->t;
        if (t.type == T_SEMI) {
            adv(c);
            if (c->t.type != T_END)
                sh->multi = true;
            break;
        }
        if (s.pos > 0 && (t.kw == KW_SELECT || word(c, &t, "UNION") || word(c, &t, "EXCEPT") ||
                          word(c, &t, "INTERSECT"))) {
            sh->subquery = true;
            if (sh->st == ST_INSERT && s.depth == 0 && t.kw == KW_SELECT)
                sh->insert_select = true;
        }
        if (t.type == T_LPAREN || t.type == T_RPAREN) {
            s.depth += t.type == T_LPAREN ? 1 : -1;
            if (t.type == T_RPAREN)
                s.want = s.list = false;
            adv(c);
            s.pos++;
        } else if (s.want && table_modifier(c, &t)) {
            adv(c); /* the table follows */
            s.pos++;
        } else if (s.want && is_name(&t)) {
            table_ref(in, &s, sh);
        } else if (s.pos == 0 && sh->st == ST_DELETE) {
            s.want = false;
            delete_head(&s, sh);
        } else {
            s.want = false;
            table_words(&s, sh, &t);
            if (!clause(&s, sh, &t)) {
                adv(c);
                s.pos++;
            }
        }
    }
}

/* ---- pass 2: key values ---------------------------------------------- */

/* At c: one key value (a literal, -literal, or a `?` when prepared). */
static bool value_at(const struct key_in *in, const struct shard_table *x, struct cur *c,
                     struct key_params *kp)
{
    bool neg = false;
    if (is_op(c, &c->t, "-")) {
        neg = true;
        adv(c);
    }
    if (kp->n >= KEY_MAX_PARAMS)
        return false;
    if (c->t.type == T_PARAM && in->prepared && !neg) {
        kp->param[kp->n] = (uint16_t)c->params;
        kp->lit[kp->n++] = 0;
        adv(c);
        return true;
    }
    if (c->t.type != T_NUMBER && c->t.type != T_STRING)
        return false;
    const char *lit = (const char *)c->s + c->t.off;
    uint16_t g;
    if (x->type == KEY_TYPE_STRING) {
        /* a number compares with a string column as a number: no key */
        uint8_t buf[KEY_STR_MAX];
        size_t n;
        enum key_cs cs;
        if (neg ||
            !shard_key_str_literal(lit, c->t.len, in->opts, in->text_cs, buf, sizeof(buf), &n,
                                   &cs) ||
            !shard_key_str_exact(x, cs, buf, n))
            return false;
        g = shard_key_str_group(x, buf, n);
    } else {
        int64_t v;
        if (!shard_key_literal(lit, c->t.len, neg, &v))
            return false;
        g = shard_key_group(x, v);
    }
    kp->param[kp->n] = UINT16_MAX;
    kp->lit[kp->n++] = g;
    adv(c);
    return true;
}

/* At c: the key column, [schema.]table.key, alias.key or key. */
static bool key_col(const struct key_in *in, const struct shape *sh, struct cur *c)
{
    const struct shard_table *x = &in->tables->v[sh->table];
    struct token n[3];
    int k = 0;
    for (;;) {
        if (!is_name(&c->t) && c->t.type != T_WORD)
            return false;
        n[k++] = c->t;
        adv(c);
        if (c->t.type != T_DOT || k == 3)
            break;
        adv(c);
    }
    if (c->t.type == T_DOT || !name_is(c, &n[k - 1], x->key, false))
        return false;
    if (k == 1)
        return true;
    if (k == 3)
        return name_is(c, &n[0], x->schema, true) && name_is(c, &n[1], x->table, true);
    if (sh->alias_set)
        return name_is(c, &n[0], sh->alias, true);
    return name_is(c, &n[0], x->table, true);
}

static bool conj_end(const struct cur *c)
{
    const struct token *t = &c->t;
    return t->type == T_END || t->type == T_SEMI || t->kw == KW_AND || is_op(c, t, "&&") ||
           t->kw == KW_OR || is_op(c, t, "||") || word(c, t, "XOR") || word(c, t, "ORDER") ||
           word(c, t, "GROUP") || word(c, t, "HAVING") || word(c, t, "LIMIT") || t->kw == KW_FOR ||
           t->kw == KW_LOCK || word(c, t, "WINDOW") || word(c, t, "RETURNING") || t->kw == KW_INTO;
}

/* One conjunct at c: `key = v`, `v = key`, `key IN (v, ...)`; 1 for `=`,
 * 2 for IN (values in kp), 0 for anything else. c is left at the
 * conjunct's end either way. */
static int conjunct(const struct key_in *in, const struct shape *sh, struct cur *c,
                    struct key_params *kp)
{
    struct cur save = *c;
    struct key_params tmp = {0};
    int kind = 0;
    if (key_col(in, sh, c)) {
        if (c->t.type == T_EQ) {
            adv(c);
            if (value_at(in, &in->tables->v[sh->table], c, &tmp) && conj_end(c))
                kind = 1;
        } else if (c->t.kw == KW_IN) {
            adv(c);
            if (c->t.type == T_LPAREN) {
                adv(c);
                bool ok = true;
                for (;;) {
                    if (!value_at(in, &in->tables->v[sh->table], c, &tmp)) {
                        ok = false;
                        break;
                    }
                    if (c->t.type == T_COMMA) {
                        adv(c);
                        continue;
                    }
                    break;
                }
                if (ok && c->t.type == T_RPAREN) {
                    adv(c);
                    if (conj_end(c))
                        kind = 2;
                }
            }
        }
    } else {
        *c = save;
        if (value_at(in, &in->tables->v[sh->table], c, &tmp) && c->t.type == T_EQ) {
            adv(c);
            if (key_col(in, sh, c) && conj_end(c))
                kind = 1;
        }
    }
    if (kind != 0) {
        *kp = tmp;
        return kind;
    }
    /* skip to the conjunct's end: depth 0, not inside BETWEEN ... AND or CASE ... END */
    *c = save;
    int depth = 0;
    bool between = false;
    for (;;) {
        if (c->t.type == T_END || c->t.type == T_SEMI)
            return 0; /* whatever the depth: unbalanced text ends here too */
        if (depth == 0 && conj_end(c)) {
            if (between && (c->t.kw == KW_AND || is_op(c, &c->t, "&&"))) {
                between = false;
                adv(c);
                continue;
            }
            return 0;
        }
        if (c->t.type == T_LPAREN || word(c, &c->t, "CASE"))
            depth++;
        else if (c->t.type == T_RPAREN || (word(c, &c->t, "END") && depth > 0))
            depth--;
        else if (depth == 0 && word(c, &c->t, "BETWEEN"))
            between = true;
        if (depth < 0)
            return 0;
        adv(c);
    }
}

/* The outermost WHERE's key: kp filled; 0 none (or an OR at the top), 1
 * from `=`, 2 from IN. */
static int where_key(const struct key_in *in, const struct shape *sh, struct key_params *kp)
{
    if (!sh->have_where)
        return 0;
    struct cur c = sh->where;
    int best = 0;
    struct key_params got;
    for (;;) {
        int k = conjunct(in, sh, &c, &got);
        if (k == 1 && best != 1) {
            *kp = got;
            best = 1;
        } else if (k == 2 && best == 0) {
            *kp = got;
            best = 2;
        }
        if (c.t.kw == KW_OR || is_op(&c, &c.t, "||") || word(&c, &c.t, "XOR"))
            return 0;
        if (c.t.kw == KW_AND || is_op(&c, &c.t, "&&")) {
            adv(&c);
            continue;
        }
        return best;
    }
}

/* The INSERT's key column position in its column list; -1: not named. */
static int insert_col_pos(const struct shape *sh, const char *key);

static int insert_key_pos(const struct key_in *in, const struct shape *sh)
{
    return insert_col_pos(sh, in->tables->v[sh->table].key);
}

/* The position of column `key` in the INSERT's column list, -1 when it is
 * not there (or the list does not parse). */
static int insert_col_pos(const struct shape *sh, const char *key)
{
    struct cur c = sh->cols;
    for (int i = 0;; i++) {
        if (!is_name(&c.t) && c.t.type != T_WORD)
            return -1;
        struct token n = c.t;
        adv(&c);
        while (c.t.type == T_DOT) { /* t.col */
            adv(&c);
            n = c.t;
            adv(&c);
        }
        if (name_is(&c, &n, key, false))
            return i;
        if (c.t.type != T_COMMA)
            return -1;
        adv(&c);
    }
}

typedef void row_fn(void *ctx, size_t off, size_t end, bool ok, uint16_t group);

/* Each row of VALUES at c: its offsets ('(' to ')') and its key value
 * (ok false: not a usable key; a `?` is recorded in kp when given).
 * Returns the number of rows, -1 when the list does not parse; *end_off
 * gets the offset after the last row. */
static int each_row(const struct key_in *in, const struct shard_table *x, struct cur c, int pos,
                    struct key_params *kp, row_fn *fn, void *ctx, size_t *end_off, bool *all_ok)
{
    int rows = 0;
    *all_ok = true;
    for (;;) {
        if (c.t.type != T_LPAREN)
            return -1;
        size_t off = c.t.off;
        adv(&c);
        bool ok = false;
        uint16_t v = 0;
        for (int col = 0;; col++) {
            if (col == pos) {
                struct cur save = c;
                struct key_params one = {0};
                if (value_at(in, x, &c, &one) && (c.t.type == T_COMMA || c.t.type == T_RPAREN)) {
                    ok = true;
                    v = one.lit[0];
                    if (kp != NULL) {
                        if (kp->n < KEY_MAX_PARAMS) {
                            kp->param[kp->n] = one.param[0];
                            kp->lit[kp->n++] = one.lit[0];
                        } else {
                            ok = false;
                        }
                    } else if (one.param[0] != UINT16_MAX) {
                        ok = false;
                    }
                } else {
                    c = save;
                }
            }
            int depth = 0;
            while (c.t.type != T_END &&
                   !(depth == 0 && (c.t.type == T_COMMA || c.t.type == T_RPAREN))) {
                depth += c.t.type == T_LPAREN ? 1 : c.t.type == T_RPAREN ? -1 : 0;
                adv(&c);
            }
            if (c.t.type == T_END)
                return -1;
            if (c.t.type == T_RPAREN)
                break;
            adv(&c);
        }
        *end_off = c.t.off + c.t.len;
        adv(&c);
        if (!ok)
            *all_ok = false;
        if (fn != NULL)
            fn(ctx, off, *end_off, ok, v);
        rows++;
        if (c.t.type != T_COMMA)
            return rows;
        adv(&c);
    }
}

/* INSERT ... SET key = v */
static bool set_key(const struct key_in *in, const struct shape *sh, struct key_params *kp)
{
    struct cur c = sh->set;
    const char *key = in->tables->v[sh->table].key;
    for (;;) {
        if (!is_name(&c.t) && c.t.type != T_WORD)
            return false;
        struct token n = c.t;
        adv(&c);
        while (c.t.type == T_DOT) {
            adv(&c);
            n = c.t;
            adv(&c);
        }
        if (c.t.type != T_EQ && c.t.type != T_ASSIGN)
            return false;
        adv(&c);
        if (name_is(&c, &n, key, false))
            return value_at(in, &in->tables->v[sh->table], &c, kp) &&
                   (c.t.type == T_COMMA || c.t.type == T_END || c.t.type == T_SEMI ||
                    word(&c, &c.t, "ON"));
        int depth = 0;
        while (c.t.type != T_END && !(depth == 0 && c.t.type == T_COMMA)) {
            depth += c.t.type == T_LPAREN ? 1 : c.t.type == T_RPAREN ? -1 : 0;
            adv(&c);
        }
        if (c.t.type != T_COMMA)
            return false;
        adv(&c);
    }
}

/* Whether the k names n[] (a or schema.a) name the sharded table: its
 * alias when it has one, else its name, schema-qualified or not. */
static bool names_sharded(const struct key_in *in, const struct shape *sh, const struct cur *c,
                          const struct token *n, int k)
{
    const struct shard_table *x = &in->tables->v[sh->table];
    if (k == 2)
        return !sh->alias_set && name_is(c, &n[0], x->schema, true) &&
               name_is(c, &n[1], x->table, true);
    if (k != 1)
        return false;
    return sh->alias_set ? name_is(c, &n[0], sh->alias, true) : name_is(c, &n[0], x->table, true);
}

/* At c: up to 3 dotted names into n[] (their number returned, 0: not a
 * name); stops before a `.*`. */
static int dotted(struct cur *c, struct token n[3])
{
    int k = 0;
    for (;;) {
        if (!is_name(&c->t) && c->t.type != T_WORD)
            return k;
        n[k++] = c->t;
        adv(c);
        struct token nx = peek(c);
        if (c->t.type != T_DOT || k == 3 || !(is_name(&nx) || nx.type == T_WORD))
            return k;
        adv(c);
    }
}

/* A multi-table UPDATE or DELETE naming reference tables: whether it
 * changes the sharded table only (a reference table is a copy on every
 * group: written on one it would differ). UPDATE: each column it sets is
 * qualified by the sharded table (or its alias); DELETE: each table it
 * deletes from (before FROM, or between FROM and USING) is the sharded
 * one. */
static bool writes_only_sharded(const struct key_in *in, const struct shape *sh)
{
    struct token n[3];
    if (sh->st == ST_UPDATE) {
        if (!sh->have_upd_set)
            return false;
        struct cur c = sh->upd_set;
        for (;;) {
            int k = dotted(&c, n);
            if (k < 2 || !names_sharded(in, sh, &c, n, k - 1) || c.t.type != T_EQ)
                return false;
            int depth = 0;
            while (c.t.type != T_END && c.t.type != T_SEMI &&
                   !(depth == 0 && (c.t.type == T_COMMA || word(&c, &c.t, "WHERE") ||
                                    word(&c, &c.t, "ORDER") || word(&c, &c.t, "LIMIT")))) {
                depth += c.t.type == T_LPAREN ? 1 : c.t.type == T_RPAREN ? -1 : 0;
                adv(&c);
            }
            if (c.t.type != T_COMMA)
                return true;
            adv(&c);
        }
    }
    if (sh->st != ST_DELETE || !sh->have_del)
        return false;
    struct cur c = sh->del;
    bool using = c.t.kw == KW_FROM;
    if (using)
        adv(&c);
    for (;;) {
        int k = dotted(&c, n);
        if (!names_sharded(in, sh, &c, n, k))
            return false;
        if (c.t.type == T_DOT) { /* t.* */
            adv(&c);
            if (!is_op(&c, &c.t, "*"))
                return false;
            adv(&c);
        }
        if (c.t.type == T_COMMA) {
            adv(&c);
            continue;
        }
        return using ? word(&c, &c.t, "USING") : c.t.kw == KW_FROM;
    }
}

/* ---- the decision ---------------------------------------------------- */

static void refuse(struct key_out *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void refuse(struct key_out *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    out->verdict = KEY_REFUSE;
    vsnprintf(out->why, sizeof(out->why), fmt, ap);
    va_end(ap);
}

/* What a key literal must be, for messages. */
static const char *lit_kind(const struct shard_table *x)
{
    return x->type == KEY_TYPE_STRING ? "a string" : "an integer";
}

/* The values in kp decide: all literals here (params resolved by the caller). */
static void by_values(const struct shard_tables *tb, struct key_out *out, const uint16_t *groups,
                      size_t n, bool any_of, bool insert, const char *verb)
{
    const struct shard_table *x = &tb->v[out->table];
    if (n == 0) {
        refuse(out, "halyard: %s on sharded table %s needs %s.%s", verb, x->table, x->table,
               x->key);
        return;
    }
    uint16_t g = groups[0];
    for (size_t i = 1; i < n; i++) {
        if (groups[i] != g) {
            if (insert)
                out->verdict = KEY_SPLIT;
            else if (any_of && !out->write)
                out->verdict = KEY_SCATTER;
            else
                refuse(out,
                       "halyard: %s on sharded table %s: its %s.%s values are on more than one "
                       "group",
                       verb, x->table, x->table, x->key);
            return;
        }
    }
    out->verdict = KEY_ONE;
    out->group = g;
}

static void decide(const struct key_in *in, struct key_out *out, struct shape *sh_out);

#define DYN_SQL_MAX 8192 /* bytes of a PREPARE ... FROM / EXECUTE IMMEDIATE text looked at */

/* `PREPARE name FROM <text>` and `EXECUTE IMMEDIATE <text>`: a statement
 * the server runs from a string, which halyard decides as that string's
 * statement (its bytes decoded as the server decodes the literal; its own
 * string literals read as ASCII only). An EXECUTE IMMEDIATE by one key runs
 * on that group; any other on a sharded table is refused, and so is every
 * PREPARE ... FROM naming one (its EXECUTE ... USING @v would not go by the
 * key), or a reference table's write, and a text halyard cannot read (a
 * user variable, an expression). true: *out is the decision. */
static bool dynamic_sql(const struct key_in *in, struct key_out *out)
{
    struct cur c = {.s = NULL};
    lex_init(&c.lx, in->sql, in->len > CLASSIFY_MAX_LEN ? 0 : in->len, in->opts, NULL);
    c.s = c.lx.s;
    lex_next(&c.lx, &c.t);
    bool prepare = word(&c, &c.t, "PREPARE");
    if (!prepare && !word(&c, &c.t, "EXECUTE"))
        return false;
    adv(&c);
    if (prepare) {
        if (!is_name(&c.t) && c.t.type != T_WORD)
            return false;
        adv(&c);
        if (c.t.kw != KW_FROM)
            return false;
    } else if (!word(&c, &c.t, "IMMEDIATE")) {
        return false; /* EXECUTE name: its PREPARE was decided */
    }
    adv(&c);
    const char *what = prepare ? "PREPARE ... FROM" : "EXECUTE IMMEDIATE";
    struct token lit = c.t;
    adv(&c);
    char inner[DYN_SQL_MAX];
    size_t n = 0;
    enum key_cs cs = KEY_CS_WIDE;
    if (lit.type != T_STRING ||
        !(c.t.type == T_END || c.t.type == T_SEMI || (!prepare && word(&c, &c.t, "USING"))) ||
        !shard_key_str_literal((const char *)c.s + lit.off, lit.len, in->opts, in->text_cs,
                               (uint8_t *)inner, sizeof(inner), &n, &cs) ||
        cs == KEY_CS_WIDE) {
        refuse(out,
               "halyard: %s a user variable, an expression or a text longer than %u bytes is not "
               "supported on a listener with sharded tables: halyard cannot see the tables it "
               "names; write the text as a string literal",
               what, DYN_SQL_MAX);
        out->verb = what;
        return true;
    }
    struct key_in sub = *in;
    sub.sql = inner;
    sub.len = n;
    sub.prepared = false;
    sub.text_cs = KEY_CS_UNKNOWN;
    struct key_out o;
    decide(&sub, &o, NULL);
    if (o.table < 0 && o.verdict == KEY_NONE)
        return false; /* no sharded table, at most a read of reference tables */
    const char *kind = o.table >= 0 ? "sharded" : "reference";
    const char *name = o.table >= 0 ? in->tables->v[o.table].table : in->tables->ref[o.ref].table;
    if (prepare) {
        refuse(out,
               "halyard: %s naming %s table %s is not supported: its EXECUTE would not go by "
               "the key; use the binary protocol's prepared statements (COM_STMT_PREPARE)",
               what, kind, name);
        out->verb = what;
        return true;
    }
    if (o.verdict == KEY_ONE || o.verdict == KEY_REFUSE || o.verdict == KEY_NONE) {
        *out = o;
        return true;
    }
    refuse(out,
           "halyard: %s on %s table %s would run on every group, which it does not do: send the "
           "statement itself",
           what, kind, name);
    out->verb = what;
    out->table = o.table;
    out->ref = o.ref;
    return true;
}

void shard_key_decide(const struct key_in *in, struct key_out *out)
{
    struct shape sh;
    decide(in, out, &sh);
    if (out->table < 0 || out->ref < 0 || out->write || sh.st != ST_READ)
        return;
    /* A read joining the sharded table with reference tables only: each
     * group holds the whole reference tables, so each row of the join,
     * made of one sharded row, is on that row's group, once; the union of
     * the groups' joins is the join. Unless an outer join keeps rows
     * without a sharded row (each group would add its own). */
    const struct shard_table *x = &in->tables->v[out->table];
    bool only_refs = sh.n_refs == sh.n_sharded + sh.n_reftab && !sh.sharded_deep;
    if (only_refs && sh.outer_bad && (out->verdict == KEY_SCATTER || out->verdict == KEY_PARAMS)) {
        refuse(
            out,
            "halyard: %s joining sharded table %s with reference table %s by an outer join "
            "that keeps %s rows without a matching %s row would repeat them on every group: name "
            "%s.%s, or put %s first in LEFT JOINs",
            sh.verb, x->table, in->tables->ref[out->ref].table, in->tables->ref[out->ref].table,
            x->table, x->table, x->key, x->table);
        return;
    }
    out->ref_join =
        only_refs && !sh.outer_bad && (out->verdict == KEY_SCATTER || out->verdict == KEY_PARAMS);
}

static void decide(const struct key_in *in, struct key_out *out, struct shape *sh_out)
{
    struct shape sh_local;
    struct shape *shp = sh_out != NULL ? sh_out : &sh_local;
    shp->st = ST_OTHER;
    memset(out, 0, sizeof(*out));
    out->verdict = KEY_NONE;
    out->table = out->ref = -1;
    if (in->tables == NULL || (in->tables->n == 0 && in->tables->n_ref == 0))
        return;
    kw_ready();
    if (dynamic_sql(in, out))
        return;
    pass1(in, shp);
    struct shape sh = *shp;
    out->table = sh.table;
    out->ref = sh.ref;
    out->write = sh.st == ST_INSERT || sh.st == ST_UPDATE || sh.st == ST_DELETE;
    out->verb = sh.verb;
    if (sh.table < 0 && sh.ref < 0)
        return;
    const struct shard_tables *tb = in->tables;
    if (sh.table < 0) { /* reference tables only */
        const struct shard_ref_table *r = &tb->ref[sh.ref];
        snprintf(out->why, sizeof(out->why), "%s.%s", r->schema, r->table);
        if (sh.st == ST_READ || sh.st == ST_INFO)
            return; /* any group has it */
        if (sh.multi)
            refuse(out, "halyard: a multi-statement text naming reference table %s", r->table);
        else if (sh.st == ST_OTHER)
            refuse(out, "halyard: %s on reference table %s is not supported", sh.verb, r->table);
        else if (sh.n_refs > 1 && (sh.first_is_ref || sh.st != ST_INSERT))
            refuse(out,
                   "halyard: %s naming reference table %s with other tables: write it alone "
                   "(it is copied on every group)",
                   sh.verb, r->table);
        else if (sh.first_is_ref)
            out->verdict = KEY_ALL;
        else
            out->verdict = KEY_NONE; /* a write to another table that reads it */
        return;
    }
    const struct shard_table *x = &tb->v[sh.table];
    snprintf(out->why, sizeof(out->why), "%s.%s", x->schema, x->table);
    if (sh.st == ST_INFO)
        return; /* the same definition on every group */
    if (sh.multi) {
        refuse(out, "halyard: a multi-statement text naming sharded table %s", x->table);
        return;
    }
    if (sh.table2 >= 0) {
        refuse(out, "halyard: %s names sharded tables %s and %s: a statement runs on one group",
               sh.verb, x->table, tb->v[sh.table2].table);
        return;
    }
    if (sh.st == ST_DDL) {
        if (sh.first_ref == sh.table && !sh.first_is_ref && !sh.first_plain && sh.n_refs == 1)
            out->verdict = KEY_ALL;
        else
            refuse(out, "halyard: %s naming sharded table %s with other tables is not supported",
                   sh.verb, x->table);
        return;
    }
    if (sh.st == ST_OTHER) {
        refuse(out, "halyard: %s on sharded table %s is not supported", sh.verb, x->table);
        return;
    }
    if (sh.n_sharded > 1) {
        refuse(out,
               "halyard: %s names sharded table %s twice: a self-join or subquery on it "
               "crosses groups",
               sh.verb, x->table);
        return;
    }
    if ((sh.st == ST_UPDATE || sh.st == ST_DELETE) && sh.ref >= 0 &&
        !writes_only_sharded(in, &sh)) {
        refuse(out,
               "halyard: %s naming sharded table %s and reference table %s may change %s, a copy "
               "on every group: write only the columns of %s, qualified (%s.column or its alias)",
               sh.verb, x->table, tb->ref[sh.ref].table, tb->ref[sh.ref].table, x->table, x->table);
        return;
    }
    if (sh.key_assigned) {
        refuse(out,
               "halyard: %s on sharded table %s changes its key %s.%s: a row does not move "
               "between groups",
               sh.verb, x->table, x->table, x->key);
        return;
    }
    struct key_params kp = {0};
    if (sh.st == ST_INSERT) {
        if (sh.first_ref != sh.table || sh.first_is_ref || sh.insert_select) {
            refuse(out, "halyard: %s ... SELECT into or from sharded table %s is not supported",
                   sh.verb, x->table);
            return;
        }
        if (sh.have_set) {
            if (!set_key(in, &sh, &kp)) {
                refuse(out, "halyard: %s on sharded table %s needs %s.%s as %s literal", sh.verb,
                       x->table, x->table, x->key, lit_kind(x));
                return;
            }
        } else {
            int pos = sh.have_cols ? insert_key_pos(in, &sh) : -1;
            if (pos < 0 || !sh.have_values) {
                refuse(out, "halyard: %s on sharded table %s needs a column list naming %s.%s",
                       sh.verb, x->table, x->table, x->key);
                return;
            }
            size_t end;
            bool all_ok;
            int rows = each_row(in, x, sh.values, pos, &kp, NULL, NULL, &end, &all_ok);
            if (rows <= 0 || !all_ok) {
                refuse(out,
                       "halyard: %s on sharded table %s needs %s.%s as %s literal in every row",
                       sh.verb, x->table, x->table, x->key, lit_kind(x));
                return;
            }
        }
        kp.any_of = false;
    } else {
        int k = (sh.subquery || sh.sharded_deep) ? 0 : where_key(in, &sh, &kp);
        if (k == 0) {
            if (out->write)
                refuse(out, "halyard: %s on sharded table %s needs %s.%s", sh.verb, x->table,
                       x->table, x->key);
            else
                out->verdict = KEY_SCATTER;
            return;
        }
        kp.any_of = k == 2;
    }
    for (size_t i = 0; i < kp.n; i++) {
        if (kp.param[i] != UINT16_MAX) {
            out->verdict = KEY_PARAMS;
            out->params = kp;
            return;
        }
    }
    by_values(tb, out, kp.lit, kp.n, kp.any_of, sh.st == ST_INSERT, sh.verb);
}

void shard_key_params(const struct shard_tables *tables, struct key_out *out, const int64_t *vals,
                      const bool *ok)
{
    const struct shard_table *x = &tables->v[out->table];
    uint16_t g[KEY_MAX_PARAMS] = {0};
    for (size_t i = 0; i < out->params.n && i < KEY_MAX_PARAMS; i++) {
        if (out->params.param[i] != UINT16_MAX && ok[i])
            g[i] = shard_key_group(x, vals[i]);
    }
    shard_key_params_groups(tables, out, g, ok);
}

void shard_key_params_groups(const struct shard_tables *tables, struct key_out *out,
                             const uint16_t *groups, const bool *ok)
{
    const struct shard_table *x = &tables->v[out->table];
    const struct key_params *kp = &out->params;
    const char *verb = out->verb != NULL ? out->verb : "statement";
    uint16_t v[KEY_MAX_PARAMS] = {0};
    size_t n = 0;
    bool insert = !kp->any_of && out->write && kp->n > 1;
    for (size_t i = 0; i < kp->n; i++) {
        if (kp->param[i] == UINT16_MAX) {
            v[n++] = kp->lit[i];
            continue;
        }
        if (!ok[i]) {
            if (out->write)
                refuse(out, "halyard: %s on sharded table %s needs %s %s.%s in its parameter %u",
                       verb, x->table, x->type == KEY_TYPE_STRING ? "a string" : "an integer",
                       x->table, x->key, (unsigned)kp->param[i] + 1);
            else
                out->verdict = KEY_SCATTER;
            return;
        }
        v[n++] = groups[i];
    }
    /* a multi-row INSERT across groups: split, its values written in
     * (session_ps.c) */
    by_values(tables, out, v, n, kp->any_of, insert, verb);
}

/* ---- KEY_SPLIT ------------------------------------------------------- */

struct split {
    const struct shard_table *x;
    const char *sql;
    uint16_t group;
    char *buf;
    size_t cap, n, rows;
    bool fits;
    uint32_t seen, first, last; /* rows of the statement; the group's first and last */
};

static void split_row(void *ctx, size_t off, size_t end, bool ok, uint16_t group)
{
    struct split *sp = ctx;
    uint32_t at = sp->seen++;
    if (!ok || group != sp->group)
        return;
    if (sp->rows == 0)
        sp->first = at;
    sp->last = at;
    size_t need = (sp->rows > 0 ? 2 : 0) + (end - off);
    if (sp->n + need >= sp->cap) {
        sp->fits = false;
        return;
    }
    if (sp->rows > 0) {
        memcpy(sp->buf + sp->n, ", ", 2);
        sp->n += 2;
    }
    memcpy(sp->buf + sp->n, sp->sql + off, end - off);
    sp->n += end - off;
    sp->rows++;
}

size_t shard_key_split(const struct key_in *in, uint16_t group, char *buf, size_t cap, bool *fits)
{
    uint32_t first, last;
    return shard_key_split_rows(in, group, buf, cap, fits, &first, &last);
}

/* The value at c, one token (or `-` and a number) up to the row's next
 * ',' or ')': whether it makes the server generate an id for an
 * AUTO_INCREMENT column. */
static enum key_gen value_gen(struct cur *c)
{
    enum key_gen g = KEY_GEN_UNSURE;
    if (c->t.kw == KW_NULL || c->t.kw == KW_DEFAULT) {
        g = KEY_GEN_YES;
        adv(c);
    } else {
        bool neg = is_op(c, &c->t, "-");
        if (neg)
            adv(c);
        if (c->t.type == T_NUMBER) {
            /* a plain integer other than 0 (0 generates one unless the
             * sql_mode has NO_AUTO_VALUE_ON_ZERO, not known here) */
            const unsigned char *p = c->s + c->t.off;
            bool digits = c->t.len > 0, nonzero = false;
            for (size_t i = 0; i < c->t.len && digits; i++) {
                digits = p[i] >= '0' && p[i] <= '9';
                nonzero |= p[i] != '0';
            }
            if (digits && nonzero)
                g = KEY_GEN_NO;
            adv(c);
        }
    }
    return c->t.type == T_COMMA || c->t.type == T_RPAREN ? g : KEY_GEN_UNSURE;
}

struct row_find {
    uint32_t want, at;
    uint16_t group;
};

static void row_find(void *ctx, size_t off, size_t end, bool ok, uint16_t group)
{
    (void)off;
    (void)end;
    struct row_find *rf = ctx;
    if (rf->at++ == rf->want && ok)
        rf->group = group;
}

uint16_t shard_key_row_group(const struct key_in *in, uint32_t row)
{
    kw_ready();
    struct shape sh;
    pass1(in, &sh);
    if (sh.table < 0 || sh.st != ST_INSERT || !sh.have_values || !sh.have_cols)
        return UINT16_MAX;
    int pos = insert_key_pos(in, &sh);
    if (pos < 0)
        return UINT16_MAX;
    struct row_find rf = {.want = row, .group = UINT16_MAX};
    size_t end;
    bool all_ok;
    if (each_row(in, &in->tables->v[sh.table], sh.values, pos, NULL, row_find, &rf, &end,
                 &all_ok) <= 0)
        return UINT16_MAX;
    return rf.group;
}

enum key_gen shard_key_insert_gen(const struct key_in *in, const char *column, uint32_t *row)
{
    *row = 0;
    kw_ready();
    struct shape sh;
    pass1(in, &sh);
    if (sh.table < 0 || sh.st != ST_INSERT || !sh.have_values || !sh.have_cols)
        return KEY_GEN_UNSURE;
    int pos = insert_col_pos(&sh, column);
    if (pos < 0)
        return KEY_GEN_YES; /* not given: every row generates one */
    struct cur c = sh.values;
    for (uint32_t r = 0;; r++) {
        if (c.t.type != T_LPAREN)
            return KEY_GEN_UNSURE;
        adv(&c);
        enum key_gen g = KEY_GEN_UNSURE;
        for (int col = 0;; col++) {
            if (col == pos)
                g = value_gen(&c);
            int depth = 0;
            while (c.t.type != T_END &&
                   !(depth == 0 && (c.t.type == T_COMMA || c.t.type == T_RPAREN))) {
                depth += c.t.type == T_LPAREN ? 1 : c.t.type == T_RPAREN ? -1 : 0;
                adv(&c);
            }
            if (c.t.type != T_COMMA)
                break;
            adv(&c);
        }
        if (c.t.type != T_RPAREN)
            return KEY_GEN_UNSURE;
        adv(&c);
        if (g != KEY_GEN_NO) {
            *row = r;
            return g;
        }
        if (c.t.type != T_COMMA)
            return KEY_GEN_NO;
        adv(&c);
    }
}

size_t shard_key_split_rows(const struct key_in *in, uint16_t group, char *buf, size_t cap,
                            bool *fits, uint32_t *first, uint32_t *last)
{
    *fits = true;
    *first = *last = 0;
    kw_ready();
    struct shape sh;
    pass1(in, &sh);
    if (sh.table < 0 || sh.st != ST_INSERT || !sh.have_values || !sh.have_cols)
        return 0;
    int pos = insert_key_pos(in, &sh);
    if (pos < 0)
        return 0;
    size_t start = sh.values.t.off;
    struct split sp = {.x = &in->tables->v[sh.table],
                       .sql = in->sql,
                       .group = group,
                       .buf = buf,
                       .cap = cap,
                       .fits = true};
    if (start >= cap) {
        *fits = false;
        return 0;
    }
    memcpy(buf, in->sql, start);
    sp.n = start;
    size_t end;
    bool all_ok;
    if (each_row(in, sp.x, sh.values, pos, NULL, split_row, &sp, &end, &all_ok) <= 0 || !all_ok)
        return 0;
    if (!sp.fits || sp.n + (in->len - end) >= cap) {
        *fits = false;
        return 0;
    }
    if (sp.rows == 0)
        return 0;
    *first = sp.first;
    *last = sp.last;
    memcpy(buf + sp.n, in->sql + end, in->len - end);
    sp.n += in->len - end;
    buf[sp.n] = '\0';
    return sp.n;
}

const char *shard_key_verdict_to_str(enum key_verdict v)
{
    switch (v) {
    case KEY_NONE:
        return "none";
    case KEY_ONE:
        return "one";
    case KEY_SCATTER:
        return "scatter";
    case KEY_ALL:
        return "all";
    case KEY_SPLIT:
        return "split";
    case KEY_REFUSE:
        return "refuse";
    case KEY_PARAMS:
        return "params";
    }
    return "?";
}
