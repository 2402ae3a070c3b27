/*
 * session_login.c: the client's side of the login, part of the session
 * module (session_int.h): the PROXY protocol header, the handshake
 * response, mysql_native_password and caching_sha2_password, TLS, the
 * account's access rules, the guard's verdict, and the answer.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "halyard/config/group.h"
#include "halyard/core/text.h"
#include "halyard/core/audit.h"
#include "halyard/protocol/auth.h"
#include "halyard/cluster/backend.h"
#include "halyard/protocol/compress.h"
#include "halyard/session/guard.h"
#include "halyard/protocol/proxyproto.h"
#include "halyard/session/registry.h"
#include "halyard/config/rules.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/core/stats.h"
#include "halyard/protocol/tls.h"
#include "halyard/cluster/users.h"
#include "halyard/session/worker.h"
#include "session_int.h"
#include "session_login.h"
#include "session_pool.h"
#include "session_ps.h"
#include "session_shard.h"
#include "session_state.h"

/* ---- the login part ----------------------------------------------------- */

bool login_begin(struct session *s)
{
    login_end(s);
    s->login = calloc(1, sizeof(*s->login));
    return s->login != NULL;
}

void login_end(struct session *s)
{
    struct sess_login *lg = s->login;
    if (lg == NULL)
        return;
    explicit_bzero(lg->pend_h1, sizeof(lg->pend_h1));
    explicit_bzero(lg->wait_auth, sizeof(lg->wait_auth));
    free(lg->pend_user);
    free(lg->pend_db);
    free(lg->pend_attrs);
    if (lg->acct_pend != NULL)
        free(lg->acct_pend->name);
    free(lg->acct_pend);
    free(lg->pend_acct);
    free(lg);
    s->login = NULL;
}

bool login_create(struct session *s)
{
    login_config_set(s, s->w->cfg);
    if ((s->who.lstats = stats_listener(s->listener->name)) != NULL) {
        atomic_fetch_add_explicit(&s->who.lstats->accepted, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->who.lstats->open, 1, memory_order_relaxed);
    }
    return login_begin(s);
}

void login_close(struct session *s)
{
    login_end(s);
    config_put(s->who.lcfg);
    s->who.lcfg = NULL;
    if (s->who.lstats != NULL)
        atomic_fetch_sub_explicit(&s->who.lstats->open, 1, memory_order_relaxed);
    s->who.lstats = NULL;
}

void login_leave(struct session *s)
{
    if (s->who.user_counted)
        guard_user_leave(s->who.user);
    s->who.user_counted = false;
}

static void send_auth_switch(struct session *s, uint8_t seq);
static void auth_check(struct session *s, const char *user, size_t user_len, const uint8_t *auth,
                       size_t auth_len, uint8_t seq);

static bool plugin_is_native(const char *plugin, size_t len)
{
    return plugin == NULL ||
           (len == strlen(NATIVE_PLUGIN) && memcmp(plugin, NATIVE_PLUGIN, len) == 0);
}

/* A new login part for COM_CHANGE_USER `cu`, its pending user: false
 * when out of memory. */
static bool change_user_begin(struct session *s, const struct mysql_change_user *cu)
{
    if (!login_begin(s))
        return false;
    struct sess_login *lg = s->login;
    lg->pend_user = hy_dupz(cu->user, cu->user_len);
    lg->pend_db = cu->db != NULL && cu->db_len > 0 ? hy_dupz(cu->db, cu->db_len) : NULL;
    if (cu->attrs != NULL && cu->attrs_len > 0) {
        lg->pend_attrs = (uint8_t *)hy_dupz(cu->attrs, cu->attrs_len);
        lg->pend_attrs_len = cu->attrs_len;
    }
    lg->pend_charset = cu->charset;
    lg->changing_user = true;
    return lg->pend_user != NULL;
}

void login_change_user(struct session *s, uint32_t len)
{
    const uint8_t *p = s->io.up.b->data + s->io.up.scan + MYSQL_HEADER_SIZE;
    struct mysql_change_user cu;
    if (mysql_change_user_decode(p, len, s->who.caps, &cu) != HY_OK) {
        consume_packet(s, len);
        session_err(s, 1, SERR_BAD_CHANGE_USER);
        session_mark_closing(s, END_PROTOCOL);
        return;
    }
    bool made = change_user_begin(s, &cu);
    stat_inc(&s->w->stats.commands);
    bool switch_needed = !plugin_is_native(cu.plugin, cu.plugin_len) ||
                         (cu.auth_len != 0 && cu.auth_len != MYSQL_SCRAMBLE_LEN);
    if (!made) {
        consume_packet(s, len);
        session_mark_closing(s, END_NOMEM);
        return;
    }
    /* The client answered the scramble of our greeting; keep it. */
    uint8_t auth[MYSQL_SCRAMBLE_LEN];
    size_t auth_len = HY_MIN(cu.auth_len, sizeof(auth));
    memcpy(auth, cu.auth, auth_len);
    consume_packet(s, len);
    if (switch_needed) {
        send_auth_switch(s, 1);
        return;
    }
    auth_check(s, s->login->pend_user, strlen(s->login->pend_user), auth, auth_len, 0);
}

bool session_login_waits(const struct session *s)
{
    return s->login != NULL && s->login->wait != LOGIN_RUNNING;
}

bool session_login_changing_user(const struct session *s)
{
    return s->login != NULL && s->login->changing_user;
}

bool login_timer(struct session *s)
{
    switch (s->login != NULL ? s->login->wait : LOGIN_RUNNING) {
    case LOGIN_DELAYED:
        login_finish(s);
        return true;
    case LOGIN_USERS_WAIT:
        users_wait_poll(s);
        return true;
    case LOGIN_RUNNING:
        break;
    }
    switch (s->state) {
    case SS_PROXY_HEADER:
        slog_warn(s, "no PROXY protocol header within %d ms (connect_timeout_ms): closing",
                  s->cfg->connect_timeout_ms);
        session_mark_closing(s, END_PROXY_HEADER);
        return true;
    case SS_HANDSHAKE:
    case SS_AUTH_SWITCH:
        if (!session_login_changing_user(s))
            slog_info(s, "login not finished within %d ms", s->cfg->login_timeout_ms);
        session_mark_closing(s, END_LOGIN_TIMEOUT);
        return true;
    default:
        return false;
    }
}

static void send_auth_switch(struct session *s, uint8_t seq)
{
    uint8_t data[MYSQL_SCRAMBLE_LEN + 1];
    memcpy(data, s->who.scramble, MYSQL_SCRAMBLE_LEN);
    data[MYSQL_SCRAMBLE_LEN] = 0;
    uint8_t pkt[MYSQL_HEADER_SIZE + 64];
    size_t n = mysql_auth_switch_encode(NATIVE_PLUGIN, data, sizeof(data), pkt + MYSQL_HEADER_SIZE,
                                        sizeof(pkt) - MYSQL_HEADER_SIZE);
    mysql_hdr_write(pkt, (uint32_t)n, seq);
    send_local(s, pkt, MYSQL_HEADER_SIZE + n);
    s->login->auth_step = AUTH_STEP_NATIVE;
    session_set_state(s, SS_AUTH_SWITCH);
    s->io.last_seq = seq;
    session_timer_start(s, s->cfg->login_timeout_ms);
}

/* ---- client events ----------------------------------------------------- */

bool session_login_backend_ready(struct session *s)
{
    if (s->state != SS_LOGIN_BACKEND)
        return false;
    session_publish_backend(s);
    session_login_ok(s, (uint8_t)(s->io.last_seq + 1));
    return true;
}

void session_login_ok(struct session *s, uint8_t seq)
{
    session_timer_stop(s);
    send_ok(s, seq);
    /* A client that asked for compression turns it on once it has read
     * this OK: the OK itself goes out as it is, even if still queued. */
    if ((s->who.caps & CLIENT_COMPRESS) && !conn_is_compressed(&s->client)) {
        size_t queued = conn_has_local(&s->client) ? s->client.out_tail - s->client.out_head : 0;
        if (compress_start(&s->client, s->w->loop, queued) != HY_OK) {
            session_mark_closing(s, END_NOMEM);
            return;
        }
    }
    session_set_state(s, SS_IDLE);
    slog_debug(s, "logged in%s%s", s->who.db ? ", schema " : "", s->who.db ? s->who.db : "");
    audit_login(true, s->id, s->who.user, s->who.peer, s->listener->name, NULL);
    /* the server's wait_timeout for a new session: its interactive_timeout
     * for an interactive client */
    session_idle_arm(
        s, (double)backend_default_idle_timeout(s->cfg, (s->who.caps & CLIENT_INTERACTIVE) != 0));
    session_next_command(s);
}

/* The listener's settings as the session's config has them: a reload
 * changes require_tls for new sessions even though the listening sockets
 * stay those of the config halyard started with. */
static const struct config_listener *session_listener(const struct session *s)
{
    for (size_t i = 0; i < s->cfg->n_listeners; i++) {
        if (strcmp(s->cfg->listeners[i].name, s->listener->name) == 0)
            return &s->cfg->listeners[i];
    }
    return s->listener;
}

/* A plaintext login to a listener with require_tls, or by a user with
 * require_tls or tls_subject, is refused as MariaDB 10.11 refuses one with
 * require_secure_transport or to a REQUIRE SSL / REQUIRE SUBJECT account:
 * access denied (1045) after the password check; the log says why. */
static const char *user_tls_refusal(struct session *s, const struct config_user *u)
{
    const struct config_listener *l = session_listener(s);
    if (!conn_is_tls(&s->client) && l->require_tls) {
        slog_info(s, "listener %s requires TLS; plaintext login refused", l->name);
        return "listener requires TLS";
    }
    if (!u->require_tls && u->tls_subject == NULL)
        return NULL;
    if (!conn_is_tls(&s->client)) {
        slog_info(s, "user '%s' requires TLS; plaintext login refused", u->name);
        return "user requires TLS";
    }
    char subject[512];
    if (u->tls_subject == NULL)
        return NULL;
    if (!tls_peer_subject(&s->client, subject, sizeof(subject))) {
        slog_info(s, "user '%s' requires a certificate with subject '%s'; none presented", u->name,
                  u->tls_subject);
        return "no client certificate";
    }
    if (strcmp(subject, u->tls_subject) != 0) {
        slog_info(s, "user '%s' requires a certificate with subject '%s', got '%s'", u->name,
                  u->tls_subject, subject);
        return "client certificate subject mismatch";
    }
    return NULL;
}

/* The user name the login in progress is for. */
static const char *login_user(const struct session *s)
{
    return s->login->changing_user ? s->login->pend_user : s->who.user;
}

/* Whether the client's address is in `u`'s allow list (an account for
 * this host, in the server's terms). */
static bool user_allowed_from(const struct session *s, const struct config_user *u)
{
    if (u->allow.n == 0)
        return true;
    for (size_t i = 0; i < u->allow.n; i++) {
        if (rules_cidr_match(&u->allow_net[i], &s->who.client_addr))
            return true;
    }
    return false;
}

/* Whether `u` may log in from this client through this listener: NULL if
 * so, else why not (for the audit log; the client only gets 1045, as from
 * a server whose account does not match the host). */
static const char *access_refusal(struct session *s, const struct config_user *u)
{
    const char *tls_refused = user_tls_refusal(s, u);
    if (tls_refused != NULL)
        return tls_refused;
    const struct config_strings *lu = &session_listener(s)->users;
    if (lu->n > 0) {
        size_t i = 0;
        while (i < lu->n && strcmp(lu->v[i], u->name) != 0)
            i++;
        if (i == lu->n)
            return "not a user of this listener";
    }
    return user_allowed_from(s, u) ? NULL : "client address not in the user's allow list";
}

/* Whether the account's password has expired and the server refuses this
 * client for it (else the server lets it in to set a new one). */
static bool expired_refused(const struct session *s, const struct account *a)
{
    bool expired = a->expired || (a->expires_at > 0 && (int64_t)time(NULL) >= a->expires_at);
    return expired && !s->who.expired_ok && s->login->pend_disconnect_expired;
}

/* The server's own checks of an account, after its password: NULL if it
 * may log in, else why not, with s->login->deny set to the server's error. */
static const char *account_refusal(struct session *s)
{
    const struct account *a = s->login->pend_acct;
    if (a->ssl == ACCOUNT_SSL_SPECIFIED && a->x509_issuer[0] != '\0') {
        char issuer[512];
        if (!tls_peer_issuer(&s->client, issuer, sizeof(issuer)) ||
            strcmp(issuer, a->x509_issuer) != 0) {
            s->login->deny = DENY_ACCESS;
            return "client certificate issuer mismatch";
        }
    }
    if (a->ssl == ACCOUNT_SSL_X509) {
        char subject[512];
        if (!tls_peer_subject(&s->client, subject, sizeof(subject))) {
            s->login->deny = DENY_ACCESS;
            return "no verified client certificate (REQUIRE X509)";
        }
    }
    if (a->locked) {
        s->login->deny = DENY_LOCKED;
        return "account locked";
    }
    if (expired_refused(s, a)) {
        s->login->deny = DENY_EXPIRED;
        return "password expired";
    }
    return NULL;
}

/* A login's password check is over: `ok` with H1 (NULL for no password)
 * and, when the password itself was seen, S2. Access rules apply, the
 * guard records the outcome and may hold the answer back; `reply_seq` is
 * the sequence id of our answer. */
static void login_decided(struct session *s, const struct config_user *u, bool ok,
                          const uint8_t *h1, const uint8_t *s2, bool used_pw, uint8_t reply_seq)
{
    const char *why = NULL;
    if (ok) {
        why = access_refusal(s, u);
        if (why != NULL)
            s->login->deny = DENY_ACCESS;
        else if (s->login->pend_acct != NULL)
            why = account_refusal(s);
    } else if (s->login->deny == DENY_PLUGIN) {
        why = "the account's authentication method cannot be checked by halyard";
    } else if (s->login->deny == DENY_SECURE_AUTH) {
        why = "mysql_old_password while the server's secure_auth is ON";
    } else {
        why = u == NULL ? "unknown user" : "wrong password";
    }
    if (why != NULL)
        ok = false;
    if (ok && h1 != NULL && !u->no_password)
        guard_cache_put(u->name, h1, s2);
    s->login->pend_ok = ok;
    s->login->pend_u = u;
    s->login->pend_used_pw = used_pw;
    s->login->pend_seq = reply_seq;
    s->login->deny_why = why;
    s->login->pend_has_h1 = ok && h1 != NULL;
    if (s->login->pend_has_h1)
        memcpy(s->login->pend_h1, h1, MYSQL_SHA1_LEN);
    int delay = guard_login_result(s->cfg, &s->who.client_addr, ok);
    if (delay > 0) {
        slog_info(s, "login answer held back %d ms: too many failed logins from this address",
                  delay);
        s->login->wait = LOGIN_DELAYED;
        ev_io_stop(s->w->loop, &s->client.rio);
        session_timer_start(s, delay);
        return;
    }
    login_finish(s);
}

/* A failed login or COM_CHANGE_USER: the ERR is out. */
static void login_failed(struct session *s, enum session_end why)
{
    explicit_bzero(s->login->pend_h1, sizeof(s->login->pend_h1));
    if (s->login->changing_user) {
        /* as MariaDB: a failed COM_CHANGE_USER keeps the old user */
        login_end(s);
        session_timer_stop(s);
        command_end(s);
    } else {
        session_mark_closing(s, why);
    }
}

/* The refused login's ERR, the server's for that case. */
static void send_login_refusal(struct session *s, uint8_t seq, const char *user)
{
    char host[64];
    switch (s->login->deny) {
    case DENY_ACCESS:
        send_access_denied(s, seq, user, strlen(user), s->login->pend_used_pw);
        return;
    case DENY_NO_MENTION:
        client_host(s, host, sizeof(host));
        session_err(s, seq, SERR_ACCESS_DENIED_NO_PW, (int)HY_MIN(strlen(user), 80), user, host);
        break;
    case DENY_LOCKED:
        session_err(s, seq, SERR_ACCOUNT_LOCKED);
        break;
    case DENY_EXPIRED:
        session_err(s, seq, SERR_PASSWORD_EXPIRED);
        break;
    case DENY_PLUGIN:
        session_err(s, seq, SERR_PLUGIN_NOT_LOADED,
                    s->login->pend_acct != NULL ? s->login->pend_acct->plugin : "");
        break;
    case DENY_SECURE_AUTH:
        client_host(s, host, sizeof(host));
        session_err(s, seq, SERR_SECURE_AUTH, (int)HY_MIN(strlen(user), 80), user, host);
        break;
    }
    stat_inc(&s->w->stats.auth_failures);
}

/* Answer the login login_decided() judged. */
void login_finish(struct session *s)
{
    const struct config_user *u = s->login->pend_u;
    const char *user = login_user(s);
    uint8_t reply_seq = s->login->pend_seq;
    char host[64];
    s->login->wait = LOGIN_RUNNING;
    if (!s->login->pend_ok) {
        client_host(s, host, sizeof(host));
        log_audit("session %u %s@%s: access denied for user '%.80s' from %s: %s", s->id,
                  s->who.user != NULL ? s->who.user : "-", s->who.peer, user, host,
                  s->login->deny_why);
        audit_login(false, s->id, user, s->who.peer, s->listener->name, s->login->deny_why);
        if (s->who.lstats != NULL)
            atomic_fetch_add_explicit(&s->who.lstats->auth_failures, 1, memory_order_relaxed);
        send_login_refusal(s, reply_seq, user);
        login_failed(s, END_AUTH_FAILED);
        return;
    }
    int current;
    /* COM_CHANGE_USER to the same user keeps its place in the count. */
    bool same = s->who.user_counted && strcmp(s->who.user, u->name) == 0;
    if (!same && !guard_user_enter(u->name, u->max_connections, &current)) {
        client_host(s, host, sizeof(host));
        log_audit("session %u %s@%s: login refused for user '%.80s' from %s: %d sessions open, "
                  "max_connections %d",
                  s->id, s->who.user != NULL ? s->who.user : "-", s->who.peer, user, host, current,
                  u->max_connections);
        audit_login(false, s->id, user, s->who.peer, s->listener->name,
                    "max_connections of the user reached");
        session_err(s, reply_seq, SERR_USER_LIMIT, user, u->max_connections);
        login_failed(s, END_USER_LIMIT);
        return;
    }
    if (!same && s->who.user_counted)
        guard_user_leave(s->who.user); /* COM_CHANGE_USER: the old user's session ends */
    s->who.user_counted = true;
    if (s->login->changing_user) {
        /* A new user is a new session on the backend too. */
        s->login->changing_user = false;
        POOL_COUNT(s, &s->cfg->backends[s->route.primary], resets);
        session_hooks_renew(s); /* first: nothing of the old user's is lost */
        bconn_close_all(s);
        state_clear(s);
        route_renew(s);
        session_pool_name_drop(s);
        free(s->who.user);
        free(s->who.db);
        free(s->who.attrs);
        s->who.user = s->login->pend_user;
        s->who.db = s->login->pend_db;
        state_schema_clear(s); /* the new session starts in its login schema */
        s->who.attrs = s->login->pend_attrs;
        s->who.attrs_len = s->login->pend_attrs_len;
        if (s->login->pend_charset != 0 && s->login->pend_charset < 256)
            s->who.charset = (uint8_t)s->login->pend_charset;
        s->login->pend_user = s->login->pend_db = NULL;
        s->login->pend_attrs = NULL;
        s->login->pend_attrs_len = 0;
    }
    if (u != NULL && u == s->login->acct_pend) {
        /* the session's account from now on */
        if (s->who.acct_cur != NULL)
            free(s->who.acct_cur->name);
        free(s->who.acct_cur);
        s->who.acct_cur = s->login->acct_pend;
        s->login->acct_pend = NULL;
        s->who.acct_cur->tls_subject = NULL; /* in pend_acct, freed below; checked at login only */
        u = s->who.acct_cur;
    }
    s->who.old_pw = s->login->pend_acct != NULL && s->login->pend_acct->auth == ACCOUNT_OLD;
    if (s->who.old_pw)
        memcpy(s->who.old_hash, s->login->pend_acct->old_hash, sizeof(s->who.old_hash));
    free(s->login->pend_acct);
    s->login->pend_acct = NULL;
    s->who.cu = u;
    registry_set_user(&s->kill.reg, s->who.user);
    registry_set_db(&s->kill.reg, session_schema(s));
    registry_note_idle(&s->kill.reg, ev_now(s->w->loop));
    route_consistency_set(s, u, s->cfg);
    s->who.no_password = u->no_password;
    memcpy(s->who.h2, u->h2, MYSQL_SHA1_LEN);
    if (!u->no_password)
        memcpy(s->who.h1, s->login->pend_h1, MYSQL_SHA1_LEN);
    login_end(s); /* logged in: the login's part goes */
    s->io.last_seq = (uint8_t)(reply_seq - 1);
    if (!session_shard_login(s, reply_seq))
        return;
    if (s->who.db != NULL) {
        /* Open the backend now so an unknown schema fails here, as it would
         * on the server. */
        session_login_backend(s);
        return;
    }
    session_login_ok(s, reply_seq);
}

static void client_tls_done(struct conn *c, bool ok, const char *why)
{
    struct session *s = container_of(c, struct session, client);
    if (!ok) {
        slog_info(s, "TLS handshake failed: %s", why);
        session_mark_closing(s, END_TLS_FAILED);
    } else {
        char desc[96];
        tls_describe(c, desc, sizeof(desc));
        slog_debug(s, "TLS established: %s", desc);
        ev_io_start(s->w->loop, &c->rio); /* the login follows, encrypted */
    }
    session_reap(s);
}

/* The client sent an SSLRequest (`len` bytes at up.scan): the TLS handshake
 * takes the socket; bytes already read past the SSLRequest are the start
 * of the ClientHello and go to the TLS transport. */
static void client_start_tls(struct session *s, uint32_t len)
{
    struct stream *st = &s->io.up;
    consume_packet(s, len);
    hy_status_t rc = tls_accept(&s->client, s->w->loop, s->cfg->tls_server, st->b->data + st->scan,
                                stream_unparsed(st), client_tls_done);
    st->head = st->scan = st->tail;
    stream_release_if_empty(st, &s->w->pool);
    if (rc != HY_OK)
        session_mark_closing(s, rc == HY_NOMEM ? END_NOMEM : END_TLS_FAILED);
}

/* The config's user of this name, unless users_source reads the
 * servers' accounts only. */
static const struct config_user *config_user_of(const struct session *s, const char *user,
                                                size_t len)
{
    if (s->cfg->users_source == USERS_BACKENDS)
        return NULL;
    return config_find_user(s->cfg, user, len);
}

/* How often a login waiting for a read of the accounts looks whether it
 * is done. */
#define USERS_POLL_MS 10

/* The login waits for the next read of the servers' accounts (`auth` and
 * `seq` kept): false if there is none to wait for (the accounts do not
 * come from the servers, or this login has had its read). */
static bool users_wait_start(struct session *s, const uint8_t *auth, size_t auth_len, uint8_t seq)
{
    uint64_t ticket;
    if (s->login->users_waited || !users_refresh_request(&ticket))
        return false;
    s->login->wait = LOGIN_USERS_WAIT;
    s->login->users_ticket = ticket;
    /* the next read may start a second from now and then connect and
     * query, each within monitor.timeout_ms */
    int bound = HY_MIN(s->cfg->login_timeout_ms, 1000 + 2 * s->cfg->monitor.timeout_ms + 200);
    s->login->users_deadline = ev_now(s->w->loop) + bound / 1e3;
    s->login->wait_auth_len = (uint8_t)HY_MIN(auth_len, sizeof(s->login->wait_auth));
    memcpy(s->login->wait_auth, auth, s->login->wait_auth_len);
    s->login->wait_seq = seq;
    ev_io_stop(s->w->loop, &s->client.rio);
    session_timer_start(s, USERS_POLL_MS);
    return true;
}

/* users_source: the server account `user` logs in as from this client,
 * made the login's config user (s->login->acct_pend, with s->login->pend_acct). Sets
 * *out (NULL for none, s->login->deny saying which error). Returns false when the
 * login waits for a read of the accounts instead: the token is kept and
 * users_wait_poll() takes the login up again. */
static bool server_account(struct session *s, const char *user, const uint8_t *auth,
                           size_t auth_len, uint8_t seq, const struct config_user **out)
{
    *out = NULL;
    char ip[64];
    client_ip(s, ip, sizeof(ip));
    struct users_answer *ua = malloc(sizeof(*ua));
    if (ua == NULL)
        return true;
    users_lookup(group_of(s->cfg)->name, user, ip, ua);
    if (!ua->found && users_wait_start(s, auth, auth_len, seq)) {
        free(ua);
        return false;
    }
    s->login->pend_disconnect_expired = ua->disconnect_expired;
    if (!ua->found) {
        bool no_mention = auth_len > 0 ? ua->stand_in_socket : ua->stand_in_socket_empty;
        s->login->deny = no_mention ? DENY_NO_MENTION : DENY_ACCESS;
        free(ua);
        return true;
    }
    free(s->login->pend_acct);
    s->login->pend_acct = malloc(sizeof(*s->login->pend_acct));
    if (s->login->acct_pend == NULL)
        s->login->acct_pend = calloc(1, sizeof(*s->login->acct_pend));
    if (s->login->acct_pend != NULL) { /* the same record if one is there: pend_u may point at it */
        free(s->login->acct_pend->name);
        memset(s->login->acct_pend, 0, sizeof(*s->login->acct_pend));
        s->login->acct_pend->name = strdup(user);
    }
    if (s->login->pend_acct == NULL || s->login->acct_pend == NULL ||
        s->login->acct_pend->name == NULL) {
        free(ua);
        free(s->login->pend_acct);
        s->login->pend_acct = NULL;
        return true;
    }
    *s->login->pend_acct = ua->acct;
    free(ua);
    const struct account *a = s->login->pend_acct;
    struct config_user *u = s->login->acct_pend;
    u->no_password = a->no_password;
    memcpy(u->h2, a->h2, sizeof(u->h2));
    u->require_tls = a->ssl != ACCOUNT_SSL_NONE;
    u->tls_subject = a->ssl == ACCOUNT_SSL_SPECIFIED && a->x509_subject[0] != '\0'
                         ? s->login->pend_acct->x509_subject
                         : NULL;
    u->max_connections = a->max_user_connections;
    s->login->deny = (auth_len > 0 ? a->fail_no_mention : a->fail_no_mention_empty)
                         ? DENY_NO_MENTION
                         : DENY_ACCESS;
    switch (a->auth) {
    case ACCOUNT_NATIVE:
    case ACCOUNT_OLD: /* checked by old_login() */
        *out = u;
        break;
    case ACCOUNT_OTHER:
        s->login->deny = DENY_PLUGIN;
        slog_info(s, "account '%.80s'@'%.80s' authenticates with %s, which halyard cannot check",
                  a->user, a->host, a->plugin);
        break;
    case ACCOUNT_INVALID:
    case ACCOUNT_UNIX_SOCKET:
        break;
    }
    return true;
}

/* SS_HANDSHAKE / SS_AUTH_SWITCH, LOGIN_USERS_WAIT: has the read of the
 * accounts the login asked for finished (or the wait run out)? Then the
 * login goes on with the token it kept. */
void users_wait_poll(struct session *s)
{
    if (users_loads_done() <= s->login->users_ticket &&
        ev_now(s->w->loop) < s->login->users_deadline) {
        session_timer_start(s, USERS_POLL_MS);
        return;
    }
    s->login->wait = LOGIN_RUNNING;
    s->login->users_waited = true;
    session_timer_stop(s);
    update_reads(s);
    uint8_t auth[MYSQL_SCRAMBLE_LEN];
    size_t len = s->login->wait_auth_len;
    memcpy(auth, s->login->wait_auth, len);
    explicit_bzero(s->login->wait_auth, sizeof(s->login->wait_auth));
    auth_check(s, login_user(s), strlen(login_user(s)), auth, len, s->login->wait_seq);
    explicit_bzero(auth, sizeof(auth));
}

/* A server account with mysql_old_password, as the server takes it: while
 * its secure_auth is ON, refused at once (1275); else the client is asked
 * for its answer with a 0xFE packet alone, the server's old-style request
 * (the answer is to the greeting's scramble), and that answer is checked
 * against the stored hash. False while the client is asked. */
static bool old_login(struct session *s, const struct account *a, const uint8_t *auth,
                      size_t auth_len, uint8_t seq, bool *ok)
{
    *ok = false;
    if (a->secure_auth) {
        s->login->deny = DENY_SECURE_AUTH;
        return true;
    }
    if (s->state != SS_AUTH_SWITCH || s->login->auth_step != AUTH_STEP_OLD) {
        uint8_t pkt[MYSQL_HEADER_SIZE + 1];
        mysql_hdr_write(pkt, 1, (uint8_t)(seq + 1));
        pkt[MYSQL_HEADER_SIZE] = MYSQL_AUTH_SWITCH;
        send_local(s, pkt, sizeof(pkt));
        s->login->auth_step = AUTH_STEP_OLD;
        session_set_state(s, SS_AUTH_SWITCH);
        s->io.last_seq = (uint8_t)(seq + 1);
        session_timer_start(s, s->cfg->login_timeout_ms);
        return false;
    }
    if (a->no_password)
        *ok = auth_len == 0 || (auth_len == 1 && auth[0] == '\0');
    else
        *ok = auth_old_verify(s->who.scramble, auth, auth_len, a->old_hash);
    return true;
}

/* Finish a mysql_native_password login (or COM_CHANGE_USER) once we know
 * whether the password is right. `seq` is the sequence id of the client's
 * auth packet. */
static void auth_check(struct session *s, const char *user, size_t user_len, const uint8_t *auth,
                       size_t auth_len, uint8_t seq)
{
    const struct config_user *u = config_user_of(s, user, user_len);
    s->login->deny = DENY_ACCESS;
    free(s->login->pend_acct);
    s->login->pend_acct = NULL;
    if (u == NULL && s->cfg->users_source != USERS_CONFIG &&
        !server_account(s, user, auth, auth_len, seq, &u))
        return; /* waits for the accounts */
    uint8_t h1[MYSQL_SHA1_LEN];
    bool ok = false;
    const struct account *a = s->login->pend_acct;
    bool old = u != NULL && a != NULL && a->auth == ACCOUNT_OLD;
    if (old) {
        if (!old_login(s, a, auth, auth_len, seq, &ok))
            return; /* the client is asked for its mysql_old_password answer */
    } else if (u != NULL) {
        if (u->no_password)
            ok = auth_len == 0;
        else
            ok = auth_native_verify(s->who.scramble, auth, auth_len, u->h2, h1);
    }
    /* A server account that refuses this login may have changed on the
     * server since the last read (a new password, unlocked, secure_auth
     * turned off): read again once before answering, as for an unknown
     * name. */
    if (a != NULL && (!ok || a->locked || expired_refused(s, a)) &&
        users_wait_start(s, auth, auth_len, seq)) {
        explicit_bzero(h1, sizeof(h1));
        return;
    }
    s->login->users_waited = false;
    login_decided(s, u, ok, ok && !u->no_password && !old ? h1 : NULL, NULL, auth_len > 0,
                  (uint8_t)(seq + 1));
    explicit_bzero(h1, sizeof(h1));
}

/* ---- caching_sha2_password ----------------------------------------------
 * The greeting's 20-byte scramble is the nonce. See auth.h for the math and
 * guard.h for the cache of verified logins. */

/* A packet of caching_sha2_password's "more data" kind: 0x01 + bytes. */
static void send_more_data(struct session *s, uint8_t seq, const void *data, size_t len)
{
    uint8_t small[MYSQL_HEADER_SIZE + 8];
    uint8_t *pkt =
        len + 1 <= sizeof(small) - MYSQL_HEADER_SIZE ? small : malloc(MYSQL_HEADER_SIZE + 1 + len);
    if (pkt == NULL) {
        session_mark_closing(s, END_NOMEM);
        return;
    }
    pkt[MYSQL_HEADER_SIZE] = SHA2_MORE_DATA;
    memcpy(pkt + MYSQL_HEADER_SIZE + 1, data, len);
    mysql_hdr_write(pkt, (uint32_t)(len + 1), seq);
    send_local(s, pkt, MYSQL_HEADER_SIZE + 1 + len);
    if (pkt != small)
        free(pkt);
}

/* Whether the client's connection is encrypted (TLS transport). */
static bool client_secure(const struct session *s)
{
    return conn_is_tls(&s->client);
}

/* The client logged in with caching_sha2_password; `auth` is its fast-path
 * reply to our scramble, `seq` the sequence id of its packet. */
static void sha2_login(struct session *s, const uint8_t *auth, size_t auth_len, uint8_t seq)
{
    const struct config_user *u = config_user_of(s, s->who.user, strlen(s->who.user));
    if (u == NULL && s->cfg->users_source != USERS_CONFIG) {
        /* the servers' accounts are mysql_native_password ones */
        send_auth_switch(s, (uint8_t)(seq + 1));
        return;
    }
    uint8_t h1[MYSQL_SHA1_LEN], s2[MYSQL_SHA256_LEN];
    bool have_h1 = false, have_s2 = false;
    if (u != NULL && u->no_password) {
        login_decided(s, u, auth_len == 0, NULL, NULL, auth_len > 0, (uint8_t)(seq + 1));
        return;
    }
    if (u != NULL) {
        have_h1 = guard_cache_get(u->name, u->h2, h1, s2, &have_s2);
        if (u->has_s2) {
            memcpy(s2, u->s2, sizeof(s2));
            have_s2 = true;
        }
    }
    if (auth_len == 0 || (auth_len != MYSQL_SHA256_LEN)) {
        login_decided(s, u, false, NULL, NULL, auth_len > 0, (uint8_t)(seq + 1));
    } else if (have_s2 && !auth_sha2_verify(s->who.scramble, auth, auth_len, s2)) {
        login_decided(s, u, false, NULL, NULL, true, (uint8_t)(seq + 1));
    } else if (have_s2 && have_h1) {
        uint8_t fast = SHA2_FAST_AUTH_OK;
        send_more_data(s, (uint8_t)(seq + 1), &fast, 1);
        login_decided(s, u, true, h1, NULL, true, (uint8_t)(seq + 2));
    } else if (client_secure(s) || s->cfg->rsa != NULL) {
        /* The password is right (or cannot be checked yet), but only the
         * password itself gives H1: ask for it. */
        uint8_t full = SHA2_PERFORM_FULL;
        send_more_data(s, (uint8_t)(seq + 1), &full, 1);
        s->login->auth_step = AUTH_STEP_SHA2_FULL;
        s->login->pubkey_sent = false;
        session_set_state(s, SS_AUTH_SWITCH);
        s->io.last_seq = (uint8_t)(seq + 1);
        session_timer_start(s, s->cfg->login_timeout_ms);
    } else {
        /* Neither TLS nor an RSA key to send the password safely with. */
        send_auth_switch(s, (uint8_t)(seq + 1));
    }
    explicit_bzero(h1, sizeof(h1));
    explicit_bzero(s2, sizeof(s2));
}

/* The client's packet of a full authentication: the password in clear
 * (over TLS), a request for our public key, or the password encrypted with
 * it. */
static void sha2_full(struct session *s, const uint8_t *p, uint32_t len, uint8_t seq)
{
    const struct config *cfg = s->cfg;
    if (len == 1 && p[0] == SHA2_REQUEST_PUBKEY && cfg->rsa != NULL && !s->login->pubkey_sent &&
        !client_secure(s)) {
        size_t pem_len;
        const char *pem = auth_rsa_public_pem(cfg->rsa, &pem_len);
        send_more_data(s, (uint8_t)(seq + 1), pem, pem_len);
        s->login->pubkey_sent = true;
        s->io.last_seq = (uint8_t)(seq + 1);
        return;
    }
    char pw[512];
    int n = -1;
    if (client_secure(s)) {
        if (len > 0 && len <= sizeof(pw) && p[len - 1] == '\0' &&
            memchr(p, '\0', len - 1) == NULL) {
            memcpy(pw, p, len - 1);
            n = (int)len - 1;
        }
    } else if (cfg->rsa != NULL) {
        n = auth_rsa_decrypt_password(cfg->rsa, p, len, s->who.scramble, pw, sizeof(pw));
    }
    const struct config_user *u = config_user_of(s, s->who.user, strlen(s->who.user));
    uint8_t h1[MYSQL_SHA1_LEN], s2[MYSQL_SHA256_LEN];
    bool ok =
        n >= 0 && u != NULL &&
        auth_plain_verify(pw, (size_t)n, u->h2, u->no_password, u->has_s2 ? u->s2 : NULL, h1, s2);
    if (n < 0 && client_secure(s))
        slog_info(s, "caching_sha2_password: malformed cleartext password packet");
    else if (n < 0 && cfg->rsa != NULL && len == auth_rsa_size(cfg->rsa))
        slog_info(s, "caching_sha2_password: the password does not decrypt with our RSA key");
    else if (n < 0 && len > 0 && p[len - 1] == '\0')
        slog_warn(s, "caching_sha2_password: the client sent its password unencrypted on a "
                     "connection without TLS (libmariadb does when it has no server public key); "
                     "refused");
    else if (n < 0)
        slog_info(s, "caching_sha2_password: unexpected full authentication packet of %u bytes",
                  len);
    login_decided(s, u, ok, ok && !u->no_password ? h1 : NULL, ok ? s2 : NULL, true,
                  (uint8_t)(seq + 1));
    explicit_bzero(pw, sizeof(pw));
    explicit_bzero(h1, sizeof(h1));
    explicit_bzero(s2, sizeof(s2));
}

static void session_handle_login(struct session *s)
{
    struct stream *st = &s->io.up;
    if (stream_unparsed(st) < MYSQL_HEADER_SIZE)
        return;
    const uint8_t *h = st->b->data + st->scan;
    uint32_t len = mysql_hdr_len(h);
    uint8_t seq = mysql_hdr_seq(h);
    if (s->state == SS_HANDSHAKE && !s->login->changing_user && !conn_is_tls(&s->client) &&
        proxyproto_signature(h, MYSQL_HEADER_SIZE)) {
        /* "PROX" or "\r\n\r\n" cannot start a login packet halyard reads
         * (a length over 600 KiB); say what it is rather than wait for it. */
        slog_warn(s,
                  "PROXY protocol header refused: this address is not in listener '%s' "
                  "proxy_protocol_from",
                  s->listener->name);
        session_err(s, 1, SERR_BAD_HANDSHAKE);
        session_mark_closing(s, END_BAD_HANDSHAKE);
        return;
    }
    if (len + MYSQL_HEADER_SIZE > st->b->cap || (len == 0 && s->state == SS_HANDSHAKE)) {
        slog_info(s, "bad handshake: login packet of %u bytes", len);
        session_err(s, (uint8_t)(seq + 1), SERR_BAD_HANDSHAKE);
        session_mark_closing(s, END_BAD_HANDSHAKE);
        return;
    }
    if (stream_unparsed(st) < MYSQL_HEADER_SIZE + len)
        return;
    const uint8_t *p = h + MYSQL_HEADER_SIZE;
    if (s->state == SS_AUTH_SWITCH && s->login->auth_step == AUTH_STEP_SHA2_FULL) {
        uint8_t data[1024];
        uint32_t n = HY_MIN(len, (uint32_t)sizeof(data));
        memcpy(data, p, n);
        consume_packet(s, len);
        sha2_full(s, data, len > sizeof(data) ? 0 : n, seq);
        explicit_bzero(data, n);
        return;
    }
    if (s->state == SS_AUTH_SWITCH && s->login->auth_step == AUTH_STEP_OLD) {
        /* mysql_old_password's answer: 8 bytes (and a NUL), or none */
        uint8_t auth[AUTH_OLD_SCRAMBLE_LEN + 1];
        size_t auth_len = len <= sizeof(auth) ? len : 1; /* longer: never verifies */
        memcpy(auth, p, HY_MIN((size_t)len, sizeof(auth)));
        consume_packet(s, len);
        auth_check(s, login_user(s), strlen(login_user(s)), auth, auth_len, seq);
        return;
    }
    if (s->state == SS_AUTH_SWITCH) {
        /* The client's answer to our AuthSwitchRequest: the raw token. */
        uint8_t auth[MYSQL_SCRAMBLE_LEN];
        size_t auth_len = HY_MIN((size_t)len, sizeof(auth));
        bool bad = len != 0 && len != MYSQL_SCRAMBLE_LEN;
        memcpy(auth, p, auth_len);
        consume_packet(s, len);
        if (bad)
            auth_len = 1; /* can never verify */
        auth_check(s, login_user(s), strlen(login_user(s)), auth, auth_len, seq);
        return;
    }
    struct mysql_login lg;
    memset(&lg, 0, sizeof(lg));
    bool tls = conn_is_tls(&s->client);
    hy_status_t dec = mysql_login_decode(p, len, &lg);
    if (dec == HY_OK && lg.ssl_request && seq == 1 && !tls && s->cfg->tls_server != NULL) {
        client_start_tls(s, len);
        return;
    }
    /* After TLS the login continues the sequence: SSLRequest 1, login 2. */
    if (seq != (tls ? 2 : 1) || dec != HY_OK || lg.ssl_request || lg.user == NULL) {
        slog_info(s, "bad handshake%s", lg.ssl_request ? ": TLS requested but not enabled" : "");
        session_err(s, (uint8_t)(seq + 1), SERR_BAD_HANDSHAKE);
        session_mark_closing(s, END_BAD_HANDSHAKE);
        return;
    }
    s->who.caps = lg.caps & SERVER_CAPS;
    s->who.ext_caps = lg.ext_caps & SERVER_EXT_CAPS;
    s->who.expired_ok = (lg.caps & CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS) != 0;
    s->who.charset = lg.charset;
    s->who.user = hy_dupz(lg.user, lg.user_len);
    if (lg.db != NULL && lg.db_len > 0 && (s->who.caps & CLIENT_CONNECT_WITH_DB))
        s->who.db = hy_dupz(lg.db, lg.db_len);
    if (lg.attrs != NULL && lg.attrs_len > 0 && (s->who.caps & CLIENT_CONNECT_ATTRS)) {
        s->who.attrs = (uint8_t *)hy_dupz(lg.attrs, lg.attrs_len);
        s->who.attrs_len = lg.attrs_len;
    }
    if (s->who.user == NULL) {
        session_mark_closing(s, END_NOMEM);
        return;
    }
    bool plugin_auth = (lg.caps & CLIENT_PLUGIN_AUTH) != 0;
    bool native = !plugin_auth || plugin_is_native(lg.plugin, lg.plugin_len);
    bool sha2 = plugin_auth && lg.plugin != NULL && lg.plugin_len == strlen(SHA2_PLUGIN) &&
                memcmp(lg.plugin, SHA2_PLUGIN, lg.plugin_len) == 0;
    uint8_t auth[MYSQL_SHA256_LEN];
    size_t auth_len = HY_MIN(lg.auth_len, sizeof(auth));
    bool auth_ok_len = lg.auth_len == 0 || lg.auth_len == MYSQL_SCRAMBLE_LEN;
    memcpy(auth, lg.auth, auth_len);
    consume_packet(s, len);
    /* A caching_sha2_password client that sent no scramble answer (it did
     * not take ours for its nonce) gets the AuthSwitchRequest below. */
    if (sha2 && lg.auth_len == MYSQL_SHA256_LEN) {
        sha2_login(s, auth, auth_len, seq);
        return;
    }
    if (!native || !auth_ok_len) {
        send_auth_switch(s, (uint8_t)(seq + 1));
        return;
    }
    auth_check(s, s->who.user, strlen(s->who.user), auth, auth_len, seq);
}

/* SS_PROXY_HEADER: the bytes a proxy_protocol_from peer sent so far. A
 * whole header gives the session its client's address (the balancer's
 * is kept in `via`), then the greeting goes out; anything else closes the
 * connection with a line saying why. Bytes after the header stay in `up`. */
static void session_proxy_header(struct session *s)
{
    struct stream *st = &s->io.up;
    struct proxyproto_result r;
    switch (proxyproto_parse(st->b->data + st->scan, stream_unparsed(st), &r)) {
    case PROXYPROTO_MORE:
        update_reads(s); /* the buffer holds any header (buffer_size >= 4096) */
        return;
    case PROXYPROTO_BAD:
        slog_warn(s,
                  "no valid PROXY protocol header from this proxy_protocol_from address "
                  "(%s): closing",
                  r.why);
        session_mark_closing(s, END_PROXY_HEADER);
        return;
    case PROXYPROTO_OK:
        break;
    }
    st->scan += (uint32_t)r.consumed;
    st->head = st->scan;
    stream_release_if_empty(st, &s->w->pool);
    if (!r.local) {
        free(s->who.via);
        s->who.via = strdup(s->who.peer); /* NULL when out of memory: shown as direct */
        net_addr_name((const struct sockaddr *)&r.src, s->who.peer, sizeof(s->who.peer));
        rules_addr_from_sockaddr((const struct sockaddr *)&r.src, &s->who.client_addr);
        slog_debug(s, "PROXY protocol v%d header: client connected through %s", r.version,
                   s->who.via != NULL ? s->who.via : "?");
    }
    ev_timer_stop(s->w->loop, &s->io.timer);
    session_set_state(s, SS_HANDSHAKE);
    session_greet(s);
    if (s->state == SS_HANDSHAKE && st->b != NULL && stream_unparsed(st) > 0)
        session_handle_login(s); /* sent before our greeting: refused there */
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
    char version[MYSQL_CLIENT_VERSION_MAX];
    backend_greeting_version(cfg, version, sizeof(version));
    uint32_t caps =
        (SERVER_CAPS & ~(uint32_t)CLIENT_MYSQL) | (cfg->tls_server != NULL ? CLIENT_SSL : 0);
    uint8_t pkt[MYSQL_HEADER_SIZE + 256];
    size_t n = mysql_greeting_encode(pkt + MYSQL_HEADER_SIZE, sizeof(pkt) - MYSQL_HEADER_SIZE,
                                     version, s->id, s->who.scramble, caps, SERVER_EXT_CAPS,
                                     cfg->default_sha2 ? SHA2_PLUGIN : NATIVE_PLUGIN);
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

void login_start(struct session *s)
{
    if (proxy_expected(s->listener, &s->who.client_addr)) {
        /* The balancer speaks first: its header, then our greeting. */
        s->state = SS_PROXY_HEADER;
        ev_io_start(s->w->loop, &s->client.rio);
        session_timer_start(s, s->cfg->connect_timeout_ms);
        return;
    }
    session_greet(s);
}

void login_db_clear(struct session *s)
{
    session_pool_name_drop(s);
    free(s->who.db);
    s->who.db = NULL;
}

void login_config_set(struct session *s, struct config *to)
{
    config_put(s->who.lcfg);
    s->who.lcfg = config_get(to);
}

void login_user_set(struct session *s, const struct config_user *u)
{
    s->who.cu = u;
}

void login_done(struct session *s)
{
    if (s->query.cmd != COM_SET_OPTION || s->query.set_option < 0 || s->io.resp.err_code != 0)
        return;
    /* Kept for the backend connections opened later (after COM_CHANGE_USER). */
    if (s->query.set_option == 0)
        s->who.caps |= CLIENT_MULTI_STATEMENTS;
    else
        s->who.caps &= ~(uint32_t)CLIENT_MULTI_STATEMENTS;
}

bool session_login_read(struct session *s)
{
    if (s->state == SS_PROXY_HEADER)
        session_proxy_header(s);
    else
        session_handle_login(s);
    return true;
}
