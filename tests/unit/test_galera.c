/*
 * test_galera.c: galera_decide() over made-up wsrep states of three or four
 * nodes, as a table: each row is the nodes' states and settings in, the
 * roles out ("W" writer, "R" reader, "WR" both, "-" no traffic, "T" traffic
 * but neither reads nor writes: a reader whose receive queue is too long).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "halyard/cluster/galera.h"

#define MAXN 4

/* One node in a row: a short state code and its priority.
 *   "S"  Synced, Primary, ready       "D"  donor (state 2)
 *   "d"  desynced by wsrep_desync     "J"  Joiner/Joined (state 1/3)
 *   "t"  Synced, wsrep_desync read ON (the check read the state before the SET)
 *   "N"  non-Primary component         "X"  unreachable
 *   "Q"  Synced, receive queue 100     "r"  Synced, rejecting queries
 *   "U"  wsrep unknown (wsrep_on OFF)  "M"  Synced, drained/maintenance
 *   "O"  Synced, not ready */
struct row {
    const char *what;
    const char *state[MAXN];
    int priority[MAXN];
    int max_writers;
    bool writer_is_also_reader;
    int64_t max_recv_queue;
    const char *want[MAXN];
    int want_writers;
};

static const char *const names[MAXN] = {"node0", "node1", "node2", "node3"};

static struct galera_node make(const char *code, int i, int priority)
{
    struct galera_node g = {.name = names[i],
                            .priority = priority,
                            .reachable = true,
                            .local_state = GALERA_SYNCED,
                            .ready = true,
                            .primary = true,
                            .cluster_size = 3};
    switch (code[0]) {
    case 'S':
        break;
    case 'D':
        g.local_state = GALERA_DONOR;
        break;
    case 'd':
        g.local_state = GALERA_DONOR;
        g.desync = true;
        break;
    case 't':
        g.desync = true;
        break;
    case 'J':
        g.local_state = GALERA_JOINED;
        break;
    case 'N':
        g.primary = false;
        g.ready = false;
        g.local_state = GALERA_SYNCED; /* a node cut off keeps its last state */
        g.cluster_size = 1;
        break;
    case 'X':
        g.reachable = false;
        break;
    case 'Q':
        g.recv_queue = 100;
        break;
    case 'r':
        g.reject_queries = true;
        break;
    case 'U':
        g.wsrep_off = true;
        g.local_state = 0;
        g.ready = false;
        g.primary = false;
        break;
    case 'M':
        g.admin_out = true;
        break;
    case 'H': /* the writer, drained, transactions still running there */
        g.admin_out = true;
        g.handing_over = true;
        break;
    case 'O':
        g.ready = false;
        break;
    default:
        fail_msg("bad state code %s", code);
    }
    return g;
}

static const struct row rows[] = {
    {"all Synced: node0 writes, the others read",
     {"S", "S", "S"},
     {0, 0, 0},
     1,
     false,
     0,
     {"W", "R", "R"},
     1},
    {"writer_is_also_reader", {"S", "S", "S"}, {0, 0, 0}, 1, true, 0, {"WR", "R", "R"}, 1},
    {"priority beats name", {"S", "S", "S"}, {5, 5, 1}, 1, false, 0, {"R", "R", "W"}, 1},
    {"equal priority: name order", {"S", "S", "S"}, {2, 1, 1}, 1, false, 0, {"R", "W", "R"}, 1},
    {"writer unreachable: the next one writes at once",
     {"X", "S", "S"},
     {0, 0, 0},
     1,
     false,
     0,
     {"-", "W", "R"},
     1},
    {"writer leaves Synced (joined): the next one writes",
     {"J", "S", "S"},
     {0, 0, 0},
     1,
     false,
     0,
     {"-", "W", "R"},
     1},
    {"a drained writer still running transactions: nobody writes, all read",
     {"H", "S", "S"},
     {0, 0, 0},
     1,
     false,
     0,
     {"R", "R", "R"},
     0},
    {"desynced node takes nothing", {"S", "d", "S"}, {0, 0, 0}, 1, false, 0, {"W", "-", "R"}, 1},
    {"Synced when read, desync set since: it serves until a check sees it desynced",
     {"S", "t", "S"},
     {0, 0, 0},
     1,
     false,
     0,
     {"W", "R", "R"},
     1},
    {"a Synced writer with desync read ON stays the writer",
     {"t", "S", "S"},
     {0, 0, 0},
     1,
     false,
     0,
     {"W", "R", "R"},
     1},
    {"donor takes nothing while others are Synced",
     {"S", "S", "D"},
     {0, 0, 0},
     1,
     false,
     0,
     {"W", "R", "-"},
     1},
    {"a donor that is the last node serves",
     {"X", "X", "D"},
     {0, 0, 0},
     1,
     false,
     0,
     {"-", "-", "W"},
     1},
    {"last donor with writer_is_also_reader reads too",
     {"X", "D", "X"},
     {0, 0, 0},
     1,
     true,
     0,
     {"-", "WR", "-"},
     1},
    {"desynced last node serves as a donor does",
     {"X", "d", "X"},
     {0, 0, 0},
     1,
     false,
     0,
     {"-", "W", "-"},
     1},
    {"non-Primary component: nobody", {"N", "N", "X"}, {0, 0, 0}, 1, false, 0, {"-", "-", "-"}, 0},
    {"non-Primary, unreachable, and a donor in the Primary: the donor serves",
     {"N", "X", "D"},
     {0, 0, 0},
     1,
     false,
     0,
     {"-", "-", "W"},
     1},
    {"rejecting queries: no traffic", {"r", "S", "S"}, {0, 0, 0}, 1, false, 0, {"-", "W", "R"}, 1},
    {"not ready: no traffic", {"O", "S", "S"}, {0, 0, 0}, 1, false, 0, {"-", "W", "R"}, 1},
    {"wsrep off: no traffic", {"U", "U", "U"}, {0, 0, 0}, 1, false, 0, {"-", "-", "-"}, 0},
    {"receive queue over the limit: no reads",
     {"S", "Q", "S"},
     {0, 0, 0},
     1,
     false,
     50,
     {"W", "T", "R"},
     1},
    {"receive queue with no limit: reads",
     {"S", "Q", "S"},
     {0, 0, 0},
     1,
     false,
     0,
     {"W", "R", "R"},
     1},
    {"receive queue under the limit: reads",
     {"S", "Q", "S"},
     {0, 0, 0},
     1,
     false,
     200,
     {"W", "R", "R"},
     1},
    {"writer with a long queue still writes, reads not",
     {"Q", "S", "S"},
     {0, 0, 0},
     1,
     true,
     50,
     {"W", "R", "R"},
     1},
    {"max_writers = 2", {"S", "S", "S", "S"}, {3, 2, 1, 0}, 2, false, 0, {"R", "R", "W", "W"}, 2},
    {"max_writers over the eligible count",
     {"S", "X", "S"},
     {0, 0, 0},
     5,
     false,
     0,
     {"W", "-", "W"},
     2},
    {"drained node is never the writer but keeps its verdict",
     {"M", "S", "S"},
     {0, 0, 0},
     1,
     false,
     0,
     {"R", "W", "R"},
     1},
};

/* "W", "R", "WR", "-" (no traffic), "T" (traffic, neither reads nor writes) */
static void verdict_code(const struct galera_verdict *v, char *buf)
{
    size_t k = 0;
    if (!v->traffic)
        buf[k++] = '-';
    if (v->writer)
        buf[k++] = 'W';
    if (v->reads)
        buf[k++] = 'R';
    if (k == 0)
        buf[k++] = 'T';
    buf[k] = '\0';
}

static void test_table(void **state)
{
    (void)state;
    for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        const struct row *t = &rows[r];
        struct galera_node nodes[MAXN];
        struct galera_verdict out[MAXN];
        size_t n = 0;
        while (n < MAXN && t->state[n] != NULL) {
            nodes[n] = make(t->state[n], (int)n, t->priority[n]);
            n++;
        }
        struct galera_settings s = {.max_writers = t->max_writers,
                                    .writer_is_also_reader = t->writer_is_also_reader,
                                    .max_recv_queue = t->max_recv_queue};
        int writers = galera_decide(nodes, n, &s, out);
        for (size_t i = 0; i < n; i++) {
            char got[4];
            verdict_code(&out[i], got);
            const char *want = t->want[i];
            if (strcmp(got, want) != 0)
                fail_msg("row \"%s\": %s is %s, want %s (why: %s)", t->what, names[i], got, want,
                         out[i].why);
            assert_true(out[i].why[0] != '\0');
        }
        if (writers != t->want_writers)
            fail_msg("row \"%s\": %d writers, want %d", t->what, writers, t->want_writers);
    }
}

/* The same states in any config order pick the same writer: what lets
 * several halyards agree without talking. */
static void test_order_independent(void **state)
{
    (void)state;
    static const char *const perm_names[3][3] = {{"a", "b", "c"}, {"c", "a", "b"}, {"b", "c", "a"}};
    for (int p = 0; p < 3; p++) {
        struct galera_node nodes[3];
        struct galera_verdict out[3];
        for (int i = 0; i < 3; i++) {
            nodes[i] = make("S", i, 0);
            nodes[i].name = perm_names[p][i];
        }
        struct galera_settings s = {.max_writers = 1};
        assert_int_equal(galera_decide(nodes, 3, &s, out), 1);
        for (int i = 0; i < 3; i++)
            assert_int_equal(out[i].writer, strcmp(nodes[i].name, "a") == 0);
    }
}

static void test_why(void **state)
{
    (void)state;
    struct galera_node nodes[3] = {make("N", 0, 0), make("d", 1, 0), make("S", 2, 0)};
    struct galera_verdict out[3];
    struct galera_settings s = {.max_writers = 1};
    galera_decide(nodes, 3, &s, out);
    assert_string_equal(out[0].why, "in a non-Primary component");
    nodes[0] = make("U", 0, 0);
    galera_decide(nodes, 3, &s, out);
    assert_string_equal(out[0].why, "wsrep_on is OFF: not a Galera node");
    assert_string_equal(out[1].why, "desynced (wsrep_desync = ON)");
    /* The flag names the reason only for a Donor/Desynced state. */
    nodes[1] = make("t", 1, 0);
    nodes[1].ready = false;
    galera_decide(nodes, 3, &s, out);
    assert_string_equal(out[1].why, "wsrep_ready is OFF");
    nodes[1] = make("D", 1, 0);
    galera_decide(nodes, 3, &s, out);
    assert_string_equal(out[1].why, "wsrep state Donor/Desynced, not Synced");
    assert_string_equal(out[2].why, "Synced, writer (priority 0)");
    assert_string_equal(galera_state_to_str(2), "Donor/Desynced");
    assert_string_equal(galera_state_to_str(9), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_order_independent),
        cmocka_unit_test(test_why),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
