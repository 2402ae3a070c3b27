"""The one-shot SET TRANSACTION (no SESSION, no GLOBAL) applies to the
next transaction only, through halyard as directly (issue 41, item 1).

MariaDB keeps it until a statement ends a transaction: the next one that
begins (BEGIN, or a statement with autocommit off), a COMMIT or ROLLBACK, or
an autocommit statement that touches a transactional table (a plain SELECT
of an InnoDB table consumes it; `SELECT 1` does not). Before the fix halyard
kept it in the session's state and sent it again on every connection it
brought up to date, so later transactions ran under it too.

Each sequence runs directly on the primary and through halyard, with
another client holding an uncommitted row, and the answers must be the
same: the dirty read of READ UNCOMMITTED in the next transaction only, the
write of READ ONLY refused in the next transaction only, a plain SELECT in
between, `SELECT 1` in between, and other sessions using the pooled
connections in between (pool_mode = "transaction").
"""
import pymysql
import pytest

from test_failover import failover_settings, kill_now
from util import APP_PASSWORD, APP_USER

SETUP = [
    "CREATE DATABASE IF NOT EXISTS txn_next",
    "DROP TABLE IF EXISTS txn_next.t",
    "CREATE TABLE txn_next.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB",
    "INSERT INTO txn_next.t VALUES (1, 10)",
    "DROP TABLE IF EXISTS txn_next.u",
    "CREATE TABLE txn_next.u (id INT PRIMARY KEY) ENGINE=InnoDB",
    "INSERT INTO txn_next.u VALUES (1)",
]

READ = "SELECT COUNT(*) FROM txn_next.t"  # 2 when it reads the uncommitted row
# An autocommit read of an InnoDB table with no uncommitted row: the same on
# a replica (read_write_split) as on the primary, and it consumes the one-shot.
READ_AC = "SELECT COUNT(*) FROM txn_next.u"
ISO = "SELECT @@tx_isolation, @@tx_read_only"
UPDATE = "UPDATE txn_next.t SET v = v + 1 WHERE id = 1"


def run(conn, steps, between=None):
    """Each step's answer: its rows, or ('ERR', code). `between()` runs
    after each step (other sessions through halyard)."""
    out = []
    with conn.cursor() as cur:
        for sql in steps:
            try:
                cur.execute(sql)
                out.append((sql, tuple(tuple(r) for r in cur.fetchall())))
            except pymysql.MySQLError as e:
                out.append((sql, ("ERR", e.args[0])))
            if between is not None:
                between()
    return out


def dirty_steps(n):
    """READ UNCOMMITTED for the next transaction, then n transactions that
    each read the table another client has an uncommitted row in."""
    steps = ["SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED"]
    for _ in range(n):
        steps += ["BEGIN", READ, ISO, "COMMIT"]
    return steps


def read_only_steps(k):
    """READ ONLY for the next transaction; then k transactions that write."""
    steps = ["SET TRANSACTION READ ONLY"]
    for i in range(k):
        steps += ["BEGIN", ISO, f"UPDATE txn_next.t SET v = v + {i + 1} WHERE id = 1", "COMMIT"]
    steps += ["BEGIN", "SELECT v FROM txn_next.t WHERE id = 1", "COMMIT"]
    return steps


SEQUENCES = {
    "dirty": dirty_steps(4),
    "read_only": read_only_steps(4),
    "both_at_once": ["SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED, READ ONLY", "BEGIN", READ,
                     UPDATE, "COMMIT", "BEGIN", READ, UPDATE, "COMMIT"],
    # a plain SELECT of an InnoDB table is a transaction: it consumes it
    "consumed_by_select": ["SET TRANSACTION READ ONLY", READ_AC, "BEGIN", UPDATE, "COMMIT",
                           "SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED", READ_AC,
                           "BEGIN", READ, "COMMIT"],
    # SELECT 1 touches no table: the next transaction still has it
    "kept_by_select_1": ["SET TRANSACTION READ ONLY", "SELECT 1", ISO, "BEGIN", UPDATE, "ROLLBACK",
                         "BEGIN", UPDATE, "COMMIT",
                         "SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED", "SELECT 1", "BEGIN",
                         READ, "COMMIT", "BEGIN", READ, "COMMIT"],
    # a COMMIT with no transaction open consumes it too
    "consumed_by_commit": ["SET TRANSACTION READ ONLY", "COMMIT", "BEGIN", UPDATE, "COMMIT"],
    # SET SESSION TRANSACTION stays for the session; the one-shot over it
    # for one transaction
    "session_scope": ["SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED",
                      "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "BEGIN", READ, ISO,
                      "COMMIT", "BEGIN", READ, ISO, "COMMIT", READ_AC,
                      "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", "BEGIN", READ,
                      "COMMIT"],
}
# Only with every statement on the primary: an autocommit read on a replica
# cannot see the primary's uncommitted row, READ UNCOMMITTED or not.
PRIMARY_ONLY = {
    "autocommit_dirty": ["SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED", "SELECT 1", READ,
                         READ],
}


def fresh(cluster):
    for q in SETUP:
        cluster.sql(0, q)
    cluster.sync()


def uncommitted(params):
    """Another client, with a row inserted and not committed (id 2)."""
    other = pymysql.connect(**params)
    with other.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("INSERT INTO txn_next.t VALUES (2, 20)")
    return other


def direct_params(cluster):
    return dict(host="127.0.0.1", port=cluster.primary_port, user=APP_USER,
                password=APP_PASSWORD, autocommit=True)


def both(cluster, h, steps, rounds=1, between=None):
    """The answers of `steps` directly and through halyard (`rounds` times
    each, a new session each time), another client holding row 2
    uncommitted meanwhile."""
    answers = []
    for params, mid in ((direct_params(cluster), None), (h.conn_params(autocommit=True), between)):
        got = []
        for _ in range(rounds):
            fresh(cluster)
            other = uncommitted(direct_params(cluster))
            c = pymysql.connect(**params)
            try:
                got.append(run(c, steps, mid))
            finally:
                c.close()
                other.close()
        answers.append(got)
    return answers


CASES = [(n, True) for n in sorted(SEQUENCES)] + \
    [(n, False) for n in sorted(SEQUENCES) + sorted(PRIMARY_ONLY)]


@pytest.mark.parametrize("name,split", CASES)
def test_set_transaction_next_only(cluster, start_halyard, name, split):
    h = start_halyard(read_write_split=split)
    steps = SEQUENCES.get(name) or PRIMARY_ONLY[name]
    direct, through = both(cluster, h, steps, rounds=3)
    assert through == direct


def test_set_transaction_next_only_pooled_moves(cluster, start_halyard):
    """Other sessions take the pooled connections between each statement:
    the one-shot goes where the next transaction runs, and nowhere else (the
    other sessions' transactions run at their own level)."""
    h = start_halyard()
    others = [pymysql.connect(**h.conn_params(autocommit=True)) for _ in range(3)]
    seen = []

    def between():
        for o in others:
            with o.cursor() as cur:
                cur.execute("BEGIN")
                cur.execute(READ)
                seen.append(cur.fetchall()[0][0])
                cur.execute("COMMIT")

    try:
        for name in ("dirty", "read_only", "consumed_by_select", "kept_by_select_1"):
            seen.clear()
            direct, through = both(cluster, h, SEQUENCES[name], between=between)
            assert through == direct, name
            # 1: the row another client has not committed is never theirs
            assert seen and set(seen) == {1}, name
    finally:
        for o in others:
            o.close()


def test_set_transaction_next_only_across_a_lost_connection(cluster, start_halyard, tmp_path):
    """The primary of a transaction begun under READ UNCOMMITTED dies (its
    process killed, a failover) with transaction_replay on: the
    transaction is not run again without its isolation level (it is not
    replayed: the client gets an error), and the transaction after it runs
    at the session's level on the new primary, as directly. (A KILL of the
    connection on a primary that stays up is never replayed:
    test_replay_killed.py.)"""
    h = start_halyard(failover_settings(tmp_path, transaction_replay=True,
                                        replay_timeout_ms=20000),
                      workers=1, read_write_split=False)
    fresh(cluster)
    other = cluster.root_connect(0)
    with other.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("INSERT INTO txn_next.t VALUES (2, 20)")
    c = pymysql.connect(**h.conn_params(autocommit=True))
    try:
        with c.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED")
            cur.execute("BEGIN")
            cur.execute(READ)
            assert cur.fetchall() == ((2,),)
            cluster.sync()
            kill_now(cluster, 0)
            with pytest.raises(pymysql.MySQLError):
                cur.execute(READ)  # not replayed at REPEATABLE READ: an error
            cur.execute("ROLLBACK")
            for _ in range(3):
                cur.execute("BEGIN")
                cur.execute(READ)
                assert cur.fetchall() == ((1,),)  # the session's level
                cur.execute("COMMIT")
    finally:
        c.close()
        other.close()
