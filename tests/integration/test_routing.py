"""Several backends per session: hint routing and session state that follows
the session onto every backend it uses.

halyard routes a statement away from the primary only when a comment hint
asks for it (/* halyard: replica */, /* halyard: backend=NAME */), only for
reads, and never inside a transaction. Whichever backend runs a statement
must see exactly the session state the client set (schema, SET SESSION
variables, user variables, SET NAMES): halyard replays it there first. The
answering server is told apart by @@server_id.
"""

import threading
import time

import pymysql
import pytest

from rawmysql import RawConn
from util import APP_PASSWORD, APP_USER, wait_until

REPLICA = "/* halyard: replica */ "


def q(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def sid(conn, hint=REPLICA):
    return q(conn, hint + "SELECT @@server_id")[0][0]


@pytest.fixture
def ids(cluster):
    primary = cluster.server_id(0)
    replicas = {cluster.server_id(1), cluster.server_id(2)}
    return primary, replicas


@pytest.fixture
def schema(cluster):
    cluster.sql(0, "CREATE DATABASE IF NOT EXISTS routing")
    cluster.sql(0, "CREATE TABLE IF NOT EXISTS routing.t (id INT PRIMARY KEY, v VARCHAR(20))")
    cluster.sync()
    return "routing"


def test_unhinted_statements_go_to_the_primary(halyard, ids):
    primary, _ = ids
    c = halyard.connect(autocommit=True)
    assert {sid(c, hint="") for _ in range(6)} == {primary}


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
    # START TRANSACTION READ ONLY is a transaction too (on the primary, for now).
    q(c, "START TRANSACTION READ ONLY")
    assert sid(c) == primary
    q(c, "COMMIT")


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
    h.wait_log(r"sending the statement meant for node[12] to the primary instead")


def test_replica_lost_while_idle_keeps_the_session(start_halyard, cluster, ids):
    primary, replicas = ids
    h = start_halyard(connect_timeout_ms=500)
    c = h.connect(autocommit=True)
    q(c, "SET @keep = 'yes'")
    for _ in range(4):  # connections to both replicas are open and idle now
        assert sid(c) in replicas
    cluster.kill(1)
    wait_until(lambda: h.log_text().count("backend node1: closed the connection") >= 1,
               timeout=5, what="halyard noticing node1 close")
    # The session is intact: the primary still serves it with its state.
    assert q(c, "SELECT @@server_id, @keep")[0] == (primary, "yes")
    assert {q(c, REPLICA + "SELECT @@server_id, @keep")[0] for _ in range(4)} <= \
        {(cluster.server_id(2), "yes"), (primary, "yes")}


def test_replica_lost_mid_query_errors_and_keeps_the_session(start_halyard, cluster, ids):
    primary, replicas = ids
    h = start_halyard(connect_timeout_ms=500)
    c = h.connect(autocommit=True, read_timeout=20)
    q(c, "SET @keep = 'yes'")
    target = q(c, "/* halyard: backend=node1 */ SELECT @@server_id")[0][0]
    assert target == cluster.server_id(1)
    err = {}

    def slow():
        try:
            q(c, "/* halyard: backend=node1 */ SELECT SLEEP(15)")
        except pymysql.err.OperationalError as e:
            err["e"] = e

    t = threading.Thread(target=slow)
    t.start()
    wait_until(lambda: cluster.sql(1, "SELECT COUNT(*) FROM information_schema.processlist "
                                      "WHERE id <> CONNECTION_ID() AND info LIKE '%SLEEP(15)%'")[0][0] == 1,
               timeout=5, what="the sleep running on node1")
    t0 = time.monotonic()
    cluster.kill(1)
    t.join(10)
    assert "e" in err and err["e"].args[0] == 2013, err
    assert time.monotonic() - t0 < 3
    assert q(c, "SELECT @@server_id, @keep")[0] == (primary, "yes")


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
