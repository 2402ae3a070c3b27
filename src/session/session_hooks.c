/*
 * session_hooks.c: the features that plug into the command cycle, part of
 * the session module (session_int.h). session.c runs each point's hooks
 * in this table's order and names no feature (HAProxy's filters attach
 * to a stream the same way, through struct flt_ops): a feature joins the
 * cycle with a row here, not with a call in command_done or session_free.
 */
#include <stdbool.h>
#include <stddef.h>

#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "session_int.h"
#include "session_cache.h"
#include "session_diag.h"
#include "session_fanout.h"
#include "session_inflight.h"
#include "session_kill.h"
#include "session_pool.h"
#include "session_replay.h"
#include "session_shard.h"
#include "session_sysview.h"

/* A command answered without command_kill_answer: its KILL's hold on the
 * target is broken. */
static void kill_done(struct session *s)
{
    command_kill_unhold(s, false);
}

/* The order is the order they run in at each point. */
static const struct session_hooks hooks[] = {
    {"kill", kill_done, NULL},
    {"pool", session_pool_note, NULL},
    {"diag", session_diag_follow, session_diag_drop},
    {"cache", session_cache_done, session_cache_free}, /* a fill kept, or a write noted */
    {"sysview", NULL, session_sysview_free},
    {"fanout", NULL, session_fanout_free},
    {"groups", NULL, session_groups_free},
    {"replay", NULL, session_replay_free},
    {"inflight", NULL, session_inflight_free},
};

void session_hooks_done(struct session *s)
{
    for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
        if (hooks[i].on_done != NULL)
            hooks[i].on_done(s);
}

void session_hooks_close(struct session *s)
{
    for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
        if (hooks[i].on_close != NULL)
            hooks[i].on_close(s);
}
