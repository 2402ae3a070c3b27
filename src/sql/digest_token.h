/*
 * digest_token.h: the digest writer's per-token work (classify_digest.c
 * has the rest), static inline so that classify()'s loop prints each token
 * without a call per token. Internal to the classify module (src/sql/):
 * classify.c and classify_digest.c include it.
 */
#ifndef HALYARD_DIGEST_TOKEN_H
#define HALYARD_DIGEST_TOKEN_H

#include "classify_int.h"

static inline void d_byte(struct digest *d, unsigned char b)
{
    if (d->n - d->flushed == DIGEST_CHUNK)
        digest_flush(d);
    d->chunk[d->n++ - d->flushed] = b;
}

/* Print n bytes. Most tokens are a few bytes that fit in the chunk: a
 * loop here costs less than a call to memcpy (~50 instructions a token). */
static inline void d_bytes(struct digest *d, const unsigned char *p, size_t n)
{
    size_t used = d->n - d->flushed;
    if (n > 16 || n > DIGEST_CHUNK - used) {
        digest_bytes_long(d, p, n);
        return;
    }
    unsigned char *o = d->chunk + used;
    for (size_t i = 0; i < n; i++)
        o[i] = p[i];
    d->n += n;
}

/* Whether token t is printed after a space. Where the rules leave none, the
 * digest must still lex back into the same tokens (a digest is its own
 * digest), hence the two exceptions around a `.`. */
static inline bool d_space(const struct digest *d, const struct token *t, const unsigned char *s)
{
    if (d->last == D_DOT_BARE)
        return t->type == T_WORD && is_digit(s[t->off]);
    if (d->last == D_NONE || d->last == D_OPEN || d->last == D_DOT)
        return false;
    switch (t->type) {
    case T_RPAREN:
    case T_COMMA:
        return false;
    case T_DOT:
        return d->last == D_VAR || d->last == D_AT;
    case T_LPAREN:
        return d->last != D_IDENT;
    default:
        return true;
    }
}

static inline void d_sign_flush(struct digest *d)
{
    if (d->sign == 0)
        return;
    if (d->sign_space)
        d_byte(d, ' ');
    d_byte(d, d->sign);
    d->sign = 0;
    d->last = D_OPER;
}

/* Print one token. lx is positioned just after it. */
static inline __attribute__((always_inline)) void
digest_token(struct digest *d, const struct lexer *lx, const struct token *t)
{
    const unsigned char *s = lx->s;
    bool space;

    if (t->off < d->skip_to)
        return;
    if (t->type == T_END) {
        d_sign_flush(d);
        return;
    }
    if (t->type == T_SEMI) {
        d_sign_flush(d);
        if (d->last != D_NONE)
            d->semi = true;
        return;
    }
    if (d->semi) {
        d_byte(d, ';');
        d->semi = false;
        d->last = D_OPER;
        d->last_string = false;
    }
    if (d->sign != 0) {
        if (t->type == T_NUMBER) {
            if (d->sign_space)
                d_byte(d, ' ');
            d_byte(d, '?');
            d->sign = 0;
            d->last = D_OPERAND;
            d->last_string = false;
            return;
        }
        d_sign_flush(d);
    }
    if (t->type == T_STRING && d->last_string)
        return;

    space = d_space(d, t, s);
    switch (t->type) {
    case T_STRING:
    case T_NUMBER:
    case T_PARAM:
        if (space)
            d_byte(d, ' ');
        d_byte(d, '?');
        d->last = D_OPERAND;
        d->last_string = t->type == T_STRING;
        return;
    case T_OP:
        if (t->len == 1 && (s[t->off] == '-' || s[t->off] == '+') &&
            (d->last == D_NONE || d->last == D_OPEN || d->last == D_OPER || d->last == D_AT ||
             d->last == D_KEYWORD)) {
            d->sign = s[t->off];
            d->sign_space = space;
            d->last_string = false;
            return;
        }
        d->last = t->len == 1 && s[t->off] == '@' ? D_AT : D_OPER;
        break;
    case T_EQ:
    case T_ASSIGN:
    case T_COMMA:
        d->last = D_OPER;
        break;
    case T_LPAREN:
        d->last = D_OPEN;
        break;
    case T_RPAREN:
        d->last = D_OPERAND;
        break;
    case T_UVAR:
    case T_SVAR:
        d->last = D_VAR;
        break;
    case T_DOT:
        d->last = d->last == D_IDENT || d->last == D_KEYWORD ? D_DOT : D_DOT_BARE;
        break;
    case T_QIDENT:
        d->last = D_IDENT;
        break;
    case T_WORD:
        if (space)
            d_byte(d, ' ');
        d_bytes(d, t->kw != KW_NONE ? (const unsigned char *)t->upper : s + t->off, t->len);
        d->last = (t->kw == KW_NONE || (t->kwf & KWF_FUNC)) ? D_IDENT : D_KEYWORD;
        d->last_string = false;
        if (t->kw == KW_IN || t->kw == KW_VALUES || t->kw == KW_VALUE) {
            size_t end = digest_fold_end(lx, t->kw != KW_IN);
            if (end > 0) {
                d_byte(d, ' ');
                d_bytes(d, (const unsigned char *)"(...)", 5);
                d->last = D_OPERAND;
                d->skip_to = end;
            }
        }
        return;
    default:
        d->last = D_OPERAND;
        break;
    }
    if (space)
        d_byte(d, ' ');
    d_bytes(d, s + t->off, t->len);
    d->last_string = false;
}

#endif /* HALYARD_DIGEST_TOKEN_H */
