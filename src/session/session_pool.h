/*
 * session_pool.h: pool_mode = "transaction": connections given back between transactions
 * (session_pool.c). Internal to the session module: included by the files of src/session/ that use
 * it (session_int.h holds what they all share).
 */
#ifndef HALYARD_SESSION_POOL_H
#define HALYARD_SESSION_POOL_H

#include "session_int.h"

/* ---- session_pool.c: pool_mode = "transaction" */
/* What a verb of the pool leaves to the backend stage (session_backend.c),
 * which carries it out: the pool keeps the books of a connection's
 * hand-over and calls neither the cycle nor a feature. */
enum pool_verdict {
    POOL_DONE,     /* nothing to do: kept, or given back */
    POOL_TAKEN,    /* it is the session's (s->conns.cur): its thread is published */
    POOL_CLOSE,    /* close it (bconn_close) */
    POOL_READ_LID, /* read its LAST_INSERT_ID() first (backend_lid_read) */
    POOL_GIVE,     /* it may go back (session_pool_give), no KILL being on its way */
};
const char *session_pool_hold(const struct session *s, const struct bconn *bc);
/* "db1: transaction; db2: read-only transaction" into out ("" = none). */
void session_pool_holds(const struct session *s, char *out, size_t len);
/* A write halyard ran on several groups generated `lid` first: the
 * session's LAST_INSERT_ID() (and @@identity, @@last_insert_id) is that
 * now, in both pool modes; each connection gets it set before its next
 * statement (state_sync_now). */
void session_pool_lid_set(struct session *s, uint64_t lid);
/* The session's LAST_INSERT_ID() left unread on a pooled connection
 * (s->values.lid_lent): _drop forgets it there (the value is known or
 * reset, or the session ends); _orphan: `bc`, holding its owner's, closes
 * (lost); _fetch takes it back before a statement runs on another backend
 * (POOL_TAKEN, or POOL_READ_LID: to be read there; POOL_DONE: not taken);
 * _for_owner: `bc` holds the value of the session that gave it back, to
 * be read first; _read: the value read on `bc` (NULL: not read) is its
 * owner's now, false when `bc` is to be closed (not a number). */
void session_pool_lid_drop(struct session *s);
void session_pool_lid_orphan(struct bconn *bc);
/* A connection of the session closes (on_conn_gone, session_hooks.c): one
 * that held another session's LAST_INSERT_ID() tells it the value is lost. */
void session_pool_conn_gone(struct session *s, struct bconn *bc);
/* The session is freed (on_close): its LAST_INSERT_ID() on a pooled
 * connection, unread, and its pool key go. */
void session_pool_close(struct session *s);
enum pool_verdict session_pool_lid_fetch(struct session *s);
bool session_pool_lid_for_owner(const struct session *s, const struct bconn *bc);
bool session_pool_lid_read(struct session *s, struct bconn *bc, const char *value);
/* Before a statement: true when it waits for another session that took
 * the connection holding this session's value and reads it for it (woken
 * by that read); the value found lost otherwise, when not in the pool. */
bool session_pool_lid_wait(struct session *s);
/* A reload (session_config_coming): an idle session takes back the idle
 * connection that holds its value unread, before the pool drops the old
 * config's (the session carries it to the new config as it carries those
 * it holds); _end, once the session moved (or could not), gives it back. */
void session_pool_lid_keep(struct session *s);
bool session_pool_lid_keep_end(struct session *s); /* true: to give back (backend_release) */
/* ... or it is not known (`why`): see s->values.lid_unknown. */
void session_pool_lid_unknown(struct session *s, const char *why);
/* state_sync_now: `SET last_insert_id` for `bc` when it has not had the
 * value halyard set (s->values.lid_epoch). */
hy_status_t session_pool_sync_lid(struct session *s, struct bconn *bc, struct varstate_cmds *out);
void session_pool_note(struct session *s);
/* A command taken (on_take): a COM_PING's ROW_COUNT() is 0, as MariaDB
 * sets it, whether the server answers the ping or halyard does (a session
 * that holds no connection to the primary). */
struct hook_cmd;
void session_pool_cmd_taken(struct session *s, const struct hook_cmd *hc);
/* FOUND_ROWS() and ROW_COUNT() of the session's previous statement, as
 * text in num[0] and num[1], when the statement in flight runs where the
 * server does not know them (another connection, or one another session
 * or halyard itself ran a command on since): true. `value` (may be NULL)
 * is classify_calls_rewrite's: its FOUND_ROWS and ROW_COUNT entries point
 * at those texts, or are NULL for the one the server knows there, whose
 * call stays (ROW_COUNT() after a COM_STMT_BULK_EXECUTE, which halyard
 * does not know, on its connection); both NULL when it returns false, the
 * server knowing both. */
bool session_pool_prev_values(const struct session *s, char num[2][CLASSIFY_CALL_VALUE_MAX + 1],
                              const char **value);
/* A statement halyard answered from elsewhere (every group) ended: a
 * result set of `n` rows (`rows`), an OK of `n` affected rows, or an error
 * (`err`). No connection holds these values: halyard gives them. */
void session_pool_values_set(struct session *s, bool rows, uint64_t n, bool err);
/* A command halyard ran for itself on `bc` (a SET, a SELECT...) is
 * answered: the server's FOUND_ROWS() and ROW_COUNT() there are no longer
 * the session's. */
void session_pool_internal_ran(struct session *s, const struct bconn *bc);
/* Between statements (backend_release), for each connection: _may_go
 * says whether it stays (POOL_DONE), closes, has its LAST_INSERT_ID() read
 * first, or may go back (POOL_GIVE); _give gives it to the pool (POOL_DONE)
 * or says to close it (POOL_CLOSE: its statements could not be kept, or
 * another worker waits for its slot). */
enum pool_verdict session_pool_may_go(const struct session *s, const struct bconn *bc);
enum pool_verdict session_pool_give(struct session *s, struct bconn *bc);
/* The session's user or login schema (who.user, who.db) is about to
 * change, or the session ends: the pool's name for them is given back. */
void session_pool_name_drop(struct session *s);
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
/* The session's diagnostics area is no longer the error kept to be raised
 * again (diag_err): it is halyard's own (session_diag.c), or, `hit`, a
 * cache hit's, empty, in place of its connection's (values.diag_hit). */
void session_pool_diag_replaced(struct session *s, bool hit);
/* A statement on a backend replaced the session's diagnostics area there:
 * no longer a cache hit's. */
void session_pool_diag_unhit(struct session *s);
/* s->query.cmd_diag reads the session's diagnostics, which are not on `bc`:
 * they are to be raised there first (session_pool_sync_diag). */
bool session_pool_diag_lost(const struct session *s, const struct bconn *bc);
hy_status_t session_pool_sync_diag(struct session *s, struct bconn *bc, struct varstate_cmds *out);
/* The answer to s->vars.sync's command `i` (int_sync) was ERR `code`: true when
 * that is the raise it was meant to be. */
bool session_pool_sync_err_ok(struct session *s, uint32_t i, uint16_t code);
/* Backend `idx` is at its max_connections: true when the statement waits
 * for a connection (it runs again when one may be there), false when it is
 * to fail now. */
bool session_pool_wait(struct session *s, uint32_t idx);
/* The session begins (on_create, session_hooks.c): a lease's mark for
 * each backend of its config, its epoch. False when out of memory. */
bool session_pool_create(struct session *s);
/* COM_RESET_CONNECTION, COM_CHANGE_USER: a fresh session. The connections
 * it gave back are taken as another session's from now on (brought all
 * the way: LAST_INSERT_ID() 0, no warnings, no statements). */
void session_pool_reset(struct session *s);
/* The session ends: out of the wait queue. */
void session_pool_forget(struct session *s);
/* A KILL QUERY ends the statement waiting for a connection at a backend's
 * max_connections: true when it waited (it leaves the queue; the caller
 * answers it), else false. */
bool session_pool_wait_cancel(struct session *s);
hy_status_t session_pool_resize(struct session *s, uint32_t n);
hy_status_t session_pool_sync_extra(struct session *s, struct bconn *bc, struct varstate_cmds *out);
/* A pooled connection to backend `idx` for the session: true when it took
 * one (s->conns.cur; the caller publishes its thread: backend_take). */
bool session_pool_take(struct session *s, uint32_t idx);

#endif /* HALYARD_SESSION_POOL_H */
