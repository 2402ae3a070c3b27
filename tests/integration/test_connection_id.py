"""One connection id: CONNECTION_ID() is the id of halyard's handshake
wherever the statement runs (issue 17 item 1).

A session's statements run on several servers, each of which has its own
thread id for halyard's connection; the client knows one id, the one in the
handshake, which KILL and COM_PROCESS_KILL take. halyard puts that id in
place of every CONNECTION_ID() call in a statement's text, on the primary,
on a replica and in prepared statements, and lists its sessions by that id
in the process list (issue 33); the servers' own thread ids remain in
@@pseudo_thread_id.
"""

import threading
import time

import pymysql
import pytest

from rawmysql import RawConn
from test_ps import binary_rows, execute, prepare
from util import APP_PASSWORD, APP_USER, schema_with_table, wait_until, q

REPLICA = "/* halyard: replica */ "
PRIMARY = "/* halyard: primary */ "


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


@pytest.mark.parametrize("sql", ["SELECT /*!CONNECTION_ID() */ AS c",
                                 "SELECT /*!50000CONNECTION_ID() */ AS c",
                                 "SELECT /*M!CONNECTION_ID()*/ AS c"])
def test_a_call_first_in_an_executable_comment(halyard, sql):
    """The id written where the call was starts no version number: the
    server reads the digits right after `/*!` (or after its version) as
    the server version the comment needs, and skipped the comment (1064,
    the select item gone) before halyard wrote a space first."""
    c = halyard.connect(autocommit=True)
    assert q(c, sql)[0] == (c.thread_id(),)


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
    # The process list lists halyard's sessions by the id halyard gave them
    # (issue 33), and CONNECTION_ID() there is that id too: the session
    # finds its own row, as directly (mtr main.user_var reads its
    # memory_used this way).
    c = halyard.connect(autocommit=True)
    me = c.thread_id()
    tid = q(c, PRIMARY + "SELECT @@pseudo_thread_id")[0][0]
    rows = q(c, "SELECT ID, INFO FROM information_schema.PROCESSLIST WHERE ID = CONNECTION_ID()")
    assert len(rows) == 1 and rows[0][0] == me and "PROCESSLIST" in rows[0][1]
    assert q(c, f"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {tid}") == ((0,),)
    # A join with a view keyed by the server's thread ids keeps the server's.
    rows = q(c, "SELECT p.ID FROM information_schema.PROCESSLIST p WHERE p.ID = CONNECTION_ID() "
                "AND NOT EXISTS (SELECT 1 FROM information_schema.INNODB_TRX "
                "WHERE trx_mysql_thread_id = p.ID)")
    assert rows == ((tid,),)
    assert q(c, "SELECT CONNECTION_ID()")[0][0] == me


def test_the_holder_of_a_user_lock_is_the_server_thread(halyard):
    """IS_USED_LOCK() answers the server's thread id, as the process list
    of InnoDB's transactions does: CONNECTION_ID() beside it stays the
    server's, so a session finds itself the holder of its lock (mtr
    main.change_user line 81)."""
    c = halyard.connect(autocommit=True)
    try:
        assert q(c, "SELECT GET_LOCK('cid_lock', 0)") == ((1,),)
        assert q(c, "SELECT IS_USED_LOCK('cid_lock') = CONNECTION_ID()") == ((1,),)
        assert q(c, "SELECT RELEASE_LOCK('cid_lock')") == ((1,),)
    finally:
        c.close()


def test_a_process_list_read_after_a_named_call(halyard, ids):
    r"""A select item that calls CONNECTION_ID() is named as the client wrote
    it (`AS \`CONNECTION_ID()\``). The names of one statement must not be
    written into the next one: mtr main.kill's wait_condition, a process
    list read after `SELECT connection_id()`, got the old name inserted at
    the old offset, and 1064 for its own text."""
    c = halyard.connect(autocommit=True)
    try:
        for text in ("SELECT connection_id()", "SELECT FOUND_ROWS()", "SELECT ROW_COUNT() + 1"):
            q(c, "/* two lines */\n  " + text)
            rows = q(c, "\n  select count(*) = 1 from information_schema.processlist\n"
                        "  where info = 'nothing runs this' and id > 0")
            assert rows == ((0,),), text
            with c.cursor() as cur:
                cur.execute("select count(*) = 0 from information_schema.processlist "
                            "where id = 0")
                assert [d[0] for d in cur.description] == ["count(*) = 0"], text
    finally:
        c.close()


def test_the_process_list_lists_halyard_ids(halyard, cluster):
    """Issue 33 item 2: SHOW [FULL] PROCESSLIST and information_schema.PROCESSLIST
    through halyard list a session by halyard's id; halyard's connections
    that no session holds (idle in the pool, the monitor's) are left out;
    other rows are the server's. KILL QUERY of an id read there stops that
    session's statement."""
    a = halyard.connect(autocommit=True)
    b = halyard.connect(autocommit=True)
    me, bid = a.thread_id(), b.thread_id()
    for sql in ("SHOW PROCESSLIST", "SHOW FULL PROCESSLIST"):
        rows = q(a, sql)
        mine = [r for r in rows if r[0] == me]
        assert len(mine) == 1 and mine[0][7] == sql, rows
        # (the monitor may be logging in again just then: not halyard's yet)
        wait_until(lambda: all(r[1] != "monitor" for r in q(a, sql)), timeout=5.0,
                   what="no monitor row through halyard")
    assert cluster.value(0, "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                            "WHERE USER = 'monitor'") >= 1  # there, directly
    wait_until(lambda: q(a, "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                            "WHERE USER = 'monitor'") == ((0,),), timeout=5.0, what="no monitor row")
    # Every row of halyard's app connections there is a session's.
    ids = {r[0] for r in q(a, "SELECT ID FROM information_schema.processlist pl "
                              "WHERE pl.USER = 'app'")}
    assert me in ids and ids <= {me, bid}, ids
    out = {}

    def slow():
        try:
            out["row"] = q(b, PRIMARY + "SELECT SLEEP(10) /* hy-pl-kill */")
        except pymysql.err.OperationalError as e:
            out["e"] = e

    t = threading.Thread(target=slow)
    t.start()
    # (a connection b takes just as a's read goes out is b's only from
    # halyard's next read on: the first sighting may be the server's id)
    found = ()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and found != ((bid, "Query"),):
        found = q(a, "SELECT ID, COMMAND FROM information_schema.PROCESSLIST "
                     "WHERE INFO LIKE '%hy-pl-kill%' AND ID <> CONNECTION_ID()")
        time.sleep(0.02)
    assert found == ((bid, "Query"),)
    shown = [r for r in q(a, "SHOW FULL PROCESSLIST") if r[7] and "hy-pl-kill" in r[7]
             and "SHOW" not in r[7]]
    assert [r[0] for r in shown] == [bid]
    q(a, f"KILL QUERY {found[0][0]}")
    t.join(5)
    assert "e" in out and out["e"].args[0] == 1317, out
    assert q(b, "SELECT CONNECTION_ID()")[0][0] == bid


def test_threads_connected_counts_sessions_not_pooled_connections(halyard, cluster):
    """mtr's include/count_sessions.inc and wait_until_count_sessions.inc
    (main.xa, main.view) read Threads_connected, then wait until the
    sessions a test opened are gone. halyard's connections that no session
    holds (pooled, the monitor's) are not counted through halyard, as they
    are not listed, so the count comes back once the sessions close."""
    def threads(c):
        return int(q(c, "SHOW STATUS LIKE 'Threads_connected'")[0][1])

    def threads_is(c):
        return int(q(c, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                        "WHERE VARIABLE_NAME = 'THREADS_CONNECTED'")[0][0])

    a = halyard.connect(autocommit=True)
    # Both reads leave out the same connections. halyard's own may open or
    # close between two reads (a pool topping up, an idle one closed, whose
    # end the server counts a moment later), as another client's would on
    # a server: the two are compared when the count did not move around
    # the SHOW.
    seen = []
    for _ in range(20):
        n_is, before, n_is_after = threads_is(a), threads(a), threads_is(a)
        seen.append((n_is, before, n_is_after))
        if n_is == n_is_after:
            break
        time.sleep(0.2)
    assert n_is == n_is_after, seen
    assert before == n_is, seen
    others = [halyard.connect(autocommit=True) for _ in range(4)]
    for c in others:
        q(c, PRIMARY + "SELECT 1")
    for c in others:
        c.close()
    deadline = time.monotonic() + 5
    while threads(a) > before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert threads(a) <= before
    # directly, the server counts halyard's connections
    assert int(cluster.value(0, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                                "WHERE VARIABLE_NAME = 'THREADS_CONNECTED'")) > before


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


def test_kill_query_id_read_from_the_process_list(halyard):
    """KILL QUERY ID <query id> (mtr main.kill, MDEV-4911): query ids are
    each server's own; halyard passes the statement to the primary, so a
    QUERY_ID read from the process list (which halyard reads on the
    primary) stops that statement when it runs there, as on one server:
    here in a transaction. A statement on a replica:
    test_kill_query_id.py."""
    victim = halyard.connect(autocommit=True)
    out = {}

    def slow():
        try:
            q(victim, "BEGIN")
            out["row"] = q(victim, "SELECT SLEEP(30) /* hy-qid-kill */")
        except pymysql.err.OperationalError as e:
            out["e"] = e

    t = threading.Thread(target=slow)
    t.start()
    killer = halyard.connect(autocommit=True)
    found = []
    wait_until(lambda: found.extend(q(killer, "SELECT @qid := QUERY_ID FROM "
                                              "information_schema.PROCESSLIST WHERE INFO = "
                                              "'SELECT SLEEP(30) /* hy-qid-kill */' AND "
                                              "STATE = 'User sleep'")) or found,
               timeout=10)
    q(killer, "KILL QUERY ID @qid")
    t.join(5)
    assert not t.is_alive()
    assert "e" in out and out["e"].args[0] == 1317, out
    q(victim, "ROLLBACK")
    assert q(victim, "SELECT 1") == ((1,),)
    with pytest.raises(pymysql.err.OperationalError) as e:
        q(killer, "KILL QUERY ID 0")
    assert e.value.args[0] == 1957
