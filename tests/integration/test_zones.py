"""Zones: reads go to the replicas of halyard's own zone (zone_reads).

The test cluster's node0 (primary) and node1 are placed in zone "east",
node2 in "west"; halyard runs in "east". Which server answered is told by
@@server_id.
"""

import pymysql

from test_ops import admin_json, default_socket
from util import wait_until

MONITOR = {"user": "monitor", "password": "monitor", "interval_ms": 200, "rise": 1, "fall": 1}


def zoned(cluster, **kw):
    backends = []
    for n in cluster.nodes:
        backends.append({"name": n["name"], "address": "127.0.0.1", "port": n["port"],
                         "role": n["role"], "zone": "west" if n["index"] == 2 else "east"})
    return dict(zone="east", backends=backends, monitor=MONITOR, consistency="eventual", **kw)


def read_ids(h, n=20):
    c = h.connect()
    with c.cursor() as cur:
        ids = set()
        for _ in range(n):
            cur.execute("SELECT @@server_id")
            ids.add(cur.fetchone()[0])
    c.close()
    return ids


def state(h, name):
    return {b["name"]: b for b in admin_json(default_socket(h), "show backends")["backends"]}[name]


def test_local_first_then_the_far_zone(start_halyard, cluster):
    ids = {i: cluster.server_id(i) for i in range(3)}
    first = start_halyard(zoned(cluster))
    only = start_halyard(zoned(cluster, zone_reads="local_only"))
    anyz = start_halyard(zoned(cluster, zone_reads="any"))
    for h in (first, only, anyz):
        wait_until(lambda h=h: state(h, "node1")["state"] == "ONLINE" and
                   state(h, "node2")["state"] == "ONLINE", 10, what="replicas ONLINE")
    assert state(first, "node2")["zone"] == "west"
    # The local replica takes every read; with "any" both replicas do.
    assert read_ids(first) == {ids[1]}
    assert read_ids(only) == {ids[1]}
    assert read_ids(anyz) == {ids[1], ids[2]}
    cluster.stop_node(1)
    for h in (first, only):
        wait_until(lambda h=h: state(h, "node1")["state"] == "DOWN", 10, what="node1 DOWN")
    # local_first: the far zone's replica; local_only: the primary, never the far zone.
    assert read_ids(first) == {ids[2]}
    assert read_ids(only) == {ids[0]}
