/*
 * failover.c: the failover, switchover and rejoin decisions (failover.h).
 *
 * Everything here reads a snapshot and writes a verdict; the failover
 * thread (failover_exec.c) does the talking to servers. Keeping the rules apart from the I/O
 * is what lets the unit tests walk through every case of "should halyard
 * promote now, and whom" without a cluster.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "halyard/cluster/failover.h"

const char *failover_mode_to_str(enum failover_mode m)
{
    return m == FAILOVER_AUTO ? "auto" : "off";
}

const char *failover_action_to_str(enum failover_action a)
{
    switch (a) {
    case FAILOVER_NONE:
        return "none";
    case FAILOVER_WAIT:
        return "wait";
    case FAILOVER_FOLLOW:
        return "follow";
    case FAILOVER_PROMOTE:
        return "promote";
    case FAILOVER_BLOCKED:
        return "blocked";
    }
    return "?";
}

const char *rejoin_action_to_str(enum rejoin_action a)
{
    switch (a) {
    case REJOIN_NONE:
        return "none";
    case REJOIN_FENCE:
        return "fence";
    case REJOIN_REPLICATE:
        return "replicate";
    case REJOIN_HOLD_ERRANT:
        return "hold (errant transactions)";
    case REJOIN_HOLD_LOST_OWN:
        return "hold (lost transactions of its own)";
    }
    return "?";
}

static void say(char *buf, size_t len, const char *fmt, ...) HY_PRINTF(3, 4);

static void say(char *buf, size_t len, const char *fmt, ...)
{
    if (buf == NULL || len == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

static void verdict(struct failover_verdict *out, enum failover_action a, int candidate,
                    const char *fmt, ...) HY_PRINTF(4, 5);

static void verdict(struct failover_verdict *out, enum failover_action a, int candidate,
                    const char *fmt, ...)
{
    out->action = a;
    out->candidate = candidate;
    out->donor = -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
    va_end(ap);
}

/* A server that takes writes on its own: reachable, writable, no source. */
static bool is_writable_primary(const struct failover_node *n)
{
    return n->reachable && !n->read_only && !n->replicating;
}

/* Replicates from `primary` (or from a source we cannot name, which in a
 * cluster of our backends can only be the primary we lost). */
static bool replica_of(const struct failover_node *n, int primary)
{
    return n->replicating && (n->source == primary || n->source < 0);
}

/* Its IO thread stopped on an error its source sent: 1236 (the binary
 * log it asks from is not there: purged, or a new primary without
 * log_slave_updates asked from behind), 1593 and 1595 (fatal). It stopped
 * receiving while the primary lived, so whatever its position the primary
 * may have acknowledged writes it never got. A lost connection (2003,
 * 2013) is what the primary's death looks like. */
static bool refused_by_source(const struct failover_node *n)
{
    return !n->io_running && (n->io_errno == 1236 || n->io_errno == 1593 || n->io_errno == 1595);
}

void failover_eventual_pos(const struct failover_node *n, struct gtid_pos *out)
{
    gtid_pos_merge(&n->current_pos, &n->io_pos, out);
}

/* In the lost primary's zone (always true without zones). */
static bool same_zone(const struct failover_view *v, const struct failover_node *n, int primary)
{
    const char *pz = primary >= 0 && (size_t)primary < v->n ? v->nodes[primary].zone : NULL;
    return pz == NULL || n->zone == NULL || strcmp(pz, n->zone) == 0;
}

/* How n ranks beside an equally advanced candidate: promotion = prefer,
 * then its zone (same_first), then semi-sync. */
static int tie_rank(const struct failover_view *v, const struct failover_node *n, int primary)
{
    return (n->promotion == PROMOTION_PREFER ? 4 : 0) +
           (v->zones == FAILOVER_ZONES_SAME_FIRST && same_zone(v, n, primary) ? 2 : 0) +
           (n->semisync_replica ? 1 : 0);
}

int failover_pick(const struct failover_view *v, int primary, int exclude, char *why, size_t whylen)
{
    int best = -1, far = -1; /* far: the most advanced of other zones (same_only) */
    struct gtid_pos best_pos = {0}, far_pos = {0};
    bool diverged = false;
    size_t eligible = 0, never = 0, refused = 0;

    for (size_t i = 0; i < v->n; i++) {
        const struct failover_node *n = &v->nodes[i];
        if ((int)i == primary || (int)i == exclude || !n->reachable || n->maint ||
            !replica_of(n, primary) || !n->has_gtid || n->sql_error)
            continue;
        if (refused_by_source(n)) {
            refused++;
            continue;
        }
        struct gtid_pos p;
        failover_eventual_pos(n, &p);
        if (n->promotion == PROMOTION_NEVER) {
            never++;
            continue;
        }
        if (v->zones == FAILOVER_ZONES_SAME_ONLY && !same_zone(v, n, primary)) {
            if (far < 0 || gtid_pos_compare(&p, &far_pos) == GTID_AHEAD) {
                far = (int)i;
                far_pos = p;
            }
            continue;
        }
        eligible++;
        if (best < 0) {
            best = (int)i;
            best_pos = p;
            continue;
        }
        switch (gtid_pos_compare(&p, &best_pos)) {
        case GTID_AHEAD:
            best = (int)i;
            best_pos = p;
            break;
        case GTID_EQUAL:
            /* Config order wins ties of equal rank. */
            if (tie_rank(v, n, primary) > tie_rank(v, &v->nodes[best], primary)) {
                best = (int)i;
                best_pos = p;
            }
            break;
        case GTID_DIVERGED:
            diverged = true;
            if (gtid_pos_weight(&p) > gtid_pos_weight(&best_pos)) {
                best = (int)i;
                best_pos = p;
            }
            break;
        case GTID_BEHIND:
            break;
        }
    }
    if (best < 0) {
        if (refused > 0)
            say(why, whylen,
                "no replica can be promoted: %zu stopped receiving on an error from the primary "
                "(Last_IO_Errno 1236: its binary log lacked what they asked for) and may lack "
                "writes it acknowledged%s",
                refused, never > 0 ? "; promotion = never excludes others" : "");
        else
            say(why, whylen,
                "no replica can be promoted (a candidate must be reachable, replicate "
                "from the primary, not be in maintenance and have no SQL thread error%s%s)",
                never > 0 ? "; promotion = never excludes some" : "",
                far >= 0 ? "; failover_zones = same_only excludes other zones'" : "");
        return -1;
    }
    if (far >= 0) {
        enum gtid_order c = gtid_pos_compare(&far_pos, &best_pos);
        if (c == GTID_AHEAD || c == GTID_DIVERGED) {
            say(why, whylen,
                "%s (zone %s) has transactions %s, the most advanced of the lost primary's "
                "zone, lacks: failover_zones = same_only will not promote it and lose them",
                v->nodes[far].name, v->nodes[far].zone ? v->nodes[far].zone : "",
                v->nodes[best].name);
            return -1;
        }
    }
    char pos[GTID_STR_MAX];
    gtid_pos_format(&best_pos, pos, sizeof(pos));
    const struct failover_node *b = &v->nodes[best];
    say(why, whylen, "%s is the most advanced of %zu candidate(s) at %s%s%s%s%s%s", b->name,
        eligible, pos[0] ? pos : "(empty)", b->semisync_replica ? ", semi-sync replica" : "",
        b->promotion == PROMOTION_PREFER ? ", promotion = prefer" : "",
        b->zone != NULL ? ", zone " : "", b->zone != NULL ? b->zone : "",
        diverged ? "; candidates' positions diverged, took the one with the most transactions"
                 : "");
    return best;
}

int failover_donor(const struct failover_view *v, int primary, int c)
{
    if (c < 0 || (size_t)c >= v->n)
        return -1;
    struct gtid_pos cpos, best_pos = {0};
    failover_eventual_pos(&v->nodes[c], &cpos);
    int best = -1;
    for (size_t i = 0; i < v->n; i++) {
        const struct failover_node *n = &v->nodes[i];
        /* its binlog must hold them: an SQL thread stopped on an error never
         * writes what it received */
        if ((int)i == primary || (int)i == c || !n->reachable || !replica_of(n, primary) ||
            !n->has_gtid || n->sql_error)
            continue;
        struct gtid_pos p;
        failover_eventual_pos(n, &p);
        if (gtid_pos_compare(&p, &cpos) != GTID_AHEAD)
            continue;
        if (best < 0 || gtid_pos_compare(&p, &best_pos) == GTID_AHEAD) {
            best = (int)i;
            best_pos = p;
        }
    }
    return best;
}

size_t failover_lock_needed(size_t reachable, size_t configured, bool strict)
{
    size_t voters = strict ? configured : reachable;
    return voters == 0 ? 0 : voters / 2 + 1;
}

void failover_decide(const struct failover_view *v, const struct failover_settings *s,
                     struct failover_verdict *out)
{
    if (s->mode != FAILOVER_AUTO) {
        verdict(out, FAILOVER_NONE, -1, "failover = off");
        return;
    }
    int p = v->primary;
    if (p >= 0 && (size_t)p < v->n && v->nodes[p].reachable) {
        verdict(out, FAILOVER_NONE, -1, "primary %s is reachable%s", v->nodes[p].name,
                v->nodes[p].read_only ? " (read_only)" : "");
        return;
    }
    /* Someone else may have promoted a server already. Not a fenced one:
     * an old primary restarted writable, before halyard sets it read_only
     * again, lacks the writes made since the failover. */
    for (size_t i = 0; i < v->n; i++) {
        if ((int)i != p && is_writable_primary(&v->nodes[i]) && !v->nodes[i].fenced) {
            verdict(out, FAILOVER_FOLLOW, (int)i,
                    "%s is writable and replicates from nobody: it is the primary now",
                    v->nodes[i].name);
            return;
        }
    }
    if (p < 0 || (size_t)p >= v->n) {
        verdict(out, FAILOVER_NONE, -1, "no primary known");
        return;
    }
    const struct failover_node *pn = &v->nodes[p];
    if (v->primary_down_ms < (uint64_t)s->delay_ms) {
        verdict(out, FAILOVER_WAIT, -1, "primary %s unreachable for %llu ms of %d", pn->name,
                (unsigned long long)v->primary_down_ms, s->delay_ms);
        return;
    }
    size_t replicas = 0, lost = 0;
    for (size_t i = 0; i < v->n; i++) {
        const struct failover_node *n = &v->nodes[i];
        if ((int)i == p || !n->reachable || !replica_of(n, p))
            continue;
        replicas++;
        if (!n->io_running)
            lost++;
    }
    if (replicas == 0) {
        verdict(out, FAILOVER_WAIT, -1,
                "primary %s unreachable for %llu ms but no replica of it is reachable to confirm",
                pn->name, (unsigned long long)v->primary_down_ms);
        return;
    }
    if (lost * 2 <= replicas) {
        verdict(out, FAILOVER_WAIT, -1,
                "primary %s unreachable for %llu ms but only %zu of %zu reachable replicas lost "
                "it (a majority must)",
                pn->name, (unsigned long long)v->primary_down_ms, lost, replicas);
        return;
    }
    char why[320];
    int c = failover_pick(v, p, -1, why, sizeof(why));
    if (c < 0) {
        verdict(out, FAILOVER_BLOCKED, -1, "primary %s down for %llu ms: %s", pn->name,
                (unsigned long long)v->primary_down_ms, why);
        return;
    }
    int d = failover_donor(v, p, c);
    verdict(out, FAILOVER_PROMOTE, c,
            "primary %s down for %llu ms, %zu of %zu replicas lost it; %s%s%s%s", pn->name,
            (unsigned long long)v->primary_down_ms, lost, replicas, why,
            d >= 0 ? "; it first takes the transactions it lacks from " : "",
            d >= 0 ? v->nodes[d].name : "", d >= 0 ? ", which is ahead of it" : "");
    out->donor = d;
}

void failover_switchover_check(const struct failover_view *v, const char *target,
                               struct failover_verdict *out)
{
    int p = v->primary;
    if (p < 0 || (size_t)p >= v->n) {
        verdict(out, FAILOVER_BLOCKED, -1, "no primary known");
        return;
    }
    const struct failover_node *pn = &v->nodes[p];
    if (!pn->reachable) {
        verdict(out, FAILOVER_BLOCKED, -1,
                "primary %s is unreachable: a switchover needs it (use failover)", pn->name);
        return;
    }
    if (pn->read_only || pn->replicating) {
        verdict(out, FAILOVER_BLOCKED, -1, "primary %s is %s", pn->name,
                pn->read_only ? "read_only" : "replicating");
        return;
    }
    int c = -1;
    if (target == NULL || target[0] == '\0') {
        char why[256];
        c = failover_pick(v, p, -1, why, sizeof(why));
        if (c < 0) {
            verdict(out, FAILOVER_BLOCKED, -1, "%s", why);
            return;
        }
    } else {
        for (size_t i = 0; i < v->n; i++) {
            if (strcmp(v->nodes[i].name, target) == 0)
                c = (int)i;
        }
        if (c < 0) {
            verdict(out, FAILOVER_BLOCKED, -1, "no backend named '%s'", target);
            return;
        }
    }
    const struct failover_node *cn = &v->nodes[c];
    if (c == p) {
        verdict(out, FAILOVER_BLOCKED, -1, "%s already is the primary", cn->name);
    } else if (!cn->reachable) {
        verdict(out, FAILOVER_BLOCKED, -1, "%s is unreachable", cn->name);
    } else if (cn->maint) {
        verdict(out, FAILOVER_BLOCKED, -1, "%s is in maintenance", cn->name);
    } else if (!replica_of(cn, p)) {
        verdict(out, FAILOVER_BLOCKED, -1, "%s does not replicate from %s", cn->name, pn->name);
    } else if (cn->sql_error || !cn->io_running) {
        verdict(out, FAILOVER_BLOCKED, -1, "%s: replication is %s", cn->name,
                cn->sql_error ? "stopped on an SQL error" : "not connected");
    } else if (!cn->has_gtid) {
        verdict(out, FAILOVER_BLOCKED, -1, "%s: GTID position unknown", cn->name);
    } else {
        verdict(out, FAILOVER_PROMOTE, c, "switchover from %s to %s", pn->name, cn->name);
    }
}

enum rejoin_action failover_rejoin_decide(const struct failover_view *v, int i,
                                          const struct failover_settings *s,
                                          const struct gtid_pos *primary_state, char *why,
                                          size_t whylen)
{
    int p = v->primary;
    if (i < 0 || (size_t)i >= v->n || p < 0 || (size_t)p >= v->n || i == p) {
        say(why, whylen, "not applicable");
        return REJOIN_NONE;
    }
    const struct failover_node *n = &v->nodes[i];
    const struct failover_node *pn = &v->nodes[p];
    if (!n->reachable || n->replicating || n->maint) {
        say(why, whylen, "%s is %s", n->name,
            !n->reachable ? "unreachable"
            : n->maint    ? "in maintenance"
                          : "replicating");
        return REJOIN_NONE;
    }
    if (!pn->reachable || pn->read_only) {
        say(why, whylen, "primary %s is not writable now", pn->name);
        return REJOIN_NONE;
    }
    if (!n->read_only) {
        say(why, whylen, "%s is writable beside primary %s: setting read_only", n->name, pn->name);
        return REJOIN_FENCE;
    }
    if (!s->auto_rejoin) {
        say(why, whylen, "%s is read_only outside replication (auto_rejoin = false)", n->name);
        return REJOIN_NONE;
    }
    if (!n->has_gtid || primary_state == NULL) {
        say(why, whylen, "%s: GTID positions unknown", n->name);
        return REJOIN_NONE;
    }
    char mine[GTID_STR_MAX], theirs[GTID_STR_MAX];
    gtid_pos_format(&n->binlog_pos, mine, sizeof(mine));
    gtid_pos_format(primary_state, theirs, sizeof(theirs));
    if (gtid_has_errant(&n->binlog_pos, primary_state)) {
        say(why, whylen,
            "%s has transactions primary %s never had (binlog %s, primary's state %s): left "
            "read_only outside replication; rebuild it from the primary",
            n->name, pn->name, mine, theirs);
        return REJOIN_HOLD_ERRANT;
    }
    if (n->server_id != 0 && gtid_lacks_own(&n->binlog_pos, primary_state, n->server_id)) {
        if (!n->semisync_slave || !n->strict_mode) {
            say(why, whylen,
                "%s lost transactions of its own that primary %s has (binlog %s, primary's "
                "state %s): as a replica it would skip them, since a server ignores events of "
                "its own server_id unless it is a semi-sync replica in gtid_strict_mode, and "
                "differ from the primary for good: left read_only outside replication; rebuild "
                "it from the primary, or set rpl_semi_sync_slave_enabled and gtid_strict_mode "
                "on it",
                n->name, pn->name, mine, theirs);
            return REJOIN_HOLD_LOST_OWN;
        }
        say(why, whylen,
            "%s rejoins as a replica of %s and gets back the transactions of its own it lost "
            "(binlog %s, primary's state %s): a semi-sync replica in gtid_strict_mode applies "
            "them",
            n->name, pn->name, mine, theirs);
        return REJOIN_REPLICATE;
    }
    say(why, whylen, "%s rejoins as a replica of %s", n->name, pn->name);
    return REJOIN_REPLICATE;
}
