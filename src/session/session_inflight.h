/*
 * session_inflight.h: resolve_in_flight_writes: the marks of writes in flight (session_inflight.c).
 * Internal to the session module: included by the files of src/session/
 * that use it (session_int.h holds what they all share).
 */
#ifndef HALYARD_SESSION_INFLIGHT_H
#define HALYARD_SESSION_INFLIGHT_H

#include "session_int.h"

/* ---- session_inflight.c: resolve_in_flight_writes */
/* The on_classified hook: a classified COM_QUERY (`avail` bytes of it at
 * p, all when `fits`): whether it is a write to mark, or a COMMIT. */
void session_inflight_note(struct session *s, const struct classify_result *r, const uint8_t *p,
                           uint32_t avail, bool fits);
/* The statement goes to backend idx: true when it was sent marked (the
 * caller sends nothing). */
bool session_inflight_send(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len,
                           bool fits, uint32_t idx);
/* The statement went as halyard rewrote it (the on_send hook): unmarked. */
void session_inflight_unmarked(struct session *s);
/* The open transaction was replayed on another connection (session_replay.c):
 * its statements there went unmarked, so its COMMIT is left unresolved. */
void session_inflight_replayed(struct session *s);
/* A write of the open transaction went to a non-transactional table: its
 * COMMIT in flight is unknown, as after session_inflight_replayed. */
void session_inflight_nontrx(struct session *s);
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
/* session_conn_lost (the on_lost hook, for the client's command in
 * flight): true when the write in flight is being resolved
 * (the session waits, then answers). */
bool session_inflight_lost(struct session *s, struct bconn *bc);
void session_inflight_free(struct session *s);

#endif /* HALYARD_SESSION_INFLIGHT_H */
