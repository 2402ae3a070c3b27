"""One connection id: CONNECTION_ID() is the id of halyard's handshake
wherever the statement runs (issue 17 item 1).

A session's statements run on several servers, each of which has its own
thread id for halyard's connection; the client knows one id, the one in the
handshake, which KILL and COM_PROCESS_KILL take. halyard puts that id in
place of every CONNECTION_ID() call in a statement's text, on the primary,
on a replica and in prepared statements; the servers' own thread ids remain
in SHOW PROCESSLIST and @@pseudo_thread_id.
"""

import threading
import time

import pymysql
import pytest

from rawmysql import RawConn
from test_ps import binary_rows, execute, prepare
from util import APP_PASSWORD, APP_USER, schema_with_table

REPLICA = "/* halyard: replica */ "
PRIMARY = "/* halyard: primary */ "


def q(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


@pytest.fixture
def table(cluster):
    return schema_with_table(cluster, "cid", "conn BIGINT UNSIGNED, note VARCHAR(40)")


def test_the_handshake_id_on_every_server(halyard, ids):
    c = halyard.connect(autocommit=True)
    me = c.thread_id()
    assert q(c, PRIMARY + "SELECT @@server_id, CONNECTION_ID()")[0] == (ids[0], me)
    seen = set()
    for _ in range(8):
        sid, got = q(c, REPLICA + "SELECT @@server_id, connection_id ( )")[0]
        assert got == me
        seen.add(sid)
    assert seen == ids[1]
    # Several calls, in expressions, with a comment inside the call.
    assert q(c, REPLICA + "SELECT CONNECTION_ID() + 1, Connection_Id(/* x */) * 2")[0] == \
        (me + 1, me * 2)
    # Not a call: text in strings, comments and quoted names stays as it is.
    assert q(c, "SELECT 'CONNECTION_ID()' /* CONNECTION_ID() */, "
                "CONNECTION_ID() AS `CONNECTION_ID()`")[0] == ("CONNECTION_ID()", me)
    # A column keeps the name the server gives it: the call as written.
    with c.cursor() as cur:
        cur.execute(REPLICA + "SELECT @x - connection_id(), CONNECTION_ID() AS cid, "
                              "CONNECTION_ID()")
        assert [d[0] for d in cur.description] == ["@x - connection_id()", "cid",
                                                   "CONNECTION_ID()"]
    # The server's own thread id is still there to read.
    tid = q(c, PRIMARY + "SELECT @@pseudo_thread_id")[0][0]
    assert tid != me


def test_written_and_assigned_values_are_the_handshake_id(halyard, cluster, table, ids):
    c = halyard.connect(database=table, autocommit=True)
    me = c.thread_id()
    q(c, "INSERT INTO t (conn, note) VALUES (CONNECTION_ID(), 'written')")
    q(c, "SET @mine = CONNECTION_ID()")
    cluster.sync()
    assert cluster.value(0, "SELECT conn FROM cid.t WHERE note = 'written' ORDER BY id DESC "
                            "LIMIT 1") == me
    for _ in range(4):
        sid, v = q(c, REPLICA + "SELECT @@server_id, @mine")[0]
        assert sid in ids[1] and v == me
    # A read that compares with it finds the row on a replica too.
    assert q(c, REPLICA + "SELECT COUNT(*) FROM t WHERE conn = CONNECTION_ID()")[0][0] >= 1


def test_a_process_list_read_finds_its_own_row(halyard, ids):
    # The process list holds the servers' thread ids, so there CONNECTION_ID()
    # is the server's: the session finds its own row, as directly (mtr
    # main.user_var reads its memory_used this way).
    c = halyard.connect(autocommit=True)
    me = c.thread_id()
    tid = q(c, PRIMARY + "SELECT @@pseudo_thread_id")[0][0]
    rows = q(c, "SELECT ID, INFO FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()")
    assert len(rows) == 1 and rows[0][0] == tid and "PROCESSLIST" in rows[0][1]
    # Everywhere else the id stays the handshake's, in the same session.
    assert q(c, "SELECT CONNECTION_ID()")[0][0] == me


def test_a_prepared_statement_sees_the_handshake_id(start_halyard, ids):
    h = start_halyard(consistency="eventual")
    c = RawConn("127.0.0.1", h.port)
    c.login(APP_USER, APP_PASSWORD)
    me = c.greeting.conn_id
    stmt, _, ncols = prepare(c, "SELECT CONCAT(CONNECTION_ID(), ' ', @@server_id)")
    seen = set()
    for _ in range(6):  # prepared again, lazily, on each replica it lands on
        (row,) = binary_rows(execute(c, stmt), ncols)
        got, sid = row[1:1 + row[0]].decode().split()
        assert int(got) == me
        seen.add(int(sid))
    assert seen == ids[1]
    c.close()


def test_kill_query_of_the_id_a_client_read(halyard, cluster):
    """The id CONNECTION_ID() gives stops what that session runs, on a
    replica too: the victim gets 1317 and stays connected."""
    victim = halyard.connect(autocommit=True)
    vid = q(victim, "SELECT CONNECTION_ID()")[0][0]
    out = {}

    def slow():
        try:
            out["row"] = q(victim, REPLICA + "SELECT SLEEP(10) /* hy-cid-kill */")
        except pymysql.err.OperationalError as e:
            out["e"] = e

    t = threading.Thread(target=slow)
    t.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        running = sum(cluster.value(i, "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                       "WHERE INFO LIKE '%hy-cid-kill%' AND ID <> CONNECTION_ID()")
                      for i in (1, 2))
        if running:
            break
        time.sleep(0.02)
    assert running == 1
    killer = halyard.connect()
    t0 = time.monotonic()
    q(killer, f"KILL QUERY {vid}")
    t.join(5)
    assert time.monotonic() - t0 < 2.0
    assert "e" in out and out["e"].args[0] == 1317, out
    assert q(victim, "SELECT CONNECTION_ID()")[0][0] == vid
