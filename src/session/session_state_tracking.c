/*
 * session_state_tracking.c: the server's session tracking, asked for halyard.
 *
 * A statement can set user variables that its text does not name: a CALL,
 * an SQL EXECUTE, a stored function, and a trigger the statement fires.
 * The first three are known from the text (router.c: uvars_opaque); a
 * trigger is not. The server says it: with session_track_state_change =
 * ON, the OK of a statement that changed the session's state (a trigger's
 * `SET @v = ...` among them) carries SERVER_SESSION_STATE_CHANGED and a
 * state-change entry, and the OK of a write on a table whose triggers
 * changed nothing does not. That needs a connection that negotiated
 * CLIENT_SESSION_TRACK, so every backend connection asks for it whatever
 * the client took (session_creds), and halyard sets the variable ON on
 * the primary's connection of the session before it runs a write of the
 * session there (session_track_ready, session_track_sync): once per
 * connection, again after a COM_RESET_CONNECTION or a SET of the variable
 * by the client. Reads never wait for it: a session that only reads, or
 * a pooled connection restored for a read, sends no SET for it. A write on the primary whose OK
 * reports a state change then makes the session's user variables opaque, as a CALL does: the
 * statements that mention one go to the primary.
 *
 * The client gets every OK as the server would send it on its own
 * connection (mysql_ok_track_filter): without the block when the client
 * did not negotiate CLIENT_SESSION_TRACK, and without the state-change
 * entries when it did but its session_track_state_change is not ON (what
 * the session set, else the default, OFF) where halyard turned it on. A
 * pinned session runs everything on the primary: halyard leaves the
 * variable there as the client set it. The OK is rewritten in place
 * in `down`, shorter: what precedes it moves up by the bytes taken out, as
 * session_colmeta.c does for a column count it shortens.
 *
 * While a capture follows the session (session_capture.c), its connection
 * to the primary tracks last_gtid too (session_track_system_variables,
 * added to what it names), so that each commit's OK carries its GTID for
 * any client: session_track_ok hands the OK to the capture before it cuts
 * the entry out for a client whose own value does not name it (the one it
 * set, else the server's global, which the monitor reads: where that
 * names last_gtid already, halyard sets nothing).
 */
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#include "halyard/cluster/backend.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/sql/readback.h"
#include "halyard/sql/varstate.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "session_int.h"
#include "session_track.h"
#include "session_capture.h"
#include "session_inflight.h"
#include "session_replay.h"

#define TRACK_VAR     "session_track_state_change"
#define TRACK_VAR_LEN (sizeof(TRACK_VAR) - 1)
#define TRACK_ON_SQL  "SET session_track_state_change = ON"
#define TRX_VAR       "session_track_transaction_info"
#define TRX_VAR_LEN   (sizeof(TRX_VAR) - 1)
#define TRX_ON_SQL    "SET session_track_transaction_info = STATE"
#define TRX_OFF_SQL   "SET session_track_transaction_info = OFF"
#define BOTH_ON_SQL   "SET session_track_state_change = ON, session_track_transaction_info = STATE"
#define SYS_VAR       "session_track_system_variables"
#define SYS_VAR_LEN   (sizeof(SYS_VAR) - 1)
/* last_gtid added to what the connection tracks; '' and '*' as they are
 * (a CONCAT on '' gives ',last_gtid', which the server refuses) */
#define GTID_ON_SQL                                                                                \
    "SET session_track_system_variables = IF(@@session_track_system_variables = '*' OR "           \
    "FIND_IN_SET('last_gtid', @@session_track_system_variables), "                                 \
    "@@session_track_system_variables, CONCAT_WS(',', "                                            \
    "NULLIF(@@session_track_system_variables, ''), 'last_gtid'))"

/* Whether the session set the variable `name` to a value other than 0 or,
 * as a word, `on_word` (when given) or anything but `off_word`; false when
 * it did not set it (the default, OFF for both trackers). */
static bool client_sets(const struct session *s, const char *name, size_t name_len,
                        const char *on_word, const char *off_word)
{
    struct varstate_value v;
    if (s->vars.vs == NULL || !varstate_get(s->vars.vs, VS_SYSTEM, name, name_len, &v) || v.null)
        return false;
    if (v.type == VS_INT || v.type == VS_UINT)
        return !(v.len == 1 && v.data[0] == '0');
    if (v.type != VS_STRING)
        return false;
    const char *w = on_word != NULL ? on_word : off_word;
    bool is = v.len == strlen(w) && strncasecmp((const char *)v.data, w, v.len) == 0;
    return on_word != NULL ? is : !is;
}

/* Whether the session's own session_track_state_change is ON. */
static bool track_client_wants(const struct session *s)
{
    return client_sets(s, TRACK_VAR, TRACK_VAR_LEN, "on", NULL);
}

/* Whether the session's own session_track_transaction_info reports the
 * transaction's state: STATE or CHARACTERISTICS (1 or 2), not OFF. */
static bool trx_client_wants(const struct session *s)
{
    return client_sets(s, TRX_VAR, TRX_VAR_LEN, NULL, "off");
}

/* Whether the block of an OK has a state-change entry. */
static bool track_state_changed(const uint8_t *block, size_t len)
{
    struct mysql_track_it it;
    struct mysql_track t;
    mysql_track_init(&it, block, len);
    while (mysql_track_next(&it, &t) == HY_OK) {
        if (t.type == MYSQL_TRACK_STATE_CHANGE)
            return true;
    }
    return false;
}

/* Whether the primary's connection bc has session_track_state_change as
 * this command needs it. */
static bool state_ready(const struct session *s, const struct bconn *bc)
{
    return bc->track_on || !s->query.cmd_writes;
}

/* ... and session_track_transaction_info: before any command, so that a
 * transaction begins under it. */
static bool trx_ready(const struct session *s, const struct bconn *bc)
{
    if (s->query.cmd_trx_track)
        return !bc->trx_track_on; /* the client's SET of it answers as on its own connection */
    return bc->trx_track_on || !(s->cfg->transaction_replay || s->cfg->resolve_in_flight_writes) ||
           trx_client_wants(s);
}

/* Whether the session's session_track_system_variables names last_gtid
 * (or is '*'): the value it set, else the global the connection began
 * with, as the monitor read it. */
static bool gtid_client_wants(const struct session *s, const struct bconn *bc)
{
    struct varstate_value v;
    if (s->vars.vs != NULL && varstate_get(s->vars.vs, VS_SYSTEM, SYS_VAR, SYS_VAR_LEN, &v))
        return !v.null && v.type == VS_STRING &&
               mysql_track_vars_last_gtid((const char *)v.data, v.len);
    return bc->be->rt != NULL &&
           atomic_load_explicit(&bc->be->rt->gtid_tracked, memory_order_relaxed);
}

/* ... and the commits' GTIDs while a capture follows the session, for any
 * client (session_capture_ok): on the primary, whatever the command. */
static bool gtid_ready(const struct session *s, const struct bconn *bc)
{
    return bc->gtid_track_on || s->feat.capture == NULL || !session_capture_on(s) ||
           gtid_client_wants(s, bc);
}

bool session_track_ready(const struct session *s, const struct bconn *bc)
{
    if (bc->idx != s->route.primary || !(bc->login.caps & CLIENT_SESSION_TRACK))
        return true;
    return gtid_ready(s, bc) && (s->route.pinned || (state_ready(s, bc) && trx_ready(s, bc)));
}

hy_status_t session_track_sync(struct session *s, struct bconn *bc, struct varstate_cmds *out)
{
    const struct varstate *want = s->vars.vs;
    struct varstate_value v;
    /* the SETs bringing the session's values may turn them off */
    if (want != NULL && varstate_get(want, VS_SYSTEM, TRACK_VAR, TRACK_VAR_LEN, &v))
        bc->track_on = false;
    if (want != NULL && varstate_get(want, VS_SYSTEM, TRX_VAR, TRX_VAR_LEN, &v))
        bc->trx_track_on = false;
    if (want != NULL && varstate_get(want, VS_SYSTEM, SYS_VAR, SYS_VAR_LEN, &v))
        bc->gtid_track_on = false;
    if (session_track_ready(s, bc))
        return HY_OK;
    if (!gtid_ready(s, bc)) {
        bc->gtid_track_on = true;
        if (varstate_cmds_push(out, COM_QUERY, GTID_ON_SQL, strlen(GTID_ON_SQL)) != HY_OK)
            return HY_ERROR;
    }
    if (s->route.pinned)
        return HY_OK; /* the other trackers are the client's there */
    if (s->query.cmd_trx_track && bc->trx_track_on) {
        bc->trx_track_on = false;
        if (varstate_cmds_push(out, COM_QUERY, TRX_OFF_SQL, strlen(TRX_OFF_SQL)) != HY_OK)
            return HY_ERROR;
    }
    bool state = !state_ready(s, bc), trx = !trx_ready(s, bc);
    if (!state && !trx)
        return HY_OK;
    const char *sql = state && trx ? BOTH_ON_SQL : state ? TRACK_ON_SQL : TRX_ON_SQL;
    bc->track_on |= state;
    bc->trx_track_on |= trx;
    return varstate_cmds_push(out, COM_QUERY, sql, strlen(sql));
}

/* Whether `text` holds the variable name `name` (any case). */
static bool text_names_var(const char *text, size_t len, const char *name, size_t name_len)
{
    for (size_t i = 0; i + name_len <= len; i++) {
        if ((text[i] | 0x20) == 's' && strncasecmp(text + i, name, name_len) == 0)
            return true;
    }
    return false;
}

bool session_track_named(const char *text, size_t len)
{
    return text_names_var(text, len, TRACK_VAR, TRACK_VAR_LEN);
}

bool session_track_trx_named(const char *text, size_t len)
{
    return text_names_var(text, len, TRX_VAR, TRX_VAR_LEN);
}

/* Whether a SET read back by `rb` assigns the variable `name`. */
static bool track_var_in(const struct readback *rb, const char *name)
{
    for (uint32_t i = 0; i < rb->n; i++) {
        if (rb->var[i].scope == VS_SYSTEM && strcasecmp(rb->var[i].name, name) == 0)
            return true;
    }
    return false;
}

void session_track_readback(struct session *s, const struct readback *rb)
{
    if (s->conns.cur == NULL)
        return;
    if (track_var_in(rb, TRACK_VAR))
        s->conns.cur->track_on = false; /* the client set it there */
    if (track_var_in(rb, SYS_VAR))
        s->conns.cur->gtid_track_on = false;
    if (track_var_in(rb, TRX_VAR)) {
        s->conns.cur->trx_track_on = false;
        session_replay_refuse(s, "session_track_transaction_info set by the client");
    }
}

/* What the block of an OK reports of the open transaction's writes to
 * non-transactional tables: the fourth character of its state, 'w'.
 * TRX_NONTRX_UNKNOWN when it has no transaction state. */
static enum trx_nontrx trx_state_nontrx(const uint8_t *block, size_t len)
{
    struct mysql_track_it it;
    struct mysql_track t;
    enum trx_nontrx said = TRX_NONTRX_UNKNOWN;
    mysql_track_init(&it, block, len);
    while (mysql_track_next(&it, &t) == HY_OK) {
        if (t.type == MYSQL_TRACK_TRX_STATE && t.a_len == 8)
            said = t.a[3] == 'w' ? TRX_NONTRX_WROTE : TRX_NONTRX_NONE;
    }
    return said;
}

void session_track_err(struct session *s)
{
    if (s->io.resp.err_code != 0 && s->query.internal == NULL && s->conns.cur != NULL &&
        s->conns.cur->idx == s->route.primary && s->route.trx_nontrx == TRX_NONTRX_NONE)
        s->route.trx_nontrx = TRX_NONTRX_UNKNOWN;
}

enum trx_nontrx session_track_lost(const struct session *s, const struct bconn *bc, bool in_flight)
{
    /* Reports come only where the tracker is on, from the transaction's
     * start (session_track_ready turns it on before any command). */
    if (bc == NULL || !(bc->login.caps & CLIENT_SESSION_TRACK) || s->route.pinned ||
        !(bc->trx_track_on || trx_client_wants(s)))
        return TRX_NONTRX_UNKNOWN;
    enum trx_nontrx said = (enum trx_nontrx)s->route.trx_nontrx;
    if (in_flight && s->query.cmd_writes && said == TRX_NONTRX_NONE)
        return TRX_NONTRX_UNKNOWN; /* the statement lost may have written one */
    return said;
}

bool session_track_on_lost(struct session *s, struct hook_lost *hl)
{
    if (hl->flight == LOST_CLIENT && hl->trx) /* told with the statement in flight */
        s->route.trx_lost_keeps = (uint8_t)session_track_lost(s, hl->bc, true);
    return false;
}

void session_track_trx_lost(struct session *s, struct bconn *bc, const char *name)
{
    (void)name;
    s->route.trx_lost_keeps = (uint8_t)session_track_lost(
        s, bc, bc != NULL && bc == s->conns.cur && s->state == SS_COMMAND);
}

/* What of the block of an OK the client does not get (its types, as bits
 * for mysql_ok_track_filter): an entry of a tracker halyard turned on and
 * the client did not. */
static uint32_t track_drop(const struct session *s, const struct bconn *bc)
{
    bool setting = s->vars.chg_pending;
    uint32_t drop = 0;
    /* Where halyard did not turn it on, the connection has the client's
     * value; a SET of it reports what the client set (an entry for ON,
     * none for OFF). */
    if (bc->track_on && !track_client_wants(s) &&
        !(setting && track_var_in(&s->vars.chg->rb, TRACK_VAR)))
        drop |= 1u << MYSQL_TRACK_STATE_CHANGE;
    if (bc->trx_track_on && !trx_client_wants(s) &&
        !(setting && track_var_in(&s->vars.chg->rb, TRX_VAR)))
        drop |= 1u << MYSQL_TRACK_TRX_STATE;
    if (bc->gtid_track_on && !gtid_client_wants(s, bc) &&
        !(setting && track_var_in(&s->vars.chg->rb, SYS_VAR)))
        drop |= MYSQL_TRACK_DROP_LAST_GTID;
    return drop;
}

int64_t session_track_ok(struct session *s, uint32_t len)
{
    struct stream *st = &s->io.down;
    struct bconn *bc = s->conns.cur;
    if (s->query.internal != NULL || bc == NULL || !(bc->login.caps & CLIENT_SESSION_TRACK))
        return len;
    uint8_t *base = st->b->data;
    uint8_t *pl = base + st->scan + MYSQL_HEADER_SIZE;
    if (!mysql_resp_ok_next(&s->io.resp, pl, len) || len + MYSQL_HEADER_SIZE > st->b->cap)
        return len;
    if (stream_unparsed(st) < MYSQL_HEADER_SIZE + len)
        return -1;
    if (s->query.cmd == COM_RESET_CONNECTION)
        bc->track_on = bc->trx_track_on = bc->gtid_track_on = false; /* the globals again */
    /* The status without decoding the OK: behind two one-byte lengths in
     * nearly every OK. */
    if (len >= 5 && pl[1] < 251 && pl[2] < 251 && !(pl[4] & (SERVER_SESSION_STATE_CHANGED >> 8)))
        return len;
    struct mysql_ok ok;
    if (mysql_ok_decode(pl, len, CLIENT_PROTOCOL_41 | CLIENT_SESSION_TRACK, &ok) != HY_OK ||
        !(ok.status & SERVER_SESSION_STATE_CHANGED))
        return len;
    if (ok.session_state != NULL) /* a commit's GTID, before the client's part is cut */
        session_capture_ok(s, ok.session_state, ok.session_state_len);
    if (s->query.cmd_writes && bc->idx == s->route.primary && ok.session_state != NULL &&
        track_state_changed(ok.session_state, ok.session_state_len)) {
        if (!s->route.uvars_opaque)
            slog_debug(s, "a write changed the session's state (a trigger): user variables "
                          "are the primary's from now on");
        s->route.uvars_opaque = true;
    }
    enum trx_nontrx said = bc->idx == s->route.primary && ok.session_state != NULL
                               ? trx_state_nontrx(ok.session_state, ok.session_state_len)
                               : TRX_NONTRX_UNKNOWN;
    if (said != TRX_NONTRX_UNKNOWN)
        s->route.trx_nontrx = (uint8_t)said;
    if (said == TRX_NONTRX_WROTE) {
        slog_debug(s, "the transaction wrote a non-transactional table: not replayable");
        session_replay_refuse(s, "a write to a non-transactional table");
        session_inflight_nontrx(s);
    }
    bool tracks = (s->who.caps & CLIENT_SESSION_TRACK) != 0;
    size_t n = mysql_ok_track_filter(pl, len, tracks, track_drop(s, bc));
    if (n == len)
        return len;
    uint32_t gap = len - (uint32_t)n;
    memmove(pl + gap, pl, n);
    memmove(base + st->head + gap, base + st->head, st->scan - st->head + MYSQL_HEADER_SIZE);
    st->head += gap;
    st->scan += gap;
    base[st->scan] = (uint8_t)n;
    base[st->scan + 1] = (uint8_t)(n >> 8);
    base[st->scan + 2] = (uint8_t)(n >> 16);
    return (int64_t)n;
}
