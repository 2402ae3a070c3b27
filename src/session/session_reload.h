/*
 * session_reload.h: a reload (session_reload.c).
 * Internal to the session module: included by the files of src/session/
 * that use it (session_int.h holds what they all share).
 */
#ifndef HALYARD_SESSION_RELOAD_H
#define HALYARD_SESSION_RELOAD_H

#include "session_int.h"

/* session_reload.c */
void session_config_switch(struct session *s);
enum hook_verdict session_config_between(struct session *s);
bool session_view_move(struct session *s, struct config *to);

#endif /* HALYARD_SESSION_RELOAD_H */
