/*
 * monitor_roles.c: on the monitor thread, what the checks (monitor.c)
 * mean for roles and health: each group's primary or Galera writers, a
 * backend's health from its check streak, and the judgements that compare
 * two servers' positions (a replica past its primary's binary log, a
 * dual-master standby lacking transactions of its own).
 */
#include <stdatomic.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "halyard/cluster/dualmaster.h"
#include "halyard/cluster/galera.h"
#include "halyard/cluster/proof.h"
#include "halyard/core/events.h"
#include "halyard/core/gtid.h"
#include "halyard/core/log.h"
#include "monitor_int.h"

/* Which backend of the config a replica's source is: Master_Host and
 * Master_Port against the backends' address and port. */
int monitor_find_source(const struct monitor *m, const struct monitor_repl *r)
{
    if (!r->replicating)
        return -1;
    for (size_t i = 0; i < m->n; i++) {
        const struct config_backend *be = m->mb[i] != NULL ? m->mb[i]->be : NULL;
        if (be == NULL || be->port != r->source_port)
            continue;
        if (strcasecmp(be->address, r->source_host) == 0)
            return (int)i;
        bool a_local = strcmp(be->address, "127.0.0.1") == 0 ||
                       strcasecmp(be->address, "localhost") == 0 || strcmp(be->address, "::1") == 0;
        bool b_local = strcmp(r->source_host, "127.0.0.1") == 0 ||
                       strcasecmp(r->source_host, "localhost") == 0 ||
                       strcmp(r->source_host, "::1") == 0;
        if (a_local && b_local)
            return (int)i;
    }
    return -1;
}

/* The last check of mb started before failover last set its role. */
static bool failover_stale(const struct monitor *m, const struct monitor_backend *mb)
{
    (void)m;
    int64_t at = atomic_load(&mb->rt->failover_at_us);
    return at != 0 && mb->seen && mb->check_started * 1e6 < (double)at;
}

/* cluster = dual-master: the active of the pair (dualmaster.h) from what
 * the servers said. A check that started before failover changed a
 * backend's role saw the server as it was: the role failover gave stands. */
static int dual_pick(const struct monitor *m, struct monitor_backend *const *gm, size_t n, int cur)
{
    struct dual_node nodes[2] = {{0}};
    n = HY_MIN(n, HY_ARRAY_SIZE(nodes));
    for (size_t i = 0; i < n; i++) {
        const struct monitor_backend *mb = gm[i];
        nodes[i] = (struct dual_node){.name = ""};
        if (mb == NULL)
            continue;
        nodes[i].name = mb->be->name;
        nodes[i].down = mb->track.health == BACKEND_DOWN;
        nodes[i].reachable = mb->seen && mb->ok && !nodes[i].down;
        nodes[i].read_only = mb->read_only;
        nodes[i].fenced = atomic_load(&mb->rt->fenced);
        if (failover_stale(m, mb)) {
            nodes[i].reachable = true;
            nodes[i].read_only = backend_role(mb->rt) != ROLE_PRIMARY;
        }
    }
    return dual_pick_active(nodes, n, cur);
}

/* Roles from what the servers said (see "roles" in monitor.h). Returns
 * true when a role changed. */
static bool update_roles_group(struct monitor *m, size_t g)
{
    static _Thread_local struct monitor_role_in in[256];
    static _Thread_local struct monitor_backend *gm[256];
    const struct config_group *grp = &m->cfg->groups[g];
    size_t n = 0;
    for (size_t k = 0; k < grp->n_members && n < HY_ARRAY_SIZE(gm); k++)
        gm[n++] = grp->members[k] < m->n ? m->mb[grp->members[k]] : NULL;
    bool dual = grp->cluster == CLUSTER_DUAL_MASTER;
    int cur = -1;
    for (size_t i = 0; i < n; i++) {
        struct monitor_backend *mb = gm[i];
        in[i] = (struct monitor_role_in){0};
        if (mb == NULL)
            continue;
        in[i].seen_ok = mb->seen && mb->ok;
        /* A fenced backend (failover_exec.h) is never taken for the primary. */
        in[i].candidate =
            in[i].seen_ok && !mb->read_only && mb->source < 0 && !atomic_load(&mb->rt->fenced);
        /* A check that started before failover changed this backend's role
         * saw the server as it was: the role failover gave stands. */
        if (failover_stale(m, mb)) {
            in[i].candidate = backend_role(mb->rt) == ROLE_PRIMARY && !atomic_load(&mb->rt->fenced);
            in[i].down = false;
        }
        in[i].down = mb->track.health == BACKEND_DOWN;
        in[i].config_primary = mb->be->role == ROLE_PRIMARY;
        if (cur < 0 && backend_role(mb->rt) == ROLE_PRIMARY && !atomic_load(&mb->rt->fenced))
            cur = (int)i;
    }
    int pick = dual ? dual_pick(m, gm, n, cur) : monitor_pick_primary(in, n, cur);
    /* This halyard's own failover or switchover of the group is under way:
     * the roles are its to publish, with when and how it promoted
     * (fx_publish_primary). The server it made writable stays a replica
     * here until then; else a session would find the new primary before
     * its promotion's proof (session_inflight.c, CI: "which this halyard
     * did not promote"). */
    bool procedure = backend_failover_busy(grp->name);
    bool changed = false;
    for (size_t i = 0; i < n; i++) {
        struct monitor_backend *mb = gm[i];
        if (mb == NULL)
            continue;
        mb->writable_outside = in[i].candidate && (int)i != pick;
        mb->role_held = false;
        if (failover_stale(m, mb))
            continue;
        enum backend_role old = backend_role(mb->rt);
        if (procedure && old != ((int)i == pick ? ROLE_PRIMARY : ROLE_REPLICA)) {
            mb->role_held = (int)i == pick;
            continue;
        }
        char why[240];
        if ((int)i == pick) {
            if (old != ROLE_PRIMARY) {
                snprintf(why, sizeof(why), "%s%s%s",
                         dual ? "read_only off: the active of the pair"
                              : "read_only off and not replicating from the cluster",
                         cur >= 0 && cur != pick ? "; it replaces " : "",
                         cur >= 0 && cur != pick ? gm[cur]->be->name : "");
                backend_set_role(mb->rt, ROLE_PRIMARY, why);
                changed = true;
            } else if (in[i].seen_ok) {
                backend_set_role(mb->rt, ROLE_PRIMARY, "confirmed"); /* marks it seen */
            }
        } else if (in[i].seen_ok || (old == ROLE_PRIMARY && pick >= 0)) {
            if (old != ROLE_REPLICA) {
                if (!in[i].seen_ok)
                    snprintf(why, sizeof(why), "%s is the primary now", gm[pick]->be->name);
                else if (mb->read_only && mb->source < 0)
                    snprintf(why, sizeof(why), "read_only on");
                else if (mb->source >= 0)
                    snprintf(why, sizeof(why), "replicates from %s", m->mb[mb->source]->be->name);
                else
                    snprintf(why, sizeof(why),
                             "writable outside replication while %s is the "
                             "primary",
                             pick >= 0 ? gm[pick]->be->name : "another backend");
                changed = true;
            } else {
                snprintf(why, sizeof(why), "confirmed");
            }
            backend_set_role(mb->rt, ROLE_REPLICA, why);
        }
    }
    return changed;
}

/* Roles in each group that is not Galera's (a group's primary is chosen
 * among its own backends). Returns true when a role changed. */
bool monitor_update_roles(struct monitor *m)
{
    bool changed = false;
    for (size_t g = 0; g < m->cfg->n_groups; g++) {
        if (m->cfg->groups[g].cluster != CLUSTER_GALERA)
            changed |= update_roles_group(m, g);
    }
    return changed;
}

/* cluster = galera: roles from the nodes' wsrep states (galera.h). The
 * writer(s) get the primary role, every other node the replica role; a
 * writer that also reads is marked so for the router. Returns true when a
 * role changed. */
/* Has every backend had a check complete (or fail)? Until then the
 * Galera roles and health stay the config's: deciding on part of the
 * nodes would hand the writer role to whichever answered first and take
 * it back a moment later. The first round starts every check at once. */
static bool galera_all_seen(const struct monitor *m, size_t g)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->mb[i] != NULL && m->mb[i]->be->group == g && !m->mb[i]->seen)
            return false;
    }
    return true;
}

/* The writer, still Synced, gives the role to a node before it in writer
 * order (a failback: that node is back; or a reload changed the order):
 * while sessions of this halyard hold a transaction open there
 * (backend_rt.trx_open), it hands over as a drained writer does
 * (handing_over: no node writes, new writes wait), so that a transaction
 * begun on the new writer never races one still open on the old one:
 * certification would fail the later COMMIT with 1213 (CI,
 * test_galera.py test_rolling_restart_under_sysbench: node0 back online
 * took the role from node1 under sysbench, and a COMMIT on node1 failed).
 * At most half of failover_write_wait_ms, which the waiting writes have:
 * a transaction left open longer is not waited for. True when a node was
 * marked handing over (decide again). */
static bool galera_handover(struct monitor *m, struct monitor_backend *const *gm,
                            struct galera_node *nodes, const struct galera_verdict *out, size_t n)
{
    double now = ev_now(m->loop), bound = m->cfg->failover_write_wait_ms / 2000.0;
    bool marked = false;
    for (size_t i = 0; i < n; i++) {
        struct monitor_backend *mb = gm[i];
        if (mb == NULL)
            continue;
        bool displaced = out[i].traffic && !out[i].writer && !nodes[i].admin_out &&
                         atomic_load(&mb->rt->role_seen) &&
                         (backend_role(mb->rt) == ROLE_PRIMARY || mb->handover_since > 0);
        if (!displaced) {
            mb->handover_since = 0;
            continue;
        }
        uint64_t open = atomic_load_explicit(&mb->rt->trx_open, memory_order_relaxed);
        if (mb->handover_since == 0 && open > 0) {
            mb->handover_since = now;
            hy_log_info("backend %s: hands the writer role over once this halyard's %" PRIu64
                        " transaction(s) there have ended (at most %.1f s)",
                        mb->be->name, open, bound);
        }
        if (open > 0 && now - mb->handover_since < bound) {
            nodes[i].handing_over = true;
            marked = true;
        } else {
            mb->handover_since = 0; /* handed over: the next decision stands */
        }
    }
    return marked;
}

static bool update_galera_group(struct monitor *m, size_t g)
{
    if (!galera_all_seen(m, g))
        return false;
    static _Thread_local struct galera_node nodes[256];
    static _Thread_local struct galera_verdict out[256];
    static _Thread_local struct monitor_backend *gm[256];
    const struct config_group *grp = &m->cfg->groups[g];
    size_t n = 0;
    for (size_t k = 0; k < grp->n_members && n < HY_ARRAY_SIZE(gm); k++)
        gm[n++] = grp->members[k] < m->n ? m->mb[grp->members[k]] : NULL;
    for (size_t i = 0; i < n; i++) {
        struct monitor_backend *mb = gm[i];
        nodes[i] = (struct galera_node){0};
        if (mb == NULL) {
            nodes[i].name = "";
            continue;
        }
        nodes[i] = mb->wsrep;
        nodes[i].name = mb->be->name;
        nodes[i].priority = mb->be->priority;
        /* Reachable until DOWN (fall failed checks; a worker's lost
         * connection counts as one and triggers the next at once): one
         * failed check on a loaded machine does not move the writer, and a
         * node back from DOWN has had rise good checks. */
        nodes[i].reachable = mb->last_ok != 0 && mb->track.health != BACKEND_DOWN;
        enum backend_admin a = (enum backend_admin)atomic_load(&mb->rt->admin);
        nodes[i].admin_out = a != BACKEND_ADMIN_NONE;
        nodes[i].handing_over =
            a == BACKEND_ADMIN_DRAIN && nodes[i].reachable &&
            backend_role(mb->rt) == ROLE_PRIMARY &&
            (atomic_load(&mb->rt->drain_busy) > 0 || atomic_load(&mb->rt->drain_busy) == -1);
    }
    /* max_replication_lag counts write sets here; each backend may have
     * its own, so the reads rule is applied per node below. */
    struct galera_settings s = {.max_writers = grp->max_writers,
                                .writer_is_also_reader = grp->writer_is_also_reader};
    galera_decide(nodes, n, &s, out);
    if (galera_handover(m, gm, nodes, out, n))
        galera_decide(nodes, n, &s, out);
    bool changed = false;
    const char *gained = NULL, *lost = NULL, *gained_why = "";
    for (size_t i = 0; i < n; i++) {
        struct monitor_backend *mb = gm[i];
        if (mb == NULL)
            continue;
        struct galera_verdict *v = &out[i];
        int64_t limit = mb->be->max_replication_lag;
        if (v->reads && limit > 0 && nodes[i].recv_queue > limit) {
            v->reads = false;
            snprintf(v->why, sizeof(v->why), "receive queue %lld over max_replication_lag %lld",
                     (long long)nodes[i].recv_queue, (long long)limit);
        }
        mb->verdict = *v;
        int64_t refused = atomic_load(&mb->rt->reads_refused_us);
        if (refused != 0 && mb->ok && mb->check_started * 1e6 > (double)refused &&
            (v->reads || v->writer) &&
            atomic_compare_exchange_strong(&mb->rt->reads_refused_us, &refused, 0))
            hy_log_info("backend %s: takes reads again: a check begun after it refused one "
                        "finds it %s",
                        mb->be->name, v->why);
        atomic_store(&mb->rt->reads_too, v->writer && v->reads);
        enum backend_role want = v->writer ? ROLE_PRIMARY : ROLE_REPLICA;
        enum backend_role old = backend_role(mb->rt);
        if (old != want) {
            /* after the first decision (the roles were the config's): a
             * writer change, told as an event (failover_tally.h counts
             * what the sessions went through around it) */
            if (atomic_load(&mb->rt->role_seen) && want == ROLE_PRIMARY) {
                gained = mb->be->name;
                gained_why = v->why;
            } else if (atomic_load(&mb->rt->role_seen) && old == ROLE_PRIMARY) {
                lost = mb->be->name;
            }
            backend_set_role(mb->rt, want, v->why);
            changed = true;
        } else if (nodes[i].reachable) {
            backend_set_role(mb->rt, want, "confirmed"); /* marks it seen */
        }
    }
    if (gained != NULL) {
        char action[EVENT_TEXT_MAX];
        if (grp->name != NULL && grp->name[0] != '\0')
            snprintf(action, sizeof(action), "writes of group %s go to %s", grp->name, gained);
        else
            snprintf(action, sizeof(action), "writes go to %s", gained);
        events_emit(EVENT_WRITER_CHANGED, gained, lost != NULL ? lost : "", gained, gained_why,
                    action);
    }
    return changed;
}

/* Roles in each Galera group. Returns true when a role changed. */
bool monitor_update_galera(struct monitor *m)
{
    bool changed = false;
    for (size_t g = 0; g < m->cfg->n_groups; g++) {
        if (m->cfg->groups[g].cluster == CLUSTER_GALERA)
            changed |= update_galera_group(m, g);
    }
    return changed;
}

/* cluster = galera: a node's health is DOWN from its checks (rise/fall,
 * in mb->track), else what its verdict says: ONLINE when it writes or
 * reads, LAGGING (with the verdict's reason) when it takes no traffic.
 * Galera's own state machine is the hysteresis here: a node is Synced
 * only once it has caught up. Returns true when the health changed. */
bool monitor_galera_health(struct monitor_backend *mb, const char *track_why)
{
    if (!galera_all_seen(mb->m, mb->be->group))
        return false;
    enum backend_state want;
    const char *why;
    if (mb->track.health == BACKEND_DOWN) {
        want = BACKEND_DOWN;
        why = track_why;
    } else if (mb->verdict.writer || mb->verdict.reads) {
        want = BACKEND_ONLINE;
        why = mb->verdict.why;
    } else {
        want = BACKEND_LAGGING;
        why = mb->verdict.why;
    }
    if ((enum backend_state)atomic_load(&mb->rt->health) == want)
        return false;
    backend_set_health(mb->rt, want, why[0] ? why : "checked");
    return true;
}

/* Fold a check (or a worker's report) into the backend's health. */
/* Feed one check to mb's health track. Returns the new state when it
 * changed, with its reason in `full` (the last error appended when the
 * backend went DOWN); -1 when it did not change, with `full` the current
 * reason of a replica still LAGGING ("" otherwise). */
static int track_step(struct monitor_backend *mb, const struct backend_policy *p,
                      const struct backend_check *chk, const char *error, char *full, size_t cap)
{
    enum backend_state before = mb->track.health;
    char why[200] = "";
    enum backend_state now = backend_track_feed(&mb->track, p, chk, why, sizeof(why));
    if (now == before) {
        snprintf(full, cap, "%s", why); /* LAGGING still: for what now, or "" */
        return -1;
    }
    if (now == BACKEND_DOWN && error != NULL)
        snprintf(full, cap, "%s; last: %s", why, error);
    else
        snprintf(full, cap, "%s", why);
    return (int)now;
}

/* mb's source is one of ours that is itself a replica (not the primary)
 * and runs without log_slave_updates: its binary log gets none of what it
 * applies, so mb receives nothing of the primary's writes while its
 * Seconds_Behind_Master reads 0 (a replica a switchover left on the old
 * primary, or a chain through such a server). No reads: `why` says so. */
static bool source_logs_nothing(const struct monitor_backend *mb, char *why, size_t cap)
{
    const struct monitor_backend *src = mb->source >= 0 ? mb->m->mb[mb->source] : NULL;
    if (src == NULL || src->source < 0 || src->vars_at <= 0 ||
        backend_role(src->rt) == ROLE_PRIMARY || (src->proof_have & PROOF_LOG_SLAVE_UPDATES))
        return false;
    snprintf(why, cap,
             "replicates from %s, a replica without log_slave_updates: it receives none of "
             "the primary's writes",
             src->be->name);
    return true;
}

/* Failover left mb where it replicates from (backend_set_left_behind),
 * and nothing read of its source since says it can follow: its source
 * seen replicating (then source_logs_nothing judges the chain), or seen
 * the primary again, unfenced. Until then what the monitor knows of the
 * source is from before the failover, or says it is not replicating (the
 * old primary read_only outside replication, or not repointed yet). */
static bool left_behind(const struct monitor_backend *mb)
{
    int64_t at = atomic_load(&mb->rt->left_behind_us);
    if (at == 0)
        return false;
    const struct monitor_backend *src = mb->source >= 0 ? mb->m->mb[mb->source] : NULL;
    if (src == NULL)
        return false; /* not replicating from one of ours: the checks judge */
    bool seen_after = src->vars_at * 1e6 > (double)at;
    bool follows = src->source >= 0 ||
                   (backend_role(src->rt) == ROLE_PRIMARY && !atomic_load(&src->rt->fenced));
    return !(seen_after && follows);
}

bool monitor_feed(struct monitor_backend *mb, bool ok, const char *error)
{
    char src_why[200];
    struct monitor *m = mb->m;
    struct backend_check chk = {.ok = ok, .lag_ms = -1};
    const struct config_group *grp = grp_of(mb);
    if (galera(mb)) {
        /* Only reachability goes through the track; monitor_galera_health() does
         * the rest. */
        atomic_store(&mb->rt->lag_ms, (int64_t)-1);
        atomic_store(&mb->rt->repl_broken, false);
        struct backend_policy p = {.rise = grp->rise, .fall = grp->fall};
        char full[400];
        if (track_step(mb, &p, &chk, error, full, sizeof(full)) < 0)
            return false;
        bool changed = monitor_update_galera(m);
        for (size_t i = 0; i < m->n; i++) {
            if (m->mb[i] != NULL && m->mb[i]->be->group == mb->be->group)
                changed |= monitor_galera_health(m->mb[i], m->mb[i] == mb ? full : "");
        }
        return changed;
    }
    if (ok && backend_role(mb->rt) == ROLE_REPLICA && !mb->role_held) {
        const struct monitor_repl *r = &mb->repl;
        chk.is_replica = true;
        int64_t cut_off = atomic_load(&mb->rt->cut_off_at_us);
        if (cut_off != 0 && !r->replicating) {
            /* The primary we fenced when it was cut off with us: the freshest
             * data on this side, as old as the time since. */
            chk.orphan = true;
            chk.lag_ms = HY_MAX((int64_t)(ev_now(m->loop) * 1000.0) - cut_off / 1000, 0);
        } else if (left_behind(mb)) {
            chk.stale = true;
            chk.why = "left by a failover where it replicates from: it lacks what the new "
                      "primary applied, which runs without log_slave_updates";
        } else if ((mb->ahead || mb->lost_own) && mb->source >= 0) {
            chk.stale = true;
            chk.why = mb->ahead ? mb->ahead_why : mb->lost_why;
        } else if (source_logs_nothing(mb, src_why, sizeof(src_why))) {
            chk.stale = true;
            chk.why = src_why;
        } else if (mb->writable_outside || !r->replicating ||
                   (dual_master(mb) && atomic_load(&mb->rt->fenced))) {
            /* A dual-master server halyard fenced serves no reads until
             * it is the standby again (failover_dual.c). */
            chk.stale = true;
        } else {
            chk.lag_ms = r->lag_s >= 0 ? r->lag_s * 1000 : -1;
            chk.repl_broken = !r->sql_running || !r->io_running;
            /* The source is unreachable for us too (a partition, or a
             * failover not done yet): the replica keeps what it has, the
             * best there is until a new primary exists, its data as old as
             * the time since plus its lag then (partition_reads). */
            const struct monitor_backend *src = mb->source >= 0 ? m->mb[mb->source] : NULL;
            if (r->sql_running && !r->io_running && r->io_connecting && src != NULL &&
                (!src->ok || src->track.health == BACKEND_DOWN)) {
                double now = ev_now(m->loop);
                if (mb->orphan_since == 0)
                    mb->orphan_since = now;
                chk.repl_broken = false;
                chk.orphan = true;
                chk.lag_ms =
                    HY_MAX(mb->lag_ms, (int64_t)0) + (int64_t)((now - mb->orphan_since) * 1000.0);
            } else {
                mb->orphan_since = 0;
                mb->lag_ms = chk.lag_ms;
            }
        }
        atomic_store(&mb->rt->lag_ms, chk.lag_ms);
        atomic_store(&mb->rt->repl_broken, chk.repl_broken);
    } else {
        /* Not a replica (or the primary the failover under way is about
         * to publish: role_held), or no answer: no lag is known (a replica
         * that stopped answering is not as caught up as its last reading). */
        atomic_store(&mb->rt->lag_ms, (int64_t)-1);
        if (ok)
            atomic_store(&mb->rt->repl_broken, false);
    }
    int64_t max_lag = (int64_t)mb->be->max_replication_lag * 1000;
    struct backend_policy p = {.rise = grp->rise,
                               .fall = grp->fall,
                               .max_lag_ms = max_lag,
                               .orphans_refused = m->cfg->partition_reads_refuse};
    char full[400];
    int now = track_step(mb, &p, &chk, error, full, sizeof(full));
    if (now < 0) {
        if (mb->track.health == BACKEND_LAGGING && full[0] != '\0')
            backend_set_health(mb->rt, BACKEND_LAGGING, full); /* the reason it has now */
        if ((enum backend_state)atomic_load(&mb->rt->health) == mb->track.health)
            return false;
        /* failover set it (backend_set_left_behind) and the checks since
         * find it fine: theirs is the word now */
        backend_set_health(mb->rt, mb->track.health,
                           "checked since a failover left it: it replicates what it should");
    } else
        backend_set_health(mb->rt, (enum backend_state)now, full);
    return true;
}

/* `src` was just read: each replica of it read before that (so whatever
 * it applied, src had written by then) is checked for being past src's
 * binary log. Such a replica's data is not src's: LAGGING, no reads. */
/* dual-master: `src`, the active, was just read. The other server,
 * read-only and read before it, that lacks transactions of its own the
 * active has (crash recovery dropped them; its replication skips its own
 * server_id, so they never come back) gets no reads in this halyard too,
 * not only in the one whose failover thread holds it fenced. */
static void dual_lost_check(struct monitor_backend *src)
{
    struct monitor *m = src->m;
    struct gtid_pos state, rs;
    if (src->read_only ||
        gtid_state_parse(src->gtid_binlog_state, strlen(src->gtid_binlog_state), &state) != HY_OK)
        return;
    for (size_t i = 0; i < m->n; i++) {
        struct monitor_backend *r = m->mb[i];
        if (r == NULL || r == src || !dual_master(r) || r->be->group != src->be->group)
            continue;
        if (!r->read_only)
            r->lost_own = false; /* the active, or not fenced yet: not a standby */
        if (!r->ok || !r->read_only || r->server_id == 0 || r->vars_at <= 0 ||
            r->vars_at >= src->vars_sent ||
            gtid_state_parse(r->gtid_binlog_state, strlen(r->gtid_binlog_state), &rs) != HY_OK)
            continue;
        /* Judged afresh each time: with gtid_strict_mode and semi-sync
         * replica mode MariaDB applies such a transaction after all
         * (MDEV-27760), and the standby serves again once it has. */
        r->lost_own = gtid_state_lacks(&rs, &state, r->server_id);
        if (r->lost_own)
            snprintf(r->lost_why, sizeof(r->lost_why),
                     "lost transactions of its own that the active %s has (its replication "
                     "skips its own server_id): out of traffic until it has them or is rebuilt",
                     src->be->name);
    }
}

void monitor_ahead_check(struct monitor_backend *src)
{
    struct monitor *m = src->m;
    struct gtid_pos sp, rp;
    if (dual_master(src)) {
        dual_lost_check(src);
        return;
    }
    if (galera(src) || gtid_pos_parse(src->gtid_binlog, strlen(src->gtid_binlog), &sp) != HY_OK)
        return;
    for (size_t i = 0; i < m->n; i++) {
        struct monitor_backend *r = m->mb[i];
        if (r == NULL || r == src || r->source != src->index || !r->ok || r->vars_at <= 0 ||
            r->vars_at >= src->vars_sent ||
            gtid_pos_parse(r->gtid_current, strlen(r->gtid_current), &rp) != HY_OK)
            continue;
        uint32_t d = 0;
        if (gtid_pos_ahead(&rp, &sp, &d)) {
            if (!r->ahead) {
                snprintf(r->ahead_why, sizeof(r->ahead_why),
                         "past its primary %s in domain %u (%.48s against %.48s): the primary's "
                         "binary log was reset or replaced, or this server wrote transactions of "
                         "its own",
                         src->be->name, d, r->gtid_current,
                         src->gtid_binlog[0] ? src->gtid_binlog : "''");
                r->ahead = true;
            }
        }
        /* It stays so while it runs: once the primary's log passes it, it
         * is behind in numbers but still without what the new log holds
         * below its old position (it reads on from its old offset, or
         * from its old GTID if it reconnects). A restart (a rebuilt
         * replica is a new server) clears it (parse_vars). */
    }
}
