/*
 * session_hooks.c: the features that plug into the command cycle, part of
 * the session module (session_int.h). session.c runs each point's hooks
 * in this table's order and names no feature (HAProxy's filters attach
 * to a stream the same way, through struct flt_ops): a feature joins the
 * cycle with a row here, not with a call in command_done, command_abandon,
 * a reset (COM_RESET_CONNECTION, bconn_close_all) or session_free.
 */
#include <stdbool.h>
#include <stddef.h>

#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "session_int.h"
#include "session_begin.h"
#include "session_limits.h"
#include "session_cache.h"
#include "session_diag.h"
#include "session_fanout.h"
#include "session_inflight.h"
#include "session_kill.h"
#include "session_pool.h"
#include "session_replay.h"
#include "session_shard.h"
#include "session_sysview.h"
#include "session_xa.h"

/* A command answered without command_kill_answer: its KILL's hold on the
 * target is broken. */
static void kill_done(struct session *s)
{
    command_kill_unhold(s, false);
}

/* The order is the order they run in at each point. */
static const struct session_hooks hooks[] = {
    {.name = "kill", .on_done = kill_done},
    {.name = "pool", .on_done = session_pool_note},
    {.name = "diag", .on_done = session_diag_follow, .on_close = session_diag_drop},
    {.name = "cache",
     .on_done = session_cache_done, /* a fill kept, or a write noted */
     .on_abandon = session_cache_abandon,
     .on_close = session_cache_free},
    {.name = "sysview", .on_close = session_sysview_free},
    {.name = "fanout", .on_abandon = session_fanout_abandon, .on_close = session_fanout_free},
    {.name = "xa", .on_reset = session_xa_discard}, /* a transaction across groups ends */
    {.name = "begin", .on_reset = session_begin_forget},
    {.name = "groups", .on_close = session_groups_free},
    {.name = "replay", .on_close = session_replay_free},
    {.name = "inflight", .on_close = session_inflight_free},
    {.name = "limits",
     .on_done = session_limit_done, /* its place given back, charged */
     .on_abandon = session_limit_done,
     .on_close = session_limit_free},
};

#define HOOKS_RUN(s, point)                                                                        \
    do {                                                                                           \
        for (size_t i_ = 0; i_ < HY_ARRAY_SIZE(hooks); i_++)                                       \
            if (hooks[i_].point != NULL)                                                           \
                hooks[i_].point(s);                                                                \
    } while (0)

void session_hooks_done(struct session *s)
{
    HOOKS_RUN(s, on_done);
}

void session_hooks_abandon(struct session *s)
{
    HOOKS_RUN(s, on_abandon);
}

void session_hooks_reset(struct session *s)
{
    HOOKS_RUN(s, on_reset);
}

void session_hooks_close(struct session *s)
{
    HOOKS_RUN(s, on_close);
}
