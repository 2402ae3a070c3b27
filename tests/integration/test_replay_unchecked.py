"""A transaction replay after a reload goes to the right primary (issue
41's leftovers, item 1).

A session's transaction is lost with node0 (its connection KILLed there;
node0 stays up), then a reload changes the backends, then the session's
next statement replays the transaction, if anywhere. Never on node0, the
server that ended it (test_replay_killed.py); never on a primary no check
has passed yet, which a write waits for (test_reload.py): "moved", at
node1's address (a replica of node0, made writable; the monitor's login
there takes 3 s).
"""
import pymysql

from test_reload import admin_json, base, node1_moved_to, reload_ok
from test_replay_killed import trx_thread

MONITOR = {"user": "slowmon", "password": "slowmon", "timeout_ms": 6000}


def lost_after_reload(cluster, start_halyard, backends, replay_timeout_ms):
    """halyard on the three nodes, with transaction_replay; a session's
    BEGIN; INSERT (1) on node0; its connection KILLed there (node0 stays
    up) and the loss seen by halyard; then a reload to `backends` (a
    function of the "moved" backend and the reloaded settings' list), and
    the session's INSERT (2) and COMMIT. What each got (an error code or
    'ok'), the rows on node0 and node1, transactions replayed, and the
    backends as show backends gives them."""
    with node1_moved_to(cluster) as moved:
        conf = dict(monitor=MONITOR, transaction_replay=True, replay_timeout_ms=replay_timeout_ms)
        h = start_halyard(**conf)
        c = h.connect(read_timeout=60)
        cur = c.cursor()
        cur.execute("BEGIN")
        cur.execute("INSERT INTO test.moved VALUES (1)")
        cluster.sql(0, f"KILL {trx_thread(cluster)}")
        h.wait_log(r"the transaction lost with node0 \(\d+ statements\) is replayed first")
        settings = base(cluster, h.port, **conf)
        settings["backends"] = backends(moved, [b for b in settings["backends"]
                                                if b["port"] != moved["port"]])
        reload_ok(h, settings)
        got = []
        for q in ("INSERT INTO test.moved VALUES (2)", "COMMIT"):
            try:
                cur.execute(q)
                got.append("ok")
            except pymysql.MySQLError as e:
                got.append(e.args[0])
        rows = (cluster.value(0, "SELECT COUNT(*) FROM test.moved"),
                cluster.value(1, "SELECT COUNT(*) FROM test.moved"))
        st = admin_json(h, "show stats")
        b = {x["name"]: x for x in admin_json(h, "show backends")["backends"]}
        c.close()
        return got, rows, st["transactions_replayed"], b


def test_a_replay_after_a_reload_never_goes_to_the_server_that_killed_it(start_halyard, cluster):
    """The reload only orders the backends otherwise: node2, node0. Before,
    the replay took the index the loss was noted with (node0's in the old
    config, 0) for the new config's (node2's), and so replayed on node0,
    the primary that had KILLed the transaction's connection (rows (2, 2),
    replayed 1). Now it knows node0 in any config: 1927, nothing
    committed."""
    got, rows, replayed, b = lost_after_reload(cluster, start_halyard,
                                               lambda moved, rest: rest[::-1], 20000)
    assert (rows, replayed) == ((0, 0), 0), (got, rows, replayed)
    assert got == [1927, "ok"], got


def test_a_replay_waits_for_the_first_check_of_a_primary_a_reload_moved(start_halyard, cluster):
    """The reload names "moved" the primary, first, node0 and node2
    replicas. Before, the replay ran on "moved" at once, before any check
    of it: on node1, a replica, its rows there alone (rows (0, 2),
    replayed 1). Now it waits for that check (3 s: the monitor's login),
    which finds "moved" replicating from node0: node0 is the primary, the
    server that KILLed the transaction's connection, so nothing is
    replayed: 1927, nothing committed."""
    got, rows, replayed, b = lost_after_reload(
        cluster, start_halyard,
        lambda moved, rest: [moved] + [dict(x, role="replica") for x in rest], 20000)
    assert (rows, replayed) == ((0, 0), 0), (got, rows, replayed)
    assert got == [1927, "ok"], got
    assert b["moved"]["role"] == "replica", b["moved"]
