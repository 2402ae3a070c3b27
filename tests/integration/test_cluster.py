"""The test bench itself: the MariaDB cluster behaves as the halyard tests
assume. Direct connections only, no halyard."""

import time
import uuid

import pymysql
import pytest

from util import ER_OPTION_PREVENTS_STATEMENT, wait_until


@pytest.fixture
def table(cluster):
    """A fresh table on the primary (test.t_<random>), dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS test")
    cluster.sql(0, f"CREATE TABLE test.{name} (id INT PRIMARY KEY, v VARCHAR(64))")
    yield f"test.{name}"
    cluster.heal()
    cluster.sql(0, f"DROP TABLE IF EXISTS test.{name}")


def count(cluster, node, table):
    return cluster.value(node, f"SELECT COUNT(*) FROM {table}")


def test_layout(cluster):
    assert cluster.primary_port == cluster.base_port
    assert cluster.replica_ports == [cluster.base_port + 1, cluster.base_port + 2]
    assert all(s["running"] for s in cluster.status())


def test_server_ids_differ(cluster):
    ids = [cluster.server_id(i) for i in range(len(cluster.nodes))]
    assert len(set(ids)) == len(ids)
    # Through TCP as app too, which is how halyard sees them.
    for i, expected in enumerate(ids):
        with cluster.connect(i) as conn, conn.cursor() as cur:
            cur.execute("SELECT @@server_id")
            assert cur.fetchone()[0] == expected


def test_roles(cluster):
    assert cluster.value(0, "SELECT @@read_only") == 0
    assert cluster.slave_status(0) == {}
    for i in cluster.replicas:
        assert cluster.value(i, "SELECT @@read_only") == 1
        st = cluster.slave_status(i)
        assert st["Slave_IO_Running"] == "Yes" and st["Slave_SQL_Running"] == "Yes"
        assert st["Master_Port"] == cluster.primary_port
        assert st["Using_Gtid"] == "Slave_Pos"


def test_accounts(cluster):
    for user in ("app", "monitor", "repl"):
        with cluster.connect(0, user=user) as conn, conn.cursor() as cur:
            cur.execute("SELECT CURRENT_USER()")
            assert cur.fetchone()[0] == f"{user}@%"
    with pytest.raises(pymysql.err.OperationalError) as e:
        cluster.connect(0, password="wrong")
    assert e.value.args[0] == 1045
    grants = " ".join(r[0] for r in cluster.sql(0, "SHOW GRANTS FOR 'app'@'%'"))
    assert "SUPER" not in grants and "READ_ONLY ADMIN" not in grants
    grants = " ".join(r[0] for r in cluster.sql(0, "SHOW GRANTS FOR 'monitor'@'%'"))
    for priv in ("BINLOG MONITOR", "SLAVE MONITOR", "PROCESS", "READ_ONLY ADMIN", "REPLICATION SLAVE ADMIN"):
        assert priv in grants


def test_write_replicates_by_gtid(cluster, table):
    with cluster.connect(0) as conn, conn.cursor() as cur:
        cur.execute(f"INSERT INTO {table} VALUES (1, 'one')")
    pos = cluster.value(0, "SELECT @@gtid_binlog_pos")
    domain, server_id, seq = pos.split("-")
    assert server_id == str(cluster.server_id(0))
    cluster.sync()
    for i in cluster.replicas:
        assert cluster.value(i, f"SELECT v FROM {table} WHERE id = 1") == "one"
        assert pos in cluster.value(i, "SELECT @@gtid_slave_pos")


def test_replicas_are_read_only_for_app(cluster, table):
    for i in cluster.replicas:
        with cluster.connect(i) as conn, conn.cursor() as cur:
            with pytest.raises(pymysql.err.OperationalError) as e:
                cur.execute(f"INSERT INTO {table} VALUES (2, 'two')")
            assert e.value.args[0] == ER_OPTION_PREVENTS_STATEMENT
    # Temporary tables stay writable on a read_only replica, as in production.
    with cluster.connect(cluster.replicas[0]) as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMPORARY TABLE test.tmp1 (id INT)")
        cur.execute("INSERT INTO test.tmp1 VALUES (1)")


def test_delay_makes_replica_lag(cluster, table):
    lagging, other = cluster.replicas[0], cluster.replicas[1]
    cluster.delay(lagging, 2)
    assert cluster.slave_status(lagging)["SQL_Delay"] == 2
    t0 = time.monotonic()
    cluster.sql(0, f"INSERT INTO {table} VALUES (3, 'three')")
    cluster.sync(nodes=[other])
    assert count(cluster, other, table) == 1
    assert count(cluster, lagging, table) == 0
    wait_until(lambda: count(cluster, lagging, table) == 1, timeout=10, what="delayed replica to apply")
    # Binlog event timestamps have whole seconds, so a delay of N seconds
    # holds an event back between N-1 and N seconds.
    assert time.monotonic() - t0 >= 0.9
    cluster.delay(lagging, 0)
    assert cluster.slave_status(lagging)["SQL_Delay"] == 0


def test_killed_replica_resumes(cluster, table):
    victim = cluster.replicas[-1]
    pid = cluster.status()[victim]["pid"]
    cluster.kill(victim)
    assert not cluster.is_running(victim)
    with pytest.raises(pymysql.err.OperationalError):
        cluster.connect(victim)
    cluster.sql(0, f"INSERT INTO {table} VALUES (4, 'four')")
    cluster.start_node(victim)
    assert cluster.status()[victim]["pid"] != pid
    cluster.sync()
    assert count(cluster, victim, table) == 1
    st = cluster.slave_status(victim)
    assert st["Slave_IO_Running"] == "Yes" and st["Slave_SQL_Running"] == "Yes"
    assert cluster.value(victim, "SELECT @@read_only") == 1


def test_stopped_replica_resumes(cluster, table):
    victim = cluster.replicas[0]
    cluster.stop_node(victim)
    assert not cluster.is_running(victim)
    cluster.sql(0, f"INSERT INTO {table} VALUES (5, 'five')")
    cluster.start_node(victim)
    cluster.sync()
    assert count(cluster, victim, table) == 1


def test_replicas_notice_dead_primary(cluster, table):
    cluster.kill(0)
    for i in cluster.replicas:
        wait_until(lambda i=i: cluster.slave_status(i)["Slave_IO_Running"] != "Yes",
                   timeout=15, what=f"node{i} to notice the primary is gone")
    cluster.start_node(0)
    for i in cluster.replicas:
        wait_until(lambda i=i: cluster.slave_status(i)["Slave_IO_Running"] == "Yes",
                   timeout=15, what=f"node{i} to reconnect to the primary")
    cluster.sql(0, f"INSERT INTO {table} VALUES (6, 'six')")
    cluster.sync()
