"""PROXY protocol (listeners.[].proxy_protocol_from) behind a real haproxy.

haproxy (TCP mode) listens on two ports in front of halyard: one backend
line with `send-proxy-v2`, one with `send-proxy` (v1). Clients connect to
haproxy from 127.0.0.5 or 127.0.0.6 (bind_address); haproxy connects to
halyard from 127.0.0.1, the only address in proxy_protocol_from. halyard
must see the client's address, not haproxy's, in users' allow networks,
`show sessions`, the audit log and its log, and the failed-login guard;
a listed peer that sends no valid header is closed, and an unlisted one
that sends a header is refused, both without disturbing anyone else.
"""

import json
import os
import re
import signal
import socket
import struct
import subprocess
import time

import pymysql
import pytest

from test_ops import HALYARDCTL, admin_json
from test_reload import reload_ok
from util import APP_PASSWORD, APP_USER, default_halyard_settings, free_port, \
    mysql_native_hash, port_accepts, wait_until, value

HAPROXY = "/usr/sbin/haproxy"
TEST_PORT = int(os.environ.get("HALYARD_TEST_PORT", "23310"))
# Two haproxy frontends, in the test port range kept for extra
# listeners (HALYARD_TEST_PORT+80..+99; the cluster and Galera use the rest).
HAP_V2_PORT, HAP_V1_PORT = TEST_PORT + 80, TEST_PORT + 81

REAL, OTHER = "127.0.0.5", "127.0.0.6"
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def admin_path(h):
    return f"/tmp/halyard-{h.port}.sock"


def user(name, allow=()):
    return {"name": name, "password_hash": mysql_native_hash(APP_PASSWORD), "allow": list(allow)}


def listener(port, proxy_from=("127.0.0.1/32",)):
    return [{"name": "main", "address": "127.0.0.1", "port": port,
             "proxy_protocol_from": list(proxy_from)}]


class HAProxy:
    def __init__(self, tmp_path, halyard_port):
        self.cfg = tmp_path / "haproxy.cfg"
        self.log = tmp_path / "haproxy.log"
        self.cfg.write_text(f"""global
    maxconn 256

defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s

listen v2
    bind 127.0.0.1:{HAP_V2_PORT}
    server halyard 127.0.0.1:{halyard_port} send-proxy-v2

listen v1
    bind 127.0.0.1:{HAP_V1_PORT}
    server halyard 127.0.0.1:{halyard_port} send-proxy
""")
        r = subprocess.run([HAPROXY, "-c", "-f", str(self.cfg)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr + r.stdout
        for p in (HAP_V2_PORT, HAP_V1_PORT):
            assert not port_accepts(p), f"port {p} is taken: is another haproxy running there?"
        with open(self.log, "wb") as logf:
            self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(self.cfg)], stdout=logf,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        # Probing haproxy's ports with a connect would send halyard a
        # header-only connection; wait for the sockets to be bound instead.
        wait_until(lambda: self.bound() or self.proc.poll() is not None, timeout=10,
                   what="haproxy listening")
        assert self.proc.poll() is None, self.log.read_text()

    @staticmethod
    def bound():
        with open("/proc/net/tcp") as f:
            text = f.read()
        return all(f":{p:04X} 00000000:0000 0A" in text for p in (HAP_V2_PORT, HAP_V1_PORT))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def haproxy(tmp_path):
    started = []

    def start(halyard_port):
        hp = HAProxy(tmp_path, halyard_port)
        started.append(hp)
        return hp
    yield start
    for hp in started:
        hp.stop()


def connect(port, source, user_name=APP_USER, password=APP_PASSWORD, **kw):
    return pymysql.connect(host="127.0.0.1", port=port, user=user_name, password=password,
                           bind_address=source, connect_timeout=5, read_timeout=10,
                           autocommit=True, **kw)


def login_error(port, source, user_name=APP_USER, password=APP_PASSWORD):
    with pytest.raises(pymysql.err.OperationalError) as e:
        connect(port, source, user_name, password)
    return e.value.args


def audit_lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def raw_greeting(sock):
    """Read one MySQL packet; return (seq, payload)."""
    head = recv_exact(sock, 4)
    n = int.from_bytes(head[:3], "little")
    return head[3], recv_exact(sock, n)


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        b = sock.recv(n - len(data))
        if not b:
            raise ConnectionError(f"closed after {len(data)} of {n} bytes")
        data += b
    return data


def closed_within(sock, seconds):
    """Whether the peer closes (EOF or reset) within seconds, reading
    whatever comes first; the bytes read are returned too."""
    sock.settimeout(seconds)
    got = b""
    try:
        while True:
            b = sock.recv(4096)
            if not b:
                return True, got
            got += b
    except ConnectionResetError:
        return True, got
    except socket.timeout:
        return False, got


def raw_socket(port, source, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def v2_header(src, dst, sport, dport, tlvs=b""):
    body = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack(">HH", sport, dport) + tlvs
    return V2_SIG + bytes([0x21, 0x11]) + struct.pack(">H", len(body)) + body


# ---------------------------------------------------------------------------


def start_behind_haproxy(start_halyard, haproxy, proxy_from=("127.0.0.1/32",), **overrides):
    port = free_port()
    h = start_halyard(port=port, listeners=listener(port, proxy_from), **overrides)
    haproxy(port)
    return h


def test_real_client_address_through_haproxy(start_halyard, haproxy, tmp_path):
    """Through send-proxy-v2 and send-proxy: users' allow networks, show
    sessions (admin socket and halyardctl), the audit log and halyard's log
    see 127.0.0.5, the client, not 127.0.0.1, haproxy."""
    audit = tmp_path / "audit.log"
    h = start_behind_haproxy(start_halyard, haproxy, audit_log=str(audit),
                             users=[user(APP_USER, [f"{REAL}/32"]), user("app6", [f"{OTHER}/32"])])
    for port, version in ((HAP_V2_PORT, 2), (HAP_V1_PORT, 1)):
        c = connect(port, REAL)
        local = c._sock.getsockname()
        assert local[0] == REAL
        assert value(c, "SELECT 1") == 1
        sessions = admin_json(admin_path(h), "show sessions")["sessions"]
        clients = [s["client"] for s in sessions]
        assert f"{REAL}:{local[1]}" in clients, (version, clients)
        assert not any(x.startswith("127.0.0.1:") for x in clients), (version, clients)
        assert all(s["via"].startswith("127.0.0.1:") for s in sessions), sessions
        r = subprocess.run([HALYARDCTL, "-s", admin_path(h), "show", "sessions"],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode == 0, r.stderr
        assert f"{REAL}:{local[1]}" in r.stdout, r.stdout
        c.close()

        # 127.0.0.6 is outside app's networks; 127.0.0.5 outside app6's.
        assert login_error(port, OTHER) == (
            1045, f"Access denied for user 'app'@'{OTHER}' (using password: YES)")
        assert login_error(port, REAL, "app6") == (
            1045, f"Access denied for user 'app6'@'{REAL}' (using password: YES)")
        c6 = connect(port, OTHER, "app6")
        c6.close()

    h.wait_log(rf"access denied for user 'app' from {re.escape(OTHER)}: client address not in "
               r"the user's allow list")
    def complete(lines):
        kinds = [e["event"] for e in lines]
        return lines if kinds.count("login") >= 4 and kinds.count("login_failed") >= 4 else None
    # The audit log is written by its own thread: wait for the last records.
    ev = wait_until(lambda: complete(audit_lines(audit)), what="the audit records")
    logins = [e for e in ev if e["event"] == "login"]
    failed = [e for e in ev if e["event"] == "login_failed"]
    assert [e["client"].split(":")[0] for e in logins] == [REAL, OTHER, REAL, OTHER], logins
    assert [(e["user"], e["client"].split(":")[0]) for e in failed] == [
        ("app", OTHER), ("app6", REAL), ("app", OTHER), ("app6", REAL)], failed
    assert not any(e.get("client", "").startswith("127.0.0.1:") for e in ev), ev


def test_listed_peer_without_header_is_closed(start_halyard, haproxy):
    """A connection from a proxy_protocol_from address gets no greeting
    until its header; without one it is closed after connect_timeout_ms,
    with garbage or a malformed header at once, each with a log line naming
    the peer and why. The worker serves others meanwhile."""
    h = start_behind_haproxy(start_halyard, haproxy, connect_timeout_ms=800, workers=1)
    # A MySQL client straight from 127.0.0.1: nothing is sent to it.
    idle = raw_socket(h.port, "127.0.0.1")
    t0 = time.monotonic()
    # ... while it waits, haproxy's clients are served by the same worker.
    c = connect(HAP_V2_PORT, REAL)
    assert value(c, "SELECT 2") == 2
    closed, got = closed_within(idle, 5)
    waited = time.monotonic() - t0
    assert closed and got == b"", got
    assert 0.6 < waited < 3, waited
    h.wait_log(r"session \d+ -@127\.0\.0\.1:\d+: no PROXY protocol header within 800 ms "
               r"\(connect_timeout_ms\): closing")
    with pytest.raises(pymysql.err.OperationalError) as e:
        pymysql.connect(host="127.0.0.1", port=h.port, user=APP_USER, password=APP_PASSWORD,
                        connect_timeout=5)
    assert e.value.args[0] == 2013, e.value.args  # lost connection at reading the greeting

    bad = [
        (b"GET / HTTP/1.0\r\n\r\n", "no PROXY protocol signature"),
        (b"PROXY TCP4 127.0.0.5 127.0.0.1 1 2\n", "v1 header ends in LF without CR"),
        (b"PROXY TCP4 127.0.0.5 127.0.0.1 99999 2\r\n", "v1 header with a malformed port"),
        (b"PROXY UNKNOWN " + b"x" * 100, "v1 header longer than 107 bytes"),
        (V2_SIG + b"\x21\x11\x10\x00", "v2 header longer than 4096 bytes"),
        (V2_SIG + b"\x21\x31\x00\x00", "v2 header for a family or transport other than TCP"),
        (V2_SIG + b"\x23\x11\x00\x00", "v2 header with a command other than LOCAL or PROXY"),
        (v2_header(REAL, "127.0.0.1", 1, 2, b"\x01\x00\x09ab"), "v2 header with malformed TLVs"),
    ]
    for data, why in bad:
        # at once: before connect_timeout_ms (800) could have run from the
        # accept, which came after t0 (0.6 s from the send left a loaded
        # host's scheduling 0.2 s less, and told no more)
        t0 = time.monotonic()
        s = raw_socket(h.port, "127.0.0.1")
        s.sendall(data)
        closed, got = closed_within(s, 5)
        assert closed and got == b"" and time.monotonic() - t0 < 0.8, (data, got)
        h.wait_log(r"-@127\.0\.0\.1:\d+: no valid PROXY protocol header from this "
                   rf"proxy_protocol_from address \({re.escape(why)}")
        s.close()
    # A header cut short waits, then times out like no header.
    s = raw_socket(h.port, "127.0.0.1")
    s.sendall(v2_header(REAL, "127.0.0.1", 1, 2)[:20])
    closed, got = closed_within(s, 5)
    assert closed and got == b""
    assert value(c, "SELECT 3") == 3
    c.close()
    assert h.alive()


def test_local_and_unknown_keep_the_peer(start_halyard, haproxy):
    """A v2 LOCAL header (a balancer's own health check) or a v1 UNKNOWN
    line is followed by the greeting, and the session keeps the TCP peer's
    address; a v2 header with TLVs, sent byte by byte, gives the client's."""
    h = start_behind_haproxy(start_halyard, haproxy)
    for hdr in (V2_SIG + b"\x20\x00\x00\x00", b"PROXY UNKNOWN\r\n",
                b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"):
        s = raw_socket(h.port, "127.0.0.1")
        s.sendall(hdr)
        seq, greeting = raw_greeting(s)
        assert seq == 0 and greeting[0] == 10, (hdr, greeting[:8])
        local = s.getsockname()[1]
        sessions = admin_json(admin_path(h), "show sessions")["sessions"]
        assert [(x["client"], x["via"]) for x in sessions] == [(f"127.0.0.1:{local}", None)], \
            sessions
        s.close()
        wait_until(lambda: not admin_json(admin_path(h), "show sessions")["sessions"],
                   what="the session gone")
    hdr = v2_header("10.9.8.7", "127.0.0.1", 4321, 3306,
                    b"\x01\x00\x02h2\x04\x00\x00\x05\x00\x04uniq")
    s = raw_socket(h.port, "127.0.0.1")
    for b in hdr:
        s.sendall(bytes([b]))
        time.sleep(0.002)
    seq, greeting = raw_greeting(s)
    assert greeting[0] == 10
    sessions = admin_json(admin_path(h), "show sessions")["sessions"]
    assert [(x["client"], x["via"]) for x in sessions] == [
        ("10.9.8.7:4321", f"127.0.0.1:{s.getsockname()[1]}")], sessions
    s.close()


def test_header_from_unlisted_peer_is_refused(start_halyard, haproxy):
    """From an address not in proxy_protocol_from a connection is a plain
    MySQL one: it is greeted at once, and a PROXY header it sends is not
    honoured but refused as a bad handshake (1043), v1 or v2; halyard
    goes on serving, that address included."""
    h = start_behind_haproxy(start_halyard, haproxy)
    headers = [b"PROXY TCP4 10.1.2.3 127.0.0.1 4000 3306\r\n",
               v2_header("10.1.2.3", "127.0.0.1", 4000, 3306)]
    for hdr in headers:
        s = raw_socket(h.port, OTHER)
        seq, greeting = raw_greeting(s)
        assert seq == 0 and greeting[0] == 10, greeting[:8]
        s.sendall(hdr)
        seq, err = raw_greeting(s)
        assert err[0] == 0xFF and struct.unpack("<H", err[1:3])[0] == 1043, err
        assert b"Bad handshake" in err, err
        closed, got = closed_within(s, 3)
        assert closed and got == b"", got
        s.close()
    h.wait_log(rf"session \d+ -@{re.escape(OTHER)}:\d+: PROXY protocol header refused: this "
               r"address is not in listener 'main' proxy_protocol_from")
    assert "10.1.2.3" not in h.log_text()
    # Still serving: that address directly, and clients through haproxy.
    c = connect(h.port, OTHER)
    assert value(c, "SELECT 4") == 4
    sessions = admin_json(admin_path(h), "show sessions")["sessions"]
    assert [(s["client"].split(":")[0], s["via"]) for s in sessions] == [(OTHER, None)], sessions
    c.close()
    c = connect(HAP_V1_PORT, REAL)
    assert value(c, "SELECT 5") == 5
    c.close()
    assert h.alive()


def test_guard_blocks_the_real_address(start_halyard, haproxy):
    """Failed logins through haproxy count against the client's address:
    127.0.0.5 gets blocked (1129 naming it, `show blocked` lists it), while
    127.0.0.6 still logs in through the same haproxy (127.0.0.1)."""
    h = start_behind_haproxy(start_halyard, haproxy, auth_fail_limit=2, auth_delay_ms=50,
                             auth_block_ms=60000)
    for i in range(4):
        port = HAP_V2_PORT if i % 2 == 0 else HAP_V1_PORT
        assert login_error(port, REAL, password="bad")[0] == 1045
    assert login_error(HAP_V2_PORT, REAL) == (
        1129, f"Host '{REAL}' is blocked because of many connection errors; "
              f"unblock with 'halyardctl unblock {REAL}'")
    assert login_error(HAP_V1_PORT, REAL)[0] == 1129
    rows = admin_json(admin_path(h), "show blocked")["addresses"]
    assert [(r["address"], r["blocked"]) for r in rows] == [(REAL, True)], rows
    c = connect(HAP_V2_PORT, OTHER)
    assert value(c, "SELECT 6") == 6
    c.close()
    h.wait_log(rf"AUDIT session \d+ -@{re.escape(REAL)}:\d+: connection refused: address blocked")


def test_reload_turns_proxy_protocol_on_and_off(start_halyard, haproxy, cluster):
    """proxy_protocol_from is reloadable: off, haproxy's header is a bad
    handshake; on, the client's address is seen; off again, refused."""
    port = free_port()
    settings = default_halyard_settings(cluster, port)
    settings["listeners"] = listener(port, ())
    h = start_halyard(port=port, listeners=settings["listeners"])
    haproxy(port)
    # The ERR answers the header, which came before the client's login:
    # pymysql reads it as an answer out of sequence.
    with pytest.raises(pymysql.err.MySQLError):
        connect(HAP_V2_PORT, REAL)
    h.wait_log(r"PROXY protocol header refused: this address is not in listener 'main'")

    settings["listeners"] = listener(port, ("127.0.0.0/24",))
    reload_ok(h, settings)
    c = connect(HAP_V2_PORT, REAL)
    local = c._sock.getsockname()
    sessions = admin_json(admin_path(h), "show sessions")["sessions"]
    assert [s["client"] for s in sessions] == [f"{REAL}:{local[1]}"], sessions
    config = admin_json(admin_path(h), "show config")
    assert "127.0.0.0/24" in json.dumps(config), config

    settings["listeners"] = listener(port, ())
    reload_ok(h, settings)
    assert value(c, "SELECT 7") == 7  # an open session keeps its address
    with pytest.raises(pymysql.err.MySQLError):
        connect(HAP_V1_PORT, REAL)
    c.close()

