/*
 * session_fanout_xa.c: the parts of a statement on every group
 * (session_fanout.c) that run in XA transactions, with
 * shards.cross_group_transactions = "xa": the two-phase commit of a write
 * on several groups outside a transaction, and a scatter read inside a
 * transaction across groups (session_xa.c), run on the session's own
 * connections holding the branches. Part of the session module
 * (session_int.h, session_fanout_int.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "halyard/cluster/backend.h"
#include "halyard/route/diag_local.h"
#include "halyard/config/group.h"
#include "halyard/core/log.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/protocol/sqlclient.h"
#include "halyard/core/stats.h"
#include "halyard/session/worker.h"
#include "halyard/cluster/xa_recover.h"
#include "session_fanout_int.h"
#include "session_diag.h"
#include "session_fanout.h"
#include "session_reload.h"
#include "session_shard.h"
#include "session_track.h"
#include "session_xa.h"

/* ---- "xa": two-phase commit of a write on several groups ---------------------
 * Each group's part ran in its XA branch (XA START '<gtrid>','<group>'). All
 * succeeded: XA END + XA PREPARE on every branch (in parallel); every one
 * prepared: the decision to commit goes to shards.xa_log and is waited for
 * (xa_log_writer.h: durable before any XA COMMIT), then XA COMMIT on every
 * branch, then the decision is marked done. Anything else: XA END + XA
 * ROLLBACK on every branch, and the statement fails saying so. A branch
 * left prepared (its connection lost, an XA COMMIT failed) is finished by
 * the recovery (xa_recover.h) from the log, as a session's would be. */

static void xa_phase(struct fanout *f, int op);

static void xa_sql(const struct fanout_leg *l, const char *verb, char *out, size_t cap)
{
    snprintf(out, cap, "XA %s '%s','%s'", verb, l->f->gtrid, l->group);
}

static void xa_phase_done(struct fanout *f);

static void on_xa_step(struct sqlclient *c, const struct sqlresult *res, void *arg)
{
    struct fanout_leg *l = arg;
    struct fanout *f = l->f;
    int step = l->xstep++;
    char sql[XA_GTRID_MAX + XA_GROUP_MAX + 32];
    /* a branch's XA END fails when it is prepared already: its ROLLBACK
     * goes on regardless */
    if (!res->ok && !(f->xop == FX_ROLLBACK && step == 0)) {
        if (l->err[0] == '\0')
            fanout_leg_note(l, "XA %s failed: %.200s",
                            f->xop == FX_COMMIT ? "COMMIT"
                            : step == 0         ? "END"
                                                : "PREPARE",
                            res->err_msg);
    } else if (f->xop != FX_COMMIT && step == 0) {
        xa_sql(l, f->xop == FX_PREPARE ? "PREPARE" : "ROLLBACK", sql, sizeof(sql));
        if (sqlclient_command(c, COM_QUERY, sql, strlen(sql), on_xa_step, l) == HY_OK)
            return;
        fanout_leg_note(l, "cannot send %s", sql);
    } else if (f->xop == FX_PREPARE) {
        l->xprepared = true;
    } else if (f->xop == FX_COMMIT) {
        l->xcommitted = true;
    } else {
        l->xprepared = false; /* rolled back */
    }
    if (--f->pending == 0)
        xa_phase_done(f);
}

static void xa_phase(struct fanout *f, int op)
{
    f->xop = op;
    f->pending = 1;
    for (size_t g = 0; g < f->n; g++) {
        struct fanout_leg *l = &f->legs[g];
        if (l->skip || !l->in_trx)
            continue;
        if (op == FX_COMMIT && !l->xprepared)
            continue;
        char sql[XA_GTRID_MAX + XA_GROUP_MAX + 32];
        xa_sql(l, op == FX_COMMIT ? "COMMIT" : "END", sql, sizeof(sql));
        l->xstep = 0;
        f->pending++;
        if (l->c == NULL || !sqlclient_ready(l->c) ||
            sqlclient_command(l->c, COM_QUERY, sql, strlen(sql), on_xa_step, l) != HY_OK) {
            f->pending--;
            if (l->err[0] == '\0')
                fanout_leg_note(l, "its connection is gone");
        }
    }
    if (--f->pending == 0)
        xa_phase_done(f);
}

static void xa_decided(struct fanout *f, bool ok, int err)
{
    f->decided = ok;
    if (!ok) {
        struct fanout_leg *first = f->legs;
        while (first < f->legs + f->n - 1 && first->skip)
            first++;
        fanout_leg_note(first, "the commit decision could not be logged to %.100s: %s",
                        config_root_c(f->s->cfg)->xa_log, strerror(err));
        xa_phase(f, FX_ROLLBACK);
        return;
    }
    session_xa_failpoint("after-decision");
    xa_phase(f, FX_COMMIT);
}

static void xa_logged(struct xa_log_wait *w)
{
    struct fanout *f = w->data;
    f->logging = false;
    xa_decided(f, w->rc == HY_OK, w->err);
}

/* Every branch prepared: the decision to the log, waited for. */
static void xa_decide(struct fanout *f)
{
    struct session *s = f->s;
    const struct config *root = config_root_c(s->cfg);
    struct xa_decision d = {.when = (int64_t)time(NULL)};
    snprintf(d.gtrid, sizeof(d.gtrid), "%s", f->gtrid);
    for (size_t g = 0; g < f->n && d.n_groups < XA_GROUPS_MAX; g++) {
        if (f->legs[g].xprepared)
            snprintf(d.groups[d.n_groups++], sizeof(d.groups[0]), "%.40s", f->legs[g].group);
    }
    session_xa_failpoint("before-decision");
    f->logw.loop = s->w->loop;
    f->logw.done = xa_logged;
    f->logw.data = f;
    hy_status_t rc = xa_log_writer_decide(root->xa_log, &d, &f->logw);
    if (rc == HY_AGAIN)
        f->logging = true;
    else
        xa_decided(f, rc == HY_OK, errno);
}

static void xa_phase_done(struct fanout *f)
{
    bool all = true;
    for (size_t g = 0; g < f->n; g++) {
        const struct fanout_leg *l = &f->legs[g];
        if (!l->skip && l->in_trx && !(f->xop == FX_COMMIT ? l->xcommitted : l->xprepared))
            all = false;
    }
    if (f->xop == FX_PREPARE) {
        if (all)
            xa_decide(f);
        else
            xa_phase(f, FX_ROLLBACK);
        return;
    }
    if (f->xop == FX_COMMIT) {
        /* decided: committed, or left prepared to the recovery, which
         * commits it; either way the statement's answer is its success */
        f->committed = true;
        for (size_t g = 0; g < f->n; g++)
            f->legs[g].err[0] = '\0';
        if (!all) {
            slog_warn(f->s, "xa %s: an XA COMMIT failed after the decision: left to the recovery",
                      f->gtrid);
            xa_recover_kick();
        } else {
            if (xa_log_writer_done(config_root_c(f->s->cfg)->xa_log, f->gtrid) != HY_OK)
                slog_warn(f->s, "xa %s: cannot mark the decision done (recovery marks it)",
                          f->gtrid);
        }
        for (size_t g = 0; g < f->n; g++)
            f->legs[g].in_trx = false;
        fanout_finish(f, true);
        return;
    }
    /* rolled back; a branch whose ROLLBACK failed while prepared stays so:
     * the recovery rolls it back (undecided) */
    bool left = false;
    for (size_t g = 0; g < f->n; g++)
        left |= f->legs[g].xprepared;
    if (left)
        xa_recover_abandon(f->gtrid);
    f->committed = false;
    for (size_t g = 0; g < f->n; g++) {
        f->legs[g].in_trx = false;
        f->legs[g].xprepared = false;
    }
    fanout_finish(f, true);
}

void fanout_xa_end_trx(struct fanout *f, bool all_ok)
{
    xa_phase(f, all_ok ? FX_PREPARE : FX_ROLLBACK);
}

/* ---- a read inside a transaction across groups ("xa") ------------------------
 * The transaction has a branch per group it touched, each on the session's
 * own connection to the group's primary (session_xa.c). A scatter read in
 * it runs each group's part on that connection, in group order, so that
 * it sees the transaction's own changes and takes its locks (FOR UPDATE,
 * LOCK IN SHARE MODE) there; a group without a branch yet gets one first
 * (ensure_backend: connection, session state, XA START), as for any
 * statement of the transaction. The client's statement waits in `up`
 * meanwhile, and is routed again after each step (prepare_read keeps the
 * fan-out): the session machinery readies a connection only for a
 * statement that waits there. Each part is an internal query (int_xread)
 * whose answer is read into the group's scatter_part, in the client's
 * framing (the session's connections have it). The first part that fails
 * ends the run: its error (the server's ERR as it sent it) is the
 * statement's answer; a deadlock there rolled the server's branch back,
 * so the whole transaction is rolled back before the next command
 * (session_xa_server_rollback), as for any statement of it. Once every
 * part is in, the session goes back to its group and the parts are
 * merged as outside a transaction. */

bool session_fanout_xa_wait(struct session *s)
{
    struct fanout *f = s->feat.groups->fanout;
    if (f == NULL || !f->xread)
        return false;
    if (f->xdone) {
        f->xanswer = true; /* answer_here's command_abandon keeps it */
        return false;
    }
    struct config *root = config_root(s->cfg);
    while (f->xat < f->n) {
        struct fanout_leg *l = &f->legs[f->xat];
        uint16_t g = (uint16_t)f->xat;
        l->f = f;
        snprintf(l->group, sizeof(l->group), "%s", root->groups[g].name);
        if (s->feat.groups->xa == NULL) { /* cannot be: nothing ends it while the statement waits */
            fanout_leg_note(l, "the transaction across groups ended before this group's part ran");
            break;
        }
        if (fanout_cur_group(s) != g) {
            struct config *to = group_view(root, g);
            if (to == NULL) {
                fanout_leg_note(l, "the group is not in the session's config");
                break;
            }
            if (!session_view_move(s, to)) {
                session_mark_closing(s, END_NOMEM);
                return true;
            }
        }
        /* (not s->route.wait_idx: the statement is to be routed again, here) */
        if (!ensure_backend(s, s->route.primary))
            return true; /* readied first: routed again then (or dropped, and f with it) */
        snprintf(l->be, sizeof(l->be), "%s", s->conns.cur->be->name);
        l->part.ext_meta = (s->who.ext_caps & MARIADB_CLIENT_EXTENDED_METADATA) != 0;
        l->part.deprecate_eof = (s->who.caps & CLIENT_DEPRECATE_EOF) != 0;
        struct group_stats *gs = stats_group(l->group);
        if (gs != NULL)
            atomic_fetch_add_explicit(&gs->scatters, 1, memory_order_relaxed);
        int ms = s->cfg->backend_read_timeout_ms > 0 ? s->cfg->backend_read_timeout_ms
                                                     : SCATTER_DEFAULT_TIMEOUT_MS;
        slog_debug(s, "xa read: group %s's part on %s", l->group, l->be);
        internal_send(s, &int_xread, COM_QUERY, f->plan.text, f->plan.text_len, ms);
        return true;
    }
    f->xdone = true;
    f->xanswer = true;
    return false;
}

static void xread_packet(struct session *s, const struct hook_packet *pk)
{
    const uint8_t *p = pk->pl;
    uint32_t len = pk->len;
    bool whole = pk->whole;
    struct fanout *f = s->feat.groups->fanout;
    if (f == NULL || !f->xread || f->xat >= f->n)
        return;
    struct fanout_leg *l = &f->legs[f->xat];
    if (l->err[0] != '\0' || l->part.kind != SCATTER_PART_NONE)
        return; /* failed already (the rest of the answer is read and dropped) */
    char why[200];
    if (!whole)
        fanout_leg_note(l, "a packet of its answer is larger than buffer_size");
    else if (scatter_part_feed(&l->part, p, len, &f->budget, why, sizeof(why)) == HY_ERROR)
        fanout_leg_note(l, "%s", why);
}

static enum internal_next xread_answered(struct session *s, struct bconn *bc)
{
    (void)bc;
    struct fanout *f = s->feat.groups->fanout;
    session_timer_stop(s);
    session_set_state(s, SS_IDLE);
    if (f != NULL && f->xread && f->xat < f->n) {
        struct fanout_leg *l = &f->legs[f->xat];
        if (l->err[0] == '\0' && l->part.kind == SCATTER_PART_NONE)
            fanout_leg_note(l, "its answer ended early");
        else if (l->err[0] == '\0' && l->part.kind == SCATTER_PART_OK)
            fanout_leg_note(l, "it answered OK, not rows");
        if (l->err[0] != '\0' || l->part.kind != SCATTER_PART_ROWS) {
            f->xdone = true; /* answered with this group's failure */
            if (l->part.kind == SCATTER_PART_ERR && s->io.resp.err_code == ER_LOCK_DEADLOCK)
                f->xrolled = s->io.resp.err_code; /* once answered: session_xa_server_rollback */
        } else {
            f->xat++;
        }
    }
    session_next_command(s); /* routed again: the next part, or the answer */
    return INTERNAL_WENT_ON;
}

/* Its connection failed: the transaction is lost (its branch with it):
 * rolled back on every group, the client told. */
static void xread_failed(struct session *s, const char *why)
{
    struct bconn *bc = s->conns.cur;
    char name[64];
    snprintf(name, sizeof(name), "%s", bc->be->name);
    slog_warn(s, "xa read: backend %s failed during its part: %s", name, why);
    /* what of the transaction stays, as every 1927 says it: read before
     * the connection goes (session_trx_lost does the same) */
    uint8_t keeps = (uint8_t)session_track_lost(s, bc, true);
    session_timer_stop(s);
    query_internal_failed(s);
    bconn_close(bc); /* its branch is gone with it (session_xa_gone) */
    stream_release(&s->io.down, &s->w->pool);
    session_set_state(s, SS_IDLE);
    command_abandon(s); /* the fan-out too */
    struct stream *st = &s->io.up;
    uint32_t len = mysql_hdr_len(st->b->data + st->scan);
    if (len + MYSQL_HEADER_SIZE > stream_unparsed(st)) {
        session_mark_closing(s, END_BACKEND_LOST);
        return;
    }
    consume_packet(s, len);
    if (s->feat.groups->xa != NULL) {
        /* every other branch rolled back, the client told (ERR 1927) */
        route_trx_lost_told(s);
        if (session_xa_lost(s, false, name))
            return;
    } else {
        route_trx_lost_keeps(s, keeps); /* session_err's 1927 says what stays */
        session_err(s, 1, SERR_TRX_LOST, name);
    }
    if (s->state == SS_IDLE)
        session_next_command(s);
}

void session_fanout_abandon(struct session *s)
{
    /* dropped before its answer (even with every part in: a statement
     * may be dropped between the last part and its answer, e.g. for a
     * transaction found lost first) */
    const struct fanout *f = session_groups(s)->fanout;
    if (f != NULL && f->xread && !f->xanswer)
        session_fanout_free(s);
}

/* Every part is in (or one failed): the session back on its group, the
 * merged answer (or the failure) to the client. */
void fanout_xa_read_answer(struct fanout *f)
{
    struct session *s = f->s;
    struct config *root = config_root(s->cfg);
    if (fanout_cur_group(s) != f->xhome && f->xhome < root->n_groups) {
        struct config *home = group_view(root, f->xhome);
        if (home != NULL && !session_view_move(s, home))
            slog_info(s, "xa read: out of memory going back to group %s: staying on %s",
                      root->groups[f->xhome].name, group_of(s->cfg)->name);
    }
    /* the parts' conditions stay on the branches' connections, which the
     * next statements use: not gathered (SHOW WARNINGS is refused) */
    struct diag_local d;
    memset(&d, 0, sizeof(d));
    snprintf(d.unknown, sizeof(d.unknown),
             "a read of every group inside a transaction across groups does not gather them");
    session_diag_set(s, &d);
    fanout_answer_read(f);
    if (f->xrolled != 0 && s->feat.groups->xa != NULL)
        session_xa_server_rollback(s, f->xrolled); /* the others, before the next command */
    session_fanout_free(s);
}

/* A group's part of a scatter read in an XA transaction. */
const struct internal_cmd int_xread = {.name = "a group's part of an XA read",
                                       .flags = INTERNAL_WHOLE,
                                       .packet = xread_packet,
                                       .answered = xread_answered,
                                       .failed = xread_failed};
