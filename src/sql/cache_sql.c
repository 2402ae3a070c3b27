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
#include "halyard/sql/sqlfunc.h"

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
    "ok",
    "not one SELECT",
    "SQL_NO_CACHE",
    "a variable",
    "a function",
    "a subquery",
    "no table",
    "a system schema",
    "no default schema",
    "too many tables",
    "FOUND_ROWS() not its rows",
};

const char *cache_sql_verdict_str(enum cache_sql_verdict v)
{
    return (size_t)v < sizeof(verdicts) / sizeof(verdicts[0]) ? verdicts[v] : "?";
}

/* Whether the n bytes at p are one of the words of list (upper case, each
 * starting with a letter), in any case: the first letter looked at before
 * any compare (a byte & 0xDF is an upper-case letter L only for L and its
 * lower case). */
static bool in_list(const unsigned char *p, size_t n, const char *const *list, size_t count)
{
    if (n == 0)
        return false;
    char c = (char)(p[0] & 0xDF);
    for (size_t i = 0; i < count; i++)
        if (list[i][0] == c && ci_equal(p, n, list[i]))
            return true;
    return false;
}

#define IN_LIST(p, n, list) in_list(p, n, list, sizeof(list) / sizeof(list[0]))

/* ci_equal() with a literal, its length compared first. */
#define WORD_IS(p, n, lit) ((n) == sizeof(lit) - 1 && ci_equal(p, n, lit))

enum tstate {
    TS_NONE,   /* not in a table reference */
    TS_EXPECT, /* a table reference comes */
    TS_NAME1,  /* after its first name part */
    TS_NAME2,  /* after `name.` */
    TS_AFTER,  /* after the table's name: an alias may come */
    TS_ALIAS,  /* after AS */
};

/* The point lookup's term (cache_sql.h), token by token. */
enum pstate {
    PS_NONE,   /* not at a term's start */
    PS_START,  /* after WHERE or AND at the top level */
    PS_COL,    /* after a name */
    PS_COLDOT, /* after `name.` */
    PS_EQ,     /* after `col =` */
    PS_EQNEG,  /* after `col = -` */
    PS_IN,     /* after `col IN` */
    PS_INVAL,  /* after `(` or `,` of the list */
    PS_INNEG,  /* after a `-` in the list */
    PS_INNEXT, /* after a value of the list */
    PS_AFTER,  /* after the term: what comes must end it */
};

struct point {
    enum pstate ps;
    unsigned parts;         /* of the column's name */
    struct token col;       /* its last part */
    bool neg;               /* a minus before the value */
    unsigned nvals;         /* values of the term being read */
    bool overflow;          /* a value that is not a canonical integer, or too many */
    bool found;             /* a term was read whole: out->key_* hold it */
    bool in_where, bad;     /* in the WHERE clause; an OR, BETWEEN ... at its top level */
    unsigned refs, selects; /* table references, SELECT keywords */
};

struct walk {
    const unsigned char *s;
    const char *schema;
    struct cache_sql *out;
    enum tstate ts;
    struct token part1;
    bool in_from;
    struct point pt;
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
    w->pt.refs++;
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
        if (t->type == T_WORD && t->kw == KW_AS) {
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

bool cache_sql_number(const char *p, size_t n, bool neg, char *out, size_t cap)
{
    size_t dot = n, digits = 0;
    for (size_t k = 0; k < n; k++) {
        if (p[k] == '.' && dot == n)
            dot = k;
        else if (p[k] < '0' || p[k] > '9')
            return false; /* 1e3 (a DOUBLE), 0x1F, a second dot */
        else
            digits++;
    }
    /* past 65 digits a literal is a DOUBLE; past 30 decimals a DECIMAL
     * column's scale could round it onto another value */
    if (digits == 0 || digits > 65 || (dot < n && n - dot - 1 > 30))
        return false;
    size_t i = 0, e = n;
    while (i < dot && p[i] == '0')
        i++;
    if (dot < n) {
        while (e > dot + 1 && p[e - 1] == '0')
            e--;
        if (e == dot + 1)
            e = dot; /* no decimals left: no dot either */
    }
    bool zero = i == dot && e <= dot;
    size_t o = 0;
    if (cap < (size_t)(e - i) + 3)
        return false;
    if (neg && !zero)
        out[o++] = '-';
    if (i == dot)
        out[o++] = '0';
    memcpy(out + o, p + i, e - i);
    out[o + e - i] = '\0';
    return true;
}

/* A value of the term (a number, or a string in single quotes without an
 * escape: "'" and its content), kept unless already there. */
static void point_value(struct walk *w, const struct token *t)
{
    struct point *pt = &w->pt;
    char v[CACHE_SQL_VALUE_MAX];
    if (pt->found)
        return; /* the first term is the one kept */
    bool ok;
    if (t->type == T_STRING) {
        const unsigned char *c = w->s + t->in_off;
        ok = !pt->neg && w->s[t->off] == '\'' && t->in_len + 2 <= sizeof(v);
        for (size_t i = 0; ok && i < t->in_len; i++)
            ok = c[i] != '\\' && c[i] != '\'';
        if (ok) {
            v[0] = '\'';
            memcpy(v + 1, c, t->in_len);
            v[t->in_len + 1] = '\0';
        }
    } else {
        ok = cache_sql_number((const char *)w->s + t->off, t->len, pt->neg, v, sizeof(v));
    }
    if (!ok) {
        pt->overflow = true;
        return;
    }
    pt->neg = false;
    for (unsigned i = 0; i < pt->nvals; i++)
        if (strcmp(w->out->key_vals[i], v) == 0)
            return;
    if (pt->nvals == CACHE_SQL_MAX_KEYS) {
        pt->overflow = true;
        return;
    }
    memcpy(w->out->key_vals[pt->nvals++], v, strlen(v) + 1);
}

static bool is_minus(const struct walk *w, const struct token *t)
{
    return t->type == T_OP && t->len == 1 && w->s[t->off] == '-';
}

/* Words after which a term of the WHERE clause has ended. */
static bool term_end(const struct walk *w, const struct token *t, unsigned depth)
{
    static const char *const ends[] = {"GROUP", "HAVING", "ORDER", "LIMIT", "WINDOW"};
    if (depth != 0)
        return false;
    return t->type == T_END || t->type == T_SEMI || (t->type == T_WORD && t->kw == KW_AND) ||
           (t->type == T_WORD && t->kw != KW_NONE && IN_LIST(w->s + t->off, t->len, ends));
}

/* The term read whole: kept as the point lookup (the first one only). */
static void point_found(struct walk *w)
{
    struct point *pt = &w->pt;
    if (!pt->found && !pt->overflow && pt->nvals > 0 &&
        name_of(w, &pt->col, w->out->key_col, sizeof(w->out->key_col))) {
        pt->found = true;
        w->out->nkeys = pt->nvals;
    }
}

/* One token of the statement (depth: parentheses around it) through the
 * point lookup's states; `where_kw`: it is the WHERE that starts the
 * clause (pt->in_where is kept by the caller, which reads the words that
 * end a FROM clause anyway). */
static void point_step(struct walk *w, const struct token *t, unsigned depth, bool where_kw)
{
    struct point *pt = &w->pt;
    const unsigned char *p = w->s + t->off;
    if (t->type == T_WORD && t->kw == KW_SELECT)
        pt->selects++;
    if (depth == 0 && pt->in_where && !where_kw) {
        if (t->type == T_WORD && t->kw != KW_NONE &&
            (t->kw == KW_OR || WORD_IS(p, t->len, "XOR") || WORD_IS(p, t->len, "BETWEEN") ||
             WORD_IS(p, t->len, "CASE")))
            pt->bad = true;
        else if (t->type == T_OP && t->len == 2 && p[0] == '|' && p[1] == '|')
            pt->bad = true;
    }
    switch (pt->ps) {
    case PS_START:
        pt->ps = PS_NONE;
        if (is_name(t)) {
            pt->col = *t;
            pt->parts = 1;
            pt->ps = PS_COL;
        }
        break;
    case PS_COL:
        pt->ps = t->type == T_DOT                      ? PS_COLDOT
                 : t->type == T_EQ                     ? PS_EQ
                 : t->type == T_WORD && t->kw == KW_IN ? PS_IN
                                                       : PS_NONE;
        break;
    case PS_COLDOT:
        pt->ps = PS_NONE;
        if ((is_name(t) || t->type == T_WORD) && pt->parts < 3) {
            pt->col = *t;
            pt->parts++;
            pt->ps = PS_COL;
        }
        break;
    case PS_EQ:
    case PS_EQNEG:
        pt->nvals = 0;
        pt->overflow = false;
        if (pt->ps == PS_EQ && is_minus(w, t)) {
            pt->neg = true;
            pt->ps = PS_EQNEG;
            break;
        }
        pt->ps = PS_NONE;
        if (t->type == T_NUMBER || t->type == T_STRING) {
            point_value(w, t);
            pt->ps = PS_AFTER;
        }
        pt->neg = false;
        break;
    case PS_IN:
        pt->nvals = 0;
        pt->overflow = false;
        pt->ps = t->type == T_LPAREN ? PS_INVAL : PS_NONE;
        break;
    case PS_INVAL:
    case PS_INNEG:
        if (pt->ps == PS_INVAL && is_minus(w, t)) {
            pt->neg = true;
            pt->ps = PS_INNEG;
            break;
        }
        pt->ps = PS_NONE;
        if (t->type == T_NUMBER || t->type == T_STRING) {
            point_value(w, t);
            pt->ps = PS_INNEXT;
        }
        pt->neg = false;
        break;
    case PS_INNEXT:
        pt->ps = t->type == T_COMMA ? PS_INVAL : t->type == T_RPAREN ? PS_AFTER : PS_NONE;
        break;
    case PS_AFTER:
        pt->ps = PS_NONE;
        if (term_end(w, t, depth))
            point_found(w);
        break;
    case PS_NONE:
        break;
    }
    if (pt->ps == PS_NONE && depth == 0 && pt->in_where &&
        (where_kw || (t->type == T_WORD && t->kw == KW_AND)))
        pt->ps = PS_START;
}

static bool has_nocache(const char *sql, size_t len)
{
    static const char mark[] = "halyard:nocache";
    size_t m = sizeof(mark) - 1;
    for (size_t i = 0; i + m <= len; i++)
        if ((sql[i] | 0x20) == 'h' && strncasecmp(sql + i, mark, m) == 0)
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
    bool ended = false, where_kw = false, in_limit = false;
    enum cache_sql_verdict v;

    out->ntables = 0;
    out->nkeys = 0;
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
        /* Every word compared below is in the lexer's keyword table: a
         * word that is none (t.kw == KW_NONE: most names) is none of them. */
        bool kw = t.type == T_WORD && t.kw != KW_NONE;
        if (kw && WORD_IS(p, t.len, "SQL_NO_CACHE"))
            return CACHE_SQL_NOCACHE;
        /* the clock, user and role the server reads without parentheses
         * (CURRENT_TIMESTAMP, UTC_DATE, CURRENT_ROLE ...); after `.` the
         * word is a column to the server */
        if (t.type == T_WORD && prev.type != T_DOT && sqlfunc_nondeterministic(p, t.len, false))
            return CACHE_SQL_FUNCTION;
        /* FOUND_ROWS() after it would not be the count of its rows, which
         * is all halyard tells after a hit (session_cache.c) */
        if (kw && WORD_IS(p, t.len, "SQL_CALC_FOUND_ROWS"))
            return CACHE_SQL_FOUND_ROWS;
        if (in_limit && (t.type == T_COMMA || (kw && WORD_IS(p, t.len, "OFFSET"))))
            return CACHE_SQL_FOUND_ROWS;
        if (kw && WORD_IS(p, t.len, "LIMIT"))
            in_limit = true;
        if (t.type == T_WORD && t.kw == KW_SELECT && pos > 0 && prev.type == T_LPAREN)
            return CACHE_SQL_SUBQUERY;
        if (t.type == T_WORD && t.kw == KW_SELECT && pos > 0 && depth > 0)
            return CACHE_SQL_SUBQUERY;
        if ((v = table_step(&w, &t)) != CACHE_SQL_OK)
            return v;
        if (kw && depth == 0 && w.ts == TS_NONE) {
            if (t.kw == KW_FROM) {
                w.in_from = true;
                w.ts = TS_EXPECT;
            } else if (WORD_IS(p, t.len, "JOIN") || WORD_IS(p, t.len, "STRAIGHT_JOIN")) {
                w.ts = TS_EXPECT;
            } else if (IN_LIST(p, t.len, from_end)) {
                w.in_from = false;
                where_kw = WORD_IS(p, t.len, "WHERE");
                w.pt.in_where = where_kw;
            }
        } else if (kw && depth > 0 && (t.kw == KW_FROM || WORD_IS(p, t.len, "JOIN"))) {
            /* FROM inside parentheses: a subquery, or EXTRACT(x FROM y)-like
             * syntax this code does not follow */
            return CACHE_SQL_SUBQUERY;
        }
        if (t.type == T_COMMA && depth == 0 && w.in_from && w.ts == TS_NONE)
            w.ts = TS_EXPECT;
        point_step(&w, &t, depth, where_kw);
        where_kw = false;
        prev2 = prev;
        prev = t;
    }
    if (pos == 0 || lx.unterminated || depth != 0)
        return CACHE_SQL_NOT_SELECT;
    if (w.ts == TS_NAME1 && (v = emit(&w, NULL, &w.part1)) != CACHE_SQL_OK)
        return v;
    if (w.ts == TS_EXPECT || w.ts == TS_NAME2)
        return CACHE_SQL_NOT_SELECT;
    if (w.pt.ps == PS_AFTER)
        point_found(&w); /* the term ends the statement */
    if (!w.pt.found || w.pt.bad || w.pt.refs != 1 || w.pt.selects != 1 || out->ntables != 1)
        out->nkeys = 0;
    return out->ntables > 0 ? CACHE_SQL_OK : CACHE_SQL_NO_TABLE;
}

/* ---- the table a statement-format write changes ----------------------------- */

/* Words between a DML keyword and its table, and after a table (its
 * alias aside) that start its clauses. */
static const char *const dml_opts[] = {"LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE",
                                       "QUICK"};
/* Calls whose value is computed by the server itself, never a routine. */
static const char *const dml_funcs[] = {
    "VALUES",   "VALUE",    "NOW",     "CURRENT_TIMESTAMP", "UTC_TIMESTAMP",
    "SYSDATE",  "CURDATE",  "CURTIME", "UNIX_TIMESTAMP",    "FROM_UNIXTIME",
    "DATE_ADD", "DATE_SUB", "ROW",     "JSON_OBJECT",       "JSON_ARRAY",
    "UNHEX",    "NULLIF",   "SLEEP"};

enum cache_sql_verdict cache_sql_written(const char *sql, size_t len, unsigned opts,
                                         const char *schema, struct cache_sql *out)
{
    struct lexer lx;
    struct token t, prev = {.type = T_END}, prev2 = {.type = T_END}, name1 = {.type = T_END};
    struct walk w = {.schema = schema, .out = out};
    out->ntables = 0;
    out->nkeys = 0;
    if (len > CLASSIFY_MAX_LEN || memchr(sql, '\\', len) != NULL || memchr(sql, '"', len) != NULL)
        return CACHE_SQL_NOT_SELECT; /* a sql_mode (NO_BACKSLASH_ESCAPES, ANSI_QUOTES) may matter */
    /* an executable comment runs or not by the server's version (a
     * version number after its `!`): what it names is not known for sure */
    if (memmem(sql, len, "/*!", 3) != NULL || memmem(sql, len, "/*M!", 4) != NULL)
        return CACHE_SQL_NOT_SELECT;
    kw_ready();
    lex_init(&lx, sql, len, opts, NULL);
    w.s = lx.s;
    /* the verb, its options (INTO, FROM), the table's name (one or two
     * parts), then the rest: before its SET / WHERE at the top level no
     * comma (another table), never JOIN or USING */
    enum { VERB, OPTS, NAME1, NAME2, REST } stage = VERB;
    int verb = 0;
    unsigned depth = 0;
    bool head = true; /* before SET, VALUES, WHERE ... */
    for (;;) {
        lex_next(&lx, &t);
        if (t.type == T_END)
            break;
        const unsigned char *p = lx.s + t.off;
        if (t.type == T_UVAR || t.type == T_SVAR || t.type == T_PARAM)
            return CACHE_SQL_VARIABLE;
        if (t.type == T_SEMI || (t.type == T_WORD && (t.kw == KW_SELECT || t.kw == KW_CALL)))
            return CACHE_SQL_SUBQUERY;
        if (stage == NAME1 || stage == NAME2) {
            if (t.type == T_DOT && stage == NAME1) {
                stage = NAME2;
                goto next;
            }
            if (stage == NAME2 && (is_name(&t) || t.type == T_WORD)) {
                if (emit(&w, &name1, &t) != CACHE_SQL_OK)
                    return CACHE_SQL_NO_SCHEMA;
                stage = REST;
                goto next;
            }
            if (stage == NAME2 || emit(&w, NULL, &name1) != CACHE_SQL_OK)
                return CACHE_SQL_NO_SCHEMA;
            stage = REST;
        }
        switch (stage) {
        case VERB:
            if (t.type != T_WORD ||
                (t.kw != KW_INSERT && t.kw != KW_REPLACE && t.kw != KW_UPDATE && t.kw != KW_DELETE))
                return CACHE_SQL_NOT_SELECT;
            verb = t.kw;
            stage = OPTS;
            break;
        case OPTS:
            if (t.type == T_WORD && IN_LIST(p, t.len, dml_opts))
                break;
            if (t.type == T_WORD && t.kw == KW_INTO && (verb == KW_INSERT || verb == KW_REPLACE))
                break;
            if (t.type == T_WORD && t.kw == KW_FROM && verb == KW_DELETE) {
                verb = -1; /* DELETE ... FROM */
                break;
            }
            if (verb == KW_DELETE || !is_name(&t))
                return CACHE_SQL_SUBQUERY; /* DELETE t1 FROM ...: several tables */
            name1 = t;
            stage = NAME1;
            break;
        default:
            if (t.type == T_LPAREN) {
                bool cols = head && depth == 0 && (verb == KW_INSERT || verb == KW_REPLACE);
                enum cache_sql_verdict v = cols ? CACHE_SQL_OK : paren(&w, &prev, &prev2);
                if (v == CACHE_SQL_FUNCTION && prev.type == T_WORD && prev2.type != T_DOT &&
                    IN_LIST(lx.s + prev.off, prev.len, dml_funcs))
                    v = CACHE_SQL_OK;
                if (v != CACHE_SQL_OK)
                    return v;
                depth++;
            } else if (t.type == T_RPAREN) {
                if (depth == 0)
                    return CACHE_SQL_NOT_SELECT;
                depth--;
            } else if (t.type == T_COMMA && head && depth == 0) {
                return CACHE_SQL_SUBQUERY; /* UPDATE a, b / DELETE FROM a, b */
            } else if (t.type == T_WORD &&
                       (ci_equal(p, t.len, "JOIN") || ci_equal(p, t.len, "STRAIGHT_JOIN") ||
                        ci_equal(p, t.len, "USING") || ci_equal(p, t.len, "PARTITION"))) {
                return CACHE_SQL_SUBQUERY;
            } else if (t.type == T_WORD && depth == 0 &&
                       (t.kw == KW_SET || ci_equal(p, t.len, "VALUES") ||
                        ci_equal(p, t.len, "VALUE") || ci_equal(p, t.len, "WHERE") ||
                        ci_equal(p, t.len, "ORDER") || ci_equal(p, t.len, "LIMIT") ||
                        ci_equal(p, t.len, "RETURNING"))) {
                head = false;
            }
            break;
        }
    next:
        prev2 = prev;
        prev = t;
    }
    if (stage == NAME1 && emit(&w, NULL, &name1) != CACHE_SQL_OK)
        return CACHE_SQL_NO_SCHEMA;
    if (lx.unterminated || depth != 0 || out->ntables != 1 || (stage != REST && stage != NAME1))
        return CACHE_SQL_NOT_SELECT;
    return CACHE_SQL_OK;
}
