/*
 * server.h: one connection to a backend server (struct bconn): connect,
 * greeting, TLS, login, then a logged-in socket its owner runs commands on.
 *
 * The connection knows nothing of who owns it. It reports what happens to
 * it through ONE callback, `on_event`, with a struct server_report:
 *
 *   SERVER_READY     logged in; the owner may use it
 *   SERVER_FAILED    it could not be opened or logged into (why, and the
 *                    server's ERR when it refused)
 *   SERVER_READABLE  logged in, and its socket is readable: the owner reads
 *   SERVER_WRITABLE  logged in, and its socket is writable: the owner writes
 *
 * The owner may destroy the connection from inside the callback; server.c
 * touches nothing of it after calling back. Its state changes in one
 * function, which refuses impossible transitions loudly (see server.c).
 *
 * Until SERVER_READY the connection has its own timer (the whole of
 * connect, greeting, TLS and login) and its own buffer for the login's
 * packets, taken from the owner's pool and given back when the login ends.
 */
#ifndef HALYARD_SERVER_H
#define HALYARD_SERVER_H

#include <ev.h>

#include "halyard/core/buf.h"
#include "halyard/config/config.h"
#include "halyard/protocol/conn.h"
#include "halyard/protocol/connreg.h"
#include "halyard/core/core.h"
#include "halyard/protocol/mysql_client.h"
#include "halyard/pool/ps_cache.h"

enum bconn_state {
    BCONN_NONE = 0,   /* no connection */
    BCONN_CONNECTING, /* TCP connect in progress */
    BCONN_GREETING,   /* waiting for the server's handshake */
    BCONN_TLS,        /* SSLRequest sent; TLS handshake running (tls.h) */
    BCONN_AUTH,       /* login sent; waiting for OK / auth switch / ERR */
    BCONN_READY,      /* logged in */
};

const char *bconn_state_to_str(enum bconn_state st);

enum server_event {
    SERVER_READY,
    SERVER_FAILED,
    SERVER_READABLE,
    SERVER_WRITABLE,
};

struct server_report {
    enum server_event event;
    const char *why;    /* SERVER_FAILED: a text for logs and the client's ERR */
    const uint8_t *err; /* SERVER_FAILED: the ERR payload to pass on as it is, or NULL;
                         * valid during the callback only */
    size_t err_len;
    uint8_t err_buf[200]; /* where an ERR server.c makes itself is written */
    char why_buf[320];    /* where a `why` server.c formats is written */
};

struct bconn;
typedef void (*server_event_fn)(struct bconn *bc, const struct server_report *r);

struct bconn {
    struct conn c;
    enum bconn_state state;
    const struct config_backend *be;
    struct ev_loop *loop;
    struct buf_pool *pool;
    server_event_fn on_event;
    void *owner;                     /* the owner's, never read by server.c */
    ev_timer timer;                  /* connect + login; an address's share while connecting */
    ev_tstamp deadline;              /* end of the connect + login budget */
    struct resolve_target target;    /* the backend's addresses and the next to try */
    struct stream in;                /* the login's packets */
    struct mysql_client_creds creds; /* who logs in (the owner's pointers) */
    struct mysql_client login;       /* the login's state; login.thread_id: the server's id */
    bool counted; /* counted in its backend's open connections (max_connections) */
    /* Listed from its login to its close (connreg.h); its owner says which
     * session it serves (connreg_serve). */
    struct connreg_entry reg;

    /* The owner's bookkeeping; server.c never reads it. */
    uint16_t idx;        /* index of `be` in the owner's config */
    struct varstate *vs; /* the session state this connection has run (NULL = none) */
    uint32_t vs_gen;     /* the owner's state generation vs stands for */
    uint32_t gtid_epoch; /* the session's GTID (s->gtid_epoch) is known applied here */
    double born;         /* ev_now() when it was opened (pool_max_age_ms) */
    /* ev_now() when it logged in or was last reset (COM_RESET_CONNECTION),
     * taken before: its session defaults are the server's global variables
     * of then (the cache's cache_old_defaults, cache_dirty_default) */
    double defaults_at;
    /* pool.h: while idle in a pool */
    struct bconn *pool_next, *pool_prev; /* its bucket's idle list (opening: next only) */
    struct pool_bucket *bucket;
    double idle_since;
    uint64_t lend;       /* the serial of its last return to a pool */
    struct ps_cache psc; /* pooled: the statements it keeps prepared (ps_cache.h) */
    uint64_t lid;        /* its LAST_INSERT_ID(), as last read back (0 at login) */
    bool lid_dirty;      /* an answer may have changed it since */
    /* Idle in a pool with its LAST_INSERT_ID() unread: the session (void *:
     * session_pool.c's) whose value it is, read by whoever takes it next. */
    void *lid_owner;
    uint32_t lid_epoch; /* the owner's lid_epoch it was last brought to (session.h) */
    bool diag_dirty;    /* its last answer left warnings or was an error */
    bool xa;            /* an XA transaction began here and has not ended */
    bool xa_ended;      /* and it is IDLE or PREPARED (XA END, XA PREPARE answered) */
    bool parked;        /* an XA branch of a group the session left (session_xa.c): not in
                         * the owner's slots, idx and be are its group's */
    bool found_rows;    /* its last statement used SQL_CALC_FOUND_ROWS, a cursor or bulk */
    bool moved;         /* its last statement may have moved insert_id or rand_seed1/2
                         * (session_state.c: moved_readback) */
    bool srv_trans;     /* its last answer said a transaction is open (SERVER_STATUS_IN_TRANS) */
    bool foreign;       /* taken from the pool after another session: brought all the way */
    bool db_moved;      /* halyard moved its schema (INT_PS_USE): brought back as `foreign` is */
    bool track_on;      /* halyard set session_track_state_change = ON there (session_state.c) */
    bool trx_track_on;  /* ... and session_track_transaction_info = STATE */
    bool gtid_track_on; /* ... and last_gtid in session_track_system_variables (a capture) */
    uint8_t db_check;   /* its last statement dropped a database: is its schema still there?
                         * 1 + the times asking failed (session_state.c: db_check) */
    uint64_t stamp;     /* a worker-unique mark of the last client statement it ran */
    /* The worker's pool serial (pool.h) when it logged in or was last
     * reset (COM_RESET_CONNECTION): its session defaults are the server's
     * global variables of then. A session that began later has it reset
     * before it runs anything there (session_state.c). */
    uint64_t epoch;
    /* The first column of the first row of the answer to an internal
     * command of its session (INTERNAL_CAPTURE, session_int.h) on it: here,
     * not in the session, as only a connection's answer has one. */
    char capture[256];
    bool captured;
};

/* A connection to `be`, not opened yet; NULL when out of memory. */
struct bconn *server_create(const struct config_backend *be, struct ev_loop *loop,
                            struct buf_pool *pool, server_event_fn on_event, void *owner);
/* Open it and log in as `cr` (copied; the pointers in it must stay valid
 * until SERVER_READY, SERVER_FAILED or server_destroy), all of it within
 * `timeout_ms`. False when it failed at once: *r says why, and no event
 * is reported. */
bool server_connect(struct bconn *bc, const struct mysql_client_creds *cr, int timeout_ms,
                    struct server_report *r) HY_MUSTCHECK;
/* Close the socket, give back its count and buffers, free it. */
void server_destroy(struct bconn *bc);

#endif /* HALYARD_SERVER_H */
