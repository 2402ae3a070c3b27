/*
 * test_pool.c: the worker's pool of idle backend connections (pool.h).
 *
 *   - pool_hold: each reason to keep a connection, table-driven, and the
 *     replica connections that have none of the primary's reasons
 *   - put and take by key: another user, schema, character set,
 *     capabilities or config finds nothing; the newest comes first; a
 *     named serial gets its own connection back
 *   - an idle connection that speaks (the server closed it) is dropped,
 *     at once when the loop runs, or by pool_take() before the loop does
 *   - pool_max_age_ms: an old connection is closed, not kept
 *   - hundreds idle under two keys, taken in a scrambled order by serial
 *     (each its own, never another key's) or by none (the newest left of
 *     the key), and closed from the middle: the index by serial
 *     (p->lent) and the idle lists stay right through growth and removals
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "halyard/cluster/users.h"
#include "halyard/config/config.h"
#include "halyard/pool/pool.h"
#include "halyard/pool/server.h"

static void test_hold(void **state)
{
    (void)state;
    static const struct {
        struct pool_hold_in in;
        const char *want; /* a word of the reason, NULL = free to go */
    } cases[] = {
        {{.is_primary = true}, NULL},
        {{.session_mode = true}, "session"},
        {{.is_primary = true, .in_trans = true}, "transaction"},
        {{.is_primary = true, .xa = true}, "XA"},
        {{.ro_trans = true}, "read-only"},
        {{.is_primary = true, .pinned = true}, "pinned"},
        {{.pinned = true}, NULL}, /* a replica holds none of the primary's state */
        {{.is_primary = true, .uvars_opaque = true}, "CALL"},
        {{.uvars_opaque = true}, NULL},
        {{.ps_bound = true}, "prepared"},
        {{.found_rows = true}, "FOUND_ROWS"},
        {{.diag = true}, "warnings"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *why = pool_hold(&cases[i].in);
        if (cases[i].want == NULL) {
            assert_null(why);
        } else {
            assert_non_null(why);
            assert_non_null(strstr(why, cases[i].want));
        }
    }
}

#define CONF                                                                                       \
    "listeners = ( { name = \"main\"; address = \"127.0.0.1\"; port = 6033; } );\n"                \
    "users = ( { name = \"app\"; password_hash = \"\"; } );\n"                                     \
    "backends = ( { name = \"db1\"; address = \"127.0.0.1\"; port = 3310; role = \"primary\"; "    \
    "} );\n"                                                                                       \
    "pool_mode = \"transaction\";\n"

struct fixture {
    struct ev_loop *loop;
    struct buf_pool bufs;
    struct pool pool;
    struct worker_stats stats;
    struct config *cfg;
    int peer[320]; /* the "server" ends of the connections' socket pairs */
    int n_peer;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char err[256];
    f->loop = ev_loop_new(EVFLAG_AUTO);
    buf_pool_init(&f->bufs, 4096, 8);
    pool_init(&f->pool, f->loop, &f->bufs, &f->stats);
    assert_int_equal(config_load_string(CONF, "t.conf", &f->cfg, err, sizeof(err)), HY_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pool_destroy(&f->pool);
    for (int i = 0; i < f->n_peer; i++)
        close(f->peer[i]);
    config_put(f->cfg);
    buf_pool_destroy(&f->bufs);
    ev_loop_destroy(f->loop);
    free(f);
    return 0;
}

static void no_event(struct bconn *bc, const struct server_report *r)
{
    (void)bc;
    (void)r;
    fail_msg("an owner's callback ran while the pool owned the connection");
}

/* A logged-in connection: one end of a socket pair. */
static struct bconn *conn_new(struct fixture *f)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct bconn *bc = server_create(&f->cfg->backends[0], f->loop, &f->bufs, no_event, NULL);
    assert_non_null(bc);
    bc->c.fd = sv[0];
    ev_io_set(&bc->c.rio, sv[0], EV_READ);
    ev_io_set(&bc->c.wio, sv[0], EV_WRITE);
    bc->state = BCONN_READY;
    bc->born = ev_now(f->loop);
    f->peer[f->n_peer++] = sv[1];
    return bc;
}

static struct pool_key key(struct fixture *f)
{
    return (struct pool_key){.cfg = f->cfg,
                             .idx = 0,
                             .user = "app",
                             .db = NULL,
                             .charset = 45,
                             .caps = 0x1234,
                             .ext_caps = 0};
}

static void test_put_take(void **state)
{
    struct fixture *f = *state;
    struct pool_key k = key(f);
    struct bconn *a = conn_new(f), *b = conn_new(f);
    uint64_t la = pool_put(&f->pool, a, &k, NULL, ev_now(f->loop));
    uint64_t lb = pool_put(&f->pool, b, &k, NULL, ev_now(f->loop));
    assert_true(la != 0 && lb != 0 && la != lb);
    assert_int_equal(pool_idle_count(&f->pool, "db1", NULL), 2);

    struct pool_key other[5];
    for (int i = 0; i < 5; i++)
        other[i] = k;
    other[0].user = "bob";
    other[1].db = "shop";
    other[2].charset = 8;
    other[3].caps ^= 1;
    other[4].ext_caps = 4;
    for (int i = 0; i < 5; i++)
        assert_null(pool_take(&f->pool, &other[i], 0));

    /* The named one, then the newest of the rest. */
    assert_ptr_equal(pool_take(&f->pool, &k, la), a);
    assert_int_equal(f->stats.pool_taken_own, 1);
    la = pool_put(&f->pool, a, &k, NULL, ev_now(f->loop));
    assert_ptr_equal(pool_take(&f->pool, &k, 0), a);
    assert_ptr_equal(pool_take(&f->pool, &k, la), b); /* a's serial is gone with it */
    assert_null(pool_take(&f->pool, &k, 0));
    assert_int_equal(f->stats.pool_taken, 3);
    pool_put(&f->pool, a, &k, NULL, ev_now(f->loop));
    pool_put(&f->pool, b, &k, NULL, ev_now(f->loop));
}

/* Keys naming an interned user and schema (pool_name_get) meet keys by
 * strings in the same buckets; a name is one per pair, and another user's
 * or schema's name finds nothing. */
static void test_named_keys(void **state)
{
    struct fixture *f = *state;
    struct pool_key k = key(f), named = key(f), bob = key(f), shop = key(f);
    named.name = pool_name_get(&f->pool, "app", NULL);
    bob.name = pool_name_get(&f->pool, "bob", NULL);
    shop.name = pool_name_get(&f->pool, "app", "shop");
    struct pool_name *again = pool_name_get(&f->pool, "app", NULL);
    assert_ptr_equal(again, named.name);
    assert_true(named.name != bob.name && named.name != shop.name);
    pool_name_put(&f->pool, again);

    struct bconn *a = conn_new(f), *b = conn_new(f);
    uint64_t la = pool_put(&f->pool, a, &k, NULL, ev_now(f->loop)); /* by strings */
    assert_null(pool_take(&f->pool, &bob, 0));
    assert_null(pool_take(&f->pool, &shop, 0));
    assert_ptr_equal(pool_take(&f->pool, &named, la), a);
    uint64_t lb = pool_put(&f->pool, b, &named, NULL, ev_now(f->loop)); /* by name */
    assert_ptr_equal(pool_take(&f->pool, &k, lb), b);
    pool_put(&f->pool, a, &named, NULL, ev_now(f->loop));
    pool_put(&f->pool, b, &k, NULL, ev_now(f->loop));
    assert_int_equal(pool_idle_count(&f->pool, "db1", NULL), 2);
    /* the sessions' references go; the bucket's keeps its name */
    pool_name_put(&f->pool, named.name);
    pool_name_put(&f->pool, bob.name);
    pool_name_put(&f->pool, shop.name);
    struct pool_name *n = pool_name_get(&f->pool, "app", NULL);
    named.name = n;
    struct bconn *x = pool_take(&f->pool, &named, 0), *y = pool_take(&f->pool, &named, 0);
    assert_true(x != NULL && y != NULL && x != y);
    pool_put(&f->pool, x, &named, NULL, ev_now(f->loop));
    pool_put(&f->pool, y, &k, NULL, ev_now(f->loop));
    pool_name_put(&f->pool, n);
}

/* Connections that logged in before privileges changed are closed by
 * the take, never given; one opened after is. */
static void test_privileges_changed(void **state)
{
    struct fixture *f = *state;
    struct pool_key k = key(f);
    double now = ev_now(f->loop);
    struct bconn *a = conn_new(f), *b = conn_new(f);
    a->born = b->born = now - 10;
    uint64_t la = pool_put(&f->pool, a, &k, NULL, now);
    pool_put(&f->pool, b, &k, NULL, now);
    users_privileges_changed(now - 20); /* before them: they stay */
    assert_ptr_equal(pool_take(&f->pool, &k, la), a);
    la = pool_put(&f->pool, a, &k, NULL, now);
    users_privileges_changed(now - 5);
    users_privileges_changed(now - 30); /* an older time never moves it back */
    assert_null(pool_take(&f->pool, &k, la));
    assert_int_equal(f->stats.pool_closed_age, 2);
    assert_int_equal(pool_idle_count(&f->pool, "db1", NULL), 0);
    struct bconn *c = conn_new(f);
    pool_put(&f->pool, c, &k, NULL, now);
    assert_ptr_equal(pool_take(&f->pool, &k, 0), c);
    pool_put(&f->pool, c, &k, NULL, now);
}

static void test_idle_connection_speaks(void **state)
{
    struct fixture *f = *state;
    struct pool_key k = key(f);
    struct bconn *a = conn_new(f), *b = conn_new(f);
    pool_put(&f->pool, a, &k, NULL, ev_now(f->loop));
    pool_put(&f->pool, b, &k, NULL, ev_now(f->loop));
    /* The server closes a's connection (wait_timeout, KILL). */
    close(f->peer[0]);
    f->peer[0] = -1;
    ev_run(f->loop, EVRUN_NOWAIT);
    ev_run(f->loop, EVRUN_NOWAIT);
    assert_int_equal(f->stats.pool_closed_spoke, 1);
    assert_int_equal(pool_idle_count(&f->pool, "db1", NULL), 1);
    struct bconn *got = pool_take(&f->pool, &k, 0);
    assert_ptr_equal(got, b);
    pool_put(&f->pool, got, &k, NULL, ev_now(f->loop));
}

/* The server's close not yet seen by the loop: pool_take looks first, at
 * the read watcher's pending event, and at the socket itself once the
 * connection has been idle a second (POOL_PEEK_AFTER). */
static void test_take_skips_a_closing_connection(void **state)
{
    struct fixture *f = *state;
    struct pool_key k = key(f);
    struct bconn *a = conn_new(f), *b = conn_new(f);
    pool_put(&f->pool, a, &k, NULL, ev_now(f->loop));
    uint64_t lb = pool_put(&f->pool, b, &k, NULL, ev_now(f->loop));
    assert_int_equal(write(f->peer[1], "\xff", 1), 1); /* b's server sends an ERR first */
    /* the loop's poll saw it; b's callback has not run yet */
    ev_feed_event(f->loop, &b->c.rio, EV_READ);
    assert_ptr_equal(pool_take(&f->pool, &k, lb), a); /* b, named, is dropped */
    assert_int_equal(f->stats.pool_closed_spoke, 1);
    assert_int_equal(f->stats.pool_taken_own, 0);
    assert_null(pool_take(&f->pool, &k, 0));
    pool_put(&f->pool, a, &k, NULL, ev_now(f->loop));

    /* idle for two seconds, its close not polled yet: the socket is asked */
    struct bconn *c = conn_new(f);
    uint64_t lc = pool_put(&f->pool, c, &k, NULL, ev_now(f->loop) - 2.0);
    assert_int_equal(write(f->peer[2], "\xff", 1), 1);
    assert_ptr_equal(pool_take(&f->pool, &k, lc), a);
    assert_int_equal(f->stats.pool_closed_spoke, 2);
    pool_put(&f->pool, a, &k, NULL, ev_now(f->loop));

    /* handed back just now and not polled since: not asked (the bytes of
     * a close that lands in that window are as likely to land right after
     * any check); the loop's next poll closes it */
    struct bconn *d = conn_new(f);
    uint64_t ld = pool_put(&f->pool, d, &k, NULL, ev_now(f->loop));
    assert_int_equal(write(f->peer[3], "\xff", 1), 1);
    assert_ptr_equal(pool_take(&f->pool, &k, ld), d);
    pool_put(&f->pool, d, &k, NULL, ev_now(f->loop));
    ev_run(f->loop, EVRUN_NOWAIT);
    assert_int_equal(f->stats.pool_closed_spoke, 3);
    assert_int_equal(pool_idle_count(&f->pool, "db1", NULL), 1);
}

static void test_max_age(void **state)
{
    struct fixture *f = *state;
    f->cfg->pool_max_age_ms = 1000;
    struct pool_key k = key(f);
    struct bconn *a = conn_new(f);
    a->born = ev_now(f->loop) - 2.0;
    assert_int_equal(pool_put(&f->pool, a, &k, NULL, ev_now(f->loop)), 0);
    assert_int_equal(f->stats.pool_closed_age, 1);
    assert_int_equal(pool_idle_count(&f->pool, "db1", NULL), 0);
}

/* The newest of conns[0..n) of key `kk` still idle (taken[] false), or NULL. */
static struct bconn *newest_left(struct bconn **conns, const uint64_t *serial, const bool *taken,
                                 const int *kof, int n, int kk)
{
    struct bconn *best = NULL;
    uint64_t best_serial = 0;
    for (int i = 0; i < n; i++) {
        if (!taken[i] && kof[i] == kk && serial[i] > best_serial) {
            best = conns[i];
            best_serial = serial[i];
        }
    }
    return best;
}

/* An index of conns still idle of the key other than `kk`, or -1. */
static int other_left(const bool *taken, const int *kof, int n, int kk)
{
    for (int j = n - 1; j >= 0; j--) {
        if (!taken[j] && kof[j] != kk)
            return j;
    }
    return -1;
}

static void test_many_idle(void **state)
{
    enum { N = 300 };
    struct fixture *f = *state;
    struct pool_key keys[2] = {key(f), key(f)};
    keys[1].user = "bob";
    struct bconn *conns[N];
    uint64_t serial[N];
    int kof[N];
    bool taken[N] = {false};
    for (int i = 0; i < N; i++) {
        conns[i] = conn_new(f);
        kof[i] = i % 3 == 0;
        serial[i] = pool_put(&f->pool, conns[i], &keys[kof[i]], NULL, ev_now(f->loop));
        assert_true(serial[i] != 0);
    }
    assert_int_equal(f->pool.n_idle, N);
    /* a close from the middle (the server spoke), seen by the loop */
    assert_int_equal(write(f->peer[150], "\xff", 1), 1);
    ev_run(f->loop, EVRUN_NOWAIT);
    assert_int_equal(f->stats.pool_closed_spoke, 1);
    taken[150] = true;
    conns[150] = NULL;
    uint64_t own = 0;
    int left = N - 1;
    /* 7 is prime to N: every index once, scrambled */
    for (int step = 0, i = 0; step < N; step++, i = (i + 7) % N) {
        if (taken[i])
            continue;
        struct pool_key *k = &keys[kof[i]];
        if (step % 5 == 0) {
            struct bconn *want = newest_left(conns, serial, taken, kof, N, kof[i]);
            struct bconn *got = pool_take(&f->pool, k, 0);
            assert_ptr_equal(got, want);
            for (int j = 0; j < N; j++)
                taken[j] = taken[j] || conns[j] == got;
        } else if (step % 5 == 1 && other_left(taken, kof, N, kof[i]) >= 0) {
            /* another key's serial: not that connection, the newest of this key */
            int j = other_left(taken, kof, N, kof[i]);
            struct bconn *want = newest_left(conns, serial, taken, kof, N, kof[i]);
            struct bconn *got = pool_take(&f->pool, k, serial[j]);
            assert_ptr_equal(got, want);
            assert_ptr_not_equal(got, conns[j]);
            for (int x = 0; x < N; x++)
                taken[x] = taken[x] || conns[x] == got;
        } else {
            assert_ptr_equal(pool_take(&f->pool, k, serial[i]), conns[i]);
            taken[i] = true;
            own++;
        }
        left--;
        assert_int_equal(f->pool.n_idle, (uint32_t)left);
    }
    assert_int_equal(f->stats.pool_taken_own, own);
    /* what the scrambled walk left, by serial, then none is left */
    for (int i = 0; i < N; i++) {
        if (!taken[i]) {
            assert_ptr_equal(pool_take(&f->pool, &keys[kof[i]], serial[i]), conns[i]);
            taken[i] = true;
        }
    }
    assert_int_equal(f->pool.n_idle, 0);
    assert_null(pool_take(&f->pool, &keys[0], serial[3]));
    assert_null(pool_take(&f->pool, &keys[1], serial[0]));
    for (int i = 0; i < N; i++) {
        if (conns[i] != NULL)
            pool_put(&f->pool, conns[i], &keys[kof[i]], NULL, ev_now(f->loop));
    }
    assert_int_equal(f->pool.n_idle, N - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hold),
        cmocka_unit_test_setup_teardown(test_put_take, setup, teardown),
        cmocka_unit_test_setup_teardown(test_named_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_connection_speaks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_skips_a_closing_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_age, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_idle, setup, teardown),
        /* last: the time it sets is the process's */
        cmocka_unit_test_setup_teardown(test_privileges_changed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
