/*
 * session_lid.h: LAST_INSERT_ID() followed between statements (session_lid.c).
 * Internal to the session module.
 */
#ifndef HALYARD_SESSION_LID_H
#define HALYARD_SESSION_LID_H

#include "session_int.h"

/* Session mode on a shards listener: LAST_INSERT_ID() read back (int_lid)
 * between statements where it may have changed; HOOK_WAIT when that went
 * out (a step between commands, session_hooks.c). */
enum hook_verdict session_lid_follow(struct session *s);

#endif /* HALYARD_SESSION_LID_H */
