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
#include "halyard/session/session_parts.h"
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

/* What the command in flight changes in the session's state, kept from
 * session_route() to its end (see "session state" in session.c). */
struct state_change {
    bool schema;   /* USE / COM_INIT_DB: s->vars.schema once it succeeded */
    int option;    /* COM_SET_OPTION's option, else -1 */
    uint8_t *stmt; /* a statement kept as written (SET ROLE, SET TRANSACTION), or NULL */
    uint32_t stmt_len;
    uint32_t n_default; /* system variables set to DEFAULT */
    struct readback_var dflt[READBACK_MAX];
    struct readback rb; /* the variables whose values are read back */
    bool rb_sent;       /* the read-back went out behind the command */
    bool ok;            /* the command succeeded */
};

/* A client session: the core below, and its parts (session_parts.h), each
 * written by the file that owns it. */
struct session {
    struct session *next, *prev; /* the worker's list */
    struct worker *w;
    struct config *cfg; /* reference; a reload replaces it between statements */
    const struct config_listener *listener;
    uint32_t id; /* also the connection id the client sees */
    enum session_state state;
    enum session_end end;
    struct conn client;

    struct sess_who who;       /* who the client is, where from */
    struct sess_login *login;  /* the login in progress, else NULL */
    struct sess_io io;         /* the bytes moving, the timers */
    struct sess_conns conns;   /* backend connections, the pool lease */
    struct sess_route route;   /* where statements go */
    struct sess_query query;   /* the command in flight */
    struct sess_vars vars;     /* the session state the client set */
    struct sess_values values; /* LAST_INSERT_ID(), FOUND_ROWS(), the diagnostics area */
    struct sess_prep prep;     /* prepared statements */
    struct sess_kill kill;     /* KILL across sessions */
    struct sess_feat feat;     /* the parts a feature makes when it is on, else NULL */
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
/* ... before the worker's pool drops the old config's idle connections
 * (pool_drop_others): an idle session takes back the one that holds its
 * LAST_INSERT_ID() unread, which it carries to the new config as it
 * carries the connections it holds, rather than losing the value with it. */
void session_config_coming(struct session *s);
/* The KILL that kept an idle session's connections (s->kill.kill_kept) was
 * answered: it gives them back now. From the worker's wakeup. */
void session_kill_released(struct session *s);
/* A KILL QUERY reached the session (its worker's wakeup): a statement it
 * has read and that waits inside halyard (a limit's queue, a usable
 * primary, a pooled connection) leaves its wait and ends with 1317, as the
 * server ends a killed statement that waits, and the session goes on.
 * Nothing was sent for it; a wait with a server (a connect, a state
 * sync...) ends as it ends, and the statement is answered then. From the
 * worker's wakeup, not from inside a session handler. */
void session_kill_wait(struct session *s);
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
    hy_log_warn("session %u %s@%s: " fmt, (s)->id, (s)->who.user ? (s)->who.user : "-",            \
                (s)->who.peer, ##__VA_ARGS__)
#define slog_info(s, fmt, ...)                                                                     \
    hy_log_info("session %u %s@%s: " fmt, (s)->id, (s)->who.user ? (s)->who.user : "-",            \
                (s)->who.peer, ##__VA_ARGS__)
#define slog_debug(s, fmt, ...)                                                                    \
    hy_log_debug("session %u %s@%s: " fmt, (s)->id, (s)->who.user ? (s)->who.user : "-",           \
                 (s)->who.peer, ##__VA_ARGS__)

#endif /* HALYARD_SESSION_H */
