/*
 * session_reload.c: a session follows a reload and the primary, part of the
 * session module (session_int.h): moving to a new config (its connections
 * matched by backend name, its group's view), and the wait for a primary
 * while a failover runs.
 */
#include <ctype.h>
#include <stdarg.h>
#include <strings.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "halyard/core/audit.h"
#include "halyard/protocol/auth.h"
#include "halyard/cluster/backend.h"
#include "halyard/config/group.h"
#include "halyard/sql/classify.h"
#include "halyard/protocol/compress.h"
#include "halyard/sql/digest.h"
#include "halyard/route/firewall.h"
#include "halyard/session/guard.h"
#include "halyard/protocol/proxyproto.h"
#include "halyard/session/registry.h"
#include "halyard/protocol/relay.h"
#include "halyard/route/router.h"
#include "halyard/pool/server.h"
#include "halyard/session/session.h"
#include "halyard/cluster/shard_learn.h"
#include "halyard/cluster/users.h"
#include "halyard/session/session_err.h"
#include "halyard/core/stats.h"
#include "halyard/protocol/tls.h"
#include "halyard/sql/track.h"
#include "halyard/session/worker.h"
#include "session_int.h"
#include "session_cache.h"
#include "session_login.h"
#include "session_pool.h"
#include "session_ps.h"
#include "session_reload.h"
#include "session_shard.h"
#include "session_xa.h"

/*
 * Reload:
 * A reload gives the worker a new config (w->session_cfg). A session moves
 * to it between statements, when nothing it holds depends on the old one:
 * idle, no transaction open (on the primary or a read-only one on a
 * replica), and, when it has state only the primary holds (pinned), the
 * same primary server in both. Its backend connections are carried over by
 * backend name (same address and port), with the prepared statements they
 * hold (ps_remap_*); connections to backends the new config no longer has
 * (or has elsewhere) are closed, and a connection opened later is brought up
 * to the session state and prepares statements as usual. Until
 * it can move, a session keeps its config, and so its connections to
 * removed backends: they drain as its transaction ends.
 */

static bool session_may_switch(const struct session *s, const struct config *to)
{
    if ((s->route.status & SERVER_STATUS_IN_TRANS) || s->route.ro_idx >= 0 ||
        s->query.internal != NULL || session_login_changing_user(s) ||
        session_groups(s)->xa != NULL)
        return false;
    if (s->route.pinned) {
        int j = config_backend_match(to, &s->cfg->backends[s->route.primary]);
        if (j < 0 || to->backends[j].role != ROLE_PRIMARY)
            return false;
    }
    return true;
}

void session_config_switch(struct session *s)
{
    struct config *to = group_view_of_listener(s->w->session_cfg, s->who.lcfg, s->listener);
    if (to == NULL) {
        /* Its group was removed: the transaction under way finished, the
         * session ends (group.h, docs/sharding.md "Groups"). */
        if (session_may_switch(s, s->cfg)) {
            char msg[160];
            snprintf(msg, sizeof(msg), "Group %s was removed by a reload: reconnect",
                     group_of(s->cfg)->name);
            slog_warn(s, "its group %s was removed by a reload: closing", group_of(s->cfg)->name);
            /* Read by the client as the answer to its next command (as
             * the idle timeout's). */
            session_err(s, 1, SERR_NO_BACKEND, msg);
            session_mark_closing(s, END_GROUP_REMOVED);
        }
        return;
    }
    /* Sharded (shard.h): the session stays on the group of the same name,
     * if the new config has it; its next statement moves it as the new
     * map says. */
    if (s->listener->shards) {
        int g = group_find(s->w->session_cfg, group_of(s->cfg)->name);
        if (g >= 0)
            to = group_view(s->w->session_cfg, (size_t)g);
    }
    if (!session_may_switch(s, to))
        return;
    if (!session_view_move(s, to))
        return; /* out of memory: try again at the next statement */
}

/* Move the session to view `to` (a reload's, or another group of its own
 * config): its connections matched by backend name, the others closed.
 * False when out of memory, the session unchanged. */
bool session_view_move(struct session *s, struct config *to)
{
    struct bconn **nbc = calloc(to->n_backends, sizeof(*nbc));
    struct ps_backend **nbe = ps_remap_alloc(s, to->n_backends);
    if (nbc == NULL || (nbe == NULL && s->prep.map.count > 0) || !session_hooks_view(s, to) ||
        session_pool_resize(s, to->n_backends) != HY_OK) {
        free(nbc);
        free(nbe);
        return false;
    }
    int last = config_backend_match(to, &s->cfg->backends[s->route.last_idx]);
    int diag = config_backend_match(to, &s->cfg->backends[s->route.diag_idx]);
    int wrote = s->route.write_idx; /* -1 stays -1, -2 stays -2 */
    if (wrote >= 0 && (wrote = config_backend_match(to, &s->cfg->backends[wrote])) < 0)
        wrote = -2; /* gone from the new config */
    for (uint32_t i = 0; i < s->conns.n_bc; i++) {
        struct bconn *bc = s->conns.bc[i];
        if (bc == NULL)
            continue;
        int j = config_backend_match(to, bc->be);
        if (j < 0 && bc->xa && session_groups(s)->xa != NULL) {
            /* An XA branch of the group the session leaves: kept for the
             * commit, and for the statements when it comes back. */
            bc->parked = true;
            continue;
        }
        /* A connection made under another TLS mode is made again, unless
         * it holds state only the primary has. */
        if (j < 0 ||
            (to->backends[j].tls != bc->be->tls && !(s->route.pinned && i == s->route.primary))) {
            slog_debug(s, "reload: closing the connection to %s", bc->be->name);
            bconn_close(bc);
            continue;
        }
        nbc[j] = bc;
        bc->idx = (uint16_t)j;
        bc->be = &to->backends[j];
    }
    session_xa_restore(s, to, nbc, primary_now(to, s->id, -1));
    free(s->conns.bc);
    s->conns.bc = nbc;
    s->conns.n_bc = (uint16_t)to->n_backends;
    s->route.topo_gen = backend_generation();
    s->route.primary = primary_now(to, s->id, -1);
    ps_remap_apply(s, nbe, to);
    s->route.last_idx = last >= 0 ? (uint16_t)last : s->route.primary;
    s->route.diag_idx = diag >= 0 ? (uint16_t)diag : s->route.primary;
    s->route.write_idx = wrote;
    s->query.block_rule = NULL;
    /* The listener may be gone from the new config: then keep the old one. */
    for (size_t i = 0; i < to->n_listeners; i++) {
        if (strcmp(to->listeners[i].name, s->listener->name) == 0) {
            s->listener = &to->listeners[i];
            login_config_set(s, to);
            break;
        }
    }
    if (s->who.user != NULL &&
        s->who.cu != s->who.acct_cur) { /* a server account stays the session's */
        const struct config_user *u = config_find_user(to, s->who.user, strlen(s->who.user));
        login_user_set(s, u);
        if (u != NULL)
            s->route.consistency = u->consistency != CONSISTENCY_DEFAULT ? u->consistency
                                   : s->listener->consistency != CONSISTENCY_DEFAULT
                                       ? s->listener->consistency
                                       : to->consistency;
    }
    session_cache_config(s, s->cfg, to);
    config_put(s->cfg);
    s->cfg = config_get(to);
    session_publish_backend(s);
    return true;
}

/* Whether the session takes the worker's new configuration now: one came,
 * and nothing of the session waits (idle, no command routed). */
static bool config_switch_due(const struct session *s)
{
    return config_root(s->cfg) != s->w->session_cfg && s->state == SS_IDLE && s->route.wait_idx < 0;
}

void session_config_coming(struct session *s)
{
    if (config_switch_due(s))
        session_pool_lid_keep(s);
}

/* A step between commands (next_take, session_hooks.c): a reload's
 * configuration is taken once nothing of the session waits; a session
 * whose group was removed ends (HOOK_WAIT: reaped as the callback ends). */
enum hook_verdict session_config_between(struct session *s)
{
    if (!config_switch_due(s))
        return HOOK_PASS;
    session_config_switch(s);
    return s->state == SS_CLOSING ? HOOK_WAIT : HOOK_PASS;
}

void session_config_changed(struct session *s)
{
    if (s->state == SS_CLOSING)
        return;
    if (config_switch_due(s))
        session_config_switch(s);
    session_pool_lid_keep_end(s);
    session_reap(s); /* its group was removed, or its connection failed */
}

/* ---- waiting for a primary ---------------------------------------------------
 * A write (a statement for the primary, outside a transaction, or in one
 * not begun on a connection yet: trx_on_primary) that finds
 * no usable primary waits for one instead of failing, when one can be
 * expected soon: failover = auto (the primary is DOWN and being replaced),
 * cluster = galera (the next Synced node is the writer at once), or a switchover or failover
 * command under way (backend_failover_busy). So does one whose connection to the primary is refused
 * before the monitor has marked it DOWN. It polls every PRIMARY_WAIT_POLL seconds, at most
 * failover_write_wait_ms from the statement's arrival, then goes to the
 * primary the monitor publishes (session_follow_primary), or fails as
 * before. A primary no check has passed yet (added or moved by a reload)
 * is waited for the same way, whatever failover_write_wait_ms, at most
 * its group's monitor.interval_ms + monitor.timeout_ms: its first check
 * says what it is. The statement stays in `up`, routed once (s->route.wait_idx).
 * A login that names a schema, which needs the primary
 * (session_login_backend), waits the same way (login_wait_start). */
#define PRIMARY_WAIT_POLL 0.02

/* Whether the session's primary is one no check has passed yet. */
static bool primary_unchecked(const struct session *s)
{
    return !backend_checked(s->cfg->backends[s->route.primary].rt);
}

/* What a wait for the session's primary waits for, for its log lines:
 * its first check (bounded by monitor.interval_ms + monitor.timeout_ms),
 * or a usable primary within failover_write_wait_ms. */
static const char *primary_wait_what(const struct session *s, char *buf, size_t len)
{
    if (primary_unchecked(s)) {
        const struct config_group *g = group_of(s->cfg);
        snprintf(buf, len,
                 "the first check of %s (monitor.interval_ms + monitor.timeout_ms, %d ms)",
                 s->cfg->backends[s->route.primary].name, g->interval_ms + g->timeout_ms);
    } else {
        snprintf(buf, len, "a usable primary (failover_write_wait_ms, %d ms)",
                 s->cfg->failover_write_wait_ms);
    }
    return buf;
}

/* Whether a primary can be expected within failover_write_wait_ms: the
 * wait's deadline set, or false when there is none to wait for or the
 * deadline passed. */
static bool primary_expected(struct session *s)
{
    if (ev_is_active(&s->route.primary_wait))
        return false;
    if (primary_unchecked(s)) {
        const struct config_group *g = group_of(s->cfg);
        double now = ev_now(s->w->loop);
        if (s->route.primary_wait_until == 0)
            s->route.primary_wait_until = now + (g->interval_ms + g->timeout_ms) / 1000.0;
        return now < s->route.primary_wait_until;
    }
    if (s->cfg->failover_write_wait_ms <= 0)
        return false;
    /* On Galera the next node takes writes as soon as one is Synced. */
    if (!s->cfg->failover_auto && s->cfg->cluster != CLUSTER_GALERA &&
        !backend_failover_busy(group_of(s->cfg)->name))
        return false;
    double now = ev_now(s->w->loop);
    if (s->route.primary_wait_until == 0)
        s->route.primary_wait_until = now + s->cfg->failover_write_wait_ms / 1000.0;
    else if (now >= s->route.primary_wait_until)
        return false;
    return true;
}

/* Whether a transaction may be open on the session's connection to its
 * primary, which a wait for another primary would lose: none without that
 * connection (autocommit = 0 and nothing run since, or the connection given
 * back to the pool; a BEGIN held for the first statement, session_begin.c). */
static bool trx_on_primary(struct session *s)
{
    return session_groups(s)->xa != NULL ||
           (session_in_trans(s) && s->route.primary < s->conns.n_bc &&
            s->conns.bc[s->route.primary] != NULL);
}

bool primary_wait_start(struct session *s)
{
    if (s->state != SS_IDLE || trx_on_primary(s) || s->route.ro_idx >= 0 || !primary_expected(s))
        return false;
    char what[160];
    slog_info(s, "no usable primary: the statement waits for %s",
              primary_wait_what(s, what, sizeof(what)));
    s->route.wait_idx = (int)s->route.primary;
    session_set_state(s, SS_WAIT_BACKEND);
    ev_io_stop(s->w->loop, &s->client.rio);
    ev_timer_set(&s->route.primary_wait, PRIMARY_WAIT_POLL, PRIMARY_WAIT_POLL);
    ev_timer_start(s->w->loop, &s->route.primary_wait);
    return true;
}

/* ROUTE_NOBODY's `before` (session_hooks.c): no usable backend, a write
 * outside a transaction waits for a primary (failover_write_wait_ms); so
 * does a statement of a transaction not begun on a connection yet
 * (autocommit = 0 and nothing run since: it goes to the primary too,
 * route_decide; primary_wait_start refuses one begun there); else the ERR
 * says why. */
bool primary_wait_before(struct session *s, const struct hook_cmd *hc, bool primary_write)
{
    return (primary_write || session_in_trans(s)) && hc->fits && primary_wait_start(s);
}

bool primary_wait_cancel(struct session *s)
{
    if (s->state != SS_WAIT_BACKEND || !ev_is_active(&s->route.primary_wait))
        return false;
    ev_timer_stop(s->w->loop, &s->route.primary_wait);
    s->route.primary_fail_gen = UINT64_MAX;
    slog_info(s, "no usable primary: the statement that waited is interrupted");
    return true;
}

bool login_wait_start(struct session *s, bool refused)
{
    if (s->state != SS_LOGIN_BACKEND || s->conns.cur != NULL || !primary_expected(s))
        return false;
    char what[160];
    slog_info(s, "no usable primary: the login waits for %s",
              primary_wait_what(s, what, sizeof(what)));
    /* After a refused connect, the same primary is tried again only once
     * something changed (primary_wait_cb). */
    s->route.primary_fail_gen = refused ? backend_generation() : UINT64_MAX;
    ev_timer_set(&s->route.primary_wait, PRIMARY_WAIT_POLL, PRIMARY_WAIT_POLL);
    ev_timer_start(s->w->loop, &s->route.primary_wait);
    return true;
}

/* The ERR of a wait for a primary that ran out: the primary no check has
 * passed yet, or none within failover_write_wait_ms. */
static void primary_wait_err(struct session *s, uint8_t seq)
{
    struct backend_rt *rt = s->cfg->backends[s->route.primary].rt;
    if (primary_unchecked(s) && backend_state(rt) != BACKEND_ONLINE) {
        /* Its checks failed (it went DOWN) or the operator took it out:
         * what they said, as for any primary in that state. */
        struct backend_info info;
        backend_info_get(rt, &info);
        char why[320];
        route_no_primary_why(why, sizeof(why), s->cfg->backends[s->route.primary].name,
                             backend_state(rt), info.why);
        session_err(s, seq, SERR_NO_BACKEND, why);
        return;
    }
    if (primary_unchecked(s)) {
        const struct config_group *g = group_of(s->cfg);
        char why[320];
        snprintf(why, sizeof(why),
                 "No primary available: no check of backend '%s' has passed yet (waited "
                 "monitor.interval_ms + monitor.timeout_ms, %d ms)",
                 s->cfg->backends[s->route.primary].name, g->interval_ms + g->timeout_ms);
        session_err(s, seq, SERR_NO_BACKEND, why);
        return;
    }
    char note[400];
    backend_failover_note(group_of(s->cfg)->name, note, sizeof(note));
    session_err(s, seq, SERR_NO_PRIMARY_IN_TIME, s->cfg->failover_write_wait_ms,
                note[0] != '\0' ? ": " : "", note);
}

/* primary_wait_cb for a waiting login: log in to the primary once one is
 * usable, else answer the login with the error and end the session. */
static void login_wait_end(struct session *s, bool ready)
{
    s->route.primary_fail_gen = UINT64_MAX;
    if (ready) {
        session_follow_primary(s);
        if (s->state == SS_CLOSING)
            return;
        slog_info(s, "primary %s usable: the login goes on",
                  s->cfg->backends[s->route.primary].name);
        session_login_backend(s);
        return;
    }
    char what[160];
    slog_warn(s, "login: no usable primary: waited for %s",
              primary_wait_what(s, what, sizeof(what)));
    primary_wait_err(s, (uint8_t)(s->io.last_seq + 1));
    session_mark_closing(s, END_BACKEND_LOGIN);
}

void primary_wait_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct session *s = container_of(w, struct session, route.primary_wait);
    if (s->state != SS_WAIT_BACKEND && s->state != SS_LOGIN_BACKEND) {
        ev_timer_stop(loop, w);
        return;
    }
    /* After a refused connect, the same primary is tried again only once
     * something changed (it went DOWN, another one was promoted); another
     * primary at once, even when it was published between the statement's
     * routing and the refusal (the generation read at the refusal is then
     * already the new one's: the wait ran to failover_write_wait_ms). */
    uint64_t gen = backend_generation();
    int p = backend_primary_index(s->cfg);
    bool ready = p >= 0 && (gen != s->route.primary_fail_gen || p != (int)s->route.primary) &&
                 backend_checked(s->cfg->backends[p].rt);
    if (!ready && ev_now(loop) < s->route.primary_wait_until)
        return; /* the timer repeats */
    ev_timer_stop(loop, w);
    if (s->state == SS_LOGIN_BACKEND) {
        login_wait_end(s, ready);
        session_reap(s);
        return;
    }
    s->route.primary_fail_gen = UINT64_MAX;
    session_set_state(s, SS_IDLE);
    if (ready && session_uvars_ask(s)) {
        /* the old primary's user variables counted first; then next_route
         * follows the new primary with the statement */
        s->route.uvars_follow = true;
        session_reap(s);
        return;
    }
    if (ready) {
        session_follow_primary(s);
        if (s->state == SS_CLOSING) {
            session_reap(s);
            return;
        }
        slog_info(s, "primary %s usable: the statement goes on",
                  s->cfg->backends[s->route.primary].name);
        s->route.wait_idx = (int)s->route.primary;
    } else {
        char what[160];
        slog_warn(s, "no usable primary: waited for %s", primary_wait_what(s, what, sizeof(what)));
        struct stream *st = &s->io.up;
        uint32_t len = mysql_hdr_len(st->b->data + st->scan);
        command_abandon(s);
        if (len + MYSQL_HEADER_SIZE > stream_unparsed(st))
            session_mark_closing(s, END_BACKEND_LOST);
        else
            consume_packet(s, len);
        primary_wait_err(s, 1);
    }
    if (s->state == SS_IDLE)
        session_next_command(s);
    session_reap(s);
}

/* Connecting to the primary failed for a statement routed there outside a
 * transaction: wait for the primary to be usable again or replaced (true),
 * or fail it as before (false). */
bool primary_retry(struct session *s, const struct config_backend *be)
{
    if (s->state != SS_WAIT_BACKEND || s->route.wait_idx != (int)s->route.primary ||
        s->conns.cur != NULL || be != &s->cfg->backends[s->route.primary])
        return false;
    session_set_state(s, SS_IDLE);
    if (primary_wait_start(s)) {
        s->route.primary_fail_gen = backend_generation();
        return true;
    }
    session_set_state(s, SS_WAIT_BACKEND);
    return false;
}
