/*
 * session.h: one client session and the backend connection it uses.
 *
 * A session is born when a worker accepts a client and lives on that worker
 * until it closes. Its state (enum session_state) changes in ONE function,
 * session_set_state(), which refuses impossible transitions. Its backend
 * connections (struct bconn, server.h) have their own state machine and
 * report to the session through session.c's session_server_event().
 *
 * Bytes flow through two streams (buf.h): `up` (client -> backend) and
 * `down` (backend -> client). Only packet headers and the first bytes of the
 * packets that decide something are parsed (mysql_resp_feed); everything
 * else is forwarded from the buffer it was read into.
 *
 * Event handlers never free the session: they mark it closing and
 * session_close() runs once the handler unwinds (see session_reap()).
 */
#ifndef HALYARD_SESSION_H
#define HALYARD_SESSION_H

#include <ev.h>
#include <stdatomic.h>

#include "halyard/core/buf.h"
#include "halyard/sql/classify.h"
#include "halyard/config/config.h"
#include "halyard/protocol/conn.h"
#include "halyard/core/core.h"
#include "halyard/protocol/accounts.h"
#include "halyard/core/log.h"
#include "halyard/pool/server.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/sql/pstmt.h"
#include "halyard/sql/readback.h"
#include "halyard/session/registry.h"
#include "halyard/protocol/relay.h"
#include "halyard/config/rules.h"
#include "halyard/sql/varstate.h"

enum session_state {
    SS_PROXY_HEADER,  /* from a load balancer: waiting for its PROXY protocol header */
    SS_HANDSHAKE,     /* greeting sent; waiting for the login packet */
    SS_AUTH_SWITCH,   /* more login data asked for (auth_step says what); waiting for it */
    SS_LOGIN_BACKEND, /* authenticated; opening the backend to check the schema */
    SS_IDLE,          /* waiting for a command */
    SS_WAIT_BACKEND,  /* a command waits for its backend connection */
    SS_COMMAND,       /* a command is in flight: request and/or answer moving */
    SS_CLOSING,       /* marked; closed when the current handler returns */
    SS__COUNT
};

const char *session_state_to_str(enum session_state st);

/* Why a session ended: logged (session_end_to_str). What the client is told
 * comes from the one table of session_err.h. */
enum session_end {
    END_NONE = 0,
    END_CLIENT_QUIT,      /* COM_QUIT */
    END_CLIENT_CLOSED,    /* the client hung up */
    END_CLIENT_ERROR,     /* socket error on the client side */
    END_BAD_HANDSHAKE,    /* malformed login packet */
    END_TLS_FAILED,       /* the client's TLS handshake failed */
    END_AUTH_FAILED,      /* wrong user or password */
    END_LOGIN_TIMEOUT,    /* the client did not finish its login in time */
    END_PROTOCOL,         /* malformed or out-of-order packet from the client */
    END_BACKEND_LOST,     /* the backend connection broke */
    END_BACKEND_LOGIN,    /* the backend refused the login (its ERR is forwarded) */
    END_BACKEND_PROTOCOL, /* the backend broke the protocol */
    END_KILLED,           /* KILL from another session */
    END_SHUTDOWN,         /* halyard is stopping */
    END_TOO_MANY,         /* max_client_connections reached */
    END_USER_LIMIT,       /* the user's max_connections reached */
    END_BLOCKED,          /* the client's address is blocked (guard.h) */
    END_IDLE_TIMEOUT,     /* client_idle_timeout_ms passed without a command */
    END_PACKET_TOO_LARGE, /* a request over max_packet_size */
    END_PROXY_HEADER,     /* no valid PROXY protocol header from a proxy_protocol_from peer */
    END_GROUP_REMOVED,    /* a reload removed the session's group (group.h) */
    END_NOMEM,
};

const char *session_end_to_str(enum session_end why);

/* Commands halyard runs on a backend for itself. */
enum internal_op {
    INT_NONE = 0,
    INT_SYNC,       /* bringing a connection up to the session's state */
    INT_READBACK,   /* reading back the values a SET assigned */
    INT_GTID_FETCH, /* SELECT @@last_gtid on the primary */
    INT_GTID_WAIT,  /* SELECT MASTER_GTID_WAIT(...) on a replica */
    INT_GPOS_FETCH, /* consistency = global: the primary's position (global_pos.h) */
    INT_GPOS_WAIT,  /* ... waited for on a replica */
    INT_PS_USE,     /* COM_INIT_DB to a statement's schema before INT_PS_PREPARE */
    INT_PS_ENV,     /* SET of its PREPARE's sql_mode and character set, the same */
    INT_PS_PREPARE, /* preparing a statement where an EXECUTE lands */
    INT_PS_RESET,   /* COM_STMT_RESET on a backend other than the one answering */
    INT_LID,        /* SELECT LAST_INSERT_ID() before the connection goes to the pool */
    INT_DB_CHECK,   /* SELECT DATABASE() IS NULL after a DROP DATABASE (session_state.c) */
    INT_XA,         /* a step of a transaction across groups (session_xa.c) */
    INT_BEGIN,      /* a BEGIN halyard answered, before the first statement (session_begin.c) */
    INT_PRECOMMIT,  /* the implicit COMMIT of a BEGIN inside a transaction (session_begin.c) */
    INT_XREAD,      /* a group's part of a scatter read in an XA transaction (session_fanout.c) */
    INT_SYSVIEW,    /* the columns of a server's process list (session_sysview.c) */
};

/* What the client's next packet during login answers (SS_AUTH_SWITCH). */
enum auth_step {
    AUTH_STEP_NATIVE = 0, /* our AuthSwitchRequest to mysql_native_password */
    AUTH_STEP_SHA2_FULL,  /* caching_sha2_password "perform full authentication" */
    AUTH_STEP_OLD,        /* our request to switch to mysql_old_password (auth.h) */
};

/* What the command in flight changes in the session's state, kept from
 * route() to its end (see "session state" in session.c). */
struct state_change {
    bool schema;   /* USE / COM_INIT_DB: s->schema once it succeeded */
    int option;    /* COM_SET_OPTION's option, else -1 */
    uint8_t *stmt; /* a statement kept as written (SET ROLE, SET TRANSACTION), or NULL */
    uint32_t stmt_len;
    uint32_t n_default; /* system variables set to DEFAULT */
    struct readback_var dflt[READBACK_MAX];
    struct readback rb; /* the variables whose values are read back */
    bool rb_sent;       /* the read-back went out behind the command */
    bool ok;            /* the command succeeded */
};

/* The error of a refused login (login_finish). */
enum login_deny {
    DENY_ACCESS = 0, /* 1045 access denied (using password: YES/NO) */
    DENY_NO_MENTION, /* 1698 access denied: the account's method is unix_socket */
    DENY_LOCKED,     /* 4151 ACCOUNT LOCK */
    DENY_EXPIRED,    /* 1862 PASSWORD EXPIRE, and the server disconnects such clients */
    DENY_PLUGIN,     /* 1524 a method halyard cannot check (pend_acct->plugin) */
    DENY_SECURE_AUTH, /* 1275 mysql_old_password while the server's secure_auth is ON */
};

struct session {
    struct session *next, *prev; /* the worker's list */
    struct worker *w;
    struct config *cfg;            /* reference; a reload replaces it between statements */
    struct config *lcfg;           /* reference to the config `listener` belongs to */
    struct listener_stats *lstats; /* its listener's counters (stats.h); NULL if out of memory */
    const struct config_listener *listener;
    uint32_t id; /* also the connection id the client sees */
    enum session_state state;
    enum session_end end;

    struct conn client;
    struct bconn **bc; /* one slot per configured backend, NULL until used */
    struct bconn *cur; /* the connection the command in flight uses (or waits for) */
    uint16_t n_bc;
    uint64_t *lent; /* per backend: the serial its connection went to the pool under, 0 = none */
    uint64_t lid;   /* LAST_INSERT_ID() as last read back (pool_mode = "transaction") */
    bool cmd_lid;   /* the command in flight reads or sets LAST_INSERT_ID() */
    /* halyard set the session's LAST_INSERT_ID() itself (after a write on
     * several groups: session_pool_lid_set) this many times: a connection
     * whose lid_epoch differs gets `SET last_insert_id = lid` first */
    uint32_t lid_epoch;
    /* ... or it is not known after such a write: why; a statement naming
     * it is refused until a statement generates one (session.c) */
    char *lid_unknown;
    int8_t cmd_xa;        /* it begins (1) or ends (-1) an XA transaction */
    bool cmd_calc_found;  /* it uses SQL_CALC_FOUND_ROWS */
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
    uint32_t sync_signal; /* s->sync's command that raises it, + 1; 0 = none */
    /* waiting for a connection to a backend at its max_connections */
    ev_timer pool_wait;
    double pool_wait_until;            /* ev_now() when the wait ends in 1040 */
    uint16_t pool_wait_idx;            /* the backend */
    bool pool_waiting;                 /* in the worker's queue */
    bool pool_wait_over;               /* the wait ended: the next attempt fails */
    struct session *pw_next, *pw_prev; /* the worker's queue */
    uint16_t primary;    /* index of the primary in cfg->backends (follows the monitor) */
    uint64_t topo_gen;   /* backend_generation() when `primary` was last looked up */
    int wait_idx;        /* backend a waiting command was routed to, else -1 */
    uint16_t status;     /* server status flags of the primary's last answer */
    unsigned lex_opts;   /* CLO_* for classify(): session_lex_follow() */
    int tracked_lex;     /* CLO_* of a sql_mode the answer in flight tracked, else -1 */
    bool pinned;         /* session state only the primary has: everything goes there */
    const char *pin_why; /* why it is pinned (a static text) */
    struct shard_refusal *shard_ref; /* the last statement refused by group (shard.h); heap */
    struct shard_snap *shard_snap;   /* the learned map it uses (shard_learn.h); a reference */
    struct fanout *fanout;           /* a statement on every group (session_fanout.c); heap */
    struct session_ldiag *ldiag;     /* its diagnostics, held by halyard (session_diag.c); heap */
    struct session_xa *xa;           /* a transaction across groups (session_xa.c); heap */
    const char *xa_refuse;           /* the statement's refusal (static text), or NULL */
    uint8_t xa_cmd;                  /* what ROUTE_XA runs (XA_CMD_*, session_int.h) */
    bool xa_pipe_ok;                 /* the command routed may go with its XA START */
    bool xa_piped;                   /* the answer starts with XA START's (session_xa.c) */
    char begin_sql[64];              /* a BEGIN halyard answered, not run yet, or "" */
    bool uvars_opaque;               /* a CALL, EXECUTE or stored function ran: statements that
                                      * mention a user variable go to the primary */
    enum internal_op internal; /* a command halyard runs itself on cur, answer not forwarded */

    /* read/write split (see "routing" in session.c) */
    enum consistency consistency;
    uint16_t last_idx;    /* backend of the previous statement (FOUND_ROWS()...) */
    uint16_t diag_idx;    /* backend holding the session's diagnostics area (SHOW WARNINGS):
                           * where the last statement that raised a warning or an error, or
                           * used a table, ran (session_diag_follow) */
    bool cmd_clears_diag; /* the command in flight clears the diagnostics area */
    bool cmd_diag;        /* it reads the diagnostics area (SHOW WARNINGS ...) */
    bool cmd_writes;      /* the command in flight may write on the primary */
    bool need_gtid;       /* written since @@last_gtid was last read */
    bool causal_check;    /* the waiting read must find the session's GTID on its replica */
    uint32_t gtid_epoch;  /* bumped each time gtid is read */
    char gtid[128];       /* primary's GTID position after the session's last write */
    double last_write;    /* ev_now() of the last write, for consistency = strong */
    int ro_idx;           /* START TRANSACTION READ ONLY running on this replica, else -1 */

    /* consistency = global (cluster/global_pos.h): the read being routed */
    bool causal_read;      /* waits for the session's own writes (causal) */
    bool global_read;      /* waits for its group's position (global) */
    uint64_t global_need;  /* the group's commits it must see; 0 = not taken yet */
    uint64_t global_at;    /* global_gtid holds the commits up to this; 0 = none */
    char global_gtid[128]; /* the position it waits for (GLOBAL_POS_MAX) */

    /* health (backend.h): the statement in flight counts on q_rt; an
     * autocommit read on a replica keeps its packet to run it once more
     * elsewhere if the replica dies before answering */
    struct backend_rt *q_rt;
    bool down_sent;     /* some of the answer went to the client */
    bool route_sticky;  /* route() sent the statement where the previous one ran */
    bool retry_ok;      /* the command in flight may be retried (retry_pkt holds it) */
    bool retried;       /* ... and it is the retry */
    int retry_exclude;  /* the backend the retry must avoid, else -1 */
    bool fell_back;     /* the command in flight left a failed replica once already */
    uint8_t *retry_pkt; /* header + payload of that command */
    uint32_t retry_len, retry_cap;
    /* Rare, so on the heap while they last (an idle session is small): */
    char *trx_lost; /* a transaction died with this backend: the next statement says so */
    char *
        lid_lost; /* the connection holding its LAST_INSERT_ID() closed unread (session_lid_lost) */
    char *broken_msg;  /* answer_broken(): the ERR the client gets once the rest is out */
    bool cmd_ro_begin; /* the command in flight starts such a transaction */

    /* prepared statements (see "prepared statements" in session.c) */
    struct pstmt_map ps;  /* halyard statement id -> statement (pstmt.c) */
    struct pstmt *ps_new; /* the client's PREPARE in flight, registered at its OK */
    uint32_t ps_int_id;   /* statement of an internal prepare or reset */
    bool ps_once;         /* the internal prepare is of its one-off text (pstmt.calls) */
    int ps_step;          /* COM_STMT_RESET: next backend to reset, -1 = not started */
    uint8_t *ps_err;      /* ERR of a failed internal prepare, given to the EXECUTE */
    uint16_t ps_err_len;
    uint32_t meta_ps_id; /* the statement whose PREPARE or EXECUTE is in flight (CACHE_METADATA) */
    bool meta_flush;     /* a column count waits for what is before it to go out */
    uint32_t skip_left;  /* bytes of a refused request still to drop */
    bool skip_cont;      /* ... and a continuation packet follows */

    /* query rules and digests */
    struct rules_addr client_addr; /* for rules' `client` CIDR */
    char *schema;                  /* current default schema (USE, COM_INIT_DB), for rules */
    char *pend_schema;             /* the schema the command in flight selects, if it succeeds */
    uint64_t digest_hash;          /* digest of the statement in flight ... */
    bool digest_pending;           /* ... to record when it ends */
    const struct config_rule *block_rule; /* the rule that blocked the statement */
    char *qlog_text;                      /* query log: the statement in flight (audit.h) */
    size_t qlog_len;
    uint64_t qlog_digest;
    bool qlog_pending;

    /* session state (see "session state" in session.c) */
    struct varstate *vs;       /* what the client set, as values; NULL until it sets some */
    uint32_t vs_gen;           /* bumped at each change of vs (struct bconn.vs_gen) */
    struct state_change *chg;  /* allocated at the first change, reused */
    bool chg_pending;          /* chg belongs to the command in flight */
    struct varstate_cmds sync; /* commands bringing cur up to vs ... */
    uint32_t sync_i;           /* ... the next one to send */
    ev_timer timer;            /* login timeout, then backend connect timeout */
    /* `timer` runs for backend_read_timeout_ms, lazily: started when a
     * command begins and it is not running already, never stopped when the
     * command ends; it looks at down_last when it fires (answer_timeout),
     * and does nothing outside a command. */
    bool timer_lazy;
    ev_timer idle;      /* client_idle_timeout_ms */
    double last_active; /* ev_now() of the client's last bytes or command end */
    uint64_t req_bytes; /* of the logical packet being forwarded (max_packet_size) */
    /* A write waiting for a usable primary (session.c, "waiting for a primary"). */
    ev_timer primary_wait;
    double primary_wait_until; /* ev_now() past which it fails; 0 = not waiting yet */
    uint64_t
        primary_fail_gen; /* backend_generation() when connecting to it failed, or UINT64_MAX */

    struct stream up;   /* client -> backend */
    struct stream down; /* backend -> client */

    /* up direction: the request being forwarded */
    uint32_t up_left; /* payload bytes of the current packet still to pass */
    bool up_cont;     /* the current packet is full length: another follows */
    bool req_open;    /* the request's packets are still coming */
    bool infile;      /* forwarding LOAD DATA LOCAL file packets */
    uint8_t last_seq; /* sequence id of the client's last packet */

    /* down direction: the answer being forwarded */
    struct mysql_resp resp;
    struct relay_down rdown; /* its framing (relay.h); rdown.seq: of the last packet seen */
    bool resp_done;          /* the whole answer has been parsed */
    bool resp_broken;        /* the backend broke the protocol: ERR once the rest is out */
    double down_last;        /* ev_now() when the backend last sent (backend_read_timeout_ms) */
    uint8_t cmd;             /* the command in flight */
    double cmd_started;      /* ev_now() when it started (show sessions) */
    char stmt[80];           /* the statement's first bytes (show sessions) */
    uint8_t stmt_len;
    uint32_t kill_id; /* our KILL in flight: the halyard id the client named */
    /* The session our KILL in flight holds (registry.h), 0 = none; and
     * whether this session kept connections for a KILL that held it. */
    uint32_t kill_hold;
    bool kill_kept;
    bool kill_conn; /* our KILL in flight is a KILL CONNECTION */
    int set_option; /* COM_SET_OPTION in flight: its option, else -1 */
    /* CONNECTION_ID() calls in the routed statement's text (classify.h):
     * it goes out with the session's id in their place. Allocated at the
     * first such statement (150 bytes an idle session does without);
     * connid->n is 0 for a statement without them. */
    struct classify_connid *connid;

    /* login */
    uint8_t scramble[MYSQL_SCRAMBLE_LEN];
    uint8_t h1[MYSQL_SHA1_LEN]; /* SHA1(password): lets us log into backends */
    uint8_t h2[MYSQL_SHA1_LEN];
    bool no_password;
    /* an account read from the servers with mysql_old_password: its stored
     * hash answers the backends' requests for it (auth.h) */
    bool old_pw;
    uint32_t old_hash[2];
    uint32_t caps;     /* negotiated with the client */
    uint32_t ext_caps; /* MariaDB's extended ones, negotiated with the client */
    uint8_t charset;
    bool changing_user; /* the AuthSwitch belongs to a COM_CHANGE_USER */
    enum auth_step auth_step;
    bool pubkey_sent; /* caching_sha2_password: the RSA public key went out */
    /* A login decided but not answered yet: guard.h may hold it back. */
    bool login_delayed; /* the answer waits on `timer` */
    bool pend_ok;
    bool pend_used_pw;
    bool pend_has_h1;
    uint8_t pend_seq;
    uint8_t pend_h1[MYSQL_SHA1_LEN];
    const struct config_user *pend_u; /* in cfg; NULL for an unknown user */
    const char *deny_why;             /* why pend_ok is false, for the audit line */
    const struct config_user *cu;     /* the logged-in user, in cfg or acct_cur */
    /* users_source (users.h): a login as one of the servers' accounts.
     * pend_u and cu point at these then; their names are the session's. */
    struct config_user *acct_pend, *acct_cur; /* heap, NULL until such a login */
    struct account *pend_acct;                /* the login's account as the server has it; heap */
    enum login_deny deny;                     /* the error a refused login gets */
    bool expired_ok;                          /* the client handles expired passwords */
    bool pend_disconnect_expired;             /* the server refuses it an expired password */
    bool users_wait;       /* the login waits on `timer` for a read of the accounts */
    bool users_waited;     /* ... and had it: it is decided now */
    uint64_t users_ticket; /* users_loads_done() must pass this */
    double users_deadline; /* ev_now() when the wait ends anyway */
    uint8_t wait_auth[MYSQL_SCRAMBLE_LEN]; /* the client's token, kept for the wait */
    uint8_t wait_auth_len, wait_seq;
    uint64_t fw_hash;  /* the digest the firewall refused */
    bool user_counted; /* counted in guard's sessions of `user` */
    char *user;
    char *db; /* schema requested at login or by COM_CHANGE_USER */
    uint8_t *attrs;
    size_t attrs_len;
    /* COM_CHANGE_USER waiting for its auth switch answer */
    char *pend_user;
    char *pend_db;
    uint8_t *pend_attrs;
    size_t pend_attrs_len;
    uint16_t pend_charset;

    char peer[64]; /* "host:port" of the client (as a PROXY protocol header names it) */
    char *via;     /* "host:port" of the load balancer it came through; NULL = direct */

    struct registry_entry reg; /* KILL across sessions (registry.h) */

    /* Issue 33, what a pooled connection carries from before the session
     * (session_pool.c, session_state.c): */
    /* The worker's serial (pool.h) when the session began: accepted,
     * COM_RESET_CONNECTION, COM_CHANGE_USER. A pooled connection logged
     * in or reset before that (struct bconn.epoch) has the server's
     * global variables of then as its session defaults, not those a new
     * session gets: it is reset before it serves the session. */
    uint64_t epoch;
    /* The statement in flight reads the server's process list or status
     * variables, answered in the client's terms (session_sysview.c);
     * heap, allocated at the first such statement. */
    struct session_sysview *sysview;
};

/* What `show sessions` says of one session (session_describe). */
#define SESSION_STATEMENT_MAX 80
struct session_row {
    uint32_t id;
    char user[96];    /* "" = not logged in yet */
    char client[64];  /* host:port */
    char via[64];     /* the load balancer's host:port (PROXY protocol); "" = direct */
    char schema[256]; /* the current default schema (login, USE, COM_INIT_DB); "" = none */
    char backend[64]; /* the backend its commands run on now; "" = none */
    uint32_t thread;  /* that backend's thread id for it (PROCESSLIST's ID); 0 = none */
    const char *state;
    const char *command;    /* NULL when no command is in flight */
    int64_t command_age_ms; /* -1 = not known */
    uint32_t statements;    /* prepared statements it holds */
    /* pool_mode = "transaction": the backend connections it keeps between
     * statements and why ("db1: transaction"); "" = none */
    char holds[96];
    /* The statement in flight, its first SESSION_STATEMENT_MAX bytes; one
     * that may hold a password is shown as its digest (literals as ?). */
    char statement[SESSION_STATEMENT_MAX + 1];
};

/* From the session's worker only (admin's worker_call). */
void session_describe(const struct session *s, struct session_row *row);

/* Accept: takes ownership of fd. Sends the greeting. */
void session_create(struct worker *w, int fd, const struct config_listener *listener);
/* Close at once (from the worker, not from inside a session handler). */
void session_close(struct session *s, enum session_end why);
/* The worker has a new config (w->session_cfg): an idle session moves to
 * it now if it safely can, others at a later statement. From the worker,
 * not from inside a session handler. */
void session_config_changed(struct session *s);
/* The KILL that kept an idle session's connections (s->kill_kept) was
 * answered: it gives them back now. From the worker's wakeup. */
void session_kill_released(struct session *s);
/* KILL QUERY of a session whose statement runs on every group: each
 * group's connection still running its part gets KILL QUERY from a new
 * connection as the session's user; the statement then ends with the
 * server's 1317, as on one server (session_fanout.c). */
void session_fanout_kill(struct session *s);
/* A statement on every group is running (its answer not sent yet). */
bool session_fanout_busy(const struct session *s);
/* Graceful stop: close if idle, else at the end of the command in flight. */
void session_shutdown(struct session *s);
/* The worker thread ends: free what its sessions kept per thread. */
void session_thread_exit(void);

#define slog_warn(s, fmt, ...)                                                                     \
    hy_log_warn("session %u %s@%s: " fmt, (s)->id, (s)->user ? (s)->user : "-", (s)->peer,         \
                ##__VA_ARGS__)
#define slog_info(s, fmt, ...)                                                                     \
    hy_log_info("session %u %s@%s: " fmt, (s)->id, (s)->user ? (s)->user : "-", (s)->peer,         \
                ##__VA_ARGS__)
#define slog_debug(s, fmt, ...)                                                                    \
    hy_log_debug("session %u %s@%s: " fmt, (s)->id, (s)->user ? (s)->user : "-", (s)->peer,        \
                 ##__VA_ARGS__)

#endif /* HALYARD_SESSION_H */
