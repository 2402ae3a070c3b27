"""User variables a trigger sets (issue 33, mtr main.trigger_notembedded
lines 322-344).

`INSERT` runs on the primary; its trigger does `SET @v = NEW.a` on that
connection. halyard never saw a SET, so a following `SELECT @v` went to a
replica, where the session's user variables are the ones halyard saw set,
and read NULL where the server answers the value, without an error.

The server tells: with session_track_state_change = ON, the OK of a
statement whose trigger changed the session's state carries
SERVER_SESSION_STATE_CHANGED, and one on a table without triggers does not.
halyard asks every backend connection for CLIENT_SESSION_TRACK, turns the
variable on on the session's primary connection, and follows such a write
as it follows a CALL: statements that mention a user variable then run on
the primary. Clients still get every OK as the server sends it on their own
connection (compared byte for byte with the server's, with and without
CLIENT_SESSION_TRACK, CLIENT_DEPRECATE_EOF or a session_track_state_change
of the client's own).
"""

import pymysql
import pytest
from pymysql.constants import CLIENT

from rawmysql import (CLIENT_DEPRECATE_EOF, CLIENT_SESSION_TRACK, COM_RESET_CONNECTION,
                      DEFAULT_CAPS, RawConn)
from util import APP_PASSWORD, APP_USER, q

DB = "trgv"


@pytest.fixture
def schema(cluster):
    for sql in [
        f"CREATE DATABASE IF NOT EXISTS {DB}",
        f"DROP TABLE IF EXISTS {DB}.tv, {DB}.plain",
        f"CREATE TABLE {DB}.tv (a INT)",
        f"CREATE TABLE {DB}.plain (a INT)",
        f"CREATE TRIGGER {DB}.tv_ins AFTER INSERT ON {DB}.tv FOR EACH ROW SET @v = NEW.a",
        f"CREATE TRIGGER {DB}.tv_upd BEFORE UPDATE ON {DB}.tv FOR EACH ROW "
        "SET @u = CONCAT(OLD.a, '>', NEW.a)",
        f"CREATE TRIGGER {DB}.tv_del AFTER DELETE ON {DB}.tv FOR EACH ROW SET @d = OLD.a * 10",
    ]:
        cluster.sql(0, sql)
    cluster.sync()
    return DB


STEPS = [
    ("INSERT INTO tv VALUES (7)", "SELECT @v"),
    ("UPDATE tv SET a = 8 WHERE a = 7", "SELECT @u"),
    ("DELETE FROM tv WHERE a = 8", "SELECT @d"),
]


@pytest.mark.parametrize("flags", [0, CLIENT.SESSION_TRACK], ids=["plain", "session_track"])
def test_a_variable_a_trigger_sets_reads_as_on_the_server(halyard, cluster, schema, ids, flags):
    """INSERT, UPDATE and DELETE triggers set @v, @u, @d: through halyard
    (read/write split on) each reads what it reads on the server, and on
    the primary, where the trigger ran."""
    primary, replicas = ids
    direct = cluster.connect(0, database=schema, autocommit=True, client_flag=flags)
    want = []
    for write, read in STEPS:
        q(direct, write)
        want.append(q(direct, read)[0][0])
    assert want == [7, "7>8", 80]
    direct.close()
    c = halyard.connect(database=schema, autocommit=True, client_flag=flags)
    q(c, "SET @known = 5")
    assert q(c, "SELECT @known, @@server_id")[0] in {(5, r) for r in replicas}
    for (write, read), value in zip(STEPS, want):
        q(c, write)
        assert q(c, read.replace("SELECT @", "SELECT @@server_id, @")) == ((primary, value),)
    # a read that names no user variable still goes to a replica
    assert q(c, "SELECT @@server_id")[0][0] in replicas


@pytest.mark.parametrize("flags", [0, CLIENT.SESSION_TRACK], ids=["plain", "session_track"])
def test_a_write_without_a_trigger_leaves_user_variables_on_the_replicas(halyard, schema, ids,
                                                                        flags):
    """A table without triggers: its OK reports no state change, and the
    session's user variables are still read on the replicas."""
    _, replicas = ids
    c = halyard.connect(database=schema, autocommit=True, client_flag=flags)
    q(c, "SET @known = 6")
    for _ in range(3):
        q(c, "INSERT INTO plain VALUES (1)")
        q(c, "UPDATE plain SET a = 2")
        assert q(c, "SELECT @known, @@server_id")[0] in {(6, r) for r in replicas}
    q(c, "DELETE FROM plain")
    assert q(c, "SELECT @known, @@server_id")[0] in {(6, r) for r in replicas}


def _answer(c, sql):
    """The payloads of the answer to one statement (no multi-results)."""
    c.send_packet(b"\x03" + sql.encode(), seq=0)
    out = [c.read_payload()]
    if out[0][:1] in (b"\x00", b"\xff"):
        return out
    eof = c.caps & CLIENT_DEPRECATE_EOF
    terminators = 1 if eof else 2
    while terminators > 0:
        p = c.read_payload()
        out.append(p)
        if p[:1] == b"\xfe" and len(p) < 0xFFFFFF:
            terminators -= 1
    return out


# What a client reads of OKs: the trigger's, a SET's (read back by
# halyard), USE and SET NAMES (tracked by the server's defaults), an INSERT
# with an info string, the client's own session_track_state_change on and
# off again, and last a result whose closing OK reports a state change.
RAW_STEPS = [
    "INSERT INTO tv VALUES (1)",
    "SELECT @v",
    "/* halyard: primary */ SELECT 1",
    "SET @x = 1",
    f"USE {DB}",
    "SET NAMES utf8mb4",
    "INSERT INTO plain VALUES (1), (2)",
    "SET session_track_state_change = ON",
    "INSERT INTO tv VALUES (2)",
    "SELECT @v, @x",
    "SET session_track_state_change = OFF",
    "INSERT INTO tv VALUES (3)",
    "SELECT @v",
    "SELECT @w := 4",
]


@pytest.mark.parametrize("caps", [0, CLIENT_SESSION_TRACK, CLIENT_DEPRECATE_EOF,
                                  CLIENT_SESSION_TRACK | CLIENT_DEPRECATE_EOF],
                         ids=["plain", "track", "deprecate_eof", "track_deprecate_eof"])
def test_oks_are_the_servers(halyard, cluster, schema, caps):
    """Every packet of every answer is the server's, byte for byte, though
    halyard's backend connections track state changes for halyard."""
    got = {}
    for where, port in (("direct", cluster.primary_port), ("halyard", halyard.port)):
        cluster.sql(0, f"DELETE FROM {DB}.tv")
        cluster.sql(0, f"DELETE FROM {DB}.plain")
        cluster.sync()
        c = RawConn("127.0.0.1", port, timeout=10)
        c.login(APP_USER, APP_PASSWORD, db=schema, caps=DEFAULT_CAPS | caps)
        got[where] = [_answer(c, sql) for sql in RAW_STEPS]
        c.send_packet(bytes([COM_RESET_CONNECTION]), seq=0)
        got[where].append([c.read_payload()])
        got[where].append(_answer(c, "INSERT INTO tv VALUES (5)"))
        got[where].append(_answer(c, "SELECT @v"))
        c.close()
    for sql, d, h in zip(RAW_STEPS + ["reset", "insert", "select"], got["direct"],
                         got["halyard"]):
        assert h == d, sql
    assert got["halyard"][1][-2] == b"\x011"  # @v = 1, as on the server


def test_a_pooled_connection_keeps_following_triggers(start_halyard, cluster, schema, ids):
    """pool_mode = transaction: a session that takes a connection another
    session used (and one reset by COM_RESET_CONNECTION) still sees the
    trigger's variable."""
    h = start_halyard(pool_mode="transaction")
    primary, _ = ids
    for n in range(3):
        c = h.connect(database=schema, autocommit=True)
        q(c, f"INSERT INTO tv VALUES ({n})")
        assert q(c, "SELECT @v, @@server_id") == ((n, primary),)
        c._execute_command(COM_RESET_CONNECTION, b"")
        c._read_ok_packet()
        q(c, f"INSERT INTO tv VALUES ({n + 10})")
        assert q(c, "SELECT @v") == ((n + 10,),)
        c.close()


def test_client_reads_of_the_variable(halyard, cluster, schema):
    """What the client reads of session_track_state_change is its own: a
    read on a replica, where halyard does not set it."""
    c = halyard.connect(database=schema, autocommit=True, client_flag=CLIENT.SESSION_TRACK)
    q(c, "INSERT INTO tv VALUES (1)")
    assert q(c, "SELECT @@session_track_state_change") == ((0,),)
    q(c, "SET session_track_state_change = ON")
    assert q(c, "SELECT @@session_track_state_change") == ((1,),)
    with pytest.raises(pymysql.err.OperationalError):
        q(c, "SET session_track_state_change = 'maybe'")


def test_a_prepared_write_that_fires_the_trigger(halyard, cluster, schema):
    """COM_STMT_EXECUTE of an INSERT whose trigger sets @v: the OK is the
    server's, and @v then reads as on the server."""
    from test_ps import execute, prepare
    got = {}
    for where, port in (("direct", cluster.primary_port), ("halyard", halyard.port)):
        c = RawConn("127.0.0.1", port, timeout=10)
        c.login(APP_USER, APP_PASSWORD, db=schema, caps=DEFAULT_CAPS)
        _answer(c, "SET @v = 0")
        stmt, _, _ = prepare(c, "INSERT INTO tv VALUES (11)")
        got[where] = [execute(c, stmt), _answer(c, "SELECT @v")]
        c.close()
    assert got["halyard"] == got["direct"]
    assert got["halyard"][1][-2] == b"\x0211"


def test_set_statement_that_turns_tracking_off(halyard, cluster, schema, ids):
    """`SET STATEMENT session_track_state_change = 0 FOR INSERT ...`: the
    server reports nothing for that statement, so halyard takes its user
    variables as a CALL's. (Any other SET STATEMENT ... FOR a write is
    reported as a state change by the server, the variable's restore:
    followed the same way.)"""
    primary, replicas = ids
    c = halyard.connect(database=schema, autocommit=True)
    q(c, "SET @v = 1")
    assert q(c, "SELECT @v, @@server_id")[0] in {(1, r) for r in replicas}
    q(c, "SET STATEMENT session_track_state_change = 0 FOR INSERT INTO tv VALUES (12)")
    assert q(c, "SELECT @v, @@server_id") == ((12, primary),)
    c = halyard.connect(database=schema, autocommit=True)
    q(c, "SET STATEMENT max_statement_time = 10 FOR INSERT INTO tv VALUES (13)")
    assert q(c, "SELECT @v, @@server_id") == ((13, primary),)
