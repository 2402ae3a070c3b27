/*
 * failover_dual.c: cluster = "dual-master" on the failover thread
 * (failover_int.h): what dualmaster.h decides about the pair, carried out.
 *
 * Both servers always replicate from each other, so nothing is ever
 * repointed. Failover makes the standby apply what it received from the
 * lost active (bounded by switchover_timeout_ms), stop its replication
 * from it (so that transactions the lost active committed but never sent
 * do not arrive unchecked when it returns) and writable. The returning
 * active is fenced read_only; once it is read-only and has no errant
 * transactions it is the standby again and the active resumes replicating
 * from it (START SLAVE). A switchover pauses writes, makes the active
 * read-only, waits for the standby to apply its last position, and makes
 * the standby writable: both keep replicating.
 *
 * Every change is made under the failover lock after reading the servers
 * again, so two halyards never act on the same pair at once, and neither
 * acts on what it saw before the other's change.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failover_int.h"
#include "halyard/core/clock.h"
#include "halyard/config/group.h"
#include "halyard/cluster/backend.h"
#include "halyard/cluster/dualmaster.h"
#include "halyard/core/events.h"

/* The pair as dualmaster.h sees it, from failover nodes (the monitor's view
 * or a probe). errant: with `states` (a probe's @@gtid_binlog_state), a
 * server whose binlog holds a transaction the active's state lacks. */
static void dual_nodes(const struct config *cfg, const struct failover_node *fn,
                       const struct gtid_pos *states, int active, struct dual_node *out)
{
    for (size_t i = 0; i < 2; i++) {
        struct backend_rt *rt = cfg->backends[i].rt;
        out[i] = (struct dual_node){
            .name = fn[i].name,
            .reachable = fn[i].reachable,
            .down = !fn[i].reachable,
            .refused = fn[i].refused,
            .read_only = fn[i].read_only,
            .fenced = rt != NULL && atomic_load(&rt->fenced),
            .maint = fn[i].maint,
            .io_running = fn[i].io_running,
            .sql_error = fn[i].sql_error,
            .stopped = fn[i].replicating && !fn[i].io_running && !fn[i].sql_running,
            .has_gtid = fn[i].has_gtid,
        };
        if (states != NULL && active >= 0 && (size_t)active != i && fn[i].reachable &&
            fn[active].reachable) {
            out[i].errant = gtid_has_errant(&fn[i].binlog_pos, &states[active]);
            uint32_t sid = 0;
            if (rt != NULL) {
                pthread_mutex_lock(&rt->lock);
                sid = rt->info.server_id;
                pthread_mutex_unlock(&rt->lock);
            }
            out[i].lost_own = sid != 0 && gtid_lacks_own(&fn[i].binlog_pos, &states[active], sid);
            out[i].regain = fn[i].semisync_slave && fn[i].strict_mode;
        }
    }
}

/* Open the links and read the pair under the lock (strict: a majority of
 * all the voters configured): a fresh probe and the active picked from it,
 * with errant transactions against it. False when out of memory or the
 * lock was refused; fx_survey_end() undoes it either way. */
static bool dual_survey(struct fx *fx, struct survey *sv, bool strict, struct dual_node *dn,
                        int *active)
{
    if (!fx_survey_begin(fx, sv)) {
        fx_step(fx, LOG_LEVEL_ERROR, "out of memory");
        return false;
    }
    for (size_t i = 0; i < 2; i++)
        sv->nodes[i].reachable = fx->links[i].connected;
    if (!fx_take_lock(fx, sv->nodes, strict))
        return false;
    fx_probe(fx, sv->nodes, sv->states);
    int cur = fx_current_primary(fx->cfg);
    dual_nodes(fx->cfg, sv->nodes, NULL, cur, dn);
    *active = dual_pick_active(dn, 2, cur);
    /* The active's state again, read after the other server's position:
     * the probe reads both at once, and a standby that applied what the
     * active wrote in between would look errant. The state only grows. */
    if (*active >= 0 && sv->nodes[*active].reachable) {
        struct link *l = &fx->links[*active];
        const char *st;
        struct gtid_pos later;
        if (fx_link_run(fx, l, "SELECT @@gtid_binlog_state", fx->cfg->connect_timeout_ms) &&
            (st = fx_link_cell(l, 0)) != NULL && gtid_state_parse(st, strlen(st), &later) == HY_OK)
            sv->states[*active] = later;
    }
    dual_nodes(fx->cfg, sv->nodes, sv->states, *active, dn);
    return true;
}

/* With semi-sync (the server has rpl_semi_sync_slave_enabled on), the
 * master side belongs to the active alone: on the standby its applier
 * would wait for acknowledgements of the active's own transactions coming
 * back, which never come. Backend i gets rpl_semi_sync_master_enabled =
 * `active`; nothing is done on a server without semi-sync. */
static void dual_semisync(struct fx *fx, size_t i, bool active)
{
    struct link *l = &fx->links[i];
    int t = fx->cfg->connect_timeout_ms;
    if (!fx_link_run(fx, l, "SELECT @@rpl_semi_sync_slave_enabled, @@rpl_semi_sync_master_enabled",
                     t))
        return;
    const char *slave = fx_link_cell(l, 0), *master = fx_link_cell(l, 1);
    if (slave == NULL || strcmp(slave, "1") != 0 || master == NULL ||
        (strcmp(master, "1") == 0) == active)
        return;
    const char *sql = active ? "SET GLOBAL rpl_semi_sync_master_enabled = ON"
                             : "SET GLOBAL rpl_semi_sync_master_enabled = OFF";
    if (fx_link_run(fx, l, sql, t))
        fx_step(fx, LOG_LEVEL_INFO, "%s: %s", fx->cfg->backends[i].name, sql);
    else
        fx_step(fx, LOG_LEVEL_ERROR, "%s: %s failed: %s", fx->cfg->backends[i].name, sql, l->err);
}

/* The tick's verdict about backend i again, from the servers under the
 * lock: the pair may have changed since the monitor looked (another
 * halyard's switchover). False when the lock was refused. */
static bool dual_recheck(struct fx *fx, struct survey *sv, int *active, struct dual_verdict *vd)
{
    struct dual_node dn[2];
    if (!dual_survey(fx, sv, true, dn, active))
        return false;
    struct dual_view v = {.nodes = dn, .n = 2, .active = *active};
    struct dual_settings set = {.failover_auto = false};
    dual_decide(&v, &set, vd);
    return true;
}

static void dual_fence(struct fx *fx, size_t i)
{
    const struct config *cfg = fx->cfg;
    struct survey sv;
    int active = -1;
    struct dual_verdict vd;
    if (!dual_recheck(fx, &sv, &active, &vd) || vd.action != DUAL_FENCE || vd.node != (int)i)
        goto out; /* the servers say otherwise now */
    struct backend_rt *rt = cfg->backends[i].rt;
    backend_set_fenced(rt, true, "writable beside the active");
    struct audit_procedure ap = {.event = "fence",
                                 .trigger = "auto",
                                 .backend = cfg->backends[i].name,
                                 .from = "writable beside the active",
                                 .to = "read_only",
                                 .reason = vd.reason};
    fx_read_only_procedure(fx, i, true, &ap);
out:
    fx_survey_end(fx, &sv);
}

/* Backend i's replication from the active, started from what its binlog
 * holds. A server that started replicating by itself after a crash did so
 * before halyard could look (skip_slave_start is not set): said, since
 * what it lost then cannot be told from its positions any more. Its slave
 * position is set back first when it claims transactions of its own that
 * its binlog lost (gtid_slave_pos_rewind): from there replication brings
 * them back. */
static bool dual_replicate(struct fx *fx, const struct survey *sv, size_t i)
{
    const struct failover_node *n = &sv->nodes[i];
    struct link *l = &fx->links[i];
    int t = fx->cfg->connect_timeout_ms;
    if (n->io_running)
        fx_step(fx, LOG_LEVEL_WARN,
                "%s replicates already (started by itself or by another halyard): if by itself "
                "after a crash, run both servers with skip_slave_start, or transactions of its "
                "own that crash recovery dropped are missed",
                n->name);
    struct gtid_pos rew;
    if (gtid_slave_pos_rewind(&n->slave_pos, &n->binlog_pos, &sv->states[i], n->server_id, &rew)) {
        char from[GTID_STR_MAX], to[GTID_STR_MAX], sql[GTID_STR_MAX + 48];
        gtid_pos_format(&n->slave_pos, from, sizeof(from));
        gtid_pos_format(&rew, to, sizeof(to));
        snprintf(sql, sizeof(sql), "SET GLOBAL gtid_slave_pos = '%s'", to);
        if (!fx_link_run(fx, l, "STOP SLAVE", t) || !fx_link_run(fx, l, sql, t)) {
            fx_step(fx, LOG_LEVEL_ERROR, "%s: %s failed: %s", n->name, sql, l->err);
            return false;
        }
        fx_step(fx, LOG_LEVEL_WARN,
                "%s: gtid_slave_pos %s -> %s: it received back transactions of its own that "
                "crash recovery then dropped from its binlog; it asks the active for them again",
                n->name, from, to);
    }
    if (!fx_link_run(fx, l, "START SLAVE", t)) {
        fx_step(fx, LOG_LEVEL_ERROR, "%s: START SLAVE failed: %s", n->name, l->err);
        return false;
    }
    return true;
}

static void dual_rejoin(struct fx *fx, size_t i)
{
    const struct config *cfg = fx->cfg;
    struct survey sv;
    int active = -1;
    struct dual_verdict vd;
    if (!dual_recheck(fx, &sv, &active, &vd) || vd.node != (int)i ||
        (vd.action != DUAL_REJOIN && vd.action != DUAL_HOLD))
        goto out;
    struct backend_rt *rt = cfg->backends[i].rt;
    struct audit_procedure ap = {.event = "rejoin",
                                 .trigger = "auto",
                                 .backend = cfg->backends[i].name,
                                 .from = "fenced",
                                 .to = "standby",
                                 .reason = vd.reason};
    if (vd.action == DUAL_HOLD) {
        bool errant = strstr(vd.reason, "(errant)") != NULL;
        backend_set_fenced(rt, true,
                           errant ? "errant transactions" : "lost transactions of its own");
        fx_step(fx, LOG_LEVEL_ERROR, "%s", vd.reason);
        ap.to = errant ? "fenced (errant transactions)" : "fenced (lost transactions of its own)";
        fx->g->last_rejoin_ms[i] = (uint64_t)hy_mono_ms() + 29000; /* said again in 30 s */
        fx_audit(fx, &ap);
        goto out;
    }
    dual_semisync(fx, i, false);
    if (!dual_replicate(fx, &sv, i)) {
        fx_audit(fx, &ap);
        goto out;
    }
    /* Lost transactions of its own come back first: the active asks it
     * from its own position, which they are part of. */
    const struct failover_node *an = &sv.nodes[active];
    if (sv.nodes[i].server_id != 0 &&
        gtid_lacks_own(&sv.nodes[i].binlog_pos, &sv.states[active], sv.nodes[i].server_id)) {
        char pos[GTID_STR_MAX];
        gtid_pos_format(&an->binlog_pos, pos, sizeof(pos));
        if (!fx_apply_relay_log(fx, sv.nodes, i, pos, cfg->switchover_timeout_ms)) {
            fx_audit(fx, &ap);
            goto out;
        }
    }
    /* The active stopped replicating from it at failover. */
    struct link *al = &fx->links[active];
    ap.ok = fx_link_run(fx, al, "START SLAVE", cfg->connect_timeout_ms);
    if (!ap.ok) {
        fx_step(fx, LOG_LEVEL_ERROR, "%s: START SLAVE failed: %s", cfg->backends[active].name,
                al->err);
    } else {
        backend_set_fenced(rt, false, "the standby again");
        fx_step(fx, LOG_LEVEL_WARN, "%s; %s replicates from it again", vd.reason,
                cfg->backends[active].name);
    }
    fx_audit(fx, &ap);
out:
    fx_survey_end(fx, &sv);
}

/* The start of a failover or switchover of the pair: nothing decided yet,
 * `why` the reason until something is. */
static void dual_start(struct fx *fx, struct dual_verdict *vd, int *old, const char *why)
{
    fx->vetoed = false;
    *old = fx_current_primary(fx->cfg);
    *vd = (struct dual_verdict){.action = DUAL_NONE, .node = -1};
    snprintf(vd->reason, sizeof(vd->reason), "%s", why);
}

bool fx_dual_failover(struct fx *fx, bool manual, uint64_t down_ms)
{
    const struct config *cfg = fx->cfg;
    struct survey sv;
    struct dual_node dn[2];
    struct dual_verdict vd;
    bool ok = false, attempted = false;
    int old, active = -1;
    dual_start(fx, &vd, &old,
               manual ? "requested by the admin socket" : "the active is unreachable");
    if (!dual_survey(fx, &sv, !manual, dn, &active))
        goto out;
    old = fx_current_primary(cfg);
    struct dual_view v = {.nodes = dn, .n = 2, .active = old, .active_down_ms = down_ms};
    struct dual_settings set = {.failover_auto = true, .delay_ms = 0};
    dual_decide(&v, &set, &vd);
    fx_step(fx, LOG_LEVEL_INFO, "the pair under the lock: %s: %s", dual_action_to_str(vd.action),
            vd.reason);
    if (vd.action != DUAL_PROMOTE) {
        if (manual && old >= 0 && dn[old].reachable)
            fx_step(fx, LOG_LEVEL_WARN, "the active is reachable: use switchover");
        goto out;
    }
    size_t c = (size_t)vd.node;
    if (!fx_pre_failover_allows(fx, "failover", manual, old, c, vd.reason))
        goto out;
    attempted = true;
    {
        char action[EVENT_TEXT_MAX];
        snprintf(action, sizeof(action), "making %s the active", dn[c].name);
        events_emit(EVENT_FAILOVER_STARTED, dn[c].name, old >= 0 ? dn[old].name : "", dn[c].name,
                    vd.reason, action);
    }
    backend_set_failover_busy(group_of(fx->cfg)->name, true);
    struct gtid_pos target;
    char pos[GTID_STR_MAX];
    failover_eventual_pos(&sv.nodes[c], &target);
    gtid_pos_format(&target, pos, sizeof(pos));
    struct link *l = &fx->links[c];
    int t = cfg->connect_timeout_ms;
    /* A standby whose applier waits for the lost active's semi-sync
     * acknowledgement (it should not have the master side on) would wait
     * until it noticed its replica gone: off releases it. */
    dual_semisync(fx, c, false);
    bool applied =
        pos[0] == '\0' || fx_apply_relay_log(fx, sv.nodes, c, pos, cfg->switchover_timeout_ms);
    dual_semisync(fx, c, true);
    if (!applied)
        goto out;
    uint64_t t0 = (uint64_t)hy_mono_ms();
    if (!fx_link_run(fx, l, "STOP SLAVE", t) ||
        !fx_link_run(fx, l, "SET GLOBAL read_only = 0", t)) {
        fx_step(fx, LOG_LEVEL_ERROR, "%s: taking over failed: %s", dn[c].name, l->err);
        goto out;
    }
    fx_step(fx, LOG_LEVEL_INFO,
            "%s is the active: STOP SLAVE (nothing more from %s until it is checked), SET GLOBAL "
            "read_only = 0 (%llu ms)",
            dn[c].name, old >= 0 ? dn[old].name : "(none)",
            (unsigned long long)((uint64_t)hy_mono_ms() - t0));
    /* the pair's standby, the only replica, applied what it received */
    fx_publish_done(fx, "failover", c, old, "active", PROOF_PROMOTED);
    ok = true;
out:
    return fx_procedure_end(fx, &sv,
                            &(struct fx_outcome){.manual = manual,
                                                 .attempted = attempted,
                                                 .record = attempted || manual || fx->vetoed,
                                                 .ok = ok,
                                                 .to = vd.node,
                                                 .from = old,
                                                 .reason = vd.reason});
}

bool fx_dual_switchover(struct fx *fx, const char *target)
{
    const struct config *cfg = fx->cfg;
    struct survey sv;
    struct dual_node dn[2];
    struct dual_verdict vd;
    bool ok = false, attempted = false;
    int old, active = -1;
    dual_start(fx, &vd, &old, "requested by the admin socket");
    if (!dual_survey(fx, &sv, true, dn, &active))
        goto out;
    old = active;
    struct dual_view v = {.nodes = dn, .n = 2, .active = old};
    dual_switchover_check(&v, target, &vd);
    size_t c = (size_t)vd.node;
    if (!fx_switchover_allowed(fx, vd.action == DUAL_PROMOTE, vd.reason, old, c))
        goto out;
    attempted = true;
    /* Sessions that find no primary while writes are paused fall back to
     * the config's primary, which may be the target: it takes no write
     * before it is writable. */
    backend_set_fenced(cfg->backends[c].rt, true, "switchover: not writable yet");
    char pos[GTID_STR_MAX];
    bool done = fx_pause_writes(fx, sv.nodes, (size_t)old, pos, sizeof(pos));
    if (done) {
        dual_semisync(fx, (size_t)old, false);
        done =
            pos[0] == '\0' || fx_apply_relay_log(fx, sv.nodes, c, pos, cfg->switchover_timeout_ms);
    }
    if (done) {
        dual_semisync(fx, c, true);
        done = fx_link_run(fx, &fx->links[c], "SET GLOBAL read_only = 0", cfg->connect_timeout_ms);
        if (!done)
            fx_step(fx, LOG_LEVEL_ERROR, "%s: SET GLOBAL read_only = 0 failed: %s", dn[c].name,
                    fx->links[c].err);
    }
    if (!done) {
        dual_semisync(fx, c, false);
        dual_semisync(fx, (size_t)old, true);
        fx_resume_writes(fx, sv.nodes, (size_t)old);
        backend_set_fenced(cfg->backends[c].rt, false, "switchover rolled back");
        goto out;
    }
    fx_step(fx, LOG_LEVEL_INFO, "%s is writable; both keep replicating", dn[c].name);
    fx_publish_done(fx, "switchover", c, old, "active", PROOF_PROMOTED);
    /* A clean hand-over: the old active is the standby, not fenced. */
    backend_set_fenced(cfg->backends[old].rt, false, "switchover: the standby now");
    ok = true;
out:
    return fx_switchover_end(fx, &sv, attempted, ok, vd.node, old, target, vd.reason);
}

void fx_dual_tick(struct fx *fx)
{
    const struct config *cfg = fx->cfg;
    if (cfg->n_backends != 2 || fx->g->n_rate < 2)
        return;
    struct failover_node fn[2];
    fx_view_from_monitor(cfg, fn);
    int p = fx_current_primary(cfg);
    uint64_t now = (uint64_t)hy_mono_ms();
    fx_track_primary(fx, p, p >= 0 && fn[p].reachable, now);
    if (fx_cut_off_check(fx, fn, p, now))
        return;
    struct dual_node dn[2];
    dual_nodes(cfg, fn, NULL, p, dn);
    struct dual_view v = {.nodes = dn,
                          .n = 2,
                          .active = p,
                          .active_down_ms = fx->g->down_idx >= 0 ? now - fx->g->down_since_ms : 0};
    struct dual_settings set = {.failover_auto = cfg->failover_auto,
                                .delay_ms = cfg->failover_delay_ms};
    struct dual_verdict vd;
    dual_decide(&v, &set, &vd);
    if (vd.action == DUAL_NONE || vd.action == DUAL_WAIT || vd.action == DUAL_BLOCKED)
        return;
    size_t i = (size_t)vd.node;
    if (vd.action == DUAL_PROMOTE) {
        if (now < fx->g->next_try_ms)
            return;
        fx->t0_ms = now;
        fx->report_len = 0;
        fx->quiet = fx->g->no_majority;
        fx_step(fx, LOG_LEVEL_WARN, "failover: %s", vd.reason);
        if (fx_dual_failover(fx, false, v.active_down_ms)) {
            fx->g->down_idx = -1;
            fx->g->no_majority = false;
            backend_set_failover_note(group_of(fx->cfg)->name, NULL);
        } else {
            fx_retry_later(fx);
        }
        fx->quiet = false;
        return;
    }
    /* Fence at once (again a second later if it did not take); look at a
     * fenced server once a second. */
    uint64_t *last = vd.action == DUAL_FENCE ? &fx->g->last_fence_ms[i] : &fx->g->last_rejoin_ms[i];
    if (*last != 0 && now < *last + 1000)
        return;
    *last = now;
    fx->t0_ms = now;
    fx->report_len = 0;
    if (vd.action == DUAL_FENCE)
        dual_fence(fx, i);
    else
        dual_rejoin(fx, i);
}
