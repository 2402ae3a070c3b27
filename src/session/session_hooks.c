/*
 * session_hooks.c: the features that plug into the command cycle, part of
 * the session module (session_int.h). session.c runs each point's hooks
 * in this table's order and names no feature (HAProxy's filters attach
 * to a stream the same way, through struct flt_ops): a feature joins the
 * cycle with a row here, not with a call in session_create, command_done,
 * command_abandon, a reset (COM_RESET_CONNECTION, bconn_close_all) or
 * session_free. The
 * packet filters down_parse runs for every packet (XA START's answer,
 * tracking, CACHE_METADATA, the sysviews' rows) are session_filter.h's,
 * inline. Who answers each ROUTE_* outcome is session_outcome.c's
 * table. A command halyard sends itself reads its answer through its own
 * struct internal_cmd (session_int.h), not through a row here.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "halyard/core/audit.h"
#include "halyard/core/log.h"
#include "halyard/protocol/mysql_proto.h"

#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/session/worker.h"
#include "session_int.h"
#include "session_begin.h"
#include "session_limits.h"
#include "session_login.h"
#include "session_cache.h"
#include "session_capture.h"
#include "session_diag.h"
#include "session_fanout.h"
#include "session_inflight.h"
#include "session_kill.h"
#include "session_lid.h"
#include "session_pool.h"
#include "session_ps.h"
#include "session_reload.h"
#include "session_replay.h"
#include "session_shard.h"
#include "session_state.h"
#include "session_sysview.h"
#include "session_trace.h"
#include "session_track.h"
#include "session_xa.h"

/* A deadlock ended the transaction across groups on one server: the other
 * branches are rolled back before the next command. */
static void xa_done(struct session *s)
{
    if (s->io.resp.err_code == ER_LOCK_DEADLOCK && session_groups(s)->xa != NULL)
        session_xa_server_rollback(s, s->io.resp.err_code);
}

/* A branch's XA START may carry the statement (session_xa.c) when the
 * backend is readied for it: whole, no CONNECTION_ID() to rewrite. */
static void xa_before_backend(struct session *s, const struct hook_cmd *hc)
{
    session_xa_pipe(s, session_groups(s)->xa != NULL && hc->cmd == COM_QUERY && hc->fits &&
                           !(s->query.connid != NULL && s->query.connid->n > 0));
}

/* The backend ready, or the command will not run (on_abandon): the
 * statement goes alone from now on. */
static void xa_after_backend(struct session *s)
{
    session_xa_pipe(s, false);
}

/* The process list read for the statement now (session_sysview_begin):
 * one whose peers' rows did not fit is refused, not shown without them. */
static const char *sysview_refuse(struct session *s)
{
    session_sysview_begin(s);
    return session_sysview_cut(s);
}

/* A single statement the session's connection cannot run (an XA branch
 * IDLE or PREPARED there) runs on a second connection. */
static bool sysview_elsewhere(struct session *s, const struct hook_cmd *hc)
{
    return hc->cmd == COM_QUERY && hc->fits && session_sysview_elsewhere(s);
}

static bool sysview_rewrite(struct session *s, uint8_t **pkt, size_t *n, const char *orig,
                            size_t orig_len)
{
    return !session_sysview_rewrites(s) || session_sysview_packet(s, pkt, n, orig, orig_len);
}

/* The per-packet hooks run only for an answer a feature is attached to
 * (answer_expect asks once); each still checks its own state. */
static bool cache_attached(const struct session *s)
{
    return s->query.cache != NULL;
}

static bool cache_whole(const struct session *s)
{
    return s->query.cache != NULL && session_cache_capturing(s);
}

static void cache_packet(struct session *s, const struct hook_packet *pk)
{
    if (s->query.cache != NULL)
        session_cache_packet(s, pk->pl, pk->len, pk->whole); /* the query cache's fill */
}

/* A write noted before the client has its answer. */
static void cache_fed(struct session *s, const struct hook_packet *pk)
{
    if (pk->rc == MYSQL_RESP_DONE && s->query.cache != NULL && s->query.internal == NULL)
        session_cache_answered(s);
}

static bool replay_attached(const struct session *s)
{
    return s->feat.replay != NULL;
}

/* A statement halyard rewrote goes without the mark. */
static void inflight_send(struct session *s, const struct hook_cmd *hc)
{
    if (hc->rewritten && s->feat.inflight != NULL)
        session_inflight_unmarked(s);
}

/* The statement goes with its mark, when it is a write to mark. A
 * prepared statement's commands are session_ps.c's (an execution's mark
 * is in the text it is prepared with where it runs). */
static enum hook_verdict inflight_filter_up(struct session *s, const struct hook_cmd *hc)
{
    if (s->feat.inflight != NULL && hc->cmd != COM_STMT_EXECUTE &&
        hc->cmd != COM_STMT_BULK_EXECUTE && hc->cmd != COM_STMT_FETCH &&
        hc->cmd != COM_STMT_RESET && hc->cmd != COM_STMT_SEND_LONG_DATA &&
        session_inflight_send(s, hc->cmd, hc->p, hc->len, hc->fits, hc->idx))
        return HOOK_TAKEN;
    return HOOK_PASS;
}

/* The client's write in flight lost with its connection: looked for
 * where it went (resolve_in_flight_writes). */
static bool inflight_lost(struct session *s, struct hook_lost *hl)
{
    return hl->flight == LOST_CLIENT && session_inflight_lost(s, hl->bc);
}

/* The statement kept in the record, to run again. */
static void inflight_settled(struct session *s)
{
    if (s->feat.inflight != NULL)
        session_inflight_done(s);
}

/* ---- on_route: where a feature sends the statement --------------------- */

/* The diagnostics of a statement run on every group are halyard's. */
static enum hook_verdict diag_route(struct session *s, const struct hook_route *hr, uint32_t *to)
{
    if (s->values.ldiag == NULL || hr->r == NULL || hr->cmd != COM_QUERY || !hr->fits ||
        !(hr->r->flags & CLF_DIAG))
        return HOOK_PASS;
    *to = session_diag_route(s, (const char *)hr->p + 1, hr->avail - 1);
    return HOOK_TAKEN;
}

/* A BEGIN across groups, an XA branch's statement (session_begin.c). */
static enum hook_verdict begin_route(struct session *s, const struct hook_route *hr, uint32_t *to)
{
    if (!s->listener->shards || hr->r == NULL)
        return HOOK_PASS;
    *to = session_begin_route(s, hr->r, (const char *)hr->p + 1, hr->avail - 1);
    return *to != UINT32_MAX ? HOOK_TAKEN : HOOK_PASS;
}

/* ---- between: the steps between two commands ------------------------- */

/* A transaction across groups whose branch failed is rolled back on the
 * others: its steps run (HOOK_WAIT), or it ended at once (HOOK_TAKEN). */
static enum hook_verdict xa_between(struct session *s)
{
    if (s->state != SS_IDLE || session_groups(s)->xa == NULL || !session_xa_rollback_due(s))
        return HOOK_PASS;
    return session_xa_abort(s) ? HOOK_WAIT : HOOK_TAKEN;
}

/* A reply halyard builds inside a KILL's text: its ids run on from the
 * parts before, an OK says whether more parts follow
 * (session_kill_chain.c). */
static uint16_t kill_chain_reply(struct session *s, uint8_t *seq, bool ok)
{
    *seq = kill_chain_seq(s, *seq);
    return ok ? kill_chain_ok(s, *seq) : 0;
}

/* The order is the order they run in at each point. */
static const struct session_hooks hooks[] = {
    /* first: the worker's list holds every session whose rows were created */
    {.name = "worker", .on_create = worker_session_add, .on_close = worker_session_remove},
    {.name = "xa",
     .before_backend = xa_before_backend, /* the statement may go with XA START */
     .after_backend = xa_after_backend,
     .on_done = xa_done,
     .on_abandon = xa_after_backend,
     .on_reset = session_xa_discard, /* a transaction across groups ends */
     .on_conn_gone = session_xa_conn_gone},
    /* first between commands: the rest of a request dropped is dropped */
    {.name = "ps-skip", .between = ps_between},
    {.name = "state",
     .between = state_between,
     .synced = state_synced,               /* a connection with the session's state */
     .sync = state_sync_now,               /* ... brought up to it */
     .on_sent = state_readback_send,       /* a SET's read-back, right behind it */
     .trailing = state_readback_in_flight, /* ... its answer follows the SET's */
     .on_answer_end = state_answer_end,    /* the process list's, as the client gets it */
     .on_done = state_done, /* a USE's schema the session's (before the rows that read it) */
     .on_end = state_end,   /* a SET kept; true when its read-back's answer follows */
     .on_follow = state_readback_expect,
     .on_abandon = state_change_drop, /* the change a SET began is not pending */
     .on_idle = state_idle,           /* the change record freed */
     .on_pin = state_pinned,          /* the values go: the primary has them */
     .on_close = state_free,
     .on_thread_exit = state_thread_exit},
    {.name = "login",
     .on_create = login_create,                    /* its listener's config and counters */
     .on_start = login_start,                      /* the greeting, or a PROXY header first */
     .opening = session_login_read,                /* the client's packets till it is in */
     .timer = login_timer,                         /* a login's wait, or its time up */
     .busy = session_login_waits,                  /* for a backend's login, or the users' table */
     .backend_ready = session_login_backend_ready, /* the login's schema checked there */
     .on_schema_gone = login_db_clear,             /* the login's schema too */
     .on_done = login_done,                        /* a COM_SET_OPTION kept for new logins */
     .on_leave = login_leave,                      /* the user's count */
     .on_close = login_close},
    {.name = "kill",
     .on_create = command_kill_join,          /* its id, in the registry */
     .killed = command_kill_requested,        /* a KILL CONNECTION marked it */
     .interrupted = command_kill_interrupted, /* a KILL QUERY reached its wait */
     .on_take = command_kill_take,            /* the process list's text of the last one gone */
     .on_send = command_kill_send,            /* ... the client's, for a text rewritten */
     .on_begin = command_kill_begin,
     .may_release = session_kill_may_release,
     .on_done = command_kill_done,    /* the process list's text cleared */
     .on_reply = kill_chain_reply,    /* its text's ids and OK flags */
     .on_leave = command_kill_leave}, /* ... out of it */
    {.name = "lid",                   /* a LAST_INSERT_ID() left on a connection */
     .between = session_lid_follow},
    {.name = "pool",
     .on_create = session_pool_create,
     .cancel_wait = session_pool_wait_cancel, /* its place among a backend's waiters */
     .on_take = session_pool_cmd_taken,       /* a ping's ROW_COUNT() */
     .on_done = session_pool_note,
     .on_renew = session_pool_reset,     /* the server's values afresh, LAST_INSERT_ID() 0 */
     .on_own_err = session_pool_own_err, /* kept to be raised again where a read runs */
     .on_conn_gone = session_pool_conn_gone,
     .on_leave = session_pool_forget, /* out of the queue for a connection */
     .on_close = session_pool_close},
    {.name = "diag",
     .on_route = diag_route, /* a fan-out's diagnostics answered here */
     .on_done = session_diag_follow,
     .on_own_err = session_diag_own_err, /* in place of what a fan-out left */
     .on_renew = session_diag_drop,      /* a new session on the server has none */
     .on_close = session_diag_drop},
    {.name = "cache",
     .on_rule = session_cache_rules,  /* a hit answered, a miss kept (a cache rule) */
     .on_begin = session_cache_begin, /* a write's flight starts */
     .attached = cache_attached,
     .wants_whole = cache_whole,
     .on_packet = cache_packet,
     .on_fed = cache_fed,
     .on_relayed = cache_packet,    /* the fill keeps what the client gets */
     .on_done = session_cache_done, /* a fill kept, or a write noted */
     .on_abandon = session_cache_abandon,
     .on_close = session_cache_free},
    {.name = "sysview",
     .ready = session_sysview_ready, /* the process list's columns, the peers' rows read first */
     .refuse = sysview_refuse,
     .elsewhere = sysview_elsewhere,
     .rewrites = session_sysview_rewrites, /* derived tables in place of the views */
     .rewrite = sysview_rewrite,
     .on_close = session_sysview_free,
     .on_thread_exit = session_sysview_thread_exit},
    {.name = "fanout",
     .busy = session_fanout_busy,      /* its statements out on the groups */
     .on_route = session_fanout_route, /* SHOW DATABASES: every group's */
     .on_abandon = session_fanout_abandon,
     .on_close = session_fanout_free},
    {.name = "begin",
     .on_route = begin_route,
     .chosen = session_begin_chosen, /* a BEGIN halyard answered, or the XA branch, first */
     .on_reset = session_begin_forget},
    {.name = "groups", /* the groups of a listener with shards */
     .on_create = session_groups_make,
     .on_route = session_shard_route_stmt, /* to the statement's group first */
     .on_view = session_groups_view,       /* made for a reload's shards, the learned map let go */
     .on_close = session_groups_free},
    {.name = "ps", /* the session's prepared statements */
     .on_create = ps_create,
     .on_done = ps_done, /* a PREPARE that failed forgotten (before the capture reads its id) */
     .on_abandon = ps_abandon,
     .on_renew = ps_clear,         /* the server drops them all */
     .on_conn_open = ps_conn_open, /* its statements' ids there name another */
     .on_lend = ps_cache_fill,     /* its statements there join the connection's cache */
     .on_lent_gone = ps_backend_gone,
     .on_conn_gone = ps_conn_gone,
     .on_close = ps_clear,
     .on_thread_exit = ps_thread_exit},
    {.name = "inflight",
     .on_send = inflight_send,
     .on_classified = session_inflight_note,   /* whether and how it writes */
     .filter_up = inflight_filter_up,          /* resolve_in_flight_writes' mark */
     .on_lost = inflight_lost,                 /* where the write in flight went */
     .on_replayed = session_inflight_replayed, /* its COMMIT's fate cannot be looked for */
     .on_settled = inflight_settled,
     .on_close = session_inflight_free},
    {.name = "replay",
     .on_classified = session_replay_note, /* whether it may run again */
     .on_send = session_replay_sent,
     .attached = replay_attached,
     .wants_whole = session_replay_sums,
     .on_packet = session_replay_packet,
     .on_settled = session_replay_done,       /* the statement's answer kept in the record */
     .on_lost = session_replay_lost,          /* the transaction runs again elsewhere */
     .on_trx_lost = session_replay_arm,       /* ... at the client's next statement */
     .after_lost = session_replay_after_lost, /* replayed before the next command, or 1927 */
     .on_close = session_replay_free},
    {.name = "nontrx", /* what a lost transaction leaves */
     .on_done = session_track_err,
     .on_lost = session_track_on_lost,
     .on_trx_lost = session_track_trx_lost},
    {.name = "limits",
     .hold = session_limit_hold,               /* held in the limit's queue, or refused 1226 */
     .cancel_wait = session_limit_wait_cancel, /* its place in the limit's queue */
     .on_done = session_limit_done,            /* its place given back, charged */
     .on_abandon = session_limit_done,
     .on_close = session_limit_free},
    {.name = "trace",
     .on_take = session_trace_take,     /* a statement's span begins */
     .on_digest = session_trace_digest, /* db.query.summary, the router's */
     .on_wait = session_trace_wait,     /* its waits as events */
     .on_send = session_trace_send,
     .on_replayed = session_trace_replayed, /* halyard.replayed */
     .on_done = session_trace_done,         /* kept or not, sent to the exporter */
     .on_abandon = session_trace_abandon,
     .on_reset = session_trace_reset,
     .on_close = session_trace_free,
     .on_thread_exit = session_trace_thread_exit}, /* its spans */
    {.name = "capture",
     .on_take = session_capture_take, /* the command and its arrival (capture.h) */
     .attached = session_capture_attached,
     .wants_whole = session_capture_whole,
     .on_packet = session_capture_packet, /* the rows summed, the insert id */
     .on_infile = session_capture_infile, /* a LOCAL INFILE's file, as sent */
     .on_done = session_capture_done,     /* the answer's shape and time */
     .on_abandon = session_capture_abandon,
     .on_close = session_capture_free},
    /* the last steps between commands, in this order */
    {.name = "uvars", .between = uvars_between},
    {.name = "reload",
     .between = session_config_between,   /* a reload's configuration taken */
     .cancel_wait = primary_wait_cancel}, /* the wait for a usable primary */
    {.name = "xa-rollback", .between = xa_between},
    {.name = "kill-chain", .between = kill_chain_between},
};

/* Unrolled: the table is constant, so each point compiles to direct calls
 * of the rows that have it, and to nothing for the rows that don't. */
#define HOOKS_EACH(i_) _Pragma("GCC unroll 32") for (size_t i_ = 0; i_ < HY_ARRAY_SIZE(hooks); i_++)

#define HOOKS_RUN(point, ...)                                                                      \
    do {                                                                                           \
        HOOKS_EACH(i_)                                                                             \
        if (hooks[i_].point != NULL)                                                               \
            hooks[i_].point(__VA_ARGS__);                                                          \
    } while (0)

/* A question point: true when one row says so (HOOKS_ANY), or when every
 * row does (HOOKS_ALL); the rows after the one that decides do not run. */
#define HOOKS_ANY(point, ...)                                                                      \
    HOOKS_EACH(i_)                                                                                 \
    if (hooks[i_].point != NULL && hooks[i_].point(__VA_ARGS__))                                   \
        return true;                                                                               \
    return false

#define HOOKS_ALL(point, ...)                                                                      \
    HOOKS_EACH(i_)                                                                                 \
    if (hooks[i_].point != NULL && !hooks[i_].point(__VA_ARGS__))                                  \
        return false;                                                                              \
    return true

/* The first answer of the rows (of `type`) that is not `pass` is the
 * point's: a filter point's verdict (HOOK_PASS), a rule's target
 * (UINT32_MAX); the rows after it do not run. */
#define HOOKS_FIRST(point, type, pass, ...)                                                        \
    HOOKS_EACH(i_)                                                                                 \
    if (hooks[i_].point != NULL) {                                                                 \
        type v_ = hooks[i_].point(__VA_ARGS__);                                                    \
        if (v_ != (pass))                                                                          \
            return v_;                                                                             \
    }                                                                                              \
    return (pass)

#define HOOKS_FILTER(point, ...) HOOKS_FIRST(point, enum hook_verdict, HOOK_PASS, __VA_ARGS__)

void session_hooks_take(struct session *s, const struct hook_cmd *hc)
{
    HOOKS_RUN(on_take, s, hc);
}

bool session_hooks_busy(const struct session *s)
{
    HOOKS_ANY(busy, s);
}

bool session_hooks_killed(const struct session *s)
{
    HOOKS_ANY(killed, s);
}

bool session_hooks_interrupted(struct session *s)
{
    HOOKS_ANY(interrupted, s);
}

enum hook_verdict session_hooks_between(struct session *s)
{
    HOOKS_FILTER(between, s);
}

/* The features' command kinds: a command's row (struct cmd_kind), or NULL
 * for the cycle's own. */
static const struct cmd_kind *const kinds[256] = {
    [COM_STMT_PREPARE] = &ps_kind_prepare,      [COM_STMT_EXECUTE] = &ps_kind_execute,
    [COM_STMT_BULK_EXECUTE] = &ps_kind_execute, [COM_STMT_FETCH] = &ps_kind_follow,
    [COM_STMT_RESET] = &ps_kind_follow,         [COM_STMT_SEND_LONG_DATA] = &ps_kind_follow,
    [COM_STMT_CLOSE] = &ps_kind_close,
};

const struct cmd_kind *session_hooks_kind(uint8_t cmd)
{
    return kinds[cmd];
}

void session_hooks_classified(struct session *s, const struct classify_result *r, const uint8_t *p,
                              uint32_t avail, bool fits)
{
    HOOKS_RUN(on_classified, s, r, p, avail, fits);
}

void session_hooks_digest(struct session *s, const char *digest, size_t len)
{
    HOOKS_RUN(on_digest, s, digest, len);
}

enum hook_verdict session_hooks_after_lost(struct session *s, const struct hook_cmd *hc)
{
    HOOKS_FILTER(after_lost, s, hc);
}

uint32_t session_hooks_rule(struct session *s, const struct hook_rule *hr)
{
    HOOKS_FIRST(on_rule, uint32_t, UINT32_MAX, s, hr);
}

uint32_t session_hooks_route(struct session *s, const struct hook_route *hr)
{
    uint32_t to = UINT32_MAX;
    HOOKS_EACH(i)
    if (hooks[i].on_route != NULL && hooks[i].on_route(s, hr, &to) != HOOK_PASS)
        return to;
    return UINT32_MAX;
}

bool session_hooks_backend_ready(struct session *s)
{
    HOOKS_ANY(backend_ready, s);
}

bool session_hooks_create(struct session *s)
{
    HOOKS_ALL(on_create, s);
}

void session_hooks_start(struct session *s)
{
    HOOKS_RUN(on_start, s);
}

bool session_hooks_opening(struct session *s)
{
    HOOKS_ANY(opening, s);
}

bool session_hooks_timer(struct session *s)
{
    HOOKS_ANY(timer, s);
}

bool session_hooks_view(struct session *s, const struct config *to)
{
    HOOKS_ALL(on_view, s, to);
}

void session_hooks_replayed(struct session *s)
{
    HOOKS_RUN(on_replayed, s);
}

enum hook_verdict session_hooks_hold(struct session *s, const struct hook_cmd *hc)
{
    HOOKS_FILTER(hold, s, hc);
}

bool session_hooks_cancel_wait(struct session *s)
{
    HOOKS_ANY(cancel_wait, s);
}

void session_hooks_wait(struct session *s, enum hook_wait what, bool begin)
{
    HOOKS_RUN(on_wait, s, what, begin);
}

void session_hooks_before_backend(struct session *s, const struct hook_cmd *hc)
{
    HOOKS_RUN(before_backend, s, hc);
}

void session_hooks_after_backend(struct session *s)
{
    HOOKS_RUN(after_backend, s);
}

bool session_hooks_ready(struct session *s)
{
    HOOKS_ALL(ready, s);
}

bool session_hooks_chosen(struct session *s, struct bconn *bc, uint32_t idx)
{
    HOOKS_ALL(chosen, s, bc, idx);
}

bool session_hooks_synced(const struct session *s, const struct bconn *bc)
{
    HOOKS_ALL(synced, s, bc);
}

bool session_hooks_sync(struct session *s)
{
    HOOKS_ALL(sync, s);
}

const char *session_hooks_refuse(struct session *s)
{
    HOOKS_EACH(i)
    if (hooks[i].refuse != NULL) {
        const char *why = hooks[i].refuse(s);
        if (why != NULL)
            return why;
    }
    return NULL;
}

bool session_hooks_elsewhere(struct session *s, const struct hook_cmd *hc)
{
    HOOKS_ANY(elsewhere, s, hc);
}

bool session_hooks_rewrites(const struct session *s)
{
    HOOKS_ANY(rewrites, s);
}

bool session_hooks_rewrite(struct session *s, uint8_t **pkt, size_t *n, const char *orig,
                           size_t orig_len)
{
    HOOKS_ALL(rewrite, s, pkt, n, orig, orig_len);
}

void session_hooks_send(struct session *s, const struct hook_cmd *hc)
{
    HOOKS_RUN(on_send, s, hc);
}

enum hook_verdict session_hooks_filter_up(struct session *s, const struct hook_cmd *hc)
{
    HOOKS_FILTER(filter_up, s, hc);
}

void session_hooks_sent(struct session *s)
{
    HOOKS_RUN(on_sent, s);
}

bool session_hooks_trailing(const struct session *s)
{
    HOOKS_ANY(trailing, s);
}

void session_hooks_begin(struct session *s)
{
    HOOKS_RUN(on_begin, s);
}

bool session_hooks_attached(const struct session *s)
{
    HOOKS_ANY(attached, s);
}

bool session_hooks_wants_whole(const struct session *s)
{
    HOOKS_ANY(wants_whole, s);
}

void session_hooks_packet(struct session *s, const struct hook_packet *pk)
{
    HOOKS_RUN(on_packet, s, pk);
}

void session_hooks_fed(struct session *s, const struct hook_packet *pk)
{
    HOOKS_RUN(on_fed, s, pk);
}

void session_hooks_relayed(struct session *s, const struct hook_packet *pk)
{
    HOOKS_RUN(on_relayed, s, pk);
}

void session_hooks_infile(struct session *s, const uint8_t *p, uint32_t n)
{
    HOOKS_RUN(on_infile, s, p, n);
}

void session_hooks_answer_end(struct session *s)
{
    HOOKS_RUN(on_answer_end, s);
}

void session_hooks_done(struct session *s)
{
    HOOKS_RUN(on_done, s);
}

void session_hooks_settled(struct session *s)
{
    HOOKS_RUN(on_settled, s);
}

_Static_assert(HY_ARRAY_SIZE(hooks) <= 64, "on_end's rows are bits of a uint64_t");

uint64_t session_hooks_end(struct session *s)
{
    uint64_t rows = 0;
    HOOKS_EACH(i)
    if (hooks[i].on_end != NULL && hooks[i].on_end(s))
        rows |= UINT64_C(1) << i;
    return rows;
}

void session_hooks_follow(struct session *s, uint64_t rows)
{
    HOOKS_EACH(i)
    if (hooks[i].on_follow != NULL && (rows & UINT64_C(1) << i) != 0)
        hooks[i].on_follow(s);
}

void session_hooks_abandon(struct session *s)
{
    HOOKS_RUN(on_abandon, s);
}

void session_hooks_idle(struct session *s)
{
    HOOKS_RUN(on_idle, s);
}

void session_hooks_reset(struct session *s)
{
    HOOKS_RUN(on_reset, s);
}

void session_hooks_renew(struct session *s)
{
    HOOKS_RUN(on_renew, s);
}

void session_hooks_schema_gone(struct session *s)
{
    HOOKS_RUN(on_schema_gone, s);
}

void session_hooks_pin(struct session *s)
{
    HOOKS_RUN(on_pin, s);
}

void session_hooks_own_err(struct session *s, const uint8_t *err, uint32_t len)
{
    HOOKS_RUN(on_own_err, s, err, len);
}

uint16_t session_hooks_reply(struct session *s, uint8_t *seq, bool ok)
{
    uint16_t flags = 0;
    HOOKS_EACH(i)
    if (hooks[i].on_reply != NULL)
        flags |= hooks[i].on_reply(s, seq, ok);
    return flags;
}

bool session_hooks_lost(struct session *s, struct hook_lost *hl)
{
    HOOKS_ANY(on_lost, s, hl);
}

void session_hooks_trx_lost(struct session *s, struct bconn *bc, const char *name)
{
    HOOKS_RUN(on_trx_lost, s, bc, name);
}

void session_hooks_conn_open(struct session *s, struct bconn *bc)
{
    HOOKS_RUN(on_conn_open, s, bc);
}

bool session_hooks_lend(struct session *s, struct bconn *bc)
{
    HOOKS_ALL(on_lend, s, bc);
}

bool session_hooks_may_release(struct session *s)
{
    HOOKS_ALL(may_release, s);
}

void session_hooks_lent_gone(struct session *s, uint32_t idx)
{
    HOOKS_RUN(on_lent_gone, s, idx);
}

void session_hooks_conn_gone(struct session *s, struct bconn *bc)
{
    HOOKS_RUN(on_conn_gone, s, bc);
}

void session_hooks_leave(struct session *s)
{
    HOOKS_RUN(on_leave, s);
}

void session_hooks_close(struct session *s)
{
    HOOKS_RUN(on_close, s);
}

void session_hooks_thread_exit(void)
{
    HOOKS_EACH(i)
    if (hooks[i].on_thread_exit != NULL)
        hooks[i].on_thread_exit();
}
