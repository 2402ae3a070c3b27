/*
 * session_limits.h: fair-share limits in the command cycle
 * (session_limits.c). Internal to the session module: included by the
 * files of src/session/ that use it (session_int.h holds what they all
 * share).
 */
#ifndef HALYARD_SESSION_LIMITS_H
#define HALYARD_SESSION_LIMITS_H

#include "session_int.h"

/* session_limits.c: fair-share limits (limits.h), the limit stage's hold
 * hook. Before the statement at up.scan goes to a backend (hc->p its
 * payload, the command byte first: COM_QUERY, whose limit session_route
 * may have found by its digest, or COM_STMT_EXECUTE, found by its
 * statement's; hc->len payload bytes, hc->avail of them in the buffer,
 * hc->fits whole in it): it goes on (HOOK_PASS); waits (HOOK_WAIT, parked;
 * the limit's timer takes it up again); or is refused (HOOK_TAKEN), taken
 * from `up` and answered with error 1226 (only a statement that fits is
 * refused). How long it waited is the cycle's (the wait's begin and end).
 * session_limit_done: the statement ended; session_limit_free: the session
 * closes. */
enum hook_verdict session_limit_hold(struct session *s, const struct hook_cmd *hc);
void session_limit_done(struct session *s);
void session_limit_free(struct session *s);
/* A KILL QUERY ends the statement waiting in a limit's queue: true when it
 * waited there (it leaves the queue, its place given up; the caller
 * answers it), false when it waits for no limit. */
bool session_limit_wait_cancel(struct session *s);

#endif /* HALYARD_SESSION_LIMITS_H */
