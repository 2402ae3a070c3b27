/*
 * session_sysview.h: the process list and status variables in the client's terms
 * (session_sysview.c). Internal to the session module: included by the files of src/session/ that
 * use it (session_int.h holds what they all share).
 */
#ifndef HALYARD_SESSION_SYSVIEW_H
#define HALYARD_SESSION_SYSVIEW_H

#include "session_int.h"

/* session_sysview.c: the process list and status variables in the
 * client's terms (issue 33) */
/* A command is routed: it reads neither until session_sysview_route()
 * finds it does. */
void session_sysview_clear(struct session *s);
/* Routing command `cmd` (payload `p`, `len` bytes, whole when `fits`):
 * whether it reads them. */
bool session_sysview_route(struct session *s, uint8_t cmd, const uint8_t *p, uint32_t len,
                           bool fits);
/* Its process list lists halyard's session ids: CONNECTION_ID() in it is
 * the session's too. */
bool session_sysview_ids(const struct session *s);
/* Its text is rewritten when it goes out (session_sysview_text). */
bool session_sysview_rewrites(const struct session *s);
/* The statement, a single one whose derived tables the session's connection
 * refuses (1399: an XA transaction IDLE or PREPARED there, where the server
 * reads no table but information_schema's), runs on a second connection
 * (session_fanout_prepare_own) with its text rewritten for it. */
bool session_sysview_elsewhere(struct session *s);
/* s->conns.cur is ready for it: true, or false when halyard reads the server's
 * process-list columns first (int_sysview; the command runs again after). */
bool session_sysview_ready(struct session *s);
/* Reading a server's process-list columns; another backend's rows of
 * halyard's sessions (a loss of its connection: the list goes out without
 * them). */
extern const struct internal_cmd int_sysview, int_syspeer;
/* After session_sysview_begin: NULL, or why the statement going out
 * cannot show every row (a peer's row did not fit), for an ERR. */
const char *session_sysview_cut(const struct session *s);
/* It goes out now on s->conns.cur: what its answer is read against. */
void session_sysview_begin(struct session *s);
/* The COM_QUERY packet it goes out as, *pkt (heap: header, command byte,
 * then *n bytes of text with CONNECTION_ID() in place already): its text
 * rewritten, in place (*pkt may move), the statement's own row showing the
 * client's text `orig` (`orig_len` bytes) as its INFO. False when out of
 * memory. */
bool session_sysview_packet(struct session *s, uint8_t **pkt, size_t *n, const char *orig,
                            size_t orig_len);
/* The answer's packet filter (session_hooks.c) for the packet (payload
 * `len`) at down.scan: HOOK_PASS to pass it, HOOK_TAKEN when halyard sent
 * its own in place (or left it out), HOOK_WAIT to wait (more bytes, or
 * what is before it to go out first). */
enum hook_verdict session_sysview_row(struct session *s, uint32_t len);
void session_sysview_free(struct session *s);
void session_sysview_thread_exit(void);

/* The session (id) thread `thread` of s->conns.cur's server serves, 0 =
 * none (connreg.h). */
uint32_t session_sysview_thread_session(const struct session *s, uint32_t thread);

#endif /* HALYARD_SESSION_SYSVIEW_H */
