/*
 * classify_digest.c: the digest writer (digest_*) prints each token in
 * canonical form into a stack chunk that is hashed and copied out when
 * full. A list of literals is folded with a lookahead on a copy of the
 * lexer that stops at the first token that is not a literal, so a byte is
 * lexed at most twice. See classify.h for what a digest is.
 */
#include <string.h>

#include "classify_int.h"
#include "digest_token.h"
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
void digest_flush(struct digest *d)
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

/* Print n bytes, whatever n: chunk by chunk. */
void digest_bytes_long(struct digest *d, const unsigned char *p, size_t n)
{
    while (n > 0) {
        if (d->n - d->flushed == DIGEST_CHUNK)
            digest_flush(d);
        size_t k = HY_MIN(n, DIGEST_CHUNK - (d->n - d->flushed));
        memcpy(d->chunk + (d->n - d->flushed), p, k);
        d->n += k;
        p += k;
        n -= k;
    }
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
size_t digest_fold_end(const struct lexer *lx, bool rows)
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

void digest_finish(struct digest *d)
{
    d_sign_flush(d);
    digest_flush(d);
    if (d->cap > 0)
        d->buf[HY_MIN(d->n, d->room)] = '\0';
    d->hash = hash_mix(d->hash, d->n);
}
