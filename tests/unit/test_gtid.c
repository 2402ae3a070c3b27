/*
 * test_gtid.c: MariaDB GTID positions.
 *
 *   - parse: positions and states as MariaDB prints them, sorted by domain,
 *     blanks and newlines after commas, the empty position
 *   - malformed: every kind of bad input is refused and leaves the output
 *     empty (overflow, missing parts, signs, trailing garbage, repeated
 *     domains, too many entries); a sweep over every prefix and every
 *     single-byte change of a valid list never crashes
 *   - compare: covers, equal/ahead/behind/diverged, missing domains
 *   - merge and pick: most advanced candidate, ties by order, diverged
 *     positions, NULL entries
 *   - errant transactions against a binlog state
 *   - format: round trip and truncation
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/core/gtid.h"

static struct gtid_pos pos(const char *s)
{
    struct gtid_pos p;
    assert_int_equal(gtid_pos_parse(s, strlen(s), &p), HY_OK);
    return p;
}

static struct gtid_pos state(const char *s)
{
    struct gtid_pos p;
    assert_int_equal(gtid_state_parse(s, strlen(s), &p), HY_OK);
    return p;
}

static void assert_formats(const struct gtid_pos *p, const char *want)
{
    char buf[GTID_STR_MAX];
    size_t n = gtid_pos_format(p, buf, sizeof(buf));
    assert_string_equal(buf, want);
    assert_int_equal(n, strlen(want));
}

static void test_parse(void **st)
{
    (void)st;
    struct gtid_pos p = pos("0-1-100");
    assert_int_equal(p.n, 1);
    assert_int_equal(p.g[0].domain, 0);
    assert_int_equal(p.g[0].server_id, 1);
    assert_int_equal(p.g[0].seq, 100);

    p = pos("1-2-5,0-1-100");
    assert_int_equal(p.n, 2);
    assert_int_equal(p.g[0].domain, 0); /* sorted */
    assert_int_equal(p.g[1].domain, 1);
    assert_formats(&p, "0-1-100,1-2-5");

    p = pos("0-1-100,\n1-2-5 , 7-3-1");
    assert_int_equal(p.n, 3);
    assert_int_equal(gtid_pos_seq(&p, 7), 1);
    assert_int_equal(gtid_pos_seq(&p, 9), 0);

    p = pos("");
    assert_int_equal(p.n, 0);
    p = pos("   ");
    assert_int_equal(p.n, 0);

    p = pos("4294967295-4294967295-18446744073709551615");
    assert_int_equal(p.g[0].domain, UINT32_MAX);
    assert_int_equal(p.g[0].server_id, UINT32_MAX);
    assert_true(p.g[0].seq == UINT64_MAX);

    /* Not NUL-terminated: only len bytes are read. */
    const char raw[] = {'0', '-', '1', '-', '9', '9', 'X'};
    assert_int_equal(gtid_pos_parse(raw, 6, &p), HY_OK);
    assert_int_equal(gtid_pos_seq(&p, 0), 99);

    /* A state may list a domain once per server. */
    p = state("0-2-110,0-1-100,1-1-3");
    assert_int_equal(p.n, 3);
    assert_int_equal(p.g[0].server_id, 1);
    assert_int_equal(p.g[1].server_id, 2);
    assert_int_equal(gtid_pos_seq(&p, 0), 110);
}

static void test_malformed(void **st)
{
    (void)st;
    static const char *const bad[] = {
        "0",
        "0-1",
        "0-1-",
        "-1-2",
        "0--2",
        "0-1-2-3",
        "0-1-2,",
        ",0-1-2",
        "0-1-2,,1-1-1",
        "0-1-2;1-1-1",
        "+0-1-2",
        "0-+1-2",
        "0-1--2",
        "0-1-2x",
        "a-b-c",
        "0 -1-2",
        "0-1-2 1-1-1",
        "4294967296-1-1",
        "1-4294967296-1",
        "1-1-18446744073709551616",
        "1-1-99999999999999999999999",
        "0-1-2,0-2-3", /* a position holds one GTID per domain */
        "0-1-\xff",
        ("\xef\xbb\xbf"
         "0-1-2"), /* a byte-order mark */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct gtid_pos p = {.n = 7};
        if (gtid_pos_parse(bad[i], strlen(bad[i]), &p) != HY_ERROR)
            fail_msg("accepted %s", bad[i]);
        assert_int_equal(p.n, 0);
    }
    /* A state refuses only a repeated (domain, server). */
    struct gtid_pos p;
    assert_int_equal(gtid_state_parse("0-1-2,0-1-3", 11, &p), HY_ERROR);
    assert_int_equal(gtid_state_parse("0-1-2,0-2-3", 11, &p), HY_OK);
    /* NULL with a length is refused, NULL empty is the empty position. */
    assert_int_equal(gtid_pos_parse(NULL, 3, &p), HY_ERROR);
    assert_int_equal(gtid_pos_parse(NULL, 0, &p), HY_OK);

    /* Too many domains. */
    char many[4096];
    size_t used = 0;
    for (int d = 0; d <= GTID_MAX; d++)
        used += (size_t)snprintf(many + used, sizeof(many) - used, "%s%d-1-1", d ? "," : "", d);
    assert_int_equal(gtid_pos_parse(many, used, &p), HY_ERROR);
    /* One fewer fits. */
    char *last = strrchr(many, ',');
    assert_int_equal(gtid_pos_parse(many, (size_t)(last - many), &p), HY_OK);
    assert_int_equal(p.n, GTID_MAX);
}

/* Every prefix and every one-byte change of a valid list: no crash, and an
 * accepted result formats back to something that parses the same way. */
static void test_sweep(void **st)
{
    (void)st;
    const char *good = "0-1-100,1-2-5,\n12-345-67890";
    size_t len = strlen(good);
    static const char subst[] = {'0', '9', '-', ',', ' ', '\n', 'x', '\0', '\xff'};
    char buf[64];
    for (size_t cut = 0; cut <= len; cut++) {
        for (size_t at = 0; at < len; at++) {
            for (size_t s = 0; s < sizeof(subst); s++) {
                memcpy(buf, good, len);
                buf[at] = subst[s];
                struct gtid_pos p, q;
                if (gtid_pos_parse(buf, cut, &p) == HY_OK) {
                    char out[GTID_STR_MAX];
                    size_t n = gtid_pos_format(&p, out, sizeof(out));
                    assert_int_equal(gtid_pos_parse(out, n, &q), HY_OK);
                    assert_int_equal(gtid_pos_compare(&p, &q), GTID_EQUAL);
                }
            }
        }
    }
}

static void test_compare(void **st)
{
    (void)st;
    struct gtid_pos a = pos("0-1-100,1-2-5");
    struct gtid_pos b = pos("0-1-100");
    struct gtid_pos c = pos("0-1-99,1-2-6");
    struct gtid_pos e = pos("");
    struct gtid_pos other_server = pos("0-2-100,1-1-5");

    assert_true(gtid_pos_covers(&a, &b));
    assert_false(gtid_pos_covers(&b, &a)); /* b has nothing in domain 1 */
    assert_true(gtid_pos_covers(&a, &e));
    assert_true(gtid_pos_covers(&e, &e));
    assert_false(gtid_pos_covers(&e, &b));

    assert_int_equal(gtid_pos_compare(&a, &b), GTID_AHEAD);
    assert_int_equal(gtid_pos_compare(&b, &a), GTID_BEHIND);
    assert_int_equal(gtid_pos_compare(&a, &c), GTID_DIVERGED);
    assert_int_equal(gtid_pos_compare(&a, &a), GTID_EQUAL);
    /* Progress is the sequence number in a domain, whoever wrote it. */
    assert_int_equal(gtid_pos_compare(&a, &other_server), GTID_EQUAL);
    assert_string_equal(gtid_order_to_str(GTID_DIVERGED), "diverged");
}

static void test_merge(void **st)
{
    (void)st;
    struct gtid_pos applied = pos("0-1-90,2-1-4");
    struct gtid_pos received = pos("0-1-100,1-3-7");
    struct gtid_pos m;
    gtid_pos_merge(&applied, &received, &m);
    assert_formats(&m, "0-1-100,1-3-7,2-1-4");
    gtid_pos_merge(&received, &applied, &m);
    assert_formats(&m, "0-1-100,1-3-7,2-1-4");
}

static void test_errant(void **st)
{
    (void)st;
    /* The new primary (server 2) got 0-1-100 from the old one, then wrote its own. */
    struct gtid_pos new_state = state("0-1-100,0-2-110");
    struct gtid_pos old_ok = pos("0-1-100");
    struct gtid_pos old_behind = pos("0-1-97");
    struct gtid_pos old_errant = pos("0-1-101");
    struct gtid_pos old_other_domain = pos("0-1-100,5-1-1");
    struct gtid_pos empty = pos("");
    assert_false(gtid_has_errant(&old_ok, &new_state));
    assert_false(gtid_has_errant(&old_behind, &new_state));
    assert_false(gtid_has_errant(&empty, &new_state));
    assert_true(gtid_has_errant(&old_errant, &new_state));
    assert_true(gtid_has_errant(&old_other_domain, &new_state));
}

static void test_lacks_own(void **st)
{
    (void)st;
    /* dual-master: server 1 writes domain 1, server 2 domain 2; the active
     * (2) has 1-1-100 from server 1 and its own 2-2-50 */
    struct gtid_pos active_state = state("1-1-100,2-2-50");
    struct gtid_pos ok = pos("1-1-100,2-2-40");    /* behind on the active's: fine */
    struct gtid_pos lost = pos("1-1-99,2-2-50");   /* its own 1-1-100 dropped */
    struct gtid_pos lost_all = pos("2-2-50");      /* none of its own left */
    struct gtid_pos ahead = pos("1-1-101,2-2-50"); /* errant, not lost */
    assert_false(gtid_lacks_own(&ok, &active_state, 1));
    assert_true(gtid_lacks_own(&lost, &active_state, 1));
    assert_true(gtid_lacks_own(&lost_all, &active_state, 1));
    assert_false(gtid_lacks_own(&ahead, &active_state, 1));
    /* server 2's view of the same: it has all of its own */
    assert_false(gtid_lacks_own(&ok, &active_state, 3));
}

static void test_ahead(void **st)
{
    (void)st;
    uint32_t d = 99;
    struct gtid_pos primary = pos("0-1-187");
    struct gtid_pos behind = pos("0-1-150");
    struct gtid_pos same = pos("0-1-187");
    struct gtid_pos reset = pos("0-1-10960"); /* the primary's binary log was reset */
    struct gtid_pos own = pos("0-2-188");     /* a write of the replica's own */
    struct gtid_pos other = pos("0-1-150,5-2-9");
    struct gtid_pos empty = pos("");
    assert_false(gtid_pos_ahead(&behind, &primary, &d));
    assert_false(gtid_pos_ahead(&same, &primary, &d));
    assert_false(gtid_pos_ahead(&empty, &primary, &d));
    assert_int_equal(d, 99);
    assert_true(gtid_pos_ahead(&reset, &primary, &d));
    assert_int_equal(d, 0);
    assert_true(gtid_pos_ahead(&own, &primary, &d));
    /* a domain the primary has never written: not comparable */
    assert_false(gtid_pos_ahead(&other, &primary, &d));
    /* RESET MASTER and nothing written since: the primary has no position */
    assert_true(gtid_pos_ahead(&behind, &empty, &d));
    assert_false(gtid_pos_ahead(&empty, &empty, &d));
}

static void test_state_lacks(void **st)
{
    (void)st;
    /* server 2, the standby, wrote 2-2-50 when it was active; the active
     * (1) has 1-1-100 of its own and 1-2-51, a commit of server 2's that
     * server 2 lost at crash recovery */
    struct gtid_pos active = state("1-1-100,1-2-51,2-2-50");
    struct gtid_pos lost = state("1-1-100,2-2-50");        /* skipped it */
    struct gtid_pos later = state("1-1-120,2-2-50");       /* later writes do not hide it */
    struct gtid_pos back = state("1-1-100,1-2-51,2-2-50"); /* applied it (MDEV-27760) */
    struct gtid_pos own_only = state("1-1-90,2-2-50");     /* behind on server 1's only */
    assert_true(gtid_state_lacks(&lost, &active, 2));
    assert_true(gtid_state_lacks(&later, &active, 2));
    assert_false(gtid_state_lacks(&back, &active, 2));
    struct gtid_pos active_ok = state("1-1-100,2-2-50");
    assert_false(gtid_state_lacks(&own_only, &active_ok, 2));
}

static void assert_rewinds(const char *slave, const char *binlog, const char *st, uint32_t sid,
                           bool changed, const char *want)
{
    struct gtid_pos sp = pos(slave), bp = pos(binlog), s = state(st), out;
    char buf[GTID_STR_MAX];
    assert_int_equal(gtid_slave_pos_rewind(&sp, &bp, &s, sid, &out), changed);
    gtid_pos_format(&out, buf, sizeof(buf));
    assert_string_equal(buf, want);
}

static void test_slave_pos_rewind(void **st)
{
    (void)st;
    /* server 1 wrote 1-1-113..116, got 113..115 back from the standby
     * (skipped, slave position 1-1-115), crashed; recovery truncated its
     * binlog to 1-1-112 */
    assert_rewinds("1-1-115,2-2-400", "1-1-112,2-2-400", "1-1-112,2-2-400", 1, true,
                   "1-1-112,2-2-400");
    /* nothing lost: its slave position is within its binlog */
    assert_rewinds("1-1-112,2-2-400", "1-1-112,2-2-400", "1-1-112,2-2-400", 1, false,
                   "1-1-112,2-2-400");
    /* a domain another server writes is left alone, whatever its number */
    assert_rewinds("2-2-500", "1-1-112,2-2-400", "1-1-112,2-2-400", 1, false, "2-2-500");
    /* its last GTID in the domain is another server's */
    assert_rewinds("1-1-115", "1-3-114", "1-1-100,1-3-114", 1, true, "1-3-114");
    /* its binlog has nothing in that domain (a fresh server): dropped */
    assert_rewinds("1-1-5,2-2-9", "2-2-9", "2-2-9", 1, true, "2-2-9");
    /* server_id unknown: nothing done */
    assert_rewinds("1-1-115", "1-1-112", "1-1-112", 0, false, "1-1-115");
}

static void test_format(void **st)
{
    (void)st;
    struct gtid_pos p = pos("0-1-100,1-2-5");
    char small[8];
    size_t n = gtid_pos_format(&p, small, sizeof(small));
    assert_int_equal(n, 7);
    assert_string_equal(small, "0-1-100");
    char tiny[1] = {'x'};
    assert_int_equal(gtid_pos_format(&p, tiny, 1), 0);
    assert_int_equal(tiny[0], '\0');
    struct gtid_pos e = pos("");
    assert_formats(&e, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),       cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_sweep),       cmocka_unit_test(test_compare),
        cmocka_unit_test(test_merge),       cmocka_unit_test(test_errant),
        cmocka_unit_test(test_lacks_own),   cmocka_unit_test(test_ahead),
        cmocka_unit_test(test_state_lacks), cmocka_unit_test(test_slave_pos_rewind),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests_name("gtid", tests, NULL, NULL);
}
