/*
 * test_global_pos.c: consistency = global's shared position per group
 * (global_pos.h): the counter, the known position and when it covers a
 * read, the backends' applied counters, the monitor's bump, and entries
 * kept by group name across configs (a reload).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/cluster/global_pos.h"
#include "halyard/config/config.h"

/* A config with groups named `names` (what global_pos_attach reads). */
static void fake_config(struct config *cfg, struct config_group *groups, const char *const *names,
                        size_t n)
{
    memset(cfg, 0, sizeof(*cfg));
    memset(groups, 0, n * sizeof(*groups));
    for (size_t i = 0; i < n; i++)
        groups[i].name = (char *)names[i];
    cfg->groups = groups;
    cfg->n_groups = n;
}

/* The entry of a group named `name` alone in a config (entries live until
 * exit: each test names its own group). */
static struct global_pos *group_pos(const char *name)
{
    static const char *names[1];
    struct config cfg;
    struct config_group grp[1];
    names[0] = name;
    fake_config(&cfg, grp, names, 1);
    assert_int_equal(global_pos_attach(&cfg), HY_OK);
    assert_non_null(grp[0].gpos);
    return grp[0].gpos;
}

/* Two backends: only the address is used, any two distinct objects do. */
static char rt_a, rt_b;
#define RT_A ((const struct backend_rt *)&rt_a)
#define RT_B ((const struct backend_rt *)&rt_b)

static void test_counter_and_known(void **state)
{
    (void)state;
    struct global_pos *g = group_pos("g1");

    /* Starts at 1 with nothing known: the first read reads the primary. */
    uint64_t need = global_pos_need(g);
    assert_int_equal(need, 1);
    char pos[GLOBAL_POS_MAX];
    uint64_t at = 0;
    assert_false(global_pos_known(g, need, pos, sizeof(pos), &at));

    /* A position read at 1 covers reads that need 1, not 2. */
    global_pos_publish(g, 1, "0-1-10");
    assert_true(global_pos_known(g, 1, pos, sizeof(pos), &at));
    assert_string_equal(pos, "0-1-10");
    assert_int_equal(at, 1);
    global_pos_commit(g);
    need = global_pos_need(g);
    assert_int_equal(need, 2);
    assert_false(global_pos_known(g, need, pos, sizeof(pos), &at));

    /* An older read published late does not replace a newer one. */
    global_pos_publish(g, 2, "0-1-11");
    global_pos_publish(g, 1, "0-1-10");
    assert_true(global_pos_known(g, 2, pos, sizeof(pos), &at));
    assert_string_equal(pos, "0-1-11");
    assert_int_equal(at, 2);

    /* A position too long to keep is not kept. */
    char big[GLOBAL_POS_MAX + 8];
    memset(big, '1', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    global_pos_publish(g, 3, big);
    assert_true(global_pos_known(g, 2, pos, sizeof(pos), &at));
    assert_string_equal(pos, "0-1-11");
    /* ... nor copied to a buffer too small for it */
    assert_false(global_pos_known(g, 2, pos, 4, &at));
}

static void test_applied(void **state)
{
    (void)state;
    struct global_pos *g = group_pos("g2");
    const struct backend_rt *a = RT_A, *b = RT_B;

    assert_int_equal(global_pos_applied(g, a), 0);
    assert_int_equal(global_pos_applied(g, NULL), 0);
    global_pos_applied_set(g, a, 5);
    assert_int_equal(global_pos_applied(g, a), 5);
    assert_int_equal(global_pos_applied(g, b), 0);
    global_pos_applied_set(g, a, 3); /* never backwards */
    assert_int_equal(global_pos_applied(g, a), 5);
    global_pos_applied_set(g, b, 7);
    assert_int_equal(global_pos_applied(g, b), 7);
    assert_int_equal(global_pos_applied(g, a), 5);
}

static void test_writer_of_the_last_commit(void **state)
{
    (void)state;
    struct global_pos *g = group_pos("g4");
    const struct backend_rt *a = RT_A, *b = RT_B;

    /* No commit seen on a backend: any writer has them. */
    assert_true(global_pos_written_on(g, a));
    global_pos_commit_on(g, a);
    assert_int_equal(global_pos_need(g), 2);
    assert_true(global_pos_written_on(g, a));
    assert_false(global_pos_written_on(g, b)); /* the writer moved to b */
    /* A count without a backend (the monitor's, a fan-out's) keeps it. */
    global_pos_commit_on(g, NULL);
    global_pos_commit(g);
    assert_int_equal(global_pos_need(g), 4);
    assert_false(global_pos_written_on(g, b));
    global_pos_commit_on(g, b);
    assert_true(global_pos_written_on(g, b));
    assert_false(global_pos_written_on(g, a));
}

static void test_monitor_bump(void **state)
{
    (void)state;
    struct global_pos *g = group_pos("g3");

    /* Nothing known yet: no bump (the first read reads the primary). */
    assert_false(global_pos_primary_seen(g, "0-1-100"));
    assert_int_equal(global_pos_need(g), 1);
    global_pos_publish(g, 1, "0-1-100");
    /* The primary where the known position is, or behind it: no bump. */
    assert_false(global_pos_primary_seen(g, "0-1-100"));
    assert_false(global_pos_primary_seen(g, "0-1-99"));
    assert_false(global_pos_primary_seen(g, "garbage"));
    assert_int_equal(global_pos_need(g), 1);
    /* Past it (another halyard wrote, or a new domain): reads wait anew. */
    assert_true(global_pos_primary_seen(g, "0-1-101"));
    assert_int_equal(global_pos_need(g), 2);
    assert_true(global_pos_primary_seen(g, "0-1-100,1-2-1"));
    assert_int_equal(global_pos_need(g), 3);
}

static void test_entries_kept_by_name(void **state)
{
    (void)state;
    static const char *const first[] = {"keep", "other"};
    static const char *const second[] = {"new", "keep"};
    struct config c1, c2;
    struct config_group g1[2], g2[2];
    fake_config(&c1, g1, first, 2);
    fake_config(&c2, g2, second, 2);
    assert_int_equal(global_pos_attach(&c1), HY_OK);
    global_pos_commit(g1[0].gpos);
    assert_int_equal(global_pos_attach(&c2), HY_OK);
    /* A reload keeps the group's counter: reads still wait for its writes. */
    assert_ptr_equal(g2[1].gpos, g1[0].gpos);
    assert_int_equal(global_pos_need(g2[1].gpos), 2);
    assert_ptr_not_equal(g2[0].gpos, g1[0].gpos);
    assert_ptr_not_equal(g1[1].gpos, g1[0].gpos);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_and_known),         cmocka_unit_test(test_applied),
        cmocka_unit_test(test_writer_of_the_last_commit), cmocka_unit_test(test_monitor_bump),
        cmocka_unit_test(test_entries_kept_by_name),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    global_pos_free_all();
    return rc;
}
