/*
 * session_int.h: what the .c files of src/session/ that run a session
 * share: the services (session_services.h: state, timers, replies), the
 * command cycle's primitives (session.c), backend connections (session_backend.c), routing
 * (session_route.c), the hook table (session_hooks.c) and the
 * statement's route codes.
 *
 * Each feature's functions are in a header of its own, included by the
 * files that use that feature: session_replay.h, session_inflight.h,
 * session_pool.h, session_state.h, session_colmeta.h, session_ps.h,
 * session_login.h, session_kill.h, session_reload.h, session_shard.h,
 * session_sysview.h, session_diag.h, session_cache.h, session_xa.h,
 * session_fanout.h, session_begin.h, session_track.h and session_limits.h. worker.c and
 * registry.c use none of them; other modules use
 * halyard/session/session.h only. The parts of struct session, and the
 * files that write each, are in halyard/session/session_parts.h.
 */
#ifndef HALYARD_SESSION_INT_H
#define HALYARD_SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/sql/classify.h"
#include "halyard/cluster/pool_stats.h"
#include "halyard/protocol/mysql_errors.h"
#include "halyard/route/router.h"
#include "halyard/session/session.h"
#include "session_services.h"

/* The most a session's state (and a connection's) may take as values. */
#define STATE_MAX_BYTES (64u * 1024u)

#define NATIVE_PLUGIN "mysql_native_password"
#define SHA2_PLUGIN   "caching_sha2_password"

/* caching_sha2_password's "more data" packets */
#define SHA2_MORE_DATA      0x01
#define SHA2_REQUEST_PUBKEY 0x02
#define SHA2_FAST_AUTH_OK   0x03
#define SHA2_PERFORM_FULL   0x04

/* What halyard offers clients, plus CLIENT_SSL when tls_cert is set.
 * CLIENT_COMPRESS is the client side's alone (compress.h): backends never
 * get it (mysql_client.c). The greeting clears CLIENT_MYSQL (bit 0), as a
 * MariaDB server does, and offers SERVER_EXT_CAPS. */
#define SERVER_CAPS                                                                                \
    (CLIENT_LONG_PASSWORD | CLIENT_FOUND_ROWS | CLIENT_LONG_FLAG | CLIENT_CONNECT_WITH_DB |        \
     CLIENT_NO_SCHEMA | CLIENT_COMPRESS | CLIENT_ODBC | CLIENT_LOCAL_FILES | CLIENT_IGNORE_SPACE | \
     CLIENT_PROTOCOL_41 | CLIENT_INTERACTIVE | CLIENT_IGNORE_SIGPIPE | CLIENT_TRANSACTIONS |       \
     CLIENT_SECURE_CONNECTION | CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS |                   \
     CLIENT_PS_MULTI_RESULTS | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_ATTRS |                         \
     CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | CLIENT_SESSION_TRACK | CLIENT_DEPRECATE_EOF)

/* MariaDB's extended capabilities halyard offers, and asks every backend
 * for when the client took them (session.c):
 *  - EXTENDED_METADATA changes the layout of column definitions: a backend
 *    must have it (SERVER_EXT_CAPS_NEEDED), or the client could not read
 *    its answers.
 *  - PROGRESS: progress reports (0xff, code 0xffff) mid-answer, passed on
 *    (mysql_resp_feed). A backend without it just sends none.
 *  - STMT_BULK_OPERATIONS: COM_STMT_BULK_EXECUTE runs on the primary
 *    (session_ps.c); a backend connection without it refuses it as MariaDB
 *    refuses a client without it (1295). It changes no other answer.
 *  - CACHE_METADATA is halyard's own, never asked of a backend: a backend
 *    would leave out the definitions it last sent for the statement on its
 *    own connection (its PREPARE's answer included, which halyard reads and
 *    drops when it prepares lazily), while the client holds what it last
 *    got from any backend. halyard reads whole definitions and leaves out
 *    those it last sent the client itself (session_colmeta.c, colmeta.h).
 * Not offered: COM_MULTI (obsolete, gone from MariaDB). */
#define SERVER_EXT_CAPS                                                                            \
    (MARIADB_CLIENT_EXTENDED_METADATA | MARIADB_CLIENT_PROGRESS |                                  \
     MARIADB_CLIENT_STMT_BULK_OPERATIONS | MARIADB_CLIENT_CACHE_METADATA)
/* What of the client's extended capabilities the backends are asked for:
 * CACHE_METADATA is halyard's own (session_colmeta.c). */
#define BACKEND_EXT_CAPS(s)    ((s)->who.ext_caps & ~MARIADB_CLIENT_CACHE_METADATA)
#define SERVER_EXT_CAPS_NEEDED MARIADB_CLIENT_EXTENDED_METADATA

/* Capabilities that change how packets are framed or laid out: a backend
 * must agree with the client on all of them, since halyard forwards bytes. */
#define FRAMING_CAPS                                                                               \
    (CLIENT_PROTOCOL_41 | CLIENT_DEPRECATE_EOF | CLIENT_SESSION_TRACK | CLIENT_MULTI_RESULTS |     \
     CLIENT_PS_MULTI_RESULTS | CLIENT_MULTI_STATEMENTS | CLIENT_LOCAL_FILES | CLIENT_FOUND_ROWS)

/* Where a statement goes, besides a backend index (route_read() and the
 * command loop). */
#define ROUTE_REFUSE   UINT32_MAX       /* no backend may run it (replica_fallback = error) */
#define ROUTE_BLOCK    (UINT32_MAX - 1) /* a query rule blocks it: query.block_rule says how */
#define ROUTE_NOBODY   (UINT32_MAX - 2) /* no usable backend: route_health() says why */
#define ROUTE_FIREWALL (UINT32_MAX - 3) /* the user's firewall refuses it */
#define ROUTE_RO_WRITE (UINT32_MAX - 4) /* a write in a READ ONLY transaction: 1792 */
#define ROUTE_SHARD    (UINT32_MAX - 5) /* refused by group (shard.h): groups->shard_ref says why */
#define ROUTE_XA       (UINT32_MAX - 6) /* session_xa_run(): groups->xa_cmd, or ->xa_refuse */
#define ROUTE_FANOUT   (UINT32_MAX - 7) /* on every group, merged: groups->fanout */
#define ROUTE_DIAG     (UINT32_MAX - 8) /* answered from values.ldiag (session_diag.c) */
#define ROUTE_CACHE    (UINT32_MAX - 9) /* answered from the query cache (session_cache.c) */
#define ROUTE_ANSWERED (UINT32_MAX - 10) /* answered, taken from the stream: a KILL not mapped */

/* ---- session.c: the command cycle, routing, backend connections */
void answer_expect(struct session *s, uint8_t cmd, uint8_t exec_flags);
void bconn_close(struct bconn *bc);
void bconn_close_all(struct session *s);
void bconn_open(struct session *s, uint32_t idx);
bool session_may_commit(const struct classify_result *r, const uint8_t *p, uint32_t avail);
void session_route_begin(struct session *s, uint8_t cmd, bool fits);
bool session_route_due(struct session *s, uint32_t *idx);
void session_route_wait_at(struct session *s, int idx);
void session_route_uncausal(struct session *s);
void session_route_ro_end(struct session *s);
void session_route_uvars_opaque(struct session *s);
/* Galera, after the writer moved (session_route.c) */
bool session_writer_sync(struct session *s);
void session_writer_sync_late(struct session *s);
void session_writer_refusal(struct session *s, char *why, size_t cap);
/* consistency = global (session_route.c): a statement that may have
 * committed a write ended on the primary. */
void session_global_commit(struct session *s);
/* ... a statement on every group wrote (session_fanout.c); the session
 * moved to another group, where its GTID position is not known
 * (session_shard.c). */
void route_fanout_wrote(struct session *s);
void route_group_changed(struct session *s);
/* The position reads and waits (session_route.c): causal's on the
 * primary, on a replica, on a new Galera writer; global's the same. */
extern const struct internal_cmd int_gtid_fetch, int_gtid_wait, int_gtid_sync;
extern const struct internal_cmd int_gpos_fetch, int_gpos_wait, int_gpos_sync;
void command_abandon(struct session *s);
void command_begin(struct session *s, uint8_t cmd, uint8_t exec_flags);
void command_forward(struct session *s, uint8_t cmd, uint32_t len, uint8_t exec_flags);
void consume_packet(struct session *s, uint32_t len);
/* session_route.c: a COM_QUERY or COM_STMT_PREPARE whose text halyard
 * changes (CONNECTION_ID(), the process list...) goes out changed. */
void command_forward_connid(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len);
/* ... or a feature's rewrite of it, sent as the client's own (session_route.c). */
void command_send_rewritten(struct session *s, uint8_t cmd, const uint8_t *pkt, size_t len);
/* The COM_QUERY `p` (`len` bytes) a feature's elsewhere hook sends to a
 * second connection, readied (session_route.c): ROUTE_FANOUT, or the
 * primary when out of memory (the session is closing). */
uint32_t command_elsewhere(struct session *s, const uint8_t *p, uint32_t len);
bool ensure_backend(struct session *s, uint32_t idx);
void qlog_note(struct session *s, const char *text, size_t len, uint64_t digest);
void retry_keep(struct session *s, const uint8_t *pkt, uint32_t n);
void retry_drop(struct session *s);
void retry_note(struct session *s, uint32_t idx, uint8_t cmd, const uint8_t *pkt, uint32_t n,
                bool fits);
bool retry_primary_ok(const struct session *s, bool safe);
bool down_hold(const struct session *s, const struct stream *st);
uint32_t route_read(struct session *s, enum classify_hint hint, const char *hint_backend,
                    enum classify_consistency cons, bool prev_stmt, bool show_status_stmt);
/* A classified statement's enum stmt_class (stats.h), counted as it is
 * sent: text in route_statement(), prepared at its PREPARE (session_ps.c). */
uint8_t session_stmt_class(const struct classify_result *r);
/* The session's side of a rule's or a limit's conditions (rules.h): user,
 * default schema, client, listener; the statement's fields left zero. */
struct rules_input session_rules_who(struct session *s);
void session_backend_failed(struct session *s, const uint8_t *err_payload, size_t err_len,
                            const char *why);
bool session_in_trans(const struct session *s);
/* session_route.c: IN_TRANS of the session's status set or cleared by
 * halyard (a BEGIN it answered, a transaction lost...); the status of an
 * answer to its own command taken when it has one. */
void route_trx_opened(struct session *s);
void route_trx_closed(struct session *s);
void route_status_follow(struct session *s);
/* Its share of the primary's trx_open follows its transaction (session.c). */
void session_trx_hold(struct session *s, bool open);
void session_lex_mode(struct session *s, unsigned opts);
void session_next_command(struct session *s);
/* The names of the cycle's stages a command `cmd` passes, in order, into
 * names (at most max); their count (session.c's table, for its tests). */
size_t session_cycle_path(uint8_t cmd, const char **names, size_t max);
/* Tests only (test_cycle_*.c): when set, called with each stage's name
 * as session_next_command runs it for command `cmd`; NULL in halyard. */
extern void (*session_cycle_trace)(const struct session *s, uint8_t cmd, const char *stage);
void session_pin(struct session *s, const char *why);
/* The session's user variables are all halyard's to know again (its state
 * cleared): none was set where halyard could not see it (uvars_opaque). */
void session_uvars_known(struct session *s);
/* The session holds LOCK TABLES on its primary, or no longer does. */
void session_tables_locked(struct session *s, bool locked);
void session_backend_use(struct session *s, struct bconn *bc);
void session_reap(struct session *s);
/* A transaction died with backend `name`: the session's next statement
 * says so (SERR_TRX_LOST). */
void session_trx_lost(struct session *s, const char *name);
/* ... the client told (session_route.c); the name taken to tell it; what
 * stays of it (enum trx_nontrx). */
void route_trx_lost_told(struct session *s);
char *route_trx_lost_take(struct session *s);
void route_trx_lost_keeps(struct session *s, uint8_t keeps);
/* The connection to backend `name` closed while it held the session's
 * LAST_INSERT_ID() unread (bconn_close): the session goes on, and a
 * statement that reads or sets LAST_INSERT_ID() then ends it with
 * SERR_LID_LOST, as the server's death would have, rather than run with
 * another value. A read-back on another connection that finds a value the
 * session's statements set there makes it known again. */
void session_lid_lost(struct session *s, const char *name);
bool show_status(const char *sql, size_t len);
void up_forward(struct session *s);
void update_reads(struct session *s);

void session_server_event(struct bconn *bc, const struct server_report *r);

/* down_forward: a read a Galera node refused (1047) runs again elsewhere
 * (session_backend.c); true when it does (the answer is dropped). */
bool session_retry_refused(struct session *s);
/* Put a command (`len` bytes of payload, no header) back in front of `up`
 * (session_backend.c). False when there is no room. */
bool up_unread(struct session *s, const uint8_t *payload, uint32_t len);

/* ---- internal commands: halyard's own commands on a backend -------------
 * Each is a const struct internal_cmd of the feature that sends it
 * (internal_send, session_state.c). Its answer is read by down_parse as
 * its flags ask and goes to its own functions (internal_progress): the
 * cycle names none of them. */
enum internal_flag {
    INTERNAL_CAPTURE = 1u << 0, /* the first value of a one-row answer, whole, to bc->capture */
    INTERNAL_WHOLE = 1u << 1,   /* every packet whole (when it fits a buffer) to .packet */
    INTERNAL_KEEPS_VALUES =
        1u << 2, /* the client's FOUND_ROWS()/ROW_COUNT() stay (session_pool.c) */
    INTERNAL_WRITER_SYNC = 1u << 3, /* its timeout is a new writer's lag, not a failure */
    /* No command of the client waits behind it (the client has its
     * answer). A failure of its connection: */
    INTERNAL_NO_WAITER = 1u << 4, /* ... the session goes on (what it read is lost) */
    INTERNAL_OWN_STATE = 1u << 5, /* ... the session ends: it read state only that connection had */
};
/* What the command's answer function did: the command ends (its timer
 * stops, command_end), or the function went on by itself. */
enum internal_next { INTERNAL_END, INTERNAL_WENT_ON };
struct hook_packet;
struct internal_cmd {
    const char *name; /* for the log */
    unsigned flags;   /* enum internal_flag */
    /* a packet of the answer, after the tracker read it (NULL: none) */
    void (*packet)(struct session *s, const struct hook_packet *pk);
    /* the whole answer is in (s->io.resp; bc: the connection it came on) */
    enum internal_next (*answered)(struct session *s, struct bconn *bc);
    /* its connection failed or was lost (session_conn_lost): the function
     * takes the failure whole (NULL: the cycle's failure path, by the flags
     * and by what was open on the connection) */
    void (*failed)(struct session *s, const char *why);
    /* its connection was lost (session_conn_lost): what it read is
     * dropped, the cycle ends the command (NULL: as failed) */
    void (*lost)(struct session *s);
};

/* The value an INTERNAL_CAPTURE command read, or NULL (an error, no row). */
static inline const char *internal_value(const struct session *s, const struct bconn *bc)
{
    return s->io.resp.err_code == 0 && bc != NULL && bc->captured ? bc->capture : NULL;
}

/* ---- session_backend.c: sending them (answers: internal_progress) */
void internal_query(struct session *s, const struct internal_cmd *op, const char *sql,
                    int timeout_ms);
void internal_expect(struct session *s, const struct internal_cmd *op, uint8_t cmd, int timeout_ms);
void internal_send(struct session *s, const struct internal_cmd *op, uint8_t cmd, const void *body,
                   size_t n, int timeout_ms);

void session_login_backend(struct session *s);
/* The pool's verdicts carried out (session_pool.h): _take, a pooled
 * connection to `idx` (its thread published); _lid_read, LAST_INSERT_ID()
 * read on `bc` (int_lid), which becomes s->conns.cur; _lid_fetch, the
 * session's value left on a pooled connection taken back and read before
 * a statement runs elsewhere, true when that read went out; _release,
 * between statements, every connection the pool may have goes back, true
 * when a read of LAST_INSERT_ID() went out first. */
extern const struct internal_cmd int_lid; /* LAST_INSERT_ID() read back before pooling */
bool backend_take(struct session *s, uint32_t idx);
void backend_lid_read(struct session *s, struct bconn *bc);
bool backend_lid_fetch(struct session *s);
bool backend_release(struct session *s);
void session_creds(const struct session *s, const struct config_backend *be,
                   struct mysql_client_creds *cr);

/* The session's default schema now: the last USE, else the login's; NULL
 * = none. */
static inline const char *session_schema(const struct session *s)
{
    return s->vars.schema != NULL ? s->vars.schema : s->who.db;
}

/* Count one pool event of the session's user on backend `be` (pool_stats.h). */
#define POOL_COUNT(s, be, field) POOL_STATS_COUNT((be)->rt, (s)->who.user, field)

/* ---- hooks: how a feature plugs into the command cycle -------------------
 * The cycle (session.c) runs the hooks at its points without naming the
 * features; session_hooks.c holds the one table of them, in the order they
 * run. A NULL hook: nothing at that point. */
/* A packet of the backend's answer, as down_parse shows it to the hooks. */
struct hook_packet {
    const uint8_t *pl;     /* its payload */
    uint32_t len;          /* the payload's length */
    bool whole;            /* all of it is at pl (else the first bytes only) */
    bool row;              /* on_fed: the tracker counted it as a row */
    enum mysql_resp_rc rc; /* on_fed: the tracker's verdict on it */
};
/* A packet filter's verdict on a packet of the answer: the first that is
 * not HOOK_PASS is the point's, and the filters after it do not run. */
enum hook_verdict {
    HOOK_PASS,   /* not the filter's: the packet goes on as it is */
    HOOK_WAIT,   /* for more bytes, or for what is before it to go out */
    HOOK_TAKEN,  /* the filter consumed it (answered, rewrote, left it out) */
    HOOK_BROKEN, /* the backend broke the protocol: the answer is broken */
};
/* A client's command as next_forward sends it to backend idx. */
struct hook_cmd {
    const uint8_t *p; /* its payload, at up.scan (the first bytes only when !fits) */
    uint32_t len;     /* the payload's length */
    uint32_t avail;   /* bytes of it at p (len when fits) */
    uint32_t idx;     /* the backend */
    uint8_t cmd;
    bool fits;      /* all of it is at p */
    bool rewritten; /* it goes with other text than the client's */
};
/* A statement at the route stage (on_route): classified as *r, or a
 * COM_INIT_DB (r NULL), `avail` of its `len` payload bytes at p. */
struct hook_route {
    const struct classify_result *r;
    const uint8_t *p;
    uint32_t len;
    uint32_t avail;
    uint8_t cmd;
    bool fits; /* all of it is at p */
};
/* A classified statement and the query rule that matched it (on_rule). */
struct hook_rule {
    uint8_t cmd;                    /* COM_QUERY or COM_STMT_PREPARE */
    const struct config_rule *rule; /* NULL: none matched */
    struct classify_result *r;      /* its classification (a rule's route is put in r->hint) */
    const char *text;               /* its text, `len` bytes of it in the buffer */
    size_t len;
    bool fits; /* all of it */
};
/* What was in flight on a connection lost (on_lost). */
enum lost_flight {
    LOST_IDLE,    /* nothing: the session learns of it at its next statement */
    LOST_CLIENT,  /* the client's command, sent: its answer is an ERR, or a feature's */
    LOST_WAITING, /* a command waits on it: halyard's own is in flight there, or it is
                   * being opened or readied for the client's (which goes again, or
                   * gets an ERR) */
};
/* A lost connection, as session_conn_lost decided it (on_lost). */
struct hook_lost {
    struct bconn *bc;                /* open still (LOST_CLIENT), else NULL: closed */
    const struct config_backend *be; /* its backend */
    const char *why;                 /* for the log */
    enum lost_flight flight;
    bool trx;          /* it held the session's transaction, lost with it */
    bool nontrx_write; /* set by a row: the write in flight may have changed a table
                        * a rollback leaves (not known to be transactional) */
};
/* The waits of a command (on_wait). */
enum hook_wait {
    HOOK_WAIT_LIMIT,
    HOOK_WAIT_POOL,
    HOOK_WAIT_CONNECT,
    HOOK_WAIT_CONSISTENCY,
    HOOK_WAIT_WRITER
};
struct session_hooks {
    const char *name; /* the feature, for a reader */
    /* A client command taken from `up` (once per command, after the gate
     * stage let it through; cmd and its payload). */
    void (*on_take)(struct session *s, const struct hook_cmd *hc);
    /* next_take, first: true while a step of the feature's runs for the
     * session (a login's wait, a fan-out's statements): no command is
     * taken (nor a KILL's end seen) until it ends, and the session is not
     * idle (session_idle_cb) */
    bool (*busy)(const struct session *s);
    /* next_take, after busy, and a worker's shutdown: true when the
     * session is to end now, killed (a KILL CONNECTION marked it): it
     * runs no other command */
    bool (*killed)(const struct session *s);
    /* next_take, a command taken again after it waited (for a connection,
     * a limit, the consistency wait): true when it is answered 1317 now,
     * not run (a KILL QUERY reached it while it waited); the row takes the
     * mark it answers */
    bool (*interrupted)(struct session *s);
    /* session_route: a COM_QUERY classified as `r`, its payload at p
     * (`avail` bytes of it in the buffer: all of it when `fits`), before
     * its backend is chosen: what the feature notes of the statement that
     * may go (replay: whether it may run again; in-flight writes: whether
     * and how it writes) */
    void (*on_classified)(struct session *s, const struct classify_result *r, const uint8_t *p,
                          uint32_t avail, bool fits);
    /* session_route, a COM_QUERY or COM_STMT_PREPARE classified with a
     * digest (a feature needs one: the digests' table, rules, limits, the
     * firewall): its text, `len` bytes (cut at DIGEST_TEXT_MAX - 1), the
     * feature's to copy; a statement routed without one has none */
    void (*on_digest)(struct session *s, const char *digest, size_t len);
    /* session_route, with query rules loaded (and not a part of a KILL's
     * text): the rule a statement matched, or none. UINT32_MAX, or the
     * ROUTE_* outcome the feature answers it with (the cache's hit:
     * ROUTE_CACHE); the first outcome is the point's */
    uint32_t (*on_rule)(struct session *s, const struct hook_rule *hr);
    /* session_route, before the query rules, when the session holds a
     * fan-out's diagnostics (s->values.ldiag) or its listener has shards
     * (a COM_INIT_DB too, unclassified): where the feature sends the
     * statement. HOOK_TAKEN with *to (a backend, a ROUTE_* outcome, or
     * UINT32_MAX: routed as usual, by no row after it); HOOK_PASS: not
     * the feature's */
    enum hook_verdict (*on_route)(struct session *s, const struct hook_route *hr, uint32_t *to);
    /* next_route, and the gate of a prepared statement's execution: a
     * client's command when the session's transaction was lost with its
     * backend (s->route.trx_lost). HOOK_WAIT when the feature's step holds
     * the session (a replay, the other groups' rollback) or ended it,
     * HOOK_TAKEN when it answered the command (the session looks again),
     * else HOOK_PASS */
    enum hook_verdict (*after_lost)(struct session *s, const struct hook_cmd *hc);
    /* next_take, between commands, before the next is read: HOOK_WAIT when
     * the feature sent a step of its own first (the command waits for its
     * answer), waits for the client's bytes, or ended the session, HOOK_TAKEN when its step ran and
     * the session looks again, else HOOK_PASS (the rows after it run) */
    enum hook_verdict (*between)(struct session *s);
    /* The limit stage: the client's command, routed to hc->idx, before it
     * waits for consistency and goes. HOOK_WAIT when the feature holds it
     * back (the session parked; the feature takes it up again, and it
     * passes this point again), HOOK_TAKEN when it refused it (answered),
     * else HOOK_PASS */
    enum hook_verdict (*hold)(struct session *s, const struct hook_cmd *hc);
    /* A KILL QUERY of the command while it waits (SS_WAIT_BACKEND): true
     * when the feature's wait held it and let it go (the cycle takes the
     * command again, and answers it 1317); the rows after it are not asked */
    bool (*cancel_wait)(struct session *s);
    /* A wait of the command begins (begin=true) or ends. */
    void (*on_wait)(struct session *s, enum hook_wait what, bool begin);
    /* next_forward, around ensure_backend (which may open the connection
     * and send what readies it), once a command: before its first call,
     * then after the one that found the backend ready (a command that
     * went with what readied it, or was abandoned, meets no after) */
    void (*before_backend)(struct session *s, const struct hook_cmd *hc);
    void (*after_backend)(struct session *s);
    /* next_forward, the backend ready: false when the feature sent a
     * command of its own first (the client's runs again after it) */
    bool (*ready)(struct session *s);
    /* ensure_backend, for the client's command (not one of halyard's
     * own): `bc`, backend idx, is ready and the command's; false when the
     * feature sent a command of its own there first (a BEGIN halyard
     * answered, the group's XA START), the client's runs again after it */
    bool (*chosen)(struct session *s, struct bconn *bc, uint32_t idx);
    /* ensure_backend, before `bc` (ready) is chosen for a command: false
     * when it lacks what the feature brings to the session's connections
     * (the state's values, its tracking): sync then, the rows after it
     * not asked */
    bool (*synced)(const struct session *s, const struct bconn *bc);
    /* ensure_backend, s->conns.cur ready and not synced: the feature
     * brings it up to date. True when nothing had to be sent (the rows
     * after it asked); false when its commands are under way (the command
     * waits for them: session_next_command runs again), or the session
     * closes, or waits for another connection */
    bool (*sync)(struct session *s);
    /* next_forward, the command about to go: the feature takes what it
     * answers against; NULL, or why it could not answer exactly (the
     * cycle refuses the command with an ERR 1105 saying so) */
    const char *(*refuse)(struct session *s);
    /* next_forward: true when the command runs on a second connection of
     * the session's instead (the cycle readies it there, command_elsewhere,
     * and answers it as ROUTE_FANOUT) */
    bool (*elsewhere)(struct session *s, const struct hook_cmd *hc);
    /* next_forward, connid_packet: whether the command's text goes out
     * rewritten, then the rewrite (*pkt as connid_packet's, of *n bytes
     * of text, changed in place; `orig` the client's text); false when out
     * of memory */
    bool (*rewrites)(const struct session *s);
    bool (*rewrite)(struct session *s, uint8_t **pkt, size_t *n, const char *orig, size_t orig_len);
    /* next_forward: the command goes to s->conns.cur now */
    void (*on_send)(struct session *s, const struct hook_cmd *hc);
    /* next_forward, then, for a command not rewritten: HOOK_TAKEN when the
     * feature sent it itself (the cycle sends nothing) */
    enum hook_verdict (*filter_up)(struct session *s, const struct hook_cmd *hc);
    /* up_forward, command_send_own: the command is all out to s->conns.cur
     * (the client's whole, or one halyard built in its place): a command
     * of the feature's own may go behind it there (a SET's read-back) */
    void (*on_sent)(struct session *s);
    /* true while a command of the feature's own trails the client's on
     * s->conns.cur (on_sent), its answer following the command's: bytes
     * after the answer's end are the feature's, and the command is not run
     * again elsewhere (its answer is on the way) */
    bool (*trailing)(const struct session *s);
    void (*on_begin)(struct session *s); /* command_begin: the command goes to its backend */
    /* answer_expect: whether the feature's per-packet hooks (wants_whole,
     * on_packet, on_fed) may act on the answer expected now; down_parse
     * runs none of them when no feature says so, a branch a packet */
    bool (*attached)(const struct session *s);
    /* down_parse's packet filters (filter_head, filter: XA START's answer,
     * tracking, CACHE_METADATA, the sysviews' rows) are session_filter.h's,
     * inline: they run for every packet */
    /* down_parse, each packet of the answer: whether the feature reads it
     * whole (it waits until all of it is in, when it fits the buffer) */
    bool (*wants_whole)(const struct session *s);
    /* down_parse, each packet, before the tracker (s->io.resp) reads it */
    void (*on_packet)(struct session *s, const struct hook_packet *pk);
    /* down_parse, each packet, once the tracker has read it */
    void (*on_fed)(struct session *s, const struct hook_packet *pk);
    /* a packet a filter took and relayed rewritten (CACHE_METADATA's
     * column count), as the client gets it: on_packet did not see it */
    void (*on_relayed)(struct session *s, const struct hook_packet *pk);
    /* up_forward: bytes of the file a LOAD DATA LOCAL INFILE's client
     * sends, as they pass to the backend (pieces of its packets' payloads,
     * in order; n 0: the empty packet that ends the file) */
    void (*on_infile)(struct session *s, const uint8_t *p, uint32_t n);
    /* down_parse: the answer's end is parsed, before it goes on to the
     * client (who may act on it at once: what others see of the session
     * is the feature's to set now) */
    void (*on_answer_end)(struct session *s);
    void (*on_done)(struct session *s); /* command_done: the answer is complete */
    /* command_done, once the route has the answer's status and the
     * command's writes: the last point before the session goes idle */
    void (*on_settled)(struct session *s);
    /* command_done, after on_settled and the session's share of its
     * primary's transactions: what the command changed kept (the state's
     * SETs). True when a command of the feature's own follows the answer
     * on s->conns.cur (a read-back, sent behind it): on_follow then */
    bool (*on_end)(struct session *s);
    /* command_done, last, for the rows whose on_end said true, unless the
     * session closes: that command's answer is read now (internal_expect) */
    void (*on_follow)(struct session *s);
    void (*on_abandon)(struct session *s); /* command_abandon: the routed command won't run */
    /* next_take: the session waits for its client, idle, no command in
     * hand: what the feature keeps only for a command may go */
    void (*on_idle)(struct session *s);
    void (*on_reset)(struct session *s); /* COM_RESET_CONNECTION, bconn_close_all */
    /* COM_RESET_CONNECTION and COM_CHANGE_USER: the server starts the
     * client's session afresh (its values, its prepared statements), which
     * a reconnection's on_reset keeps */
    void (*on_renew)(struct session *s);
    /* session_state.c: the session's schema was dropped (a DROP DATABASE
     * of it, read back): it has none from now on, not even its login's */
    void (*on_schema_gone)(struct session *s);
    /* session_pin: the session is pinned to its primary from now on (the
     * route's decision; s->route.pinned set), before its other
     * connections close: what the feature keeps to move it elsewhere goes */
    void (*on_pin)(struct session *s);
    /* an ERR halyard answers a statement with itself (its payload, `len`
     * bytes from the marker): the session's diagnostics now, as a
     * server's would be (session_err; not a login's, nor while it ends) */
    void (*on_own_err)(struct session *s, const uint8_t *err, uint32_t len);
    /* a reply halyard builds itself (an ERR, or an OK when `ok`), its
     * first sequence id *seq: the feature moves *seq on (a KILL's text:
     * the ids run on from part to part); for an OK, the status flags it
     * adds (0: none) */
    uint16_t (*on_reply)(struct session *s, uint8_t *seq, bool ok);
    /* session_replay.c: the session's transaction, lost with its primary,
     * ran again on the new one with every answer the same; the client's
     * statement that met the loss goes on there */
    void (*on_replayed)(struct session *s);
    /* session_conn_lost, the one failure path: a connection something
     * was in flight on is lost (hl says what, and what was open there),
     * and nothing ended the session yet. True when the feature takes the
     * loss over (finds where the write went, replays the transaction,
     * waits for another primary), the rows after it not asked; a row may
     * note what it knows in hl (what of a transaction stays). */
    bool (*on_lost)(struct session *s, struct hook_lost *hl);
    /* session_trx_lost: the session's transaction was lost with backend
     * `name` (bc: the session's connection to its primary, still open,
     * or NULL), the client told at its next statement: what of it stays,
     * and its replay armed */
    void (*on_trx_lost)(struct session *s, struct bconn *bc, const char *name);
    /* session_backend_ready: the connection the session waited for
     * (s->conns.cur) is logged in and ready: true when the feature's step
     * waited for it and goes on with it (a login that named a schema), the
     * rows after it not asked; else a waiting command is routed again */
    bool (*backend_ready)(struct session *s);
    /* bconn_open: a new connection to backend bc->idx begins, or
     * session_pool_take gives the session one it did not lend (what the
     * feature kept for that backend's connections names another one) */
    void (*on_conn_open)(struct session *s, struct bconn *bc);
    /* session_pool.c: `bc` is lent to the pool (the session takes it back
     * if nobody else did): false when what the feature keeps there cannot
     * stay with it (out of memory: it is closed instead; the rows after it
     * are not asked) */
    bool (*on_lend)(struct session *s, struct bconn *bc);
    /* backend_release, before the first connection goes back: false keeps
     * them all (a KILL on its way); true lets them go, the KILL registry's
     * thread cleared (published again after) */
    bool (*may_release)(struct session *s);
    /* session_pool_take: the connection lent for backend idx is gone
     * (dropped by the pool, or another session's now) */
    void (*on_lent_gone)(struct session *s, uint32_t idx);
    /* bconn_close: a backend connection of the session closes (bc still
     * whole; pooled or not, parked or not) */
    void (*on_conn_gone)(struct session *s, struct bconn *bc);
    /* session_create, before the client is greeted: what the feature
     * keeps for a new session; false when out of memory (the session
     * closes; the rows after it are not asked) */
    bool (*on_create)(struct session *s);
    /* session_create, the session made and its watchers set: the stage
     * that opens it begins (the login: its greeting, or the wait for a
     * PROXY header) */
    void (*on_start)(struct session *s);
    /* client_proto, a client's packet while the session opens (states
     * PROXY_HEADER, HANDSHAKE, AUTH_SWITCH: before the command loop):
     * true when the row whose states they are read it */
    bool (*opening)(struct session *s);
    /* session_timer_cb, the session's timer fired: true when it was the
     * row's (a login's wait, or its time up); the cycle's own timers are
     * looked at when no row took it */
    bool (*timer)(struct session *s);
    /* session_view_move, before the session moves to view `to` (a reload's,
     * another group's): what the feature keeps for the new view; false when
     * out of memory (the session stays; the rows after it are not asked) */
    bool (*on_view)(struct session *s, const struct config *to);
    /* session_free, first, while the session is still registered and its
     * connections open: what others may wait on from it is let go */
    void (*on_leave)(struct session *s);
    void (*on_close)(struct session *s); /* session_free: free what the feature holds */
    void (*on_thread_exit)(void);        /* a worker thread ends: its thread's buffers */
};
/* A ROUTE_* outcome answered here, not by a backend (next_outcome): the
 * cycle runs `before`, takes the command from the stream (answer_here),
 * counts it when `counted`, then runs `answer`. hc->idx is the outcome. */
struct hook_answer {
    /* before the command is taken: true when the session waits first */
    bool (*before)(struct session *s, const struct hook_cmd *hc, bool primary_write);
    /* the answer: true when it runs on (its steps answer later) */
    bool (*answer)(struct session *s, const struct hook_cmd *hc, const char *why);
    /* the outcome refused once routed, before `answer` (a LAST_INSERT_ID()
     * not known): what routing prepared for it goes (NULL: nothing) */
    void (*drop)(struct session *s);
    bool counted; /* one of the workers' `commands` */
};
/* Outcome `route`'s row of session_outcome.c: NULL for a backend. */
const struct hook_answer *session_hooks_answer(uint32_t route);
void session_hooks_take(struct session *s, const struct hook_cmd *hc);
bool session_hooks_busy(const struct session *s);
bool session_hooks_killed(const struct session *s);
bool session_hooks_interrupted(struct session *s);
enum hook_verdict session_hooks_between(struct session *s);
void session_hooks_classified(struct session *s, const struct classify_result *r, const uint8_t *p,
                              uint32_t avail, bool fits);
void session_hooks_digest(struct session *s, const char *digest, size_t len);
enum hook_verdict session_hooks_after_lost(struct session *s, const struct hook_cmd *hc);
void session_hooks_wait(struct session *s, enum hook_wait what, bool begin);
/* The command's wait `what` begins or ends: the hooks hear it (on_wait),
 * an end only after its begin (the cycle says the ends wherever a wait
 * may have been); the limit stage's wait is timed (s->io.held). A
 * service (session_life.c), declared here beside its enum. */
void session_wait_note(struct session *s, enum hook_wait what, bool begin);
uint32_t session_hooks_rule(struct session *s, const struct hook_rule *hr);
uint32_t session_hooks_route(struct session *s, const struct hook_route *hr);
enum hook_verdict session_hooks_hold(struct session *s, const struct hook_cmd *hc);
bool session_hooks_cancel_wait(struct session *s);
void session_hooks_replayed(struct session *s);
bool session_hooks_create(struct session *s);
void session_hooks_start(struct session *s);
bool session_hooks_opening(struct session *s);
bool session_hooks_timer(struct session *s);
bool session_hooks_view(struct session *s, const struct config *to);
bool session_hooks_backend_ready(struct session *s);
void session_hooks_before_backend(struct session *s, const struct hook_cmd *hc);
void session_hooks_after_backend(struct session *s);
bool session_hooks_ready(struct session *s);
bool session_hooks_chosen(struct session *s, struct bconn *bc, uint32_t idx);
bool session_hooks_synced(const struct session *s, const struct bconn *bc);
bool session_hooks_sync(struct session *s);
const char *session_hooks_refuse(struct session *s);
bool session_hooks_elsewhere(struct session *s, const struct hook_cmd *hc);
bool session_hooks_rewrites(const struct session *s);
bool session_hooks_rewrite(struct session *s, uint8_t **pkt, size_t *n, const char *orig,
                           size_t orig_len);
void session_hooks_send(struct session *s, const struct hook_cmd *hc);
enum hook_verdict session_hooks_filter_up(struct session *s, const struct hook_cmd *hc);
void session_hooks_sent(struct session *s);
bool session_hooks_trailing(const struct session *s);
void session_hooks_begin(struct session *s);
bool session_hooks_attached(const struct session *s);
bool session_hooks_wants_whole(const struct session *s);
void session_hooks_packet(struct session *s, const struct hook_packet *pk);
void session_hooks_fed(struct session *s, const struct hook_packet *pk);
void session_hooks_relayed(struct session *s, const struct hook_packet *pk);
void session_hooks_infile(struct session *s, const uint8_t *p, uint32_t n);
void session_hooks_answer_end(struct session *s);
void session_hooks_done(struct session *s);
void session_hooks_settled(struct session *s);
/* The rows whose on_end said true, a bit each (1 << the row's place). */
uint64_t session_hooks_end(struct session *s);
void session_hooks_follow(struct session *s, uint64_t rows);
void session_hooks_abandon(struct session *s);
void session_hooks_idle(struct session *s);
void session_hooks_reset(struct session *s);
void session_hooks_renew(struct session *s);
void session_hooks_schema_gone(struct session *s);
void session_hooks_pin(struct session *s);
void session_hooks_own_err(struct session *s, const uint8_t *err, uint32_t len);
uint16_t session_hooks_reply(struct session *s, uint8_t *seq, bool ok);
bool session_hooks_lost(struct session *s, struct hook_lost *hl);
void session_hooks_trx_lost(struct session *s, struct bconn *bc, const char *name);
void session_hooks_conn_open(struct session *s, struct bconn *bc);
bool session_hooks_lend(struct session *s, struct bconn *bc);
bool session_hooks_may_release(struct session *s);
void session_hooks_lent_gone(struct session *s, uint32_t idx);
void session_hooks_conn_gone(struct session *s, struct bconn *bc);
void session_hooks_leave(struct session *s);
void session_hooks_close(struct session *s);
void session_hooks_thread_exit(void);

/* ---- the command stage ---------------------------------------------------
 * session.c's com_handlers[] gives a command halyard answers or rewrites
 * itself to its handler, the cycle's own or the feature's whose command it
 * is (KILL: session_kill.c). A feature's own kind of command (a prepared
 * statement's: session_ps.c) has a row of its own, struct cmd_kind. */
/* The command at up.scan, and what the stages decided of it so far. */
struct next_cmd {
    const uint8_t *h; /* its header */
    uint8_t *p;       /* its payload, p[0] the command */
    uint32_t len;     /* payload bytes */
    bool fits;        /* the whole packet fits in the buffer (and is there) */
    uint8_t cmd;
    bool primary_write; /* route: a write the primary is to take outside a transaction */
    uint32_t idx;       /* route: a backend or a ROUTE_* outcome */
    char why[160];      /* route: why no backend */
};

/* What the loop does after a step. */
enum next_step {
    NEXT_STOP,  /* return: the session waits, runs a step of its own, or closes */
    NEXT_AGAIN, /* the command is answered: take the next one */
    NEXT_ROUTE, /* go on: route the command to a backend */
};

typedef enum next_step com_handler(struct session *s, const struct next_cmd *c);

/* A command kind's row: what differs, per kind, as its commands pass the
 * cycle's one list of stages (session.c: cycle[]). A member left NULL is
 * the text command's way. session_hooks.c's kind table holds the rows the
 * features register; the cycle reads them there, naming none. */
struct cmd_kind {
    com_handler *take; /* the command stage: the kind's own step */
    /* the route stage: where it goes, in c->idx (NULL: session_route) */
    enum next_step (*route)(struct session *s, struct next_cmd *c);
    /* session_route, its text classified as *r (NULL: one backend, nothing
     * classified): where it goes, a backend or a ROUTE_* outcome */
    uint32_t (*route_text)(struct session *s, const uint8_t *p, uint32_t len, bool fits,
                           const struct classify_result *r);
    /* the forward stage, backend c->idx ready: what it needs there first
     * (NEXT_ROUTE: it goes on) */
    enum next_step (*ready)(struct session *s, const struct next_cmd *c);
    /* ... and its send, after the send hooks (NULL: command_forward) */
    void (*send)(struct session *s, const struct next_cmd *c);
    /* the client's command answered OK (its first packet, `len` bytes of
     * it at pl): before the tracker reads it */
    void (*answer_ok)(struct session *s, uint8_t *pl, uint32_t len);
    uint8_t stages; /* KIND_*: the stages it meets first, or skips */
};
enum {
    KIND_LOST_FIRST = 1u << 0, /* a lost transaction met before its take (an execution) */
    KIND_FOLLOWS = 1u << 1,    /* it follows its statement's execution: no due stage */
};
/* Command `cmd`'s row among the features' kinds, or NULL (the cycle's own:
 * com_handlers[], then the text's way). */
const struct cmd_kind *session_hooks_kind(uint8_t cmd);

/* ---- between the session module's files ---------------------------------
 * session.c: the command cycle, the answer's framing, the client socket */
void command_done(struct session *s);
/* Go idle and take the next command: the end of a command but command_done's. */
void command_end(struct session *s);
void command_send_own(struct session *s, uint8_t cmd, const uint8_t *pkt, size_t len);
void command_forward_head(struct session *s, uint8_t cmd, uint8_t exec_flags, const uint8_t *pkt,
                          size_t n, size_t head_len, uint32_t len);
void down_forward(struct session *s);
bool down_parse(struct session *s);
bool ensure_connected(struct session *s, uint32_t idx);

/* session_backend.c */
void backend_writable(struct session *s, struct bconn *bc);
void capture_value(struct session *s, const uint8_t *p, uint32_t len);
void internal_progress(struct session *s);
/* The one failure path: backend connection `bc`, open, was lost (it broke,
 * closed, timed out, or refused the state brought to it), whatever was in
 * flight there. What follows is decided from what was open on it. */
void session_conn_lost(struct session *s, struct bconn *bc, const char *why);
/* At a new statement: a held connection whose close (or the ERR a KILL
 * sends before it) the loop has seen but not yet delivered is lost now, as
 * its callback would have been first, so the statement never goes to it. */
void session_backend_reap_pending(struct session *s);
void session_backend_ready(struct session *s);
/* the wait for a primary */
bool primary_retry(struct session *s, const struct config_backend *be);
void primary_wait_cb(struct ev_loop *loop, ev_timer *w, int revents);
bool primary_wait_start(struct session *s);
/* ROUTE_NOBODY's `before`: true when the statement waits for a primary. */
bool primary_wait_before(struct session *s, const struct hook_cmd *hc, bool primary_write);
/* A KILL QUERY ends the statement waiting for a usable primary: true when
 * it waited (the wait is over; the caller answers it), else false. */
bool primary_wait_cancel(struct session *s);
/* A login that needs the primary (session_login_backend) finds none
 * usable, or (refused) its connect was refused: wait for one as a write
 * does (true), or fail as before (false). */
bool login_wait_start(struct session *s, bool refused);

/* session_route.c */
bool may_hold_secret(const char *text, size_t len, unsigned lex_opts);
/* Keep the first bytes of the statement the command at `p` runs, for
 * `show sessions` (session_show.c). */
void session_note_statement(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t avail);
/* The backend a session writes to: the primary (the first usable one); with
 * several Galera writers its own while it stays usable, else one picked by
 * `spread` (the session id) among them (backend_writer_index). */
uint16_t primary_now(const struct config *cfg, uint32_t spread, int current);
/* The session moves to view `to`, s->cfg still the old one (session_reload.c). */
void route_view_moved(struct session *s, const struct config *to);
/* COM_CHANGE_USER: no pin, no table locks, no transaction (session_login.c). */
void route_renew(struct session *s);
/* The session's consistency: user u's, else its listener's, else cfg's. */
void route_consistency_set(struct session *s, const struct config_user *u,
                           const struct config *cfg);
void query_end(struct session *s, bool error);
void query_lost(struct session *s);
void query_internal_failed(struct session *s);
uint32_t session_route(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len,
                       uint32_t avail);
uint32_t route_health(struct session *s, uint32_t idx, char *why, size_t whylen);
bool route_view(struct session *s, enum route_op op, struct route_in *in);
/* The same for a read outside a transaction on another group's `view`
 * (a fan-out's): its primary, no connection of the session's there. */
bool route_view_group(struct session *s, const struct config *view, struct route_in *in);
void session_decide(const struct route_in *in, struct route_out *out);
void session_diag_follow(struct session *s);
void session_follow_primary(struct session *s);
/* Before following a moved primary: the connection to the old primary a
 * session whose user variables are opaque asks how many it holds, once per
 * move; NULL when none is to be asked (session_route.c). */
struct bconn *session_uvars_due(struct session *s);
/* ... asked (true: int_uvars went out, the next command waits for it;
 * session_state.c). */
bool session_uvars_ask(struct session *s);
/* Its command (its answer: none, and the variables are no longer opaque;
 * otherwise the session ends at the move). */
extern const struct internal_cmd int_uvars;
void session_lex_follow(struct session *s, uint16_t status);
void session_track_note(struct session *s, const uint8_t *pl, uint32_t len);

#endif /* HALYARD_SESSION_INT_H */
