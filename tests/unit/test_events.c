/*
 * test_events.c: events (events.h) and their coalescing (alerts.h).
 *
 *   - names: every type has a distinct name that parses back; unknown
 *     names are -1
 *   - JSON: the exact body of an event; quotes, backslashes, newlines,
 *     control bytes and invalid UTF-8 escaped; a buffer too small cuts the
 *     text and the object stays closed
 *   - ring: FIFO order, full after its capacity (rounded to a power of
 *     two), usable again after pops; several producer threads lose nothing
 *     that was accepted
 *   - coalescing: first delivered, repeats held and counted, the held one
 *     due at the interval's end with its count, other names and backends
 *     independent, repeat_ms 0 delivers all, a full table delivers all
 *   - spawn: a command gets the JSON on stdin, the HALYARD_* variables and
 *     nothing of our environment, its exit status comes back; one that
 *     runs too long is killed; one that does not exist is an error
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "halyard/admin/alerts.h"
#include "halyard/core/events.h"
#include "halyard/core/spawn.h"

static struct event ev(enum event_type t, const char *backend)
{
    struct event e;
    event_fill(&e, t, backend, "ONLINE", "DOWN", "check failed", "no new statements");
    return e;
}

static void test_names(void **state)
{
    (void)state;
    for (int i = 0; i < EVENT__COUNT; i++) {
        assert_int_equal(event_parse(event_name((enum event_type)i)), i);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(event_name((enum event_type)i), event_name((enum event_type)j));
    }
    assert_string_equal(event_name(EVENT_BACKEND_DOWN), "backend_down");
    assert_string_equal(event_name(EVENT_CONFIG_RELOAD_FAILED), "config_reload_failed");
    assert_int_equal(event_parse("backend_gone"), -1);
    assert_int_equal(event_parse(""), -1);
    assert_string_equal(event_name(EVENT__COUNT), "?");
    assert_int_equal(event_severity_of(EVENT_FAILOVER_DONE), EVENT_CRITICAL);
    assert_int_equal(event_severity_of(EVENT_BACKEND_DOWN), EVENT_WARNING);
    assert_int_equal(event_severity_of(EVENT_CONFIG_RELOADED), EVENT_INFO);
    assert_int_equal(event_severity_of(EVENT_TEST_ALERT), EVENT_CRITICAL); /* passes any filter */
    for (int s = EVENT_INFO; s <= EVENT_CRITICAL; s++)
        assert_int_equal(event_severity_parse(event_severity_name((enum event_severity)s)), s);
    assert_int_equal(event_severity_parse("fatal"), -1);
}

static void test_json(void **state)
{
    (void)state;
    struct event e = ev(EVENT_BACKEND_DOWN, "node1");
    e.seq = 7;
    e.time_us = 1795386601123456LL; /* 2026-11-22T22:30:01.123Z */
    char out[EVENT_JSON_MAX];
    size_t n = event_json(&e, "proxy:3306", out, sizeof(out));
    const char *want = "{\"event\":\"backend_down\",\"severity\":\"warning\",\"time\":\"2026-11-"
                       "22T22:30:01.123Z\",\"seq\":7,"
                       "\"instance\":\"proxy:3306\",\"backend\":\"node1\",\"old\":\"ONLINE\","
                       "\"new\":\"DOWN\",\"reason\":\"check failed\","
                       "\"action\":\"no new statements\",\"coalesced\":0}";
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
}

static void test_json_escaping(void **state)
{
    (void)state;
    struct event e;
    event_fill(&e, EVENT_CONFIG_RELOAD_FAILED, NULL, NULL, NULL,
               "f.conf:3: \"x\": bad\\value\nnext\ttab \x01 caf\xc3\xa9 \xff", NULL);
    e.time_us = 0;
    e.coalesced = 3;
    char out[EVENT_JSON_MAX];
    event_json(&e, "a\"b", out, sizeof(out));
    assert_non_null(strstr(out, "\"instance\":\"a\\\"b\""));
    assert_non_null(strstr(out, "\"backend\":\"\""));
    assert_non_null(strstr(
        out, "\"reason\":\"f.conf:3: \\\"x\\\": bad\\\\value\\nnext\\ttab \\u0001 caf\xc3\xa9 "
             "\\ufffd\""));
    assert_non_null(strstr(out, "\"time\":\"1970-01-01T00:00:00.000Z\""));
    assert_non_null(strstr(out, "\"coalesced\":3}"));
    assert_null(strchr(out, '\n'));
}

static void test_json_cut(void **state)
{
    (void)state;
    struct event e;
    char big[EVENT_TEXT_MAX];
    memset(big, '"', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    event_fill(&e, EVENT_FAILOVER_DONE, "node2", "node0", "node2", big, big);
    char out[EVENT_JSON_MAX];
    /* Everything fits the full buffer (escaping doubles each quote). */
    size_t n = event_json(&e, "i", out, sizeof(out));
    assert_int_equal(strlen(out), n);
    assert_non_null(strstr(out, "\"coalesced\":0}"));
    /* A small one: the texts are cut, the object still ends. */
    char small[600];
    n = event_json(&e, "i", small, sizeof(small));
    assert_true(n < sizeof(small));
    assert_int_equal(strlen(small), n);
    assert_memory_equal(small + n - 15, ",\"coalesced\":0}", 15);
    assert_non_null(strstr(small, "\"backend\":\"node2\""));
}

static void test_ring(void **state)
{
    (void)state;
    struct event_ring r;
    assert_int_equal(event_ring_init(&r, 5), HY_OK); /* 8 slots */
    struct event e = ev(EVENT_BACKEND_UP, "n"), got;
    assert_false(event_ring_pop(&r, &got));
    for (uint64_t i = 1; i <= 8; i++) {
        e.seq = i;
        assert_true(event_ring_push(&r, &e));
    }
    e.seq = 9;
    assert_false(event_ring_push(&r, &e)); /* full: refused, never waits */
    for (uint64_t i = 1; i <= 3; i++) {
        assert_true(event_ring_pop(&r, &got));
        assert_int_equal(got.seq, i);
        assert_string_equal(got.backend, "n");
    }
    for (uint64_t i = 9; i <= 11; i++) {
        e.seq = i;
        assert_true(event_ring_push(&r, &e));
    }
    for (uint64_t i = 4; i <= 11; i++) {
        assert_true(event_ring_pop(&r, &got));
        assert_int_equal(got.seq, i);
    }
    assert_false(event_ring_pop(&r, &got));
    event_ring_free(&r);
}

struct producer {
    struct event_ring *r;
    int id;
    int accepted;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    struct event e = ev(EVENT_AUTH_BLOCK, "x");
    for (int i = 0; i < 20000; i++) {
        e.seq = (uint64_t)p->id << 32 | (uint64_t)i;
        if (event_ring_push(p->r, &e))
            p->accepted++;
    }
    return NULL;
}

static void test_ring_threads(void **state)
{
    (void)state;
    struct event_ring r;
    assert_int_equal(event_ring_init(&r, 256), HY_OK);
    struct producer p[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        p[i] = (struct producer){.r = &r, .id = i};
        assert_int_equal(pthread_create(&t[i], NULL, produce, &p[i]), 0);
    }
    /* The consumer: each producer's events come in its order. */
    int popped = 0, last[4] = {-1, -1, -1, -1};
    bool joined[4] = {false, false, false, false};
    struct event got;
    bool done = false;
    while (!done) {
        while (event_ring_pop(&r, &got)) {
            int id = (int)(got.seq >> 32), i = (int)(got.seq & 0xffffffffu);
            assert_true(id >= 0 && id < 4);
            assert_true(i > last[id]);
            last[id] = i;
            popped++;
        }
        done = true;
        for (int i = 0; i < 4; i++) {
            if (!joined[i] && pthread_tryjoin_np(t[i], NULL) == 0)
                joined[i] = true;
            done = done && joined[i];
        }
    }
    while (event_ring_pop(&r, &got))
        popped++;
    int accepted = 0;
    for (int i = 0; i < 4; i++)
        accepted += p[i].accepted;
    assert_int_equal(popped, accepted);
    event_ring_free(&r);
}

static void test_coalesce(void **state)
{
    (void)state;
    struct coalesce c;
    assert_int_equal(coalesce_init(&c, 8), HY_OK);
    struct event d1 = ev(EVENT_BACKEND_DOWN, "node1"), out;
    struct event u1 = ev(EVENT_BACKEND_UP, "node1");
    struct event d2 = ev(EVENT_BACKEND_DOWN, "node2");
    assert_true(coalesce_offer(&c, &d1, 1000, 60000));  /* first: delivered */
    assert_true(coalesce_offer(&c, &u1, 1100, 60000));  /* another name */
    assert_true(coalesce_offer(&c, &d2, 1200, 60000));  /* another backend */
    assert_int_equal(coalesce_next_ms(&c), UINT64_MAX); /* nothing held */
    d1.seq = 5;
    assert_false(coalesce_offer(&c, &d1, 2000, 60000)); /* held */
    d1.seq = 6;
    strcpy(d1.reason, "the last one");
    assert_false(coalesce_offer(&c, &d1, 3000, 60000)); /* held */
    assert_int_equal(coalesce_next_ms(&c), 61000);
    assert_false(coalesce_due(&c, 60999, &out));
    assert_true(coalesce_due(&c, 61000, &out));
    assert_int_equal(out.seq, 6);
    assert_int_equal(out.coalesced, 2);
    assert_string_equal(out.reason, "the last one");
    assert_false(coalesce_due(&c, 61000, &out));
    /* A new interval started with that delivery. */
    assert_false(coalesce_offer(&c, &d1, 62000, 60000));
    assert_true(coalesce_due(&c, 121000, &out));
    assert_int_equal(out.coalesced, 1);
    /* Quiet for a whole interval: the next one is delivered at once. */
    assert_true(coalesce_offer(&c, &d1, 200000, 60000));
    /* repeat_ms 0: every event. */
    assert_true(coalesce_offer(&c, &d1, 200001, 0));
    coalesce_free(&c);
}

/* alerts.events gives names their own intervals: each held event is due
 * at the end of its own, and its next interval is as long. */
static void test_coalesce_per_name(void **state)
{
    (void)state;
    struct coalesce c;
    assert_int_equal(coalesce_init(&c, 8), HY_OK);
    struct event lag = ev(EVENT_BACKEND_LAGGING, "node1"), out;
    struct event down = ev(EVENT_BACKEND_DOWN, "node1");
    assert_true(coalesce_offer(&c, &lag, 0, 600000));
    assert_true(coalesce_offer(&c, &down, 0, 10000));
    assert_false(coalesce_offer(&c, &lag, 1000, 600000));
    assert_false(coalesce_offer(&c, &down, 1000, 10000));
    assert_int_equal(coalesce_next_ms(&c), 10000);
    assert_true(coalesce_due(&c, 10000, &out));
    assert_int_equal(out.type, EVENT_BACKEND_DOWN);
    assert_false(coalesce_due(&c, 599999, &out)); /* the lagging one waits its 10 minutes */
    assert_false(coalesce_offer(&c, &down, 15000, 10000));
    assert_int_equal(coalesce_next_ms(&c), 20000); /* 10 s after its delivery */
    assert_true(coalesce_due(&c, 20000, &out));
    assert_int_equal(out.type, EVENT_BACKEND_DOWN);
    assert_int_equal(coalesce_next_ms(&c), 600000);
    assert_true(coalesce_due(&c, 600000, &out));
    assert_int_equal(out.type, EVENT_BACKEND_LAGGING);
    assert_int_equal(out.coalesced, 1);
    coalesce_free(&c);
}

static void test_coalesce_full_table(void **state)
{
    (void)state;
    struct coalesce c;
    assert_int_equal(coalesce_init(&c, 2), HY_OK);
    struct event a = ev(EVENT_BACKEND_DOWN, "a"), b = ev(EVENT_BACKEND_DOWN, "b"),
                 x = ev(EVENT_BACKEND_DOWN, "x"), out;
    assert_true(coalesce_offer(&c, &a, 0, 1000));
    assert_true(coalesce_offer(&c, &b, 0, 1000));
    /* No slot for x: it is never held, whatever comes. */
    assert_true(coalesce_offer(&c, &x, 10, 1000));
    assert_true(coalesce_offer(&c, &x, 20, 1000));
    assert_false(coalesce_offer(&c, &a, 30, 1000));
    /* a's interval ends: due; b's slot (nothing held, interval over) is reused. */
    assert_true(coalesce_due(&c, 1000, &out));
    assert_string_equal(out.backend, "a");
    assert_true(coalesce_offer(&c, &x, 1001, 1000));
    assert_false(coalesce_offer(&c, &x, 1002, 1000));
    coalesce_free(&c);
}

static void test_spawn(void **state)
{
    (void)state;
    char dir[] = "/tmp/halyard-spawn-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char script[128], out[128], cmd[512];
    snprintf(script, sizeof(script), "%s/cmd.sh", dir);
    snprintf(out, sizeof(out), "%s/out", dir);
    FILE *f = fopen(script, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\n{ echo \"arg=$1\"; cat; env | sort; } > %s\nexit 3\n", out);
    fclose(f);
    chmod(script, 0700);
    setenv("HALYARD_TEST_SECRET", "x", 1);
    struct event e = ev(EVENT_BACKEND_DOWN, "node1");
    e.seq = 9;
    struct spawn_env env;
    spawn_env_from_event(&env, &e, "inst");
    char json[EVENT_JSON_MAX], err[256];
    size_t len = event_json(&e, "inst", json, sizeof(json));
    pid_t pid;
    assert_int_equal(
        spawn_start(script, "backend_down", env.envp, json, len, &pid, err, sizeof(err)), HY_OK);
    bool killed;
    int st = spawn_wait(pid, 5000, &killed);
    assert_false(killed);
    char how[48];
    spawn_status_str(st, how, sizeof(how));
    assert_string_equal(how, "exit 3");
    f = fopen(out, "r");
    assert_non_null(f);
    char got[8192] = "";
    size_t n = fread(got, 1, sizeof(got) - 1, f);
    got[n] = '\0';
    fclose(f);
    assert_non_null(strstr(got, "arg=backend_down\n"));
    assert_non_null(strstr(got, json));
    assert_non_null(strstr(got, "\nHALYARD_EVENT=backend_down\n"));
    assert_non_null(strstr(got, "\nHALYARD_SEVERITY=warning\n"));
    assert_non_null(strstr(got, "\nHALYARD_BACKEND=node1\n"));
    assert_non_null(strstr(got, "\nHALYARD_INSTANCE=inst\n"));
    assert_non_null(strstr(got, "\nHALYARD_SEQ=9\n"));
    assert_null(strstr(got, "HALYARD_TEST_SECRET"));
    assert_null(strstr(got, "\nHOME="));
    /* Too long: killed. */
    char *sleep_env[] = {NULL};
    assert_int_equal(spawn_start("/bin/sleep", "10", sleep_env, "", 0, &pid, err, sizeof(err)),
                     HY_OK);
    st = spawn_wait(pid, 50, &killed);
    assert_true(killed);
    spawn_status_str(st, how, sizeof(how));
    assert_string_equal(how, "signal 9");
    /* Missing. */
    assert_int_equal(spawn_start("/nonexistent/cmd", "x", sleep_env, "", 0, &pid, err, sizeof(err)),
                     HY_ERROR);
    assert_non_null(strstr(err, "/nonexistent/cmd"));
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_json_escaping),
        cmocka_unit_test(test_json_cut),
        cmocka_unit_test(test_ring),
        cmocka_unit_test(test_ring_threads),
        cmocka_unit_test(test_coalesce_per_name),
        cmocka_unit_test(test_coalesce),
        cmocka_unit_test(test_coalesce_full_table),
        cmocka_unit_test(test_spawn),
    };
    return cmocka_run_group_tests_name("events", tests, NULL, NULL);
}
