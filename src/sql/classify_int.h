/*
 * classify_int.h: what the classify module's files share beyond lexer.h:
 * the digest writer (classify_digest.c) that classify() and
 * classify_digest() drive token by token, and the variant of classify()
 * the memo of classifications (classify_memo.c) runs.
 */
#ifndef HALYARD_CLASSIFY_INT_H
#define HALYARD_CLASSIFY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/sql/lexer.h"

/* What the digest printed last, for spacing and for telling unary from binary minus. */
enum dlast {
    D_NONE,
    D_OPEN,     /* ( */
    D_DOT,      /* . after a word or quoted name: `t.1x` reads back as t . 1x */
    D_DOT_BARE, /* . after anything else: `?.1x` would read back as ? .1 x */
    D_IDENT,    /* a name, or a function/type keyword: `f(` takes no space */
    D_OPERAND,  /* a literal or ) */
    D_VAR,      /* a variable: `@x.y` would read back as one variable */
    D_OPER,     /* an operator, comma or ;: a sign after it is unary */
    D_AT,       /* a lone @, an operator that `.y` would join as for D_VAR */
    D_KEYWORD,  /* a clause keyword: a sign after it is unary too */
};

#define DIGEST_CHUNK 256 /* a multiple of 8 */

/*
 * Bytes are printed into `chunk`; a full chunk (or the last, at the end) is
 * hashed 8 bytes per load and copied into the caller's buffer as far as it
 * fits. Every byte is written twice, but tokens are short and a byte-wise
 * hash or a bounds check per byte cost more.
 */
struct digest {
    char *buf;
    size_t cap;
    size_t room;    /* bytes buf holds before its NUL */
    size_t n;       /* bytes printed, also past room */
    size_t flushed; /* bytes already hashed and copied out; chunk holds [flushed, n) */
    uint64_t hash;
    enum dlast last;
    bool last_string;   /* the last ? was a string: an adjacent string continues it */
    bool semi;          /* a ; held back: printed only if a statement follows */
    unsigned char sign; /* a unary - or + held back: dropped if a number follows */
    bool sign_space;
    size_t skip_to; /* tokens before this offset were folded into (...) */
    unsigned char chunk[DIGEST_CHUNK];
};

void digest_init(struct digest *d, char *buf, size_t cap);
/* Print token `t` of `lx` in canonical form: digest_token() in
 * digest_token.h (inline), which calls these for what is rare. */
void digest_flush(struct digest *d);
void digest_bytes_long(struct digest *d, const unsigned char *p, size_t n);
size_t digest_fold_end(const struct lexer *lx, bool rows);
void digest_finish(struct digest *d);

/*
 * What classify_noting() notes for the memo (classify_memo.c): the bytes
 * of the text's anonymous numbers (number_note() in classify.c says which)
 * among its first `cap` bytes, a bit each in mask (cap / 8 bytes, zeroed
 * by the caller), and whether the classifier read a number's text.
 */
struct classify_numbers {
    uint8_t *mask;
    size_t cap;
    bool number_read;
};

/* classify() that also fills *nums. */
void classify_noting(const char *sql, size_t len, unsigned opts, struct classify_result *res,
                     struct classify_digest *dg, struct classify_numbers *nums);
/* What classify() sets in *res before its pass: an empty text's result. */
void classify_result_init(struct classify_result *res);

#endif /* HALYARD_CLASSIFY_INT_H */
