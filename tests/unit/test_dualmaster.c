/*
 * test_dualmaster.c: dual_pick_active(), dual_decide() and
 * dual_switchover_check() over made-up pairs, as tables. A server is a
 * short code of letters:
 *   "W"  reachable, writable          "R"  reachable, read_only
 *   "X"  unreachable, not DOWN yet    "D"  DOWN
 *   then any of: "f" fenced by halyard, "m" maintenance, "i" IO thread
 *   connected to the other, "e" SQL thread error, "g" no GTID position,
 *   "x" errant transactions, "l" lost transactions of its own, "s" a
 *   semi-sync replica in gtid_strict_mode (regains them), "t" replication
 *   threads stopped, "c" its last check was refused or reset (its server
 *   is gone, its host answers)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/cluster/dualmaster.h"

static const char *const names[2] = {"a", "b"};

static struct dual_node make(const char *code, int i)
{
    struct dual_node d = {.name = names[i], .has_gtid = true};
    d.reachable = code[0] == 'W' || code[0] == 'R';
    d.down = code[0] == 'D';
    d.read_only = code[0] == 'R';
    for (const char *c = code + 1; *c != '\0'; c++) {
        switch (*c) {
        case 'f':
            d.fenced = true;
            break;
        case 'm':
            d.maint = true;
            break;
        case 'i':
            d.io_running = true;
            break;
        case 'e':
            d.sql_error = true;
            break;
        case 'g':
            d.has_gtid = false;
            break;
        case 'l':
            d.lost_own = true;
            break;
        case 'x':
            d.errant = true;
            break;
        case 's':
            d.regain = true;
            break;
        case 't':
            d.stopped = true;
            break;
        case 'c':
            d.refused = true;
            break;
        default:
            fail_msg("bad code %s", code);
        }
    }
    return d;
}

/* The verdict is `want` about `node`, and its reason holds `why` (NULL:
 * any reason). */
static void check(const char *what, const struct dual_verdict *out, enum dual_action want, int node,
                  const char *why)
{
    if (out->action != want || out->node != node)
        fail_msg("%s: %s node %d, want %s node %d (%s)", what, dual_action_to_str(out->action),
                 out->node, dual_action_to_str(want), node, out->reason);
    if (why != NULL && strstr(out->reason, why) == NULL)
        fail_msg("%s: reason \"%s\" lacks \"%s\"", what, out->reason, why);
}

static void test_pick_active(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        const char *node[2];
        int cur;
        int want;
    } rows[] = {
        {"the writable one", {"Wi", "Ri"}, -1, 0},
        {"the writable one, second", {"Ri", "Wi"}, -1, 1},
        {"sticky while it qualifies", {"Wi", "Wi"}, 1, 1},
        {"two writable, none current: config order", {"Wi", "Wi"}, -1, 0},
        {"a fenced writable server never", {"Wfi", "Ri"}, -1, -1},
        {"fenced, the other writable", {"Wf", "W"}, 0, 1},
        {"failing, not DOWN yet: kept", {"X", "Ri"}, 0, 0},
        {"DOWN with no successor: kept (writes wait)", {"D", "R"}, 0, 0},
        {"DOWN, the other writable: moves", {"D", "W"}, 0, 1},
        {"read-only now: dropped", {"R", "R"}, 0, -1},
        {"fenced and DOWN: dropped", {"Df", "R"}, 0, -1},
        {"nothing writable", {"R", "R"}, -1, -1},
    };
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        struct dual_node n[2] = {make(rows[r].node[0], 0), make(rows[r].node[1], 1)};
        int got = dual_pick_active(n, 2, rows[r].cur);
        if (got != rows[r].want)
            fail_msg("%s: active %d, want %d", rows[r].what, got, rows[r].want);
    }
}

static void test_decide(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        const char *node[2];
        int active;
        uint64_t down_ms;
        bool auto_;
        enum dual_action want;
        int want_node;
        const char *why; /* a part of the reason */
    } rows[] = {
        {"healthy pair", {"Wi", "Ri"}, 0, 0, true, DUAL_NONE, -1, "answers"},
        {"old active back writable", {"Wi", "Wfi"}, 0, 0, true, DUAL_FENCE, 1, "read_only = 1"},
        {"fence comes before failover", {"D", "Wi"}, 0, 5000, true, DUAL_FENCE, 1, NULL},
        {"writable, no active", {"Rf", "W"}, -1, 0, true, DUAL_FENCE, 1, "not the active"},
        {"active lost, delay running", {"X", "R"}, 0, 100, true, DUAL_WAIT, 1, "delay"},
        {"active lost, failover off", {"D", "R"}, 0, 9000, false, DUAL_WAIT, 1, "failover = off"},
        {"standby still reaches it", {"D", "Ri"}, 0, 5000, true, DUAL_WAIT, 1, "still replicates"},
        {"promote", {"D", "R"}, 0, 5000, true, DUAL_PROMOTE, 1, "lost it too"},
        {"silent active (timeouts), standby lost it: the delay",
         {"D", "R"},
         0,
         10,
         true,
         DUAL_WAIT,
         1,
         "delay"},
        {"server gone (refused), standby lost it: at once",
         {"Dc", "R"},
         0,
         10,
         true,
         DUAL_PROMOTE,
         1,
         "refuses connections"},
        {"server gone, standby still reaches it",
         {"Dc", "Ri"},
         0,
         10,
         true,
         DUAL_WAIT,
         1,
         "still replicates"},
        {"refused but not DOWN yet: the delay", {"Xc", "R"}, 0, 10, true, DUAL_WAIT, 1, "delay"},
        {"server gone, failover off", {"Dc", "R"}, 0, 10, false, DUAL_WAIT, 1, "failover = off"},
        {"server gone, standby in maintenance",
         {"Dc", "Rm"},
         0,
         10,
         true,
         DUAL_BLOCKED,
         1,
         "maintenance"},
        {"promote node a", {"R", "D"}, 1, 5000, true, DUAL_PROMOTE, 0, NULL},
        {"standby unreachable too", {"D", "X"}, 0, 5000, true, DUAL_BLOCKED, 1, "unreachable too"},
        {"standby in maintenance", {"D", "Rm"}, 0, 5000, true, DUAL_BLOCKED, 1, "maintenance"},
        {"standby SQL error", {"D", "Re"}, 0, 5000, true, DUAL_BLOCKED, 1, "SQL thread"},
        {"standby without GTID", {"D", "Rg"}, 0, 5000, true, DUAL_BLOCKED, 1, "GTID"},
        {"fenced old active read-only: rejoin",
         {"Rfi", "Wi"},
         1,
         0,
         true,
         DUAL_REJOIN,
         0,
         "standby of b"},
        {"errant: hold", {"Rfix", "Wi"}, 1, 0, true, DUAL_HOLD, 0, "errant"},
        {"lost its own tail: hold", {"Rfil", "Wi"}, 1, 0, true, DUAL_HOLD, 0, "of its own"},
        {"lost its own tail, regains it: rejoin",
         {"Rfls", "Wi"},
         1,
         0,
         true,
         DUAL_REJOIN,
         0,
         "gets back the transactions of its own"},
        {"standby restarted, replication stopped: rejoin",
         {"Wi", "Rt"},
         0,
         0,
         true,
         DUAL_REJOIN,
         1,
         "standby of a"},
        {"stopped in maintenance: left alone", {"Wi", "Rtm"}, 0, 0, true, DUAL_NONE, -1, NULL},
        {"stopped on an SQL error: left alone", {"Wi", "Rte"}, 0, 0, true, DUAL_NONE, -1, NULL},
        {"errant and regains: still hold", {"Rfxls", "Wi"}, 1, 0, true, DUAL_HOLD, 0, "errant"},
        {"errant standby not fenced: hold", {"Rix", "Wi"}, 1, 0, true, DUAL_HOLD, 0, NULL},
        {"fenced, no active: nothing", {"Rf", "R"}, -1, 0, true, DUAL_NONE, -1, "no active"},
    };
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        struct dual_node n[2] = {make(rows[r].node[0], 0), make(rows[r].node[1], 1)};
        struct dual_view v = {
            .nodes = n, .n = 2, .active = rows[r].active, .active_down_ms = rows[r].down_ms};
        struct dual_settings s = {.failover_auto = rows[r].auto_, .delay_ms = 1000};
        struct dual_verdict out;
        dual_decide(&v, &s, &out);
        check(rows[r].what, &out, rows[r].want, rows[r].want_node, rows[r].why);
    }
}

static void test_switchover(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        const char *node[2];
        int active;
        const char *target;
        enum dual_action want;
        int want_node;
        const char *why;
    } rows[] = {
        {"to the other", {"Wi", "Ri"}, 0, NULL, DUAL_PROMOTE, 1, "b takes over from a"},
        {"by name", {"Wi", "Ri"}, 0, "b", DUAL_PROMOTE, 1, NULL},
        {"back", {"Ri", "Wi"}, 1, "", DUAL_PROMOTE, 0, NULL},
        {"to itself", {"Wi", "Ri"}, 0, "a", DUAL_BLOCKED, 0, "active already"},
        {"unknown name", {"Wi", "Ri"}, 0, "c", DUAL_BLOCKED, -1, "no backend named c"},
        {"no active", {"R", "Ri"}, -1, NULL, DUAL_BLOCKED, -1, "no reachable writable"},
        {"active down", {"D", "Ri"}, 0, NULL, DUAL_BLOCKED, -1, NULL},
        {"standby fenced", {"Wi", "Rfi"}, 0, NULL, DUAL_BLOCKED, 1, "fenced"},
        {"standby not replicating", {"Wi", "R"}, 0, NULL, DUAL_BLOCKED, 1, "IO thread"},
        {"standby down", {"Wi", "D"}, 0, NULL, DUAL_BLOCKED, 1, "unreachable"},
        {"standby in maintenance", {"Wi", "Rmi"}, 0, NULL, DUAL_BLOCKED, 1, "maintenance"},
    };
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        struct dual_node n[2] = {make(rows[r].node[0], 0), make(rows[r].node[1], 1)};
        struct dual_view v = {.nodes = n, .n = 2, .active = rows[r].active};
        struct dual_verdict out;
        dual_switchover_check(&v, rows[r].target, &out);
        check(rows[r].what, &out, rows[r].want, rows[r].want_node, rows[r].why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pick_active),
        cmocka_unit_test(test_decide),
        cmocka_unit_test(test_switchover),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
