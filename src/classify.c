/*
 * classify.c: SQL lexer, statement classifier and digest; see classify.h
 * for what is decided and why.
 *
 * Three layers, one pass over the text:
 *  - The lexer (struct lexer, lex_next) turns bytes into tokens. It skips
 *    whitespace and comments, enters and leaves executable comments (whose
 *    content is lexed like any SQL), hands comment text to the hint parser,
 *    and looks words up in a hashed keyword table. A token is offsets into
 *    the text, never a copy. Words and whitespace, most of any query, take
 *    an inlined fast path in classify()'s loop.
 *  - The statement classifier (stmt_*) is a small state machine per
 *    statement. The leading keyword picks a mode (query body, SET list,
 *    WITH list, EXPLAIN modifiers...); the mode's handler reads the few
 *    tokens that matter and says whether the token is part of an
 *    expression. Expression tokens go through expr_check(), which finds what
 *    can appear anywhere: functions that pin, `@x :=`, FOR UPDATE, NEXT
 *    VALUE FOR. `base` is what the leading keywords decided, `esc` the
 *    strongest need found in expressions; the statement's kind is the
 *    stronger of the two. Transaction control is never escalated.
 *  - The digest writer (digest_*) prints each token in canonical form into
 *    a stack chunk that is hashed and copied out when full. A list of
 *    literals is folded with a lookahead on a copy of the lexer that stops
 *    at the first token that is not a literal, so a byte is lexed at most
 *    twice.
 *
 * Nothing allocates: the state lives on the caller's stack and in the result.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "halyard/classify.h"
#include "halyard/sqlfunc.h"

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

#define SP   CC_SPACE
#define DG   (CC_DIGIT | CC_HEX | CC_IDENT | CC_KW)
#define UX   (CC_HEX | CC_IDENT | CC_KW)            /* A-F */
#define UP   (CC_IDENT | CC_KW)                     /* G-Z _ */
#define LX   (CC_HEX | CC_IDENT | CC_KW | CC_LOWER) /* a-f */
#define LO   (CC_IDENT | CC_KW | CC_LOWER)          /* g-z */
#define ID   CC_IDENT                               /* $, non-ASCII */
#define CM   CC_CMT                                 /* # - / * */
#define ID16 ID, ID, ID, ID, ID, ID, ID, ID, ID, ID, ID, ID, ID, ID, ID, ID

// clang-format off
static const uint8_t cclass[256] = {
    /* 0x00 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, SP, SP, SP, SP, SP, 0, 0,
    /* 0x10 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x20 */ SP, 0, 0, CM, ID, 0, 0, 0, 0, 0, CM, 0, 0, CM, 0, CM,      /*  !"#$%&'()*+,-./ */
    /* 0x30 */ DG, DG, DG, DG, DG, DG, DG, DG, DG, DG, 0, 0, 0, 0, 0, 0,  /* 0-9 :;<=>? */
    /* 0x40 */ 0, UX, UX, UX, UX, UX, UX, UP, UP, UP, UP, UP, UP, UP, UP, UP, /* @A-O */
    /* 0x50 */ UP, UP, UP, UP, UP, UP, UP, UP, UP, UP, UP, 0, 0, 0, 0, UP,  /* P-Z [\]^_ */
    /* 0x60 */ 0, LX, LX, LX, LX, LX, LX, LO, LO, LO, LO, LO, LO, LO, LO, LO, /* `a-o */
    /* 0x70 */ LO, LO, LO, LO, LO, LO, LO, LO, LO, LO, LO, 0, 0, 0, 0, 0,   /* p-z {|}~ DEL */
    /* 0x80 */ ID16, ID16, ID16, ID16, ID16, ID16, ID16, ID16,
};
// clang-format on

#undef SP
#undef DG
#undef UX
#undef UP
#undef LX
#undef LO
#undef ID
#undef CM
#undef ID16

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
static bool ci_equal(const unsigned char *p, size_t n, const char *lit)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (lit[i] == '\0' || to_upper(p[i]) != to_upper((unsigned char)lit[i]))
            return false;
    return lit[i] == '\0';
}

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

struct keyword {
    const char *name;
    uint8_t len;
    uint8_t id;    /* enum kw */
    uint8_t flags; /* KWF_* */
};

// clang-format off
#define K(name, id, flags) {name, sizeof(name) - 1, id, flags}
// clang-format on

/*
 * MariaDB's reserved words, the words the classifier acts on, and common
 * function and type names, upper case. Kept alphabetical for the reader;
 * lookups go through the hash index below, so order does not matter.
 */
static const struct keyword keywords[] = {
    K("ABS", KW_OTHER, KWF_FUNC),
    K("ACCESSIBLE", KW_OTHER, 0),
    K("ACTION", KW_OTHER, 0),
    K("ADD", KW_OTHER, 0),
    K("AFTER", KW_OTHER, 0),
    K("AGAINST", KW_OTHER, 0),
    K("ALGORITHM", KW_OTHER, 0),
    K("ALL", KW_OTHER, 0),
    K("ALTER", KW_OTHER, 0),
    K("ANALYZE", KW_ANALYZE, 0),
    K("AND", KW_AND, 0),
    K("ANY", KW_OTHER, 0),
    K("AS", KW_AS, 0),
    K("ASC", KW_OTHER, 0),
    K("ASENSITIVE", KW_OTHER, 0),
    K("ATOMIC", KW_OTHER, 0),
    K("AUTO_INCREMENT", KW_OTHER, 0),
    K("AVG", KW_OTHER, KWF_FUNC),
    K("BACKUP", KW_OTHER, 0),
    K("BEFORE", KW_OTHER, 0),
    K("BEGIN", KW_BEGIN, 0),
    K("BENCHMARK", KW_OTHER, KWF_FUNC),
    K("BETWEEN", KW_OTHER, 0),
    K("BIGINT", KW_OTHER, KWF_FUNC),
    K("BINARY", KW_BINARY, 0),
    K("BINLOG", KW_BINLOG, 0),
    K("BIT", KW_OTHER, KWF_FUNC),
    K("BIT_AND", KW_OTHER, KWF_FUNC),
    K("BIT_OR", KW_OTHER, KWF_FUNC),
    K("BIT_XOR", KW_OTHER, KWF_FUNC),
    K("BLOB", KW_OTHER, KWF_FUNC),
    K("BOOL", KW_OTHER, KWF_FUNC),
    K("BOOLEAN", KW_OTHER, KWF_FUNC),
    K("BOTH", KW_OTHER, 0),
    K("BY", KW_OTHER, 0),
    K("CALL", KW_CALL, 0),
    K("CASCADE", KW_OTHER, 0),
    K("CASE", KW_OTHER, 0),
    K("CAST", KW_OTHER, KWF_FUNC),
    K("CEIL", KW_OTHER, KWF_FUNC),
    K("CEILING", KW_OTHER, KWF_FUNC),
    K("CHAIN", KW_CHAIN, 0),
    K("CHANGE", KW_OTHER, 0),
    K("CHAR", KW_OTHER, KWF_FUNC),
    K("CHARACTER", KW_CHARACTER, 0),
    K("CHARSET", KW_CHARSET, KWF_FUNC),
    K("CHAR_LENGTH", KW_OTHER, KWF_FUNC),
    K("CHECK", KW_CHECK, 0),
    K("CHECKSUM", KW_CHECKSUM, 0),
    K("CLOSE", KW_OTHER, 0),
    K("COALESCE", KW_OTHER, KWF_FUNC),
    K("COLLATE", KW_OTHER, 0),
    K("COLLATION", KW_OTHER, KWF_FUNC),
    K("COLUMN", KW_OTHER, 0),
    K("COLUMNS", KW_OTHER, 0),
    K("COMMENT", KW_OTHER, 0),
    K("COMMIT", KW_COMMIT, 0),
    K("COMMITTED", KW_OTHER, 0),
    K("CONCAT", KW_OTHER, KWF_FUNC),
    K("CONCAT_WS", KW_OTHER, KWF_FUNC),
    K("CONDITION", KW_OTHER, 0),
    K("CONNECTION", KW_OTHER, 0),
    K("CONNECTION_ID", KW_CONNECTION_ID, KWF_FUNC),
    K("CONSISTENT", KW_OTHER, 0),
    K("CONSTRAINT", KW_OTHER, 0),
    K("CONTINUE", KW_OTHER, 0),
    K("CONVERT", KW_OTHER, KWF_FUNC),
    K("COUNT", KW_COUNT, KWF_FUNC),
    K("CREATE", KW_CREATE, 0),
    K("CROSS", KW_OTHER, 0),
    K("CURDATE", KW_OTHER, KWF_FUNC),
    K("CURRENT_DATE", KW_OTHER, KWF_FUNC),
    K("CURRENT_ROLE", KW_OTHER, KWF_FUNC),
    K("CURRENT_TIME", KW_OTHER, KWF_FUNC),
    K("CURRENT_TIMESTAMP", KW_OTHER, KWF_FUNC),
    K("CURRENT_USER", KW_OTHER, KWF_FUNC),
    K("CURRVAL", KW_CURRVAL, KWF_FUNC),
    K("CURSOR", KW_OTHER, 0),
    K("CURTIME", KW_OTHER, KWF_FUNC),
    K("CYCLE", KW_CYCLE, 0),
    K("DATA", KW_OTHER, 0),
    K("DATABASE", KW_OTHER, KWF_FUNC),
    K("DATABASES", KW_OTHER, 0),
    K("DATE", KW_OTHER, KWF_FUNC),
    K("DATEDIFF", KW_OTHER, KWF_FUNC),
    K("DATETIME", KW_OTHER, KWF_FUNC),
    K("DATE_ADD", KW_OTHER, KWF_FUNC),
    K("DATE_FORMAT", KW_OTHER, KWF_FUNC),
    K("DATE_SUB", KW_OTHER, KWF_FUNC),
    K("DAY", KW_OTHER, KWF_FUNC),
    K("DAY_HOUR", KW_OTHER, 0),
    K("DAY_MICROSECOND", KW_OTHER, 0),
    K("DAY_MINUTE", KW_OTHER, 0),
    K("DAY_SECOND", KW_OTHER, 0),
    K("DEALLOCATE", KW_OTHER, 0),
    K("DEC", KW_OTHER, KWF_FUNC),
    K("DECIMAL", KW_OTHER, KWF_FUNC),
    K("DECLARE", KW_OTHER, 0),
    K("DEFAULT", KW_DEFAULT, 0),
    K("DEFINER", KW_OTHER, 0),
    K("DELAYED", KW_OTHER, 0),
    K("DELETE", KW_DELETE, 0),
    K("DELETE_DOMAIN_ID", KW_OTHER, 0),
    K("DESC", KW_DESC, 0),
    K("DESCRIBE", KW_DESCRIBE, 0),
    K("DETERMINISTIC", KW_OTHER, 0),
    K("DIAGNOSTICS", KW_OTHER, 0),
    K("DISABLE", KW_OTHER, 0),
    K("DISTINCT", KW_OTHER, 0),
    K("DISTINCTROW", KW_OTHER, 0),
    K("DIV", KW_OTHER, 0),
    K("DO", KW_DO, 0),
    K("DOUBLE", KW_OTHER, KWF_FUNC),
    K("DO_DOMAIN_IDS", KW_OTHER, 0),
    K("DROP", KW_DROP, 0),
    K("DUAL", KW_DUAL, 0),
    K("DUMPFILE", KW_DUMPFILE, 0),
    K("DUPLICATE", KW_OTHER, 0),
    K("EACH", KW_OTHER, 0),
    K("ELSE", KW_OTHER, 0),
    K("ELSEIF", KW_OTHER, 0),
    K("ENABLE", KW_OTHER, 0),
    K("ENCLOSED", KW_OTHER, 0),
    K("END", KW_OTHER, 0),
    K("ENGINE", KW_OTHER, 0),
    K("ENGINES", KW_OTHER, 0),
    K("ENUM", KW_OTHER, KWF_FUNC),
    K("ERRORS", KW_ERRORS, 0),
    K("ESCAPED", KW_OTHER, 0),
    K("EVENT", KW_OTHER, 0),
    K("EVENTS", KW_OTHER, 0),
    K("EXCEPT", KW_OTHER, 0),
    K("EXECUTE", KW_EXECUTE, 0),
    K("EXISTS", KW_EXISTS, 0),
    K("EXIT", KW_OTHER, 0),
    K("EXPLAIN", KW_EXPLAIN, 0),
    K("EXTENDED", KW_EXTENDED, 0),
    K("FALSE", KW_FALSE, KWF_FUNC),
    K("FETCH", KW_OTHER, 0),
    K("FIELDS", KW_OTHER, 0),
    K("FIRST", KW_OTHER, 0),
    K("FLOAT", KW_OTHER, KWF_FUNC),
    K("FLOAT4", KW_OTHER, KWF_FUNC),
    K("FLOAT8", KW_OTHER, KWF_FUNC),
    K("FLOOR", KW_OTHER, KWF_FUNC),
    K("FLUSH", KW_OTHER, 0),
    K("FOR", KW_FOR, 0),
    K("FORCE", KW_OTHER, 0),
    K("FOREIGN", KW_OTHER, 0),
    K("FORMAT", KW_FORMAT, KWF_FUNC),
    K("FOUND_ROWS", KW_FOUND_ROWS, KWF_FUNC),
    K("FROM", KW_FROM, 0),
    K("FROM_UNIXTIME", KW_OTHER, KWF_FUNC),
    K("FULL", KW_OTHER, 0),
    K("FULLTEXT", KW_OTHER, 0),
    K("FUNCTION", KW_OTHER, 0),
    K("GENERAL", KW_OTHER, 0),
    K("GET", KW_GET, 0),
    K("GET_LOCK", KW_GET_LOCK, KWF_FUNC),
    K("GLOBAL", KW_GLOBAL, 0),
    K("GRANT", KW_OTHER, 0),
    K("GRANTS", KW_OTHER, 0),
    K("GREATEST", KW_OTHER, KWF_FUNC),
    K("GROUP", KW_OTHER, 0),
    K("GROUP_CONCAT", KW_OTHER, KWF_FUNC),
    K("HANDLER", KW_HANDLER, 0),
    K("HAVING", KW_OTHER, 0),
    K("HELP", KW_HELP, 0),
    K("HEX", KW_OTHER, KWF_FUNC),
    K("HIGH_PRIORITY", KW_OTHER, 0),
    K("HOUR", KW_OTHER, KWF_FUNC),
    K("HOUR_MICROSECOND", KW_OTHER, 0),
    K("HOUR_MINUTE", KW_OTHER, 0),
    K("HOUR_SECOND", KW_OTHER, 0),
    K("IF", KW_IF, KWF_FUNC),
    K("IFNULL", KW_OTHER, KWF_FUNC),
    K("IGNORE", KW_OTHER, 0),
    K("IGNORE_DOMAIN_IDS", KW_OTHER, 0),
    K("IGNORE_SERVER_IDS", KW_OTHER, 0),
    K("IN", KW_IN, 0),
    K("INDEX", KW_OTHER, 0),
    K("INDEXES", KW_OTHER, 0),
    K("INFILE", KW_OTHER, 0),
    K("INNER", KW_OTHER, 0),
    K("INOUT", KW_OTHER, 0),
    K("INSENSITIVE", KW_OTHER, 0),
    K("INSERT", KW_INSERT, KWF_FUNC),
    K("INSTALL", KW_OTHER, 0),
    K("INSTR", KW_OTHER, KWF_FUNC),
    K("INT", KW_OTHER, KWF_FUNC),
    K("INT1", KW_OTHER, KWF_FUNC),
    K("INT2", KW_OTHER, KWF_FUNC),
    K("INT3", KW_OTHER, KWF_FUNC),
    K("INT4", KW_OTHER, KWF_FUNC),
    K("INT8", KW_OTHER, KWF_FUNC),
    K("INTEGER", KW_OTHER, KWF_FUNC),
    K("INTERSECT", KW_OTHER, 0),
    K("INTERVAL", KW_OTHER, 0),
    K("INTO", KW_INTO, 0),
    K("INVOKER", KW_OTHER, 0),
    K("IS", KW_OTHER, 0),
    K("ISNULL", KW_OTHER, KWF_FUNC),
    K("ISOLATION", KW_OTHER, 0),
    K("IS_FREE_LOCK", KW_IS_FREE_LOCK, KWF_FUNC),
    K("IS_USED_LOCK", KW_IS_USED_LOCK, KWF_FUNC),
    K("ITERATE", KW_OTHER, 0),
    K("JOIN", KW_OTHER, 0),
    K("JSON", KW_OTHER, KWF_FUNC),
    K("JSON_ARRAY", KW_OTHER, KWF_FUNC),
    K("JSON_EXTRACT", KW_OTHER, KWF_FUNC),
    K("JSON_OBJECT", KW_OTHER, KWF_FUNC),
    K("JSON_UNQUOTE", KW_OTHER, KWF_FUNC),
    K("JSON_VALUE", KW_OTHER, KWF_FUNC),
    K("KEY", KW_OTHER, 0),
    K("KEYS", KW_OTHER, 0),
    K("KILL", KW_OTHER, 0),
    K("LAST", KW_OTHER, 0),
    K("LASTVAL", KW_LASTVAL, KWF_FUNC),
    K("LAST_INSERT_ID", KW_LAST_INSERT_ID, KWF_FUNC),
    K("LCASE", KW_OTHER, KWF_FUNC),
    K("LEADING", KW_OTHER, 0),
    K("LEAST", KW_OTHER, KWF_FUNC),
    K("LEAVE", KW_OTHER, 0),
    K("LEFT", KW_OTHER, KWF_FUNC),
    K("LENGTH", KW_OTHER, KWF_FUNC),
    K("LEVEL", KW_OTHER, 0),
    K("LIKE", KW_OTHER, 0),
    K("LIMIT", KW_OTHER, 0),
    K("LINEAR", KW_OTHER, 0),
    K("LINES", KW_OTHER, 0),
    K("LOAD", KW_LOAD, 0),
    K("LOCAL", KW_LOCAL, 0),
    K("LOCALTIME", KW_OTHER, KWF_FUNC),
    K("LOCALTIMESTAMP", KW_OTHER, KWF_FUNC),
    K("LOCATE", KW_OTHER, KWF_FUNC),
    K("LOCK", KW_LOCK, 0),
    K("LOCKED", KW_OTHER, 0),
    K("LOGS", KW_OTHER, 0),
    K("LONG", KW_OTHER, 0),
    K("LONGBLOB", KW_OTHER, KWF_FUNC),
    K("LONGTEXT", KW_OTHER, KWF_FUNC),
    K("LOOP", KW_OTHER, 0),
    K("LOWER", KW_OTHER, KWF_FUNC),
    K("LOW_PRIORITY", KW_OTHER, 0),
    K("LPAD", KW_OTHER, KWF_FUNC),
    K("LTRIM", KW_OTHER, KWF_FUNC),
    K("MASTER", KW_MASTER, 0),
    K("MASTER_GTID_WAIT", KW_OTHER, KWF_FUNC),
    K("MASTER_HEARTBEAT_PERIOD", KW_OTHER, 0),
    K("MASTER_POS_WAIT", KW_OTHER, KWF_FUNC),
    K("MASTER_SSL_VERIFY_SERVER_CERT", KW_OTHER, 0),
    K("MATCH", KW_OTHER, KWF_FUNC),
    K("MAX", KW_OTHER, KWF_FUNC),
    K("MAXVALUE", KW_OTHER, 0),
    K("MD5", KW_OTHER, KWF_FUNC),
    K("MEDIUMBLOB", KW_OTHER, KWF_FUNC),
    K("MEDIUMINT", KW_OTHER, KWF_FUNC),
    K("MEDIUMTEXT", KW_OTHER, KWF_FUNC),
    K("MIDDLEINT", KW_OTHER, KWF_FUNC),
    K("MIN", KW_OTHER, KWF_FUNC),
    K("MINUTE", KW_OTHER, KWF_FUNC),
    K("MINUTE_MICROSECOND", KW_OTHER, 0),
    K("MINUTE_SECOND", KW_OTHER, 0),
    K("MOD", KW_OTHER, KWF_FUNC),
    K("MODE", KW_OTHER, 0),
    K("MODIFIES", KW_OTHER, 0),
    K("MONTH", KW_OTHER, KWF_FUNC),
    K("NAMES", KW_NAMES, 0),
    K("NATURAL", KW_OTHER, 0),
    K("NEXT", KW_NEXT, 0),
    K("NEXTVAL", KW_NEXTVAL, KWF_FUNC),
    K("NO", KW_OTHER, 0),
    K("NOT", KW_NOT, 0),
    K("NOW", KW_OTHER, KWF_FUNC),
    K("NOWAIT", KW_OTHER, 0),
    K("NO_WRITE_TO_BINLOG", KW_NO_WRITE_TO_BINLOG, 0),
    K("NULL", KW_NULL, KWF_FUNC),
    K("NULLIF", KW_OTHER, KWF_FUNC),
    K("NUMERIC", KW_OTHER, KWF_FUNC),
    K("OFF", KW_OFF, 0),
    K("OFFSET", KW_OTHER, 0),
    K("ON", KW_ON, 0),
    K("ONLY", KW_ONLY, 0),
    K("OPEN", KW_OTHER, 0),
    K("OPTIMIZE", KW_OTHER, 0),
    K("OPTION", KW_OTHER, 0),
    K("OPTIONALLY", KW_OTHER, 0),
    K("OR", KW_OR, 0),
    K("ORDER", KW_OTHER, 0),
    K("OUT", KW_OTHER, 0),
    K("OUTER", KW_OTHER, 0),
    K("OUTFILE", KW_OUTFILE, 0),
    K("OVER", KW_OTHER, 0),
    K("PAGE_CHECKSUM", KW_OTHER, 0),
    K("PARSE_VCOL_EXPR", KW_OTHER, 0),
    K("PARTITION", KW_OTHER, 0),
    K("PARTITIONS", KW_PARTITIONS, 0),
    K("PASSWORD", KW_PASSWORD, KWF_FUNC),
    K("PERSIST", KW_PERSIST, 0),
    K("PERSIST_ONLY", KW_PERSIST_ONLY, 0),
    K("PLUGIN", KW_OTHER, 0),
    K("POSITION", KW_OTHER, KWF_FUNC),
    K("PRECISION", KW_OTHER, 0),
    K("PREPARE", KW_OTHER, 0),
    K("PREVIOUS", KW_PREVIOUS, 0),
    K("PRIMARY", KW_OTHER, 0),
    K("PRIVILEGES", KW_OTHER, 0),
    K("PROCEDURE", KW_OTHER, 0),
    K("PROCESSLIST", KW_OTHER, 0),
    K("PURGE", KW_OTHER, 0),
    K("QUERY", KW_OTHER, 0),
    K("QUICK", KW_OTHER, 0),
    K("RAND", KW_OTHER, KWF_FUNC),
    K("RANGE", KW_OTHER, 0),
    K("READ", KW_READ, 0),
    K("READS", KW_OTHER, 0),
    K("READ_WRITE", KW_OTHER, 0),
    K("REAL", KW_OTHER, KWF_FUNC),
    K("RECOVER", KW_RECOVER, 0),
    K("RECURSIVE", KW_OTHER, 0),
    K("REFERENCES", KW_OTHER, 0),
    K("REF_SYSTEM_ID", KW_OTHER, 0),
    K("REGEXP", KW_OTHER, 0),
    K("RELEASE", KW_RELEASE, 0),
    K("RELEASE_ALL_LOCKS", KW_RELEASE_ALL_LOCKS, KWF_FUNC),
    K("RELEASE_LOCK", KW_RELEASE_LOCK, KWF_FUNC),
    K("RENAME", KW_OTHER, 0),
    K("REPAIR", KW_OTHER, 0),
    K("REPEAT", KW_OTHER, KWF_FUNC),
    K("REPEATABLE", KW_OTHER, 0),
    K("REPLACE", KW_REPLACE, KWF_FUNC),
    K("REPLICA", KW_OTHER, 0),
    K("REQUIRE", KW_OTHER, 0),
    K("RESET", KW_OTHER, 0),
    K("RESIGNAL", KW_OTHER, 0),
    K("RESTRICT", KW_RESTRICT, 0),
    K("RETURN", KW_OTHER, 0),
    K("RETURNING", KW_OTHER, 0),
    K("RETURNS", KW_OTHER, 0),
    K("REVERSE", KW_OTHER, KWF_FUNC),
    K("REVOKE", KW_OTHER, 0),
    K("RIGHT", KW_OTHER, KWF_FUNC),
    K("RLIKE", KW_OTHER, 0),
    K("ROLE", KW_ROLE, 0),
    K("ROLLBACK", KW_ROLLBACK, 0),
    K("ROLLUP", KW_OTHER, 0),
    K("ROUND", KW_OTHER, KWF_FUNC),
    K("ROW", KW_OTHER, KWF_FUNC),
    K("ROWS", KW_OTHER, 0),
    K("ROW_COUNT", KW_ROW_COUNT, KWF_FUNC),
    K("ROW_NUMBER", KW_OTHER, KWF_FUNC),
    K("RPAD", KW_OTHER, KWF_FUNC),
    K("RTRIM", KW_OTHER, KWF_FUNC),
    K("SAVEPOINT", KW_SAVEPOINT, 0),
    K("SCHEMA", KW_OTHER, KWF_FUNC),
    K("SCHEMAS", KW_OTHER, 0),
    K("SECOND", KW_OTHER, KWF_FUNC),
    K("SECOND_MICROSECOND", KW_OTHER, 0),
    K("SECURITY", KW_OTHER, 0),
    K("SELECT", KW_SELECT, 0),
    K("SENSITIVE", KW_OTHER, 0),
    K("SEPARATOR", KW_OTHER, 0),
    K("SEQUENCE", KW_OTHER, 0),
    K("SERIALIZABLE", KW_OTHER, 0),
    K("SESSION", KW_SESSION, 0),
    K("SET", KW_SET, 0),
    K("SETVAL", KW_SETVAL, KWF_FUNC),
    K("SHA1", KW_OTHER, KWF_FUNC),
    K("SHA2", KW_OTHER, KWF_FUNC),
    K("SHARE", KW_SHARE, 0),
    K("SHOW", KW_SHOW, 0),
    K("SHUTDOWN", KW_OTHER, 0),
    K("SIGNAL", KW_OTHER, 0),
    K("SKIP", KW_OTHER, 0),
    K("SLAVE", KW_OTHER, 0),
    K("SLEEP", KW_OTHER, KWF_FUNC),
    K("SLOW", KW_OTHER, 0),
    K("SMALLINT", KW_OTHER, KWF_FUNC),
    K("SNAPSHOT", KW_OTHER, 0),
    K("SPATIAL", KW_OTHER, 0),
    K("SPECIFIC", KW_OTHER, 0),
    K("SQL", KW_OTHER, 0),
    K("SQLEXCEPTION", KW_OTHER, 0),
    K("SQLSTATE", KW_OTHER, 0),
    K("SQLWARNING", KW_OTHER, 0),
    K("SQL_BIG_RESULT", KW_OTHER, 0),
    K("SQL_CACHE", KW_OTHER, 0),
    K("SQL_CALC_FOUND_ROWS", KW_OTHER, 0),
    K("SQL_NO_CACHE", KW_OTHER, 0),
    K("SQL_SMALL_RESULT", KW_OTHER, 0),
    K("SSL", KW_OTHER, 0),
    K("START", KW_START, 0),
    K("STARTING", KW_OTHER, 0),
    K("STATEMENT", KW_STATEMENT, 0),
    K("STATS_AUTO_RECALC", KW_OTHER, 0),
    K("STATS_PERSISTENT", KW_OTHER, 0),
    K("STATS_SAMPLE_PAGES", KW_OTHER, 0),
    K("STATUS", KW_OTHER, 0),
    K("STOP", KW_OTHER, 0),
    K("STRAIGHT_JOIN", KW_OTHER, 0),
    K("SUBSTR", KW_OTHER, KWF_FUNC),
    K("SUBSTRING", KW_OTHER, KWF_FUNC),
    K("SUBSTRING_INDEX", KW_OTHER, KWF_FUNC),
    K("SUM", KW_OTHER, KWF_FUNC),
    K("SYSDATE", KW_OTHER, KWF_FUNC),
    K("TABLE", KW_TABLE, 0),
    K("TABLES", KW_TABLES, 0),
    K("TEMPORARY", KW_TEMPORARY, 0),
    K("TERMINATED", KW_OTHER, 0),
    K("TEXT", KW_OTHER, KWF_FUNC),
    K("THEN", KW_OTHER, 0),
    K("TIME", KW_OTHER, KWF_FUNC),
    K("TIMESTAMP", KW_OTHER, KWF_FUNC),
    K("TIMESTAMPDIFF", KW_OTHER, KWF_FUNC),
    K("TINYBLOB", KW_OTHER, KWF_FUNC),
    K("TINYINT", KW_OTHER, KWF_FUNC),
    K("TINYTEXT", KW_OTHER, KWF_FUNC),
    K("TO", KW_TO, 0),
    K("TRAILING", KW_OTHER, 0),
    K("TRANSACTION", KW_TRANSACTION, 0),
    K("TRIGGER", KW_OTHER, 0),
    K("TRIGGERS", KW_OTHER, 0),
    K("TRIM", KW_OTHER, KWF_FUNC),
    K("TRUE", KW_TRUE, KWF_FUNC),
    K("TRUNCATE", KW_OTHER, KWF_FUNC),
    K("UCASE", KW_OTHER, KWF_FUNC),
    K("UNCOMMITTED", KW_OTHER, 0),
    K("UNDO", KW_OTHER, 0),
    K("UNHEX", KW_OTHER, KWF_FUNC),
    K("UNINSTALL", KW_OTHER, 0),
    K("UNION", KW_OTHER, 0),
    K("UNIQUE", KW_OTHER, 0),
    K("UNIX_TIMESTAMP", KW_OTHER, KWF_FUNC),
    K("UNLOCK", KW_UNLOCK, 0),
    K("UNSIGNED", KW_OTHER, 0),
    K("UPDATE", KW_UPDATE, 0),
    K("UPPER", KW_OTHER, KWF_FUNC),
    K("USAGE", KW_OTHER, 0),
    K("USE", KW_USE, 0),
    K("USER", KW_OTHER, KWF_FUNC),
    K("USING", KW_OTHER, 0),
    K("UTC_DATE", KW_OTHER, KWF_FUNC),
    K("UTC_TIME", KW_OTHER, KWF_FUNC),
    K("UTC_TIMESTAMP", KW_OTHER, KWF_FUNC),
    K("UUID", KW_OTHER, KWF_FUNC),
    K("UUID_SHORT", KW_OTHER, KWF_FUNC),
    K("VALUE", KW_VALUE, 0),
    K("VALUES", KW_VALUES, 0),
    K("VARBINARY", KW_OTHER, KWF_FUNC),
    K("VARCHAR", KW_OTHER, KWF_FUNC),
    K("VARCHARACTER", KW_OTHER, KWF_FUNC),
    K("VARIABLES", KW_OTHER, 0),
    K("VARYING", KW_OTHER, 0),
    K("VERSION", KW_OTHER, KWF_FUNC),
    K("VIEW", KW_OTHER, 0),
    K("WAIT", KW_OTHER, 0),
    K("WARNINGS", KW_WARNINGS, 0),
    K("WEEK", KW_OTHER, KWF_FUNC),
    K("WHEN", KW_OTHER, 0),
    K("WHERE", KW_OTHER, 0),
    K("WHILE", KW_OTHER, 0),
    K("WINDOW", KW_OTHER, 0),
    K("WITH", KW_WITH, 0),
    K("WORK", KW_OTHER, 0),
    K("WRITE", KW_OTHER, 0),
    K("XA", KW_XA, 0),
    K("XOR", KW_OTHER, 0),
    K("YEAR", KW_OTHER, KWF_FUNC),
    K("YEAR_MONTH", KW_OTHER, 0),
    K("ZEROFILL", KW_OTHER, 0),
};

/*
 * Hash index over keywords[]: slot -> index + 1, 0 = empty; linear probing.
 * 2048 slots for ~470 words keep most misses (identifiers) at one probe.
 * The hash looks at the length and the first two and last two bytes, so
 * the lexer computes it in constant time per word; kw_find() compares the
 * whole word. Built once, before the first lookup; read-only after.
 */
#define KW_SLOTS 2048u

static uint16_t kw_index[KW_SLOTS];
static pthread_once_t kw_index_once = PTHREAD_ONCE_INIT;

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

static void kw_index_build(void)
{
    for (size_t i = 0; i < HY_ARRAY_SIZE(keywords); i++) {
        const struct keyword *k = &keywords[i];
        uint32_t slot = kw_hash((const unsigned char *)k->name, k->len);
        while (kw_index[slot] != 0)
            slot = (slot + 1) & (KW_SLOTS - 1);
        kw_index[slot] = (uint16_t)(i + 1);
    }
}

static inline void kw_ready(void)
{
    pthread_once(&kw_index_once, kw_index_build);
}

/*
 * The keyword spelled by the n bytes at w (any case), or NULL. The caller
 * has checked 2 <= n <= KW_MAXLEN and that every byte is CC_KW; kw_ready() first.
 */
static inline const struct keyword *kw_find(const unsigned char *w, size_t n)
{
    for (uint32_t slot = kw_hash(w, n); kw_index[slot] != 0; slot = (slot + 1) & (KW_SLOTS - 1)) {
        const struct keyword *k = &keywords[kw_index[slot] - 1];
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

/* Whether the n bytes at w can be a keyword at all. */
static bool kw_candidate(const unsigned char *w, size_t n)
{
    if (n < 2 || n > KW_MAXLEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(cclass[w[i]] & CC_KW))
            return false;
    return true;
}

bool classify_is_keyword(const char *word, size_t len)
{
    kw_ready();
    return word != NULL && kw_candidate((const unsigned char *)word, len) &&
           kw_find((const unsigned char *)word, len) != NULL;
}

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

static void lex_init(struct lexer *lx, const char *sql, size_t len, unsigned opts,
                     struct classify_result *res)
{
    lx->s = (const unsigned char *)(sql != NULL ? sql : "");
    lx->pos = 0;
    lx->len = sql != NULL ? len : 0;
    lx->opts = opts;
    lx->in_exec = false;
    lx->unterminated = false;
    lx->last = T_END;
    lx->last_kw = false;
    lx->last_end = 0;
    lx->res = res;
}

static inline void skip_spaces(const unsigned char *s, size_t *a, size_t b)
{
    while (*a < b && is_space(s[*a]))
        (*a)++;
}

/* Backend names in hints: what a config name may contain. */
static inline bool is_name_char(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.';
}

/*
 * The comment text s[a, b) as a hint: "halyard: primary", "halyard:
 * replica" or "halyard: backend=NAME". Text not starting with "halyard"
 * and a colon is an ordinary comment.
 */
static void hint_parse(struct classify_result *res, const unsigned char *s, size_t a, size_t b)
{
    enum classify_hint hint;
    size_t name = 0, name_len = 0;

    skip_spaces(s, &a, b);
    if (b - a < 7 || !ci_equal(s + a, 7, "halyard"))
        return;
    a += 7;
    skip_spaces(s, &a, b);
    if (a >= b || s[a] != ':')
        return;
    a++;
    skip_spaces(s, &a, b);
    size_t w = a;
    while (a < b && is_alpha(s[a]))
        a++;
    if (ci_equal(s + w, a - w, "primary")) {
        hint = CLH_PRIMARY;
    } else if (ci_equal(s + w, a - w, "replica")) {
        hint = CLH_REPLICA;
    } else if (ci_equal(s + w, a - w, "backend")) {
        skip_spaces(s, &a, b);
        if (a >= b || s[a] != '=')
            goto invalid;
        a++;
        skip_spaces(s, &a, b);
        name = a;
        while (a < b && is_name_char(s[a]))
            a++;
        name_len = a - name;
        if (name_len == 0 || name_len >= CLASSIFY_BACKEND_MAX)
            goto invalid;
        hint = CLH_BACKEND;
    } else {
        goto invalid;
    }
    skip_spaces(s, &a, b);
    if (a != b)
        goto invalid;
    if (res->hint == CLH_NONE) {
        res->hint = hint;
        memcpy(res->hint_backend, s + name, name_len);
        res->hint_backend[name_len] = '\0';
    }
    return;
invalid:
    res->flags |= CLF_HINT_INVALID;
}

static void comment_text(struct lexer *lx, size_t a, size_t b)
{
    if (lx->res != NULL)
        hint_parse(lx->res, lx->s, a, b);
}

/* A `#` or `-- ` comment whose text starts at `from`: up to the end of the line. */
static void skip_line_comment(struct lexer *lx, size_t from)
{
    const unsigned char *nl = NULL;
    if (from < lx->len)
        nl = memchr(lx->s + from, '\n', lx->len - from);
    size_t end = nl != NULL ? (size_t)(nl - lx->s) : lx->len;
    comment_text(lx, from, end);
    lx->pos = nl != NULL ? end + 1 : lx->len;
}

/* A regular comment whose text starts at `from`: up to the first star-slash. */
static void skip_block_comment(struct lexer *lx, size_t from)
{
    const unsigned char *s = lx->s;
    size_t p = from;
    while (p + 1 < lx->len) {
        const unsigned char *star = memchr(s + p, '*', lx->len - 1 - p);
        if (star == NULL)
            break;
        size_t q = (size_t)(star - s);
        if (s[q + 1] == '/') {
            comment_text(lx, from, q);
            lx->pos = q + 2;
            return;
        }
        p = q + 1;
    }
    lx->unterminated = true;
    comment_text(lx, from, lx->len);
    lx->pos = lx->len;
}

/* An executable comment's opener ends at p: skip its version (5 or 6 digits), if any. */
static void enter_exec_comment(struct lexer *lx, size_t p)
{
    size_t n = 0;
    while (n < 6 && p + n < lx->len && is_digit(lx->s[p + n]))
        n++;
    if (n >= 5)
        p += n;
    lx->in_exec = true;
    lx->pos = p;
}

/* The byte at i, or 0 past the end. */
static inline unsigned char peek(const struct lexer *lx, size_t i)
{
    return i < lx->len ? lx->s[i] : 0;
}

/* Skip whitespace and comments; stop at the next token's first byte. */
static void skip_blank(struct lexer *lx)
{
    const unsigned char *s = lx->s;
    while (lx->pos < lx->len) {
        size_t p = lx->pos;
        unsigned char c = s[p];
        if (is_space(c)) {
            lx->pos++;
            continue;
        }
        switch (c) {
        case '#':
            skip_line_comment(lx, p + 1);
            continue;
        case '-':
            /* "--" then a space, a control character or the end */
            if (peek(lx, p + 1) != '-' || (p + 2 < lx->len && s[p + 2] > ' ' && s[p + 2] != 0x7f))
                return;
            skip_line_comment(lx, p + 2);
            continue;
        case '/':
            if (peek(lx, p + 1) != '*')
                return;
            if (peek(lx, p + 2) == '!')
                enter_exec_comment(lx, p + 3);
            else if (peek(lx, p + 2) == 'M' && peek(lx, p + 3) == '!')
                enter_exec_comment(lx, p + 4);
            else
                skip_block_comment(lx, p + 2);
            continue;
        case '*':
            if (!lx->in_exec || peek(lx, p + 1) != '/')
                return;
            lx->in_exec = false;
            lx->pos = p + 2;
            continue;
        default:
            return;
        }
    }
}

/*
 * A quoted token whose opening quote is at q. Doubled quotes stand for
 * one; backslash escapes the next byte in strings and quoted user
 * variables, unless CLO_NO_BACKSLASH_ESCAPES.
 */
static void lex_quoted(struct lexer *lx, struct token *t, size_t q, enum tok_type type)
{
    const unsigned char *s = lx->s;
    unsigned char quote = s[q];
    bool backslash = quote != '`' && type != T_QIDENT && !(lx->opts & CLO_NO_BACKSLASH_ESCAPES);
    size_t i = q + 1;

    t->type = type;
    t->off = q;
    t->in_off = q + 1;
    for (;;) {
        if (i >= lx->len) {
            lx->unterminated = true;
            t->in_len = lx->len - (q + 1);
            lx->pos = lx->len;
            break;
        }
        unsigned char c = s[i];
        if (c == quote) {
            if (i + 1 < lx->len && s[i + 1] == quote) {
                i += 2;
                continue;
            }
            t->in_len = i - (q + 1);
            lx->pos = i + 1;
            break;
        }
        i += (c == '\\' && backslash) ? 2 : 1;
    }
    t->len = lx->pos - q;
}

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

/* After a mantissa ending at e: an exponent e[+-]digits, if there is one. */
static size_t lex_exponent(const unsigned char *s, size_t len, size_t e)
{
    if (e >= len || (s[e] | 0x20) != 'e')
        return e;
    size_t q = e + 1;
    if (q < len && (s[q] == '+' || s[q] == '-'))
        q++;
    if (q >= len || !is_digit(s[q]))
        return e;
    while (q < len && is_digit(s[q]))
        q++;
    return q;
}

/*
 * A token starting with a digit, or a dot and a digit. In MariaDB a run of
 * identifier bytes that starts with digits is a name (`1st_table`) unless
 * it is a number: digits[.digits][e[+-]digits], 0x<hex>, 0b<bits>.
 */
static void lex_number(struct lexer *lx, struct token *t)
{
    const unsigned char *s = lx->s;
    size_t len = lx->len, p = lx->pos, e;

    if (s[p] == '.') {
        e = p + 1;
        while (e < len && is_digit(s[e]))
            e++;
        e = lex_exponent(s, len, e);
    } else {
        size_t run = p, d = p;
        while (run < len && is_ident(s[run]))
            run++;
        while (d < run && is_digit(s[d]))
            d++;
        if (d == run) {
            e = run;
            if (e < len && s[e] == '.') {
                e++;
                while (e < len && is_digit(s[e]))
                    e++;
            }
            e = lex_exponent(s, len, e);
        } else if (d == p + 1 && s[p] == '0' && (s[d] == 'x' || s[d] == 'b') && run > d + 1) {
            bool hex = s[d] == 'x';
            for (e = d + 1; e < run; e++)
                if (hex ? !is_hex(s[e]) : (s[e] != '0' && s[e] != '1'))
                    break;
            if (e != run) {
                lex_word(lx, t);
                return;
            }
        } else {
            e = lex_exponent(s, len, d);
            if (e < run) {
                lex_word(lx, t);
                return;
            }
        }
    }
    t->type = T_NUMBER;
    t->len = e - p;
    lx->pos = e;
}

/* @name, @'name', @@name, @@global.name, @@session.name, @@local.name */
static void lex_var(struct lexer *lx, struct token *t)
{
    const unsigned char *s = lx->s;
    size_t len = lx->len, p = lx->pos, q, e;

    if (p + 1 < len && s[p + 1] == '@') {
        t->type = T_SVAR;
        q = p + 2;
        if (q < len && s[q] == '`') {
            lex_quoted(lx, t, q, T_SVAR);
            t->off = p;
            t->len = lx->pos - p;
            return;
        }
        e = q;
        while (e < len && is_ident(s[e]))
            e++;
        if (e + 1 < len && s[e] == '.' && is_ident(s[e + 1])) {
            if (ci_equal(s + q, e - q, "global"))
                t->scope = VS_GLOBAL;
            else if (ci_equal(s + q, e - q, "session") || ci_equal(s + q, e - q, "local"))
                t->scope = VS_SESSION;
            if (t->scope != VS_NONE) {
                q = e + 1;
                for (e = q; e < len && is_ident(s[e]);)
                    e++;
            }
        }
    } else {
        q = p + 1;
        if (q < len && (s[q] == '\'' || s[q] == '"' || s[q] == '`')) {
            lex_quoted(lx, t, q, T_UVAR);
            t->off = p;
            t->len = lx->pos - p;
            return;
        }
        e = q;
        while (e < len && (is_ident(s[e]) || s[e] == '.'))
            e++;
        t->type = e > q ? T_UVAR : T_OP; /* a lone @ */
    }
    t->in_off = q;
    t->in_len = e - q;
    t->len = e - p;
    lx->pos = e;
}

/*
 * The next token. Inlined into classify()'s loop, the data path, where a
 * call per token costs more than the token; lex_next() is the out-of-line
 * copy for everyone else.
 */
static inline __attribute__((always_inline)) void lex_token(struct lexer *lx, struct token *t)
{
    /* Plain whitespace here; comments (rarer) in skip_blank(). */
    while (lx->pos < lx->len && is_space(lx->s[lx->pos]))
        lx->pos++;
    if (lx->pos < lx->len && (cclass[lx->s[lx->pos]] & CC_CMT))
        skip_blank(lx);

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
            if (lx->last == T_DOT && lx->last_end == p)
                lex_word(lx, t);
            else
                lex_number(lx, t);
            goto out;
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

static void lex_next(struct lexer *lx, struct token *t)
{
    lex_token(lx, t);
}

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
    uint32_t sel_mask; /* bit d: a "(SELECT" opened depth d (a subquery) */
    bool uses_table;   /* FROM a table (not DUAL) at depth 0 or in a subquery */
    bool diag;         /* SHOW WARNINGS/ERRORS/COUNT(*), GET DIAGNOSTICS, @@warning_count */
    bool unlock;       /* M_LOCK came from UNLOCK */

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
    st->explained = false;
    st->first_kw = KW_NONE;
    st->sel_mask = 0;
    st->uses_table = false;
    st->diag = false;
    st->prev_end = 0;
    st->connid_tok = 0;
    st->keeps_text = false;
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
static int autocommit_value(const struct ctx *c)
{
    const struct stmt *st = &c->st;
    const struct token *v = &st->val_tok;
    const unsigned char *p = c->s + v->in_off;
    if (st->val_ntok != 1)
        return -1;
    switch (v->type) {
    case T_NUMBER:
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
    case CR_TEMP:
        if (t->kw == KW_TABLE) {
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

/* Whether the '(' just fed (st->depth counts it) calls a function that is
 * not built in, as the server decides (sqlfunc.c), in a statement it would
 * otherwise let run on a replica. Not a call: a name and its column list
 * at the top of a WITH clause (`WITH c(n) AS ...`). Writes and SETs run on
 * the primary already and are left as they are. */
static bool routine_call(const struct ctx *c, const struct stmt *st)
{
    if (st->mode == M_WITH ? st->depth <= 1 : st->base == CL_WRITE || st->base == CL_SESSION)
        return false;
    if (st->prev_type == T_QIDENT)
        return true;
    return st->prev_type == T_WORD &&
           !sqlfunc_is_builtin((const char *)c->s + st->prev_off, st->prev_len);
}

/* What an expression token can need wherever it appears. */
static void expr_check(struct ctx *c, const struct token *t)
{
    struct stmt *st = &c->st;
    struct classify_result *res = c->res;

    switch (t->type) {
    case T_LPAREN:
        if (st->prev_type == T_WORD && st->prev_kw != KW_NONE)
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
    if (t->type == T_WORD && t->kw == KW_SELECT && st->prev_type == T_LPAREN && st->depth < 32)
        st->sel_mask |= 1u << st->depth;
    if (st->prev_kw == KW_FROM && !(t->type == T_WORD && t->kw == KW_DUAL) &&
        (st->depth == 0 || (st->depth < 32 && (st->sel_mask & (1u << st->depth)))))
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
    if (t->type == T_WORD && st->prev_type != T_DOT &&
        (t->kw == KW_CONNECTION_ID || t->kw == KW_FOUND_ROWS || t->kw == KW_ROW_COUNT)) {
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

static bool word_in(const unsigned char *s, const struct token *t, const char *const *words,
                    size_t n)
{
    if (t->type != T_WORD)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (strlen(words[i]) == t->len &&
            strncasecmp((const char *)s + t->off, words[i], t->len) == 0)
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
    static const char *const opts[] = {
        "ALL",           "DISTINCT",         "DISTINCTROW",        "HIGH_PRIORITY",
        "STRAIGHT_JOIN", "SQL_SMALL_RESULT", "SQL_BIG_RESULT",     "SQL_BUFFER_RESULT",
        "SQL_CACHE",     "SQL_NO_CACHE",     "SQL_CALC_FOUND_ROWS"};
    static const char *const ends[] = {"FROM",      "INTO",  "WHERE",  "GROUP", "HAVING",
                                       "ORDER",     "LIMIT", "WINDOW", "UNION", "EXCEPT",
                                       "INTERSECT", "MINUS", "FOR",    "LOCK",  "PROCEDURE"};
    struct stmt *st = &c->st;
    if (st->sl == SL_NONE) {
        st->sl = st->ntok == 1 && t->type == T_WORD && t->kw == KW_SELECT ? SL_OPTS : SL_DONE;
        return;
    }
    if (st->sl == SL_DONE)
        return;
    if (top && (t->type == T_COMMA || word_in(c->s, t, ends, HY_ARRAY_SIZE(ends)))) {
        if (st->sl == SL_ITEM)
            select_item_end(c);
        st->sl = t->type == T_COMMA ? SL_OPTS : SL_DONE;
        return;
    }
    if (st->sl == SL_OPTS) {
        if (top && word_in(c->s, t, opts, HY_ARRAY_SIZE(opts)))
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

static void stmt_feed(struct ctx *c, const struct token *t)
{
    struct stmt *st = &c->st;
    st->ntok++;
    if (st->ntok == 1 && t->type == T_WORD)
        st->keeps_text = t->kw == KW_CREATE ||
                         (t->len == 5 && strncasecmp((const char *)c->s + t->off, "ALTER", 5) == 0);
    connid_note(c, t);
    bool top = st->depth == 0;
    if (t->type == T_LPAREN)
        st->depth++;
    else if (t->type == T_RPAREN && st->depth > 0)
        top = --st->depth == 0;
    select_list_note(c, t, top);
    diag_note(st, t);
    if (mode_feed(c, t))
        expr_check(c, t);
    st->prev2_kw = st->prev_kw;
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
        bool keeps = !st->uses_table &&
                     (st->first_kw == KW_SELECT || st->first_kw == KW_VALUES ||
                      st->first_kw == KW_DO || st->first_kw == KW_SET || st->first_kw == KW_USE);
        if (!keeps)
            c->res->clears_diag = true;
    }
    c->res->nstmt++;
    c->res->kinds |= CL_BIT(k);
    c->last = k;
}

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

static void digest_init(struct digest *d, char *buf, size_t cap)
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

/* 8 bytes as a little-endian word, whatever the host's byte order. */
static inline uint64_t load_le64(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

/* Hash and copy out what chunk holds; the last word of the digest is zero-padded. */
static void d_flush(struct digest *d)
{
    size_t k = d->n - d->flushed;
    uint64_t h = d->hash;
    size_t i = 0;
    for (; i + 8 <= k; i += 8)
        h = hash_mix(h, load_le64(d->chunk + i));
    if (i < k) {
        unsigned char last[8] = {0};
        memcpy(last, d->chunk + i, k - i);
        h = hash_mix(h, load_le64(last));
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

/* Print n bytes. */
static void d_bytes(struct digest *d, const unsigned char *p, size_t n)
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
static void digest_token(struct digest *d, const struct lexer *lx, const struct token *t)
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

static void digest_finish(struct digest *d)
{
    d_sign_flush(d);
    d_flush(d);
    if (d->cap > 0)
        d->buf[HY_MIN(d->n, d->room)] = '\0';
    d->hash = hash_mix(d->hash, d->n);
}

/* ---- entry points ---- */

static void result_init(struct classify_result *res)
{
    res->kind = CL_EMPTY;
    res->flags = 0;
    res->clears_diag = false;
    res->kinds = 0;
    res->nstmt = 0;
    res->autocommit = -1;
    res->hint = CLH_NONE;
    res->hint_backend[0] = '\0';
    res->schema[0] = '\0';
    res->temp_table[0] = '\0';
    res->temp_schema[0] = '\0';
    res->nvars = 0;
    res->connid.n = 0;
    res->connid.n_connid = 0;
    res->connid.nalias = 0;
    res->connid_overflow = false;
}

void classify(const char *sql, size_t len, unsigned opts, struct classify_result *res,
              struct classify_digest *dg)
{
    struct lexer lx;
    struct digest d;
    struct ctx c;
    struct token t;

    kw_ready();
    result_init(res);
    digest_init(&d, dg != NULL ? dg->buf : NULL, dg != NULL ? dg->cap : 0);
    if (len > CLASSIFY_MAX_LEN) {
        res->kind = CL_WRITE;
        res->flags = CLF_TOO_LONG;
        res->kinds = CL_BIT(CL_WRITE);
        res->nstmt = 1;
        len = 0; /* and an empty digest */
    }
    lex_init(&lx, sql, len, opts, res);
    c.s = lx.s;
    c.res = res;
    c.last = CL_EMPTY;
    stmt_begin(&c.st);
    for (;;) {
        lex_token(&lx, &t);
        if (dg != NULL)
            digest_token(&d, &lx, &t);
        if (t.type == T_SEMI || t.type == T_END) {
            stmt_end(&c);
            if (t.type == T_END)
                break;
            stmt_begin(&c.st);
            continue;
        }
        stmt_feed(&c, &t);
    }
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
        lex_token(&lx, &t);
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

size_t classify_connid_bound(const struct classify_connid *cid, size_t len)
{
    for (uint32_t k = 0; k < cid->nalias; k++)
        len += 6 + 2 * (size_t)cid->alias[k].len; /* " AS `...`", each ` doubled */
    for (uint32_t k = 0; k < cid->n; k++) {
        if (cid->kind[k] != CLASSIFY_CALL_CONNECTION_ID)
            len += 20; /* a 20-digit value where `ROW_COUNT()` was */
    }
    return len;
}

/* Copy n bytes to out[o...] as far as cap allows; the new length. */
static size_t put(char *out, size_t cap, size_t o, const char *p, size_t n)
{
    if (o < cap)
        memcpy(out + o, p, HY_MIN(n, cap - o));
    return o + n;
}

size_t classify_connid_rewrite(const char *sql, size_t len, const struct classify_connid *cid,
                               uint32_t id, char *out, size_t cap)
{
    char num[16];
    snprintf(num, sizeof(num), "%u", id);
    const char *const value[CLASSIFY_CALL__COUNT] = {num, NULL, NULL};
    return classify_calls_rewrite(sql, len, cid, value, out, cap);
}

size_t classify_calls_rewrite(const char *sql, size_t len, const struct classify_connid *cid,
                              const char *const value[CLASSIFY_CALL__COUNT], char *out, size_t cap)
{
    size_t at = 0, o = 0;
    uint32_t k = 0, a = 0;
    for (;;) {
        /* the next change: a call to replace, or the end of an item to name */
        size_t call = k < cid->n ? cid->call[k].off : SIZE_MAX;
        size_t name = a < cid->nalias ? (size_t)cid->alias[a].off + cid->alias[a].len : SIZE_MAX;
        size_t next = HY_MIN(call, name);
        if (next == SIZE_MAX || next < at || next > len)
            break;
        o = put(out, cap, o, sql + at, next - at);
        at = next;
        if (call <= name) {
            const char *v = value[cid->kind[k] < CLASSIFY_CALL__COUNT ? cid->kind[k] : 0];
            if (v != NULL) {
                o = put(out, cap, o, v, strnlen(v, 20));
                at = call + cid->call[k].len;
            }
            k++;
            continue;
        }
        const struct classify_span *al = &cid->alias[a++];
        o = put(out, cap, o, " AS `", 5);
        for (size_t i = al->off; i < (size_t)al->off + al->len; i++) {
            o = put(out, cap, o, sql + i, 1);
            if (sql[i] == '`')
                o = put(out, cap, o, "`", 1);
        }
        o = put(out, cap, o, "`", 1);
    }
    return put(out, cap, o, sql + at, len - at);
}
