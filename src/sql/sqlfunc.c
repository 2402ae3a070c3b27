/*
 * sqlfunc.c: which function names MariaDB resolves as built-in functions.
 *
 * A statement that calls a stored function may write: the function can
 * INSERT or UPDATE, and a replica with a privileged account even accepts
 * it, so the write lands on a replica and the cluster diverges. The server
 * decides by name whether `name(...)` is a built-in function or a stored
 * one in the current schema, so halyard needs the same list: a call of any
 * other name goes to the primary as a write (classify.c).
 *
 * The table was made by asking MariaDB 10.11 (tools/sql-functions): every
 * upper-case word in the server binary and its help tables, called with 0
 * to 3 arguments; a name the server ever looked up as a stored function
 * (error 1305 or 1630) is left out. It also holds keywords that are never a
 * call; that is harmless, since they never reach the lookup as a call
 * either. Sorted in byte order of the upper-case names ('_' after the
 * letters), for bsearch; a probe is compared upper-cased.
 */
#include "halyard/sql/sqlfunc.h"

#include <ctype.h>
#include <stdlib.h>

#include "halyard/sql/lexer.h"

/* clang-format off */
static const char *const builtins[] = {
    "ABS", "ACCESSIBLE", "ACOS", "ADD", "ADDDATE", "ADDTIME", "ADD_MONTHS", "AES_DECRYPT",
    "AES_ENCRYPT", "ALL", "ALTER", "ANALYZE", "AND", "AREA", "AS", "ASC", "ASCII", "ASENSITIVE",
    "ASIN", "ATAN", "ATAN2", "AVG", "BACKUP", "BEFORE", "BEGIN", "BENCHMARK", "BETWEEN", "BIGINT",
    "BIN", "BINARY", "BINLOG", "BINLOG_GTID_POS", "BIT", "BIT_AND", "BIT_COUNT", "BIT_LENGTH",
    "BIT_OR", "BIT_XOR", "BLOB", "BOOL", "BOOLEAN", "BOTH", "BOUNDARY", "BUFFER", "BY", "BYTE",
    "CACHE", "CALL", "CASCADE", "CASE", "CAST", "CEIL", "CEILING", "CENTROID", "CHANGE", "CHAR",
    "CHARACTER", "CHARACTER_LENGTH", "CHARSET", "CHAR_LENGTH", "CHECK", "CHECKPOINT", "CHR",
    "CLOB", "CLOSE", "COALESCE", "CODE", "COERCIBILITY", "COLLATE", "COLLATION", "COLUMN",
    "COLUMN_ADD", "COLUMN_CHECK", "COLUMN_CREATE", "COLUMN_DELETE", "COLUMN_EXISTS", "COLUMN_GET",
    "COLUMN_JSON", "COLUMN_LIST", "COMMENT", "COMMIT", "COMPRESS", "COMPRESSED", "CONCAT",
    "CONCAT_OPERATOR_ORACLE", "CONCAT_WS", "CONDITION", "CONNECTION_ID", "CONSTRAINT", "CONTAINS",
    "CONTINUE", "CONV", "CONVERT", "CONVERT_TZ", "CONVEXHULL", "COS", "COT", "COUNT", "CRC32",
    "CRC32C", "CREATE", "CROSS", "CROSSES", "CUME_DIST", "CURDATE", "CURRENT_DATE", "CURRENT_ROLE",
    "CURRENT_TIME", "CURRENT_TIMESTAMP", "CURRENT_USER", "CURSOR", "CURTIME", "DATABASE",
    "DATABASES", "DATE", "DATEDIFF", "DATETIME", "DATE_ADD", "DATE_FORMAT", "DATE_SUB", "DAY",
    "DAYNAME", "DAYOFMONTH", "DAYOFWEEK", "DAYOFYEAR", "DAY_HOUR", "DAY_MICROSECOND", "DAY_MINUTE",
    "DAY_SECOND", "DEALLOCATE", "DEC", "DECIMAL", "DECLARE", "DECODE", "DECODE_HISTOGRAM",
    "DECODE_ORACLE", "DEFAULT", "DEGREES", "DELAYED", "DELETE", "DELETE_DOMAIN_ID", "DENSE_RANK",
    "DESC", "DESCRIBE", "DES_DECRYPT", "DES_ENCRYPT", "DETERMINISTIC", "DIMENSION", "DISJOINT",
    "DISTINCT", "DISTINCTROW", "DIV", "DO", "DOUBLE", "DO_DOMAIN_IDS", "DROP", "DUAL", "EACH",
    "ELSE", "ELSEIF", "ELT", "ENCLOSED", "ENCODE", "ENCRYPT", "END", "ENDPOINT", "ENUM",
    "ENVELOPE", "EQUALS", "ESCAPED", "EXAMINED", "EXCEPT", "EXCLUDE", "EXECUTE", "EXISTS", "EXIT",
    "EXP", "EXPLAIN", "EXPORT_SET", "EXTRACT", "EXTRACTVALUE", "FALSE", "FETCH", "FIELD",
    "FIND_IN_SET", "FIRST_VALUE", "FIXED", "FLOAT", "FLOAT4", "FLOAT8", "FLOOR", "FLUSH",
    "FOLLOWING", "FOLLOWS", "FOR", "FORCE", "FOREIGN", "FORMAT", "FOUND_ROWS", "FROM",
    "FROM_BASE64", "FROM_DAYS", "FROM_UNIXTIME", "FULLTEXT", "FUNCTION", "GET", "GET_FORMAT",
    "GET_LOCK", "GLENGTH", "GLOBAL", "GRANT", "GREATEST", "GROUP", "GROUP_CONCAT", "HANDLER",
    "HAVING", "HELP", "HEX", "HIGH_PRIORITY", "HOST", "HOUR", "HOUR_MICROSECOND", "HOUR_MINUTE",
    "HOUR_SECOND", "ID", "IF", "IFNULL", "IGNORE", "IGNORED", "IGNORE_DOMAIN_IDS", "IN", "INDEX",
    "INET6_ATON", "INET6_NTOA", "INET_ATON", "INET_NTOA", "INFILE", "INNER", "INOUT",
    "INSENSITIVE", "INSERT", "INSTR", "INT", "INT1", "INT2", "INT3", "INT4", "INT8", "INTEGER",
    "INTERSECT", "INTERSECTS", "INTERVAL", "INTO", "IS", "ISNULL", "IS_FREE_LOCK", "IS_IPV4",
    "IS_IPV4_COMPAT", "IS_IPV4_MAPPED", "IS_IPV6", "IS_USED_LOCK", "ITERATE", "JOIN", "JSON",
    "JSON_ARRAY", "JSON_ARRAYAGG", "JSON_ARRAY_APPEND", "JSON_ARRAY_INSERT", "JSON_COMPACT",
    "JSON_CONTAINS", "JSON_CONTAINS_PATH", "JSON_DEPTH", "JSON_DETAILED", "JSON_EQUALS",
    "JSON_EXISTS", "JSON_EXTRACT", "JSON_INSERT", "JSON_KEYS", "JSON_LENGTH", "JSON_LOOSE",
    "JSON_MERGE", "JSON_MERGE_PATCH", "JSON_MERGE_PRESERVE", "JSON_NORMALIZE", "JSON_OBJECT",
    "JSON_OBJECTAGG", "JSON_OVERLAPS", "JSON_PRETTY", "JSON_QUERY", "JSON_QUOTE", "JSON_REMOVE",
    "JSON_REPLACE", "JSON_SEARCH", "JSON_SET", "JSON_TYPE", "JSON_UNQUOTE", "JSON_VALID",
    "JSON_VALUE", "KEY", "KILL", "LAG", "LASTVAL", "LAST_DAY", "LAST_INSERT_ID", "LAST_VALUE",
    "LCASE", "LEAD", "LEADING", "LEAST", "LEAVE", "LEFT", "LENGTH", "LENGTHB", "LIKE", "LIMIT",
    "LINEAR", "LINES", "LN", "LOAD", "LOAD_FILE", "LOCAL", "LOCALTIME", "LOCALTIMESTAMP", "LOCATE",
    "LOCK", "LOG", "LOG10", "LOG2", "LONGBLOB", "LONGTEXT", "LOOP", "LOWER", "LOW_PRIORITY",
    "LPAD", "LPAD_ORACLE", "LTRIM", "LTRIM_ORACLE", "MAKEDATE", "MAKETIME", "MAKE_SET",
    "MASTER_DEMOTE_TO_REPLICA", "MASTER_DEMOTE_TO_SLAVE", "MASTER_GTID_WAIT", "MASTER_POS_WAIT",
    "MASTER_SSL_VERIFY_SERVER_CERT", "MATCH", "MAX", "MAXVALUE", "MBRCONTAINS", "MBRDISJOINT",
    "MBREQUAL", "MBREQUALS", "MBRINTERSECTS", "MBROVERLAPS", "MBRTOUCHES", "MBRWITHIN", "MD5",
    "MEDIAN", "MEDIUM", "MEDIUMBLOB", "MEDIUMINT", "MEDIUMTEXT", "MICROSECOND", "MID", "MIDDLEINT",
    "MIN", "MINUTE", "MINUTE_MICROSECOND", "MINUTE_SECOND", "MOD", "MODIFIES", "MONTH",
    "MONTHNAME", "NAMES", "NAME_CONST", "NATIONAL", "NATURAL", "NATURAL_SORT_KEY", "NCHAR",
    "NEXTVAL", "NO", "NOT", "NOW", "NO_WRITE_TO_BINLOG", "NTH_VALUE", "NTILE", "NULL", "NULLIF",
    "NUMBER", "NUMERIC", "NVARCHAR", "NVL", "NVL2", "OCT", "OCTET_LENGTH", "OFFSET",
    "OLD_PASSWORD", "ON", "OPEN", "OPTIMIZE", "OPTION", "OPTIONALLY", "OR", "ORD", "ORDER",
    "OTHERS", "OUT", "OUTER", "OUTFILE", "OVERLAPS", "OWNER", "PAGE_CHECKSUM", "PARSER",
    "PARSE_VCOL_EXPR", "PARTITION", "PASSWORD", "PERCENTILE_CONT", "PERCENTILE_DISC",
    "PERCENT_RANK", "PERIOD", "PERIOD_ADD", "PERIOD_DIFF", "PI", "PORT", "PORTION", "POSITION",
    "POW", "POWER", "PRECEDES", "PRECEDING", "PREPARE", "PRIMARY", "PROCEDURE", "PURGE", "QUARTER",
    "QUOTE", "RADIANS", "RAND", "RANDOM_BYTES", "RANGE", "RANK", "RAW", "READ", "READS", "REAL",
    "RECURSIVE", "REFERENCES", "REF_SYSTEM_ID", "REGEXP", "REGEXP_INSTR", "REGEXP_REPLACE",
    "REGEXP_SUBSTR", "RELEASE", "RELEASE_ALL_LOCKS", "RELEASE_LOCK", "RENAME", "REPAIR", "REPEAT",
    "REPLACE", "REPLACE_ORACLE", "REPLICAS", "REQUIRE", "RESET", "RESIGNAL", "RESTORE", "RESTRICT",
    "RETURN", "RETURNING", "REVERSE", "REVOKE", "RIGHT", "RLIKE", "ROLE", "ROLLBACK", "ROUND",
    "ROW", "ROWNUM", "ROWS", "ROW_COUNT", "ROW_NUMBER", "RPAD", "RPAD_ORACLE", "RTRIM",
    "RTRIM_ORACLE", "SAVEPOINT", "SCHEMA", "SCHEMAS", "SECOND", "SECOND_MICROSECOND", "SECURITY",
    "SEC_TO_TIME", "SELECT", "SEPARATOR", "SERIAL", "SERVER", "SESSION", "SESSION_USER", "SET",
    "SETVAL", "SFORMAT", "SHA1", "SHA2", "SHOW", "SHUTDOWN", "SIGN", "SIGNAL", "SIN", "SLAVE",
    "SLAVES", "SLEEP", "SMALLINT", "SOCKET", "SOME", "SONAME", "SOUNDEX", "SOUNDS", "SPACE",
    "SPATIAL", "SPECIFIC", "SQL", "SQLEXCEPTION", "SQLSTATE", "SQLWARNING", "SQL_BIG_RESULT",
    "SQL_BUFFER_RESULT", "SQL_CACHE", "SQL_CALC_FOUND_ROWS", "SQL_NO_CACHE", "SQL_SMALL_RESULT",
    "SQL_TSI_DAY", "SQL_TSI_HOUR", "SQL_TSI_MINUTE", "SQL_TSI_MONTH", "SQL_TSI_SECOND",
    "SQL_TSI_YEAR", "SQRT", "SRID", "SSL", "START", "STARTING", "STARTPOINT", "STATS_AUTO_RECALC",
    "STATS_PERSISTENT", "STATS_SAMPLE_PAGES", "STD", "STDDEV", "STDDEV_POP", "STDDEV_SAMP", "STOP",
    "STORED", "STRAIGHT_JOIN", "STRCMP", "STR_TO_DATE", "ST_AREA", "ST_ASBINARY", "ST_ASGEOJSON",
    "ST_ASTEXT", "ST_ASWKB", "ST_ASWKT", "ST_BOUNDARY", "ST_BUFFER", "ST_CENTROID", "ST_CONTAINS",
    "ST_CONVEXHULL", "ST_CROSSES", "ST_DIFFERENCE", "ST_DIMENSION", "ST_DISJOINT", "ST_DISTANCE",
    "ST_DISTANCE_SPHERE", "ST_ENDPOINT", "ST_ENVELOPE", "ST_EQUALS", "ST_EXTERIORRING",
    "ST_GEOMCOLLFROMTEXT", "ST_GEOMCOLLFROMWKB", "ST_GEOMETRYCOLLECTIONFROMTEXT",
    "ST_GEOMETRYCOLLECTIONFROMWKB", "ST_GEOMETRYFROMTEXT", "ST_GEOMETRYFROMWKB", "ST_GEOMETRYN",
    "ST_GEOMETRYTYPE", "ST_GEOMFROMGEOJSON", "ST_GEOMFROMTEXT", "ST_GEOMFROMWKB",
    "ST_INTERIORRINGN", "ST_INTERSECTION", "ST_INTERSECTS", "ST_ISCLOSED", "ST_ISEMPTY",
    "ST_ISRING", "ST_ISSIMPLE", "ST_LENGTH", "ST_LINEFROMTEXT", "ST_LINEFROMWKB",
    "ST_LINESTRINGFROMTEXT", "ST_LINESTRINGFROMWKB", "ST_MLINEFROMTEXT", "ST_MLINEFROMWKB",
    "ST_MPOINTFROMTEXT", "ST_MPOINTFROMWKB", "ST_MPOLYFROMTEXT", "ST_MPOLYFROMWKB",
    "ST_MULTILINESTRINGFROMTEXT", "ST_MULTILINESTRINGFROMWKB", "ST_MULTIPOINTFROMTEXT",
    "ST_MULTIPOINTFROMWKB", "ST_MULTIPOLYGONFROMTEXT", "ST_MULTIPOLYGONFROMWKB",
    "ST_NUMGEOMETRIES", "ST_NUMINTERIORRINGS", "ST_NUMPOINTS", "ST_OVERLAPS", "ST_POINTFROMTEXT",
    "ST_POINTFROMWKB", "ST_POINTN", "ST_POINTONSURFACE", "ST_POLYFROMTEXT", "ST_POLYFROMWKB",
    "ST_POLYGONFROMTEXT", "ST_POLYGONFROMWKB", "ST_RELATE", "ST_SRID", "ST_STARTPOINT",
    "ST_SYMDIFFERENCE", "ST_TOUCHES", "ST_UNION", "ST_WITHIN", "ST_X", "ST_Y", "SUBDATE", "SUBSTR",
    "SUBSTRING", "SUBSTRING_INDEX", "SUBSTR_ORACLE", "SUBTIME", "SUM", "SYSDATE", "SYSTEM_USER",
    "SYS_GUID", "TABLE", "TAN", "TERMINATED", "TEXT", "THEN", "TIES", "TIME", "TIMEDIFF",
    "TIMESTAMP", "TIMESTAMPADD", "TIMESTAMPDIFF", "TIME_FORMAT", "TIME_TO_SEC", "TINYBLOB",
    "TINYINT", "TINYTEXT", "TO", "TOUCHES", "TO_BASE64", "TO_CHAR", "TO_DAYS", "TO_SECONDS",
    "TRAILING", "TRIGGER", "TRIM", "TRIM_ORACLE", "TRUE", "TRUNCATE", "UCASE", "UNBOUNDED",
    "UNCOMPRESS", "UNCOMPRESSED_LENGTH", "UNDO", "UNHEX", "UNICODE", "UNINSTALL", "UNION",
    "UNIQUE", "UNIX_TIMESTAMP", "UNLOCK", "UNSIGNED", "UPDATE", "UPDATEXML", "UPGRADE", "UPPER",
    "USE", "USER", "USING", "UTC_DATE", "UTC_TIME", "UTC_TIMESTAMP", "UUID", "UUID_SHORT", "VALUE",
    "VALUES", "VARBINARY", "VARCHAR", "VARCHAR2", "VARCHARACTER", "VARIANCE", "VARYING", "VAR_POP",
    "VAR_SAMP", "VERSION", "WEEK", "WEEKDAY", "WEEKOFYEAR", "WEIGHT_STRING", "WHERE", "WHILE",
    "WINDOW", "WITH", "WITHIN", "WRAPPER", "WRITE", "WSREP_LAST_SEEN_GTID",
    "WSREP_LAST_WRITTEN_GTID", "WSREP_SYNC_WAIT_UPTO_GTID", "XA", "XOR", "YEAR", "YEARWEEK",
    "YEAR_MONTH", "ZEROFILL",
};
/* clang-format on */

struct probe {
    const char *name;
    size_t len;
};

static int probe_cmp(const void *key, const void *elem)
{
    const struct probe *p = key;
    const unsigned char *b = *(const unsigned char *const *)elem;
    for (size_t i = 0; i < p->len; i++) {
        int a = toupper((unsigned char)p->name[i]);
        if (b[i] == '\0' || a != b[i])
            return b[i] == '\0' ? 1 : a - b[i];
    }
    return b[p->len] == '\0' ? 0 : -1; /* p is a prefix of b: it sorts first */
}

bool sqlfunc_is_builtin(const char *name, size_t len)
{
    if (len == 0 || len > SQLFUNC_NAME_MAX)
        return false;
    struct probe p = {name, len};
    return bsearch(&p, builtins, sizeof(builtins) / sizeof(builtins[0]), sizeof(builtins[0]),
                   probe_cmp) != NULL;
}

/* Built-ins whose value differs from one run, connection or server to the
 * next, called with parentheses. From MariaDB's documentation: the "Date &
 * Time Functions" pages (NOW, SYSDATE "returns the time at which it
 * executes", CURDATE, CURTIME, the CURRENT_ and UTC_ families, LOCALTIME,
 * LOCALTIMESTAMP, UNIX_TIMESTAMP without an argument), "Information
 * Functions" (CONNECTION_ID, CURRENT_USER, CURRENT_ROLE, USER,
 * SESSION_USER, SYSTEM_USER, LAST_INSERT_ID, ROW_COUNT, FOUND_ROWS),
 * "Miscellaneous Functions" (UUID, UUID_SHORT, SYS_GUID, SLEEP, BENCHMARK,
 * the lock functions, MASTER_POS_WAIT, MASTER_GTID_WAIT), RAND and
 * RANDOM_BYTES, and the sequence functions (NEXTVAL, LASTVAL, SETVAL). */
static const char *const nondet_called[] = {
    "NOW",
    "SYSDATE",
    "CURDATE",
    "CURTIME",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "UTC_DATE",
    "UTC_TIME",
    "UTC_TIMESTAMP",
    "UNIX_TIMESTAMP",
    "RAND",
    "RANDOM_BYTES",
    "UUID",
    "UUID_SHORT",
    "SYS_GUID",
    "CONNECTION_ID",
    "CURRENT_USER",
    "CURRENT_ROLE",
    "USER",
    "SESSION_USER",
    "SYSTEM_USER",
    "LAST_INSERT_ID",
    "ROW_COUNT",
    "FOUND_ROWS",
    "SLEEP",
    "BENCHMARK",
    "GET_LOCK",
    "RELEASE_LOCK",
    "IS_FREE_LOCK",
    "IS_USED_LOCK",
    "MASTER_POS_WAIT",
    "MASTER_GTID_WAIT",
    "NEXTVAL",
    "LASTVAL",
    "SETVAL",
};

/* Those the server also reads as a value without parentheses: the pages
 * of MariaDB's documentation give their syntax as both `CURRENT_DATE` and
 * `CURRENT_DATE()` (mariadb.com/kb/en/current_date, current_time,
 * current_timestamp, localtime, localtimestamp, utc_date, utc_time,
 * utc_timestamp, current_user, current_role). SYSDATE is documented with
 * parentheses only, but sql_mode=ORACLE reads it alone; a column named
 * sysdate is only ever not cached. */
static const char *const nondet_bare[] = {
    "CURRENT_DATE",   "CURRENT_TIME", "CURRENT_TIMESTAMP", "LOCALTIME",
    "LOCALTIMESTAMP", "UTC_DATE",     "UTC_TIME",          "UTC_TIMESTAMP",
    "CURRENT_USER",   "CURRENT_ROLE", "SYSDATE",
};

const char *sqlfunc_nondeterministic(const unsigned char *p, size_t n, bool called)
{
    const char *const *list = called ? nondet_called : nondet_bare;
    size_t count = called ? sizeof(nondet_called) / sizeof(nondet_called[0])
                          : sizeof(nondet_bare) / sizeof(nondet_bare[0]);
    if (n == 0)
        return NULL;
    /* Every name starts with an upper-case letter L, and a byte & 0xDF is
     * L only for L and its lower case: the first letter before any
     * compare (cache_sql asks of every word of a cached SELECT). */
    char c = (char)(p[0] & 0xDF);
    for (size_t i = 0; i < count; i++)
        if (list[i][0] == c && ci_equal(p, n, list[i]))
            return list[i];
    return NULL;
}
