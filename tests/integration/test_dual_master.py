"""cluster = "dual-master": halyard in front of two MariaDB servers that
replicate from each other (tools/cluster --dual-master --semisync: node0
the active, node1 the standby, node2 the witness; fixtures `dual` and
`start_dual_halyard`).

- writes go to the active only, reads to the standby
- kill -9 of the active under insert load: the standby takes writes, and
  every acknowledged write is on it
- the old active comes back writable (its my.cnf says read_only=0): it is
  fenced read_only and is the standby again, and the active replicates
  from it again; with errant transactions it stays fenced, out of traffic
- switchover under load fails no statement, both ways
- two halyards: one promotes, both write to the same server, before and
  after the old active returns
"""
import glob
import os
import re
import signal
import subprocess
import threading
import time

import pymysql
import pytest

from test_failover import Load, ctl, failover_settings, ids_on, kill_now
from util import admin_json, wait_audit, wait_until, backends

MONITOR = {"user": "monitor", "password": "monitor", "interval_ms": 200, "timeout_ms": 1000,
           "rise": 2, "fall": 2}


def start(start_dual_halyard, tmp_path, **kw):
    conf = failover_settings(tmp_path, monitor=MONITOR, failover_delay_ms=500,
                             failover_write_wait_ms=10000, consistency="eventual")
    conf.pop("replication_user")  # nothing is ever repointed
    conf.pop("replication_password_env")
    conf.update(kw)
    h = start_dual_halyard(conf)
    h.admin_socket = conf["admin_socket"]
    wait_until(lambda: roles(h) == {"node0": "primary", "node1": "replica"}, 10,
               what="node0 the active, node1 the standby")
    return h, conf


def roles(h):
    return {n: b["role"] for n, b in backends(h.admin_socket).items()}


def make_table(dual, name):
    """A table whose rows say which server ran their INSERT: the trigger
    runs only where the statement runs (row-based replication carries the
    row as written)."""
    dual.sql(0, "CREATE DATABASE IF NOT EXISTS dm")
    dual.sql(0, "GRANT ALL ON dm.* TO 'app'@'%'")
    dual.sql(0, f"DROP TABLE IF EXISTS dm.{name}")
    dual.sql(0, f"CREATE TABLE dm.{name} (id BIGINT PRIMARY KEY, w INT NOT NULL, sid INT)")
    dual.sql(0, f"CREATE TRIGGER dm.{name}_sid BEFORE INSERT ON dm.{name} FOR EACH ROW "
                "SET NEW.sid = @@server_id")
    dual.sync()
    return f"dm.{name}"


def read_only(dual, i):
    return dual.value(i, "SELECT @@read_only")


def writer_sid(h, table, row):
    h.sql(f"INSERT INTO {table} (id, w) VALUES (%s, 0)", (row,))
    return h.sql(f"SELECT sid FROM {table} WHERE id = %s FOR UPDATE", (row,))[0][0]


def test_writes_to_the_active_reads_from_the_standby(start_dual_halyard, dual, tmp_path):
    h, _ = start(start_dual_halyard, tmp_path)
    table = make_table(dual, "rw")
    assert writer_sid(h, table, 1) == dual.server_id(0)
    c = h.connect()
    with c.cursor() as cur:
        ports = set()
        for _ in range(20):
            cur.execute("SELECT @@port")
            ports.add(cur.fetchone()[0])
    c.close()
    assert ports == {dual.port(1)}
    b = backends(h.admin_socket)
    assert (b["node0"]["state"], b["node1"]["state"]) == ("ONLINE", "ONLINE"), b


def kill_active_under_load(dual, h, table):
    with Load(h, table) as load:
        wait_until(lambda: load.count() >= 50, 10, what="the load to get going")
        t_kill = kill_now(dual, 0)
        first = wait_until(lambda: load.first_ack_sent_after(t_kill), 30,
                           what="a write through halyard after the kill")
        n = load.count()
        wait_until(lambda: load.count() >= n + 50, 10, what="writes to go on")
    elapsed = first - t_kill
    print(f"\ndual-master failover: first write {elapsed:.3f} s after kill -9 of the active")
    return elapsed, load


def divergence(dual, table, h=None):
    """What differs between the pair's rows, and why: each missing row's
    server, the GTID it has in the binlog that holds it, both servers'
    GTID positions, their error logs' recovery lines and halyard's rejoin
    lines. Empty when the pair agrees."""
    rows = [dict(dual.sql(i, f"SELECT id, sid FROM {table}")) for i in (0, 1)]
    only = [sorted(set(rows[i]) - set(rows[1 - i])) for i in (0, 1)]
    if not only[0] and not only[1]:
        return ""
    out = [f"only on node0: {only[0][:20]}", f"only on node1: {only[1][:20]}"]
    for i in (0, 1):
        for v in ("gtid_binlog_state", "gtid_binlog_pos", "gtid_slave_pos", "gtid_current_pos"):
            out.append(f"node{i} {v} = {dual.value(i, 'SELECT @@' + v)}")
        out.append(f"node{i} slave: " + str({k: dual.slave_status(i).get(k) for k in (
            "Slave_IO_Running", "Slave_SQL_Running", "Using_Gtid", "Gtid_IO_Pos",
            "Last_SQL_Error", "Last_IO_Error")}))
    for i in (0, 1):
        for rid in only[1 - i][:4]:
            out.append(f"row {rid} (sid {rows[1 - i][rid]}) missing on node{i}: "
                       + binlog_gtid_of(dual, 1 - i, rid))
        n = dual.layout["nodes"][i]
        try:
            with open(n["error_log"], errors="replace") as f:
                lines = f.read().splitlines()
            keep = [x for x in lines if re.search(r"truncat|recover|semi|GTID|Slave|Master|starting",
                                                  x, re.I)]
            out += [f"node{i} log: {x}" for x in keep[-25:]]
        except OSError as e:
            out.append(f"node{i} error log: {e}")
    if h is not None:
        out += ["halyard: " + x for x in h.log_text().splitlines()
                if re.search(r"rejoin|fence|lost|errant|standby|failover|promot", x)][-30:]
    return "\n".join(out)


def binlog_gtid_of(dual, i, rid):
    """The GTID of the transaction that wrote row `rid` in node i's binlogs."""
    n = dual.layout["nodes"][i]
    files = sorted(glob.glob(os.path.join(n["datadir"], "binlog.[0-9]*")))
    try:
        text = subprocess.run(["mariadb-binlog", "-v", "--base64-output=DECODE-ROWS", *files],
                              capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as e:
        return f"(mariadb-binlog: {e})"
    gtid = None
    for line in text.splitlines():
        m = re.search(r"GTID (\d+-\d+-\d+)", line)
        if m:
            gtid = m.group(1)
        elif re.search(rf"@1={rid}\b", line):
            return f"GTID {gtid}"
    return "not in its binlogs"


def test_kill_active_under_load(start_dual_halyard, dual, tmp_path):
    h, conf = start(start_dual_halyard, tmp_path)
    table = make_table(dual, "kill")
    sid0, sid1 = dual.server_id(0), dual.server_id(1)
    elapsed, load = kill_active_under_load(dual, h, table)
    assert elapsed < 5, elapsed
    # Every acknowledged write is on the new active (semi-sync AFTER_SYNC:
    # the standby had each in its relay log before the client got its OK).
    assert load.ids() <= ids_on(dual, 1, table)
    assert read_only(dual, 1) == 0
    assert roles(h)["node1"] == "primary"
    # Rows written after the promotion ran on node1.
    sids = dict(dual.sql(1, f"SELECT id, sid FROM {table}"))
    assert {sids[i] for i in load.ids()} == {sid0, sid1}
    done = wait_audit(conf["audit_log"], "failover", ok=True)
    assert (done["from"], done["to"]) == ("node0", "node1"), done
    assert any("has applied" in s for s in done["steps"]), done["steps"]
    assert any("STOP SLAVE" in s and "read_only = 0" in s for s in done["steps"]), done["steps"]
    # No repointing: node1 still has node0 as its source (stopped until it is checked).
    st = dual.slave_status(1)
    assert st["Master_Port"] == dual.port(0) and st["Slave_IO_Running"] == "No", st


def test_killed_active_is_replaced_without_the_delay(start_dual_halyard, dual, tmp_path):
    """kill -9 of the active: its port refuses halyard's checks and the
    standby's IO thread lost it too, so no partition is possible and the
    standby is promoted well before failover_delay_ms (3 s here)."""
    h, conf = start(start_dual_halyard, tmp_path, failover_delay_ms=3000)
    table = make_table(dual, "gone")
    elapsed, load = kill_active_under_load(dual, h, table)
    assert elapsed < 1.5, elapsed
    assert load.ids() <= ids_on(dual, 1, table)
    assert roles(h)["node1"] == "primary"
    done = wait_audit(conf["audit_log"], "failover", ok=True)
    assert (done["from"], done["to"]) == ("node0", "node1"), done


def test_silent_active_still_waits_the_delay(start_dual_halyard, dual, tmp_path):
    """An active that takes connections but never answers (SIGSTOP: the
    checks time out, as across a partition) is not promoted over before
    failover_delay_ms has passed from its DOWN, even with the standby's IO
    thread stopped."""
    h, conf = start(start_dual_halyard, tmp_path, failover_delay_ms=3000)
    dual.sql(1, "STOP SLAVE IO_THREAD")
    pid = int(open(dual.node(0)["pid_file"]).read().strip())
    os.kill(pid, signal.SIGSTOP)
    try:
        t_stop = time.monotonic()
        wait_until(lambda: backends(h.admin_socket)["node0"]["state"] == "DOWN", 10,
                   what="node0 DOWN")
        t_down = time.monotonic()
        wait_until(lambda: roles(h).get("node1") == "primary", 15, what="node1 promoted")
        t_promoted = time.monotonic()
    finally:
        os.kill(pid, signal.SIGCONT)
    print(f"\nsilent active: DOWN {t_down - t_stop:.3f} s, promoted {t_promoted - t_stop:.3f} s "
          "after SIGSTOP")
    assert t_promoted - t_down >= 2.5, (t_down - t_stop, t_promoted - t_stop)
    done = wait_audit(conf["audit_log"], "failover", ok=True)
    assert (done["from"], done["to"]) == ("node0", "node1"), done


def test_old_active_returns_as_standby(start_dual_halyard, dual, tmp_path):
    h, conf = start(start_dual_halyard, tmp_path)
    table = make_table(dual, "back")
    _, load = kill_active_under_load(dual, h, table)
    # The old active starts with read_only=0, as its my.cnf says.
    dual.start_node(0)
    wait_until(lambda: read_only(dual, 0) == 1, 10, what="node0 fenced read_only")

    # Killed while commits node1 had already received waited for node1's
    # acknowledgement, node0 drops them at crash recovery (init_rpl_role =
    # SLAVE) while node1 applied them at promotion. Its slave position may
    # count them as received (they came back from node1 before the kill):
    # halyard starts its replication (it runs with skip-slave-start) from
    # what its binlog holds, and a semi-sync replica in gtid_strict_mode
    # applies them, so it is the standby again with every row node1 has.
    def settled():
        b = backends(h.admin_socket)["node0"]
        return b["state"] == "ONLINE" and not b.get("fenced")
    wait_until(settled, 15, what="node0 the standby again")
    assert "stays fenced" not in h.log_text()
    lost = re.search(r"node0: gtid_slave_pos (\S+) -> (\S+):", h.log_text())
    print("\nnode0 " + (f"rewound its slave position: {lost.group(0)}" if lost
                        else "kept its slave position"))
    # The active replicates from it again, and it from the active.
    wait_until(lambda: dual.slave_status(1).get("Slave_IO_Running") == "Yes", 10,
               what="node1 replicating from node0 again")
    assert roles(h) == {"node0": "replica", "node1": "primary"}
    assert read_only(dual, 1) == 0
    dual.sync(source=1)
    assert not divergence(dual, table, h), divergence(dual, table, h)
    assert ids_on(dual, 1, table) >= load.ids()
    # Writes still go to node1, reads to node0.
    assert writer_sid(h, table, 7) == dual.server_id(1)
    assert h.sql("SELECT @@port")[0][0] == dual.port(0)
    fence = wait_audit(conf["audit_log"], "fence", ok=True)
    assert fence["backend"] == "node0" and fence["to"] == "read_only", fence
    rejoin = wait_audit(conf["audit_log"], "rejoin", ok=True)
    assert rejoin["backend"] == "node0" and "standby of node1" in rejoin["reason"], rejoin


def test_old_active_with_errant_transactions_stays_fenced(start_dual_halyard, dual, tmp_path):
    h, conf = start(start_dual_halyard, tmp_path)
    table = make_table(dual, "errant")
    # node1 stops receiving; node0 commits a transaction node1 never gets.
    dual.sql(1, "STOP SLAVE IO_THREAD")
    dual.sql(0, f"INSERT INTO {table} (id, w) VALUES (99, 9)")
    kill_now(dual, 0)
    wait_until(lambda: read_only(dual, 1) == 0, 15, what="node1 promoted")
    dual.start_node(0)
    wait_until(lambda: read_only(dual, 0) == 1, 10, what="node0 fenced read_only")
    h.wait_log(r"node0 has transactions the active node1 never had \(errant\)", timeout=10)
    b = backends(h.admin_socket)["node0"]
    assert b["role"] == "replica" and b["state"] != "ONLINE", b
    # node1 does not take node0's transaction, nor any read goes to node0.
    time.sleep(1)  # the monitor's next rounds: nothing must change
    assert dual.slave_status(1).get("Slave_IO_Running") == "No"
    assert 99 not in ids_on(dual, 1, table)
    assert all(h.sql("SELECT @@port")[0][0] == dual.port(1) for _ in range(10))
    held = wait_audit(conf["audit_log"], "rejoin", ok=False)
    assert "errant" in held["reason"], held


def test_switchover_under_load(start_dual_halyard, dual, tmp_path):
    h, conf = start(start_dual_halyard, tmp_path)
    table = make_table(dual, "sw")
    with Load(h, table) as load:
        wait_until(lambda: load.count() >= 50, 10, what="the load to get going")
        t1 = time.monotonic()
        r1 = ctl(conf["admin_socket"], "switchover", "to", "node1")
        t1_done = time.monotonic()
        n = load.count()
        wait_until(lambda: load.count() >= n + 50, 10, what="writes after the switchover")
        t2 = time.monotonic()
        r2 = ctl(conf["admin_socket"], "switchover")
        t2_done = time.monotonic()
        n = load.count()
        wait_until(lambda: load.count() >= n + 50, 10, what="writes after switching back")
    for r in (r1, r2):
        assert r.returncode == 0 and r.stdout.startswith("OK switchover done"), r.stdout + r.stderr
    assert load.errors == [], f"{len(load.errors)} failed statements: {load.errors[:5]}"
    assert (read_only(dual, 0), read_only(dual, 1)) == (0, 1)
    assert roles(h) == {"node0": "primary", "node1": "replica"}
    for i in (0, 1):
        st = dual.slave_status(i)
        assert st["Slave_IO_Running"] == "Yes" and st["Slave_SQL_Running"] == "Yes", (i, st)
    dual.sync()
    assert load.ids() <= ids_on(dual, 1, table) == ids_on(dual, 0, table)
    # Rows ran on node0, then node1, then node0: never on both at once. A
    # write answered before a switchover began ran on the old primary, one
    # sent after it was done on the new; one in flight across it on either.
    # (Ordering the writes by when their answers came, with a tolerance for
    # the writers' interleaving, measured the machine's load: 6 changes
    # where 5 were allowed, under make check's two workers a suite.)
    by_id = dict(dual.sql(0, f"SELECT id, sid FROM {table}"))
    with load.lock:
        acked = list(load.acked)
    s0, s1 = dual.server_id(0), dual.server_id(1)
    want = [(lambda sent, done: done < t1, s0),
            (lambda sent, done: sent > t1_done and done < t2, s1),
            (lambda sent, done: sent > t2_done, s0)]
    for phase, (inside, sid) in enumerate(want):
        ran = {by_id[row] for row, sent, done in acked if inside(sent, done)}
        assert ran == {sid}, (phase, ran, sid)
    assert {by_id[a[0]] for a in acked} == {s0, s1}


def test_two_halyards_never_both_write(start_dual_halyard, dual, tmp_path):
    h1, c1 = start(start_dual_halyard, tmp_path)
    h2, c2 = start(start_dual_halyard, tmp_path)
    table = make_table(dual, "two")
    stop = threading.Event()
    seen = []  # (time, node0 read_only, node1 read_only) while both run

    def sample():
        while not stop.is_set():
            row = []
            for i in (0, 1):
                try:
                    row.append(read_only(dual, i))
                except pymysql.MySQLError:
                    row.append(None)
            seen.append((time.monotonic(), *row))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        with Load(h1, table, writers=2) as l1, Load(h2, table, writers=2, first_writer=3) as l2:
            wait_until(lambda: l1.count() >= 20 and l2.count() >= 20, 10,
                       what="load through both halyards")
            t_kill = kill_now(dual, 0)
            for load in (l1, l2):
                wait_until(lambda load=load: load.first_ack_sent_after(t_kill), 30,
                           what="writes through both halyards after the kill")
            dual.start_node(0)  # back writable: fenced by whichever halyard sees it first
            wait_until(lambda: read_only(dual, 0) == 1, 10, what="node0 fenced")

            # Killed under load, node0 may have dropped commits of its own
            # node1 had applied (test_old_active_returns_as_standby): it gets
            # them back, and both halyards agree it is the standby; neither
            # serves a read from it before it has them (monitor.c,
            # dual_lost_check).
            def standby(h):
                b = backends(h.admin_socket)["node0"]
                return b["state"] == "ONLINE" and not b.get("fenced")
            wait_until(lambda: standby(h1) and standby(h2), 20,
                       what="node0 the standby in both halyards")
            time.sleep(2)  # and it stays so
            assert standby(h1) and standby(h2)
            for h in (h1, h2):
                assert "stays fenced" not in h.log_text()
            n1, n2 = l1.count(), l2.count()
            wait_until(lambda: l1.count() >= n1 + 30 and l2.count() >= n2 + 30, 10,
                       what="writes go on through both")
    finally:
        stop.set()
        sampler.join()
    promoted = [h for h in (h1, h2) if "failover done" in h.log_text()]
    assert len(promoted) == 1, "exactly one halyard promoted node1"
    for h in (h1, h2):
        assert roles(h) == {"node0": "replica", "node1": "primary"}
    # Every write acknowledged after the kill ran on node1, through either.
    by_id = dict(dual.sql(1, f"SELECT id, sid FROM {table}"))
    for load in (l1, l2):
        late = [a[0] for a in load.acked if a[1] > t_kill]
        assert late and {by_id[i] for i in late} == {dual.server_id(1)}
        assert load.ids() <= set(by_id)
    dual.sync(source=1)
    assert not divergence(dual, table, h1), divergence(dual, table, h1)
    # Both writable only while node0 was just back and not fenced yet (its
    # own my.cnf), and no halyard wrote there: checked above.
    both = [s for s in seen if s[1] == 0 and s[2] == 0]
    assert all(s[0] > t_kill for s in both), both[:3]
    print(f"\nboth servers writable (node0 just restarted) for {len(both)} samples of 20 ms")


def test_active_cut_off_is_fenced_until_the_majority_is_back(start_dual_halyard, dual, tmp_path):
    """halyard reaches the active but neither the standby nor the witness:
    the other side could promote the standby, so the active is made
    read-only (fence_cut_off_primary); when they are back and nobody was
    promoted, it takes writes again."""
    h, conf = start(start_dual_halyard, tmp_path, fence_cut_off_primary="always",
                    failover_write_wait_ms=300)
    table = make_table(dual, "cut")
    dual.kill(1)
    dual.kill(2)
    wait_until(lambda: read_only(dual, 0) == 1, 10, what="node0 fenced while cut off")
    try:
        h.sql(f"INSERT INTO {table} (id, w) VALUES (1, 0)")
        raise AssertionError("a write went through while the active was cut off")
    except pymysql.MySQLError as e:
        assert e.args[0] != 1290, e  # halyard's refusal, not the server's
    h.wait_log(r"reaches the primary node0 but only 1 of the 3 servers", timeout=5)
    dual.start_node(1)
    dual.start_node(2)
    wait_until(lambda: read_only(dual, 0) == 0, 15, what="node0 writable again")
    wait_until(lambda: roles(h)["node0"] == "primary" and not backends(h.admin_socket)["node0"]["fenced"], 10,
               what="node0 the active in halyard again")
    assert writer_sid(h, table, 2) == dual.server_id(0)
    assert read_only(dual, 1) == 1
    unfence = wait_audit(conf["audit_log"], "unfence", ok=True)
    assert unfence["backend"] == "node0", unfence
    # node1 came back with its replication stopped (skip-slave-start):
    # halyard started it, and node0's from it.
    wait_until(lambda: dual.slave_status(1).get("Slave_IO_Running") == "Yes", 10,
               what="node1 replicating from node0 again")
    rejoin = wait_audit(conf["audit_log"], "rejoin", ok=True)
    assert rejoin["backend"] == "node1", rejoin
    dual.sync()


def write_as(dual, node, server_id, sql):
    """Run `sql` on a node under another server_id (as a crash leaves it: a
    commit of that server's that it lost and this one has)."""
    conn = dual.root_connect(node)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SET SESSION server_id = {server_id}")
            cur.execute(sql)
        conn.commit()
    finally:
        conn.close()


def q_sid(c):
    with c.cursor() as cur:
        cur.execute("SELECT @@server_id")
        return cur.fetchone()[0]


@pytest.mark.parametrize("strict", [0, 1])
def test_a_standby_lacking_a_transaction_of_its_own_gets_no_reads(start_dual_halyard, dual,
                                                                   tmp_path, strict):
    """A transaction with the standby's server_id that the active has and
    the standby lacks: what a crash leaves when recovery drops a commit the
    other server applied (test_old_active_returns_as_standby), made here by
    writing on the active under the standby's server_id. With
    gtid_strict_mode off the standby's replication skips it as its own, and
    every halyard's monitor takes it out of traffic (not only the one whose
    failover thread would hold it fenced), for good, whatever the active
    writes after. With gtid_strict_mode and semi-sync replica mode on,
    MariaDB applies it (MDEV-27760) and the standby serves on."""
    h, _ = start(start_dual_halyard, tmp_path)
    table = make_table(dual, "lost")
    sid0, sid1 = dual.server_id(0), dual.server_id(1)
    old = dual.value(1, "SELECT @@GLOBAL.gtid_strict_mode")
    dual.sql(1, f"SET GLOBAL gtid_strict_mode = {strict}")
    c = h.connect(autocommit=True)
    try:
        wait_until(lambda: backends(h.admin_socket)["node1"]["state"] == "ONLINE", 10, what="node1 ONLINE")
        write_as(dual, 0, sid1, f"INSERT INTO {table} (id, w) VALUES (1, 0)")
        dual.sql(0, f"INSERT INTO {table} (id, w) VALUES (2, 0)")  # past its position again
        wait_until(lambda: 2 in ids_on(dual, 1, table), 10, what="node1 has row 2")
        if strict == 0:
            assert ids_on(dual, 0, table) - ids_on(dual, 1, table) == {1}
            wait_until(lambda: backends(h.admin_socket)["node1"]["state"] != "ONLINE", 10,
                       what="node1 out of traffic")
            assert re.search(r"backend node1: ONLINE -> LAGGING: lost transactions of its own "
                             r"that the active node0 has", h.log_text())
            for _ in range(6):
                assert q_sid(c) == sid0
            dual.sql(0, f"INSERT INTO {table} (id, w) VALUES (3, 0)")
            time.sleep(1)
            assert backends(h.admin_socket)["node1"]["state"] != "ONLINE"
        else:
            assert 1 in ids_on(dual, 1, table)
            wait_until(lambda: backends(h.admin_socket)["node1"]["state"] == "ONLINE", 10,
                       what="node1 serves on")
            wait_until(lambda: q_sid(c) == sid1, 10, what="a read on node1")
    finally:
        if strict == 0:
            dual.rebuild()  # node1 lacks row 1 for good
        else:
            dual.sql(1, f"SET GLOBAL gtid_strict_mode = {old}")
