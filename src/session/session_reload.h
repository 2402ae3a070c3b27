/*
 * session_reload.h: a reload, and the wait for a primary (session_reload.c).
 * Internal to the session module: included by the files of src/session/
 * that use it (session_int.h holds what they all share).
 */
#ifndef HALYARD_SESSION_RELOAD_H
#define HALYARD_SESSION_RELOAD_H

#include "session_int.h"

/* session_reload.c */
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
void session_config_switch(struct session *s);
enum hook_verdict session_config_between(struct session *s);
bool session_view_move(struct session *s, struct config *to);

#endif /* HALYARD_SESSION_RELOAD_H */
