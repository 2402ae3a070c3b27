/*
 * test_resolve.c: the resolver's pure parts. A table of resolution
 * sequences for one name (answers and failures in, the change reported and
 * the addresses kept out: keep-last-good, one log per run of failures,
 * order-only changes not reported); getaddrinfo lists made into address
 * sets; the walk over a target's addresses and each one's share of the
 * connect budget; targets from IP literals and from a name the cache has
 * not resolved (no thread running: nothing blocks, nothing resolves).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netdb.h>

#include <cmocka.h>

#include "halyard/protocol/resolve.h"

/* "127.0.0.1 ::1" -> addresses; "" -> none. */
static struct resolve_addrs addrs_of(const char *list)
{
    struct resolve_addrs a;
    memset(&a, 0, sizeof(a));
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok != NULL;
         tok = strtok_r(NULL, " ", &save)) {
        union resolve_sa *u = &a.a[a.n++];
        memset(u, 0, sizeof(*u));
        if (strchr(tok, ':') != NULL) {
            u->in6.sin6_family = AF_INET6;
            assert_int_equal(inet_pton(AF_INET6, tok, &u->in6.sin6_addr), 1);
        } else {
            u->in.sin_family = AF_INET;
            assert_int_equal(inet_pton(AF_INET, tok, &u->in.sin_addr), 1);
        }
    }
    return a;
}

static const char *fmt(const struct resolve_addrs *a)
{
    static char out[512];
    resolve_addrs_format(a, out, sizeof(out));
    return out;
}

/* One resolution: gai_err 0 with `answer`, or a failure. */
struct step {
    int gai_err;
    const char *answer;
    enum resolve_change want;
    const char *want_addrs; /* formatted, after the step */
    uint64_t want_failures;
};

struct seq {
    const char *what;
    struct step steps[6];
};

static const struct seq seqs[] = {
    {"first answer, then the same",
     {{0, "10.0.0.1", RESOLVE_FIRST, "10.0.0.1", 0},
      {0, "10.0.0.1", RESOLVE_SAME, "10.0.0.1", 0},
      {-1}}},
    {"records rotated by the server: same set, new order kept",
     {{0, "10.0.0.1 10.0.0.2", RESOLVE_FIRST, "10.0.0.1, 10.0.0.2", 0},
      {0, "10.0.0.2 10.0.0.1", RESOLVE_SAME, "10.0.0.2, 10.0.0.1", 0},
      {-1}}},
    {"an address added, one replaced",
     {{0, "10.0.0.1", RESOLVE_FIRST, "10.0.0.1", 0},
      {0, "::1 10.0.0.1", RESOLVE_CHANGED, "::1, 10.0.0.1", 0},
      {0, "::1 10.0.0.9", RESOLVE_CHANGED, "::1, 10.0.0.9", 0},
      {-1}}},
    {"failures keep the last good addresses, logged once, counted each",
     {{0, "10.0.0.1", RESOLVE_FIRST, "10.0.0.1", 0},
      {EAI_AGAIN, NULL, RESOLVE_FAILED, "10.0.0.1", 1},
      {EAI_AGAIN, NULL, RESOLVE_FAILING, "10.0.0.1", 2},
      {EAI_NONAME, NULL, RESOLVE_FAILING, "10.0.0.1", 3},
      {0, "10.0.0.1", RESOLVE_RECOVERED, "10.0.0.1", 3},
      {EAI_AGAIN, NULL, RESOLVE_FAILED, "10.0.0.1", 4}}},
    {"recovering to other addresses",
     {{0, "10.0.0.1", RESOLVE_FIRST, "10.0.0.1", 0},
      {EAI_AGAIN, NULL, RESOLVE_FAILED, "10.0.0.1", 1},
      {0, "10.0.0.2", RESOLVE_RECOVERED, "10.0.0.2", 1},
      {-1}}},
    {"never resolved, then resolves: a first answer",
     {{EAI_NONAME, NULL, RESOLVE_FAILED, "none", 1},
      {EAI_NONAME, NULL, RESOLVE_FAILING, "none", 2},
      {0, "10.0.0.1", RESOLVE_FIRST, "10.0.0.1", 2},
      {-1}}},
    {"an answer without a usable address is a failure",
     {{0, "10.0.0.1", RESOLVE_FIRST, "10.0.0.1", 0}, {0, "", RESOLVE_FAILED, "10.0.0.1", 1}, {-1}}},
};

static void test_apply_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
        struct resolve_state st;
        memset(&st, 0, sizeof(st));
        for (size_t k = 0; k < 6 && seqs[i].steps[k].gai_err != -1; k++) {
            const struct step *sp = &seqs[i].steps[k];
            struct resolve_addrs fresh = addrs_of(sp->answer != NULL ? sp->answer : "");
            enum resolve_change ch = resolve_state_apply(&st, sp->gai_err, &fresh);
            if (ch != sp->want || strcmp(fmt(&st.addrs), sp->want_addrs) != 0 ||
                st.failures != sp->want_failures)
                fail_msg("%s, step %zu: change %d (want %d), addresses %s (want %s), "
                         "failures %llu (want %llu)",
                         seqs[i].what, k, (int)ch, (int)sp->want, fmt(&st.addrs), sp->want_addrs,
                         (unsigned long long)st.failures, (unsigned long long)sp->want_failures);
            assert_true(st.answered);
            assert_int_equal(st.failing, sp->want == RESOLVE_FAILED || sp->want == RESOLVE_FAILING);
            if (st.failing)
                assert_int_equal(st.last_err, sp->gai_err != 0 ? sp->gai_err : EAI_NODATA);
            else
                assert_int_equal(st.last_err, 0);
        }
    }
}

static void test_addrs_equal(void **state)
{
    (void)state;
    struct resolve_addrs a = addrs_of("10.0.0.1 ::1"), b = addrs_of("::1 10.0.0.1"),
                         c = addrs_of("10.0.0.1"), d = addrs_of("10.0.0.1 ::2");
    assert_true(resolve_addrs_equal(&a, &b));
    assert_false(resolve_addrs_equal(&a, &c));
    assert_false(resolve_addrs_equal(&a, &d));
    /* an IPv4 address and its v4-mapped IPv6 form are different sockets */
    struct resolve_addrs m = addrs_of("::ffff:10.0.0.1");
    assert_false(resolve_addrs_equal(&c, &m));
}

/* A getaddrinfo list: IPv4 and IPv6 kept in order, duplicates (one per
 * socket type) dropped, other families ignored, at most RESOLVE_MAX_ADDRS. */
static void test_from_ai(void **state)
{
    (void)state;
    static const char *const lits[] = {"::1",      "10.0.0.1", "10.0.0.1", "10.0.0.2", "10.0.0.3",
                                       "10.0.0.4", "10.0.0.5", "10.0.0.6", "10.0.0.7", "10.0.0.8"};
    enum { N = sizeof(lits) / sizeof(lits[0]) };
    struct addrinfo ai[N + 1];
    union resolve_sa sa[N];
    memset(ai, 0, sizeof(ai));
    memset(sa, 0, sizeof(sa));
    struct sockaddr unix_sa = {.sa_family = AF_UNIX};
    ai[0].ai_addr = &unix_sa; /* ignored */
    for (size_t i = 0; i < N; i++) {
        struct resolve_addrs one = addrs_of(lits[i]);
        sa[i] = one.a[0];
        sa[i].in.sin_port = htons(3306); /* a port in the answer is dropped */
        ai[i + 1].ai_addr = &sa[i].sa;
        ai[i].ai_next = &ai[i + 1];
    }
    struct resolve_addrs out;
    resolve_addrs_from_ai(&ai[0], &out);
    assert_int_equal(out.n, RESOLVE_MAX_ADDRS);
    assert_string_equal(
        fmt(&out), "::1, 10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.5, 10.0.0.6, 10.0.0.7");
    assert_int_equal(out.a[1].in.sin_port, 0);
    resolve_addrs_from_ai(NULL, &out);
    assert_int_equal(out.n, 0);
    assert_string_equal(fmt(&out), "none");
}

/* The walk: every address once, in order, with the port; the budget split
 * evenly over the address started and those after it. */
static void test_walk(void **state)
{
    (void)state;
    struct resolve_target t = {.addrs = addrs_of("::1 10.0.0.1 10.0.0.2"), .port = 3306};
    union resolve_sa sa;
    socklen_t len;
    assert_int_equal(resolve_target_left(&t), 3);

    assert_true(resolve_target_next(&t, &sa, &len));
    assert_int_equal(sa.sa.sa_family, AF_INET6);
    assert_int_equal(len, sizeof(struct sockaddr_in6));
    assert_int_equal(ntohs(sa.in6.sin6_port), 3306);
    assert_int_equal(resolve_target_slice_ms(&t, 3000), 1000);

    assert_true(resolve_target_next(&t, &sa, &len));
    assert_int_equal(sa.sa.sa_family, AF_INET);
    assert_int_equal(len, sizeof(struct sockaddr_in));
    assert_int_equal(ntohs(sa.in.sin_port), 3306);
    assert_int_equal(ntohl(sa.in.sin_addr.s_addr), 0x0a000001);
    assert_int_equal(resolve_target_slice_ms(&t, 1900), 950);

    assert_true(resolve_target_next(&t, &sa, &len));
    assert_int_equal(ntohl(sa.in.sin_addr.s_addr), 0x0a000002);
    assert_int_equal(resolve_target_left(&t), 0);
    assert_int_equal(resolve_target_slice_ms(&t, 700), 700); /* the last one: all of it */
    assert_int_equal(resolve_target_slice_ms(&t, 0), 1);
    assert_int_equal(resolve_target_slice_ms(&t, -5), 1);

    assert_false(resolve_target_next(&t, &sa, &len));
    assert_int_equal(resolve_target_left(&t), 0);
}

/* The preferred address leads; the others follow in their order. */
static void test_rotate(void **state)
{
    (void)state;
    static const struct {
        const char *list, *first, *want;
    } cases[] = {
        {"::1 10.0.0.1 10.0.0.2", "10.0.0.1", "10.0.0.1, 10.0.0.2, ::1"},
        {"::1 10.0.0.1 10.0.0.2", "10.0.0.2", "10.0.0.2, ::1, 10.0.0.1"},
        {"::1 10.0.0.1 10.0.0.2", "::1", "::1, 10.0.0.1, 10.0.0.2"},
        {"::1 10.0.0.1 10.0.0.2", "10.0.0.9", "::1, 10.0.0.1, 10.0.0.2"}, /* gone: as is */
        {"10.0.0.1", "10.0.0.1", "10.0.0.1"},
        {"", "10.0.0.1", "none"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct resolve_addrs a = addrs_of(cases[i].list), f = addrs_of(cases[i].first);
        resolve_addrs_rotate(&a, &f.a[0]);
        if (strcmp(fmt(&a), cases[i].want) != 0)
            fail_msg("rotate [%s] to %s: %s, want %s", cases[i].list, cases[i].first, fmt(&a),
                     cases[i].want);
    }
}

static void test_target_numeric(void **state)
{
    (void)state;
    struct resolve_target t;
    char err[128] = "";
    assert_int_equal(resolve_target_init(&t, "192.0.2.7", 3306, err, sizeof(err)), HY_OK);
    assert_int_equal(t.addrs.n, 1);
    assert_string_equal(fmt(&t.addrs), "192.0.2.7");
    assert_int_equal(t.port, 3306);
    assert_int_equal(t.next, 0);
    assert_int_equal(resolve_target_init(&t, "2001:db8::7", 3307, err, sizeof(err)), HY_OK);
    assert_string_equal(fmt(&t.addrs), "2001:db8::7");
    assert_int_equal(resolve_target_init(&t, "fe80::1%lo", 3307, err, sizeof(err)), HY_OK);
    assert_int_equal(t.addrs.a[0].sa.sa_family, AF_INET6);
    assert_int_not_equal(t.addrs.a[0].in6.sin6_scope_id, 0);
    /* literals never reach the cache */
    size_t n = 99;
    struct resolve_stat *st = resolve_stats(&n);
    assert_null(st);
    assert_int_equal(n, 0);
}

/* A name the cache has no address for fails at once, naming the host;
 * the cache then knows it (the thread would resolve it). */
static void test_target_unresolved(void **state)
{
    (void)state;
    struct resolve_target t;
    char err[128] = "";
    assert_int_equal(resolve_target_init(&t, "db9.halyard.test", 3306, err, sizeof(err)), HY_ERROR);
    assert_string_equal(err, "host db9.halyard.test is not resolved yet");
    assert_int_equal(resolve_target_init(&t, "db9.halyard.test", 3306, err, sizeof(err)), HY_ERROR);
    size_t n = 0;
    struct resolve_stat *st = resolve_stats(&n);
    assert_int_equal(n, 1);
    assert_string_equal(st[0].host, "db9.halyard.test");
    assert_int_equal(st[0].n_addrs, 0);
    assert_int_equal(st[0].failures, 0);
    free(st);
    /* a preference for a name without addresses changes nothing */
    struct resolve_addrs p = addrs_of("10.0.0.1");
    resolve_prefer("db9.halyard.test", &p.a[0]);
    resolve_prefer("unknown.halyard.test", &p.a[0]);
    assert_int_equal(resolve_target_init(&t, "db9.halyard.test", 3306, err, sizeof(err)), HY_ERROR);
    resolve_stop(); /* no thread: frees the cache */
    st = resolve_stats(&n);
    assert_int_equal(n, 0);
    free(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply_table),
        cmocka_unit_test(test_addrs_equal),
        cmocka_unit_test(test_from_ai),
        cmocka_unit_test(test_walk),
        cmocka_unit_test(test_rotate),
        cmocka_unit_test(test_target_numeric),
        cmocka_unit_test(test_target_unresolved),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
