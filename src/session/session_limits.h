/*
 * session_limits.h: fair-share limits in the command cycle
 * (session_limits.c). Internal to the session module: included by the
 * files of src/session/ that use it (session_int.h holds what they all
 * share).
 */
#ifndef HALYARD_SESSION_LIMITS_H
#define HALYARD_SESSION_LIMITS_H

#include "session_int.h"

/* session_limits.c: fair-share limits (limits.h). Before the statement at
 * up.scan goes to a backend (`p` its payload, the command byte first:
 * COM_QUERY, whose limit session_route may have found by its digest, or
 * COM_STMT_EXECUTE, found by its statement's; `len` payload bytes, `avail`
 * of them in the buffer, `fits` whole in it): go on; wait (parked; the
 * cycle takes it up again); or refused,
 * taken from `up` and answered with error 1226 (only a statement that
 * fits is refused).
 * session_limit_waited_us: how long the statement waited in a limit's
 * queue (0: it did not), until it ends.
 * session_limit_done: the statement ended; session_limit_free: the session
 * closes. */
enum sess_limit_step { SLIM_GO, SLIM_WAIT, SLIM_REFUSED };
enum sess_limit_step session_limit_enter(struct session *s, const uint8_t *p, uint32_t len,
                                         uint32_t avail, bool fits);
uint64_t session_limit_waited_us(const struct session *s);
void session_limit_done(struct session *s);
void session_limit_free(struct session *s);
/* A KILL QUERY ends the statement waiting in a limit's queue: true when it
 * waited there (it leaves the queue, its place given up; the caller
 * answers it), false when it waits for no limit. */
bool session_limit_wait_cancel(struct session *s);

#endif /* HALYARD_SESSION_LIMITS_H */
