/*
 * session_trace.c: a span per client statement (session_trace.h). The
 * parent is, first found: an sqlcommenter comment in the statement, the
 * session's @traceparent (a SET of it seen earlier), the login's
 * traceparent connection attribute; else the span is a root. Only this
 * file writes s->feat.trace, made at the session's first traced command.
 * With tracing off each hook returns at its first test.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "halyard/core/text.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/sql/classify.h"
#include "halyard/sql/digest.h"
#include "halyard/trace/trace.h"
#include "halyard/trace/trace_export.h"

#include "halyard/session/session.h"
#include "halyard/session/session_err.h"
#include "halyard/session/worker.h"
#include "session_int.h"
#include "session_trace.h"

#define TRACE_TEXT_MAX 2048u /* the statement's bytes kept for its summary and text */

struct sess_trace {
    struct trace_span *sp;    /* the command in flight's, else NULL */
    struct trace_span *spare; /* one not kept, for the next command */
    uint8_t parent_flags;
    bool var_set, attr_read, attr_set;
    struct trace_ctx var;  /* SET @traceparent */
    struct trace_ctx attr; /* the connection attribute */
    int64_t wait_at[TRACE_WAIT_N];
    uint32_t sends;
    uint32_t text_len;
    char text[TRACE_TEXT_MAX];
};

static struct sess_trace *trace_of(struct session *s)
{
    if (s->feat.trace == NULL) {
        struct sess_trace *t = calloc(1, sizeof(*t));
        if (t == NULL)
            return NULL;
        if (s->who.attrs != NULL) {
            int rc = trace_parent_in_attrs(s->who.attrs, s->who.attrs_len, &t->attr);
            t->attr_set = rc == 1;
            if (rc < 0)
                trace_bad_parent_note();
        }
        s->feat.trace = t;
    }
    return s->feat.trace;
}

static struct trace_span *span_fresh(struct sess_trace *t)
{
    struct trace_span *sp = t->sp != NULL ? t->sp : t->spare;
    t->sp = t->spare = NULL;
    if (sp == NULL)
        return trace_span_create();
    free(sp->summary);
    free(sp->text);
    memset(sp, 0, sizeof(*sp));
    return sp;
}

/* db.operation.name: the statement's first word, upper case. */
static void op_name(struct trace_span *sp, uint8_t cmd, const char *p, size_t n)
{
    if (cmd == COM_STMT_EXECUTE) {
        trace_span_set(sp->op, sizeof(sp->op), "EXECUTE", 7);
        return;
    }
    const char *end = p + n;
    for (;;) { /* spaces and comments before it */
        while (p < end && isspace((unsigned char)*p))
            p++;
        if (end - p >= 2 && p[0] == '/' && p[1] == '*') {
            const char *c = memmem(p + 2, (size_t)(end - p - 2), "*/", 2);
            p = c != NULL ? c + 2 : end;
        } else {
            break;
        }
    }
    size_t i = 0;
    while (p + i < end && i < sizeof(sp->op) - 1 && isalpha((unsigned char)p[i])) {
        sp->op[i] = (char)toupper((unsigned char)p[i]);
        i++;
    }
    sp->op[i] = '\0';
}

/* The parent of the statement whose text is t->text. */
static void parent_of(struct session *s, struct sess_trace *t, struct trace_span *sp, uint8_t cmd)
{
    struct trace_ctx c;
    int rc = t->text_len > 0 ? trace_parent_in_sql(t->text, t->text_len, &c) : 0;
    if (rc < 0)
        trace_bad_parent_note();
    if (cmd == COM_QUERY && strcmp(sp->op, "SET") == 0) {
        struct trace_ctx v;
        int vr = trace_parent_in_set(t->text, t->text_len, &v);
        if (vr == 1) {
            t->var = v;
            t->var_set = true;
        } else if (vr < 0) {
            trace_bad_parent_note();
        }
    }
    (void)s;
    const struct trace_ctx *p = rc == 1 ? &c : t->var_set ? &t->var : t->attr_set ? &t->attr : NULL;
    sp->has_parent = p != NULL;
    t->parent_flags = p != NULL ? p->flags : 0;
    if (p != NULL) {
        memcpy(sp->trace_id, p->trace_id, 16);
        memcpy(sp->parent_id, p->span_id, 8);
    }
}

void session_trace_take(struct session *s, const struct hook_cmd *hc)
{
    if (!s->cfg->tracing.enabled ||
        (hc->cmd != COM_QUERY && hc->cmd != COM_STMT_EXECUTE && hc->cmd != COM_STMT_PREPARE) ||
        hc->len == 0)
        return;
    struct sess_trace *t = trace_of(s);
    struct trace_span *sp = t != NULL ? span_fresh(t) : NULL;
    if (sp == NULL)
        return;
    sp->start_ns = trace_now_ns();
    t->sends = 0;
    memset(t->wait_at, 0, sizeof(t->wait_at));
    t->text_len = 0;
    if (hc->cmd != COM_STMT_EXECUTE && hc->fits) {
        t->text_len = HY_MIN(hc->len - 1, TRACE_TEXT_MAX);
        memcpy(t->text, hc->p + 1, t->text_len);
    }
    op_name(sp, hc->cmd, t->text, t->text_len);
    parent_of(s, t, sp, hc->cmd);
    trace_span_ids(sp);
    t->sp = sp;
}

void session_trace_wait(struct session *s, enum hook_wait what, bool begin)
{
    struct sess_trace *t = s->feat.trace;
    if (t == NULL || t->sp == NULL || (unsigned)what >= TRACE_WAIT_N)
        return;
    if (begin) {
        if (t->wait_at[what] == 0)
            t->wait_at[what] = trace_now_ns();
    } else if (t->wait_at[what] != 0) {
        trace_span_wait(t->sp, (enum trace_wait)what, t->wait_at[what], trace_now_ns());
        t->wait_at[what] = 0;
    }
}

void session_trace_send(struct session *s, const struct hook_cmd *hc)
{
    (void)hc;
    struct sess_trace *t = s->feat.trace;
    if (t != NULL && t->sp != NULL && ++t->sends > 1)
        t->sp->retried = true;
}

/* What the statement's end knows: its backend, its answer. */
static void span_fill(struct session *s, struct trace_span *sp)
{
    const char *schema = session_schema(s);
    trace_span_set(sp->ns, sizeof(sp->ns), schema, schema != NULL ? strlen(schema) : 0);
    const struct bconn *bc = s->conns.cur;
    if (bc != NULL) {
        const struct config_backend *be = bc->be;
        trace_span_set(sp->backend, sizeof(sp->backend), be->name, strlen(be->name));
        trace_span_set(sp->server, sizeof(sp->server), be->address, strlen(be->address));
        sp->port = (uint16_t)be->port;
        const char *role = bc->idx == s->route.primary ? "primary" : "replica";
        trace_span_set(sp->role, sizeof(sp->role), role, strlen(role));
        trace_span_set(sp->route, sizeof(sp->route), role, strlen(role));
    }
    const char *cons = consistency_to_str(s->route.consistency);
    trace_span_set(sp->consistency, sizeof(sp->consistency), cons, strlen(cons));
    sp->err_code = s->io.resp.err_code;
    sp->rows = s->io.resp.rows != 0 ? s->io.resp.rows : s->io.resp.affected;
}

/* A kept span's texts: the digest as db.query.summary, the statement as
 * db.query.text when configured. */
static void span_texts(struct session *s, struct sess_trace *t, struct trace_span *sp)
{
    if (t->text_len == 0)
        return;
    char dg[DIGEST_TEXT_MAX];
    size_t dlen = 0;
    (void)classify_digest(t->text, t->text_len, s->route.lex_opts, dg, sizeof(dg), &dlen);
    sp->summary = hy_dupz(dg, HY_MIN(dlen, sizeof(dg) - 1));
    if (s->cfg->tracing.query_text)
        sp->text = hy_dupz(t->text, t->text_len);
}

void session_trace_done(struct session *s)
{
    struct sess_trace *t = s->feat.trace;
    if (t == NULL || t->sp == NULL)
        return;
    struct trace_span *sp = t->sp;
    t->sp = NULL;
    for (unsigned w = 0; w < TRACE_WAIT_N; w++)
        session_trace_wait(s, (enum hook_wait)w, false);
    sp->end_ns = trace_now_ns();
    sp->err_code = s->io.resp.err_code; /* what the sampler reads; the rest once kept */
    struct trace_sampler sm = {.ratio = s->cfg->tracing.ratio,
                               .slow_ns = (int64_t)s->cfg->tracing.slow_ms * 1000000};
    struct trace_exporter *ex = trace_export_global();
    if (ex == NULL || trace_keep(&sm, sp, t->parent_flags) == TRACE_DROP) {
        t->spare = sp;
        return;
    }
    span_fill(s, sp);
    span_texts(s, t, sp);
    (void)trace_export_submit(ex, sp); /* it owns the span now, kept or dropped */
}

void session_trace_abandon(struct session *s)
{
    struct sess_trace *t = s->feat.trace;
    if (t != NULL && t->sp != NULL) {
        trace_span_destroy(t->spare);
        t->spare = t->sp;
        t->sp = NULL;
    }
}

void session_trace_reset(struct session *s)
{
    struct sess_trace *t = s->feat.trace;
    if (t != NULL)
        t->var_set = false; /* COM_RESET_CONNECTION: user variables are gone */
}

void session_trace_free(struct session *s)
{
    struct sess_trace *t = s->feat.trace;
    if (t == NULL)
        return;
    trace_span_destroy(t->sp);
    trace_span_destroy(t->spare);
    free(t);
    s->feat.trace = NULL;
}
