/*
 * cache_sql.c: see cache_sql.h.
 *
 * One pass of the classifier's lexer (so quotes, comments and executable
 * comments are what the server sees) with a small state for table
 * references: FROM and JOIN expect one, a comma at the top level of a
 * FROM clause another; a reference is `name` or `name.name`, then an
 * optional alias. Parentheses are only ever function calls or
 * expressions, since a SELECT after `(` or a `(` where a table is expected
 * is refused.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "halyard/sql/cache_sql.h"
#include "halyard/sql/lexer.h"

/* Functions whose value is their arguments' alone (and the session state
 * the cache key holds: character set, collation, sql_mode). */
static const char *const pure_funcs[] = {
    "COUNT",     "SUM",      "MIN",          "MAX",        "AVG",     "ABS",      "ROUND",
    "FLOOR",     "CEIL",     "CEILING",      "MOD",        "SIGN",    "TRUNCATE", "CONCAT",
    "CONCAT_WS", "LOWER",    "UPPER",        "LCASE",      "UCASE",   "LENGTH",   "CHAR_LENGTH",
    "SUBSTRING", "SUBSTR",   "LEFT",         "RIGHT",      "TRIM",    "LTRIM",    "RTRIM",
    "REPLACE",   "COALESCE", "IFNULL",       "NULLIF",     "IF",      "CAST",     "GREATEST",
    "LEAST",     "LPAD",     "RPAD",         "LOCATE",     "INSTR",   "FIELD",    "HEX",
    "MD5",       "SHA1",     "SHA2",         "BIT_LENGTH", "REVERSE", "REPEAT",   "DISTINCT",
    "ISNULL",    "STRCMP",   "GROUP_CONCAT", "BIT_AND",    "BIT_OR",  "BIT_XOR",  "STD",
    "STDDEV",    "VARIANCE", "JSON_EXTRACT", "JSON_VALUE",
};

/* Words a `(` may follow that are not calls (operators, clauses, types). */
static const char *const paren_words[] = {
    "IN",       "ON",   "USING",  "AND",  "OR",      "NOT",     "XOR",    "WHERE",
    "HAVING",   "BY",   "SELECT", "IS",   "LIKE",    "BETWEEN", "WHEN",   "THEN",
    "ELSE",     "CASE", "AS",     "CHAR", "VARCHAR", "DECIMAL", "BINARY", "SIGNED",
    "UNSIGNED", "DIV",  "ALL",    "ANY",  "REGEXP",  "RLIKE",   "ESCAPE",
};

/* Words that end a FROM clause at the top level. */
static const char *const from_end[] = {"WHERE",     "GROUP",  "HAVING",   "ORDER", "LIMIT",
                                       "UNION",     "WINDOW", "INTO",     "FOR",   "LOCK",
                                       "PROCEDURE", "EXCEPT", "INTERSECT"};

static const char *const system_schemas[] = {"mysql", "information_schema", "performance_schema",
                                             "sys"};

static const char *const verdicts[] = {
    "ok",         "not one SELECT", "SQL_NO_CACHE",    "a variable",        "a function",
    "a subquery", "no table",       "a system schema", "no default schema", "too many tables",
};

const char *cache_sql_verdict_str(enum cache_sql_verdict v)
{
    return (size_t)v < sizeof(verdicts) / sizeof(verdicts[0]) ? verdicts[v] : "?";
}

static bool in_list(const unsigned char *p, size_t n, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (ci_equal(p, n, list[i]))
            return true;
    return false;
}

#define IN_LIST(p, n, list) in_list(p, n, list, sizeof(list) / sizeof(list[0]))

enum tstate {
    TS_NONE,   /* not in a table reference */
    TS_EXPECT, /* a table reference comes */
    TS_NAME1,  /* after its first name part */
    TS_NAME2,  /* after `name.` */
    TS_AFTER,  /* after the table's name: an alias may come */
    TS_ALIAS,  /* after AS */
};

struct walk {
    const unsigned char *s;
    const char *schema;
    struct cache_sql *out;
    enum tstate ts;
    struct token part1;
    bool in_from;
};

static bool is_name(const struct token *t)
{
    return (t->type == T_WORD && t->kw == KW_NONE) || t->type == T_QIDENT;
}

/* The unquoted name of token t into buf (cap bytes); false when it
 * does not fit or holds its quote. */
static bool name_of(const struct walk *w, const struct token *t, char *buf, size_t cap)
{
    size_t off = t->type == T_QIDENT ? t->in_off : t->off;
    size_t len = t->type == T_QIDENT ? t->in_len : t->len;
    if (len == 0 || len >= cap || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = w->s[off + i];
        if (c == '`' || c == '"' || c == '.')
            return false;
        buf[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    buf[len] = '\0';
    return true;
}

/* A table reference schema.table (schema NULL: the default). */
static enum cache_sql_verdict emit(struct walk *w, const struct token *sch, const struct token *tab)
{
    char s[65], t[65];
    if (sch != NULL) {
        if (!name_of(w, sch, s, sizeof(s)))
            return CACHE_SQL_SUBQUERY;
    } else {
        if (w->schema == NULL || w->schema[0] == '\0')
            return CACHE_SQL_NO_SCHEMA;
        size_t n = strlen(w->schema);
        if (n >= sizeof(s))
            return CACHE_SQL_NO_SCHEMA;
        for (size_t i = 0; i <= n; i++)
            s[i] = (char)(w->schema[i] >= 'A' && w->schema[i] <= 'Z' ? w->schema[i] + 32
                                                                     : w->schema[i]);
    }
    if (!name_of(w, tab, t, sizeof(t)))
        return CACHE_SQL_SUBQUERY;
    for (size_t i = 0; i < sizeof(system_schemas) / sizeof(system_schemas[0]); i++)
        if (strcmp(s, system_schemas[i]) == 0)
            return CACHE_SQL_SYSTEM;
    char full[CACHE_SQL_NAME_MAX];
    memcpy(full, s, strlen(s));
    full[strlen(s)] = '.';
    memcpy(full + strlen(s) + 1, t, strlen(t) + 1);
    for (unsigned i = 0; i < w->out->ntables; i++)
        if (strcmp(w->out->tables[i], full) == 0)
            return CACHE_SQL_OK;
    if (w->out->ntables == CACHE_SQL_MAX_TABLES)
        return CACHE_SQL_TOO_MANY;
    memcpy(w->out->tables[w->out->ntables++], full, strlen(full) + 1);
    return CACHE_SQL_OK;
}

/* The table reference state, token t. */
static enum cache_sql_verdict table_step(struct walk *w, const struct token *t)
{
    enum cache_sql_verdict v;
    switch (w->ts) {
    case TS_EXPECT:
        if (t->type == T_WORD && t->kw == KW_DUAL) {
            w->ts = TS_AFTER;
            return CACHE_SQL_OK;
        }
        if (!is_name(t))
            return CACHE_SQL_SUBQUERY; /* (, LATERAL, JSON_TABLE ... */
        w->part1 = *t;
        w->ts = TS_NAME1;
        return CACHE_SQL_OK;
    case TS_NAME1:
        if (t->type == T_DOT) {
            w->ts = TS_NAME2;
            return CACHE_SQL_OK;
        }
        if ((v = emit(w, NULL, &w->part1)) != CACHE_SQL_OK)
            return v;
        w->ts = TS_AFTER;
        return table_step(w, t);
    case TS_NAME2:
        if (!is_name(t) && t->type != T_WORD)
            return CACHE_SQL_SUBQUERY;
        if ((v = emit(w, &w->part1, t)) != CACHE_SQL_OK)
            return v;
        w->ts = TS_AFTER;
        return CACHE_SQL_OK;
    case TS_AFTER:
        if (t->type == T_WORD && ci_equal(w->s + t->off, t->len, "AS")) {
            w->ts = TS_ALIAS;
            return CACHE_SQL_OK;
        }
        w->ts = TS_NONE;
        if (is_name(t))
            return CACHE_SQL_OK; /* an alias */
        return CACHE_SQL_OK;
    case TS_ALIAS:
        w->ts = TS_NONE;
        return CACHE_SQL_OK;
    case TS_NONE:
        break;
    }
    return CACHE_SQL_OK;
}

/* A `(` after token prev (and the one before it, prev2). */
static enum cache_sql_verdict paren(const struct walk *w, const struct token *prev,
                                    const struct token *prev2)
{
    if (w->ts == TS_EXPECT)
        return CACHE_SQL_SUBQUERY;
    if (prev->type == T_QIDENT || (prev->type == T_WORD && prev2->type == T_DOT))
        return CACHE_SQL_FUNCTION; /* `f`(), db.f(): stored functions */
    if (prev->type != T_WORD)
        return CACHE_SQL_OK;
    const unsigned char *p = w->s + prev->off;
    if (IN_LIST(p, prev->len, pure_funcs) || IN_LIST(p, prev->len, paren_words))
        return CACHE_SQL_OK;
    return CACHE_SQL_FUNCTION;
}

static bool has_nocache(const char *sql, size_t len)
{
    static const char mark[] = "halyard:nocache";
    size_t m = sizeof(mark) - 1;
    for (size_t i = 0; i + m <= len; i++)
        if (strncasecmp(sql + i, mark, m) == 0)
            return true;
    return false;
}

enum cache_sql_verdict cache_sql_tables(const char *sql, size_t len, unsigned opts,
                                        const char *schema, struct cache_sql *out)
{
    struct lexer lx;
    struct token t, prev = {.type = T_END}, prev2 = {.type = T_END};
    struct walk w = {.schema = schema, .out = out, .ts = TS_NONE};
    unsigned depth = 0, pos = 0;
    bool ended = false;
    enum cache_sql_verdict v;

    out->ntables = 0;
    if (len > CLASSIFY_MAX_LEN)
        return CACHE_SQL_NOT_SELECT;
    if (has_nocache(sql, len))
        return CACHE_SQL_NOCACHE;
    kw_ready();
    lex_init(&lx, sql, len, opts, NULL);
    w.s = lx.s;
    for (;; pos++) {
        lex_next(&lx, &t);
        if (t.type == T_END)
            break;
        if (ended)
            return CACHE_SQL_NOT_SELECT; /* something after the `;` */
        const unsigned char *p = lx.s + t.off;
        if (pos == 0 && t.kw != KW_SELECT)
            return CACHE_SQL_NOT_SELECT;
        switch (t.type) {
        case T_SEMI:
            if (depth != 0)
                return CACHE_SQL_NOT_SELECT;
            ended = true;
            break;
        case T_UVAR:
        case T_SVAR:
        case T_PARAM:
            return CACHE_SQL_VARIABLE;
        case T_LPAREN:
            if ((v = paren(&w, &prev, &prev2)) != CACHE_SQL_OK)
                return v;
            depth++;
            break;
        case T_RPAREN:
            if (depth == 0)
                return CACHE_SQL_NOT_SELECT;
            depth--;
            break;
        default:
            break;
        }
        if (t.type == T_WORD && ci_equal(p, t.len, "SQL_NO_CACHE"))
            return CACHE_SQL_NOCACHE;
        if (t.type == T_WORD && t.kw == KW_SELECT && pos > 0 && prev.type == T_LPAREN)
            return CACHE_SQL_SUBQUERY;
        if (t.type == T_WORD && t.kw == KW_SELECT && pos > 0 && depth > 0)
            return CACHE_SQL_SUBQUERY;
        if ((v = table_step(&w, &t)) != CACHE_SQL_OK)
            return v;
        if (t.type == T_WORD && depth == 0 && w.ts == TS_NONE) {
            if (t.kw == KW_FROM) {
                w.in_from = true;
                w.ts = TS_EXPECT;
            } else if (ci_equal(p, t.len, "JOIN") || ci_equal(p, t.len, "STRAIGHT_JOIN")) {
                w.ts = TS_EXPECT;
            } else if (IN_LIST(p, t.len, from_end)) {
                w.in_from = false;
            }
        } else if (t.type == T_WORD && depth > 0 &&
                   (t.kw == KW_FROM || ci_equal(p, t.len, "JOIN"))) {
            /* FROM inside parentheses: a subquery, or EXTRACT(x FROM y)-like
             * syntax this code does not follow */
            return CACHE_SQL_SUBQUERY;
        }
        if (t.type == T_COMMA && depth == 0 && w.in_from && w.ts == TS_NONE)
            w.ts = TS_EXPECT;
        prev2 = prev;
        prev = t;
    }
    if (pos == 0 || lx.unterminated || depth != 0)
        return CACHE_SQL_NOT_SELECT;
    if (w.ts == TS_NAME1 && (v = emit(&w, NULL, &w.part1)) != CACHE_SQL_OK)
        return v;
    if (w.ts == TS_EXPECT || w.ts == TS_NAME2)
        return CACHE_SQL_NOT_SELECT;
    return out->ntables > 0 ? CACHE_SQL_OK : CACHE_SQL_NO_TABLE;
}
