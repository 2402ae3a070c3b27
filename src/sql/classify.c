/*
 * classify.c: the statement classifier and the entry points that run it
 * with the lexer (lexer.c) and the digest writer (classify_digest.c); see
 * classify.h for what is decided and why. The rewriting of CONNECTION_ID()
 * and the like is in classify_rewrite.c.
 *
 * Three layers, one pass over the text:
 *  - The lexer (struct lexer, lex_next; lexer.c) turns bytes into tokens. It skips
 *    whitespace and comments, enters and leaves executable comments (whose
 *    content is lexed like any SQL), hands comment text to the hint parser,
 *    and looks words up in a hashed keyword table. A token is offsets into
 *    the text, never a copy. Words and whitespace, most of any query, take
 *    an inlined fast path (lex_token.h) that classify()'s loop calls
 *    without a call per token; others call lex_next, its out-of-line copy.
 *  - The statement classifier (stmt_*) is a small state machine per
 *    statement. The leading keyword picks a mode (query body, SET list,
 *    WITH list, EXPLAIN modifiers...); the mode's handler reads the few
 *    tokens that matter and says whether the token is part of an
 *    expression. Expression tokens go through expr_check(), which finds what
 *    can appear anywhere: functions that pin, `@x :=`, FOR UPDATE, NEXT
 *    VALUE FOR. `base` is what the leading keywords decided, `esc` the
 *    strongest need found in expressions; the statement's kind is the
 *    stronger of the two. Transaction control is never escalated.
 *  - The digest writer (digest_*; classify_digest.c) prints each token in canonical form into
 *    a stack chunk that is hashed and copied out when full. A list of
 *    literals is folded with a lookahead on a copy of the lexer that stops
 *    at the first token that is not a literal, so a byte is lexed at most
 *    twice.
 *
 * Nothing allocates: the state lives on the caller's stack and in the result.
 */
#include <stdio.h>
#include <string.h>

#include "classify_int.h"
#include "digest_token.h"
#include "lex_token.h"
#include "halyard/core/text.h"
#include "halyard/sql/classify.h"
#include "halyard/sql/sqlfunc.h"

/* ---- statement classifier ---- */

enum mode {
    M_LEAD,          /* before the leading keyword; '(' are skipped */
    M_BODY,          /* nothing structural left: expressions only */
    M_QUERY,         /* SELECT, VALUES, TABLE: INTO means SELECT ... INTO */
    M_WITH,          /* the CTE list, looking for the main statement */
    M_EXPLAIN,       /* EXPLAIN/DESCRIBE/ANALYZE modifiers */
    M_SHOW,          /* the word after SHOW */
    M_USE,           /* the schema name */
    M_SET,           /* SET assignments */
    M_SET_STATEMENT, /* SET STATEMENT ... up to FOR */
    M_TXN_CHARS,     /* START/SET TRANSACTION characteristics */
    M_START,         /* the word after START */
    M_BEGIN,         /* the word after BEGIN */
    M_END_TXN,       /* COMMIT/ROLLBACK options */
    M_XA,            /* the word after XA */
    M_CREATE,        /* CREATE [OR REPLACE] TEMPORARY TABLE [IF NOT EXISTS] name */
    M_DROP,          /* DROP [TEMPORARY] TABLE */
    M_LOCK,          /* LOCK/UNLOCK TABLES */
};

enum { SET_TARGET, SET_CHARSET, SET_EQ, SET_DOTTED, SET_VALUE };
enum { W_NAMES, W_AS, W_BODY, W_AFTER, W_CYCLE };
enum { CR_START, CR_TEMP, CR_NAME, CR_DOT, CR_NAME2 };

/* Where a statement is in its leading SELECT's list (struct stmt.sl) */
enum { SL_NONE, SL_OPTS, SL_ITEM, SL_DONE };
/* Where an INSERT's table name is (dml_name_note) */
enum {
    DN_NONE,  /* not at the table's name */
    DN_AFTER, /* after INSERT, REPLACE, INTO, TABLE or the '.' of a name */
    DN_NAME,  /* a name just read there: a '(' opens its column list */
};

struct stmt {
    enum mode mode;
    int step;                /* position inside the mode's grammar */
    enum classify_kind base; /* decided by the leading keywords */
    enum classify_kind esc;  /* strongest need found in expressions */
    uint32_t ntok;
    uint32_t depth; /* parentheses open */
    uint32_t mark;  /* depth where the current construct started */
    enum tok_type prev_type;
    uint8_t prev_kw; /* KW_NONE unless the previous token was a word */
    uint8_t prev2_kw;
    size_t prev_off; /* the previous token (T_WORD: its name) */
    size_t prev_len;
    size_t prev_end;
    uint32_t connid_tok; /* ntok of the last CONNECTION_ID, FOUND_ROWS or ROW_COUNT word
                          * not after a '.' */
    size_t connid_off;
    uint8_t connid_kind; /* enum classify_call of that word */
    bool keeps_text;     /* CREATE or ALTER: the server keeps the statement's text */
    bool prepare;        /* PREPARE: its text may be a string (scan_names_note) */
    /* The leading SELECT's list, item by item (select_list_note()) */
    uint8_t sl;                         /* SL_* */
    size_t item_off;                    /* the current item's first token */
    size_t item_end;                    /* the end of its last token so far */
    uint32_t item_calls;                /* connid.n when it began */
    uint32_t item_ntok;                 /* its tokens at depth 0 */
    bool item_as;                       /* an AS at depth 0 */
    enum tok_type item_last, item_prev; /* its last two tokens at depth 0 */
    bool analyze;                       /* M_EXPLAIN came from ANALYZE */
    bool explained; /* the statement lead() reads is under EXPLAIN: it does not run */
    /* The diagnostics area (SHOW WARNINGS): MariaDB clears it before a
     * statement that uses a table, and keeps it across one that uses none
     * (SELECT 1, SET, DO, USE) unless that one raises its own. */
    uint8_t first_kw;  /* the statement's leading keyword */
    uint8_t second_kw; /* ... and the one after it */
    uint32_t sel_mask; /* bit d: a "(SELECT" opened depth d (a subquery) */
    bool uses_table;   /* FROM a table (not DUAL) at depth 0 or in a subquery */
    bool diag;         /* SHOW WARNINGS/ERRORS/COUNT(*), GET DIAGNOSTICS, @@warning_count */
    bool unlock;       /* M_LOCK came from UNLOCK */
    /* INSERT or REPLACE: where its table's name is (dml_name_note) */
    uint8_t dml_name;         /* DN_* */
    enum tok_type prev2_type; /* the token before the previous one */

    /* SET */
    enum classify_scope scope; /* modifier in force */
    bool scoped;               /* a GLOBAL/SESSION/LOCAL modifier was given */
    bool first;                /* no assignment started yet */
    int slot;                  /* res->vars index of the current assignment, -1 if full */
    enum classify_scope var_scope;
    size_t name_off, name_len;
    size_t val_off;
    uint32_t val_ntok;
    struct token val_tok; /* the value's first token */
};

struct ctx {
    const unsigned char *s;
    struct classify_result *res;
    enum classify_kind last; /* kind of the last statement */
    bool number_read;        /* a number token's text was read (classify_noting()) */
    struct stmt st;
};

static void stmt_begin(struct stmt *st)
{
    st->mode = M_LEAD;
    st->step = 0;
    st->base = CL_WRITE; /* until a leading keyword says otherwise */
    st->esc = CL_READ;
    st->ntok = 0;
    st->depth = 0;
    st->mark = 0;
    st->prev_type = T_END;
    st->prev_kw = KW_NONE;
    st->prev2_kw = KW_NONE;
    st->prev2_type = T_END;
    st->dml_name = DN_NONE;
    st->explained = false;
    st->first_kw = KW_NONE;
    st->second_kw = KW_NONE;
    st->sel_mask = 0;
    st->uses_table = false;
    st->diag = false;
    st->prev_end = 0;
    st->connid_tok = 0;
    st->keeps_text = false;
    st->prepare = false;
    st->sl = SL_NONE;
    st->analyze = false;
    st->unlock = false;
}

static inline void raise_base(struct stmt *st, enum classify_kind k)
{
    if (k > st->base)
        st->base = k;
}

static inline void raise_esc(struct stmt *st, enum classify_kind k)
{
    if (k > st->esc)
        st->esc = k;
}

static inline bool is_name(const struct token *t)
{
    return t->type == T_WORD || t->type == T_QIDENT;
}

#define NAME_TOO_LONG SIZE_MAX

/*
 * Copy a name token, unquoted, NUL-terminated, into dst[CLASSIFY_NAME_MAX + 1].
 * Returns its length, or NAME_TOO_LONG (and "").
 */
static size_t copy_name(const unsigned char *s, const struct token *t, char *dst)
{
    size_t n = 0;
    if (t->type == T_WORD) {
        if (t->len > CLASSIFY_NAME_MAX)
            goto too_long;
        memcpy(dst, s + t->off, t->len);
        n = t->len;
    } else {
        unsigned char quote = s[t->off];
        for (size_t i = t->in_off; i < t->in_off + t->in_len; i++) {
            if (n == CLASSIFY_NAME_MAX)
                goto too_long;
            dst[n++] = (char)s[i];
            if (s[i] == quote)
                i++; /* a doubled quote */
        }
    }
    dst[n] = '\0';
    return n;
too_long:
    dst[0] = '\0';
    return NAME_TOO_LONG;
}

/*
 * The leading keyword: choose the statement's base kind and mode. Also
 * re-entered for the statement inside WITH, EXPLAIN and SET STATEMENT.
 */
static bool lead(struct ctx *c, const struct token *t)
{
    struct stmt *st = &c->st;
    if (t->type == T_LPAREN)
        return false;
    st->mode = M_BODY;
    st->step = 0;
    st->mark = st->depth;
    st->base = CL_WRITE;
    if (t->type != T_WORD)
        return false;
    switch (t->kw) {
    case KW_SELECT:
    case KW_VALUES:
    case KW_TABLE:
        st->base = CL_READ;
        st->mode = M_QUERY;
        break;
    case KW_DO:
    case KW_CHECK:
    case KW_CHECKSUM:
    case KW_HELP:
        st->base = CL_READ;
        break;
    case KW_GET: /* GET DIAGNOSTICS */
        st->base = CL_READ;
        st->diag = true;
        c->res->flags |= CLF_PREV_STMT;
        break;
    case KW_SHOW:
        st->base = CL_READ;
        st->mode = M_SHOW;
        break;
    case KW_EXPLAIN:
    case KW_DESCRIBE:
    case KW_DESC:
        st->base = CL_READ;
        st->mode = M_EXPLAIN;
        st->analyze = false;
        break;
    case KW_ANALYZE:
        st->mode = M_EXPLAIN;
        st->analyze = true;
        break;
    case KW_WITH:
        st->mode = M_WITH;
        break;
    case KW_CALL: /* OUT parameters, SET in the body */
        c->res->flags |= CLF_UVARS_OPAQUE;
        break;
    case KW_EXECUTE: /* a prepared SET, CALL, SELECT ... INTO */
        c->res->flags |= CLF_UVARS_OPAQUE | CLF_STATE_OPAQUE;
        break;
    case KW_SET:
        st->base = CL_SESSION;
        st->mode = M_SET;
        st->scope = CLV_SESSION;
        st->scoped = false;
        st->first = true;
        break;
    case KW_USE:
        st->base = CL_SESSION;
        st->mode = M_USE;
        break;
    case KW_BEGIN:
        st->base = CL_TXN_BEGIN;
        st->mode = M_BEGIN;
        break;
    case KW_START:
        st->mode = M_START;
        break;
    case KW_COMMIT:
    case KW_ROLLBACK:
        st->base = CL_TXN_END;
        st->mode = M_END_TXN;
        break;
    case KW_SAVEPOINT:
    case KW_RELEASE:
        st->base = CL_TXN_SAVEPOINT;
        break;
    case KW_XA:
        st->mode = M_XA;
        c->res->flags |= CLF_XA;
        break;
    case KW_LOCK:
    case KW_UNLOCK:
        st->mode = M_LOCK;
        st->unlock = t->kw == KW_UNLOCK;
        break;
    case KW_HANDLER:
        st->base = CL_PIN_PRIMARY;
        break;
    case KW_INSERT:
    case KW_UPDATE:
    case KW_DELETE:
    case KW_REPLACE:
    case KW_LOAD:
        if (!st->explained)
            c->res->flags |= CLF_DML;
        break;
    case KW_CREATE:
        st->mode = M_CREATE;
        break;
    case KW_DROP:
        st->mode = M_DROP;
        break;
    default: /* INSERT, UPDATE, ALTER, CALL, ... and anything unknown */
        break;
    }
    return false;
}

/* Each mode's handler returns whether the token is part of an expression. */

static bool query_feed(struct ctx *c, const struct token *t)
{
    struct stmt *st = &c->st;
    if (st->prev_kw == KW_INTO) {
        c->res->flags |= CLF_SELECT_INTO;
        if (t->kw == KW_OUTFILE || t->kw == KW_DUMPFILE) {
            raise_esc(st, CL_WRITE);
        } else {
            raise_esc(st, CL_PIN_PRIMARY);
            if (t->type == T_UVAR)
                c->res->flags |= CLF_USER_VAR_SET;
        }
    }
    return true;
}

/* WITH [RECURSIVE] name [(cols)] AS (query) [CYCLE ... RESTRICT] [, ...] <statement> */
static bool with_feed(struct ctx *c, const struct token *t)
{
    struct stmt *st = &c->st;
    switch (st->step) {
    case W_NAMES:
        if (t->kw == KW_AS && st->depth == st->mark)
            st->step = W_AS;
        break;
    case W_AS:
        if (t->type != T_LPAREN) {
            st->mode = M_BODY;
            break;
        }
        st->step = W_BODY;
        break;
    case W_BODY:
        if (t->type == T_RPAREN && st->depth == st->mark)
            st->step = W_AFTER;
        break;
    case W_AFTER:
        if (t->type == T_COMMA) {
            st->step = W_NAMES;
        } else if (t->kw == KW_CYCLE) {
            st->step = W_CYCLE;
        } else {
            st->mode = M_LEAD;
            return lead(c, t);
        }
        break;
    case W_CYCLE:
        if (t->kw == KW_RESTRICT)
            st->step = W_AFTER;
        break;
    }
    return true;
}

/* EXPLAIN [EXTENDED | PARTITIONS | FORMAT=x] {statement | table}, ANALYZE [...] {statement | TABLE}
 */
static bool explain_feed(struct ctx *c, const struct token *t)
{
    struct stmt *st = &c->st;
    if (st->step != 0) { /* after FORMAT: "= name" or "name" */
        st->step = (st->step == 1 && t->type == T_EQ) ? 2 : 0;
        return false;
    }
    if (t->type == T_LPAREN) {
        st->mode = M_LEAD;
        return lead(c, t);
    }
    if (t->kw == KW_TABLE && st->analyze) { /* ANALYZE TABLE: maintenance */
        st->mode = M_BODY;
        return true;
    }
    switch (t->kw) {
    case KW_EXTENDED:
    case KW_PARTITIONS:
    case KW_NO_WRITE_TO_BINLOG:
    case KW_LOCAL:
        return false;
    case KW_FORMAT:
        st->step = 1;
        return false;
    case KW_SELECT:
    case KW_WITH:
    case KW_VALUES:
    case KW_TABLE:
    case KW_INSERT:
    case KW_UPDATE:
    case KW_DELETE:
    case KW_REPLACE:
    case KW_ANALYZE:
        st->mode = M_LEAD;
        st->explained = !st->analyze;
        return lead(c, t);
    default: /* DESCRIBE t [col], EXPLAIN FOR CONNECTION n */
        st->mode = M_BODY;
        return true;
    }
}

static bool show_feed(struct ctx *c, const struct token *t)
{
    struct stmt *st = &c->st;
    switch (t->kw) {
    case KW_WARNINGS:
    case KW_ERRORS:
    case KW_COUNT: /* SHOW COUNT(*) WARNINGS */
        st->diag = true;
        c->res->flags |= CLF_PREV_STMT;
        break;
    case KW_MASTER: /* the primary's binlog: MASTER STATUS/LOGS, BINLOG EVENTS/STATUS, BINARY LOGS
                     */
    case KW_BINLOG:
    case KW_BINARY:
        st->base = CL_PIN_PRIMARY;
        break;
    default:
        break;
    }
    st->mode = M_BODY;
    return true;
}

static void var_begin(struct ctx *c, enum classify_scope scope, size_t off, size_t len)
{
    struct stmt *st = &c->st;
    struct classify_result *res = c->res;

    st->first = false;
    st->var_scope = scope;
    st->name_off = off;
    st->name_len = len;
    st->val_ntok = 0;
    st->val_off = 0;
    if (res->nvars < CLASSIFY_MAX_VARS) {
        st->slot = (int)res->nvars++;
        res->vars[st->slot].scope = scope;
        res->vars[st->slot].name = (struct classify_span){(uint32_t)off, (uint32_t)len};
        res->vars[st->slot].value = (struct classify_span){(uint32_t)off, 0};
    } else {
        st->slot = -1;
        res->flags |= CLF_VARS_TRUNCATED;
    }
    switch (scope) {
    case CLV_GLOBAL:
        raise_base(st, CL_WRITE);
        res->flags |= CLF_SET_GLOBAL;
        break;
    case CLV_USER:
        raise_base(st, CL_PIN_PRIMARY);
        res->flags |= CLF_USER_VAR_SET | CLF_USER_VAR_REF;
        break;
    case CLV_NAMES:
    case CLV_CHARSET:
        res->flags |= CLF_SET_NAMES;
        break;
    default:
        break;
    }
}

/* `SET a.b = 1`: the name is the last component. */
static void var_rename(struct ctx *c, const struct token *t)
{
    struct stmt *st = &c->st;
    st->name_off = t->in_off;
    st->name_len = t->in_len;
    if (st->slot >= 0)
        c->res->vars[st->slot].name =
            (struct classify_span){(uint32_t)t->in_off, (uint32_t)t->in_len};
}

/* autocommit's value when it is a constant: 0, 1, or -1. */
static int autocommit_value(struct ctx *c)
{
    const struct stmt *st = &c->st;
    const struct token *v = &st->val_tok;
    const unsigned char *p = c->s + v->in_off;
    if (st->val_ntok != 1)
        return -1;
    switch (v->type) {
    case T_NUMBER:
        c->number_read = true; /* the memo keeps no text whose number was read */
        if (v->len == 1 && (c->s[v->off] == '0' || c->s[v->off] == '1'))
            return c->s[v->off] - '0';
        return -1;
    case T_WORD:
        if (v->kw == KW_ON || v->kw == KW_TRUE)
            return 1;
        if (v->kw == KW_OFF || v->kw == KW_FALSE)
            return 0;
        return -1;
    case T_STRING:
        if (ci_equal(p, v->in_len, "1") || ci_equal(p, v->in_len, "on"))
            return 1;
        if (ci_equal(p, v->in_len, "0") || ci_equal(p, v->in_len, "off"))
            return 0;
        return -1;
    default:
        return -1;
    }
}

/* The value of the current assignment ended with the previous token. */
static void var_end(struct ctx *c)
{
    struct stmt *st = &c->st;
    struct classify_result *res = c->res;
    if (st->slot >= 0 && st->val_ntok > 0)
        res->vars[st->slot].value =
            (struct classify_span){(uint32_t)st->val_off, (uint32_t)(st->prev_end - st->val_off)};
    if (st->var_scope == CLV_SESSION && ci_equal(c->s + st->name_off, st->name_len, "autocommit")) {
        res->flags |= CLF_AUTOCOMMIT;
        res->autocommit = autocommit_value(c);
    }
}

static bool set_feed(struct ctx *c, const struct token *t)
{
    struct stmt *st = &c->st;
    struct classify_result *res = c->res;

    switch (st->step) {
    case SET_TARGET:
        switch (t->kw) {
        case KW_STATEMENT:
            if (!st->first || st->scoped)
                break;
            res->flags |= CLF_SET_STATEMENT;
            st->mode = M_SET_STATEMENT;
            st->base = CL_WRITE; /* until FOR <statement> */
            return true;
        case KW_GLOBAL:
        case KW_PERSIST:
        case KW_PERSIST_ONLY:
            st->scope = CLV_GLOBAL;
            st->scoped = true;
            return false;
        case KW_SESSION:
        case KW_LOCAL:
            st->scope = CLV_SESSION;
            st->scoped = true;
            return false;
        case KW_TRANSACTION:
            if (st->scope == CLV_GLOBAL) {
                raise_base(st, CL_WRITE);
                res->flags |= CLF_SET_GLOBAL;
            } else {
                res->flags |= st->scoped ? CLF_TXN_SESSION : CLF_TXN_NEXT;
            }
            st->mode = M_TXN_CHARS;
            return false;
        case KW_NAMES:
        case KW_CHARSET:
            var_begin(c, t->kw == KW_NAMES ? CLV_NAMES : CLV_CHARSET, t->off, t->len);
            st->step = SET_VALUE;
            return false;
        case KW_CHARACTER:
            st->name_off = t->off;
            st->step = SET_CHARSET;
            return false;
        case KW_ROLE:
            var_begin(c, CLV_ROLE, t->off, t->len);
            st->step = SET_VALUE;
            return false;
        case KW_PASSWORD: /* SET PASSWORD [FOR user] = ... */
        case KW_DEFAULT:  /* SET DEFAULT ROLE ... */
            raise_base(st, CL_WRITE);
            st->mode = M_BODY;
            return true;
        default:
            break;
        }
        if (is_name(t)) {
            var_begin(c, st->scope, t->in_off, t->in_len);
        } else if (t->type == T_UVAR) {
            var_begin(c, CLV_USER, t->in_off, t->in_len);
        } else if (t->type == T_SVAR) {
            var_begin(c, t->scope == VS_GLOBAL ? CLV_GLOBAL : CLV_SESSION, t->in_off, t->in_len);
        } else {
            st->mode = M_BODY;
            return true;
        }
        st->step = SET_EQ;
        return false;
    case SET_CHARSET:
        if (t->kw != KW_SET)
            break;
        var_begin(c, CLV_CHARSET, st->name_off, t->off + t->len - st->name_off);
        st->step = SET_VALUE;
        return false;
    case SET_EQ:
        if (t->type == T_EQ || t->type == T_ASSIGN) {
            st->step = SET_VALUE;
            return false;
        }
        if (t->type == T_DOT) {
            st->step = SET_DOTTED;
            return false;
        }
        break;
    case SET_DOTTED:
        if (!is_name(t))
            break;
        var_rename(c, t);
        st->step = SET_EQ;
        return false;
    case SET_VALUE:
        if (t->type == T_COMMA && st->depth == st->mark) {
            var_end(c);
            st->step = SET_TARGET;
            return false;
        }
        if (st->val_ntok++ == 0) {
            st->val_off = t->off;
            st->val_tok = *t;
        }
        return true;
    }
    st->mode = M_BODY; /* not an assignment we understand */
    return true;
}

static bool create_feed(struct ctx *c, const struct token *t)
{
    struct stmt *st = &c->st;
    struct classify_result *res = c->res;

    switch (st->step) {
    case CR_START:
        if (t->kw == KW_OR || t->kw == KW_REPLACE)
            return false;
        if (t->kw == KW_TEMPORARY) {
            st->step = CR_TEMP;
            return false;
        }
        break;
    case CR_TEMP: /* a temporary sequence hides a table as a temporary table does */
        if (t->kw == KW_TABLE ||
            (t->type == T_WORD && ci_equal(c->s + t->off, t->len, "SEQUENCE"))) {
            st->step = CR_NAME;
            return false;
        }
        break;
    case CR_NAME:
        if (t->kw == KW_IF || t->kw == KW_NOT || t->kw == KW_EXISTS)
            return false;
        if (is_name(t) && copy_name(c->s, t, res->temp_table) != NAME_TOO_LONG) {
            res->temp_schema[0] = '\0';
            res->flags |= CLF_TEMP_TABLE_CREATED;
            st->step = CR_DOT;
            return false;
        }
        break;
    case CR_DOT:
        if (t->type == T_DOT) {
            st->step = CR_NAME2;
            return false;
        }
        break;
    case CR_NAME2: /* schema.table */
        if (is_name(t)) {
            memcpy(res->temp_schema, res->temp_table, sizeof(res->temp_schema));
            if (copy_name(c->s, t, res->temp_table) == NAME_TOO_LONG) {
                res->temp_schema[0] = '\0';
                res->flags &= ~CLF_TEMP_TABLE_CREATED;
            }
        }
        break;
    }
    st->mode = M_BODY;
    return true;
}

/* Tokens of the structure (not expressions): one handler per mode. */
static bool mode_feed(struct ctx *c, const struct token *t)
{
    struct stmt *st = &c->st;
    struct classify_result *res = c->res;

    switch (st->mode) {
    case M_LEAD:
        return lead(c, t);
    case M_BODY:
        return true;
    case M_QUERY:
        return query_feed(c, t);
    case M_WITH:
        return with_feed(c, t);
    case M_EXPLAIN:
        return explain_feed(c, t);
    case M_SHOW:
        return show_feed(c, t);
    case M_SET:
        return set_feed(c, t);
    case M_CREATE:
        return create_feed(c, t);
    case M_USE:
        if (is_name(t) && copy_name(c->s, t, res->schema) != NAME_TOO_LONG)
            res->flags |= CLF_USE;
        st->mode = M_BODY;
        return false;
    case M_SET_STATEMENT:
        if (t->kw == KW_FOR && st->depth == st->mark) {
            st->mode = M_LEAD;
            return false;
        }
        return true;
    case M_TXN_CHARS:
        if (t->kw == KW_ONLY && st->prev_kw == KW_READ) {
            res->flags |= CLF_TXN_READ_ONLY;
            if (st->base == CL_TXN_BEGIN)
                st->base = CL_TXN_BEGIN_RO;
        }
        return false;
    case M_START:
        if (t->kw == KW_TRANSACTION) {
            st->base = CL_TXN_BEGIN;
            st->mode = M_TXN_CHARS;
            return false;
        }
        st->mode = M_BODY; /* START SLAVE, START REPLICA ... */
        return true;
    case M_BEGIN:
        if (t->kw == KW_NOT) { /* BEGIN NOT ATOMIC: a compound statement */
            st->base = CL_WRITE;
            res->flags |= CLF_UVARS_OPAQUE | CLF_STATE_OPAQUE;
        }
        st->mode = M_BODY;
        return false;
    case M_END_TXN:
        if (t->kw == KW_TO)
            st->base = CL_TXN_SAVEPOINT;
        else if (t->kw == KW_CHAIN && st->prev_kw == KW_AND)
            res->flags |= CLF_TXN_CHAIN;
        return false;
    case M_XA:
        if (t->kw == KW_START || t->kw == KW_BEGIN)
            st->base = CL_TXN_BEGIN;
        else if (t->kw == KW_COMMIT || t->kw == KW_ROLLBACK)
            st->base = CL_TXN_END;
        else if (t->kw == KW_RECOVER)
            st->base = CL_PIN_PRIMARY;
        st->mode = M_BODY;
        return false;
    case M_LOCK:
        if (t->kw == KW_TABLE || t->kw == KW_TABLES) {
            st->base = CL_PIN_PRIMARY;
            res->flags |= st->unlock ? CLF_UNLOCK_TABLES : CLF_LOCK_TABLES;
        }
        st->mode = M_BODY;
        return true;
    case M_DROP:
        if (t->kw == KW_TEMPORARY)
            return false;
        if (t->kw == KW_TABLE || t->kw == KW_TABLES)
            res->flags |= CLF_TABLE_DROPPED;
        st->mode = M_BODY;
        return true;
    }
    return true;
}

/* A function call `name(`: what running it needs. */
static void function_check(struct ctx *c, uint8_t kw)
{
    struct stmt *st = &c->st;
    struct classify_result *res = c->res;
    switch (kw) {
    case KW_LAST_INSERT_ID:
        raise_esc(st, CL_PIN_PRIMARY);
        res->flags |= CLF_LAST_INSERT_ID;
        break;
    case KW_FOUND_ROWS:
    case KW_ROW_COUNT:
        /* A read about the previous statement: the session sends it where
         * that one ran (the primary knew nothing of a replica's
         * SQL_CALC_FOUND_ROWS). */
        res->flags |= CLF_PREV_STMT;
        break;
    case KW_CONNECTION_ID: /* rewritten by the session (connid_note) */
        break;
    case KW_GET_LOCK:
    case KW_RELEASE_LOCK:
    case KW_RELEASE_ALL_LOCKS:
    case KW_IS_FREE_LOCK:
    case KW_IS_USED_LOCK:
        raise_esc(st, CL_PIN_PRIMARY);
        res->flags |= CLF_USER_LOCK;
        break;
    case KW_NEXTVAL:
    case KW_SETVAL:
        raise_esc(st, CL_WRITE);
        res->flags |= CLF_SEQUENCE;
        break;
    case KW_LASTVAL:
        raise_esc(st, CL_PIN_PRIMARY);
        res->flags |= CLF_SEQUENCE;
        break;
    default:
        break;
    }
}

/* A system variable read in an expression. */
static void sysvar_check(struct ctx *c, const struct token *t)
{
    const unsigned char *name = c->s + t->in_off;
    size_t n = t->in_len;
    if (ci_equal(name, n, "identity") || ci_equal(name, n, "insert_id") ||
        ci_equal(name, n, "last_insert_id")) {
        raise_esc(&c->st, CL_PIN_PRIMARY);
        c->res->flags |= CLF_LAST_INSERT_ID;
    } else if (ci_equal(name, n, "last_gtid")) {
        raise_esc(&c->st, CL_PIN_PRIMARY);
    } else if (ci_equal(name, n, "warning_count") || ci_equal(name, n, "error_count")) {
        c->st.diag = true;
        c->res->flags |= CLF_PREV_STMT;
    }
}

/* Follow where an INSERT's or REPLACE's table name is, token by token: a
 * '(' right after it opens its column list (`INSERT INTO db.t (a, b)`), no
 * call. Other keywords (VALUES, SELECT, PARTITION...) end it. */
static void dml_name_note(struct stmt *st, const struct token *t)
{
    if (t->type == T_WORD &&
        (t->kw == KW_INSERT || t->kw == KW_REPLACE || t->kw == KW_INTO || t->kw == KW_TABLE))
        st->dml_name = DN_AFTER;
    else if ((t->type == T_WORD && t->kw == KW_NONE) || t->type == T_QIDENT)
        st->dml_name = st->dml_name == DN_AFTER ? DN_NAME : DN_NONE;
    else if (t->type == T_DOT)
        st->dml_name = st->dml_name == DN_NAME ? DN_AFTER : DN_NONE;
    else
        st->dml_name = DN_NONE;
}

/* The name before the '(' just fed is a stored function's. */
static bool routine_named(const struct ctx *c, const struct stmt *st)
{
    if (st->prev_type == T_QIDENT || (st->prev_type == T_WORD && st->prev2_type == T_DOT))
        return true;
    return st->prev_type == T_WORD &&
           !sqlfunc_is_builtin((const char *)c->s + st->prev_off, st->prev_len);
}

/* Whether the '(' just fed after a name (st->depth counts it) calls a
 * stored function: not built in, as the server decides (sqlfunc.c), or
 * qualified by a schema (`app.concat(...)` is app's, not the built-in). A
 * statement that calls one is a write whatever it looks like, and runs
 * once: not replayed, not retried. Not a call: a name and its column list
 * at the top of a WITH clause (`WITH c(n) AS ...`), an INSERT's table and
 * its column list. SETs, and writes other than INSERT, REPLACE, UPDATE and
 * DELETE (DDL, LOAD DATA...), are left as they are. */
static bool routine_call(const struct ctx *c, const struct stmt *st)
{
    if (st->mode == M_WITH)
        return st->depth > 1 && routine_named(c, st);
    if (st->base == CL_SESSION ||
        (st->base == CL_WRITE &&
         (!(c->res->flags & CLF_DML) || st->first_kw == KW_LOAD || st->dml_name == DN_NAME)))
        return false;
    return routine_named(c, st);
}

/* What an expression token can need wherever it appears. */
static void expr_check(struct ctx *c, const struct token *t)
{
    struct stmt *st = &c->st;
    struct classify_result *res = c->res;

    switch (t->type) {
    case T_LPAREN:
        if (st->prev_type == T_WORD && st->prev_kw != KW_NONE && st->prev2_type != T_DOT)
            function_check(c, st->prev_kw);
        else if (routine_call(c, st)) {
            /* A stored function (or a UDF): it may write, and on a replica
             * a privileged account's write would even succeed. */
            raise_esc(st, CL_WRITE);
            res->flags |= CLF_ROUTINE_CALL | CLF_UVARS_OPAQUE;
        }
        break;
    case T_ASSIGN:
        if (st->prev_type == T_UVAR) {
            raise_esc(st, CL_PIN_PRIMARY);
            res->flags |= CLF_USER_VAR_SET;
        }
        break;
    case T_UVAR:
        res->flags |= CLF_USER_VAR_REF;
        break;
    case T_SVAR:
        sysvar_check(c, t);
        break;
    case T_WORD:
        switch (t->kw) {
        case KW_UPDATE: /* FOR UPDATE */
        case KW_SHARE:  /* FOR SHARE, LOCK IN SHARE MODE */
            if (st->prev_kw == KW_FOR ||
                (t->kw == KW_SHARE && st->prev_kw == KW_IN && st->prev2_kw == KW_LOCK)) {
                raise_esc(st, CL_PIN_PRIMARY);
                res->flags |= CLF_LOCKING_READ;
            }
            break;
        case KW_FOR: /* NEXT VALUE FOR s, PREVIOUS VALUE FOR s */
            if (st->prev_kw == KW_VALUE && st->prev2_kw == KW_NEXT) {
                raise_esc(st, CL_WRITE);
                res->flags |= CLF_SEQUENCE;
            } else if (st->prev_kw == KW_VALUE && st->prev2_kw == KW_PREVIOUS) {
                raise_esc(st, CL_PIN_PRIMARY);
                res->flags |= CLF_SEQUENCE;
            }
            break;
        case KW_NEXTVAL: /* s.NEXTVAL, s.CURRVAL (sql_mode=ORACLE) */
        case KW_CURRVAL:
            if (st->prev_type == T_DOT) {
                raise_esc(st, t->kw == KW_NEXTVAL ? CL_WRITE : CL_PIN_PRIMARY);
                res->flags |= CLF_SEQUENCE;
            }
            break;
        default:
            break;
        }
        break;
    default:
        break;
    }
}

/* What the statement does to the diagnostics area (struct stmt). */
static void diag_note(struct stmt *st, const struct token *t)
{
    if (st->ntok == 1 && t->type == T_WORD)
        st->first_kw = t->kw;
    if (st->ntok == 2 && t->type == T_WORD)
        st->second_kw = t->kw;
    if (t->type == T_WORD && t->kw == KW_SELECT && st->prev_type == T_LPAREN && st->depth < 32)
        st->sel_mask |= 1u << st->depth;
    /* FROM's depth: a derived table's `(` has counted itself already, and
     * a derived table is a table to MariaDB (it clears the area too) */
    uint32_t d = t->type == T_LPAREN && st->depth > 0 ? st->depth - 1 : st->depth;
    if (st->prev_kw == KW_FROM && !(t->type == T_WORD && t->kw == KW_DUAL) &&
        (d == 0 || (d < 32 && (st->sel_mask & (1u << d)))))
        st->uses_table = true;
}

/* `CONNECTION_ID ( )`, the call of the built-in function (not a stored
 * function `db.CONNECTION_ID()`): noted for the session to put its own id
 * in its place (classify_result.connid). */
static void connid_note(struct ctx *c, const struct token *t)
{
    struct stmt *st = &c->st;
    struct classify_result *res = c->res;
    if (st->keeps_text)
        return; /* a view, a routine, a DEFAULT: the call must stay a call */
    /* FOUND_ROWS() and ROW_COUNT() after a text's first statement are
     * about the text's statement before, on the same connection: the
     * server's, not the session's previous text's */
    if (t->type == T_WORD && st->prev_type != T_DOT &&
        (t->kw == KW_CONNECTION_ID ||
         ((t->kw == KW_FOUND_ROWS || t->kw == KW_ROW_COUNT) && res->nstmt == 0))) {
        st->connid_tok = st->ntok;
        st->connid_off = t->off;
        st->connid_kind = t->kw == KW_CONNECTION_ID ? CLASSIFY_CALL_CONNECTION_ID
                          : t->kw == KW_FOUND_ROWS  ? CLASSIFY_CALL_FOUND_ROWS
                                                    : CLASSIFY_CALL_ROW_COUNT;
        return;
    }
    if (t->type != T_RPAREN || st->prev_type != T_LPAREN || st->connid_tok == 0 ||
        st->connid_tok + 2 != st->ntok)
        return;
    if (res->connid.n == CLASSIFY_MAX_CONNID || res->connid_overflow) {
        res->connid.n = 0;
        res->connid.n_connid = 0;
        res->connid.nalias = 0;
        res->connid_overflow = true;
        raise_esc(st, CL_PIN_PRIMARY);
        return;
    }
    res->connid.kind[res->connid.n] = st->connid_kind;
    res->connid.n_connid += st->connid_kind == CLASSIFY_CALL_CONNECTION_ID;
    res->connid.call[res->connid.n++] = (struct classify_span){
        (uint32_t)st->connid_off, (uint32_t)(t->off + t->len - st->connid_off)};
}

/* A word and its length (select_list_note's lists, read for every
 * token of every SELECT's list: no strlen there). */
struct word {
    const char *w;
    size_t len;
};
#define WORD(x)     {x, sizeof(x) - 1},
#define WORD_LEN(x) (1u << (sizeof(x) - 1)) |

/* A list of words and the lengths they have (bit n: a word of n bytes),
 * so that most tokens, which have none of them, are not compared at all. */
struct words {
    const struct word *w;
    size_t n;
    uint32_t lens;
};

static bool word_in(const unsigned char *s, const struct token *t, const struct words *ws)
{
    if (t->type != T_WORD || t->len >= 32 || !(ws->lens & (1u << t->len)))
        return false;
    for (size_t i = 0; i < ws->n; i++) {
        if (ws->w[i].len != t->len)
            continue;
        /* The words are upper-case letters and '_'; a word token's bytes
         * may be in a name: & 0xDF folds a letter's case and maps no other
         * one of them onto a letter or '_' (DEL would, but is none). */
        size_t k = 0;
        while (k < t->len && (s[t->off + k] & 0xDF) == (unsigned char)ws->w[i].w[k])
            k++;
        if (k == t->len)
            return true;
    }
    return false;
}

/* The current select item ends: one that holds a call and has no alias
 * gets its own text as one (classify_connid.alias). What may be a bare
 * alias (`expr name`: a name or string after anything but an operator)
 * counts as one, since a second would be a syntax error. */
static void select_item_end(struct ctx *c)
{
    struct stmt *st = &c->st;
    struct classify_connid *cid = &c->res->connid;
    bool named =
        st->item_as ||
        (st->item_ntok >= 2 &&
         (st->item_last == T_WORD || st->item_last == T_QIDENT || st->item_last == T_STRING) &&
         st->item_prev != T_OP && st->item_prev != T_EQ && st->item_prev != T_ASSIGN &&
         st->item_prev != T_DOT);
    size_t len = st->item_end - st->item_off;
    if (cid->n > st->item_calls && !named && len <= CLASSIFY_ALIAS_MAX &&
        cid->nalias < CLASSIFY_MAX_CONNID)
        cid->alias[cid->nalias++] = (struct classify_span){(uint32_t)st->item_off, (uint32_t)len};
}

/* Follow the list of a statement that starts with SELECT, item by item,
 * for the names of its columns (select_item_end()). `top`: the token is
 * outside parentheses (a `(` that opens them and a `)` that closes them
 * count as outside). */
static void select_list_note(struct ctx *c, const struct token *t, bool top)
{
    // clang-format off
#define SELECT_OPTS(X) X("ALL") X("DISTINCT") X("DISTINCTROW") X("HIGH_PRIORITY")              \
    X("STRAIGHT_JOIN") X("SQL_SMALL_RESULT") X("SQL_BIG_RESULT") X("SQL_BUFFER_RESULT")        \
    X("SQL_CACHE") X("SQL_NO_CACHE") X("SQL_CALC_FOUND_ROWS")
#define SELECT_ENDS(X) X("FROM") X("INTO") X("WHERE") X("GROUP") X("HAVING") X("ORDER")       \
    X("LIMIT") X("WINDOW") X("UNION") X("EXCEPT") X("INTERSECT") X("MINUS") X("FOR") X("LOCK") \
    X("PROCEDURE")
    // clang-format on
    static const struct word opt_words[] = {SELECT_OPTS(WORD)};
    static const struct word end_words[] = {SELECT_ENDS(WORD)};
    static const struct words opts = {opt_words, HY_ARRAY_SIZE(opt_words), SELECT_OPTS(WORD_LEN) 0};
    static const struct words ends = {end_words, HY_ARRAY_SIZE(end_words), SELECT_ENDS(WORD_LEN) 0};
#undef SELECT_OPTS
#undef SELECT_ENDS
    struct stmt *st = &c->st;
    if (st->sl == SL_NONE) {
        st->sl = st->ntok == 1 && t->type == T_WORD && t->kw == KW_SELECT ? SL_OPTS : SL_DONE;
        return;
    }
    if (st->sl == SL_DONE)
        return;
    if (top && (t->type == T_COMMA || word_in(c->s, t, &ends))) {
        if (st->sl == SL_ITEM)
            select_item_end(c);
        st->sl = t->type == T_COMMA ? SL_OPTS : SL_DONE;
        return;
    }
    if (st->sl == SL_OPTS) {
        if (top && word_in(c->s, t, &opts))
            return;
        st->sl = SL_ITEM;
        st->item_off = t->off;
        st->item_calls = c->res->connid.n;
        st->item_ntok = 0;
        st->item_as = false;
        st->item_last = st->item_prev = T_END;
    }
    st->item_end = t->off + t->len;
    if (top) {
        st->item_ntok++;
        st->item_as = st->item_as || (t->type == T_WORD && t->kw == KW_AS);
        st->item_prev = st->item_last;
        st->item_last = t->type;
    }
}

/* For classify_result.sysview_names and kill_word, the tokens
 * sysview_scan() and classify_kill_refusal() start from (the same lexer
 * reads the same tokens): a statement's first word SHOW, KILL or PREPARE
 * (`lead`); a dot after INFORMATION_SCHEMA; a string in a PREPARE that
 * holds KILL. Only those tokens come here, so a statement with none
 * costs a compare or two. */
static void scan_names_note(struct ctx *c, const struct token *t, bool lead)
{
    struct stmt *st = &c->st;
    const unsigned char *s = c->s;
    if (lead) {
        if (t->kw == KW_SHOW)
            c->res->sysview_names = true;
        else if (t->len == 4 && ci_equal(s + t->off, 4, "KILL"))
            c->res->kill_word = true;
        else
            st->prepare = t->len == 7 && ci_equal(s + t->off, 7, "PREPARE");
    } else if (t->type == T_DOT) {
        size_t n = st->prev_len, at = st->prev_off;
        if (st->prev_type == T_QIDENT && n >= 2) {
            n -= 2;
            at++;
        } else if (st->prev_type != T_WORD) {
            return;
        }
        if (n == 18 && ci_equal(s + at, 18, "INFORMATION_SCHEMA"))
            c->res->sysview_names = true;
    } else if (st->prepare) { /* a T_STRING: PREPARE ... FROM 'KILL ...' */
        size_t end = t->off + t->len;
        for (size_t i = t->off; (i = hy_find_letters((const char *)s, end, i, 'k', 'k')) < end;
             i++) {
            if (i + 4 <= end && ci_equal(s + i, 4, "KILL"))
                c->res->kill_word = true;
        }
    }
}

static void stmt_feed(struct ctx *c, const struct token *t)
{
    struct stmt *st = &c->st;
    st->ntok++;
    if (st->ntok == 1 && t->type == T_WORD) {
        st->keeps_text = t->kw == KW_CREATE ||
                         (t->len == 5 && strncasecmp((const char *)c->s + t->off, "ALTER", 5) == 0);
        scan_names_note(c, t, true);
    }
    connid_note(c, t);
    bool top = st->depth == 0;
    if (t->type == T_LPAREN)
        st->depth++;
    else if (t->type == T_RPAREN && st->depth > 0)
        top = --st->depth == 0;
    else if (t->type == T_DOT || t->type == T_STRING)
        scan_names_note(c, t, false);
    select_list_note(c, t, top);
    diag_note(st, t);
    if (mode_feed(c, t))
        expr_check(c, t);
    dml_name_note(st, t);
    st->prev2_kw = st->prev_kw;
    st->prev2_type = st->prev_type;
    st->prev_kw = t->type == T_WORD ? t->kw : KW_NONE;
    st->prev_type = t->type;
    st->prev_off = t->off;
    st->prev_len = t->len;
    st->prev_end = t->off + t->len;
}

static void stmt_end(struct ctx *c)
{
    struct stmt *st = &c->st;
    if (st->ntok == 0)
        return;
    if (st->mode == M_SET && st->step == SET_VALUE)
        var_end(c);
    if (st->sl == SL_ITEM)
        select_item_end(c);
    enum classify_kind k = st->base;
    if (k <= CL_WRITE && st->esc > k)
        k = st->esc;
    if (st->diag) {
        c->res->flags |= CLF_DIAG;
    } else {
        /* MariaDB clears it before a statement that opens tables; the
         * others keep it (transaction control too, checked on 10.11) */
        uint8_t k1 = st->first_kw, k2 = st->second_kw;
        bool keeps = !st->uses_table &&
                     (k1 == KW_SELECT || k1 == KW_VALUES || k1 == KW_DO || k1 == KW_SET ||
                      k1 == KW_USE || k1 == KW_COMMIT || k1 == KW_ROLLBACK || k1 == KW_SAVEPOINT ||
                      (k1 == KW_RELEASE && k2 == KW_SAVEPOINT) || k1 == KW_XA ||
                      (k1 == KW_UNLOCK && k2 == KW_TABLES) || (k1 == KW_BEGIN && k2 != KW_NOT) ||
                      (k1 == KW_START && k2 == KW_TRANSACTION));
        if (!keeps)
            c->res->clears_diag = true;
    }
    c->res->nstmt++;
    c->res->kinds |= CL_BIT(k);
    c->last = k;
}

/* ---- entry points ---- */

void classify_result_init(struct classify_result *res)
{
    res->kind = CL_EMPTY;
    res->flags = 0;
    res->clears_diag = false;
    res->kinds = 0;
    res->nstmt = 0;
    res->autocommit = -1;
    res->hint = CLH_NONE;
    res->hint_backend[0] = '\0';
    res->hint_consistency = CLC_NONE;
    res->schema[0] = '\0';
    res->temp_table[0] = '\0';
    res->temp_schema[0] = '\0';
    res->nvars = 0;
    res->connid.n = 0;
    res->connid.n_connid = 0;
    res->connid.nalias = 0;
    res->connid_overflow = false;
    res->lo_words = false;
    res->sysview_names = false;
    res->kill_word = false;
}

/* Whether the text from `from` to token t's end could hold a word that
 * classify_result.lo_words is for: an L or an O in the comments before t
 * (a gap of one byte is a space) or in t, unless t is a keyword or shorter
 * than the shortest word (5); or a keyword that has one of those words
 * (LIMIT, OFFSET, or 10 letters or more, like PROCESSLIST). Each word is
 * letters and '_', which the lexer never splits into two tokens: it is in
 * one token or in the text between two. */
static inline bool lo_word_near(const struct lexer *lx, const struct token *t, size_t from)
{
    const char *s = (const char *)lx->s;
    if (t->off < from || t->off + t->len > lx->len)
        return true; /* not where the text's bytes were counted: say maybe */
    if (t->off - from > 1 && hy_find_letters(s, t->off, from, 'l', 'o') < t->off)
        return true;
    if (t->kw != KW_NONE)
        return t->len >= 10 || (t->len == 5 && t->upper[0] == 'L') ||
               (t->len == 6 && t->upper[0] == 'O');
    return t->len >= 5 && hy_find_letters(s, t->off + t->len, t->off, 'l', 'o') < t->off + t->len;
}

/*
 * For classify_noting(): a number token that is digits alone, between
 * bytes that neither continue a name or a number (an identifier byte, a
 * `.`) nor start it (the text's ends count as neither). The lexer reads
 * such a run by its bytes' class alone (lex_token()'s plain digits: never
 * `1e5`, `0x1F`, `1.5`, `.5`, `t.5`, `1st`), so other digits there lex
 * into the same tokens; the digest prints it `?`. Its bytes are marked in
 * nums->mask when they fall in the first nums->cap bytes.
 */
static inline void number_note(struct classify_numbers *nums, const struct lexer *lx,
                               const struct token *t)
{
    const unsigned char *s = lx->s;
    size_t a = t->off, b = t->off + t->len;
    if (b > nums->cap || b > lx->len)
        return;
    if (a > 0 && (is_ident(s[a - 1]) || s[a - 1] == '.'))
        return;
    if (b < lx->len && (is_ident(s[b]) || s[b] == '.'))
        return;
    for (size_t i = a; i < b; i++)
        if (!is_digit(s[i]))
            return;
    for (size_t i = a; i < b; i++)
        nums->mask[i / 8] |= (uint8_t)(1u << (i % 8));
}

/* classify()'s pass; with nums, also what classify_noting() notes. One
 * copy for both: in two, the helpers it calls once each (stmt_feed() and
 * those it calls) were called from two places and no longer inlined, and
 * classify() cost about 260 instructions more a sysbench UPDATE; the test
 * of nums costs a few a token. */
static __attribute__((noinline)) void classify_pass(const char *sql, size_t len, unsigned opts,
                                                    struct classify_result *res,
                                                    struct classify_digest *dg,
                                                    struct classify_numbers *nums)
{
    struct lexer lx;
    struct digest d;
    struct ctx c;
    struct token t;

    kw_ready();
    classify_result_init(res);
    digest_init(&d, dg != NULL ? dg->buf : NULL, dg != NULL ? dg->cap : 0);
    if (len > CLASSIFY_MAX_LEN) {
        res->kind = CL_WRITE;
        res->flags = CLF_TOO_LONG;
        res->kinds = CL_BIT(CL_WRITE);
        res->nstmt = 1;
        res->lo_words = res->sysview_names = res->kill_word = true; /* not read */
        len = 0;                                                    /* and an empty digest */
    }
    lex_init(&lx, sql, len, opts, res);
    c.s = lx.s;
    c.res = res;
    c.last = CL_EMPTY;
    c.number_read = false;
    stmt_begin(&c.st);
    size_t seen = 0; /* the text before it was looked at for lo_words */
    bool lo = res->lo_words;
    for (;;) {
        lex_token(&lx, &t);
        if (!lo) {
            lo = lo_word_near(&lx, &t, seen);
            seen = t.off + t.len;
        }
        if (dg != NULL)
            digest_token(&d, &lx, &t);
        if (nums != NULL && t.type == T_NUMBER)
            number_note(nums, &lx, &t);
        if (t.type == T_SEMI || t.type == T_END) {
            stmt_end(&c);
            if (t.type == T_END)
                break;
            stmt_begin(&c.st);
            continue;
        }
        stmt_feed(&c, &t);
    }
    res->lo_words = lo;
    if (lx.unterminated || lx.in_exec)
        res->flags |= CLF_UNTERMINATED;
    if (res->nstmt > 1) {
        res->flags |= CLF_MULTI;
        if ((res->kinds & ~CL_BIT(CL_READ)) == 0)
            res->kind = CL_READ;
        else if ((res->kinds & ~(CL_BIT(CL_READ) | CL_BIT(CL_PIN_PRIMARY))) == 0)
            res->kind = CL_PIN_PRIMARY;
        else
            res->kind = CL_WRITE;
    } else if (res->nstmt == 1 && !(res->flags & CLF_TOO_LONG)) {
        res->kind = c.last;
    }
    if (dg != NULL) {
        digest_finish(&d);
        dg->len = d.n;
        dg->hash = d.hash;
    }
    if (nums != NULL)
        nums->number_read = c.number_read;
}

void classify(const char *sql, size_t len, unsigned opts, struct classify_result *res,
              struct classify_digest *dg)
{
    classify_pass(sql, len, opts, res, dg, NULL);
}

void classify_noting(const char *sql, size_t len, unsigned opts, struct classify_result *res,
                     struct classify_digest *dg, struct classify_numbers *nums)
{
    classify_pass(sql, len, opts, res, dg, nums);
}

uint64_t classify_digest(const char *sql, size_t len, unsigned opts, char *out, size_t cap,
                         size_t *out_len)
{
    struct lexer lx;
    struct digest d;
    struct token t;

    kw_ready();
    digest_init(&d, out, cap);
    lex_init(&lx, sql, len > CLASSIFY_MAX_LEN ? 0 : len, opts, NULL);
    do {
        lex_next(&lx, &t);
        digest_token(&d, &lx, &t);
    } while (t.type != T_END);
    digest_finish(&d);
    if (out_len != NULL)
        *out_len = d.n;
    return d.hash;
}

bool classify_find_ident(const char *sql, size_t len, unsigned opts, classify_ident_fn fn,
                         void *ctx)
{
    struct lexer lx;
    struct token t;
    char name[CLASSIFY_NAME_MAX + 1];

    kw_ready();
    lex_init(&lx, sql, len > CLASSIFY_MAX_LEN ? 0 : len, opts, NULL);
    for (;;) {
        lex_next(&lx, &t);
        if (t.type == T_END)
            return false;
        if (t.type == T_WORD) {
            if (fn(ctx, (const char *)lx.s + t.off, t.len))
                return true;
        } else if (t.type == T_QIDENT) {
            size_t n = copy_name(lx.s, &t, name);
            bool found = n != NAME_TOO_LONG ? fn(ctx, name, n)
                                            /* too long to be a real name: pass it as written */
                                            : fn(ctx, (const char *)lx.s + t.in_off, t.in_len);
            if (found)
                return true;
        }
    }
}

const char *classify_kind_to_str(enum classify_kind kind)
{
    switch (kind) {
    case CL_EMPTY:
        return "empty";
    case CL_READ:
        return "read";
    case CL_SESSION:
        return "session";
    case CL_PIN_PRIMARY:
        return "pin_primary";
    case CL_WRITE:
        return "write";
    case CL_TXN_BEGIN:
        return "txn_begin";
    case CL_TXN_BEGIN_RO:
        return "txn_begin_ro";
    case CL_TXN_END:
        return "txn_end";
    case CL_TXN_SAVEPOINT:
        return "txn_savepoint";
    case CL__COUNT:
        break;
    }
    return "unknown";
}

/* ---- sql_mode ----------------------------------------------------------- */

static const struct {
    const char *name;
    unsigned opts;
} sql_modes[] = {
    /* The server expands a combination mode into its parts when it reports
     * the value, but a value given on its command line or in a tracking
     * entry of another server may name the combination alone. */
    {"NO_BACKSLASH_ESCAPES", CLO_NO_BACKSLASH_ESCAPES},
    {"ANSI_QUOTES", CLO_ANSI_QUOTES},
    {"ANSI", CLO_ANSI_QUOTES},
    {"DB2", CLO_ANSI_QUOTES},
    {"MAXDB", CLO_ANSI_QUOTES},
    {"MSSQL", CLO_ANSI_QUOTES},
    {"ORACLE", CLO_ANSI_QUOTES},
    {"POSTGRESQL", CLO_ANSI_QUOTES},
};

unsigned classify_sql_mode(const char *mode, size_t len)
{
    unsigned opts = 0;
    const char *p = mode, *end = mode + len;

    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma != NULL ? comma : end;
        size_t n = (size_t)(stop - p);

        for (size_t i = 0; i < sizeof(sql_modes) / sizeof(sql_modes[0]); i++) {
            if (strlen(sql_modes[i].name) == n && strncasecmp(p, sql_modes[i].name, n) == 0)
                opts |= sql_modes[i].opts;
        }
        p = comma != NULL ? comma + 1 : end;
    }
    return opts;
}

bool classify_retry_safe(const struct classify_result *res)
{
    const uint32_t unsafe = CLF_MULTI | CLF_UNTERMINATED | CLF_TOO_LONG | CLF_LOCKING_READ |
                            CLF_SELECT_INTO | CLF_USER_VAR_SET | CLF_LAST_INSERT_ID |
                            CLF_PREV_STMT | CLF_USER_LOCK | CLF_SEQUENCE | CLF_ROUTINE_CALL |
                            CLF_UVARS_OPAQUE | CLF_STATE_OPAQUE | CLF_DIAG;
    return res->kind == CL_READ && (res->flags & unsafe) == 0;
}

/* The word at t spells `lit` (any case). */
static bool tok_is(const struct lexer *lx, const struct token *t, const char *lit)
{
    return t->type == T_WORD && ci_equal(lx->s + t->off, t->len, lit);
}

/* Whether a KILL statement may stand as written: KILL [HARD | SOFT]
 * [QUERY] USER (the server's, see classify_kill_refusal), a KILL with
 * nothing after it (its syntax error), or one whose id is a number, which
 * the session maps when the KILL is alone. `prepared`: only KILL QUERY
 * USER, whose effect is the server's alone. The first token is past KILL;
 * the statement begins at `from`; *last is the last one read.
 * The session maps the id only as session_kill_parse.c's parse_kill reads
 * it: digits, no executable comment around or between the words. Any
 * other number (5.0, 5e0, 0x5, X'05', which the server takes for thread
 * 5) or a KILL partly in an executable comment would reach the server
 * with halyard's id as written: not standing. */
static bool kill_stands(struct lexer *lx, size_t from, bool prepared, struct token *last)
{
    struct token t;
    lex_next(lx, &t);
    if (tok_is(lx, &t, "HARD") || tok_is(lx, &t, "SOFT"))
        lex_next(lx, &t);
    bool query = tok_is(lx, &t, "QUERY");
    if (query || tok_is(lx, &t, "CONNECTION"))
        lex_next(lx, &t);
    *last = t;
    if (tok_is(lx, &t, "USER"))
        return query || !prepared;
    if (prepared)
        return false;
    if (t.type == T_NUMBER) {
        for (size_t i = 0; i < t.len; i++)
            if (!is_digit(lx->s[t.off + i]))
                return false;
        lex_next(lx, &t);
    }
    *last = t;
    if (t.type != T_END && t.type != T_SEMI)
        return false;
    /* the words and the number are all that is there: an executable
     * comment's opener is one between them, or around them */
    size_t to = t.type == T_SEMI ? t.off : lx->len;
    for (size_t i = from; i + 2 < to; i++)
        if (lx->s[i] == '/' && lx->s[i + 1] == '*' &&
            (lx->s[i + 2] == '!' || (lx->s[i + 2] == 'M' && i + 3 < to && lx->s[i + 3] == '!')))
            return false;
    return true;
}

/* A KILL the server answers alone, whatever the id space: its id the
 * number 0, which names no thread (the server's ids start at 1, halyard's
 * at 2^30: the server answers "Unknown thread id", as it would directly),
 * or an id with a subquery or a sequence function, which the server
 * refuses before anything runs (ER_SUBQUERIES_NOT_SUPPORTED, 1970). `at`
 * is past KILL; a copy is read. */
static bool kill_server_alone(const struct lexer *at, const char *sql)
{
    struct lexer lx = *at;
    struct token t;
    lex_next(&lx, &t);
    if (tok_is(&lx, &t, "HARD") || tok_is(&lx, &t, "SOFT"))
        lex_next(&lx, &t);
    if (tok_is(&lx, &t, "QUERY") || tok_is(&lx, &t, "CONNECTION"))
        lex_next(&lx, &t);
    if (t.type == T_NUMBER && t.len == 1 && sql[t.off] == '0') {
        lex_next(&lx, &t);
        return t.type == T_END || t.type == T_SEMI;
    }
    for (; t.type != T_END && t.type != T_SEMI; lex_next(&lx, &t)) {
        if (tok_is(&lx, &t, "SELECT") || tok_is(&lx, &t, "LASTVAL") || tok_is(&lx, &t, "NEXTVAL") ||
            tok_is(&lx, &t, "SETVAL") || tok_is(&lx, &t, "VALUE"))
            return true; /* NEXT VALUE FOR, PREVIOUS VALUE FOR */
    }
    return false;
}

const char *classify_kill_refusal(const char *sql, size_t len, unsigned opts, bool prepared)
{
    struct lexer lx;
    struct token t;
    kw_ready();
    lex_init(&lx, sql, len, opts, NULL);
    unsigned stmts = 0, kills = 0;
    bool lead = true, in_prepare = false, from = false;
    size_t stmt_from = 0; /* where the statement being read begins */
    for (lex_next(&lx, &t); t.type != T_END; lex_next(&lx, &t)) {
        if (t.type == T_SEMI) {
            stmt_from = t.off + 1;
            lead = true;
            in_prepare = from = false;
            continue;
        }
        if (lead) {
            stmts++;
            in_prepare = tok_is(&lx, &t, "PREPARE");
            if (tok_is(&lx, &t, "KILL") && kill_server_alone(&lx, sql)) {
                lead = false; /* the server's answer is the right one */
                continue;
            }
            if (tok_is(&lx, &t, "KILL")) {
                kills++;
                if (!kill_stands(&lx, stmt_from, prepared, &t))
                    return prepared ? "in a prepared statement" : "with an id that is not a number";
                if (t.type == T_END)
                    break;
                lead = t.type == T_SEMI;
                stmt_from = t.off + 1;
                continue;
            }
        } else if (in_prepare && from && t.type == T_STRING &&
                   classify_kill_refusal(sql + t.in_off, t.in_len, opts, true) != NULL) {
            return "in a prepared statement";
        }
        from = in_prepare && tok_is(&lx, &t, "FROM");
        lead = false;
    }
    if (kills > 0 && stmts > 1)
        return "in a multi-statement text";
    return NULL;
}
