/*
 * session_capture.h: the traffic capture in the command cycle
 * (session_capture.c; capture.h): the row "capture" of session_hooks.c's
 * table. Internal to the session module.
 */
#ifndef HALYARD_SESSION_CAPTURE_H
#define HALYARD_SESSION_CAPTURE_H

#include "session_int.h"

/* on_take: the command and its arrival; the session's login first when
 * the capture sees it for the first time. */
void session_capture_take(struct session *s, const struct hook_cmd *hc);
bool session_capture_attached(const struct session *s);
/* A capture follows the session now: its backend connection to the
 * primary tracks last_gtid (session_state_tracking.c). */
bool session_capture_on(const struct session *s);
/* The session-state block of an OK of the answer, as the backend sent it
 * (before the client's tracking is applied, session_track_ok): a COMMIT
 * record when it reports a commit's GTID. */
void session_capture_ok(struct session *s, const uint8_t *block, size_t len);
bool session_capture_whole(const struct session *s);
/* on_packet: the answer's rows summed, an OK's insert id */
void session_capture_packet(struct session *s, const struct hook_packet *pk);
/* The bytes of a LOAD DATA LOCAL INFILE's file as they pass (on_infile):
 * INFILE records after the command's, the last one empty (the file's
 * end); none when capture_mask is on. */
void session_capture_infile(struct session *s, const uint8_t *p, uint32_t n);
void session_capture_done(struct session *s);    /* on_done: the answer's shape */
void session_capture_abandon(struct session *s); /* on_abandon: halyard answered */
void session_capture_free(struct session *s);    /* on_close: the session's end */

#endif /* HALYARD_SESSION_CAPTURE_H */
