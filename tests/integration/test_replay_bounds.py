"""A statement that commits the open transaction and leaves another open
ends the replay record and the in-flight mark, as the server ends the
transaction (issue 41, item 4).

    BEGIN inside a transaction commits it and begins another: the primary
    is killed and fails over, the next statement replays only the new
    transaction on the new primary (the first one's UPDATE stays applied
    once)
    COMMIT AND CHAIN, and a plain COMMIT under completion_type = CHAIN,
    commit and begin a transaction: the transaction after them is not
    replayed (a replay could not begin it as the chain did), the client
    gets an error, and the committed UPDATE stays applied once
    with resolve_in_flight_writes, each chained transaction's writes carry
    a mark of their own in the binary log: a COMMIT in flight is never
    "found" through the transaction before it

Every case compares with the same statements run directly on the primary.
"""
import re

import pymysql
import pytest

from test_failover import failover_settings, kill_now
from test_ops import admin_json
from util import wait_until

SETUP = [
    "CREATE DATABASE IF NOT EXISTS rb",
    "DROP TABLE IF EXISTS rb.t",
    "CREATE TABLE rb.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB",
    "INSERT INTO rb.t VALUES (1, 10)",
]
VALUE = "SELECT v FROM rb.t WHERE id = 1"


def fresh(cluster):
    for q in SETUP:
        cluster.sql(0, q)
    cluster.sync()


def start(start_halyard, tmp_path, **conf):
    """halyard with every backend checked once: a connection lost at its
    first moments would count against a backend not yet known ONLINE."""
    conf.setdefault("admin_socket", str(tmp_path / "admin.sock"))
    h = start_halyard(conf, workers=1, read_write_split=False)
    wait_until(lambda: all(b["state"] == "ONLINE" and b["last_check"] == "ok" for b in
                           admin_json(conf["admin_socket"], "show backends")["backends"]), 10,
               what="every backend checked")
    return h


def failed_over_in_transaction(cluster, start_halyard, tmp_path, stmts):
    """The table fresh, halyard with transaction_replay and failover, a
    session through it that ran `stmts`, and then the primary's process
    killed (what committed before is on the replicas): halyard, the
    session's connection and cursor. A replay runs on the new primary: a
    KILL of the session's connection on a primary that stays up is never
    replayed (test_replay_killed.py)."""
    fresh(cluster)
    h = start(start_halyard, tmp_path,
              **failover_settings(tmp_path, transaction_replay=True, replay_timeout_ms=20000))
    c = pymysql.connect(**h.conn_params(autocommit=True, read_timeout=60))
    cur = c.cursor()
    for q in stmts:
        cur.execute(q)
    cluster.sync()
    kill_now(cluster, 0)
    return h, c, cur


def on_primary(h, q):
    """`q`'s first value on the primary halyard sees now (the new one)."""
    return h.sql(f"/* halyard: primary */ {q}")[0][0]


def run(params, stmts):
    c = pymysql.connect(**params)
    try:
        with c.cursor() as cur:
            for q in stmts:
                cur.execute(q)
    finally:
        c.close()


def test_begin_inside_a_transaction_ends_the_record(cluster, start_halyard, tmp_path):
    """BEGIN; +1; BEGIN (commits the +1); +10; the primary killed; read;
    COMMIT: 21, as directly. Before the fix the replay ran the first BEGIN
    and its +1 again."""
    fresh(cluster)
    stmts = ["BEGIN", "UPDATE rb.t SET v = v + 1 WHERE id = 1", "BEGIN",
             "UPDATE rb.t SET v = v + 10 WHERE id = 1"]
    run(cluster.conn_params(0, autocommit=True), stmts + ["COMMIT"])
    assert cluster.value(0, VALUE) == 21  # directly
    h, c, cur = failed_over_in_transaction(cluster, start_halyard, tmp_path, stmts)
    try:
        cur.execute(VALUE)  # replayed first: the transaction goes on
        assert cur.fetchall() == ((21,),)
        cur.execute("COMMIT")
    finally:
        c.close()
    assert on_primary(h, VALUE) == 21


@pytest.mark.parametrize("chain", ["COMMIT AND CHAIN", "completion_type"])
def test_a_chained_commit_ends_the_record(cluster, start_halyard, tmp_path, chain):
    """BEGIN; +1; COMMIT AND CHAIN (or COMMIT under completion_type =
    CHAIN); +10; the primary killed: the +1 is committed, the chained
    transaction is lost with it. Directly: 11 once the connection is gone.
    Through halyard the next statement gets an error (the chained
    transaction is not replayed) and the value on the new primary stays 11.
    Before the fix the replay ran +1 again."""
    pre = ["SET SESSION completion_type = 'CHAIN'"] if chain == "completion_type" else []
    commit = "COMMIT AND CHAIN" if chain == "COMMIT AND CHAIN" else "COMMIT"
    stmts = pre + ["BEGIN", "UPDATE rb.t SET v = v + 1 WHERE id = 1", commit,
                   "UPDATE rb.t SET v = v + 10 WHERE id = 1"]
    fresh(cluster)
    direct = pymysql.connect(**cluster.conn_params(0, autocommit=True))
    with direct.cursor() as cur:
        for q in stmts:
            cur.execute(q)
        cur.execute("SELECT @@in_transaction")
        assert cur.fetchall() == ((1,),)  # the chain began another
    direct.close()  # the +10 is rolled back with it
    assert cluster.value(0, VALUE) == 11
    h, c, cur = failed_over_in_transaction(cluster, start_halyard, tmp_path, stmts)
    try:
        with pytest.raises(pymysql.MySQLError) as e:
            cur.execute(VALUE)
        assert e.value.args[0] == 1927, e.value.args
        cur.execute("ROLLBACK")
        cur.execute(VALUE)
        assert cur.fetchall() == ((11,),)
    finally:
        c.close()
    assert on_primary(h, VALUE) == 11


def marks(cluster, text):
    """The /*hy:...*/ mark of each write with `text` in the primary's last
    binary log, oldest first."""
    f = cluster.sql(0, "SHOW BINARY LOGS")[-1][0]
    out = []
    for r in cluster.sql(0, f"SHOW BINLOG EVENTS IN '{f}'"):
        if r[2] in ("Annotate_rows", "Query") and text in r[5]:
            m = re.match(r"/\*hy:([0-9a-f-]+)\*/", r[5])
            out.append(m.group(1) if m else None)
    return out


@pytest.mark.parametrize("chain", ["COMMIT AND CHAIN", "completion_type", "BEGIN"])
def test_a_chained_transaction_has_a_mark_of_its_own(cluster, start_halyard, tmp_path, chain):
    """resolve_in_flight_writes: the writes of the transaction begun by the
    chain (or an inner BEGIN) carry another mark than the one before it.
    Before the fix under completion_type = CHAIN they carried the same."""
    fresh(cluster)
    pre = ["SET SESSION completion_type = 'CHAIN'"] if chain == "completion_type" else []
    commit = {"COMMIT AND CHAIN": "COMMIT AND CHAIN", "completion_type": "COMMIT",
              "BEGIN": "BEGIN"}[chain]
    h = start(start_halyard, tmp_path, **failover_settings(tmp_path, resolve_in_flight_writes=True))
    tag = chain.replace(" ", "_")
    run(h.conn_params(autocommit=True),
        pre + ["BEGIN", f"UPDATE rb.t SET v = v + 1 WHERE id = 1 /* {tag}-one */", commit,
               f"UPDATE rb.t SET v = v + 10 WHERE id = 1 /* {tag}-two */", "COMMIT"] +
        (["SET SESSION completion_type = 'NO_CHAIN'", "ROLLBACK"] if pre else []))
    one, two = marks(cluster, f"{tag}-one"), marks(cluster, f"{tag}-two")
    assert len(one) == 1 and len(two) == 1, (one, two)
    assert one[0] is not None, one
    # unmarked (its COMMIT then gets 1180) or a mark of its own
    assert two[0] != one[0], (one, two)
