/*
 * session_life.c: a session's life, part of the session module
 * (session_int.h): creation at accept (PROXY header, TLS, greeting), the
 * client socket's and timers' callbacks, shutdown, close and free.
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
#include "halyard/route/guard.h"
#include "halyard/protocol/proxyproto.h"
#include "halyard/session/registry.h"
#include "halyard/protocol/relay.h"
#include "halyard/route/router.h"
#include "halyard/pool/server.h"
#include "halyard/session/session.h"
#include "halyard/cluster/shard_learn.h"
#include "halyard/cluster/users.h"
#include "halyard/session/session_err.h"
#include "halyard/cluster/stats.h"
#include "halyard/protocol/tls.h"
#include "halyard/sql/track.h"
#include "halyard/session/worker.h"
#include "session_int.h"

/* ---- life cycle -------------------------------------------------------- */

static void session_free(struct session *s)
{
    struct worker *w = s->w;
    command_kill_unhold(s, false);
    command_kill_user_answered(s, 0);
    registry_remove(&s->kill.reg);
    ev_timer_stop(w->loop, &s->io.timer);
    ev_timer_stop(w->loop, &s->io.idle);
    ev_timer_stop(w->loop, &s->route.primary_wait);
    session_pool_forget(s);
    if (s->who.user_counted)
        guard_user_leave(s->who.user);
    query_end(s, true);
    session_trx_hold(s, false);
    bconn_close_all(s);
    state_clear(s);
    varstate_destroy(s->vars.vs);
    if (s->vars.chg != NULL)
        free(s->vars.chg->stmt);
    free(s->vars.chg);
    ps_clear(s);
    free(s->conns.bc);
    free(s->conns.lease.lent);
    conn_close(&s->client, w->loop, &w->pool);
    stream_release(&s->io.up, &w->pool);
    stream_release(&s->io.down, &w->pool);
    worker_session_remove(w, s);
    atomic_fetch_sub(&stats_sessions_open, 1);
    config_put(s->who.lcfg);
    if (s->who.lstats != NULL)
        atomic_fetch_sub_explicit(&s->who.lstats->open, 1, memory_order_relaxed);
    config_put(s->cfg);
    login_end(s);
    free(s->who.user);
    free(s->who.db);
    free(s->who.attrs);
    free(s->vars.schema);
    free(s->query.pend_schema);
    free(s->query.qlog_text);
    free(s->route.retry_pkt);
    explicit_bzero(s->who.h1, sizeof(s->who.h1));
    explicit_bzero(s->who.old_hash, sizeof(s->who.old_hash));
    free(s->query.connid);
    session_tables_locked(s, false);
    session_sysview_free(s);
    session_cache_free(s);
    session_fanout_free(s);
    session_diag_drop(s);
    session_groups_free(s);
    free(s->values.diag_err);
    free(s->route.trx_lost);
    session_replay_free(s);
    session_inflight_free(s);
    free(s->values.lid_lost);
    free(s->values.lid_unknown);
    free(s->io.broken_msg);
    free(s->who.via);
    if (s->who.acct_cur != NULL)
        free(s->who.acct_cur->name);
    free(s->who.acct_cur);
    free(s);
}

/* Free a session marked closing; called last in every event handler. */
void session_reap(struct session *s)
{
    if (s->state != SS_CLOSING)
        return;
    switch (s->end) {
    case END_CLIENT_QUIT:
    case END_CLIENT_CLOSED:
        slog_debug(s, "closed: %s", session_end_to_str(s->end));
        break;
    default:
        slog_info(s, "closed: %s", session_end_to_str(s->end));
        break;
    }
    /* Try to push out a last ERR already queued; never wait for it. */
    if (conn_has_local(&s->client)) {
        hy_status_t rc HY_UNUSED = conn_flush_local(&s->client, &s->w->pool);
    }
    session_free(s);
}

void session_close(struct session *s, enum session_end why)
{
    session_mark_closing(s, why);
    session_reap(s);
}

void session_shutdown(struct session *s)
{
    if (registry_kill_requested(&s->kill.reg)) {
        session_close(s, END_KILLED);
        return;
    }
    switch (s->state) {
    case SS_IDLE:
    case SS_PROXY_HEADER:
    case SS_HANDSHAKE:
    case SS_AUTH_SWITCH:
        session_close(s, END_SHUTDOWN);
        break;
    default:
        break; /* closes when its command ends (command_done) */
    }
}

/* Send the greeting (or refuse the client: too many sessions, address
 * blocked); the client's address is known by now. */
void session_greet(struct session *s)
{
    const struct config *cfg = s->cfg;
    if (cfg->max_client_connections > 0 &&
        atomic_load(&stats_sessions_open) > (unsigned)cfg->max_client_connections) {
        session_err(s, 0, SERR_TOO_MANY);
        log_audit("session %u -@%s: connection refused: max_client_connections (%d) reached", s->id,
                  s->who.peer, cfg->max_client_connections);
        audit_login(false, s->id, "", s->who.peer, s->listener->name,
                    "max_client_connections reached");
        session_mark_closing(s, END_TOO_MANY);
        return;
    }
    int64_t blocked_ms;
    if (guard_blocked(cfg, &s->who.client_addr, &blocked_ms)) {
        char host[64];
        client_host(s, host, sizeof(host));
        log_audit("session %u -@%s: connection refused: address blocked for %" PRId64
                  " ms more after failed logins",
                  s->id, s->who.peer, blocked_ms);
        audit_login(false, s->id, "", s->who.peer, s->listener->name,
                    "address blocked after failed logins");
        session_err(s, 0, SERR_HOST_BLOCKED, host, host);
        session_mark_closing(s, END_BLOCKED);
        return;
    }
    if (auth_random_scramble(s->who.scramble, sizeof(s->who.scramble)) != HY_OK) {
        session_mark_closing(s, END_NOMEM);
        return;
    }
    struct mysql_handshake hs = {0};
    hs.protocol = 10;
    hs.server_version = cfg->server_version;
    hs.server_version_len = strlen(cfg->server_version);
    hs.conn_id = s->id;
    memcpy(hs.scramble, s->who.scramble, sizeof(hs.scramble));
    hs.caps = (SERVER_CAPS & ~(uint32_t)CLIENT_MYSQL) | (cfg->tls_server != NULL ? CLIENT_SSL : 0);
    hs.ext_caps = SERVER_EXT_CAPS;
    hs.charset = 45; /* utf8mb4_general_ci */
    hs.status = SERVER_STATUS_AUTOCOMMIT;
    hs.plugin = cfg->default_sha2 ? SHA2_PLUGIN : NATIVE_PLUGIN;
    hs.plugin_len = strlen(hs.plugin);
    uint8_t pkt[MYSQL_HEADER_SIZE + 256];
    size_t n =
        mysql_handshake_encode(&hs, pkt + MYSQL_HEADER_SIZE, sizeof(pkt) - MYSQL_HEADER_SIZE);
    mysql_hdr_write(pkt, (uint32_t)n, 0);
    send_local(s, pkt, MYSQL_HEADER_SIZE + n);
    ev_io_start(s->w->loop, &s->client.rio);
    session_timer_start(s, cfg->login_timeout_ms);
}

/* Whether connections from `a` to `l` must start with a PROXY header. */
static bool proxy_expected(const struct config_listener *l, const struct rules_addr *a)
{
    for (size_t i = 0; i < l->proxy_protocol_from.n; i++) {
        if (rules_cidr_match(&l->proxy_from[i], a))
            return true;
    }
    return false;
}

void session_create(struct worker *w, int fd, const struct config_listener *listener)
{
    struct config *cfg = session_group_cfg(w->session_cfg, w->cfg, listener);
    if (cfg == NULL) {
        /* A listener a reload removed, with its group, accepted before it
         * closed: no backends to serve it (never another group's). */
        hy_log_warn("listener %s: its group is gone after a reload: connection closed",
                    listener->name);
        close(fd);
        return;
    }
    atomic_fetch_add(&stats_sessions_open, 1);
    struct session *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        atomic_fetch_sub(&stats_sessions_open, 1);
        close(fd);
        return;
    }
    net_set_nodelay(fd);
    s->w = w;
    s->cfg = config_get(cfg);
    session_lex_mode(s, backend_default_lex(s->cfg)); /* the server's global sql_mode */
    s->who.lcfg = config_get(w->cfg);
    s->listener = listener;
    if ((s->who.lstats = stats_listener(listener->name)) != NULL) {
        atomic_fetch_add_explicit(&s->who.lstats->accepted, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->who.lstats->open, 1, memory_order_relaxed);
    }
    s->id = registry_new_id();
    s->kill.reg.id = s->id;
    s->kill.reg.loop = w->loop;
    s->kill.reg.wakeup = &w->wakeup;
    s->kill.reg.kill_pending = &w->kill_pending;
    s->kill.reg.peer = s->who.peer;
    s->state = SS_HANDSHAKE;
    conn_init(&s->client, fd);
    s->conns.n_bc = (uint16_t)cfg->n_backends;
    s->route.topo_gen = backend_generation();
    s->route.primary = primary_now(cfg, s->id, -1);
    s->route.primary_fail_gen = UINT64_MAX;
    s->route.retry_exclude = -1;
    s->route.wait_idx = -1;
    s->route.ro_idx = -1;
    s->route.write_idx = -1;
    s->prep.ps_step = -1;
    s->query.set_option = -1;
    s->route.status = SERVER_STATUS_AUTOCOMMIT;
    s->conns.bc = calloc(cfg->n_backends, sizeof(*s->conns.bc));
    if (s->conns.bc == NULL || session_pool_resize(s, cfg->n_backends) != HY_OK)
        s->conns.n_bc = 0;
    bool login = login_begin(s);
    bool groups = session_groups_make(s);
    ev_io_init(&s->client.rio, session_client_read_cb, fd, EV_READ);
    ev_io_init(&s->client.wio, session_client_write_cb, fd, EV_WRITE);
    ev_timer_init(&s->io.timer, session_timer_cb, 0., 0.);
    ev_timer_init(&s->io.idle, session_idle_cb, 0., 0.);
    session_pool_init(s);
    ev_timer_init(&s->route.primary_wait, primary_wait_cb, 0., 0.);
    net_peer_name(fd, s->who.peer, sizeof(s->who.peer));
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &sslen) == 0)
        rules_addr_from_sockaddr((struct sockaddr *)&ss, &s->who.client_addr);
    worker_session_add(w, s);
    stat_inc(&w->stats.sessions_accepted);
    registry_add(&s->kill.reg);

    if (s->conns.bc == NULL || !login || !groups) {
        session_close(s, END_NOMEM);
        return;
    }
    if (proxy_expected(listener, &s->who.client_addr)) {
        /* The balancer speaks first: its header, then our greeting. */
        s->state = SS_PROXY_HEADER;
        ev_io_start(w->loop, &s->client.rio);
        session_timer_start(s, cfg->connect_timeout_ms);
        return;
    }
    session_greet(s);
    session_reap(s);
}
