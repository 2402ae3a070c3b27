"""The session's default schema through halyard is the server's.

COM_CHANGE_USER without a schema leaves the session with none (with one,
it is in that one), COM_RESET_CONNECTION keeps the schema, and COM_INIT_DB
is the session's alone: on every connection the session's statements run on, the primary's and the
replicas', and never on a pooled connection another session takes next. A
statement that runs in another schema than the client's reads other tables
than it names: a silent wrong.

Each test runs a transcript through halyard and directly against the
primary and compares them, in both pool modes, in front of the whole
cluster and of the primary alone, with one worker (every session draws on
one pool). Each table t holds one row naming its schema, so a read of t
says where it ran.
"""

import pytest

import rawmysql
from rawmysql import MySQLError, RawConn
from util import (APP_PASSWORD, APP_USER, default_halyard_settings, mysql_native_hash,
                  schema_with_table)

SCHEMA_A, SCHEMA_B = "hyschema_a", "hyschema_b"
OTHER_USER, OTHER_PASSWORD = "hy_schema_other", "other"
PRIMARY = "/* halyard: primary */ "


@pytest.fixture
def schemas(cluster):
    """hyschema_a.t and hyschema_b.t, one row each ('a', 'b'), and a second
    account with rights on both, on every node."""
    for db in (SCHEMA_A, SCHEMA_B):
        cluster.sql(0, f"DROP DATABASE IF EXISTS {db}")
        schema_with_table(cluster, db, "v VARCHAR(8)")
        cluster.sql(0, f"INSERT INTO {db}.t (v) VALUES ('{db[-1]}')")
    cluster.sql(0, f"CREATE USER IF NOT EXISTS '{OTHER_USER}'@'%' IDENTIFIED BY '{OTHER_PASSWORD}'")
    cluster.sql(0, f"GRANT ALL ON {SCHEMA_A}.* TO '{OTHER_USER}'@'%'")
    cluster.sql(0, f"GRANT ALL ON {SCHEMA_B}.* TO '{OTHER_USER}'@'%'")
    cluster.sync()


@pytest.fixture(params=[("transaction", 3), ("transaction", 1), ("session", 3), ("session", 1)],
                ids=["pooled-3", "pooled-1", "session-3", "session-1"])
def via(request, cluster, start_halyard, schemas):
    """A halyard with one worker in pool_mode `transaction` or `session`,
    in front of the three nodes or of the primary alone."""
    mode, n = request.param
    conf = {"users": [{"name": APP_USER, "password_hash": mysql_native_hash(APP_PASSWORD)},
                      {"name": OTHER_USER, "password_hash": mysql_native_hash(OTHER_PASSWORD)}]}
    if n == 1:
        conf["backends"] = [b for b in default_halyard_settings(cluster, 0)["backends"]
                            if b["role"] == "primary"]
    return start_halyard(conf, workers=1, pool_mode=mode)


def login(port, db=None, user=APP_USER, password=APP_PASSWORD):
    c = RawConn("127.0.0.1", port)
    c.login(user, password, db=db)
    return c


def value_or_error(c, sql):
    try:
        return c.value(sql)
    except MySQLError as e:
        return e.code


def ok_or_error(c, sql):
    try:
        c.query(sql)
        return "ok"
    except MySQLError as e:
        return e.code


def look(c):
    """Where c's statements run: DATABASE() and the row of t (or the error:
    1046 with no schema), twice where reads go (the replicas, in turn) and
    once on the primary."""
    out = []
    for hint in ("", PRIMARY, ""):
        out.append(value_or_error(c, hint + "SELECT IFNULL(DATABASE(), '-')"))
        out.append(value_or_error(c, hint + "SELECT v FROM t"))
    return out


def reset(c):
    assert c.command(rawmysql.COM_RESET_CONNECTION)[:1] == b"\x00"


def leave_pooled_connection_in(port, schema):
    """A session with no schema of its own (logged in with one, then
    COM_CHANGE_USER without: the pool key of the sessions below) moves to
    `schema` while pinned, resets and runs on: the server keeps the schema
    through the reset, and the connection goes back to the pool in it."""
    w = login(port, db=SCHEMA_B)
    w.change_user(APP_USER, APP_PASSWORD)
    w.query(f"CREATE TEMPORARY TABLE {SCHEMA_B}.pin (i INT)")  # pinned to the primary
    w.query(f"USE {schema}")
    reset(w)
    return w, look(w)


@pytest.mark.parametrize("to", ["same user", "another user"])
def test_change_user_without_a_schema_leaves_none(cluster, via, to):
    """mtr main.cte_nonrecursive (MDEV-18460): after COM_CHANGE_USER with
    no database, `SELECT * FROM t` is 1046 on the server. Through halyard
    the session took the pooled connection another session had left in a
    schema (a COM_RESET_CONNECTION cleared halyard's record of it, not the
    server's), and read that schema's t."""
    user, password = (APP_USER, APP_PASSWORD) if to == "same user" else (OTHER_USER,
                                                                         OTHER_PASSWORD)

    def transcript(port):
        w, out = leave_pooled_connection_in(port, SCHEMA_A)
        c = login(port, db=SCHEMA_B)
        out += look(c)
        c.change_user(user, password)
        out += look(c)
        c.query(f"CREATE TEMPORARY TABLE {SCHEMA_A}.t (v INT)")  # the mtr test's next step
        out += look(c)
        c.query(f"DROP TEMPORARY TABLE {SCHEMA_A}.t")
        c.change_user(user, password, db=SCHEMA_A)  # with a schema: in it
        out += look(c)
        c.change_user(APP_USER, APP_PASSWORD)
        out += look(c)
        c.close()
        w.close()
        return out

    got = transcript(via.port)
    assert got == transcript(cluster.primary_port)
    assert got[12:18] == ["-", 1046] * 3  # no schema after the change


@pytest.mark.parametrize("pinned", [False, True], ids=["unpinned", "pinned"])
@pytest.mark.parametrize("login_db", [None, SCHEMA_A], ids=["login-none", "login-a"])
def test_reset_connection_keeps_the_schema(cluster, via, pinned, login_db):
    """COM_RESET_CONNECTION leaves the schema as it was (MariaDB 10.11):
    the session stays in the schema of its last USE, and the connection
    another session takes next is brought to that one's."""

    def transcript(port):
        a = login(port, db=login_db)
        a.query(f"USE {SCHEMA_B}")
        if pinned:
            a.query(f"CREATE TEMPORARY TABLE {SCHEMA_A}.pin (i INT)")
        out = look(a)
        reset(a)
        out += look(a)
        b = login(port)
        out += look(b)
        out += look(a)
        b.close()
        a.close()
        return out

    got = transcript(via.port)
    assert got == transcript(cluster.primary_port)
    assert got[6:12] == ["hyschema_b", "b"] * 3


def test_init_db_is_the_sessions_alone(cluster, via):
    """COM_INIT_DB moves the session, not the next session to take its
    pooled connection: with one backend under pool_mode = "transaction" it
    went unrecorded, and the next session of the key ran in that schema."""

    def transcript(port):
        a = login(port)
        a.command(rawmysql.COM_INIT_DB, SCHEMA_A.encode())
        out = look(a)
        b = login(port)
        out += look(b)
        out += look(a)
        reset(a)  # the schema stays
        out += look(a)
        out += look(b)
        b.close()
        a.close()
        return out

    got = transcript(via.port)
    assert got == transcript(cluster.primary_port)
    assert got[6:12] == ["-", 1046] * 3

