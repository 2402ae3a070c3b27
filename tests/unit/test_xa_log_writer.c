/*
 * test_xa_log_writer.c: the XA log's writer thread (xa_log_writer.h):
 * records handed by a loop come back to that loop once durable, in the
 * order handed, many sharing one fdatasync; a failed write is reported to
 * each waiter; a cancelled wait never calls back; D records without a
 * waiter are written with the next batch.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "halyard/sql/xa_log.h"
#include "halyard/cluster/xa_log_writer.h"

#define N_DECISIONS 64

static int n_done;

static void on_done(struct xa_log_wait *w)
{
    int *order = w->data;
    *order = ++n_done;
}

static void tmp_path(char *path)
{
    strcpy(path, "/tmp/test_xa_log_writer.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
}

static void run_until(struct ev_loop *loop, int want)
{
    for (int i = 0; i < 5000 && n_done < want; i++)
        ev_run(loop, EVRUN_ONCE);
}

static void test_group_commit(void **state)
{
    (void)state;
    char path[64];
    tmp_path(path);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    static struct xa_log_wait w[N_DECISIONS];
    static int order[N_DECISIONS];
    unsigned long recs0, syncs0, recs1, syncs1, comp0, comp1;
    xa_log_writer_counts(&recs0, &syncs0, &comp0);
    n_done = 0;
    xa_log_writer_pause(true); /* all handed before the writer takes any */
    for (int i = 0; i < N_DECISIONS; i++) {
        char rec[128];
        snprintf(rec, sizeof(rec), "C g%d %d a,b\n", i, 1000 + i);
        w[i] = (struct xa_log_wait){.loop = loop, .done = on_done, .data = &order[i]};
        order[i] = 0;
        assert_int_equal(xa_log_writer_submit(path, rec, strlen(rec), &w[i]), HY_OK);
        if (i % 2 == 1) { /* the one before is done: no waiter, no fsync of its own */
            snprintf(rec, sizeof(rec), "D g%d\n", i - 1);
            assert_int_equal(xa_log_writer_submit(path, rec, strlen(rec), NULL), HY_OK);
        }
    }
    ev_run(loop, EVRUN_NOWAIT);
    assert_int_equal(n_done, 0); /* nothing durable yet: nobody told */
    xa_log_writer_pause(false);
    run_until(loop, N_DECISIONS);
    assert_int_equal(n_done, N_DECISIONS);
    for (int i = 0; i < N_DECISIONS; i++) {
        assert_true(w[i].finished);
        assert_int_equal(w[i].rc, HY_OK);
        assert_true(order[i] > 0);
    }
    xa_log_writer_counts(&recs1, &syncs1, &comp1);
    assert_int_equal(recs1 - recs0, N_DECISIONS);
    assert_int_equal(syncs1 - syncs0, 1); /* one batch, one fdatasync */
    /* in the order handed: the odd ones still in doubt, the even ones done */
    struct xa_log_state st;
    assert_int_equal(xa_log_load(path, &st), HY_OK);
    assert_false(st.torn);
    assert_int_equal(st.bad_lines, 0);
    assert_int_equal(st.n, N_DECISIONS / 2);
    for (size_t i = 0; i < st.n; i++) {
        char g[16];
        snprintf(g, sizeof(g), "g%zu", 2 * i + 1);
        assert_string_equal(st.v[i].gtrid, g);
        assert_int_equal(st.v[i].n_groups, 2);
    }
    xa_log_state_free(&st);
    unlink(path);
    ev_loop_destroy(loop);
}

static void test_failure(void **state)
{
    (void)state;
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    static struct xa_log_wait w[3];
    static int order[3];
    unsigned long recs0, syncs0, recs1, syncs1, comp0, comp1;
    xa_log_writer_counts(&recs0, &syncs0, &comp0);
    n_done = 0;
    for (int i = 0; i < 3; i++) {
        w[i] = (struct xa_log_wait){.loop = loop, .done = on_done, .data = &order[i]};
        assert_int_equal(xa_log_writer_submit("/nonexistent-dir/xa.log", "C g 1 a,b\n", 10, &w[i]),
                         HY_OK);
    }
    run_until(loop, 3);
    assert_int_equal(n_done, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(w[i].rc, HY_ERROR);
        assert_int_equal(w[i].err, ENOENT);
    }
    xa_log_writer_counts(&recs1, &syncs1, &comp1);
    assert_int_equal(recs1, recs0); /* none made durable */
    assert_int_equal(syncs1, syncs0);
    ev_loop_destroy(loop);
}

static void test_cancel(void **state)
{
    (void)state;
    char path[64];
    tmp_path(path);
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    struct xa_log_wait w = {.loop = loop, .done = on_done, .data = &n_done};
    n_done = 0;
    assert_int_equal(xa_log_writer_submit(path, "C gc 1 a,b\n", 11, &w), HY_OK);
    /* the caller goes away: it waits for the write, and is never called */
    assert_int_equal(xa_log_writer_cancel(&w), HY_OK);
    for (int i = 0; i < 10; i++)
        ev_run(loop, EVRUN_NOWAIT);
    assert_int_equal(n_done, 0);
    struct xa_log_state st;
    assert_int_equal(xa_log_load(path, &st), HY_OK);
    assert_int_equal(st.n, 1);
    assert_string_equal(st.v[0].gtrid, "gc");
    xa_log_state_free(&st);
    unlink(path);
    ev_loop_destroy(loop);
}

/* Last: stop writes what was handed, and then refuses more. */
static void test_stop(void **state)
{
    (void)state;
    char path[64];
    tmp_path(path);
    assert_int_equal(xa_log_writer_submit(path, "C gs 1 a,b\n", 11, NULL), HY_OK);
    xa_log_writer_stop();
    struct xa_log_state st;
    assert_int_equal(xa_log_load(path, &st), HY_OK);
    assert_int_equal(st.n, 1);
    xa_log_state_free(&st);
    assert_int_equal(xa_log_writer_submit(path, "D gs\n", 5, NULL), HY_NOMEM);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_commit),
        cmocka_unit_test(test_failure),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
