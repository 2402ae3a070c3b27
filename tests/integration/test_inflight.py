"""An autocommit write or a COMMIT in flight when the primary dies: halyard
finds in the new primary's binary log whether it committed
(resolve_in_flight_writes), with real kills of the primary.

    semi-sync, the replicas receive but no longer acknowledge: an INSERT
    and a transaction's COMMIT wait on the primary for an acknowledgement,
    the primary is killed: both are in the new primary's binary log, so
    both clients get their OK, and each row is there once; with them an
    UPDATE that matches 2 rows and changes 1, a 2-row INSERT with
    AUTO_INCREMENT and an INSERT ... ON DUPLICATE KEY UPDATE that updates:
    each client gets the affected rows and insert id the server answered
    directly for the same statement (read from the row events)
    semi-sync, an UPDATE waiting on a row lock when the primary is killed
    (it never committed): it runs once on the new primary and its client
    gets that answer (1 row), the row changed once; the new primary's
    binary log holds 6 MiB of statements before it, read row by row
    asynchronous replication, the same UPDATE: not found, and nothing
    proves it did not commit: error 1180 saying the outcome is unknown
    semi-sync, a COMMIT waiting for an acknowledgement no replica can give
    (they stopped receiving): not committed, so its transaction runs again
    on the new primary (transaction_replay) and the client gets its OK
    after each of those failovers, a failover_sessions event naming its
    failover_done counts what the sessions went through
    a switchover, and a rolling restart of every server (drain, restart,
    online; the primary switched over first), under a mixed load: no
    client error, every acknowledged row there once
"""

import os
import threading
import time

import pymysql
import pytest

from test_failover import failover_settings, kill_now, writable_nodes
from test_ops import admin_json
from conftest import TEST_PORT
from util import Cluster, wait_until

TABLE = "fi.t"


def own_cluster(request, name, semisync, offset, mysqld_opts=()):
    base = f"/tmp/halyard-test-{os.geteuid()}-{TEST_PORT}-{name}"
    c = Cluster(base, TEST_PORT + offset, semisync=semisync, mysqld_opts=mysqld_opts)
    c.destroy()
    c.start()
    request.addfinalizer(c.destroy)
    c.sql(0, "CREATE DATABASE IF NOT EXISTS fi")
    # no unique key: a write run twice would show as two rows
    c.sql(0, f"CREATE TABLE {TABLE} (id BIGINT NOT NULL, v INT NOT NULL, KEY (id))")
    c.sql(0, f"INSERT INTO {TABLE} VALUES (1, 10), (2, 20)")
    c.sync()
    return c


def start(c, start_halyard, tmp_path, **extra):
    conf = failover_settings(tmp_path, resolve_in_flight_writes=True, replay_timeout_ms=20000,
                             **extra)
    conf["backends"] = [{"name": n["name"], "address": "127.0.0.1", "port": n["port"],
                         "role": n["role"]} for n in c.nodes]
    h = start_halyard(conf)
    # a check of each backend has finished: the writes below come after it
    wait_until(lambda: all(b["state"] == "ONLINE" and b["last_check"] == "ok" for b in
                           admin_json(conf["admin_socket"], "show backends")["backends"]), 10,
               what="every backend checked")
    return conf, h


def without_acknowledgements(c, replicas, primary=0):
    """`replicas` receive and apply, but no longer acknowledge: the
    primary's next commits are on them, and wait there."""
    for i in replicas:
        c.sql(i, "STOP SLAVE IO_THREAD")
        c.sql(i, "SET GLOBAL rpl_semi_sync_slave_enabled = OFF")
        c.sql(i, "START SLAVE IO_THREAD")
    c.sql(primary, "SET GLOBAL rpl_semi_sync_master_wait_no_slave = ON")
    c.sql(primary, "SET GLOBAL rpl_semi_sync_master_timeout = 600000")


def in_thread(fn):
    out = {}

    def run():
        try:
            out["ok"] = fn()
        except pymysql.MySQLError as e:
            out["error"] = e.args

    t = threading.Thread(target=run)
    t.start()
    return t, out


def kill_and_join(c, threads):
    """Kill the primary while each of `threads` waits on it; each then ends."""
    assert all(t.is_alive() for t in threads)
    kill_now(c, 0)
    for t in threads:
        t.join(60)
        assert not t.is_alive()


def waiting_on_primary(c, like):
    return lambda: c.value(0, "SELECT COUNT(*) FROM information_schema.processlist "
                              "WHERE info LIKE %s", (like,)) == 1


def rows(c, node):
    return sorted(c.sql(node, f"SELECT id, v FROM {TABLE}"))


AUTO = "fi.a"
UPD = "fi.u"
UPDATE_SQL = f"UPDATE {UPD} SET v = 20 WHERE id IN (1, 2)"  # matches 2 rows, changes 1
INSERT_SQL = f"INSERT INTO {AUTO} (v) VALUES (30), (31)"
UPSERT_SQL = f"INSERT INTO {AUTO} (id, v) VALUES (1, 5) ON DUPLICATE KEY UPDATE v = v + 1"


def execute(conn, sql):
    """Run `sql`: the affected rows and the insert id the client got."""
    cur = conn.cursor()
    n = cur.execute(sql)
    return (n, cur.lastrowid)


def test_in_flight_writes_that_committed_get_their_ok(start_halyard, tmp_path, request):
    c = own_cluster(request, "inflight-ss", True, 130)
    c.sql(0, f"CREATE TABLE {AUTO} (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL)")
    c.sql(0, f"INSERT INTO {AUTO} (v) VALUES (1), (2)")
    # what the server answers directly for the same statements, on a copy
    c.sql(0, f"CREATE TABLE {UPD} (id INT PRIMARY KEY, v INT NOT NULL)")
    c.sql(0, f"INSERT INTO {UPD} VALUES (1, 10), (2, 20)")
    c.sql(0, f"CREATE TABLE fi.u2 LIKE {UPD}")
    c.sql(0, f"INSERT INTO fi.u2 SELECT * FROM {UPD}")
    c.sql(0, f"CREATE TABLE fi.a2 LIKE {AUTO}")
    c.sql(0, f"INSERT INTO fi.a2 SELECT * FROM {AUTO}")
    c.sql(0, "ALTER TABLE fi.a2 AUTO_INCREMENT = 3")
    # the insert id needs monitor.user to see the table's columns
    # (docs/failover.md)
    c.sql(0, "GRANT SELECT ON fi.* TO 'monitor'@'%'")
    c.sync()
    direct = {}
    with c.connect(0) as d:
        d.autocommit(True)
        for sql in (UPDATE_SQL, INSERT_SQL, UPSERT_SQL):
            direct[sql] = execute(d, sql.replace(UPD, "fi.u2").replace(AUTO, "fi.a2"))
    assert direct[UPDATE_SQL] == (1, 0) and direct[INSERT_SQL] == (2, 3), direct
    assert direct[UPSERT_SQL][0] == 2, direct
    conf, h = start(c, start_halyard, tmp_path)
    without_acknowledgements(c, c.replicas)
    # the 5 commits below go to the binary log as one group: a group
    # waiting for its acknowledgement holds the next one back
    c.sql(0, "SET GLOBAL binlog_commit_wait_usec = 60000000")
    c.sql(0, "SET GLOBAL binlog_commit_wait_count = 5")
    a = pymysql.connect(**h.conn_params(read_timeout=60, autocommit=True))
    b = pymysql.connect(**h.conn_params(read_timeout=60, autocommit=True))
    writers = {sql: pymysql.connect(**h.conn_params(read_timeout=60, autocommit=True))
               for sql in (UPDATE_SQL, INSERT_SQL, UPSERT_SQL)}
    bcur = b.cursor()
    bcur.execute("BEGIN")
    bcur.execute(f"SELECT v FROM {TABLE} WHERE id = 1")
    assert bcur.fetchall() == ((10,),)
    assert bcur.execute(f"INSERT INTO {TABLE} VALUES (4, 40)") == 1
    ta, ra = in_thread(lambda: a.cursor().execute(f"INSERT INTO {TABLE} VALUES (3, 30)"))
    tb, rb = in_thread(lambda: bcur.execute("COMMIT"))
    # each waits for its acknowledgement on the primary holding its rows'
    # locks (AFTER_SYNC): no two of them touch the same rows or gaps
    tw = {}
    for sql, conn in writers.items():
        tw[sql] = in_thread(lambda conn=conn, sql=sql: execute(conn, sql))
    # all committed on the primary and wait for an acknowledgement; the
    # replicas have them
    for i in c.replicas:
        wait_until(lambda: {3, 4} <= {r[0] for r in rows(c, i)} and
                   c.value(i, f"SELECT COUNT(*) FROM {AUTO}") == 4 and
                   c.value(i, f"SELECT v FROM {AUTO} WHERE id = 1") == 2 and
                   c.value(i, f"SELECT v FROM {UPD} WHERE id = 1") == 20, 10,
                   what=f"node{i} to have every write")
    assert ta.is_alive() and tb.is_alive()
    assert all(t.is_alive() for t, _ in tw.values())
    kill_now(c, 0)
    for t in [ta, tb] + [t for t, _ in tw.values()]:
        t.join(60)
        assert not t.is_alive()
    assert ra == {"ok": 1}, ra  # an INSERT of one row into a table without AUTO_INCREMENT
    assert rb == {"ok": 0}, rb  # a COMMIT's OK
    # each as the server answered the same statement directly
    for sql, (_, r) in tw.items():
        assert r == {"ok": direct[sql]}, (sql, r, direct[sql])
    new = writable_nodes(c)
    assert len(new) == 1 and new[0] != 0, new
    assert rows(c, new[0]) == [(1, 10), (2, 20), (3, 30), (4, 40)]
    assert sorted(c.sql(new[0], f"SELECT id, v FROM {UPD}")) == [(1, 20), (2, 20)]
    assert sorted(c.sql(new[0], f"SELECT id, v FROM {AUTO}")) == \
        [(1, 2), (2, 2), (3, 30), (4, 31)]
    # the sessions go on
    acur = a.cursor()
    acur.execute(f"SELECT COUNT(*) FROM {TABLE}")
    assert acur.fetchall() == ((4,),)
    bcur.execute("SELECT @@in_transaction")
    assert bcur.fetchall() == ((0,),)
    for conn in [a, b] + list(writers.values()):
        conn.close()
    st = admin_json(conf["admin_socket"], "show stats")
    assert st["inflight_committed"] == 5, st
    assert st["inflight_rerun"] == 0 and st["inflight_unknown"] == 0, st
    reason = session_summary(conf)
    assert "transactions replayed 0," in reason, reason
    assert "in-flight writes committed 5, re-run 0, rolled back 0, unknown 0; " \
        "sessions given an error 0" in reason, reason
    assert "had committed (found in the binary log of" in h.log_text()
    assert "its affected rows not read" not in h.log_text()
    assert "not seen by monitor.user" not in h.log_text()


def test_a_commit_in_flight_right_at_start_up_is_found(start_halyard, tmp_path, request):
    """A session that connects as halyard starts (tools/failover-bench's
    clients do): its connection to the primary logs in at once. Its COMMIT
    in flight, committed and found on the new primary, gets its OK. Before:
    the connection had logged in before the monitor's first read of
    @@global.completion_type, so halyard could not tell whether the COMMIT
    chained, and answered 1180."""
    c = own_cluster(request, "inflight-ss", True, 130)
    # the monitor's first check ends 2 s after its login (init_connect runs
    # for an account without CONNECTION ADMIN), its later ones at once: a
    # loaded host, deterministic
    privs = ("BINLOG MONITOR, SLAVE MONITOR, PROCESS, REPLICATION SLAVE ADMIN, READ_ONLY ADMIN, "
             "RELOAD, REPLICATION MASTER ADMIN, TRIGGER")
    c.sql(0, "CREATE USER 'slowmon'@'%' IDENTIFIED BY 'slowmon'")
    c.sql(0, f"GRANT {privs} ON *.* TO 'slowmon'@'%'")
    c.sync()
    for i in range(len(c.nodes)):
        c.sql(i, "SET GLOBAL init_connect = "
                 "'DO IF(CURRENT_USER() LIKE ''slowmon@%'', SLEEP(2), 0)'")
    conf = failover_settings(tmp_path, resolve_in_flight_writes=True, replay_timeout_ms=20000,
                             monitor={"user": "slowmon", "password": "slowmon",
                                      "timeout_ms": 5000})
    conf["backends"] = [{"name": n["name"], "address": "127.0.0.1", "port": n["port"],
                         "role": n["role"]} for n in c.nodes]
    h = start_halyard(conf)
    # at once, as the listener accepts: BEGIN and the INSERT open the
    # session's connection to the primary
    b = pymysql.connect(**h.conn_params(read_timeout=60, autocommit=True))
    bcur = b.cursor()
    bcur.execute("BEGIN")
    assert bcur.execute(f"INSERT INTO {TABLE} VALUES (4, 40)") == 1
    wait_until(lambda: all(x["state"] == "ONLINE" and x["last_check"] == "ok" for x in
                           admin_json(conf["admin_socket"], "show backends")["backends"]), 10,
               what="every backend checked")
    for i in range(len(c.nodes)):  # the failover's logins are not slowed
        c.sql(i, "SET GLOBAL init_connect = ''")
    without_acknowledgements(c, c.replicas)
    tb, rb = in_thread(lambda: bcur.execute("COMMIT"))
    for i in c.replicas:
        wait_until(lambda: 4 in {r[0] for r in rows(c, i)}, 10, what=f"node{i} to have the row")
    kill_and_join(c, [tb])
    assert rb == {"ok": 0}, rb
    new = writable_nodes(c)
    assert len(new) == 1 and new[0] != 0, new
    assert rows(c, new[0]) == [(1, 10), (2, 20), (4, 40)]
    b.close()
    st = admin_json(conf["admin_socket"], "show stats")
    assert st["inflight_committed"] == 1 and st["inflight_unknown"] == 0, st


def session_summary(conf):
    """The failover_sessions event that followed the failover (a few
    seconds after its end): its reason, checked to name the failover_done."""
    def find():
        events = admin_json(conf["admin_socket"], "show events")["events"]
        done = [e for e in events if e["event"] == "failover_done"]
        summ = [e for e in events if e["event"] == "failover_sessions"]
        return (done, summ) if done and summ else None
    done, summ = wait_until(find, 30, interval=0.2, what="a failover_sessions event")
    assert len(done) == 1 and len(summ) == 1, (done, summ)
    assert summ[0]["action"] == f"failover_done seq {done[0]['seq']}", summ
    assert summ[0]["seq"] > done[0]["seq"] and summ[0]["backend"] == done[0]["backend"], summ
    return summ[0]["reason"]


def lock_and_kill(c, h, sql):
    """`sql` through halyard waits on a row lock another client holds on the
    primary, which is then killed: it never committed. Its outcome."""
    blocker = c.connect(0)
    bl = blocker.cursor()
    bl.execute("BEGIN")
    bl.execute(f"SELECT v FROM {TABLE} WHERE id = 2 FOR UPDATE")
    a = pymysql.connect(**h.conn_params(read_timeout=60, autocommit=True))
    t, r = in_thread(lambda: a.cursor().execute(sql))
    wait_until(waiting_on_primary(c, "/*hy:%" + sql), 10,
               what="the UPDATE to wait on the lock")
    kill_now(c, 0)
    t.join(60)
    assert not t.is_alive()
    return a, r


def a_long_binary_log(c, mib=6):
    """`mib` MiB of statements in the binary log the search will read: 64
    INSERTs, each with a comment its Annotate_rows event keeps. Its SHOW
    BINLOG EVENTS is more than one result of halyard's SQL client may hold
    (4 MiB); read whole, the search failed with "result too large" (CI,
    a Galera writer's log) and the write got 1180."""
    pad = "x" * (mib * 1024 * 1024 // 64)
    for i in range(64):
        c.sql(0, f"/* {pad} */ INSERT INTO {TABLE} VALUES ({1000 + i}, 0)")
    c.sync()
    c.sql(0, f"DELETE FROM {TABLE} WHERE id >= 1000")
    c.sync()


def test_in_flight_write_not_committed_runs_once(start_halyard, tmp_path, request):
    c = own_cluster(request, "inflight-ss", True, 130)
    a_long_binary_log(c)
    conf, h = start(c, start_halyard, tmp_path)
    a, r = lock_and_kill(c, h, f"UPDATE {TABLE} SET v = v + 1 WHERE id = 2")
    assert r == {"ok": 1}, r
    new = writable_nodes(c)
    assert len(new) == 1 and new[0] != 0, new
    assert rows(c, new[0]) == [(1, 10), (2, 21)]
    a.close()
    st = admin_json(conf["admin_socket"], "show stats")
    assert st["inflight_rerun"] == 1, st
    assert st["inflight_committed"] == 0 and st["inflight_unknown"] == 0, st


def test_a_write_returning_rows_goes_unmarked(start_halyard, tmp_path, request):
    """An INSERT ... RETURNING answers rows, which a write found committed
    in the binary log could not give back: it goes without the mark (in
    flight at a failover it gets 1927, as without the option, never an OK
    in place of its rows), while a plain INSERT carries it."""
    c = own_cluster(request, "inflight-async", False, 140)
    conf, h = start(c, start_halyard, tmp_path)
    a = pymysql.connect(**h.conn_params(autocommit=True))
    cur = a.cursor()
    cur.execute(f"INSERT INTO {TABLE} VALUES (7, 70) RETURNING v")
    assert cur.fetchall() == ((70,),)
    cur.execute(f"INSERT INTO {TABLE} VALUES (8, 80)")
    a.close()
    f = c.sql(0, "SHOW BINARY LOGS")[-1][0]
    notes = [r[5] for r in c.sql(0, f"SHOW BINLOG EVENTS IN '{f}'") if r[2] == "Annotate_rows"]
    assert [n.startswith("/*hy:") for n in notes if "VALUES (7, 70)" in n] == [False], notes
    assert [n.startswith("/*hy:") for n in notes if "VALUES (8, 80)" in n] == [True], notes


def test_in_flight_write_unknown_with_async_replication(start_halyard, tmp_path, request):
    c = own_cluster(request, "inflight-async", False, 140)
    conf, h = start(c, start_halyard, tmp_path)
    a, r = lock_and_kill(c, h, f"UPDATE {TABLE} SET v = v + 1 WHERE id = 2")
    code, msg = r["error"]
    assert code == 1180, r
    assert "whether it committed is unknown" in msg and "not semi-synchronous" in msg, msg
    new = writable_nodes(c)
    assert len(new) == 1 and new[0] != 0, new
    assert rows(c, new[0]) == [(1, 10), (2, 20)]  # not run again
    # the session goes on
    cur = a.cursor()
    cur.execute(f"SELECT v FROM {TABLE} WHERE id = 2")
    assert cur.fetchall() == ((20,),)
    a.close()
    st = admin_json(conf["admin_socket"], "show stats")
    assert st["inflight_unknown"] == 1, st
    reason = session_summary(conf)
    assert "in-flight writes committed 0, re-run 0, rolled back 0, unknown 1; " \
        "sessions given an error 1" in reason, reason


def test_in_flight_commit_not_committed_is_replayed(start_halyard, tmp_path, request):
    """Semi-sync; the replicas stop receiving right after a monitor check
    (which saw them acknowledging), so a COMMIT then waits on the primary
    for an acknowledgement no replica can give, and never reaches them. The
    primary is killed: the COMMIT is not in the new primary's binary log
    and provably not committed, so the transaction runs again there
    (transaction_replay) with its COMMIT, and the client gets its OK."""
    c = own_cluster(request, "inflight-ss", True, 130)
    c.sql(0, "SET GLOBAL rpl_semi_sync_master_wait_no_slave = ON")
    c.sql(0, "SET GLOBAL rpl_semi_sync_master_timeout = 600000")
    conf, h = start(c, start_halyard, tmp_path, transaction_replay=True,
                    monitor={"user": "monitor", "password": "monitor", "interval_ms": 3000})
    b = pymysql.connect(**h.conn_params(read_timeout=60, autocommit=True))
    bcur = b.cursor()
    bcur.execute("BEGIN")
    bcur.execute(f"SELECT v FROM {TABLE} WHERE id = 1")
    assert bcur.fetchall() == ((10,),)
    assert bcur.execute(f"INSERT INTO {TABLE} VALUES (5, 50)") == 1

    def fresh():
        bs = admin_json(conf["admin_socket"], "show backends")["backends"]
        return all(x["check_age_s"] is not None and x["check_age_s"] < 0.3 for x in bs)
    # the checks of every backend just passed: the next are 3 s away, so
    # the last check before the COMMIT saw the replicas acknowledging (a
    # check between the IO threads' stop and the COMMIT would make its
    # outcome unknown: 2.7 s of margin for two statements)
    wait_until(fresh, 20, interval=0.05, what="a fresh check of every backend")
    for i in c.replicas:
        c.sql(i, "STOP SLAVE IO_THREAD")
    tb, rb = in_thread(lambda: bcur.execute("COMMIT"))
    wait_until(lambda: c.sql(0, "SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_master_wait_sessions'")
               [0][1] == "1", 10, what="the COMMIT to wait for an acknowledgement")
    for i in c.replicas:
        assert 5 not in {r[0] for r in rows(c, i)}
    kill_now(c, 0)
    tb.join(60)
    assert not tb.is_alive()
    assert rb == {"ok": 0}, rb
    new = writable_nodes(c)
    assert len(new) == 1 and new[0] != 0, new
    assert rows(c, new[0]) == [(1, 10), (2, 20), (5, 50)]
    b.close()
    st = admin_json(conf["admin_socket"], "show stats")
    assert st["inflight_rerun"] == 1 and st["transactions_replayed"] == 1, st
    reason = session_summary(conf)
    assert "transactions replayed 1, replays failed 0" in reason, reason
    assert "in-flight writes committed 0, re-run 1, rolled back 0, unknown 0; " \
        "sessions given an error 0" in reason, reason


def test_a_commit_after_a_replay_is_never_run_again(start_halyard, tmp_path, request):
    """A second failover in one transaction (issue 41, item 10). The
    primary (node0) is killed after the session's INSERT, and its next
    statement (a read) replays the transaction on the new primary,
    unmarked. Then its COMMIT waits for an acknowledgement the last
    replica, which receives and applies it, no longer gives, and that
    primary is killed too: the transaction is on the last server, but
    without the mark, which the replay did not carry. Not finding it
    proves nothing: the COMMIT gets 1180 (its outcome unknown), as a
    COMMIT whose transaction wrote unmarked does, never a replay writing
    the row again. node0 is started again, read_only, before the second
    kill, so that halyard reaches a majority of the servers that vote in
    the failover lock. (A KILL of the session's connection on a primary that
    stays up is never replayed: test_replay_killed.py.)"""
    c = own_cluster(request, "inflight-ss", True, 130)
    c.sql(0, "SET GLOBAL rpl_semi_sync_master_wait_no_slave = ON")
    c.sql(0, "SET GLOBAL rpl_semi_sync_master_timeout = 600000")
    conf, h = start(c, start_halyard, tmp_path, transaction_replay=True,
                    monitor={"user": "monitor", "password": "monitor", "interval_ms": 3000})
    b = pymysql.connect(**h.conn_params(read_timeout=60, autocommit=True))
    bcur = b.cursor()
    bcur.execute("BEGIN")
    assert bcur.execute(f"INSERT INTO {TABLE} VALUES (5, 50)") == 1
    kill_now(c, 0)
    bcur.execute(f"SELECT v FROM {TABLE} WHERE id = 1")  # the transaction is replayed first
    assert bcur.fetchall() == ((10,),)
    assert admin_json(conf["admin_socket"], "show stats")["transactions_replayed"] == 1
    first = writable_nodes(c)
    assert len(first) == 1 and first[0] != 0, first
    last = [i for i in c.replicas if i != first[0]]
    assert len(last) == 1, last
    # node0 back, read_only (auto_rejoin is off): with it halyard reaches 2
    # of the 3 servers that vote in the failover lock once first[0] dies
    # too, and may promote the last one
    c.start_node(0)
    c.sql(0, "SET GLOBAL read_only = 1")

    def fresh():
        bs = admin_json(conf["admin_socket"], "show backends")["backends"]
        return all(x["state"] != "DOWN" and x["last_check"] == "ok" and
                   x["check_age_s"] is not None and x["check_age_s"] < 0.3 for x in bs)
    # the checks just passed saw the last replica acknowledging (2.7 s to the next)
    wait_until(fresh, 60, interval=0.05, what="a fresh check of every backend")
    without_acknowledgements(c, last, primary=first[0])
    tb, rb = in_thread(lambda: bcur.execute("COMMIT"))
    wait_until(lambda: 5 in {r[0] for r in rows(c, last[0])}, 10,
               what=f"node{last[0]} to have the row")
    assert tb.is_alive()
    kill_now(c, first[0])
    tb.join(60)
    assert not tb.is_alive()
    code, msg = rb["error"]
    assert code == 1180 and "whether it committed is unknown" in msg, rb
    # answered at once: the failover may not have ended yet
    new = wait_until(lambda: writable_nodes(c), 30, what="a new primary")
    assert new == last, new
    assert rows(c, new[0]) == [(1, 10), (2, 20), (5, 50)]  # once
    b.close()
    st = admin_json(conf["admin_socket"], "show stats")
    assert st["inflight_rerun"] == 0 and st["transactions_replayed"] == 1, st


def test_a_write_found_committed_without_its_rows_is_unknown(start_halyard, tmp_path, request):
    """"Found committed" answers exactly, or not at all (issue 41, item 11).
    MIXED binary logs: an INSERT of literal values is logged as a statement
    (a Query event, with the mark), which holds no rows. Its replicas
    receive it but do not acknowledge, the primary is killed: the INSERT is
    found committed on the new primary, but what its OK said (1 row) cannot
    be read there. The client gets 1180 saying it committed and why its
    affected rows are unknown, never an OK with 0 rows; the row is there
    once."""
    c = own_cluster(request, "inflight-mixed", True, 160, ["--binlog-format=MIXED"])
    conf, h = start(c, start_halyard, tmp_path)
    without_acknowledgements(c, c.replicas)
    a = pymysql.connect(**h.conn_params(read_timeout=60, autocommit=True))
    ta, ra = in_thread(lambda: a.cursor().execute(f"INSERT INTO {TABLE} VALUES (3, 30)"))
    for i in c.replicas:
        wait_until(lambda: 3 in {r[0] for r in rows(c, i)}, 10, what=f"node{i} to have the row")
    assert ta.is_alive()
    kill_now(c, 0)
    ta.join(60)
    assert not ta.is_alive()
    assert "error" in ra, ra
    code, msg = ra["error"]
    assert code == 1180 and "it committed" in msg and "affected rows" in msg, ra
    new = wait_until(lambda: writable_nodes(c), 30, what="a new primary")
    assert len(new) == 1 and new[0] != 0, new
    assert rows(c, new[0]) == [(1, 10), (2, 20), (3, 30)]
    a.close()
    st = admin_json(conf["admin_socket"], "show stats")
    assert st["inflight_committed"] == 1 and st["inflight_rerun"] == 0, st


def test_a_chained_commit_found_committed_is_unknown(start_halyard, tmp_path, request):
    """Under completion_type = CHAIN a COMMIT begins another transaction.
    Found committed on the new primary, no transaction is open there: an
    OK would let the client's next statements commit one by one, and its
    ROLLBACK undo nothing (directly, the ROLLBACK undoes them). Such a
    COMMIT in flight is not resolved: 1180, its outcome unknown."""
    c = own_cluster(request, "inflight-ss", True, 130)
    conf, h = start(c, start_halyard, tmp_path)
    chained_commit_in_flight(c, h, "SET SESSION completion_type = 'CHAIN'")


def test_a_commit_under_a_global_chain_found_committed_is_unknown(start_halyard, tmp_path,
                                                                  request):
    """The same when the server's global completion_type is CHAIN: each new
    connection inherits it, the session sets nothing (before: the COMMIT
    found committed answered OK, and the client's ROLLBACK then undid
    nothing)."""
    c = own_cluster(request, "inflight-ss", True, 130)
    for i in range(len(c.nodes)):
        c.sql(i, "SET GLOBAL completion_type = 'CHAIN'")
    conf, h = start(c, start_halyard, tmp_path)
    d = c.connect(0)
    dc = d.cursor()
    dc.execute("SELECT @@completion_type")
    assert dc.fetchall() == (("CHAIN",),)
    d.close()
    chained_commit_in_flight(c, h, None)


def chained_commit_in_flight(c, h, set_sql):
    """BEGIN, an INSERT, and a COMMIT (chained) in flight when the primary
    dies, found committed on the new primary: it must get 1180."""
    b = pymysql.connect(**h.conn_params(read_timeout=60, autocommit=True))
    bcur = b.cursor()
    if set_sql is not None:
        bcur.execute(set_sql)
    bcur.execute("BEGIN")
    assert bcur.execute(f"INSERT INTO {TABLE} VALUES (4, 40)") == 1
    without_acknowledgements(c, c.replicas)
    tb, rb = in_thread(lambda: bcur.execute("COMMIT"))
    for i in c.replicas:
        wait_until(lambda: 4 in {r[0] for r in rows(c, i)}, 10, what=f"node{i} to have the row")
    assert tb.is_alive()
    kill_now(c, 0)
    tb.join(60)
    assert not tb.is_alive()
    new = wait_until(lambda: writable_nodes(c), 30, what="a new primary")
    if "ok" in rb:  # what a client then does in the transaction it believes open
        bcur.execute(f"INSERT INTO {TABLE} VALUES (6, 60)")
        bcur.execute("ROLLBACK")
        pytest.fail(f"COMMIT answered OK; after INSERT and ROLLBACK: {rows(c, new[0])}")
    code, msg = rb["error"]
    assert code == 1180 and "whether it committed is unknown" in msg, rb
    b.close()
    assert rows(c, new[0]) == [(1, 10), (2, 20), (4, 40)]


class MixedLoad:
    """Writers through halyard: autocommit INSERTs, and transactions (BEGIN,
    a read, two INSERTs, COMMIT), each write followed by an autocommit
    read; ids kept once acknowledged, every failed statement kept."""

    def __init__(self, h, writers=4, table=TABLE):
        self.h, self.table = h, table
        self.stop_ev = threading.Event()
        self.lock = threading.Lock()
        self.acked, self.errors = [], []
        self.threads = [threading.Thread(target=self.run, args=(w,), daemon=True)
                        for w in range(1, writers + 1)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        for t in self.threads:
            t.join(60)

    def run(self, w):
        conn, n = None, 0
        while not self.stop_ev.is_set():
            try:
                if conn is None:
                    conn = pymysql.connect(**self.h.conn_params(read_timeout=60))
                n += 2
                row = w * 1_000_000 + n
                cur = conn.cursor()
                if n % 4 == 0:
                    cur.execute("BEGIN")
                    cur.execute(f"SELECT COUNT(*) FROM {self.table} WHERE id = %s", (row - 2,))
                    cur.execute(f"INSERT INTO {self.table} (id, v) VALUES (%s, %s)", (row, w))
                    cur.execute(f"INSERT INTO {self.table} (id, v) VALUES (%s, %s)", (row + 1, w))
                    cur.execute("COMMIT")
                    done = [row, row + 1]
                else:
                    cur.execute(f"INSERT INTO {self.table} (id, v) VALUES (%s, %s)", (row, w))
                    done = [row]
                cur.execute(f"SELECT COUNT(*) FROM {self.table} WHERE id = %s", (row,))
                with self.lock:
                    self.acked.extend(done)
            except pymysql.MySQLError as e:
                with self.lock:
                    self.errors.append(str(e))
                conn = None

    def count(self):
        with self.lock:
            return len(self.acked)


def test_switchover_under_mixed_load_no_client_error(start_halyard, tmp_path, request):
    """halyardctl switchover under writes, transactions and reads with
    every failover option on: no client sees an error, a transaction open
    when it starts commits on the old primary first, and every
    acknowledged row is on the new primary once."""
    from test_failover import ctl
    c = own_cluster(request, "inflight-ss", True, 130)
    conf, h = start(c, start_halyard, tmp_path, transaction_replay=True,
                    retry_primary_reads=True)
    # a transaction open when the switchover starts ends on the old
    # primary: the switchover waits for it (at most 2 s) before read_only
    t = pymysql.connect(**h.conn_params(read_timeout=60))
    tcur = t.cursor()
    tcur.execute("BEGIN")
    assert tcur.execute(f"INSERT INTO {TABLE} VALUES (7, 70)") == 1
    with MixedLoad(h) as load:
        wait_until(lambda: load.count() >= 100, 20, what="the load to get going")
        ts, rs = in_thread(lambda: ctl(conf["admin_socket"], "switchover", "to", "node2"))
        wait_until(lambda: "writes paused" in h.log_text(), 10, what="the switchover to start")
        assert tcur.execute(f"INSERT INTO {TABLE} VALUES (8, 80)") == 1
        tcur.execute("COMMIT")
        ts.join(150)
        r = rs["ok"]
        n = load.count()
        wait_until(lambda: load.count() >= n + 100, 20, what="writes after the switchover")
    assert r.returncode == 0 and "node2 promoted" in r.stdout, (r.stdout, r.stderr)
    assert load.errors == [], f"{len(load.errors)} failed statements: {load.errors[:5]}"
    assert writable_nodes(c) == [2]
    counts = dict(c.sql(2, f"SELECT id, COUNT(*) FROM {TABLE} GROUP BY id"))
    missing = [i for i in load.acked if i not in counts]
    twice = [i for i in load.acked if counts.get(i, 0) > 1]
    assert not missing and not twice, (missing[:5], twice[:5])
    assert counts.get(7) == 1 and counts.get(8) == 1, counts
    t.close()


def test_transaction_open_at_a_switchover_goes_on_once_its_primary_shows_lagging(
        start_halyard, tmp_path, request):
    """The switchover's pause (writes paused, the old primary a fenced
    replica) waits up to 2 s for transactions open there. Once a check
    reads the old primary in that state it shows LAGGING: a lag, not a
    lost server, and the transaction goes on there and commits. (CI saw
    "Lost connection to backend 'node0' (LAGGING) during the transaction",
    1429, in test_dual_master_switchover_under_mixed_load: the gate ended
    every transaction on a LAGGING backend.)"""
    from test_failover import ctl
    c = own_cluster(request, "inflight-ss", True, 130)
    conf, h = start(c, start_halyard, tmp_path, transaction_replay=True,
                    monitor={"user": "monitor", "password": "monitor", "interval_ms": 100})
    sock = conf["admin_socket"]
    t = pymysql.connect(**h.conn_params(read_timeout=60))
    tcur = t.cursor()
    tcur.execute("BEGIN")
    assert tcur.execute(f"INSERT INTO {TABLE} VALUES (7, 70)") == 1
    ts, rs = in_thread(lambda: ctl(sock, "switchover", "to", "node2"))
    wait_until(lambda: "writes paused" in h.log_text(), 10, what="the switchover to start")
    wait_until(lambda: {b["name"]: b["state"] for b in
                        admin_json(sock, "show backends")["backends"]}["node0"] == "LAGGING",
               1.5, what="node0 LAGGING while the switchover waits for its transaction")
    assert tcur.execute(f"INSERT INTO {TABLE} VALUES (8, 80)") == 1
    tcur.execute("COMMIT")
    ts.join(150)
    r = rs["ok"]
    assert r.returncode == 0 and "node2 promoted" in r.stdout, (r.stdout, r.stderr)
    counts = dict(c.sql(2, f"SELECT id, COUNT(*) FROM {TABLE} GROUP BY id"))
    assert counts.get(7) == 1 and counts.get(8) == 1, counts
    t.close()


def test_rolling_restart_under_mixed_load(start_halyard, tmp_path, request):
    """Every server restarted one by one under writes, transactions and
    reads, through halyard: each replica drained, stopped, started and put
    online; the primary switched over to node1 first, then restarted the
    same way (read_only set again before it is put online, as its own
    config would). Every acknowledged row is on the primary once, and the
    clients' errors are counted: 0 is the goal."""
    from test_failover import ctl
    c = own_cluster(request, "inflight-ss", True, 130)
    conf, h = start(c, start_halyard, tmp_path, transaction_replay=True,
                    retry_primary_reads=True)
    sock = conf["admin_socket"]

    def state(name):
        return {b["name"]: b for b in admin_json(sock, "show backends")["backends"]}[name]

    def restart(i, after_start=None):
        name = c.nodes[i]["name"]
        r = ctl(sock, "backend", name, "drain")
        assert r.returncode == 0, (r.stdout, r.stderr)
        c.stop_node(i)
        c.start_node(i)
        if after_start:
            after_start()
        r = ctl(sock, "backend", name, "online")
        assert r.returncode == 0, (r.stdout, r.stderr)
        wait_until(lambda: state(name)["state"] == "ONLINE", 30, what=f"{name} ONLINE again")

    t0 = time.monotonic()
    with MixedLoad(h) as load:
        wait_until(lambda: load.count() >= 100, 20, what="the load to get going")
        for i in c.replicas:
            restart(i)
            n = load.count()
            wait_until(lambda: load.count() >= n + 50, 20, what="writes go on")
        r = ctl(sock, "switchover", "to", "node1")
        assert r.returncode == 0 and "node1 promoted" in r.stdout, (r.stdout, r.stderr)
        restart(0, lambda: c.sql(0, "SET GLOBAL read_only = 1"))
        n = load.count()
        wait_until(lambda: load.count() >= n + 100, 20, what="writes after the last restart")
    errors = list(load.errors)
    print(f"rolling restart: {load.count()} acknowledged writes, {len(errors)} client errors: "
          f"{errors[:5]}")
    assert writable_nodes(c) == [1]
    for n in c.nodes:  # each was restarted during the load
        up = int(c.sql(n["index"], "SHOW GLOBAL STATUS LIKE 'Uptime'")[0][1])
        assert up < time.monotonic() - t0, (n["name"], up)
    counts = dict(c.sql(1, f"SELECT id, COUNT(*) FROM {TABLE} GROUP BY id"))
    missing = [i for i in load.acked if i not in counts]
    twice = [i for i in load.acked if counts.get(i, 0) > 1]
    assert not missing and not twice, (missing[:5], twice[:5])
    assert errors == [], f"{len(errors)} failed statements: {errors[:5]}"


def test_statements_larger_than_the_buffer(start_halyard, cluster):
    """A statement larger than buffer_size reaches halyard a buffer at a
    time: what the in-flight notes read of its text is the part in the
    buffer. A multi-row INSERT of 3 MB and a SET of 1.6 MB (neither cut
    inside a literal, so both classify as what they are) once ended halyard
    with SIGSEGV: the note searched the whole length in the first 16 KiB."""
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS fi_big")
    cluster.sql(0, "CREATE TABLE IF NOT EXISTS fi_big.many (id INT PRIMARY KEY)")
    h = start_halyard(resolve_in_flight_writes=True)
    c = h.connect(database="fi_big", autocommit=True)
    rows = ",".join(f"({i})" for i in range(400000))
    with c.cursor() as cur:
        cur.execute(f"REPLACE INTO many VALUES {rows}")
        cur.execute("SET @a = 1" + ", @b = 2" * 200000)
        cur.execute("SELECT COUNT(*), @a, @b FROM many")
        assert cur.fetchone() == (400000, 1, 2)
        cur.execute("BEGIN")
        cur.execute(f"REPLACE INTO many VALUES {rows}")
        cur.execute("COMMIT")
        cur.execute("SELECT COUNT(*) FROM many")
        assert cur.fetchone() == (400000,)
