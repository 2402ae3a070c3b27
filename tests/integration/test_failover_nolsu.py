"""Failover and switchover when the servers run without log_slave_updates
(MariaDB's default), issue 41's `tools/history-check --variant
no-log-slave-updates`.

Without log_slave_updates a replica's binary log holds only what was
written on it: the transactions it applied from the primary are not there,
only its gtid_slave_pos names them. Promoted, it can serve a replica that
asks for its own gtid_slave_pos (MariaDB starts such a replica at the end
of what it applied), but not one that is behind it: the GTID that replica
asks for is in no binary log the new primary has, and its IO thread stops
with error 1236. Semi-sync then has no replica (`wait_no_slave` off: the
new primary acknowledges every commit alone) and the next failover
promotes a replica that never received what was acknowledged.

    a switchover with a replica (node2) behind the old primary (its SQL
    thread stopped, as a loaded host leaves it behind): node2 must replicate from
    the new primary and get its writes; and after node1 is killed, every
    write acknowledged through halyard is on the server promoted (before
    the fix: node2's IO thread stopped with 1236, node2 was promoted and
    every write node1 acknowledged was gone)
    a failover with a replica (node2) behind the one promoted (node1): the
    same, node2 applies what it received before it replicates from node1
    (before the fix: 1236, node2 got none of node1's writes)
    a replica whose IO thread its source stopped (1236: an operator started
    it from an older position than node1, without log_slave_updates, can
    serve) when node1 dies: it lacks writes node1 acknowledged alone, so it
    is not promoted; the log says why and writes fail (1429) rather than
    vanish (before the fix: node2 promoted without rows 20 to 30)
    a replica a switchover left on the old primary (now a replica without
    log_slave_updates) gets no reads (before the fix: half the reads
    through halyard lacked a row the primary had); a chain whose middle
    server logs what it applies keeps its reads
"""

import time

import pymysql
import pytest

from test_failover import ctl, kill_now, writable_nodes
from test_inflight import own_cluster, start
from test_ops import admin_json
from util import wait_until

T = "fi.t"


def ids(c, i):
    return sorted(r[0] for r in c.sql(i, f"SELECT id FROM {T}"))


def insert(conn, first, acked=None):
    """Ten rows through halyard, ids first..first+9, each acknowledged."""
    for i in range(first, first + 10):
        conn.cursor().execute(f"INSERT INTO {T} VALUES (%s, 0)", (i,))
        if acked is not None:
            acked.append(i)


def backend(conf, name):
    return next(b for b in admin_json(conf["admin_socket"], "show backends")["backends"]
                if b["name"] == name)


def assert_node2_follows_node1(c, acked):
    """node2 replicates from node1, without an IO error, and gets every
    acknowledged row (the last one's id: acked[-1]) within 15 s."""
    deadline = time.monotonic() + 15
    while acked[-1] not in ids(c, 2) and time.monotonic() < deadline:
        time.sleep(0.05)
    st = c.slave_status(2)
    assert st["Master_Port"] == c.nodes[1]["port"] and st["Last_IO_Errno"] == 0, st
    assert ids(c, 2) == sorted(acked), st


def test_switchover_with_a_replica_behind_keeps_it_replicating(start_halyard, tmp_path, request):
    c = own_cluster(request, "fo-nolsu", True, 170, ["--log-slave-updates=0"])
    assert c.value(2, "SELECT @@log_slave_updates") == 0
    # as tools/history-check runs it: no replication_user, so the old
    # primary stays read_only outside replication after the switchover
    conf, h = start(c, start_halyard, tmp_path, replication_user=None,
                    replication_password_env=None)
    conn = pymysql.connect(**h.conn_params(read_timeout=60, autocommit=True))
    acked = [1, 2]
    # node2 receives (and acknowledges) but does not apply: behind the old
    # primary when the switchover starts, as a loaded host leaves it
    c.sql(2, "STOP SLAVE SQL_THREAD")
    insert(conn, 10, acked)
    r = ctl(conf["admin_socket"], "switchover", "to", "node1")
    assert r.returncode == 0, r.stdout + r.stderr
    insert(conn, 20, acked)
    assert_node2_follows_node1(c, acked)
    # node1 dies: the server promoted has every acknowledged write
    kill_now(c, 1)
    wait_until(lambda: any(b["role"] == "primary" and b["state"] == "ONLINE" and
                           b["name"] != "node1"
                           for b in admin_json(conf["admin_socket"], "show backends")["backends"]),
               30, what="a new primary")
    new = writable_nodes(c)
    assert new == [2], new
    assert ids(c, 2) == sorted(acked)
    conn.close()


def test_failover_with_a_replica_behind_keeps_it_replicating(start_halyard, tmp_path, request):
    c = own_cluster(request, "fo-nolsu", True, 170, ["--log-slave-updates=0"])
    conf, h = start(c, start_halyard, tmp_path)
    conn = pymysql.connect(**h.conn_params(read_timeout=60, autocommit=True))
    acked = [1, 2]
    c.sql(2, "STOP SLAVE SQL_THREAD")  # node2 received what node1 did, applied less
    insert(conn, 10, acked)
    c.sync(nodes=[1])
    kill_now(c, 0)
    # node1 and node2 received the same: node1 is promoted (config order)
    wait_until(lambda: writable_nodes(c) == [1], 30, what="node1 promoted")
    insert(conn, 20, acked)
    assert_node2_follows_node1(c, acked)
    assert ids(c, 1) == sorted(acked)
    conn.close()


def test_a_replica_its_source_refused_is_not_promoted(start_halyard, tmp_path, request):
    c = own_cluster(request, "fo-nolsu", True, 170, ["--log-slave-updates=0"])
    conf, h = start(c, start_halyard, tmp_path, replication_user=None,
                    replication_password_env=None)
    conn = pymysql.connect(**h.conn_params(read_timeout=60, autocommit=True))
    before = c.value(2, "SELECT @@gtid_slave_pos")
    insert(conn, 10)
    c.sync(nodes=[1, 2])
    r = ctl(conf["admin_socket"], "switchover", "to", "node1")
    assert r.returncode == 0, r.stdout + r.stderr
    conn.cursor().execute(f"INSERT INTO {T} VALUES (20, 0)")
    # an operator restarts node2 from an older position: node1, without
    # log_slave_updates, has no binary log to serve it from (1236)
    c.sql(2, "STOP SLAVE")
    c.sql(2, "SET GLOBAL gtid_slave_pos = %s", (before,))
    c.sql(2, "START SLAVE")
    wait_until(lambda: c.slave_status(2)["Last_IO_Errno"] == 1236, 15, what="node2 refused")
    insert(conn, 21)  # acknowledged by node1 alone: no semi-sync replica left
    kill_now(c, 1)
    # node2 has none of node1's writes: not promoted, and the log says why
    wait_until(lambda: "stopped receiving on an error from the primary" in h.log_text(), 20,
               what="the failover refused")
    assert writable_nodes(c) == [], c.slave_status(2)
    with pytest.raises(pymysql.MySQLError) as e:
        conn.cursor().execute(f"INSERT INTO {T} VALUES (31, 0)")
    assert e.value.args[0] == 1429 and "stopped receiving" in e.value.args[1], e.value.args
    conn.close()


def test_a_replica_of_a_replica_with_log_slave_updates_keeps_its_reads(start_halyard, tmp_path,
                                                                         request):
    """A chain whose middle server logs what it applies (node2 replicating
    from node1 with log_slave_updates) is supported: node2 gets node0's
    writes through node1 and stays ONLINE, its reads answered."""
    c = own_cluster(request, "fo-lsu", True, 170)
    assert c.value(1, "SELECT @@log_slave_updates") == 1
    conf, h = start(c, start_halyard, tmp_path,
                    monitor={"user": "monitor", "password": "monitor", "interval_ms": 200})
    c.sql(2, "STOP SLAVE")
    c.sql(2, "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = %s",
          (c.nodes[1]["port"],))
    c.sql(2, "START SLAVE")
    conn = pymysql.connect(**h.conn_params(read_timeout=60, autocommit=True))
    conn.cursor().execute(f"INSERT INTO {T} VALUES (50, 0)")
    conn.close()
    wait_until(lambda: 50 in ids(c, 2), 10, what="node2 got the row through node1")
    assert c.slave_status(2)["Master_Port"] == c.nodes[1]["port"]

    def node2():
        return backend(conf, "node2")

    wait_until(lambda: node2()["state"] == "ONLINE" and node2()["role"] == "replica", 10,
               what="node2 ONLINE")
    time.sleep(1)  # 5 checks: it stays ONLINE
    assert node2()["state"] == "ONLINE", node2()


def test_a_replica_left_on_the_old_primary_gets_no_reads(start_halyard, tmp_path, request):
    """A switchover to node1 that cannot repoint node2 (its SQL thread held
    behind by a global read lock past switchover_timeout_ms) leaves it on
    node0, now a replica of node1 without log_slave_updates: node2 receives
    none of node1's writes while its Seconds_Behind_Master reads 0. Reads
    through halyard must not go to node2 (before the fix: they did, and
    lacked the row the primary has), from the moment the switchover ends:
    the failover thread marks node2 LAGGING itself (before: node2 stayed
    ONLINE until the monitor had checked node0 and node2 again, up to a
    monitor interval, 1 s here; this test used to wait for that)."""
    c = own_cluster(request, "fo-nolsu", True, 170, ["--log-slave-updates=0"])
    assert c.value(0, "SELECT @@log_slave_updates") == 0
    conf, h = start(c, start_halyard, tmp_path, switchover_timeout_ms=2000,
                    monitor={"user": "monitor", "password": "monitor", "interval_ms": 1000})
    conn = pymysql.connect(**h.conn_params(read_timeout=60, autocommit=True))
    c.sql(2, "STOP SLAVE SQL_THREAD")
    insert(conn, 10)
    lock = c.root_connect(2)
    lock.cursor().execute("FLUSH TABLES WITH READ LOCK")
    r = ctl(conf["admin_socket"], "switchover", "to", "node1")
    assert r.returncode == 0, r.stdout + r.stderr

    def node2():
        return backend(conf, "node2")

    b = node2()  # at once, before any check could have seen it
    assert b["state"] == "LAGGING" and "log_slave_updates" in b["why"], b
    lock.close()
    assert c.slave_status(2)["Master_Port"] == c.nodes[0]["port"], "node2 was repointed"
    wait_until(lambda: 19 in ids(c, 2), 10, what="node2 applied what node0 wrote")
    conn.cursor().execute(f"INSERT INTO {T} VALUES (50, 0)")
    wait_until(lambda: 50 in ids(c, 0), 10, what="node0 applied node1's write")
    st = c.slave_status(2)
    assert 50 not in ids(c, 2) and st["Seconds_Behind_Master"] == 0, st
    # reads at once and for 3 s (3 checks, past rise, node0 checked as a
    # replica of node1 by then): none may lack the row
    reads, stale, deadline = 0, 0, time.monotonic() + 3
    while time.monotonic() < deadline:
        r = pymysql.connect(**h.conn_params(autocommit=True))
        stale += r.cursor().execute(f"SELECT id FROM {T} WHERE id = 50") == 0
        reads += 1
        r.close()
        time.sleep(0.02)
    assert stale == 0, f"{stale} of {reads} reads through halyard lacked the row the primary has"
    b = node2()
    assert b["state"] == "LAGGING" and "log_slave_updates" in b["why"], b
    conn.close()
