/*
 * session_int.h: the session module's internal interface, shared by the
 * .c files of src/session/ that run a session (session.c and the
 * session_*.c files beside it, and session_fanout_int.h): the commands,
 * packets and errors of the client side, routing, backend connections,
 * the pool, session state, prepared statements, login, KILL, reload, and
 * the sharded listener's groups, fan-out and XA. worker.c and registry.c
 * do not use it. Other modules use halyard/session/session.h only.
 *
 * The sections below are named for a file; the first ("session.c") also
 * declares functions defined in session_backend.c, session_route.c and
 * others (grep for the definition). The parts of struct session, and
 * the files that write each, are in halyard/session/session_parts.h.
 */
#ifndef HALYARD_SESSION_INT_H
#define HALYARD_SESSION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/sql/classify.h"
#include "halyard/cluster/pool_stats.h"
#include "halyard/route/router.h"
#include "halyard/session/session.h"

/* MariaDB error codes the session reads in answers or passes to the
 * prepared-statement refusals; every ERR of its own is in session_err.h. */
#define ER_NO_SUCH_THREAD          1094 /* HY000 Unknown thread id */
#define ER_KILL_DENIED_ERROR       1095 /* HY000 You are not owner of thread */
#define ER_NO_SUCH_QUERY           1957 /* HY000 Unknown query id */
#define ER_KILL_QUERY_DENIED_ERROR 1979 /* HY000 You are not owner of query */
/* 08S01 "WSREP has not yet prepared node for application use" (a Galera
 * node's ER_UNKNOWN_COM_ERROR) */
#define ER_WSREP_NOT_READY 1047
/* Backend failures. Not the client library's own 2003/2013: libmariadb
 * turns any code of its 2000-2999 range sent by a server into 2027
 * "Received malformed packet", so the mariadb CLI, sysbench and every
 * connector built on it would never see why. */
#define ER_CONNECT_TO_FOREIGN_DATA_SOURCE 1429 /* HY000 a backend cannot be reached */
#define ER_CONNECTION_KILLED              1927 /* 70100 a backend connection died */
#define ER_LOCK_DEADLOCK                  1213 /* 40001 the server rolled the transaction back */
#define ER_XAER_NOTA                      1397 /* XAE04 unknown XID */

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

/* Prepared-statement errors the server itself gives (session_ps.c) */
#define ER_UNKNOWN_STMT_HANDLER    1243 /* HY000 */
#define ER_UNSUPPORTED_PS          1295 /* HY000 */
#define ER_STMT_HAS_NO_OPEN_CURSOR 1421 /* HY000 */
#define ER_MAX_PREPARED_STMT_COUNT 1461 /* 42000 */
#define ER_MALFORMED_PACKET        1835 /* HY000 */

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

/* ---- session.c: the state machine, packets, routing, backend connections */
void answer_expect(struct session *s, uint8_t cmd, uint8_t exec_flags);
int backend_match(const struct config *cfg, const struct config_backend *be);
void bconn_close(struct bconn *bc);
void bconn_close_all(struct session *s);
void bconn_open(struct session *s, uint32_t idx);
bool causal_ready(struct session *s, uint32_t idx);
/* Galera, after the writer moved (session_route.c) */
bool session_writer_sync(struct session *s);
void session_writer_synced(struct session *s, struct bconn *bc);
void session_writer_sync_late(struct session *s);
void session_writer_refusal(struct session *s, char *why, size_t cap);
/* consistency = global (session_route.c): a statement that may have
 * committed a write ended on the primary; the answer of an
 * INT_GPOS_FETCH or INT_GPOS_WAIT on bc. */
void session_global_commit(struct session *s);
void session_global_answer(struct session *s, struct bconn *bc, enum internal_op op);
/* A GTID list as MariaDB prints it: digits, '-' and ','. Anything else is
 * not put into a query (session_backend.c). */
bool gtid_valid(const char *g);
/* The client's address as text ("127.0.0.1", "::1"). */
void client_ip(const struct session *s, char *out, size_t len);
/* The client's host as the server names it in errors: 'localhost' for a
 * loopback client when the server resolves names (users.h), else the
 * address. */
void client_host(const struct session *s, char *out, size_t len);
void command_abandon(struct session *s);
void command_begin(struct session *s, uint8_t cmd, uint8_t exec_flags);
void command_forward(struct session *s, uint8_t cmd, uint32_t len, uint8_t exec_flags);
void consume_packet(struct session *s, uint32_t len);
char *dup_bytes(const void *p, size_t n);
bool ensure_backend(struct session *s, uint32_t idx);
bool plugin_is_native(const char *plugin, size_t len);
void qlog_note(struct session *s, const char *text, size_t len, uint64_t digest);
void retry_keep(struct session *s, const uint8_t *pkt, uint32_t n);
void retry_note(struct session *s, uint32_t idx, uint8_t cmd, const uint8_t *pkt, uint32_t n,
                bool fits);
bool retry_primary_ok(const struct session *s, bool safe);
bool down_hold(const struct session *s, const struct stream *st);
uint32_t route_read(struct session *s, enum classify_hint hint, const char *hint_backend,
                    enum classify_consistency cons, bool prev_stmt, bool show_status_stmt);
void send_access_denied(struct session *s, uint8_t seq, const char *user, size_t user_len,
                        bool used_password);
void send_auth_switch(struct session *s, uint8_t seq);
void send_err(struct session *s, uint8_t seq, uint16_t code, const char *sqlstate, const char *fmt,
              ...) HY_PRINTF(5, 6);
void send_err_payload(struct session *s, uint8_t seq, const uint8_t *payload, size_t len);
void send_local(struct session *s, const uint8_t *pkt, size_t len);
void send_ok(struct session *s, uint8_t seq);
void send_ok_counts(struct session *s, uint8_t seq, uint64_t affected, uint64_t insert_id);
uint16_t session_reply_status(const struct session *s);
void session_backend_failed(struct session *s, const uint8_t *err_payload, size_t err_len,
                            const char *why);
void session_err(struct session *s, uint8_t seq, enum session_err why, ...);
void session_err_custom(struct session *s, uint8_t seq, uint16_t code, const char *sqlstate,
                        const char *msg);
void session_greet(struct session *s);
bool session_in_trans(const struct session *s);
/* Its share of the primary's trx_open follows its transaction (session.c). */
void session_trx_hold(struct session *s, bool open);
void session_lex_mode(struct session *s, unsigned opts);
void session_mark_closing(struct session *s, enum session_end why);
void session_next_command(struct session *s);
void session_pin(struct session *s, const char *why);
/* The session holds LOCK TABLES on its primary, or no longer does. */
void session_tables_locked(struct session *s, bool locked);
void session_publish_backend(struct session *s);
void session_reap(struct session *s);
void session_set_state(struct session *s, enum session_state to);
void session_timer_start(struct session *s, int ms);
/* A transaction died with backend `name`: the session's next statement
 * says so (SERR_TRX_LOST). */
void session_trx_lost(struct session *s, const char *name);
/* The connection to backend `name` closed while it held the session's
 * LAST_INSERT_ID() unread (bconn_close): the session goes on, and a
 * statement that reads or sets LAST_INSERT_ID() then ends it with
 * SERR_LID_LOST, as the server's death would have, rather than run with
 * another value. A read-back on another connection that finds a value the
 * session's statements set there makes it known again. */
void session_lid_lost(struct session *s, const char *name);
void session_timer_stop(struct session *s);
bool show_status(const char *sql, size_t len);
void up_forward(struct session *s);
void update_reads(struct session *s);

void session_server_event(struct bconn *bc, const struct server_report *r);

/* ---- session_replay.c: transaction_replay */
/* What session_replay_next did with the client's statement: nothing (the
 * caller goes on), or the session waits for the replay (it comes back). */
enum { REPLAY_NO = 0, REPLAY_STOP };
/* The statement classified as `r` (COM_QUERY `p`, `len` bytes, whole when
 * `fits`): whether it may run again (route_statement). */
void session_replay_note(struct session *s, const struct classify_result *r, const uint8_t *p,
                         uint32_t len, bool fits);
/* The client's command `p` goes to s->conns.cur (next_forward); `rewritten`:
 * with other text than the client's. */
void session_replay_sent(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len, bool fits,
                         bool rewritten);
/* down_parse: whether the answer read now is summed (its packets are then
 * read whole), and each packet of it before the tracker is fed. */
bool session_replay_sums(const struct session *s);
void session_replay_packet(struct session *s, const uint8_t *pl, uint32_t len, bool whole);
/* command_done: the answer ended (s->route.status is the primary's). */
void session_replay_done(struct session *s);
/* The transaction being recorded cannot be replayed, for `why`. */
void session_replay_refuse(struct session *s, const char *why);
/* session_trx_lost: the transaction was lost with backend `name`. */
void session_replay_arm(struct session *s, const char *name);
/* session_backend_lost: the primary died with a statement in flight; true
 * when it is to be replayed with the transaction (the session goes on). */
bool session_replay_lost(struct session *s, struct bconn *bc);
/* next_route: the client's statement found the transaction lost. */
int session_replay_next(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len);
/* internal_progress: an INT_REPLAY answer ended. */
void session_replay_answer(struct session *s);
/* session_backend_failed: true when the replay takes the failure. */
bool session_replay_failed(struct session *s, const char *why);
void session_replay_wait_cb(struct ev_loop *loop, ev_timer *w, int revents);
void session_replay_free(struct session *s);
bool session_replay_commit_lost(struct session *s, const char *name, uint8_t *pkt, size_t cap,
                                uint32_t *len, char *why, size_t whylen);
/* The record is forgotten (the transaction's fate is known). */
void session_replay_forget(struct session *s);

/* ---- session_inflight.c: resolve_in_flight_writes */
/* A classified COM_QUERY: whether it is a write to mark, or a COMMIT. */
void session_inflight_note(struct session *s, const struct classify_result *r, const uint8_t *p,
                           uint32_t len);
/* The statement goes to backend idx: true when it was sent marked (the
 * caller sends nothing). */
bool session_inflight_send(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len,
                           bool fits, uint32_t idx);
/* The statement went as halyard rewrote it (session_replay_sent): unmarked. */
void session_inflight_unmarked(struct session *s);
/* Prepared writes (session_ps.c). An EXECUTE of a one-statement write
 * bound for the primary: the mark of its write transaction is taken
 * (false: none, the EXECUTE goes unmarked) and the statement prepared
 * there once with it at its head (session_inflight_ps_text: its text,
 * malloc'd, *n its length; NULL when out of memory). */
bool session_inflight_ps_mark(struct session *s);
char *session_inflight_ps_text(struct session *s, const char *sql, uint32_t len, size_t *n);
/* The write transaction whose mark was taken last; whether the session is
 * still in that transaction, marked (a statement prepared with its mark
 * serves its next executions there). */
uint64_t session_inflight_ps_seq(const struct session *s);
bool session_inflight_ps_same_trx(const struct session *s, uint64_t seq);
/* The EXECUTE (its payload `p`, as the client sent it, whole) goes to the
 * primary as the marked statement of text `sql` (`marked`), or unmarked:
 * a write of an open transaction then leaves its COMMIT unresolved. */
void session_inflight_ps_sent(struct session *s, bool marked, const uint8_t *p, uint32_t len,
                              const char *sql, uint32_t sql_len);
/* The answer ended (command_done). */
void session_inflight_done(struct session *s);
/* session_backend_lost: true when the write in flight is being resolved
 * (the session waits, then answers). */
bool session_inflight_lost(struct session *s, struct bconn *bc);
void session_inflight_free(struct session *s);
/* down_forward: a read a Galera node refused (1047) runs again elsewhere
 * (session_backend.c); true when it does (the answer is dropped). */
bool session_retry_refused(struct session *s);
/* Put a command (`len` bytes of payload, no header) back in front of `up`
 * (session_backend.c). False when there is no room. */
bool up_unread(struct session *s, const uint8_t *payload, uint32_t len);

/* ---- session_pool.c: pool_mode = "transaction" */
const char *session_pool_hold(const struct session *s, const struct bconn *bc);
/* "db1: transaction; db2: read-only transaction" into out ("" = none). */
void session_pool_holds(const struct session *s, char *out, size_t len);
void session_pool_lid_read(struct session *s, bool ok, const char *value);
/* Session mode on a shards listener: LAST_INSERT_ID() read back (INT_LID)
 * between statements where it may have changed; true when that went out. */
bool session_pool_lid_follow(struct session *s);
/* A write halyard ran on several groups generated `lid` first: the
 * session's LAST_INSERT_ID() (and @@identity, @@last_insert_id) is that
 * now, in both pool modes; each connection gets it set before its next
 * statement (state_sync_start). */
void session_pool_lid_set(struct session *s, uint64_t lid);
/* ... or it is not known (`why`): see s->values.lid_unknown. */
void session_pool_lid_unknown(struct session *s, const char *why);
/* state_sync_start: `SET last_insert_id` for `bc` when it has not had the
 * value halyard set (s->values.lid_epoch). */
hy_status_t session_pool_sync_lid(struct session *s, struct bconn *bc, struct varstate_cmds *out);
void session_pool_note(struct session *s);
/* FOUND_ROWS() and ROW_COUNT() of the session's previous statement, as
 * text, when the statement in flight runs where the server does not know
 * them (another connection, or one another session or halyard itself ran
 * a command on since); false when it does. */
bool session_pool_prev_values(const struct session *s, char *found_rows, char *row_count,
                              size_t len);
/* ... the same, whether the server knows them or not. */
void session_pool_values(const struct session *s, char *found_rows, char *row_count, size_t len);
/* A statement halyard answered from elsewhere (every group) ended: a
 * result set of `n` rows (`rows`), an OK of `n` affected rows, or an error
 * (`err`). No connection holds these values: halyard gives them. */
void session_pool_values_set(struct session *s, bool rows, uint64_t n, bool err);
/* A command halyard ran for itself on `bc` (a SET, a SELECT...) is
 * answered: the server's FOUND_ROWS() and ROW_COUNT() there are no longer
 * the session's. */
void session_pool_internal_ran(struct session *s, const struct bconn *bc);
bool session_pool_release(struct session *s);
/* A parked XA branch's connection of group view `view` (session_xa.c), its
 * transaction ended cleanly: to the pool, as give_back would, when nothing
 * of the session is on it; false: the caller closes it. */
bool session_pool_give_parked(struct session *s, struct bconn *bc, struct config *view);
/* The client statement's answer ends in this ERR (whole at pl): kept as
 * the session's diagnostics if SIGNAL can raise it again. */
void session_pool_diag_err(struct session *s, const uint8_t *pl, uint32_t len);
/* halyard answered the statement with this ERR (payload, `len` bytes) of
 * its own: the session's diagnostics area is that one error now, on no
 * connection; a statement reading it gets it raised first (SIGNAL), in
 * both pool modes, until a statement on a backend replaces it. */
void session_pool_own_err(struct session *s, const uint8_t *pl, uint32_t len);
/* s->query.cmd_diag reads the session's diagnostics, which are not on `bc`:
 * they are to be raised there first (session_pool_sync_diag). */
bool session_pool_diag_lost(const struct session *s, const struct bconn *bc);
hy_status_t session_pool_sync_diag(struct session *s, struct bconn *bc, struct varstate_cmds *out);
/* The answer to s->vars.sync's command `i` (INT_SYNC) was ERR `code`: true when
 * that is the raise it was meant to be. */
bool session_pool_sync_err_ok(struct session *s, uint32_t i, uint16_t code);
/* Backend `idx` is at its max_connections: true when the statement waits
 * for a connection (it runs again when one may be there), false when it is
 * to fail now. */
bool session_pool_wait(struct session *s, uint32_t idx);
void session_pool_init(struct session *s);
/* COM_RESET_CONNECTION, COM_CHANGE_USER: a fresh session. The connections
 * it gave back are taken as another session's from now on (brought all
 * the way: LAST_INSERT_ID() 0, no warnings, no statements). */
void session_pool_reset(struct session *s);
/* The session ends: out of the wait queue. */
void session_pool_forget(struct session *s);
hy_status_t session_pool_resize(struct session *s, uint32_t n);
hy_status_t session_pool_sync_extra(struct session *s, struct bconn *bc, struct varstate_cmds *out);
bool session_pool_take(struct session *s, uint32_t idx);

/* ---- session_state.c: session state, read-back, sync, internal queries */
void internal_query(struct session *s, enum internal_op op, const char *sql, int timeout_ms);
void internal_expect(struct session *s, enum internal_op op, uint8_t cmd, int timeout_ms);
void internal_send(struct session *s, enum internal_op op, uint8_t cmd, const void *body, size_t n,
                   int timeout_ms);
void state_clear(struct session *s);
/* COM_RESET_CONNECTION: the session's schema stays, as on the server. */
hy_status_t state_reset_keep_schema(struct session *s) HY_MUSTCHECK;
void state_idle(struct session *s);
/* The worker thread ends: free the sync's scratch state. */
void state_thread_exit(void);
bool state_commit(struct session *s, bool ok);
void state_moved_note(struct session *s);
bool state_moved_readback(struct session *s);
/* Between commands: after a DROP DATABASE, whether the connection that ran
 * it still has a schema (true: INT_DB_CHECK went out, the next command
 * waits); its answer (`ok`: read, `value` "1" when none is left; not read
 * a few times, the session ends). */
bool state_db_check(struct session *s);
void state_db_checked(struct session *s, bool ok, const char *value);
/* A statement on s->conns.cur, whose state is the session's, consumed the
 * one-shot SET TRANSACTION statements: they leave the session's state
 * (other connections, which did not consume them, are set back before
 * their next use: session_state.c), and the transaction it began is not
 * replayable. */
void state_txn_begun(struct session *s);
/* Whether statement `r` (its text `sql`) ends the one-shot SET TRANSACTION on
 * the connection it runs on; its end (command_done): the one-shot leaves
 * the session's state when it did, or when its answer says a transaction
 * is open. */
bool state_txn_next_ends(const struct classify_result *r, const char *sql, size_t len,
                         unsigned lex_opts);
void state_txn_next_note(struct session *s);
void state_prepare_cmd(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len);
void state_prepare_set(struct session *s, const struct classify_result *r, const uint8_t *p,
                       uint32_t len);
void state_readback_end(struct session *s);
void state_prepare_diag(struct session *s, const uint8_t *p, uint32_t len);
void state_readback_send(struct session *s);
void state_readback_expect(struct session *s);
bool state_readback_in_flight(const struct session *s);
void state_sync_next(struct session *s);
void state_sync_start(struct session *s);

/* ---- session_colmeta.c: MARIADB_CLIENT_CACHE_METADATA toward the client */
enum meta_rc {
    META_PASS,   /* nothing to do here: the packet goes on as it is */
    META_WAIT,   /* wait: for more bytes, or for what is before it to go out */
    META_DONE,   /* handled: the packet (and any definitions left out) consumed */
    META_BROKEN, /* the tracker says the backend broke the protocol */
};
enum meta_rc meta_down(struct session *s, uint32_t len);

/* ---- session_ps.c: prepared statements */
void ps_backend_gone(struct session *s, uint32_t idx);
void ps_clear(struct session *s);
void ps_close(struct session *s, const uint8_t *p, uint32_t len);
bool ps_bulk_execute(struct session *s, uint8_t *p, uint32_t len, uint32_t avail);
bool ps_execute(struct session *s, uint8_t *p, uint32_t len, uint32_t avail);
/* The collation id a prepared statement's string parameters are written
 * in as text (ps_text_interpolate), 0 when not a safe one. */
uint16_t ps_scatter_charset(const struct session *s);
bool ps_fetch(struct session *s, uint8_t *p, uint32_t len);
bool ps_long_data(struct session *s, uint8_t *p, uint32_t len);
void ps_prepare_failed(struct session *s);
void ps_prepare_send(struct session *s);
void session_login_backend(struct session *s);
void session_creds(const struct session *s, const struct config_backend *be,
                   struct mysql_client_creds *cr);
hy_status_t ps_cache_fill(struct session *s, struct bconn *bc);
void ps_use_done(struct session *s);
void ps_env_done(struct session *s);
void ps_thread_exit(void);
void ps_prepare_ok(struct session *s, uint8_t *p, uint32_t len);
void ps_refuse(struct session *s, uint32_t len, uint16_t code, const char *sqlstate,
               const char *fmt, ...) HY_PRINTF(5, 6);
struct ps_backend **ps_remap_alloc(struct session *s, size_t n);
void ps_remap_apply(struct session *s, struct ps_backend **nbe, const struct config *to);
bool ps_reset(struct session *s, uint8_t *p, uint32_t len);
uint32_t ps_route_prepare(struct session *s, const uint8_t *p, uint32_t len, bool fits,
                          const struct classify_result *r);
bool request_skip_progress(struct session *s);

/* ---- session_login.c: the client's login */
/* The login part (s->login): made at accept and by COM_CHANGE_USER
 * (login_change_user: false when out of memory), freed when the login
 * ends, with what it holds (login_end: also when the session closes). */
bool login_begin(struct session *s);
void login_end(struct session *s);
struct mysql_change_user;
bool login_change_user(struct session *s, const struct mysql_change_user *cu);
/* A login waits on the session's timer: its answer held back, or a read
 * of the accounts; the command loop and the idle timer leave it be. */
bool session_login_waits(const struct session *s);
bool session_login_changing_user(const struct session *s);
/* The session's timer fired for the login's wait: true when it was its. */
bool login_timer(struct session *s);
void auth_check(struct session *s, const char *user, size_t user_len, const uint8_t *auth,
                size_t auth_len, uint8_t seq);
void login_finish(struct session *s);
/* The login waits for a read of the servers' accounts: look again. */
void users_wait_poll(struct session *s);
void session_handle_login(struct session *s);
void session_login_ok(struct session *s, uint8_t seq);
void session_proxy_header(struct session *s);

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
struct session_hooks {
    const char *name;                    /* the feature, for a reader */
    void (*on_done)(struct session *s);  /* command_done: the answer is complete */
    void (*on_close)(struct session *s); /* session_free: free what the feature holds */
};
void session_hooks_done(struct session *s);
void session_hooks_close(struct session *s);

/* ---- between the session module's files ---------------------------------
 * session.c: the command cycle, the answer's framing, the client socket */
void command_done(struct session *s);
/* Go idle and take the next command: the end of a command but command_done's. */
void command_end(struct session *s);
void command_send_own(struct session *s, uint8_t cmd, const uint8_t *pkt, size_t len);
void down_forward(struct session *s);
bool down_parse(struct session *s);
bool ensure_connected(struct session *s, uint32_t idx);

/* session_backend.c */
void backend_writable(struct session *s, struct bconn *bc);
void capture_value(struct session *s, const uint8_t *p, uint32_t len);
void internal_progress(struct session *s);
void session_backend_lost(struct session *s, struct bconn *bc, const char *why);
/* At a new statement: a held connection whose close (or the ERR a KILL
 * sends before it) the loop has seen but not yet delivered is lost now, as
 * its callback would have been first, so the statement never goes to it. */
void session_backend_reap_pending(struct session *s);
void session_backend_ready(struct session *s);

/* session.c: commands answered or rewritten here */
/* Our KILL no longer holds its target: answered (`accepted`: not refused
 * for no such thread or not the owner), or never to be. */
void command_kill_unhold(struct session *s, bool accepted);
/* A KILL statement halyard answers itself. */
enum kill_kind {
    KILL_NONE, /* not one: routed as it is (KILL QUERY ID, CURRENT_USER...) */
    KILL_ID,   /* KILL [HARD|SOFT] [QUERY|CONNECTION] id: k->id, k->query */
    KILL_USER, /* KILL [HARD|SOFT] [CONNECTION] USER name[@host]: k->user */
    KILL_QID,  /* KILL [HARD|SOFT] QUERY ID expr: k->qid (a number), else k->expr */
};
struct kill_stmt {
    const char *modifier; /* "", "HARD " or "SOFT " */
    bool query;
    uint32_t id;
    struct kill_user user;
    bool qid_number;             /* KILL_QID: the id is a number, k->qid */
    uint64_t qid;                /* ... */
    uint32_t expr_off, expr_len; /* ... else the expression, in the text */
};
enum kill_kind parse_kill(const char *sql, size_t len, struct kill_stmt *k);
/* Our own KILL (command_kill) is answered by the backend in terms of its
 * thread id; when it refuses, the client must read the id it gave. False
 * while the whole answer packet is not there yet. */
bool command_kill_answer(struct session *s, uint32_t len);
/* INT_KILL_QID answered: `ok` and the value read (NULL: none). */
void command_kill_qid_value(struct session *s, bool ok, const char *value);

/* session_reload.c */
bool primary_retry(struct session *s, const struct config_backend *be);
void primary_wait_cb(struct ev_loop *loop, ev_timer *w, int revents);
bool primary_wait_start(struct session *s);
/* A login that needs the primary (session_login_backend) finds none
 * usable, or (refused) its connect was refused: wait for one as a write
 * does (true), or fail as before (false). */
bool login_wait_start(struct session *s, bool refused);
void session_config_switch(struct session *s);
bool session_view_move(struct session *s, struct config *to);
struct config *session_group_cfg(struct config *full, const struct config *lcfg,
                                 const struct config_listener *listener);

/* session_shard.c: sessions of a listener with shards = true */
/* The groups part (s->groups): made at accept for a listener with
 * shards = true (false when out of memory; true, none made, for another
 * listener), freed with the session. Read through session_groups(): an
 * empty part for a session without one. */
bool session_groups_make(struct session *s);
/* A reload may turn shards on for the session's listener: before the
 * session moves to `to`, its part is made if `to` has its listener with
 * shards = true (false when out of memory: it does not move). */
bool session_groups_for(struct session *s, const struct config *to);
void session_groups_free(struct session *s);
extern const struct sess_groups session_no_groups;
static inline const struct sess_groups *session_groups(const struct session *s)
{
    return s->groups != NULL ? s->groups : &session_no_groups;
}
/* The learned map the session holds goes (a reload changed the config). */
void session_shard_forget_map(struct session *s);
/* The group the statement (`len` bytes of `text`; with sure_db, a
 * database name: COM_INIT_DB, the login's) runs on: the session moves
 * there and UINT32_MAX is returned, or ROUTE_SHARD (s->groups->shard_ref). A
 * statement that `stays` (COMMIT, SET...) is not moved by the session's
 * schema. Out of memory: the session is closing. */
uint32_t session_shard_route(struct session *s, const char *text, size_t len, bool sure_db,
                             bool stays, bool prepare, bool fanout_ok);
/* (`prepare`: a COM_STMT_PREPARE's text, whose key, if in parameters, is
 * read at each EXECUTE: only a refusal by key applies to it; `fanout_ok`:
 * a whole COM_QUERY, which may run on every group: ROUTE_FANOUT.)
 * The same for a prepared statement's text, `schema` (its PREPARE's)
 * standing for the session's; `key`, when not NULL, is the statement's
 * key decision already made (shard_key.h, its parameters read), in place
 * of one from the text. */
struct key_out;
uint32_t session_shard_route_schema(struct session *s, const char *text, size_t len,
                                    const char *schema, const struct key_out *key);
/* A sharded listener's EXECUTE (or bulk execute) of statement st: its key
 * decision (shard_key.h) into *ko, made from the text once per config and
 * kept in st, its key parameters read from the packet (`p`, `len` bytes,
 * `avail` at hand): PS_KEY_OK (*ko for session_shard_route_schema; a
 * refusal in it too), PS_KEY_WAIT (the rest of the packet is coming),
 * PS_KEY_NOMEM. */
enum ps_key { PS_KEY_OK, PS_KEY_WAIT, PS_KEY_NOMEM };
/* The character set (enum key_cs) of the string literals of the session's
 * statement texts now, for a PREPARE to keep (pstmt.h text_cs). */
uint8_t session_shard_text_cs(const struct session *s);
struct pstmt;
struct mysql_stmt_exec;
enum ps_key session_shard_ps_key(struct session *s, struct pstmt *st, const uint8_t *p,
                                 uint32_t len, uint32_t avail, bool bulk, struct key_out *ko);
/* Answer the statement session_shard_route() refused. */
void session_shard_refuse(struct session *s);
/* At login (and COM_CHANGE_USER), to the login schema's group; false
 * when refused (the ERR sent with `seq`, the session closing). */
bool session_shard_login(struct session *s, uint8_t seq);
/* Whether `schema` (NULL: none) lives on the session's group; true for a
 * session of an unsharded listener. */
bool session_schema_here(const struct session *s, const char *schema);
/* The schema backend connections log in to: the login's when it lives on
 * the session's group, else none. */
const char *session_login_db(const struct session *s);

/* session_sysview.c: the process list and status variables in the
 * client's terms (issue 33) */
/* Routing command `cmd` (payload `p`, `len` bytes, whole when `fits`):
 * whether it reads them. */
bool session_sysview_route(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len,
                           bool fits);
/* Its process list lists halyard's session ids: CONNECTION_ID() in it is
 * the session's too. */
bool session_sysview_ids(const struct session *s);
/* Its text is rewritten when it goes out (session_sysview_text). */
bool session_sysview_rewrites(const struct session *s);
/* s->conns.cur is ready for it: true, or false when halyard reads the server's
 * process-list columns first (INT_SYSVIEW; the command runs again after). */
bool session_sysview_ready(struct session *s);
/* INT_SYSVIEW answered: `cols` (when ok) the column names. */
void session_sysview_learned(struct session *s, bool ok, const char *cols);
/* A row of INT_SYSPEER's answer (`p`, `len` bytes); its end (`ok`:
 * not an error). */
void session_sysview_peer_row(struct session *s, const uint8_t *p, uint32_t len);
void session_sysview_peer_done(struct session *s, bool ok);
/* It goes out now on s->conns.cur: what its answer is read against. */
void session_sysview_begin(struct session *s);
/* The COM_QUERY packet it goes out as, *pkt (heap: header, command byte,
 * then *n bytes of text with CONNECTION_ID() in place already): its text
 * rewritten, in place (*pkt may move), the statement's own row showing the
 * client's text `orig` (`orig_len` bytes) as its INFO. False when out of
 * memory. */
bool session_sysview_packet(struct session *s, uint8_t **pkt, size_t *n, const char *orig,
                            size_t orig_len);
/* down_parse(): the packet (payload `len`) at down.scan: 0 to pass it,
 * 1 when halyard sent its own in place (or left it out), -1 to wait (more
 * bytes, or what is before it to go out first). */
int session_sysview_row(struct session *s, uint32_t len);
void session_sysview_free(struct session *s);
void session_sysview_thread_exit(void);

/* session_diag.c: the diagnostics area halyard holds (diag_local.h) */
struct diag_local;
/* The conditions of the statement just run on every group (taken: *d is
 * left empty); NULL: none held any more. */
void session_diag_set(struct session *s, struct diag_local *d);
void session_diag_drop(struct session *s);
/* s->values.ldiag is held and the COM_QUERY text reads the diagnostics: its
 * answer (or refusal) made ready, ROUTE_DIAG. */
uint32_t session_diag_route(struct session *s, const char *text, size_t len);
/* ROUTE_DIAG: send what session_diag_route made ready. */
void session_diag_answer(struct session *s);

/* session_cache.c: the query cache (cache.h). With the rule that matched
 * a text statement (NULL: none; rule_idx its index): ROUTE_CACHE for a hit,
 * else UINT32_MAX (a miss that may be kept is sent to the primary: r->hint). */
uint32_t session_cache_rules(struct session *s, uint8_t cmd, const struct config_rule *rule,
                             uint32_t rule_idx, struct classify_result *r, const char *text,
                             size_t len, bool fits);
/* A fill copies this answer's packets (down_parse peeks at them whole). */
bool session_cache_capturing(const struct session *s);
/* A packet of the answer (whole: all `len` bytes at pl). */
void session_cache_packet(struct session *s, const uint8_t *pl, uint32_t len, bool whole);
/* The command ended (command_done): a fill is kept or given up. */
/* A command that may have written has its answer's last packet parsed,
 * not yet relayed: the write is noted now, before the client has its OK,
 * so that no session's read that begins after the OK is served an answer
 * the reader has not yet seen the write drop (cache_get's gate). Noted at
 * command_done instead, a read on another worker could come between. */
void session_cache_answered(struct session *s);
void session_cache_done(struct session *s);
/* The command was abandoned: its fill given up. */
void session_cache_abandon(struct session *s);
/* The session moves from config `from` to `to` (a reload): when `to`
 * turns the cache on, what the session did before went unseen (a
 * temporary table made then may hide a table): it is tainted. */
void session_cache_config(struct session *s, const struct config *from, const struct config *to);
/* ROUTE_CACHE: send the hit. */
void session_cache_answer(struct session *s);
/* A command goes to a backend now (command_begin): if it writes, what is
 * read from here until its answer may predate it (cache_note_write). */
void session_cache_begin(struct session *s);
/* The COM_STMT_PREPARE being routed: 1 + the cache rule its text matched
 * (session_cache_rules), 0 = none; for ps_route_prepare. */
uint32_t session_cache_ps_rule(struct session *s);
/* A COM_STMT_EXECUTE of `st` (`len` bytes, `avail` of them at p; `ex` its
 * head, NULL when not read): true for a hit (session_cache_answer sends
 * it); else a miss that may be kept is armed (ps_route_execute sends it
 * to the primary). Notes whether it may write (read-your-writes). */
bool session_cache_execute(struct session *s, struct pstmt *st, const uint8_t *p, uint32_t len,
                           uint32_t avail, const struct mysql_stmt_exec *ex);
void session_cache_free(struct session *s);

/* The command being routed may (`ok`) go with its branch's XA START. */
void session_xa_pipe(struct session *s, bool ok);
/* session_xa.c, for a write on several groups in "xa" mode (session_fanout.c):
 * a new gtrid; the test-only failpoints (HALYARD_TEST_XA_FAILPOINT). */
void session_xa_gtrid(const struct session *s, char *out, size_t cap);
void session_xa_failpoint(const char *where);

/* session_fanout.c: one statement on every group, the answers merged */
/* The write just prepared (session_fanout_prepare_write) may generate
 * ids: each group's LAST_INSERT_ID() is read after it succeeded, and the
 * session's is what one server's would be (scatter_insert_id). first[g],
 * last[g]: where group g's rows are among those of the INSERT `text`
 * (`len` bytes, copied; a split of table `schema`.`table`); NULL for a
 * write of the same rows on every group. */
void session_fanout_want_lid(struct session *s, const uint32_t *first, const uint32_t *last,
                             const char *schema, const char *table, const char *text, size_t len);
/* Plan the statement (`len` bytes of text) into s->groups->fanout: ROUTE_FANOUT
 * (a refusal is answered by session_fanout_start, naming `about`, e.g.
 * "sharded table orders without a usable orders.customer_id", when not
 * NULL). Out of memory: the session is closing. */
uint32_t session_fanout_prepare(struct session *s, const char *text, size_t len, const char *about);
/* The same for a read joining a sharded table with reference tables only
 * (shard_key.h ref_join): its join is merged like one table's rows. */
uint32_t session_fanout_prepare_joined(struct session *s, const char *text, size_t len,
                                       const char *about, bool joins_ok);
/* A statement for every group refused with `why` (a 1105's text), by
 * session_fanout_start as any refusal. ROUTE_FANOUT. */
uint32_t session_fanout_refuse(struct session *s, const char *why);
/* The fan-out just prepared answers a COM_STMT_EXECUTE: its merged rows
 * go to the client as binary rows (ps_text.h). */
void session_fanout_binary(struct session *s);
/* A write on several groups (`texts[g]`, `lens[g]` bytes, for group g of
 * the session's config; NULL: none for g), reported per group: one OK
 * (affected rows summed with `sum`, else the first group's: copies of
 * the same rows) or a 1105 naming each group's outcome. `dml`: one
 * transaction per group, committed on all when every one succeeded, else
 * rolled back on all. Takes the texts (heap; texts[g] set to NULL). Inside
 * a transaction or with autocommit off it is refused. ROUTE_FANOUT. */
uint32_t session_fanout_prepare_write(struct session *s, char **texts, const size_t *lens, bool dml,
                                      bool sum);
/* Run s->groups->fanout (its request consumed): true while it runs (the client's
 * answer and the next command follow from the loop), false when it was
 * answered at once (refused, or every group failed). */
bool session_fanout_start(struct session *s);
/* A fan-out is running: the command loop waits. */
bool session_fanout_busy(const struct session *s);
/* The session ends: cancel and free its fan-out. */
void session_fanout_free(struct session *s);
/* A scatter read inside a transaction across groups ("xa", s->groups->xa): each
 * group's part runs on the session's own connection holding that group's
 * branch, one group after the other, while the client's statement waits
 * in `up` and is routed again after each step (session_next_command).
 * session_fanout_xa_wait(): at ROUTE_FANOUT, ready the next group's
 * branch (ensure_backend: its connection, state, XA START) and send its
 * part (INT_XREAD): true while the statement waits; false when every part
 * is in (or one failed): the statement is then answered as any fan-out
 * (session_fanout_start). */
bool session_fanout_xa_wait(struct session *s);
/* One packet of the part's answer (down_parse); `whole`: all of it at p. */
void session_fanout_xa_packet(struct session *s, const uint8_t *p, uint32_t len, bool whole);
void session_fanout_xa_part(struct session *s); /* INT_XREAD answered */
/* INT_XREAD's connection failed: the transaction is lost (its branch with
 * it): rolled back on every group, the client told. */
void session_fanout_xa_failed(struct session *s, const char *why);
/* The statement waiting in `up` is dropped (command_abandon): so is a
 * scatter read's unfinished XA run. */
void session_fanout_abandon(struct session *s);
/* session_begin.c: BEGIN answered by halyard on a sharded listener, run on
 * the group of the transaction's first statement (or, under "xa", XA START
 * on each group's) */
struct begin_form {
    char sql[64];   /* BEGIN, or START TRANSACTION with its characteristics */
    bool read_only; /* READ ONLY */
    bool snapshot;  /* WITH CONSISTENT SNAPSHOT */
};
/* BEGIN [WORK] or START TRANSACTION [characteristic, ...], alone (a ';'
 * may end it); the form, normalized. False for anything else. */
bool session_begin_parse(const char *t, size_t len, struct begin_form *f);
/* The text is the word w1 (and w2 unless NULL), then at most a ';'. */
bool session_text_is(const char *t, size_t len, const char *w1, const char *w2);
/* COMMIT [WORK] or ROLLBACK [WORK] alone; *commit says which. */
bool session_plain_end(const char *t, size_t len, bool *commit);
/* ROUTE_XA for a BEGIN halyard answers, a COMMIT or ROLLBACK of one not
 * yet bound to a group, or what session_xa_route() takes; else UINT32_MAX. */
uint32_t session_begin_route(struct session *s, const struct classify_result *r, const char *text,
                             size_t len);
/* Run ROUTE_XA's decision, its packet consumed: as session_xa_run(). */
bool session_begin_run(struct session *s);
/* ensure_backend(): `bc` (backend idx) is ready for the statement: true
 * when the transaction is begun there (or none is pending), false when a
 * BEGIN or XA START was sent (the statement runs again after it). */
bool session_begin_ready(struct session *s, struct bconn *bc, uint32_t idx);
void session_begin_answer(struct session *s);    /* INT_BEGIN answered */
void session_begin_committed(struct session *s); /* INT_PRECOMMIT answered */
/* INT_PRECOMMIT's connection failed: the client gets ERR 1105. */
void session_begin_commit_failed(struct session *s, const char *why);
/* The statement waiting in `up` is dropped with ERR 1105 `msg`. */
void session_begin_drop(struct session *s, const char *msg);
/* The session ends, changes user or is reset: no BEGIN pending. */
void session_begin_forget(struct session *s);
/* An OK of halyard's own with these status flags. */

/* session_xa.c: transactions across groups as XA (shards.cross_group_transactions) */
enum {
    XA_CMD_BEGIN = 1,
    XA_CMD_COMMIT,
    XA_CMD_ROLLBACK,
    BEGIN_CMD_DEFER,  /* session_begin.c: answer the BEGIN, keep it */
    BEGIN_CMD_END,    /* ... COMMIT or ROLLBACK of one not run yet */
    BEGIN_CMD_COMMIT, /* ... a BEGIN inside a transaction: COMMIT it first */
};
/* ROUTE_XA for a statement that begins or ends such a transaction (or is
 * refused in one), else UINT32_MAX. */
uint32_t session_xa_route(struct session *s, const struct classify_result *r, const char *text,
                          size_t len);
/* Run what session_xa_route() decided, its packet consumed: true when a
 * step is in flight (the answer comes later), false when answered. */
bool session_xa_run(struct session *s);
/* The transaction's branch on backend `name` died (s->route.trx_lost): roll the
 * others back, then answer OK (`rollback`) or SERR_TRX_LOST. As run. */
bool session_xa_lost(struct session *s, bool rollback, const char *name);
/* ensure_backend(): `bc`, the group's primary, is ready: true when it
 * holds the group's branch, false when XA START was sent (the command runs
 * again after it). */
bool session_xa_branch_ready(struct session *s, struct bconn *bc);
void session_xa_answer(struct session *s);                  /* INT_XA answered */
void session_xa_failed(struct session *s, const char *why); /* INT_XA's connection failed */
/* bconn_close() of a connection holding a branch (bc->xa). */
void session_xa_gone(struct session *s, struct bconn *bc);
/* The first packet (payload `len`, at down.scan) of an answer whose
 * command went with its branch's XA START (s->groups->xa_piped): -1 to wait for
 * more bytes, 1 when it was START's answer, taken out of `down` (an OK:
 * the statement's answer follows; an ERR: the statement did not run, the
 * client has halyard's ERR, the answer is done), 0 to parse it as usual. */
int session_xa_start_answer(struct session *s, uint32_t len);
/* Whether bc holds a branch whose answer to a posted step is still to be
 * read (its readability is not a close). */
bool session_xa_awaits(const struct session *s, const struct bconn *bc);
/* A parked branch's connection spoke or closed while idle. */
void session_xa_parked_lost(struct session *s, struct bconn *bc, const char *why);
/* session_view_move() to `to`: the parked branch of its group back into
 * nbc, at the primary's slot. */
void session_xa_restore(struct session *s, const struct config *to, struct bconn **nbc,
                        uint16_t primary);
/* A statement of the transaction got `code` (1213): the server rolled its
 * branch back, so the others are to be rolled back before the next
 * command (session_xa_abort), and the session is out of the transaction,
 * as with a plain one. */
void session_xa_server_rollback(struct session *s, uint16_t code);
bool session_xa_rollback_due(const struct session *s);
/* Roll every branch back, the client told nothing (it had the error):
 * true when a step is in flight. */
bool session_xa_abort(struct session *s);
/* The session ends, changes user or is reset: the branches' connections
 * closed (the servers roll back what they hold), s->groups->xa freed. */
void session_xa_discard(struct session *s);

/* session_route.c */
bool may_hold_secret(const char *text, size_t len, unsigned lex_opts);
/* Keep the first bytes of the statement the command at `p` runs, for
 * `show sessions` (session_show.c). */
void session_note_statement(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t avail);
/* The backend a session writes to: the primary (the first usable one); with
 * several Galera writers its own while it stays usable, else one picked by
 * `spread` (the session id) among them (backend_writer_index). */
uint16_t primary_now(const struct config *cfg, uint32_t spread, int current);
void query_end(struct session *s, bool error);
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
void session_lex_follow(struct session *s, uint16_t status);
void session_track_note(struct session *s, const uint8_t *pl, uint32_t len);
/* The packet of `len` bytes at io.down.scan, of an answer to the client,
 * whose first byte has arrived and is 0x00 or 0xfe:
 * when it is an OK from a backend connection with CLIENT_SESSION_TRACK,
 * note whether a write set user variables unseen (a trigger's), and make
 * it what the server sends the client (mysql_ok_track_filter). Its new
 * length; -1 when more bytes must come first. session_state.c. */
int64_t session_track_ok(struct session *s, uint32_t len);
/* session_track_ok() for a packet that starts as an OK does; else `len`,
 * at the cost of a look at its first byte. */
static inline int64_t session_track_peek(struct session *s, uint32_t len)
{
    const struct stream *st = &s->io.down;
    if (stream_unparsed(st) <= MYSQL_HEADER_SIZE)
        return len;
    uint8_t first = st->b->data[st->scan + MYSQL_HEADER_SIZE];
    return first == MYSQL_OK || first == MYSQL_EOF ? session_track_ok(s, len) : (int64_t)len;
}
/* Whether `bc` tracks state changes as halyard needs before it runs the
 * command in flight: session_track_state_change = ON on the primary, for
 * a write. */
bool session_track_ready(const struct session *s, const struct bconn *bc);
/* What turns it on, appended to `out` when `bc` is not ready so (state_sync_start). */
hy_status_t session_track_sync(struct session *s, struct bconn *bc, struct varstate_cmds *out);
/* Whether a statement's text names session_track_state_change: a write
 * under `SET STATEMENT session_track_state_change = 0 FOR` reports no
 * state change, so its user variables are taken as a CALL's. */
bool session_track_named(const char *text, size_t len);
/* A read-back `rb` of the session's SET on s->conns.cur ended: a SET of
 * session_track_state_change there is undone before the next statement. */
void session_track_readback(struct session *s, const struct readback *rb);

#endif /* HALYARD_SESSION_INT_H */
