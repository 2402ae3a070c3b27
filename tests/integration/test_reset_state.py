"""What COM_RESET_CONNECTION and COM_CHANGE_USER keep and release, through
halyard as on the server (issue 54 items 3 and 4).

MariaDB 10.11 runs the same cleanup for both commands (the session's
variables, temporary tables, prepared statements, transaction and
user-level locks) before it answers, and keeps the schema and the role of
the last SET ROLE across COM_RESET_CONNECTION and across a COM_CHANGE_USER
that fails (which keeps the old user). Each test runs the same steps
directly against the primary and through halyard and compares, in both
pool modes, with one worker (every session draws on one pool).
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


ROUNDS = 200


def lock_rounds(port, step):
    """ROUNDS times: GET_LOCK('l') on one session, `step` on it, then
    IS_FREE_LOCK('l') from another session and from the same one. Returns
    how many rounds saw the lock still held, (by the other, by the same)."""
    c, other = login(port), login(port, APP_USER, APP_PASSWORD)
    held_other = held_same = 0
    try:
        for _ in range(ROUNDS):
            assert c.value("SELECT GET_LOCK('hy_rs_l', 5)") == "1"
            step(c)
            if other.value("SELECT IS_FREE_LOCK('hy_rs_l')") != "1":
                held_other += 1
            if c.value("SELECT IS_FREE_LOCK('hy_rs_l')") != "1":
                held_same += 1
            # a round ends with the lock free whatever the last one saw
            assert other.value("SELECT GET_LOCK('hy_rs_l', 10)") == "1"
            assert other.value("SELECT RELEASE_LOCK('hy_rs_l')") == "1"
    finally:
        c.close()
        other.close()
    return held_other, held_same


def test_change_user_releases_user_locks_before_its_ok(h, cluster):
    """GET_LOCK, COM_CHANGE_USER, IS_FREE_LOCK: the server answers the
    change once the old session's locks are released, so no round sees the
    lock held. Before the fix halyard closed its backend connection and
    answered at once: the server had not yet let go of the lock."""
    got = {where: lock_rounds(port, lambda c: c.change_user(USER, PASSWORD))
           for where, port in sides(h, cluster).items()}
    assert got["direct"] == (0, 0)
    assert got["halyard"] == got["direct"]


def test_reset_releases_user_locks_before_its_ok(h, cluster):
    """The same with COM_RESET_CONNECTION (the server releases the locks
    there too)."""
    got = {where: lock_rounds(port, lambda c: c.command(rawmysql.COM_RESET_CONNECTION))
           for where, port in sides(h, cluster).items()}
    assert got["direct"] == (0, 0)
    assert got["halyard"] == got["direct"]


def test_failed_change_user_resets_the_session(h, cluster):
    """A COM_CHANGE_USER with a wrong password: MariaDB resets the session
    first (its user lock released, its variables gone, the role and the
    schema kept) and keeps the old user."""
    seen = {}
    for where, port in sides(h, cluster).items():
        c, other = login(port), login(port, APP_USER, APP_PASSWORD)
        try:
            c.query(f"SET ROLE {ROLE}")
            c.query("SET @u = 5")
            assert c.value("SELECT GET_LOCK('hy_rs_f', 5)") == "1"
            with pytest.raises(MySQLError) as e:
                c.change_user(USER, "wrong")
            seen[where] = [e.value.code, val(other, "SELECT IS_FREE_LOCK('hy_rs_f')"),
                           val(c, "SELECT @u"), val(c, "SELECT CURRENT_ROLE()"),
                           val(c, f"SELECT COUNT(*) FROM {DB}.t"), val(c, "SELECT CURRENT_USER()")]
        finally:
            c.close()
            other.close()
    assert seen["direct"] == [1045, "1", None, ROLE, "2", f"{USER}@%"]
    assert seen["halyard"] == seen["direct"]


def test_change_user_starts_without_a_role(h, cluster):
    """A COM_CHANGE_USER that succeeds: MariaDB 10.11 keeps the old
    session's role (even for a user not granted it, which then reads
    through it); halyard starts the new user's session without one, as a
    new login (docs/compatibility.md)."""
    seen = {}
    for where, port in sides(h, cluster).items():
        c = login(port)
        try:
            c.query(f"SET ROLE {ROLE}")
            c.change_user(USER, PASSWORD)
            seen[where] = (val(c, "SELECT CURRENT_ROLE()"), val(c, f"SELECT COUNT(*) FROM {DB}.t"))
        finally:
            c.close()
    assert seen["direct"] == (ROLE, "2")
    assert seen["halyard"] == (None, 1142)
