/*
 * classify_digest.c: the digest writer (digest_*) prints each token in
 * canonical form into a stack chunk that is hashed and copied out when
 * full. A list of literals is folded with a lookahead on a copy of the
 * lexer that stops at the first token that is not a literal, so a byte is
 * lexed at most twice. See classify.h for what a digest is.
 */
#include <string.h>

#include "classify_int.h"
#include "halyard/core/text.h"

/* ---- digest ---- */

/*
 * The digest's hash: its bytes taken 8 at a time (first byte lowest, the
 * last word zero-padded), each word mixed in with a multiply and an
 * xor-shift, the length mixed in last.
 * Byte-at-a-time FNV-1a is a chain of one multiply per byte; this is one
 * per 8 bytes. Not cryptographic: it names digests in statistics and rules.
 */
#define HASH_SEED 0xcbf29ce484222325ull
#define HASH_MUL  0x9e3779b97f4a7c15ull

static inline uint64_t hash_mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * HASH_MUL;
    return h ^ (h >> 32);
}

void digest_init(struct digest *d, char *buf, size_t cap)
{
    d->buf = buf;
    d->cap = buf != NULL ? cap : 0;
    d->room = d->cap > 0 ? d->cap - 1 : 0;
    d->n = 0;
    d->flushed = 0;
    d->hash = HASH_SEED;
    d->last = D_NONE;
    d->last_string = false;
    d->semi = false;
    d->sign = 0;
    d->sign_space = false;
    d->skip_to = 0;
}

/* Hash and copy out what chunk holds; the last word of the digest is zero-padded. */
static void d_flush(struct digest *d)
{
    size_t k = d->n - d->flushed;
    uint64_t h = d->hash;
    size_t i = 0;
    for (; i + 8 <= k; i += 8)
        h = hash_mix(h, hy_load_le64(d->chunk + i));
    if (i < k) {
        unsigned char last[8] = {0};
        memcpy(last, d->chunk + i, k - i);
        h = hash_mix(h, hy_load_le64(last));
    }
    d->hash = h;
    if (d->flushed < d->room)
        memcpy(d->buf + d->flushed, d->chunk, HY_MIN(k, d->room - d->flushed));
    d->flushed = d->n;
}

static inline void d_byte(struct digest *d, unsigned char b)
{
    if (d->n - d->flushed == DIGEST_CHUNK)
        d_flush(d);
    d->chunk[d->n++ - d->flushed] = b;
}

/* Print n bytes, whatever n: chunk by chunk. */
static void d_bytes_long(struct digest *d, const unsigned char *p, size_t n)
{
    while (n > 0) {
        if (d->n - d->flushed == DIGEST_CHUNK)
            d_flush(d);
        size_t k = HY_MIN(n, DIGEST_CHUNK - (d->n - d->flushed));
        memcpy(d->chunk + (d->n - d->flushed), p, k);
        d->n += k;
        p += k;
        n -= k;
    }
}

/* Print n bytes. Most tokens are a few bytes that fit in the chunk: a
 * loop here costs less than a call to memcpy (~50 instructions a token). */
static inline void d_bytes(struct digest *d, const unsigned char *p, size_t n)
{
    size_t used = d->n - d->flushed;
    if (n > 16 || n > DIGEST_CHUNK - used) {
        d_bytes_long(d, p, n);
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
static bool d_space(const struct digest *d, const struct token *t, const unsigned char *s)
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

static void d_sign_flush(struct digest *d)
{
    if (d->sign == 0)
        return;
    if (d->sign_space)
        d_byte(d, ' ');
    d_byte(d, d->sign);
    d->sign = 0;
    d->last = D_OPER;
}

static bool fold_literal(const struct token *t)
{
    if (t->type == T_NUMBER || t->type == T_STRING || t->type == T_PARAM)
        return true;
    return t->kw == KW_NULL || t->kw == KW_TRUE || t->kw == KW_FALSE || t->kw == KW_DEFAULT;
}

/* After a '(': literals separated by commas, then ')'. */
static bool fold_row(struct lexer *p, bool allow_empty)
{
    struct token t;
    lex_next(p, &t);
    if (t.type == T_RPAREN)
        return allow_empty;
    for (;;) {
        if (t.type == T_OP && t.len == 1 && (p->s[t.off] == '-' || p->s[t.off] == '+')) {
            lex_next(p, &t);
            if (t.type != T_NUMBER)
                return false;
        }
        if (!fold_literal(&t))
            return false;
        bool string = t.type == T_STRING;
        lex_next(p, &t);
        while (string && t.type == T_STRING) /* 'a' 'b' is one string */
            lex_next(p, &t);
        if (t.type == T_RPAREN)
            return true;
        if (t.type != T_COMMA)
            return false;
        lex_next(p, &t);
    }
}

/*
 * After IN or VALUES: where the list of literal rows that follows ends
 * (one row for IN, any number for VALUES), or 0 if it is not all literals.
 */
static size_t fold_end(const struct lexer *lx, bool rows)
{
    struct lexer p = *lx;
    struct token t;
    size_t end = 0;
    p.res = NULL;
    for (;;) {
        lex_next(&p, &t);
        if (t.type != T_LPAREN || !fold_row(&p, rows))
            break;
        end = p.pos;
        if (!rows)
            break;
        lex_next(&p, &t);
        if (t.type != T_COMMA)
            break;
    }
    return end;
}

/* Print one token. lx is positioned just after it. */
void digest_token(struct digest *d, const struct lexer *lx, const struct token *t)
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
            size_t end = fold_end(lx, t->kw != KW_IN);
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

void digest_finish(struct digest *d)
{
    d_sign_flush(d);
    d_flush(d);
    if (d->cap > 0)
        d->buf[HY_MIN(d->n, d->room)] = '\0';
    d->hash = hash_mix(d->hash, d->n);
}
