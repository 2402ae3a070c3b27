"""Read/write splitting: reads outside transactions go to replicas as the
session's consistency allows, everything else to the primary; comment hints
route one statement; session state follows the session onto every backend it
uses.

Whichever backend runs a statement must see exactly the session state the
client set (schema, SET SESSION variables, user variables, SET NAMES):
halyard replays it there first. With replicas delayed by MASTER_DELAY, a
causal session never reads its own write stale while an eventual one does.
The answering server is told apart by @@server_id.
"""

import subprocess
import threading
import time

import pymysql
import pytest

from rawmysql import RawConn
from util import APP_PASSWORD, APP_USER, wait_until, q

REPLICA = "/* halyard: replica */ "


def sid(conn, hint=REPLICA):
    return q(conn, hint + "SELECT @@server_id")[0][0]


@pytest.fixture
def schema(cluster):
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS routing")
    cluster.sql(0, "CREATE TABLE IF NOT EXISTS routing.t (id INT PRIMARY KEY, v VARCHAR(20))")
    cluster.sync()
    return "routing"


PRIMARY = "/* halyard: primary */ "


def test_reads_go_to_replicas_writes_to_the_primary(halyard, cluster, schema, ids):
    primary, replicas = ids
    c = halyard.connect(database=schema, autocommit=True)
    assert {sid(c, hint="") for _ in range(6)} == replicas
    q(c, "REPLACE INTO t VALUES (10, 'split')")
    assert cluster.sql(0, "SELECT v FROM routing.t WHERE id = 10") == [("split",)]
    assert sid(c, hint=PRIMARY) == primary
    # Session-scoped counters are the primary connection's.
    assert q(c, "SHOW SESSION STATUS LIKE 'Com_replace'")[0][1] == "1"


def test_reads_of_the_server_run_time_state_go_to_the_primary(halyard, cluster, schema, ids):
    """The process list, InnoDB's transactions and locks, the metadata
    locks and performance_schema are each server's own: a read of them is
    about where the session's writes and locks are, the primary (mtr's
    wait_condition.inc waits on the process list for another connection's
    DDL there). Other reads still go to the replicas."""
    primary, replicas = ids
    c = halyard.connect(database=schema, autocommit=True)
    blocker = cluster.root_connect(0)
    try:
        q(blocker, "BEGIN")
        q(blocker, "SELECT * FROM routing.t FOR UPDATE")
        ddl = halyard.connect(database=schema, autocommit=True)
        t = threading.Thread(target=lambda: q(ddl, "ALTER TABLE t COMMENT 'hy-mdl'"))
        t.start()
        wait_until(lambda: q(c, "SELECT COUNT(*) FROM information_schema.processlist WHERE "
                                "state = 'Waiting for table metadata lock' AND "
                                "info LIKE 'ALTER TABLE t COMMENT%'")[0][0] == 1,
                   timeout=5, what="the ALTER waiting, seen through halyard")
        assert any(r[7] and r[7].startswith("ALTER TABLE t COMMENT") for r in
                   q(c, "SHOW FULL PROCESSLIST"))
        assert q(c, "select @@server_id from information_schema.INNODB_TRX limit 1")[0][0] == \
            primary
        q(blocker, "COMMIT")
        t.join(10)
    finally:
        blocker.close()
    assert q(c, "SELECT @@server_id, COUNT(*) FROM performance_schema.setup_actors")[0][0] == primary
    assert {sid(c, hint="") for _ in range(6)} == replicas


def test_split_off_sends_everything_to_the_primary(start_halyard, ids):
    primary, replicas = ids
    c = start_halyard(read_write_split=False).connect(autocommit=True)
    assert {sid(c, hint="") for _ in range(6)} == {primary}
    assert sid(c) in replicas  # hints still route


def test_show_warnings_follows_the_previous_statement(halyard, ids):
    c = halyard.connect(autocommit=True)
    for _ in range(4):
        row = q(c, "SELECT @@server_id, CAST('12abc' AS INTEGER)")[0]
        assert row[0] in ids[1]
        warnings = q(c, "SHOW WARNINGS")
        assert len(warnings) == 1 and "12abc" in warnings[0][2], warnings


def delay_replicas(cluster, seconds):
    cluster.delay(1, seconds)
    cluster.delay(2, seconds)


@pytest.mark.parametrize("noop_after", [False, True])
def test_causal_never_reads_its_own_write_stale(start_halyard, cluster, schema, ids, noop_after):
    primary, replicas = ids
    h = start_halyard(consistency="causal", causal_timeout_ms=200)
    c = h.connect(database=schema, autocommit=True)
    delay_replicas(cluster, 2)
    for i in range(6):
        q(c, f"REPLACE INTO t VALUES (20, 'c{i}')")
        if noop_after:  # MariaDB empties @@last_gtid after a statement it did not binlog
            q(c, f"UPDATE t SET v = 'c{i}' WHERE id = 20")
        row = q(c, "SELECT @@server_id, v FROM t WHERE id = 20")[0]
        assert row[1] == f"c{i}", row
    # Once the replicas have the write, the same reads go back to them.
    # Which replica takes each is the router's choice by round trip (on a
    # busy machine one's measured RTT can exceed the other's for a while,
    # and then it takes them all): not asserted here.
    delay_replicas(cluster, 0)
    cluster.sync()
    rows = {q(c, "SELECT @@server_id, v FROM t WHERE id = 20")[0] for _ in range(4)}
    assert rows <= {(r, "c5") for r in replicas}, rows


def test_causal_uses_a_replica_that_caught_up(start_halyard, cluster, schema, ids):
    h = start_halyard(consistency="causal", causal_timeout_ms=2000)
    c = h.connect(database=schema, autocommit=True)
    cluster.delay(1, 3)
    seen = []
    for i in range(6):
        q(c, f"REPLACE INTO t VALUES (21, 'u{i}')")
        row = q(c, "SELECT @@server_id, v FROM t WHERE id = 21")[0]
        assert row[1] == f"u{i}", row
        seen.append(row[0])
    # node2 is not delayed: some reads went to it, none stale.
    assert cluster.server_id(2) in seen, seen
    # A read that waited on node1 in vain ran on the primary; the session's
    # next reads leave node1 until a check saw it catch up (3 s on), so
    # however the round trips compare, not every read pays the 2 s wait.
    assert seen.count(cluster.server_id(0)) <= 2, seen


def test_eventual_reads_replicas_even_when_stale(start_halyard, cluster, schema, ids):
    h = start_halyard(consistency="eventual")
    c = h.connect(database=schema, autocommit=True)
    q(c, "REPLACE INTO t VALUES (22, 'old')")
    cluster.sync()
    delay_replicas(cluster, 3)
    q(c, "REPLACE INTO t VALUES (22, 'new')")
    row = q(c, "SELECT @@server_id, v FROM t WHERE id = 22")[0]
    assert row == (row[0], "old") and row[0] in ids[1], row


def test_strong_reads_the_primary_for_a_window_after_a_write(start_halyard, cluster, schema, ids):
    primary, replicas = ids
    h = start_halyard(consistency="strong", strong_window_ms=600)
    c = h.connect(database=schema, autocommit=True)
    delay_replicas(cluster, 3)
    q(c, "REPLACE INTO t VALUES (23, 'w')")
    assert q(c, "SELECT @@server_id, v FROM t WHERE id = 23")[0] == (primary, "w")
    time.sleep(0.8)
    assert q(c, "SELECT @@server_id")[0][0] in replicas


def test_user_consistency_overrides_the_default(start_halyard, cluster, schema, ids):
    users = [{"name": APP_USER, "password_hash": "*5BCB3E6AC345B435C7C2E6B7949A04CE6F6563D3",
              "consistency": "strong"}]
    h = start_halyard(consistency="eventual", users=users)
    c = h.connect(database=schema, autocommit=True)
    delay_replicas(cluster, 3)
    q(c, "REPLACE INTO t VALUES (24, 'x')")
    assert q(c, "SELECT @@server_id, v FROM t WHERE id = 24")[0] == (ids[0], "x")


def test_replica_fallback_error(start_halyard, cluster, schema, ids):
    backends = [{"name": n["name"], "address": "127.0.0.1", "port": n["port"], "role": n["role"],
                 "weight": 0} for n in cluster.nodes]
    h = start_halyard(replica_fallback="error", backends=backends)
    c = h.connect(database=schema, autocommit=True)
    with pytest.raises(pymysql.err.OperationalError) as e:
        q(c, "SELECT 1")
    assert e.value.args == (1429, "No replica can serve this read (replica_fallback = error)")
    q(c, "REPLACE INTO t VALUES (25, 'w')")  # writes are unaffected
    assert q(c, PRIMARY + "SELECT v FROM t WHERE id = 25") == (("w",),)
    # With the default fallback, the same reads go to the primary.
    c2 = start_halyard(backends=backends).connect(autocommit=True)
    assert sid(c2, hint="") == ids[0]


def test_replica_hint_spreads_reads_over_the_replicas(halyard, ids):
    _, replicas = ids
    c = halyard.connect(autocommit=True)
    seen = [sid(c) for _ in range(8)]
    assert set(seen) == replicas, seen


def test_backend_hint_names_the_server(halyard, cluster, ids):
    c = halyard.connect(autocommit=True)
    assert q(c, "/* halyard: backend=node2 */ SELECT @@server_id")[0][0] == cluster.server_id(2)
    assert q(c, "/*halyard:backend=node1*/ SELECT @@server_id")[0][0] == cluster.server_id(1)
    # An unknown name is the default route.
    assert q(c, "/* halyard: backend=nosuch */ SELECT @@server_id")[0][0] == ids[0]


def test_hinted_write_stays_on_the_primary(halyard, cluster, schema, ids):
    c = halyard.connect(database=schema, autocommit=True)
    q(c, REPLICA + "REPLACE INTO t VALUES (1, 'hinted')")
    assert cluster.sql(0, "SELECT v FROM routing.t WHERE id = 1") == [("hinted",)]
    assert sid(c, hint=REPLICA + "/* FOR UPDATE below */ ") in ids[1]
    assert q(c, REPLICA + "SELECT @@server_id FROM DUAL FOR UPDATE")[0][0] == ids[0]


def test_session_state_is_replayed_on_replicas(halyard, schema, ids):
    c = halyard.connect(autocommit=True)
    q(c, "SET SESSION sql_mode = 'ANSI_QUOTES,NO_ZERO_DATE'")
    q(c, "SET time_zone = '+05:30'")
    q(c, "SET @who = 'me', @n = 7")
    q(c, "SET NAMES latin1")
    q(c, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
    q(c, "USE mysql")
    c.select_db(schema)  # COM_INIT_DB after USE: the last one wins
    want = ("ANSI_QUOTES,NO_ZERO_DATE", "+05:30", "me", 7, "latin1", "READ-COMMITTED", schema)
    seen = set()
    for _ in range(4):
        row = q(c, REPLICA + "SELECT @@server_id, @@sql_mode, @@time_zone, @who, @n, "
                             "@@character_set_client, @@tx_isolation, DATABASE()")[0]
        seen.add(row[0])
        assert row[1:] == want
    assert seen == ids[1]
    # A later change reaches replicas that already replayed the earlier ones.
    q(c, "SET @n = 8")
    assert {q(c, REPLICA + "SELECT @@server_id, @n")[0] for _ in range(4)} == \
        {(r, 8) for r in ids[1]}


def test_state_does_not_leak_between_sessions(halyard, ids):
    a = halyard.connect(autocommit=True)
    b = halyard.connect(autocommit=True)
    q(a, "SET @secret = 'a-only'")
    q(a, "SET SESSION sql_mode = 'ANSI_QUOTES'")
    for _ in range(4):
        assert q(a, REPLICA + "SELECT @secret")[0][0] == "a-only"
        assert q(b, REPLICA + "SELECT @secret, @@sql_mode LIKE '%ANSI_QUOTES%'")[0] == (None, 0)


def test_state_every_replica_refuses_sends_the_read_to_the_primary(halyard, cluster, ids):
    """A schema only the primary has (made with sql_log_bin=0): replaying
    the USE fails on each replica with 1049. The read must end up on the
    primary after one other replica, not bounce between the two replicas
    for ever (it did: the client hung and the log grew by thousands of
    lines a second)."""
    def unlogged(sql):
        root = cluster.root_connect(0)
        try:
            q(root, "SET SESSION sql_log_bin = 0")
            q(root, sql)
        finally:
            root.close()

    unlogged("CREATE DATABASE IF NOT EXISTS primary_only")
    try:
        c = halyard.connect(autocommit=True, read_timeout=10)
        q(c, "USE primary_only")
        t0 = time.monotonic()
        for _ in range(3):
            assert q(c, REPLICA + "SELECT @@server_id, DATABASE()")[0] == (ids[0], "primary_only")
        assert time.monotonic() - t0 < 5
        assert halyard.log_contains("replaying session state failed with error 1049")
        assert halyard.log_text().count("sending the statement meant for") <= 6
    finally:
        unlogged("DROP DATABASE IF EXISTS primary_only")


def test_no_backslash_escapes_is_lexed_as_the_server_does(halyard, cluster, schema):
    """Under sql_mode NO_BACKSLASH_ESCAPES a backslash ends nothing, so
    `SELECT 'a\\'; DELETE ...; -- '` is three statements, one of them a
    write. Lexed with backslash escapes it is one SELECT of a string, and
    went to a replica, which refused the DELETE (1290) or, with a writable
    replica, would have deleted there. halyard learns the mode from the
    server's status flag."""
    from pymysql.constants import CLIENT
    cluster.sql(0, "REPLACE INTO routing.t VALUES (77, 'nbe')")
    cluster.sync()
    c = halyard.connect(database=schema, autocommit=True,
                        client_flag=CLIENT.MULTI_STATEMENTS)
    q(c, "SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'")
    with c.cursor() as cur:
        cur.execute("SELECT 'a\\'; DELETE FROM t WHERE id = 77; -- '")
        assert cur.fetchall() == (("a\\",),)
        while cur.nextset():
            pass
    assert cluster.sql(0, "SELECT COUNT(*) FROM routing.t WHERE id = 77") == [(0,)]
    # And back: with escapes the same text is one SELECT again (a read).
    q(c, "SET SESSION sql_mode = DEFAULT")
    assert q(c, "SELECT 'a\\'; DELETE FROM t WHERE id = 77; -- '")[0][0] == \
        "a'; DELETE FROM t WHERE id = 77; -- "


def test_ansi_quotes_is_lexed_as_the_server_does(halyard, cluster, schema):
    """Under sql_mode ANSI_QUOTES "..." is a quoted name, which takes no
    backslash escapes, so `SELECT 1 AS "a\\"; DELETE ...; -- "` is a SELECT and
    a DELETE. Lexed as a string it is one SELECT, and went to a replica,
    which refused the DELETE (1290). ANSI_QUOTES has no status flag: halyard
    reads it from the sql_mode the server's session tracking reports, here
    because the client (with CLIENT_SESSION_TRACK) asked for sql_mode to be
    tracked."""
    from pymysql.constants import CLIENT
    cluster.sql(0, "REPLACE INTO routing.t VALUES (78, 'aq')")
    cluster.sync()
    c = halyard.connect(database=schema, autocommit=True,
                        client_flag=CLIENT.MULTI_STATEMENTS | CLIENT.SESSION_TRACK)
    q(c, "SET SESSION session_track_system_variables = 'sql_mode'")
    q(c, "SET SESSION sql_mode = 'ANSI_QUOTES'")
    with c.cursor() as cur:
        cur.execute('SELECT 1 AS "a\\"; DELETE FROM t WHERE id = 78; -- "')
        assert cur.fetchall() == ((1,),)
        while cur.nextset():
            pass
    assert cluster.sql(0, "SELECT COUNT(*) FROM routing.t WHERE id = 78") == [(0,)]
    # And back: without ANSI_QUOTES the same text is one SELECT of a string.
    q(c, "SET SESSION sql_mode = DEFAULT")
    assert q(c, 'SELECT 1 AS "a\\"; DELETE FROM t WHERE id = 78; -- "')[0][0] == 1


def test_sql_mode_is_learned_without_session_tracking(halyard, cluster, schema):
    """The same statement as above from a client that never asked for
    session tracking (pymysql's default): halyard reads back the sql_mode a
    SET gave, whatever the expression, and lexes as the server then does.
    Before, "..." stayed a string here, the DELETE went to a replica inside
    one "SELECT", and the replica refused it (1290)."""
    cluster.sql(0, "REPLACE INTO routing.t VALUES (79, 'aq'), (80, 'aq')")
    cluster.sync()
    from pymysql.constants import CLIENT
    c = halyard.connect(database=schema, autocommit=True, client_flag=CLIENT.MULTI_STATEMENTS)
    confusing = 'SELECT 1 AS "a\\"; DELETE FROM t WHERE id = {}; -- "'

    def run(sql):
        with c.cursor() as cur:
            cur.execute(sql)
            first = cur.fetchall()
            while cur.nextset():
                pass
        return first

    q(c, "SET SESSION sql_mode = CONCAT(@@session.sql_mode, ',ANSI')")
    assert run(confusing.format(79)) == ((1,),)
    assert cluster.sql(0, "SELECT COUNT(*) FROM routing.t WHERE id = 79") == [(0,)]
    # DEFAULT (the global sql_mode, without ANSI_QUOTES here) is learned too:
    # the same text is one SELECT of a string again.
    q(c, "SET SESSION sql_mode = DEFAULT")
    assert run(confusing.format(80))[0][0] == 1
    assert cluster.sql(0, "SELECT COUNT(*) FROM routing.t WHERE id = 80") == [(1,)]


def test_global_sql_mode_applies_from_the_first_statement(start_halyard, cluster, schema):
    """A server whose global sql_mode has ANSI_QUOTES gives it to every new
    connection: halyard learns it from its health checks, so a session's
    very first statement is lexed as the server lexes it."""
    from test_ops import default_socket
    from util import admin_json
    cluster.sql(0, "REPLACE INTO routing.t VALUES (81, 'aq')")
    cluster.sync()
    modes = {n["index"]: cluster.value(n["index"], "SELECT @@global.sql_mode") for n in cluster.nodes}
    try:
        for i, m in modes.items():
            cluster.sql(i, "SET GLOBAL sql_mode = %s", (m + ",ANSI_QUOTES",))
        h = start_halyard()
        wait_until(lambda: all(b["last_check"] == "ok" for b in
                               admin_json(default_socket(h), "show backends")["backends"]),
                   10, what="a first health check of every backend")
        from pymysql.constants import CLIENT
        c = h.connect(database=schema, autocommit=True, client_flag=CLIENT.MULTI_STATEMENTS)
        with c.cursor() as cur:
            cur.execute('SELECT 1 AS "a\\"; DELETE FROM t WHERE id = 81; -- "')
            assert cur.fetchall() == ((1,),)
            while cur.nextset():
                pass
        assert cluster.sql(0, "SELECT COUNT(*) FROM routing.t WHERE id = 81") == [(0,)]
    finally:
        for i, m in modes.items():
            cluster.sql(i, "SET GLOBAL sql_mode = %s", (m,))


def test_select_of_a_stored_function_that_writes_runs_on_the_primary(halyard, cluster, schema,
                                                                      ids):
    """`SELECT f()` where f() inserts: a read to the eye, a write to the
    server. On a replica it failed with 1290 (read_only) for an ordinary
    account, and with a SUPER or READ_ONLY ADMIN account it would have
    written to the replica alone. Built-in functions still read from
    replicas."""
    cluster.sql(0, "DROP FUNCTION IF EXISTS routing.note_call")
    cluster.sql(0, "CREATE FUNCTION routing.note_call(k INT) RETURNS INT DETERMINISTIC MODIFIES SQL DATA "
                   "BEGIN REPLACE INTO routing.t VALUES (k, 'by f'); RETURN k; END")
    cluster.sync()
    c = halyard.connect(database=schema, autocommit=True)
    assert q(c, "SELECT note_call(91), @@server_id") == ((91, ids[0]),)
    assert q(c, "SELECT v FROM t WHERE id = 91") == (("by f",),)
    cluster.sync()
    for i in (1, 2):
        assert cluster.sql(i, "SELECT v FROM routing.t WHERE id = 91") == [("by f",)]
    assert {sid(c, hint="") for _ in range(4)} <= ids[1]  # built-ins: still replicas
    assert q(c, "SELECT CONCAT_WS('-', @@server_id, UUID_SHORT() > 0)")[0][0] in \
        {f"{r}-1" for r in ids[1]}


def test_found_rows_answers_for_the_query_before_it(halyard, cluster, schema):
    """FOUND_ROWS() after SELECT SQL_CALC_FOUND_ROWS ... LIMIT runs where
    that query ran: it went to the primary, which answered 1 (its own last
    statement) instead of the rows the replica found (main.select_found)."""
    cluster.sql(0, "DELETE FROM routing.t WHERE id BETWEEN 500 AND 599")
    cluster.sql(0, "INSERT INTO routing.t VALUES " +
                ", ".join(f"({i}, 'fr')" for i in range(500, 508)))
    cluster.sync()
    c = halyard.connect(database=schema, autocommit=True)
    for _ in range(4):
        rows = q(c, "SELECT SQL_CALC_FOUND_ROWS id FROM t WHERE v = 'fr' ORDER BY id LIMIT 2")
        assert [r[0] for r in rows] == [500, 501]
        assert q(c, "SELECT FOUND_ROWS()") == ((8,),)


def test_a_read_that_falls_back_to_another_replica_waits_for_its_writes(halyard, cluster):
    """The causal wait runs before the session state is replayed. When the
    replay fails on the first replica (a schema the session once used was
    dropped), the read went to the other replica without waiting there,
    and a table the session had just created was not there yet
    (main.having, main.sp). node2 is 3 s behind; whichever replica is tried
    first, the read must see the table."""
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS fb_gone")
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS fb_keep")
    cluster.sync()
    cluster.delay(2, 3)
    try:
        for n in range(4):
            c = halyard.connect(autocommit=True, read_timeout=20)
            q(c, "USE fb_gone")
            q(c, "USE fb_keep")
            q(c, "DROP DATABASE fb_gone")
            time.sleep(0.3)  # node1 has applied the DROP, node2 has not
            q(c, f"CREATE TABLE fb_keep.t{n} (a INT)")
            assert q(c, f"SELECT COUNT(*) FROM fb_keep.t{n}") == ((0,),)
            cluster.sql(0, "CREATE DATABASE IF NOT EXISTS fb_gone")
            c.close()
    finally:
        cluster.delay(2, 0)
        cluster.sql(0, "DROP DATABASE IF EXISTS fb_gone")
        cluster.sql(0, "DROP DATABASE IF EXISTS fb_keep")


def test_a_failed_set_is_not_replayed(halyard, ids):
    c = halyard.connect(autocommit=True)
    with pytest.raises(pymysql.err.OperationalError):
        q(c, "SET SESSION sql_mode = 'NOT_A_MODE'")
    q(c, "SET @ok = 1")
    # The replica would refuse the bad SET too: if it were replayed, the
    # hinted read would fall back or fail instead of answering here.
    assert {q(c, REPLICA + "SELECT @@server_id, @ok")[0] for _ in range(4)} == \
        {(r, 1) for r in ids[1]}


def test_transactions_keep_every_statement_on_the_primary(halyard, schema, ids):
    primary, replicas = ids
    c = halyard.connect(database=schema, autocommit=True)
    q(c, "BEGIN")
    assert sid(c) == primary
    q(c, "REPLACE INTO t VALUES (2, 'in-trx')")
    assert q(c, REPLICA + "SELECT v FROM t WHERE id = 2") == (("in-trx",),)
    q(c, "COMMIT")
    assert sid(c) in replicas
    # autocommit = 0 means every statement is in a transaction.
    q(c, "SET autocommit = 0")
    assert sid(c) == primary
    q(c, "COMMIT")
    assert sid(c) == primary
    q(c, "SET autocommit = 1")
    assert sid(c) in replicas


@pytest.mark.parametrize("pin", [
    "CREATE TEMPORARY TABLE tmp_pin (a INT)",
    "SELECT @v := 1",
    "LOCK TABLES t READ",
    "SET @a = 1; SET @b = 2",
])
def test_unreplayable_state_pins_the_session(halyard, schema, ids, pin):
    primary, replicas = ids
    flags = pymysql.constants.CLIENT.MULTI_STATEMENTS
    c = halyard.connect(database=schema, autocommit=True, client_flag=flags)
    assert sid(c) in replicas
    with c.cursor() as cur:
        cur.execute(pin)
        while cur.nextset():
            pass
    assert {sid(c) for _ in range(4)} == {primary}
    q(c, "UNLOCK TABLES")
    assert {sid(c) for _ in range(4)} == {primary}  # pinned until the session is reset


@pytest.mark.parametrize("reset", ["change_user", "reset_connection"])
def test_session_reset_unpins_and_clears_state(halyard, ids, reset):
    primary, replicas = ids
    r = RawConn("127.0.0.1", halyard.port)
    r.login(APP_USER, APP_PASSWORD)
    r.query("SET @x = 5")
    r.query("SELECT @y := 1")  # pins
    assert r.value(REPLICA + "SELECT @@server_id") == str(primary)
    if reset == "change_user":
        r.change_user(APP_USER, APP_PASSWORD)
    else:
        r.command(0x1F)  # COM_RESET_CONNECTION
    res = [r.query(REPLICA + "SELECT @@server_id, @x")[0].rows[0] for _ in range(4)]
    assert {int(row[0]) for row in res} == replicas
    assert {row[1] for row in res} == {None}


def test_replica_down_reads_fall_back_to_the_primary(start_halyard, cluster, ids):
    primary, _ = ids
    h = start_halyard(connect_timeout_ms=500)
    c = h.connect(autocommit=True)
    q(c, "SET @keep = 'yes'")
    cluster.kill(1)
    cluster.kill(2)
    for _ in range(3):
        assert q(c, REPLICA + "SELECT @@server_id, @keep")[0] == (primary, "yes")
    # Either the connect failed (a worker saw it first) or the monitor had
    # already taken the replicas out.
    h.wait_log(r"sending the statement meant for node[12] to node0 instead|backend node[12]: ONLINE -> DOWN")


def test_replica_lost_while_idle_keeps_the_session(start_halyard, cluster, ids):
    primary, replicas = ids
    # Session mode: connections kept idle by the session (pooled: test_pool).
    h = start_halyard(connect_timeout_ms=500, pool_mode="session")
    c = h.connect(autocommit=True)
    q(c, "SET @keep = 'yes'")
    for _ in range(4):  # connections to both replicas are open and idle now
        assert sid(c) in replicas
    cluster.kill(1)
    wait_until(lambda: h.log_text().count("backend node1: closed the connection") >= 1,
               timeout=5, what="halyard noticing node1 close")
    # The session is intact: the primary still serves it with its state.
    assert q(c, PRIMARY + "SELECT @@server_id, @keep")[0] == (primary, "yes")
    assert {q(c, REPLICA + "SELECT @@server_id, @keep")[0] for _ in range(4)} <= \
        {(cluster.server_id(2), "yes"), (primary, "yes")}


def test_replica_lost_mid_query_runs_it_again_and_keeps_the_session(start_halyard, cluster, ids):
    primary, replicas = ids
    h = start_halyard(connect_timeout_ms=500)
    c = h.connect(autocommit=True, read_timeout=20)
    q(c, "SET @keep = 'yes'")
    target = q(c, "/* halyard: backend=node1 */ SELECT @@server_id")[0][0]
    assert target == cluster.server_id(1)
    out = {}

    def slow():
        try:
            out["row"] = q(c, "/* halyard: backend=node1 */ SELECT SLEEP(2), @@server_id, @keep")[0]
        except pymysql.err.OperationalError as e:
            out["e"] = e

    t = threading.Thread(target=slow)
    t.start()
    wait_until(lambda: cluster.sql(1, "SELECT COUNT(*) FROM information_schema.processlist "
                                      "WHERE id <> CONNECTION_ID() AND info LIKE '%SLEEP(2)%'")[0][0] == 1,
               timeout=5, what="the sleep running on node1")
    cluster.kill(1)
    t.join(10)
    # An autocommit read whose replica died before answering runs again
    # elsewhere (issue 4), with the session's state.
    assert "e" not in out, out
    assert out["row"][0] == 0 and out["row"][1] != target and out["row"][2] == "yes", out
    assert q(c, PRIMARY + "SELECT @@server_id, @keep")[0] == (primary, "yes")


def test_kill_query_reaches_the_replica_running_it(halyard, cluster):
    victim = halyard.connect(autocommit=True, read_timeout=20)
    killer = halyard.connect(autocommit=True)
    err = {}

    def slow():
        try:
            q(victim, "/* halyard: backend=node2 */ SELECT SLEEP(10)")
        except pymysql.err.OperationalError as e:
            err["e"] = e

    t = threading.Thread(target=slow)
    t.start()
    wait_until(lambda: cluster.sql(2, "SELECT COUNT(*) FROM information_schema.processlist "
                                      "WHERE id <> CONNECTION_ID() AND info LIKE '%SLEEP(10)%'")[0][0] == 1,
               timeout=5, what="the sleep running on node2")
    t0 = time.monotonic()
    q(killer, f"KILL QUERY {victim.thread_id()}")
    t.join(5)
    assert err["e"].args == (1317, "Query execution was interrupted")
    assert time.monotonic() - t0 < 2


def sysbench(port, *args, timeout=120):
    cmd = ["sysbench", "oltp_read_write", "--mysql-host=127.0.0.1", f"--mysql-port={port}",
           "--mysql-user=app", "--mysql-password=app", "--mysql-db=sbsplit", "--tables=2",
           "--table-size=1000", "--mysql-ssl=off", *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return r.stdout


def test_sysbench_read_write_through_the_split(halyard, cluster):
    """sysbench's own transactions, reads and writes through the splitting
    halyard: no statement fails, every node ends with the same data, and
    the reads outside transactions went to the replicas."""
    cluster.sql(0, "DROP DATABASE IF EXISTS sbsplit")
    cluster.sql(0, "CREATE DATABASE sbsplit")
    sysbench(cluster.primary_port, "prepare")
    cluster.sync()
    before = {n: int(cluster.sql(n, "SHOW GLOBAL STATUS LIKE 'Questions'")[0][1]) for n in (1, 2)}
    # One thread: nothing can deadlock, so any error at all would be halyard's.
    out = sysbench(halyard.port, "--threads=1", "--time=5", "--skip_trx=off",
                   "--mysql-ignore-errors=none", "run")
    assert "ignored errors:                      0 " in out, out
    # Four threads, autocommit: the workload races with itself (a DELETE and
    # re-INSERT of one id by two threads: 1062; deadlocks: 1213), through a
    # direct connection as well; any other error fails the run.
    # Prepared statements (sysbench's default), reads on the replicas.
    sysbench(halyard.port, "--threads=4", "--time=3", "--skip_trx=on",
             "--mysql-ignore-errors=1213,1062", "run")
    after = {n: int(cluster.sql(n, "SHOW GLOBAL STATUS LIKE 'Questions'")[0][1]) for n in (1, 2)}
    # --skip_trx=on: the reads are autocommit prepared statements, so replicas took them.
    assert all(after[n] - before[n] > 1000 for n in (1, 2)), (before, after)
    cluster.sync()
    counts = [cluster.sql(n, "SELECT COUNT(*) FROM sbsplit.sbtest1")[0][0] for n in (0, 1, 2)]
    assert counts == [1000, 1000, 1000], counts  # oltp_read_write deletes and re-inserts
    sums = {n: cluster.sql(n, "CHECKSUM TABLE sbsplit.sbtest1, sbsplit.sbtest2") for n in (0, 1, 2)}
    assert sums[0] == sums[1] == sums[2], sums


def test_read_only_transaction_runs_on_one_replica(halyard, cluster, schema, ids):
    primary, replicas = ids
    c = halyard.connect(database=schema, autocommit=True)
    for _ in range(2):
        q(c, "START TRANSACTION READ ONLY")
        where = {q(c, "SELECT @@server_id")[0][0] for _ in range(4)}
        assert len(where) == 1 and where <= replicas, where  # one replica, all along
        # What the server answers a write in a READ ONLY transaction, not
        # the replica's read_only (1290): the same from halyard as directly.
        direct = cluster.connect(0, database=schema)
        q(direct, "START TRANSACTION READ ONLY")
        for sql in ("INSERT INTO t VALUES (30, 'no')", "UPDATE t SET v = 'no'",
                    "SELECT * FROM t FOR UPDATE", "CREATE TEMPORARY TABLE tmp_ro (a INT)"):
            with pytest.raises(pymysql.MySQLError) as e:
                q(c, sql)
            with pytest.raises(pymysql.MySQLError) as d:
                q(direct, sql)
            assert e.value.args == d.value.args == (
                1792, "Cannot execute statement in a READ ONLY transaction"), sql
        q(direct, "COMMIT")
        direct.close()
        # The transaction goes on where it was.
        assert {q(c, "SELECT @@server_id")[0][0] for _ in range(2)} == where
        q(c, "COMMIT")
    assert cluster.sql(0, f"SELECT COUNT(*) FROM {schema}.t WHERE id = 30") == [(0,)]
    # After it, writes and their reads behave as before.
    q(c, "REPLACE INTO t VALUES (31, 'after')")
    assert q(c, "SELECT v FROM t WHERE id = 31") == (("after",),)
    assert sid(c, hint=PRIMARY) == primary


def test_read_only_transaction_on_a_replica_after_prepared_statements(halyard, schema, ids):
    """Prepared statements no longer keep a session on the primary: they
    run in the READ ONLY transaction's replica too (test_ps.py)."""
    r = RawConn("127.0.0.1", halyard.port)
    r.login(APP_USER, APP_PASSWORD, db=schema)
    r.send_packet(b"\x16SELECT 1", seq=0)  # COM_STMT_PREPARE: OK, 1 column, EOF
    ok = r.read_packet()
    assert ok[0] == 0 and int.from_bytes(ok[5:7], "little") == 1, ok
    r.read_packet()
    r.read_packet()
    r.send_packet(b"\x16INSERT INTO t VALUES (41, 'ps')", seq=0)  # no columns, no parameters
    ins = r.read_packet()
    assert ins[0] == 0 and ins[5:9] == b"\0\0\0\0", ins
    r.query("START TRANSACTION READ ONLY")
    where = {int(r.value("SELECT @@server_id")) for _ in range(3)}
    assert len(where) == 1 and where <= ids[1], where
    # The prepared INSERT gets the server's answer in a READ ONLY transaction.
    r.send_packet(b"\x17" + ins[1:5] + b"\x00\x01\x00\x00\x00", seq=0)
    err = r.read_packet()
    assert err[:3] == b"\xff" + (1792).to_bytes(2, "little") and b"READ ONLY" in err, err
    assert int(r.value("SELECT @@server_id")) in where
    r.query("COMMIT")


def test_refused_read_only_transaction_leaves_no_routing_behind(start_halyard, cluster, schema,
                                                               ids):
    h = start_halyard(replica_fallback="error", connect_timeout_ms=500)
    c = h.connect(database=schema, autocommit=True)
    cluster.kill(1)
    cluster.kill(2)
    with pytest.raises(pymysql.err.OperationalError) as e:
        q(c, "START TRANSACTION READ ONLY")
    assert e.value.args[0] == 1429, e.value.args
    # The transaction never began: writes still go to the primary.
    q(c, "REPLACE INTO t VALUES (40, 'ro-refused')")
    assert q(c, PRIMARY + "SELECT @@server_id, v FROM t WHERE id = 40") == \
        ((ids[0], "ro-refused"),)


DIAG_SEQUENCES = [
    ["SELECT 1/0", "SELECT 1", "SHOW WARNINGS"],
    ["SELECT 1/0", "SELECT 1", "SELECT @@warning_count"],
    ["SELECT 1/0", "SELECT 1", "SHOW COUNT(*) WARNINGS"],
    ["SELECT 1/0", "SELECT 1", "SELECT 2", "SHOW WARNINGS"],
    ["SELECT 1/0", "SET @x = 1", "DO 1", "SHOW WARNINGS"],
    ["SELECT 1/0", "SELECT 1 FROM DUAL", "SELECT NOW() > 0", "SHOW WARNINGS"],
    ["SELECT 1/0", "SELECT v FROM t WHERE id = 1", "SHOW WARNINGS"],
    ["SELECT 1/0", "SELECT COUNT(*) FROM t", "SELECT 1", "SHOW WARNINGS"],
    ["SELECT 1/0", "SELECT 1/0", "SHOW WARNINGS"],
    ["SELECT 1/0", "SHOW WARNINGS", "SHOW WARNINGS"],
    ["SELECT v FROM t WHERE id = 'x'", "SELECT 1", "SHOW WARNINGS"],
    ["SELECT 1/0", "SELECT 1", "SHOW ERRORS"],
    # transaction control uses no table: it keeps them too
    ["SELECT 1/0", "BEGIN", "SELECT 1", "COMMIT", "SHOW WARNINGS"],
    ["SELECT 1/0", "START TRANSACTION", "SAVEPOINT s", "ROLLBACK TO SAVEPOINT s",
     "RELEASE SAVEPOINT s", "ROLLBACK", "SHOW WARNINGS"],
    ["SELECT 1/0", "SET TRANSACTION ISOLATION LEVEL READ COMMITTED", "SHOW WARNINGS"],
    ["SELECT 1/0", "BEGIN", "SELECT v FROM t WHERE id = 1", "COMMIT", "SHOW WARNINGS"],
]


@pytest.mark.parametrize("seq", DIAG_SEQUENCES, ids=[" | ".join(s) for s in DIAG_SEQUENCES])
def test_diagnostics_as_the_server_keeps_them(halyard, cluster, schema, seq):
    """MariaDB keeps a statement's warnings across later statements that
    use no table (SELECT 1, SET, DO) and clears them before one that uses
    a table. Through halyard the statements of a session run on different
    replicas, and SHOW WARNINGS, SHOW COUNT(*) WARNINGS and @@warning_count
    must read the diagnostics where the server would have them. Before,
    they went where the previous statement ran, and `SELECT 1/0; SELECT 1;
    SHOW WARNINGS` came back empty."""
    cluster.sql(0, "REPLACE INTO routing.t VALUES (1, 'one')")
    cluster.sync()

    def run(conn):
        out = []
        with conn.cursor() as cur:
            for sql in seq:
                cur.execute(sql)
                out.append(cur.fetchall())
        return out

    direct = cluster.connect(0, database=schema, autocommit=True)
    want = run(direct)
    direct.close()
    for _ in range(3):  # the round robin starts elsewhere each time
        c = halyard.connect(database=schema, autocommit=True)
        assert run(c) == want
        c.close()


def test_ddl_in_a_read_only_transaction_commits_it_and_runs_on_the_primary(halyard, cluster, schema):
    """MariaDB commits a read-only transaction before a DDL (or START
    TRANSACTION) and runs that outside it. The transaction runs on a
    replica: sent there, the DDL failed with 1290 (read_only), or, for an
    account with READ ONLY ADMIN, ran on the replica alone."""
    c = halyard.connect(database=schema, autocommit=True)
    q(c, "DROP TABLE IF EXISTS routing.ro_ddl")
    q(c, "START TRANSACTION READ ONLY")
    assert q(c, "SELECT @@in_transaction")[0][0] == 1
    q(c, "CREATE TABLE routing.ro_ddl (a INT)")
    assert q(c, "SELECT @@in_transaction")[0][0] == 0
    assert cluster.sql(0, "SHOW TABLES FROM routing LIKE 'ro_ddl'") == [("ro_ddl",)]
    # START TRANSACTION ends a read-only one too: the new one writes.
    q(c, "START TRANSACTION READ ONLY")
    q(c, "SELECT COUNT(*) FROM routing.ro_ddl")
    q(c, "START TRANSACTION")
    q(c, "INSERT INTO routing.ro_ddl VALUES (1)")
    q(c, "COMMIT")
    assert cluster.sql(0, "SELECT a FROM routing.ro_ddl") == [(1,)]
    q(c, "DROP TABLE routing.ro_ddl")


def test_reads_wait_on_the_primary_while_a_session_holds_lock_tables(halyard, schema, ids):
    """LOCK TABLES ... WRITE makes the other sessions' reads of the table
    wait, on one server; a replica holds no lock. While a session through
    halyard holds table locks, the others' reads run on the primary and wait
    there (mtr main.kill); once it unlocks (or ends), reads go to the
    replicas again."""
    primary, replicas = ids
    a = halyard.connect(database=schema, autocommit=True)
    b = halyard.connect(database=schema, autocommit=True)
    try:
        q(a, "LOCK TABLES t WRITE")
        assert sid(b, hint="") == primary
        got = {}

        def read():
            got["rows"] = q(b, "SELECT COUNT(*) >= 0 FROM t")
            got["at"] = time.monotonic()
        th = threading.Thread(target=read)
        th.start()
        time.sleep(1)
        assert "rows" not in got  # it waits on a's lock, as on one server
        released = time.monotonic()
        q(a, "UNLOCK TABLES")
        th.join(10)
        assert got["rows"] == ((1,),) and got["at"] >= released
        # on the replicas again (which of them is the balancer's: one
        # measured slower on a loaded machine gets none of six)
        assert {sid(b, hint="") for _ in range(6)} <= replicas
        # a transaction's start releases them as well
        q(a, "LOCK TABLES t READ")
        assert sid(b, hint="") == primary
        q(a, "BEGIN")
        q(a, "COMMIT")
        assert {sid(b, hint="") for _ in range(6)} <= replicas
        q(a, "LOCK TABLES t READ")
        assert sid(b, hint="") == primary
    finally:
        a.close()
    wait_until(lambda: sid(b, hint="") in replicas, what="reads on the replicas once a ended")
    b.close()
