/*
 * test_backend.c: run-time backend state (backend.h).
 *
 *   - registry: one entry per name, kept across configs (reloads), config
 *     role as the fallback until the monitor has seen the server
 *   - the state transition function (backend_track_feed): rise/fall,
 *     lag over and under max_replication_lag, broken replication, a
 *     lagging replica that stops answering, no limit means no LAGGING
 *   - admin override: drain/maint hide the health, online gives it back;
 *     unknown name is an error
 *   - primary choice: observed role, usable only, config order on ties;
 *     several writers: spread by session id, each keeping its own
 *   - max_connections: acquire up to the limit, release
 *   - counters and latency quantiles from the histogram buckets
 *   - passive failure reports call the monitor's hook
 *   - a check begun before a reload forgot the backend's checks stores
 *     nothing, nor clears `unchecked`
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/cluster/backend.h"
#include "halyard/config/config.h"

static struct config *load(const char *text)
{
    struct config *cfg = NULL;
    char err[512];
    if (config_load_string(text, "test.conf", &cfg, err, sizeof(err)) != HY_OK)
        fail_msg("config: %s", err);
    assert_int_equal(backend_rt_attach(cfg), HY_OK);
    return cfg;
}

#define USERS "users = ( { name = \"app\"; password_hash = \"\"; } );\n"

static struct config *three(const char *prefix)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "listeners = ( { name = \"main\"; address = \"127.0.0.1\"; port = 3306; } );\n" USERS
             "backends = (\n"
             "  { name = \"%s1\"; address = \"127.0.0.1\"; port = 3307; role = \"primary\"; },\n"
             "  { name = \"%s2\"; address = \"127.0.0.1\"; port = 3308; role = \"replica\"; },\n"
             "  { name = \"%s3\"; address = \"127.0.0.1\"; port = 3309; role = \"replica\"; }\n"
             ");\n",
             prefix, prefix, prefix);
    return load(text);
}

static void test_registry(void **state)
{
    (void)state;
    struct backend_rt *a = backend_rt_get("reg-a");
    assert_non_null(a);
    assert_ptr_equal(backend_rt_get("reg-a"), a);
    assert_ptr_equal(backend_rt_find("reg-a"), a);
    assert_null(backend_rt_find("reg-none"));
    assert_int_equal(backend_state(a), BACKEND_ONLINE);
    assert_true(backend_usable(a));
    assert_int_equal(atomic_load(&a->lag_ms), -1);

    /* Two configs naming the same backends share their entries. */
    struct config *c1 = three("reg");
    struct config *c2 = three("reg");
    for (size_t i = 0; i < 3; i++) {
        assert_non_null(c1->backends[i].rt);
        assert_ptr_equal(c1->backends[i].rt, c2->backends[i].rt);
    }
    assert_int_equal(backend_role(c1->backends[0].rt), ROLE_PRIMARY);
    assert_int_equal(backend_role(c1->backends[1].rt), ROLE_REPLICA);
    assert_int_equal(backend_primary_index(c1), 0);

    /* The monitor saw reg2 as primary: a config that still says reg1 does
     * not take it back. */
    backend_set_role(c1->backends[0].rt, ROLE_REPLICA, "read_only on");
    backend_set_role(c1->backends[1].rt, ROLE_PRIMARY, "read_only off, not replicating");
    struct config *c3 = three("reg");
    assert_int_equal(backend_primary_index(c3), 1);
    assert_int_equal(atomic_load(&c3->backends[0].rt->config_role), ROLE_PRIMARY);
    config_put(c1);
    config_put(c2);
    config_put(c3);
}

static void test_role_fallback_until_seen(void **state)
{
    (void)state;
    struct config *c1 = three("fb");
    assert_int_equal(backend_primary_index(c1), 0);
    /* A reload moving the primary role in the config is followed as long as
     * the monitor has not seen the servers. */
    struct config *c2 =
        load("listeners = ( { name = \"main\"; address = \"127.0.0.1\"; port = 3306; } );\n" USERS
             "backends = (\n"
             "  { name = \"fb1\"; address = \"127.0.0.1\"; port = 3307; role = \"replica\"; },\n"
             "  { name = \"fb2\"; address = \"127.0.0.1\"; port = 3308; role = \"primary\"; }\n"
             ");\n");
    assert_int_equal(backend_primary_index(c2), 1);
    assert_int_equal(backend_primary_index(c1), 1);
    config_put(c1);
    config_put(c2);
}

static struct backend_check ok_check(int64_t lag_ms)
{
    return (struct backend_check){.ok = true, .is_replica = true, .lag_ms = lag_ms};
}

static const struct backend_check failed = {.ok = false};

/* A table of checks fed in order, each with the health expected after it. */
struct step {
    struct backend_check chk;
    enum backend_state expect;
    const char *why; /* substring of the reason when the health changes, or NULL */
};

static void run_steps(const struct backend_policy *p, const struct step *steps, size_t n)
{
    struct backend_track t = {.health = BACKEND_ONLINE};
    for (size_t i = 0; i < n; i++) {
        char why[200] = "";
        enum backend_state before = t.health;
        enum backend_state got = backend_track_feed(&t, p, &steps[i].chk, why, sizeof(why));
        if (got != steps[i].expect)
            fail_msg("step %zu: got %s, expected %s", i, backend_state_to_str(got),
                     backend_state_to_str(steps[i].expect));
        assert_int_equal(t.health, got);
        if (got != before) {
            assert_true(why[0] != '\0');
            if (steps[i].why != NULL && strstr(why, steps[i].why) == NULL)
                fail_msg("step %zu: why '%s' lacks '%s'", i, why, steps[i].why);
        }
    }
}

static void test_rise_fall(void **state)
{
    (void)state;
    struct backend_policy p = {.rise = 2, .fall = 3, .max_lag_ms = 0};
    const struct step steps[] = {
        {failed, BACKEND_ONLINE, NULL},
        {failed, BACKEND_ONLINE, NULL},
        {ok_check(0), BACKEND_ONLINE, NULL}, /* a success resets the count */
        {failed, BACKEND_ONLINE, NULL},
        {failed, BACKEND_ONLINE, NULL},
        {failed, BACKEND_DOWN, "3 failed checks"},
        {failed, BACKEND_DOWN, NULL},
        {ok_check(0), BACKEND_DOWN, NULL},
        {failed, BACKEND_DOWN, NULL}, /* resets the good count */
        {ok_check(0), BACKEND_DOWN, NULL},
        {ok_check(0), BACKEND_ONLINE, "2 good checks"},
    };
    run_steps(&p, steps, HY_ARRAY_SIZE(steps));

    /* rise = fall = 1: every check decides. */
    struct backend_policy one = {.rise = 1, .fall = 1};
    const struct step quick[] = {
        {failed, BACKEND_DOWN, "1 failed check"},
        {ok_check(0), BACKEND_ONLINE, "1 good check"},
    };
    run_steps(&one, quick, HY_ARRAY_SIZE(quick));
}

static void test_lag(void **state)
{
    (void)state;
    struct backend_policy p = {.rise = 2, .fall = 3, .max_lag_ms = 10000};
    struct backend_check broken = ok_check(-1);
    broken.repl_broken = true;
    const struct step steps[] = {
        {ok_check(0), BACKEND_ONLINE, NULL},
        {ok_check(10000), BACKEND_ONLINE, NULL}, /* at the limit is fine */
        {ok_check(12000), BACKEND_LAGGING, "lag 12.0 s over max_replication_lag 10 s"},
        {ok_check(3000), BACKEND_LAGGING, NULL}, /* rise checks under it */
        {ok_check(15000), BACKEND_LAGGING, NULL},
        {ok_check(3000), BACKEND_LAGGING, NULL},
        {ok_check(0), BACKEND_ONLINE, "2 checks with lag under"},
        {broken, BACKEND_LAGGING, "replication broken"},
        {ok_check(-1), BACKEND_LAGGING, NULL}, /* unknown lag counts as over */
        /* A lagging replica that stops answering goes DOWN after fall. */
        {failed, BACKEND_LAGGING, NULL},
        {failed, BACKEND_LAGGING, NULL},
        {failed, BACKEND_DOWN, "3 failed checks"},
        /* Back up but still behind: LAGGING, not ONLINE. */
        {ok_check(20000), BACKEND_DOWN, NULL},
        {ok_check(20000), BACKEND_LAGGING, "lag over"},
        {ok_check(1000), BACKEND_LAGGING, NULL},
        {ok_check(1000), BACKEND_ONLINE, NULL},
    };
    run_steps(&p, steps, HY_ARRAY_SIZE(steps));

    /* No limit: lag and broken replication never make it LAGGING. */
    struct backend_policy nolimit = {.rise = 2, .fall = 3, .max_lag_ms = 0};
    const struct step free_steps[] = {
        {ok_check(999000), BACKEND_ONLINE, NULL},
        {broken, BACKEND_ONLINE, NULL},
    };
    run_steps(&nolimit, free_steps, HY_ARRAY_SIZE(free_steps));

    /* The primary (not a replica) never lags. */
    struct backend_check primary = {.ok = true, .is_replica = false, .lag_ms = -1};
    const struct step prim[] = {{primary, BACKEND_ONLINE, NULL}};
    run_steps(&p, prim, HY_ARRAY_SIZE(prim));
}

static struct backend_check orphan_check(int64_t age_ms)
{
    struct backend_check c = ok_check(age_ms);
    c.orphan = true;
    return c;
}

/* partition_reads: a replica whose primary halyard cannot reach either. */
static void test_orphan(void **state)
{
    (void)state;
    /* serve: it reads on while its data is younger than max_replication_lag. */
    struct backend_policy serve = {.rise = 2, .fall = 3, .max_lag_ms = 10000};
    const struct step served[] = {
        {orphan_check(1000), BACKEND_ONLINE, NULL},
        {orphan_check(10000), BACKEND_ONLINE, NULL},
        {orphan_check(10500), BACKEND_LAGGING,
         "its primary unreachable: data 10.5 s old, over max_replication_lag 10 s"},
        {ok_check(0), BACKEND_LAGGING, NULL}, /* replicating again: rise checks */
        {ok_check(0), BACKEND_ONLINE, NULL},
    };
    run_steps(&serve, served, HY_ARRAY_SIZE(served));
    /* serve, no limit: it reads on. */
    struct backend_policy nolimit = {.rise = 2, .fall = 3};
    const struct step forever[] = {{orphan_check(999000), BACKEND_ONLINE, NULL}};
    run_steps(&nolimit, forever, HY_ARRAY_SIZE(forever));
    /* refuse: no read from the first check that finds it so. */
    struct backend_policy refuse = {.rise = 2, .fall = 3, .orphans_refused = true};
    const struct step refused[] = {
        {orphan_check(0), BACKEND_LAGGING, "its primary is unreachable (partition_reads = refuse)"},
        {ok_check(0), BACKEND_LAGGING, NULL},
        {ok_check(0), BACKEND_ONLINE, NULL},
    };
    run_steps(&refuse, refused, HY_ARRAY_SIZE(refused));
}

/* A replica that stays LAGGING for another reason than the one it went
 * LAGGING for: the track gives the current one, and show backends'
 * reason (info.why) says it. Before, both kept the first: "lag 12.0 s"
 * after its source had become a replica without log_slave_updates. */
static void test_lagging_reason_kept_current(void **state)
{
    (void)state;
    static const char nolsu[] = "replicates from lr3, a replica without log_slave_updates: it "
                                "receives none of the primary's writes";
    struct backend_policy p = {.rise = 2, .fall = 3, .max_lag_ms = 10000};
    struct backend_track t = {.health = BACKEND_ONLINE};
    char why[200] = "";
    struct backend_check lag = ok_check(12000);
    assert_int_equal(backend_track_feed(&t, &p, &lag, why, sizeof(why)), BACKEND_LAGGING);
    assert_string_equal(why, "lag 12.0 s over max_replication_lag 10 s");
    struct backend_check stale = ok_check(0);
    stale.stale = true;
    stale.why = nolsu;
    why[0] = '\0';
    assert_int_equal(backend_track_feed(&t, &p, &stale, why, sizeof(why)), BACKEND_LAGGING);
    assert_string_equal(why, nolsu);

    struct config *cfg = three("lr");
    struct backend_rt *rt = cfg->backends[1].rt;
    struct backend_info info;
    backend_set_health(rt, BACKEND_LAGGING, "lag 12.0 s over max_replication_lag 10 s");
    backend_info_get(rt, &info);
    time_t since = info.why_time;
    uint64_t gen = backend_generation();
    backend_set_health(rt, BACKEND_LAGGING, nolsu);
    backend_info_get(rt, &info);
    assert_string_equal(info.why, nolsu);
    assert_int_equal(info.why_time, since); /* LAGGING since then still */
    assert_int_equal(backend_state(rt), BACKEND_LAGGING);
    assert_int_equal(backend_generation(), gen); /* the state did not change */
    backend_set_health(rt, BACKEND_ONLINE, "2 checks with lag under max_replication_lag");
    backend_info_get(rt, &info);
    assert_string_equal(info.why, "2 checks with lag under max_replication_lag");
    config_put(cfg);
}

static void test_admin_override(void **state)
{
    (void)state;
    struct config *cfg = three("adm");
    struct backend_rt *rt = cfg->backends[1].rt;
    char err[200];
    uint64_t gen = backend_generation();
    assert_int_equal(backend_set_admin(cfg, "adm2", BACKEND_ADMIN_DRAIN, err, sizeof(err)), HY_OK);
    assert_int_equal(backend_state(rt), BACKEND_DRAINING);
    assert_false(backend_usable(rt));
    assert_true(backend_usable_in_trx(rt));
    assert_true(backend_generation() > gen);
    struct backend_info info;
    backend_info_get(rt, &info);
    assert_non_null(strstr(info.why, "drain"));

    /* Health changes under the override stay hidden until online. */
    backend_set_health(rt, BACKEND_DOWN, "3 failed checks");
    assert_int_equal(backend_state(rt), BACKEND_DRAINING);
    assert_int_equal(backend_set_admin(cfg, "adm2", BACKEND_ADMIN_MAINT, err, sizeof(err)), HY_OK);
    assert_int_equal(backend_state(rt), BACKEND_MAINT);
    assert_false(backend_usable_in_trx(rt));
    assert_int_equal(backend_set_admin(cfg, "adm2", BACKEND_ADMIN_NONE, err, sizeof(err)), HY_OK);
    assert_int_equal(backend_state(rt), BACKEND_DOWN);
    backend_set_health(rt, BACKEND_ONLINE, "2 good checks");
    assert_int_equal(backend_state(rt), BACKEND_ONLINE);

    assert_int_equal(backend_set_admin(cfg, "nope", BACKEND_ADMIN_DRAIN, err, sizeof(err)),
                     HY_ERROR);
    assert_string_equal(err, "no backend named 'nope' in the running config");

    /* Draining the primary leaves no usable primary. */
    assert_int_equal(backend_set_admin(cfg, "adm1", BACKEND_ADMIN_DRAIN, err, sizeof(err)), HY_OK);
    assert_int_equal(backend_primary_index(cfg), -1);
    assert_int_equal(backend_primary_any_index(cfg), 0);
    assert_int_equal(backend_set_admin(cfg, "adm1", BACKEND_ADMIN_NONE, err, sizeof(err)), HY_OK);
    assert_int_equal(backend_primary_index(cfg), 0);
    config_put(cfg);
}

static void test_primary_choice(void **state)
{
    (void)state;
    struct config *cfg = three("pc");
    struct backend_rt *r1 = cfg->backends[0].rt, *r2 = cfg->backends[1].rt;
    assert_int_equal(backend_primary_index(cfg), 0);
    backend_set_health(r1, BACKEND_DOWN, "3 failed checks");
    assert_int_equal(backend_primary_index(cfg), -1);
    /* Promoted elsewhere: followed without a config change. */
    backend_set_role(r2, ROLE_PRIMARY, "read_only off");
    assert_int_equal(backend_primary_index(cfg), 1);
    /* Two primaries (split brain): the first usable in config order. */
    backend_set_health(r1, BACKEND_ONLINE, "2 good checks");
    assert_int_equal(backend_primary_index(cfg), 0);
    backend_set_role(r1, ROLE_REPLICA, "read_only on");
    assert_int_equal(backend_primary_index(cfg), 1);
    /* Fenced by failover: never the primary, whatever it reports. */
    backend_set_role(r1, ROLE_PRIMARY, "read_only off");
    backend_set_fenced(r1, true, "test");
    uint64_t gen = backend_generation();
    assert_int_equal(backend_primary_index(cfg), 1);
    assert_int_equal(backend_primary_any_index(cfg), 1);
    backend_set_fenced(r1, true, "test"); /* no change, no new generation */
    assert_int_equal(backend_generation(), gen);
    backend_set_fenced(r1, false, "test");
    assert_true(backend_generation() != gen);
    assert_int_equal(backend_primary_index(cfg), 0);
    backend_mark_failover(r1);
    assert_true(atomic_load(&r1->failover_at_us) > 0);
    config_put(cfg);
}

/* Several writers (Galera max_writers): sessions spread by id, each keeps
 * its own while it stays usable. */
static void test_writer_spread(void **state)
{
    (void)state;
    struct config *cfg = three("ws");
    struct backend_rt *r1 = cfg->backends[0].rt, *r3 = cfg->backends[2].rt;
    backend_set_role(r1, ROLE_PRIMARY, "Synced, writer");
    backend_set_role(r3, ROLE_PRIMARY, "Synced, writer");
    backend_set_health(r1, BACKEND_ONLINE, "2 good checks");
    backend_set_health(cfg->backends[1].rt, BACKEND_ONLINE, "2 good checks");
    backend_set_health(r3, BACKEND_ONLINE, "2 good checks");
    assert_int_equal(backend_writer_index(cfg, 10, -1), 0);
    assert_int_equal(backend_writer_index(cfg, 11, -1), 2);
    assert_int_equal(backend_writer_index(cfg, 11, 0), 0); /* keeps its own */
    assert_int_equal(backend_writer_index(cfg, 10, 1), 0); /* 1 is no writer */
    backend_set_health(r1, BACKEND_DOWN, "3 failed checks");
    assert_int_equal(backend_writer_index(cfg, 10, 0), 2); /* its writer went */
    backend_set_fenced(r3, true, "test");
    assert_int_equal(backend_writer_index(cfg, 10, 2), -1);
    backend_set_fenced(r3, false, "test");
    config_put(cfg);
}

static void test_max_connections(void **state)
{
    (void)state;
    struct backend_rt *rt = backend_rt_get("conns");
    assert_true(backend_conn_acquire(rt, 2));
    assert_true(backend_conn_acquire(rt, 2));
    assert_false(backend_conn_acquire(rt, 2));
    backend_conn_release(rt);
    assert_true(backend_conn_acquire(rt, 2));
    assert_true(backend_conn_acquire(rt, 0)); /* no limit */
    struct backend_stats st;
    backend_stats_get(rt, &st);
    assert_int_equal(st.conns, 3);
    backend_conn_release(rt);
    backend_conn_release(rt);
    backend_conn_release(rt);
    backend_stats_get(rt, &st);
    assert_int_equal(st.conns, 0);
}

static void test_counters(void **state)
{
    (void)state;
    struct backend_rt *rt = backend_rt_get("counters");
    /* 100 statements over two workers (slots): 98 of 400 us, 2 of 2 s. */
    for (int i = 0; i < 100; i++) {
        backend_query_begin(rt);
        backend_query_end(rt, i % 2 ? 1 : 9, i < 98 ? 400 : 2000000, i == 0);
    }
    backend_query_begin(rt); /* one still running */
    backend_count_connect_failure(rt, 3);
    struct backend_stats st;
    backend_stats_get(rt, &st);
    assert_int_equal(st.queries, 100);
    assert_int_equal(st.errors, 1);
    assert_int_equal(st.outstanding, 1);
    assert_int_equal(st.connect_failures, 1);
    assert_int_equal(st.lat_sum_us, 98 * 400 + 2 * 2000000);
    assert_int_equal(st.lat[2], 98); /* (250, 500] */
    assert_int_equal(st.lat[13], 2); /* (1 s, 2.5 s] */
    double p50 = backend_latency_quantile(&st, 0.5);
    assert_true(p50 > 250 && p50 <= 500);
    double p99 = backend_latency_quantile(&st, 0.99);
    assert_true(p99 > 1000000 && p99 <= 2500000);
    struct backend_stats none = {0};
    assert_true(backend_latency_quantile(&none, 0.5) == 0);
    /* Slower than the last bound: the last bound. */
    struct backend_stats slow = {0};
    slow.lat[BACKEND_LAT_BUCKETS - 1] = 5;
    assert_true(backend_latency_quantile(&slow, 0.99) ==
                (double)backend_lat_bounds_us[BACKEND_LAT_BOUNDS - 1]);
}

static int hook_calls;
static struct backend_rt *hook_rt;

static void hook(struct backend_rt *rt, void *arg)
{
    assert_ptr_equal(arg, &hook_calls);
    hook_calls++;
    hook_rt = rt;
}

static void test_report_failure(void **state)
{
    (void)state;
    struct backend_rt *rt = backend_rt_get("passive");
    backend_report_failure(rt, 0, "no hook yet");
    backend_set_report_hook(hook, &hook_calls);
    backend_report_failure(rt, 0, "connect: Connection refused");
    assert_int_equal(hook_calls, 1);
    assert_ptr_equal(hook_rt, rt);
    assert_true(atomic_load(&rt->check_now));
    assert_int_equal(atomic_load(&rt->passive_failures), 2);
    struct backend_info info;
    backend_info_get(rt, &info);
    assert_string_equal(info.last_failure, "connect: Connection refused");
    backend_set_report_hook(NULL, NULL);
}

/* The failover busy flag and note are each group's: a write waiting in one
 * group never reports another group's lock refusal. */
static void test_failover_state_per_group(void **state)
{
    (void)state;
    char note[400];
    assert_false(backend_failover_busy("rep"));
    backend_set_failover_busy("rep", true);
    assert_true(backend_failover_busy("rep"));
    assert_false(backend_failover_busy("dm"));
    backend_set_failover_note("rep", "lock halyard_failover:rep: 1 of 4 reachable");
    backend_failover_note("dm", note, sizeof(note));
    assert_string_equal(note, "");
    backend_failover_note("rep", note, sizeof(note));
    assert_string_equal(note, "lock halyard_failover:rep: 1 of 4 reachable");
    backend_set_failover_note("dm", "dm's own");
    backend_set_failover_note("rep", NULL);
    backend_failover_note("rep", note, sizeof(note));
    assert_string_equal(note, "");
    backend_failover_note("dm", note, sizeof(note));
    assert_string_equal(note, "dm's own");
    backend_set_failover_busy("rep", false);
    assert_false(backend_failover_busy("rep"));
    /* a clear of a group never seen takes no slot; the note is cut to fit */
    backend_set_failover_busy("never", false);
    backend_set_failover_note("never", "");
    backend_failover_note("never", note, 4);
    assert_string_equal(note, "");
    backend_failover_note("dm", note, 4);
    assert_string_equal(note, "dm'");
    backend_set_failover_note("dm", NULL);
}

/* A check's result, as the monitor stores it (store_info). */
static void fill(struct backend_info *in, void *arg)
{
    in->server_id = *(const uint32_t *)arg;
    in->last_check_time = 1;
}

static void test_checks_forgotten_by_a_reload(void **state)
{
    (void)state;
    struct config *cfg =
        load("listeners = ( { name = \"main\"; address = \"127.0.0.1\"; port = 3306; } );\n" USERS
             "monitor = { user = \"mon\"; password = \"mon\"; };\n"
             "backends = ( { name = \"fg1\"; address = \"127.0.0.1\"; port = 3307; "
             "role = \"primary\"; } );\n");
    struct backend_rt *rt = cfg->backends[0].rt;
    struct backend_info in;
    uint32_t old_id = 11, new_id = 22;
    backend_rt_mark_unchecked(cfg, NULL); /* at start */
    assert_true(atomic_load(&rt->unchecked));

    /* A check passes: kept, and the backend is checked. */
    uint32_t gen = backend_checks_gen(rt);
    assert_true(backend_checks_store(rt, gen, fill, &old_id));
    assert_true(backend_checks_passed(rt, gen));
    assert_false(atomic_load(&rt->unchecked));

    /* A check begins; a reload removes fg1 and adds it again (another
     * server, maybe) before it ends: what it read is not kept, nor its
     * pass, and what was read before stays forgotten. */
    gen = backend_checks_gen(rt);
    backend_rt_mark_unchecked(cfg, NULL);
    assert_false(backend_checks_store(rt, gen, fill, &old_id));
    assert_false(backend_checks_passed(rt, gen));
    backend_info_get(rt, &in);
    assert_int_equal(in.last_check_time, 0);
    assert_int_equal(in.server_id, 0);
    assert_true(atomic_load(&rt->unchecked));

    /* The next check, begun after the reload, counts. */
    gen = backend_checks_gen(rt);
    assert_true(backend_checks_store(rt, gen, fill, &new_id));
    assert_true(backend_checks_passed(rt, gen));
    backend_info_get(rt, &in);
    assert_int_equal(in.server_id, 22);
    assert_false(atomic_load(&rt->unchecked));

    /* The same address again (a reload that keeps it): nothing forgotten. */
    gen = backend_checks_gen(rt);
    backend_rt_mark_unchecked(cfg, cfg);
    assert_true(backend_checks_store(rt, gen, fill, &new_id));
    assert_false(atomic_load(&rt->unchecked));
    config_put(cfg);
}

/* A reload moves fg2 to another port. The checks generation of each
 * config says which address a check or a worker's failure is of: what
 * comes of the old one after the move counts for nothing (a failure of the
 * old server is not the new one's), what comes of the new one counts. */
static void test_failure_at_the_address_a_reload_moved_from(void **state)
{
    (void)state;
    const char *head =
        "listeners = ( { name = \"main\"; address = \"127.0.0.1\"; port = 3306; } );\n" USERS
        "monitor = { user = \"mon\"; password = \"mon\"; };\n";
    char text[2048];
    snprintf(text, sizeof(text),
             "%sbackends = ( { name = \"fg2\"; address = \"127.0.0.1\"; port = 3307; "
             "role = \"primary\"; } );\n",
             head);
    struct config *old = load(text);
    snprintf(text, sizeof(text),
             "%sbackends = ( { name = \"fg2\"; address = \"127.0.0.1\"; port = 3308; "
             "role = \"primary\"; } );\n",
             head);
    struct config *moved = load(text);
    struct backend_rt *rt = old->backends[0].rt;
    assert_ptr_equal(moved->backends[0].rt, rt);
    struct backend_info in;
    backend_rt_mark_unchecked(old, NULL); /* at start */
    uint32_t gen_old = old->backends[0].checks_gen;
    assert_true(backend_checks_current(rt, gen_old));

    /* A worker of the running config fails at 3307: counted. */
    backend_report_failure(rt, gen_old, "connect to 3307: refused");
    assert_true(atomic_load(&rt->check_now));

    /* The reload moves it: that report is forgotten with the checks... */
    backend_rt_mark_unchecked(moved, old);
    uint32_t gen_new = moved->backends[0].checks_gen;
    assert_int_not_equal(gen_new, gen_old);
    /* the group's view (what its sessions report with) has it too */
    assert_int_equal(moved->groups[0].view->backends[0].checks_gen, gen_new);
    assert_int_equal(old->groups[0].view->backends[0].checks_gen, gen_old);
    assert_false(atomic_load(&rt->check_now));
    /* ... a check of the old config's address no longer counts ... */
    assert_false(backend_checks_current(rt, gen_old));
    assert_true(backend_checks_current(rt, gen_new));
    /* ... nor a failure a worker still on the old config reports there */
    uint64_t reports = atomic_load(&rt->passive_failures);
    backend_report_failure(rt, gen_old, "connect to 3307: refused again");
    assert_false(atomic_load(&rt->check_now));
    assert_int_equal(atomic_load(&rt->passive_failures), reports + 1);
    backend_info_get(rt, &in);
    assert_string_not_equal(in.last_failure, "connect to 3307: refused again");

    /* A failure at the new address counts. */
    backend_report_failure(rt, gen_new, "connect to 3308: refused");
    assert_true(atomic_load(&rt->check_now));
    backend_info_get(rt, &in);
    assert_string_equal(in.last_failure, "connect to 3308: refused");

    /* A reload that keeps the address moves nothing. */
    backend_rt_mark_unchecked(moved, moved);
    assert_int_equal(moved->backends[0].checks_gen, gen_new);
    assert_true(atomic_load(&rt->check_now));
    config_put(moved);
    config_put(old);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(backend_state_to_str(BACKEND_ONLINE), "ONLINE");
    assert_string_equal(backend_state_to_str(BACKEND_DOWN), "DOWN");
    assert_string_equal(backend_state_to_str(BACKEND_LAGGING), "LAGGING");
    assert_string_equal(backend_state_to_str(BACKEND_DRAINING), "DRAINING");
    assert_string_equal(backend_state_to_str(BACKEND_MAINT), "MAINT");
    assert_string_equal(backend_admin_to_str(BACKEND_ADMIN_DRAIN), "drain");
}

static int teardown(void **state)
{
    (void)state;
    backend_rt_free_all();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_role_fallback_until_seen),
        cmocka_unit_test(test_rise_fall),
        cmocka_unit_test(test_lag),
        cmocka_unit_test(test_orphan),
        cmocka_unit_test(test_admin_override),
        cmocka_unit_test(test_primary_choice),
        cmocka_unit_test(test_writer_spread),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_lagging_reason_kept_current),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_report_failure),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_checks_forgotten_by_a_reload),
        cmocka_unit_test(test_failure_at_the_address_a_reload_moved_from),
        cmocka_unit_test(test_failover_state_per_group),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
