/*
 * test_monitor_roles.c: the monitor's role decision (monitor_roles.c)
 * over what its checks saw, with the backends' run-time state.
 *
 *   - the primary DOWN, a replica read_only off outside replication: it
 *     takes the primary role at the monitor's next decision
 *   - the same while this halyard's own failover of the group runs
 *     (backend_set_failover_busy): the roles stay as they are until the
 *     failover publishes them (fx_publish_primary), so no reader finds
 *     the new primary before when and how it was promoted
 *     (failover_at_us, promoted_how: session_inflight.c's proof); the
 *     server made writable is not judged a replica outside replication
 *     meanwhile (it would be LAGGING, out of traffic, once published)
 *   - a failover of another group holds nothing back
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/cluster/backend.h"
#include "halyard/cluster/proof.h"
#include "halyard/config/config.h"
#include "halyard/config/group.h"
#include "../../src/cluster/monitor_int.h"

#define NODES 3

struct fixture {
    struct config *cfg;
    struct monitor m;
    struct monitor_backend mb[NODES];
    struct monitor_backend *mbp[NODES];
};

/* Three backends named <prefix>0..2, 0 the primary, in a group of their
 * own named `prefix`: 0 DOWN, 1 promoted by a failover (read_only off, no
 * source) but not published, 2 still replicating from 0. */
static void setup_nodes(struct fixture *f, const char *prefix)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "listeners = ( { name = \"main\"; address = \"127.0.0.1\"; port = 3306; "
             "group = \"%s\"; } );\n"
             "users = ( { name = \"app\"; password_hash = \"\"; } );\n"
             "backends = (\n"
             "  { name = \"%s0\"; address = \"127.0.0.1\"; port = 3307; role = \"primary\"; },\n"
             "  { name = \"%s1\"; address = \"127.0.0.1\"; port = 3308; role = \"replica\"; },\n"
             "  { name = \"%s2\"; address = \"127.0.0.1\"; port = 3309; role = \"replica\"; }\n"
             ");\n"
             "groups = ( { name = \"%s\"; backends = [ \"%s0\", \"%s1\", \"%s2\" ]; } );\n",
             prefix, prefix, prefix, prefix, prefix, prefix, prefix, prefix);
    char err[512];
    memset(f, 0, sizeof(*f));
    if (config_load_string(text, "test.conf", &f->cfg, err, sizeof(err)) != HY_OK)
        fail_msg("config: %s", err);
    assert_int_equal(backend_rt_attach(f->cfg), HY_OK);
    assert_int_equal(f->cfg->n_backends, NODES);
    f->m.cfg = f->cfg;
    f->m.mb = f->mbp;
    f->m.n = NODES;
    for (size_t i = 0; i < NODES; i++) {
        struct monitor_backend *mb = &f->mb[i];
        f->mbp[i] = mb;
        mb->be = &f->cfg->backends[i];
        mb->rt = mb->be->rt;
        mb->index = (int)i;
        mb->m = &f->m;
        mb->seen = true;
        mb->ok = true;
        mb->read_only = true;
        mb->source = 0;
        mb->check_started = 1.0; /* before any failover_at_us of this test */
        mb->track.health = BACKEND_ONLINE;
        backend_set_health(mb->rt, BACKEND_ONLINE, "test");
        backend_set_role(mb->rt, mb->be->role, "test");
    }
    f->mb[0].ok = false;
    f->mb[0].source = -1;
    f->mb[0].track.health = BACKEND_DOWN;
    backend_set_health(f->mb[0].rt, BACKEND_DOWN, "test: killed");
    f->mb[1].read_only = false; /* STOP ALL SLAVES, RESET SLAVE ALL, read_only = 0 */
    f->mb[1].source = -1;
}

static void teardown_nodes(struct fixture *f)
{
    config_put(f->cfg);
}

static void test_writable_outside_replication_takes_the_role(void **state)
{
    (void)state;
    struct fixture f;
    setup_nodes(&f, "roles-plain");
    assert_int_equal(backend_primary_index(f.cfg), -1);
    assert_true(monitor_update_roles(&f.m));
    assert_int_equal(backend_role(f.mb[1].rt), ROLE_PRIMARY);
    assert_int_equal(backend_role(f.mb[0].rt), ROLE_REPLICA);
    assert_int_equal(backend_primary_index(f.cfg), 1);
    teardown_nodes(&f);
}

static void test_own_failover_publishes_the_roles(void **state)
{
    (void)state;
    struct fixture f;
    setup_nodes(&f, "roles-busy");
    const char *group = group_of(f.cfg)->name;
    backend_set_failover_busy(group, true);
    /* the failover made node1 writable; its publish has not come yet */
    assert_false(monitor_update_roles(&f.m));
    assert_int_equal(backend_role(f.mb[1].rt), ROLE_REPLICA);
    assert_int_equal(backend_role(f.mb[0].rt), ROLE_PRIMARY);
    assert_int_equal(backend_primary_index(f.cfg), -1);
    assert_false(f.mb[1].writable_outside);
    /* nor a replica outside replication: it is not LAGGING once published */
    monitor_feed(&f.mb[1], true, NULL);
    assert_int_equal(backend_state(f.mb[1].rt), BACKEND_ONLINE);
    /* the publish (fx_publish_primary): how, when, then the role */
    atomic_store(&f.mb[1].rt->promoted_how, (int)PROOF_NOT_CAUGHT_UP);
    backend_mark_failover(f.mb[1].rt);
    backend_set_role(f.mb[1].rt, ROLE_PRIMARY, "failover: published");
    backend_mark_failover(f.mb[0].rt);
    backend_set_fenced(f.mb[0].rt, true, "failover: published");
    backend_set_role(f.mb[0].rt, ROLE_REPLICA, "failover: published");
    assert_int_equal(backend_primary_index(f.cfg), 1);
    assert_true(atomic_load(&f.mb[1].rt->failover_at_us) > 0);
    assert_int_equal(atomic_load(&f.mb[1].rt->promoted_how), PROOF_NOT_CAUGHT_UP);
    backend_set_failover_busy(group, false);
    /* the checks that follow confirm it */
    for (size_t i = 0; i < NODES; i++)
        f.mb[i].check_started = (double)atomic_load(&f.mb[1].rt->failover_at_us) / 1e6 + 1;
    assert_false(monitor_update_roles(&f.m));
    assert_int_equal(backend_role(f.mb[1].rt), ROLE_PRIMARY);
    assert_int_equal(backend_role(f.mb[0].rt), ROLE_REPLICA);
    teardown_nodes(&f);
}

static void test_another_group_s_failover_holds_nothing(void **state)
{
    (void)state;
    struct fixture f;
    setup_nodes(&f, "roles-other");
    backend_set_failover_busy("roles-elsewhere", true);
    assert_true(monitor_update_roles(&f.m));
    assert_int_equal(backend_role(f.mb[1].rt), ROLE_PRIMARY);
    assert_int_equal(backend_primary_index(f.cfg), 1);
    backend_set_failover_busy("roles-elsewhere", false);
    teardown_nodes(&f);
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
        cmocka_unit_test(test_writable_outside_replication_takes_the_role),
        cmocka_unit_test(test_own_failover_publishes_the_roles),
        cmocka_unit_test(test_another_group_s_failover_holds_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
