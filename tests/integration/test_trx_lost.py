"""A statement sent after the session's transaction died with its backend
connection is never run by itself: it would commit alone what the client
sent as a part of the transaction it is then told was rolled back.

    the backend connection of a transaction is killed on the server while
    the session is idle; the client's next statement is a prepared INSERT
    (COM_STMT_EXECUTE, which halyard routes apart from text statements):
    it gets 1927 and its row is nowhere, as the transaction's first row
    the same with a text INSERT larger than the session's buffer (which
    halyard cannot answer without reading it all): 1927, the session
    ends, the row is nowhere
"""

import subprocess
import time

import pymysql
import pytest

from test_core import client_bin
from util import APP_PASSWORD, APP_USER, wait_until

DB = "tl"


@pytest.fixture
def lost(cluster, start_halyard):
    cluster.sql(0, f"CREATE DATABASE IF NOT EXISTS {DB}")
    cluster.sql(0, f"DROP TABLE IF EXISTS {DB}.t")
    cluster.sql(0, f"CREATE TABLE {DB}.t (id INT AUTO_INCREMENT PRIMARY KEY, v BIGINT)")
    cluster.sync()
    return start_halyard(workers=1, pool_mode="transaction", buffer_size=16384)


def kill_app_connections(cluster, h):
    """KILL, on the primary, every connection of the application's user
    (the transaction's among them), and wait until halyard saw its go."""
    before = h.log_text().count("closed the connection (idle)")
    ids = [r[0] for r in cluster.sql(
        0, f"SELECT id FROM information_schema.PROCESSLIST WHERE user = '{APP_USER}'")]
    assert ids
    for i in ids:
        cluster.sql(0, f"KILL {i}")
    wait_until(lambda: h.log_text().count("closed the connection (idle)") > before, 10,
               what="halyard seeing the transaction's connection closed")


def rows(cluster):
    return cluster.sql(0, f"SELECT v FROM {DB}.t ORDER BY v")


def test_a_prepared_write_after_the_transaction_was_lost_is_not_run(cluster, lost):
    h = lost
    p = subprocess.Popen([client_bin("ps_query"), "127.0.0.1", str(h.port), APP_USER,
                          APP_PASSWORD, DB], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, bufsize=1)
    try:
        for line in ["QUERY BEGIN", f"INSERT INTO {DB}.t (v) VALUES (?)\ti:1"]:
            p.stdin.write(line + "\n")
        p.stdin.flush()
        # INNODB_TRX is a copy the server refreshes only when it was last
        # read more than 100 ms before: polled faster, it never changes
        wait_until(lambda: rows_in_trx(cluster) >= 1, 10, interval=0.3,
                   what="the first INSERT, uncommitted")
        kill_app_connections(cluster, h)
        p.stdin.write("AGAIN\t2\nQUERY COMMIT\n")
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    stmts = out.split("stmt\t")
    assert stmts[2].startswith("2\naffected=1"), out
    # no transaction-state tracker in this config: what stays is not known
    assert stmts[3] == ("3\nerror\t1927\t70100\tLost connection to backend 'node0' during "
                        "the transaction; it was rolled back, except any change it made to a "
                        "non-transactional table (MyISAM, Aria...), which stays\n"), out
    assert stmts[4] == "4\nok\n", out  # COMMIT: nothing open any more
    assert rows(cluster) == []  # before the fix: [(2,)], committed alone


def rows_in_trx(cluster):
    # thread 0 is InnoDB's own (a background statistics update): not the session's
    return cluster.sql(0, "SELECT COUNT(*) FROM information_schema.INNODB_TRX "
                          "WHERE trx_mysql_thread_id <> 0")[0][0]


def test_a_large_statement_after_the_transaction_was_lost_ends_the_session(cluster, lost):
    h = lost
    c = pymysql.connect(**h.conn_params(database=DB, autocommit=True))
    cur = c.cursor()
    cur.execute("BEGIN")
    cur.execute(f"INSERT INTO {DB}.t (v) VALUES (1)")
    kill_app_connections(cluster, h)
    big = f"INSERT INTO {DB}.t (v) VALUES (2) /* {'x' * 40000} */"  # > buffer_size
    with pytest.raises(pymysql.MySQLError) as e:
        cur.execute(big)
    assert e.value.args[0] in (1927, 2013), e.value.args  # its ERR, or the close first
    with pytest.raises(pymysql.MySQLError):
        cur.execute("COMMIT")  # the session ended
    time.sleep(0.2)
    assert rows(cluster) == []  # before the fix: [(2,)], committed alone
    assert "after the transaction was lost with node0: closing" in h.log_text()
    c2 = pymysql.connect(**h.conn_params(database=DB, autocommit=True))
    c2.cursor().execute("SELECT 1")  # halyard goes on
    c2.close()
