/*
 * session_limits.c: fair-share limits (limits.h) in the command cycle,
 * part of the session module (session_int.h).
 *
 * A statement about to go to a backend (a COM_QUERY routed there, a
 * prepared statement's execution) asks the limit that governs it
 * (session_limit_hold, the limit stage's hook): it goes on, counted; or it waits, the session
 * parked in SS_WAIT_BACKEND with its client's reads stopped and a timer of
 * its own looking again every LIMIT_POLL_S; or it is refused with error
 * 1226 naming the limit and the value. A statement in an open transaction
 * is never held: it holds locks others may wait for; it is counted and
 * charged, and the limit acts at the next transaction's first statement;
 * so is one larger than the buffer (buffer_size), already on its way.
 * An exempt user (users.[].exempt) is never governed; halyard's own
 * connections (monitor, cache reader, backups, internal statements) never
 * come here.
 *
 * How long it waited is the cycle's: the wait's begin and end
 * (session_wait_note), which the query log reports as limit_wait_us.
 * What a statement holds is given back when it ends (session_limit_done:
 * command_done's hook, command_abandon), charged with the
 * time from its start to the end of its answer; when the session closes,
 * a wait is left and a place given back (session_limit_free).
 */
#include <stdlib.h>

#include "halyard/config/config.h"
#include "halyard/core/log.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/limits/limits.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/session/worker.h"
#include "session_int.h"
#include "session_limits.h"
#include "session_ps.h"

struct sess_limit {
    struct session *s;
    ev_timer timer;
    struct limit *waiting_on; /* the limit whose queue the statement is in; NULL = none */
    struct limit_waiter w;
    struct limit_hold hold; /* what the statement `at` holds */
    /* The statement that holds it, by where it is in `up`: a statement
     * routed again (command_end: a connection became ready, a fall-back)
     * comes through again and keeps its place. */
    const void *at_buf;
    uint32_t at_scan;
    enum limit_verdict refused;
    enum limit_kind why;
    struct limit *refused_by;
};

static const char *tenant_of(const struct session *s, const struct config_limit *cl)
{
    return cl->tenant == LIMIT_TENANT_SCHEMA ? session_schema(s) : s->who.user;
}

static void limit_wait_cb(struct ev_loop *loop, ev_timer *t, int revents);

static struct sess_limit *sess_limit_get(struct session *s)
{
    if (s->feat.limit == NULL) {
        s->feat.limit = calloc(1, sizeof(*s->feat.limit));
        if (s->feat.limit == NULL)
            return NULL;
        s->feat.limit->s = s;
        ev_timer_init(&s->feat.limit->timer, limit_wait_cb, LIMIT_POLL_S, LIMIT_POLL_S);
    }
    return s->feat.limit;
}

/* The ERR of a refused statement, taken from the client's stream. */
static void limit_refuse(struct session *s, struct sess_limit *sl)
{
    char why[400];
    limit_refusal(sl->refused_by, sl->refused, sl->why, why, sizeof(why));
    slog_info(s, "statement refused: %s", why);
    session_err(s, 1, SERR_FAIR_LIMIT, s->who.user != NULL ? s->who.user : "", why);
}

/* The limit that governs the statement (p, len): a text statement's was
 * found with its digest as it was classified (session_route.c), when a
 * limit has a match_digest; an execution's is found here with the digest
 * of the text its statement was prepared from. */
static const struct config_limit *limit_of(struct session *s, const uint8_t *p, uint32_t len,
                                           uint32_t avail)
{
    if (p[0] == COM_QUERY && s->query.limit_known)
        return s->query.limit_cl;
    struct rules_input who = session_rules_who(s);
    if (p[0] == COM_STMT_EXECUTE && s->cfg->limits_need_digest)
        ps_exec_digest(s, p, HY_MIN(len, avail), &who.digest, &who.digest_len);
    return limits_match(&s->w->rules, s->cfg, &who);
}

enum hook_verdict session_limit_hold(struct session *s, const struct hook_cmd *hc)
{
    if (s->cfg->n_limits == 0 || !(hc->cmd == COM_QUERY || hc->cmd == COM_STMT_EXECUTE))
        return HOOK_PASS;
    struct sess_limit *sl = s->feat.limit;
    if (sl != NULL && sl->hold.lim != NULL) {
        if (sl->at_buf == s->io.up.b && sl->at_scan == s->io.up.scan)
            return HOOK_PASS;  /* it passed, and comes through again */
        session_limit_done(s); /* a statement that ended some other way */
    }
    if (s->who.cu != NULL && s->who.cu->exempt)
        return HOOK_PASS;
    const struct config_limit *cl = limit_of(s, hc->p, hc->len, hc->avail);
    if (cl == NULL || cl->rt == NULL)
        return HOOK_PASS;
    if ((sl = sess_limit_get(s)) == NULL) {
        session_mark_closing(s, END_NOMEM);
        return HOOK_WAIT;
    }
    double now = ev_now(s->w->loop);
    /* Never held: a statement in a transaction, and one larger than the
     * buffer, whose head is already on its way. */
    bool must_pass = session_in_trans(s) || !hc->fits;
    sl->at_buf = s->io.up.b;
    sl->at_scan = s->io.up.scan;
    switch (limit_enter(cl->rt, tenant_of(s, cl), must_pass, now, &sl->hold, &sl->w, &sl->why)) {
    case LIMIT_PASS:
        return HOOK_PASS;
    case LIMIT_WAIT:
        sl->waiting_on = cl->rt;
        slog_debug(s, "statement waits: limit '%s' (%s), place %llu", cl->name,
                   limit_kind_name(sl->why), (unsigned long long)sl->w.stamp);
        session_set_state(s, SS_WAIT_BACKEND);
        ev_io_stop(s->w->loop, &s->client.rio);
        ev_timer_again(s->w->loop, &sl->timer);
        return HOOK_WAIT;
    case LIMIT_FULL:
    case LIMIT_TIMEOUT:
        break;
    }
    sl->refused = LIMIT_FULL;
    sl->refused_by = cl->rt;
    consume_packet(s, hc->len); /* it fits: one larger is never held */
    command_abandon(s);
    limit_refuse(s, sl);
    return HOOK_TAKEN;
}

static void limit_wait_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)revents;
    struct sess_limit *sl = container_of(t, struct sess_limit, timer);
    struct session *s = sl->s;
    enum limit_verdict v = limit_poll(sl->waiting_on, &sl->w, ev_now(loop), &sl->hold);
    if (v == LIMIT_WAIT)
        return; /* the timer repeats */
    ev_timer_stop(loop, t);
    slog_debug(s, "statement waited %.0f ms: %s", (ev_now(loop) - sl->w.since) * 1e3,
               v == LIMIT_PASS ? "goes on" : "refused");
    sl->refused_by = sl->waiting_on;
    sl->waiting_on = NULL;
    session_set_state(s, SS_IDLE);
    if (v != LIMIT_PASS) {
        struct stream *st = &s->io.up;
        uint32_t len = mysql_hdr_len(st->b->data + st->scan);
        command_abandon(s);
        consume_packet(s, len); /* a statement waits only whole in the buffer */
        sl->refused = v;
        sl->why = sl->w.why;
        limit_refuse(s, sl);
    }
    session_next_command(s);
    session_reap(s);
}

bool session_limit_wait_cancel(struct session *s)
{
    struct sess_limit *sl = s->feat.limit;
    if (sl == NULL || sl->waiting_on == NULL)
        return false;
    double now = ev_now(s->w->loop);
    ev_timer_stop(s->w->loop, &sl->timer);
    limit_cancel(sl->waiting_on, &sl->w, now);
    sl->waiting_on = NULL;
    slog_debug(s, "statement waited %.0f ms: interrupted", (now - sl->w.since) * 1e3);
    return true;
}

void session_limit_done(struct session *s)
{
    struct sess_limit *sl = s->feat.limit;
    if (sl == NULL || sl->hold.lim == NULL)
        return;
    double now = ev_now(s->w->loop);
    limit_leave(&sl->hold, now - sl->hold.started, now);
}

void session_limit_free(struct session *s)
{
    struct sess_limit *sl = s->feat.limit;
    if (sl == NULL)
        return;
    ev_timer_stop(s->w->loop, &sl->timer);
    if (sl->waiting_on != NULL)
        limit_cancel(sl->waiting_on, &sl->w, ev_now(s->w->loop));
    session_limit_done(s);
    free(sl);
    s->feat.limit = NULL;
}
