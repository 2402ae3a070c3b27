/*
 * session_state.h: the session's state on its connections: read-back, sync (session_state.c).
 * Internal to the session module: included by the files of src/session/
 * that use it (session_int.h holds what they all share).
 */
#ifndef HALYARD_SESSION_STATE_H
#define HALYARD_SESSION_STATE_H

#include "session_int.h"

void state_clear(struct session *s);
/* The session ends (on_close, session_hooks.c): its state, its pending
 * change and its sync's commands freed. */
void state_free(struct session *s);
/* The collation id whose character set the server lexes a statement's text
 * in (character_set_client, as the session set it), for ps_text.h. */
uint16_t state_client_charset(const struct session *s);
/* COM_RESET_CONNECTION (and the one COM_CHANGE_USER begins with): the
 * session's schema and role stay, as on the server; *keep_pin: the session
 * stays pinned (a role set while pinned). HY_NOMEM: the session must end. */
hy_status_t state_reset(struct session *s, bool *keep_pin) HY_MUSTCHECK;
void state_idle(struct session *s);
/* The session was pinned to its primary (on_pin, session_hooks.c): its
 * state as values goes (the primary's connection has it), unless pooled. */
void state_pinned(struct session *s);
/* The worker thread ends: free the sync's scratch state. */
void state_thread_exit(void);
/* The command ended (on_end, session_hooks.c): what it set kept in the
 * session's state, a one-shot SET TRANSACTION it consumed and a value it
 * may have moved noted. True when the variables it set are read back: the
 * read-back's answer follows its own (on_follow: state_readback_expect). */
bool state_end(struct session *s);
/* Between commands: after a DROP DATABASE, whether the connection that ran
 * it still has a schema (true: int_db_check went out, the next command
 * waits); its answer (`ok`: read, `value` "1" when none is left; not read
 * a few times, the session ends). */
bool state_readback_due(struct session *s);
/* Two rows' steps between commands (`between`, session_hooks.c): the
 * read-backs (state_readback_due); an old primary's user variables
 * (session_uvars_ask). */
enum hook_verdict state_between(struct session *s);
enum hook_verdict uvars_between(struct session *s);
extern const struct internal_cmd int_db_check;
extern const struct internal_cmd int_readback; /* reading back the values a SET assigned */
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
/* Whether the session's state holds statements: without them it holds no
 * one-shot SET TRANSACTION for a statement to end, and state_txn_next_ends()
 * need not be asked (it lexes the text's first word). */
bool state_holds_stmts(const struct session *s);
void state_prepare_cmd(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len);
void state_prepare_set(struct session *s, const struct classify_result *r, const uint8_t *p,
                       uint32_t len);
void state_command_serves(struct session *s);
void state_prepare_diag(struct session *s, const uint8_t *p, uint32_t len);
void state_readback_send(struct session *s);
void state_answer_end(struct session *s);
void state_readback_expect(struct session *s);
bool state_readback_in_flight(const struct session *s);
/* The session is in no schema, as far as its state goes: a new login, a
 * schema dropped. */
void state_schema_clear(struct session *s);
/* A command ended (on_done, session_hooks.c): a USE (COM_INIT_DB, or its
 * text) that succeeded puts the session in its schema (the process list
 * shows it); one that failed leaves it where it was. */
void state_done(struct session *s);
/* The routed command will not run (on_abandon, session_hooks.c): the
 * change it began is not pending. */
void state_change_drop(struct session *s);
/* Bring s->conns.cur (ready, idle) up to the session's state, for a
 * command that waits (SS_WAIT_BACKEND): true when nothing had to be sent,
 * and s->conns.cur now has the session's state (the caller goes on with
 * the command); false when the sync's commands are under way (the
 * command then goes on from session_next_command once they are
 * answered), or the session closes, or waits for another connection. */
bool state_sync_now(struct session *s);
/* Whether `bc` has the session's state, and tracks its changes as the
 * command needs (synced, session_hooks.c); else state_sync_now brings it. */
bool state_synced(const struct session *s, const struct bconn *bc);

#endif /* HALYARD_SESSION_STATE_H */
