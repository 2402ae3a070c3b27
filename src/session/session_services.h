/*
 * session_services.h: the services of the session module, which the
 * command cycle and the features use alike and which call neither: a
 * session's life (session_life.c: its state, its close, its timers, the
 * backend it is on, for the KILL registry) and
 * its replies to the client (session_reply.c). Included by session_int.h.
 */
#ifndef HALYARD_SESSION_SERVICES_H
#define HALYARD_SESSION_SERVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "halyard/core/core.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"

/* ---- session_life.c */
void session_set_state(struct session *s, enum session_state to);
void session_timer_start(struct session *s, int ms);
void session_timer_stop(struct session *s);
void session_mark_closing(struct session *s, enum session_end why);
/* (Re)start the idle timer for the smaller of client_idle_timeout_ms and
 * the session's wait_timeout (`wait_timeout`, seconds; 0 = none). */
void session_idle_arm(struct session *s, double wait_timeout);
/* The idle timeout in force, in seconds: client_idle_timeout_ms or the
 * session's wait_timeout, whichever is shorter (0 = none); *by_server
 * when it is the wait_timeout. */
double session_idle_timeout(const struct session *s, bool *by_server);
/* The KILL registry follows the backend the session's commands run on. */
void session_publish_backend(struct session *s);

/* ---- session_reply.c */
void send_err(struct session *s, uint8_t seq, uint16_t code, const char *sqlstate, const char *fmt,
              ...) HY_PRINTF(5, 6);
void send_err_payload(struct session *s, uint8_t seq, const uint8_t *payload, size_t len);
void send_local(struct session *s, const uint8_t *pkt, size_t len);
void send_ok(struct session *s, uint8_t seq);
void send_ok_counts(struct session *s, uint8_t seq, uint64_t affected, uint64_t insert_id);
uint16_t session_reply_status(const struct session *s);
void session_err(struct session *s, uint8_t seq, enum session_err why, ...);
void session_err_custom(struct session *s, uint8_t seq, uint16_t code, const char *sqlstate,
                        const char *msg);
void send_access_denied(struct session *s, uint8_t seq, const char *user, size_t user_len,
                        bool used_password);
/* The client's address as text ("127.0.0.1", "::1"). */
void client_ip(const struct session *s, char *out, size_t len);
/* The client's host as the server names it in errors: 'localhost' for a
 * loopback client when the server resolves names (users.h), else the
 * address. */
void client_host(const struct session *s, char *out, size_t len);

#endif /* HALYARD_SESSION_SERVICES_H */
