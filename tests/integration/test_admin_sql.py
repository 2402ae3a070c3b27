"""The SQL admin port (admin_listen, issue 32): the admin socket's commands as
statements for any MySQL client, logged in with an account of
admin_accounts.

One halyard serves every test of the module (they only read, or set a
backend apart and back): the mariadb CLI and pymysql log in, read typed
result sets, are refused by role (1227), by password (1045), for syntax
(1064) and for an unknown SHOW (1146), and a garbage packet closes only
its own connection. A second halyard listens on 0.0.0.0 with
admin_require_tls: pymysql and the CLI log in over TLS, a plaintext login
gets 1045, a failed handshake closes only its connection, and `halyard -t`
refuses a non-loopback address without TLS.
"""

import datetime
import os
import re
import socket
import ssl
import struct
import subprocess

import pymysql
import pytest

from util import REPO, free_port, mysql_native_hash, wait_until

ADMIN_PW, VIEWER_PW = "adm-secret", "view-secret"


@pytest.fixture(scope="module")
def sql_halyard(cluster_session, tmp_path_factory):
    """A halyard with its SQL admin port on a free loopback port."""
    from conftest import _halyard_factory

    port = free_port()
    gen = _halyard_factory(cluster_session, tmp_path_factory.mktemp("admin_sql"))
    start = next(gen)
    h = start(admin_listen=f"127.0.0.1:{port}",
              admin_accounts=[{"name": "admin", "password_hash": mysql_native_hash(ADMIN_PW),
                               "role": "operator"},
                              {"name": "viewer", "password_hash": mysql_native_hash(VIEWER_PW)}])
    h.admin_port = port
    yield h
    next(gen, None)


def connect(h, user="admin", password=ADMIN_PW):
    return pymysql.connect(host="127.0.0.1", port=h.admin_port, user=user, password=password,
                           connect_timeout=5, read_timeout=30)


def query(h, sql, user="admin", password=ADMIN_PW):
    c = connect(h, user, password)
    try:
        with c.cursor(pymysql.cursors.DictCursor) as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        c.close()


def refused(h, sql, user="admin", password=ADMIN_PW):
    """The (code, message) a statement is refused with; the connection stays usable."""
    c = connect(h, user, password)
    try:
        with c.cursor() as cur:
            with pytest.raises(pymysql.MySQLError) as e:
                cur.execute(sql)
            cur.execute("SELECT 1")
            assert cur.fetchall() == ((1,),)  # never a dropped connection
        return e.value.args[0], e.value.args[1]
    finally:
        c.close()


def test_mariadb_cli_show_backends(sql_halyard, cluster):
    out = subprocess.run(
        ["mariadb", "-h127.0.0.1", f"-P{sql_halyard.admin_port}", "-uadmin", f"-p{ADMIN_PW}",
         "--batch", "-e", "SHOW BACKENDS"],
        capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    head = lines[0].split("\t")
    rows = [dict(zip(head, l.split("\t"))) for l in lines[1:]]
    assert sorted(r["name"] for r in rows) == sorted(n["name"] for n in cluster.nodes)
    roles = {r["name"]: r["role"] for r in rows}
    assert sorted(roles.values()) == ["primary", "replica", "replica"], roles


def test_typed_columns(sql_halyard):
    rows = query(sql_halyard, "SHOW BACKENDS")
    assert rows and all(isinstance(r["queries"], int) for r in rows)
    assert all(isinstance(r["role_seen"], int) and isinstance(r["p99_ms"], float) for r in rows)
    assert all(r["lag_s"] is None or isinstance(r["lag_s"], float) for r in rows)
    status = query(sql_halyard, "show status")
    assert len(status) == 1
    assert isinstance(status[0]["pid"], int)
    assert isinstance(status[0]["started"], datetime.datetime)
    # same data as the admin socket's answer
    stats = query(sql_halyard, "SHOW STATS")
    # the totals first (worker NULL), then each worker's
    assert stats[0]["worker"] is None and isinstance(stats[0]["commands"], int)
    assert [r["worker"] for r in stats[1:]] == [0, 1]
    assert stats[0]["sessions_accepted"] == sum(r["sessions_accepted"] for r in stats[1:])
    assert query(sql_halyard, "SELECT @@version_comment LIMIT 1")[0]["@@version_comment"]
    assert query(sql_halyard, "SELECT DATABASE()") == [{"DATABASE()": None}]


def test_every_show_answers(sql_halyard):
    for what in ("POOLS", "SESSIONS", "EVENTS", "SHARDS", "BACKUPS", "GROUPS", "RULES", "DIGESTS",
                 "BLOCKED", "XA", "FIREWALL", "CONFIG"):
        query(sql_halyard, f"SHOW {what}", user="viewer", password=VIEWER_PW)
    config = {r["name"]: r["value"] for r in query(sql_halyard, "SHOW CONFIG")}
    assert config["admin_accounts.[0].password_hash"] == "(hidden)"
    assert config["admin_accounts.[1].role"] == "read-only"


def columns(h, sql):
    """The column names and type codes of a statement's result set, and its rows."""
    c = connect(h)
    try:
        with c.cursor() as cur:
            cur.execute(sql)
            return [(d[0], d[1]) for d in cur.description], cur.fetchall()
    finally:
        c.close()


def admin_shows():
    """The X of every `show X` of admin_verbs[] (src/admin/admin_cmd.c)."""
    src = open(os.path.join(REPO, "src", "admin", "admin_cmd.c")).read()
    table = src[src.index("const struct admin_verb_def admin_verbs[ADMIN_N_VERBS]"):]
    shows = re.findall(r'\.words = "show ([a-z]+)"', table)
    assert len(shows) >= 15, shows
    return shows


def test_empty_list_names_its_columns(sql_halyard):
    """A SHOW whose list is empty answers the columns a full one has, and no
    row (no transaction is in doubt on this halyard, no rule is set)."""
    longlong, var_string = 8, 253
    cols, rows = columns(sql_halyard, "SHOW XA")
    assert rows == ()
    assert [n for n, _ in cols] == ["xid", "groups", "decision", "age_s", "note"]
    assert dict(cols)["age_s"] == longlong and dict(cols)["decision"] == var_string
    cols, rows = columns(sql_halyard, "SHOW RULES")
    assert rows == ()
    assert [n for n, _ in cols][:3] == ["name", "action", "route"]
    assert dict(cols)["hits"] == longlong
    cols, rows = columns(sql_halyard, "SHOW POOLS")  # empty or not: the same columns
    assert [n for n, _ in cols] == ["backend", "user", "in_use", "idle", "waiting", "waits",
                                    "wait_p50_ms", "wait_p99_ms", "restores", "resets",
                                    "opened", "closed"]
    # SHOW SHARDS: a result set per table of `show shards`: the schema map
    # (none mapped: its columns), the groups' counters, the sharded tables
    # (none: their columns), the reference tables (a column of names)
    c = connect(sql_halyard)
    try:
        with c.cursor() as cur:
            sets = []
            cur.execute("SHOW SHARDS")
            while True:
                sets.append(([(d[0], d[1]) for d in cur.description], cur.fetchall()))
                if not cur.nextset():
                    break
    finally:
        c.close()
    assert len(sets) == 4, sets
    (cols, rows), (gcols, grows), (tcols, trows), (rcols, rrows) = sets
    assert rows == () and trows == () and rrows == ()
    assert [n for n, _ in cols] == ["schema", "group", "conflict", "from", "learned", "line"]
    assert dict(cols)["line"] == longlong
    assert [n for n, _ in gcols] == ["group", "schemas", "conflicts", "statements", "errors",
                                     "moves_in", "refused", "by_key", "scatters"]
    assert all(t == longlong for n, t in gcols if n != "group"), gcols
    assert [r[0] for r in grows] == ["default"] and grows[0][3] >= 0
    assert [n for n, _ in tcols][:3] == ["table", "key", "type"]
    assert [n for n, _ in rcols] == ["reference"]
    # the mariadb CLI prints each of them
    out = subprocess.run(
        ["mariadb", "-h127.0.0.1", f"-P{sql_halyard.admin_port}", "-uviewer", f"-p{VIEWER_PW}",
         "--batch", "-e", "SHOW SHARDS"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "group\tschemas\tconflicts\tstatements" in out.stdout and "\ndefault\t" in out.stdout, \
        out.stdout
    # a document with an empty list in it (no copy, no cached rule): its one
    # row of values, typed, the list its JSON text
    (backup,), (cache,) = query(sql_halyard, "SHOW BACKUPS"), query(sql_halyard, "SHOW CACHE")
    assert backup["archive_state"] == "off" and backup["copies"] == "[]", backup
    assert isinstance(backup["lag_s"], float) and isinstance(backup["transactions"], int)
    assert backup["full_started"] is None
    assert cache["on"] == 0 and cache["hits"] == 0 and cache["rules"] == "[]", cache
    # every SHOW of the command table: never a lone column named after a list
    for what in admin_shows():
        cols, _ = columns(sql_halyard, f"SHOW {what}")
        assert len(cols) > 1, (what, cols)
        # one naming convention: lower_case, a unit as a suffix (age_s, p50_ms)
        assert all(re.fullmatch(r"[a-z][a-z0-9_]*", n) for n, _ in cols), (what, cols)


def test_show_groups_one_fact_a_column(sql_halyard, cluster):
    """SHOW GROUPS: a group's writer and its backends counted by state, each
    in a typed column of its own (no list of backends in one cell)."""
    cols, rows = columns(sql_halyard, "SHOW GROUPS")
    longlong = 8
    names = [n for n, _ in cols]
    assert names == ["group", "cluster", "failover", "writer", "writers", "backends", "online",
                     "down", "lagging", "draining", "maint"]
    assert all(t == longlong for n, t in cols if n not in ("group", "cluster", "failover",
                                                           "writer")), cols
    (g,) = [dict(zip(names, r)) for r in rows]
    assert (g["group"], g["cluster"], g["writers"], g["backends"]) == \
        ("default", "replication", 1, len(cluster.nodes))
    assert g["writer"] == cluster.nodes[0]["name"]
    assert sum(g[s] for s in ("online", "down", "lagging", "draining", "maint")) == g["backends"]


def test_viewer_refused_actions(sql_halyard):
    for sql in ("SWITCHOVER", "RELOAD", "SET BACKEND node1 OFFLINE", "KILL SESSION 5"):
        code, msg = refused(sql_halyard, sql, "viewer", VIEWER_PW)
        assert code == 1227, (sql, msg)


def test_errors(sql_halyard):
    assert refused(sql_halyard, "SHOW NOSUCHTHING")[0] == 1146
    assert refused(sql_halyard, "FROBNICATE THE BACKENDS")[0] == 1064
    assert refused(sql_halyard, "SET BACKEND node1 SIDEWAYS")[0] == 1064
    assert refused(sql_halyard, "SELECT * FROM t")[0] == 1064
    assert refused(sql_halyard, "KILL SESSION 4000000")[0] == 1094
    with pytest.raises(pymysql.MySQLError) as e:
        connect(sql_halyard, "admin", "wrong")
    assert e.value.args[0] == 1045
    with pytest.raises(pymysql.MySQLError) as e:
        connect(sql_halyard, "nobody", "x")
    assert e.value.args[0] == 1045


def test_set_backend_offline_shows(sql_halyard, cluster):
    name = cluster.nodes[2]["name"]
    c = connect(sql_halyard)
    try:
        with c.cursor(pymysql.cursors.DictCursor) as cur:
            cur.execute(f"SET BACKEND {name} OFFLINE")
            cur.execute("SHOW BACKENDS")
            state = {r["name"]: r["state"] for r in cur.fetchall()}
            assert state[name] == "MAINT", state
            cur.execute("SHOW CONFIG")
            cfg = {r["name"]: r["value"] for r in cur.fetchall()}
            assert cfg["runtime.[0].backend"] == name and cfg["runtime.[0].runtime"] == "maint"
            cur.execute(f"SET BACKEND `{name}` ONLINE")
            cur.execute("SHOW BACKENDS")
            state = {r["name"]: r["state"] for r in cur.fetchall()}
            assert state[name] != "MAINT", state
    finally:
        c.close()


def test_garbage_packet(sql_halyard):
    s = socket.create_connection(("127.0.0.1", sql_halyard.admin_port), timeout=5)
    s.recv(4096)  # the greeting
    s.sendall(struct.pack("<I", 0xffffff)[:3] + b"\x01" + b"\xff" * 64)
    got = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pass
    s.close()
    assert got == b"" or got[4] == 0xff  # an ERR, or closed
    assert query(sql_halyard, "SELECT 1")  # still up
    sql_halyard.connect().close()


def demo_cli(port, user, password, sql):
    return subprocess.run(["mariadb", "-h127.0.0.1", f"-P{port}", f"-u{user}", f"-p{password}",
                           "--batch", "-e", sql], capture_output=True, text=True, timeout=30)


def test_demo_config_admin_port(start_halyard, cluster):
    """The demo's config (conf/halyard.demo.conf, what `make demo` runs) with
    its SQL admin port moved from 127.0.0.1:6032 to a free port, its
    accounts as they are: operator admin/admin reads SHOW BACKENDS (one row
    per backend, with its role) and sets a backend offline and back;
    read-only viewer/viewer is refused SWITCHOVER with 1227; a wrong
    password with 1045. The mariadb CLI and pymysql both."""
    from util import sample_config
    port = free_port()
    h = start_halyard(sample_config(admin_port=port))
    h.admin_port = port
    out = demo_cli(port, "admin", "admin", "SHOW BACKENDS")
    assert out.returncode == 0, out.stderr
    head, *lines = out.stdout.splitlines()
    rows = [dict(zip(head.split("\t"), l.split("\t"))) for l in lines]
    assert len(rows) == len(cluster.nodes) == 3, rows
    assert sorted(r["role"] for r in rows) == ["primary", "replica", "replica"], rows
    replica = [r["name"] for r in rows if r["role"] == "replica"][0]
    out = demo_cli(port, "viewer", "viewer", "SWITCHOVER")
    assert out.returncode != 0 and "ERROR 1227 (42000)" in out.stderr, out
    out = demo_cli(port, "admin", "wrong", "SHOW BACKENDS")
    assert out.returncode != 0 and "ERROR 1045 (28000)" in out.stderr, out
    assert refused(h, f"SWITCHOVER TO {replica}", "viewer", "viewer")[0] == 1227
    with pytest.raises(pymysql.MySQLError) as e:
        connect(h, "viewer", "admin")
    assert e.value.args[0] == 1045
    out = demo_cli(port, "admin", "admin", f"SET BACKEND {replica} OFFLINE; SHOW BACKENDS")
    assert out.returncode == 0, out.stderr
    assert f"{replica}\t" in out.stdout and "\tMAINT\t" in out.stdout, out.stdout
    query(h, f"SET BACKEND {replica} ONLINE", "admin", "admin")
    state = {r["name"]: r["state"] for r in query(h, "SHOW BACKENDS", "viewer", "viewer")}
    assert state[replica] != "MAINT", state
    # the operator's other actions, as statements: RELOAD, KILL SESSION n,
    # SWITCHOVER TO name (and back)
    query(h, "RELOAD", "admin", "admin")
    status = query(h, "SHOW STATUS", "viewer", "viewer")[0]
    assert status["reloads_ok"] == 1 and status["last_reload_result"] == "ok", status
    app = h.connect()
    query(h, f"KILL SESSION {app.thread_id()}", "admin", "admin")
    with pytest.raises(pymysql.MySQLError):
        with app.cursor() as cur:
            cur.execute("SELECT 1")
    # (the next test's cluster fixture heals the cluster back)
    out = demo_cli(port, "admin", "admin", f"SWITCHOVER TO {replica}")
    assert out.returncode == 0, out
    roles = {r["name"]: r["role"] for r in query(h, "SHOW BACKENDS", "viewer", "viewer")}
    assert roles[replica] == "primary", roles


def test_takeover_hands_the_port_over(start_halyard):
    """A new halyard started with --takeover listens on the SQL admin port
    once the old one has stopped accepting (the old closes it first)."""
    port = free_port()
    conf = dict(admin_listen=f"127.0.0.1:{port}", log_level="info", shutdown_timeout_ms=1000,
                admin_accounts=[{"name": "viewer", "password_hash": mysql_native_hash(VIEWER_PW)}])
    old = start_halyard(**conf)
    old.admin_port = port
    assert query(old, "SHOW STATUS", "viewer", VIEWER_PW)[0]["pid"] == old.pid
    new = start_halyard(port=old.port, wait=False, args=("--takeover",), **conf)
    new.admin_port = port
    new.wait_log(r"admin sql: listening on 127\.0\.0\.1:", timeout=15)
    assert old.wait(timeout=20) == 0
    assert query(new, "SHOW STATUS", "viewer", VIEWER_PW)[0]["pid"] == new.pid


def test_sql_columns_are_the_tables_names(sql_halyard, cluster):
    """One name per value: every column of a show table (halyardctl over the
    admin socket) is a column of the same SHOW on the SQL port."""
    # The module's halyard outlives the tests before this one: the demo
    # config's switchover, and the cluster rebuilt after it (its primary
    # restarted), which it saw as node0 DOWN. Its session needs a primary.
    wait_until(lambda: {(r["name"], r["role"], r["state"]) for r in query(sql_halyard, "SHOW BACKENDS")
                        if r["role"] == "primary"} == {("node0", "primary", "ONLINE")},
               timeout=30, what="the module's halyard sees node0 as its ONLINE primary again")
    sock = f"/tmp/halyard-{sql_halyard.port}.sock"
    ctl = os.environ.get("HALYARDCTL_BIN") or os.path.join(REPO, "build", "halyardctl")
    app = sql_halyard.connect()  # a session, a pool and a digest to show
    with app.cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchall()
    try:
        for what in ("backends", "pools", "sessions", "digests", "groups", "rules", "blocked",
                     "firewall", "events", "shards"):
            c = connect(sql_halyard)
            try:
                with c.cursor() as cur:  # full, or (the last five) empty but for events
                    n = cur.execute(f"SHOW {what.upper()}")
                    assert n > 0 or what in ("rules", "blocked", "firewall", "shards"), what
                    columns = [d[0] for d in cur.description]
            finally:
                c.close()
            out = subprocess.run([ctl, "-s", sock, "show", what], capture_output=True,
                                 text=True, timeout=30)
            assert out.returncode == 0, out
            head = out.stdout.splitlines()[0].split()
            assert set(head) <= set(columns), (what, head, columns)
    finally:
        app.close()


# ---- TLS on the SQL admin port (admin_require_tls) ---------------------------


def tls_files(cluster):
    d = cluster.tls_dir
    return {n: os.path.join(d, f"{n}.pem") for n in ("ca", "server", "server-key")}


@pytest.fixture(scope="module")
def tls_halyard(cluster_session, tmp_path_factory):
    """A halyard whose SQL admin port listens on every address (0.0.0.0),
    which the config accepts only with admin_require_tls and a certificate;
    the tests reach it on 127.0.0.1."""
    from conftest import _halyard_factory

    f = tls_files(cluster_session)
    port = free_port()
    gen = _halyard_factory(cluster_session, tmp_path_factory.mktemp("admin_sql_tls"))
    start = next(gen)
    h = start(admin_listen=f"0.0.0.0:{port}", admin_require_tls=True, log_level="info",
              tls_cert=f["server"], tls_key=f["server-key"],
              admin_accounts=[{"name": "admin", "password_hash": mysql_native_hash(ADMIN_PW),
                               "role": "operator"}])
    h.admin_port = port
    h.ca = f["ca"]
    yield h
    next(gen, None)


def test_tls_login_pymysql(tls_halyard, cluster):
    c = pymysql.connect(host="127.0.0.1", port=tls_halyard.admin_port, user="admin",
                        password=ADMIN_PW, ssl={"ca": tls_halyard.ca}, connect_timeout=5,
                        read_timeout=30)
    try:
        assert isinstance(c._sock, ssl.SSLSocket)
        assert c._sock.version() in ("TLSv1.2", "TLSv1.3")
        with c.cursor(pymysql.cursors.DictCursor) as cur:
            cur.execute("SHOW BACKENDS")
            rows = cur.fetchall()
            assert sorted(r["name"] for r in rows) == sorted(n["name"] for n in cluster.nodes)
            cur.execute("SHOW CONFIG")  # a larger answer, over several TLS records
            cfg = {r["name"]: r["value"] for r in cur.fetchall()}
            assert cfg["admin_require_tls"] == "true"
            assert cfg["admin_listen"] == f"0.0.0.0:{tls_halyard.admin_port}"
    finally:
        c.close()
    tls_halyard.wait_log(r"admin sql admin@127\.0\.0\.1: logged in \(operator, TLSv1\.[23] ",
                         timeout=10)


def test_tls_login_mariadb_cli(tls_halyard, cluster):
    out = subprocess.run(
        ["mariadb", "-h127.0.0.1", f"-P{tls_halyard.admin_port}", "-uadmin", f"-p{ADMIN_PW}",
         "--ssl", f"--ssl-ca={tls_halyard.ca}", "--ssl-verify-server-cert", "--batch",
         "-e", "SHOW BACKENDS"],
        capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    names = [l.split("\t")[0] for l in out.stdout.splitlines()[1:]]
    assert sorted(names) == sorted(n["name"] for n in cluster.nodes)


def test_tls_required(tls_halyard):
    """Without TLS the right password is refused as MariaDB refuses a REQUIRE
    SSL account (1045), and the log says why; over TLS a wrong one is too."""
    with pytest.raises(pymysql.MySQLError) as e:
        pymysql.connect(host="127.0.0.1", port=tls_halyard.admin_port, user="admin",
                        password=ADMIN_PW, connect_timeout=5)
    assert e.value.args[0] == 1045, e.value.args
    assert "Access denied for user 'admin'" in e.value.args[1]
    tls_halyard.wait_log(r"login refused: TLS is required on the admin port", timeout=10)
    out = subprocess.run(
        ["mariadb", "-h127.0.0.1", f"-P{tls_halyard.admin_port}", "-uadmin", f"-p{ADMIN_PW}",
         "--skip-ssl", "-e", "SHOW BACKENDS"], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0 and "ERROR 1045 (28000)" in out.stderr, out.stderr
    with pytest.raises(pymysql.MySQLError) as e:
        pymysql.connect(host="127.0.0.1", port=tls_halyard.admin_port, user="admin",
                        password="wrong", ssl={"ca": tls_halyard.ca}, connect_timeout=5)
    assert e.value.args[0] == 1045, e.value.args


def test_non_loopback_needs_tls_at_load(start_halyard, cluster, tmp_path):
    """admin_listen beyond loopback: refused at load (FILE:LINE: key: why,
    naming what is missing) unless admin_require_tls, tls_cert and an
    account are all there; `halyard -t` says so without binding anything."""
    f = tls_files(cluster)
    acc = [{"name": "admin", "password_hash": mysql_native_hash(ADMIN_PW)}]
    cases = [
        (dict(admin_accounts=acc), "admin_listen",
         "10.9.8.7 is not a loopback address: .* set admin_require_tls = true"),
        (dict(admin_accounts=acc, admin_require_tls=True), "admin_require_tls",
         "needs TLS: set tls_cert and tls_key"),
        (dict(admin_require_tls=True, tls_cert=f["server"], tls_key=f["server-key"]),
         "admin_listen", "no admin_accounts"),
        (dict(admin_accounts=acc, admin_require_tls=True, tls_cert=f["server"],
              tls_key=f["server-key"]), None, None),
    ]
    for conf, key, why in cases:
        h = start_halyard(args=("-t",), wait=False, admin_listen="10.9.8.7:6032", **conf)
        rc = h.wait(timeout=10)
        log = h.log_text()
        if key is None:
            assert rc == 0, log
            continue
        assert rc != 0, log
        assert re.search(rf"{re.escape(h.conf_path)}:\d+: {re.escape(key)}: {why}", log), log


def test_tls_handshake_garbage(tls_halyard):
    """An SSLRequest followed by what is not a ClientHello fails the handshake:
    that connection closes (the log says why), the port serves the next."""
    s = socket.create_connection(("127.0.0.1", tls_halyard.admin_port), timeout=5)
    greeting = s.recv(4096)
    caps = struct.unpack("<H", greeting[greeting.index(b"\0", 5) + 1 + 4 + 9:][:2])[0]
    assert caps & 0x800  # CLIENT_SSL offered
    payload = struct.pack("<IIB", 0x800 | 0x200 | 0x8000 | 0x80000, 1 << 24, 45) + b"\0" * 23
    s.sendall(struct.pack("<I", len(payload))[:3] + b"\x01" + payload + b"not a ClientHello" * 8)
    try:
        assert s.recv(4096)[:1] in (b"", b"\x15")  # closed, or a TLS alert first
    except ConnectionResetError:
        pass
    s.close()
    tls_halyard.wait_log(r"admin sql from 127\.0\.0\.1: TLS handshake failed", timeout=10)
    c = pymysql.connect(host="127.0.0.1", port=tls_halyard.admin_port, user="admin",
                        password=ADMIN_PW, ssl={"ca": tls_halyard.ca}, connect_timeout=5)
    c.close()
