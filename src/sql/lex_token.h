/*
 * lex_token.h: the lexer's per-token fast path (words, whitespace, one-byte
 * operators) as static inline functions, so that classify()'s loop, the
 * data path, lexes without a call per token. Internal to the classify
 * module (src/sql/); everyone else calls lex_next() (lexer.h), which is
 * this same code out of line. The slow paths (comments, quoted tokens,
 * numbers, variables) stay in lexer.c.
 */
#ifndef HALYARD_LEX_TOKEN_H
#define HALYARD_LEX_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/sql/lexer.h"

struct keyword {
    const char *name;
    uint8_t len;
    uint8_t id;    /* enum kw */
    uint8_t flags; /* KWF_* */
};

/*
 * The keyword table (lexer.c) and its hash index: slot -> index + 1, 0 =
 * empty; linear probing. 2048 slots for ~470 words keep most misses
 * (identifiers) at one probe. The hash looks at the length and the first
 * two and last two bytes, so the lexer computes it in constant time per
 * word; kw_find() compares the whole word. Built once by kw_ready(),
 * before the first lookup; read-only after.
 */
#define KW_SLOTS 2048u

extern const struct keyword lex_keywords[];
extern uint16_t lex_kw_index[KW_SLOTS];

/*
 * w: n >= 2 bytes that may be in a keyword (CC_KW), any case. `& 0xDF`
 * folds the case of letters (and maps digits elsewhere, consistently).
 */
static inline uint32_t kw_hash(const unsigned char *w, size_t n)
{
    uint32_t x = (uint32_t)(w[0] & 0xDF) << 24 ^ (uint32_t)(w[1] & 0xDF) << 16 ^
                 (uint32_t)(w[n - 2] & 0xDF) << 8 ^ (uint32_t)(w[n - 1] & 0xDF) ^ (uint32_t)n << 11;
    return (x * 2654435761u) >> 21; /* 11 bits: a slot */
}

/*
 * The keyword spelled by the n bytes at w (any case), or NULL. The caller
 * has checked 2 <= n <= KW_MAXLEN and that every byte is CC_KW; kw_ready() first.
 */
static inline const struct keyword *kw_find(const unsigned char *w, size_t n)
{
    for (uint32_t slot = kw_hash(w, n); lex_kw_index[slot] != 0;
         slot = (slot + 1) & (KW_SLOTS - 1)) {
        const struct keyword *k = &lex_keywords[lex_kw_index[slot] - 1];
        if (k->len != n)
            continue;
        /* Both sides are letters, digits or _: they differ at most in the case bit. */
        size_t i = 0;
        while (i < n && ((w[i] ^ (unsigned char)k->name[i]) & 0xDF) == 0)
            i++;
        if (i == n)
            return k;
    }
    return NULL;
}

/* The byte at i, or 0 past the end. */
static inline unsigned char peek(const struct lexer *lx, size_t i)
{
    return i < lx->len ? lx->s[i] : 0;
}

/* The slow paths, in lexer.c. */
void lex_skip_blank(struct lexer *lx);
void lex_quoted(struct lexer *lx, struct token *t, size_t q, enum tok_type type);
void lex_number(struct lexer *lx, struct token *t);
void lex_var(struct lexer *lx, struct token *t);

static inline __attribute__((always_inline)) void lex_word(struct lexer *lx, struct token *t)
{
    const unsigned char *s = lx->s;
    size_t p = lx->pos, e = p, len = lx->len;
    unsigned kw = CC_KW; /* stays set while every byte may be in a keyword */

    while (e < len) {
        unsigned cls = cclass[s[e]];
        if (!(cls & CC_IDENT))
            break;
        kw &= cls;
        e++;
    }
    /* x'1F', b'01', N'text', _charset'text' */
    if (e < lx->len && (s[e] == '\'' || (s[e] == '"' && !(lx->opts & CLO_ANSI_QUOTES)))) {
        size_t n = e - p;
        unsigned char c0 = to_upper(s[p]);
        enum tok_type type = T_END;
        if (n == 1 && (c0 == 'X' || c0 == 'B') && s[e] == '\'')
            type = T_NUMBER;
        else if ((n == 1 && c0 == 'N') || (n > 1 && c0 == '_'))
            type = T_STRING;
        if (type != T_END) {
            lex_quoted(lx, t, e, type);
            t->off = p;
            t->len = lx->pos - p;
            return;
        }
    }
    t->type = T_WORD;
    t->off = t->in_off = p;
    t->len = t->in_len = e - p;
    if (kw && e - p >= 2 && e - p <= KW_MAXLEN) {
        const struct keyword *k = kw_find(s + p, e - p);
        if (k != NULL) {
            t->kw = k->id;
            t->kwf = k->flags;
            t->upper = k->name;
        }
    }
    lx->pos = e;
}

/*
 * The next token. Inlined into classify()'s loop, the data path, where a
 * call per token costs more than the token (~150 instructions of a point
 * select); lex_next() is the out-of-line copy for everyone else.
 */
static inline __attribute__((always_inline)) void lex_token(struct lexer *lx, struct token *t)
{
    /* Plain whitespace here; comments (rarer) in skip_blank(). */
    while (lx->pos < lx->len && is_space(lx->s[lx->pos]))
        lx->pos++;
    if (lx->pos < lx->len && (cclass[lx->s[lx->pos]] & CC_CMT))
        lex_skip_blank(lx);

    const unsigned char *s = lx->s;
    size_t p = lx->pos;
    t->kw = KW_NONE;
    t->kwf = 0;
    t->upper = NULL;
    t->scope = VS_NONE;
    t->off = t->in_off = p;
    t->in_len = 0;
    if (p >= lx->len) {
        t->type = T_END;
        t->len = 0;
        goto out;
    }

    unsigned char c = s[p];
    enum tok_type type = T_OP;
    size_t n = 1;
    if ((cclass[c] & (CC_IDENT | CC_DIGIT)) == CC_IDENT) { /* most tokens are words */
        lex_word(lx, t);
        goto out;
    }
    switch (c) {
    case '\'':
        lex_quoted(lx, t, p, T_STRING);
        goto out;
    case '"':
        lex_quoted(lx, t, p, (lx->opts & CLO_ANSI_QUOTES) ? T_QIDENT : T_STRING);
        goto out;
    case '`':
        lex_quoted(lx, t, p, T_QIDENT);
        goto out;
    case '@':
        /* 'user'@'host', user@host: an @ right after a name or string separates */
        if (lx->last_end == p && p > 0 && !lx->last_kw &&
            (lx->last == T_STRING || lx->last == T_WORD || lx->last == T_QIDENT))
            break;
        lex_var(lx, t);
        goto out;
    case '(':
        type = T_LPAREN;
        break;
    case ')':
        type = T_RPAREN;
        break;
    case ',':
        type = T_COMMA;
        break;
    case ';':
        type = T_SEMI;
        break;
    case '?':
        type = T_PARAM;
        break;
    case '=':
        type = T_EQ;
        break;
    case '.':
        /* `.5` is a number, but `t.5` names column 5 of t */
        if (is_digit(peek(lx, p + 1)) &&
            !((lx->last == T_WORD || lx->last == T_QIDENT) && lx->last_end == p)) {
            lex_number(lx, t);
            goto out;
        }
        type = T_DOT;
        break;
    case ':':
        if (peek(lx, p + 1) == '=') {
            type = T_ASSIGN;
            n = 2;
        }
        break;
    case '<': /* <=> <= <> << */
        if (peek(lx, p + 1) == '=' && peek(lx, p + 2) == '>')
            n = 3;
        else if (peek(lx, p + 1) == '=' || peek(lx, p + 1) == '>' || peek(lx, p + 1) == '<')
            n = 2;
        break;
    case '>': /* >= >> */
        if (peek(lx, p + 1) == '=' || peek(lx, p + 1) == '>')
            n = 2;
        break;
    case '!': /* != */
        if (peek(lx, p + 1) == '=')
            n = 2;
        break;
    case '|': /* || && */
    case '&':
        if (peek(lx, p + 1) == c)
            n = 2;
        break;
    case '-': /* -> ->> */
        if (peek(lx, p + 1) == '>')
            n = peek(lx, p + 2) == '>' ? 3 : 2;
        break;
    default:
        if (is_digit(c)) {
            if (lx->last == T_DOT && lx->last_end == p) {
                lex_word(lx, t);
                goto out;
            }
            /* Plain digits (most numbers) here; what a name byte or a
             * dot follows (1.5, 1e3, 0x1F, 1st_table) in lex_number(). */
            size_t e = p + 1;
            while (e < lx->len && is_digit(s[e]))
                e++;
            if (e < lx->len && (is_ident(s[e]) || s[e] == '.')) {
                lex_number(lx, t);
                goto out;
            }
            type = T_NUMBER;
            n = e - p;
            break;
        }
        if (is_ident(c)) {
            lex_word(lx, t);
            goto out;
        }
        break;
    }
    t->type = type;
    t->len = n;
    lx->pos = p + n;
out:
    lx->last = t->type;
    lx->last_kw = t->kw != KW_NONE;
    lx->last_end = lx->pos;
}

#endif /* HALYARD_LEX_TOKEN_H */
