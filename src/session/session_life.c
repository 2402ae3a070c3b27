/*
 * session_life.c: a session's life, a service of the session module
 * (session_services.h) that the cycle and every feature use: its state's
 * one changer and the names of its states and end reasons, its close
 * (marked here, freed by session_reap when the event's callback returns),
 * its command timer and its idle timer. It calls nothing of the cycle nor
 * of a feature.
 */
#include "halyard/core/log.h"
#include "halyard/pool/server.h"
#include "halyard/session/registry.h"
#include "halyard/session/session.h"
#include "halyard/session/worker.h"
#include "session_int.h"

/* ---- names ------------------------------------------------------------- */

const char *session_state_to_str(enum session_state st)
{
    static const char *const names[SS__COUNT] = {
        [SS_PROXY_HEADER] = "proxy_header",
        [SS_HANDSHAKE] = "handshake",
        [SS_AUTH_SWITCH] = "auth_switch",
        [SS_LOGIN_BACKEND] = "login_backend",
        [SS_IDLE] = "idle",
        [SS_WAIT_BACKEND] = "wait_backend",
        [SS_COMMAND] = "command",
        [SS_CLOSING] = "closing",
    };
    return st < SS__COUNT ? names[st] : "?";
}

const char *session_end_to_str(enum session_end why)
{
    switch (why) {
    case END_NONE:
        return "none";
    case END_CLIENT_QUIT:
        return "client quit";
    case END_CLIENT_CLOSED:
        return "client closed the connection";
    case END_CLIENT_ERROR:
        return "client socket error";
    case END_BAD_HANDSHAKE:
        return "bad handshake";
    case END_TLS_FAILED:
        return "TLS handshake failed";
    case END_AUTH_FAILED:
        return "authentication failed";
    case END_LOGIN_TIMEOUT:
        return "login timeout";
    case END_PROTOCOL:
        return "protocol error from client";
    case END_BACKEND_LOST:
        return "backend connection lost";
    case END_BACKEND_LOGIN:
        return "backend refused the login";
    case END_BACKEND_PROTOCOL:
        return "protocol error from backend";
    case END_KILLED:
        return "killed";
    case END_SHUTDOWN:
        return "shutdown";
    case END_TOO_MANY:
        return "too many connections";
    case END_USER_LIMIT:
        return "user's max_connections reached";
    case END_BLOCKED:
        return "address blocked after failed logins";
    case END_IDLE_TIMEOUT:
        return "idle timeout";
    case END_PACKET_TOO_LARGE:
        return "packet larger than max_packet_size";
    case END_GROUP_REMOVED:
        return "its group was removed by a reload";
    case END_PROXY_HEADER:
        return "no valid PROXY protocol header";
    case END_NOMEM:
        return "out of memory";
    }
    return "?";
}

/* ---- state ------------------------------------------------------------- */

/* The one place a session changes state; an impossible change is logged
 * and closes the session (END_PROTOCOL). Every transition, and where it
 * is made:
 *
 *   PROXY_HEADER  -> HANDSHAKE      the PROXY header read (session_login.c)
 *   HANDSHAKE     -> AUTH_SWITCH    the client must answer another plugin
 *                 -> LOGIN_BACKEND  the login opens its backend at once
 *                                   (a schema named: session_backend.c)
 *                 -> IDLE           logged in (session_login_ok)
 *   AUTH_SWITCH   -> LOGIN_BACKEND, IDLE   as from HANDSHAKE
 *   LOGIN_BACKEND -> IDLE           the login's backend answered
 *   IDLE          -> COMMAND        command_begin: a command goes out
 *                 -> WAIT_BACKEND   ensure_backend/ensure_connected: its
 *                                   backend first (connect, a wait, state)
 *                 -> AUTH_SWITCH, LOGIN_BACKEND   COM_CHANGE_USER
 *   WAIT_BACKEND  -> COMMAND        the backend is ready
 *                 -> IDLE           routed again, or answered here
 *   COMMAND       -> IDLE           the answer is complete: command_done,
 *                                   or a feature's own end
 *   any           -> CLOSING        session_mark_closing; session_reap frees
 */
void session_set_state(struct session *s, enum session_state to)
{
    static const uint16_t allowed[SS__COUNT] = {
        [SS_PROXY_HEADER] = 1u << SS_HANDSHAKE,
        [SS_HANDSHAKE] = 1u << SS_AUTH_SWITCH | 1u << SS_LOGIN_BACKEND | 1u << SS_IDLE,
        [SS_AUTH_SWITCH] = 1u << SS_LOGIN_BACKEND | 1u << SS_IDLE,
        [SS_LOGIN_BACKEND] = 1u << SS_IDLE,
        [SS_IDLE] = 1u << SS_WAIT_BACKEND | 1u << SS_COMMAND | 1u << SS_AUTH_SWITCH |
                    1u << SS_LOGIN_BACKEND,
        [SS_WAIT_BACKEND] = 1u << SS_COMMAND | 1u << SS_IDLE,
        [SS_COMMAND] = 1u << SS_IDLE,
        [SS_CLOSING] = 0,
    };
    if (s->state == to)
        return;
    if (to != SS_CLOSING && !(allowed[s->state] & (1u << to))) {
        hy_log_error("session %u: impossible state change %s -> %s", s->id,
                     session_state_to_str(s->state), session_state_to_str(to));
        s->end = END_PROTOCOL;
        to = SS_CLOSING;
    }
    s->state = to;
}

void session_mark_closing(struct session *s, enum session_end why)
{
    if (s->state == SS_CLOSING)
        return;
    s->end = why;
    session_set_state(s, SS_CLOSING);
}

void session_wait_note(struct session *s, enum hook_wait what, bool begin)
{
    uint8_t bit = (uint8_t)(1u << what);
    if (begin) {
        s->io.waits |= bit;
        if (what == HOOK_WAIT_LIMIT)
            s->io.hold_since = ev_now(s->w->loop);
    } else if (s->io.waits & bit) {
        s->io.waits &= (uint8_t)~bit;
        if (what == HOOK_WAIT_LIMIT)
            s->io.held = ev_now(s->w->loop) - s->io.hold_since;
    } else {
        return;
    }
    session_hooks_wait(s, what, begin);
}

/* ---- timers ------------------------------------------------------------ */

double session_idle_timeout(const struct session *s, bool *by_server)
{
    double own = s->cfg->client_idle_timeout_ms / 1e3, wait = s->io.wait_timeout;
    *by_server = wait > 0 && (own <= 0 || wait < own);
    return *by_server ? wait : own;
}

void session_idle_arm(struct session *s, double wait_timeout)
{
    bool by_server;
    s->io.wait_timeout = wait_timeout;
    double timeout = session_idle_timeout(s, &by_server);
    if (timeout <= 0)
        return;
    if (!ev_is_active(&s->io.idle))
        s->io.last_active = ev_now(s->w->loop);
    s->io.idle.repeat = timeout;
    ev_timer_again(s->w->loop, &s->io.idle);
}

void session_timer_start(struct session *s, int ms)
{
    ev_timer_stop(s->w->loop, &s->io.timer);
    ev_timer_set(&s->io.timer, ms / 1000.0, 0.);
    ev_timer_start(s->w->loop, &s->io.timer);
    s->io.timer_lazy = false;
}

void session_timer_stop(struct session *s)
{
    ev_timer_stop(s->w->loop, &s->io.timer);
    s->io.timer_lazy = false;
}

/* The KILL registry follows the backend the session's commands run on. */
void session_publish_backend(struct session *s)
{
    struct bconn *bc = s->conns.cur;
    bool ready = bc != NULL && bc->state == BCONN_READY;
    registry_set_backend(&s->kill.reg, ready ? bc->idx : 0, ready ? bc->login.thread_id : 0);
}
