/*
 * test_registry.c: the KILL registry (registry.h) and its holds. A KILL
 * that goes to a backend holds its target: the target may not give its
 * connection back (registry_release_ok) until the KILL is answered
 * (registry_kill_done), which wakes the target's worker; a KILL CONNECTION
 * marks its target to end only once the server accepts it; a look without
 * a hold neither holds nor marks; a target with no backend thread is marked
 * (KILL CONNECTION) or marked idle-killed (KILL QUERY), its worker woken
 * either way, and never held. A KILL reads a thread and its backend as
 * one: never one connection's thread with another's backend.
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

#include "halyard/session/registry.h"

static int wakeups;

static void wake_cb(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    wakeups++;
}

struct fixture {
    struct ev_loop *loop;
    ev_async wakeup;
    atomic_bool pending;
    struct registry_entry killer, target;
};

static void entry_init(struct fixture *f, struct registry_entry *e, const char *user)
{
    memset(e, 0, sizeof(*e));
    e->id = registry_new_id();
    snprintf(e->user, sizeof(e->user), "%s", user);
    e->loop = f->loop;
    e->wakeup = &f->wakeup;
    e->kill_pending = &f->pending;
    registry_add(e);
}

/* Runs the loop until the async watcher has been seen (or not, at once). */
static bool woken(struct fixture *f)
{
    int before = wakeups;
    ev_run(f->loop, EVRUN_NOWAIT);
    bool pending = atomic_exchange(&f->pending, false);
    return wakeups > before && pending;
}

static void fixture_init(struct fixture *f)
{
    f->loop = ev_loop_new(EVFLAG_AUTO);
    ev_async_init(&f->wakeup, wake_cb);
    ev_async_start(f->loop, &f->wakeup);
    atomic_init(&f->pending, false);
    entry_init(f, &f->killer, "app");
    entry_init(f, &f->target, "app");
}

static void fixture_done(struct fixture *f)
{
    registry_remove(&f->killer);
    registry_remove(&f->target);
    ev_async_stop(f->loop, &f->wakeup);
    ev_loop_destroy(f->loop);
}

static void test_kill_holds_until_answered(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    registry_set_backend(&f.target, 0, 77);
    uint32_t tid = 0, idx = 9;

    /* A look: where to send it, nothing held or marked. */
    assert_int_equal(registry_kill(&f.killer, f.target.id, true, false, &tid, &idx), KILL_BACKEND);
    assert_int_equal(tid, 77);
    assert_int_equal(idx, 0);
    assert_false(registry_kill_requested(&f.target));
    assert_true(registry_release_ok(&f.target));
    registry_set_backend(&f.target, 0, 77);

    /* Sent: held, and the target may not give its connection back. */
    assert_int_equal(registry_kill(&f.killer, f.target.id, false, true, &tid, &idx), KILL_BACKEND);
    assert_int_equal(tid, 77);
    assert_false(registry_kill_requested(&f.target)); /* KILL QUERY */
    assert_false(registry_release_ok(&f.target));
    registry_set_backend(&f.target, 0, 77); /* it keeps it; its next statement publishes it */
    assert_false(woken(&f));

    /* Two KILLs in flight: the hold ends with the last answer. A KILL
     * CONNECTION on its way makes a lost connection its doing; the session
     * is marked to end only once the server accepts it. */
    assert_int_equal(registry_kill(&f.killer, f.target.id, true, true, &tid, &idx), KILL_BACKEND);
    assert_true(registry_kill_sent(&f.target));
    assert_false(registry_kill_requested(&f.target));
    registry_kill_done(f.target.id, 0, false, true); /* the KILL QUERY */
    assert_false(woken(&f));
    assert_false(registry_release_ok(&f.target));
    registry_set_backend(&f.target, 0, 77);
    registry_kill_done(f.target.id, 0, true, true); /* the KILL CONNECTION, accepted */
    assert_true(woken(&f));                         /* its worker looks again */
    assert_true(registry_kill_requested(&f.target));
    assert_true(registry_release_ok(&f.target));

    /* An answer for nothing held changes nothing. */
    registry_kill_done(f.target.id, 0, false, true);
    assert_false(woken(&f));
    assert_true(registry_release_ok(&f.target));
    fixture_done(&f);
}

static void test_refused_kill_connection_marks_nothing(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    registry_set_backend(&f.target, 0, 78);
    uint32_t tid = 0, idx = 0;
    assert_int_equal(registry_kill(&f.killer, f.target.id, true, true, &tid, &idx), KILL_BACKEND);
    assert_true(registry_kill_sent(&f.target));
    registry_kill_done(f.target.id, 0, true, false); /* not the owner, says the server */
    assert_true(woken(&f));                          /* the hold ended */
    assert_false(registry_kill_sent(&f.target));
    assert_false(registry_kill_requested(&f.target));
    assert_true(registry_release_ok(&f.target));
    fixture_done(&f);
}

static void test_no_thread_no_hold(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    uint32_t tid = 5, idx = 0;

    /* Between statements, its connection given back: nothing to send. */
    assert_int_equal(registry_kill(&f.killer, f.target.id, false, true, &tid, &idx), KILL_MARKED);
    assert_int_equal(tid, 0);
    assert_false(registry_kill_requested(&f.target));
    assert_true(registry_release_ok(&f.target)); /* not held */
    (void)woken(&f);                             /* a wakeup for the undone count is harmless */

    /* KILL CONNECTION marks it and wakes its worker. */
    assert_int_equal(registry_kill(&f.killer, f.target.id, true, true, &tid, &idx), KILL_MARKED);
    assert_true(registry_kill_requested(&f.target));
    assert_true(woken(&f));
    assert_true(registry_release_ok(&f.target));

    /* Another user's session with no backend to ask. */
    struct registry_entry other;
    entry_init(&f, &other, "bob");
    assert_int_equal(registry_kill(&f.killer, other.id, false, true, &tid, &idx), KILL_NOT_OWNER);
    assert_true(registry_release_ok(&other));
    registry_remove(&other);

    /* Gone: unknown, and its late answer finds nothing. */
    uint32_t gone = f.target.id;
    registry_remove(&f.target);
    assert_int_equal(registry_kill(&f.killer, gone, false, true, &tid, &idx), KILL_UNKNOWN);
    registry_kill_done(gone, 0, false, true);
    registry_add(&f.target);
    fixture_done(&f);
}

/* KILL QUERY of a session with no backend thread (between statements, or
 * its statement waiting inside halyard: a limit, a primary, a pooled
 * connection) wakes its worker, which ends a waiting statement with 1317
 * (session_kill_wait): the mark is pending until taken, and once answered
 * (the owner takes it) nothing is pending. A KILL sent to its thread is
 * pending only once the server has answered it. Before: no wakeup (the
 * statement waited on to the end of its wait). */
static void test_kill_query_wakes_a_waiting_session(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    uint32_t tid = 5, idx = 0;
    assert_false(registry_wait_kill_pending(&f.target));
    /* as command_kill asks: a look first, which finds no thread */
    assert_int_equal(registry_kill(&f.killer, f.target.id, false, false, &tid, &idx), KILL_MARKED);
    assert_true(woken(&f));
    assert_true(registry_wait_kill_pending(&f.target));
    assert_true(registry_take_wait_kill(&f.target));
    assert_false(registry_wait_kill_pending(&f.target));

    registry_set_backend(&f.target, 1, 90);
    assert_int_equal(registry_kill(&f.killer, f.target.id, false, true, &tid, &idx), KILL_BACKEND);
    assert_false(registry_wait_kill_pending(&f.target)); /* on its way */
    registry_kill_done(f.target.id, idx, false, true);
    assert_true(woken(&f)); /* the hold ended */
    assert_true(registry_wait_kill_pending(&f.target));
    registry_note_command(&f.target); /* a new command: the KILL was not its */
    assert_false(registry_wait_kill_pending(&f.target));

    /* One the server refused (1095: another user's, who may not) marks
     * nothing: the waiting statement goes on. Before: pending, and the
     * statement ended with 1317 while the KILL's sender got 1095. */
    assert_int_equal(registry_kill(&f.killer, f.target.id, false, true, &tid, &idx), KILL_BACKEND);
    registry_kill_done(f.target.id, idx, false, false);
    assert_true(woken(&f));
    assert_false(registry_wait_kill_pending(&f.target));
    assert_false(registry_take_wait_kill(&f.target));
    fixture_done(&f);
}

/* The owner moves between two connections (pooled: backend 1 thread 100,
 * backend 2 thread 200, none between) while KILLs look its thread up:
 * each of 500,000 looks that finds a thread finds it with its own backend.
 * Before (two atomics read one after the other) a look found thread 100
 * on backend 2 or thread 200 on backend 1 in 10 runs out of 10 (after 4 to
 * 250,000 looks). */
struct mover {
    struct registry_entry *e;
    atomic_bool stop;
};

static void *move_between_connections(void *arg)
{
    struct mover *m = arg;
    while (!atomic_load(&m->stop)) {
        registry_set_backend(m->e, 1, 100);
        registry_set_backend(m->e, 2, 200);
        (void)registry_release_ok(m->e);
    }
    return NULL;
}

static void test_kill_reads_a_thread_with_its_backend(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    struct mover m = {.e = &f.target};
    atomic_init(&m.stop, false);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, move_between_connections, &m), 0);
    unsigned mixed = 0, found = 0;
    while (found < 500000 && mixed == 0) { /* looks that found a thread */
        uint32_t tid = 0, idx = 0;
        if (registry_kill(&f.killer, f.target.id, false, false, &tid, &idx) != KILL_BACKEND)
            continue;
        found++;
        if (!((tid == 100 && idx == 1) || (tid == 200 && idx == 2)))
            mixed++;
    }
    atomic_store(&m.stop, true);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(mixed, 0);
    assert_true(found > 0);
    fixture_done(&f);
}

/* A KILL sent to a session's thread marks that thread's backend
 * (killed_on) until the session takes its next command, unless the server
 * refuses it; a look does not, and the marks of backends past 63 are not
 * kept. */
static void test_killed_on_until_the_next_command(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    uint32_t tid = 0, idx = 0;
    registry_set_backend(&f.target, 2, 79);
    assert_int_equal(registry_kill(&f.killer, f.target.id, false, false, &tid, &idx), KILL_BACKEND);
    assert_int_equal(registry_killed_on(f.target.id), 0);
    assert_int_equal(registry_kill(&f.killer, f.target.id, false, true, &tid, &idx), KILL_BACKEND);
    registry_kill_done(f.target.id, idx, false, true);
    assert_int_equal(registry_killed_on(f.target.id), 1u << 2);
    registry_set_backend(&f.target, 0, 80); /* another connection, killed too */
    assert_int_equal(registry_kill(&f.killer, f.target.id, true, true, &tid, &idx), KILL_BACKEND);
    assert_int_equal(registry_killed_on(f.target.id), (1u << 2) | 1u); /* on its way */
    registry_kill_done(f.target.id, idx, true, true);
    assert_int_equal(registry_killed_on(f.target.id), (1u << 2) | 1u);
    registry_set_backend(&f.target, 3, 82); /* one the server refuses: no mark */
    assert_int_equal(registry_kill(&f.killer, f.target.id, false, true, &tid, &idx), KILL_BACKEND);
    registry_kill_done(f.target.id, idx, false, false);
    assert_int_equal(registry_killed_on(f.target.id), (1u << 2) | 1u);
    registry_note_command(&f.target);
    assert_int_equal(registry_killed_on(f.target.id), 0);
    registry_set_backend(&f.target, 64, 81);
    assert_int_equal(registry_kill(&f.killer, f.target.id, false, true, &tid, &idx), KILL_BACKEND);
    registry_kill_done(f.target.id, idx, false, true);
    assert_int_equal(registry_killed_on(f.target.id), 0);
    assert_int_equal(registry_killed_on(0), 0); /* no such session */
    (void)woken(&f);
    fixture_done(&f);
}

/* A KILL sent around registry_kill (KILL QUERY ID, passed on as it is)
 * marks the session its thread serves the same way, until its next
 * command; backends past 63 and unknown sessions are left be. */
static void test_mark_killed(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    registry_mark_killed(f.target.id, 3);
    registry_mark_killed(f.target.id, 64);
    registry_mark_killed(0, 1);
    assert_int_equal(registry_killed_on(f.target.id), 1u << 3);
    assert_int_equal(registry_killed_on(f.killer.id), 0);
    registry_note_command(&f.target);
    assert_int_equal(registry_killed_on(f.target.id), 0);
    fixture_done(&f);
}

/* A session's client text (a rewritten statement's): copied, cut to
 * REGISTRY_INFO_MAX bytes, read by id, gone when cleared or removed. */
static void test_info(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    size_t len = 7;
    assert_null(registry_info_dup(f.target.id, &len));
    registry_set_info(&f.target, "SELECT CONNECTION_ID()", 22);
    char *got = registry_info_dup(f.target.id, &len);
    assert_non_null(got);
    assert_int_equal(len, 22);
    assert_string_equal(got, "SELECT CONNECTION_ID()");
    free(got);
    assert_null(registry_info_dup(f.killer.id, &len));
    char *big = malloc(REGISTRY_INFO_MAX + 10);
    assert_non_null(big);
    memset(big, 'x', REGISTRY_INFO_MAX + 10);
    registry_set_info(&f.target, big, REGISTRY_INFO_MAX + 10);
    free(big);
    got = registry_info_dup(f.target.id, &len);
    assert_non_null(got);
    assert_int_equal(len, REGISTRY_INFO_MAX);
    assert_int_equal(strlen(got), REGISTRY_INFO_MAX);
    free(got);
    registry_set_info(&f.target, NULL, 0);
    assert_null(registry_info_dup(f.target.id, &len));
    registry_set_info(&f.target, "SELECT 1", 8);
    fixture_done(&f); /* removed: its copy freed (ASan) */
    assert_null(registry_info_dup(f.target.id, &len));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_holds_until_answered),
        cmocka_unit_test(test_refused_kill_connection_marks_nothing),
        cmocka_unit_test(test_no_thread_no_hold),
        cmocka_unit_test(test_kill_query_wakes_a_waiting_session),
        cmocka_unit_test(test_kill_reads_a_thread_with_its_backend),
        cmocka_unit_test(test_killed_on_until_the_next_command),
        cmocka_unit_test(test_mark_killed),
        cmocka_unit_test(test_info),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
