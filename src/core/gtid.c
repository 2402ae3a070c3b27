/*
 * gtid.c: parse, compare and format MariaDB GTID positions (gtid.h).
 *
 * The parser is a small hand-written scanner over a length-bounded buffer:
 * it never reads past `len`, never trusts a NUL, and refuses anything that
 * is not exactly a list of DOMAIN-SERVER-SEQ triples. Entries are inserted
 * in sorted order (positions hold a few domains, so insertion is cheap),
 * which lets every comparison walk two lists side by side.
 */
#include <stdio.h>
#include <string.h>

#include "halyard/core/text.h"
#include "halyard/core/gtid.h"

const char *gtid_order_to_str(enum gtid_order o)
{
    switch (o) {
    case GTID_EQUAL:
        return "equal";
    case GTID_AHEAD:
        return "ahead";
    case GTID_BEHIND:
        return "behind";
    case GTID_DIVERGED:
        return "diverged";
    }
    return "?";
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Reads an unsigned decimal number at s[*i] (at most 20 digits) no larger
 * than max. */
static bool scan_number(const char *s, size_t len, size_t *i, uint64_t max, uint64_t *out)
{
    size_t n = hy_digits(s + *i, len - *i);
    if (n > 20 || !hy_parse_u64(s + *i, n, max, out))
        return false;
    *i += n;
    return true;
}

static int gtid_key_cmp(const struct gtid *a, const struct gtid *b)
{
    if (a->domain != b->domain)
        return a->domain < b->domain ? -1 : 1;
    if (a->server_id != b->server_id)
        return a->server_id < b->server_id ? -1 : 1;
    return 0;
}

/* Inserts g keeping the list sorted; false on a duplicate key (domain, or
 * domain and server_id for a state) or when the list is full. */
static bool insert_sorted(struct gtid_pos *p, const struct gtid *g, bool per_server)
{
    uint32_t at = 0;
    while (at < p->n && gtid_key_cmp(&p->g[at], g) < 0)
        at++;
    for (uint32_t k = 0; k < p->n; k++) {
        if (p->g[k].domain != g->domain)
            continue;
        if (!per_server || p->g[k].server_id == g->server_id)
            return false;
    }
    if (p->n >= GTID_MAX)
        return false;
    memmove(&p->g[at + 1], &p->g[at], (p->n - at) * sizeof(p->g[0]));
    p->g[at] = *g;
    p->n++;
    return true;
}

static hy_status_t parse_list(const char *s, size_t len, bool per_server, struct gtid_pos *out)
{
    out->n = 0;
    if (s == NULL && len > 0)
        return HY_ERROR;
    size_t i = 0;
    while (i < len && is_blank(s[i]))
        i++;
    if (i == len)
        return HY_OK; /* the empty position */
    for (;;) {
        uint64_t domain, server, seq;
        if (!scan_number(s, len, &i, UINT32_MAX, &domain) || i >= len || s[i++] != '-' ||
            !scan_number(s, len, &i, UINT32_MAX, &server) || i >= len || s[i++] != '-' ||
            !scan_number(s, len, &i, UINT64_MAX, &seq))
            goto bad;
        struct gtid g = {(uint32_t)domain, (uint32_t)server, seq};
        if (!insert_sorted(out, &g, per_server))
            goto bad;
        while (i < len && is_blank(s[i]))
            i++;
        if (i == len)
            return HY_OK;
        if (s[i++] != ',')
            goto bad;
        while (i < len && is_blank(s[i]))
            i++;
    }
bad:
    out->n = 0;
    return HY_ERROR;
}

hy_status_t gtid_pos_parse(const char *s, size_t len, struct gtid_pos *out)
{
    return parse_list(s, len, false, out);
}

hy_status_t gtid_state_parse(const char *s, size_t len, struct gtid_pos *out)
{
    return parse_list(s, len, true, out);
}

uint64_t gtid_pos_seq(const struct gtid_pos *p, uint32_t domain)
{
    uint64_t best = 0;
    for (uint32_t k = 0; k < p->n; k++) {
        if (p->g[k].domain == domain && p->g[k].seq > best)
            best = p->g[k].seq;
    }
    return best;
}

bool gtid_pos_covers(const struct gtid_pos *a, const struct gtid_pos *b)
{
    for (uint32_t k = 0; k < b->n; k++) {
        if (gtid_pos_seq(a, b->g[k].domain) < b->g[k].seq)
            return false;
    }
    return true;
}

enum gtid_order gtid_pos_compare(const struct gtid_pos *a, const struct gtid_pos *b)
{
    bool a_has_all = gtid_pos_covers(a, b);
    bool b_has_all = gtid_pos_covers(b, a);
    if (a_has_all && b_has_all)
        return GTID_EQUAL;
    if (a_has_all)
        return GTID_AHEAD;
    if (b_has_all)
        return GTID_BEHIND;
    return GTID_DIVERGED;
}

void gtid_pos_merge(const struct gtid_pos *a, const struct gtid_pos *b, struct gtid_pos *out)
{
    struct gtid_pos m = *a;
    for (uint32_t k = 0; k < b->n; k++) {
        const struct gtid *g = &b->g[k];
        uint32_t j = 0;
        while (j < m.n && m.g[j].domain != g->domain)
            j++;
        if (j < m.n) {
            if (g->seq > m.g[j].seq) {
                /* The replacement may have another server_id: reinsert to keep the order. */
                memmove(&m.g[j], &m.g[j + 1], (m.n - j - 1) * sizeof(m.g[0]));
                m.n--;
                (void)insert_sorted(&m, g, false);
            }
        } else {
            (void)insert_sorted(&m, g, false); /* full only if a or b was not a position */
        }
    }
    *out = m;
}

uint64_t gtid_pos_weight(const struct gtid_pos *p)
{
    uint64_t w = 0;
    for (uint32_t k = 0; k < p->n; k++)
        w += p->g[k].seq;
    return w;
}

bool gtid_has_errant(const struct gtid_pos *pos, const struct gtid_pos *state)
{
    for (uint32_t k = 0; k < pos->n; k++) {
        const struct gtid *g = &pos->g[k];
        bool found = false;
        for (uint32_t j = 0; j < state->n; j++) {
            const struct gtid *h = &state->g[j];
            if (h->domain == g->domain && h->server_id == g->server_id && h->seq >= g->seq) {
                found = true;
                break;
            }
        }
        if (!found)
            return true;
    }
    return false;
}

bool gtid_lacks_own(const struct gtid_pos *pos, const struct gtid_pos *state, uint32_t server_id)
{
    for (uint32_t j = 0; j < state->n; j++) {
        const struct gtid *h = &state->g[j];
        if (h->server_id != server_id)
            continue;
        uint64_t have = 0;
        for (uint32_t k = 0; k < pos->n; k++) {
            if (pos->g[k].domain == h->domain)
                have = pos->g[k].seq;
        }
        if (h->seq > have)
            return true;
    }
    return false;
}

bool gtid_state_lacks(const struct gtid_pos *state, const struct gtid_pos *other,
                      uint32_t server_id)
{
    for (uint32_t j = 0; j < other->n; j++) {
        const struct gtid *h = &other->g[j];
        if (h->server_id != server_id)
            continue;
        uint64_t have = 0;
        for (uint32_t k = 0; k < state->n; k++) {
            if (state->g[k].domain == h->domain && state->g[k].server_id == server_id)
                have = state->g[k].seq;
        }
        if (h->seq > have)
            return true;
    }
    return false;
}

bool gtid_slave_pos_rewind(const struct gtid_pos *pos, const struct gtid_pos *binlog_pos,
                           const struct gtid_pos *state, uint32_t server_id, struct gtid_pos *out)
{
    bool changed = false;
    out->n = 0;
    for (uint32_t k = 0; k < pos->n; k++) {
        const struct gtid *g = &pos->g[k];
        uint64_t own = 0;
        for (uint32_t j = 0; j < state->n; j++) {
            if (state->g[j].domain == g->domain && state->g[j].server_id == server_id)
                own = state->g[j].seq;
        }
        if (server_id == 0 || g->server_id != server_id || g->seq <= own) {
            out->g[out->n++] = *g;
            continue;
        }
        changed = true;
        for (uint32_t j = 0; j < binlog_pos->n; j++) {
            if (binlog_pos->g[j].domain == g->domain)
                out->g[out->n++] = binlog_pos->g[j];
        }
    }
    return changed;
}

bool gtid_pos_ahead(const struct gtid_pos *pos, const struct gtid_pos *source, uint32_t *domain)
{
    for (uint32_t k = 0; k < pos->n; k++) {
        const struct gtid *g = &pos->g[k];
        bool known = source->n == 0;
        for (uint32_t j = 0; j < source->n && !known; j++)
            known = source->g[j].domain == g->domain;
        if (known && g->seq > gtid_pos_seq(source, g->domain)) {
            *domain = g->domain;
            return true;
        }
    }
    return false;
}

size_t gtid_pos_format(const struct gtid_pos *p, char *buf, size_t len)
{
    size_t used = 0;
    if (len == 0)
        return 0;
    buf[0] = '\0';
    for (uint32_t k = 0; k < p->n; k++) {
        char one[48];
        int w = snprintf(one, sizeof(one), "%s%u-%u-%llu", k > 0 ? "," : "", p->g[k].domain,
                         p->g[k].server_id, (unsigned long long)p->g[k].seq);
        if (w < 0)
            break;
        size_t take = HY_MIN((size_t)w, len - 1 - used);
        memcpy(buf + used, one, take);
        used += take;
        buf[used] = '\0';
        if (take < (size_t)w)
            break;
    }
    return used;
}
