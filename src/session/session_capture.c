/*
 * session_capture.c: what a session hands the capture (capture.h): its
 * login when the capture first sees it, each command the client sends
 * (on_take, with its arrival), and each answer's shape (on_done): OK or
 * ERR with its code, affected rows, insert id, warnings, the rows' sums
 * and count, the time from arrival to the end. A session whose record was
 * dropped (the queue full) stops handing records over and its end says
 * so. COM_CHANGE_USER's payload (it holds the password's scramble) is
 * never kept: the login it ended with follows as a LOGIN record (before
 * the next command; its answer is the login's, not command_done's).
 */
#include <stdlib.h>
#include <string.h>

#include "halyard/capture/capture.h"
#include "halyard/capture/capture_format.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/session/worker.h"

#include "session_capture.h"

struct sess_capture {
    uint32_t gen; /* the capture it belongs to (capture_now) */
    bool lost;    /* a record was dropped: the session hands over no more */
    bool pending; /* a command was recorded whose answer is not yet */
    uint8_t cmd;  /* ... that command */
    bool cut;     /* a row of the answer was not whole in the buffer */
    bool relogin; /* a COM_CHANGE_USER was recorded: its login follows */
    double at;    /* its arrival (ev_now) */
    uint64_t insert_id;
    struct capture_rowsum sum;
    char gtid[64]; /* the last commit's GTID the server reported */
    int primary;   /* the primary it last told the capture of (-1: none) */
};

static uint64_t wall_us(const struct session *s)
{
    return (uint64_t)(ev_now(s->w->loop) * 1e6);
}

/* Hand the record built aside in `b` over (copied to the thread's
 * buffer). */
static void put(struct session *s, struct capture_buf *b)
{
    struct sess_capture *c = s->feat.capture;
    size_t n = capture_rec_done(b);
    if (n == 0 || !capture_put(b->p, n, c->gen))
        c->lost = capture_now() == c->gen; /* a capture that ended drops nothing */
}

/* A record of at most `max` bytes built in place in the thread's buffer
 * (the hot ones: a command, its answer, a LOCAL INFILE's piece): begun,
 * then handed over by put_in_place. False when it cannot be: the
 * session's records are incomplete from here (unless the capture
 * ended). */
static bool begin_in_place(struct session *s, struct capture_buf *b, size_t max, uint8_t type)
{
    struct sess_capture *c = s->feat.capture;
    if (capture_rec_begin(b, max, type, c->gen))
        return true;
    c->lost = capture_now() == c->gen;
    return false;
}

static void put_in_place(struct session *s, struct capture_buf *b)
{
    if (!capture_rec_put(b))
        s->feat.capture->lost = true;
}

static void login_rec(struct session *s, uint8_t flags)
{
    uint8_t mem[8192];
    struct capture_buf b;
    const char *schema = session_schema(s);
    capture_buf_begin(&b, mem, sizeof(mem), CAPTURE_LOGIN);
    capture_put_u32(&b, s->id);
    capture_put_u64(&b, wall_us(s));
    capture_put_u8(&b, flags);
    capture_put_str(&b, s->who.user, s->who.user != NULL ? strlen(s->who.user) : 0);
    capture_put_str(&b, schema, schema != NULL ? strlen(schema) : 0);
    capture_put_str(&b, s->who.peer, strlen(s->who.peer));
    capture_put_str(&b, (const char *)s->who.attrs,
                    s->who.attrs_len < sizeof(mem) / 2 ? s->who.attrs_len : 0);
    put(s, &b);
}

/* The capture `gen` sees the session: its state for it, and its login. */
static struct sess_capture *session_join(struct session *s, uint32_t gen)
{
    struct sess_capture *c = s->feat.capture;
    if (c == NULL && (c = s->feat.capture = calloc(1, sizeof(*c))) == NULL)
        return NULL;
    memset(c, 0, sizeof(*c));
    c->gen = gen;
    c->primary = -1;
    capture_session_seen();
    login_rec(s, CAPTURE_LOGIN_JOINED);
    return c;
}

/* The commands whose payload may hold data (capture_mask leaves it out). */
static bool holds_data(uint8_t cmd)
{
    return cmd == COM_QUERY || cmd == COM_STMT_PREPARE || cmd == COM_STMT_EXECUTE ||
           cmd == COM_STMT_SEND_LONG_DATA || cmd == COM_STMT_BULK_EXECUTE;
}

static void cmd_rec(struct session *s, const struct hook_cmd *hc)
{
    struct sess_capture *c = s->feat.capture;
    uint32_t keep = hc->len > 0 ? hc->len - 1 : 0;
    uint8_t flags = 0;
    if (!hc->fits) {
        keep = 0; /* only its first bytes are in the buffer */
        flags |= CAPTURE_CMD_CUT;
    }
    if (hc->cmd == COM_CHANGE_USER || (holds_data(hc->cmd) && capture_masked())) {
        keep = 0;
        flags |= CAPTURE_CMD_MASKED;
    }
    struct capture_buf b;
    if (!begin_in_place(s, &b, 32 + (size_t)keep, CAPTURE_CMD))
        return;
    capture_put_cmd(&b, s->id, (uint64_t)(c->at * 1e6), hc->cmd, flags,
                    hc->len > 0 ? hc->len - 1 : 0);
    capture_put_bytes(&b, hc->p + 1, keep);
    put_in_place(s, &b);
}

/* The answer to the command recorded last: `kind` NONE when halyard gave
 * it (or none came), else from the tracker. */
static void answer_rec(struct session *s, bool from_backend)
{
    struct sess_capture *c = s->feat.capture;
    const struct mysql_resp *r = &s->io.resp;
    struct capture_answer a = {.sid = s->id};
    double d = ev_now(s->w->loop) - c->at;
    a.dur_us = d > 0 ? (uint64_t)(d * 1e6) : 0;
    a.kind = !from_backend                            ? CAPTURE_ANS_NONE
             : r->err_code > 0                        ? CAPTURE_ANS_ERR
             : r->rs_last || c->cmd == COM_STMT_FETCH ? CAPTURE_ANS_ROWS /* a cursor's rows */
                                                      : CAPTURE_ANS_OK;
    if (from_backend) {
        a.err = r->err_code;
        a.warnings = r->warnings;
        a.status = r->status;
        a.affected = r->affected;
        a.insert_id = c->insert_id;
        /* the id the client got: halyard's own (pstmt.h), not the server's */
        a.stmt_id = c->cmd == COM_STMT_PREPARE && r->err_code == 0 ? s->prep.map.last : 0;
        a.sum = c->sum;
        a.flags = c->cut ? CAPTURE_ANS_SUM_CUT : 0;
    }
    struct capture_buf b;
    c->pending = false;
    if (!begin_in_place(s, &b, CAPTURE_FRAME_HEAD + CAPTURE_ANSWER_SIZE + CAPTURE_FRAME_TAIL,
                        CAPTURE_ANSWER))
        return;
    capture_put_answer(&b, &a);
    put_in_place(s, &b);
}

void session_capture_take(struct session *s, const struct hook_cmd *hc)
{
    uint32_t gen = capture_now();
    struct sess_capture *c = s->feat.capture;
    if (gen == 0 || (c != NULL && c->gen == gen && c->lost))
        return;
    if ((c == NULL || c->gen != gen) && (c = session_join(s, gen)) == NULL)
        return;
    if (c->pending)
        answer_rec(s, false); /* its answer never reached on_done (COM_CHANGE_USER's) */
    if (c->primary != (int)s->route.primary && s->route.primary < s->cfg->n_backends) {
        c->primary = s->route.primary; /* a failover: the first session to see it marks it */
        capture_primary_seen(s->cfg->backends[c->primary].name, wall_us(s), gen);
    }
    if (c->relogin)
        login_rec(s, CAPTURE_LOGIN_CHANGED); /* the user it ended with */
    c->relogin = hc->cmd == COM_CHANGE_USER;
    c->at = ev_now(s->w->loop);
    c->cmd = hc->cmd;
    cmd_rec(s, hc);
    c->pending = mysql_resp_expects_reply(hc->cmd);
    c->cut = false;
    c->insert_id = 0;
    capture_rowsum_begin(&c->sum);
}

static bool answer_followed(const struct session *s)
{
    const struct sess_capture *c = s->feat.capture;
    return c != NULL && c->pending && !c->lost && c->gen == capture_now() &&
           s->query.internal == NULL;
}

bool session_capture_attached(const struct session *s)
{
    return s->feat.capture != NULL;
}

bool session_capture_on(const struct session *s)
{
    const struct sess_capture *c = s->feat.capture;
    return c != NULL && !c->lost && c->gen == capture_now();
}

bool session_capture_whole(const struct session *s)
{
    return answer_followed(s);
}

/* The GTID an OK's session-state block reports for a commit: MariaDB's
 * last_gtid (session_track_system_variables naming it) or MySQL's
 * session_track_gtids entry; NULL when it reports none. */
static const uint8_t *block_gtid(const uint8_t *block, size_t len, size_t *n)
{
    struct mysql_track_it it;
    struct mysql_track t;
    const uint8_t *g = NULL;
    mysql_track_init(&it, block, len);
    while (mysql_track_next(&it, &t) == HY_OK) {
        if (t.type == MYSQL_TRACK_SYSTEM_VARIABLES && t.a_len == 9 &&
            memcmp(t.a, "last_gtid", 9) == 0 && t.b_len > 0)
            g = t.b, *n = t.b_len;
        else if (t.type == MYSQL_TRACK_GTIDS && t.a_len > 0)
            g = t.a, *n = t.a_len;
    }
    return g;
}

/* A COMMIT record when the OK's session-state block reports a GTID other
 * than the session's last one: the commit the command made. */
static void commit_rec(struct session *s, const uint8_t *block, size_t len)
{
    struct sess_capture *c = s->feat.capture;
    size_t n = 0;
    const uint8_t *g = block_gtid(block, len, &n);
    if (g == NULL || n >= sizeof(c->gtid) || (strlen(c->gtid) == n && memcmp(c->gtid, g, n) == 0))
        return;
    memcpy(c->gtid, g, n);
    c->gtid[n] = '\0';
    uint8_t mem[128];
    struct capture_buf b;
    capture_buf_begin(&b, mem, sizeof(mem), CAPTURE_COMMIT);
    capture_put_u32(&b, s->id);
    capture_put_u64(&b, wall_us(s));
    capture_put_str(&b, c->gtid, n);
    put(s, &b);
}

void session_capture_packet(struct session *s, const struct hook_packet *pk)
{
    if (!answer_followed(s))
        return;
    struct sess_capture *c = s->feat.capture;
    const struct mysql_resp *r = &s->io.resp;
    if (mysql_resp_row_next(r, pk->pl, pk->len)) {
        if (pk->whole)
            capture_rowsum_row(&c->sum, pk->pl, pk->len);
        else
            c->cut = true;
    } else if (pk->len > 0 && pk->pl[0] == MYSQL_OK && mysql_resp_ok_fits(r)) {
        struct mysql_rd rd;
        mysql_rd_init(&rd, pk->pl + 1, pk->len - 1);
        (void)mysql_rd_lenenc(&rd); /* affected rows: the tracker's */
        uint64_t id = mysql_rd_lenenc(&rd);
        if (!rd.bad)
            c->insert_id = id;
    }
}

void session_capture_infile(struct session *s, const uint8_t *p, uint32_t n)
{
    if (!answer_followed(s) || capture_masked())
        return; /* (n 0, the file's end, is a record of no bytes: the client sent a file) */
    struct capture_buf b;
    if (!begin_in_place(s, &b, 32 + (size_t)n, CAPTURE_INFILE))
        return;
    capture_put_u32(&b, s->id);
    capture_put_bytes(&b, p, n);
    put_in_place(s, &b);
}

void session_capture_ok(struct session *s, const uint8_t *block, size_t len)
{
    if (answer_followed(s))
        commit_rec(s, block, len);
}

void session_capture_done(struct session *s)
{
    if (!answer_followed(s))
        return;
    answer_rec(s, true);
}

void session_capture_abandon(struct session *s)
{
    if (answer_followed(s))
        answer_rec(s, false);
}

void session_capture_free(struct session *s)
{
    struct sess_capture *c = s->feat.capture;
    if (c == NULL)
        return;
    if (c->gen == capture_now()) {
        uint8_t mem[64];
        struct capture_buf b;
        capture_buf_begin(&b, mem, sizeof(mem), CAPTURE_END);
        capture_put_u32(&b, s->id);
        capture_put_u64(&b, wall_us(s));
        capture_put_u8(&b, c->lost ? CAPTURE_END_LOST : 0);
        size_t n = capture_rec_done(&b);
        if (n > 0)
            (void)capture_put(mem, n, c->gen);
    }
    free(c);
    s->feat.capture = NULL;
}
