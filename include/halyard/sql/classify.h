/*
 * classify.h: the SQL classifier the read/write splitter calls for every
 * COM_QUERY and COM_STMT_PREPARE.
 *
 * classify() lexes the query text once, left to right, with a real SQL lexer
 * (comments, quoted strings and identifiers, executable comments, hints) and
 * no allocation. It says where the text may run (`kind`), what side effects
 * the caller has to track (`flags`, `vars`, `schema`, `temp_table`,
 * `autocommit`) and which hint a comment carries. It can produce the query's
 * digest in the same pass. It is pure (no I/O; the only shared state is a
 * keyword index built once, under pthread_once, then read-only), safe on
 * any bytes (it is fuzzed), and its work is linear in the text's length.
 *
 * `kind` is only the routing decision. Effects are in flags and vars
 * whatever the kind: `SET @x = 1, autocommit = 0` is CL_PIN_PRIMARY (a user
 * variable) and still reports CLF_AUTOCOMMIT with its value.
 *
 * Decisions where MariaDB's grammar or the splitter's needs left a choice:
 *  - Unknown or unparsable statements are CL_WRITE: a wrong "write" costs a
 *    trip to the primary, a wrong "read" fails on a read-only replica.
 *  - Several statements (CLF_MULTI): CL_READ if every one is a read,
 *    CL_PIN_PRIMARY if every one is a read or a pin, otherwise CL_WRITE;
 *    `kinds` has a bit per kind seen. Statements are split on every `;`
 *    outside strings and comments, so a compound statement (BEGIN NOT ATOMIC
 *    ... END, CREATE PROCEDURE ... BEGIN ...; END) counts as several; it is
 *    a write either way. Empty statements (`;;`, a trailing `;`) don't count.
 *  - Executable comments (a comment opened by slash-star-bang, optionally
 *    with a 5- or 6-digit version, or MariaDB's slash-star-M-bang) are
 *    lexed as SQL whatever their version: the server behind us is assumed
 *    recent enough to run them.
 *  - Functions that pin to the primary (when followed by `(`):
 *    LAST_INSERT_ID, FOUND_ROWS, ROW_COUNT, CONNECTION_ID, the GET_LOCK
 *    family (GET_LOCK, RELEASE_LOCK, RELEASE_ALL_LOCKS, IS_FREE_LOCK,
 *    IS_USED_LOCK), LASTVAL, `PREVIOUS VALUE FOR`, `seq.CURRVAL`; also the
 *    variables @@identity, @@insert_id, @@last_insert_id, @@last_gtid.
 *    NEXTVAL, SETVAL, `NEXT VALUE FOR`, `seq.NEXTVAL` change a sequence and
 *    are writes. CONNECTION_ID is pinned because a replica's thread id is
 *    useless to a later KILL. SLEEP, BENCHMARK, MASTER_POS_WAIT and
 *    MASTER_GTID_WAIT are reads: they change nothing, and the WAIT functions
 *    are meant for replicas.
 *  - FOUND_ROWS(), ROW_COUNT(), SHOW WARNINGS/ERRORS, SHOW COUNT(*) ...,
 *    GET DIAGNOSTICS, @@warning_count and @@error_count describe the
 *    previous statement: CLF_PREV_STMT says so, so the splitter can send
 *    them where that statement ran. The two functions are also
 *    CL_PIN_PRIMARY; the rest are reads.
 *  - CL_WRITE changes data, schema, privileges, files or server state:
 *    INSERT, UPDATE, DELETE, REPLACE, LOAD, CREATE, ALTER, DROP, RENAME,
 *    TRUNCATE, GRANT, REVOKE, CALL, FLUSH, ANALYZE/OPTIMIZE/REPAIR TABLE,
 *    KILL, PREPARE/EXECUTE (the text is unknown), SET GLOBAL, SET PASSWORD,
 *    XA END/PREPARE, SELECT ... INTO OUTFILE/DUMPFILE, sequence changes.
 *    CL_PIN_PRIMARY changes no data but must run on the primary connection:
 *    locking reads (FOR UPDATE, FOR SHARE, LOCK IN SHARE MODE), user
 *    variable assignments (SET @x, SELECT @x := 1, SELECT ... INTO @x),
 *    LOCK/UNLOCK TABLES, HANDLER, XA RECOVER, the functions above, and
 *    SHOW MASTER / BINLOG / BINARY ... (the primary's binlog).
 *  - EXPLAIN/DESCRIBE of a write is a write, EXPLAIN of a read a read (as
 *    the issue asks, though EXPLAIN alone does not run it). ANALYZE <stmt>
 *    runs the statement, so ANALYZE UPDATE is a real write; ANALYZE TABLE is
 *    table maintenance, a write. `VALUES (...)`, `TABLE t`, `DO expr`,
 *    CHECK/CHECKSUM TABLE and HELP are reads.
 *  - XA START/BEGIN is CL_TXN_BEGIN, XA COMMIT/ROLLBACK CL_TXN_END, all with
 *    CLF_XA. `BEGIN NOT ATOMIC` is a compound statement, a write.
 *  - SAVEPOINT, RELEASE SAVEPOINT and ROLLBACK ... TO are CL_TXN_SAVEPOINT,
 *    not the end of a transaction.
 *  - SET: a system variable without GLOBAL/SESSION is assumed to be a
 *    session variable (a global-only one, like max_connections, is really
 *    set globally by the server; we cannot know without a list). A GLOBAL or
 *    SESSION modifier carries over to the assignments after it, as in the
 *    server. SET STATEMENT ... FOR <stmt> is classified as <stmt> with
 *    CLF_SET_STATEMENT; its variables are not reported (they last one
 *    statement). SET TRANSACTION (next transaction only, CLF_TXN_NEXT) and
 *    SET SESSION TRANSACTION (CLF_TXN_SESSION) are CL_SESSION.
 *  - Temporary tables: CREATE TEMPORARY TABLE reports the table (the last
 *    one, if a query creates several). DROP [TEMPORARY] TABLE sets
 *    CLF_TABLE_DROPPED: it may drop a temporary table. To learn whether a
 *    statement mentions one of the session's temporary tables, call
 *    classify_find_ident() with the session's set; it is a second pass the
 *    caller makes only when the session has temporary tables. ALTER TABLE
 *    ... RENAME and RENAME TABLE of a temporary table are not tracked.
 *  - Hints are comments whose text is `halyard: primary`, `halyard:
 *    replica` or `halyard: backend=NAME` (case-insensitive, any spacing), in
 *    any comment style. The first valid hint wins; a comment that starts
 *    `halyard:` but does not parse sets CLF_HINT_INVALID and is ignored.
 *    `halyard: consistency=NAME` (eventual, causal, strong, global) is a
 *    hint of its own, beside those: the first one sets hint_consistency.
 *  - Strings use backslash escapes unless CLO_NO_BACKSLASH_ESCAPES (the
 *    server reports that mode in SERVER_STATUS_NO_BACKSLASH_ESCAPES). "..."
 *    is a string unless CLO_ANSI_QUOTES.
 *  - A text longer than CLASSIFY_MAX_LEN is not lexed: CL_WRITE with
 *    CLF_TOO_LONG, and an empty digest.
 *
 * Digest (the text query rules and statistics see): comments are dropped
 * (an executable comment's content is kept); string, number, hex and bit
 * literals become `?` (adjacent strings, which SQL concatenates, become one
 * `?`; a sign in front of a number goes with it); `?` placeholders stay `?`;
 * NULL, TRUE, FALSE stay; a list of literals after IN, VALUES or VALUE
 * becomes `(...)`, including several rows (`VALUES (1,2),(3,4)`) and one row;
 * keywords (MariaDB's reserved words, the words the classifier acts on and
 * common function names) are upper-cased; identifiers, variables and
 * operators are kept as written; tokens are separated by one space, except
 * none after `(`, `.` and before `)`, `,`, `.`, `;`, and none before `(`
 * after a function name or identifier (`count(*)`, `t(a, b)`) while clause
 * keywords keep it (`IN (...)`, `AS (`). A trailing `;` is dropped. A column
 * named like a non-reserved keyword (status, level...) is upper-cased too:
 * the digest is consistent, not a parse. The hash is a 64-bit hash of the
 * whole digest, also when the text written is truncated (our own: FNV-like,
 * 8 bytes per multiply; not cryptographic).
 */
#ifndef HALYARD_CLASSIFY_H
#define HALYARD_CLASSIFY_H

#include "halyard/core/core.h"

#define CLASSIFY_MAX_LEN     0xFFFFFFFFu /* offsets in results are 32-bit */
#define CLASSIFY_NAME_MAX    192         /* bytes of an unquoted name we keep (64 chars x 3) */
#define CLASSIFY_BACKEND_MAX 64          /* hint_backend, with its NUL */
#define CLASSIFY_MAX_VARS    8

/* Options: the session's SQL modes that change how text is lexed. */
#define CLO_NO_BACKSLASH_ESCAPES 0x1u /* backslash is an ordinary character in strings */
#define CLO_ANSI_QUOTES          0x2u /* "..." quotes an identifier, not a string */

/* Where a query may run. Ordered by strength for the first five. */
enum classify_kind {
    CL_EMPTY,         /* no statement: empty, or comments only */
    CL_READ,          /* may run on a replica outside a transaction */
    CL_SESSION,       /* changes session state: run it, remember it, replay it */
    CL_PIN_PRIMARY,   /* changes no data but must run on the primary connection */
    CL_WRITE,         /* changes data, schema, privileges or server state */
    CL_TXN_BEGIN,     /* BEGIN, START TRANSACTION [READ WRITE], XA START */
    CL_TXN_BEGIN_RO,  /* START TRANSACTION READ ONLY */
    CL_TXN_END,       /* COMMIT, ROLLBACK, XA COMMIT/ROLLBACK */
    CL_TXN_SAVEPOINT, /* SAVEPOINT, RELEASE SAVEPOINT, ROLLBACK TO */
    CL__COUNT
};

#define CL_BIT(kind) (1u << (kind))

/* What else the query does or needs; independent of `kind`. */
#define CLF_MULTI              0x00000001u /* more than one statement */
#define CLF_UNTERMINATED       0x00000002u /* ends inside a string, quoted name or comment */
#define CLF_TOO_LONG           0x00000004u /* longer than CLASSIFY_MAX_LEN: not lexed */
#define CLF_HINT_INVALID       0x00000008u /* a `halyard:` comment did not parse */
#define CLF_LOCKING_READ       0x00000010u /* FOR UPDATE, FOR SHARE, LOCK IN SHARE MODE */
#define CLF_SELECT_INTO        0x00000020u /* SELECT ... INTO */
#define CLF_USER_VAR_SET       0x00000040u /* assigns a user variable (@x) */
#define CLF_USER_VAR_REF       0x00000080u /* mentions a user variable */
#define CLF_LAST_INSERT_ID     0x00000100u /* LAST_INSERT_ID(), @@identity, @@insert_id... */
#define CLF_PREV_STMT          0x00000200u /* about the previous statement's outcome */
#define CLF_USER_LOCK          0x00000400u /* GET_LOCK family */
#define CLF_SEQUENCE           0x00000800u /* NEXTVAL, LASTVAL, SETVAL, NEXT/PREVIOUS VALUE FOR */
#define CLF_TEMP_TABLE_CREATED 0x00001000u /* CREATE TEMPORARY TABLE: see temp_table */
#define CLF_TABLE_DROPPED      0x00002000u /* DROP [TEMPORARY] TABLE */
#define CLF_LOCK_TABLES        0x00004000u /* LOCK TABLES */
#define CLF_UNLOCK_TABLES      0x00008000u /* UNLOCK TABLES */
#define CLF_USE                0x00010000u /* USE db: see schema */
#define CLF_AUTOCOMMIT         0x00020000u /* SET [SESSION] autocommit: see autocommit */
#define CLF_SET_NAMES          0x00040000u /* SET NAMES / CHARACTER SET / CHARSET */
#define CLF_SET_GLOBAL         0x00080000u /* SET GLOBAL (a write) */
#define CLF_VARS_TRUNCATED     0x00100000u /* more than CLASSIFY_MAX_VARS assignments */
#define CLF_TXN_NEXT           0x00200000u /* SET TRANSACTION: the next transaction only */
#define CLF_TXN_SESSION        0x00400000u /* SET SESSION TRANSACTION */
#define CLF_TXN_READ_ONLY      0x00800000u /* READ ONLY in START/SET TRANSACTION */
#define CLF_TXN_CHAIN          0x01000000u /* COMMIT/ROLLBACK AND CHAIN: a new one begins */
#define CLF_XA                 0x02000000u /* an XA statement */
#define CLF_SET_STATEMENT      0x04000000u /* SET STATEMENT ... FOR (not a session change) */
#define CLF_ROUTINE_CALL       0x08000000u /* calls a function that is not built in: it may write */
/* may set user variables out of sight: CALL, EXECUTE, a compound statement,
 * a stored function */
#define CLF_UVARS_OPAQUE 0x10000000u
/* may change any session state out of sight: EXECUTE (of a text halyard
 * never saw run), BEGIN NOT ATOMIC */
#define CLF_STATE_OPAQUE 0x20000000u
/* INSERT, UPDATE, DELETE, REPLACE, LOAD: changes rows */
#define CLF_DML 0x40000000u
/* about the diagnostics area: SHOW WARNINGS, SHOW ERRORS, SHOW COUNT(*)
 * WARNINGS, @@warning_count, @@error_count, GET DIAGNOSTICS */
#define CLF_DIAG 0x80000000u

enum classify_hint {
    CLH_NONE,
    CLH_PRIMARY, /* halyard: primary */
    CLH_REPLICA, /* halyard: replica */
    CLH_BACKEND, /* halyard: backend=NAME, NAME in hint_backend */
};

/* A `halyard: consistency=NAME` hint: the consistency the statement's
 * read is routed with instead of the session's. */
enum classify_consistency {
    CLC_NONE = 0,
    CLC_EVENTUAL,
    CLC_CAUSAL,
    CLC_STRONG,
    CLC_GLOBAL,
};

/* What a SET assignment sets. */
enum classify_scope {
    CLV_SESSION, /* a session system variable: SET [SESSION|LOCAL|@@session.|@@] x */
    CLV_GLOBAL,  /* SET GLOBAL x, @@global.x (the statement is a write) */
    CLV_USER,    /* a user variable: SET @x */
    CLV_NAMES,   /* SET NAMES ...: value is "charset [COLLATE collation]" or DEFAULT */
    CLV_CHARSET, /* SET CHARACTER SET / CHARSET ... */
    CLV_ROLE,    /* SET ROLE ... */
};

/* A byte range of the query text. */
struct classify_span {
    uint32_t off;
    uint32_t len;
};

/*
 * One assignment. `name` is the variable's name without scope prefix, `@`
 * or quotes (`autocommit` in `SET @@session.autocommit = 1`, `x` in
 * `SET @'x' = 1`); for NAMES, CHARACTER SET and ROLE it is the keyword(s).
 * `value` is the expression as written, from after `=` (or after the
 * keyword) to the next top-level comma or the statement's end.
 */
struct classify_var {
    enum classify_scope scope;
    struct classify_span name;
    struct classify_span value;
};

#define CLASSIFY_MAX_CONNID 8
/* MariaDB's longest alias: a longer select item keeps the name with the id */
#define CLASSIFY_ALIAS_MAX 256

/* The calls of a connection's own values a session may answer itself
 * (classify_calls_rewrite()): CONNECTION_ID() always (the session's id),
 * FOUND_ROWS() and ROW_COUNT() when the statement runs on another server
 * connection than the one before it (pool_mode = "transaction"). */
enum classify_call {
    CLASSIFY_CALL_CONNECTION_ID = 0,
    CLASSIFY_CALL_FOUND_ROWS,
    CLASSIFY_CALL_ROW_COUNT,
    CLASSIFY_CALL__COUNT
};

/* Bytes of a value put in place of a call (classify_calls_rewrite). */
#define CLASSIFY_CALL_VALUE_MAX 40

/* Where a text calls them, for the session to put values there. */
struct classify_connid {
    uint32_t n;
    struct classify_span call[CLASSIFY_MAX_CONNID]; /* from the name to its `)`, in order */
    uint8_t kind[CLASSIFY_MAX_CONNID];              /* enum classify_call of each */
    uint32_t n_connid;                              /* calls of CONNECTION_ID() */
    /* The items of a statement's leading SELECT list that hold a call and
     * have no alias, in order: each gets its own text as alias, so the
     * column keeps the name the server gives it (`@a - connection_id()`,
     * not `@a - 1073741825`). */
    uint32_t nalias;
    struct classify_span alias[CLASSIFY_MAX_CONNID];
};

struct classify_result {
    enum classify_kind kind; /* the routing decision for the whole text */
    uint32_t flags;          /* CLF_* */
    bool clears_diag;        /* a statement MariaDB clears the diagnostics area before:
                              * one that uses a table, or is not a SELECT, VALUES, DO, SET
                              * or USE; SHOW WARNINGS and the like never */
    uint32_t kinds;          /* CL_BIT() of each statement's kind */
    uint32_t nstmt;          /* statements seen (0 for CL_EMPTY) */
    int autocommit;          /* with CLF_AUTOCOMMIT: 0, 1, or -1 if not a constant */
    enum classify_hint hint;
    char hint_backend[CLASSIFY_BACKEND_MAX];     /* with CLH_BACKEND */
    enum classify_consistency hint_consistency;  /* CLC_NONE: the session's */
    char schema[CLASSIFY_NAME_MAX + 1];          /* with CLF_USE: unquoted; "" if too long */
    char temp_table[CLASSIFY_NAME_MAX + 1];      /* with CLF_TEMP_TABLE_CREATED: unquoted */
    char temp_schema[CLASSIFY_NAME_MAX + 1];     /* its schema if qualified, else "" */
    uint32_t nvars;                              /* entries used in vars */
    struct classify_var vars[CLASSIFY_MAX_VARS]; /* SET assignments, in order */
    /* Each `CONNECTION_ID()` call: the session puts its own id there. More
     * than CLASSIFY_MAX_CONNID calls in one text: none is listed (connid.n
     * 0, connid_overflow) and the statement runs on the primary, as a read
     * of a connection's own state. None in CREATE and ALTER, whose text the
     * server keeps (a view, a routine, a column's DEFAULT). */
    bool connid_overflow;
    /* The text may hold one of the words the session scans every
     * statement for beside the classifier (text_words(), session_route.c:
     * SQL_CALC_FOUND_ROWS, LIMIT, OFFSET and the run-time state's tables,
     * found anywhere, in any case): false when no comment and no token of
     * 5 bytes or more but a keyword has an L or an O (each of those words
     * has one) and no keyword is LIMIT, OFFSET or 10 letters or longer
     * (those that hold one), so the scan would find none. */
    bool lo_words;
    /* The text may read the process list or the status tables (the
     * session rewrites those: sysview_scan(), sysview.h): a token SHOW
     * or INFORMATION_SCHEMA, where that scan starts. */
    bool sysview_names;
    /* The text may hold a KILL that classify_kill_refusal() refuses: a
     * word KILL, or a string with KILL in it (PREPARE ... FROM). */
    bool kill_word;
    struct classify_connid connid;
};

/* Where classify() writes a digest. */
struct classify_digest {
    char *buf;     /* in: destination, NUL-terminated when cap > 0; may be NULL if cap is 0 */
    size_t cap;    /* in: bytes available at buf */
    size_t len;    /* out: length of the whole digest; >= cap means buf holds a prefix */
    uint64_t hash; /* out: 64-bit hash of the whole digest */
};

/*
 * Classify `len` bytes of `sql` (need not be NUL-terminated; may contain
 * NULs). `opts` is CLO_* bits. Fills *res entirely. When dg is not NULL,
 * also writes the digest, in the same pass.
 */
void classify(const char *sql, size_t len, unsigned opts, struct classify_result *res,
              struct classify_digest *dg);

/*
 * Whether a classified statement may run a second time on another server
 * with the same outcome: a plain read (CL_READ, one statement) that calls
 * no stored routine, sets no user variable, takes no lock, touches no
 * sequence and reads nothing about the previous statement or the
 * connection's own LAST_INSERT_ID(). A read the primary runs is retried
 * (after the primary died) only when this holds.
 */
bool classify_retry_safe(const struct classify_result *res);

/*
 * Whether the text runs a KILL that names a thread by an id halyard cannot
 * map to the server's (the session answers KILL <number> alone itself):
 * a KILL in a multi-statement text, a KILL whose id is an expression, a
 * KILL in a prepared statement (`prepared`: the text of a
 * COM_STMT_PREPARE; also SQL PREPARE ... FROM 'text'). Returns where, for
 * the refusal's message ("in a multi-statement text"...), or NULL. KILL
 * [QUERY] USER alone, and KILL QUERY USER prepared, name no id: NULL.
 */
const char *classify_kill_refusal(const char *sql, size_t len, unsigned opts, bool prepared);

/*
 * `len` bytes of `sql` with each call of `cid` (classify_result.connid)
 * replaced by `id` in decimal, and each of its aliases added: writes at
 * most cap bytes to out and returns the length of the whole text, never
 * more than classify_connid_bound().
 */
size_t classify_connid_rewrite(const char *sql, size_t len, const struct classify_connid *cid,
                               uint32_t id, char *out, size_t cap);
/* The same with a value per kind of call (an expression, at most
 * CLASSIFY_CALL_VALUE_MAX bytes; NULL leaves that kind's calls as written). */
size_t classify_calls_rewrite(const char *sql, size_t len, const struct classify_connid *cid,
                              const char *const value[CLASSIFY_CALL__COUNT], char *out, size_t cap);
size_t classify_connid_bound(const struct classify_connid *cid, size_t len);

/*
 * The digest alone: writes at most cap-1 bytes and a NUL to out (nothing if
 * cap is 0), stores the whole digest's length in *out_len if not NULL, and
 * returns its hash.
 */
uint64_t classify_digest(const char *sql, size_t len, unsigned opts, char *out, size_t cap,
                         size_t *out_len);

/*
 * Called with each identifier of the text: every unquoted word (keywords
 * too: a table may be named `status`) and every quoted name, unquoted
 * (`a``b` comes as a`b), never a string, variable or comment. `name` is not
 * NUL-terminated. Return true to stop.
 */
typedef bool (*classify_ident_fn)(void *ctx, const char *name, size_t len);

/*
 * Call fn for each identifier in order; returns true as soon as fn does,
 * false at the end. One lexing pass; for "does this statement mention one
 * of the session's temporary tables".
 */
bool classify_find_ident(const char *sql, size_t len, unsigned opts, classify_ident_fn fn,
                         void *ctx);

/*
 * Calls fn(ctx, name, len, sure) with each schema `sql` names, unquoted,
 * in order (a name may come twice). `sure`: the name can only be a
 * schema: the database of USE, CREATE/DROP/ALTER DATABASE|SCHEMA [IF [NOT]
 * EXISTS] db, SHOW CREATE DATABASE db, SHOW [FULL] TABLES, TABLE STATUS,
 * TRIGGERS, EVENTS, OPEN TABLES ... FROM|IN db. Not sure: the first part of
 * a qualified name (`db.t`, `db.t.c`, `db.*`), which may be a table or an
 * alias (`t.c`): the caller looks such names up in its map. One lexing pass
 * with the classifier's lexer; `opts` is CLO_*. A name longer than
 * CLASSIFY_NAME_MAX is passed as written. Returns true as soon as fn does.
 */
typedef bool (*classify_schema_fn)(void *ctx, const char *name, size_t len, bool sure);
bool classify_schemas(const char *sql, size_t len, unsigned opts, classify_schema_fn fn, void *ctx);

/* Whether the digest upper-cases `word` (ASCII case-insensitive). */
bool classify_is_keyword(const char *word, size_t len);

/*
 * The lexer options a sql_mode value asks for, as the server reports it
 * (@@sql_mode, or a session-tracking entry): a comma-separated list of mode
 * names, case-insensitive. NO_BACKSLASH_ESCAPES gives CLO_NO_BACKSLASH_ESCAPES;
 * ANSI_QUOTES, and the combination modes that include it (ANSI, DB2, MAXDB,
 * MSSQL, ORACLE, POSTGRESQL), give CLO_ANSI_QUOTES. Other names are ignored.
 */
unsigned classify_sql_mode(const char *mode, size_t len);

const char *classify_kind_to_str(enum classify_kind kind);

#endif /* HALYARD_CLASSIFY_H */
