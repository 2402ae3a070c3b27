/*
 * test_group.c: groups and their views (group.h): what a loaded config's
 * groups hold, the settings a group inherits or overrides, the views'
 * backends and index mapping, references through a view, and the summary
 * `show groups` prints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/admin/admin.h"
#include "halyard/cluster/backend.h"
#include "halyard/config/config.h"
#include "halyard/config/group.h"
#include "halyard/core/textbuf.h"

#define HASH "*5BCB3E6AC345B435C7C2E6B7949A04CE6F6563D3"

static const char *TWO =
    "listeners = ( { name = \"e\"; address = \"127.0.0.1\"; port = 6033; group = \"east\"; },\n"
    "  { name = \"w\"; address = \"127.0.0.1\"; port = 6034; group = \"west\"; },\n"
    "  { name = \"d\"; address = \"127.0.0.1\"; port = 6035; } );\n"
    "users = ( { name = \"app\"; password_hash = \"" HASH "\"; } );\n"
    "monitor = { user = \"monitor\"; password = \"mpw\"; rise = 4; fall = 5; interval_ms = 800; "
    "timeout_ms = 600; };\n"
    "failover = \"auto\"; failover_delay_ms = 700; max_writers = 3;\n"
    "witnesses = ( { name = \"wit\"; address = \"w\"; port = 9; } );\n"
    "backends = ( { name = \"w1\"; address = \"h\"; port = 1; role = \"primary\"; },\n"
    "  { name = \"e1\"; address = \"h\"; port = 2; role = \"primary\"; },\n"
    "  { name = \"e2\"; address = \"h\"; port = 3; role = \"replica\"; },\n"
    "  { name = \"w2\"; address = \"h\"; port = 4; role = \"replica\"; } );\n"
    "groups = ( { name = \"east\"; backends = [ \"e2\", \"e1\" ]; monitor = { fall = 2; }; },\n"
    "  { name = \"west\"; cluster = \"galera\"; failover = \"off\"; backends = [ \"w1\", \"w2\" ]; "
    "monitor = { user = \"wmon\"; password = \"wpw\"; interval_ms = 300; timeout_ms = 2000; }; } "
    ");\n";

static void test_two_groups(void **state)
{
    (void)state;
    struct config *cfg = NULL;
    char err[512];
    assert_int_equal(config_load_string(TWO, "t.conf", &cfg, err, sizeof(err)), HY_OK);
    assert_true(cfg->groups_explicit);
    assert_int_equal(cfg->n_groups, 2);
    assert_int_equal(group_find(cfg, "east"), 0);
    assert_int_equal(group_find(cfg, "west"), 1);
    assert_int_equal(group_find(cfg, "default"), -1);
    /* listeners: named, and the first group by default */
    assert_int_equal(cfg->listeners[0].group, 0);
    assert_int_equal(cfg->listeners[1].group, 1);
    assert_int_equal(cfg->listeners[2].group, 0);
    /* each backend knows its group */
    assert_int_equal(cfg->backends[0].group, 1);
    assert_int_equal(cfg->backends[1].group, 0);
    assert_int_equal(cfg->backends[2].group, 0);
    assert_int_equal(cfg->backends[3].group, 1);

    const struct config_group *east = &cfg->groups[0], *west = &cfg->groups[1];
    assert_int_equal(east->cluster, CLUSTER_REPLICATION);
    assert_true(east->failover_auto); /* inherited */
    assert_int_equal(east->failover_delay_ms, 700);
    assert_int_equal(east->rise, 4); /* inherited */
    assert_int_equal(east->fall, 2); /* its own */
    assert_int_equal(west->cluster, CLUSTER_GALERA);
    assert_false(west->failover_auto); /* its own */
    assert_int_equal(west->max_writers, 3);
    assert_int_equal(west->fall, 5);
    /* the monitor account and timing: east's the top level's, west's its own */
    assert_string_equal(east->monitor_user, "monitor");
    assert_string_equal(east->monitor_password, "mpw");
    assert_int_equal(east->interval_ms, 800);
    assert_int_equal(east->timeout_ms, 600);
    assert_string_equal(west->monitor_user, "wmon");
    assert_string_equal(west->monitor_password, "wpw");
    assert_true(west->monitor_password_clear);
    assert_int_equal(west->interval_ms, 300);
    assert_int_equal(west->timeout_ms, 2000);

    /* The views: the group's backends in its order, its settings. */
    struct config *ve = group_view(cfg, 0), *vw = group_view(cfg, 1);
    assert_ptr_equal(config_root(ve), cfg);
    assert_ptr_equal(group_of(ve), east);
    assert_int_equal(ve->n_backends, 2);
    assert_string_equal(ve->backends[0].name, "e2");
    assert_string_equal(ve->backends[1].name, "e1");
    assert_int_equal(ve->view_to_full[0], 2);
    assert_int_equal(group_local_index(ve, 1), 1);
    assert_int_equal(group_local_index(ve, 0), -1); /* w1 is west's */
    assert_string_equal(config_primary(ve)->name, "e1");
    assert_string_equal(config_primary(vw)->name, "w1");
    assert_int_equal(ve->monitor.fall, 2);
    assert_int_equal(vw->cluster, CLUSTER_GALERA);
    assert_false(vw->failover_auto);
    /* failover logs into a group's backends as the group's account */
    assert_string_equal(vw->monitor.user, "wmon");
    assert_string_equal(vw->monitor.password, "wpw");
    assert_int_equal(vw->monitor.timeout_ms, 2000);
    assert_string_equal(ve->monitor.user, "monitor");
    assert_int_equal(ve->n_witnesses, 1); /* witnesses vote in every group's lock */
    assert_int_equal(ve->n_listeners, 3);

    /* Run-time state reaches the views. */
    assert_int_equal(backend_rt_attach(cfg), HY_OK);
    assert_ptr_equal(ve->backends[1].rt, cfg->backends[1].rt);
    assert_ptr_equal(vw->backends[1].rt, cfg->backends[3].rt);
    assert_int_equal(backend_primary_index(ve), 1);
    assert_int_equal(backend_primary_index(vw), 0);

    /* show groups, from the run-time state. */
    backend_set_health(cfg->backends[3].rt, BACKEND_DOWN, "test");
    struct textbuf sb;
    textbuf_init(&sb, 1 << 16);
    admin_show_groups(&sb, cfg, false);
    /* one fact a column: counts, never a list in a cell */
    assert_non_null(strstr(sb.data, "group  cluster      failover  writer  writers  backends  "
                                    "online  down  lagging  draining  maint\n"));
    assert_non_null(strstr(sb.data, "\neast   replication  auto      e1      1        2         "
                                    "2       0     0        0         0\n"));
    assert_non_null(strstr(sb.data, "\nwest   galera       off       w1      1        2         "
                                    "1       1     0        0         0\n"));
    textbuf_reset(&sb);
    admin_show_groups(&sb, cfg, true);
    assert_non_null(strstr(sb.data,
                           "{\"groups\":[{\"group\":\"east\",\"cluster\":\"replication\","
                           "\"failover\":\"auto\",\"writer\":\"e1\",\"writers\":1,\"backends\":2,"
                           "\"online\":2,\"down\":0,\"lagging\":0,\"draining\":0,\"maint\":0}"));
    assert_non_null(strstr(sb.data, "\"writer\":\"w1\",\"writers\":1,\"backends\":2,\"online\":1,"
                                    "\"down\":1,\"lagging\":0,\"draining\":0,\"maint\":0}]}\n"));
    textbuf_free(&sb);

    /* A view's references are its config's. */
    assert_ptr_equal(config_get(ve), ve);
    assert_int_equal(atomic_load(&cfg->refs), 2);
    config_put(ve);
    assert_int_equal(atomic_load(&cfg->refs), 1);
    config_put(cfg);
}

static void test_implicit_group(void **state)
{
    (void)state;
    static const char *ONE =
        "listeners = ( { name = \"m\"; address = \"127.0.0.1\"; port = 6033; } );\n"
        "users = ( { name = \"app\"; password_hash = \"" HASH "\"; } );\n"
        "cluster = \"dual-master\"; monitor = { user = \"monitor\"; };\n"
        "backends = ( { name = \"a\"; address = \"h\"; port = 1; role = \"primary\"; },\n"
        "  { name = \"b\"; address = \"h\"; port = 2; role = \"replica\"; } );\n";
    struct config *cfg = NULL;
    char err[512];
    assert_int_equal(config_load_string(ONE, "t.conf", &cfg, err, sizeof(err)), HY_OK);
    assert_false(cfg->groups_explicit);
    assert_int_equal(cfg->n_groups, 1);
    assert_string_equal(cfg->groups[0].name, "default");
    assert_int_equal(cfg->groups[0].cluster, CLUSTER_DUAL_MASTER);
    assert_int_equal(cfg->groups[0].n_members, 2);
    struct config *v = group_view(cfg, 0);
    assert_int_equal(v->n_backends, 2);
    assert_int_equal(v->cluster, CLUSTER_DUAL_MASTER);
    assert_int_equal(group_local_index(v, 1), 1);
    config_put(cfg);
}

static void test_summary(void **state)
{
    (void)state;
    const struct group_backend_state b[] = {{"a", false, BACKEND_ONLINE},
                                            {"b", true, BACKEND_ONLINE},
                                            {"c", true, BACKEND_DRAINING},
                                            {"d", false, BACKEND_DOWN}};
    struct group_summary s;
    group_summarize(b, 4, &s);
    assert_string_equal(s.writer, "b");
    assert_int_equal(s.writers, 2);
    assert_int_equal(s.by_state[BACKEND_ONLINE], 2);
    assert_int_equal(s.by_state[BACKEND_DOWN], 1);
    assert_int_equal(s.by_state[BACKEND_DRAINING], 1);
    group_summarize(b, 1, &s);
    assert_null(s.writer);
    assert_int_equal(s.writers, 0);
    assert_string_equal(cluster_type_to_str(CLUSTER_GALERA), "galera");
    assert_string_equal(cluster_type_to_str(CLUSTER_DUAL_MASTER), "dual-master");
    assert_string_equal(cluster_type_to_str(CLUSTER_REPLICATION), "replication");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_groups),
        cmocka_unit_test(test_implicit_group),
        cmocka_unit_test(test_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
