/*
 * failover_cutoff.c: the fence of a primary this halyard reaches without a
 * majority of the failover lock's voters, and its return (failover_int.h),
 * for cluster = "replication" and "dual-master" alike. Once the majority
 * is back it is made writable again if nobody was promoted meanwhile, else
 * left fenced to rejoin as a replica.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "failover_int.h"
#include "halyard/config/group.h"
#include "halyard/cluster/backend.h"

/* fence_cut_off_primary: this halyard reaches the primary but not a
 * majority of the failover lock's voters (backends and witnesses), as on
 * the primary's side of a partition. The other side, holding the majority,
 * may promote one of its replicas once its failover_delay_ms has passed:
 * before that, the primary is made read-only and fenced (no session
 * writes there), so that two primaries never take writes. When the
 * majority is back, under the failover lock: if nobody was promoted
 * meanwhile, the primary gets its writes back; if somebody was, it stays
 * fenced and rejoins as a replica of the new one (run_rejoin). Runs at
 * most once a second while it has something to look into. True when it
 * fenced the primary: the monitor's view is stale then. */
bool fx_cut_off_check(struct fx *fx, const struct failover_node *mon, int p, uint64_t now)
{
    const struct config *cfg = fx->cfg;
    size_t nb = cfg->n_backends, needed = failover_lock_needed(0, nb + cfg->n_witnesses, true);
    size_t seen = 0;
    for (size_t i = 0; i < nb; i++)
        seen += mon[i].reachable;
    int ours = fx->g->cut_off_idx;
    if (ours >= (int)nb)
        ours = fx->g->cut_off_idx = -1; /* a reload took it away */
    if (!cfg->fence_cut_off && ours < 0)
        return false;
    if (ours < 0 && (p < 0 || !mon[p].reachable || mon[p].read_only || seen >= needed))
        return false; /* the primary's writes are safe, or out of reach anyway */
    if (ours >= 0 && seen < needed)
        return false; /* still cut off */
    if (now - fx->g->last_cut_off_ms < 1000)
        return false;
    fx->g->last_cut_off_ms = now;
    bool fenced = false;
    struct survey sv;
    if (!fx_survey_begin(fx, &sv)) {
        fx_survey_end(fx, &sv);
        return false;
    }
    fx_probe(fx, sv.nodes, sv.states);
    size_t got = 0;
    for (size_t i = 0; i < fx->n_all; i++)
        got += fx_link_votes(fx, sv.nodes, i);
    fx->t0_ms = now;
    fx->report_len = 0;
    if (ours < 0) {
        const char *name = cfg->backends[p].name;
        if (got >= needed || !sv.nodes[p].reachable || sv.nodes[p].read_only)
            goto out; /* the monitor saw a moment's trouble: the servers say otherwise */
        const char *zone = cfg->zone != NULL ? cfg->zone : "";
        char note[400];
        snprintf(note, sizeof(note),
                 "halyard%s%s%s reaches the primary %s but only %zu of the %zu servers that "
                 "vote in the failover lock and needs %zu: the other side may promote a "
                 "replica, so %s is made read-only and takes no writes until the majority is "
                 "back",
                 zone[0] ? " (zone " : "", zone, zone[0] ? ")" : "", name, got, fx->n_all, needed,
                 name);
        struct audit_procedure ap = {.event = "fence",
                                     .trigger = "auto",
                                     .backend = name,
                                     .from = "primary",
                                     .to = "read_only (cut off)",
                                     .reason = note};
        if (fx_read_only_procedure(fx, (size_t)p, true, &ap)) {
            fenced = true;
            fx->g->cut_off_idx = p;
            backend_set_fenced(cfg->backends[p].rt, true, "cut off from the majority");
            backend_set_cut_off(cfg->backends[p].rt, true);
            backend_set_failover_note(group_of(fx->cfg)->name, note);
        }
        goto out;
    }
    if (got < needed || !fx_take_lock(fx, sv.nodes, true))
        goto out; /* not yet: again in a second */
    const char *name = cfg->backends[ours].name;
    int other = -1;
    /* A dual-master pair's servers always replicate: any writable one
     * was promoted meanwhile. */
    bool dual = cfg->cluster == CLUSTER_DUAL_MASTER;
    for (size_t i = 0; i < nb; i++) {
        if ((int)i != ours && sv.nodes[i].reachable && !sv.nodes[i].read_only &&
            (dual || !sv.nodes[i].replicating))
            other = (int)i;
    }
    fx->g->cut_off_idx = -1;
    backend_set_cut_off(cfg->backends[ours].rt, false);
    backend_set_failover_note(group_of(fx->cfg)->name, NULL);
    if (other >= 0 || !sv.nodes[ours].reachable || (!dual && sv.nodes[ours].replicating)) {
        fx_step(fx, LOG_LEVEL_WARN, "the majority is back; %s stays fenced: %s%s", name,
                other >= 0 ? cfg->backends[other].name : "",
                other >= 0 ? " was promoted meanwhile" : "it is no longer the primary it was");
        goto out;
    }
    char why[300];
    snprintf(why, sizeof(why),
             "the majority is back (%zu of %zu servers) and nobody was promoted: %s takes "
             "writes again",
             got, fx->n_all, name);
    struct audit_procedure ap = {.event = "unfence",
                                 .trigger = "auto",
                                 .backend = name,
                                 .from = "read_only (cut off)",
                                 .to = "primary",
                                 .reason = why};
    if (fx_read_only_procedure(fx, (size_t)ours, false, &ap)) {
        backend_set_fenced(cfg->backends[ours].rt, false, "the majority is back");
    } else {
        fx->g->cut_off_idx = ours; /* try again */
        backend_set_cut_off(cfg->backends[ours].rt, true);
    }
out:
    fx_survey_end(fx, &sv);
    return fenced;
}
