/*
 * session_filter.h: the answer's packet filters, down_parse's filter_head
 * and filter points (session_hooks.c's table holds the other points).
 * Internal to the session module: included by session.c only, whose
 * down_parse runs the two points for each packet of every answer. They
 * are here, inline, so that each point compiles to the filters' own
 * inline tests, as direct calls did: no call a packet for a point, and
 * `len` kept in a register.
 */
#ifndef HALYARD_SESSION_FILTER_H
#define HALYARD_SESSION_FILTER_H

#include <stddef.h>

#include "session_int.h"
#include "session_colmeta.h"
#include "session_kill.h"
#include "session_shard.h"
#include "session_sysview.h"
#include "session_track.h"
#include "session_xa.h"

/* The answer to a KILL halyard sent for a client's KILL of a halyard
 * session id or of an account (session.c's command_kill, command_kill_user):
 * a refusal is answered in the client's terms (HOOK_TAKEN). */
static inline enum hook_verdict kill_filter(struct session *s, uint32_t len)
{
    if (s->kill.qid_mark != 0 && !command_kill_qid_ok(s, len))
        return HOOK_WAIT;
    if (s->kill.kill_id != 0 || s->kill.kill_qid != 0) {
        if (!command_kill_answer(s, len))
            return HOOK_WAIT; /* not all of it there yet */
        if (s->io.resp_done)
            return HOOK_TAKEN;
    }
    if (s->kill.kill_user != NULL) {
        if (!command_kill_user_answer(s, len))
            return HOOK_WAIT;
        if (s->io.resp_done)
            return HOOK_TAKEN;
    }
    return HOOK_PASS;
}

/* The answer to a statement sent behind its branch's XA START begins
 * with START's (session_xa_start_answer takes it out). */
static inline enum hook_verdict xa_filter(struct session *s, uint32_t *len)
{
    return session_groups(s)->xa_piped ? session_xa_start_answer(s, *len) : HOOK_PASS;
}

/* An OK (session_track_ok): the client's, before all else reads it. */
static inline enum hook_verdict track_filter(struct session *s, uint32_t *len)
{
    int64_t n = session_track_peek(s, *len);
    if (n < 0)
        return HOOK_WAIT;
    *len = (uint32_t)n;
    return HOOK_PASS;
}

/* Each point runs its filters in the order written; the first verdict
 * that is not HOOK_PASS is the point's, and the filters after it do not
 * run. Written out rather than looped over a table: gcc turns a constant
 * table's pointers into direct calls but does not inline them, and these
 * run for every packet of every answer. */

/* down_parse, each packet once its header is in, before anything reads it:
 * a filter may rewrite it in place, and *len with it. */
static inline enum hook_verdict session_hooks_filter_head(struct session *s, uint32_t *len)
{
    enum hook_verdict v = kill_filter(s, *len);
    if (v == HOOK_PASS)
        v = xa_filter(s, len);
    return v != HOOK_PASS ? v : track_filter(s, len);
}

/* down_parse, each packet once its first bytes (all of it, when a feature
 * wants it whole) are in, before the tracker reads it. */
static inline enum hook_verdict session_hooks_filter(struct session *s, uint32_t len)
{
    enum hook_verdict v = meta_down(s, len);                 /* MARIADB_CLIENT_CACHE_METADATA */
    return v != HOOK_PASS ? v : session_sysview_row(s, len); /* SHOW PROCESSLIST, SHOW STATUS */
}

#endif /* HALYARD_SESSION_FILTER_H */
