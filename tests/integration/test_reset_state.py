"""What COM_RESET_CONNECTION keeps, through halyard as on the server
(issue 54 item 3).

MariaDB 10.11 resets the session's variables, temporary tables, prepared
statements, transaction and user-level locks before it answers, and keeps
the schema and the role of the last SET ROLE. Each test runs the same
steps directly against the primary and through halyard and compares, in
both pool modes, with one worker (every session draws on one pool).
"""

import pytest

import rawmysql
from rawmysql import MySQLError, RawConn
from util import APP_PASSWORD, APP_USER, mysql_native_hash

USER, PASSWORD = "hy_rs_user", "rs-pass"  # no privilege of its own on rsdb
ROLE = "hy_rs_reader"                     # SELECT on rsdb.t
DB = "hy_rsdb"


@pytest.fixture
def accounts(cluster):
    cluster.sql(0, f"DROP DATABASE IF EXISTS {DB}")
    cluster.sql(0, f"CREATE DATABASE {DB}")
    cluster.sql(0, f"CREATE TABLE {DB}.t (v INT)")
    cluster.sql(0, f"INSERT INTO {DB}.t VALUES (1), (2)")
    cluster.sql(0, f"CREATE USER IF NOT EXISTS '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'")
    cluster.sql(0, f"CREATE ROLE IF NOT EXISTS {ROLE}")
    cluster.sql(0, f"GRANT SELECT ON {DB}.t TO {ROLE}")
    cluster.sql(0, f"GRANT {ROLE} TO '{USER}'@'%'")
    cluster.sync()
    yield
    cluster.sql(0, f"DROP USER IF EXISTS '{USER}'@'%'")
    cluster.sql(0, f"DROP ROLE IF EXISTS {ROLE}")
    cluster.sql(0, f"DROP DATABASE IF EXISTS {DB}")


@pytest.fixture(params=["transaction", "session"])
def h(request, start_halyard, accounts):
    users = [{"name": APP_USER, "password_hash": mysql_native_hash(APP_PASSWORD)},
             {"name": USER, "password_hash": mysql_native_hash(PASSWORD)}]
    return start_halyard(users=users, workers=1, pool_mode=request.param)


def login(port, user=USER, password=PASSWORD):
    c = RawConn("127.0.0.1", port)
    c.login(user, password)
    return c


def val(c, sql):
    """The first column of the first row, or the error's code."""
    try:
        return c.value(sql)
    except MySQLError as e:
        return e.code


def sides(h, cluster):
    return {"direct": cluster.primary_port, "halyard": h.port}


def test_reset_keeps_the_role(h, cluster):
    """SET ROLE, then COM_RESET_CONNECTION: CURRENT_ROLE() is still the
    role and a table readable only through it returns its rows, on the
    primary and on the replicas (reads go there), while another session
    of the same user uses the same pool (it never has the role). SET ROLE
    NONE then a reset: no role. Before the fix, through halyard:
    CURRENT_ROLE() NULL and 1142 after the reset."""
    seen = {}
    for where, port in sides(h, cluster).items():
        c, other = login(port), login(port)
        try:
            out = [val(c, f"SELECT COUNT(*) FROM {DB}.t")]
            c.query(f"SET ROLE {ROLE}")
            out.append((val(c, "SELECT CURRENT_ROLE()"), val(c, f"SELECT COUNT(*) FROM {DB}.t")))
            c.command(rawmysql.COM_RESET_CONNECTION)
            for _ in range(3):
                out.append((val(c, "SELECT CURRENT_ROLE()"),
                            val(c, f"SELECT COUNT(*) FROM {DB}.t"),
                            val(c, f"/* halyard: primary */ SELECT COUNT(*) FROM {DB}.t")))
                out.append(("other", val(other, "SELECT CURRENT_ROLE()"),
                            val(other, f"SELECT COUNT(*) FROM {DB}.t")))
            c.command(rawmysql.COM_RESET_CONNECTION)  # twice: still kept
            out.append((val(c, "SELECT CURRENT_ROLE()"), val(c, f"SELECT COUNT(*) FROM {DB}.t")))
            c.query("SET ROLE NONE")
            c.command(rawmysql.COM_RESET_CONNECTION)
            out.append((val(c, "SELECT CURRENT_ROLE()"), val(c, f"SELECT COUNT(*) FROM {DB}.t")))
        finally:
            c.close()
            other.close()
        seen[where] = out
    assert seen["direct"][:3] == [1142, (ROLE, "2"), (ROLE, "2", "2")]
    assert seen["direct"][3] == ("other", None, 1142)
    assert seen["direct"][-1] == (None, 1142)
    assert seen["halyard"] == seen["direct"]


def test_reset_keeps_the_role_of_a_pinned_session(h, cluster):
    """The same with the session pinned to the primary (a user lock) when
    it sets the role: the reset ends the pin, the role stays."""
    seen = {}
    for where, port in sides(h, cluster).items():
        c = login(port)
        try:
            c.query("SELECT GET_LOCK('hy_rs_pin', 5)")  # pins to the primary
            c.query(f"SET ROLE {ROLE}")
            c.command(rawmysql.COM_RESET_CONNECTION)
            seen[where] = [(val(c, "SELECT CURRENT_ROLE()"), val(c, f"SELECT COUNT(*) FROM {DB}.t"))
                           for _ in range(3)]
        finally:
            c.close()
    assert seen["direct"] == [(ROLE, "2")] * 3
    assert seen["halyard"] == seen["direct"]
