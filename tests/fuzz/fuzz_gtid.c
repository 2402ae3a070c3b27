/*
 * fuzz_gtid.c: libFuzzer target for the GTID position parser and its
 * comparisons (gtid.h).
 *
 * The input is split at its first '|' (or used whole) into two texts, each
 * copied into a heap buffer of exactly its length, so ASan catches any read
 * past it. Each is parsed as a position and as a state. Checked:
 *  - a refused text leaves the output empty;
 *  - an accepted one is sorted by (domain, server_id) with no repeated
 *    domain (position) or pair (state), formats back into text that parses
 *    to the same list, and is EQUAL to itself, covers itself, merges with
 *    itself into itself and has no errant transaction against itself;
 *  - comparing two positions is antisymmetric (AHEAD one way is BEHIND the
 *    other, EQUAL and DIVERGED both ways) and agrees with covers(); their
 *    merge covers both.
 */
#include "fuzz.h"

#include "halyard/core/gtid.h"

static int same(const struct gtid_pos *a, const struct gtid_pos *b)
{
    if (a->n != b->n)
        return 0;
    for (uint32_t i = 0; i < a->n; i++) {
        if (a->g[i].domain != b->g[i].domain || a->g[i].server_id != b->g[i].server_id ||
            a->g[i].seq != b->g[i].seq)
            return 0;
    }
    return 1;
}

static void check_one(const struct gtid_pos *p, int per_server)
{
    FUZZ_CHECK(p->n <= GTID_MAX);
    for (uint32_t i = 1; i < p->n; i++) {
        const struct gtid *x = &p->g[i - 1], *y = &p->g[i];
        FUZZ_CHECK(x->domain < y->domain ||
                   (per_server && x->domain == y->domain && x->server_id < y->server_id));
    }
    char buf[GTID_STR_MAX];
    size_t n = gtid_pos_format(p, buf, sizeof(buf));
    FUZZ_CHECK(n < sizeof(buf) && buf[n] == '\0');
    struct gtid_pos q;
    hy_status_t rc = per_server ? gtid_state_parse(buf, n, &q) : gtid_pos_parse(buf, n, &q);
    FUZZ_CHECK(rc == HY_OK && same(p, &q));
    if (!per_server) {
        FUZZ_CHECK(gtid_pos_compare(p, p) == GTID_EQUAL);
        FUZZ_CHECK(gtid_pos_covers(p, p));
        struct gtid_pos m;
        gtid_pos_merge(p, p, &m);
        FUZZ_CHECK(same(p, &m));
        FUZZ_CHECK(!gtid_has_errant(p, p));
    }
}

static int parse(const uint8_t *data, size_t size, struct gtid_pos *pos, struct gtid_pos *st)
{
    uint8_t *copy = fuzz_dup(data, size);
    struct gtid_pos junk = {.n = 5};
    *pos = junk;
    *st = junk;
    int ok = gtid_pos_parse((const char *)copy, size, pos) == HY_OK;
    if (!ok)
        FUZZ_CHECK(pos->n == 0);
    else
        check_one(pos, 0);
    if (gtid_state_parse((const char *)copy, size, st) == HY_OK)
        check_one(st, 1);
    else
        FUZZ_CHECK(st->n == 0);
    free(copy);
    return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *bar = memchr(data, '|', size);
    size_t n1 = bar != NULL ? (size_t)(bar - data) : size;
    struct gtid_pos a, b, sa, sb;
    int ok_a = parse(data, n1, &a, &sa);
    if (bar == NULL)
        return 0;
    int ok_b = parse(bar + 1, size - n1 - 1, &b, &sb);
    if (!ok_a || !ok_b)
        return 0;
    enum gtid_order ab = gtid_pos_compare(&a, &b), ba = gtid_pos_compare(&b, &a);
    FUZZ_CHECK((ab == GTID_AHEAD) == (ba == GTID_BEHIND));
    FUZZ_CHECK((ab == GTID_EQUAL) == (ba == GTID_EQUAL));
    FUZZ_CHECK((ab == GTID_DIVERGED) == (ba == GTID_DIVERGED));
    FUZZ_CHECK((ab == GTID_AHEAD || ab == GTID_EQUAL) == gtid_pos_covers(&a, &b));
    struct gtid_pos m;
    gtid_pos_merge(&a, &b, &m);
    FUZZ_CHECK(gtid_pos_covers(&m, &a) && gtid_pos_covers(&m, &b));
    return 0;
}
