/*
 * session_xa.h: transactions across groups as XA (session_xa.c).
 * Internal to the session module: included by the files of src/session/
 * that use it (session_int.h holds what they all share).
 */
#ifndef HALYARD_SESSION_XA_H
#define HALYARD_SESSION_XA_H

#include "session_int.h"

/* The command being routed may (`ok`) go with its branch's XA START. */
void session_xa_pipe(struct session *s, bool ok);
/* session_xa.c, for a write on several groups in "xa" mode (session_fanout.c):
 * a new gtrid; the test-only failpoints (HALYARD_TEST_XA_FAILPOINT). */
void session_xa_gtrid(const struct session *s, char *out, size_t cap);
void session_xa_failpoint(const char *where);

/* session_xa.c: transactions across groups as XA (shards.cross_group_transactions) */
enum {
    XA_CMD_BEGIN = 1,
    XA_CMD_COMMIT,
    XA_CMD_ROLLBACK,
    BEGIN_CMD_DEFER,  /* session_begin.c: answer the BEGIN, keep it */
    BEGIN_CMD_END,    /* ... COMMIT or ROLLBACK of one not run yet */
    BEGIN_CMD_COMMIT, /* ... a BEGIN inside a transaction: COMMIT it first */
};
/* What session_begin_route() read of the statement's text, alone (one
 * statement, no XA keyword): a plain BEGIN [WORK] or START TRANSACTION
 * [READ WRITE]; COMMIT [WORK] or ROLLBACK [WORK] (commit says which). */
struct xa_text {
    bool plain_begin;
    bool plain_end;
    bool commit;
};
/* ROUTE_XA for a statement that begins or ends such a transaction (or is
 * refused in one), else UINT32_MAX. */
uint32_t session_xa_route(struct session *s, const struct classify_result *r,
                          const struct xa_text *xt);
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
extern const struct internal_cmd int_xa; /* a step of the transaction on a branch */
/* bconn_close() of a connection holding a branch (bc->xa). */
void session_xa_gone(struct session *s, struct bconn *bc);
/* A connection of the session closes (on_conn_gone, session_hooks.c):
 * session_xa_gone when it held a branch of a transaction across groups. */
void session_xa_conn_gone(struct session *s, struct bconn *bc);
/* The first packet (payload `len`, at down.scan) of an answer whose
 * command went with its branch's XA START (s->feat.groups->xa_piped), the
 * answer's packet filter (session_hooks.c): HOOK_WAIT for more bytes,
 * HOOK_TAKEN when it was START's answer, taken out of `down` (an OK: the
 * statement's answer follows; an ERR: the statement did not run, the
 * client has halyard's ERR, the answer is done), HOOK_PASS to parse it as
 * usual. */
enum hook_verdict session_xa_start_answer(struct session *s, uint32_t len);
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
 * closed (the servers roll back what they hold), s->feat.groups->xa freed. */
void session_xa_discard(struct session *s);

#endif /* HALYARD_SESSION_XA_H */
