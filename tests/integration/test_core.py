"""Integration tests of halyard's proxy core: login, every command, the
binary protocol, big results and packets, multi-statements, LOAD DATA
LOCAL, malformed input, backend failures, graceful stop, concurrency and
the config check.

Clients are real: the mariadb CLI and mariadb-admin, pymysql, the libmariadb
program tests/clients/ps_client.c, and a raw-socket client (rawmysql.py) for
what none of those can send. Where the server's own behaviour is the
reference, the same steps run directly against the primary and the two
results are compared.
"""

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pymysql
import pytest
from pymysql.constants import CLIENT

import rawmysql
from rawmysql import MySQLError, RawConn
from util import (APP_PASSWORD, APP_USER, MONITOR_PASSWORD, MONITOR_USER, REPO,
                  mysql_native_hash, pool_mode, port_accepts, vm_kb, wait_until, one)

DB = "hytest"
SESSION_ID_BASE = 1 << 30  # halyard's session ids (the client's thread id) start here
MARIADB = shutil.which("mariadb") or "/usr/bin/mariadb"
MARIADB_ADMIN = shutil.which("mariadb-admin") or "/usr/bin/mariadb-admin"

# Halyard settings used by several tests.
TWO_USERS = [
    {"name": APP_USER, "password_hash": mysql_native_hash(APP_PASSWORD)},
    {"name": MONITOR_USER, "password_hash": mysql_native_hash(MONITOR_PASSWORD)},
]


# ---------------------------------------------------------------------------
# helpers


@pytest.fixture
def db(cluster):
    """The schema the tests work in, on the primary."""
    cluster.sql(0, f"CREATE DATABASE IF NOT EXISTS {DB}")
    return DB


def client_bin(name):
    """tests/clients/<name>, from HALYARD_CLIENTS (built there if missing
    or older than its source)."""
    clients = os.path.abspath(os.environ.get("HALYARD_CLIENTS") or os.path.join(REPO, "build", "clients"))
    path = os.path.join(clients, name)
    src = os.path.join(REPO, "tests", "clients", f"{name}.c")
    if not os.access(path, os.X_OK) or os.path.getmtime(path) < os.path.getmtime(src):
        r = subprocess.run(["make", "-C", REPO, f"BUILD={os.path.dirname(clients)}", path],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0 or not os.access(path, os.X_OK):
            pytest.fail(f"cannot build {path} (make integration builds it):\n{r.stdout}\n{r.stderr}")
    return path


@pytest.fixture(scope="session")
def ps_client_bin():
    return client_bin("ps_client")


def cli_cmd(port, *args, user=APP_USER, password=APP_PASSWORD, db=None):
    cmd = [MARIADB, "--no-defaults", "--protocol=TCP", "-h", "127.0.0.1", "-P", str(port),
           "-u", user, f"--password={password}", "-N", "-B", *args]
    if db is not None:
        cmd.append(db)
    return cmd


def cli(port, *args, user=APP_USER, password=APP_PASSWORD, db=None, timeout=30):
    """Run the mariadb CLI; return the CompletedProcess (text)."""
    return subprocess.run(cli_cmd(port, *args, user=user, password=password, db=db),
                          capture_output=True, text=True, timeout=timeout)


def err_args(excinfo):
    """(code, message) of a pymysql error."""
    return excinfo.value.args[0], excinfo.value.args[1]


# The thread id of the session's connection to the primary: CONNECTION_ID()
# through halyard is the session's own id, @@pseudo_thread_id is the server's.
BACKEND_TID = "/* halyard: primary */ SELECT @@pseudo_thread_id"


def backend_running(cluster, tid, marker):
    """True when backend thread `tid` on the primary runs a query containing marker."""
    return cluster.value(
        0, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s AND INFO LIKE %s",
        (tid, f"%{marker}%")) == 1


def backend_exists(cluster, tid):
    return cluster.value(0, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s",
                         (tid,)) == 1


def kill_marked_queries(cluster, marker):
    """Kill what a test left running on the primary (found by a marker)."""
    for (tid,) in cluster.sql(0, "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE %s "
                                 "AND ID <> CONNECTION_ID()", (f"%{marker}%",)):
        try:
            cluster.sql(0, f"KILL {int(tid)}")
        except pymysql.err.MySQLError:
            pass


class InThread:
    """Run fn() in a thread; keep its result or exception and when it ended."""

    def __init__(self, fn):
        self.result = None
        self.error = None
        self.ended = None
        self.thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self.thread.start()

    def _run(self, fn):
        try:
            self.result = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the test
            self.error = e
        finally:
            self.ended = time.monotonic()

    def join(self, timeout):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"still running after {timeout}s"
        return self


def sleeper(conn, seconds, marker):
    """fn for InThread: SELECT SLEEP on conn, tagged with marker."""
    def run():
        with conn.cursor() as cur:
            # On the primary, where the tests watch for it (a plain read
            # would go to a replica: see test_routing.py).
            cur.execute(f"/* halyard: primary */ SELECT SLEEP({seconds}) /* {marker} */")
            return cur.fetchall()
    return run


def assert_serves(h):
    """halyard is up and a normal client gets an answer."""
    assert h.alive(), f"halyard exited:\n{h.log_tail()}"
    assert h.sql("SELECT 'still serving'") == [("still serving",)]


def assert_logged(h, conn_id, peer_port, what=""):
    """A log line names session conn_id and the client's address."""
    rx = rf"session {conn_id} \S*@127\.0\.0\.1:{peer_port}: .*{what}"
    h.wait_log(rx, timeout=3)


def raw_login(h_or_port, user=APP_USER, password=APP_PASSWORD, **kw):
    port = h_or_port if isinstance(h_or_port, int) else h_or_port.port
    c = RawConn("127.0.0.1", port)
    c.login(user, password, **kw)
    return c


# ---------------------------------------------------------------------------
# login


def test_login_cli_right_password(halyard):
    r = cli(halyard.port, "-e", "SELECT CURRENT_USER(), 6 * 7")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "app@%\t42\n"


def test_login_pymysql_and_thread_id(halyard, cluster):
    conn = halyard.connect()
    assert one(conn, "SELECT CURRENT_USER()") == ("app@%",)
    # The thread id the client sees is halyard's session id, not the
    # backend's, and CONNECTION_ID() says the same wherever it runs.
    assert conn.thread_id() >= SESSION_ID_BASE
    assert one(conn, "SELECT CONNECTION_ID()") == (conn.thread_id(),)
    backend_tid = one(conn, BACKEND_TID)[0]
    assert backend_tid < SESSION_ID_BASE
    assert backend_exists(cluster, backend_tid)
    other = halyard.connect()
    assert other.thread_id() >= SESSION_ID_BASE and other.thread_id() != conn.thread_id()
    raw = RawConn("127.0.0.1", halyard.port)
    assert raw.greeting.conn_id >= SESSION_ID_BASE
    raw.close()


def test_login_wrong_password(halyard, cluster):
    want = "Access denied for user 'app'@'127.0.0.1' (using password: YES)"
    r = cli(halyard.port, "-e", "SELECT 1", password="wrong")
    assert r.returncode == 1
    assert r.stderr.strip() == f"ERROR 1045 (28000): {want}"
    # MariaDB itself says the same.
    direct = cli(cluster.primary_port, "-e", "SELECT 1", password="wrong")
    assert direct.stderr.strip() == r.stderr.strip()

    with pytest.raises(pymysql.err.OperationalError) as e:
        halyard.connect(password="wrong")
    assert err_args(e) == (1045, want)

    raw = RawConn("127.0.0.1", halyard.port)
    with pytest.raises(MySQLError) as e:
        raw.login(APP_USER, "wrong")
    assert (e.value.code, e.value.sqlstate, e.value.message) == (1045, "28000", want)
    raw.wait_closed(2)
    assert_logged(halyard, raw.greeting.conn_id, raw.local_port, "access denied")
    assert_serves(halyard)


def test_login_unknown_user(halyard, cluster):
    want = "Access denied for user 'nobody'@'127.0.0.1' (using password: YES)"
    r = cli(halyard.port, "-e", "SELECT 1", user="nobody", password="secret")
    assert r.returncode == 1
    assert r.stderr.strip() == f"ERROR 1045 (28000): {want}"
    direct = cli(cluster.primary_port, "-e", "SELECT 1", user="nobody", password="secret")
    assert direct.stderr.strip() == r.stderr.strip()
    with pytest.raises(pymysql.err.OperationalError) as e:
        halyard.connect(user="nobody", password="secret")
    assert err_args(e) == (1045, want)


def test_login_empty_password(start_halyard, cluster):
    # app with no password: refused, "using password: NO", as MariaDB says.
    cluster.sql(0, "CREATE USER IF NOT EXISTS 'hy_nopw'@'%'")
    cluster.sql(0, "GRANT SELECT ON *.* TO 'hy_nopw'@'%'")
    try:
        h = start_halyard(users=TWO_USERS + [{"name": "hy_nopw", "password_hash": ""}])
        with pytest.raises(pymysql.err.OperationalError) as e:
            h.connect(password="")
        with pytest.raises(pymysql.err.OperationalError) as direct:
            cluster.connect(0, password="")
        assert err_args(e) == err_args(direct) == (
            1045, "Access denied for user 'app'@'127.0.0.1' (using password: NO)")

        # A user whose hash is "": logs in with an empty password only.
        conn = h.connect(user="hy_nopw", password="")
        assert one(conn, "SELECT CURRENT_USER()") == ("hy_nopw@%",)
        r = cli(h.port, "-e", "SELECT CURRENT_USER()", user="hy_nopw", password="")
        assert (r.returncode, r.stdout) == (0, "hy_nopw@%\n"), r.stderr
        with pytest.raises(pymysql.err.OperationalError) as e:
            h.connect(user="hy_nopw", password="something")
        with pytest.raises(pymysql.err.OperationalError) as direct:
            cluster.connect(0, user="hy_nopw", password="something")
        assert err_args(e) == err_args(direct)
        assert e.value.args[0] == 1045
    finally:
        cluster.sql(0, "DROP USER IF EXISTS 'hy_nopw'@'%'")


@pytest.mark.parametrize("plugin", ["caching_sha2_password", "client_ed25519"])
def test_login_other_plugin_cli(halyard, plugin):
    r = cli(halyard.port, f"--default-auth={plugin}", "-e", "SELECT CURRENT_USER()")
    assert (r.returncode, r.stdout) == (0, "app@%\n"), r.stderr
    r = cli(halyard.port, f"--default-auth={plugin}", "-e", "SELECT 1", password="wrong")
    assert r.stderr.strip() == (
        "ERROR 1045 (28000): Access denied for user 'app'@'127.0.0.1' (using password: YES)")


def test_login_other_plugin_raw_switch(halyard):
    """A client opening with caching_sha2_password is sent an
    AuthSwitchRequest to mysql_native_password and logs in with it."""
    c = RawConn("127.0.0.1", halyard.port)
    switched = c.login(APP_USER, APP_PASSWORD, plugin="caching_sha2_password")
    assert switched == ["mysql_native_password"]
    assert c.value("SELECT CURRENT_USER()") == "app@%"
    c.close()
    # A wrong password given after the switch is refused.
    c = RawConn("127.0.0.1", halyard.port)
    with pytest.raises(MySQLError) as e:
        c.login(APP_USER, "wrong", plugin="caching_sha2_password")
    assert e.value.code == 1045 and e.value.sqlstate == "28000"
    c.close()
    # An answer of the wrong length for mysql_native_password: switched too.
    c = RawConn("127.0.0.1", halyard.port)
    assert c.login(APP_USER, APP_PASSWORD, auth=b"\x01" * 7) == ["mysql_native_password"]
    assert c.value("SELECT 1") == "1"
    c.close()


def test_login_with_schema(halyard, db):
    conn = halyard.connect(database=db)
    assert one(conn, "SELECT DATABASE()") == (db,)
    r = cli(halyard.port, "-e", "SELECT DATABASE()", db=db)
    assert (r.returncode, r.stdout) == (0, f"{db}\n"), r.stderr
    c = raw_login(halyard, db=db)
    assert c.value("SELECT DATABASE()") == db
    c.close()


def test_login_unknown_schema(halyard, cluster):
    with pytest.raises(pymysql.err.OperationalError) as e:
        halyard.connect(database="hy_no_such_db")
    with pytest.raises(pymysql.err.OperationalError) as direct:
        cluster.connect(0, database="hy_no_such_db")
    assert err_args(e) == err_args(direct) == (1049, "Unknown database 'hy_no_such_db'")
    c = RawConn("127.0.0.1", halyard.port)
    with pytest.raises(MySQLError) as e:
        c.login(APP_USER, APP_PASSWORD, db="hy_no_such_db")
    assert (e.value.code, e.value.sqlstate) == (1049, "42000")
    c.wait_closed(2)
    assert_serves(halyard)


# ---------------------------------------------------------------------------
# commands


def test_com_query_ping_quit(start_halyard, cluster):
    halyard = start_halyard(pool_mode="session")  # pooled: the connection stays (test_pool)
    conn = halyard.connect()
    conn.ping(reconnect=False)  # before any backend connection exists
    assert one(conn, "SELECT 1 + 1, 'text', NULL") == (2, "text", None)
    conn.ping(reconnect=False)
    tid = one(conn, BACKEND_TID)[0]
    assert backend_exists(cluster, tid)
    conn.close()  # COM_QUIT: the backend connection goes too
    wait_until(lambda: not backend_exists(cluster, tid), timeout=5,
               what=f"backend thread {tid} to end after COM_QUIT")


def test_com_init_db(halyard, cluster, db):
    conn = halyard.connect()
    assert one(conn, "SELECT DATABASE()") == (None,)
    conn.select_db(db)
    assert one(conn, "SELECT DATABASE()") == (db,)
    with pytest.raises(pymysql.err.OperationalError) as e:
        conn.select_db("hy_no_such_db")
    direct = cluster.connect(0)
    with pytest.raises(pymysql.err.OperationalError) as d:
        direct.select_db("hy_no_such_db")
    direct.close()
    assert err_args(e) == err_args(d) == (1049, "Unknown database 'hy_no_such_db'")
    assert one(conn, "SELECT DATABASE()") == (db,)


def test_com_field_list(halyard, cluster, db):
    cluster.sql(0, f"DROP TABLE IF EXISTS {db}.hy_fl")
    cluster.sql(0, f"CREATE TABLE {db}.hy_fl (id INT NOT NULL PRIMARY KEY, "
                   "name VARCHAR(20) DEFAULT 'x', ts DATETIME(3), price DECIMAL(9,2))")
    got = {}
    for where, port in (("halyard", halyard.port), ("direct", cluster.primary_port)):
        c = raw_login(port, db=db)
        got[where] = c.field_list("hy_fl")
        got[where + " wildcard"] = c.field_list("hy_fl", "n%")
        with pytest.raises(MySQLError) as e:
            c.field_list("hy_no_such_table")
        got[where + " error"] = (e.value.code, e.value.sqlstate, e.value.message)
        assert c.value("SELECT 'after'") == "after"
        c.close()
    assert [rawmysql.Column(p).name for p in got["halyard"]] == ["id", "name", "ts", "price"]
    assert [rawmysql.Column(p).name for p in got["halyard wildcard"]] == ["name"]
    assert got["halyard"] == got["direct"]
    assert got["halyard wildcard"] == got["direct wildcard"]
    assert got["halyard error"] == got["direct error"]
    assert got["halyard error"][0] == 1146


def test_com_statistics(halyard):
    r = subprocess.run([MARIADB_ADMIN, "--no-defaults", "--protocol=TCP", "-h", "127.0.0.1",
                        "-P", str(halyard.port), "-u", APP_USER, f"--password={APP_PASSWORD}",
                        "status"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert re.match(r"Uptime: \d+\s+Threads: \d+\s+Questions: \d+", r.stdout), r.stdout
    c = raw_login(halyard)
    assert c.command(rawmysql.COM_STATISTICS).startswith(b"Uptime: ")
    assert c.value("SELECT 'after'") == "after"
    c.close()


def test_com_set_option(halyard, cluster):
    """Multi-statements off at login, on and off again with COM_SET_OPTION:
    the server honours each (compared with a direct connection)."""
    def transcript(port):
        out = []
        c = raw_login(port)  # DEFAULT_CAPS: no CLIENT_MULTI_STATEMENTS
        for option in (None, rawmysql.MYSQL_OPTION_MULTI_STATEMENTS_ON,
                       rawmysql.MYSQL_OPTION_MULTI_STATEMENTS_OFF):
            if option is not None:
                ans = c.set_option(option)
                out.append(("set_option", option, ans[:1] in (b"\x00", b"\xfe")))
            try:
                res = c.query("SELECT 1 AS a; SELECT 2 AS b")
                out.append([r.rows for r in res])
            except MySQLError as e:
                out.append(("error", e.code))
            out.append(c.value("SELECT 'usable'"))
        c.close()
        return out

    got = transcript(halyard.port)
    assert got == [("error", 1064), "usable",
                   ("set_option", 0, True), [[("1",)], [("2",)]], "usable",
                   ("set_option", 1, True), ("error", 1064), "usable"]
    assert got == transcript(cluster.primary_port)


def test_com_reset_connection(halyard, db):
    c = raw_login(halyard, db=db)
    # Before any backend connection exists.
    assert c.command(rawmysql.COM_RESET_CONNECTION)[:1] == b"\x00"
    c.query("SET @hy_v = 42")
    c.query("CREATE TEMPORARY TABLE hy_tmp_reset (i INT)")
    tid = c.value(BACKEND_TID)
    assert c.value("SELECT @hy_v") == "42"
    assert c.command(rawmysql.COM_RESET_CONNECTION)[:1] == b"\x00"
    assert c.value("SELECT @hy_v") is None
    with pytest.raises(MySQLError) as e:
        c.query("SELECT * FROM hy_tmp_reset")
    assert e.value.code in (1046, 1146)  # no schema selected / no such table
    assert c.value(BACKEND_TID) == tid  # same backend session, reset
    c.close()


def test_com_change_user(start_halyard, cluster):
    h = start_halyard(users=TWO_USERS)

    def transcript(port):
        out = []
        c = raw_login(port)
        c.query("SET @hy_cu = 'before'")
        out.append(c.value("SELECT CONCAT(CURRENT_USER(), ' ', IFNULL(@hy_cu, '-'))"))
        c.change_user(MONITOR_USER, MONITOR_PASSWORD)
        out.append(c.value("SELECT CONCAT(CURRENT_USER(), ' ', IFNULL(@hy_cu, '-'))"))
        with pytest.raises(MySQLError) as e:
            c.change_user(APP_USER, "wrong")
        out.append((e.value.code, e.value.sqlstate, e.value.message))
        # The session stays, as the user it was before the failed change.
        out.append(c.value("SELECT CURRENT_USER()"))
        c.change_user(APP_USER, APP_PASSWORD, db=DB)
        out.append(c.value("SELECT CONCAT(CURRENT_USER(), ' ', DATABASE())"))
        c.close()
        return out

    cluster.sql(0, f"CREATE DATABASE IF NOT EXISTS {DB}")
    got = transcript(h.port)
    assert got == [
        "app@% before",
        "monitor@% -",
        (1045, "28000", "Access denied for user 'app'@'127.0.0.1' (using password: YES)"),
        "monitor@%",
        f"app@% {DB}",
    ]
    assert got == transcript(cluster.primary_port)


def test_other_commands_answered_as_mariadb(halyard, cluster):
    """Commands halyard passes through unchanged get the server's answer:
    COM_PROCESS_INFO's result set, the privilege errors of COM_DEBUG,
    COM_REFRESH and COM_SHUTDOWN (app has none of those privileges),
    COM_STMT_RESET of an unknown statement."""
    def transcript(port):
        out = []
        c = raw_login(port)
        c.send_packet(bytes([0x0A]), seq=0)  # COM_PROCESS_INFO
        out.append(c.read_result().names)
        for cmd, arg in ((0x0D, b""), (0x07, b"\x01"), (0x08, b"\x00"), (0x1A, b"\0\0\0\0")):
            try:
                out.append(("answer", c.command(cmd, arg)[:1]))
            except MySQLError as e:
                out.append((e.code, e.sqlstate, e.message))
        out.append(c.value("SELECT 'usable'"))
        c.close()
        return out

    got = transcript(halyard.port)
    assert got[0][:2] == ["Id", "User"] and got[-1] == "usable"
    assert [x[0] for x in got[1:5]] == [1227, 1227, 1227, 1243]
    assert got == transcript(cluster.primary_port)


def test_kill_query_by_halyard_id(halyard, cluster):
    victim = halyard.connect()
    tid = one(victim, BACKEND_TID)[0]
    killer = halyard.connect()
    job = InThread(sleeper(victim, 10, "hy-kq"))
    wait_until(lambda: backend_running(cluster, tid, "hy-kq"), timeout=5, what="SLEEP on the backend")
    t0 = time.monotonic()
    with halyard.log_contains(rf"KILL QUERY {victim.thread_id()}: asking backend node0 to kill its thread {tid}"):
        one(killer, f"KILL QUERY {victim.thread_id()}")
    job.join(5)
    assert isinstance(job.error, pymysql.err.OperationalError), job.result
    assert job.error.args == (1317, "Query execution was interrupted")
    assert job.ended - t0 < 1.0
    # Only the query was killed: the session and its backend remain.
    assert one(victim, BACKEND_TID) == (tid,)


@pytest.mark.parametrize("stmt", ["KILL CONNECTION {}", "KILL {}", "KILL HARD CONNECTION {}"])
def test_kill_connection_by_halyard_id(halyard, cluster, stmt):
    victim = halyard.connect()
    tid = one(victim, BACKEND_TID)[0]
    killer = halyard.connect()
    job = InThread(sleeper(victim, 10, "hy-kc"))
    wait_until(lambda: backend_running(cluster, tid, "hy-kc"), timeout=5, what="SLEEP on the backend")
    t0 = time.monotonic()
    assert one(killer, stmt.format(victim.thread_id())) is None
    job.join(5)
    assert isinstance(job.error, pymysql.err.OperationalError), job.result
    assert job.ended - t0 < 1.0
    with pytest.raises(pymysql.err.MySQLError):
        one(victim, "SELECT 1")
    wait_until(lambda: not backend_exists(cluster, tid), timeout=5, what=f"backend thread {tid} gone")
    assert one(killer, "SELECT 'killer fine'") == ("killer fine",)


def test_kill_idle_session_without_backend(halyard):
    victim = raw_login(halyard)  # logged in, no command yet: no backend
    killer = halyard.connect()
    assert one(killer, f"KILL {victim.greeting.conn_id}") is None
    victim.wait_closed(2)
    assert one(killer, "SELECT 1") == (1,)


def test_com_process_kill(halyard, cluster):
    victim = halyard.connect()
    tid = one(victim, BACKEND_TID)[0]
    job = InThread(sleeper(victim, 10, "hy-pk"))
    wait_until(lambda: backend_running(cluster, tid, "hy-pk"), timeout=5, what="SLEEP on the backend")
    killer = raw_login(halyard)
    t0 = time.monotonic()
    assert killer.kill(victim.thread_id())[:1] == b"\x00"
    job.join(5)
    assert isinstance(job.error, pymysql.err.OperationalError), job.result
    assert job.ended - t0 < 1.0
    wait_until(lambda: not backend_exists(cluster, tid), timeout=5, what=f"backend thread {tid} gone")
    assert killer.value("SELECT 'killer fine'") == "killer fine"
    killer.close()


def test_kill_by_backend_thread_id(halyard, cluster):
    """A server's thread id (from SHOW PROCESSLIST, or @@pseudo_thread_id)
    goes to the server as it is."""
    victim = halyard.connect()
    tid = one(victim, BACKEND_TID)[0]
    killer = halyard.connect()
    job = InThread(sleeper(victim, 10, "hy-kb"))
    wait_until(lambda: backend_running(cluster, tid, "hy-kb"), timeout=5, what="SLEEP on the backend")
    t0 = time.monotonic()
    one(killer, f"KILL QUERY {tid}")
    job.join(5)
    assert isinstance(job.error, pymysql.err.OperationalError), job.result
    assert job.error.args[0] == 1317
    assert job.ended - t0 < 1.0
    assert one(victim, BACKEND_TID) == (tid,)


def test_kill_other_users_session(start_halyard, cluster):
    """app may not kill monitor's session: ERR 1095 naming the id the client
    gave, as MariaDB does (never the backend's thread id behind it)."""
    h = start_halyard(users=TWO_USERS)
    app = h.connect()
    other_idle = raw_login(h, MONITOR_USER, MONITOR_PASSWORD)  # no backend yet
    other_busy = raw_login(h, MONITOR_USER, MONITOR_PASSWORD)
    other_busy.value("SELECT 1")  # has a backend connection now
    for victim in (other_idle, other_busy):
        vid = victim.greeting.conn_id
        for stmt in ("KILL {}", "KILL QUERY {}"):
            with pytest.raises(pymysql.err.OperationalError) as e:
                one(app, stmt.format(vid))
            assert err_args(e) == (1095, f"You are not owner of thread {vid}")
        assert victim.value("SELECT 'alive'") == "alive"
        victim.close()
    assert one(app, "SELECT 'usable'") == ("usable",)


def test_kill_connection_user_ends_that_account_s_sessions(start_halyard, cluster):
    """KILL CONNECTION USER u[@host], once the server accepts it, ends
    halyard's sessions of that account (from a matching client host) as the
    server ends its clients': their next statement finds the connection
    gone. Another account's sessions, and a host that does not match, stay;
    a KILL USER the server refuses ends nothing."""
    cluster.sql(0, "CREATE USER IF NOT EXISTS 'hy_ku'@'%' IDENTIFIED BY 'ku'")
    cluster.sql(0, "GRANT SELECT ON *.* TO 'hy_ku'@'%'")
    try:
        h = start_halyard(users=TWO_USERS + [{"name": "hy_ku",
                                              "password_hash": mysql_native_hash("ku")}])
        busy = h.connect(user="hy_ku", password="ku")
        # a connection of its account on the primary, where KILL USER runs
        assert one(busy, "SELECT /* halyard: primary */ 1") == (1,)
        idle = raw_login(h, "hy_ku", "ku")  # logged in, no backend yet
        bystander = h.connect()
        killer = h.connect(user=MONITOR_USER, password=MONITOR_PASSWORD)

        # Refused by the server (app has no CONNECTION ADMIN): nothing ends.
        with pytest.raises(pymysql.err.OperationalError) as e:
            one(bystander, "KILL CONNECTION USER hy_ku")
        assert e.value.args[0] == 1095, e.value.args
        assert one(busy, "SELECT 'alive'") == ("alive",)
        # A host the clients do not come from, or a pattern (the server
        # compares the host as it is): nothing of halyard's ends.
        one(killer, "KILL CONNECTION USER 'hy_ku'@'192.0.2.1'")
        one(killer, "KILL CONNECTION USER 'hy_ku'@'127.0.0.%'")
        assert one(busy, "SELECT 'still'") == ("still",)

        with h.log_contains(r"KILL CONNECTION USER hy_ku@127\.0\.0\.1: 2 halyard session"):
            one(killer, "KILL HARD CONNECTION USER hy_ku@'127.0.0.1'")
        with pytest.raises(pymysql.err.OperationalError) as e:
            one(busy, "SELECT 1")
        assert e.value.args[0] in (2006, 2013), e.value.args
        idle.wait_closed(2)
        assert one(bystander, "SELECT 'bystander fine'") == ("bystander fine",)
        assert one(killer, "SELECT 'killer fine'") == ("killer fine",)
    finally:
        cluster.sql(0, "DROP USER IF EXISTS 'hy_ku'@'%'")


def test_kill_unknown_id(halyard, cluster):
    conn = halyard.connect()
    unknown = SESSION_ID_BASE + 12_345_678
    for stmt in ("KILL {}", "KILL QUERY {}", "KILL CONNECTION {}"):
        with pytest.raises(pymysql.err.OperationalError) as e:
            one(conn, stmt.format(unknown))
        assert err_args(e) == (1094, f"Unknown thread id: {unknown}")
    # The same form as MariaDB's for an id it does not know.
    direct = cluster.connect(0)
    with pytest.raises(pymysql.err.OperationalError) as d:
        one(direct, f"KILL {unknown}")
    direct.close()
    assert err_args(d) == (1094, f"Unknown thread id: {unknown}")
    raw = raw_login(halyard)
    with pytest.raises(MySQLError) as e:
        raw.kill(unknown)
    assert (e.value.code, e.value.message) == (1094, f"Unknown thread id: {unknown}")
    assert raw.value("SELECT 'usable'") == "usable"
    raw.close()
    assert one(conn, "SELECT 'usable'") == ("usable",)


SCENARIOS = ["prepare-execute", "cursor", "long-data", "reset", "close", "multi-result", "errors"]


@pytest.mark.parametrize("split", [False, True], ids=["primary", "split"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_binary_protocol_matches_direct(start_halyard, cluster, db, ps_client_bin, scenario, split):
    """ps_client (libmariadb, binary protocol) prints the same through
    halyard as directly against the primary: with everything on the
    primary, and with reads split over the replicas (where the primary's
    session counters, Com_stmt_*, then count only what ran there)."""
    halyard = start_halyard(read_write_split=split)
    out = {}
    for where, port in (("direct", cluster.primary_port), ("halyard", halyard.port)):
        r = subprocess.run([ps_client_bin, "127.0.0.1", str(port), APP_USER, APP_PASSWORD, db, scenario],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"ps_client {scenario} via {where} failed: {r.stderr}"
        out[where] = r.stdout
        if split:  # the primary's counters count only what ran there
            out[where] = re.sub(r"(?m)^status\tCom_stmt_\w+\t\d+\n", "", out[where])
        elif pool_mode() == "transaction":
            # pooled, a statement stays prepared on the connection for the
            # next session: fewer closes, and prepares where one was closed
            out[where] = re.sub(r"(?m)^status\tCom_stmt_(close|prepare)\t\d+\n", "",
                                out[where])
    assert out["halyard"] == out["direct"]
    text = out["halyard"]
    if scenario == "cursor" and not split:
        assert "cursor_open=1\n" in text and "rows=1000\n" in text
        fetches = int(re.search(r"status\tCom_stmt_fetch\t(\d+)", text).group(1))
        assert fetches >= 1000 // 7  # COM_STMT_FETCH, 7 rows at a time
    elif scenario == "long-data":
        assert text.count("stored\t") == 3
    elif scenario == "errors":
        assert "error\t1064\t42000\t" in text and "error\t1062\t23000\t" in text
    elif scenario == "multi-result":
        assert text.count("sets=3\n") == 3


def test_pipelined_commands(halyard):
    """Commands sent back to back in one write are answered in order."""
    c = raw_login(halyard)
    pkts = [b"\x03SELECT 1", b"\x03SELECT SLEEP(0.2), 2", b"\x0e", b"\x03SELECT 3"]
    c.send_raw(b"".join(len(p).to_bytes(3, "little") + b"\0" + p for p in pkts))
    assert c.read_result().rows == [("1",)]
    assert c.read_result().rows == [("0", "2")]
    assert c.read_packet()[:1] == b"\x00"
    assert c.read_result().rows == [("3",)]
    c.close()


def test_max_client_connections(start_halyard):
    h = start_halyard(max_client_connections=2)
    # wait_ready()'s probe connection counts until halyard has seen it close.
    a = wait_until(lambda: h.connect(), timeout=3, what="a first connection")
    b = wait_until(lambda: h.connect(), timeout=3, what="a second connection")
    with pytest.raises(pymysql.err.OperationalError) as e:
        h.connect()
    assert err_args(e) == (1040, "Too many connections")
    b.close()
    # The slot is free again once halyard has seen b go.
    c = wait_until(lambda: h.connect(), timeout=3, what="a connection after one closed")
    assert one(c, "SELECT 1") == (1,) and one(a, "SELECT 2") == (2,)


def test_client_gone_mid_result(start_halyard, cluster, db):
    """A client that disconnects while a large result streams: halyard drops
    the backend connection too, and keeps serving. (Session mode: the thread
    read before is the session's; pooled, test_pool checks the streaming
    connection itself.)"""
    halyard = start_halyard(pool_mode="session")
    c = raw_login(halyard, db=db)
    tid = int(c.value(BACKEND_TID))
    c.send_packet(b"\x03SELECT seq, REPEAT('y', 1000) FROM seq_1_to_2000000", seq=0)
    c.read_packet()  # the column count: the result has started
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
    c.close()  # with a reset
    wait_until(lambda: not backend_exists(cluster, tid), timeout=10,
               what=f"backend thread {tid} to end after its client left")
    assert_serves(halyard)


# ---------------------------------------------------------------------------
# big results and packets


def test_big_result_streams_in_bounded_memory(halyard, db, tmp_path):
    """About 500 MB of rows through halyard while its peak RSS stays small.

    A session holds at most two buffer_size (16 KiB) buffers, so halyard's
    memory must not depend on the result's size. Its baseline is a few MB;
    50 MB is a tenth of the result: halyard buffering even a tenth of it
    (or the whole, as a proxy that reads results to completion would) fails.
    """
    n = 500_000
    base_hwm = vm_kb(halyard.pid, "VmHWM")
    err = open(tmp_path / "cli.err", "w+")
    proc = subprocess.Popen(
        cli_cmd(halyard.port, "--quick", "-e", f"SELECT seq, REPEAT('x', 1000) FROM seq_1_to_{n}", db=db),
        stdout=subprocess.PIPE, stderr=err)
    total = lines = 0
    while True:
        chunk = proc.stdout.read(1 << 20)
        if not chunk:
            break
        total += len(chunk)
        lines += chunk.count(b"\n")
    assert proc.wait(timeout=120) == 0, (err.seek(0), err.read())[1]
    assert lines == n
    assert total == sum(len(str(i)) for i in range(1, n + 1)) + n * (1 + 1000 + 1)
    hwm = vm_kb(halyard.pid, "VmHWM")
    assert hwm < 50 * 1024, f"halyard's peak RSS {hwm} kB (was {base_hwm} kB before the query)"
    assert hwm - base_hwm < 30 * 1024


@pytest.mark.parametrize("size", [20_000_000, 40_000_000, 0xFFFFFF - 4],
                         ids=["20MB", "40MB", "row-exactly-16MiB-1"])
def test_big_packets(halyard, cluster, db, size):
    """Values larger than one 16 MiB packet, both ways. The last size makes
    the row packet exactly 0xFFFFFF bytes, so an empty packet must follow."""
    data = os.urandom(size // 2 + 1).hex()[:size].encode()
    digest = hashlib.sha1(data).hexdigest()
    conn = halyard.connect(database=db, max_allowed_packet=128 << 20, read_timeout=30,
                           write_timeout=30)
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS hy_big")
        cur.execute("CREATE TABLE hy_big (id INT NOT NULL PRIMARY KEY, v LONGBLOB)")
        cur.execute("INSERT INTO hy_big VALUES (%s, %s)", (1, data))
        cur.execute("SELECT LENGTH(v), SHA1(v) FROM hy_big WHERE id = 1")
        assert cur.fetchone() == (size, digest)
        cur.execute("SELECT v FROM hy_big WHERE id = 1")
        (got,) = cur.fetchone()
        assert len(got) == size and hashlib.sha1(got).hexdigest() == digest
        # Both at once: a big value sent and returned in one statement.
        cur.execute("SELECT %s, 'tail'", (data,))
        got, tail = cur.fetchone()
        got = got.encode() if isinstance(got, str) else got
        assert (len(got), hashlib.sha1(got).hexdigest(), tail) == (size, digest, "tail")
        cur.execute("SELECT 'after'")
        assert cur.fetchone() == ("after",)
        cur.execute("DROP TABLE hy_big")


# ---------------------------------------------------------------------------
# multi-statements, multiple result sets


def multi_transcript(conn, table):
    out = []
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
        cur.execute(f"CREATE TABLE {table} (id INT PRIMARY KEY)")
        cur.execute(f"SELECT 1 AS a; INSERT INTO {table} VALUES (1), (2); "
                    f"SELECT COUNT(*) AS n FROM {table}; SELECT 'x' AS s, NULL AS z")
        while True:
            names = [d[0] for d in cur.description] if cur.description else None
            out.append((names, cur.rowcount, cur.fetchall()))
            if not cur.nextset():
                break
        # An error in the middle stops the statements after it.
        try:
            cur.execute(f"INSERT INTO {table} VALUES (3); SELECT * FROM hy_no_such_table; "
                        f"INSERT INTO {table} VALUES (4)")
            while cur.nextset():
                pass
            out.append("no error")
        except pymysql.err.ProgrammingError as e:
            out.append(("error", e.args[0]))
        cur.execute(f"SELECT id FROM {table} ORDER BY id")
        out.append(cur.fetchall())
        cur.execute(f"DROP TABLE {table}")
    return out


def test_multi_statements(halyard, cluster, db):
    kw = dict(database=db, client_flag=CLIENT.MULTI_STATEMENTS)
    got = multi_transcript(halyard.connect(**kw), "hy_multi")
    assert got == [
        (["a"], 1, ((1,),)),
        (None, 2, ()),
        (["n"], 1, ((2,),)),
        (["s", "z"], 1, (("x", None),)),
        ("error", 1146),
        ((1,), (2,), (3,)),
    ]
    direct = cluster.connect(0, **kw)
    assert multi_transcript(direct, "hy_multi") == got
    direct.close()


def call_transcript(conn):
    out = []
    with conn.cursor() as cur:
        cur.execute("DROP PROCEDURE IF EXISTS hy_two_sets")
        cur.execute("CREATE PROCEDURE hy_two_sets(IN x INT) BEGIN "
                    "SELECT x AS first; SELECT seq, seq * x AS times FROM seq_1_to_3; END")
        cur.execute("CALL hy_two_sets(%s)", (7,))
        while True:
            names = [d[0] for d in cur.description] if cur.description else None
            out.append((names, cur.fetchall()))
            if not cur.nextset():
                break
        cur.execute("SELECT 'after call'")
        out.append(cur.fetchall())
    return out


def test_call_two_result_sets(halyard, cluster, db):
    got = call_transcript(halyard.connect(database=db))
    assert got[:2] == [(["first"], ((7,),)), (["seq", "times"], ((1, 7), (2, 14), (3, 21)))]
    assert got[-1] == (("after call",),)
    direct = cluster.connect(0, database=db)
    assert call_transcript(direct) == got
    direct.close()


# ---------------------------------------------------------------------------
# LOAD DATA LOCAL INFILE


def test_load_data_local_infile(halyard, db, tmp_path):
    n = 400_000
    path = tmp_path / "rows.tsv"
    with open(path, "w") as f:
        for i in range(n):
            f.write(f"{i}\t{'payload-' * 7}{i}\n")
    assert path.stat().st_size > 25_000_000
    conn = halyard.connect(database=db, local_infile=True, read_timeout=120, write_timeout=120)
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS hy_load")
        cur.execute("CREATE TABLE hy_load (id INT NOT NULL PRIMARY KEY, v VARCHAR(100))")
        cur.execute("LOAD DATA LOCAL INFILE %s INTO TABLE hy_load", (str(path),))
        assert cur.rowcount == n
        cur.execute("SELECT COUNT(*), SUM(id), MIN(v), MAX(LENGTH(v)) FROM hy_load")
        assert cur.fetchone() == (n, n * (n - 1) // 2, "payload-" * 7 + "0",
                                  len("payload-" * 7) + len(str(n - 1)))
        # A file the client cannot read: it sends an empty file, the session
        # goes on.
        with pytest.raises(pymysql.err.OperationalError):
            cur.execute("LOAD DATA LOCAL INFILE %s INTO TABLE hy_load", (str(tmp_path / "missing.tsv"),))
        cur.execute("SELECT COUNT(*) FROM hy_load")
        assert cur.fetchone() == (n,)
        cur.execute("DROP TABLE hy_load")


# ---------------------------------------------------------------------------
# malformed input


@pytest.fixture
def short_halyard(start_halyard):
    """halyard with a 1 s login timeout."""
    return start_halyard(login_timeout_ms=1000)


LOGIN_TIMEOUT = 1.0
MARGIN = 1.0


def login_packet_payload(c):
    return c.login_packet(APP_USER, rawmysql.native_token(APP_PASSWORD, c.greeting.scramble))


@pytest.mark.parametrize("case", ["http", "truncated-login", "login-wrong-seq", "ssl-request"])
def test_bad_login_packet(short_halyard, case):
    h = short_halyard
    c = RawConn("127.0.0.1", h.port)
    if case == "http":
        c.send_raw(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    elif case == "truncated-login":
        c.send_packet(login_packet_payload(c)[:10], seq=1)
    elif case == "login-wrong-seq":
        c.send_packet(login_packet_payload(c), seq=3)
    elif case == "ssl-request":
        # An SSLRequest (32 bytes, CLIENT_SSL) while halyard has no TLS.
        caps = rawmysql.DEFAULT_CAPS | rawmysql.CLIENT_SSL
        c.send_packet(caps.to_bytes(4, "little") + b"\0\0\0\1" + b"\x2d" + b"\0" * 23, seq=1)
    t0 = time.monotonic()
    got = c.wait_closed(LOGIN_TIMEOUT + MARGIN)
    # Either closed at once, or an ERR 1043 Bad handshake first.
    assert time.monotonic() - t0 < LOGIN_TIMEOUT
    if got:
        err = rawmysql.parse_err(got[0])
        assert (err.code, err.sqlstate) == (1043, "08S01"), got
    assert_logged(h, c.greeting.conn_id, c.local_port)
    c.close()
    assert_serves(h)


def test_login_partial_packet_then_close(short_halyard):
    h = short_halyard
    c = RawConn("127.0.0.1", h.port)
    c.send_raw((100).to_bytes(3, "little") + b"\x01" + b"\x00" * 20)
    c.close()
    assert_serves(h)


@pytest.mark.parametrize("case", ["silent", "header-16MiB-no-body", "partial-body"])
def test_login_timeout(short_halyard, case):
    """A client that does not finish its login is closed after
    login_timeout_ms (or at once, with an ERR, when what it sent cannot be a
    login), never left hanging."""
    h = short_halyard
    c = RawConn("127.0.0.1", h.port)
    t0 = time.monotonic()
    if case == "header-16MiB-no-body":
        c.send_raw(b"\xff\xff\xff\x01")
    elif case == "partial-body":
        c.send_raw((100).to_bytes(3, "little") + b"\x01" + b"\x00" * 20)
    got = c.wait_closed(LOGIN_TIMEOUT + MARGIN)
    elapsed = time.monotonic() - t0
    assert elapsed < LOGIN_TIMEOUT + MARGIN
    if case == "header-16MiB-no-body":
        # Too large for a login: refused at once (ERR 1043) or left to time out.
        if got:
            assert rawmysql.parse_err(got[0]).code == 1043
    else:
        assert got == []
        assert elapsed >= LOGIN_TIMEOUT * 0.9
        assert_logged(h, c.greeting.conn_id, c.local_port, "login not finished within 1000 ms")
    assert_logged(h, c.greeting.conn_id, c.local_port)
    c.close()
    assert_serves(h)


def test_command_wrong_sequence_id(halyard, cluster):
    got = {}
    for where, port in (("halyard", halyard.port), ("direct", cluster.primary_port)):
        c = raw_login(port)
        assert c.value("SELECT 1") == "1"
        c.send_packet(bytes([rawmysql.COM_QUERY]) + b"SELECT 2", seq=5)
        pkts = c.wait_closed(3)
        got[where] = [(e.code, e.sqlstate, e.message) for e in map(rawmysql.parse_err, pkts)]
        if where == "halyard":
            assert_logged(halyard, c.greeting.conn_id, c.local_port)
        c.close()
    assert got["halyard"] == [(1156, "08S01", "Got packets out of order")]
    assert got["halyard"] == got["direct"]
    assert_serves(halyard)


def test_empty_command_packet(halyard, cluster):
    got = {}
    for where, port in (("halyard", halyard.port), ("direct", cluster.primary_port)):
        c = raw_login(port)
        c.send_packet(b"", seq=0)
        err = rawmysql.parse_err(c.read_packet())
        got[where] = (err.code, err.sqlstate, err.message, c.value("SELECT 'usable'"))
        if where == "halyard":
            ids = (c.greeting.conn_id, c.local_port)
        c.close()
    assert got["halyard"] == (1047, "08S01", "Unknown command", "usable")
    assert got["halyard"] == got["direct"]
    assert_serves(halyard)
    assert_logged(halyard, *ids)


@pytest.mark.parametrize("cmd", [rawmysql.COM_BINLOG_DUMP, rawmysql.COM_REGISTER_SLAVE, 0x1E],
                         ids=["COM_BINLOG_DUMP", "COM_REGISTER_SLAVE", "COM_BINLOG_DUMP_GTID"])
def test_replication_commands_refused(halyard, cmd):
    c = raw_login(halyard)
    if cmd == rawmysql.COM_REGISTER_SLAVE:
        arg = (99).to_bytes(4, "little") + b"\0\0\0" + b"\0\0" + b"\0" * 8
    else:
        arg = (4).to_bytes(4, "little") + b"\0\0" + (99).to_bytes(4, "little") + b"binlog.000001"
    with pytest.raises(MySQLError):
        c.command(cmd, arg)
    assert c.value("SELECT 'usable'") == "usable"
    ids = (c.greeting.conn_id, c.local_port)
    c.close()
    assert_serves(halyard)
    assert_logged(halyard, *ids)


# ---------------------------------------------------------------------------
# backend failures


CONNECT_TIMEOUT = 0.5


def test_primary_killed(start_halyard, cluster, db):
    h = start_halyard(connect_timeout_ms=int(CONNECT_TIMEOUT * 1000))
    idle = h.connect()                       # logged in, never needed the backend
    with_backend = h.connect()
    assert one(with_backend, "/* halyard: primary */ SELECT 1") == (1,)
    victim = h.connect()
    tid = one(victim, BACKEND_TID)[0]
    job = InThread(sleeper(victim, 30, "hy-primary-kill"))
    wait_until(lambda: backend_running(cluster, tid, "hy-primary-kill"), timeout=5,
               what="SLEEP on the backend")

    t0 = time.monotonic()
    cluster.kill(0)
    job.join(5)
    assert isinstance(job.error, pymysql.err.OperationalError), job.result
    assert job.error.args[0] in (2013, 2006, 1927, 1053), job.error
    assert job.ended - t0 < 2.0, "the client waited for a dead backend"

    # New sessions: ERR 1429 naming the backend within connect_timeout_ms.
    t1 = time.monotonic()
    with pytest.raises(pymysql.err.OperationalError) as e:
        c = h.connect()
        one(c, "/* halyard: primary */ SELECT 1")
    assert time.monotonic() - t1 <= CONNECT_TIMEOUT + 0.5
    assert e.value.args[0] == 1429 and "node0" in e.value.args[1], e.value.args
    t1 = time.monotonic()
    with pytest.raises(pymysql.err.OperationalError) as e:
        h.connect(database=db)
    assert time.monotonic() - t1 <= CONNECT_TIMEOUT + 0.5
    assert e.value.args[0] == 1429 and "node0" in e.value.args[1], e.value.args
    # libmariadb clients see the reason too (a server-sent 2003 would be
    # shown as "2027 Received malformed packet").
    r = cli(h.port, "-c", "-e", "/* halyard: primary */ SELECT 1", timeout=CONNECT_TIMEOUT + 10)
    assert r.returncode != 0 and "ERROR 1429 (HY000)" in r.stderr and "node0" in r.stderr, r.stderr

    # Reads still work: the replicas serve them while the primary is down.
    replicas = {cluster.server_id(1), cluster.server_id(2)}
    assert one(h.connect(), "SELECT @@server_id")[0] in replicas

    # A session that needs no backend is unaffected; one whose primary
    # connection died goes on: its reads need no primary.
    idle.ping(reconnect=False)
    t1 = time.monotonic()
    assert one(with_backend, "SELECT @@server_id")[0] in replicas
    assert time.monotonic() - t1 < 2.0
    assert h.alive()

    cluster.start_node(0)
    assert h.sql("SELECT 'back'") == [("back",)]
    assert one(idle, "SELECT 'idle one works'") == ("idle one works",)
    assert one(h.connect(database=db), "SELECT DATABASE()") == (db,)

    # What the next test relies on: the cluster fixture's heal() restarts
    # a killed primary.
    cluster.kill(0)
    assert not cluster.is_running(0)
    cluster.heal()
    assert cluster.is_running(0)
    assert h.sql("SELECT 'healed'") == [("healed",)]


class SilentServer:
    """Accepts TCP connections and never sends a byte."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
                self.accepted.append(conn)
            except (socket.timeout, OSError):
                continue

    def close(self):
        self.stopping = True
        self.thread.join(2)
        for c in self.accepted:
            c.close()
        self.sock.close()


@pytest.fixture
def silent_server():
    s = SilentServer()
    yield s
    s.close()


def test_backend_never_answers(start_halyard, silent_server, db):
    # No health checks: this is about connect_timeout_ms (with them, the
    # backend is DOWN after its first check and statements fail at once).
    h = start_halyard(connect_timeout_ms=int(CONNECT_TIMEOUT * 1000), monitor=None, backends=[
        {"name": "silent", "address": "127.0.0.1", "port": silent_server.port, "role": "primary"}])
    conn = h.connect()
    for _ in range(2):  # the session stays and the next command tries again
        t0 = time.monotonic()
        with pytest.raises(pymysql.err.OperationalError) as e:
            one(conn, "SELECT 1")
        elapsed = time.monotonic() - t0
        code, msg = err_args(e)
        assert code == 1429 and "silent" in msg and "timed out" in msg, msg
        assert CONNECT_TIMEOUT * 0.9 <= elapsed <= CONNECT_TIMEOUT + 0.5
    t0 = time.monotonic()
    with pytest.raises(pymysql.err.OperationalError) as e:
        h.connect(database=db)
    assert time.monotonic() - t0 <= CONNECT_TIMEOUT + 0.5
    code, msg = err_args(e)
    assert code == 1429 and "silent" in msg and "timed out" in msg, msg
    assert silent_server.accepted, "halyard never connected to the backend"
    assert h.alive()


# ---------------------------------------------------------------------------
# graceful stop


def test_sigterm_lets_running_statement_finish(start_halyard, cluster):
    h = start_halyard(shutdown_timeout_ms=10000)
    conn = h.connect()
    tid = one(conn, BACKEND_TID)[0]
    job = InThread(sleeper(conn, 2, "hy-graceful"))
    wait_until(lambda: backend_running(cluster, tid, "hy-graceful"), timeout=5, what="SLEEP on the backend")
    t0 = time.monotonic()
    h.send_signal(signal.SIGTERM)
    # The listeners close at the signal, not when the drain ends: the port
    # refuses while the 2 s statement still runs. (The bound is generous for
    # a loaded machine; a halyard that kept accepting until exit fails it.)
    wait_until(lambda: not port_accepts(h.port), timeout=1.5, interval=0.01,
               what="halyard to refuse new connections after SIGTERM")
    refused = time.monotonic()
    assert job.ended is None or job.ended > refused, \
        f"the port refused only {refused - job.ended:.2f}s after the statement ended"
    job.join(5)
    assert job.error is None, job.error
    assert job.result == ((0,),)
    assert h.wait(timeout=5) == 0
    assert time.monotonic() - t0 < 2.0 + 1.5
    assert "stopped" in h.log_tail()


def test_sigterm_shutdown_timeout(start_halyard, cluster):
    h = start_halyard(shutdown_timeout_ms=1000)
    conn = h.connect()
    tid = one(conn, BACKEND_TID)[0]
    job = InThread(sleeper(conn, 20, "hy-shutdown-timeout"))
    try:
        wait_until(lambda: backend_running(cluster, tid, "hy-shutdown-timeout"), timeout=5,
                   what="SLEEP on the backend")
        t0 = time.monotonic()
        h.send_signal(signal.SIGTERM)
        assert h.wait(timeout=10) == 0
        elapsed = time.monotonic() - t0
        assert 0.9 <= elapsed <= 1.0 + 1.5, elapsed
        job.join(5)
        assert isinstance(job.error, pymysql.err.MySQLError), job.result
    finally:
        kill_marked_queries(cluster, "hy-shutdown-timeout")


# ---------------------------------------------------------------------------
# concurrency


def test_many_concurrent_clients(halyard):
    threads, queries = 50, 200
    barrier = threading.Barrier(threads)
    results = [None] * threads

    def client(i):
        try:
            conn = pymysql.connect(**halyard.conn_params())
            with conn.cursor() as cur:
                cur.execute("SET @me = %s", (f"client-{i}",))
                cur.execute("SELECT CONNECTION_ID()")
                (tid,) = cur.fetchone()
                barrier.wait(timeout=30)
                for j in range(queries):
                    token = f"{i}:{j}:{os.urandom(4).hex()}"
                    cur.execute("SELECT %s, @me, CONNECTION_ID(), %s * 2", (token, j))
                    got = cur.fetchall()
                    if got != ((token, f"client-{i}", tid, j * 2),):
                        results[i] = f"query {j}: sent {token!r}, got {got!r}"
                        return
            conn.close()
            results[i] = ("ok", tid)
        except Exception as e:  # noqa: BLE001 - reported below
            results[i] = repr(e)

    ts = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    bad = [(i, r) for i, r in enumerate(results) if not (isinstance(r, tuple) and r[0] == "ok")]
    assert not bad, bad[:5]
    tids = [r[1] for r in results]
    assert len(set(tids)) == threads, "two sessions shared a backend connection"


# ---------------------------------------------------------------------------
# config check


def test_config_check_valid(start_halyard):
    h = start_halyard(args=("-t",), wait=False)
    assert h.wait(timeout=10) == 0
    assert "is valid" in h.log_text()
    assert not port_accepts(h.port)


BROKEN_CONFIGS = {
    # name: (config text, line of the error, key)
    "port-out-of-range": ("""workers = 1;
listeners = (
    { name = "main"; address = "127.0.0.1";
      port = 70000; }
);
users = ({ name = "app"; password_hash = "$app_hash"; });
backends = ({ name = "db"; address = "127.0.0.1"; port = $primary_port; role = "primary"; });
""", 4, "listeners.[0].port"),
    "unknown-key": ("""workers = 1;
listeners = ({ name = "main"; address = "127.0.0.1"; port = $listen_port; });
users = ({ name = "app"; password_hash = "$app_hash"; });
backends = ({ name = "db"; address = "127.0.0.1"; port = $primary_port; role = "primary"; });
frobnicate = true;
""", 5, "frobnicate"),
    "bad-hash": ("""workers = 1;
listeners = ({ name = "main"; address = "127.0.0.1"; port = $listen_port; });
users = (
    { name = "app";
      password_hash = "*NOTAHASH"; }
);
backends = ({ name = "db"; address = "127.0.0.1"; port = $primary_port; role = "primary"; });
""", 5, "users.[0].password_hash"),
    "two-primaries": ("""workers = 1;
listeners = ({ name = "main"; address = "127.0.0.1"; port = $listen_port; });
users = ({ name = "app"; password_hash = "$app_hash"; });
backends = (
    { name = "a"; address = "127.0.0.1"; port = $primary_port; role = "primary"; },
    { name = "b"; address = "127.0.0.1"; port = $primary_port; role = "primary"; }
);
""", 6, "backends.[1].role"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_CONFIGS))
def test_config_check_broken(start_halyard, case):
    text, line, key = BROKEN_CONFIGS[case]
    h = start_halyard(text, args=("-t",), wait=False)
    assert h.wait(timeout=10) != 0
    out = h.log_text()
    m = re.search(rf"{re.escape(h.conf_path)}:(\d+): {re.escape(key)}: (.+)", out)
    assert m, f"no '{h.conf_path}:LINE: {key}: why' in:\n{out}"
    assert int(m.group(1)) == line, out
    assert m.group(2).strip()
    # Started for real (not -t), the same file stops it before it listens.
    h2 = start_halyard(text, wait=False)
    assert h2.wait(timeout=10) != 0
    assert re.search(rf"{re.escape(h2.conf_path)}:{line}: {re.escape(key)}: ", h2.log_text())
