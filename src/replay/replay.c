/*
 * replay.c: see replay.h.
 */
#include <stdlib.h>
#include <string.h>

#include "halyard/core/grow.h"
#include "halyard/core/hash.h"
#include "halyard/protocol/mysql_proto.h"
#include "halyard/replay/replay.h"
#include "halyard/sql/lexer.h"
#include "halyard/sql/sqlfunc.h"

#define SUM_B0 0x84222325cbf29ce4ull
#define SUM_PB 0x9e3779b97f4a7c15ull

void replay_init(struct replay_log *l, size_t max, bool result_only)
{
    memset(l, 0, sizeof(*l));
    textbuf_init(&l->buf, max);
    l->max = max;
    l->result_only = result_only;
}

void replay_reset(struct replay_log *l)
{
    textbuf_reset(&l->buf);
    l->n = 0;
    l->over = false;
}

void replay_free(struct replay_log *l)
{
    textbuf_free(&l->buf);
    free(l->st);
    replay_init(l, l->max, l->result_only);
}

/* Past the bound or refused: nothing more is kept, and what was is freed. */
void replay_refuse(struct replay_log *l)
{
    textbuf_free(&l->buf);
    free(l->st);
    l->st = NULL;
    l->n = l->n_cap = 0;
    l->over = true;
}

hy_status_t replay_add(struct replay_log *l, const uint8_t *pkt, uint32_t len)
{
    if (l->over)
        return HY_OK;
    if (len == 0 || len > l->max || l->buf.len > l->max - len) {
        replay_refuse(l);
        return HY_OK;
    }
    if (l->n == l->n_cap && !HY_GROW(l->st, l->n_cap, 16)) {
        replay_refuse(l);
        return HY_NOMEM;
    }
    size_t off = l->buf.len;
    textbuf_append(&l->buf, pkt, len);
    if (l->buf.overflow) { /* within max (above): out of memory */
        replay_refuse(l);
        return HY_NOMEM;
    }
    l->st[l->n] = (struct replay_stmt){.off = off, .len = len};
    l->n++;
    return HY_OK;
}

void replay_answer(struct replay_log *l, const struct replay_sum *s)
{
    if (l->over || l->n == 0)
        return;
    struct replay_stmt *st = &l->st[l->n - 1];
    st->answered = true;
    st->sum_a = s->a;
    st->sum_b = s->b;
}

void replay_pop(struct replay_log *l)
{
    if (l->over || l->n == 0 || l->st[l->n - 1].answered)
        return;
    l->n--;
    textbuf_truncate(&l->buf, l->st[l->n].off);
}

bool replay_keep_last(struct replay_log *l)
{
    if (l->over || l->n == 0 || !l->st[l->n - 1].answered)
        return false;
    struct replay_stmt last = l->st[l->n - 1];
    memmove(l->buf.data, l->buf.data + last.off, last.len);
    last.off = 0;
    l->st[0] = last;
    l->n = 1;
    textbuf_truncate(&l->buf, last.len);
    return true;
}

bool replay_ok(const struct replay_log *l)
{
    if (l->over)
        return false;
    for (uint32_t i = 0; i < l->n; i++)
        if (!l->st[i].answered)
            return false;
    return true;
}

bool replay_stmt(const struct replay_log *l, uint32_t i, const uint8_t **pkt, uint32_t *len)
{
    if (l->over || i >= l->n)
        return false;
    *pkt = (const uint8_t *)l->buf.data + l->st[i].off;
    *len = l->st[i].len;
    return true;
}

bool replay_check(const struct replay_log *l, uint32_t i, const struct replay_sum *s)
{
    return !l->over && i < l->n && l->st[i].answered && l->st[i].sum_a == s->a &&
           l->st[i].sum_b == s->b;
}

void replay_sum_begin(struct replay_sum *s, bool result_only)
{
    s->a = HY_HASH64_INIT; /* a: FNV-1a */
    s->b = SUM_B0;
    s->result_only = result_only;
}

static void sum_bytes(struct replay_sum *s, const uint8_t *p, size_t n)
{
    uint64_t a = s->a, b = s->b;
    for (size_t i = 0; i < n; i++) {
        a = hy_hash64_byte(a, p[i]);
        b = (b + p[i] + 1) * SUM_PB;
        b ^= b >> 29;
    }
    s->a = a;
    s->b = b;
}

static void sum_u64(struct replay_sum *s, uint64_t v)
{
    uint8_t w[8];
    for (int i = 0; i < 8; i++)
        w[i] = (uint8_t)(v >> (8 * i));
    sum_bytes(s, w, sizeof(w));
}

void replay_sum_packet(struct replay_sum *s, enum replay_pkt kind, const uint8_t *payload,
                       size_t len)
{
    if (kind == REPLAY_PKT_OTHER)
        return;
    /* the packet's kind and length first: boundaries count */
    uint8_t k = (uint8_t)kind;
    sum_bytes(s, &k, 1);
    if (kind == REPLAY_PKT_COLDEF && s->result_only)
        return; /* the number of columns counts, not their names or types */
    if (kind == REPLAY_PKT_OK) {
        /* affected rows and insert id (not with result_only: an
         * AUTO_INCREMENT id may differ on another server); status,
         * warnings and info differ between servers for the same outcome */
        struct mysql_rd rd;
        mysql_rd_init(&rd, payload, len);
        (void)mysql_rd_u8(&rd);
        uint64_t affected = mysql_rd_lenenc(&rd);
        uint64_t insert_id = mysql_rd_lenenc(&rd);
        sum_u64(s, rd.bad ? UINT64_MAX : affected);
        if (!s->result_only)
            sum_u64(s, rd.bad ? UINT64_MAX : insert_id);
        return;
    }
    if (kind == REPLAY_PKT_ERR) {
        sum_u64(s, len >= 3 ? (uint64_t)payload[1] | (uint64_t)payload[2] << 8 : UINT64_MAX);
        return;
    }
    sum_u64(s, len);
    sum_bytes(s, payload, len);
}

const char *replay_nondeterministic(const char *sql, size_t len, unsigned opts)
{
    kw_ready();
    struct lexer lx;
    lex_init(&lx, sql, len, opts, NULL);
    struct token t, next;
    lex_next(&lx, &t);
    while (t.type != T_END) {
        lex_next(&lx, &next);
        if (t.type == T_WORD) {
            const unsigned char *w = (const unsigned char *)sql + t.off;
            /* a column of the same name counts too: replay refused, never
             * a wrong answer */
            const char *f = sqlfunc_nondeterministic(w, t.len, next.type == T_LPAREN);
            if (f != NULL)
                return f;
        }
        t = next;
    }
    return NULL;
}
