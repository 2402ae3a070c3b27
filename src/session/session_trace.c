/*
 * session_trace.c: a span per client statement (session_trace.h). The
 * parent is, first found: an sqlcommenter comment in the statement, the
 * session's @traceparent (a SET of it seen earlier), the login's
 * traceparent connection attribute; else the span is a root. The
 * tracestate passed on is the one beside the parent used: the comment's,
 * @tracestate, the tracestate attribute (W3C: it goes with its
 * traceparent, never with another's). Only this
 * file writes s->feat.trace, made at the session's first traced command.
 * With tracing off each hook returns at its first test.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/core/clock.h"
#include "halyard/core/text.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/sql/classify.h"
#include "halyard/sql/classify_memo.h"
#include "halyard/sql/digest.h"
#include "halyard/trace/trace.h"
#include "halyard/trace/trace_export.h"

#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/session/worker.h"
#include "session_int.h"
#include "session_trace.h"

/* A statement is decided at its take when it can be (a parent's sampled
 * flag, else the head ratio): a kept one gets its span then, with its
 * digest and text read from the packet. One not kept costs a random trace
 * id and a look for a '/' (a comment's traceparent) or a leading SET (of
 * @traceparent): at its end an error or its time may keep it after all
 * (the tail decision), its span made then from the first bytes of the
 * statement the session keeps for `show sessions` (s->query.stmt), with
 * no clock read. Its waits are noted only with slow_ms set (what would
 * keep it is then its time). */
struct sess_trace {
    struct trace_span *sp; /* the head-kept command in flight's, else NULL */
    bool active;           /* a traced command is in flight */
    uint8_t cmd;
    uint8_t parent_flags;
    bool has_parent;
    bool var_set, attr_set;
    struct trace_ctx var;    /* SET @traceparent */
    struct trace_ctx attr;   /* the connection attribute */
    char *var_state;         /* SET @tracestate (NULL: none) */
    char *attr_state;        /* the tracestate connection attribute (NULL: none) */
    struct trace_ctx parent; /* the command in flight's; its ids when it has none */
    uint16_t state_len;      /* its comment's tracestate, at `state` */
    char state[TRACE_STATE_MAX];
    uint32_t sends;
    bool replayed; /* the command in flight went on after its transaction was replayed */
    uint8_t n_events;
    /* sp->summary holds the command's text, not yet its digest: the
     * router's (session_trace_digest), else classified at the end */
    bool sum_raw;
    uint16_t sum_len; /* its length */
    uint8_t waiting;  /* bit w: wait_at[w] is a wait begun, not ended */
    /* the word of the last consistency mode a span of the session's took
     * (cons_set: cons_word is that of cons), over zeros as trace_span_set
     * writes it: a mode's word is copied as 16 bytes */
    bool cons_set;
    enum consistency cons;
    char cons_word[16];
    struct trace_event events[TRACE_EVENTS_MAX];
    int64_t wait_at[TRACE_WAIT_N];
};

/* The session's row, made at its first traced command (with what its
 * login's connection attributes say). */
static __attribute__((noinline)) struct sess_trace *trace_make(struct session *s)
{
    struct sess_trace *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    if (s->who.attrs != NULL) {
        int rc = trace_parent_in_attrs(s->who.attrs, s->who.attrs_len, &t->attr);
        t->attr_set = rc == 1;
        if (rc < 0)
            trace_bad_note(TRACE_BAD_PARENT);
        char st[TRACE_STATE_MAX];
        int sr = trace_state_in_attrs(s->who.attrs, s->who.attrs_len, st, sizeof(st));
        if (sr == 1)
            t->attr_state = hy_dupz(st, strlen(st));
        else if (sr < 0)
            trace_bad_note(TRACE_BAD_STATE);
    }
    s->feat.trace = t;
    return t;
}

static inline struct sess_trace *trace_of(struct session *s)
{
    return s->feat.trace != NULL ? s->feat.trace : trace_make(s);
}

/* The letters (a-z in either case, ASCII) of the 8 bytes w: 0x80 in each
 * byte that is one. Each byte's test is done apart, no carry between them. */
static inline uint64_t letters8(uint64_t w)
{
    const uint64_t high = 0x8080808080808080ull, lw = w | 0x2020202020202020ull;
    uint64_t ge_a = ((lw | high) - 0x6161616161616161ull) & high;  /* (x & 0x7f) >= 'a' */
    uint64_t le_z = (0xfafafafafafafafaull - (lw & ~high)) & high; /* (x & 0x7f) <= 'z' */
    return ge_a & le_z & ~lw & high;
}

/* db.operation.name: the statement's first word, upper case; none for a
 * text not at hand (p NULL: one larger than the buffer). A word shorter
 * than 16 bytes is written over zeros, as trace_span_set writes a short
 * string: the encoder compares such an array as its first 16 bytes. */
static void op_name(struct trace_span *sp, uint8_t cmd, const char *p, size_t n)
{
    static const char execute[16] = "EXECUTE";
    if (cmd == COM_STMT_EXECUTE) {
        memcpy(sp->op, execute, 16);
        return;
    }
    memset(sp->op, 0, 16);
    if (p == NULL)
        return;
    const char *end = p + n;
    for (;;) { /* spaces and comments before it (isspace() of the C locale) */
        while (p < end && (*p == ' ' || (*p >= '\t' && *p <= '\r')))
            p++;
        if (end - p >= 2 && p[0] == '/' && p[1] == '*') {
            const char *c = memmem(p + 2, (size_t)(end - p - 2), "*/", 2);
            p = c != NULL ? c + 2 : end;
        } else {
            break;
        }
    }
    /* its letters upper-cased, ASCII alone (isalpha() and toupper() of the
     * C locale): eight at a time while eight are there (most words are
     * shorter: SELECT, INSERT...), then a byte at a time */
    size_t i = 0;
    for (; end - p - (ptrdiff_t)i >= 8 && i + 8 < sizeof(sp->op); i += 8) {
        uint64_t w = hy_load_le64(p + i), l = letters8(w);
        uint64_t up = w & ~(l >> 2);      /* 0x20 off each letter */
        if (l != 0x8080808080808080ull) { /* its end: the bytes from the first not a letter, 0 */
            unsigned k = (unsigned)__builtin_ctzll(~l & 0x8080808080808080ull) / 8;
            up &= k > 0 ? ~0ull >> (64 - 8 * k) : 0;
            memcpy(sp->op + i, &up, 8);
            return;
        }
        memcpy(sp->op + i, &up, 8);
    }
    for (unsigned c; p + i < end && i < sizeof(sp->op) - 1 &&
                     (c = (unsigned char)p[i] | 0x20u) >= 'a' && c <= 'z';
         i++)
        sp->op[i] = (char)(c - 0x20u);
    sp->op[i] = '\0';
}

/* Whether the text begins with SET (spaces before it): the only statement
 * whose @traceparent is read. */
static inline bool is_set(const char *p, size_t n)
{
    while (n > 0 && (*p == ' ' || (*p >= '\t' && *p <= '\r'))) /* isspace(), C locale */
        p++, n--;
    return n > 3 && (p[0] | 0x20) == 's' && (p[1] | 0x20) == 'e' && (p[2] | 0x20) == 't' &&
           !isalnum((unsigned char)p[3]);
}

/* A SET of @tracestate: the session's from now on; one not valid drops
 * what it had ('' clears it). */
static void state_set(struct sess_trace *t, const char *text, size_t n)
{
    char st[TRACE_STATE_MAX];
    int rc = trace_state_in_set(text, n, st, sizeof(st));
    if (rc == 0)
        return;
    if (rc < 0)
        trace_bad_note(TRACE_BAD_STATE);
    free(t->var_state);
    t->var_state = rc == 1 && st[0] != '\0' ? hy_dupz(st, strlen(st)) : NULL;
}

/* The tracestate `st` (NULL: none) as the command's, into t->state. */
static void state_use(struct sess_trace *t, const char *st)
{
    size_t len = st != NULL ? strlen(st) : 0;
    memcpy(t->state, st != NULL ? st : "", len + 1); /* valid: at most 512 bytes */
    t->state_len = (uint16_t)len;
}

/* The parent of the statement `text` (NULL: none to read; `set`: it is a
 * SET), into t. Only a text that names traceparent or @tracestate is
 * parsed. */
static __attribute__((noinline)) void parent_of(struct sess_trace *t, const char *text, size_t n,
                                                bool set)
{
    struct trace_ctx c;
    int rc = 0;
    t->state_len = 0;
    if (text != NULL) {
        /* a user variable's name in any case (a comment's key is lower case) */
        bool names_parent = hy_text_mentions(text, n, "TRACEPARENT");
        if (names_parent) {
            rc = trace_parent_in_sql(text, n, &c);
            if (rc < 0)
                trace_bad_note(TRACE_BAD_PARENT);
            if (rc == 1) { /* the tracestate beside it, passed on */
                int sr = trace_state_in_sql(text, n, t->state, sizeof(t->state));
                if (sr < 0)
                    trace_bad_note(TRACE_BAD_STATE);
                t->state_len = (uint16_t)(sr > 0 ? sr : 0);
            }
        }
        if (set) {
            struct trace_ctx v;
            int vr = names_parent ? trace_parent_in_set(text, n, &v) : 0;
            if (vr == 1) {
                t->var = v;
                t->var_set = true;
            } else if (vr < 0) {
                trace_bad_note(TRACE_BAD_PARENT);
            }
            if (hy_text_mentions(text, n, "TRACESTATE"))
                state_set(t, text, n);
        }
    }
    const struct trace_ctx *p = rc == 1 ? &c : t->var_set ? &t->var : t->attr_set ? &t->attr : NULL;
    t->has_parent = p != NULL;
    if (p != NULL)
        t->parent = *p;
    else /* the ratio's half of a root's trace id; the rest once it is kept */
        trace_ratio_id(t->parent.trace_id);
    t->parent_flags = p != NULL ? p->flags : 0;
    if (rc != 1 && p != NULL) /* the tracestate of the parent's own source */
        state_use(t, p == &t->var ? t->var_state : t->attr_state);
}

/* The digest of the text at p as the span's db.query.summary (the
 * worker's classify memo answers a shape it has seen, as it does for the
 * router). */
static void summary_of(struct session *s, struct trace_span *sp, const char *p, size_t n)
{
    char dg[DIGEST_TEXT_MAX];
    struct classify_result r;
    struct classify_digest d = {.buf = dg, .cap = sizeof(dg)};
    classify_memo_classify(s->w->memo, p, n, s->route.lex_opts, &r, &d);
    (void)trace_span_summary(sp, dg, HY_MIN(d.len, sizeof(dg) - 1)); /* none when out of memory */
}

/* A text this long or shorter waits in the span for the router's digest. */
#define SUM_RAW_MAX 1024u

/* db.query.summary, and the text as db.query.text when configured. The
 * router classifies the text with a digest when a feature wants one (the
 * digests' table, on by default), and hands it over (on_digest): a text
 * of at most SUM_RAW_MAX bytes is kept in the summary's buffer until
 * then (or the end, when it is classified here: a statement answered
 * before it was routed), instead of a second classification now. t NULL:
 * the span begins at the end (span_tail), its text classified now. */
static void span_texts(struct session *s, struct sess_trace *t, struct trace_span *sp,
                       const char *text, size_t n)
{
    if (n == 0)
        return;
    if (t != NULL && n <= SUM_RAW_MAX) {
        t->sum_raw = trace_span_summary(sp, text, n);
        t->sum_len = (uint16_t)n;
    } else {
        summary_of(s, sp, text, n);
    }
    if (s->cfg->tracing.query_text)
        sp->text = hy_dupz(text, n);
}

void session_trace_digest(struct session *s, const char *digest, size_t len)
{
    struct sess_trace *t = s->feat.trace;
    if (t == NULL || !t->sum_raw || t->sp == NULL || s->query.internal != NULL)
        return;
    t->sum_raw = false;
    (void)trace_span_summary(t->sp, digest, len); /* none when out of memory */
}

/* A span for the command in flight, its ids from t (a parent's, or the
 * root's trace id drawn at the take). */
static struct trace_span *span_begin(struct sess_trace *t)
{
    struct trace_span *sp = trace_span_take(); /* one the exporter gave back, mostly */
    if (sp == NULL)
        return NULL;
    sp->has_parent = t->has_parent;
    if (t->has_parent)
        memcpy(sp->parent_id, t->parent.span_id, 8);
    if (t->state_len > 0)
        memcpy(sp->tracestate, t->state, (size_t)t->state_len + 1);
    if (!t->has_parent) /* the half the head decided on; the other drawn */
        memcpy(sp->trace_id + 8, t->parent.trace_id + 8, 8);
    else
        memcpy(sp->trace_id, t->parent.trace_id, 16);
    trace_span_ids_head(sp);
    return sp;
}

/* A statement kept at its take: its span begins. */
static __attribute__((noinline)) void span_head(struct session *s, struct sess_trace *t,
                                                uint8_t cmd, const char *text, size_t n)
{
    if (trace_export_global() == NULL)
        return; /* nowhere to send it */
    struct trace_span *sp = span_begin(t);
    if (sp == NULL)
        return;
    sp->start_ns = hy_now_ns();
    op_name(sp, cmd, text, n);
    span_texts(s, t, sp, text, n);
    t->sp = sp;
}

/* Most statements (no '/', not a SET, no parent of the session's) take
 * the path written inline here: a random draw for the ratio; the rest is
 * out of line. */
void session_trace_take(struct session *s, const struct hook_cmd *hc)
{
    /* the commands that have a span: a bit each (all below 32) */
    const uint32_t traced = 1u << COM_QUERY | 1u << COM_STMT_EXECUTE | 1u << COM_STMT_PREPARE;
    if (!s->cfg->tracing.enabled || hc->cmd >= 32 || !(traced >> hc->cmd & 1u) || hc->len == 0)
        return;
    struct sess_trace *t = trace_of(s);
    if (t == NULL)
        return;
    bool has_text = hc->cmd != COM_STMT_EXECUTE && hc->fits;
    const char *text = has_text ? (const char *)hc->p + 1 : NULL;
    size_t n = has_text ? hc->len - 1 : 0;
    /* a comment's traceparent needs a '/', and only a SET's @traceparent
     * or @tracestate is read: a text with no '/' that is not a SET (most)
     * is not read further */
    bool set = hc->cmd == COM_QUERY && text != NULL && is_set(text, n);
    bool read = set || (text != NULL && memchr(text, '/', n) != NULL);
    if (read || t->var_set || t->attr_set) {
        parent_of(t, read ? text : NULL, n, set);
    } else { /* a root: the ratio's half of its trace id; the rest once it is kept */
        t->has_parent = false;
        t->parent_flags = 0;
        t->state_len = 0;
        trace_ratio_id(t->parent.trace_id);
    }
    t->active = true;
    t->sum_raw = false;
    t->cmd = hc->cmd;
    t->sends = 0;
    t->replayed = false;
    t->n_events = 0;
    t->waiting = 0;
    bool head = t->has_parent ? (t->parent_flags & 1) != 0
                              : trace_ratio_keeps(s->cfg->tracing.ratio, t->parent.trace_id);
    if (head)
        span_head(s, t, hc->cmd, text, n);
}

static void wait_end(struct sess_trace *t, unsigned what)
{
    if (!(t->waiting & 1u << what))
        return;
    if (t->n_events < TRACE_EVENTS_MAX)
        t->events[t->n_events++] =
            (struct trace_event){(uint8_t)what, t->wait_at[what], hy_now_ns()};
    t->waiting &= (uint8_t) ~(1u << what);
}

void session_trace_wait(struct session *s, enum hook_wait what, bool begin)
{
    struct sess_trace *t = s->feat.trace;
    if (t == NULL || !t->active || (unsigned)what >= TRACE_WAIT_N)
        return;
    if (t->sp == NULL && s->cfg->tracing.slow_ms == 0)
        return; /* not kept at its take: only an error keeps it, without its waits */
    if (begin) {
        if (!(t->waiting & 1u << what)) {
            t->wait_at[what] = hy_now_ns();
            t->waiting |= (uint8_t)(1u << what);
        }
    } else {
        wait_end(t, what);
    }
}

void session_trace_replayed(struct session *s)
{
    struct sess_trace *t = s->feat.trace;
    if (t != NULL && t->active)
        t->replayed = true;
}

void session_trace_send(struct session *s, const struct hook_cmd *hc)
{
    (void)hc;
    struct sess_trace *t = s->feat.trace;
    if (t != NULL && t->active)
        t->sends++;
}

/* What the statement's end knows: its backend, its answer, its waits. */
static void span_fill(struct session *s, struct sess_trace *t, struct trace_span *sp)
{
    const char *schema = session_schema(s);
    trace_span_set(sp->ns, sizeof(sp->ns), schema, schema != NULL ? strlen(schema) : 0);
    const struct bconn *bc = s->conns.cur;
    if (bc != NULL) {
        const struct config_backend *be = bc->be;
        trace_span_set(sp->backend, sizeof(sp->backend), be->name, strlen(be->name));
        trace_span_set(sp->server, sizeof(sp->server), be->address, strlen(be->address));
        sp->port = (uint16_t)be->port;
        /* the words, over zeros as trace_span_set writes them, of a size
         * the compiler knows */
        static const char primary[16] = "primary", replica[16] = "replica";
        const char *role = bc->idx == s->route.primary ? primary : replica;
        memcpy(sp->role, role, 16);
        memcpy(sp->route, role, 16);
    }
    if (!t->cons_set || t->cons != s->route.consistency) {
        const char *cons = consistency_to_str(s->route.consistency); /* a word under 16 bytes */
        trace_span_set(t->cons_word, sizeof(t->cons_word), cons, strlen(cons));
        t->cons = s->route.consistency;
        t->cons_set = true;
    }
    memcpy(sp->consistency, t->cons_word, 16);
    sp->err_code = s->io.resp.err_code;
    sp->rows = s->io.resp.rows != 0 ? s->io.resp.rows : s->io.resp.affected;
    sp->retried = t->sends > 1;
    sp->replayed = t->replayed;
    for (unsigned i = 0; i < t->n_events; i++)
        trace_span_wait(sp, (enum trace_wait)t->events[i].what, t->events[i].start_ns,
                        t->events[i].end_ns);
}

/* The tail decision of a statement not kept at its take: an error, or
 * slow_ms or more since the command began (the loop's clock, no read of
 * it here). Its span is made now, from the statement's first bytes the
 * session keeps (s->query.stmt; none for an execution, as at the take). */
static struct trace_span *span_tail(struct session *s, struct sess_trace *t)
{
    int64_t slow_ns = (int64_t)s->cfg->tracing.slow_ms * 1000000;
    if (s->io.resp.err_code == 0 &&
        (slow_ns == 0 || (ev_now(s->w->loop) - s->query.cmd_started) * 1e9 < (double)slow_ns))
        return NULL;
    struct trace_span *sp = span_begin(t);
    if (sp == NULL)
        return NULL;
    sp->end_ns = hy_now_ns();
    sp->start_ns = (int64_t)(s->query.cmd_started * 1e9);
    if (sp->start_ns > sp->end_ns)
        sp->start_ns = sp->end_ns;
    size_t n = t->cmd != COM_STMT_EXECUTE ? s->query.stmt_len : 0;
    op_name(sp, t->cmd, n > 0 ? s->query.stmt : NULL, n);
    span_texts(s, NULL, sp, s->query.stmt, n);
    return sp;
}

void session_trace_done(struct session *s)
{
    struct sess_trace *t = s->feat.trace;
    if (t == NULL || !t->active)
        return;
    t->active = false;
    if (t->sp == NULL && s->io.resp.err_code == 0 && s->cfg->tracing.slow_ms == 0)
        return; /* not kept at its take, and nothing keeps it now (no wait was noted) */
    for (unsigned w = 0; t->waiting != 0; w++)
        wait_end(t, w);
    struct trace_exporter *ex = trace_export_global();
    struct trace_span *sp = t->sp;
    t->sp = NULL;
    if (ex == NULL) {
        trace_span_destroy(sp); /* back to the thread's spans */
        return;
    }
    if (sp != NULL) {
        sp->end_ns = hy_now_ns();
        if (t->sum_raw) /* not routed with a digest: its text, classified now */
            summary_of(s, sp, sp->summary, t->sum_len);
    } else if ((sp = span_tail(s, t)) == NULL) {
        return;
    }
    t->sum_raw = false;
    span_fill(s, t, sp);
    (void)trace_export_submit(ex, sp); /* it owns the span now, kept or dropped */
}

void session_trace_abandon(struct session *s)
{
    struct sess_trace *t = s->feat.trace;
    if (t == NULL)
        return;
    t->active = false;
    t->sum_raw = false;
    trace_span_destroy(t->sp); /* back to the thread's spans */
    t->sp = NULL;
}

void session_trace_reset(struct session *s)
{
    struct sess_trace *t = s->feat.trace;
    if (t != NULL) { /* COM_RESET_CONNECTION: user variables are gone */
        t->var_set = false;
        free(t->var_state);
        t->var_state = NULL;
    }
}

void session_trace_thread_exit(void)
{
    trace_span_thread_exit();
}

void session_trace_free(struct session *s)
{
    struct sess_trace *t = s->feat.trace;
    if (t == NULL)
        return;
    trace_span_destroy(t->sp);
    free(t->var_state);
    free(t->attr_state);
    free(t);
    s->feat.trace = NULL;
}
