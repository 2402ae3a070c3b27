"""Failover, switchover, fencing and rejoin against the real cluster.

Each test changes the topology; the `cluster` fixture rebuilds the cluster
before the next test when node0 is no longer the primary (util.heal).

    kill -9 of the primary under an insert load: a new primary and writes
    through halyard again within 5 s with the default settings (the time is
    printed; tools/failover-bench measures the median of several runs)
    semi-sync: every insert acknowledged to a client is on the new primary
    switchover under load: no client statement fails
    a replica that may not be promoted but is ahead of the candidate: the
    candidate takes what it lacks from it first
    two halyards, one cluster: exactly one server is promoted and both route
    writes to it
    the old primary restarted: read_only at once, a replica with auto_rejoin,
    left out (read_only, not replicating) when it holds errant transactions
    `halyardctl failover` with failover = off; a switchover whose replica
    cannot catch up in time rolls back
"""

import json
import os
import re
import signal
import subprocess
import threading
import time

import pymysql
import pytest

from conftest import TEST_PORT
from test_ops import admin_json
from util import (APP_PASSWORD, APP_USER, REPO, Cluster, audit_records, default_halyard_settings, free_port, metric,
                  wait_audit, wait_until, q)

HALYARDCTL = os.path.abspath(os.environ.get("HALYARDCTL_BIN") or os.path.join(REPO, "build", "halyardctl"))
REPL_ENV = "HALYARD_TEST_REPL_PASSWORD"
os.environ.setdefault(REPL_ENV, "repl")


def failover_settings(tmp_path, **extra):
    s = {
        "failover": "auto",
        "monitor": {"user": "monitor", "password": "monitor"},
        "replication_user": "repl",
        "replication_password_env": REPL_ENV,
        "admin_socket": str(tmp_path / f"admin-{len(os.listdir(tmp_path))}.sock"),
        "audit_log": str(tmp_path / f"audit-{len(os.listdir(tmp_path))}.log"),
    }
    s.update(extra)
    return s


def ctl(h_socket, *args, timeout=150):
    return subprocess.run([HALYARDCTL, "-s", h_socket, *args], capture_output=True, text=True,
                          timeout=timeout)


class Load:
    """Writers inserting through halyard, one row at a time, each id kept
    once the server acknowledged it. Failed statements are kept with their
    time; a broken connection is opened again."""

    def __init__(self, h, table, writers=4, first_writer=1):
        self.h, self.table = h, table
        self.stop_ev = threading.Event()
        self.acked = []  # (id, sent, answered)
        self.errors = []  # (time, message)
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(w,), daemon=True)
                        for w in range(first_writer, first_writer + writers)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(timeout=60)

    def run(self, w):
        conn, n = None, 0
        while not self.stop_ev.is_set():
            if conn is None:
                try:
                    conn = pymysql.connect(**self.h.conn_params(read_timeout=30))
                except pymysql.MySQLError as e:
                    with self.lock:
                        self.errors.append((time.monotonic(), f"connect: {e}"))
                    time.sleep(0.05)
                    continue
            n += 1
            row = w * 1_000_000 + n
            sent = time.monotonic()
            try:
                with conn.cursor() as cur:
                    cur.execute(f"INSERT INTO {self.table} (id, w) VALUES (%s, %s)", (row, w))
                with self.lock:
                    self.acked.append((row, sent, time.monotonic()))
            except pymysql.MySQLError as e:
                with self.lock:
                    self.errors.append((time.monotonic(), str(e)))
                try:
                    conn.close()
                except Exception:  # noqa: BLE001 - it is broken already
                    pass
                conn = None
                time.sleep(0.01)
        if conn is not None:
            conn.close()

    def count(self):
        with self.lock:
            return len(self.acked)

    def first_ack_sent_after(self, t):
        with self.lock:
            done = [a[2] for a in self.acked if a[1] > t]
        return min(done) if done else None

    def ids(self):
        with self.lock:
            return {a[0] for a in self.acked}


def writable_nodes(cluster):
    out = []
    for n in cluster.nodes:
        try:
            ro = cluster.value(n["index"], "SELECT @@read_only")
            st = cluster.slave_status(n["index"])
        except pymysql.MySQLError:
            continue
        if not ro and not st:
            out.append(n["index"])
    return out


def make_table(cluster, name="t"):
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS fo")
    cluster.sql(0, f"DROP TABLE IF EXISTS fo.{name}")
    cluster.sql(0, f"CREATE TABLE fo.{name} (id BIGINT PRIMARY KEY, w INT NOT NULL)")
    cluster.sync()
    return f"fo.{name}"


def ids_on(cluster, node, table):
    return {r[0] for r in cluster.sql(node, f"SELECT id FROM {table}")}


def kill_now(cluster, ref):
    """SIGKILL a node's mariadbd from this process; return the monotonic
    time of the kill (tools/cluster kill adds its own start-up time)."""
    n = cluster.node(ref)
    with open(n["pid_file"]) as f:
        pid = int(f.read().strip())
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f"--datadir={n['datadir']}".encode() in f.read().split(b"\0")
    t = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not os.path.exists(f"/proc/{pid}") or
               open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z", 10)
    return t


def kill_under_load(cluster, h, table):
    """Kill node0 under load; return (seconds to the first write after the
    kill, the load) once writes flow again and the load has stopped."""
    with Load(h, table) as load:
        wait_until(lambda: load.count() >= 50, 10, what="the load to get going")
        t_kill = kill_now(cluster, 0)
        first = wait_until(lambda: load.first_ack_sent_after(t_kill), 30,
                           what="a write through halyard after the kill")
        elapsed = first - t_kill
        # Some more load on the new primary.
        n = load.count()
        wait_until(lambda: load.count() >= n + 50, 10, what="writes to go on")
    print(f"\nfailover: first write through halyard {elapsed:.3f} s after kill -9 of the primary")
    return elapsed, load


def test_kill_primary_under_load(cluster, start_halyard, tmp_path):
    table = make_table(cluster)
    mport = free_port()
    h = start_halyard(failover_settings(tmp_path, metrics_port=mport))
    elapsed, load = kill_under_load(cluster, h, table)
    assert elapsed < 5.0, f"writes resumed {elapsed:.2f} s after the kill; the budget is 5 s"
    new = writable_nodes(cluster)
    assert len(new) == 1 and new[0] != 0, f"writable servers: {new}"
    # The other replica follows the new primary.
    other = ({1, 2} - set(new)).pop()
    st = cluster.slave_status(other)
    assert st["Master_Port"] == cluster.port(new[0]), st
    wait_until(lambda: cluster.slave_status(other)["Slave_IO_Running"] == "Yes", 10,
               what=f"node{other} to replicate from node{new[0]}")
    # Writes through halyard land on the new primary.
    h.sql(f"INSERT INTO {table} (id, w) VALUES (1, 0)")
    assert 1 in ids_on(cluster, new[0], table)
    log = h.log_text()
    assert "lock halyard_failover: granted" in log
    assert "failover done" in log
    assert metric(mport, 'halyard_failovers_total{kind="failover",result="ok"}') == 1
    assert metric(mport, 'halyard_failovers_total{kind="switchover",result="ok"}') == 0


@pytest.mark.parametrize("pool_mode", ["transaction", "session"])
def test_last_insert_id_lost_with_the_primary(cluster, start_halyard, tmp_path, pool_mode):
    """A session whose LAST_INSERT_ID() was only on the killed primary (an
    insert in a transaction it had open there) goes on after the failover,
    but the first statement that uses LAST_INSERT_ID() ends it with 1927:
    before, it read the new primary's 0 (session mode) or the value from
    before the transaction (pooled), without an error. A session that
    inserted and whose value was read back (pooled, autocommit) keeps it."""
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS fo")
    cluster.sql(0, "DROP TABLE IF EXISTS fo.lid")
    cluster.sql(0, "CREATE TABLE fo.lid (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
    cluster.sql(0, "INSERT INTO fo.lid (v) VALUES (0), (0), (0)")
    cluster.sync()
    settings = failover_settings(tmp_path, pool_mode=pool_mode)
    sock = settings["admin_socket"]
    h = start_halyard(settings)
    lost = h.connect(autocommit=True)
    kept = h.connect(autocommit=True)
    try:
        with lost.cursor() as cur:
            cur.execute("INSERT INTO fo.lid (v) VALUES (1)")
            cur.execute("BEGIN")
            cur.execute("INSERT INTO fo.lid (v) VALUES (2)")
            assert cur.lastrowid == 5
        with kept.cursor() as cur:
            cur.execute("INSERT INTO fo.lid (v) VALUES (3)")
            assert cur.lastrowid == 6
            cur.execute("SELECT LAST_INSERT_ID()")
            assert cur.fetchone() == (6,)
            # pooled: halyard reads it back after the client has its answer;
            # the next statement waits for that read-back (a kill during it
            # loses the value, as designed)
            cur.execute("SELECT 1")
        kill_now(cluster, 0)
        wait_until(lambda: any(b["role"] == "primary" and b["state"] == "ONLINE" and
                               b["name"] != "node0" for b in admin_json(sock, "show backends")
                               ["backends"]), 30, what="a failover")
        with lost.cursor() as cur:
            with pytest.raises(pymysql.err.OperationalError) as e:
                cur.execute("SELECT 1")  # the transaction died with node0
            assert e.value.args[0] == 1927 and "during the transaction" in e.value.args[1]
            cur.execute("SELECT COUNT(*) FROM fo.lid WHERE v = 1")
            assert cur.fetchone()[0] in (0, 1)  # async replication: it may be lost
            with pytest.raises(pymysql.err.OperationalError) as e:
                cur.execute("SELECT LAST_INSERT_ID()")
            assert e.value.args == (1927, "Lost connection to backend 'node0', which held this "
                                          "session's LAST_INSERT_ID(): reconnect"), e.value.args
        with pytest.raises(pymysql.err.Error):
            lost.cursor().execute("SELECT 1")  # closed
        with kept.cursor() as cur:
            if pool_mode == "transaction":
                cur.execute("SELECT LAST_INSERT_ID()")
                assert cur.fetchone() == (6,)  # read back before node0 died
            else:
                with pytest.raises(pymysql.err.OperationalError) as e:
                    cur.execute("SELECT LAST_INSERT_ID()")
                assert e.value.args[0] == 1927
        assert "a statement uses LAST_INSERT_ID(), lost with node0: closing" in h.log_text()
    finally:
        lost.close()
        kept.close()


def test_semisync_no_acknowledged_write_lost(start_halyard, tmp_path, request):
    """A cluster of its own (semi-synchronous, AFTER_SYNC) on other ports."""
    base = f"/tmp/halyard-test-{os.geteuid()}-{TEST_PORT}-semisync"
    ss = Cluster(base, TEST_PORT + 5, semisync=True)
    ss.destroy()
    ss.start()
    request.addfinalizer(ss.destroy)
    def status(node, name):
        return ss.sql(node, "SHOW GLOBAL STATUS LIKE %s", (name,))[0][1]
    # tools/cluster --semisync: acknowledged means in a replica's relay log.
    assert ss.value(0, "SELECT @@rpl_semi_sync_master_wait_point") == "AFTER_SYNC"
    wait_until(lambda: status(0, "Rpl_semi_sync_master_clients") == "2", 10,
               what="both replicas to be semi-sync replicas")
    assert status(0, "Rpl_semi_sync_master_status") == "ON"
    for i in ss.replicas:
        assert status(i, "Rpl_semi_sync_slave_status") == "ON"
    table = make_table(ss)
    acked = int(status(0, "Rpl_semi_sync_master_yes_tx"))
    ss.sql(0, f"INSERT INTO {table} (id, w) VALUES (0, 0)")
    assert int(status(0, "Rpl_semi_sync_master_yes_tx")) == acked + 1
    conf = failover_settings(tmp_path)
    conf["backends"] = [{"name": n["name"], "address": "127.0.0.1", "port": n["port"],
                         "role": n["role"]} for n in ss.nodes]
    h = start_halyard(conf)
    elapsed, load = kill_under_load(ss, h, table)
    new = writable_nodes(ss)
    assert len(new) == 1 and new[0] != 0, f"writable servers: {new}"
    lost = load.ids() - ids_on(ss, new[0], table)
    assert not lost, f"{len(lost)} acknowledged inserts are not on node{new[0]}: {sorted(lost)[:10]}"
    print(f"semi-sync: {len(load.ids())} acknowledged inserts, none lost; failover {elapsed:.3f} s")


def test_switchover_under_load(cluster, start_halyard, tmp_path):
    table = make_table(cluster)
    conf = failover_settings(tmp_path)
    h = start_halyard(conf)
    with Load(h, table) as load:
        wait_until(lambda: load.count() >= 50, 10, what="the load to get going")
        r = ctl(conf["admin_socket"], "switchover", "to", "node2")
        n = load.count()
        wait_until(lambda: load.count() >= n + 50, 10, what="writes to go on after the switchover")
    assert r.returncode == 0, f"halyardctl switchover: {r.returncode}\n{r.stdout}\n{r.stderr}"
    assert r.stdout.startswith("OK switchover done"), r.stdout
    assert "node2 promoted" in r.stdout, r.stdout
    assert load.errors == [], f"{len(load.errors)} failed statements: {load.errors[:5]}"
    assert writable_nodes(cluster) == [2]
    # The old primary is a replica of the new one, and so is node1.
    for i in (0, 1):
        st = cluster.slave_status(i)
        assert st and st["Master_Port"] == cluster.port(2), (i, st)
        assert cluster.value(i, "SELECT @@read_only") == 1
    pos = cluster.value(2, "SELECT @@gtid_binlog_pos")
    for i in (0, 1):
        assert cluster.value(i, "SELECT MASTER_GTID_WAIT(%s, 10)", (pos,)) == 0
        assert ids_on(cluster, i, table) == ids_on(cluster, 2, table)
    assert load.ids() <= ids_on(cluster, 2, table)

    # A switchover that cannot be done fails with the reason and exit status 1.
    r = ctl(conf["admin_socket"], "switchover", "to", "nosuch")
    assert r.returncode == 1 and "no backend named 'nosuch'" in r.stdout, r.stdout

    # Both are audit records, with their steps; the role changes too.
    audit = conf["audit_log"]
    done = wait_audit(audit, "switchover", ok=True)
    assert (done["trigger"], done["backend"], done["from"], done["to"]) == ("admin", "node2", "node0", "node2")
    assert done["result"].startswith("switchover done: node2 is the primary"), done
    assert any("node2 promoted" in st for st in done["steps"]), done["steps"]
    assert all(re.match(r"\[\+\d+ ms\] ", st) for st in done["steps"]), done["steps"]
    assert done["duration_ms"] >= 0
    refused = wait_audit(audit, "switchover", ok=False)
    assert refused["backend"] == "nosuch" and refused["from"] == refused["to"] == "node2", refused
    assert "no backend named 'nosuch'" in refused["result"], refused
    roles = [(r["backend"], r["from"], r["to"]) for r in audit_records(audit, "backend_role")]
    assert ("node0", "primary", "replica") in roles and ("node2", "replica", "primary") in roles, roles
    fenced = [(r["backend"], r["to"]) for r in audit_records(audit, "backend_fenced")]
    assert ("node0", "yes") in fenced, fenced


def test_two_halyards_promote_one_server(cluster, start_halyard, tmp_path):
    table = make_table(cluster)
    h1 = start_halyard(failover_settings(tmp_path))
    h2 = start_halyard(failover_settings(tmp_path))
    cluster.kill(0)
    for h in (h1, h2):
        wait_until(lambda h=h: h.sql("SELECT 1") is not None, 10)

    def write_ok(h, row):
        try:
            h.sql(f"INSERT INTO {table} (id, w) VALUES (%s, 0)", (row,))
            return True
        except pymysql.MySQLError:
            return False
    wait_until(lambda: write_ok(h1, 1), 15, what="a write through the first halyard")
    wait_until(lambda: write_ok(h2, 2), 15, what="a write through the second halyard")
    new = writable_nodes(cluster)
    assert len(new) == 1, f"writable servers: {new}"
    assert {1, 2} <= ids_on(cluster, new[0], table)
    promoted = [h for h in (h1, h2) if "failover done" in h.log_text()]
    assert len(promoted) == 1, "exactly one halyard must have promoted a server"
    # Still one primary a little later (the other did not promote afterwards).
    time.sleep(1.5)
    assert writable_nodes(cluster) == new


@pytest.mark.parametrize("rules,promoted", [
    ({}, 2),                        # same_first: node2 shares the lost primary's zone
    ({"node2": "never"}, 1),        # never: node1, in the other zone
    ({"node1": "prefer"}, 1),       # prefer wins a tie over the zone
])
def test_failover_follows_zones_and_promotion(cluster, start_halyard, tmp_path, rules, promoted):
    """node0 (primary) and node2 are in zone east, node1 in west, all at one
    position: failover promotes by promotion rule, then by the lost
    primary's zone (failover_zones = same_first), then config order."""
    table = make_table(cluster)
    backends = default_halyard_settings(cluster, 0)["backends"]
    for b, zone in zip(backends, ("east", "west", "east")):
        b["zone"] = zone
        if b["name"] in rules:
            b["promotion"] = rules[b["name"]]
    h = start_halyard(failover_settings(tmp_path, zone="east", backends=backends))
    cluster.kill(0)
    wait_until(lambda: writable_nodes(cluster) != [], 20, what="a new primary")
    assert writable_nodes(cluster) == [promoted]

    def write_ok():
        try:
            h.sql(f"INSERT INTO {table} (id, w) VALUES (1, 0)")
            return True
        except pymysql.MySQLError:
            return False
    wait_until(write_ok, 15, what="a write through halyard")
    assert ids_on(cluster, promoted, table) == {1}
    assert re.search(rf"node{promoted} is the most advanced of \d candidate", h.log_text())


def test_candidate_first_takes_what_a_never_replica_has(cluster, start_halyard, tmp_path):
    """node2 (promotion = never) received writes node1 did not (node1's IO
    thread stopped): node1 is promoted, but only after it took them from
    node2, so no acknowledged write is lost and node2 replicates from it."""
    table = make_table(cluster)
    backends = default_halyard_settings(cluster, 0)["backends"]
    backends[2]["promotion"] = "never"
    h = start_halyard(failover_settings(tmp_path, backends=backends))
    cluster.sql(1, "STOP SLAVE IO_THREAD")
    for i in range(1, 11):
        h.sql(f"INSERT INTO {table} (id, w) VALUES ({i}, 0)")
    want = cluster.value(0, "SELECT @@gtid_binlog_pos")
    wait_until(lambda: cluster.value(2, "SELECT @@gtid_current_pos") == want, 20,
               what="node2 to apply the writes")
    assert ids_on(cluster, 1, table) == set()
    cluster.kill(0)
    wait_until(lambda: writable_nodes(cluster) != [], 30, what="a new primary")
    assert writable_nodes(cluster) == [1]
    assert ids_on(cluster, 1, table) == set(range(1, 11))
    log = h.log_text()
    assert "node1 lacks transactions node2 has" in log, log[-3000:]
    assert "node1 took from node2 what it lacked" in log
    wait_until(lambda: (cluster.slave_status(2) or {}).get("Slave_IO_Running") == "Yes" and
               cluster.slave_status(2)["Master_Port"] == cluster.port(1), 20,
               what="node2 to replicate from node1")
    h.sql(f"INSERT INTO {table} (id, w) VALUES (11, 0)")
    wait_until(lambda: ids_on(cluster, 2, table) == set(range(1, 12)), 20,
               what="node2 to get the new primary's write")


def test_old_primary_fenced_then_rejoins(cluster, start_halyard, tmp_path):
    table = make_table(cluster)
    conf = failover_settings(tmp_path, auto_rejoin=True)
    h = start_halyard(conf)
    cluster.kill(0)
    wait_until(lambda: len(writable_nodes(cluster)) == 1, 15, what="a new primary")
    new = writable_nodes(cluster)[0]
    wait_until(lambda: h.sql(f"INSERT INTO {table} (id, w) VALUES (7, 0)") is not None, 10)
    # node0 comes back as it was: writable (tools/cluster starts it without --read-only).
    cluster.start_node(0)
    wait_until(lambda: cluster.value(0, "SELECT @@read_only") == 1, 10,
               what="the old primary to be set read_only")
    wait_until(lambda: cluster.slave_status(0).get("Slave_IO_Running") == "Yes", 15,
               what="the old primary to replicate from the new one")
    assert cluster.slave_status(0)["Master_Port"] == cluster.port(new)
    h.sql(f"INSERT INTO {table} (id, w) VALUES (8, 0)")
    pos = cluster.value(new, "SELECT @@gtid_binlog_pos")
    assert cluster.value(0, "SELECT MASTER_GTID_WAIT(%s, 10)", (pos,)) == 0
    assert {7, 8} <= ids_on(cluster, 0, table)
    assert writable_nodes(cluster) == [new]
    # The audit log tells the story: failover, fence, rejoin, unfenced.
    audit = conf["audit_log"]
    fo = wait_audit(audit, "failover", ok=True)
    assert (fo["trigger"], fo["from"], fo["to"], fo["backend"]) == ("auto", "node0", f"node{new}", f"node{new}")
    assert fo["result"].startswith(f"failover done: node{new} is the primary"), fo
    assert any("promoted" in st for st in fo["steps"]), fo["steps"]
    fence = wait_audit(audit, "fence", backend="node0")
    assert fence["ok"] and (fence["from"], fence["to"]) == ("writable outside replication", "read_only"), fence
    rj = wait_audit(audit, "rejoin", backend="node0")
    assert rj["ok"] and rj["to"] == f"replica of node{new}", rj
    un = wait_audit(audit, "backend_fenced", backend="node0", to="no")
    assert un["reason"] == "replicates again", un
    events = [r["event"] for r in audit_records(audit) if r["event"] in ("failover", "fence", "rejoin")]
    assert events == ["failover", "fence", "rejoin"], events


def test_old_primary_fenced_without_rejoin(cluster, start_halyard, tmp_path):
    table = make_table(cluster)
    conf = failover_settings(tmp_path)
    h = start_halyard(conf)
    cluster.kill(0)
    wait_until(lambda: len(writable_nodes(cluster)) == 1, 15, what="a new primary")
    new = writable_nodes(cluster)[0]

    def backends():
        return json.loads(ctl(conf["admin_socket"], "-j", "show", "backends").stdout)["backends"]

    # The new primary is writable before the failover thread publishes it
    # (and fences the old one): wait for halyard to show it, not the server.
    wait_until(lambda: next(b for b in backends() if b["name"] == f"node{new}")["role"]
               == "primary", 10, what="halyard to publish the new primary")
    fenced = {b["name"]: b["fenced"] for b in backends()}
    assert fenced == {"node0": True, "node1": False, "node2": False}, fenced
    cluster.start_node(0)
    wait_until(lambda: cluster.value(0, "SELECT @@read_only") == 1, 10,
               what="the old primary to be set read_only")
    # Never written to: writes through halyard keep going to the new primary.
    for i in range(20):
        h.sql(f"INSERT INTO {table} (id, w) VALUES (%s, 0)", (100 + i,))
    assert not ids_on(cluster, 0, table) & set(range(100, 120))
    assert set(range(100, 120)) <= ids_on(cluster, new, table)
    assert cluster.slave_status(0) == {}


def test_old_primary_back_writable_is_not_followed_when_the_new_one_dies(cluster, start_halyard,
                                                                         tmp_path):
    """The race 81251f62 closed (issue 47, item 3): the old primary comes
    back writable and replicating from nobody, which the follow rule takes
    for a primary another tool promoted; the new primary dies before halyard
    has set the old one read_only. The window is held open on purpose: the
    old primary is in maintenance (a repair), which halyard leaves alone
    (no read_only, no rejoin) until it is put online. halyard must promote
    the remaining replica, which has every write, and leave the old primary
    fenced; followed, the writes made since the first failover are gone
    from what halyard routes to (the binary before the fix: "follow: node0
    is writable and replicates from nobody", node0 primary and unfenced,
    node1 fenced)."""
    table = make_table(cluster)
    conf = failover_settings(tmp_path)
    h = start_halyard(conf)
    h.sql(f"INSERT INTO {table} (id, w) VALUES (1, 0)")
    cluster.sync()
    cluster.kill(0)
    wait_until(lambda: len(writable_nodes(cluster)) == 1, 15, what="a new primary")
    new = writable_nodes(cluster)[0]
    other = 3 - new

    def backends():
        return {b["name"]: b for b in
                json.loads(ctl(conf["admin_socket"], "-j", "show", "backends").stdout)["backends"]}

    wait_until(lambda: backends()[f"node{new}"]["role"] == "primary", 10,
               what="halyard to publish the new primary")
    wait_until(lambda: h.sql(f"INSERT INTO {table} (id, w) VALUES (2, 0)") is not None, 10)
    pos = cluster.value(new, "SELECT @@gtid_binlog_pos")
    assert cluster.value(other, "SELECT MASTER_GTID_WAIT(%s, 10)", (pos,)) == 0  # both rows
    r = ctl(conf["admin_socket"], "backend", "node0", "maint")
    assert r.returncode == 0, r.stdout + r.stderr
    cluster.start_node(0)  # writable, replicating from nobody, without row 2
    assert cluster.value(0, "SELECT @@read_only") == 0 and cluster.slave_status(0) == {}
    # Up again for the monitor (rise checks; maintenance still shows): the
    # failover thread's view has it reachable from then on.
    h.wait_log(r"backend node0: health DOWN -> [A-Z]+ \(maint holds it MAINT\)", timeout=15)
    assert cluster.value(0, "SELECT @@read_only") == 0, "node0 set read_only: the window closed"
    cluster.kill(new)
    wait_until(lambda: backends()[f"node{new}"]["role"] != "primary", 20,
               what=f"halyard to replace node{new}")
    seen = {n: (b["role"], b["fenced"]) for n, b in backends().items()}
    assert seen["node0"] == ("replica", True), f"the old primary followed: {seen}"
    assert seen[f"node{other}"] == ("primary", False), seen
    wait_until(lambda: h.sql(f"INSERT INTO {table} (id, w) VALUES (3, 0)") is not None, 15,
               what="writes through halyard again")
    assert h.sql(f"/* halyard: primary */ SELECT id FROM {table} ORDER BY id") == [(1,), (2,), (3,)]
    assert ids_on(cluster, other, table) == {1, 2, 3}
    assert ids_on(cluster, 0, table) == {1}  # never written to
    assert cluster.value(0, "SELECT @@read_only") == 0  # left alone in maintenance


def test_old_primary_with_errant_transactions_stays_out(cluster, start_halyard, tmp_path):
    """A write the replicas never received (asynchronous replication) is an
    errant transaction on the old primary: auto_rejoin leaves it read_only
    outside replication and says why, instead of breaking replication."""
    table = make_table(cluster)
    conf = failover_settings(tmp_path, auto_rejoin=True)
    h = start_halyard(conf)
    for i in cluster.replicas:
        cluster.sql(i, "STOP SLAVE IO_THREAD")
    cluster.sql(0, f"INSERT INTO {table} (id, w) VALUES (666, 0)")  # never leaves node0
    cluster.kill(0)
    wait_until(lambda: len(writable_nodes(cluster)) == 1, 15, what="a new primary")
    new = writable_nodes(cluster)[0]
    cluster.start_node(0)
    wait_until(lambda: cluster.value(0, "SELECT @@read_only") == 1, 10,
               what="the old primary to be set read_only")
    h.wait_log(r"node0 has transactions primary node\d never had", timeout=15)
    assert cluster.slave_status(0) == {}
    refused = wait_audit(conf["audit_log"], "rejoin", backend="node0")
    assert not refused["ok"] and refused["to"] == refused["from"] == "read_only outside replication"
    assert re.search(r"node0 has transactions primary node\d never had", refused["reason"]), refused
    assert 666 not in ids_on(cluster, new, table)
    assert writable_nodes(cluster) == [new]


@pytest.mark.parametrize("strict", [False, True], ids=["held", "gets-them-back"])
def test_old_primary_lost_transactions_of_its_own(start_halyard, tmp_path, request, strict):
    """An old primary killed while a commit its replicas had already received
    waited for an acknowledgement: crash recovery as a semi-sync replica
    (init_rpl_role = SLAVE, MDEV-21117) drops that commit from its binlog,
    while the promoted replica applied it. As a replica from its own last
    GTID, it skips that commit as its own server_id's, silently (replication
    runs, the positions agree, the row is missing), unless it is a semi-sync
    replica in gtid_strict_mode, which applies it (MDEV-27760). Without
    gtid_strict_mode halyard holds it fenced; with it, it rejoins and has
    the row again. A cluster of its own (semi-sync, init_rpl_role = SLAVE)."""
    base = f"/tmp/halyard-test-{os.geteuid()}-{TEST_PORT}-lostown"
    opts = ["--init-rpl-role=SLAVE"] + ([] if strict else ["--gtid-strict-mode=0"])
    c = Cluster(base, TEST_PORT + 90, semisync=True, mysqld_opts=opts)
    c.destroy()
    c.start()
    request.addfinalizer(c.destroy)
    table = make_table(c)
    c.sql(0, f"INSERT INTO {table} (id, w) VALUES (1, 0)")
    # The replicas receive and apply, but no longer acknowledge: node0's next
    # commit is in its binlog and on the replicas, and waits.
    for i in c.replicas:
        c.sql(i, "STOP SLAVE IO_THREAD")
        c.sql(i, "SET GLOBAL rpl_semi_sync_slave_enabled = OFF")
        c.sql(i, "START SLAVE IO_THREAD")
    c.sql(0, "SET GLOBAL rpl_semi_sync_master_wait_no_slave = ON")
    c.sql(0, "SET GLOBAL rpl_semi_sync_master_timeout = 600000")
    conf = failover_settings(tmp_path, auto_rejoin=True)
    conf["backends"] = [{"name": n["name"], "address": "127.0.0.1", "port": n["port"],
                         "role": n["role"]} for n in c.nodes]
    h = start_halyard(conf)

    def waiting_commit():
        try:
            c.sql(0, f"INSERT INTO {table} (id, w) VALUES (2, 0)")
        except pymysql.MySQLError:
            pass  # killed while it waits
    threading.Thread(target=waiting_commit, daemon=True).start()
    for i in c.replicas:
        wait_until(lambda: 2 in ids_on(c, i, table), 10, what=f"row 2 on node{i}")
    assert c.sql(0, "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                    "WHERE STATE LIKE 'Waiting for semi-sync ACK%'")[0][0] == 1
    kill_now(c, 0)
    wait_until(lambda: len(writable_nodes(c)) == 1, 15, what="a new primary")
    new = writable_nodes(c)[0]
    wait_until(lambda: h.sql(f"INSERT INTO {table} (id, w) VALUES (3, 0)") is not None, 10)
    c.start_node(0)
    with open(c.error_log(0)) as f:
        assert "to remove transactions starting from GTID" in f.read(), \
            "node0's crash recovery did not drop the waiting commit"
    wait_until(lambda: c.value(0, "SELECT @@read_only") == 1, 10,
               what="the old primary to be set read_only")
    audit = conf["audit_log"]
    if not strict:
        h.wait_log(rf"node0 lost transactions of its own that primary node{new} has", timeout=15)
        assert c.slave_status(0) == {}
        held = wait_audit(audit, "rejoin", backend="node0")
        assert not held["ok"] and held["to"] == held["from"] == "read_only outside replication"
        assert "rpl_semi_sync_slave_enabled and gtid_strict_mode" in held["reason"], held
        events = admin_json(conf["admin_socket"], "show events")["events"]
        ev = [e for e in events if e["event"] == "fenced" and e["backend"] == "node0"
              and e["new"] == "held (lost transactions of its own)"]
        assert ev and "would skip them" in ev[0]["reason"], events
        b = {x["name"]: x for x in json.loads(ctl(conf["admin_socket"], "-j", "show",
                                                   "backends").stdout)["backends"]}
        assert b["node0"]["fenced"] and b["node0"]["state"] != "ONLINE", b["node0"]
        # What it was held for: the row its replication would have skipped.
        assert 2 in ids_on(c, new, table) and 2 not in ids_on(c, 0, table)
        assert writable_nodes(c) == [new]
        return
    wait_until(lambda: c.slave_status(0).get("Slave_IO_Running") == "Yes", 15,
               what="the old primary to replicate from the new one")
    rj = wait_audit(audit, "rejoin", backend="node0")
    assert rj["ok"] and "gets back the transactions of its own" in rj["reason"], rj
    h.sql(f"INSERT INTO {table} (id, w) VALUES (4, 0)")
    pos = c.value(new, "SELECT @@gtid_binlog_pos")
    assert c.value(0, "SELECT MASTER_GTID_WAIT(%s, 10)", (pos,)) == 0
    assert ids_on(c, 0, table) == ids_on(c, new, table) == {1, 2, 3, 4}


@pytest.mark.parametrize("when", ["refused", "down"])
def test_a_login_during_a_failover_waits_for_the_new_primary(cluster, start_halyard, tmp_path,
                                                             when):
    """A login that names a schema needs the primary. During a failover it
    waits for the new one (failover_write_wait_ms), as a write does, instead
    of failing: right after the kill, when its connect is refused before
    the monitor has seen anything (refused), and once the primary is DOWN
    and not yet replaced (down; failover_delay_ms widens that window)."""
    table = make_table(cluster)
    h = start_halyard(failover_settings(tmp_path, failover_delay_ms=1500,
                                        failover_write_wait_ms=15000))
    h.sql(f"INSERT INTO {table} (id, w) VALUES (1, 0)")
    kill_now(cluster, 0)
    if when == "down":
        h.wait_log(r"backend node0: ONLINE -> DOWN", timeout=10)
        assert writable_nodes(cluster) == []
    t0 = time.monotonic()
    c = h.connect(database="fo", autocommit=True, connect_timeout=20, read_timeout=20)
    waited = time.monotonic() - t0
    assert q(c, "SELECT DATABASE()") == (("fo",),)
    new = writable_nodes(cluster)
    assert len(new) == 1 and new[0] != 0, new
    q(c, f"INSERT INTO {table} (id, w) VALUES (2, 0)")
    assert 2 in ids_on(cluster, new[0], table)
    assert ("the login waits for a usable primary (failover_write_wait_ms, 15000 ms)"
            in h.log_text())
    print(f"\nlogin during failover ({when}): logged in after {waited:.2f} s")


def test_failover_command(cluster, start_halyard, tmp_path):
    """failover = off: nothing is promoted on its own; `halyardctl failover`
    does it, and refuses while the primary is up."""
    table = make_table(cluster)
    conf = failover_settings(tmp_path, failover="off")
    h = start_halyard(conf)
    r = ctl(conf["admin_socket"], "failover")
    assert r.returncode == 1 and r.stdout.startswith("ERR failover failed"), r.stdout
    cluster.kill(0)
    h.wait_log(r"backend node0: ONLINE -> DOWN", timeout=10)
    with pytest.raises(pymysql.MySQLError):  # off: no wait, no promotion
        h.sql(f"INSERT INTO {table} (id, w) VALUES (1, 0)")
    assert writable_nodes(cluster) == []
    r = ctl(conf["admin_socket"], "failover")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("OK failover done") and "promoted" in r.stdout, r.stdout
    new = writable_nodes(cluster)
    assert len(new) == 1
    wait_until(lambda: h.sql(f"INSERT INTO {table} (id, w) VALUES (2, 0)") is not None, 10,
               what="a write through halyard")
    assert 2 in ids_on(cluster, new[0], table)
    audit = conf["audit_log"]
    fos = wait_until(lambda: (lambda r: r if len(r) == 2 else None)(audit_records(audit, "failover")),
                     what="two failover records")
    assert [(r["trigger"], r["ok"]) for r in fos] == [("admin", False), ("admin", True)], fos
    assert fos[0]["to"] == "node0" and "use switchover" in fos[0]["result"], fos[0]
    assert (fos[1]["from"], fos[1]["to"]) == ("node0", f"node{new[0]}"), fos[1]
    down = wait_audit(audit, "backend_state", backend="node0", to="DOWN")
    assert down["from"] == "ONLINE", down


def test_switchover_rolls_back(cluster, start_halyard, tmp_path):
    """A replica that cannot catch up within switchover_timeout_ms: the
    primary is made writable again, the command fails, writes go on."""
    table = make_table(cluster)
    conf = failover_settings(tmp_path, switchover_timeout_ms=500)
    h = start_halyard(conf)
    cluster.delay(2, 30)
    h.sql(f"INSERT INTO {table} (id, w) VALUES (1, 0)")  # node2 applies it 30 s late
    r = ctl(conf["admin_socket"], "switchover", "to", "node2")
    assert r.returncode == 1, r.stdout
    assert "did not reach" in r.stdout, r.stdout
    assert writable_nodes(cluster) == [0]
    assert cluster.value(2, "SELECT @@read_only") == 1
    assert cluster.slave_status(2)["Master_Port"] == cluster.primary_port
    h.sql(f"INSERT INTO {table} (id, w) VALUES (2, 0)")
    assert {1, 2} <= ids_on(cluster, 0, table)
    assert "rolled back: node0 is writable again" in h.log_text()
    sw = wait_audit(conf["audit_log"], "switchover")
    assert not sw["ok"] and (sw["from"], sw["to"], sw["backend"]) == ("node0", "node0", "node2"), sw
    assert sw["result"] == "rolled back: node0 is writable again", sw
    assert any("did not reach" in st for st in sw["steps"]), sw["steps"]
    roles = [(r["backend"], r["to"], r["reason"]) for r in audit_records(conf["audit_log"], "backend_role")]
    assert roles == [("node0", "replica", "switchover: writes paused"),
                     ("node0", "primary", "switchover rolled back")], roles


def test_switchover_pauses_prepared_writes_as_text_ones(cluster, start_halyard, tmp_path):
    """A switchover pauses new writes until the new primary is promoted: an
    autocommit write sent while they are paused runs on the new primary,
    whether it comes as text or as a prepared statement's execution. The
    pause is held open by a transaction on the old primary (the switchover
    waits up to 2 s for it); each write records the server that ran it.
    Before the fix, the execution skipped the health gate that holds text
    writes and ran on the old primary during the pause (or got its 1290
    once it was read_only)."""
    from rawmysql import RawConn
    from test_ps import execute, prepare
    table = make_table(cluster)
    conf = failover_settings(tmp_path)
    h = start_halyard(conf)
    new_id = cluster.value(2, "SELECT @@server_id")
    old_id = cluster.value(0, "SELECT @@server_id")
    c = RawConn("127.0.0.1", h.port, timeout=60)
    c.login(APP_USER, APP_PASSWORD, db="fo")
    stmt, nparams, _ = prepare(c, f"INSERT INTO {table} VALUES (?, @@server_id)")
    assert nparams == 1
    params = lambda v: b"\x00\x01\x08\x00" + v.to_bytes(8, "little")  # noqa: E731
    execute(c, stmt, params=params(1))  # the statement is known on the old primary
    holder = h.connect()
    holder.autocommit(False)
    with holder.cursor() as cur:
        cur.execute(f"INSERT INTO {table} VALUES (100, @@server_id)")
    out = {}
    t = threading.Thread(target=lambda: out.update(r=ctl(conf["admin_socket"], "switchover", "to",
                                                          "node2")))
    t.start()
    try:
        wait_until(lambda: "writes paused" in h.log_text(), 10, what="the switchover's pause")
        got = {}

        def text_write():
            with h.connect() as tc, tc.cursor() as cur:
                cur.execute(f"INSERT INTO {table} VALUES (3, @@server_id)")
                got["text"] = True
        tt = threading.Thread(target=text_write)
        tt.start()
        try:
            execute(c, stmt, params=params(2))
            got["prepared"] = True
        except Exception as e:  # noqa: BLE001
            got["prepared"] = repr(e)
        tt.join(30)
    finally:
        t.join(60)
        holder.close()
    assert out["r"].returncode == 0 and "node2 promoted" in out["r"].stdout, out["r"].stdout
    assert got == {"text": True, "prepared": True}, got
    ran = dict(cluster.sql(2, f"SELECT id, w FROM {table} WHERE id IN (1, 2, 3)"))
    assert ran == {1: old_id, 2: new_id, 3: new_id}, (ran, old_id, new_id)
