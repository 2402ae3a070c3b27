/*
 * session_track.h: session_track_state_change toward the client and the backends
 * (session_state_tracking.c). Internal to the session module: included by the files of src/session/
 * that use it (session_int.h holds what they all share).
 */
#ifndef HALYARD_SESSION_TRACK_H
#define HALYARD_SESSION_TRACK_H

#include "session_int.h"

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
/* The open transaction's writes to non-transactional tables (MyISAM,
 * Aria...), which a rollback leaves, as the server's transaction-state
 * tracker reports them (session_track_transaction_info, its 'w'). */
enum trx_nontrx {
    TRX_NONTRX_UNKNOWN = 0, /* no report, or a statement ended in an error since */
    TRX_NONTRX_NONE,        /* the last report: none */
    TRX_NONTRX_WROTE,       /* the last report: some */
};
/* A command on the primary ended in an ERR: a write that failed half way
 * may have changed such a table, reported only with the next OK. */
void session_track_err(struct session *s);
/* What is known of the writes to such tables of the transaction on `bc`
 * (NULL: not known), lost with it; `in_flight`: a statement of it that may
 * write was in flight. */
enum trx_nontrx session_track_lost(const struct session *s, const struct bconn *bc, bool in_flight);
/* The on_lost and on_trx_lost hooks: what of the transaction lost stays,
 * for the 1927 the client gets (s->route.trx_lost_keeps, session_err). */
bool session_track_on_lost(struct session *s, struct hook_lost *hl);
void session_track_trx_lost(struct session *s, struct bconn *bc, const char *name);
/* Whether `bc` tracks state changes as halyard needs before it runs the
 * command in flight: session_track_state_change = ON on the primary, for
 * a write. */
bool session_track_ready(const struct session *s, const struct bconn *bc);
/* What turns it on, appended to `out` when `bc` is not ready so (state_sync_now). */
hy_status_t session_track_sync(struct session *s, struct bconn *bc, struct varstate_cmds *out);
/* Whether a statement's text names session_track_state_change: a write
 * under `SET STATEMENT session_track_state_change = 0 FOR` reports no
 * state change, so its user variables are taken as a CALL's. */
bool session_track_named(const char *text, size_t len);
/* Whether it names session_track_transaction_info: the client sets its own
 * value, on a connection where halyard turned it off first. */
bool session_track_trx_named(const char *text, size_t len);
/* A read-back `rb` of the session's SET on s->conns.cur ended: a SET of
 * session_track_state_change there is undone before the next statement. */
void session_track_readback(struct session *s, const struct readback *rb);

#endif /* HALYARD_SESSION_TRACK_H */
