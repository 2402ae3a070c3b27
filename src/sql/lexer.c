/*
 * lexer.c: the SQL lexer (see lexer.h): character classes, the keyword
 * table and its hash index, comments, executable comments and hints,
 * tokens. Words and whitespace, most of any query, take the inlined
 * fast path of lex_token.h; lex_next is its out-of-line copy.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "halyard/sql/lexer.h"
#include "lex_token.h"

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
const uint8_t cclass[256] = {
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

/* Whether the n bytes at p spell lit, ignoring ASCII case. */
bool ci_equal(const unsigned char *p, size_t n, const char *lit)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (lit[i] == '\0' || to_upper(p[i]) != to_upper((unsigned char)lit[i]))
            return false;
    return lit[i] == '\0';
}

// clang-format off
#define K(name, id, flags) {name, sizeof(name) - 1, id, flags}
// clang-format on

/*
 * MariaDB's reserved words, the words the classifier acts on, and common
 * function and type names, upper case. Kept alphabetical for the reader;
 * lookups go through the hash index (lex_kw_index, lex_token.h), so order
 * does not matter.
 */
const struct keyword lex_keywords[] = {
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

uint16_t lex_kw_index[KW_SLOTS];
static pthread_once_t kw_index_once = PTHREAD_ONCE_INIT;

static void kw_index_build(void)
{
    for (size_t i = 0; i < HY_ARRAY_SIZE(lex_keywords); i++) {
        const struct keyword *k = &lex_keywords[i];
        uint32_t slot = kw_hash((const unsigned char *)k->name, k->len);
        while (lex_kw_index[slot] != 0)
            slot = (slot + 1) & (KW_SLOTS - 1);
        lex_kw_index[slot] = (uint16_t)(i + 1);
    }
}

void kw_ready(void)
{
    pthread_once(&kw_index_once, kw_index_build);
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

void lex_init(struct lexer *lx, const char *sql, size_t len, unsigned opts,
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

/* "consistency=NAME" at s[*a, b): its CLC_*, CLC_NONE if malformed. */
static enum classify_consistency hint_consistency(const unsigned char *s, size_t *a, size_t b)
{
    static const char *const names[] = {[CLC_EVENTUAL] = "eventual",
                                        [CLC_CAUSAL] = "causal",
                                        [CLC_STRONG] = "strong",
                                        [CLC_GLOBAL] = "global"};
    skip_spaces(s, a, b);
    if (*a >= b || s[*a] != '=')
        return CLC_NONE;
    (*a)++;
    skip_spaces(s, a, b);
    size_t w = *a;
    while (*a < b && is_alpha(s[*a]))
        (*a)++;
    for (size_t i = CLC_EVENTUAL; i < sizeof(names) / sizeof(names[0]); i++) {
        if (ci_equal(s + w, *a - w, names[i]))
            return (enum classify_consistency)i;
    }
    return CLC_NONE;
}

/*
 * The comment text s[a, b) as a hint: "halyard: primary", "halyard:
 * replica", "halyard: backend=NAME" or "halyard: consistency=NAME". Text
 * not starting with "halyard" and a colon is an ordinary comment.
 */
static void hint_parse(struct classify_result *res, const unsigned char *s, size_t a, size_t b)
{
    enum classify_hint hint = CLH_NONE;
    enum classify_consistency cons = CLC_NONE;
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
    } else if (ci_equal(s + w, a - w, "consistency")) {
        if ((cons = hint_consistency(s, &a, b)) == CLC_NONE)
            goto invalid;
    } else {
        goto invalid;
    }
    skip_spaces(s, &a, b);
    if (a != b)
        goto invalid;
    if (cons != CLC_NONE) { /* a hint of its own: it routes nothing */
        if (res->hint_consistency == CLC_NONE)
            res->hint_consistency = cons;
        return;
    }
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

/* Skip whitespace and comments; stop at the next token's first byte. */
void lex_skip_blank(struct lexer *lx)
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
void lex_quoted(struct lexer *lx, struct token *t, size_t q, enum tok_type type)
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
void lex_number(struct lexer *lx, struct token *t)
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
void lex_var(struct lexer *lx, struct token *t)
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

void lex_next(struct lexer *lx, struct token *t)
{
    lex_token(lx, t);
}

/* ---- a look at a statement's first words, without tokens ----------------- */

const char *lex_skip_space_comments(const char *p, const char *end)
{
    /* most texts begin with a word, and a letter is no space and begins no comment */
    if (p < end && (unsigned)((*p | 0x20) - 'a') < 26u)
        return p;
    for (;;) {
        while (p < end && isspace((unsigned char)*p))
            p++;
        if (end - p >= 2 && p[0] == '/' && p[1] == '*' && (end - p < 3 || p[2] != '!')) {
            const char *q = p + 2;
            while (end - q >= 2 && !(q[0] == '*' && q[1] == '/'))
                q++;
            if (end - q < 2)
                return end;
            p = q + 2;
            continue;
        }
        if (p < end && (*p == '#' || (end - p >= 3 && p[0] == '-' && p[1] == '-' &&
                                      isspace((unsigned char)p[2])))) {
            while (p < end && *p != '\n')
                p++;
            continue;
        }
        return p;
    }
}

bool lex_match_word(const char **pp, const char *end, const char *word)
{
    /* Compared as strncasecmp would in the C locale, stopping at the
     * first byte that differs: most texts differ at their first or second
     * (every statement is asked whether it is SHOW, GET...). */
    const char *p = *pp;
    size_t n = 0;
    for (; word[n] != '\0'; n++) {
        if (p + n >= end || to_upper((unsigned char)p[n]) != to_upper((unsigned char)word[n]))
            return false;
    }
    if (p + n < end && (isalnum((unsigned char)p[n]) || p[n] == '_'))
        return false;
    *pp = lex_skip_space_comments(p + n, end);
    return true;
}
