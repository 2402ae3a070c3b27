/*
 * classify_schema.c: the schemas a statement names (classify.h,
 * classify_schemas), for routing by schema (shard.h).
 *
 * One pass of the classifier's lexer, so quoted names, comments,
 * executable comments and strings are what the server sees: `a.b` in a
 * string or a comment names nothing, `a`.`b` does. Two kinds of names:
 *  - sure: positions where the grammar takes a database and nothing else
 *    (USE db, CREATE/DROP/ALTER DATABASE db, SHOW CREATE DATABASE db,
 *    SHOW TABLES FROM db and its kin);
 *  - qualified: the first part of a dotted name. The lexer cannot tell
 *    `db.table` from `alias.column`; the caller decides, by its map.
 * A window of the last three tokens finds dotted names; a small state per
 * statement (reset at each `;`) finds the sure ones.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "halyard/sql/classify.h"
#include "halyard/sql/lexer.h"

enum expect {
    EX_NONE,
    EX_DB,       /* the next name is a database */
    EX_DB_IF,    /* ... after IF [NOT] EXISTS, if there */
    EX_DB_ALTER, /* ALTER DATABASE: a database unless the options start at once */
};

struct scan {
    const unsigned char *s;
    classify_schema_fn fn;
    void *ctx;
    char name[CLASSIFY_NAME_MAX + 1];
};

static bool is_name_tok(const struct token *t)
{
    return t->type == T_WORD || t->type == T_QIDENT;
}

static bool word_is(const struct scan *sc, const struct token *t, const char *w)
{
    return t->type == T_WORD && ci_equal(sc->s + t->off, t->len, w);
}

/* Pass name token t to the caller, unquoted; true to stop. */
static bool report(struct scan *sc, const struct token *t, bool sure)
{
    if (t->type == T_WORD)
        return sc->fn(sc->ctx, (const char *)sc->s + t->off, t->len, sure);
    size_t n = 0;
    unsigned char quote = sc->s[t->off];
    for (size_t i = t->in_off; i < t->in_off + t->in_len; i++) {
        if (n == CLASSIFY_NAME_MAX) /* too long to be a real name: as written */
            return sc->fn(sc->ctx, (const char *)sc->s + t->in_off, t->in_len, sure);
        sc->name[n++] = (char)sc->s[i];
        if (sc->s[i] == quote)
            i++; /* a doubled quote */
    }
    sc->name[n] = '\0';
    return sc->fn(sc->ctx, sc->name, n, sure);
}

/* ALTER DATABASE's options, which may follow it without a name. */
static bool alter_option(const struct scan *sc, const struct token *t)
{
    static const char *const opts[] = {"DEFAULT", "CHARACTER", "CHARSET",
                                       "COLLATE", "COMMENT",   "UPGRADE"};
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        if (word_is(sc, t, opts[i]))
            return true;
    }
    return false;
}

bool classify_schemas(const char *sql, size_t len, unsigned opts, classify_schema_fn fn, void *ctx)
{
    struct lexer lx;
    struct token t, p1 = {.type = T_END}, p2 = {.type = T_END};
    enum tok_type p3 = T_END;
    struct scan sc = {.fn = fn, .ctx = ctx};
    unsigned pos = 0;     /* tokens of the statement before t */
    uint8_t first = 0;    /* the statement's first keyword (enum kw) */
    bool ddl = false;     /* CREATE, DROP, ALTER, SHOW CREATE: DATABASE db may follow */
    bool alter = false;   /* ... ALTER */
    bool show_db = false; /* SHOW TABLES and kin: FROM|IN db */
    enum expect ex = EX_NONE;

    kw_ready();
    lex_init(&lx, sql, len > CLASSIFY_MAX_LEN ? 0 : len, opts, NULL);
    sc.s = lx.s;
    for (;;) {
        lex_next(&lx, &t);
        if (t.type == T_END)
            return false;
        if (t.type == T_SEMI) {
            pos = 0;
            first = 0;
            ddl = alter = show_db = false;
            ex = EX_NONE;
            p3 = p2.type;
            p2 = p1;
            p1 = t;
            continue;
        }
        /* db.t, db.t.c, db.*: the part before the first dot. */
        if ((is_name_tok(&t) || (t.type == T_OP && t.len == 1 && lx.s[t.off] == '*')) &&
            p1.type == T_DOT && is_name_tok(&p2) && p3 != T_DOT && report(&sc, &p2, false))
            return true;
        if (pos == 0 && t.type == T_WORD) {
            first = t.kw;
            if (t.kw == KW_USE)
                ex = EX_DB;
            ddl = t.kw == KW_CREATE || t.kw == KW_DROP || word_is(&sc, &t, "ALTER");
            alter = ddl && t.kw != KW_CREATE && t.kw != KW_DROP;
        } else if (ex != EX_NONE && is_name_tok(&t)) {
            if (ex == EX_DB_IF &&
                (word_is(&sc, &t, "IF") || word_is(&sc, &t, "NOT") || t.kw == KW_EXISTS)) {
                /* IF [NOT] EXISTS: the name follows */
            } else {
                bool opt = ex == EX_DB_ALTER && t.type == T_WORD && alter_option(&sc, &t);
                ex = EX_NONE;
                if (!opt && report(&sc, &t, true))
                    return true;
            }
        } else if (ex != EX_NONE) {
            ex = EX_NONE; /* not a name: USE with nothing after it, a syntax error */
        } else if (first == KW_SHOW && pos == 1 && t.kw == KW_CREATE) {
            ddl = true;
        } else if (first == KW_SHOW && (pos == 1 || (pos == 2 && word_is(&sc, &p1, "FULL"))) &&
                   (t.kw == KW_TABLES || t.kw == KW_TABLE || word_is(&sc, &t, "TRIGGERS") ||
                    word_is(&sc, &t, "EVENTS") || word_is(&sc, &t, "OPEN"))) {
            show_db = true;
        } else if (ddl && pos <= 3 &&
                   (word_is(&sc, &t, "DATABASE") || word_is(&sc, &t, "SCHEMA"))) {
            ex = alter ? EX_DB_ALTER : EX_DB_IF;
            ddl = false;
        } else if (show_db && (t.kw == KW_FROM || t.kw == KW_IN)) {
            ex = EX_DB;
            show_db = false;
        }
        pos++;
        p3 = p2.type;
        p2 = p1;
        p1 = t;
    }
}
