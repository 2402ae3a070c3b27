"""Where a scatter read runs in each group (issue 15): as any read of the
session outside a transaction, by the group's read/write split, the
session's consistency and the statement's hint; a group whose primary is
down still answers from its replicas.

The groups and tables are test_key_shards.py's: shop.orders hashed by
customer_id over a (the replication cluster: node0 primary, node1 and node2
replicas) and b (the dual-master pair: dm0 active, dm1 the standby).
Which server answered each row is told by @@server_id in the select list.
"""
import pymysql
import pytest

from test_key_shards import SCHEMA, settings
from test_shards import start_sharded
from util import admin_json, free_port, wait_until


def keyed_with(start_halyard, cluster, dual, tmp_path, **kw):
    for sql in SCHEMA:
        cluster.sql(0, sql)
    for sql in SCHEMA + ("GRANT ALL ON shop.* TO 'app'@'%'",):
        dual.sql(0, sql)
    cluster.sql(0, "INSERT INTO shop.orders (id, customer_id) VALUES (1, 8), (2, 42)")  # a
    dual.sql(0, "INSERT INTO shop.orders (id, customer_id) VALUES (3, 7)")  # b
    cluster.sync()
    dual.sync()
    port = free_port()
    s = settings(cluster, dual, tmp_path, port)
    s.update(kw)
    return start_sharded(start_halyard, s, port), s


def answered_by(h, sql="SELECT @@server_id, id FROM shop.orders ORDER BY id", conn=None):
    c = conn or h.connect()
    with c.cursor() as cur:
        cur.execute(sql)
        return {r[1]: r[0] for r in cur.fetchall()}


def server_ids(cluster, dual):
    return ({i: cluster.server_id(i) for i in range(3)},
            {i: int(dual.sql(i, "SELECT @@server_id")[0][0]) for i in range(2)})


def test_eventual_reads_come_from_the_replicas(start_halyard, cluster, dual, tmp_path):
    h, _ = keyed_with(start_halyard, cluster, dual, tmp_path, consistency="eventual")
    a, b = server_ids(cluster, dual)
    seen = {}
    for _ in range(6):
        for row, sid in answered_by(h).items():
            seen.setdefault(row, set()).add(sid)
    assert set(seen) == {1, 2, 3}
    assert seen[1] <= {a[1], a[2]} and seen[2] <= {a[1], a[2]}, seen
    assert seen[3] == {b[1]}, seen  # the standby takes the reads
    # a hint sends them to each group's primary
    got = answered_by(h, "SELECT /* halyard:primary */ @@server_id, id FROM shop.orders "
                         "ORDER BY id")
    assert got == {1: a[0], 2: a[0], 3: b[0]}


def test_causal_reads_after_a_write_come_from_the_primaries(start_halyard, cluster, dual,
                                                           tmp_path):
    h, _ = keyed_with(start_halyard, cluster, dual, tmp_path, consistency="causal")
    a, b = server_ids(cluster, dual)
    c = h.connect()
    # before any write of the session's: replicas, as its other reads
    assert set(answered_by(h, conn=c).values()) <= {a[1], a[2], b[1]}
    with c.cursor() as cur:
        cur.execute("INSERT INTO shop.orders (id, customer_id) VALUES (4, 7)")
    # after it the read must see it: the primaries (a fan-out cannot wait
    # for the session's writes on a replica)
    assert answered_by(h, conn=c) == {1: a[0], 2: a[0], 3: b[0], 4: b[0]}


def test_a_group_without_its_primary_still_answers_from_replicas(start_halyard, cluster, dual,
                                                                 tmp_path):
    h, s = keyed_with(start_halyard, cluster, dual, tmp_path, consistency="eventual",
                      failover="off")
    a, b = server_ids(cluster, dual)
    cluster.kill(0)
    wait_until(lambda: {x["name"]: x for x in
                        admin_json(s["admin_socket"], "show backends")["backends"]}
               ["node0"]["state"] == "DOWN", 10, what="node0 DOWN")
    got = answered_by(h)
    assert got[3] == b[1] and {got[1], got[2]} <= {a[1], a[2]}, got


def test_kill_query_stops_a_scatter_read(start_halyard, cluster, dual, tmp_path):
    """KILL QUERY of a session whose read runs on every group stops each
    group's part on its server: the read ends with the server's 1317 at
    once, no part keeps running there, and the session goes on. KILL
    CONNECTION ends the session."""
    import threading
    import time
    h, _ = keyed_with(start_halyard, cluster, dual, tmp_path, consistency="eventual")
    victim = h.connect()
    with victim.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID()")
        vid = cur.fetchone()[0]
    got = {}

    def slow():
        t0 = time.monotonic()
        try:
            with victim.cursor() as cur:
                cur.execute("SELECT id, SLEEP(20) FROM shop.orders")
                got["rows"] = cur.fetchall()
        except pymysql.MySQLError as e:
            got["err"] = e.args[0]
        got["took"] = time.monotonic() - t0

    t = threading.Thread(target=slow)
    t.start()

    def sleeping():
        n = 0
        for c, i in ((cluster, 1), (cluster, 2), (dual, 1)):
            n += len(c.sql(i, "SELECT ID FROM information_schema.PROCESSLIST "
                              "WHERE INFO LIKE 'SELECT id, SLEEP(20)%'"))
        return n
    wait_until(lambda: sleeping() == 2, 10, what="a part running on each group")
    killer = h.connect()
    with killer.cursor() as cur:
        cur.execute(f"KILL QUERY {vid}")
    t.join(15)
    assert got.get("err") == 1317, got
    assert got["took"] < 10, got
    wait_until(lambda: sleeping() == 0, 5, what="no part left running")
    with victim.cursor() as cur:  # the session goes on
        cur.execute("SELECT COUNT(*) FROM shop.orders")
        assert cur.fetchone()[0] == 3
    # KILL CONNECTION while a scatter read runs ends the session
    t = threading.Thread(target=slow)
    got.clear()
    t.start()
    wait_until(lambda: sleeping() == 2, 10, what="a part running on each group")
    with killer.cursor() as cur:
        cur.execute(f"KILL {vid}")
    t.join(15)
    assert got.get("err") == 1927, got  # Connection was killed, as a server says
    assert got["took"] < 10, got
    wait_until(lambda: sleeping() == 0, 5, what="no part left running")
    with pytest.raises(pymysql.MySQLError):
        with victim.cursor() as cur:
            cur.execute("SELECT 1")
