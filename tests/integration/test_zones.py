"""Zones: reads go to the replicas of halyard's own zone (zone_reads).

The test cluster's node0 (primary) and node1 are placed in zone "east",
node2 in "west"; halyard runs in "east". Which server answered is told by
@@server_id.
"""

import time

from tcprelay import DelayRelay
from test_ops import admin, admin_json, default_socket
from util import free_port, metric, wait_until

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


def com_select(cluster, i):
    return int(cluster.sql(i, "SHOW GLOBAL STATUS LIKE 'Com_select'")[0][1])


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
    # The local replica takes every read, as the servers' own counters say
    # too (the monitor's checks add a few); with "any" both replicas do.
    before = {i: com_select(cluster, i) for i in (1, 2)}
    assert read_ids(first, 100) == {ids[1]}
    after = {i: com_select(cluster, i) for i in (1, 2)}
    assert after[1] - before[1] >= 100 and after[2] - before[2] < 20, (before, after)
    assert read_ids(only) == {ids[1]}
    assert read_ids(anyz) == {ids[1], ids[2]}
    cluster.stop_node(1)
    for h in (first, only):
        wait_until(lambda h=h: state(h, "node1")["state"] == "DOWN", 10, what="node1 DOWN")
    # local_first: the far zone's replica; local_only: the primary, never the far zone.
    assert read_ids(first) == {ids[2]}
    assert read_ids(only) == {ids[0]}


def test_reads_weigh_the_round_trip(start_halyard, cluster):
    # node2 answers 20 ms late (a relay in front of it, as a far data
    # center would): the monitor's round trip shows it, and a read alone
    # goes to node1, whose cost (statements in flight + 1) x RTT is lower.
    # Without the RTT both replicas would take turns.
    ids = {i: cluster.server_id(i) for i in range(3)}
    relay = DelayRelay(cluster.nodes[2]["port"], 0.020)
    try:
        backends = [{"name": n["name"], "address": "127.0.0.1",
                     "port": relay.port if n["index"] == 2 else n["port"], "role": n["role"]}
                    for n in cluster.nodes]
        port = free_port()
        h = start_halyard(dict(backends=backends, monitor=MONITOR, consistency="eventual",
                               metrics_port=port))
        wait_until(lambda: state(h, "node2")["state"] == "ONLINE" and
                   (state(h, "node2")["rtt_ms"] or 0) >= 15 and
                   (state(h, "node1")["rtt_ms"] or 99) < 5, 15, what="round trips measured")
        text = admin(default_socket(h), "show backends")
        assert "rtt_ms" in text.splitlines()[0]
        assert read_ids(h) == {ids[1]}
        rtt = metric(port, 'halyard_backend_rtt_seconds{backend="node2"}')
        assert rtt is not None and 0.015 <= rtt < 1
    finally:
        relay.close()


def test_partition_reads(start_halyard, cluster):
    # The primary stops and nothing promotes a replica (failover is manual):
    # the replicas' primary is unreachable for halyard too, as on the far
    # side of a partition. "serve" keeps reading from them while their data
    # is younger than max_replication_lag; "refuse" stops at once. The data's
    # age starts when the monitor sees the primary go, which can be before
    # stop_node returns, and on a loaded machine the steps below take a few
    # seconds: the limit leaves room for them.
    ids = {i: cluster.server_id(i) for i in range(3)}
    serve = start_halyard(dict(monitor=MONITOR, consistency="eventual", max_replication_lag=6))
    refuse = start_halyard(dict(monitor=MONITOR, consistency="eventual",
                                partition_reads="refuse"))
    assert admin_json(default_socket(refuse), "show config")["partition_reads"] == "refuse"
    for h in (serve, refuse):
        wait_until(lambda h=h: state(h, "node1")["state"] == "ONLINE", 10, what="node1 ONLINE")
    cluster.stop_node(0)
    t0 = time.monotonic()
    for node in ("node1", "node2"):
        wait_until(lambda node=node: state(refuse, node)["state"] == "LAGGING", 10,
                   what=f"{node} LAGGING under refuse")
        assert "partition_reads = refuse" in state(refuse, node)["why"]
    # serve: reads still go to the replicas, the data's age shows as lag.
    assert read_ids(serve, 6) <= {ids[1], ids[2]}
    assert state(serve, "node1")["state"] == "ONLINE"
    wait_until(lambda: (state(serve, "node1")["lag_s"] or 0) >= 1, 10, what="age grows")
    wait_until(lambda: state(serve, "node1")["state"] == "LAGGING", 12,
               what="node1 LAGGING once its data is older than max_replication_lag")
    assert time.monotonic() - t0 >= 6 - 0.5
    assert "its primary unreachable: data" in state(serve, "node1")["why"]
