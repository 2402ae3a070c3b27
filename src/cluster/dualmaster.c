/*
 * dualmaster.c: the active of a dual-master pair and what to do about the
 * pair, as pure functions (dualmaster.h has the rules).
 */
#include <stdio.h>
#include <string.h>

#include "halyard/cluster/dualmaster.h"

const char *dual_action_to_str(enum dual_action a)
{
    switch (a) {
    case DUAL_NONE:
        return "none";
    case DUAL_WAIT:
        return "wait";
    case DUAL_PROMOTE:
        return "promote";
    case DUAL_BLOCKED:
        return "blocked";
    case DUAL_FENCE:
        return "fence";
    case DUAL_HOLD:
        return "hold";
    case DUAL_REJOIN:
        return "rejoin";
    }
    return "?";
}

static bool qualifies(const struct dual_node *d)
{
    return d->reachable && !d->read_only && !d->fenced;
}

int dual_pick_active(const struct dual_node *nodes, size_t n, int cur)
{
    if (cur >= 0 && (size_t)cur < n) {
        const struct dual_node *c = &nodes[cur];
        if (qualifies(c))
            return cur; /* sticky */
        if (!c->reachable && !c->down && !c->fenced)
            return cur; /* failing but not DOWN yet: writes wait for it */
    }
    for (size_t i = 0; i < n; i++) {
        if (qualifies(&nodes[i]))
            return (int)i;
    }
    /* Nobody qualifies: a DOWN active keeps the role (writes wait for it
     * or for failover); one seen read-only or fenced does not. */
    return cur >= 0 && (size_t)cur < n && !nodes[cur].reachable && !nodes[cur].fenced ? cur : -1;
}

static void verdict(struct dual_verdict *out, enum dual_action a, int node, const char *fmt,
                    const char *x, const char *y)
{
    out->action = a;
    out->node = node;
    snprintf(out->reason, sizeof(out->reason), fmt, x, y);
}

/* The server of the pair that is not i (the first other one). */
static int other(const struct dual_view *v, int i)
{
    for (size_t j = 0; j < v->n; j++) {
        if ((int)j != i)
            return (int)j;
    }
    return -1;
}

/* Why standby s cannot be promoted, or NULL when it can. */
static const char *unpromotable(const struct dual_node *s)
{
    if (!s->reachable)
        return "it is unreachable too";
    if (s->maint)
        return "it is in maintenance";
    if (s->sql_error)
        return "its SQL thread stopped on an error";
    if (!s->has_gtid)
        return "its GTID position is unknown";
    return NULL;
}

void dual_decide(const struct dual_view *v, const struct dual_settings *s, struct dual_verdict *out)
{
    int a = v->active;
    const struct dual_node *n = v->nodes;
    /* 1. Never two writable servers. */
    for (size_t i = 0; i < v->n; i++) {
        if ((int)i == a || !n[i].reachable || n[i].read_only)
            continue;
        verdict(out, DUAL_FENCE, (int)i, "%s is writable while %s is the active: read_only = 1",
                n[i].name, a >= 0 ? n[a].name : "(none)");
        if (a < 0)
            snprintf(out->reason, sizeof(out->reason),
                     "%s is writable but not the active (fenced, or another is): read_only = 1",
                     n[i].name);
        return;
    }
    /* 2. The active is gone. */
    if (a >= 0 && !n[a].reachable) {
        int sb = other(v, a);
        if (!s->failover_auto) {
            verdict(out, DUAL_WAIT, sb, "%s is unreachable; failover = off: writes wait%s",
                    n[a].name, "");
            return;
        }
        /* A server gone from a host that answers is no partition: no
         * cut-off side to wait for (dualmaster.h). */
        bool gone = n[a].down && n[a].refused;
        if (!gone && v->active_down_ms < (uint64_t)s->delay_ms) {
            verdict(out, DUAL_WAIT, sb, "%s is unreachable; failover_delay_ms not passed%s",
                    n[a].name, "");
            return;
        }
        if (sb < 0) {
            verdict(out, DUAL_BLOCKED, -1, "%s is unreachable and there is no standby%s", n[a].name,
                    "");
            return;
        }
        const char *why = unpromotable(&n[sb]);
        if (why != NULL) {
            out->action = DUAL_BLOCKED;
            out->node = sb;
            snprintf(out->reason, sizeof(out->reason),
                     "%s is unreachable but the standby %s cannot take over: %s", n[a].name,
                     n[sb].name, why);
            return;
        }
        if (n[sb].io_running) {
            verdict(out, DUAL_WAIT, sb,
                    "%s is unreachable for halyard but the standby %s still replicates from it",
                    n[a].name, n[sb].name);
            return;
        }
        if (gone && v->active_down_ms < (uint64_t)s->delay_ms)
            verdict(out, DUAL_PROMOTE, sb,
                    "%s refuses connections (its server is gone, its host answers) and the "
                    "standby %s lost it too: no partition, no failover_delay_ms",
                    n[a].name, n[sb].name);
        else
            verdict(out, DUAL_PROMOTE, sb, "%s is unreachable and the standby %s lost it too",
                    n[a].name, n[sb].name);
        return;
    }
    /* 3, 4. A server halyard fenced, read-only now. */
    for (size_t i = 0; i < v->n; i++) {
        if ((int)i == a || !n[i].reachable || !n[i].read_only)
            continue;
        if (n[i].errant) {
            verdict(out, DUAL_HOLD, (int)i,
                    "%s has transactions the active %s never had (errant): it stays fenced "
                    "and out of traffic until it is rebuilt",
                    n[i].name, a >= 0 ? n[a].name : "(none)");
            return;
        }
        if (n[i].lost_own && !n[i].regain) {
            verdict(out, DUAL_HOLD, (int)i,
                    "%s lost transactions of its own that the active %s has (its replication "
                    "would skip them): it stays fenced and out of traffic until it is rebuilt",
                    n[i].name, a >= 0 ? n[a].name : "(none)");
            return;
        }
        bool stopped = n[i].stopped && !n[i].sql_error && !n[i].maint;
        if ((n[i].fenced || stopped) && a >= 0) {
            if (n[i].lost_own)
                verdict(out, DUAL_REJOIN, (int)i,
                        "%s is read-only with no errant transactions: it is the standby of %s "
                        "again, and gets back the transactions of its own it lost (a semi-sync "
                        "replica in gtid_strict_mode applies them)",
                        n[i].name, n[a].name);
            else
                verdict(out, DUAL_REJOIN, (int)i,
                        "%s is read-only with no errant transactions: it is the standby of %s "
                        "again",
                        n[i].name, n[a].name);
            return;
        }
    }
    verdict(out, DUAL_NONE, -1, "%s%s", a >= 0 ? "the active answers" : "no active", "");
}

void dual_switchover_check(const struct dual_view *v, const char *target, struct dual_verdict *out)
{
    int a = v->active;
    const struct dual_node *n = v->nodes;
    if (a < 0 || !n[a].reachable || n[a].read_only) {
        verdict(out, DUAL_BLOCKED, -1, "no reachable writable active%s%s", "", "");
        return;
    }
    int t = -1;
    if (target == NULL || target[0] == '\0') {
        t = other(v, a);
    } else {
        for (size_t i = 0; i < v->n; i++) {
            if (strcmp(n[i].name, target) == 0)
                t = (int)i;
        }
        if (t < 0) {
            verdict(out, DUAL_BLOCKED, -1, "no backend named %s%s", target, "");
            return;
        }
    }
    if (t < 0 || t == a) {
        verdict(out, DUAL_BLOCKED, t, "%s is the active already%s", n[a].name, "");
        return;
    }
    const char *why = unpromotable(&n[t]);
    if (why == NULL && n[t].fenced)
        why = "halyard fenced it";
    if (why == NULL && !n[t].io_running)
        why = "its IO thread is not connected to the active";
    if (why != NULL) {
        out->action = DUAL_BLOCKED;
        out->node = t;
        snprintf(out->reason, sizeof(out->reason), "switchover to %s refused: %s", n[t].name, why);
        return;
    }
    verdict(out, DUAL_PROMOTE, t, "switchover: %s takes over from %s", n[t].name, n[a].name);
}
