/*
 * session_reload.c: a session follows a reload, part of the session module
 * (session_int.h): moving to a new config (its connections matched by
 * backend name, its group's view).
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
    route_view_moved(s, to);
    ps_remap_apply(s, nbe, to);
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
            route_consistency_set(s, u, to);
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
    /* its value read (int_lid) when it may not wait */
    if (session_pool_lid_keep_end(s))
        (void)backend_release(s);
    session_reap(s); /* its group was removed, or its connection failed */
}
