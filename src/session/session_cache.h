/*
 * session_cache.h: the query cache (session_cache.c).
 * Internal to the session module: included by the files of src/session/
 * that use it (session_int.h holds what they all share).
 */
#ifndef HALYARD_SESSION_CACHE_H
#define HALYARD_SESSION_CACHE_H

#include "session_int.h"

/* session_cache.c: the query cache (cache.h). The on_rule hook: with the
 * rule that matched a statement (NULL: none): ROUTE_CACHE for a hit, else
 * UINT32_MAX (a miss that may be kept is sent to the primary: r->hint). */
uint32_t session_cache_rules(struct session *s, const struct hook_rule *hr);
/* A fill copies this answer's packets (down_parse peeks at them whole). */
bool session_cache_capturing(const struct session *s);
/* A packet of the answer (whole: all `len` bytes at pl). */
void session_cache_packet(struct session *s, const uint8_t *pl, uint32_t len, bool whole);
/* The command ended (command_done): a fill is kept or given up. */
/* A command that may have written has its answer's last packet parsed,
 * not yet relayed: the write is noted now, before the client has its OK,
 * so that no session's read that begins after the OK is served an answer
 * the reader has not yet seen the write drop (cache_get's gate). Noted at
 * command_done instead, a read on another worker could come between. */
void session_cache_answered(struct session *s);
void session_cache_done(struct session *s);
/* The command was abandoned: its fill given up. */
void session_cache_abandon(struct session *s);
/* The session moves from config `from` to `to` (a reload): when `to`
 * turns the cache on, what the session did before went unseen (a
 * temporary table made then may hide a table): it is tainted. */
void session_cache_config(struct session *s, const struct config *from, const struct config *to);
/* ROUTE_CACHE: send the hit. */
void session_cache_answer(struct session *s);
/* A command goes to a backend now (command_begin): if it writes, what is
 * read from here until its answer may predate it (cache_note_write). */
void session_cache_begin(struct session *s);
/* The COM_STMT_PREPARE being routed: 1 + the cache rule its text matched
 * (session_cache_rules), 0 = none; for ps_route_prepare. */
uint32_t session_cache_ps_rule(struct session *s);
/* A COM_STMT_EXECUTE of `st` (`len` bytes, `avail` of them at p; `ex` its
 * head, NULL when not read): true for a hit (session_cache_answer sends
 * it); else a miss that may be kept is armed (ps_route_execute sends it
 * to the primary). Notes whether it may write (read-your-writes). */
bool session_cache_execute(struct session *s, struct pstmt *st, const uint8_t *p, uint32_t len,
                           uint32_t avail, const struct mysql_stmt_exec *ex);
void session_cache_free(struct session *s);

#endif /* HALYARD_SESSION_CACHE_H */
