/*
 * session_kill_chain.c: a KILL <id> inside a multi-statement text
 * (session_kill.h), as node mysql2's `kill <id>; select sleep(0.05)`.
 *
 * halyard maps its session ids to the servers' threads only for a KILL it
 * runs alone (session_kill.c's command_kill: the target's backend, its pooled
 * connection held until the server answers). So such a text is run a
 * part at a time: kill_split() cuts it into the first KILL alone, or the
 * statements before it, and the rest. The client's packet in `up` is cut
 * down to the first part (kill_chain_begin); each time a part's answer is
 * over and said more results follow, the next part is put in `up` as a
 * COM_QUERY of its own (kill_chain_step) and runs as any command does,
 * routed or answered here. The client reads one answer, as the server
 * gives it: every part's last OK or EOF but the last part's carries
 * SERVER_MORE_RESULTS_EXISTS, and the sequence ids run on from part to
 * part (answer_expect shifts a backend's by chain_seq; an answer halyard
 * makes itself, an ERR or an OK, has its first id moved on by
 * kill_chain_seq and its OK's flags by kill_chain_ok, the kill row's
 * on_reply (session_hooks.c), which the one writer of each runs: a KILL's
 * own answers, a query rule's refusal...). An
 * error ends the text there, as the
 * server stops at a statement's error: the parts after it never run.
 */
#include <stdlib.h>
#include <string.h>

#include "halyard/core/log.h"
#include "halyard/core/text.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/session/session_err.h"
#include "halyard/session/worker.h"
#include "session_kill.h"

void kill_chain_begin(struct session *s, uint8_t *p, uint32_t *len)
{
    struct stream *up = &s->io.up;
    const char *sql = (const char *)p + 1;
    size_t n = *len - 1, first = 0, rest = 0;
    if (s->kill.chain_on || *len < 2 || !(s->who.caps & CLIENT_MULTI_STATEMENTS) ||
        stream_unparsed(up) != MYSQL_HEADER_SIZE + *len || memchr(sql, ';', n) == NULL ||
        !hy_text_mentions(sql, n, "KILL") || !kill_split(sql, n, s->route.lex_opts, &first, &rest))
        return; /* routed whole (a KILL there is refused, session_route.c); one
                 * statement, no ';', is not a chain (kill_split) */
    char *copy = malloc(n - rest + 1);
    if (copy == NULL)
        return;
    memcpy(copy, sql + rest, n - rest);
    s->kill.chain = copy;
    s->kill.chain_len = (uint32_t)(n - rest);
    s->kill.chain_on = true;
    s->kill.chain_go = false;
    s->kill.chain_seq = 0;
    *len = (uint32_t)(1 + first);
    mysql_hdr_write(up->b->data + up->scan, *len, 0);
    up->tail = up->scan + MYSQL_HEADER_SIZE + *len;
    slog_debug(s, "a KILL in a multi-statement text: run a part at a time (%zu bytes first)",
               first);
}

hy_status_t kill_chain_step(struct session *s)
{
    struct stream *up = &s->io.up;
    if (s->kill.chain == NULL || !s->kill.chain_go) {
        kill_chain_free(s); /* the last part was answered, or a part ended in an error */
        return HY_OK;
    }
    s->kill.chain_go = false;
    const char *sql = s->kill.chain;
    size_t n = s->kill.chain_len, first = n, rest = n;
    bool more = kill_split(sql, n, s->route.lex_opts, &first, &rest);
    if (!more)
        first = n;
    if (stream_reserve(up, &s->w->pool) != HY_OK) {
        kill_chain_free(s);
        return HY_NOMEM;
    }
    if (up->head == up->tail)
        up->head = up->scan = up->tail = 0;
    if ((size_t)(up->b->cap - up->tail) < MYSQL_HEADER_SIZE + 1 + first) {
        kill_chain_free(s); /* a part is shorter than the text, which fitted: never */
        return HY_OK;
    }
    uint8_t *h = up->b->data + up->tail;
    mysql_hdr_write(h, (uint32_t)(1 + first), 0);
    h[MYSQL_HEADER_SIZE] = COM_QUERY;
    memcpy(h + MYSQL_HEADER_SIZE + 1, sql, first);
    up->tail += (uint32_t)(MYSQL_HEADER_SIZE + 1 + first);
    if (more) {
        memmove(s->kill.chain, sql + rest, n - rest);
        s->kill.chain_len = (uint32_t)(n - rest);
    } else {
        free(s->kill.chain);
        s->kill.chain = NULL; /* the part now in `up` is the last */
        s->kill.chain_len = 0;
    }
    return HY_OK;
}

/* A KILL's text with more parts: the next, once the client sent nothing
 * more (session_kill_chain.c); out of memory for it, the session ends. */
enum hook_verdict kill_chain_between(struct session *s)
{
    const struct stream *st = &s->io.up;
    if (s->kill.chain_on && (st->b == NULL || stream_unparsed(st) == 0) &&
        kill_chain_step(s) == HY_NOMEM) {
        session_mark_closing(s, END_NOMEM);
        return HOOK_WAIT;
    }
    return HOOK_PASS;
}

uint8_t kill_chain_seq(const struct session *s, uint8_t seq)
{
    return seq == 1 ? (uint8_t)(s->kill.chain_seq + 1) : seq;
}

uint16_t kill_chain_ok(struct session *s, uint8_t seq)
{
    if (!s->kill.chain_on)
        return 0;
    s->kill.chain_seq = seq;
    if (s->kill.chain == NULL)
        return 0; /* the last part's */
    s->kill.chain_go = true;
    return SERVER_MORE_RESULTS_EXISTS;
}

void kill_chain_answer_end(struct session *s, uint8_t *pl, uint32_t avail)
{
    s->kill.chain_seq = s->io.rdown.seq;
    uint32_t at = s->io.resp.status_at;
    if (s->kill.chain == NULL || s->io.resp.err_code != 0 || at == 0 || at + 2 > avail)
        return; /* the last part, or an error: the text ends here */
    uint16_t st = (uint16_t)(pl[at] | pl[at + 1] << 8);
    st |= SERVER_MORE_RESULTS_EXISTS;
    pl[at] = (uint8_t)st;
    pl[at + 1] = (uint8_t)(st >> 8);
    s->kill.chain_go = true;
}

void kill_chain_free(struct session *s)
{
    free(s->kill.chain);
    s->kill.chain = NULL;
    s->kill.chain_len = 0;
    s->kill.chain_on = s->kill.chain_go = false;
    s->kill.chain_seq = 0;
}
