"""pool_mode = "transaction": sessions share backend connections.

A session holds a backend connection only while it needs one; between
statements the connection goes back to its worker's pool and the next
session of the same user takes it. Each test runs one worker, so every
session draws on the same pool, and checks what a client sees (its own
variables, schema, LAST_INSERT_ID(), warnings, prepared statements) while
counting the connections the servers see.
"""

import contextlib
import socket
import threading
import time
import urllib.request

import pymysql
import pytest

from rawmysql import RawConn
from tcprelay import TcpRelay
from util import (APP_PASSWORD, APP_USER, admin_json, app_threads, default_halyard_settings,
                  free_port, no_app_threads, schema_with_table, wait_until, q, scrape)


def threads_settle(cluster, n):
    """The server counts `n` connections of app once those it is still
    closing (an earlier test's, a killed one) are gone; more than `n` for
    5 s fails."""
    wait_until(lambda: app_threads(cluster) == n, timeout=5.0,
               what=f"{n} connections of app on the primary (has {app_threads(cluster)})")


@pytest.fixture(params=["3 backends", "1 backend"])
def pooled(request, cluster, start_halyard):
    """One worker, pool_mode "transaction", in front of the cluster's three
    nodes or of its primary alone (with one backend nothing is routed, but
    the connection still goes back to the pool between statements: the
    session's state must follow it all the same)."""
    no_app_threads(cluster)  # nothing left of an earlier test
    conf = None
    if request.param == "1 backend":
        conf = {"backends": [b for b in default_halyard_settings(cluster, 0)["backends"]
                             if b["role"] == "primary"]}
    return start_halyard(conf, workers=1, pool_mode="transaction", read_write_split=False)


@pytest.fixture
def schema(cluster):
    """pooldb.t, empty: each test (and each of its `pooled` variants)
    counts its own rows."""
    cluster.sql(0, "DROP TABLE IF EXISTS pooldb.t")
    return schema_with_table(cluster, "pooldb", "v INT")


@pytest.fixture
def ab(pooled):
    """Two sessions of app, autocommit on, through the pooled halyard."""
    a = pooled.connect(autocommit=True)
    b = pooled.connect(autocommit=True)
    yield a, b
    a.close()
    b.close()


def test_two_sessions_alternate_on_one_connection(cluster, ab):
    a, b = ab
    q(a, "SET @who = 'a', time_zone = '+01:00', sql_mode = 'ANSI_QUOTES'")
    q(b, "SET @who = 'b'")
    for _ in range(5):
        assert q(a, "SELECT @who, @@time_zone, @@sql_mode") == (("a", "+01:00", "ANSI_QUOTES"),)
        assert q(b, "SELECT @who, @@time_zone, @@sql_mode")[0][:2] == ("b", "SYSTEM")
        assert "ANSI_QUOTES" not in q(b, "SELECT @@sql_mode")[0][0]
    # A SET is read back after the client has its OK, so the other
    # session may find the connection busy and open a second one.
    assert app_threads(cluster) <= 2
    ids = {q(a, "SELECT CONNECTION_ID()")[0][0], q(b, "SELECT CONNECTION_ID()")[0][0]}
    assert len(ids) == 2  # each still sees its own id


def test_sessions_take_turns_on_one_connection(cluster, pooled):
    sessions = [pooled.connect(autocommit=True) for _ in range(4)]
    try:
        seen = [q(c, "SELECT @@pseudo_thread_id")[0][0] for c in sessions for _ in range(3)]
        assert len(set(seen)) == 1  # one server connection served them all
        threads_settle(cluster, 1)
    finally:
        for c in sessions:
            c.close()


def test_many_idle_sessions_few_connections(cluster, pooled):
    conns = [pooled.connect(autocommit=False) for _ in range(200)]  # SET AUTOCOMMIT = 0 each
    try:
        # each SET's read-back runs after its client has the OK: the next
        # session may find that connection still busy and open another
        assert app_threads(cluster) <= 4
        for i, c in enumerate(conns[:20]):
            q(c, "SET @n = %s", (i,))
        for i, c in enumerate(conns[:20]):
            assert q(c, "SELECT @n, @@autocommit") == ((i, 0),)
            c.commit()
        # A SET's read-back is answered after the client has its OK: the next
        # session's statement may find that connection busy and take another.
        assert app_threads(cluster) <= 4
    finally:
        for c in conns:
            c.close()


def test_transaction_holds_its_connection(cluster, ab, schema):
    a, b = ab
    q(a, f"BEGIN")
    q(a, f"INSERT INTO {schema}.t (v) VALUES (1)")
    # b cannot take a's connection: it gets its own, and sees nothing.
    assert q(b, f"SELECT COUNT(*) FROM {schema}.t WHERE v = 1") == ((0,),)
    threads_settle(cluster, 2)
    q(a, "COMMIT")
    assert q(b, f"SELECT COUNT(*) FROM {schema}.t WHERE v = 1") == ((1,),)


def test_implicit_transaction_under_autocommit_0(cluster, pooled, schema):
    a = pooled.connect(autocommit=False)
    b = pooled.connect(autocommit=True)
    try:
        q(a, f"INSERT INTO {schema}.t (v) VALUES (2)")  # opens a transaction
        assert q(b, f"SELECT COUNT(*) FROM {schema}.t WHERE v = 2") == ((0,),)
        a.rollback()
        assert q(a, f"SELECT COUNT(*) FROM {schema}.t WHERE v = 2") == ((0,),)
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("setup,check", [
    ("CREATE TEMPORARY TABLE tmp1 (x INT)", "SELECT COUNT(*) FROM tmp1"),
    ("LOCK TABLES pooldb.t READ", "SELECT COUNT(*) FROM pooldb.t"),
    ("SELECT GET_LOCK('pool_lock', 0)", "SELECT IS_USED_LOCK('pool_lock') = CONNECTION_ID()"),
])
def test_state_that_cannot_move_pins(cluster, pooled, schema, setup, check):
    a = pooled.connect(autocommit=True, database=schema)
    b = pooled.connect(autocommit=True)
    try:
        q(a, setup)
        for _ in range(3):
            q(b, "SELECT 1")
            q(a, check)  # runs on the connection that has the table or lock
        threads_settle(cluster, 2)
    finally:
        a.close()
        b.close()


def test_xa_transaction_holds_until_it_ends(cluster, ab, schema):
    a, b = ab
    q(a, "XA START 'pool1'")
    q(a, f"INSERT INTO {schema}.t (v) VALUES (3)")
    q(a, "XA END 'pool1'")
    q(b, "SELECT 1")
    q(a, "XA PREPARE 'pool1'")
    q(b, "SELECT 1")
    threads_settle(cluster, 2)
    q(a, "XA COMMIT 'pool1'")
    assert q(b, f"SELECT COUNT(*) FROM {schema}.t WHERE v = 3") == ((1,),)


def test_last_insert_id_stays_the_sessions(cluster, ab, schema):
    a, b = ab
    q(a, f"INSERT INTO {schema}.t (v) VALUES (10)")
    a_id = q(a, "SELECT LAST_INSERT_ID()")[0][0]
    q(b, f"INSERT INTO {schema}.t (v) VALUES (11)")
    b_id = q(b, "SELECT LAST_INSERT_ID()")[0][0]
    assert b_id > a_id
    # An explicit id changes the insert id of the OK, not LAST_INSERT_ID().
    q(a, f"INSERT INTO {schema}.t (id, v) VALUES (%s, 12)", (b_id + 100,))
    assert q(a, "SELECT LAST_INSERT_ID(), @@last_insert_id") == ((a_id, a_id),)
    assert q(b, "SELECT LAST_INSERT_ID()") == ((b_id,),)
    q(b, "SELECT LAST_INSERT_ID(77)")
    assert q(a, "SELECT LAST_INSERT_ID()") == ((a_id,),)
    assert q(b, "SELECT LAST_INSERT_ID()") == ((77,),)
    assert app_threads(cluster) <= 2


def test_last_insert_id_read_when_another_session_takes_it(cluster, ab, schema):
    """An insert's LAST_INSERT_ID() stays unread on the connection the
    session gives back: the session that takes that connection next reads
    it (SELECT LAST_INSERT_ID()) for its owner before its own statement,
    and the owner taking it back reads nothing. Counted on the server
    connection itself (its Com_select), which both sessions share."""
    a, b = ab

    def com_select(c):
        return int(q(c, "SHOW SESSION STATUS LIKE 'Com_select'")[0][1])

    q(a, f"INSERT INTO {schema}.t (v) VALUES (1)")
    a_id = q(a, "SELECT LAST_INSERT_ID()")[0][0]
    before = com_select(a)
    for i in range(3):
        q(a, f"INSERT INTO {schema}.t (v) VALUES (2)")
    q(a, f"INSERT INTO {schema}.t (id, v) VALUES (%s, 3)", (a_id + 1000,))  # an explicit id
    assert com_select(a) == before  # no read-back between a's statements
    assert app_threads(cluster) == 1
    # b takes that connection: a's value is read for a first, and b's own
    # (0, nothing inserted) is set there before b's statement
    assert q(b, "SELECT LAST_INSERT_ID()") == ((0,),)
    assert q(a, "SELECT LAST_INSERT_ID()") == ((a_id + 3,),)
    assert q(b, "SELECT LAST_INSERT_ID()") == ((0,),)
    assert app_threads(cluster) == 1


def test_last_insert_id_kept_across_a_reload(cluster, pooled, ab, schema):
    """A reload between an insert and the statement that reads its
    LAST_INSERT_ID(): the pool drops the old config's idle connections,
    and the one that holds a session's value unread goes back to that
    session first, so the value is the one the server gave the insert, as
    it is without a reload (tools/soak --short: its one error outside a
    failover was 1927 "... which held this session's LAST_INSERT_ID()",
    right after a reload of an unchanged config)."""
    a, b = ab
    sock = f"/tmp/halyard-{pooled.port}.sock"
    for v in range(3):
        # b holds a connection while a inserts on another, then gives it
        # back: the reload has one idle connection to drop besides a's
        q(b, "BEGIN")
        q(b, f"SELECT COUNT(*) FROM {schema}.t")
        q(a, f"INSERT INTO {schema}.t (v) VALUES (%s)", (v,))
        a_id = a.insert_id()
        q(b, "COMMIT")
        closed = admin_json(sock, "show stats")["pool_closed_age"]
        pooled.reload()  # the same file
        wait_until(lambda: admin_json(sock, "show stats")["pool_closed_age"] > closed,
                   what="the reload's drop of the old config's idle connections")
        assert q(a, "SELECT LAST_INSERT_ID()") == ((a_id,),)
        assert q(a, f"SELECT v FROM {schema}.t WHERE id = LAST_INSERT_ID()") == ((v,),)
    assert "LAST_INSERT_ID() was on" not in pooled.log_text()


def test_warnings_stay_with_their_session(cluster, ab):
    a, b = ab
    q(a, "SELECT 1/0")
    # a keeps its connection while its warning may be asked for: b
    # runs elsewhere and sees none of it.
    assert q(b, "SHOW WARNINGS") == ()
    assert q(b, "SELECT @@warning_count") == ((0,),)
    assert [r[1] for r in q(a, "SHOW WARNINGS")] == [1365]
    q(a, "SELECT 1 FROM DUAL")  # no table: the warning stays
    assert [r[1] for r in q(a, "SHOW WARNINGS")] == [1365]
    q(a, "DO (SELECT 1 FROM (SELECT 1) AS t)")  # uses a table: cleared
    assert q(a, "SHOW WARNINGS") == ()
    # a connection another session left warnings on is cleared first
    q(b, "SELECT 1/0")
    q(b, "DO (SELECT 1 FROM (SELECT 1) AS t)")
    assert q(a, "SHOW WARNINGS") == ()


def test_schema_moves_and_comes_back(cluster, pooled, ab, schema):
    a, b = ab
    q(a, f"USE {schema}")
    assert q(a, "SELECT DATABASE()") == ((schema,),)
    assert q(b, "SELECT DATABASE()") == ((None,),)
    assert q(a, "SELECT DATABASE()") == ((schema,),)
    c = pooled.connect(autocommit=True, database="mysql")
    d = pooled.connect(autocommit=True, database="mysql")
    try:
        q(c, f"USE {schema}")
        assert q(d, "SELECT DATABASE()") == (("mysql",),)
        assert q(c, "SELECT DATABASE()") == ((schema,),)
    finally:
        c.close()
        d.close()


def test_prepared_statements_move_between_connections(cluster, ab, schema):
    a, b = ab
    q(a, f"INSERT INTO {schema}.t (v) VALUES (20), (21)")
    q(a, f"PREPARE s FROM 'SELECT v FROM {schema}.t WHERE v = ?'")
    q(b, "PREPARE s FROM 'SELECT 42'")
    for _ in range(3):
        q(a, "SET @p = 21")
        assert q(a, "EXECUTE s USING @p") == ((21,),)
        assert q(b, "EXECUTE s") == ((42,),)


def com_stmt_prepares(cluster):
    return int(cluster.sql(0, "SHOW GLOBAL STATUS LIKE 'Com_stmt_prepare'")[0][1])


def prepared_on_server(cluster):
    return int(cluster.sql(0, "SHOW GLOBAL STATUS LIKE 'Prepared_stmt_count'")[0][1])


def pool_stat(h, name):
    return admin_json(f"/tmp/halyard-{h.port}.sock", "show stats")[name]


def int_param(v, types=True):
    """An EXECUTE's parameter block for one INT: NULL bitmap, then the
    types (new_params_bound_flag 1) or not (0: the previous ones)."""
    return b"\x00" + (b"\x01\x03\x00" if types else b"\x00") + v.to_bytes(4, "little")


def test_prepared_statements_stay_on_pooled_connections(cluster, start_halyard, schema):
    """A pooled connection keeps what it prepared for the next session
    (pool_stmt_cache): two sessions alternating on one connection execute
    the same statement with no prepare on the server after the first, the
    second's own copy closed; a client's COM_STMT_CLOSE leaves the other's
    usable; past the bound the least recently used of earlier sessions are
    closed when the next gives the connection back (a session's own stay),
    and what a session had there is prepared again when it next runs."""
    from test_ps import binary_rows, execute, prepare
    h = capped(start_halyard, cluster, pool_stmt_cache=3)  # one connection for both
    cluster.sql(0, f"CREATE OR REPLACE TABLE {schema}.ps (v INT)")
    cluster.sql(0, f"INSERT INTO {schema}.ps VALUES (1), (2), (3)")
    sql = "SELECT v * 10 FROM ps WHERE v = ?"
    a, b = RawConn("127.0.0.1", h.port), RawConn("127.0.0.1", h.port)
    try:
        for c in (a, b):
            c.login(APP_USER, APP_PASSWORD, db=schema)
        sa, _, _ = prepare(a, sql)
        sb, _, _ = prepare(b, sql)

        def run(c, stmt, v, types=True):
            (row,) = binary_rows(execute(c, stmt, params=int_param(v, types)), 1)
            return int.from_bytes(row[:8], "little")

        assert run(a, sa, 1) == 10 and run(b, sb, 2) == 20
        assert app_threads(cluster) == 1
        before, cached = com_stmt_prepares(cluster), pool_stat(h, "pool_stmt_cached")
        for i in range(6):  # b without types: halyard adds those it sent last
            assert run(a, sa, 1 + i % 3) == 10 * (1 + i % 3)
            assert run(b, sb, 3, types=False) == 30
        assert com_stmt_prepares(cluster) == before  # the old code prepared at each turn
        assert pool_stat(h, "pool_stmt_cached") - cached >= 12
        assert prepared_on_server(cluster) == 1  # b's copy was closed
        a.send_packet(b"\x19" + sa.to_bytes(4, "little"), seq=0)  # COM_STMT_CLOSE, no answer
        assert run(b, sb, 1, types=False) == 10
        assert prepared_on_server(cluster) == 1  # kept for the next session
        # a session with more statements than the bound keeps them all there
        extra = [prepare(a, f"SELECT v + {k} FROM ps WHERE v = ?")[0] for k in range(5)]
        for k, st in enumerate(extra):
            assert run(a, st, 1) == 1 + k
        assert a.value("SELECT 1") == "1"
        # a's give-back kept its own 5 and closed the one it had closed
        # itself (b's too, but b does not hold the connection)
        assert prepared_on_server(cluster) == 5
        evicted = pool_stat(h, "pool_stmt_evicted")
        # the next session's give-back closes the least recently used of
        # them down to the bound, never its own
        assert run(b, sb, 3, types=False) == 30
        wait_until(lambda: prepared_on_server(cluster) == 3,
                   what=f"pool_stmt_cache statements (has {prepared_on_server(cluster)})")
        assert pool_stat(h, "pool_stmt_evicted") - evicted == 3
        for k, st in enumerate(extra):  # what was closed is prepared again
            assert run(a, st, 2) == 2 + k
        assert run(b, sb, 3, types=False) == 30
    finally:
        a.close()
        b.close()


def test_broken_pooled_connection_is_replaced(cluster, pooled):
    a = pooled.connect(autocommit=True)
    try:
        q(a, "SET @keep = 5")
        tid = q(a, "/* halyard: primary */ SELECT @@pseudo_thread_id")[0][0]
        cluster.sql(0, f"KILL {tid}")  # the pooled, idle connection dies
        wait_until(lambda: app_threads(cluster) == 0, what="the killed connection gone")
        assert q(a, "SELECT @keep") == ((5,),)
        threads_settle(cluster, 1)
    finally:
        a.close()


def idle_in_pools(h):
    pools = admin_json(f"/tmp/halyard-{h.port}.sock", "show pools")
    return sum(row["idle"] for row in pools["pools"])


def waiting_in_pools(h, n):
    """Wait until `n` statements wait for a pooled connection: those sent
    from other threads have reached halyard (a thread may be slow to send
    on a loaded host; a fixed sleep let the next step overtake it)."""
    def waiting():
        pools = admin_json(f"/tmp/halyard-{h.port}.sock", "show pools")
        return sum(row["waiting"] for row in pools["pools"])
    wait_until(lambda: waiting() == n, timeout=10, what=f"{n} statements waiting for a connection")


def test_statements_prepared_again_after_a_broken_pooled_connection(cluster, pooled, schema):
    """The session's statements died with its pooled connection: the next
    EXECUTE prepares them again on the one it opens (it got 1243, the dead
    connection's statement id, before)."""
    cluster.sql(0, f"CREATE OR REPLACE TABLE {schema}.ps (v INT)")
    c = RawConn("127.0.0.1", pooled.port)
    try:
        c.login(APP_USER, APP_PASSWORD, db=schema)
        c.send_packet(b"\x16INSERT INTO ps (v) VALUES (?)", seq=0)
        sid = int.from_bytes(c.read_payload()[1:5], "little")
        for _ in range(2):  # the parameter's definition and its EOF
            c.read_payload()

        def execute(v):
            return c.command(0x17, sid.to_bytes(4, "little") + b"\x00\x01\x00\x00\x00"
                             + b"\x00\x01\x03\x00" + v.to_bytes(4, "little"))
        execute(1)
        tid = int(c.value("SELECT @@pseudo_thread_id"))
        cluster.sql(0, f"KILL {tid}")  # the pooled, idle connection dies
        wait_until(lambda: app_threads(cluster) == 0, what="the killed connection gone")
        wait_until(lambda: idle_in_pools(pooled) == 0, what="the pool dropped it")
        assert execute(2)[:2] == b"\x00\x01"
    finally:
        c.close()
    assert sorted(r[0] for r in cluster.sql(0, f"SELECT v FROM {schema}.ps")) == [1, 2]


def test_pool_min_idle_keeps_connections_open(cluster, start_halyard):
    """pool_min_idle: once a session of the user gave one back, the pool
    opens connections until it has that many idle, keeps them past
    pool_idle_timeout_ms, and replaces one the server closes."""
    no_app_threads(cluster)
    h = start_halyard(workers=1, pool_mode="transaction", read_write_split=False,
                      pool_min_idle=3, pool_idle_timeout_ms=300)
    assert app_threads(cluster) == 0  # no session yet: nobody to log in as
    a = h.connect(autocommit=True)
    try:
        q(a, "SET @keep = 7")
        wait_until(lambda: app_threads(cluster) == 3, timeout=5,
                   what=f"3 connections of app (has {app_threads(cluster)})")
        time.sleep(1.5)  # past pool_idle_timeout_ms, a sweep or two
        assert app_threads(cluster) == 3
        assert idle_in_pools(h) == 3
        tid = cluster.sql(0, "SELECT ID FROM information_schema.PROCESSLIST "
                             "WHERE USER = 'app' ORDER BY ID LIMIT 1")[0][0]
        cluster.sql(0, f"KILL {tid}")
        wait_until(lambda: app_threads(cluster) == 3 and idle_in_pools(h) == 3, timeout=5,
                   what="the killed idle connection replaced")
        assert q(a, "SELECT @keep") == ((7,),)  # whichever it takes, the session's own state
        row = next(r for r in admin_json(f"/tmp/halyard-{h.port}.sock", "show pools")["pools"]
                   if r["user"] == "app")
        assert row["opened"] >= 4 and row["closed"] >= 1
    finally:
        a.close()


def test_session_mode_keeps_a_connection_per_session(cluster, start_halyard):
    no_app_threads(cluster)
    h = start_halyard(workers=1, pool_mode="session", read_write_split=False)
    conns = [h.connect(autocommit=True) for _ in range(5)]
    try:
        for c in conns:
            q(c, "SELECT 1")
        threads_settle(cluster, 5)
    finally:
        for c in conns:
            c.close()


def test_show_pools_sessions_and_metrics(cluster, start_halyard, schema):
    mport = free_port()
    no_app_threads(cluster)
    pooled = start_halyard(workers=1, pool_mode="transaction", read_write_split=False,
                           metrics_port=mport)
    path = f"/tmp/halyard-{pooled.port}.sock"
    a = pooled.connect(autocommit=True)
    b = pooled.connect(autocommit=True)
    try:
        q(a, "BEGIN")
        q(a, f"SELECT COUNT(*) FROM {schema}.t")
        q(b, "SELECT 1")
        pools = admin_json(path, "show pools")
        assert pools["missing_workers"] == []
        row = next(r for r in pools["pools"] if r["user"] == "app")
        assert (row["in_use"], row["idle"]) == (1, 1)  # a's transaction, b's given back
        holds = sorted(str(s["holds"]) for s in admin_json(path, "show sessions")["sessions"])
        assert holds == sorted(["None", f"{row['backend']}: transaction"])
        q(a, "COMMIT")
        pools = admin_json(path, "show pools")
        row = next(r for r in pools["pools"] if r["user"] == "app")
        assert (row["in_use"], row["idle"]) == (0, 2)
        q(b, "SELECT 1")  # takes one, gives it back
        # show stats reads the workers' counters as they are: b's statement
        # may still be ending in its worker
        stats = wait_until(lambda: (lambda st: st if st["pool_idle"] == 2 else None)(
            admin_json(path, "show stats")), timeout=5, what="2 idle in show stats")
        assert stats["pool_returned"] >= 2 and stats["pool_taken"] >= 1
        # what the pools did: two connections opened, none closed, and a
        # connection taken after the other session was brought to b's state
        row = next(r for r in admin_json(path, "show pools")["pools"] if r["user"] == "app")
        assert (row["opened"], row["closed"], row["waiting"], row["waits"]) == (2, 0, 0, 0)
        restores = row["restores"]
        c = pooled.connect(autocommit=True)
        q(c, "SELECT 1")  # a new session takes a connection a or b used
        c.close()
        row = next(r for r in admin_json(path, "show pools")["pools"] if r["user"] == "app")
        assert row["restores"] > restores
        metrics = scrape(mport)
        assert f'halyard_pool_opened_total{{backend="{row["backend"]}",user="app"}} 2' in metrics
        assert f'halyard_pool_restores_total{{backend="{row["backend"]}",user="app"}} ' \
            f'{row["restores"]}' in metrics
    finally:
        a.close()
        b.close()


def test_found_rows_and_row_count_stay_the_sessions(cluster, pooled, schema):
    """Session a's statements, with b's run between them through halyard,
    give what the same statements give on one direct connection."""
    a = pooled.connect(autocommit=True)
    b = pooled.connect(autocommit=True)
    direct = cluster.connect(0, autocommit=True)
    steps = [
        (f"SELECT v FROM {schema}.t LIMIT 2", f"SELECT v FROM {schema}.t"),
        ("SELECT FOUND_ROWS(), ROW_COUNT() AS rc", None),
        (f"UPDATE {schema}.t SET v = v + 10 WHERE v <= 2", f"INSERT INTO {schema}.t (v) VALUES (6)"),
        ("SELECT ROW_COUNT(), FOUND_ROWS()", None),
        (f"SELECT v FROM {schema}.t LIMIT 3", None),  # back to back: the server answers
        ("SELECT FOUND_ROWS()", f"DELETE FROM {schema}.t WHERE v = 6"),
        ("SELECT ROW_COUNT()", None),
        # SQL_CALC_FOUND_ROWS keeps the connection for the FOUND_ROWS() after it
        (f"SELECT SQL_CALC_FOUND_ROWS v FROM {schema}.t LIMIT 1", "SELECT 1"),
        ("SELECT FOUND_ROWS()", None),
        # so does a LIMIT with an offset: FOUND_ROWS() counts the rows
        # skipped as well (MDEV-9390, mtr main.select_found)
        (f"SELECT v FROM {schema}.t ORDER BY v LIMIT 2, 1", "SELECT 1"),
        ("SELECT FOUND_ROWS()", None),
        (f"SELECT v FROM {schema}.t ORDER BY v LIMIT 1 OFFSET 3", "SELECT 1"),
        ("SELECT FOUND_ROWS()", None),
    ]
    try:
        for c, table in ((a, "t"), (direct, "t2")):
            if table != "t":
                q(c, f"CREATE TABLE IF NOT EXISTS {schema}.{table} LIKE {schema}.t")
            q(c, f"DELETE FROM {schema}.{table}")
            q(c, f"INSERT INTO {schema}.{table} (v) VALUES (1), (2), (3), (4), (5)")
        for mine, other in steps:
            with a.cursor() as cur, direct.cursor() as dcur:
                cur.execute(mine)
                dcur.execute(mine.replace(f"{schema}.t", f"{schema}.t2"))
                got, want = cur.fetchall(), dcur.fetchall()
                if "FOUND_ROWS()" in mine or "ROW_COUNT()" in mine:
                    assert got == want, mine
                    assert [d[0] for d in cur.description] == [d[0] for d in dcur.description]
            if other is not None:
                q(b, other)
    finally:
        a.close()
        b.close()
        direct.close()


def test_found_rows_after_a_limit_offset_on_replicas(cluster, start_halyard, schema):
    """FOUND_ROWS() after `LIMIT offset, n` counts the rows skipped too
    (MDEV-9390): with reads spread over the replicas, it runs where that
    SELECT ran, on the connection kept for it (it gave the rows sent)."""
    h = start_halyard(workers=1, pool_mode="transaction", consistency="eventual")
    cluster.sql(0, f"DELETE FROM {schema}.t")
    cluster.sql(0, f"INSERT INTO {schema}.t (v) VALUES (1), (2), (3), (4), (5)")
    cluster.sync()
    a = h.connect(autocommit=True)
    try:
        for _ in range(4):  # over both replicas
            assert q(a, f"SELECT v FROM {schema}.t ORDER BY v LIMIT 2, 1") == ((3,),)
            assert q(a, "SELECT FOUND_ROWS()") == ((3,),)
            assert q(a, f"SELECT v FROM {schema}.t ORDER BY v LIMIT 1 OFFSET 3") == ((4,),)
            assert q(a, "SELECT FOUND_ROWS()") == ((4,),)
    finally:
        a.close()


def test_warnings_cleared_by_a_read_on_a_replica(cluster, start_halyard, schema):
    """A ROLLBACK's warning stays on the primary's connection, kept for it;
    a read of a table on a replica then clears the session's warnings (as
    on the server), so @@warning_count and SHOW WARNINGS, which follow the
    diagnostics, see none there, though that connection went back to the
    pool (they read the primary's, mtr main.rollback)."""
    h = start_halyard(workers=1, pool_mode="transaction")
    cluster.sql(0, f"CREATE OR REPLACE TABLE {schema}.m (n INT) ENGINE=MyISAM")
    cluster.sync()
    a = h.connect(autocommit=True)
    try:
        q(a, "BEGIN")
        q(a, f"INSERT INTO {schema}.m VALUES (4)")
        q(a, "ROLLBACK")
        assert q(a, "SELECT @@warning_count") == ((1,),)
        assert [r[1] for r in q(a, "SHOW WARNINGS")] == [1196]
        assert q(a, f"SELECT n FROM {schema}.m") == ((4,),)  # a replica: clears them
        assert q(a, "SELECT @@warning_count") == ((0,),)
        assert q(a, "SHOW WARNINGS") == ()
    finally:
        a.close()


def test_quit_gives_the_connection_to_the_next_session(cluster, pooled):
    a = pooled.connect(autocommit=True)
    tid = q(a, "SELECT @@pseudo_thread_id")[0][0]
    a.close()  # COM_QUIT: the connection goes back, logged in
    b = pooled.connect(autocommit=True)
    try:
        assert q(b, "SELECT @@pseudo_thread_id")[0][0] == tid
        threads_settle(cluster, 1)
    finally:
        b.close()


def test_client_gone_mid_result_closes_that_connection(cluster, pooled):
    """A connection left in the middle of a result is closed, never pooled.
    (The table is named with its schema: without one the statement failed
    with 1046, no result started, and the test passed only because an
    error kept the connection with the session until it closed.)"""
    import socket
    from test_core import raw_login
    c = raw_login(pooled)
    c.send_packet(b"\x03SELECT seq, REPEAT('y', 1000) FROM mysql.seq_1_to_2000000", seq=0)
    assert c.read_packet() == b"\x02"  # the column count: the result has started
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
    c.close()  # with a reset
    threads_settle(cluster, 0)
    d = pooled.connect(autocommit=True)
    try:
        assert q(d, "SELECT 1") == ((1,),)
    finally:
        d.close()


def capped(start_halyard, cluster, **kw):
    """A halyard whose primary takes one connection."""
    from util import default_halyard_settings
    backends = default_halyard_settings(cluster, 0)["backends"]
    backends[0]["max_connections"] = 1
    no_app_threads(cluster)
    return start_halyard(backends=backends, workers=1, pool_mode="transaction",
                         read_write_split=False, **kw)


def test_an_error_gives_the_connection_back(cluster, start_halyard):
    """A statement that fails in autocommit gives its connection back at
    once: b runs on the primary's one connection right after a's error
    (before, a kept it until a statement that used a table, and b waited,
    then got 1040). a's diagnostics are still its error, raised again where
    it reads them (SIGNAL), and b never sees them."""
    h = capped(start_halyard, cluster, pool_wait_timeout_ms=300)
    path = f"/tmp/halyard-{h.port}.sock"
    a = h.connect(autocommit=True)
    b = h.connect(autocommit=True)
    err = (1146, "Table 'mysql.no_such_table' doesn't exist")
    try:
        for _ in range(2):
            with pytest.raises(pymysql.err.ProgrammingError) as e:
                q(a, "SELECT * FROM mysql.no_such_table")
            assert e.value.args == err
            holds = [s["holds"] for s in admin_json(path, "show sessions")["sessions"]]
            assert holds == [None, None]
            assert q(b, "SELECT 1") == ((1,),)  # the one connection is free
            assert q(b, "SHOW WARNINGS") == ()
            assert q(a, "SHOW WARNINGS") == (("Error",) + err,)
            assert q(a, "SELECT @@warning_count, @@error_count") == ((1, 1),)
            assert q(b, "SELECT @@error_count") == ((0,),)
        q(a, "SELECT 1 FROM DUAL")  # no table: the error stays, as on the server
        assert q(b, "SELECT 2") == ((2,),)
        assert q(a, "SHOW ERRORS") == (("Error",) + err,)
        with pytest.raises(pymysql.err.ProgrammingError) as e:
            q(a, "SELEC 1")  # a syntax error
        assert e.value.args[0] == 1064
        assert q(b, "SELECT 3") == ((3,),)
        assert [r[1] for r in q(a, "SHOW WARNINGS")] == [1064]
        q(a, "DO (SELECT 1 FROM (SELECT 1) AS t)")  # uses a table: cleared
        assert q(b, "SELECT 4") == ((4,),)
        assert q(a, "SHOW WARNINGS") == ()
        assert app_threads(cluster) == 1
    finally:
        a.close()
        b.close()


def test_login_with_a_schema_takes_a_pooled_connection_or_waits(cluster, start_halyard, schema):
    """A login naming a schema checks it on the primary: an idle pooled
    connection of that schema serves (no new one per login), and at
    max_connections the login waits like a statement, then gets 1040 (it
    hung, and the login timer then crashed halyard)."""
    h = capped(start_halyard, cluster, pool_wait_timeout_ms=600, login_timeout_ms=3000)
    a = h.connect(autocommit=True, database=schema)
    b = h.connect(autocommit=True, database=schema)  # a's connection, given back
    try:
        assert q(a, "SELECT DATABASE()") == ((schema,),)
        assert q(b, "SELECT DATABASE()") == ((schema,),)
        assert app_threads(cluster) == 1
        q(a, "BEGIN")  # a holds the one connection
        with pytest.raises(pymysql.err.OperationalError) as e:
            h.connect(autocommit=True, database=schema, connect_timeout=10)
        assert e.value.args[0] == 1040, e.value.args
        assert "max_connections 1" in e.value.args[1]
        q(a, "COMMIT")
        c = h.connect(autocommit=True, database=schema)  # the wait ends when it comes back
        assert q(c, "SELECT DATABASE()") == ((schema,),)
        c.close()
    finally:
        a.close()
        b.close()


def test_a_statement_waits_for_the_connection_in_use(cluster, start_halyard):
    import threading
    import time
    h = capped(start_halyard, cluster)
    a = h.connect(autocommit=True)
    b = h.connect(autocommit=True)
    try:
        q(a, "BEGIN")
        q(a, "SELECT 1")  # a holds the primary's one connection
        done = {}

        def run():
            done["rows"] = q(b, "SELECT 42")
            done["at"] = time.monotonic()
        t = threading.Thread(target=run)
        t.start()
        waiting_in_pools(h, 1)  # waiting, not refused
        assert "rows" not in done
        committed = time.monotonic()
        q(a, "COMMIT")  # gives the connection back: b takes it
        t.join(5)
        # answered once a gave the connection back, not before, and then at once
        assert done["rows"] == ((42,),) and committed < done["at"] < committed + 3.0
        assert app_threads(cluster) == 1
    finally:
        a.close()
        b.close()


def test_waiters_are_served_in_order(cluster, start_halyard):
    import threading
    import time
    mport = free_port()
    h = capped(start_halyard, cluster, metrics_port=mport)
    a, b, c = (h.connect(autocommit=True) for _ in range(3))
    order = []
    try:
        q(a, "BEGIN")
        q(a, "SELECT 1")

        def run(conn, name):
            q(conn, "SELECT SLEEP(0.2)")
            order.append(name)
        tb = threading.Thread(target=run, args=(b, "b"))
        tb.start()
        waiting_in_pools(h, 1)  # b waits first
        tc = threading.Thread(target=run, args=(c, "c"))
        tc.start()
        waiting_in_pools(h, 2)
        time.sleep(0.3)  # the waits' length (below), not an order: that is waited for
        q(a, "COMMIT")
        tb.join(5)
        tc.join(5)
        assert order == ["b", "c"]
        path = f"/tmp/halyard-{h.port}.sock"
        row = next(r for r in admin_json(path, "show pools")["pools"] if r["user"] == "app")
        assert (row["waiting"], row["waits"]) == (0, 2)
        assert 300 <= row["wait_p99_ms"] <= 1000, row  # c waited about 0.5 s, b 0.3 s or more
        assert 'halyard_pool_wait_seconds_count{backend="node0",user="app"} 2' in scrape(mport)
    finally:
        for x in (a, b, c):
            x.close()


def test_the_wait_ends_in_1040_and_the_session_goes_on(cluster, start_halyard):
    import time
    from test_alerts import Receiver, alerts
    hook = Receiver()
    h = capped(start_halyard, cluster, pool_wait_timeout_ms=300,
               alerts=alerts(webhook=hook.url))
    a = h.connect(autocommit=True)
    b = h.connect(autocommit=True)
    try:
        q(a, "BEGIN")
        q(a, "SELECT 1")
        t0 = time.monotonic()
        with pytest.raises(pymysql.MySQLError) as e:
            q(b, "SELECT 1")
        assert 0.25 < time.monotonic() - t0 < 2.0
        assert e.value.args == (1040, "Too many connections to backend 'node0' (max_connections 1)")
        q(a, "COMMIT")
        assert q(b, "SELECT 2") == ((2,),)
        ex = hook.wait("pool_exhausted", backend="node0")
        assert ex["severity"] == "warning" and "max_connections 1" in ex["reason"], ex
        hook.wait("pool_available", backend="node0")
    finally:
        a.close()
        b.close()
        hook.close()


def test_reset_connection_is_a_fresh_session(cluster, pooled, schema):
    import rawmysql
    from test_core import raw_login
    c = raw_login(pooled)
    try:
        c.query("SET @x = 1")
        c.query(f"INSERT INTO {schema}.t (v) VALUES (30)")
        assert c.value("SELECT LAST_INSERT_ID()") != "0"
        c.query("SELECT 1/0")  # a warning: the connection stays with the session
        assert c.command(rawmysql.COM_RESET_CONNECTION)[:1] == b"\x00"
        assert c.value("SELECT @x") is None
        assert c.value("SELECT LAST_INSERT_ID()") == "0"
        assert c.value("SELECT @@warning_count") == "0"
        c.query("SET @y = 2")
        c.query(f"INSERT INTO {schema}.t (v) VALUES (31)")
        # now given back between statements: reset without a connection
        assert c.command(rawmysql.COM_RESET_CONNECTION)[:1] == b"\x00"
        assert (c.value("SELECT @y"), c.value("SELECT LAST_INSERT_ID()")) == (None, "0")
    finally:
        c.close()


class CutOnLidRelay(TcpRelay):
    """In front of the primary: the connection on which halyard reads
    LAST_INSERT_ID() back is cut right there, as a primary killed at that
    moment would (tools/pitr-check's kill -9 under sysbench hit it: halyard
    crashed)."""

    def __init__(self, target_port):
        super().__init__(target_port)
        self.cut = 0

    def up(self, data):
        if b"SELECT LAST_INSERT_ID()" in data:
            self.cut += 1
            raise OSError("cut")
        return data


class SlowLidRelay(TcpRelay):
    """In front of the primary: halyard's `SELECT LAST_INSERT_ID()` reaches
    the server a second late; `sent` is set when the first is on its way."""

    def __init__(self, target_port):
        self.sent = threading.Event()
        super().__init__(target_port)

    def up(self, data):
        if b"SELECT LAST_INSERT_ID()" in data:
            self.sent.set()
            time.sleep(1.0)
        return data


def test_last_insert_id_waits_for_the_read_of_another_session(cluster, start_halyard):
    """a's value is unread on the pooled connection when b takes it; while b
    reads it for a (slowed by a second), a asks for it: a's statement waits
    for that read and gets its own value, neither 1927 (the connection is
    not a's any more) nor b's or an older one."""
    schema = schema_with_table(cluster, "poolslow", "v INT")
    relay = SlowLidRelay(cluster.primary_port)
    try:
        backends = default_halyard_settings(cluster, 0)["backends"]
        for b in backends:
            if b["port"] == cluster.primary_port:
                b["port"] = relay.port
        h = start_halyard(workers=1, pool_mode="transaction", read_write_split=False,
                          backends=backends)
        a = h.connect(autocommit=True)
        b = h.connect(autocommit=True)
        q(a, f"INSERT INTO {schema}.t (v) VALUES (1)")
        q(a, f"INSERT INTO {schema}.t (v) VALUES (2)")
        a_id = q(a, f"SELECT MAX(id) FROM {schema}.t")[0][0]
        out = {}
        t = threading.Thread(target=lambda: out.setdefault("b", q(b, "SELECT 7")))
        t.start()
        # b has taken the connection and is reading a's value (a fixed 0.3 s
        # let a's statement go first on a loaded host: then nothing raced)
        assert relay.sent.wait(10), "b's read of a's value never left"
        assert q(a, "SELECT LAST_INSERT_ID()") == ((a_id,),)
        t.join(10)
        assert out["b"] == ((7,),)
        assert q(b, "SELECT LAST_INSERT_ID()") == ((0,),)
        assert "lost with" not in h.log_text()
        a.close()
        b.close()
    finally:
        relay.close()


def test_connection_lost_while_reading_last_insert_id_back(cluster, start_halyard):
    """The backend goes while halyard reads LAST_INSERT_ID() back for the
    session that gave the connection back unread (the next session to take
    that connection reads it, before its own statement): the owner goes on,
    its LAST_INSERT_ID() gone with the connection, so the first statement
    that uses it ends the session with 1927 (never another connection's
    value); the session that took the connection goes on on another one,
    and halyard goes on serving others."""
    schema = schema_with_table(cluster, "poollid", "v INT")
    relay = CutOnLidRelay(cluster.primary_port)
    try:
        backends = default_halyard_settings(cluster, 0)["backends"]
        for b in backends:
            if b["port"] == cluster.primary_port:
                b["port"] = relay.port
        h = start_halyard(workers=1, pool_mode="transaction", read_write_split=False,
                          backends=backends)

        def primary_checked_online():
            b = admin_json(f"/tmp/halyard-{h.port}.sock", "show backends")["backends"][0]
            return b["state"] == "ONLINE" and b["last_check"] not in ("", None)
        # The worker's report counts as a failed check: one before the first
        # check has passed takes the backend DOWN (a race of the test's, not
        # what it is about).
        wait_until(primary_checked_online, 10)
        c = h.connect(autocommit=True)
        q(c, f"INSERT INTO {schema}.t (v) VALUES (1)")
        assert relay.cut == 0  # c's value stays unread on the pooled connection
        d = h.connect(autocommit=True)
        try:
            q(d, f"SELECT COUNT(*) FROM {schema}.t")  # takes it: c's value read first
        except pymysql.err.OperationalError:
            pass  # the worker's report of the cut may take the primary down a moment
        wait_until(lambda: relay.cut == 1, 5, what="the read-back of LAST_INSERT_ID()")
        wait_until(primary_checked_online, 15)
        assert q(d, f"SELECT COUNT(*) FROM {schema}.t") == ((1,),)
        d.close()
        # the session goes on: statements that do not use LAST_INSERT_ID()
        assert q(c, f"SELECT COUNT(*) FROM {schema}.t") == ((1,),)
        q(c, "SET @a = 5")
        assert q(c, "SELECT @a + 1") == ((6,),)
        with pytest.raises(pymysql.err.OperationalError) as e:
            q(c, "SELECT LAST_INSERT_ID()")
        assert e.value.args[0] == 1927, e.value.args
        assert "which held this session's LAST_INSERT_ID(): reconnect" in e.value.args[1]
        with pytest.raises(pymysql.err.Error):
            q(c, "SELECT 1")  # closed
        c.close()
        assert h.alive()
        assert "a statement uses LAST_INSERT_ID(), lost with" in h.log_text()
        c = h.connect(autocommit=True)
        assert q(c, "SELECT 1") == ((1,),)
        c.close()
    finally:
        relay.close()


class CutAfterRelay(TcpRelay):
    """In front of the primary: the connection that sends `text` up is cut
    `delay` seconds after it went to the server (the others go on)."""

    def __init__(self, target_port, text, delay):
        self.text, self.delay, self.cut = text, delay, 0
        super().__init__(target_port)

    def _pump(self, src, dst, hook):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
                if hook == self.up and self.text in data:
                    threading.Thread(target=self._cut, args=(src, dst), daemon=True).start()
        except OSError:
            pass
        for x in (src, dst):
            with contextlib.suppress(OSError):
                x.shutdown(socket.SHUT_RDWR)

    def _cut(self, a, b):
        time.sleep(self.delay)
        self.cut += 1
        for x in (a, b):
            with contextlib.suppress(OSError):
                x.shutdown(socket.SHUT_RDWR)


def test_connection_lost_during_a_statement_that_commits(cluster, start_halyard):
    """A transaction's connection breaks while its statement in flight
    commits it implicitly (a DDL that committed the transaction's INSERT,
    then waits on a table another session holds): the client is not told
    the transaction was rolled back (it was not: the row is there), but
    that whether it committed is unknown (1180). A plain INSERT in flight
    in a transaction is still said rolled back (it is)."""
    schema = schema_with_table(cluster, "poolcommit", "v INT")
    cluster.sql(0, f"DROP TABLE IF EXISTS {schema}.held")
    cluster.sql(0, f"CREATE TABLE {schema}.held (id INT)")
    relay = CutAfterRelay(cluster.primary_port, b"ALTER TABLE", 1.0)
    holder = cluster.connect(0, autocommit=False)
    try:
        backends = default_halyard_settings(cluster, 0)["backends"]
        for b in backends:
            if b["port"] == cluster.primary_port:
                b["port"] = relay.port
        h = start_halyard(workers=1, read_write_split=False, backends=backends)
        with holder.cursor() as cur:  # holds the table's metadata lock
            cur.execute(f"SELECT * FROM {schema}.held")
        c = h.connect(autocommit=True)
        q(c, "BEGIN")
        q(c, f"INSERT INTO {schema}.t (v) VALUES (424242)")
        with pytest.raises(pymysql.err.Error) as e:
            q(c, f"ALTER TABLE {schema}.held ADD COLUMN x INT")
        assert relay.cut == 1
        assert e.value.args[0] == 1180, e.value.args
        assert "whether it committed is unknown" in e.value.args[1], e.value.args
        # and it had committed: the DDL's implicit commit came first
        assert cluster.sql(0, f"SELECT COUNT(*) FROM {schema}.t WHERE v = 424242") == [(1,)]
        c.close()
    finally:
        holder.rollback()
        holder.close()
        relay.close()


def test_restore_by_reset_connection(cluster, pooled, ab):
    """A connection another session left with state SET cannot undo (SET
    SESSION TRANSACTION), or more than one SET's worth of it, is restored
    by COM_RESET_CONNECTION and the taker's own SETs: the same connection
    (no new one), and for b, who set nothing, no SET at all on the server
    where undoing a's 300 variables takes two."""
    a, b = ab
    path = f"/tmp/halyard-{pooled.port}.sock"

    def opened():
        return next(r for r in admin_json(path, "show pools")["pools"]
                    if r["user"] == APP_USER)["opened"]
    root = cluster.root_connect(0)

    def set_statements():
        return int(q(root, "SHOW GLOBAL STATUS LIKE 'Com_set_option'")[0][1])
    try:
        q(a, "SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        q(a, "SET @mine = 'a'")
        assert q(a, "SELECT @@tx_isolation, @mine") == (("SERIALIZABLE", "a"),)
        assert q(b, "SELECT @@tx_isolation, @mine") == (("REPEATABLE-READ", None),)
        assert q(a, "SELECT @@tx_isolation, @mine") == (("SERIALIZABLE", "a"),)
        assert opened() == 1  # was 2: a new connection for b
        assert pool_stat(pooled, "pool_restore_resets") == 1
        # 300 variables with long names: undoing them takes two SETs of
        # buffer_size (16 KiB) each, a reset one command
        name = "v" * 57
        for i in range(100, 400, 6):  # (halyard reads back 8 a SET at most)
            q(a, "SET " + ", ".join(f"@{name}{k} = {k}" for k in range(i, i + 6)))
        assert q(a, f"SELECT @{name}399, @@tx_isolation") == ((399, "SERIALIZABLE"),)
        assert admin_json(path, "show sessions")["sessions"][0]["holds"] is None
        before = set_statements()
        assert q(b, f"SELECT @{name}399, @@tx_isolation") == ((None, "REPEATABLE-READ"),)
        assert set_statements() == before  # nothing to set for b
        assert pool_stat(pooled, "pool_restore_resets") == 2
        assert opened() == 1
    finally:
        root.close()


def test_a_charset_another_session_set_goes_back_to_the_takers_login(cluster, pooled):
    """b logged in with latin1, the server's global character set being
    another, and set none; a (same login) set cp1251 on the connection they
    share. b must get its login's character set back, not the server's
    global one (SET ... = DEFAULT gives that)."""
    a = pooled.connect(autocommit=True, charset="latin1")
    b = pooled.connect(autocommit=True, charset="latin1")
    names = ("SELECT @@character_set_client, @@character_set_connection, "
             "@@character_set_results, @@collation_connection")
    try:
        assert q(a, "SELECT @@global.character_set_client")[0][0] != "latin1"
        login = q(b, names)
        assert login == (("latin1",) * 3 + ("latin1_swedish_ci",),)
        q(a, "SET NAMES cp1251")
        assert q(a, names)[0][0] == "cp1251"
        assert q(b, names) == login
        assert q(b, "SELECT HEX('\u00e9')") == (("E9",),)
        assert q(a, names)[0][0] == "cp1251"
        # the same when what a left needs COM_RESET_CONNECTION to undo
        q(a, "SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        resets = pool_stat(pooled, "pool_restore_resets")
        assert q(b, names) == login
        assert pool_stat(pooled, "pool_restore_resets") == resets + 1
        assert q(a, names)[0][0] == "cp1251"
    finally:
        a.close()
        b.close()


def described(conn, sql):
    """sql's rows, and each column's definition as the client reads it:
    name, type code, length, flags, decimals, character set."""
    with conn.cursor() as cur:
        cur.execute(sql)
        rows = cur.fetchall()
        return [(f.name, f.type_code, f.length, f.flags, f.scale, f.charsetnr)
                for f in cur._result.fields], rows


def test_user_variables_and_their_types_stay_the_sessions(cluster, pooled):
    """Issue 33 item 4: two sessions take turns on one pooled connection.
    What each reads of its variables (values and column definitions: type,
    length, scale, nullability) is what a session that ran the same
    statements reads on the server, whatever the other left on that
    connection: `SET @a = NULL` over the other's integer @a kept its type
    (length 20, not 16777216)."""
    a = pooled.connect(autocommit=True)
    b = pooled.connect(autocommit=True)
    da = cluster.connect(0, autocommit=True)  # a's and b's statements, on the server
    db = cluster.connect(0, autocommit=True)
    try:
        for c in (a, da):
            q(c, "SET @a = 42, @s = 'abc', @d = 1.5, sql_mode = 'ANSI_QUOTES'")
        tid = q(a, "SELECT @@pseudo_thread_id")[0][0]
        for c in (b, db):
            q(c, "SET @a = NULL")
            q(c, "SET @d = NULL")
        for sql in ("SELECT @a", "SELECT @s", "SELECT @d, @a IS NULL", "SELECT @@sql_mode"):
            assert described(b, sql) == described(db, sql), sql
            assert described(a, sql) == described(da, sql), sql
        assert q(a, "SELECT @@pseudo_thread_id")[0][0] == tid  # one connection served both
        assert described(b, "SELECT @a")[0][0][2] > 20  # a new variable's, not a BIGINT's
        # and the other way round
        for c in (b, db):
            q(c, "SET @b = 7")
        for c in (a, da):
            q(c, "SET @b = NULL")
        assert described(a, "SELECT @b") == described(da, "SELECT @b")
        assert described(b, "SELECT @b") == described(db, "SELECT @b")
    finally:
        for c in (a, b, da, db):
            c.close()


def test_set_global_reaches_sessions_that_begin_after_it(cluster, pooled):
    """Issue 33 item 7: a SET GLOBAL (here on the server, as a DBA or
    another halyard would) reaches every session that begins after it, as
    on the server, though the pooled connection it takes logged in before
    it: that connection is reset (COM_RESET_CONNECTION takes the globals
    of now) before it serves the new session. mtr's main.func_json sets
    max_allowed_packet so, then connects."""
    names = "SELECT @@session.sql_mode, @@session.max_allowed_packet, @@session.div_precision_increment"
    root = cluster.root_connect(0)
    old = q(root, names.replace("@@session.", "@@global."))[0]
    a = pooled.connect(autocommit=True)
    try:
        assert q(a, names) == (old,)
        tid = q(a, "SELECT @@pseudo_thread_id")[0][0]  # now back in the pool
        new = ("ANSI_QUOTES", old[1] * 2, old[2] + 3)
        q(root, "SET GLOBAL sql_mode = %s, max_allowed_packet = %s, div_precision_increment = %s",
          new)
        b = pooled.connect(autocommit=True)
        assert q(b, names) == (new,)
        assert q(b, "SELECT @@pseudo_thread_id")[0][0] == tid  # that connection, reset
        assert str(q(b, "SELECT 1 / 3")[0][0]) == "0." + "3" * new[2]
        assert q(b, "SELECT 'a' \"b\"") == (("a",),)  # ANSI_QUOTES: an alias, not 'ab'
        b.close()
        c = pooled.connect(autocommit=True)  # one more: the connection is as young as b
        assert q(c, names) == (new,)
    finally:
        q(root, "SET GLOBAL sql_mode = %s, max_allowed_packet = %s, div_precision_increment = %s",
          old)
        root.close()
        a.close()


def test_reset_connection_counts_session_status_from_zero(cluster, pooled):
    """Issue 33 item 7 (mtr's main.reset_connection): after
    COM_RESET_CONNECTION the session's status counters start from 0, as on
    the server, though between statements its connection was in the pool
    (halyard answers the reset, and resets the connection it takes next)."""
    import rawmysql
    from test_core import raw_login
    c = raw_login(pooled)
    try:
        for _ in range(3):
            c.query("SELECT 1")
        assert int(c.query("SHOW SESSION STATUS LIKE 'Com_select'")[0].rows[0][1]) >= 3
        assert c.command(rawmysql.COM_RESET_CONNECTION)[:1] == b"\x00"
        assert c.query("SHOW SESSION STATUS LIKE 'Com_select'")[0].rows == [("Com_select", "0")]
        c.query("SELECT 1")
        assert c.query("SHOW SESSION STATUS LIKE 'Com_select'")[0].rows == [("Com_select", "1")]
    finally:
        c.close()


def test_change_user_and_login_schema_take_their_own_keys(cluster, start_halyard):
    """A session's pool key (user, login schema) is interned once and kept
    until they change: after COM_CHANGE_USER, with a schema or without, its
    statements run on connections of the new key, never on the idle ones
    of the old one (CURRENT_USER() and DATABASE() as the server says them
    on a direct connection of that login)."""
    from util import mysql_native_hash
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS hypk")
    cluster.sql(0, "CREATE USER IF NOT EXISTS 'hy_pk'@'%' IDENTIFIED BY 'pk'")
    cluster.sql(0, "GRANT SELECT ON *.* TO 'hy_pk'@'%'")
    try:
        h = start_halyard(workers=1, pool_mode="transaction",
                          users=[{"name": APP_USER, "password_hash": mysql_native_hash(APP_PASSWORD)},
                                 {"name": "hy_pk", "password_hash": mysql_native_hash("pk")}])
        other = h.connect(autocommit=True)  # app's connections stay idle in the pool
        q(other, "SELECT 1")
        c = RawConn("127.0.0.1", h.port)
        c.login(APP_USER, APP_PASSWORD)
        steps = [(None, None), ("hy_pk", None), ("hy_pk", "hypk"), (APP_USER, "hypk"), (APP_USER, None)]
        for user, db in steps:
            if user is not None:
                c.change_user(user, APP_PASSWORD if user == APP_USER else "pk", db=db)
            user = user or APP_USER
            for _ in range(3):  # given back and taken again each time
                got = c.query("SELECT CURRENT_USER(), DATABASE()")[0].rows[0]
                q(other, "SELECT 1")
                direct = cluster.connect(0, user=user, password=APP_PASSWORD if user == APP_USER else "pk",
                                         database=db)
                want = q(direct, "SELECT CURRENT_USER(), DATABASE()")[0]
                direct.close()
                assert tuple(v.decode() if isinstance(v, bytes) else v for v in got) == tuple(want), (user, db)
        c.close()
        other.close()
    finally:
        cluster.sql(0, "DROP USER IF EXISTS 'hy_pk'@'%'")
