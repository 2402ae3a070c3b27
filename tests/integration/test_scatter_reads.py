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
