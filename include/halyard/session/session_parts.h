/*
 * session_parts.h: the parts of struct session (session.h).
 *
 * A session is a short core (session.h) and these parts. Each part has an
 * owner, the file that writes it; the session's other files read it or
 * call the owner's functions. session.c makes and frees every part
 * (accept, session_free). Which other files still write a part, and the
 * check that keeps that list from growing (tools/check-ownership), are in
 * docs/ARCHITECTURE.md ("Who writes struct session").
 *
 * The memory of each pointer a part holds is in docs/ARCHITECTURE.md
 * ("Memory ownership").
 */
#ifndef HALYARD_SESSION_PARTS_H
#define HALYARD_SESSION_PARTS_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core/buf.h"
#include "halyard/config/config.h"
#include "halyard/config/rules.h"
#include "halyard/protocol/accounts.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/protocol/relay.h"
#include "halyard/session/registry.h"
#include "halyard/sql/pstmt.h"
#include "halyard/sql/varstate.h"

struct session;
struct bconn;
struct backend_rt;
struct classify_connid;
struct fanout;
struct session_ldiag;
struct session_xa;
struct session_sysview;
struct session_cache;
struct shard_refusal;
struct shard_snap;
struct state_change;
struct listener_stats;

struct internal_cmd; /* a command halyard runs on a backend for itself (session_int.h) */

/* What the client's next packet during login answers (SS_AUTH_SWITCH). */
enum auth_step {
    AUTH_STEP_NATIVE = 0, /* our AuthSwitchRequest to mysql_native_password */
    AUTH_STEP_SHA2_FULL,  /* caching_sha2_password "perform full authentication" */
    AUTH_STEP_OLD,        /* our request to switch to mysql_old_password (auth.h) */
};

/* The error of a refused login (login_finish). */
enum login_deny {
    DENY_ACCESS = 0,  /* 1045 access denied (using password: YES/NO) */
    DENY_NO_MENTION,  /* 1698 access denied: the account's method is unix_socket */
    DENY_LOCKED,      /* 4151 ACCOUNT LOCK */
    DENY_EXPIRED,     /* 1862 PASSWORD EXPIRE, and the server disconnects such clients */
    DENY_PLUGIN,      /* 1524 a method halyard cannot check (pend_acct->plugin) */
    DENY_SECURE_AUTH, /* 1275 mysql_old_password while the server's secure_auth is ON */
};

/* What a login waits for on the session's timer, if anything. */
enum login_wait {
    LOGIN_RUNNING = 0, /* nothing: it goes on with the client's next packet */
    LOGIN_DELAYED,     /* its answer is decided and held back (guard.h) */
    LOGIN_USERS_WAIT,  /* a read of the servers' accounts (users.h) */
};

/* Who the client is and where it came from: set at accept
 * (session.c) and by the login (session_login.c), which alone
 * changes it after. */
struct sess_who {
    struct config *lcfg;           /* reference to the config `listener` belongs to */
    struct listener_stats *lstats; /* its listener's counters (stats.h); NULL if out of memory */
    char peer[64];                 /* "host:port" of the client (as a PROXY header names it) */
    char *via; /* "host:port" of the load balancer it came through; NULL = direct */
    struct rules_addr client_addr;        /* for rules' `client` CIDR */
    uint8_t scramble[MYSQL_SCRAMBLE_LEN]; /* of the greeting; COM_CHANGE_USER answers it too */
    char *user;
    char *db; /* schema requested at login or by COM_CHANGE_USER */
    uint8_t *attrs;
    size_t attrs_len;
    uint8_t h1[MYSQL_SHA1_LEN]; /* SHA1(password): lets us log into backends */
    uint8_t h2[MYSQL_SHA1_LEN];
    bool no_password;
    /* an account read from the servers with mysql_old_password: its stored
     * hash answers the backends' requests for it (auth.h) */
    bool old_pw;
    uint32_t old_hash[2];
    uint32_t caps;     /* negotiated with the client (COM_SET_OPTION: session.c) */
    uint32_t ext_caps; /* MariaDB's extended ones, negotiated with the client */
    uint8_t charset;
    bool expired_ok;              /* the client handles expired passwords */
    bool user_counted;            /* counted in guard's sessions of `user` */
    const struct config_user *cu; /* the logged-in user, in cfg or acct_cur */
    struct config_user *acct_cur; /* users_source: the server account cu is; heap */
};

/* A login in progress: allocated at accept and by COM_CHANGE_USER, freed
 * when the login ends (login_end, session_login.c), so a logged-in
 * session has none. Only session_login.c touches it. */
struct sess_login {
    bool changing_user;                    /* the login is a COM_CHANGE_USER */
    enum auth_step auth_step;              /* what an SS_AUTH_SWITCH packet answers */
    bool pubkey_sent;                      /* caching_sha2_password: the RSA public key went out */
    enum login_wait wait;                  /* on the session's timer */
    bool users_waited;                     /* it had its read of the accounts: decided now */
    uint64_t users_ticket;                 /* users_loads_done() must pass this */
    double users_deadline;                 /* ev_now() when the wait ends anyway */
    uint8_t wait_auth[MYSQL_SCRAMBLE_LEN]; /* the client's token, kept for the wait */
    uint8_t wait_auth_len, wait_seq;
    /* The login decided but not answered yet (guard.h may hold it back). */
    bool pend_ok;
    bool pend_used_pw;
    bool pend_has_h1;
    uint8_t pend_seq;
    uint8_t pend_h1[MYSQL_SHA1_LEN];
    const struct config_user *pend_u; /* in cfg; NULL for an unknown user */
    const char *deny_why;             /* why pend_ok is false, for the audit line */
    enum login_deny deny;             /* the error a refused login gets */
    bool pend_disconnect_expired;     /* the server refuses it an expired password */
    /* users_source (users.h): a login as one of the servers' accounts.
     * pend_u points at acct_pend then; its name is the session's. */
    struct config_user *acct_pend; /* heap, NULL until such a login */
    struct account *pend_acct;     /* the login's account as the server has it; heap */
    /* COM_CHANGE_USER: what the session becomes once it succeeds (heap) */
    char *pend_user;
    char *pend_db;
    uint8_t *pend_attrs;
    size_t pend_attrs_len;
    uint16_t pend_charset;
};

/* The bytes moving between client and backend: the request forwarded in
 * `up`, the answer in `down`, and the session's timers. session.c (the
 * command loop) writes it; session_backend.c, session_colmeta.c and the
 * files that answer a command themselves move `down` and `resp` too. */
struct sess_io {
    struct stream up;   /* client -> backend */
    struct stream down; /* backend -> client */
    /* up direction: the request being forwarded */
    uint32_t up_left;   /* payload bytes of the current packet still to pass */
    bool up_cont;       /* the current packet is full length: another follows */
    bool req_open;      /* the request's packets are still coming */
    bool infile;        /* forwarding LOAD DATA LOCAL file packets */
    uint8_t waits;      /* bit w: the command's wait w began, not yet ended (session_wait_note) */
    uint8_t last_seq;   /* sequence id of the client's last packet */
    uint64_t req_bytes; /* of the logical packet being forwarded (max_packet_size) */
    /* down direction: the answer being forwarded */
    struct mysql_resp resp;
    struct relay_down rdown; /* its framing (relay.h); rdown.seq: of the last packet seen */
    bool resp_done;          /* the whole answer has been parsed */
    bool resp_broken;        /* the backend broke the protocol: ERR once the rest is out */
    bool hooked;             /* a feature's per-packet hooks may act on the answer: asked
                              * once, at answer_expect (session_hooks_attached) */
    char *broken_msg;        /* answer_broken(): the ERR the client gets once the rest is out */
    double down_last;        /* ev_now() when the backend last sent (backend_read_timeout_ms) */
    double hold_since;       /* ev_now() when the command's wait at the limit stage began */
    double held;             /* how long it waited there (the query log's limit_wait_us) */
    bool down_sent;          /* some of the answer went to the client */
    bool down_held;          /* the answer waits in `down` for its end (down_hold) */
    bool down_flush;         /* the parse waits for what is before it in `down` to go out (a
                              * column count, session_colmeta.c; a sysview's row) */
    ev_timer timer;          /* login timeout, then backend connect and read timeouts */
    /* `timer` runs for backend_read_timeout_ms, lazily: started when a
     * command begins and it is not running already, never stopped when the
     * command ends; it looks at down_last when it fires (answer_timeout),
     * and does nothing outside a command. */
    bool timer_lazy;
    ev_timer idle;       /* client_idle_timeout_ms, wait_timeout */
    double last_active;  /* ev_now() of the client's last bytes or command end */
    double wait_timeout; /* the session's wait_timeout in seconds: its SET, else the server's
                          * default at the login (session_idle_arm); 0 = not known */
};

/* The pool lease (pool_mode = "transaction"): the connections the session
 * gave back, and its wait for one at a backend's max_connections.
 * session_pool.c. */
struct sess_lease {
    uint64_t *lent; /* per backend: the serial its connection went to the pool under, 0 = none */
    /* Its user and login schema interned in the worker's pool (pool.h),
     * for `name_db` (who.db or NULL: session_login_db); NULL = not asked
     * since they last changed (session_pool_name_drop) */
    struct pool_name *name;
    const char *name_db;
    ev_timer pool_wait;
    double pool_wait_until;            /* ev_now() when the wait ends in 1040 */
    uint16_t pool_wait_idx;            /* the backend */
    bool pool_waiting;                 /* in the worker's queue */
    bool pool_wait_over;               /* the wait ended: the next attempt fails */
    struct session *pw_next, *pw_prev; /* the worker's queue */
    /* The worker's serial (pool.h) when the session began: accepted,
     * COM_RESET_CONNECTION, COM_CHANGE_USER. A pooled connection logged
     * in or reset before that (struct bconn.epoch) has the server's
     * global variables of then as its session defaults, not those a new
     * session gets: it is reset before it serves the session. */
    uint64_t epoch;
};

/* The session's backend connections. session_backend.c opens and closes
 * them; `cur` is set where a command gets its connection (session.c's
 * ensure_backend, session_pool.c's take, session_reload.c's move). */
struct sess_conns {
    struct bconn **bc; /* one slot per configured backend, NULL until used */
    struct bconn *cur; /* the connection the command in flight uses (or waits for) */
    uint16_t n_bc;
    /* Some connection in bc[] may have its moved or db_check set: false
     * only when none has (session_state.c: state_readback_due), so a
     * statement without either does not look at each connection. */
    bool check_due;
    /* cur serves no session in connreg after a read-back until the
     * session's next command (session_state.c: state_readback_end). */
    bool idle_unserved;
    struct sess_lease lease;
};

#define SESS_BEHIND_MAX 4 /* replicas a session remembers missing a read's wait */

/* Where the session's statements go: the primary it follows, its
 * transaction, causal reads, pinning, a retry elsewhere (see "routing"
 * in session.c). session_route.c, whose verbs (route_*) the features
 * call: a transaction halyard began or ended, a move to another view or
 * group; the transaction's status also session.c, from the answers. */
struct sess_route {
    uint16_t primary;  /* index of the primary in cfg->backends (follows the monitor) */
    uint64_t topo_gen; /* backend_generation() when `primary` was last looked up */
    /* the generation whose move asked the old primary for the session's
     * user variables (session_uvars_ask): asked once */
    uint64_t uvars_asked_gen;
    bool uvars_follow; /* a statement waiting for a primary follows it once counted (next_route) */
    /* a Galera writer change seen while a transaction was open on the old
     * writer, which lives on: followed when it ends (session_follow_primary) */
    bool follow_deferred;
    int wait_idx;    /* backend a waiting command was routed to, else -1 */
    uint16_t status; /* server status flags of the primary's last answer */
    struct backend_rt
        *trx_rt; /* the backend whose trx_open counts this session (session_trx_hold) */
    enum consistency consistency;
    uint16_t last_idx;   /* backend of the previous statement (FOUND_ROWS()...) */
    uint16_t diag_idx;   /* backend holding the session's diagnostics area (SHOW WARNINGS):
                          * where the last statement that raised a warning or an error, or
                          * used a table, ran (session_diag_follow) */
    bool need_gtid;      /* written since @@last_gtid was last read */
    bool causal_check;   /* the waiting read must find the session's GTID on its replica */
    uint32_t gtid_epoch; /* bumped each time gtid is read */
    char gtid[128];      /* primary's GTID position after the session's last write */
    /* the backend the session's last write committed on; -1 none, -2 one
     * a reload removed. Galera: a writer other than this one may not have
     * applied that write yet (session_writer_sync) */
    int write_idx;
    bool causal_refused; /* the read cannot be served as its consistency asks: 1429 */
    double last_write;   /* ev_now() of the last write, for consistency = strong */
    uint64_t write_at;   /* the group's commits (global_pos_need) after the session's last
                          * write there; 0 = none counted (causal_fast) */
    int ro_idx;          /* START TRANSACTION READ ONLY running on this replica, else -1 */
    /* replicas a read of the session waited on in vain (causal or global):
     * its reads take others while one can serve, until a check of the
     * replica began after the miss and saw it hold what the read needed
     * (session_route.c: behind_note, behind_now) */
    struct sess_behind {
        const struct backend_rt *rt;
        int64_t at_us; /* ev_time() in us of the miss */
        uint64_t need; /* the group's commits the read needed (global_pos.h); 0 = unknown */
    } behind[SESS_BEHIND_MAX];
    uint8_t n_behind;
    /* consistency = global (cluster/global_pos.h): the read being routed */
    bool causal_read;      /* waits for the session's own writes (causal) */
    bool global_read;      /* waits for its group's position (global) */
    uint64_t global_need;  /* the group's commits it must see; 0 = not taken yet */
    uint64_t global_at;    /* global_gtid holds the commits up to this; 0 = none */
    char global_gtid[128]; /* the position it waits for (GLOBAL_POS_MAX) */
    bool pinned;           /* session state only the primary has: everything goes there */
    const char *pin_why;   /* why it is pinned (a static text) */
    bool tables_locked;    /* it holds LOCK TABLES there (session_tables_locked) */
    bool uvars_opaque;     /* a CALL, EXECUTE or stored function ran: statements that
                            * mention a user variable go to the primary */
    unsigned lex_opts;     /* CLO_* for classify(): session_lex_follow() */
    int tracked_lex;       /* CLO_* of a sql_mode the answer in flight tracked, else -1 */
    /* health (backend.h): the statement in flight counts on q_rt; an
     * autocommit read on a replica keeps its packet to run it once more
     * elsewhere if the replica dies before answering */
    struct backend_rt *q_rt;
    bool route_sticky;  /* session_route() sent the statement where the previous one ran */
    bool retry_ok;      /* the command in flight may be retried (retry_pkt holds it) */
    bool retried;       /* ... and it is the retry */
    int retry_exclude;  /* the backend the retry must avoid, else -1 */
    bool fell_back;     /* the command in flight left a failed replica once already */
    uint8_t *retry_pkt; /* header + payload of that command */
    uint32_t retry_len, retry_cap;
    char *trx_lost;     /* a transaction died with this backend: the next statement says so; heap */
    uint8_t trx_nontrx; /* enum trx_nontrx: what the primary's transaction-state tracker last
                         * said of the open transaction's writes to non-transactional tables */
    uint8_t trx_lost_keeps; /* enum trx_nontrx of the transaction trx_lost names, at its loss */
    /* A write waiting for a usable primary (session.c, "waiting for a primary"). */
    ev_timer primary_wait;
    double primary_wait_until; /* ev_now() past which it fails; 0 = not waiting yet */
    uint64_t primary_fail_gen; /* backend_generation() when connecting to it failed, else max */
};

/* The command in flight: what it is, and what its end does (command_done).
 * session_route.c notes it when routing, session.c when it starts. */
struct sess_query {
    uint8_t cmd;                         /* the command in flight */
    double cmd_started;                  /* ev_now() when it started (show sessions) */
    const struct internal_cmd *internal; /* halyard's own command on cur (NULL: none) */
    char stmt[80]; /* the statement's first bytes (show sessions; a span the trace keeps at
                    * the command's end: kept until after on_done) */
    uint8_t stmt_len;
    int set_option;       /* COM_SET_OPTION in flight: its option, else -1 */
    bool cu_reset;        /* the COM_CHANGE_USER at up.scan reset the session (session.c) */
    uint8_t bk_hooks;     /* next_forward met before_backend (1), then after_backend (2) */
    bool cmd_lid;         /* it reads or sets LAST_INSERT_ID() */
    int8_t cmd_xa;        /* it begins (1) or ends (-1) an XA transaction, or ends its
                           * active part (2: XA END or XA PREPARE alone) */
    bool cmd_one;         /* it is one statement (COM_QUERY's text) */
    bool cmd_calc_found;  /* it uses SQL_CALC_FOUND_ROWS */
    int8_t cmd_locks;     /* LOCK TABLES (1), or what releases them (-1) */
    bool cmd_clears_diag; /* it clears the diagnostics area */
    bool cmd_diag;        /* it reads the diagnostics area (SHOW WARNINGS ...) */
    bool cmd_writes;      /* it may write on the primary */
    uint8_t cmd_class;    /* enum stmt_class, counted as it is sent (command_begin) */
    bool cmd_privs;       /* it may change accounts or privileges */
    bool cmd_retry_safe;  /* a read that may run twice (classify_retry_safe) */
    bool cmd_ro_begin;    /* it starts a READ ONLY transaction on a replica */
    bool cmd_may_commit;  /* it may commit the open transaction (COMMIT, DDL, BEGIN...) */
    bool cmd_txn_next;    /* it ends a one-shot SET TRANSACTION (state_txn_next_ends) */
    int8_t cmd_trx_bound; /* it ends the open transaction: BEGIN (1), COMMIT, ROLLBACK, DDL (-1) */
    /* The fair-share limit governing the statement in flight, found with
     * its digest as it was classified (limits need it: limits_need_digest);
     * else limit_known is false and session_limits.c looks without one. */
    const struct config_limit *limit_cl;
    bool limit_known;
    bool cmd_trx_track;                   /* its text names session_track_transaction_info */
    uint64_t digest_hash;                 /* digest of the statement in flight ... */
    bool digest_pending;                  /* ... to record when it ends */
    const struct config_rule *block_rule; /* the rule that blocked the statement */
    uint64_t fw_hash;                     /* the digest the firewall refused */
    char *qlog_text;                      /* query log: the statement in flight (audit.h) */
    size_t qlog_len;
    uint64_t qlog_digest;
    bool qlog_pending;
    /* CONNECTION_ID() calls in the routed statement's text (classify.h):
     * it goes out with the session's id in their place. Allocated at the
     * first such statement (150 bytes an idle session does without);
     * connid->n is 0 for a statement without them. */
    struct classify_connid *connid;
    char *pend_schema; /* the schema the command in flight selects, if it succeeds */
    /* The statement in flight reads the server's process list or status
     * variables, answered in the client's terms (session_sysview.c, which
     * writes it); heap, allocated at the first such statement. */
    struct session_sysview *sysview;
    /* The query cache (session_cache.c): its fill in flight or hit, heap,
     * allocated at the first statement a cache rule matched; whether the
     * command in flight is a read, and when its last other command ended
     * (cache_clock(), for read-your-writes). */
    struct session_cache *cache;
    bool cache_read;
    bool cache_noted; /* this command's write was noted as its answer ended */
    double cache_wrote_at;
};

/* The session state the client set (see "session state" in session.c).
 * session_state.c; the schema also session.c (at a command's end) and
 * session_login.c (COM_CHANGE_USER). */
struct sess_vars {
    struct varstate *vs;       /* what the client set, as values; NULL until it sets some */
    uint32_t vs_gen;           /* bumped at each change of vs (struct bconn.vs_gen) */
    struct state_change *chg;  /* allocated at the first change, reused */
    bool chg_pending;          /* chg belongs to the command in flight */
    struct varstate_cmds sync; /* commands bringing cur up to vs ... */
    uint32_t sync_i;           /* ... the next one to send */
    char *schema;              /* current default schema (USE, COM_INIT_DB), for rules */
    bool role_pinned;          /* a SET ROLE the primary's connection ran while pinned,
                                * not in vs (state_reset keeps the pin) */
};

/* What the server would report of the session's previous statements,
 * which halyard keeps since they may have run on another connection:
 * LAST_INSERT_ID(), FOUND_ROWS(), ROW_COUNT(), the diagnostics area.
 * session_pool.c; ldiag session_diag.c. */
struct sess_values {
    uint64_t lid; /* LAST_INSERT_ID() as last read back (pool_mode = "transaction") */
    /* halyard set the session's LAST_INSERT_ID() itself (after a write on
     * several groups: session_pool_lid_set) this many times: a connection
     * whose lid_epoch differs gets `SET last_insert_id = lid` first */
    uint32_t lid_epoch;
    /* ... or it is not known after such a write: why; a statement naming
     * it is refused until a statement generates one (session.c) */
    char *lid_unknown;
    char *lid_lost; /* the connection holding its LAST_INSERT_ID() closed unread (heap) */
    /* Pooled: its LAST_INSERT_ID() is unread on the connection it gave
     * back under this lend serial (0: none), to backend lid_idx; read when
     * another session takes that connection, or before the session runs
     * a statement elsewhere (session_pool.c) */
    uint64_t lid_lent;
    uint32_t lid_idx;
    bool lid_wait;        /* its statement waits for another session reading it for it */
    bool lid_kept;        /* a reload's drop of the pool: it took that connection back (lid_keep) */
    uint64_t found_rows;  /* FOUND_ROWS() after the previous statement, as halyard saw it */
    int64_t row_count;    /* ROW_COUNT() after it */
    uint64_t prev_stamp;  /* the stamp its connection took for it (struct bconn.stamp) */
    uint64_t found_stamp; /* the stamp of the connection whose FOUND_ROWS() is the session's */
    /* The session's diagnostics area is this error (its ERR payload, as
     * the server sent it), which halyard can raise again with SIGNAL: the
     * connection goes back to the pool after it, and a statement reading
     * the diagnostics elsewhere gets it raised there first (session_pool.c).
     * NULL when the area is anything else. */
    uint8_t *diag_err;
    uint16_t diag_err_len;
    bool diag_err_new;       /* taken from the answer in flight */
    uint64_t diag_err_stamp; /* the stamp of the connection where the area is that error */
    /* diag_err is an error halyard answered a statement with itself: no
     * connection has it (both pool modes: session_pool_own_err). */
    bool diag_own;
    /* A cache hit replaced it (empty: the hit used a table, raised
     * nothing) since a statement on a backend last did: a statement
     * reading it clears the connection's first (session_pool.c). */
    bool diag_hit;
    uint32_t sync_signal;        /* vars.sync's command that raises it, + 1; 0 = none */
    struct session_ldiag *ldiag; /* its diagnostics, held by halyard (session_diag.c); heap */
};

/* Prepared statements (see "prepared statements" in session.c).
 * session_ps.c; meta_ps_id is read by session_colmeta.c. */
struct sess_prep {
    struct pstmt_map map; /* halyard statement id -> statement (pstmt.c) */
    struct pstmt *ps_new; /* the client's PREPARE in flight, registered at its OK */
    uint32_t ps_int_id;   /* statement of an internal prepare or reset */
    bool ps_once;         /* the internal prepare is of its one-off text (pstmt.calls) */
    bool ps_mark;         /* ... the text with its in-flight write mark (session_inflight.c) */
    int ps_step;          /* COM_STMT_RESET: next backend to reset, -1 = not started */
    uint8_t *ps_err;      /* ERR of a failed internal prepare, given to the EXECUTE */
    uint16_t ps_err_len;
    uint32_t meta_ps_id; /* the statement whose PREPARE or EXECUTE is in flight (CACHE_METADATA) */
    uint32_t skip_left;  /* bytes of a refused request still to drop */
    bool skip_cont;      /* ... and a continuation packet follows */
    /* the execution at up.scan, as ps_exec_take found it for the stages
     * after it in the same pass of the cycle (session_ps.c) */
    struct pstmt *x_st;          /* its statement */
    size_t x_need;               /* bytes of its head */
    bool x_head_ok;              /* its head was read into x_ex or x_bk */
    struct mysql_stmt_exec x_ex; /* an EXECUTE's head (pointers into `up`) */
    struct mysql_stmt_bulk x_bk; /* a BULK_EXECUTE's head */
};

/* A listener with shards = true: the session's groups, a statement on
 * every group, a transaction across groups. session_shard.c,
 * session_fanout.c, session_xa.c, session_begin.c. On the heap for a
 * session of such a listener (session_groups_make), NULL for the others:
 * the session's other files read it through session_groups() (never
 * NULL: an empty part stands for a missing one) and change it through
 * the owners' functions. */
struct sess_groups {
    struct shard_refusal *shard_ref; /* the last statement refused by group (shard.h); heap */
    struct shard_snap *shard_snap;   /* the learned map it uses (shard_learn.h); a reference */
    struct fanout *fanout;           /* a statement on every group (session_fanout.c); heap */
    struct session_xa *xa;           /* a transaction across groups (session_xa.c); heap */
    const char *xa_refuse;           /* the statement's refusal (static text), or NULL */
    uint8_t xa_cmd;                  /* what ROUTE_XA runs (XA_CMD_*, session_int.h) */
    bool xa_pipe_ok;                 /* the command routed may go with its XA START */
    bool xa_piped;                   /* the answer starts with XA START's (session_xa.c) */
    char begin_sql[64];              /* a BEGIN halyard answered, not run yet, or "" */
};

/* The parts a feature makes on demand, each NULL while its feature is off
 * for the session: one pointer a feature, each written by that feature's
 * file only (its row in docs/ARCHITECTURE.md). */
struct sess_feat {
    struct sess_groups *groups;     /* shards = true: groups, fan-out, XA (session_shard.c) */
    struct sess_replay *replay;     /* transaction_replay: the open transaction's record */
    struct sess_inflight *inflight; /* resolve_in_flight_writes: the marks */
    struct sess_limit *limit;       /* fair-share limits: the statement's place */
    struct sess_trace *trace;       /* tracing: the statement's span (session_trace.c) */
    struct sess_capture *capture;   /* a capture runs: what it has of the session */
};

/* KILL across sessions. session.c. */
struct sess_kill {
    struct registry_entry reg; /* the session in the registry (registry.h) */
    uint32_t kill_id;          /* our KILL in flight: the halyard id the client named */
    /* The session our KILL in flight holds (registry.h), 0 = none; and
     * whether this session kept connections for a KILL that held it. */
    uint32_t kill_hold;
    uint32_t kill_hold_idx; /* the target's backend it marked (registry_kill's *idx) */
    bool kill_kept;
    bool kill_conn; /* our KILL in flight is a KILL CONNECTION */
    /* The command at up.scan was taken (next_take) and has not left `up`
     * since (command_begin, consume_packet, command_abandon), and where it
     * was: taken again after a wait, at the same place, it is the same
     * statement, which a KILL QUERY may have reached. */
    bool cmd_taken;
    const void *cmd_buf;
    uint32_t cmd_scan;
    /* our KILL QUERY ID in flight on another backend: the id the client
     * named (its errors name it), 0 = none */
    uint64_t kill_qid;
    /* KILL QUERY ID's expression read (int_kill_qid) for the command
     * that runs again: qid_state 1 = a number in qid_value, 2 = none */
    uint8_t qid_state;
    uint64_t qid_value;
    /* The primary's thread whose query KILL QUERY ID names, read
     * (int_kill_qid again) for the command that runs again: qthread_state
     * 1 = being read, 2 = read (qthread, 0 = none lists that query id);
     * then, while the KILL is on its way, the session that thread serves
     * (qid_mark, 0 = none) and its backend, marked once the server
     * accepts the KILL (registry_mark_killed), as KILL QUERY <id> marks. */
    uint8_t qthread_state;
    uint32_t qthread;
    uint32_t qid_mark, qid_mark_idx;
    /* our KILL [QUERY] USER in flight (malloc'd), else NULL: once the
     * server accepts a KILL CONNECTION USER, halyard ends that account's
     * sessions too */
    struct kill_user *kill_user;
    /* KILL USER of another account: its threads on the primary that are
     * not halyard's connections, read (int_kill_user) for the command
     * that runs again: kuser_state 1 = kuser_threads read, 2 = not known */
    uint8_t kuser_state;
    uint64_t kuser_threads;
    bool kuser_process, kuser_may_kill; /* what else the read said */
    /* a role is enabled: SHOW GRANTS (int_kill_grant) says whether
     * one gives the kill privilege; kuser_grants once it was read */
    bool kuser_roles, kuser_grants;
    /* A multi-statement text with a KILL, run a part at a time
     * (session_kill_chain.c): the parts not sent yet (malloc'd, chain_len
     * bytes; NULL once the part in flight is the last), the sequence id
     * of the last packet of the text's answer the client has (0: none
     * yet, or no such text), whether a text is under way (chain_on), and
     * whether the part in flight ended saying more results follow. */
    char *chain;
    uint32_t chain_len;
    uint8_t chain_seq;
    bool chain_on, chain_go;
};

struct kill_user {
    char user[96];
    char host[64]; /* a host pattern; "" = any */
    bool any_host;
    bool query; /* KILL QUERY USER: the statements, not the sessions */
    /* Set when it goes out: that account's threads a server without
     * halyard would have, as far as known (other_known): its threads on
     * the primary that are not halyard's connections, and halyard's
     * sessions of it. */
    bool other_known;
    uint64_t others;
    bool process;  /* the reader sees other accounts' threads */
    bool may_kill; /* ... and may kill them (SUPER, CONNECTION ADMIN) */
};

#endif /* HALYARD_SESSION_PARTS_H */
