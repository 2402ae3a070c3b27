"""The session's default schema through halyard is the server's.

COM_CHANGE_USER without a schema leaves the session with none (with one,
it is in that one), COM_RESET_CONNECTION keeps the schema, COM_INIT_DB is
the session's alone, and DROP DATABASE of the current schema leaves none:
on every connection the session's statements run on, the primary's and the
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


SCHEMA_D = "hyschema_d"


def fresh_schema_d(cluster):
    cluster.sql(0, f"DROP DATABASE IF EXISTS {SCHEMA_D}")
    cluster.sql(0, f"CREATE DATABASE {SCHEMA_D}")
    cluster.sync()


def drop_and_make_again(c, cluster):
    """DROP DATABASE of c's schema (ROW_COUNT() is the DROP's, not that of
    what halyard asks after it), then the schema and its t ('d') again."""
    c.query(f"DROP DATABASE {SCHEMA_D}")
    out = [c.value("SELECT ROW_COUNT()")] + look(c)
    c.query(f"CREATE DATABASE {SCHEMA_D}")
    c.query(f"CREATE TABLE {SCHEMA_D}.t (v VARCHAR(8))")
    c.query(f"INSERT INTO {SCHEMA_D}.t VALUES ('d')")
    cluster.sync()
    return out + look(c)


@pytest.mark.parametrize("how", ["login", "use"])
def test_drop_database_of_the_current_schema_leaves_none(cluster, via, how):
    """MariaDB sets the schema of the session that drops its current
    database to none. Through halyard the replicas' connections kept the
    name (SELECT v FROM t read the made-again schema there, not 1046), and
    the pooled connection, with no schema, went to the next session of its
    login schema, whose statements failed with 1046. Dropping another
    database leaves the schema as it is."""

    def transcript(port):
        fresh_schema_d(cluster)
        a = login(port, db=SCHEMA_D if how == "login" else SCHEMA_A)
        if how == "use":
            a.query(f"USE {SCHEMA_D}")
        out = drop_and_make_again(a, cluster)
        b = login(port, db=SCHEMA_D)
        out += look(b)
        c = login(port, db=SCHEMA_A)
        c.query("DROP DATABASE IF EXISTS hyschema_nosuch")
        c.query("CREATE DATABASE hyschema_e")
        c.query("DROP DATABASE hyschema_e")
        out += [c.value("SELECT ROW_COUNT()")] + look(c)
        out += look(a)
        for x in (a, b, c):
            x.close()
        return out

    got = transcript(via.port)
    assert got == transcript(cluster.primary_port)
    assert got[1:13] == ["-", 1046] * 6
    assert got[13:19] == [SCHEMA_D, "d"] * 3
    assert got[20:26] == [SCHEMA_A, "a"] * 3


def send(c, sql):
    c.send_packet(bytes([rawmysql.COM_QUERY]) + sql.encode(), seq=0)


def reap(c):
    try:
        return ("ok", c.read_result().affected_rows)
    except MySQLError as e:
        return e.code


def waits(cluster, info, timeout=5.0):
    """Whether the server shows `info` waiting for a metadata lock."""
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = cluster.value(0, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE "
                             "STATE = 'Waiting for table metadata lock' AND INFO = %s", (info,))
        if int(n) == 1:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("end", ["killed", "released"])
def test_a_statement_waiting_on_a_lock_gets_its_own_answer(cluster, via, end):
    """mtr main.kill (line 179), main.flush (135), main.lock_multi (51): a
    statement that waits on a lock and is then interrupted by KILL QUERY
    from another connection gets 1317, or released its own answer, and runs
    once. Through halyard they came back at once with 1046 when the
    session's connection was one another session had left without a
    schema: here a session that dropped its login schema and made it
    again, as MariaDB's tests do with theirs."""
    insert = "INSERT INTO t (v) VALUES ('w')"

    def transcript(port):
        fresh_schema_d(cluster)
        a = login(port, db=SCHEMA_D)
        out = drop_and_make_again(a, cluster)
        # Sessions of another login schema: the pool's connections of
        # this one are left to dml.
        blocker = login(port, db=SCHEMA_A)
        other = login(port, db=SCHEMA_A)
        out.append(ok_or_error(blocker, f"LOCK TABLES {SCHEMA_D}.t READ"))
        dml = login(port, db=SCHEMA_D)
        tid = dml.value("SELECT CONNECTION_ID()")
        send(dml, insert)
        out.append(waits(cluster, insert))
        if end == "killed":
            other.query(f"KILL QUERY {tid}")
        else:
            blocker.query("UNLOCK TABLES")
        out.append(reap(dml))
        blocker.query("UNLOCK TABLES")
        out.append(cluster.value(0, f"SELECT COUNT(*) FROM {SCHEMA_D}.t WHERE v = 'w'"))
        out += look(dml)
        for x in (a, blocker, dml, other):
            x.close()
        return out

    got = transcript(via.port)
    assert got == transcript(cluster.primary_port)
    answer = 1317 if end == "killed" else ("ok", 1)
    assert got[13:17] == ["ok", True, answer, 0 if end == "killed" else 1]
