"""TLS both ways: clients to halyard, halyard to the backends.

The cluster runs with tools/cluster --tls: a private CA, a certificate for
127.0.0.1/localhost on node0 and node1, one naming another host on node2,
and client certificates with subjects /CN=app and /CN=other. halyard uses
the same CA and server certificate for its clients.

What each test proves is stated in its docstring; the backend tests read
MariaDB's own per-user statistics (userstat) to show what the server saw,
so "no plaintext fallback" is checked on the server, not taken from
halyard's word.
"""

import json
import os
import re
import socket
import subprocess
import threading
import time

import pymysql
import pymysql.cursors
import pytest

from util import APP_PASSWORD, APP_USER, free_port, mysql_native_hash, render_conf, wait_until

ER_ACCESS_DENIED = 1045
ER_CONNECT_TO_FOREIGN_DATA_SOURCE = 1429  # not 2003: libmariadb shows a server-sent 2xxx as 2027


def tls_files(cluster):
    d = cluster.tls_dir
    return {name: os.path.join(d, f"{name}.pem") for name in (
        "ca", "server", "server-key", "wronghost", "client-app", "client-app-key",
        "client-other", "client-other-key")}


def client_tls_settings(cluster, **extra):
    f = tls_files(cluster)
    s = {"tls_cert": f["server"], "tls_key": f["server-key"]}
    s.update(extra)
    return s


def backends(cluster, per_node):
    """The cluster's nodes as halyard backends; per_node: {index: {key: value}}."""
    out = []
    for n in cluster.nodes:
        b = {"name": n["name"], "address": "127.0.0.1", "port": n["port"], "role": n["role"]}
        b.update(per_node.get(n["index"], {}))
        out.append(b)
    return out


def tls_connect(h, ca, user=APP_USER, password=APP_PASSWORD, cert=None, key=None, **kw):
    ssl_opts = {"ca": ca, "check_hostname": True}
    if cert:
        ssl_opts.update(cert=cert, key=key)
    return pymysql.connect(**h.conn_params(user, password, ssl=ssl_opts, **kw))


def value(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        row = cur.fetchone()
        return row[1] if row and len(row) > 1 else (row[0] if row else None)


def ssl_request():
    """The 32-byte SSLRequest packet, sequence id 1."""
    caps = 0x800 | 0x200 | 0x8000 | 0x80000  # SSL, PROTOCOL_41, SECURE_CONNECTION, PLUGIN_AUTH
    req = caps.to_bytes(4, "little") + (1 << 24).to_bytes(4, "little") + bytes([45]) + bytes(23)
    return len(req).to_bytes(3, "little") + b"\x01" + req


def mariadb_cli(port, *args, sql):
    cmd = ["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{port}", f"-u{APP_USER}",
           f"-p{APP_PASSWORD}", "--connect-timeout=5", *args, "-e", sql]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


@pytest.fixture
def userstat(cluster):
    """MariaDB's per-user statistics, reset on every node; turned off after."""
    for n in range(len(cluster.nodes)):
        cluster.sql(n, "SET GLOBAL userstat = 1")
        cluster.sql(n, "FLUSH LOCAL USER_STATISTICS")  # not binlogged: replicas too

    def stats(node, user=APP_USER):
        rows = cluster.sql(node, "SELECT TOTAL_CONNECTIONS, TOTAL_SSL_CONNECTIONS "
                                 "FROM information_schema.USER_STATISTICS WHERE USER = %s", (user,))
        return tuple(int(x) for x in rows[0]) if rows else (0, 0)
    yield stats
    for n in range(len(cluster.nodes)):
        cluster.sql(n, "SET GLOBAL userstat = 0")


# ---------------------------------------------------------------------------
# Client side


def test_greeting_offers_tls_only_with_a_certificate(start_halyard, cluster):
    """CLIENT_SSL is in the greeting exactly when tls_cert is set; a client
    asking for TLS from a halyard without it gets Bad handshake."""
    def greeting_caps(port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            data = b""
            while len(data) < 4 or len(data) < 4 + int.from_bytes(data[:3], "little"):
                data += s.recv(4096)
        p = data[4:]
        end = p.index(b"\0", 1)
        return int.from_bytes(p[end + 1 + 4 + 9:end + 1 + 4 + 9 + 2], "little")

    plain = start_halyard()
    assert not greeting_caps(plain.port) & 0x800
    with socket.create_connection(("127.0.0.1", plain.port), timeout=5) as s:
        s.recv(4096)
        s.sendall(ssl_request())
        err = s.recv(4096)
    assert err[4] == 0xFF and int.from_bytes(err[5:7], "little") == 1043, err
    assert b"Bad handshake" in err
    tls = start_halyard(client_tls_settings(cluster))
    assert greeting_caps(tls.port) & 0x800


def test_mariadb_cli_over_tls_verifying_halyard(start_halyard, cluster):
    """The mariadb CLI with --ssl-verify-server-cert against our CA: the
    client leg is TLS (the CLI's status says so) and queries run."""
    h = start_halyard(client_tls_settings(cluster))
    ca = tls_files(cluster)["ca"]
    r = mariadb_cli(h.port, "--ssl", f"--ssl-ca={ca}", "--ssl-verify-server-cert",
                    sql="status; SELECT 40 + 2 AS answer")
    assert r.returncode == 0, r.stderr
    m = re.search(r"SSL:\s+Cipher in use is (\S+)", r.stdout)
    assert m, r.stdout
    assert re.search(r"answer\n42", r.stdout), r.stdout
    # Without TLS the same CLI still logs in (TLS is offered, not required).
    r = mariadb_cli(h.port, "--skip-ssl", sql="status")
    assert r.returncode == 0, r.stderr
    assert re.search(r"SSL:\s+Not in use", r.stdout), r.stdout


def test_pymysql_tls_and_large_results(start_halyard, cluster):
    """pymysql with ssl={'ca': ...} and hostname check: TLS 1.2+ on the
    socket, and results far larger than a TLS record (16 KiB) and than
    halyard's buffers come through intact (decrypted bytes held inside
    OpenSSL must be delivered without a new socket event)."""
    h = start_halyard(client_tls_settings(cluster), buffer_size=4096)
    conn = tls_connect(h, tls_files(cluster)["ca"])
    assert conn._sock.version() in ("TLSv1.2", "TLSv1.3")
    with conn.cursor() as cur:
        cur.execute("SELECT REPEAT('x', 3000000)")
        assert cur.fetchone()[0] == "x" * 3000000
        cur.execute("SELECT seq, REPEAT(CHAR(65 + seq % 26 USING ascii), seq % 300) FROM mysql.seq_1_to_20000")
        rows = cur.fetchall()
        assert len(rows) == 20000
        assert all(r[1] == chr(65 + r[0] % 26) * (r[0] % 300) for r in rows)
        big = "y" * 2000000
        cur.execute("SELECT LENGTH(%s)", (big,))  # a large request through TLS
        assert cur.fetchone()[0] == 2000000
    conn.close()


def test_status_variables_describe_the_client_connection(start_halyard, cluster):
    """Issue 33 item 3: Ssl_cipher, Ssl_version and the other Ssl_* status
    variables of a connection, read through halyard (SHOW STATUS, SHOW
    GLOBAL STATUS, information_schema), describe the client's connection to
    halyard, not halyard's to the server: here the client speaks TLS and
    the backends do not; a plain client reads what a plain client of the
    server reads."""
    f = tls_files(cluster)
    h = start_halyard(client_tls_settings(cluster))
    conn = tls_connect(h, f["ca"], autocommit=True)
    cipher, version = conn._sock.cipher()[0], conn._sock.version()
    with conn.cursor() as cur:
        cur.execute("SHOW STATUS WHERE Variable_name IN ('Ssl_cipher', 'Ssl_version', "
                    "'Ssl_verify_mode', 'Ssl_default_timeout', 'Compression')")
        got = dict(cur.fetchall())
        assert got["Ssl_cipher"] == cipher and got["Ssl_version"] == version, got
        assert got["Compression"] == "OFF" and int(got["Ssl_default_timeout"]) > 0, got
        cur.execute("SHOW GLOBAL STATUS LIKE 'Ssl_cipher'")
        assert cur.fetchall() == (("Ssl_cipher", cipher),)
        cur.execute("SELECT VARIABLE_NAME, VARIABLE_VALUE FROM information_schema.SESSION_STATUS "
                    "WHERE VARIABLE_NAME IN ('SSL_CIPHER', 'SSL_VERSION') ORDER BY 1")
        assert cur.fetchall() == (("SSL_CIPHER", cipher), ("SSL_VERSION", version))
        cur.execute("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                    "WHERE VARIABLE_NAME = 'SSL_CIPHER'")
        assert cur.fetchall() == ((cipher,),)
    conn.close()
    # A plain client reads what a plain client of the server reads.
    names = ("SHOW SESSION STATUS WHERE Variable_name IN ('Ssl_cipher', 'Ssl_version', "
             "'Ssl_cipher_list', 'Ssl_default_timeout', 'Ssl_server_not_after', "
             "'Ssl_server_not_before', 'Ssl_sessions_reused', 'Ssl_verify_depth', "
             "'Ssl_verify_mode')")
    plain, direct = h.connect(), cluster.connect(0, ssl_disabled=True)
    try:
        with plain.cursor() as a, direct.cursor() as b:
            a.execute(names)
            b.execute(names)
            assert a.fetchall() == b.fetchall()
    finally:
        plain.close()
        direct.close()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_tls_client_that_stops_reading_stays_bounded(start_halyard, cluster):
    """A TLS client that asks for a 200 MB result and reads none of it:
    halyard's memory stays bounded (back-pressure works through TLS both
    ways), and the session can still be killed cleanly."""
    f = tls_files(cluster)
    h = start_halyard(client_tls_settings(cluster, backend_tls="on"), read_write_split=False)
    before = rss_kib(h.pid)
    conn = tls_connect(h, f["ca"], cursorclass=pymysql.cursors.SSCursor, read_timeout=60)
    cur = conn.cursor()
    cur.execute("SELECT REPEAT('x', 1000000) FROM mysql.seq_1_to_200")  # rows stay unread
    peak = before
    for _ in range(20):  # 2 s of a stalled reader
        peak = max(peak, rss_kib(h.pid))
        time.sleep(0.1)
    assert peak - before < 16 * 1024, (before, peak)
    # Hang up mid-result, as a killed client would (pymysql would drain it).
    cur._result.unbuffered_active = False
    conn._force_close()
    assert value(tls_connect(h, f["ca"]), "SELECT 10") == 10


def test_sysbench_over_tls(start_halyard, cluster, tmp_path):
    """sysbench --mysql-ssl=on through halyard: a short point-select run
    with zero errors, and the sessions were TLS (halyard's log)."""
    cluster.sql(0, "DROP DATABASE IF EXISTS sbtls")
    cluster.sql(0, "CREATE DATABASE sbtls")
    common = ["--mysql-host=127.0.0.1", "--mysql-user=app", "--mysql-password=app",
              "--mysql-db=sbtls", "--tables=1", "--table-size=1000"]
    r = subprocess.run(["sysbench", "oltp_point_select", *common,
                        f"--mysql-port={cluster.primary_port}", "prepare"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    cluster.sync()
    h = start_halyard(client_tls_settings(cluster))
    # sysbench's --mysql-ssl=on reads cacert.pem, client-cert.pem and
    # client-key.pem from its working directory.
    f = tls_files(cluster)
    for src, dst in (("ca", "cacert.pem"), ("client-app", "client-cert.pem"),
                     ("client-app-key", "client-key.pem")):
        os.symlink(f[src], tmp_path / dst)
    r = subprocess.run(["sysbench", "oltp_point_select", *common, f"--mysql-port={h.port}",
                        "--mysql-ssl=on", "--threads=4", "--time=3", "--mysql-ignore-errors=none",
                        "run"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert re.search(r"ignored errors:\s+0 ", r.stdout), r.stdout
    queries = int(re.search(r"queries:\s+(\d+)", r.stdout).group(1))
    assert queries > 100, r.stdout
    cluster.sql(0, "DROP DATABASE sbtls")


def test_require_tls_on_listener(start_halyard, cluster):
    """A listener with require_tls refuses a plaintext login with 1045 (as
    MariaDB 10.11 under require_secure_transport) and says why in its log;
    the same login over TLS works."""
    port = free_port()
    h = start_halyard(client_tls_settings(cluster, listeners=[
        {"name": "secure", "address": "127.0.0.1", "port": port, "require_tls": True}]), port=port)
    with h.log_contains(r"listener secure requires TLS; plaintext login refused"):
        with pytest.raises(pymysql.err.OperationalError) as e:
            h.connect()
    assert e.value.args == (ER_ACCESS_DENIED,
                            "Access denied for user 'app'@'127.0.0.1' (using password: YES)")
    conn = tls_connect(h, tls_files(cluster)["ca"])
    assert value(conn, "SELECT 1") == 1


def test_require_tls_per_user(start_halyard, cluster, tmp_path):
    """A user with require_tls: plaintext refused with 1045 (as REQUIRE
    SSL), TLS accepted; another user on the same listener is unaffected."""
    cluster.sql(0, "CREATE USER IF NOT EXISTS 'plainok'@'%' IDENTIFIED BY 'p'")
    cluster.sync()
    audit = tmp_path / "audit.log"
    h = start_halyard(client_tls_settings(cluster, audit_log=str(audit), users=[
        {"name": APP_USER, "password_hash": mysql_native_hash(APP_PASSWORD), "require_tls": True},
        {"name": "plainok", "password_hash": mysql_native_hash("p")}]))
    with h.log_contains(r"user 'app' requires TLS; plaintext login refused"):
        with pytest.raises(pymysql.err.OperationalError) as e:
            h.connect()
    assert e.value.args == (ER_ACCESS_DENIED,
                            "Access denied for user 'app'@'127.0.0.1' (using password: YES)")
    assert value(tls_connect(h, tls_files(cluster)["ca"]), "SELECT 2") == 2
    assert value(h.connect("plainok", "p"), "SELECT 3") == 3
    cluster.sql(0, "DROP USER 'plainok'@'%'")

    def refusals():
        lines = audit.read_text().splitlines() if audit.exists() else []
        return [e for e in map(json.loads, lines) if e["event"] == "login_failed"]
    fails = wait_until(refusals, what="the refusal in the audit log")
    assert [(f["user"], f["reason"]) for f in fails] == [("app", "user requires TLS")], fails


def test_client_certificate_subject(start_halyard, cluster):
    """With tls_ca and tls_subject = "/CN=app": the right certificate logs
    in, another subject, no certificate, or plaintext gets 1045; a
    certificate our CA did not sign fails the handshake itself."""
    f = tls_files(cluster)
    h = start_halyard(client_tls_settings(cluster, tls_ca=f["ca"], users=[
        {"name": APP_USER, "password_hash": mysql_native_hash(APP_PASSWORD),
         "tls_subject": "/CN=app"}]))
    conn = tls_connect(h, f["ca"], cert=f["client-app"], key=f["client-app-key"])
    assert value(conn, "SELECT 5") == 5
    denied = (ER_ACCESS_DENIED, "Access denied for user 'app'@'127.0.0.1' (using password: YES)")
    with h.log_contains(r"requires a certificate with subject '/CN=app', got '/CN=other'"):
        with pytest.raises(pymysql.err.OperationalError) as e:
            tls_connect(h, f["ca"], cert=f["client-other"], key=f["client-other-key"])
    assert e.value.args == denied
    with h.log_contains(r"requires a certificate with subject '/CN=app'; none presented"):
        with pytest.raises(pymysql.err.OperationalError) as e:
            tls_connect(h, f["ca"])
    assert e.value.args == denied
    with pytest.raises(pymysql.err.OperationalError) as e:
        h.connect()
    assert e.value.args == denied


def test_client_certificate_from_another_ca_fails_handshake(start_halyard, cluster, tmp_path):
    """A certificate signed by a CA halyard does not trust: the TLS
    handshake fails, the log names the reason, nothing else is affected."""
    f = tls_files(cluster)
    d = str(tmp_path)
    subprocess.run(["openssl", "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "k.pem", "-out", "c.pem",
                    "-days", "2", "-subj", "/CN=app"], cwd=d, check=True, capture_output=True)
    h = start_halyard(client_tls_settings(cluster, tls_ca=f["ca"]))
    with h.log_contains(r"TLS handshake failed: certificate verify failed"):
        with pytest.raises(pymysql.err.OperationalError):
            tls_connect(h, f["ca"], cert=f"{d}/c.pem", key=f"{d}/k.pem")
    assert value(tls_connect(h, f["ca"]), "SELECT 6") == 6


def test_garbage_instead_of_client_hello(start_halyard, cluster):
    """An SSLRequest followed by junk: that connection closes, halyard
    stays up."""
    h = start_halyard(client_tls_settings(cluster))
    with socket.create_connection(("127.0.0.1", h.port), timeout=5) as s:
        s.recv(4096)
        s.sendall(ssl_request() + b"\x16\x03\x01junkjunkjunk")
        s.settimeout(5)
        try:
            while s.recv(4096):
                pass
        except ConnectionResetError:
            pass
    assert value(tls_connect(h, tls_files(cluster)["ca"]), "SELECT 7") == 7


def test_sighup_new_certificate(start_halyard, cluster, tmp_path):
    """A reload with a new certificate: new connections get it, the open
    one keeps working; a reload naming a missing key fails with FILE:LINE:
    KEY and keeps the certificate in force."""
    f = tls_files(cluster)
    d = str(tmp_path)
    ext = tmp_path / "ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "new-key.pem", "-out",
                    "new.csr", "-subj", "/CN=halyard-reloaded"], cwd=d, check=True,
                   capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", "new.csr", "-CA", f["ca"], "-CAkey",
                    os.path.join(cluster.tls_dir, "ca-key.pem"), "-set_serial", "77", "-days", "2",
                    "-extfile", str(ext), "-out", "new.pem"], cwd=d, check=True,
                   capture_output=True)
    h = start_halyard(client_tls_settings(cluster))

    def subject_cn(conn):
        subj = dict(x[0] for x in conn._sock.getpeercert()["subject"])
        return subj["commonName"]

    old = tls_connect(h, f["ca"])
    assert subject_cn(old) == "127.0.0.1"
    with h.log_contains(r"reloaded"):
        h.reload(render_conf(cluster, h.port, client_tls_settings(
            cluster, tls_cert=f"{d}/new.pem", tls_key=f"{d}/new-key.pem")))
    new = tls_connect(h, f["ca"])
    assert subject_cn(new) == "halyard-reloaded"
    assert value(old, "SELECT 8") == 8 and value(new, "SELECT 9") == 9

    text = render_conf(cluster, h.port, client_tls_settings(
        cluster, tls_cert=f"{d}/new.pem", tls_key=f"{d}/missing-key.pem"))
    line = text.splitlines().index(f'tls_key = "{d}/missing-key.pem";') + 1
    with h.log_contains(re.escape(f"{h.conf_path}:{line}: tls_key: cannot load private key "
                                  f"\"{d}/missing-key.pem\"")):
        h.reload(text)
    assert subject_cn(tls_connect(h, f["ca"])) == "halyard-reloaded"


# ---------------------------------------------------------------------------
# Backend side


def test_backend_tls_on(start_halyard, cluster, userstat):
    """tls = on: every login halyard made on the server was over TLS. (The
    client's Ssl_cipher through halyard is its own connection's: none.)"""
    h = start_halyard(read_write_split=False, backend_tls="on")
    conn = h.connect()
    assert value(conn, "SHOW SESSION STATUS LIKE 'Ssl_cipher'") == ""
    assert value(conn, "SELECT 1") == 1
    total, tls = userstat(0)
    assert total >= 1 and tls == total, (total, tls)


def test_backend_verify_full_and_verify_ca(start_halyard, cluster, userstat):
    """verify-full against node0 (certificate for 127.0.0.1) works; against
    node2, whose certificate names another host, the login fails with a
    clear 1429 naming the backend and the reason, and node2 never saw a
    login from app (no plaintext fallback). verify-ca accepts node2."""
    ca = tls_files(cluster)["ca"]
    h = start_halyard(read_write_split=False, backend_tls="verify-full", backend_tls_ca=ca)
    assert value(h.connect(), "SELECT 1") == 1
    total, tls = userstat(0)
    assert total >= 1 and tls == total, (total, tls)

    # No health checks here: this is the data path's own verification (with
    # them, node2 is DOWN before the statement and is not even tried).
    wrong = start_halyard(read_write_split=False, backend_tls="verify-full", backend_tls_ca=ca,
                          monitor=None,
                          backends=[{"name": "node2", "address": "127.0.0.1",
                                     "port": cluster.port(2), "role": "primary"}])
    with wrong.log_contains(r"backend node2 \(127\.0\.0\.1:\d+\): TLS \(tls = verify-full\): "
                            r"certificate verify failed: IP address mismatch"):
        with pytest.raises(pymysql.err.OperationalError) as e:
            value(wrong.connect(), "SELECT 1")
    assert e.value.args[0] == ER_CONNECT_TO_FOREIGN_DATA_SOURCE
    assert e.value.args[1] == (f"Can't connect to backend 'node2' (127.0.0.1:{cluster.port(2)}): "
                               "TLS (tls = verify-full): certificate verify failed: IP address "
                               "mismatch")
    assert userstat(2) == (0, 0)

    ok = start_halyard(read_write_split=False, backends=[
        {"name": "node2", "address": "127.0.0.1", "port": cluster.port(2), "role": "primary",
         "tls": "verify-ca", "tls_ca": ca}])
    assert value(ok.connect(), "SELECT 1") == 1
    total, tls = userstat(2)
    assert total >= 1 and tls == total, (total, tls)


def test_backend_without_tls_is_refused(start_halyard, cluster):
    """A server that does not offer TLS while tls = on: halyard hangs up
    after the greeting without sending a byte (no plaintext login), from
    the data path and from the monitor alike, and the client gets 1429
    naming the backend and why."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(0.2)
    got = []  # bytes each connection sent after our greeting
    stop = threading.Event()

    def handle(c):
        caps = 0x01FFFFFF & ~0x800 & ~0x20  # everything but CLIENT_SSL and compression
        p = (b"\x0a5.5.5-10.11.0-fake\x00" + (7).to_bytes(4, "little") + b"abcdefgh\x00"
             + (caps & 0xFFFF).to_bytes(2, "little") + bytes([45]) + (2).to_bytes(2, "little")
             + (caps >> 16).to_bytes(2, "little") + bytes([21]) + bytes(10) + b"ijklmnopqrst\x00"
             + b"mysql_native_password\x00")
        c.sendall(len(p).to_bytes(3, "little") + b"\x00" + p)
        c.settimeout(10)
        data = b""
        try:
            while True:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        got.append(data)
        c.close()

    def serve():
        while not stop.is_set():
            try:
                c, _ = srv.accept()
            except OSError:
                continue
            threading.Thread(target=handle, args=(c,), daemon=True).start()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    port = srv.getsockname()[1]
    try:
        backends = [{"name": "fake", "address": "127.0.0.1", "port": port, "role": "primary",
                     "tls": "on"}]
        # The monitor: the backend is DOWN with the reason, and statements
        # are refused at once with it.
        h = start_halyard(read_write_split=False, backends=backends)
        h.wait_log(r"backend fake: ONLINE -> DOWN: .*server does not offer TLS; not logging in "
                   r"in plaintext")
        with pytest.raises(pymysql.err.OperationalError) as e:
            value(h.connect(), "SELECT 1")
        assert e.value.args[0] == ER_CONNECT_TO_FOREIGN_DATA_SOURCE
        assert e.value.args[1].startswith("No primary available: backend 'fake' is DOWN (")
        assert "server does not offer TLS" in e.value.args[1], e.value.args
        # The data path (no health checks: the statement tries the backend).
        d = start_halyard(read_write_split=False, backends=backends, monitor=None)
        conn = d.connect()  # no schema: the backend is opened by the first statement
        with pytest.raises(pymysql.err.OperationalError) as e:
            value(conn, "SELECT 1")
        assert e.value.args == (ER_CONNECT_TO_FOREIGN_DATA_SOURCE,
                                f"Can't connect to backend 'fake' (127.0.0.1:{port}): server does "
                                "not offer TLS (tls = on); not logging in in plaintext")
        wait_until(lambda: len(got) >= 2, what="the fake server's connections to end")
    finally:
        stop.set()
        t.join(5)
        srv.close()
    assert all(g == b"" for g in got), got


def test_tls_both_ways_through_the_split(start_halyard, cluster, userstat):
    """Client TLS and backend verify-full together, through the split: reads
    on replicas and writes on the primary, all encrypted."""
    f = tls_files(cluster)
    h = start_halyard(client_tls_settings(cluster, backend_tls="verify-full",
                                          backend_tls_ca=f["ca"]),
                      backends=backends(cluster, {2: {"tls": "verify-ca"}}))
    conn = tls_connect(h, f["ca"])
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE IF NOT EXISTS tlsboth")
        cur.execute("CREATE TABLE IF NOT EXISTS tlsboth.t (id INT PRIMARY KEY, v MEDIUMTEXT)")
        cur.execute("REPLACE INTO tlsboth.t VALUES (1, REPEAT('z', 100000))")
        cur.execute("SELECT LENGTH(v) FROM tlsboth.t WHERE id = 1")
        assert cur.fetchone()[0] == 100000
        ports = set()
        for _ in range(10):
            cur.execute("SELECT @@port")
            ports.add(cur.fetchone()[0])
        cur.execute("DROP DATABASE tlsboth")
    assert ports == {cluster.port(1), cluster.port(2)}, ports
    for node in range(3):  # every login halyard made, on each node, over TLS
        total, tls = userstat(node)
        assert total >= 1 and tls == total, (node, total, tls)


def test_monitor_checks_over_tls(start_halyard, cluster, userstat):
    """The monitor logs in with the backends' TLS settings: with
    verify-full, node2 (certificate for another host) is marked DOWN with
    the TLS reason and never sees a login from the monitor; the others are
    checked over TLS only."""
    ca = tls_files(cluster)["ca"]
    h = start_halyard(backend_tls="verify-full", backend_tls_ca=ca, monitor={
        "user": "monitor", "password": "monitor", "interval_ms": 100, "rise": 1, "fall": 1})
    h.wait_log(r"backend node2: ONLINE -> DOWN: .*TLS \(tls = verify-full\): certificate verify "
               r"failed: IP address mismatch")
    total, tls = wait_until(lambda: (lambda st: st if st[0] >= 1 else None)(userstat(0, "monitor")),
                            what="a monitor login on node0")
    assert tls == total, (total, tls)
    assert userstat(2, "monitor") == (0, 0)
    assert "backend node0: ONLINE -> DOWN" not in h.log_text()
