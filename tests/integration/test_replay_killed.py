"""A transaction whose connection the primary closed while the primary
stays up is not replayed there (issue 41, item 12).

transaction_replay runs a transaction again on a primary "other than the
one that failed it" (docs/failover.md). An operator's KILL of the
connection (to free its locks), or the server's own close (wait_timeout),
ends the transaction on a primary the monitor still sees healthy: run
again on that primary, it would come back although it was killed.

    BEGIN; INSERT; the connection KILLed on the primary while idle; the
    next statement: directly, an error and nothing committed; through
    halyard 1927 and nothing committed (before the fix: replayed, and the
    INSERT and the next one committed)
    the same with the KILL while a statement waits on a row lock (the
    server answers it 1927, then closes)
    without health checks (monitor.user ""), nothing tells a KILL from the
    server's death, and the primary never changes: 1927 at once, nothing
    committed

A replay after a real failover is in test_replay.py, test_replay_bounds.py
and test_replay_state.py.
"""
import threading
import time

import pymysql
import pytest

from test_failover import failover_settings
from test_ops import admin_json
from test_replay_bounds import fresh, start
from util import wait_until

ROWS = "SELECT id, v FROM rb.t ORDER BY id"


def trx_thread(cluster):
    """The primary's thread id of the one live connection with a transaction
    open (a connection KILLed just before may still show in INNODB_TRX while
    its transaction rolls back: its thread is gone from the process list).
    InnoDB refreshes the table's cache only when 100 ms have passed since it
    was last read, so the polls are further apart than that: polled faster,
    it showed the direct phase's killed thread for the whole 10 s."""
    def one():
        ids = [i for (i,) in cluster.sql(0, "SELECT t.trx_mysql_thread_id FROM"
                                            " information_schema.INNODB_TRX t JOIN"
                                            " information_schema.PROCESSLIST p"
                                            " ON p.ID = t.trx_mysql_thread_id")]
        return ids if len(ids) == 1 else None
    return wait_until(one, 10, interval=0.3, what="one live connection with a transaction open")[0]


def killed(cluster, params, when):
    """BEGIN; INSERT (5); the connection KILLed on the primary, idle or
    while an UPDATE waits on a row lock another connection holds (released
    right after); then an INSERT (6) and a COMMIT, or the COMMIT alone
    after the UPDATE. What each statement after the KILL got (an error
    code, 'ok', or 'closed'), in order."""
    c = pymysql.connect(**params)
    cur = c.cursor()
    cur.execute("BEGIN")
    cur.execute("INSERT INTO rb.t VALUES (5, 50)")
    thread = trx_thread(cluster)
    got = []
    blocker = cluster.connect(0)
    try:
        if when == "in_flight":
            bcur = blocker.cursor()
            bcur.execute("BEGIN")
            bcur.execute("SELECT v FROM rb.t WHERE id = 1 FOR UPDATE")
            out = {}

            def update():
                try:
                    cur.execute("UPDATE rb.t SET v = v + 1 WHERE id = 1")
                    out["got"] = "ok"
                except pymysql.MySQLError as e:
                    out["got"] = e.args[0]
                except AttributeError:  # pymysql read a connection it had closed
                    out["got"] = "closed"

            t = threading.Thread(target=update)
            t.start()
            wait_until(lambda: cluster.value(0, "SELECT COUNT(*) FROM information_schema.processlist"
                                                " WHERE info LIKE 'UPDATE rb.t SET v = v + 1%'") == 1,
                       10, what="the UPDATE to wait on the lock")
            cluster.sql(0, f"KILL {thread}")
            bcur.execute("ROLLBACK")  # a replay of it there would not wait
            t.join(30)
            assert not t.is_alive()
            got.append(out["got"])
        else:
            cluster.sql(0, f"KILL {thread}")
        # after an error for the UPDATE, only the COMMIT an application
        # would try (on an error it learns the transaction is gone)
        post = ["COMMIT"] if when == "in_flight" else ["INSERT INTO rb.t VALUES (6, 60)", "COMMIT"]
        for q in post:
            if got and got[-1] == "closed":
                break
            try:
                cur.execute(q)
                got.append("ok")
            except pymysql.MySQLError as e:
                got.append(e.args[0])
                if e.args[0] in (2006, 2013):  # the connection is gone (direct)
                    break
    finally:
        blocker.close()
        c.close()
    return got


@pytest.mark.parametrize("when", ["idle", "in_flight"])
def test_a_transaction_killed_on_a_live_primary_is_not_replayed(cluster, start_halyard, tmp_path,
                                                                 when):
    fresh(cluster)
    direct = killed(cluster, cluster.conn_params(0, autocommit=True), when)
    assert direct[0] != "ok", direct  # directly: an error, the connection gone
    assert cluster.sql(0, ROWS) == [(1, 10)]  # nothing of it committed
    fresh(cluster)
    conf = failover_settings(tmp_path, transaction_replay=True, replay_timeout_ms=20000)
    h = start(start_halyard, tmp_path, **conf)
    got = killed(cluster, h.conn_params(autocommit=True), when)
    rows = cluster.sql(0, ROWS)
    assert rows == [(1, 10)], f"replayed on the primary that killed it: {got}, rows {rows}"
    # the statement after the KILL gets the killed connection's error, as
    # without transaction_replay; the session goes on outside a transaction
    assert got[-2:] == [1927, "ok"], got
    assert all(g != "ok" for g in got[:-1]), got
    st = admin_json(conf["admin_socket"], "show stats")
    assert st["transactions_replayed"] == 0, st
    assert h.sql("SELECT COUNT(*) FROM rb.t") == [(1,)]


def test_without_health_checks_nothing_is_replayed_on_the_same_primary(cluster, start_halyard):
    """monitor.user = "": the idle KILL as above gets 1927 at once, not
    after replay_timeout_ms (20 s here) of waiting for a check that never
    comes, and nothing of the transaction is committed."""
    fresh(cluster)
    h = start_halyard(monitor={"user": "", "password": ""}, transaction_replay=True,
                      replay_timeout_ms=20000, workers=1, read_write_split=False)
    t0 = time.monotonic()
    got = killed(cluster, h.conn_params(autocommit=True, read_timeout=60), "idle")
    took = time.monotonic() - t0
    assert cluster.sql(0, ROWS) == [(1, 10)], got
    assert got == [1927, "ok"], got
    assert took < 10, f"{took:.1f} s"


LOST = "Lost connection to backend 'node0' during the transaction; it was rolled back"
LOST_NONTRX = LOST + (", except its changes to non-transactional tables (MyISAM, Aria...), "
                      "which stay")
LOST_MAYBE = LOST + (", except any change it made to a non-transactional table (MyISAM, "
                     "Aria...), which stays")


def open_transaction(cluster, start_halyard, tmp_path, tracked, myisam):
    """halyard (`tracked`: with resolve_in_flight_writes, which turns the
    transaction-state tracker on) and a session through it in a
    transaction that wrote rb.t, and the MyISAM table rb.m when `myisam`:
    the connection and its cursor."""
    fresh(cluster)
    cluster.sql(0, "CREATE OR REPLACE TABLE rb.m (id INT PRIMARY KEY) ENGINE = MyISAM")
    conf = dict(admin_socket=str(tmp_path / "admin.sock"))
    if tracked:
        conf["resolve_in_flight_writes"] = True
    h = start(start_halyard, tmp_path, **conf)
    c = pymysql.connect(**h.conn_params(autocommit=True, read_timeout=30))
    cur = c.cursor()
    cur.execute("BEGIN")
    cur.execute("INSERT INTO rb.t VALUES (5, 50)")
    if myisam:
        cur.execute("INSERT INTO rb.m VALUES (7)")
    return c, cur


@pytest.mark.parametrize("tracked,myisam,want", [
    (False, True, LOST_MAYBE), (False, False, LOST_MAYBE),
    (True, True, LOST_NONTRX), (True, False, LOST)])
def test_the_error_for_a_lost_transaction_says_what_stays(cluster, start_halyard, tmp_path,
                                                         tracked, myisam, want):
    """Without transaction_replay, the statement after a transaction lost
    with its connection gets 1927 saying it was rolled back. A write to a
    MyISAM table in it stays (the server wrote it at once). halyard knows
    whether the transaction wrote such a table when its connection reports
    the transaction's state (session_track_transaction_info, on with
    resolve_in_flight_writes): then it says it; otherwise it says any such
    change stays. Before, "it was rolled back" in every case, with the
    MyISAM row there."""
    c, cur = open_transaction(cluster, start_halyard, tmp_path, tracked, myisam)
    cur.execute("INSERT INTO rb.t VALUES (6, 60)")
    cluster.sql(0, f"KILL {trx_thread(cluster)}")
    with pytest.raises(pymysql.MySQLError) as e:
        cur.execute("COMMIT")
    assert e.value.args == (1927, want), e.value.args
    assert cluster.sql(0, ROWS) == [(1, 10)]
    assert cluster.sql(0, "SELECT id FROM rb.m") == ([(7,)] if myisam else [])
    c.close()


@pytest.mark.parametrize("tracked,myisam,want", [
    (False, True, LOST_MAYBE), (True, True, LOST_NONTRX), (True, False, LOST)])
def test_the_error_for_a_transaction_lost_in_flight_says_what_stays(cluster, start_halyard,
                                                                   tmp_path, tracked, myisam,
                                                                   want):
    """The same for the statement in flight when the primary's process
    dies (a read of the transaction, SLEEP(10)): before, "it was rolled
    back" in every case."""
    c, cur = open_transaction(cluster, start_halyard, tmp_path, tracked, myisam)
    out = {}

    def sleep():
        try:
            cur.execute("SELECT SLEEP(10)")
            out["got"] = "ok"
        except pymysql.MySQLError as e:
            out["got"] = e.args
    t = threading.Thread(target=sleep)
    t.start()
    wait_until(lambda: cluster.value(0, "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
                                        " WHERE INFO = 'SELECT SLEEP(10)'") == 1,
               10, what="the SLEEP running")
    try:
        cluster.kill(0)
        t.join(30)
        assert out["got"] == (1927, want), out
    finally:
        c.close()
        cluster.start_node(0)
