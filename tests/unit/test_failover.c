/*
 * test_failover.c: the failover, switchover and rejoin decisions over
 * made-up snapshots of a primary (node0) and replicas.
 *
 *   - off, primary reachable (writable or read_only): nothing
 *   - primary unreachable for less than failover_delay_ms: wait
 *   - majority: a strict majority of the reachable replicas must have lost
 *     the primary (IO thread not connected); unreachable replicas neither
 *     confirm nor count
 *   - a server already writable outside replication: follow it, never
 *     promote a second one
 *   - candidate: most advanced by applied + received position (semi-sync:
 *     the replica that received the acknowledged transaction), ties by
 *     semi-sync then config order, maintenance/SQL errors/unreachable/no
 *     GTID/an IO thread its source stopped (1236) excluded, diverged positions
 *   - switchover checks, rejoin: fence, auto_rejoin, errant transactions
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/cluster/failover.h"

#define N 4

struct fixture {
    struct failover_node nodes[N];
    struct failover_view view;
    struct failover_settings set;
};

static struct gtid_pos pos(const char *s)
{
    struct gtid_pos p;
    assert_int_equal(gtid_pos_parse(s, strlen(s), &p), HY_OK);
    return p;
}

/* node0 primary, died 3 s ago; node1..node(n-1) replicas that lost it,
 * all at 0-1-100. */
static void setup(struct fixture *f, size_t n)
{
    static const char *const names[N] = {"node0", "node1", "node2", "node3"};
    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < n; i++) {
        struct failover_node *x = &f->nodes[i];
        x->name = names[i];
        x->reachable = i != 0;
        x->read_only = i != 0;
        x->replicating = i != 0;
        x->source = i != 0 ? 0 : -1;
        x->io_running = false;
        x->has_gtid = true;
        x->current_pos = pos("0-1-100");
        x->binlog_pos = pos("0-1-100");
        x->server_id = (uint32_t)i + 1;
    }
    f->view.nodes = f->nodes;
    f->view.n = n;
    f->view.primary = 0;
    f->view.primary_down_ms = 3000;
    f->set.mode = FAILOVER_AUTO;
    f->set.delay_ms = 1000;
    f->set.auto_rejoin = true;
}

static struct failover_verdict decide(struct fixture *f)
{
    struct failover_verdict v;
    memset(&v, 0x5a, sizeof(v));
    failover_decide(&f->view, &f->set, &v);
    assert_non_null(memchr(v.reason, '\0', sizeof(v.reason)));
    return v;
}

static void test_no_failover(void **st)
{
    (void)st;
    struct fixture f;
    setup(&f, 3);
    f.set.mode = FAILOVER_OFF;
    assert_int_equal(decide(&f).action, FAILOVER_NONE);

    setup(&f, 3);
    f.nodes[0].reachable = true;
    f.view.primary_down_ms = 0;
    struct failover_verdict v = decide(&f);
    assert_int_equal(v.action, FAILOVER_NONE);
    assert_int_equal(v.candidate, -1);

    /* A reachable primary that went read_only (switchover in progress, an
     * operator): still not a reason to promote. */
    f.nodes[0].read_only = true;
    assert_int_equal(decide(&f).action, FAILOVER_NONE);

    setup(&f, 3);
    f.view.primary = -1;
    assert_int_equal(decide(&f).action, FAILOVER_NONE);
}

static void test_delay(void **st)
{
    (void)st;
    struct fixture f;
    setup(&f, 3);
    f.view.primary_down_ms = 999;
    struct failover_verdict v = decide(&f);
    assert_int_equal(v.action, FAILOVER_WAIT);
    assert_non_null(strstr(v.reason, "999 ms of 1000"));
    f.view.primary_down_ms = 1000;
    assert_int_equal(decide(&f).action, FAILOVER_PROMOTE);
}

static void test_majority(void **st)
{
    (void)st;
    struct fixture f;
    /* 3 replicas: 1 lost it -> wait; 2 -> promote. */
    setup(&f, 4);
    f.nodes[1].io_running = true;
    f.nodes[2].io_running = true;
    struct failover_verdict v = decide(&f);
    assert_int_equal(v.action, FAILOVER_WAIT);
    assert_non_null(strstr(v.reason, "only 1 of 3"));
    f.nodes[2].io_running = false;
    assert_int_equal(decide(&f).action, FAILOVER_PROMOTE);

    /* 2 replicas: half is not a majority. */
    setup(&f, 3);
    f.nodes[1].io_running = true;
    assert_int_equal(decide(&f).action, FAILOVER_WAIT);

    /* Unreachable replicas neither confirm nor count: 1 of 1 reachable. */
    setup(&f, 3);
    f.nodes[2].reachable = false;
    v = decide(&f);
    assert_int_equal(v.action, FAILOVER_PROMOTE);
    assert_int_equal(v.candidate, 1);

    /* No replica reachable at all: halyard may be the one cut off. */
    setup(&f, 3);
    f.nodes[1].reachable = false;
    f.nodes[2].reachable = false;
    assert_int_equal(decide(&f).action, FAILOVER_WAIT);

    /* Replicas of another source do not vote. */
    setup(&f, 4);
    f.nodes[3].source = 1;
    f.nodes[3].io_running = true;
    f.nodes[2].io_running = true;
    assert_int_equal(decide(&f).action, FAILOVER_WAIT); /* 1 of 2 */
    f.nodes[2].io_running = false;
    assert_int_equal(decide(&f).action, FAILOVER_PROMOTE);
}

static void test_follow(void **st)
{
    (void)st;
    struct fixture f;
    setup(&f, 3);
    /* Another halyard promoted node2: writable, no source. */
    f.nodes[2].read_only = false;
    f.nodes[2].replicating = false;
    f.nodes[2].source = -1;
    struct failover_verdict v = decide(&f);
    assert_int_equal(v.action, FAILOVER_FOLLOW);
    assert_int_equal(v.candidate, 2);
    /* Even before the delay ran out. */
    f.view.primary_down_ms = 10;
    assert_int_equal(decide(&f).action, FAILOVER_FOLLOW);
    /* A fenced old primary restarted writable is never followed: it lacks
     * the writes made since the failover. */
    f.nodes[2].fenced = true;
    assert_int_not_equal(decide(&f).action, FAILOVER_FOLLOW);
    f.nodes[2].fenced = false;
    /* Writable but still replicating is no primary. */
    f.nodes[2].replicating = true;
    f.nodes[2].source = 0;
    assert_int_equal(decide(&f).action, FAILOVER_WAIT);
    /* No primary known but one writable server: follow it. */
    setup(&f, 3);
    f.view.primary = -1;
    f.nodes[1].read_only = false;
    f.nodes[1].replicating = false;
    assert_int_equal(decide(&f).action, FAILOVER_FOLLOW);
}

static void test_candidate(void **st)
{
    (void)st;
    struct fixture f;
    struct failover_verdict v;

    /* Ties: config order. */
    setup(&f, 4);
    v = decide(&f);
    assert_int_equal(v.action, FAILOVER_PROMOTE);
    assert_int_equal(v.candidate, 1);
    assert_non_null(strstr(v.reason, "node1 is the most advanced of 3"));

    /* Most advanced by applied position. */
    f.nodes[3].current_pos = pos("0-1-101");
    assert_int_equal(decide(&f).candidate, 3);

    /* Received counts as much as applied: node2 has 0-1-105 in its relay
     * log (the semi-sync acknowledgement), not yet applied. */
    f.nodes[2].io_pos = pos("0-1-105");
    v = decide(&f);
    assert_int_equal(v.candidate, 2);
    assert_non_null(strstr(v.reason, "0-1-105"));

    /* Equal positions: the semi-sync replica before config order. */
    setup(&f, 3);
    f.nodes[2].semisync_replica = true;
    v = decide(&f);
    assert_int_equal(v.candidate, 2);
    assert_non_null(strstr(v.reason, "semi-sync"));
    /* ...but never before a more advanced one. */
    f.nodes[1].current_pos = pos("0-1-101");
    assert_int_equal(decide(&f).candidate, 1);

    /* Excluded: maintenance, SQL error, unreachable, no GTID, not a replica. */
    setup(&f, 4);
    f.nodes[1].current_pos = pos("0-1-200");
    f.nodes[1].maint = true;
    f.nodes[2].current_pos = pos("0-1-150");
    f.nodes[2].sql_error = true;
    assert_int_equal(decide(&f).candidate, 3);
    f.nodes[3].has_gtid = false;
    v = decide(&f);
    assert_int_equal(v.action, FAILOVER_BLOCKED);
    assert_int_equal(v.candidate, -1);
    assert_non_null(strstr(v.reason, "no replica can be promoted"));

    /* A replica whose source refused it (1236: the binlog it asks from is
     * not there; 1593, 1595) stopped receiving before the primary died:
     * whatever its position, the primary may have acknowledged writes it
     * never got. A lost connection (2003, 2013) is what the primary's death
     * looks like. */
    setup(&f, 3);
    f.nodes[2].current_pos = pos("0-1-150");
    f.nodes[2].io_errno = 1236;
    v = decide(&f);
    assert_int_equal(v.action, FAILOVER_PROMOTE);
    assert_int_equal(v.candidate, 1);
    f.nodes[1].io_errno = 1593;
    v = decide(&f);
    assert_int_equal(v.action, FAILOVER_BLOCKED);
    assert_non_null(strstr(v.reason, "2 stopped receiving on an error from the primary"));
    f.nodes[1].io_errno = 2003;
    f.nodes[2].io_errno = 2013;
    assert_int_equal(decide(&f).candidate, 2);

    /* Diverged (two domains): the one with more transactions. */
    setup(&f, 3);
    f.nodes[1].current_pos = pos("0-1-100,1-2-1");
    f.nodes[2].current_pos = pos("0-1-99,1-2-9");
    v = decide(&f);
    assert_int_equal(v.candidate, 2);
    assert_non_null(strstr(v.reason, "diverged"));
}

static void test_pick_exclude(void **st)
{
    (void)st;
    struct fixture f;
    setup(&f, 3);
    char why[256];
    assert_int_equal(failover_pick(&f.view, 0, 1, why, sizeof(why)), 2);
    assert_int_equal(failover_pick(&f.view, 0, -1, NULL, 0), 1);
}

/* Zones and promotion rules: position first, then prefer, then the lost
 * primary's zone (same_first), then config order; never and same_only
 * exclude; same_only refuses rather than lose another zone's transactions. */
static void test_pick_zones_and_promotion(void **st)
{
    (void)st;
    struct fixture f;
    char why[256];
    setup(&f, 4); /* node0 (east, lost), node1 west, node2 east, node3 west */
    const char *zones[N] = {"east", "west", "east", "west"};
    for (size_t i = 0; i < N; i++)
        f.nodes[i].zone = zones[i];

    /* same_first (the default): the equally advanced east replica. */
    assert_int_equal(failover_pick(&f.view, 0, -1, why, sizeof(why)), 2);
    assert_non_null(strstr(why, "zone east"));
    /* any: config order. */
    f.view.zones = FAILOVER_ZONES_ANY;
    assert_int_equal(failover_pick(&f.view, 0, -1, why, sizeof(why)), 1);
    /* prefer wins a tie over the zone. */
    f.view.zones = FAILOVER_ZONES_SAME_FIRST;
    f.nodes[3].promotion = PROMOTION_PREFER;
    assert_int_equal(failover_pick(&f.view, 0, -1, why, sizeof(why)), 3);
    assert_non_null(strstr(why, "promotion = prefer"));
    /* never: not a candidate, even when it is the only one in the zone. */
    f.nodes[3].promotion = PROMOTION_NEVER;
    f.nodes[2].promotion = PROMOTION_NEVER;
    assert_int_equal(failover_pick(&f.view, 0, -1, why, sizeof(why)), 1);
    f.nodes[1].promotion = PROMOTION_NEVER;
    assert_int_equal(failover_pick(&f.view, 0, -1, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "promotion = never"));

    /* Position before everything: the more advanced west replica, though
     * a preferred east one is there. */
    setup(&f, 4);
    for (size_t i = 0; i < N; i++)
        f.nodes[i].zone = zones[i];
    f.nodes[2].promotion = PROMOTION_PREFER;
    f.nodes[3].io_pos = pos("0-1-101");
    assert_int_equal(failover_pick(&f.view, 0, -1, why, sizeof(why)), 3);

    /* same_only: only east; refused while a west replica is ahead of it. */
    f.view.zones = FAILOVER_ZONES_SAME_ONLY;
    f.nodes[2].promotion = PROMOTION_NEUTRAL;
    assert_int_equal(failover_pick(&f.view, 0, -1, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "node3 (zone west) has transactions node2"));
    f.nodes[3].io_pos = pos("0-1-100");
    assert_int_equal(failover_pick(&f.view, 0, -1, why, sizeof(why)), 2);
    f.nodes[2].reachable = false; /* no east replica left */
    assert_int_equal(failover_pick(&f.view, 0, -1, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "same_only"));
    struct failover_verdict v = decide(&f);
    assert_int_equal(v.action, FAILOVER_BLOCKED);
}

/* A replica that may not be the candidate (promotion = never, maintenance)
 * but is ahead of it: the candidate takes what it lacks from it first. */
static void test_donor(void **st)
{
    (void)st;
    struct fixture f;
    setup(&f, 4);
    struct failover_verdict v = decide(&f);
    assert_int_equal(v.action, FAILOVER_PROMOTE);
    assert_int_equal(v.donor, -1); /* all equal: nobody has more */

    f.nodes[2].promotion = PROMOTION_NEVER;
    f.nodes[2].io_pos = pos("0-1-102");
    f.nodes[3].current_pos = pos("0-1-101");
    v = decide(&f);
    assert_int_equal(v.action, FAILOVER_PROMOTE);
    assert_int_equal(v.candidate, 3);
    assert_int_equal(v.donor, 2); /* the most advanced, never or not */
    assert_non_null(strstr(v.reason, "takes the transactions it lacks from node2"));
    assert_int_equal(failover_donor(&f.view, 0, 3), 2);
    assert_int_equal(failover_donor(&f.view, 0, 1), 2);
    assert_int_equal(failover_donor(&f.view, 0, -1), -1);

    /* In maintenance: still holds them. */
    f.nodes[2].promotion = PROMOTION_NEUTRAL;
    f.nodes[2].maint = true;
    assert_int_equal(decide(&f).donor, 2);
    /* Its SQL thread stopped on an error: its binlog never gets them. */
    f.nodes[2].sql_error = true;
    assert_int_equal(decide(&f).donor, -1);
    f.nodes[2].sql_error = false;
    /* Unreachable: nothing to take. */
    f.nodes[2].reachable = false;
    assert_int_equal(decide(&f).donor, -1);
    f.nodes[2].reachable = true;
    /* Diverged from the candidate (each has what the other lacks): not a
     * position the candidate can continue from. */
    f.nodes[2].io_pos = pos("0-1-102,1-5-7");
    f.nodes[3].current_pos = pos("0-1-101,2-6-9");
    assert_int_equal(decide(&f).candidate, 3);
    assert_int_equal(failover_donor(&f.view, 0, 3), -1);
}

static void test_switchover(void **st)
{
    (void)st;
    struct fixture f;
    struct failover_verdict v;
    setup(&f, 3);
    f.nodes[0].reachable = true;
    f.nodes[1].io_running = true;
    f.nodes[2].io_running = true;
    f.nodes[2].current_pos = pos("0-1-101");

    failover_switchover_check(&f.view, NULL, &v);
    assert_int_equal(v.action, FAILOVER_PROMOTE);
    assert_int_equal(v.candidate, 2);
    failover_switchover_check(&f.view, "node1", &v);
    assert_int_equal(v.action, FAILOVER_PROMOTE);
    assert_int_equal(v.candidate, 1);

    failover_switchover_check(&f.view, "nope", &v);
    assert_int_equal(v.action, FAILOVER_BLOCKED);
    assert_string_equal(v.reason, "no backend named 'nope'");
    failover_switchover_check(&f.view, "node0", &v);
    assert_int_equal(v.action, FAILOVER_BLOCKED);

    f.nodes[1].maint = true;
    failover_switchover_check(&f.view, "node1", &v);
    assert_int_equal(v.action, FAILOVER_BLOCKED);
    f.nodes[1].maint = false;
    f.nodes[1].io_running = false;
    failover_switchover_check(&f.view, "node1", &v);
    assert_int_equal(v.action, FAILOVER_BLOCKED);

    f.nodes[0].reachable = false;
    failover_switchover_check(&f.view, "node2", &v);
    assert_int_equal(v.action, FAILOVER_BLOCKED);
    assert_non_null(strstr(v.reason, "unreachable"));
}

static void test_rejoin(void **st)
{
    (void)st;
    struct fixture f;
    char why[512];
    /* node1 was promoted; node0 comes back writable with no source. */
    setup(&f, 3);
    f.view.primary = 1;
    f.nodes[1].read_only = false;
    f.nodes[1].replicating = false;
    f.nodes[1].source = -1;
    f.nodes[2].source = 1;
    f.nodes[0].reachable = true;
    f.nodes[0].read_only = false;
    struct gtid_pos state;
    assert_int_equal(gtid_state_parse("0-1-100,0-2-120", 15, &state), HY_OK);

    assert_int_equal(failover_rejoin_decide(&f.view, 0, &f.set, &state, why, sizeof(why)),
                     REJOIN_FENCE);
    /* Fencing does not depend on auto_rejoin. */
    f.set.auto_rejoin = false;
    assert_int_equal(failover_rejoin_decide(&f.view, 0, &f.set, &state, why, sizeof(why)),
                     REJOIN_FENCE);
    f.nodes[0].read_only = true;
    assert_int_equal(failover_rejoin_decide(&f.view, 0, &f.set, &state, why, sizeof(why)),
                     REJOIN_NONE);
    f.set.auto_rejoin = true;
    assert_int_equal(failover_rejoin_decide(&f.view, 0, &f.set, &state, why, sizeof(why)),
                     REJOIN_REPLICATE);

    /* Errant: node0 wrote 0-1-101 that never left it. */
    f.nodes[0].binlog_pos = pos("0-1-101");
    assert_int_equal(failover_rejoin_decide(&f.view, 0, &f.set, &state, why, sizeof(why)),
                     REJOIN_HOLD_ERRANT);
    assert_non_null(strstr(why, "never had"));

    /* Lost its own tail: node0 (server 1) is at 0-1-97 while the primary
     * applied 0-1-98..100 from it before writing its own 0-2-101..120. As
     * a replica it asks for what follows 0-1-97 and skips 98..100 as its
     * own, unless it is a semi-sync replica in gtid_strict_mode. */
    f.nodes[0].binlog_pos = pos("0-1-97");
    struct {
        bool semisync, strict;
        enum rejoin_action want;
    } own[] = {
        {false, false, REJOIN_HOLD_LOST_OWN},
        {true, false, REJOIN_HOLD_LOST_OWN},
        {false, true, REJOIN_HOLD_LOST_OWN},
        {true, true, REJOIN_REPLICATE},
    };
    for (size_t k = 0; k < sizeof(own) / sizeof(own[0]); k++) {
        f.nodes[0].semisync_slave = own[k].semisync;
        f.nodes[0].strict_mode = own[k].strict;
        assert_int_equal(failover_rejoin_decide(&f.view, 0, &f.set, &state, why, sizeof(why)),
                         own[k].want);
        assert_non_null(strstr(
            why, own[k].want == REJOIN_REPLICATE ? "gets back" : "lost transactions of its own"));
        assert_non_null(strstr(why, "0-1-97"));
    }
    f.nodes[0].semisync_slave = f.nodes[0].strict_mode = false;
    /* Behind only on another server's transactions (server 3 wrote 98..100): an
     * ordinary replica. */
    struct gtid_pos other;
    assert_int_equal(gtid_state_parse("0-1-97,0-3-100,0-2-120", 22, &other), HY_OK);
    assert_int_equal(failover_rejoin_decide(&f.view, 0, &f.set, &other, why, sizeof(why)),
                     REJOIN_REPLICATE);
    /* Behind on its own, but the server_id was not read: no verdict on it. */
    f.nodes[0].server_id = 0;
    assert_int_equal(failover_rejoin_decide(&f.view, 0, &f.set, &state, why, sizeof(why)),
                     REJOIN_REPLICATE);
    f.nodes[0].server_id = 1;

    /* Not for the primary itself, replicating nodes, or with the primary read_only. */
    f.nodes[0].binlog_pos = pos("0-1-100");
    assert_int_equal(failover_rejoin_decide(&f.view, 1, &f.set, &state, why, sizeof(why)),
                     REJOIN_NONE);
    assert_int_equal(failover_rejoin_decide(&f.view, 2, &f.set, &state, why, sizeof(why)),
                     REJOIN_NONE);
    f.nodes[1].read_only = true;
    assert_int_equal(failover_rejoin_decide(&f.view, 0, &f.set, &state, why, sizeof(why)),
                     REJOIN_NONE);
    assert_int_equal(failover_rejoin_decide(&f.view, 7, &f.set, &state, why, sizeof(why)),
                     REJOIN_NONE);
}

static void test_names(void **st)
{
    (void)st;
    assert_string_equal(failover_mode_to_str(FAILOVER_AUTO), "auto");
    assert_string_equal(failover_action_to_str(FAILOVER_FOLLOW), "follow");
    assert_string_equal(rejoin_action_to_str(REJOIN_FENCE), "fence");
    assert_string_equal(rejoin_action_to_str(REJOIN_HOLD_LOST_OWN),
                        "hold (lost transactions of its own)");
}

/* The lock: a majority of what is configured for automatic failover, so a
 * halyard cut off with a minority of the servers cannot promote. */
static void test_lock_majority(void **state)
{
    (void)state;
    struct {
        size_t reachable, configured;
        bool strict;
        size_t needed;
    } cases[] = {
        /* three servers, the primary gone: both replicas must grant */
        {2, 3, true, 2},
        /* cut off with one replica: 1 of 3 is no majority (it was 1 of 1) */
        {1, 3, true, 2},
        {1, 3, false, 1},
        /* two servers: one survivor never is a majority of two ... */
        {1, 2, true, 2},
        /* ... unless a witness votes: 2 of 3 */
        {2, 3, true, 2},
        /* four servers and a witness */
        {3, 5, true, 3},
        {4, 4, true, 3},
        {0, 3, true, 2},
        {0, 0, true, 0},
        {0, 3, false, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_int_equal(
            failover_lock_needed(cases[i].reachable, cases[i].configured, cases[i].strict),
            cases[i].needed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_failover),
        cmocka_unit_test(test_delay),
        cmocka_unit_test(test_majority),
        cmocka_unit_test(test_follow),
        cmocka_unit_test(test_candidate),
        cmocka_unit_test(test_pick_exclude),
        cmocka_unit_test(test_pick_zones_and_promotion),
        cmocka_unit_test(test_donor),
        cmocka_unit_test(test_switchover),
        cmocka_unit_test(test_rejoin),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_lock_majority),
    };
    return cmocka_run_group_tests_name("failover", tests, NULL, NULL);
}
