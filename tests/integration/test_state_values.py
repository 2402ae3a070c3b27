"""Session state moves by value: a SET runs once, on the primary, and what it
assigned reaches the replicas as literals.

`SET @id = LAST_INSERT_ID()` replayed as text on a replica gives that
connection's LAST_INSERT_ID(), 0, and a later `... WHERE id = @id` there
reads the wrong row without any error. The same goes for every expression
that depends on the server or the moment: UUID(), NOW(), RAND(),
CONNECTION_ID(), @@server_id, a subquery. Each case below sets a variable
through halyard and reads it back both on the primary and on every replica
(the answering server told apart by @@server_id): value, type and collation
must be the primary's.
"""

import os
import signal
import threading
import time

import pymysql
import pytest

from tcprelay import TcpRelay
from util import (MONITOR_PASSWORD, MONITOR_USER, admin_json, default_halyard_settings,
                  schema_with_table, wait_until, q)

REPLICA = "/* halyard: replica */ "
PRIMARY = "/* halyard: primary */ "


def typed(conn, sql):
    """The row and each column's type code."""
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()[0], tuple(d[1] for d in cur.description)


@pytest.fixture
def schema(cluster):
    return schema_with_table(cluster, "vals", "v VARCHAR(40)")


def unlogged(cluster, sql):
    """Run sql on the primary alone (sql_log_bin = 0): the replicas differ."""
    root = cluster.root_connect(0)
    try:
        q(root, "SET SESSION sql_log_bin = 0")
        q(root, sql)
    finally:
        root.close()


def read_everywhere(c, names, ids):
    """What `SELECT @a, COLLATION(@a), ...` gives on the primary, and on
    each replica."""
    cols = ", ".join(f"@{n}, COLLATION(@{n})" for n in names)
    primary = typed(c, PRIMARY + f"SELECT @@server_id, {cols}")
    assert primary[0][0] == ids[0]
    seen = {}
    # each replica named (a balancer on a loaded machine may send eight
    # reads in a row to the one it measures faster)
    for node in ("node1", "node2"):
        row, types = typed(c, f"/* halyard: backend={node} */ SELECT @@server_id, {cols}")
        seen[row[0]] = (row[1:], types[1:])
    assert set(seen) == ids[1], seen
    return (primary[0][1:], primary[1][1:]), seen


# (setup statements run first through halyard, the SET, whether to wait a
# second before the replicas read: NOW() of the same second would hide a
# replay by text)
CASES = {
    "last_insert_id": (["INSERT INTO t (v) VALUES ('row-a')"], "SET @v = LAST_INSERT_ID()", False),
    "uuid": ([], "SET @v = UUID()", False),
    "now": ([], "SET @v = NOW()", True),
    "now6": ([], "SET @v = NOW(6)", True),
    "rand": ([], "SET @v = RAND()", False),
    "connection_id": ([], "SET @v = CONNECTION_ID()", False),
    "hostname_port": ([], "SET @v = CONCAT(@@hostname, ':', @@port)", False),
    "server_id": ([], "SET @v = @@server_id", False),
    "subquery": ([], "SET @v = (SELECT v FROM t WHERE id = 1000)", False),
    "binary": ([], "SET @v = UNHEX(SHA2(UUID(), 256))", False),
    "decimal": ([], "SET @v = CAST(RAND() * 1000000 AS DECIMAL(30,12))", False),
    "null": ([], "SET @v = IF(@@server_id = {primary}, NULL, 'not null')", False),
    "long_string": ([], "SET @v = REPEAT(UUID(), 100)", False),
    "unsigned": ([], "SET @v = CAST(18446744073709551615 - CONNECTION_ID() AS UNSIGNED)", False),
    "negative": ([], "SET @v = CAST(CONNECTION_ID() AS SIGNED) - 9223372036854775807", False),
    "latin1": ([], "SET @v = CONVERT(CONCAT(_utf8mb4 'caf\u00e9 ', UUID()) USING latin1)", False),
    "utf8mb4_bin": ([], "SET @v = CONCAT(UUID(), _utf8mb4 ' \U0001F600') COLLATE utf8mb4_bin",
                    False),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_replica_sees_the_value_the_primary_computed(halyard, cluster, schema, ids, case):
    setup, set_sql, wait = CASES[case]
    # A row only the primary has, for the subquery.
    unlogged(cluster, "REPLACE INTO vals.t VALUES (1000, 'primary only')")
    try:
        c = halyard.connect(database=schema, autocommit=True, charset="utf8mb4")
        for s in setup:
            q(c, s)
        q(c, set_sql.format(primary=ids[0]))
        cluster.sync()
        if wait:
            time.sleep(1.1)
        primary, replicas = read_everywhere(c, ["v"], ids)
        for sid, got in replicas.items():
            assert got == primary, (case, sid, got, primary)
        # Not what the replica itself would compute.
        if case == "null":
            assert primary[0][0] is None
        elif case == "subquery":
            assert primary[0][0] == "primary only"
        elif case == "long_string":
            assert len(primary[0][0]) == 3600
    finally:
        unlogged(cluster, "DELETE FROM vals.t WHERE id = 1000")


def test_last_insert_id_finds_the_row_on_a_replica(halyard, cluster, schema, ids):
    c = halyard.connect(database=schema, autocommit=True)
    q(c, "INSERT INTO t (v) VALUES ('mine')")
    q(c, "SET @id = LAST_INSERT_ID()")
    cluster.sync()
    for _ in range(4):
        row = q(c, REPLICA + "SELECT @@server_id, v FROM t WHERE id = @id")
        assert len(row) == 1 and row[0][0] in ids[1] and row[0][1] == "mine", row


def test_several_variables_and_system_variables_in_one_set(halyard, ids):
    c = halyard.connect(autocommit=True)
    q(c, "SET @a = UUID(), @b = RAND(), sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES'), "
         "@c = CONNECTION_ID(), time_zone = '+05:30'")
    primary, replicas = read_everywhere(c, ["a", "b", "c", "@sql_mode", "@time_zone"], ids)
    for got in replicas.values():
        assert got == primary
    assert "ANSI_QUOTES" in primary[0][6] and primary[0][8] == "+05:30"


def test_set_names_and_then_one_charset_variable(halyard, ids):
    """SET NAMES is read back as the variables it sets; a later SET of one
    of them is applied after it, as it was on the primary."""
    c = halyard.connect(autocommit=True)
    q(c, "SET NAMES latin1 COLLATE latin1_bin")
    q(c, "SET character_set_results = utf8mb4")
    want = ("latin1", "latin1", "utf8mb4", "latin1_bin")
    for _ in range(4):
        row = q(c, REPLICA + "SELECT @@server_id, @@character_set_client, "
                             "@@character_set_connection, @@character_set_results, "
                             "@@collation_connection")[0]
        assert row[0] in ids[1] and row[1:] == want, row


def test_a_variable_reset_to_default_is_not_frozen(halyard, ids):
    """SET timestamp = DEFAULT is not read back as the time it was then: the
    replica's clock keeps going."""
    c = halyard.connect(autocommit=True)
    q(c, "SET timestamp = 1000000000")
    assert {q(c, REPLICA + "SELECT @@server_id, UNIX_TIMESTAMP()")[0][1] for _ in range(4)} == \
        {1000000000}
    q(c, "SET timestamp = DEFAULT")
    for _ in range(4):
        assert q(c, REPLICA + "SELECT UNIX_TIMESTAMP()")[0][0] > 1000000000
    t1 = q(c, REPLICA + "SELECT UNIX_TIMESTAMP(NOW(6))")[0][0]
    time.sleep(0.3)
    assert q(c, REPLICA + "SELECT UNIX_TIMESTAMP(NOW(6))")[0][0] > t1


def test_the_set_warnings_survive_the_read_back(halyard):
    c = halyard.connect(autocommit=True)
    q(c, "SET @z = 1/0")
    assert [w[1] for w in q(c, "SHOW WARNINGS")] == [1365]
    assert q(c, "SELECT @@warning_count")[0][0] == 1


def test_a_variable_too_large_to_read_back_pins_the_session(halyard, ids):
    """A value whose read-back row does not fit a buffer (16 KiB) is not
    moved: the session stays on the primary, where the value is right."""
    c = halyard.connect(autocommit=True)
    q(c, "SET @big = REPEAT(UUID(), 600)")  # 21600 bytes
    for _ in range(4):
        row = q(c, REPLICA + "SELECT @@server_id, LENGTH(@big)")[0]
        assert row == (ids[0], 21600)


def test_replay_on_a_replica_comes_after_the_causal_wait(start_halyard, cluster, schema, ids):
    """consistency = causal: the replica first waits for the session's write
    (MASTER_GTID_WAIT), then gets the session state, then runs the read. Seen
    in that replica's general log."""
    h = start_halyard(consistency="causal", causal_timeout_ms=2000)
    logs = {}
    for i in (1, 2):
        path = os.path.join(cluster.node(i)["datadir"], "general-values.log")
        if os.path.exists(path):
            os.unlink(path)
        cluster.sql(i, f"SET GLOBAL general_log_file = '{path}'")
        cluster.sql(i, "SET GLOBAL log_output = 'FILE'")
        cluster.sql(i, "SET GLOBAL general_log = 1")
        logs[i] = path
    try:
        c = h.connect(database=schema, autocommit=True)
        q(c, "INSERT INTO t (v) VALUES ('causal')")
        q(c, "SET @causal_marker = 4242")
        row = q(c, "SELECT @@server_id, @causal_marker")[0]
        assert row[0] in ids[1] and row[1] == 4242, row
    finally:
        for i in (1, 2):
            cluster.sql(i, "SET GLOBAL general_log = 0")
    orders = []
    for path in logs.values():
        with open(path, errors="replace") as f:
            lines = f.read().splitlines()
        wait = [n for n, line in enumerate(lines) if "MASTER_GTID_WAIT" in line]
        replay = [n for n, line in enumerate(lines) if "causal_marker" in line and
                  "SELECT @@server_id" not in line and "Query" in line]
        if wait and replay:
            orders.append((wait[0], replay[0]))
        os.unlink(path)
    assert orders, "no replica both waited and got the state"
    for wait, replay in orders:
        assert wait < replay, "the state was replayed before the causal wait"


def test_user_variables_a_call_or_execute_set_are_read_on_the_primary(halyard, cluster, schema,
                                                                       ids):
    """A CALL's OUT parameter, a SET inside the procedure, a prepared SET run
    by EXECUTE and a compound statement all set user variables halyard does
    not see. What mentions a user variable then reads it on the primary:
    before, `SELECT @out` went to a replica and read NULL, without an error
    (mtr main.sp-vars, main.ps_1general). Reads that mention none still go to
    the replicas."""
    primary, replicas = ids
    cluster.sql(0, f"DROP PROCEDURE IF EXISTS {schema}.uv_out")
    cluster.sql(0, f"CREATE PROCEDURE {schema}.uv_out(OUT x INT) "
                   "BEGIN SET x = 42; SET @inner = 7; END")
    cluster.sync()
    c = halyard.connect(database=schema, autocommit=True)
    # A user variable halyard knows the value of reads on a replica.
    q(c, "SET @known = 5")
    assert q(c, "SELECT @known, @@server_id")[0] in {(5, r) for r in replicas}
    q(c, "CALL uv_out(@out)")
    assert q(c, "SELECT @out, @inner, @known, @@server_id")[0] == (42, 7, 5, primary)
    assert q(c, "SELECT @@server_id")[0][0] in replicas
    q(c, "PREPARE s FROM 'SET @ps = 9'")
    q(c, "EXECUTE s")
    assert q(c, "SELECT @ps")[0][0] == 9
    q(c, "BEGIN NOT ATOMIC SET @compound = 'c'; END")
    assert q(c, "SELECT @compound")[0][0] == "c"
    # A fresh start: COM_RESET_CONNECTION forgets them all.
    c._execute_command(0x1F, b"")  # COM_RESET_CONNECTION
    c._read_ok_packet()
    q(c, "SET @after = 3")
    assert q(c, "SELECT @after, @@server_id")[0] in {(3, r) for r in replicas}


def wait_primary_checked(h):
    """Wait until node0's first health check has passed. A worker's report
    of a closed connection before that takes the backend DOWN at once,
    whatever `fall` says; under CI's load the first check was still running
    when a test's KILL came (1429 "No primary available")."""
    def primary_checked_online():
        b = admin_json(f"/tmp/halyard-{h.port}.sock", "show backends")["backends"][0]
        return b["state"] == "ONLINE" and b["last_check"] not in ("", None)
    wait_until(primary_checked_online, 10, what="node0's first check passed")


def _kill_primary_connection(cluster, c):
    """KILL, on the primary, the backend connection halyard runs this
    session's primary statements on (as a DBA, wait_timeout or a restart
    would end it); return its id."""
    tid = q(c, PRIMARY + "SELECT @@pseudo_thread_id")[0][0]
    cluster.sql(0, f"KILL {int(tid)}")
    time.sleep(0.3)  # halyard sees the close
    return tid


def test_a_lost_backend_connection_restores_what_it_can(halyard, cluster, schema):
    """The primary connection of a session ends on the server. What halyard
    knows by value comes back on a new connection; what only that
    connection had (a GET_LOCK, user variables a CALL set, a temporary
    table) ends the session, as the server would end the client's, instead
    of going on silently without it."""
    wait_primary_checked(halyard)
    c = halyard.connect(database=schema, autocommit=True)
    q(c, "SET @x = 42")
    _kill_primary_connection(cluster, c)
    assert q(c, "SELECT @x")[0][0] == 42

    cluster.sql(0, f"DROP PROCEDURE IF EXISTS {schema}.uv_lost")
    cluster.sql(0, f"CREATE PROCEDURE {schema}.uv_lost(OUT x INT) BEGIN SET x = 7; END")
    cases = [
        ["SELECT GET_LOCK('halyard_lost', 5)"],
        ["CALL uv_lost(@out)"],
        ["CREATE TEMPORARY TABLE lost_tmp (a INT)", "INSERT INTO lost_tmp VALUES (1)"],
    ]
    for setup in cases:
        c = halyard.connect(database=schema, autocommit=True)
        for sql in setup:
            q(c, sql)
        _kill_primary_connection(cluster, c)
        with pytest.raises(pymysql.err.OperationalError) as e:
            q(c, "SELECT @out, IS_USED_LOCK('halyard_lost')")
        assert e.value.args[0] in (2006, 2013), (setup, e.value.args)
    # The lock went with the connection: anyone may take it.
    assert cluster.value(0, "SELECT IS_FREE_LOCK('halyard_lost')") == 1


def test_a_close_seen_with_the_next_statement(start_halyard, cluster, schema):
    """The server's close of a held connection (a DBA's KILL) and the
    client's next statement reach halyard in the same turn of its loop:
    halyard stopped (SIGSTOP) while both arrive. The statement must not go
    to the dead connection (it did, when the client's event came first, and
    the client got 1927 "Lost connection ... during query": CI hit it under
    load in test_capabilities); it runs on a new one, with the session's
    variables.

    The SIGSTOP freezes halyard's health checks too: a check in flight when
    it resumes has both its answer and its timeout due, and libev runs the
    timer (queued last) first, so the check fails. Once, under CI's load,
    node0 was DOWN (3 failed checks) when the statement came, which got
    1429: the health checks are not what this test is about, so its
    halyard takes 100 failed checks to mark a backend down."""
    h = start_halyard(pool_mode="session", workers=1,
                      monitor={"user": MONITOR_USER, "password": MONITOR_PASSWORD, "fall": 100})
    wait_primary_checked(h)
    c = h.connect(database=schema, autocommit=True)
    try:
        q(c, "SET @x = 42")
        tid = q(c, PRIMARY + "SELECT @@pseudo_thread_id")[0][0]
        os.kill(h.pid, signal.SIGSTOP)
        try:
            cluster.sql(0, f"KILL {int(tid)}")
            wait_until(lambda: cluster.value(0, "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                                "WHERE ID = %s", (tid,)) == 0, what="the kill")
            time.sleep(0.1)  # the server's ERR and FIN are on halyard's socket
            got = {}

            def ask():
                try:
                    got["rows"] = q(c, PRIMARY + "SELECT @x, @@pseudo_thread_id")
                except pymysql.MySQLError as e:
                    got["error"] = e.args
            t = threading.Thread(target=ask)
            t.start()
            time.sleep(0.3)  # the statement is on halyard's client socket
        finally:
            os.kill(h.pid, signal.SIGCONT)
        t.join(10)
        assert "error" not in got, got
        assert got["rows"][0][0] == 42 and got["rows"][0][1] != tid, got
    finally:
        c.close()


class HoldingRelay(TcpRelay):
    """Once halyard sends a chunk holding `trigger`, the relay holds back
    the server's answer until halyard has also sent `expect` (or `hold_s`
    passed), then lets it through: `expect` seen while the answer was held
    means halyard sent it without waiting for that answer."""

    def __init__(self, target_port, trigger, expect, hold_s=5.0):
        self.trigger, self.expect, self.hold_s = trigger, expect, hold_s
        self.cond = threading.Condition()
        self.holding = False
        self.seen_while_held = False
        self.sent = b""
        super().__init__(target_port)

    def up(self, data):
        """halyard to the server: note what was sent, start or end the hold."""
        with self.cond:
            if self.trigger in data:
                self.holding, self.sent = True, b""
            if self.holding:
                self.sent += data
                if self.expect in self.sent:
                    self.seen_while_held = True
                    self.holding = False
                    self.cond.notify_all()
        return data

    def down(self, data):
        """The server to halyard: held while the hold lasts."""
        with self.cond:
            self.cond.wait_for(lambda: not self.holding, timeout=self.hold_s)
            self.holding = False
        return data


def test_the_read_back_goes_out_before_the_set_is_answered(start_halyard, cluster, ids):
    """The read-back of what a SET assigned is pipelined: halyard sends it
    right behind the SET, before the SET's answer comes back, so it costs
    the session no round trip of its own. Seen on the wire between halyard
    and the primary: a relay there holds the SET's answer back, and the
    read-back still arrives. The value then reaches a replica."""
    relay = HoldingRelay(cluster.primary_port, b"SET @piped", b"SELECT @`piped`")
    try:
        backends = default_halyard_settings(cluster, 0)["backends"]
        for b in backends:
            if b["port"] == cluster.primary_port:
                b["port"] = relay.port
        h = start_halyard(backends=backends)
        c = h.connect(autocommit=True)
        q(c, "SET @piped = CONNECTION_ID() * 1000 + 7")
        assert relay.seen_while_held, relay.sent
        primary = q(c, PRIMARY + "SELECT @piped")[0][0]
        for _ in range(4):
            row = q(c, REPLICA + "SELECT @@server_id, @piped")[0]
            assert row[0] in ids[1] and row[1] == primary, row
    finally:
        relay.close()


def test_a_failed_set_is_read_back_and_leaves_the_session_free(halyard, ids):
    """A SET the server refuses changed nothing (it failed before assigning):
    its read-back, already on its way, must neither pin the session nor
    change what the replicas get."""
    c = halyard.connect(autocommit=True)
    q(c, "SET @kept = 41 + 1")
    with pytest.raises(pymysql.err.OperationalError) as e:
        q(c, "SET @kept = 99, @@session.sql_mode = 'NOT_A_MODE'")
    assert e.value.args[0] == 1231
    with pytest.raises(pymysql.err.OperationalError) as e:
        q(c, "SET @kept = 98, @@session.no_such_variable = 1")
    assert e.value.args[0] == 1193
    assert q(c, PRIMARY + "SELECT @kept")[0][0] == 42
    for _ in range(4):
        row = q(c, REPLICA + "SELECT @@server_id, @kept")[0]
        assert row[0] in ids[1] and row[1] == 42, row
