"""The compressed protocol (CLIENT_COMPRESS, zlib) between clients and halyard.

Backends stay uncompressed; each test compares what a client gets through
halyard with what it gets from the server directly, and the framing tests
speak the frames themselves (rawmysql) to show that halyard really answers
in compressed frames and refuses frames whose lengths lie.
"""

import os
import struct
import subprocess
import zlib

import pytest

from rawmysql import CLIENT_PLUGIN_AUTH, DEFAULT_CAPS, RawConn
from test_core import db, ps_client_bin  # noqa: F401 (fixtures)
from test_tls import client_tls_settings, tls_files
from util import APP_PASSWORD, APP_USER

MARIADB = "/usr/bin/mariadb"
CLIENT_COMPRESS = 0x20


def cli(port, *args, compress=True, timeout=120):
    cmd = [MARIADB, "--no-defaults", "--protocol=TCP", "-h", "127.0.0.1", "-P", str(port),
           "-u", APP_USER, f"--password={APP_PASSWORD}", "-N", "-B", "--max-allowed-packet=64M"]
    if compress:
        cmd.append("--compress")
    return subprocess.run(cmd + list(args), capture_output=True, timeout=timeout)


def test_cli_compress_negotiated(cluster, halyard):
    """The CLI's status names the protocol Compressed, as directly."""
    for port in (cluster.port(0), halyard.port):
        r = cli(port, "-e", "status")
        assert r.returncode == 0, r.stderr
        assert b"Compressed" in r.stdout, (port, r.stdout)


def test_compression_status_is_the_clients(cluster, halyard):
    """Issue 33 item 3: a client that negotiated the compressed protocol
    reads Compression ON, as from the server (halyard's connections to the
    servers are not compressed); one that did not reads OFF."""
    q = ("SHOW STATUS LIKE 'Compression'; SHOW GLOBAL STATUS LIKE 'compression'; "
         "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS "
         "WHERE VARIABLE_NAME = 'COMPRESSION'")
    for compress, want in ((True, b"Compression\tON\nCompression\tON\nON\n"),
                           (False, b"Compression\tOFF\nCompression\tOFF\nOFF\n")):
        for port in (cluster.port(0), halyard.port):
            r = cli(port, "-e", q, compress=compress)
            assert r.returncode == 0, r.stderr
            assert r.stdout == want, (port, compress, r.stdout)


def test_cli_compress_results_match_server(cluster, halyard):
    """Many rows and a large row read the same through halyard as directly."""
    q = ("SELECT seq, REPEAT(CHAR(65 + seq % 26), seq % 300), MD5(seq) FROM mysql.seq_1_to_50000;"
         "SELECT LENGTH(REPEAT('ab', 6000000)), REPEAT(MD5(RAND(7)), 400000)")
    direct = cli(cluster.port(0), "-e", q)
    via = cli(halyard.port, "-e", q)
    assert direct.returncode == 0, direct.stderr
    assert via.returncode == 0, via.stderr
    assert len(via.stdout) > 13_000_000
    assert via.stdout == direct.stdout


class ZConn:
    """A logged-in raw connection that speaks compressed frames."""

    def __init__(self, port):
        self.raw = RawConn("127.0.0.1", port)
        self.raw.login(APP_USER, APP_PASSWORD, caps=DEFAULT_CAPS | CLIENT_COMPRESS | CLIENT_PLUGIN_AUTH)
        self.buf = b""

    def send_frame(self, data, seq, compress=True, ulen=None, clen=None):
        body = zlib.compress(data) if compress else data
        u = (len(data) if compress else 0) if ulen is None else ulen
        c = len(body) if clen is None else clen
        self.raw.send_raw(struct.pack("<I", c)[:3] + bytes([seq]) + struct.pack("<I", u)[:3] + body)

    def read_frame(self):
        h = self.raw._recv_exact(7)
        clen = int.from_bytes(h[:3], "little")
        ulen = int.from_bytes(h[4:7], "little")
        body = self.raw._recv_exact(clen)
        return h[3], ulen, (zlib.decompress(body) if ulen else body)

    def read_packet(self):
        while True:
            if len(self.buf) >= 4:
                n = int.from_bytes(self.buf[:3], "little")
                if len(self.buf) >= 4 + n:
                    p, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return p
            self.buf += self.read_frame()[2]


    def read_result(self):
        """The rows (raw payloads) of a text result set (EOF framing)."""
        n = self.read_packet()[0]
        for _ in range(n):
            self.read_packet()
        assert self.read_packet()[0] == 0xFE
        rows = []
        while True:
            p = self.read_packet()
            if p[0] == 0xFE and len(p) < 9:
                return rows
            rows.append(p)


def packet(payload, seq):
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


def test_raw_frames_split_and_several_packets(halyard):
    """A command split over two frames, then two commands in one frame."""
    z = ZConn(halyard.port)
    q = packet(b"\x03SELECT 'split across frames', REPEAT('y', 100)", 0)
    z.send_frame(q[:20], 0, compress=False)
    z.send_frame(q[20:], 1)
    assert z.read_result() == [b"\x13split across frames\x64" + b"y" * 100]

    # Two packets in one (stored) frame: one query split in two packets
    # would not be MySQL, so a COM_PING and then a COM_QUERY.
    z.send_frame(packet(b"\x0e", 0) + packet(b"\x03SELECT 7*6", 0), 0, compress=False)
    assert z.read_packet()[0] == 0x00  # the ping's OK
    assert z.read_result() == [b"\x0242"]

    # A large answer comes back in compressed frames.
    z.buf = b""
    z.send_frame(packet(b"\x03SELECT REPEAT('z', 200000)", 0), 0)
    seq, ulen, data = z.read_frame()
    assert seq == 1 and ulen > 0


@pytest.mark.parametrize("lie", ["ulen_short", "ulen_long", "clen_zero"])
def test_raw_frame_lengths_that_lie_close(halyard, lie):
    """A frame whose declared lengths are wrong closes the connection cleanly."""
    z = ZConn(halyard.port)
    data = packet(b"\x03SELECT 'a lying frame', REPEAT('q', 200)", 0)
    if lie == "ulen_short":
        z.send_frame(data, 0, ulen=len(data) - 5)
    elif lie == "ulen_long":
        z.send_frame(data, 0, ulen=len(data) + 5)
    else:
        z.send_frame(data, 0, ulen=len(data), clen=0)
    z.raw.wait_closed(5)  # raises if still open
    assert halyard.sql("SELECT 'still serving'") == [("still serving",)]


# ---------------------------------------------------------------------------
# libmariadb: the binary protocol, compressed


@pytest.mark.parametrize("scenario", ["prepare-execute", "cursor", "long-data", "multi-result", "errors"])
def test_ps_client_compressed_matches_direct(start_halyard, cluster, db, ps_client_bin, scenario):
    """ps_client with MYSQL_OPT_COMPRESS prints the same through halyard as
    directly (it fails itself when compression was not negotiated)."""
    h = start_halyard(read_write_split=False)  # all on the primary: its counters compare
    env = dict(os.environ, PS_CLIENT_COMPRESS="1")
    out = {}
    for where, port in (("direct", cluster.primary_port), ("halyard", h.port)):
        r = subprocess.run([ps_client_bin, "127.0.0.1", str(port), APP_USER, APP_PASSWORD, db, scenario],
                           capture_output=True, text=True, timeout=120, env=env)
        assert r.returncode == 0, f"ps_client {scenario} via {where} failed: {r.stderr}"
        out[where] = r.stdout
    assert out["halyard"] == out["direct"]


# ---------------------------------------------------------------------------
# LOAD DATA LOCAL and TLS


def test_cli_compress_load_data_local(cluster, halyard, db, tmp_path):
    """LOAD DATA LOCAL INFILE (the file's frames go up compressed) loads
    every row, as directly."""
    f = tmp_path / "rows.tsv"
    f.write_text("".join(f"{i}\t{'v' * (i % 500)}\n" for i in range(40000)))
    for port, table in ((cluster.port(0), "zload_direct"), (halyard.port, "zload_via")):
        cluster.sql(0, f"DROP TABLE IF EXISTS {db}.{table}")
        cluster.sql(0, f"CREATE TABLE {db}.{table} (id INT PRIMARY KEY, v TEXT)")
        r = cli(port, "--local-infile=1", "-e",
                f"LOAD DATA LOCAL INFILE '{f}' INTO TABLE {db}.{table}; "
                f"SELECT COUNT(*), SUM(LENGTH(v)) FROM {db}.{table}")
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == [b"40000", str(sum(i % 500 for i in range(40000))).encode()]


def test_cli_compress_over_tls(cluster, start_halyard):
    """Compression over TLS: the CLI's status shows both, and a large result
    reads the same as directly."""
    h = start_halyard(client_tls_settings(cluster))
    tls = ["--ssl", f"--ssl-ca={tls_files(cluster)['ca']}"]
    st = cli(h.port, *tls, "-e", "status")
    assert st.returncode == 0, st.stderr
    assert b"Compressed" in st.stdout and b"Cipher in use" in st.stdout, st.stdout
    q = "SELECT seq, MD5(seq), REPEAT('t', seq % 1000) FROM mysql.seq_1_to_20000"
    direct = cli(cluster.port(0), *tls, "-e", q)
    via = cli(h.port, *tls, "-e", q)
    assert via.returncode == 0, via.stderr
    assert via.stdout == direct.stdout
