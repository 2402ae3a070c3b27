/*
 * session_replay.h: transaction_replay: a transaction lost with its primary, run again
 * (session_replay.c). Internal to the session module: included by the files of src/session/ that
 * use it (session_int.h holds what they all share).
 */
#ifndef HALYARD_SESSION_REPLAY_H
#define HALYARD_SESSION_REPLAY_H

#include "session_int.h"

/* ---- session_replay.c: transaction_replay */
/* What session_replay_next did with the client's statement: nothing (the
 * caller goes on), or the session waits for the replay (it comes back). */
enum { REPLAY_NO = 0, REPLAY_STOP };
/* The on_classified hook: the statement classified as `r` (COM_QUERY `p`,
 * `avail` bytes of it there, all when `fits`): whether it may run again. */
void session_replay_note(struct session *s, const struct classify_result *r, const uint8_t *p,
                         uint32_t avail, bool fits);
/* The on_send hook: the client's command goes to s->conns.cur (hc->rewritten:
 * with other text than the client's). */
void session_replay_sent(struct session *s, const struct hook_cmd *hc);
/* The wants_whole and on_packet hooks: whether the answer read now is
 * summed (its packets are then read whole), and each packet of it before
 * the tracker is fed. */
bool session_replay_sums(const struct session *s);
void session_replay_packet(struct session *s, const struct hook_packet *pk);
/* command_done: the answer ended (s->route.status is the primary's). */
void session_replay_done(struct session *s);
/* The transaction being recorded cannot be replayed, for `why`. */
void session_replay_refuse(struct session *s, const char *why);
/* The on_trx_lost hook: the transaction was lost with backend `name`:
 * armed, to be replayed at the client's next statement. */
void session_replay_arm(struct session *s, struct bconn *bc, const char *name);
/* The on_lost hook: the primary died with the client's statement in
 * flight (true: it is replayed with the transaction, the session goes on;
 * false and hl->nontrx_write: a write to a table not known to be
 * transactional, which may have changed it for good), or the replay's own
 * connection failed (true: it waits for another primary). */
bool session_replay_lost(struct session *s, struct hook_lost *hl);
/* The after_lost hook: a client's command when the session's transaction
 * was lost with its backend (s->route.trx_lost): replayed first, else
 * answered 1927. */
enum hook_verdict session_replay_after_lost(struct session *s, const struct hook_cmd *c);
/* next_route: the client's statement found the transaction lost. */
int session_replay_next(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len);
/* A statement of the transaction run again on the new primary. */
extern const struct internal_cmd int_replay;
void session_replay_wait_cb(struct ev_loop *loop, ev_timer *w, int revents);
void session_replay_free(struct session *s);
bool session_replay_commit_lost(struct session *s, const char *name, uint8_t *pkt, size_t cap,
                                uint32_t *len, char *why, size_t whylen);
/* The record is forgotten (the transaction's fate is known). */
void session_replay_forget(struct session *s);

#endif /* HALYARD_SESSION_REPLAY_H */
