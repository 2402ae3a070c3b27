/*
 * pstmt.h: a session's prepared statements, as data.
 *
 * The map from halyard's statement id (the one the client uses) to the
 * statement: what routing needs, its text and parameter types, and per
 * backend that backend's own id. Ids are handed out in order, skipping 0
 * and MYSQL_STMT_ID_LAST (MariaDB's "the last one prepared"). No I/O:
 * session.c sends the commands; tests/unit/test_pstmt.c tests the map.
 */
#ifndef HALYARD_PSTMT_H
#define HALYARD_PSTMT_H

#include <stdbool.h>
#include <stdint.h>

#include "halyard/protocol/colmeta.h"
#include "halyard/core/core.h"

struct key_out;

struct classify_connid;
struct varstate;

/* A prepared statement as the client knows it (see "prepared statements"
 * in session.c): halyard's id, what routing needs, and per backend that
 * backend's own id. */
struct ps_backend {
    uint32_t id;        /* the backend's statement id; 0 = not prepared there */
    uint32_t types_gen; /* parameter types it last received (struct pstmt.types_gen); 0 = none */
};

struct pstmt {
    struct pstmt *next; /* hash chain in the session's table */
    uint32_t id;        /* halyard's id, the one the client uses */
    uint16_t n_params, n_cols;
    uint16_t home;      /* backend of the client's PREPARE */
    bool writes;        /* not a read: runs on the primary */
    uint8_t cls;        /* an EXECUTE's enum stmt_class (core/stats.h) */
    bool retry_safe;    /* a read that may run twice (classify_retry_safe) */
    bool pin;           /* changes session state: running it pins the session */
    bool user_lock;     /* GET_LOCK and the like: runs on the primary, pinning the session */
    bool home_only;     /* cannot move from `home` (text not kept, or huge EXECUTE heads) */
    bool prev_stmt;     /* SHOW WARNINGS and the like */
    bool uvars_opaque;  /* a CALL or stored function: user variables may change unseen */
    bool uvar_ref;      /* mentions a user variable */
    bool ro_refused;    /* refused inside START TRANSACTION READ ONLY (route_decide) */
    bool ro_next;       /* SET TRANSACTION: inside a READ ONLY one, its replica refuses it */
    bool ro_ends;       /* commits a READ ONLY transaction first (START TRANSACTION, DDL) */
    bool clears_diag;   /* an EXECUTE clears the diagnostics area (classify_result) */
    bool txn_next;      /* an EXECUTE ends a one-shot SET TRANSACTION (session_state.c) */
    bool may_commit;    /* an EXECUTE may end the open transaction (session_may_commit) */
    bool diag;          /* it reads the diagnostics area (CLF_DIAG) */
    bool lid;           /* names LAST_INSERT_ID() or its variables (CLF_LAST_INSERT_ID) */
    int8_t xa;          /* an EXECUTE's XA step, as a text's (session_pool_note's cmd_xa) */
    bool calc_found;    /* SQL_CALC_FOUND_ROWS or LIMIT with an offset: FOUND_ROWS() after
                         * an EXECUTE is its connection's (session_pool_note) */
    bool show_status;   /* SHOW STATUS and the like: the primary's counters */
    bool ld_lost;       /* long data was lost with its backend: the next EXECUTE fails */
    bool dml;           /* one INSERT/UPDATE/DELETE/REPLACE: an execution on the primary may
                         * carry a resolve_in_flight_writes mark (session_inflight.c) */
    bool once_marked;   /* the one-off statement (once_id) is the text with that mark */
    uint64_t once_seq;  /* ... of that write transaction: kept for its next executions */
    uint8_t hint;       /* enum classify_hint of its text, or of the rule that matched it */
    uint8_t hint_cons;  /* enum classify_consistency of its text */
    int16_t cursor_idx; /* backend whose EXECUTE opened a cursor, else -1 */
    int16_t ld_idx;     /* backend holding long data for the next EXECUTE, else -1 */
    uint32_t types_gen; /* bumped each time the client sends other parameter types */
    uint8_t *types;     /* the 2 * n_params type bytes the client last sent, or NULL */
    char *hint_backend; /* backend=NAME hint, else NULL */
    char *sql;          /* the statement's text, NULL if too large to keep */
    /* Key shards (shard_key.h): the decision from `sql`, made at its first
     * execution on a sharded listener for config `key_cfg` (made again
     * after a reload), so that an EXECUTE reads only its key parameters. */
    struct key_out *key;
    uint64_t key_cfg; /* the config's load_id */
    /* How the server read `sql` at the client's PREPARE, which is how it
     * keeps reading it: the lexer options of its sql_mode, and the
     * character set of its string literals (enum key_cs, shard_key.h).
     * key_cs_dep: `key` depends on that character set (a non-ASCII key
     * literal); a server may read the text again in the session's
     * character set of the moment (MariaDB prepares a statement again
     * after a table it uses changed), so it runs by that key only while
     * the session's is the PREPARE's. */
    unsigned lex_opts;
    uint8_t text_cs;
    bool key_cs_dep;
    char *db; /* the default schema at the client's PREPARE (NULL = none): the
               * server runs a statement in it whatever USE came since, so a
               * backend that prepares it later does so there */
    /* The sql_mode and character set at the client's PREPARE, those the
     * session had set (NULL = none: the login's): the server parsed the
     * text under them, so a backend that prepares it later does so under
     * them too; env_key is the same as text ("name=literal;" each), for a
     * connection's statement cache. */
    struct varstate *env;
    char *env_key;
    uint32_t sql_len;
    /* FOUND_ROWS() and ROW_COUNT() in `sql` (pool_mode = "transaction"),
     * NULL = none. An execution on another connection than the session's
     * previous statement's runs a statement prepared from `sql` with the
     * session's values in their place (once_id, on backend once_idx; -1 =
     * none), closed at the statement's next execution, at its close, or
     * when the connection goes back to the pool. */
    struct classify_connid *calls;
    uint32_t once_id;
    int16_t once_idx;
    uint64_t digest; /* digest hash of the text, for executions */
    /* The digest text of `sql`, for fair-share limits with a match_digest
     * (session_limits.c): made at the first execution one is asked for,
     * NULL until then (or when `sql` was not kept). */
    char *digest_text;
    uint32_t digest_len;
    struct colmeta_sig meta; /* the column definitions the client holds (CACHE_METADATA) */
    uint32_t cache_rule;     /* 1 + the cache rule its text matched, 0 = none (session_cache.c) */
    uint64_t cache_cfg;      /* ... in the config of this load_id */
    struct ps_backend *be;   /* one per backend of the session's config */
};

/* A session's statements by halyard id. Zeroed = empty. */
struct pstmt_map {
    struct pstmt **tab; /* hash buckets, NULL when empty */
    uint32_t cap;       /* buckets, a power of two */
    uint32_t count;
    uint32_t next_id; /* last id handed out */
    uint32_t last;    /* the last statement prepared (MariaDB's id -1), 0 = none */
};

/* The id an EXECUTE of `st` on backend `idx` ran with (its one-off
 * statement's there, else its own), for a FETCH or RESET after it. */
uint32_t pstmt_exec_id(const struct pstmt *st, uint32_t idx);

/* A new statement for `n_backends` backends (no cursor, no long data);
 * NULL when out of memory. */
struct pstmt *pstmt_new(uint32_t n_backends);
void pstmt_free(struct pstmt *st);

/* The next id to hand out (never 0 nor MYSQL_STMT_ID_LAST). */
uint32_t pstmt_id_next(struct pstmt_map *m);
/* Add `st` (its id set) and make it the last prepared. */
HY_MUSTCHECK hy_status_t pstmt_insert(struct pstmt_map *m, struct pstmt *st);
/* The statement with `id` (MYSQL_STMT_ID_LAST: the last prepared), or NULL. */
struct pstmt *pstmt_find(const struct pstmt_map *m, uint32_t id);
/* Take `st` out of the map and free it. */
void pstmt_remove(struct pstmt_map *m, struct pstmt *st);
/* Free every statement; the map is empty (ids go on from where they were). */
void pstmt_clear(struct pstmt_map *m);
/* Backend `idx` forgot its statements: their ids there (one-off ones
 * included), its cursors, and its long data (the next EXECUTE of such a
 * statement fails: ld_lost). */
void pstmt_backend_gone(struct pstmt_map *m, uint32_t idx);
/* Whether backend `idx`'s connection holds what cannot be prepared again
 * elsewhere: an open cursor, long data for the next EXECUTE, or a statement
 * whose text was not kept (home_only). */
bool pstmt_backend_bound(const struct pstmt_map *m, uint32_t idx);
/* The client sent parameter types with an EXECUTE: keep them (types_gen
 * changes when they differ). */
HY_MUSTCHECK hy_status_t pstmt_types_remember(struct pstmt *st, const uint8_t *types);

#endif
