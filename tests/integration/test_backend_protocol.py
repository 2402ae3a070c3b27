"""A backend that answers wrongly, or not at all: halyard answers the client
with an error within a bound, never leaves it waiting (issue 17 item 8).

No MariaDB breaks the protocol on purpose, so the backend here is a small
server on loopback that speaks it correctly except where a test asks it
not to (by the text of the query).
"""

import socket
import struct
import threading
import time

import pymysql
import pytest

from rawmysql import CLIENT_DEPRECATE_EOF
from util import wait_until


def _pkt(seq, payload):
    return len(payload).to_bytes(3, "little") + bytes([seq & 0xFF]) + payload


def _lenc(b):
    return bytes([len(b)]) + b


def _coldef(name):
    return (_lenc(b"def") + _lenc(b"") + _lenc(b"") + _lenc(b"") + _lenc(name) + _lenc(name)
            + b"\x0c" + struct.pack("<HIBHB", 45, 80, 0xFD, 0, 0) + b"\x00\x00")


class BrokenBackend:
    """Answers every COM_QUERY with one row ("1"), except
      `broken_result`: a whole result flagged MORE_RESULTS, then an EOF
          where the next result's first packet belongs;
      `broken_defs`: a column count of 2, one definition, then a row where
          the second definition belongs;
      `silent`: nothing at all;
      `half`: a result's definitions and one row, then nothing;
      `slow N`: one row every N ms, five of them.
    Counts connections and closes."""

    GREETING_CAPS = 0xFFFFFFFF & ~(0x800 | 0x20)  # no TLS, no compression

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.closed = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def _read(conn):
        head = b""
        while len(head) < 4:
            d = conn.recv(4 - len(head))
            if not d:
                return None
            head += d
        n = int.from_bytes(head[:3], "little")
        body = b""
        while len(body) < n:
            d = conn.recv(n - len(body))
            if not d:
                return None
            body += d
        return body

    def _serve(self, conn):
        caps = self.GREETING_CAPS
        greeting = (b"\x0a" + b"10.11.99-MariaDB-broken\x00" + struct.pack("<I", 99) + b"a" * 8 + b"\x00"
                    + struct.pack("<H", caps & 0xFFFF) + b"\x2d" + struct.pack("<H", 0x0002)
                    + struct.pack("<H", caps >> 16) + b"\x15" + b"\x00" * 10 + b"b" * 12 + b"\x00"
                    + b"mysql_native_password\x00")
        try:
            conn.sendall(_pkt(0, greeting))
            login = self._read(conn)
            if login is None:
                return
            client_caps = struct.unpack_from("<I", login, 0)[0]
            deprecate = client_caps & CLIENT_DEPRECATE_EOF
            ok = b"\x00\x00\x00\x02\x00\x00\x00"
            conn.sendall(_pkt(2, ok))
            while True:
                cmd = self._read(conn)
                if cmd is None or cmd[:1] == b"\x01":
                    return
                if cmd[:1] != b"\x03":
                    conn.sendall(_pkt(1, ok))
                elif b"silent" in cmd:
                    continue
                elif b"half" in cmd:
                    conn.sendall(_pkt(1, b"\x01") + _pkt(2, _coldef(b"v")) + _pkt(3, b"\xfe\x00\x00\x02\x00")
                                 + _pkt(4, b"\x011"))
                elif b"slow" in cmd:
                    gap = int(cmd.split()[-1]) / 1000
                    conn.sendall(_pkt(1, b"\x01") + _pkt(2, _coldef(b"v")) + _pkt(3, b"\xfe\x00\x00\x02\x00"))
                    for i in range(5):
                        time.sleep(gap)
                        conn.sendall(_pkt(4 + i, b"\x01" + str(i).encode()))
                    conn.sendall(_pkt(9, b"\xfe\x00\x00\x02\x00"))
                elif b"broken_defs" in cmd:
                    conn.sendall(_pkt(1, b"\x02") + _pkt(2, _coldef(b"a")) + _pkt(3, b"\x01x"))
                else:
                    more = 0x000A if b"broken_result" in cmd else 0x0002
                    eof = b"\xfe\x00\x00" + struct.pack("<H", more)
                    term = eof + b"\x00\x00" if deprecate else eof
                    pkts = [b"\x01", _coldef(b"v")] + ([] if deprecate else [eof]) + [b"\x011", term]
                    if more != 0x0002:
                        pkts.append(b"\xfe\x00\x00\x02\x00")  # no result starts with 0xfe
                    conn.sendall(b"".join(_pkt(i + 1, p) for i, p in enumerate(pkts)))
        finally:
            conn.close()
            with self.lock:
                self.closed += 1

    def stop(self):
        self.sock.close()


@pytest.fixture
def broken_backend():
    b = BrokenBackend()
    yield b
    b.stop()


def test_unfollowable_answer_is_an_error_not_a_hang(start_halyard, broken_backend):
    """The client gets the packets before the one that breaks the protocol,
    then ERR 1927 naming the backend, at once; that backend connection is
    closed, and the session goes on with a new one."""
    h = start_halyard(backends=[{"name": "weird", "address": "127.0.0.1",
                                 "port": broken_backend.port, "role": "primary"}],
                      monitor={"user": ""})
    conn = h.connect(read_timeout=5)
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchall() == (("1",),)
        cur.execute("SELECT broken_result")
        assert cur.fetchall() == (("1",),)
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.nextset()
        assert e.value.args[0] == 1927
        assert e.value.args[1] == "Backend 'weird' broke the protocol answering COM_QUERY"
        cur.execute("SELECT 1")
        assert cur.fetchall() == (("1",),)
    wait_until(lambda: broken_backend.closed == 1, 5, what="the broken connection closed")
    assert broken_backend.accepted == 2
    h.wait_log(r"backend weird broke the protocol answering COM_QUERY: closing that connection")


def test_unfollowable_definitions_close_the_session(start_halyard, broken_backend):
    """Among column definitions no client takes an ERR: the session ends
    at once (the client sees the connection close), never waits."""
    h = start_halyard(backends=[{"name": "weird", "address": "127.0.0.1",
                                 "port": broken_backend.port, "role": "primary"}],
                      monitor={"user": ""})
    conn = h.connect(read_timeout=5)
    with conn.cursor() as cur:
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("SELECT broken_defs")
        assert e.value.args[0] == 2013  # lost connection, not a read timeout (2013 too, after 5 s)
    h.wait_log(r"backend weird broke the protocol answering COM_QUERY", timeout=1)
    wait_until(lambda: broken_backend.closed == 1, 2, what="the broken connection closed")
    conn2 = h.connect(read_timeout=5)
    with conn2.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchall() == (("1",),)


def test_silent_backend_is_an_error_within_backend_read_timeout_ms(start_halyard, broken_backend):
    """A backend that sends nothing: after backend_read_timeout_ms the
    client gets ERR 1927, that backend connection is closed, the session
    goes on."""
    h = start_halyard(backends=[{"name": "weird", "address": "127.0.0.1",
                                 "port": broken_backend.port, "role": "primary"}],
                      monitor={"user": ""}, backend_read_timeout_ms=500)
    conn = h.connect(read_timeout=10)
    with conn.cursor() as cur:
        t0 = time.monotonic()
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("SELECT silent")
        took = time.monotonic() - t0
        assert e.value.args == (1927, "Backend 'weird' sent nothing for 500 ms answering COM_QUERY")
        assert 0.5 <= took < 3, took
        # Among the rows: the row that came is the client's, then the ERR.
        cur.execute("SELECT 1")
        assert cur.fetchall() == (("1",),)
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("SELECT half")
            cur.fetchall()
        assert e.value.args[0] == 1927
        cur.execute("SELECT 1")
        assert cur.fetchall() == (("1",),)
    wait_until(lambda: broken_backend.closed == 2, 5, what="both silent connections closed")
    assert broken_backend.accepted == 3
    h.wait_log(r"backend weird sent nothing for 500 ms answering COM_QUERY "
               r"\(backend_read_timeout_ms\): closing that connection")


def test_backend_read_timeout_counts_silence_not_duration(start_halyard, broken_backend):
    """Rows 300 ms apart for 1.5 s, with backend_read_timeout_ms = 700:
    the backend is never silent that long, so the answer is whole."""
    h = start_halyard(backends=[{"name": "weird", "address": "127.0.0.1",
                                 "port": broken_backend.port, "role": "primary"}],
                      monitor={"user": ""}, backend_read_timeout_ms=700)
    conn = h.connect(read_timeout=10)
    with conn.cursor() as cur:
        cur.execute("SELECT slow 300")
        assert cur.fetchall() == tuple((str(i),) for i in range(5))
    assert broken_backend.closed == 0


def test_backend_read_timeout_off_by_default(start_halyard, cluster):
    """0 (the default) waits as long as a statement runs, on a real server."""
    h = start_halyard()
    conn = h.connect(read_timeout=10)
    with conn.cursor() as cur:
        cur.execute("SELECT SLEEP(1.5), 'done'")
        assert cur.fetchall() == ((0, "done"),)


def test_backend_read_timeout_on_a_real_server(start_halyard, cluster):
    """A statement that runs longer than the timeout on MariaDB gets 1927
    and the session goes on on a new backend connection."""
    h = start_halyard(backend_read_timeout_ms=400, read_write_split=False)
    conn = h.connect(read_timeout=10)
    with conn.cursor() as cur:
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("SELECT SLEEP(3)")
        assert e.value.args[0] == 1927 and "sent nothing for 400 ms" in e.value.args[1]
        cur.execute("SELECT 'next'")
        assert cur.fetchall() == (("next",),)
    wait_server_sleeps_end(cluster)


def wait_server_sleeps_end(cluster):
    """The server runs a SLEEP() halyard gave up on to its end: the tests
    after this file that count the primary's app connections (the process
    list, test_connection_id.py) must not see those threads."""
    wait_until(lambda: cluster.value(0, "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                        "WHERE INFO LIKE 'SELECT SLEEP(%'") == 0,
               10, what="the server's SLEEP() threads ended")


def test_backend_read_timeout_times_each_statement_from_its_start(start_halyard, cluster):
    """The read timer is not restarted per statement (it runs on from the
    first and looks at when the statement in flight began when it fires):
    after 1.5 s of quick statements, longer than the timeout, idle gaps
    between them, a slow one still gets its whole 600 ms, not what the
    first statement's timer had left, and its 1927 comes near 600 ms, not
    a timer period late."""
    h = start_halyard(backend_read_timeout_ms=600, read_write_split=False)
    conn = h.connect(read_timeout=10)
    with conn.cursor() as cur:
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            cur.execute("SELECT 1")
            assert cur.fetchall() == ((1,),)
            time.sleep(0.04)
        for pause in (0.0, 0.25, 0.45):
            time.sleep(pause)  # the statement starts at another point of the timer's period
            t0 = time.monotonic()
            with pytest.raises(pymysql.err.OperationalError) as e:
                cur.execute("SELECT SLEEP(1.5)")
            took = time.monotonic() - t0
            assert e.value.args[0] == 1927 and "sent nothing for 600 ms" in e.value.args[1]
            assert 0.6 <= took < 1.1, (pause, took)
            cur.execute("SELECT 'next'")
            assert cur.fetchall() == (("next",),)
    wait_server_sleeps_end(cluster)
