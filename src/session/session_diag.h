/*
 * session_diag.h: the diagnostics area halyard holds (session_diag.c).
 * Internal to the session module: included by the files of src/session/
 * that use it (session_int.h holds what they all share).
 */
#ifndef HALYARD_SESSION_DIAG_H
#define HALYARD_SESSION_DIAG_H

#include "session_int.h"

/* session_diag.c: the diagnostics area halyard holds (diag_local.h) */
struct diag_local;
/* The conditions of the statement just run on every group (taken: *d is
 * left empty); NULL: none held any more. */
void session_diag_set(struct session *s, struct diag_local *d);
void session_diag_drop(struct session *s);
/* An ERR halyard answered itself (on_own_err, session_hooks.c): what a
 * fan-out left is no longer the session's diagnostics. */
void session_diag_own_err(struct session *s, const uint8_t *err, uint32_t len);
/* s->values.ldiag is held and the COM_QUERY text reads the diagnostics: its
 * answer (or refusal) made ready, ROUTE_DIAG. */
uint32_t session_diag_route(struct session *s, const char *text, size_t len);
/* ROUTE_DIAG: send what session_diag_route made ready. */
void session_diag_answer(struct session *s);

#endif /* HALYARD_SESSION_DIAG_H */
