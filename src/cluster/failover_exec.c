/*
 * failover_exec.c: the failover thread (failover_exec.h): requests from
 * the admin socket, a tick after each monitor round, and the procedures of
 * cluster = "replication" (failover, switchover, rejoin, the fence of a
 * primary cut off from the majority). What procedures are made of is in
 * failover_steps.c; cluster = "dual-master" has failover_dual.c.
 *
 * Shared with other threads: the request slot and the config (under
 * fx.mu) and the backends' run-time state (backend.h), which is lock-free
 * or behind its own mutex; the thread publishes that a procedure is under
 * way there (backend_set_failover_busy), for the sessions.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "failover_int.h"
#include "halyard/core/clock.h"
#include "halyard/cluster/backend.h"
#include "halyard/core/events.h"
#include "halyard/config/group.h"

static struct fx FX = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .cv = PTHREAD_COND_INITIALIZER,
};

/* The start of a failover or a switchover: no veto yet, no verdict, the
 * primary as the config has it, and the survey's arrays (false, said,
 * when out of memory). */
static bool run_start(struct fx *fx, struct survey *sv, struct failover_verdict *vd, int *old,
                      const char *why)
{
    fx->vetoed = false;
    bool have = fx_survey_begin(fx, sv);
    *vd = (struct failover_verdict){.action = FAILOVER_NONE, .candidate = -1};
    *old = fx_current_primary(fx->cfg);
    snprintf(vd->reason, sizeof(vd->reason), "%s", why);
    if (!have)
        fx_step(fx, LOG_LEVEL_ERROR, "out of memory");
    return have;
}

/* Failover: the primary is gone. `manual`: asked by the admin socket. */
static bool run_failover(struct fx *fx, bool manual, uint64_t down_ms)
{
    const struct config *cfg = fx->cfg;
    size_t nb = cfg->n_backends;
    struct survey sv;
    struct failover_verdict vd;
    int old;
    bool have = run_start(fx, &sv, &vd, &old,
                          manual ? "requested by the admin socket" : "the primary is unreachable");
    struct failover_node *nodes = sv.nodes;
    struct gtid_pos *states = sv.states;
    bool ok = false, attempted = false;
    if (!have)
        goto out;
    /* The lock first, on the servers that took the connection; then the
     * topology, read under the lock: another halyard may have just
     * finished a promotion. */
    for (size_t i = 0; i < nb; i++)
        nodes[i].reachable = fx->links[i].connected;
    if (!fx_take_lock(fx, nodes, !manual))
        goto out;
    fx_probe(fx, nodes, states);
    old = fx_current_primary(cfg);
    struct failover_view v = {.nodes = nodes,
                              .n = nb,
                              .primary = old,
                              .primary_down_ms = down_ms,
                              .zones = fx->cfg->failover_zones};
    struct failover_settings set = {
        .mode = FAILOVER_AUTO, .delay_ms = 0, .auto_rejoin = cfg->auto_rejoin};
    failover_decide(&v, &set, &vd);
    fx_step(fx, LOG_LEVEL_INFO, "topology under the lock: %s: %s",
            failover_action_to_str(vd.action), vd.reason);
    if (vd.action == FAILOVER_FOLLOW) {
        fx_publish_primary(fx, (size_t)vd.candidate, old, "promoted elsewhere: following it",
                           PROOF_FOLLOWED);
        ok = true;
        goto out;
    }
    if (vd.action != FAILOVER_PROMOTE) {
        if (manual && vd.action == FAILOVER_NONE && old >= 0 && nodes[old].reachable)
            fx_step(fx, LOG_LEVEL_WARN, "the primary is reachable: use switchover");
        goto out;
    }
    size_t c = (size_t)vd.candidate;
    if (!fx_pre_failover_allows(fx, "failover", manual, old, c, vd.reason))
        goto out;
    attempted = true; /* counted in halyard_failovers_total from here on */
    {
        char action[EVENT_TEXT_MAX];
        snprintf(action, sizeof(action), "promoting %s", nodes[c].name);
        events_emit(EVENT_FAILOVER_STARTED, nodes[c].name, old >= 0 ? nodes[old].name : "",
                    nodes[c].name, vd.reason, action);
    }
    struct gtid_pos target;
    char pos[GTID_STR_MAX];
    failover_eventual_pos(&nodes[c], &target);
    gtid_pos_format(&target, pos, sizeof(pos));
    backend_set_failover_busy(group_of(fx->cfg)->name, true);
    bool caught_up = true;
    if (vd.donor >= 0 && !fx_catch_up(fx, nodes, c, (size_t)vd.donor, cfg->switchover_timeout_ms)) {
        caught_up = false;
        /* A second failure (the donor lost, or too far behind to finish in
         * time): the service comes first, and the loss is said loudly. */
        char note[EVENT_TEXT_MAX];
        snprintf(note, sizeof(note),
                 "%s could not take the transactions only %s has: promoted without them; %s "
                 "will not replicate from it until they are reconciled by hand",
                 nodes[c].name, nodes[vd.donor].name, nodes[vd.donor].name);
        fx_step(fx, LOG_LEVEL_ERROR, "%s", note);
        events_emit(EVENT_FAILOVER_FAILED, nodes[c].name, old >= 0 ? nodes[old].name : "",
                    nodes[c].name, note, "promoting it without them");
    }
    if (!fx_make_primary(fx, nodes, c, pos, cfg->switchover_timeout_ms))
        goto out;
    fx_repoint_others(fx, nodes, c, old, -1, true);
    fx_publish_done(fx, "failover", c, old, "primary",
                    proof_promotion_judge(&v, (int)c, caught_up));
    ok = true;
out:
    /* An automatic attempt that did not get as far as promoting is tried
     * again at the next tick: only what changed something, and every
     * admin request, is a record. */
    return fx_procedure_end(fx, &sv,
                            &(struct fx_outcome){.manual = manual,
                                                 .attempted = attempted,
                                                 .record = attempted || manual || fx->vetoed ||
                                                           (ok && vd.action == FAILOVER_FOLLOW),
                                                 .ok = ok,
                                                 .to = vd.candidate,
                                                 .from = old,
                                                 .reason = vd.reason});
}

static bool run_switchover(struct fx *fx, const char *target)
{
    const struct config *cfg = fx->cfg;
    size_t nb = cfg->n_backends;
    struct survey sv;
    struct failover_verdict vd;
    int old;
    bool have = run_start(fx, &sv, &vd, &old, "requested by the admin socket");
    struct failover_node *nodes = sv.nodes;
    struct gtid_pos *states = sv.states;
    bool ok = false, attempted = false;
    if (!have)
        goto out;
    fx_probe(fx, nodes, states);
    old = fx_current_primary(cfg);
    struct failover_view v = {
        .nodes = nodes, .n = nb, .primary = old, .zones = fx->cfg->failover_zones};
    failover_switchover_check(&v, target, &vd);
    size_t c = (size_t)vd.candidate;
    if (!fx_switchover_allowed(fx, vd.action == FAILOVER_PROMOTE, vd.reason, old, c))
        goto out;
    if (!fx_take_lock(fx, nodes, true))
        goto out;
    attempted = true; /* counted in halyard_failovers_total from here on */
    struct link *ol = &fx->links[old];
    char pos[GTID_STR_MAX];
    if (!fx_pause_writes(fx, nodes, (size_t)old, pos, sizeof(pos)))
        goto rollback;
    if (!fx_make_primary(fx, nodes, c, pos, cfg->switchover_timeout_ms))
        goto rollback;
    fx_repoint_others(fx, nodes, c, old, -1, false);
    uint64_t t0 = (uint64_t)hy_mono_ms();
    if (cfg->replication_user[0] == '\0') {
        fx_step(fx, LOG_LEVEL_WARN,
                "%s stays read_only outside replication: set replication_user to make it a replica",
                nodes[old].name);
    } else if (fx_repoint(fx, ol, c, "current_pos", true)) {
        fx_step(fx, LOG_LEVEL_INFO, "%s now replicates from %s (%llu ms)", nodes[old].name,
                nodes[c].name, (unsigned long long)((uint64_t)hy_mono_ms() - t0));
    } else {
        fx_step(fx, LOG_LEVEL_ERROR, "%s: making it a replica of %s failed: %s", nodes[old].name,
                nodes[c].name, ol->err);
    }
    /* it applied all the old primary wrote before read_only (fx_make_primary) */
    fx_publish_done(fx, "switchover", c, old, "primary", PROOF_PROMOTED);
    ok = true;
    goto out;

rollback:
    fx_resume_writes(fx, nodes, (size_t)old);
out:
    return fx_switchover_end(fx, &sv, attempted, ok, vd.candidate, old, target, vd.reason);
}

/* A reachable backend outside replication beside the primary: fence it,
 * and with auto_rejoin make it a replica. */
static void run_rejoin(struct fx *fx, size_t i, int primary, bool fence)
{
    fx->vetoed = false;
    const struct config *cfg = fx->cfg;
    size_t nb = cfg->n_backends;
    struct survey sv;
    bool have = fx_survey_begin(fx, &sv);
    struct failover_node *nodes = sv.nodes;
    struct gtid_pos *states = sv.states;
    if (!have)
        goto out;
    fx_probe(fx, nodes, states);
    struct failover_view v = {
        .nodes = nodes, .n = nb, .primary = primary, .zones = fx->cfg->failover_zones};
    struct failover_settings set = {.mode = cfg->failover_auto ? FAILOVER_AUTO : FAILOVER_OFF,
                                    .auto_rejoin = cfg->auto_rejoin};
    char why[1024];
    enum rejoin_action a =
        failover_rejoin_decide(&v, (int)i, &set, &states[primary], why, sizeof(why));
    char replica_of[160];
    snprintf(replica_of, sizeof(replica_of), "replica of %s", cfg->backends[primary].name);
    struct audit_procedure ap = {.event = "rejoin",
                                 .trigger = "auto",
                                 .backend = nodes[i].name,
                                 .from = "read_only outside replication",
                                 .to = replica_of,
                                 .reason = why};
    if (a == REJOIN_FENCE) {
        ap = (struct audit_procedure){.event = "fence",
                                      .trigger = "auto",
                                      .backend = nodes[i].name,
                                      .from = "writable outside replication",
                                      .to = "read_only",
                                      .reason = why};
        fx_read_only_procedure(fx, i, true, &ap);
        goto out;
    }
    if (fence)
        goto out; /* only fencing was due */
    if (a == REJOIN_HOLD_ERRANT || a == REJOIN_HOLD_LOST_OWN) {
        /* Its data differ from the primary's: fenced (it is, since the
         * failover), out of traffic, and said once as an event. */
        const char *what =
            a == REJOIN_HOLD_ERRANT ? "errant transactions" : "lost transactions of its own";
        backend_set_fenced(cfg->backends[i].rt, true, what);
        if (i < fx->g->n_rate && !fx->g->held[i]) {
            char to[EVENT_STATE_MAX];
            snprintf(to, sizeof(to), "held (%s)", what);
            events_emit(EVENT_FENCED, nodes[i].name, "fenced", to, why,
                        "left read_only outside replication: rebuild it from the primary");
            fx->g->held[i] = true;
        }
    }
    if (a == REJOIN_REPLICATE) {
        if (cfg->replication_user[0] == '\0') {
            fx_step(fx, LOG_LEVEL_WARN, "%s cannot rejoin: replication_user is not set",
                    nodes[i].name);
        } else if ((ap.ok = fx_repoint(fx, &fx->links[i], (size_t)primary, "current_pos", true))) {
            fx_step(fx, LOG_LEVEL_WARN, "%s", why);
        } else {
            fx_step(fx, LOG_LEVEL_ERROR, "%s: rejoin failed: %s", nodes[i].name, fx->links[i].err);
        }
    } else {
        fx_step(fx, LOG_LEVEL_WARN, "%s", why); /* refused: it stays out, and the record says why */
    }
    if (!ap.ok)
        ap.to = ap.from;
    fx_audit(fx, &ap);
out:
    fx_survey_end(fx, &sv);
}

/* ---- the thread --------------------------------------------------------------- */

static void tick_group(struct fx *fx)
{
    const struct config *cfg = fx->cfg;
    size_t nb = cfg->n_backends;
    /* Galera: every node is writable and the monitor moves the writer role
     * (galera.h). Failover, fencing and rejoin would set read_only on
     * writable nodes: none of it runs. */
    if (cfg->cluster == CLUSTER_GALERA)
        return;
    if (cfg->cluster == CLUSTER_DUAL_MASTER) {
        fx_dual_tick(fx);
        return;
    }
    struct failover_node *nodes = calloc(nb, sizeof(*nodes));
    if (nodes == NULL)
        return;
    fx_view_from_monitor(cfg, nodes);
    int p = fx_current_primary(cfg);
    uint64_t now = (uint64_t)hy_mono_ms();

    /* A fenced server that replicates again is an ordinary replica. */
    for (size_t i = 0; i < nb; i++) {
        struct backend_rt *rt = cfg->backends[i].rt;
        if (rt != NULL && atomic_load(&rt->fenced) && nodes[i].reachable && nodes[i].replicating)
            backend_set_fenced(rt, false, "replicates again");
        if (i < fx->g->n_rate && nodes[i].replicating)
            fx->g->held[i] = false;
    }

    fx_track_primary(fx, p, p >= 0 && nodes[p].reachable, now);
    if (fx_cut_off_check(fx, nodes, p, now)) {
        free(nodes);
        return;
    }
    struct failover_view v = {.nodes = nodes,
                              .n = nb,
                              .primary = p,
                              .primary_down_ms =
                                  fx->g->down_idx >= 0 ? now - fx->g->down_since_ms : 0,
                              .zones = cfg->failover_zones};
    struct failover_settings set = {.mode = cfg->failover_auto ? FAILOVER_AUTO : FAILOVER_OFF,
                                    .delay_ms = cfg->failover_delay_ms,
                                    .auto_rejoin = cfg->auto_rejoin};
    struct failover_verdict vd;
    failover_decide(&v, &set, &vd);
    /* Due but impossible: said once, and in the 1429 that writes get */
    if (vd.action == FAILOVER_BLOCKED && !fx->g->blocked_said) {
        hy_log_error("failover: %s", vd.reason);
        backend_set_failover_note(group_of(cfg)->name, vd.reason);
    }
    fx->g->blocked_said = vd.action == FAILOVER_BLOCKED;
    if ((vd.action == FAILOVER_PROMOTE || vd.action == FAILOVER_FOLLOW) &&
        now >= fx->g->next_try_ms) {
        fx->t0_ms = now;
        fx->report_len = 0;
        /* The same refusal as last time is logged at debug level. */
        fx->quiet = fx->g->no_majority;
        fx_step(fx, LOG_LEVEL_WARN, "%s: %s", failover_action_to_str(vd.action), vd.reason);
        if (run_failover(fx, false, v.primary_down_ms)) {
            fx->g->down_idx = -1;
            fx->g->no_majority = false;
            backend_set_failover_note(group_of(fx->cfg)->name, NULL);
        } else {
            fx_retry_later(fx);
        }
        fx->quiet = false;
        free(nodes);
        return;
    }
    /* Servers outside replication beside a usable primary. */
    if (p >= 0 && nodes[p].reachable && !nodes[p].read_only) {
        for (size_t i = 0; i < nb && i < fx->g->n_rate; i++) {
            const struct failover_node *n = &nodes[i];
            if ((int)i == p || !n->reachable || n->replicating || n->maint)
                continue;
            bool fence = !n->read_only;
            uint64_t *last = fence ? &fx->g->last_fence_ms[i] : &fx->g->last_rejoin_ms[i];
            uint64_t every = fence ? 1000 : 30000; /* an errant server is logged twice a minute */
            if (!fence && !cfg->auto_rejoin)
                continue;
            if (*last != 0 && now - *last < every)
                continue;
            *last = now;
            fx->t0_ms = now;
            fx->report_len = 0;
            run_rejoin(fx, i, p, fence);
        }
    }
    free(nodes);
}

static void group_state_free(struct fx_group *g)
{
    free(g->last_fence_ms);
    free(g->last_rejoin_ms);
    free(g->held);
    g->last_fence_ms = g->last_rejoin_ms = NULL;
    g->held = NULL;
    g->n_rate = 0;
}

/* Look at group g: its view and its state. */
static void fx_enter(struct fx *fx, size_t g)
{
    fx->g = &fx->groups[g];
    fx->cfg = group_view(fx->root, g);
    if (fx->root->groups_explicit)
        snprintf(fx->lock_name, sizeof(fx->lock_name), "%s:%s", FAILOVER_LOCK_NAME,
                 fx->root->groups[g].name);
    else
        snprintf(fx->lock_name, sizeof(fx->lock_name), "%s", FAILOVER_LOCK_NAME);
}

/* A tick looks at each group in turn: a failover in one never touches
 * another's backends, and its lock counts its own servers. */
static void tick(struct fx *fx)
{
    for (size_t g = 0; g < fx->n_groups; g++) {
        fx_enter(fx, g);
        tick_group(fx);
    }
}

/* The group a request is for: the group named `target`, the group of the
 * backend named `target`, else the first. */
static size_t request_group(const struct config *root, const char *target)
{
    int g = target[0] ? group_find(root, target) : -1;
    if (g >= 0)
        return (size_t)g;
    for (size_t i = 0; target[0] && i < root->n_backends; i++) {
        if (strcmp(root->backends[i].name, target) == 0)
            return root->backends[i].group;
    }
    return 0;
}

static void take_new_config(struct fx *fx)
{
    struct config *fresh = NULL;
    pthread_mutex_lock(&fx->mu);
    fresh = fx->cfg_new;
    fx->cfg_new = NULL;
    pthread_mutex_unlock(&fx->mu);
    if (fresh == NULL)
        return;
    /* A group of the same name and size keeps its state (a primary seen
     * down, rate limits); others start afresh. */
    struct fx_group *gs = calloc(fresh->n_groups, sizeof(*gs));
    if (gs == NULL) {
        config_put(fresh);
        hy_log_error("failover: out of memory taking the new config; keeping the old one");
        return;
    }
    for (size_t g = 0; g < fresh->n_groups; g++) {
        const struct config_group *cg = &fresh->groups[g];
        struct fx_group *ng = &gs[g];
        for (size_t o = 0; o < fx->n_groups; o++) {
            struct fx_group *og = &fx->groups[o];
            if (og->name[0] != '\0' && strcmp(og->name, cg->name) == 0 &&
                og->n_members == cg->n_members) {
                *ng = *og;
                og->name[0] = '\0';
                og->last_fence_ms = og->last_rejoin_ms = NULL;
                og->held = NULL;
                og->n_rate = 0;
                break;
            }
        }
        if (ng->name[0] == '\0') {
            snprintf(ng->name, sizeof(ng->name), "%s", cg->name);
            ng->n_members = cg->n_members;
            ng->down_idx = -1;
            ng->cut_off_idx = -1;
        }
        size_t nb = cg->n_members;
        if (nb != ng->n_rate) {
            group_state_free(ng);
            ng->last_fence_ms = calloc(nb ? nb : 1, sizeof(uint64_t));
            ng->last_rejoin_ms = calloc(nb ? nb : 1, sizeof(uint64_t));
            ng->held = calloc(nb ? nb : 1, sizeof(bool));
            ng->n_rate = ng->last_fence_ms != NULL && ng->last_rejoin_ms != NULL && ng->held != NULL
                             ? nb
                             : 0;
        }
    }
    for (size_t o = 0; o < fx->n_groups; o++)
        group_state_free(&fx->groups[o]);
    free(fx->groups);
    fx->groups = gs;
    fx->n_groups = fresh->n_groups;
    config_put(fx->root);
    fx->root = fresh;
    fx_enter(fx, 0);
}

static void *fx_main(void *arg)
{
    struct fx *fx = arg;
    for (;;) {
        pthread_mutex_lock(&fx->mu);
        if (!fx->stop && !fx->notified && !fx->req_pending) {
            struct timespec ts = hy_deadline_ms(FAILOVER_EXEC_TICK_MS);
            pthread_cond_timedwait(&fx->cv, &fx->mu, &ts);
        }
        bool stop = fx->stop;
        fx->notified = false;
        bool req = fx->req_pending;
        enum failover_request kind = fx->req_kind;
        char target[128];
        snprintf(target, sizeof(target), "%s", fx->req_target);
        failover_done_fn done = fx->req_done;
        void *done_arg = fx->req_arg;
        pthread_mutex_unlock(&fx->mu);
        if (stop)
            break;
        take_new_config(fx);
        if (req && fx->root == NULL) {
            pthread_mutex_lock(&fx->mu);
            fx->req_pending = false;
            pthread_mutex_unlock(&fx->mu);
            if (done != NULL)
                done(done_arg, false, "no config");
            continue;
        }
        if (req) {
            fx_enter(fx, request_group(fx->root, target));
            if (group_find(fx->root, target) >= 0)
                target[0] = '\0'; /* a group's name: the group's primary, or the best */
            fx->t0_ms = (uint64_t)hy_mono_ms();
            fx->report_len = 0;
            fx->report[0] = '\0';
            bool ok;
            if (fx->cfg->cluster == CLUSTER_GALERA) {
                /* Promotion would set read_only on writable nodes. */
                fx_step(fx, LOG_LEVEL_WARN,
                        "%s refused: cluster = galera (the writer follows priority and the nodes' "
                        "wsrep state; drain a node to move it)",
                        kind == FAILOVER_REQ_SWITCHOVER ? "switchover" : "failover");
                ok = false;
            } else if (fx->cfg->cluster == CLUSTER_DUAL_MASTER) {
                fx_step(fx, LOG_LEVEL_WARN, "%s requested%s%s",
                        kind == FAILOVER_REQ_SWITCHOVER ? "switchover" : "failover",
                        target[0] ? " to " : "", target);
                ok = kind == FAILOVER_REQ_SWITCHOVER ? fx_dual_switchover(fx, target)
                                                     : fx_dual_failover(fx, true, 0);
            } else if (kind == FAILOVER_REQ_SWITCHOVER) {
                fx_step(fx, LOG_LEVEL_WARN, "switchover requested%s%s", target[0] ? " to " : "",
                        target);
                ok = run_switchover(fx, target);
            } else {
                fx_step(fx, LOG_LEVEL_WARN, "failover requested");
                ok = run_failover(fx, true, 0);
            }
            pthread_mutex_lock(&fx->mu);
            fx->req_pending = false;
            pthread_mutex_unlock(&fx->mu);
            if (done != NULL)
                done(done_arg, ok, fx->report);
            continue;
        }
        tick(fx);
    }
    return NULL;
}

hy_status_t failover_exec_start(struct config *cfg, char *err, size_t errlen)
{
    struct fx *fx = &FX;
    fx->loop = ev_loop_new(EVFLAG_AUTO);
    if (fx->loop == NULL) {
        snprintf(err, errlen, "failover: cannot create an event loop");
        return HY_ERROR;
    }
    fx->cfg_new = config_get(cfg);
    fx->stop = false;
    fx->seed = (unsigned)getpid() ^ (unsigned)(uint64_t)hy_mono_ms();
    int rc = pthread_create(&fx->thread, NULL, fx_main, fx);
    if (rc != 0) {
        config_put(fx->cfg_new);
        fx->cfg_new = NULL;
        ev_loop_destroy(fx->loop);
        fx->loop = NULL;
        snprintf(err, errlen, "failover: cannot start its thread: %s", strerror(rc));
        return HY_ERROR;
    }
    fx->running = true;
    return HY_OK;
}

void failover_exec_stop(void)
{
    struct fx *fx = &FX;
    if (!fx->running)
        return;
    pthread_mutex_lock(&fx->mu);
    fx->stop = true;
    pthread_cond_signal(&fx->cv);
    pthread_mutex_unlock(&fx->mu);
    pthread_join(fx->thread, NULL);
    fx->running = false;
    fx_links_close(fx);
    ev_loop_destroy(fx->loop);
    fx->loop = NULL;
    config_put(fx->root);
    config_put(fx->cfg_new);
    fx->root = fx->cfg = fx->cfg_new = NULL;
    for (size_t g = 0; g < fx->n_groups; g++)
        group_state_free(&fx->groups[g]);
    free(fx->groups);
    fx->groups = NULL;
    fx->g = NULL;
    fx->n_groups = 0;
}

void failover_exec_set_config(struct config *cfg)
{
    struct fx *fx = &FX;
    if (!fx->running)
        return;
    pthread_mutex_lock(&fx->mu);
    config_put(fx->cfg_new);
    fx->cfg_new = config_get(cfg);
    pthread_cond_signal(&fx->cv);
    pthread_mutex_unlock(&fx->mu);
}

void failover_exec_notify(void)
{
    struct fx *fx = &FX;
    pthread_mutex_lock(&fx->mu);
    fx->notified = true;
    pthread_cond_signal(&fx->cv);
    pthread_mutex_unlock(&fx->mu);
}

hy_status_t failover_exec_request(enum failover_request kind, const char *target,
                                  failover_done_fn done, void *arg, char *err, size_t errlen)
{
    struct fx *fx = &FX;
    hy_status_t rc = HY_OK;
    pthread_mutex_lock(&fx->mu);
    if (!fx->running) {
        snprintf(err, errlen, "the failover thread is not running");
        rc = HY_ERROR;
    } else if (fx->req_pending) {
        snprintf(err, errlen, "a switchover or failover is already under way");
        rc = HY_ERROR;
    } else {
        fx->req_pending = true;
        fx->req_kind = kind;
        snprintf(fx->req_target, sizeof(fx->req_target), "%s", target != NULL ? target : "");
        fx->req_done = done;
        fx->req_arg = arg;
        pthread_cond_signal(&fx->cv);
    }
    pthread_mutex_unlock(&fx->mu);
    return rc;
}
