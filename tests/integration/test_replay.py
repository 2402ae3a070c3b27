"""A transaction open on the primary when it dies is run again on the new
primary, and goes on if every answer is the one the client got
(transaction_replay).

    a transaction with a read and a write done, and an UPDATE in flight
    (waiting on a row lock) when the primary is killed: the UPDATE gets its
    OK, the transaction commits on the new primary with every write once,
    and halyard counts one transaction replayed
    a row the transaction read is changed by another client after the
    failover, before the transaction's next statement: that statement gets
    1213 (40001), the session goes on outside a transaction; a transaction
    that called NOW() is not replayable and gets 1927 as without
    transaction_replay
"""

import threading

import pymysql
import pytest

from test_failover import failover_settings, kill_now
from test_ops import admin_json
from test_trace import Receiver, attrs
from util import wait_until

SETUP = [
    "CREATE DATABASE IF NOT EXISTS rp",
    "DROP TABLE IF EXISTS rp.t",
    "CREATE TABLE rp.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB",
    "INSERT INTO rp.t VALUES (1, 10), (2, 20), (3, 30)",
]


def replay_setup(cluster, tmp_path, start_halyard):
    for q in SETUP:
        cluster.sql(0, q)
    cluster.sync()  # the replicas have the rows the transactions read
    conf = failover_settings(tmp_path, transaction_replay=True, replay_timeout_ms=20000)
    return conf, start_halyard(conf)


def open_transaction(h):
    """A connection through halyard and its cursor, in a transaction that
    read row 1 and added 1 to row 2."""
    c = pymysql.connect(**h.conn_params(read_timeout=60))
    cur = c.cursor()
    cur.execute("BEGIN")
    cur.execute("SELECT v FROM rp.t WHERE id = 1")
    assert cur.fetchall() == ((10,),)
    assert cur.execute("UPDATE rp.t SET v = v + 1 WHERE id = 2") == 1
    return c, cur


def stats(conf):
    return admin_json(conf["admin_socket"], "show stats")


def test_transaction_replayed_with_its_statement_in_flight(cluster, start_halyard, tmp_path):
    conf, h = replay_setup(cluster, tmp_path, start_halyard)
    c, cur = open_transaction(h)
    # Another client holds row 3 on the primary: our UPDATE of it waits
    # there, in flight, when the primary dies.
    blocker = cluster.connect(0)
    bcur = blocker.cursor()
    bcur.execute("BEGIN")
    bcur.execute("SELECT v FROM rp.t WHERE id = 3 FOR UPDATE")
    result = {}

    def update():
        try:
            result["rows"] = cur.execute("UPDATE rp.t SET v = v + 5 WHERE id = 3")
        except pymysql.MySQLError as e:
            result["error"] = e

    t = threading.Thread(target=update)
    t.start()
    # it waits on the lock: the primary's process list shows it
    wait_until(lambda: cluster.value(0, "SELECT COUNT(*) FROM information_schema.processlist "
                                        "WHERE info LIKE 'UPDATE rp.t SET v = v + 5%'") == 1,
               10, what="the UPDATE to wait on the lock")
    kill_now(cluster, 0)
    t.join(60)
    assert not t.is_alive()
    assert result == {"rows": 1}
    cur.execute("SELECT @@in_transaction")
    assert cur.fetchall() == ((1,),)
    cur.execute("COMMIT")
    c.close()
    assert h.sql("/* halyard: primary */ SELECT id, v FROM rp.t ORDER BY id") == [(1, 10), (2, 21), (3, 35)]
    st = stats(conf)
    assert st["transactions_replayed"] == 1
    assert st["replays_failed_mismatch"] == 0


def test_replay_mismatch_is_a_deadlock(cluster, start_halyard, tmp_path):
    conf, h = replay_setup(cluster, tmp_path, start_halyard)
    c, cur = open_transaction(h)
    # a transaction that read the clock cannot be proven the same
    c2 = pymysql.connect(**h.conn_params(read_timeout=60))
    cur2 = c2.cursor()
    cur2.execute("BEGIN")
    cur2.execute("UPDATE rp.t SET v = UNIX_TIMESTAMP() WHERE id = 3")
    kill_now(cluster, 0)
    # another client changes the row read, on the new primary, first
    assert h.sql("UPDATE rp.t SET v = 99 WHERE id = 1") == []
    with pytest.raises(pymysql.MySQLError) as e:
        cur.execute("UPDATE rp.t SET v = v + 1 WHERE id = 3")
    assert e.value.args[0] == 1213, e.value.args
    assert "Deadlock found" in e.value.args[1] and "failover" in e.value.args[1]
    # rolled back; the session goes on
    cur.execute("SELECT @@in_transaction")
    assert cur.fetchall() == ((0,),)
    with pytest.raises(pymysql.MySQLError) as e2:
        cur2.execute("SELECT v FROM rp.t WHERE id = 3")
    assert e2.value.args[0] == 1927, e2.value.args
    c.close()
    c2.close()
    assert h.sql("/* halyard: primary */ SELECT id, v FROM rp.t ORDER BY id") == [(1, 99), (2, 20), (3, 30)]
    st = stats(conf)
    assert st["replays_failed_mismatch"] == 1
    assert st["replays_refused"] == 1
    assert st["transactions_replayed"] == 0


def test_the_statement_that_met_a_replay_says_so_in_its_span(cluster, start_halyard, tmp_path):
    """Traces (docs/tracing.md): the client's statement that found its
    transaction lost with the primary, and went on once halyard replayed the
    transaction on the new one, carries halyard.replayed; the statements
    before the loss do not."""
    r = Receiver()
    try:
        for sql in SETUP:
            cluster.sql(0, sql)
        cluster.sync()
        conf = failover_settings(tmp_path, transaction_replay=True, replay_timeout_ms=20000,
                                 tracing={"enabled": True, "endpoint": r.endpoint(),
                                          "query_text": True, "flush_ms": 200})
        h = start_halyard(conf)
        c, cur = open_transaction(h)
        kill_now(cluster, 0)
        assert cur.execute("UPDATE rp.t SET v = v + 5 WHERE id = 3 /* met-the-loss */") == 1
        cur.execute("COMMIT")
        c.close()
        assert stats(conf)["transactions_replayed"] == 1
        met = r.find(lambda s: "met-the-loss" in attrs(s).get("db.query.text", ""), 30)
        assert attrs(met).get("halyard.replayed") is True, attrs(met)
        before = r.find(lambda s: "WHERE id = 1" in attrs(s).get("db.query.text", ""))
        assert "halyard.replayed" not in attrs(before), attrs(before)
        commit = r.find(lambda s: attrs(s).get("db.query.text", "") == "COMMIT")
        assert "halyard.replayed" not in attrs(commit), attrs(commit)
    finally:
        r.close()
    assert not r.bad, r.bad
