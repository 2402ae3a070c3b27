/*
 * lexer.h: the SQL lexer shared by the classifier and the digest writer
 * (classify.c, classify_digest.c): character classes, the keywords the
 * classifier acts on, tokens as offsets into the text.
 *
 * The lexer (struct lexer, lex_next) turns bytes into tokens. It skips
 * whitespace and comments, enters and leaves executable comments (whose
 * content is lexed like any SQL), hands comment text to the hint parser,
 * and looks words up in a hashed keyword table. A token is offsets into
 * the text, never a copy. Internal to the classify module: classify.h is
 * its interface.
 */
#ifndef HALYARD_LEXER_H
#define HALYARD_LEXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/sql/classify.h"

/* ---- characters ---- */

enum {
    CC_SPACE = 0x01, /* space, \t \n \v \f \r */
    CC_DIGIT = 0x02,
    CC_HEX = 0x04,   /* 0-9 a-f A-F */
    CC_IDENT = 0x08, /* may appear in an unquoted name: letters, digits, _ $ and non-ASCII */
    CC_KW = 0x10,    /* may appear in a keyword: ASCII letters, digits, _ */
    CC_LOWER = 0x20, /* a-z; equal to the bit that upper-cases them */
    CC_CMT = 0x40,   /* may open or close a comment: # - / * */
};

extern const uint8_t cclass[256];

static inline bool is_space(unsigned char c)
{
    return cclass[c] & CC_SPACE;
}

static inline bool is_digit(unsigned char c)
{
    return cclass[c] & CC_DIGIT;
}

static inline bool is_hex(unsigned char c)
{
    return cclass[c] & CC_HEX;
}

static inline bool is_ident(unsigned char c)
{
    return cclass[c] & CC_IDENT;
}

static inline bool is_alpha(unsigned char c)
{
    return (unsigned)((c | 0x20) - 'a') < 26u;
}

static inline unsigned char to_upper(unsigned char c)
{
    return c & (unsigned char)~(cclass[c] & CC_LOWER);
}

/* Whether the n bytes at p spell lit, ignoring ASCII case. */
bool ci_equal(const unsigned char *p, size_t n, const char *lit);

/* ---- keywords ---- */

/* The words the classifier acts on. Every other keyword is KW_OTHER. */
enum kw {
    KW_NONE, /* not a keyword */
    KW_OTHER,
    KW_ANALYZE,
    KW_AND,
    KW_AS,
    KW_BEGIN,
    KW_BINARY,
    KW_BINLOG,
    KW_CALL,
    KW_CHAIN,
    KW_CHARACTER,
    KW_CHARSET,
    KW_CHECK,
    KW_CHECKSUM,
    KW_COMMIT,
    KW_CONNECTION_ID,
    KW_COUNT,
    KW_CREATE,
    KW_CURRVAL,
    KW_CYCLE,
    KW_DEFAULT,
    KW_DELETE,
    KW_DESC,
    KW_DESCRIBE,
    KW_DO,
    KW_DROP,
    KW_DUAL,
    KW_DUMPFILE,
    KW_ERRORS,
    KW_EXECUTE,
    KW_EXISTS,
    KW_EXPLAIN,
    KW_EXTENDED,
    KW_FALSE,
    KW_FOR,
    KW_FORMAT,
    KW_FOUND_ROWS,
    KW_FROM,
    KW_GET,
    KW_GET_LOCK,
    KW_GLOBAL,
    KW_HANDLER,
    KW_HELP,
    KW_IF,
    KW_IN,
    KW_INSERT,
    KW_INTO,
    KW_IS_FREE_LOCK,
    KW_IS_USED_LOCK,
    KW_LASTVAL,
    KW_LAST_INSERT_ID,
    KW_LOCAL,
    KW_LOAD,
    KW_LOCK,
    KW_MASTER,
    KW_NAMES,
    KW_NEXT,
    KW_NEXTVAL,
    KW_NOT,
    KW_NO_WRITE_TO_BINLOG,
    KW_NULL,
    KW_OFF,
    KW_ON,
    KW_ONLY,
    KW_OR,
    KW_OUTFILE,
    KW_PARTITIONS,
    KW_PASSWORD,
    KW_PERSIST,
    KW_PERSIST_ONLY,
    KW_PREVIOUS,
    KW_READ,
    KW_RECOVER,
    KW_RELEASE,
    KW_RELEASE_ALL_LOCKS,
    KW_RELEASE_LOCK,
    KW_REPLACE,
    KW_RESTRICT,
    KW_ROLE,
    KW_ROLLBACK,
    KW_ROW_COUNT,
    KW_SAVEPOINT,
    KW_SELECT,
    KW_SESSION,
    KW_SET,
    KW_SETVAL,
    KW_SHARE,
    KW_SHOW,
    KW_START,
    KW_STATEMENT,
    KW_TABLE,
    KW_TABLES,
    KW_TEMPORARY,
    KW_TO,
    KW_TRANSACTION,
    KW_TRUE,
    KW_UNLOCK,
    KW_UPDATE,
    KW_USE,
    KW_VALUE,
    KW_VALUES,
    KW_WARNINGS,
    KW_WITH,
    KW_XA,
};

#define KWF_FUNC  0x1u /* function, type or literal: no space before '(' in the digest */
#define KW_MAXLEN 32

/* ---- lexer ---- */

enum tok_type {
    T_END, /* end of text */
    T_WORD,
    T_QIDENT, /* `quoted`, or "quoted" under ANSI_QUOTES */
    T_STRING, /* 'x', "x", N'x', _utf8mb4'x' */
    T_NUMBER, /* 12, 1.5e3, .5, 0x1F, 0b01, x'1F', b'01' */
    T_PARAM,  /* ? */
    T_UVAR,   /* @x, @'x' */
    T_SVAR,   /* @@x, @@session.x */
    T_LPAREN,
    T_RPAREN,
    T_COMMA,
    T_SEMI,
    T_DOT,
    T_EQ,
    T_ASSIGN, /* := */
    T_OP,     /* any other operator or byte */
};

enum { VS_NONE, VS_GLOBAL, VS_SESSION }; /* scope prefix of a T_SVAR */

struct token {
    enum tok_type type;
    uint8_t kw;        /* T_WORD: enum kw */
    uint8_t kwf;       /* T_WORD: KWF_* */
    uint8_t scope;     /* T_SVAR: VS_* */
    const char *upper; /* a keyword's upper-case spelling, for the digest */
    size_t off;        /* the whole token */
    size_t len;
    size_t in_off; /* the name or content: inside quotes, after @ or @@scope. */
    size_t in_len;
};

struct lexer {
    const unsigned char *s;
    size_t pos;
    size_t len;
    unsigned opts;      /* CLO_* */
    bool in_exec;       /* inside an executable comment */
    bool unterminated;  /* a string, quoted name or comment ran to the end */
    enum tok_type last; /* the previous token, to tell `t.5` from `.5`... */
    bool last_kw;       /* ... and user@host from SELECT@x */
    size_t last_end;
    struct classify_result *res; /* gets hints; NULL: comments are not read */
};

/* Build the keyword index once, before the first lookup (thread-safe). */
void kw_ready(void);
void lex_init(struct lexer *lx, const char *sql, size_t len, unsigned opts,
              struct classify_result *res);
/* The next token of the text. */
void lex_next(struct lexer *lx, struct token *t);

/* The first character of text[p, end) past spaces and comments (not an
 * executable comment, which is text); end if a comment does not close. */
const char *lex_skip_space_comments(const char *p, const char *end);
/* Whether the text at *pp is `word` (case-insensitive) ending a word; if
 * so, *pp moves past it and the spaces and comments after it. */
bool lex_match_word(const char **pp, const char *end, const char *word);

#endif /* HALYARD_LEXER_H */
