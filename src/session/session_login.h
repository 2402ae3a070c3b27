/*
 * session_login.h: the client's login (session_login.c).
 * Internal to the session module: included by the files of src/session/
 * that use it (session_int.h holds what they all share).
 */
#ifndef HALYARD_SESSION_LOGIN_H
#define HALYARD_SESSION_LOGIN_H

#include "session_int.h"

/* ---- session_login.c: the client's login */
/* The login part (s->login): made at accept and by COM_CHANGE_USER
 * (login_change_user: false when out of memory), freed when the login
 * ends, with what it holds (login_end: also when the session closes). */
bool login_begin(struct session *s);
void login_end(struct session *s);
/* The session begins (on_create, session_hooks.c): the worker's config
 * for its listener, the listener's counters count it, and its login part.
 * It ends (on_close): all three let go. */
bool login_create(struct session *s);
void login_close(struct session *s);
/* The session ends (on_leave, session_hooks.c): its user's count of
 * sessions (guard.h) goes down. */
void login_leave(struct session *s);
/* The session accepted (its watchers set; on_start, session_hooks.c):
 * the login begins, with the
 * greeting, or with the wait for a PROXY header from a balancer the
 * listener names (proxy_protocol_from). */
void login_start(struct session *s);
/* Send the greeting (or refuse the client: too many sessions, address
 * blocked); the client's address is known by now. */
void session_greet(struct session *s);
/* COM_CHANGE_USER (`len` bytes of payload, the session reset already):
 * its packet read and consumed, the new user's login begun (an auth
 * switch sent, or its check run); a packet that does not parse ends the
 * session with 1047's ERR, as on the server. */
void login_change_user(struct session *s, uint32_t len);
/* A login waits on the session's timer: its answer held back, or a read
 * of the accounts; the command loop and the idle timer leave it be. */
bool session_login_waits(const struct session *s);
bool session_login_changing_user(const struct session *s);
/* The session's timer fired during the login (the timer hook): its wait's end (an answer
 * held back, a read of the accounts), or the login's time is up (no PROXY
 * header within connect_timeout_ms, no login within login_timeout_ms: the
 * session ends). True when it was the login's. */
bool login_timer(struct session *s);
/* A client's packet during the login (PROXY_HEADER, HANDSHAKE,
 * AUTH_SWITCH; the opening hook, session_hooks.c): the PROXY header, the
 * handshake response, the answer to an auth switch. True: the login's. */
bool session_login_read(struct session *s);
void login_finish(struct session *s);
/* The login waits for a read of the servers' accounts: look again. */
void users_wait_poll(struct session *s);
void session_login_ok(struct session *s, uint8_t seq);
/* The backend_ready hook: the primary's connection a login that named a
 * schema waited for (session_login_backend) is ready: the login's OK. */
bool session_login_backend_ready(struct session *s);
/* The session's schema is gone (a DROP DATABASE of it, on_schema_gone):
 * it has none, not even its login's. */
void login_db_clear(struct session *s);
/* A reload: the session holds config `to` for its listener from now on,
 * and its user is `u` (NULL: gone from the config; the session keeps
 * going, unchecked). */
void login_config_set(struct session *s, struct config *to);
void login_user_set(struct session *s, const struct config_user *u);
/* A command ended (on_done, session_hooks.c): after a COM_SET_OPTION
 * that succeeded, the backend connections opened from now on log in with
 * CLIENT_MULTI_STATEMENTS or without, as it asked. */
void login_done(struct session *s);

#endif /* HALYARD_SESSION_LOGIN_H */
