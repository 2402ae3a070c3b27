/*
 * sysview.c: see sysview.h. One pass of the classifier's lexer, with a
 * window of the last three tokens for `information_schema . NAME`.
 */
#include <string.h>
#include <strings.h>

#include "halyard/core/text.h"
#include "halyard/sql/lexer.h"
#include "halyard/sql/sysview.h"

static const char *const table_names[SYSVIEW__COUNT] = {
    [SYSVIEW_PROCESSLIST] = "PROCESSLIST",
    [SYSVIEW_SESSION_STATUS] = "SESSION_STATUS",
    [SYSVIEW_GLOBAL_STATUS] = "GLOBAL_STATUS",
};

/* The server's other views whose rows carry its thread ids. */
static const char *const thread_view_names[] = {
    "INNODB_TRX", "INNODB_LOCKS", "INNODB_LOCK_WAITS", "METADATA_LOCK_INFO", "PERFORMANCE_SCHEMA",
};

/* Words that may follow a table reference and are no alias of it. */
static const char *const after_table[] = {
    "WHERE",  "JOIN",      "INNER",     "LEFT",      "RIGHT", "CROSS",  "NATURAL", "STRAIGHT_JOIN",
    "ON",     "USING",     "GROUP",     "ORDER",     "LIMIT", "HAVING", "WINDOW",  "UNION",
    "EXCEPT", "INTERSECT", "MINUS",     "FOR",       "LOCK",  "INTO",   "USE",     "IGNORE",
    "FORCE",  "PARTITION", "PROCEDURE", "RETURNING", "SET",   "OFFSET", "FETCH",   "WITH",
    "AND",    "OR",        "FULL",      "OUTER",
};

static bool word_is(const char *sql, const struct token *t, const char *w)
{
    if (t->type != T_WORD && t->type != T_QIDENT)
        return false;
    size_t n = strlen(w);
    return t->in_len == n && ci_equal((const unsigned char *)sql + t->in_off, n, w);
}

static bool word_in(const char *sql, const struct token *t, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (word_is(sql, t, list[i]))
            return true;
    }
    return false;
}

static int table_of(const char *sql, const struct token *t)
{
    for (int i = 0; i < SYSVIEW__COUNT; i++) {
        if (word_is(sql, t, table_names[i]))
            return i;
    }
    return -1;
}

/* The statement's first words: a SHOW form, or none. */
static enum sysview_show show_form(const char *sql, const struct token t[4], int n)
{
    if (n < 2 || t[0].type != T_WORD || t[0].kw != KW_SHOW)
        return SYSVIEW_SHOW_NONE;
    int i = 1;
    if (word_is(sql, &t[1], "FULL") && n > 2 && word_is(sql, &t[2], "PROCESSLIST"))
        return SYSVIEW_SHOW_PROCESSLIST;
    if (word_is(sql, &t[1], "PROCESSLIST"))
        return SYSVIEW_SHOW_PROCESSLIST;
    if (word_is(sql, &t[1], "GLOBAL") || word_is(sql, &t[1], "SESSION") ||
        word_is(sql, &t[1], "LOCAL"))
        i = 2;
    return i < n && word_is(sql, &t[i], "STATUS") ? SYSVIEW_SHOW_STATUS : SYSVIEW_SHOW_NONE;
}

/* Which part of each statement of the text is an answer to the client,
 * where a reference may be rewritten (issue 47): the whole of a SELECT
 * (or WITH, VALUES, TABLE, a parenthesis); the SELECT part of INSERT,
 * REPLACE and CREATE [OR REPLACE] [TEMPORARY] TABLE; nothing of any other
 * statement (CREATE VIEW, CREATE TABLE ... LIKE, DESCRIBE, SHOW, a
 * routine's, trigger's or event's body), which the server stores or
 * describes as the client wrote it. */
enum answer_part {
    PART_START,        /* the statement's first token is next */
    PART_CREATE,       /* CREATE [OR REPLACE] [TEMPORARY], TABLE or not yet */
    PART_AFTER_SELECT, /* an answer from its first SELECT on */
    PART_ANSWER,       /* an answer here */
    PART_NONE,         /* no answer up to the statement's end */
    PART_STORED,       /* CREATE or ALTER of a stored object: no answer up to the text's
                        * end (a body's statements end with ';' too) */
};

static bool kw_is(const char *sql, const struct token *t, const char *w)
{
    return t->type == T_WORD && word_is(sql, t, w);
}

static enum answer_part answer_next(const char *sql, const struct token *t, enum answer_part part)
{
    if (t->type == T_SEMI && part != PART_STORED)
        return PART_START;
    switch (part) {
    case PART_START:
        if (t->type == T_LPAREN || kw_is(sql, t, "SELECT") || kw_is(sql, t, "WITH") ||
            kw_is(sql, t, "VALUES") || kw_is(sql, t, "TABLE"))
            return PART_ANSWER;
        if (kw_is(sql, t, "INSERT") || kw_is(sql, t, "REPLACE"))
            return PART_AFTER_SELECT;
        if (kw_is(sql, t, "ALTER"))
            return PART_STORED;
        return kw_is(sql, t, "CREATE") ? PART_CREATE : PART_NONE;
    case PART_CREATE:
        if (kw_is(sql, t, "OR") || kw_is(sql, t, "REPLACE") || kw_is(sql, t, "TEMPORARY"))
            return PART_CREATE;
        return kw_is(sql, t, "TABLE") ? PART_AFTER_SELECT : PART_STORED;
    case PART_AFTER_SELECT:
        return kw_is(sql, t, "SELECT") ? PART_ANSWER : PART_AFTER_SELECT;
    default:
        return part;
    }
}

/* SHOW STATUS's WHERE: each column reference `Value` (not `x.Value`, not
 * a function's name, not NEXT VALUE FOR) from WHERE to the statement's
 * end, as references (SYSVIEW_STATUS_VALUE) with no alias to keep. */
static void status_values(const char *sql, size_t len, unsigned lex_opts, struct sysview_scan *out)
{
    struct lexer lx;
    lex_init(&lx, sql, len, lex_opts, NULL);
    struct token t, prev = {0}, next;
    bool where = false;
    lex_next(&lx, &t);
    while (t.type != T_END && t.type != T_SEMI) {
        lex_next(&lx, &next);
        if (!where) {
            where = t.type == T_WORD && word_is(sql, &t, "WHERE");
        } else if (word_is(sql, &t, "VALUE") && prev.type != T_DOT && next.type != T_DOT &&
                   next.type != T_LPAREN && !word_is(sql, &prev, "NEXT") &&
                   !word_is(sql, &prev, "PREVIOUS")) {
            if (out->n == SYSVIEW_REFS_MAX) {
                out->overflow = true;
                return;
            }
            out->ref[out->n++] = (struct sysview_ref){
                .off = (uint32_t)t.off,
                .len = (uint32_t)t.len,
                .name_off = (uint32_t)t.off,
                .name_len = (uint32_t)t.len,
                .table = SYSVIEW_STATUS_VALUE,
                .aliased = true,
            };
        }
        prev = t;
        t = next;
    }
}

void sysview_scan(const char *sql, size_t len, unsigned lex_opts, struct sysview_scan *out)
{
    memset(out, 0, sizeof(*out));
    kw_ready();
    struct lexer lx;
    lex_init(&lx, sql, len, lex_opts, NULL);
    struct token first[4], w[3] = {{0}}; /* w[2] is the newest */
    int nfirst = 0;
    bool pending = false; /* a reference whose alias is decided by the next token */
    enum answer_part part = PART_START;
    struct token later[4]; /* a later statement's first words, nlater of them (-1: none) */
    int nlater = -1;
    for (;;) {
        struct token t;
        lex_next(&lx, &t);
        if (nfirst < 4 && t.type != T_END)
            first[nfirst++] = t;
        if (nlater >= 0 && (t.type == T_END || t.type == T_SEMI || nlater == 4)) {
            out->show_later |= show_form(sql, later, nlater) != SYSVIEW_SHOW_NONE;
            nlater = -1;
        }
        if (nlater >= 0)
            later[nlater++] = t;
        if (t.type == T_SEMI && part != PART_STORED)
            nlater = 0;
        if (pending) {
            pending = false;
            struct sysview_ref *r = &out->ref[out->n - 1];
            if (t.type == T_DOT) {
                out->n--; /* information_schema.NAME.column: a column, not the table */
            } else if (t.type == T_QIDENT || (t.type == T_WORD && t.kw == KW_AS)) {
                r->aliased = true;
            } else if (t.type == T_WORD) {
                r->aliased =
                    !word_in(sql, &t, after_table, sizeof(after_table) / sizeof(after_table[0]));
            }
        }
        if (t.type == T_END)
            break;
        if (word_in(sql, &t, thread_view_names,
                    sizeof(thread_view_names) / sizeof(thread_view_names[0])))
            out->thread_views = true;
        w[0] = w[1];
        w[1] = w[2];
        w[2] = t;
        part = answer_next(sql, &t, part);
        int table = table_of(sql, &w[2]);
        if (table < 0 || w[1].type != T_DOT || !word_is(sql, &w[0], "INFORMATION_SCHEMA") ||
            part != PART_ANSWER)
            continue;
        if (out->n == SYSVIEW_REFS_MAX) {
            out->overflow = true;
            continue;
        }
        out->ref[out->n++] = (struct sysview_ref){
            .off = (uint32_t)w[0].off,
            .len = (uint32_t)(w[2].off + w[2].len - w[0].off),
            .name_off = (uint32_t)w[2].off,
            .name_len = (uint32_t)w[2].len,
            .table = (uint8_t)table,
        };
        pending = true;
    }
    out->show = show_form(sql, first, nfirst);
    out->show_full = out->show == SYSVIEW_SHOW_PROCESSLIST && word_is(sql, &first[1], "FULL");
    if (out->show == SYSVIEW_SHOW_STATUS && out->n == 0)
        status_values(sql, len, lex_opts, out);
    if (out->overflow)
        out->n = 0;
}

/* Whether `word` (upper case) is at p[i], in any case. */
static inline bool word_at(const char *p, size_t n, size_t i, const char *word, size_t wl)
{
    return i + wl <= n && strncasecmp(p + i, word, wl) == 0;
}

/* The words sysview_mentioned() looks for around the 's' at p[i]: every
 * one of them has an 's' at a known place. */
static bool s_word(const char *p, size_t n, size_t i, bool *status, bool *show)
{
    char c2 = i + 2 < n ? (char)(p[i + 1] | 0x20) : 0, c3 = c2 ? (char)(p[i + 2] | 0x20) : 0;
    if (c2 == 't' && c3 == 'a' && word_at(p, n, i, "STATUS", 6)) {
        if (i >= 7 && word_at(p, n, i - 7, "GLOBAL_STATUS", 13))
            return true;
        *status = true;
    } else if (c2 == 'h' && c3 == 'o') {
        *show = *show || word_at(p, n, i, "SHOW", 4);
    } else if (c2 == 'e' && c3 == 's') {
        if (word_at(p, n, i, "SESSION_STATUS", 14))
            return true;
    } else if (c2 == 's' && c3 == 'l') { /* PROCESSLIST's first s */
        if (i >= 5 && word_at(p, n, i - 5, "PROCESSLIST", 11))
            return true;
    }
    return *status && *show;
}

/*
 * Every statement comes here and most name none of these, so the text is
 * read 8 bytes at a time for an 's', which each of the words has; only
 * around one are the words compared. "status" is a common column name:
 * only with SHOW, or as a table.
 */
bool sysview_mentioned(const char *sql, size_t len)
{
    bool status = false, show = false;
    for (size_t i = 0; (i = hy_find_letters(sql, len, i, 's', 's')) < len; i++) {
        if (s_word(sql, len, i, &status, &show))
            return true;
    }
    return false;
}

static size_t put(char *out, size_t cap, size_t o, const char *p, size_t n)
{
    if (o < cap)
        memcpy(out + o, p, n < cap - o ? n : cap - o);
    return o + n;
}

size_t sysview_rewrite(const char *sql, size_t len, const struct sysview_scan *sc,
                       const char *const derived[SYSVIEW__REFS], char *out, size_t cap)
{
    size_t o = 0, at = 0;
    for (uint32_t i = 0; i < sc->n; i++) {
        const struct sysview_ref *r = &sc->ref[i];
        const char *d = derived[r->table];
        if (d == NULL || r->off < at || r->off + r->len > len)
            continue;
        o = put(out, cap, o, sql + at, r->off - at);
        o = put(out, cap, o, "(", 1);
        o = put(out, cap, o, d, strlen(d));
        o = put(out, cap, o, ")", 1);
        if (!r->aliased) {
            o = put(out, cap, o, " AS ", 4);
            o = put(out, cap, o, sql + r->name_off, r->name_len);
        }
        at = r->off + r->len;
    }
    return put(out, cap, o, sql + at, len - at);
}
